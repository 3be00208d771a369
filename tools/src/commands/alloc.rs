//! Allocating one corpus function with either allocator, and proving the
//! result with regarena's checker.
//!
//! Reads a [`CorpusFunction`] (both allocators' views of one function);
//! writes into the caller's [`Contexts`], which are reused from function
//! to function (one per worker thread). Every call runs under
//! [`guarded`], so a panic is a failure with a message, and the context a
//! panic may have left half-updated is replaced by a fresh one. The
//! allocator call alone is metered: timed ([`allocate`]) or its heap use
//! counted ([`allocate_heap`]; [`allocate_heap_cold`] counts a call with a
//! context made and dropped inside the metered region instead).

use std::time::{Duration, Instant};

use regarena::checker::Checker;
use regarena::{Output, RegallocOptions};

use super::guard::guarded;
use crate::corpus::CorpusFunction;
use crate::counting_alloc::{CountingAlloc, HeapUsage};
use crate::upstream::{self, ra2};

/// Which register allocator to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Allocator {
    /// regalloc2 0.15.2's Ion allocator, as published.
    Upstream,
    /// regarena (this repository).
    Ours,
}

impl Allocator {
    /// The name used in tables and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Allocator::Upstream => "upstream",
            Allocator::Ours => "ours",
        }
    }
}

/// Which algorithm both allocators run (`RegallocOptions::algorithm`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum AlgorithmArg {
    /// The backtracking allocator.
    #[default]
    Ion,
    /// The single-pass allocator.
    Fastalloc,
}

impl AlgorithmArg {
    /// Our options for this algorithm.
    pub fn ours(self) -> RegallocOptions {
        RegallocOptions {
            algorithm: match self {
                AlgorithmArg::Ion => regarena::Algorithm::Ion,
                AlgorithmArg::Fastalloc => regarena::Algorithm::Fastalloc,
            },
            ..RegallocOptions::default()
        }
    }

    /// Upstream's options for this algorithm.
    pub fn upstream(self) -> ra2::RegallocOptions {
        ra2::RegallocOptions {
            algorithm: match self {
                AlgorithmArg::Ion => ra2::Algorithm::Ion,
                AlgorithmArg::Fastalloc => ra2::Algorithm::Fastalloc,
            },
            ..ra2::RegallocOptions::default()
        }
    }
}

/// Memory reused across allocations: one context per allocator, and the
/// algorithm both run.
#[derive(Default)]
pub struct Contexts {
    pub ours: regarena::Ctx,
    pub upstream: ra2::Ctx,
    pub algorithm: AlgorithmArg,
}

impl Contexts {
    /// Fresh contexts running `algorithm`.
    pub fn with_algorithm(algorithm: AlgorithmArg) -> Contexts {
        Contexts {
            algorithm,
            ..Contexts::default()
        }
    }
}

impl std::fmt::Debug for Contexts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Contexts").finish_non_exhaustive()
    }
}

/// Allocates `cf` with `which`, leaving the result in `ctxs` (read it with
/// [`copy_output`]). Returns the time the allocator itself ran; an
/// allocator error or panic is `Err(message)`.
pub fn allocate(
    which: Allocator,
    cf: &CorpusFunction,
    ctxs: &mut Contexts,
) -> Result<Duration, String> {
    allocate_metered(which, cf, ctxs, |call| {
        let start = Instant::now();
        let result = call();
        (start.elapsed(), result)
    })
}

/// As [`allocate`], but returns the heap usage of the allocator call, as
/// seen by `heap` (which must be the process's global allocator; the
/// counters are process-wide, so other threads must be quiet).
pub fn allocate_heap(
    which: Allocator,
    cf: &CorpusFunction,
    ctxs: &mut Contexts,
    heap: &CountingAlloc,
) -> Result<HeapUsage, String> {
    allocate_metered(which, cf, ctxs, |call| {
        let (result, usage) = heap.measure(call);
        (usage, result)
    })
}

