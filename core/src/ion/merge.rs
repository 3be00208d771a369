//! Bundles: one per vreg, then merged across reuse pairs and block-param
//! edges; spill sets, bundle properties, spill weights, and the initial
//! allocation queue.
//!
//! Reads: the function (operands of `reuse_insts`), `vregs.ranges`/`class`, `ranges.uses`,
//! `pregs.is_stack`, `blockparam_outs`.
//! Writes: `bundles` (all columns), `ranges.bundle`, `spillsets`,
//! `stats.merged_bundle_count`; [`queue_bundles`] fills the queue.
//!
//! Algorithm from regalloc2 0.15.2 `src/ion/merge.rs` and
//! `recompute_bundle_properties` in `src/ion/process.rs`: the same merge
//! order (reuse pairs in instruction order, then block params in sorted
//! edge order), the same refusals (class mismatch, overlap with fixed-def
//! starts rounded to their instruction, more than 200 range comparisons,
//! conflicting requirements), and the same priority and spill-weight
//! formulas, so the allocation order and eviction choices match upstream.

use crate::ion::data::{
    bundle_props, BundleId, Bundles, CodeRange, IonTables, LiveRangeListEntry, LiveRanges, PRegs,
    SpillSetId, Use, VRegId,
};
use crate::ion::queue::AllocationQueue;
use crate::ion::requirement::{
    PackedRequirement, Requirement, RequirementConflict, RequirementConflictAt,
};
use crate::ion::Stats;
use crate::tables::{Arena, ArenaVec};
use crate::{
    constraint_kind, Function, Inst, InstPosition, Operand, OperandConstraint, OperandKind,
    ProgPoint, RegClass,
};

/// Largest spill weight a bundle can have (28 bits, as upstream packs it).
pub const BUNDLE_MAX_SPILL_WEIGHT: u32 = (1 << 28) - 1;
/// Weight of a minimal bundle with a fixed constraint: never evicted.
pub const MINIMAL_FIXED_BUNDLE_SPILL_WEIGHT: u32 = BUNDLE_MAX_SPILL_WEIGHT;
/// Weight of a minimal bundle with a `Limit`, minus the limit (tighter
/// limits weigh more).
pub const MINIMAL_LIMITED_BUNDLE_SPILL_WEIGHT: u32 = BUNDLE_MAX_SPILL_WEIGHT - 1;
/// Weight of any other minimal bundle.
pub const MINIMAL_BUNDLE_SPILL_WEIGHT: u32 = MINIMAL_LIMITED_BUNDLE_SPILL_WEIGHT - 256;
/// Cap on the weight of a non-minimal bundle.
pub const BUNDLE_MAX_NORMAL_SPILL_WEIGHT: u32 = MINIMAL_BUNDLE_SPILL_WEIGHT - 1;

/// Most range pairs compared when checking two bundles for overlap; past
/// this the merge is refused (bounds merge cost, as upstream).
const MERGE_MAX_RANGE_COMPARISONS: usize = 200;

/// The smallest range a bundle holding only `u` may have: such a bundle
/// cannot be split further.
pub fn minimal_range_for_use(u: &Use) -> CodeRange {
    let inst = u.pos.inst();
    let early = ProgPoint::before(inst);
    let late = ProgPoint::after(inst);
    let next_early = ProgPoint::before(inst.next());
    match (u.pos.pos(), u.operand.kind()) {
        (InstPosition::Before, OperandKind::Def) => CodeRange::new(early, next_early),
        (InstPosition::Before, OperandKind::Use) => CodeRange::new(early, late),
        (InstPosition::After, OperandKind::Def) => CodeRange::new(late, next_early),
        (InstPosition::After, OperandKind::Use) => CodeRange::new(early, next_early),
    }
}

/// Whether a bundle made of the one range `range`, with `uses`, is
/// minimal (cannot be split further): it has no use, or one whose
/// minimal range covers it.
fn single_range_is_minimal(uses: &[Use], range: CodeRange) -> bool {
    match uses {
        [] => true,
        [only] => {
            let min = minimal_range_for_use(only);
            min.from <= range.from && range.to <= min.to
        }
        _ => false,
    }
}

/// `Limit` bound as stored on a bundle (no register has `hw_enc` ≥ 64, so
/// saturating at 255 changes nothing).
fn limit_u8(bound: usize) -> u8 {
    u8::try_from(bound).unwrap_or(u8::MAX)
}

