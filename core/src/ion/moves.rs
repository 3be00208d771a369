//! Phase `moves`: turns the final allocation of every live range into the
//! allocator's [`Output`]: each operand's allocation, the moves connecting
//! a vreg's ranges, the debug-value locations and the counters.
//!
//! Reads: the function, the machine env, the CFG info, every Ion table
//! (ranges and their uses, vreg range lists, bundles' allocations, spill
//! sets' slots, spill slots' final allocations, the per-PReg trees for
//! finding free scratch registers, block-param edges, multi-fixed-reg
//! fixups, the instructions with a reuse operand) and the operand-slot
//! layout validation left in `output` (`inst_alloc_offsets`, and `allocs`
//! holding `none` but for fixed non-allocatable operands). Writes: the
//! rest of `output` (edits and debug locations cleared first, capacity
//! kept) and the move counters of `stats`.
//!
//! Algorithm (regalloc2's `src/ion/moves.rs`, rebuilt on our tables):
//! 1. Every range's allocation is its bundle's register, or else its spill
//!    set's slot. Every use writes that allocation to its operand slot.
//! 2. Moves are collected as [`PendingMove`]s `(point, priority, class,
//!    from, to)`:
//!    * within a block, into a range that starts after another range of
//!      the vreg ended or while it still runs (a split, a reload, a
//!      spill), from the best earlier range (a register if one covers the
//!      point);
//!    * across a CFG edge, into each range live into a block from the
//!      location at the predecessor's end, preferring a register when
//!      several ranges of the vreg cover that end;
//!    * across a CFG edge, from each branch argument's location at the
//!      predecessor's end into the block param's ranges;
//!    * before an instruction, from a reused input to its reusing def, and
//!      from a multiply-fixed use to its extra fixed registers.
//!
//!    Edge moves go at the end of the predecessor when it has one
//!    successor, else at the start of the successor (edges are not
//!    critical, so one of the two holds).
//! 3. Moves are sorted by (point, [`MovePrio`]); each (point, priority,
//!    class) group is one parallel move, sequentialized by
//!    [`ParallelMoves`] (scratch register, free register or extra spill
//!    slot for cycles and stack-to-stack moves).
//! 4. [`RedundantMoveEliminator`] drops moves whose destination already
//!    holds the value, within a block.
//!
//! See docs/ion.md ("Phase `moves`") for the priority order and why it is right.

use crate::cfg::CfgInfo;
use crate::ion::data::{
    range_flags, BlockparamOut, CodeRange, FixupLevel, IonTables, LiveRangeId, LiveRangeListEntry,
    MultiFixedRegFixup, VRegId, SLOT_NONE,
};
use crate::ion::parallel_moves::{ParallelMoves, ResolveError, ResolverRegs, ScratchSource};
use crate::ion::redundant_moves::RedundantMoveEliminator;
use crate::ion::Stats;
use crate::tables::{Arena, ArenaVec, Column, SCRATCH_LIST_START};
use crate::{
    Allocation, Block, Edit, Function, Inst, InstPosition, MachineEnv, OperandConstraint,
    OperandKind, Output, PReg, PRegSet, ProgPoint, RegAllocError, RegClass, SpillSlot, VReg,
};

/// The order of the parallel moves that share a program point. Each
/// priority at a point is one parallel move; they run in this order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum MovePrio {
    /// Edge moves at the start of a block with one predecessor: live-in
    /// values and block params together (one parallel set, because a
    /// param's argument may sit where a live-in value must go).
    InEdge,
    /// A vreg moving from one of its ranges into the next within a block.
    /// Never at a block start, so it never reads what `InEdge` wrote.
    Regular,
    /// Copies of a multiply-fixed use into its other fixed registers; they
    /// read the value the `Regular` moves put in place.
    MultiFixedRegInitial,
    MultiFixedRegSecondary,
    /// A reused input copied into its def's register, after the input is
    /// in place.
    ReusedInput,
    /// Edge moves before the branch of a block with one successor: last,
    /// after every move that feeds the branch's own operands.
    OutEdge,
}

/// A move waiting to be grouped and sequentialized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PendingMove {
    pub pos: ProgPoint,
    pub prio: MovePrio,
    pub class: RegClass,
    pub from: Allocation,
    pub to: Allocation,
    /// Insertion order: a deterministic tie-break for the unstable sort.
    pub seq: u32,
}

/// One of a vreg's ranges with its final allocation.
#[derive(Clone, Copy, Debug)]
struct VRegRange {
    range: CodeRange,
    id: LiveRangeId,
    alloc: Allocation,
    /// The range's `range_flags` (read with its other columns, while the
    /// range's row is being fetched anyway).
    flags: u8,
    /// Blocks whose exit point the range covers: `exits.0..exits.1`;
    /// blocks whose entry it covers: `entries.0..entries.1` (block
    /// indices; both empty for an empty range). Set in step 2.
    exits: (u32, u32),
    entries: (u32, u32),
}

/// A block-param edge's source: `to_vreg`'s argument leaves `from_block`
/// in `alloc`.
#[derive(Clone, Copy, Debug)]
struct ParamSource {
    to_vreg: VRegId,
    from_block: Block,
    alloc: Allocation,
}

/// A block-param edge's destination: `to_vreg` (a param of `to_block`)
/// must be in `alloc` when arriving from `from_block`.
#[derive(Clone, Copy, Debug)]
struct ParamDest {
    to_vreg: VRegId,
    to_block: Block,
    from_block: Block,
    alloc: Allocation,
}

fn internal_error() -> RegAllocError {
    // The contract of the earlier phases was broken (a range without a
    // bundle, a spilled bundle without a slot...). No input should reach
    // this; it is reported rather than panicking.
    RegAllocError::TooManyLiveRegs
}

