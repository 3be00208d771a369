//! The moves of the single-pass allocator: parallel move sets at one
//! program point, resolved into sequences by the shared resolver
//! ([`crate::ion::parallel_moves`]), collected per block and laid out in
//! program order at the end.
//!
//! Reads: the [`Regs`] (stack or register, scratch and victim registers)
//! and the set of registers busy at the point. Writes: the block's edit
//! list (built backwards, as the pass runs), the function's edit list in
//! block segments, extra spill slots in the [`Frame`], and at the end
//! `Output::edits`.
//!
//! Every point's moves are one parallel set: all sources are read before
//! any destination is written. That is what the pass means when it asks
//! for "v's value, now in A, to be in L after the instruction, while the
//! evicted w comes back into A from its slot": the resolver orders the
//! moves, breaks cycles, and routes stack-to-stack moves through a free
//! register (or the scratch register, or a borrowed one saved to an extra
//! slot).

use crate::fastalloc::state::{Frame, Regs};
use crate::ion::parallel_moves::{ParallelMoves, ResolveError, ResolverRegs, ScratchSource};
use crate::tables::{Arena, ArenaVec, Column};
use crate::{Allocation, Block, Edit, Function, PReg, PRegSet, ProgPoint, RegAllocError, RegClass};

/// One move of a set being built: its class and its two locations.
#[derive(Clone, Copy, Debug)]
pub struct PendingMove {
    pub class: RegClass,
    pub from: Allocation,
    pub to: Allocation,
}

/// A set of moves that happen at once at one point.
#[derive(Debug)]
pub struct MoveSet<'a> {
    pub moves: ArenaVec<'a, PendingMove>,
}

impl<'a> MoveSet<'a> {
    pub fn with_capacity_in(capacity: usize, arena: &'a Arena) -> Self {
        MoveSet {
            moves: ArenaVec::with_capacity_in(capacity, arena),
        }
    }

    #[inline]
    pub fn add(&mut self, class: RegClass, from: Allocation, to: Allocation) {
        if from != to {
            self.moves.push(PendingMove { class, from, to });
        }
    }
}

/// A move that goes at the entry of `block`, before the block's own
/// entry moves (the result of a definition made by the branch of its one
/// predecessor).
#[derive(Clone, Copy, Debug)]
pub struct EntryFixup {
    pub block: Block,
    pub class: RegClass,
    pub from: Allocation,
    pub to: Allocation,
}

/// The edits of the run.
#[derive(Debug)]
pub struct Edits<'a> {
    /// Every block's edits in reverse execution order (as the backward
    /// pass makes them), block after block in the order the pass visits
    /// them; the output reads each block's segment backwards. (Reversed
    /// in place per block and copied forwards, they cost a copy and a
    /// reversal per block.)
    pub all: ArenaVec<'a, (ProgPoint, Edit)>,
    /// Where the current block's edits start in `all`.
    block_start: u32,
    /// Each finished block's segment of `all`.
    pub segment: Column<'a, Block, (u32, u32)>,
    /// Moves for block entries, from definitions on branches.
    pub fixups: ArenaVec<'a, EntryFixup>,
    resolver: ParallelMoves<'a, ()>,
}

/// The resolver's view of one point.
struct PointScratch<'r, 'a, F: Function> {
    func: &'r F,
    regs: &'r Regs,
    frame: &'r mut Frame<'a>,
    busy: PRegSet,
    class: RegClass,
}

impl<F: Function> ScratchSource for PointScratch<'_, '_, F> {
    fn is_stack(&self, alloc: Allocation) -> bool {
        self.regs.is_stack(alloc)
    }

    fn free_reg(&mut self, usable: &dyn Fn(PReg) -> bool) -> Option<PReg> {
        self.regs
            .in_order(self.class)
            .find(|&p| !self.busy.contains(p) && usable(p))
    }

    fn spill_slot(&mut self, index: usize) -> Allocation {
        let class = self.class;
        while self.frame.extra[class as usize].len() <= index {
            let func = self.func;
            let slot = self.frame.new_slot(class, || func.spillslot_size(class));
            self.frame.extra[class as usize].push(Allocation::stack(slot));
        }
        self.frame.extra[class as usize][index]
    }
}

impl<'a> Edits<'a> {
    pub fn new_in(num_blocks: usize, num_insts: usize, arena: &'a Arena) -> Self {
        Edits {
            all: ArenaVec::with_capacity_in(num_insts, arena),
            block_start: 0,
            segment: Column::filled_in(num_blocks, (0, 0), arena),
            fixups: ArenaVec::new_in(arena),
            resolver: ParallelMoves::with_room_in(arena, 8),
        }
    }

    /// Records `set` (emptying it) at `point` as it is: for a set known to
    /// run in any order ([`is_plain`]), such as the reloads at a block's
    /// entry (each from a vreg's own slot into the distinct register the
    /// block expects it in), which the general path would only confirm.
    /// The same list as [`Edits::flush`] makes of such a set.
    pub fn flush_plain(&mut self, regs: &Regs, set: &mut MoveSet<'a>, point: ProgPoint) {
        debug_assert!(set.moves.len() <= PLAIN_SET_MAX);
        debug_assert!(set.moves.is_empty() || is_plain(regs, &set.moves));
        // The block's list runs backwards: the set in reverse.
        self.all.extend(set.moves.iter().rev().map(|m| {
            (
                point,
                Edit::Move {
                    from: m.from,
                    to: m.to,
                },
            )
        }));
        set.moves.clear();
    }

