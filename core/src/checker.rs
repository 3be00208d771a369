//! The symbolic checker: proves an allocator's [`Output`] right for a
//! [`Function`] and [`MachineEnv`], or lists everything wrong with it.
//!
//! Reads only the function, the machine environment and the output; it
//! knows nothing of the allocator's internal tables, so it checks any
//! allocator (ours or upstream regalloc2's) the same way.
//!
//! Two kinds of facts are proved:
//! - *Constraints*, per operand and independent of program state: the
//!   allocation exists, has the operand's class, and satisfies its
//!   [`OperandConstraint`] (register, stack, fixed register, reuse, limit);
//!   the scratch register and fixed stack slots are only given to operands
//!   that name them (a fixed stack slot may still serve an `Any` operand,
//!   as a stack location); spill slots are below `num_spillslots`; moves are not
//!   stack to stack.
//! - *Values*, by forward dataflow: every use reads a location that holds
//!   the vreg it names on every path. The abstract state maps each location
//!   (a register or a spill slot) to the set of vregs whose current value
//!   it holds. Sets meet by intersection at joins; an unknown location is the
//!   empty set. Edits copy sets, defs make their location hold exactly the
//!   defined vreg (and drop it everywhere else: it is a new value), clobbers
//!   empty their registers, and a branch's block arguments give their
//!   locations the successor's matching block params on that edge.
//!
//! The idea (symbolic values flowing through spills, reloads and moves)
//! comes from regalloc.rs's and regalloc2's checkers; this is an
//! independent implementation with a dense location numbering, a reverse
//! index from vregs to locations (so a def's removal is proportional to the
//! copies of that vreg, not to the number of locations), block-entry states
//! as sorted fact lists, and stricter ordering of effects inside an
//! instruction (see DESIGN.md, "The checker").

use core::fmt;
use core::ops::Range;

use smallvec::SmallVec;

use crate::{
    Allocation, Block, Edit, Function, Inst, MachineEnv, Operand, OperandConstraint, OperandKind,
    OperandPos, Output, PReg, PRegSet, ProgPoint, SpillSlot, VReg,
};

/// Everything the checker found wrong, in a deterministic order: output
/// shape problems first, then block by block in block order, each block in
/// program order.
#[derive(Clone, Debug)]
pub struct CheckerErrors {
    /// The errors; never empty when returned from [`Checker::run`].
    pub errors: Vec<CheckerError>,
}

impl fmt::Display for CheckerErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for CheckerErrors {}

/// One violation. The first eleven variants carry upstream regalloc2's
/// names and meanings; the rest cover misuse upstream does not check.
///
/// The fields mean the same in every variant: `inst` is the instruction,
/// `op` the operand of it concerned and `alloc` the location the output
/// gave that operand; `point` is a program point, `from`/`into` a move's
/// source and destination; `block`/`succ` a block and one of its
/// successors. The other fields are described on their variant.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(
    missing_docs,
    reason = "the fields, named alike in every variant, are documented once above"
)]
pub enum CheckerError {
    /// The operand has no allocation (`Allocation::none()`).
    MissingAllocation { inst: Inst, op: Operand },
    /// The use reads a location whose value is unknown on some path.
    UnknownValueInAllocation {
        inst: Inst,
        op: Operand,
        alloc: Allocation,
    },
    /// The operand shares its location with a def of the same instruction
    /// that is written while the operand is still live: an early def over
    /// an early use, or two defs written at the same point.
    ConflictedValueInAllocation {
        inst: Inst,
        op: Operand,
        alloc: Allocation,
    },
    /// The use reads a location that holds other vregs (`actual`), not the
    /// one it names, on some path.
    IncorrectValuesInAllocation {
        inst: Inst,
        op: Operand,
        alloc: Allocation,
        actual: Vec<VReg>,
    },
    /// The operand's constraint cannot be met as stated (a `Reuse` index
    /// that does not name a use of the instruction).
    ConstraintViolated {
        inst: Inst,
        op: Operand,
        alloc: Allocation,
    },
    /// A `Reg`, `Limit` or `Reuse` operand is not in a register (or is in a
    /// fixed stack slot).
    AllocationIsNotReg {
        inst: Inst,
        op: Operand,
        alloc: Allocation,
    },
    /// A `FixedReg` operand is not in its register.
    AllocationIsNotFixedReg {
        inst: Inst,
        op: Operand,
        alloc: Allocation,
    },
    /// A `Reuse(i)` def is not in operand `i`'s allocation.
    AllocationIsNotReuse {
        inst: Inst,
        op: Operand,
        alloc: Allocation,
        expected_alloc: Allocation,
    },
    /// A `Stack` operand is neither in a spill slot nor in a fixed stack slot.
    AllocationIsNotStack {
        inst: Inst,
        op: Operand,
        alloc: Allocation,
    },
    /// A move from a stack location to a stack location (no machine has one).
    StackToStackMove { into: Allocation, from: Allocation },
    /// A `Limit` operand's register encoding is outside `range`.
    AllocationOutsideLimit {
        inst: Inst,
        op: Operand,
        alloc: Allocation,
        range: Range<usize>,
    },
    /// A register of another class than the operand's.
    AllocationClassMismatch {
        inst: Inst,
        op: Operand,
        alloc: Allocation,
    },
    /// The class's scratch register given to an operand that does not name it.
    AllocationIsScratch {
        inst: Inst,
        op: Operand,
        alloc: Allocation,
    },
    /// A spill slot at or past `num_spillslots`, at `point` (an operand's
    /// or an edit's).
    SpillSlotOutOfRange {
        point: ProgPoint,
        alloc: Allocation,
        num_spillslots: usize,
    },
    /// A move with a missing side, or between registers of different classes.
    InvalidMove {
        point: ProgPoint,
        from: Allocation,
        into: Allocation,
    },
    /// An edit outside every block's instructions, after its block's last
    /// instruction (where it would never run), or out of program order.
    MisplacedEdit { point: ProgPoint },
    /// `inst_alloc_offsets`/`allocs` give the instruction `allocs`
    /// allocations (`None`: no valid range) for `operands` operands.
    AllocationCountMismatch {
        inst: Inst,
        operands: usize,
        allocs: Option<usize>,
    },
    /// The branch ending `block` passes `args` arguments to a successor
    /// with `params` block params (the function itself is malformed).
    BlockArgsMismatch {
        block: Block,
        succ: Block,
        args: usize,
        params: usize,
    },
    /// The output asks for more spill slots than `SpillSlot` can name
    /// (`SpillSlot::MAX + 1`); no frame could hold them.
    TooManySpillSlots { num_spillslots: usize },
}

