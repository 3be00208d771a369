//! No quadratic corner in the allocator's work: on our generator's
//! functions of 10^3 and 10^5 instructions, the work counters per
//! instruction (bundles processed, register probes, splits, evictions,
//! spill-bundle probes, live ranges) stay within 1.5x of each other.
//! Timing figures (which also depend on caches and on the shared machine)
//! are in docs/ion.md ("Verification: fuzzing and scaling"); this test pins the part that is the
//! algorithm's. Every output also passes the checker: the 10^5 function is
//! the one test input whose register trees are large enough for the
//! batched seeks (`SoughtRegs`) that small functions never take, and the
//! one allocated region by region (the queue order of functions of 65,536
//! instructions or more) without a test override.

use regarena::checker::Checker;
use regarena::gen::{generate_from_seed, GenOptions};
use regarena::{RegallocOptions, Stats};

/// Work counters per instruction, averaged over `count` functions.
fn work_per_inst(insts: usize, count: u64) -> Vec<(&'static str, f64)> {
    let mut total = Stats::default();
    let mut total_insts = 0usize;
    for seed in 1..=count {
        let opts = GenOptions {
            target_insts: insts,
            ..Default::default()
        };
        let (func, env) = generate_from_seed(seed, &opts);
        let out = regarena::run(&func, &env, &RegallocOptions::default())
            .unwrap_or_else(|e| panic!("seed {seed}, {insts} insts: {e:?}"));
        let mut checker = Checker::new(&func, &env);
        checker.prepare(&out);
        if let Err(e) = checker.run() {
            panic!("seed {seed}, {insts} insts: checker: {e}");
        }
        let s = &out.stats;
        total.process_bundle_count += s.process_bundle_count;
        total.process_bundle_reg_probes_any += s.process_bundle_reg_probes_any;
        total.process_bundle_reg_probes_fixed += s.process_bundle_reg_probes_fixed;
        total.splits += s.splits;
        total.evict_bundle_count += s.evict_bundle_count;
        total.spill_bundle_reg_probes += s.spill_bundle_reg_probes;
        total.final_liverange_count += s.final_liverange_count;
        total.livein_iterations += s.livein_iterations;
        total_insts += func.insts.len();
    }
    let n = total_insts as f64;
    vec![
        ("bundles processed", total.process_bundle_count as f64 / n),
        (
            "register probes",
            total.process_bundle_reg_probes_any as f64 / n,
        ),
        (
            "fixed probes",
            total.process_bundle_reg_probes_fixed as f64 / n,
        ),
        ("splits", total.splits as f64 / n),
        ("evictions", total.evict_bundle_count as f64 / n),
        (
            "spill-bundle probes",
            total.spill_bundle_reg_probes as f64 / n,
        ),
        ("live ranges", total.final_liverange_count as f64 / n),
        ("liveness iterations", total.livein_iterations as f64 / n),
    ]
}

#[test]
fn work_per_instruction_does_not_grow_with_size() {
    let small = work_per_inst(1_000, 20);
    let large = work_per_inst(100_000, 1);
    for ((name, s), (_, l)) in small.iter().zip(&large) {
        eprintln!("{name}: {s:.3} per inst at 10^3, {l:.3} at 10^5");
        assert!(*s > 0.0, "{name}: nothing counted");
        assert!(
            *l <= 1.5 * s,
            "{name} per instruction grows: {s:.3} at 10^3, {l:.3} at 10^5"
        );
    }
}
