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
//!   the vreg it names on every path. The facts are "location `l` (a
//!   register or a spill slot) holds vreg `v`'s current value"; they meet
//!   by intersection at joins. Edits copy a location's contents, defs make
//!   their location hold exactly the defined vreg (and no other location
//!   hold it: it is a new value), clobbers empty their registers, and a
//!   branch's block arguments give their locations the successor's
//!   matching block params on that edge.
//!
//! The idea (symbolic values flowing through spills, reloads and moves)
//! comes from regalloc.rs's and regalloc2's checkers; this is an
//! independent implementation. The facts are kept as value labels per vreg
//! and per location in a persistent trie (`state`), so a move is one store
//! however many vregs name its value, and states that differ a little
//! share their nodes and meet in time proportional to the difference.
//! Vregs no later read can observe are forgotten (`liveness`), so states
//! reaching a join differ only in live values and locations. The
//! walk goes block tree by block tree: a block whose only edge comes from
//! a reachable block continues from that block's exit state; joins, loop
//! headers and the entry are roots with entry states of their own, lowered
//! to a fixpoint. Effects inside an instruction are ordered more strictly
//! than upstream's (see DESIGN.md, "The checker").

use core::fmt;
use core::ops::Range;

use smallvec::SmallVec;

use liveness::Kills;
use state::{EntryState, Snapshot, ValueState};

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
    /// an early use, or two defs of different vregs written at the same
    /// point.
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
    /// The checker's state outgrew its memory budget ([`CHECKER_NODE_BUDGET`]
    /// trie nodes) before its fixpoint: the output is neither proved nor
    /// refuted. Reported instead of exhausting the machine's memory
    /// (before liveness pruning, random control flow of about 10^6
    /// instructions got here; see DESIGN.md, "The checker").
    TooLargeToCheck { nodes: usize },
}

/// Whether the checker forgets vregs no later read can observe (see
/// [`Checker::with_pruning`] and DESIGN.md, "The checker").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Pruning {
    /// Forget dead vregs; if a use is rejected, check again without
    /// forgetting, so the errors are exactly [`Pruning::Off`]'s (unless
    /// that check is [`CheckerError::TooLargeToCheck`], then they are
    /// [`Pruning::Fast`]'s). The default.
    #[default]
    Exact,
    /// Forget dead vregs and report what that finds: the same verdict and
    /// the same rejected uses as [`Pruning::Off`], but a location whose
    /// only vregs are dead reads as unknown, and
    /// [`CheckerError::IncorrectValuesInAllocation`]'s `actual` lists only
    /// live vregs.
    Fast,
    /// Keep every vreg's facts until a def replaces them (the checker
    /// before 2026-12-06). Its states grow with every vreg defined so far.
    Off,
}

/// Most trie nodes (32 bytes each, plus 4 of bookkeeping) the checker
/// keeps before giving up with [`CheckerError::TooLargeToCheck`]: about
/// 2.4 GB, and twice that while collecting garbage.
pub const CHECKER_NODE_BUDGET: usize = 1 << 26;

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
            TooLargeToCheck { nodes } => write!(
                f,
                "not checked: the checker's state outgrew its budget ({nodes} trie nodes, \
                 limit {CHECKER_NODE_BUDGET}) before reaching a fixpoint"
            ),
        }
    }
}

/// Locations below this are registers (by [`PReg::index`]); spill slot `s`
/// is location `REG_LOCATIONS + s`.
const REG_LOCATIONS: usize = PReg::NUM_INDEX;

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
    node_budget: usize,
    pruning: Pruning,
}

impl<'a, F: Function> Checker<'a, F> {
    /// Sets the memory budget (trie nodes; default [`CHECKER_NODE_BUDGET`])
    /// past which [`Checker::run`] gives up with
    /// [`CheckerError::TooLargeToCheck`].
    pub fn with_node_budget(mut self, nodes: usize) -> Self {
        self.node_budget = nodes;
        self
    }

    /// Sets whether dead vregs are forgotten (default [`Pruning::Exact`]).
    pub fn with_pruning(mut self, pruning: Pruning) -> Self {
        self.pruning = pruning;
        self
    }

