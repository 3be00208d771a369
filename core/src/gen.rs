//! Random *valid* functions shaped like real backend output, with a
//! matching x64-like [`MachineEnv`] (feature `arbitrary`).
//!
//! Reads: random choices from an [`arbitrary::Unstructured`] (or a seed).
//! Writes: a [`FunctionData`] that passes `cfg::analyze` and
//! `validate::validate` with `validate_ssa`, and that regalloc2 0.15.2
//! allocates without error.
//!
//! Shape (own design, informed by what Cranelift emits):
//! * a reducible CFG built from nested regions: straight-line blocks,
//!   diamonds (`if`/`else` and `if` with an empty split arm), and loops
//!   (preheader, header with block params, body, latch with a conditional
//!   branch to a split back-edge block and an exit), nested up to
//!   [`GenOptions::max_nesting`] deep; every critical edge is split;
//! * SSA values flow through block params and branch args, live across
//!   diamonds and loops; uses pick mostly among the newest
//!   [`GenOptions::live_window`] values of a class (plus a few long-lived
//!   entry arguments), so the number of values live at once stays bounded
//!   however large the function is;
//! * instructions: ALU ops (register, any, stack, limit, late-use and
//!   early-def operands, temps), two-address ops (`reg_reuse_def`), shifts
//!   with a fixed count register, divisions with fixed inputs and outputs,
//!   calls (fixed-register arguments, an optional stack argument in a
//!   fixed stack slot, fixed results removed from a large caller-saved
//!   clobber set), uses of a non-allocatable stack pointer, Int and Float
//!   classes.
//!
//! Randomness comes from the fuzzer's bytes while they last; every draw
//! is also mixed into a small PRNG state, which continues deterministically
//! once the bytes run out, so large sizes never degenerate into constant
//! choices. Generation is linear in `target_insts`.

use arbitrary::{Arbitrary, Unstructured};

use crate::owned::{BlockData, InstData, InstKind};
use crate::{
    Block, FunctionData, Inst, InstRange, MachineEnv, Operand, OperandConstraint, OperandKind,
    OperandPos, PReg, PRegSet, RegClass, VReg,
};

/// What to generate.
#[derive(Clone, Debug)]
pub struct GenOptions {
    /// Approximate number of instructions (the result has at least this
    /// many, give or take the terminators of the regions being closed).
    pub target_insts: usize,
    /// Deepest nesting of loops and diamonds.
    pub max_nesting: usize,
    /// How many of the newest values of a class uses choose from.
    pub live_window: usize,
    /// Whether to emit calls (and the divisions' fixed registers).
    pub calls: bool,
    /// Whether to emit Float values.
    pub floats: bool,
}

impl Default for GenOptions {
    fn default() -> Self {
        GenOptions {
            target_insts: 100,
            max_nesting: 3,
            live_window: 10,
            calls: true,
            floats: true,
        }
    }
}

/// A generated function and its machine, for fuzz targets.
#[derive(Clone, Debug)]
pub struct GeneratedFunction {
    /// The generated function.
    pub func: FunctionData,
    /// The machine it was generated for.
    pub env: MachineEnv,
}

impl<'a> Arbitrary<'a> for GeneratedFunction {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let opts = GenOptions {
            target_insts: u.int_in_range(5..=400)?,
            max_nesting: u.int_in_range(0..=3)?,
            live_window: u.int_in_range(2..=16)?,
            calls: u.arbitrary()?,
            floats: u.arbitrary()?,
        };
        let (func, env) = generate(u, &opts)?;
        Ok(GeneratedFunction { func, env })
    }
}

/// Generates a function (and its machine) from the fuzzer's bytes.
pub fn generate(
    u: &mut Unstructured<'_>,
    opts: &GenOptions,
) -> arbitrary::Result<(FunctionData, MachineEnv)> {
    let mut source = Source {
        bytes: Some(u),
        state: 0x9e37_79b9_7f4a_7c15,
    };
    Ok(build(&mut source, opts))
}

/// Generates a function (and its machine) from a seed; the same seed and
/// options always give the same function.
pub fn generate_from_seed(seed: u64, opts: &GenOptions) -> (FunctionData, MachineEnv) {
    let mut source = Source {
        bytes: None,
        state: seed ^ 0x2545_f491_4f6c_dd1d,
    };
    build(&mut source, opts)
}

