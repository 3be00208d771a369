//! The Ion allocator's tables. Every phase reads and writes these and
//! nothing else; DESIGN.md lists which phase touches which column.
//!
//! All tables live in the per-run arena (`'a`); a run builds them empty,
//! the phases fill them, and the arena reset at the next run drops them
//! wholesale.
//!
//! Invariants (checked by [`IonTables::check_invariants`] in debug builds
//! and tests):
//! * a [`CodeRange`] is non-empty: `from < to`;
//! * a bundle's `ranges` list is sorted by `range.from` and pairwise
//!   disjoint; a vreg's `ranges` list is sorted by `range.from` and its
//!   entries copy their ranges' extents. A vreg's ranges are disjoint
//!   until `process` cuts a bundle into minimal bundles: then a use's
//!   minimal range overlaps the spill bundle's range of the same vreg (the
//!   value is in both places there; `moves` copies between them);
//! * every range's `uses` are sorted by `pos` and lie inside its range;
//! * after merging, every live range belongs to exactly one bundle, and the
//!   bundle's list contains it;
//! * every bundle has a spill set; bundles sharing a spill set hold the
//!   same vreg's ranges (or a merged group's);
//! * a per-PReg tree never holds two overlapping ranges (the trees module
//!   enforces this), nor a range holding one of the register's reserved
//!   points.

use crate::ion::requirement::PackedRequirement;
pub use crate::ion::trees::CodeRange;
use crate::ion::trees::{RangeTree, TreeRoot};
use crate::tables::{entity_id, Arena, ArenaVec, Column, SCRATCH_LIST_START};
use crate::{Allocation, Block, MachineEnv, Operand, PReg, PRegSet, ProgPoint, RegClass, VReg};

entity_id!(
    /// A live range: one contiguous piece of one vreg's lifetime.
    pub struct LiveRangeId, "lr"
);
entity_id!(
    /// A bundle: ranges (of one or several vregs) allocated as one unit.
    pub struct BundleId, "bundle"
);
entity_id!(
    /// A spill set: the bundles that came from splitting one original
    /// bundle; they share one spill slot.
    pub struct SpillSetId, "spillset"
);
entity_id!(
    /// A spill slot (before final numbering into `SpillSlot`s).
    pub struct SpillSlotId, "slot"
);
entity_id!(
    /// A vreg, by its index (`VReg::vreg()`).
    pub struct VRegId, "v"
);

impl VRegId {
    #[inline(always)]
    pub fn of(vreg: VReg) -> VRegId {
        VRegId::new(vreg.vreg())
    }
}

/// `slot` value of a [`Use`] that corresponds to no operand.
pub const SLOT_NONE: u16 = u16::MAX;

/// One mention of a vreg inside a live range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Use {
    pub operand: Operand,
    /// The point the use or def happens at (its operand's Early/Late
    /// position mapped to Before/After of the instruction).
    pub pos: ProgPoint,
    /// Index of the operand in `inst_operands(pos.inst())`, or [`SLOT_NONE`].
    pub slot: u16,
    /// Spill weight this use contributes (loop depth and constraint).
    pub weight: u16,
}

/// A range as listed by its vreg or bundle: a copy of its `CodeRange` next
/// to its id, so list walks do not touch the range table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LiveRangeListEntry {
    pub range: CodeRange,
    pub index: LiveRangeId,
}

/// Where one range's uses lie in [`RangeUses::pool`]: `pool[start..start + len]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UseSpan {
    pub start: u32,
    pub len: u32,
}

/// The uses of every live range: one pool of [`Use`]s in the arena, each
/// range owning a contiguous span of it.
///
/// A span is 8 bytes where a per-range vector would be a 32-byte header
/// plus an allocation of its own: for a function of 10^6 instructions that
/// is ~100 MB less memory to fault in, and the uses of ranges built
/// together sit together. Splitting a range splits its span (no copy);
/// a span that must grow moves to the pool's end (its old place is left
/// unused, as a bump arena's vectors leave theirs).
///
/// Invariant: every span lies inside the pool; spans of different ranges
/// never overlap.
#[derive(Debug)]
pub struct RangeUses<'a> {
    pool: ArenaVec<'a, Use>,
    span: Column<'a, LiveRangeId, UseSpan>,
}

impl<'a> RangeUses<'a> {
    fn with_capacity_in(capacity: usize, arena: &'a Arena) -> Self {
        RangeUses {
            pool: ArenaVec::new_in(arena),
            span: Column::with_capacity_in(capacity, arena),
        }
    }
    /// The span of `range`.
    #[inline]
    pub fn span(&self, range: LiveRangeId) -> UseSpan {
        self.span[range]
    }
    /// The uses a span names (e.g. one taken with [`Self::take`]; pushes
    /// made since never move existing uses' indices).
    #[inline]
    pub fn of_span(&self, span: UseSpan) -> &[Use] {
        &self.pool[span.start as usize..(span.start + span.len) as usize]
    }
    /// Empties `range`'s list and returns the span it had.
    pub fn take(&mut self, range: LiveRangeId) -> UseSpan {
        core::mem::take(&mut self.span[range])
    }
    /// Appends `u` to `range`'s list (moving the list to the pool's end
    /// first unless it already ends there).
    pub fn push(&mut self, range: LiveRangeId, u: Use) {
        self.move_to_end(range);
        self.pool.push(u);
        self.span[range].len += 1;
    }
    /// Appends `uses` to `range`'s list.
    pub fn extend_from_slice(&mut self, range: LiveRangeId, uses: &[Use]) {
        self.move_to_end(range);
        self.pool.extend_from_slice(uses);
        self.span[range].len += uses.len() as u32;
    }
    fn move_to_end(&mut self, range: LiveRangeId) {
        let span = self.span[range];
        let end = (span.start + span.len) as usize;
        if end == self.pool.len() {
            return;
        }
        let start = self.pool.len();
        self.pool.reserve(span.len as usize + 1);
        for i in span.start as usize..end {
            let u = self.pool[i];
            self.pool.push(u);
        }
        self.span[range] = UseSpan {
            start: start as u32,
            len: span.len,
        };
    }
    /// Gives `tail` (a range with no uses) the uses of `head` from index
    /// `at` on, and keeps the first `at` in `head`: one span cut in two.
    pub fn split_off(&mut self, head: LiveRangeId, at: usize, tail: LiveRangeId) {
        debug_assert_eq!(self.span[tail].len, 0);
        let span = self.span[head];
        let at = at as u32;
        debug_assert!(at <= span.len);
        self.span[head].len = at;
        self.span[tail] = UseSpan {
            start: span.start + at,
            len: span.len - at,
        };
    }
    /// Number of ranges.
    pub fn len(&self) -> usize {
        self.span.len()
    }
    pub fn is_empty(&self) -> bool {
        self.span.is_empty()
    }
    /// Every range's list, in range order.
    pub fn iter(&self) -> impl Iterator<Item = &[Use]> + '_ {
        self.span.iter().map(|&span| self.of_span(span))
    }
    /// The spans, for phases that place uses themselves.
    pub fn spans_mut(
        &mut self,
    ) -> (
        &mut ArenaVec<'a, Use>,
        &mut Column<'a, LiveRangeId, UseSpan>,
    ) {
        (&mut self.pool, &mut self.span)
    }
}

impl core::ops::Index<LiveRangeId> for RangeUses<'_> {
    type Output = [Use];
    #[inline]
    fn index(&self, range: LiveRangeId) -> &[Use] {
        self.of_span(self.span[range])
    }
}

impl core::ops::IndexMut<LiveRangeId> for RangeUses<'_> {
    #[inline]
    fn index_mut(&mut self, range: LiveRangeId) -> &mut [Use] {
        let span = self.span[range];
        &mut self.pool[span.start as usize..(span.start + span.len) as usize]
    }
}

