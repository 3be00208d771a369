//! Allocating many functions on all cores (feature `parallel`).
//!
//! Reads: a slice of caller items, each naming one function and its
//! machine. Writes: one result per item, in input order. Each rayon worker
//! owns one [`Ctx`] for the whole call (`map_init`), so its arena and output
//! buffers are reused from function to function, exactly as a sequential
//! caller reusing one `Ctx` would.
//!
//! Allocation of a function depends only on the function, the machine and
//! the options, never on what a `Ctx` held before, so the results equal
//! those of sequential [`crate::run`] calls, whatever the number of threads
//! or the order in which workers pick items.
//!
//! The number of threads is rayon's: the global pool by default; run the
//! call inside `rayon::ThreadPoolBuilder::new().num_threads(n).build()?
//! .install(..)` to choose it (what `regarena check --jobs N` does).

use rayon::prelude::*;

use crate::{run_with_ctx, Ctx, Function, MachineEnv, Output, RegAllocError, RegallocOptions};

/// Runs `work` on every item of `items` across rayon's workers, giving it a
/// [`Ctx`] that belongs to the calling worker; returns the results in input
/// order.
///
/// This is the general form of [`allocate_all`]: use it to consume each
/// [`Output`] on the worker (check it, measure it, reduce it to a few
/// numbers) instead of keeping every output alive until the end.
pub fn map_with_ctx<T, R, W>(items: &[T], work: W) -> Vec<R>
where
    T: Sync,
    R: Send,
    W: Fn(&mut Ctx, &T) -> R + Sync,
{
    items
        .par_iter()
        .map_init(Ctx::default, |ctx, item| work(ctx, item))
        .collect()
}

