//! Conversions between upstream regalloc2 0.15.2 and regarena.
//!
//! The public types have identical bit layouts, so each value converts by
//! its bits. Functions convert once, into owned data ([`FunctionData`] on
//! our side, [`UpstreamFunction`] on theirs); afterwards every trait call is
//! a plain borrow.

use regarena::owned::{BlockData, InstData, InstKind};
use regarena::FunctionData;

pub use regalloc2 as ra2;

#[inline]
pub fn preg(p: ra2::PReg) -> regarena::PReg {
    regarena::PReg::from_index(p.index())
}
#[inline]
pub fn preg_up(p: regarena::PReg) -> ra2::PReg {
    ra2::PReg::from_index(p.index())
}
#[inline]
pub fn vreg(v: ra2::VReg) -> regarena::VReg {
    regarena::VReg::from_bits(v.bits() as u32)
}
#[inline]
pub fn vreg_up(v: regarena::VReg) -> ra2::VReg {
    ra2::VReg::from_bits(v.bits() as u32)
}
#[inline]
pub fn operand(op: ra2::Operand) -> regarena::Operand {
    regarena::Operand::from_bits(op.bits())
}
#[inline]
pub fn operand_up(op: regarena::Operand) -> ra2::Operand {
    ra2::Operand::from_bits(op.bits())
}
#[inline]
pub fn block(b: ra2::Block) -> regarena::Block {
    regarena::Block(b.0)
}
#[inline]
pub fn block_up(b: regarena::Block) -> ra2::Block {
    ra2::Block(b.0)
}
#[inline]
pub fn inst(i: ra2::Inst) -> regarena::Inst {
    regarena::Inst(i.0)
}
#[inline]
pub fn inst_up(i: regarena::Inst) -> ra2::Inst {
    ra2::Inst(i.0)
}
#[inline]
pub fn alloc(a: ra2::Allocation) -> regarena::Allocation {
    regarena::Allocation::from_bits(a.bits())
}

/// Our output in upstream's types (for upstream's checker).
pub fn output_up(out: &regarena::Output) -> ra2::Output {
    ra2::Output {
        num_spillslots: out.num_spillslots,
        edits: out
            .edits
            .iter()
            .map(|(p, e)| {
                let regarena::Edit::Move { from, to } = e;
                (
                    progpoint_up(*p),
                    ra2::Edit::Move {
                        from: alloc_up(*from),
                        to: alloc_up(*to),
                    },
                )
            })
            .collect(),
        allocs: out.allocs.iter().copied().map(alloc_up).collect(),
        inst_alloc_offsets: out.inst_alloc_offsets.clone(),
        debug_locations: out
            .debug_locations
            .iter()
            .map(|&(l, f, t, a)| (l, progpoint_up(f), progpoint_up(t), alloc_up(a)))
            .collect(),
        stats: Default::default(),
    }
}
#[inline]
pub fn alloc_up(a: regarena::Allocation) -> ra2::Allocation {
    // Built by kind: upstream's `from_bits` debug-asserts a condition no
    // valid allocation meets, so it cannot be used in debug builds.
    match (a.as_reg(), a.as_stack()) {
        (Some(p), _) => ra2::Allocation::reg(preg_up(p)),
        (_, Some(s)) => ra2::Allocation::stack(ra2::SpillSlot::new(s.index())),
        _ => ra2::Allocation::none(),
    }
}
#[inline]
pub fn progpoint(p: ra2::ProgPoint) -> regarena::ProgPoint {
    regarena::ProgPoint::from_index(p.to_index())
}
#[inline]
pub fn progpoint_up(p: regarena::ProgPoint) -> ra2::ProgPoint {
    ra2::ProgPoint::from_index(p.to_index())
}
pub fn pregset(set: ra2::PRegSet) -> regarena::PRegSet {
    set.into_iter().map(preg).collect()
}
pub fn pregset_up(set: regarena::PRegSet) -> ra2::PRegSet {
    set.into_iter().map(preg_up).collect()
}
pub fn env(e: &ra2::MachineEnv) -> regarena::MachineEnv {
    regarena::MachineEnv {
        preferred_regs_by_class: e.preferred_regs_by_class.map(pregset),
        non_preferred_regs_by_class: e.non_preferred_regs_by_class.map(pregset),
        scratch_by_class: e.scratch_by_class.map(|s| s.map(preg)),
        fixed_stack_slots: e.fixed_stack_slots.iter().copied().map(preg).collect(),
    }
}
pub fn env_up(e: &regarena::MachineEnv) -> ra2::MachineEnv {
    ra2::MachineEnv {
        preferred_regs_by_class: e.preferred_regs_by_class.map(pregset_up),
        non_preferred_regs_by_class: e.non_preferred_regs_by_class.map(pregset_up),
        scratch_by_class: e.scratch_by_class.map(|s| s.map(preg_up)),
        fixed_stack_slots: e.fixed_stack_slots.iter().copied().map(preg_up).collect(),
    }
}

