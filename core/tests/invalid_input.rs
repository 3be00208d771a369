//! Malformed functions: each starts from one small valid function and
//! breaks one thing; `regarena::run` must return the exact error (the one
//! regalloc2 0.15.2 returns, where it returns one) and never panic.
//!
//! `cases()` is also used by `tools/tests/suite/gen_valid.rs` (through a `#[path]`
//! module) to compare every case with upstream regalloc2.

#![allow(dead_code)]

use regarena::owned::{BlockData, InstData, InstKind};
use regarena::tables::Arena;
use regarena::{
    Block, FunctionData, Inst, InstRange, MachineEnv, Operand, OperandConstraint, OperandKind,
    OperandPos, PReg, PRegSet, RegAllocError, RegClass, RegallocOptions, VReg,
};

/// What validation must conclude.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expect {
    /// `run` fails with exactly this error.
    Err(RegAllocError),
    /// `cfg::analyze` and `validate` accept the function.
    Accepted,
}

/// One malformed function and the expected outcome with and without
/// `validate_ssa`.
#[derive(Clone, Debug)]
pub struct Case {
    pub name: &'static str,
    pub func: FunctionData,
    pub with_ssa: Expect,
    pub without_ssa: Expect,
}

pub fn v(i: usize) -> VReg {
    VReg::new(i, RegClass::Int)
}
pub fn fv(i: usize) -> VReg {
    VReg::new(i, RegClass::Float)
}
fn b(i: usize) -> Block {
    Block::new(i)
}
fn i(n: usize) -> Inst {
    Inst::new(n)
}

fn op(operands: Vec<Operand>) -> InstData {
    InstData {
        kind: InstKind::Op,
        operands,
        clobbers: PRegSet::empty(),
    }
}
fn term(kind: InstKind, operands: Vec<Operand>) -> InstData {
    InstData {
        kind,
        operands,
        clobbers: PRegSet::empty(),
    }
}
fn block(
    from: usize,
    to: usize,
    succs: &[usize],
    params: Vec<VReg>,
    args: Vec<Vec<VReg>>,
) -> BlockData {
    BlockData {
        insts: InstRange::new(i(from), i(to)),
        succs: succs.iter().map(|&s| b(s)).collect(),
        preds: Vec::new(),
        params,
        branch_args: args,
    }
}

/// The valid base: a diamond with a merge-block param.
///
/// ```text
/// block0: i0 v0 = def; i1 v1 = def; i2 br v0 -> block1, block2
/// block1: i3 v2 = v0 + v1; i4 jump block3(v2)
/// block2: i5 v3 = v1 << v0 (reuse 0, count in rcx); i6 jump block3(v3)
/// block3(v4): i7 v5 = v4 + v0; i8 ret v5 in rax
/// ```
pub fn base() -> FunctionData {
    let rax = PReg::new(0, RegClass::Int);
    let rcx = PReg::new(1, RegClass::Int);
    let insts = vec![
        op(vec![Operand::reg_def(v(0))]),
        op(vec![Operand::reg_def(v(1))]),
        term(InstKind::Branch, vec![Operand::reg_use(v(0))]),
        op(vec![
            Operand::reg_use(v(0)),
            Operand::reg_use(v(1)),
            Operand::reg_def(v(2)),
        ]),
        term(InstKind::Branch, vec![]),
        op(vec![
            Operand::reg_use(v(1)),
            Operand::reg_fixed_use(v(0), rcx),
            Operand::reg_reuse_def(v(3), 0),
        ]),
        term(InstKind::Branch, vec![]),
        op(vec![
            Operand::reg_use(v(4)),
            Operand::reg_use(v(0)),
            Operand::reg_def(v(5)),
        ]),
        term(InstKind::Ret, vec![Operand::reg_fixed_use(v(5), rax)]),
    ];
    let blocks = vec![
        block(0, 3, &[1, 2], vec![], vec![vec![], vec![]]),
        block(3, 5, &[3], vec![], vec![vec![v(2)]]),
        block(5, 7, &[3], vec![], vec![vec![v(3)]]),
        block(7, 9, &[], vec![v(4)], vec![]),
    ];
    let mut f = FunctionData {
        entry: b(0),
        insts,
        blocks,
        num_vregs: 6,
        debug_value_labels: Vec::new(),
        spillslot_sizes: [1, 2, 2],
        multi_spillslot_named_by_last_slot: false,
        allow_multiple_vreg_defs: false,
    };
    f.recompute_preds();
    f
}

