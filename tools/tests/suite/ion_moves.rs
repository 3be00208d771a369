//! Phase `moves` on hand-built Ion tables: each test builds a small
//! function, the table state `process` and `spill` would leave (ranges,
//! bundles with their registers or spill slots, per-PReg trees), runs
//! `insert_moves`, checks the expected edits and proves the output with
//! upstream regalloc2's checker.

use regalloc2 as ra2;
use regarena::ion::data::{
    range_flags, BlockparamOut, CodeRange, IonTables, LiveRangeId, LiveRangeListEntry, Use, VRegId,
};
use regarena::owned::{BlockData, InstData, InstKind};
use regarena::tables::Arena;
use regarena::{
    Allocation, Block, Edit, FunctionData, Inst, InstRange, MachineEnv, Operand, Output, PReg,
    PRegSet, ProgPoint, RegClass, SpillSlot, Stats, VReg,
};
use regarena_tools::upstream as up;

fn r(i: usize) -> PReg {
    PReg::new(i, RegClass::Int)
}
fn ra(i: usize) -> Allocation {
    Allocation::reg(r(i))
}
fn sa(i: usize) -> Allocation {
    Allocation::stack(SpillSlot::new(i))
}
fn v(i: usize) -> VReg {
    VReg::new(i, RegClass::Int)
}
fn before(i: usize) -> ProgPoint {
    ProgPoint::before(Inst::new(i))
}
fn after(i: usize) -> ProgPoint {
    ProgPoint::after(Inst::new(i))
}

fn env(scratch: bool) -> MachineEnv {
    MachineEnv {
        preferred_regs_by_class: [(0..8).map(r).collect(), PRegSet::empty(), PRegSet::empty()],
        non_preferred_regs_by_class: [PRegSet::empty(); 3],
        scratch_by_class: [scratch.then(|| r(15)), None, None],
        fixed_stack_slots: vec![],
    }
}

/// One block: (instructions, successors, params, branch args per successor).
type BlockSpec = (Vec<InstData>, Vec<usize>, Vec<VReg>, Vec<Vec<VReg>>);

/// Builds a function from its blocks.
fn function(blocks: Vec<BlockSpec>, num_vregs: usize) -> FunctionData {
    let mut insts = Vec::new();
    let mut block_data = Vec::new();
    for (block_insts, succs, params, args) in blocks {
        let first = insts.len();
        insts.extend(block_insts);
        block_data.push(BlockData {
            insts: InstRange::new(Inst::new(first), Inst::new(insts.len())),
            succs: succs.into_iter().map(Block::new).collect(),
            preds: vec![],
            params,
            branch_args: args,
        });
    }
    let mut f = FunctionData {
        entry: Block::new(0),
        insts,
        blocks: block_data,
        num_vregs,
        debug_value_labels: vec![],
        spillslot_sizes: [1, 1, 1],
        multi_spillslot_named_by_last_slot: false,
        allow_multiple_vreg_defs: false,
    };
    f.recompute_preds();
    f
}

fn op(operands: Vec<Operand>) -> InstData {
    InstData {
        kind: InstKind::Op,
        operands,
        clobbers: PRegSet::empty(),
    }
}
fn branch() -> InstData {
    InstData {
        kind: InstKind::Branch,
        ..InstData::default()
    }
}
fn ret() -> InstData {
    InstData {
        kind: InstKind::Ret,
        ..InstData::default()
    }
}