/// The heap usage of allocating `cf` with `which` using a fresh context:
/// `Ctx::default()` is created inside the measured region and dropped
/// before it ends, so the peak includes everything the allocator must
/// obtain from an empty context (our arena chunks, upstream's vectors).
/// Leaves no context behind; same rules for `heap` as [`allocate_heap`].
pub fn allocate_heap_cold(
    which: Allocator,
    cf: &CorpusFunction,
    heap: &CountingAlloc,
    algorithm: AlgorithmArg,
) -> Result<HeapUsage, String> {
    let result = guarded(|| match which {
        Allocator::Ours => {
            let options = algorithm.ours();
            heap.measure(|| {
                let mut ctx = regarena::Ctx::default();
                let result = regarena::run_with_ctx(&cf.func, &cf.env, &options, &mut ctx)
                    .map(|_| ())
                    .map_err(|e| e.to_string());
                drop(ctx);
                result
            })
        }
        Allocator::Upstream => {
            let options = algorithm.upstream();
            let env = cf.upstream.machine_env();
            heap.measure(|| {
                let mut ctx = ra2::Ctx::default();
                let result = ra2::run_with_ctx(&cf.upstream, env, &options, &mut ctx)
                    .map(|_| ())
                    .map_err(|e| format!("{e:?}"));
                drop(ctx);
                result
            })
        }
    });
    match result {
        Ok((Ok(()), usage)) => Ok(usage),
        Ok((Err(e), _)) => Err(format!("{} allocator (fresh context): {e}", which.name())),
        Err(panic) => Err(format!(
            "{} allocator (fresh context) {panic}",
            which.name()
        )),
    }
}

/// The allocator call of `which` on `cf`, with nothing but the call
/// itself inside (the options and the machine env are ready, and the
/// error message is built only on failure).
type AllocatorCall<'c> = dyn FnMut() -> Result<(), String> + 'c;

/// Runs the allocator call inside `meter`, which calls it exactly once and
/// returns what it measured with the call's result, all under [`guarded`].
fn allocate_metered<M>(
    which: Allocator,
    cf: &CorpusFunction,
    ctxs: &mut Contexts,
    meter: impl FnOnce(&mut AllocatorCall<'_>) -> (M, Result<(), String>),
) -> Result<M, String> {
    let algorithm = ctxs.algorithm;
    let result = guarded(|| match which {
        Allocator::Ours => {
            let options = algorithm.ours();
            let ctx = &mut ctxs.ours;
            meter(&mut || {
                regarena::run_with_ctx(&cf.func, &cf.env, &options, ctx)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            })
        }
        Allocator::Upstream => {
            let options = algorithm.upstream();
            let env = cf.upstream.machine_env();
            let ctx = &mut ctxs.upstream;
            meter(&mut || {
                ra2::run_with_ctx(&cf.upstream, env, &options, ctx)
                    .map(|_| ())
                    .map_err(|e| format!("{e:?}"))
            })
        }
    });
    match result {
        Ok((measured, Ok(()))) => Ok(measured),
        Ok((_, Err(e))) => Err(format!("{} allocator: {e}", which.name())),
        Err(panic) => {
            // The context may be half-updated; start the next function afresh.
            match which {
                Allocator::Ours => ctxs.ours = regarena::Ctx::default(),
                Allocator::Upstream => ctxs.upstream = ra2::Ctx::default(),
            }
            Err(format!("{} allocator {panic}", which.name()))
        }
    }
}

/// The last successful [`allocate`] result of `which`, in our types: a
/// copy, so both contexts keep their output buffers (moving ours out
/// would make our next call regrow them while upstream's kept theirs, an
/// unequal start in `compare`'s first repeat).
pub fn copy_output(which: Allocator, ctxs: &Contexts) -> Output {
    match which {
        Allocator::Ours => ctxs.ours.output.clone(),
        Allocator::Upstream => upstream::output(&ctxs.upstream.output),
    }
}

/// Proves `out` right for `cf` with regarena's checker; a violation or a
/// checker panic is `Err(message)`.
pub fn check(cf: &CorpusFunction, out: &Output) -> Result<(), String> {
    let result = guarded(|| {
        let mut checker = Checker::new(&cf.func, &cf.env);
        checker.prepare(out);
        checker.run()
    });
    match result {
        Ok(Ok(())) => Ok(()),
        Ok(Err(errors)) => {
            let n = errors.errors.len();
            let first = errors
                .errors
                .first()
                .map_or_else(String::new, |e| format!("; first: {e:?}"));
            Err(format!("checker: {n} error(s){first}"))
        }
        Err(panic) => Err(format!("checker {panic}")),
    }
}

/// Which checker proves a result.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum CheckerChoice {
    /// regarena's checker.
    #[default]
    Ours,
    /// regalloc2 0.15.2's own checker (the result converted bit for bit),
    /// so the verdict does not rest on regarena's code.
    Upstream,
    /// Both; the result must pass each.
    Both,
}

