//! Input validation: operands, block params, branch arguments and SSA form.
//!
//! Reads: the [`Function`]'s operands, block params and branch arguments,
//! and the [`CfgInfo`] of `cfg::analyze` (which has already checked the
//! block structure, so every block and instruction index here is in
//! range). Writes nothing but two per-vreg scratch columns in the arena
//! and, for the single-pass allocator, `Output::inst_alloc_offsets` (laid
//! out in the same walk over the instructions); for Ion,
//! [`validate_for_liveness`] also keeps the def column, lists each
//! vreg's upward-exposed uses ([`UpwardUses`], liveness's seeds) and lays
//! out the output's operand slots (`inst_alloc_offsets`, and `allocs`
//! with the fixed non-allocatable operands' registers). The walk also refuses a
//! branch or return before a block's last instruction (`BB(block)`), the
//! one structural check that reads every instruction.
//!
//! Two kinds of checks, reported in the order regalloc2 0.15.2 reports
//! them (its `ssa::validate_ssa` checks every def before any use), each
//! kind in block then instruction then operand order:
//!
//! 1. *def checks*: operand encoding, vreg range and class, reuse
//!    constraints, and one def per vreg (block params count as defs);
//! 2. *use checks*: every use and branch argument is dominated by its def
//!    (O(1) per query through the dominator-tree numbering).
//!
//! Both run in one pass over the operands ([`check_operands`]): a def
//! error returns at once; the first failing use is remembered, and a use
//! whose def the pass has not reached yet is checked at the end, so the
//! error returned is the one two separate passes would return.
//!
//! Errors, and what regalloc2 does with the same input:
//! * `TooManyOperands`: an instruction with more than 2^16 - 1 operands
//!   (the operand index must fit a `u16` slot other than the "no slot"
//!   value; regalloc2 accepts exactly 2^16 and fails above).
//! * `SSA(vreg, inst)`: a vreg index out of range (`inst` is
//!   `Inst::invalid()` for a block param), a vreg seen with two classes, a
//!   malformed constraint (reuse index out of range or not naming a use of
//!   the same class, reuse on a use, limit above 64, an unused constraint
//!   or class code), or a second def. regalloc2 reports the same for out
//!   of range defs and second defs under `validate_ssa`, and panics or
//!   debug-asserts on the rest.
//! * A second def is allowed only when `allow_multiple_vreg_defs()` holds,
//!   both defs are in one instruction, they are the same operand (vreg,
//!   constraint, position: the one allocation regalloc2 documents for them
//!   must meet both), and `validate_ssa` is off (regalloc2's SSA validator
//!   ignores that flag, so we do too). Stricter than regalloc2, which
//!   accepts differing defs and returns an output its checker rejects.
//! * A use not dominated by its def: `SSA(vreg, inst)` with
//!   `validate_ssa`, `EntryLivein` without it (regalloc2's liveness then
//!   finds the vreg live into the entry, since a single def that does not
//!   dominate a reachable use leaves a def-free path from the entry). A use
//!   and a def of one vreg in one instruction count as use-before-def.
//! * A branch argument not dominated by its def: `EntryLivein` in both
//!   modes (regalloc2's SSA validator does not look at branch arguments;
//!   its liveness does). Branch arguments are read after the branch's
//!   own defs. A branch argument whose class differs from its target
//!   param's: `Branch(inst)`.
//! * `DisallowedBranchArg` is checked by `cfg::check_critical_edges`,
//!   where regalloc2 checks it too (and, stricter, for a branch with
//!   clobbers there).
//! * Sizes and the machine ([`check_sizes`], [`check_env`]), a fixed
//!   constraint naming `PReg::invalid()` or a scratch register, fixed
//!   constraints no allocation can meet ([`check_fixed_registers`]), a
//!   `Reuse` def that is early or
//!   reuses a late use or one constrained other than `Reg` or `Any`:
//!   stricter than regalloc2, which
//!   accepts them and then panics or returns a wrong allocation
//!   (DESIGN.md, "Bad input").

use crate::cfg::CfgInfo;
use crate::tables::{Arena, ArenaVec, Column, SCRATCH_LIST_START};
use crate::{
    Allocation, Block, Function, Inst, InstRange, MachineEnv, Operand, OperandConstraint,
    OperandKind, OperandPos, PReg, PRegSet, RegAllocError, RegClass, VReg,
};

/// The bit of `Operand::bits` that marks a fixed-register constraint
/// (the top bit of the 7-bit constraint field at bit 36).
const FIXED_BIT: u64 = 1 << (36 + 6);

/// Most operands one instruction may have (a `u16` slot index other than
/// the "no slot" value `u16::MAX`).
pub const MAX_OPERANDS: usize = u16::MAX as usize;

/// Marks "no class seen yet" in the per-vreg class column.
const NO_CLASS: u8 = u8::MAX;

/// Where a vreg is defined: its block and a position key ordering defs and
/// uses within the block (`2 * first inst` for a block param, `2 * inst +
/// 1` for an instruction's def; a use at `inst` needs a key below
/// `2 * inst + 1`, a branch argument one below `2 * last + 2`).
#[derive(Clone, Copy, Debug)]
struct DefSite {
    block: Block,
    key: u32,
}

impl DefSite {
    const NONE: DefSite = DefSite {
        block: Block(u32::MAX),
        key: u32::MAX,
    };
}

/// Checks operands, branch arguments and (with `validate_ssa`) SSA form.
/// See the module doc for the rules and their errors.
/// Also checks the [`MachineEnv`] ([`check_env`]).
pub fn validate<F: Function>(
    func: &F,
    env: &MachineEnv,
    cfg: &CfgInfo<'_>,
    validate_ssa: bool,
    arena: &Arena,
) -> Result<(), RegAllocError> {
    validate_and_count(func, env, cfg, validate_ssa, arena, None).map(|_| ())
}

/// As [`validate`], and returns a bound on the vregs the function names:
/// every vreg index in an operand, block param or branch argument is below
/// it, and it is at most `num_vregs` (within about twice the largest index
/// named, so memory follows the vregs used, not the count declared). The
/// later phases size their per-vreg tables from it through [`UsedVregs`].
///
/// With `offsets`, also fills it as [`crate::Output::inst_alloc_offsets`]
/// (each instruction's first operand slot), from the same walk over the
/// instructions: the single-pass allocator then need not walk them again.
pub fn validate_and_count<F: Function>(
    func: &F,
    env: &MachineEnv,
    cfg: &CfgInfo<'_>,
    validate_ssa: bool,
    arena: &Arena,
    offsets: Option<&mut Vec<u32>>,
) -> Result<usize, RegAllocError> {
    let (columns, _) = validate_in(func, env, cfg, validate_ssa, arena, offsets, false)?;
    Ok(columns.classes.len())
}

