//! Register probing: the order registers are tried in, and the test of
//! one register against one bundle.
//!
//! Reads `bundles.{ranges,spill_weight}`, the per-PReg trees (whose
//! entries name the allocated bundles), `pregs.reserved` and `pregs.busy`
//! (the first free register by bits, before any tree walk); on success
//! writes the tree, its busy bits and `bundles.hot[..].allocation`.
//!
//! From regalloc2 0.15.2 `src/ion/reg_traversal.rs` (`RegTraversalIter`)
//! and `try_to_allocate_bundle_to_reg` in `src/ion/process.rs`: the same
//! order and the same early exits, so the same register wins.

use super::Allocator;
use crate::ion::data::BundleId;
use crate::ion::data::PRegs;
use crate::ion::trees::{Cursor, TreeRoot, SEEK_BATCH, SEEK_BATCH_MAX};
use crate::{Allocation, MachineEnv, PReg, PRegSet, ProgPoint, RegClass};

/// The preferred registers, then the non-preferred ones, each set
/// rotated to start at a pivot register and wrap around: four bit-masked
/// copies of the class's word of the sets (preferred at or above the
/// pivot, preferred below it, then the same for non-preferred), emptied
/// lowest bit first. `validate::check_env` keeps a class's registers in
/// word `class` of its sets, so the other words are empty.
#[derive(Clone)]
struct RotatedSets {
    stages: [u64; 4],
    /// The first stage that may be non-empty.
    stage: usize,
    /// The index of the class's first register (bit 0 of its word).
    base: usize,
}

impl RotatedSets {
    fn new(preferred: PRegSet, non_preferred: PRegSet, class: RegClass, offset: usize) -> Self {
        let word = class as usize;
        let pivot = PReg::new(offset % PReg::MAX, class).hw_enc();
        let (pref, non_pref) = (preferred.words()[word], non_preferred.words()[word]);
        let at_or_above = !0u64 << pivot;
        RotatedSets {
            stages: [
                pref & at_or_above,
                pref & !at_or_above,
                non_pref & at_or_above,
                non_pref & !at_or_above,
            ],
            stage: 0,
            base: word * 64,
        }
    }

    #[inline]
    fn next(&mut self) -> Option<PReg> {
        while self.stage < 4 {
            let bits = &mut self.stages[self.stage];
            if *bits != 0 {
                let bit = bits.trailing_zeros() as usize;
                *bits &= *bits - 1;
                return Some(PReg::from_index(self.base + bit));
            }
            self.stage += 1;
        }
        None
    }
}

/// The registers a bundle tries, in order: only the fixed register if
/// there is one; else the hint, then the class's preferred registers, then
/// its non-preferred ones, each set rotated by `offset` so that bundles
/// spread over the registers instead of piling onto the first. Registers
/// at or above `limit` (by `hw_enc`) are skipped.
#[derive(Clone)]
pub(super) struct RegTraversal {
    fixed: Option<PReg>,
    only_fixed: bool,
    hint: Option<PReg>,
    hint_pending: bool,
    rotated: RotatedSets,
    limit: usize,
}

impl RegTraversal {
    pub(super) fn new(
        env: &MachineEnv,
        class: RegClass,
        fixed: Option<PReg>,
        hint: Option<PReg>,
        offset: usize,
        limit: Option<usize>,
    ) -> Self {
        let class_index = class as usize;
        RegTraversal {
            fixed,
            only_fixed: fixed.is_some(),
            hint,
            hint_pending: hint.is_some(),
            rotated: RotatedSets::new(
                env.preferred_regs_by_class[class_index],
                env.non_preferred_regs_by_class[class_index],
                class,
                offset,
            ),
            limit: limit.unwrap_or(usize::MAX),
        }
    }
}

impl Iterator for RegTraversal {
    type Item = PReg;
    fn next(&mut self) -> Option<PReg> {
        if self.only_fixed {
            return self.fixed.take();
        }
        if self.hint_pending {
            self.hint_pending = false;
            if let Some(hint) = self.hint.filter(|h| h.hw_enc() < self.limit) {
                return Some(hint);
            }
        }
        let usable =
            |reg: PReg, hint: Option<PReg>, limit: usize| Some(reg) != hint && reg.hw_enc() < limit;
        while let Some(reg) = self.rotated.next() {
            if usable(reg, self.hint, self.limit) {
                return Some(reg);
            }
        }
        None
    }
}

