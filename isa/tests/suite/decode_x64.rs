//! Every x64 encoder form decoded back by iced-x86 (an independent
//! decoder) and compared field by field: mnemonic, registers, immediates,
//! memory base and displacement, branch targets. Table-driven over every
//! register and a spread of immediates and displacements.

use iced_x86::{Decoder, DecoderOptions, Instruction, Mnemonic, OpKind, Register};
use regarena_isa::machinst::{MachBuffer, MachLabel};
use regarena_isa::x64::encode::*;

/// One decoded operand, normalised.
#[derive(Debug, PartialEq, Eq, Clone)]
enum Op {
    Reg(Register),
    Imm(i64),
    Mem { base: Register, disp: i64 },
    Target(u64),
}

fn normalise(inst: &Instruction) -> (Mnemonic, Vec<Op>) {
    let ops = (0..inst.op_count())
        .map(|i| match inst.op_kind(i) {
            OpKind::Register => Op::Reg(inst.op_register(i)),
            OpKind::Memory => Op::Mem {
                base: inst.memory_base(),
                disp: inst.memory_displacement64() as i64,
            },
            OpKind::NearBranch64 => Op::Target(inst.near_branch_target()),
            OpKind::Immediate8to64 | OpKind::Immediate32to64 | OpKind::Immediate64 => {
                Op::Imm(inst.immediate(i) as i64)
            }
            OpKind::Immediate8 | OpKind::Immediate8to32 | OpKind::Immediate32 => {
                Op::Imm(inst.immediate(i) as u32 as i32 as i64)
            }
            other => panic!("unexpected operand kind {other:?} in {inst}"),
        })
        .collect();
    (inst.mnemonic(), ops)
}

/// Decodes exactly one instruction spanning all of `code` at `at`.
fn decode_at(code: &[u8], at: usize, len: usize) -> (Mnemonic, Vec<Op>) {
    let mut decoder = Decoder::with_ip(64, &code[at..at + len], at as u64, DecoderOptions::NONE);
    let inst = decoder.decode();
    assert!(
        !inst.is_invalid(),
        "{:02x?} does not decode",
        &code[at..at + len]
    );
    assert_eq!(inst.len(), len, "{inst}: length");
    normalise(&inst)
}

fn decode_one(f: impl FnOnce(&mut MachBuffer)) -> (Mnemonic, Vec<Op>) {
    let mut buf = MachBuffer::new();
    f(&mut buf);
    let code = buf.finish().unwrap();
    decode_at(&code, 0, code.len())
}

fn r64(n: u8) -> Register {
    const R: [Register; 16] = [
        Register::RAX,
        Register::RCX,
        Register::RDX,
        Register::RBX,
        Register::RSP,
        Register::RBP,
        Register::RSI,
        Register::RDI,
        Register::R8,
        Register::R9,
        Register::R10,
        Register::R11,
        Register::R12,
        Register::R13,
        Register::R14,
        Register::R15,
    ];
    R[n as usize]
}
fn r32(n: u8) -> Register {
    const R: [Register; 16] = [
        Register::EAX,
        Register::ECX,
        Register::EDX,
        Register::EBX,
        Register::ESP,
        Register::EBP,
        Register::ESI,
        Register::EDI,
        Register::R8D,
        Register::R9D,
        Register::R10D,
        Register::R11D,
        Register::R12D,
        Register::R13D,
        Register::R14D,
        Register::R15D,
    ];
    R[n as usize]
}
fn r8(n: u8) -> Register {
    const R: [Register; 16] = [
        Register::AL,
        Register::CL,
        Register::DL,
        Register::BL,
        Register::SPL,
        Register::BPL,
        Register::SIL,
        Register::DIL,
        Register::R8L,
        Register::R9L,
        Register::R10L,
        Register::R11L,
        Register::R12L,
        Register::R13L,
        Register::R14L,
        Register::R15L,
    ];
    R[n as usize]
}
fn xmm(n: u8) -> Register {
    const R: [Register; 16] = [
        Register::XMM0,
        Register::XMM1,
        Register::XMM2,
        Register::XMM3,
        Register::XMM4,
        Register::XMM5,
        Register::XMM6,
        Register::XMM7,
        Register::XMM8,
        Register::XMM9,
        Register::XMM10,
        Register::XMM11,
        Register::XMM12,
        Register::XMM13,
        Register::XMM14,
        Register::XMM15,
    ];
    R[n as usize]
}
fn reg(size: Size, n: u8) -> Op {
    Op::Reg(if size == Size::S64 { r64(n) } else { r32(n) })
}

const SIZES: [Size; 2] = [Size::S64, Size::S32];
const IMMS: [i32; 9] = [0, 1, -1, 127, -128, 128, -129, 0x1234_5678, i32::MIN];
const DISPS: [i32; 8] = [0, 8, -8, 127, -128, 128, -4096, 0x7fff_fff0];

fn alu_mnemonic(op: AluOp) -> Mnemonic {
    match op {
        AluOp::Add => Mnemonic::Add,
        AluOp::Or => Mnemonic::Or,
        AluOp::And => Mnemonic::And,
        AluOp::Sub => Mnemonic::Sub,
        AluOp::Xor => Mnemonic::Xor,
        AluOp::Cmp => Mnemonic::Cmp,
    }
}

