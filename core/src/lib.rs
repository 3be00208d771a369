//! # regarena
//!
//! A register allocator for compiler backends: the Ion backtracking
//! algorithm, rebuilt data-oriented (struct-of-arrays tables with typed
//! indices, a per-run bump arena, one free function per phase), behind the
//! public API of [regalloc2] 0.15. A backend that programs against
//! regalloc2 switches by changing one dependency.
//!
//! Every public type here has the name, methods and bit layout of its
//! regalloc2 counterpart, so values convert bit-for-bit (`PReg`, `VReg`,
//! `Operand`, `Allocation`, `ProgPoint`). Each type is defined exactly once,
//! in this file or in `index.rs`; every other module imports it.
//!
//! [regalloc2]: https://docs.rs/regalloc2/0.15.2

#![warn(missing_docs)]
#![warn(missing_debug_implementations)]

extern crate alloc;

pub mod checker;
mod fastalloc;
#[cfg(feature = "arbitrary")]
pub mod gen;
mod index;
pub mod owned;
#[cfg(feature = "parallel")]
pub mod parallel;
#[cfg(feature = "enable-serde")]
pub mod serialize;

// The allocator's internals: the CFG analysis, the input validation, the
// tables and the phases. Crate-private unless the `internals` feature
// makes them public for this workspace's tools, tests and benches (phase
// by phase tests, `regarena dump`); they are not a stable API.
#[cfg(feature = "internals")]
#[allow(missing_docs, reason = "internals: not a stable API")]
pub mod cfg;
#[cfg(not(feature = "internals"))]
#[allow(
    dead_code,
    reason = "a few helpers serve only the tests and tools that enable `internals`"
)]
pub(crate) mod cfg;
#[cfg(feature = "internals")]
#[allow(missing_docs, reason = "internals: not a stable API")]
pub mod ion;
#[cfg(not(feature = "internals"))]
#[allow(
    dead_code,
    reason = "a few helpers serve only the tests and tools that enable `internals`"
)]
pub(crate) mod ion;
#[cfg(feature = "internals")]
#[allow(missing_docs, reason = "internals: not a stable API")]
pub mod tables;
#[cfg(not(feature = "internals"))]
#[allow(
    dead_code,
    reason = "a few helpers serve only the tests and tools that enable `internals`"
)]
pub(crate) mod tables;
#[cfg(feature = "internals")]
#[allow(missing_docs, reason = "internals: not a stable API")]
pub mod validate;
#[cfg(not(feature = "internals"))]
#[allow(
    dead_code,
    reason = "a few helpers serve only the tests and tools that enable `internals`"
)]
pub(crate) mod validate;

pub use index::{Block, Inst, InstRange};
pub use ion::{Ctx, Stats};
pub use owned::FunctionData;
#[cfg(feature = "parallel")]
pub use parallel::allocate_all;

use core::fmt;

// ---------------------------------------------------------------------------
// Registers
// ---------------------------------------------------------------------------

/// The class of a register: which register file it lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "enable-serde", derive(serde::Serialize, serde::Deserialize))]
pub enum RegClass {
    /// General-purpose (integer) registers.
    Int = 0,
    /// Floating-point registers.
    Float = 1,
    /// Vector registers.
    Vector = 2,
}

impl RegClass {
    /// All classes, in index order.
    pub const ALL: [RegClass; 3] = [RegClass::Int, RegClass::Float, RegClass::Vector];

    /// The class of a 2-bit code as the packed types store it, the unused
    /// code 3 reading as `Vector`: a table load, so the many callers
    /// (every `Operand::vreg`) get no branch.
    #[inline(always)]
    const fn from_code(code: u64) -> RegClass {
        const BY_CODE: [RegClass; 4] = [
            RegClass::Int,
            RegClass::Float,
            RegClass::Vector,
            RegClass::Vector,
        ];
        BY_CODE[(code & 3) as usize]
    }

    /// The class with the given 2-bit code, if it names one.
    #[inline(always)]
    pub const fn from_bits(bits: u32) -> Option<RegClass> {
        match bits {
            0 => Some(RegClass::Int),
            1 => Some(RegClass::Float),
            2 => Some(RegClass::Vector),
            _ => None,
        }
    }
}

/// A physical register: `class << 6 | hw_enc` in one byte (regalloc2's layout).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "enable-serde", derive(serde::Serialize, serde::Deserialize))]
#[repr(transparent)]
pub struct PReg {
    bits: u8,
}

impl PReg {
    /// Bits of the hardware encoding.
    pub const MAX_BITS: usize = 6;
    /// The largest hardware encoding.
    pub const MAX: usize = (1 << Self::MAX_BITS) - 1;
    /// Number of distinct indices, class bits included.
    pub const NUM_INDEX: usize = 1 << (Self::MAX_BITS + 2);
    /// The bits of the invalid register (Int class, encoding `MAX`).
    pub const INVALID: u8 = Self::MAX as u8;

    /// The register with hardware encoding `hw_enc` in `class`.
    #[inline(always)]
    pub const fn new(hw_enc: usize, class: RegClass) -> Self {
        debug_assert!(hw_enc <= Self::MAX);
        PReg {
            bits: ((class as u8) << Self::MAX_BITS) | (hw_enc as u8 & Self::MAX as u8),
        }
    }
    /// The hardware encoding (the low 6 bits).
    #[inline(always)]
    pub const fn hw_enc(self) -> usize {
        self.bits as usize & Self::MAX
    }
    /// The register's class. Index 3 (no class) reads as `Vector`, never
    /// panicking; no constructor produces it.
    #[inline(always)]
    pub const fn class(self) -> RegClass {
        RegClass::from_code((self.bits >> Self::MAX_BITS) as u64)
    }
    /// A dense index in `0..NUM_INDEX`, distinct for every register of every class.
    #[inline(always)]
    pub const fn index(self) -> usize {
        self.bits as usize
    }
    /// The register with dense index `index` (as returned by [`PReg::index`]).
    #[inline(always)]
    pub const fn from_index(index: usize) -> Self {
        PReg {
            bits: (index & (Self::NUM_INDEX - 1)) as u8,
        }
    }
    /// The invalid register (the `None` of an optional `PReg`).
    #[inline(always)]
    pub const fn invalid() -> Self {
        PReg {
            bits: Self::INVALID,
        }
    }
    /// `Some(self)` unless `self` is the invalid register.
    #[inline(always)]
    pub const fn as_valid(self) -> Option<Self> {
        if self.bits == Self::INVALID {
            None
        } else {
            Some(self)
        }
    }
}

