//! The parallel-move resolver: turns a set of moves that happen at once
//! (every source is read before any destination is written) into a
//! sequence of ordinary moves with the same effect.
//!
//! Reads: the moves added with [`ParallelMoves::add`], and a
//! [`ScratchSource`] that answers "is this a stack location", "which
//! register is free here" and "give me an extra spill slot". Writes: the
//! resolved sequence, borrowed from the resolver until the next call.
//!
//! Algorithm (the classic one, as in regalloc2's `src/moves.rs`; this is
//! our own formulation). Each destination has one writer, so "move `m`
//! must run before the move that overwrites `m`'s source" makes every move
//! point at no more than one other: the moves form chains feeding simple
//! cycles.
//! 1. Moves whose destination nobody still needs to read are emitted
//!    first (a ready queue, in input order); emitting one may free the
//!    move that overwrites its source.
//! 2. What remains is disjoint simple cycles. Each is broken by copying
//!    one source into a scratch location, running the rest of the cycle,
//!    and finishing from the scratch: k + 1 moves for a k-cycle.
//! 3. The scratch is the class's dedicated scratch register if the
//!    machine has one, else a register free at this point, else an extra
//!    spill slot.
//! 4. No machine moves stack to stack, so each stack-to-stack move is
//!    split through a temporary register: the dedicated scratch (if the
//!    cycles did not take it), else a free register, else a *borrowed*
//!    register (the caller's victim) whose value is saved to an extra
//!    spill slot before its first use and restored after its last use or
//!    before any move of the sequence reads it.
//!
//! Everything is deterministic: the result depends only on the order of
//! the moves added and on the answers of the [`ScratchSource`].

use crate::tables::{Arena, ArenaVec};
use crate::{Allocation, PReg};

/// One move: copy `from` into `to`, tagged with the caller's `payload`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Move<T> {
    pub from: Allocation,
    pub to: Allocation,
    pub payload: T,
}

/// A move of a resolved sequence: `payload` is `None` for the moves the
/// resolver adds to save and restore a borrowed register.
pub type ResolvedMove<T> = Move<Option<T>>;

/// What the resolver may use at the point being resolved, in the class
/// of the moves.
pub trait ScratchSource {
    /// Whether `alloc` is a stack location (a spill slot, or a register
    /// naming a fixed stack slot).
    fn is_stack(&self, alloc: Allocation) -> bool;
    /// A register of the class holding nothing live at this point for
    /// which `usable` holds, if any. Must be deterministic.
    fn free_reg(&mut self, usable: &dyn Fn(PReg) -> bool) -> Option<PReg>;
    /// Extra spill slot number `index` of the class. Within one
    /// resolution, different indices must give different slots; no slot
    /// given may hold anything live.
    fn spill_slot(&mut self, index: usize) -> Allocation;
}

/// The fixed registers the resolver may use for one class.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResolverRegs {
    /// The machine's dedicated scratch register of the class, if any;
    /// never allocated, so always free.
    pub scratch: Option<PReg>,
    /// The register borrowed (saved and restored) for stack-to-stack moves
    /// when nothing is free.
    pub victim: Option<PReg>,
}

/// Why a parallel move set could not be resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResolveError {
    /// Two moves write the same location with different sources.
    ConflictingWrites(Allocation),
    /// A move names `Allocation::none()`.
    NoneLocation,
    /// A stack-to-stack move needs a register and the class has none.
    NoRegister,
}

/// Placeholder for the cycle scratch before it is chosen. Never a real
/// location of a move (those are checked not to be none).
#[inline(always)]
fn scratch_mark() -> Allocation {
    Allocation::none()
}

const NO_MOVE: u32 = u32::MAX;

/// Sets of at most this many moves are linked by pairwise scans rather
/// than through a sort by destination.
const SMALL_SET: usize = 16;

