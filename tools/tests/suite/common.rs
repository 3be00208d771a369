//! Pieces several suite tests share: a deterministic random stream,
//! upstream's fuzzing-generator options, and random mutants of an
//! allocation (to show checkers reject wrong outputs).

use regalloc2 as ra2;
use regalloc2::fuzzing::func::Options;

/// splitmix64: deterministic bytes for `Unstructured` and random choices.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// Upstream's generator with the options of its `ion_checker` fuzz target.
pub fn upstream_generator_options() -> Options {
    Options {
        reused_inputs: true,
        fixed_regs: true,
        fixed_nonallocatable: true,
        clobbers: true,
        reftypes: false,
        callsite_ish_constraints: true,
        num_blocks: 1..=16,
        ..Options::DEFAULT
    }
}

/// A random allocation of `class`: one of the env's registers or a spill slot.
pub fn random_alloc(
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
pub fn mutate<F: ra2::Function>(
    rng: &mut Rng,
    func: &F,
    env: &ra2::MachineEnv,
    out: &ra2::Output,
    kind: usize,
) -> Option<ra2::Output> {
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
