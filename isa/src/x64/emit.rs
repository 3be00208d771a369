//! x64 backend: operand constraints of each [`MInst`] (two-address ALU ops
//! reuse their left input; calls and returns use the System V registers)
//! and emission of allocated code, edits included, with a frame.
//!
//! Reads a `VCode<MInst>` and regarena's `Output`; writes bytes into a
//! `MachBuffer`.
//!
//! Frame layout (rbp-based, so spill-slot addresses never depend on pushes):
//! `[rbp+8]` return address, `[rbp]` caller's rbp, then the callee-saved
//! registers the allocation used (`k` of them), then spill slot `i` at
//! `[rbp - 8k - 8(i+1)]`; rsp is kept 16-byte aligned at calls.

use super::encode::{self as enc, AluOp, Cond, Mem, ShiftOp as XShift, Size};
use super::{ARG_REGS, CALLEE_SAVED, RAX, RBP, RET_REG, RSP};
use crate::emit::{alloc_reg, jump_threads, used_regs_among, EmitError};
use crate::ir::{BinOp, CmpOp, ShiftOp};
use crate::lower::{Backend, MInst};
use crate::machinst::{MachBuffer, MachLabel, OperandCollector, VCode};
use regarena::{
    Allocation, Block, Edit, Function, InstOrEdit, MachineEnv, Output, PReg, PRegSet, RegClass,
};

/// The x64 System V backend.
pub struct X64 {
    env: MachineEnv,
}

impl Default for X64 {
    fn default() -> Self {
        X64 {
            env: super::machine_env(),
        }
    }
}

fn cond(op: CmpOp) -> Cond {
    match op {
        CmpOp::Eq => Cond::E,
        CmpOp::Ne => Cond::NE,
        CmpOp::Lt => Cond::L,
        CmpOp::Le => Cond::LE,
        CmpOp::Gt => Cond::G,
        CmpOp::Ge => Cond::GE,
    }
}

fn hw(r: PReg) -> u8 {
    r.hw_enc() as u8
}

/// The frame of one function.
struct Frame {
    saved: Vec<PReg>,
    /// Bytes subtracted from rsp after the pushes (slots + alignment pad).
    stack_bytes: i32,
}

impl Frame {
    fn slot(&self, slot: usize) -> Mem {
        Mem {
            base: hw(RBP),
            disp: -(8 * self.saved.len() as i32) - 8 * (slot as i32 + 1),
        }
    }
}

fn emit_move(
    buf: &mut MachBuffer,
    frame: &Frame,
    from: Allocation,
    to: Allocation,
) -> Result<(), EmitError> {
    match (from.as_reg(), from.as_stack(), to.as_reg(), to.as_stack()) {
        (Some(f), _, Some(t), _) if f == t => {}
        (Some(f), _, Some(t), _) => match f.class() {
            RegClass::Int => enc::mov_rr(buf, Size::S64, hw(t), hw(f)),
            _ => enc::movaps_rr(buf, hw(t), hw(f)),
        },
        (Some(f), _, _, Some(t)) => match f.class() {
            RegClass::Int => enc::store(buf, Size::S64, frame.slot(t.index()), hw(f)),
            _ => enc::movsd_store(buf, frame.slot(t.index()), hw(f)),
        },
        (_, Some(f), Some(t), _) => match t.class() {
            RegClass::Int => enc::load(buf, Size::S64, hw(t), frame.slot(f.index())),
            _ => enc::movsd_load(buf, hw(t), frame.slot(f.index())),
        },
        // regarena does not emit stack-to-stack moves (it goes through its
        // scratch register), but a memory-to-memory push/pop pair handles
        // one without touching any register should it appear.
        (_, Some(f), _, Some(t)) => {
            if f != t {
                enc::push_mem(buf, frame.slot(f.index()));
                enc::pop_mem(buf, frame.slot(t.index()));
            }
        }
        _ => return Err(EmitError::BadAllocation(format!("move {from} -> {to}"))),
    }
    Ok(())
}

