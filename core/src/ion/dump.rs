//! What the Ion allocator decided for one function, per vreg, as data and
//! as text: the debugging view behind `regarena dump`.
//!
//! Reads: the function and machine environment; runs the whole pipeline
//! ([`super::run_phases`]) in a private arena, then reads the final
//! [`IonTables`] (ranges, uses, bundles, spill sets, spill slots,
//! block-param edges) before that arena goes away. Writes: a [`Report`]
//! (owned, arena-free) that [`fmt::Display`] renders compactly.
//!
//! A range's allocation follows the rule `moves` applies: its bundle's
//! register if it got one, else its spill set's slot. After `process` cuts
//! a bundle into minimal bundles, a use's register piece overlaps the
//! vreg's spill-bundle range; each range then also lists the allocations
//! of the vreg's other ranges that overlap it, so "in p3i and in stack0"
//! shows on one line. The normal allocation path never runs this code.

use core::fmt;

use crate::ion::data::{
    range_flags, BundleId, CodeRange, IonTables, LiveRangeId, SpillSetId, SpillSlotId, VRegId,
    SLOT_NONE,
};
use crate::ion::liveranges::spill_weight_from_bits;
use crate::ion::Stats;
use crate::tables::Arena;
use crate::{
    Allocation, Block, Function, Inst, InstPosition, MachineEnv, Operand, OperandKind, OperandPos,
    Output, ProgPoint, RegAllocError, RegClass, RegallocOptions,
};

/// A program point written as `i12-pre` / `i15-post`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Point(pub ProgPoint);

impl fmt::Display for Point {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pos = match self.0.pos() {
            InstPosition::Before => "pre",
            InstPosition::After => "post",
        };
        write!(f, "i{}-{pos}", self.0.inst().index())
    }
}

/// One use or def inside a live range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct UseReport {
    pub pos: ProgPoint,
    /// The operand's index in its instruction (`None`: no operand slot).
    pub slot: Option<usize>,
    pub operand: Operand,
    /// Spill weight the use contributes (unpacked from the table's bits).
    pub weight: f32,
    /// What the output gives the operand in `slot`. Equals the range's
    /// allocation except where `moves` rewrites it: a reused input gets
    /// its def's allocation, a multi-fixed-reg copy its own register.
    pub operand_alloc: Option<Allocation>,
}

/// One live range of a vreg and where it lives.
#[derive(Clone, Debug, PartialEq)]
pub struct RangeReport {
    pub id: LiveRangeId,
    pub range: CodeRange,
    pub bundle: BundleId,
    pub spillset: SpillSetId,
    /// The range belongs to its spill set's spill bundle.
    pub in_spill_bundle: bool,
    /// The range starts at the vreg's def.
    pub starts_at_def: bool,
    /// The bundle's register, else the spill set's slot (`none` would be a
    /// broken allocation: the checker would reject the output).
    pub alloc: Allocation,
    /// Allocations of the vreg's other ranges overlapping this one (the
    /// value is in several places there), sorted, without `alloc`.
    pub also: Vec<Allocation>,
    pub uses: Vec<UseReport>,
}

/// Everything about one vreg that has live ranges.
#[derive(Clone, Debug, PartialEq)]
pub struct VRegReport {
    pub vreg: VRegId,
    pub class: RegClass,
    /// The block this vreg is a param of.
    pub blockparam: Option<Block>,
    /// Branch arguments it is passed as: `(from block, to block, param)`.
    pub branch_args: Vec<(Block, Block, VRegId)>,
    /// Sorted by start (then end).
    pub ranges: Vec<RangeReport>,
}

/// One spill slot and the spill sets sharing it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpillSlotReport {
    pub slot: SpillSlotId,
    pub alloc: Allocation,
    pub size: u32,
    /// The sets assigned to it, with their hull ranges, by start.
    pub spillsets: Vec<(SpillSetId, CodeRange)>,
}

