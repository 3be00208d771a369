//! Phase `process`: the allocation loop. Gives every bundle a register or
//! sends it to its spill set's stack slot, evicting lighter bundles and
//! splitting bundles that cannot fit.
//!
//! Reads: the function's register sets (`MachineEnv`), loop depths and
//! block boundaries (`CfgInfo`), the bundles queued by `merge`.
//! Writes: `bundles` (allocation, new bundles from splits, properties),
//! `ranges` (new ranges from splits, uses moved between them),
//! `vregs.ranges` (stale during the loop, rebuilt at its end by
//! [`relist_vreg_ranges`]), `spillsets` (hint, splits,
//! spill bundle, required), the per-PReg trees and their busy bits
//! (`pregs.busy`, enabled here), and `Stats`.
//!
//! The algorithm is regalloc2 0.15.2's `process_bundles` /
//! `process_bundle` (`src/ion/process.rs`), with its register traversal
//! (`reg_traversal.rs`) and second-chance pass
//! (`try_allocating_regs_for_spilled_bundles` in `spill.rs`), rebuilt over
//! this crate's tables with the same heuristics: same probe order, same
//! evict-or-split rule, same split points, same weights. Submodules:
//! [`props`] (priority, weight, minimal flag), [`probe`] (register order
//! and conflict walk), [`split`] (splitting, trimming, spill bundles,
//! minimal bundles). Why the loop terminates: docs/ion.md ("Phase `process`").
//!
//! After this phase every non-empty bundle has `allocation` = a register,
//! or `Allocation::none()` with its spill set `required`.

mod probe;
pub mod props;
mod split;
#[cfg(test)]
mod tests;

use crate::cfg::CfgInfo;
use crate::ion::data::{
    bundle_props, BundleId, Bundles, IonTables, LiveRangeListEntry, LiveRanges, PRegs, VRegs,
};
use crate::ion::merge::compute_requirement;
use crate::ion::queue::AllocationQueue;
use crate::ion::requirement::{Requirement, RequirementConflictAt};
use crate::ion::Stats;
use crate::tables::{Arena, ArenaVec, SCRATCH_LIST_START};
use crate::{Allocation, Block, Function, Inst, MachineEnv, PReg, ProgPoint, RegAllocError};
use probe::{ConflictBound, FreeScan, Probe, RegTraversal, SoughtRegs};
use props::is_minimal;

/// How often a spill set's bundles may be split at a chosen point before
/// the next split cuts the bundle into minimal bundles.
///
/// Upstream uses 2. One more chosen split lets a long-lived value that
/// loses its register in one loop keep a register piece over the next
/// instead of becoming one reload per use there. Measured (`compare
/// --repeat 1 ../shared/corpus`, 2026-12-06): loop-weighted cost against
/// upstream 1.033x with 2, 0.952x with 3, 0.972x with 4 (time unchanged);
/// with 3, six groups cost less and three more (aead 0.884x to 0.891x,
/// meshoptimizer 0.977x to 0.989x, pulldown-cmark 1.014x to 1.030x); on
/// 100 generated functions of 1,000 instructions 0.987x with 2, 0.997x
/// with 3.
pub const MAX_SPLITS_PER_SPILLSET: u8 = 3;

