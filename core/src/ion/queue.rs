//! The allocation queue: bundles by priority, in the per-run arena. Ties
//! break toward the higher bundle id (later bundles are pieces split off
//! earlier ones, which regalloc2 also prefers), so the order, and the whole
//! allocation, is deterministic.
//!
//! Large functions (at least [`RegionOrder::DEFAULT`]'s `min_insts`) are
//! allocated region by region: a bundle's key puts the region of code it
//! starts in (1,024 instructions) above its priority, so the loop
//! finishes one stretch of code, in priority order, before it moves on
//! (see [`QueueOrder`]). Priority order alone jumps all over a function
//! whose tables no longer fit in the cache, and every jump is a miss in
//! the trees, the busy bits and the rows.
//!
//! Two parts: the bundles queued before allocation starts, sorted once
//! (most of the queue, popped from the end, one sequential step each),
//! and a binary max-heap for the bundles pushed while allocating (split
//! pieces, evicted bundles). A pop takes the larger of the two heads, so the order
//! is exactly that of one heap holding everything; but the heap stays
//! smaller, and for a large function the sorted part costs a sequential
//! read per pop where a heap of every bundle costs a walk down ~20 levels
//! of memory that no longer fits in the cache.

use crate::ion::data::{BundleId, LARGE_FUNCTION_INSTS};
use crate::tables::{Arena, ArenaVec, SCRATCH_LIST_START};
use crate::ProgPoint;

/// When bundles are ordered by region first, and how large a region is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegionOrder {
    /// Functions of at least this many instructions are ordered by region.
    pub min_insts: usize,
    /// A region is `1 << shift` instructions.
    pub shift: u32,
}

impl RegionOrder {
    /// From 65,536 instructions (where a function's tables, about 750
    /// bytes per instruction, outgrow the last-level cache), regions of
    /// 1,024 instructions (whose tables fit in a 2 MB second-level cache).
    /// On the 10^6-instruction `gen` function: 3.87 s -> 2.33 s per run
    /// and weighted cost 7,391,851 -> 7,389,229 (2026-12-08, DESIGN.md).
    pub const DEFAULT: RegionOrder = RegionOrder {
        min_insts: LARGE_FUNCTION_INSTS,
        shift: 10,
    };

    /// The order runs use: [`Self::DEFAULT`], or what a test set.
    pub fn current() -> RegionOrder {
        #[cfg(test)]
        if let Some(order) = REGION_ORDER_OVERRIDE.with(|o| o.get()) {
            return order;
        }
        Self::DEFAULT
    }
}

#[cfg(test)]
thread_local! {
    /// Tests set this to order small functions by small regions, so that
    /// generated functions take the large-function path.
    pub(crate) static REGION_ORDER_OVERRIDE: core::cell::Cell<Option<RegionOrder>> =
        const { core::cell::Cell::new(None) };
}

/// How a bundle's priority becomes its queue key: the priority itself, or
/// for a large function the region of its start above a priority capped
/// at 20 bits (earlier regions pop first; ties in the capped priority,
/// bundles over half a million instructions long, break by id as usual).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueOrder {
    /// `Some(shift)`: regions of `1 << shift` instructions.
    region_shift: Option<u32>,
}

impl QueueOrder {
    const PRIO_BITS: u32 = 20;
    const MAX_PRIO: u32 = (1 << Self::PRIO_BITS) - 1;
    /// Regions past this one share its key (functions over four million
    /// instructions at the default size).
    const LAST_REGION: u32 = (1 << (32 - Self::PRIO_BITS)) - 1;

    /// Priority order alone.
    pub const PRIORITY: QueueOrder = QueueOrder { region_shift: None };

    /// The order for a function of `num_insts` instructions under `order`.
    pub fn for_function(num_insts: usize, order: RegionOrder) -> QueueOrder {
        QueueOrder {
            region_shift: (num_insts >= order.min_insts).then_some(order.shift),
        }
    }

    /// Whether regions come first.
    pub fn by_region(self) -> bool {
        self.region_shift.is_some()
    }

