//! Unit tests of the single-pass allocator: small functions, each output
//! proved by the checker, with assertions on the moves the steps should
//! (or should not) insert.

use crate::checker::Checker;
use crate::ion::liveranges::testing::*;
use crate::owned::FunctionData;
use crate::{
    Algorithm, Allocation, Ctx, Edit, MachineEnv, Operand, OperandConstraint, OperandKind,
    OperandPos, Output, PRegSet, RegAllocError, RegallocOptions,
};

fn options() -> RegallocOptions {
    RegallocOptions {
        algorithm: Algorithm::Fastalloc,
        ..RegallocOptions::default()
    }
}

/// Allocates with the single-pass allocator and proves the result.
fn alloc_checked(func: &FunctionData, env: &MachineEnv) -> Output {
    let out = crate::run(func, env, &options()).expect("allocates");
    let mut checker = Checker::new(func, env);
    checker.prepare(&out);
    if let Err(e) = checker.run() {
        panic!("checker: {:?}\noutput: {out:?}", e.errors);
    }
    out
}

fn moves(out: &Output) -> Vec<(Allocation, Allocation)> {
    out.edits
        .iter()
        .map(|(_, Edit::Move { from, to })| (*from, *to))
        .collect()
}

#[test]
fn straight_line_code_needs_no_moves() {
    // v0 = def; v1 = def; v2 = use v0, v1; ret v2
    let func = function(
        3,
        vec![B(
            vec![],
            vec![
                op(vec![Operand::reg_def(v(0))]),
                op(vec![Operand::reg_def(v(1))]),
                op(vec![
                    Operand::reg_use(v(0)),
                    Operand::reg_use(v(1)),
                    Operand::reg_def(v(2)),
                ]),
                ret(vec![Operand::reg_use(v(2))]),
            ],
            vec![],
        )],
    );
    let out = alloc_checked(&func, &env());
    assert!(out.edits.is_empty(), "{:?}", out.edits);
    assert_eq!(out.num_spillslots, 0);
}

#[test]
fn fixed_constraints_clobbers_and_reuse_are_honored() {
    let mut call = op(vec![
        Operand::reg_fixed_use(v(0), p(0)),
        Operand::reg_fixed_def(v(2), p(0)),
    ]);
    // Clobbers exclude the fixed def (as Cranelift removes return registers).
    call.clobbers = (1..4).map(p).collect::<PRegSet>();
    let func = function(
        5,
        vec![B(
            vec![],
            vec![
                op(vec![Operand::reg_def(v(0))]),
                op(vec![Operand::reg_def(v(1))]),
                call,
                // v3 reuses v1's register; v1 is live after it.
                op(vec![
                    Operand::reg_use(v(2)),
                    Operand::reg_use(v(1)),
                    Operand::reg_reuse_def(v(3), 1),
                ]),
                op(vec![
                    Operand::reg_use(v(1)),
                    Operand::reg_use(v(3)),
                    Operand::new(
                        v(4),
                        OperandConstraint::Limit(2),
                        OperandKind::Def,
                        OperandPos::Late,
                    ),
                ]),
                ret(vec![Operand::reg_fixed_use(v(4), p(1))]),
            ],
            vec![],
        )],
    );
    alloc_checked(&func, &env());
}

#[test]
fn pressure_spills_and_reloads() {
    // Twelve values live at once on eight registers.
    let n = 12;
    let mut insts = Vec::new();
    for i in 0..n {
        insts.push(op(vec![Operand::reg_def(v(i))]));
    }
    for i in 0..n {
        insts.push(op(vec![Operand::reg_use(v(i))]));
    }
    insts.push(ret(vec![]));
    let func = function(n, vec![B(vec![], insts, vec![])]);
    let out = alloc_checked(&func, &env());
    assert!(out.num_spillslots >= 4, "{out:?}");
}

