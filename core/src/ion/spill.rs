//! Phase `spill`: gives every spill set that needs stack space a spill
//! slot, sharing slots between sets whose lifetimes do not overlap, then
//! lays the slots out in the function's spill area.
//!
//! Reads: `func.spillslot_size`, `func.multi_spillslot_named_by_last_slot`;
//! `spillsets.{required, class, range}`.
//! Writes: `spillsets.slot`; the whole `spillslots` table (cleared on
//! entry, so the phase can be rerun).
//!
//! Algorithm (after regalloc2's Ion `allocate_spillslots`, itself from
//! SpiderMonkey's backtracking allocator): slots are grouped by size
//! (`spillslot_size` of the class, in slot units); each slot keeps a range
//! tree of the spill sets it holds, keyed by the set's `range` (the hull of
//! its bundles' ranges). A set takes the first slot of its size whose tree
//! has no entry overlapping its range, trying at most [`MAX_PROBES`] slots
//! round-robin from where the last search of that size ended; otherwise it
//! gets a new slot. The bound keeps the phase O(n log n) for n spill sets
//! (each probe is one O(log n) tree query). Grouping by size rather than
//! by class lets, e.g., Int and Float values of the same width share slots.
//!
//! Layout: slots are placed largest size first, each group in creation
//! order, each slot at an offset aligned to its size. With power-of-two
//! sizes this leaves no padding.

use smallvec::SmallVec;

use crate::ion::data::{CodeRange, SpillSets, SpillSlotId, SpillSlots};
use crate::tables::{Arena, ArenaVec, SCRATCH_LIST_START};
use crate::{Allocation, Function, RegAllocError, RegClass, SpillSlot};

/// How many existing slots a spill set tries before getting a new one.
pub const MAX_PROBES: usize = 10;

/// The slots of one size, in creation order.
struct SizeGroup<'a> {
    /// Slot units each slot of the group takes (at least 1).
    size: u32,
    slots: ArenaVec<'a, SpillSlotId>,
    /// Index into `slots` where the next search starts: the slot the last
    /// search ended on. Always in bounds when `slots` is non-empty.
    probe_start: usize,
}

