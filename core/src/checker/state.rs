//! The checker's abstract state: value labels in a persistent trie.
//!
//! The domain is "location `l` holds the current value of vreg `v`". A
//! state gives every *variable* (each tracked vreg, then each location) a
//! label; `l` holds `v` iff both carry the same non-zero label. On one path
//! that is exact: a def labels its vreg and location with the def's own
//! label (its operand's index), a move copies a label, a block-param edge
//! gives the param its arg's label. The meet of two states (facts true on
//! both paths) labels each variable by its pair of labels, injectively;
//! see [`ValueState::meet_into`].
//!
//! The labels live in a persistent trie of 8-wide nodes (32 bytes: a store after a snapshot
//! copies little; 32-wide nodes made the checker slower and larger), so states share
//! every node they have not changed: loading a block-entry state, or going
//! back to a branch point, is taking a root; a store copies the nodes on
//! its path (once per node until the next snapshot); a meet compares only
//! subtrees whose roots differ. A loop nest's headers, whose states differ
//! in a few registers, meet in time proportional to that difference, not
//! to everything live.
//!
//! How many variables carry each label (the meet needs it) is a second
//! persistent trie in the same nodes, keyed by label and kept in step by
//! every store, so taking a block's entry state is taking two roots: no
//! walk over everything the state labels (which, with every vreg defined
//! so far labelled, made the checker quadratic in blocks times vregs, and
//! ran a 10^6-instruction function out of memory). The checker sets dead
//! vregs' labels to `NONE` (`super::liveness`), so the labelled vregs are
//! the live ones.
//!
//! Labels stay consistent within one walk of a tree of blocks (equal
//! labels, equal values on the walked path): a walk starts from an entry
//! state whose labels are fresh meet labels or labels of defs that come
//! before the tree's root in reverse postorder (a root's first arrival is
//! always from such a block), and a tree's blocks run once per walk, so no
//! def in the tree finds its own label already in the state.

/// Label of no value: an unknown location, or an untracked vreg.
const NONE: u32 = 0;

const WIDTH_BITS: u32 = 3;
const WIDTH: usize = 1 << WIDTH_BITS;

/// Node 0 is the empty node: all labels `NONE`, all children node 0.
type Node = [u32; WIDTH];

/// Levels above the leaves of the count trie: its keys are whole `u32`
/// labels (11 levels of 3 bits).
const COUNT_LEVELS: u32 = 10;

/// A frozen state: the root of its labels and the root of its label
/// counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Snapshot {
    labels: u32,
    counts: u32,
}

/// A block-entry state: a frozen state, whose counts tell the meet
/// whether a label's whole class moved together.
#[derive(Clone, Debug, Default)]
pub(super) struct EntryState {
    /// Whether an edge has reached the block yet (the entry block is
    /// reached from the start, knowing nothing).
    pub reached: bool,
    state: Snapshot,
}

/// The state of a walk over a persistent trie, and the trie's nodes.
#[derive(Debug)]
pub(super) struct ValueState {
    nodes: Vec<Node>,
    /// Per node, the epoch that may change it in place; older nodes are
    /// shared with snapshots and copied on write.
    owner: Vec<u32>,
    epoch: u32,
    /// Levels of the trie above its leaves.
    levels: u32,
    num_vregs: u32,
    root: u32,
    /// Root of the count trie: label -> variables carrying it.
    count_root: u32,
    /// Labels past every def's (`1 + operand index`), for meets' splits.
    next_label: u32,
    /// Scratch of `meet_into`: `(label in entry, label here, variable)`.
    diffs: Vec<(u32, u32, u32)>,
    /// Elementary steps: label stores, node elements copied, compared or
    /// counted.
    pub work: u64,
    /// Nodes alive after the last [`ValueState::collect_garbage`].
    live_after_collection: usize,
    /// See [`ValueState::over_budget`].
    node_budget: usize,
}

