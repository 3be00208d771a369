//! Exact per-block live-in and live-out vreg sets.
//!
//! Reads: the CFG's compact predecessor lists ([`CfgInfo::preds`]) and
//! the [`UpwardUses`] that validation found in its walk over the operands
//! (per vreg: its def block and the blocks that read it before any
//! write). Writes: a [`Liveness`] (in the arena) and
//! `stats.livein_iterations`.
//!
//! Method: per-vreg path exploration, output-sensitive (the classic SSA
//! liveness by walking predecessors back from uses, e.g. Brandner et al.,
//! "Computing Liveness Sets for SSA-Form Programs", 2011). Validation
//! has established SSA form (one def per vreg, dominating every use), so
//! the blocks that read a vreg first are its uses outside the def's
//! block, and the def's block is the only one that kills it: the seeds
//! come out of validation's walk, and this phase reads no operand.
//!
//! 1. For each vreg with an upward-exposed use (in increasing vreg
//!    order), a depth-first walk from those blocks over predecessor edges
//!    (their order changes only the order of the walk, not the sets)
//!    marks blocks live-out and live-in, stopping at the def's block. The
//!    blocks reached are appended to one array per side, a segment per
//!    vreg, and counted per block.
//! 2. The segments are scattered into per-block rows (a counting sort
//!    whose counts step 1 already made).
//!
//! Cost: O(blocks + Σ_v Σ_{b ∈ livein(v)} |preds(b)|) here, plus O(1) per
//! use in validation; memory O(blocks + output). Nothing is
//! O(blocks × vregs): the per-block marks carry the number of the walk
//! that set them, so no walk has to clear them. The sets are stored as
//! compressed rows (one offset per block into one vreg array), each row
//! sorted by vreg.

use crate::cfg::CfgInfo;
use crate::ion::data::VRegId;
use crate::ion::Stats;
use crate::tables::{Arena, ArenaVec, Column};
use crate::validate::UpwardUses;
use crate::{
    Block, Function, Inst, Operand, OperandConstraint, OperandKind, OperandPos, ProgPoint,
    RegAllocError, VReg,
};

/// Per-block sets of live-out vregs, as compressed rows.
///
/// Only the live-out sets are kept: `liveranges` starts each block's
/// backward scan from them and finds the live-in set as what is still live
/// at the block's entry, so storing it too would only cost memory (as much
/// again, tens of MB for a function of 10^6 instructions).
///
/// Invariant: `liveout_start` has `num_blocks + 1` entries,
/// non-decreasing; the row of block `b` is
/// `liveout_vregs[start[b]..start[b + 1]]`, sorted by vreg without
/// duplicates.
#[derive(Debug)]
pub struct Liveness<'a> {
    liveout_start: Column<'a, Block, u32>,
    liveout_vregs: ArenaVec<'a, VRegId>,
}

impl<'a> Liveness<'a> {
    /// Vregs live at the exit of `block` along its out-edges (branch
    /// arguments are not included unless also live into a successor).
    pub fn live_out(&self, block: Block) -> &[VRegId] {
        row(&self.liveout_start, &self.liveout_vregs, block)
    }

    /// Whether `vreg` is live out of `block` (binary search of the row).
    pub fn is_live_out(&self, block: Block, vreg: VRegId) -> bool {
        self.live_out(block).binary_search(&vreg).is_ok()
    }
}

