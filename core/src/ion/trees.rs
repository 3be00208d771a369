//! Ordered maps from disjoint [`CodeRange`]s to values, stored in arena
//! tables: the per-PReg allocation trees and the per-spill-slot trees.
//!
//! One [`RangeTree`] is a pool of nodes shared by many trees; a tree is
//! named by its [`TreeRoot`] (kept by the owner, e.g. one per register in
//! `PRegs::allocations`). Each tree is a B+-tree (Bayer & McCreight 1972;
//! Comer, "The ubiquitous B-tree", 1979): entries live in leaves of up to
//! [`LEAF_CAP`] sorted keys, inner nodes hold up to [`INNER_CAP`] children
//! and the separators between them, every leaf is at the same depth, and
//! each leaf links to the next one of its tree. A descent touches about
//! log6(n) nodes of one or two cache lines each, where a binary tree
//! touches up to 2·log2(n) rows scattered over memory.
//!
//! Layout: two columns of fixed-size rows, [`Leaf`] and [`Inner`], both
//! indexed by [`TreeNodeId`] (which column a child id names follows from
//! its depth). Rows are cache-line aligned: an inner node is exactly one
//! 64-byte line, a leaf of `u32` values two. Freed rows go on per-column
//! free lists and are reused first, so a pool's size follows the peak
//! number of live entries, not the number of insertions.
//!
//! Reads: nothing outside itself. Writes: only its own columns. Callers
//! (liveranges, process, spill, moves) own the roots.
//!
//! Costs: `insert`, `remove`, `get`, `set_value`, `first_overlap` and
//! `seek` are O(log n); cursor steps are O(1) (the leaf links), so
//! `for_each_overlap` and walks are O(log n + k) for k entries visited.
//! Nothing allocates except a split taking a fresh row.

use crate::tables::entity_id;
use crate::tables::{Arena, Column};
use crate::ProgPoint;

/// A half-open range of program points `[from, to)`: the key of a
/// [`RangeTree`] and the extent of every live range. Defined here, with the
/// trees whose no-overlap invariant it serves; `data` re-exports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CodeRange {
    pub from: ProgPoint,
    pub to: ProgPoint,
}

impl CodeRange {
    #[inline(always)]
    pub fn new(from: ProgPoint, to: ProgPoint) -> CodeRange {
        CodeRange { from, to }
    }
    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.from >= self.to
    }
    #[inline(always)]
    pub fn contains_point(&self, point: ProgPoint) -> bool {
        self.from <= point && point < self.to
    }
    #[inline(always)]
    pub fn overlaps(&self, other: &CodeRange) -> bool {
        self.from < other.to && other.from < self.to
    }
    /// Number of program points covered (2 per instruction).
    #[inline(always)]
    pub fn len(&self) -> usize {
        self.to.to_index().saturating_sub(self.from.to_index()) as usize
    }
    /// The smallest range covering both.
    #[inline(always)]
    pub fn join(&self, other: CodeRange) -> CodeRange {
        CodeRange {
            from: self.from.min(other.from),
            to: self.to.max(other.to),
        }
    }
}

entity_id!(
    /// A row of a [`RangeTree`] pool: a leaf or an inner node, depending on
    /// its depth in its tree. Node ids are private to the pool: entries
    /// move between nodes on splits, merges and borrows, and freed rows are
    /// reused, so callers never keep them.
    pub struct TreeNodeId, "node"
);

/// Most entries in one leaf. With `u32` values a leaf is 128 bytes.
const LEAF_CAP: usize = 10;
/// Fewest entries in a leaf other than the root leaf.
const LEAF_MIN: usize = LEAF_CAP / 2;
/// Most children of one inner node: 64 bytes with the separators.
const INNER_CAP: usize = 8;
/// Fewest children of an inner node other than the root (the root has 2).
const INNER_MIN: usize = INNER_CAP / 2;
/// Trees a probe's [`RangeTree::seek_many`] descends together when the
/// attempt may stop at any register.
pub const SEEK_BATCH: usize = 4;
/// Most trees one [`RangeTree::seek_many`] call may descend together (an
/// attempt known to probe every register seeks them all at once).
pub const SEEK_BATCH_MAX: usize = 16;
/// Bound on a tree's height: with at least 2 children at the root, 4 at
/// other inner nodes and 5 entries per leaf, height 17 would need more
/// than 2^32 entries.
const MAX_HEIGHT: usize = 20;

/// The root of one tree in a [`RangeTree`] pool; [`TreeRoot::EMPTY`] is
/// the empty tree. Mutating operations take `&mut TreeRoot` because
/// splits and merges change the root node and the height.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TreeRoot {
    /// The root row: a leaf when `height == 1`, else an inner node.
    node: TreeNodeId,
    /// Number of levels, leaves included; 0 for the empty tree.
    height: u8,
}

impl TreeRoot {
    /// The tree with no entries.
    pub const EMPTY: TreeRoot = TreeRoot {
        node: TreeNodeId::invalid(),
        height: 0,
    };

    /// Whether the tree has no entries. O(1).
    pub fn is_empty(self) -> bool {
        self.height == 0
    }
}

impl Default for TreeRoot {
    fn default() -> Self {
        TreeRoot::EMPTY
    }
}

