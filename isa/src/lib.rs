//! x64 and aarch64 on top of `regarena`: the machine-instruction layer
//! (`machinst`), each ISA's registers, `MachineEnv`, encoders and emission
//! of allocated code, a small integer IR with its interpreter, lowering of
//! that IR to `VCode`, and running the result (natively for x64, under
//! qemu for aarch64).
//!
//! Register types (`PReg`, `VReg`, `Operand`, `MachineEnv`, ...) come from
//! `regarena`; this crate defines none of its own.

pub mod aarch64;
pub mod compile;
pub mod disasm;
pub mod emit;
pub mod exec;
pub mod ir;
pub mod lower;
pub mod machinst;
pub mod x64;

pub use regarena::{MachineEnv, PReg, PRegSet, RegClass};
