//! The checker against the real corpus: upstream Ion's output for every
//! corpus function is accepted, and outputs made wrong by construction are
//! all rejected.
//!
//! "Wrong by construction" is decided by a small concrete simulation of one
//! block, written here independently of the checker: each location's
//! content is the entry content of some location, the value of an
//! in-block def, or garbage (clobbered). A read of `v` is certainly wrong
//! when its location holds garbage, another in-block def, or an entry
//! value while `v` was (re)defined earlier in the block. A mutant counts
//! only if the simulation of its block finds such a read.

use std::collections::{HashMap, HashSet};

use regarena::checker::Checker;
use regarena::{
    Allocation, Block, Function, Inst, InstOrEdit, OperandConstraint, OperandKind, OperandPos,
    Output, PRegSet,
};
use regarena_tools::upstream as up;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Content {
    Entry(u32),
    Def(u32),
    Garbage,
}

fn loc(a: Allocation) -> Option<u32> {
    if let Some(r) = a.as_reg() {
        Some(r.index() as u32)
    } else {
        a.as_stack().map(|s| 256 + s.index() as u32)
    }
}

#[derive(Clone, Debug)]
struct Read {
    vreg: u32,
    content: Content,
    redefined: bool,
}

impl Read {
    fn certainly_wrong(&self) -> bool {
        match self.content {
            Content::Garbage => true,
            Content::Def(w) => w != self.vreg,
            Content::Entry(_) => self.redefined,
        }
    }
}

type State = HashMap<u32, Content>;

fn content(state: &State, l: u32) -> Content {
    state.get(&l).copied().unwrap_or(Content::Entry(l))
}

/// Walks `block` of `out`, returning its reads; `snapshot` gets the state
/// just before each instruction's operands act.
fn simulate<F: Function>(
    func: &F,
    out: &Output,
    block: Block,
    mut snapshot: impl FnMut(Inst, &State, &HashSet<u32>),
) -> Vec<Read> {
    let mut state = State::new();
    let mut defined = HashSet::new();
    let mut reads = Vec::new();
    for item in out.block_insts_and_edits(func, block) {
        match item {
            InstOrEdit::Edit(regarena::Edit::Move { from, to }) => {
                if let (Some(f), Some(t)) = (loc(*from), loc(*to)) {
                    let c = content(&state, f);
                    state.insert(t, c);
                }
            }
            InstOrEdit::Inst(inst) => {
                snapshot(inst, &state, &defined);
                let ops = func.inst_operands(inst);
                let allocs = out.inst_allocs(inst);
                let read = |pos, state: &State, defined: &HashSet<u32>, reads: &mut Vec<Read>| {
                    for (op, a) in ops.iter().zip(allocs) {
                        if op.kind() == OperandKind::Use
                            && op.pos() == pos
                            && op.as_fixed_nonallocatable().is_none()
                        {
                            if let Some(l) = loc(*a) {
                                let vreg = op.vreg().vreg() as u32;
                                reads.push(Read {
                                    vreg,
                                    content: content(state, l),
                                    redefined: defined.contains(&vreg),
                                });
                            }
                        }
                    }
                };
                read(OperandPos::Early, &state, &defined, &mut reads);
                for pos in [OperandPos::Early, OperandPos::Late] {
                    for (op, a) in ops.iter().zip(allocs) {
                        if op.kind() == OperandKind::Def && op.pos() == pos {
                            let vreg = op.vreg().vreg() as u32;
                            if let Some(l) = loc(*a) {
                                state.insert(l, Content::Def(vreg));
                            }
                            defined.insert(vreg);
                        }
                    }
                }
                for r in func.inst_clobbers(inst) {
                    state.insert(r.index() as u32, Content::Garbage);
                }
                read(OperandPos::Late, &state, &defined, &mut reads);
            }
        }
    }
    reads
}

fn block_of<F: Function>(func: &F, inst: Inst) -> Block {
    (0..func.num_blocks())
        .map(Block::new)
        .find(|&b| {
            let r = func.block_insns(b);
            r.first() <= inst && inst <= r.last()
        })
        .expect("every instruction is in a block")
}

