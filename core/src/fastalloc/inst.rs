//! One instruction of the backward pass: every operand gets an
//! allocation that satisfies its constraint, and the moves that connect
//! those allocations to where the later code expects each vreg.
//!
//! Reads: the instruction's operands and clobbers, the [`Regs`]. Reads and
//! writes: the [`State`] (from "what the code after the instruction
//! expects" to "what the instruction and the code after it expect from
//! the code before"), the operand allocations, and three move sets: after
//! the instruction (definitions to where they are expected, evicted vregs
//! back into their registers), before it (copies into use registers), and
//! the branch-argument set (see `block`).
//!
//! Steps, in this order (each a function below):
//! 1. [`classify`]: each operand's rank (the order of the steps below);
//!    fixed-register operands claim their registers at the early and late
//!    points.
//! 2. [`alloc_defs`]: every definition gets a location, preferably where
//!    the later code already expects the vreg (no move), else a free
//!    register (for `Any`: its slot when none is free); only then are the
//!    defined vregs released, and the moves from the definitions to the
//!    expected locations (and to the slot of a spilled vreg) are added.
//! 3. [`evict_conflicts`]: a vreg that stays live across the instruction
//!    in a register the instruction clobbers, defines or needs for another
//!    vreg's fixed use moves to its slot; a move after the instruction
//!    brings it back.
//! 4. [`alloc_uses`]: fixed uses, reused inputs, register uses, `Any`
//!    uses, stack uses. A use keeps the vreg where the later code expects
//!    it when the constraint allows; a vreg last read here takes the
//!    register it gets (so its definition writes it there); otherwise a
//!    copy before the instruction feeds the operand.
//!
//! The choice of registers: a free register of the class in preference
//! order (the machine's preferred registers first); with none free, the
//! owned register given to an operand longest ago is evicted (its vreg
//! is reloaded after the instruction and lives in its slot before). This
//! is regalloc2 fastalloc's problem statement (its `alloc_inst`); the
//! formulation here (one move set per point, uses that keep their later
//! location) is our own.

use crate::fastalloc::edits::MoveSet;
use crate::fastalloc::state::{Regs, State, NONE};
use crate::tables::ArenaVec;
use crate::{
    Allocation, Function, Inst, Operand, OperandConstraint, OperandKind, OperandPos, PReg, PRegSet,
    RegAllocError, RegClass, VReg,
};

/// Registers claimed at the early and late points of the instruction and
/// by its operands, built up as the steps run.
#[derive(Clone, Copy, Debug, Default)]
pub struct Claims {
    /// Busy at the early point (read by uses, written by early defs).
    pub early: PRegSet,
    /// Busy at the late point (late uses, late and early defs).
    pub late: PRegSet,
    /// Registers written by the instruction's definitions.
    pub defs: PRegSet,
    /// Every register given to an operand (never evicted at this
    /// instruction).
    pub pinned: PRegSet,
    pub clobbers: PRegSet,
}

/// The per-instruction inputs and scratch of the steps.
#[derive(Debug)]
pub struct InstCtx<'c, 'a> {
    pub inst: Inst,
    pub ops: &'c [Operand],
    /// The instruction's operand allocations (its slice of the output).
    pub allocs: &'c mut [Allocation],
    /// The instruction is a branch: no moves may follow it.
    pub is_branch: bool,
    /// The function may define a vreg twice in one instruction
    /// (`allow_multiple_vreg_defs`; validation let through only
    /// identical repeats). Without it no def repeats an earlier one.
    pub multi_defs: bool,
    pub claims: &'c mut Claims,
    /// Moves after the instruction.
    pub after: &'c mut MoveSet<'a>,
    /// Copies before the instruction.
    pub before: &'c mut MoveSet<'a>,
    /// Definitions of a branch whose moves go to the successors' entries:
    /// `(vreg, allocation)`.
    pub branch_defs: &'c mut ArenaVec<'a, (VReg, Allocation)>,
    /// Uses fixed to a location no one tracks, `(vreg, location)`: the
    /// vreg's own location before the instruction is chosen once every
    /// other use has its register (see [`alloc_uses`]).
    pub untracked: &'c mut ArenaVec<'a, (VReg, Allocation)>,
    /// Per operand: the definition reusing it, or [`NONE`] (empty when
    /// no definition reuses an input).
    pub reused_by: &'c [u32],
    /// Per operand: its [`rank`].
    pub ranks: &'c [u8],
    /// The operand indices ordered by rank, in operand order within a
    /// rank: the steps visit the ranges [`Classes::ranks`] gives for
    /// their ranks (instead of one scan of the operands per rank, whose
    /// branch on each operand's rank rarely predicts).
    pub by_rank: &'c [u32],
    pub classes: Classes,
}

