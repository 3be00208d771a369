//! The table machinery every phase uses.
//!
//! * An *entity id* is a `u32` newtype made by [`entity_id!`]: one type per
//!   kind of thing (`LiveRangeId`, `BundleId`, ...), so a bundle index can
//!   never be used to index the range table.
//! * A *table* is a small struct of *columns*, one per attribute, all the
//!   same length and indexed by the table's one id type (struct of arrays).
//!   A phase borrows only the columns it needs.
//! * A [`Column`] is a vector in the per-run bump arena ([`Arena`]), viewed
//!   as a [`TiSlice`] (typed-index-collections) so it can only be indexed
//!   by its id type. Variable-length per-entity lists are [`ArenaVec`]s in
//!   the same arena.
//!
//! The arena is owned by [`crate::Ctx`] and reset at the start of every
//! run: nothing built for one function outlives it, and a warm `Ctx` stops
//! asking the system allocator for memory once its arena is large enough.

use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};

use bitvec::order::Lsb0;
use bitvec::slice::BitSlice;
use bitvec::view::BitView;

pub use typed_index_collections::TiSlice;

/// The per-run bump arena.
pub type Arena = bumpalo::Bump;

/// A growable vector in the per-run arena.
pub type ArenaVec<'a, T> = bumpalo::collections::Vec<'a, T>;

/// Room a function-wide scratch list starts with. bumpalo's lists grow
/// 1, 2, 4, ... entries, each step a call into the arena (and a copy when
/// the list is no longer the arena's last allocation); a list that usually
/// holds a few dozen entries starts with room for them instead.
pub const SCRATCH_LIST_START: usize = 32;

/// Empties `list` and makes room in it for `capacity` entries. A list too
/// small is replaced by a new one of that size rather than grown: growing
/// copies the old allocation, which holds nothing wanted now, and goes
/// through bumpalo's cold growth path.
pub fn clear_with_room<T>(list: &mut ArenaVec<'_, T>, capacity: usize) {
    list.clear();
    if list.capacity() < capacity {
        *list = ArenaVec::with_capacity_in(capacity, list.bump());
    }
}

/// Defines a typed `u32` entity id with an invalid sentinel (`u32::MAX`):
/// `entity_id!(/// docs\n pub struct ThingId, "thing")` gives `ThingId`
/// with `new`, `index`, `invalid`, `is_invalid`, `is_valid`, `raw_u32`,
/// `Default` (invalid), `From<usize>`/`Into<usize>` and a `Debug` that
/// prints `thing3` (or `thing-` when invalid). Crate-private; the unit
/// test `column_is_indexed_by_its_id` shows it in use.
macro_rules! entity_id {
    ($(#[$attr:meta])* $vis:vis struct $name:ident, $prefix:literal) => {
        $(#[$attr])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[repr(transparent)]
        $vis struct $name(u32);

        impl $name {
            #[inline(always)]
            pub const fn new(index: usize) -> Self {
                Self(index as u32)
            }
            #[inline(always)]
            pub const fn index(self) -> usize {
                self.0 as usize
            }
            #[inline(always)]
            pub const fn invalid() -> Self {
                Self(u32::MAX)
            }
            #[inline(always)]
            pub const fn is_invalid(self) -> bool {
                self.0 == u32::MAX
            }
            #[inline(always)]
            pub const fn is_valid(self) -> bool {
                self.0 != u32::MAX
            }
            #[inline(always)]
            pub const fn raw_u32(self) -> u32 {
                self.0
            }
        }

        impl ::core::default::Default for $name {
            fn default() -> Self {
                Self::invalid()
            }
        }

        impl ::core::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                if self.is_invalid() {
                    write!(f, concat!($prefix, "-"))
                } else {
                    write!(f, concat!($prefix, "{}"), self.0)
                }
            }
        }

        impl ::core::convert::From<usize> for $name {
            #[inline(always)]
            fn from(index: usize) -> Self {
                Self(index as u32)
            }
        }

        impl ::core::convert::From<$name> for usize {
            #[inline(always)]
            fn from(id: $name) -> usize {
                id.0 as usize
            }
        }
    };
}
pub(crate) use entity_id;

/// Asks the cache for the line holding `*value`: a hint only (it reads
/// nothing, cannot fault, and changes no result), for walks that know
/// which rows they will read a few steps before they read them.
#[inline(always)]
pub fn prefetch<T>(value: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch reads nothing and cannot fault, whatever the
    // address.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(value.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

/// One column of a table: an arena vector indexed by the id type `K`.
pub struct Column<'a, K, V> {
    data: ArenaVec<'a, V>,
    _key: PhantomData<fn(K) -> K>,
}