/// Runs the allocation loop until the queue is empty, then gives spilled
/// bundles a second chance at a register.
///
/// Errors with `TooManyLiveRegs` when a minimal bundle that needs a
/// register cannot get one and nothing lighter can be evicted.
#[allow(
    clippy::too_many_arguments,
    reason = "the tables it reads and writes, the queue, and both arenas (tables in main, work lists in temp) are each a parameter"
)]
pub fn process_bundles<'a, F: Function>(
    func: &F,
    env: &MachineEnv,
    cfg: &CfgInfo<'_>,
    arena: &'a Arena,
    temp: &Arena,
    tables: &mut IonTables<'a>,
    queue: &mut AllocationQueue<'a>,
    stats: &mut Stats,
) -> Result<(), RegAllocError> {
    // Backstop only: the loop terminates on its own (see the design doc),
    // but a bug must show up as an error, not a hang.
    let budget = 64usize
        .saturating_mul(func.num_insts() + tables.bundles.len() + tables.ranges.len())
        .saturating_add(1 << 16);
    if !skip_busy_points() {
        tables.pregs.busy.enable(env, &tables.pregs.reserved);
    }
    if func.num_insts() >= crate::ion::data::LARGE_FUNCTION_INSTS {
        // Splits about double the ranges, most of which end up in a tree.
        tables.pregs.trees.reserve_for(2 * tables.ranges.len());
    } else {
        // Most ranges end up in a tree, and splits add about a quarter
        // more on the dev corpus: reserving that once keeps the node
        // columns from doubling (and leaving their old rows behind).
        tables
            .pregs
            .trees
            .reserve_for(tables.ranges.len() + tables.ranges.len() / 4);
    }
    let mut alloc = Allocator {
        env,
        cfg,
        arena,
        tables,
        queue,
        stats,
        requeue_hint: ArenaVec::with_capacity_in(SCRATCH_LIST_START, temp),
        spilled: ArenaVec::with_capacity_in(SCRATCH_LIST_START, temp),
        conflicts: ArenaVec::with_capacity_in(SCRATCH_LIST_START, temp),
        evict_set: ArenaVec::with_capacity_in(SCRATCH_LIST_START, temp),
        busy_spans: ArenaVec::with_capacity_in(SCRATCH_LIST_START, temp),
        conflict_mark: ArenaVec::new_in(temp),
        probe_stamp: 0,
    };
    // Small functions' tables sit in cache: no hints to pay for.
    let prefetching = alloc.tables.bundles.len() >= PREFETCH_MIN_BUNDLES;
    let mut pops = 0usize;
    while let Some(bundle) = alloc.queue.pop() {
        pops += 1;
        if pops > budget {
            return Err(RegAllocError::TooManyLiveRegs);
        }
        alloc.stats.process_bundle_count += 1;
        if prefetching {
            alloc.prefetch_upcoming();
        }
        if alloc.tables.bundles.ranges[bundle].is_empty() {
            continue;
        }
        alloc.process_bundle(bundle)?;
    }
    alloc.stats.final_liverange_count = alloc.tables.ranges.len();
    alloc.stats.final_bundle_count = alloc.tables.bundles.len();
    alloc.stats.spill_bundle_count = alloc.spilled.len();
    alloc.try_allocating_regs_for_spilled_bundles();
    // The work lists end here (their bytes stay in `temp` until reset).
    drop(alloc);
    relist_vreg_ranges(&tables.ranges, &mut tables.vregs, temp);
    Ok(())
}

#[cfg(test)]
thread_local! {
    /// Tests set this to allocate without the busy bits (trees only), to
    /// compare the two.
    pub(crate) static SKIP_BUSY_POINTS: core::cell::Cell<bool> = const { core::cell::Cell::new(false) };
}

#[inline]
fn skip_busy_points() -> bool {
    #[cfg(test)]
    return SKIP_BUSY_POINTS.with(|skip| skip.get());
    #[cfg(not(test))]
    false
}

/// Rebuilds every vreg's range list from the range table after the loop:
/// the ranges that still belong to a bundle, sorted by start, then end
/// (a minimal piece may start where its spill range starts), then id —
/// the order `moves` walks them in. Splits
/// append ranges and move starts; keeping the lists sorted meanwhile cost
/// an insertion per piece linear in the list, quadratic in all for a
/// long-lived vreg cut many times (lists of 10,000 ranges at 10^6
/// instructions).
pub fn relist_vreg_ranges<'a>(ranges: &LiveRanges<'a>, vregs: &mut VRegs<'a>, temp: &Arena) {
    // Ranges built by `liveranges` have ids in reverse program order, so
    // walking down lists most vregs already sorted.
    // Plain slices of one length: an index and three loads per row.
    let extents = &ranges.range.raw()[..];
    let owners = &ranges.vreg.raw()[..extents.len()];
    let bundles = &ranges.bundle.raw()[..extents.len()];
    let rows = (0..extents.len())
        .rev()
        .filter(|&i| bundles[i].is_valid())
        .map(|i| {
            let entry = LiveRangeListEntry {
                range: extents[i],
                index: crate::ion::data::LiveRangeId::new(i),
            };
            (owners[i], entry)
        });
    vregs.ranges.rebuild(
        rows,
        |entry| (entry.range.from, entry.range.to, entry.index),
        temp,
    );
}

