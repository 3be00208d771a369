//! Unit tests of the checker on hand-built functions and outputs, right
//! and wrong.

use super::*;
use crate::owned::{BlockData, InstData, InstKind};
use crate::{FunctionData, InstRange, RegClass, SpillSlot};

fn r(i: usize) -> PReg {
    PReg::new(i, RegClass::Int)
}
fn v(i: usize) -> VReg {
    VReg::new(i, RegClass::Int)
}
fn reg(i: usize) -> Allocation {
    Allocation::reg(r(i))
}
fn slot(i: usize) -> Allocation {
    Allocation::stack(SpillSlot::new(i))
}

/// p0..p3 allocatable, p7 scratch, p10 a fixed stack slot.
fn env() -> MachineEnv {
    MachineEnv {
        preferred_regs_by_class: [(0..4).map(r).collect(), PRegSet::empty(), PRegSet::empty()],
        non_preferred_regs_by_class: [PRegSet::empty(); 3],
        scratch_by_class: [Some(r(7)), None, None],
        fixed_stack_slots: vec![r(10)],
    }
}

fn op(operands: Vec<Operand>) -> InstData {
    InstData {
        kind: InstKind::Op,
        operands,
        clobbers: PRegSet::empty(),
    }
}
fn call(operands: Vec<Operand>, clobbers: &[usize]) -> InstData {
    InstData {
        kind: InstKind::Op,
        operands,
        clobbers: clobbers.iter().map(|&i| r(i)).collect(),
    }
}
fn ret(operands: Vec<Operand>) -> InstData {
    InstData {
        kind: InstKind::Ret,
        operands,
        clobbers: PRegSet::empty(),
    }
}
fn branch() -> InstData {
    InstData {
        kind: InstKind::Branch,
        operands: Vec::new(),
        clobbers: PRegSet::empty(),
    }
}

/// One block per entry: its instructions, successors, params and
/// per-successor branch args.
struct B {
    insts: Vec<InstData>,
    succs: Vec<usize>,
    params: Vec<VReg>,
    args: Vec<Vec<VReg>>,
}

fn block(insts: Vec<InstData>) -> B {
    B {
        insts,
        succs: vec![],
        params: vec![],
        args: vec![],
    }
}

fn function(blocks: Vec<B>, num_vregs: usize) -> FunctionData {
    let mut f = FunctionData {
        entry: Block::new(0),
        insts: Vec::new(),
        blocks: Vec::new(),
        num_vregs,
        debug_value_labels: Vec::new(),
        spillslot_sizes: [1, 1, 1],
        multi_spillslot_named_by_last_slot: false,
        allow_multiple_vreg_defs: false,
    };
    for b in blocks {
        let start = f.insts.len();
        f.insts.extend(b.insts);
        f.blocks.push(BlockData {
            insts: InstRange::new(Inst::new(start), Inst::new(f.insts.len())),
            succs: b.succs.into_iter().map(Block::new).collect(),
            preds: Vec::new(),
            params: b.params,
            branch_args: b.args,
        });
    }
    f.recompute_preds();
    f
}

fn output(allocs: Vec<Vec<Allocation>>, edits: Vec<(ProgPoint, Allocation, Allocation)>) -> Output {
    let mut out = Output {
        num_spillslots: 2,
        ..Output::default()
    };
    for a in allocs {
        out.inst_alloc_offsets.push(out.allocs.len() as u32);
        out.allocs.extend(a);
    }
    out.edits = edits
        .into_iter()
        .map(|(p, from, to)| (p, Edit::Move { from, to }))
        .collect();
    out
}

fn check_with(f: &FunctionData, out: &Output, pruning: Pruning) -> Vec<CheckerError> {
    let env = env();
    let mut checker = Checker::new(f, &env).with_pruning(pruning);
    checker.prepare(out);
    match checker.run() {
        Ok(()) => Vec::new(),
        Err(e) => {
            // Every error renders.
            assert!(!e.to_string().is_empty());
            e.errors
        }
    }
}

/// The default checker's errors, after checking that the checker without
/// pruning reports the same, and the one that prunes without rerunning
/// the same but for which vregs a wrongly read location holds.
fn check(f: &FunctionData, out: &Output) -> Vec<CheckerError> {
    let exact = check_with(f, out, Pruning::Exact);
    assert_eq!(exact, check_with(f, out, Pruning::Off));
    let fast = check_with(f, out, Pruning::Fast);
    let strip = |errors: &[CheckerError]| -> Vec<CheckerError> {
        errors
            .iter()
            .map(|e| match e {
                CheckerError::IncorrectValuesInAllocation {
                    inst, op, alloc, ..
                } => CheckerError::UnknownValueInAllocation {
                    inst: *inst,
                    op: *op,
                    alloc: *alloc,
                },
                e => e.clone(),
            })
            .collect()
    };
    assert_eq!(strip(&exact), strip(&fast));
    exact
}

