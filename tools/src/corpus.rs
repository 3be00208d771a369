//! Reading corpora of regalloc2-tool files (bincode 1.x of
//! `regalloc2::serialize::SerializableFunction`, one function per file).
//!
//! A directory is walked recursively and its files are taken in path
//! order. A file that cannot be read or decoded yields an error naming it;
//! the caller goes on with the others.

use std::fmt;
use std::path::{Path, PathBuf};

use bincode::Options as _;
use regarena::{FunctionData, MachineEnv};

use crate::upstream::{self, ra2};

/// One corpus function, in both allocators' types.
pub struct CorpusFunction {
    /// The file it came from (or `sample/<name>` for embedded functions).
    pub path: PathBuf,
    /// The corpus group it reports under (its directory).
    pub group: String,
    /// As upstream reads it.
    pub upstream: ra2::serialize::SerializableFunction,
    /// As regarena reads it (converted once).
    pub func: FunctionData,
    pub env: MachineEnv,
}

impl fmt::Debug for CorpusFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CorpusFunction")
            .field("path", &self.path)
            .field("insts", &self.func.insts.len())
            .finish()
    }
}

/// A file that could not be loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    pub path: PathBuf,
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

impl std::error::Error for LoadError {}

/// Files under `paths` (files as given, directories walked recursively for
/// `*.bin`), sorted by path within each argument. An unreadable directory
/// is an error naming it.
pub fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, LoadError> {
    let mut files = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|e| LoadError {
            path: path.clone(),
            message: e.to_string(),
        })?;
        if meta.is_dir() {
            let mut found = Vec::new();
            walk(path, &mut found)?;
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), LoadError> {
    let entries = std::fs::read_dir(dir).map_err(|e| LoadError {
        path: dir.to_path_buf(),
        message: e.to_string(),
    })?;
    for entry in entries {
        let entry = entry.map_err(|e| LoadError {
            path: dir.to_path_buf(),
            message: e.to_string(),
        })?;
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "bin") {
            out.push(path);
        }
    }
    Ok(())
}

/// Decodes one regalloc2-tool file from bytes; `path` names it in errors.
///
/// Three steps, none of which can end the run: the bytes are decoded into
/// [`RawFunction`], a field-for-field mirror of upstream's
/// `SerializableFunction` (whose fields are private), and every length and
/// index the trait methods rely on is checked there ([`check_shape`]);
/// only then are they decoded as the real `SerializableFunction` and
/// converted, under a panic guard as the last line of defence (a panic is
/// an error naming the file).
pub fn decode(path: &Path, group: &str, bytes: &[u8]) -> Result<CorpusFunction, LoadError> {
    let error = |message: String| LoadError {
        path: path.to_path_buf(),
        message,
    };
    let raw: RawFunction = deserialize(bytes).map_err(&error)?;
    check_shape(&raw).map_err(&error)?;
    let upstream: ra2::serialize::SerializableFunction = deserialize(bytes).map_err(&error)?;
    let converted = crate::commands::guard::guarded(|| {
        let func = upstream::function(&upstream);
        let env = upstream::env(upstream.machine_env());
        (func, env)
    });
    let (func, env) = converted.map_err(|panic| error(format!("loader {panic}")))?;
    Ok(CorpusFunction {
        path: path.to_path_buf(),
        group: group.to_string(),
        upstream,
        func,
        env,
    })
}

/// bincode 1.x as regalloc2-tool writes it.
fn deserialize<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    // The byte limit keeps a corrupt length prefix from asking for more
    // memory than the file could describe.
    bincode::DefaultOptions::new()
        .with_fixint_encoding()
        .allow_trailing_bytes()
        .with_limit(bytes.len() as u64 * 64 + 4096)
        .deserialize(bytes)
        .map_err(|e| format!("not a regalloc2-tool function (regalloc2 0.15.2 bincode): {e}"))
}

