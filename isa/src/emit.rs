//! Compiling a whole module: lower each function, allocate it with
//! `regarena::run`, emit the allocated code of all functions into one
//! [`MachBuffer`] (one label per function, so calls are label fixups), and
//! resolve the fixups.
//!
//! Reads an [`ir::Module`] and a [`Backend`]; writes a [`CompiledModule`].

use crate::ir::Module;
pub use crate::lower::EmitError;
use crate::lower::{lower_function, Backend, LowerError, MInst};
use crate::machinst::buffer::BufferError;
use crate::machinst::{MachBuffer, VCode};
use regarena::{
    Allocation, Edit, MachineEnv, Output, PReg, PRegSet, RegAllocError, RegallocOptions,
};

/// Why compiling a module failed, naming the function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CompileError {
    Lower(String, LowerError),
    RegAlloc(String, RegAllocError),
    Emit(String, EmitError),
    Buffer(BufferError),
}

impl core::fmt::Display for CompileError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            CompileError::Lower(func, e) => write!(f, "lowering `{func}`: {e}"),
            CompileError::RegAlloc(func, e) => write!(f, "allocating `{func}`: {e}"),
            CompileError::Emit(func, e) => write!(f, "emitting `{func}`: {e}"),
            CompileError::Buffer(e) => write!(f, "resolving branches: {e}"),
        }
    }
}

impl std::error::Error for CompileError {}

/// One function's allocated code, kept for listings.
pub struct CompiledFunc {
    pub name: String,
    pub vcode: VCode<MInst>,
    pub output: Output,
    /// Offset of the function's first byte in [`CompiledModule::code`].
    pub offset: u32,
}

/// Machine code for every function of a module, in one position-
/// independent blob (only relative branches and calls).
pub struct CompiledModule {
    pub code: Vec<u8>,
    pub funcs: Vec<CompiledFunc>,
}

impl CompiledModule {
    pub fn func_offset(&self, name: &str) -> Option<u32> {
        self.funcs.iter().find(|f| f.name == name).map(|f| f.offset)
    }
}

/// Lowers, allocates with `regarena::run` and emits every function of
/// `module`.
pub fn compile_module(
    backend: &dyn Backend,
    module: &Module,
) -> Result<CompiledModule, CompileError> {
    let options = RegallocOptions {
        validate_ssa: true,
        ..RegallocOptions::default()
    };
    compile_module_with(backend, module, |vcode, env| {
        regarena::run(vcode, env, &options)
    })
}

/// [`compile_module`] with the allocator supplied by the caller (any
/// implementation of regalloc2's contract), so tools can run the same
/// programs through two allocators and compare.
pub fn compile_module_with(
    backend: &dyn Backend,
    module: &Module,
    mut allocate: impl FnMut(&VCode<MInst>, &MachineEnv) -> Result<Output, RegAllocError>,
) -> Result<CompiledModule, CompileError> {
    crate::lower::check_module(module).map_err(|(name, e)| CompileError::Lower(name, e))?;
    let mut lowered = Vec::new();
    for func in &module.funcs {
        let vcode =
            lower_function(backend, func).map_err(|e| CompileError::Lower(func.name.clone(), e))?;
        let output = allocate(&vcode, backend.machine_env())
            .map_err(|e| CompileError::RegAlloc(func.name.clone(), e))?;
        lowered.push((func.name.clone(), vcode, output));
    }
    let mut buf = MachBuffer::new();
    let labels: Vec<_> = module.funcs.iter().map(|_| buf.get_label()).collect();
    let mut funcs = Vec::new();
    for (i, (name, vcode, output)) in lowered.into_iter().enumerate() {
        let offset = buf.cur_offset();
        buf.bind_label(labels[i]);
        backend
            .emit_function(&vcode, &output, &labels, &mut buf)
            .map_err(|e| CompileError::Emit(name.clone(), e))?;
        funcs.push(CompiledFunc {
            name,
            vcode,
            output,
            offset,
        });
    }
    let code = buf.finish().map_err(CompileError::Buffer)?;
    Ok(CompiledModule { code, funcs })
}

/// The registers of `candidates` that the allocation writes anywhere (an
/// operand or a move destination): the callee-saved registers the
/// prologue must save. Sorted by register index, so frames are
/// deterministic.
pub fn used_regs_among(out: &Output, candidates: PRegSet) -> Vec<PReg> {
    let mut used = PRegSet::empty();
    let mut note = |a: Allocation| {
        if let Some(r) = a.as_reg() {
            if candidates.contains(r) {
                used.add(r);
            }
        }
    };
    out.allocs.iter().copied().for_each(&mut note);
    for (_, Edit::Move { to, .. }) in &out.edits {
        note(*to);
    }
    used.into_iter().collect()
}

/// The register an operand was given, or an error naming the operand.
pub fn alloc_reg(allocs: &[Allocation], idx: usize) -> Result<PReg, EmitError> {
    allocs.get(idx).and_then(|a| a.as_reg()).ok_or_else(|| {
        EmitError::BadAllocation(format!(
            "operand {idx} is not in a register: {:?}",
            allocs.get(idx)
        ))
    })
}

/// For each block, where a branch to it may go instead: a block holding
/// nothing but a `Jump` (no edits either) is skipped, following chains.
/// Branches to edge blocks without moves then cost one hop instead of two.
pub fn jump_threads(code: &VCode<MInst>, out: &Output) -> Vec<regarena::Block> {
    use regarena::{Block, Function, InstOrEdit};
    let n = code.num_blocks();
    let direct: Vec<Option<Block>> = (0..n)
        .map(|b| {
            let mut items = out.block_insts_and_edits(code, Block::new(b));
            match (items.next(), items.next()) {
                (Some(InstOrEdit::Inst(i)), None) => match code.inst(i) {
                    MInst::Jump { target } => Some(*target),
                    _ => None,
                },
                _ => None,
            }
        })
        .collect();
    (0..n)
        .map(|b| {
            let mut at = Block::new(b);
            // At most n hops: a cycle of empty jumps stays where it is.
            for _ in 0..n {
                match direct[at.index()] {
                    Some(next) if next != at => at = next,
                    _ => break,
                }
            }
            at
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x64::emit::X64;
    use regarena::Function;

    #[test]
    fn jump_threading_skips_move_free_edge_blocks() {
        let src = "fn f(a, b) {\nentry:\n    br_if lt a, b, yes(), no()\nyes():\n    ret a\nno():\n    ret b\n}\n";
        let module = crate::ir::parse(src).unwrap();
        let compiled = compile_module(&X64::default(), &module).unwrap();
        let f = &compiled.funcs[0];
        let thread = jump_threads(&f.vcode, &f.output);
        for b in 0..f.vcode.num_blocks() {
            let block = regarena::Block::new(b);
            let target = thread[b];
            // A block is skipped only if it is a lone jump with no moves.
            if target != block {
                assert_eq!(f.vcode.block_insns(block).len(), 1);
                assert_eq!(out_items(f, block), 1);
            }
            assert!(
                thread[target.index()] == target,
                "threads end at a fixed point"
            );
        }
    }

    fn out_items(f: &CompiledFunc, block: regarena::Block) -> usize {
        f.output.block_insts_and_edits(&f.vcode, block).count()
    }
}
