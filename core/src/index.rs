//! Program indices from the client's view: [`Inst`], [`Block`] and [`InstRange`].
//!
//! These are part of the regalloc2-compatible API: same names, same methods,
//! same `u32` representation with `u32::MAX` as the invalid value.

macro_rules! program_index {
    ($(#[$attr:meta])* $name:ident, $prefix:literal) => {
        $(#[$attr])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[cfg_attr(feature = "enable-serde", derive(serde::Serialize, serde::Deserialize))]
        #[repr(transparent)]
        pub struct $name(pub u32);

        impl $name {
            /// The index `i` (an `i` of `u32::MAX` or more is not a valid index).
            #[inline(always)]
            pub fn new(i: usize) -> Self {
                Self(i as u32)
            }
            /// The index as a `usize`.
            #[inline(always)]
            pub fn index(self) -> usize {
                debug_assert!(self.is_valid());
                self.0 as usize
            }
            /// The invalid index (`u32::MAX`), used as `None`.
            #[inline(always)]
            pub fn invalid() -> Self {
                Self(u32::MAX)
            }
            /// Whether this is the invalid index.
            #[inline(always)]
            pub fn is_invalid(self) -> bool {
                self.0 == u32::MAX
            }
            /// Whether this is a real index.
            #[inline(always)]
            pub fn is_valid(self) -> bool {
                self.0 != u32::MAX
            }
            /// The next index.
            #[inline(always)]
            pub fn next(self) -> Self {
                debug_assert!(self.is_valid());
                Self(self.0 + 1)
            }
            /// The previous index.
            #[inline(always)]
            pub fn prev(self) -> Self {
                debug_assert!(self.is_valid());
                Self(self.0 - 1)
            }
            /// The raw `u32`.
            #[inline(always)]
            pub fn raw_u32(self) -> u32 {
                self.0
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                if self.is_invalid() {
                    write!(f, concat!($prefix, "-"))
                } else {
                    write!(f, concat!($prefix, "{}"), self.0)
                }
            }
        }

        impl From<usize> for $name {
            #[inline(always)]
            fn from(i: usize) -> Self {
                Self(i as u32)
            }
        }

        impl From<$name> for usize {
            #[inline(always)]
            fn from(i: $name) -> usize {
                i.0 as usize
            }
        }
    };
}

program_index!(
    /// An instruction, numbered from 0 in program order across all blocks.
    Inst,
    "i"
);
program_index!(
    /// A basic block, numbered from 0.
    Block,
    "block"
);

/// The half-open range `[from, to)` of instructions of a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "enable-serde", derive(serde::Serialize, serde::Deserialize))]
pub struct InstRange(Inst, Inst);

impl InstRange {
    /// The instructions `from..to` (`to` exclusive).
    #[inline(always)]
    pub fn new(from: Inst, to: Inst) -> Self {
        debug_assert!(from.0 <= to.0);
        InstRange(from, to)
    }
    /// The first instruction (the range must not be empty).
    #[inline(always)]
    pub fn first(self) -> Inst {
        debug_assert!(!self.is_empty());
        self.0
    }
    /// The last instruction (the range must not be empty).
    #[inline(always)]
    pub fn last(self) -> Inst {
        debug_assert!(!self.is_empty());
        self.1.prev()
    }
    /// The range without its first instruction.
    #[inline(always)]
    pub fn rest(self) -> InstRange {
        debug_assert!(!self.is_empty());
        InstRange::new(self.0.next(), self.1)
    }
    /// Number of instructions; 0 when the range is empty or malformed
    /// (`to < from`), so validation can report it instead of panicking.
    #[inline(always)]
    pub fn len(self) -> usize {
        self.1 .0.saturating_sub(self.0 .0) as usize
    }
    /// Whether the range holds no instruction.
    #[inline(always)]
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }
    /// The raw bounds `(from, to)` without any checking.
    #[inline(always)]
    pub fn bounds(self) -> (Inst, Inst) {
        (self.0, self.1)
    }
    /// The instructions in order.
    #[inline(always)]
    pub fn iter(self) -> impl DoubleEndedIterator<Item = Inst> + ExactSizeIterator {
        (self.0 .0..self.1 .0.max(self.0 .0)).map(Inst)
    }
}

impl IntoIterator for InstRange {
    type Item = Inst;
    type IntoIter = core::iter::Map<core::ops::Range<u32>, fn(u32) -> Inst>;
    fn into_iter(self) -> Self::IntoIter {
        (self.0 .0..self.1 .0.max(self.0 .0)).map(Inst as fn(u32) -> Inst)
    }
}
