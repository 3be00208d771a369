//! The Wasmtime end-to-end runner: one source, built twice (`upstream/`
//! against regalloc2 0.15.2, `regarena/` patched to regarena through
//! `compat/regalloc2`). Each subcommand does one measurement in this
//! process and prints one JSON object on stdout; `e2e/run` starts both
//! builds as subprocesses and compares what they print, so a crash in one
//! program is reported, not fatal to the run.
//!
//! Subcommands:
//! - `program WASM [--checker] [--single-pass] [--runs N]`: compile and run
//!   a Sightglass program (WASI p1, `bench.start`/`bench.end` as no-ops,
//!   its `inputs/<name>/` preopened as `.`, fixed random and clock seeds);
//!   exit code, stdout and stderr (hashes, lengths, and the text), and
//!   the median run time.
//! - `wast DIR_OR_FILES... [--checker] [--single-pass]`: every `.wast`
//!   file in a fresh `WastContext`; pass or the error, per file.
//! - `compile WASM [--repeat N]`: median seconds of
//!   `Engine::precompile_module`, and the `.text` size of the result.
//! - `capture WASM --out DIR [--target x86_64|aarch64]` (regarena build
//!   only): every function Cranelift allocates, as regalloc2-tool files,
//!   named like the dev corpus (`<module>-<target>-<N>.bin`, N the index
//!   among the module's defined functions); Wasmtime's trampolines are
//!   left out. `--all` keeps them too (the raw capture, for the
//!   independent check), with the allocator's output beside each function.
//!
//! - `report --upstream BIN --regarena BIN --tool BIN --wasm DIR --wast DIR
//!   [--json]`: the whole comparison `e2e/run` prints (see `report.rs`).
//!
//! `--checker` turns on Cranelift's `regalloc_checker` setting (the
//! allocator's own checker on every function, inside Cranelift) and its
//! IR verifier.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};
use wasmtime::{Config, Engine, Linker, Module, OptLevel, Store};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{FsPerms, HostMonotonicClock, HostWallClock, WasiCtxBuilder};

mod report;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match dispatch(&args) {
        // `report` returns its text report as a string, printed as is.
        Ok(Value::String(text)) => println!("{text}"),
        Ok(value) => println!("{value}"),
        Err(e) => {
            println!("{}", json!({ "error": format!("{e:#}") }));
            std::process::exit(2);
        }
    }
}

/// Command-line flags shared by the subcommands.
#[derive(Default)]
struct Flags {
    checker: bool,
    single_pass: bool,
    all: bool,
    runs: Option<usize>,
    repeat: Option<usize>,
    out: Option<PathBuf>,
    target: Option<String>,
    paths: Vec<PathBuf>,
}

fn parse_flags(args: &[String]) -> Result<Flags> {
    let mut flags = Flags::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| anyhow!("{name} needs a value"))
        };
        match arg.as_str() {
            "--checker" => flags.checker = true,
            "--single-pass" => flags.single_pass = true,
            "--all" => flags.all = true,
            "--runs" => flags.runs = Some(value("--runs")?.parse().context("--runs")?),
            "--repeat" => flags.repeat = Some(value("--repeat")?.parse().context("--repeat")?),
            "--out" => flags.out = Some(PathBuf::from(value("--out")?)),
            "--target" => flags.target = Some(value("--target")?),
            other if other.starts_with("--") => bail!("unknown flag {other}"),
            path => flags.paths.push(PathBuf::from(path)),
        }
    }
    Ok(flags)
}

fn dispatch(args: &[String]) -> Result<Value> {
    let Some((command, rest)) = args.split_first() else {
        bail!("usage: wasmtime-e2e program|wast|compile|capture ... (see src/main.rs)");
    };
    if command == "report" {
        return report::run(rest);
    }
    let flags = parse_flags(rest)?;
    match command.as_str() {
        "program" => run_program(&flags),
        "wast" => run_wast(&flags),
        "compile" => compile_time(&flags),
        "capture" => capture(&flags),
        other => bail!("unknown subcommand {other}"),
    }
}

/// The engine configuration every measurement uses: Cranelift at
/// `opt_level = speed`, no compilation cache, and optionally the regalloc
/// checker with the verifier, or the single-pass allocator.
fn config(flags: &Flags) -> Result<Config> {
    let mut config = Config::new();
    config.cranelift_opt_level(OptLevel::Speed);
    config.cache(None);
    if flags.checker {
        // SAFETY: `regalloc_checker` only adds checking; it changes no code.
        unsafe {
            config.cranelift_flag_enable("regalloc_checker");
        }
        config.cranelift_debug_verifier(true);
    }
    if flags.single_pass {
        config.cranelift_regalloc_algorithm(wasmtime::RegallocAlgorithm::SinglePass);
    }
    Ok(config)
}