/// Fewest nodes (32 bytes each) before garbage is worth collecting.
const MIN_NODES_TO_COLLECT: usize = 1 << 16;

impl ValueState {
    /// A state of `num_vregs` vregs and `num_locations` locations, with
    /// def labels below `first_free_label`.
    pub fn new(num_vregs: usize, num_locations: usize, first_free_label: u32) -> Self {
        let variables = num_vregs + num_locations;
        let mut levels = 0;
        while (WIDTH as u64) << (WIDTH_BITS * levels) < variables as u64 {
            levels += 1;
        }
        ValueState {
            nodes: vec![[NONE; WIDTH]],
            owner: vec![0],
            epoch: 1,
            levels,
            num_vregs: num_vregs as u32,
            root: 0,
            count_root: 0,
            next_label: first_free_label.max(1),
            diffs: Vec::new(),
            work: 0,
            live_after_collection: 1,
            node_budget: super::CHECKER_NODE_BUDGET,
        }
    }

    pub fn set_node_budget(&mut self, nodes: usize) {
        self.node_budget = nodes;
    }

    /// Between walks, when the trie has more than doubled since the last
    /// collection: keeps only the nodes the entry states' roots reach.
    ///
    /// Stores after a snapshot copy their path, and the copies of a walk
    /// that ends are garbage; without this, a function of 10^6
    /// instructions, whose trees are walked more than once on the way to
    /// the fixpoint, grows the trie by gigabytes. Collecting when the
    /// trie doubles keeps it within twice the live nodes plus one walk's
    /// copies, and costs time linear in the live nodes, amortized against
    /// the copies that made the garbage. Labels and sharing are kept:
    /// every state reads the same after as before.
    pub fn collect_garbage(&mut self, entries: &mut [EntryState]) {
        let threshold = (2 * self.live_after_collection).max(MIN_NODES_TO_COLLECT);
        if self.nodes.len() >= threshold {
            self.collect(entries);
        }
    }

    /// The collection itself (see [`ValueState::collect_garbage`]).
    fn collect(&mut self, entries: &mut [EntryState]) {
        let mut moved = vec![u32::MAX; self.nodes.len()];
        let mut kept: Vec<Node> = Vec::with_capacity(self.live_after_collection.max(1) * 2);
        kept.push([NONE; WIDTH]);
        moved[0] = 0;
        for entry in entries.iter_mut() {
            let state = &mut entry.state;
            state.labels = self.keep(state.labels, self.levels, &mut moved, &mut kept);
            state.counts = self.keep(state.counts, COUNT_LEVELS, &mut moved, &mut kept);
        }
        self.root = self.keep(self.root, self.levels, &mut moved, &mut kept);
        self.count_root = self.keep(self.count_root, COUNT_LEVELS, &mut moved, &mut kept);
        self.work += (kept.len() * WIDTH) as u64;
        self.live_after_collection = kept.len();
        self.nodes = kept;
        // Every kept node is shared with an entry state: none may be
        // written in place.
        self.owner.clear();
        self.owner.resize(self.nodes.len(), 0);
        self.epoch += 1;
    }

    /// The index in `kept` of a copy of `node` (at `level`; 0 holds
    /// labels) and of everything under it, each node copied once.
    fn keep(&self, node: u32, level: u32, moved: &mut [u32], kept: &mut Vec<Node>) -> u32 {
        if moved[node as usize] != u32::MAX {
            return moved[node as usize];
        }
        let mut copy = self.nodes[node as usize];
        if level > 0 {
            for child in copy.iter_mut() {
                *child = self.keep(*child, level - 1, moved, kept);
            }
        }
        kept.push(copy);
        let index = (kept.len() - 1) as u32;
        moved[node as usize] = index;
        index
    }