/// What one pass over a new bundle's ranges and uses gives: the
/// merge-time view (`merge_props`, `merge_limit`: every use counts, as
/// merge decisions need) and the final properties
/// [`recompute_bundle_properties`] would compute for the bundle as it is.
struct NewBundle {
    merge_props: u8,
    merge_limit: Option<u8>,
    hull: CodeRange,
    props: u8,
    limit: Option<u8>,
    prio: u32,
    spill_weight: u32,
}

/// Sets `ranges.bundle` of each range of `list` to `bundle` and reads its
/// uses once for both views of [`NewBundle`]: a bundle no merge touches
/// then needs no second walk of its uses.
/// Merge-time properties a use sets, by [`Operand::constraint_kind`]
/// (`FIXED_DEF` added for fixed defs).
const MERGE_PROPS_BY_KIND: [u8; 5] = [
    0,
    bundle_props::USES_REG,
    bundle_props::USES_REG,
    bundle_props::STACK | bundle_props::USES_CONSTRAINED,
    bundle_props::FIXED | bundle_props::USES_CONSTRAINED,
];
/// Final-view properties a use sets, by [`Operand::constraint_kind`].
const USES_PROPS_BY_KIND: [u8; 5] = [
    0,
    bundle_props::USES_REG,
    bundle_props::USES_REG,
    bundle_props::USES_CONSTRAINED,
    bundle_props::USES_CONSTRAINED,
];

fn init_bundle(
    bundle: BundleId,
    list: &[LiveRangeListEntry],
    ranges: &mut LiveRanges<'_>,
) -> NewBundle {
    let mut merge_props = 0u8;
    let mut merge_limit: Option<u8> = None;
    let mut hull = list[0].range;
    // The final view: per range, the scan stops at the first fixed or
    // stack use (see `recompute_bundle_properties`).
    let mut uses_props = 0u8;
    let mut limit: Option<u8> = None;
    let mut prio = 0u32;
    let mut total_weight = 0f32;
    for entry in list.iter() {
        hull = hull.join(entry.range);
        ranges.bundle[entry.index] = bundle;
        prio += entry.range.len() as u32;
        total_weight += ranges.uses_spill_weight[entry.index];
        // Per use, the properties come from tables by constraint kind;
        // only a `Limit` (rare) branches. `uses_mask` clears once the
        // range's scan reaches its first fixed or stack use.
        let mut uses_mask = !0u8;
        for u in ranges.uses[entry.index].iter() {
            let kind = u.operand.constraint_kind();
            let def_bit = u8::from(u.operand.is_def());
            let fixed_def = u8::from(kind == constraint_kind::FIXED) & def_bit;
            merge_props |=
                MERGE_PROPS_BY_KIND[kind as usize] | (fixed_def * bundle_props::FIXED_DEF);
            if kind == constraint_kind::LIMIT {
                let OperandConstraint::Limit(bound) = u.operand.constraint() else {
                    unreachable!("the kind table and the decoder agree");
                };
                let bound = limit_u8(bound);
                merge_limit = Some(merge_limit.map_or(bound, |l| l.min(bound)));
                if uses_mask != 0 {
                    limit = Some(limit.map_or(bound, |l| l.min(bound)));
                }
            }
            uses_props |= USES_PROPS_BY_KIND[kind as usize] & uses_mask;
            // Stack and fixed are the two highest kinds.
            uses_mask &= 0u8.wrapping_sub(u8::from(kind < constraint_kind::STACK));
        }
    }
    // A vreg's ranges all have the vreg, so the first is never a fixed
    // reservation; only a single range can make the bundle minimal, and
    // only then do FIXED / FIXED_DEF / STACK carry over (from all the
    // range's uses: the merge-time view of them).
    let mut props = uses_props;
    let minimal = match list {
        [only] => {
            props |=
                merge_props & (bundle_props::FIXED | bundle_props::FIXED_DEF | bundle_props::STACK);
            single_range_is_minimal(&ranges.uses[only.index], ranges.range[only.index])
        }
        _ => false,
    };
    let spill_weight = spill_weight_of(minimal, props, limit, total_weight, prio);
    if minimal {
        props |= bundle_props::MINIMAL;
    }
    NewBundle {
        merge_props,
        merge_limit,
        hull,
        props,
        limit,
        prio,
        spill_weight,
    }
}

