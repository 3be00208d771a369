//! What Cranelift needs of its `regalloc2` beyond the API's names (issue
//! found by building Wasmtime against regarena):
//! - `Ctx` is `Send + Sync + 'static`: Wasmtime keeps the context in a
//!   `Box<dyn Any + Send + Sync>` between compilations.
//! - `Function::spillslot_size` is asked only for classes that get a spill
//!   slot: Cranelift's x64, aarch64 and s390x backends answer
//!   `RegClass::Vector` with `unreachable!()`.

use regarena::checker::Checker;
use regarena::owned::{BlockData, InstData, InstKind};
use regarena::{
    run, run_with_ctx, Algorithm, Block, Ctx, Function, FunctionData, Inst, InstRange, MachineEnv,
    Operand, PReg, PRegSet, RegClass, RegallocOptions, VReg,
};

/// Fails to compile unless `T` may be kept in a `Box<dyn Any + Send + Sync>`.
const fn assert_send_sync_static<T: Send + Sync + 'static>() {}
const _: () = assert_send_sync_static::<Ctx>();

#[test]
fn ctx_fits_wasmtimes_box() {
    let boxed: Box<dyn std::any::Any + Send + Sync> = Box::new(Ctx::default());
    assert!(boxed.downcast_ref::<Ctx>().is_some());
}

/// A function that answers `spillslot_size(Vector)` the way Cranelift's
/// x64 backend does.
struct NoVectorSlots(FunctionData);

impl Function for NoVectorSlots {
    fn num_insts(&self) -> usize {
        self.0.num_insts()
    }
    fn num_blocks(&self) -> usize {
        self.0.num_blocks()
    }
    fn entry_block(&self) -> Block {
        self.0.entry_block()
    }
    fn block_insns(&self, block: Block) -> InstRange {
        self.0.block_insns(block)
    }
    fn block_succs(&self, block: Block) -> &[Block] {
        self.0.block_succs(block)
    }
    fn block_preds(&self, block: Block) -> &[Block] {
        self.0.block_preds(block)
    }
    fn block_params(&self, block: Block) -> &[VReg] {
        self.0.block_params(block)
    }
    fn is_ret(&self, insn: Inst) -> bool {
        self.0.is_ret(insn)
    }
    fn is_branch(&self, insn: Inst) -> bool {
        self.0.is_branch(insn)
    }
    fn branch_blockparams(&self, block: Block, insn: Inst, succ_idx: usize) -> &[VReg] {
        self.0.branch_blockparams(block, insn, succ_idx)
    }
    fn inst_operands(&self, insn: Inst) -> &[Operand] {
        self.0.inst_operands(insn)
    }
    fn inst_clobbers(&self, insn: Inst) -> PRegSet {
        self.0.inst_clobbers(insn)
    }
    fn num_vregs(&self) -> usize {
        self.0.num_vregs()
    }
    fn spillslot_size(&self, regclass: RegClass) -> usize {
        match regclass {
            RegClass::Int => 1,
            RegClass::Float => 2,
            RegClass::Vector => unreachable!("this backend has no vector spill slots"),
        }
    }
}

/// Two registers per class and `live` values of each of Int and Float
/// defined one by one, all used by one final instruction: most of them
/// must be spilled, so both classes get spill slots.
fn pressure(live: usize) -> FunctionData {
    let mut insts = Vec::new();
    let mut uses = Vec::new();
    for i in 0..2 * live {
        let class = if i % 2 == 0 {
            RegClass::Int
        } else {
            RegClass::Float
        };
        let vreg = VReg::new(i, class);
        insts.push(InstData {
            kind: InstKind::Op,
            operands: vec![Operand::reg_def(vreg)],
            clobbers: PRegSet::empty(),
        });
        uses.push(Operand::any_use(vreg));
    }
    insts.push(InstData {
        kind: InstKind::Op,
        operands: uses,
        clobbers: PRegSet::empty(),
    });
    // A use that needs a register after the all-any use: a reload.
    insts.push(InstData {
        kind: InstKind::Ret,
        operands: vec![
            Operand::reg_use(VReg::new(0, RegClass::Int)),
            Operand::reg_use(VReg::new(1, RegClass::Float)),
        ],
        clobbers: PRegSet::empty(),
    });
    let n = insts.len();
    FunctionData {
        entry: Block::new(0),
        insts,
        blocks: vec![BlockData {
            insts: InstRange::new(Inst::new(0), Inst::new(n)),
            succs: vec![],
            preds: vec![],
            params: vec![],
            branch_args: vec![],
        }],
        num_vregs: 2 * live,
        debug_value_labels: vec![],
        spillslot_sizes: [1, 2, 4],
        multi_spillslot_named_by_last_slot: false,
        allow_multiple_vreg_defs: false,
    }
}

fn two_regs_per_class() -> MachineEnv {
    let set = |class| {
        PRegSet::empty()
            .with(PReg::new(0, class))
            .with(PReg::new(1, class))
    };
    MachineEnv {
        preferred_regs_by_class: [set(RegClass::Int), set(RegClass::Float), PRegSet::empty()],
        non_preferred_regs_by_class: [PRegSet::empty(); 3],
        scratch_by_class: [None; 3],
        fixed_stack_slots: vec![],
    }
}

#[test]
fn spillslot_size_of_a_class_never_spilled_is_not_asked() {
    let func = NoVectorSlots(pressure(12));
    let env = two_regs_per_class();
    for algorithm in [Algorithm::Ion, Algorithm::Fastalloc] {
        let options = RegallocOptions {
            algorithm,
            ..RegallocOptions::default()
        };
        // A fresh context, then the same warm context twice.
        let fresh = run(&func, &env, &options).expect("allocates");
        assert!(
            fresh.num_spillslots >= 2 * 10,
            "{algorithm:?}: the function must spill in both classes, got {} slots",
            fresh.num_spillslots
        );
        let mut checker = Checker::new(&func, &env);
        checker.prepare(&fresh);
        checker.run().expect("the checker accepts the output");
        let mut ctx = Ctx::default();
        for _ in 0..2 {
            let warm = run_with_ctx(&func, &env, &options, &mut ctx).expect("allocates");
            assert_eq!(warm.allocs, fresh.allocs);
            assert_eq!(warm.edits, fresh.edits);
        }
    }
}