#[test]
fn register_register_forms() {
    let mut count = 0;
    for size in SIZES {
        for d in 0..16u8 {
            for s in 0..16u8 {
                assert_eq!(
                    decode_one(|b| mov_rr(b, size, d, s)),
                    (Mnemonic::Mov, vec![reg(size, d), reg(size, s)])
                );
                for op in [
                    AluOp::Add,
                    AluOp::Or,
                    AluOp::And,
                    AluOp::Sub,
                    AluOp::Xor,
                    AluOp::Cmp,
                ] {
                    assert_eq!(
                        decode_one(|b| alu_rr(b, size, op, d, s)),
                        (alu_mnemonic(op), vec![reg(size, d), reg(size, s)])
                    );
                }
                assert_eq!(
                    decode_one(|b| imul_rr(b, size, d, s)),
                    (Mnemonic::Imul, vec![reg(size, d), reg(size, s)])
                );
                assert_eq!(
                    decode_one(|b| test_rr(b, size, d, s)),
                    (Mnemonic::Test, vec![reg(size, d), reg(size, s)])
                );
                count += 9;
            }
        }
    }
    for d in 0..16u8 {
        for s in 0..16u8 {
            assert_eq!(
                decode_one(|b| movsd_rr(b, d, s)),
                (Mnemonic::Movsd, vec![Op::Reg(xmm(d)), Op::Reg(xmm(s))])
            );
            assert_eq!(
                decode_one(|b| movaps_rr(b, d, s)),
                (Mnemonic::Movaps, vec![Op::Reg(xmm(d)), Op::Reg(xmm(s))])
            );
            assert_eq!(
                decode_one(|b| movzx_r8(b, d, s)),
                (Mnemonic::Movzx, vec![Op::Reg(r32(d)), Op::Reg(r8(s))])
            );
            count += 3;
        }
    }
    assert!(count > 4000);
}

#[test]
fn register_immediate_forms() {
    for size in SIZES {
        for d in 0..16u8 {
            for imm in IMMS {
                for op in [
                    AluOp::Add,
                    AluOp::Or,
                    AluOp::And,
                    AluOp::Sub,
                    AluOp::Xor,
                    AluOp::Cmp,
                ] {
                    assert_eq!(
                        decode_one(|b| alu_ri(b, size, op, d, imm)),
                        (alu_mnemonic(op), vec![reg(size, d), Op::Imm(imm as i64)]),
                        "{op:?} {d} {imm}"
                    );
                }
                assert_eq!(
                    decode_one(|b| test_ri(b, size, d, imm)),
                    (Mnemonic::Test, vec![reg(size, d), Op::Imm(imm as i64)])
                );
                let s = (d + 5) % 16;
                assert_eq!(
                    decode_one(|b| imul_rri(b, size, d, s, imm)),
                    (
                        Mnemonic::Imul,
                        vec![reg(size, d), reg(size, s), Op::Imm(imm as i64)]
                    )
                );
            }
            for amount in [0u8, 1, 7, 31, 63] {
                for (op, m) in [
                    (ShiftOp::Shl, Mnemonic::Shl),
                    (ShiftOp::Shr, Mnemonic::Shr),
                    (ShiftOp::Sar, Mnemonic::Sar),
                ] {
                    assert_eq!(
                        decode_one(|b| shift_ri(b, size, op, d, amount)),
                        (m, vec![reg(size, d), Op::Imm(amount as i64)])
                    );
                    assert_eq!(
                        decode_one(|b| shift_rcl(b, size, op, d)),
                        (m, vec![reg(size, d), Op::Reg(Register::CL)])
                    );
                }
            }
            // mov r32, imm32 zero-extends: the decoder shows the 32-bit value.
            for imm in [0i64, 1, 0xffff_ffff, 0x8000_0000] {
                assert_eq!(
                    decode_one(|b| mov_ri(b, Size::S32, d, imm)),
                    (
                        Mnemonic::Mov,
                        vec![reg(Size::S32, d), Op::Imm(imm as u32 as i32 as i64)]
                    )
                );
            }
        }
    }
    // 64-bit constants pick the shortest form; each decodes to the value.
    for d in 0..16u8 {
        for imm in [
            0i64,
            1,
            0xffff_ffff,
            -1,
            -0x8000_0000,
            0x1_0000_0000,
            i64::MIN,
            i64::MAX,
            6765,
        ] {
            let (m, ops) = decode_one(|b| mov_ri(b, Size::S64, d, imm));
            assert_eq!(m, Mnemonic::Mov);
            match &ops[..] {
                [Op::Reg(r), Op::Imm(v)] if *r == r32(d) => assert_eq!(*v as u32 as i64, imm),
                [Op::Reg(r), Op::Imm(v)] if *r == r64(d) => assert_eq!(*v, imm),
                other => panic!("mov {d}, {imm}: {other:?}"),
            }
        }
    }
}

