//! The machine-instruction layer shared by both ISAs: register handles that
//! are either virtual or physical ([`Reg`]), the [`Writable`] marker for
//! defs, the [`OperandCollector`] that turns an instruction's register
//! uses/defs into `regarena::Operand`s, the [`VCode`] container handed to
//! the allocator, and the [`MachBuffer`] that emitted code lands in.
//!
//! Reads nothing global; the register types themselves (`VReg`, `PReg`,
//! `Operand`, ...) are imported from `regarena`, never redefined. The shape
//! follows Cranelift's `machinst` module (Reg/Writable/OperandCollector/
//! VCode/MachBuffer), rebuilt small for this crate.

pub mod buffer;
pub mod vcode;

pub use buffer::{LabelUse, MachBuffer, MachLabel};
pub use vcode::{VCode, VCodeBuilder};

use core::fmt;
use regarena::{Operand, PReg, RegClass, VReg};

/// A register operand before allocation: a virtual register (allocated by
/// regarena) or a physical one (used as-is, never allocated).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reg {
    Virtual(VirtualReg),
    Real(RealReg),
}

/// A virtual register: a thin handle on `regarena::VReg`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct VirtualReg(pub VReg);

/// A physical register: a thin handle on `regarena::PReg`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct RealReg(pub PReg);

impl Reg {
    /// The virtual register `index` of `class`.
    pub fn virt(index: usize, class: RegClass) -> Reg {
        Reg::Virtual(VirtualReg(VReg::new(index, class)))
    }
    /// The physical register `preg`.
    pub const fn real(preg: PReg) -> Reg {
        Reg::Real(RealReg(preg))
    }
    pub fn class(self) -> RegClass {
        match self {
            Reg::Virtual(v) => v.0.class(),
            Reg::Real(r) => r.0.class(),
        }
    }
    pub fn to_virtual(self) -> Option<VirtualReg> {
        match self {
            Reg::Virtual(v) => Some(v),
            Reg::Real(_) => None,
        }
    }
    pub fn to_real(self) -> Option<RealReg> {
        match self {
            Reg::Real(r) => Some(r),
            Reg::Virtual(_) => None,
        }
    }
}

impl fmt::Debug for Reg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reg::Virtual(v) => write!(f, "{}", v.0),
            Reg::Real(r) => write!(f, "{}", r.0),
        }
    }
}

/// A register the instruction writes. Keeping defs in their own type makes
/// "this operand is an output" visible in every instruction's field types.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Writable<T>(T);

impl<T: Copy> Writable<T> {
    pub fn from_reg(reg: T) -> Self {
        Writable(reg)
    }
    pub fn to_reg(self) -> T {
        self.0
    }
}

/// Collects one instruction's operands in order. Virtual registers become
/// constrained operands; physical registers become `fixed_nonallocatable`
/// operands (the allocator leaves them alone).
///
/// The collector appends to a buffer it borrows, so the [`VCode`] builder
/// stores all instructions' operands in one vector.
pub struct OperandCollector<'a> {
    operands: &'a mut Vec<Operand>,
}

impl<'a> OperandCollector<'a> {
    pub fn new(operands: &'a mut Vec<Operand>) -> Self {
        OperandCollector { operands }
    }

    fn push_or_fixed(&mut self, reg: Reg, make: impl FnOnce(VReg) -> Operand) {
        match reg {
            Reg::Virtual(v) => self.operands.push(make(v.0)),
            Reg::Real(r) => self.operands.push(Operand::fixed_nonallocatable(r.0)),
        }
    }
    /// Read at the start of the instruction, in any register.
    pub fn reg_use(&mut self, reg: Reg) {
        self.push_or_fixed(reg, Operand::reg_use);
    }
    /// Written at the end of the instruction, in any register.
    pub fn reg_def(&mut self, reg: Writable<Reg>) {
        self.push_or_fixed(reg.to_reg(), Operand::reg_def);
    }
    /// Written in the register operand `idx` (a use) was read from:
    /// two-address instructions (x64 `add dst, src`).
    pub fn reg_reuse_def(&mut self, reg: Writable<Reg>, idx: usize) {
        self.push_or_fixed(reg.to_reg(), |v| Operand::reg_reuse_def(v, idx));
    }
    /// Read from exactly `preg` (call arguments, returns).
    pub fn reg_fixed_use(&mut self, reg: Reg, preg: PReg) {
        self.push_or_fixed(reg, |v| Operand::reg_fixed_use(v, preg));
    }
    /// Written into exactly `preg` (call results, incoming arguments).
    pub fn reg_fixed_def(&mut self, reg: Writable<Reg>, preg: PReg) {
        self.push_or_fixed(reg.to_reg(), |v| Operand::reg_fixed_def(v, preg));
    }
    /// Number of operands collected so far (all instructions).
    pub fn len(&self) -> usize {
        self.operands.len()
    }
    pub fn is_empty(&self) -> bool {
        self.operands.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use regarena::{OperandConstraint, OperandKind};

    #[test]
    fn collector_turns_virtual_and_real_regs_into_operands() {
        let mut ops = Vec::new();
        let mut c = OperandCollector::new(&mut ops);
        let v0 = Reg::virt(0, RegClass::Int);
        let v1 = Reg::virt(1, RegClass::Int);
        let rax = PReg::new(0, RegClass::Int);
        c.reg_use(v0);
        c.reg_reuse_def(Writable::from_reg(v1), 0);
        c.reg_fixed_use(v0, rax);
        c.reg_use(Reg::real(rax));
        assert_eq!(ops.len(), 4);
        assert_eq!(ops[0].kind(), OperandKind::Use);
        assert_eq!(ops[1].constraint(), OperandConstraint::Reuse(0));
        assert_eq!(ops[1].kind(), OperandKind::Def);
        assert_eq!(ops[2].constraint(), OperandConstraint::FixedReg(rax));
        assert_eq!(ops[3].as_fixed_nonallocatable(), Some(rax));
    }
}
