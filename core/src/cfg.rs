//! The CFG phase: structural checks of the client's blocks and edges, then
//! the analyses every later phase reads ([`CfgInfo`]).
//!
//! Reads: the [`Function`]'s blocks, edges, terminators, block params and
//! branch-argument counts. Writes: a [`CfgInfo`] in the per-run arena
//! (postorder, RPO numbers, immediate dominators, a dominator-tree
//! preorder numbering for O(1) `dominates`, natural-loop depth, the block
//! of each instruction, block entry/exit points).
//!
//! Every check runs before any trait call that could index out of range,
//! so a malformed function yields a [`RegAllocError`], never a panic.
//! Errors match regalloc2 0.15.2 wherever regalloc2 reports one (its
//! `postorder`, `cfg` and `ssa` modules define which); the checks regalloc2
//! leaves out (it panics or misbehaves instead) report `BB(block)`.
//! Unreachable blocks are rejected with `BB(block)`: no function of the
//! development corpus (2677 Cranelift functions) has one, and rejecting
//! them lets every later phase assume each block has a dominator-tree
//! position and a live-in set computed from the entry.
//!
//! Algorithms: iterative depth-first postorder; immediate dominators by
//! Cooper, Harvey and Kennedy, "A Simple, Fast Dominance Algorithm" (2001),
//! iterated over reverse postorder; natural loops found from back edges
//! `t -> h` (`h` dominates `t`), nested by processing headers innermost
//! first (decreasing RPO number) and collapsing each finished loop into its
//! header with a union-find, so each block's predecessors are walked once
//! (Havlak-style, near-linear time).

use crate::tables::{Arena, ArenaVec, Column};
use crate::{Block, Function, Inst, ProgPoint, RegAllocError};

/// What the allocator needs to know about the CFG. Every column indexed by
/// `Block` has `num_blocks` rows; `insn_block` has `num_insts` rows.
///
/// Invariants (checked by [`CfgInfo::check_invariants`]): every block is
/// reachable, so every block appears exactly once in `postorder`;
/// `idom[entry]` is invalid and every other block's `idom` is valid and has
/// a smaller `rpo_index`; `dom_pre`/`dom_last` nest like the dominator tree.
#[derive(Debug)]
pub struct CfgInfo<'a> {
    /// All blocks in postorder (the entry last).
    pub postorder: ArenaVec<'a, Block>,
    /// Position of each block in reverse postorder (entry = 0).
    pub rpo_index: Column<'a, Block, u32>,
    /// Immediate dominator (`Block::invalid()` for the entry).
    pub idom: Column<'a, Block, Block>,
    /// Preorder number of each block in the dominator tree.
    pub dom_pre: Column<'a, Block, u32>,
    /// Largest preorder number in each block's dominator subtree: `a`
    /// dominates `b` iff `dom_pre[a] <= dom_pre[b] <= dom_last[a]`.
    pub dom_last: Column<'a, Block, u32>,
    /// Whether the block is the target of a back edge (a loop header).
    pub loop_header: Column<'a, Block, bool>,
    /// Natural-loop nesting depth: the number of natural loops (one per
    /// header) containing the block; 0 outside loops.
    pub loop_depth: Column<'a, Block, u32>,
    /// The block of each instruction.
    pub insn_block: Column<'a, Inst, Block>,
    /// `loop_depth` of each instruction's block, saturated at 255: what
    /// the allocation loop's split costs look up per conflict, one byte
    /// per instruction (a quarter of `insn_block`, and one load instead
    /// of two dependent ones, which matters once the function outgrows
    /// the cache).
    pub insn_loop_depth: Column<'a, Inst, u8>,
    /// `ProgPoint::before(first inst)` per block.
    pub block_entry: Column<'a, Block, ProgPoint>,
    /// `ProgPoint::after(last inst)` per block.
    pub block_exit: Column<'a, Block, ProgPoint>,
    /// Predecessors of every block as one compressed array: the preds of
    /// `b` are `preds_sorted[preds_start[b]..preds_start[b + 1]]`, in
    /// increasing order (the client's lists, sorted; `num_blocks + 1`
    /// offsets). A walk over these touches two small arrays instead of
    /// one client list per block.
    pub preds_start: ArenaVec<'a, u32>,
    pub preds_sorted: ArenaVec<'a, Block>,
}

impl CfgInfo<'_> {
    /// The predecessors of `block`, in increasing order.
    #[inline]
    pub fn preds(&self, block: Block) -> &[Block] {
        let from = self.preds_start[block.index()] as usize;
        let to = self.preds_start[block.index() + 1] as usize;
        &self.preds_sorted[from..to]
    }

    /// Whether `a` dominates `b` (every block dominates itself). O(1).
    #[inline]
    pub fn dominates(&self, a: Block, b: Block) -> bool {
        let pre_b = self.dom_pre[b];
        self.dom_pre[a] <= pre_b && pre_b <= self.dom_last[a]
    }

    /// Reverse postorder (the entry first).
    pub fn rpo(&self) -> impl DoubleEndedIterator<Item = Block> + '_ {
        self.postorder.iter().rev().copied()
    }

    /// Checks the documented invariants; panics with a description if one
    /// fails. For tests and debug builds.
    pub fn check_invariants(&self, entry: Block) {
        let n = self.rpo_index.len();
        assert_eq!(self.postorder.len(), n, "every block is reachable");
        for (i, &b) in self.postorder.iter().rev().enumerate() {
            assert_eq!(self.rpo_index[b] as usize, i, "rpo_index of {b:?}");
        }
        for b in (0..n).map(Block::new) {
            let d = self.idom[b];
            if b == entry {
                assert!(d.is_invalid(), "the entry has no idom");
            } else {
                assert!(d.is_valid(), "{b:?} has an idom");
                assert!(
                    self.rpo_index[d] < self.rpo_index[b],
                    "idom precedes in RPO"
                );
                assert!(self.dominates(d, b) && !self.dominates(b, d));
            }
            assert!(self.dom_pre[b] <= self.dom_last[b]);
        }
    }
}