    /// The key of a bundle of priority `prio` whose first range starts at
    /// `start`: larger keys pop first.
    #[inline]
    pub fn key(self, prio: u32, start: ProgPoint) -> u32 {
        match self.region_shift {
            None => prio,
            Some(shift) => {
                let region = ((start.inst().index() >> shift) as u64)
                    .min(u64::from(Self::LAST_REGION)) as u32;
                ((Self::LAST_REGION - region) << Self::PRIO_BITS) | prio.min(Self::MAX_PRIO)
            }
        }
    }
}

/// A queued bundle as one integer: its key (the priority, or region and
/// priority) in the high half, bundle id in the low half, so "pops first"
/// is plain `>` (higher key, then higher id).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Entry(u64);

impl Entry {
    #[inline(always)]
    fn new(key: u32, bundle: BundleId) -> Entry {
        Entry(u64::from(key) << 32 | bundle.index() as u64)
    }
    #[inline(always)]
    fn bundle(self) -> BundleId {
        BundleId::new(self.0 as u32 as usize)
    }
}

/// Puts `entry` at `hole` of the max-heap `heap` or, while it beats the
/// parent there, moves the parent down into the hole and climbs.
#[inline(always)]
fn sift_up(heap: &mut [Entry], mut hole: usize, entry: Entry) {
    while hole > 0 {
        let parent = (hole - 1) / 2;
        if entry <= heap[parent] {
            break;
        }
        heap[hole] = heap[parent];
        hole = parent;
    }
    heap[hole] = entry;
}

/// Bundles waiting for allocation, highest priority first.
///
/// Invariant: `initial` is sorted ascending (its last entry pops first);
/// `heap` is a binary max-heap.
#[derive(Debug)]
pub struct AllocationQueue<'a> {
    initial: ArenaVec<'a, Entry>,
    heap: ArenaVec<'a, Entry>,
    order: QueueOrder,
}

impl<'a> AllocationQueue<'a> {
    /// An empty queue in priority order.
    pub fn new_in(arena: &'a Arena) -> Self {
        Self::with_order_in(arena, QueueOrder::PRIORITY)
    }
    /// An empty queue whose callers key bundles by `order`.
    pub fn with_order_in(arena: &'a Arena, order: QueueOrder) -> Self {
        AllocationQueue {
            initial: ArenaVec::new_in(arena),
            heap: ArenaVec::with_capacity_in(SCRATCH_LIST_START, arena),
            order,
        }
    }
    /// How this queue's keys are made from priorities.
    #[inline]
    pub fn order(&self) -> QueueOrder {
        self.order
    }
    pub fn len(&self) -> usize {
        self.initial.len() + self.heap.len()
    }
    pub fn is_empty(&self) -> bool {
        self.initial.is_empty() && self.heap.is_empty()
    }
    /// Queues many bundles at once (the bundles built before allocation),
    /// each with its key ([`QueueOrder::key`]): one sort instead of one
    /// heap insertion each.
    pub fn extend(&mut self, bundles: impl Iterator<Item = (BundleId, u32)>) {
        // A filtered iterator gives no useful size hint; one reservation
        // for its upper bound beats bumpalo's growth from one entry.
        let (_, upper) = bundles.size_hint();
        self.initial.reserve(upper.unwrap_or(0));
        self.initial
            .extend(bundles.map(|(bundle, key)| Entry::new(key, bundle)));
        self.initial.sort_unstable();
    }
    /// Queues `bundle` with `key` ([`QueueOrder::key`]).
    pub fn push(&mut self, bundle: BundleId, key: u32) {
        let entry = Entry::new(key, bundle);
        self.heap.push(entry);
        let hole = self.heap.len() - 1;
        sift_up(&mut self.heap, hole, entry);
    }
    /// Among the bundles queued before allocation (`extend`), the one
    /// `ahead` places after the next of them to pop (0: that next one):
    /// pops known in advance, for prefetching their rows. Pushes in
    /// between may delay its pop, never change which bundle it is.
    #[inline]
    pub fn upcoming(&self, ahead: usize) -> Option<BundleId> {
        let len = self.initial.len();
        (ahead < len).then(|| self.initial[len - 1 - ahead].bundle())
    }

