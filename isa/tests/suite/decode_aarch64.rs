//! Every aarch64 encoder form decoded back by yaxpeax-arm (an independent
//! decoder) and compared field by field: opcode, registers, immediates,
//! offsets. Table-driven over every register number and a spread of
//! immediates and offsets.

use regarena_isa::aarch64::encode::*;
use regarena_isa::machinst::MachBuffer;
use yaxpeax_arch::{Decoder, U8Reader};
use yaxpeax_arm::armv8::a64::{
    InstDecoder, Opcode, Operand as O, SIMDSizeCode, ShiftStyle, SizeCode,
};

fn decode_one(f: impl FnOnce(&mut MachBuffer)) -> (Opcode, [O; 4]) {
    let mut buf = MachBuffer::new();
    f(&mut buf);
    let code = buf.finish().expect("no unresolved labels");
    assert_eq!(code.len(), 4, "one instruction word");
    let inst = InstDecoder::default()
        .decode(&mut U8Reader::new(&code))
        .unwrap_or_else(|e| panic!("{code:02x?} does not decode: {e:?}"));
    (inst.opcode, inst.operands)
}

fn x(n: u8) -> O {
    O::Register(SizeCode::X, n as u16)
}
fn xsp(n: u8) -> O {
    O::RegisterOrSP(SizeCode::X, n as u16)
}
fn shifted(n: u8) -> O {
    O::RegShift(ShiftStyle::LSL, 0, SizeCode::X, n as u16)
}
const N: O = O::Nothing;

/// (rd, rn, rm) triples covering every register in every position.
fn triples() -> impl Iterator<Item = (u8, u8, u8)> {
    (0..32u32)
        .flat_map(|d| (0..32u32).map(move |n| (d as u8, n as u8, ((d * 7 + n * 3 + 1) % 32) as u8)))
}

#[test]
fn register_register_alu() {
    let mut count = 0;
    for (d, n, m) in triples() {
        let cases: [(AluRRR, Opcode, [O; 4]); 11] = [
            (AluRRR::Add, Opcode::ADD, [x(d), x(n), shifted(m), N]),
            (AluRRR::Sub, Opcode::SUB, [x(d), x(n), shifted(m), N]),
            (AluRRR::Subs, Opcode::SUBS, [x(d), x(n), shifted(m), N]),
            (AluRRR::And, Opcode::AND, [x(d), x(n), shifted(m), N]),
            (AluRRR::Orr, Opcode::ORR, [x(d), x(n), shifted(m), N]),
            (AluRRR::Eor, Opcode::EOR, [x(d), x(n), shifted(m), N]),
            (AluRRR::Mul, Opcode::MADD, [x(d), x(n), x(m), x(31)]),
            (AluRRR::Sdiv, Opcode::SDIV, [x(d), x(n), x(m), N]),
            (AluRRR::Lslv, Opcode::LSLV, [x(d), x(n), x(m), N]),
            (AluRRR::Lsrv, Opcode::LSRV, [x(d), x(n), x(m), N]),
            (AluRRR::Asrv, Opcode::ASRV, [x(d), x(n), x(m), N]),
        ];
        for (op, opcode, operands) in cases {
            assert_eq!(
                decode_one(|b| alu_rrr(b, op, d, n, m)),
                (opcode, operands),
                "{op:?} {d} {n} {m}"
            );
            count += 1;
        }
        assert_eq!(
            decode_one(|b| mov_rr(b, d, m)),
            (Opcode::ORR, [x(d), x(31), shifted(m), N])
        );
        assert_eq!(
            decode_one(|b| cmp_rr(b, n, m)),
            (Opcode::SUBS, [x(31), x(n), shifted(m), N])
        );
    }
    assert!(count > 10_000);
}