/// Bit flags of a live range.
pub mod range_flags {
    /// The range begins at its vreg's def (not at a block entry or a split).
    pub const STARTS_AT_DEF: u8 = 1;
}

/// The live range table.
#[derive(Debug)]
pub struct LiveRanges<'a> {
    pub range: Column<'a, LiveRangeId, CodeRange>,
    pub vreg: Column<'a, LiveRangeId, VRegId>,
    pub bundle: Column<'a, LiveRangeId, BundleId>,
    /// Sum of the weights of `uses`.
    pub uses_spill_weight: Column<'a, LiveRangeId, f32>,
    pub flags: Column<'a, LiveRangeId, u8>,
    pub uses: RangeUses<'a>,
}

impl<'a> LiveRanges<'a> {
    pub fn new_in(arena: &'a Arena, capacity: usize) -> Self {
        LiveRanges {
            range: Column::with_capacity_in(capacity, arena),
            vreg: Column::with_capacity_in(capacity, arena),
            bundle: Column::with_capacity_in(capacity, arena),
            uses_spill_weight: Column::with_capacity_in(capacity, arena),
            flags: Column::with_capacity_in(capacity, arena),
            uses: RangeUses::with_capacity_in(capacity, arena),
        }
    }
    /// Appends a range with no uses, no bundle.
    pub fn push(&mut self, _arena: &'a Arena, range: CodeRange, vreg: VRegId) -> LiveRangeId {
        self.range.push(range);
        self.vreg.push(vreg);
        self.bundle.push(BundleId::invalid());
        self.uses_spill_weight.push(0.0);
        self.flags.push(0);
        self.uses.span.push(UseSpan::default())
    }
    pub fn len(&self) -> usize {
        self.range.len()
    }
    pub fn is_empty(&self) -> bool {
        self.range.is_empty()
    }
}

/// The vreg table, one row per vreg of the function.
#[derive(Debug)]
pub struct VRegs<'a> {
    /// The vreg's ranges, sorted by start.
    pub ranges: VRegRangeLists<'a>,
    /// The block this vreg is a param of, if any.
    pub blockparam: Column<'a, VRegId, Block>,
    /// The class every mention of the vreg agrees on (`None`: unused).
    pub class: Column<'a, VRegId, Option<RegClass>>,
}

impl<'a> VRegs<'a> {
    pub fn new_in(arena: &'a Arena, num_vregs: usize) -> Self {
        VRegs {
            ranges: VRegRangeLists::new_in(arena, num_vregs),
            blockparam: Column::filled_in(num_vregs, Block::invalid(), arena),
            class: Column::filled_in(num_vregs, None, arena),
        }
    }
}

/// Every vreg's list of ranges, as compressed rows: the list of `v` is
/// `entries[start[v]..start[v + 1]]`. The lists are only ever built whole
/// (after `liveranges` and after `process`, by a counting sort over the
/// range table), so one pool and a `u32` offset per vreg replace a
/// growable vector per vreg: 4 bytes a row instead of 32, and no
/// per-vreg allocation (Cranelift numbers vregs from 192, so a third to
/// a half of the rows are empty).
///
/// Invariant: `start` has `num_vregs + 1` non-decreasing entries and its
/// last is `entries.len()`; every row below `first_listed` is empty.
#[derive(Debug)]
pub struct VRegRangeLists<'a> {
    start: Column<'a, VRegId, u32>,
    entries: ArenaVec<'a, LiveRangeListEntry>,
    /// The lowest vreg with a list (0 when none has): the walks over the
    /// rows start there, as Cranelift numbers its vregs from 192.
    first_listed: usize,
}

impl<'a> VRegRangeLists<'a> {
    /// Empty lists for `num_vregs` vregs.
    pub fn new_in(arena: &'a Arena, num_vregs: usize) -> Self {
        VRegRangeLists {
            start: Column::filled_in(num_vregs + 1, 0, arena),
            entries: ArenaVec::new_in(arena),
            first_listed: 0,
        }
    }
    /// The number of vregs (rows).
    pub fn len(&self) -> usize {
        self.start.len() - 1
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The list of `vreg`, if it is a row.
    #[inline]
    pub fn get(&self, vreg: VRegId) -> Option<&[LiveRangeListEntry]> {
        (vreg.index() < self.len()).then(|| &self[vreg])
    }
    /// Every row with its vreg.
    pub fn iter_enumerated(&self) -> impl Iterator<Item = (VRegId, &[LiveRangeListEntry])> + '_ {
        (0..self.len()).map(|v| {
            let v = VRegId::new(v);
            (v, &self[v])
        })
    }
    /// Every non-empty row with its vreg, in vreg order: a walk over the
    /// offsets, which skips the many vregs without ranges at a compare
    /// each.
    /// Every list's entries, back to back in vreg order: each list
    /// [`iter_nonempty`](Self::iter_nonempty) yields is a slice of this,
    /// so a walk over the lists can look ahead across vregs.
    pub fn entries(&self) -> &[LiveRangeListEntry] {
        &self.entries
    }
    pub fn iter_nonempty(&self) -> impl Iterator<Item = (VRegId, &[LiveRangeListEntry])> + '_ {
        let first = self.first_listed;
        self.start.raw()[first..]
            .windows(2)
            .enumerate()
            .filter(|(_, bounds)| bounds[0] != bounds[1])
            .map(move |(v, bounds)| {
                let list = &self.entries[bounds[0] as usize..bounds[1] as usize];
                (VRegId::new(first + v), list)
            })
    }
    /// Replaces every list: `rows` yields `(vreg, entry)` in the order the
    /// entries should take within each list, and is walked twice (count,
    /// then place). Lists are then sorted by `key` where they are not
    /// already in order.
    ///
    /// Work per vreg is a fill and one add: Cranelift's functions number
    /// hundreds of vregs that never get a range (a function of 5
    /// instructions has ~500), so only lists of two or more entries, noted
    /// while counting (in `temp`, so the main arena holds only the lists),
    /// are checked for order.
    pub fn rebuild<I, K: Ord>(
        &mut self,
        rows: I,
        key: impl Fn(&LiveRangeListEntry) -> K,
        temp: &Arena,
    ) where
        I: Iterator<Item = (VRegId, LiveRangeListEntry)> + Clone,
    {
        let start = self.start.raw_mut();
        start.fill(0);
        let mut multi: ArenaVec<VRegId> = ArenaVec::with_capacity_in(SCRATCH_LIST_START, temp);
        // Count `v`'s entries into `start[v + 1]`.
        for (v, _) in rows.clone() {
            let count = &mut start[v.index() + 1];
            *count += 1;
            if *count == 2 {
                multi.push(v);
            }
        }
        // The lowest vreg counted (0 if none: every row is then empty,
        // wherever the walks start).
        // Sixteen rows at a time (an OR the compiler vectorizes), then
        // the row within the first block that has one.
        let counts = &start[1..];
        let first_listed = counts
            .chunks(16)
            .position(|block| block.iter().fold(0, |any, &count| any | count) != 0)
            .map_or(0, |block| {
                let from = block * 16;
                from + counts[from..]
                    .iter()
                    .position(|&count| count != 0)
                    .unwrap_or(0)
            });
        self.first_listed = first_listed;
        // Exclusive prefix sums: `start[v + 1]` becomes the first slot of
        // `v`'s list, its fill point while placing. Rows below
        // `first_listed` stay 0.
        let mut total = 0u32;
        for slot in start[first_listed + 1..].iter_mut() {
            let count = *slot;
            *slot = total;
            total += count;
        }
        let total = total as usize;
        // Exactly: the second build (after `process`) is larger than the
        // first, and doubling would leave half of it unused.
        crate::tables::clear_with_room(&mut self.entries, total);
        self.entries.resize(
            total,
            LiveRangeListEntry {
                range: CodeRange::new(ProgPoint::from_index(0), ProgPoint::from_index(0)),
                index: LiveRangeId::invalid(),
            },
        );
        // Placing moves each fill point to the end of its list, which is
        // the next list's start: the offsets are then final.
        for (v, entry) in rows {
            let at = &mut start[v.index() + 1];
            self.entries[*at as usize] = entry;
            *at += 1;
        }
        for &v in multi.iter() {
            let list = &mut self.entries[start[v.index()] as usize..start[v.index() + 1] as usize];
            if list.windows(2).any(|pair| key(&pair[0]) > key(&pair[1])) {
                list.sort_unstable_by_key(&key);
            }
        }
        debug_assert!(
            start.windows(2).all(|w| w[0] <= w[1])
                && start[start.len() - 1] as usize == self.entries.len(),
            "vreg range rows out of order"
        );
    }
}