impl Default for PReg {
    fn default() -> Self {
        Self::invalid()
    }
}

impl fmt::Debug for PReg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PReg(hw = {}, class = {:?}, index = {})",
            self.hw_enc(),
            self.class(),
            self.index()
        )
    }
}

impl fmt::Display for PReg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "p{}{}", self.hw_enc(), class_suffix(self.class()))
    }
}

fn class_suffix(class: RegClass) -> &'static str {
    match class {
        RegClass::Int => "i",
        RegClass::Float => "f",
        RegClass::Vector => "v",
    }
}

const PREGSET_WORDS: usize = PReg::NUM_INDEX / 64;

/// A set of physical registers: one bit per [`PReg::index`], four `u64` words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "enable-serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PRegSet {
    bits: [u64; PREGSET_WORDS],
}

#[allow(
    clippy::len_without_is_empty,
    reason = "regalloc2's API: `is_empty` takes a class, `len` counts all classes"
)]
impl PRegSet {
    /// Number of `u64` words (register class `c` is word `c`).
    pub(crate) const WORDS: usize = PREGSET_WORDS;

    /// The raw bit words, for code that scans sets word by word.
    #[inline(always)]
    pub(crate) fn words(&self) -> [u64; PREGSET_WORDS] {
        self.bits
    }

    /// The set with the given raw bit words (see [`PRegSet::words`]).
    #[inline(always)]
    pub(crate) fn from_words(bits: [u64; PREGSET_WORDS]) -> Self {
        PRegSet { bits }
    }

    /// The word of `class`'s registers (bit `hw_enc`), read alone: a
    /// step choosing a register of one class needs no other word, and one
    /// word loaded after one-word updates takes its data from them.
    #[inline(always)]
    pub(crate) fn class_word(&self, class: RegClass) -> u64 {
        self.bits[class as usize]
    }

    /// Whether `self` shares a register with `a` or `b`, reading every
    /// set one `u64` word per load. For sets just updated by
    /// [`PRegSet::add`] or [`PRegSet::remove`] (one-word stores): the
    /// usual two-word vector loads of a whole-set operation cannot take
    /// their data from such a store still in flight, and wait until it
    /// reaches the cache.
    #[inline(always)]
    pub(crate) fn meets_either_word_by_word(&self, a: &PRegSet, b: &PRegSet) -> bool {
        // A volatile read is one load of exactly this word (a plain read
        // may be merged with its neighbours into a wider one).
        // SAFETY: `word` is a valid, aligned reference.
        let read = |word: &u64| unsafe { core::ptr::read_volatile(word) };
        let mut shared = 0u64;
        for i in 0..PREGSET_WORDS {
            shared |= read(&self.bits[i]) & (read(&a.bits[i]) | read(&b.bits[i]));
        }
        shared != 0
    }

    /// The set with no register.
    pub const fn empty() -> Self {
        PRegSet {
            bits: [0; PREGSET_WORDS],
        }
    }
    #[inline(always)]
    const fn word_and_bit(reg: PReg) -> (usize, u64) {
        (reg.index() / 64, 1u64 << (reg.index() % 64))
    }
    /// Whether `reg` is in the set.
    #[inline(always)]
    pub fn contains(&self, reg: PReg) -> bool {
        let (word, bit) = Self::word_and_bit(reg);
        self.bits[word] & bit != 0
    }
    /// The set with `reg` added (for building sets in a `const fn`).
    pub const fn with(self, reg: PReg) -> Self {
        let mut out = self;
        out.add(reg);
        out
    }
    /// Adds `reg`.
    #[inline]
    pub const fn add(&mut self, reg: PReg) {
        let (word, bit) = Self::word_and_bit(reg);
        self.bits[word] |= bit;
    }
    /// Removes `reg`.
    #[inline]
    pub fn remove(&mut self, reg: PReg) {
        let (word, bit) = Self::word_and_bit(reg);
        self.bits[word] &= !bit;
    }
    /// Adds every register of `other`.
    #[inline]
    pub fn union_from(&mut self, other: PRegSet) {
        for (mine, theirs) in self.bits.iter_mut().zip(other.bits) {
            *mine |= theirs;
        }
    }
    /// Keeps only the registers also in `other`.
    #[inline]
    pub fn intersect_from(&mut self, other: PRegSet) {
        for (mine, theirs) in self.bits.iter_mut().zip(other.bits) {
            *mine &= theirs;
        }
    }
    /// Every register index not in the set (all classes).
    pub fn invert(&self) -> PRegSet {
        PRegSet {
            bits: self.bits.map(|w| !w),
        }
    }
    /// Whether the set has no register of `regclass`.
    pub fn is_empty(&self, regclass: RegClass) -> bool {
        self.bits[regclass as usize] == 0
    }
    /// The number of registers in the set, all classes together.
    pub fn len(&self) -> u32 {
        self.bits.iter().map(|w| w.count_ones()).sum()
    }
    /// The register with the largest index, if any.
    pub fn max_preg(&self) -> Option<PReg> {
        let word = self.bits.iter().rposition(|&w| w != 0)?;
        let bit = 63 - self.bits[word].leading_zeros() as usize;
        Some(PReg::from_index(word * 64 + bit))
    }
    /// Sets exactly the registers with an index below `reg`'s.
    pub fn add_up_to(&mut self, reg: PReg) {
        let (word, bit) = Self::word_and_bit(reg);
        for w in &mut self.bits[..word] {
            *w = !0;
        }
        self.bits[word] = bit - 1;
    }
}

impl core::ops::BitAnd for PRegSet {
    type Output = PRegSet;
    #[inline]
    fn bitand(mut self, rhs: PRegSet) -> PRegSet {
        self.intersect_from(rhs);
        self
    }
}

impl core::ops::BitOr for PRegSet {
    type Output = PRegSet;
    #[inline]
    fn bitor(mut self, rhs: PRegSet) -> PRegSet {
        self.union_from(rhs);
        self
    }
}

impl IntoIterator for PRegSet {
    type Item = PReg;
    type IntoIter = PRegSetIter;
    fn into_iter(self) -> PRegSetIter {
        PRegSetIter {
            bits: self.bits,
            word: 0,
        }
    }
}