#[test]
fn immediates_moves_shifts_and_cset() {
    let imms = [0u64, 1, 2, 15, 255, 1000, 4095, 4096, 8192, 4096 * 4095];
    for (d, n, _) in triples().step_by(7) {
        for &imm in &imms {
            for sub in [false, true] {
                let expect_imm = if imm < 4096 {
                    O::Immediate(imm as u32)
                } else {
                    O::ImmShift((imm >> 12) as u16, 12)
                };
                let opcode = if sub { Opcode::SUB } else { Opcode::ADD };
                assert_eq!(
                    decode_one(|b| add_sub_imm(b, sub, d, n, imm).unwrap()),
                    (opcode, [xsp(d), xsp(n), expect_imm, N]),
                    "add/sub {d} {n} #{imm}"
                );
            }
            if imm < 4096 {
                assert_eq!(
                    decode_one(|b| cmp_imm(b, n, imm as u16).unwrap()),
                    (Opcode::SUBS, [x(31), xsp(n), O::Immediate(imm as u32), N])
                );
            }
        }
        for imm16 in [0u16, 1, 0x1234, 0xffff] {
            for hw in 0..4u8 {
                let field = O::ImmShift(imm16, 16 * hw);
                assert_eq!(
                    decode_one(|b| movz(b, d, imm16, hw)),
                    (Opcode::MOVZ, [x(d), field, N, N])
                );
                assert_eq!(
                    decode_one(|b| movk(b, d, imm16, hw)),
                    (Opcode::MOVK, [x(d), field, N, N])
                );
                assert_eq!(
                    decode_one(|b| movn(b, d, imm16, hw)),
                    (Opcode::MOVN, [x(d), field, N, N])
                );
            }
        }
        for amount in 1..64u8 {
            let a = amount as u32;
            let imm = |v: u32| O::Immediate(v);
            assert_eq!(
                decode_one(|b| shift_imm(b, ShiftImm::Lsl, d, n, amount).unwrap()),
                (Opcode::UBFM, [x(d), x(n), imm(64 - a), imm(63 - a)])
            );
            assert_eq!(
                decode_one(|b| shift_imm(b, ShiftImm::Lsr, d, n, amount).unwrap()),
                (Opcode::UBFM, [x(d), x(n), imm(a), imm(63)])
            );
            assert_eq!(
                decode_one(|b| shift_imm(b, ShiftImm::Asr, d, n, amount).unwrap()),
                (Opcode::SBFM, [x(d), x(n), imm(a), imm(63)])
            );
        }
        for cond in Cond::ALL {
            assert_eq!(
                decode_one(|b| cset(b, d, cond)),
                (
                    Opcode::CSINC,
                    [x(d), x(31), x(31), O::ConditionCode(cond.invert() as u8)]
                )
            );
        }
    }
    assert!(add_sub_imm(&mut MachBuffer::new(), false, 0, 0, 4097).is_none());
    assert!(shift_imm(&mut MachBuffer::new(), ShiftImm::Lsl, 0, 0, 64).is_none());
}

#[test]
fn mov_imm_sequences_compute_the_constant() {
    // Evaluate the movz/movn/movk sequence from its decoded fields.
    let values = [
        0i64,
        1,
        -1,
        0xffff,
        0x10000,
        -65536,
        0x1234_5678_9abc_def0,
        i64::MIN,
        i64::MAX,
        -2,
        6765,
    ];
    for &v in &values {
        let mut buf = MachBuffer::new();
        mov_imm(&mut buf, 5, v);
        let code = buf.finish().unwrap();
        let mut acc: u64 = 0;
        for word in code.chunks(4) {
            let inst = InstDecoder::default()
                .decode(&mut U8Reader::new(word))
                .unwrap();
            assert_eq!(inst.operands[0], x(5));
            let O::ImmShift(imm, shift) = inst.operands[1] else {
                panic!("{inst}")
            };
            let field = (imm as u64) << shift;
            acc = match inst.opcode {
                Opcode::MOVZ => field,
                Opcode::MOVN => !field,
                Opcode::MOVK => (acc & !(0xffffu64 << shift)) | field,
                other => panic!("unexpected {other:?}"),
            };
        }
        assert_eq!(acc as i64, v, "{v:#x}");
    }
}