impl fmt::Display for CheckerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use CheckerError::*;
        match self {
            MissingAllocation { inst, op } => {
                write!(f, "{inst:?}: operand `{op}` has no allocation")
            }
            UnknownValueInAllocation { inst, op, alloc } => write!(
                f,
                "{inst:?}: operand `{op}` reads {alloc}, whose value is unknown on some path"
            ),
            ConflictedValueInAllocation { inst, op, alloc } => write!(
                f,
                "{inst:?}: operand `{op}` shares {alloc} with a def of the same instruction written while it is live"
            ),
            IncorrectValuesInAllocation {
                inst,
                op,
                alloc,
                actual,
            } => {
                write!(f, "{inst:?}: operand `{op}` reads {alloc}, which holds {{")?;
                for (i, v) in actual.iter().enumerate() {
                    write!(f, "{}{v}", if i > 0 { ", " } else { "" })?;
                }
                write!(f, "}} on some path, not {}", op.vreg())
            }
            ConstraintViolated { inst, op, alloc } => write!(
                f,
                "{inst:?}: operand `{op}` (in {alloc}) has a constraint that names no use of the instruction"
            ),
            AllocationIsNotReg { inst, op, alloc } => {
                write!(f, "{inst:?}: operand `{op}` needs a register, got {alloc}")
            }
            AllocationIsNotFixedReg { inst, op, alloc } => {
                write!(f, "{inst:?}: operand `{op}` is in {alloc}, not its fixed register")
            }
            AllocationIsNotReuse {
                inst,
                op,
                alloc,
                expected_alloc,
            } => write!(
                f,
                "{inst:?}: operand `{op}` is in {alloc}, not in its reused input's {expected_alloc}"
            ),
            AllocationIsNotStack { inst, op, alloc } => {
                write!(f, "{inst:?}: operand `{op}` needs a stack slot, got {alloc}")
            }
            StackToStackMove { into, from } => {
                write!(f, "move from stack location {from} to stack location {into}")
            }
            AllocationOutsideLimit {
                inst,
                op,
                alloc,
                range,
            } => write!(
                f,
                "{inst:?}: operand `{op}` is in {alloc}, outside encodings {range:?}"
            ),
            AllocationClassMismatch { inst, op, alloc } => {
                write!(f, "{inst:?}: operand `{op}` is in {alloc}, of another register class")
            }
            AllocationIsScratch { inst, op, alloc } => write!(
                f,
                "{inst:?}: operand `{op}` is in the scratch register {alloc}, which it does not name"
            ),
            SpillSlotOutOfRange {
                point,
                alloc,
                num_spillslots,
            } => write!(
                f,
                "{point:?}: {alloc} is past the output's {num_spillslots} spill slots"
            ),
            InvalidMove { point, from, into } => write!(
                f,
                "{point:?}: invalid move {from} -> {into} (missing side or mixed classes)"
            ),
            MisplacedEdit { point } => write!(
                f,
                "{point:?}: edit out of order, outside every block, or after its block's last instruction"
            ),
            AllocationCountMismatch {
                inst,
                operands,
                allocs,
            } => match allocs {
                Some(n) => write!(f, "{inst:?}: {n} allocations for {operands} operands"),
                None => write!(f, "{inst:?}: no valid allocation range for {operands} operands"),
            },
            BlockArgsMismatch {
                block,
                succ,
                args,
                params,
            } => write!(
                f,
                "{block:?}: branch passes {args} args to {succ:?}, which has {params} params"
            ),
            TooManySpillSlots { num_spillslots } => write!(
                f,
                "{num_spillslots} spill slots, more than a SpillSlot can name"
            ),
        }
    }
}

