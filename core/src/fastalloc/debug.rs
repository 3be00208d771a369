//! Debug value locations of the single pass: where a labelled vreg's
//! value can be read, for `Output::debug_locations`.
//!
//! Reads: the function's debug labels, block params and defs, the CFG's
//! block order and dominator numbering, the per-vreg `slot` and `spilled`
//! columns after the pass. Writes: `Output::debug_locations` (sorted by
//! label, then point; disjoint per label).
//!
//! Only what the pass guarantees is reported. A vreg whose slot is
//! written by its definition (`spilled`), and every block param (in its
//! slot at its block's entry by the block convention), has its value in
//! its own slot from then on, in every block its definition dominates: no
//! other value is ever written to that slot. A vreg kept in registers
//! only is not reported, since its register changes with every eviction
//! and reload and the pass keeps no history of them. (regalloc2's
//! fastalloc reports one range per vreg with the last allocation it saw,
//! which may name a register that no longer holds the value.)

use crate::cfg::CfgInfo;
use crate::fastalloc::state::VRegState;
use crate::tables::{Arena, Column};
use crate::{Block, Function, Inst, OperandKind, Output, ProgPoint};

/// Where a vreg's value reaches its slot: the block of its definition and
/// the first point the slot holds it.
#[derive(Clone, Copy)]
struct SlotStart {
    block: Block,
    point: ProgPoint,
}

/// Writes `output.debug_locations` for `func`'s labels (nothing when it
/// has none).
pub fn write_debug_locations<F: Function>(
    func: &F,
    cfg: &CfgInfo<'_>,
    vregs: &VRegState<'_>,
    arena: &Arena,
    output: &mut Output,
) {
    output.debug_locations.clear();
    let labels = func.debug_value_labels();
    if labels.is_empty() {
        return;
    }
    let num_vregs = vregs.len();
    let mut wanted: Column<usize, bool> = Column::filled_in(num_vregs, false, arena);
    for &(vreg, ..) in labels {
        if vreg.vreg() < num_vregs && vregs[vreg.vreg()].slot().is_some() {
            wanted[vreg.vreg()] = true;
        }
    }
    // Where each wanted vreg's value reaches its slot (validation has
    // checked one definition per vreg).
    let mut start: Column<usize, Option<SlotStart>> = Column::filled_in(num_vregs, None, arena);
    for block in (0..func.num_blocks()).map(Block::new) {
        let insts = func.block_insns(block);
        for &param in func.block_params(block) {
            if wanted[param.vreg()] {
                start[param.vreg()] = Some(SlotStart {
                    block,
                    point: ProgPoint::before(insts.first()),
                });
            }
        }
        for inst in insts.iter() {
            for op in func.inst_operands(inst) {
                let v = op.vreg().vreg();
                if op.kind() == OperandKind::Def && v < num_vregs && wanted[v] && vregs[v].spilled()
                {
                    // The store follows the instruction.
                    start[v] = Some(SlotStart {
                        block,
                        point: ProgPoint::before(Inst::new(inst.index() + 1)),
                    });
                }
            }
        }
    }
    let num_insts = func.num_insts();
    for &(vreg, from, to, label) in labels {
        let v = vreg.vreg();
        let Some(def) = start.get(v).copied().flatten() else {
            continue;
        };
        let from = from.index().min(num_insts);
        let to = to.index().min(num_insts);
        if from >= to {
            continue;
        }
        let Some(slot) = vregs[v].slot() else {
            continue;
        };
        let first_piece = output.debug_locations.len();
        // Blocks tile the instructions in order (`cfg::check_blocks`):
        // find the one holding `from`, then walk forward.
        let mut block = block_of(func, Inst::new(from));
        while block.index() < func.num_blocks() {
            let insts = func.block_insns(block);
            if insts.first().index() >= to {
                break;
            }
            if cfg.dominates(def.block, block) {
                let mut piece_from = ProgPoint::before(Inst::new(from.max(insts.first().index())));
                if block == def.block {
                    piece_from = piece_from.max(def.point);
                }
                let piece_to = ProgPoint::before(Inst::new(to.min(insts.last().index() + 1)));
                if piece_from < piece_to {
                    let locs = &mut output.debug_locations;
                    let extends = locs.len() > first_piece;
                    match locs.last_mut() {
                        Some(last) if extends && last.2 == piece_from => {
                            last.2 = piece_to;
                        }
                        _ => locs.push((label, piece_from, piece_to, slot)),
                    }
                }
            }
            block = Block::new(block.index() + 1);
        }
    }
    output
        .debug_locations
        .sort_unstable_by_key(|&(label, from, to, alloc)| (label, from, to, alloc.bits()));
}

/// The block holding `inst` (blocks tile the instructions in order).
fn block_of<F: Function>(func: &F, inst: Inst) -> Block {
    let (mut lo, mut hi) = (0, func.num_blocks());
    // Invariant: the answer is in `lo..hi`; block 0 starts at 0.
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if func.block_insns(Block::new(mid)).first() <= inst {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Block::new(lo)
}
