//! One block of the backward pass: the branch's arguments, every
//! instruction from last to first (`inst`), and the block's entry.
//!
//! Reads: the function's instructions, params, successors and branch
//! arguments, the [`Regs`]. Reads and writes: the [`State`], the operand
//! allocations, the [`Edits`].
//!
//! The convention at block boundaries (regalloc2 fastalloc's): every vreg
//! live into a block, and every block param, is in its own spill slot at
//! the block's entry. So:
//! * at the branch, each argument is copied into its target param's slot
//!   (one parallel set, after the copies into the branch's own operands);
//!   the argument itself is read from a free register for the first
//!   [`MAX_REG_ARGS`] of each class (so its definition writes it there
//!   and a single store feeds the param, instead of a store at the
//!   definition and a stack-to-stack copy), else from its slot;
//! * at the entry, a vreg the block's code expects in a register is
//!   reloaded from its slot, and a live-in is marked `spilled` so its
//!   definition stores it;
//! * a definition made by the branch itself (the block's successors then
//!   have this block as their only predecessor, which `cfg` checks) is
//!   moved at each successor's entry into the slots that need it.
//!
//! Blocks are visited in postorder, so every block a vreg is live into is
//! visited before the block that defines it (the definition dominates
//! it): `spilled` is final when the definition is reached.

use crate::fastalloc::edits::{EntryFixup, MoveSet, PLAIN_SET_MAX};
use crate::fastalloc::inst::{self, Classes, InstCtx};
use crate::fastalloc::state::{Regs, State};
use crate::fastalloc::Scratch;
use crate::{Allocation, Block, Function, Inst, OperandKind, PRegSet, ProgPoint, RegAllocError};

/// Allocates `block`: its instructions backwards, then its entry.
/// (Inlined into its one caller: as a call per block it cost 0.5% more
/// instructions over the corpus.)
#[inline(always)]
pub fn alloc_block<'a, F: Function>(
    func: &F,
    regs: &Regs,
    state: &mut State<'a>,
    scratch: &mut Scratch<'a>,
    allocs: &mut [crate::Allocation],
    offsets: &[u32],
    block: Block,
) -> Result<(), RegAllocError> {
    let insts = func.block_insns(block);
    let last = insts.last();
    let multi_defs = func.allow_multiple_vreg_defs();
    for inst in insts.iter().rev() {
        state.pregs.now += 1;
        let ops = func.inst_operands(inst);
        let off = offsets[inst.index()] as usize;
        let op_allocs = &mut allocs[off..off + ops.len()];
        let is_branch = inst == last && func.is_branch(inst);
        scratch.branch_defs.clear();
        let owned_after = state.pregs.owned;
        // Field by field: a whole-struct assignment of these 160 bytes
        // compiled to a `memcpy` call per instruction.
        let claims = &mut scratch.claims;
        claims.early = PRegSet::empty();
        claims.late = PRegSet::empty();
        claims.defs = PRegSet::empty();
        claims.pinned = PRegSet::empty();
        claims.clobbers = func.inst_clobbers(inst);
        let mut cx = InstCtx {
            inst,
            ops,
            allocs: op_allocs,
            is_branch,
            multi_defs,
            claims: &mut scratch.claims,
            after: &mut scratch.after,
            before: &mut scratch.before,
            branch_defs: &mut scratch.branch_defs,
            untracked: &mut scratch.untracked,
            reused_by: &[],
            ranks: &[],
            by_rank: &[],
            classes: Classes::default(),
        };
        let in_order = inst::classify(
            &mut cx,
            &mut scratch.ranks,
            &mut scratch.reused_by,
            &mut scratch.by_rank,
        );
        cx.ranks = &scratch.ranks;
        cx.by_rank = if in_order {
            &inst::IDENTITY[..ops.len()]
        } else {
            &scratch.by_rank
        };
        cx.reused_by = &scratch.reused_by;
        if is_branch {
            place_branch_args(func, regs, state, &mut cx, &mut scratch.args, block)?;
        }
        inst::alloc_defs(func, regs, state, &mut cx)?;
        inst::evict_conflicts(func, regs, state, &mut cx)?;
        inst::alloc_uses(func, regs, state, &mut cx)?;
        if is_branch {
            branch_def_fixups(
                func,
                state,
                &scratch.branch_defs,
                &mut scratch.edits.fixups,
                block,
                inst,
            );
        }
        // Most instructions need no move: one test for the three sets.
        let pending =
            scratch.after.moves.len() | scratch.args.moves.len() | scratch.before.moves.len();
        if pending == 0 {
            continue;
        }
        // Execution order at this instruction: copies into the uses, the
        // branch arguments into their params' slots, the instruction,
        // the moves after it. The block's list runs backwards.
        // (Read here, not before the test above: a copy of the set per
        // instruction, loaded right after its one-word updates, waited
        // for them.)
        let pinned = scratch.claims.pinned;
        let busy_before = state.pregs.owned | pinned;
        let edits = &mut scratch.edits;
        let frame = &mut state.frame;
        edits.flush(
            func,
            regs,
            frame,
            &mut scratch.after,
            ProgPoint::after(inst),
            owned_after | pinned,
        )?;
        edits.flush(
            func,
            regs,
            frame,
            &mut scratch.args,
            ProgPoint::before(inst),
            busy_before,
        )?;
        edits.flush(
            func,
            regs,
            frame,
            &mut scratch.before,
            ProgPoint::before(inst),
            busy_before,
        )?;
    }
    block_entry(func, regs, state, scratch, block)
}

