//! Ordered maps from disjoint [`CodeRange`]s to values, stored in arena
//! tables: the per-PReg allocation trees and the per-spill-slot trees.
//!
//! One [`RangeTree`] is a pool of nodes shared by many trees; a tree is
//! named by its [`TreeRoot`] (kept by the owner, e.g. one per register in
//! `PRegs::allocations`). Each tree is an AA tree (Andersson, "Balanced
//! search trees made simple", 1993): a red-black tree whose red nodes may
//! only be right children, encoded as a per-node *level*. That keeps
//! insertion and removal to two local repairs (`skew`, `split`) and bounds
//! the height by `2 * log2(n + 1)`.
//!
//! Layout: one column of [`TreeNode`] rows indexed by [`TreeNodeId`] (key
//! range, value, children, level in one 24-byte row). This is the one
//! table kept as an array of structs: a descent reads the key and a child
//! of every node it passes, so one row per cache line beats five columns.
//! Removed nodes go on a free list threaded through `right` and are reused
//! by the next insertion, so a pool's size is the peak number of live
//! entries, not the number of insertions.
//!
//! Reads: nothing outside itself. Writes: only its own columns. Callers
//! (liveranges, process, spill) own the roots.
//!
//! Costs: `insert`, `remove`, `get`, `first_overlap` are O(log n);
//! `for_each_overlap` and cursor walks are O(log n + k) for k entries
//! visited. Cursors and the recursive repairs use no heap memory;
//! `for_each_overlap` (the allocator's probe) builds no cursor at all: it
//! descends while the key misses the query and recurses only at entries
//! that overlap it.

use crate::entity_id;
use crate::ion::data::CodeRange;
use crate::tables::{Arena, Column};
use crate::ProgPoint;

entity_id!(
    /// A node of a [`RangeTree`] pool. Node ids are private to the pool:
    /// a removal may move another entry to a different node, and freed
    /// nodes are reused, so callers never keep them.
    pub struct TreeNodeId, "node"
);

/// The root of one tree in a [`RangeTree`] pool; [`TreeRoot::EMPTY`] is
/// the empty tree. Mutating operations take `&mut TreeRoot` because
/// rebalancing may change the root node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TreeRoot(pub TreeNodeId);

impl TreeRoot {
    /// The tree with no entries.
    pub const EMPTY: TreeRoot = TreeRoot(TreeNodeId::invalid());

    /// Whether the tree has no entries. O(1).
    pub fn is_empty(self) -> bool {
        self.0.is_invalid()
    }
}

impl Default for TreeRoot {
    fn default() -> Self {
        TreeRoot::EMPTY
    }
}

/// Inline capacity of a walk's stack: a path from the root to a leaf. An
/// AA tree of n nodes has height at most `2 * log2(n + 1)`, and a pool
/// holds fewer than 2^32 nodes, so 64 always suffices.
const PATH_CAPACITY: usize = 64;

/// A pool of balanced search-tree nodes keyed by disjoint ranges.
///
/// **No-overlap invariant**: within one tree, no two keys overlap (as
/// half-open ranges) and every key is non-empty. Keys are compared by
/// `from` only, which is a total order exactly because of this invariant;
/// it also makes the entries sorted by `to`, which the overlap queries and
/// cursors rely on. [`RangeTree::insert`] checks it in debug builds.
///
/// AA invariants, per tree (checked by [`RangeTree::check_tree`]):
/// a leaf has level 1; a left child has level one less than its parent;
/// a right child has level equal to or one less than its parent; a right
/// grandchild has level strictly less than its grandparent; every node of
/// level > 1 has two children.
#[derive(Debug)]
pub struct RangeTree<'a, V: Copy> {
    /// Every node of the pool, live or free.
    nodes: Column<'a, TreeNodeId, TreeNode<V>>,
    /// Head of the free list (threaded through `right`).
    free_head: TreeNodeId,
    /// Number of nodes in use across all trees.
    live: usize,
}