/// Extra spill slots the resolver asks for, per class, shared by every
/// program point (a point's sequence frees them before the next point).
///
/// A class's slot size is asked of the function only when the resolver
/// first needs a slot of that class, as upstream does: backends may panic
/// for a class they never spill (Cranelift's x64 for `Vector`).
struct ExtraSlots<'a, 'f> {
    by_class: [ArenaVec<'a, Allocation>; 3],
    spillslot_size: &'f dyn Fn(RegClass) -> usize,
    named_by_last_slot: bool,
    /// Total slots in the frame so far.
    num_spillslots: usize,
}

impl ExtraSlots<'_, '_> {
    fn get(&mut self, class: RegClass, index: usize) -> Allocation {
        let list = &mut self.by_class[class as usize];
        if list.len() <= index {
            let size = (self.spillslot_size)(class).max(1).next_power_of_two();
            while list.len() <= index {
                let offset = self.num_spillslots.next_multiple_of(size);
                let slot = if self.named_by_last_slot {
                    offset + size - 1
                } else {
                    offset
                };
                self.num_spillslots = offset + size;
                list.push(Allocation::stack(SpillSlot::new(slot)));
            }
        }
        list[index]
    }
}

/// The resolver's view of one program point.
struct PointScratch<'t, 'a, 'f> {
    tables: &'t IonTables<'a>,
    env: &'t MachineEnv,
    fixed_stack: PRegSet,
    class: RegClass,
    point: ProgPoint,
    extra: &'t mut ExtraSlots<'a, 'f>,
}

/// Whether `alloc` is a stack location: a spill slot, or a register
/// naming a fixed stack slot.
#[inline]
fn is_stack_location(fixed_stack: PRegSet, alloc: Allocation) -> bool {
    match alloc.as_reg() {
        Some(preg) => fixed_stack.contains(preg),
        None => alloc.is_stack(),
    }
}

impl ScratchSource for PointScratch<'_, '_, '_> {
    fn is_stack(&self, alloc: Allocation) -> bool {
        is_stack_location(self.fixed_stack, alloc)
    }

    fn free_reg(&mut self, usable: &dyn Fn(PReg) -> bool) -> Option<PReg> {
        let class = self.class as usize;
        let here = CodeRange::new(self.point, self.point.next());
        let pregs = &self.tables.pregs;
        self.env.preferred_regs_by_class[class]
            .into_iter()
            .chain(self.env.non_preferred_regs_by_class[class])
            .filter(|&p| p.class() == self.class && !self.fixed_stack.contains(p))
            .find(|&p| {
                usable(p)
                    && !pregs.reserved.contains(p, self.point)
                    && pregs
                        .trees
                        .first_overlap(pregs.allocations[p.index()], here)
                        .is_none()
            })
    }

    fn spill_slot(&mut self, index: usize) -> Allocation {
        self.extra.get(self.class, index)
    }
}

/// Fills `output` from the final allocation. See the module doc.
#[allow(
    clippy::too_many_arguments,
    reason = "the phase reads every table the earlier phases wrote, each passed on its own"
)]
pub fn insert_moves<'a, F: Function>(
    func: &F,
    env: &MachineEnv,
    cfg: &CfgInfo<'a>,
    arena: &'a Arena,
    tables: &IonTables<'a>,
    num_spillslots: usize,
    output: &mut Output,
    stats: &mut Stats,
) -> Result<(), RegAllocError> {
    // Validation laid out the operand slots (`inst_alloc_offsets`, and
    // `allocs` with the fixed non-allocatable operands' registers); the
    // allocated operands are written from the ranges' uses.
    output.edits.clear();
    output.debug_locations.clear();
    output.num_spillslots = 0;
    if output.inst_alloc_offsets.len() != func.num_insts() {
        return Err(internal_error());
    }

    let mut moves = MoveCollector {
        cfg,
        edge_info: edge_info(func, arena),
        // About one move per instruction; a large function gets room for
        // two, so that the list does not double into fresh pages (unused
        // room is only address space).
        pending: ArenaVec::with_capacity_in(
            if func.num_insts() >= crate::ion::data::LARGE_FUNCTION_INSTS {
                2 * func.num_insts()
            } else {
                func.num_insts()
            },
            arena,
        ),
    };
    collect_vreg_moves(func, cfg, arena, tables, output, &mut moves, stats)?;
    collect_fixup_moves(func, &tables.multi_fixed_reg_fixups, output, &mut moves)?;
    // The live-range scan listed the instructions with a reuse operand,
    // last first.
    collect_reuse_moves(func, tables.reuse_insts.iter().rev(), output, &mut moves)?;

    output.num_spillslots = resolve_moves(
        func,
        env,
        cfg,
        arena,
        tables,
        num_spillslots,
        &moves.pending,
        output,
    )?;

    output
        .debug_locations
        .sort_unstable_by_key(|&(label, from, to, alloc)| (label, from, to, alloc.bits()));

    stats.blockparam_outs_count = tables.blockparam_outs.len();
    stats.final_liverange_count = tables.ranges.len();
    stats.edits_count = output.edits.len();
    output.stats = *stats;
    Ok(())
}

/// [`edge_info`] flags of a block.
mod edge_flags {
    /// The block has no instructions.
    pub const EMPTY: u8 = 1;
    /// At most one way out: one successor, or a return with none.
    pub const ONE_OUT: u8 = 2;
    /// At most one way in: one predecessor, or the entry with none.
    pub const ONE_IN: u8 = 4;
}

/// Per block, the [`edge_flags`] that decide where its edges' moves go:
/// computed once so each edge move is a table lookup, not several
/// `Function` calls.
fn edge_info<'a, F: Function>(func: &F, arena: &'a Arena) -> ArenaVec<'a, u8> {
    let num_blocks = func.num_blocks();
    let mut info = ArenaVec::with_capacity_in(num_blocks, arena);
    for b in 0..num_blocks {
        let block = Block::new(b);
        let insts = func.block_insns(block);
        let mut flags = 0;
        if insts.is_empty() {
            flags |= edge_flags::EMPTY;
        } else if func.block_succs(block).len() + usize::from(func.is_ret(insts.last())) <= 1 {
            flags |= edge_flags::ONE_OUT;
        }
        if func.block_preds(block).len() + usize::from(func.entry_block() == block) <= 1 {
            flags |= edge_flags::ONE_IN;
        }
        info.push(flags);
    }
    info
}

/// Collects pending moves; knows where edge moves go.
struct MoveCollector<'f, 'a> {
    cfg: &'f CfgInfo<'a>,
    /// [`edge_flags`] per block.
    edge_info: ArenaVec<'a, u8>,
    pending: ArenaVec<'a, PendingMove>,
}

impl MoveCollector<'_, '_> {
    #[inline]
    fn push(
        &mut self,
        pos: ProgPoint,
        prio: MovePrio,
        class: RegClass,
        from: Allocation,
        to: Allocation,
    ) {
        if from == to {
            return;
        }
        let seq = self.pending.len() as u32;
        self.pending.push(PendingMove {
            pos,
            prio,
            class,
            from,
            to,
            seq,
        });
    }