/// Allocates registers for every item of `items` on all cores, with one
/// [`Ctx`] per worker. `select` says where an item keeps its function and
/// its machine, so any caller type works without copying:
///
/// ```text
/// let results = regarena::allocate_all(&funcs, &options, |f| (&f.func, &f.env));
/// ```
///
/// Result `i` belongs to `items[i]` and equals
/// `regarena::run(select(&items[i]).0, select(&items[i]).1, options)`.
pub fn allocate_all<T, F, S>(
    items: &[T],
    options: &RegallocOptions,
    select: S,
) -> Vec<Result<Output, RegAllocError>>
where
    T: Sync,
    F: Function,
    S: Fn(&T) -> (&F, &MachineEnv) + Sync,
{
    map_with_ctx(items, |ctx, item| {
        let (func, env) = select(item);
        run_with_ctx(func, env, options, ctx)?;
        Ok(core::mem::take(&mut ctx.output))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::owned::{BlockData, InstData, InstKind};
    use crate::{Block, FunctionData, Inst, InstRange, Operand, PReg, PRegSet, RegClass, VReg};

    fn machine() -> MachineEnv {
        let int_regs: PRegSet = (0..4).map(|i| PReg::new(i, RegClass::Int)).collect();
        MachineEnv {
            preferred_regs_by_class: [int_regs, PRegSet::empty(), PRegSet::empty()],
            non_preferred_regs_by_class: [PRegSet::empty(); 3],
            scratch_by_class: [None; 3],
            fixed_stack_slots: Vec::new(),
        }
    }

    /// One block: `width` defs, then one instruction using them all, then
    /// a return. With `width` above the 4 registers of [`machine`] the
    /// last instruction cannot be allocated, so the set mixes successes
    /// (once the allocator lands) with errors.
    fn straight_line(width: usize) -> FunctionData {
        let vreg = |i: usize| VReg::new(i, RegClass::Int);
        let mut insts: Vec<InstData> = (0..width)
            .map(|i| InstData {
                kind: InstKind::Op,
                operands: vec![Operand::reg_def(vreg(i))],
                clobbers: PRegSet::empty(),
            })
            .collect();
        insts.push(InstData {
            kind: InstKind::Op,
            operands: (0..width).map(|i| Operand::reg_use(vreg(i))).collect(),
            clobbers: PRegSet::empty(),
        });
        insts.push(InstData {
            kind: InstKind::Ret,
            operands: Vec::new(),
            clobbers: PRegSet::empty(),
        });
        let num_insts = insts.len();
        FunctionData {
            entry: Block::new(0),
            insts,
            blocks: vec![BlockData {
                insts: InstRange::new(Inst::new(0), Inst::new(num_insts)),
                succs: Vec::new(),
                preds: Vec::new(),
                params: Vec::new(),
                branch_args: Vec::new(),
            }],
            num_vregs: width,
            debug_value_labels: Vec::new(),
            spillslot_sizes: [1, 1, 1],
            multi_spillslot_named_by_last_slot: false,
            allow_multiple_vreg_defs: false,
        }
    }

    /// A function whose block has no terminator: validation rejects it.
    fn malformed() -> FunctionData {
        let mut f = straight_line(2);
        f.insts.pop();
        let n = f.insts.len();
        f.blocks[0].insts = InstRange::new(Inst::new(0), Inst::new(n));
        f
    }

    /// Field-by-field equality (`Output` has no `PartialEq`).
    fn same_result(a: &Result<Output, RegAllocError>, b: &Result<Output, RegAllocError>) -> bool {
        match (a, b) {
            (Ok(a), Ok(b)) => {
                a.num_spillslots == b.num_spillslots
                    && a.edits == b.edits
                    && a.allocs == b.allocs
                    && a.inst_alloc_offsets == b.inst_alloc_offsets
                    && a.debug_locations == b.debug_locations
            }
            (Err(a), Err(b)) => a == b,
            _ => false,
        }
    }

    fn assert_matches_sequential(items: &[(FunctionData, MachineEnv)], threads: usize) {
        let options = RegallocOptions {
            validate_ssa: true,
            ..RegallocOptions::default()
        };
        let sequential: Vec<_> = items
            .iter()
            .map(|(f, env)| crate::run(f, env, &options))
            .collect();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("a rayon pool of a few threads");
        let parallel = pool.install(|| allocate_all(items, &options, |(f, env)| (f, env)));
        assert_eq!(parallel.len(), sequential.len());
        for (i, (p, s)) in parallel.iter().zip(&sequential).enumerate() {
            assert!(
                same_result(p, s),
                "item {i}: parallel {p:?} differs from sequential {s:?}"
            );
        }
    }

    #[test]
    fn hand_built_functions_match_sequential_runs_in_order() {
        let env = machine();
        // Distinct errors at distinct positions would expose reordering.
        let items: Vec<(FunctionData, MachineEnv)> = (0..24)
            .map(|i| {
                let f = if i % 5 == 3 {
                    malformed()
                } else {
                    straight_line(1 + i % 7)
                };
                (f, env.clone())
            })
            .collect();
        for threads in [1, 2, 3] {
            assert_matches_sequential(&items, threads);
        }
    }

    #[test]
    fn map_with_ctx_keeps_input_order() {
        let items: Vec<usize> = (0..1000).collect();
        let out = map_with_ctx(&items, |_ctx, &i| i * 2);
        assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
    }

    #[test]
    fn empty_input_gives_empty_output() {
        let items: Vec<(FunctionData, MachineEnv)> = Vec::new();
        let out = allocate_all(&items, &RegallocOptions::default(), |(f, env)| (f, env));
        assert!(out.is_empty());
    }

    #[cfg(feature = "arbitrary")]
    #[test]
    fn generated_functions_match_sequential_runs_in_order() {
        use crate::gen::{generate_from_seed, GenOptions};
        let items: Vec<(FunctionData, MachineEnv)> = (0..16u64)
            .map(|seed| {
                let opts = GenOptions {
                    target_insts: 20 + 15 * seed as usize,
                    ..GenOptions::default()
                };
                generate_from_seed(seed, &opts)
            })
            .collect();
        assert_matches_sequential(&items, 2);
    }
}