/// One node of a [`RangeTree`] pool.
#[derive(Clone, Copy, Debug)]
struct TreeNode<V: Copy> {
    /// The key; meaningless for free nodes.
    range: CodeRange,
    /// Left child (smaller keys), or invalid.
    left: TreeNodeId,
    /// Right child (larger keys), or invalid; for a free node, the next
    /// free node.
    right: TreeNodeId,
    /// The value; meaningless for free nodes.
    value: V,
    /// AA level (1 for leaves; 0 stands for the empty subtree).
    level: u8,
}

impl<'a, V: Copy> RangeTree<'a, V> {
    /// An empty pool in `arena`.
    pub fn new_in(arena: &'a Arena) -> Self {
        RangeTree {
            nodes: Column::new_in(arena),
            free_head: TreeNodeId::invalid(),
            live: 0,
        }
    }

    /// Forgets every tree of the pool (all roots become dangling: reset
    /// them to [`TreeRoot::EMPTY`]); keeps the memory.
    pub fn clear(&mut self) {
        self.nodes.clear();
        self.free_head = TreeNodeId::invalid();
        self.live = 0;
    }

    /// Number of entries across all trees of the pool.
    pub fn live_nodes(&self) -> usize {
        self.live
    }

    /// Number of node slots the pool has ever allocated (live + free).
    pub fn node_slots(&self) -> usize {
        self.nodes.len()
    }

    /// Inserts `range -> value` into the tree `root`.
    ///
    /// Precondition (the no-overlap invariant): `range` is non-empty and
    /// overlaps no entry of the tree; checked in debug builds.
    pub fn insert(&mut self, root: &mut TreeRoot, range: CodeRange, value: V) {
        debug_assert!(!range.is_empty(), "empty range {range:?} inserted");
        debug_assert!(
            self.first_overlap(*root, range).is_none(),
            "{range:?} overlaps {:?}",
            self.first_overlap(*root, range).map(|(r, _)| r)
        );
        let node = self.alloc_node(range, value);
        root.0 = self.insert_at(root.0, node);
    }

    /// Removes the entry whose range starts at `range.from` (only `from`
    /// is looked at); returns its value, or `None` if there is none.
    pub fn remove(&mut self, root: &mut TreeRoot, range: CodeRange) -> Option<V> {
        let mut removed = None;
        root.0 = self.remove_at(root.0, range.from, &mut removed);
        removed
    }

    /// The entry whose range starts at `from`, if any.
    pub fn get(&self, root: TreeRoot, from: ProgPoint) -> Option<(CodeRange, V)> {
        let mut node = root.0;
        while node.is_valid() {
            let key = self.nodes[node].range.from;
            if from < key {
                node = self.nodes[node].left;
            } else if from > key {
                node = self.nodes[node].right;
            } else {
                return Some(self.entry(node));
            }
        }
        None
    }

    /// Replaces the value of the entry starting at `from`; returns whether
    /// there was one.
    pub fn set_value(&mut self, root: TreeRoot, from: ProgPoint, value: V) -> bool {
        let mut node = root.0;
        while node.is_valid() {
            let key = self.nodes[node].range.from;
            if from < key {
                node = self.nodes[node].left;
            } else if from > key {
                node = self.nodes[node].right;
            } else {
                self.nodes[node].value = value;
                return true;
            }
        }
        false
    }

    /// The first entry (in order) overlapping `range`.
    pub fn first_overlap(&self, root: TreeRoot, range: CodeRange) -> Option<(CodeRange, V)> {
        // The first entry ending after `range.from` is the only candidate:
        // every later entry starts at or after its end, so if it starts at
        // or after `range.to`, they all do.
        let node = self.first_ending_after(root, range.from);
        if node.is_valid() && self.nodes[node].range.from < range.to {
            Some(self.entry(node))
        } else {
            None
        }
    }

    /// Calls `f` on every entry overlapping `range`, in order, until `f`
    /// returns false.
    pub fn for_each_overlap(
        &self,
        root: TreeRoot,
        range: CodeRange,
        mut f: impl FnMut(CodeRange, V) -> bool,
    ) {
        self.overlaps_at(root.0, range, &mut f);
    }