pub fn edit(e: &ra2::Edit) -> regarena::Edit {
    match e {
        ra2::Edit::Move { from, to } => regarena::Edit::Move {
            from: alloc(*from),
            to: alloc(*to),
        },
    }
}

/// Upstream's output in our types, bit for bit.
pub fn output(out: &ra2::Output) -> regarena::Output {
    let s = &out.stats;
    regarena::Output {
        num_spillslots: out.num_spillslots,
        edits: out
            .edits
            .iter()
            .map(|(p, e)| (progpoint(*p), edit(e)))
            .collect(),
        allocs: out.allocs.iter().copied().map(alloc).collect(),
        inst_alloc_offsets: out.inst_alloc_offsets.clone(),
        debug_locations: out
            .debug_locations
            .iter()
            .map(|&(label, from, to, a)| (label, progpoint(from), progpoint(to), alloc(a)))
            .collect(),
        stats: regarena::Stats {
            livein_blocks: s.livein_blocks,
            livein_iterations: s.livein_iterations,
            initial_liverange_count: s.initial_liverange_count,
            merged_bundle_count: s.merged_bundle_count,
            process_bundle_count: s.process_bundle_count,
            process_bundle_reg_probes_fixed: s.process_bundle_reg_probes_fixed,
            process_bundle_reg_success_fixed: s.process_bundle_reg_success_fixed,
            process_bundle_bounding_range_probe_start_any: s
                .process_bundle_bounding_range_probe_start_any,
            process_bundle_bounding_range_probes_any: s.process_bundle_bounding_range_probes_any,
            process_bundle_bounding_range_success_any: s.process_bundle_bounding_range_success_any,
            process_bundle_reg_probe_start_any: s.process_bundle_reg_probe_start_any,
            process_bundle_reg_probes_any: s.process_bundle_reg_probes_any,
            process_bundle_reg_success_any: s.process_bundle_reg_success_any,
            evict_bundle_event: s.evict_bundle_event,
            evict_bundle_count: s.evict_bundle_count,
            splits: s.splits,
            splits_clobbers: s.splits_clobbers,
            splits_hot: s.splits_hot,
            splits_conflicts: s.splits_conflicts,
            splits_defs: s.splits_defs,
            splits_all: s.splits_all,
            final_liverange_count: s.final_liverange_count,
            final_bundle_count: s.final_bundle_count,
            spill_bundle_count: s.spill_bundle_count,
            spill_bundle_reg_probes: s.spill_bundle_reg_probes,
            spill_bundle_reg_success: s.spill_bundle_reg_success,
            blockparam_ins_count: s.blockparam_ins_count,
            blockparam_outs_count: s.blockparam_outs_count,
            halfmoves_count: s.halfmoves_count,
            edits_count: s.edits_count,
        },
    }
}