impl core::ops::Index<VRegId> for VRegRangeLists<'_> {
    type Output = [LiveRangeListEntry];
    #[inline]
    fn index(&self, vreg: VRegId) -> &[LiveRangeListEntry] {
        let from = self.start[vreg] as usize;
        let to = self.start.raw()[vreg.index() + 1] as usize;
        &self.entries[from..to]
    }
}

/// Bit flags of a bundle's properties.
pub mod bundle_props {
    /// Cannot be split further (one instruction's worth of range).
    pub const MINIMAL: u8 = 1;
    /// Has a fixed-register use or def.
    pub const FIXED: u8 = 2;
    /// Has a fixed-register def.
    pub const FIXED_DEF: u8 = 4;
    /// Has a stack-constrained use.
    pub const STACK: u8 = 8;
    /// Some use, in any of the bundle's ranges, has a fixed-register or
    /// stack constraint. Unlike FIXED and STACK (which, as upstream, only
    /// single-range bundles get after a split), exact for every bundle.
    pub const USES_CONSTRAINED: u8 = 16;
    /// Some use has a `Reg`, `Reuse` or `Limit` constraint. Exact whenever
    /// USES_CONSTRAINED is clear; with both clear every use is `Any`.
    pub const USES_REG: u8 = 32;
}

/// What the allocation loop reads of a bundle each time it pops,
/// probes or evicts it, in one row: one cache line holds two rows,
/// where seven columns cost a line (and, in a large function, a miss)
/// each. Packed to 4-byte alignment (28 bytes), so the row costs one
/// byte per bundle more than the columns did.
#[derive(Clone, Copy, Debug)]
#[repr(C, packed(4))]
pub struct BundleRow {
    pub spillset: SpillSetId,
    /// The register (or none) the bundle got.
    pub allocation: Allocation,
    /// Queue priority (total range length).
    pub prio: u32,
    /// Cached spill weight (see the process phase).
    pub spill_weight: u32,
    /// The requirement of a bundle with `USES_CONSTRAINED` set, computed
    /// with its other properties (`merge::recompute_bundle_properties`,
    /// when its uses have just been read) so the allocation loop does not
    /// walk them again when it pops the bundle, by then far out of cache
    /// in a large function. Not computed for other bundles.
    pub requirement: PackedRequirement,
    /// [`bundle_props`] flags.
    pub props: u8,
    /// Tightest `Limit` constraint among the uses (max hw_enc + 1), if any.
    pub limit: Option<u8>,
}

const _: () = assert!(core::mem::size_of::<BundleRow>() == 28);

impl BundleRow {
    /// A fresh bundle's row: no spill set, unallocated, no properties.
    pub fn empty() -> Self {
        BundleRow {
            spillset: SpillSetId::invalid(),
            allocation: Allocation::none(),
            prio: 0,
            spill_weight: 0,
            requirement: PackedRequirement::default(),
            props: 0,
            limit: None,
        }
    }
}

/// The bundle table.
#[derive(Debug)]
pub struct Bundles<'a> {
    /// Ranges of the bundle, sorted by start, disjoint.
    pub ranges: Column<'a, BundleId, ArenaVec<'a, LiveRangeListEntry>>,
    /// Everything else, one row per bundle ([`BundleRow`]).
    pub hot: Column<'a, BundleId, BundleRow>,
}

impl<'a> Bundles<'a> {
    pub fn new_in(arena: &'a Arena, capacity: usize) -> Self {
        Bundles {
            ranges: Column::with_capacity_in(capacity, arena),
            hot: Column::with_capacity_in(capacity, arena),
        }
    }
    /// Makes room for `additional` more bundles in every column.
    pub fn reserve(&mut self, additional: usize) {
        self.ranges.reserve(additional);
        self.hot.reserve(additional);
    }
    /// Appends an empty, unallocated bundle with no spill set.
    pub fn push(&mut self, arena: &'a Arena) -> BundleId {
        self.push_with_room(0, arena)
    }
    /// As [`Self::push`], with room for `ranges` entries in the bundle's
    /// list: a list that is about to be filled is allocated once at its
    /// size rather than grown one, two, four... entries at a time.
    pub fn push_with_room(&mut self, ranges: usize, arena: &'a Arena) -> BundleId {
        self.hot.push(BundleRow::empty());
        self.ranges.push(ArenaVec::with_capacity_in(ranges, arena))
    }
    /// Appends `count` bundles as `push` makes them (one resize per
    /// column instead of `count` pushes); returns the first one's id.
    pub fn push_empty(&mut self, count: usize, arena: &'a Arena) -> BundleId {
        let first = self.ranges.next_key();
        let len = first.index() + count;
        self.hot.raw_mut().resize(len, BundleRow::empty());
        let ranges = self.ranges.raw_mut();
        ranges.reserve(count);
        ranges.extend((0..count).map(|_| ArenaVec::new_in(arena)));
        first
    }
    pub fn len(&self) -> usize {
        self.ranges.len()
    }
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }
}

/// The spill set table.
#[derive(Debug)]
pub struct SpillSets<'a> {
    /// The slot, once `allocate_spillslots` gave one (invalid before, and
    /// for spill sets never `required`).
    pub slot: Column<'a, SpillSetId, SpillSlotId>,
    /// The register the set's bundles last got: the first one to try next.
    pub hint: Column<'a, SpillSetId, PReg>,
    pub class: Column<'a, SpillSetId, RegClass>,
    /// The bundle collecting the set's spilled pieces, if created.
    pub spill_bundle: Column<'a, SpillSetId, BundleId>,
    /// Whether some piece lives on the stack, so the set needs a slot.
    pub required: Column<'a, SpillSetId, bool>,
    /// How often bundles of the set were split (bounds splitting).
    pub splits: Column<'a, SpillSetId, u8>,
    /// The union of the set's ranges.
    pub range: Column<'a, SpillSetId, CodeRange>,
}

