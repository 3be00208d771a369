//! Redundant-move elimination: drops a move whose destination already
//! holds the value its source holds.
//!
//! Reads: the resolved moves in program order, told to it one by one
//! ([`RedundantMoveEliminator::process_move`]), and the writes that happen
//! between them ([`RedundantMoveEliminator::clear_alloc`] for an
//! instruction's defs, clobbers and the scratch registers;
//! [`RedundantMoveEliminator::clear`] at block starts). Writes: only its
//! own state.
//!
//! The idea is regalloc2's (`src/ion/redundant_moves.rs`); the formulation
//! is ours: *value numbering* of locations. Each tracked location maps to
//! the number of the value it holds. A move gives its destination the
//! source's number (a fresh one if the source is untracked); a move whose
//! destination already has that number changes nothing and is dropped.
//! This also catches copies of copies (`a→b`, `b→c`, then `a→c`), which a
//! "last copy of" map does not.
//!
//! Correctness: every write to a location inside the tracked window is a
//! move (seen here) or an instruction's def or clobber or a scratch use
//! (the caller clears those), and the state is forgotten at block starts,
//! where control flow merges. So two locations with one number hold the
//! same bits.
//!
//! Clearing is O(1) (an epoch bump); a lookup is an array index.

use crate::tables::{Arena, ArenaVec};
use crate::{Allocation, AllocationKind, PReg};

/// Stack slots at or above this index are not tracked (moves touching
/// them are never dropped); keeps the table small on absurd inputs.
const MAX_TRACKED_SLOT: usize = 1 << 20;

#[derive(Clone, Copy, Debug, Default)]
struct Tracked {
    /// The entry is current iff this equals the eliminator's epoch.
    epoch: u32,
    value: u32,
}

/// The eliminator's state for the current block.
#[derive(Debug)]
pub struct RedundantMoveEliminator<'a> {
    /// Starts at 1, so zeroed entries are stale.
    epoch: u32,
    next_value: u32,
    /// Whether anything is tracked in this epoch (lets the caller skip
    /// walking instructions when there is nothing to forget).
    any_tracked: bool,
    /// Registers by `PReg::index()`, then spill slots by number from
    /// `PReg::NUM_INDEX` on (grows on demand).
    locations: ArenaVec<'a, Tracked>,
}

impl<'a> RedundantMoveEliminator<'a> {
    pub fn new_in(arena: &'a Arena) -> Self {
        let mut locations = ArenaVec::with_capacity_in(PReg::NUM_INDEX, arena);
        locations.resize(PReg::NUM_INDEX, Tracked::default());
        RedundantMoveEliminator {
            epoch: 1,
            next_value: 0,
            any_tracked: false,
            locations,
        }
    }

