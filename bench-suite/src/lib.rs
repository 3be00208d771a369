//! Benchmark harness of regarena against upstream regalloc2: finding and
//! loading the corpus, running one function on one side (ours, upstream
//! Ion, upstream fastalloc) with a reused `Ctx`, and screening out the
//! functions a side cannot allocate so every side times the same set.
//!
//! Reads: regalloc2-tool corpus files (via `regarena_tools::corpus`), or
//! generated functions. Writes: nothing; the benches and the `heap` binary
//! print. See docs/ion.md ("Benchmarks and measurement") for what each bench measures.

use std::fmt;
use std::path::PathBuf;

use regarena::{FunctionData, MachineEnv, RegAllocError, RegallocOptions};
use regarena_tools::corpus::{self, CorpusFunction, LoadError};
pub use regarena_tools::upstream::ra2;

/// Environment variable naming the corpus: one or more paths separated
/// like `PATH` (`:` on Unix), each a directory tree of `.bin` files or a
/// single file.
pub const CORPUS_VAR: &str = "REGARENA_CORPUS";

/// Where the benchmark functions come from, in order of preference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CorpusSource {
    /// The paths in [`CORPUS_VAR`].
    Env(Vec<PathBuf>),
    /// The shared dev corpus beside the repository.
    Shared(PathBuf),
    /// The sample corpus embedded in the tools crate
    /// ([`corpus::load_sample`]): no file is read.
    Sample,
}

impl CorpusSource {
    /// The paths to load (none for the embedded sample).
    pub fn roots(&self) -> &[PathBuf] {
        match self {
            CorpusSource::Env(paths) => paths,
            CorpusSource::Shared(path) => std::slice::from_ref(path),
            CorpusSource::Sample => &[],
        }
    }

    /// Loads the source's functions, grouped as [`load_groups`] does.
    pub fn load(&self) -> (Vec<Group>, Vec<LoadError>) {
        match self {
            CorpusSource::Sample => {
                let (funcs, errors) = corpus::load_sample();
                (group_by_directory(funcs), errors)
            }
            _ => load_groups(self.roots()),
        }
    }
}

impl fmt::Display for CorpusSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (what, roots) = match self {
            CorpusSource::Env(_) => (CORPUS_VAR, self.roots()),
            CorpusSource::Shared(_) => ("shared corpus", self.roots()),
            CorpusSource::Sample => ("embedded sample corpus", self.roots()),
        };
        write!(f, "{what}:")?;
        for root in roots {
            write!(f, " {}", root.display())?;
        }
        Ok(())
    }
}

/// Picks the corpus: [`CORPUS_VAR`] when set (every path must exist),
/// else the shared corpus, else the embedded sample. The error (a path in
/// [`CORPUS_VAR`] that does not exist) is for the caller to print before
/// skipping.
pub fn corpus_source() -> Result<CorpusSource, String> {
    if let Some(value) = std::env::var_os(CORPUS_VAR).filter(|v| !v.is_empty()) {
        let paths: Vec<PathBuf> = std::env::split_paths(&value).collect();
        if let Some(missing) = paths.iter().find(|p| !p.exists()) {
            return Err(format!(
                "{CORPUS_VAR}: {} does not exist",
                missing.display()
            ));
        }
        return Ok(CorpusSource::Env(paths));
    }
    Ok(corpus::shared_corpus().map_or(CorpusSource::Sample, CorpusSource::Shared))
}

/// The functions of one corpus directory, in path order.
#[derive(Debug)]
pub struct Group {
    /// The directory's name relative to its root (the criterion group).
    pub name: String,
    pub funcs: Vec<CorpusFunction>,
}

impl Group {
    /// Instructions over all functions (the throughput unit).
    pub fn insts(&self) -> u64 {
        self.funcs.iter().map(|f| f.func.insts.len() as u64).sum()
    }
}

/// Loads every function under `roots` and groups them by directory, groups
/// in the order first met (path order), functions in path order.
pub fn load_groups(roots: &[PathBuf]) -> (Vec<Group>, Vec<LoadError>) {
    let (funcs, errors) = corpus::load_all(roots);
    (group_by_directory(funcs), errors)
}

/// Groups `funcs` by their corpus group, in the order first met.
fn group_by_directory(funcs: Vec<CorpusFunction>) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for func in funcs {
        match groups.iter_mut().find(|g| g.name == func.group) {
            Some(group) => group.funcs.push(func),
            None => groups.push(Group {
                name: func.group.clone(),
                funcs: vec![func],
            }),
        }
    }
    groups
}

/// One allocator configuration being compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// regarena (its Ion).
    OursIon,
    /// regalloc2 0.15.2, `Algorithm::Ion`.
    UpstreamIon,
    /// regalloc2 0.15.2, `Algorithm::Fastalloc` (fast, poorer code).
    UpstreamFastalloc,
}

impl Side {
    /// Every side, in report order.
    pub const ALL: [Side; 3] = [Side::OursIon, Side::UpstreamIon, Side::UpstreamFastalloc];