/// Adds the final state of one range: its own bundle with `alloc` (a
/// register) or a spilled bundle whose spill set has slot `alloc`.
fn add_range<'a>(
    arena: &'a Arena,
    t: &mut IonTables<'a>,
    f: &FunctionData,
    vreg: usize,
    range: CodeRange,
    alloc: Allocation,
    flags: u8,
) -> LiveRangeId {
    let vid = VRegId::new(vreg);
    let lr = t.ranges.push(arena, range, vid);
    t.ranges.flags[lr] = flags;
    // Uses: every operand of the vreg inside the range.
    for (i, inst) in f.insts.iter().enumerate() {
        for (slot, o) in inst.operands.iter().enumerate() {
            if o.vreg().vreg() != vreg || o.as_fixed_nonallocatable().is_some() {
                continue;
            }
            let pos = match o.pos() {
                regarena::OperandPos::Early => before(i),
                regarena::OperandPos::Late => after(i),
            };
            if range.contains_point(pos) {
                t.ranges.uses.push(
                    lr,
                    Use {
                        operand: *o,
                        pos,
                        slot: slot as u16,
                        weight: 0,
                    },
                );
            }
        }
    }
    let bundle = t.bundles.push(arena);
    t.ranges.bundle[lr] = bundle;
    t.bundles.ranges[bundle].push(LiveRangeListEntry { range, index: lr });
    let spillset = t.spillsets.push(RegClass::Int, range);
    t.bundles.hot[bundle].spillset = spillset;
    if alloc.is_reg() {
        t.bundles.hot[bundle].allocation = alloc;
        let preg = alloc.as_reg().unwrap();
        t.pregs
            .trees
            .insert(&mut t.pregs.allocations[preg.index()], range, bundle);
    } else {
        t.spillsets.required[spillset] = true;
        let slot = t.spillslots.alloc.push(alloc);
        t.spillslots.size.push(1);
        t.spillslots.ranges.push(Default::default());
        t.spillsets.slot[spillset] = slot;
    }
    // The vreg lists are built whole, from the range table.
    regarena::ion::process::relist_vreg_ranges(&t.ranges, &mut t.vregs, arena);
    t.vregs.class[vid] = Some(RegClass::Int);
    lr
}

fn cr(from: ProgPoint, to: ProgPoint) -> CodeRange {
    CodeRange::new(from, to)
}

fn run_moves(f: &FunctionData, env: &MachineEnv, t: &mut IonTables<'_>, arena: &Arena) -> Output {
    // As `build_liveranges` ends: the reservations are laid out.
    t.pregs.reserved.seal();
    let cfg = regarena::cfg::analyze(f, arena).expect("cfg");
    let mut out = lay_out_slots(f, env, &cfg, arena);
    let mut stats = Stats::default();
    regarena::ion::moves::insert_moves(f, env, &cfg, arena, t, 4, &mut out, &mut stats)
        .expect("insert_moves");
    out
}

/// An output whose operand slots validation has laid out, as the pipeline
/// hands it to `insert_moves`.
fn lay_out_slots(
    f: &FunctionData,
    env: &MachineEnv,
    cfg: &regarena::cfg::CfgInfo<'_>,
    arena: &Arena,
) -> Output {
    let mut out = Output::default();
    regarena::validate::validate_for_liveness(
        f,
        env,
        cfg,
        false,
        arena,
        Some((&mut out.inst_alloc_offsets, &mut out.allocs)),
    )
    .expect("valid");
    out
}

/// An allocation in upstream's type (built by kind: upstream's
/// `Allocation::from_bits` has a debug assertion that rejects valid bits).
fn alloc_up(a: Allocation) -> ra2::Allocation {
    match (a.as_reg(), a.as_stack()) {
        (Some(p), _) => ra2::Allocation::reg(up::preg_up(p)),
        (_, Some(s)) => ra2::Allocation::stack(ra2::SpillSlot::new(s.index())),
        _ => ra2::Allocation::none(),
    }
}

/// Our output in upstream's types.
fn output_up(out: &Output) -> ra2::Output {
    assert!(
        out.allocs.iter().all(|a| a.is_some()),
        "unallocated operand: {:?}",
        out.allocs
    );
    ra2::Output {
        num_spillslots: out.num_spillslots,
        edits: out
            .edits
            .iter()
            .map(|(p, e)| {
                let Edit::Move { from, to } = *e;
                (
                    up::progpoint_up(*p),
                    ra2::Edit::Move {
                        from: alloc_up(from),
                        to: alloc_up(to),
                    },
                )
            })
            .collect(),
        allocs: out.allocs.iter().copied().map(alloc_up).collect(),
        inst_alloc_offsets: out.inst_alloc_offsets.clone(),
        debug_locations: vec![],
        stats: Default::default(),
    }
}

