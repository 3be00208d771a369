//! The inputs the `corpus_file` fuzz target found (2026-12-05), kept in
//! `fuzz/known-crashes/corpus_file/`: each is now refused by validation or
//! allocates to an output both checkers accept. Where validation refuses a
//! function, the same function without the refused feature allocates to a
//! checked output, so the refusal is the only thing left of the crash.

use std::path::PathBuf;

use regalloc2 as ra2;
use regarena::checker::Checker;
use regarena::owned::InstKind;
use regarena::{FunctionData, MachineEnv, PRegSet, RegAllocError, RegallocOptions};
use regarena_tools::corpus;
use regarena_tools::upstream as up;

fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/known-crashes/corpus_file")
        .join(name)
}

fn load(name: &str) -> (FunctionData, MachineEnv) {
    let cf = corpus::load_file(&path(name), "known-crashes").expect("the file decodes");
    (cf.func, without_class_code_3(cf.env))
}

/// The environment without registers of class code 3 (indices 192..256,
/// no class's registers). The fuzzer's environments name some; since
/// 2026-12-06 validation refuses them (`TooManyLiveRegs`, before any
/// other check), so the tests clear them to keep reaching the shapes they
/// were written for (an operand cannot name one: a fixed constraint
/// takes its operand's class).
fn without_class_code_3(mut env: MachineEnv) -> MachineEnv {
    let real = |p: &regarena::PReg| p.index() < 192;
    for set in env
        .preferred_regs_by_class
        .iter_mut()
        .chain(env.non_preferred_regs_by_class.iter_mut())
    {
        *set = set.into_iter().filter(real).collect();
    }
    for scratch in &mut env.scratch_by_class {
        *scratch = scratch.filter(real);
    }
    env.fixed_stack_slots.retain(real);
    env
}

/// Loads the file with every operand's bits past the 43-bit encoding
/// cleared (the loader refuses such operands).
fn load_with_operands_masked(name: &str) -> (FunctionData, MachineEnv) {
    let bytes = std::fs::read(path(name)).expect("the file is there");
    let mut raw: corpus::RawFunction = bincode::deserialize(&bytes).expect("decodes");
    for inst in &mut raw.insts {
        for op in &mut inst.operands {
            *op = ra2::Operand::from_bits(op.bits() & ((1 << 43) - 1));
        }
    }
    let bytes = bincode::serialize(&raw).expect("encodes");
    let cf = corpus::decode(&path(name), "known-crashes", &bytes).expect("decodes");
    (cf.func, without_class_code_3(cf.env))
}

/// Allocates with regarena's Ion; an `Ok` output must pass regarena's
/// checker and upstream's.
fn allocate(func: &FunctionData, env: &MachineEnv) -> Result<regarena::Output, RegAllocError> {
    allocate_with(func, env, regarena::Algorithm::Ion)
}

/// Allocates with `algorithm`; an `Ok` output must pass regarena's
/// checker and upstream's.
fn allocate_with(
    func: &FunctionData,
    env: &MachineEnv,
    algorithm: regarena::Algorithm,
) -> Result<regarena::Output, RegAllocError> {
    let options = RegallocOptions {
        algorithm,
        ..Default::default()
    };
    let out = regarena::run(func, env, &options)?;
    let mut ours = Checker::new(func, env);
    ours.prepare(&out);
    if let Err(e) = ours.run() {
        panic!("{algorithm:?}: regarena's checker rejects the output: {e}");
    }
    let upf = up::UpstreamFunction::new(func);
    let up_env = up::env_up(env);
    let up_out = up::output_up(&out);
    let mut theirs = ra2::checker::Checker::new(&upf, &up_env);
    theirs.prepare(&up_out);
    if let Err(e) = theirs.run() {
        panic!("{algorithm:?}: upstream's checker rejects the output: {e:?}");
    }
    Ok(out)
}