    /// `(implementation, algorithm)`: the criterion function id reads
    /// `implementation/algorithm`.
    pub fn id(self) -> (&'static str, &'static str) {
        match self {
            Side::OursIon => ("ours", "ion"),
            Side::UpstreamIon => ("upstream", "ion"),
            Side::UpstreamFastalloc => ("upstream", "fastalloc"),
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (implementation, algorithm) = self.id();
        write!(f, "{implementation}/{algorithm}")
    }
}

/// The command line of the profiling examples, `[REPEAT] [PATH...]`: the
/// repeat count (`default_repeat` when the first argument is not a
/// number) and the functions of the paths, else of `../shared/corpus`,
/// else of the embedded sample. Files that fail to load are reported on
/// stderr and left out.
pub fn example_inputs(default_repeat: usize) -> (usize, Vec<CorpusFunction>) {
    let mut args = std::env::args().skip(1).peekable();
    let repeat = match args.peek().and_then(|a| a.parse().ok()) {
        Some(n) => {
            args.next();
            n
        }
        None => default_repeat,
    };
    let paths: Vec<PathBuf> = args.map(PathBuf::from).collect();
    let (funcs, errors) = if paths.is_empty() {
        match corpus::shared_corpus() {
            Some(dir) => corpus::load_all(&[dir]),
            None => corpus::load_sample(),
        }
    } else {
        corpus::load_all(&paths)
    };
    for e in &errors {
        eprintln!("{e}");
    }
    (repeat, funcs)
}

/// Warns on stderr when the upstream linked into this program was built
/// with its `trace-log` feature (see
/// `regarena_tools::upstream::upstream_traces`), naming `fair_build`, the
/// command that builds it without. A build that includes
/// `regarena-tools`' dev-dependencies (`cargo bench --workspace`, `cargo
/// test`) turns the feature on through `regalloc2/fuzzing`, and upstream
/// then runs about 10% slower; this package's own builds do not.
pub fn warn_if_upstream_traces(fair_build: &str) {
    if regarena_tools::upstream::upstream_traces() == Some(true) {
        eprintln!(
            "warning: upstream regalloc2 here is built with `trace-log` (regarena-tools' \
             dev-dependency features, unified by a workspace-wide build), so it runs about \
             10% slower and time ratios flatter regarena; for fair figures: {fair_build}"
        );
    }
}

/// Options for our runs: the defaults, as a backend calls in production
/// (no SSA validation).
pub fn ours_options() -> RegallocOptions {
    RegallocOptions::default()
}

/// Options for upstream runs with `algorithm`, otherwise its defaults.
pub fn upstream_options(algorithm: ra2::Algorithm) -> ra2::RegallocOptions {
    ra2::RegallocOptions {
        algorithm,
        ..ra2::RegallocOptions::default()
    }
}

/// One reused context per allocator, as a backend keeps them.
#[derive(Default)]
pub struct Runner {
    pub ours: regarena::Ctx,
    pub upstream: ra2::Ctx,
}

impl fmt::Debug for Runner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runner")
            .field("ours", &self.ours)
            .finish_non_exhaustive()
    }
}

impl Runner {
    /// Allocates `func` with ours; returns the number of edits.
    pub fn ours(&mut self, func: &FunctionData, env: &MachineEnv) -> Result<usize, RegAllocError> {
        regarena::run_with_ctx(func, env, &ours_options(), &mut self.ours).map(|o| o.edits.len())
    }

    /// Allocates `func` with upstream's `algorithm`; returns the number of
    /// edits.
    pub fn upstream(
        &mut self,
        func: &impl ra2::Function,
        env: &ra2::MachineEnv,
        algorithm: ra2::Algorithm,
    ) -> Result<usize, ra2::RegAllocError> {
        let options = upstream_options(algorithm);
        ra2::run_with_ctx(func, env, &options, &mut self.upstream).map(|o| o.edits.len())
    }

    /// Allocates one corpus function on `side`; the error is printable.
    pub fn run(&mut self, side: Side, f: &CorpusFunction) -> Result<usize, String> {
        match side {
            Side::OursIon => self.ours(&f.func, &f.env).map_err(|e| e.to_string()),
            Side::UpstreamIon => self
                .upstream(&f.upstream, f.upstream.machine_env(), ra2::Algorithm::Ion)
                .map_err(|e| e.to_string()),
            Side::UpstreamFastalloc => self
                .upstream(
                    &f.upstream,
                    f.upstream.machine_env(),
                    ra2::Algorithm::Fastalloc,
                )
                .map_err(|e| e.to_string()),
        }
    }
}

/// One function a side could not allocate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub path: PathBuf,
    pub side: Side,
    pub error: String,
}

/// The result of [`screen`].
#[derive(Debug)]
pub struct Screened {
    /// Functions every side allocates.
    pub kept: Vec<CorpusFunction>,
    /// Every failure seen, side by side, in function order.
    pub failures: Vec<Failure>,
    /// Functions left out.
    pub skipped: usize,
}