fn certainly_wrong_in<F: Function>(func: &F, out: &Output, block: Block) -> bool {
    simulate(func, out, block, |_, _, _| {})
        .iter()
        .any(Read::certainly_wrong)
}

fn rejects<F: Function>(func: &F, env: &regarena::MachineEnv, out: &Output) -> bool {
    let mut checker = Checker::new(func, env);
    checker.prepare(out);
    checker.run().is_err()
}

/// Whether `a` could be given to `op` without breaking its constraint.
fn fits(op: regarena::Operand, a: Allocation, env: &regarena::MachineEnv) -> bool {
    let fixed_stack: PRegSet = env.fixed_stack_slots.iter().copied().collect();
    let scratch: PRegSet = env.scratch_by_class.iter().flatten().copied().collect();
    match a.as_reg() {
        Some(r) => {
            r.class() == op.class()
                && !fixed_stack.contains(r)
                && !scratch.contains(r)
                && match op.constraint() {
                    OperandConstraint::Any | OperandConstraint::Reg => true,
                    OperandConstraint::Limit(max) => r.hw_enc() < max,
                    _ => false,
                }
        }
        None => a.is_stack() && op.constraint() == OperandConstraint::Any,
    }
}

const PER_KIND: usize = 3;

#[derive(Default, Debug)]
struct Tally {
    made: [usize; 4],
    accepted: [usize; 4],
}

const KINDS: [&str; 4] = [
    "(a) use redirected to another live value",
    "(b) move/reload removed",
    "(c) fixed operand moved",
    "(d) value kept in a clobbered register",
];

#[test]
fn corpus_outputs_pass_and_mutants_fail() {
    let corpus = regarena_tools::test_corpus::load("corpus_outputs_pass_and_mutants_fail");
    let funcs = &corpus.funcs;
    let mut tally = Tally::default();
    let mut failures = Vec::new();
    for cf in funcs {
        let result = regalloc2::run(
            &cf.upstream,
            cf.upstream.machine_env(),
            &regalloc2::RegallocOptions::default(),
        );
        let Ok(up_out) = result else {
            continue; // upstream refuses it; nothing to check
        };
        let out = up::output(&up_out);
        let (func, env) = (&cf.func, &cf.env);
        let mut checker = Checker::new(func, env);
        checker.prepare(&out);
        if let Err(e) = checker.run() {
            panic!("{}: upstream's output rejected:\n{e}", cf.path.display());
        }
        let mut record = |kind: usize, mutant: &Output, what: String| {
            tally.made[kind] += 1;
            if !rejects(func, env, mutant) {
                tally.accepted[kind] += 1;
                failures.push(format!("{}: {} {what}", cf.path.display(), KINDS[kind]));
            }
        };
        mutate_uses(func, env, &out, &mut record);
        mutate_edits(func, &out, &mut record);
        mutate_fixed(func, &out, &mut record);
        mutate_clobbered(func, env, &out, &mut record);
    }
    for (k, name) in KINDS.iter().enumerate() {
        eprintln!(
            "{name}: {} mutants, {} accepted",
            tally.made[k], tally.accepted[k]
        );
    }
    assert!(
        failures.is_empty(),
        "accepted mutants:\n{}",
        failures.join("\n")
    );
    assert!(
        tally.made.iter().all(|&n| n > 0),
        "a kind made no mutant: {tally:?}"
    );
}

