//! Inputs regalloc2 0.15.2 accepts and then panics, aborts or returns a
//! wrong allocation on (issue 13): absurd sizes, a malformed
//! `MachineEnv`, constraints no allocation can meet. Each must give the
//! exact `RegAllocError` (see `validate::{check_sizes, check_env}` and
//! `spill::allocate_spillslots`), never a panic or an abort; a huge but
//! legal declared vreg count must allocate, sized by the vregs used, and
//! pass the checker.

use regarena::checker::{Checker, CheckerError};
use regarena::owned::{BlockData, InstData, InstKind};
use regarena::{
    Block, FunctionData, Inst, InstRange, MachineEnv, Operand, Output, PReg, PRegSet,
    RegAllocError, RegClass, RegallocOptions, VReg,
};

fn v(i: usize) -> VReg {
    VReg::new(i, RegClass::Int)
}
fn int(r: usize) -> PReg {
    PReg::new(r, RegClass::Int)
}

/// One block: `n` values defined, then all used by one instruction (so
/// with `n` above the register count some are spilled), then a return.
fn straight(n: usize) -> FunctionData {
    let mut insts: Vec<InstData> = (0..n)
        .map(|i| InstData {
            kind: InstKind::Op,
            operands: vec![Operand::reg_def(v(i))],
            clobbers: PRegSet::empty(),
        })
        .collect();
    insts.push(InstData {
        kind: InstKind::Op,
        operands: (0..n).map(|i| Operand::any_use(v(i))).collect(),
        clobbers: PRegSet::empty(),
    });
    insts.push(InstData {
        kind: InstKind::Ret,
        operands: vec![],
        clobbers: PRegSet::empty(),
    });
    let len = insts.len();
    let mut f = FunctionData {
        entry: Block::new(0),
        insts,
        blocks: vec![BlockData {
            insts: InstRange::new(Inst::new(0), Inst::new(len)),
            preds: vec![],
            succs: vec![],
            params: vec![],
            branch_args: vec![],
        }],
        num_vregs: n,
        debug_value_labels: vec![],
        spillslot_sizes: [1, 2, 2],
        multi_spillslot_named_by_last_slot: false,
        allow_multiple_vreg_defs: false,
    };
    f.recompute_preds();
    f
}

/// Four Int registers (0..4), two Float (0..2).
fn env() -> MachineEnv {
    MachineEnv {
        preferred_regs_by_class: [
            [0, 1, 2].into_iter().map(int).collect(),
            (0..2).map(|r| PReg::new(r, RegClass::Float)).collect(),
            PRegSet::empty(),
        ],
        non_preferred_regs_by_class: [
            [3].into_iter().map(int).collect(),
            PRegSet::empty(),
            PRegSet::empty(),
        ],
        scratch_by_class: [Some(int(5)), None, None],
        fixed_stack_slots: vec![int(10)],
    }
}

/// Runs `func` (fresh and warm `Ctx`) and returns the result; an `Ok`
/// output must pass the checker and be the same from both contexts.
/// Ion's result, after checking that the single-pass allocator gives the
/// same error (or also an output the checker accepts).
fn run(func: &FunctionData, env: &MachineEnv) -> Result<Output, RegAllocError> {
    let ion = run_with(func, env, regarena::Algorithm::Ion);
    let single_pass = run_with(func, env, regarena::Algorithm::Fastalloc);
    match (&ion, &single_pass) {
        (Err(a), Err(b)) => assert_eq!(a, b, "Ion and Fastalloc errors differ"),
        (Ok(_), Ok(_)) => {}
        _ => panic!("Ion {ion:?} vs Fastalloc {single_pass:?}"),
    }
    ion
}

/// One algorithm with a fresh and a warm `Ctx` (identical results; an
/// output passes the checker).
fn run_with(
    func: &FunctionData,
    env: &MachineEnv,
    algorithm: regarena::Algorithm,
) -> Result<Output, RegAllocError> {
    let options = RegallocOptions {
        algorithm,
        ..RegallocOptions::default()
    };
    let fresh = regarena::run(func, env, &options);
    let mut ctx = regarena::Ctx::default();
    regarena::run_with_ctx(&straight(12), &self::env(), &options, &mut ctx).expect("warm-up");
    let warm = regarena::run_with_ctx(func, env, &options, &mut ctx).cloned();
    match (&fresh, &warm) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.allocs, b.allocs);
            assert_eq!(a.edits, b.edits);
            let mut checker = Checker::new(func, env);
            checker.prepare(a);
            checker.run().expect("checker accepts the output");
        }
        (Err(a), Err(b)) => assert_eq!(a, b),
        _ => panic!("fresh {fresh:?} vs warm {warm:?}"),
    }
    fresh
}