    /// A checker for `f`'s allocations under `machine_env`.
    pub fn new(f: &'a F, machine_env: &'a MachineEnv) -> Self {
        Checker {
            func: f,
            env: machine_env,
            prepared: None,
            node_budget: CHECKER_NODE_BUDGET,
            pruning: Pruning::Exact,
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
    /// (an instruction or operand, an edit, an edge argument, a label
    /// stored, a trie element copied, compared or counted, a vreg scanned
    /// for an error report). Tests bound it to
    /// keep the checker's cost linear in the function, as the allocator's.
    pub fn run_counting_work(self) -> (Result<(), CheckerErrors>, u64) {
        let prepared = match self.prepared {
            Some(p) => p,
            None => prepare_output(self.func, &Output::default()),
        };
        let analyze = |prepared: Prepared, prune: bool| {
            let mut analysis = Analysis::new(self.func, self.env, prepared, prune);
            analysis.state.set_node_budget(self.node_budget);
            let errors = analysis.run();
            (errors, analysis.work + analysis.state.work)
        };
        let too_large =
            |errors: &[CheckerError]| matches!(errors, [CheckerError::TooLargeToCheck { .. }]);
        let (mut errors, mut work, again) = match self.pruning {
            Pruning::Exact => {
                let (errors, work) = analyze(prepared.clone(), true);
                (errors, work, Some(prepared))
            }
            Pruning::Fast => {
                let (errors, work) = analyze(prepared, true);
                (errors, work, None)
            }
            Pruning::Off => {
                let (errors, work) = analyze(prepared, false);
                (errors, work, None)
            }
        };
        let rejected_a_use = errors.iter().any(|e| {
            matches!(
                e,
                CheckerError::UnknownValueInAllocation { .. }
                    | CheckerError::IncorrectValuesInAllocation { .. }
            )
        });
        if let Some(prepared) = again.filter(|_| rejected_a_use) {
            // Rejected: the diagnostics of the checker that forgets
            // nothing (which dead vregs a location holds).
            let (exact, exact_work) = analyze(prepared, false);
            work += exact_work;
            if !too_large(&exact) {
                errors = exact;
            }
        }
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
    state: ValueState,
    /// Per instruction, the index of its first operand in the function.
    first_operand: Vec<u32>,
    /// Per-edge scratch: the args' labels.
    arg_labels: Vec<u32>,
    errors: Vec<CheckerError>,
    /// Per walked block in the reporting pass, its errors in `errors`.
    error_spans: Vec<(usize, Range<usize>)>,
    /// Elementary steps outside `state` (see [`Checker::run_counting_work`]).
    work: u64,
    /// Where dead vregs are forgotten (none without pruning).
    kills: Kills,
}

impl<'a, F: Function> Analysis<'a, F> {
    fn new(func: &'a F, env: &MachineEnv, mut prepared: Prepared, prune: bool) -> Self {
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
        let mut first_operand = Vec::with_capacity(func.num_insts());
        let mut operands = 0u32;
        for i in 0..func.num_insts() {
            first_operand.push(operands);
            operands = operands.wrapping_add(func.inst_operands(Inst::new(i)).len() as u32);
        }
        let kills = if prune {
            Kills::compute(func, num_vregs)
        } else {
            Kills::default()
        };
        Analysis {
            work: kills.work,
            kills,
            func,
            scratch_regs,
            fixed_stack,
            num_vregs,
            vreg_names,
            state: ValueState::new(num_vregs, num_locations, operands.wrapping_add(1)),
            first_operand,
            arg_labels: Vec::new(),
            prepared,
            errors: Vec::new(),
            error_spans: Vec::new(),
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

    /// The label of the value the instruction's `index`th operand defines:
    /// one per operand of the function, so the same def gets the same
    /// label in every walk.
    fn def_label(&self, inst: Inst, index: usize) -> u32 {
        self.first_operand[inst.index()].wrapping_add(1 + index as u32)
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
        let tree_edge = tree_edges(func, &rpo);

        // Fixpoint over the tree roots' entry states, lowered by meets
        // until stable; a root's whole tree is walked from its state.
        let mut entries: Vec<EntryState> = vec![EntryState::default(); num_blocks];
        let mut dirty = vec![false; num_blocks];
        let entry = func.entry_block().index();
        if entry < num_blocks {
            entries[entry].reached = true;
            dirty[entry] = true;
        }
        let roots: Vec<usize> = rpo
            .iter()
            .copied()
            .filter(|&b| tree_edge[b].is_none())
            .collect();
        loop {
            let mut changed = false;
            for &root in &roots {
                if dirty[root] {
                    dirty[root] = false;
                    changed = true;
                    self.state.collect_garbage(&mut entries);
                    self.walk_tree(root, &tree_edge, &mut entries, &mut dirty, Mode::Analyze);
                    if self.state.over_budget() {
                        return vec![CheckerError::TooLargeToCheck {
                            nodes: self.state.num_nodes(),
                        }];
                    }
                }
            }
            if !changed {
                break;
            }
        }

        // Reporting pass over every tree (unreached blocks are roots that
        // start unknown); errors are sorted into block order afterwards.
        let mut errors = core::mem::take(&mut self.prepared.errors);
        for root in 0..num_blocks {
            if tree_edge[root].is_none() {
                self.state.collect_garbage(&mut entries);
                self.walk_tree(root, &tree_edge, &mut entries, &mut dirty, Mode::Check);
                if self.state.over_budget() {
                    return vec![CheckerError::TooLargeToCheck {
                        nodes: self.state.num_nodes(),
                    }];
                }
            }
        }
        let mut spans = core::mem::take(&mut self.error_spans);
        spans.sort_by_key(|&(block, _)| block);
        for (_, span) in spans {
            errors.extend_from_slice(&self.errors[span]);
        }
        errors
    }

    /// Walks `root`'s tree depth first from its entry state: each block
    /// whose only edge comes from a walked block is walked next from that
    /// block's exit state; an edge to another root meets into that root's
    /// entry state (`Analyze`).
    fn walk_tree(
        &mut self,
        root: usize,
        tree_edge: &[Option<(u32, u32)>],
        entries: &mut [EntryState],
        dirty: &mut [bool],
        mode: Mode,
    ) {
        let func = self.func;
        let num_blocks = func.num_blocks();
        self.state.load(&entries[root]);
        self.visit_block(Block::new(root), mode);
        // (block, next successor to follow, its exit state when it has
        // more than one successor to follow from it)
        let mut stack: Vec<(usize, usize, Option<Snapshot>)> = vec![(root, 0, None)];
        while let Some(top) = stack.last_mut() {
            if self.state.over_budget() {
                return; // `run` reports it.
            }
            let (block, i) = (top.0, top.1);
            let succs = func.block_succs(Block::new(block));
            let Some(&succ) = succs.get(i) else {
                stack.pop();
                continue;
            };
            top.1 += 1;
            let s = succ.index();
            if s >= num_blocks {
                continue;
            }
            let in_tree = tree_edge[s] == Some((block as u32, i as u32));
            if !in_tree && mode == Mode::Check {
                continue;
            }
            // Every successor starts from this block's exit state.
            if succs.len() > 1 {
                match top.2 {
                    Some(exit) => self.state.restore(exit),
                    None => top.2 = Some(self.state.snapshot()),
                }
            }
            self.rename(
                branch_args(func, Block::new(block), i),
                func.block_params(succ),
            );
            let dead = self.kills.on_edge(block, i);
            self.work += dead.len() as u64;
            for &v in dead {
                self.state.set_vreg(v, 0);
            }
            if in_tree {
                stack.push((s, 0, None));
                self.visit_block(succ, mode);
                continue;
            }
            let entry = &mut entries[s];
            let changed = if entry.reached {
                self.state.meet_into(entry)
            } else {
                self.state.capture(entry);
                true
            };
            dirty[s] |= changed;
        }
    }

    /// On the edge into a block with params: each param takes its arg's
    /// label (all args read first); params without an arg hold nothing.
    fn rename(&mut self, args: &[VReg], params: &[VReg]) {
        if params.is_empty() {
            return;
        }
        self.work += (args.len() + params.len()) as u64;
        let mut labels = core::mem::take(&mut self.arg_labels);
        labels.clear();
        labels.extend(
            args.iter()
                .take(params.len())
                .map(|&a| self.tracked(a).map_or(0, |a| self.state.vreg_label(a))),
        );
        for (i, &p) in params.iter().enumerate() {
            if let Some(p) = self.tracked(p) {
                self.state.set_vreg(p, labels.get(i).copied().unwrap_or(0));
            }
        }
        self.arg_labels = labels;
    }

    /// Walks one block; in `Check` mode also checks its branch's argument
    /// counts and files its errors under it.
    fn visit_block(&mut self, block: Block, mode: Mode) {
        let first_error = self.errors.len();
        self.walk_block(block, mode);
        if mode == Mode::Analyze {
            return;
        }
        let func = self.func;
        let num_blocks = func.num_blocks();
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
        self.error_spans
            .push((block.index(), first_error..self.errors.len()));
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
            for (i, op) in func.inst_operands(inst).iter().enumerate() {
                if op.kind() == OperandKind::Def {
                    let v = self.tracked(op.vreg());
                    self.state.define(None, v, self.def_label(inst, i));
                }
            }
            for preg in func.inst_clobbers(inst) {
                self.state.clear(preg.index() as u32);
            }
            self.forget_after(inst);
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
            for (i, (op, &alloc)) in ops.iter().zip(&allocs).enumerate() {
                if is_real(op) && op.kind() == OperandKind::Def && op.pos() == pos {
                    let (loc, v) = (self.location(alloc), self.tracked(op.vreg()));
                    self.state.define(loc, v, self.def_label(inst, i));
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
        self.forget_after(inst);
    }

    /// Forgets the vregs dead after `inst`.
    fn forget_after(&mut self, inst: Inst) {
        let dead = self.kills.after_inst(inst);
        self.work += dead.len() as u64;
        for &v in dead {
            self.state.set_vreg(v, 0);
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
        if self.state.holds(loc, v) {
            return;
        }
        let held = self.state.held(loc);
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
    /// of different vregs written at the same point may not share one.
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
                    // Report each pair once, on the later operand. Two defs
                    // of one vreg (`allow_multiple_vreg_defs`) are one def
                    // and get one location, as regalloc2 documents.
                    OperandKind::Def => {
                        other.pos() == def.pos() && o < d && other.vreg() != def.vreg()
                    }
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

fn branch_args<F: Function>(func: &F, block: Block, succ_index: usize) -> &[VReg] {
    let insts = func.block_insns(block);
    if insts.is_empty() || insts.last().index() >= func.num_insts() {
        return &[];
    }
    func.branch_blockparams(block, insts.last(), succ_index)
}

/// Per block, the edge `(pred, successor index)` that puts it in its
/// predecessor's tree: the only edge into it from a reachable block, when
/// it is reachable and not the entry. Other blocks (`None`) are roots with
/// an entry state of their own; joins, loop headers and unreachable blocks
/// are roots.
fn tree_edges<F: Function>(func: &F, rpo: &[usize]) -> Vec<Option<(u32, u32)>> {
    let num_blocks = func.num_blocks();
    let mut edges_in = vec![0u32; num_blocks];
    let mut edge = vec![None; num_blocks];
    for &b in rpo {
        for (i, succ) in func.block_succs(Block::new(b)).iter().enumerate() {
            if let Some(n) = edges_in.get_mut(succ.index()) {
                *n = n.saturating_add(1);
                edge[succ.index()] = Some((b as u32, i as u32));
            }
        }
    }
    let entry = func.entry_block().index();
    for &b in rpo {
        if edges_in[b] != 1 || b == entry {
            edge[b] = None;
        }
    }
    edge
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

mod liveness;
mod state;

#[cfg(test)]
mod tests;