    /// [`Self::for_each_overlap`] on the subtree at `node`; returns false
    /// once `f` has. Keys are sorted by both ends (no-overlap invariant), so
    /// a key ending at or before `range.from` has no overlap on its left,
    /// and one starting at or after `range.to` none on its right: those
    /// steps are a loop, and only an overlapping key splits the walk.
    /// Depth is bounded by the tree height.
    fn overlaps_at(
        &self,
        mut node: TreeNodeId,
        range: CodeRange,
        f: &mut impl FnMut(CodeRange, V) -> bool,
    ) -> bool {
        while node.is_valid() {
            let row = &self.nodes[node];
            if row.range.to <= range.from {
                node = row.right;
            } else if row.range.from >= range.to {
                node = row.left;
            } else {
                if !self.overlaps_at(row.left, range, f) || !f(row.range, row.value) {
                    return false;
                }
                node = row.right;
            }
        }
        true
    }

    /// A cursor at the first entry whose range ends after `point` (so the
    /// first entry containing `point`, or else the first one after it).
    /// [`Cursor::next`] then walks the rest of the tree in order.
    pub fn cursor(&self, root: TreeRoot, point: ProgPoint) -> Cursor {
        let mut cursor = Cursor::empty();
        self.seek(&mut cursor, root, point);
        cursor
    }

    /// Moves `cursor` to the first entry of the tree `root` whose range
    /// ends after `point` (as [`Self::cursor`], reusing its stack).
    pub fn seek(&self, cursor: &mut Cursor, root: TreeRoot, point: ProgPoint) {
        cursor.len = 0;
        let mut node = root.0;
        // The stack holds, innermost last, the ancestors whose own entry
        // is still to be visited: those we left by going down to the left.
        while node.is_valid() {
            let row = &self.nodes[node];
            if row.range.to > point {
                cursor.push(node);
                node = row.left;
            } else {
                node = row.right;
            }
        }
    }

    /// A cursor at the first entry of the tree.
    pub fn cursor_first(&self, root: TreeRoot) -> Cursor {
        let mut cursor = Cursor::empty();
        cursor.push_left_spine(self, root.0);
        cursor
    }

