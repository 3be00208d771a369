//! Which vregs a later read can observe: a backward liveness of vregs over
//! the CFG, computed from the `Function` alone, and from it the points
//! where the checker may forget a vreg's label.
//!
//! A vreg's label is read by a use's value check and, on an edge, by the
//! rename of a block param from its branch argument; it is replaced by a
//! def of the vreg (any operand def that is not a fixed non-allocatable
//! one: those leave the label alone) and by the rename of a param. A vreg
//! is *live* at a point when some path from there reads its label before
//! replacing it. Forgetting a dead vreg (setting its label to none) only
//! removes facts "location `l` holds `v`" that no check can observe, and
//! leaves every fact about other vregs as it was (facts about one vreg
//! never come from another's, except a param's from its argument, which
//! is live whenever the param is). So the checker's verdicts, and every
//! use it rejects, stay exactly the same, while states reaching a join
//! stop differing in values nothing reads any more.
//!
//! The liveness is conservative where the walk is: every use operand
//! reads (also fixed non-allocatable ones, which are not checked, and uses
//! of instructions without allocations), only non-fixed defs replace, and
//! an instruction shared by two blocks' ranges (malformed) forgets
//! nothing. Branch arguments are read only where their param is live.

use crate::{Block, Function, Inst, OperandKind};

/// Where the walk forgets vregs: after an instruction, and on an edge
/// after its renames.
#[derive(Debug, Default)]
pub(super) struct Kills {
    /// Per instruction, its range in `vregs`: tracked vregs it names that
    /// are dead after it.
    inst: Vec<(u32, u32)>,
    /// Per edge (`edge_base[block] + successor index`), its range in
    /// `vregs`: vregs live out of the block or params of the successor
    /// that are dead at the successor's entry.
    edge: Vec<(u32, u32)>,
    edge_base: Vec<u32>,
    vregs: Vec<u32>,
    /// Elementary steps: set elements merged, compared or stored.
    pub work: u64,
}

impl Kills {
    /// Vregs dead after `inst`.
    pub fn after_inst(&self, inst: Inst) -> &[u32] {
        match self.inst.get(inst.index()) {
            Some(&(s, e)) => &self.vregs[s as usize..e as usize],
            None => &[],
        }
    }

    /// Vregs dead at the entry of `block`'s `succ`th successor, once its
    /// params are renamed.
    pub fn on_edge(&self, block: usize, succ: usize) -> &[u32] {
        let Some(&base) = self.edge_base.get(block) else {
            return &[];
        };
        match self.edge.get(base as usize + succ) {
            Some(&(s, e)) => &self.vregs[s as usize..e as usize],
            None => &[],
        }
    }

    /// The kills of `func`, whose vregs at or past `num_vregs` are not
    /// tracked (never labelled).
    pub fn compute<F: Function>(func: &F, num_vregs: usize) -> Kills {
        let live = Liveness::compute(func, num_vregs);
        live.kills(func)
    }
}

/// A set of vregs, 64 to a word: `(word index, bits)` pairs sorted by
/// index, no zero bits. Sets of neighbouring vregs (live values are
/// mostly recent ones) cost a word or two; a loop nest whose every block
/// has a hundred values live costs two words per block, not a hundred
/// elements.
type Set = Vec<(u32, u64)>;

fn set_of(vregs: &mut [u32]) -> Set {
    vregs.sort_unstable();
    let mut set = Set::new();
    for &v in vregs.iter() {
        let (word, bit) = (v / 64, 1u64 << (v % 64));
        match set.last_mut() {
            Some((w, bits)) if *w == word => *bits |= bit,
            _ => set.push((word, bit)),
        }
    }
    set
}

fn contains(set: &Set, v: u32) -> bool {
    match set.binary_search_by_key(&(v / 64), |&(w, _)| w) {
        Ok(i) => set[i].1 & (1u64 << (v % 64)) != 0,
        Err(_) => false,
    }
}

/// `a | b`, or `a & !b` when `minus`, into `out`, word by word.
fn combine(a: &Set, b: &Set, minus: bool, out: &mut Set) {
    out.clear();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        // Word indices are below 2^26: `u32::MAX` is past both ends.
        let wa = a.get(i).map_or(u32::MAX, |x| x.0);
        let wb = b.get(j).map_or(u32::MAX, |x| x.0);
        let (word, bits) = if wa < wb {
            i += 1;
            (wa, a[i - 1].1)
        } else if wb < wa {
            j += 1;
            (wb, if minus { 0 } else { b[j - 1].1 })
        } else {
            i += 1;
            j += 1;
            let (x, y) = (a[i - 1].1, b[j - 1].1);
            (wa, if minus { x & !y } else { x | y })
        };
        if bits != 0 {
            out.push((word, bits));
        }
    }
}

fn for_each(set: &Set, mut f: impl FnMut(u32)) {
    for &(word, mut bits) in set {
        while bits != 0 {
            f(word * 64 + bits.trailing_zeros());
            bits &= bits - 1;
        }
    }
}