#[test]
fn block_params_and_live_ins_go_through_slots() {
    // b0: v0 = def; v1 = def; br b1(v1)
    // b1(v2): use v0, v2; ret
    let func = function(
        3,
        vec![
            B(
                vec![],
                vec![
                    op(vec![Operand::reg_def(v(0))]),
                    op(vec![Operand::reg_def(v(1))]),
                    branch(vec![]),
                ],
                vec![(1, vec![v(1)])],
            ),
            B(
                vec![v(2)],
                vec![
                    op(vec![Operand::reg_use(v(0)), Operand::reg_use(v(2))]),
                    ret(vec![]),
                ],
                vec![],
            ),
        ],
    );
    let out = alloc_checked(&func, &env());
    // v0 stored at its def and reloaded at b1's entry; v1 stored from its
    // register straight into v2's slot; v2 reloaded.
    let m = moves(&out);
    assert_eq!(m.len(), 4, "{m:?}");
    assert!(m
        .iter()
        .all(|(from, to)| !(from.is_stack() && to.is_stack())));
}

#[test]
fn a_loop_carries_its_values_in_slots() {
    // b0: v0 = def; br b1(v0)
    // b1(v1): v2 = use v1 (reuse); br b2
    // b2: br b1(v2)  (back edge)   -- b1 has two preds, b2 one.
    let func = function(
        3,
        vec![
            B(
                vec![],
                vec![op(vec![Operand::reg_def(v(0))]), branch(vec![])],
                vec![(1, vec![v(0)])],
            ),
            B(
                vec![v(1)],
                vec![
                    op(vec![
                        Operand::reg_use(v(1)),
                        Operand::reg_reuse_def(v(2), 0),
                    ]),
                    branch(vec![]),
                ],
                vec![(2, vec![]), (3, vec![])],
            ),
            B(vec![], vec![branch(vec![])], vec![(1, vec![v(2)])]),
            B(vec![], vec![ret(vec![])], vec![]),
        ],
    );
    alloc_checked(&func, &env());
}

#[test]
fn stack_and_any_operands_and_fixed_stack_slots() {
    let func = function(
        4,
        vec![B(
            vec![],
            vec![
                op(vec![Operand::any_def(v(0))]),
                op(vec![Operand::new(
                    v(1),
                    OperandConstraint::Stack,
                    OperandKind::Def,
                    OperandPos::Late,
                )]),
                op(vec![
                    Operand::new(
                        v(0),
                        OperandConstraint::Stack,
                        OperandKind::Use,
                        OperandPos::Early,
                    ),
                    Operand::any_use(v(1)),
                    Operand::reg_fixed_use(v(1), p(40)),
                    Operand::reg_def(v(2)),
                ]),
                op(vec![
                    Operand::reg_use(v(0)),
                    Operand::reg_fixed_def(v(3), p(40)),
                ]),
                ret(vec![Operand::reg_use(v(2)), Operand::any_use(v(3))]),
            ],
            vec![],
        )],
    );
    alloc_checked(&func, &env());
}

#[test]
fn runs_are_deterministic_and_a_warm_context_matches_a_fresh_one() {
    let func = function(
        3,
        vec![B(
            vec![],
            vec![
                op(vec![Operand::reg_def(v(0))]),
                op(vec![Operand::reg_def(v(1))]),
                op(vec![
                    Operand::reg_fixed_use(v(0), p(3)),
                    Operand::reg_def(v(2)),
                ]),
                ret(vec![Operand::reg_use(v(1)), Operand::reg_use(v(2))]),
            ],
            vec![],
        )],
    );
    let fresh = crate::run(&func, &env(), &options()).unwrap();
    let mut ctx = Ctx::default();
    for _ in 0..3 {
        let warm = crate::run_with_ctx(&func, &env(), &options(), &mut ctx).unwrap();
        assert_eq!(warm.allocs, fresh.allocs);
        assert_eq!(warm.edits, fresh.edits);
        assert_eq!(warm.num_spillslots, fresh.num_spillslots);
    }
}

