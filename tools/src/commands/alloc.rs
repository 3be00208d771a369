//! Allocating one corpus function with either allocator, and proving the
//! result with regarena's checker.
//!
//! Reads a [`CorpusFunction`] (both allocators' views of one function);
//! writes into the caller's [`Contexts`], which are reused from function
//! to function (one per worker thread). Every call runs under
//! [`guarded`], so a panic is a failure with a message, and the context a
//! panic may have left half-updated is replaced by a fresh one.

use std::time::{Duration, Instant};

use regarena::checker::Checker;
use regarena::{Output, RegallocOptions};

use super::guard::guarded;
use crate::corpus::CorpusFunction;
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

/// Memory reused across allocations: one context per allocator.
#[derive(Default)]
pub struct Contexts {
    pub ours: regarena::Ctx,
    pub upstream: ra2::Ctx,
}

impl std::fmt::Debug for Contexts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Contexts").finish_non_exhaustive()
    }
}

/// Allocates `cf` with `which`, leaving the result in `ctxs` (read it with
/// [`take_output`]). Returns the time the allocator itself ran; an
/// allocator error or panic is `Err(message)`.
pub fn allocate(
    which: Allocator,
    cf: &CorpusFunction,
    ctxs: &mut Contexts,
) -> Result<Duration, String> {
    let result = guarded(|| match which {
        Allocator::Ours => {
            let options = RegallocOptions::default();
            let start = Instant::now();
            let r = regarena::run_with_ctx(&cf.func, &cf.env, &options, &mut ctxs.ours).map(|_| ());
            (start.elapsed(), r.map_err(|e| e.to_string()))
        }
        Allocator::Upstream => {
            let options = ra2::RegallocOptions::default();
            let env = cf.upstream.machine_env();
            let start = Instant::now();
            let r = ra2::run_with_ctx(&cf.upstream, env, &options, &mut ctxs.upstream).map(|_| ());
            (start.elapsed(), r.map_err(|e| format!("{e:?}")))
        }
    });
    match result {
        Ok((elapsed, Ok(()))) => Ok(elapsed),
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

/// The last successful [`allocate`] result of `which`, in our types.
pub fn take_output(which: Allocator, ctxs: &mut Contexts) -> Output {
    match which {
        Allocator::Ours => std::mem::take(&mut ctxs.ours.output),
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

/// Allocates and checks one function: its output, or why it failed.
pub fn allocate_and_check(
    which: Allocator,
    cf: &CorpusFunction,
    ctxs: &mut Contexts,
) -> Result<Output, String> {
    allocate(which, cf, ctxs)?;
    let out = take_output(which, ctxs);
    check(cf, &out)?;
    Ok(out)
}