/// As [`validate_and_count`], and also returns what the walk learned for
/// liveness: each vreg's def block and the blocks that read it before
/// writing it ([`UpwardUses`], in `temp`). Liveness then needs no scan of
/// its own over the operands.
///
/// With `slots`, also lays out the output's operand slots from the same
/// walk: `inst_alloc_offsets` as [`validate_and_count`] fills it, and
/// `allocs` one `Allocation::none()` per operand, except a fixed
/// non-allocatable operand's, which holds its register (its final
/// allocation). Move insertion then writes only the allocated operands.
pub fn validate_for_liveness<'t, F: Function>(
    func: &F,
    env: &MachineEnv,
    cfg: &CfgInfo<'_>,
    validate_ssa: bool,
    temp: &'t Arena,
    slots: Option<(&mut Vec<u32>, &mut Vec<Allocation>)>,
) -> Result<(usize, UpwardUses<'t>), RegAllocError> {
    let (offsets, allocs) = match slots {
        Some((offsets, allocs)) => (Some(offsets), Some(allocs)),
        None => (None, None),
    };
    let (columns, operand_slots) = validate_in(func, env, cfg, validate_ssa, temp, offsets, true)?;
    if let Some(allocs) = allocs {
        allocs.clear();
        allocs.resize(operand_slots as usize, Allocation::none());
        for &(slot, preg) in columns.fixed_nonallocatable.iter() {
            allocs[slot as usize] = Allocation::reg(preg);
        }
    }
    let mut live_across = columns.live_across;
    live_across.sort_unstable();
    Ok((
        columns.classes.len(),
        UpwardUses {
            defs: columns.defs,
            use_head: columns.use_head,
            links: columns.links,
            live_across,
        },
    ))
}

/// The walk of [`validate_and_count`]; with `record_upward_uses`, also
/// fills the [`UpwardUses`] columns and the fixed non-allocatable
/// operands' slots. Returns the columns and, when `offsets` is given, the
/// number of operand slots (else 0).
fn validate_in<'t, F: Function>(
    func: &F,
    env: &MachineEnv,
    cfg: &CfgInfo<'_>,
    validate_ssa: bool,
    arena: &'t Arena,
    offsets: Option<&mut Vec<u32>>,
    record_upward_uses: bool,
) -> Result<(VregColumns<'t>, u32), RegAllocError> {
    // Position keys (`2 * inst + 2` at most) fit a `u32` within the
    // instruction bound.
    check_sizes(func)?;
    check_env(env)?;
    let num_vregs = func.num_vregs();
    // The per-vreg columns start at a size that covers the usual numbering
    // (vregs a little above twice the instructions) and grow on demand, up
    // to `num_vregs` (see `VregColumns::grow`).
    let limit = num_vregs.min(MAX_VREGS);
    let initial = limit.min(func.num_insts().saturating_mul(2).saturating_add(256));
    let mut columns = VregColumns {
        defs: Column::new_in(arena),
        classes: Column::new_in(arena),
        record_upward_uses,
        use_head: Column::new_in(arena),
        links: ArenaVec::with_capacity_in(SCRATCH_LIST_START, arena),
        live_across: ArenaVec::with_capacity_in(SCRATCH_LIST_START, arena),
        fixed_nonallocatable: ArenaVec::new_in(arena),
        limit,
        memory_limit: None,
        scratch: env.scratch_by_class.iter().flatten().copied().collect(),
    };
    columns.grow_to(initial)?;
    let operand_slots = check_operands(func, cfg, validate_ssa, &mut columns, arena, offsets)?;
    Ok((columns, operand_slots))
}

/// "No node": the end of a list in [`UpwardUses::links`].
const NO_LINK: u32 = u32::MAX;

/// One node of a per-vreg list of blocks in [`UpwardUses`].
#[derive(Clone, Copy, Debug)]
struct BlockLink {
    block: u32,
    next: u32,
}

/// What validation learns for liveness, from the walk it makes anyway.
///
/// A function that passes validation has one def per vreg (a block param
/// counts as one), every use is dominated by it, and a use in the def's
/// own block comes after the def. So a vreg is read before any write in
/// a block (*upward-exposed* there: live into it) exactly when that block
/// has a use of it and is not its def's block, and the def's block is the
/// only one that kills it. Liveness walks predecessors back from the
/// upward-exposed blocks and stops at the def's block.
///
/// Invariants: `use_head[v]` heads a list in `links` of the blocks with an
/// upward-exposed use of `v`, each once, latest block first;
/// `live_across` lists, increasing and without duplicates, the vregs with
/// a non-empty list.
#[derive(Debug)]
pub struct UpwardUses<'t> {
    defs: Column<'t, usize, DefSite>,
    use_head: Column<'t, usize, u32>,
    links: ArenaVec<'t, BlockLink>,
    live_across: ArenaVec<'t, u32>,
}

impl UpwardUses<'_> {
    /// The vregs read in some block other than their def's, increasing.
    pub fn live_across(&self) -> &[u32] {
        &self.live_across
    }

    /// The block that defines `vreg` (as a block param or in an
    /// instruction).
    pub fn def_block(&self, vreg: usize) -> Block {
        self.defs[vreg].block
    }

    /// Calls `f` with each block that reads `vreg` before writing it.
    #[inline]
    pub fn for_each_upward_use_block(&self, vreg: usize, mut f: impl FnMut(Block)) {
        let mut node = self.use_head[vreg];
        while node != NO_LINK {
            let link = self.links[node as usize];
            f(Block(link.block));
            node = link.next;
        }
    }
}