/// The proposals the spec suite exercises (all of them pass under
/// upstream with this set).
fn enable_spec_proposals(config: &mut Config) {
    config
        .wasm_gc(true)
        .wasm_function_references(true)
        .wasm_reference_types(true)
        .wasm_exceptions(true)
        .wasm_tail_call(true)
        .wasm_memory64(true)
        .wasm_multi_memory(true)
        .wasm_relaxed_simd(true)
        .wasm_extended_const(true)
        .wasm_custom_page_sizes(true)
        .wasm_wide_arithmetic(true)
        .wasm_stack_switching(true);
}

fn module_name(wasm: &Path) -> Result<String> {
    Ok(wasm
        .file_stem()
        .and_then(|s| s.to_str())
        .ok_or_else(|| anyhow!("{}: no file name", wasm.display()))?
        .to_string())
}

/// FNV-1a, 64 bits: a stable digest of a program's output for reports
/// (the outputs themselves are compared byte for byte too).
fn fnv64(bytes: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= b as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// A wall clock frozen at a fixed date and a monotonic clock that ticks
/// one microsecond per reading: programs that print times print the same.
struct FixedWallClock;
impl HostWallClock for FixedWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }
    fn now(&self) -> Duration {
        Duration::from_secs(1_700_000_000)
    }
}
struct TickingClock(std::sync::atomic::AtomicU64);
impl HostMonotonicClock for TickingClock {
    fn resolution(&self) -> u64 {
        1
    }
    fn now(&self) -> u64 {
        self.0
            .fetch_add(1_000, std::sync::atomic::Ordering::Relaxed)
    }
}

struct ProgramRun {
    exit: i32,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    seconds: f64,
}

fn run_once(engine: &Engine, module: &Module, name: &str, inputs: &Path) -> Result<ProgramRun> {
    let stdout = MemoryOutputPipe::new(64 << 20);
    let stderr = MemoryOutputPipe::new(64 << 20);
    let mut builder = WasiCtxBuilder::new();
    builder
        .args(&[name])
        .stdout(stdout.clone())
        .stderr(stderr.clone())
        .secure_random(wasmtime_wasi::Deterministic::new(vec![
            7, 11, 13, 17, 19, 23,
        ]))
        .insecure_random(wasmtime_wasi::Deterministic::new(vec![3, 5, 7, 9]))
        .insecure_random_seed(0x5eed)
        .wall_clock(FixedWallClock)
        .monotonic_clock(TickingClock(0.into()));
    if inputs.is_dir() {
        builder
            .preopened_dir(inputs, ".", FsPerms::ReadWrite)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("preopen {}", inputs.display()))?;
    }
    let wasi: WasiP1Ctx = builder.build_p1();
    let mut linker: Linker<WasiP1Ctx> = Linker::new(engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |cx| cx)?;
    linker.func_wrap("bench", "start", || {})?;
    linker.func_wrap("bench", "end", || {})?;
    let mut store = Store::new(engine, wasi);
    let start = Instant::now();
    let instance = linker.instantiate(&mut store, module)?;
    let entry = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
    let exit = match entry.call(&mut store, ()) {
        Ok(()) => 0,
        Err(e) => match e.downcast_ref::<wasmtime_wasi::I32Exit>() {
            Some(exit) => exit.0,
            // A trap: reported as exit 128 with the message on stderr.
            None => {
                let seconds = start.elapsed().as_secs_f64();
                let mut err = stderr.contents().to_vec();
                err.extend_from_slice(format!("\ntrap: {e:#}\n").as_bytes());
                return Ok(ProgramRun {
                    exit: 128,
                    stdout: stdout.contents().to_vec(),
                    stderr: err,
                    seconds,
                });
            }
        },
    };
    let seconds = start.elapsed().as_secs_f64();
    Ok(ProgramRun {
        exit,
        stdout: stdout.contents().to_vec(),
        stderr: stderr.contents().to_vec(),
        seconds,
    })
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs[xs.len() / 2]
}