    /// Where the moves of the edge `from → to` go.
    #[inline]
    fn edge_point(&self, from: Block, to: Block) -> Result<(ProgPoint, MovePrio), RegAllocError> {
        let info = |b: Block| {
            self.edge_info
                .get(b.index())
                .copied()
                .unwrap_or(edge_flags::EMPTY)
        };
        let (from_info, to_info) = (info(from), info(to));
        if (from_info | to_info) & edge_flags::EMPTY != 0 {
            return Err(RegAllocError::BB(if from_info & edge_flags::EMPTY != 0 {
                from
            } else {
                to
            }));
        }
        if to_info & edge_flags::ONE_IN == 0 && from_info & edge_flags::ONE_OUT != 0 {
            // Before the branch: it must not read registers the moves
            // write, which holds for one-successor branches (see
            // docs/ion.md, "Phase `moves`").
            Ok((
                ProgPoint::before(self.cfg.block_exit[from].inst()),
                MovePrio::OutEdge,
            ))
        } else if to_info & edge_flags::ONE_IN != 0 {
            Ok((self.cfg.block_entry[to], MovePrio::InEdge))
        } else {
            Err(RegAllocError::CritEdge(from, to))
        }
    }

    /// Whether `point` is a block's first point (always a Before point,
    /// so an After point is answered without reading the tables).
    #[inline]
    fn is_block_entry(&self, point: ProgPoint) -> bool {
        if point.pos() != InstPosition::Before {
            return false;
        }
        let block = self.cfg.insn_block[point.inst()];
        self.cfg.block_entry[block] == point
    }
}

/// The allocation of `range`: its bundle's register, else its spill
/// set's slot.
#[inline]
fn range_alloc(tables: &IonTables<'_>, range: LiveRangeId) -> Result<Allocation, RegAllocError> {
    let bundle = *tables.ranges.bundle.get(range).ok_or_else(internal_error)?;
    let alloc = tables
        .bundles
        .hot
        .get(bundle)
        .ok_or_else(internal_error)?
        .allocation;
    if alloc.is_some() {
        return Ok(alloc);
    }
    let spillset = tables.bundles.hot[bundle].spillset;
    let slot = *tables
        .spillsets
        .slot
        .get(spillset)
        .ok_or_else(internal_error)?;
    let alloc = *tables
        .spillslots
        .alloc
        .get(slot)
        .ok_or_else(internal_error)?;
    if alloc.is_none() {
        return Err(internal_error());
    }
    Ok(alloc)
}

/// From this many live ranges on, the per-range walks of move insertion
/// prefetch the rows they will read (see [`prefetch_range_rows`]): below
/// it the tables sit in the cache and the hints would be pure overhead.
const PREFETCH_MIN_RANGES: usize = 1 << 14;
/// How far ahead (in ranges) a walk asks for a range's own rows, and,
/// half as far, for the bundle row they name.
const PREFETCH_RANGES_AHEAD: usize = 16;

/// Prefetches what [`range_alloc`] and the range's flags read for the
/// range `ahead` places on, and the bundle row of the range half as far
/// ahead (whose own rows were asked for that many steps before). In a
/// large function each range's bundle and flags sit anywhere in tables of
/// hundreds of MB, two dependent misses per range without the hints.
#[inline(always)]
fn prefetch_range_rows(
    tables: &IonTables<'_>,
    far: Option<LiveRangeId>,
    near: Option<LiveRangeId>,
) {
    use crate::tables::prefetch;
    if let Some(far) = far {
        prefetch(
            tables
                .ranges
                .bundle
                .raw()
                .as_ptr()
                .wrapping_add(far.index()),
        );
        prefetch(tables.ranges.flags.raw().as_ptr().wrapping_add(far.index()));
    }
    if let Some(&bundle) = near.and_then(|near| tables.ranges.bundle.get(near)) {
        if let Some(row) = tables.bundles.hot.get(bundle) {
            prefetch(row);
        }
    }
}

/// The class of `vreg`'s values.
fn vreg_class<F: Function>(
    func: &F,
    tables: &IonTables<'_>,
    vreg: VRegId,
    ranges: &[VRegRange],
) -> RegClass {
    if let Some(class) = tables.vregs.class[vreg] {
        return class;
    }
    for r in ranges {
        if let Some(u) = tables.ranges.uses[r.id].first() {
            return u.operand.class();
        }
    }
    let block = tables.vregs.blockparam[vreg];
    if block.is_valid() {
        if let Some(v) = func
            .block_params(block)
            .iter()
            .find(|v| v.vreg() == vreg.index())
        {
            return v.class();
        }
    }
    RegClass::Int
}

/// Writes every operand's allocation (its range's), in one pass over the
/// ranges in id order rather than per vreg: the ranges built by
/// `liveranges` are numbered in its backward scan and their uses sit in
/// that order in the use pool, so the pass reads the pool front to back
/// and writes `output.allocs` nearly in instruction order, where a
/// per-vreg walk jumps across both (for a large function, a cache miss
/// per use). Returns, per vreg, the block whose entry holds its def that
/// the per-vreg walk would have met last (ranges by start, end and id;
/// uses in order) with that range, or invalid ids if none.
fn write_operand_allocs<'a>(
    cfg: &CfgInfo<'a>,
    arena: &'a Arena,
    tables: &IonTables<'a>,
    moves: &MoveCollector<'_, 'a>,
    output: &mut Output,
) -> Result<Column<'a, VRegId, (LiveRangeId, Block)>, RegAllocError> {
    // (range of the def, its block) per vreg.
    let mut def_entry: Column<VRegId, (LiveRangeId, Block)> = Column::filled_in(
        tables.vregs.ranges.len(),
        (LiveRangeId::invalid(), Block::invalid()),
        arena,
    );
    let walk_key = |lr: LiveRangeId| {
        let range = tables.ranges.range[lr];
        (range.from, range.to, lr)
    };
    let offsets = &output.inst_alloc_offsets[..];
    let allocs = &mut output.allocs[..];
    let num_ranges = tables.ranges.len();
    let prefetching = num_ranges >= PREFETCH_MIN_RANGES;
    for (lr, uses) in tables.ranges.uses.iter().enumerate() {
        if prefetching {
            // Ranges in id order: the bundle column is read in order, the
            // bundle rows it names are not.
            let near = lr + PREFETCH_RANGES_AHEAD / 2;
            prefetch_range_rows(
                tables,
                None,
                (near < num_ranges).then(|| LiveRangeId::new(near)),
            );
        }
        if uses.is_empty() {
            continue;
        }
        let lr = LiveRangeId::new(lr);
        let alloc = range_alloc(tables, lr)?;
        for u in uses {
            let inst = u.pos.inst();
            if inst.index() >= offsets.len() {
                return Err(internal_error());
            }
            if u.operand.kind() == OperandKind::Def && moves.is_block_entry(u.pos) {
                // Rare (one per block param, say): the walk's last wins.
                let last = &mut def_entry[tables.ranges.vreg[lr]];
                if last.0.is_invalid() || walk_key(lr) >= walk_key(last.0) {
                    *last = (lr, cfg.insn_block[inst]);
                }
            }
            if u.slot == SLOT_NONE {
                continue;
            }
            let start = offsets[inst.index()] as usize;
            let end = offsets
                .get(inst.index() + 1)
                .map_or(allocs.len(), |&e| e as usize);
            let at = start + u.slot as usize;
            if at >= end {
                return Err(internal_error());
            }
            allocs[at] = alloc;
        }
    }
    Ok(def_entry)
}