    /// The heap part's entry at `index` in heap order (0: its top; 1 and
    /// 2: the candidates for the top after the next heap pop), if any.
    /// Likely pops soon, for prefetching.
    #[inline]
    pub fn heap_entry(&self, index: usize) -> Option<BundleId> {
        self.heap.get(index).map(|entry| entry.bundle())
    }

    /// Removes and returns the highest-priority bundle.
    ///
    /// The heap part uses bottom-up deletion (Wegener, "Bottom-up
    /// heapsort", 1993): the hole left by the top walks down along the
    /// larger children to a leaf without comparing against the moved
    /// entry, then the last entry climbs back from there. The last entry
    /// usually belongs near the bottom, so this halves the comparisons of
    /// the textbook sift-down.
    pub fn pop(&mut self) -> Option<BundleId> {
        match (self.initial.last(), self.heap.first()) {
            (Some(&sorted), Some(&top)) if sorted > top => {
                self.initial.pop();
                Some(sorted.bundle())
            }
            (Some(&sorted), None) => {
                self.initial.pop();
                Some(sorted.bundle())
            }
            _ => self.pop_heap(),
        }
    }

    /// Removes and returns the top of the heap part.
    fn pop_heap(&mut self) -> Option<BundleId> {
        let top = *self.heap.first()?;
        let last = self.heap.pop().expect("heap is non-empty");
        let heap = &mut self.heap[..];
        let len = heap.len();
        if len == 0 {
            return Some(top.bundle());
        }
        let mut hole = 0;
        loop {
            let left = 2 * hole + 1;
            if left >= len {
                break;
            }
            let right = left + 1;
            let child = if right < len && heap[right] > heap[left] {
                right
            } else {
                left
            };
            heap[hole] = heap[child];
            hole = child;
        }
        sift_up(heap, hole, last);
        Some(top.bundle())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Region order: an earlier region pops first whatever the
    /// priorities; within a region, priority then id; priorities past 20
    /// bits tie; regions past the last share its key. Below the size
    /// threshold the key is the priority.
    #[test]
    fn region_keys_put_earlier_regions_first() {
        let at = |inst: usize| ProgPoint::before(crate::Inst::new(inst));
        let order = RegionOrder {
            min_insts: 100,
            shift: 4,
        };
        assert_eq!(QueueOrder::for_function(99, order), QueueOrder::PRIORITY);
        assert_eq!(QueueOrder::PRIORITY.key(7, at(500)), 7);
        let by_region = QueueOrder::for_function(100, order);
        assert!(by_region.by_region());
        // Instructions 0..16 are region 0, 16..32 region 1.
        assert!(by_region.key(1, at(15)) > by_region.key(1_000, at(16)));
        assert!(by_region.key(9, at(16)) > by_region.key(8, at(31)));
        assert_eq!(by_region.key(5, at(16)), by_region.key(5, at(31)));
        assert_eq!(
            by_region.key(1 << 20, at(0)),
            by_region.key(u32::MAX, at(0))
        );
        assert_eq!(
            by_region.key(3, at(4095 << 4)),
            by_region.key(3, at(5000 << 4))
        );
        let arena = Arena::new();
        let mut q = AllocationQueue::with_order_in(&arena, by_region);
        let starts = [40usize, 3, 20, 3, 70];
        let prios = [9u32, 1, 4, 2, 100];
        for (i, (&start, &prio)) in starts.iter().zip(&prios).enumerate() {
            let key = q.order().key(prio, at(start));
            q.push(BundleId::new(i), key);
        }
        let order: Vec<usize> = core::iter::from_fn(|| q.pop()).map(|b| b.index()).collect();
        assert_eq!(order, vec![3, 1, 2, 0, 4]);
    }

    #[test]
    fn pops_by_priority_then_highest_id() {
        let arena = Arena::new();
        let mut q = AllocationQueue::new_in(&arena);
        let prios = [5u32, 1, 9, 5, 3, 9, 0, 7];
        for (i, &p) in prios.iter().enumerate() {
            q.push(BundleId::new(i), p);
        }
        let order: Vec<usize> = core::iter::from_fn(|| q.pop()).map(|b| b.index()).collect();
        assert_eq!(order, vec![5, 2, 7, 3, 0, 4, 1, 6]);
        assert!(q.is_empty());
    }

    /// `upcoming` names the presorted bundles in their pop order, and a
    /// push delays them without changing which they are; `heap_entry(0)`
    /// is the heap's top.
    #[test]
    fn upcoming_names_the_presorted_pops_in_order() {
        let arena = Arena::new();
        let mut q = AllocationQueue::new_in(&arena);
        q.extend(
            [(0, 3), (1, 9), (2, 5)]
                .map(|(b, p)| (BundleId::new(b), p))
                .into_iter(),
        );
        let index = |b: Option<BundleId>| b.map(|b| b.index());
        let ahead: Vec<_> = (0..4).map(|k| index(q.upcoming(k))).collect();
        assert_eq!(ahead, vec![Some(1), Some(2), Some(0), None]);
        q.push(BundleId::new(3), 7);
        assert_eq!(index(q.heap_entry(0)), Some(3));
        assert_eq!(index(q.heap_entry(1)), None);
        assert_eq!(index(q.pop()), Some(1));
        assert_eq!(index(q.upcoming(0)), Some(2));
        // The pushed bundle (priority 7) pops before the presorted 5.
        assert_eq!(index(q.pop()), Some(3));
        assert_eq!(index(q.upcoming(0)), Some(2));
        assert_eq!(index(q.pop()), Some(2));
    }

    /// Interleaved pushes and pops against a sorted reference: every pop
    /// is the largest (priority, id) still queued, whether it was queued
    /// by `extend` before the first pop or pushed later.
    #[test]
    fn matches_sorted_reference_under_interleaving() {
        let arena = Arena::new();
        let mut q = AllocationQueue::new_in(&arena);
        let mut reference: Vec<(u32, usize)> = Vec::new();
        let mut state = 0x9e37_79b9u32;
        let initial: Vec<(BundleId, u32)> = (0..1000)
            .map(|i| {
                (
                    BundleId::new(i),
                    (i as u32).wrapping_mul(2_654_435_761) % 97,
                )
            })
            .collect();
        q.extend(initial.iter().copied());
        reference.extend(initial.iter().map(|&(b, p)| (p, b.index())));
        let mut next_id = initial.len();
        for step in 0..5000 {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            if !state.is_multiple_of(3) || reference.is_empty() {
                let prio = state % 64;
                q.push(BundleId::new(next_id), prio);
                reference.push((prio, next_id));
                next_id += 1;
            } else {
                reference.sort_unstable();
                let expected = reference.pop().map(|(_, id)| id);
                assert_eq!(q.pop().map(|b| b.index()), expected, "step {step}");
            }
            assert_eq!(q.len(), reference.len());
        }
    }

    /// A heap many levels deep (pushes only, then pops), at sizes where
    /// the last level is empty, full, or partly filled: every pop is the
    /// largest entry left.
    #[test]
    fn deep_heap_pops_in_order() {
        let arena = Arena::new();
        for count in [1usize, 8, 9, 73, 585, 20_000] {
            let mut q = AllocationQueue::new_in(&arena);
            let mut reference = Vec::new();
            let mut state = 0x1234_5678u32;
            for id in 0..count {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                let prio = state % 1000;
                q.push(BundleId::new(id), prio);
                reference.push((prio, id));
            }
            reference.sort_unstable();
            while let Some((_, id)) = reference.pop() {
                assert_eq!(q.pop().map(|b| b.index()), Some(id), "{count} entries");
            }
            assert!(q.is_empty() && q.pop().is_none());
        }
    }
}