struct Liveness<'a, F: Function> {
    func: &'a F,
    num_vregs: usize,
    num_insts: usize,
    /// Per block: vregs read before any def in the block.
    upward: Vec<Set>,
    /// Per block: vregs a def in the block replaces.
    defs: Vec<Set>,
    /// Per block: its tracked params.
    params: Vec<Set>,
    /// Per block: vregs live at its entry once its params are renamed
    /// (params included when live).
    live_in: Vec<Set>,
    /// Scratch sets.
    tmp: [Set; 2],
    work: u64,
}

impl<'a, F: Function> Liveness<'a, F> {
    fn tracked(&self, v: crate::VReg) -> Option<u32> {
        (v.vreg() < self.num_vregs).then_some(v.vreg() as u32)
    }

    /// The instructions the walk visits in `block`.
    fn insts(&self, block: Block) -> Vec<Inst> {
        let num_insts = self.num_insts;
        self.func
            .block_insns(block)
            .iter()
            .take_while(move |i| i.index() < num_insts)
            .collect()
    }

    fn compute(func: &'a F, num_vregs: usize) -> Self {
        let num_blocks = func.num_blocks();
        let mut live = Liveness {
            func,
            num_vregs,
            num_insts: func.num_insts(),
            upward: Vec::with_capacity(num_blocks),
            defs: Vec::with_capacity(num_blocks),
            params: Vec::with_capacity(num_blocks),
            live_in: vec![Set::new(); num_blocks],
            tmp: [Set::new(), Set::new()],
            work: 0,
        };
        // Per block, its upward-exposed reads and its defs, by a backward
        // walk (a use before a def of the same vreg in the block is read).
        let mut mark = vec![false; num_vregs];
        let mut touched: Vec<u32> = Vec::new();
        let mut defs: Vec<u32> = Vec::new();
        for b in 0..num_blocks {
            let block = Block::new(b);
            for inst in live.insts(block).into_iter().rev() {
                let ops = func.inst_operands(inst);
                live.work += 1 + ops.len() as u64;
                for op in ops {
                    if op.kind() == OperandKind::Def && op.as_fixed_nonallocatable().is_none() {
                        if let Some(v) = live.tracked(op.vreg()) {
                            mark[v as usize] = false;
                            defs.push(v);
                        }
                    }
                }
                for op in ops {
                    if op.kind() == OperandKind::Use {
                        if let Some(v) = live.tracked(op.vreg()) {
                            if !mark[v as usize] {
                                mark[v as usize] = true;
                                touched.push(v);
                            }
                        }
                    }
                }
            }
            let mut upward: Vec<u32> = touched
                .iter()
                .copied()
                .filter(|&v| mark[v as usize])
                .collect();
            for &v in &touched {
                mark[v as usize] = false;
            }
            touched.clear();
            live.upward.push(set_of(&mut upward));
            live.defs.push(set_of(&mut defs));
            defs.clear();
            let params = func.block_params(block);
            live.work += params.len() as u64;
            let mut params: Vec<u32> = params.iter().filter_map(|&p| live.tracked(p)).collect();
            live.params.push(set_of(&mut params));
        }

        // Predecessors by successor lists (the walk follows those).
        let mut preds: Vec<Vec<u32>> = vec![Vec::new(); num_blocks];
        for (b, p) in (0..num_blocks).zip(0u32..) {
            for s in func.block_succs(Block::new(b)) {
                if let Some(list) = preds.get_mut(s.index()) {
                    list.push(p);
                }
            }
        }
        for list in &mut preds {
            list.sort_unstable();
            list.dedup();
        }

        // Worklist to the least fixpoint; popped from the end, so the
        // reverse postorder is taken backwards (successors before
        // predecessors where the order allows), unreachable blocks last.
        let mut queued = vec![true; num_blocks];
        let mut work: Vec<usize> = super::reverse_postorder(func);
        let mut seen = vec![false; num_blocks];
        for &b in &work {
            seen[b] = true;
        }
        let unreachable: Vec<usize> = (0..num_blocks).filter(|&b| !seen[b]).collect();
        work.splice(0..0, unreachable);
        let mut out = Set::new();
        let mut new = Set::new();
        while let Some(b) = work.pop() {
            queued[b] = false;
            live.live_out(b, &mut out);
            live.transfer(b, &out, &mut new);
            if new != live.live_in[b] {
                core::mem::swap(&mut live.live_in[b], &mut new);
                for &p in &preds[b] {
                    if !queued[p as usize] {
                        queued[p as usize] = true;
                        work.push(p as usize);
                    }
                }
            }
        }
        live
    }