/// The function with every branch's clobbers removed.
fn without_branch_clobbers(func: &FunctionData) -> FunctionData {
    let mut f = func.clone();
    for inst in &mut f.insts {
        if inst.kind == InstKind::Branch {
            inst.clobbers = PRegSet::empty();
        }
    }
    f
}

/// A branch with clobbers into a block with more than one predecessor:
/// the edge moves go before the branch, which then destroys what they
/// wrote (regalloc2 0.15.2 returns such an allocation). Refused.
#[test]
fn branch_clobbers_after_edge_moves_are_refused() {
    for name in [
        // The clobbered register holds a block argument.
        "crash-3ca2c4838f83125efc9e3bc728d926f89f4170b4",
        // The clobbered registers hold a vreg that the successor uses
        // fixed to two registers (it looked like a multi-fixed-register
        // bug; the edge moves before `i19` are what the branch clobbers).
        "crash-861f4f2e292be5d6c20042af83b66885ea946e96",
    ] {
        let (func, env) = load(name);
        match allocate(&func, &env) {
            Err(RegAllocError::DisallowedBranchArg(inst)) => {
                assert_eq!(func.insts[inst.index()].kind, InstKind::Branch, "{name}");
                assert_ne!(
                    func.insts[inst.index()].clobbers,
                    PRegSet::empty(),
                    "{name}"
                );
            }
            other => panic!("{name}: expected DisallowedBranchArg, got {other:?}"),
        }
        let stripped = without_branch_clobbers(&func);
        if let Err(e) = allocate(&stripped, &env) {
            panic!("{name} without branch clobbers: {e:?}");
        }
    }
}

/// Two defs of one vreg in one instruction (`allow_multiple_vreg_defs`):
/// regalloc2 documents them as one def with one allocation, which is what
/// both allocators give; regarena's checker used to call the shared
/// register a conflict. Accepted now by both checkers. (The file also has
/// an operand with stray bits past the encoding, which the loader now
/// refuses; the allocation is checked with those bits cleared.)
#[test]
fn two_defs_of_one_vreg_in_one_instruction_share_a_location() {
    let name = "crash-61f14c9b008b04831aa3540fb1602fcc1f6babda";
    let refused = corpus::load_file(&path(name), "known-crashes").unwrap_err();
    assert!(refused.to_string().contains("43-bit"), "{refused}");
    let (func, env) = load_with_operands_masked(name);
    assert!(func.allow_multiple_vreg_defs);
    let out = allocate(&func, &env).expect("allocates");
    let mut shared = 0;
    for (i, inst) in func.insts.iter().enumerate() {
        let allocs = out.inst_allocs(regarena::Inst::new(i));
        for (a, op) in inst.operands.iter().enumerate() {
            for (b, other) in inst.operands.iter().enumerate().skip(a + 1) {
                if op.kind() == regarena::OperandKind::Def
                    && other.kind() == regarena::OperandKind::Def
                    && op.vreg() == other.vreg()
                {
                    assert_eq!(allocs[a], allocs[b], "i{i}");
                    shared += 1;
                }
            }
        }
    }
    assert!(
        shared > 0,
        "the function has two defs of one vreg in one instruction"
    );
}

/// A `Reuse` def of a late use (2026-12-05), an early `Reuse` def and a
/// `Reuse` of a `Limit` use (found 2026-12-06 once the oracle excluded
/// nothing; both allocators put the def, and so the input, outside the
/// limit): refused by validation.
#[test]
fn reuse_defs_that_overlap_their_input_are_refused() {
    for name in [
        "crash-4a0184dd4516715acae6b4f0d5febe98ec98c364",
        "crash-fe3867255857d0d07234f5c1d2648abb69b13c9f",
        "crash-b4e8ed0e5f41514060e0145e05e0162c6f99dd1f",
    ] {
        let (func, env) = load(name);
        match allocate(&func, &env) {
            Err(RegAllocError::SSA(..)) => {}
            other => panic!("{name}: expected SSA, got {other:?}"),
        }
    }
}

