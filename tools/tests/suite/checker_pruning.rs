//! The checker's liveness pruning changes no verdict (DESIGN.md, "The
//! checker"): on correct outputs and on random mutants of them, the
//! checker that forgets dead vregs (`Pruning::Fast`) rejects exactly the
//! outputs, and reports exactly the errors at the same operands and
//! locations, as the one that forgets nothing (`Pruning::Off`, the
//! checker before pruning); only which vregs a wrongly read location
//! holds (`IncorrectValuesInAllocation::actual`, or unknown when all of
//! them are dead) may differ. The default (`Pruning::Exact`) reports
//! exactly `Off`'s errors.
//!
//! Outputs: upstream Ion's for every corpus function and for 3,000
//! functions of upstream's fuzzing generator, each with three random
//! mutants (an operand's allocation changed, an edit deleted, an edit
//! retargeted).

use arbitrary::Unstructured;
use regalloc2 as ra2;
use regalloc2::fuzzing::func::{Func, Options};
use regarena::checker::{Checker, CheckerError, Pruning};
use regarena::{Allocation, Edit, Function, MachineEnv, Output, PReg, RegClass, SpillSlot};
use regarena_tools::upstream as up;

/// splitmix64: deterministic choices.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn errors<F: Function>(
    func: &F,
    env: &MachineEnv,
    out: &Output,
    mode: Pruning,
) -> Vec<CheckerError> {
    let mut checker = Checker::new(func, env).with_pruning(mode);
    checker.prepare(out);
    checker.run().err().map_or_else(Vec::new, |e| e.errors)
}

/// An error with the vregs a wrongly read location holds left out.
fn without_holders(e: &CheckerError) -> CheckerError {
    match e {
        CheckerError::IncorrectValuesInAllocation {
            inst, op, alloc, ..
        } => CheckerError::UnknownValueInAllocation {
            inst: *inst,
            op: *op,
            alloc: *alloc,
        },
        other => other.clone(),
    }
}

#[derive(Default)]
struct Tally {
    outputs: usize,
    rejected: usize,
    holders_differ: usize,
    mismatches: Vec<String>,
}

impl Tally {
    fn compare<F: Function>(&mut self, name: &str, func: &F, env: &MachineEnv, out: &Output) {
        self.outputs += 1;
        let off = errors(func, env, out, Pruning::Off);
        let fast = errors(func, env, out, Pruning::Fast);
        let exact = errors(func, env, out, Pruning::Exact);
        self.rejected += usize::from(!off.is_empty());
        let strip = |e: &[CheckerError]| e.iter().map(without_holders).collect::<Vec<_>>();
        if strip(&off) != strip(&fast) {
            self.mismatches
                .push(format!("{name}: Off {off:?}\nFast {fast:?}"));
        } else if off != fast {
            self.holders_differ += 1;
        }
        if off != exact {
            self.mismatches
                .push(format!("{name}: Off {off:?}\nExact {exact:?}"));
        }
    }

    fn finish(self, what: &str) {
        eprintln!(
            "{what}: {} outputs, {} rejected, {} with other holders named when pruned",
            self.outputs, self.rejected, self.holders_differ
        );
        assert!(self.rejected > 0, "no mutant was rejected");
        assert!(
            self.mismatches.is_empty(),
            "pruning changed the errors:\n{}",
            self.mismatches[..self.mismatches.len().min(5)].join("\n")
        );
    }
}

/// A random location of `class`: one of the env's registers or a slot.
fn random_alloc(rng: &mut Rng, env: &MachineEnv, class: RegClass, slots: usize) -> Allocation {
    let c = class as usize;
    let regs: Vec<PReg> = env.preferred_regs_by_class[c]
        .into_iter()
        .chain(env.non_preferred_regs_by_class[c])
        .collect();
    if regs.is_empty() || rng.below(4) == 0 {
        Allocation::stack(SpillSlot::new(rng.below(slots.max(1))))
    } else {
        Allocation::reg(regs[rng.below(regs.len())])
    }
}

/// Three mutants of `out`: an operand's allocation, an edit deleted, an
/// edit retargeted (those that change something).
fn mutants<F: Function>(rng: &mut Rng, func: &F, env: &MachineEnv, out: &Output) -> Vec<Output> {
    let mut made = Vec::new();
    if !out.allocs.is_empty() {
        let mut m = out.clone();
        let at = rng.below(out.allocs.len());
        let inst = out
            .inst_alloc_offsets
            .partition_point(|&o| o as usize <= at)
            - 1;
        let op = func.inst_operands(regarena::Inst::new(inst))
            [at - out.inst_alloc_offsets[inst] as usize];
        m.allocs[at] = random_alloc(rng, env, op.class(), out.num_spillslots);
        made.push(m);
    }
    if !out.edits.is_empty() {
        let mut m = out.clone();
        m.edits.remove(rng.below(out.edits.len()));
        made.push(m);
        let mut m = out.clone();
        let k = rng.below(out.edits.len());
        let Edit::Move { from, to } = out.edits[k].1;
        let class = from
            .as_reg()
            .or(to.as_reg())
            .map_or(RegClass::Int, |r| r.class());
        let to = random_alloc(rng, env, class, out.num_spillslots);
        m.edits[k].1 = Edit::Move { from, to };
        made.push(m);
    }
    made
}

#[test]
fn checker_pruning_keeps_the_errors_on_corpus_outputs_and_mutants() {
    let corpus = regarena_tools::test_corpus::load(
        "checker_pruning_keeps_the_errors_on_corpus_outputs_and_mutants",
    );
    let mut rng = Rng(0x00c0_ffee);
    let mut tally = Tally::default();
    for cf in &corpus.funcs {
        let Ok(up_out) = ra2::run(
            &cf.upstream,
            cf.upstream.machine_env(),
            &ra2::RegallocOptions::default(),
        ) else {
            continue;
        };
        let out = up::output(&up_out);
        let name = cf.path.display().to_string();
        tally.compare(&name, &cf.func, &cf.env, &out);
        for m in mutants(&mut rng, &cf.func, &cf.env, &out) {
            tally.compare(&name, &cf.func, &cf.env, &m);
        }
    }
    tally.finish("corpus");
}

#[test]
fn checker_pruning_keeps_the_errors_on_upstream_generator_outputs_and_mutants() {
    let opts = Options {
        reused_inputs: true,
        fixed_regs: true,
        fixed_nonallocatable: true,
        clobbers: true,
        reftypes: false,
        callsite_ish_constraints: true,
        num_blocks: 1..=16,
        ..Options::DEFAULT
    };
    let up_env = ra2::fuzzing::func::machine_env();
    let env = up::env(&up_env);
    let mut rng = Rng(0x0dea_d10c);
    let mut tally = Tally::default();
    let mut funcs = 0;
    while funcs < 3_000 {
        let bytes: Vec<u8> = (0..4096).map(|_| rng.next() as u8).collect();
        let Ok(func) = Func::arbitrary_with_options(&mut Unstructured::new(&bytes), &opts) else {
            continue;
        };
        let Ok(out) = ra2::run(&func, &up_env, &ra2::RegallocOptions::default()) else {
            continue;
        };
        funcs += 1;
        let ours = up::function(&func);
        let out = up::output(&out);
        let name = format!("function {funcs}");
        tally.compare(&name, &ours, &env, &out);
        for m in mutants(&mut rng, &ours, &env, &out) {
            tally.compare(&name, &ours, &env, &m);
        }
    }
    tally.finish("upstream generator");
}