/// The spill weight of a bundle: a constant for minimal bundles (highest
/// for fixed, then limited, then others), otherwise the sum of the
/// ranges' use weights divided by `prio`, capped below the minimal ones.
fn spill_weight_of(
    minimal: bool,
    props: u8,
    limit: Option<u8>,
    total_weight: f32,
    prio: u32,
) -> u32 {
    if minimal {
        if props & bundle_props::FIXED != 0 {
            MINIMAL_FIXED_BUNDLE_SPILL_WEIGHT
        } else if let Some(limit) = limit {
            MINIMAL_LIMITED_BUNDLE_SPILL_WEIGHT - u32::from(limit)
        } else {
            MINIMAL_BUNDLE_SPILL_WEIGHT
        }
    } else {
        (total_weight as u32)
            .checked_div(prio)
            .map_or(0, |weight| weight.min(BUNDLE_MAX_NORMAL_SPILL_WEIGHT))
    }
}

/// Tries to move every range of `from` into `to`; returns whether the
/// bundles are now one (`from` is left empty).
fn merge_bundles<'a>(
    from: BundleId,
    to: BundleId,
    tables: &mut IonTables<'a>,
    arena: &'a Arena,
) -> bool {
    if from == to {
        return true;
    }
    let IonTables {
        ranges,
        bundles,
        spillsets,
        pregs,
        ..
    } = tables;
    if spillsets.class[bundles.hot[from].spillset] != spillsets.class[bundles.hot[to].spillset] {
        return false;
    }
    if bundles.hot[from].allocation.is_some() || bundles.hot[to].allocation.is_some() {
        return false;
    }

    // A bundle with a fixed def must not take in another operand of the
    // def's instruction (the result could be a minimal bundle with two
    // constraints, impossible to split): round such bundles' range starts
    // down to their instruction's Before point for the overlap test.
    let fixed_def = |bundle: BundleId| bundles.hot[bundle].props & bundle_props::FIXED_DEF != 0;
    let (from_fixed_def, to_fixed_def) = (fixed_def(from), fixed_def(to));
    let start_of = |rounds: bool, range: CodeRange| -> ProgPoint {
        if rounds {
            ProgPoint::before(range.from.inst())
        } else {
            range.from
        }
    };
    {
        let list_from = &bundles.ranges[from];
        let list_to = &bundles.ranges[to];
        let (mut i, mut j, mut comparisons) = (0, 0, 0);
        while i < list_from.len() && j < list_to.len() {
            comparisons += 1;
            if comparisons > MERGE_MAX_RANGE_COMPARISONS {
                return false;
            }
            if start_of(from_fixed_def, list_from[i].range) >= list_to[j].range.to {
                j += 1;
            } else if start_of(to_fixed_def, list_to[j].range) >= list_from[i].range.to {
                i += 1;
            } else {
                return false;
            }
        }
    }

    let constrained = |bundle: BundleId| {
        bundles.hot[bundle].props & (bundle_props::STACK | bundle_props::FIXED) != 0
            || bundles.hot[bundle].limit.is_some()
    };
    if (constrained(from) || constrained(to))
        && merge_bundle_requirements(from, to, bundles, ranges, pregs).is_err()
    {
        return false;
    }

    if bundles.ranges[from].is_empty() {
        return true;
    }
    let moved = core::mem::replace(&mut bundles.ranges[from], ArenaVec::new_in(arena));
    for entry in moved.iter() {
        ranges.bundle[entry.index] = to;
    }
    let target = &mut bundles.ranges[to];
    if target.is_empty() {
        *target = moved;
    } else if moved.len() == 1 {
        let at = target
            .binary_search_by_key(&moved[0].range.from, |entry| entry.range.from)
            .unwrap_or_else(|at| at);
        target.insert(at, moved[0]);
    } else {
        merge_sorted_into(target, &moved);
    }

    let (set_from, set_to) = (bundles.hot[from].spillset, bundles.hot[to].spillset);
    if set_from != set_to {
        spillsets.range[set_to] = spillsets.range[set_to].join(spillsets.range[set_from]);
    }
    bundles.hot[to].props |= bundles.hot[from].props;
    if let Some(theirs) = bundles.hot[from].limit {
        bundles.hot[to].limit = Some(
            bundles.hot[to]
                .limit
                .map_or(theirs, |ours| ours.min(theirs)),
        );
    }
    true
}