/// Vreg indices a function of this size may name: [`MIN_VREG_BOUND`] plus
/// [`VREG_DENSITY`] per vreg mention (operand, block param, branch
/// argument). The per-vreg tables (here and in the allocator) are indexed
/// by vreg, so a small function naming vreg 10^9 would need gigabytes;
/// past the bound it is `TooManyLiveRegs` (regalloc2 sizes its tables by
/// the declared count and aborts). Compilers number vregs densely: the dev
/// corpus stays far below.
fn vreg_memory_limit<F: Function>(func: &F) -> usize {
    let mut mentions = 0usize;
    for i in 0..func.num_insts() {
        mentions = mentions.saturating_add(func.inst_operands(Inst::new(i)).len());
    }
    for b in (0..func.num_blocks()).map(Block::new) {
        mentions = mentions.saturating_add(func.block_params(b).len());
        let insts = func.block_insns(b);
        if !insts.is_empty() && insts.last().index() < func.num_insts() {
            for succ in 0..func.block_succs(b).len() {
                let args = func.branch_blockparams(b, insts.last(), succ).len();
                mentions = mentions.saturating_add(args);
            }
        }
    }
    mentions
        .saturating_mul(VREG_DENSITY)
        .saturating_add(MIN_VREG_BOUND)
}

/// See [`vreg_memory_limit`].
pub const MIN_VREG_BOUND: usize = 1 << 18;
/// See [`vreg_memory_limit`].
pub const VREG_DENSITY: usize = 64;

/// Bounds on the counts that size the allocator's memory, checked by
/// [`check_sizes`] before anything is allocated.
///
/// `num_vregs` may be at most [`MAX_VREGS`] (`VReg::MAX + 1`: every index
/// below it fits a `VReg`); instructions and blocks at most [`MAX_INSTS`]
/// (a program point, `2 * inst + 1`, must fit a `u32` with room to spare).
pub const MAX_VREGS: usize = VReg::MAX + 1;
/// Most instructions (and blocks) a function may have; see [`MAX_VREGS`].
pub const MAX_INSTS: usize = 1 << 30;

/// Checks the counts that size memory against [`MAX_VREGS`] and
/// [`MAX_INSTS`], before any table is allocated.
///
/// * `num_vregs` above `VReg::MAX + 1`: `SSA(VReg::invalid(),
///   Inst::invalid())` (no such vreg can be named).
/// * `num_insts` or `num_blocks` above `MAX_INSTS`: `BB(Block::invalid())`.
///
/// regalloc2 has no such check: it tries to allocate the tables and
/// panics or aborts when that fails.
pub fn check_sizes<F: Function>(func: &F) -> Result<(), RegAllocError> {
    if func.num_vregs() > MAX_VREGS {
        return Err(RegAllocError::SSA(VReg::invalid(), Inst::invalid()));
    }
    if func.num_insts() > MAX_INSTS || func.num_blocks() > MAX_INSTS {
        return Err(RegAllocError::BB(Block::invalid()));
    }
    Ok(())
}

/// Checks the [`MachineEnv`]: every allocatable register (preferred or
/// non-preferred) is a real register (not `PReg::invalid()`) of its list's
/// class and listed once (not in both lists of its class); a scratch
/// register is of its class, real, and not allocatable; a fixed stack slot
/// is real, listed once, neither allocatable nor a scratch register.
///
/// A bad environment is `TooManyLiveRegs`: regalloc2 0.15.2 has no error
/// for it (it accepts such an environment and may return an allocation
/// that uses one register for two values), and `TooManyLiveRegs` is the
/// one variant about the registers available rather than the function's
/// code. Stricter than regalloc2, deliberately: each of these makes the
/// allocator's output wrong, not just poor.
pub fn check_env(env: &MachineEnv) -> Result<(), RegAllocError> {
    let bad = Err(RegAllocError::TooManyLiveRegs);
    // Word by word (class `c`'s registers are word `c` of a set): a
    // class's lists may hold only its own registers, not `PReg::invalid()`
    // (Int register 63), and no register twice. Word 3 holds no class's
    // registers: a `PReg` with class code 3 (only `PReg::from_index` or
    // raw bits make one) is refused wherever the environment names it.
    let invalid = PReg::invalid();
    let real = |reg: PReg| reg.index() < 3 * 64;
    let mut allocatable = [0u64; 3];
    for c in 0..3 {
        let preferred = env.preferred_regs_by_class[c].words();
        let non_preferred = env.non_preferred_regs_by_class[c].words();
        let mut other_classes = 0u64;
        for (w, (&p, &n)) in preferred.iter().zip(&non_preferred).enumerate() {
            if w != c {
                other_classes |= p | n;
            }
        }
        let (p, n) = (preferred[c], non_preferred[c]);
        if other_classes != 0 || p & n != 0 {
            return bad;
        }
        allocatable[c] = p | n;
    }
    if allocatable[invalid.class() as usize] >> invalid.hw_enc() & 1 != 0 {
        return bad;
    }
    let mut named = PRegSet::empty();
    for c in 0..3 {
        let mut words = [0u64; PRegSet::WORDS];
        words[c] = allocatable[c];
        named.union_from(PRegSet::from_words(words));
    }
    for class in RegClass::ALL {
        if let Some(reg) = env.scratch_by_class[class as usize] {
            if reg == invalid || !real(reg) || reg.class() != class || named.contains(reg) {
                return bad;
            }
            named.add(reg);
        }
    }
    for &reg in &env.fixed_stack_slots {
        if reg == invalid || !real(reg) || named.contains(reg) {
            return bad;
        }
        named.add(reg);
    }
    Ok(())
}

/// The two per-vreg columns of the pass, grown on demand: their length is
/// a bound on the vreg indices seen so far, never above `limit`
/// (`min(num_vregs, MAX_VREGS)`) nor `memory_limit` (an index at or past
/// it is `TooManyLiveRegs`, see [`vreg_memory_limit`]; computed at the
/// first growth, as it takes a walk over every instruction that the usual
/// function, whose vregs fit the first size, never needs).
struct VregColumns<'a> {
    defs: Column<'a, usize, DefSite>,
    classes: Column<'a, usize, u8>,
    /// Whether to fill the [`UpwardUses`] columns below (`use_head` grows
    /// with the others only then).
    record_upward_uses: bool,
    use_head: Column<'a, usize, u32>,
    links: ArenaVec<'a, BlockLink>,
    live_across: ArenaVec<'a, u32>,
    /// With `record_upward_uses`: the operand slot and register of every
    /// fixed non-allocatable operand.
    fixed_nonallocatable: ArenaVec<'a, (u32, PReg)>,
    limit: usize,
    memory_limit: Option<usize>,
    /// The environment's scratch registers, to which no vreg may be fixed
    /// (kept here because every operand check has the columns at hand).
    scratch: PRegSet,
}