/// Whether `preg` satisfies a register constraint with limit `limit`.
#[inline]
fn within_limit(preg: PReg, limit: Option<usize>) -> bool {
    limit.is_none_or(|l| preg.hw_enc() < l)
}

/// The register constraint of `op` as (class, limit); `None` for
/// constraints that are not "some register of the class".
#[inline]
fn reg_limit(c: OperandConstraint) -> Option<Option<usize>> {
    match c {
        OperandConstraint::Reg => Some(None),
        OperandConstraint::Limit(l) => Some(Some(l)),
        _ => None,
    }
}

/// A free register of `class` within `limit` not in `excluded` (the
/// class's word of the excluded set, `PRegSet::class_word`); with
/// `evict`, else the least recently used owned one not in `excluded` nor
/// pinned, whose vreg moves to its slot (a reload after the instruction).
/// The free-register test is inlined at each use; the eviction, which few
/// picks need, is not.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn pick_reg<F: Function>(
    func: &F,
    regs: &Regs,
    state: &mut State<'_>,
    after: &mut MoveSet<'_>,
    before: &mut MoveSet<'_>,
    class: RegClass,
    limit: Option<usize>,
    excluded: u64,
    evict: bool,
) -> Option<PReg> {
    let owned = state.pregs.owned.class_word(class);
    if let Some(p) = regs.first_free(class, limit, excluded, owned) {
        return Some(p);
    }
    if !evict {
        return None;
    }
    evict_oldest(func, regs, state, after, before, class, limit, excluded)
}

/// [`pick_reg`] with no free register: evicts the owned register of
/// `class` within `limit`, not in `excluded`, given to an operand longest
/// ago.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
fn evict_oldest<F: Function>(
    func: &F,
    regs: &Regs,
    state: &mut State<'_>,
    after: &mut MoveSet<'_>,
    before: &mut MoveSet<'_>,
    class: RegClass,
    limit: Option<usize>,
    excluded: u64,
) -> Option<PReg> {
    let mut best: Option<PReg> = None;
    for p in regs.in_order(class) {
        if excluded & (1 << p.hw_enc()) != 0 || !within_limit(p, limit) {
            continue;
        }
        if best.is_none_or(|b| state.pregs.stamp[p.index()] < state.pregs.stamp[b.index()]) {
            best = Some(p);
        }
    }
    let p = best?;
    evict_reg(func, regs, state, after, before, p);
    Some(p)
}

/// Moves the vreg owning `p` to its slot before the current point and
/// back into `p` after the instruction. Copies before the instruction
/// that read the vreg from `p` (into another operand's register) read
/// its slot instead.
fn evict_reg<F: Function>(
    func: &F,
    regs: &Regs,
    state: &mut State<'_>,
    after: &mut MoveSet<'_>,
    before: &mut MoveSet<'_>,
    p: PReg,
) {
    let w = state.pregs.owner[p.index()];
    if w == NONE {
        return;
    }
    let vreg = VReg::new(w as usize, p.class());
    let slot = state.spilled_slot_of(vreg, || func.spillslot_size(p.class()));
    after.add(p.class(), slot, crate::Allocation::reg(p));
    let reg = crate::Allocation::reg(p);
    for m in before.moves.iter_mut().filter(|m| m.from == reg) {
        m.from = slot;
    }
    state.set_loc(regs, vreg, slot);
}

/// Operand ranks: the order in which [`alloc_defs`] and [`alloc_uses`]
/// visit operands (one bit each in [`Classes::present`]).
pub mod rank {
    pub const FIXED_USE: u8 = 0;
    pub const REUSED_USE: u8 = 1;
    pub const REG_USE: u8 = 2;
    pub const ANY_USE: u8 = 3;
    pub const STACK_USE: u8 = 4;
    /// A fixed non-allocatable operand: its register, nothing else.
    pub const NONALLOCATABLE: u8 = 5;
    pub const FIXED_DEF: u8 = 6;
    pub const DEF: u8 = 7;
}

/// [`RANK_OF`] is indexed by these bits of `Operand::bits`: position (bit
/// 34), kind (35) and the 7-bit constraint field (36..43).
const OPERAND_KEY_SHIFT: u32 = 34;
const OPERAND_KEY_MASK: u64 = (1 << 9) - 1;
/// The rank bits of a [`RANK_OF`] entry.
const RANK_MASK: u8 = 0b111;
/// A [`RANK_OF`] entry's flag: a definition reusing an input.
const REUSE_DEF: u8 = 0b1000;