impl IntoIterator for &PRegSet {
    type Item = PReg;
    type IntoIter = PRegSetIter;
    fn into_iter(self) -> PRegSetIter {
        (*self).into_iter()
    }
}

/// Iterates a [`PRegSet`] in index order.
#[derive(Clone, Debug)]
pub struct PRegSetIter {
    bits: [u64; PREGSET_WORDS],
    word: usize,
}

impl Iterator for PRegSetIter {
    type Item = PReg;
    #[inline]
    fn next(&mut self) -> Option<PReg> {
        while self.word < PREGSET_WORDS {
            let w = &mut self.bits[self.word];
            if *w != 0 {
                let bit = w.trailing_zeros() as usize;
                *w &= *w - 1;
                return Some(PReg::from_index(self.word * 64 + bit));
            }
            self.word += 1;
        }
        None
    }
}

impl From<&MachineEnv> for PRegSet {
    fn from(env: &MachineEnv) -> Self {
        let mut set = PRegSet::empty();
        for class in 0..3 {
            set.union_from(env.preferred_regs_by_class[class]);
            set.union_from(env.non_preferred_regs_by_class[class]);
        }
        set
    }
}

impl FromIterator<PReg> for PRegSet {
    fn from_iter<T: IntoIterator<Item = PReg>>(iter: T) -> Self {
        let mut set = PRegSet::empty();
        for preg in iter {
            set.add(preg);
        }
        set
    }
}

impl fmt::Display for PRegSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{")?;
        for preg in self {
            write!(f, "{preg}, ")?;
        }
        write!(f, "}}")
    }
}

/// A virtual register: `index << 2 | class` in a `u32` (regalloc2's layout).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "enable-serde", derive(serde::Serialize, serde::Deserialize))]
#[repr(transparent)]
pub struct VReg {
    bits: u32,
}

impl VReg {
    /// Bits of the vreg number.
    pub const MAX_BITS: usize = 30;
    /// The largest vreg number.
    pub const MAX: usize = (1 << Self::MAX_BITS) - 1;

    /// Virtual register number `virt_reg` of class `class`.
    #[inline(always)]
    pub const fn new(virt_reg: usize, class: RegClass) -> Self {
        debug_assert!(virt_reg <= Self::MAX);
        VReg {
            bits: ((virt_reg as u32) << 2) | class as u32,
        }
    }
    /// The vreg number (without the class).
    #[inline(always)]
    pub const fn vreg(self) -> usize {
        (self.bits >> 2) as usize
    }
    /// The class; the unused code 3 reads as `Vector` rather than panicking.
    #[inline(always)]
    pub const fn class(self) -> RegClass {
        RegClass::from_code(self.bits as u64)
    }
    /// The invalid vreg (the `None` of an optional `VReg`).
    #[inline(always)]
    pub const fn invalid() -> Self {
        VReg::new(Self::MAX, RegClass::Int)
    }
    /// The packed representation: `vreg << 2 | class`.
    #[inline(always)]
    pub const fn bits(self) -> usize {
        self.bits as usize
    }
    /// The vreg with packed representation `bits` (from [`VReg::bits`]).
    #[inline(always)]
    pub const fn from_bits(bits: u32) -> VReg {
        VReg { bits }
    }
}

impl From<u32> for VReg {
    fn from(bits: u32) -> Self {
        VReg { bits }
    }
}

impl fmt::Debug for VReg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "VReg(vreg = {}, class = {:?})",
            self.vreg(),
            self.class()
        )
    }
}

impl fmt::Display for VReg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.vreg())
    }
}

/// A spill slot: an index into the function's spill area, in slot units.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "enable-serde", derive(serde::Serialize, serde::Deserialize))]
#[repr(transparent)]
pub struct SpillSlot {
    bits: u32,
}

impl SpillSlot {
    /// The largest slot index.
    pub const MAX: usize = (1 << 24) - 1;

    /// Spill slot number `slot`.
    #[inline(always)]
    pub fn new(slot: usize) -> Self {
        debug_assert!(slot <= Self::MAX);
        SpillSlot { bits: slot as u32 }
    }
    /// The slot number.
    #[inline(always)]
    pub fn index(self) -> usize {
        (self.bits & 0x00ff_ffff) as usize
    }
    /// The slot `offset` slots further on.
    #[inline(always)]
    pub fn plus(self, offset: usize) -> Self {
        SpillSlot::new(self.index() + offset)
    }
    /// The invalid slot (the `None` of an optional `SpillSlot`).
    #[inline(always)]
    pub fn invalid() -> Self {
        SpillSlot { bits: u32::MAX }
    }
    /// Whether this is the invalid slot.
    #[inline(always)]
    pub fn is_invalid(self) -> bool {
        self.bits == u32::MAX
    }
    /// Whether this is a real slot.
    #[inline(always)]
    pub fn is_valid(self) -> bool {
        self.bits != u32::MAX
    }
}

impl fmt::Display for SpillSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "stack{}", self.index())
    }
}

// ---------------------------------------------------------------------------
// Operands
// ---------------------------------------------------------------------------

/// Where an operand's value must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "enable-serde", derive(serde::Serialize, serde::Deserialize))]
pub enum OperandConstraint {
    /// A register or a stack slot.
    Any,
    /// A register of the operand's class.
    Reg,
    /// A stack slot.
    Stack,
    /// This physical register (or fixed stack slot named by a `PReg`).
    FixedReg(PReg),
    /// The same allocation as the input operand at this index (defs only).
    Reuse(usize),
    /// A register whose hardware encoding is below this power of two.
    Limit(usize),
}

impl fmt::Display for OperandConstraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => write!(f, "any"),
            Self::Reg => write!(f, "reg"),
            Self::Stack => write!(f, "stack"),
            Self::FixedReg(preg) => write!(f, "fixed({preg})"),
            Self::Reuse(idx) => write!(f, "reuse({idx})"),
            Self::Limit(max) => write!(f, "limit(0..={})", max.saturating_sub(1)),
        }
    }
}

/// Whether an operand reads or writes its vreg.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "enable-serde", derive(serde::Serialize, serde::Deserialize))]
pub enum OperandKind {
    /// The instruction writes the value.
    Def = 0,
    /// The instruction reads the value.
    Use = 1,
}

/// Whether an operand acts at the start or the end of its instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "enable-serde", derive(serde::Serialize, serde::Deserialize))]
pub enum OperandPos {
    /// At the start of the instruction (before its late operands).
    Early = 0,
    /// At the end of the instruction (after its early operands).
    Late = 1,
}

