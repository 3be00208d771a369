//! Written against regalloc2 0.15.2's public names, as a backend uses them:
//! if this compiles and runs against `regarena`, a backend can switch by
//! changing its dependency. The `MachineEnv` is built in a `const fn` the
//! way Cranelift's x64 backend builds its System V environment.

use regarena::checker::{Checker, CheckerErrors};
use regarena::{
    Algorithm, Allocation, AllocationKind, Block, Ctx, Edit, Function, Inst, InstOrEdit,
    InstPosition, InstRange, MachineEnv, Operand, OperandConstraint, OperandKind, OperandPos,
    Output, OutputIter, PReg, PRegSet, ProgPoint, RegAllocError, RegClass, RegallocOptions,
    SpillSlot, VReg,
};

// --- A MachineEnv in a const fn, Cranelift x64 style --------------------------

const fn gpr(enc: usize) -> PReg {
    PReg::new(enc, RegClass::Int)
}
const fn xmm(enc: usize) -> PReg {
    PReg::new(enc, RegClass::Float)
}

/// rax=0 rcx=1 rdx=2 rbx=3 rsp=4 rbp=5 rsi=6 rdi=7 r8..r15=8..15.
const fn create_reg_env_systemv(enable_pinned_reg: bool) -> MachineEnv {
    let mut env = MachineEnv {
        preferred_regs_by_class: [
            // Caller-saved registers first: cheap to use.
            PRegSet::empty()
                .with(gpr(6))
                .with(gpr(7))
                .with(gpr(0))
                .with(gpr(1))
                .with(gpr(2))
                .with(gpr(8))
                .with(gpr(9))
                .with(gpr(10))
                .with(gpr(11)),
            PRegSet::empty()
                .with(xmm(0))
                .with(xmm(1))
                .with(xmm(2))
                .with(xmm(3))
                .with(xmm(4))
                .with(xmm(5))
                .with(xmm(6))
                .with(xmm(7)),
            PRegSet::empty(),
        ],
        non_preferred_regs_by_class: [
            PRegSet::empty()
                .with(gpr(3))
                .with(gpr(12))
                .with(gpr(13))
                .with(gpr(14)),
            PRegSet::empty()
                .with(xmm(8))
                .with(xmm(9))
                .with(xmm(10))
                .with(xmm(11))
                .with(xmm(12))
                .with(xmm(13))
                .with(xmm(14))
                .with(xmm(15)),
            PRegSet::empty(),
        ],
        scratch_by_class: [None, None, None],
        fixed_stack_slots: Vec::new(),
    };
    if !enable_pinned_reg {
        env.non_preferred_regs_by_class[0].add(gpr(15));
    }
    env
}

static SYSV_ENV: MachineEnv = create_reg_env_systemv(false);

// --- A small function through the trait ---------------------------------------

/// b0: v0 = def; v1 = def; branch b1(v0)
/// b1(v2): v3 = add v2, v1 (reuse 0); call (clobbers caller-saved) uses v3 in rdi, defs v4 in rax; ret v4
struct Tiny {
    operands: Vec<Vec<Operand>>,
    clobbers: Vec<PRegSet>,
    params: Vec<Vec<VReg>>,
    args: Vec<VReg>,
    succs: Vec<Vec<Block>>,
    preds: Vec<Vec<Block>>,
}

fn v(i: usize) -> VReg {
    VReg::new(i, RegClass::Int)
}

impl Tiny {
    fn new() -> Tiny {
        let mut call_clobbers = PRegSet::empty();
        for enc in [1, 2, 6, 7, 8, 9, 10, 11] {
            call_clobbers.add(gpr(enc));
        }
        Tiny {
            operands: vec![
                vec![Operand::reg_def(v(0))],
                vec![Operand::any_def(v(1))],
                vec![],
                vec![
                    Operand::reg_use(v(2)),
                    Operand::reg_use(v(1)),
                    Operand::reg_reuse_def(v(3), 0),
                ],
                vec![
                    Operand::reg_fixed_use(v(3), gpr(7)),
                    Operand::reg_fixed_def(v(4), gpr(0)),
                    Operand::fixed_nonallocatable(gpr(4)),
                ],
                vec![Operand::reg_fixed_use(v(4), gpr(0))],
            ],
            clobbers: vec![
                PRegSet::empty(),
                PRegSet::empty(),
                PRegSet::empty(),
                PRegSet::empty(),
                call_clobbers,
                PRegSet::empty(),
            ],
            params: vec![vec![], vec![v(2)]],
            args: vec![v(0)],
            succs: vec![vec![Block::new(1)], vec![]],
            preds: vec![vec![], vec![Block::new(0)]],
        }
    }
}

