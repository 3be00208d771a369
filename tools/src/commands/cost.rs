//! Counting an allocation's inserted moves and weighing them by loop depth.
//!
//! Reads a [`FunctionData`], its [`MachineEnv`] and an [`Output`]; writes an
//! [`EditCounts`]. Loop depth is natural-loop nesting depth, computed here
//! from the CFG alone (so both allocators are scored by the same ruler):
//! dominators by the iterative algorithm of Cooper, Harvey and Kennedy
//! ("A Simple, Fast Dominance Algorithm", 2001) over reverse postorder;
//! every edge `tail → head` where `head` dominates `tail` is a back edge;
//! a loop is a header with all its back edges, its body the blocks that
//! reach a back-edge tail without passing the header. A block's depth is
//! the number of loop bodies it lies in. Unreachable blocks have depth 0.
//!
//! Cost model: each edit weighs `4^min(depth, 10)` of the block holding the
//! instruction of its program point, times 1 for a register move, 2 for a
//! spill or a reload, 4 for a stack-to-stack move. A `PReg` listed in
//! `fixed_stack_slots` names a stack location, so it counts as stack.

use regarena::owned::FunctionData;
use regarena::{Allocation, Block, Edit, MachineEnv, Output};

/// Natural-loop nesting depth of every block (index = block index).
/// Linear in blocks and edges per dominator pass, plus the sum of loop
/// body sizes.
pub fn loop_depths(func: &FunctionData) -> Vec<u32> {
    let n = func.blocks.len();
    let mut depth = vec![0u32; n];
    if n == 0 || func.entry.index() >= n {
        return depth;
    }
    let succs = |b: usize| {
        func.blocks[b]
            .succs
            .iter()
            .map(|s| s.index())
            .filter(move |&s| s < n)
    };
    // Postorder by an explicit stack: (block, next successor to visit).
    let mut postorder = Vec::with_capacity(n);
    let mut visited = vec![false; n];
    let mut stack = vec![(func.entry.index(), 0usize)];
    visited[func.entry.index()] = true;
    while let Some(&mut (b, ref mut next)) = stack.last_mut() {
        let s = func.blocks[b].succs.get(*next).map(|s| s.index());
        *next += 1;
        match s {
            Some(s) if s < n && !visited[s] => {
                visited[s] = true;
                stack.push((s, 0));
            }
            Some(_) => {}
            None => {
                postorder.push(b);
                stack.pop();
            }
        }
    }
    const NONE: usize = usize::MAX;
    let mut rpo_index = vec![NONE; n];
    for (i, &b) in postorder.iter().rev().enumerate() {
        rpo_index[b] = i;
    }
    // Predecessors from successor lists, so a file whose pred lists
    // disagree with its succ lists cannot mislead the analysis.
    let mut preds = vec![Vec::new(); n];
    for &b in &postorder {
        for s in succs(b) {
            preds[s].push(b);
        }
    }
    let mut idom = vec![NONE; n];
    let entry = func.entry.index();
    idom[entry] = entry;
    let intersect = |idom: &[usize], mut a: usize, mut b: usize| {
        while a != b {
            while rpo_index[a] > rpo_index[b] {
                a = idom[a];
            }
            while rpo_index[b] > rpo_index[a] {
                b = idom[b];
            }
        }
        a
    };
    let mut changed = true;
    while changed {
        changed = false;
        for &b in postorder.iter().rev().skip(1) {
            let mut new_idom = NONE;
            for &p in &preds[b] {
                if idom[p] != NONE {
                    new_idom = if new_idom == NONE {
                        p
                    } else {
                        intersect(&idom, p, new_idom)
                    };
                }
            }
            if new_idom != idom[b] {
                idom[b] = new_idom;
                changed = true;
            }
        }
    }
    let dominates = |a: usize, mut b: usize| loop {
        if a == b {
            return true;
        }
        if b == entry {
            return false;
        }
        b = idom[b];
    };
    // One loop per header, in RPO so the walk is deterministic.
    let mut in_body = vec![u32::MAX; n];
    let mut work = Vec::new();
    for &head in postorder.iter().rev() {
        let tails: Vec<usize> = preds[head]
            .iter()
            .copied()
            .filter(|&t| dominates(head, t))
            .collect();
        if tails.is_empty() {
            continue;
        }
        let mark = head as u32;
        in_body[head] = mark;
        depth[head] += 1;
        work.clear();
        for t in tails {
            if in_body[t] != mark {
                in_body[t] = mark;
                depth[t] += 1;
                work.push(t);
            }
        }
        while let Some(b) = work.pop() {
            for &p in &preds[b] {
                if in_body[p] != mark {
                    in_body[p] = mark;
                    depth[p] += 1;
                    work.push(p);
                }
            }
        }
    }
    depth
}