/// A pool of B+-tree nodes keyed by disjoint ranges.
///
/// **No-overlap invariant**: within one tree, no two keys overlap (as
/// half-open ranges) and every key is non-empty. Keys are compared by
/// `from` only, which is a total order exactly because of this invariant;
/// it also makes the entries sorted by `to`, which the overlap queries and
/// cursors rely on. [`RangeTree::insert`] checks it in debug builds.
///
/// B+-tree invariants, per tree (checked by [`RangeTree::check_tree`]):
/// all leaves at depth `height - 1`; a non-root leaf holds
/// `LEAF_MIN..=LEAF_CAP` entries, a root leaf `1..=LEAF_CAP`; a non-root
/// inner node has `INNER_MIN..=INNER_CAP` children, the root `2..`;
/// leaves are linked in key order, the last to none. **Separator
/// invariant**: separator `s` between children `a` and `b` satisfies
/// `max to in a <= s <= min from in b` (not necessarily equal to either:
/// removals leave it stale, insertions raise it). So, for a point `p`,
/// the child after the last separator `<= p` holds every entry that could
/// contain `p` and the entry starting at `p`, and every later child starts
/// after `p`: one descent answers `get`, `remove` and "first entry ending
/// after `p`".
#[derive(Debug)]
pub struct RangeTree<'a, V: Copy> {
    /// Every leaf row of the pool, live or free.
    leaves: Column<'a, TreeNodeId, Leaf<V>>,
    /// Every inner row of the pool, live or free.
    inners: Column<'a, TreeNodeId, Inner>,
    /// Head of the free leaves (threaded through `next`).
    free_leaf: TreeNodeId,
    /// Head of the free inner nodes (threaded through `children[0]`).
    free_inner: TreeNodeId,
    /// Entries across all trees.
    entries: usize,
    /// Rows (leaves and inner nodes) in use across all trees.
    live: usize,
}

/// A leaf: up to [`LEAF_CAP`] entries sorted by key.
#[derive(Clone, Copy, Debug)]
#[repr(C, align(64))]
struct Leaf<V: Copy> {
    /// Entries in use: `keys[..len]`, `values[..len]`.
    len: u32,
    /// The next leaf of the same tree in key order, or invalid; for a
    /// free leaf, the next free leaf.
    next: TreeNodeId,
    keys: [CodeRange; LEAF_CAP],
    values: [V; LEAF_CAP],
}

/// An inner node: `len` children and the `len - 1` separators between
/// them (`seps[i]` lies between `children[i]` and `children[i + 1]`).
#[derive(Clone, Copy, Debug)]
#[repr(C, align(64))]
struct Inner {
    len: u32,
    seps: [ProgPoint; INNER_CAP - 1],
    /// Leaves if this node is at height 2, else inner nodes. For a free
    /// node, `children[0]` is the next free node.
    children: [TreeNodeId; INNER_CAP],
}

/// Moves `items[at..len]` up one place (`len < N`). A plain loop: for these
/// few elements it beats the `memmove` call `copy_within` becomes.
#[inline(always)]
fn shift_up<T: Copy, const N: usize>(items: &mut [T; N], at: usize, len: usize) {
    let mut i = len;
    while i > at {
        items[i] = items[i - 1];
        i -= 1;
    }
}

/// Moves `items[at + 1..len]` down one place, over `items[at]`.
#[inline(always)]
fn shift_down<T: Copy, const N: usize>(items: &mut [T; N], at: usize, len: usize) {
    for i in at..len - 1 {
        items[i] = items[i + 1];
    }
}

impl Inner {
    /// The child whose subtree may hold an entry starting at or containing
    /// `point` (see the separator invariant).
    #[inline(always)]
    fn child_for(&self, point: ProgPoint) -> usize {
        let seps = &self.seps[..self.len as usize - 1];
        let mut i = 0;
        while i < seps.len() && seps[i] <= point {
            i += 1;
        }
        i
    }

    /// Child `i` and its left and right siblings (invalid where there is
    /// none): what an underfull child's repair looks at.
    fn child_and_siblings(&self, i: usize) -> (TreeNodeId, TreeNodeId, TreeNodeId) {
        let sibling = |j: Option<usize>| {
            j.filter(|&j| j < self.len as usize)
                .map_or(TreeNodeId::invalid(), |j| self.children[j])
        };
        (
            self.children[i],
            sibling(i.checked_sub(1)),
            sibling(Some(i + 1)),
        )
    }

    /// Inserts `child` at `at` with separator `sep` before it (`at >= 1`).
    fn insert_child(&mut self, at: usize, sep: ProgPoint, child: TreeNodeId) {
        let len = self.len as usize;
        debug_assert!(at >= 1 && at <= len && len < INNER_CAP);
        shift_up(&mut self.children, at, len);
        self.children[at] = child;
        shift_up(&mut self.seps, at - 1, len - 1);
        self.seps[at - 1] = sep;
        self.len += 1;
    }

    /// Removes child `at` and the separator before it (`at >= 1`).
    fn remove_child(&mut self, at: usize) {
        let len = self.len as usize;
        debug_assert!(at >= 1 && at < len);
        shift_down(&mut self.children, at, len);
        shift_down(&mut self.seps, at - 1, len - 1);
        self.len -= 1;
    }
}

impl<V: Copy> Leaf<V> {
    /// Index of the first entry ending after `point`, or `len`.
    #[inline(always)]
    fn first_ending_after(&self, point: ProgPoint) -> usize {
        let keys = &self.keys[..self.len as usize];
        let mut i = 0;
        while i < keys.len() && keys[i].to <= point {
            i += 1;
        }
        i
    }

    /// Index of the entry starting at `from`, if any.
    #[inline(always)]
    fn find(&self, from: ProgPoint) -> Option<usize> {
        self.keys[..self.len as usize]
            .iter()
            .position(|key| key.from == from)
    }
}

