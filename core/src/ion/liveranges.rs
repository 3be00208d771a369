//! Live ranges: one backward scan per block turns liveness into per-vreg
//! range lists with their uses, and records fixed-register reservations.
//!
//! Reads: the function, `env.fixed_stack_slots`, `cfg` (block entry/exit
//! points, loop depth), [`Liveness`] (live-out rows).
//! Writes: `ranges` (all columns), `vregs` (`ranges`, `blockparam`,
//! `class`), `pregs` (`is_stack`, reservations in the trees),
//! `blockparam_outs`, `multi_fixed_reg_fixups`, `reuse_insts`, and
//! `stats` (`livein_blocks`, `initial_liverange_count`, blockparam counts).
//!
//! Algorithm from regalloc2 0.15.2 `src/ion/liveranges.rs`
//! (`build_liveranges`, `fixup_multi_fixed_vregs`): blocks are scanned
//! last to first and instructions bottom-up, so each new range lies before
//! every range already built for its vreg; it is either glued onto the
//! last one (contiguous) or appended, and every list is reversed once at
//! the end ("build lazily, then sort").

use crate::cfg::CfgInfo;
use crate::ion::data::{
    range_flags, BlockparamOut, CodeRange, FixupLevel, IonTables, LiveRangeId, LiveRangeListEntry,
    LiveRanges, MultiFixedRegFixup, PRegs, Use, UseSpan, VRegId, VRegs,
};
use crate::ion::liveness::{operand_point, reused_input_vreg, Liveness, PointMasks};
use crate::ion::Stats;
use crate::tables::{Arena, ArenaVec, Column, SCRATCH_LIST_START};
use crate::{
    Block, Function, Inst, InstPosition, MachineEnv, Operand, OperandConstraint, OperandKind,
    OperandPos, PReg, PRegSet, ProgPoint, RegAllocError, VReg,
};

/// The slots of an instruction's operands with their program points, in
/// the order the backward scan handles them: After-point operands, then
/// Before-point ones, each group in slot order. Fixed-nonallocatable
/// operands are left out. Up to 64 operands the split comes from
/// [`PointMasks`] (one pass); beyond, each point takes a pass with
/// [`operand_point`].
struct OperandsByPoint<'o> {
    operands: &'o [Operand],
    inst: Inst,
    /// Slots still to visit at After and at Before (masks path).
    after: u64,
    before: u64,
    /// With more than 64 operands: the reused input and the next step,
    /// `0..len` at After then `len..2 * len` at Before.
    many: Option<(Option<VReg>, usize)>,
}

impl<'o> OperandsByPoint<'o> {
    #[inline]
    fn new(operands: &'o [Operand], inst: Inst) -> Self {
        match PointMasks::of(operands) {
            Some(points) => OperandsByPoint {
                operands,
                inst,
                after: points.after,
                before: points.before,
                many: None,
            },
            None => OperandsByPoint {
                operands,
                inst,
                after: 0,
                before: 0,
                many: Some((reused_input_vreg(operands), 0)),
            },
        }
    }
}

impl Iterator for OperandsByPoint<'_> {
    type Item = (usize, ProgPoint);

    #[inline]
    fn next(&mut self) -> Option<(usize, ProgPoint)> {
        if self.after != 0 {
            let i = self.after.trailing_zeros() as usize;
            self.after &= self.after - 1;
            return Some((i, ProgPoint::after(self.inst)));
        }
        if self.before != 0 {
            let i = self.before.trailing_zeros() as usize;
            self.before &= self.before - 1;
            return Some((i, ProgPoint::before(self.inst)));
        }
        let (reused_input, step) = self.many.as_mut()?;
        let len = self.operands.len();
        while *step < 2 * len {
            let (i, position) = if *step < len {
                (*step, InstPosition::After)
            } else {
                (*step - len, InstPosition::Before)
            };
            *step += 1;
            let op = self.operands[i];
            if op.as_fixed_nonallocatable().is_some() {
                continue;
            }
            let pos = operand_point(op, self.inst, *reused_input);
            if pos.pos() == position {
                return Some((i, pos));
            }
        }
        None
    }
}

/// Spill weight of one use: 1000 × 4^loop_depth (depth capped at 10),
/// +2000 for a def, +2000 for a register constraint, +1000 for `Any`
/// (regalloc2's heuristic, so eviction decisions match upstream's).
#[inline]
pub fn use_spill_weight(constraint: OperandConstraint, loop_depth: u32, is_def: bool) -> f32 {
    spill_weight_at(loop_weight(loop_depth), constraint, is_def)
}

/// The loop part of [`use_spill_weight`]: 1000 × 4^depth, depth capped at
/// 10 (exact in `f32`: 125 × 2^23 at most).
#[inline]
pub fn loop_weight(loop_depth: u32) -> f32 {
    let depth = loop_depth.min(10);
    (0..depth).fold(1000.0f32, |w, _| w * 4.0)
}

/// [`use_spill_weight`] with the loop part already computed (once per
/// block by the scan).
#[inline]
fn spill_weight_at(hot: f32, constraint: OperandConstraint, is_def: bool) -> f32 {
    let def = if is_def { 2000.0 } else { 0.0 };
    let constraint = match constraint {
        OperandConstraint::Any => 1000.0,
        OperandConstraint::Reg | OperandConstraint::FixedReg(_) => 2000.0,
        _ => 0.0,
    };
    hot + def + constraint
}

/// Packs a weight into a [`Use`]'s 16 bits: the top half of the f32
/// (bfloat16), as upstream does.
#[inline]
pub fn spill_weight_to_bits(weight: f32) -> u16 {
    (weight.to_bits() >> 15) as u16
}