/// Checks the CFG's structure and computes [`CfgInfo`].
///
/// Order of checks (the first failure is returned): block ranges,
/// terminators and edge lists ([`check_blocks`]), edge-list consistency
/// ([`check_edge_lists`]), branch-argument counts and entry params
/// ([`check_branch_arity`]), reachability ([`compute_postorder`]), then
/// critical edges and branch operands in block order
/// ([`check_critical_edges`]).
// Kept out of line so profiles show the phase (one call per run).
#[inline(never)]
pub fn analyze<'a, F: Function>(func: &F, arena: &'a Arena) -> Result<CfgInfo<'a>, RegAllocError> {
    analyze_in(func, arena, Detail::Full)
}

/// As [`analyze`] (the same checks, so the same errors), for the
/// single-pass allocator, which reads only `postorder` and `dominates`:
/// `loop_header`, `loop_depth`, `insn_loop_depth`, `insn_block`,
/// `block_entry` and `block_exit` are left empty. About a fifth of the
/// front end's work, skipped on a tier that exists to be cheap.
#[inline(never)]
pub fn analyze_for_single_pass<'a, F: Function>(
    func: &F,
    arena: &'a Arena,
) -> Result<CfgInfo<'a>, RegAllocError> {
    analyze_in(func, arena, Detail::Dominators)
}

/// How much of [`CfgInfo`] to compute (the checks are the same).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Detail {
    /// Everything (Ion).
    Full,
    /// Postorder, RPO numbers and the dominator tree only.
    Dominators,
}

#[inline(always)]
fn analyze_in<'a, F: Function>(
    func: &F,
    arena: &'a Arena,
    detail: Detail,
) -> Result<CfgInfo<'a>, RegAllocError> {
    let full = detail == Detail::Full;
    let (insn_block, block_entry, block_exit) = check_blocks(func, arena, full)?;
    // One walk over the blocks checks the edge lists and finds the first
    // arity and critical-edge errors, reported below in the order the
    // separate checks run (`check_branch_arity`, postorder,
    // `check_critical_edges`), so the error is the same.
    let (preds_start, preds_sorted, later) = check_edges(func, arena)?;
    later.arity.map_or(Ok(()), Err)?;
    check_entry_params(func)?;
    let postorder = compute_postorder(func, arena)?;
    later.critical.map_or(Ok(()), Err)?;

    let num_blocks = func.num_blocks();
    let mut rpo_index = Column::filled_in(num_blocks, u32::MAX, arena);
    for (i, &b) in postorder.iter().rev().enumerate() {
        rpo_index[b] = i as u32;
    }
    let idom = compute_idom(
        func.entry_block(),
        &postorder,
        &rpo_index,
        (&preds_start, &preds_sorted),
        arena,
    );
    let (dom_pre, dom_last) = number_dominator_tree(&postorder, &idom, arena);
    if !full {
        let info = CfgInfo {
            postorder,
            rpo_index,
            idom,
            dom_pre,
            dom_last,
            loop_header: Column::new_in(arena),
            loop_depth: Column::new_in(arena),
            insn_block,
            insn_loop_depth: Column::new_in(arena),
            block_entry,
            block_exit,
            preds_start,
            preds_sorted,
        };
        #[cfg(debug_assertions)]
        info.check_invariants(func.entry_block());
        return Ok(info);
    }
    let (loop_header, loop_depth) =
        compute_loop_depth(func, &postorder, &rpo_index, &dom_pre, &dom_last, arena);
    let mut insn_loop_depth = Column::with_capacity_in(insn_block.len(), arena);
    for b in 0..num_blocks {
        let insts = func.block_insns(Block::new(b));
        let depth = u8::try_from(loop_depth[Block::new(b)]).unwrap_or(u8::MAX);
        // Blocks cover the instructions in order (`check_blocks`).
        insn_loop_depth.resize(insts.last().index() + 1, depth);
    }

    let info = CfgInfo {
        postorder,
        rpo_index,
        idom,
        dom_pre,
        dom_last,
        loop_header,
        loop_depth,
        insn_block,
        insn_loop_depth,
        block_entry,
        block_exit,
        preds_start,
        preds_sorted,
    };
    #[cfg(debug_assertions)]
    info.check_invariants(func.entry_block());
    Ok(info)
}

/// Checks that there are blocks, the entry is one of them, block ranges
/// partition `0..num_insts` in block order with no empty block, each block
/// ends in a branch or return (that it is the block's only one is left to
/// validation's walk over the instructions), a return block has no successors,
/// and every successor and predecessor index is in range. On success
/// returns what the same pass finds (when `with_points`; else three empty
/// columns): the block of each instruction and each block's entry and exit
/// points.
///
/// Errors: `BB(entry)` for no blocks or an entry out of range; `BB(succ)`
/// for a successor out of range (as regalloc2's postorder reports it);
/// otherwise `BB(block)` naming the malformed block.
#[allow(clippy::type_complexity)]
pub fn check_blocks<'a, F: Function>(
    func: &F,
    arena: &'a Arena,
    with_points: bool,
) -> Result<
    (
        Column<'a, Inst, Block>,
        Column<'a, Block, ProgPoint>,
        Column<'a, Block, ProgPoint>,
    ),
    RegAllocError,