/// Per-vreg work: moves within blocks, live-in edge moves, block-param
/// edges, debug locations.
fn collect_vreg_moves<'a, F: Function>(
    func: &F,
    cfg: &CfgInfo<'a>,
    arena: &'a Arena,
    tables: &IonTables<'a>,
    output: &mut Output,
    moves: &mut MoveCollector<'_, 'a>,
    stats: &mut Stats,
) -> Result<(), RegAllocError> {
    let num_blocks = func.num_blocks();
    let mut vr: ArenaVec<VRegRange> = ArenaVec::with_capacity_in(SCRATCH_LIST_START, arena);
    // Per block, the best source at its exit for the current vreg:
    // `(stamp, alloc)`, current iff `stamp` is the vreg's (index + 1).
    let mut exit_best: ArenaVec<(u32, Allocation)> = ArenaVec::with_capacity_in(num_blocks, arena);
    exit_best.resize(num_blocks, (0, Allocation::none()));
    let mut active: ArenaVec<u32> = ArenaVec::with_capacity_in(SCRATCH_LIST_START, arena);
    let mut param_sources: ArenaVec<ParamSource> =
        ArenaVec::with_capacity_in(SCRATCH_LIST_START, arena);
    let mut param_dests: ArenaVec<ParamDest> =
        ArenaVec::with_capacity_in(SCRATCH_LIST_START, arena);

    // Walk orders of the block-param lists and the labels, by vreg. The
    // lists usually come sorted (liveranges sorts the param lists), so the
    // order is the identity and the sort is skipped.
    let outs = &tables.blockparam_outs;
    let outs_order = sorted_order(arena, outs.len(), |i| {
        let o = outs[i as usize];
        (o.from_vreg, o.from_block, i)
    });
    let labels = func.debug_value_labels();
    let labels_order = sorted_order(arena, labels.len(), |i| (labels[i as usize].0.vreg(), i));
    let (mut outs_at, mut labels_at) = (0usize, 0usize);
    let pred_spans = pred_spans(func, arena);
    let def_entry_blocks = write_operand_allocs(cfg, arena, tables, moves, output)?;

    // Most vregs have no range (Cranelift numbers them sparsely): visit
    // only the non-empty lists, in increasing vreg order.
    let all_entries = tables.vregs.ranges.entries();
    let prefetching = tables.ranges.len() >= PREFETCH_MIN_RANGES;
    for (vreg, list) in tables.vregs.ranges.iter_nonempty() {
        if prefetching {
            // The lists lie back to back: look ahead from this list's
            // start across the next vregs' lists.
            let at = (list.as_ptr() as usize - all_entries.as_ptr() as usize)
                / core::mem::size_of::<LiveRangeListEntry>();
            let id_at = |k: usize| all_entries.get(at + k).map(|e| e.index);
            for k in 0..list.len() {
                prefetch_range_rows(
                    tables,
                    id_at(k + PREFETCH_RANGES_AHEAD),
                    id_at(k + PREFETCH_RANGES_AHEAD / 2),
                );
            }
        }
        let vr_row = |entry: &LiveRangeListEntry| -> Result<VRegRange, RegAllocError> {
            // The list holds a copy of the range's bounds.
            debug_assert_eq!(Some(&entry.range), tables.ranges.range.get(entry.index));
            Ok(VRegRange {
                range: entry.range,
                id: entry.index,
                alloc: range_alloc(tables, entry.index)?,
                flags: tables.ranges.flags[entry.index],
                exits: (0, 0),
                entries: (0, 0),
            })
        };
        // The vreg's param edges, sorted by (to_block, from_block).
        let vreg_outs = vreg_rows(
            &outs_order,
            &mut outs_at,
            |i| outs[i as usize].from_vreg,
            vreg,
        );
        let param_block = tables.vregs.blockparam[vreg];

        if let [entry] = list {
            // One range (most vregs): no earlier range to move from within
            // a block, and no other range to move from across an edge (a
            // predecessor's exit it does not cover has no source). Only
            // its block-param edges remain.
            let r = vr_row(entry)?;
            let (exits, entries) = covered_blocks(cfg, r.range);
            let exit_alloc = |block: Block| {
                (exits.0..exits.1)
                    .contains(&(block.index() as u32))
                    .then_some(r.alloc)
            };
            push_param_sources(outs, vreg_outs, exit_alloc, &mut param_sources, stats);
            if param_block.is_valid()
                && (entries.0..entries.1).contains(&(param_block.index() as u32))
            {
                push_param_dests(cfg, vreg, param_block, r.alloc, &mut param_dests, stats);
            }
            push_vreg_debug_locations(
                labels,
                &labels_order,
                &mut labels_at,
                vreg,
                core::slice::from_ref(&r),
                &mut active,
                output,
            );
            continue;
        }
        vr.clear();
        vr.reserve(list.len());
        for entry in list.iter() {
            vr.push(vr_row(entry)?);
        }
        // `relist_vreg_ranges` left the list in this order (start, end,
        // id); the check is one pass, the sort a guard for hand-built
        // tables.
        let vr_key = |r: &VRegRange| (r.range.from, r.range.to, r.id);
        if !vr.windows(2).all(|w| vr_key(&w[0]) < vr_key(&w[1])) {
            vr.sort_unstable_by_key(vr_key);
        }
        let class = vreg_class(func, tables, vreg, &vr);

        // 1. (Operand allocations were written by `write_operand_allocs`.)
        let def_entry_block = def_entry_blocks[vreg].1;

        // 2. Block exits and entries covered by each range.
        // Best source per block exit: a register if any range has one,
        // else the earliest-starting range. Ranges come in `vr` order, so
        // the first seen is the earliest and is replaced only by the first
        // register.
        let stamp = vreg.index() as u32 + 1;
        for r in vr.iter_mut() {
            if r.range.is_empty() {
                continue;
            }
            (r.exits, r.entries) = covered_blocks(cfg, r.range);
            for best in &mut exit_best[r.exits.0 as usize..r.exits.1 as usize] {
                if best.0 != stamp {
                    *best = (stamp, r.alloc);
                } else if !best.1.is_reg() && r.alloc.is_reg() {
                    best.1 = r.alloc;
                }
            }
        }
        let exit_alloc = |block: Block| -> Option<Allocation> {
            exit_best
                .get(block.index())
                .filter(|&&(s, _)| s == stamp)
                .map(|&(_, alloc)| alloc)
        };

        // 3. Block-param sources: this vreg passed as a branch argument.
        push_param_sources(outs, vreg_outs, exit_alloc, &mut param_sources, stats);

        // 4. Entries: block-param destinations, or live-in edge moves.
        // Entries in the order of the ranges, then of the blocks.
        for r in vr.iter() {
            for b in r.entries.0..r.entries.1 {
                let block = Block::new(b as usize);
                if block == param_block {
                    push_param_dests(cfg, vreg, block, r.alloc, &mut param_dests, stats);
                    continue;
                }
                if block == def_entry_block {
                    continue;
                }
                // Every predecessor's exit covered by this range (a block
                // inside a long range): nothing comes in.
                let (lo, hi) = pred_spans[b as usize];
                if r.exits.0 <= lo && hi < r.exits.1 {
                    continue;
                }
                for &pred in cfg.preds(block) {
                    // Same as `r.range.contains_point(cfg.block_exit[pred])`
                    // (see step 2), without reading the exit point.
                    let covered = (r.exits.0..r.exits.1).contains(&(pred.index() as u32));
                    debug_assert_eq!(covered, r.range.contains_point(cfg.block_exit[pred]));
                    if covered {
                        // The same range carries the value across the edge.
                        continue;
                    }
                    // No range at the predecessor's end: not live there, so
                    // not live into this block from it.
                    let Some(src) = exit_alloc(pred) else {
                        continue;
                    };
                    stats.halfmoves_count += 2;
                    let (pos, prio) = moves.edge_point(pred, block)?;
                    moves.push(pos, prio, class, src, r.alloc);
                }
            }
        }

        // 5. Within a block: a range that does not start at a def or a
        // block entry takes the value from an earlier range still live
        // (or just ended) at its start. `active` holds earlier-starting
        // ranges that may still qualify.
        active.clear();
        let mut k = 0;
        while k < vr.len() {
            let from = vr[k].range.from;
            let mut group_end = k;
            while group_end < vr.len() && vr[group_end].range.from == from {
                group_end += 1;
            }
            // Drop the ranges ended before `from`, in place, keeping the
            // order (ties below go to the first).
            let mut kept = 0;
            for i in 0..active.len() {
                let j = active[i];
                if vr[j as usize].range.to >= from {
                    active[kept] = j;
                    kept += 1;
                }
            }
            active.truncate(kept);
            let at_block_entry = moves.is_block_entry(from);
            for g in k..group_end {
                let r = vr[g];
                if r.flags & range_flags::STARTS_AT_DEF != 0 || at_block_entry {
                    continue;
                }
                // Just-ended ranges qualify only at a Before point: at an
                // After point the instruction may have reused the register.
                let src = active
                    .iter()
                    .map(|&j| vr[j as usize])
                    .filter(|q| {
                        q.range.to > from
                            || (q.range.to == from && from.pos() == InstPosition::Before)
                    })
                    .min_by_key(|q| (!q.alloc.is_reg(), core::cmp::Reverse(q.range.to)));
                if let Some(q) = src {
                    moves.push(from, MovePrio::Regular, class, q.alloc, r.alloc);
                }
            }
            for g in k..group_end {
                active.push(g as u32);
            }
            k = group_end;
        }

        // 6. Debug locations of this vreg's labels.
        push_vreg_debug_locations(
            labels,
            &labels_order,
            &mut labels_at,
            vreg,
            &vr,
            &mut active,
            output,
        );
    }

    // Block-param edges: match destinations with their sources.
    // Destinations come by vreg, then block, so a cursor over the sorted
    // sources finds each one's match; with duplicate source keys the
    // binary search decides, as it always did.
    let source_key = |s: &ParamSource| (s.to_vreg, s.from_block);
    param_sources.sort_unstable_by_key(source_key);
    let unique = param_sources
        .windows(2)
        .all(|w| source_key(&w[0]) < source_key(&w[1]));
    let mut at = 0;
    let mut last_key = None;
    let mut class_of = (VRegId::invalid(), RegClass::Int);
    for d in param_dests.iter() {
        let key = (d.to_vreg, d.from_block);
        let found = if !unique {
            param_sources.binary_search_by_key(&key, source_key).ok()
        } else {
            if last_key.is_some_and(|last| key < last) {
                at = param_sources.partition_point(|s| source_key(s) < key);
            }
            last_key = Some(key);
            while at < param_sources.len() && source_key(&param_sources[at]) < key {
                at += 1;
            }
            (at < param_sources.len() && source_key(&param_sources[at]) == key).then_some(at)
        };
        let Some(i) = found else { continue };
        if class_of.0 != d.to_vreg {
            class_of = (d.to_vreg, vreg_class(func, tables, d.to_vreg, &[]));
        }
        let (pos, prio) = moves.edge_point(d.from_block, d.to_block)?;
        moves.push(pos, prio, class_of.1, param_sources[i].alloc, d.alloc);
    }
    Ok(())
}