/// What the branch-clobber refusal keeps: clobbers on a branch whose edge
/// moves go after it (every successor has one predecessor, as for a
/// call-like terminator). Generated functions with every such branch
/// given clobbers allocate to outputs both checkers accept; a branch into
/// a join given clobbers is refused.
#[test]
fn branch_clobbers_after_which_edge_moves_run_are_allocated() {
    let opts = regarena::gen::GenOptions::default();
    let (mut clobbered, mut refused) = (0, 0);
    for seed in 0..300u64 {
        let (mut func, env) = regarena::gen::generate_from_seed(seed, &opts);
        let preds: Vec<usize> = func.blocks.iter().map(|b| b.preds.len()).collect();
        let mut into_join = false;
        for (b, block) in func.blocks.clone().iter().enumerate() {
            if block.succs.is_empty() {
                continue;
            }
            let last = block.insts.last().index();
            let joins = block.succs.iter().any(|s| preds[s.index()] > 1);
            if joins && !(seed + b as u64).is_multiple_of(7) {
                continue;
            }
            into_join |= joins;
            let class = regarena::RegClass::Int;
            let regs: Vec<regarena::PReg> = env.preferred_regs_by_class[class as usize]
                .into_iter()
                .chain(env.non_preferred_regs_by_class[class as usize])
                .collect();
            for (k, &r) in regs.iter().enumerate() {
                if (k as u64 + seed).is_multiple_of(3) {
                    func.insts[last].clobbers.add(r);
                }
            }
            clobbered += 1;
        }
        match allocate(&func, &env) {
            Ok(_) => assert!(
                !into_join,
                "seed {seed}: a clobbering branch into a join allocated"
            ),
            Err(RegAllocError::DisallowedBranchArg(_)) if into_join => refused += 1,
            Err(e) => panic!("seed {seed}: {e:?}"),
        }
    }
    assert!(
        clobbered > 300 && refused > 0,
        "{clobbered} branches clobbered, {refused} refused"
    );
}

/// A 4 KB file naming a vreg near 2^30 (found 2026-12-06: the fuzzer
/// stopped at 4.5 GB; the per-vreg tables are indexed by vreg): now
/// `TooManyLiveRegs` from validation, past 2^18 + 64 per vreg mention.
#[test]
fn a_huge_vreg_index_in_a_small_file_is_refused() {
    let (func, env) = load("oom-d8d96de849518901c66762ac14e7bf54dea821f0");
    assert!(matches!(
        allocate(&func, &env),
        Err(RegAllocError::TooManyLiveRegs)
    ));
}

/// A vreg fixed to the environment's scratch register (found 2026-12-06,
/// 17 min into the fourth run): both allocators keep the vreg's whole live
/// range in the scratch register, which the allocator may use between any
/// two instructions; regarena's checker rejects that. Refused.
#[test]
fn a_vreg_fixed_to_the_scratch_register_is_refused() {
    let (func, env) = load("crash-640488258190dda6e097fd1ec67b6a3a7568f7d4");
    let scratch = env.scratch_by_class[0].expect("an Int scratch register");
    match allocate(&func, &env) {
        Err(RegAllocError::SSA(v, inst)) => {
            let fixed = func.insts[inst.index()].operands.iter().any(|op| {
                op.vreg() == v && op.constraint() == regarena::OperandConstraint::FixedReg(scratch)
            });
            assert!(fixed, "{v:?} at {inst:?}");
        }
        other => panic!("expected SSA, got {other:?}"),
    }
}