impl<'a> SpillSets<'a> {
    pub fn new_in(arena: &'a Arena, capacity: usize) -> Self {
        SpillSets {
            slot: Column::with_capacity_in(capacity, arena),
            hint: Column::with_capacity_in(capacity, arena),
            class: Column::with_capacity_in(capacity, arena),
            spill_bundle: Column::with_capacity_in(capacity, arena),
            required: Column::with_capacity_in(capacity, arena),
            splits: Column::with_capacity_in(capacity, arena),
            range: Column::with_capacity_in(capacity, arena),
        }
    }
    pub fn push(&mut self, class: RegClass, range: CodeRange) -> SpillSetId {
        self.hint.push(PReg::invalid());
        self.class.push(class);
        self.spill_bundle.push(BundleId::invalid());
        self.required.push(false);
        self.splits.push(0);
        self.range.push(range);
        self.slot.push(SpillSlotId::invalid())
    }
    /// Makes room for `additional` more spill sets in every column.
    pub fn reserve(&mut self, additional: usize) {
        self.slot.reserve(additional);
        self.hint.reserve(additional);
        self.class.reserve(additional);
        self.spill_bundle.reserve(additional);
        self.required.reserve(additional);
        self.splits.reserve(additional);
        self.range.reserve(additional);
    }
    /// Appends `count` spill sets as `push(class, range)` makes them (one
    /// resize per column); returns the first one's id. The caller
    /// overwrites `class` and `range` where they differ.
    pub fn push_filled(&mut self, count: usize, class: RegClass, range: CodeRange) -> SpillSetId {
        let first = self.slot.next_key();
        let len = first.index() + count;
        self.hint.raw_mut().resize(len, PReg::invalid());
        self.class.raw_mut().resize(len, class);
        self.spill_bundle.raw_mut().resize(len, BundleId::invalid());
        self.required.raw_mut().resize(len, false);
        self.splits.raw_mut().resize(len, 0);
        self.range.raw_mut().resize(len, range);
        self.slot.raw_mut().resize(len, SpillSlotId::invalid());
        first
    }
    pub fn len(&self) -> usize {
        self.slot.len()
    }
    pub fn is_empty(&self) -> bool {
        self.slot.is_empty()
    }
}

/// The spill slot table.
#[derive(Debug)]
pub struct SpillSlots<'a> {
    /// The spill sets assigned to the slot, by range.
    pub ranges: Column<'a, SpillSlotId, TreeRoot>,
    /// Size in slot units (`spillslot_size` of the class).
    pub size: Column<'a, SpillSlotId, u32>,
    /// The final `Allocation::stack` of the slot.
    pub alloc: Column<'a, SpillSlotId, Allocation>,
    /// One node pool for every slot's tree.
    pub trees: RangeTree<'a, SpillSetId>,
}

impl<'a> SpillSlots<'a> {
    pub fn new_in(arena: &'a Arena) -> Self {
        SpillSlots {
            ranges: Column::new_in(arena),
            size: Column::new_in(arena),
            alloc: Column::new_in(arena),
            trees: RangeTree::new_in(arena),
        }
    }
}

/// What a per-PReg tree entry holds: the bundle whose range the entry's
/// key is. The bundle, not the live range, because a probe needs the
/// conflicting bundle (its weight, whether it was already counted), and a
/// lookup through `ranges.bundle` would cost a cache miss per conflict in
/// a large function. An allocated bundle's ranges are never split or
/// moved (only queued bundles are), so the value stays true while the
/// entry is in the tree.
pub type PRegEntry = BundleId;

/// Bits over (program point, register): the layout [`ReservedPoints`] and
/// [`BusyPoints`] share. Point-major: the registers given slots get them
/// in register order (so a class's registers sit side by side), and the
/// word for points `64 * row .. 64 * row + 64` of slot `s` is
/// `words[row * stride + s]`. The probes of one allocation attempt ask
/// several registers of one class about the same points: laid out this
/// way they read one or two cache lines, where one bitset per register
/// costs a line (and, in a large function, a miss) per register.
///
/// Invariant: `slot[r]` is `u16::MAX` (no slot) or `r`'s slot, `< stride`;
/// `words.len() == rows * stride`.
#[derive(Debug)]
pub struct PointGrid<'a> {
    /// Word rows: points `0..64 * rows`.
    rows: usize,
    /// Number of slots: the row stride.
    stride: usize,
    slot: Column<'a, usize, u16>,
    words: ArenaVec<'a, u64>,
}

/// Rows `first..=last` of a [`PointGrid`] that a range covers: all of
/// each row's bits but those below the range's start (`low`, first row)
/// and past its end (`high`, last row).
#[derive(Clone, Copy)]
struct RowSpan {
    first: usize,
    last: usize,
    low: u64,
    high: u64,
}

impl RowSpan {
    #[inline]
    fn mask(&self, row: usize) -> u64 {
        let mut mask = u64::MAX;
        if row == self.first {
            mask &= self.low;
        }
        if row == self.last {
            mask &= self.high;
        }
        mask
    }
}

impl<'a> PointGrid<'a> {
    /// No slots, for a function of `num_insts` instructions.
    pub fn new_in(arena: &'a Arena, num_insts: usize) -> Self {
        PointGrid {
            // Points `0..2 * num_insts`, plus room for a range ending at
            // the last instruction's next point.
            rows: (2 * num_insts + 1).div_ceil(64),
            stride: 0,
            slot: Column::filled_in(PReg::NUM_INDEX, u16::MAX, arena),
            words: ArenaVec::new_in(arena),
        }
    }

    /// Gives the registers of `regs` slots in register order (and no other
    /// register one); every bit clear.
    pub fn lay_out(&mut self, regs: PRegSet) {
        self.slot.iter_mut().for_each(|slot| *slot = u16::MAX);
        let mut stride = 0u16;
        // Word by word, bit by bit (the set's iterator cost three times
        // as much per register: this runs twice per function, over every
        // allocatable register).
        let slots = self.slot.raw_mut();
        for (w, &word) in regs.words().iter().enumerate() {
            let mut bits = word;
            while bits != 0 {
                slots[w * 64 + bits.trailing_zeros() as usize] = stride;
                stride += 1;
                bits &= bits - 1;
            }
        }
        self.stride = stride as usize;
        self.words.clear();
        self.words.resize(self.rows * self.stride, 0);
    }

    /// Number of points the rows cover.
    pub fn num_points(&self) -> usize {
        self.rows * 64
    }

    /// The slot of `preg`, if it has one.
    #[inline]
    pub fn slot_of(&self, preg: PReg) -> Option<usize> {
        let slot = self.slot[preg.index()];
        (slot != u16::MAX).then_some(slot as usize)
    }

    /// ORs every bit of `other`'s slot `from` into slot `to` (the two
    /// grids cover the same points).
    pub fn or_slot_from(&mut self, to: usize, other: &PointGrid<'_>, from: usize) {
        debug_assert_eq!(self.rows, other.rows);
        for row in 0..self.rows {
            self.words[row * self.stride + to] |= other.words[row * other.stride + from];
        }
    }

    /// Sets the bit of point index `point` in `slot`.
    pub fn set(&mut self, slot: usize, point: usize) {
        self.words[(point / 64) * self.stride + slot] |= 1 << (point % 64);
    }

    /// The bit of `point` in `slot` (clear past the rows).
    #[inline]
    pub fn contains(&self, slot: usize, point: ProgPoint) -> bool {
        let index = point.to_index() as usize;
        index / 64 < self.rows
            && self.words[(index / 64) * self.stride + slot] & (1 << (index % 64)) != 0
    }

    /// The rows `range` covers (clamped to the grid), with the masks of
    /// its first and last row; `None` if it covers no point.
    #[inline]
    fn row_span(&self, range: CodeRange) -> Option<RowSpan> {
        let from = range.from.to_index() as usize;
        let to = (range.to.to_index() as usize).min(self.rows * 64);
        (from < to).then(|| RowSpan {
            first: from / 64,
            last: (to - 1) / 64,
            low: u64::MAX << (from % 64),
            high: u64::MAX >> (63 - (to - 1) % 64),
        })
    }

