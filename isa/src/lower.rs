//! Lowering the IR to [`VCode`]: one vreg per IR value, one VCode block per
//! IR block plus one edge block per conditional-branch successor (so no
//! edge is critical and a conditional branch never carries block args),
//! and ISA-independent machine instructions ([`MInst`]) whose register
//! constraints each backend states through [`Backend::collect_operands`].
//!
//! Reads an [`ir::IrFunc`]; writes a fresh `VCode<MInst>`. Unreachable IR
//! blocks are dropped (regalloc2's contract wants every block reachable).

use crate::ir::{self, Arg, BinOp, CmpOp, IrFunc, IrInst, ShiftOp, Terminator};
use crate::machinst::vcode::{InstRole, VCodeError};
use crate::machinst::{MachBuffer, OperandCollector, Reg, VCode, VCodeBuilder, Writable};
use regarena::{Block, MachineEnv, Output, PReg, PRegSet, RegClass, VReg};

/// A machine instruction before ISA selection of opcodes: every backend
/// emits each variant in its own way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MInst {
    /// Defines the function's params in the argument registers; no code.
    Args { dsts: Vec<Writable<Reg>> },
    /// `dst = value`.
    Imm { dst: Writable<Reg>, value: i64 },
    /// `dst = lhs op rhs`.
    Alu {
        op: BinOp,
        dst: Writable<Reg>,
        lhs: Reg,
        rhs: Reg,
    },
    /// `dst = lhs op imm`; only built when [`Backend::alu_imm_ok`].
    AluImm {
        op: BinOp,
        dst: Writable<Reg>,
        lhs: Reg,
        imm: i64,
    },
    /// `dst = src shift amount`.
    Shift {
        op: ShiftOp,
        dst: Writable<Reg>,
        src: Reg,
        amount: u8,
    },
    /// `dst = (lhs op rhs) ? 1 : 0`.
    Cmp {
        op: CmpOp,
        dst: Writable<Reg>,
        lhs: Reg,
        rhs: Reg,
    },
    /// Compare and branch to `taken` or `not_taken` (both edge blocks).
    CondBr {
        op: CmpOp,
        lhs: Reg,
        rhs: Reg,
        taken: Block,
        not_taken: Block,
    },
    /// Unconditional jump (block args live in the VCode's branch args).
    Jump { target: Block },
    /// Call function `callee` of the module; args and result in the ABI's
    /// registers.
    Call {
        callee: usize,
        args: Vec<Reg>,
        ret: Writable<Reg>,
    },
    /// Return `value` in the ABI's return register.
    Ret { value: Reg },
}

/// What lowering, allocation and emission need from an ISA.
pub trait Backend {
    /// Short name (`x64`, `aarch64`).
    fn name(&self) -> &'static str;
    fn machine_env(&self) -> &MachineEnv;
    /// Integer argument registers, in order.
    fn arg_regs(&self) -> &'static [PReg];
    fn ret_reg(&self) -> PReg;
    /// What a call clobbers (return register excluded).
    fn call_clobbers(&self) -> PRegSet;
    /// Whether `lhs op imm` has an immediate form.
    fn alu_imm_ok(&self, op: BinOp, imm: i64) -> bool;
    /// States `inst`'s register operands and their constraints.
    fn collect_operands(&self, inst: &MInst, c: &mut OperandCollector<'_>);
    /// Emits one allocated function into `buf` at its label.
    fn emit_function(
        &self,
        code: &VCode<MInst>,
        out: &Output,
        func_labels: &[crate::machinst::MachLabel],
        buf: &mut MachBuffer,
    ) -> Result<(), EmitError>;
}

/// Why emission of allocated code failed: what [`Backend::emit_function`]
/// returns (`emit` re-exports it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EmitError {
    /// An operand's allocation is not what its constraint demanded (a
    /// register where one is required, the same register for a reuse).
    BadAllocation(String),
    /// The frame or an offset exceeds what the encodings reach.
    FrameTooLarge(usize),
}

impl core::fmt::Display for EmitError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            EmitError::BadAllocation(m) => write!(f, "unexpected allocation: {m}"),
            EmitError::FrameTooLarge(n) => write!(f, "frame of {n} spill slots is too large"),
        }
    }
}

/// Why lowering failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LowerError {
    TooManyArgs(String),
    /// A call or branch names nothing, or passes the wrong count; or a
    /// value is out of range.
    BadCall(String),
    VCode(VCodeError),
}

impl core::fmt::Display for LowerError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            LowerError::TooManyArgs(m) | LowerError::BadCall(m) => write!(f, "{m}"),
            LowerError::VCode(e) => write!(f, "malformed lowered code: {e}"),
        }
    }
}