/// At most this many arguments per class are read from registers at a
/// branch; the rest from their slots. Measured on the corpus (weighted
/// cost against upstream's fastalloc): every argument from its slot
/// 0.793, at most 1 per class 0.749, 2: 0.742, 4: 0.755, as many as
/// registers are free 0.813 (a register held through the whole block
/// pushes other values out).
const MAX_REG_ARGS: usize = 2;

/// `place_branch_args`' count of a class not yet needed.
const NOT_COUNTED: usize = usize::MAX;

/// The branch's arguments: a location each at the branch (a free
/// register for the first [`MAX_REG_ARGS`] of a class, else the
/// argument's slot), and the moves into the params' slots. Arguments the branch itself defines are left to
/// [`branch_def_fixups`].
fn place_branch_args<'a, F: Function>(
    func: &F,
    regs: &Regs,
    state: &mut State<'a>,
    cx: &mut InstCtx<'_, 'a>,
    args: &mut MoveSet<'a>,
    block: Block,
) -> Result<(), RegAllocError> {
    let inst = cx.inst;
    // Registers the branch's own operands may need stay out of reach.
    let claimed = cx.claims.early | cx.claims.late | cx.claims.clobbers;
    // Per class, the registers left for arguments: the free ones less
    // one per operand of the branch (and one for the move resolver).
    // Counted at the first argument of the class that needs a location
    // (most branches pass none): placing arguments of other classes
    // before it changes only their own classes' words of `owned`, so the
    // count is the one at the branch.
    let mut left = [NOT_COUNTED; 3];
    let count_left = |c: usize, owned: PRegSet| {
        let unavailable = claimed.words()[c] | owned.words()[c];
        let free = (regs.allocatable[c].words()[c] & !unavailable).count_ones() as usize;
        free.saturating_sub(cx.ops.len() + 1).min(MAX_REG_ARGS)
    };
    for (succ_idx, &succ) in func.block_succs(block).iter().enumerate() {
        let params = func.block_params(succ);
        for (&arg, &param) in func
            .branch_blockparams(block, inst, succ_idx)
            .iter()
            .zip(params)
        {
            if defined_by(cx.ops, arg) {
                continue;
            }
            let class = arg.class();
            let c = class as usize;
            let mut src = state.vregs[arg.vreg()].loc;
            if src.is_none() {
                if left[c] == NOT_COUNTED {
                    left[c] = count_left(c, state.pregs.owned);
                }
                let reg = if left[c] > 0 {
                    regs.first_free(
                        class,
                        None,
                        claimed.class_word(class),
                        state.pregs.owned.class_word(class),
                    )
                } else {
                    None
                };
                src = match reg {
                    Some(p) => {
                        left[c] -= 1;
                        Allocation::reg(p)
                    }
                    None => state.spilled_slot_of(arg, || func.spillslot_size(class)),
                };
                state.set_loc(regs, arg, src);
            }
            let dst = state.slot_of(param, || func.spillslot_size(class));
            args.add(class, src, dst);
        }
    }
    Ok(())
}