impl<'a, V: Copy> RangeTree<'a, V> {
    /// An empty pool in `arena`.
    pub fn new_in(arena: &'a Arena) -> Self {
        RangeTree {
            leaves: Column::new_in(arena),
            inners: Column::new_in(arena),
            free_leaf: TreeNodeId::invalid(),
            free_inner: TreeNodeId::invalid(),
            entries: 0,
            live: 0,
        }
    }

    /// Forgets every tree of the pool (all roots become dangling: reset
    /// them to [`TreeRoot::EMPTY`]); keeps the memory.
    pub fn clear(&mut self) {
        self.leaves.clear();
        self.inners.clear();
        self.free_leaf = TreeNodeId::invalid();
        self.free_inner = TreeNodeId::invalid();
        self.entries = 0;
        self.live = 0;
    }

    /// Makes room for `entries` more entries without moving the node
    /// columns (a column that outgrows its room is copied, and in a large
    /// function the copy's pages are each first touched at a page fault).
    /// Room is reserved for leaves about two-thirds full.
    pub fn reserve_for(&mut self, entries: usize) {
        let leaves = entries.div_ceil(LEAF_CAP * 2 / 3);
        self.leaves.reserve(leaves);
        self.inners.reserve(leaves.div_ceil(INNER_MIN));
    }

    /// Number of entries across all trees of the pool.
    pub fn live_entries(&self) -> usize {
        self.entries
    }

    /// Number of rows (leaves and inner nodes) in use across all trees.
    pub fn live_nodes(&self) -> usize {
        self.live
    }

    /// Number of rows the pool has ever allocated (live + free).
    pub fn node_slots(&self) -> usize {
        self.leaves.len() + self.inners.len()
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
        self.entries += 1;
        if root.is_empty() {
            let leaf = self.alloc_leaf(range, value);
            *root = TreeRoot {
                node: leaf,
                height: 1,
            };
            return;
        }
        // Descend, remembering the path; raise each separator right of the
        // path to `range.to` so it still bounds the left side from above.
        let mut path = [(TreeNodeId::invalid(), 0u8); MAX_HEIGHT];
        let mut node = root.node;
        for slot in path.iter_mut().take(root.height as usize - 1) {
            let inner = &mut self.inners[node];
            let i = inner.child_for(range.from);
            if i + 1 < inner.len as usize && inner.seps[i] < range.to {
                inner.seps[i] = range.to;
            }
            *slot = (node, i as u8);
            node = inner.children[i];
        }
        let leaf = &mut self.leaves[node];
        let len = leaf.len as usize;
        let at = leaf.first_ending_after(range.from);
        if len < LEAF_CAP {
            shift_up(&mut leaf.keys, at, len);
            shift_up(&mut leaf.values, at, len);
            leaf.keys[at] = range;
            leaf.values[at] = value;
            leaf.len += 1;
            return;
        }
        // Split the full leaf: the lower half stays, the upper half moves
        // to a new leaf linked after it.
        let mut keys = [range; LEAF_CAP + 1];
        let mut values = [value; LEAF_CAP + 1];
        keys[..at].copy_from_slice(&leaf.keys[..at]);
        keys[at + 1..].copy_from_slice(&leaf.keys[at..]);
        values[..at].copy_from_slice(&leaf.values[..at]);
        values[at + 1..].copy_from_slice(&leaf.values[at..]);
        const LEFT: usize = LEAF_CAP.div_ceil(2);
        leaf.keys[..LEFT].copy_from_slice(&keys[..LEFT]);
        leaf.values[..LEFT].copy_from_slice(&values[..LEFT]);
        leaf.len = LEFT as u32;
        let old_next = leaf.next;
        let right = self.alloc_leaf(keys[LEFT], values[LEFT]);
        let right_row = &mut self.leaves[right];
        right_row.keys[..LEAF_CAP + 1 - LEFT].copy_from_slice(&keys[LEFT..]);
        right_row.values[..LEAF_CAP + 1 - LEFT].copy_from_slice(&values[LEFT..]);
        right_row.len = (LEAF_CAP + 1 - LEFT) as u32;
        right_row.next = old_next;
        self.leaves[node].next = right;
        // The separator: the new leaf's first start (>= the old leaf's
        // last end by the no-overlap invariant).
        let mut sep = keys[LEFT].from;
        let mut new_child = right;
        for level in (0..root.height as usize - 1).rev() {
            let (parent, i) = path[level];
            let inner = &mut self.inners[parent];
            let len = inner.len as usize;
            let at = i as usize + 1;
            if len < INNER_CAP {
                inner.insert_child(at, sep, new_child);
                return;
            }
            // Split the full inner node around its middle separator, which
            // moves up.
            let mut seps = [sep; INNER_CAP];
            let mut children = [new_child; INNER_CAP + 1];
            seps[..at - 1].copy_from_slice(&inner.seps[..at - 1]);
            seps[at..].copy_from_slice(&inner.seps[at - 1..]);
            children[..at].copy_from_slice(&inner.children[..at]);
            children[at + 1..].copy_from_slice(&inner.children[at..]);
            const KEEP: usize = INNER_CAP.div_ceil(2);
            inner.children[..KEEP].copy_from_slice(&children[..KEEP]);
            inner.seps[..KEEP - 1].copy_from_slice(&seps[..KEEP - 1]);
            inner.len = KEEP as u32;
            let right = self.alloc_inner();
            let right_row = &mut self.inners[right];
            right_row.children[..INNER_CAP + 1 - KEEP].copy_from_slice(&children[KEEP..]);
            right_row.seps[..INNER_CAP - KEEP].copy_from_slice(&seps[KEEP..]);
            right_row.len = (INNER_CAP + 1 - KEEP) as u32;
            sep = seps[KEEP - 1];
            new_child = right;
        }
        // The root split: grow a new root above it.
        let new_root = self.alloc_inner();
        let row = &mut self.inners[new_root];
        row.len = 2;
        row.children[0] = root.node;
        row.children[1] = new_child;
        row.seps[0] = sep;
        root.node = new_root;
        root.height += 1;
        debug_assert!((root.height as usize) < MAX_HEIGHT);
    }