/// Each operand key's rank (outside a branch), as `Operand::kind` and
/// `Operand::constraint` decode the key: a fixed-register use or def is
/// `FIXED_USE` or `FIXED_DEF` (the non-allocatable case is decided on the
/// vreg), any other def `DEF` (flagged [`REUSE_DEF`] for a reuse), a use
/// of a register (`Reg`, `Limit`, `Reuse`) `REG_USE`, `Stack` `STACK_USE`,
/// `Any` (and the unused plain codes, which read as `Any`) `ANY_USE`.
static RANK_OF: [u8; 512] = {
    let mut table = [0u8; 512];
    let mut key = 0;
    while key < 512 {
        let is_use = key >> 1 & 1 == 1;
        let field = key >> 2;
        // The constraint's kind from the crate's one decoding table.
        table[key] = match (crate::CONSTRAINT_KIND_BY_FIELD[field], is_use) {
            (crate::constraint_kind::FIXED, true) => rank::FIXED_USE,
            (crate::constraint_kind::FIXED, false) => rank::FIXED_DEF,
            (_, false) if crate::Operand::is_reuse_field(field as u64) => rank::DEF | REUSE_DEF,
            (_, false) => rank::DEF,
            (crate::constraint_kind::REG | crate::constraint_kind::LIMIT, true) => rank::REG_USE,
            (crate::constraint_kind::STACK, true) => rank::STACK_USE,
            (_, true) => rank::ANY_USE,
        };
        key += 1;
    }
    table
};

/// What [`classify`] found.
#[derive(Clone, Copy, Debug, Default)]
pub struct Classes {
    /// Bit `r` set iff some operand has rank `r`.
    pub present: u32,
    /// Where each rank's operands start in [`InstCtx::by_rank`] (the last
    /// entry is the operand count).
    pub start: [u32; 9],
}

impl Classes {
    /// The range of [`InstCtx::by_rank`] holding ranks `first..=last`.
    #[inline]
    pub fn ranks(&self, first: u8, last: u8) -> core::ops::Range<usize> {
        self.start[first as usize] as usize..self.start[last as usize + 1] as usize
    }
}