/// Locations below this are registers (by [`PReg::index`]); spill slot `s`
/// is location `REG_LOCATIONS + s`.
const REG_LOCATIONS: usize = PReg::NUM_INDEX;

/// A fact of a block-entry state: location `loc` holds vreg `v`, packed as
/// `loc << 32 | v` so that sorting orders by location, then vreg.
type Fact = u64;

#[inline]
fn fact(loc: u32, vreg: u32) -> Fact {
    (loc as u64) << 32 | vreg as u64
}

#[inline]
fn fact_parts(f: Fact) -> (u32, u32) {
    ((f >> 32) as u32, f as u32)
}

/// The output, copied into the shape the walk needs.
#[derive(Clone, Debug, Default)]
struct Prepared {
    num_spillslots: usize,
    allocs: Vec<Allocation>,
    /// Per instruction, its range in `allocs`; `None` when the output gives
    /// it no range of the right length (reported in `errors`).
    alloc_ranges: Vec<Option<Range<usize>>>,
    /// Moves grouped by block (block `b`'s are
    /// `edits[edit_starts[b]..edit_starts[b + 1]]`), each group in program
    /// order; edits after a block's last instruction are left out.
    edits: Vec<(ProgPoint, Allocation, Allocation)>,
    edit_starts: Vec<usize>,
    /// Shape errors found while preparing.
    errors: Vec<CheckerError>,
}

/// Proves an allocation right or lists what is wrong with it.
///
/// `new`, then [`Checker::prepare`] with the output, then [`Checker::run`].
#[derive(Debug)]
pub struct Checker<'a, F: Function> {
    func: &'a F,
    env: &'a MachineEnv,
    prepared: Option<Prepared>,
}

impl<'a, F: Function> Checker<'a, F> {
    /// A checker for `f`'s allocations under `machine_env`.
    pub fn new(f: &'a F, machine_env: &'a MachineEnv) -> Self {
        Checker {
            func: f,
            env: machine_env,
            prepared: None,
        }
    }

    /// Takes in the output to check (a copy of what the walk needs).
    pub fn prepare(&mut self, out: &Output) {
        self.prepared = Some(prepare_output(self.func, out));
    }

    /// Checks the prepared output (an empty one if `prepare` was not
    /// called); `Err` lists every error found.
    pub fn run(self) -> Result<(), CheckerErrors> {
        self.run_counting_work().0
    }

    /// As [`Checker::run`], and the work the check did: elementary steps
    /// (an instruction, an edit, a fact loaded, stored, met or carried
    /// over an edge, an element a state update moved). Tests bound it to
    /// keep the checker's cost linear in the function, as the allocator's.
    pub fn run_counting_work(self) -> (Result<(), CheckerErrors>, u64) {
        let prepared = match self.prepared {
            Some(p) => p,
            None => prepare_output(self.func, &Output::default()),
        };
        let mut analysis = Analysis::new(self.func, self.env, prepared);
        let errors = analysis.run();
        let work = analysis.work + analysis.state.work;
        let result = if errors.is_empty() {
            Ok(())
        } else {
            Err(CheckerErrors { errors })
        };
        (result, work)
    }
}

fn prepare_output<F: Function>(func: &F, out: &Output) -> Prepared {
    let num_insts = func.num_insts();
    let mut errors = Vec::new();

    let mut alloc_ranges = Vec::with_capacity(num_insts);
    for i in 0..num_insts {
        let inst = Inst::new(i);
        let operands = func.inst_operands(inst).len();
        let start = out.inst_alloc_offsets.get(i).map(|&s| s as usize);
        let end = match out.inst_alloc_offsets.get(i + 1) {
            Some(&e) => Some(e as usize),
            None if start.is_some() => Some(out.allocs.len()),
            None => None,
        };
        let range = match (start, end) {
            (Some(s), Some(e)) if s <= e && e <= out.allocs.len() => Some(s..e),
            _ => None,
        };
        match &range {
            Some(r) if r.len() == operands => alloc_ranges.push(range),
            _ => {
                errors.push(CheckerError::AllocationCountMismatch {
                    inst,
                    operands,
                    allocs: range.map(|r| r.len()),
                });
                alloc_ranges.push(None);
            }
        }
    }

    // Each instruction's block, to group the edits.
    let num_blocks = func.num_blocks();
    let mut inst_block = vec![u32::MAX; num_insts];
    let mut block_last = vec![Inst::invalid(); num_blocks];
    #[allow(
        clippy::needless_range_loop,
        reason = "`b` is also the block number passed to the function"
    )]
    for b in 0..num_blocks {
        let range = func.block_insns(Block::new(b));
        for inst in range.iter().filter(|i| i.index() < num_insts) {
            inst_block[inst.index()] = b as u32;
        }
        if !range.is_empty() {
            block_last[b] = range.last();
        }
    }

    let mut order: Vec<usize> = (0..out.edits.len()).collect();
    if !out.edits.windows(2).all(|w| w[0].0 <= w[1].0) {
        // Report where the order breaks, then go on in sorted order.
        for w in out.edits.windows(2).filter(|w| w[0].0 > w[1].0) {
            errors.push(CheckerError::MisplacedEdit { point: w[1].0 });
        }
        order.sort_by_key(|&i| out.edits[i].0);
    }
    let mut per_block_count = vec![0usize; num_blocks + 1];
    let mut placed: Vec<(u32, ProgPoint, Allocation, Allocation)> = Vec::new();
    for i in order {
        let (point, Edit::Move { from, to }) = &out.edits[i];
        let inst = point.inst();
        let block = inst_block.get(inst.index()).copied().unwrap_or(u32::MAX);
        let after_last = block != u32::MAX
            && *point == ProgPoint::after(block_last[block as usize])
            && inst.is_valid();
        if block == u32::MAX || after_last {
            errors.push(CheckerError::MisplacedEdit { point: *point });
            continue;
        }
        per_block_count[block as usize] += 1;
        placed.push((block, *point, *from, *to));
    }
    // Counting sort by block; stable, so each block's edits stay in order.
    let mut edit_starts = vec![0usize; num_blocks + 1];
    for b in 0..num_blocks {
        edit_starts[b + 1] = edit_starts[b] + per_block_count[b];
    }
    let mut cursor = edit_starts.clone();
    let mut edits =
        vec![(ProgPoint::invalid(), Allocation::none(), Allocation::none()); placed.len()];
    for (block, point, from, to) in placed {
        let slot = &mut cursor[block as usize];
        edits[*slot] = (point, from, to);
        *slot += 1;
    }

    Prepared {
        num_spillslots: out.num_spillslots,
        allocs: out.allocs.clone(),
        alloc_ranges,
        edits,
        edit_starts,
        errors,
    }
}