/// `regalloc2::serialize::SerializableFunction`'s fields, in its order and
/// with its types, so that the same bytes decode into both and the loader
/// can check them before any upstream trait method indexes them (tests
/// also use it to write malformed files).
#[derive(Debug, serde::Deserialize, serde::Serialize)]
pub struct RawFunction {
    pub machine_env: ra2::MachineEnv,
    pub entry_block: ra2::Block,
    pub insts: Vec<RawInst>,
    /// Each block's `InstRange(from, to)`.
    pub blocks: Vec<(ra2::Inst, ra2::Inst)>,
    pub block_preds: Vec<Vec<ra2::Block>>,
    pub block_succs: Vec<Vec<ra2::Block>>,
    pub block_params_in: Vec<Vec<ra2::VReg>>,
    pub block_params_out: Vec<Vec<Vec<ra2::VReg>>>,
    pub num_vregs: usize,
    pub debug_value_labels: Vec<(ra2::VReg, ra2::Inst, ra2::Inst, u32)>,
    pub spillslot_size: Vec<usize>,
    pub multi_spillslot_named_by_last_slot: bool,
    pub allow_multiple_vreg_defs: bool,
}

/// Upstream's private `InstData`.
#[derive(Debug, serde::Deserialize, serde::Serialize)]
pub struct RawInst {
    pub op: RawOpcode,
    pub operands: Vec<ra2::Operand>,
    pub clobbers: ra2::PRegSet,
}

/// Upstream's private `InstOpcode` (same variants, same order).
#[derive(Debug, serde::Deserialize, serde::Serialize)]
pub enum RawOpcode {
    Op,
    Ret,
    Branch,
}

/// Checks every length and index the upstream trait methods and the
/// conversion index with: one entry per block in each per-block list,
/// one argument list per successor, three spill-slot sizes, instruction
/// ranges inside the instructions, block indices inside the blocks,
/// operands within the 43-bit encoding (`Operand::from_bits` asserts it in
/// debug builds, upstream's and ours). What
/// a valid function needs beyond that (the ranges partition the
/// instructions, SSA, ...) is the allocators' validation's job.
pub fn check_shape(f: &RawFunction) -> Result<(), String> {
    let num_blocks = f.blocks.len();
    let num_insts = f.insts.len();
    if f.spillslot_size.len() != 3 {
        return Err(format!(
            "{} spill slot sizes (one per register class: 3)",
            f.spillslot_size.len()
        ));
    }
    for (name, len) in [
        ("block_preds", f.block_preds.len()),
        ("block_succs", f.block_succs.len()),
        ("block_params_in", f.block_params_in.len()),
        ("block_params_out", f.block_params_out.len()),
    ] {
        if len != num_blocks {
            return Err(format!("{name} has {len} entries for {num_blocks} blocks"));
        }
    }
    if f.entry_block.index() >= num_blocks {
        return Err(format!(
            "entry block {} out of range",
            f.entry_block.index()
        ));
    }
    for (i, inst) in f.insts.iter().enumerate() {
        if let Some(op) = inst.operands.iter().find(|op| op.bits() >> 43 != 0) {
            return Err(format!(
                "instruction {i} has an operand with bits {:#x} past the 43-bit encoding",
                op.bits()
            ));
        }
    }
    for b in 0..num_blocks {
        let (from, to) = f.blocks[b];
        if from.index() > to.index() || to.index() > num_insts {
            return Err(format!(
                "block {b} has instructions {}..{} of {num_insts}",
                from.index(),
                to.index()
            ));
        }
        let succs = f.block_succs[b].len();
        let outs = f.block_params_out[b].len();
        if outs != succs {
            return Err(format!(
                "block {b} has {outs} branch argument lists for {succs} successors"
            ));
        }
        let bad_block = f.block_succs[b]
            .iter()
            .chain(&f.block_preds[b])
            .find(|x| x.index() >= num_blocks);
        if let Some(x) = bad_block {
            return Err(format!("block {b} names block {} out of range", x.index()));
        }
    }
    Ok(())
}

