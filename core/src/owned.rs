//! [`FunctionData`]: a [`Function`] held as plain owned data.
//!
//! The corpus reader, the random generator, the tests and the tools all
//! build functions as this one type; it answers every trait method by a
//! slice borrow, with no per-call copying.

use crate::{Block, Function, Inst, InstRange, Operand, PRegSet, RegClass, VReg};

/// How an instruction ends (or does not end) its block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum InstKind {
    /// Any instruction that does not end its block.
    #[default]
    Op,
    /// A branch: ends its block and has successors.
    Branch,
    /// A return: ends its block.
    Ret,
}

/// One instruction's register interface.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InstData {
    /// What the instruction is to the control flow.
    pub kind: InstKind,
    /// Its operands, with their constraints.
    pub operands: Vec<Operand>,
    /// Registers it overwrites.
    pub clobbers: PRegSet,
}

/// One block: its instructions, edges, params and outgoing branch args.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockData {
    /// The block's instructions.
    pub insts: InstRange,
    /// Successor blocks, in branch-target order.
    pub succs: Vec<Block>,
    /// Predecessor blocks.
    pub preds: Vec<Block>,
    /// Block parameters.
    pub params: Vec<VReg>,
    /// `branch_args[i]`: the args passed to `succs[i]`'s params.
    pub branch_args: Vec<Vec<VReg>>,
}

/// A function as owned data. Fields are public: tests build malformed
/// functions on purpose, and the allocator must reject them cleanly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionData {
    /// The entry block.
    pub entry: Block,
    /// Every instruction, in order.
    pub insts: Vec<InstData>,
    /// Every block, in order; their instruction ranges tile `insts`.
    pub blocks: Vec<BlockData>,
    /// The number of vregs.
    pub num_vregs: usize,
    /// `(vreg, from, to, label)` ranges for [`crate::Output::debug_locations`].
    pub debug_value_labels: Vec<(VReg, Inst, Inst, u32)>,
    /// Spill slot size per class, indexed by `RegClass as usize`.
    pub spillslot_sizes: [usize; 3],
    /// See [`crate::Function::multi_spillslot_named_by_last_slot`].
    pub multi_spillslot_named_by_last_slot: bool,
    /// See [`crate::Function::allow_multiple_vreg_defs`].
    pub allow_multiple_vreg_defs: bool,
}

impl FunctionData {
    /// Copies any [`Function`] into owned data (once; every later query is a borrow).
    pub fn from_function(func: &impl Function) -> FunctionData {
        let insts = (0..func.num_insts())
            .map(Inst::new)
            .map(|inst| InstData {
                kind: if func.is_ret(inst) {
                    InstKind::Ret
                } else if func.is_branch(inst) {
                    InstKind::Branch
                } else {
                    InstKind::Op
                },
                operands: func.inst_operands(inst).to_vec(),
                clobbers: func.inst_clobbers(inst),
            })
            .collect();
        let blocks = (0..func.num_blocks())
            .map(Block::new)
            .map(|block| {
                let range = func.block_insns(block);
                let succs = func.block_succs(block).to_vec();
                let branch_args = if range.is_empty() {
                    Vec::new()
                } else {
                    (0..succs.len())
                        .map(|i| func.branch_blockparams(block, range.last(), i).to_vec())
                        .collect()
                };
                BlockData {
                    insts: range,
                    preds: func.block_preds(block).to_vec(),
                    params: func.block_params(block).to_vec(),
                    succs,
                    branch_args,
                }
            })
            .collect();
        FunctionData {
            entry: func.entry_block(),
            insts,
            blocks,
            num_vregs: func.num_vregs(),
            debug_value_labels: func.debug_value_labels().to_vec(),
            spillslot_sizes: RegClass::ALL.map(|c| func.spillslot_size(c)),
            multi_spillslot_named_by_last_slot: func.multi_spillslot_named_by_last_slot(),
            allow_multiple_vreg_defs: func.allow_multiple_vreg_defs(),
        }
    }

    /// Recomputes every block's `preds` from the `succs` lists, in block order.
    pub fn recompute_preds(&mut self) {
        for block in &mut self.blocks {
            block.preds.clear();
        }
        for from in 0..self.blocks.len() {
            for i in 0..self.blocks[from].succs.len() {
                let to = self.blocks[from].succs[i];
                if let Some(target) = self.blocks.get_mut(to.index()) {
                    target.preds.push(Block::new(from));
                }
            }
        }
    }
}

impl Function for FunctionData {
    #[inline]
    fn num_insts(&self) -> usize {
        self.insts.len()
    }
    #[inline]
    fn num_blocks(&self) -> usize {
        self.blocks.len()
    }
    #[inline]
    fn entry_block(&self) -> Block {
        self.entry
    }
    #[inline]
    fn block_insns(&self, block: Block) -> InstRange {
        self.blocks[block.index()].insts
    }
    #[inline]
    fn block_succs(&self, block: Block) -> &[Block] {
        &self.blocks[block.index()].succs
    }
    #[inline]
    fn block_preds(&self, block: Block) -> &[Block] {
        &self.blocks[block.index()].preds
    }
    #[inline]
    fn block_params(&self, block: Block) -> &[VReg] {
        &self.blocks[block.index()].params
    }
    #[inline]
    fn is_ret(&self, insn: Inst) -> bool {
        self.insts[insn.index()].kind == InstKind::Ret
    }
    #[inline]
    fn is_branch(&self, insn: Inst) -> bool {
        self.insts[insn.index()].kind == InstKind::Branch
    }
    #[inline]
    fn branch_blockparams(&self, block: Block, _insn: Inst, succ_idx: usize) -> &[VReg] {
        self.blocks[block.index()]
            .branch_args
            .get(succ_idx)
            .map_or(&[], |args| &args[..])
    }
    #[inline]
    fn inst_operands(&self, insn: Inst) -> &[Operand] {
        &self.insts[insn.index()].operands
    }
    #[inline]
    fn inst_clobbers(&self, insn: Inst) -> PRegSet {
        self.insts[insn.index()].clobbers
    }
    #[inline]
    fn num_vregs(&self) -> usize {
        self.num_vregs
    }
    fn debug_value_labels(&self) -> &[(VReg, Inst, Inst, u32)] {
        &self.debug_value_labels
    }
    #[inline]
    fn spillslot_size(&self, regclass: RegClass) -> usize {
        self.spillslot_sizes[regclass as usize]
    }
    fn multi_spillslot_named_by_last_slot(&self) -> bool {
        self.multi_spillslot_named_by_last_slot
    }
    fn allow_multiple_vreg_defs(&self) -> bool {
        self.allow_multiple_vreg_defs
    }
}
