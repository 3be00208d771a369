//! Exact per-block live-in and live-out vreg sets.
//!
//! Reads: the function (operands, params, branch args) and the CFG's
//! compact predecessor lists ([`CfgInfo::preds`]). Writes: a
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
//!    read), as two linked lists per vreg in one node array. The order of
//!    mentions inside a block is exactly the reverse of the backward scan
//!    in `liveranges`, so both phases agree on liveness.
//! 2. For each vreg with a generating block (in increasing vreg order), a
//!    depth-first walk from those blocks over predecessor edges (the
//!    compact lists of [`CfgInfo::preds`]; their order changes only the
//!    order of the walk, not the sets) marks
//!    blocks live-out and live-in, stopping at blocks that kill it. The
//!    blocks reached are appended to one array per side, a segment per
//!    vreg, and counted per block.
//! 3. The segments are scattered into per-block rows (a counting sort
//!    whose counts step 2 already made).
//!
//! Cost: O(insts + operands + blocks + vregs + Σ_v Σ_{b ∈ livein(v)}
//! |preds(b)|), memory O(blocks + vregs + operands + output). Nothing is
//! O(blocks × vregs): the per-block marks carry the number of the walk
//! that set them, so no walk has to clear them. The sets are stored as
//! compressed rows (one offset per block into one vreg array), each row
//! sorted by vreg.

use crate::cfg::CfgInfo;
use crate::ion::data::VRegId;
use crate::ion::Stats;
use crate::tables::{Arena, ArenaVec, Column};
use crate::{
    Block, Function, Inst, InstPosition, Operand, OperandConstraint, OperandKind, OperandPos,
    ProgPoint, RegAllocError, VReg,
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
#[inline]
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

/// "No node": the end of a [`BlockLink`] list.
const NONE: u32 = u32::MAX;

/// One node of a per-vreg singly linked list of blocks.
#[derive(Clone, Copy)]
struct BlockLink {
    block: u32,
    next: u32,
}

/// Per-vreg state of the mention scan: the last block whose scan
/// mentioned the vreg (a per-block stamp, so it never needs clearing) and
/// the heads of its lists of generating and killing blocks.
#[derive(Clone, Copy)]
struct Mentions {
    seen_in: u32,
    gen_head: u32,
    kill_head: u32,
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

/// Computes exact live-in/live-out sets; fails with `EntryLivein` when a
/// vreg is read on some path from the entry before being written.
///
/// The result lives in `arena`; the work tables (per-vreg mention marks,
/// links, walk marks, segments) in `temp`, which the caller may reset
/// once this returns.
pub fn compute_liveness<'a, F: Function>(
    func: &F,
    cfg: &CfgInfo<'_>,
    arena: &'a Arena,
    temp: &Arena,
    stats: &mut Stats,
) -> Result<Liveness<'a>, RegAllocError> {
    let num_blocks = func.num_blocks();
    let num_vregs = func.num_vregs();
    debug_assert_eq!(cfg.block_entry.len(), num_blocks);

    // Step 1: generating and killing blocks of each vreg, as linked lists
    // in one node array; `live_across` lists the vregs with a generating
    // block (the only ones live into any block).
    let mentions: &mut [Mentions] = temp.alloc_slice_fill_copy(
        num_vregs,
        Mentions {
            seen_in: NONE,
            gen_head: NONE,
            kill_head: NONE,
        },
    );
    let mut links: ArenaVec<BlockLink> = ArenaVec::with_capacity_in(num_vregs, temp);
    let mut live_across: ArenaVec<u32> = ArenaVec::new_in(temp);
    for b in 0..num_blocks {
        let block = Block::new(b);
        let stamp = b as u32;
        for_each_mention_forward(func, block, |vreg, is_def| {
            let m = &mut mentions[vreg];
            if m.seen_in == stamp {
                return;
            }
            m.seen_in = stamp;
            let node = links.len() as u32;
            let head = if is_def {
                &mut m.kill_head
            } else {
                if m.gen_head == NONE {
                    live_across.push(vreg as u32);
                }
                &mut m.gen_head
            };
            links.push(BlockLink {
                block: stamp,
                next: *head,
            });
            *head = node;
        });
    }
    live_across.sort_unstable();

    // Step 2: walk predecessors back from each generating block. The
    // blocks each vreg is live out of are appended to `out_blocks`, one
    // segment per vreg (`segments`), and counted per block. (Live-in
    // blocks are marked for the walk but not recorded: see `Liveness`.)
    // A block's mark holds the walk's stamp above the flag bits: flags
    // under an older stamp read as clear, so no walk clears its marks.
    let marks: &mut [u32] = temp.alloc_slice_fill_copy(num_blocks, 0);
    let mut out_counts: Column<'a, Block, u32> = Column::filled_in(num_blocks + 1, 0, arena);
    let mut out_blocks: ArenaVec<u32> = ArenaVec::new_in(temp);
    let mut segments: ArenaVec<(u32, u32)> = ArenaVec::with_capacity_in(live_across.len(), temp);
    let mut stack: ArenaVec<u32> = ArenaVec::new_in(temp);
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
        let m = mentions[vreg as usize];
        let mut k = m.kill_head;
        while k != NONE {
            let link = links[k as usize];
            marks[link.block as usize] = stamp | KILLS;
            k = link.next;
        }
        let mut live_in_blocks = 0usize;
        let mut g = m.gen_head;
        while g != NONE {
            // Each block is on the vreg's generating list once.
            let link = links[g as usize];
            marks[link.block as usize] = stamp | LIVE_IN;
            live_in_blocks += 1;
            stack.push(link.block);
            g = link.next;
        }
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
        segments.push((vreg, out_blocks.len() as u32));
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
                let before = operand_point(op, inst, reused).pos() == InstPosition::Before;
                assert_eq!(masks.before & bit != 0, before, "{operands:?} slot {i}");
                assert_eq!(masks.after & bit != 0, !before, "{operands:?} slot {i}");
            }
        }
        let many = vec![Operand::reg_use(v(0)); 65];
        assert_eq!(PointMasks::of(&many), None);
    }

    #[test]
    fn value_read_before_any_def_is_an_entry_livein() {
        let func = function(
            1,
            vec![B(vec![], vec![ret(vec![Operand::reg_use(v(0))])], vec![])],
        );
        let arena = Arena::new();
        let cfg = crate::cfg::analyze(&func, &arena).unwrap();
        let mut stats = Stats::default();
        let result = compute_liveness(&func, &cfg, &arena, &arena, &mut stats);
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
        let live = compute_liveness(&func, &cfg, &arena, &arena, &mut stats).unwrap();
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
