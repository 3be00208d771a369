//! Input validation. PLACEHOLDER (being implemented).

use crate::cfg::CfgInfo;
use crate::tables::Arena;
use crate::{Function, MachineEnv, RegAllocError};

/// Checks operands, branch arguments and (with `validate_ssa`) SSA form.
pub fn validate<F: Function>(
    _func: &F,
    _env: &MachineEnv,
    _cfg: &CfgInfo<'_>,
    _validate_ssa: bool,
    _arena: &Arena,
) -> Result<(), RegAllocError> {
    todo!("validate")
}
