//! Our checker against upstream regalloc2's on random functions.
//!
//! 1. 10,000 functions from upstream's fuzzing generator: upstream Ion's
//!    output passes our checker; then random mutants of that output (an
//!    operand's allocation changed, an edit deleted, an edit retargeted)
//!    are judged by both checkers: ours must reject every mutant upstream
//!    rejects. Where ours rejects and upstream accepts, the reason is
//!    counted and a few are printed.
//! 2. 10,000 functions from our generator (`regarena::gen`), allocated by
//!    upstream Ion: its output passes our checker.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

use arbitrary::Unstructured;
use regalloc2 as ra2;
use regalloc2::fuzzing::func::{machine_env, Func, Options};
use regarena::checker::Checker;
use regarena_tools::upstream as up;

/// splitmix64: deterministic bytes for `Unstructured` and mutation choices.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn ours_accepts(
    func: &regarena::FunctionData,
    env: &regarena::MachineEnv,
    out: &ra2::Output,
) -> Result<(), String> {
    let out = up::output(out);
    let mut checker = Checker::new(func, env);
    checker.prepare(&out);
    checker.run().map_err(|e| {
        let first = &e.errors[0];
        format!("{first:?}")
            .split([' ', '{'])
            .next()
            .unwrap_or("")
            .to_string()
    })
}

/// Upstream's verdict; a panic inside its checker counts as a rejection.
fn upstream_accepts(func: &Func, env: &ra2::MachineEnv, out: &ra2::Output) -> bool {
    catch_unwind(AssertUnwindSafe(|| {
        let mut checker = ra2::checker::Checker::new(func, env);
        checker.prepare(out);
        checker.run().is_ok()
    }))
    .unwrap_or(false)
}

/// A random allocation of `class`: one of the env's registers or a spill slot.
fn random_alloc(
    rng: &mut Rng,
    env: &ra2::MachineEnv,
    class: ra2::RegClass,
    slots: usize,
) -> ra2::Allocation {
    let regs: Vec<ra2::PReg> = env.preferred_regs_by_class[class as usize]
        .into_iter()
        .chain(env.non_preferred_regs_by_class[class as usize])
        .collect();
    if slots > 0 && (regs.is_empty() || rng.below(4) == 0) {
        ra2::Allocation::stack(ra2::SpillSlot::new(rng.below(slots)))
    } else if regs.is_empty() {
        ra2::Allocation::none()
    } else {
        ra2::Allocation::reg(regs[rng.below(regs.len())])
    }
}

/// One random mutant of kind `kind` (0: operand, 1: delete edit, 2:
/// retarget edit), or `None` when the output has nothing to mutate or the
/// change would be a no-op.
fn mutate(
    rng: &mut Rng,
    func: &Func,
    env: &ra2::MachineEnv,
    out: &ra2::Output,
    kind: usize,
) -> Option<ra2::Output> {
    use ra2::Function as _;
    let mut m = out.clone();
    match kind {
        0 => {
            if out.allocs.is_empty() {
                return None;
            }
            let at = rng.below(out.allocs.len());
            let inst = out
                .inst_alloc_offsets
                .partition_point(|&o| o as usize <= at)
                - 1;
            let op = func.inst_operands(ra2::Inst::new(inst))
                [at - out.inst_alloc_offsets[inst] as usize];
            m.allocs[at] = random_alloc(rng, env, op.class(), out.num_spillslots);
        }
        1 => {
            if out.edits.is_empty() {
                return None;
            }
            m.edits.remove(rng.below(out.edits.len()));
        }
        _ => {
            if out.edits.is_empty() {
                return None;
            }
            let k = rng.below(out.edits.len());
            let ra2::Edit::Move { from, to } = out.edits[k].1;
            let class = from
                .as_reg()
                .or(to.as_reg())
                .map_or(ra2::RegClass::Int, |r| r.class());
            let to = random_alloc(rng, env, class, out.num_spillslots);
            m.edits[k].1 = ra2::Edit::Move { from, to };
        }
    }
    (m.allocs != out.allocs || edit_bits(&m) != edit_bits(out)).then_some(m)
}

fn edit_bits(out: &ra2::Output) -> Vec<(u32, u32, u32)> {
    out.edits
        .iter()
        .map(|(p, ra2::Edit::Move { from, to })| (p.to_index(), from.bits(), to.bits()))
        .collect()
}

#[test]
fn upstream_generator_outputs_pass_and_verdicts_agree() {
    let opts = Options {
        reused_inputs: true,
        fixed_regs: true,
        fixed_nonallocatable: true,
        clobbers: true,
        reftypes: false,
        callsite_ish_constraints: true,
        num_blocks: 1..=16,
        ..Options::DEFAULT
    };
    let up_env = machine_env();
    let env = up::env(&up_env);
    let mut rng = Rng(0x5eed_c0de);
    let (mut funcs, mut mutants, mut both_reject) = (0, 0, 0);
    let mut ours_only: BTreeMap<String, usize> = BTreeMap::new();
    let mut missed = Vec::new();
    let mut attempts = 0;
    while funcs < 10_000 && attempts < 30_000 {
        attempts += 1;
        let bytes = rng.bytes(4096);
        let Ok(func) = Func::arbitrary_with_options(&mut Unstructured::new(&bytes), &opts) else {
            continue;
        };
        let Ok(out) = ra2::run(&func, &up_env, &ra2::RegallocOptions::default()) else {
            continue;
        };
        funcs += 1;
        let ours = up::function(&func);
        if let Err(e) = ours_accepts(&ours, &env, &out) {
            panic!("function {funcs}: upstream's output rejected ({e})");
        }
        for kind in 0..3 {
            let Some(m) = mutate(&mut rng, &func, &up_env, &out, kind) else {
                continue;
            };
            mutants += 1;
            match (
                upstream_accepts(&func, &up_env, &m),
                ours_accepts(&ours, &env, &m),
            ) {
                (false, Err(_)) => both_reject += 1,
                (false, Ok(())) => missed.push(format!("function {funcs}, mutation kind {kind}")),
                (true, Err(why)) => *ours_only.entry(why).or_default() += 1,
                (true, Ok(())) => {}
            }
        }
    }
    eprintln!("upstream generator: {funcs} functions allocated and accepted; {mutants} mutants, {both_reject} rejected by both");
    eprintln!("rejected by ours only (upstream accepts), by our first error:");
    for (why, n) in &ours_only {
        eprintln!("  {why}: {n}");
    }
    assert!(
        funcs > 9_000,
        "only {funcs} functions generated and allocated"
    );
    assert!(both_reject > 0);
    assert!(
        missed.is_empty(),
        "upstream rejects, ours accepts:\n{}",
        missed.join("\n")
    );
}

#[test]
fn our_generator_outputs_pass() {
    let opts = regarena::gen::GenOptions::default();
    let mut funcs = 0;
    for seed in 0..10_000u64 {
        let (func, env) = regarena::gen::generate_from_seed(seed, &opts);
        let upf = up::UpstreamFunction::new(&func);
        let out = match ra2::run(&upf, &up::env_up(&env), &ra2::RegallocOptions::default()) {
            Ok(out) => out,
            Err(e) => panic!("seed {seed}: upstream refuses a generated function: {e:?}"),
        };
        if let Err(e) = ours_accepts(&func, &env, &out) {
            panic!("seed {seed}: upstream's output rejected ({e})");
        }
        funcs += 1;
    }
    eprintln!("our generator: {funcs} functions allocated by upstream and accepted");
}