/// Unpacks [`spill_weight_to_bits`] (losing the low mantissa bits).
#[inline]
pub fn spill_weight_from_bits(bits: u16) -> f32 {
    f32::from_bits((bits as u32) << 15)
}

/// Reserves `point` of `preg` for no bundle.
pub fn reserve_preg(pregs: &mut PRegs<'_>, preg: PReg, point: ProgPoint) {
    pregs.reserved.insert(preg, point);
}

/// Adds `range` to `vreg`'s ranges, which all lie after it: glued to the
/// most recent one (`last_range[vreg]`) when contiguous, else a new range.
/// Returns the range that covers it.
#[inline]
fn add_range_to_vreg<'a>(
    arena: &'a Arena,
    ranges: &mut LiveRanges<'a>,
    last_range: &mut Column<'_, VRegId, LiveRangeId>,
    vreg: VRegId,
    mut range: CodeRange,
    allow_multiple_defs: bool,
) -> LiveRangeId {
    let lr = last_range[vreg];
    if lr.is_valid() {
        let later = ranges.range[lr];
        if allow_multiple_defs {
            // Several defs of a pinned vreg at one point may re-add a
            // range that already exists, or one that runs into it.
            if later.from <= range.from && range.to <= later.to {
                return lr;
            }
            if range.to >= later.from && range.to <= later.to {
                range.to = later.from;
            }
        }
        if range.to >= later.from {
            // Contiguous (or, defensively, overlapping): extend.
            let from = range.from.min(later.from);
            ranges.range[lr].from = from;
            return lr;
        }
    }
    let lr = ranges.push(arena, range, vreg);
    last_range[vreg] = lr;
    lr
}

/// Records a use of range `lr`: its weight is summed now (in scan order,
/// so the f32 sum is reproducible); the use itself goes to `use_log`,
/// which [`distribute_uses`] turns into the per-range lists.
#[inline]
fn add_use(
    ranges: &mut LiveRanges<'_>,
    use_log: &mut ArenaVec<'_, (LiveRangeId, Use)>,
    lr: LiveRangeId,
    mut u: Use,
    hot: f32,
) {
    let weight = spill_weight_at(
        hot,
        u.operand.constraint(),
        u.operand.kind() == OperandKind::Def,
    );
    u.weight = spill_weight_to_bits(weight);
    use_log.push((lr, u));
    ranges.uses_spill_weight[lr] += weight;
}

/// Fills `ranges.uses` (empty until now) from the scan's log: each list is
/// allocated at its exact size and filled last-logged first, which is program order (the
/// scan runs backwards); a list that is still out of order (blocks laid
/// out out of order) is sorted.
fn distribute_uses<'a>(temp: &Arena, ranges: &mut LiveRanges<'a>, use_log: &[(LiveRangeId, Use)]) {
    // A counting sort: each range's span starts where the previous range's
    // ends, then the log (in reverse: program order) fills the spans.
    let (pool, spans) = ranges.uses.spans_mut();
    let mut counts: Column<LiveRangeId, u32> = Column::filled_in(spans.len(), 0, temp);
    for (lr, _) in use_log {
        counts[*lr] += 1;
    }
    let base = pool.len() as u32;
    let mut next = base;
    for (span, &count) in spans.iter_mut().zip(counts.iter()) {
        debug_assert_eq!(span.len, 0, "uses are placed once");
        *span = UseSpan {
            start: next,
            len: 0,
        };
        next += count;
    }
    let placeholder = use_log.first().map(|&(_, u)| u);
    if let Some(u) = placeholder {
        // Splits later move a span to the pool's end when it grows; one
        // such move would double the whole pool. An eighth more room
        // covers nine functions in ten of the dev corpus (its pools end
        // at most 7% longer there, 17% at the 99th percentile).
        pool.reserve_exact(next as usize + next as usize / 8 + 16);
        pool.resize(next as usize, u);
    }
    let mut in_order = true;
    for &(lr, u) in use_log.iter().rev() {
        let span = &mut spans[lr];
        let at = (span.start + span.len) as usize;
        // Without a branch: for an empty span the neighbour slot read
        // (any valid index) does not matter.
        in_order &= (span.len == 0) | (pool[at.max(1) - 1].pos <= u.pos);
        pool[at] = u;
        span.len += 1;
    }
    if !in_order {
        for span in spans.iter() {
            let uses = &mut pool[span.start as usize..(span.start + span.len) as usize];
            if uses.windows(2).any(|w| w[0].pos > w[1].pos) {
                uses.sort_by_key(|u| u.pos);
            }
        }
    }
}

/// Fills `vregs.ranges` (empty until now) from `ranges.vreg`: later ranges were created
/// first, so walking the ids downwards lists each vreg's ranges in program
/// order (sorted if blocks are laid out out of order). Each entry copies
/// its range's final extent.
fn list_ranges_by_vreg<'a>(ranges: &LiveRanges<'a>, vregs: &mut VRegs<'a>, temp: &Arena) {
    // Plain slices of one length: the walk (twice, by `rebuild`) is an
    // index and two loads per row.
    let extents = &ranges.range.raw()[..];
    let owners = &ranges.vreg.raw()[..extents.len()];
    let rows = (0..extents.len()).rev().map(|i| {
        let entry = LiveRangeListEntry {
            range: extents[i],
            index: LiveRangeId::new(i),
        };
        (owners[i], entry)
    });
    vregs.ranges.rebuild(rows, |entry| entry.range.from, temp);
}