/// The loop's state: the tables it works on and its own work lists, which
/// live in the caller's `temp` arena (idle during this phase) and die
/// with the phase.
pub(crate) struct Allocator<'t, 'a> {
    pub(crate) env: &'t MachineEnv,
    pub(crate) cfg: &'t CfgInfo<'t>,
    pub(crate) arena: &'a Arena,
    pub(crate) tables: &'t mut IonTables<'a>,
    pub(crate) queue: &'t mut AllocationQueue<'a>,
    pub(crate) stats: &'t mut Stats,
    /// Per bundle: the register it was last queued with as a hint (the
    /// register that caused its split), `PReg::invalid()` if none. A bundle
    /// is in the queue at most once, so one slot per bundle suffices.
    pub(crate) requeue_hint: ArenaVec<'t, PReg>,
    /// Spill bundles and bundles with no requirement, in creation order:
    /// the second-chance pass's work list.
    pub(crate) spilled: ArenaVec<'t, BundleId>,
    /// The conflicting bundles of the last probe, deduplicated.
    pub(crate) conflicts: ArenaVec<'t, BundleId>,
    /// The cheapest conflict set seen over this attempt's probes.
    pub(crate) evict_set: ArenaVec<'t, BundleId>,
    /// The busy-bit words of the bundle being scanned for a free register
    /// (`BusyPoints::spans_of`).
    pub(crate) busy_spans: ArenaVec<'t, (usize, u64)>,
    /// Per bundle: the probe generation that last listed it as a conflict.
    /// Sized and written only by probes whose conflicts outgrow a scan of
    /// the list (`start_marking`).
    pub(crate) conflict_mark: ArenaVec<'t, u32>,
    /// The latest generation handed out by `start_marking`.
    pub(crate) probe_stamp: u32,
}

/// The cheapest place to split at, over one attempt's probes.
#[derive(Clone, Copy)]
struct SplitChoice {
    cost: u32,
    point: ProgPoint,
    reg: PReg,
}

/// The bundle's requirement for the allocation loop. Without fixed-register
/// or stack uses (the USES_CONSTRAINED flag, kept exact by `merge`), the
/// uses can only agree, and the loop treats `Register` and `Limit` alike
/// (the limit itself comes from `bundles.hot[..].limit`): the flags answer without
/// walking the uses, which for large functions are far out of cache. With
/// such uses, `merge` cached the full requirement (`Bundles::requirement`)
/// when it last computed the bundle's properties; debug builds check the
/// cache against a fresh walk.
fn requirement_of(
    bundle: BundleId,
    bundles: &Bundles<'_>,
    ranges: &LiveRanges<'_>,
    pregs: &PRegs<'_>,
) -> Result<Requirement, RequirementConflictAt> {
    let props = bundles.hot[bundle].props;
    if props & bundle_props::USES_CONSTRAINED != 0 {
        // Cached when the properties were last computed.
        let cached = bundles.hot[bundle].requirement;
        debug_assert!(
            cached.is_computed()
                && cached.unpack() == compute_requirement(bundle, bundles, ranges, pregs),
            "{bundle:?}: stale cached requirement"
        );
        return cached.unpack();
    }
    let quick = if props & bundle_props::USES_REG != 0 {
        Requirement::Register
    } else {
        Requirement::Any
    };
    debug_assert!(
        matches!(
            (compute_requirement(bundle, bundles, ranges, pregs), quick),
            (Ok(Requirement::Any), Requirement::Any)
                | (
                    Ok(Requirement::Register | Requirement::Limit(_)),
                    Requirement::Register
                )
        ),
        "{bundle:?}: props {props:#x} disagree with its uses"
    );
    Ok(quick)
}