> {
    let num_blocks = func.num_blocks();
    let num_insts = func.num_insts();
    let entry = func.entry_block();
    if num_blocks == 0 || entry.0 as usize >= num_blocks {
        return Err(RegAllocError::BB(entry));
    }
    // The first tables sized by the input's counts: failing to get their
    // memory is an error (`TooManyLiveRegs`, see validate::check_sizes),
    // not an abort.
    let oom = || RegAllocError::TooManyLiveRegs;
    let rows = |n: usize| if with_points { n } else { 0 };
    let mut insn_block: Column<Inst, Block> =
        Column::try_with_capacity_in(rows(num_insts), arena).ok_or_else(oom)?;
    let mut block_entry = Column::try_with_capacity_in(rows(num_blocks), arena).ok_or_else(oom)?;
    let mut block_exit = Column::try_with_capacity_in(rows(num_blocks), arena).ok_or_else(oom)?;
    // The index where the next block must start.
    let mut next_start: u64 = 0;
    for b in (0..num_blocks).map(Block::new) {
        // The first read of the block lists: ask for those a few blocks
        // ahead (a hint only).
        #[cfg(target_arch = "x86_64")]
        if b.index() + 4 < num_blocks {
            let ahead = Block::new(b.index() + 4);
            for list in [func.block_succs(ahead), func.block_preds(ahead)] {
                // SAFETY: a prefetch reads nothing and cannot fault.
                unsafe {
                    core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(
                        list.as_ptr().cast(),
                    );
                }
            }
        }
        let (from, to) = func.block_insns(b).bounds();
        let (from, to) = (u64::from(from.0), u64::from(to.0));
        if from != next_start || to <= from || to > num_insts as u64 {
            return Err(RegAllocError::BB(b));
        }
        next_start = to;
        let last = Inst::new(to as usize - 1);
        // A branch or return before the last instruction is refused by
        // `validate::check_operands`, in its pass over the instructions
        // (one walk over them instead of two; nothing before it looks at
        // an instruction other than a block's last).
        let is_ret = func.is_ret(last);
        if !(is_ret || func.is_branch(last)) {
            return Err(RegAllocError::BB(b));
        }
        let succs = func.block_succs(b);
        if is_ret && !succs.is_empty() {
            return Err(RegAllocError::BB(b));
        }
        if let Some(&bad) = succs.iter().find(|s| s.0 as usize >= num_blocks) {
            return Err(RegAllocError::BB(bad));
        }
        if func
            .block_preds(b)
            .iter()
            .any(|p| p.0 as usize >= num_blocks)
        {
            return Err(RegAllocError::BB(b));
        }
        if with_points {
            // Ranges are contiguous and within `num_insts`: the column
            // stays within its capacity.
            insn_block.raw_mut().resize(to as usize, b);
            block_entry.push(ProgPoint::before(Inst::new(from as usize)));
            block_exit.push(ProgPoint::after(last));
        }
    }
    if next_start != num_insts as u64 {
        // Instructions after the last block belong to no block.
        return Err(RegAllocError::BB(Block::new(num_blocks - 1)));
    }
    Ok((insn_block, block_entry, block_exit))
}

/// Checks that the successor and predecessor lists describe the same edges
/// with the same multiplicity: `t` appears in `succs(f)` exactly as often
/// as `f` appears in `preds(t)`. Error: `BB(t)` for the first block (in
/// index order) whose predecessor list disagrees. On success returns the
/// predecessor lists, sorted, as one compressed array (offsets, preds):
/// see [`CfgInfo::preds`].
///
/// Requires [`check_blocks`]. O(E + sum of sorting each pred list).
#[allow(clippy::type_complexity)]
pub fn check_edge_lists<'a, F: Function>(
    func: &F,
    arena: &'a Arena,
) -> Result<(ArenaVec<'a, u32>, ArenaVec<'a, Block>), RegAllocError> {
    check_edges(func, arena).map(|(start, sources, _)| (start, sources))
}

/// The first errors [`check_branch_arity`]'s block loop and
/// [`check_critical_edges`] would report, found during [`check_edges`].
#[derive(Debug, Default)]
pub struct LaterEdgeErrors {
    pub arity: Option<RegAllocError>,
    pub critical: Option<RegAllocError>,
}

/// [`check_edge_lists`], whose walk over the blocks also finds the first
/// branch-arity and critical-edge errors (returned, not raised: they rank
/// below the errors found before them, see `analyze_in`).
#[allow(clippy::type_complexity)]
pub fn check_edges<'a, F: Function>(
    func: &F,
    arena: &'a Arena,
) -> Result<(ArenaVec<'a, u32>, ArenaVec<'a, Block>, LaterEdgeErrors), RegAllocError> {
    let num_blocks = func.num_blocks();
    // Bucket the successor edges by target (counting sort); within a
    // bucket the sources come out ascending because `f` is visited in order.
    let mut start: ArenaVec<u32> = ArenaVec::with_capacity_in(num_blocks + 1, arena);
    start.resize(num_blocks + 1, 0);
    for f in (0..num_blocks).map(Block::new) {
        for &t in func.block_succs(f) {
            start[t.index() + 1] += 1;
        }
    }
    for i in 0..num_blocks {
        start[i + 1] += start[i];
    }
    let num_edges = start[num_blocks] as usize;
    let mut sources: ArenaVec<Block> = ArenaVec::with_capacity_in(num_edges, arena);
    sources.resize(num_edges, Block::invalid());
    let mut fill: ArenaVec<u32> = ArenaVec::with_capacity_in(num_blocks, arena);
    fill.extend_from_slice(&start[..num_blocks]);
    for f in (0..num_blocks).map(Block::new) {
        for &t in func.block_succs(f) {
            sources[fill[t.index()] as usize] = f;
            fill[t.index()] += 1;
        }
    }
    let mut preds_sorted: ArenaVec<Block> = ArenaVec::new_in(arena);
    let mut later = LaterEdgeErrors::default();
    for t in (0..num_blocks).map(Block::new) {
        let expected = &sources[start[t.index()] as usize..start[t.index() + 1] as usize];
        let preds = func.block_preds(t);
        // Client lists are usually sorted already: compare them in place.
        let agrees = if preds.windows(2).all(|w| w[0] <= w[1]) {
            preds == expected
        } else {
            preds_sorted.clear();
            preds_sorted.extend_from_slice(preds);
            preds_sorted.sort_unstable();
            preds_sorted[..] == *expected
        };
        if !agrees {
            return Err(RegAllocError::BB(t));
        }
        if later.arity.is_none() {
            later.arity = branch_arity_error(func, t);
        }
        if later.critical.is_none() {
            // `expected` is `t`'s predecessor list, sorted (it agrees).
            later.critical = critical_edge_error(func, t, &start, expected);
        }
    }
    Ok((start, sources, later))
}

