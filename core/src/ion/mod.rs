//! The Ion backtracking allocator, one file per phase.
//!
//! Pipeline (each a free function over the tables in [`data`]):
//! `cfg::analyze` → `validate::validate` → `liveness` → `liveranges` →
//! `merge` (bundles, spill sets, queue) → `process` (probe / evict /
//! split, spill bundles) → `spill` (spill slots) → `moves` (allocations,
//! edits, parallel moves, redundant-move elimination) → output.

pub mod data;
#[cfg(feature = "internals")]
pub mod dump;
pub mod liveness;
pub mod liveranges;
pub mod merge;
pub mod moves;
pub mod parallel_moves;
pub mod process;
pub mod queue;
pub mod redundant_moves;
pub mod requirement;
pub mod spill;
pub mod trees;

use crate::ion::data::IonTables;
use crate::ion::queue::{AllocationQueue, QueueOrder, RegionOrder};
use crate::tables::Arena;
use crate::{Function, MachineEnv, Output, RegAllocError, RegallocOptions};
use sync_wrapper::SyncWrapper;

/// Counters from the allocator's phases; same names as regalloc2's `Stats`
/// where the meaning is the same.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "enable-serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Stats {
    /// Blocks the live-range builder found a vreg live into.
    pub livein_blocks: usize,
    /// Passes of the liveness fixpoint over the blocks.
    pub livein_iterations: usize,
    /// Live ranges before any split.
    pub initial_liverange_count: usize,
    /// Bundles after merging (one per vreg before merging).
    pub merged_bundle_count: usize,
    /// Bundles taken from the allocation queue.
    pub process_bundle_count: usize,
    /// Probes of a fixed register for a bundle with a fixed constraint.
    pub process_bundle_reg_probes_fixed: usize,
    /// Of those, probes that found the register free.
    pub process_bundle_reg_success_fixed: usize,
    /// Kept for regalloc2 compatibility; always 0 here.
    pub process_bundle_bounding_range_probe_start_any: usize,
    /// Kept for regalloc2 compatibility; always 0 here.
    pub process_bundle_bounding_range_probes_any: usize,
    /// Kept for regalloc2 compatibility; always 0 here.
    pub process_bundle_bounding_range_success_any: usize,
    /// Bundles that started probing registers of their class.
    pub process_bundle_reg_probe_start_any: usize,
    /// Registers probed for bundles without a fixed constraint.
    pub process_bundle_reg_probes_any: usize,
    /// Of those, probes that found the register free.
    pub process_bundle_reg_success_any: usize,
    /// Times a bundle evicted others from a register.
    pub evict_bundle_event: usize,
    /// Bundles evicted (put back in the queue).
    pub evict_bundle_count: usize,
    /// Bundles split.
    pub splits: usize,
    /// Kept for regalloc2 compatibility; always 0 here.
    pub splits_clobbers: usize,
    /// Kept for regalloc2 compatibility; always 0 here.
    pub splits_hot: usize,
    /// Kept for regalloc2 compatibility; always 0 here.
    pub splits_conflicts: usize,
    /// Kept for regalloc2 compatibility; always 0 here.
    pub splits_defs: usize,
    /// Kept for regalloc2 compatibility; always 0 here.
    pub splits_all: usize,
    /// Live ranges after allocation.
    pub final_liverange_count: usize,
    /// Bundles after allocation.
    pub final_bundle_count: usize,
    /// Spill bundles (the parts of split bundles with no register use).
    pub spill_bundle_count: usize,
    /// Registers probed for spill bundles.
    pub spill_bundle_reg_probes: usize,
    /// Spill bundles that got a register instead of a slot.
    pub spill_bundle_reg_success: usize,
    /// Block-param inputs (one per edge and param).
    pub blockparam_ins_count: usize,
    /// Block-param outputs (one per edge and param).
    pub blockparam_outs_count: usize,
    /// Half-moves collected for edges and block params.
    pub halfmoves_count: usize,
    /// Edits in the output.
    pub edits_count: usize,
}

/// Memory reused across allocations: the per-run arena and the output.
/// Keep one per thread and pass it to [`crate::run_with_ctx`] for every
/// function; once warm it needs no new heap memory for functions no larger
/// than those it has seen.
#[derive(Default)]
pub struct Ctx {
    /// The result of the last run.
    pub output: Output,
    /// Every table of a run lives here; reset at the start of each run.
    ///
    /// `Ctx` is `Send + Sync` like upstream's context (Wasmtime keeps it in
    /// a `Box<dyn Any + Send + Sync>`). A `bumpalo::Bump` is `Send` but not
    /// `Sync`: two threads bumping through `&Bump` at once would race.
    /// `SyncWrapper` makes the arena reachable only through `&mut Ctx`
    /// (`get_mut`), so a shared `&Ctx` gives no access to it at all and
    /// sharing one between threads cannot race; every run takes `&mut Ctx`.
    arena: SyncWrapper<Arena>,
    /// Tables that die within a phase (validation's per-vreg columns, the
    /// liveness sets, move insertion's lists) live here; it is reset
    /// between those phases, so the run's peak holds the largest of them,
    /// not their sum.
    scratch: SyncWrapper<Arena>,
}

