//! The tables of the single-pass allocator: where each vreg is expected
//! by the code already allocated, which vreg each register holds, and the
//! spill slots handed out so far.
//!
//! Reads: the `MachineEnv` (allocatable registers per class, fixed stack
//! slots) once, when the tables are made. Written by every step of the
//! pass (`inst`, `block`). All columns live in the run arena.
//!
//! The pass walks each block backwards, so "the current point" is a point
//! of the program and the tables describe what the code *after* it
//! expects: `loc[v]` is where `v` must be at that point for the
//! instructions already allocated to find it there (`none`: `v` is not
//! read after the point). Invariants between steps:
//! * `owner[r] == v` iff `loc[v] == reg(r)` for an allocatable `r`;
//! * a vreg with `spilled` set has a slot, its definition (or, for a
//!   block param or a live-in, its predecessors) writes that slot, and the
//!   slot is never written otherwise: every vreg has a slot of its own,
//!   so once written it holds the value wherever the vreg is live.

use crate::tables::{Arena, ArenaVec, Column};
use crate::{Allocation, MachineEnv, PReg, PRegSet, RegClass, SpillSlot, VReg};

/// No vreg (an empty register, an unassigned slot).
pub const NONE: u32 = u32::MAX;

/// What the pass knows of one vreg: one row per vreg, indexed by
/// `VReg::vreg()` (the fields are read together: one cache line per
/// vreg instead of one per column). Eight bytes with no padding, and an
/// unseen vreg's row is all zeros, so the table is made by one `memset`
/// (a 12-byte row with a `bool` and three bytes of padding was written
/// row by row: ~1,200 instructions per 8-31-instruction function).
#[derive(Clone, Copy, Debug)]
pub struct VRegRow {
    /// Where the code after the current point expects the vreg, or none.
    pub loc: Allocation,
    /// The vreg's own spill slot (index) plus one in the low 31 bits (0
    /// until it needs one; slot indices are below `SpillSlot::MAX`),
    /// and [`VRegRow::SPILLED`]: some code relies on the vreg's slot, so
    /// its definition must store it there.
    slot_and_spilled: u32,
}

impl VRegRow {
    /// The flag bit of `slot_and_spilled`.
    const SPILLED: u32 = 1 << 31;

    /// Every vreg's row before the pass sees it (all zeros).
    #[inline]
    pub fn unseen() -> VRegRow {
        VRegRow {
            loc: Allocation::none(),
            slot_and_spilled: 0,
        }
    }

    /// Whether the definition must store the vreg to its slot.
    #[inline]
    pub fn spilled(&self) -> bool {
        self.slot_and_spilled & Self::SPILLED != 0
    }

    /// The slot index plus one, or 0 before the vreg has a slot.
    #[inline]
    fn slot_plus_one(&self) -> u32 {
        self.slot_and_spilled & !Self::SPILLED
    }

    /// The vreg's own slot, if it has one.
    #[inline]
    pub fn slot(&self) -> Option<Allocation> {
        let index = self.slot_plus_one().checked_sub(1)?;
        Some(Allocation::stack(SpillSlot::new(index as usize)))
    }
}

const _: () = assert!(core::mem::size_of::<VRegRow>() == 8);
const _: () = assert!(SpillSlot::MAX < VRegRow::SPILLED as usize);

/// The per-vreg rows.
pub type VRegState<'a> = Column<'a, usize, VRegRow>;

/// The per-register columns, indexed by `PReg::index()`.
#[derive(Debug)]
pub struct PRegState {
    /// The vreg (index) `loc` puts in the register, or [`NONE`].
    pub owner: [u32; PReg::NUM_INDEX],
    /// The registers with an owner (the same facts as `owner`, as a set).
    pub owned: PRegSet,
    /// When the register was last given to an operand: the eviction
    /// victim is the owned register with the oldest stamp.
    pub stamp: [u32; PReg::NUM_INDEX],
    /// Stamp counter (one tick per instruction).
    pub now: u32,
}

/// What the machine offers, per class, decoded once per run (a few
/// words: no table in the arena).
#[derive(Debug)]
pub struct Regs {
    /// The allocatable registers of each class, as sets.
    pub allocatable: [PRegSet; 3],
    /// Per class, the preferred registers (class `c`'s registers are word
    /// `c` of a `PRegSet`). The class's allocation order is these in
    /// index order, then the rest of `allocatable` in index order
    /// ([`Regs::in_order`]), so [`Regs::first_free`] finds the first free
    /// register of that order with two masks instead of a walk.
    pub preferred_word: [u64; 3],
    /// `PReg`s naming fixed stack locations.
    pub fixed_stack: PRegSet,
    /// The machine's scratch register per class, if any.
    pub scratch: [Option<PReg>; 3],
    /// The register the move resolver borrows when nothing is free.
    pub victim: [Option<PReg>; 3],
}

