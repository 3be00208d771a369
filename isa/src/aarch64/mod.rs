//! aarch64 (AAPCS64): register names, the `MachineEnv` handed to regarena,
//! the calling convention's fixed registers and clobbers, and (in
//! submodules) the encoders and emission of allocated code.
//!
//! Numbering is the hardware encoding: x0..x30 are Int 0..30, encoding 31
//! is sp or xzr depending on the instruction (never allocatable); v0..v31
//! are Float 0..31. x16 is the allocator's scratch, x17 the emitter's
//! (stack-to-stack moves), x18 the platform register (never touched), x29
//! the frame pointer and x30 the link register. Convention from the Arm
//! "Procedure Call Standard for the Arm 64-bit Architecture" §6.

pub mod emit;
pub mod encode;

use regarena::{MachineEnv, PReg, PRegSet, RegClass};

pub const fn xreg(enc: usize) -> PReg {
    PReg::new(enc, RegClass::Int)
}
pub const fn vreg(enc: usize) -> PReg {
    PReg::new(enc, RegClass::Float)
}

/// Hardware number 31: `sp` or `xzr` by context.
pub const SP_OR_ZR: u8 = 31;
pub const FP: PReg = xreg(29);
pub const LR: PReg = xreg(30);
/// The allocator's scratch registers.
pub const SCRATCH_X: PReg = xreg(16);
pub const SCRATCH_V: PReg = vreg(31);
/// The emitter's own temporary (never allocated, never the allocator's).
pub const EMIT_TMP: PReg = xreg(17);
/// The platform register: never allocated or written.
pub const PLATFORM: PReg = xreg(18);

pub const ARG_REGS: [PReg; 8] = [
    xreg(0),
    xreg(1),
    xreg(2),
    xreg(3),
    xreg(4),
    xreg(5),
    xreg(6),
    xreg(7),
];
pub const RET_REG: PReg = xreg(0);

const fn range(from: usize, to: usize, class: RegClass) -> PRegSet {
    let mut set = PRegSet::empty();
    let mut i = from;
    while i < to {
        set.add(PReg::new(i, class));
        i += 1;
    }
    set
}

const fn add_range(set: PRegSet, from: usize, to: usize, class: RegClass) -> PRegSet {
    let mut out = set;
    let mut i = from;
    while i < to {
        out.add(PReg::new(i, class));
        i += 1;
    }
    out
}

/// Callee-saved general registers the allocator may hand out.
pub const CALLEE_SAVED_X: PRegSet = range(19, 29, RegClass::Int);
/// Callee-saved SIMD registers (their low 64 bits, AAPCS64 §6.1.2).
pub const CALLEE_SAVED_V: PRegSet = range(8, 16, RegClass::Float);

/// The AAPCS64 `MachineEnv`: caller-saved registers preferred, callee-saved
/// after; x16/v31 scratch; x17, x18, x29, x30, sp never allocatable.
pub const fn machine_env() -> MachineEnv {
    MachineEnv {
        preferred_regs_by_class: [
            range(0, 16, RegClass::Int),
            add_range(range(0, 8, RegClass::Float), 16, 31, RegClass::Float),
            PRegSet::empty(),
        ],
        non_preferred_regs_by_class: [CALLEE_SAVED_X, CALLEE_SAVED_V, PRegSet::empty()],
        scratch_by_class: [Some(SCRATCH_X), Some(SCRATCH_V), None],
        fixed_stack_slots: Vec::new(),
    }
}

/// Registers a call clobbers: x0..x17, x30 and the caller-saved SIMD
/// registers, minus `rets` (a def and a clobber must not share a
/// register: seed 001 §7.2).
pub fn call_clobbers(rets: &[PReg]) -> PRegSet {
    let mut set = range(0, 18, RegClass::Int).with(LR);
    set.union_from(range(0, 8, RegClass::Float));
    set.union_from(range(16, 32, RegClass::Float));
    for &r in rets {
        set.remove(r);
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_keeps_reserved_registers_out() {
        let env = machine_env();
        let ints = env.preferred_regs_by_class[0] | env.non_preferred_regs_by_class[0];
        for r in [SCRATCH_X, EMIT_TMP, PLATFORM, FP, LR, xreg(31)] {
            assert!(!ints.contains(r), "{r} must not be allocatable");
        }
        assert_eq!(ints.len(), 26);
        let floats = env.preferred_regs_by_class[1] | env.non_preferred_regs_by_class[1];
        assert_eq!(floats.len(), 31);
        assert!(!floats.contains(SCRATCH_V));
        let clobbers = call_clobbers(&[RET_REG]);
        assert!(
            !clobbers.contains(RET_REG)
                && clobbers.contains(xreg(1))
                && !clobbers.contains(xreg(19))
        );
    }
}