/// Merges `extra` into `target`, both sorted by `range.from`, keeping
/// the result sorted. The two bundles' ranges are disjoint, so starts are
/// distinct and the order is the one a sort would give. In place, from
/// the back: `target` grows by `extra`'s length (a vector's amortized
/// growth, so a block param's bundle that takes in one argument after
/// another does not leave a copy of its whole list behind at each merge),
/// then each slot from the end takes the larger of the two lists' last
/// unplaced entries.
fn merge_sorted_into(target: &mut ArenaVec<'_, LiveRangeListEntry>, extra: &[LiveRangeListEntry]) {
    let kept = target.len();
    target.extend_from_slice(extra);
    // `target[..i]` and `extra[..j]` are still to place; every slot from
    // `i + j` on is final. The lists usually interleave in a few long
    // runs (a block param's ranges against its argument's), so whole runs
    // move at once.
    let (mut i, mut j) = (kept, extra.len());
    while j > 0 {
        let next = extra[j - 1].range.from;
        // The run of `target` entries after `extra`'s last unplaced one
        // moves up by `j`.
        let run_start = target[..i].partition_point(|e| e.range.from < next);
        target.copy_within(run_start..i, run_start + j);
        i = run_start;
        if i == 0 {
            target[..j].copy_from_slice(&extra[..j]);
            break;
        }
        // The run of `extra` entries after `target`'s last unplaced one
        // lands just below.
        let last = target[i - 1].range.from;
        let extra_start = extra[..j].partition_point(|e| e.range.from < last);
        target[i + extra_start..i + j].copy_from_slice(&extra[extra_start..j]);
        j = extra_start;
    }
    debug_assert!(target.windows(2).all(|w| w[0].range.from < w[1].range.from));
}

/// The bundle holding `vreg`'s first range, if it has any.
fn bundle_of_vreg(tables: &IonTables<'_>, vreg: VRegId) -> Option<BundleId> {
    let first = tables.vregs.ranges.get(vreg)?.first()?;
    Some(tables.ranges.bundle[first.index])
}

