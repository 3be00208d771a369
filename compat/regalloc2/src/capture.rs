//! Corpus capture: every function the allocator is asked to allocate,
//! written as a regalloc2-tool file (bincode 1.x of
//! `serialize::SerializableFunction`, the function with its `MachineEnv`)
//! to the directory named by `REGARENA_CAPTURE`, one file per call.
//!
//! Files are named `<sequence>-<name>.bin`: the sequence number counts the
//! process's calls (unique across threads); the name is what the caller
//! last gave [`set_function_name`] on this thread (Wasmtime's runner in
//! `e2e/wasmtime` passes the symbol Wasmtime logs before compiling each
//! function), or `unnamed`. Without `REGARENA_CAPTURE` nothing is written.
//!
//! Beside each function file, `<sequence>-<name>.output` holds the
//! allocator's result (bincode of `Output`).
//!
//! Capture never changes what is allocated and never fails a compilation:
//! a file that cannot be written is reported once on stderr.

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::OnceLock;

use regarena::serialize::SerializableFunction;
use regarena::{Ctx, Function, MachineEnv, Output, RegAllocError, RegClass, RegallocOptions};

static SEQUENCE: AtomicUsize = AtomicUsize::new(0);
static WRITE_FAILED: AtomicBool = AtomicBool::new(false);

thread_local! {
    static FUNCTION_NAME: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Names the functions this thread allocates from now on (until the next
/// call), for the captured files' names.
pub fn set_function_name(name: &str) {
    FUNCTION_NAME.with(|n| {
        let mut n = n.borrow_mut();
        n.clear();
        n.push_str(name);
    });
}

/// The capture directory, read once per process.
fn capture_dir() -> Option<&'static PathBuf> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| std::env::var_os("REGARENA_CAPTURE").map(PathBuf::from))
        .as_ref()
}

/// Whether any operand or block param of `func` is of class `Vector`.
fn uses_vector_class(func: &impl Function) -> bool {
    let is_vector = |class: RegClass| class == RegClass::Vector;
    (0..func.num_insts()).any(|i| {
        func.inst_operands(regarena::Inst::new(i))
            .iter()
            .any(|op| is_vector(op.class()))
    }) || (0..func.num_blocks()).any(|b| {
        func.block_params(regarena::Block::new(b))
            .iter()
            .any(|v| is_vector(v.class()))
    })
}

/// File name characters kept from a function name; others become `_`.
fn sanitize(name: &str) -> String {
    let name = if name.is_empty() { "unnamed" } else { name };
    name.chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '_' | '.' | '[' | ']' => c,
            _ => '_',
        })
        .take(160)
        .collect()
}

/// Writes `func` and `env` to the capture directory, if one is set, and
/// returns the file's path.
pub fn capture(func: &impl Function, env: &MachineEnv) -> Option<PathBuf> {
    let dir = capture_dir()?;
    // Cranelift's backends cannot answer `spillslot_size(Vector)` (they
    // panic); a function that uses no Vector value never needs it, and the
    // file then stores the Float size for it, as the dev corpus does.
    let int = func.spillslot_size(RegClass::Int);
    let float = func.spillslot_size(RegClass::Float);
    let vector = if uses_vector_class(func) {
        func.spillslot_size(RegClass::Vector)
    } else {
        float
    };
    let serializable =
        SerializableFunction::new_with_sizes(func, env.clone(), [int, float, vector]);
    let sequence = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    let name = FUNCTION_NAME.with(|n| sanitize(&n.borrow()));
    let path = dir.join(format!("{sequence:06}-{name}.bin"));
    let written = bincode::serialize(&serializable)
        .map_err(|e| e.to_string())
        .and_then(|bytes| {
            std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
            std::fs::write(&path, bytes).map_err(|e| e.to_string())
        });
    report(&path, written);
    Some(path)
}

/// Reports the first write error of the process on stderr.
fn report(path: &std::path::Path, written: Result<(), String>) {
    if let Err(e) = written {
        if !WRITE_FAILED.swap(true, Ordering::Relaxed) {
            eprintln!("regalloc2 capture: cannot write {}: {e}", path.display());
        }
    }
}

/// Writes the allocator's result beside its function (`.output`: bincode
/// of [`Output`]), so a checker outside this process can prove exactly the
/// result the caller received.
fn capture_output(function_file: Option<PathBuf>, output: &Output) {
    if let Some(file) = function_file {
        let path = file.with_extension("output");
        let written = bincode::serialize(output)
            .map_err(|e| e.to_string())
            .and_then(|bytes| std::fs::write(&path, bytes).map_err(|e| e.to_string()));
        report(&path, written);
    }
}

/// [`regarena::run`], capturing `func` first.
pub fn run<F: Function>(
    func: &F,
    env: &MachineEnv,
    options: &RegallocOptions,
) -> Result<Output, RegAllocError> {
    let file = capture(func, env);
    let result = regarena::run(func, env, options);
    if let Ok(output) = &result {
        capture_output(file, output);
    }
    result
}

/// [`regarena::run_with_ctx`], capturing `func` first.
pub fn run_with_ctx<'a, F: Function>(
    func: &F,
    env: &MachineEnv,
    options: &RegallocOptions,
    ctx: &'a mut Ctx,
) -> Result<&'a Output, RegAllocError> {
    let file = capture(func, env);
    let result = regarena::run_with_ctx(func, env, options, ctx);
    if let Ok(output) = &result {
        capture_output(file, output);
    }
    result
}
