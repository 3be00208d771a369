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
use regalloc2::fuzzing::func::Func;
use regarena::checker::{Checker, CheckerError, Pruning};
use regarena::{Function, MachineEnv, Output};
use regarena_tools::upstream as up;

use crate::common::{mutate, upstream_generator_options, Rng};

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

/// The mutants of an upstream output (one of each kind that changes
/// something; `common::mutate`), in our types.
fn mutants<F: ra2::Function>(
    rng: &mut Rng,
    func: &F,
    env: &ra2::MachineEnv,
    out: &ra2::Output,
) -> Vec<Output> {
    (0..3)
        .filter_map(|kind| mutate(rng, func, env, out, kind))
        .map(|m| up::output(&m))
        .collect()
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
        let up_env = cf.upstream.machine_env();
        for m in mutants(&mut rng, &cf.upstream, up_env, &up_out) {
            tally.compare(&name, &cf.func, &cf.env, &m);
        }
    }
    tally.finish("corpus");
}

#[test]
fn checker_pruning_keeps_the_errors_on_upstream_generator_outputs_and_mutants() {
    let opts = upstream_generator_options();
    let up_env = ra2::fuzzing::func::machine_env();
    let env = up::env(&up_env);
    let mut rng = Rng(0x0dea_d10c);
    let mut tally = Tally::default();
    let mut funcs = 0;
    while funcs < 3_000 {
        let bytes = rng.bytes(4096);
        let Ok(func) = Func::arbitrary_with_options(&mut Unstructured::new(&bytes), &opts) else {
            continue;
        };
        let Ok(out) = ra2::run(&func, &up_env, &ra2::RegallocOptions::default()) else {
            continue;
        };
        funcs += 1;
        let ours = up::function(&func);
        let name = format!("function {funcs}");
        tally.compare(&name, &ours, &env, &up::output(&out));
        for m in mutants(&mut rng, &func, &up_env, &out) {
            tally.compare(&name, &ours, &env, &m);
        }
    }
    tally.finish("upstream generator");
}