/// An x64-like machine: 14 Int registers (RSP and RBP reserved), 16 Float.
pub fn env() -> MachineEnv {
    let int = |r: usize| PReg::new(r, RegClass::Int);
    let float = |r: usize| PReg::new(r, RegClass::Float);
    MachineEnv {
        preferred_regs_by_class: [
            [0, 1, 2, 6, 7, 8, 9, 10, 11].into_iter().map(int).collect(),
            (0..12).map(float).collect(),
            PRegSet::empty(),
        ],
        non_preferred_regs_by_class: [
            [3, 12, 13, 14, 15].into_iter().map(int).collect(),
            (12..16).map(float).collect(),
            PRegSet::empty(),
        ],
        scratch_by_class: [None; 3],
        fixed_stack_slots: Vec::new(),
    }
}

fn with(mut edit: impl FnMut(&mut FunctionData)) -> FunctionData {
    let mut f = base();
    edit(&mut f);
    f
}

fn same(name: &'static str, func: FunctionData, err: RegAllocError) -> Case {
    Case {
        name,
        func,
        with_ssa: Expect::Err(err.clone()),
        without_ssa: Expect::Err(err),
    }
}

fn ssa_or_livein(name: &'static str, func: FunctionData, vreg: VReg, inst: Inst) -> Case {
    Case {
        name,
        func,
        with_ssa: Expect::Err(RegAllocError::SSA(vreg, inst)),
        without_ssa: Expect::Err(RegAllocError::EntryLivein),
    }
}

/// An operand with raw fields, for encodings the constructors refuse.
fn raw_operand(vreg_index: u64, class: u64, kind: u64, constraint: u64) -> Operand {
    Operand::from_bits(vreg_index | class << 32 | kind << 35 | constraint << 36)
}