/// The live-in set of `block` (block params excluded), derived from its
/// live-out set through the block's own mentions: a vreg whose first
/// mention is a read, or that is live out and not mentioned. For tests.
#[cfg(test)]
pub(crate) fn live_in_of<F: Function>(
    func: &F,
    liveness: &Liveness<'_>,
    block: Block,
) -> Vec<VRegId> {
    let mut first_is_def = std::collections::BTreeMap::new();
    for_each_mention_forward(func, block, |vreg, is_def| {
        first_is_def.entry(vreg).or_insert(is_def);
    });
    let mut live: std::collections::BTreeSet<VRegId> = liveness
        .live_out(block)
        .iter()
        .filter(|v| !first_is_def.contains_key(&v.index()))
        .copied()
        .collect();
    live.extend(
        first_is_def
            .iter()
            .filter(|(_, &is_def)| !is_def)
            .map(|(&v, _)| VRegId::new(v)),
    );
    live.into_iter().collect()
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
#[cfg(test)]
fn for_each_mention_forward<F: Function>(func: &F, block: Block, mut f: impl FnMut(usize, bool)) {
    for param in func.block_params(block) {
        f(param.vreg(), true);
    }
    let insts = func.block_insns(block);
    for inst in insts.iter() {
        mentions_of_operands(func.inst_operands(inst), inst, &mut f);
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

/// [`for_each_mention_forward`] for one instruction: the operands split
/// by point in one pass ([`PointMasks`]), then each mask's slots from the
/// highest down; one pass per point with more than 64 operands.
#[cfg(test)]
fn mentions_of_operands(operands: &[Operand], inst: Inst, f: &mut impl FnMut(usize, bool)) {
    if let Some(masks) = PointMasks::of(operands) {
        for mut left in [masks.before, masks.after] {
            while left != 0 {
                let i = 63 - left.leading_zeros() as usize;
                left &= !(1u64 << i);
                let op = operands[i];
                f(op.vreg().vreg(), op.is_def());
            }
        }
        return;
    }
    let reused_input = reused_input_vreg(operands);
    for position in [crate::InstPosition::Before, crate::InstPosition::After] {
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

/// The program point of an operand: Early → Before, Late → After, except
/// that when the instruction reuses an input, every *other* Early use is
/// moved to After so it interferes with the reusing def (which takes the
/// reused input's register).
#[inline]
pub fn operand_point(op: Operand, inst: Inst, reused_input: Option<VReg>) -> ProgPoint {
    match (op.kind(), op.pos()) {
        (OperandKind::Def, OperandPos::Early) => ProgPoint::before(inst),
        (_, OperandPos::Late) => ProgPoint::after(inst),
        (OperandKind::Use, OperandPos::Early) => match reused_input {
            Some(reused) if reused != op.vreg() => ProgPoint::after(inst),
            _ => ProgPoint::before(inst),
        },
    }
}

/// The vreg an instruction's `Reuse` def takes its register from, if any.
#[inline]
pub(crate) fn reused_input_vreg(operands: &[Operand]) -> Option<VReg> {
    operands.iter().find_map(|op| match op.constraint() {
        OperandConstraint::Reuse(idx) => operands.get(idx).map(|input| input.vreg()),
        _ => None,
    })
}

/// The operands of one instruction (at most 64) by program point, as bit
/// masks over operand slots (bit `i` is operand `i`): exactly the split
/// [`operand_point`] makes, found in one pass over the operands instead of
/// one pass per point plus one for the reused input. Fixed-nonallocatable
/// operands are in neither mask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PointMasks {
    pub before: u64,
    pub after: u64,
}

impl PointMasks {
    /// `None` when there are more than 64 operands.
    #[inline]
    pub(crate) fn of(operands: &[Operand]) -> Option<PointMasks> {
        if operands.len() > 64 {
            return None;
        }
        let (mut before, mut after, mut early_uses) = (0u64, 0u64, 0u64);
        let mut reused_input: Option<VReg> = None;
        // Bit tests, no constraint decoding: the kind and position pick
        // the mask without a branch; only a `Reuse` (rare) branches.
        for (i, &op) in operands.iter().enumerate() {
            // Fixed-nonallocatable operands are in neither mask.
            let bit = u64::from(!op.is_fixed_nonallocatable()) << i;
            // The first `Reuse` naming an existing slot decides, as in
            // `reused_input_vreg`.
            if let Some(idx) = op.reused_slot() {
                if reused_input.is_none() {
                    reused_input = operands.get(idx).map(|input| input.vreg());
                }
            }
            let (late, def) = (op.is_late(), op.is_def());
            let late_mask = 0u64.wrapping_sub(u64::from(late));
            let def_mask = 0u64.wrapping_sub(u64::from(def));
            after |= bit & late_mask;
            before |= bit & !late_mask & def_mask;
            early_uses |= bit & !late_mask & !def_mask;
        }
        match reused_input {
            None => before |= early_uses,
            Some(reused) => {
                // Early uses other than the reused input move to After.
                let mut left = early_uses;
                while left != 0 {
                    let i = left.trailing_zeros() as usize;
                    left &= left - 1;
                    if operands[i].vreg() == reused {
                        before |= 1 << i;
                    } else {
                        after |= 1 << i;
                    }
                }
            }
        }
        Some(PointMasks { before, after })
    }
}

/// Per-block marks of the walk for one vreg (the low bits of a mark).
const LIVE_IN: u32 = 1;
const LIVE_OUT: u32 = 2;
const KILLS: u32 = 4;
const MARK_FLAG_BITS: u32 = 3;
const MARK_FLAGS: u32 = (1 << MARK_FLAG_BITS) - 1;

/// The compressed live-out rows, built from the walk's per-vreg segments
/// of `blocks`: vreg `segments[i].0` owns the blocks up to
/// `segments[i].1`. `ends` holds each block's row length on entry.
///
/// The rows are filled back to front (last segment first, each row from
/// its end), so each row lists its vregs in segment order: increasing.
fn rows_from_segments<'a>(
    arena: &'a Arena,
    mut ends: Column<'a, Block, u32>,
    blocks: &[u32],
    segments: &[(u32, u32)],
) -> (Column<'a, Block, u32>, ArenaVec<'a, VRegId>) {
    let num_blocks = ends.len() - 1;
    let mut total = 0u32;
    for row_end in ends.raw_mut()[..num_blocks].iter_mut() {
        total += *row_end;
        *row_end = total;
    }
    ends.raw_mut()[num_blocks] = total;
    let mut vregs = ArenaVec::with_capacity_in(total as usize, arena);
    vregs.resize(total as usize, VRegId::invalid());
    let mut seg_end = blocks.len();
    for (i, segment) in segments.iter().enumerate().rev() {
        let seg_begin = if i == 0 {
            0
        } else {
            segments[i - 1].1 as usize
        };
        let vreg = VRegId::new(segment.0 as usize);
        for &b in blocks[seg_begin..seg_end].iter().rev() {
            let at = &mut ends.raw_mut()[b as usize];
            *at -= 1;
            vregs[*at as usize] = vreg;
        }
        seg_end = seg_begin;
    }
    // Each row's counter now points at its first entry: its start.
    (ends, vregs)
}

/// Computes exact live-in/live-out sets from what validation found
/// ([`UpwardUses`]: per vreg, its def block and the blocks reading it
/// before any write); fails with `EntryLivein` should a vreg be live into
/// the entry block (validation refuses such input first).
///
/// The result lives in `arena`; the work tables (walk marks, segments) in
/// `temp`, which the caller may reset once this returns.
pub fn compute_liveness<'a, F: Function>(
    func: &F,
    cfg: &CfgInfo<'_>,
    upward: &UpwardUses<'_>,
    arena: &'a Arena,
    temp: &Arena,
    stats: &mut Stats,
) -> Result<Liveness<'a>, RegAllocError> {
    let num_blocks = func.num_blocks();
    debug_assert_eq!(cfg.block_entry.len(), num_blocks);
    let live_across = upward.live_across();

    // Step 2: walk predecessors back from each generating block. The
    // blocks each vreg is live out of are appended to `out_blocks`, one
    // segment per vreg (`segments`), and counted per block. (Live-in
    // blocks are marked for the walk but not recorded: see `Liveness`.)
    // A block's mark holds the walk's stamp above the flag bits: flags
    // under an older stamp read as clear, so no walk clears its marks.
    let marks: &mut [u32] = temp.alloc_slice_fill_copy(num_blocks, 0);
    let mut out_counts: Column<'a, Block, u32> = Column::filled_in(num_blocks + 1, 0, arena);
    // bumpalo's lists grow 1, 2, 4, ...: each list starts at its usual
    // size (a block enters the stack at most once per walk; a vreg live
    // across blocks is usually live out of one or two).
    let mut out_blocks: ArenaVec<u32> =
        ArenaVec::with_capacity_in(2 * live_across.len() + num_blocks, temp);
    let mut segments: ArenaVec<(u32, u32)> = ArenaVec::with_capacity_in(live_across.len(), temp);
    let mut stack: ArenaVec<u32> = ArenaVec::with_capacity_in(num_blocks, temp);
    let entry = func.entry_block().index();
    // Walk numbers start at 1 (0 is the initial mark). Should they run out
    // of bits (2^29 walks), the marks are cleared and numbering restarts.
    let mut walk = 0u32;
    for &vreg in live_across.iter() {
        if walk == u32::MAX >> MARK_FLAG_BITS {
            marks.fill(0);
            walk = 0;
        }
        walk += 1;
        let stamp = walk << MARK_FLAG_BITS;
        let flags_of = |mark: u32| {
            if mark & !MARK_FLAGS == stamp {
                mark & MARK_FLAGS
            } else {
                0
            }
        };
        let vreg = vreg as usize;
        let def_block = upward.def_block(vreg);
        if def_block.is_valid() {
            marks[def_block.index()] = stamp | KILLS;
        }
        let mut live_in_blocks = 0usize;
        upward.for_each_upward_use_block(vreg, |block| {
            // Each block is on the vreg's list once.
            marks[block.index()] = stamp | LIVE_IN;
            live_in_blocks += 1;
            stack.push(block.0);
        });
        while let Some(b) = stack.pop() {
            for &pred in cfg.preds(Block::new(b as usize)) {
                let p = pred.index();
                let flags = flags_of(marks[p]);
                if flags & LIVE_OUT != 0 {
                    continue;
                }
                out_blocks.push(p as u32);
                out_counts.raw_mut()[p] += 1;
                if flags & (KILLS | LIVE_IN) == 0 {
                    marks[p] = stamp | LIVE_IN | LIVE_OUT;
                    live_in_blocks += 1;
                    stack.push(p as u32);
                } else {
                    marks[p] = stamp | flags | LIVE_OUT;
                }
            }
        }
        // Every block the vreg is live into went through the stack once.
        stats.livein_iterations += live_in_blocks;
        if entry < num_blocks && flags_of(marks[entry]) & LIVE_IN != 0 {
            return Err(RegAllocError::EntryLivein);
        }
        segments.push((vreg as u32, out_blocks.len() as u32));
    }

    let (liveout_start, liveout_vregs) =
        rows_from_segments(arena, out_counts, &out_blocks, &segments);
    Ok(Liveness {
        liveout_start,
        liveout_vregs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ion::liveranges::testing::*;
    use crate::Operand;

    /// The masks put every operand where `operand_point` does.
    #[test]
    fn point_masks_agree_with_operand_point() {
        let preg = crate::PReg::new(3, crate::RegClass::Int);
        let cases: Vec<Vec<Operand>> = vec![
            vec![],
            vec![Operand::reg_use(v(0)), Operand::reg_def(v(1))],
            vec![
                Operand::reg_use(v(0)),
                Operand::reg_use(v(2)),
                Operand::reg_reuse_def(v(1), 0),
                Operand::reg_temp(v(3)),
            ],
            // The reused input named twice; a reuse index out of range
            // before a valid one.
            vec![
                Operand::reg_reuse_def(v(4), 9),
                Operand::reg_use(v(0)),
                Operand::reg_use_at_end(v(2)),
                Operand::reg_use(v(0)),
                Operand::reg_reuse_def(v(1), 3),
                Operand::fixed_nonallocatable(preg),
                Operand::reg_def_at_start(v(5)),
                Operand::reg_fixed_use(v(6), preg),
            ],
        ];
        let inst = Inst::new(7);
        for operands in &cases {
            let masks = PointMasks::of(operands).unwrap();
            let reused = reused_input_vreg(operands);
            for (i, &op) in operands.iter().enumerate() {
                let bit = 1u64 << i;
                if op.as_fixed_nonallocatable().is_some() {
                    assert_eq!((masks.before | masks.after) & bit, 0);
                    continue;
                }
                let before = operand_point(op, inst, reused).pos() == crate::InstPosition::Before;
                assert_eq!(masks.before & bit != 0, before, "{operands:?} slot {i}");
                assert_eq!(masks.after & bit != 0, !before, "{operands:?} slot {i}");
            }
        }
        let many = vec![Operand::reg_use(v(0)); 65];
        assert_eq!(PointMasks::of(&many), None);
    }

    /// Liveness's seeds come from validation, which refuses a value read
    /// before any def (`EntryLivein` without `validate_ssa`, as regalloc2's
    /// liveness reports it), so no walk ever starts from such a value.
    #[test]
    fn value_read_before_any_def_is_refused_before_liveness() {
        let func = function(
            1,
            vec![B(vec![], vec![ret(vec![Operand::reg_use(v(0))])], vec![])],
        );
        let arena = Arena::new();
        let cfg = crate::cfg::analyze(&func, &arena).unwrap();
        let result =
            crate::validate::validate_for_liveness(&func, &env(), &cfg, false, &arena, None);
        assert_eq!(result.err(), Some(RegAllocError::EntryLivein));
    }

    /// The live-out sets equal those of the textbook backward dataflow
    /// (iterated to a fixed point over sets, block params defined at their
    /// block's entry, branch arguments read at the branch) on generated
    /// functions of every shape `gen` makes: loops, diamonds, block params.
    /// (`gen` needs the `arbitrary` feature, which `cargo test --workspace`
    /// turns on through the tools crate.)
    #[cfg(feature = "arbitrary")]
    #[test]
    fn live_out_sets_match_iterative_dataflow() {
        use std::collections::BTreeSet;
        for seed in 0..60u64 {
            let opts = crate::gen::GenOptions {
                target_insts: 40 + (seed as usize % 7) * 30,
                ..Default::default()
            };
            let (func, env) = crate::gen::generate_from_seed(seed, &opts);
            let arena = Arena::new();
            let cfg = crate::cfg::analyze(&func, &arena).unwrap();
            let (_, upward) =
                crate::validate::validate_for_liveness(&func, &env, &cfg, true, &arena, None)
                    .unwrap();
            let mut stats = Stats::default();
            let live = compute_liveness(&func, &cfg, &upward, &arena, &arena, &mut stats).unwrap();

            // Per block: what it reads before writing (gen) and writes (kill).
            let n = func.num_blocks();
            let mut gen = vec![BTreeSet::new(); n];
            let mut kill = vec![BTreeSet::new(); n];
            for b in 0..n {
                let block = Block::new(b);
                for_each_mention_forward(&func, block, |vreg, is_def| {
                    if is_def {
                        kill[b].insert(vreg);
                    } else if !kill[b].contains(&vreg) {
                        gen[b].insert(vreg);
                    }
                });
            }
            let mut live_in = vec![BTreeSet::<usize>::new(); n];
            let mut live_out = vec![BTreeSet::<usize>::new(); n];
            let mut changed = true;
            while changed {
                changed = false;
                for b in (0..n).rev() {
                    let out: BTreeSet<usize> = func
                        .block_succs(Block::new(b))
                        .iter()
                        .flat_map(|s| live_in[s.index()].iter().copied())
                        .collect();
                    let inn: BTreeSet<usize> = gen[b]
                        .iter()
                        .copied()
                        .chain(out.difference(&kill[b]).copied())
                        .collect();
                    if out != live_out[b] || inn != live_in[b] {
                        changed = true;
                        live_out[b] = out;
                        live_in[b] = inn;
                    }
                }
            }
            for (b, expected) in live_out.iter().enumerate() {
                let ours: BTreeSet<usize> = live
                    .live_out(Block::new(b))
                    .iter()
                    .map(|v| v.index())
                    .collect();
                assert_eq!(&ours, expected, "seed {seed}, block {b}: live-out");
            }
        }
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
        let (_, upward) =
            crate::validate::validate_for_liveness(&func, &env(), &cfg, true, &arena, None)
                .unwrap();
        let mut stats = Stats::default();
        let live = compute_liveness(&func, &cfg, &upward, &arena, &arena, &mut stats).unwrap();
        let last = Block::new(n);
        assert_eq!(
            live_in_of(&func, &live, last),
            &[VRegId::new(0), VRegId::new(n - 1)]
        );
        assert_eq!(live_in_of(&func, &live, Block::new(1)), &[VRegId::new(0)]);
        assert!(live.is_live_out(Block::new(n - 1), VRegId::new(n - 1)));
        // Each block is walked once for v0, once more for v(n-1).
        assert_eq!(stats.livein_iterations, n + 1);
    }
}