/// Checks that a branch passes each successor exactly as many arguments as
/// it has block params (`Branch(branch inst)` otherwise), and that the
/// entry block has no params (`BB(entry)`), as regalloc2's SSA validator
/// does. Requires [`check_blocks`].
pub fn check_branch_arity<F: Function>(func: &F) -> Result<(), RegAllocError> {
    for b in (0..func.num_blocks()).map(Block::new) {
        branch_arity_error(func, b).map_or(Ok(()), Err)?;
    }
    check_entry_params(func)
}

/// `Branch(last)` when `b` ends in a branch passing a successor a number
/// of arguments other than its param count.
fn branch_arity_error<F: Function>(func: &F, b: Block) -> Option<RegAllocError> {
    let last = func.block_insns(b).last();
    if !func.is_branch(last) {
        return None;
    }
    let succs = func.block_succs(b);
    let mismatch = succs.iter().enumerate().any(|(i, &succ)| {
        func.branch_blockparams(b, last, i).len() != func.block_params(succ).len()
    });
    mismatch.then_some(RegAllocError::Branch(last))
}

/// `BB(entry)` when the entry block has params.
fn check_entry_params<F: Function>(func: &F) -> Result<(), RegAllocError> {
    let entry = func.entry_block();
    if !func.block_params(entry).is_empty() {
        return Err(RegAllocError::BB(entry));
    }
    Ok(())
}

/// Depth-first postorder from the entry, iterative (an explicit stack of
/// `(block, next successor index)`). Error: `BB(b)` for the lowest-numbered
/// block the entry cannot reach. Requires [`check_blocks`].
pub fn compute_postorder<'a, F: Function>(
    func: &F,
    arena: &'a Arena,
) -> Result<ArenaVec<'a, Block>, RegAllocError> {
    let num_blocks = func.num_blocks();
    let entry = func.entry_block();
    let mut postorder = ArenaVec::with_capacity_in(num_blocks, arena);
    let mut visited: Column<Block, bool> = Column::filled_in(num_blocks, false, arena);
    // Never deeper than the blocks: room for all of them up front (grown
    // from empty, the first pushes of every run reallocated).
    let mut stack: ArenaVec<(Block, u32)> = ArenaVec::with_capacity_in(num_blocks, arena);
    visited[entry] = true;
    stack.push((entry, 0));
    while let Some(top) = stack.last_mut() {
        let (block, next) = *top;
        match func.block_succs(block).get(next as usize) {
            Some(&succ) => {
                top.1 += 1;
                if !visited[succ] {
                    visited[succ] = true;
                    stack.push((succ, 0));
                }
            }
            None => {
                postorder.push(block);
                stack.pop();
            }
        }
    }
    // Every block visited is in the postorder once: a shorter postorder
    // means an unreachable block, and only then is it looked for.
    if postorder.len() < num_blocks {
        if let Some((b, _)) = visited.iter_enumerated().find(|(_, &seen)| !seen) {
            return Err(RegAllocError::BB(b));
        }
    }
    Ok(postorder)
}

/// The critical-edge and branch-operand rules, block by block in index
/// order exactly as regalloc2 applies them; the entry counts one extra
/// (virtual) predecessor.
///
/// * A block with more than one predecessor whose predecessor `p` has more
///   than one successor: `CritEdge(p, block)`.
/// * A block with a successor that has more than one predecessor (so the
///   edge moves go before the branch) whose branch has any operand:
///   `DisallowedBranchArg(branch)`. Stricter than regalloc2: the same for
///   a branch with clobbers there, which would destroy what the edge moves
///   just wrote (regalloc2 0.15.2 accepts it and returns an allocation
///   that reads a clobbered register; DESIGN.md, "Bad input").
///
/// Requires [`check_blocks`] and [`check_edge_lists`], whose offsets
/// (`preds_start`) give each block's predecessor count.
pub fn check_critical_edges<F: Function>(
    func: &F,
    preds_start: &[u32],
    preds_sorted: &[Block],
) -> Result<(), RegAllocError> {
    for b in (0..func.num_blocks()).map(Block::new) {
        // The sorted copy holds the same predecessors (checked by
        // `check_edge_lists`) in one contiguous array.
        let preds =
            &preds_sorted[preds_start[b.index()] as usize..preds_start[b.index() + 1] as usize];
        critical_edge_error(func, b, preds_start, preds).map_or(Ok(()), Err)?;
    }
    Ok(())
}

/// The critical-edge rules of [`check_critical_edges`] for block `b`, whose
/// predecessors are `preds` (sorted); `preds_start` gives every block's
/// predecessor count.
fn critical_edge_error<F: Function>(
    func: &F,
    b: Block,
    preds_start: &[u32],
    preds: &[Block],
) -> Option<RegAllocError> {
    let entry = func.entry_block();
    let num_preds = |b: Block| {
        (preds_start[b.index() + 1] - preds_start[b.index()]) as usize + usize::from(b == entry)
    };
    if num_preds(b) > 1 {
        // Ascending order finds the lowest-numbered offender, as
        // regalloc2's scan of the client's sorted list does.
        if let Some(&p) = preds.iter().find(|&&p| func.block_succs(p).len() > 1) {
            return Some(RegAllocError::CritEdge(p, b));
        }
    }
    if func.block_succs(b).iter().any(|&s| num_preds(s) > 1) {
        let last = func.block_insns(b).last();
        if !func.inst_operands(last).is_empty()
            || func.inst_clobbers(last) != crate::PRegSet::empty()
        {
            return Some(RegAllocError::DisallowedBranchArg(last));
        }
    }
    None
}