/// Cost of the move a split adds at `point`: a register def at the
/// point's loop depth (upstream's `spill_weight_from_constraint(Reg, depth,
/// true)`).
fn split_move_cost(cfg: &CfgInfo<'_>, point: ProgPoint) -> u32 {
    let depth = cfg.insn_loop_depth[point.inst()].min(10);
    SPLIT_MOVE_COST_BY_DEPTH[depth as usize]
}

/// [`split_move_cost`] by loop depth 0..=10, computed with the same `f32`
/// steps (so the same roundings) once at compile time.
const SPLIT_MOVE_COST_BY_DEPTH: [u32; 11] = {
    let mut costs = [0u32; 11];
    let mut depth = 0;
    while depth < 11 {
        let mut hot = 1000.0f32;
        let mut i = 0;
        while i < depth {
            hot *= 4.0;
            i += 1;
        }
        costs[depth] = (hot + 2000.0 + 2000.0) as u32;
        depth += 1;
    }
    costs
};

/// Whether a conflict of weight `max_weight` cannot give a cheaper split
/// than `best` whatever its point (every split move costs at least the
/// depth-0 cost): then the point's loop depth need not be looked up. When
/// the sum would overflow, the caller computes the cost as usual.
fn cannot_beat(best: Option<SplitChoice>, max_weight: u32) -> bool {
    best.is_some_and(|s| {
        max_weight
            .checked_add(SPLIT_MOVE_COST_BY_DEPTH[0])
            .is_some_and(|least| least >= s.cost)
    })
}

/// How many pops ahead the loop asks the cache for a queued bundle's rows,
/// and then for what those rows name (its range list, its spill set's
/// rows). Far enough for the first to arrive before the second reads
/// them, near enough that they are still cached when the bundle pops.
const PREFETCH_ROWS_AHEAD: usize = 8;
const PREFETCH_LISTS_AHEAD: usize = 4;
/// And, nearer, for the busy bits at the bundle's start, which the first
/// register probe reads (it is usually free or fails there).
const PREFETCH_BITS_AHEAD: usize = 2;
/// Fewest bundles for which the loop prefetches: below, the rows it would
/// ask for are cached anyway (a 10^3-instruction function has about
/// 2,000 bundles, a 10^4 one about 19,000).
const PREFETCH_MIN_BUNDLES: usize = 1 << 13;

impl<'t, 'a> Allocator<'t, 'a> {
    /// Prefetches the rows `process_bundle` reads first for the bundles
    /// about to pop. In a large function the queue visits bundles in
    /// priority order, scattered over memory, and each row is a cache
    /// miss; the queue's presorted part says which bundles come next.
    /// Hints only: nothing is read that the loop would not read anyway.
    #[inline]
    fn prefetch_upcoming(&self) {
        // Sorted part: the rows far ahead, what they name nearer.
        if let Some(b) = self.queue.upcoming(PREFETCH_ROWS_AHEAD) {
            self.prefetch_rows(b);
        }
        if let Some(b) = self.queue.upcoming(PREFETCH_LISTS_AHEAD) {
            self.prefetch_named(b);
        }
        if let Some(b) = self.queue.upcoming(PREFETCH_BITS_AHEAD) {
            self.prefetch_busy_bits(b);
        }
        // Heap part: its top pops next unless a push beats it, and one of
        // the top's children after that; their rows were asked for one
        // pop ago when they were children.
        if let Some(b) = self.queue.heap_entry(0) {
            self.prefetch_named(b);
        }
        for index in [1, 2] {
            if let Some(b) = self.queue.heap_entry(index) {
                self.prefetch_rows(b);
            }
        }
    }

    /// Prefetches `bundle`'s own rows (its list header and its
    /// [`BundleRow`](crate::ion::data::BundleRow), whose 28 bytes may
    /// straddle two lines).
    #[inline(always)]
    fn prefetch_rows(&self, b: BundleId) {
        use crate::tables::prefetch;
        let t = &*self.tables;
        prefetch(&t.bundles.ranges[b]);
        let row: *const crate::ion::data::BundleRow = &t.bundles.hot[b];
        prefetch(row);
        prefetch(
            row.cast::<u8>()
                .wrapping_add(core::mem::size_of_val(&t.bundles.hot[b]) - 1),
        );
        prefetch(self.requeue_hint.as_ptr().wrapping_add(b.index()));
    }