fn defined_by(ops: &[crate::Operand], vreg: crate::VReg) -> bool {
    ops.iter()
        .any(|op| op.kind() == OperandKind::Def && op.vreg() == vreg)
}

/// Moves for the definitions of a branch: at each successor's entry, into
/// the vreg's slot if the vreg is spilled and into the slot of every param
/// it is passed to.
fn branch_def_fixups<'a, F: Function>(
    func: &F,
    state: &mut State<'a>,
    defs: &[(crate::VReg, Allocation)],
    fixups: &mut crate::tables::ArenaVec<'a, EntryFixup>,
    block: Block,
    inst: Inst,
) {
    for &(vreg, a) in defs {
        let class = vreg.class();
        for (succ_idx, &succ) in func.block_succs(block).iter().enumerate() {
            if state.vregs[vreg.vreg()].spilled() {
                let to = state.slot_of(vreg, || func.spillslot_size(class));
                fixups.push(EntryFixup {
                    block: succ,
                    class,
                    from: a,
                    to,
                });
            }
            let params = func.block_params(succ);
            for (&arg, &param) in func
                .branch_blockparams(block, inst, succ_idx)
                .iter()
                .zip(params)
            {
                if arg == vreg {
                    let to = state.slot_of(param, || func.spillslot_size(class));
                    fixups.push(EntryFixup {
                        block: succ,
                        class,
                        from: a,
                        to,
                    });
                }
            }
        }
    }
}

/// The block's entry: params and live-ins the code expects in registers
/// are reloaded from their slots; every location is forgotten.
fn block_entry<'a, F: Function>(
    func: &F,
    regs: &Regs,
    state: &mut State<'a>,
    scratch: &mut Scratch<'a>,
    block: Block,
) -> Result<(), RegAllocError> {
    let busy = state.pregs.owned;
    for &param in func.block_params(block) {
        let loc = state.vregs[param.vreg()].loc;
        if loc.is_none() {
            continue;
        }
        let slot = state.slot_of(param, || func.spillslot_size(param.class()));
        scratch.before.add(param.class(), slot, loc);
        state.set_loc(regs, param, Allocation::none());
    }
    let mut i = 0;
    while i < state.touched.len() {
        let vreg = state.touched[i];
        i += 1;
        let loc = state.vregs[vreg.vreg()].loc;
        if loc.is_none() {
            continue;
        }
        let slot = state.spilled_slot_of(vreg, || func.spillslot_size(vreg.class()));
        scratch.before.add(vreg.class(), slot, loc);
        state.set_loc(regs, vreg, Allocation::none());
    }
    state.touched.clear();
    debug_assert_eq!(state.pregs.owned, PRegSet::empty());
    let first = func.block_insns(block).first();
    // Every move is from a vreg's own slot into the register the block
    // expects it in (a location is a register or that slot, and a move to
    // the same slot is none): distinct registers, read from no register.
    // (Larger sets take the resolver, whose order for them differs.)
    let point = ProgPoint::before(first);
    if scratch.before.moves.len() <= PLAIN_SET_MAX {
        scratch.edits.flush_plain(regs, &mut scratch.before, point);
    } else {
        scratch.edits.flush(
            func,
            regs,
            &mut state.frame,
            &mut scratch.before,
            point,
            busy,
        )?;
    }
    scratch.edits.finish_block(block);
    Ok(())
}
