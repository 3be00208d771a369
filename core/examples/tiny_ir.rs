//! A compiler backend's view of regarena, end to end, on a toy IR:
//!
//! 1. the backend's own IR (`Func`, `Op`) with virtual registers;
//! 2. `impl Function for Func`: what the allocator asks about it;
//! 3. a `MachineEnv`: six integer registers, two of them callee-saved;
//! 4. `run_with_ctx` with one reused `Ctx`;
//! 5. reading the `Output`: each operand's allocation, the inserted moves;
//! 6. applying it: the same program rewritten over physical registers and
//!    stack slots, moves in place; the checker proves the result.
//!
//! The program sums `f(i)` for `i` in `0..n` around a call that clobbers
//! every caller-saved register, so the values live across it (`n`, `sum`,
//! `i`) compete for two callee-saved registers and one must go to the stack.
//!
//! Run: `cargo run -p regarena --example tiny_ir`.

use regarena::checker::Checker;
use regarena::{
    Allocation, Block, Ctx, Edit, Function, Inst, InstOrEdit, InstRange, MachineEnv, Operand, PReg,
    PRegSet, RegClass, RegallocOptions, VReg,
};

// --- 1. The backend's IR ------------------------------------------------------

/// One instruction. Values are virtual registers (`VReg`) already, as in a
/// backend's lowered code just before register allocation.
#[derive(Clone, Debug)]
enum Op {
    /// `dst = the function's argument` (arrives in `A0`).
    Arg { dst: VReg },
    /// `dst = imm`.
    Const { dst: VReg, imm: i64 },
    /// `dst = a + b`, two-address: `dst` reuses `a`'s register (as x86's `add`).
    Add { dst: VReg, a: VReg, b: VReg },
    /// `dst = a < b`.
    Less { dst: VReg, a: VReg, b: VReg },
    /// `dst = f(arg)`: the argument and result in `A0`; clobbers `A0..=T3`.
    Call { dst: VReg, arg: VReg },
    /// Jump to `target`, passing `args` to its block params.
    Jump { target: Block, args: Vec<VReg> },
    /// Go to `then` if `cond` is non-zero, else to `els` (no block args).
    Branch { cond: VReg, then: Block, els: Block },
    /// Return `value` (in `A0`).
    Ret { value: VReg },
}

/// A function: blocks of instructions, stored flat (the allocator names
/// instructions by their index in the whole function).
struct Func {
    insts: Vec<Op>,
    /// Each block's instruction range and its params.
    blocks: Vec<(InstRange, Vec<VReg>)>,
    succs: Vec<Vec<Block>>,
    preds: Vec<Vec<Block>>,
    num_vregs: usize,
    /// Derived from `insts` once: the allocator asks for slices.
    operands: Vec<Vec<Operand>>,
    clobbers: Vec<PRegSet>,
}

// --- 3. The machine -------------------------------------------------------------

const A0: PReg = PReg::new(0, RegClass::Int);
const T1: PReg = PReg::new(1, RegClass::Int);
const T2: PReg = PReg::new(2, RegClass::Int);
const T3: PReg = PReg::new(3, RegClass::Int);
const S4: PReg = PReg::new(4, RegClass::Int);
const S5: PReg = PReg::new(5, RegClass::Int);
const REG_NAMES: [&str; 6] = ["a0", "t1", "t2", "t3", "s4", "s5"];

/// Caller-saved registers are preferred (free to use); callee-saved ones
/// (which a prologue would have to save) come second.
fn machine_env() -> MachineEnv {
    MachineEnv {
        preferred_regs_by_class: [
            PRegSet::empty().with(A0).with(T1).with(T2).with(T3),
            PRegSet::empty(),
            PRegSet::empty(),
        ],
        non_preferred_regs_by_class: [
            PRegSet::empty().with(S4).with(S5),
            PRegSet::empty(),
            PRegSet::empty(),
        ],
        scratch_by_class: [None, None, None],
        fixed_stack_slots: Vec::new(),
    }
}

