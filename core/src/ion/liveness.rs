//! Exact per-block live-in and live-out vreg sets.
//!
//! Reads: the function (operands, params, branch args, preds). Writes: a
//! [`Liveness`] (in the arena) and `stats.livein_iterations`.
//!
//! Method: per-vreg path exploration, output-sensitive (the classic SSA
//! liveness by walking predecessors back from uses, e.g. Brandner et al.,
//! "Computing Liveness Sets for SSA-Form Programs", 2011; it works for
//! non-SSA input too because kills are looked up per block).
//!
//! 1. One forward scan of every block finds, per vreg, the blocks where it
//!    is *upward-exposed* (read before any write in the block; the block
//!    "generates" it) and the blocks that *kill* it (write it before any
//!    read). The order of mentions inside a block is exactly the reverse of
//!    the backward scan in `liveranges`, so both phases agree on liveness.
//! 2. For each vreg, a depth-first walk from its generating blocks over
//!    predecessor edges marks blocks live-out and live-in, stopping at
//!    blocks that kill it.
//!
//! Cost: O(insts + operands + blocks + vregs + Σ_v Σ_{b ∈ livein(v)}
//! |preds(b)|), memory O(blocks + vregs + operands + output). Nothing is
//! O(blocks × vregs): the visited marks are two block-sized bitvecs reset
//! by walking the list of blocks actually touched. The sets are stored as
//! compressed rows (one offset per block into one vreg array), each row
//! sorted by vreg.

use crate::cfg::CfgInfo;
use crate::ion::data::VRegId;
use crate::ion::liveranges::operand_point;
use crate::ion::Stats;
use crate::tables::{Arena, ArenaVec, BitSet, Column};
use crate::{Block, Function, InstPosition, OperandConstraint, OperandKind, RegAllocError};

/// Per-block sets of live vregs, as compressed rows.
///
/// Invariant: `*_start` has `num_blocks + 1` entries, non-decreasing; the
/// row of block `b` is `*_vregs[start[b]..start[b + 1]]`, sorted by vreg
/// without duplicates.
#[derive(Debug)]
pub struct Liveness<'a> {
    livein_start: Column<'a, Block, u32>,
    livein_vregs: ArenaVec<'a, VRegId>,
    liveout_start: Column<'a, Block, u32>,
    liveout_vregs: ArenaVec<'a, VRegId>,
}

impl<'a> Liveness<'a> {
    /// Vregs live at the entry of `block` (block params excluded: they are
    /// defined there).
    pub fn live_in(&self, block: Block) -> &[VRegId] {
        row(&self.livein_start, &self.livein_vregs, block)
    }

    /// Vregs live at the exit of `block` along its out-edges (branch
    /// arguments are not included unless also live into a successor).
    pub fn live_out(&self, block: Block) -> &[VRegId] {
        row(&self.liveout_start, &self.liveout_vregs, block)
    }

    /// Whether `vreg` is live into `block` (binary search of the row).
    pub fn is_live_in(&self, block: Block, vreg: VRegId) -> bool {
        self.live_in(block).binary_search(&vreg).is_ok()
    }

    /// Whether `vreg` is live out of `block`.
    pub fn is_live_out(&self, block: Block, vreg: VRegId) -> bool {
        self.live_out(block).binary_search(&vreg).is_ok()
    }
}

fn row<'s>(start: &Column<'_, Block, u32>, vregs: &'s [VRegId], block: Block) -> &'s [VRegId] {
    let from = start[block] as usize;
    let to = start[Block::new(block.index() + 1)] as usize;
    &vregs[from..to]
}

/// Calls `f(vreg, is_def)` for every vreg mention of `block` in *forward*
/// order: block params (defs), then per instruction the Before-point
/// operands and the After-point operands (each group in reverse operand
/// order), then the outgoing branch arguments (uses). This is the exact
/// reverse of the backward scan in `liveranges`, so the first mention of a
/// vreg here is the last one that scan sees.
fn for_each_mention_forward<F: Function>(func: &F, block: Block, mut f: impl FnMut(usize, bool)) {
    for param in func.block_params(block) {
        f(param.vreg(), true);
    }
    let insts = func.block_insns(block);
    for inst in insts.iter() {
        let operands = func.inst_operands(inst);
        let reused_input = reused_input_vreg(operands);
        for position in [InstPosition::Before, InstPosition::After] {
            for &op in operands.iter().rev() {
                if op.as_fixed_nonallocatable().is_some() {
                    continue;
                }
                if operand_point(op, inst, reused_input).pos() == position {
                    f(op.vreg().vreg(), op.kind() == OperandKind::Def);
                }
            }
        }
    }
    if insts.is_empty() {
        return;
    }
    let last = insts.last();
    if func.is_branch(last) {
        for succ_idx in 0..func.block_succs(block).len() {
            for arg in func.branch_blockparams(block, last, succ_idx) {
                f(arg.vreg(), false);
            }
        }
    }
}