fn run_program(flags: &Flags) -> Result<Value> {
    let [wasm] = flags.paths.as_slice() else {
        bail!("program: one .wasm file");
    };
    let name = module_name(wasm)?;
    let inputs = wasm
        .parent()
        .unwrap_or(Path::new("."))
        .join("inputs")
        .join(&name);
    let engine = Engine::new(&config(flags)?)?;
    let bytes = std::fs::read(wasm).with_context(|| format!("read {}", wasm.display()))?;
    let module = Module::new(&engine, &bytes)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("compile {name}"))?;
    let runs = flags.runs.unwrap_or(1).max(1);
    let first = run_once(&engine, &module, &name, &inputs)?;
    let mut seconds = vec![first.seconds];
    for _ in 1..runs {
        let again = run_once(&engine, &module, &name, &inputs)?;
        if (again.exit, &again.stdout, &again.stderr) != (first.exit, &first.stdout, &first.stderr)
        {
            bail!("{name}: two runs of the same build printed different output");
        }
        seconds.push(again.seconds);
    }
    Ok(json!({
        "module": name,
        "exit": first.exit,
        "stdout_len": first.stdout.len(),
        "stdout_hash": fnv64(&first.stdout),
        "stderr_hash": fnv64(&first.stderr),
        "stdout": String::from_utf8_lossy(&first.stdout),
        "stderr": String::from_utf8_lossy(&first.stderr),
        "run_seconds": median(seconds),
    }))
}

fn wast_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut here: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("read {}", path.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "wast"))
                .collect();
            here.sort();
            files.extend(here);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

fn run_wast(flags: &Flags) -> Result<Value> {
    let mut config = config(flags)?;
    enable_spec_proposals(&mut config);
    let engine = Engine::new(&config)?;
    let mut results = serde_json::Map::new();
    for file in wast_files(&flags.paths)? {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| -> Result<()> {
            let mut cx =
                wasmtime_wast::WastContext::new(&engine, wasmtime_wast::Async::No, |_store| {});
            cx.register_spectest(&wasmtime_wast::SpectestConfig {
                use_shared_memory: true,
                suppress_prints: true,
            })?;
            Ok(cx.run_file(&file)?)
        }));
        let value = match outcome {
            Ok(Ok(())) => json!("pass"),
            Ok(Err(e)) => json!(format!("fail: {}", first_line(&format!("{e:#}")))),
            Err(_) => json!("fail: panicked"),
        };
        results.insert(name, value);
    }
    Ok(Value::Object(results))
}

fn first_line(text: &str) -> String {
    text.lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(300)
        .collect()
}

/// Size of the `.text` section of a precompiled module (an ELF image).
fn text_size(image: &[u8]) -> Result<u64> {
    use object::{Object, ObjectSection};
    let file = object::File::parse(image).context("parse the precompiled image")?;
    Ok(file
        .sections()
        .filter(|s| s.name().is_ok_and(|n| n == ".text"))
        .map(|s| s.size())
        .sum())
}

fn compile_time(flags: &Flags) -> Result<Value> {
    let [wasm] = flags.paths.as_slice() else {
        bail!("compile: one .wasm file");
    };
    let engine = Engine::new(&config(flags)?)?;
    let bytes = std::fs::read(wasm).with_context(|| format!("read {}", wasm.display()))?;
    let repeat = flags.repeat.unwrap_or(5).max(1);
    let mut seconds = Vec::new();
    let mut text = 0;
    for _ in 0..repeat {
        let start = Instant::now();
        let image = engine.precompile_module(&bytes)?;
        seconds.push(start.elapsed().as_secs_f64());
        text = text_size(&image)?;
    }
    Ok(json!({
        "module": module_name(wasm)?,
        "compile_seconds": median(seconds),
        "text_bytes": text,
    }))
}

#[cfg(not(feature = "capture"))]
fn capture(_flags: &Flags) -> Result<Value> {
    bail!(
        "capture needs the regarena build (e2e/wasmtime/regarena), which has the `capture` feature"
    )
}

#[cfg(feature = "capture")]
fn capture(flags: &Flags) -> Result<Value> {
    capture::run(flags)
}

#[cfg(feature = "capture")]
mod capture {
    //! Capture through the facade's `capture` feature: the facade writes
    //! every function it allocates to `$REGARENA_CAPTURE`, named by what
    //! this thread last told it. Wasmtime logs each function's symbol on
    //! the compiling thread just before Cranelift compiles it
    //! (`compiling Wasm function: ... = "wasm[0]::function[12]..."`,
    //! `finish compiling "..."`, `compiling ... trampoline: ...`), so a
    //! logger passes that symbol on.

    use super::*;

    struct SymbolLogger;

    impl log::Log for SymbolLogger {
        fn enabled(&self, metadata: &log::Metadata) -> bool {
            metadata.target().starts_with("wasmtime_internal_cranelift")
        }
        fn log(&self, record: &log::Record) {
            if !self.enabled(record.metadata()) {
                return;
            }
            let message = record.args().to_string();
            if let Some(symbol) = symbol_of(&message) {
                regalloc2::capture::set_function_name(symbol);
            }
        }
        fn flush(&self) {}
    }