impl VregColumns<'_> {
    /// Makes room for `index` (which must be below `limit`): at least
    /// doubles the columns, so a function naming its vregs in increasing
    /// order grows them O(log n) times.
    #[inline(never)]
    fn grow<F: Function>(&mut self, index: usize, func: &F) -> Result<(), RegAllocError> {
        debug_assert!(index < self.limit);
        let memory_limit = *self
            .memory_limit
            .get_or_insert_with(|| vreg_memory_limit(func));
        if index >= memory_limit {
            return Err(RegAllocError::TooManyLiveRegs);
        }
        let len = self.classes.len();
        let cap = self.limit.min(memory_limit);
        self.grow_to((index + 1).max(len.saturating_mul(2)).min(cap))
    }

    /// Grows both columns to `len`; failing to get the memory is
    /// `TooManyLiveRegs` (see DESIGN.md, "Bad input").
    fn grow_to(&mut self, len: usize) -> Result<(), RegAllocError> {
        let more = len.saturating_sub(self.classes.len());
        let oom = |_| RegAllocError::TooManyLiveRegs;
        self.defs.raw_mut().try_reserve_exact(more).map_err(oom)?;
        self.classes
            .raw_mut()
            .try_reserve_exact(more)
            .map_err(oom)?;
        self.defs.resize(len, DefSite::NONE);
        self.classes.resize(len, NO_CLASS);
        if self.record_upward_uses {
            self.use_head
                .raw_mut()
                .try_reserve_exact(more)
                .map_err(oom)?;
            self.use_head.resize(len, NO_LINK);
        }
        Ok(())
    }

    /// Notes a use of `index` in `block` for [`UpwardUses`]: one in a
    /// block other than its def's (or before its def was seen, which
    /// validation accepts only for a def in another block).
    #[inline(always)]
    fn note_use(&mut self, index: usize, block: Block) {
        if self.record_upward_uses && self.defs[index].block != block {
            self.note_upward_use(index, block);
        }
    }

    #[inline]
    fn note_upward_use(&mut self, index: usize, block: Block) {
        let head = self.use_head[index];
        if head == NO_LINK {
            self.live_across.push(index as u32);
        } else if self.links[head as usize].block == block.0 {
            // Blocks are walked in order: a repeat is at the head.
            return;
        }
        self.use_head[index] = self.links.len() as u32;
        self.links.push(BlockLink {
            block: block.0,
            next: head,
        });
    }

    /// Makes sure `index` (checked below `num_vregs`) has a row.
    #[inline(always)]
    fn ensure<F: Function>(&mut self, index: usize, func: &F) -> Result<(), RegAllocError> {
        if index < self.classes.len() {
            Ok(())
        } else {
            self.grow(index, func)
        }
    }
}

/// `func` with `num_vregs` lowered to the bound [`validate`] returns, so
/// the phases after validation size their per-vreg tables by the vregs
/// the function names rather than the count it declares (a function may
/// declare 2^30 vregs and use 200). Everything else is `func`'s.
pub struct UsedVregs<'f, F: Function> {
    func: &'f F,
    num_vregs: usize,
}

impl<F: Function> core::fmt::Debug for UsedVregs<'_, F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("UsedVregs")
            .field("num_vregs", &self.num_vregs)
            .finish_non_exhaustive()
    }
}

impl<'f, F: Function> UsedVregs<'f, F> {
    /// `func` seen with `num_vregs` vregs (the bound from [`validate`]).
    pub fn new(func: &'f F, num_vregs: usize) -> Self {
        debug_assert!(num_vregs <= func.num_vregs());
        UsedVregs { func, num_vregs }
    }
}

impl<F: Function> Function for UsedVregs<'_, F> {
    #[inline(always)]
    fn num_insts(&self) -> usize {
        self.func.num_insts()
    }
    #[inline(always)]
    fn num_blocks(&self) -> usize {
        self.func.num_blocks()
    }
    #[inline(always)]
    fn entry_block(&self) -> Block {
        self.func.entry_block()
    }
    #[inline(always)]
    fn block_insns(&self, block: Block) -> InstRange {
        self.func.block_insns(block)
    }
    #[inline(always)]
    fn block_succs(&self, block: Block) -> &[Block] {
        self.func.block_succs(block)
    }
    #[inline(always)]
    fn block_preds(&self, block: Block) -> &[Block] {
        self.func.block_preds(block)
    }
    #[inline(always)]
    fn block_params(&self, block: Block) -> &[VReg] {
        self.func.block_params(block)
    }
    #[inline(always)]
    fn is_ret(&self, insn: Inst) -> bool {
        self.func.is_ret(insn)
    }
    #[inline(always)]
    fn is_branch(&self, insn: Inst) -> bool {
        self.func.is_branch(insn)
    }
    #[inline(always)]
    fn branch_blockparams(&self, block: Block, insn: Inst, succ_idx: usize) -> &[VReg] {
        self.func.branch_blockparams(block, insn, succ_idx)
    }
    #[inline(always)]
    fn inst_operands(&self, insn: Inst) -> &[Operand] {
        self.func.inst_operands(insn)
    }
    #[inline(always)]
    fn inst_clobbers(&self, insn: Inst) -> PRegSet {
        self.func.inst_clobbers(insn)
    }
    #[inline(always)]
    fn num_vregs(&self) -> usize {
        self.num_vregs
    }
    #[inline(always)]
    fn debug_value_labels(&self) -> &[(VReg, Inst, Inst, u32)] {
        self.func.debug_value_labels()
    }
    #[inline(always)]
    fn spillslot_size(&self, regclass: RegClass) -> usize {
        self.func.spillslot_size(regclass)
    }
    #[inline(always)]
    fn multi_spillslot_named_by_last_slot(&self) -> bool {
        self.func.multi_spillslot_named_by_last_slot()
    }
    #[inline(always)]
    fn allow_multiple_vreg_defs(&self) -> bool {
        self.func.allow_multiple_vreg_defs()
    }
}

/// A use check the pass could not decide when it got there (the vreg's
/// def comes later): `seq` numbers use checks in pass order.
struct PendingUse {
    seq: u64,
    index: usize,
    block: Block,
    key: u32,
    error: RegAllocError,
}