/// Step 1, one pass over the operands: each operand's rank into `ranks`,
/// `reused_by` filled when a definition reuses an input, fixed-register
/// operands claiming their registers, non-allocatable ones written; then
/// the operand indices sorted by rank (stable) into `by_rank`, the ranks'
/// ranges and the ranks present into `cx.classes`.
///
/// Returns `true` when the operands are already in rank order (and fewer
/// than 256): `by_rank` is then left empty and the order is the identity,
/// `IDENTITY[..operands]` (so for 60% of the corpus's instructions, every
/// one with zero or one operand among them, no sort runs). Inlined into
/// the instruction loop: called, it kept the loop's context in memory
/// (corpus p25 pass 0.0452 -> 0.0444 s).
#[inline(always)]
pub fn classify<'a>(
    cx: &mut InstCtx<'_, '_>,
    ranks: &mut ArenaVec<'a, u8>,
    reused_by: &mut ArenaVec<'a, u32>,
    by_rank: &mut ArenaVec<'a, u32>,
) -> bool {
    ranks.clear();
    let mut present = 0u32;
    let mut reuse = false;
    // Operands per rank, one byte each (see `starts_of`;
    // wraps harmlessly past 255 operands, where it is not used), and
    // whether the ranks so far are in order.
    let mut count = 0u64;
    let mut in_order = true;
    let mut previous = 0u8;
    // The first 16 ranks, four bits each: the placement reads them from
    // here, not back from `ranks` just after their stores (the load of
    // the first rank stalled, a quarter of this step's time).
    let mut packed = 0u64;
    for (i, &op) in cx.ops.iter().enumerate() {
        // The rank from one table lookup on the operand's position, kind
        // and constraint bits; only fixed-register operands take a branch.
        let entry = RANK_OF[((op.bits() >> OPERAND_KEY_SHIFT) & OPERAND_KEY_MASK) as usize];
        let mut r = entry & RANK_MASK;
        reuse |= entry & REUSE_DEF != 0;
        if r == rank::FIXED_USE || r == rank::FIXED_DEF {
            let OperandConstraint::FixedReg(reg) = op.constraint() else {
                unreachable!("fixed rank without a fixed constraint")
            };
            if r == rank::FIXED_USE {
                if op.vreg().vreg() == VReg::MAX {
                    cx.allocs[i] = Allocation::reg(reg);
                    ranks.push(rank::NONALLOCATABLE);
                    packed |= u64::from(rank::NONALLOCATABLE) << (4 * (i & 15));
                    count = count.wrapping_add(1 << (8 * rank::NONALLOCATABLE));
                    in_order &= rank::NONALLOCATABLE >= previous;
                    previous = rank::NONALLOCATABLE;
                    continue;
                }
                cx.claims.early.add(reg);
                if op.pos() == OperandPos::Late {
                    cx.claims.late.add(reg);
                }
            } else {
                cx.claims.late.add(reg);
                cx.claims.defs.add(reg);
                if op.pos() == OperandPos::Early {
                    cx.claims.early.add(reg);
                }
            }
            cx.claims.pinned.add(reg);
        }
        // A branch reads its `Any` uses from registers.
        const _: () = assert!(rank::ANY_USE == rank::REG_USE + 1);
        r -= u8::from(cx.is_branch & (r == rank::ANY_USE));
        present |= 1 << r;
        ranks.push(r);
        packed |= u64::from(r) << (4 * (i & 15));
        count = count.wrapping_add(1 << (8 * u32::from(r)));
        in_order &= r >= previous;
        previous = r;
    }
    reused_by.clear();
    if reuse {
        reused_by.resize(cx.ops.len(), NONE);
        for (i, &op) in cx.ops.iter().enumerate() {
            if let (OperandKind::Def, OperandConstraint::Reuse(k)) = (op.kind(), op.constraint()) {
                if k < cx.ops.len() && ranks[k] != rank::NONALLOCATABLE {
                    reused_by[k] = i as u32;
                    count = count
                        .wrapping_sub(1 << (8 * u32::from(ranks[k])))
                        .wrapping_add(1 << (8 * rank::REUSED_USE));
                    // The reused input (a `Reg` or `Any` use, rank 2 or 3)
                    // moves down to rank 1: ranks in order stay in order
                    // when every operand before it is of rank 0 or 1
                    // (usually none is: the first operand is reused).
                    in_order &= ranks[..k].iter().all(|&r| r <= rank::REUSED_USE);
                    if k < 16 {
                        packed =
                            (packed & !(0xf << (4 * k))) | u64::from(rank::REUSED_USE) << (4 * k);
                    }
                    ranks[k] = rank::REUSED_USE;
                    present |= 1 << rank::REUSED_USE;
                }
            }
        }
    }
    cx.classes.present = present;
    by_rank.clear();
    if ranks.len() < 256 {
        let first = starts_of(count, ranks.len(), &mut cx.classes.start);
        if in_order {
            debug_assert!(ranks.windows(2).all(|pair| pair[0] <= pair[1]));
            return true;
        }
        by_rank.resize(ranks.len(), 0);
        if ranks.len() <= 16 {
            place_by_packed_rank(packed, first, by_rank);
        } else {
            place_by_rank(ranks, first, by_rank);
        }
        return false;
    }
    by_rank.resize(ranks.len(), 0);
    // Counting sort of the operand indices by rank.
    // (In place: returned, the 40 bytes were copied twice per
    // instruction.)
    let mut count = [0u32; 8];
    for &r in ranks.iter() {
        count[r as usize] += 1;
    }
    // The running sum stays in a register (summed in place, each step
    // waited on the store of the one before).
    let start = &mut cx.classes.start;
    let mut sum = 0;
    for r in 0..8 {
        start[r] = sum;
        sum += count[r];
    }
    start[8] = sum;
    let mut next = *start;
    for (i, &r) in ranks.iter().enumerate() {
        by_rank[next[r as usize] as usize] = i as u32;
        next[r as usize] += 1;
    }
    false
}

/// [`place_by_rank`] for at most 16 operands whose ranks are the nibbles
/// of `packed` (operand `i` in bits `4 * i..4 * i + 4`).
#[inline]
fn place_by_packed_rank(packed: u64, first: u64, by_rank: &mut [u32]) {
    debug_assert!(by_rank.len() <= 16);
    let mut next = first;
    for (i, slot) in (0..by_rank.len()).zip(0u32..) {
        let shift = 8 * ((packed >> (4 * i)) & 0xf) as u32;
        by_rank[((next >> shift) & 0xff) as usize] = slot;
        next += 1 << shift;
    }
}

/// `0, 1, 2, ...`: the rank order of operands already in rank order.
pub static IDENTITY: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = i as u32;
        i += 1;
    }
    table
};