impl Regs {
    pub fn new(env: &MachineEnv) -> Self {
        let mut fixed_stack = PRegSet::empty();
        for &reg in &env.fixed_stack_slots {
            fixed_stack.add(reg);
        }
        // Word by word: class `c`'s registers are word `c` of a set
        // (validation refused an environment with a register in another
        // class's list).
        let fixed = fixed_stack.words();
        let mut allocatable = [PRegSet::empty(); 3];
        let mut preferred_word = [0u64; 3];
        let mut victim = [None; 3];
        for c in 0..3 {
            let preferred = env.preferred_regs_by_class[c].words()[c];
            let other = env.non_preferred_regs_by_class[c].words()[c];
            preferred_word[c] = preferred & !fixed[c];
            let mut words = [0u64; PRegSet::WORDS];
            words[c] = (preferred | other) & !fixed[c];
            allocatable[c] = PRegSet::from_words(words);
            // The highest non-preferred register, else the highest
            // preferred one, unless it names a stack location.
            let listed = if other != 0 { other } else { preferred };
            if listed != 0 {
                let bit = 63 - listed.leading_zeros() as usize;
                if fixed[c] >> bit & 1 == 0 {
                    victim[c] = Some(PReg::from_index(c * 64 + bit));
                }
            }
        }
        Regs {
            allocatable,
            preferred_word,
            fixed_stack,
            scratch: env.scratch_by_class,
            victim,
        }
    }

    /// The allocatable registers of `class` in allocation order: the
    /// preferred ones in index order, then the others in index order.
    #[inline]
    pub fn in_order(&self, class: RegClass) -> impl Iterator<Item = PReg> {
        let c = class as usize;
        let preferred = self.preferred_word[c];
        let rest = self.allocatable[c].words()[c] & !preferred;
        let bits = |mut word: u64| {
            core::iter::from_fn(move || {
                (word != 0).then(|| {
                    let bit = word.trailing_zeros() as usize;
                    word &= word - 1;
                    bit
                })
            })
        };
        bits(preferred)
            .chain(bits(rest))
            .map(move |bit| PReg::from_index(c * 64 + bit))
    }

    /// Whether `alloc` is a stack location (a spill slot or a fixed stack
    /// `PReg`).
    #[inline]
    pub fn is_stack(&self, alloc: Allocation) -> bool {
        // Without a branch on the kind (the pass asks this of moves whose
        // kinds do not follow a pattern): a register's index is its
        // allocation's low bits.
        let index = (alloc.bits() as usize) & (PReg::NUM_INDEX - 1);
        let words = self.fixed_stack.words();
        let fixed = (words[index / 64] >> (index % 64)) & 1 != 0;
        alloc.is_stack() | (alloc.is_reg() & fixed)
    }

    /// The first register of `order[class]` with a hardware encoding
    /// below `limit` (if any) that is in neither `excluded` nor `owned`
    /// (the class's words of those sets: `PRegSet::class_word`).
    #[inline]
    pub fn first_free(
        &self,
        class: RegClass,
        limit: Option<usize>,
        excluded: u64,
        owned: u64,
    ) -> Option<PReg> {
        let c = class as usize;
        let mut free = self.allocatable[c].class_word(class) & !(excluded | owned);
        if let Some(l) = limit {
            if l < 64 {
                free &= (1u64 << l) - 1;
            }
        }
        let preferred = free & self.preferred_word[c];
        let pick = if preferred != 0 { preferred } else { free };
        (pick != 0).then(|| PReg::from_index(c * 64 + pick.trailing_zeros() as usize))
    }

    /// Whether `preg` is a register this run allocates.
    #[inline]
    pub fn is_allocatable(&self, preg: PReg) -> bool {
        self.allocatable[preg.class() as usize].contains(preg)
    }
}

/// The frame's spill slots: one per spilled vreg, plus the extra slots
/// the move resolver asks for, laid out as Ion lays them out (each slot
/// aligned to its class's size, named by its first or last unit).
#[derive(Debug)]
pub struct Frame<'a> {
    /// Slots in the frame so far (units).
    pub num_slots: usize,
    /// `spillslot_size` per class, asked for only when the class first
    /// needs a slot (some backends cannot answer for classes they never
    /// spill).
    pub size: [Option<u32>; 3],
    pub named_by_last_slot: bool,
    /// A slot was asked for past `SpillSlot::MAX` (an absurd
    /// `spillslot_size`, or too many slots): the run ends in
    /// `TooManyLiveRegs`, as Ion's slot layout does.
    pub overflow: bool,
    /// Extra slots of the move resolver per class, shared by every point.
    pub extra: [ArenaVec<'a, Allocation>; 3],
}