    /// The entries of the tree, in order.
    pub fn iter<'t>(&'t self, root: TreeRoot) -> Iter<'t, 'a, V> {
        Iter {
            tree: self,
            cursor: self.cursor_first(root),
        }
    }

    /// Number of entries of one tree. O(n): for tests and statistics.
    pub fn count(&self, root: TreeRoot) -> usize {
        self.iter(root).count()
    }

    /// Height of the tree (0 when empty). O(n): for tests.
    pub fn height(&self, root: TreeRoot) -> usize {
        self.height_at(root.0)
    }

    /// Checks the AA and no-overlap invariants of one tree; returns a
    /// description of the first violation. O(n): for tests and debug
    /// checks after a phase.
    pub fn check_tree(&self, root: TreeRoot) -> Result<(), String> {
        self.check_at(root.0)?;
        let mut previous: Option<CodeRange> = None;
        for (key, _) in self.iter(root) {
            if key.is_empty() {
                return Err(format!("empty key {key:?}"));
            }
            if let Some(previous) = previous {
                if previous.to > key.from {
                    return Err(format!(
                        "{previous:?} and {key:?} overlap or are out of order"
                    ));
                }
            }
            previous = Some(key);
        }
        Ok(())
    }

    // --- Internals -------------------------------------------------------

    #[inline]
    fn entry(&self, node: TreeNodeId) -> (CodeRange, V) {
        (self.nodes[node].range, self.nodes[node].value)
    }

    #[inline]
    fn level_of(&self, node: TreeNodeId) -> u8 {
        if node.is_valid() {
            self.nodes[node].level
        } else {
            0
        }
    }

    /// The first node (in order) whose range ends after `point`.
    fn first_ending_after(&self, root: TreeRoot, point: ProgPoint) -> TreeNodeId {
        let mut found = TreeNodeId::invalid();
        let mut node = root.0;
        while node.is_valid() {
            if self.nodes[node].range.to > point {
                found = node;
                node = self.nodes[node].left;
            } else {
                node = self.nodes[node].right;
            }
        }
        found
    }

    /// A fresh leaf, from the free list if possible.
    fn alloc_node(&mut self, range: CodeRange, value: V) -> TreeNodeId {
        self.live += 1;
        let node = self.free_head;
        let row = TreeNode {
            range,
            left: TreeNodeId::invalid(),
            right: TreeNodeId::invalid(),
            value,
            level: 1,
        };
        if node.is_valid() {
            self.free_head = self.nodes[node].right;
            self.nodes[node] = row;
            node
        } else {
            self.nodes.push(row)
        }
    }

    fn free_node(&mut self, node: TreeNodeId) {
        self.live -= 1;
        self.nodes[node].left = TreeNodeId::invalid();
        self.nodes[node].right = self.free_head;
        self.nodes[node].level = 0;
        self.free_head = node;
    }

    /// Removes a left horizontal link by rotating right.
    fn skew(&mut self, node: TreeNodeId) -> TreeNodeId {
        if node.is_invalid() {
            return node;
        }
        let left = self.nodes[node].left;
        if left.is_valid() && self.nodes[left].level == self.nodes[node].level {
            self.nodes[node].left = self.nodes[left].right;
            self.nodes[left].right = node;
            left
        } else {
            node
        }
    }

    /// Removes two consecutive right horizontal links by rotating left and
    /// raising the middle node.
    fn split(&mut self, node: TreeNodeId) -> TreeNodeId {
        if node.is_invalid() {
            return node;
        }
        let right = self.nodes[node].right;
        if right.is_invalid() {
            return node;
        }
        let right_right = self.nodes[right].right;
        if right_right.is_valid() && self.nodes[right_right].level == self.nodes[node].level {
            self.nodes[node].right = self.nodes[right].left;
            self.nodes[right].left = node;
            self.nodes[right].level += 1;
            right
        } else {
            node
        }
    }

    /// Inserts the leaf `new` into the subtree at `node`; returns the
    /// subtree's new root. Descends once, remembering the path and each
    /// node's level, then repairs upwards with `skew` and `split`.
    ///
    /// The repair stops early at an ancestor X where neither rotates nor
    /// changes X's level, provided X's right child is as before (we came
    /// up from the left, or the right subtree kept its root and level):
    /// X's parent only looks at X, X's level and X's right child's level,
    /// so from there up the tree is exactly as before the insertion (which
    /// satisfied the AA invariants). The result is the same tree the
    /// textbook recursive insertion builds.
    fn insert_at(&mut self, root: TreeNodeId, new: TreeNodeId) -> TreeNodeId {
        if root.is_invalid() {
            return new;
        }
        let key = self.nodes[new].range.from;
        let mut path = [TreeNodeId::invalid(); PATH_CAPACITY];
        let mut levels = [0u8; PATH_CAPACITY];
        let mut depth = 0;
        let mut node = root;
        while node.is_valid() {
            let row = &self.nodes[node];
            path[depth] = node;
            levels[depth] = row.level;
            depth += 1;
            node = if key < row.range.from {
                row.left
            } else {
                row.right
            };
        }
        let path_len = depth;
        let mut child = new;
        while depth > 0 {
            depth -= 1;
            let node = path[depth];
            let from_right = key >= self.nodes[node].range.from;
            if from_right {
                self.nodes[node].right = child;
            } else {
                self.nodes[node].left = child;
            }
            let child_unchanged = depth + 1 < path_len
                && child == path[depth + 1]
                && self.nodes[child].level == levels[depth + 1];
            let repaired = self.skew(node);
            let repaired = self.split(repaired);
            if repaired == node
                && self.nodes[node].level == levels[depth]
                && (!from_right || child_unchanged)
            {
                return root;
            }
            child = repaired;
        }
        child
    }

    /// Removes the entry starting at `from` from the subtree at `node`,
    /// storing its value in `removed`; returns the subtree's new root.
    fn remove_at(
        &mut self,
        node: TreeNodeId,
        from: ProgPoint,
        removed: &mut Option<V>,
    ) -> TreeNodeId {
        if node.is_invalid() {
            return node;
        }
        let key = self.nodes[node].range.from;
        if from > key {
            let right = self.remove_at(self.nodes[node].right, from, removed);
            self.nodes[node].right = right;
        } else if from < key {
            let left = self.remove_at(self.nodes[node].left, from, removed);
            self.nodes[node].left = left;
        } else {
            if removed.is_none() {
                *removed = Some(self.nodes[node].value);
            }
            let (left, right) = (self.nodes[node].left, self.nodes[node].right);
            if left.is_invalid() && right.is_invalid() {
                self.free_node(node);
                return TreeNodeId::invalid();
            }
            // Replace this entry by its in-order neighbour, then remove the
            // neighbour from the subtree it came from. `removed` is already
            // set, so the inner removal does not overwrite it.
            if left.is_invalid() {
                let successor = self.leftmost(right);
                let (range, value) = self.entry(successor);
                let right = self.remove_at(right, range.from, removed);
                self.nodes[node].right = right;
                self.nodes[node].range = range;
                self.nodes[node].value = value;
            } else {
                let predecessor = self.rightmost(left);
                let (range, value) = self.entry(predecessor);
                let left = self.remove_at(left, range.from, removed);
                self.nodes[node].left = left;
                self.nodes[node].range = range;
                self.nodes[node].value = value;
            }
        }
        self.rebalance_after_remove(node)
    }

    /// Restores the AA invariants at `node` after one of its subtrees lost
    /// a level.
    fn rebalance_after_remove(&mut self, node: TreeNodeId) -> TreeNodeId {
        let (left, right) = (self.nodes[node].left, self.nodes[node].right);
        let should_be = self.level_of(left).min(self.level_of(right)) + 1;
        if should_be < self.nodes[node].level {
            self.nodes[node].level = should_be;
            if right.is_valid() && should_be < self.nodes[right].level {
                self.nodes[right].level = should_be;
            }
        }
        let node = self.skew(node);
        let right = self.skew(self.nodes[node].right);
        self.nodes[node].right = right;
        if right.is_valid() {
            let right_right = self.skew(self.nodes[right].right);
            self.nodes[right].right = right_right;
        }
        let node = self.split(node);
        let right = self.split(self.nodes[node].right);
        self.nodes[node].right = right;
        node
    }

    fn leftmost(&self, mut node: TreeNodeId) -> TreeNodeId {
        while self.nodes[node].left.is_valid() {
            node = self.nodes[node].left;
        }
        node
    }

    fn rightmost(&self, mut node: TreeNodeId) -> TreeNodeId {
        while self.nodes[node].right.is_valid() {
            node = self.nodes[node].right;
        }
        node
    }

    fn height_at(&self, node: TreeNodeId) -> usize {
        if node.is_invalid() {
            0
        } else {
            1 + self
                .height_at(self.nodes[node].left)
                .max(self.height_at(self.nodes[node].right))
        }
    }

    fn check_at(&self, node: TreeNodeId) -> Result<(), String> {
        if node.is_invalid() {
            return Ok(());
        }
        let level = self.nodes[node].level;
        let (left, right) = (self.nodes[node].left, self.nodes[node].right);
        if level == 0 {
            return Err(format!("{node:?} is a free node inside a tree"));
        }
        if left.is_invalid() && right.is_invalid() && level != 1 {
            return Err(format!("leaf {node:?} has level {level}"));
        }
        if level > 1 && (left.is_invalid() || right.is_invalid()) {
            return Err(format!("{node:?} at level {level} lacks a child"));
        }
        if self.level_of(left) + 1 != level {
            return Err(format!("left child of {node:?} at wrong level"));
        }
        let right_level = self.level_of(right);
        if right_level != level && right_level + 1 != level {
            return Err(format!("right child of {node:?} at wrong level"));
        }
        if right.is_valid() && self.level_of(self.nodes[right].right) >= level {
            return Err(format!("right grandchild of {node:?} at wrong level"));
        }
        self.check_at(left)?;
        self.check_at(right)
    }
}