/// A probe tells new conflicts from repeats by scanning its list until
/// the list holds this many, then by per-bundle marks. (Unit tests switch
/// early, so that their small functions take both paths.)
const SCAN_CONFLICTS: usize = if cfg!(test) { 2 } else { 16 };

/// Starts a new generation of conflict marks (sized to `bundle_count`) and
/// marks the conflicts listed so far; returns the generation's stamp.
/// Marks of older generations then no longer match.
fn start_marking(
    marks: &mut crate::tables::ArenaVec<'_, u32>,
    probe_stamp: &mut u32,
    bundle_count: usize,
    listed: &[BundleId],
) -> u32 {
    if marks.len() < bundle_count {
        marks.resize(bundle_count, 0);
    }
    *probe_stamp = probe_stamp.wrapping_add(1);
    if *probe_stamp == 0 {
        marks.iter_mut().for_each(|m| *m = 0);
        *probe_stamp = 1;
    }
    for &bundle in listed {
        marks[bundle.index()] = *probe_stamp;
    }
    *probe_stamp
}

/// Pools with more entries than this get their probes' first seeks done
/// in batches ([`SoughtRegs`]): below it the trees sit in cache and a
/// batch would only waste the seeks of registers never probed.
const BATCH_SEEK_MIN_ENTRIES: usize = 1 << 14;

/// A register traversal whose registers come with a cursor already at a
/// point of their trees, sought [`SEEK_BATCH`] registers at a time with
/// [`RangeTree::seek_many`] when the trees are large (the probes of one
/// attempt are independent of each other until one succeeds, so the
/// seeks can run ahead), or up to [`SEEK_BATCH_MAX`] at a time when the
/// busy bits showed that no register is free (then every register is
/// probed, and the more descents run side by side the more of their
/// cache misses overlap). For small trees the cursor is `None` and each
/// probe seeks on its own.
pub(super) struct SoughtRegs {
    order: RegTraversal,
    point: ProgPoint,
    batched: bool,
    /// Registers sought per batch.
    batch: usize,
    regs: [PReg; SEEK_BATCH_MAX],
    cursors: [Cursor; SEEK_BATCH_MAX],
    /// `regs[next..len]` are sought and not yet handed out.
    next: usize,
    len: usize,
}

impl SoughtRegs {
    #[inline]
    pub(super) fn new(
        order: RegTraversal,
        point: ProgPoint,
        pregs: &PRegs<'_>,
        probes_all: bool,
    ) -> Self {
        SoughtRegs {
            order,
            point,
            batched: pregs.trees.live_entries() > BATCH_SEEK_MIN_ENTRIES,
            batch: if probes_all {
                SEEK_BATCH_MAX
            } else {
                SEEK_BATCH
            },
            regs: [PReg::invalid(); SEEK_BATCH_MAX],
            cursors: [Cursor::empty(); SEEK_BATCH_MAX],
            next: 0,
            len: 0,
        }
    }

    /// The next register, with its cursor at the point when batched.
    /// The cursor is valid only while the trees are unchanged: callers stop
    /// (or start a new traversal) once a probe succeeds.
    #[inline]
    pub(super) fn next(&mut self, pregs: &PRegs<'_>) -> Option<(PReg, Option<Cursor>)> {
        if !self.batched {
            return self.order.next().map(|reg| (reg, None));
        }
        self.next_batched(pregs)
    }

    #[inline(never)]
    fn next_batched(&mut self, pregs: &PRegs<'_>) -> Option<(PReg, Option<Cursor>)> {
        if self.next == self.len {
            self.len = 0;
            self.next = 0;
            let mut roots = [TreeRoot::EMPTY; SEEK_BATCH_MAX];
            while self.len < self.batch {
                let Some(reg) = self.order.next() else { break };
                self.regs[self.len] = reg;
                roots[self.len] = pregs.allocations[reg.index()];
                self.len += 1;
            }
            if self.len == 0 {
                return None;
            }
            pregs.trees.seek_many(
                &roots[..self.len],
                self.point,
                &mut self.cursors[..self.len],
            );
        }
        let i = self.next;
        self.next += 1;
        Some((self.regs[i], Some(self.cursors[i])))
    }
}

