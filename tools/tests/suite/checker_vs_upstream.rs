//! Our checker against upstream regalloc2's on random functions.
//!
//! 1. 10,000 functions from upstream's fuzzing generator: upstream Ion's
//!    output passes our checker; then random mutants of that output (an
//!    operand's allocation changed, an edit deleted, an edit retargeted)
//!    are judged by both checkers: ours must reject every mutant upstream
//!    rejects. Where ours rejects and upstream accepts, the reason is
//!    counted and a few are printed.
//! 2. 10,000 functions from our generator (`regarena::gen`), allocated by
//!    upstream Ion: its output passes our checker.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

use arbitrary::Unstructured;
use regalloc2 as ra2;
use regalloc2::fuzzing::func::{machine_env, Func};
use regarena::checker::Checker;
use regarena_tools::upstream as up;

use crate::common::{mutate, upstream_generator_options, Rng};

fn ours_accepts(
    func: &regarena::FunctionData,
    env: &regarena::MachineEnv,
    out: &ra2::Output,
) -> Result<(), String> {
    let out = up::output(out);
    let mut checker = Checker::new(func, env);
    checker.prepare(&out);
    checker.run().map_err(|e| {
        let first = &e.errors[0];
        format!("{first:?}")
            .split([' ', '{'])
            .next()
            .unwrap_or("")
            .to_string()
    })
}

/// Upstream's verdict; a panic inside its checker counts as a rejection.
fn upstream_accepts(func: &Func, env: &ra2::MachineEnv, out: &ra2::Output) -> bool {
    catch_unwind(AssertUnwindSafe(|| {
        let mut checker = ra2::checker::Checker::new(func, env);
        checker.prepare(out);
        checker.run().is_ok()
    }))
    .unwrap_or(false)
}

#[test]
fn upstream_generator_outputs_pass_and_verdicts_agree() {
    let opts = upstream_generator_options();
    let up_env = machine_env();
    let env = up::env(&up_env);
    let mut rng = Rng(0x5eed_c0de);
    let (mut funcs, mut mutants, mut both_reject) = (0, 0, 0);
    let mut ours_only: BTreeMap<String, usize> = BTreeMap::new();
    let mut missed = Vec::new();
    let mut attempts = 0;
    while funcs < 10_000 && attempts < 30_000 {
        attempts += 1;
        let bytes = rng.bytes(4096);
        let Ok(func) = Func::arbitrary_with_options(&mut Unstructured::new(&bytes), &opts) else {
            continue;
        };
        let Ok(out) = ra2::run(&func, &up_env, &ra2::RegallocOptions::default()) else {
            continue;
        };
        funcs += 1;
        let ours = up::function(&func);
        if let Err(e) = ours_accepts(&ours, &env, &out) {
            panic!("function {funcs}: upstream's output rejected ({e})");
        }
        for kind in 0..3 {
            let Some(m) = mutate(&mut rng, &func, &up_env, &out, kind) else {
                continue;
            };
            mutants += 1;
            match (
                upstream_accepts(&func, &up_env, &m),
                ours_accepts(&ours, &env, &m),
            ) {
                (false, Err(_)) => both_reject += 1,
                (false, Ok(())) => missed.push(format!("function {funcs}, mutation kind {kind}")),
                (true, Err(why)) => *ours_only.entry(why).or_default() += 1,
                (true, Ok(())) => {}
            }
        }
    }
    eprintln!("upstream generator: {funcs} functions allocated and accepted; {mutants} mutants, {both_reject} rejected by both");
    eprintln!("rejected by ours only (upstream accepts), by our first error:");
    for (why, n) in &ours_only {
        eprintln!("  {why}: {n}");
    }
    assert!(
        funcs > 9_000,
        "only {funcs} functions generated and allocated"
    );
    assert!(both_reject > 0);
    assert!(
        missed.is_empty(),
        "upstream rejects, ours accepts:\n{}",
        missed.join("\n")
    );
}

#[test]
fn our_generator_outputs_pass() {
    let opts = regarena::gen::GenOptions::default();
    let mut funcs = 0;
    for seed in 0..10_000u64 {
        let (func, env) = regarena::gen::generate_from_seed(seed, &opts);
        let upf = up::UpstreamFunction::new(&func);
        let out = match ra2::run(&upf, &up::env_up(&env), &ra2::RegallocOptions::default()) {
            Ok(out) => out,
            Err(e) => panic!("seed {seed}: upstream refuses a generated function: {e:?}"),
        };
        if let Err(e) = ours_accepts(&func, &env, &out) {
            panic!("seed {seed}: upstream's output rejected ({e})");
        }
        funcs += 1;
    }
    eprintln!("our generator: {funcs} functions allocated by upstream and accepted");
}
