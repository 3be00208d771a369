//! x64 instruction encoders: each function appends one instruction's bytes
//! to a [`MachBuffer`] given hardware register numbers (0..16) and
//! immediates. Branch targets are labels, patched in `MachBuffer::finish`.
//!
//! Encodings from the Intel SDM vol. 2 (REX prefix, ModRM/SIB, opcode
//! tables); every form here is decoded back by iced-x86 in
//! `tests/decode_x64.rs`.

use crate::machinst::{LabelUse, MachBuffer, MachLabel};

/// Operand width of a general-purpose instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    S32,
    S64,
}

/// A `[base + disp]` memory operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mem {
    pub base: u8,
    pub disp: i32,
}

/// The two-operand ALU group sharing the `op r/m, r` / `81 /ext` shapes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AluOp {
    Add,
    Or,
    And,
    Sub,
    Xor,
    Cmp,
}

impl AluOp {
    /// The `/ext` of the `81`/`83` immediate forms; the r/m,r opcode is
    /// `ext * 8 + 1`.
    fn ext(self) -> u8 {
        match self {
            AluOp::Add => 0,
            AluOp::Or => 1,
            AluOp::And => 4,
            AluOp::Sub => 5,
            AluOp::Xor => 6,
            AluOp::Cmp => 7,
        }
    }
}

/// Shifts by an immediate or by `cl`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShiftOp {
    Shl,
    Shr,
    Sar,
}

impl ShiftOp {
    fn ext(self) -> u8 {
        match self {
            ShiftOp::Shl => 4,
            ShiftOp::Shr => 5,
            ShiftOp::Sar => 7,
        }
    }
}

/// Condition codes, numbered as in the `jcc`/`setcc` opcodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Cond {
    O = 0,
    NO = 1,
    B = 2,
    AE = 3,
    E = 4,
    NE = 5,
    BE = 6,
    A = 7,
    S = 8,
    NS = 9,
    P = 10,
    NP = 11,
    L = 12,
    GE = 13,
    LE = 14,
    G = 15,
}

impl Cond {
    pub const ALL: [Cond; 16] = [
        Cond::O,
        Cond::NO,
        Cond::B,
        Cond::AE,
        Cond::E,
        Cond::NE,
        Cond::BE,
        Cond::A,
        Cond::S,
        Cond::NS,
        Cond::P,
        Cond::NP,
        Cond::L,
        Cond::GE,
        Cond::LE,
        Cond::G,
    ];
}

/// Emits a REX prefix when any bit is set or `force` (byte registers
/// spl/bpl/sil/dil need a bare REX).
fn rex(buf: &mut MachBuffer, w: bool, reg: u8, index: u8, rm: u8, force: bool) {
    let byte = 0x40 | (w as u8) << 3 | (reg >> 3 & 1) << 2 | (index >> 3 & 1) << 1 | (rm >> 3 & 1);
    if byte != 0x40 || force {
        buf.put1(byte);
    }
}

fn modrm_rr(buf: &mut MachBuffer, reg: u8, rm: u8) {
    buf.put1(0xc0 | (reg & 7) << 3 | (rm & 7));
}

/// ModRM (+SIB, +disp) for `[base + disp]`. rsp/r12 as base need a SIB
/// byte; rbp/r13 have no disp-less form.
fn modrm_mem(buf: &mut MachBuffer, reg: u8, mem: Mem) {
    let base = mem.base & 7;
    let (mode, disp_len) = if mem.disp == 0 && base != 5 {
        (0u8, 0)
    } else if i8::try_from(mem.disp).is_ok() {
        (1, 1)
    } else {
        (2, 4)
    };
    buf.put1(mode << 6 | (reg & 7) << 3 | base);
    if base == 4 {
        buf.put1(0x24);
    }
    match disp_len {
        1 => buf.put1(mem.disp as i8 as u8),
        4 => buf.put_bytes(&mem.disp.to_le_bytes()),
        _ => {}
    }
}

fn is64(size: Size) -> bool {
    size == Size::S64
}

/// `mov dst, src` between general registers.
pub fn mov_rr(buf: &mut MachBuffer, size: Size, dst: u8, src: u8) {
    rex(buf, is64(size), src, 0, dst, false);
    buf.put1(0x89);
    modrm_rr(buf, src, dst);
}

/// `mov dst, imm`, the shortest form: `mov r32, imm32` (zero-extends)
/// when the value fits in 32 unsigned bits, `mov r/m64, simm32` when it fits
/// sign-extended, `movabs` otherwise. With `Size::S32` the low 32 bits.
pub fn mov_ri(buf: &mut MachBuffer, size: Size, dst: u8, imm: i64) {
    if size == Size::S32 || (0..=u32::MAX as i64).contains(&imm) {
        rex(buf, false, 0, 0, dst, false);
        buf.put1(0xb8 | (dst & 7));
        buf.put_bytes(&(imm as u32).to_le_bytes());
    } else if let Ok(imm32) = i32::try_from(imm) {
        rex(buf, true, 0, 0, dst, false);
        buf.put1(0xc7);
        modrm_rr(buf, 0, dst);
        buf.put_bytes(&imm32.to_le_bytes());
    } else {
        rex(buf, true, 0, 0, dst, false);
        buf.put1(0xb8 | (dst & 7));
        buf.put_bytes(&imm.to_le_bytes());
    }
}

