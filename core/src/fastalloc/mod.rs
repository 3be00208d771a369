//! The single-pass allocator served for `Algorithm::Fastalloc`: one
//! backward walk over each block, in the spirit of regalloc2 0.15's
//! fastalloc (read for the problem it solves; the formulation here is our
//! own), on regarena's arena, validation and move resolver.
//!
//! Pipeline (`run`), one call per step:
//! `validate::check_sizes` → `cfg::analyze_for_single_pass` →
//! `validate::validate_and_count` (the same checks, in the same
//! order, as Ion: the same input gives the same error) → the tables
//! ([`state`]) → every block in postorder ([`block`], which runs
//! [`inst`] on each instruction from last to first) → the edits in
//! program order ([`edits`]) → the debug value locations ([`debug`]) →
//! `Output`.
//!
//! What it reads and writes per step is on each file. No liveness
//! analysis is needed: blocks are visited in postorder, so the uses of a
//! vreg in other blocks are all seen before its definition, and whether
//! the definition must store the vreg to its slot (`spilled`) is known
//! when it is reached.

pub mod block;
pub mod debug;
pub mod edits;
pub mod inst;
pub mod state;

#[cfg(test)]
mod tests;

use crate::fastalloc::edits::{Edits, MoveSet};
use crate::fastalloc::state::{Frame, PRegState, Regs, State};
use crate::ion::Stats;
use crate::tables::{Arena, ArenaVec};
use crate::{Allocation, Function, MachineEnv, Output, RegAllocError, RegallocOptions, VReg};

/// Buffers the steps share and reuse from instruction to instruction.
#[derive(Debug)]
pub struct Scratch<'a> {
    /// Moves after the current instruction.
    pub after: MoveSet<'a>,
    /// Copies before the current instruction.
    pub before: MoveSet<'a>,
    /// Branch arguments into their params' slots.
    pub args: MoveSet<'a>,
    /// Per operand of the current instruction: the def reusing it.
    pub reused_by: ArenaVec<'a, u32>,
    /// Per operand of the current instruction: its rank (`inst::rank`).
    pub ranks: ArenaVec<'a, u8>,
    /// The current instruction's operand indices ordered by rank.
    pub by_rank: ArenaVec<'a, u32>,
    /// Definitions made by the current branch.
    pub branch_defs: ArenaVec<'a, (VReg, Allocation)>,
    /// Per instruction: uses fixed to untracked locations (`inst`).
    pub untracked: ArenaVec<'a, (VReg, Allocation)>,
    pub edits: Edits<'a>,
    /// The current instruction's register claims.
    pub claims: inst::Claims,
}

/// Allocates `func` into `output`, every table in `arena` (reset by the
/// caller), validation's columns too: one arena grows one chain of
/// chunks, where a second arena for validation alone made a fresh
/// context's peak 7% larger over the corpus (`cold_heap_ratio` 1.31 ->
/// 1.22 against upstream's fastalloc, 2026-12-06).
pub(crate) fn run_in<F: Function>(
    func: &F,
    env: &MachineEnv,
    options: &RegallocOptions,
    arena: &Arena,
    output: &mut Output,
) -> Result<(), RegAllocError> {
    crate::validate::check_sizes(func)?;
    let cfg = crate::cfg::analyze_for_single_pass(func, arena)?;
    // Validation's walk over the instructions also lays out the operand
    // slots (`inst_alloc_offsets`).
    let used_vregs = crate::validate::validate_and_count(
        func,
        env,
        &cfg,
        options.validate_ssa,
        arena,
        Some(&mut output.inst_alloc_offsets),
    )?;
    // Per-vreg tables sized by the vregs the function names.
    let func = &crate::validate::UsedVregs::new(func, used_vregs);

    output.edits.clear();
    output.allocs.clear();
    output.debug_locations.clear();
    output.num_spillslots = 0;
    let num_insts = func.num_insts();
    let total = match num_insts.checked_sub(1) {
        Some(last) => {
            let last_inst = crate::Inst::new(last);
            output.inst_alloc_offsets[last] as usize + func.inst_operands(last_inst).len()
        }
        None => 0,
    };
    output.allocs.resize(total, Allocation::none());

    let regs = Regs::new(env);
    // Every buffer starts with room for the usual instruction and block
    // (one bump each): grown from empty, each one's first pushes took
    // the arena's reallocation path, a few hundred bytes of code per run
    // that upstream's warm vectors never touch.
    let mut state = State {
        vregs: state::new_vreg_state(func.num_vregs(), arena),
        pregs: PRegState::new(),
        frame: Frame::new_in(func.multi_spillslot_named_by_last_slot(), arena),
        touched: ArenaVec::with_capacity_in(BLOCK_ROOM, arena),
    };
    let mut scratch = Scratch {
        after: MoveSet::with_capacity_in(INST_ROOM, arena),
        before: MoveSet::with_capacity_in(INST_ROOM, arena),
        args: MoveSet::with_capacity_in(INST_ROOM, arena),
        reused_by: ArenaVec::with_capacity_in(INST_ROOM, arena),
        ranks: ArenaVec::with_capacity_in(INST_ROOM, arena),
        by_rank: ArenaVec::with_capacity_in(INST_ROOM, arena),
        branch_defs: ArenaVec::with_capacity_in(INST_ROOM, arena),
        untracked: ArenaVec::with_capacity_in(INST_ROOM, arena),
        edits: Edits::new_in(func.num_blocks(), num_insts, arena),
        claims: inst::Claims::default(),
    };
    for &block in cfg.postorder.iter() {
        block::alloc_block(
            func,
            &regs,
            &mut state,
            &mut scratch,
            &mut output.allocs,
            &output.inst_alloc_offsets,
            block,
        )?;
    }
    scratch.edits.write_output(
        func,
        &regs,
        &mut state.frame,
        &mut scratch.before,
        &mut output.edits,
    )?;
    if state.frame.overflow {
        return Err(RegAllocError::TooManyLiveRegs);
    }
    output.num_spillslots = state.frame.num_slots;
    debug::write_debug_locations(func, &cfg, &state.vregs, arena, output);
    let stats = Stats {
        edits_count: output.edits.len(),
        ..Stats::default()
    };
    output.stats = stats;
    // The tables live wholly in the arena, which the next run resets:
    // their drop code would only hand bytes back to a bump allocator.
    core::mem::forget((scratch, state, regs, cfg));
    Ok(())
}

/// Initial room of the per-instruction buffers (operands, moves at one
/// point): more than most instructions need.
const INST_ROOM: usize = 8;
/// Initial room of the per-block buffers (live-ins, edits).
const BLOCK_ROOM: usize = 16;