    /// Resolves `set` (emptying it) into a sequence at `point` and records
    /// it in the current block's list. `busy`: registers the sequence must
    /// not use as temporaries.
    pub fn flush<F: Function>(
        &mut self,
        func: &F,
        regs: &Regs,
        frame: &mut Frame<'a>,
        set: &mut MoveSet<'a>,
        point: ProgPoint,
        busy: PRegSet,
    ) -> Result<(), RegAllocError> {
        if set.moves.is_empty() {
            return Ok(());
        }
        let start = self.all.len();
        resolve_into(
            &mut self.resolver,
            &mut self.all,
            func,
            regs,
            frame,
            &set.moves,
            point,
            busy,
        )?;
        // The block's list runs backwards: reverse this point's sequence.
        self.all[start..].reverse();
        set.moves.clear();
        Ok(())
    }

    /// Closes `block`: the edits since the last block are its segment.
    pub fn finish_block(&mut self, block: Block) {
        let end = self.all.len() as u32;
        self.segment[block] = (self.block_start, end);
        self.block_start = end;
    }

    /// Writes every edit into `out` in program order: block by block in
    /// index order, each block's entry fixups first.
    pub fn write_output<F: Function>(
        &mut self,
        func: &F,
        regs: &Regs,
        frame: &mut Frame<'a>,
        scratch: &mut MoveSet<'a>,
        out: &mut Vec<(ProgPoint, Edit)>,
    ) -> Result<(), RegAllocError> {
        out.clear();
        out.reserve(self.all.len() + 2 * self.fixups.len());
        self.fixups.sort_by_key(|f| f.block);
        let mut next_fixup = 0;
        let mut resolved: ArenaVec<(ProgPoint, Edit)> = ArenaVec::new_in(self.all.bump());
        for b in 0..func.num_blocks() {
            let block = Block::new(b);
            if next_fixup < self.fixups.len() && self.fixups[next_fixup].block == block {
                let point = ProgPoint::before(func.block_insns(block).first());
                let mut busy = PRegSet::empty();
                while next_fixup < self.fixups.len() && self.fixups[next_fixup].block == block {
                    let f = self.fixups[next_fixup];
                    if let Some(r) = f.from.as_reg() {
                        busy.add(r);
                    }
                    scratch.add(f.class, f.from, f.to);
                    next_fixup += 1;
                }
                resolved.clear();
                resolve_into(
                    &mut self.resolver,
                    &mut resolved,
                    func,
                    regs,
                    frame,
                    &scratch.moves,
                    point,
                    busy,
                )?;
                scratch.moves.clear();
                out.extend_from_slice(&resolved);
            }
            let (start, end) = self.segment[block];
            out.extend(self.all[start as usize..end as usize].iter().rev().cloned());
        }
        Ok(())
    }
}

/// The largest set [`resolve_into`] tests for [`is_plain`] (and then
/// keeps in its order).
pub const PLAIN_SET_MAX: usize = 8;

/// Resolves `moves` (any classes) at `point` and appends the sequences,
/// class by class, in execution order.
#[allow(clippy::too_many_arguments)]
fn resolve_into<'a, F: Function>(
    resolver: &mut ParallelMoves<'a, ()>,
    dst: &mut ArenaVec<'a, (ProgPoint, Edit)>,
    func: &F,
    regs: &Regs,
    frame: &mut Frame<'a>,
    moves: &[PendingMove],
    point: ProgPoint,
    busy: PRegSet,
) -> Result<(), RegAllocError> {
    // Most sets need no ordering: no move writes a location another
    // reads, no two write one location, none goes stack to stack. Then
    // the set is its own sequence (what the resolver would produce).
    if moves.len() <= PLAIN_SET_MAX && is_plain(regs, moves) {
        for m in moves {
            dst.push((
                point,
                Edit::Move {
                    from: m.from,
                    to: m.to,
                },
            ));
        }
        return Ok(());
    }
    let one_class = moves.iter().all(|m| m.class == moves[0].class);
    for class in RegClass::ALL {
        if one_class && class != moves[0].class {
            continue;
        }
        for m in moves.iter().filter(|m| m.class == class) {
            resolver.add(m.from, m.to, ());
        }
        if resolver.is_empty() {
            continue;
        }
        let c = class as usize;
        let regs_of_class = ResolverRegs {
            scratch: regs.scratch[c],
            victim: regs.victim[c],
        };
        let mut source = PointScratch {
            func,
            regs,
            frame,
            busy,
            class,
        };
        let sequence = resolver
            .resolve(regs_of_class, &mut source)
            .map_err(|e| match e {
                ResolveError::ConflictingWrites(_)
                | ResolveError::NoneLocation
                | ResolveError::NoRegister => RegAllocError::TooManyLiveRegs,
            })?;
        for m in sequence {
            dst.push((
                point,
                Edit::Move {
                    from: m.from,
                    to: m.to,
                },
            ));
        }
    }
    Ok(())
}

/// Whether `moves` can run in any order: no destination is another move's
/// source or another move's destination, and no move is stack to stack.
fn is_plain(regs: &Regs, moves: &[PendingMove]) -> bool {
    if let [m] = moves {
        // The usual set: one move, which reads its own destination only
        // if it is a no-op (a rewritten source can make it one).
        return !(regs.is_stack(m.from) & regs.is_stack(m.to)) & (m.from != m.to);
    }
    // Sets are small (at most `PLAIN_SET_MAX`): every pair is compared, the
    // results OR-ed, with no branch that depends on the locations.
    let mut conflict = false;
    for (i, m) in moves.iter().enumerate() {
        conflict |= regs.is_stack(m.from) & regs.is_stack(m.to);
        for (j, n) in moves.iter().enumerate() {
            conflict |= (n.from == m.to) | ((i != j) & (n.to == m.to));
        }
    }
    !conflict
}
