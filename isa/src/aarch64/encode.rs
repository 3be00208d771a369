//! aarch64 instruction encoders: each function appends one 32-bit
//! instruction word to a [`MachBuffer`] given hardware register numbers
//! (31 = sp or xzr, as the instruction defines) and immediates. Branches
//! take labels, patched in `MachBuffer::finish`.
//!
//! Encodings from the Arm Architecture Reference Manual (A64 base
//! instructions, "Data Processing -- Immediate/Register", "Loads and
//! Stores", "Branches"); every form is decoded back by yaxpeax-arm in
//! `tests/decode_aarch64.rs`. Functions that take an immediate check its
//! range and return `None` (emitting nothing) when it does not fit.

use crate::machinst::{LabelUse, MachBuffer, MachLabel};

/// Condition codes, numbered as in the `cond` field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Cond {
    Eq = 0,
    Ne = 1,
    Hs = 2,
    Lo = 3,
    Mi = 4,
    Pl = 5,
    Vs = 6,
    Vc = 7,
    Hi = 8,
    Ls = 9,
    Ge = 10,
    Lt = 11,
    Gt = 12,
    Le = 13,
}

impl Cond {
    pub const ALL: [Cond; 14] = [
        Cond::Eq,
        Cond::Ne,
        Cond::Hs,
        Cond::Lo,
        Cond::Mi,
        Cond::Pl,
        Cond::Vs,
        Cond::Vc,
        Cond::Hi,
        Cond::Ls,
        Cond::Ge,
        Cond::Lt,
        Cond::Gt,
        Cond::Le,
    ];
    pub fn invert(self) -> Cond {
        Cond::ALL[(self as usize) ^ 1]
    }
}

/// Register-register ALU operations (64-bit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AluRRR {
    Add,
    Sub,
    /// `subs`: with rd = xzr this is `cmp`.
    Subs,
    And,
    Orr,
    Eor,
    Mul,
    Sdiv,
    Lslv,
    Lsrv,
    Asrv,
}

impl AluRRR {
    fn base(self) -> u32 {
        match self {
            AluRRR::Add => 0x8b00_0000,
            AluRRR::Sub => 0xcb00_0000,
            AluRRR::Subs => 0xeb00_0000,
            AluRRR::And => 0x8a00_0000,
            AluRRR::Orr => 0xaa00_0000,
            AluRRR::Eor => 0xca00_0000,
            AluRRR::Mul => 0x9b00_7c00,
            AluRRR::Sdiv => 0x9ac0_0c00,
            AluRRR::Lslv => 0x9ac0_2000,
            AluRRR::Lsrv => 0x9ac0_2400,
            AluRRR::Asrv => 0x9ac0_2800,
        }
    }
}

fn r(reg: u8) -> u32 {
    (reg & 31) as u32
}

/// `op rd, rn, rm` (64-bit).
pub fn alu_rrr(buf: &mut MachBuffer, op: AluRRR, rd: u8, rn: u8, rm: u8) {
    buf.put4(op.base() | r(rm) << 16 | r(rn) << 5 | r(rd));
}

/// `mov rd, rm` (`orr rd, xzr, rm`).
pub fn mov_rr(buf: &mut MachBuffer, rd: u8, rm: u8) {
    alu_rrr(buf, AluRRR::Orr, rd, 31, rm);
}

/// `cmp rn, rm` (`subs xzr, rn, rm`).
pub fn cmp_rr(buf: &mut MachBuffer, rn: u8, rm: u8) {
    alu_rrr(buf, AluRRR::Subs, 31, rn, rm);
}

/// `add/sub rd, rn, #imm12 {, lsl #12}` (rd and rn may be sp).
/// Immediates 0..4096, or multiples of 4096 below 2^24.
pub fn add_sub_imm(buf: &mut MachBuffer, sub: bool, rd: u8, rn: u8, imm: u64) -> Option<()> {
    let (imm12, shift) = if imm < 4096 {
        (imm as u32, 0)
    } else if imm % 4096 == 0 && imm >> 12 < 4096 {
        ((imm >> 12) as u32, 1)
    } else {
        return None;
    };
    let base = if sub { 0xd100_0000 } else { 0x9100_0000 };
    buf.put4(base | shift << 22 | imm12 << 10 | r(rn) << 5 | r(rd));
    Some(())
}

