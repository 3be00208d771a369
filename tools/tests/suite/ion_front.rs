//! The Ion front phases (liveness, live ranges, bundle merging, queueing)
//! over every corpus function: no error, table invariants hold, every
//! range belongs to a bundle, and the queue holds every non-empty bundle.

use regarena::ion::data::IonTables;
use regarena::ion::queue::AllocationQueue;
use regarena::ion::{liveness, liveranges, merge, Stats};
use regarena::tables::Arena;
use regarena::Function as _;

#[test]
fn front_phases_hold_invariants_on_the_corpus() {
    let corpus = regarena_tools::test_corpus::load("front_phases_hold_invariants_on_the_corpus");
    let funcs = &corpus.funcs;
    let mut arena = Arena::new();
    let (mut ranges, mut bundles, mut conflicts) = (0usize, 0usize, 0usize);
    for cf in funcs {
        arena.reset();
        let name = cf.path.display();
        let func = &cf.func;
        let cfg = regarena::cfg::analyze(func, &arena).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let (_, upward) =
            regarena::validate::validate_for_liveness(func, &cf.env, &cfg, true, &arena, None)
                .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let mut stats = Stats::default();
        let live = liveness::compute_liveness(func, &cfg, &upward, &arena, &arena, &mut stats)
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let mut tables = IonTables::new_in(&arena, func.num_vregs(), func.num_insts());
        liveranges::build_liveranges(
            func,
            &cf.env,
            &cfg,
            &live,
            &arena,
            &arena,
            &mut tables,
            &mut stats,
        )
        .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        merge::merge_vreg_bundles(func, &arena, &arena, &mut tables);
        let mut queue = AllocationQueue::new_in(&arena);
        merge::queue_bundles(&tables.bundles, &mut queue, &mut stats);
        tables
            .check_invariants()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        for (lr, bundle) in tables.ranges.bundle.iter_enumerated() {
            assert!(bundle.is_valid(), "{name}: {lr:?} has no bundle");
        }
        let nonempty = tables
            .bundles
            .ranges
            .iter()
            .filter(|l| !l.is_empty())
            .count();
        assert_eq!(stats.merged_bundle_count, nonempty, "{name}");
        assert_eq!(stats.initial_liverange_count, tables.ranges.len(), "{name}");
        assert!(stats.livein_blocks <= func.num_blocks(), "{name}");
        for bundle in tables.bundles.ranges.keys() {
            if tables.bundles.ranges[bundle].is_empty() {
                continue;
            }
            if merge::compute_requirement(bundle, &tables.bundles, &tables.ranges, &tables.pregs)
                .is_err()
            {
                conflicts += 1;
            }
        }
        ranges += tables.ranges.len();
        bundles += nonempty;
    }
    eprintln!(
        "{} functions: {ranges} live ranges, {bundles} bundles, {conflicts} with requirement conflicts",
        funcs.len()
    );
}