/// The abstract state inside a block: per location, the sorted set of vreg
/// indices it holds, and the reverse index.
///
/// Invariant: `v ∈ held[loc]` iff `loc ∈ holders[v]`; every location with a
/// non-empty set is in `touched`.
#[derive(Debug)]
struct LocationState {
    held: Vec<SmallVec<[u32; 4]>>,
    holders: Vec<SmallVec<[u32; 2]>>,
    touched: Vec<u32>,
    is_touched: Vec<bool>,
    /// Elementary steps taken (see [`Checker::run_counting_work`]).
    work: u64,
}

impl LocationState {
    fn new(num_locations: usize, num_vregs: usize) -> Self {
        LocationState {
            held: vec![SmallVec::new(); num_locations],
            holders: vec![SmallVec::new(); num_vregs],
            touched: Vec::new(),
            is_touched: vec![false; num_locations],
            work: 0,
        }
    }

    fn reset(&mut self) {
        for &loc in &self.touched {
            for v in self.held[loc as usize].drain(..) {
                self.holders[v as usize].clear();
            }
            self.is_touched[loc as usize] = false;
        }
        self.touched.clear();
    }

    fn load(&mut self, facts: &[Fact]) {
        self.work += (self.touched.len() + facts.len()) as u64;
        self.reset();
        for &f in facts {
            let (loc, v) = fact_parts(f);
            self.add(loc, v);
        }
    }

    /// Writes the state as sorted facts into `out` (cleared first).
    fn store(&mut self, out: &mut Vec<Fact>) {
        out.clear();
        self.work += self.touched.len() as u64;
        self.touched.sort_unstable();
        for &loc in &self.touched {
            out.extend(self.held[loc as usize].iter().map(|&v| fact(loc, v)));
        }
    }

    fn held(&self, loc: u32) -> &[u32] {
        &self.held[loc as usize]
    }

    fn add(&mut self, loc: u32, v: u32) {
        let set = &mut self.held[loc as usize];
        match set.binary_search(&v) {
            Ok(_) => return,
            Err(at) => {
                // A binary search and a shift of the later elements.
                self.work +=
                    (usize::BITS - set.len().leading_zeros()) as u64 + (set.len() - at) as u64 + 1;
                set.insert(at, v)
            }
        }
        self.holders[v as usize].push(loc);
        if !self.is_touched[loc as usize] {
            self.is_touched[loc as usize] = true;
            self.touched.push(loc);
        }
    }

    fn clear(&mut self, loc: u32) {
        for v in self.held[loc as usize].drain(..) {
            let holders = &mut self.holders[v as usize];
            self.work += holders.len() as u64 + 1;
            if let Some(at) = holders.iter().position(|&l| l == loc) {
                holders.swap_remove(at);
            }
        }
    }

    /// `v` gets a new value: no location holds the old one any more.
    fn kill(&mut self, v: u32) {
        for loc in self.holders[v as usize].drain(..) {
            let set = &mut self.held[loc as usize];
            self.work += set.len() as u64 + 1;
            if let Ok(at) = set.binary_search(&v) {
                set.remove(at);
            }
        }
    }

