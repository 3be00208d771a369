//! Both allocators (`Algorithm::Ion` and `Algorithm::Fastalloc`, one
//! test each) on random functions, proved by both checkers:
//! (a) 10,000 functions from upstream regalloc2's fuzzing generator
//!     (`regalloc2::fuzzing::func::Func`, options as upstream's
//!     `ion_checker` fuzz target), converted with `regarena_tools::upstream`;
//! (b) 10,000 functions from our generator (`regarena::gen`), sizes mixed
//!     log-uniformly between 5 and 2000 instructions.
//!
//! For each function, `regarena::run` with `validate_ssa: true` either
//! fails with an error the validator owes (`cfg::analyze` or
//! `validate::validate`, called directly, rejects the function; for
//! upstream's generator upstream's `regalloc2::run` must fail too) or
//! returns an `Output` that passes our checker and upstream's. A panic or
//! any other error fails the test, naming the seed. Every function is run
//! twice with a warm, reused `Ctx` and once with a fresh one; the three
//! outputs must be identical (allocs, offsets, edits, spill slots, debug
//! locations).

use std::panic::{catch_unwind, AssertUnwindSafe};

use arbitrary::Unstructured;
use rayon::prelude::*;
use regalloc2::fuzzing::func::{machine_env, Func};
use regarena::checker::Checker;
use regarena::gen::{generate_from_seed, GenOptions};
use regarena::tables::Arena;
use regarena::{Algorithm, Ctx, FunctionData, MachineEnv, Output, RegallocOptions};
use regarena_tools::upstream::{self as up, ra2};

use crate::common::{upstream_generator_options, Rng};

const FUNCTIONS: u64 = 10_000;

fn options(algorithm: Algorithm) -> RegallocOptions {
    RegallocOptions {
        validate_ssa: true,
        algorithm,
        ..Default::default()
    }
}

/// What happened to one function.
#[derive(Default)]
struct Tally {
    allocated: usize,
    rejected_by_validator: usize,
    insts: usize,
    edits: usize,
    failures: Vec<String>,
}

impl Tally {
    fn merge(mut self, other: Tally) -> Tally {
        self.allocated += other.allocated;
        self.rejected_by_validator += other.rejected_by_validator;
        self.insts += other.insts;
        self.edits += other.edits;
        self.failures.extend(other.failures);
        self
    }
}

/// Whether our validator (CFG analysis, then operand/SSA validation)
/// rejects `func`.
fn validator_rejects(func: &FunctionData, env: &MachineEnv) -> bool {
    let arena = Arena::new();
    regarena::cfg::analyze(func, &arena)
        .and_then(|cfg| regarena::validate::validate(func, env, &cfg, true, &arena))
        .is_err()
}

/// The parts of an `Output` the allocation determines (stats excluded).
fn same_output(a: &Output, b: &Output) -> Result<(), &'static str> {
    if a.allocs != b.allocs {
        return Err("allocs");
    }
    if a.inst_alloc_offsets != b.inst_alloc_offsets {
        return Err("inst_alloc_offsets");
    }
    if a.edits != b.edits {
        return Err("edits");
    }
    if a.num_spillslots != b.num_spillslots {
        return Err("num_spillslots");
    }
    if a.debug_locations != b.debug_locations {
        return Err("debug_locations");
    }
    Ok(())
}

/// Runs ours three times (warm `ctx` twice, a fresh `Ctx` once), checks
/// the output with both checkers. `upstream_fails` says whether upstream's
/// `regalloc2::run` fails on the function (asked only when ours errs).
/// Returns `Ok(Some(edits))` for an allocated function, `Ok(None)` for one
/// the validator owes an error, `Err(reason)` for a failure.
fn allocate_and_prove<U: ra2::Function>(
    algorithm: Algorithm,
    func: &FunctionData,
    env: &MachineEnv,
    upstream_func: &U,
    upstream_env: &ra2::MachineEnv,
    upstream_fails: impl FnOnce() -> bool,
    ctx: &mut Ctx,
) -> Result<Option<usize>, String> {
    let first = catch_unwind(AssertUnwindSafe(|| {
        regarena::run_with_ctx(func, env, &options(algorithm), ctx).cloned()
    }))
    .map_err(|_| "panic in regarena::run".to_string())?;
    let out = match first {
        Ok(out) => out,
        Err(e) => {
            if !validator_rejects(func, env) {
                return Err(format!("error {e:?} not owed by the validator"));
            }
            if !upstream_fails() {
                return Err(format!(
                    "error {e:?}: the validator rejects, upstream allocates"
                ));
            }
            return Ok(None);
        }
    };
    let second = catch_unwind(AssertUnwindSafe(|| {
        regarena::run_with_ctx(func, env, &options(algorithm), ctx).cloned()
    }))
    .map_err(|_| "panic in the second (warm) run".to_string())?
    .map_err(|e| format!("second (warm) run fails: {e:?}"))?;
    same_output(&out, &second).map_err(|what| format!("warm rerun differs in {what}"))?;
    let fresh = catch_unwind(AssertUnwindSafe(|| {
        regarena::run(func, env, &options(algorithm))
    }))
    .map_err(|_| "panic in the fresh run".to_string())?
    .map_err(|e| format!("fresh run fails: {e:?}"))?;
    same_output(&out, &fresh).map_err(|what| format!("fresh run differs in {what}"))?;

    let mut checker = Checker::new(func, env);
    checker.prepare(&out);
    checker
        .run()
        .map_err(|e| format!("our checker: {:?}", &e.errors[..e.errors.len().min(3)]))?;
    let upstream_out = up::output_up(&out);
    let verdict = catch_unwind(AssertUnwindSafe(|| {
        let mut checker = ra2::checker::Checker::new(upstream_func, upstream_env);
        checker.prepare(&upstream_out);
        checker.run().map_err(|e| format!("{e:?}"))
    }))
    .map_err(|_| "panic in upstream's checker".to_string())?;
    verdict.map_err(|e| format!("upstream's checker: {e}"))?;
    Ok(Some(out.edits.len()))
}