/// The block of every instruction (index = instruction index);
/// `Block::invalid()` for an instruction no block holds.
pub fn inst_blocks(func: &FunctionData) -> Vec<Block> {
    let mut block_of = vec![Block::invalid(); func.insts.len()];
    for (b, data) in func.blocks.iter().enumerate() {
        for inst in data.insts.iter() {
            if let Some(slot) = block_of.get_mut(inst.index()) {
                *slot = Block::new(b);
            }
        }
    }
    block_of
}

/// An allocation's inserted moves, counted and weighed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct EditCounts {
    /// Register to register.
    pub moves: u64,
    /// Register to stack.
    pub spills: u64,
    /// Stack to register.
    pub reloads: u64,
    /// Stack to stack.
    pub stack_moves: u64,
    /// `Output::num_spillslots`, summed.
    pub spillslots: u64,
    /// Σ over edits of `4^min(loop depth, 10) × (1 | 2 | 4)`.
    pub weighted_cost: u64,
}

impl std::ops::AddAssign for EditCounts {
    fn add_assign(&mut self, o: EditCounts) {
        self.moves += o.moves;
        self.spills += o.spills;
        self.reloads += o.reloads;
        self.stack_moves += o.stack_moves;
        self.spillslots += o.spillslots;
        self.weighted_cost += o.weighted_cost;
    }
}

/// A function's CFG facts the cost model needs, computed once and shared
/// by both allocators' outputs.
#[derive(Clone, Debug)]
pub struct CostModel {
    /// Loop-depth weight `4^min(depth, 10)` of each instruction's block.
    inst_weight: Vec<u64>,
    fixed_stack: regarena::PRegSet,
}

impl CostModel {
    pub fn new(func: &FunctionData, env: &MachineEnv) -> CostModel {
        let depths = loop_depths(func);
        let inst_weight = inst_blocks(func)
            .iter()
            .map(|b| {
                let d = depths.get(b.index()).copied().unwrap_or(0);
                4u64.pow(d.min(10))
            })
            .collect();
        CostModel {
            inst_weight,
            fixed_stack: env.fixed_stack_slots.iter().copied().collect(),
        }
    }

    fn on_stack(&self, a: Allocation) -> bool {
        a.is_stack() || a.as_reg().is_some_and(|r| self.fixed_stack.contains(r))
    }