/// `cmp rn, #imm12` (`subs xzr, rn, #imm`).
pub fn cmp_imm(buf: &mut MachBuffer, rn: u8, imm: u16) -> Option<()> {
    if imm >= 4096 {
        return None;
    }
    buf.put4(0xf100_0000 | (imm as u32) << 10 | r(rn) << 5 | 31);
    Some(())
}

/// `movz rd, #imm16, lsl #(16*hw)`.
pub fn movz(buf: &mut MachBuffer, rd: u8, imm16: u16, hw: u8) {
    buf.put4(0xd280_0000 | ((hw & 3) as u32) << 21 | (imm16 as u32) << 5 | r(rd));
}
/// `movk rd, #imm16, lsl #(16*hw)`.
pub fn movk(buf: &mut MachBuffer, rd: u8, imm16: u16, hw: u8) {
    buf.put4(0xf280_0000 | ((hw & 3) as u32) << 21 | (imm16 as u32) << 5 | r(rd));
}
/// `movn rd, #imm16, lsl #(16*hw)` (rd = !(imm16 << 16*hw)).
pub fn movn(buf: &mut MachBuffer, rd: u8, imm16: u16, hw: u8) {
    buf.put4(0x9280_0000 | ((hw & 3) as u32) << 21 | (imm16 as u32) << 5 | r(rd));
}

/// Loads any 64-bit constant: `movz` (or `movn` when most chunks are
/// 0xffff) followed by a `movk` for each chunk that still differs.
pub fn mov_imm(buf: &mut MachBuffer, rd: u8, value: i64) {
    let v = value as u64;
    let chunk = |i: u32| (v >> (16 * i)) as u16;
    let ones = (0..4).filter(|&i| chunk(i) == 0xffff).count();
    let zeros = (0..4).filter(|&i| chunk(i) == 0).count();
    let inverted = ones > zeros;
    let filler = if inverted { 0xffff } else { 0 };
    let first = (0..4).find(|&i| chunk(i) != filler).unwrap_or(0);
    if inverted {
        movn(buf, rd, !chunk(first), first as u8);
    } else {
        movz(buf, rd, chunk(first), first as u8);
    }
    for i in first + 1..4 {
        if chunk(i) != filler {
            movk(buf, rd, chunk(i), i as u8);
        }
    }
}

/// Immediate shifts (aliases of `ubfm`/`sbfm`), amounts 0..64.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShiftImm {
    Lsl,
    Lsr,
    Asr,
}

/// `lsl/lsr/asr rd, rn, #amount`.
pub fn shift_imm(buf: &mut MachBuffer, op: ShiftImm, rd: u8, rn: u8, amount: u8) -> Option<()> {
    if amount >= 64 {
        return None;
    }
    let a = amount as u32;
    let (base, immr, imms) = match op {
        ShiftImm::Lsl => (0xd340_0000, (64 - a) % 64, 63 - a),
        ShiftImm::Lsr => (0xd340_0000, a, 63),
        ShiftImm::Asr => (0x9340_0000, a, 63),
    };
    buf.put4(base | immr << 16 | imms << 10 | r(rn) << 5 | r(rd));
    Some(())
}

/// `cset rd, cond` (`csinc rd, xzr, xzr, !cond`).
pub fn cset(buf: &mut MachBuffer, rd: u8, cond: Cond) {
    buf.put4(0x9a9f_07e0 | (cond.invert() as u32) << 12 | r(rd));
}

/// `b.cond label`.
pub fn b_cond(buf: &mut MachBuffer, cond: Cond, target: MachLabel) {
    let at = buf.cur_offset();
    buf.use_label_at_offset(at, target, LabelUse::A64Branch19);
    buf.put4(0x5400_0000 | cond as u32);
}

/// `b label`.
pub fn b(buf: &mut MachBuffer, target: MachLabel) {
    let at = buf.cur_offset();
    buf.use_label_at_offset(at, target, LabelUse::A64Branch26);
    buf.put4(0x1400_0000);
}

/// `bl label`.
pub fn bl(buf: &mut MachBuffer, target: MachLabel) {
    let at = buf.cur_offset();
    buf.use_label_at_offset(at, target, LabelUse::A64Branch26);
    buf.put4(0x9400_0000);
}

/// `cbz rt, label` (64-bit).
pub fn cbz(buf: &mut MachBuffer, rt: u8, target: MachLabel) {
    let at = buf.cur_offset();
    buf.use_label_at_offset(at, target, LabelUse::A64Branch19);
    buf.put4(0xb400_0000 | r(rt));
}

