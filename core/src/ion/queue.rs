//! The allocation queue: bundles by priority, in the per-run arena. Ties
//! break toward the higher bundle id (later bundles are pieces split off
//! earlier ones, which regalloc2 also prefers), so the order, and the whole
//! allocation, is deterministic.
//!
//! Two parts: the bundles queued before allocation starts, sorted once
//! (most of the queue, popped from the end, one sequential step each),
//! and a binary max-heap for the bundles pushed while allocating (split
//! pieces, evicted bundles). A pop takes the larger of the two heads, so the order
//! is exactly that of one heap holding everything; but the heap stays
//! smaller, and for a large function the sorted part costs a sequential
//! read per pop where a heap of every bundle costs a walk down ~20 levels
//! of memory that no longer fits in the cache.

use crate::ion::data::BundleId;
use crate::tables::{Arena, ArenaVec, SCRATCH_LIST_START};

/// A queued bundle as one integer: priority in the high half, bundle id
/// in the low half, so "pops first" is plain `>` on the key (higher
/// priority, then higher id).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Entry(u64);

impl Entry {
    #[inline(always)]
    fn new(prio: u32, bundle: BundleId) -> Entry {
        Entry(u64::from(prio) << 32 | bundle.index() as u64)
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
}

impl<'a> AllocationQueue<'a> {
    pub fn new_in(arena: &'a Arena) -> Self {
        AllocationQueue {
            initial: ArenaVec::new_in(arena),
            heap: ArenaVec::with_capacity_in(SCRATCH_LIST_START, arena),
        }
    }
    pub fn len(&self) -> usize {
        self.initial.len() + self.heap.len()
    }
    pub fn is_empty(&self) -> bool {
        self.initial.is_empty() && self.heap.is_empty()
    }
    /// Queues many bundles at once (the bundles built before allocation):
    /// one sort instead of one heap insertion each.
    pub fn extend(&mut self, bundles: impl Iterator<Item = (BundleId, u32)>) {
        // A filtered iterator gives no useful size hint; one reservation
        // for its upper bound beats bumpalo's growth from one entry.
        let (_, upper) = bundles.size_hint();
        self.initial.reserve(upper.unwrap_or(0));
        self.initial
            .extend(bundles.map(|(bundle, prio)| Entry::new(prio, bundle)));
        self.initial.sort_unstable();
    }
    pub fn push(&mut self, bundle: BundleId, prio: u32) {
        let entry = Entry::new(prio, bundle);
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
