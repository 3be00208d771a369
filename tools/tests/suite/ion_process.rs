//! The `process` phase over the whole dev corpus: the front phases, then
//! the allocation loop; no error, no panic, and the phase's promises hold
//! (every non-empty bundle in a register or on a required spill set; no
//! register tree with overlapping ranges; the table invariants).

use regarena::ion::data::IonTables;
use regarena::ion::queue::AllocationQueue;
use regarena::ion::{liveness, liveranges, merge, process, Stats};
use regarena::tables::Arena;
use regarena::{Function as _, MachineEnv, RegAllocError};

/// Runs the pipeline up to and including `process`, then checks it.
fn run_through_process(func: &regarena::FunctionData, env: &MachineEnv) -> Result<Stats, String> {
    let arena = Arena::new();
    let err = |e: RegAllocError| format!("{e:?}");
    let cfg = regarena::cfg::analyze(func, &arena).map_err(err)?;
    let (_, upward) =
        regarena::validate::validate_for_liveness(func, env, &cfg, false, &arena, None)
            .map_err(err)?;
    let mut tables = IonTables::new_in(&arena, func.num_vregs(), func.num_insts());
    let mut stats = Stats::default();
    let live =
        liveness::compute_liveness(func, &cfg, &upward, &arena, &arena, &mut stats).map_err(err)?;
    liveranges::build_liveranges(
        func,
        env,
        &cfg,
        &live,
        &arena,
        &arena,
        &mut tables,
        &mut stats,
    )
    .map_err(err)?;
    merge::merge_vreg_bundles(func, &arena, &arena, &mut tables);
    let mut queue = AllocationQueue::new_in(&arena);
    merge::queue_bundles(&tables.bundles, &mut queue, &mut stats);
    process::process_bundles(
        func,
        env,
        &cfg,
        &arena,
        &arena,
        &mut tables,
        &mut queue,
        &mut stats,
    )
    .map_err(|e| format!("process: {e:?}"))?;
    tables.check_invariants()?;
    process::check_postconditions(&tables)?;
    Ok(stats)
}

#[test]
fn corpus_allocates_without_error() {
    let corpus = regarena_tools::test_corpus::load("corpus_allocates_without_error");
    let funcs = &corpus.funcs;
    let mut failures = Vec::new();
    let mut ours_per_func = Vec::new();
    let mut total = Stats::default();
    for cf in funcs {
        match run_through_process(&cf.func, &cf.env) {
            Ok(s) => {
                ours_per_func.push(Some((
                    s.process_bundle_count,
                    s.evict_bundle_count,
                    s.splits,
                )));
                total.process_bundle_count += s.process_bundle_count;
                total.evict_bundle_count += s.evict_bundle_count;
                total.splits += s.splits;
                total.spill_bundle_count += s.spill_bundle_count;
                total.spill_bundle_reg_success += s.spill_bundle_reg_success;
                total.final_bundle_count += s.final_bundle_count;
            }
            Err(e) => {
                ours_per_func.push(None);
                failures.push(format!("{}: {e}", cf.path.display()));
            }
        }
    }
    // The same counters from upstream regalloc2 on the same functions, to
    // compare allocation behaviour (not asserted: tie-breaking may differ).
    let (mut up_pops, mut up_evict, mut up_splits, mut up_spilled, mut up_second, mut up_final) =
        (0, 0, 0, 0, 0, 0);
    let mut same = 0;
    for (cf, ours) in funcs.iter().zip(&ours_per_func) {
        let env = cf.upstream.machine_env();
        let opts = regalloc2::RegallocOptions::default();
        if let Ok(out) = regalloc2::run(&cf.upstream, env, &opts) {
            let s = out.stats;
            if *ours == Some((s.process_bundle_count, s.evict_bundle_count, s.splits)) {
                same += 1;
            }
            up_pops += s.process_bundle_count;
            up_evict += s.evict_bundle_count;
            up_splits += s.splits;
            up_spilled += s.spill_bundle_count;
            up_second += s.spill_bundle_reg_success;
            up_final += s.final_bundle_count;
        }
    }
    eprintln!(
        "upstream: {up_pops} bundle pops, {up_evict} evictions, {up_splits} splits, \
         {up_spilled} spilled bundles ({up_second} second-chance), {up_final} final bundles; \
         {same} functions with the same pop/eviction/split counts"
    );
    eprintln!(
        "{} functions: {} bundle pops, {} evictions, {} splits, {} spilled bundles \
         ({} got a register on the second chance), {} final bundles",
        funcs.len(),
        total.process_bundle_count,
        total.evict_bundle_count,
        total.splits,
        total.spill_bundle_count,
        total.spill_bundle_reg_success,
        total.final_bundle_count
    );
    assert!(
        failures.is_empty(),
        "{} failures, first: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
}