    /// Prefetches what `bundle`'s rows name: its range list and its spill
    /// set's rows. Reads the rows themselves, so they should have been
    /// prefetched a few pops before.
    #[inline(always)]
    fn prefetch_named(&self, b: BundleId) {
        use crate::tables::prefetch;
        let t = &*self.tables;
        prefetch(t.bundles.ranges[b].as_ptr());
        let spillset = t.bundles.hot[b].spillset;
        if let Some(class) = t.spillsets.class.get(spillset) {
            prefetch(class);
            prefetch(&t.spillsets.hint[spillset]);
        }
    }

    /// Prefetches the busy bits (every register's) at the start of
    /// `bundle`'s first range. Reads its range list, which should have
    /// been prefetched a few pops before.
    #[inline(always)]
    fn prefetch_busy_bits(&self, b: BundleId) {
        let t = &*self.tables;
        if let Some(first) = t.bundles.ranges[b].first() {
            t.pregs.busy.prefetch_point(first.range.from);
        }
    }

    /// Puts `bundle` in the queue, to be tried with `hint` first.
    pub(crate) fn enqueue(&mut self, bundle: BundleId, hint: PReg) {
        let index = bundle.index();
        if self.requeue_hint.len() <= index {
            self.requeue_hint.resize(index + 1, PReg::invalid());
        }
        self.requeue_hint[index] = hint;
        // A queued bundle has ranges (an emptied one would pop as a no-op).
        let start = self.tables.bundles.ranges[bundle]
            .first()
            .map_or(ProgPoint::before(Inst::new(0)), |first| first.range.from);
        let key = self
            .queue
            .order()
            .key(self.tables.bundles.hot[bundle].prio, start);
        self.queue.push(bundle, key);
    }

    fn queued_hint(&self, bundle: BundleId) -> PReg {
        self.requeue_hint
            .get(bundle.index())
            .copied()
            .unwrap_or(PReg::invalid())
    }

    /// Takes an allocated bundle out of its register and requeues it.
    fn evict(&mut self, bundle: BundleId) {
        let Some(preg) = self.tables.bundles.hot[bundle].allocation.as_reg() else {
            return;
        };
        let tables = &mut *self.tables;
        tables.bundles.hot[bundle].allocation = Allocation::none();
        let root = &mut tables.pregs.allocations[preg.index()];
        for entry in tables.bundles.ranges[bundle].iter() {
            tables.pregs.trees.remove(root, entry.range);
            tables.pregs.busy.unmark(preg, entry.range);
        }
        self.enqueue(bundle, PReg::invalid());
    }