/// The use checks of one pass: decided at once when the def was already
/// seen (a def, once recorded, changes only through a def error, which is
/// reported first anyway), else deferred to [`UseChecks::finish`].
struct UseChecks<'a> {
    seq: u64,
    first_failure: Option<(u64, RegAllocError)>,
    pending: ArenaVec<'a, PendingUse>,
}

impl UseChecks<'_> {
    /// Whether the def at `site` reaches a use at `key` in `block`.
    #[inline]
    fn reaches(cfg: &CfgInfo<'_>, site: DefSite, block: Block, key: u32) -> bool {
        if site.block.is_invalid() {
            return false;
        }
        // Both answers, then a select: whether a use is in its def's
        // block follows no pattern the branch predictor could learn.
        let same_block = site.block == block;
        let earlier = site.key < key;
        let pre = cfg.dom_pre[block];
        let dominates = (cfg.dom_pre[site.block] <= pre) & (pre <= cfg.dom_last[site.block]);
        (same_block & earlier) | (!same_block & dominates)
    }

    #[inline]
    fn check(
        &mut self,
        cfg: &CfgInfo<'_>,
        defs: &Column<usize, DefSite>,
        index: usize,
        block: Block,
        key: u32,
        error: impl FnOnce() -> RegAllocError,
    ) {
        let seq = self.seq;
        self.seq += 1;
        if self.first_failure.is_some() {
            // A later use cannot be the first failure.
            return;
        }
        let site = defs[index];
        if site.block.is_invalid() {
            self.pending.push(PendingUse {
                seq,
                index,
                block,
                key,
                error: error(),
            });
        } else if !Self::reaches(cfg, site, block, key) {
            self.first_failure = Some((seq, error()));
        }
    }

    /// The first failing use check in pass order, once every def is known.
    fn finish(self, cfg: &CfgInfo<'_>, defs: &Column<usize, DefSite>) -> Result<(), RegAllocError> {
        let failed = self
            .pending
            .into_iter()
            .find(|p| !Self::reaches(cfg, defs[p.index], p.block, p.key));
        match (failed, self.first_failure) {
            (Some(p), Some((seq, _))) if p.seq < seq => Err(p.error),
            (_, Some((_, error))) => Err(error),
            (Some(p), None) => Err(p.error),
            (None, None) => Ok(()),
        }
    }
}

/// The raw vreg index of an operand (read without `Operand::vreg`, which
/// debug-asserts the index fits a `VReg`).
#[inline]
fn raw_vreg_index(op: Operand) -> usize {
    op.bits() as u32 as usize
}

/// A `VReg` naming `index` and the raw class code for an error report,
/// even when `index` does not fit (its low bits are kept).
#[inline]
fn vreg_for_report(index: usize, class_code: u64) -> VReg {
    VReg::from_bits(((index as u32) << 2) | class_code as u32)
}

/// Records `class` for `vreg`, failing if another class was seen.
#[inline]
fn observe_class(classes: &mut Column<usize, u8>, index: usize, class: RegClass) -> Result<(), ()> {
    let seen = &mut classes[index];
    if *seen == NO_CLASS {
        *seen = class as u8;
        Ok(())
    } else if *seen == class as u8 {
        Ok(())
    } else {
        Err(())
    }
}

/// Whether `def` is the same operand (vreg, class, constraint, position)
/// as the first def of its vreg in `operands`. regalloc2 documents
/// several defs of one vreg in one instruction as one def with one
/// allocation, which defs that differ (two fixed registers, early and
/// late) cannot have; both allocators then return an output their
/// checkers reject, so we refuse the input instead.
#[cold]
fn repeats_an_earlier_def(operands: &[Operand], def: Operand) -> bool {
    operands
        .iter()
        .find(|op| op.kind() == OperandKind::Def && op.vreg().vreg() == def.vreg().vreg())
        .is_some_and(|first| first.bits() == def.bits())
}