impl<'a> Frame<'a> {
    pub fn new_in(named_by_last_slot: bool, arena: &'a Arena) -> Self {
        Frame {
            num_slots: 0,
            size: [None; 3],
            named_by_last_slot,
            overflow: false,
            extra: [
                ArenaVec::new_in(arena),
                ArenaVec::new_in(arena),
                ArenaVec::new_in(arena),
            ],
        }
    }

    /// A fresh slot of `class`. Past `SpillSlot::MAX` it sets `overflow`
    /// and returns slot 0 (the run's result is then an error).
    pub fn new_slot(&mut self, class: RegClass, size_of: impl FnOnce() -> usize) -> SpillSlot {
        // Sizes past the whole slot range are clamped just past it, so the
        // arithmetic below cannot overflow and the check below fails.
        const TOO_LARGE: usize = SpillSlot::MAX + 2;
        let size =
            *self.size[class as usize].get_or_insert_with(|| size_of().clamp(1, TOO_LARGE) as u32);
        let size = size.next_power_of_two() as usize;
        let offset = self.num_slots.next_multiple_of(size);
        if offset + size > SpillSlot::MAX + 1 {
            self.overflow = true;
            return SpillSlot::new(0);
        }
        self.num_slots = offset + size;
        SpillSlot::new(if self.named_by_last_slot {
            offset + size - 1
        } else {
            offset
        })
    }
}

/// A row per vreg, every vreg unseen.
pub fn new_vreg_state(num_vregs: usize, arena: &Arena) -> VRegState<'_> {
    let mut rows = Column::with_capacity_in(num_vregs, arena);
    rows.resize(num_vregs, VRegRow::unseen());
    rows
}

impl PRegState {
    pub fn new() -> Self {
        PRegState {
            owner: [NONE; PReg::NUM_INDEX],
            owned: PRegSet::empty(),
            stamp: [0; PReg::NUM_INDEX],
            now: 1,
        }
    }
}

/// The vreg state and the register state together, with the operations
/// that keep the two in step (the invariants of the module doc).
#[derive(Debug)]
pub struct State<'a> {
    pub vregs: VRegState<'a>,
    pub pregs: PRegState,
    pub frame: Frame<'a>,
    /// Vregs whose `loc` went from none to something in the current block
    /// (they are live at its entry unless defined in it).
    pub touched: ArenaVec<'a, VReg>,
}

impl<'a> State<'a> {
    /// Sets `loc[v]`, keeping `owner` in step.
    #[inline]
    pub fn set_loc(&mut self, regs: &Regs, vreg: VReg, alloc: Allocation) {
        let v = vreg.vreg();
        let old = self.vregs[v].loc;
        if old == alloc {
            return;
        }
        // `loc` only ever holds an allocatable register or the vreg's own
        // slot (the steps never track another location).
        if let Some(r) = old.as_reg() {
            debug_assert!(regs.is_allocatable(r) && self.pregs.owner[r.index()] == v as u32);
            self.pregs.owner[r.index()] = NONE;
            self.pregs.owned.remove(r);
        } else if old.is_none() {
            self.touched.push(vreg);
        }
        if let Some(r) = alloc.as_reg() {
            debug_assert!(regs.is_allocatable(r));
            self.pregs.owner[r.index()] = v as u32;
            self.pregs.owned.add(r);
        }
        self.vregs[v].loc = alloc;
    }

    /// As [`State::slot_of`], and marks the slot as relied on
    /// ([`VRegRow::spilled`], never cleared) in the same write: the row's word is
    /// read once and stored once (the flag set on its own was a one-byte
    /// store that the next read of the word had to wait for).
    #[inline]
    pub fn spilled_slot_of(&mut self, vreg: VReg, size_of: impl FnOnce() -> usize) -> Allocation {
        let row = &mut self.vregs[vreg.vreg()];
        let mut word = row.slot_and_spilled | VRegRow::SPILLED;
        if word & !VRegRow::SPILLED == 0 {
            word |= self.frame.new_slot(vreg.class(), size_of).index() as u32 + 1;
        }
        row.slot_and_spilled = word;
        Allocation::stack(SpillSlot::new((word & !VRegRow::SPILLED) as usize - 1))
    }

    /// The spill slot of `vreg`, made on first request.
    #[inline]
    pub fn slot_of(&mut self, vreg: VReg, size_of: impl FnOnce() -> usize) -> Allocation {
        let row = &mut self.vregs[vreg.vreg()];
        if row.slot_plus_one() == 0 {
            row.slot_and_spilled |= self.frame.new_slot(vreg.class(), size_of).index() as u32 + 1;
        }
        Allocation::stack(SpillSlot::new(row.slot_plus_one() as usize - 1))
    }
}