fn check_upstream(f: &FunctionData, env: &MachineEnv, out: &Output) {
    let uf = up::UpstreamFunction::new(f);
    let uenv = up::env_up(env);
    let mut checker = ra2::checker::Checker::new(&uf, &uenv);
    checker.prepare(&output_up(out));
    if let Err(e) = checker.run() {
        panic!(
            "checker: {e:?}\nedits: {:?}\nallocs: {:?}",
            out.edits, out.allocs
        );
    }
}

fn moves_at(out: &Output, p: ProgPoint) -> Vec<(Allocation, Allocation)> {
    out.edits
        .iter()
        .filter(|(q, _)| *q == p)
        .map(|(_, Edit::Move { from, to })| (*from, *to))
        .collect()
}

#[test]
fn split_inside_a_block_moves_at_the_boundary() {
    // i0: def v0; i1: use v0; i2: use v0; i3: ret.
    let f = function(
        vec![(
            vec![
                op(vec![Operand::reg_def(v(0))]),
                op(vec![Operand::reg_use(v(0))]),
                op(vec![Operand::reg_use(v(0))]),
                ret(),
            ],
            vec![],
            vec![],
            vec![],
        )],
        1,
    );
    let arena = Arena::new();
    let mut t = IonTables::new_in(&arena, 1, f.insts.len());
    add_range(
        &arena,
        &mut t,
        &f,
        0,
        cr(after(0), before(2)),
        ra(0),
        range_flags::STARTS_AT_DEF,
    );
    add_range(&arena, &mut t, &f, 0, cr(before(2), after(2)), ra(3), 0);
    let out = run_moves(&f, &env(true), &mut t, &arena);
    assert_eq!(moves_at(&out, before(2)), vec![(ra(0), ra(3))]);
    assert_eq!(out.edits.len(), 1);
    assert_eq!(out.inst_allocs(Inst::new(2)), &[ra(3)]);
    assert_eq!(out.stats.edits_count, 1);
    check_upstream(&f, &env(true), &out);
}

/// b0 → {b1, b2} → b3. v0: r0 in b0 and b1, a slot through b2 with a
/// reload into r2 for the rest of b2 (overlapping the slot range), r1 in b3.
fn diamond() -> FunctionData {
    let mut f = function(
        vec![
            (
                vec![op(vec![Operand::reg_def(v(0))]), branch()],
                vec![1, 2],
                vec![],
                vec![vec![], vec![]],
            ),
            (vec![op(vec![]), branch()], vec![3], vec![], vec![vec![]]),
            (
                vec![op(vec![]), op(vec![Operand::reg_use(v(0))]), branch()],
                vec![3],
                vec![],
                vec![vec![]],
            ),
            (
                vec![op(vec![Operand::reg_use(v(0))]), ret()],
                vec![],
                vec![],
                vec![],
            ),
        ],
        1,
    );
    f.debug_value_labels = vec![(v(0), Inst::new(0), Inst::new(8), 7)];
    f
}