/// Copies any upstream `Function` (a corpus `SerializableFunction`, the
/// fuzzer's `Func`) into our owned form, once.
pub fn function(f: &impl ra2::Function) -> FunctionData {
    let insts = (0..f.num_insts())
        .map(|i| {
            let i = ra2::Inst::new(i);
            InstData {
                kind: if f.is_ret(i) {
                    InstKind::Ret
                } else if f.is_branch(i) {
                    InstKind::Branch
                } else {
                    InstKind::Op
                },
                operands: f.inst_operands(i).iter().copied().map(operand).collect(),
                clobbers: pregset(f.inst_clobbers(i)),
            }
        })
        .collect();
    let blocks = (0..f.num_blocks())
        .map(|b| {
            let b = ra2::Block::new(b);
            let range = f.block_insns(b);
            let (from, to) = (range.iter().next(), range.iter().next_back());
            let insts = match (from, to) {
                (Some(from), Some(to)) => regarena::InstRange::new(inst(from), inst(to).next()),
                _ => regarena::InstRange::new(regarena::Inst::new(0), regarena::Inst::new(0)),
            };
            let succs: Vec<_> = f.block_succs(b).iter().copied().map(block).collect();
            let branch_args = match to {
                Some(last) => (0..succs.len())
                    .map(|s| {
                        f.branch_blockparams(b, last, s)
                            .iter()
                            .copied()
                            .map(vreg)
                            .collect()
                    })
                    .collect(),
                None => Vec::new(),
            };
            BlockData {
                insts,
                preds: f.block_preds(b).iter().copied().map(block).collect(),
                params: f.block_params(b).iter().copied().map(vreg).collect(),
                succs,
                branch_args,
            }
        })
        .collect();
    FunctionData {
        entry: block(f.entry_block()),
        insts,
        blocks,
        num_vregs: f.num_vregs(),
        debug_value_labels: f
            .debug_value_labels()
            .iter()
            .map(|&(v, from, to, label)| (vreg(v), inst(from), inst(to), label))
            .collect(),
        spillslot_sizes: [
            f.spillslot_size(ra2::RegClass::Int),
            f.spillslot_size(ra2::RegClass::Float),
            f.spillslot_size(ra2::RegClass::Vector),
        ],
        multi_spillslot_named_by_last_slot: f.multi_spillslot_named_by_last_slot(),
        allow_multiple_vreg_defs: f.allow_multiple_vreg_defs(),
    }
}

/// One of our functions in upstream's types, so upstream can allocate it
/// and `SerializableFunction::new` can write it as a regalloc2-tool file.
#[derive(Clone, Debug)]
pub struct UpstreamFunction {
    data: FunctionData,
    operands: Vec<Vec<ra2::Operand>>,
    succs: Vec<Vec<ra2::Block>>,
    preds: Vec<Vec<ra2::Block>>,
    params: Vec<Vec<ra2::VReg>>,
    branch_args: Vec<Vec<Vec<ra2::VReg>>>,
    labels: Vec<(ra2::VReg, ra2::Inst, ra2::Inst, u32)>,
}

impl UpstreamFunction {
    pub fn new(data: &FunctionData) -> Self {
        let blocks = &data.blocks;
        UpstreamFunction {
            operands: data
                .insts
                .iter()
                .map(|i| i.operands.iter().copied().map(operand_up).collect())
                .collect(),
            succs: blocks
                .iter()
                .map(|b| b.succs.iter().copied().map(block_up).collect())
                .collect(),
            preds: blocks
                .iter()
                .map(|b| b.preds.iter().copied().map(block_up).collect())
                .collect(),
            params: blocks
                .iter()
                .map(|b| b.params.iter().copied().map(vreg_up).collect())
                .collect(),
            branch_args: blocks
                .iter()
                .map(|b| {
                    b.branch_args
                        .iter()
                        .map(|args| args.iter().copied().map(vreg_up).collect())
                        .collect()
                })
                .collect(),
            labels: data
                .debug_value_labels
                .iter()
                .map(|&(v, from, to, label)| (vreg_up(v), inst_up(from), inst_up(to), label))
                .collect(),
            data: data.clone(),
        }
    }
    pub fn data(&self) -> &FunctionData {
        &self.data
    }
}

impl ra2::Function for UpstreamFunction {
    fn num_insts(&self) -> usize {
        self.data.insts.len()
    }
    fn num_blocks(&self) -> usize {
        self.data.blocks.len()
    }
    fn entry_block(&self) -> ra2::Block {
        block_up(self.data.entry)
    }
    fn block_insns(&self, b: ra2::Block) -> ra2::InstRange {
        let (from, to) = self.data.blocks[b.index()].insts.bounds();
        ra2::InstRange::new(inst_up(from), inst_up(to))
    }
    fn block_succs(&self, b: ra2::Block) -> &[ra2::Block] {
        &self.succs[b.index()]
    }
    fn block_preds(&self, b: ra2::Block) -> &[ra2::Block] {
        &self.preds[b.index()]
    }
    fn block_params(&self, b: ra2::Block) -> &[ra2::VReg] {
        &self.params[b.index()]
    }
    fn is_ret(&self, i: ra2::Inst) -> bool {
        self.data.insts[i.index()].kind == InstKind::Ret
    }
    fn is_branch(&self, i: ra2::Inst) -> bool {
        self.data.insts[i.index()].kind == InstKind::Branch
    }
    fn branch_blockparams(&self, b: ra2::Block, _i: ra2::Inst, succ: usize) -> &[ra2::VReg] {
        self.branch_args[b.index()]
            .get(succ)
            .map_or(&[], |a| &a[..])
    }
    fn inst_operands(&self, i: ra2::Inst) -> &[ra2::Operand] {
        &self.operands[i.index()]
    }
    fn inst_clobbers(&self, i: ra2::Inst) -> ra2::PRegSet {
        pregset_up(self.data.insts[i.index()].clobbers)
    }
    fn num_vregs(&self) -> usize {
        self.data.num_vregs
    }
    fn debug_value_labels(&self) -> &[(ra2::VReg, ra2::Inst, ra2::Inst, u32)] {
        &self.labels
    }
    fn spillslot_size(&self, c: ra2::RegClass) -> usize {
        self.data.spillslot_sizes[c as usize]
    }
    fn multi_spillslot_named_by_last_slot(&self) -> bool {
        self.data.multi_spillslot_named_by_last_slot
    }
    fn allow_multiple_vreg_defs(&self) -> bool {
        self.data.allow_multiple_vreg_defs
    }
}