fn reachable_blocks(func: &IrFunc) -> Vec<bool> {
    let mut seen = vec![false; func.blocks.len()];
    let mut stack = vec![0usize];
    while let Some(b) = stack.pop() {
        if std::mem::replace(&mut seen[b], true) {
            continue;
        }
        match &func.blocks[b].term {
            Terminator::Jump(to) => stack.push(to.block),
            Terminator::BrIf {
                then_to, else_to, ..
            } => stack.extend([then_to.block, else_to.block]),
            Terminator::Ret(_) => {}
        }
    }
    seen
}

/// Checks what lowering indexes by: every call names a function of
/// `module` with the right number of arguments, every branch a non-entry
/// block of its function with the right number of args, every value is in
/// range. The parser guarantees all of it for text; modules built in code
/// may not.
pub fn check_module(module: &ir::Module) -> Result<(), (String, LowerError)> {
    for func in &module.funcs {
        let bad = |m: String| Err((func.name.clone(), LowerError::BadCall(m)));
        if func.blocks.is_empty() {
            return bad("no blocks".into());
        }
        let nvalues = func.num_values() as u32;
        for block in &func.blocks {
            let mut targets = Vec::new();
            let mut values: Vec<ir::Value> = block.params.clone();
            match &block.term {
                Terminator::Jump(to) => targets.push(to),
                Terminator::BrIf {
                    lhs,
                    then_to,
                    else_to,
                    ..
                } => {
                    values.push(*lhs);
                    targets.extend([then_to, else_to]);
                }
                Terminator::Ret(v) => values.push(*v),
            }
            for to in targets {
                let arity = func.blocks.get(to.block).map(|b| b.params.len());
                if to.block == 0 || arity != Some(to.args.len()) {
                    return bad(format!(
                        "branch to block #{} with {} args",
                        to.block,
                        to.args.len()
                    ));
                }
                values.extend(&to.args);
            }
            for inst in &block.insts {
                match inst {
                    IrInst::Const { dst, .. } => values.push(*dst),
                    IrInst::Bin { dst, lhs, .. } | IrInst::Cmp { dst, lhs, .. } => {
                        values.extend([*dst, *lhs])
                    }
                    IrInst::Shift { dst, src, .. } => values.extend([*dst, *src]),
                    IrInst::Call { dst, args, .. } => {
                        values.push(*dst);
                        values.extend(args);
                    }
                }
                if let IrInst::Bin {
                    rhs: Arg::Val(v), ..
                }
                | IrInst::Cmp {
                    rhs: Arg::Val(v), ..
                } = inst
                {
                    values.push(*v);
                }
            }
            if values.iter().any(|v| v.0 >= nvalues) {
                return bad("a value out of range".into());
            }
        }
        for inst in func.blocks.iter().flat_map(|b| &b.insts) {
            if let IrInst::Call { callee, args, .. } = inst {
                let arity = module.funcs.get(*callee).map(|c| c.params().len());
                if arity != Some(args.len()) {
                    let m = format!("call to function #{callee} with {} args", args.len());
                    return Err((func.name.clone(), LowerError::BadCall(m)));
                }
            }
        }
    }
    Ok(())
}

