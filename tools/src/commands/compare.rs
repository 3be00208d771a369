//! `regarena compare`: regarena against upstream regalloc2 (Ion) on the
//! same functions in one process — allocation time and the cost of the
//! moves each inserts.
//!
//! Reads corpus files (or the embedded sample); writes a per-group table
//! (or one JSON object of totals) to stdout.
//!
//! Measurement: every repeat allocates every function with both
//! allocators back to back, alternating which goes first (by function and
//! repeat) so neither always finds the function warm in cache. Only the
//! allocator call is timed, with a context reused across functions. A
//! side's time for a group is the sum of its per-function times in one
//! repeat; the report gives the median over repeats. The first repeat's
//! outputs are proved by regarena's checker (untimed) and scored by
//! [`cost`](super::cost). A function that fails on either side (allocator
//! error, panic, checker error) counts in that side's `failed` and is left
//! out of both sides' times and costs, so the ratios compare like with like.
//!
//! After the timed repeats, untimed: a sequential heap pass over the
//! compared functions (when the binary registered a [`CountingAlloc`]),
//! one side after the other, each with one context for the whole pass:
//! each function is allocated once to warm the context, then again with
//! the process's heap counters reset just around the allocator call,
//! giving the call's peak heap growth and its number of heap allocations
//! (warm figures), then once more with a fresh context made and dropped
//! inside the measured region (cold figures: what one call costs when
//! nothing is kept). The bytes in use after the side's last call, with its
//! context still alive, minus those before the context was made are what
//! the warm context retains (`retained_bytes`). It is sequential even with
//! `--jobs`, because the counters are process-wide. Then the floor: `--repeat` passes that only read every
//! compared function through the [`Function`] trait (see [`read_floor`]);
//! `floor_seconds` is their median, what any allocator must pay at least.

use std::hint::black_box;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use regarena::{Block, Function};

use super::alloc::{self, AlgorithmArg, Allocator, Contexts};
use super::cost::{CostModel, EditCounts};
use super::{CommandResult, Failure, Progress};
use crate::corpus::CorpusFunction;
use crate::counting_alloc::{CountingAlloc, HeapUsage};
use crate::upstream::upstream_traces;

/// Arguments of `regarena compare`.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// Which algorithm both sides run: Ion against upstream's Ion, or
    /// our single-pass allocator against upstream's fastalloc.
    #[arg(long, value_enum, default_value_t = AlgorithmArg::Ion)]
    pub algorithm: AlgorithmArg,
    /// Print one JSON object of totals instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Timed repeats; times are the median over repeats.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub repeat: u32,
    /// Worker threads (one pair of contexts each). Times are summed
    /// per-function allocator times, so they stay comparable, but
    /// parallel runs share caches and cores: use 1 for figures you quote.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: u16,
    /// Corpus files or directories (walked recursively for *.bin); the
    /// sample corpus built into the binary when none is given.
    pub paths: Vec<PathBuf>,
}

/// What one side did with one function in one repeat.
#[derive(Debug)]
struct SideRun {
    /// Allocator time, or why allocation or the check failed.
    result: Result<Duration, String>,
    /// Edit counts (first repeat only, and only when it passed).
    counts: EditCounts,
}

/// Both sides on one function in one repeat; `[ours, upstream]`.
type PairRun = [SideRun; 2];

const SIDES: [Allocator; 2] = [Allocator::Ours, Allocator::Upstream];

fn run_side(which: Allocator, cf: &CorpusFunction, ctxs: &mut Contexts, first: bool) -> SideRun {
    let mut counts = EditCounts::default();
    let result = alloc::allocate(which, cf, ctxs).and_then(|elapsed| {
        if first {
            let out = alloc::copy_output(which, ctxs);
            alloc::check(cf, &out)?;
            counts = CostModel::new(&cf.func, &cf.env).count(&out);
        }
        Ok(elapsed)
    });
    SideRun { result, counts }
}