/// The whole picture of one allocation.
#[derive(Clone, Debug)]
pub struct Report {
    /// Vregs with at least one live range, in index order.
    pub vregs: Vec<VRegReport>,
    pub spillslots: Vec<SpillSlotReport>,
    pub num_ranges: usize,
    pub num_bundles: usize,
    pub num_spillsets: usize,
    /// The allocator's output for this run (same as [`crate::run`]'s).
    pub output: Output,
}

impl Report {
    /// The counters of the run.
    pub fn stats(&self) -> &Stats {
        &self.output.stats
    }
}

/// Allocates `func` and collects the per-vreg report.
pub fn report<F: Function>(func: &F, env: &MachineEnv) -> Result<Report, RegAllocError> {
    let arena = Arena::new();
    let mut output = Output::default();
    let mut scratch = Arena::new();
    let finished = super::run_phases(
        func,
        env,
        &RegallocOptions::default(),
        &arena,
        &mut scratch,
        &mut output,
    )?;
    Ok(collect(&finished.tables, output))
}

/// Allocates `func` and renders the report as text.
pub fn describe<F: Function>(func: &F, env: &MachineEnv) -> Result<String, RegAllocError> {
    Ok(report(func, env)?.to_string())
}

/// The allocation of `bundle`'s ranges: its register, else its slot.
fn bundle_alloc(tables: &IonTables<'_>, bundle: BundleId) -> Allocation {
    let Some(alloc) = tables.bundles.hot.get(bundle).map(|row| row.allocation) else {
        return Allocation::none();
    };
    if alloc.is_some() {
        return alloc;
    }
    let slot = tables.bundles.hot[bundle].spillset;
    tables
        .spillsets
        .slot
        .get(slot)
        .and_then(|&s| tables.spillslots.alloc.get(s).copied())
        .unwrap_or_else(Allocation::none)
}

fn collect(tables: &IonTables<'_>, output: Output) -> Report {
    let mut vregs = Vec::new();
    for (vreg, list) in tables.vregs.ranges.iter_enumerated() {
        if list.is_empty() {
            continue;
        }
        let mut ranges: Vec<RangeReport> = list
            .iter()
            .map(|entry| range_report(tables, &output, entry.index))
            .collect();
        ranges.sort_by_key(|r| (r.range.from, r.range.to, r.id));
        // Overlaps within one vreg only arise around spill bundles; the
        // quadratic scan only runs in a debugging tool.
        for k in 0..ranges.len() {
            let mut also: Vec<Allocation> = ranges
                .iter()
                .enumerate()
                .filter(|&(j, r)| j != k && r.range.overlaps(&ranges[k].range))
                .map(|(_, r)| r.alloc)
                .filter(|&a| a != ranges[k].alloc)
                .collect();
            also.sort();
            also.dedup();
            ranges[k].also = also;
        }
        let class = tables.vregs.class[vreg]
            .or_else(|| {
                ranges
                    .iter()
                    .find_map(|r| r.uses.first().map(|u| u.operand.class()))
            })
            .unwrap_or(RegClass::Int);
        let block = tables.vregs.blockparam[vreg];
        let branch_args = tables
            .blockparam_outs
            .iter()
            .filter(|o| o.from_vreg == vreg)
            .map(|o| (o.from_block, o.to_block, o.to_vreg))
            .collect();
        vregs.push(VRegReport {
            vreg,
            class,
            blockparam: block.is_valid().then_some(block),
            branch_args,
            ranges,
        });
    }
    let mut spillslots: Vec<SpillSlotReport> = tables
        .spillslots
        .alloc
        .iter_enumerated()
        .map(|(slot, &alloc)| SpillSlotReport {
            slot,
            alloc,
            size: tables.spillslots.size.get(slot).copied().unwrap_or(0),
            spillsets: Vec::new(),
        })
        .collect();
    for (set, &slot) in tables.spillsets.slot.iter_enumerated() {
        if let Some(report) = spillslots.get_mut(slot.index()) {
            report.spillsets.push((set, tables.spillsets.range[set]));
        }
    }
    for report in &mut spillslots {
        report.spillsets.sort_by_key(|&(set, r)| (r.from, set));
    }
    Report {
        vregs,
        spillslots,
        num_ranges: tables.ranges.len(),
        num_bundles: tables.bundles.len(),
        num_spillsets: tables.spillsets.len(),
        output,
    }
}