/// One register mention of an instruction, packed in 43 bits of a `u64`
/// exactly as regalloc2 packs it:
///
/// | bits  | field                                                        |
/// |-------|--------------------------------------------------------------|
/// | 0-31  | vreg index                                                   |
/// | 32-33 | class                                                        |
/// | 34    | pos (0 early, 1 late)                                        |
/// | 35    | kind (0 def, 1 use)                                          |
/// | 36-42 | constraint: `1xxxxxx` fixed reg, `01xxxxx` reuse, `001xxxx` limit (log2), 0 any, 1 reg, 2 stack |
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "enable-serde", derive(serde::Serialize, serde::Deserialize))]
#[repr(transparent)]
pub struct Operand {
    bits: u64,
}

/// Codes of [`Operand::constraint_kind`], in an order that lets a walk
/// test "stack or fixed" with one compare.
pub(crate) mod constraint_kind {
    pub const ANY: u8 = 0;
    /// `Reg` or `Reuse`.
    pub const REG: u8 = 1;
    pub const LIMIT: u8 = 2;
    pub const STACK: u8 = 3;
    pub const FIXED: u8 = 4;
}

/// [`Operand::constraint_kind`] of every value of the 7-bit constraint
/// field, decoded as [`Operand::constraint`] decodes it.
pub(crate) const CONSTRAINT_KIND_BY_FIELD: [u8; 128] = {
    let mut table = [constraint_kind::ANY; 128];
    let mut field = 0;
    while field < 128 {
        table[field] = if field as u64 & Operand::FIXED_TAG != 0 {
            constraint_kind::FIXED
        } else if field as u64 & Operand::REUSE_TAG != 0 {
            constraint_kind::REG
        } else if field as u64 & Operand::LIMIT_TAG != 0 {
            constraint_kind::LIMIT
        } else if field == 1 {
            constraint_kind::REG
        } else if field == 2 {
            constraint_kind::STACK
        } else {
            constraint_kind::ANY
        };
        field += 1;
    }
    table
};

impl Operand {
    const CLASS_SHIFT: u32 = 32;
    const POS_SHIFT: u32 = 34;
    const KIND_SHIFT: u32 = 35;
    const CONSTRAINT_SHIFT: u32 = 36;
    const TOTAL_BITS: u32 = 43;

    const FIXED_TAG: u64 = 0b100_0000;
    const REUSE_TAG: u64 = 0b010_0000;
    const LIMIT_TAG: u64 = 0b001_0000;

    /// An operand from its parts; the other constructors are shorthands.
    #[inline(always)]
    pub fn new(
        vreg: VReg,
        constraint: OperandConstraint,
        kind: OperandKind,
        pos: OperandPos,
    ) -> Self {
        let constraint_bits = match constraint {
            OperandConstraint::Any => 0,
            OperandConstraint::Reg => 1,
            OperandConstraint::Stack => 2,
            OperandConstraint::FixedReg(preg) => {
                debug_assert_eq!(preg.class(), vreg.class());
                Self::FIXED_TAG | preg.hw_enc() as u64
            }
            OperandConstraint::Reuse(which) => {
                debug_assert!(which <= 0b1_1111);
                Self::REUSE_TAG | (which as u64 & 0b1_1111)
            }
            OperandConstraint::Limit(max) => {
                assert!(max.is_power_of_two(), "limit must be a power of two");
                assert!(
                    max <= PReg::MAX + 1,
                    "limit is larger than the allowed register encoding"
                );
                Self::LIMIT_TAG | max.ilog2() as u64
            }
        };
        Operand {
            bits: vreg.vreg() as u64
                | (vreg.class() as u64) << Self::CLASS_SHIFT
                | (pos as u64) << Self::POS_SHIFT
                | (kind as u64) << Self::KIND_SHIFT
                | constraint_bits << Self::CONSTRAINT_SHIFT,
        }
    }

    /// A use in a register, read at the start of the instruction.
    #[inline(always)]
    pub fn reg_use(vreg: VReg) -> Self {
        Self::new(
            vreg,
            OperandConstraint::Reg,
            OperandKind::Use,
            OperandPos::Early,
        )
    }
    /// A use in a register that stays live until the end of the instruction.
    #[inline(always)]
    pub fn reg_use_at_end(vreg: VReg) -> Self {
        Self::new(
            vreg,
            OperandConstraint::Reg,
            OperandKind::Use,
            OperandPos::Late,
        )
    }
    /// A def in a register, written at the end of the instruction.
    #[inline(always)]
    pub fn reg_def(vreg: VReg) -> Self {
        Self::new(
            vreg,
            OperandConstraint::Reg,
            OperandKind::Def,
            OperandPos::Late,
        )
    }
    /// A def in a register written at the start, so it may not share a
    /// register with any input.
    #[inline(always)]
    pub fn reg_def_at_start(vreg: VReg) -> Self {
        Self::new(
            vreg,
            OperandConstraint::Reg,
            OperandKind::Def,
            OperandPos::Early,
        )
    }
    /// A scratch register for the instruction (an early def nobody reads).
    #[inline(always)]
    pub fn reg_temp(vreg: VReg) -> Self {
        Self::new(
            vreg,
            OperandConstraint::Reg,
            OperandKind::Def,
            OperandPos::Early,
        )
    }
    /// A def that must land in the allocation of input operand `idx`.
    #[inline(always)]
    pub fn reg_reuse_def(vreg: VReg, idx: usize) -> Self {
        Self::new(
            vreg,
            OperandConstraint::Reuse(idx),
            OperandKind::Def,
            OperandPos::Late,
        )
    }
    /// A use of `vreg` that must be in `preg` (early).
    #[inline(always)]
    pub fn reg_fixed_use(vreg: VReg, preg: PReg) -> Self {
        Self::new(
            vreg,
            OperandConstraint::FixedReg(preg),
            OperandKind::Use,
            OperandPos::Early,
        )
    }
    /// A def of `vreg` that lands in `preg` (late).
    #[inline(always)]
    pub fn reg_fixed_def(vreg: VReg, preg: PReg) -> Self {
        Self::new(
            vreg,
            OperandConstraint::FixedReg(preg),
            OperandKind::Def,
            OperandPos::Late,
        )
    }
    /// A use of `vreg` in `preg` that lasts to the end of the instruction (late).
    #[inline(always)]
    pub fn reg_fixed_use_at_end(vreg: VReg, preg: PReg) -> Self {
        Self::new(
            vreg,
            OperandConstraint::FixedReg(preg),
            OperandKind::Use,
            OperandPos::Late,
        )
    }
    /// A def of `vreg` in `preg` written at the start of the instruction (early),
    /// so it cannot share a register with any input.
    #[inline(always)]
    pub fn reg_fixed_def_at_start(vreg: VReg, preg: PReg) -> Self {
        Self::new(
            vreg,
            OperandConstraint::FixedReg(preg),
            OperandKind::Def,
            OperandPos::Early,
        )
    }
    /// A use of `vreg` in a register or on the stack, as the allocator chooses.
    #[inline(always)]
    pub fn any_use(vreg: VReg) -> Self {
        Self::new(
            vreg,
            OperandConstraint::Any,
            OperandKind::Use,
            OperandPos::Early,
        )
    }
    /// A def of `vreg` into a register or onto the stack, as the allocator chooses.
    #[inline(always)]
    pub fn any_def(vreg: VReg) -> Self {
        Self::new(
            vreg,
            OperandConstraint::Any,
            OperandKind::Def,
            OperandPos::Late,
        )
    }
    /// Names a register the instruction uses that the allocator does not
    /// manage (a stack pointer, say). It occupies an operand slot and gets
    /// exactly that register as its allocation.
    #[inline(always)]
    pub fn fixed_nonallocatable(preg: PReg) -> Self {
        Self::new(
            VReg::new(VReg::MAX, preg.class()),
            OperandConstraint::FixedReg(preg),
            OperandKind::Use,
            OperandPos::Early,
        )
    }