#[test]
fn the_base_functions_allocate_and_check() {
    let out = run(&straight(3), &env()).expect("valid");
    assert_eq!(out.num_spillslots, 0);
    let out = run(&straight(12), &env()).expect("valid");
    assert!(out.num_spillslots > 0, "12 values in 4 registers spill");
}

#[test]
fn num_vregs_past_vreg_max_is_an_error() {
    for n in [usize::MAX, 1 << 34, VReg::MAX + 2] {
        let mut f = straight(3);
        f.num_vregs = n;
        assert_eq!(
            run(&f, &env()).unwrap_err(),
            RegAllocError::SSA(VReg::invalid(), Inst::invalid()),
            "num_vregs = {n}"
        );
    }
}

#[test]
fn huge_declared_but_few_used_vregs_allocate_by_the_used_ones() {
    // 2^30 (the most allowed) and 8M declared, 12 used: sized from use, so
    // this neither takes gigabytes nor fails; the checker does the same.
    for n in [VReg::MAX + 1, 8 << 20] {
        let mut f = straight(12);
        f.num_vregs = n;
        let out = run(&f, &env()).expect("valid");
        let reference = run(&straight(12), &env()).unwrap();
        assert_eq!(out.allocs, reference.allocs, "num_vregs = {n}");
        assert_eq!(out.edits, reference.edits, "num_vregs = {n}");
    }
}

#[test]
fn a_small_function_naming_a_huge_vreg_index_is_an_error() {
    // 12 vregs used, the last one renumbered to `index`: the per-vreg
    // tables are indexed by vreg, so past 2^18 + 64 per vreg mention it is
    // TooManyLiveRegs instead of gigabytes (regalloc2 aborts).
    let rename = |index: usize| {
        let mut f = straight(12);
        f.num_vregs = VReg::MAX + 1;
        let last = v(index);
        f.insts[11].operands[0] = Operand::reg_def(last);
        f.insts[12].operands[11] = Operand::any_use(last);
        f
    };
    let within = regarena::validate::MIN_VREG_BOUND + 12;
    let out = run(&rename(within), &env()).expect("a sparse but bounded numbering");
    assert_eq!(out.allocs, run(&straight(12), &env()).unwrap().allocs);
    for index in [1 << 24, VReg::MAX - 1] {
        assert_eq!(
            run(&rename(index), &env()).unwrap_err(),
            RegAllocError::TooManyLiveRegs,
            "vreg {index}"
        );
    }
}

/// `straight` with `num_insts` claiming more than the bound (the trait can
/// say anything; nothing must be allocated for it).
struct ClaimsInsts(FunctionData, usize);

macro_rules! delegate {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)*) => {
        $(fn $name(&self, $($arg: $ty),*) -> $ret { self.0.$name($($arg),*) })*
    };
}

impl regarena::Function for ClaimsInsts {
    fn num_insts(&self) -> usize {
        self.1
    }
    fn num_blocks(&self) -> usize {
        self.1
    }
    delegate! {
        entry_block() -> Block;
        block_insns(b: Block) -> InstRange;
        block_succs(b: Block) -> &[Block];
        block_preds(b: Block) -> &[Block];
        block_params(b: Block) -> &[VReg];
        is_ret(i: Inst) -> bool;
        is_branch(i: Inst) -> bool;
        branch_blockparams(b: Block, i: Inst, s: usize) -> &[VReg];
        inst_operands(i: Inst) -> &[Operand];
        inst_clobbers(i: Inst) -> PRegSet;
        num_vregs() -> usize;
        spillslot_size(c: RegClass) -> usize;
    }
}

#[test]
fn instruction_and_block_counts_past_the_bound_are_an_error() {
    for n in [usize::MAX, 1 << 40, regarena::validate::MAX_INSTS + 1] {
        let f = ClaimsInsts(straight(3), n);
        let got = regarena::run(&f, &env(), &RegallocOptions::default());
        assert_eq!(got.unwrap_err(), RegAllocError::BB(Block::invalid()), "{n}");
    }
}

#[test]
fn absurd_spill_slot_size_is_an_error_not_billions_of_slots() {
    for size in [1usize << 33, 1 << 24, (1 << 31) + 1, usize::MAX] {
        let mut f = straight(12);
        f.spillslot_sizes = [size, 2, 2];
        assert_eq!(
            run(&f, &env()).unwrap_err(),
            RegAllocError::TooManyLiveRegs,
            "spillslot_size = {size}"
        );
    }
    // Nothing spilled: the size is never used, so the function allocates.
    let mut f = straight(3);
    f.spillslot_sizes = [1 << 33, 2, 2];
    assert_eq!(run(&f, &env()).unwrap().num_spillslots, 0);
}