    /// Asks the cache for the row of words holding `point`'s bits (every
    /// slot's), which a probe of a range starting there reads first.
    #[inline(always)]
    pub fn prefetch_row(&self, point: ProgPoint) {
        let row = point.to_index() as usize / 64;
        if row >= self.rows {
            return;
        }
        let start = self.words.as_ptr().wrapping_add(row * self.stride);
        // One hint per cache line (eight words) of the row.
        for word in (0..self.stride).step_by(8) {
            crate::tables::prefetch(start.wrapping_add(word));
        }
    }

    /// Appends the words `ranges` cover, as `(row offset, mask)` pairs
    /// that any slot's words share: bit `i` of `words[offset + slot]`
    /// under `mask` is a point of a range. Found once per bundle, so each
    /// register then costs one load and test per word.
    pub fn spans_of(&self, ranges: &[LiveRangeListEntry], spans: &mut ArenaVec<'_, (usize, u64)>) {
        for entry in ranges {
            let Some(span) = self.row_span(entry.range) else {
                continue;
            };
            if span.first == span.last {
                spans.push((span.first * self.stride, span.low & span.high));
                continue;
            }
            spans.push((span.first * self.stride, span.low));
            for row in span.first + 1..span.last {
                spans.push((row * self.stride, u64::MAX));
            }
            spans.push((span.last * self.stride, span.high));
        }
    }

    /// Whether no bit under `spans` (from [`Self::spans_of`]) is set in
    /// `slot`.
    #[inline]
    pub fn none_in_spans(&self, slot: usize, spans: &[(usize, u64)]) -> bool {
        spans
            .iter()
            .all(|&(offset, mask)| self.words[offset + slot] & mask == 0)
    }

    /// Whether any bit of `range` is set in `slot`.
    #[inline]
    pub fn any_in(&self, slot: usize, range: CodeRange) -> bool {
        self.row_span(range).is_some_and(|span| {
            (span.first..=span.last)
                .any(|row| self.words[row * self.stride + slot] & span.mask(row) != 0)
        })
    }

    /// Sets (`value`) or clears every bit of `range` in `slot`.
    #[inline]
    pub fn fill(&mut self, slot: usize, range: CodeRange, value: bool) {
        let Some(span) = self.row_span(range) else {
            return;
        };
        for row in span.first..=span.last {
            let mask = span.mask(row);
            let word = &mut self.words[row * self.stride + slot];
            if value {
                debug_assert!(*word & mask == 0, "{range:?} already set");
                *word |= mask;
            } else {
                *word &= !mask;
            }
        }
    }

    /// The first set point of `slot` inside `range`, if any: a scan of the
    /// words the range covers (usually one or two).
    #[inline]
    pub fn first_in(&self, slot: usize, range: CodeRange) -> Option<ProgPoint> {
        let from = range.from.to_index() as usize;
        let to = (range.to.to_index() as usize).min(self.rows * 64);
        if from >= to {
            return None;
        }
        let last = (to - 1) / 64;
        let mut row = from / 64;
        let mut word = self.words[row * self.stride + slot] & (u64::MAX << (from % 64));
        loop {
            if word != 0 {
                let point = row * 64 + word.trailing_zeros() as usize;
                return (point < to).then(|| ProgPoint::from_index(point as u32));
            }
            if row == last {
                return None;
            }
            row += 1;
            word = self.words[row * self.stride + slot];
        }
    }

    /// The set points of `slot` (none if `None`), in order.
    pub fn iter(&self, slot: Option<usize>) -> impl Iterator<Item = ProgPoint> + '_ {
        let stride = self.stride;
        let rows = if slot.is_some() { self.rows } else { 0 };
        (0..rows).flat_map(move |row| {
            let mut word = self.words[row * stride + slot.unwrap_or(0)];
            core::iter::from_fn(move || {
                (word != 0).then(|| {
                    let bit = word.trailing_zeros() as usize;
                    word &= word - 1;
                    ProgPoint::from_index((row * 64 + bit) as u32)
                })
            })
        })
    }
}

/// The fixed reservations of every register (clobbers, fixed-register
/// operands of non-allocatable registers, multi-fixed-reg fixups): each is
/// one program point, so a register's reservations are a set of points,
/// kept as a bitset over the function's points for each register that has
/// any.
///
/// Kept apart from the allocation trees because they are many (as many as
/// the allocated ranges in call-heavy code) and never change after
/// `liveranges`: as bits, finding the first reservation inside a range is a
/// scan of a word or two instead of a walk through tree entries, and the
/// trees hold only what the allocation loop inserts and removes, so they
/// are half as large and their descents miss the cache less.
///
/// Layout: a [`PointGrid`] whose slots are the registers with
/// reservations.
///
/// Built in two steps: [`insert`](Self::insert) collects points while
/// `liveranges` scans, [`seal`](Self::seal) lays them out (the layout's
/// stride is known only once every reservation is). Queries need a sealed
/// set and panic otherwise.
///
/// Invariant (sealed): the grid's slots are exactly the registers with
/// reservations; `pending` is empty.
#[derive(Debug)]
pub struct ReservedPoints<'a> {
    grid: PointGrid<'a>,
    /// The registers with reservations (the grid's slots), once sealed.
    regs: PRegSet,
    /// `(preg index, point index)` inserted and not yet laid out.
    pending: ArenaVec<'a, (u32, u32)>,
    /// `(registers, point index)` inserted as sets (an instruction's
    /// clobbers: one entry for the twenty or so registers a call
    /// clobbers) and not yet laid out.
    pending_sets: ArenaVec<'a, (PRegSet, u32)>,
    sealed: bool,
}

impl<'a> ReservedPoints<'a> {
    /// No reservations, for a function of `num_insts` instructions.
    pub fn new_in(arena: &'a Arena, num_insts: usize) -> Self {
        ReservedPoints {
            grid: PointGrid::new_in(arena, num_insts),
            regs: PRegSet::empty(),
            pending: ArenaVec::with_capacity_in(SCRATCH_LIST_START, arena),
            pending_sets: ArenaVec::with_capacity_in(SCRATCH_LIST_START, arena),
            sealed: false,
        }
    }

    /// The index of `point`, which a reservation may name: inside the
    /// function, and the set not sealed yet.
    fn pending_index(&self, point: ProgPoint) -> u32 {
        let index = point.to_index();
        assert!(
            (index as usize) < self.grid.num_points(),
            "{point:?} past the function"
        );
        assert!(!self.sealed, "reservation after the set was sealed");
        index
    }

    /// Reserves `point` of `preg`. Only before [`seal`](Self::seal).
    pub fn insert(&mut self, preg: PReg, point: ProgPoint) {
        let index = self.pending_index(point);
        self.pending.push((preg.index() as u32, index));
    }

    /// Reserves `point` of every register in `pregs`. Only before
    /// [`seal`](Self::seal).
    pub fn insert_set(&mut self, pregs: PRegSet, point: ProgPoint) {
        let index = self.pending_index(point);
        self.pending_sets.push((pregs, index));
    }

    /// Lays out every inserted point; queries may follow. O(points +
    /// rows * registers with reservations).
    pub fn seal(&mut self) {
        assert!(!self.sealed, "sealed twice");
        self.sealed = true;
        let mut regs = PRegSet::empty();
        for &(reg, _) in self.pending.iter() {
            regs.add(PReg::from_index(reg as usize));
        }
        for (set, _) in self.pending_sets.iter() {
            regs.union_from(*set);
        }
        self.grid.lay_out(regs);
        self.regs = regs;
        for &(reg, point) in self.pending.iter() {
            let slot = self.grid.slot[reg as usize] as usize;
            self.grid.set(slot, point as usize);
        }
        for &(set, point) in self.pending_sets.iter() {
            for reg in set {
                let slot = self.grid.slot[reg.index()] as usize;
                self.grid.set(slot, point as usize);
            }
        }
        self.pending.clear();
        self.pending_sets.clear();
    }