/// Creates one bundle and spill set per vreg with ranges, then merges
/// reuse-def/input pairs and block params with their branch args where
/// allowed; finally computes every bundle's properties and spill weight.
///
/// `temp` holds the phase's own work lists (it is idle between the
/// live-range scan and move insertion), so they add nothing to the main
/// arena's peak.
pub fn merge_vreg_bundles<'a, F: Function>(
    func: &F,
    arena: &'a Arena,
    temp: &Arena,
    tables: &mut IonTables<'a>,
) {
    // The rows are appended in bulk (one resize per column), then filled
    // in vreg order: the same ids as one push per vreg.
    let count = tables.vregs.ranges.iter_nonempty().count();
    // Splits add bundles later: on the dev corpus the table ends 1.25
    // times this size at the median, 1.68 at the 90th percentile; room
    // for three quarters more keeps nine functions in ten from doubling
    // the columns. A large function gets room for twice as many, as a
    // column that outgrows its room is copied. Spill sets are one per
    // bundle made here: splits share their parent's.
    let split_room = if func.num_insts() >= crate::ion::data::LARGE_FUNCTION_INSTS {
        2 * count
    } else {
        count * 3 / 4 + 8
    };
    tables.bundles.reserve(count + split_room);
    tables.spillsets.reserve(count);
    let first_bundle = tables.bundles.push_empty(count, arena);
    let placeholder = CodeRange::new(
        ProgPoint::before(Inst::new(0)),
        ProgPoint::before(Inst::new(0)),
    );
    let first_set = tables
        .spillsets
        .push_filled(count, RegClass::Int, placeholder);
    // Per new bundle, its final `props` and `limit` (the columns hold the
    // merge-time view until the merges are done), and whether a merge
    // gave it ranges (then its properties are computed again).
    let mut final_view: ArenaVec<(u8, Option<u8>)> = ArenaVec::with_capacity_in(count, temp);
    let mut merged_into: ArenaVec<bool> = ArenaVec::with_capacity_in(count, temp);
    merged_into.resize(count, false);
    for (made, (vreg, list)) in tables.vregs.ranges.iter_nonempty().enumerate() {
        let bundle = BundleId::new(first_bundle.index() + made);
        let set = SpillSetId::new(first_set.index() + made);
        let new = init_bundle(bundle, list, &mut tables.ranges);
        let mut own = ArenaVec::with_capacity_in(list.len(), arena);
        own.extend_from_slice(list);
        let bundles = &mut tables.bundles;
        bundles.ranges[bundle] = own;
        bundles.hot[bundle].props = new.merge_props;
        bundles.hot[bundle].limit = new.merge_limit;
        bundles.hot[bundle].prio = new.prio;
        bundles.hot[bundle].spill_weight = new.spill_weight;
        final_view.push((new.props, new.limit));
        tables.spillsets.class[set] = tables.vregs.class[vreg].unwrap_or(RegClass::Int);
        tables.spillsets.range[set] = new.hull;
        tables.bundles.hot[bundle].spillset = set;
    }

    // Reuse pairs: the def takes the input's register, so one bundle for
    // both saves the copy.
    for k in (0..tables.reuse_insts.len()).rev() {
        let operands = func.inst_operands(tables.reuse_insts[k]);
        for op in operands {
            let OperandConstraint::Reuse(input_idx) = op.constraint() else {
                continue;
            };
            let Some(input) = operands.get(input_idx) else {
                continue;
            };
            let (Some(def_bundle), Some(input_bundle)) = (
                bundle_of_vreg(tables, VRegId::of(op.vreg())),
                bundle_of_vreg(tables, VRegId::of(input.vreg())),
            ) else {
                continue;
            };
            if merge_bundles(input_bundle, def_bundle, tables, arena) {
                mark_merge_target(&mut merged_into, first_bundle, def_bundle);
            }
        }
    }

    // Block params with their incoming args, in sorted edge order.
    for i in 0..tables.blockparam_outs.len() {
        let out = tables.blockparam_outs[i];
        let (Some(arg_bundle), Some(param_bundle)) = (
            bundle_of_vreg(tables, out.from_vreg),
            bundle_of_vreg(tables, out.to_vreg),
        ) else {
            continue;
        };
        if merge_bundles(arg_bundle, param_bundle, tables, arena) {
            mark_merge_target(&mut merged_into, first_bundle, param_bundle);
        }
    }

    // Final properties: computed again for bundles a merge grew (and any
    // made before this phase), taken from the first pass for the rest.
    // Bundles a merge emptied keep no priority or weight.
    for bundle in tables.bundles.ranges.keys() {
        let made_here = bundle.index().checked_sub(first_bundle.index());
        let bundles = &mut tables.bundles;
        if bundles.ranges[bundle].is_empty() {
            if made_here.is_some() {
                bundles.hot[bundle].prio = 0;
                bundles.hot[bundle].spill_weight = 0;
            }
            continue;
        }
        match made_here.filter(|&i| !merged_into[i]) {
            Some(i) => {
                let (props, limit) = final_view[i];
                bundles.hot[bundle].props = props;
                bundles.hot[bundle].limit = limit;
                if props & bundle_props::USES_CONSTRAINED != 0 {
                    bundles.hot[bundle].requirement = PackedRequirement::pack(compute_requirement(
                        bundle,
                        bundles,
                        &tables.ranges,
                        &tables.pregs,
                    ));
                }
            }
            None => recompute_bundle_properties(bundle, bundles, &tables.ranges, &tables.pregs),
        }
    }
}

/// Notes that a merge put ranges into `target` (a bundle made by this
/// phase, from `first`).
fn mark_merge_target(merged_into: &mut [bool], first: BundleId, target: BundleId) {
    if let Some(i) = target.index().checked_sub(first.index()) {
        merged_into[i] = true;
    }
}

