//! How allocation time grows with function size: generated functions of
//! 10^3, 10^4, 10^5 and 10^6 instructions (`regarena::gen`, fixed seeds),
//! `ours/ion` against `upstream/ion`, each with a reused `Ctx`; throughput
//! in instructions, so a flat line means linear time.
//!
//! Reads: nothing outside (functions are generated). `REGARENA_SCALING_MAX`
//! caps the size (say `10000` for a quick look). A side that fails on a
//! size is noted and not timed at that size.
//!
//! Run: `cargo bench -p regarena-bench --features criterion --bench scaling
//! [-- --quick]`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput};
use regarena::gen::{generate_from_seed, GenOptions};
use regarena_bench::{ra2, upstream_env, Runner};
use regarena_tools::upstream::UpstreamFunction;

const SIZES: [usize; 4] = [1_000, 10_000, 100_000, 1_000_000];

fn bench_scaling(c: &mut Criterion) {
    let max = std::env::var("REGARENA_SCALING_MAX")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(usize::MAX);
    let mut runner = Runner::default();
    let mut group = c.benchmark_group("scaling");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    for (seed, &target_insts) in SIZES.iter().enumerate() {
        if target_insts > max {
            continue;
        }
        let options = GenOptions {
            target_insts,
            ..GenOptions::default()
        };
        let (func, env) = generate_from_seed(seed as u64, &options);
        let upstream = UpstreamFunction::new(&func);
        let upstream_env = upstream_env(&env);
        let insts = func.insts.len();
        group.throughput(Throughput::Elements(insts as u64));

        match runner.ours(&func, &env) {
            Ok(_) => {
                group.bench_function(BenchmarkId::new("ours/ion", target_insts), |b| {
                    b.iter(|| runner.ours(black_box(&func), &env))
                });
            }
            Err(e) => eprintln!("scaling: note: ours fails on {insts} instructions: {e}"),
        }
        match runner.upstream(&upstream, &upstream_env, ra2::Algorithm::Ion) {
            Ok(_) => {
                group.bench_function(BenchmarkId::new("upstream/ion", target_insts), |b| {
                    b.iter(|| {
                        runner.upstream(black_box(&upstream), &upstream_env, ra2::Algorithm::Ion)
                    })
                });
            }
            Err(e) => eprintln!("scaling: note: upstream fails on {insts} instructions: {e}"),
        }
    }
    group.finish();
}

fn main() {
    regarena_bench::warn_if_upstream_traces(
        "cargo bench -p regarena-bench --features criterion --bench scaling",
    );
    let mut criterion = Criterion::default().configure_from_args();
    bench_scaling(&mut criterion);
    criterion.final_summary();
}