/// `mov dst, [base + disp]`.
pub fn load(buf: &mut MachBuffer, size: Size, dst: u8, mem: Mem) {
    rex(buf, is64(size), dst, 0, mem.base, false);
    buf.put1(0x8b);
    modrm_mem(buf, dst, mem);
}

/// `mov [base + disp], src`.
pub fn store(buf: &mut MachBuffer, size: Size, mem: Mem, src: u8) {
    rex(buf, is64(size), src, 0, mem.base, false);
    buf.put1(0x89);
    modrm_mem(buf, src, mem);
}

/// `lea dst, [base + disp]`.
pub fn lea(buf: &mut MachBuffer, dst: u8, mem: Mem) {
    rex(buf, true, dst, 0, mem.base, false);
    buf.put1(0x8d);
    modrm_mem(buf, dst, mem);
}

fn sse_rr(buf: &mut MachBuffer, prefix: Option<u8>, op: u8, reg: u8, rm: u8) {
    if let Some(p) = prefix {
        buf.put1(p);
    }
    rex(buf, false, reg, 0, rm, false);
    buf.put_bytes(&[0x0f, op]);
    modrm_rr(buf, reg, rm);
}

fn sse_mem(buf: &mut MachBuffer, prefix: Option<u8>, op: u8, reg: u8, mem: Mem) {
    if let Some(p) = prefix {
        buf.put1(p);
    }
    rex(buf, false, reg, 0, mem.base, false);
    buf.put_bytes(&[0x0f, op]);
    modrm_mem(buf, reg, mem);
}

/// `movsd dst, src` (xmm to xmm, low 64 bits).
pub fn movsd_rr(buf: &mut MachBuffer, dst: u8, src: u8) {
    sse_rr(buf, Some(0xf2), 0x10, dst, src);
}
/// `movsd dst, [mem]`.
pub fn movsd_load(buf: &mut MachBuffer, dst: u8, mem: Mem) {
    sse_mem(buf, Some(0xf2), 0x10, dst, mem);
}
/// `movsd [mem], src`.
pub fn movsd_store(buf: &mut MachBuffer, mem: Mem, src: u8) {
    sse_mem(buf, Some(0xf2), 0x11, src, mem);
}
/// `movaps dst, src` (whole xmm register).
pub fn movaps_rr(buf: &mut MachBuffer, dst: u8, src: u8) {
    sse_rr(buf, None, 0x28, dst, src);
}
/// `movaps dst, [mem]` (16-byte aligned).
pub fn movaps_load(buf: &mut MachBuffer, dst: u8, mem: Mem) {
    sse_mem(buf, None, 0x28, dst, mem);
}
/// `movaps [mem], src` (16-byte aligned).
pub fn movaps_store(buf: &mut MachBuffer, mem: Mem, src: u8) {
    sse_mem(buf, None, 0x29, src, mem);
}

/// `op dst, src` for add/or/and/sub/xor/cmp.
pub fn alu_rr(buf: &mut MachBuffer, size: Size, op: AluOp, dst: u8, src: u8) {
    rex(buf, is64(size), src, 0, dst, false);
    buf.put1(op.ext() << 3 | 1);
    modrm_rr(buf, src, dst);
}

/// `op dst, imm` (sign-extended imm8 form when it fits).
pub fn alu_ri(buf: &mut MachBuffer, size: Size, op: AluOp, dst: u8, imm: i32) {
    rex(buf, is64(size), 0, 0, dst, false);
    if let Ok(imm8) = i8::try_from(imm) {
        buf.put1(0x83);
        modrm_rr(buf, op.ext(), dst);
        buf.put1(imm8 as u8);
    } else {
        buf.put1(0x81);
        modrm_rr(buf, op.ext(), dst);
        buf.put_bytes(&imm.to_le_bytes());
    }
}

/// `imul dst, src`.
pub fn imul_rr(buf: &mut MachBuffer, size: Size, dst: u8, src: u8) {
    rex(buf, is64(size), dst, 0, src, false);
    buf.put_bytes(&[0x0f, 0xaf]);
    modrm_rr(buf, dst, src);
}

/// `imul dst, src, imm`.
pub fn imul_rri(buf: &mut MachBuffer, size: Size, dst: u8, src: u8, imm: i32) {
    rex(buf, is64(size), dst, 0, src, false);
    if let Ok(imm8) = i8::try_from(imm) {
        buf.put1(0x6b);
        modrm_rr(buf, dst, src);
        buf.put1(imm8 as u8);
    } else {
        buf.put1(0x69);
        modrm_rr(buf, dst, src);
        buf.put_bytes(&imm.to_le_bytes());
    }
}

/// `test a, b`.
pub fn test_rr(buf: &mut MachBuffer, size: Size, a: u8, b: u8) {
    rex(buf, is64(size), b, 0, a, false);
    buf.put1(0x85);
    modrm_rr(buf, b, a);
}