/// An in-order position in one tree of a [`RangeTree`] pool, holding no
/// borrow of it (pass the pool to [`Cursor::next`]). Any insertion or
/// removal in the pool invalidates every cursor of the pool.
#[derive(Clone, Debug)]
pub struct Cursor {
    /// The nodes still to visit whose right subtrees come after them,
    /// innermost (next to visit) last; `stack[..len]` is meaningful. A
    /// root-to-leaf path fits (see [`PATH_CAPACITY`]), so this never grows.
    stack: [TreeNodeId; PATH_CAPACITY],
    len: usize,
}

impl Cursor {
    /// A cursor past the end of every tree; position it with
    /// [`RangeTree::seek`].
    pub fn empty() -> Self {
        Cursor {
            stack: [TreeNodeId::invalid(); PATH_CAPACITY],
            len: 0,
        }
    }

    /// The entry at the cursor, without moving.
    #[inline]
    pub fn peek<V: Copy>(&self, tree: &RangeTree<'_, V>) -> Option<(CodeRange, V)> {
        if self.len == 0 {
            return None;
        }
        Some(tree.entry(self.stack[self.len - 1]))
    }

    /// The entry at the cursor; moves to the next entry in order.
    #[allow(clippy::should_implement_trait)]
    #[inline]
    pub fn next<V: Copy>(&mut self, tree: &RangeTree<'_, V>) -> Option<(CodeRange, V)> {
        if self.len == 0 {
            return None;
        }
        self.len -= 1;
        let node = self.stack[self.len];
        let row = &tree.nodes[node];
        self.push_left_spine(tree, row.right);
        Some((row.range, row.value))
    }