    /// The operand's virtual register.
    #[inline(always)]
    pub fn vreg(self) -> VReg {
        VReg::new(self.bits as u32 as usize, self.class())
    }
    /// The class of the operand's virtual register.
    #[inline(always)]
    pub fn class(self) -> RegClass {
        RegClass::from_code(self.bits >> Self::CLASS_SHIFT)
    }
    /// Whether the operand reads or writes its vreg.
    #[inline(always)]
    pub fn kind(self) -> OperandKind {
        const BY_BIT: [OperandKind; 2] = [OperandKind::Def, OperandKind::Use];
        BY_BIT[((self.bits >> Self::KIND_SHIFT) & 1) as usize]
    }
    /// Whether the operand is read or written early or late in the instruction.
    #[inline(always)]
    pub fn pos(self) -> OperandPos {
        const BY_BIT: [OperandPos; 2] = [OperandPos::Early, OperandPos::Late];
        BY_BIT[((self.bits >> Self::POS_SHIFT) & 1) as usize]
    }
    /// The constraint. The unused plain codes 3..=15 read as `Any`, so a
    /// corrupt operand never panics here (validation rejects it).
    #[inline(always)]
    pub fn constraint(self) -> OperandConstraint {
        let field = (self.bits >> Self::CONSTRAINT_SHIFT) & 0b111_1111;
        if field & Self::FIXED_TAG != 0 {
            OperandConstraint::FixedReg(PReg::new((field & 0b11_1111) as usize, self.class()))
        } else if field & Self::REUSE_TAG != 0 {
            OperandConstraint::Reuse((field & 0b1_1111) as usize)
        } else if field & Self::LIMIT_TAG != 0 {
            OperandConstraint::Limit(1 << (field & 0b1111))
        } else {
            match field {
                1 => OperandConstraint::Reg,
                2 => OperandConstraint::Stack,
                _ => OperandConstraint::Any,
            }
        }
    }
    /// Whether this is a [`Operand::fixed_nonallocatable`] operand (a
    /// fixed register on the reserved vreg), tested on the bits without
    /// decoding the constraint: for walks over every operand.
    #[inline(always)]
    pub(crate) fn is_fixed_nonallocatable(self) -> bool {
        let fixed = (self.bits >> Self::CONSTRAINT_SHIFT) & Self::FIXED_TAG != 0;
        fixed & (self.bits as u32 as usize & VReg::MAX == VReg::MAX)
    }
    /// The operand slot a `Reuse` constraint names, if this is one; a
    /// bit test first, as for [`is_fixed_nonallocatable`](Self::is_fixed_nonallocatable).
    #[inline(always)]
    pub(crate) fn reused_slot(self) -> Option<usize> {
        let field = (self.bits >> Self::CONSTRAINT_SHIFT) & 0b111_1111;
        Self::is_reuse_field(field).then_some((field & 0b1_1111) as usize)
    }
    /// The register of a `FixedReg` constraint, if this is one (bit test
    /// first).
    #[inline(always)]
    pub(crate) fn fixed_reg(self) -> Option<PReg> {
        let field = (self.bits >> Self::CONSTRAINT_SHIFT) & 0b111_1111;
        (field & Self::FIXED_TAG != 0)
            .then(|| PReg::new((field & 0b11_1111) as usize, self.class()))
    }
    /// Whether a 7-bit constraint field is a `Reuse` (for tables built
    /// from the field, like [`CONSTRAINT_KIND_BY_FIELD`]).
    pub(crate) const fn is_reuse_field(field: u64) -> bool {
        field & (Self::FIXED_TAG | Self::REUSE_TAG) == Self::REUSE_TAG
    }
    /// The constraint's kind as a small code, read from a table by the
    /// constraint field (no chain of tests): see [`constraint_kind`].
    #[inline(always)]
    pub(crate) fn constraint_kind(self) -> u8 {
        CONSTRAINT_KIND_BY_FIELD[((self.bits >> Self::CONSTRAINT_SHIFT) & 0b111_1111) as usize]
    }
    /// Whether the operand is a def (bit test; [`kind`](Self::kind) as a
    /// `bool`).
    #[inline(always)]
    pub(crate) fn is_def(self) -> bool {
        (self.bits >> Self::KIND_SHIFT) & 1 == 0
    }
    /// Whether the operand is at the late position (bit test).
    #[inline(always)]
    pub(crate) fn is_late(self) -> bool {
        (self.bits >> Self::POS_SHIFT) & 1 != 0
    }
    /// The register of a [`Operand::fixed_nonallocatable`] operand.
    #[inline(always)]
    pub fn as_fixed_nonallocatable(self) -> Option<PReg> {
        match self.constraint() {
            OperandConstraint::FixedReg(preg) if self.vreg().vreg() == VReg::MAX => Some(preg),
            _ => None,
        }
    }
    /// The packed representation (regalloc2's bit layout).
    #[inline(always)]
    pub fn bits(self) -> u64 {
        self.bits
    }
    /// The operand with packed representation `bits` (from [`Operand::bits`]).
    #[inline(always)]
    pub fn from_bits(bits: u64) -> Self {
        debug_assert_eq!(bits >> Self::TOTAL_BITS, 0);
        Operand { bits }
    }
}