fn range_report(tables: &IonTables<'_>, output: &Output, id: LiveRangeId) -> RangeReport {
    let bundle = tables.ranges.bundle[id];
    let spillset = tables
        .bundles
        .hot
        .get(bundle)
        .map_or_else(SpillSetId::invalid, |row| row.spillset);
    let in_spill_bundle = tables
        .spillsets
        .spill_bundle
        .get(spillset)
        .is_some_and(|&b| b == bundle);
    let uses = tables.ranges.uses[id]
        .iter()
        .map(|u| {
            let slot = (u.slot != SLOT_NONE).then_some(u.slot as usize);
            UseReport {
                pos: u.pos,
                slot,
                operand: u.operand,
                weight: spill_weight_from_bits(u.weight),
                operand_alloc: slot.and_then(|k| operand_alloc(output, u.pos.inst(), k)),
            }
        })
        .collect();
    RangeReport {
        id,
        range: tables.ranges.range[id],
        bundle,
        spillset,
        in_spill_bundle,
        starts_at_def: tables.ranges.flags[id] & range_flags::STARTS_AT_DEF != 0,
        alloc: bundle_alloc(tables, bundle),
        also: Vec::new(),
        uses,
    }
}

/// The output's allocation for operand `slot` of `inst`.
fn operand_alloc(output: &Output, inst: Inst, slot: usize) -> Option<Allocation> {
    let start = *output.inst_alloc_offsets.get(inst.index())? as usize;
    let end = output
        .inst_alloc_offsets
        .get(inst.index() + 1)
        .map_or(output.allocs.len(), |&e| e as usize);
    output.allocs.get(start..end)?.get(slot).copied()
}

fn class_name(class: RegClass) -> &'static str {
    match class {
        RegClass::Int => "int",
        RegClass::Float => "float",
        RegClass::Vector => "vector",
    }
}

impl fmt::Display for UseReport {
    /// `i7-pre#1 use reg w1000` (`#-`: no operand slot).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#", Point(self.pos))?;
        match self.slot {
            Some(slot) => write!(f, "{slot}")?,
            None => write!(f, "-")?,
        }
        let kind = match (self.operand.kind(), self.operand.pos()) {
            (OperandKind::Use, OperandPos::Early) => "use",
            (OperandKind::Use, OperandPos::Late) => "use@late",
            (OperandKind::Def, OperandPos::Late) => "def",
            (OperandKind::Def, OperandPos::Early) => "def@early",
        };
        write!(
            f,
            " {kind} {} w{:.0}",
            self.operand.constraint(),
            self.weight
        )
    }
}

impl fmt::Display for RangeReport {
    /// `lr4 [i2-post, i9-pre) bundle3 spillset3 = p2i +stack0 def | uses`;
    /// a use whose operand the output places elsewhere ends in `->p5i`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} [{}, {}) {:?}{} {:?} = {}",
            self.id,
            Point(self.range.from),
            Point(self.range.to),
            self.bundle,
            if self.in_spill_bundle { "(spill)" } else { "" },
            self.spillset,
            self.alloc,
        )?;
        for a in &self.also {
            write!(f, " +{a}")?;
        }
        if self.starts_at_def {
            write!(f, " def")?;
        }
        for (k, u) in self.uses.iter().enumerate() {
            write!(f, "{}{u}", if k == 0 { " | " } else { ", " })?;
            match u.operand_alloc {
                Some(a) if a != self.alloc => write!(f, " ->{a}")?,
                _ => {}
            }
        }
        Ok(())
    }
}