/// Immediate dominators by Cooper–Harvey–Kennedy: iterate over reverse
/// postorder, intersecting the dominator-tree paths of the processed
/// predecessors, until nothing changes. The entry's idom is
/// `Block::invalid()`.
///
/// Predecessors come from `check_edge_lists`' compressed lists
/// (`(preds_start, preds_sorted)`: one contiguous array, not the client's
/// list per block). The first pass is final when every retreating edge it
/// met is a back edge by its result (always so for a reducible graph,
/// which is every function compiled from structured control flow): then
/// no confirming pass runs (the proof is in the loop).
pub fn compute_idom<'a>(
    entry: Block,
    postorder: &[Block],
    rpo_index: &Column<'_, Block, u32>,
    (preds_start, preds_sorted): (&[u32], &[Block]),
    arena: &'a Arena,
) -> Column<'a, Block, Block> {
    let mut idom = Column::filled_in(rpo_index.len(), Block::invalid(), arena);
    // During the iteration the entry is its own idom, which ends the walks.
    idom[entry] = entry;
    // The first pass's retreating edges `(from, to)`: `from` no earlier
    // than `to` in reverse postorder.
    let mut retreating: ArenaVec<(Block, Block)> = ArenaVec::new_in(arena);
    let mut changed = true;
    let mut first_pass = true;
    while changed {
        changed = false;
        for &b in postorder.iter().rev() {
            if b == entry {
                continue;
            }
            let mut new_idom = Block::invalid();
            let preds =
                &preds_sorted[preds_start[b.index()] as usize..preds_start[b.index() + 1] as usize];
            for &p in preds {
                if first_pass && rpo_index[p] >= rpo_index[b] {
                    retreating.push((p, b));
                }
                if idom[p].is_invalid() {
                    continue; // Not processed yet in this pass.
                }
                new_idom = if new_idom.is_invalid() {
                    p
                } else {
                    intersect(&idom, rpo_index, p, new_idom)
                };
            }
            if new_idom.is_valid() && idom[b] != new_idom {
                idom[b] = new_idom;
                changed = true;
            }
        }
        // Why the first pass may be final: it saw only the edges from
        // earlier blocks in reverse postorder (a block's later
        // predecessors had no idom yet), so its result is exact for the
        // graph without the retreating edges. It is exact for the whole
        // graph too when each retreating edge `p -> h` is a back edge of
        // that graph (`h` dominates `p` there): a path to a block that
        // avoids one of its dominators and takes such an edge passes `h`
        // before `p` (every path to `p` does), and cutting out the cycle
        // from `h` round to `h` leaves a path that still avoids it, with
        // one retreating edge fewer; so no path avoids it. This holds for
        // every reducible graph, where a second, confirming pass would
        // change nothing; otherwise the iteration goes on.
        if first_pass
            && retreating
                .iter()
                .all(|&(p, h)| dominates_on_partial_tree(&idom, rpo_index, h, p))
        {
            break;
        }
        first_pass = false;
    }
    idom[entry] = Block::invalid();
    idom
}

/// Whether `a` is `b` or an ancestor of `b` on the partial tree (`idom`
/// with the entry its own parent, every block reached having an idom).
fn dominates_on_partial_tree(
    idom: &Column<'_, Block, Block>,
    rpo_index: &Column<'_, Block, u32>,
    a: Block,
    mut b: Block,
) -> bool {
    // An idom comes earlier in reverse postorder than its block.
    while rpo_index[b] > rpo_index[a] {
        b = idom[b];
    }
    a == b
}

/// The nearest common dominator of `a` and `b` on the partial tree.
fn intersect(
    idom: &Column<'_, Block, Block>,
    rpo_index: &Column<'_, Block, u32>,
    mut a: Block,
    mut b: Block,
) -> Block {
    while a != b {
        while rpo_index[a] > rpo_index[b] {
            a = idom[a];
        }
        while rpo_index[b] > rpo_index[a] {
            b = idom[b];
        }
    }
    a
}

/// Preorder numbers of the dominator tree and, per block, the last number
/// in its subtree (children in reverse postorder). Two passes, no child
/// lists: subtree sizes in postorder (a block comes before its immediate
/// dominator there, as it is a descendant of it in the depth-first tree),
/// then numbers in reverse postorder, each child taking the next free
/// stretch of its parent's numbers. (A child list by counting sort and
/// an explicit-stack walk cost about three times the instructions; the
/// children's order changes the numbers, not what they say.)
pub fn number_dominator_tree<'a>(
    postorder: &[Block],
    idom: &Column<'_, Block, Block>,
    arena: &'a Arena,
) -> (Column<'a, Block, u32>, Column<'a, Block, u32>) {
    let n = idom.len();
    // Subtree sizes, kept in `last` until each block is numbered.
    let mut last = Column::filled_in(n, 1u32, arena);
    for &b in postorder {
        let d = idom[b];
        if d.is_valid() {
            last[d] += last[b];
        }
    }
    let mut pre = Column::filled_in(n, 0u32, arena);
    // The next free number within each numbered block's subtree.
    let mut next: Column<Block, u32> = Column::filled_in(n, 0u32, arena);
    for &b in postorder.iter().rev() {
        let d = idom[b];
        // The entry (no idom) is first in reverse postorder: number 0.
        let number = if d.is_valid() {
            let number = next[d];
            next[d] += last[b];
            number
        } else {
            0
        };
        pre[b] = number;
        next[b] = number + 1;
        last[b] = number + last[b] - 1;
    }
    (pre, last)
}

