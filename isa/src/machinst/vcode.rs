//! [`VCode`]: a function of machine instructions with virtual registers,
//! laid out the way `regarena::Function` asks for it (blocks of contiguous
//! instructions, per-instruction operands and clobbers, successor block
//! arguments), built once by [`VCodeBuilder`] and then only read.
//!
//! Reads: the instructions and operands the lowering pushes. Writes: its own
//! tables. Predecessor lists are derived from successor lists in
//! [`VCodeBuilder::finish`], so they cannot disagree.

use super::OperandCollector;
use regarena::{Block, Function, Inst, InstRange, Operand, PRegSet, RegClass, VReg};

/// How an instruction ends (or does not end) its block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InstRole {
    /// Any instruction that is not the block terminator.
    Op,
    /// A terminator jumping to the block's successors.
    Branch,
    /// A terminator leaving the function.
    Ret,
}

/// One block's layout and edges.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VBlock {
    /// The block's instructions; the last one is its terminator.
    pub insts: InstRange,
    pub params: Vec<VReg>,
    pub succs: Vec<Block>,
    pub preds: Vec<Block>,
    /// `branch_args[i]` flows into `succs[i]`'s params (same length).
    pub branch_args: Vec<Vec<VReg>>,
}

/// Machine instructions of type `I` with their register interface.
///
/// Invariants (checked by [`VCodeBuilder::finish`]): every block is
/// non-empty and ends in its only `Branch`/`Ret` instruction; blocks' ranges
/// tile `0..insts.len()` in order; `operand_ranges`, `clobbers`, `roles`
/// have one entry per instruction.
#[derive(Clone, Debug)]
pub struct VCode<I> {
    pub insts: Vec<I>,
    /// All instructions' operands, concatenated in instruction order.
    operands: Vec<Operand>,
    /// `operand_ranges[i]` = the span of `operands` belonging to inst `i`.
    operand_ranges: Vec<(u32, u32)>,
    clobbers: Vec<PRegSet>,
    roles: Vec<InstRole>,
    pub blocks: Vec<VBlock>,
    num_vregs: usize,
}

impl<I> VCode<I> {
    pub fn inst(&self, inst: Inst) -> &I {
        &self.insts[inst.index()]
    }
}

impl<I> Function for VCode<I> {
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
        self.blocks[block.index()].insts
    }
    fn block_succs(&self, block: Block) -> &[Block] {
        &self.blocks[block.index()].succs
    }
    fn block_preds(&self, block: Block) -> &[Block] {
        &self.blocks[block.index()].preds
    }
    fn block_params(&self, block: Block) -> &[VReg] {
        &self.blocks[block.index()].params
    }
    fn is_ret(&self, insn: Inst) -> bool {
        self.roles[insn.index()] == InstRole::Ret
    }
    fn is_branch(&self, insn: Inst) -> bool {
        self.roles[insn.index()] == InstRole::Branch
    }
    fn branch_blockparams(&self, block: Block, _insn: Inst, succ_idx: usize) -> &[VReg] {
        &self.blocks[block.index()].branch_args[succ_idx]
    }
    fn inst_operands(&self, insn: Inst) -> &[Operand] {
        let (start, end) = self.operand_ranges[insn.index()];
        &self.operands[start as usize..end as usize]
    }
    fn inst_clobbers(&self, insn: Inst) -> PRegSet {
        self.clobbers[insn.index()]
    }
    fn num_vregs(&self) -> usize {
        self.num_vregs
    }
    fn spillslot_size(&self, _regclass: RegClass) -> usize {
        // Every class spills to one 8-byte slot: the IR is integer-only and
        // float values are moved as 64-bit scalars (movsd / str d).
        1
    }
}

/// Builds a [`VCode`] block by block. Blocks are numbered in the order
/// [`VCodeBuilder::start_block`] is called; block 0 is the entry.
pub struct VCodeBuilder<I> {
    code: VCode<I>,
    block_start: Option<(u32, Vec<VReg>)>,
}

impl<I> Default for VCodeBuilder<I> {
    fn default() -> Self {
        VCodeBuilder {
            code: VCode {
                insts: Vec::new(),
                operands: Vec::new(),
                operand_ranges: Vec::new(),
                clobbers: Vec::new(),
                roles: Vec::new(),
                blocks: Vec::new(),
                num_vregs: 0,
            },
            block_start: None,
        }
    }
}

/// Why a [`VCodeBuilder`] refused its input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VCodeError {
    /// A block has no instruction or does not end in a terminator.
    BadBlock(usize),
    /// A successor index names no block, or branch args mismatch params.
    BadEdge(usize),
}