#[test]
fn checker_reports_too_many_spill_slots_without_aborting() {
    // What regalloc2 returns for spill-slot size 2^33: its output with
    // 2^35 - 8 slots must be an error, not an 800 GB allocation.
    let f = straight(3);
    let mut out = run(&f, &env()).unwrap();
    out.num_spillslots = 34_359_738_360;
    let env = env();
    let mut checker = Checker::new(&f, &env);
    checker.prepare(&out);
    let errors = checker.run().unwrap_err().errors;
    assert_eq!(
        errors,
        vec![CheckerError::TooManySpillSlots {
            num_spillslots: 34_359_738_360
        }]
    );
}

#[test]
fn malformed_machine_envs_are_refused() {
    type EnvFault = Box<dyn Fn(&mut MachineEnv)>;
    let cases: Vec<(&str, EnvFault)> = vec![
        (
            "scratch also allocatable",
            Box::new(|e| e.scratch_by_class[0] = Some(int(1))),
        ),
        (
            "scratch of another class",
            Box::new(|e| e.scratch_by_class[1] = Some(int(6))),
        ),
        (
            "allocatable register in fixed_stack_slots",
            Box::new(|e| e.fixed_stack_slots.push(int(2))),
        ),
        (
            "scratch register in fixed_stack_slots",
            Box::new(|e| e.fixed_stack_slots.push(int(5))),
        ),
        (
            "fixed stack slot listed twice",
            Box::new(|e| e.fixed_stack_slots.push(int(10))),
        ),
        (
            "Int register in the Float list",
            Box::new(|e| e.preferred_regs_by_class[1].add(int(7))),
        ),
        (
            "register both preferred and non-preferred",
            Box::new(|e| e.non_preferred_regs_by_class[0].add(int(0))),
        ),
        (
            "PReg::invalid() allocatable",
            Box::new(|e| e.non_preferred_regs_by_class[0].add(PReg::invalid())),
        ),
        (
            "PReg::invalid() as scratch",
            Box::new(|e| e.scratch_by_class[0] = Some(PReg::invalid())),
        ),
        (
            "PReg::invalid() as fixed stack slot",
            Box::new(|e| e.fixed_stack_slots.push(PReg::invalid())),
        ),
        // Class code 3 (indices 192..256): no class's register, though
        // `PReg::class` reads it as Vector (fuzzed environments had them).
        (
            "class-code-3 register in the Vector list",
            Box::new(|e| e.non_preferred_regs_by_class[2].add(PReg::from_index(248))),
        ),
        (
            "class-code-3 register as Vector scratch",
            Box::new(|e| e.scratch_by_class[2] = Some(PReg::from_index(200))),
        ),
        (
            "class-code-3 register as fixed stack slot",
            Box::new(|e| e.fixed_stack_slots.push(PReg::from_index(255))),
        ),
    ];
    for (name, edit) in &cases {
        let mut env = env();
        edit(&mut env);
        assert_eq!(
            run(&straight(3), &env).unwrap_err(),
            RegAllocError::TooManyLiveRegs,
            "{name}"
        );
    }
    // Legitimate shapes stay accepted: non-allocatable registers named only
    // by fixed constraints, fixed stack slots, no scratch.
    let mut e = env();
    e.scratch_by_class = [None; 3];
    e.fixed_stack_slots.extend([int(11), int(12)]);
    run(&straight(12), &e).expect("valid env");
}

