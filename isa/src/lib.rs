//! x64 and aarch64 on top of `regarena` (see issue: isa). Register types
//! come from `regarena`; this crate defines none of its own.

pub use regarena::{MachineEnv, PReg, PRegSet, RegClass};