/// The pass: def checks (operand encoding, vreg ranges and classes,
/// constraints, single defs; fills `defs` and `classes`) fail at once,
/// use checks go through [`UseChecks`].
fn check_operands<F: Function>(
    func: &F,
    cfg: &CfgInfo<'_>,
    validate_ssa: bool,
    columns: &mut VregColumns<'_>,
    arena: &Arena,
    mut offsets: Option<&mut Vec<u32>>,
) -> Result<u32, RegAllocError> {
    let num_vregs = func.num_vregs();
    let allow_same_inst_defs = func.allow_multiple_vreg_defs() && !validate_ssa;
    let mut uses = UseChecks {
        seq: 0,
        first_failure: None,
        pending: ArenaVec::new_in(arena),
    };
    let mut operand_slots = 0u32;
    if let Some(offsets) = offsets.as_deref_mut() {
        offsets.clear();
        offsets.reserve(func.num_insts());
    }
    for block in (0..func.num_blocks()).map(Block::new) {
        let insts = func.block_insns(block);
        let first = insts.first().0;
        for &param in func.block_params(block) {
            let index = param.vreg();
            let err = RegAllocError::SSA(param, Inst::invalid());
            if index >= num_vregs || param.bits() & 3 == 3 {
                return Err(err);
            }
            columns.ensure(index, func)?;
            observe_class(&mut columns.classes, index, param.class()).map_err(|()| err.clone())?;
            if columns.defs[index].block.is_valid() {
                return Err(err);
            }
            columns.defs[index] = DefSite {
                block,
                key: 2 * first,
            };
        }
        let last = insts.last();
        for inst in insts.iter() {
            prefetch_operands(func, inst);
            // A block's only branch or return is its last instruction
            // (`cfg::check_blocks` checked the last one; the others are
            // checked here, in the walk that reads them anyway).
            if inst != last && (func.is_branch(inst) || func.is_ret(inst)) {
                return Err(RegAllocError::BB(block));
            }
            let operands = func.inst_operands(inst);
            if operands.len() > MAX_OPERANDS {
                return Err(RegAllocError::TooManyOperands);
            }
            let first_slot = operand_slots;
            if let Some(offsets) = offsets.as_deref_mut() {
                offsets.push(operand_slots);
                // At most 2^30 instructions of 2^16 operands: no overflow
                // of a `u32` is possible only with the sum checked.
                operand_slots = operand_slots
                    .checked_add(operands.len() as u32)
                    .ok_or(RegAllocError::TooManyOperands)?;
            }
            let key = 2 * inst.0 + 1;
            // Whether any operand is fixed to a register (the constraint
            // field's top bit): only then can `check_fixed_registers` find
            // anything.
            let mut any_fixed = 0u64;
            for (slot, &op) in operands.iter().enumerate() {
                any_fixed |= op.bits() & FIXED_BIT;
                check_operand(func, op, operands, inst, num_vregs, columns)?;
                let index = raw_vreg_index(op);
                if op.kind() != OperandKind::Def {
                    if index != VReg::MAX {
                        uses.check(cfg, &columns.defs, index, block, key, || {
                            if validate_ssa {
                                RegAllocError::SSA(op.vreg(), inst)
                            } else {
                                RegAllocError::EntryLivein
                            }
                        });
                        columns.note_use(index, block);
                    } else if columns.record_upward_uses {
                        // The reserved vreg: a fixed non-allocatable use
                        // (`check_operand` refused anything else).
                        if let Some(preg) = op.as_fixed_nonallocatable() {
                            columns
                                .fixed_nonallocatable
                                .push((first_slot + slot as u32, preg));
                        }
                    }
                    continue;
                }
                let site = &mut columns.defs[index];
                if site.block.is_valid() {
                    let same_inst = site.key == key;
                    if !(allow_same_inst_defs && same_inst && repeats_an_earlier_def(operands, op))
                    {
                        return Err(RegAllocError::SSA(op.vreg(), inst));
                    }
                }
                *site = DefSite { block, key };
            }
            if any_fixed != 0 {
                check_fixed_registers(func, inst, operands)?;
            }
        }
        // Branch arguments: range, class, and matching the target param's
        // class (their count was checked by `cfg::check_branch_arity`);
        // read after the branch's own defs.
        if func.is_branch(last) {
            let arg_key = 2 * last.0 + 2;
            for (i, &succ) in func.block_succs(block).iter().enumerate() {
                let params = func.block_params(succ);
                for (&arg, &param) in func.branch_blockparams(block, last, i).iter().zip(params) {
                    let err = RegAllocError::SSA(arg, last);
                    if arg.vreg() >= num_vregs || arg.bits() & 3 == 3 {
                        return Err(err);
                    }
                    columns.ensure(arg.vreg(), func)?;
                    observe_class(&mut columns.classes, arg.vreg(), arg.class())
                        .map_err(|()| err)?;
                    if arg.class() != param.class() {
                        return Err(RegAllocError::Branch(last));
                    }
                    uses.check(cfg, &columns.defs, arg.vreg(), block, arg_key, || {
                        RegAllocError::EntryLivein
                    });
                    columns.note_use(arg.vreg(), block);
                }
            }
        }
    }
    uses.finish(cfg, &columns.defs)?;
    Ok(operand_slots)
}

/// How many instructions ahead [`prefetch_operands`] looks.
const PREFETCH_DISTANCE: usize = 8;