impl fmt::Debug for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(preg) = self.as_fixed_nonallocatable() {
            return write!(f, "Fixed: {preg}");
        }
        match (self.kind(), self.pos()) {
            (OperandKind::Def, OperandPos::Late) | (OperandKind::Use, OperandPos::Early) => {
                write!(f, "{:?}", self.kind())?
            }
            _ => write!(f, "{:?}@{:?}", self.kind(), self.pos())?,
        }
        write!(
            f,
            ": {}{} {}",
            self.vreg(),
            class_suffix(self.class()),
            self.constraint()
        )
    }
}

// ---------------------------------------------------------------------------
// Allocations
// ---------------------------------------------------------------------------

/// Where a value lives: `kind << 29 | index` in a `u32` (regalloc2's layout).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "enable-serde", derive(serde::Serialize, serde::Deserialize))]
#[repr(transparent)]
pub struct Allocation {
    bits: u32,
}

/// What kind of location an [`Allocation`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "enable-serde", derive(serde::Serialize, serde::Deserialize))]
#[repr(u8)]
pub enum AllocationKind {
    /// No location (the operand was not allocated).
    None = 0,
    /// A physical register.
    Reg = 1,
    /// A spill slot.
    Stack = 2,
}

impl Allocation {
    const INDEX_MASK: u32 = (1 << 28) - 1;

    #[inline(always)]
    fn new(kind: AllocationKind, index: usize) -> Self {
        debug_assert!(index <= Self::INDEX_MASK as usize);
        Allocation {
            bits: (kind as u32) << 29 | (index as u32 & Self::INDEX_MASK),
        }
    }
    /// No location.
    #[inline(always)]
    pub fn none() -> Allocation {
        Self::new(AllocationKind::None, 0)
    }
    /// In register `preg`.
    #[inline(always)]
    pub fn reg(preg: PReg) -> Allocation {
        Self::new(AllocationKind::Reg, preg.index())
    }
    /// In spill slot `slot`.
    #[inline(always)]
    pub fn stack(slot: SpillSlot) -> Allocation {
        Self::new(AllocationKind::Stack, slot.bits as usize)
    }
    /// The kind; unused kind codes read as `None`.
    #[inline(always)]
    pub fn kind(self) -> AllocationKind {
        match self.bits >> 29 {
            1 => AllocationKind::Reg,
            2 => AllocationKind::Stack,
            _ => AllocationKind::None,
        }
    }
    /// Whether this is no location.
    #[inline(always)]
    pub fn is_none(self) -> bool {
        // Kind codes 0 and 3 (unused, read as `None`): one compare.
        (self.bits >> 29).wrapping_sub(1) >= 2
    }
    /// Whether this is a register or a slot.
    #[inline(always)]
    pub fn is_some(self) -> bool {
        (self.bits >> 29).wrapping_sub(1) < 2
    }
    /// Whether this is a register.
    #[inline(always)]
    pub fn is_reg(self) -> bool {
        self.bits >> 29 == AllocationKind::Reg as u32
    }
    /// Whether this is a spill slot.
    #[inline(always)]
    pub fn is_stack(self) -> bool {
        self.bits >> 29 == AllocationKind::Stack as u32
    }
    /// The register index or slot number (meaningful with the kind).
    #[inline(always)]
    pub fn index(self) -> usize {
        (self.bits & Self::INDEX_MASK) as usize
    }
    /// The register, if this is one.
    #[inline(always)]
    pub fn as_reg(self) -> Option<PReg> {
        if self.is_reg() {
            Some(PReg::from_index(self.index()))
        } else {
            None
        }
    }
    /// The spill slot, if this is one.
    #[inline(always)]
    pub fn as_stack(self) -> Option<SpillSlot> {
        if self.is_stack() {
            Some(SpillSlot {
                bits: self.index() as u32,
            })
        } else {
            None
        }
    }
    /// The packed representation: kind in the top 3 bits, index below.
    #[inline(always)]
    pub fn bits(self) -> u32 {
        self.bits
    }
    /// The allocation with packed representation `bits` (from [`Allocation::bits`]).
    #[inline(always)]
    pub fn from_bits(bits: u32) -> Self {
        Allocation { bits }
    }
}

impl fmt::Debug for Allocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Allocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.as_reg(), self.as_stack()) {
            (Some(preg), _) => write!(f, "{preg}"),
            (_, Some(slot)) => write!(f, "{slot}"),
            _ => write!(f, "none"),
        }
    }
}

// ---------------------------------------------------------------------------
// Program points and edits
// ---------------------------------------------------------------------------

/// Before or after an instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "enable-serde", derive(serde::Serialize, serde::Deserialize))]
#[repr(u8)]
pub enum InstPosition {
    /// Before the instruction: where its early operands are read and written.
    Before = 0,
    /// After the instruction: where its late operands are read and written.
    After = 1,
}

/// A point before or after an instruction: `inst << 1 | pos` in a `u32`.
/// Ordered by program order.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "enable-serde", derive(serde::Serialize, serde::Deserialize))]
#[repr(transparent)]
pub struct ProgPoint {
    bits: u32,
}