    /// The quoted symbol of a "compiling"/"finish compiling" message.
    fn symbol_of(message: &str) -> Option<&str> {
        if !(message.starts_with("compiling") || message.starts_with("finish compiling")) {
            return None;
        }
        let start = message.find('"')? + 1;
        let end = start + message[start..].find('"')?;
        Some(&message[start..end])
    }

    /// `wasm[0]::function[N]...` (not a trampoline): the function index N.
    fn defined_function_index(symbol: &str) -> Option<u32> {
        if symbol.contains("trampoline") {
            return None;
        }
        let rest = symbol.split("::function[").nth(1)?;
        rest[..rest.find(']')?].parse().ok()
    }

    /// The number of imported functions (function indices start after them).
    fn imported_functions(bytes: &[u8]) -> Result<u32> {
        let mut count = 0;
        for payload in wasmparser::Parser::new(0).parse_all(bytes) {
            if let wasmparser::Payload::ImportSection(reader) = payload? {
                for import in reader.into_imports() {
                    if matches!(import?.ty, wasmparser::TypeRef::Func(_)) {
                        count += 1;
                    }
                }
            }
        }
        Ok(count)
    }

    pub fn run(flags: &Flags) -> Result<Value> {
        let [wasm] = flags.paths.as_slice() else {
            bail!("capture: one .wasm file");
        };
        let out = flags
            .out
            .clone()
            .ok_or_else(|| anyhow!("capture: --out DIR"))?;
        let target = flags.target.as_deref().unwrap_or("x86_64");
        let name = module_name(wasm)?;
        let bytes = std::fs::read(wasm).with_context(|| format!("read {}", wasm.display()))?;
        let raw = out.join(".raw");
        let _ = std::fs::remove_dir_all(&raw);
        std::fs::create_dir_all(&raw).with_context(|| format!("create {}", raw.display()))?;
        // Read once by the facade, at its first allocation.
        std::env::set_var("REGARENA_CAPTURE", &raw);
        log::set_logger(&SymbolLogger).map_err(|e| anyhow!("{e}"))?;
        log::set_max_level(log::LevelFilter::Trace);

        let mut config = config(flags)?;
        match target {
            "x86_64" => {
                config.target("x86_64-unknown-linux-gnu")?;
                // The x86-64-v3 feature set the dev corpus was captured with.
                for flag in [
                    "has_sse3",
                    "has_ssse3",
                    "has_sse41",
                    "has_sse42",
                    "has_popcnt",
                    "has_lzcnt",
                    "has_bmi1",
                    "has_bmi2",
                    "has_avx",
                    "has_avx2",
                    "has_fma",
                ] {
                    // SAFETY: these name features of the target we compile
                    // for; the code is only captured, never run here.
                    unsafe {
                        config.cranelift_flag_enable(flag);
                    }
                }
            }
            // The host's own flags: what `program` and `compile` run with.
            "host" => {}
            "aarch64" => {
                config.target("aarch64-unknown-linux-gnu").context(
                    "this runner was built with the host's backend only; \
                     build e2e/wasmtime/regarena with `--features all-arch`",
                )?;
            }
            other => bail!("--target {other}: x86_64, aarch64 or host"),
        }
        let engine = Engine::new(&config)?;
        engine.precompile_module(&bytes)?;

        let imported = imported_functions(&bytes)?;
        let mut files: Vec<PathBuf> = std::fs::read_dir(&raw)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        files.sort();
        let (mut functions, mut others) = (0usize, 0usize);
        for file in files {
            let file_name = file.file_name().unwrap().to_string_lossy().into_owned();
            let Some(stem) = file_name.strip_suffix(".bin") else {
                continue;
            };
            // `<sequence>-<symbol>`
            let symbol = stem.split_once('-').map_or("", |(_, s)| s);
            match defined_function_index(symbol) {
                Some(index) if index >= imported => {
                    let n = index - imported;
                    let dest = out.join(format!("{name}-{target}-{n}.bin"));
                    std::fs::rename(&file, &dest)?;
                    let output = file.with_extension("output");
                    if output.exists() && flags.all {
                        std::fs::rename(&output, dest.with_extension("output"))?;
                    }
                    functions += 1;
                }
                _ => {
                    others += 1;
                    if flags.all {
                        let dest = out.join(format!("{name}-{target}-other-{file_name}"));
                        std::fs::rename(&file, &dest)?;
                        let output = file.with_extension("output");
                        if output.exists() {
                            std::fs::rename(&output, dest.with_extension("output"))?;
                        }
                    }
                }
            }
        }
        if !flags.all {
            let _ = std::fs::remove_dir_all(&raw);
        }
        Ok(json!({
            "module": name,
            "target": target,
            "functions": functions,
            "trampolines_and_others": others,
            "out": out.display().to_string(),
        }))
    }
}