/// Random choices: the fuzzer's bytes first, then a SplitMix64 stream
/// seeded by everything drawn so far.
struct Source<'u, 'b> {
    bytes: Option<&'u mut Unstructured<'b>>,
    state: u64,
}

impl Source<'_, '_> {
    fn next_u32(&mut self) -> u32 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        let from_bytes = self
            .bytes
            .as_deref_mut()
            .and_then(|u| u.bytes(4).ok())
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
        match from_bytes {
            Some(v) => {
                self.state ^= u64::from(v) << 17;
                v
            }
            None => (z >> 32) as u32,
        }
    }
    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        debug_assert!(n > 0);
        ((u64::from(self.next_u32()) * n as u64) >> 32) as usize
    }
    /// True with probability `num / den`.
    fn chance(&mut self, num: usize, den: usize) -> bool {
        self.below(den) < num
    }
    fn range(&mut self, lo: usize, hi_inclusive: usize) -> usize {
        lo + self.below(hi_inclusive - lo + 1)
    }
}

// x64-like register numbering.
const RAX: usize = 0;
const RCX: usize = 1;
const RDX: usize = 2;
const RSP: usize = 4;
const RSI: usize = 6;
const RDI: usize = 7;
const INT_CALLER_SAVED: [usize; 9] = [0, 1, 2, 6, 7, 8, 9, 10, 11];
const INT_CALLEE_SAVED: [usize; 5] = [3, 12, 13, 14, 15];
const INT_ARGS: [usize; 6] = [RDI, RSI, RDX, RCX, 8, 9];
const SCRATCH_INT: usize = 11;
const SCRATCH_FLOAT: usize = 15;
/// First hardware encoding used for fixed stack slots (Int class).
const STACK_SLOT_BASE: usize = 32;

/// The machine a generated function targets.
#[derive(Clone, Copy, Debug)]
struct Machine {
    scratch: bool,
    fixed_stack_slots: usize,
}

impl Machine {
    fn env(&self) -> MachineEnv {
        let int = |hw: usize| PReg::new(hw, RegClass::Int);
        let float = |hw: usize| PReg::new(hw, RegClass::Float);
        let mut int_pref: PRegSet = INT_CALLER_SAVED.iter().map(|&r| int(r)).collect();
        let int_nonpref: PRegSet = INT_CALLEE_SAVED.iter().map(|&r| int(r)).collect();
        let float_pref: PRegSet = (0..12).map(float).collect();
        let mut float_nonpref: PRegSet = (12..16).map(float).collect();
        let mut scratch_by_class = [None; 3];
        if self.scratch {
            int_pref.remove(int(SCRATCH_INT));
            float_nonpref.remove(float(SCRATCH_FLOAT));
            scratch_by_class = [Some(int(SCRATCH_INT)), Some(float(SCRATCH_FLOAT)), None];
        }
        MachineEnv {
            preferred_regs_by_class: [int_pref, float_pref, PRegSet::empty()],
            non_preferred_regs_by_class: [int_nonpref, float_nonpref, PRegSet::empty()],
            scratch_by_class,
            fixed_stack_slots: (0..self.fixed_stack_slots)
                .map(|i| int(STACK_SLOT_BASE + i))
                .collect(),
        }
    }
    /// Int registers a call clobbers (all caller-saved, scratch included)
    /// and every Float register.
    fn call_clobbers(&self) -> PRegSet {
        let mut set: PRegSet = INT_CALLER_SAVED
            .iter()
            .map(|&r| PReg::new(r, RegClass::Int))
            .collect();
        for r in 0..16 {
            set.add(PReg::new(r, RegClass::Float));
        }
        set
    }
}

/// A block under construction.
struct PendingBlock {
    insts: Vec<InstData>,
    succs: Vec<Block>,
    params: Vec<VReg>,
    branch_args: Vec<Vec<VReg>>,
    terminated: bool,
}

struct Builder<'s, 'u, 'b> {
    src: &'s mut Source<'u, 'b>,
    opts: GenOptions,
    machine: Machine,
    blocks: Vec<PendingBlock>,
    current: Block,
    num_vregs: usize,
    num_insts: usize,
    /// Values visible at the current point (defined in dominating code),
    /// per class (Int, Float), oldest first.
    scope: [Vec<VReg>; 2],
    /// How many entry arguments lead each scope (long-lived values).
    num_args: [usize; 2],
}

