//! `regarena check`: allocate every function with one allocator and prove
//! each result with regarena's checker.
//!
//! Reads corpus files (or the embedded sample); writes a per-group table
//! and a summary line (or one JSON object) to stdout. One context per
//! worker is reused across functions; results come back in input order
//! whatever `--jobs` is, so the report does not depend on it.

use std::path::PathBuf;
use std::process::ExitCode;

use rayon::prelude::*;

use super::alloc::{self, AlgorithmArg, Allocator, CheckerChoice, Contexts};
use super::{CommandResult, Failure, Progress};
use crate::corpus::CorpusFunction;

/// Arguments of `regarena check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Which allocator to run.
    #[arg(long, value_enum, default_value = "ours")]
    pub allocator: Allocator,
    /// Which algorithm to run: the backtracking allocator or the
    /// single-pass one.
    #[arg(long, value_enum, default_value_t = AlgorithmArg::Ion)]
    pub algorithm: AlgorithmArg,
    /// Which checker proves each result: regarena's, upstream regalloc2
    /// 0.15.2's own (the result converted bit for bit), or both.
    #[arg(long, value_enum, default_value_t = CheckerChoice::Ours)]
    pub checker: CheckerChoice,
    /// Print one JSON object instead of the table:
    /// {"functions","passed","failed","failures":[{"file","error"}]}.
    #[arg(long)]
    pub json: bool,
    /// Worker threads (one allocation context each); the report is the
    /// same for every value.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: u16,
    /// Corpus files or directories (walked recursively for *.bin); the
    /// sample corpus built into the binary when none is given.
    pub paths: Vec<PathBuf>,
}

/// The JSON report.
#[derive(Debug, serde::Serialize)]
struct Report {
    functions: usize,
    passed: usize,
    failed: usize,
    failures: Vec<Failure>,
}

/// One row of the table.
#[derive(Debug, Default)]
struct GroupRow {
    functions: usize,
    insts: usize,
    passed: usize,
    failed: usize,
}

/// Allocates `cf` and proves the result with `checker`. When a captured
/// result sits beside the function's file (`<file>.output`, written by the
/// `regalloc2` facade's `capture` feature: what the allocator returned
/// inside Cranelift), that captured result is what gets proved, and the
/// fresh allocation must equal it.
fn allocate_and_prove(
    which: Allocator,
    checker: CheckerChoice,
    cf: &CorpusFunction,
    ctxs: &mut Contexts,
) -> Result<(), String> {
    alloc::allocate(which, cf, ctxs)?;
    let fresh = alloc::copy_output(which, ctxs);
    let captured_file = cf.path.with_extension("output");
    if !captured_file.is_file() {
        return alloc::check_with(checker, cf, &fresh);
    }
    let bytes =
        std::fs::read(&captured_file).map_err(|e| format!("{}: {e}", captured_file.display()))?;
    let captured: regarena::Output = bincode::deserialize(&bytes)
        .map_err(|e| format!("{}: not an Output: {e}", captured_file.display()))?;
    alloc::check_with(checker, cf, &captured).map_err(|e| format!("captured result: {e}"))?;
    let same = captured.num_spillslots == fresh.num_spillslots
        && captured.allocs == fresh.allocs
        && captured.edits == fresh.edits
        && captured.inst_alloc_offsets == fresh.inst_alloc_offsets
        && captured.debug_locations == fresh.debug_locations;
    if same {
        Ok(())
    } else {
        Err(format!(
            "{}: the captured result differs from a fresh {} allocation",
            captured_file.display(),
            which.name()
        ))
    }
}

/// Allocates and checks every function; `Ok(())` or the failure message,
/// in input order.
fn check_all(
    which: Allocator,
    algorithm: AlgorithmArg,
    checker: CheckerChoice,
    funcs: &[CorpusFunction],
    jobs: usize,
    progress: &Progress,
) -> Result<Vec<Result<(), String>>, String> {
    let one = |ctxs: &mut Contexts, cf: &CorpusFunction| {
        let r = allocate_and_prove(which, checker, cf, ctxs);
        progress.inc(1);
        r
    };
    if jobs <= 1 {
        let mut ctxs = Contexts::with_algorithm(algorithm);
        return Ok(funcs.iter().map(|cf| one(&mut ctxs, cf)).collect());
    }
    super::with_jobs(jobs, || {
        funcs
            .par_iter()
            .map_init(|| Contexts::with_algorithm(algorithm), one)
            .collect()
    })
}

/// Runs `regarena check`.
pub fn run(args: &CheckArgs) -> CommandResult {
    let (funcs, load_errors) = super::load_inputs(&args.paths);
    let progress = Progress::new(funcs.len() as u64, "checking");
    let results = check_all(
        args.allocator,
        args.algorithm,
        args.checker,
        &funcs,
        usize::from(args.jobs),
        &progress,
    )?;
    progress.finish();

    let mut failures: Vec<Failure> = load_errors.iter().map(Failure::load).collect();
    let (names, group_of) = super::groups(&funcs);
    let mut rows: Vec<GroupRow> = names.iter().map(|_| GroupRow::default()).collect();
    for ((cf, result), &g) in funcs.iter().zip(results).zip(&group_of) {
        let row = &mut rows[g];
        row.functions += 1;
        row.insts += cf.func.insts.len();
        match result {
            Ok(()) => row.passed += 1,
            Err(e) => {
                row.failed += 1;
                failures.push(Failure::of(cf, e));
            }
        }
    }
    let total = funcs.len() + load_errors.len();
    let failed = failures.len();
    let passed = total - failed;

    if args.json {
        super::print_json(&Report {
            functions: total,
            passed,
            failed,
            failures,
        })?;
    } else {
        let mut out = String::new();
        for f in &failures {
            outln!(out, "failed {}: {}", f.file, f.error);
        }
        outln!(
            out,
            "{:<28} {:>9} {:>9} {:>7} {:>7}",
            "group",
            "functions",
            "insts",
            "passed",
            "failed"
        );
        let print_row = |out: &mut String, name: &str, r: &GroupRow| {
            outln!(
                out,
                "{:<28} {:>9} {:>9} {:>7} {:>7}",
                name,
                r.functions,
                r.insts,
                r.passed,
                r.failed
            );
        };
        for (name, row) in names.iter().zip(&rows) {
            print_row(&mut out, name, row);
        }
        if !load_errors.is_empty() {
            let n = load_errors.len();
            print_row(
                &mut out,
                "(unreadable)",
                &GroupRow {
                    functions: n,
                    insts: 0,
                    passed: 0,
                    failed: n,
                },
            );
        }
        outln!(
            out,
            "checked {total} functions: {passed} passed, {failed} failed"
        );
        super::write_stdout(&out)?;
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
