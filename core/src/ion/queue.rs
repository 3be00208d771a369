//! The allocation queue: a binary max-heap of bundles by priority, in the
//! per-run arena. Ties break toward the higher bundle id (later bundles are
//! pieces split off earlier ones, which regalloc2 also prefers), so the
//! order, and the whole allocation, is deterministic.

use crate::ion::data::BundleId;
use crate::tables::{Arena, ArenaVec};

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

/// Bundles waiting for allocation, highest priority first.
#[derive(Debug)]
pub struct AllocationQueue<'a> {
    heap: ArenaVec<'a, Entry>,
}

impl<'a> AllocationQueue<'a> {
    pub fn new_in(arena: &'a Arena) -> Self {
        AllocationQueue {
            heap: ArenaVec::new_in(arena),
        }
    }
    pub fn len(&self) -> usize {
        self.heap.len()
    }
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
    pub fn push(&mut self, bundle: BundleId, prio: u32) {
        let entry = Entry::new(prio, bundle);
        self.heap.push(entry);
        let heap = &mut self.heap[..];
        let mut child = heap.len() - 1;
        while child > 0 {
            let parent = (child - 1) / 2;
            if entry <= heap[parent] {
                break;
            }
            heap[child] = heap[parent];
            child = parent;
        }
        heap[child] = entry;
    }
    /// Removes and returns the highest-priority bundle.
    ///
    /// Bottom-up deletion (Wegener, "Bottom-up heapsort", 1993): the hole
    /// left by the top walks down along the larger children to a leaf
    /// without comparing against the moved entry, then the last entry
    /// climbs back from there. The last entry usually belongs near the
    /// bottom, so this halves the comparisons of the textbook sift-down.
    pub fn pop(&mut self) -> Option<BundleId> {
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
        while hole > 0 {
            let parent = (hole - 1) / 2;
            if last <= heap[parent] {
                break;
            }
            heap[hole] = heap[parent];
            hole = parent;
        }
        heap[hole] = last;
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

    /// Interleaved pushes and pops against a sorted reference: every pop
    /// is the largest (priority, id) still queued.
    #[test]
    fn matches_sorted_reference_under_interleaving() {
        let arena = Arena::new();
        let mut q = AllocationQueue::new_in(&arena);
        let mut reference: Vec<(u32, usize)> = Vec::new();
        let mut state = 0x9e37_79b9u32;
        let mut next_id = 0usize;
        for step in 0..5000 {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            if state % 3 != 0 || reference.is_empty() {
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
}
