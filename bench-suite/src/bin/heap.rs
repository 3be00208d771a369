//! Heap profile of ours against upstream regalloc2 (Ion) on the same
//! functions, under the dhat heap profiler (feature `dhat-heap`).
//!
//! Reads: the corpus paths given as arguments, else `REGARENA_CORPUS`,
//! the shared corpus or the tools crate's embedded sample (as the benches). Writes
//! `dhat-heap-ours.json` and `dhat-heap-upstream.json` in the current
//! directory (open them in dhat's viewer, `dh_view.html`), and prints for
//! each side the total bytes and blocks allocated and the peak live bytes
//! and blocks (dhat's t-gmax).
//!
//! Each side runs every function once with one `Ctx` created inside its
//! profile, so the figures include warming the context, as a backend
//! compiling one module pays. dhat allows one profiler at a time: ours runs
//! under the first, upstream under the second.
//!
//! Run: `cargo run --release -p regarena-bench --features dhat-heap --bin heap -- [PATH]...`

use std::path::PathBuf;
use std::process::ExitCode;

use regarena_bench::{corpus_source, Runner, Side};
use regarena_tools::corpus::{self, CorpusFunction};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// What one side did under its profile.
struct SideReport {
    ok: usize,
    failed: usize,
    first_error: Option<String>,
    stats: dhat::HeapStats,
}

/// Allocates every function on `side` inside a dhat profile written to
/// `file`. The profiler ends (and writes) before this returns.
fn profile(side: Side, file: &str, funcs: &[CorpusFunction]) -> SideReport {
    let profiler = dhat::Profiler::builder().file_name(file).build();
    let mut runner = Runner::default();
    let mut report = SideReport {
        ok: 0,
        failed: 0,
        first_error: None,
        stats: dhat::HeapStats::get(),
    };
    for f in funcs {
        match runner.run(side, f) {
            Ok(_) => report.ok += 1,
            Err(e) => {
                report.failed += 1;
                if report.first_error.is_none() {
                    report.first_error = Some(format!("{}: {e}", f.path.display()));
                }
            }
        }
    }
    drop(runner);
    report.stats = dhat::HeapStats::get();
    drop(profiler);
    report
}

fn print(side: Side, file: &str, insts: u64, r: &SideReport) {
    let s = &r.stats;
    println!("{side}: {} allocated, {} failed -> {file}", r.ok, r.failed);
    if let Some(e) = &r.first_error {
        println!("  first failure: {e}");
    }
    println!(
        "  total:    {:>14} bytes in {:>10} blocks ({:.1} bytes/instruction)",
        s.total_bytes,
        s.total_blocks,
        s.total_bytes as f64 / insts.max(1) as f64
    );
    println!(
        "  max live: {:>14} bytes in {:>10} blocks (t-gmax)",
        s.max_bytes, s.max_blocks
    );
}

fn main() -> ExitCode {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let (funcs, errors) = if args.is_empty() {
        match corpus_source() {
            Ok(source) => {
                eprintln!("heap: corpus from {source}");
                let (groups, errors) = source.load();
                (groups.into_iter().flat_map(|g| g.funcs).collect(), errors)
            }
            Err(why) => {
                eprintln!("heap: {why}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        corpus::load_all(&args)
    };
    for e in &errors {
        eprintln!("heap: not loaded: {e}");
    }
    if funcs.is_empty() {
        eprintln!("heap: no function loaded");
        return ExitCode::FAILURE;
    }
    let insts: u64 = funcs.iter().map(|f| f.func.insts.len() as u64).sum();
    println!("{} functions, {insts} instructions", funcs.len());

    let ours_file = "dhat-heap-ours.json";
    let upstream_file = "dhat-heap-upstream.json";
    let ours = profile(Side::OursIon, ours_file, &funcs);
    let upstream = profile(Side::UpstreamIon, upstream_file, &funcs);
    print(Side::OursIon, ours_file, insts, &ours);
    print(Side::UpstreamIon, upstream_file, insts, &upstream);
    if upstream.stats.max_bytes > 0 && ours.failed == 0 {
        println!(
            "ours/upstream: max live {:.3}, total bytes {:.3}, blocks {:.3}",
            ours.stats.max_bytes as f64 / upstream.stats.max_bytes as f64,
            ours.stats.total_bytes as f64 / upstream.stats.total_bytes.max(1) as f64,
            ours.stats.total_blocks as f64 / upstream.stats.total_blocks.max(1) as f64,
        );
    } else if ours.failed > 0 {
        println!(
            "ours/upstream: not compared (ours failed on {} functions)",
            ours.failed
        );
    }
    ExitCode::SUCCESS
}
