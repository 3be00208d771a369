//! `regarena gen`: random valid functions as regalloc2-tool files.
//!
//! Reads nothing; writes `<out>/gen-<seed>-<i>.bin` for `i` in
//! `0..count`, each `regarena::gen::generate_from_seed` of a per-file seed
//! derived from `(seed, i)` and serialized by `upstream::to_tool_file`,
//! so every other subcommand and upstream's regalloc2-tool read them.
//! The same arguments always write the same bytes.

use std::path::PathBuf;
use std::process::ExitCode;

use regarena::gen::{generate_from_seed, GenOptions};

use super::CommandResult;
use crate::upstream;

/// Arguments of `regarena gen`.
#[derive(Debug, clap::Args)]
pub struct GenArgs {
    /// Approximate instructions per function.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    pub insts: u32,
    /// How many functions to write.
    #[arg(long, default_value_t = 10)]
    pub count: u32,
    /// Seed of the first function; the files are a function of it.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Directory to write into (created if missing).
    #[arg(long)]
    pub out: PathBuf,
}

/// The generator seed of file `index` of a run seeded `seed`: a SplitMix64
/// step over both, so runs with nearby seeds do not share functions.
pub fn file_seed(seed: u64, index: u32) -> u64 {
    let mut z = seed
        .wrapping_add(u64::from(index).wrapping_mul(0x9e37_79b9_7f4a_7c15))
        .wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Runs `regarena gen`.
pub fn run(args: &GenArgs) -> CommandResult {
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let opts = GenOptions {
        target_insts: args.insts as usize,
        ..GenOptions::default()
    };
    for i in 0..args.count {
        let (func, env) = generate_from_seed(file_seed(args.seed, i), &opts);
        let path = args.out.join(format!("gen-{}-{i}.bin", args.seed));
        std::fs::write(&path, upstream::to_tool_file(&func, &env))
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_seeds_differ_across_indices_and_seeds() {
        let seeds: std::collections::BTreeSet<u64> = (0..4)
            .flat_map(|s| (0..100).map(move |i| file_seed(s, i)))
            .collect();
        assert_eq!(seeds.len(), 400);
    }
}