fn before(i: usize) -> ProgPoint {
    ProgPoint::before(Inst::new(i))
}
fn after(i: usize) -> ProgPoint {
    ProgPoint::after(Inst::new(i))
}

/// def v0; use v0; ret.
fn straight() -> FunctionData {
    function(
        vec![block(vec![
            op(vec![Operand::reg_def(v(0))]),
            op(vec![Operand::reg_use(v(0))]),
            ret(vec![]),
        ])],
        1,
    )
}

#[test]
fn straight_line_right_and_wrong() {
    let f = straight();
    assert_eq!(
        check(
            &f,
            &output(vec![vec![reg(0)], vec![reg(0)], vec![]], vec![])
        ),
        vec![]
    );
    let errs = check(
        &f,
        &output(vec![vec![reg(0)], vec![reg(1)], vec![]], vec![]),
    );
    assert!(
        matches!(errs[..], [CheckerError::UnknownValueInAllocation { .. }]),
        "{errs:?}"
    );
}

#[test]
fn wrong_value_is_named() {
    let f = function(
        vec![block(vec![
            op(vec![Operand::reg_def(v(0))]),
            op(vec![Operand::reg_def(v(1))]),
            op(vec![Operand::reg_use(v(0)), Operand::reg_use(v(1))]),
            ret(vec![]),
        ])],
        2,
    );
    let ok = output(
        vec![vec![reg(0)], vec![reg(1)], vec![reg(0), reg(1)], vec![]],
        vec![],
    );
    assert_eq!(check(&f, &ok), vec![]);
    let bad = output(
        vec![vec![reg(0)], vec![reg(1)], vec![reg(1), reg(1)], vec![]],
        vec![],
    );
    let errs = check(&f, &bad);
    assert!(
        matches!(&errs[..], [CheckerError::IncorrectValuesInAllocation { actual, .. }] if actual == &vec![v(1)]),
        "{errs:?}"
    );
}

#[test]
fn spill_across_call_and_reload() {
    // def v0; call (clobbers p0); use v0.
    let f = function(
        vec![block(vec![
            op(vec![Operand::reg_def(v(0))]),
            call(vec![], &[0, 1]),
            op(vec![Operand::reg_use(v(0))]),
            ret(vec![]),
        ])],
        1,
    );
    let allocs = || vec![vec![reg(0)], vec![], vec![reg(2)], vec![]];
    let good = output(
        allocs(),
        vec![(after(0), reg(0), slot(0)), (before(2), slot(0), reg(2))],
    );
    assert_eq!(check(&f, &good), vec![]);
    // Reload removed.
    let no_reload = output(allocs(), vec![(after(0), reg(0), slot(0))]);
    assert!(matches!(
        check(&f, &no_reload)[..],
        [CheckerError::UnknownValueInAllocation { .. }]
    ));
    // Kept in the clobbered register across the call.
    let kept = output(vec![vec![reg(0)], vec![], vec![reg(0)], vec![]], vec![]);
    assert!(matches!(
        check(&f, &kept)[..],
        [CheckerError::UnknownValueInAllocation { .. }]
    ));
    // Stack-to-stack and out-of-range slots are reported.
    let s2s = output(
        allocs(),
        vec![
            (after(0), reg(0), slot(0)),
            (after(0), slot(0), slot(1)),
            (before(2), slot(1), reg(2)),
            (before(2), slot(5), reg(3)),
        ],
    );
    let errs = check(&f, &s2s);
    assert!(
        matches!(
            errs[..],
            [
                CheckerError::StackToStackMove { .. },
                CheckerError::SpillSlotOutOfRange { .. }
            ]
        ),
        "{errs:?}"
    );
}

