//! CFG analysis phases. PLACEHOLDER (being implemented).

use crate::tables::{Arena, ArenaVec, Column};
use crate::{Block, Function, Inst, ProgPoint, RegAllocError};

/// What the allocator needs to know about the CFG.
#[derive(Debug)]
pub struct CfgInfo<'a> {
    /// Reachable blocks in postorder (the entry last).
    pub postorder: ArenaVec<'a, Block>,
    /// Immediate dominator (`Block::invalid()` for the entry).
    pub idom: Column<'a, Block, Block>,
    /// Natural-loop nesting depth (0 outside loops).
    pub loop_depth: Column<'a, Block, u32>,
    /// The block of each instruction.
    pub insn_block: Column<'a, Inst, Block>,
    /// `ProgPoint::before(first inst)` per block.
    pub block_entry: Column<'a, Block, ProgPoint>,
    /// `ProgPoint::after(last inst)` per block.
    pub block_exit: Column<'a, Block, ProgPoint>,
}

/// Checks the CFG's structure and computes [`CfgInfo`].
pub fn analyze<'a, F: Function>(
    _func: &F,
    _arena: &'a Arena,
) -> Result<CfgInfo<'a>, RegAllocError> {
    todo!("cfg")
}
