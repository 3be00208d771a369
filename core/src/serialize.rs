//! [`SerializableFunction`]: a function and its machine environment as one
//! serializable value, in exactly the shape of regalloc2 0.15.2's type of
//! the same name (feature `enable-serde`).
//!
//! The field order and every field's type match upstream's, and the types
//! inside (`Operand`, `PRegSet`, `VReg`, `Block`, `InstRange`,
//! `MachineEnv`) serialize to the same bytes as upstream's, so a value
//! written here with bincode 1.x is a regalloc2-tool file (the format of
//! the corpora under `shared/corpus`), and one written by upstream's
//! `SerializableFunction` reads back here. `tools/tests/serialize_compat.rs`
//! proves it byte for byte on real corpus files.
//!
//! Unlike upstream, the [`Function`] impl never panics on a malformed
//! value (a block index out of range, a branch with fewer argument lists
//! than successors, a short spill-slot-size list): the query answers
//! empty, and allocation's validation reports the function as invalid.

use alloc::vec::Vec;

use crate::{Block, Function, Inst, InstRange, MachineEnv, Operand, PRegSet, RegClass, VReg};

/// How an instruction ends its block (upstream's private `InstOpcode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
enum InstOpcode {
    Op,
    Ret,
    Branch,
}

/// One instruction's register interface (upstream's private `InstData`).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct InstData {
    op: InstOpcode,
    operands: Vec<Operand>,
    clobbers: PRegSet,
}

/// A [`Function`] and [`MachineEnv`] that can be serialized and read back;
/// regalloc2 0.15.2's `serialize::SerializableFunction`, byte for byte.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct SerializableFunction {
    machine_env: MachineEnv,
    entry_block: Block,
    insts: Vec<InstData>,
    blocks: Vec<InstRange>,
    block_preds: Vec<Vec<Block>>,
    block_succs: Vec<Vec<Block>>,
    block_params_in: Vec<Vec<VReg>>,
    block_params_out: Vec<Vec<Vec<VReg>>>,
    num_vregs: usize,
    debug_value_labels: Vec<(VReg, Inst, Inst, u32)>,
    spillslot_size: Vec<usize>,
    multi_spillslot_named_by_last_slot: bool,
    allow_multiple_vreg_defs: bool,
}

impl SerializableFunction {
    /// Copies `func` and `machine_env`. Asks `spillslot_size` of every
    /// class, as upstream does (see [`SerializableFunction::new_with_sizes`]
    /// for backends that cannot answer for a class).
    pub fn new(func: &impl Function, machine_env: MachineEnv) -> Self {
        let sizes = RegClass::ALL.map(|class| func.spillslot_size(class));
        Self::new_with_sizes(func, machine_env, sizes)
    }

    /// Copies `func` and `machine_env`, with the spill-slot size of each
    /// class given by the caller instead of asked of `func` (Cranelift's
    /// x64 backend panics when asked for `Vector`).
    pub fn new_with_sizes(
        func: &impl Function,
        machine_env: MachineEnv,
        spillslot_sizes: [usize; 3],
    ) -> Self {
        let blocks = (0..func.num_blocks()).map(Block::new);
        SerializableFunction {
            machine_env,
            entry_block: func.entry_block(),
            insts: (0..func.num_insts())
                .map(Inst::new)
                .map(|inst| InstData {
                    op: if func.is_ret(inst) {
                        InstOpcode::Ret
                    } else if func.is_branch(inst) {
                        InstOpcode::Branch
                    } else {
                        InstOpcode::Op
                    },
                    operands: func.inst_operands(inst).to_vec(),
                    clobbers: func.inst_clobbers(inst),
                })
                .collect(),
            blocks: blocks.clone().map(|b| func.block_insns(b)).collect(),
            block_preds: blocks
                .clone()
                .map(|b| func.block_preds(b).to_vec())
                .collect(),
            block_succs: blocks
                .clone()
                .map(|b| func.block_succs(b).to_vec())
                .collect(),
            block_params_in: blocks
                .clone()
                .map(|b| func.block_params(b).to_vec())
                .collect(),
            block_params_out: blocks
                .map(|b| {
                    let range = func.block_insns(b);
                    (0..func.block_succs(b).len())
                        .map(|succ| match range.is_empty() {
                            // No branch to ask (an invalid block, kept as it is).
                            true => Vec::new(),
                            false => func.branch_blockparams(b, range.last(), succ).to_vec(),
                        })
                        .collect()
                })
                .collect(),
            num_vregs: func.num_vregs(),
            debug_value_labels: func.debug_value_labels().to_vec(),
            spillslot_size: spillslot_sizes.to_vec(),
            multi_spillslot_named_by_last_slot: func.multi_spillslot_named_by_last_slot(),
            allow_multiple_vreg_defs: func.allow_multiple_vreg_defs(),
        }
    }

    /// The machine environment stored with the function.
    pub fn machine_env(&self) -> &MachineEnv {
        &self.machine_env
    }
}

/// Answers with an empty list for an index a malformed value lacks.
fn list<T>(lists: &[Vec<T>], index: usize) -> &[T] {
    lists.get(index).map_or(&[], Vec::as_slice)
}

impl Function for SerializableFunction {
    fn num_insts(&self) -> usize {
        self.insts.len()
    }
    fn num_blocks(&self) -> usize {
        self.blocks.len()
    }
    fn entry_block(&self) -> Block {
        self.entry_block
    }
    fn block_insns(&self, block: Block) -> InstRange {
        self.blocks
            .get(block.index())
            .copied()
            .unwrap_or(InstRange::new(Inst::new(0), Inst::new(0)))
    }
    fn block_succs(&self, block: Block) -> &[Block] {
        list(&self.block_succs, block.index())
    }
    fn block_preds(&self, block: Block) -> &[Block] {
        list(&self.block_preds, block.index())
    }
    fn block_params(&self, block: Block) -> &[VReg] {
        list(&self.block_params_in, block.index())
    }
    fn is_ret(&self, insn: Inst) -> bool {
        self.insts
            .get(insn.index())
            .is_some_and(|i| i.op == InstOpcode::Ret)
    }
    fn is_branch(&self, insn: Inst) -> bool {
        self.insts
            .get(insn.index())
            .is_some_and(|i| i.op == InstOpcode::Branch)
    }
    fn branch_blockparams(&self, block: Block, _insn: Inst, succ_idx: usize) -> &[VReg] {
        self.block_params_out
            .get(block.index())
            .map_or(&[], |outs| list(outs, succ_idx))
    }
    fn inst_operands(&self, insn: Inst) -> &[Operand] {
        self.insts
            .get(insn.index())
            .map_or(&[], |i| i.operands.as_slice())
    }
    fn inst_clobbers(&self, insn: Inst) -> PRegSet {
        self.insts
            .get(insn.index())
            .map_or(PRegSet::empty(), |i| i.clobbers)
    }
    fn num_vregs(&self) -> usize {
        self.num_vregs
    }
    fn debug_value_labels(&self) -> &[(VReg, Inst, Inst, u32)] {
        &self.debug_value_labels
    }
    fn spillslot_size(&self, regclass: RegClass) -> usize {
        // A missing entry answers 0, which allocation treats as 1 unit.
        self.spillslot_size
            .get(regclass as usize)
            .copied()
            .unwrap_or(0)
    }
    fn multi_spillslot_named_by_last_slot(&self) -> bool {
        self.multi_spillslot_named_by_last_slot
    }
    fn allow_multiple_vreg_defs(&self) -> bool {
        self.allow_multiple_vreg_defs
    }
}