    /// Removes the entry whose range starts at `range.from` (only `from`
    /// is looked at); returns its value, or `None` if there is none.
    pub fn remove(&mut self, root: &mut TreeRoot, range: CodeRange) -> Option<V> {
        if root.is_empty() {
            return None;
        }
        let from = range.from;
        let mut path = [(TreeNodeId::invalid(), 0u8); MAX_HEIGHT];
        let mut node = root.node;
        let inner_levels = root.height as usize - 1;
        for slot in path.iter_mut().take(inner_levels) {
            let inner = &self.inners[node];
            let i = inner.child_for(from);
            *slot = (node, i as u8);
            node = inner.children[i];
        }
        let leaf = &mut self.leaves[node];
        let at = leaf.find(from)?;
        let len = leaf.len as usize;
        let value = leaf.values[at];
        shift_down(&mut leaf.keys, at, len);
        shift_down(&mut leaf.values, at, len);
        leaf.len -= 1;
        self.entries -= 1;
        if inner_levels == 0 {
            if self.leaves[node].len == 0 {
                self.free_leaf(node);
                *root = TreeRoot::EMPTY;
            }
            return Some(value);
        }
        if self.leaves[node].len as usize >= LEAF_MIN {
            return Some(value);
        }
        // The leaf underflowed: borrow from a sibling or merge with one,
        // then walk up while inner nodes underflow.
        let (parent, i) = path[inner_levels - 1];
        if !self.fix_leaf(parent, i as usize) {
            return Some(value);
        }
        for level in (0..inner_levels - 1).rev() {
            let child = path[level + 1].0;
            if self.inners[child].len as usize >= INNER_MIN {
                return Some(value);
            }
            let (parent, i) = path[level];
            if !self.fix_inner(parent, i as usize) {
                return Some(value);
            }
        }
        // The root lost a child; with one left, that child is the new root.
        let top = &self.inners[root.node];
        if top.len == 1 {
            let only = top.children[0];
            self.free_inner(root.node);
            root.node = only;
            root.height -= 1;
        }
        Some(value)
    }

    /// Repairs the underfull leaf `children[i]` of inner node `parent` by
    /// borrowing an entry from a sibling that can spare one, else by
    /// merging it with a sibling. Returns whether `parent` lost a child.
    fn fix_leaf(&mut self, parent: TreeNodeId, i: usize) -> bool {
        let (node, left, right) = self.inners[parent].child_and_siblings(i);
        if left.is_valid() && self.leaves[left].len as usize > LEAF_MIN {
            let l = &mut self.leaves[left];
            l.len -= 1;
            let (key, value) = (l.keys[l.len as usize], l.values[l.len as usize]);
            let n = &mut self.leaves[node];
            let n_len = n.len as usize;
            n.keys.copy_within(0..n_len, 1);
            n.values.copy_within(0..n_len, 1);
            n.keys[0] = key;
            n.values[0] = value;
            n.len += 1;
            self.inners[parent].seps[i - 1] = key.from;
            return false;
        }
        if right.is_valid() && self.leaves[right].len as usize > LEAF_MIN {
            let r = &mut self.leaves[right];
            let r_len = r.len as usize;
            let (key, value) = (r.keys[0], r.values[0]);
            r.keys.copy_within(1..r_len, 0);
            r.values.copy_within(1..r_len, 0);
            r.len -= 1;
            let new_first = r.keys[0].from;
            let n = &mut self.leaves[node];
            n.keys[n.len as usize] = key;
            n.values[n.len as usize] = value;
            n.len += 1;
            self.inners[parent].seps[i] = new_first;
            return false;
        }
        // Merge the right one of the pair into the left one.
        let (keep, gone, at) = if left.is_valid() {
            (left, node, i)
        } else {
            (node, right, i + 1)
        };
        let g = self.leaves[gone];
        let k = &mut self.leaves[keep];
        let (k_len, g_len) = (k.len as usize, g.len as usize);
        k.keys[k_len..k_len + g_len].copy_from_slice(&g.keys[..g_len]);
        k.values[k_len..k_len + g_len].copy_from_slice(&g.values[..g_len]);
        k.len += g.len;
        k.next = g.next;
        self.free_leaf(gone);
        self.inners[parent].remove_child(at);
        true
    }

