//! aarch64 backend: operand constraints of each [`MInst`] (three-address,
//! AAPCS64 registers for calls and returns) and emission of allocated code,
//! edits included, with a frame.
//!
//! Reads a `VCode<MInst>` and regarena's `Output`; writes words into a
//! `MachBuffer`.
//!
//! Frame layout, from sp upwards after the prologue: x29/x30 at `[sp]`,
//! then the callee-saved registers the allocation used (8 bytes each,
//! area rounded to 16), then spill slot `i` at `[sp + slots_base + 8i]`.
//! Everything is addressed from sp, which stays fixed in the body.

use super::encode::{self as enc, AluRRR, Cond, LsWidth, PairMode, ShiftImm};
use super::{ARG_REGS, CALLEE_SAVED_V, CALLEE_SAVED_X, EMIT_TMP, FP, LR, RET_REG, SP_OR_ZR};
use crate::emit::{alloc_reg, jump_threads, used_regs_among, EmitError};
use crate::ir::{BinOp, CmpOp, ShiftOp};
use crate::lower::{Backend, MInst};
use crate::machinst::{MachBuffer, MachLabel, OperandCollector, VCode};
use regarena::{
    Allocation, Block, Edit, Function, InstOrEdit, MachineEnv, Output, PReg, PRegSet, RegClass,
};

/// The AAPCS64 backend.
pub struct Aarch64 {
    env: MachineEnv,
}

impl Default for Aarch64 {
    fn default() -> Self {
        Aarch64 {
            env: super::machine_env(),
        }
    }
}

fn cond(op: CmpOp) -> Cond {
    match op {
        CmpOp::Eq => Cond::Eq,
        CmpOp::Ne => Cond::Ne,
        CmpOp::Lt => Cond::Lt,
        CmpOp::Le => Cond::Le,
        CmpOp::Gt => Cond::Gt,
        CmpOp::Ge => Cond::Ge,
    }
}

fn hw(r: PReg) -> u8 {
    r.hw_enc() as u8
}

struct Frame {
    saved: Vec<PReg>,
    slots_base: u32,
    size: u32,
}

impl Frame {
    fn new(saved: Vec<PReg>, num_slots: usize) -> Result<Frame, EmitError> {
        let saved_bytes = (8 * saved.len() as u32).next_multiple_of(16);
        let slots_base = 16 + saved_bytes;
        let slot_bytes = (8 * num_slots as u64).next_multiple_of(16);
        // The last slot must be reachable by `ldr x, [sp, #imm12*8]`.
        if num_slots > 0 && slots_base as u64 + 8 * (num_slots as u64 - 1) > 8 * 4095 {
            return Err(EmitError::FrameTooLarge(num_slots));
        }
        Ok(Frame {
            saved,
            slots_base,
            size: slots_base + slot_bytes as u32,
        })
    }
    fn slot(&self, slot: usize) -> u32 {
        self.slots_base + 8 * slot as u32
    }
}

fn width(class: RegClass) -> LsWidth {
    match class {
        RegClass::Int => LsWidth::X,
        _ => LsWidth::D,
    }
}

fn adjust_sp(buf: &mut MachBuffer, sub: bool, bytes: u32) {
    // Frame sizes are below 2^16 (checked in Frame::new): at most two
    // instructions, the high part shifted by 12.
    let hi = bytes & !0xfff;
    let lo = bytes & 0xfff;
    if hi != 0 {
        enc::add_sub_imm(buf, sub, SP_OR_ZR, SP_OR_ZR, hi as u64).expect("frame size below 2^24");
    }
    if lo != 0 {
        enc::add_sub_imm(buf, sub, SP_OR_ZR, SP_OR_ZR, lo as u64).expect("12-bit part");
    }
}

fn ls(buf: &mut MachBuffer, load: bool, w: LsWidth, rt: u8, offset: u32) -> Result<(), EmitError> {
    enc::load_store(buf, load, w, rt, SP_OR_ZR, offset)
        .ok_or(EmitError::FrameTooLarge(offset as usize / 8))
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
            RegClass::Int => enc::mov_rr(buf, hw(t), hw(f)),
            _ => enc::mov_v(buf, hw(t), hw(f)),
        },
        (Some(f), _, _, Some(t)) => ls(buf, false, width(f.class()), hw(f), frame.slot(t.index()))?,
        (_, Some(f), Some(t), _) => ls(buf, true, width(t.class()), hw(t), frame.slot(f.index()))?,
        // Not produced by regarena (it uses its scratch), handled anyway
        // through x17, which neither the allocator nor its scratch use.
        (_, Some(f), _, Some(t)) => {
            if f != t {
                ls(buf, true, LsWidth::X, hw(EMIT_TMP), frame.slot(f.index()))?;
                ls(buf, false, LsWidth::X, hw(EMIT_TMP), frame.slot(t.index()))?;
            }
        }
        _ => return Err(EmitError::BadAllocation(format!("move {from} -> {to}"))),
    }
    Ok(())
}