/// [`classify`]'s counting sort for fewer than 256 operands (every
/// instruction of the corpus): the eight counts, their running sums and
/// the eight insertion points are bytes of one `u64` each, so the sort
/// stays in registers. With the counts and points in arrays, each step
/// waited on the store of the one before (an array of eight running
/// points loaded right after its eight stores cannot be forwarded), a
/// sixth of the single pass's time in a profile of warm runs.
///
/// `count` holds the operands of rank `r` in byte `r` (`len` in all);
/// writes where each rank starts into `start` and returns the same as
/// bytes (the insertion points for [`place_by_rank`]).
#[inline]
fn starts_of(count: u64, len: usize, start: &mut [u32; 9]) -> u64 {
    debug_assert!(len < 256);
    // Byte `r` of the product is the sum of bytes `0..=r` (no byte
    // carries: the total is below 256); less the counts themselves, the
    // sum of the ranks below `r`: where rank `r` starts.
    let first = count.wrapping_mul(0x0101_0101_0101_0101) - count;
    for (r, slot) in start.iter_mut().take(8).enumerate() {
        *slot = ((first >> (8 * r)) & 0xff) as u32;
    }
    start[8] = len as u32;
    first
}

/// The counting sort's placement: operand `i` of rank `r` goes to the
/// next free place of `r`, starting from `first` (bytes, from
/// [`starts_of`]).
#[inline]
fn place_by_rank(ranks: &[u8], first: u64, by_rank: &mut [u32]) {
    debug_assert!(ranks.len() < 256 && by_rank.len() == ranks.len());
    let mut next = first;
    for (i, &r) in ranks.iter().enumerate() {
        let shift = 8 * u32::from(r);
        by_rank[((next >> shift) & 0xff) as usize] = i as u32;
        next += 1 << shift;
    }
}

/// Step 2: allocations for the definitions, then their moves.
pub fn alloc_defs<F: Function>(
    func: &F,
    regs: &Regs,
    state: &mut State<'_>,
    cx: &mut InstCtx<'_, '_>,
) -> Result<(), RegAllocError> {
    // Fixed definitions first (their registers are claimed), then the
    // others in operand order.
    for k in cx.classes.ranks(rank::FIXED_DEF, rank::DEF) {
        let i = cx.by_rank[k] as usize;
        let op = cx.ops[i];
        // A repeated def (validation let through only identical
        // ones) is the same def: it takes the first one's allocation.
        if let Some(first) = earlier_def_of(cx, i) {
            cx.allocs[i] = cx.allocs[first];
            continue;
        }
        let a = def_alloc(func, regs, state, cx, op)?;
        cx.allocs[i] = a;
        if let Some(r) = a.as_reg() {
            cx.claims.pinned.add(r);
            cx.claims.defs.add(r);
            cx.claims.late.add(r);
            let early = op.pos() == OperandPos::Early
                || matches!(op.constraint(), OperandConstraint::Reuse(_));
            if early {
                cx.claims.early.add(r);
            }
            state.pregs.stamp[r.index()] = state.pregs.now;
        }
    }
    if cx.classes.present & (1 << rank::FIXED_DEF | 1 << rank::DEF) == 0 {
        return Ok(());
    }
    // The moves from each definition to where the later code expects the
    // vreg, and the vreg released: before the instruction it does not
    // exist. In operand order: with no fixed def, that is the order of
    // the `DEF` rank; else a scan of the operands.
    let defs_in_order = cx.classes.ranks(rank::DEF, rank::DEF);
    let scan = cx.classes.present & (1 << rank::FIXED_DEF) != 0;
    let count = if scan {
        cx.ops.len()
    } else {
        defs_in_order.len()
    };
    for k in 0..count {
        let i = if scan {
            k
        } else {
            cx.by_rank[defs_in_order.start + k] as usize
        };
        let op = cx.ops[i];
        if op.kind() != OperandKind::Def || earlier_def_of(cx, i).is_some() {
            continue;
        }
        let vreg = op.vreg();
        let v = vreg.vreg();
        let a = cx.allocs[i];
        let loc = state.vregs[v].loc;
        if cx.is_branch {
            // Nothing runs after a branch: the successors' entries take
            // the moves (see `block`).
            cx.branch_defs.push((vreg, a));
            state.set_loc(regs, vreg, Allocation::none());
            continue;
        }
        if !loc.is_none() {
            cx.after.add(op.class(), a, loc);
        }
        if state.vregs[v].spilled() {
            // A reload of the vreg from its slot after this instruction
            // (another def evicted it from the register the later code
            // expects) must read the value defined here: the store into
            // the slot is in the same parallel set, so it reads `a`.
            if let Some(slot) = state.vregs[v].slot() {
                let mut rewritten = false;
                for m in cx.after.moves.iter_mut().filter(|m| m.from == slot) {
                    m.from = a;
                    rewritten = true;
                }
                if rewritten {
                    cx.after.moves.retain(|m| m.from != m.to);
                }
            }
            let slot = state.slot_of(vreg, || func.spillslot_size(op.class()));
            if slot != loc {
                cx.after.add(op.class(), a, slot);
            }
        }
        state.set_loc(regs, vreg, Allocation::none());
    }
    Ok(())
}

