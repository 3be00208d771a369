//! Runs only regarena's Ion (`PROFILE_ALGO=fastalloc`: its single-pass allocator) (or, with `PROFILE_UPSTREAM=1`, only upstream's) over a corpus, `REPEAT` times with one warm
//! `Ctx`, for profilers (`perf record`, `valgrind --tool=callgrind`).
//!
//! `PROFILE_MIN_INSTS`/`PROFILE_MAX_INSTS` keep only functions of that
//! size (`PROFILE_VSTAT=1` prints their vreg, instruction and block counts). `PROFILE_HASH=1` also prints one digest of every output (unchanged by
//! a pure optimization); `PROFILE_STATS=1` prints summed `Stats` of both.
//! `PROFILE_PASSES=1` prints each pass's time and minor page faults; `PROFILE_BY_SIZE=1`
//! the measured time per size class; `PROFILE_FRESH=1` new contexts at
//! each pass (as `compare`'s repeats); `PROFILE_INTERLEAVE=1`
//! runs the other allocator on each function too, as `compare` does;
//! `PROFILE_WARM=N` runs each function N times untimed before the timed
//! run (warm caches: a sampling profile then shows stalls, not first
//! touches).
//!
//! `cargo run --release -p regarena-bench --example profile_ours -- [REPEAT] [PATH...]`
//! (default: 5 repeats over ../shared/corpus, else the embedded sample).

use std::time::Instant;

use regarena::{Ctx, RegallocOptions};
use regarena_tools::upstream;

/// The smallest instruction count of each size class (as `compare`).
const SIZE_CLASSES: [usize; 6] = [0, 8, 32, 128, 512, 2048];

fn size_class(insts: usize) -> usize {
    SIZE_CLASSES
        .iter()
        .rposition(|&min| insts >= min)
        .unwrap_or(0)
}

