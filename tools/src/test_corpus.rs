//! The corpus a test runs on: `../shared/corpus` beside the repository
//! when it is there (the developers' corpus of about 2,700 functions),
//! else the 40-function sample embedded in this crate, so a fresh clone
//! tests the same code paths on less data.
//!
//! [`load`] says which one a test used on the process's stderr handle
//! directly (`std::io::stderr().write_all`), not through `eprintln!`:
//! libtest captures the print macros of passing tests, so a message sent
//! through them would never appear in a plain `cargo test` run.

use std::fmt;
use std::io::Write as _;

use crate::corpus::{self, CorpusFunction};

/// Which corpus a test ran on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// `../shared/corpus`, the full developers' corpus.
    Shared,
    /// The sample embedded in the binary (`tools/sample/`).
    Sample,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Shared => "../shared/corpus",
            Source::Sample => "the embedded sample (../shared/corpus is absent)",
        })
    }
}

/// The functions a test runs on and where they came from.
#[derive(Debug)]
pub struct TestCorpus {
    /// Where the functions came from.
    pub source: Source,
    /// Every function, in path order.
    pub funcs: Vec<CorpusFunction>,
}

impl TestCorpus {
    /// The fewest functions a test may expect: most of the shared corpus's
    /// size when that is loaded, else the sample's.
    pub fn expected_at_least(&self) -> usize {
        match self.source {
            Source::Shared => 1000,
            Source::Sample => corpus::SAMPLE_FILES.len(),
        }
    }
}

/// Loads the shared corpus, else the embedded sample, and writes
/// `<test>: runs on <source> (<n> functions)` to stderr uncaptured.
/// Panics if any file fails to load: a test corpus is known-good.
pub fn load(test: &str) -> TestCorpus {
    let (source, (funcs, errors)) = match corpus::shared_corpus() {
        Some(dir) => (Source::Shared, corpus::load_all(&[dir])),
        None => (Source::Sample, corpus::load_sample()),
    };
    assert!(errors.is_empty(), "{test}: load errors: {errors:?}");
    assert!(!funcs.is_empty(), "{test}: {source} holds no function");
    announce(&format!(
        "{test}: runs on {source} ({} functions)",
        funcs.len()
    ));
    TestCorpus { source, funcs }
}

/// Writes one line to stderr past libtest's capture (see the module doc).
pub fn announce(line: &str) {
    let mut err = std::io::stderr().lock();
    // A failed write to stderr leaves nothing better to report to.
    let _ = writeln!(err, "{line}");
}