pub fn cases() -> Vec<Case> {
    use RegAllocError::*;
    let mut cases = vec![
        same("entry out of range", with(|f| f.entry = b(9)), BB(b(9))),
        same("no blocks", with(|f| f.blocks.clear()), BB(b(0))),
        same(
            "succ out of range",
            with(|f| f.blocks[0].succs[1] = b(9)),
            BB(b(9)),
        ),
        same(
            "pred out of range",
            with(|f| f.blocks[3].preds.push(b(9))),
            BB(b(3)),
        ),
        same(
            "empty block",
            with(|f| f.blocks[1].insts = InstRange::new(i(3), i(3))),
            BB(b(1)),
        ),
        same(
            "overlapping block ranges",
            with(|f| f.blocks[2].insts = InstRange::new(i(4), i(7))),
            BB(b(2)),
        ),
        same(
            "gap between blocks",
            with(|f| f.blocks[2].insts = InstRange::new(i(6), i(7))),
            BB(b(2)),
        ),
        same(
            "inst range past the end",
            with(|f| f.blocks[3].insts = InstRange::new(i(7), i(12))),
            BB(b(3)),
        ),
        same(
            "inst range at the index limit",
            with(|f| f.blocks[3].insts = InstRange::new(Inst(u32::MAX - 1), Inst(u32::MAX))),
            BB(b(3)),
        ),
        same(
            "instructions after the last block",
            with(|f| f.insts.push(term(InstKind::Ret, vec![]))),
            BB(b(3)),
        ),
        same(
            "missing terminator",
            with(|f| f.insts[4].kind = InstKind::Op),
            BB(b(1)),
        ),
        same(
            "branch in the middle",
            with(|f| f.insts[3].kind = InstKind::Branch),
            BB(b(1)),
        ),
        same(
            "return in the middle",
            with(|f| f.insts[0].kind = InstKind::Ret),
            BB(b(0)),
        ),
        same(
            "return block with a successor",
            with(|f| {
                f.blocks[3].succs.push(b(1));
                f.recompute_preds();
            }),
            BB(b(3)),
        ),
        same(
            "too few branch args",
            with(|f| f.blocks[1].branch_args[0].clear()),
            Branch(i(4)),
        ),
        same(
            "too many branch args",
            with(|f| f.blocks[2].branch_args[0].push(v(1))),
            Branch(i(6)),
        ),
        same(
            "entry block with params",
            with(|f| {
                f.blocks[0].params.push(v(6));
                f.num_vregs = 7;
            }),
            BB(b(0)),
        ),
        same(
            "pred list missing an edge",
            with(|f| f.blocks[3].preds.truncate(1)),
            BB(b(3)),
        ),
        same(
            "pred list with an extra edge",
            with(|f| f.blocks[1].preds.push(b(0))),
            BB(b(1)),
        ),
        same(
            "unreachable block",
            with(|f| {
                let n = f.insts.len();
                f.insts.push(term(InstKind::Ret, vec![]));
                f.blocks.push(block(n, n + 1, &[], vec![], vec![]));
            }),
            BB(b(4)),
        ),
        same(
            "critical edge",
            with(|f| {
                f.insts[2].operands.clear();
                f.blocks[0].succs.push(b(3));
                f.blocks[0].branch_args.push(vec![v(0)]);
                f.recompute_preds();
            }),
            CritEdge(b(0), b(3)),
        ),
        same(
            "branch operand on an edge into a merge",
            with(|f| {
                f.blocks[0].succs.push(b(3));
                f.blocks[0].branch_args.push(vec![v(0)]);
                f.recompute_preds();
            }),
            DisallowedBranchArg(i(2)),
        ),
        same(
            "jump to a merge with an operand",
            with(|f| f.insts[4].operands.push(Operand::reg_use(v(2)))),
            DisallowedBranchArg(i(4)),
        ),
        same(
            "def of a vreg out of range",
            with(|f| f.insts[0].operands[0] = Operand::reg_def(v(7))),
            SSA(v(7), i(0)),
        ),
        same(
            "use of a vreg out of range",
            with(|f| f.insts[3].operands[1] = Operand::reg_use(v(9))),
            SSA(v(9), i(3)),
        ),
        same(
            "operand vreg index beyond VReg::MAX",
            with(|f| f.insts[3].operands[1] = raw_operand(u32::MAX as u64, 0, 1, 1)),
            SSA(VReg::from_bits(u32::MAX << 2), i(3)),
        ),
        same(
            "block param out of range",
            with(|f| f.blocks[3].params[0] = v(9)),
            SSA(v(9), Inst::invalid()),
        ),
        same(
            "branch arg out of range",
            with(|f| f.blocks[1].branch_args[0][0] = v(9)),
            SSA(v(9), i(4)),
        ),
        same(
            "reuse index out of range",
            with(|f| f.insts[5].operands[2] = Operand::reg_reuse_def(v(3), 5)),
            SSA(v(3), i(5)),
        ),
        same(
            "reuse of a def",
            with(|f| f.insts[5].operands[2] = Operand::reg_reuse_def(v(3), 2)),
            SSA(v(3), i(5)),
        ),
        same(
            "reuse constraint on a use",
            with(|f| {
                f.insts[3].operands[1] = Operand::new(
                    v(1),
                    OperandConstraint::Reuse(0),
                    OperandKind::Use,
                    OperandPos::Early,
                )
            }),
            SSA(v(1), i(3)),
        ),
        same(
            "reuse of an input of another class",
            with(|f| {
                f.insts[1].operands.push(Operand::reg_def(fv(6)));
                f.insts[5].operands[0] = Operand::reg_use(fv(6));
                f.num_vregs = 7;
            }),
            SSA(v(3), i(5)),
        ),
        same(
            "fixed register of an unused class code",
            with(|f| f.insts[5].operands[1] = raw_operand(0, 3, 1, 0b100_0001)),
            SSA(VReg::from_bits(3), i(5)),
        ),
        same(
            "unused constraint code",
            with(|f| f.insts[3].operands[0] = raw_operand(0, 0, 1, 7)),
            SSA(v(0), i(3)),
        ),
        same(
            "limit above the register encoding",
            with(|f| f.insts[3].operands[0] = raw_operand(0, 0, 1, 0b001_0111)),
            SSA(v(0), i(3)),
        ),
        same(
            "reserved vreg index as a def",
            with(|f| f.insts[3].operands[2] = raw_operand(VReg::MAX as u64, 0, 0, 1)),
            SSA(v(VReg::MAX), i(3)),
        ),
        same(
            "one vreg in two classes",
            with(|f| f.insts[7].operands[1] = Operand::reg_use(fv(0))),
            SSA(fv(0), i(7)),
        ),
        same(
            "branch arg of another class than the param",
            with(|f| {
                f.blocks[3].params[0] = fv(4);
                f.insts[7].operands[0] = Operand::reg_use(fv(4));
            }),
            Branch(i(4)),
        ),
        same(
            "vreg defined twice",
            with(|f| f.insts[3].operands.push(Operand::reg_def(v(1)))),
            SSA(v(1), i(3)),
        ),
        same(
            "vreg defined as a param and by an instruction",
            with(|f| f.insts[7].operands.push(Operand::reg_def(v(4)))),
            SSA(v(4), i(7)),
        ),
        same(
            "branch arg not dominated by its def",
            with(|f| f.blocks[1].branch_args[0][0] = v(3)),
            EntryLivein,
        ),
        same(
            "too many operands",
            with(|f| {
                let mut ops = vec![Operand::reg_use(v(0)); 70_000];
                ops.push(Operand::reg_def(v(2)));
                f.insts[3].operands = ops;
            }),
            TooManyOperands,
        ),
        ssa_or_livein(
            "use without a def",
            with(|f| {
                f.insts[3].operands[1] = Operand::reg_use(v(6));
                f.num_vregs = 7;
            }),
            v(6),
            i(3),
        ),
        ssa_or_livein(
            "use in a block the def does not dominate",
            with(|f| f.insts[7].operands[1] = Operand::reg_use(v(2))),
            v(2),
            i(7),
        ),
        ssa_or_livein(
            "use before the def in one block",
            with(|f| f.insts[0].operands.push(Operand::reg_use(v(1)))),
            v(1),
            i(0),
        ),
        ssa_or_livein(
            "use and def in one instruction",
            with(|f| f.insts[3].operands[0] = Operand::reg_use(v(2))),
            v(2),
            i(3),
        ),
    ];
    // Two defs in one instruction: only with `allow_multiple_vreg_defs`
    // and without `validate_ssa` (regalloc2's SSA validator refuses them).
    let double_def = with(|f| {
        f.allow_multiple_vreg_defs = true;
        f.insts[3].operands.push(Operand::reg_def(v(2)));
    });
    cases.push(Case {
        name: "two defs in one instruction, allowed",
        func: double_def,
        with_ssa: Expect::Err(RegAllocError::SSA(v(2), i(3))),
        without_ssa: Expect::Accepted,
    });
    cases.push(same(
        "two defs in one instruction, not allowed",
        with(|f| f.insts[3].operands.push(Operand::reg_def(v(2)))),
        RegAllocError::SSA(v(2), i(3)),
    ));
    cases
}