/// (a): an early use moved to a location holding another in-block def.
fn mutate_uses<F: Function>(
    func: &F,
    env: &regarena::MachineEnv,
    out: &Output,
    record: &mut impl FnMut(usize, &Output, String),
) {
    let mut made = 0;
    for b in 0..func.num_blocks() {
        let block = Block::new(b);
        let mut candidates = Vec::new();
        simulate(func, out, block, |inst, state, _| {
            if candidates.len() >= PER_KIND {
                return;
            }
            let base = out.inst_alloc_offsets[inst.index()] as usize;
            for (i, op) in func.inst_operands(inst).iter().enumerate() {
                let reused = func
                    .inst_operands(inst)
                    .iter()
                    .any(|o| o.constraint() == OperandConstraint::Reuse(i));
                if op.kind() != OperandKind::Use || op.pos() != OperandPos::Early || reused {
                    continue;
                }
                let mut locs: Vec<_> = state.iter().collect();
                locs.sort_by_key(|(l, _)| **l);
                for (&l, &c) in locs {
                    let Content::Def(w) = c else { continue };
                    if w == op.vreg().vreg() as u32 {
                        continue;
                    }
                    let a = if l < 256 {
                        Allocation::reg(regarena::PReg::from_index(l as usize))
                    } else {
                        Allocation::stack(regarena::SpillSlot::new(l as usize - 256))
                    };
                    if fits(*op, a, env) {
                        candidates.push((base + i, a, inst));
                        break;
                    }
                }
            }
        });
        for (at, a, inst) in candidates {
            if made >= PER_KIND {
                return;
            }
            let mut m = out.clone();
            m.allocs[at] = a;
            if certainly_wrong_in(func, &m, block) {
                made += 1;
                record(0, &m, format!("{inst:?} -> {a}"));
            }
        }
    }
}

/// (b): an edit removed whose destination is then read wrongly.
fn mutate_edits<F: Function>(
    func: &F,
    out: &Output,
    record: &mut impl FnMut(usize, &Output, String),
) {
    let mut made = 0;
    for k in 0..out.edits.len() {
        if made >= PER_KIND {
            return;
        }
        let block = block_of(func, out.edits[k].0.inst());
        let mut m = out.clone();
        m.edits.remove(k);
        if certainly_wrong_in(func, &m, block) {
            made += 1;
            record(1, &m, format!("edit {k} {:?}", out.edits[k]));
        }
    }
}

/// (c): a fixed-register operand put in another register of its class.
fn mutate_fixed<F: Function>(
    func: &F,
    out: &Output,
    record: &mut impl FnMut(usize, &Output, String),
) {
    let mut made = 0;
    for i in 0..func.num_insts() {
        let inst = Inst::new(i);
        for (j, op) in func.inst_operands(inst).iter().enumerate() {
            if made >= PER_KIND {
                return;
            }
            if let OperandConstraint::FixedReg(p) = op.constraint() {
                let other = regarena::PReg::new((p.hw_enc() + 1) % 32, p.class());
                let mut m = out.clone();
                m.allocs[out.inst_alloc_offsets[i] as usize + j] = Allocation::reg(other);
                made += 1;
                record(2, &m, format!("{inst:?} op {j}: {p} -> {other}"));
            }
        }
    }
}

/// (d): a use after a clobbering instruction redirected to the clobbered
/// register its vreg was in before the instruction.
fn mutate_clobbered<F: Function>(
    func: &F,
    env: &regarena::MachineEnv,
    out: &Output,
    record: &mut impl FnMut(usize, &Output, String),
) {
    let mut made = 0;
    for b in 0..func.num_blocks() {
        let block = Block::new(b);
        // (clobbering inst, vreg, register) triples seen so far in the block.
        let mut held_before: Vec<(Inst, u32, regarena::PReg)> = Vec::new();
        let mut candidates = Vec::new();
        simulate(func, out, block, |inst, state, _| {
            for &(c, vreg, r) in &held_before {
                if c >= inst {
                    continue;
                }
                let base = out.inst_alloc_offsets[inst.index()] as usize;
                for (i, op) in func.inst_operands(inst).iter().enumerate() {
                    if op.kind() == OperandKind::Use
                        && op.pos() == OperandPos::Early
                        && op.vreg().vreg() as u32 == vreg
                        && fits(*op, Allocation::reg(r), env)
                    {
                        candidates.push((base + i, r, c, inst));
                    }
                }
            }
            for r in func.inst_clobbers(inst) {
                if let Some(Content::Def(v)) = state.get(&(r.index() as u32)) {
                    held_before.push((inst, *v, r));
                }
            }
        });
        for (at, r, c, inst) in candidates {
            if made >= PER_KIND {
                return;
            }
            let mut m = out.clone();
            m.allocs[at] = Allocation::reg(r);
            if certainly_wrong_in(func, &m, block) {
                made += 1;
                record(3, &m, format!("{r} clobbered at {c:?}, read at {inst:?}"));
            }
        }
    }
}