fn run_pair(cf: &CorpusFunction, ctxs: &mut Contexts, index: usize, repeat: u32) -> PairRun {
    let first = repeat == 0;
    if (index + repeat as usize) & 1 == 0 {
        let ours = run_side(Allocator::Ours, cf, ctxs, first);
        let upstream = run_side(Allocator::Upstream, cf, ctxs, first);
        [ours, upstream]
    } else {
        let upstream = run_side(Allocator::Upstream, cf, ctxs, first);
        let ours = run_side(Allocator::Ours, cf, ctxs, first);
        [ours, upstream]
    }
}

/// Reads everything an allocator must read of `func` through the
/// [`Function`] trait, once, and folds it into a checksum (so the reads
/// cannot be optimized away): every block's successors and parameters,
/// every instruction's operands, clobbers, branch/return flags and, on
/// branches, the arguments to each successor's parameters. The time of
/// this pass is the floor under any allocator's time.
pub fn read_floor<F: Function>(func: &F) -> u64 {
    fn fold(sum: u64, value: u64) -> u64 {
        (sum.rotate_left(5) ^ value).wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }
    let mut sum = fold(0, func.num_vregs() as u64);
    for b in 0..func.num_blocks() {
        let block = Block::new(b);
        let succs = func.block_succs(block);
        for s in succs {
            sum = fold(sum, s.index() as u64);
        }
        for param in func.block_params(block) {
            sum = fold(sum, param.bits() as u64);
        }
        for inst in func.block_insns(block).iter() {
            for operand in func.inst_operands(inst) {
                sum = fold(sum, operand.bits());
            }
            for preg in func.inst_clobbers(inst) {
                sum = fold(sum, preg.index() as u64);
            }
            sum = fold(sum, u64::from(func.is_ret(inst)));
            if func.is_branch(inst) {
                for succ_idx in 0..succs.len() {
                    for arg in func.branch_blockparams(block, inst, succ_idx) {
                        sum = fold(sum, arg.bits() as u64);
                    }
                }
            }
        }
    }
    sum
}

/// Heap use of one side, warm and cold, summed over functions.
#[derive(Clone, Copy, Debug, Default)]
struct HeapTotals {
    /// Functions measured.
    functions: usize,
    /// Highest per-call peak heap growth.
    peak_max: usize,
    /// Sum over functions of the per-call peak heap growth.
    peak_sum: u64,
    /// Heap allocations over all measured calls.
    allocations: u64,
    /// Calls that made no heap allocation at all.
    zero_alloc: usize,
    /// Highest peak heap growth of one call with a fresh context.
    cold_peak_max: usize,
    /// Sum over functions of the fresh-context peaks.
    cold_peak_sum: u64,
}

/// What one side's heap pass measured on one function.
#[derive(Clone, Copy, Debug, Default)]
struct HeapRun {
    /// The second call with the warm context.
    warm: HeapUsage,
    /// One call with a fresh context.
    cold: HeapUsage,
}

impl HeapTotals {
    fn add(&mut self, run: &HeapRun) {
        let usage = &run.warm;
        self.functions += 1;
        self.peak_max = self.peak_max.max(usage.peak_bytes);
        self.peak_sum += usage.peak_bytes as u64;
        self.allocations += usage.allocations;
        self.zero_alloc += usize::from(usage.allocations == 0);
        self.cold_peak_max = self.cold_peak_max.max(run.cold.peak_bytes);
        self.cold_peak_sum += run.cold.peak_bytes as u64;
    }

    fn merge(&mut self, other: &HeapTotals) {
        self.functions += other.functions;
        self.peak_max = self.peak_max.max(other.peak_max);
        self.peak_sum += other.peak_sum;
        self.allocations += other.allocations;
        self.zero_alloc += other.zero_alloc;
        self.cold_peak_max = self.cold_peak_max.max(other.cold_peak_max);
        self.cold_peak_sum += other.cold_peak_sum;
    }

