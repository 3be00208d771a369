//! The symbolic checker. PLACEHOLDER API (being implemented).

use crate::{Function, MachineEnv, Output};

/// Errors the checker found.
#[derive(Clone, Debug)]
pub struct CheckerErrors {
    pub errors: Vec<CheckerError>,
}

/// One violation.
#[derive(Clone, Debug)]
pub enum CheckerError {}

/// Proves an allocation right or wrong.
pub struct Checker<'a, F: Function> {
    _f: &'a F,
    _env: &'a MachineEnv,
}

impl<'a, F: Function> Checker<'a, F> {
    pub fn new(f: &'a F, machine_env: &'a MachineEnv) -> Self {
        Checker {
            _f: f,
            _env: machine_env,
        }
    }
    pub fn prepare(&mut self, _out: &Output) {
        todo!("checker")
    }
    pub fn run(self) -> Result<(), CheckerErrors> {
        todo!("checker")
    }
}
