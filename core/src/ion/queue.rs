//! The allocation queue: a binary max-heap of bundles by priority, in the
//! per-run arena. Ties break toward the higher bundle id (later bundles are
//! pieces split off earlier ones, which regalloc2 also prefers), so the
//! order, and the whole allocation, is deterministic.

use crate::ion::data::BundleId;
use crate::tables::{Arena, ArenaVec};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    prio: u32,
    bundle: BundleId,
}

impl Entry {
    /// Whether `self` should come out of the queue before `other`.
    #[inline]
    fn before(self, other: Entry) -> bool {
        (self.prio, self.bundle) > (other.prio, other.bundle)
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
        let entry = Entry { prio, bundle };
        self.heap.push(entry);
        let mut child = self.heap.len() - 1;
        while child > 0 {
            let parent = (child - 1) / 2;
            if !entry.before(self.heap[parent]) {
                break;
            }
            self.heap[child] = self.heap[parent];
            child = parent;
        }
        self.heap[child] = entry;
    }
    /// Removes and returns the highest-priority bundle.
    pub fn pop(&mut self) -> Option<BundleId> {
        let top = *self.heap.first()?;
        let last = self.heap.pop().expect("heap is non-empty");
        if !self.heap.is_empty() {
            let len = self.heap.len();
            let mut hole = 0;
            loop {
                let left = 2 * hole + 1;
                if left >= len {
                    break;
                }
                let right = left + 1;
                let child = if right < len && self.heap[right].before(self.heap[left]) {
                    right
                } else {
                    left
                };
                if !self.heap[child].before(last) {
                    break;
                }
                self.heap[hole] = self.heap[child];
                hole = child;
            }
            self.heap[hole] = last;
        }
        Some(top.bundle)
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
}