/// Two vregs used fixed to one register in one instruction (found
/// 2026-12-06, 24 min into the fifth run; this is the "one vreg fixed to
/// two registers" crash's real shape: v192 is fixed to p7 and p6 and v235
/// to p7 and p1). No allocation can meet it; both allocators return one
/// that reads the wrong value. Refused.
#[test]
fn two_vregs_fixed_to_one_register_at_once_are_refused() {
    let (func, env) = load("crash-a17a00eb5cb54759d011b911845646207ab89427");
    match allocate(&func, &env) {
        Err(RegAllocError::SSA(v, inst)) => assert_eq!((v.vreg(), inst.index()), (235, 27)),
        other => panic!("expected SSA, got {other:?}"),
    }
}

/// One vreg read Late in two fixed registers (2026-12-06): the copy into
/// the second register was placed at the use's own point, after the
/// instruction (as regalloc2 0.15.2 places it; both checkers rejected the
/// output). It now goes before the instruction; both checkers accept.
#[test]
fn a_late_use_in_two_fixed_registers_is_copied_before_the_instruction() {
    let (func, env) = load("crash-25047ae8a774d9e7aeae9f07bccfbb2dbec1fa68");
    let has_shape = func.insts.iter().any(|inst| {
        inst.operands.iter().enumerate().any(|(a, op)| {
            op.kind() == regarena::OperandKind::Use
                && op.pos() == regarena::OperandPos::Late
                && inst.operands.iter().skip(a + 1).any(|other| {
                    other.vreg() == op.vreg()
                        && matches!(other.constraint(), regarena::OperandConstraint::FixedReg(_))
                        && other.constraint() != op.constraint()
                })
        })
    });
    assert!(
        has_shape,
        "the file has a vreg used Late in two fixed registers"
    );
    allocate(&func, &env).expect("allocates to an output both checkers accept");
}

/// One block: `i0` defines `v0` with `defs` (`allow_multiple_vreg_defs`),
/// `i1` reads it in any register and returns.
fn one_block_defining_v0_with(defs: Vec<regarena::Operand>) -> (FunctionData, MachineEnv) {
    use regarena::owned::{BlockData, InstData};
    use regarena::{Block, Inst, InstRange, Operand, PReg, RegClass, VReg};
    let r = |i| PReg::new(i, RegClass::Int);
    let func = FunctionData {
        entry: Block::new(0),
        insts: vec![
            InstData {
                kind: InstKind::Op,
                operands: defs,
                clobbers: PRegSet::empty(),
            },
            InstData {
                kind: InstKind::Ret,
                operands: vec![Operand::reg_use(VReg::new(0, RegClass::Int))],
                clobbers: PRegSet::empty(),
            },
        ],
        blocks: vec![BlockData {
            insts: InstRange::new(Inst::new(0), Inst::new(2)),
            succs: vec![],
            preds: vec![],
            params: vec![],
            branch_args: vec![],
        }],
        num_vregs: 1,
        debug_value_labels: vec![],
        spillslot_sizes: [1, 1, 1],
        multi_spillslot_named_by_last_slot: false,
        allow_multiple_vreg_defs: true,
    };
    let env = MachineEnv {
        preferred_regs_by_class: [(0..4).map(r).collect(), PRegSet::empty(), PRegSet::empty()],
        non_preferred_regs_by_class: [PRegSet::empty(); 3],
        scratch_by_class: [None; 3],
        fixed_stack_slots: vec![],
    };
    (func, env)
}