    fn copy(&mut self, from: u32, into: u32) {
        if from == into {
            return;
        }
        self.clear(into);
        // `into` is empty: it takes `from`'s sorted set whole (one pass,
        // not one sorted insertion per vreg).
        let values = self.held[from as usize].clone();
        self.work += values.len() as u64 + 1;
        for &v in &values {
            self.holders[v as usize].push(into);
        }
        if !values.is_empty() && !self.is_touched[into as usize] {
            self.is_touched[into as usize] = true;
            self.touched.push(into);
        }
        self.held[into as usize] = values;
    }

    /// A def: `loc` holds exactly `v`'s new value.
    fn define(&mut self, loc: Option<u32>, v: Option<u32>) {
        if let Some(v) = v {
            self.kill(v);
        }
        if let Some(loc) = loc {
            self.clear(loc);
            if let Some(v) = v {
                self.add(loc, v);
            }
        }
    }
}

/// Whether a block walk only computes the state or also reports errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Analyze,
    Check,
}

/// One run of the checker: the prepared output, the location state, and
/// the scratch buffers of the fixpoint.
struct Analysis<'a, F: Function> {
    func: &'a F,
    prepared: Prepared,
    scratch_regs: PRegSet,
    fixed_stack: PRegSet,
    /// Vreg indices at or past this are not tracked (a malformed function).
    num_vregs: usize,
    /// Every vreg as the function names it (for error messages).
    vreg_names: Vec<VReg>,
    state: LocationState,
    errors: Vec<CheckerError>,
    /// Elementary steps outside `state` (see [`Checker::run_counting_work`]).
    work: u64,
}

impl<'a, F: Function> Analysis<'a, F> {
    fn new(func: &'a F, env: &MachineEnv, mut prepared: Prepared) -> Self {
        // Vregs are tracked up to the largest index the function names
        // (operands, block params, branch arguments), not the count it
        // declares: a function may declare 2^30 vregs and use 200.
        let declared = func.num_vregs();
        let mut bound = 0usize;
        let mut see = |v: VReg| {
            if v.vreg() < declared && v.vreg() != VReg::MAX {
                bound = bound.max(v.vreg() + 1);
            }
        };
        for i in 0..func.num_insts() {
            for op in func.inst_operands(Inst::new(i)) {
                see(op.vreg());
            }
        }
        for b in (0..func.num_blocks()).map(Block::new) {
            for &p in func.block_params(b) {
                see(p);
            }
            for succ in 0..func.block_succs(b).len() {
                for &a in branch_args(func, b, succ) {
                    see(a);
                }
            }
        }
        let num_vregs = bound;
        let mut vreg_names: Vec<VReg> = (0..num_vregs)
            .map(|i| VReg::new(i, crate::RegClass::Int))
            .collect();
        let mut name = |v: VReg| {
            if let Some(slot) = vreg_names.get_mut(v.vreg()) {
                *slot = v;
            }
        };
        for i in 0..func.num_insts() {
            for op in func.inst_operands(Inst::new(i)) {
                name(op.vreg());
            }
        }
        for b in 0..func.num_blocks() {
            for &p in func.block_params(Block::new(b)) {
                name(p);
            }
        }
        let scratch_regs = env.scratch_by_class.iter().flatten().copied().collect();
        let fixed_stack = env.fixed_stack_slots.iter().copied().collect();
        // No allocation can name a slot past `SpillSlot::MAX`: a larger
        // count is an error, and only the nameable slots get locations.
        if prepared.num_spillslots > SpillSlot::MAX + 1 {
            prepared.errors.push(CheckerError::TooManySpillSlots {
                num_spillslots: prepared.num_spillslots,
            });
        }
        let num_locations = REG_LOCATIONS + prepared.num_spillslots.min(SpillSlot::MAX + 1);
        Analysis {
            func,
            scratch_regs,
            fixed_stack,
            num_vregs,
            vreg_names,
            state: LocationState::new(num_locations, num_vregs),
            prepared,
            errors: Vec::new(),
            work: 0,
        }
    }

    /// The location an allocation names; `None` for no allocation or a
    /// spill slot past the output's count (never holds a known value).
    fn location(&self, alloc: Allocation) -> Option<u32> {
        if let Some(preg) = alloc.as_reg() {
            Some(preg.index() as u32)
        } else if let Some(slot) = alloc.as_stack() {
            (slot.is_valid() && slot.index() < self.prepared.num_spillslots)
                .then(|| (REG_LOCATIONS + slot.index()) as u32)
        } else {
            None
        }
    }

    fn tracked(&self, v: VReg) -> Option<u32> {
        (v.vreg() < self.num_vregs).then_some(v.vreg() as u32)
    }

    fn is_stack_location(&self, alloc: Allocation) -> bool {
        alloc.is_stack() || alloc.as_reg().is_some_and(|r| self.fixed_stack.contains(r))
    }