/// The index of an earlier def of operand `i`'s vreg in the same
/// instruction (only with `allow_multiple_vreg_defs`).
#[inline]
fn earlier_def_of(cx: &InstCtx<'_, '_>, i: usize) -> Option<usize> {
    if !cx.multi_defs {
        return None;
    }
    let vreg = cx.ops[i].vreg();
    cx.ops[..i]
        .iter()
        .position(|o| o.kind() == OperandKind::Def && o.vreg() == vreg)
}

/// The allocation of one definition (step 2).
fn def_alloc<F: Function>(
    func: &F,
    regs: &Regs,
    state: &mut State<'_>,
    cx: &mut InstCtx<'_, '_>,
    op: Operand,
) -> Result<Allocation, RegAllocError> {
    let vreg = op.vreg();
    let v = vreg.vreg();
    let class = op.class();
    let loc = state.vregs[v].loc;
    // The constraint, with a reuse taking its input's.
    let (constraint, both) = match op.constraint() {
        OperandConstraint::Reuse(k) => {
            let input = cx.ops[k].constraint();
            let c = match input {
                OperandConstraint::FixedReg(r) => OperandConstraint::FixedReg(r),
                OperandConstraint::Limit(l) => OperandConstraint::Limit(l),
                _ => OperandConstraint::Reg,
            };
            (c, true)
        }
        c => (c, op.pos() == OperandPos::Early),
    };
    // A clobber happens after the definitions are written (the checker
    // and Ion agree): no definition may live in a clobbered register.
    // (Only the class's words: see `PRegSet::class_word`.)
    let excluded = cx.claims.late.class_word(class)
        | cx.claims.clobbers.class_word(class)
        | if both {
            cx.claims.early.class_word(class)
        } else {
            0
        };
    // The later code's location, if a register this definition may take.
    let loc_ok = |limit: Option<usize>| {
        loc.as_reg().filter(|&r| {
            regs.is_allocatable(r)
                && r.class() == class
                && excluded & (1 << r.hw_enc()) == 0
                && within_limit(r, limit)
        })
    };
    let evict = !cx.is_branch;
    Ok(match constraint {
        OperandConstraint::FixedReg(r) => {
            if both {
                // A reused fixed input: the register is claimed at both
                // points.
                cx.claims.early.add(r);
            }
            Allocation::reg(r)
        }
        OperandConstraint::Stack => state.slot_of(vreg, || func.spillslot_size(class)),
        OperandConstraint::Any => {
            if let Some(r) = loc_ok(None) {
                Allocation::reg(r)
            } else if !loc.is_none() && regs.is_stack(loc) {
                loc
            } else if let Some(r) = pick_reg(
                func, regs, state, cx.after, cx.before, class, None, excluded, false,
            ) {
                Allocation::reg(r)
            } else {
                state.slot_of(vreg, || func.spillslot_size(class))
            }
        }
        c => {
            let limit = reg_limit(c).unwrap_or(None);
            if let Some(r) = loc_ok(limit) {
                Allocation::reg(r)
            } else {
                let excluded = excluded | cx.claims.pinned.class_word(class);
                match pick_reg(
                    func, regs, state, cx.after, cx.before, class, limit, excluded, evict,
                ) {
                    Some(r) => Allocation::reg(r),
                    None => return Err(RegAllocError::TooManyLiveRegs),
                }
            }
        }
    })
}

/// Step 3: vregs live across the instruction leave the registers it
/// clobbers, defines, or needs for another vreg's fixed use.
pub fn evict_conflicts<F: Function>(
    func: &F,
    regs: &Regs,
    state: &mut State<'_>,
    cx: &mut InstCtx<'_, '_>,
) -> Result<(), RegAllocError> {
    let fixed_uses = cx.classes.present & (1 << rank::FIXED_USE | 1 << rank::REUSED_USE) != 0;
    let claims = &cx.claims;
    if !state
        .pregs
        .owned
        .meets_either_word_by_word(&claims.clobbers, &claims.defs)
        && !fixed_uses
    {
        return Ok(());
    }
    let hit = state.pregs.owned & (cx.claims.clobbers | cx.claims.defs);
    evict_from(func, regs, state, cx, hit)
}