    #[inline]
    fn push(&mut self, node: TreeNodeId) {
        // The AA height bound makes overflow impossible for any pool that
        // fits in u32 ids; indexing would panic rather than corrupt.
        self.stack[self.len] = node;
        self.len += 1;
    }

    #[inline]
    fn push_left_spine<V: Copy>(&mut self, tree: &RangeTree<'_, V>, mut node: TreeNodeId) {
        while node.is_valid() {
            self.push(node);
            node = tree.nodes[node].left;
        }
    }
}

/// In-order iterator over one tree (see [`RangeTree::iter`]).
#[derive(Debug)]
pub struct Iter<'t, 'a, V: Copy> {
    tree: &'t RangeTree<'a, V>,
    cursor: Cursor,
}

impl<V: Copy> Iterator for Iter<'_, '_, V> {
    type Item = (CodeRange, V);
    fn next(&mut self) -> Option<(CodeRange, V)> {
        self.cursor.next(self.tree)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// Deterministic xorshift64* generator.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: u32) -> u32 {
            (self.next() % n as u64) as u32
        }
    }

    fn cr(from: u32, to: u32) -> CodeRange {
        CodeRange::new(ProgPoint::from_index(from), ProgPoint::from_index(to))
    }

    /// The reference model: `from -> (to, value)`.
    type Model = BTreeMap<u32, (u32, u32)>;

    fn model_overlaps(model: &Model, range: CodeRange) -> Vec<(CodeRange, u32)> {
        let (from, to) = (range.from.to_index(), range.to.to_index());
        model
            .iter()
            .filter(|(&f, &(t, _))| f < to && from < t)
            .map(|(&f, &(t, v))| (cr(f, t), v))
            .collect()
    }

    #[test]
    fn random_operations_match_a_btreemap_model() {
        const TREES: usize = 4;
        const SPACE: u32 = 2000;
        let arena = Arena::new();
        let mut pool: RangeTree<u32> = RangeTree::new_in(&arena);
        let mut roots = [TreeRoot::EMPTY; TREES];
        let mut models: Vec<Model> = vec![Model::new(); TREES];
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let (mut inserted, mut removed, mut hits) = (0, 0, 0);

        for step in 0..40_000u32 {
            let t = rng.below(TREES as u32) as usize;
            let from = rng.below(SPACE);
            let to = from + 1 + rng.below(12);
            let range = cr(from, to);
            match rng.below(6) {
                0 | 1 => {
                    if model_overlaps(&models[t], range).is_empty() {
                        pool.insert(&mut roots[t], range, step);
                        models[t].insert(from, (to, step));
                        inserted += 1;
                    }
                }
                2 => {
                    // Remove an existing key half the time, else a random one.
                    let key = if rng.below(2) == 0 {
                        models[t].range(from..).next().map(|(&f, _)| f)
                    } else {
                        None
                    }
                    .unwrap_or(from);
                    let expected = models[t].remove(&key).map(|(_, v)| v);
                    let probe = cr(key, key + 1);
                    assert_eq!(pool.remove(&mut roots[t], probe), expected);
                    removed += expected.is_some() as usize;
                }
                3 => {
                    let expected = model_overlaps(&models[t], range).first().copied();
                    assert_eq!(pool.first_overlap(roots[t], range), expected);
                    hits += expected.is_some() as usize;
                }
                4 => {
                    // Stop after a random number of entries.
                    let limit = 1 + rng.below(4) as usize;
                    let wide = cr(from, from + 1 + rng.below(100));
                    let mut seen = Vec::new();
                    pool.for_each_overlap(roots[t], wide, |key, value| {
                        seen.push((key, value));
                        seen.len() < limit
                    });
                    let mut expected = model_overlaps(&models[t], wide);
                    expected.truncate(limit);
                    assert_eq!(seen, expected);
                }
                _ => {
                    let point = ProgPoint::from_index(from);
                    let mut cursor = pool.cursor(roots[t], point);
                    let expected: Vec<(CodeRange, u32)> = models[t]
                        .iter()
                        .filter(|(_, &(to, _))| to > from)
                        .take(5)
                        .map(|(&f, &(t, v))| (cr(f, t), v))
                        .collect();
                    let mut seen = Vec::new();
                    assert_eq!(cursor.peek(&pool), expected.first().copied());
                    while seen.len() < 5 {
                        match cursor.next(&pool) {
                            Some(entry) => seen.push(entry),
                            None => break,
                        }
                    }
                    assert_eq!(seen, expected);
                }
            }
            if step % 1000 == 0 {
                for &root in &roots {
                    pool.check_tree(root).unwrap();
                }
            }
        }

        for t in 0..TREES {
            pool.check_tree(roots[t]).unwrap();
            let all: Vec<(CodeRange, u32)> = pool.iter(roots[t]).collect();
            let expected: Vec<(CodeRange, u32)> = models[t]
                .iter()
                .map(|(&f, &(to, v))| (cr(f, to), v))
                .collect();
            assert_eq!(all, expected);
            for (&f, &(to, v)) in &models[t] {
                assert_eq!(
                    pool.get(roots[t], ProgPoint::from_index(f)),
                    Some((cr(f, to), v))
                );
            }
        }
        let total: usize = models.iter().map(|m| m.len()).sum();
        assert_eq!(pool.live_nodes(), total);
        // Freed nodes were reused: the pool never grew past the peak.
        assert!(pool.node_slots() < inserted);
        assert!(removed > 1000 && hits > 1000, "{removed} {hits}");
    }

    #[test]
    fn trees_sharing_a_pool_stay_separate() {
        let arena = Arena::new();
        let mut pool: RangeTree<char> = RangeTree::new_in(&arena);
        let (mut a, mut b) = (TreeRoot::EMPTY, TreeRoot::EMPTY);
        // The same ranges in both trees: allowed, trees are independent.
        for i in 0..10 {
            pool.insert(&mut a, cr(i * 4, i * 4 + 2), 'a');
            pool.insert(&mut b, cr(i * 4, i * 4 + 3), 'b');
        }
        assert_eq!(pool.count(a), 10);
        assert_eq!(pool.count(b), 10);
        assert_eq!(pool.first_overlap(a, cr(2, 4)), None);
        assert_eq!(pool.first_overlap(b, cr(2, 4)), Some((cr(0, 3), 'b')));
        assert_eq!(pool.remove(&mut a, cr(8, 9)), Some('a'));
        assert_eq!(pool.remove(&mut a, cr(8, 9)), None);
        assert_eq!(pool.count(a), 9);
        assert_eq!(
            pool.get(b, ProgPoint::from_index(8)),
            Some((cr(8, 11), 'b'))
        );
        assert!(pool.set_value(b, ProgPoint::from_index(8), 'c'));
        assert!(!pool.set_value(b, ProgPoint::from_index(9), 'c'));
        assert_eq!(
            pool.get(b, ProgPoint::from_index(8)),
            Some((cr(8, 11), 'c'))
        );
        for i in 0..10 {
            pool.remove(&mut b, cr(i * 4, i * 4 + 1));
        }
        assert!(b.is_empty());
        pool.check_tree(a).unwrap();
    }

    #[test]
    fn removed_nodes_are_reused() {
        let arena = Arena::new();
        let mut pool: RangeTree<u32> = RangeTree::new_in(&arena);
        let mut root = TreeRoot::EMPTY;
        for i in 0..100 {
            pool.insert(&mut root, cr(i * 2, i * 2 + 1), i);
        }
        assert_eq!(pool.node_slots(), 100);
        for i in (0..100).rev().step_by(3) {
            assert_eq!(pool.remove(&mut root, cr(i * 2, i * 2 + 1)), Some(i));
        }
        let live = pool.live_nodes();
        assert_eq!(live, 66);
        for i in 100..134 {
            pool.insert(&mut root, cr(i * 2, i * 2 + 1), i);
        }
        assert_eq!(pool.node_slots(), 100);
        assert_eq!(pool.live_nodes(), 100);
        pool.check_tree(root).unwrap();
        pool.clear();
        assert_eq!((pool.node_slots(), pool.live_nodes()), (0, 0));
    }

    #[test]
    fn height_stays_logarithmic_on_sequential_inserts() {
        const N: u32 = 100_000;
        let arena = Arena::new();
        let mut pool: RangeTree<u32> = RangeTree::new_in(&arena);
        let (mut up, mut down) = (TreeRoot::EMPTY, TreeRoot::EMPTY);
        for i in 0..N {
            pool.insert(&mut up, cr(i * 2, i * 2 + 1), i);
            pool.insert(&mut down, cr((N - i) * 2, (N - i) * 2 + 1), i);
        }
        // AA trees: height <= 2 * log2(n + 1).
        let bound = 2 * (usize::BITS - (N as usize + 1).leading_zeros()) as usize;
        assert!(pool.height(up) <= bound, "{} > {bound}", pool.height(up));
        assert!(
            pool.height(down) <= bound,
            "{} > {bound}",
            pool.height(down)
        );
        pool.check_tree(up).unwrap();
        pool.check_tree(down).unwrap();
        // Remove every other entry; still balanced.
        for i in (0..N).step_by(2) {
            assert_eq!(pool.remove(&mut up, cr(i * 2, 0)), Some(i));
        }
        assert!(pool.height(up) <= bound);
        pool.check_tree(up).unwrap();
        assert_eq!(pool.count(up), N as usize / 2);
    }

    #[test]
    fn cursor_starts_at_the_entry_containing_the_point() {
        let arena = Arena::new();
        let mut pool: RangeTree<u32> = RangeTree::new_in(&arena);
        let mut root = TreeRoot::EMPTY;
        for (i, (f, t)) in [(10, 20), (20, 25), (30, 40)].into_iter().enumerate() {
            pool.insert(&mut root, cr(f, t), i as u32);
        }
        let walk = |point: u32| -> Vec<u32> {
            let mut cursor = pool.cursor(root, ProgPoint::from_index(point));
            std::iter::from_fn(|| cursor.next(&pool).map(|(_, v)| v)).collect()
        };
        assert_eq!(walk(0), vec![0, 1, 2]);
        assert_eq!(walk(19), vec![0, 1, 2]);
        assert_eq!(walk(20), vec![1, 2]);
        assert_eq!(walk(27), vec![2]);
        assert_eq!(walk(40), Vec::<u32>::new());
        assert_eq!(pool.first_overlap(root, cr(25, 30)), None);
        assert_eq!(pool.first_overlap(root, cr(24, 31)), Some((cr(20, 25), 1)));
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "overlaps")]
    fn overlapping_insert_is_caught_in_debug_builds() {
        let arena = Arena::new();
        let mut pool: RangeTree<u32> = RangeTree::new_in(&arena);
        let mut root = TreeRoot::EMPTY;
        pool.insert(&mut root, cr(10, 20), 0);
        pool.insert(&mut root, cr(15, 30), 1);
    }
}