fn same(a: PReg, b: PReg, what: &str) -> Result<(), EmitError> {
    if a == b {
        Ok(())
    } else {
        Err(EmitError::BadAllocation(format!(
            "{what}: reused input {a} differs from output {b}"
        )))
    }
}

impl Backend for X64 {
    fn name(&self) -> &'static str {
        "x64"
    }
    fn machine_env(&self) -> &MachineEnv {
        &self.env
    }
    fn arg_regs(&self) -> &'static [PReg] {
        &ARG_REGS
    }
    fn ret_reg(&self) -> PReg {
        RET_REG
    }
    fn call_clobbers(&self) -> PRegSet {
        super::call_clobbers(&[RET_REG])
    }
    fn alu_imm_ok(&self, _op: BinOp, imm: i64) -> bool {
        i32::try_from(imm).is_ok()
    }

    fn collect_operands(&self, inst: &MInst, c: &mut OperandCollector<'_>) {
        match inst {
            MInst::Args { dsts } => {
                for (d, r) in dsts.iter().zip(ARG_REGS) {
                    c.reg_fixed_def(*d, r);
                }
            }
            MInst::Imm { dst, .. } => c.reg_def(*dst),
            MInst::Alu { dst, lhs, rhs, .. } | MInst::Cmp { dst, lhs, rhs, .. } => {
                c.reg_use(*lhs);
                c.reg_use(*rhs);
                if matches!(inst, MInst::Alu { .. }) {
                    c.reg_reuse_def(*dst, 0);
                } else {
                    c.reg_def(*dst);
                }
            }
            MInst::AluImm { op, dst, lhs, .. } => {
                c.reg_use(*lhs);
                if *op == BinOp::Mul {
                    // imul has a three-operand immediate form.
                    c.reg_def(*dst);
                } else {
                    c.reg_reuse_def(*dst, 0);
                }
            }
            MInst::Shift { dst, src, .. } => {
                c.reg_use(*src);
                c.reg_reuse_def(*dst, 0);
            }
            MInst::CondBr { lhs, rhs, .. } => {
                c.reg_use(*lhs);
                c.reg_use(*rhs);
            }
            MInst::Jump { .. } => {}
            MInst::Call { args, ret, .. } => {
                for (a, r) in args.iter().zip(ARG_REGS) {
                    c.reg_fixed_use(*a, r);
                }
                c.reg_fixed_def(*ret, RAX);
            }
            MInst::Ret { value } => c.reg_fixed_use(*value, RAX),
        }
    }

    fn emit_function(
        &self,
        code: &VCode<MInst>,
        out: &Output,
        func_labels: &[MachLabel],
        buf: &mut MachBuffer,
    ) -> Result<(), EmitError> {
        let saved = used_regs_among(out, CALLEE_SAVED.iter().copied().collect());
        if out.num_spillslots > (1 << 24) {
            return Err(EmitError::FrameTooLarge(out.num_spillslots));
        }
        let mut stack_bytes = 8 * out.num_spillslots as i32;
        // After `push rbp` rsp is 16-aligned; keep it so after the saves.
        if (8 * saved.len() as i32 + stack_bytes) % 16 != 0 {
            stack_bytes += 8;
        }
        let frame = Frame { saved, stack_bytes };

        enc::push(buf, hw(RBP));
        enc::mov_rr(buf, Size::S64, hw(RBP), hw(RSP));
        for &r in &frame.saved {
            enc::push(buf, hw(r));
        }
        if frame.stack_bytes > 0 {
            enc::alu_ri(buf, Size::S64, AluOp::Sub, hw(RSP), frame.stack_bytes);
        }

        let block_labels: Vec<MachLabel> =
            (0..code.num_blocks()).map(|_| buf.get_label()).collect();
        let thread = jump_threads(code, out);
        for b in 0..code.num_blocks() {
            buf.bind_label(block_labels[b]);
            let next = Block::new(b + 1);
            for item in out.block_insts_and_edits(code, Block::new(b)) {
                let inst = match item {
                    InstOrEdit::Edit(Edit::Move { from, to }) => {
                        emit_move(buf, &frame, *from, *to)?;
                        continue;
                    }
                    InstOrEdit::Inst(inst) => inst,
                };
                let allocs = out.inst_allocs(inst);
                let r = |i: usize| alloc_reg(allocs, i).map(hw);
                match code.inst(inst) {
                    MInst::Args { .. } => {}
                    MInst::Imm { value, .. } => enc::mov_ri(buf, Size::S64, r(0)?, *value),
                    MInst::Alu { op, .. } => {
                        same(alloc_reg(allocs, 0)?, alloc_reg(allocs, 2)?, "alu")?;
                        let (dst, src) = (r(2)?, r(1)?);
                        match alu_op(*op) {
                            Some(op) => enc::alu_rr(buf, Size::S64, op, dst, src),
                            None => enc::imul_rr(buf, Size::S64, dst, src),
                        }
                    }
                    MInst::AluImm { op, imm, .. } => {
                        let imm = *imm as i32;
                        match alu_op(*op) {
                            Some(op) => {
                                same(alloc_reg(allocs, 0)?, alloc_reg(allocs, 1)?, "alu imm")?;
                                enc::alu_ri(buf, Size::S64, op, r(1)?, imm);
                            }
                            None => enc::imul_rri(buf, Size::S64, r(1)?, r(0)?, imm),
                        }
                    }
                    MInst::Shift { op, amount, .. } => {
                        same(alloc_reg(allocs, 0)?, alloc_reg(allocs, 1)?, "shift")?;
                        let op = match op {
                            ShiftOp::Shl => XShift::Shl,
                            ShiftOp::Shr => XShift::Shr,
                            ShiftOp::Sar => XShift::Sar,
                        };
                        enc::shift_ri(buf, Size::S64, op, r(1)?, *amount);
                    }
                    MInst::Cmp { op, .. } => {
                        enc::alu_rr(buf, Size::S64, AluOp::Cmp, r(0)?, r(1)?);
                        let dst = r(2)?;
                        enc::setcc(buf, cond(*op), dst);
                        enc::movzx_r8(buf, dst, dst);
                    }
                    MInst::CondBr {
                        op,
                        taken,
                        not_taken,
                        ..
                    } => {
                        enc::alu_rr(buf, Size::S64, AluOp::Cmp, r(0)?, r(1)?);
                        enc::jcc(buf, cond(*op), block_labels[thread[taken.index()].index()]);
                        let not_taken = thread[not_taken.index()];
                        if not_taken != next {
                            enc::jmp(buf, block_labels[not_taken.index()]);
                        }
                    }
                    MInst::Jump { target } => {
                        let target = thread[target.index()];
                        if target != next {
                            enc::jmp(buf, block_labels[target.index()]);
                        }
                    }
                    MInst::Call { callee, .. } => enc::call(buf, func_labels[*callee]),
                    MInst::Ret { .. } => {
                        if frame.stack_bytes > 0 {
                            enc::alu_ri(buf, Size::S64, AluOp::Add, hw(RSP), frame.stack_bytes);
                        }
                        for &r in frame.saved.iter().rev() {
                            enc::pop(buf, hw(r));
                        }
                        enc::pop(buf, hw(RBP));
                        enc::ret(buf);
                    }
                }
            }
        }
        Ok(())
    }
}

/// The ALU-group opcode of `op`; `None` for `Mul` (an `imul` form).
fn alu_op(op: BinOp) -> Option<AluOp> {
    match op {
        BinOp::Add => Some(AluOp::Add),
        BinOp::Sub => Some(AluOp::Sub),
        BinOp::And => Some(AluOp::And),
        BinOp::Or => Some(AluOp::Or),
        BinOp::Xor => Some(AluOp::Xor),
        BinOp::Mul => None,
    }
}