fn main() {
    let (repeat, funcs) = regarena_bench::example_inputs(5);
    // `PROFILE_MIN_INSTS` / `PROFILE_MAX_INSTS`: only functions with
    // `min..max` instructions (to study one size class of `compare`).
    let bound = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (min_insts, max_insts) = (
        bound("PROFILE_MIN_INSTS", 0),
        bound("PROFILE_MAX_INSTS", usize::MAX),
    );
    let mut funcs = funcs;
    funcs.retain(|f| (min_insts..max_insts).contains(&f.func.insts.len()));
    if std::env::var_os("PROFILE_VSTAT").is_some() {
        let mut v: Vec<usize> = funcs
            .iter()
            .map(|f| regarena::Function::num_vregs(&f.func))
            .collect();
        v.sort();
        eprintln!(
            "vregs min {} med {} max {} sum {} insts {}",
            v[0],
            v[v.len() / 2],
            v[v.len() - 1],
            v.iter().sum::<usize>(),
            funcs.iter().map(|f| f.func.insts.len()).sum::<usize>()
        );
        let blocks: Vec<usize> = funcs.iter().map(|f| f.func.blocks.len()).collect();
        eprintln!(
            "blocks sum {} single-block functions {}",
            blocks.iter().sum::<usize>(),
            blocks.iter().filter(|&&b| b == 1).count()
        );
    }
    let options = RegallocOptions {
        verbose_log: false,
        validate_ssa: false,
        // `PROFILE_ALGO=fastalloc`: the single-pass allocator on both sides.
        algorithm: if std::env::var("PROFILE_ALGO").as_deref() == Ok("fastalloc") {
            regarena::Algorithm::Fastalloc
        } else {
            regarena::Algorithm::Ion
        },
    };
    let upstream = std::env::var_os("PROFILE_UPSTREAM").is_some();
    if upstream || std::env::var_os("PROFILE_INTERLEAVE").is_some() {
        regarena_bench::warn_if_upstream_traces(
            "cargo build --release -p regarena-bench --examples",
        );
    }
    let mut ctx = Ctx::default();
    let mut up_ctx = upstream::ra2::Ctx::default();
    let up_options = upstream::ra2::RegallocOptions {
        algorithm: match options.algorithm {
            regarena::Algorithm::Fastalloc => upstream::ra2::Algorithm::Fastalloc,
            _ => upstream::ra2::Algorithm::Ion,
        },
        ..upstream::ra2::RegallocOptions::default()
    };
    // `PROFILE_INTERLEAVE=1`: run the other allocator on each function
    // just before the measured one, as `regarena compare` does (so the
    // measured side starts with caches holding the other's data); the
    // printed time then covers only the measured side.
    let interleave = std::env::var_os("PROFILE_INTERLEAVE").is_some();
    // `PROFILE_WARM=N` (default 1): run the measured side N times,
    // untimed, just before the timed call, so the function's data is in
    // the cache (the time printed then leaves out first-touch misses; a
    // large N makes a sampling profile mostly warm runs).
    let warm_runs: usize = std::env::var("PROFILE_WARM")
        .ok()
        .map_or(0, |v| v.parse().unwrap_or(1));
    let warm = warm_runs > 0;
    let mut measured = std::time::Duration::ZERO;
    // `PROFILE_BY_SIZE=1`: the measured time per size class, as
    // `regarena compare`'s `by_size` rows.
    let mut by_size = [std::time::Duration::ZERO; SIZE_CLASSES.len()];
    let start = Instant::now();
    let mut failed = 0usize;
    // `PROFILE_FRESH=1`: new contexts at each pass, as `regarena compare`
    // makes at each repeat (the first functions of a pass then grow them).
    let fresh = std::env::var_os("PROFILE_FRESH").is_some();
    // `PROFILE_PASSES=1`: each pass's time and minor page faults.
    let print_passes = std::env::var_os("PROFILE_PASSES").is_some();
    for pass in 0..repeat {
        if fresh {
            ctx = Ctx::default();
            up_ctx = upstream::ra2::Ctx::default();
        }
        let pass_start = Instant::now();
        let faults_at_start = if print_passes { minor_faults() } else { 0 };
        for (index, f) in funcs.iter().enumerate() {
            // As `regarena compare`: the other side runs first on every
            // other function (alternating by repeat), else after.
            let other_first = (index + pass) % 2 == 1;
            let run_other = |ctx: &mut Ctx, up_ctx: &mut upstream::ra2::Ctx| {
                if upstream {
                    let _ = regarena::run_with_ctx(&f.func, &f.env, &options, ctx);
                } else {
                    let env = f.upstream.machine_env();
                    let _ = upstream::ra2::run_with_ctx(&f.upstream, env, &up_options, up_ctx);
                }
            };
            if interleave && other_first {
                run_other(&mut ctx, &mut up_ctx);
            }
            // (Upstream's machine env is built outside the timed call, as
            // `regarena compare` does.)
            let env = f.upstream.machine_env();
            for _ in 0..warm_runs {
                if upstream {
                    let _ = upstream::ra2::run_with_ctx(&f.upstream, env, &up_options, &mut up_ctx);
                } else {
                    let _ = regarena::run_with_ctx(&f.func, &f.env, &options, &mut ctx);
                }
            }
            let call_start = Instant::now();
            let ok = if upstream {
                upstream::ra2::run_with_ctx(&f.upstream, env, &up_options, &mut up_ctx).is_ok()
            } else {
                regarena::run_with_ctx(&f.func, &f.env, &options, &mut ctx).is_ok()
            };
            let took = call_start.elapsed();
            measured += took;
            by_size[size_class(f.func.insts.len())] += took;
            if interleave && !other_first {
                run_other(&mut ctx, &mut up_ctx);
            }
            if !ok {
                failed += 1;
            }
        }
        if print_passes {
            eprintln!(
                "pass {pass}: {:.4} s, {} minor page faults",
                pass_start.elapsed().as_secs_f64(),
                minor_faults().saturating_sub(faults_at_start)
            );
        }
    }
    if std::env::var_os("PROFILE_BY_SIZE").is_some() {
        // Per size class (`regarena compare`'s classes), summed over the
        // passes, per pass.
        for (class, time) in by_size.iter().enumerate() {
            eprintln!(
                "insts >= {:5}: {:.4} s per pass",
                SIZE_CLASSES[class],
                time.as_secs_f64() / repeat as f64
            );
        }
    }
    let secs = if interleave || warm {
        measured.as_secs_f64()
    } else {
        start.elapsed().as_secs_f64()
    };
    if std::env::var_os("PROFILE_HASH").is_some() {
        // One digest of every output (edits, allocations, slots, debug
        // locations), to show an optimization left the results unchanged.
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        for f in &funcs {
            match regarena::run_with_ctx(&f.func, &f.env, &options, &mut ctx) {
                Ok(_) => {
                    let out = &ctx.output;
                    format!(
                        "{:?}{:?}{:?}{:?}{:?}",
                        out.edits,
                        out.allocs,
                        out.inst_alloc_offsets,
                        out.num_spillslots,
                        out.debug_locations
                    )
                    .hash(&mut hasher);
                }
                Err(e) => format!("{e:?}").hash(&mut hasher),
            }
        }
        println!("output digest {:016x}", hasher.finish());
    }
    if std::env::var_os("PROFILE_STATS").is_some() {
        // Summed allocator counters of one pass, ours beside upstream's.
        let mut ours_total = std::collections::BTreeMap::<String, u64>::new();
        let mut up_total = std::collections::BTreeMap::<String, u64>::new();
        let add = |total: &mut std::collections::BTreeMap<String, u64>, debug: String| {
            let body = debug
                .split_once('{')
                .map_or("", |(_, b)| b)
                .trim_end_matches('}');
            for field in body.split(',') {
                if let Some((k, v)) = field.split_once(':') {
                    if let Ok(v) = v.trim().parse::<u64>() {
                        *total.entry(k.trim().to_string()).or_default() += v;
                    }
                }
            }
        };
        for f in &funcs {
            if regarena::run_with_ctx(&f.func, &f.env, &options, &mut ctx).is_ok() {
                add(&mut ours_total, format!("{:?}", ctx.output.stats));
            }
            let env = f.upstream.machine_env();
            if upstream::ra2::run_with_ctx(&f.upstream, env, &up_options, &mut up_ctx).is_ok() {
                add(&mut up_total, format!("{:?}", up_ctx.output.stats));
            }
        }
        for (k, v) in &ours_total {
            println!(
                "{k:48} {v:>10} {:>10}",
                up_total.get(k).copied().unwrap_or(0)
            );
        }
    }
    // Peak resident memory (Linux), corpus included: a hint of how much
    // the allocator's tables touch.
    let peak = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM"))
                .map(str::to_string)
        })
        .unwrap_or_default();
    println!(
        "{} functions x {repeat}: {:.4} s per pass, {failed} failed {peak}",
        funcs.len(),
        secs / repeat as f64
    );
}

/// The process's minor page faults so far (Linux; 0 elsewhere): the pages
/// a pass touched for the first time, each cleared by the kernel.
fn minor_faults() -> u64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| {
            // Fields after the parenthesized command name; minflt is the
            // tenth field of the line, the eighth after the name.
            let rest = &stat[stat.rfind(')')? + 1..];
            rest.split_whitespace().nth(7)?.parse().ok()
        })
        .unwrap_or(0)
}
