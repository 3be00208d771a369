//! x64 (System V): register names, the `MachineEnv` handed to regarena, the
//! calling convention's fixed registers and clobbers, and (in submodules)
//! the encoders and the emission of allocated code.
//!
//! Register numbering is the hardware encoding (rax=0 .. r15=15, xmm0..15).
//! r11 and xmm15 are the allocator's scratch registers (kept out of the
//! allocatable sets); rsp and rbp are never allocatable (stack and frame
//! pointer). Convention from the System V AMD64 psABI §3.2.

pub mod emit;
pub mod encode;

use regarena::{MachineEnv, PReg, PRegSet, RegClass};

pub const fn gpr(enc: usize) -> PReg {
    PReg::new(enc, RegClass::Int)
}
pub const fn xmm(enc: usize) -> PReg {
    PReg::new(enc, RegClass::Float)
}

pub const RAX: PReg = gpr(0);
pub const RCX: PReg = gpr(1);
pub const RDX: PReg = gpr(2);
pub const RBX: PReg = gpr(3);
pub const RSP: PReg = gpr(4);
pub const RBP: PReg = gpr(5);
pub const RSI: PReg = gpr(6);
pub const RDI: PReg = gpr(7);
pub const R8: PReg = gpr(8);
pub const R9: PReg = gpr(9);
pub const R10: PReg = gpr(10);
pub const R11: PReg = gpr(11);
pub const R12: PReg = gpr(12);
pub const R13: PReg = gpr(13);
pub const R14: PReg = gpr(14);
pub const R15: PReg = gpr(15);

/// Names of the general registers by hardware encoding.
pub const GPR_NAMES: [&str; 16] = [
    "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13",
    "r14", "r15",
];

/// The allocator's scratch registers (also used nowhere else).
pub const SCRATCH_GPR: PReg = R11;
pub const SCRATCH_XMM: PReg = xmm(15);

/// Integer argument registers, in order.
pub const ARG_REGS: [PReg; 6] = [RDI, RSI, RDX, RCX, R8, R9];
/// The integer return register.
pub const RET_REG: PReg = RAX;
/// Callee-saved registers the allocator may hand out (rbp excluded).
pub const CALLEE_SAVED: [PReg; 5] = [RBX, R12, R13, R14, R15];

const fn set_of(regs: &[PReg]) -> PRegSet {
    let mut set = PRegSet::empty();
    let mut i = 0;
    while i < regs.len() {
        set.add(regs[i]);
        i += 1;
    }
    set
}

const fn xmm_range(from: usize, to: usize) -> PRegSet {
    let mut set = PRegSet::empty();
    let mut i = from;
    while i < to {
        set.add(xmm(i));
        i += 1;
    }
    set
}

/// The System V `MachineEnv`: caller-saved registers preferred (no save
/// cost), callee-saved ones after; r11/xmm15 scratch; rsp/rbp absent.
pub const fn machine_env() -> MachineEnv {
    MachineEnv {
        preferred_regs_by_class: [
            set_of(&[RAX, RCX, RDX, RSI, RDI, R8, R9, R10]),
            xmm_range(0, 15),
            PRegSet::empty(),
        ],
        non_preferred_regs_by_class: [set_of(&CALLEE_SAVED), PRegSet::empty(), PRegSet::empty()],
        scratch_by_class: [Some(SCRATCH_GPR), Some(SCRATCH_XMM), None],
        fixed_stack_slots: Vec::new(),
    }
}

/// Registers a call clobbers: every caller-saved register except `rets`,
/// the registers the call defines. regalloc2's contract forbids a def and
/// a clobber on the same register (the bug seed 001 §7.2 describes).
pub fn call_clobbers(rets: &[PReg]) -> PRegSet {
    let mut set = set_of(&[RAX, RCX, RDX, RSI, RDI, R8, R9, R10, R11]);
    set.union_from(xmm_range(0, 16));
    for &r in rets {
        set.remove(r);
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_keeps_stack_frame_and_scratch_out() {
        let env = machine_env();
        let all = env.preferred_regs_by_class[0] | env.non_preferred_regs_by_class[0];
        for r in [RSP, RBP, R11] {
            assert!(!all.contains(r), "{r} must not be allocatable");
        }
        assert!(!env.preferred_regs_by_class[1].contains(SCRATCH_XMM));
        assert_eq!(all.len(), 13);
        assert!(
            (env.preferred_regs_by_class[0] & env.non_preferred_regs_by_class[0])
                .is_empty(RegClass::Int)
        );
        let clobbers = call_clobbers(&[RET_REG]);
        assert!(!clobbers.contains(RAX));
        assert!(clobbers.contains(RDI) && !clobbers.contains(RBX));
    }
}