/// Per block, the lowest and highest index of its predecessors
/// (`(u32::MAX, 0)` for none): a range covering the exits of that whole
/// span of blocks covers the exit of every predecessor.
fn pred_spans<'a, F: Function>(func: &F, arena: &'a Arena) -> ArenaVec<'a, (u32, u32)> {
    let num_blocks = func.num_blocks();
    let mut spans = ArenaVec::with_capacity_in(num_blocks, arena);
    for b in 0..num_blocks {
        let preds = func.block_preds(Block::new(b));
        spans.push(preds.iter().fold((u32::MAX, 0), |(lo, hi), p| {
            (lo.min(p.index() as u32), hi.max(p.index() as u32))
        }));
    }
    spans
}

/// The rows of `order` (indices sorted by vreg) that belong to `vreg`,
/// advancing the cursor `at` past them (vregs come in increasing order).
#[inline]
fn vreg_rows<'o>(
    order: &'o [u32],
    at: &mut usize,
    vreg_of: impl Fn(u32) -> VRegId,
    vreg: VRegId,
) -> &'o [u32] {
    while *at < order.len() && vreg_of(order[*at]) < vreg {
        *at += 1;
    }
    let start = *at;
    while *at < order.len() && vreg_of(order[*at]) == vreg {
        *at += 1;
    }
    &order[start..*at]
}