fn slot_of(index: usize) -> Result<u16, RegAllocError> {
    match u16::try_from(index) {
        Ok(slot) if slot != crate::ion::data::SLOT_NONE => Ok(slot),
        _ => Err(RegAllocError::TooManyOperands),
    }
}

/// Builds every vreg's live ranges and uses, the block-param edge lists,
/// clobber and fixed-register reservations, and the multi-fixed-reg fixups.
#[allow(
    clippy::too_many_arguments,
    reason = "the tables it reads and both arenas (tables in main, work tables in scratch) are each a parameter"
)]
pub fn build_liveranges<'a, F: Function>(
    func: &F,
    env: &MachineEnv,
    cfg: &CfgInfo<'_>,
    liveness: &Liveness<'_>,
    arena: &'a Arena,
    temp: &Arena,
    tables: &mut IonTables<'a>,
    stats: &mut Stats,
) -> Result<(), RegAllocError> {
    for &preg in &env.fixed_stack_slots {
        tables.pregs.is_stack[preg.index()] = true;
    }
    let num_vregs = func.num_vregs();
    let allow_multiple_defs = func.allow_multiple_vreg_defs();
    let IonTables {
        ranges,
        vregs,
        pregs,
        blockparam_outs,
        multi_fixed_reg_fixups,
        reuse_insts,
        ..
    } = tables;

    // Scan state. `current[v]` is v's range being extended upward, valid
    // exactly while v is live at the scan point. `live_now` lists the
    // vregs made live in the block (some maybe killed again): resetting
    // their rows at the block's entry ends the block without touching
    // every vreg (blocks × vregs would be too slow), and without a stored
    // live-in set (what is still live there is exactly that set).
    // `last_range[v]` is the range most recently created for v (the
    // earliest so far in program order). Uses and reservations are logged
    // in scan order and put in place after the scan.
    let mut current: Column<VRegId, LiveRangeId> =
        Column::filled_in(num_vregs, LiveRangeId::invalid(), temp);
    let mut last_range: Column<VRegId, LiveRangeId> =
        Column::filled_in(num_vregs, LiveRangeId::invalid(), temp);
    let mut live_now: ArenaVec<VRegId> = ArenaVec::with_capacity_in(SCRATCH_LIST_START, temp);
    let mut use_log: ArenaVec<(LiveRangeId, Use)> =
        ArenaVec::with_capacity_in(func.num_insts() * 3, temp);
    let mut rewrites: ArenaVec<(usize, Operand)> =
        ArenaVec::with_capacity_in(SCRATCH_LIST_START, temp);
    // Vregs named by two operands of one instruction: the only ones that
    // can have two uses at one point (see `fixup_multi_fixed_vregs`).
    let mut repeated_vregs: ArenaVec<VRegId> = ArenaVec::with_capacity_in(SCRATCH_LIST_START, temp);

    for b in (0..func.num_blocks()).rev() {
        let block = Block::new(b);
        let insts = func.block_insns(block);
        if insts.is_empty() {
            continue;
        }
        stats.livein_blocks += 1;
        let entry = cfg.block_entry[block];
        let exit_next = cfg.block_exit[block].next();
        let hot = loop_weight(cfg.loop_depth[block]);
        let last = insts.last();

        // Values live out, and branch args (read at the block's end), are
        // live through the whole block until a def shows otherwise.
        let mut make_live_to_end = |v: VRegId, ranges: &mut LiveRanges<'a>| {
            if current[v].is_invalid() {
                live_now.push(v);
                current[v] = add_range_to_vreg(
                    arena,
                    ranges,
                    &mut last_range,
                    v,
                    CodeRange::new(entry, exit_next),
                    allow_multiple_defs,
                );
            }
        };
        for &v in liveness.live_out(block) {
            make_live_to_end(v, ranges);
        }
        if func.is_branch(last) {
            for (succ_idx, &succ) in func.block_succs(block).iter().enumerate() {
                let params = func.block_params(succ);
                let args = func.branch_blockparams(block, last, succ_idx);
                for (&param, &arg) in params.iter().zip(args) {
                    blockparam_outs.push(BlockparamOut {
                        from_vreg: VRegId::of(arg),
                        from_block: block,
                        to_block: succ,
                        to_vreg: VRegId::of(param),
                    });
                    vregs.class[VRegId::of(arg)] = Some(arg.class());
                    make_live_to_end(VRegId::of(arg), ranges);
                }
            }
        }
        for &param in func.block_params(block) {
            vregs.blockparam[VRegId::of(param)] = block;
        }

        for inst in insts.iter().rev() {
            let clobbers = func.inst_clobbers(inst);
            if clobbers != PRegSet::empty() {
                // Only at After: the instruction may still read an input
                // in a register it clobbers.
                pregs.reserved.insert_set(clobbers, ProgPoint::after(inst));
            }
            let operands = func.inst_operands(inst);
            // Every slot index then fits a `u16` other than `SLOT_NONE`.
            slot_of(operands.len().saturating_sub(1))?;
            // An Early fixed use of a value that stays live, in a register
            // the instruction also writes (Late fixed def or clobber):
            // the use gets a copy in that register (fixup) and the value
            // itself is left unconstrained.
            rewrites.clear();
            let mut written_fixed = clobbers;
            let mut has_fixed_early_use = false;
            let mut has_reuse = false;
            for (i, a) in operands.iter().enumerate() {
                // Bit tests: most operands are neither fixed nor reusing.
                if let Some(preg) = a.fixed_reg() {
                    match (a.kind(), a.pos()) {
                        (OperandKind::Def, OperandPos::Late) => written_fixed.add(preg),
                        (OperandKind::Use, OperandPos::Early) => has_fixed_early_use = true,
                        _ => {}
                    }
                }
                has_reuse |= a.reused_slot().is_some();
                let vreg = a.vreg();
                if operands[i + 1..].iter().any(|b| b.vreg() == vreg)
                    && a.as_fixed_nonallocatable().is_none()
                {
                    // Once per instruction and vreg is enough: the list is
                    // deduplicated after the scan.
                    repeated_vregs.push(VRegId::of(vreg));
                }
            }
            if has_reuse {
                reuse_insts.push(inst);
            }
            if has_fixed_early_use {
                for (i, &op) in operands.iter().enumerate() {
                    if op.as_fixed_nonallocatable().is_some() {
                        continue;
                    }
                    let OperandConstraint::FixedReg(preg) = op.constraint() else {
                        continue;
                    };
                    if (op.kind(), op.pos()) != (OperandKind::Use, OperandPos::Early)
                        || current[VRegId::of(op.vreg())].is_invalid()
                    {
                        continue;
                    }
                    if written_fixed.contains(preg) {
                        let pos = ProgPoint::before(inst);
                        let slot = i as u16;
                        multi_fixed_reg_fixups.push(MultiFixedRegFixup {
                            pos,
                            from_slot: slot,
                            to_slot: slot,
                            to_preg: preg,
                            vreg: VRegId::of(op.vreg()),
                            level: FixupLevel::Initial,
                        });
                        pregs.reserved.insert(preg, pos);
                        let unconstrained =
                            Operand::new(op.vreg(), OperandConstraint::Any, op.kind(), op.pos());
                        rewrites.push((i, unconstrained));
                    }
                }
            }

            for (i, pos) in OperandsByPoint::new(operands, inst) {
                let original = operands[i];
                let op = if rewrites.is_empty() {
                    original
                } else {
                    rewrites
                        .iter()
                        .find(|(at, _)| *at == i)
                        .map_or(original, |&(_, rewritten)| rewritten)
                };
                let v = VRegId::of(op.vreg());
                vregs.class[v] = Some(op.class());
                let u = Use {
                    operand: op,
                    pos,
                    slot: i as u16,
                    weight: 0,
                };
                match op.kind() {
                    OperandKind::Def => {
                        let mut lr = current[v];
                        if lr.is_invalid() {
                            // Dead def: still occupies its register up
                            // to the next instruction (an Early def is
                            // a temp reserved across the instruction).
                            let range = CodeRange::new(pos, ProgPoint::before(inst.next()));
                            lr = add_range_to_vreg(
                                arena,
                                ranges,
                                &mut last_range,
                                v,
                                range,
                                allow_multiple_defs,
                            );
                        }
                        add_use(ranges, &mut use_log, lr, u, hot);
                        if ranges.range[lr].from == entry {
                            ranges.range[lr].from = pos;
                        }
                        ranges.flags[lr] |= range_flags::STARTS_AT_DEF;
                        current[v] = LiveRangeId::invalid();
                    }
                    OperandKind::Use => {
                        let mut lr = current[v];
                        if lr.is_invalid() {
                            let range = CodeRange::new(entry, pos.next());
                            lr = add_range_to_vreg(
                                arena,
                                ranges,
                                &mut last_range,
                                v,
                                range,
                                allow_multiple_defs,
                            );
                            current[v] = lr;
                            live_now.push(v);
                        }
                        add_use(ranges, &mut use_log, lr, u, hot);
                    }
                }
            }
        }

        // Block params are defined at the block's entry.
        for &param in func.block_params(block) {
            let v = VRegId::of(param);
            vregs.class[v] = Some(param.class());
            if current[v].is_valid() {
                current[v] = LiveRangeId::invalid();
            } else {
                add_range_to_vreg(
                    arena,
                    ranges,
                    &mut last_range,
                    v,
                    CodeRange::new(entry, entry.next()),
                    allow_multiple_defs,
                );
            }
            // One edge into the param per predecessor (`moves` walks
            // `cfg.preds` for them; only the count is kept).
            stats.blockparam_ins_count += func.block_preds(block).len();
        }

        // What is still live is the block's live-in set: end it here.
        for &v in live_now.iter() {
            // Live into this block means live out of every predecessor.
            #[cfg(debug_assertions)]
            if current[v].is_valid() {
                for &pred in func.block_preds(block) {
                    assert!(liveness.is_live_out(pred, v), "{v:?} live into {block:?}");
                }
            }
            current[v] = LiveRangeId::invalid();
        }
        live_now.clear();
    }

    // Lists were built back to front: put uses and per-vreg range lists in
    // program order.
    distribute_uses(temp, ranges, &use_log);
    list_ranges_by_vreg(ranges, vregs, temp);
    blockparam_outs.sort_unstable_by_key(|x| (x.from_vreg, x.from_block, x.to_block, x.to_vreg));

    repeated_vregs.sort_unstable();
    repeated_vregs.dedup();
    fixup_multi_fixed_vregs(
        &repeated_vregs,
        vregs,
        ranges,
        pregs,
        multi_fixed_reg_fixups,
        temp,
    )?;
    // Every reservation is known: lay them out for the probes.
    pregs.reserved.seal();

    stats.initial_liverange_count = ranges.len();
    stats.blockparam_outs_count = blockparam_outs.len();
    Ok(())
}