    /// Nodes in the trie (live or not yet collected).
    pub fn num_nodes(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the trie has outgrown its budget (by default
    /// [`super::CHECKER_NODE_BUDGET`]).
    pub fn over_budget(&self) -> bool {
        self.nodes.len() > self.node_budget
    }

    /// Freezes the current state and returns it, to come back to with
    /// [`ValueState::restore`].
    pub fn snapshot(&mut self) -> Snapshot {
        self.epoch += 1;
        Snapshot {
            labels: self.root,
            counts: self.count_root,
        }
    }

    pub fn restore(&mut self, snapshot: Snapshot) {
        self.root = snapshot.labels;
        self.count_root = snapshot.counts;
    }

    pub fn load(&mut self, entry: &EntryState) {
        self.restore(entry.state);
    }

    fn get(&self, var: u32) -> u32 {
        self.get_in(self.root, self.levels, var)
    }

    /// The value at `key` in the trie under `root` with `levels` levels
    /// above its leaves.
    fn get_in(&self, root: u32, levels: u32, key: u32) -> u32 {
        let var = key;
        let mut node = root;
        for level in (0..=levels).rev() {
            node = self.nodes[node as usize][(var >> (WIDTH_BITS * level)) as usize % WIDTH];
            if node == 0 {
                return NONE;
            }
        }
        node
    }

    /// A node the current epoch may write: `node` itself, or a copy.
    fn owned(&mut self, node: u32) -> u32 {
        if node != 0 && self.owner[node as usize] == self.epoch {
            return node;
        }
        self.work += WIDTH as u64;
        let copy = self.nodes[node as usize];
        self.nodes.push(copy);
        self.owner.push(self.epoch);
        (self.nodes.len() - 1) as u32
    }

    /// Sets `var` to `label` in the trie under `root`, copying shared
    /// nodes; returns the new root.
    fn store(&mut self, root: u32, var: u32, label: u32) -> u32 {
        self.store_in(root, self.levels, var, label)
    }

    /// Sets `key` to `value` in the trie under `root` (with `levels`
    /// levels), copying shared nodes; returns the new root.
    fn store_in(&mut self, root: u32, levels: u32, key: u32, value: u32) -> u32 {
        let (var, label) = (key, value);
        self.work += 1;
        let top = self.owned(root);
        let mut node = top;
        for level in (1..=levels).rev() {
            let slot = (var >> (WIDTH_BITS * level)) as usize % WIDTH;
            let child = self.owned(self.nodes[node as usize][slot]);
            self.nodes[node as usize][slot] = child;
            node = child;
        }
        self.nodes[node as usize][var as usize % WIDTH] = label;
        top
    }

    fn set(&mut self, var: u32, label: u32) {
        let old = self.get(var);
        if old != label {
            self.root = self.store(self.root, var, label);
            self.count_root = self.add_count(self.count_root, old, -1);
            self.count_root = self.add_count(self.count_root, label, 1);
        }
    }

    /// How many variables carry `label` in the counts under `counts`.
    fn count(&self, counts: u32, label: u32) -> u32 {
        self.get_in(counts, COUNT_LEVELS, label)
    }

    /// Adds `delta` to `label`'s count under `counts` (nothing for
    /// `NONE`, which is not counted); returns the new root.
    fn add_count(&mut self, counts: u32, label: u32, delta: i64) -> u32 {
        if label == NONE {
            return counts;
        }
        let old = i64::from(self.count(counts, label));
        // Every variable carrying a label was counted when it got it.
        debug_assert!(old + delta >= 0, "label {label} count {old} + {delta}");
        let new = (old + delta).clamp(0, i64::from(u32::MAX)) as u32;
        self.store_in(counts, COUNT_LEVELS, label, new)
    }

    fn loc_var(&self, loc: u32) -> u32 {
        self.num_vregs + loc
    }

    pub fn vreg_label(&self, v: u32) -> u32 {
        self.get(v)
    }

    pub fn set_vreg(&mut self, v: u32, label: u32) {
        self.set(v, label);
    }

    pub fn holds(&self, loc: u32, v: u32) -> bool {
        let label = self.get(v);
        label != NONE && self.get(self.loc_var(loc)) == label
    }

    /// The vregs `loc` holds, ascending. Only for error reports: it looks
    /// at every vreg.
    pub fn held(&mut self, loc: u32) -> Vec<u32> {
        let label = self.get(self.loc_var(loc));
        if label == NONE {
            return Vec::new();
        }
        self.work += u64::from(self.num_vregs);
        (0..self.num_vregs)
            .filter(|&v| self.get(v) == label)
            .collect()
    }

    pub fn clear(&mut self, loc: u32) {
        self.set(self.loc_var(loc), NONE);
    }

    pub fn copy(&mut self, from: u32, into: u32) {
        let label = self.get(self.loc_var(from));
        self.set(self.loc_var(into), label);
    }

    /// A def with label `label`: `v` gets the new value, held by `loc`
    /// alone.
    pub fn define(&mut self, loc: Option<u32>, v: Option<u32>, label: u32) {
        let label = match v {
            Some(v) => {
                self.set(v, label);
                label
            }
            None => NONE,
        };
        if let Some(loc) = loc {
            self.set(self.loc_var(loc), label);
        }
    }

    /// Sets `entry` to the current state (its first arrival): two roots.
    pub fn capture(&mut self, entry: &mut EntryState) {
        entry.reached = true;
        entry.state = self.snapshot();
    }

    /// Collects `(entry label, current label, variable)` wherever the two
    /// tries differ and the entry has a label.
    fn diff(&mut self, mine: u32, theirs: u32, level: u32, base: u32) {
        if mine == theirs || mine == 0 {
            return;
        }
        self.work += WIDTH as u64;
        for slot in 0..WIDTH {
            let a = self.nodes[mine as usize][slot];
            let b = self.nodes[theirs as usize][slot];
            if level == 0 {
                if a != NONE && a != b {
                    self.diffs.push((a, b, base + slot as u32));
                }
            } else {
                let child_base = base + ((slot as u32) << (WIDTH_BITS * level));
                self.diff(a, b, level - 1, child_base);
            }
        }
    }

    /// Lowers `entry` to its meet with the current state; returns whether
    /// it changed.
    ///
    /// The meet's classes are the pairs (label in `entry`, label here).
    /// They are labelled injectively: a variable with the same label on
    /// both sides keeps it; a label whose every variable has one other
    /// label here also keeps it (its class did not split); the other
    /// pairs get fresh labels, and pairs with no label here none. So
    /// equal facts give an equal trie, and only differing subtrees are
    /// visited.
    pub fn meet_into(&mut self, entry: &mut EntryState) -> bool {
        self.diffs.clear();
        self.diff(entry.state.labels, self.root, self.levels, 0);
        if self.diffs.is_empty() {
            return false;
        }
        let mut diffs = core::mem::take(&mut self.diffs);
        self.work += diffs.len() as u64;
        diffs.sort_unstable();
        self.epoch += 1;
        let mut root = entry.state.labels;
        let mut counts = entry.state.counts;
        let mut changed = false;
        let mut i = 0;
        while i < diffs.len() {
            let label = diffs[i].0;
            let class_end = i + diffs[i..].partition_point(|d| d.0 == label);
            let whole = self.count(counts, label) == (class_end - i) as u32;
            let one_part = diffs[class_end - 1].1 == diffs[i].1;
            if whole && one_part && diffs[i].1 != NONE {
                i = class_end;
                continue;
            }
            changed = true;
            while i < class_end {
                let other = diffs[i].1;
                let part_end = i + diffs[i..class_end].partition_point(|d| d.1 == other);
                let size = (part_end - i) as u32;
                let new = if other == NONE {
                    NONE
                } else {
                    let new = self.next_label;
                    self.next_label = self.next_label.wrapping_add(1).max(1);
                    new
                };
                counts = self.add_count(counts, new, i64::from(size));
                counts = self.add_count(counts, label, -i64::from(size));
                for d in &diffs[i..part_end] {
                    root = self.store(root, d.2, new);
                }
                i = part_end;
            }
        }
        entry.state = Snapshot {
            labels: root,
            counts,
        };
        self.epoch += 1;
        self.diffs = diffs;
        changed
    }
}

#[cfg(test)]
impl EntryState {
    /// Its facts as sorted `(location, vreg)` pairs.
    fn facts(&self, state: &mut ValueState, locations: u32) -> Vec<(u32, u32)> {
        let saved = state.snapshot();
        state.load(self);
        let mut facts = Vec::new();
        for loc in 0..locations {
            for v in state.held(loc) {
                facts.push((loc, v));
            }
        }
        state.restore(saved);
        facts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_meet_by_intersection_of_facts() {
        let mut state = ValueState::new(5, 8, 100);
        // Path one: v1 defined in l0, v2 names the same value, copied to l3.
        state.define(Some(0), Some(1), 1);
        state.set_vreg(2, state.vreg_label(1));
        state.copy(0, 3);
        let start = state.snapshot();
        let mut entry = EntryState::default();
        state.capture(&mut entry);
        assert_eq!(entry.facts(&mut state, 8), [(0, 1), (0, 2), (3, 1), (3, 2)]);
        // Path two: l0 holds v2 and l3 holds v1, as different values.
        state.load(&EntryState::default());
        state.define(Some(0), Some(2), 2);
        state.define(Some(3), Some(1), 3);
        state.define(Some(4), Some(4), 4);
        assert!(state.meet_into(&mut entry));
        assert_eq!(entry.facts(&mut state, 8), [(0, 2), (3, 1)]);
        assert!(!state.meet_into(&mut entry));
        // Loaded back, the meet holds exactly those facts.
        state.load(&entry);
        assert!(state.holds(0, 2) && state.holds(3, 1));
        assert!(!state.holds(0, 1) && !state.holds(3, 2) && !state.holds(4, 4));
        assert_eq!(state.held(0), [2]);
        // A snapshot is unchanged by later stores.
        let mark = state.snapshot();
        state.copy(3, 0);
        state.clear(3);
        assert_eq!(state.held(0), [1]);
        state.restore(mark);
        assert!(state.holds(0, 2) && state.holds(3, 1));
        state.restore(start);
        assert!(state.holds(3, 2));
    }

    #[test]
    fn garbage_collection_keeps_every_entry_state_and_the_counts() {
        let mut state = ValueState::new(40, 40, 1000);
        let mut entries = vec![EntryState::default(); 3];
        for (i, entry) in entries.iter_mut().enumerate() {
            state.load(&EntryState::default());
            for v in 0..40u32 {
                state.define(Some((v + i as u32) % 40), Some(v), 1 + v + 40 * i as u32);
            }
            // Garbage: stores after the capture, then dropped.
            state.capture(entry);
            for v in 0..40u32 {
                state.copy(v, (v + 1) % 40);
            }
        }
        let before: Vec<_> = entries.iter().map(|e| e.facts(&mut state, 40)).collect();
        let nodes_before = state.nodes.len();
        state.collect(&mut entries);
        assert!(
            state.nodes.len() < nodes_before,
            "the walks' copies are dropped"
        );
        let after: Vec<_> = entries.iter().map(|e| e.facts(&mut state, 40)).collect();
        assert_eq!(before, after);
        // The counts survive too: a second arrival equal to the first
        // changes nothing (the meet finds every class whole).
        state.load(&entries[1]);
        let mut again = entries[1].clone();
        assert!(!state.meet_into(&mut again));
        // And one that moves a value splits its class.
        state.copy(0, 5);
        assert!(state.meet_into(&mut again));
    }
}