    /// `block`'s live-out set into `out`: what each successor's entry
    /// reads, params replaced by their arguments.
    fn live_out(&mut self, block: usize, out: &mut Set) {
        out.clear();
        let func = self.func;
        let [tmp, without] = &mut self.tmp;
        let mut args: Vec<u32> = Vec::new();
        for (k, succ) in func.block_succs(Block::new(block)).iter().enumerate() {
            let (Some(live), Some(params)) = (
                self.live_in.get(succ.index()),
                self.params.get(succ.index()),
            ) else {
                continue;
            };
            let names = func.block_params(*succ);
            let branch = super::branch_args(func, Block::new(block), k);
            self.work += (live.len() + params.len() + out.len() + names.len()) as u64;
            for (&p, &a) in names.iter().zip(branch) {
                let (p, a) = (p.vreg(), a.vreg());
                if p < self.num_vregs && a < self.num_vregs && contains(live, p as u32) {
                    args.push(a as u32);
                }
            }
            combine(live, params, true, without);
            combine(out, without, false, tmp);
            core::mem::swap(out, tmp);
        }
        if !args.is_empty() {
            self.work += args.len() as u64;
            let args = set_of(&mut args);
            combine(out, &args, false, tmp);
            core::mem::swap(out, tmp);
        }
    }

    /// The vregs live at `block`'s entry given those live at its exit:
    /// its upward-exposed reads and what it does not define.
    fn transfer(&mut self, block: usize, out: &Set, new: &mut Set) {
        let tmp = &mut self.tmp[0];
        self.work += (out.len() + self.defs[block].len() + self.upward[block].len()) as u64;
        combine(out, &self.defs[block], true, tmp);
        combine(tmp, &self.upward[block], false, new);
    }

    /// The kill lists, by a backward walk of each block from its live-out
    /// set.
    fn kills(mut self, func: &F) -> Kills {
        let num_blocks = func.num_blocks();
        let mut kills = Kills {
            inst: vec![(0, 0); self.num_insts],
            edge: Vec::new(),
            edge_base: Vec::with_capacity(num_blocks),
            vregs: Vec::new(),
            work: 0,
        };
        // An instruction in two blocks' ranges (malformed) kills nothing.
        let mut owner = vec![false; self.num_insts];
        let mut shared = vec![false; self.num_insts];
        for b in 0..num_blocks {
            for inst in self.insts(Block::new(b)) {
                shared[inst.index()] |= owner[inst.index()];
                owner[inst.index()] = true;
            }
        }
        // Per vreg, within the block walked: 0 undecided (live after the
        // block iff live out), 1 live, 2 dead; and the instruction (plus
        // one) that last listed it.
        let mut local = vec![0u8; self.num_vregs];
        let mut listed = vec![0u32; self.num_vregs];
        let mut touched: Vec<u32> = Vec::new();
        let mut out = Set::new();
        let mut dead = Set::new();
        let mut with_params = Set::new();
        for b in 0..num_blocks {
            let block = Block::new(b);
            self.live_out(b, &mut out);
            // Edges: what leaves the block alive, or is renamed on the
            // edge, and the successor does not read.
            kills.edge_base.push(kills.edge.len() as u32);
            for succ in func.block_succs(block) {
                let start = kills.vregs.len() as u32;
                if let (Some(live_in), Some(params)) = (
                    self.live_in.get(succ.index()),
                    self.params.get(succ.index()),
                ) {
                    combine(&out, params, false, &mut with_params);
                    combine(&with_params, live_in, true, &mut dead);
                    self.work += (out.len() + params.len() + live_in.len()) as u64;
                    for_each(&dead, |v| kills.vregs.push(v));
                }
                kills.edge.push((start, kills.vregs.len() as u32));
            }
            // Instructions, last to first.
            for inst in self.insts(block).into_iter().rev() {
                let ops = func.inst_operands(inst);
                self.work += 1 + ops.len() as u64;
                let start = kills.vregs.len() as u32;
                let stamp = inst.index() as u32 + 1;
                for op in ops {
                    if let Some(v) = self.tracked(op.vreg()) {
                        let live_after = match local[v as usize] {
                            0 => contains(&out, v),
                            state => state == 1,
                        };
                        if !live_after && listed[v as usize] != stamp {
                            listed[v as usize] = stamp;
                            kills.vregs.push(v);
                        }
                    }
                }
                if shared[inst.index()] {
                    kills.vregs.truncate(start as usize);
                } else {
                    kills.inst[inst.index()] = (start, kills.vregs.len() as u32);
                }
                for op in ops {
                    if op.kind() == OperandKind::Def && op.as_fixed_nonallocatable().is_none() {
                        if let Some(v) = self.tracked(op.vreg()) {
                            local[v as usize] = 2;
                            touched.push(v);
                        }
                    }
                }
                for op in ops {
                    if op.kind() == OperandKind::Use {
                        if let Some(v) = self.tracked(op.vreg()) {
                            local[v as usize] = 1;
                            touched.push(v);
                        }
                    }
                }
            }
            for &v in &touched {
                local[v as usize] = 0;
            }
            touched.clear();
        }
        kills.work = self.work;
        kills
    }
}