    /// Allocates, spills, evicts for, or splits one bundle.
    fn process_bundle(&mut self, bundle: BundleId) -> Result<(), RegAllocError> {
        let spillset = self.tables.bundles.hot[bundle].spillset;
        let class = self.tables.spillsets.class[spillset];
        let mut hint = self.queued_hint(bundle);
        if hint.as_valid().is_none() {
            hint = self.tables.spillsets.hint[spillset];
        }
        if hint.as_valid().is_some() && self.tables.pregs.is_stack[hint.index()] {
            hint = PReg::invalid();
        }

        let t = &*self.tables;
        let req = match requirement_of(bundle, &t.bundles, &t.ranges, &t.pregs) {
            Ok(req) => req,
            Err(conflict) => {
                // Two uses disagree: cut where the conflict says, so the
                // first piece is conflict-free, trimming as its kind says.
                self.split_and_requeue_bundle(
                    bundle,
                    conflict.suggested_split_point(),
                    hint,
                    conflict.should_trim_edges_around_split(),
                );
                return Ok(());
            }
        };

        let fixed = match req {
            Requirement::Stack => {
                self.tables.spillsets.required[spillset] = true;
                return Ok(());
            }
            Requirement::Any => {
                // No use needs anything: join the spill bundle if one
                // exists, else wait for the second-chance pass.
                if let Some(spill) = self.spill_bundle_of(bundle, false) {
                    self.move_ranges_to_spill_bundle(bundle, spill);
                } else {
                    self.spilled.push(bundle);
                }
                return Ok(());
            }
            Requirement::FixedReg(preg) | Requirement::FixedStack(preg) => Some(preg),
            Requirement::Register | Requirement::Limit(_) => None,
        };
        let limit = self.tables.bundles.hot[bundle].limit.map(usize::from);

        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let mut evict_cost: Option<u32> = None;
            self.evict_set.clear();
            let mut split: Option<SplitChoice> = None;

            // Start the scan at an offset depending on the code position
            // and the bundle, spreading bundles over the registers.
            let first = self.tables.bundles.ranges[bundle][0].range.from;
            let scan_offset = first.inst().index() + bundle.index();
            self.stats.process_bundle_reg_probe_start_any += 1;
            let order =
                RegTraversal::new(self.env, class, fixed, hint.as_valid(), scan_offset, limit);
            let scan = self.first_free_register(bundle, order.clone());
            if let FreeScan::Free(preg, tried) = scan {
                // What the probes below would find, without their walks:
                // every earlier register conflicts, this one is free.
                self.stats.process_bundle_reg_probes_any += tried;
                self.stats.process_bundle_reg_success_any += 1;
                if fixed.is_some() {
                    self.stats.process_bundle_reg_probes_fixed += tried;
                    self.stats.process_bundle_reg_success_fixed += 1;
                }
                self.allocate_to(bundle, preg);
                self.tables.spillsets.hint[spillset] = preg;
                return Ok(());
            }
            let probes_all = scan == FreeScan::NoneFree;
            let mut order = SoughtRegs::new(order, first, &self.tables.pregs, probes_all);
            while let Some((preg, sought)) = order.next(&self.tables.pregs) {
                self.stats.process_bundle_reg_probes_any += 1;
                if fixed.is_some() {
                    self.stats.process_bundle_reg_probes_fixed += 1;
                }
                let cost_bound = match (evict_cost, split) {
                    (Some(e), Some(s)) => ConflictBound::Cost(e.max(s.cost)),
                    _ => ConflictBound::None,
                };
                match self.try_to_allocate(bundle, preg, cost_bound, sought) {
                    Probe::Allocated => {
                        self.stats.process_bundle_reg_success_any += 1;
                        if fixed.is_some() {
                            self.stats.process_bundle_reg_success_fixed += 1;
                        }
                        self.tables.spillsets.hint[spillset] = preg;
                        return Ok(());
                    }
                    Probe::Conflict {
                        max_weight,
                        first_point,
                    } => {
                        if evict_cost.is_none_or(|c| max_weight < c) {
                            evict_cost = Some(max_weight);
                            self.evict_set.clear();
                            self.evict_set.extend_from_slice(&self.conflicts);
                        }
                        if cannot_beat(split, max_weight) {
                            continue;
                        }
                        let cost = max_weight + split_move_cost(self.cfg, first_point);
                        if split.is_none_or(|s| cost < s.cost) {
                            split = Some(SplitChoice {
                                cost,
                                point: first_point,
                                reg: preg,
                            });
                        }
                    }
                    Probe::ConflictWithFixed { max_weight, point } => {
                        if cannot_beat(split, max_weight) {
                            continue;
                        }
                        let cost = max_weight + split_move_cost(self.cfg, point);
                        if split.is_none_or(|s| cost < s.cost) {
                            split = Some(SplitChoice {
                                cost,
                                point,
                                reg: preg,
                            });
                        }
                    }
                    Probe::ConflictHighCost => {}
                }
            }

            // No register fits as things stand: evict or split.
            let Some(split) = split else {
                // No register of the class is usable at all.
                return Err(RegAllocError::TooManyLiveRegs);
            };
            let our_weight = self.tables.bundles.hot[bundle].spill_weight;
            let minimal = is_minimal(&self.tables.bundles, bundle);
            let cannot_evict = attempts >= 2 || evict_cost.is_none_or(|c| c >= our_weight);
            if minimal && cannot_evict {
                // A minimal bundle cannot shrink, and everything in its
                // way is at least as heavy: more values need registers
                // here than there are registers.
                return Err(RegAllocError::TooManyLiveRegs);
            }
            // Equal weights split rather than evict: two bundles of equal
            // weight must not evict each other forever.
            if !minimal && (attempts >= 2 || evict_cost.is_none_or(|c| our_weight <= c)) {
                let bundle_start = self.tables.bundles.ranges[bundle][0].range.from;
                let point = self.hoist_split_point(bundle_start, split.point.max(bundle_start));
                self.split_and_requeue_bundle(bundle, point, split.reg, true);
                return Ok(());
            }
            self.stats.evict_bundle_event += 1;
            for i in 0..self.evict_set.len() {
                let victim = self.evict_set[i];
                self.evict(victim);
                self.stats.evict_bundle_count += 1;
            }
        }
    }

    /// Moves a split point that lies in a deeper loop than the bundle's
    /// start up to the entry of the first deeper block after the start
    /// (by block index), so the split's moves stay out of the loop.
    fn hoist_split_point(&self, bundle_start: ProgPoint, point: ProgPoint) -> ProgPoint {
        let cfg = self.cfg;
        // Usually the point is no deeper: one byte per instruction says
        // so without the block lookups (exact unless a depth saturates).
        let point_depth = cfg.insn_loop_depth[point.inst()];
        if point_depth < u8::MAX && point_depth <= cfg.insn_loop_depth[bundle_start.inst()] {
            return point;
        }
        let start_block = cfg.insn_block[bundle_start.inst()];
        let point_block = cfg.insn_block[point.inst()];
        let start_depth = cfg.loop_depth[start_block];
        if cfg.loop_depth[point_block] <= start_depth {
            return point;
        }
        for index in start_block.index() + 1..=point_block.index() {
            let block = Block::new(index);
            if cfg.loop_depth[block] > start_depth {
                return cfg.block_entry[block];
            }
        }
        point
    }

    /// The second-chance pass: each spilled bundle tries the registers
    /// once more, without evicting anything; those that find none live in
    /// their spill set's slot.
    fn try_allocating_regs_for_spilled_bundles(&mut self) {
        let prefetching = self.tables.bundles.len() >= PREFETCH_MIN_BUNDLES;
        for i in 0..self.spilled.len() {
            // The list is in creation order, scattered over the tables;
            // it says which bundles come next.
            if prefetching {
                if let Some(&ahead) = self.spilled.get(i + PREFETCH_ROWS_AHEAD) {
                    self.prefetch_rows(ahead);
                }
                if let Some(&ahead) = self.spilled.get(i + PREFETCH_LISTS_AHEAD) {
                    self.prefetch_named(ahead);
                }
            }
            let bundle = self.spilled[i];
            if self.tables.bundles.ranges[bundle].is_empty() {
                continue;
            }
            let spillset = self.tables.bundles.hot[bundle].spillset;
            let class = self.tables.spillsets.class[spillset];
            let hint = self.tables.spillsets.hint[spillset].as_valid();
            // Spill bundles collect pieces in arbitrary order.
            self.tables.bundles.ranges[bundle].sort_unstable_by_key(|e| e.range.from);
            self.stats.spill_bundle_reg_probes += 1;
            let limit = self.tables.bundles.hot[bundle].limit.map(usize::from);
            let order = RegTraversal::new(self.env, class, None, hint, bundle.index(), limit);
            match self.first_free_register(bundle, order.clone()) {
                FreeScan::Free(preg, _) => {
                    self.allocate_to(bundle, preg);
                    self.stats.spill_bundle_reg_success += 1;
                    continue;
                }
                FreeScan::NoneFree => {
                    // Every probe would fail: the bundle stays on the stack.
                    self.tables.spillsets.required[spillset] = true;
                    continue;
                }
                FreeScan::Unknown => {}
            }
            let start = self.tables.bundles.ranges[bundle][0].range.from;
            let mut order = SoughtRegs::new(order, start, &self.tables.pregs, false);
            let mut success = false;
            while let Some((preg, sought)) = order.next(&self.tables.pregs) {
                let probe = self.try_to_allocate(bundle, preg, ConflictBound::Any, sought);
                if probe == Probe::Allocated {
                    self.stats.spill_bundle_reg_success += 1;
                    success = true;
                    break;
                }
            }
            if !success {
                self.tables.spillsets.required[spillset] = true;
            }
        }
    }
}