impl ProgPoint {
    /// The point at `pos` of `inst`.
    #[inline(always)]
    pub fn new(inst: Inst, pos: InstPosition) -> Self {
        ProgPoint {
            bits: (inst.0 << 1) | pos as u32,
        }
    }
    /// The point before `inst`.
    #[inline(always)]
    pub fn before(inst: Inst) -> Self {
        Self::new(inst, InstPosition::Before)
    }
    /// The point after `inst`.
    #[inline(always)]
    pub fn after(inst: Inst) -> Self {
        Self::new(inst, InstPosition::After)
    }
    /// The instruction; arithmetic shift keeps `Inst::invalid()` invalid.
    #[inline(always)]
    pub fn inst(self) -> Inst {
        Inst(((self.bits as i32) >> 1) as u32)
    }
    /// Before or after the instruction.
    #[inline(always)]
    pub fn pos(self) -> InstPosition {
        if self.bits & 1 == 0 {
            InstPosition::Before
        } else {
            InstPosition::After
        }
    }
    /// The following point: After of the same instruction, or Before of the next.
    #[inline(always)]
    pub fn next(self) -> ProgPoint {
        ProgPoint {
            bits: self.bits + 1,
        }
    }
    /// The point just before this one (the other half of the instruction,
    /// or the previous instruction's `After`).
    #[inline(always)]
    pub fn prev(self) -> ProgPoint {
        ProgPoint {
            bits: self.bits - 1,
        }
    }
    /// A dense index: `inst * 2 + pos`, in program order.
    #[inline(always)]
    pub fn to_index(self) -> u32 {
        self.bits
    }
    /// The point with dense index `index` (from [`ProgPoint::to_index`]).
    #[inline(always)]
    pub fn from_index(index: u32) -> Self {
        ProgPoint { bits: index }
    }
    /// An invalid point (before the invalid instruction).
    #[inline(always)]
    pub fn invalid() -> Self {
        Self::before(Inst::invalid())
    }
}

impl fmt::Debug for ProgPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pos = match self.pos() {
            InstPosition::Before => "-pre",
            InstPosition::After => "-post",
        };
        write!(f, "progpoint{}{}", self.inst().0, pos)
    }
}

/// An instruction the allocator inserts.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "enable-serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Edit {
    /// Copy `from` into `to`. Either may be a register or a stack slot, but
    /// never both stack slots.
    Move {
        /// Where the value is.
        from: Allocation,
        /// Where the value goes.
        to: Allocation,
    },
}

/// An original instruction or an inserted edit, in program order.
#[derive(Clone, Debug)]
pub enum InstOrEdit<'a> {
    /// An instruction of the function.
    Inst(Inst),
    /// A move inserted by the allocator.
    Edit(&'a Edit),
}

/// Iterates a block's instructions with the edits placed around them.
#[derive(Debug)]
pub struct OutputIter<'a> {
    edits: &'a [(ProgPoint, Edit)],
    inst_range: InstRange,
}

impl<'a> Iterator for OutputIter<'a> {
    type Item = InstOrEdit<'a>;
    fn next(&mut self) -> Option<InstOrEdit<'a>> {
        // Edits after a block's last instruction do not exist (a block ends
        // in a branch), so the block's edits end when its instructions do.
        if self.inst_range.is_empty() {
            return None;
        }
        let inst = self.inst_range.first();
        if let Some(((point, edit), rest)) = self.edits.split_first() {
            if *point <= ProgPoint::before(inst) {
                self.edits = rest;
                return Some(InstOrEdit::Edit(edit));
            }
        }
        self.inst_range = self.inst_range.rest();
        Some(InstOrEdit::Inst(inst))
    }
}

// ---------------------------------------------------------------------------
// The client's function and machine
// ---------------------------------------------------------------------------

/// The function to allocate, as the client describes it. Same methods and
/// defaults as regalloc2's trait of the same name.
///
/// Blocks and vregs are numbered densely from zero. Each block ends in a
/// branch or a return; a branch's block arguments are given per successor
/// by [`Function::branch_blockparams`]. Critical edges must be split.
pub trait Function {
    /// The number of instructions; they are numbered `0..num_insts()`.
    fn num_insts(&self) -> usize;
    /// The number of blocks; they are numbered `0..num_blocks()`.
    fn num_blocks(&self) -> usize;
    /// The block where execution starts (no predecessors, no live-ins).
    fn entry_block(&self) -> Block;
    /// The contiguous range of instructions of `block`; blocks tile the
    /// instruction numbering in order.
    fn block_insns(&self, block: Block) -> InstRange;
    /// The successors of `block`, in the order of the terminating branch's targets.
    fn block_succs(&self, block: Block) -> &[Block];
    /// The predecessors of `block`.
    fn block_preds(&self, block: Block) -> &[Block];
    /// The block's parameters: vregs defined on entry from each predecessor's
    /// branch arguments.
    fn block_params(&self, block: Block) -> &[VReg];
    /// Whether `insn` returns from the function (a block terminator).
    fn is_ret(&self, insn: Inst) -> bool;
    /// Whether `insn` is a branch (a block terminator with successors).
    fn is_branch(&self, insn: Inst) -> bool;
    /// The arguments `insn` (the branch ending `block`) passes to the
    /// block params of successor number `succ_idx`.
    fn branch_blockparams(&self, block: Block, insn: Inst, succ_idx: usize) -> &[VReg];
    /// The operands of `insn`, with their constraints.
    fn inst_operands(&self, insn: Inst) -> &[Operand];
    /// Registers the instruction overwrites with garbage (modelled as late
    /// defs). They must not collide with fixed-register defs or late uses.
    fn inst_clobbers(&self, insn: Inst) -> PRegSet;
    /// The number of vregs; every operand's vreg is below it.
    fn num_vregs(&self) -> usize;
    /// `(vreg, from, to, label)` ranges, sorted by vreg, for which the
    /// output reports value locations in [`Output::debug_locations`].
    fn debug_value_labels(&self) -> &[(VReg, Inst, Inst, u32)] {
        &[]
    }
    /// Spill slots (of the smallest size) a value of `regclass` takes.
    fn spillslot_size(&self, regclass: RegClass) -> usize;
    /// Whether a multi-slot spill slot is named by its last slot rather
    /// than its first.
    fn multi_spillslot_named_by_last_slot(&self) -> bool {
        false
    }
    /// Whether an instruction may def the same vreg several times.
    fn allow_multiple_vreg_defs(&self) -> bool {
        false
    }
}

/// The registers the allocator may use.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "enable-serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MachineEnv {
    /// Registers to use first, per class.
    pub preferred_regs_by_class: [PRegSet; 3],
    /// Registers to use when no preferred one is free (callee-saved, say).
    pub non_preferred_regs_by_class: [PRegSet; 3],
    /// A register per class the allocator may use to break move cycles;
    /// not allocatable otherwise. When absent, the allocator finds a free
    /// register or goes through a spill slot.
    pub scratch_by_class: [Option<PReg>; 3],
    /// `PReg`s that name fixed stack locations (incoming/outgoing stack
    /// arguments), never allocatable.
    pub fixed_stack_slots: Vec<PReg>,
}