/// Where one vreg has several uses at one point whose constraints cannot
/// all hold (two fixed registers, a fixed stack slot and a register, a
/// fixed register at or above a `Limit`), keeps one (FixedReg first, then
/// Reg, then FixedStack) and rewrites the others to `Any`, recording a
/// fixup copy into their register and reserving that register at the
/// point. A range's uses are then satisfiable by one location, which the
/// splitter relies on (it cannot split between uses at one point).
///
/// Only `candidates` (increasing) are looked at: two uses at one point
/// come from two operands of one instruction naming the same vreg, and
/// the scan lists every such vreg.
fn fixup_multi_fixed_vregs(
    candidates: &[VRegId],
    vregs: &VRegs<'_>,
    ranges: &mut LiveRanges<'_>,
    pregs: &mut PRegs<'_>,
    fixups: &mut ArenaVec<'_, MultiFixedRegFixup>,
    arena: &Arena,
) -> Result<(), RegAllocError> {
    let mut reservations: ArenaVec<(PReg, ProgPoint)> =
        ArenaVec::with_capacity_in(SCRATCH_LIST_START, arena);
    for &vreg in candidates {
        for entry in vregs.ranges[vreg].iter() {
            let uses = &mut ranges.uses[entry.index];
            let mut start = 0;
            while start < uses.len() {
                let pos = uses[start].pos;
                let mut end = start + 1;
                while end < uses.len() && uses[end].pos == pos {
                    end += 1;
                }
                if end - start >= 2 {
                    fix_one_point(
                        vreg,
                        &mut uses[start..end],
                        pregs,
                        fixups,
                        &mut reservations,
                    )?;
                }
                start = end;
            }
        }
        for (preg, pos) in reservations.drain(..) {
            reserve_preg(pregs, preg, pos);
        }
    }
    Ok(())
}