impl core::fmt::Display for VCodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            VCodeError::BadBlock(b) => write!(f, "block{b} is empty or lacks a terminator"),
            VCodeError::BadEdge(b) => write!(f, "block{b} has a bad successor edge"),
        }
    }
}

impl<I> VCodeBuilder<I> {
    /// Reserves a fresh virtual register number.
    pub fn set_num_vregs(&mut self, n: usize) {
        self.code.num_vregs = n;
    }

    /// Opens the next block with these params.
    pub fn start_block(&mut self, params: Vec<VReg>) {
        debug_assert!(self.block_start.is_none(), "previous block not ended");
        self.block_start = Some((self.code.insts.len() as u32, params));
    }

    /// Appends an instruction; `collect` reports its operands in order.
    pub fn push(
        &mut self,
        inst: I,
        role: InstRole,
        clobbers: PRegSet,
        collect: impl FnOnce(&I, &mut OperandCollector<'_>),
    ) {
        let start = self.code.operands.len() as u32;
        collect(&inst, &mut OperandCollector::new(&mut self.code.operands));
        let end = self.code.operands.len() as u32;
        self.code.operand_ranges.push((start, end));
        self.code.clobbers.push(clobbers);
        self.code.roles.push(role);
        self.code.insts.push(inst);
    }

    /// Closes the open block with its successors and their arguments.
    pub fn end_block(&mut self, succs: Vec<Block>, branch_args: Vec<Vec<VReg>>) {
        let (start, params) = self
            .block_start
            .take()
            .expect("end_block without start_block");
        let end = self.code.insts.len() as u32;
        self.code.blocks.push(VBlock {
            insts: InstRange::new(Inst(start), Inst(end)),
            params,
            succs,
            preds: Vec::new(),
            branch_args,
        });
    }

    /// Derives predecessors and checks the block invariants.
    pub fn finish(mut self) -> Result<VCode<I>, VCodeError> {
        let nblocks = self.code.blocks.len();
        for b in 0..nblocks {
            let block = &self.code.blocks[b];
            let range = block.insts;
            if range.is_empty() {
                return Err(VCodeError::BadBlock(b));
            }
            let roles = &self.code.roles;
            let last = range.last().index();
            if roles[last] == InstRole::Op
                || range
                    .iter()
                    .any(|i| i.index() != last && roles[i.index()] != InstRole::Op)
            {
                return Err(VCodeError::BadBlock(b));
            }
            if block.succs.len() != block.branch_args.len() {
                return Err(VCodeError::BadEdge(b));
            }
            for (i, succ) in block.succs.clone().into_iter().enumerate() {
                let Some(target) = self.code.blocks.get(succ.index()) else {
                    return Err(VCodeError::BadEdge(b));
                };
                if target.params.len() != self.code.blocks[b].branch_args[i].len() {
                    return Err(VCodeError::BadEdge(b));
                }
                self.code.blocks[succ.index()].preds.push(Block::new(b));
            }
        }
        Ok(self.code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machinst::{Reg, Writable};

    #[test]
    fn builder_derives_preds_and_checks_terminators() {
        let mut b: VCodeBuilder<&'static str> = VCodeBuilder::default();
        b.set_num_vregs(2);
        let v0 = Reg::virt(0, RegClass::Int);
        b.start_block(vec![]);
        b.push("def", InstRole::Op, PRegSet::empty(), |_, c| {
            c.reg_def(Writable::from_reg(v0))
        });
        b.push("jump", InstRole::Branch, PRegSet::empty(), |_, _| {});
        b.end_block(vec![Block::new(1)], vec![vec![VReg::new(0, RegClass::Int)]]);
        b.start_block(vec![VReg::new(1, RegClass::Int)]);
        b.push("ret", InstRole::Ret, PRegSet::empty(), |_, c| {
            c.reg_use(Reg::virt(1, RegClass::Int))
        });
        b.end_block(vec![], vec![]);
        let code = b.finish().unwrap();
        assert_eq!(code.block_preds(Block::new(1)), &[Block::new(0)]);
        assert_eq!(code.inst_operands(Inst::new(0)).len(), 1);
        assert!(code.is_branch(Inst::new(1)));
        assert!(code.is_ret(Inst::new(2)));

        let mut bad: VCodeBuilder<&'static str> = VCodeBuilder::default();
        bad.start_block(vec![]);
        bad.push("op", InstRole::Op, PRegSet::empty(), |_, _| {});
        bad.end_block(vec![], vec![]);
        assert_eq!(bad.finish().unwrap_err(), VCodeError::BadBlock(0));
    }
}