impl Screened {
    /// A one-line note about what was left out and why (first failure of
    /// each side), or `None` when nothing failed.
    pub fn note(&self, group: &str) -> Option<String> {
        if self.failures.is_empty() {
            return None;
        }
        let mut note = format!(
            "{group}: {} of {} functions left out of every side",
            self.skipped,
            self.kept.len() + self.skipped
        );
        for side in Side::ALL {
            let mut of_side = self.failures.iter().filter(|f| f.side == side);
            if let Some(first) = of_side.next() {
                note.push_str(&format!(
                    "; {side} fails on {} (first: {}: {})",
                    1 + of_side.count(),
                    first.path.display(),
                    first.error
                ));
            }
        }
        Some(note)
    }
}

/// Runs every side once on every function (which also warms the
/// contexts) and keeps the functions all sides allocate, so each side is
/// timed on the same set.
pub fn screen(funcs: Vec<CorpusFunction>, runner: &mut Runner) -> Screened {
    let mut kept = Vec::with_capacity(funcs.len());
    let mut failures = Vec::new();
    let mut skipped = 0;
    for f in funcs {
        let mut failed = false;
        for side in Side::ALL {
            if let Err(error) = runner.run(side, &f) {
                failed = true;
                failures.push(Failure {
                    path: f.path.clone(),
                    side,
                    error,
                });
            }
        }
        if failed {
            skipped += 1;
        } else {
            kept.push(f);
        }
    }
    Screened {
        kept,
        failures,
        skipped,
    }
}

/// The machine of generated functions converted for upstream.
pub fn upstream_env(env: &MachineEnv) -> ra2::MachineEnv {
    regarena_tools::upstream::env_up(env)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first directory of the shared corpus, else the embedded
    /// sample's first group.
    /// Says which one on stderr, past libtest's capture.
    fn sample_groups(test: &str) -> Vec<Group> {
        let first_dir = corpus::shared_corpus().and_then(|dir| {
            std::fs::read_dir(&dir)
                .ok()?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_dir())
                .min()
        });
        let Some(dir) = first_dir else {
            let (mut groups, errors) = CorpusSource::Sample.load();
            assert!(errors.is_empty(), "{errors:?}");
            groups.truncate(1);
            regarena_tools::test_corpus::announce(&format!(
                "{test}: runs on the embedded sample's first group ({})",
                groups[0].name
            ));
            return groups;
        };
        regarena_tools::test_corpus::announce(&format!("{test}: runs on {}", dir.display()));
        let (groups, errors) = load_groups(&[dir]);
        assert!(errors.is_empty(), "{errors:?}");
        groups
    }

    #[test]
    fn one_directory_is_one_group_in_path_order() {
        let groups = sample_groups("one_directory_is_one_group_in_path_order");
        assert_eq!(groups.len(), 1);
        let paths: Vec<_> = groups[0].funcs.iter().map(|f| f.path.clone()).collect();
        let mut sorted = paths.clone();
        sorted.sort();
        assert_eq!(paths, sorted);
        assert!(groups[0].insts() > 0);
    }

    #[test]
    fn screening_keeps_only_what_every_side_allocates() {
        let mut groups = sample_groups("screening_keeps_only_what_every_side_allocates");
        let mut funcs = groups.remove(0).funcs;
        funcs.truncate(3);
        let total = funcs.len();
        let mut runner = Runner::default();
        let screened = screen(funcs, &mut runner);
        assert_eq!(screened.kept.len() + screened.skipped, total);
        let mut again = Runner::default();
        for f in &screened.kept {
            for side in Side::ALL {
                assert!(again.run(side, f).is_ok(), "{side} on {}", f.path.display());
            }
        }
        // Every left-out function has a recorded failure and the note says so.
        assert_eq!(screened.skipped == 0, screened.note("g").is_none());
    }

    #[test]
    fn embedded_sample_loads_without_files_grouped_by_module() {
        let (groups, errors) = CorpusSource::Sample.load();
        assert!(errors.is_empty(), "{errors:?}");
        assert!(groups.len() >= 5, "{} groups", groups.len());
        let total: usize = groups.iter().map(|g| g.funcs.len()).sum();
        assert_eq!(total, corpus::SAMPLE_FILES.len());
        for g in &groups {
            assert!(g.funcs.iter().all(|f| f.group == g.name));
            assert!(g.insts() > 0);
        }
    }

    #[test]
    fn corpus_source_and_side_names_print_as_documented() {
        // Only the pure parts: the variable itself is process-wide state.
        let source = CorpusSource::Env(vec![PathBuf::from("/a"), PathBuf::from("/b")]);
        assert_eq!(source.roots().len(), 2);
        assert_eq!(source.to_string(), format!("{CORPUS_VAR}: /a /b"));
        assert_eq!(Side::UpstreamFastalloc.to_string(), "upstream/fastalloc");
        assert!(CorpusSource::Sample.roots().is_empty());
    }
}