#[test]
fn edges_take_the_register_copy_when_several_ranges_cover_the_end() {
    let f = diamond();
    let arena = Arena::new();
    let mut t = IonTables::new_in(&arena, 1, f.insts.len());
    // b0 = i0..i1, b1 = i2..i3, b2 = i4..i6, b3 = i7..i8.
    add_range(
        &arena,
        &mut t,
        &f,
        0,
        cr(after(0), before(2)),
        ra(0),
        range_flags::STARTS_AT_DEF,
    );
    add_range(&arena, &mut t, &f, 0, cr(before(2), before(4)), ra(0), 0);
    add_range(&arena, &mut t, &f, 0, cr(before(4), before(7)), sa(0), 0);
    add_range(&arena, &mut t, &f, 0, cr(before(5), before(7)), ra(2), 0);
    add_range(&arena, &mut t, &f, 0, cr(before(7), after(7)), ra(1), 0);
    let out = run_moves(&f, &env(true), &mut t, &arena);
    // b0 → b2: spill at b2's start; reload inside b2.
    assert_eq!(moves_at(&out, before(4)), vec![(ra(0), sa(0))]);
    assert_eq!(moves_at(&out, before(5)), vec![(sa(0), ra(2))]);
    // b2 → b3 (b3 has two preds): before b2's branch, from the register.
    assert_eq!(moves_at(&out, before(6)), vec![(ra(2), ra(1))]);
    // b1 → b3 before b1's branch.
    assert_eq!(moves_at(&out, before(3)), vec![(ra(0), ra(1))]);
    // b0 → b1: same register, no move.
    assert!(moves_at(&out, before(2)).is_empty());
    assert_eq!(out.edits.len(), 4);
    check_upstream(&f, &env(true), &out);

    // Debug locations: sorted, disjoint, registers preferred where ranges
    // overlap, and covering the whole label where v0 lives.
    let locs = &out.debug_locations;
    assert!(locs.windows(2).all(|w| w[0].2 <= w[1].1), "{locs:?}");
    assert!(locs.iter().all(|l| l.0 == 7 && l.1 < l.2));
    assert!(locs.contains(&(7, before(5), before(7), ra(2))), "{locs:?}");
    assert!(locs.contains(&(7, before(4), before(5), sa(0))), "{locs:?}");
    assert_eq!(locs.first().unwrap().1, after(0));
    assert_eq!(locs.last().unwrap().2, after(7));
}

#[test]
fn output_is_cleared_and_keeps_capacity() {
    let f = diamond();
    let arena = Arena::new();
    let mut t = IonTables::new_in(&arena, 1, f.insts.len());
    add_range(
        &arena,
        &mut t,
        &f,
        0,
        cr(after(0), before(4)),
        ra(0),
        range_flags::STARTS_AT_DEF,
    );
    add_range(&arena, &mut t, &f, 0, cr(before(4), before(7)), ra(0), 0);
    add_range(&arena, &mut t, &f, 0, cr(before(7), after(7)), ra(0), 0);
    let cfg = regarena::cfg::analyze(&f, &arena).unwrap();
    let env = env(false);
    let mut out = lay_out_slots(&f, &env, &cfg, &arena);
    let mut stats = Stats::default();
    regarena::ion::moves::insert_moves(&f, &env, &cfg, &arena, &t, 0, &mut out, &mut stats)
        .unwrap();
    let first = (out.allocs.as_ptr(), out.allocs.len(), out.edits.len());
    let mut stats = Stats::default();
    regarena::ion::moves::insert_moves(&f, &env, &cfg, &arena, &t, 0, &mut out, &mut stats)
        .unwrap();
    assert_eq!(
        first,
        (out.allocs.as_ptr(), out.allocs.len(), out.edits.len())
    );
    assert!(out.edits.is_empty());
    check_upstream(&f, &env, &out);
}