/// The blocks whose exit point `range` covers, `exits.0..exits.1`, and
/// whose entry it covers, `entries.0..entries.1` (block indices; both
/// empty for an empty range).
#[inline]
fn covered_blocks(cfg: &CfgInfo<'_>, range: CodeRange) -> ((u32, u32), (u32, u32)) {
    if range.is_empty() {
        return ((0, 0), (0, 0));
    }
    // Blocks are contiguous and in order (`cfg::analyze` checks), so the
    // range meets blocks `first..=last`: it covers the entries of all but
    // maybe `first` and the exits of all but maybe `last`.
    let first = cfg.insn_block[range.from.inst()];
    let last = cfg.insn_block[range.to.prev().inst()];
    let exits_end = if cfg.block_exit[last].next() <= range.to {
        last.index() + 1
    } else {
        last.index()
    };
    let entries_start = if cfg.block_entry[first] < range.from {
        first.index() + 1
    } else {
        first.index()
    };
    (
        (first.index() as u32, exits_end as u32),
        (entries_start as u32, last.index() as u32 + 1),
    )
}

/// Block-param sources: the vreg's branch arguments (`vreg_outs`, rows of
/// `outs`) that leave a block where `exit_alloc` knows its location.
#[inline]
fn push_param_sources(
    outs: &[BlockparamOut],
    vreg_outs: &[u32],
    exit_alloc: impl Fn(Block) -> Option<Allocation>,
    param_sources: &mut ArenaVec<ParamSource>,
    stats: &mut Stats,
) {
    for &i in vreg_outs {
        let out = outs[i as usize];
        if let Some(alloc) = exit_alloc(out.from_block) {
            param_sources.push(ParamSource {
                to_vreg: out.to_vreg,
                from_block: out.from_block,
                alloc,
            });
            stats.halfmoves_count += 1;
        }
    }
}

/// Block-param destinations: `vreg`, a param of `block`, is in `alloc` at
/// its entry, for each of its edges into `block` (one per predecessor,
/// in `cfg.preds` order: increasing, a predecessor with two edges twice).
#[inline]
fn push_param_dests(
    cfg: &CfgInfo<'_>,
    vreg: VRegId,
    block: Block,
    alloc: Allocation,
    param_dests: &mut ArenaVec<ParamDest>,
    stats: &mut Stats,
) {
    for &from_block in cfg.preds(block) {
        param_dests.push(ParamDest {
            to_vreg: vreg,
            to_block: block,
            from_block,
            alloc,
        });
        stats.halfmoves_count += 1;
    }
}

/// Debug locations of `vreg`'s labels (rows of `labels` in
/// `labels_order`, from the cursor `labels_at`) over its ranges `vr`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn push_vreg_debug_locations(
    labels: &[(VReg, Inst, Inst, u32)],
    labels_order: &[u32],
    labels_at: &mut usize,
    vreg: VRegId,
    vr: &[VRegRange],
    active: &mut ArenaVec<u32>,
    output: &mut Output,
) {
    if *labels_at >= labels_order.len() {
        // No labels left (most functions have none).
        return;
    }
    let vreg_of = |i: u32| VRegId::new(labels[i as usize].0.vreg());
    for &i in vreg_rows(labels_order, labels_at, vreg_of, vreg) {
        let (_, from, to, label) = labels[i as usize];
        push_debug_locations(
            vr,
            active,
            label,
            ProgPoint::before(from),
            ProgPoint::before(to),
            output,
        );
    }
}

/// The indices `0..len` in increasing `key` order (keys must be
/// distinct): the identity, with no sort, when the keys already increase.
fn sorted_order<'a, K: Ord>(
    arena: &'a Arena,
    len: usize,
    key: impl Fn(u32) -> K,
) -> ArenaVec<'a, u32> {
    let mut order: ArenaVec<u32> = ArenaVec::with_capacity_in(len, arena);
    order.extend(0..len as u32);
    if !(1..len as u32).all(|i| key(i - 1) < key(i)) {
        order.sort_unstable_by_key(|&i| key(i));
    }
    order
}

/// Writes `alloc` as operand `slot` of `inst`.
#[inline]
fn set_alloc(
    output: &mut Output,
    inst: Inst,
    slot: usize,
    alloc: Allocation,
) -> Result<(), RegAllocError> {
    let i = alloc_index(output, inst, slot)?;
    output.allocs[i] = alloc;
    Ok(())
}

#[inline]
fn alloc_index(output: &Output, inst: Inst, slot: usize) -> Result<usize, RegAllocError> {
    let start = *output
        .inst_alloc_offsets
        .get(inst.index())
        .ok_or_else(internal_error)? as usize;
    let end = output
        .inst_alloc_offsets
        .get(inst.index() + 1)
        .map_or(output.allocs.len(), |&e| e as usize);
    if start + slot >= end {
        return Err(internal_error());
    }
    Ok(start + slot)
}