    /// The slot of `preg`, if it has reservations. Panics on a set not yet
    /// sealed: it would answer "no reservation" for every register (a bug
    /// in the caller, which `build_liveranges` never is).
    #[inline]
    fn slot_of(&self, preg: PReg) -> Option<usize> {
        assert!(self.sealed, "reservations queried before `seal`");
        self.grid.slot_of(preg)
    }

    /// Whether `point` of `preg` is reserved.
    #[inline]
    pub fn contains(&self, preg: PReg, point: ProgPoint) -> bool {
        self.slot_of(preg)
            .is_some_and(|slot| self.grid.contains(slot, point))
    }

    /// The first reserved point of `preg` inside `range`, if any.
    #[inline]
    pub fn first_in(&self, preg: PReg, range: CodeRange) -> Option<ProgPoint> {
        self.grid.first_in(self.slot_of(preg)?, range)
    }

    /// The reserved points of `preg`, in order.
    pub fn iter(&self, preg: PReg) -> impl Iterator<Item = ProgPoint> + '_ {
        self.grid.iter(self.slot_of(preg))
    }
}

/// Which registers are busy at each point — reserved, or holding a range
/// of an allocated bundle — as bits, so that an allocation attempt can
/// find the first register free over all of a bundle's ranges without
/// walking any tree (about 70% of attempts find one). Two bits per
/// instruction and register: they stay in cache where a large function's
/// trees do not, and even with the trees in cache one word test beats a
/// descent and a walk (measured: 5% of the allocator's time on the corpus,
/// 3-5% at 10^5 and 10^6 instructions). [`enable`](Self::enable)d at the
/// start of `process` (tests compare runs without them).
///
/// A [`PointGrid`] like [`ReservedPoints`], with one slot per register that
/// can hold a bundle (the classes' registers and the fixed stack slots).
///
/// Invariant (enabled): for every slotted register `r` and point `p`, the
/// bit of `(r, p)` is set exactly when `p` is reserved for `r` or lies in
/// an entry of `r`'s tree. Kept by [`mark`](Self::mark) and
/// [`unmark`](Self::unmark) at every tree insert and remove: tree entries
/// never overlap each other or a reservation, so unmarking a removed
/// entry clears no other reason's bit. `check_postconditions` checks it.
/// A register without a slot is never reported free (its bits are not
/// kept), so a caller falls back to the trees for it.
#[derive(Debug)]
pub struct BusyPoints<'a> {
    grid: PointGrid<'a>,
    enabled: bool,
}

impl<'a> BusyPoints<'a> {
    /// Disabled: every query answers "unknown".
    pub fn new_in(arena: &'a Arena, num_insts: usize) -> Self {
        BusyPoints {
            grid: PointGrid::new_in(arena, num_insts),
            enabled: false,
        }
    }

    /// Gives every register `env` can allocate a slot, and sets the bits
    /// of `reserved` (which must be sealed). The trees must be empty.
    pub fn enable(&mut self, env: &MachineEnv, reserved: &ReservedPoints<'_>) {
        let mut candidates = PRegSet::empty();
        for class in 0..3 {
            candidates.union_from(env.preferred_regs_by_class[class]);
            candidates.union_from(env.non_preferred_regs_by_class[class]);
        }
        for &preg in &env.fixed_stack_slots {
            candidates.add(preg);
        }
        self.grid.lay_out(candidates);
        // Word by word from the reserved registers' rows (a walk over
        // every candidate's reserved points, bit by bit, was 3-4% of a
        // small function's run).
        assert!(reserved.sealed, "reservations copied before `seal`");
        for preg in candidates & reserved.regs {
            if let (Some(to), Some(from)) = (self.grid.slot_of(preg), reserved.grid.slot_of(preg)) {
                self.grid.or_slot_from(to, &reserved.grid, from);
            }
        }
        self.enabled = true;
    }

    /// Whether the bits are kept.
    #[inline]
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    #[inline]
    fn slot_of(&self, preg: PReg) -> Option<usize> {
        if !self.enabled {
            return None;
        }
        self.grid.slot_of(preg)
    }

    /// `Some(true)` if no point of any of `ranges` is busy in `preg`,
    /// `Some(false)` if one is, `None` if unknown (disabled, or `preg` has
    /// no slot).
    #[inline]
    pub fn is_free(&self, preg: PReg, ranges: &[LiveRangeListEntry]) -> Option<bool> {
        let slot = self.slot_of(preg)?;
        Some(
            !ranges
                .iter()
                .any(|entry| self.grid.any_in(slot, entry.range)),
        )
    }

    /// The spans of `ranges` for [`Self::is_free_in_spans`].
    pub fn spans_of(&self, ranges: &[LiveRangeListEntry], spans: &mut ArenaVec<'_, (usize, u64)>) {
        self.grid.spans_of(ranges, spans);
    }

    /// Prefetches the bits of `point` in every register (a hint; nothing
    /// when disabled).
    #[inline(always)]
    pub fn prefetch_point(&self, point: ProgPoint) {
        if self.enabled {
            self.grid.prefetch_row(point);
        }
    }

    /// As [`Self::is_free`], for the ranges whose spans are `spans`.
    #[inline]
    pub fn is_free_in_spans(&self, preg: PReg, spans: &[(usize, u64)]) -> Option<bool> {
        let slot = self.slot_of(preg)?;
        Some(self.grid.none_in_spans(slot, spans))
    }

    /// Marks `range` busy in `preg` (an entry inserted in its tree).
    #[inline]
    pub fn mark(&mut self, preg: PReg, range: CodeRange) {
        if let Some(slot) = self.slot_of(preg) {
            self.grid.fill(slot, range, true);
        }
    }

    /// Clears `range` in `preg` (an entry removed from its tree).
    #[inline]
    pub fn unmark(&mut self, preg: PReg, range: CodeRange) {
        if let Some(slot) = self.slot_of(preg) {
            self.grid.fill(slot, range, false);
        }
    }

    /// Number of points the bits cover (0 when disabled).
    pub fn num_points(&self) -> usize {
        if self.enabled {
            self.grid.num_points()
        } else {
            0
        }
    }

    /// Whether `point` is busy in `preg`; `None` if unknown. For checks.
    pub fn contains(&self, preg: PReg, point: ProgPoint) -> Option<bool> {
        Some(self.grid.contains(self.slot_of(preg)?, point))
    }
}

/// The per-physical-register allocation state, indexed by `PReg::index()`.
#[derive(Debug)]
pub struct PRegs<'a> {
    /// The ranges allocated to each register.
    pub allocations: Column<'a, usize, TreeRoot>,
    /// The points no bundle may have in each register.
    pub reserved: ReservedPoints<'a>,
    /// Whether the register is a fixed stack slot (`fixed_stack_slots`).
    pub is_stack: Column<'a, usize, bool>,
    /// One node pool for every register's tree.
    pub trees: RangeTree<'a, PRegEntry>,
    /// The trees and reservations as bits per point, in large functions.
    pub busy: BusyPoints<'a>,
}

impl<'a> PRegs<'a> {
    /// For a function of `num_insts` instructions.
    pub fn new_in(arena: &'a Arena, num_insts: usize) -> Self {
        PRegs {
            allocations: Column::filled_in(PReg::NUM_INDEX, TreeRoot::EMPTY, arena),
            reserved: ReservedPoints::new_in(arena, num_insts),
            is_stack: Column::filled_in(PReg::NUM_INDEX, false, arena),
            trees: RangeTree::new_in(arena),
            busy: BusyPoints::new_in(arena, num_insts),
        }
    }
}

/// A branch argument leaving `from_block` for a block param of `to_block`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockparamOut {
    pub from_vreg: VRegId,
    pub from_block: Block,
    pub to_block: Block,
    pub to_vreg: VRegId,
}