    fn run(&mut self) -> Vec<CheckerError> {
        let func = self.func;
        let num_blocks = func.num_blocks();
        let rpo = reverse_postorder(func);

        // Fixpoint: block-entry states, lowered by meets until stable.
        let mut entry_facts: Vec<Vec<Fact>> = vec![Vec::new(); num_blocks];
        let mut reached = vec![false; num_blocks];
        let mut dirty = vec![false; num_blocks];
        let entry = func.entry_block().index();
        if entry < num_blocks {
            reached[entry] = true;
            dirty[entry] = true;
        }
        let mut exit_facts = Vec::new();
        let mut edge_facts = Vec::new();
        let mut scratch = EdgeScratch::default();
        loop {
            let mut changed = false;
            for &b in &rpo {
                if !dirty[b] {
                    continue;
                }
                dirty[b] = false;
                changed = true;
                self.state.load(&entry_facts[b]);
                self.walk_block(Block::new(b), Mode::Analyze);
                self.state.store(&mut exit_facts);
                let block = Block::new(b);
                for (i, &succ) in func.block_succs(block).iter().enumerate() {
                    if succ.index() >= num_blocks {
                        continue;
                    }
                    let args = branch_args(func, block, i);
                    let params = func.block_params(succ);
                    self.transfer_edge(&exit_facts, args, params, &mut edge_facts, &mut scratch);
                    let s = succ.index();
                    self.work += (exit_facts.len()
                        + args.len()
                        + params.len()
                        + edge_facts.len()
                        + entry_facts[s].len()) as u64;
                    if meet_into(&mut entry_facts[s], &mut reached[s], &edge_facts) {
                        dirty[s] = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }

        // Reporting pass, in block order; unreached blocks start unknown.
        let mut errors = core::mem::take(&mut self.prepared.errors);
        core::mem::swap(&mut errors, &mut self.errors);
        #[allow(
            clippy::needless_range_loop,
            reason = "`b` is also the block number walked and reported"
        )]
        for b in 0..num_blocks {
            let block = Block::new(b);
            self.state.load(&entry_facts[b]);
            self.walk_block(block, Mode::Check);
            for (i, &succ) in func.block_succs(block).iter().enumerate() {
                let args = branch_args(func, block, i).len();
                let params = if succ.index() < num_blocks {
                    func.block_params(succ).len()
                } else {
                    0
                };
                if args != params {
                    self.errors.push(CheckerError::BlockArgsMismatch {
                        block,
                        succ,
                        args,
                        params,
                    });
                }
            }
        }
        core::mem::take(&mut self.errors)
    }

    /// The facts on entry to a successor: every location holding an arg
    /// also holds the matching param; the params' old values are gone.
    fn transfer_edge(
        &self,
        exit: &[Fact],
        args: &[VReg],
        params: &[VReg],
        out: &mut Vec<Fact>,
        scratch: &mut EdgeScratch,
    ) {
        out.clear();
        if params.is_empty() {
            out.extend_from_slice(exit);
            return;
        }
        scratch.params.clear();
        scratch.renames.clear();
        for (&arg, &param) in args.iter().zip(params) {
            if let (Some(a), Some(p)) = (self.tracked(arg), self.tracked(param)) {
                scratch.renames.push((a, p));
            }
        }
        scratch
            .params
            .extend(params.iter().filter_map(|&p| self.tracked(p)));
        scratch.params.sort_unstable();
        scratch.renames.sort_unstable();
        for &f in exit {
            let (loc, v) = fact_parts(f);
            if scratch.params.binary_search(&v).is_err() {
                out.push(f);
            }
            let first = scratch.renames.partition_point(|&(a, _)| a < v);
            for &(_, p) in scratch.renames[first..]
                .iter()
                .take_while(|&&(a, _)| a == v)
            {
                out.push(fact(loc, p));
            }
        }
        out.sort_unstable();
        out.dedup();
    }

    fn walk_block(&mut self, block: Block, mode: Mode) {
        let edits =
            self.prepared.edit_starts[block.index()]..self.prepared.edit_starts[block.index() + 1];
        let mut next_edit = edits.start;
        let num_insts = self.func.num_insts();
        for inst in self.func.block_insns(block).iter() {
            if inst.index() >= num_insts {
                break;
            }
            while next_edit < edits.end
                && self.prepared.edits[next_edit].0 <= ProgPoint::before(inst)
            {
                let (point, from, into) = self.prepared.edits[next_edit];
                self.visit_move(point, from, into, mode);
                next_edit += 1;
                self.work += 1;
            }
            self.visit_inst(inst, mode);
            self.work += 1 + self.func.inst_operands(inst).len() as u64;
        }
    }

    fn visit_move(&mut self, point: ProgPoint, from: Allocation, into: Allocation, mode: Mode) {
        if mode == Mode::Check {
            self.check_move(point, from, into);
        }
        match (self.location(from), self.location(into)) {
            (Some(f), Some(t)) => self.state.copy(f, t),
            (None, Some(t)) => self.state.clear(t),
            (_, None) => {}
        }
    }

    fn check_move(&mut self, point: ProgPoint, from: Allocation, into: Allocation) {
        let mixed_classes = match (from.as_reg(), into.as_reg()) {
            (Some(a), Some(b)) => a.class() != b.class(),
            _ => false,
        };
        if from.is_none() || into.is_none() || mixed_classes {
            self.errors
                .push(CheckerError::InvalidMove { point, from, into });
        } else if self.is_stack_location(from) && self.is_stack_location(into) {
            self.errors
                .push(CheckerError::StackToStackMove { into, from });
        }
        for alloc in [from, into] {
            self.check_slot_range(point, alloc);
        }
    }

    fn check_slot_range(&mut self, point: ProgPoint, alloc: Allocation) {
        if let Some(slot) = alloc.as_stack() {
            if slot.is_invalid() || slot.index() >= self.prepared.num_spillslots {
                self.errors.push(CheckerError::SpillSlotOutOfRange {
                    point,
                    alloc,
                    num_spillslots: self.prepared.num_spillslots,
                });
            }
        }
    }

    fn visit_inst(&mut self, inst: Inst, mode: Mode) {
        let func = self.func;
        let Some(range) = self.prepared.alloc_ranges[inst.index()].clone() else {
            // No usable allocations (reported while preparing): the
            // instruction's defs and clobbers still destroy what they overwrite.
            for op in func.inst_operands(inst) {
                if op.kind() == OperandKind::Def {
                    let v = self.tracked(op.vreg());
                    self.state.define(None, v);
                }
            }
            for preg in func.inst_clobbers(inst) {
                self.state.clear(preg.index() as u32);
            }
            return;
        };
        let ops = func.inst_operands(inst);
        let allocs: SmallVec<[Allocation; 8]> =
            self.prepared.allocs[range].iter().copied().collect();
        let is_real = |op: &Operand| op.as_fixed_nonallocatable().is_none();

        if mode == Mode::Check {
            for (i, (op, &alloc)) in ops.iter().zip(&allocs).enumerate() {
                self.check_constraint(inst, i, ops, &allocs, alloc);
                let _ = op;
            }
            for (op, &alloc) in ops.iter().zip(&allocs) {
                if is_real(op) && op.kind() == OperandKind::Use && op.pos() == OperandPos::Early {
                    self.check_value(inst, *op, alloc);
                }
            }
            self.check_def_conflicts(inst, ops, &allocs);
        }

        for pos in [OperandPos::Early, OperandPos::Late] {
            for (op, &alloc) in ops.iter().zip(&allocs) {
                if is_real(op) && op.kind() == OperandKind::Def && op.pos() == pos {
                    let (loc, v) = (self.location(alloc), self.tracked(op.vreg()));
                    self.state.define(loc, v);
                }
            }
        }
        for preg in func.inst_clobbers(inst) {
            self.state.clear(preg.index() as u32);
        }

        if mode == Mode::Check {
            for (op, &alloc) in ops.iter().zip(&allocs) {
                if is_real(op) && op.kind() == OperandKind::Use && op.pos() == OperandPos::Late {
                    self.check_value(inst, *op, alloc);
                }
            }
        }
    }

    /// The use's location holds its vreg.
    fn check_value(&mut self, inst: Inst, op: Operand, alloc: Allocation) {
        if alloc.is_none() {
            return; // reported as MissingAllocation
        }
        let (Some(loc), Some(v)) = (self.location(alloc), self.tracked(op.vreg())) else {
            self.errors
                .push(CheckerError::UnknownValueInAllocation { inst, op, alloc });
            return;
        };
        let held = self.state.held(loc);
        if held.binary_search(&v).is_ok() {
            return;
        }
        if held.is_empty() {
            self.errors
                .push(CheckerError::UnknownValueInAllocation { inst, op, alloc });
        } else {
            let actual = held.iter().map(|&h| self.vreg_names[h as usize]).collect();
            self.errors.push(CheckerError::IncorrectValuesInAllocation {
                inst,
                op,
                alloc,
                actual,
            });
        }
    }

    /// Early defs may not share a location with early uses, and two defs
    /// written at the same point may not share one.
    fn check_def_conflicts(&mut self, inst: Inst, ops: &[Operand], allocs: &[Allocation]) {
        for (d, (def, &def_alloc)) in ops.iter().zip(allocs).enumerate() {
            if def.kind() != OperandKind::Def || def_alloc.is_none() {
                continue;
            }
            for (o, (other, &other_alloc)) in ops.iter().zip(allocs).enumerate() {
                if o == d || other_alloc != def_alloc || other.as_fixed_nonallocatable().is_some() {
                    continue;
                }
                let conflicts = match other.kind() {
                    OperandKind::Use => {
                        def.pos() == OperandPos::Early
                            && other.pos() == OperandPos::Early
                            && other.vreg().vreg() != def.vreg().vreg()
                    }
                    // Report each pair once, on the later operand.
                    OperandKind::Def => other.pos() == def.pos() && o < d,
                };
                if conflicts {
                    let (op, alloc) = if other.kind() == OperandKind::Use {
                        (*other, other_alloc)
                    } else {
                        (*def, def_alloc)
                    };
                    self.errors
                        .push(CheckerError::ConflictedValueInAllocation { inst, op, alloc });
                }
            }
        }
    }

    fn check_constraint(
        &mut self,
        inst: Inst,
        index: usize,
        ops: &[Operand],
        allocs: &[Allocation],
        alloc: Allocation,
    ) {
        use CheckerError::*;
        let op = ops[index];
        if let Some(preg) = op.as_fixed_nonallocatable() {
            if alloc != Allocation::reg(preg) {
                self.errors
                    .push(AllocationIsNotFixedReg { inst, op, alloc });
            }
            return;
        }
        if alloc.is_none() {
            self.errors.push(MissingAllocation { inst, op });
            return;
        }
        let point = match op.pos() {
            OperandPos::Early => ProgPoint::before(inst),
            OperandPos::Late => ProgPoint::after(inst),
        };
        self.check_slot_range(point, alloc);
        let reg = alloc.as_reg();
        if reg.is_some_and(|r| r.class() != op.class()) {
            self.errors
                .push(AllocationClassMismatch { inst, op, alloc });
        }
        let is_scratch = reg.is_some_and(|r| self.scratch_regs.contains(r));
        let is_fixed_stack = reg.is_some_and(|r| self.fixed_stack.contains(r));
        let not_named = |errors: &mut Vec<CheckerError>| {
            if is_scratch {
                errors.push(AllocationIsScratch { inst, op, alloc });
            }
        };
        match op.constraint() {
            // A fixed stack slot is fine here: it is a stack location, and
            // a vreg pinned to one elsewhere may be read or written in it.
            OperandConstraint::Any => not_named(&mut self.errors),
            OperandConstraint::Reg => {
                if reg.is_none() || is_fixed_stack {
                    self.errors.push(AllocationIsNotReg { inst, op, alloc });
                }
                not_named(&mut self.errors);
            }
            OperandConstraint::Stack => {
                if !self.is_stack_location(alloc) {
                    self.errors.push(AllocationIsNotStack { inst, op, alloc });
                }
            }
            OperandConstraint::FixedReg(preg) => {
                if alloc != Allocation::reg(preg) {
                    self.errors
                        .push(AllocationIsNotFixedReg { inst, op, alloc });
                }
            }
            OperandConstraint::Reuse(input) => {
                let input_ok =
                    input != index && ops.get(input).is_some_and(|i| i.kind() == OperandKind::Use);
                if op.kind() != OperandKind::Def || !input_ok {
                    self.errors.push(ConstraintViolated { inst, op, alloc });
                    return;
                }
                if reg.is_none() {
                    self.errors.push(AllocationIsNotReg { inst, op, alloc });
                }
                if alloc != allocs[input] {
                    self.errors.push(AllocationIsNotReuse {
                        inst,
                        op,
                        alloc,
                        expected_alloc: allocs[input],
                    });
                }
            }
            OperandConstraint::Limit(max) => {
                match reg {
                    Some(r) if !is_fixed_stack => {
                        if r.hw_enc() >= max {
                            self.errors.push(AllocationOutsideLimit {
                                inst,
                                op,
                                alloc,
                                range: 0..max,
                            });
                        }
                    }
                    _ => self.errors.push(AllocationIsNotReg { inst, op, alloc }),
                }
                not_named(&mut self.errors);
            }
        }
    }
}

/// Scratch vectors of one edge transfer, kept between calls.
#[derive(Debug, Default)]
struct EdgeScratch {
    params: Vec<u32>,
    /// `(arg, param)` pairs, sorted by arg.
    renames: Vec<(u32, u32)>,
}

fn branch_args<F: Function>(func: &F, block: Block, succ_index: usize) -> &[VReg] {
    let insts = func.block_insns(block);
    if insts.is_empty() || insts.last().index() >= func.num_insts() {
        return &[];
    }
    func.branch_blockparams(block, insts.last(), succ_index)
}

/// Lowers `entry` to its meet with `incoming` (the first arrival sets it);
/// returns whether it changed. Both are sorted.
fn meet_into(entry: &mut Vec<Fact>, reached: &mut bool, incoming: &[Fact]) -> bool {
    if !*reached {
        *reached = true;
        entry.clear();
        entry.extend_from_slice(incoming);
        return true;
    }
    let before = entry.len();
    let mut j = 0;
    entry.retain(|&f| {
        while j < incoming.len() && incoming[j] < f {
            j += 1;
        }
        j < incoming.len() && incoming[j] == f
    });
    entry.len() != before
}

/// Blocks reachable from the entry, in reverse postorder of a depth-first
/// walk over successors (in their listed order).
fn reverse_postorder<F: Function>(func: &F) -> Vec<usize> {
    let num_blocks = func.num_blocks();
    let entry = func.entry_block().index();
    let mut order = Vec::with_capacity(num_blocks);
    if entry >= num_blocks {
        return order;
    }
    let mut visited = vec![false; num_blocks];
    let mut stack = vec![(entry, 0usize)];
    visited[entry] = true;
    while let Some(top) = stack.last_mut() {
        let (block, next) = *top;
        let succs = func.block_succs(Block::new(block));
        if let Some(&succ) = succs.get(next) {
            top.1 += 1;
            let s = succ.index();
            if s < num_blocks && !visited[s] {
                visited[s] = true;
                stack.push((s, 0));
            }
        } else {
            order.push(block);
            stack.pop();
        }
    }
    order.reverse();
    order
}

#[cfg(test)]
mod tests;