#[test]
fn block_params_take_their_args_locations() {
    // b0: def v0; br b1(v0).  b1(v1): use v1; ret.
    let f = function(
        vec![
            B {
                insts: vec![op(vec![Operand::reg_def(v(0))]), branch()],
                succs: vec![1],
                params: vec![],
                args: vec![vec![v(0)]],
            },
            B {
                insts: vec![op(vec![Operand::reg_use(v(1))]), ret(vec![])],
                succs: vec![],
                params: vec![v(1)],
                args: vec![],
            },
        ],
        2,
    );
    let ok = output(vec![vec![reg(0)], vec![], vec![reg(0)], vec![]], vec![]);
    assert_eq!(check(&f, &ok), vec![]);
    let moved = output(
        vec![vec![reg(0)], vec![], vec![reg(1)], vec![]],
        vec![(before(2), reg(0), reg(1))],
    );
    assert_eq!(check(&f, &moved), vec![]);
    let wrong = output(vec![vec![reg(0)], vec![], vec![reg(1)], vec![]], vec![]);
    assert_eq!(check(&f, &wrong).len(), 1);
}

/// b0: def v0, v1; branch to b1 or b2; each goes to b3 which uses v0.
fn diamond() -> FunctionData {
    function(
        vec![
            B {
                insts: vec![op(vec![Operand::reg_def(v(0))]), branch()],
                succs: vec![1, 2],
                params: vec![],
                args: vec![vec![], vec![]],
            },
            B {
                insts: vec![branch()],
                succs: vec![3],
                params: vec![],
                args: vec![vec![]],
            },
            B {
                insts: vec![branch()],
                succs: vec![3],
                params: vec![],
                args: vec![vec![]],
            },
            block(vec![ret(vec![Operand::reg_use(v(0))])]),
        ],
        1,
    )
}

#[test]
fn a_value_must_be_there_on_every_path() {
    let f = diamond();
    let allocs = || vec![vec![reg(0)], vec![], vec![], vec![], vec![reg(1)]];
    // Both paths move p0 -> p1.
    let both = output(
        allocs(),
        vec![(before(2), reg(0), reg(1)), (before(3), reg(0), reg(1))],
    );
    assert_eq!(check(&f, &both), vec![]);
    // Only one does.
    let one = output(allocs(), vec![(before(2), reg(0), reg(1))]);
    assert!(matches!(
        check(&f, &one)[..],
        [CheckerError::UnknownValueInAllocation { .. }]
    ));
}

#[test]
fn loop_redefinition_makes_old_copies_stale() {
    // b0: def v0 -> b1.  b1(v1): use v1; def v2 = v1+1; br b1(v2) or b2.
    // A copy of v1 kept in a slot from the first iteration is stale later.
    let f = function(
        vec![
            B {
                insts: vec![op(vec![Operand::reg_def(v(0))]), branch()],
                succs: vec![1],
                params: vec![],
                args: vec![vec![v(0)]],
            },
            B {
                insts: vec![
                    op(vec![Operand::any_use(v(1))]),
                    op(vec![Operand::reg_use(v(1)), Operand::reg_def(v(2))]),
                    branch(),
                ],
                succs: vec![1, 2],
                params: vec![v(1)],
                args: vec![vec![v(2)], vec![]],
            },
            block(vec![ret(vec![])]),
        ],
        3,
    );
    // v1 lives in p0; each iteration's v2 is written to p0 (the old v1 dies).
    let good = output(
        vec![
            vec![reg(0)],
            vec![],
            vec![reg(0)],
            vec![reg(0), reg(0)],
            vec![],
            vec![],
        ],
        vec![],
    );
    assert_eq!(check(&f, &good), vec![]);
    // Spilling v0 to slot0 on entry and reading v1 from slot0 is right on
    // the first iteration only.
    let stale = output(
        vec![
            vec![reg(0)],
            vec![],
            vec![slot(0)],
            vec![reg(0), reg(0)],
            vec![],
            vec![],
        ],
        vec![(after(0), reg(0), slot(0))],
    );
    // (slot0 still holds v0 on both paths, but v1 only on the first.)
    let errs = check(&f, &stale);
    assert!(
        matches!(&errs[..], [CheckerError::IncorrectValuesInAllocation { actual, .. }] if actual == &vec![v(0)]),
        "{errs:?}"
    );
}