/// Sets of at most this many moves are first checked (pairwise) for
/// needing no ordering at all.
const SMALL_INDEPENDENT_SET: usize = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MoveState {
    Pending,
    /// Self-move or exact duplicate: nothing to do.
    Dropped,
    Emitted,
}

/// A reusable parallel-move resolver. Buffers live in the per-run arena
/// and are reused across calls.
#[derive(Debug)]
pub struct ParallelMoves<'a, T: Copy> {
    moves: ArenaVec<'a, Move<T>>,
    /// Indices of `moves` sorted by destination, for "who writes X".
    by_dst: ArenaVec<'a, u32>,
    /// `writer[i]`: the move overwriting `moves[i].from`, or `NO_MOVE`.
    writer: ArenaVec<'a, u32>,
    /// `readers[i]`: pending moves that read `moves[i].to` (and so must
    /// run before move `i`).
    readers: ArenaVec<'a, u32>,
    state: ArenaVec<'a, MoveState>,
    /// Whether move `i` reads the cycle scratch instead of its source.
    reads_scratch: ArenaVec<'a, bool>,
    queue: ArenaVec<'a, u32>,
    /// The sequence before stack-to-stack expansion.
    ordered: ArenaVec<'a, ResolvedMove<T>>,
    result: ArenaVec<'a, ResolvedMove<T>>,
}

impl<'a, T: Copy> ParallelMoves<'a, T> {
    pub fn new_in(arena: &'a Arena) -> Self {
        Self::with_room_in(arena, 0)
    }

    /// As [`Self::new_in`], with room for sets of `room` moves in every
    /// list: a caller resolving many small sets (the single pass) then
    /// does not grow them from empty one doubling at a time, each a copy
    /// in the arena.
    pub fn with_room_in(arena: &'a Arena, room: usize) -> Self {
        ParallelMoves {
            moves: ArenaVec::with_capacity_in(room, arena),
            by_dst: ArenaVec::with_capacity_in(room, arena),
            writer: ArenaVec::with_capacity_in(room, arena),
            readers: ArenaVec::with_capacity_in(room, arena),
            state: ArenaVec::with_capacity_in(room, arena),
            reads_scratch: ArenaVec::with_capacity_in(room, arena),
            queue: ArenaVec::with_capacity_in(room, arena),
            ordered: ArenaVec::with_capacity_in(room, arena),
            result: ArenaVec::with_capacity_in(room, arena),
        }
    }

    /// Adds a move to the current parallel set.
    pub fn add(&mut self, from: Allocation, to: Allocation, payload: T) {
        self.moves.push(Move { from, to, payload });
    }

    /// Number of moves added since the last resolution.
    pub fn len(&self) -> usize {
        self.moves.len()
    }

    pub fn is_empty(&self) -> bool {
        self.moves.is_empty()
    }

    /// Resolves the moves added since the last call into a sequence and
    /// empties the set. The slice is valid until the next call.
    pub fn resolve(
        &mut self,
        regs: ResolverRegs,
        source: &mut impl ScratchSource,
    ) -> Result<&[ResolvedMove<T>], ResolveError> {
        self.result.clear();
        self.ordered.clear();
        // Most sets hold one move, or a few that do not interfere: then
        // the input order is the sequence (what the general path below
        // would produce, without its bookkeeping).
        if self.moves.len() <= SMALL_INDEPENDENT_SET && Self::independent(&self.moves, source) {
            self.result.extend(self.moves.iter().map(|m| Move {
                from: m.from,
                to: m.to,
                payload: Some(m.payload),
            }));
            self.moves.clear();
            return Ok(&self.result[..]);
        }
        let outcome = self.order_moves().and_then(|needs_scratch| {
            let cycle_scratch = if needs_scratch {
                Some(self.choose_cycle_scratch(regs, source))
            } else {
                None
            };
            self.expand_stack_to_stack(regs, cycle_scratch, source)
        });
        self.moves.clear();
        outcome.map(|()| &self.result[..])
    }