/// Two defs of one vreg in one instruction that differ (found by
/// `malformed_function` at a4f82d4, 2026-12-06, file
/// `fuzz/known-crashes/malformed_function/crash-42ea0b43...`: `v0` defined
/// Late in `p7` and Early in the non-allocatable `p48`). regalloc2
/// documents such defs as one def with one allocation, which no allocation
/// can be when they differ; the output both allocators gave read `v0` from
/// a register the checker had given to the other def. Refused by
/// validation, with either algorithm; identical repeated defs still
/// allocate, to an output both checkers accept.
#[test]
fn differing_defs_of_one_vreg_in_one_instruction_are_refused() {
    use regarena::{Algorithm, Inst, Operand, OperandPos, PReg, RegClass, VReg};
    let v0 = VReg::new(0, RegClass::Int);
    let r = |i| PReg::new(i, RegClass::Int);
    let differing = [
        // The crash's shape: late in one fixed register, early in another
        // (outside the environment).
        vec![
            Operand::reg_fixed_def(v0, r(1)),
            Operand::new(
                v0,
                regarena::OperandConstraint::FixedReg(r(48)),
                regarena::OperandKind::Def,
                OperandPos::Early,
            ),
        ],
        // Two fixed registers at one position.
        vec![
            Operand::reg_fixed_def(v0, r(1)),
            Operand::reg_fixed_def(v0, r(2)),
        ],
        // One fixed, one any register.
        vec![Operand::reg_def(v0), Operand::reg_fixed_def(v0, r(2))],
        // Same constraint, early and late.
        vec![
            Operand::reg_def(v0),
            Operand::new(
                v0,
                regarena::OperandConstraint::Reg,
                regarena::OperandKind::Def,
                OperandPos::Early,
            ),
        ],
    ];
    for algorithm in [Algorithm::Ion, Algorithm::Fastalloc] {
        let options = RegallocOptions {
            algorithm,
            ..Default::default()
        };
        for defs in &differing {
            let (func, env) = one_block_defining_v0_with(defs.clone());
            match regarena::run(&func, &env, &options) {
                Err(RegAllocError::SSA(vreg, inst)) => {
                    assert_eq!((vreg, inst), (v0, Inst::new(0)), "{defs:?}")
                }
                other => panic!("{algorithm:?} {defs:?}: expected SSA(v0, i0), got {other:?}"),
            }
        }
        for defs in [
            vec![Operand::reg_def(v0), Operand::reg_def(v0)],
            vec![
                Operand::reg_fixed_def(v0, r(1)),
                Operand::reg_fixed_def(v0, r(1)),
            ],
        ] {
            let (func, env) = one_block_defining_v0_with(defs.clone());
            let out = allocate_with(&func, &env, algorithm)
                .unwrap_or_else(|e| panic!("{algorithm:?} {defs:?}: {e:?}"));
            let allocs = out.inst_allocs(Inst::new(0));
            assert_eq!(
                allocs[0], allocs[1],
                "{algorithm:?} {defs:?}: one allocation"
            );
        }
    }
}

/// Found by `corpus_file` once it ran the single-pass allocator
/// (2026-12-06); both allocators' outputs pass both checkers now:
/// * `53024f70`: a use fixed to a non-allocatable register is fed by a
///   copy from a free register that holds the vreg up to there; a later
///   limited use of the same instruction evicted the vreg from that
///   register (the home register is now chosen after the other uses and
///   pinned);
/// * `4918de8a`: a def took the register where the later code expected a
///   vreg defined by the same instruction; the eviction's reload of that
///   vreg from its slot and the store of its new value into the slot were
///   one parallel set, so the reload read the old slot (it now copies
///   from the def's register);
/// * `722dc190`: a use fixed to one register was fed by a copy from the
///   register where the later code expects its vreg; a later use of the
///   same instruction evicted the vreg from that register (a copy that
///   read it now reads the vreg's slot).
#[test]
fn single_pass_crashes_found_by_corpus_file() {
    for name in [
        "crash-53024f7068b0f2d4c238946ceab409772a7aaa0e",
        "crash-4918de8adac627541a4fead28e2d04d16245a31c",
        "crash-722dc190927c98ad4f1aa3d4e7465025d84998ca",
    ] {
        let (func, env) = load(name);
        if let Err(e) = allocate(&func, &env) {
            panic!("{name}: Ion: {e:?}");
        }
        if let Err(e) = allocate_with(&func, &env, regarena::Algorithm::Fastalloc) {
            panic!("{name}: single pass: {e:?}");
        }
    }
}