/// Asks the cache for the operands of the instruction
/// [`PREFETCH_DISTANCE`] ahead of `inst`: this walk is the first to read
/// the function's operands, usually from memory, and does little work per
/// operand, so without a hint it waits on each instruction's list in
/// turn. A hint only: it changes no result.
#[inline(always)]
fn prefetch_operands<F: Function>(func: &F, inst: Inst) {
    #[cfg(target_arch = "x86_64")]
    {
        let ahead = inst.index() + PREFETCH_DISTANCE;
        if ahead < func.num_insts() {
            let operands = func.inst_operands(Inst::new(ahead));
            // SAFETY: a prefetch reads nothing and cannot fault.
            unsafe {
                core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(
                    operands.as_ptr().cast(),
                );
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (func, inst);
}

/// Fixed-register constraints of one instruction that no allocation can
/// meet: two vregs fixed to one register where both must be there at once
/// (two uses; two defs; a use and a def unless the use is early and the
/// def late), or a def or late use fixed to a register the instruction
/// clobbers (regalloc2 documents that as illegal). `SSA(vreg, inst)` for
/// the later operand; regalloc2 accepts these and returns an allocation
/// that reads the wrong value.
fn check_fixed_registers<F: Function>(
    func: &F,
    inst: Inst,
    operands: &[Operand],
) -> Result<(), RegAllocError> {
    // The usual instruction fixes each register once and clobbers none
    // its late operands or defs are fixed to: then no rule can fail, and
    // one pass with two register sets shows it (the full check sorts the
    // fixed operands; 5% of the single pass on small functions).
    let (mut seen, mut late_or_def) = (PRegSet::empty(), PRegSet::empty());
    let mut repeated = false;
    for op in operands {
        if let OperandConstraint::FixedReg(preg) = op.constraint() {
            if raw_vreg_index(*op) != VReg::MAX {
                repeated |= seen.contains(preg);
                seen.add(preg);
                if op.kind() == OperandKind::Def || op.pos() == OperandPos::Late {
                    late_or_def.add(preg);
                }
            }
        }
    }
    let clobbered = late_or_def != PRegSet::empty()
        && (late_or_def & func.inst_clobbers(inst)) != PRegSet::empty();
    if !repeated && !clobbered {
        return Ok(());
    }
    check_fixed_registers_in_full(func, inst, operands)
}

/// [`check_fixed_registers`] when a register is fixed twice or a late or
/// def operand's register is clobbered: finds the operand to report.
#[cold]
#[inline(never)]
fn check_fixed_registers_in_full<F: Function>(
    func: &F,
    inst: Inst,
    operands: &[Operand],
) -> Result<(), RegAllocError> {
    // (register index, operand index), for vreg operands fixed to one.
    let mut fixed: smallvec::SmallVec<[(usize, usize); 8]> = smallvec::SmallVec::new();
    let mut needs_clobber_check = false;
    for (i, op) in operands.iter().enumerate() {
        if let OperandConstraint::FixedReg(preg) = op.constraint() {
            if raw_vreg_index(*op) != VReg::MAX {
                fixed.push((preg.index(), i));
                needs_clobber_check |=
                    op.kind() == OperandKind::Def || op.pos() == OperandPos::Late;
            }
        }
    }
    if needs_clobber_check {
        let clobbers = func.inst_clobbers(inst);
        for &(_, i) in &fixed {
            let op = operands[i];
            let late_or_def = op.kind() == OperandKind::Def || op.pos() == OperandPos::Late;
            if let OperandConstraint::FixedReg(preg) = op.constraint() {
                if late_or_def && clobbers.contains(preg) {
                    return Err(RegAllocError::SSA(op.vreg(), inst));
                }
            }
        }
    }
    if fixed.len() < 2 {
        return Ok(());
    }
    fixed.sort_unstable();
    for group in fixed.chunk_by(|a, b| a.0 == b.0) {
        let (mut use_vreg, mut def_vreg) = (None, None);
        let (mut late_use, mut early_def) = (false, false);
        for &(_, i) in group {
            let op = operands[i];
            let v = op.vreg().vreg();
            let conflict = match op.kind() {
                OperandKind::Use => {
                    late_use |= op.pos() == OperandPos::Late;
                    *use_vreg.get_or_insert(v) != v
                }
                OperandKind::Def => {
                    early_def |= op.pos() == OperandPos::Early;
                    *def_vreg.get_or_insert(v) != v
                }
            };
            if conflict || (use_vreg.is_some() && def_vreg.is_some() && (late_use || early_def)) {
                return Err(RegAllocError::SSA(op.vreg(), inst));
            }
        }
    }
    Ok(())
}

/// Checks one operand's encoding, vreg index, class and constraint.
///
/// Fast path for the common operand (a plain or fixed-register
/// constraint on an in-range vreg whose class agrees): a few bit tests and
/// one class lookup. Anything else goes to [`check_operand_in_full`],
/// which decides exactly as if the fast path did not exist (the fast path
/// changes nothing unless it accepts).
#[inline(always)]
fn check_operand<F: Function>(
    func: &F,
    op: Operand,
    operands: &[Operand],
    inst: Inst,
    num_vregs: usize,
    columns: &mut VregColumns<'_>,
) -> Result<(), RegAllocError> {
    let bits = op.bits();
    let index = raw_vreg_index(op);
    let class_code = ((bits >> 32) & 3) as u8;
    let constraint_code = (bits >> 36) & 0b111_1111;
    // Fixed to hardware encoding 63 (`PReg::invalid()` in the Int class)
    // takes the full check.
    // So does any fixed register when the environment has a scratch
    // register (it may be that one).
    let plain_or_fixed = constraint_code <= 2
        || (constraint_code >= 0b100_0000
            && constraint_code != 0b111_1111
            && columns.scratch == PRegSet::empty());
    if plain_or_fixed && class_code != 3 && index < columns.classes.len().min(VReg::MAX) {
        let seen = &mut columns.classes[index];
        // First sight or the same class again (one test, no branch on
        // which): record it.
        if (*seen == class_code) | (*seen == NO_CLASS) {
            *seen = class_code;
            return Ok(());
        }
    }
    check_operand_in_full(func, op, operands, inst, num_vregs, columns)
}

#[inline(never)]
fn check_operand_in_full<F: Function>(
    func: &F,
    op: Operand,
    operands: &[Operand],
    inst: Inst,
    num_vregs: usize,
    columns: &mut VregColumns<'_>,
) -> Result<(), RegAllocError> {
    let index = raw_vreg_index(op);
    let class_code = (op.bits() >> 32) & 3;
    let report = || RegAllocError::SSA(vreg_for_report(index, class_code), inst);
    if class_code == 3 {
        return Err(report());
    }
    let constraint_code = (op.bits() >> 36) & 0b111_1111;
    if constraint_code < 0b001_0000 && constraint_code > 2 {
        // An unused plain constraint code (it would read as `Any`).
        return Err(report());
    }
    if index == VReg::MAX {
        // Only `fixed_nonallocatable` may use the reserved index (p63 too:
        // regalloc2's own fuzzing generator names it there).
        return match op.constraint() {
            OperandConstraint::FixedReg(_) if op.kind() == OperandKind::Use => Ok(()),
            _ => Err(report()),
        };
    }
    if let OperandConstraint::FixedReg(preg) = op.constraint() {
        // A vreg fixed to a register no environment can allocate, or to
        // the scratch register: the allocator uses that one freely between
        // instructions, so a value may only pass through it, yet both
        // allocators keep a fixed-scratch vreg's whole live range there
        // (regalloc2's checker does not object; ours does).
        if preg == PReg::invalid() || columns.scratch.contains(preg) {
            return Err(report());
        }
    }
    if index >= num_vregs {
        return Err(report());
    }
    columns.ensure(index, func)?;
    observe_class(&mut columns.classes, index, op.class()).map_err(|()| report())?;
    match op.constraint() {
        OperandConstraint::Reuse(target) => {
            // A late def of a plain (`Reg` or `Any`) early use: an input
            // fixed to a register, limited or on the stack would bind the
            // def's location too, which its own constraint does not say (a
            // stack input contradicts it), and a late input or an early
            // def overlap in time with the def writing the shared register
            // (regalloc2 accepts all of these and returns allocations the
            // checkers reject).
            let ok = op.kind() == OperandKind::Def
                && op.pos() == OperandPos::Late
                && operands.get(target).is_some_and(|&input| {
                    input.kind() == OperandKind::Use
                        && input.class() == op.class()
                        && raw_vreg_index(input) != VReg::MAX
                        && matches!(
                            input.constraint(),
                            OperandConstraint::Reg | OperandConstraint::Any
                        )
                        && input.pos() == OperandPos::Early
                });
            if !ok {
                return Err(report());
            }
        }
        OperandConstraint::Limit(max) if max > PReg::MAX + 1 => return Err(report()),
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ion::liveranges::testing::*;
    use crate::Operand;

    /// The register-by-register statement of [`check_env`]'s rules,
    /// which the word-by-word version must agree with.
    fn check_env_reference(env: &MachineEnv) -> Result<(), RegAllocError> {
        let bad = Err(RegAllocError::TooManyLiveRegs);
        // Class code 3 (indices 192..256) names no register.
        let wrong = |reg: PReg, class: Option<RegClass>| {
            reg == PReg::invalid()
                || reg.index() >= 192
                || class.is_some_and(|class| reg.class() != class)
        };
        let mut named = PRegSet::empty();
        for class in RegClass::ALL {
            let c = class as usize;
            for reg in env.preferred_regs_by_class[c]
                .into_iter()
                .chain(env.non_preferred_regs_by_class[c])
            {
                if wrong(reg, Some(class)) || named.contains(reg) {
                    return bad;
                }
                named.add(reg);
            }
        }
        for class in RegClass::ALL {
            if let Some(reg) = env.scratch_by_class[class as usize] {
                if wrong(reg, Some(class)) || named.contains(reg) {
                    return bad;
                }
                named.add(reg);
            }
        }
        for &reg in &env.fixed_stack_slots {
            if wrong(reg, None) || named.contains(reg) {
                return bad;
            }
            named.add(reg);
        }
        Ok(())
    }

    #[test]
    fn check_env_agrees_with_the_register_by_register_rules() {
        // A small xorshift stream: environments over a few registers per
        // class, so that overlaps, wrong classes and p63 are all common.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        // Mostly a register of the list's own class, now and then of
        // another class (class code 3 too) or register 63
        // (`PReg::invalid()` in Int).
        let reg = |next: &mut dyn FnMut() -> u64, class: usize| {
            let class = if next() % 12 == 0 {
                next() % 4
            } else {
                class as u64
            };
            let hw = if next() % 12 == 0 { 63 } else { next() % 8 };
            PReg::from_index((class * 64 + hw) as usize)
        };
        let (mut accepted, mut refused) = (0, 0);
        for _ in 0..20_000 {
            let mut env = MachineEnv {
                preferred_regs_by_class: [PRegSet::empty(); 3],
                non_preferred_regs_by_class: [PRegSet::empty(); 3],
                scratch_by_class: [None; 3],
                fixed_stack_slots: Vec::new(),
            };
            for c in 0..3 {
                for _ in 0..next() % 3 {
                    env.preferred_regs_by_class[c].add(reg(&mut next, c));
                }
                for _ in 0..next() % 3 {
                    env.non_preferred_regs_by_class[c].add(reg(&mut next, c));
                }
                if next() % 3 == 0 {
                    env.scratch_by_class[c] = Some(reg(&mut next, c));
                }
            }
            for _ in 0..next() % 3 {
                let class = (next() % 3) as usize;
                env.fixed_stack_slots.push(reg(&mut next, class));
            }
            let expected = check_env_reference(&env);
            assert_eq!(check_env(&env), expected, "{env:?}");
            if expected.is_ok() {
                accepted += 1;
            } else {
                refused += 1;
            }
            for set in env
                .preferred_regs_by_class
                .iter()
                .chain(&env.non_preferred_regs_by_class)
            {
                assert_eq!(set.max_preg(), set.into_iter().last());
            }
        }
        // Both outcomes are exercised.
        assert!(accepted > 1000 && refused > 1000, "{accepted} {refused}");
    }

    #[test]
    fn fixed_bit_marks_exactly_the_fixed_register_constraints() {
        let v = VReg::new(3, RegClass::Int);
        let p = PReg::new(5, RegClass::Int);
        for (op, fixed) in [
            (Operand::reg_fixed_use(v, p), true),
            (Operand::reg_fixed_def(v, p), true),
            (Operand::fixed_nonallocatable(p), true),
            (Operand::reg_use(v), false),
            (Operand::any_use(v), false),
            (
                Operand::new(
                    v,
                    OperandConstraint::Stack,
                    OperandKind::Def,
                    OperandPos::Late,
                ),
                false,
            ),
            (Operand::reg_reuse_def(v, 1), false),
        ] {
            let is_fixed = matches!(op.constraint(), OperandConstraint::FixedReg(_));
            assert_eq!(is_fixed, fixed, "{op}");
            assert_eq!(op.bits() & FIXED_BIT != 0, fixed, "{op}");
        }
        for limit in [1, 2, 64] {
            let op = Operand::new(
                v,
                OperandConstraint::Limit(limit),
                OperandKind::Use,
                OperandPos::Early,
            );
            assert_eq!(op.bits() & FIXED_BIT, 0, "{op}");
        }
    }

    fn check(func: &crate::owned::FunctionData) -> Result<(), RegAllocError> {
        let arena = Arena::new();
        let cfg = crate::cfg::analyze(func, &arena)?;
        validate(func, &env(), &cfg, true, &arena)
    }

    /// b0 -> b1, b2 -> b3. `b1_ops` and `b2_ops` precede each branch; b1
    /// defines v3 after them, b3 defines v4.
    fn diamond(b1_ops: Vec<Operand>, b2_ops: Vec<Operand>) -> crate::owned::FunctionData {
        let mut b1 = vec![];
        if !b1_ops.is_empty() {
            b1.push(op(b1_ops));
        }
        b1.push(op(vec![Operand::reg_def(v(3))]));
        b1.push(branch(vec![]));
        function(
            5,
            vec![
                B(
                    vec![],
                    vec![op(vec![Operand::reg_def(v(0))]), branch(vec![])],
                    vec![(1, vec![]), (2, vec![])],
                ),
                B(vec![], b1, vec![(3, vec![])]),
                B(vec![], vec![op(b2_ops), branch(vec![])], vec![(3, vec![])]),
                B(
                    vec![],
                    vec![op(vec![Operand::reg_def(v(4))]), ret(vec![])],
                    vec![],
                ),
            ],
        )
    }

    #[test]
    fn a_use_whose_def_comes_later_is_checked_in_order() {
        // b1's use of v4 (defined later, in b3) fails before b2's use of
        // v3 (defined earlier, in b1, which does not dominate b2).
        let func = diamond(vec![Operand::reg_use(v(4))], vec![Operand::reg_use(v(3))]);
        assert_eq!(check(&func), Err(RegAllocError::SSA(v(4), Inst::new(2))));
    }

    #[test]
    fn an_earlier_failing_use_wins_over_a_later_deferred_one() {
        let func = diamond(vec![], vec![Operand::reg_use(v(3)), Operand::reg_use(v(4))]);
        assert_eq!(check(&func), Err(RegAllocError::SSA(v(3), Inst::new(4))));
    }

    #[test]
    fn a_def_error_after_a_failing_use_is_reported_first() {
        // v0 defined twice (in b0 and b2) after b1's failing use of v4.
        let func = diamond(vec![Operand::reg_use(v(4))], vec![Operand::reg_def(v(0))]);
        assert_eq!(check(&func), Err(RegAllocError::SSA(v(0), Inst::new(5))));
    }
}