/// The vreg an instruction's `Reuse` def takes its register from, if any.
pub(crate) fn reused_input_vreg(operands: &[crate::Operand]) -> Option<crate::VReg> {
    operands.iter().find_map(|op| match op.constraint() {
        OperandConstraint::Reuse(idx) => operands.get(idx).map(|input| input.vreg()),
        _ => None,
    })
}

/// `(vreg, block)` pairs grouped by vreg: `blocks[start[v]..start[v+1]]`.
struct BlocksByVreg<'a> {
    start: ArenaVec<'a, u32>,
    blocks: ArenaVec<'a, u32>,
}

impl<'a> BlocksByVreg<'a> {
    /// Counting sort of `pairs` by vreg (stable: blocks stay in scan order).
    fn group(arena: &'a Arena, num_vregs: usize, pairs: &[(u32, u32)]) -> Self {
        let mut start = ArenaVec::from_iter_in(core::iter::repeat_n(0u32, num_vregs + 1), arena);
        for &(vreg, _) in pairs {
            start[vreg as usize + 1] += 1;
        }
        for i in 0..num_vregs {
            start[i + 1] += start[i];
        }
        let mut fill = ArenaVec::from_iter_in(start[..num_vregs].iter().copied(), arena);
        let mut blocks = ArenaVec::from_iter_in(core::iter::repeat_n(0u32, pairs.len()), arena);
        for &(vreg, block) in pairs {
            let at = &mut fill[vreg as usize];
            blocks[*at as usize] = block;
            *at += 1;
        }
        BlocksByVreg { start, blocks }
    }
    fn of(&self, vreg: usize) -> &[u32] {
        &self.blocks[self.start[vreg] as usize..self.start[vreg + 1] as usize]
    }
}

/// Counting sort of `(block, vreg)` pairs into per-block rows. Pairs come
/// in increasing vreg order, so each row comes out sorted.
fn rows_by_block<'a>(
    arena: &'a Arena,
    num_blocks: usize,
    pairs: &[(u32, u32)],
) -> (Column<'a, Block, u32>, ArenaVec<'a, VRegId>) {
    let mut start: Column<'a, Block, u32> = Column::filled_in(num_blocks + 1, 0, arena);
    for &(block, _) in pairs {
        start[Block::new(block as usize + 1)] += 1;
    }
    for i in 0..num_blocks {
        let prev = start[Block::new(i)];
        start[Block::new(i + 1)] += prev;
    }
    let mut fill = ArenaVec::from_iter_in(start.raw()[..num_blocks].iter().copied(), arena);
    let mut vregs =
        ArenaVec::from_iter_in(core::iter::repeat_n(VRegId::invalid(), pairs.len()), arena);
    for &(block, vreg) in pairs {
        let at = &mut fill[block as usize];
        vregs[*at as usize] = VRegId::new(vreg as usize);
        *at += 1;
    }
    (start, vregs)
}