fn fix_one_point(
    vreg: VRegId,
    uses: &mut [Use],
    pregs: &PRegs<'_>,
    fixups: &mut ArenaVec<'_, MultiFixedRegFixup>,
    reservations: &mut ArenaVec<'_, (PReg, ProgPoint)>,
) -> Result<(), RegAllocError> {
    let mut requires_reg = false;
    let mut has_stack = false;
    let mut num_fixed_reg = 0;
    let mut num_fixed_stack = 0;
    let mut first_reg_slot = None;
    let mut first_stack_slot = None;
    let mut min_limit = usize::MAX;
    let mut max_fixed_hw_enc = 0usize;
    for u in uses.iter() {
        match u.operand.constraint() {
            OperandConstraint::Any => {
                first_reg_slot.get_or_insert(u.slot);
                first_stack_slot.get_or_insert(u.slot);
            }
            OperandConstraint::Reg | OperandConstraint::Reuse(_) => {
                first_reg_slot.get_or_insert(u.slot);
                requires_reg = true;
            }
            OperandConstraint::Limit(bound) => {
                first_reg_slot.get_or_insert(u.slot);
                min_limit = min_limit.min(bound);
                requires_reg = true;
            }
            OperandConstraint::FixedReg(preg) => {
                max_fixed_hw_enc = max_fixed_hw_enc.max(preg.hw_enc());
                if pregs.is_stack[preg.index()] {
                    num_fixed_stack += 1;
                    first_stack_slot.get_or_insert(u.slot);
                } else {
                    requires_reg = true;
                    num_fixed_reg += 1;
                    first_reg_slot.get_or_insert(u.slot);
                }
            }
            OperandConstraint::Stack => has_stack = true,
        }
    }
    // A plain `Stack` use cannot be redirected by a fixup (there is no
    // register to copy into) and cannot share a point with a register
    // use: no allocation satisfies both. (regalloc2 panics here.)
    if has_stack && requires_reg {
        return Err(RegAllocError::TooManyLiveRegs);
    }
    let conflicts = num_fixed_reg + num_fixed_stack > 1
        || (requires_reg && num_fixed_stack != 0)
        || (num_fixed_reg + num_fixed_stack > 0 && max_fixed_hw_enc >= min_limit);
    if !conflicts {
        return Ok(());
    }
    let source_slot = if requires_reg {
        first_reg_slot
    } else {
        first_stack_slot
    }
    .unwrap_or(uses[0].slot);
    let mut kept: Option<PReg> = None;
    for u in uses.iter_mut() {
        let OperandConstraint::FixedReg(preg) = u.operand.constraint() else {
            continue;
        };
        let compatible = !(requires_reg && pregs.is_stack[preg.index()])
            && *kept.get_or_insert(preg) == preg
            && preg.hw_enc() < min_limit;
        if compatible {
            continue;
        }
        // The copy must be made before the instruction reads it: edits
        // at a Late use's point (After) run after the instruction (found
        // by `corpus_file`, 2026-12-06; regalloc2 0.15.2 makes the same
        // copy too late, and its checker and ours reject the result). So
        // a Late use's copy goes Before the instruction, and its register
        // is reserved at both points.
        let late_use = u.operand.kind() == OperandKind::Use && u.operand.pos() == OperandPos::Late;
        let pos = if late_use {
            ProgPoint::before(u.pos.inst())
        } else {
            u.pos
        };
        fixups.push(MultiFixedRegFixup {
            pos,
            from_slot: source_slot,
            to_slot: u.slot,
            to_preg: preg,
            vreg,
            level: FixupLevel::Secondary,
        });
        u.operand = Operand::new(
            u.operand.vreg(),
            OperandConstraint::Any,
            u.operand.kind(),
            u.operand.pos(),
        );
        if late_use {
            reservations.push((preg, pos));
        }
        reservations.push((preg, u.pos));
    }
    Ok(())
}