/// `ret` (through x30).
pub fn ret(buf: &mut MachBuffer) {
    buf.put4(0xd65f_03c0);
}

/// `svc #imm16`.
pub fn svc(buf: &mut MachBuffer, imm: u16) {
    buf.put4(0xd400_0001 | (imm as u32) << 5);
}

/// The width of a load/store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LsWidth {
    /// 64-bit general register `x`.
    X,
    /// 64-bit SIMD scalar `d`.
    D,
    /// 128-bit SIMD `q`.
    Q,
}

impl LsWidth {
    fn bytes(self) -> u32 {
        match self {
            LsWidth::Q => 16,
            _ => 8,
        }
    }
}

/// `ldr/str rt, [rn, #offset]` with the unsigned scaled 12-bit offset.
pub fn load_store(
    buf: &mut MachBuffer,
    load: bool,
    width: LsWidth,
    rt: u8,
    rn: u8,
    offset: u32,
) -> Option<()> {
    let scale = width.bytes();
    if offset % scale != 0 || offset / scale >= 4096 {
        return None;
    }
    let base = match (width, load) {
        (LsWidth::X, true) => 0xf940_0000,
        (LsWidth::X, false) => 0xf900_0000,
        (LsWidth::D, true) => 0xfd40_0000,
        (LsWidth::D, false) => 0xfd00_0000,
        (LsWidth::Q, true) => 0x3dc0_0000,
        (LsWidth::Q, false) => 0x3d80_0000,
    };
    buf.put4(base | (offset / scale) << 10 | r(rn) << 5 | r(rt));
    Some(())
}

/// Addressing of `ldp`/`stp`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PairMode {
    /// `[rn, #off]`
    Offset,
    /// `[rn, #off]!`
    PreIndex,
    /// `[rn], #off`
    PostIndex,
}

/// `ldp/stp rt, rt2, ...` (64-bit, offset a multiple of 8 in -512..=504).
pub fn load_store_pair(
    buf: &mut MachBuffer,
    load: bool,
    mode: PairMode,
    rt: u8,
    rt2: u8,
    rn: u8,
    offset: i32,
) -> Option<()> {
    if offset % 8 != 0 || !(-512..=504).contains(&offset) {
        return None;
    }
    let mode_bits = match mode {
        PairMode::PostIndex => 0b01,
        PairMode::Offset => 0b10,
        PairMode::PreIndex => 0b11,
    };
    let imm7 = ((offset / 8) as u32) & 0x7f;
    buf.put4(
        0xa800_0000
            | mode_bits << 23
            | (load as u32) << 22
            | imm7 << 15
            | r(rt2) << 10
            | r(rn) << 5
            | r(rt),
    );
    Some(())
}

/// `mov vd.16b, vn.16b` (`orr` vector): copies a whole SIMD register.
pub fn mov_v(buf: &mut MachBuffer, vd: u8, vn: u8) {
    buf.put4(0x4ea0_1c00 | r(vn) << 16 | r(vn) << 5 | r(vd));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(f: impl FnOnce(&mut MachBuffer)) -> u32 {
        let mut buf = MachBuffer::new();
        f(&mut buf);
        let code = buf.finish().unwrap();
        u32::from_le_bytes(code[..4].try_into().unwrap())
    }

    #[test]
    fn known_encodings() {
        // Reference words from the Arm ARM / any assembler.
        assert_eq!(word(|b| alu_rrr(b, AluRRR::Add, 0, 1, 2)), 0x8b02_0020);
        assert_eq!(word(|b| mov_rr(b, 0, 1)), 0xaa01_03e0);
        assert_eq!(word(ret), 0xd65f_03c0);
        assert_eq!(word(|b| cset(b, 0, Cond::Eq)), 0x9a9f_17e0);
        assert_eq!(
            word(|b| load_store(b, true, LsWidth::X, 0, 31, 8).unwrap()),
            0xf940_07e0
        );
        assert_eq!(
            word(|b| load_store_pair(b, false, PairMode::PreIndex, 29, 30, 31, -16).unwrap()),
            0xa9bf_7bfd
        );
        assert!(load_store(&mut MachBuffer::new(), true, LsWidth::X, 0, 31, 4).is_none());
        assert!(add_sub_imm(&mut MachBuffer::new(), false, 0, 0, 4097).is_none());
    }
}