/// Computes exact live-in/live-out sets; fails with `EntryLivein` when a
/// vreg is read on some path from the entry before being written.
pub fn compute_liveness<'a, F: Function>(
    func: &F,
    cfg: &CfgInfo<'_>,
    arena: &'a Arena,
    stats: &mut Stats,
) -> Result<Liveness<'a>, RegAllocError> {
    let num_blocks = func.num_blocks();
    let num_vregs = func.num_vregs();
    debug_assert_eq!(cfg.block_entry.len(), num_blocks);

    // Step 1: generating and killing blocks of each vreg. `first_seen[v]`
    // is the last block whose scan mentioned v (a per-block stamp, so it
    // never needs clearing).
    let mut first_seen = ArenaVec::from_iter_in(core::iter::repeat_n(u32::MAX, num_vregs), arena);
    let mut gen_pairs: ArenaVec<(u32, u32)> = ArenaVec::new_in(arena);
    let mut kill_pairs: ArenaVec<(u32, u32)> = ArenaVec::new_in(arena);
    for b in 0..num_blocks {
        let block = Block::new(b);
        let stamp = b as u32;
        for_each_mention_forward(func, block, |vreg, is_def| {
            if first_seen[vreg] != stamp {
                first_seen[vreg] = stamp;
                let pairs = if is_def {
                    &mut kill_pairs
                } else {
                    &mut gen_pairs
                };
                pairs.push((vreg as u32, stamp));
            }
        });
    }
    let gens = BlocksByVreg::group(arena, num_vregs, &gen_pairs);
    let kills = BlocksByVreg::group(arena, num_vregs, &kill_pairs);
    drop(first_seen);

    // Step 2: walk predecessors back from each generating block.
    let mut is_live_in = BitSet::new_in(num_blocks, arena);
    let mut is_live_out = BitSet::new_in(num_blocks, arena);
    let mut kills_here = BitSet::new_in(num_blocks, arena);
    let mut touched_in: ArenaVec<u32> = ArenaVec::new_in(arena);
    let mut touched_out: ArenaVec<u32> = ArenaVec::new_in(arena);
    let mut stack: ArenaVec<u32> = ArenaVec::new_in(arena);
    let mut livein_pairs: ArenaVec<(u32, u32)> = ArenaVec::new_in(arena);
    let mut liveout_pairs: ArenaVec<(u32, u32)> = ArenaVec::new_in(arena);
    let entry = func.entry_block().index();
    for vreg in 0..num_vregs {
        let generating = gens.of(vreg);
        if generating.is_empty() {
            continue;
        }
        for &b in kills.of(vreg) {
            kills_here.insert(b as usize);
        }
        for &b in generating {
            // Each block appears once per vreg in `gens`.
            is_live_in.insert(b as usize);
            touched_in.push(b);
            stack.push(b);
        }
        while let Some(b) = stack.pop() {
            stats.livein_iterations += 1;
            for &pred in func.block_preds(Block::new(b as usize)) {
                let p = pred.index();
                if is_live_out.contains(p) {
                    continue;
                }
                is_live_out.insert(p);
                touched_out.push(p as u32);
                if !kills_here.contains(p) && !is_live_in.contains(p) {
                    is_live_in.insert(p);
                    touched_in.push(p as u32);
                    stack.push(p as u32);
                }
            }
        }
        let entry_livein = entry < num_blocks && is_live_in.contains(entry);
        for &b in kills.of(vreg) {
            kills_here.remove(b as usize);
        }
        for &b in touched_in.iter() {
            is_live_in.remove(b as usize);
            livein_pairs.push((b, vreg as u32));
        }
        for &b in touched_out.iter() {
            is_live_out.remove(b as usize);
            liveout_pairs.push((b, vreg as u32));
        }
        touched_in.clear();
        touched_out.clear();
        if entry_livein {
            return Err(RegAllocError::EntryLivein);
        }
    }

    let (livein_start, livein_vregs) = rows_by_block(arena, num_blocks, &livein_pairs);
    let (liveout_start, liveout_vregs) = rows_by_block(arena, num_blocks, &liveout_pairs);
    Ok(Liveness {
        livein_start,
        livein_vregs,
        liveout_start,
        liveout_vregs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ion::liveranges::testing::*;
    use crate::Operand;

    #[test]
    fn value_read_before_any_def_is_an_entry_livein() {
        let func = function(
            1,
            vec![B(vec![], vec![ret(vec![Operand::reg_use(v(0))])], vec![])],
        );
        let arena = Arena::new();
        let cfg = crate::cfg::analyze(&func, &arena).unwrap();
        let mut stats = Stats::default();
        let result = compute_liveness(&func, &cfg, &arena, &mut stats);
        assert_eq!(result.err(), Some(RegAllocError::EntryLivein));
    }

    #[test]
    fn long_chain_of_blocks_is_linear() {
        // 20_000 blocks, each defining a value used in the last block:
        // live sets grow, but the work is the output size, not blocks × vregs.
        let n = 20_000;
        let mut blocks = Vec::new();
        for i in 0..n {
            blocks.push(B(
                vec![],
                vec![op(vec![Operand::reg_def(v(i))]), branch(vec![])],
                vec![(i + 1, vec![])],
            ));
        }
        blocks.push(B(
            vec![],
            vec![ret(vec![
                Operand::reg_use(v(0)),
                Operand::reg_use(v(n - 1)),
            ])],
            vec![],
        ));
        let func = function(n, blocks);
        let arena = Arena::new();
        let cfg = crate::cfg::analyze(&func, &arena).unwrap();
        let mut stats = Stats::default();
        let live = compute_liveness(&func, &cfg, &arena, &mut stats).unwrap();
        let last = Block::new(n);
        assert_eq!(live.live_in(last), &[VRegId::new(0), VRegId::new(n - 1)]);
        assert_eq!(live.live_in(Block::new(1)), &[VRegId::new(0)]);
        assert!(live.is_live_out(Block::new(n - 1), VRegId::new(n - 1)));
        // Each block is walked once for v0, once more for v(n-1).
        assert_eq!(stats.livein_iterations, n + 1);
    }
}