impl<'a, K, V> Column<'a, K, V>
where
    K: From<usize> + Into<usize>,
{
    pub fn new_in(arena: &'a Arena) -> Self {
        Column {
            data: ArenaVec::new_in(arena),
            _key: PhantomData,
        }
    }
    pub fn with_capacity_in(capacity: usize, arena: &'a Arena) -> Self {
        Column {
            data: ArenaVec::with_capacity_in(capacity, arena),
            _key: PhantomData,
        }
    }
    /// As [`Column::with_capacity_in`], but `None` when the arena cannot
    /// get the memory (for capacities that come from the input).
    pub fn try_with_capacity_in(capacity: usize, arena: &'a Arena) -> Option<Self> {
        let mut data = ArenaVec::new_in(arena);
        data.try_reserve_exact(capacity).ok()?;
        Some(Column {
            data,
            _key: PhantomData,
        })
    }
    /// A column of `len` copies of `value`.
    pub fn filled_in(len: usize, value: V, arena: &'a Arena) -> Self
    where
        V: Copy,
    {
        let mut column = Self::with_capacity_in(len, arena);
        // One `fill` of the spare room (a vector store loop, or `memset`
        // for a byte pattern) rather than `resize`'s element-by-element
        // writes, which stay scalar: many columns are filled per run.
        let slots = column.data.as_mut_ptr();
        // SAFETY: `with_capacity_in` reserved `len` slots; each is written
        // (as a `MaybeUninit`, which needs no initialized contents) before
        // the length covers it, and `V: Copy` has no drop to skip.
        unsafe {
            core::slice::from_raw_parts_mut(slots.cast::<core::mem::MaybeUninit<V>>(), len)
                .fill(core::mem::MaybeUninit::new(value));
            column.data.set_len(len);
        }
        column
    }
    /// Appends `value` and returns its id.
    #[inline]
    pub fn push(&mut self, value: V) -> K {
        let id = K::from(self.data.len());
        self.data.push(value);
        id
    }
    /// The id the next `push` returns.
    #[inline]
    pub fn next_key(&self) -> K {
        K::from(self.data.len())
    }
    pub fn resize(&mut self, len: usize, value: V)
    where
        V: Clone,
    {
        self.data.resize(len, value);
    }
    pub fn truncate(&mut self, len: usize) {
        self.data.truncate(len);
    }
    pub fn clear(&mut self) {
        self.data.clear();
    }
    pub fn reserve(&mut self, additional: usize) {
        if self.data.is_empty() {
            // Made once at its size (see `clear_with_room`).
            clear_with_room(&mut self.data, additional);
        } else {
            self.data.reserve(additional);
        }
    }
    /// The underlying arena vector.
    pub fn raw(&self) -> &ArenaVec<'a, V> {
        &self.data
    }
    pub fn raw_mut(&mut self) -> &mut ArenaVec<'a, V> {
        &mut self.data
    }
}

impl<K, V> Deref for Column<'_, K, V> {
    type Target = TiSlice<K, V>;
    #[inline(always)]
    fn deref(&self) -> &TiSlice<K, V> {
        TiSlice::from_ref(&self.data[..])
    }
}

impl<K, V> DerefMut for Column<'_, K, V> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut TiSlice<K, V> {
        TiSlice::from_mut(&mut self.data[..])
    }
}

/// A fixed-size set of small integers in the per-run arena, one bit each:
/// a `bitvec` bit slice over arena words. Scratch for phases (liveness
/// marks, "live now" sets); unlike a heap `BitVec` it costs no system
/// allocation on a warm `Ctx`.
#[derive(Debug)]
pub struct BitSet<'a> {
    words: ArenaVec<'a, u64>,
}

impl<'a> BitSet<'a> {
    /// An empty set able to hold `0..len`.
    pub fn new_in(len: usize, arena: &'a Arena) -> Self {
        let mut words = ArenaVec::with_capacity_in(len.div_ceil(64), arena);
        words.resize(len.div_ceil(64), 0);
        BitSet { words }
    }
    /// The set as a `bitvec` slice (bit `i` is element `i`).
    #[inline(always)]
    pub fn bits(&self) -> &BitSlice<u64, Lsb0> {
        self.words.view_bits::<Lsb0>()
    }
    #[inline(always)]
    fn bits_mut(&mut self) -> &mut BitSlice<u64, Lsb0> {
        self.words.view_bits_mut::<Lsb0>()
    }
    /// Whether `i` is in the set. Panics if `i` is out of range.
    #[inline(always)]
    pub fn contains(&self, i: usize) -> bool {
        self.bits()[i]
    }
    /// Adds `i`.
    #[inline(always)]
    pub fn insert(&mut self, i: usize) {
        self.bits_mut().set(i, true);
    }
    /// Removes `i`.
    #[inline(always)]
    pub fn remove(&mut self, i: usize) {
        self.bits_mut().set(i, false);
    }
    /// The members, in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.bits().iter_ones()
    }
}

impl<K, V: core::fmt::Debug> core::fmt::Debug for Column<'_, K, V> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.data.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    entity_id!(struct WidgetId, "w");

    #[test]
    fn column_is_indexed_by_its_id() {
        let arena = Arena::new();
        let mut sizes: Column<WidgetId, u32> = Column::new_in(&arena);
        let a = sizes.push(10);
        let b = sizes.push(20);
        assert_eq!((a, b), (WidgetId::new(0), WidgetId::new(1)));
        sizes[b] += 1;
        assert_eq!(sizes[b], 21);
        assert_eq!(sizes.next_key(), WidgetId::new(2));
        let ids: Vec<WidgetId> = sizes.keys().collect();
        assert_eq!(ids, vec![a, b]);
        assert_eq!(format!("{a:?} {:?}", WidgetId::invalid()), "w0 w-");
        assert_eq!((b.index(), b.raw_u32()), (1, 1));
        assert!(b.is_valid() && !b.is_invalid() && WidgetId::invalid().is_invalid());
    }

    #[test]
    fn bitset_inserts_and_removes() {
        let arena = Arena::new();
        let mut set = BitSet::new_in(130, &arena);
        for i in [0, 63, 64, 129] {
            assert!(!set.contains(i));
            set.insert(i);
            assert!(set.contains(i));
        }
        assert!(!set.contains(1) && !set.contains(128));
        set.remove(64);
        assert!(!set.contains(64) && set.contains(63) && set.contains(129));
        assert_eq!(set.iter().collect::<Vec<_>>(), vec![0, 63, 129]);
    }
}