#[test]
fn constraints() {
    let f = function(
        vec![block(vec![
            op(vec![
                Operand::reg_fixed_def(v(0), r(2)),
                Operand::new(
                    v(1),
                    OperandConstraint::Limit(2),
                    OperandKind::Def,
                    OperandPos::Late,
                ),
            ]),
            op(vec![
                Operand::reg_use(v(0)),
                Operand::reg_reuse_def(v(2), 0),
            ]),
            op(vec![Operand::new(
                v(2),
                OperandConstraint::Stack,
                OperandKind::Use,
                OperandPos::Early,
            )]),
            op(vec![
                Operand::any_use(v(1)),
                Operand::fixed_nonallocatable(r(12)),
            ]),
            ret(vec![]),
        ])],
        3,
    );
    let good = output(
        vec![
            vec![reg(2), reg(1)],
            vec![reg(2), reg(2)],
            vec![slot(1)],
            vec![reg(1), reg(12)],
            vec![],
        ],
        vec![(after(1), reg(2), slot(1))],
    );
    assert_eq!(check(&f, &good), vec![]);
    let bad = output(
        vec![
            vec![reg(3), reg(3)],  // fixed in p3; limit 2 in p3
            vec![reg(3), reg(0)],  // reuse not in input's reg
            vec![reg(0)],          // stack operand in a reg
            vec![reg(7), reg(11)], // any in scratch; nonallocatable elsewhere
            vec![],
        ],
        vec![],
    );
    let kinds: Vec<_> = check(&f, &bad)
        .iter()
        .map(|e| {
            format!("{e:?}")
                .split([' ', '{'])
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    for want in [
        "AllocationIsNotFixedReg",
        "AllocationOutsideLimit",
        "ConflictedValueInAllocation",
        "AllocationIsNotReuse",
        "AllocationIsNotStack",
        "AllocationIsScratch",
    ] {
        assert!(
            kinds.iter().any(|k| k == want),
            "missing {want} in {kinds:?}"
        );
    }
}

#[test]
fn early_def_over_early_use_and_late_use_under_late_def() {
    let f = function(
        vec![block(vec![
            op(vec![Operand::reg_def(v(0))]),
            op(vec![Operand::reg_use(v(0)), Operand::reg_temp(v(1))]),
            op(vec![Operand::reg_use_at_end(v(0)), Operand::reg_def(v(2))]),
            ret(vec![]),
        ])],
        3,
    );
    let good = output(
        vec![
            vec![reg(0)],
            vec![reg(0), reg(1)],
            vec![reg(0), reg(1)],
            vec![],
        ],
        vec![],
    );
    assert_eq!(check(&f, &good), vec![]);
    let early = output(
        vec![
            vec![reg(0)],
            vec![reg(0), reg(0)],
            vec![reg(0), reg(1)],
            vec![],
        ],
        vec![],
    );
    let errs = check(&f, &early);
    assert!(
        matches!(errs[0], CheckerError::ConflictedValueInAllocation { .. }),
        "{errs:?}"
    );
    let late = output(
        vec![
            vec![reg(0)],
            vec![reg(0), reg(1)],
            vec![reg(0), reg(0)],
            vec![],
        ],
        vec![],
    );
    assert!(matches!(
        check(&f, &late)[..],
        [CheckerError::IncorrectValuesInAllocation { .. }]
    ));
}

#[test]
fn malformed_outputs_are_reported_not_panics() {
    let f = straight();
    // Too few allocations for inst 1, and no offsets at all.
    let short = output(vec![vec![reg(0)], vec![], vec![]], vec![]);
    let errs = check(&f, &short);
    assert!(
        matches!(errs[0], CheckerError::AllocationCountMismatch { .. }),
        "{errs:?}"
    );
    let empty = check(&f, &Output::default());
    assert_eq!(empty.len(), 3);
    // Missing allocation; edit after the return; edits out of order.
    let mut bad = output(
        vec![vec![Allocation::none()], vec![reg(0)], vec![]],
        vec![
            (before(1), reg(0), reg(1)),
            (before(0), reg(1), reg(2)),
            (after(2), reg(0), reg(1)),
        ],
    );
    bad.num_spillslots = 0;
    let kinds: Vec<_> = check(&f, &bad)
        .iter()
        .map(|e| {
            format!("{e:?}")
                .split([' ', '{'])
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "MisplacedEdit",
            "MisplacedEdit",
            "MissingAllocation",
            "UnknownValueInAllocation"
        ]
    );
    // Checking without prepare reports every instruction.
    let env = env();
    assert!(Checker::new(&f, &env).run().is_err());
}

#[test]
fn errors_are_deterministic_and_complete() {
    let f = diamond();
    let out = output(
        vec![vec![reg(0)], vec![], vec![], vec![], vec![reg(3)]],
        vec![(before(4), slot(0), slot(1))],
    );
    let a = check(&f, &out);
    let b = check(&f, &out);
    assert_eq!(a, b);
    assert_eq!(a.len(), 2, "{a:?}");
}

#[test]
fn a_state_past_the_node_budget_is_reported_not_grown() {
    // v0 = def in p0; ret uses v0 in p0: right, and proved under the
    // default budget; a budget of one node (the empty node) cannot hold
    // the def's label, so the checker gives up with `TooLargeToCheck`.
    let f = function(
        vec![block(vec![
            op(vec![Operand::reg_def(v(0))]),
            ret(vec![Operand::reg_use(v(0))]),
        ])],
        1,
    );
    let out = output(vec![vec![reg(0)], vec![reg(0)]], vec![]);
    assert_eq!(check(&f, &out), Vec::new());
    let env = env();
    let mut checker = Checker::new(&f, &env).with_node_budget(1);
    checker.prepare(&out);
    let errors = checker.run().expect_err("over budget").errors;
    assert!(
        matches!(errors[..], [CheckerError::TooLargeToCheck { nodes }] if nodes > 1),
        "{errors:?}"
    );
    assert!(errors[0].to_string().starts_with("not checked"));
}

#[test]
fn dead_vregs_are_forgotten_and_the_errors_kept() {
    // def v0; use v0 (its last); def v1; use v1, read from v0's register.
    let f = function(
        vec![block(vec![
            op(vec![Operand::reg_def(v(0))]),
            op(vec![Operand::reg_use(v(0))]),
            op(vec![Operand::reg_def(v(1))]),
            op(vec![Operand::reg_use(v(1))]),
            ret(vec![]),
        ])],
        2,
    );
    let bad = output(
        vec![
            vec![reg(0)],
            vec![reg(0)],
            vec![reg(1)],
            vec![reg(0)],
            vec![],
        ],
        vec![],
    );
    // Pruned, p0 holds nothing anyone reads any more...
    assert!(matches!(
        check_with(&f, &bad, Pruning::Fast)[..],
        [CheckerError::UnknownValueInAllocation { .. }]
    ));
    // ...and the default names the dead v0, as the checker without
    // pruning does.
    let errs = check(&f, &bad);
    assert!(
        matches!(&errs[..], [CheckerError::IncorrectValuesInAllocation { actual, .. }] if actual == &vec![v(0)]),
        "{errs:?}"
    );
}

#[test]
fn liveness_kills_after_last_uses_and_on_edges() {
    // b0: def v0, v1; branch to b1 (v0 as b1's param v2) or b2.
    // b1(v2): use v2; to b3.  b2: use v1; to b3.
    // b3: def v3; to b4.  b4: use v3; round b4 again or out to b5.
    let f = function(
        vec![
            B {
                insts: vec![
                    op(vec![Operand::reg_def(v(0))]),
                    op(vec![Operand::reg_def(v(1))]),
                    branch(),
                ],
                succs: vec![1, 2],
                params: vec![],
                args: vec![vec![v(0)], vec![]],
            },
            B {
                insts: vec![op(vec![Operand::reg_use(v(2))]), branch()],
                succs: vec![3],
                params: vec![v(2)],
                args: vec![vec![]],
            },
            B {
                insts: vec![op(vec![Operand::reg_use(v(1))]), branch()],
                succs: vec![3],
                params: vec![],
                args: vec![vec![]],
            },
            // A loop reading v3, defined before it, on every round.
            B {
                insts: vec![op(vec![Operand::reg_def(v(3))]), branch()],
                succs: vec![4],
                params: vec![],
                args: vec![vec![]],
            },
            B {
                insts: vec![op(vec![Operand::reg_use(v(3))]), branch()],
                succs: vec![4, 5],
                params: vec![],
                args: vec![vec![], vec![]],
            },
            block(vec![ret(vec![])]),
        ],
        4,
    );
    let kills = liveness::Kills::compute(&f, 4);
    let after = |i: usize| kills.after_inst(Inst::new(i)).to_vec();
    // v0 is read through b1's param, v1 in b2: neither dies in b0.
    assert_eq!((after(0), after(1)), (vec![], vec![]));
    // Into b1: v2 takes v0's value; v0 and v1 are dead there.
    assert_eq!(kills.on_edge(0, 0), [0, 1]);
    assert_eq!(kills.on_edge(0, 1), [0]);
    assert_eq!((after(3), after(5)), (vec![2], vec![1]));
    // v3 is read on every round of the loop: live across its use, dead
    // on the way out.
    assert_eq!(after(9), Vec::<u32>::new());
    assert_eq!(kills.on_edge(4, 0), [] as [u32; 0]);
    assert_eq!(kills.on_edge(4, 1), [3]);
    // A def nothing reads dies at once.
    let dead_def = function(
        vec![block(vec![op(vec![Operand::reg_def(v(0))]), ret(vec![])])],
        1,
    );
    let kills = liveness::Kills::compute(&dead_def, 1);
    assert_eq!(kills.after_inst(Inst::new(0)), [0]);
}