/// Recomputes a bundle's `prio` (total range length), `limit`, `props`
/// and `spill_weight` from its ranges and uses. Owned here; the `process`
/// phase calls it after every split.
///
/// Like upstream, only a single-range bundle gets FIXED / FIXED_DEF /
/// STACK (multi-range bundles are treated as unconstrained when choosing
/// what to evict), and MINIMAL means one range with at most one use, no
/// larger than that use's minimal range. The limit is the tightest
/// `Limit` of the uses, computed as upstream does: within a range the scan
/// stops at the first fixed-register or stack use. Spill weight: a
/// constant for minimal bundles (highest for fixed, then limited, then
/// others), otherwise the sum of the ranges' use weights divided by
/// `prio`, capped below the minimal ones.
///
/// One pass over the range list gathers length, limit and weight sum.
pub fn recompute_bundle_properties(
    bundle: BundleId,
    bundles: &mut Bundles<'_>,
    ranges: &LiveRanges<'_>,
    pregs: &PRegs<'_>,
) {
    let list = &bundles.ranges[bundle];
    let mut prio: u32 = 0;
    let mut limit: Option<u8> = None;
    let mut total_weight: f32 = 0.0;
    // USES_CONSTRAINED / USES_REG: exact, because a range's scan stops
    // early only at a use that sets USES_CONSTRAINED.
    let mut uses_props = 0u8;
    for entry in list.iter() {
        prio += entry.range.len() as u32;
        total_weight += ranges.uses_spill_weight[entry.index];
        for u in ranges.uses[entry.index].iter() {
            let kind = u.operand.constraint_kind();
            uses_props |= USES_PROPS_BY_KIND[kind as usize];
            if kind >= constraint_kind::STACK {
                break;
            }
            if kind == constraint_kind::LIMIT {
                let OperandConstraint::Limit(bound) = u.operand.constraint() else {
                    unreachable!("the kind table and the decoder agree");
                };
                let bound = limit_u8(bound);
                limit = Some(limit.map_or(bound, |l| l.min(bound)));
            }
        }
    }
    let mut props = uses_props;
    let minimal = match list.first() {
        None => true,
        Some(first) if ranges.vreg[first.index].is_invalid() => {
            props |= bundle_props::FIXED | bundle_props::USES_CONSTRAINED;
            true
        }
        Some(first) if list.len() == 1 => {
            let uses = &ranges.uses[first.index];
            for u in uses.iter() {
                match u.operand.constraint() {
                    OperandConstraint::FixedReg(_) => {
                        props |= bundle_props::FIXED;
                        if u.operand.kind() == OperandKind::Def {
                            props |= bundle_props::FIXED_DEF;
                        }
                    }
                    OperandConstraint::Stack => props |= bundle_props::STACK,
                    _ => {}
                }
            }
            single_range_is_minimal(uses, ranges.range[first.index])
        }
        Some(_) => false,
    };
    let spill_weight = spill_weight_of(minimal, props, limit, total_weight, prio);
    if minimal {
        props |= bundle_props::MINIMAL;
    }
    bundles.hot[bundle].prio = prio;
    bundles.hot[bundle].limit = limit;
    bundles.hot[bundle].props = props;
    bundles.hot[bundle].spill_weight = spill_weight;
    if props & bundle_props::USES_CONSTRAINED != 0 {
        // The uses were just read: walk them now rather than when the
        // bundle is popped (see `Bundles::requirement`).
        bundles.hot[bundle].requirement =
            PackedRequirement::pack(compute_requirement(bundle, bundles, ranges, pregs));
    }
}

/// Queues every bundle that has ranges, keyed by the queue's order
/// (priority; region, then priority, in a large function).
pub fn queue_bundles(bundles: &Bundles<'_>, queue: &mut AllocationQueue<'_>, stats: &mut Stats) {
    let order = queue.order();
    queue.extend(
        bundles
            .ranges
            .iter_enumerated()
            .filter_map(|(bundle, list)| {
                let first = list.first()?;
                Some((
                    bundle,
                    order.key(bundles.hot[bundle].prio, first.range.from),
                ))
            }),
    );
    stats.merged_bundle_count = queue.len();
}

// --- Requirements of bundles (the lattice is `requirement.rs`) -----------------

/// The requirement one operand puts on its vreg's location.
#[inline]
pub fn requirement_from_operand(operand: Operand, pregs: &PRegs<'_>) -> Requirement {
    match operand.constraint() {
        OperandConstraint::FixedReg(preg) => {
            if pregs.is_stack[preg.index()] {
                Requirement::FixedStack(preg)
            } else {
                Requirement::FixedReg(preg)
            }
        }
        OperandConstraint::Reg | OperandConstraint::Reuse(_) => Requirement::Register,
        OperandConstraint::Limit(bound) => Requirement::Limit(bound),
        OperandConstraint::Stack => Requirement::Stack,
        OperandConstraint::Any => Requirement::Any,
    }
}