#[test]
fn block_params_with_a_swap_cycle() {
    // b0 defines v0, v1 and jumps to b1(v0, v1); b1's params v2, v3
    // get them in swapped registers.
    let f = function(
        vec![
            (
                vec![
                    op(vec![Operand::reg_def(v(0))]),
                    op(vec![Operand::reg_def(v(1))]),
                    branch(),
                ],
                vec![1],
                vec![],
                vec![vec![v(0), v(1)]],
            ),
            (
                vec![
                    op(vec![Operand::reg_use(v(2)), Operand::reg_use(v(3))]),
                    ret(),
                ],
                vec![],
                vec![v(2), v(3)],
                vec![],
            ),
        ],
        4,
    );
    for scratch in [true, false] {
        let arena = Arena::new();
        let mut t = IonTables::new_in(&arena, 4, f.insts.len());
        let def = range_flags::STARTS_AT_DEF;
        add_range(&arena, &mut t, &f, 0, cr(after(0), before(3)), ra(0), def);
        add_range(&arena, &mut t, &f, 1, cr(after(1), before(3)), ra(1), def);
        add_range(&arena, &mut t, &f, 2, cr(before(3), after(3)), ra(1), def);
        add_range(&arena, &mut t, &f, 3, cr(before(3), after(3)), ra(0), def);
        for (from, to) in [(0, 2), (1, 3)] {
            t.blockparam_outs.push(BlockparamOut {
                from_vreg: VRegId::new(from),
                from_block: Block::new(0),
                to_block: Block::new(1),
                to_vreg: VRegId::new(to),
            });
            t.vregs.blockparam[VRegId::new(to)] = Block::new(1);
        }
        let env = env(scratch);
        let out = run_moves(&f, &env, &mut t, &arena);
        let at = moves_at(&out, before(3));
        assert_eq!(at.len(), 3, "{at:?}");
        // Through r15 if the machine has it, else a free register (r2:
        // the first not holding a value here).
        let temp = if scratch { ra(15) } else { ra(2) };
        assert!(at.iter().any(|&(_, to)| to == temp), "{at:?}");
        assert_eq!(out.num_spillslots, 4);
        check_upstream(&f, &env, &out);
    }
}

#[test]
fn reuse_def_copies_the_input_first() {
    // i0: def v0; i1: v1 = reuse(v0); i2: use v0; i3: use v1; i4: ret.
    let f = function(
        vec![(
            vec![
                op(vec![Operand::reg_def(v(0))]),
                op(vec![
                    Operand::reg_use(v(0)),
                    Operand::reg_reuse_def(v(1), 0),
                ]),
                op(vec![Operand::reg_use(v(0))]),
                op(vec![Operand::reg_use(v(1))]),
                ret(),
            ],
            vec![],
            vec![],
            vec![],
        )],
        2,
    );
    let arena = Arena::new();
    let mut t = IonTables::new_in(&arena, 2, f.insts.len());
    let def = range_flags::STARTS_AT_DEF;
    add_range(&arena, &mut t, &f, 0, cr(after(0), after(2)), ra(0), def);
    add_range(&arena, &mut t, &f, 1, cr(after(1), after(3)), ra(1), def);
    // As the live-range scan lists it.
    t.reuse_insts.push(Inst::new(1));
    let out = run_moves(&f, &env(true), &mut t, &arena);
    assert_eq!(moves_at(&out, before(1)), vec![(ra(0), ra(1))]);
    assert_eq!(out.inst_allocs(Inst::new(1)), &[ra(1), ra(1)]);
    check_upstream(&f, &env(true), &out);
}

#[test]
fn stack_to_stack_edge_move_goes_through_a_register() {
    // v0 lives in slot 0 in b0, slot 1 in b1: the edge move needs a register.
    let f = function(
        vec![
            (
                vec![op(vec![Operand::any_def(v(0))]), branch()],
                vec![1],
                vec![],
                vec![vec![]],
            ),
            (
                vec![op(vec![Operand::any_use(v(0))]), ret()],
                vec![],
                vec![],
                vec![],
            ),
        ],
        1,
    );
    for scratch in [true, false] {
        let arena = Arena::new();
        let mut t = IonTables::new_in(&arena, 1, f.insts.len());
        add_range(
            &arena,
            &mut t,
            &f,
            0,
            cr(after(0), before(2)),
            sa(0),
            range_flags::STARTS_AT_DEF,
        );
        add_range(&arena, &mut t, &f, 0, cr(before(2), after(2)), sa(1), 0);
        let env = env(scratch);
        let out = run_moves(&f, &env, &mut t, &arena);
        let at = moves_at(&out, before(2));
        assert_eq!(at.len(), 2, "{at:?}");
        assert!(at.iter().all(|&(a, b)| !(a.is_stack() && b.is_stack())));
        check_upstream(&f, &env, &out);
    }
}