impl Func {
    /// Builds the program, block by block, then derives the operands.
    fn sum_of_calls() -> Func {
        let v = |i| VReg::new(i, RegClass::Int);
        let (n, zero_sum, zero_i, sum, i, more, fi, sum2, one, i2) =
            (v(0), v(1), v(2), v(3), v(4), v(5), v(6), v(7), v(8), v(9));
        let (b1, b2, b3) = (Block::new(1), Block::new(2), Block::new(3));
        let code: Vec<(Vec<VReg>, Vec<Op>)> = vec![
            // b0: n = arg; jump b1(0, 0)
            (
                vec![],
                vec![
                    Op::Arg { dst: n },
                    Op::Const {
                        dst: zero_sum,
                        imm: 0,
                    },
                    Op::Const {
                        dst: zero_i,
                        imm: 0,
                    },
                    Op::Jump {
                        target: b1,
                        args: vec![zero_sum, zero_i],
                    },
                ],
            ),
            // b1(sum, i): if i < n goto b2 else b3
            (
                vec![sum, i],
                vec![
                    Op::Less {
                        dst: more,
                        a: i,
                        b: n,
                    },
                    Op::Branch {
                        cond: more,
                        then: b2,
                        els: b3,
                    },
                ],
            ),
            // b2: sum2 = sum + f(i); i2 = i + 1; jump b1(sum2, i2)
            (
                vec![],
                vec![
                    Op::Call { dst: fi, arg: i },
                    Op::Add {
                        dst: sum2,
                        a: sum,
                        b: fi,
                    },
                    Op::Const { dst: one, imm: 1 },
                    Op::Add {
                        dst: i2,
                        a: i,
                        b: one,
                    },
                    Op::Jump {
                        target: b1,
                        args: vec![sum2, i2],
                    },
                ],
            ),
            // b3: return sum
            (vec![], vec![Op::Ret { value: sum }]),
        ];
        let mut func = Func {
            insts: Vec::new(),
            blocks: Vec::new(),
            succs: vec![Vec::new(); code.len()],
            preds: vec![Vec::new(); code.len()],
            num_vregs: 10,
            operands: Vec::new(),
            clobbers: Vec::new(),
        };
        for (index, (params, ops)) in code.into_iter().enumerate() {
            let first = Inst::new(func.insts.len());
            func.insts.extend(ops);
            let range = InstRange::new(first, Inst::new(func.insts.len()));
            func.blocks.push((range, params));
            let targets = match func.insts.last() {
                Some(Op::Jump { target, .. }) => vec![*target],
                Some(Op::Branch { then, els, .. }) => vec![*then, *els],
                _ => vec![],
            };
            for target in targets {
                func.succs[index].push(target);
                func.preds[target.index()].push(Block::new(index));
            }
        }
        func.operands = func.insts.iter().map(operands_of).collect();
        func.clobbers = func.insts.iter().map(clobbers_of).collect();
        func
    }
}

/// The constraints each instruction puts on its values.
fn operands_of(op: &Op) -> Vec<Operand> {
    match *op {
        Op::Arg { dst } => vec![Operand::reg_fixed_def(dst, A0)],
        Op::Const { dst, .. } => vec![Operand::reg_def(dst)],
        Op::Add { dst, a, b } => vec![
            Operand::reg_use(a),
            Operand::reg_use(b),
            // Operand 2 must land in operand 0's register.
            Operand::reg_reuse_def(dst, 0),
        ],
        Op::Less { dst, a, b } => vec![
            Operand::reg_use(a),
            Operand::reg_use(b),
            Operand::reg_def(dst),
        ],
        Op::Call { dst, arg } => vec![
            Operand::reg_fixed_use(arg, A0),
            Operand::reg_fixed_def(dst, A0),
        ],
        // Block arguments are not operands: the allocator reads them
        // through `branch_blockparams`.
        Op::Jump { .. } => vec![],
        Op::Branch { cond, .. } => vec![Operand::reg_use(cond)],
        Op::Ret { value } => vec![Operand::reg_fixed_use(value, A0)],
    }
}

/// A call overwrites every caller-saved register but its result's.
fn clobbers_of(op: &Op) -> PRegSet {
    match op {
        Op::Call { .. } => PRegSet::empty().with(T1).with(T2).with(T3),
        _ => PRegSet::empty(),
    }
}

// --- 2. What the allocator asks -------------------------------------------------