#[test]
fn constraints_no_allocation_can_meet_are_refused() {
    // A use fixed to PReg::invalid() (p63).
    let mut f = straight(3);
    f.insts[3].operands[0] = Operand::reg_fixed_use(v(0), PReg::invalid());
    assert_eq!(
        run(&f, &env()).unwrap_err(),
        RegAllocError::SSA(v(0), Inst::new(3))
    );
    // A def fixed to it.
    let mut f = straight(3);
    f.insts[1].operands[0] = Operand::reg_fixed_def(v(1), PReg::invalid());
    assert_eq!(
        run(&f, &env()).unwrap_err(),
        RegAllocError::SSA(v(1), Inst::new(1))
    );
    // fixed_nonallocatable(p63) stays legal (regalloc2's fuzzing
    // generator uses it).
    let mut f = straight(3);
    f.insts[3]
        .operands
        .push(Operand::fixed_nonallocatable(PReg::invalid()));
    run(&f, &env()).expect("fixed_nonallocatable(p63)");
    // A reuse def whose input is a fixed-register use.
    let mut f = straight(3);
    f.num_vregs = 4;
    f.insts.insert(
        3,
        InstData {
            kind: InstKind::Op,
            operands: vec![
                Operand::reg_fixed_use(v(0), int(1)),
                Operand::reg_reuse_def(v(3), 0),
            ],
            clobbers: PRegSet::empty(),
        },
    );
    f.blocks[0].insts = InstRange::new(Inst::new(0), Inst::new(f.insts.len()));
    assert_eq!(
        run(&f, &env()).unwrap_err(),
        RegAllocError::SSA(v(3), Inst::new(3))
    );
    // A reuse def whose input is a late use (read after the def wrote it).
    f.insts[3].operands[0] = Operand::new(
        v(0),
        regarena::OperandConstraint::Reg,
        regarena::OperandKind::Use,
        regarena::OperandPos::Late,
    );
    assert_eq!(
        run(&f, &env()).unwrap_err(),
        RegAllocError::SSA(v(3), Inst::new(3))
    );
    // The same reuse of a plain use is fine.
    f.insts[3].operands[0] = Operand::reg_use(v(0));
    run(&f, &env()).expect("reuse of a plain use");
    // Fixed-register constraints no allocation can meet.
    let fixed = |ops: Vec<Operand>, clobbers: &[usize]| {
        let mut f = straight(3);
        f.num_vregs = 5;
        f.insts.insert(
            3,
            InstData {
                kind: InstKind::Op,
                operands: ops,
                clobbers: clobbers.iter().map(|&r| int(r)).collect(),
            },
        );
        f.blocks[0].insts = InstRange::new(Inst::new(0), Inst::new(f.insts.len()));
        run(&f, &env())
    };
    let late = |v, r| {
        Operand::new(
            v,
            regarena::OperandConstraint::FixedReg(int(r)),
            regarena::OperandKind::Use,
            regarena::OperandPos::Late,
        )
    };
    let early_def = |v, r| {
        Operand::new(
            v,
            regarena::OperandConstraint::FixedReg(int(r)),
            regarena::OperandKind::Def,
            regarena::OperandPos::Early,
        )
    };
    for (ops, clobbers, bad) in [
        // Two vregs used in one register.
        (
            vec![
                Operand::reg_fixed_use(v(0), int(1)),
                Operand::reg_fixed_use(v(1), int(1)),
            ],
            vec![],
            Some(v(1)),
        ),
        // Two defs in one register.
        (
            vec![
                Operand::reg_fixed_def(v(3), int(1)),
                Operand::reg_fixed_def(v(4), int(1)),
            ],
            vec![],
            Some(v(4)),
        ),
        // A late use and a def, an early use and an early def.
        (
            vec![late(v(0), 1), Operand::reg_fixed_def(v(3), int(1))],
            vec![],
            Some(v(3)),
        ),
        (
            vec![Operand::reg_fixed_use(v(0), int(1)), early_def(v(3), 1)],
            vec![],
            Some(v(3)),
        ),
        // A def in a clobbered register.
        (
            vec![Operand::reg_fixed_def(v(3), int(2))],
            vec![2],
            Some(v(3)),
        ),
        // Fine: an early use and a late def; one vreg used twice; an
        // early use of a clobbered register.
        (
            vec![
                Operand::reg_fixed_use(v(0), int(1)),
                Operand::reg_fixed_def(v(3), int(1)),
            ],
            vec![],
            None,
        ),
        (
            vec![
                Operand::reg_fixed_use(v(0), int(1)),
                Operand::reg_fixed_use(v(0), int(1)),
            ],
            vec![],
            None,
        ),
        (vec![Operand::reg_fixed_use(v(0), int(2))], vec![2], None),
    ] {
        match bad {
            Some(bad) => assert_eq!(
                fixed(ops, &clobbers).unwrap_err(),
                RegAllocError::SSA(bad, Inst::new(3))
            ),
            None => {
                fixed(ops, &clobbers).expect("a meetable fixed constraint");
            }
        }
    }
    // An early reuse def (written before its own input is read).
    f.insts[3].operands[1] = Operand::new(
        v(3),
        regarena::OperandConstraint::Reuse(0),
        regarena::OperandKind::Def,
        regarena::OperandPos::Early,
    );
    assert_eq!(
        run(&f, &env()).unwrap_err(),
        RegAllocError::SSA(v(3), Inst::new(3))
    );
}