/// Proves `out` right for `cf` with upstream regalloc2's checker (our
/// output converted to upstream's types bit for bit).
pub fn check_upstream(cf: &CorpusFunction, out: &Output) -> Result<(), String> {
    let up = upstream::output_up(out);
    let result = guarded(|| {
        let mut checker = ra2::checker::Checker::new(&cf.upstream, cf.upstream.machine_env());
        checker.prepare(&up);
        checker.run()
    });
    match result {
        Ok(Ok(())) => Ok(()),
        Ok(Err(errors)) => {
            // Upstream's error list is private; its Debug form names them.
            let text: String = format!("{errors:?}").chars().take(400).collect();
            Err(format!("upstream checker: {text}"))
        }
        Err(panic) => Err(format!("upstream checker {panic}")),
    }
}

/// Proves `out` with the checker(s) `choice` names.
pub fn check_with(choice: CheckerChoice, cf: &CorpusFunction, out: &Output) -> Result<(), String> {
    if matches!(choice, CheckerChoice::Ours | CheckerChoice::Both) {
        check(cf, out)?;
    }
    if matches!(choice, CheckerChoice::Upstream | CheckerChoice::Both) {
        check_upstream(cf, out)?;
    }
    Ok(())
}

/// Allocates and checks one function: its output, or why it failed.
pub fn allocate_and_check(
    which: Allocator,
    cf: &CorpusFunction,
    ctxs: &mut Contexts,
) -> Result<Output, String> {
    allocate(which, cf, ctxs)?;
    let out = copy_output(which, ctxs);
    check(cf, &out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus;

    /// Until regarena's checker lands, upstream's own checker vouches for
    /// the upstream path of `check`: each sample function allocates, the
    /// result passes regalloc2's checker, and [`copy_output`] hands it on
    /// bit for bit.
    #[test]
    fn upstream_results_pass_upstream_checker_and_convert_bit_for_bit() {
        let (funcs, errors) = corpus::load_sample();
        assert!(errors.is_empty());
        let mut ctxs = Contexts::default();
        for cf in &funcs {
            let name = cf.path.display();
            allocate(Allocator::Upstream, cf, &mut ctxs).unwrap_or_else(|e| panic!("{name}: {e}"));
            let up = &ctxs.upstream.output;
            let mut checker = ra2::checker::Checker::new(&cf.upstream, cf.upstream.machine_env());
            checker.prepare(up);
            checker.run().unwrap_or_else(|e| panic!("{name}: {e:?}"));
            let up_allocs: Vec<u32> = up.allocs.iter().map(|a| a.bits()).collect();
            let up_edits: Vec<(u32, u32, u32)> = up
                .edits
                .iter()
                .map(|(p, ra2::Edit::Move { from, to })| (p.to_index(), from.bits(), to.bits()))
                .collect();
            let (spillslots, offsets) = (up.num_spillslots, up.inst_alloc_offsets.clone());
            let out = copy_output(Allocator::Upstream, &ctxs);
            let allocs: Vec<u32> = out.allocs.iter().map(|a| a.bits()).collect();
            let edits: Vec<(u32, u32, u32)> = out
                .edits
                .iter()
                .map(|(p, regarena::Edit::Move { from, to })| {
                    (p.to_index(), from.bits(), to.bits())
                })
                .collect();
            assert_eq!(allocs, up_allocs, "{name}");
            assert_eq!(edits, up_edits, "{name}");
            assert_eq!(out.inst_alloc_offsets, offsets, "{name}");
            assert_eq!(out.num_spillslots, spillslots, "{name}");
        }
    }

    #[test]
    fn invalid_function_fails_with_a_message() {
        let (funcs, _) = corpus::load_sample();
        let mut cf = corpus::decode(
            std::path::Path::new("broken.bin"),
            "g",
            &upstream::to_tool_file(&funcs[0].func, &funcs[0].env),
        )
        .expect("round trip");
        // An entry block out of range: both allocators must refuse cleanly.
        cf.func.entry = regarena::Block::new(cf.func.blocks.len() + 5);
        let mut ctxs = Contexts::default();
        let err = allocate(Allocator::Ours, &cf, &mut ctxs).expect_err("invalid function");
        assert!(err.starts_with("ours allocator"), "{err}");
    }
}
