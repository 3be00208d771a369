//! Ordered maps from disjoint [`CodeRange`]s to values, stored in arena
//! tables: the per-PReg allocation trees and the per-spill-slot trees.
//!
//! One [`RangeTree`] is a node pool shared by many trees; a tree is named by
//! its [`TreeRoot`]. Keys are non-overlapping ranges ordered by start, so
//! entries are ordered by end as well.
//!
//! PLACEHOLDER API (being implemented): O(log n) insert/remove/probe,
//! in-order cursor from a point.

use crate::entity_id;
use crate::ion::data::CodeRange;
use crate::tables::{Arena, Column};

entity_id!(
    /// A node of a [`RangeTree`] pool.
    pub struct TreeNodeId, "node"
);

/// The root of one tree in a [`RangeTree`] pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TreeRoot(pub TreeNodeId);

impl TreeRoot {
    pub const EMPTY: TreeRoot = TreeRoot(TreeNodeId::invalid());
    pub fn is_empty(self) -> bool {
        self.0.is_invalid()
    }
}

/// A pool of balanced search-tree nodes keyed by disjoint ranges.
#[derive(Debug)]
pub struct RangeTree<'a, V: Copy> {
    pub(crate) from_to: Column<'a, TreeNodeId, CodeRange>,
    pub(crate) value: Column<'a, TreeNodeId, V>,
}

impl<'a, V: Copy + core::fmt::Debug> RangeTree<'a, V> {
    pub fn new_in(arena: &'a Arena) -> Self {
        RangeTree {
            from_to: Column::new_in(arena),
            value: Column::new_in(arena),
        }
    }
    /// Inserts `range -> value`. Precondition: `range` overlaps no entry of the tree.
    pub fn insert(&mut self, _root: &mut TreeRoot, _range: CodeRange, _value: V) {
        todo!("trees")
    }
    /// Removes the entry whose range starts at `range.from`; returns its value.
    pub fn remove(&mut self, _root: &mut TreeRoot, _range: CodeRange) -> Option<V> {
        todo!("trees")
    }
    /// The first entry (in order) overlapping `range`.
    pub fn first_overlap(&self, _root: TreeRoot, _range: CodeRange) -> Option<(CodeRange, V)> {
        todo!("trees")
    }
    /// Calls `f` on every entry overlapping `range`, in order, until `f` returns false.
    pub fn for_each_overlap(
        &self,
        _root: TreeRoot,
        _range: CodeRange,
        _f: impl FnMut(CodeRange, V) -> bool,
    ) {
        todo!("trees")
    }
}
