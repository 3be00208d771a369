//! The `regarena` command: check allocations, compare with upstream
//! regalloc2, generate functions, dump one function.
//!
//! One clap enum; each variant's doc comment is its help text and each
//! subcommand lives in `regarena_tools::commands::<name>` with a `run`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use regarena_tools::commands::{self, check, compare, compile, dump, gen};
use regarena_tools::counting_alloc::CountingAlloc;

/// Every heap allocation of the process goes through this counter, so
/// `compare` can report each allocator's heap use. Its cost is a few
/// relaxed atomic additions per allocation, paid by both sides alike.
#[global_allocator]
static HEAP: CountingAlloc = CountingAlloc::system();

/// regarena: a data-oriented Ion register allocator, and the tools to
/// check it and measure it against regalloc2.
#[derive(Debug, Parser)]
#[command(name = "regarena", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Allocate every function and prove each result with the checker
    ///
    /// Prints a table per corpus group (directory) and the last line
    /// `checked N functions: P passed, F failed`. Without paths, checks the
    /// 40-function sample built into the binary. Exit status 1 when any
    /// function fails (an unreadable file is a failure naming it; the
    /// others still run).
    Check(check::CheckArgs),
    /// Compare regarena with upstream regalloc2 (Ion): time, moves, spills
    ///
    /// Runs both on the same functions, interleaved, and reports per group
    /// and in total: allocation time (median over repeats) and the inserted
    /// moves, spills, reloads, stack-to-stack moves, spill slots and
    /// loop-weighted cost of each side, with the ratios ours/upstream. A
    /// function that fails on either side (error, panic, checker error)
    /// counts in that side's `failed` and is left out of both sides' times
    /// and costs. Exit status 1 when any function fails on either side.
    Compare(compare::CompareArgs),
    /// Print one function with its allocations, edits and checker verdict
    ///
    /// Blocks, instructions with their operands and allocations, inserted
    /// edits at their program points, and each vreg's allocations; then
    /// whether the checker accepts the result. Exit status 1 when
    /// allocation or the check fails.
    Dump(dump::DumpArgs),
    /// Write random valid functions as regalloc2-tool files
    ///
    /// Writes COUNT functions of about INSTS instructions each as
    /// OUT/gen-SEED-I.bin (readable by the other subcommands and by
    /// regalloc2-tool). The same arguments write the same bytes.
    Gen(gen::GenArgs),
    /// Compile a small IR program for x64 or aarch64, list it or run it
    ///
    /// Lowers the program (see isa/examples/fib.ir), allocates it with
    /// regarena, emits machine code, and prints the listing with its
    /// disassembly, or with `--run ARGS...` runs it (x64 natively, aarch64
    /// under qemu-aarch64-static) and prints the result. Exit status 1 when
    /// the program cannot be compiled or run.
    Compile(compile::CompileArgs),
}

fn main() -> ExitCode {
    commands::guard::install_panic_hook();
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Check(args) => check::run(args),
        Command::Compare(args) => compare::run(args, Some(&HEAP)),
        Command::Dump(args) => dump::run(args),
        Command::Gen(args) => gen::run(args),
        Command::Compile(args) => compile::run(args),
    };
    result.unwrap_or_else(|message| {
        eprintln!("regarena: {message}");
        ExitCode::from(2)
    })
}