/// Hand-built functions and a driver running cfg, validation and the
/// front phases, shared by the tests of `liveness`, `liveranges`, `merge`.
#[cfg(test)]
pub(crate) mod testing {
    use crate::ion::data::IonTables;
    use crate::ion::liveness::{compute_liveness, Liveness};
    use crate::ion::{merge, Stats};
    use crate::owned::{BlockData, FunctionData, InstData, InstKind};
    use crate::tables::Arena;
    use crate::{
        Block, Function, Inst, InstRange, MachineEnv, Operand, PReg, PRegSet, RegClass, VReg,
    };

    pub fn v(n: usize) -> VReg {
        VReg::new(n, RegClass::Int)
    }
    pub fn p(n: usize) -> PReg {
        PReg::new(n, RegClass::Int)
    }
    pub fn op(operands: Vec<Operand>) -> InstData {
        InstData {
            kind: InstKind::Op,
            operands,
            clobbers: PRegSet::empty(),
        }
    }
    pub fn ret(operands: Vec<Operand>) -> InstData {
        InstData {
            kind: InstKind::Ret,
            ..op(operands)
        }
    }
    pub fn branch(operands: Vec<Operand>) -> InstData {
        InstData {
            kind: InstKind::Branch,
            ..op(operands)
        }
    }

    /// One block: params, instructions, and `(successor, args)` edges.
    pub struct B(
        pub Vec<VReg>,
        pub Vec<InstData>,
        pub Vec<(usize, Vec<VReg>)>,
    );

    pub fn function(num_vregs: usize, blocks: Vec<B>) -> FunctionData {
        let mut func = FunctionData {
            entry: Block::new(0),
            insts: Vec::new(),
            blocks: Vec::new(),
            num_vregs,
            debug_value_labels: Vec::new(),
            spillslot_sizes: [1, 1, 2],
            multi_spillslot_named_by_last_slot: false,
            allow_multiple_vreg_defs: false,
        };
        for B(params, insts, edges) in blocks {
            let first = Inst::new(func.insts.len());
            func.insts.extend(insts);
            func.blocks.push(BlockData {
                insts: InstRange::new(first, Inst::new(func.insts.len())),
                succs: edges.iter().map(|(s, _)| Block::new(*s)).collect(),
                preds: Vec::new(),
                params,
                branch_args: edges.into_iter().map(|(_, args)| args).collect(),
            });
        }
        func.recompute_preds();
        func
    }

    /// Eight int registers p0..p7, preferred; p40 is a fixed stack slot.
    pub fn env() -> MachineEnv {
        MachineEnv {
            preferred_regs_by_class: [(0..8).map(p).collect(), PRegSet::empty(), PRegSet::empty()],
            non_preferred_regs_by_class: [PRegSet::empty(); 3],
            scratch_by_class: [None; 3],
            fixed_stack_slots: vec![p(40)],
        }
    }

