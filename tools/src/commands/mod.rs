//! The `regarena` subcommands, one module each with a `run` function
//! taking its parsed arguments (the clap enum lives in `main.rs`), plus
//! what they share: loading inputs, allocating under a panic guard,
//! scoring edits, and a progress bar that shows only on long runs.
//!
//! Exit codes: 0 success; 1 some function failed (its file is named);
//! 2 the command could not run at all (bad arguments, an unwritable
//! output directory).

/// `writeln!` into a `String` report (writing to a `String` cannot fail).
macro_rules! outln {
    ($out:expr) => {{
        $out.push('\n');
    }};
    ($out:expr, $($arg:tt)*) => {{
        use std::fmt::Write as _;
        let _ = writeln!($out, $($arg)*);
    }};
}

pub mod alloc;
pub mod check;
pub mod compare;
pub mod compile;
pub mod cost;
pub mod dump;
pub mod gen;

pub mod guard;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::corpus::{self, CorpusFunction, LoadError};

/// What a command returns: its exit code, or a message (naming the file
/// concerned) when it could not run at all.
pub type CommandResult = Result<ExitCode, String>;

/// One function that failed, for reports.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Failure {
    /// The file (or `sample/<module>/<file>` for the embedded sample).
    pub file: String,
    pub error: String,
}

impl Failure {
    pub fn load(e: &LoadError) -> Failure {
        Failure {
            file: e.path.display().to_string(),
            error: e.message.clone(),
        }
    }
    pub fn of(cf: &CorpusFunction, error: String) -> Failure {
        Failure {
            file: cf.path.display().to_string(),
            error,
        }
    }
}

/// Loads the functions under `paths` (directories walked recursively,
/// files in path order), or the embedded sample when `paths` is empty.
pub fn load_inputs(paths: &[PathBuf]) -> (Vec<CorpusFunction>, Vec<LoadError>) {
    if paths.is_empty() {
        corpus::load_sample()
    } else {
        corpus::load_all(paths)
    }
}

/// The corpus groups of `funcs` in first-seen order, and each function's
/// group index.
pub fn groups(funcs: &[CorpusFunction]) -> (Vec<String>, Vec<usize>) {
    let mut names: Vec<String> = Vec::new();
    let index = funcs
        .iter()
        .map(|cf| match names.iter().position(|g| *g == cf.group) {
            Some(i) => i,
            None => {
                names.push(cf.group.clone());
                names.len() - 1
            }
        })
        .collect();
    (names, index)
}

/// A progress bar on stderr that stays hidden for the first second, so
/// short runs print nothing; it never writes to stdout.
#[derive(Debug)]
pub struct Progress {
    bar: ProgressBar,
    start: Instant,
    shown: AtomicBool,
}

impl Progress {
    const DELAY: Duration = Duration::from_secs(1);

    pub fn new(len: u64, what: &str) -> Progress {
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden());
        if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} {elapsed}") {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(what.to_string());
        Progress {
            bar,
            start: Instant::now(),
            shown: AtomicBool::new(false),
        }
    }

    /// Counts `n` more items done; shows the bar once the run passes a second.
    pub fn inc(&self, n: u64) {
        self.bar.inc(n);
        if !self.shown.load(Ordering::Relaxed)
            && self.start.elapsed() > Self::DELAY
            && !self.shown.swap(true, Ordering::Relaxed)
        {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
    }

    /// Removes the bar from the terminal.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// Runs `f` on a rayon pool of `jobs` threads (or on this thread when
/// `jobs` is 1), for a deterministic choice of parallelism.
pub fn with_jobs<T: Send>(jobs: usize, f: impl FnOnce() -> T + Send) -> Result<T, String> {
    if jobs <= 1 {
        return Ok(f());
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(|e| format!("cannot start {jobs} worker threads: {e}"))?;
    Ok(pool.install(f))
}

/// Writes a finished report to stdout. A closed pipe (`| head`) is not an
/// error: the reader has what it wanted.
pub fn write_stdout(text: &str) -> Result<(), String> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(format!("writing to stdout: {e}"))
        }
        _ => Ok(()),
    }
}

/// Writes `value` as one line of JSON on stdout.
pub fn print_json(value: &impl serde::Serialize) -> Result<(), String> {
    let mut text = serde_json::to_string(value).map_err(|e| format!("writing JSON: {e}"))?;
    text.push('\n');
    write_stdout(&text)
}