/// Debug locations of one label over `[from, to)`: at each point the
/// best range covering it (a register first, then the earliest), merged
/// where consecutive pieces agree. Pieces are disjoint.
fn push_debug_locations(
    vr: &[VRegRange],
    active: &mut ArenaVec<u32>,
    label: u32,
    from: ProgPoint,
    to: ProgPoint,
    output: &mut Output,
) {
    if from >= to {
        return;
    }
    let window = CodeRange::new(from, to);
    active.clear();
    // Ranges are sorted by start, not end (they may nest): walk from the
    // first and skip the ones outside the window as they come.
    let mut next = 0;
    let mut point = from;
    let first_piece = output.debug_locations.len();
    while point < to {
        while next < vr.len() && vr[next].range.from <= point {
            if vr[next].range.overlaps(&window) {
                active.push(next as u32);
            }
            next += 1;
        }
        active.retain(|&j| vr[j as usize].range.to > point);
        // The piece ends where the active set can change.
        let mut end = to;
        if next < vr.len() {
            end = end.min(vr[next].range.from);
        }
        for &j in active.iter() {
            end = end.min(vr[j as usize].range.to);
        }
        let best = active
            .iter()
            .map(|&j| vr[j as usize])
            .min_by_key(|r| (!r.alloc.is_reg(), r.range.from));
        if let Some(best) = best {
            let locs = &mut output.debug_locations;
            let extends = locs.len() > first_piece;
            match locs.last_mut() {
                Some(last) if extends && last.3 == best.alloc && last.2 == point => {
                    last.2 = end;
                }
                _ => locs.push((label, point, end, best.alloc)),
            }
        }
        if end <= point {
            break;
        }
        point = end;
    }
}

/// Multi-fixed-reg fixups: copy the value into each extra fixed register
/// and report that register for the rewritten operand.
fn collect_fixup_moves<F: Function>(
    func: &F,
    fixups: &[MultiFixedRegFixup],
    output: &mut Output,
    moves: &mut MoveCollector<'_, '_>,
) -> Result<(), RegAllocError> {
    let _ = func;
    for fixup in fixups {
        let inst = fixup.pos.inst();
        let from = output.allocs[alloc_index(output, inst, fixup.from_slot as usize)?];
        let to = Allocation::reg(fixup.to_preg);
        let prio = match fixup.level {
            FixupLevel::Initial => MovePrio::MultiFixedRegInitial,
            FixupLevel::Secondary => MovePrio::MultiFixedRegSecondary,
        };
        moves.push(fixup.pos, prio, fixup.to_preg.class(), from, to);
        set_alloc(output, inst, fixup.to_slot as usize, to)?;
    }
    Ok(())
}

/// Reuse-input defs: copy the input into the def's allocation before the
/// instruction and report the def's allocation for the input.
fn collect_reuse_moves<'i, F: Function>(
    func: &F,
    reuse_insts: impl Iterator<Item = &'i Inst>,
    output: &mut Output,
    moves: &mut MoveCollector<'_, '_>,
) -> Result<(), RegAllocError> {
    for &inst in reuse_insts {
        let operands = func.inst_operands(inst);
        for (def_slot, op) in operands.iter().enumerate() {
            let OperandConstraint::Reuse(input_slot) = op.constraint() else {
                continue;
            };
            if input_slot >= operands.len() {
                return Err(internal_error());
            }
            let input = output.allocs[alloc_index(output, inst, input_slot)?];
            let def = output.allocs[alloc_index(output, inst, def_slot)?];
            if input == def || input.is_none() || def.is_none() {
                continue;
            }
            let class = operands[input_slot].class();
            moves.push(
                ProgPoint::before(inst),
                MovePrio::ReusedInput,
                class,
                input,
                def,
            );
            set_alloc(output, inst, input_slot, def)?;
        }
    }
    Ok(())
}

/// Sorts the pending moves, resolves each (point, priority, class) group,
/// drops redundant moves and appends the edits. Returns the frame's spill
/// slot count (with the resolver's extra slots).
#[allow(clippy::too_many_arguments)]
fn resolve_moves<'a, F: Function>(
    func: &F,
    env: &MachineEnv,
    cfg: &CfgInfo<'a>,
    arena: &'a Arena,
    tables: &IonTables<'a>,
    num_spillslots: usize,
    pending: &ArenaVec<'a, PendingMove>,
    output: &mut Output,
) -> Result<usize, RegAllocError> {
    let pending = sort_pending(arena, pending, func.num_insts());
    let fixed_stack: PRegSet = env.fixed_stack_slots.iter().copied().collect();
    let mut extra = ExtraSlots {
        by_class: [
            ArenaVec::new_in(arena),
            ArenaVec::new_in(arena),
            ArenaVec::new_in(arena),
        ],
        spillslot_size: &|class| func.spillslot_size(class),
        named_by_last_slot: func.multi_spillslot_named_by_last_slot(),
        num_spillslots,
    };
    // Borrowed for stack-to-stack moves when nothing is free: the last
    // register of the class (callee-saved ones come last, so usually one
    // least likely to be busy).
    let victims = RegClass::ALL.map(|c| {
        env.non_preferred_regs_by_class[c as usize]
            .max_preg()
            .or(env.preferred_regs_by_class[c as usize].max_preg())
            .filter(|p| !fixed_stack.contains(*p))
    });

    // Room for a typical set (a block edge's moves), so the resolver's
    // lists are not grown from empty in every function.
    let mut resolver: ParallelMoves<()> = ParallelMoves::with_room_in(arena, 8);
    let mut rme = RedundantMoveEliminator::new_in(arena);
    output.edits.reserve(pending.len());
    let mut last_pos: Option<ProgPoint> = None;
    let mut i = 0;
    while i < pending.len() {
        let (pos, prio) = (pending[i].pos, pending[i].prio);
        let mut end = i;
        while end < pending.len() && (pending[end].pos, pending[end].prio) == (pos, prio) {
            end += 1;
        }
        forget_writes_between(
            func,
            cfg,
            &env.scratch_by_class,
            output,
            &mut rme,
            last_pos,
            pos,
        );
        last_pos = Some(pos);

        // Usually every move of a group has one class: then one pass
        // adds them all and the other classes are skipped.
        let group = &pending[i..end];
        if let [m] = group {
            // Most groups are one move: its own sequence when it is not
            // stack to stack (what the resolver would answer).
            if m.from != m.to
                && !m.from.is_none()
                && !m.to.is_none()
                && (!is_stack_location(fixed_stack, m.from)
                    || !is_stack_location(fixed_stack, m.to))
            {
                emit_move(&mut rme, output, pos, m.from, m.to);
                i = end;
                continue;
            }
        }
        let one_class = group.iter().all(|m| m.class == group[0].class);
        for class in RegClass::ALL {
            if one_class && class != group[0].class {
                continue;
            }
            for m in group.iter().filter(|m| m.class == class) {
                resolver.add(m.from, m.to, ());
            }
            if resolver.is_empty() {
                continue;
            }
            let regs = ResolverRegs {
                scratch: env.scratch_by_class[class as usize],
                victim: victims[class as usize],
            };
            let mut source = PointScratch {
                tables,
                env,
                fixed_stack,
                class,
                point: pos,
                extra: &mut extra,
            };
            let sequence = resolver.resolve(regs, &mut source).map_err(|e| match e {
                ResolveError::ConflictingWrites(_)
                | ResolveError::NoneLocation
                | ResolveError::NoRegister => RegAllocError::TooManyLiveRegs,
            })?;
            for m in sequence {
                emit_move(&mut rme, output, pos, m.from, m.to);
            }
        }
        i = end;
    }
    debug_assert!(output.edits.windows(2).all(|w| w[0].0 <= w[1].0));
    Ok(extra.num_spillslots)
}