/// Folds the requirements of every use of `bundle` (in program order), or
/// returns the first point where they conflict and which kind of conflict
/// it is.
pub fn compute_requirement(
    bundle: BundleId,
    bundles: &Bundles<'_>,
    ranges: &LiveRanges<'_>,
    pregs: &PRegs<'_>,
) -> Result<Requirement, RequirementConflictAt> {
    let mut req = Requirement::Any;
    // Position of the previous use, for a RegToStack cut right after it.
    let mut last_pos = ProgPoint::before(Inst::new(0));
    for entry in bundles.ranges[bundle].iter() {
        for u in ranges.uses[entry.index].iter() {
            let r = requirement_from_operand(u.operand, pregs);
            req = match req.merge(r) {
                Ok(merged) => merged,
                Err(RequirementConflict) => {
                    return Err(if req.is_stack() && r.is_reg() {
                        RequirementConflictAt::StackToReg(u.pos)
                    } else if req.is_reg() && r.is_stack() {
                        RequirementConflictAt::RegToStack(last_pos)
                    } else {
                        RequirementConflictAt::Other(u.pos)
                    });
                }
            };
            last_pos = u.pos;
        }
    }
    Ok(req)
}

/// The requirement of the union of two bundles, or a conflict (the
/// position is irrelevant to a merge decision, so it is not reported).
pub fn merge_bundle_requirements(
    a: BundleId,
    b: BundleId,
    bundles: &Bundles<'_>,
    ranges: &LiveRanges<'_>,
    pregs: &PRegs<'_>,
) -> Result<Requirement, RequirementConflict> {
    let req_a = compute_requirement(a, bundles, ranges, pregs).map_err(|_| RequirementConflict)?;
    let req_b = compute_requirement(b, bundles, ranges, pregs).map_err(|_| RequirementConflict)?;
    req_a.merge(req_b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ion::liveranges::testing::*;
    use crate::{OperandPos, PReg, VReg};

    #[test]
    fn stack_param_does_not_merge_with_register_arg() {
        // v0 is defined on the stack and passed to b1's param v1, which is
        // used in a register: merging would need both at once.
        let stack_def = Operand::new(
            v(0),
            OperandConstraint::Stack,
            OperandKind::Def,
            OperandPos::Late,
        );
        let func = function(
            3,
            vec![
                B(
                    vec![],
                    vec![op(vec![stack_def]), branch(vec![])],
                    vec![(1, vec![v(0)])],
                ),
                B(
                    vec![v(1)],
                    vec![
                        op(vec![Operand::reg_def(v(2)), Operand::reg_use(v(1))]),
                        ret(vec![Operand::reg_use(v(2))]),
                    ],
                    vec![],
                ),
            ],
        );
        with_front(&func, |tables, _, _| {
            let bundle_of =
                |n: usize| tables.ranges.bundle[tables.vregs.ranges[VRegId::new(n)][0].index];
            assert_ne!(bundle_of(0), bundle_of(1));
            let req = |b| compute_requirement(b, &tables.bundles, &tables.ranges, &tables.pregs);
            assert_eq!(req(bundle_of(0)), Ok(Requirement::Stack));
            assert_eq!(req(bundle_of(1)), Ok(Requirement::Register));
            let b0 = bundle_of(0);
            assert_ne!(tables.bundles.hot[b0].props & bundle_props::STACK, 0);
            // Live to the branch: longer than its def's minimal range.
            assert_eq!(tables.bundles.hot[b0].props & bundle_props::MINIMAL, 0);
            // Stack def weighs 1000 + 2000 over [After(i0), Before(i2)).
            assert_eq!(tables.bundles.hot[b0].prio, 3);
            assert_eq!(tables.bundles.hot[b0].spill_weight, 1000);
        });
    }

    #[test]
    fn priority_and_spill_weight_follow_upstream_formula() {
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
        with_front(&func, |tables, _, _| {
            let b = tables.ranges.bundle[tables.vregs.ranges[VRegId::new(0)][0].index];
            // [After(i0), After(i1)): two program points.
            assert_eq!(tables.bundles.hot[b].prio, 2);
            // Def 5000 + use 3000, over a length of 2.
            assert_eq!(tables.bundles.hot[b].spill_weight, 4000);
            assert_eq!(tables.bundles.hot[b].props & bundle_props::MINIMAL, 0);
            let set = tables.bundles.hot[b].spillset;
            assert_eq!(tables.spillsets.class[set], RegClass::Int);
            let arena = Arena::new();
            let mut queue = AllocationQueue::new_in(&arena);
            let mut stats = Stats::default();
            queue_bundles(&tables.bundles, &mut queue, &mut stats);
            assert_eq!(stats.merged_bundle_count, 2);
        });
    }

    /// The in-place merge gives the sorted union for every interleaving
    /// of two disjoint lists: either one empty, one wholly before or after
    /// the other, alternating entries, runs, into a list with spare room.
    #[test]
    fn merge_sorted_into_gives_the_sorted_union() {
        let entry = |from: u32| LiveRangeListEntry {
            range: CodeRange::new(ProgPoint::from_index(from), ProgPoint::from_index(from + 1)),
            index: crate::ion::data::LiveRangeId::new(from as usize),
        };
        let cases: [(&[u32], &[u32]); 7] = [
            (&[], &[1, 3]),
            (&[2, 4], &[]),
            (&[1, 2], &[5, 6]),
            (&[5, 6], &[1, 2]),
            (&[1, 3, 5, 7], &[2, 4, 6, 8]),
            (&[10, 11, 12, 30], &[1, 2, 20, 21, 40]),
            (&[4], &[0, 1, 2, 3, 5, 6]),
        ];
        let arena = Arena::new();
        for (kept, added) in cases {
            let mut target = ArenaVec::with_capacity_in(16, &arena);
            target.extend(kept.iter().map(|&p| entry(p)));
            let extra: Vec<_> = added.iter().map(|&p| entry(p)).collect();
            merge_sorted_into(&mut target, &extra);
            let mut expected: Vec<u32> = kept.iter().chain(added).copied().collect();
            expected.sort_unstable();
            let got: Vec<u32> = target.iter().map(|e| e.range.from.to_index()).collect();
            assert_eq!(got, expected, "{kept:?} + {added:?}");
            assert!(target
                .iter()
                .all(|e| e.index.index() == e.range.from.to_index() as usize));
        }
    }

    fn preg(n: usize) -> PReg {
        PReg::new(n, RegClass::Int)
    }

    /// Builds one bundle with one range holding `uses` (constraint, inst).
    fn conflict_of(
        uses: &[(OperandConstraint, usize)],
    ) -> Result<Requirement, RequirementConflictAt> {
        let arena = Arena::new();
        let mut ranges = LiveRanges::new_in(&arena, 1);
        let mut bundles = Bundles::new_in(&arena, 1);
        let pregs = PRegs::new_in(&arena, 20);
        let v = VReg::new(0, RegClass::Int);
        let range = CodeRange::new(
            ProgPoint::before(Inst::new(0)),
            ProgPoint::before(Inst::new(20)),
        );
        let lr = ranges.push(&arena, range, VRegId::new(0));
        for &(c, inst) in uses {
            ranges.uses.push(
                lr,
                Use {
                    operand: Operand::new(v, c, OperandKind::Use, OperandPos::Early),
                    pos: ProgPoint::before(Inst::new(inst)),
                    slot: 0,
                    weight: 0,
                },
            );
        }
        let b = bundles.push(&arena);
        bundles.ranges[b].push(LiveRangeListEntry { range, index: lr });
        compute_requirement(b, &bundles, &ranges, &pregs)
    }

    #[test]
    fn conflicts_carry_kind_and_point() {
        use OperandConstraint as C;
        let at = |i| ProgPoint::before(Inst::new(i));
        assert_eq!(
            conflict_of(&[(C::Any, 1), (C::Reg, 2), (C::Limit(8), 3)]),
            Ok(Requirement::Limit(8))
        );
        let c = conflict_of(&[(C::Stack, 1), (C::Any, 2), (C::Reg, 5)]).unwrap_err();
        assert_eq!(c, RequirementConflictAt::StackToReg(at(5)));
        assert!(!c.should_trim_edges_around_split());
        let c = conflict_of(&[(C::Reg, 1), (C::Reg, 4), (C::Stack, 9)]).unwrap_err();
        assert_eq!(c, RequirementConflictAt::RegToStack(at(4)));
        assert_eq!(c.suggested_split_point(), at(4));
        let c = conflict_of(&[(C::FixedReg(preg(0)), 2), (C::FixedReg(preg(1)), 7)]).unwrap_err();
        assert_eq!(c, RequirementConflictAt::Other(at(7)));
        assert!(c.should_trim_edges_around_split());
    }
}