impl fmt::Display for VRegReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} {}", self.vreg, class_name(self.class))?;
        if let Some(block) = self.blockparam {
            write!(f, ", param of {block:?}")?;
        }
        for (from, to, param) in &self.branch_args {
            write!(f, ", arg {from:?}->{to:?} as {param:?}")?;
        }
        writeln!(f)?;
        for r in &self.ranges {
            writeln!(f, "  {r}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "; per vreg: lrN [from, to) bundle spillset = allocation (+also in, while \
             another range of the vreg overlaps) | uses: point#operand kind constraint \
             weight (->operand's allocation where the output differs)"
        )?;
        for v in &self.vregs {
            write!(f, "{v}")?;
        }
        writeln!(
            f,
            "; {} live ranges, {} bundles, {} spill sets, {} spill slots ({} slot units)",
            self.num_ranges,
            self.num_bundles,
            self.num_spillsets,
            self.spillslots.len(),
            self.output.num_spillslots
        )?;
        for s in &self.spillslots {
            write!(f, ";   {:?} = {} size {}:", s.slot, s.alloc, s.size)?;
            for (set, r) in &s.spillsets {
                write!(f, " {set:?} [{}, {})", Point(r.from), Point(r.to))?;
            }
            writeln!(f)?;
        }
        let stats: Vec<String> = stat_fields(self.stats())
            .iter()
            .filter(|&&(_, v)| v != 0)
            .map(|(name, v)| format!("{name}={v}"))
            .collect();
        writeln!(f, "; stats: {}", stats.join(" "))
    }
}