    /// Whether every move has real, distinct locations, not both on the
    /// stack, and no move writes a location another one reads or writes.
    /// Then nothing needs ordering, breaking or splitting: the general
    /// path queues them all at once and emits them in input order.
    #[inline]
    fn independent(moves: &[Move<T>], source: &impl ScratchSource) -> bool {
        moves.iter().enumerate().all(|(i, m)| {
            m.from != m.to
                && !m.from.is_none()
                && !m.to.is_none()
                && (!source.is_stack(m.from) || !source.is_stack(m.to))
                && moves[..i]
                    .iter()
                    .all(|e| e.to != m.to && e.to != m.from && e.from != m.to)
        })
    }

    /// Writes `ordered`: the moves in a valid sequential order, cycles
    /// broken through the scratch mark. Returns whether the mark is used.
    fn order_moves(&mut self) -> Result<bool, ResolveError> {
        let n = self.moves.len();
        let moves = &self.moves;
        if moves.iter().any(|m| m.from.is_none() || m.to.is_none()) {
            return Err(ResolveError::NoneLocation);
        }
        self.state.clear();
        self.state.extend(moves.iter().map(|m| {
            if m.from == m.to {
                MoveState::Dropped
            } else {
                MoveState::Pending
            }
        }));
        self.writer.clear();
        self.readers.clear();
        self.readers.resize(n, 0);
        self.reads_scratch.clear();
        self.reads_scratch.resize(n, false);
        if n <= SMALL_SET {
            self.link_small()?;
        } else {
            self.link_sorted()?;
        }
        for i in 0..n {
            let writer = self.writer[i];
            if writer != NO_MOVE && self.state[i] == MoveState::Pending {
                self.readers[writer as usize] += 1;
            }
        }

        self.queue.clear();
        for i in 0..n {
            if self.state[i] == MoveState::Pending && self.readers[i] == 0 {
                self.queue.push(i as u32);
            }
        }
        self.drain_queue();

        // Everything left sits on a simple cycle.
        let mut needs_scratch = false;
        for i in 0..n {
            if self.state[i] != MoveState::Pending || self.reads_scratch[i] {
                continue;
            }
            needs_scratch = true;
            let m = self.moves[i];
            self.ordered.push(Move {
                from: m.from,
                to: scratch_mark(),
                payload: Some(m.payload),
            });
            self.reads_scratch[i] = true;
            let w = self.writer[i];
            debug_assert!(w != NO_MOVE, "a cycle member has a writer");
            if w != NO_MOVE {
                self.readers[w as usize] -= 1;
                if self.readers[w as usize] == 0 {
                    self.queue.push(w);
                }
            }
            self.drain_queue();
        }
        debug_assert!(self.state.iter().all(|s| *s != MoveState::Pending));
        Ok(needs_scratch)
    }

    /// Marks duplicates dropped, rejects conflicting writes and fills
    /// `writer`, through `by_dst` (moves sorted by destination). For each
    /// destination the lowest-index move is the one kept and the one found
    /// as writer.
    fn link_sorted(&mut self) -> Result<(), ResolveError> {
        let n = self.moves.len();
        let moves = &self.moves;
        self.by_dst.clear();
        self.by_dst.extend(0..n as u32);
        self.by_dst
            .sort_unstable_by_key(|&i| (moves[i as usize].to.bits(), i));
        for pair in self.by_dst.windows(2) {
            let (a, b) = (&moves[pair[0] as usize], &moves[pair[1] as usize]);
            if a.to == b.to {
                if a.from != b.from {
                    return Err(ResolveError::ConflictingWrites(a.to));
                }
                self.state[pair[1] as usize] = MoveState::Dropped;
            }
        }
        for i in 0..n {
            let src = moves[i].from;
            let at = self
                .by_dst
                .partition_point(|&j| moves[j as usize].to.bits() < src.bits());
            let writer = match self.by_dst.get(at) {
                Some(&j) if moves[j as usize].to == src => j,
                _ => NO_MOVE,
            };
            self.writer.push(self.live_writer(writer));
        }
        Ok(())
    }

