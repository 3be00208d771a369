//! End to end: generated IR programs lowered for each ISA, allocated with
//! `regarena::run`, emitted, executed (x64 natively in this process,
//! aarch64 under qemu-aarch64-static) and compared with the interpreter.
//!
//! These tests need the real allocator. While `regarena::run` still returns
//! an error they fail with a message naming how many programs the
//! allocator refused and the first error; nothing crashes.

use regarena_isa::compile::{run_module, Target};
use regarena_isa::emit::compile_module;
use regarena_isa::exec;
use regarena_isa::ir::{self, gen};

/// Writes to the process's stderr directly: libtest captures `println!`
/// of passing tests, and these counts and skips must show in every run.
macro_rules! report {
    ($($arg:tt)*) => {{
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// Programs per ISA; `REGARENA_E2E_PROGRAMS=n` runs more (or fewer, but
/// the tests demand at least 200).
fn programs() -> u64 {
    std::env::var("REGARENA_E2E_PROGRAMS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(220)
}
const FUEL: u64 = 10_000_000;

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}

/// Runs every generated program on `target`; returns how many ran.
fn run_all(target: Target) -> usize {
    let mut ran = 0;
    let mut failures = Vec::new();
    let count = programs();
    for seed in 0..count {
        let p = gen::program(seed);
        let module = ir::parse(&p.text).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let main = module.func_index("main").unwrap();
        let expected = ir::interpret(&module, main, &p.args, FUEL)
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        // A panic inside the allocator (an unfinished phase) is recorded
        // like an error, so the summary still names every program.
        let outcome = std::panic::catch_unwind(|| -> Result<i64, String> {
            let compiled =
                compile_module(&*target.backend(), &module).map_err(|e| e.to_string())?;
            let spilled = compiled
                .funcs
                .iter()
                .filter(|f| f.output.num_spillslots > 0)
                .count();
            let offset = compiled.funcs[main].offset;
            let result = match target {
                // SAFETY: code from this crate's emitter, main takes <= 6 ints.
                Target::X64 => unsafe { exec::run_x64(&compiled.code, offset, &p.args) },
                Target::Aarch64 => exec::run_aarch64(&compiled.code, offset, &p.args),
            };
            SPILLING_FUNCS.with(|c| c.set(c.get() + spilled));
            result.map_err(|e| e.to_string())
        });
        match outcome {
            Ok(Ok(got)) if got == expected => ran += 1,
            Ok(Ok(got)) => failures.push(format!(
                "seed {seed}: got {got}, interpreter says {expected}\n{}",
                p.text
            )),
            Ok(Err(e)) => failures.push(format!("seed {seed}: {e}")),
            Err(panic) => failures.push(format!(
                "seed {seed}: allocator panicked: {}",
                panic_text(&*panic)
            )),
        }
    }
    let spilling = SPILLING_FUNCS.with(|c| c.replace(0));
    report!("{target:?}: {ran} of {count} generated programs ran and matched the interpreter ({spilling} functions used spill slots)");
    assert!(
        failures.is_empty(),
        "{target:?}: {} of {count} programs failed; first: {}",
        failures.len(),
        failures[0]
    );
    // The generator aims at more live values than registers: spilling must
    // actually be exercised, or these tests prove less than they claim.
    assert!(
        spilling >= count as usize / 2,
        "only {spilling} functions spilled"
    );
    ran
}

thread_local! {
    static SPILLING_FUNCS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

#[test]
fn x64_generated_programs_match_the_interpreter() {
    if !cfg!(target_arch = "x86_64") {
        report!("SKIP x64 end-to-end: the host is not x86_64");
        return;
    }
    assert!(run_all(Target::X64) >= 200);
}

#[test]
fn aarch64_generated_programs_match_the_interpreter_under_qemu() {
    if regarena_isa::exec::qemu_aarch64().is_none() {
        report!("SKIP aarch64 end-to-end: qemu-aarch64-static not found (apt-get install -y qemu-user-static)");
        return;
    }
    assert!(run_all(Target::Aarch64) >= 200);
}

#[test]
fn fib_example_computes_6765_on_both_isas() {
    let module = ir::parse(include_str!("../../examples/fib.ir")).unwrap();
    if cfg!(target_arch = "x86_64") {
        assert_eq!(run_module(&module, Target::X64, &[20]), Ok(6765));
    }
    if regarena_isa::exec::qemu_aarch64().is_some() {
        assert_eq!(run_module(&module, Target::Aarch64, &[20]), Ok(6765));
    } else {
        report!("SKIP aarch64 fib: qemu-aarch64-static not found");
    }
}

#[test]
fn compile_cli_runs_fib_and_prints_a_listing() {
    let fib = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/fib.ir");
    let mut out = Vec::new();
    regarena_isa::compile::run_cli(&fib, "x64", Some(&[20]), &mut out).unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), "6765\n");
    if regarena_isa::exec::qemu_aarch64().is_some() {
        let mut out = Vec::new();
        regarena_isa::compile::run_cli(&fib, "aarch64", Some(&[20]), &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "6765\n");
    }
    let mut out = Vec::new();
    regarena_isa::compile::run_cli(&fib, "aarch64", None, &mut out).unwrap();
    let listing = String::from_utf8(out).unwrap();
    assert!(
        listing.contains("fn fib_rec @") && listing.contains("bl "),
        "{listing}"
    );
    let mut out = Vec::new();
    regarena_isa::compile::run_cli(&fib, "x64", None, &mut out).unwrap();
    let listing = String::from_utf8(out).unwrap();
    assert!(
        listing.contains("fn main @") && listing.contains("call "),
        "{listing}"
    );
}