/// Lowers one IR function for `backend`.
pub fn lower_function(backend: &dyn Backend, func: &IrFunc) -> Result<VCode<MInst>, LowerError> {
    let nargs = backend.arg_regs().len();
    if func.params().len() > nargs {
        return Err(LowerError::TooManyArgs(format!(
            "`{}` takes {} params; {} has {nargs} argument registers",
            func.name,
            func.params().len(),
            backend.name()
        )));
    }
    let too_many_call_args = func.blocks.iter().flat_map(|b| &b.insts).any(|i| match i {
        IrInst::Call { args, .. } => args.len() > nargs,
        _ => false,
    });
    if too_many_call_args {
        return Err(LowerError::TooManyArgs(format!(
            "`{}` makes a call with more than the {nargs} argument registers of {}",
            func.name,
            backend.name()
        )));
    }
    let reachable = reachable_blocks(func);
    // VCode block numbers: reachable IR blocks first, in order; edge blocks
    // are numbered after them as they are created.
    let mut block_of = vec![usize::MAX; func.blocks.len()];
    let mut order = Vec::new();
    for (b, &r) in reachable.iter().enumerate() {
        if r {
            block_of[b] = order.len();
            order.push(b);
        }
    }
    let mut next_edge_block = order.len();
    let mut next_vreg = func.num_values();
    let vreg = |v: ir::Value| Reg::virt(v.0 as usize, RegClass::Int);
    let vr = |v: ir::Value| VReg::new(v.0 as usize, RegClass::Int);

    let mut b = VCodeBuilder::<MInst>::default();
    // Edge blocks are built after the main blocks: (target block, args).
    let mut edges: Vec<(usize, Vec<VReg>)> = Vec::new();
    let push = |b: &mut VCodeBuilder<MInst>, inst: MInst, role: InstRole, clobbers: PRegSet| {
        b.push(inst, role, clobbers, |i, c| backend.collect_operands(i, c));
    };
    for &ir_block in &order {
        let block = &func.blocks[ir_block];
        b.start_block(if ir_block == 0 {
            Vec::new()
        } else {
            block.params.iter().map(|&v| vr(v)).collect()
        });
        if ir_block == 0 {
            let dsts = func
                .params()
                .iter()
                .map(|&p| Writable::from_reg(vreg(p)))
                .collect();
            push(&mut b, MInst::Args { dsts }, InstRole::Op, PRegSet::empty());
        }
        let mut materialize = |b: &mut VCodeBuilder<MInst>, arg: Arg| -> Reg {
            match arg {
                Arg::Val(v) => vreg(v),
                Arg::Imm(value) => {
                    let r = Reg::virt(next_vreg, RegClass::Int);
                    next_vreg += 1;
                    push(
                        b,
                        MInst::Imm {
                            dst: Writable::from_reg(r),
                            value,
                        },
                        InstRole::Op,
                        PRegSet::empty(),
                    );
                    r
                }
            }
        };
        for inst in &block.insts {
            let m = match inst {
                IrInst::Const { dst, value } => MInst::Imm {
                    dst: Writable::from_reg(vreg(*dst)),
                    value: *value,
                },
                IrInst::Bin { op, dst, lhs, rhs } => match rhs {
                    Arg::Imm(imm) if backend.alu_imm_ok(*op, *imm) => MInst::AluImm {
                        op: *op,
                        dst: Writable::from_reg(vreg(*dst)),
                        lhs: vreg(*lhs),
                        imm: *imm,
                    },
                    _ => MInst::Alu {
                        op: *op,
                        dst: Writable::from_reg(vreg(*dst)),
                        lhs: vreg(*lhs),
                        rhs: materialize(&mut b, *rhs),
                    },
                },
                IrInst::Shift {
                    op,
                    dst,
                    src,
                    amount,
                } => MInst::Shift {
                    op: *op,
                    dst: Writable::from_reg(vreg(*dst)),
                    src: vreg(*src),
                    amount: *amount,
                },
                IrInst::Cmp { op, dst, lhs, rhs } => MInst::Cmp {
                    op: *op,
                    dst: Writable::from_reg(vreg(*dst)),
                    lhs: vreg(*lhs),
                    rhs: materialize(&mut b, *rhs),
                },
                IrInst::Call { dst, callee, args } => {
                    let m = MInst::Call {
                        callee: *callee,
                        args: args.iter().map(|&a| vreg(a)).collect(),
                        ret: Writable::from_reg(vreg(*dst)),
                    };
                    push(&mut b, m, InstRole::Op, backend.call_clobbers());
                    continue;
                }
            };
            push(&mut b, m, InstRole::Op, PRegSet::empty());
        }
        match &block.term {
            Terminator::Ret(v) => {
                push(
                    &mut b,
                    MInst::Ret { value: vreg(*v) },
                    InstRole::Ret,
                    PRegSet::empty(),
                );
                b.end_block(vec![], vec![]);
            }
            Terminator::Jump(to) => {
                let target = Block::new(block_of[to.block]);
                push(
                    &mut b,
                    MInst::Jump { target },
                    InstRole::Branch,
                    PRegSet::empty(),
                );
                b.end_block(vec![target], vec![to.args.iter().map(|&a| vr(a)).collect()]);
            }
            Terminator::BrIf {
                op,
                lhs,
                rhs,
                then_to,
                else_to,
            } => {
                let rhs = materialize(&mut b, *rhs);
                let mut edge = |to: &ir::BlockCall| {
                    edges.push((block_of[to.block], to.args.iter().map(|&a| vr(a)).collect()));
                    next_edge_block += 1;
                    Block::new(next_edge_block - 1)
                };
                let taken = edge(then_to);
                let not_taken = edge(else_to);
                let m = MInst::CondBr {
                    op: *op,
                    lhs: vreg(*lhs),
                    rhs,
                    taken,
                    not_taken,
                };
                push(&mut b, m, InstRole::Branch, PRegSet::empty());
                b.end_block(vec![taken, not_taken], vec![vec![], vec![]]);
            }
        }
    }
    for (target, args) in edges {
        b.start_block(Vec::new());
        let target = Block::new(target);
        push(
            &mut b,
            MInst::Jump { target },
            InstRole::Branch,
            PRegSet::empty(),
        );
        b.end_block(vec![target], vec![args]);
    }
    b.set_num_vregs(next_vreg);
    b.finish().map_err(LowerError::VCode)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aarch64::emit::Aarch64;
    use crate::ir::gen;
    use crate::x64::emit::X64;
    use regarena::{Function, Inst, OperandConstraint, OperandKind};

    /// The contract regalloc2 states for its input, checked on lowered
    /// generated programs: no critical edges, args match params, SSA
    /// (every vreg defined once, by an operand or as a block param),
    /// conditional branches without block args, reuse operands pointing
    /// at a use.
    fn check_contract(code: &VCode<MInst>) {
        let mut defined = vec![0u32; code.num_vregs()];
        for b in 0..code.num_blocks() {
            let block = Block::new(b);
            let succs = code.block_succs(block);
            for (i, &s) in succs.iter().enumerate() {
                if succs.len() > 1 {
                    assert_eq!(code.block_preds(s).len(), 1, "critical edge {b} -> {s:?}");
                }
                let last = code.block_insns(block).last();
                assert_eq!(
                    code.branch_blockparams(block, last, i).len(),
                    code.block_params(s).len()
                );
                if succs.len() > 1 {
                    assert!(code.branch_blockparams(block, last, i).is_empty());
                }
            }
            for &p in code.block_params(block) {
                defined[p.vreg()] += 1;
            }
        }
        for i in 0..code.num_insts() {
            let ops = code.inst_operands(Inst::new(i));
            for op in ops {
                if op.kind() == OperandKind::Def {
                    defined[op.vreg().vreg()] += 1;
                }
                if let OperandConstraint::Reuse(idx) = op.constraint() {
                    assert_eq!(ops[idx].kind(), OperandKind::Use);
                }
            }
        }
        assert!(defined.iter().all(|&d| d <= 1), "a vreg is defined twice");
    }

    #[test]
    fn lowered_programs_meet_the_allocator_contract() {
        let backends: [&dyn Backend; 2] = [&X64::default(), &Aarch64::default()];
        for seed in 0..100 {
            let module = crate::ir::parse(&gen::program(seed).text).unwrap();
            for backend in backends {
                for func in &module.funcs {
                    check_contract(&lower_function(backend, func).unwrap());
                }
            }
        }
    }

    #[test]
    fn call_clobbers_exclude_the_result_register() {
        let backends: [&dyn Backend; 2] = [&X64::default(), &Aarch64::default()];
        for backend in backends {
            let module = crate::ir::parse("fn g(a) {\nentry:\n    ret a\n}\nfn f(x) {\nentry:\n    y = call g(x)\n    ret y\n}\n").unwrap();
            let code = lower_function(backend, &module.funcs[1]).unwrap();
            let call = (0..code.num_insts())
                .map(Inst::new)
                .find(|&i| !code.inst_clobbers(i).is_empty(RegClass::Int))
                .unwrap();
            assert!(!code.inst_clobbers(call).contains(backend.ret_reg()));
            let fixed_def = code
                .inst_operands(call)
                .iter()
                .find(|o| o.kind() == OperandKind::Def)
                .unwrap();
            assert_eq!(
                fixed_def.constraint(),
                OperandConstraint::FixedReg(backend.ret_reg())
            );
        }
    }

    #[test]
    fn malformed_modules_are_refused_not_indexed() {
        let good = crate::ir::parse("fn f(a) {\nentry:\n    b = add a, 1\n    ret b\n}\n").unwrap();
        assert!(check_module(&good).is_ok());
        let mut bad = good.clone();
        bad.funcs[0].blocks[0].insts.push(IrInst::Call {
            dst: ir::Value(1),
            callee: 9,
            args: vec![],
        });
        assert!(check_module(&bad).is_err());
        let mut bad = good.clone();
        bad.funcs[0].blocks[0].term = Terminator::Ret(ir::Value(99));
        assert!(check_module(&bad).is_err());
        let mut bad = good;
        bad.funcs[0].blocks[0].term = Terminator::Jump(ir::BlockCall {
            block: 3,
            args: vec![],
        });
        assert!(crate::emit::compile_module(&X64::default(), &bad).is_err());
    }

    #[test]
    fn unreachable_blocks_are_dropped() {
        let m = crate::ir::parse("fn f(a) {\nentry:\n    ret a\ndead():\n    jump dead()\n}\n")
            .unwrap();
        assert_eq!(
            lower_function(&X64::default(), &m.funcs[0])
                .unwrap()
                .num_blocks(),
            1
        );
    }
}
