//! Structured faults over valid functions: `regarena::gen` builds a valid
//! function and machine, then a list of faults chosen by the fuzzer breaks
//! it (absurd counts and spill-slot sizes, operand bits, block ranges,
//! successors, params and arguments, the entry, the machine env). regarena
//! (Ion and the single-pass allocator, each with a fresh and a warm `Ctx`)
//! must not panic: it returns an error, or an output that regarena's
//! checker accepts.

#![no_main]

use std::cell::RefCell;

use libfuzzer_sys::arbitrary::{self, Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use regarena::gen::GeneratedFunction;
use regarena::{Block, Inst, InstRange, Operand, PReg, VReg};

#[derive(Arbitrary, Debug)]
enum Fault {
    NumVregs(u64),
    NumVregsShift(u8),
    SpillSlotSize(u8, u64),
    SpillSlotSizeShift(u8, u8),
    OperandBits(u16, u16, u64),
    OperandBitsXor(u16, u16, u64),
    BlockRange(u16, u32, u32),
    Succ(u16, u16, u32),
    Param(u16, u16, u32),
    Arg(u16, u16, u16, u32),
    Entry(u32),
    Kind(u16, u8),
    Clobber(u16, u8),
    Scratch(u8, u8),
    FixedStack(u8),
    Preferred(u8, u8),
    NonPreferred(u8, u8),
    Label(u32, u32, u32, u32),
    MultipleDefs(bool),
}

#[derive(Debug)]
struct Input {
    generated: GeneratedFunction,
    faults: Vec<Fault>,
}

impl<'a> Arbitrary<'a> for Input {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let faults = u
            .arbitrary_iter::<Fault>()?
            .take(4)
            .collect::<Result<_, _>>()?;
        Ok(Input {
            generated: GeneratedFunction::arbitrary(u)?,
            faults,
        })
    }
}

fn pick<T>(items: &mut [T], i: u16) -> Option<&mut T> {
    let n = items.len();
    (n > 0).then(|| &mut items[i as usize % n])
}

fn preg(bits: u8) -> PReg {
    PReg::from_index(bits as usize % PReg::NUM_INDEX)
}

fuzz_target!(|input: Input| {
    thread_local! {
        static WARM: RefCell<regarena::Ctx> = RefCell::new(regarena::Ctx::default());
    }
    let GeneratedFunction { mut func, mut env } = input.generated;
    for fault in &input.faults {
        match *fault {
            Fault::NumVregs(n) => func.num_vregs = n as usize,
            Fault::NumVregsShift(s) => {
                func.num_vregs = 1usize.checked_shl(s as u32 % 64).unwrap_or(usize::MAX)
            }
            Fault::SpillSlotSize(c, n) => func.spillslot_sizes[c as usize % 3] = n as usize,
            Fault::SpillSlotSizeShift(c, s) => {
                func.spillslot_sizes[c as usize % 3] = 1usize << (s as u32 % 64)
            }
            Fault::OperandBits(i, o, bits) => {
                if let Some(inst) = pick(&mut func.insts, i) {
                    if let Some(op) = pick(&mut inst.operands, o) {
                        *op = Operand::from_bits(bits);
                    }
                }
            }
            Fault::OperandBitsXor(i, o, bits) => {
                if let Some(inst) = pick(&mut func.insts, i) {
                    if let Some(op) = pick(&mut inst.operands, o) {
                        *op = Operand::from_bits(op.bits() ^ bits);
                    }
                }
            }
            Fault::BlockRange(b, from, to) => {
                if let Some(block) = pick(&mut func.blocks, b) {
                    let n = func.insts.len() as u32 + 2;
                    let (from, to) = (from % n, to % n);
                    block.insts = InstRange::new(
                        Inst::new(from.min(to) as usize),
                        Inst::new(from.max(to) as usize),
                    );
                }
            }
            Fault::Succ(b, s, to) => {
                let n = func.blocks.len() as u32 + 2;
                if let Some(block) = pick(&mut func.blocks, b) {
                    if let Some(succ) = pick(&mut block.succs, s) {
                        *succ = Block::new((to % n) as usize);
                    }
                }
            }
            Fault::Param(b, p, bits) => {
                if let Some(block) = pick(&mut func.blocks, b) {
                    if let Some(param) = pick(&mut block.params, p) {
                        *param = VReg::from_bits(bits);
                    }
                }
            }
            Fault::Arg(b, s, a, bits) => {
                if let Some(block) = pick(&mut func.blocks, b) {
                    if let Some(args) = pick(&mut block.branch_args, s) {
                        match pick(args, a) {
                            Some(arg) => *arg = VReg::from_bits(bits),
                            None => args.push(VReg::from_bits(bits)),
                        }
                    }
                }
            }
            Fault::Entry(e) => {
                func.entry = Block::new((e % (func.blocks.len() as u32 + 2)) as usize)
            }
            Fault::Kind(i, k) => {
                if let Some(inst) = pick(&mut func.insts, i) {
                    inst.kind = match k % 3 {
                        0 => regarena::owned::InstKind::Op,
                        1 => regarena::owned::InstKind::Branch,
                        _ => regarena::owned::InstKind::Ret,
                    };
                }
            }
            Fault::Clobber(i, r) => {
                if let Some(inst) = pick(&mut func.insts, i) {
                    inst.clobbers.add(preg(r));
                }
            }
            Fault::Scratch(c, r) => env.scratch_by_class[c as usize % 3] = Some(preg(r)),
            Fault::FixedStack(r) => env.fixed_stack_slots.push(preg(r)),
            Fault::Preferred(c, r) => env.preferred_regs_by_class[c as usize % 3].add(preg(r)),
            Fault::NonPreferred(c, r) => {
                env.non_preferred_regs_by_class[c as usize % 3].add(preg(r))
            }
            Fault::Label(v, from, to, l) => func.debug_value_labels.push((
                VReg::from_bits(v),
                Inst::new(from as usize % (func.insts.len() + 2)),
                Inst::new(to as usize % (func.insts.len() + 2)),
                l,
            )),
            Fault::MultipleDefs(b) => func.allow_multiple_vreg_defs = b,
        }
    }
    func.recompute_preds();
    let modes = [false, true].into_iter().flat_map(|validate_ssa| {
        [regarena::Algorithm::Ion, regarena::Algorithm::Fastalloc]
            .map(|algorithm| (validate_ssa, algorithm))
    });
    for (validate_ssa, algorithm) in modes {
        let options = regarena::RegallocOptions {
            validate_ssa,
            algorithm,
            ..Default::default()
        };
        let fresh = regarena::run(&func, &env, &options);
        let warm = WARM.with(|ctx| {
            regarena::run_with_ctx(&func, &env, &options, &mut ctx.borrow_mut()).map(|o| o.clone())
        });
        match (&fresh, &warm) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a.allocs, b.allocs, "fresh and warm Ctx differ");
                assert_eq!(a.edits, b.edits, "fresh and warm Ctx differ");
                let mut checker = regarena::checker::Checker::new(&func, &env);
                checker.prepare(a);
                if let Err(e) = checker.run() {
                    panic!("Ok output the checker rejects: {e}");
                }
            }
            (Err(a), Err(b)) => assert_eq!(a, b, "fresh and warm Ctx differ"),
            _ => panic!("fresh {fresh:?} vs warm {warm:?}"),
        }
    }
});