#[test]
fn invalid_input_gets_the_same_error_as_ion() {
    // A use with no def: live into the entry.
    let undefined = function(
        2,
        vec![B(
            vec![],
            vec![op(vec![Operand::reg_use(v(1))]), ret(vec![])],
            vec![],
        )],
    );
    // Two defs of one vreg.
    let twice = function(
        1,
        vec![B(
            vec![],
            vec![
                op(vec![Operand::reg_def(v(0))]),
                op(vec![Operand::reg_def(v(0))]),
                ret(vec![]),
            ],
            vec![],
        )],
    );
    for func in [undefined, twice] {
        let ion = crate::run(&func, &env(), &RegallocOptions::default()).map(|_| ());
        let fast = crate::run(&func, &env(), &options()).map(|_| ());
        assert!(ion.is_err());
        assert_eq!(fast, ion);
    }
    // Too few registers for the operands of one instruction.
    let wide = function(
        9,
        vec![B(
            vec![],
            vec![
                op((0..9).map(|i| Operand::reg_def(v(i))).collect()),
                ret(vec![]),
            ],
            vec![],
        )],
    );
    assert_eq!(
        crate::run(&wide, &env(), &options()).map(|_| ()),
        Err(RegAllocError::TooManyLiveRegs)
    );
}

#[test]
fn debug_locations_name_the_slot_of_a_spilled_value_only() {
    // v0 is live across a call that clobbers every register, so its
    // definition stores it to its slot; v1 lives in a register only.
    let mut call = op(vec![]);
    call.clobbers = (0..8).map(p).collect::<PRegSet>();
    let mut func = function(
        2,
        vec![B(
            vec![],
            vec![
                op(vec![Operand::reg_def(v(0))]),
                call,
                op(vec![Operand::reg_use(v(0)), Operand::reg_def(v(1))]),
                ret(vec![Operand::reg_use(v(1))]),
            ],
            vec![],
        )],
    );
    func.debug_value_labels = vec![
        (v(0), crate::Inst::new(0), crate::Inst::new(4), 7),
        (v(1), crate::Inst::new(2), crate::Inst::new(4), 8),
    ];
    let out = alloc_checked(&func, &env());
    // The store after the def names the slot.
    let stored: Vec<Allocation> = out
        .edits
        .iter()
        .filter(|(point, _)| *point == crate::ProgPoint::after(crate::Inst::new(0)))
        .map(|(_, Edit::Move { to, .. })| *to)
        .collect();
    assert_eq!(stored.len(), 1, "{:?}", out.edits);
    assert!(stored[0].is_stack());
    assert_eq!(
        out.debug_locations,
        vec![(
            7,
            crate::ProgPoint::before(crate::Inst::new(1)),
            crate::ProgPoint::before(crate::Inst::new(4)),
            stored[0]
        )]
    );
}

#[test]
fn debug_locations_skip_blocks_the_definition_does_not_dominate() {
    // block0 branches to block1 (defines v0, spilled across a call) and
    // block2; both go to block3. A label over the whole function reports
    // v0's slot in block1 only, from its store on.
    let mut call = op(vec![]);
    call.clobbers = (0..8).map(p).collect::<PRegSet>();
    let mut func = function(
        1,
        vec![
            B(vec![], vec![branch(vec![])], vec![(1, vec![]), (2, vec![])]),
            B(
                vec![],
                vec![
                    op(vec![Operand::reg_def(v(0))]),
                    call,
                    op(vec![Operand::reg_use(v(0))]),
                    branch(vec![]),
                ],
                vec![(3, vec![])],
            ),
            B(vec![], vec![branch(vec![])], vec![(3, vec![])]),
            B(vec![], vec![ret(vec![])], vec![]),
        ],
    );
    func.debug_value_labels = vec![(v(0), crate::Inst::new(0), crate::Inst::new(7), 3)];
    let out = alloc_checked(&func, &env());
    let slot = out
        .edits
        .iter()
        .find(|(point, _)| *point == crate::ProgPoint::after(crate::Inst::new(1)))
        .map(|(_, Edit::Move { to, .. })| *to)
        .expect("the def is stored");
    assert!(slot.is_stack());
    // Block1 is i1..i5; block2 (i5) and block3 (i6) are not dominated.
    assert_eq!(
        out.debug_locations,
        vec![(
            3,
            crate::ProgPoint::before(crate::Inst::new(2)),
            crate::ProgPoint::before(crate::Inst::new(5)),
            slot
        )]
    );
}