impl core::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // The arena is only reachable through `&mut`, so its size is not shown.
        f.debug_struct("Ctx")
            .field("output", &self.output)
            .finish_non_exhaustive()
    }
}

/// Runs the whole pipeline for one function.
pub(crate) fn run<F: Function>(
    func: &F,
    env: &MachineEnv,
    options: &RegallocOptions,
    ctx: &mut Ctx,
) -> Result<(), RegAllocError> {
    let arena = ctx.arena.get_mut();
    reset_arena(arena);
    let scratch = ctx.scratch.get_mut();
    reset_arena(scratch);
    if options.algorithm == crate::Algorithm::Fastalloc {
        return crate::fastalloc::run_in(func, env, options, arena, &mut ctx.output);
    }
    // The tables live wholly in the arena, which the next run resets:
    // dropping them would only walk every per-range, per-bundle and
    // per-vreg list to hand its bytes back to a bump allocator that
    // ignores them.
    run_phases(func, env, options, arena, scratch, &mut ctx.output).map(core::mem::forget)
}

/// Empties the arena for the next run. bumpalo keeps only its last chunk
/// on reset; when the previous run needed several chunks, they are
/// replaced by one chunk as large as what it used, so running a function of
/// the same size again allocates nothing.
fn reset_arena(arena: &mut Arena) {
    let capacity = arena.allocated_bytes();
    // Bytes the last run actually used (not the spare room bumpalo leaves
    // when it doubles chunk sizes), so the context does not hold more than
    // a run of that size needs.
    let used: usize = arena.iter_allocated_chunks().map(|chunk| chunk.len()).sum();
    arena.reset();
    if arena.allocated_bytes() < capacity {
        // No transparent-huge-page advice for a large chunk (2026-12-08):
        // with large functions allocated region by region, a warm run of
        // 10^6 instructions gained 3% from it, and the run that first
        // touched the chunk took 40% longer for the kernel's huge-page
        // faults (docs/performance.md, session 16).
        *arena = Arena::with_capacity(used + CONSOLIDATION_SLACK);
    }
}

/// Room a consolidated chunk gets beyond the bytes the last run used. The
/// same run can need a little more in another chunk: the padding before
/// each cache-line-aligned table (the range trees' nodes) depends on the
/// chunk's address. Without it, about one `compare` in three saw the
/// largest corpus function's second run outgrow its exact-size chunk and
/// double it (5.7 MB more in one warm call, `heap_ratio` 0.037 -> 0.150).
const CONSOLIDATION_SLACK: usize = 4 << 10;

/// Scratch memory kept across the merge and allocation phases, which use
/// none: more than this is given back after the live-range scan.
const SCRATCH_KEPT_BYTES: usize = 16 << 20;

/// Resets `scratch` after the live-range scan, the largest user of scratch
/// memory, and gives its memory back when it holds more than
/// [`SCRATCH_KEPT_BYTES`] while the main arena is growing (`main_grew`:
/// it outgrew what the context held at the start of the run). bumpalo
/// keeps its largest chunk on reset, and for a function of 10^6
/// instructions that chunk (about 120 MB) would sit unused while the main
/// arena reaches its peak in `merge` and `process`. Move insertion, the
/// next user, grows it again to what it needs (a fraction of the scan's).
/// Returns whether it gave the memory back.
///
/// When the main arena did not grow, the context already holds this
/// function's memory (it ran one as large before), and the chunk is kept
/// for the rest of the run and the next: asking the system for it again
/// on every run costs page faults, about 6% of a 10^6-instruction
/// function's time (`profile_ours` on `gen`'s function, 2026-12-07). The
/// second run of such a function keeps it, the third finds it warm.
/// Below the threshold (every function of the dev corpus) nothing
/// changes, so a warm context still allocates nothing.
fn release_large_scratch(scratch: &mut Arena, main_grew: bool) -> bool {
    if main_grew && scratch.allocated_bytes() > SCRATCH_KEPT_BYTES {
        *scratch = Arena::new();
        true
    } else {
        scratch.reset();
        false
    }
}

/// The state a finished run leaves in its arena: what [`dump`] reads
/// after the output is written (the normal path forgets it at once).
/// Everything of the run that lives in the main arena is here, so that
/// nothing hands its bytes back one list at a time at the end of a run.
pub(crate) struct Finished<'a> {
    pub tables: IonTables<'a>,
    _cfg: crate::cfg::CfgInfo<'a>,
    _liveness: liveness::Liveness<'a>,
    _queue: AllocationQueue<'a>,
}