    /// [`Self::fix_leaf`] for an underfull inner child: rotates a child
    /// through the parent's separator, or merges the pair around it.
    fn fix_inner(&mut self, parent: TreeNodeId, i: usize) -> bool {
        let (node, left, right) = self.inners[parent].child_and_siblings(i);
        if left.is_valid() && self.inners[left].len as usize > INNER_MIN {
            let l = &mut self.inners[left];
            l.len -= 1;
            let l_len = l.len as usize;
            let (child, up) = (l.children[l_len], l.seps[l_len - 1]);
            let down = self.inners[parent].seps[i - 1];
            let n = &mut self.inners[node];
            let n_len = n.len as usize;
            n.children.copy_within(0..n_len, 1);
            n.seps.copy_within(0..n_len - 1, 1);
            n.children[0] = child;
            n.seps[0] = down;
            n.len += 1;
            self.inners[parent].seps[i - 1] = up;
            return false;
        }
        if right.is_valid() && self.inners[right].len as usize > INNER_MIN {
            let r = &mut self.inners[right];
            let r_len = r.len as usize;
            let (child, up) = (r.children[0], r.seps[0]);
            r.children.copy_within(1..r_len, 0);
            r.seps.copy_within(1..r_len - 1, 0);
            r.len -= 1;
            let down = self.inners[parent].seps[i];
            let n = &mut self.inners[node];
            let n_len = n.len as usize;
            n.children[n_len] = child;
            n.seps[n_len - 1] = down;
            n.len += 1;
            self.inners[parent].seps[i] = up;
            return false;
        }
        let (keep, gone, at) = if left.is_valid() {
            (left, node, i)
        } else {
            (node, right, i + 1)
        };
        let down = self.inners[parent].seps[at - 1];
        let g = self.inners[gone];
        let k = &mut self.inners[keep];
        let (k_len, g_len) = (k.len as usize, g.len as usize);
        k.seps[k_len - 1] = down;
        k.seps[k_len..k_len + g_len - 1].copy_from_slice(&g.seps[..g_len - 1]);
        k.children[k_len..k_len + g_len].copy_from_slice(&g.children[..g_len]);
        k.len += g.len;
        self.free_inner(gone);
        self.inners[parent].remove_child(at);
        true
    }

    /// The entry whose range starts at `from`, if any.
    pub fn get(&self, root: TreeRoot, from: ProgPoint) -> Option<(CodeRange, V)> {
        if root.is_empty() {
            return None;
        }
        let leaf = &self.leaves[self.leaf_for(root, from)];
        let at = leaf.find(from)?;
        Some((leaf.keys[at], leaf.values[at]))
    }

    /// Replaces the value of the entry starting at `from`; returns whether
    /// there was one.
    pub fn set_value(&mut self, root: TreeRoot, from: ProgPoint, value: V) -> bool {
        if root.is_empty() {
            return false;
        }
        let node = self.leaf_for(root, from);
        let leaf = &mut self.leaves[node];
        match leaf.find(from) {
            Some(at) => {
                leaf.values[at] = value;
                true
            }
            None => false,
        }
    }

    /// The first entry (in order) overlapping `range`.
    pub fn first_overlap(&self, root: TreeRoot, range: CodeRange) -> Option<(CodeRange, V)> {
        // The first entry ending after `range.from` is the only candidate:
        // every later entry starts at or after its end, so if it starts at
        // or after `range.to`, they all do.
        let cursor = self.cursor(root, range.from);
        match cursor.peek(self) {
            Some((key, value)) if key.from < range.to => Some((key, value)),
            _ => None,
        }
    }