    fn per_function(&self, total: f64) -> f64 {
        if self.functions == 0 {
            0.0
        } else {
            total / self.functions as f64
        }
    }

    /// The JSON form; `retained_bytes` is measured over the whole pass,
    /// so only the total has it.
    fn report(&self, retained_bytes: i64) -> HeapReport {
        HeapReport {
            peak_heap_bytes: self.peak_max,
            mean_peak_heap_bytes: self.per_function(self.peak_sum as f64),
            sum_peak_heap_bytes: self.peak_sum,
            allocs_per_function: self.per_function(self.allocations as f64),
            zero_alloc_functions: self.zero_alloc,
            cold_peak_heap_bytes: self.cold_peak_max,
            cold_sum_peak_heap_bytes: self.cold_peak_sum,
            retained_bytes,
        }
    }
}

/// The JSON form of [`HeapTotals`].
#[derive(Clone, Debug, serde::Serialize)]
struct HeapReport {
    /// Highest peak heap growth of one allocator call (warm context).
    peak_heap_bytes: usize,
    /// Mean over functions of that peak.
    mean_peak_heap_bytes: f64,
    /// Sum over functions of that peak (the numerator or denominator of
    /// `heap_ratio`).
    sum_peak_heap_bytes: u64,
    /// Mean heap allocations per allocator call (warm context).
    allocs_per_function: f64,
    /// Functions allocated with no heap allocation at all.
    zero_alloc_functions: usize,
    /// Highest peak heap growth of one allocator call with a fresh
    /// context (created and dropped inside the measured region).
    cold_peak_heap_bytes: usize,
    /// Sum over functions of that fresh-context peak (the numerator or
    /// denominator of `cold_heap_ratio`).
    cold_sum_peak_heap_bytes: u64,
    /// Heap held by the side's warm context at the end of the heap pass:
    /// bytes in use after its last call (context alive) minus bytes in
    /// use before the context was created.
    retained_bytes: i64,
}

/// One side's totals over a set of functions.
#[derive(Clone, Debug, Default, serde::Serialize)]
struct SideTotals {
    failed: usize,
    seconds: f64,
    #[serde(flatten)]
    counts: EditCounts,
    #[serde(skip)]
    heap: HeapTotals,
    /// See [`HeapReport::retained_bytes`]; set on the total only.
    #[serde(skip)]
    retained_bytes: i64,
}

/// Totals for one group (or all).
#[derive(Clone, Debug, Default)]
struct Totals {
    functions: usize,
    insts: usize,
    /// Functions both sides passed: the ones timed and scored.
    compared: usize,
    sides: [SideTotals; 2],
}

fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0).then(|| a / b)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// One side in the JSON report.
#[derive(Debug, serde::Serialize)]
struct SideReport {
    #[serde(flatten)]
    totals: SideTotals,
    /// Absent when the binary counts no heap.
    #[serde(flatten)]
    heap: Option<HeapReport>,
}

/// The JSON report.
#[derive(Debug, serde::Serialize)]
struct Report {
    functions: usize,
    insts: usize,
    compared: usize,
    ours: SideReport,
    upstream: SideReport,
    time_ratio: Option<f64>,
    /// Each repeat's own ratio (ours' summed time over upstream's, in
    /// repeat order): how far the machine moved the ratio between
    /// repeats, which the median hides.
    time_ratio_by_repeat: Vec<Option<f64>>,
    cost_ratio: Option<f64>,
    /// Median time of one read-only pass over the compared functions.
    floor_seconds: f64,
    /// Ours' `sum_peak_heap_bytes` over upstream's: the per-function warm
    /// peaks summed, so every function weighs by its own footprint rather
    /// than the largest one deciding alone.
    heap_ratio: Option<f64>,
    /// Ours' `cold_sum_peak_heap_bytes` over upstream's: the same sum with
    /// a fresh context per call, so memory a context keeps between calls
    /// counts on every call.
    cold_heap_ratio: Option<f64>,
    /// The compared functions by size ([`SIZE_BUCKETS`]): where the time
    /// and cost ratios come from.
    by_size: Vec<SizeRow>,
    /// Whether the upstream linked in was built with its `trace-log`
    /// feature, which slows it (see [`upstream_traces`]); `null` when it
    /// could not be found out. Time ratios are fair only when `false`.
    upstream_trace_log: Option<bool>,
}