impl Function for Tiny {
    fn num_insts(&self) -> usize {
        6
    }
    fn num_blocks(&self) -> usize {
        2
    }
    fn entry_block(&self) -> Block {
        Block::new(0)
    }
    fn block_insns(&self, block: Block) -> InstRange {
        match block.index() {
            0 => InstRange::new(Inst::new(0), Inst::new(3)),
            _ => InstRange::new(Inst::new(3), Inst::new(6)),
        }
    }
    fn block_succs(&self, block: Block) -> &[Block] {
        &self.succs[block.index()]
    }
    fn block_preds(&self, block: Block) -> &[Block] {
        &self.preds[block.index()]
    }
    fn block_params(&self, block: Block) -> &[VReg] {
        &self.params[block.index()]
    }
    fn is_ret(&self, insn: Inst) -> bool {
        insn.index() == 5
    }
    fn is_branch(&self, insn: Inst) -> bool {
        insn.index() == 2
    }
    fn branch_blockparams(&self, _block: Block, _insn: Inst, _succ_idx: usize) -> &[VReg] {
        &self.args
    }
    fn inst_operands(&self, insn: Inst) -> &[Operand] {
        &self.operands[insn.index()]
    }
    fn inst_clobbers(&self, insn: Inst) -> PRegSet {
        self.clobbers[insn.index()]
    }
    fn num_vregs(&self) -> usize {
        5
    }
    fn spillslot_size(&self, regclass: RegClass) -> usize {
        match regclass {
            RegClass::Int | RegClass::Float => 1,
            RegClass::Vector => 2,
        }
    }
}

#[test]
fn const_env_is_what_cranelift_builds() {
    let env = &SYSV_ENV;
    assert_eq!(env.preferred_regs_by_class[0].len(), 9);
    assert!(env.non_preferred_regs_by_class[0].contains(gpr(15)));
    assert!(
        !PRegSet::from(env).contains(gpr(4)),
        "rsp is never allocatable"
    );
    let ints: Vec<PReg> = env.preferred_regs_by_class[0].into_iter().collect();
    assert_eq!(ints[0], gpr(0), "iteration is in index order");
    assert_eq!(format!("{}", gpr(3)), "p3i");
}

#[test]
fn every_operand_constructor_round_trips() {
    let x = v(7);
    let p = gpr(2);
    let cases: Vec<(Operand, OperandConstraint, OperandKind, OperandPos)> = vec![
        (
            Operand::reg_use(x),
            OperandConstraint::Reg,
            OperandKind::Use,
            OperandPos::Early,
        ),
        (
            Operand::reg_use_at_end(x),
            OperandConstraint::Reg,
            OperandKind::Use,
            OperandPos::Late,
        ),
        (
            Operand::reg_def(x),
            OperandConstraint::Reg,
            OperandKind::Def,
            OperandPos::Late,
        ),
        (
            Operand::reg_def_at_start(x),
            OperandConstraint::Reg,
            OperandKind::Def,
            OperandPos::Early,
        ),
        (
            Operand::reg_temp(x),
            OperandConstraint::Reg,
            OperandKind::Def,
            OperandPos::Early,
        ),
        (
            Operand::reg_reuse_def(x, 3),
            OperandConstraint::Reuse(3),
            OperandKind::Def,
            OperandPos::Late,
        ),
        (
            Operand::reg_fixed_use(x, p),
            OperandConstraint::FixedReg(p),
            OperandKind::Use,
            OperandPos::Early,
        ),
        (
            Operand::reg_fixed_def(x, p),
            OperandConstraint::FixedReg(p),
            OperandKind::Def,
            OperandPos::Late,
        ),
        (
            Operand::reg_fixed_use_at_end(x, p),
            OperandConstraint::FixedReg(p),
            OperandKind::Use,
            OperandPos::Late,
        ),
        (
            Operand::reg_fixed_def_at_start(x, p),
            OperandConstraint::FixedReg(p),
            OperandKind::Def,
            OperandPos::Early,
        ),
        (
            Operand::any_use(x),
            OperandConstraint::Any,
            OperandKind::Use,
            OperandPos::Early,
        ),
        (
            Operand::any_def(x),
            OperandConstraint::Any,
            OperandKind::Def,
            OperandPos::Late,
        ),
        (
            Operand::new(
                x,
                OperandConstraint::Stack,
                OperandKind::Use,
                OperandPos::Early,
            ),
            OperandConstraint::Stack,
            OperandKind::Use,
            OperandPos::Early,
        ),
        (
            Operand::new(
                x,
                OperandConstraint::Limit(8),
                OperandKind::Use,
                OperandPos::Early,
            ),
            OperandConstraint::Limit(8),
            OperandKind::Use,
            OperandPos::Early,
        ),
    ];
    for (op, constraint, kind, pos) in cases {
        assert_eq!(op.vreg(), x);
        assert_eq!(op.class(), RegClass::Int);
        assert_eq!(
            (op.constraint(), op.kind(), op.pos()),
            (constraint, kind, pos),
            "{op}"
        );
        assert_eq!(Operand::from_bits(op.bits()), op);
        assert_eq!(op.as_fixed_nonallocatable(), None);
    }
    let fixed = Operand::fixed_nonallocatable(gpr(4));
    assert_eq!(fixed.as_fixed_nonallocatable(), Some(gpr(4)));
    assert_eq!(fixed.vreg().vreg(), VReg::MAX);
}