/// One vreg used in several fixed registers at one instruction: the use in
/// operand `to_slot` gets a copy of the value made at `pos`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MultiFixedRegFixup {
    pub pos: ProgPoint,
    pub from_slot: u16,
    pub to_slot: u16,
    pub to_preg: PReg,
    pub vreg: VRegId,
    /// Whether the copy happens before the instruction's own moves
    /// (`Initial`) or after (`Secondary`).
    pub level: FixupLevel,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FixupLevel {
    Initial,
    Secondary,
}

/// All the allocator's per-run state.
#[derive(Debug)]
pub struct IonTables<'a> {
    pub ranges: LiveRanges<'a>,
    pub vregs: VRegs<'a>,
    pub bundles: Bundles<'a>,
    pub spillsets: SpillSets<'a>,
    pub spillslots: SpillSlots<'a>,
    pub pregs: PRegs<'a>,
    pub blockparam_outs: ArenaVec<'a, BlockparamOut>,
    pub multi_fixed_reg_fixups: ArenaVec<'a, MultiFixedRegFixup>,
    /// The instructions with a `Reuse` operand, in decreasing order (the
    /// live-range scan's): the only ones `merge` looks at for reuse pairs.
    pub reuse_insts: ArenaVec<'a, crate::Inst>,
}

/// From this many instructions on, [`IonTables::new_in`] reserves the
/// range and bundle columns for the splits to come.
pub const LARGE_FUNCTION_INSTS: usize = 1 << 16;

impl<'a> IonTables<'a> {
    pub fn new_in(arena: &'a Arena, num_vregs: usize, num_insts: usize) -> Self {
        // Ranges: about 1.2 per instruction once splitting is done on
        // backend output (the dev corpus: 393k ranges for 332k
        // instructions, against 1.08M vregs, half of them Cranelift's
        // unused pinned vregs; reserving by vregs held four times the rows
        // ever used). 1.5 per instruction covers nine functions in ten;
        // the rest grow the columns once or twice. Bundles and spill sets are reserved by
        // `merge::merge_vreg_bundles`, which knows how many vregs have
        // ranges.
        let mut range_capacity = num_insts + num_insts / 2 + 16;
        if num_insts >= LARGE_FUNCTION_INSTS {
            // Room for the ranges splits add: a column that outgrows its
            // room moves, and for a large function that copies ~100 MB
            // into fresh pages, each first touched at a page fault. Unused
            // room is only address space. Small functions keep the tight
            // estimate, which a warm `Ctx`'s arena holds on to.
            range_capacity *= 2;
        }
        IonTables {
            ranges: LiveRanges::new_in(arena, range_capacity),
            vregs: VRegs::new_in(arena, num_vregs),
            bundles: Bundles::new_in(arena, 0),
            spillsets: SpillSets::new_in(arena, 0),
            spillslots: SpillSlots::new_in(arena),
            pregs: PRegs::new_in(arena, num_insts),
            blockparam_outs: ArenaVec::with_capacity_in(SCRATCH_LIST_START, arena),
            multi_fixed_reg_fixups: ArenaVec::new_in(arena),
            reuse_insts: ArenaVec::with_capacity_in(SCRATCH_LIST_START, arena),
        }
    }