/// Saves (or restores) `regs` at `[sp + 16 + 8j]`, pairing neighbours.
fn save_restore(buf: &mut MachBuffer, load: bool, regs: &[PReg]) {
    for (j, pair) in regs.chunks(2).enumerate() {
        let offset = 16 + 16 * j as i32;
        let class = pair[0].class();
        match pair {
            [a, b] if class == RegClass::Int && b.class() == RegClass::Int => {
                enc::load_store_pair(
                    buf,
                    load,
                    PairMode::Offset,
                    hw(*a),
                    hw(*b),
                    SP_OR_ZR,
                    offset,
                )
                .expect("save area within stp range");
            }
            _ => {
                for (k, reg) in pair.iter().enumerate() {
                    enc::load_store(
                        buf,
                        load,
                        width(reg.class()),
                        hw(*reg),
                        SP_OR_ZR,
                        offset as u32 + 8 * k as u32,
                    )
                    .expect("save area within ldr range");
                }
            }
        }
    }
}

impl Backend for Aarch64 {
    fn name(&self) -> &'static str {
        "aarch64"
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
    fn alu_imm_ok(&self, op: BinOp, imm: i64) -> bool {
        matches!(op, BinOp::Add | BinOp::Sub) && (0..4096).contains(&imm)
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
                c.reg_def(*dst);
            }
            MInst::AluImm { dst, lhs, .. } => {
                c.reg_use(*lhs);
                c.reg_def(*dst);
            }
            MInst::Shift { dst, src, .. } => {
                c.reg_use(*src);
                c.reg_def(*dst);
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
                c.reg_fixed_def(*ret, RET_REG);
            }
            MInst::Ret { value } => c.reg_fixed_use(*value, RET_REG),
        }
    }

    fn emit_function(
        &self,
        code: &VCode<MInst>,
        out: &Output,
        func_labels: &[MachLabel],
        buf: &mut MachBuffer,
    ) -> Result<(), EmitError> {
        let mut saved = used_regs_among(out, CALLEE_SAVED_X);
        saved.extend(used_regs_among(out, CALLEE_SAVED_V));
        let frame = Frame::new(saved, out.num_spillslots)?;

        adjust_sp(buf, true, frame.size);
        enc::load_store_pair(buf, false, PairMode::Offset, hw(FP), hw(LR), SP_OR_ZR, 0)
            .expect("offset 0");
        enc::add_sub_imm(buf, false, hw(FP), SP_OR_ZR, 0).expect("mov x29, sp");
        save_restore(buf, false, &frame.saved);

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
                    MInst::Imm { value, .. } => enc::mov_imm(buf, r(0)?, *value),
                    MInst::Alu { op, .. } => {
                        let op = match op {
                            BinOp::Add => AluRRR::Add,
                            BinOp::Sub => AluRRR::Sub,
                            BinOp::Mul => AluRRR::Mul,
                            BinOp::And => AluRRR::And,
                            BinOp::Or => AluRRR::Orr,
                            BinOp::Xor => AluRRR::Eor,
                        };
                        enc::alu_rrr(buf, op, r(2)?, r(0)?, r(1)?);
                    }
                    MInst::AluImm { op, imm, .. } => {
                        let sub = *op == BinOp::Sub;
                        enc::add_sub_imm(buf, sub, r(1)?, r(0)?, *imm as u64).ok_or_else(|| {
                            EmitError::BadAllocation(format!("immediate {imm} not encodable"))
                        })?;
                    }
                    MInst::Shift { op, amount, .. } => {
                        let (dst, src) = (r(1)?, r(0)?);
                        if *amount == 0 {
                            enc::mov_rr(buf, dst, src);
                        } else {
                            let op = match op {
                                ShiftOp::Shl => ShiftImm::Lsl,
                                ShiftOp::Shr => ShiftImm::Lsr,
                                ShiftOp::Sar => ShiftImm::Asr,
                            };
                            enc::shift_imm(buf, op, dst, src, *amount)
                                .expect("parser bounds amounts to 0..64");
                        }
                    }
                    MInst::Cmp { op, .. } => {
                        enc::cmp_rr(buf, r(0)?, r(1)?);
                        enc::cset(buf, r(2)?, cond(*op));
                    }
                    MInst::CondBr {
                        op,
                        taken,
                        not_taken,
                        ..
                    } => {
                        enc::cmp_rr(buf, r(0)?, r(1)?);
                        enc::b_cond(buf, cond(*op), block_labels[thread[taken.index()].index()]);
                        let not_taken = thread[not_taken.index()];
                        if not_taken != next {
                            enc::b(buf, block_labels[not_taken.index()]);
                        }
                    }
                    MInst::Jump { target } => {
                        let target = thread[target.index()];
                        if target != next {
                            enc::b(buf, block_labels[target.index()]);
                        }
                    }
                    MInst::Call { callee, .. } => enc::bl(buf, func_labels[*callee]),
                    MInst::Ret { .. } => {
                        save_restore(buf, true, &frame.saved);
                        enc::load_store_pair(
                            buf,
                            true,
                            PairMode::Offset,
                            hw(FP),
                            hw(LR),
                            SP_OR_ZR,
                            0,
                        )
                        .expect("offset 0");
                        adjust_sp(buf, false, frame.size);
                        enc::ret(buf);
                    }
                }
            }
        }
        Ok(())
    }
}