/// Loop headers and natural-loop depth.
///
/// A back edge is `t -> h` with `h` dominating `t`; all back edges into `h`
/// form one loop. Headers are processed in decreasing RPO number (inner
/// loops first, since an outer header dominates and so precedes an inner
/// one). Each loop's body is found by walking predecessors back from its
/// back-edge sources; a block already in an inner loop is represented by
/// that loop's header (union-find), so each block's predecessors are
/// walked once overall. The walk stays inside `h`'s dominance region, so an
/// irreducible cycle (no dominating header) gets no loop.
///
/// Depth then follows in RPO: a block's depth is its innermost enclosing
/// header's depth, plus one if it is a header itself.
pub fn compute_loop_depth<'a, F: Function>(
    func: &F,
    postorder: &[Block],
    rpo_index: &Column<'_, Block, u32>,
    dom_pre: &Column<'_, Block, u32>,
    dom_last: &Column<'_, Block, u32>,
    arena: &'a Arena,
) -> (Column<'a, Block, bool>, Column<'a, Block, u32>) {
    let n = func.num_blocks();
    let dominates = |a: Block, b: Block| dom_pre[a] <= dom_pre[b] && dom_pre[b] <= dom_last[a];
    let mut loop_header = Column::filled_in(n, false, arena);
    // The header of the innermost loop that absorbed each block (for a
    // header: the loop enclosing its own).
    let mut loop_parent: Column<Block, Block> = Column::filled_in(n, Block::invalid(), arena);
    // Union-find over collapsed loops; a root is its own parent.
    let mut uf: Column<Block, Block> = Column::with_capacity_in(n, arena);
    for b in 0..n {
        uf.push(Block::new(b));
    }
    let mut worklist: ArenaVec<Block> = ArenaVec::new_in(arena);

    // Postorder = decreasing RPO number.
    for &h in postorder {
        worklist.clear();
        for &t in func.block_preds(h) {
            if dominates(h, t) {
                loop_header[h] = true;
                worklist.push(t);
            }
        }
        while let Some(x) = worklist.pop() {
            let y = find(&mut uf, x);
            if y == h || !dominates(h, y) || loop_parent[y].is_valid() {
                continue;
            }
            loop_parent[y] = h;
            uf[y] = h;
            worklist.extend_from_slice(func.block_preds(y));
        }
    }

    let mut depth = Column::filled_in(n, 0u32, arena);
    for &b in postorder.iter().rev() {
        let parent = loop_parent[b];
        let outer = if parent.is_valid() {
            debug_assert!(rpo_index[parent] < rpo_index[b]);
            depth[parent]
        } else {
            0
        };
        depth[b] = outer + u32::from(loop_header[b]);
    }
    (loop_header, depth)
}