    /// [`Self::link_sorted`] for a few moves: pairwise scans, same
    /// results (the conflict reported is the one at the lowest
    /// destination, as in destination order).
    fn link_small(&mut self) -> Result<(), ResolveError> {
        let n = self.moves.len();
        let mut conflict: Option<Allocation> = None;
        for i in 0..n {
            let m = self.moves[i];
            if let Some(first) = self.moves[..i].iter().find(|e| e.to == m.to) {
                if first.from != m.from {
                    if conflict.is_none_or(|c| m.to.bits() < c.bits()) {
                        conflict = Some(m.to);
                    }
                } else {
                    self.state[i] = MoveState::Dropped;
                }
            }
        }
        if let Some(to) = conflict {
            return Err(ResolveError::ConflictingWrites(to));
        }
        for i in 0..n {
            let src = self.moves[i].from;
            let writer = self.moves.iter().position(|e| e.to == src);
            let writer = writer.map_or(NO_MOVE, |j| j as u32);
            self.writer.push(self.live_writer(writer));
        }
        Ok(())
    }

    /// `writer` if it is a pending move. A dropped writer is a self-move
    /// (or a duplicate, after its kept twin): it does not change its
    /// destination.
    fn live_writer(&self, writer: u32) -> u32 {
        if writer != NO_MOVE && self.state[writer as usize] == MoveState::Pending {
            writer
        } else {
            NO_MOVE
        }
    }

    fn drain_queue(&mut self) {
        let mut head = 0;
        while head < self.queue.len() {
            let i = self.queue[head] as usize;
            head += 1;
            let m = self.moves[i];
            self.ordered.push(Move {
                from: if self.reads_scratch[i] {
                    scratch_mark()
                } else {
                    m.from
                },
                to: m.to,
                payload: Some(m.payload),
            });
            self.state[i] = MoveState::Emitted;
            let w = self.writer[i];
            if w != NO_MOVE && !self.reads_scratch[i] {
                self.readers[w as usize] -= 1;
                if self.readers[w as usize] == 0 {
                    self.queue.push(w);
                }
            }
        }
        self.queue.clear();
    }

    /// Whether `preg` appears in none of the current moves.
    fn untouched(moves: &[Move<T>], preg: PReg) -> bool {
        let alloc = Allocation::reg(preg);
        moves.iter().all(|m| m.from != alloc && m.to != alloc)
    }

    fn choose_cycle_scratch(
        &mut self,
        regs: ResolverRegs,
        source: &mut impl ScratchSource,
    ) -> Allocation {
        let moves = &self.moves[..];
        if let Some(reg) = regs.scratch {
            if Self::untouched(moves, reg) && !source.is_stack(Allocation::reg(reg)) {
                return Allocation::reg(reg);
            }
        }
        let usable = |p: PReg| Self::untouched(moves, p) && Some(p) != regs.scratch;
        match source.free_reg(&usable) {
            Some(reg) => Allocation::reg(reg),
            None => source.spill_slot(0),
        }
    }