/// Reads and decodes one file.
pub fn load_file(path: &Path, group: &str) -> Result<CorpusFunction, LoadError> {
    let bytes = std::fs::read(path).map_err(|e| LoadError {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    decode(path, group, &bytes)
}

/// The group a file reports under: its parent directory relative to the
/// argument it was found under (the argument's own name for files
/// directly inside it).
pub fn group_of(root: &Path, file: &Path) -> String {
    let base = if root.is_dir() {
        root
    } else {
        root.parent().unwrap_or(root)
    };
    let parent = file.parent().unwrap_or(file);
    let rel = parent.strip_prefix(base).unwrap_or(parent);
    let name = if rel.as_os_str().is_empty() {
        base.file_name().map(|n| n.to_string_lossy().into_owned())
    } else {
        Some(rel.to_string_lossy().into_owned())
    };
    name.unwrap_or_else(|| ".".to_string())
}

/// Loads every file under `paths`; returns the functions and the errors.
pub fn load_all(paths: &[PathBuf]) -> (Vec<CorpusFunction>, Vec<LoadError>) {
    let mut funcs = Vec::new();
    let mut errors = Vec::new();
    for root in paths {
        match collect_files(std::slice::from_ref(root)) {
            Ok(files) => {
                for file in files {
                    let group = group_of(root, &file);
                    match load_file(&file, &group) {
                        Ok(f) => funcs.push(f),
                        Err(e) => errors.push(e),
                    }
                }
            }
            Err(e) => errors.push(e),
        }
    }
    (funcs, errors)
}

/// The default dev corpus beside the repository, if present.
pub fn shared_corpus() -> Option<PathBuf> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = here.join("../../shared/corpus");
    dir.is_dir().then_some(dir)
}

/// The sample corpus built into the binary: `(path under tools/sample,
/// file bytes)`, sorted by path. Forty Cranelift functions copied from the
/// dev corpus (both targets, nine modules, small to medium sizes), so the
/// commands work in a fresh clone with no corpus beside it.
pub static SAMPLE_FILES: &[(&str, &[u8])] = include!(concat!(env!("OUT_DIR"), "/sample_files.rs"));

/// Decodes the embedded sample corpus. Each function's path reads
/// `sample/<module>/<file>` and its group is `<module>`.
pub fn load_sample() -> (Vec<CorpusFunction>, Vec<LoadError>) {
    let mut funcs = Vec::new();
    let mut errors = Vec::new();
    for (rel, bytes) in SAMPLE_FILES {
        let group = rel.rsplit_once('/').map_or(".", |(dir, _)| dir);
        let path = Path::new("sample").join(rel);
        match decode(&path, group, bytes) {
            Ok(f) => funcs.push(f),
            Err(e) => errors.push(e),
        }
    }
    (funcs, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_corpus_decodes_in_path_order() {
        let (funcs, errors) = load_sample();
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(funcs.len(), SAMPLE_FILES.len());
        assert!(funcs.len() >= 30, "only {} sample functions", funcs.len());
        let paths: Vec<_> = funcs.iter().map(|f| f.path.clone()).collect();
        let mut sorted = paths.clone();
        sorted.sort();
        assert_eq!(paths, sorted);
        let groups: std::collections::BTreeSet<_> = funcs.iter().map(|f| &f.group).collect();
        assert!(groups.len() >= 5, "groups: {groups:?}");
        assert!(funcs.iter().all(|f| !f.group.contains('/')));
    }

    #[test]
    fn group_is_the_directory_under_the_argument() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample");
        let file = root.join("bz2/x.bin");
        assert_eq!(group_of(&root, &file), "bz2");
        assert_eq!(group_of(&root.join("bz2"), &file), "bz2");
    }
}