/// Assigns a slot to every spill set with `required == true` and the final
/// stack position of every slot; returns the number of slot units used
/// (the function's `num_spillslots`).
///
/// Sets never `required` keep `SpillSlotId::invalid()`. When the slots do
/// not fit the `SpillSlot` index range (at most `SpillSlot::MAX + 1`
/// units; an absurd `spillslot_size` gets there with one slot), the
/// function cannot be given a frame: `TooManyLiveRegs` (regalloc2 returns
/// `Ok` with a slot count its own checker then rejects).
pub fn allocate_spillslots<'a, F: Function>(
    func: &F,
    arena: &'a Arena,
    spillsets: &mut SpillSets<'a>,
    spillslots: &mut SpillSlots<'a>,
) -> Result<usize, RegAllocError> {
    spillslots.ranges.clear();
    spillslots.size.clear();
    spillslots.alloc.clear();
    spillslots.trees.clear();

    // One group per distinct size; `group_of_class[class]` names it.
    let mut groups: SmallVec<[SizeGroup<'a>; 3]> = SmallVec::new();
    let mut group_of_class = [0usize; 3];
    // Only classes that get a slot are asked their size, as upstream does:
    // a backend may panic for a class it never spills (Cranelift's x64
    // answers `Vector` with `unreachable!()`).
    let mut spilled = [false; 3];
    let mut required = 0;
    for set in spillsets.slot.keys() {
        if spillsets.required[set] {
            spilled[spillsets.class[set] as usize] = true;
            required += 1;
        }
    }
    // At most one slot per spill set: room for that up front, as the
    // columns would otherwise grow one, two, four... rows at a time.
    spillslots.ranges.reserve(required);
    spillslots.size.reserve(required);
    spillslots.alloc.reserve(required);
    for class in RegClass::ALL {
        if !spilled[class as usize] {
            continue;
        }
        // A size of 0 would make slots alias; treat it as 1. A size past
        // `u32::MAX` stays past `SpillSlot::MAX`, so layout refuses it.
        let size = func.spillslot_size(class).clamp(1, u32::MAX as usize) as u32;
        group_of_class[class as usize] = match groups.iter().position(|g| g.size == size) {
            Some(group) => group,
            None => {
                groups.push(SizeGroup {
                    size,
                    slots: ArenaVec::with_capacity_in(required.min(SCRATCH_LIST_START), arena),
                    probe_start: 0,
                });
                groups.len() - 1
            }
        };
    }

    for set in spillsets.slot.keys() {
        if !spillsets.required[set] {
            spillsets.slot[set] = SpillSlotId::invalid();
            continue;
        }
        let range = tree_key(spillsets.range[set]);
        let group = &mut groups[group_of_class[spillsets.class[set] as usize]];
        let slot = match find_free_slot(group, spillslots, range) {
            Some(slot) => slot,
            None => {
                let slot = spillslots.ranges.push(Default::default());
                spillslots.size.push(group.size);
                spillslots.alloc.push(Allocation::none());
                group.slots.push(slot);
                group.probe_start = group.slots.len() - 1;
                slot
            }
        };
        spillslots
            .trees
            .insert(&mut spillslots.ranges[slot], range, set);
        spillsets.slot[set] = slot;
    }

    lay_out_slots(func, &mut groups, spillslots)
}

/// The key a spill set's range takes in a slot's tree. Range trees need
/// non-empty keys; a set's hull is non-empty whenever its bundles are, and
/// an empty one is widened to one point rather than trusted.
fn tree_key(range: CodeRange) -> CodeRange {
    if range.is_empty() {
        CodeRange::new(range.from, range.from.next())
    } else {
        range
    }
}

/// Tries up to [`MAX_PROBES`] slots of `group`, round-robin from its
/// `probe_start`; returns the first whose tree has nothing overlapping
/// `range`, and leaves `probe_start` on the last slot tried.
fn find_free_slot(
    group: &mut SizeGroup<'_>,
    spillslots: &SpillSlots<'_>,
    range: CodeRange,
) -> Option<SpillSlotId> {
    let count = group.slots.len();
    let mut index = group.probe_start;
    // Never look at one slot twice in a search.
    for attempt in 0..count.min(MAX_PROBES) {
        if attempt > 0 {
            index = (index + 1) % count;
        }
        let slot = group.slots[index];
        let tree = spillslots.ranges[slot];
        if spillslots.trees.first_overlap(tree, range).is_none() {
            group.probe_start = index;
            return Some(slot);
        }
    }
    group.probe_start = index;
    None
}

/// Gives every slot its `Allocation::stack` position: larger sizes first,
/// each slot aligned to its size; returns the total size, or
/// `TooManyLiveRegs` past `SpillSlot::MAX + 1` units.
fn lay_out_slots<F: Function>(
    func: &F,
    groups: &mut [SizeGroup<'_>],
    spillslots: &mut SpillSlots<'_>,
) -> Result<usize, RegAllocError> {
    let named_by_last = func.multi_spillslot_named_by_last_slot();
    // Sizes are distinct across groups, so this order is total.
    groups.sort_by_key(|group| core::cmp::Reverse(group.size));
    let mut offset = 0usize;
    for group in groups.iter() {
        let size = group.size as usize;
        for &slot in group.slots.iter() {
            offset = offset.next_multiple_of(size);
            // Every unit of the slot must have an index (sizes are at most
            // `u32::MAX`, offsets at most `SpillSlot::MAX + 1`: no overflow).
            if offset + size > SpillSlot::MAX + 1 {
                return Err(RegAllocError::TooManyLiveRegs);
            }
            let name = if named_by_last {
                offset + size - 1
            } else {
                offset
            };
            spillslots.alloc[slot] = Allocation::stack(SpillSlot::new(name));
            offset += size;
        }
    }
    Ok(offset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ion::data::SpillSetId;
    use crate::owned::FunctionData;
    use crate::{Block, ProgPoint};

    fn func(sizes: [usize; 3], named_by_last: bool) -> FunctionData {
        FunctionData {
            entry: Block::new(0),
            insts: Vec::new(),
            blocks: Vec::new(),
            num_vregs: 0,
            debug_value_labels: Vec::new(),
            spillslot_sizes: sizes,
            multi_spillslot_named_by_last_slot: named_by_last,
            allow_multiple_vreg_defs: false,
        }
    }

    fn cr(from: u32, to: u32) -> CodeRange {
        CodeRange::new(ProgPoint::from_index(from), ProgPoint::from_index(to))
    }

    /// Pushes a spill set; `required` as given.
    fn set(
        sets: &mut SpillSets<'_>,
        class: RegClass,
        range: CodeRange,
        required: bool,
    ) -> SpillSetId {
        let id = sets.push(class, range);
        sets.required[id] = required;
        id
    }

    fn stack_index(slots: &SpillSlots<'_>, sets: &SpillSets<'_>, set: SpillSetId) -> usize {
        slots.alloc[sets.slot[set]].as_stack().unwrap().index()
    }

    /// Checks what the phase promises, for any input: every required set
    /// has a slot of its class's size holding it, sets sharing a slot do
    /// not overlap, and slots are aligned, disjoint and within the total.
    fn check(func: &FunctionData, sets: &SpillSets<'_>, slots: &SpillSlots<'_>, total: usize) {
        for set in sets.slot.keys() {
            let slot = sets.slot[set];
            if !sets.required[set] {
                assert!(slot.is_invalid(), "{set:?} not required but has {slot:?}");
                continue;
            }
            let size = func.spillslot_size(sets.class[set]) as u32;
            assert_eq!(
                slots.size[slot], size,
                "{set:?} in a slot of the wrong size"
            );
            let (_, holder) = slots
                .trees
                .first_overlap(slots.ranges[slot], sets.range[set])
                .expect("the set is in its slot's tree");
            assert_eq!(holder, set, "{set:?} overlaps {holder:?} in {slot:?}");
        }
        let mut used = vec![false; total];
        for slot in slots.size.keys() {
            slots.trees.check_tree(slots.ranges[slot]).unwrap();
            let size = slots.size[slot] as usize;
            let mut start = slots.alloc[slot].as_stack().unwrap().index();
            if func.multi_spillslot_named_by_last_slot() {
                start = start + 1 - size;
            }
            assert_eq!(start % size, 0, "{slot:?} misaligned");
            for unit in &mut used[start..start + size] {
                assert!(!*unit, "{slot:?} overlaps another slot");
                *unit = true;
            }
        }
    }

    #[test]
    fn disjoint_sets_share_a_slot_and_overlapping_ones_do_not() {
        let f = func([1, 1, 2], false);
        let arena = Arena::new();
        let mut sets = SpillSets::new_in(&arena, 8);
        let a = set(&mut sets, RegClass::Int, cr(0, 10), true);
        let b = set(&mut sets, RegClass::Int, cr(10, 20), true);
        let c = set(&mut sets, RegClass::Int, cr(5, 15), true);
        let not_spilled = set(&mut sets, RegClass::Int, cr(30, 40), false);
        // Float has the same size as Int: it may share Int slots.
        let d = set(&mut sets, RegClass::Float, cr(20, 30), true);
        let mut slots = SpillSlots::new_in(&arena);
        let total = allocate_spillslots(&f, &arena, &mut sets, &mut slots).unwrap();

        assert_eq!(sets.slot[a], sets.slot[b]);
        assert_ne!(sets.slot[a], sets.slot[c]);
        assert!(sets.slot[not_spilled].is_invalid());
        // The search starts at the last slot made (c's), which fits.
        assert_eq!(sets.slot[d], sets.slot[c]);
        assert_eq!(slots.size.len(), 2);
        assert_eq!(total, 2);
        check(&f, &sets, &slots, total);
    }

    #[test]
    fn sizes_get_separate_aligned_slots() {
        let f = func([1, 2, 4], false);
        let arena = Arena::new();
        let mut sets = SpillSets::new_in(&arena, 8);
        let int = set(&mut sets, RegClass::Int, cr(0, 10), true);
        let float = set(&mut sets, RegClass::Float, cr(20, 30), true);
        let vector = set(&mut sets, RegClass::Vector, cr(40, 50), true);
        let vector2 = set(&mut sets, RegClass::Vector, cr(45, 60), true);
        let mut slots = SpillSlots::new_in(&arena);
        let total = allocate_spillslots(&f, &arena, &mut sets, &mut slots).unwrap();

        // Ranges are disjoint across classes, but sizes differ: no sharing.
        assert_ne!(sets.slot[int], sets.slot[float]);
        assert_ne!(sets.slot[float], sets.slot[vector]);
        assert_ne!(sets.slot[vector], sets.slot[vector2]);
        // Largest first: vectors at 0 and 4, float at 8, int at 10.
        assert_eq!(stack_index(&slots, &sets, vector), 0);
        assert_eq!(stack_index(&slots, &sets, vector2), 4);
        assert_eq!(stack_index(&slots, &sets, float), 8);
        assert_eq!(stack_index(&slots, &sets, int), 10);
        assert_eq!(total, 11);
        check(&f, &sets, &slots, total);
    }

    #[test]
    fn multi_slots_can_be_named_by_their_last_slot() {
        let f = func([1, 2, 4], true);
        let arena = Arena::new();
        let mut sets = SpillSets::new_in(&arena, 8);
        let int = set(&mut sets, RegClass::Int, cr(0, 10), true);
        let float = set(&mut sets, RegClass::Float, cr(0, 10), true);
        let vector = set(&mut sets, RegClass::Vector, cr(0, 10), true);
        let mut slots = SpillSlots::new_in(&arena);
        let total = allocate_spillslots(&f, &arena, &mut sets, &mut slots).unwrap();

        assert_eq!(stack_index(&slots, &sets, vector), 3);
        assert_eq!(stack_index(&slots, &sets, float), 5);
        assert_eq!(stack_index(&slots, &sets, int), 6);
        assert_eq!(total, 7);
        check(&f, &sets, &slots, total);
    }

    /// Twelve mutually overlapping Int sets, one per slot: set k spans
    /// `[0, 50)` if k is in `short`, else `[0, 100)`. The next search starts
    /// at slot 11, the last one made.
    fn twelve_slots(sets: &mut SpillSets<'_>, short: &[u32]) {
        for k in 0..12 {
            let to = if short.contains(&k) { 50 } else { 100 };
            set(sets, RegClass::Int, cr(0, to), true);
        }
    }

    #[test]
    fn search_wraps_round_to_the_first_slot() {
        let f = func([1, 1, 1], false);
        let arena = Arena::new();
        let mut sets = SpillSets::new_in(&arena, 16);
        twelve_slots(&mut sets, &[0]);
        let late = set(&mut sets, RegClass::Int, cr(60, 70), true);
        let mut slots = SpillSlots::new_in(&arena);
        let total = allocate_spillslots(&f, &arena, &mut sets, &mut slots).unwrap();
        // Slot 11 conflicts; the second probe wraps to slot 0, which fits.
        assert_eq!(sets.slot[late], SpillSlotId::new(0));
        assert_eq!(total, 12);
        check(&f, &sets, &slots, total);
    }

    #[test]
    fn search_gives_up_after_max_probes() {
        let f = func([1, 1, 1], false);
        let arena = Arena::new();
        let mut sets = SpillSets::new_in(&arena, 16);
        // Slots 9 and 10 are free after 50, but a search from slot 11
        // tries 11, 0, 1, ..., 8 (ten slots) and stops.
        twelve_slots(&mut sets, &[9, 10]);
        let late = set(&mut sets, RegClass::Int, cr(60, 70), true);
        // The next search starts at the new slot, which fits.
        let next = set(&mut sets, RegClass::Int, cr(50, 55), true);
        let mut slots = SpillSlots::new_in(&arena);
        let total = allocate_spillslots(&f, &arena, &mut sets, &mut slots).unwrap();
        assert_eq!(sets.slot[late], SpillSlotId::new(12));
        assert_eq!(sets.slot[next], SpillSlotId::new(12));
        assert_eq!(total, 13);
        check(&f, &sets, &slots, total);
    }

    #[test]
    fn random_sets_satisfy_the_slot_invariants_and_rerun_identically() {
        /// Deterministic xorshift64 generator.
        struct Rng(u64);
        impl Rng {
            fn below(&mut self, n: u32) -> u32 {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 7;
                self.0 ^= self.0 << 17;
                (self.0 % n as u64) as u32
            }
        }
        for named_by_last in [false, true] {
            let f = func([1, 2, 4], named_by_last);
            let arena = Arena::new();
            let mut rng = Rng(0x2545_f491_4f6c_dd1d);
            let mut sets = SpillSets::new_in(&arena, 2000);
            for _ in 0..2000 {
                let class = RegClass::ALL[rng.below(3) as usize];
                let from = rng.below(5000);
                let range = cr(from, from + 1 + rng.below(200));
                set(&mut sets, class, range, rng.below(4) != 0);
            }
            let mut slots = SpillSlots::new_in(&arena);
            let total = allocate_spillslots(&f, &arena, &mut sets, &mut slots).unwrap();
            check(&f, &sets, &slots, total);
            // Far fewer slots than spilled sets: sharing happened.
            let required = sets.required.iter().filter(|&&r| r).count();
            assert!(
                slots.size.len() * 4 < required,
                "{} slots",
                slots.size.len()
            );

            let first: Vec<SpillSlotId> = sets.slot.iter().copied().collect();
            let allocs: Vec<Allocation> = slots.alloc.iter().copied().collect();
            let again = allocate_spillslots(&f, &arena, &mut sets, &mut slots).unwrap();
            assert_eq!(again, total);
            assert!(sets.slot.iter().copied().eq(first));
            assert!(slots.alloc.iter().copied().eq(allocs));
        }
    }
}
