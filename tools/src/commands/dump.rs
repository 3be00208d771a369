//! `regarena dump`: one function as text, before and after allocation.
//!
//! Reads one corpus file (or the K-th file of a directory); writes to
//! stdout: the blocks (params, predecessors, successors, branch args),
//! every instruction's operands with their allocations, the inserted edits
//! at their program points, then per vreg where each of its operands was
//! allocated, and the checker's verdict. All of that comes from the public
//! [`Output`]. Last, regarena's internals per vreg (live ranges, uses,
//! bundles, spill sets, the allocation of each range, spill slots, stats)
//! from [`regarena::ion::dump`], which reruns our pipeline and reads its
//! tables; that section is regarena's even under `--allocator upstream`.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use regarena::owned::InstKind;
use regarena::{Allocation, Edit, Inst, InstPosition, Output, ProgPoint};

use super::alloc::{self, AlgorithmArg, Allocator, Contexts};
use super::guard::guarded;
use super::CommandResult;
use crate::corpus::{self, CorpusFunction};

/// Arguments of `regarena dump`.
#[derive(Debug, clap::Args)]
pub struct DumpArgs {
    /// A corpus file, or a directory (then see --index).
    pub file: PathBuf,
    /// When FILE is a directory: which of its files (walked recursively,
    /// in path order, from 0).
    #[arg(long, default_value_t = 0)]
    pub index: usize,
    /// Which allocator's result to show.
    #[arg(long, value_enum, default_value_t = Allocator::Ours)]
    pub allocator: Allocator,
    /// Which algorithm to run: the backtracking allocator or the
    /// single-pass one.
    #[arg(long, value_enum, default_value_t = AlgorithmArg::Ion)]
    pub algorithm: AlgorithmArg,
}

