//! Range properties after a split, and the bundle-property queries the
//! loop makes. Bundle properties themselves (priority, limit, flags,
//! spill weight) are `merge::recompute_bundle_properties`, shared with
//! the merge phase so both phases weigh bundles the same way.
//!
//! Reads `ranges.uses`, `bundles.hot[..].props`; writes
//! `ranges.{uses_spill_weight,flags}`.
//!
//! From regalloc2 0.15.2 `recompute_range_properties`
//! (`src/ion/process.rs`).

use crate::ion::data::{bundle_props, range_flags, BundleId, Bundles, LiveRangeId, LiveRanges};
use crate::ion::liveranges::spill_weight_from_bits;
use crate::OperandKind;

/// A range's use-weight sum as upstream stores it: 29 bits of the `f32`
/// (the two lowest mantissa bits dropped), so split pieces weigh exactly
/// what upstream's do.
#[inline]
fn stored_range_weight(sum: f32) -> f32 {
    f32::from_bits(sum.to_bits() & !3)
}

/// Recomputes a range's use-weight sum (from the uses' packed weights, as
/// upstream does after a split) and marks it as starting at a def when
/// its first use is one. The flag is only ever set here, never cleared: a
/// range may start at a def without holding a def-kind use.
pub fn recompute_range_properties(ranges: &mut LiveRanges<'_>, range: LiveRangeId) {
    let uses = &ranges.uses[range];
    let sum: f32 = uses.iter().map(|u| spill_weight_from_bits(u.weight)).sum();
    let starts_at_def = uses
        .first()
        .is_some_and(|u| u.operand.kind() == OperandKind::Def);
    ranges.uses_spill_weight[range] = stored_range_weight(sum);
    if starts_at_def {
        ranges.flags[range] |= range_flags::STARTS_AT_DEF;
    }
}

/// Whether the bundle cannot be split any further.
#[inline]
pub fn is_minimal(bundles: &Bundles<'_>, bundle: BundleId) -> bool {
    bundles.hot[bundle].props & bundle_props::MINIMAL != 0
}