    /// Runs cfg, validate, liveness, liveranges and merge; checks the
    /// table invariants; hands the results to `check`.
    pub fn with_front<R>(
        func: &FunctionData,
        check: impl FnOnce(&IonTables<'_>, &Liveness<'_>, &Stats) -> R,
    ) -> R {
        let env = env();
        let arena = Arena::new();
        let cfg = crate::cfg::analyze(func, &arena).expect("cfg");
        let (_, upward) =
            crate::validate::validate_for_liveness(func, &env, &cfg, true, &arena, None)
                .expect("valid");
        let mut stats = Stats::default();
        let liveness =
            compute_liveness(func, &cfg, &upward, &arena, &arena, &mut stats).expect("liveness");
        let mut tables = IonTables::new_in(&arena, func.num_vregs(), func.num_insts());
        super::build_liveranges(
            func,
            &env,
            &cfg,
            &liveness,
            &arena,
            &arena,
            &mut tables,
            &mut stats,
        )
        .expect("liveranges");
        merge::merge_vreg_bundles(func, &arena, &arena, &mut tables);
        tables.check_invariants().expect("invariants");
        check(&tables, &liveness, &stats)
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;
    use crate::ion::data::{IonTables, SLOT_NONE};
    use crate::ion::liveness::live_in_of;

    fn at_before(i: usize) -> ProgPoint {
        ProgPoint::before(Inst::new(i))
    }
    fn at_after(i: usize) -> ProgPoint {
        ProgPoint::after(Inst::new(i))
    }
    fn ranges_of(tables: &IonTables<'_>, vreg: usize) -> Vec<(ProgPoint, ProgPoint)> {
        tables.vregs.ranges[VRegId::new(vreg)]
            .iter()
            .map(|e| (e.range.from, e.range.to))
            .collect()
    }
    fn uses_of(tables: &IonTables<'_>, vreg: usize) -> Vec<(ProgPoint, u16, OperandConstraint)> {
        tables.vregs.ranges[VRegId::new(vreg)]
            .iter()
            .flat_map(|e| tables.ranges.uses[e.index].iter())
            .map(|u| (u.pos, u.slot, u.operand.constraint()))
            .collect()
    }
    fn reservations(tables: &IonTables<'_>, preg: PReg) -> Vec<(ProgPoint, ProgPoint)> {
        tables
            .pregs
            .reserved
            .iter(preg)
            .map(|point| (point, point.next()))
            .collect()
    }

    #[test]
    fn straight_line_ranges_and_uses() {
        let func = function(
            2,
            vec![B(
                vec![],
                vec![
                    op(vec![Operand::reg_def(v(0))]),
                    op(vec![Operand::reg_def(v(1)), Operand::reg_use(v(0))]),
                    ret(vec![Operand::reg_use(v(1))]),
                ],
                vec![],
            )],
        );
        with_front(&func, |tables, _, stats| {
            assert_eq!(ranges_of(tables, 0), vec![(at_after(0), at_after(1))]);
            assert_eq!(ranges_of(tables, 1), vec![(at_after(1), at_after(2))]);
            assert_eq!(
                uses_of(tables, 0),
                vec![
                    (at_after(0), 0, OperandConstraint::Reg),
                    (at_before(1), 1, OperandConstraint::Reg)
                ]
            );
            let lr = tables.vregs.ranges[VRegId::new(0)][0].index;
            assert_ne!(tables.ranges.flags[lr] & range_flags::STARTS_AT_DEF, 0);
            // Def weight: 1000 (depth 0) + 2000 (def) + 2000 (Reg).
            let def = tables.ranges.uses[lr][0];
            assert_eq!(def.weight, spill_weight_to_bits(5000.0));
            assert_eq!(tables.ranges.uses_spill_weight[lr], 5000.0 + 3000.0);
            assert_eq!(stats.initial_liverange_count, 2);
            assert_eq!(
                tables.vregs.class[VRegId::new(1)],
                Some(crate::RegClass::Int)
            );
        });
    }

    #[test]
    fn diamond_with_block_params() {
        // b0 -> b1, b2 -> b3(v3); v0 lives across the diamond.
        let func = function(
            4,
            vec![
                B(
                    vec![],
                    vec![op(vec![Operand::reg_def(v(0))]), branch(vec![])],
                    vec![(1, vec![]), (2, vec![])],
                ),
                B(
                    vec![],
                    vec![op(vec![Operand::reg_def(v(1))]), branch(vec![])],
                    vec![(3, vec![v(1)])],
                ),
                B(
                    vec![],
                    vec![op(vec![Operand::reg_def(v(2))]), branch(vec![])],
                    vec![(3, vec![v(2)])],
                ),
                B(
                    vec![v(3)],
                    vec![ret(vec![Operand::reg_use(v(3)), Operand::reg_use(v(0))])],
                    vec![],
                ),
            ],
        );
        with_front(&func, |tables, liveness, _| {
            let b = Block::new;
            let v0 = VRegId::new(0);
            assert_eq!(liveness.live_out(b(0)), &[v0]);
            for block in 1..4 {
                assert_eq!(live_in_of(&func, liveness, b(block)), &[v0]);
            }
            // v0: one range from its def to its use, across all blocks.
            assert_eq!(ranges_of(tables, 0), vec![(at_after(0), at_after(6))]);
            // Branch args live to their block's end; the param starts at entry.
            assert_eq!(ranges_of(tables, 1), vec![(at_after(2), at_before(4))]);
            assert_eq!(ranges_of(tables, 3), vec![(at_before(6), at_after(6))]);
            assert_eq!(tables.vregs.blockparam[VRegId::new(3)], b(3));
            let outs: Vec<_> = tables
                .blockparam_outs
                .iter()
                .map(|o| {
                    (
                        o.from_vreg.index(),
                        o.from_block,
                        o.to_block,
                        o.to_vreg.index(),
                    )
                })
                .collect();
            assert_eq!(outs, vec![(1, b(1), b(3), 3), (2, b(2), b(3), 3)]);
            // v1 and v2 merge into v3's bundle; v0 stays alone.
            let bundle_of =
                |n: usize| tables.ranges.bundle[tables.vregs.ranges[VRegId::new(n)][0].index];
            assert_eq!(bundle_of(1), bundle_of(3));
            assert_eq!(bundle_of(2), bundle_of(3));
            assert_ne!(bundle_of(0), bundle_of(3));
            assert_eq!(tables.bundles.ranges[bundle_of(3)].len(), 3);
            let set = tables.bundles.hot[bundle_of(3)].spillset;
            assert_eq!(
                tables.spillsets.range[set],
                CodeRange::new(at_after(2), at_after(6))
            );
        });
    }

    #[test]
    fn loop_value_live_around_back_edge() {
        // b0 -> b1 (header) -> b2 (body) -> b1; b1 -> b3 (exit).
        let func = function(
            2,
            vec![
                B(
                    vec![],
                    vec![op(vec![Operand::reg_def(v(0))]), branch(vec![])],
                    vec![(1, vec![])],
                ),
                B(
                    vec![],
                    vec![op(vec![Operand::reg_use(v(0))]), branch(vec![])],
                    vec![(2, vec![]), (3, vec![])],
                ),
                B(
                    vec![],
                    vec![op(vec![Operand::reg_def(v(1))]), branch(vec![])],
                    vec![(1, vec![])],
                ),
                B(vec![], vec![ret(vec![Operand::reg_use(v(0))])], vec![]),
            ],
        );
        with_front(&func, |tables, liveness, stats| {
            let v0 = VRegId::new(0);
            assert!(liveness.is_live_out(Block::new(2), v0));
            assert!(live_in_of(&func, liveness, Block::new(2)).contains(&v0));
            assert!(live_in_of(&func, liveness, Block::new(1)).contains(&v0));
            assert!(live_in_of(&func, liveness, Block::new(0)).is_empty());
            assert!(stats.livein_iterations >= 3);
            assert_eq!(ranges_of(tables, 0), vec![(at_after(0), at_after(6))]);
            // The use in the loop header weighs 4× the base.
            let lr = tables.vregs.ranges[v0][0].index;
            let header_use = tables.ranges.uses[lr][1];
            assert_eq!(header_use.pos, at_before(2));
            assert_eq!(header_use.weight, spill_weight_to_bits(4000.0 + 2000.0));
            // Dead def in the body: reserved up to the next instruction.
            assert_eq!(ranges_of(tables, 1), vec![(at_after(4), at_before(5))]);
        });
    }

    #[test]
    fn call_with_clobbers_and_fixed_args() {
        // i2 is a call: v0 in p0, v1 in p1 (clobbered, but v1 lives on),
        // result v2 in p0, clobbers p1 and p2.
        let mut call = op(vec![
            Operand::reg_fixed_use(v(0), p(0)),
            Operand::reg_fixed_use(v(1), p(1)),
            Operand::reg_fixed_def(v(2), p(0)),
        ]);
        call.clobbers = [p(1), p(2)].into_iter().collect();
        let func = function(
            3,
            vec![B(
                vec![],
                vec![
                    op(vec![Operand::reg_def(v(0))]),
                    op(vec![Operand::reg_def(v(1))]),
                    call,
                    ret(vec![Operand::reg_use(v(1)), Operand::reg_use(v(2))]),
                ],
                vec![],
            )],
        );
        with_front(&func, |tables, _, _| {
            // p1: the fixup's reservation at Before(i2), the clobber at After(i2).
            assert_eq!(
                reservations(tables, p(1)),
                vec![(at_before(2), at_after(2)), (at_after(2), at_before(3))]
            );
            assert_eq!(
                reservations(tables, p(2)),
                vec![(at_after(2), at_before(3))]
            );
            assert!(reservations(tables, p(0)).is_empty());
            let fixups = &tables.multi_fixed_reg_fixups;
            assert_eq!(fixups.len(), 1);
            assert_eq!(
                (
                    fixups[0].pos,
                    fixups[0].from_slot,
                    fixups[0].to_slot,
                    fixups[0].to_preg
                ),
                (at_before(2), 1, 1, p(1))
            );
            assert_eq!(fixups[0].level, FixupLevel::Initial);
            // v1's use at the call lost its constraint; v0's kept it.
            assert!(uses_of(tables, 1).contains(&(at_before(2), 1, OperandConstraint::Any)));
            assert!(uses_of(tables, 0).contains(&(
                at_before(2),
                0,
                OperandConstraint::FixedReg(p(0))
            )));
            let bundle2 = tables.ranges.bundle[tables.vregs.ranges[VRegId::new(2)][0].index];
            assert_ne!(
                tables.bundles.hot[bundle2].props & crate::ion::data::bundle_props::FIXED_DEF,
                0
            );
        });
    }

    #[test]
    fn reuse_def_moves_other_inputs_late_and_merges() {
        let func = function(
            3,
            vec![B(
                vec![],
                vec![
                    op(vec![Operand::reg_def(v(0))]),
                    op(vec![Operand::reg_def(v(1))]),
                    op(vec![
                        Operand::reg_reuse_def(v(2), 1),
                        Operand::reg_use(v(0)),
                        Operand::reg_use(v(1)),
                    ]),
                    ret(vec![Operand::reg_use(v(2))]),
                ],
                vec![],
            )],
        );
        with_front(&func, |tables, _, _| {
            assert_eq!(
                uses_of(tables, 0)[1],
                (at_before(2), 1, OperandConstraint::Reg)
            );
            assert_eq!(
                uses_of(tables, 1)[1],
                (at_after(2), 2, OperandConstraint::Reg)
            );
            assert_eq!(ranges_of(tables, 1), vec![(at_after(1), at_before(3))]);
            assert_eq!(ranges_of(tables, 0), vec![(at_after(0), at_after(2))]);
            let bundle_of =
                |n: usize| tables.ranges.bundle[tables.vregs.ranges[VRegId::new(n)][0].index];
            assert_eq!(bundle_of(0), bundle_of(2));
            assert_ne!(bundle_of(1), bundle_of(2));
        });
    }

    #[test]
    fn multi_fixed_reg_use_keeps_one_and_fixes_up_the_rest() {
        let func = function(
            1,
            vec![B(
                vec![],
                vec![
                    op(vec![Operand::reg_def(v(0))]),
                    ret(vec![
                        Operand::reg_fixed_use(v(0), p(0)),
                        Operand::reg_fixed_use(v(0), p(1)),
                    ]),
                ],
                vec![],
            )],
        );
        with_front(&func, |tables, _, _| {
            let fixups = &tables.multi_fixed_reg_fixups;
            assert_eq!(fixups.len(), 1);
            let fixup = fixups[0];
            assert_eq!(fixup.level, FixupLevel::Secondary);
            // Uses at one point are listed last operand first (as
            // upstream), so the p1 use is kept and p0 gets the copy.
            assert_eq!(fixup.to_preg, p(0));
            assert_eq!((fixup.from_slot, fixup.to_slot), (1, 0));
            assert_eq!(
                reservations(tables, p(0)),
                vec![(at_before(1), at_after(1))]
            );
            assert!(reservations(tables, p(1)).is_empty());
            let constraints: Vec<_> = uses_of(tables, 0).into_iter().map(|u| u.2).collect();
            assert!(constraints.contains(&OperandConstraint::FixedReg(p(1))));
            assert!(constraints.contains(&OperandConstraint::Any));
            assert!(!constraints.contains(&OperandConstraint::FixedReg(p(0))));
        });
    }

    #[test]
    fn weights_round_trip_through_bits() {
        for w in [1000.0f32, 5000.0, 6000.0, 1_049_000.0] {
            let back = spill_weight_from_bits(spill_weight_to_bits(w));
            assert!((back - w).abs() / w < 0.01, "{w} -> {back}");
        }
        assert_eq!(
            use_spill_weight(OperandConstraint::Stack, 20, false),
            1000.0 * 4f32.powi(10)
        );
        assert_eq!(SLOT_NONE, u16::MAX);
    }
}
