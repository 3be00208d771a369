//! `regalloc2`, served by regarena.
//!
//! This crate has upstream regalloc2 0.15.2's name, version and features,
//! and re-exports regarena, which has the same public API (`Function`,
//! `Operand`, `MachineEnv`, `Output`, `run`, `run_with_ctx`, `Ctx`,
//! `checker`, `serialize`...). Patching `regalloc2` with it switches a whole
//! dependency graph, Cranelift included, to regarena:
//!
//! ```toml
//! [patch.crates-io]
//! regalloc2 = { path = "<regarena>/compat/regalloc2" }
//! ```
//!
//! With the `capture` feature, `run` and `run_with_ctx` also write every
//! function they are given to `$REGARENA_CAPTURE` (see [`capture`]).

pub use regarena::*;

#[cfg(feature = "capture")]
pub mod capture;

// Local items shadow the glob re-export: with `capture`, the entry points
// write the function first, then allocate with regarena.
#[cfg(feature = "capture")]
pub use capture::{run, run_with_ctx};