    /// Fills the cycle scratch in and splits stack-to-stack moves into
    /// `result`.
    fn expand_stack_to_stack(
        &mut self,
        regs: ResolverRegs,
        cycle_scratch: Option<Allocation>,
        source: &mut impl ScratchSource,
    ) -> Result<(), ResolveError> {
        if let Some(scratch) = cycle_scratch {
            for m in self.ordered.iter_mut() {
                if m.from == scratch_mark() {
                    m.from = scratch;
                }
                if m.to == scratch_mark() {
                    m.to = scratch;
                }
            }
        }
        let is_s2s = |m: &ResolvedMove<T>, source: &mut dyn FnMut(Allocation) -> bool| {
            source(m.from) && source(m.to)
        };
        let mut any_s2s = false;
        for m in self.ordered.iter() {
            any_s2s |= is_s2s(m, &mut |a| source.is_stack(a));
        }
        if !any_s2s {
            self.result.extend(self.ordered.iter().copied());
            return Ok(());
        }

        // The temporary register, and the slot saving its value if it is
        // borrowed rather than free.
        let moves = &self.moves[..];
        let next_slot = usize::from(matches!(cycle_scratch, Some(a) if source.is_stack(a)));
        let mut temp = None;
        if let Some(reg) = regs.scratch {
            let alloc = Allocation::reg(reg);
            if Self::untouched(moves, reg)
                && cycle_scratch != Some(alloc)
                && !source.is_stack(alloc)
            {
                temp = Some(reg);
            }
        }
        if temp.is_none() {
            let usable = |p: PReg| {
                Self::untouched(moves, p)
                    && Some(p) != regs.scratch
                    && cycle_scratch != Some(Allocation::reg(p))
            };
            temp = source.free_reg(&usable);
        }
        let (temp, save_slot) = match temp {
            Some(reg) => (Allocation::reg(reg), None),
            None => {
                let victim = regs.victim.ok_or(ResolveError::NoRegister)?;
                (Allocation::reg(victim), Some(source.spill_slot(next_slot)))
            }
        };

        // With a borrowed register: `saved` means the save slot holds the
        // register's proper value; `borrowed` means the register currently
        // holds a temporary instead of it.
        let mut saved = false;
        let mut borrowed = false;
        for i in 0..self.ordered.len() {
            let m = self.ordered[i];
            if source.is_stack(m.from) && source.is_stack(m.to) {
                if let Some(slot) = save_slot {
                    if !saved {
                        self.result.push(Move {
                            from: temp,
                            to: slot,
                            payload: None,
                        });
                        saved = true;
                    }
                    borrowed = true;
                }
                self.result.push(Move {
                    from: m.from,
                    to: temp,
                    payload: m.payload,
                });
                self.result.push(Move {
                    from: temp,
                    to: m.to,
                    payload: m.payload,
                });
                continue;
            }
            if let Some(slot) = save_slot {
                if m.from == temp && borrowed {
                    self.result.push(Move {
                        from: slot,
                        to: temp,
                        payload: None,
                    });
                    borrowed = false;
                }
                if m.to == temp {
                    // Its proper value is now this move's; a later borrow
                    // must save it again.
                    borrowed = false;
                    saved = false;
                }
            }
            self.result.push(m);
        }
        if let (Some(slot), true) = (save_slot, borrowed) {
            self.result.push(Move {
                from: slot,
                to: temp,
                payload: None,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{RegClass, SpillSlot};
    use std::collections::BTreeMap;

    fn r(i: usize) -> Allocation {
        Allocation::reg(PReg::new(i, RegClass::Int))
    }
    fn s(i: usize) -> Allocation {
        Allocation::stack(SpillSlot::new(i))
    }

    /// Test environment: a fixed list of free registers, extra slots
    /// numbered from 100.
    struct TestSource {
        free: Vec<PReg>,
        slots_given: usize,
    }
    impl ScratchSource for TestSource {
        fn is_stack(&self, alloc: Allocation) -> bool {
            alloc.is_stack()
        }
        fn free_reg(&mut self, usable: &dyn Fn(PReg) -> bool) -> Option<PReg> {
            self.free.iter().copied().find(|&p| usable(p))
        }
        fn spill_slot(&mut self, index: usize) -> Allocation {
            self.slots_given = self.slots_given.max(index + 1);
            s(100 + index)
        }
    }
    fn source(free: &[usize]) -> TestSource {
        TestSource {
            free: free.iter().map(|&i| PReg::new(i, RegClass::Int)).collect(),
            slots_given: 0,
        }
    }

    /// Runs `seq` on a map where every location initially holds its own
    /// name; returns the final map.
    fn simulate(
        seq: &[ResolvedMove<u32>],
        locations: &[Allocation],
    ) -> BTreeMap<u32, Option<Allocation>> {
        let mut state: BTreeMap<u32, Option<Allocation>> =
            locations.iter().map(|&a| (a.bits(), Some(a))).collect();
        for m in seq {
            let v = state.get(&m.from.bits()).copied().unwrap_or(None);
            state.insert(m.to.bits(), v);
        }
        state
    }

    /// Resolves `moves` and checks the sequence against the parallel
    /// semantics; `keep` are locations outside the set that must survive.
    fn check(
        moves: &[(Allocation, Allocation)],
        regs: ResolverRegs,
        src: &mut TestSource,
        keep: &[Allocation],
    ) -> Vec<ResolvedMove<u32>> {
        let arena = Arena::new();
        let mut pm = ParallelMoves::new_in(&arena);
        for (i, &(from, to)) in moves.iter().enumerate() {
            pm.add(from, to, i as u32);
        }
        let seq = pm.resolve(regs, src).expect("resolvable").to_vec();
        assert!(pm.is_empty());
        for m in &seq {
            assert!(
                !(src.is_stack(m.from) && src.is_stack(m.to)),
                "stack-to-stack move {m:?} in {seq:?}"
            );
        }
        let mut locations: Vec<Allocation> = moves.iter().flat_map(|&(a, b)| [a, b]).collect();
        locations.extend_from_slice(keep);
        let end = simulate(&seq, &locations);
        for &(from, to) in moves {
            assert_eq!(end[&to.bits()], Some(from), "{to} in {seq:?}");
        }
        for &loc in keep {
            assert_eq!(end[&loc.bits()], Some(loc), "{loc} clobbered in {seq:?}");
        }
        // Sources that are not destinations keep their values.
        for &(from, _) in moves {
            if !moves.iter().any(|&(_, to)| to == from) {
                assert_eq!(end[&from.bits()], Some(from));
            }
        }
        seq
    }

    #[test]
    fn independent_moves_keep_input_order() {
        let seq = check(
            &[(r(0), r(1)), (r(2), r(3))],
            ResolverRegs::default(),
            &mut source(&[]),
            &[],
        );
        assert_eq!(seq.len(), 2);
        assert_eq!((seq[0].from, seq[0].to), (r(0), r(1)));
    }

    #[test]
    fn chain_runs_readers_first() {
        // r1 := r0, r2 := r1: r1 must be read before it is written.
        let seq = check(
            &[(r(0), r(1)), (r(1), r(2))],
            ResolverRegs::default(),
            &mut source(&[]),
            &[],
        );
        assert_eq!((seq[0].from, seq[0].to), (r(1), r(2)));
        assert_eq!(seq.len(), 2);
    }

    #[test]
    fn swap_uses_dedicated_scratch() {
        let regs = ResolverRegs {
            scratch: Some(PReg::new(15, RegClass::Int)),
            victim: None,
        };
        let seq = check(&[(r(0), r(1)), (r(1), r(0))], regs, &mut source(&[]), &[]);
        assert_eq!(seq.len(), 3);
        assert!(seq.iter().any(|m| m.to == r(15)));
    }

    #[test]
    fn swap_uses_free_register_then_slot() {
        let seq = check(
            &[(r(0), r(1)), (r(1), r(0))],
            ResolverRegs::default(),
            &mut source(&[0, 1, 7]),
            &[],
        );
        assert_eq!(seq.len(), 3);
        assert!(seq.iter().any(|m| m.to == r(7)), "free r7 used: {seq:?}");
        let mut src = source(&[]);
        let seq = check(
            &[(r(0), r(1)), (r(1), r(0))],
            ResolverRegs::default(),
            &mut src,
            &[],
        );
        assert!(seq.iter().any(|m| m.to == s(100)));
        assert_eq!(src.slots_given, 1);
    }

    #[test]
    fn three_cycle_with_fan_out_and_tail() {
        let seq = check(
            &[
                (r(0), r(1)),
                (r(1), r(2)),
                (r(2), r(0)),
                (r(0), r(5)),
                (r(5), r(6)),
            ],
            ResolverRegs::default(),
            &mut source(&[9]),
            &[],
        );
        // 3-cycle: 4 moves; the two tail moves: 2 more.
        assert_eq!(seq.len(), 6);
    }

    #[test]
    fn cycles_through_stack_slots() {
        // A cycle mixing registers and slots, and one of slots only.
        check(
            &[(r(0), s(1)), (s(1), r(2)), (r(2), r(0))],
            ResolverRegs::default(),
            &mut source(&[3]),
            &[],
        );
        let seq = check(
            &[(s(0), s(1)), (s(1), s(0))],
            ResolverRegs::default(),
            &mut source(&[3, 4]),
            &[],
        );
        assert!(seq.iter().all(|m| m.payload.is_some()));
    }

    #[test]
    fn stack_to_stack_with_dedicated_scratch() {
        let regs = ResolverRegs {
            scratch: Some(PReg::new(15, RegClass::Int)),
            victim: Some(PReg::new(14, RegClass::Int)),
        };
        let seq = check(&[(s(0), s(1)), (r(0), r(1))], regs, &mut source(&[]), &[]);
        assert_eq!(seq.len(), 3);
        assert!(seq.iter().any(|m| m.to == r(15)));
    }

    #[test]
    fn stack_to_stack_borrows_and_restores_victim() {
        let regs = ResolverRegs {
            scratch: None,
            victim: Some(PReg::new(14, RegClass::Int)),
        };
        let mut src = source(&[]);
        // r14 holds a live value that is not part of the set.
        let seq = check(&[(s(0), s(1)), (s(2), s(3))], regs, &mut src, &[r(14)]);
        // save, 2 x (load, store), restore.
        assert_eq!(seq.len(), 6);
        assert_eq!(seq[0].payload, None);
        assert_eq!(seq.last().unwrap().payload, None);
        // The victim also being a source and a destination of the set.
        check(
            &[(s(0), s(1)), (r(14), r(2)), (s(2), s(3)), (r(3), r(14))],
            regs,
            &mut source(&[]),
            &[],
        );
        // A slot swap with nothing free: cycle scratch slot 100, save slot 101.
        let mut src = source(&[]);
        check(&[(s(0), s(1)), (s(1), s(0))], regs, &mut src, &[r(14)]);
        assert_eq!(src.slots_given, 2);
    }

    #[test]
    fn stack_to_stack_without_any_register_fails() {
        let arena = Arena::new();
        let mut pm = ParallelMoves::new_in(&arena);
        pm.add(s(0), s(1), 0u32);
        let err = pm
            .resolve(ResolverRegs::default(), &mut source(&[]))
            .unwrap_err();
        assert_eq!(err, ResolveError::NoRegister);
    }

    #[test]
    fn duplicates_and_conflicts() {
        let seq = check(
            &[(r(0), r(1)), (r(0), r(1)), (r(2), r(2))],
            ResolverRegs::default(),
            &mut source(&[]),
            &[],
        );
        assert_eq!(seq.len(), 1);
        let arena = Arena::new();
        let mut pm = ParallelMoves::new_in(&arena);
        pm.add(r(0), r(1), 0u32);
        pm.add(r(2), r(1), 1u32);
        assert_eq!(
            pm.resolve(ResolverRegs::default(), &mut source(&[]))
                .unwrap_err(),
            ResolveError::ConflictingWrites(r(1))
        );
        // The resolver is usable again after an error.
        pm.add(r(0), r(1), 0u32);
        assert_eq!(
            pm.resolve(ResolverRegs::default(), &mut source(&[]))
                .unwrap()
                .len(),
            1
        );
    }

    /// Small deterministic generator (xorshift) so the test needs no crate.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn small_and_sorted_linking_agree() {
        // Random sets with self-moves, duplicates and conflicts: both ways
        // of linking give the same drops, writers and errors.
        let mut rng = Rng(0x0123_4567_89ab_cdef);
        let locations: Vec<Allocation> = (0..4).map(r).chain((0..3).map(s)).collect();
        let arena = Arena::new();
        let mut a = ParallelMoves::new_in(&arena);
        let mut b = ParallelMoves::new_in(&arena);
        for _ in 0..3000 {
            let count = 1 + rng.below(SMALL_SET);
            for pm in [&mut a, &mut b] {
                pm.moves.clear();
            }
            for i in 0..count {
                let from = locations[rng.below(locations.len())];
                let to = locations[rng.below(locations.len())];
                a.add(from, to, i as u32);
                b.add(from, to, i as u32);
            }
            for pm in [&mut a, &mut b] {
                pm.state.clear();
                let states = pm.moves.iter().map(|m| {
                    if m.from == m.to {
                        MoveState::Dropped
                    } else {
                        MoveState::Pending
                    }
                });
                pm.state.extend(states);
                pm.writer.clear();
            }
            let linked = a.link_small();
            assert_eq!(linked, b.link_sorted());
            // After an error the resolver discards the set.
            if linked.is_ok() {
                assert_eq!(a.state, b.state);
                assert_eq!(a.writer, b.writer);
            }
        }
    }

    #[test]
    fn large_random_sets_match_parallel_semantics() {
        // More moves than `SMALL_SET`: the sorted linking.
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let locations: Vec<Allocation> = (0..20).map(r).chain((0..20).map(s)).collect();
        for round in 0..500 {
            let mut dsts = locations.clone();
            for i in (1..dsts.len()).rev() {
                dsts.swap(i, rng.below(i + 1));
            }
            let count = SMALL_SET + 1 + rng.below(12);
            let moves: Vec<(Allocation, Allocation)> = dsts[..count]
                .iter()
                .map(|&to| (locations[rng.below(locations.len())], to))
                .collect();
            let regs = ResolverRegs {
                scratch: (round % 2 == 0).then(|| PReg::new(40, RegClass::Int)),
                victim: Some(PReg::new(rng.below(20), RegClass::Int)),
            };
            let keep: Vec<Allocation> = locations
                .iter()
                .copied()
                .filter(|&a| !moves.iter().any(|&(_, to)| to == a))
                .collect();
            check(&moves, regs, &mut source(&[30, 31]), &keep);
        }
    }

    #[test]
    fn random_sets_match_parallel_semantics() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let locations: Vec<Allocation> = (0..6).map(r).chain((0..6).map(s)).collect();
        for round in 0..3000 {
            let mut dsts = locations.clone();
            // Shuffle, take a prefix as destinations.
            for i in (1..dsts.len()).rev() {
                dsts.swap(i, rng.below(i + 1));
            }
            let count = 1 + rng.below(8);
            let moves: Vec<(Allocation, Allocation)> = dsts[..count]
                .iter()
                .map(|&to| (locations[rng.below(locations.len())], to))
                .collect();
            let regs = ResolverRegs {
                scratch: (round % 3 == 0).then(|| PReg::new(15, RegClass::Int)),
                victim: Some(PReg::new(rng.below(6), RegClass::Int)),
            };
            // Free registers: r10/r11 sometimes, never live ones.
            let free: &[usize] = match round % 4 {
                0 => &[],
                1 => &[10],
                _ => &[10, 11],
            };
            // Registers not involved in the set hold live values too.
            let keep: Vec<Allocation> = locations
                .iter()
                .copied()
                .filter(|&a| !moves.iter().any(|&(_, to)| to == a))
                .collect();
            check(&moves, regs, &mut source(free), &keep);
        }
    }
}