fn class_slot(class: RegClass) -> usize {
    match class {
        RegClass::Int => 0,
        _ => 1,
    }
}

fn build(src: &mut Source<'_, '_>, opts: &GenOptions) -> (FunctionData, MachineEnv) {
    let machine = Machine {
        scratch: src.chance(1, 3),
        fixed_stack_slots: if src.chance(1, 2) { src.range(1, 8) } else { 0 },
    };
    let mut b = Builder {
        src,
        opts: opts.clone(),
        machine,
        blocks: Vec::new(),
        current: Block::new(0),
        num_vregs: 0,
        num_insts: 0,
        scope: [Vec::new(), Vec::new()],
        num_args: [0, 0],
    };
    b.current = b.new_block();
    b.entry_args();
    let target = opts.target_insts.max(2);
    b.region(0, target);
    b.ret();
    (b.finish(), machine.env())
}

impl Builder<'_, '_, '_> {
    fn new_block(&mut self) -> Block {
        self.blocks.push(PendingBlock {
            insts: Vec::new(),
            succs: Vec::new(),
            params: Vec::new(),
            branch_args: Vec::new(),
            terminated: false,
        });
        Block::new(self.blocks.len() - 1)
    }

    fn fresh(&mut self, class: RegClass) -> VReg {
        self.num_vregs += 1;
        VReg::new(self.num_vregs - 1, class)
    }

    /// A new value of `class`, visible from now on.
    fn define(&mut self, class: RegClass) -> VReg {
        let v = self.fresh(class);
        self.scope[class_slot(class)].push(v);
        v
    }

    fn has(&self, class: RegClass) -> bool {
        !self.scope[class_slot(class)].is_empty()
    }

    /// A visible value of `class` (the scope must not be empty): mostly
    /// one of the newest `live_window`, sometimes a long-lived argument.
    fn pick(&mut self, class: RegClass) -> VReg {
        let slot = class_slot(class);
        let len = self.scope[slot].len();
        let args = self.num_args[slot];
        let index = if args > 0 && self.src.chance(1, 24) {
            self.src.below(args)
        } else {
            let window = self.opts.live_window.clamp(1, len);
            len - 1 - self.src.below(window)
        };
        self.scope[slot][index]
    }

    /// A visible value of `class` other than those in `avoid`, if any.
    fn pick_other(&mut self, class: RegClass, avoid: &[VReg]) -> Option<VReg> {
        for _ in 0..4 {
            let v = self.pick(class);
            if !avoid.contains(&v) {
                return Some(v);
            }
        }
        self.scope[class_slot(class)]
            .iter()
            .rev()
            .take(self.opts.live_window.max(4))
            .copied()
            .find(|v| !avoid.contains(v))
    }

    fn emit(&mut self, operands: Vec<Operand>, clobbers: PRegSet) {
        let block = &mut self.blocks[self.current.index()];
        debug_assert!(!block.terminated);
        block.insts.push(InstData {
            kind: InstKind::Op,
            operands,
            clobbers,
        });
        self.num_insts += 1;
    }

    /// Ends `block` with a branch to `succs` passing `args`.
    fn branch(&mut self, block: Block, succs: Vec<Block>, args: Vec<Vec<VReg>>, ops: Vec<Operand>) {
        let pending = &mut self.blocks[block.index()];
        debug_assert!(!pending.terminated);
        pending.insts.push(InstData {
            kind: InstKind::Branch,
            operands: ops,
            clobbers: PRegSet::empty(),
        });
        pending.succs = succs;
        pending.branch_args = args;
        pending.terminated = true;
        self.num_insts += 1;
    }

    /// The operands of a conditional branch: usually a flag/condition
    /// value in a register.
    fn condition(&mut self) -> Vec<Operand> {
        if self.has(RegClass::Int) && self.src.chance(3, 4) {
            vec![Operand::reg_use(self.pick(RegClass::Int))]
        } else {
            Vec::new()
        }
    }

    /// The entry's first instruction defines the incoming arguments in
    /// their ABI registers.
    fn entry_args(&mut self) {
        let num_int = self.src.range(1, 4);
        let num_float = if self.opts.floats {
            self.src.below(3)
        } else {
            0
        };
        let mut ops = Vec::new();
        for &hw in &INT_ARGS[..num_int] {
            let v = self.define(RegClass::Int);
            ops.push(Operand::reg_fixed_def(v, PReg::new(hw, RegClass::Int)));
        }
        for hw in 0..num_float {
            let v = self.define(RegClass::Float);
            ops.push(Operand::reg_fixed_def(v, PReg::new(hw, RegClass::Float)));
        }
        self.num_args = [num_int, num_float];
        self.emit(ops, PRegSet::empty());
    }

    /// A sequence of straight-line code, diamonds and loops, until
    /// `num_insts` reaches `end` (or earlier, for nested regions).
    fn region(&mut self, depth: usize, end: usize) {
        while self.num_insts < end {
            let nested_ok = depth < self.opts.max_nesting;
            match self.src.below(10) {
                0..=1 if nested_ok => self.diamond(depth, end),
                2 if nested_ok => self.do_loop(depth, end),
                _ => {
                    for _ in 0..self.src.range(1, 6) {
                        self.inst();
                    }
                }
            }
            if depth > 0 && self.src.chance(1, 4) {
                break;
            }
        }
    }

    /// The budget for a nested region: a short stretch, never past `end`.
    fn nested_end(&mut self, depth: usize, end: usize) -> usize {
        let span = self.src.range(2, 12 * (self.opts.max_nesting + 1 - depth));
        (self.num_insts + span).min(end.max(self.num_insts + 1))
    }

    /// Classes of block params to create: up to two per class that has a
    /// visible value to pass.
    fn param_classes(&mut self) -> Vec<RegClass> {
        let mut classes = Vec::new();
        for class in [RegClass::Int, RegClass::Float] {
            if self.has(class) {
                for _ in 0..self.src.below(3) {
                    classes.push(class);
                }
            }
        }
        classes
    }

    fn diamond(&mut self, depth: usize, end: usize) {
        let classes = self.param_classes();
        let head = self.current;
        let then_block = self.new_block();
        let else_block = self.new_block();
        let cond = self.condition();
        self.branch(
            head,
            vec![then_block, else_block],
            vec![Vec::new(), Vec::new()],
            cond,
        );
        let marks = [self.scope[0].len(), self.scope[1].len()];

        self.current = then_block;
        let arm_end = self.nested_end(depth, end);
        self.region(depth + 1, arm_end);
        let then_exit = self.current;
        let then_args: Vec<VReg> = classes.iter().map(|&c| self.pick(c)).collect();
        self.truncate_scope(marks);

        // The else arm is often just the split critical edge.
        self.current = else_block;
        if self.src.chance(1, 2) {
            let arm_end = self.nested_end(depth, end);
            self.region(depth + 1, arm_end);
        }
        let else_exit = self.current;
        let else_args: Vec<VReg> = classes.iter().map(|&c| self.pick(c)).collect();
        self.truncate_scope(marks);

        let merge = self.new_block();
        let params: Vec<VReg> = classes.iter().map(|&c| self.define(c)).collect();
        self.blocks[merge.index()].params = params;
        self.branch(then_exit, vec![merge], vec![then_args], Vec::new());
        self.branch(else_exit, vec![merge], vec![else_args], Vec::new());
        self.current = merge;
    }

    fn do_loop(&mut self, depth: usize, end: usize) {
        let classes = self.param_classes();
        let header = self.new_block();
        let entry_args: Vec<VReg> = classes.iter().map(|&c| self.pick(c)).collect();
        let preheader = self.current;
        self.branch(preheader, vec![header], vec![entry_args], Vec::new());
        self.current = header;
        let params: Vec<VReg> = classes.iter().map(|&c| self.define(c)).collect();
        self.blocks[header.index()].params = params;

        let body_end = self.nested_end(depth, end);
        self.region(depth + 1, body_end);
        // Make sure the latch does some work (an induction update).
        self.inst();

        let latch = self.current;
        let backedge = self.new_block();
        let exit = self.new_block();
        let cond = self.condition();
        self.branch(
            latch,
            vec![backedge, exit],
            vec![Vec::new(), Vec::new()],
            cond,
        );
        let marks = [self.scope[0].len(), self.scope[1].len()];
        self.current = backedge;
        if self.src.chance(1, 4) {
            self.inst();
        }
        let back_args: Vec<VReg> = classes.iter().map(|&c| self.pick(c)).collect();
        self.branch(backedge, vec![header], vec![back_args], Vec::new());
        self.truncate_scope(marks);
        self.current = exit;
    }

    fn truncate_scope(&mut self, marks: [usize; 2]) {
        self.scope[0].truncate(marks[0]);
        self.scope[1].truncate(marks[1]);
    }

    /// The function's return: the result in RAX (and maybe XMM0).
    fn ret(&mut self) {
        let mut ops = Vec::new();
        if self.has(RegClass::Int) {
            let v = self.pick(RegClass::Int);
            ops.push(Operand::reg_fixed_use(v, PReg::new(RAX, RegClass::Int)));
        }
        if self.has(RegClass::Float) && self.src.chance(1, 3) {
            let v = self.pick(RegClass::Float);
            ops.push(Operand::reg_fixed_use(v, PReg::new(0, RegClass::Float)));
        }
        let block = &mut self.blocks[self.current.index()];
        block.insts.push(InstData {
            kind: InstKind::Ret,
            operands: ops,
            clobbers: PRegSet::empty(),
        });
        block.terminated = true;
        self.num_insts += 1;
    }

    /// One straight-line instruction.
    fn inst(&mut self) {
        let int = RegClass::Int;
        let float_ok = self.opts.floats;
        if !self.has(int) {
            let v = self.define(int);
            self.emit(vec![Operand::reg_def(v)], PRegSet::empty());
            return;
        }
        match self.src.below(32) {
            // Constant materialization.
            0..=2 => {
                let class = if float_ok && self.src.chance(1, 3) {
                    RegClass::Float
                } else {
                    int
                };
                let v = self.define(class);
                let def = if self.src.chance(1, 4) {
                    Operand::any_def(v)
                } else {
                    Operand::reg_def(v)
                };
                self.emit(vec![def], PRegSet::empty());
            }
            // Three-address ALU op, with operand variety.
            3..=10 => {
                let a = self.pick(int);
                let b = self.pick(int);
                let use_a = match self.src.below(8) {
                    0 => Operand::any_use(a),
                    1 => Operand::reg_use_at_end(a),
                    2 => Operand::new(
                        a,
                        OperandConstraint::Limit(if self.src.chance(1, 2) { 8 } else { 16 }),
                        OperandKind::Use,
                        OperandPos::Early,
                    ),
                    _ => Operand::reg_use(a),
                };
                let d = self.define(int);
                let def = match self.src.below(8) {
                    0 => Operand::reg_def_at_start(d),
                    1 => Operand::any_def(d),
                    _ => Operand::reg_def(d),
                };
                let mut ops = vec![use_a, Operand::reg_use(b), def];
                if self.src.chance(1, 8) {
                    let t = self.fresh(int);
                    ops.push(Operand::reg_temp(t));
                }
                self.emit(ops, PRegSet::empty());
            }
            // Two-address op: the def reuses input 0.
            11..=16 => {
                let a = self.pick(int);
                let b = self.pick(int);
                let d = self.define(int);
                let second = if self.src.chance(1, 4) {
                    Operand::any_use(b)
                } else {
                    Operand::reg_use(b)
                };
                self.emit(
                    vec![Operand::reg_use(a), second, Operand::reg_reuse_def(d, 0)],
                    PRegSet::empty(),
                );
            }
            // Load from memory through the stack pointer or a base value.
            17..=19 => {
                let base = self.pick(int);
                let class = if float_ok && self.src.chance(1, 3) {
                    RegClass::Float
                } else {
                    int
                };
                let d = self.define(class);
                let mut ops = vec![Operand::reg_use(base), Operand::reg_def(d)];
                if self.src.chance(1, 3) {
                    ops.push(Operand::fixed_nonallocatable(PReg::new(RSP, int)));
                }
                self.emit(ops, PRegSet::empty());
            }
            // Stack-constrained def and use (a spill-like store/reload).
            20 => {
                let a = self.pick(int);
                let d = self.define(int);
                self.emit(
                    vec![
                        Operand::new(
                            a,
                            OperandConstraint::Stack,
                            OperandKind::Use,
                            OperandPos::Early,
                        ),
                        Operand::new(
                            d,
                            OperandConstraint::Stack,
                            OperandKind::Def,
                            OperandPos::Late,
                        ),
                    ],
                    PRegSet::empty(),
                );
            }
            // Shift by a count in RCX.
            21..=22 => {
                let a = self.pick(int);
                let Some(count) = self.pick_other(int, &[a]) else {
                    return self.inst_fallback();
                };
                let d = self.define(int);
                self.emit(
                    vec![
                        Operand::reg_use(a),
                        Operand::reg_fixed_use(count, PReg::new(RCX, int)),
                        Operand::reg_reuse_def(d, 0),
                    ],
                    PRegSet::empty(),
                );
            }
            // Division: RDX:RAX / r -> RAX, RDX.
            23 if self.opts.calls => {
                let lo = self.pick(int);
                let Some(hi) = self.pick_other(int, &[lo]) else {
                    return self.inst_fallback();
                };
                let Some(divisor) = self.pick_other(int, &[lo, hi]) else {
                    return self.inst_fallback();
                };
                let q = self.define(int);
                let r = self.define(int);
                self.emit(
                    vec![
                        Operand::reg_fixed_use(lo, PReg::new(RAX, int)),
                        Operand::reg_fixed_use(hi, PReg::new(RDX, int)),
                        Operand::reg_use(divisor),
                        Operand::reg_fixed_def(q, PReg::new(RAX, int)),
                        Operand::reg_fixed_def(r, PReg::new(RDX, int)),
                    ],
                    PRegSet::empty(),
                );
            }
            24..=26 if self.opts.calls => self.call(),
            // Float arithmetic, or an int-to-float conversion.
            27..=31 if float_ok => {
                if self.has(RegClass::Float) && self.src.chance(3, 4) {
                    let a = self.pick(RegClass::Float);
                    let b = self.pick(RegClass::Float);
                    let d = self.define(RegClass::Float);
                    let ops = if self.src.chance(1, 2) {
                        vec![
                            Operand::reg_use(a),
                            Operand::reg_use(b),
                            Operand::reg_reuse_def(d, 0),
                        ]
                    } else {
                        vec![
                            Operand::reg_use(a),
                            Operand::any_use(b),
                            Operand::reg_def(d),
                        ]
                    };
                    self.emit(ops, PRegSet::empty());
                } else {
                    let a = self.pick(int);
                    let d = self.define(RegClass::Float);
                    self.emit(
                        vec![Operand::reg_use(a), Operand::reg_def(d)],
                        PRegSet::empty(),
                    );
                }
            }
            _ => self.inst_fallback(),
        }
    }

    /// A plain `d = a op b`.
    fn inst_fallback(&mut self) {
        let a = self.pick(RegClass::Int);
        let b = self.pick(RegClass::Int);
        let d = self.define(RegClass::Int);
        self.emit(
            vec![
                Operand::reg_use(a),
                Operand::reg_use(b),
                Operand::reg_def(d),
            ],
            PRegSet::empty(),
        );
    }

    /// A call: arguments in fixed registers (and maybe a fixed stack
    /// slot), results in RAX/XMM0, every caller-saved register clobbered
    /// except the results.
    fn call(&mut self) {
        let int = RegClass::Int;
        let mut ops = vec![Operand::fixed_nonallocatable(PReg::new(RSP, int))];
        let mut args: Vec<VReg> = Vec::new();
        for &hw in &INT_ARGS[..self.src.below(5)] {
            let Some(v) = self.pick_other(int, &args) else {
                break;
            };
            args.push(v);
            ops.push(Operand::reg_fixed_use(v, PReg::new(hw, int)));
        }
        if self.opts.floats && self.has(RegClass::Float) {
            for hw in 0..self.src.below(3) {
                let Some(v) = self.pick_other(RegClass::Float, &args) else {
                    break;
                };
                args.push(v);
                ops.push(Operand::reg_fixed_use(v, PReg::new(hw, RegClass::Float)));
            }
        }
        if self.machine.fixed_stack_slots > 0 && self.src.chance(1, 3) {
            if let Some(v) = self.pick_other(int, &args) {
                let slot = STACK_SLOT_BASE + self.src.below(self.machine.fixed_stack_slots);
                ops.push(Operand::reg_fixed_use(v, PReg::new(slot, int)));
            }
        }
        let mut clobbers = self.machine.call_clobbers();
        if self.src.chance(3, 4) {
            let r = self.define(int);
            let rax = PReg::new(RAX, int);
            ops.push(Operand::reg_fixed_def(r, rax));
            clobbers.remove(rax);
        }
        if self.opts.floats && self.src.chance(1, 4) {
            let r = self.define(RegClass::Float);
            let xmm0 = PReg::new(0, RegClass::Float);
            ops.push(Operand::reg_fixed_def(r, xmm0));
            clobbers.remove(xmm0);
        }
        self.emit(ops, clobbers);
    }

    /// Lays the blocks out in index order.
    fn finish(self) -> FunctionData {
        let mut insts = Vec::with_capacity(self.num_insts);
        let mut blocks = Vec::with_capacity(self.blocks.len());
        for pending in self.blocks {
            debug_assert!(pending.terminated, "every block is closed");
            let from = Inst::new(insts.len());
            insts.extend(pending.insts);
            blocks.push(BlockData {
                insts: InstRange::new(from, Inst::new(insts.len())),
                succs: pending.succs,
                preds: Vec::new(),
                params: pending.params,
                branch_args: pending.branch_args,
            });
        }
        let mut func = FunctionData {
            entry: Block::new(0),
            insts,
            blocks,
            num_vregs: self.num_vregs,
            debug_value_labels: Vec::new(),
            spillslot_sizes: [1, 2, 2],
            multi_spillslot_named_by_last_slot: false,
            allow_multiple_vreg_defs: false,
        };
        func.recompute_preds();
        func
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::Arena;

    fn check(func: &FunctionData, env: &MachineEnv) {
        let arena = Arena::new();
        let cfg = crate::cfg::analyze(func, &arena).expect("valid CFG");
        crate::validate::validate(func, env, &cfg, true, &arena).expect("valid function");
    }

    #[test]
    fn seeds_give_valid_functions() {
        for seed in 0..300 {
            let opts = GenOptions {
                target_insts: 5 + (seed as usize * 7) % 300,
                ..GenOptions::default()
            };
            let (func, env) = generate_from_seed(seed, &opts);
            assert!(func.insts.len() >= opts.target_insts.min(5));
            check(&func, &env);
        }
    }

    #[test]
    fn same_seed_same_function() {
        let opts = GenOptions::default();
        assert_eq!(
            generate_from_seed(7, &opts).0,
            generate_from_seed(7, &opts).0
        );
        assert_ne!(
            generate_from_seed(7, &opts).0,
            generate_from_seed(8, &opts).0
        );
    }

    #[test]
    fn bytes_and_fallback_give_valid_functions() {
        for len in [0usize, 3, 64, 4096] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 131 + 7) as u8).collect();
            let mut u = Unstructured::new(&bytes);
            let opts = GenOptions {
                target_insts: 2000,
                ..GenOptions::default()
            };
            let (func, env) = generate(&mut u, &opts).unwrap();
            check(&func, &env);
            // Not degenerate once bytes run out: several kinds of
            // instruction and more than one block.
            assert!(func.blocks.len() > 10, "{} blocks", func.blocks.len());
            let calls = func.insts.iter().filter(|i| i.clobbers.len() > 0).count();
            assert!(calls > 10, "{calls} calls");
        }
    }

    #[test]
    fn arbitrary_function_is_valid() {
        let bytes: Vec<u8> = (0..2000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let mut u = Unstructured::new(&bytes);
        let g = GeneratedFunction::arbitrary(&mut u).unwrap();
        check(&g.func, &g.env);
    }

    #[test]
    fn has_loops_and_bounded_liveness_shape() {
        let opts = GenOptions {
            target_insts: 20_000,
            ..GenOptions::default()
        };
        let (func, env) = generate_from_seed(42, &opts);
        check(&func, &env);
        let arena = Arena::new();
        let cfg = crate::cfg::analyze(&func, &arena).unwrap();
        let max_depth = cfg.loop_depth.iter().copied().max().unwrap();
        assert!(max_depth >= 2, "max loop depth {max_depth}");
        assert!(func.blocks.iter().any(|b| !b.params.is_empty()));
    }
}