impl Function for Func {
    fn num_insts(&self) -> usize {
        self.insts.len()
    }
    fn num_blocks(&self) -> usize {
        self.blocks.len()
    }
    fn entry_block(&self) -> Block {
        Block::new(0)
    }
    fn block_insns(&self, block: Block) -> InstRange {
        self.blocks[block.index()].0
    }
    fn block_succs(&self, block: Block) -> &[Block] {
        &self.succs[block.index()]
    }
    fn block_preds(&self, block: Block) -> &[Block] {
        &self.preds[block.index()]
    }
    fn block_params(&self, block: Block) -> &[VReg] {
        &self.blocks[block.index()].1
    }
    fn is_ret(&self, insn: Inst) -> bool {
        matches!(self.insts[insn.index()], Op::Ret { .. })
    }
    fn is_branch(&self, insn: Inst) -> bool {
        matches!(
            self.insts[insn.index()],
            Op::Jump { .. } | Op::Branch { .. }
        )
    }
    fn branch_blockparams(&self, _block: Block, insn: Inst, _succ_idx: usize) -> &[VReg] {
        match &self.insts[insn.index()] {
            Op::Jump { args, .. } => args,
            _ => &[],
        }
    }
    fn inst_operands(&self, insn: Inst) -> &[Operand] {
        &self.operands[insn.index()]
    }
    fn inst_clobbers(&self, insn: Inst) -> PRegSet {
        self.clobbers[insn.index()]
    }
    fn num_vregs(&self) -> usize {
        self.num_vregs
    }
    fn spillslot_size(&self, _regclass: RegClass) -> usize {
        1
    }
}

// --- 5 and 6. Reading the output and applying it --------------------------------

fn location(alloc: Allocation) -> String {
    match (alloc.as_reg(), alloc.as_stack()) {
        (Some(reg), _) => REG_NAMES[reg.hw_enc()].to_string(),
        (None, Some(slot)) => format!("[sp+{}]", 8 * slot.index()),
        (None, None) => "-".to_string(),
    }
}

/// The instruction over the locations the allocator chose: operand `k`
/// of `inst` lives in `allocs[k]`.
fn rewrite(op: &Op, allocs: &[Allocation]) -> String {
    let at = |k: usize| location(allocs[k]);
    match op {
        Op::Arg { .. } => format!("{} = arg", at(0)),
        Op::Const { imm, .. } => format!("{} = {imm}", at(0)),
        Op::Add { .. } => format!("{} = add {}, {}", at(2), at(0), at(1)),
        Op::Less { .. } => format!("{} = lt {}, {}", at(2), at(0), at(1)),
        Op::Call { .. } => format!("{} = call f({})", at(1), at(0)),
        Op::Jump { target, .. } => format!("jump {target:?}"),
        Op::Branch { then, els, .. } => format!("branch {} ? {then:?} : {els:?}", at(0)),
        Op::Ret { .. } => format!("ret {}", at(0)),
    }
}

fn main() {
    let func = Func::sum_of_calls();
    let env = machine_env();
    let options = RegallocOptions {
        validate_ssa: true,
        ..RegallocOptions::default()
    };

    // 4. Allocate. A backend keeps one `Ctx` per thread for all its
    // functions: its memory is reused from one call to the next.
    let mut ctx = Ctx::default();
    let output = match regarena::run_with_ctx(&func, &env, &options, &mut ctx) {
        Ok(output) => output,
        Err(e) => {
            eprintln!("allocation failed: {e}");
            std::process::exit(1);
        }
    };

    // 5. Each operand's allocation, instruction by instruction.
    println!("allocations:");
    for (index, op) in func.insts.iter().enumerate() {
        let inst = Inst::new(index);
        let pairs: Vec<String> = func
            .inst_operands(inst)
            .iter()
            .zip(output.inst_allocs(inst))
            .map(|(operand, alloc)| format!("{} -> {}", operand.vreg(), location(*alloc)))
            .collect();
        println!("  {inst:?}: {op:?}\n      {}", pairs.join(", "));
    }
    println!("edits (moves the allocator inserted):");
    for (point, Edit::Move { from, to }) in &output.edits {
        println!("  at {point:?}: {} <- {}", location(*to), location(*from));
    }
    println!("spill slots: {}", output.num_spillslots);

    // 6. The program as emitted: instructions over their locations, with
    // the moves in program order between them.
    println!("rewritten:");
    for b in 0..func.num_blocks() {
        let block = Block::new(b);
        println!("  {block:?}:");
        for item in output.block_insts_and_edits(&func, block) {
            match item {
                InstOrEdit::Inst(inst) => {
                    let op = &func.insts[inst.index()];
                    println!("    {}", rewrite(op, output.inst_allocs(inst)));
                }
                InstOrEdit::Edit(Edit::Move { from, to }) => {
                    println!("    {} = move {}", location(*to), location(*from));
                }
            }
        }
    }

    // The checker replays the output symbolically: every use must read the
    // value its vreg holds.
    let mut checker = Checker::new(&func, &env);
    checker.prepare(output);
    match checker.run() {
        Ok(()) => println!("checker: ok"),
        Err(e) => {
            eprintln!("checker: {e}");
            std::process::exit(1);
        }
    }
}