#[test]
fn loads_stores_and_pairs() {
    for t in 0..32u8 {
        for n in [0u8, 1, 2, 17, 29, 30, 31] {
            for off in [0u32, 8, 16, 128, 4088, 32760] {
                let mem = O::RegPreIndex(n as u16, off as i32, false);
                assert_eq!(
                    decode_one(|b| load_store(b, true, LsWidth::X, t, n, off).unwrap()),
                    (Opcode::LDR, [x(t), mem, N, N])
                );
                assert_eq!(
                    decode_one(|b| load_store(b, false, LsWidth::X, t, n, off).unwrap()),
                    (Opcode::STR, [x(t), mem, N, N])
                );
                let d = O::SIMDRegister(SIMDSizeCode::D, t as u16);
                assert_eq!(
                    decode_one(|b| load_store(b, true, LsWidth::D, t, n, off).unwrap()),
                    (Opcode::LDR, [d, mem, N, N])
                );
                assert_eq!(
                    decode_one(|b| load_store(b, false, LsWidth::D, t, n, off).unwrap()),
                    (Opcode::STR, [d, mem, N, N])
                );
                let qoff = off * 2;
                let qmem = O::RegPreIndex(n as u16, qoff as i32, false);
                let q = O::SIMDRegister(SIMDSizeCode::Q, t as u16);
                assert_eq!(
                    decode_one(|b| load_store(b, true, LsWidth::Q, t, n, qoff).unwrap()),
                    (Opcode::LDR, [q, qmem, N, N])
                );
                assert_eq!(
                    decode_one(|b| load_store(b, false, LsWidth::Q, t, n, qoff).unwrap()),
                    (Opcode::STR, [q, qmem, N, N])
                );
            }
            for off in [-512i32, -16, 0, 8, 16, 504] {
                let t2 = (t + 1) % 31;
                let cases = [
                    (PairMode::Offset, O::RegPreIndex(n as u16, off, false)),
                    (PairMode::PreIndex, O::RegPreIndex(n as u16, off, true)),
                    (PairMode::PostIndex, O::RegPostIndex(n as u16, off)),
                ];
                for (mode, mem) in cases {
                    assert_eq!(
                        decode_one(|b| load_store_pair(b, true, mode, t, t2, n, off).unwrap()),
                        (Opcode::LDP, [x(t), x(t2), mem, N]),
                        "{mode:?}"
                    );
                    assert_eq!(
                        decode_one(|b| load_store_pair(b, false, mode, t, t2, n, off).unwrap()),
                        (Opcode::STP, [x(t), x(t2), mem, N]),
                        "{mode:?}"
                    );
                }
            }
        }
        let v = |r: u8| O::SIMDRegisterElements(SIMDSizeCode::Q, r as u16, SIMDSizeCode::B);
        let src = (t * 5 + 3) % 32;
        assert_eq!(
            decode_one(|b| mov_v(b, t, src)),
            (Opcode::ORR, [v(t), v(src), v(src), N])
        );
    }
    assert!(load_store(&mut MachBuffer::new(), true, LsWidth::X, 0, 31, 32768).is_none());
    assert!(load_store_pair(
        &mut MachBuffer::new(),
        true,
        PairMode::Offset,
        0,
        1,
        31,
        512
    )
    .is_none());
}

#[test]
fn branches_to_labels_and_system() {
    // A branch at offset 0 to a label bound `distance` bytes later (or
    // earlier, with the branch placed after the label).
    for distance in [-(1i64 << 20), -4096, -4, 4, 8, 1024, (1 << 20) - 4] {
        let check = |emit: &dyn Fn(&mut MachBuffer, regarena_isa::machinst::MachLabel),
                     expect: &dyn Fn(i64) -> (Opcode, [O; 4])| {
            let mut buf = MachBuffer::new();
            let label = buf.get_label();
            let pad = |buf: &mut MachBuffer, bytes: i64| {
                (0..bytes / 4).for_each(|_| buf.put4(0xd503_201f))
            };
            if distance < 0 {
                buf.bind_label(label);
                pad(&mut buf, -distance);
            }
            let at = buf.cur_offset() as usize;
            emit(&mut buf, label);
            if distance > 0 {
                pad(&mut buf, distance - 4);
                buf.bind_label(label);
            }
            let code = buf.finish().unwrap();
            let inst = InstDecoder::default()
                .decode(&mut U8Reader::new(&code[at..at + 4]))
                .unwrap();
            assert_eq!(
                (inst.opcode, inst.operands),
                expect(distance),
                "distance {distance}"
            );
        };
        let off = |d: i64| O::PCOffset(d);
        check(&|b, l| regarena_isa::aarch64::encode::b(b, l), &|d| {
            (Opcode::B, [off(d), N, N, N])
        });
        check(&|b, l| bl(b, l), &|d| (Opcode::BL, [off(d), N, N, N]));
        for cond in Cond::ALL {
            check(&|b, l| b_cond(b, cond, l), &|d| {
                (Opcode::Bcc(cond as u8), [off(d), N, N, N])
            });
        }
        for r in [0u8, 7, 30] {
            check(&|b, l| cbz(b, r, l), &|d| {
                (Opcode::CBZ, [x(r), off(d), N, N])
            });
        }
    }
    assert_eq!(decode_one(ret), (Opcode::RET, [x(30), N, N, N]));
    assert_eq!(
        decode_one(|b| svc(b, 0)),
        (Opcode::SVC, [O::Imm16(0), N, N, N])
    );
}
