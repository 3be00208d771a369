//! Allocation throughput on real corpora: for each corpus directory, a
//! criterion group with `ours/ion`, `upstream/ion` and `upstream/fastalloc`,
//! each allocating every function of the directory once per iteration with
//! one reused `Ctx` (as a backend compiling a module does). Throughput is
//! in instructions.
//!
//! Reads: the corpus named by `REGARENA_CORPUS`, else the shared corpus,
//! else the sample embedded in the tools crate (`corpus::load_sample`; no
//! file read). Functions any side fails on are left out of all three
//! sides, with one note per directory.
//!
//! Run: `cargo bench -p regarena-bench --features criterion --bench allocate
//! [-- --quick] [FILTER]`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput};
use regarena_bench::{corpus_source, screen, Runner, Side};

fn bench_corpus(c: &mut Criterion) {
    let source = match corpus_source() {
        Ok(source) => source,
        Err(why) => {
            eprintln!("allocate: skipped: {why}");
            return;
        }
    };
    eprintln!("allocate: corpus from {source}");
    let (groups, errors) = source.load();
    for error in &errors {
        eprintln!("allocate: not loaded: {error}");
    }
    if groups.is_empty() {
        eprintln!("allocate: skipped: no function loaded");
        return;
    }
    let mut runner = Runner::default();
    for group in groups {
        let screened = screen(group.funcs, &mut runner);
        if let Some(note) = screened.note(&group.name) {
            eprintln!("allocate: note: {note}");
        }
        let funcs = screened.kept;
        if funcs.is_empty() {
            eprintln!(
                "allocate: {}: skipped: no function is allocated by every side",
                group.name
            );
            continue;
        }
        let insts: u64 = funcs.iter().map(|f| f.func.insts.len() as u64).sum();
        let mut bench = c.benchmark_group(&group.name);
        bench.throughput(Throughput::Elements(insts));
        // One iteration allocates a whole directory (up to ~0.1 s for
        // upstream Ion on the largest): few, long samples.
        bench.sample_size(10);
        bench.warm_up_time(Duration::from_secs(1));
        for side in Side::ALL {
            let (implementation, algorithm) = side.id();
            bench.bench_function(BenchmarkId::new(implementation, algorithm), |b| {
                b.iter(|| {
                    let mut edits = 0usize;
                    for f in &funcs {
                        // Screened: every side allocated every function once
                        // already, and allocation is deterministic.
                        edits += runner.run(side, black_box(f)).unwrap_or(0);
                    }
                    edits
                })
            });
        }
        bench.finish();
    }
}

fn main() {
    regarena_bench::warn_if_upstream_traces(
        "cargo bench -p regarena-bench --features criterion --bench allocate",
    );
    let mut criterion = Criterion::default().configure_from_args();
    bench_corpus(&mut criterion);
    criterion.final_summary();
}
