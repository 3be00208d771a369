//! Splitting: cutting a bundle in two at a program point, trimming the
//! use-free ends of the pieces into the spill set's spill bundle, and the
//! fallback that cuts a bundle into one minimal bundle per use.
//!
//! Reads and writes `bundles`, `ranges`, `spillsets`
//! (`splits`, `spill_bundle`); queues the pieces.
//!
//! From regalloc2 0.15.2 `split_and_requeue_bundle`,
//! `split_into_minimal_bundles` and `get_or_create_spill_bundle`
//! (`src/ion/process.rs`): same point adjustments, same trimming, same
//! split budget. Like upstream, vreg range lists are not kept up to date
//! here: the loop only writes `ranges` and bundle lists, and
//! `relist_vreg_ranges` rebuilds the vreg lists once at its end.
//!
//! Index validity: splitting appends ranges and bundles and never removes
//! any, so every `LiveRangeId`/`BundleId` stays valid. A range replaced by
//! minimal pieces stays in the table, with no uses, no bundle
//! (`BundleId::invalid()`), and in no bundle list (nor, once rebuilt, in
//! its vreg's list).

use super::props::recompute_range_properties;
use super::{Allocator, MAX_SPLITS_PER_SPILLSET};
use crate::ion::data::{
    bundle_props, range_flags, BundleId, CodeRange, LiveRangeId, LiveRangeListEntry, Use, VRegId,
};
use crate::ion::merge::{minimal_range_for_use, recompute_bundle_properties};
use crate::tables::ArenaVec;
use crate::{InstPosition, OperandConstraint, OperandKind, PReg, ProgPoint};

/// Room a new spill bundle's range list starts with: it collects the
/// use-free pieces split off its spill set's bundles, usually a few.
const SPILL_BUNDLE_ROOM: usize = 4;