#[test]
fn allocation_and_progpoint_api() {
    let r = Allocation::reg(gpr(5));
    let s = Allocation::stack(SpillSlot::new(9));
    assert_eq!(
        (r.kind(), s.kind()),
        (AllocationKind::Reg, AllocationKind::Stack)
    );
    assert_eq!(r.as_reg(), Some(gpr(5)));
    assert_eq!(s.as_stack().map(SpillSlot::index), Some(9));
    assert!(Allocation::none().is_none());
    assert_eq!(Allocation::from_bits(s.bits()), s);
    let before = ProgPoint::before(Inst::new(4));
    assert_eq!(before.next(), ProgPoint::after(Inst::new(4)));
    assert_eq!(before.next().pos(), InstPosition::After);
    assert_eq!(ProgPoint::from_index(before.to_index()), before);
    assert!(ProgPoint::invalid().inst().is_invalid());
    assert_eq!(SpillSlot::new(3).plus(2).index(), 5);
}

#[test]
fn run_run_with_ctx_output_and_checker() {
    let func = Tiny::new();
    let opts = RegallocOptions {
        verbose_log: false,
        validate_ssa: true,
        algorithm: Algorithm::Ion,
    };
    let out: Output = regarena::run(&func, &SYSV_ENV, &opts).expect("allocates");

    // Operand constraints as a backend relies on them.
    assert_eq!(out.inst_allocs(Inst::new(4))[0], Allocation::reg(gpr(7)));
    assert_eq!(out.inst_allocs(Inst::new(4))[1], Allocation::reg(gpr(0)));
    assert_eq!(out.inst_allocs(Inst::new(4))[2], Allocation::reg(gpr(4)));
    let add = out.inst_allocs(Inst::new(3));
    assert_eq!(add[0], add[2], "reuse def shares its input's allocation");

    // Walking a block's instructions and edits in order.
    let mut seen_insts = 0;
    for block in 0..func.num_blocks() {
        let iter: OutputIter<'_> = out.block_insts_and_edits(&func, Block::new(block));
        for item in iter {
            match item {
                InstOrEdit::Inst(_) => seen_insts += 1,
                InstOrEdit::Edit(Edit::Move { from, to }) => assert_ne!(from, to),
            }
        }
    }
    assert_eq!(seen_insts, 6);

    let mut checker = Checker::new(&func, &SYSV_ENV);
    checker.prepare(&out);
    let verdict: Result<(), CheckerErrors> = checker.run();
    assert!(verdict.is_ok(), "{verdict:?}");

    // A reused context gives the same output.
    let mut ctx = Ctx::default();
    for _ in 0..2 {
        let again = regarena::run_with_ctx(&func, &SYSV_ENV, &opts, &mut ctx).expect("allocates");
        assert_eq!(again.allocs, out.allocs);
        assert_eq!(again.edits, out.edits);
    }
    let taken = std::mem::take(&mut ctx.output);
    assert_eq!(taken.inst_alloc_offsets, out.inst_alloc_offsets);
}

#[test]
fn errors_are_the_upstream_variants() {
    let err: RegAllocError = RegAllocError::CritEdge(Block::new(0), Block::new(1));
    let all = [
        err,
        RegAllocError::SSA(v(0), Inst::invalid()),
        RegAllocError::BB(Block::new(2)),
        RegAllocError::Branch(Inst::new(1)),
        RegAllocError::EntryLivein,
        RegAllocError::DisallowedBranchArg(Inst::new(1)),
        RegAllocError::TooManyLiveRegs,
        RegAllocError::TooManyOperands,
    ];
    let shown: Vec<String> = all.iter().map(|e| e.to_string()).collect();
    assert_eq!(shown[4], "EntryLivein");
    let _: &dyn std::error::Error = &all[0];
}
