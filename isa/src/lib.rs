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

/// The two ISAs. Defined at the crate root because `compile`, `disasm`
/// and the tests all name it (`compile` re-exports it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    X64,
    Aarch64,
}

impl core::str::FromStr for Target {
    type Err = String;
    fn from_str(s: &str) -> Result<Target, String> {
        match s {
            "x64" | "x86_64" => Ok(Target::X64),
            "aarch64" | "arm64" => Ok(Target::Aarch64),
            other => Err(format!("unknown target `{other}` (x64 or aarch64)")),
        }
    }
}

impl Target {
    /// This ISA's lowering and emission.
    pub fn backend(self) -> Box<dyn lower::Backend> {
        match self {
            Target::X64 => Box::new(x64::emit::X64::default()),
            Target::Aarch64 => Box::new(aarch64::emit::Aarch64::default()),
        }
    }
}