impl<'a> Allocator<'_, 'a> {
    /// Sets a live range's extent (the bundle list's copy is the caller's
    /// to update; vreg lists are rebuilt after the loop).
    fn set_range(&mut self, range: LiveRangeId, new: CodeRange) {
        self.tables.ranges.range[range] = new;
    }

    /// Makes a use-free range of `vreg` over `range` in the spill bundle
    /// of `bundle`'s spill set.
    fn add_empty_range_to_spill_bundle(
        &mut self,
        bundle: BundleId,
        vreg: VRegId,
        range: CodeRange,
    ) {
        let spill = self.spill_bundle_of(bundle, true).unwrap_or(bundle);
        let t = &mut *self.tables;
        let lr = t.ranges.push(self.arena, range, vreg);
        t.ranges.bundle[lr] = spill;
        let entry = LiveRangeListEntry { range, index: lr };
        t.bundles.ranges[spill].push(entry);
    }

    /// The spill bundle of `bundle`'s spill set; created (empty, and put on
    /// the second-chance list) if absent and `create` is set.
    pub(super) fn spill_bundle_of(&mut self, bundle: BundleId, create: bool) -> Option<BundleId> {
        let spillset = self.tables.bundles.hot[bundle].spillset;
        let existing = self.tables.spillsets.spill_bundle[spillset];
        if existing.is_valid() {
            return Some(existing);
        }
        if !create {
            return None;
        }
        let spill = self
            .tables
            .bundles
            .push_with_room(SPILL_BUNDLE_ROOM, self.arena);
        self.tables.bundles.hot[spill].spillset = spillset;
        self.tables.spillsets.spill_bundle[spillset] = spill;
        self.spilled.push(spill);
        Some(spill)
    }

    /// Moves all of `bundle`'s ranges into `spill` (order is restored by
    /// the second-chance pass's sort).
    pub(super) fn move_ranges_to_spill_bundle(&mut self, bundle: BundleId, spill: BundleId) {
        let t = &mut *self.tables;
        let list = core::mem::replace(&mut t.bundles.ranges[bundle], ArenaVec::new_in(self.arena));
        for entry in list.iter() {
            t.ranges.bundle[entry.index] = spill;
        }
        t.bundles.ranges[spill].extend_from_slice(&list);
    }

    /// Splits `bundle` at (about) `split_at` into two bundles of the same
    /// spill set and queues both with `hint`. With `trim`, the use-free
    /// region at the end of the first piece and at the start of the second
    /// goes to the spill bundle. Falls back to minimal bundles when the
    /// spill set's split budget is spent or the bundle spans one
    /// instruction.
    pub(super) fn split_and_requeue_bundle(
        &mut self,
        bundle: BundleId,
        mut split_at: ProgPoint,
        hint: PReg,
        mut trim: bool,
    ) {
        self.stats.splits += 1;
        let spillset = self.tables.bundles.hot[bundle].spillset;
        if self.tables.spillsets.splits[spillset] >= MAX_SPLITS_PER_SPILLSET {
            self.split_into_minimal_bundles(bundle, hint);
            return;
        }
        self.tables.spillsets.splits[spillset] += 1;

        let t = &*self.tables;
        let list = &t.bundles.ranges[bundle];
        let bundle_start = list[0].range.from;
        let bundle_end = list[list.len() - 1].range.to;
        if bundle_end.prev().inst() == bundle_start.inst() {
            // Nothing to cut between instructions.
            self.split_into_minimal_bundles(bundle, hint);
            return;
        }

        if split_at <= bundle_start {
            // Peel off the first use: cut just after its instruction if it
            // is the first instruction, else just before it.
            let first_use = list
                .iter()
                .find_map(|e| t.ranges.uses[e.index].first().map(|u| u.pos));
            split_at = match first_use {
                Some(pos) if pos.inst() == bundle_start.inst() => {
                    ProgPoint::before(pos.inst().next())
                }
                Some(pos) => ProgPoint::before(pos.inst()),
                None => ProgPoint::before(bundle_start.inst().next()),
            };
        } else {
            // Never between an instruction's uses and its defs: no move
            // could go there.
            if split_at.pos() == InstPosition::After {
                split_at = split_at.next();
            }
            if split_at >= bundle_end {
                split_at = split_at.prev().prev();
            }
        }
        if !(bundle_start < split_at && split_at < bundle_end) {
            // Cannot happen for points taken from uses and conflicts
            // inside the bundle; the minimal split is always valid.
            self.split_into_minimal_bundles(bundle, hint);
            return;
        }

        // Which list entries stay, which move; and, in a bundle with a
        // fixed-register use, move the cut to just before the next fixed
        // use so the fixed use starts its own piece (no trimming then).
        let fixed = t.bundles.hot[bundle].props & bundle_props::FIXED != 0;
        let mut last_old = 0;
        let mut first_new = 0;
        for (i, entry) in list.iter().enumerate() {
            if split_at > entry.range.from {
                last_old = i;
                first_new = i;
            }
            if split_at < entry.range.to {
                first_new = i;
                if fixed {
                    let next_fixed = t.ranges.uses[entry.index].iter().find(|u| {
                        u.pos >= split_at
                            && matches!(u.operand.constraint(), OperandConstraint::FixedReg(_))
                    });
                    // (A use at the range's very end cannot start a
                    // non-empty piece; leave the cut where it is then.)
                    let next_fixed =
                        next_fixed.filter(|u| ProgPoint::before(u.pos.inst()) < entry.range.to);
                    if let Some(u) = next_fixed {
                        split_at = ProgPoint::before(u.pos.inst());
                        if split_at > entry.range.from {
                            last_old = i;
                        }
                        trim = false;
                    }
                }
                break;
            }
        }

        let arena = self.arena;
        let t = &mut *self.tables;
        let mut new_list =
            ArenaVec::with_capacity_in(t.bundles.ranges[bundle].len() - first_new, arena);
        new_list.extend_from_slice(&t.bundles.ranges[bundle][first_new..]);
        t.bundles.ranges[bundle].truncate(last_old + 1);

        if split_at > new_list[0].range.from {
            // The cut falls inside a range: end it at the cut and continue
            // it in a new range holding the uses from the cut on.
            let orig = new_list[0].index;
            let orig_range = t.ranges.range[orig];
            let vreg = t.ranges.vreg[orig];
            let tail_range = CodeRange::new(split_at, orig_range.to);
            let tail = t.ranges.push(arena, tail_range, vreg);
            let at = t.ranges.uses[orig].partition_point(|u| u.pos < split_at);
            t.ranges.uses.split_off(orig, at, tail);
            recompute_range_properties(&mut t.ranges, orig);
            recompute_range_properties(&mut t.ranges, tail);
            new_list[0] = LiveRangeListEntry {
                range: tail_range,
                index: tail,
            };
            let head_range = CodeRange::new(orig_range.from, split_at);
            t.bundles.ranges[bundle][last_old].range = head_range;
            self.set_range(orig, head_range);
        }

        let t = &mut *self.tables;
        let new_bundle = t.bundles.push(arena);
        t.bundles.hot[new_bundle].spillset = spillset;
        for entry in new_list.iter() {
            t.ranges.bundle[entry.index] = new_bundle;
        }
        t.bundles.ranges[new_bundle] = new_list;

        if trim {
            self.trim_end_into_spill_bundle(bundle);
            self.trim_start_into_spill_bundle(new_bundle);
        }

        for piece in [bundle, new_bundle] {
            if !self.tables.bundles.ranges[piece].is_empty() {
                let t = &mut *self.tables;
                recompute_bundle_properties(piece, &mut t.bundles, &t.ranges, &t.pregs);
                self.enqueue(piece, hint);
            }
        }
    }

    /// Moves the use-free tail of `bundle` (whole trailing ranges without
    /// uses, then the part of the last range after its last use's
    /// instruction) into the spill bundle.
    fn trim_end_into_spill_bundle(&mut self, bundle: BundleId) {
        while let Some(&entry) = self.tables.bundles.ranges[bundle].last() {
            let last_use = self.tables.ranges.uses[entry.index].last().map(|u| u.pos);
            let Some(last_use) = last_use else {
                let spill = self.spill_bundle_of(bundle, true).unwrap_or(bundle);
                let t = &mut *self.tables;
                t.bundles.ranges[bundle].pop();
                t.bundles.ranges[spill].push(entry);
                t.ranges.bundle[entry.index] = spill;
                continue;
            };
            let cut = ProgPoint::before(last_use.inst().next());
            if cut < entry.range.to {
                let kept = CodeRange::new(entry.range.from, cut);
                let list = &mut self.tables.bundles.ranges[bundle];
                let last = list.len() - 1;
                list[last].range = kept;
                self.set_range(entry.index, kept);
                let vreg = self.tables.ranges.vreg[entry.index];
                self.add_empty_range_to_spill_bundle(
                    bundle,
                    vreg,
                    CodeRange::new(cut, entry.range.to),
                );
            }
            break;
        }
    }

    /// Moves the use-free head of `bundle` into the spill bundle, unless
    /// its first range starts at the value's def (then there is no earlier
    /// value to keep).
    fn trim_start_into_spill_bundle(&mut self, bundle: BundleId) {
        while let Some(&entry) = self.tables.bundles.ranges[bundle].first() {
            if self.tables.ranges.flags[entry.index] & range_flags::STARTS_AT_DEF != 0 {
                break;
            }
            let first_use = self.tables.ranges.uses[entry.index].first().map(|u| u.pos);
            let Some(first_use) = first_use else {
                let spill = self.spill_bundle_of(bundle, true).unwrap_or(bundle);
                let t = &mut *self.tables;
                t.bundles.ranges[bundle].remove(0);
                t.bundles.ranges[spill].push(entry);
                t.ranges.bundle[entry.index] = spill;
                continue;
            };
            let cut = ProgPoint::before(first_use.inst());
            if cut > entry.range.from && cut < entry.range.to {
                let kept = CodeRange::new(cut, entry.range.to);
                self.tables.bundles.ranges[bundle][0].range = kept;
                self.set_range(entry.index, kept);
                let vreg = self.tables.ranges.vreg[entry.index];
                self.add_empty_range_to_spill_bundle(
                    bundle,
                    vreg,
                    CodeRange::new(entry.range.from, cut),
                );
            }
            break;
        }
    }

    /// Replaces `bundle` by one minimal bundle per use (each over
    /// [`minimal_range_for_use`]), and puts each original range, minus
    /// the part before a def, in the spill bundle. `Any` uses go with the
    /// spill bundle's range: the second-chance pass satisfies them for
    /// free. Works for every bundle, whatever its conflicts: the pieces
    /// are minimal and never split again.
    ///
    /// A vreg's list then holds ranges that overlap (a use's minimal range
    /// inside the spill range): the value is in two places at once there,
    /// and `moves` copies between them.
    pub(super) fn split_into_minimal_bundles(&mut self, bundle: BundleId, hint: PReg) {
        let arena = self.arena;
        let spillset = self.tables.bundles.hot[bundle].spillset;
        let spill = self.spill_bundle_of(bundle, true).unwrap_or(bundle);
        let t = &mut *self.tables;
        let old_list = core::mem::replace(&mut t.bundles.ranges[bundle], ArenaVec::new_in(arena));
        // At most one minimal bundle, or one spill-bundle use, per use.
        let uses: usize = old_list
            .iter()
            .map(|entry| t.ranges.uses[entry.index].len())
            .sum();
        let mut new_bundles: ArenaVec<'_, BundleId> = ArenaVec::with_capacity_in(uses, arena);
        let mut spill_uses: ArenaVec<'_, Use> = ArenaVec::with_capacity_in(uses, arena);

        // One minimal bundle holding `u` over `range`.
        let mut add_minimal =
            |t: &mut crate::ion::data::IonTables<'a>, vreg: VRegId, u: Use, range: CodeRange| {
                let lr = t.ranges.push(arena, range, vreg);
                t.ranges.uses.push(lr, u);
                recompute_range_properties(&mut t.ranges, lr);
                let nb = t.bundles.push_with_room(1, arena);
                t.ranges.bundle[lr] = nb;
                t.bundles.hot[nb].spillset = spillset;
                t.bundles.ranges[nb].push(LiveRangeListEntry { range, index: lr });
                new_bundles.push(nb);
            };

        for entry in old_list.iter() {
            let lr = entry.index;
            let vreg = t.ranges.vreg[lr];
            t.ranges.bundle[lr] = BundleId::invalid();
            let mut spill_range = entry.range;
            let mut spill_starts_at_def = false;
            // The span's uses stay where they are while pieces get theirs
            // at the pool's end, so they are read by index.
            let uses = t.ranges.uses.take(lr);
            t.ranges.uses_spill_weight[lr] = 0.0;
            for k in 0..uses.len as usize {
                let u = t.ranges.uses.of_span(uses)[k];
                let is_def = u.operand.kind() == OperandKind::Def;
                if u.operand.constraint() == OperandConstraint::Any {
                    spill_uses.push(u);
                    spill_starts_at_def |= is_def;
                    continue;
                }
                if is_def {
                    // The value exists only after its def.
                    spill_range.from = ProgPoint::before(u.pos.inst().next());
                }
                add_minimal(t, vreg, u, minimal_range_for_use(&u));
            }
            if spill_range.is_empty() {
                // Nowhere to keep `Any` uses on the stack side: give them
                // minimal bundles too (their requirement is `Any`, so they
                // go to the second-chance pass).
                for &u in spill_uses.iter() {
                    add_minimal(t, vreg, u, minimal_range_for_use(&u));
                }
                spill_uses.clear();
                continue;
            }
            let piece = t.ranges.push(arena, spill_range, vreg);
            t.ranges.bundle[piece] = spill;
            t.ranges.uses.extend_from_slice(piece, &spill_uses);
            spill_uses.clear();
            recompute_range_properties(&mut t.ranges, piece);
            if spill_starts_at_def {
                t.ranges.flags[piece] |= range_flags::STARTS_AT_DEF;
            }
            t.bundles.ranges[spill].push(LiveRangeListEntry {
                range: spill_range,
                index: piece,
            });
        }

        for &nb in new_bundles.iter() {
            let t = &mut *self.tables;
            recompute_bundle_properties(nb, &mut t.bundles, &t.ranges, &t.pregs);
            self.enqueue(nb, hint);
        }
    }
}