/// [`evict_conflicts`] when some register may be wanted (out of line: most
/// instructions have none).
#[inline(never)]
fn evict_from<F: Function>(
    func: &F,
    regs: &Regs,
    state: &mut State<'_>,
    cx: &mut InstCtx<'_, '_>,
    mut hit: PRegSet,
) -> Result<(), RegAllocError> {
    for &op in cx.ops.iter() {
        if op.kind() != OperandKind::Use {
            continue;
        }
        if let OperandConstraint::FixedReg(r) = op.constraint() {
            let w = state.pregs.owner[r.index()];
            if w != NONE && w as usize != op.vreg().vreg() {
                hit.add(r);
            }
        }
    }
    if hit == PRegSet::empty() {
        return Ok(());
    }
    if cx.is_branch {
        // Only branch arguments own registers at a branch, and they were
        // placed outside every register the branch claims.
        return Err(RegAllocError::TooManyLiveRegs);
    }
    for p in hit {
        evict_reg(func, regs, state, cx.after, cx.before, p);
    }
    Ok(())
}

/// Step 4: allocations for the uses.
pub fn alloc_uses<F: Function>(
    func: &F,
    regs: &Regs,
    state: &mut State<'_>,
    cx: &mut InstCtx<'_, '_>,
) -> Result<(), RegAllocError> {
    for k in cx.classes.ranks(rank::FIXED_USE, rank::STACK_USE) {
        let i = cx.by_rank[k] as usize;
        let op = cx.ops[i];
        let reused_by = if cx.ranks[i] == rank::REUSED_USE {
            Some(cx.reused_by[i] as usize)
        } else {
            None
        };
        let a = use_alloc(func, regs, state, cx, op, reused_by)?;
        cx.allocs[i] = a;
        if let Some(r) = a.as_reg() {
            cx.claims.pinned.add(r);
            cx.claims.early.add(r);
            if op.pos() == OperandPos::Late {
                cx.claims.late.add(r);
            }
            state.pregs.stamp[r.index()] = state.pregs.now;
        }
    }
    if !cx.untracked.is_empty() {
        place_untracked(func, regs, state, cx);
    }
    Ok(())
}

/// Uses fixed to a location no one tracks (a non-allocatable register, a
/// fixed stack slot): other instructions may write it, so the vreg lives
/// up to here in a register no operand of this instruction took (chosen
/// last, so it takes none a constrained use needs), or in its slot, and
/// a copy before the instruction feeds the operand. (Out of line: few
/// instructions have such uses.)
#[inline(never)]
fn place_untracked<F: Function>(
    func: &F,
    regs: &Regs,
    state: &mut State<'_>,
    cx: &mut InstCtx<'_, '_>,
) {
    for &(vreg, a) in cx.untracked.iter() {
        let v = vreg.vreg();
        let class = vreg.class();
        let mut loc = state.vregs[v].loc;
        if loc.is_none() {
            let excluded = cx.claims.early.class_word(class) | cx.claims.pinned.class_word(class);
            loc = match pick_reg(
                func, regs, state, cx.after, cx.before, class, None, excluded, false,
            ) {
                Some(r) => {
                    cx.claims.pinned.add(r);
                    Allocation::reg(r)
                }
                None => state.spilled_slot_of(vreg, || func.spillslot_size(class)),
            };
            state.set_loc(regs, vreg, loc);
        }
        if loc != a {
            cx.before.add(class, loc, a);
        }
    }
    cx.untracked.clear();
}