    /// Counts and weighs `out`'s edits.
    pub fn count(&self, out: &Output) -> EditCounts {
        let mut c = EditCounts {
            spillslots: out.num_spillslots as u64,
            ..EditCounts::default()
        };
        for (point, edit) in &out.edits {
            let Edit::Move { from, to } = *edit;
            let kind_weight = match (self.on_stack(from), self.on_stack(to)) {
                (false, false) => {
                    c.moves += 1;
                    1
                }
                (false, true) => {
                    c.spills += 1;
                    2
                }
                (true, false) => {
                    c.reloads += 1;
                    2
                }
                (true, true) => {
                    c.stack_moves += 1;
                    4
                }
            };
            let depth_weight = self
                .inst_weight
                .get(point.inst().index())
                .copied()
                .unwrap_or(1);
            c.weighted_cost += depth_weight * kind_weight;
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use regarena::owned::{BlockData, InstData, InstKind};
    use regarena::{Inst, InstRange, PReg, ProgPoint, RegClass, SpillSlot};

    /// One instruction per block; `edges[b]` are block `b`'s successors.
    fn cfg(edges: &[&[usize]]) -> FunctionData {
        let n = edges.len();
        let mut preds = vec![Vec::new(); n];
        for (b, ss) in edges.iter().enumerate() {
            for &s in *ss {
                preds[s].push(Block::new(b));
            }
        }
        FunctionData {
            entry: Block::new(0),
            insts: (0..n)
                .map(|b| InstData {
                    kind: if edges[b].is_empty() {
                        InstKind::Ret
                    } else {
                        InstKind::Branch
                    },
                    ..InstData::default()
                })
                .collect(),
            blocks: (0..n)
                .map(|b| BlockData {
                    insts: InstRange::new(Inst::new(b), Inst::new(b + 1)),
                    succs: edges[b].iter().map(|&s| Block::new(s)).collect(),
                    preds: preds[b].clone(),
                    params: Vec::new(),
                    branch_args: edges[b].iter().map(|_| Vec::new()).collect(),
                })
                .collect(),
            num_vregs: 0,
            debug_value_labels: Vec::new(),
            spillslot_sizes: [1, 1, 1],
            multi_spillslot_named_by_last_slot: false,
            allow_multiple_vreg_defs: false,
        }
    }

    #[test]
    fn nested_loops_have_nested_depths() {
        // 0 → 1 (outer header) → 2 (inner header) ⇄ 3, 3 → 1, 1 → 4 exit; 5 unreachable.
        let f = cfg(&[&[1], &[2, 4], &[3], &[2, 1], &[], &[4]]);
        assert_eq!(loop_depths(&f), vec![0, 1, 2, 2, 0, 0]);
    }

    #[test]
    fn two_back_edges_to_one_header_are_one_loop() {
        // 1 is the header; 2 and 3 both branch back to it.
        let f = cfg(&[&[1], &[2, 3], &[1], &[1, 4], &[]]);
        assert_eq!(loop_depths(&f), vec![0, 1, 1, 1, 0]);
    }

    #[test]
    fn irreducible_cycle_is_not_a_natural_loop() {
        // 0 → 1, 0 → 2, 1 ⇄ 2: neither 1 nor 2 dominates the other.
        let f = cfg(&[&[1, 2], &[2], &[1]]);
        assert_eq!(loop_depths(&f), vec![0, 0, 0]);
    }

    /// The tools' ruler agrees with the allocator's own CFG analysis on
    /// every sample function (two independent implementations).
    #[test]
    fn loop_depths_agree_with_core_cfg_analysis() {
        let (funcs, errors) = crate::corpus::load_sample();
        assert!(errors.is_empty());
        let arena = regarena::tables::Arena::new();
        let mut loops = 0;
        for cf in &funcs {
            let info =
                regarena::cfg::analyze(&cf.func, &arena).expect("sample functions are valid");
            let core: Vec<u32> = info.loop_depth.iter().copied().collect();
            let ours = loop_depths(&cf.func);
            assert_eq!(ours, core, "{}", cf.path.display());
            loops += ours.iter().filter(|&&d| d > 0).count();
        }
        assert!(loops > 0, "the sample has loops");
    }

    #[test]
    fn edits_are_classified_and_weighed_by_depth() {
        let f = cfg(&[&[1], &[1, 2], &[]]);
        let r = |hw| Allocation::reg(PReg::new(hw, RegClass::Int));
        let s = |i| Allocation::stack(SpillSlot::new(i));
        let fixed = PReg::new(40, RegClass::Int);
        let env = MachineEnv {
            preferred_regs_by_class: Default::default(),
            non_preferred_regs_by_class: Default::default(),
            scratch_by_class: [None; 3],
            fixed_stack_slots: vec![fixed],
        };
        let out = Output {
            num_spillslots: 3,
            edits: vec![
                (
                    ProgPoint::before(Inst::new(0)),
                    Edit::Move {
                        from: r(0),
                        to: r(1),
                    },
                ),
                (
                    ProgPoint::before(Inst::new(1)),
                    Edit::Move {
                        from: r(0),
                        to: s(0),
                    },
                ),
                (
                    ProgPoint::after(Inst::new(1)),
                    Edit::Move {
                        from: s(0),
                        to: r(2),
                    },
                ),
                (
                    ProgPoint::before(Inst::new(2)),
                    Edit::Move {
                        from: Allocation::reg(fixed),
                        to: s(1),
                    },
                ),
            ],
            ..Output::default()
        };
        let c = CostModel::new(&f, &env).count(&out);
        assert_eq!(
            c,
            EditCounts {
                moves: 1,
                spills: 1,
                reloads: 1,
                stack_moves: 1,
                spillslots: 3,
                weighted_cost: 1 + 4 * 2 + 4 * 2 + 4,
            }
        );
    }
}