/// What `compare` says when upstream was built with `trace-log`.
const UPSTREAM_TRACES_WARNING: &str = "warning: the upstream regalloc2 in this binary was built \
     with its `trace-log` feature (turned on by its `fuzzing` feature, which this workspace's \
     tests use, when the build included regarena-tools' dev-dependencies: --all-targets, \
     tests, benches), so it runs about 10% slower and the time ratios flatter regarena; for fair \
     times build the binary alone: cargo run --release -p regarena-tools -- compare ...";

/// Lower bounds (instructions per function) of the size classes the
/// report breaks the compared functions into.
const SIZE_BUCKETS: [usize; 6] = [0, 8, 32, 128, 512, 2048];

/// One size class of the compared functions: `min_insts..max_insts`
/// instructions (`max_insts` null: no upper bound). Seconds are the
/// median over repeats of the class's summed allocator time, as a group's.
#[derive(Clone, Debug, Default, serde::Serialize)]
struct SizeRow {
    min_insts: usize,
    max_insts: Option<usize>,
    functions: usize,
    insts: usize,
    ours_seconds: f64,
    upstream_seconds: f64,
    time_ratio: Option<f64>,
    cost_ratio: Option<f64>,
    #[serde(skip)]
    weighted_cost: [u64; 2],
}

/// The size class of a function of `insts` instructions.
fn size_bucket(insts: usize) -> usize {
    SIZE_BUCKETS
        .iter()
        .rposition(|&min| insts >= min)
        .unwrap_or(0)
}