    /// Calls `f` on every entry overlapping `range`, in order, until `f`
    /// returns false. Entries are sorted by both ends, so the overlapping
    /// ones are a run starting at the first entry ending after
    /// `range.from`.
    pub fn for_each_overlap(
        &self,
        root: TreeRoot,
        range: CodeRange,
        mut f: impl FnMut(CodeRange, V) -> bool,
    ) {
        let mut cursor = self.cursor(root, range.from);
        while let Some((key, value)) = cursor.next(self) {
            if key.from >= range.to || !f(key, value) {
                return;
            }
        }
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
    /// ends after `point` (as [`Self::cursor`]).
    #[inline]
    pub fn seek(&self, cursor: &mut Cursor, root: TreeRoot, point: ProgPoint) {
        *cursor = Cursor::empty();
        if root.is_empty() {
            return;
        }
        let node = self.leaf_for(root, point);
        *cursor = self.cursor_in_leaf(node, point);
    }

    /// The cursor at the first entry ending after `point`, given the leaf
    /// a descent for `point` reached.
    #[inline(always)]
    fn cursor_in_leaf(&self, node: TreeNodeId, point: ProgPoint) -> Cursor {
        let leaf = &self.leaves[node];
        let at = leaf.first_ending_after(point);
        if at < leaf.len as usize {
            Cursor {
                leaf: node,
                index: at as u32,
            }
        } else {
            // Every entry of the next leaf starts after `point`.
            Cursor {
                leaf: leaf.next,
                index: 0,
            }
        }
    }

    /// Does [`Self::seek`] for several trees at once: `cursors[i]` ends up
    /// at the first entry of `roots[i]` ending after `point`. The trees are
    /// descended level by level together, so the loads of one level are
    /// independent and their cache misses overlap instead of queueing one
    /// tree after another (it pays off for trees too big for the cache).
    pub fn seek_many(&self, roots: &[TreeRoot], point: ProgPoint, cursors: &mut [Cursor]) {
        assert!(roots.len() == cursors.len() && roots.len() <= SEEK_BATCH_MAX);
        let mut nodes = [TreeNodeId::invalid(); SEEK_BATCH_MAX];
        let mut max_height = 0;
        for ((node, root), _) in nodes.iter_mut().zip(roots).zip(cursors.iter()) {
            *node = root.node;
            max_height = max_height.max(root.height);
        }
        for level in 1..max_height {
            for (node, root) in nodes.iter_mut().zip(roots) {
                if level < root.height {
                    let inner = &self.inners[*node];
                    *node = inner.children[inner.child_for(point)];
                }
            }
        }
        for ((cursor, &node), root) in cursors.iter_mut().zip(&nodes).zip(roots) {
            *cursor = if root.is_empty() {
                Cursor::empty()
            } else {
                self.cursor_in_leaf(node, point)
            };
        }
    }

    /// A cursor at the first entry of the tree.
    pub fn cursor_first(&self, root: TreeRoot) -> Cursor {
        let mut node = root.node;
        for _ in 1..root.height {
            node = self.inners[node].children[0];
        }
        Cursor {
            leaf: node,
            index: 0,
        }
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
        let mut leaf = self.cursor_first(root).leaf;
        let mut count = 0;
        while leaf.is_valid() {
            count += self.leaves[leaf].len as usize;
            leaf = self.leaves[leaf].next;
        }
        count
    }

    /// Number of levels of the tree, leaves included (0 when empty). O(1).
    pub fn height(&self, root: TreeRoot) -> usize {
        root.height as usize
    }

    /// Checks the B+-tree, separator, leaf-link and no-overlap invariants
    /// of one tree; returns a description of the first violation. O(n):
    /// for tests and debug checks after a phase.
    pub fn check_tree(&self, root: TreeRoot) -> Result<(), String> {
        if root.is_empty() {
            return if root.node.is_invalid() {
                Ok(())
            } else {
                Err(format!("empty root names {:?}", root.node))
            };
        }
        let mut leaves = Vec::new();
        self.check_at(root.node, root.height as usize, true, &mut leaves)?;
        for pair in leaves.windows(2) {
            if self.leaves[pair[0]].next != pair[1] {
                return Err(format!("leaf {:?} does not link to {:?}", pair[0], pair[1]));
            }
        }
        let last = *leaves.last().expect("a non-empty tree has a leaf");
        if self.leaves[last].next.is_valid() {
            return Err(format!("last leaf {last:?} links onwards"));
        }
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

    /// The leaf of a non-empty tree that holds the entry starting at
    /// `point`, if any, and else the first entry ending after it (or the
    /// leaf just before that entry's leaf).
    #[inline(always)]
    fn leaf_for(&self, root: TreeRoot, point: ProgPoint) -> TreeNodeId {
        let mut node = root.node;
        for _ in 1..root.height {
            let inner = &self.inners[node];
            node = inner.children[inner.child_for(point)];
        }
        node
    }

    /// A new leaf holding one entry, from the free list if possible.
    fn alloc_leaf(&mut self, range: CodeRange, value: V) -> TreeNodeId {
        self.live += 1;
        let row = Leaf {
            len: 1,
            next: TreeNodeId::invalid(),
            keys: [range; LEAF_CAP],
            values: [value; LEAF_CAP],
        };
        let node = self.free_leaf;
        if node.is_valid() {
            self.free_leaf = self.leaves[node].next;
            self.leaves[node] = row;
            node
        } else {
            self.leaves.push(row)
        }
    }

    fn free_leaf(&mut self, node: TreeNodeId) {
        self.live -= 1;
        self.leaves[node].len = 0;
        self.leaves[node].next = self.free_leaf;
        self.free_leaf = node;
    }

    /// A new inner node with no children (the caller fills it in).
    fn alloc_inner(&mut self) -> TreeNodeId {
        self.live += 1;
        let row = Inner {
            len: 0,
            seps: [ProgPoint::from_index(0); INNER_CAP - 1],
            children: [TreeNodeId::invalid(); INNER_CAP],
        };
        let node = self.free_inner;
        if node.is_valid() {
            self.free_inner = self.inners[node].children[0];
            self.inners[node] = row;
            node
        } else {
            self.inners.push(row)
        }
    }

    fn free_inner(&mut self, node: TreeNodeId) {
        self.live -= 1;
        self.inners[node].len = 0;
        self.inners[node].children[0] = self.free_inner;
        self.free_inner = node;
    }

    /// Checks the subtree at `node` of the given height; appends its leaves
    /// in order to `leaves`; returns the (from of its first, to of its
    /// last) entry for the separator checks above it.
    fn check_at(
        &self,
        node: TreeNodeId,
        height: usize,
        is_root: bool,
        leaves: &mut Vec<TreeNodeId>,
    ) -> Result<(ProgPoint, ProgPoint), String> {
        if height == 1 {
            let leaf = &self.leaves[node];
            let len = leaf.len as usize;
            let min = if is_root { 1 } else { LEAF_MIN };
            if len < min || len > LEAF_CAP {
                return Err(format!("leaf {node:?} holds {len} entries"));
            }
            leaves.push(node);
            return Ok((leaf.keys[0].from, leaf.keys[len - 1].to));
        }
        let inner = &self.inners[node];
        let len = inner.len as usize;
        let min = if is_root { 2 } else { INNER_MIN };
        if len < min || len > INNER_CAP {
            return Err(format!("inner node {node:?} has {len} children"));
        }
        let mut bounds = None;
        let mut first = None;
        for i in 0..len {
            let (lo, hi) = self.check_at(inner.children[i], height - 1, false, leaves)?;
            if i > 0 && lo < inner.seps[i - 1] {
                return Err(format!("child {i} of {node:?} starts before its separator"));
            }
            if i + 1 < len && hi > inner.seps[i] {
                return Err(format!("child {i} of {node:?} ends after its separator"));
            }
            first.get_or_insert(lo);
            bounds = Some(hi);
        }
        Ok((first.unwrap(), bounds.unwrap()))
    }
}

/// An in-order position in one tree of a [`RangeTree`] pool, holding no
/// borrow of it (pass the pool to [`Cursor::next`]): a leaf and an index
/// into it, stepping along the leaf links. Any insertion or removal in
/// the pool invalidates every cursor of the pool.
#[derive(Clone, Copy, Debug)]
pub struct Cursor {
    /// The leaf of the current entry, or invalid past the end.
    leaf: TreeNodeId,
    /// The current entry's index in `leaf`; below the leaf's length.
    index: u32,
}

impl Cursor {
    /// A cursor past the end of every tree; position it with
    /// [`RangeTree::seek`].
    pub fn empty() -> Self {
        Cursor {
            leaf: TreeNodeId::invalid(),
            index: 0,
        }
    }

    /// The entry at the cursor, without moving.
    #[inline]
    pub fn peek<V: Copy>(&self, tree: &RangeTree<'_, V>) -> Option<(CodeRange, V)> {
        if self.leaf.is_invalid() {
            return None;
        }
        let leaf = &tree.leaves[self.leaf];
        let i = self.index as usize;
        Some((leaf.keys[i], leaf.values[i]))
    }

    /// The entry at the cursor; moves to the next entry in order.
    #[allow(clippy::should_implement_trait)]
    #[inline]
    pub fn next<V: Copy>(&mut self, tree: &RangeTree<'_, V>) -> Option<(CodeRange, V)> {
        if self.leaf.is_invalid() {
            return None;
        }
        let leaf = &tree.leaves[self.leaf];
        let i = self.index as usize;
        let entry = (leaf.keys[i], leaf.values[i]);
        if i + 1 < leaf.len as usize {
            self.index += 1;
        } else {
            self.leaf = leaf.next;
            self.index = 0;
        }
        Some(entry)
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

    /// `seek_many` over trees of different heights (empty, one leaf,
    /// several levels) puts every cursor where `seek` puts it.
    #[test]
    fn seek_many_matches_seek() {
        let arena = Arena::new();
        let mut tree: RangeTree<'_, u32> = RangeTree::new_in(&arena);
        // As many trees as the widest batch, of sizes 0, 3, 80, 2000 and
        // in between.
        let mut roots = [TreeRoot::EMPTY; SEEK_BATCH_MAX];
        let sizes = [0usize, 3, 80, 2000];
        for (k, root) in roots.iter_mut().enumerate() {
            let n = sizes[k % sizes.len()] + 37 * (k / sizes.len());
            for i in 0..n as u32 {
                tree.insert(root, cr(5 * i, 5 * i + 3), i);
            }
        }
        assert!(roots[3].height >= 3, "the largest tree has inner levels");
        for point in (0..10_050).step_by(7) {
            let point = ProgPoint::from_index(point);
            let mut batch = [Cursor::empty(); SEEK_BATCH_MAX];
            tree.seek_many(&roots, point, &mut batch);
            for (root, sought) in roots.iter().zip(&batch) {
                let mut single = Cursor::empty();
                tree.seek(&mut single, *root, point);
                assert_eq!(sought.peek(&tree), single.peek(&tree), "at {point:?}");
            }
        }
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
        assert_eq!(pool.live_entries(), total);
        // Freed rows were reused: the pool stays near the peak size, far
        // below one row per insertion.
        assert!(pool.node_slots() * 2 < inserted, "{}", pool.node_slots());
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
        for i in 0..1000 {
            pool.insert(&mut root, cr(i * 2, i * 2 + 1), i);
        }
        let peak = pool.node_slots();
        assert_eq!(pool.live_nodes(), peak);
        for i in (0..1000).rev().step_by(3) {
            assert_eq!(pool.remove(&mut root, cr(i * 2, i * 2 + 1)), Some(i));
        }
        assert_eq!(pool.live_entries(), 666);
        assert!(pool.live_nodes() < peak);
        pool.check_tree(root).unwrap();
        for i in 1000..1334 {
            pool.insert(&mut root, cr(i * 2, i * 2 + 1), i);
        }
        // Freed rows were taken again before the columns grew.
        assert!(
            pool.node_slots() <= peak + 2,
            "{} > {peak}",
            pool.node_slots()
        );
        assert_eq!(pool.live_entries(), 1000);
        pool.check_tree(root).unwrap();
        while let Some((key, _)) = pool.iter(root).next() {
            pool.remove(&mut root, key);
        }
        assert!(root.is_empty());
        assert_eq!((pool.live_entries(), pool.live_nodes()), (0, 0));
        pool.clear();
        assert_eq!((pool.node_slots(), pool.live_nodes()), (0, 0));
    }

    /// Height of a B+-tree with `n` entries when every node is minimal: the
    /// bound `check_tree`'s occupancy invariants imply.
    fn height_bound(n: usize) -> usize {
        let mut height = 1;
        let mut reach = 2 * LEAF_MIN; // a root with two minimal leaves
        while reach <= n {
            reach *= INNER_MIN;
            height += 1;
        }
        height
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
        // Minimal nodes give height 8 for 10^5 entries; half-full ones
        // (sequential inserts) need 7; an AA tree would reach 34.
        let bound = height_bound(N as usize);
        assert_eq!(bound, 8);
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
        assert!(pool.height(up) <= height_bound(N as usize / 2));
        pool.check_tree(up).unwrap();
        assert_eq!(pool.count(up), N as usize / 2);
    }

    /// Builds a tree of `n` unit ranges `[3i, 3i + 2)` (values i) in a
    /// shuffled order.
    fn build(pool: &mut RangeTree<'_, u32>, n: u32, rng: &mut Rng) -> TreeRoot {
        let mut order: Vec<u32> = (0..n).collect();
        for i in (1..order.len()).rev() {
            order.swap(i, rng.below(i as u32 + 1) as usize);
        }
        let mut root = TreeRoot::EMPTY;
        for i in order {
            pool.insert(&mut root, cr(3 * i, 3 * i + 2), i);
        }
        root
    }

    #[test]
    fn removals_borrow_and_merge_at_every_level() {
        // Removing everything in several orders drives leaves and inner
        // nodes of a 4-level tree through every repair: borrow from the
        // left and from the right sibling, merge into the left and absorb
        // the right, and the root collapsing level by level.
        const N: u32 = 3000;
        let mut rng = Rng(0x1234_5678_9abc_def1);
        for order in 0..4 {
            let arena = Arena::new();
            let mut pool: RangeTree<u32> = RangeTree::new_in(&arena);
            let mut root = build(&mut pool, N, &mut rng);
            let start_height = pool.height(root);
            assert!(start_height >= 4, "{start_height}");
            let mut keys: Vec<u32> = (0..N).collect();
            match order {
                0 => {}
                1 => keys.reverse(),
                // From the middle outwards, alternating sides.
                2 => keys.sort_by_key(|&k| (k as i64 - N as i64 / 2).abs()),
                _ => {
                    for i in (1..keys.len()).rev() {
                        keys.swap(i, rng.below(i as u32 + 1) as usize);
                    }
                }
            }
            let mut heights_seen = vec![start_height];
            for (done, &k) in keys.iter().enumerate() {
                assert_eq!(pool.remove(&mut root, cr(3 * k, 0)), Some(k));
                assert_eq!(pool.remove(&mut root, cr(3 * k, 0)), None);
                if done % 97 == 0 || pool.height(root) != *heights_seen.last().unwrap() {
                    pool.check_tree(root).unwrap();
                    assert_eq!(pool.count(root), (N as usize) - done - 1);
                }
                if pool.height(root) != *heights_seen.last().unwrap() {
                    heights_seen.push(pool.height(root));
                }
                // Probes between the survivors still find the neighbours.
                if done % 31 == 0 {
                    let probe = 3 * rng.below(N) + 1;
                    let expected = keys[done + 1..]
                        .iter()
                        .filter(|&&j| 3 * j + 2 > probe)
                        .min()
                        .copied();
                    let got = pool.cursor(root, ProgPoint::from_index(probe)).peek(&pool);
                    assert_eq!(got.map(|(_, v)| v), expected);
                }
            }
            // The height fell one level at a time down to empty.
            let expected: Vec<usize> = (0..=start_height).rev().collect();
            assert_eq!(heights_seen, expected);
            assert!(root.is_empty());
            assert_eq!((pool.live_entries(), pool.live_nodes()), (0, 0));
        }
    }

    #[test]
    fn splits_raise_the_height_and_keep_links() {
        // Ascending, descending and shuffled inserts split leaves and inner
        // nodes at every position; after each height change the whole tree
        // is checked, including the leaf chain and separator bounds.
        let mut rng = Rng(7);
        for order in 0..3 {
            let arena = Arena::new();
            let mut pool: RangeTree<u32> = RangeTree::new_in(&arena);
            let mut root = TreeRoot::EMPTY;
            let n = 5000u32;
            let mut keys: Vec<u32> = (0..n).collect();
            if order == 1 {
                keys.reverse();
            } else if order == 2 {
                for i in (1..keys.len()).rev() {
                    keys.swap(i, rng.below(i as u32 + 1) as usize);
                }
            }
            let mut last_height = 0;
            for (done, &k) in keys.iter().enumerate() {
                pool.insert(&mut root, cr(3 * k, 3 * k + 2), k);
                if pool.height(root) != last_height {
                    assert_eq!(pool.height(root), last_height + 1);
                    last_height = pool.height(root);
                    pool.check_tree(root).unwrap();
                    assert_eq!(pool.count(root), done + 1);
                }
            }
            assert!(last_height >= 4);
            pool.check_tree(root).unwrap();
            let values: Vec<u32> = pool.iter(root).map(|(_, v)| v).collect();
            assert_eq!(values, (0..n).collect::<Vec<_>>());
        }
    }

    #[test]
    fn inserts_raise_stale_separators() {
        // Removing the first entry of a leaf leaves its separator below
        // the leaf's new first start; a later range that starts before the
        // separator but ends after it must raise it, or queries at points
        // inside that range would look in the wrong leaf.
        let arena = Arena::new();
        let mut pool: RangeTree<u32> = RangeTree::new_in(&arena);
        let mut root = TreeRoot::EMPTY;
        for i in 0..40 {
            pool.insert(&mut root, cr(10 * i, 10 * i + 1), i);
        }
        for i in 0..40 {
            assert_eq!(pool.remove(&mut root, cr(10 * i, 0)), Some(i));
            pool.insert(&mut root, cr(10 * i, 10 * i + 9), 100 + i);
            pool.check_tree(root).unwrap();
            for p in 10 * i..10 * i + 9 {
                assert_eq!(
                    pool.first_overlap(root, cr(p, p + 1)),
                    Some((cr(10 * i, 10 * i + 9), 100 + i))
                );
            }
        }
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