/// `test a, imm32`.
pub fn test_ri(buf: &mut MachBuffer, size: Size, a: u8, imm: i32) {
    rex(buf, is64(size), 0, 0, a, false);
    buf.put1(0xf7);
    modrm_rr(buf, 0, a);
    buf.put_bytes(&imm.to_le_bytes());
}

/// `shl/shr/sar dst, amount`.
pub fn shift_ri(buf: &mut MachBuffer, size: Size, op: ShiftOp, dst: u8, amount: u8) {
    rex(buf, is64(size), 0, 0, dst, false);
    buf.put1(0xc1);
    modrm_rr(buf, op.ext(), dst);
    buf.put1(amount);
}

/// `shl/shr/sar dst, cl`.
pub fn shift_rcl(buf: &mut MachBuffer, size: Size, op: ShiftOp, dst: u8) {
    rex(buf, is64(size), 0, 0, dst, false);
    buf.put1(0xd3);
    modrm_rr(buf, op.ext(), dst);
}

/// `setcc dst8` (low byte of `dst`; upper bits unchanged).
pub fn setcc(buf: &mut MachBuffer, cond: Cond, dst: u8) {
    rex(buf, false, 0, 0, dst, dst >= 4);
    buf.put_bytes(&[0x0f, 0x90 | cond as u8]);
    modrm_rr(buf, 0, dst);
}

/// `movzx dst32, src8` (zero-extends to 64 bits).
pub fn movzx_r8(buf: &mut MachBuffer, dst: u8, src: u8) {
    rex(buf, false, dst, 0, src, src >= 4);
    buf.put_bytes(&[0x0f, 0xb6]);
    modrm_rr(buf, dst, src);
}

/// `jcc label` (rel32).
pub fn jcc(buf: &mut MachBuffer, cond: Cond, target: MachLabel) {
    buf.put_bytes(&[0x0f, 0x80 | cond as u8]);
    let at = buf.cur_offset();
    buf.use_label_at_offset(at, target, LabelUse::X64Rel32);
    buf.put4(0);
}

/// `jmp label` (rel32).
pub fn jmp(buf: &mut MachBuffer, target: MachLabel) {
    buf.put1(0xe9);
    let at = buf.cur_offset();
    buf.use_label_at_offset(at, target, LabelUse::X64Rel32);
    buf.put4(0);
}

/// `call label` (rel32).
pub fn call(buf: &mut MachBuffer, target: MachLabel) {
    buf.put1(0xe8);
    let at = buf.cur_offset();
    buf.use_label_at_offset(at, target, LabelUse::X64Rel32);
    buf.put4(0);
}

/// `ret`.
pub fn ret(buf: &mut MachBuffer) {
    buf.put1(0xc3);
}

/// `push reg`.
pub fn push(buf: &mut MachBuffer, reg: u8) {
    rex(buf, false, 0, 0, reg, false);
    buf.put1(0x50 | (reg & 7));
}

/// `pop reg`.
pub fn pop(buf: &mut MachBuffer, reg: u8) {
    rex(buf, false, 0, 0, reg, false);
    buf.put1(0x58 | (reg & 7));
}

/// `push qword [mem]`: with `pop_mem`, a memory-to-memory copy that needs
/// no register (used for stack-to-stack moves).
pub fn push_mem(buf: &mut MachBuffer, mem: Mem) {
    rex(buf, false, 0, 0, mem.base, false);
    buf.put1(0xff);
    modrm_mem(buf, 6, mem);
}

/// `pop qword [mem]`.
pub fn pop_mem(buf: &mut MachBuffer, mem: Mem) {
    rex(buf, false, 0, 0, mem.base, false);
    buf.put1(0x8f);
    modrm_mem(buf, 0, mem);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(f: impl FnOnce(&mut MachBuffer)) -> Vec<u8> {
        let mut buf = MachBuffer::new();
        f(&mut buf);
        buf.finish().unwrap()
    }

    #[test]
    fn known_encodings() {
        // Reference bytes from the SDM / any assembler.
        assert_eq!(bytes(|b| mov_rr(b, Size::S64, 0, 3)), [0x48, 0x89, 0xd8]);
        assert_eq!(bytes(|b| mov_rr(b, Size::S32, 8, 1)), [0x41, 0x89, 0xc8]);
        assert_eq!(
            bytes(|b| load(b, Size::S64, 0, Mem { base: 4, disp: 8 })),
            [0x48, 0x8b, 0x44, 0x24, 0x08]
        );
        assert_eq!(
            bytes(|b| store(b, Size::S64, Mem { base: 13, disp: 0 }, 1)),
            [0x49, 0x89, 0x4d, 0x00]
        );
        assert_eq!(
            bytes(|b| alu_ri(b, Size::S64, AluOp::Sub, 4, 16)),
            [0x48, 0x83, 0xec, 0x10]
        );
        assert_eq!(bytes(|b| push(b, 12)), [0x41, 0x54]);
        assert_eq!(bytes(|b| setcc(b, Cond::L, 6)), [0x40, 0x0f, 0x9c, 0xc6]);
    }
}