/// Runs `regarena compare`. `heap` is the process's global allocator when
/// it counts (the `regarena` binary registers one); without it the heap
/// figures are left out.
pub fn run(args: &CompareArgs, heap: Option<&CountingAlloc>) -> CommandResult {
    let upstream_trace_log = upstream_traces();
    if upstream_trace_log == Some(true) {
        eprintln!("{UPSTREAM_TRACES_WARNING}");
    }
    let (funcs, load_errors) = super::load_inputs(&args.paths);
    let jobs = usize::from(args.jobs);
    let passes = u64::from(args.repeat) + 2 * u64::from(heap.is_some());
    let progress = Progress::new(funcs.len() as u64 * passes, "comparing");

    // First repeat: every function, checked and scored.
    let pass = |ctxs: &mut Contexts, (i, cf): (usize, &CorpusFunction), repeat: u32| {
        let r = run_pair(cf, ctxs, i, repeat);
        progress.inc(1);
        r
    };
    let first: Vec<PairRun> = if jobs <= 1 {
        let mut ctxs = Contexts::with_algorithm(args.algorithm);
        funcs
            .iter()
            .enumerate()
            .map(|x| pass(&mut ctxs, x, 0))
            .collect()
    } else {
        super::with_jobs(jobs, || {
            funcs
                .par_iter()
                .enumerate()
                .map_init(
                    || Contexts::with_algorithm(args.algorithm),
                    |c, x| pass(c, x, 0),
                )
                .collect()
        })?
    };
    let compared: Vec<bool> = first
        .iter()
        .map(|[o, u]| o.result.is_ok() && u.result.is_ok())
        .collect();
    // times[repeat][function] = [ours, upstream] seconds (compared functions only).
    let mut times: Vec<Vec<[f64; 2]>> = vec![first
        .iter()
        .map(|pair| {
            pair.each_ref()
                .map(|s| s.result.as_ref().map_or(0.0, Duration::as_secs_f64))
        })
        .collect()];
    let mut late_failures: Vec<Option<[Option<String>; 2]>> = vec![None; funcs.len()];
    for repeat in 1..args.repeat {
        let timed = |ctxs: &mut Contexts, (i, cf): (usize, &CorpusFunction)| {
            if !compared[i] {
                progress.inc(1);
                return None;
            }
            Some(pass(ctxs, (i, cf), repeat))
        };
        let runs: Vec<Option<PairRun>> = if jobs <= 1 {
            let mut ctxs = Contexts::with_algorithm(args.algorithm);
            funcs
                .iter()
                .enumerate()
                .map(|x| timed(&mut ctxs, x))
                .collect()
        } else {
            super::with_jobs(jobs, || {
                funcs
                    .par_iter()
                    .enumerate()
                    .map_init(|| Contexts::with_algorithm(args.algorithm), timed)
                    .collect()
            })?
        };
        let mut row = vec![[0.0; 2]; funcs.len()];
        for (i, run) in runs.into_iter().enumerate() {
            let Some(pair) = run else { continue };
            for (side, s) in pair.iter().enumerate() {
                match &s.result {
                    Ok(d) => row[i][side] = d.as_secs_f64(),
                    // An allocator that passed once and fails later is
                    // nondeterministic: report it rather than hide it.
                    Err(e) => {
                        late_failures[i].get_or_insert([None, None])[side] =
                            Some(format!("repeat {repeat}: {e}"));
                    }
                }
            }
        }
        times.push(row);
    }

    // Heap, untimed and sequential: the counters are process-wide. One
    // side at a time, so the bytes a side's context retains are the bytes
    // in use that appeared while only that context existed.
    let mut heap_runs: Vec<Option<[HeapRun; 2]>> = vec![None; funcs.len()];
    let mut retained = [0i64; 2];
    if let Some(heap) = heap {
        for (side, which) in SIDES.into_iter().enumerate() {
            let before = heap.snapshot().current_bytes;
            let mut ctxs = Contexts::with_algorithm(args.algorithm);
            for (i, cf) in funcs.iter().enumerate() {
                progress.inc(1);
                if !compared[i] {
                    continue;
                }
                let measured = alloc::allocate(which, cf, &mut ctxs)
                    .and_then(|_| alloc::allocate_heap(which, cf, &mut ctxs, heap))
                    .and_then(|warm| {
                        let cold = alloc::allocate_heap_cold(which, cf, heap, args.algorithm)?;
                        Ok(HeapRun { warm, cold })
                    });
                match measured {
                    Ok(run) => heap_runs[i].get_or_insert_with(Default::default)[side] = run,
                    Err(e) => {
                        late_failures[i].get_or_insert([None, None])[side] =
                            Some(format!("heap pass: {e}"));
                    }
                }
            }
            let after = heap.snapshot().current_bytes;
            retained[side] = after as i64 - before as i64;
            drop(ctxs);
        }
    }
    progress.finish();

    // The floor: read-only passes over the compared functions.
    let mut floor_times: Vec<f64> = (0..args.repeat)
        .map(|_| {
            let start = Instant::now();
            let mut sum = 0u64;
            for (cf, _) in funcs.iter().zip(&compared).filter(|(_, c)| **c) {
                sum ^= read_floor(black_box(&cf.func));
            }
            black_box(sum);
            start.elapsed().as_secs_f64()
        })
        .collect();
    let floor_seconds = median(&mut floor_times);

    // Per-function verdicts, failures, and group totals.
    let (names, group_of) = super::groups(&funcs);
    let mut groups = vec![Totals::default(); names.len()];
    let mut group_times = vec![vec![[0.0f64; 2]; times.len()]; names.len()];
    let mut sizes: Vec<SizeRow> = SIZE_BUCKETS
        .iter()
        .enumerate()
        .map(|(b, &min)| SizeRow {
            min_insts: min,
            max_insts: SIZE_BUCKETS.get(b + 1).copied(),
            ..SizeRow::default()
        })
        .collect();
    let mut size_times = vec![vec![[0.0f64; 2]; times.len()]; SIZE_BUCKETS.len()];
    let mut failures: [Vec<Failure>; 2] = [Vec::new(), Vec::new()];
    for (i, cf) in funcs.iter().enumerate() {
        let g = &mut groups[group_of[i]];
        g.functions += 1;
        g.insts += cf.func.insts.len();
        let mut ok = compared[i];
        for side in 0..2 {
            let error = first[i][side]
                .result
                .as_ref()
                .err()
                .cloned()
                .or_else(|| late_failures[i].as_ref().and_then(|l| l[side].clone()));
            if let Some(e) = error {
                g.sides[side].failed += 1;
                failures[side].push(Failure::of(cf, e));
                ok = false;
            }
        }
        if ok {
            g.compared += 1;
            for (totals, run) in g.sides.iter_mut().zip(&first[i]) {
                totals.counts += run.counts;
            }
            if let Some(runs) = &heap_runs[i] {
                for (totals, run) in g.sides.iter_mut().zip(runs) {
                    totals.heap.add(run);
                }
            }
            let bucket = size_bucket(cf.func.insts.len());
            let size = &mut sizes[bucket];
            size.functions += 1;
            size.insts += cf.func.insts.len();
            for (cost, run) in size.weighted_cost.iter_mut().zip(&first[i]) {
                *cost += run.counts.weighted_cost;
            }
            for (repeat, row) in times.iter().enumerate() {
                for side in 0..2 {
                    group_times[group_of[i]][repeat][side] += row[i][side];
                    size_times[bucket][repeat][side] += row[i][side];
                }
            }
        }
    }
    // Each group's time is the median over repeats of its summed time; the
    // total is the sum of those medians, so the table's total row is what
    // its group rows add up to.
    let mut total = Totals::default();
    for (g, gt) in groups.iter_mut().zip(&group_times) {
        for side in 0..2 {
            let mut per_repeat: Vec<f64> = gt.iter().map(|t| t[side]).collect();
            g.sides[side].seconds = median(&mut per_repeat);
            total.sides[side].seconds += g.sides[side].seconds;
        }
        total.functions += g.functions;
        total.insts += g.insts;
        total.compared += g.compared;
        for side in 0..2 {
            total.sides[side].failed += g.sides[side].failed;
            total.sides[side].counts += g.sides[side].counts;
            let group_heap = g.sides[side].heap;
            total.sides[side].heap.merge(&group_heap);
        }
    }
    for (size, st) in sizes.iter_mut().zip(&size_times) {
        let mut seconds = [0.0; 2];
        for (side, sec) in seconds.iter_mut().enumerate() {
            let mut per_repeat: Vec<f64> = st.iter().map(|t| t[side]).collect();
            *sec = median(&mut per_repeat);
        }
        size.ours_seconds = seconds[0];
        size.upstream_seconds = seconds[1];
        size.time_ratio = ratio(seconds[0], seconds[1]);
        size.cost_ratio = ratio(size.weighted_cost[0] as f64, size.weighted_cost[1] as f64);
    }
    sizes.retain(|size| size.functions > 0);
    // Unreadable files fail on both sides.
    total.functions += load_errors.len();
    for (totals, list) in total.sides.iter_mut().zip(&mut failures) {
        totals.failed += load_errors.len();
        list.extend(load_errors.iter().map(Failure::load));
    }
    let any_failed = total.sides.iter().any(|s| s.failed > 0);
    for (totals, bytes) in total.sides.iter_mut().zip(retained) {
        totals.retained_bytes = bytes;
    }

    let time_ratio_by_repeat: Vec<Option<f64>> = times
        .iter()
        .map(|row| {
            let sums = row
                .iter()
                .fold([0.0; 2], |acc, t| [acc[0] + t[0], acc[1] + t[1]]);
            ratio(sums[0], sums[1])
        })
        .collect();
    let measured_heap = heap.is_some();
    if args.json {
        let [ours, upstream] = total.sides.clone();
        let side_report = |totals: SideTotals| SideReport {
            heap: measured_heap.then(|| totals.heap.report(totals.retained_bytes)),
            totals,
        };
        super::print_json(&Report {
            functions: total.functions,
            insts: total.insts,
            compared: total.compared,
            time_ratio: ratio(ours.seconds, upstream.seconds),
            time_ratio_by_repeat,
            cost_ratio: ratio(
                ours.counts.weighted_cost as f64,
                upstream.counts.weighted_cost as f64,
            ),
            floor_seconds,
            heap_ratio: heap_ratio(&ours.heap, &upstream.heap).filter(|_| measured_heap),
            cold_heap_ratio: cold_heap_ratio(&ours.heap, &upstream.heap).filter(|_| measured_heap),
            by_size: sizes,
            upstream_trace_log,
            ours: side_report(ours),
            upstream: side_report(upstream),
        })?;
    } else {
        let mut out = String::new();
        if upstream_trace_log == Some(true) {
            outln!(out, "{UPSTREAM_TRACES_WARNING}");
        }
        print_failures(&mut out, &failures);
        print_header(&mut out);
        for (name, g) in names.iter().zip(&groups) {
            print_group(&mut out, name, g, measured_heap);
        }
        print_group(&mut out, "total", &total, measured_heap);
        print_sizes(&mut out, &sizes);
        outln!(
            out,
            "compared {} of {} functions ({} repeats; a group's time is the median over repeats \
             of its summed allocator time, the total the sum of the groups'; costs from the \
             first repeat)",
            total.compared,
            total.functions,
            args.repeat
        );
        let [o, u] = &total.sides;
        let over_floor =
            |s: f64| ratio(s, floor_seconds).map_or("-".to_string(), |r| format!("{r:.1}x"));
        outln!(
            out,
            "floor: {floor_seconds:.6} s to read every compared function once through the \
             Function trait (median); ours {} and upstream {} of it",
            over_floor(o.seconds),
            over_floor(u.seconds)
        );
        if measured_heap {
            outln!(
                out,
                "heap (warm context, per allocator call): peak_heap is the largest peak growth, \
                 allocs/fn the mean allocation count; ratio row: sum of per-function peaks, \
                 ours/upstream; ours allocates nothing on {} of {} functions, upstream on {}",
                o.heap.zero_alloc,
                o.heap.functions,
                u.heap.zero_alloc
            );
            let show = |r: Option<f64>| r.map_or_else(|| "-".to_string(), |r| format!("{r:.3}x"));
            outln!(
                out,
                "cold heap (fresh context per call): peak ours {} / upstream {} bytes, \
                 sum of per-function peaks ours {} / upstream {} (ratio {}); retained by the \
                 warm context after the pass: ours {} / upstream {} bytes",
                o.heap.cold_peak_max,
                u.heap.cold_peak_max,
                o.heap.cold_peak_sum,
                u.heap.cold_peak_sum,
                show(cold_heap_ratio(&o.heap, &u.heap)),
                o.retained_bytes,
                u.retained_bytes
            );
        }
        super::write_stdout(&out)?;
    }
    Ok(if any_failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The compared functions by size class, a line each.
fn print_sizes(out: &mut String, sizes: &[SizeRow]) {
    let show = |r: Option<f64>| r.map_or_else(|| "-".to_string(), |r| format!("{r:.3}x"));
    outln!(
        out,
        "by size (instructions per function; compared functions; time ours/upstream, cost ours/upstream):"
    );
    for size in sizes {
        let range = match size.max_insts {
            Some(max) => format!("{}-{}", size.min_insts, max - 1),
            None => format!("{}-", size.min_insts),
        };
        outln!(
            out,
            "  size {:<10} {:>6} functions {:>9} insts  time {:>8}  cost {:>8}  (ours {:.6} s, upstream {:.6} s)",
            range,
            size.functions,
            size.insts,
            show(size.time_ratio),
            show(size.cost_ratio),
            size.ours_seconds,
            size.upstream_seconds
        );
    }
}

/// Lists the first few failures of each side (all of them is a flood when
/// one allocator fails everything).
fn print_failures(out: &mut String, failures: &[Vec<Failure>; 2]) {
    const SHOWN: usize = 10;
    for (side, list) in SIDES.iter().zip(failures) {
        for f in list.iter().take(SHOWN) {
            outln!(out, "failed ({}) {}: {}", side.name(), f.file, f.error);
        }
        if list.len() > SHOWN {
            outln!(
                out,
                "failed ({}) ... and {} more",
                side.name(),
                list.len() - SHOWN
            );
        }
    }
}

/// Ours' summed warm peaks over upstream's (see [`Report::heap_ratio`]).
fn heap_ratio(ours: &HeapTotals, upstream: &HeapTotals) -> Option<f64> {
    ratio(ours.peak_sum as f64, upstream.peak_sum as f64)
}

/// Ours' summed fresh-context peaks over upstream's (see
/// [`Report::cold_heap_ratio`]).
fn cold_heap_ratio(ours: &HeapTotals, upstream: &HeapTotals) -> Option<f64> {
    ratio(ours.cold_peak_sum as f64, upstream.cold_peak_sum as f64)
}

fn print_header(out: &mut String) {
    outln!(
        out,
        "{:<26} {:<13} {:>6} {:>8} {:>6} {:>10} {:>8} {:>7} {:>7} {:>7} {:>6} {:>11} {:>10} {:>9}",
        "group",
        "side",
        "funcs",
        "insts",
        "failed",
        "seconds",
        "moves",
        "spills",
        "reloads",
        "stk_mv",
        "slots",
        "cost",
        "peak_heap",
        "allocs/fn"
    );
}

fn print_group(out: &mut String, name: &str, g: &Totals, measured_heap: bool) {
    for (side, (which, s)) in SIDES.iter().zip(&g.sides).enumerate() {
        let c = &s.counts;
        let (peak, allocs) = if measured_heap {
            let h = s.heap.report(s.retained_bytes);
            (
                h.peak_heap_bytes.to_string(),
                format!("{:.2}", h.allocs_per_function),
            )
        } else {
            ("-".to_string(), "-".to_string())
        };
        outln!(
            out,
            "{:<26} {:<13} {:>6} {:>8} {:>6} {:>10.6} {:>8} {:>7} {:>7} {:>7} {:>6} {:>11} {:>10} {:>9}",
            if side == 0 { name } else { "" },
            which.name(),
            g.functions,
            g.insts,
            s.failed,
            s.seconds,
            c.moves,
            c.spills,
            c.reloads,
            c.stack_moves,
            c.spillslots,
            c.weighted_cost,
            peak,
            allocs
        );
    }
    let [o, u] = &g.sides;
    let show = |r: Option<f64>| r.map_or_else(|| "-".to_string(), |r| format!("{r:.3}x"));
    outln!(
        out,
        "{:<26} {:<13} {:>6} {:>8} {:>6} {:>10} {:>8} {:>7} {:>7} {:>7} {:>6} {:>11} {:>10} {:>9}",
        "",
        "ours/upstream",
        "",
        "",
        "",
        show(ratio(o.seconds, u.seconds)),
        "",
        "",
        "",
        "",
        "",
        show(ratio(
            o.counts.weighted_cost as f64,
            u.counts.weighted_cost as f64
        )),
        show(heap_ratio(&o.heap, &u.heap).filter(|_| measured_heap)),
        ""
    );
}