    /// Checks the invariants listed at the top of this module; returns a
    /// description of the first violation.
    pub fn check_invariants(&self) -> Result<(), String> {
        for (id, range) in self.ranges.range.iter_enumerated() {
            if range.is_empty() {
                return Err(format!("{id:?} is empty: {range:?}"));
            }
            let uses = &self.ranges.uses[id];
            for pair in uses.windows(2) {
                if pair[0].pos > pair[1].pos {
                    return Err(format!("{id:?} uses out of order"));
                }
            }
            for u in uses.iter() {
                // A def at an instruction's After point may close a range
                // that ends there; uses otherwise lie within the range.
                if u.pos < range.from || u.pos > range.to {
                    return Err(format!("{id:?} use at {:?} outside {range:?}", u.pos));
                }
            }
        }
        // The owner's name is formatted only when a violation is found, so a
        // clean check allocates nothing (it runs on every debug-build run).
        let check_list =
            |what: &dyn core::fmt::Debug, list: &[LiveRangeListEntry]| -> Result<(), String> {
                for pair in list.windows(2) {
                    if pair[0].range.to > pair[1].range.from {
                        return Err(format!(
                            "{what:?}: {:?} and {:?} overlap or are out of order",
                            pair[0], pair[1]
                        ));
                    }
                }
                Ok(())
            };
        let nonempty = self.vregs.ranges.iter_nonempty().count();
        let listed = (self.vregs.ranges.iter_enumerated())
            .filter(|(_, list)| !list.is_empty())
            .count();
        if nonempty != listed {
            return Err(format!(
                "vreg range rows: {listed} non-empty, the walk over them finds {nonempty}"
            ));
        }
        for (vreg, list) in self.vregs.ranges.iter_enumerated() {
            for pair in list.windows(2) {
                if pair[0].range.from > pair[1].range.from {
                    return Err(format!(
                        "{vreg:?}: {:?} and {:?} out of order",
                        pair[0], pair[1]
                    ));
                }
            }
            for entry in list.iter() {
                if self.ranges.range[entry.index] != entry.range {
                    return Err(format!(
                        "{vreg:?} lists {entry:?}, but the range is {:?}",
                        self.ranges.range[entry.index]
                    ));
                }
            }
        }
        for (bundle, list) in self.bundles.ranges.iter_enumerated() {
            check_list(&bundle, list)?;
            for entry in list.iter() {
                if self.ranges.bundle[entry.index] != bundle {
                    return Err(format!(
                        "{bundle:?} lists {:?}, which belongs to {:?}",
                        entry.index, self.ranges.bundle[entry.index]
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A query before `seal` is a caller's bug and says so, rather than
    /// answering "no reservation".
    #[test]
    #[should_panic(expected = "before `seal`")]
    fn reserved_points_refuse_queries_before_seal() {
        let arena = Arena::new();
        let mut reserved = ReservedPoints::new_in(&arena, 10);
        let reg = PReg::new(3, RegClass::Int);
        reserved.insert(reg, ProgPoint::from_index(5));
        reserved.contains(reg, ProgPoint::from_index(5));
    }

    /// Every query agrees with a plain set of points, for registers with
    /// and without reservations (so slots and unused registers interleave
    /// in register order) and ranges within one word, across words, and
    /// reaching the last point.
    #[test]
    fn reserved_points_match_a_set() {
        let arena = Arena::new();
        let insts = 200;
        let mut reserved = ReservedPoints::new_in(&arena, insts);
        let regs: Vec<PReg> = (0..20).map(|i| PReg::new(i, RegClass::Int)).collect();
        let mut model = std::collections::BTreeSet::new();
        let mut state = 0x2545_f491u32;
        for _ in 0..600 {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            // Registers 0..17 only: 18 and 19 stay without reservations.
            let reg = regs[(state % 18) as usize];
            let point = ProgPoint::from_index((state >> 8) % (2 * insts as u32));
            reserved.insert(reg, point);
            model.insert((reg.index(), point));
        }
        reserved.insert(regs[0], ProgPoint::from_index(2 * insts as u32 - 1));
        model.insert((regs[0].index(), ProgPoint::from_index(2 * insts as u32 - 1)));
        // Sets of registers at one point (an instruction's clobbers),
        // mixed with the single points, some on the same points.
        for k in 0..40u32 {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let point = ProgPoint::from_index(if k % 4 == 0 {
                k
            } else {
                (state >> 8) % (2 * insts as u32)
            });
            let mut set = PRegSet::empty();
            for (i, &reg) in regs[..18].iter().enumerate() {
                if state >> (i % 24) & 1 != 0 {
                    set.add(reg);
                    model.insert((reg.index(), point));
                }
            }
            reserved.insert_set(set, point);
        }
        reserved.seal();
        for &reg in &regs {
            let points: Vec<ProgPoint> = model
                .iter()
                .filter(|(r, _)| *r == reg.index())
                .map(|&(_, p)| p)
                .collect();
            assert_eq!(reserved.iter(reg).collect::<Vec<_>>(), points);
            for p in 0..2 * insts as u32 + 1 {
                let point = ProgPoint::from_index(p);
                assert_eq!(reserved.contains(reg, point), points.contains(&point));
            }
            for from in (0..2 * insts as u32).step_by(7) {
                for len in [1u32, 2, 63, 64, 65, 130, 400] {
                    let to = (from + len).min(2 * insts as u32);
                    let range =
                        CodeRange::new(ProgPoint::from_index(from), ProgPoint::from_index(to));
                    let expected = points.iter().copied().find(|p| range.contains_point(*p));
                    assert_eq!(reserved.first_in(reg, range), expected, "{reg:?} {range:?}");
                }
            }
        }
    }
}

#[cfg(test)]
mod range_uses_tests {
    use super::*;
    use crate::{Inst, OperandConstraint, OperandKind, OperandPos};

    fn use_at(inst: usize) -> Use {
        Use {
            operand: Operand::new(
                VReg::new(0, RegClass::Int),
                OperandConstraint::Reg,
                OperandKind::Use,
                OperandPos::Early,
            ),
            pos: ProgPoint::before(Inst::new(inst)),
            slot: 0,
            weight: 0,
        }
    }

    fn insts(uses: &[Use]) -> Vec<usize> {
        uses.iter().map(|u| u.pos.inst().index()).collect()
    }

    /// Pushes, splits, takes and regrowth keep every range's list intact
    /// and the spans disjoint.
    #[test]
    fn spans_split_move_and_stay_disjoint() {
        let arena = Arena::new();
        let mut ranges = LiveRanges::new_in(&arena, 4);
        let r = |i: usize| {
            CodeRange::new(
                ProgPoint::before(Inst::new(i)),
                ProgPoint::before(Inst::new(i + 10)),
            )
        };
        let a = ranges.push(&arena, r(0), VRegId::new(0));
        let b = ranges.push(&arena, r(20), VRegId::new(1));
        for i in 0..4 {
            ranges.uses.push(a, use_at(i));
        }
        ranges.uses.push(b, use_at(20));
        // `a` no longer ends the pool: this push moves it to the end.
        ranges.uses.push(a, use_at(5));
        assert_eq!(insts(&ranges.uses[a]), vec![0, 1, 2, 3, 5]);
        assert_eq!(insts(&ranges.uses[b]), vec![20]);
        // A split hands the tail over without copying.
        let tail = ranges.push(&arena, r(2), VRegId::new(0));
        ranges.uses.split_off(a, 2, tail);
        assert_eq!(insts(&ranges.uses[a]), vec![0, 1]);
        assert_eq!(insts(&ranges.uses[tail]), vec![2, 3, 5]);
        let tail_span = ranges.uses.span(tail);
        assert_eq!(ranges.uses.span(a).start + 2, tail_span.start);
        // Growing the head must not write over the tail.
        ranges.uses.push(a, use_at(1));
        assert_eq!(insts(&ranges.uses[a]), vec![0, 1, 1]);
        assert_eq!(insts(&ranges.uses[tail]), vec![2, 3, 5]);
        // A taken span still reads while other lists grow.
        let taken = ranges.uses.take(tail);
        assert!(ranges.uses[tail].is_empty());
        let fresh = ranges.push(&arena, r(30), VRegId::new(2));
        ranges
            .uses
            .extend_from_slice(fresh, &[use_at(30), use_at(31)]);
        assert_eq!(insts(ranges.uses.of_span(taken)), vec![2, 3, 5]);
        assert_eq!(insts(&ranges.uses[fresh]), vec![30, 31]);
        // Every non-empty span is disjoint from the others.
        let mut spans: Vec<UseSpan> = [a, b, tail, fresh]
            .iter()
            .map(|&lr| ranges.uses.span(lr))
            .filter(|s| s.len > 0)
            .collect();
        spans.sort_by_key(|s| s.start);
        for pair in spans.windows(2) {
            assert!(pair[0].start + pair[0].len <= pair[1].start, "{spans:?}");
        }
    }
}

#[cfg(test)]
mod vreg_range_lists_tests {
    use super::*;
    use crate::Inst;

    fn entry(from: usize, to: usize, index: usize) -> LiveRangeListEntry {
        LiveRangeListEntry {
            range: CodeRange::new(
                ProgPoint::before(Inst::new(from)),
                ProgPoint::before(Inst::new(to)),
            ),
            index: LiveRangeId::new(index),
        }
    }

    /// A rebuild places every entry in its vreg's row, sorts only the rows
    /// out of order, leaves other rows empty, and a second (larger) build
    /// replaces the first entirely.
    #[test]
    fn rebuild_lists_rows_by_vreg_and_sorts() {
        let arena = Arena::new();
        let mut lists = VRegRangeLists::new_in(&arena, 4);
        let key = |e: &LiveRangeListEntry| (e.range.from, e.index);
        let rows = [
            (VRegId::new(2), entry(5, 6, 0)),
            (VRegId::new(0), entry(1, 2, 1)),
            (VRegId::new(2), entry(1, 3, 2)),
        ];
        lists.rebuild(rows.iter().copied(), key, &arena);
        assert_eq!(lists.len(), 4);
        assert_eq!(&lists[VRegId::new(0)], &[entry(1, 2, 1)]);
        assert!(lists[VRegId::new(1)].is_empty());
        assert_eq!(&lists[VRegId::new(2)], &[entry(1, 3, 2), entry(5, 6, 0)]);
        assert!(lists[VRegId::new(3)].is_empty());
        assert!(lists.get(VRegId::new(4)).is_none());

        let more = [
            (VRegId::new(3), entry(7, 8, 3)),
            (VRegId::new(1), entry(2, 4, 4)),
            (VRegId::new(3), entry(8, 9, 5)),
            (VRegId::new(1), entry(0, 1, 6)),
        ];
        lists.rebuild(more.iter().copied(), key, &arena);
        assert!(lists[VRegId::new(0)].is_empty());
        assert_eq!(&lists[VRegId::new(1)], &[entry(0, 1, 6), entry(2, 4, 4)]);
        assert!(lists[VRegId::new(2)].is_empty());
        assert_eq!(&lists[VRegId::new(3)], &[entry(7, 8, 3), entry(8, 9, 5)]);
        let total: usize = lists.iter_enumerated().map(|(_, l)| l.len()).sum();
        assert_eq!(total, more.len());
        // The walk over non-empty rows starts at the lowest listed vreg
        // (1 here, after a build that listed vreg 0) and names each row.
        let listed: Vec<usize> = lists.iter_nonempty().map(|(v, _)| v.index()).collect();
        assert_eq!(listed, [1, 3]);
        assert_eq!(
            lists.iter_nonempty().next().unwrap().1,
            &lists[VRegId::new(1)]
        );
        lists.rebuild(core::iter::empty(), key, &arena);
        assert_eq!(lists.iter_nonempty().count(), 0);
        lists.rebuild(rows.iter().copied(), key, &arena);
        let listed: Vec<usize> = lists.iter_nonempty().map(|(v, _)| v.index()).collect();
        assert_eq!(listed, [0, 2]);
    }
}
