//! `regarena compile`: lower a small IR program for x64 or aarch64,
//! allocate it with regarena, emit machine code, and print the listing or
//! run it (x64 natively, aarch64 under `qemu-aarch64-static`).
//!
//! The work is `regarena_isa::compile::run_cli`; this module only maps the
//! arguments and the exit status.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use super::CommandResult;

/// Arguments of `regarena compile`.
#[derive(Debug, clap::Args)]
pub struct CompileArgs {
    /// The IR program (text form; see isa/examples/fib.ir).
    pub file: PathBuf,
    /// Target instruction set: x64 or aarch64.
    #[arg(long, value_parser = ["x64", "x86_64", "aarch64", "arm64"])]
    pub target: String,
    /// Run `main` (or the first function) with these integer arguments
    /// and print its result, instead of printing the listing.
    #[arg(long, num_args = 0.., allow_negative_numbers = true)]
    pub run: Option<Vec<i64>>,
}

pub fn run(args: &CompileArgs) -> CommandResult {
    let mut out = Vec::new();
    let result =
        regarena_isa::compile::run_cli(&args.file, &args.target, args.run.as_deref(), &mut out);
    let mut stdout = std::io::stdout().lock();
    // A closed pipe is not an error worth reporting.
    let _ = stdout.write_all(&out);
    let _ = stdout.flush();
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(message) => {
            eprintln!("regarena compile: {message}");
            Ok(ExitCode::from(1))
        }
    }
}