/// What the busy bits say about an attempt's registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FreeScan {
    /// This register is free (the count of registers tried, it included).
    Free(PReg, usize),
    /// Every register conflicts or holds a reservation somewhere.
    NoneFree,
    /// Some register has no bits (or the bits are off).
    Unknown,
}

/// The outcome of probing one register for a bundle. The conflicting
/// bundles of a [`Probe::Conflict`] are left in `Allocator::conflicts`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Probe {
    /// The bundle now lives in the register.
    Allocated,
    /// Allocated bundles overlap ours; the heaviest weighs `max_weight`
    /// and the first overlap is at `first_point`.
    Conflict {
        max_weight: u32,
        first_point: ProgPoint,
    },
    /// A fixed reservation overlaps ours at `point`; `max_weight` is the
    /// heaviest bundle conflict met before it.
    ConflictWithFixed { max_weight: u32, point: ProgPoint },
    /// Some conflicting bundle is heavier than the caller's cost bound,
    /// or there is any conflict under [`ConflictBound::Any`].
    ConflictHighCost,
}

/// When a probe may stop walking conflicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ConflictBound {
    /// Walk every conflict (the caller weighs them all).
    None,
    /// Stop once a conflicting bundle is heavier than this.
    Cost(u32),
    /// Stop at the first conflict of any kind: the caller only wants to
    /// know whether the register is free (the second-chance pass).
    Any,
}