/// Serializes one of our functions as a regalloc2-tool file's bytes.
pub fn to_tool_file(func: &FunctionData, env: &regarena::MachineEnv) -> Vec<u8> {
    let up = UpstreamFunction::new(func);
    let ser = ra2::serialize::SerializableFunction::new(&up, env_up(env));
    bincode::serialize(&ser).expect("serializing to memory cannot fail")
}

/// Whether the upstream regalloc2 linked into this binary was built with
/// its `trace-log` feature, found by running it once on a small function
/// of the embedded sample with a logger listening at trace level.
///
/// Why it matters: regalloc2 0.15.2's `fuzzing` feature turns on
/// `trace-log`, and this workspace's tests need `fuzzing` (upstream's
/// function generator), so any build that includes `regarena-tools`'
/// dev-dependencies (`cargo build -p regarena-tools --all-targets`,
/// `cargo test`, `cargo bench --workspace`) compiles upstream with a
/// log-level test at every one of its trace points. Upstream then runs
/// about 10% slower (its whole `compare` time, 2026-12-08) and every time
/// ratio against it looks better than it is. `cargo run --release -p regarena-tools -- compare`
/// builds the binary alone and is not affected.
///
/// `None` when the question cannot be asked: another logger is already
/// installed in the process (the probe installs its own, once).
pub fn upstream_traces() -> Option<bool> {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::OnceLock;

    /// Notes whether any record came from upstream.
    struct Listener(AtomicBool);
    impl log::Log for Listener {
        fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
            metadata.target().starts_with("regalloc2")
        }
        fn log(&self, record: &log::Record<'_>) {
            if self.enabled(record.metadata()) {
                self.0.store(true, Ordering::Relaxed);
            }
        }
        fn flush(&self) {}
    }
    static LISTENER: Listener = Listener(AtomicBool::new(false));
    static ANSWER: OnceLock<Option<bool>> = OnceLock::new();

    *ANSWER.get_or_init(|| {
        log::set_logger(&LISTENER).ok()?;
        let (funcs, _) = crate::corpus::load_sample();
        let cf = funcs.iter().min_by_key(|cf| cf.func.insts.len())?;
        let func = UpstreamFunction::new(&cf.func);
        let env = env_up(&cf.env);
        log::set_max_level(log::LevelFilter::Trace);
        // The result does not matter, only whether tracing happened; a
        // panic (not expected on the sample) leaves the question open.
        let ran = std::panic::catch_unwind(|| {
            let _ = ra2::run(&func, &env, &ra2::RegallocOptions::default());
        });
        log::set_max_level(log::LevelFilter::Off);
        ran.ok()?;
        Some(LISTENER.0.load(Ordering::Relaxed))
    })
}

#[cfg(test)]
mod tests {
    /// Unit tests build with this package's dev-dependencies, whose
    /// `regalloc2/fuzzing` turns on `trace-log`: the probe must see it (if
    /// a later regalloc2 stops tying the two, this fails and the warning
    /// in `compare` should be revisited). The answer is kept.
    #[test]
    fn probe_sees_upstream_tracing_in_a_dev_build() {
        assert_eq!(super::upstream_traces(), Some(true));
        assert_eq!(super::upstream_traces(), Some(true));
        assert_eq!(log::max_level(), log::LevelFilter::Off);
    }
}