/// Every phase in order, in `arena` (which the caller has reset), writing
/// `output`; returns the final tables for inspection. Phase-local tables
/// go to `scratch`, reset between phases.
pub(crate) fn run_phases<'a, F: Function>(
    func: &F,
    env: &MachineEnv,
    options: &RegallocOptions,
    arena: &'a Arena,
    scratch: &mut Arena,
    output: &mut Output,
) -> Result<Finished<'a>, RegAllocError> {
    // Counts that size memory, within their documented bounds.
    crate::validate::check_sizes(func)?;
    // What the context's main arena held before this run: if the front
    // phases stay within it, the context already holds this function's
    // memory (see `release_large_scratch`).
    let main_bytes_at_start = arena.allocated_bytes();
    let cfg = crate::cfg::analyze(func, arena)?;
    // Validation's walk over the operands also finds, per vreg, its def
    // block and the blocks that read it first: liveness's seeds (in
    // scratch, until liveness is done with them). It lays out the output's
    // operand slots too (offsets, and the registers of fixed
    // non-allocatable operands); `moves` writes the rest of `output`.
    let (used_vregs, upward_uses) = crate::validate::validate_for_liveness(
        func,
        env,
        &cfg,
        options.validate_ssa,
        scratch,
        Some((&mut output.inst_alloc_offsets, &mut output.allocs)),
    )?;
    // From here on, per-vreg tables are sized by the vregs the function
    // names, not the count it declares.
    let func = &crate::validate::UsedVregs::new(func, used_vregs);
    let mut tables = IonTables::new_in(arena, func.num_vregs(), func.num_insts());
    let mut stats = Stats::default();
    // Exact live-in/live-out sets per block.
    // (Its work tables go to scratch; the live-out rows to the main arena,
    // as the live-range scan's own work tables take the scratch next.)
    let liveness =
        liveness::compute_liveness(func, &cfg, &upward_uses, arena, scratch, &mut stats)?;
    // The reset below frees it all at once.
    core::mem::forget(upward_uses);
    scratch.reset();
    // Ranges, uses, reservations, block-param edges, multi-fixed fixups.
    liveranges::build_liveranges(
        func,
        env,
        &cfg,
        &liveness,
        arena,
        scratch,
        &mut tables,
        &mut stats,
    )?;
    // What the scan used of the scratch memory: move insertion's work
    // tables need less (measured: about 0.7 of it).
    let scan_scratch_bytes: usize = scratch.iter_allocated_chunks().map(|c| c.len()).sum();
    let main_grew = arena.allocated_bytes() > main_bytes_at_start;
    let released = release_large_scratch(scratch, main_grew);
    // Merge's and process's work lists go to the scratch arena, idle in
    // those phases, when it kept its chunk; after a large scan it gave
    // its memory back, and fresh scratch chunks would add to the main
    // arena's peak (at the end of `process`), where the main arena's own
    // spare room holds them instead.
    let large_scan = released;
    // One bundle per vreg, merged across reuses and block params.
    merge::merge_vreg_bundles(
        func,
        arena,
        if large_scan { arena } else { scratch },
        &mut tables,
    );
    scratch.reset();
    // Large functions are allocated region by region (see `queue`).
    let order = QueueOrder::for_function(func.num_insts(), RegionOrder::current());
    let mut queue = AllocationQueue::with_order_in(arena, order);
    merge::queue_bundles(&tables.bundles, &mut queue, &mut stats);
    #[cfg(debug_assertions)]
    if let Err(violation) = tables.check_invariants() {
        panic!("Ion tables after merge: {violation}");
    }
    // Probe / evict / split until every bundle has a register or a slot.
    process::process_bundles(
        func,
        env,
        &cfg,
        arena,
        if large_scan { arena } else { scratch },
        &mut tables,
        &mut queue,
        &mut stats,
    )?;
    scratch.reset();
    #[cfg(debug_assertions)]
    if let Err(violation) = tables
        .check_invariants()
        .and_then(|()| process::check_postconditions(&tables))
    {
        panic!("Ion tables after process: {violation}");
    }
    // Stack slots for the spill sets that need one.
    let num_spillslots =
        spill::allocate_spillslots(func, arena, &mut tables.spillsets, &mut tables.spillslots)?;
    // Allocations, moves and the rest of the output. Move insertion's
    // work tables go to the main arena's free room when a large function
    // left enough of it (its last chunk, from bumpalo's doubling, is often
    // half empty): then no scratch chunk is added at the peak.
    let temp: &Arena =
        if released && arena.chunk_capacity() >= scan_scratch_bytes + scan_scratch_bytes / 2 {
            arena
        } else {
            scratch
        };
    moves::insert_moves(
        func,
        env,
        &cfg,
        temp,
        &tables,
        num_spillslots,
        output,
        &mut stats,
    )?;
    Ok(Finished {
        tables,
        _cfg: cfg,
        _liveness: liveness,
        _queue: queue,
    })
}