/// Appends the move `from -> to` at `pos` unless the redundant-move
/// eliminator knows `to` already holds `from`'s value.
#[inline]
fn emit_move(
    rme: &mut RedundantMoveEliminator<'_>,
    output: &mut Output,
    pos: ProgPoint,
    from: Allocation,
    to: Allocation,
) {
    if !rme.process_move(from, to) {
        output.edits.push((pos, Edit::Move { from, to }));
    }
}

/// The pending moves ordered by (point, priority, insertion order).
///
/// Moves are collected vreg by vreg, so they come in no useful order.
/// When there are enough of them for the function's size this is a
/// counting sort by point (stable, so insertion order holds within a
/// point) followed by a stable insertion sort by priority inside each
/// point's few moves; otherwise a comparison sort on one packed key.
fn sort_pending<'a>(
    arena: &'a Arena,
    pending: &[PendingMove],
    num_insts: usize,
) -> ArenaVec<'a, PendingMove> {
    let num_points = 2 * num_insts;
    let mut sorted: ArenaVec<PendingMove> = ArenaVec::with_capacity_in(pending.len(), arena);
    let in_range = pending
        .iter()
        .all(|m| (m.pos.to_index() as usize) < num_points);
    if pending.is_empty() {
        return sorted;
    }
    if !in_range || pending.len() >= 1 << 24 || num_points > 32 * pending.len() {
        sorted.extend_from_slice(pending);
        if pending.len() < 1 << 24 {
            // `seq` (unique) fits below the priority.
            sorted.sort_unstable_by_key(|m| {
                (u64::from(m.pos.to_index()) << 32) | ((m.prio as u64) << 24) | u64::from(m.seq)
            });
        } else {
            sorted.sort_unstable_by_key(|m| (m.pos, m.prio, m.seq));
        }
        return sorted;
    }

    // `start[p]`: where point p's moves begin in `sorted`.
    let mut start: ArenaVec<u32> = ArenaVec::with_capacity_in(num_points + 1, arena);
    start.resize(num_points + 1, 0);
    for m in pending {
        start[m.pos.to_index() as usize + 1] += 1;
    }
    for p in 0..num_points {
        start[p + 1] += start[p];
    }
    let placeholder = pending[0];
    sorted.resize(pending.len(), placeholder);
    // `start[p]` becomes the next free slot of point p; afterwards it is
    // the end of p's moves, i.e. the start of p + 1's.
    for m in pending {
        let at = &mut start[m.pos.to_index() as usize];
        sorted[*at as usize] = *m;
        *at += 1;
    }
    // Stable insertion sort by priority within runs of one point.
    let mut run = 0;
    while run < sorted.len() {
        let pos = sorted[run].pos;
        let mut end = run + 1;
        while end < sorted.len() && sorted[end].pos == pos {
            let m = sorted[end];
            let mut at = end;
            while at > run && sorted[at - 1].prio > m.prio {
                sorted[at] = sorted[at - 1];
                at -= 1;
            }
            sorted[at] = m;
            end += 1;
        }
        run = end;
    }
    sorted
}

/// Tells the eliminator about everything written between the move groups
/// at `last` and at `pos`: all of it at a block change, else the defs,
/// clobbers and scratch registers of the instructions run in between.
fn forget_writes_between<F: Function>(
    func: &F,
    cfg: &CfgInfo<'_>,
    scratch_regs: &[Option<PReg>; 3],
    output: &Output,
    rme: &mut RedundantMoveEliminator<'_>,
    last: Option<ProgPoint>,
    pos: ProgPoint,
) {
    let Some(last) = last else {
        rme.clear();
        return;
    };
    if rme.is_empty() {
        return;
    }
    if cfg.insn_block[last.inst()] != cfg.insn_block[pos.inst()] {
        rme.clear();
        return;
    }
    // Instructions run between the two points: those whose Before point
    // is at or after `last` and whose After point is before `pos`.
    let first = match last.pos() {
        InstPosition::Before => last.inst().index(),
        InstPosition::After => last.inst().index() + 1,
    };
    let end = match pos.pos() {
        InstPosition::Before => pos.inst().index(),
        InstPosition::After => pos.inst().index() + 1,
    };
    if first >= end {
        return;
    }
    // Forgetting is idempotent and order-free, so each kind of write is
    // forgotten on its own.
    let offsets = &output.inst_alloc_offsets;
    let allocs_end = offsets
        .get(end)
        .map_or(output.allocs.len(), |&e| e as usize);
    let allocs = &output.allocs[offsets[first] as usize..allocs_end];
    let mut at = 0;
    for i in first..end {
        let inst = Inst::new(i);
        let operands = func.inst_operands(inst);
        for (op, &alloc) in operands.iter().zip(&allocs[at..]) {
            if op.kind() == OperandKind::Def {
                rme.clear_alloc(alloc);
            }
        }
        at += operands.len();
        // Most instructions clobber nothing: skip the word-by-word walk.
        let clobbers = func.inst_clobbers(inst);
        if clobbers != PRegSet::empty() {
            for preg in clobbers {
                rme.clear_alloc(Allocation::reg(preg));
            }
        }
    }
    // Instructions may use the dedicated scratch registers freely.
    for &preg in scratch_regs.iter().flatten() {
        rme.clear_alloc(Allocation::reg(preg));
    }
}