impl Allocator<'_, '_> {
    /// Tries to put `bundle` in `preg`: walks the bundle's ranges in order
    /// against the register's tree (one cursor walking both in step,
    /// re-seeking after long skips), collecting the distinct conflicting
    /// bundles. Stops early at a fixed reservation, or once a conflict is
    /// heavier than `max_allowable_cost`. Without conflicts, inserts the
    /// bundle's ranges and records the allocation.
    pub(super) fn try_to_allocate(
        &mut self,
        bundle: BundleId,
        preg: PReg,
        bound: ConflictBound,
        sought: Option<Cursor>,
    ) -> Probe {
        self.conflicts.clear();
        let tables = &mut *self.tables;
        let root = tables.pregs.allocations[preg.index()];
        let mut max_weight = 0u32;
        let mut first_point: Option<ProgPoint> = None;
        let mut stop: Option<Probe> = None;
        {
            let conflicts = &mut self.conflicts;
            let marks = &mut self.conflict_mark;
            let probe_stamp = &mut self.probe_stamp;
            // Set once this probe's conflicts outgrow a scan of the list.
            let mut stamp: Option<u32> = None;
            let bundle_count = tables.bundles.len();
            let rows = &tables.bundles.hot;
            // One walk of the register's tree in step with the bundle's
            // sorted ranges (as upstream): entries ending before the
            // current range are skipped in order, with a fresh O(log n)
            // seek after 16 skips; an entry that reaches past the current
            // range stays under the cursor for the next one. Entries are
            // met in the same order as one overlap query per range.
            let trees = &tables.pregs.trees;
            let ranges = &tables.bundles.ranges[bundle];
            // The caller's cursor is already at the first range's start.
            let mut cursor = Cursor::empty();
            if let Some(sought) = sought {
                cursor = sought;
            } else if let Some(first) = ranges.first() {
                trees.seek(&mut cursor, root, first.range.from);
            }
            let reserved = &tables.pregs.reserved;
            'ranges: for entry in ranges.iter() {
                let ours = entry.range;
                // The register's first reserved point inside this range:
                // the walk stops there, after the tree entries that start
                // before it (the order one tree of both would give).
                let fixed = reserved.first_in(preg, ours);
                let mut skips = 0;
                loop {
                    let next = cursor.peek(trees);
                    let reached_fixed = match (next, fixed) {
                        (_, None) => false,
                        (None, Some(_)) => true,
                        // Entries never contain a reserved point, so this
                        // one lies wholly before or after it.
                        (Some((theirs, _)), Some(point)) => theirs.from >= point,
                    };
                    if reached_fixed {
                        stop = Some(Probe::ConflictWithFixed {
                            max_weight,
                            point: fixed.expect("checked"),
                        });
                        break 'ranges;
                    }
                    let Some((theirs, other)) = next else {
                        // No entries left: only reservations can conflict
                        // with the later ranges.
                        continue 'ranges;
                    };
                    if theirs.to <= ours.from {
                        cursor.next(trees);
                        skips += 1;
                        if skips >= 16 {
                            trees.seek(&mut cursor, root, ours.from);
                            skips = 0;
                        }
                        continue;
                    }
                    if theirs.from >= ours.to {
                        break;
                    }
                    if bound == ConflictBound::Any {
                        stop = Some(Probe::ConflictHighCost);
                        break 'ranges;
                    }
                    // A bundle's ranges often sit side by side in the tree:
                    // the conflict just listed is no news. Otherwise a probe
                    // meets few distinct bundles, and a scan of the list
                    // tells a new one without touching a per-bundle mark
                    // (a cache miss in a large function); past
                    // `SCAN_CONFLICTS` the marks take over.
                    let is_new = conflicts.last() != Some(&other)
                        && match stamp {
                            None if conflicts.len() < SCAN_CONFLICTS => !conflicts.contains(&other),
                            _ => {
                                let current = *stamp.get_or_insert_with(|| {
                                    start_marking(marks, probe_stamp, bundle_count, conflicts)
                                });
                                let mark = &mut marks[other.index()];
                                let new = *mark != current;
                                *mark = current;
                                new
                            }
                        };
                    if is_new {
                        conflicts.push(other);
                        max_weight = max_weight.max(rows[other].spill_weight);
                        if matches!(bound, ConflictBound::Cost(cost) if max_weight > cost) {
                            stop = Some(Probe::ConflictHighCost);
                            break 'ranges;
                        }
                    }
                    if first_point.is_none() {
                        first_point = Some(theirs.from.max(ours.from));
                    }
                    if theirs.to > ours.to {
                        // May overlap the next range too.
                        break;
                    }
                    cursor.next(trees);
                }
            }
        }
        if let Some(outcome) = stop {
            return outcome;
        }
        if let Some(first_point) = first_point {
            return Probe::Conflict {
                max_weight,
                first_point,
            };
        }
        self.allocate_to(bundle, preg);
        Probe::Allocated
    }

    /// Puts `bundle` in `preg`, which must be free over all its ranges.
    pub(super) fn allocate_to(&mut self, bundle: BundleId, preg: PReg) {
        let tables = &mut *self.tables;
        let root = &mut tables.pregs.allocations[preg.index()];
        for entry in tables.bundles.ranges[bundle].iter() {
            tables.pregs.trees.insert(root, entry.range, bundle);
            tables.pregs.busy.mark(preg, entry.range);
        }
        tables.bundles.hot[bundle].allocation = Allocation::reg(preg);
    }

    /// By the busy bits alone: the first register of `order` that is free
    /// over all of `bundle`'s ranges, and how many registers were tried to
    /// find it (it included); or that none is; or `Unknown` if a register's
    /// bits are not kept before one is found. A probe of each register in
    /// order would give the same answer; on `NoneFree` or `Unknown` the
    /// caller probes the trees for the conflicts.
    pub(super) fn first_free_register(
        &mut self,
        bundle: BundleId,
        order: RegTraversal,
    ) -> FreeScan {
        let busy = &self.tables.pregs.busy;
        if !busy.is_enabled() {
            return FreeScan::Unknown;
        }
        let spans = &mut self.busy_spans;
        spans.clear();
        busy.spans_of(&self.tables.bundles.ranges[bundle], spans);
        for (tried, preg) in order.enumerate() {
            match busy.is_free_in_spans(preg, spans) {
                Some(true) => return FreeScan::Free(preg, tried + 1),
                Some(false) => {}
                None => return FreeScan::Unknown,
            }
        }
        FreeScan::NoneFree
    }
}