fn report(name: &str, tally: &Tally) {
    eprintln!(
        "{name}: {} allocated and proved by both checkers ({} insts, {} edits), \
         {} rejected by the validator, {} failures",
        tally.allocated,
        tally.insts,
        tally.edits,
        tally.rejected_by_validator,
        tally.failures.len()
    );
    assert!(
        tally.failures.is_empty(),
        "{name}: {} failures, first:\n{}",
        tally.failures.len(),
        tally.failures[..tally.failures.len().min(10)].join("\n")
    );
}

fn record(tally: &mut Tally, seed: u64, insts: usize, result: Result<Option<usize>, String>) {
    match result {
        Ok(Some(edits)) => {
            tally.allocated += 1;
            tally.insts += insts;
            tally.edits += edits;
        }
        Ok(None) => tally.rejected_by_validator += 1,
        Err(why) => tally.failures.push(format!("seed {seed}: {why}")),
    }
}

/// The upstream function for `seed` (bytes from `Rng(seed)`), or `None`
/// when the generator runs out of bytes.
fn upstream_function(seed: u64) -> Option<Func> {
    let bytes = Rng(seed).bytes(4096);
    Func::arbitrary_with_options(
        &mut Unstructured::new(&bytes),
        &upstream_generator_options(),
    )
    .ok()
}

#[test]
fn upstream_generator_functions_allocate_and_check() {
    upstream_generator(Algorithm::Ion);
}

#[test]
fn upstream_generator_functions_allocate_and_check_fastalloc() {
    upstream_generator(Algorithm::Fastalloc);
}

fn upstream_generator(algorithm: Algorithm) {
    let up_env = machine_env();
    let env = up::env(&up_env);
    // About a quarter of the byte strings run dry before the generator
    // finishes; take the first FUNCTIONS seeds that give a function.
    let seeds: Vec<u64> = (0..FUNCTIONS * 2)
        .into_par_iter()
        .filter(|&seed| upstream_function(seed).is_some())
        .collect();
    assert!(
        seeds.len() >= FUNCTIONS as usize,
        "too few functions generated"
    );
    let mut tally = seeds[..FUNCTIONS as usize]
        .par_iter()
        .map_init(Ctx::default, |ctx, &seed| {
            let mut tally = Tally::default();
            let upstream_func = upstream_function(seed).expect("generated above");
            let func = up::function(&upstream_func);
            let upstream_fails = || {
                catch_unwind(AssertUnwindSafe(|| {
                    ra2::run(
                        &upstream_func,
                        &up_env,
                        &ra2::RegallocOptions {
                            validate_ssa: true,
                            ..Default::default()
                        },
                    )
                    .is_err()
                }))
                .unwrap_or(true)
            };
            let result = allocate_and_prove(
                algorithm,
                &func,
                &env,
                &upstream_func,
                &up_env,
                upstream_fails,
                ctx,
            );
            record(&mut tally, seed, func.insts.len(), result);
            tally
        })
        .reduce(Tally::default, Tally::merge);
    tally.failures.sort();
    report(&format!("upstream generator, {algorithm:?}"), &tally);
    assert_eq!(
        tally.allocated + tally.rejected_by_validator,
        FUNCTIONS as usize
    );
    assert!(
        tally.allocated > 9_000,
        "only {} of {FUNCTIONS} functions allocated",
        tally.allocated
    );
}

/// Our generator's options for `seed`: sizes log-uniform in 5..=2000.
fn our_options(seed: u64) -> GenOptions {
    let unit = (Rng(seed ^ 0x51ce).next() >> 11) as f64 / (1u64 << 53) as f64;
    GenOptions {
        target_insts: (5.0 * 400f64.powf(unit)).round() as usize,
        ..Default::default()
    }
}

#[test]
fn our_generator_functions_allocate_and_check() {
    our_generator(Algorithm::Ion);
}

#[test]
fn our_generator_functions_allocate_and_check_fastalloc() {
    our_generator(Algorithm::Fastalloc);
}

fn our_generator(algorithm: Algorithm) {
    let mut tally = (0..FUNCTIONS)
        .into_par_iter()
        .map_init(Ctx::default, |ctx, seed| {
            let mut tally = Tally::default();
            let (func, env) = generate_from_seed(seed, &our_options(seed));
            let upstream_func = up::UpstreamFunction::new(&func);
            let upstream_env = up::env_up(&env);
            // Our generator only emits valid functions, so any error is a
            // failure unless the validator rejects it (a generator bug
            // caught by `gen_valid.rs`).
            let result = allocate_and_prove(
                algorithm,
                &func,
                &env,
                &upstream_func,
                &upstream_env,
                || true,
                ctx,
            );
            record(&mut tally, seed, func.insts.len(), result);
            tally
        })
        .reduce(Tally::default, Tally::merge);
    tally.failures.sort();
    report(&format!("our generator, {algorithm:?}"), &tally);
    assert_eq!(
        tally.allocated, FUNCTIONS as usize,
        "every generated function allocates"
    );
}