/// Checks what `process_bundles` promises: every non-empty bundle has a
/// register, or no allocation and a `required` spill set; no register's
/// tree holds two overlapping ranges or a reserved point; a tree entry
/// names a bundle allocated to that register which has a live range of
/// exactly the entry's key. Returns the first violation.
pub fn check_postconditions(tables: &IonTables<'_>) -> Result<(), String> {
    for (bundle, list) in tables.bundles.ranges.iter_enumerated() {
        if list.is_empty() {
            continue;
        }
        let alloc = tables.bundles.hot[bundle].allocation;
        let spillset = tables.bundles.hot[bundle].spillset;
        if alloc.as_reg().is_none() && !(alloc.is_none() && tables.spillsets.required[spillset]) {
            return Err(format!(
                "{bundle:?} has {alloc:?} and its spill set is not required"
            ));
        }
    }
    for (index, &root) in tables.pregs.allocations.iter_enumerated() {
        let mut prev: Option<crate::ion::data::CodeRange> = None;
        let mut result = Ok(());
        let everything = crate::ion::data::CodeRange::new(
            ProgPoint::before(Inst::new(0)),
            ProgPoint::from_index(u32::MAX),
        );
        tables
            .pregs
            .trees
            .for_each_overlap(root, everything, |range, bundle| {
                if let Some(p) = prev {
                    if p.to > range.from {
                        result = Err(format!("preg {index}: {p:?} overlaps {range:?}"));
                        return false;
                    }
                }
                prev = Some(range);
                let preg = crate::PReg::from_index(index);
                if let Some(point) = tables.pregs.reserved.first_in(preg, range) {
                    result = Err(format!("preg {index}: {range:?} holds reserved {point:?}"));
                    return false;
                }
                if bundle.is_invalid() || bundle.index() >= tables.bundles.len() {
                    result = Err(format!("preg {index}: {range:?} names no bundle"));
                    return false;
                }
                if tables.bundles.hot[bundle]
                    .allocation
                    .as_reg()
                    .map(|p| p.index())
                    != Some(index)
                {
                    result = Err(format!(
                        "preg {index}: {range:?} of {bundle:?} not allocated here"
                    ));
                    return false;
                }
                let list = &tables.bundles.ranges[bundle];
                let held = list
                    .binary_search_by_key(&range.from, |e| e.range.from)
                    .is_ok_and(|i| {
                        let lr = list[i].index;
                        list[i].range == range
                            && tables.ranges.range[lr] == range
                            && tables.ranges.bundle[lr] == bundle
                    });
                if !held {
                    result = Err(format!(
                        "preg {index}: {bundle:?} has no live range {range:?}"
                    ));
                    return false;
                }
                true
            });
        result?;
    }
    check_busy_points(tables)
}