    /// Forgets everything (a block starts: values may come from several
    /// predecessors).
    pub fn clear(&mut self) {
        if !self.any_tracked {
            return;
        }
        self.any_tracked = false;
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            // Wrapped: old entries could look current again.
            self.locations
                .iter_mut()
                .for_each(|t| *t = Tracked::default());
            self.epoch = 1;
        }
    }

    /// Whether nothing is tracked.
    pub fn is_empty(&self) -> bool {
        !self.any_tracked
    }

    /// The index of `alloc`'s entry in `locations` (made room for), or
    /// `None` if it is not tracked.
    #[inline]
    fn location(&mut self, alloc: Allocation) -> Option<usize> {
        match alloc.kind() {
            AllocationKind::Reg => Some(alloc.index()).filter(|&i| i < PReg::NUM_INDEX),
            AllocationKind::Stack => {
                let index = alloc.index();
                if index >= MAX_TRACKED_SLOT {
                    return None;
                }
                let at = PReg::NUM_INDEX + index;
                if at >= self.locations.len() {
                    self.locations.resize(at + 1, Tracked::default());
                }
                Some(at)
            }
            AllocationKind::None => None,
        }
    }

    /// `alloc` was written by something other than a move.
    #[inline]
    pub fn clear_alloc(&mut self, alloc: Allocation) {
        if let Some(at) = self.location(alloc) {
            self.locations[at].epoch = 0;
        }
    }

    /// Records the move `from → to`; returns true if it is redundant
    /// (`to` already holds `from`'s value) and should be dropped.
    #[inline]
    pub fn process_move(&mut self, from: Allocation, to: Allocation) -> bool {
        if from == to {
            return true;
        }
        let epoch = self.epoch;
        let from_at = self.location(from);
        let value = match from_at.map(|at| self.locations[at]) {
            Some(t) if t.epoch == epoch => t.value,
            _ => {
                // Untracked or stale: a fresh value, recorded if tracked.
                let v = self.next_value;
                self.next_value = self.next_value.wrapping_add(1);
                if let Some(at) = from_at {
                    self.locations[at] = Tracked { epoch, value: v };
                    self.any_tracked = true;
                }
                v
            }
        };
        let Some(to_at) = self.location(to) else {
            return false;
        };
        let t = &mut self.locations[to_at];
        if t.epoch == epoch && t.value == value {
            return true;
        }
        *t = Tracked { epoch, value };
        self.any_tracked = true;
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{RegClass, SpillSlot};

    fn r(i: usize) -> Allocation {
        Allocation::reg(PReg::new(i, RegClass::Int))
    }
    fn s(i: usize) -> Allocation {
        Allocation::stack(SpillSlot::new(i))
    }

    #[test]
    fn repeated_move_is_dropped() {
        let arena = Arena::new();
        let mut rme = RedundantMoveEliminator::new_in(&arena);
        assert!(rme.is_empty());
        assert!(!rme.process_move(r(0), s(3)));
        assert!(rme.process_move(r(0), s(3)), "spill again");
        assert!(rme.process_move(s(3), r(0)), "reload of what r0 holds");
        assert!(!rme.is_empty());
    }

    #[test]
    fn copies_of_copies_are_dropped() {
        let arena = Arena::new();
        let mut rme = RedundantMoveEliminator::new_in(&arena);
        assert!(!rme.process_move(r(0), r(1)));
        assert!(!rme.process_move(r(1), r(2)));
        assert!(rme.process_move(r(0), r(2)));
        assert!(rme.process_move(r(2), r(1)));
    }

    #[test]
    fn writes_invalidate() {
        let arena = Arena::new();
        let mut rme = RedundantMoveEliminator::new_in(&arena);
        assert!(!rme.process_move(r(0), r(1)));
        // An instruction defines r1: the copy is gone.
        rme.clear_alloc(r(1));
        assert!(!rme.process_move(r(0), r(1)));
        // An instruction defines r0: r1 keeps the old value, r0 a new one.
        rme.clear_alloc(r(0));
        assert!(!rme.process_move(r(0), r(1)));
        // Overwriting the destination by a move of another value.
        assert!(!rme.process_move(r(5), r(1)));
        assert!(!rme.process_move(r(0), r(1)));
    }

    #[test]
    fn clear_forgets_everything() {
        let arena = Arena::new();
        let mut rme = RedundantMoveEliminator::new_in(&arena);
        assert!(!rme.process_move(r(0), s(0)));
        rme.clear();
        assert!(rme.is_empty());
        assert!(!rme.process_move(r(0), s(0)));
        // Many epochs, including past a wrap of the counter.
        rme.epoch = u32::MAX - 1;
        for _ in 0..4 {
            assert!(!rme.process_move(r(0), s(0)));
            rme.clear();
        }
        assert!(!rme.process_move(r(0), s(0)));
    }

    #[test]
    fn untracked_slots_are_never_dropped() {
        let arena = Arena::new();
        let mut rme = RedundantMoveEliminator::new_in(&arena);
        let far = s(MAX_TRACKED_SLOT + 1);
        assert!(!rme.process_move(r(0), far));
        assert!(!rme.process_move(r(0), far));
    }
}