/// Runs `regarena dump`.
pub fn run(args: &DumpArgs) -> CommandResult {
    let path = if args.file.is_dir() {
        let files =
            corpus::collect_files(std::slice::from_ref(&args.file)).map_err(|e| e.to_string())?;
        files.get(args.index).cloned().ok_or_else(|| {
            format!(
                "{}: --index {} is out of range ({} corpus files)",
                args.file.display(),
                args.index,
                files.len()
            )
        })?
    } else {
        args.file.clone()
    };
    let group = corpus::group_of(&path, &path);
    let cf = corpus::load_file(&path, &group).map_err(|e| e.to_string())?;
    let mut ctxs = Contexts::with_algorithm(args.algorithm);
    let result = alloc::allocate(args.allocator, &cf, &mut ctxs)
        .map(|_| alloc::copy_output(args.allocator, &ctxs));
    let verdict = result
        .as_ref()
        .map_err(Clone::clone)
        .and_then(|out| alloc::check(&cf, out));
    let mut out = render(&cf, args.allocator, result.as_ref().ok());
    match &result {
        Ok(_) => outln!(out, "; allocator: {}", args.allocator.name()),
        Err(e) => outln!(out, "; allocation failed: {e}"),
    }
    match &verdict {
        Ok(()) => outln!(out, "; checker: passed"),
        Err(e) if result.is_ok() => outln!(out, "; checker: {e}"),
        Err(_) => {}
    }
    out.push_str(&internals(&cf));
    super::write_stdout(&out)?;
    Ok(if verdict.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The function (with `out`'s allocations and edits when given) as text.
pub fn render(cf: &CorpusFunction, which: Allocator, out: Option<&Output>) -> String {
    let f = &cf.func;
    let mut s = String::new();
    // Writing to a String cannot fail; the results are ignored below.
    let _ = writeln!(
        s,
        "; {}: {} blocks, {} insts, {} vregs, entry {:?}",
        cf.path.display(),
        f.blocks.len(),
        f.insts.len(),
        f.num_vregs,
        f.entry
    );
    if let Some(out) = out {
        let _ = writeln!(
            s,
            "; {}: {} spill slots, {} edits",
            which.name(),
            out.num_spillslots,
            out.edits.len()
        );
    }
    // Edits by instruction, so each prints beside its instruction.
    let mut edits_at: Vec<Vec<(ProgPoint, &Edit)>> = vec![Vec::new(); f.insts.len()];
    let mut unplaced = Vec::new();
    for (point, edit) in out.map_or(&[][..], |o| &o.edits[..]) {
        match edits_at.get_mut(point.inst().index()) {
            Some(list) => list.push((*point, edit)),
            None => unplaced.push((*point, edit)),
        }
    }
    let write_edits = |s: &mut String, list: &[(ProgPoint, &Edit)], pos: InstPosition| {
        for (point, Edit::Move { from, to }) in list.iter().filter(|(p, _)| p.pos() == pos) {
            let _ = writeln!(s, "      {point:?}: move {from} -> {to}");
        }
    };
    for (b, block) in f.blocks.iter().enumerate() {
        let join = |xs: &mut dyn Iterator<Item = String>| xs.collect::<Vec<_>>().join(", ");
        let _ = writeln!(
            s,
            "block{b}({}): preds [{}] succs [{}]",
            join(&mut block.params.iter().map(|v| v.to_string())),
            join(&mut block.preds.iter().map(|p| format!("{p:?}"))),
            join(&mut block.succs.iter().map(|p| format!("{p:?}"))),
        );
        for inst in block.insts.iter() {
            let Some(data) = f.insts.get(inst.index()) else {
                let _ = writeln!(s, "  {inst:?}: out of range");
                continue;
            };
            let edits = edits_at.get(inst.index()).map_or(&[][..], |e| &e[..]);
            write_edits(&mut s, edits, InstPosition::Before);
            let allocs = out.and_then(|o| inst_allocs(o, inst));
            let ops: Vec<String> = data
                .operands
                .iter()
                .enumerate()
                .map(|(k, op)| match allocs.and_then(|a| a.get(k)) {
                    Some(a) => format!("[{op}] = {a}"),
                    None => format!("[{op}]"),
                })
                .collect();
            let kind = match data.kind {
                InstKind::Op => "op",
                InstKind::Branch => "branch",
                InstKind::Ret => "ret",
            };
            let _ = write!(s, "  {inst:?} {kind} {}", ops.join(" "));
            if data.clobbers != regarena::PRegSet::empty() {
                let _ = write!(s, " clobbers {}", data.clobbers);
            }
            if data.kind == InstKind::Branch {
                for (succ, args) in block.succs.iter().zip(&block.branch_args) {
                    let args: Vec<String> = args.iter().map(|v| v.to_string()).collect();
                    let _ = write!(s, " {succ:?}({})", args.join(", "));
                }
            }
            let _ = writeln!(s);
            write_edits(&mut s, edits, InstPosition::After);
        }
    }
    for (point, Edit::Move { from, to }) in &unplaced {
        let _ = writeln!(
            s,
            "; edit at {point:?} names no instruction: move {from} -> {to}"
        );
    }
    if let Some(out) = out {
        let _ = writeln!(
            s,
            "; operand allocations by vreg (vreg: inst#operand = allocation)"
        );
        let mut by_vreg: Vec<Vec<String>> = vec![Vec::new(); f.num_vregs];
        for (i, data) in f.insts.iter().enumerate() {
            let Some(allocs) = inst_allocs(out, Inst::new(i)) else {
                continue;
            };
            for (k, (op, a)) in data.operands.iter().zip(allocs).enumerate() {
                if op.as_fixed_nonallocatable().is_some() {
                    continue;
                }
                if let Some(list) = by_vreg.get_mut(op.vreg().vreg()) {
                    list.push(format!("i{i}#{k} = {a}"));
                }
            }
        }
        for (v, list) in by_vreg.iter().enumerate() {
            if !list.is_empty() {
                let _ = writeln!(s, "v{v}: {}", list.join(", "));
            }
        }
    }
    s
}

/// The per-vreg section: regarena's live ranges, bundles and
/// allocations, or why they are missing.
pub fn internals(cf: &CorpusFunction) -> String {
    let mut s = String::from("; regarena internals: live ranges, bundles and allocations\n");
    match guarded(|| regarena::ion::dump::describe(&cf.func, &cf.env)) {
        Ok(Ok(text)) => s.push_str(&text),
        Ok(Err(e)) => {
            let _ = writeln!(s, "; not shown: regarena failed: {e}");
        }
        Err(panic) => {
            let _ = writeln!(s, "; not shown: regarena {panic}");
        }
    }
    s
}

/// `inst`'s allocations, or `None` when `out` does not cover it.
fn inst_allocs(out: &Output, inst: Inst) -> Option<&[Allocation]> {
    let start = *out.inst_alloc_offsets.get(inst.index())? as usize;
    let end = out
        .inst_alloc_offsets
        .get(inst.index() + 1)
        .map_or(out.allocs.len(), |&e| e as usize);
    out.allocs.get(start..end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use regarena::Function as _;

    #[test]
    fn upstream_result_renders_every_block_and_edit() {
        let (funcs, errors) = corpus::load_sample();
        assert!(errors.is_empty());
        let cf = funcs
            .iter()
            .max_by_key(|f| f.func.insts.len())
            .expect("sample is not empty");
        let mut ctxs = Contexts::default();
        alloc::allocate(Allocator::Upstream, cf, &mut ctxs).expect("upstream allocates the sample");
        let out = alloc::copy_output(Allocator::Upstream, &ctxs);
        let text = render(cf, Allocator::Upstream, Some(&out));
        let blocks = text.lines().filter(|l| l.starts_with("block")).count();
        assert_eq!(blocks, cf.func.num_blocks());
        let moves = text.lines().filter(|l| l.contains(": move ")).count();
        assert_eq!(moves, out.edits.len());
        assert!(text.contains("] = "), "allocations are shown");
    }
}