/// Our front phases make the same decisions as upstream's: the same number
/// of initial live ranges, block-param edges and merged bundles on every
/// corpus function (upstream reports these in its `Stats`).
#[test]
fn front_counts_match_upstream_on_the_corpus() {
    let corpus = regarena_tools::test_corpus::load("front_counts_match_upstream_on_the_corpus");
    let funcs = &corpus.funcs;
    let mut arena = Arena::new();
    let mut mismatches = Vec::new();
    let mut compared = 0usize;
    for cf in funcs {
        let options = regalloc2::RegallocOptions {
            verbose_log: false,
            validate_ssa: true,
            algorithm: regalloc2::Algorithm::Ion,
        };
        let env_up = regarena_tools::upstream::env_up(&cf.env);
        let Ok(theirs) = regalloc2::run(&cf.upstream, &env_up, &options) else {
            continue;
        };
        compared += 1;
        arena.reset();
        let func = &cf.func;
        let cfg = regarena::cfg::analyze(func, &arena).unwrap();
        let (_, upward) =
            regarena::validate::validate_for_liveness(func, &cf.env, &cfg, true, &arena, None)
                .unwrap();
        let mut stats = Stats::default();
        let live =
            liveness::compute_liveness(func, &cfg, &upward, &arena, &arena, &mut stats).unwrap();
        let mut tables = IonTables::new_in(&arena, func.num_vregs(), func.num_insts());
        liveranges::build_liveranges(
            func,
            &cf.env,
            &cfg,
            &live,
            &arena,
            &arena,
            &mut tables,
            &mut stats,
        )
        .unwrap();
        merge::merge_vreg_bundles(func, &arena, &arena, &mut tables);
        let mut queue = AllocationQueue::new_in(&arena);
        merge::queue_bundles(&tables.bundles, &mut queue, &mut stats);
        let ours = (
            stats.initial_liverange_count,
            stats.merged_bundle_count,
            stats.blockparam_ins_count,
            stats.blockparam_outs_count,
        );
        let up = &theirs.stats;
        let upstream = (
            up.initial_liverange_count,
            up.merged_bundle_count,
            up.blockparam_ins_count,
            up.blockparam_outs_count,
        );
        if ours != upstream {
            mismatches.push(format!(
                "{}: ours {ours:?} upstream {upstream:?}",
                cf.path.display()
            ));
        }
    }
    assert!(
        compared * 10 >= funcs.len() * 9,
        "upstream ran on only {compared}"
    );
    eprintln!("{compared} functions: front counts equal upstream's");
    assert!(
        mismatches.is_empty(),
        "{} of {} functions differ, e.g. {:?}",
        mismatches.len(),
        funcs.len(),
        &mismatches[..mismatches.len().min(5)]
    );
}

/// The wired pipeline end to end: every corpus function allocates, and
/// upstream's checker accepts the result.
#[test]
fn pipeline_output_passes_upstream_checker_on_the_corpus() {
    let corpus =
        regarena_tools::test_corpus::load("pipeline_output_passes_upstream_checker_on_the_corpus");
    let funcs = &corpus.funcs;
    let options = regarena::RegallocOptions::default();
    let mut ctx = regarena::Ctx::default();
    let mut failures = Vec::new();
    for cf in funcs {
        let name = cf.path.display().to_string();
        let out = match regarena::run_with_ctx(&cf.func, &cf.env, &options, &mut ctx) {
            Ok(out) => out.clone(),
            Err(e) => {
                failures.push(format!("{name}: {e:?}"));
                continue;
            }
        };
        let func_up = regarena_tools::upstream::UpstreamFunction::new(&cf.func);
        let env_up = regarena_tools::upstream::env_up(&cf.env);
        let out_up = regalloc2::Output {
            num_spillslots: out.num_spillslots,
            edits: out
                .edits
                .iter()
                .map(|(point, edit)| {
                    let regarena::Edit::Move { from, to } = *edit;
                    (
                        regarena_tools::upstream::progpoint_up(*point),
                        regalloc2::Edit::Move {
                            from: alloc_to_upstream(from),
                            to: alloc_to_upstream(to),
                        },
                    )
                })
                .collect(),
            allocs: out.allocs.iter().map(|a| alloc_to_upstream(*a)).collect(),
            inst_alloc_offsets: out.inst_alloc_offsets.clone(),
            debug_locations: Vec::new(),
            stats: Default::default(),
        };
        let mut checker = regalloc2::checker::Checker::new(&func_up, &env_up);
        checker.prepare(&out_up);
        if let Err(e) = checker.run() {
            failures.push(
                format!("{name}: checker: {e:?}")
                    .chars()
                    .take(400)
                    .collect(),
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} functions failed, e.g. {:?}",
        failures.len(),
        funcs.len(),
        &failures[..failures.len().min(5)]
    );
}

/// Our allocation as upstream's, built by kind (upstream's `from_bits`
/// debug-asserts a kind encoding that valid allocations do not have).
fn alloc_to_upstream(a: regarena::Allocation) -> regalloc2::Allocation {
    if let Some(preg) = a.as_reg() {
        regalloc2::Allocation::reg(regarena_tools::upstream::preg_up(preg))
    } else if let Some(slot) = a.as_stack() {
        regalloc2::Allocation::stack(regalloc2::SpillSlot::new(slot.index()))
    } else {
        regalloc2::Allocation::none()
    }
}