/// Union-find root with path halving.
fn find(uf: &mut Column<'_, Block, Block>, mut x: Block) -> Block {
    while uf[x] != x {
        let grandparent = uf[uf[x]];
        uf[x] = grandparent;
        x = grandparent;
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::owned::{BlockData, InstData, InstKind};
    use crate::{FunctionData, InstRange};

    /// A function with one instruction per block (each a branch, or a
    /// return when the block has no successors) and these edges.
    fn graph(succs: &[&[usize]]) -> FunctionData {
        let n = succs.len();
        let mut f = FunctionData {
            entry: Block::new(0),
            insts: Vec::new(),
            blocks: Vec::new(),
            num_vregs: 0,
            debug_value_labels: Vec::new(),
            spillslot_sizes: [1, 1, 1],
            multi_spillslot_named_by_last_slot: false,
            allow_multiple_vreg_defs: false,
        };
        for (b, s) in succs.iter().enumerate() {
            f.insts.push(InstData {
                kind: if s.is_empty() {
                    InstKind::Ret
                } else {
                    InstKind::Branch
                },
                ..InstData::default()
            });
            f.blocks.push(BlockData {
                insts: InstRange::new(Inst::new(b), Inst::new(b + 1)),
                succs: s.iter().map(|&t| Block::new(t)).collect(),
                preds: Vec::new(),
                params: Vec::new(),
                branch_args: vec![Vec::new(); s.len()],
            });
        }
        assert_eq!(f.blocks.len(), n);
        f.recompute_preds();
        f
    }

    fn depths(info: &CfgInfo) -> Vec<u32> {
        info.loop_depth.iter().copied().collect()
    }

    #[test]
    fn diamond() {
        // 0 -> {1, 2} -> 3
        let f = graph(&[&[1, 2], &[3], &[3], &[]]);
        let arena = Arena::new();
        let info = analyze(&f, &arena).unwrap();
        info.check_invariants(f.entry);
        assert_eq!(*info.postorder.last().unwrap(), Block::new(0));
        let idom: Vec<Block> = info.idom.iter().copied().collect();
        assert_eq!(
            idom,
            vec![
                Block::invalid(),
                Block::new(0),
                Block::new(0),
                Block::new(0)
            ]
        );
        assert!(info.dominates(Block::new(0), Block::new(3)));
        assert!(!info.dominates(Block::new(1), Block::new(3)));
        assert_eq!(depths(&info), vec![0, 0, 0, 0]);
        assert_eq!(
            info.block_entry[Block::new(2)],
            ProgPoint::before(Inst::new(2))
        );
        assert_eq!(
            info.block_exit[Block::new(2)],
            ProgPoint::after(Inst::new(2))
        );
        assert_eq!(info.insn_block[Inst::new(3)], Block::new(3));
    }

    #[test]
    fn nested_loops() {
        // 0 -> 1 (outer header) -> 2 (inner header) -> 3 -> {2 via 4, 5}
        // 4 -> 2 (inner back edge); 5 -> {1 via 6, 7}; 6 -> 1; 7 ret.
        let f = graph(&[&[1], &[2], &[3], &[4, 5], &[2], &[6, 7], &[1], &[]]);
        let arena = Arena::new();
        let info = analyze(&f, &arena).unwrap();
        info.check_invariants(f.entry);
        assert_eq!(depths(&info), vec![0, 1, 2, 2, 2, 1, 1, 0]);
        let headers: Vec<bool> = info.loop_header.iter().copied().collect();
        assert_eq!(
            headers,
            vec![false, true, true, false, false, false, false, false]
        );
        assert_eq!(info.idom[Block::new(7)], Block::new(5));
    }

    #[test]
    fn self_loop_has_depth_one() {
        // Block 1 loops on itself through block 2 (split back edge).
        let f = graph(&[&[1], &[2, 3], &[1], &[]]);
        let arena = Arena::new();
        let info = analyze(&f, &arena).unwrap();
        assert_eq!(depths(&info), vec![0, 1, 1, 0]);
    }

    /// Dominators by definition: `d` dominates `b` when `b` cannot be
    /// reached from the entry without passing `d`.
    fn dominators_by_removal(succs: &[Vec<usize>]) -> Vec<Vec<bool>> {
        let n = succs.len();
        let reach_without = |removed: usize| {
            let mut seen = vec![false; n];
            let mut stack = vec![];
            if removed != 0 {
                seen[0] = true;
                stack.push(0);
            }
            while let Some(b) = stack.pop() {
                for &s in &succs[b] {
                    if s != removed && !seen[s] {
                        seen[s] = true;
                        stack.push(s);
                    }
                }
            }
            seen
        };
        (0..n)
            .map(|d| {
                let seen = reach_without(d);
                (0..n).map(|b| b == d || !seen[b]).collect()
            })
            .collect()
    }

    #[test]
    fn idoms_match_dominators_by_definition_on_random_graphs() {
        // Random graphs: a random tree from the entry (so every block is
        // reached) plus random edges, back edges and irreducible cycles
        // included. The first pass alone is final for the reducible ones;
        // both kinds must come out right.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |bound: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % bound as u64) as usize
        };
        let (mut reducible, mut irreducible) = (0, 0);
        for _ in 0..3000 {
            let n = 1 + next(12);
            let mut succs: Vec<Vec<usize>> = vec![Vec::new(); n];
            for b in 1..n {
                succs[next(b)].push(b);
            }
            for _ in 0..next(2 * n) {
                let (from, to) = (next(n), next(n));
                succs[from].push(to);
            }
            let lists: Vec<&[usize]> = succs.iter().map(|s| &s[..]).collect();
            let f = graph(&lists);
            let arena = Arena::new();
            let (start, sources, _) = check_edges(&f, &arena).unwrap();
            let postorder = compute_postorder(&f, &arena).unwrap();
            let mut rpo_index = Column::filled_in(n, u32::MAX, &arena);
            for (i, &b) in postorder.iter().rev().enumerate() {
                rpo_index[b] = i as u32;
            }
            let idom = compute_idom(
                Block::new(0),
                &postorder,
                &rpo_index,
                (&start, &sources),
                &arena,
            );
            let dom = dominators_by_removal(&succs);
            for b in 1..n {
                // The idom: the strict dominator that all the others
                // dominate.
                let strict: Vec<usize> = (0..n).filter(|&d| d != b && dom[d][b]).collect();
                let expected = strict
                    .iter()
                    .copied()
                    .find(|&d| strict.iter().all(|&e| dom[e][d]))
                    .unwrap();
                assert_eq!(idom[Block::new(b)], Block::new(expected), "{succs:?}");
            }
            assert!(idom[Block::new(0)].is_invalid());
            let has_irreducible_edge = (0..n).any(|p| {
                succs[p]
                    .iter()
                    .any(|&h| rpo_index[Block::new(p)] >= rpo_index[Block::new(h)] && !dom[h][p])
            });
            if has_irreducible_edge {
                irreducible += 1;
            } else {
                reducible += 1;
            }
        }
        assert!(
            reducible > 300 && irreducible > 300,
            "{reducible} {irreducible}"
        );
    }

    #[test]
    fn irreducible_cycle_is_handled() {
        // 0 -> {1, 2}; 1 <-> 2 through split blocks 3 (1->2) and 4 (2->1);
        // neither 1 nor 2 dominates the other, so there is no natural loop.
        // Edges out of 1 and 2 are split too (5, 6) so nothing is critical.
        let f = graph(&[
            &[7, 8], // 0
            &[3, 5], // 1
            &[4, 6], // 2
            &[2],    // 3
            &[1],    // 4
            &[9],    // 5
            &[9],    // 6
            &[1],    // 7
            &[2],    // 8
            &[],     // 9
        ]);
        let arena = Arena::new();
        let info = analyze(&f, &arena).unwrap();
        info.check_invariants(f.entry);
        assert!(depths(&info).iter().all(|&d| d == 0));
        assert_eq!(info.idom[Block::new(1)], Block::new(0));
        assert_eq!(info.idom[Block::new(2)], Block::new(0));
        assert_eq!(info.idom[Block::new(9)], Block::new(0));
    }

    #[test]
    fn critical_edge_is_reported() {
        // 0 -> {1, 2}, 1 -> 2: the edge 0 -> 2 is critical.
        let f = graph(&[&[1, 2], &[2], &[]]);
        let arena = Arena::new();
        assert_eq!(
            analyze(&f, &arena).unwrap_err(),
            RegAllocError::CritEdge(Block::new(0), Block::new(2))
        );
    }

    #[test]
    fn edge_into_entry_counts_the_virtual_pred() {
        // 0 -> {1, 2}; 1 -> 0: the entry has one real pred plus the
        // virtual one, and 1 has one successor, so no critical edge; but
        // block 1's branch may not carry operands.
        let mut f = graph(&[&[1, 2], &[0], &[]]);
        let arena = Arena::new();
        analyze(&f, &arena).unwrap();
        f.insts[1]
            .operands
            .push(crate::Operand::fixed_nonallocatable(crate::PReg::new(
                5,
                crate::RegClass::Int,
            )));
        assert_eq!(
            analyze(&f, &arena).unwrap_err(),
            RegAllocError::DisallowedBranchArg(Inst::new(1))
        );
    }

    #[test]
    fn branch_clobbers_before_a_join_are_refused() {
        // 0 -> {1, 2}; 1 -> 3; 2 -> 3: clobbers on 0's branch are fine
        // (its successors' edge moves go after it), on 1's branch they
        // would destroy the edge moves into 3.
        let mut f = graph(&[&[1, 2], &[3], &[3], &[]]);
        let arena = Arena::new();
        let r5 = crate::PReg::new(5, crate::RegClass::Int);
        f.insts[0].clobbers.add(r5);
        analyze(&f, &arena).unwrap();
        f.insts[1].clobbers.add(r5);
        assert_eq!(
            analyze(&f, &arena).unwrap_err(),
            RegAllocError::DisallowedBranchArg(Inst::new(1))
        );
    }

    #[test]
    fn structural_errors() {
        let arena = Arena::new();
        let base = graph(&[&[1], &[2], &[]]);
        let err = |f: &FunctionData| analyze(f, &arena).unwrap_err();

        let mut f = base.clone();
        f.blocks.clear();
        assert_eq!(err(&f), RegAllocError::BB(Block::new(0)));

        let mut f = base.clone();
        f.entry = Block::new(7);
        assert_eq!(err(&f), RegAllocError::BB(Block::new(7)));

        let mut f = base.clone();
        f.blocks[1].insts = InstRange::new(Inst::new(1), Inst::new(1));
        assert_eq!(err(&f), RegAllocError::BB(Block::new(1)));

        let mut f = base.clone();
        f.blocks[2].insts = InstRange::new(Inst::new(2), Inst::new(9));
        assert_eq!(err(&f), RegAllocError::BB(Block::new(2)));

        let mut f = base.clone();
        f.insts[1].kind = InstKind::Op;
        assert_eq!(err(&f), RegAllocError::BB(Block::new(1)));

        let mut f = base.clone();
        f.blocks[0].succs[0] = Block::new(40);
        assert_eq!(err(&f), RegAllocError::BB(Block::new(40)));

        let mut f = base.clone();
        f.blocks[1].preds.push(Block::new(2));
        assert_eq!(err(&f), RegAllocError::BB(Block::new(1)));

        let mut f = base.clone();
        f.blocks[2].preds.push(Block::new(99));
        assert_eq!(err(&f), RegAllocError::BB(Block::new(2)));

        let mut f = base.clone();
        f.blocks[2].succs.push(Block::new(0));
        f.recompute_preds();
        assert_eq!(err(&f), RegAllocError::BB(Block::new(2)));

        // Unreachable block 3.
        let f = graph(&[&[1], &[], &[3], &[]]);
        assert_eq!(err(&f), RegAllocError::BB(Block::new(2)));

        let mut f = base.clone();
        f.blocks[1]
            .params
            .push(crate::VReg::new(0, crate::RegClass::Int));
        f.num_vregs = 1;
        assert_eq!(err(&f), RegAllocError::Branch(Inst::new(0)));

        let mut f = base.clone();
        f.insts.push(InstData::default());
        assert_eq!(err(&f), RegAllocError::BB(Block::new(2)));
    }

    /// The checks one after the other, in the order `analyze` reports
    /// them: what its fused walk must agree with.
    #[cfg(feature = "arbitrary")]
    fn separate_checks(func: &FunctionData) -> Result<(), RegAllocError> {
        let arena = Arena::new();
        check_blocks(func, &arena, true)?;
        let (start, sorted) = check_edge_lists(func, &arena)?;
        check_branch_arity(func)?;
        compute_postorder(func, &arena)?;
        check_critical_edges(func, &start, &sorted)?;
        Ok(())
    }

    /// (Needs the generator, behind `arbitrary`; `cargo test --workspace`
    /// enables it through the tools crate.)
    #[cfg(feature = "arbitrary")]
    #[test]
    fn fused_edge_checks_report_what_the_separate_checks_report() {
        let opts = crate::gen::GenOptions {
            target_insts: 40,
            ..crate::gen::GenOptions::default()
        };
        let mut errors_seen = std::collections::BTreeSet::new();
        for seed in 0..400u64 {
            let (mut func, _) = crate::gen::generate_from_seed(seed, &opts);
            // One to three structural faults, chosen by the seed.
            let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
            let mut next = |n: usize| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state % n.max(1) as u64) as usize
            };
            for _ in 0..1 + next(3) {
                let nb = func.blocks.len();
                let b = next(nb);
                match next(6) {
                    0 => {
                        let t = Block::new(next(nb));
                        func.blocks[b].succs.push(t);
                        func.blocks[b].branch_args.push(Vec::new());
                    }
                    1 => {
                        func.blocks[b].preds.pop();
                    }
                    2 => {
                        if let Some(args) = func.blocks[b].branch_args.first_mut() {
                            args.push(crate::VReg::new(0, crate::RegClass::Int));
                        }
                    }
                    3 => {
                        let last = func.blocks[b].insts.last().index();
                        func.insts[last]
                            .operands
                            .push(crate::Operand::reg_use(crate::VReg::new(
                                0,
                                crate::RegClass::Int,
                            )));
                    }
                    4 => {
                        let t = next(nb);
                        func.blocks[t].preds.push(Block::new(b));
                        func.blocks[b].succs.push(Block::new(t));
                        func.blocks[b].branch_args.push(Vec::new());
                    }
                    _ => {
                        func.blocks[b]
                            .params
                            .push(crate::VReg::new(1, crate::RegClass::Int));
                    }
                }
            }
            let arena = Arena::new();
            let fused = analyze(&func, &arena).map(|_| ());
            let separate = separate_checks(&func);
            assert_eq!(fused, separate, "seed {seed}");
            if let Err(e) = fused {
                errors_seen.insert(format!("{e:?}").split('(').next().unwrap().to_string());
            }
        }
        // The faults reach more than one kind of error.
        assert!(errors_seen.len() >= 3, "{errors_seen:?}");
    }
}