/// The allocation of one use (step 4), with its bookkeeping: the vreg's
/// location before the instruction, or a copy into the operand.
fn use_alloc<F: Function>(
    func: &F,
    regs: &Regs,
    state: &mut State<'_>,
    cx: &mut InstCtx<'_, '_>,
    op: Operand,
    reused_by: Option<usize>,
) -> Result<Allocation, RegAllocError> {
    let vreg = op.vreg();
    let v = vreg.vreg();
    let class = op.class();
    let loc = state.vregs[v].loc;
    let late = op.pos() == OperandPos::Late;
    // The operand's allocation is fixed: the vreg lives there before the
    // instruction if nothing later needs it, else it is copied there.
    let place = |state: &mut State<'_>, cx: &mut InstCtx<'_, '_>, a: Allocation| {
        if loc.is_none() {
            let trackable = match a.as_reg() {
                Some(r) => regs.is_allocatable(r),
                None => a == state.slot_of(vreg, || func.spillslot_size(class)),
            };
            if trackable {
                state.set_loc(regs, vreg, a);
                return a;
            }
            // A location no one tracks: where the vreg lives before the
            // instruction is chosen after the other uses.
            cx.untracked.push((vreg, a));
        } else if loc != a {
            cx.before.add(class, loc, a);
        }
        a
    };
    if let Some(d) = reused_by {
        let a = cx.allocs[d];
        return Ok(place(state, cx, a));
    }
    let slot_is_loc = |state: &State<'_>| state.vregs[v].slot() == Some(loc);
    // (Only the class's words: see `PRegSet::class_word`.)
    let excluded = {
        let mut e = cx.claims.early.class_word(class) | cx.claims.pinned.class_word(class);
        if late {
            e |= cx.claims.late.class_word(class) | cx.claims.clobbers.class_word(class);
        }
        e
    };
    match op.constraint() {
        OperandConstraint::FixedReg(r) => Ok(place(state, cx, Allocation::reg(r))),
        OperandConstraint::Stack => {
            let slot = state.spilled_slot_of(vreg, || func.spillslot_size(class));
            if loc.is_none() {
                state.set_loc(regs, vreg, slot);
            }
            Ok(slot)
        }
        OperandConstraint::Any if !cx.is_branch => {
            if let Some(r) = loc.as_reg() {
                if !regs.is_stack(loc) && state.pregs.owner[r.index()] == v as u32 {
                    return Ok(loc);
                }
            }
            if !loc.is_none() && regs.is_stack(loc) {
                return Ok(loc);
            }
            if let Some(r) = pick_reg(
                func, regs, state, cx.after, cx.before, class, None, excluded, false,
            ) {
                return Ok(place(state, cx, Allocation::reg(r)));
            }
            let slot = state.spilled_slot_of(vreg, || func.spillslot_size(class));
            Ok(place(state, cx, slot))
        }
        c => {
            let limit = reg_limit(c).unwrap_or(None);
            if let Some(r) = loc.as_reg() {
                if regs.is_allocatable(r)
                    && state.pregs.owner[r.index()] == v as u32
                    && within_limit(r, limit)
                    && (!late || !cx.claims.clobbers.contains(r))
                {
                    return Ok(loc);
                }
            }
            let evict = !cx.is_branch;
            let Some(r) = pick_reg(
                func, regs, state, cx.after, cx.before, class, limit, excluded, evict,
            ) else {
                return Err(RegAllocError::TooManyLiveRegs);
            };
            let a = Allocation::reg(r);
            if slot_is_loc(state) {
                // The value is in its slot after the instruction (its
                // definition stores it there): it can also live in `r`
                // up to here, with no move at all.
                state.set_loc(regs, vreg, a);
                Ok(a)
            } else {
                Ok(place(state, cx, a))
            }
        }
    }
}

#[cfg(test)]
mod sort_tests {
    use super::{place_by_packed_rank, place_by_rank, starts_of};

    /// The packed counting sort orders operand indices by rank, stably,
    /// and gives each rank's start, as a plain stable sort does: every
    /// length up to 255 (one more would overflow a byte), ranks drawn
    /// from a fixed pseudo-random sequence.
    #[test]
    fn packed_sort_matches_a_stable_sort() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for len in 0..256usize {
            let ranks: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    // Skewed towards few ranks, as real instructions are.
                    (seed % 8).min(seed >> 8 & 7) as u8
                })
                .collect();
            let mut by_rank = vec![0u32; len];
            let mut start = [0u32; 9];
            let count = ranks.iter().map(|&r| 1u64 << (8 * u32::from(r))).sum();
            let first = starts_of(count, len, &mut start);
            place_by_rank(&ranks, first, &mut by_rank);
            if len <= 16 {
                let packed = ranks
                    .iter()
                    .enumerate()
                    .fold(0u64, |p, (i, &r)| p | u64::from(r) << (4 * i));
                let mut from_packed = vec![0u32; len];
                place_by_packed_rank(packed, first, &mut from_packed);
                assert_eq!(from_packed, by_rank, "packed order for {len} operands");
            }
            let mut expected: Vec<u32> = (0..len as u32).collect();
            expected.sort_by_key(|&i| ranks[i as usize]);
            assert_eq!(by_rank, expected, "order for {len} operands");
            for r in 0..8u8 {
                let below = ranks.iter().filter(|&&x| x < r).count() as u32;
                assert_eq!(
                    start[r as usize], below,
                    "start of rank {r}, {len} operands"
                );
            }
            assert_eq!(start[8], len as u32);
        }
    }
}