/// Runs one case in one mode; `Err(message)` describes a mismatch.
pub fn check_case(case: &Case, validate_ssa: bool) -> Result<(), String> {
    let expect = if validate_ssa {
        &case.with_ssa
    } else {
        &case.without_ssa
    };
    match expect {
        Expect::Err(err) => {
            let options = RegallocOptions {
                validate_ssa,
                ..RegallocOptions::default()
            };
            match regarena::run(&case.func, &env(), &options) {
                Err(got) if got == *err => Ok(()),
                Err(got) => Err(format!("expected {err:?}, got {got:?}")),
                Ok(_) => Err(format!("expected {err:?}, got Ok")),
            }
        }
        Expect::Accepted => {
            let arena = Arena::new();
            regarena::cfg::analyze(&case.func, &arena)
                .and_then(|cfg| {
                    regarena::validate::validate(&case.func, &env(), &cfg, validate_ssa, &arena)
                })
                .map_err(|e| format!("expected acceptance, got {e:?}"))
        }
    }
}

#[test]
fn base_function_is_valid() {
    let f = base();
    let arena = Arena::new();
    for validate_ssa in [true, false] {
        let cfg = regarena::cfg::analyze(&f, &arena).unwrap();
        regarena::validate::validate(&f, &env(), &cfg, validate_ssa, &arena).unwrap();
    }
}

#[test]
fn malformed_functions_give_the_expected_error() {
    let cases = cases();
    assert!(cases.len() >= 30, "{} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        for validate_ssa in [true, false] {
            let outcome = std::panic::catch_unwind(|| check_case(case, validate_ssa));
            match outcome {
                Ok(Ok(())) => {}
                Ok(Err(msg)) => failures.push(format!("{} (ssa={validate_ssa}): {msg}", case.name)),
                Err(_) => failures.push(format!("{} (ssa={validate_ssa}): panicked", case.name)),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