/// The allocator's result.
#[derive(Clone, Debug, Default)]
#[cfg_attr(feature = "enable-serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Output {
    /// Spill slots the frame needs.
    pub num_spillslots: usize,
    /// Moves to insert, sorted by program point.
    pub edits: Vec<(ProgPoint, Edit)>,
    /// One allocation per operand, instruction after instruction.
    pub allocs: Vec<Allocation>,
    /// Where each instruction's allocations start in `allocs`.
    pub inst_alloc_offsets: Vec<u32>,
    /// `(label, from, to, alloc)`: where labelled values live, sorted by
    /// label and point, disjoint.
    pub debug_locations: Vec<(u32, ProgPoint, ProgPoint, Allocation)>,
    /// Counters from the allocator's phases.
    pub stats: Stats,
}

impl Output {
    /// The allocations of `inst`'s operands, in operand order.
    pub fn inst_allocs(&self, inst: Inst) -> &[Allocation] {
        let start = self.inst_alloc_offsets[inst.index()] as usize;
        let end = self
            .inst_alloc_offsets
            .get(inst.index() + 1)
            .map_or(self.allocs.len(), |&e| e as usize);
        &self.allocs[start..end]
    }

    /// `block`'s instructions and edits in program order.
    pub fn block_insts_and_edits(&self, func: &impl Function, block: Block) -> OutputIter<'_> {
        let inst_range = func.block_insns(block);
        let start = if inst_range.is_empty() {
            self.edits.len()
        } else {
            let first = ProgPoint::before(inst_range.first());
            self.edits.partition_point(|(point, _)| *point < first)
        };
        OutputIter {
            edits: &self.edits[start..],
            inst_range,
        }
    }
}

/// Why allocation could not proceed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "enable-serde", derive(serde::Serialize, serde::Deserialize))]
pub enum RegAllocError {
    /// The edge between these blocks is critical (more than one successor
    /// leaving, more than one predecessor entering) and not split.
    CritEdge(Block, Block),
    /// Not SSA: `vreg` defined twice or used where no def reaches
    /// (`Inst::invalid()` when a block param is concerned).
    SSA(VReg, Inst),
    /// A malformed block: empty, not ended by exactly one branch or return,
    /// an index out of range, or unreachable.
    BB(Block),
    /// A malformed branch: its arguments do not match the successors' block
    /// params, or it names a block out of range.
    Branch(Inst),
    /// A vreg is live into the entry block.
    EntryLivein,
    /// A branch with non-block-param register arguments into a block with
    /// several predecessors (edge moves would land after the uses).
    DisallowedBranchArg(Inst),
    /// More registers are demanded at one point than exist.
    TooManyLiveRegs,
    /// An instruction has more operands than fit (2^16 - 1).
    TooManyOperands,
}

impl fmt::Display for RegAllocError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

impl std::error::Error for RegAllocError {}

/// Which allocator [`run`] uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Algorithm {
    /// The backtracking allocator.
    #[default]
    Ion,
    /// The single-pass allocator (`fastalloc/`): faster, with more moves.
    Fastalloc,
}

/// Options for one allocation.
#[derive(Clone, Copy, Debug, Default)]
pub struct RegallocOptions {
    /// Extra diagnostic output (accepted for compatibility).
    pub verbose_log: bool,
    /// Check that the input is in SSA form before allocating.
    pub validate_ssa: bool,
    /// Which allocator to run.
    pub algorithm: Algorithm,
}

/// Allocates registers for `func` with a fresh [`Ctx`].
pub fn run<F: Function>(
    func: &F,
    env: &MachineEnv,
    options: &RegallocOptions,
) -> Result<Output, RegAllocError> {
    let mut ctx = Ctx::default();
    run_with_ctx(func, env, options, &mut ctx)?;
    Ok(core::mem::take(&mut ctx.output))
}

/// Allocates registers for `func`, reusing `ctx`'s memory from earlier runs.
/// The result is `ctx.output` (which may be `std::mem::take`n).
pub fn run_with_ctx<'a, F: Function>(
    func: &F,
    env: &MachineEnv,
    options: &RegallocOptions,
    ctx: &'a mut Ctx,
) -> Result<&'a Output, RegAllocError> {
    ion::run(func, env, options, ctx)?;
    Ok(&ctx.output)
}

#[cfg(test)]
mod operand_bit_tests {
    use super::*;

    /// The bit tests and the kind table agree with the constraint decoder
    /// for every value of the constraint field, both kinds and positions,
    /// and both a normal and the reserved vreg.
    #[test]
    fn bit_tests_agree_with_the_decoder() {
        for field in 0u64..128 {
            for (kind, pos) in [(0u64, 0u64), (0, 1), (1, 0), (1, 1)] {
                for vreg in [5u64, VReg::MAX as u64] {
                    let bits = vreg
                        | (RegClass::Float as u64) << Operand::CLASS_SHIFT
                        | pos << Operand::POS_SHIFT
                        | kind << Operand::KIND_SHIFT
                        | field << Operand::CONSTRAINT_SHIFT;
                    let op = Operand { bits };
                    let decoded = op.constraint();
                    let expected_kind = match decoded {
                        OperandConstraint::Any => constraint_kind::ANY,
                        OperandConstraint::Reg | OperandConstraint::Reuse(_) => {
                            constraint_kind::REG
                        }
                        OperandConstraint::Limit(_) => constraint_kind::LIMIT,
                        OperandConstraint::Stack => constraint_kind::STACK,
                        OperandConstraint::FixedReg(_) => constraint_kind::FIXED,
                    };
                    assert_eq!(op.constraint_kind(), expected_kind, "field {field:#x}");
                    assert_eq!(
                        op.fixed_reg(),
                        match decoded {
                            OperandConstraint::FixedReg(preg) => Some(preg),
                            _ => None,
                        }
                    );
                    assert_eq!(
                        op.reused_slot(),
                        match decoded {
                            OperandConstraint::Reuse(slot) => Some(slot),
                            _ => None,
                        }
                    );
                    assert_eq!(
                        op.is_fixed_nonallocatable(),
                        op.as_fixed_nonallocatable().is_some()
                    );
                    assert_eq!(op.is_def(), op.kind() == OperandKind::Def);
                    assert_eq!(op.is_late(), op.pos() == OperandPos::Late);
                }
            }
        }
    }
}