/// Every counter of [`Stats`] with its name (a unit test keeps this list
/// in step with the struct).
pub fn stat_fields(s: &Stats) -> [(&'static str, usize); 30] {
    [
        ("livein_blocks", s.livein_blocks),
        ("livein_iterations", s.livein_iterations),
        ("initial_liverange_count", s.initial_liverange_count),
        ("merged_bundle_count", s.merged_bundle_count),
        ("process_bundle_count", s.process_bundle_count),
        (
            "process_bundle_reg_probes_fixed",
            s.process_bundle_reg_probes_fixed,
        ),
        (
            "process_bundle_reg_success_fixed",
            s.process_bundle_reg_success_fixed,
        ),
        (
            "process_bundle_bounding_range_probe_start_any",
            s.process_bundle_bounding_range_probe_start_any,
        ),
        (
            "process_bundle_bounding_range_probes_any",
            s.process_bundle_bounding_range_probes_any,
        ),
        (
            "process_bundle_bounding_range_success_any",
            s.process_bundle_bounding_range_success_any,
        ),
        (
            "process_bundle_reg_probe_start_any",
            s.process_bundle_reg_probe_start_any,
        ),
        (
            "process_bundle_reg_probes_any",
            s.process_bundle_reg_probes_any,
        ),
        (
            "process_bundle_reg_success_any",
            s.process_bundle_reg_success_any,
        ),
        ("evict_bundle_event", s.evict_bundle_event),
        ("evict_bundle_count", s.evict_bundle_count),
        ("splits", s.splits),
        ("splits_clobbers", s.splits_clobbers),
        ("splits_hot", s.splits_hot),
        ("splits_conflicts", s.splits_conflicts),
        ("splits_defs", s.splits_defs),
        ("splits_all", s.splits_all),
        ("final_liverange_count", s.final_liverange_count),
        ("final_bundle_count", s.final_bundle_count),
        ("spill_bundle_count", s.spill_bundle_count),
        ("spill_bundle_reg_probes", s.spill_bundle_reg_probes),
        ("spill_bundle_reg_success", s.spill_bundle_reg_success),
        ("blockparam_ins_count", s.blockparam_ins_count),
        ("blockparam_outs_count", s.blockparam_outs_count),
        ("halfmoves_count", s.halfmoves_count),
        ("edits_count", s.edits_count),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::owned::{BlockData, FunctionData, InstData, InstKind};
    use crate::{InstRange, PReg, PRegSet, VReg};

    /// Three values alive at once, two registers: one value must spend
    /// time on the stack.
    fn pressure() -> (FunctionData, MachineEnv) {
        let v = |i| VReg::new(i, RegClass::Int);
        let def = |i| Operand::reg_def(v(i));
        let mut insts: Vec<InstData> = (0..3)
            .map(|i| InstData {
                operands: vec![def(i)],
                ..InstData::default()
            })
            .collect();
        insts.push(InstData {
            operands: vec![
                Operand::any_use(v(0)),
                Operand::reg_use(v(1)),
                Operand::reg_use(v(2)),
            ],
            ..InstData::default()
        });
        insts.push(InstData {
            kind: InstKind::Ret,
            operands: vec![Operand::reg_use(v(0))],
            ..InstData::default()
        });
        let func = FunctionData {
            entry: Block::new(0),
            blocks: vec![BlockData {
                insts: InstRange::new(Inst::new(0), Inst::new(insts.len())),
                succs: vec![],
                preds: vec![],
                params: vec![],
                branch_args: vec![],
            }],
            insts,
            num_vregs: 4,
            debug_value_labels: vec![],
            spillslot_sizes: [1; 3],
            multi_spillslot_named_by_last_slot: false,
            allow_multiple_vreg_defs: false,
        };
        let mut regs = PRegSet::empty();
        regs.add(PReg::new(0, RegClass::Int));
        regs.add(PReg::new(1, RegClass::Int));
        let env = MachineEnv {
            preferred_regs_by_class: [regs, PRegSet::empty(), PRegSet::empty()],
            non_preferred_regs_by_class: [PRegSet::empty(); 3],
            scratch_by_class: [None; 3],
            fixed_stack_slots: vec![],
        };
        (func, env)
    }

    #[test]
    fn point_reads_like_the_brief() {
        assert_eq!(
            Point(ProgPoint::before(Inst::new(12))).to_string(),
            "i12-pre"
        );
        assert_eq!(
            Point(ProgPoint::after(Inst::new(15))).to_string(),
            "i15-post"
        );
    }

    #[test]
    fn uses_agree_with_the_output_and_a_value_is_spilled() {
        let (func, env) = pressure();
        let report = report(&func, &env).expect("allocates");
        let vregs: Vec<usize> = report.vregs.iter().map(|v| v.vreg.index()).collect();
        assert_eq!(vregs, [0, 1, 2], "v3 is unused and skipped");
        let out = &report.output;
        let mut checked = 0;
        for v in &report.vregs {
            for r in &v.ranges {
                for u in &r.uses {
                    let Some(slot) = u.slot else { continue };
                    let i = u.pos.inst().index();
                    let at = out.inst_alloc_offsets[i] as usize + slot;
                    assert_eq!(out.allocs[at], r.alloc, "{:?} {u}", v.vreg);
                    assert_eq!(u.operand_alloc, Some(r.alloc));
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 7, "every operand is some range's use");
        assert_eq!(report.spillslots.len(), 1);
        let stack = report.spillslots[0].alloc;
        assert!(stack.is_stack());
        let on_stack = report
            .vregs
            .iter()
            .flat_map(|v| &v.ranges)
            .any(|r| r.alloc == stack || r.also.contains(&stack));
        assert!(on_stack, "some range lives in the slot");
        let normal = crate::run(&func, &env, &RegallocOptions::default()).expect("allocates");
        assert_eq!(out.allocs, normal.allocs, "same result as the normal path");
        assert_eq!(out.edits, normal.edits);
        assert_eq!(out.num_spillslots, normal.num_spillslots);

        let text = report.to_string();
        assert!(text.contains("v0 int\n  lr"), "{text}");
        assert!(text.contains("i3-pre#0 use any"), "{text}");
        assert!(text.contains(&format!("= {stack}")), "{text}");
        assert!(text.contains("; stats: "), "{text}");
    }

    #[test]
    fn stat_fields_name_every_counter() {
        let debug = format!("{:?}", Stats::default());
        let names: Vec<&str> = stat_fields(&Stats::default())
            .iter()
            .map(|&(n, _)| n)
            .collect();
        assert_eq!(debug.matches(": ").count(), names.len(), "{debug}");
        for name in names {
            assert!(
                debug.contains(&format!("{name}: ")),
                "{name} not in {debug}"
            );
        }
    }
}