/// Checks [`BusyPoints`](crate::ion::data::BusyPoints)' invariant: a
/// register's bit is set at exactly its reserved points and the points of
/// its tree's entries. O(points * registers): for tests and debug builds.
fn check_busy_points(tables: &IonTables<'_>) -> Result<(), String> {
    let pregs = &tables.pregs;
    if !pregs.busy.is_enabled() {
        return Ok(());
    }
    for (index, &root) in pregs.allocations.iter_enumerated() {
        let preg = crate::PReg::from_index(index);
        if pregs
            .busy
            .contains(preg, ProgPoint::from_index(0))
            .is_none()
        {
            continue;
        }
        let mut entries = pregs.trees.iter(root).map(|(range, _)| range).peekable();
        for point in 0..pregs.busy.num_points() {
            let point = ProgPoint::from_index(point as u32);
            while entries.peek().is_some_and(|range| range.to <= point) {
                entries.next();
            }
            let in_entry = entries
                .peek()
                .is_some_and(|range| range.contains_point(point));
            let expected = in_entry || pregs.reserved.contains(preg, point);
            if pregs.busy.contains(preg, point) != Some(expected) {
                return Err(format!(
                    "busy bit of preg {index} at {point:?} is not {expected}"
                ));
            }
        }
    }
    Ok(())
}