#[test]
fn memory_forms() {
    for base in 0..16u8 {
        for disp in DISPS {
            let mem = Op::Mem {
                base: r64(base),
                disp: disp as i64,
            };
            let m = Mem { base, disp };
            for r in 0..16u8 {
                for size in SIZES {
                    assert_eq!(
                        decode_one(|b| load(b, size, r, m)),
                        (Mnemonic::Mov, vec![reg(size, r), mem.clone()]),
                        "load {r} [{base}+{disp}]"
                    );
                    assert_eq!(
                        decode_one(|b| store(b, size, m, r)),
                        (Mnemonic::Mov, vec![mem.clone(), reg(size, r)])
                    );
                }
                assert_eq!(
                    decode_one(|b| lea(b, r, m)),
                    (Mnemonic::Lea, vec![Op::Reg(r64(r)), mem.clone()])
                );
                assert_eq!(
                    decode_one(|b| movsd_load(b, r, m)),
                    (Mnemonic::Movsd, vec![Op::Reg(xmm(r)), mem.clone()])
                );
                assert_eq!(
                    decode_one(|b| movsd_store(b, m, r)),
                    (Mnemonic::Movsd, vec![mem.clone(), Op::Reg(xmm(r))])
                );
                assert_eq!(
                    decode_one(|b| movaps_load(b, r, m)),
                    (Mnemonic::Movaps, vec![Op::Reg(xmm(r)), mem.clone()])
                );
                assert_eq!(
                    decode_one(|b| movaps_store(b, m, r)),
                    (Mnemonic::Movaps, vec![mem.clone(), Op::Reg(xmm(r))])
                );
            }
            assert_eq!(
                decode_one(|b| push_mem(b, m)),
                (Mnemonic::Push, vec![mem.clone()])
            );
            assert_eq!(
                decode_one(|b| pop_mem(b, m)),
                (Mnemonic::Pop, vec![mem.clone()])
            );
        }
    }
}

#[test]
fn stack_setcc_and_control_flow() {
    for r in 0..16u8 {
        assert_eq!(
            decode_one(|b| push(b, r)),
            (Mnemonic::Push, vec![Op::Reg(r64(r))])
        );
        assert_eq!(
            decode_one(|b| pop(b, r)),
            (Mnemonic::Pop, vec![Op::Reg(r64(r))])
        );
        for cond in Cond::ALL {
            let (m, ops) = decode_one(|b| setcc(b, cond, r));
            assert_eq!(ops, vec![Op::Reg(r8(r))]);
            assert_eq!(m, SETCC[cond as usize]);
        }
    }
    assert_eq!(decode_one(ret), (Mnemonic::Ret, vec![]));

    // Branches forwards and backwards over padding; the decoded target must
    // be the label's offset.
    for distance in [-100_000i64, -129, -1, 0, 1, 127, 128, 100_000] {
        let run = |emit: &dyn Fn(&mut MachBuffer, MachLabel), mnemonic: Mnemonic| {
            let mut buf = MachBuffer::new();
            let label = buf.get_label();
            if distance < 0 {
                buf.bind_label(label);
                buf.put_bytes(&vec![0x90; (-distance) as usize]);
            }
            let at = buf.cur_offset() as usize;
            emit(&mut buf, label);
            let len = buf.cur_offset() as usize - at;
            if distance >= 0 {
                buf.put_bytes(&vec![0x90; distance as usize]);
                buf.bind_label(label);
            }
            let target = buf.label_offset(label).unwrap() as u64;
            let code = buf.finish().unwrap();
            assert_eq!(
                decode_at(&code, at, len),
                (mnemonic, vec![Op::Target(target)]),
                "distance {distance}"
            );
        };
        run(&|b, l| jmp(b, l), Mnemonic::Jmp);
        run(&|b, l| call(b, l), Mnemonic::Call);
        for cond in Cond::ALL {
            run(&|b, l| jcc(b, cond, l), JCC[cond as usize]);
        }
    }
}

const SETCC: [Mnemonic; 16] = [
    Mnemonic::Seto,
    Mnemonic::Setno,
    Mnemonic::Setb,
    Mnemonic::Setae,
    Mnemonic::Sete,
    Mnemonic::Setne,
    Mnemonic::Setbe,
    Mnemonic::Seta,
    Mnemonic::Sets,
    Mnemonic::Setns,
    Mnemonic::Setp,
    Mnemonic::Setnp,
    Mnemonic::Setl,
    Mnemonic::Setge,
    Mnemonic::Setle,
    Mnemonic::Setg,
];
const JCC: [Mnemonic; 16] = [
    Mnemonic::Jo,
    Mnemonic::Jno,
    Mnemonic::Jb,
    Mnemonic::Jae,
    Mnemonic::Je,
    Mnemonic::Jne,
    Mnemonic::Jbe,
    Mnemonic::Ja,
    Mnemonic::Js,
    Mnemonic::Jns,
    Mnemonic::Jp,
    Mnemonic::Jnp,
    Mnemonic::Jl,
    Mnemonic::Jge,
    Mnemonic::Jle,
    Mnemonic::Jg,
];
