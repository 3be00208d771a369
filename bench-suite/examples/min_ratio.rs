//! `regarena compare`'s time ratio, robust to a loaded machine: both
//! allocators on every function, interleaved as `compare` runs them
//! (`alloc::allocate`, the other side first on every other function,
//! alternating by repeat), but each side's time for a function is the
//! *minimum* over the repeats, not a sum per repeat. A call preempted by
//! another process loses a time slice; the minimum drops it, so two
//! builds can be compared while other jobs share the cores.
//!
//! Prints ours, upstream and the ratio of the summed minimums, in total
//! and per `compare` size class.
//!
//! `cargo run --release -p regarena-bench --example min_ratio -- [REPEAT] [PATH...]`
//! (default: 15 repeats over ../shared/corpus; `MIN_RATIO_ALGO=ion` for Ion;
//! `MIN_RATIO_FRESH=1` new contexts at each pass, as `compare`'s repeats
//! make them; `MIN_RATIO_WORST=N` the N functions furthest above half of
//! upstream's time).

use regarena_tools::commands::alloc::{self, AlgorithmArg, Allocator, Contexts};

/// `compare`'s size classes (instructions).
const CLASSES: [usize; 6] = [0, 8, 32, 128, 512, 2048];

fn main() {
    regarena_bench::warn_if_upstream_traces("cargo build --release -p regarena-bench --examples");
    let (repeat, funcs) = regarena_bench::example_inputs(15);
    let algorithm = if std::env::var("MIN_RATIO_ALGO").as_deref() == Ok("ion") {
        AlgorithmArg::Ion
    } else {
        AlgorithmArg::Fastalloc
    };
    let mut ctxs = Contexts::with_algorithm(algorithm);
    // best[function] = [ours, upstream] seconds; NaN once a side failed.
    let mut best = vec![[f64::INFINITY; 2]; funcs.len()];
    // Per pass, each side's summed time (what `compare` takes the median
    // of), to show how far the minimum and the median lie apart.
    let mut pass_sums: Vec<[f64; 2]> = Vec::new();
    for pass in 0..repeat {
        if std::env::var_os("MIN_RATIO_FRESH").is_some() {
            ctxs = Contexts::with_algorithm(algorithm);
        }
        pass_sums.push([0.0; 2]);
        for (index, f) in funcs.iter().enumerate() {
            let order = if (index + pass) % 2 == 0 {
                [Allocator::Ours, Allocator::Upstream]
            } else {
                [Allocator::Upstream, Allocator::Ours]
            };
            for which in order {
                let side = usize::from(which == Allocator::Upstream);
                match alloc::allocate(which, f, &mut ctxs) {
                    Ok(t) => {
                        best[index][side] = best[index][side].min(t.as_secs_f64());
                        pass_sums[pass][side] += t.as_secs_f64();
                    }
                    Err(_) => best[index][side] = f64::NAN,
                }
            }
        }
    }
    let mut sums = [[0.0f64; 2]; CLASSES.len()];
    for (f, b) in funcs.iter().zip(&best) {
        if b[0].is_nan() || b[1].is_nan() {
            continue;
        }
        let n = f.func.insts.len();
        let class = CLASSES.iter().rposition(|&lo| n >= lo).unwrap_or(0);
        sums[class][0] += b[0];
        sums[class][1] += b[1];
    }
    let total = sums
        .iter()
        .fold([0.0, 0.0], |t, s| [t[0] + s[0], t[1] + s[1]]);
    let classes: Vec<String> = sums.iter().map(|s| format!("{:.3}", s[0] / s[1])).collect();
    println!(
        "min_ratio {:.4} ours {:.5} s upstream {:.5} s by_size {}",
        total[0] / total[1],
        total[0],
        total[1],
        classes.join(" ")
    );
    let median = |side: usize| {
        let mut v: Vec<f64> = pass_sums.iter().map(|s| s[side]).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "median of pass sums: ours {:.5} s upstream {:.5} s ratio {:.4}",
        median(0),
        median(1),
        median(0) / median(1)
    );
    // `MIN_RATIO_WORST=N`: the N functions whose time is furthest above
    // half of upstream's (where a 2x goal loses the most).
    if let Some(n) = std::env::var("MIN_RATIO_WORST")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        let mut excess: Vec<(f64, usize)> = best
            .iter()
            .enumerate()
            .filter(|(_, b)| !b[0].is_nan() && !b[1].is_nan())
            .map(|(i, b)| (b[0] - 0.5 * b[1], i))
            .collect();
        excess.sort_by(|a, b| b.0.total_cmp(&a.0));
        let total_excess: f64 = excess.iter().map(|e| e.0).sum();
        println!("summed excess over 0.5x upstream: {total_excess:.6} s");
        for &(e, i) in excess.iter().take(n) {
            let f = &funcs[i];
            println!(
                "{:>9.1} us ratio {:.3} insts {:>6} blocks {:>5} vregs {:>6} {}",
                e * 1e6,
                best[i][0] / best[i][1],
                f.func.insts.len(),
                regarena::Function::num_blocks(&f.func),
                regarena::Function::num_vregs(&f.func),
                f.path.display()
            );
        }
    }
}
