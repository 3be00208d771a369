//! `PReg`, `VReg`, `Operand`, `Allocation`, `ProgPoint` have regalloc2's
//! bit layouts: the same constructor calls give the same bits in both
//! crates, for every register and a spread of every other field.

use regalloc2 as ra2;

const CLASSES: [(regarena::RegClass, ra2::RegClass); 3] = [
    (regarena::RegClass::Int, ra2::RegClass::Int),
    (regarena::RegClass::Float, ra2::RegClass::Float),
    (regarena::RegClass::Vector, ra2::RegClass::Vector),
];

#[test]
fn pregs_and_vregs_match() {
    for (ours, theirs) in CLASSES {
        for enc in 0..=regarena::PReg::MAX {
            let a = regarena::PReg::new(enc, ours);
            let b = ra2::PReg::new(enc, theirs);
            assert_eq!(a.index(), b.index());
            assert_eq!(a.hw_enc(), b.hw_enc());
        }
        for index in [0usize, 1, 2, 1000, 65_535, 1 << 20, regarena::VReg::MAX] {
            let a = regarena::VReg::new(index, ours);
            let b = ra2::VReg::new(index, theirs);
            assert_eq!(a.bits(), b.bits());
        }
    }
    assert_eq!(
        regarena::PReg::invalid().index(),
        ra2::PReg::invalid().index()
    );
    assert_eq!(
        regarena::VReg::invalid().bits(),
        ra2::VReg::invalid().bits()
    );
}

#[test]
fn operands_match() {
    for (ours_class, their_class) in CLASSES {
        for index in [0usize, 5, 4096, 1 << 29] {
            let (a, b) = (
                regarena::VReg::new(index, ours_class),
                ra2::VReg::new(index, their_class),
            );
            for enc in [0usize, 7, 31, 63] {
                let (pa, pb) = (
                    regarena::PReg::new(enc, ours_class),
                    ra2::PReg::new(enc, their_class),
                );
                let pairs = [
                    (
                        regarena::Operand::reg_use(a).bits(),
                        ra2::Operand::reg_use(b).bits(),
                    ),
                    (
                        regarena::Operand::reg_use_at_end(a).bits(),
                        ra2::Operand::reg_use_at_end(b).bits(),
                    ),
                    (
                        regarena::Operand::reg_def(a).bits(),
                        ra2::Operand::reg_def(b).bits(),
                    ),
                    (
                        regarena::Operand::reg_def_at_start(a).bits(),
                        ra2::Operand::reg_def_at_start(b).bits(),
                    ),
                    (
                        regarena::Operand::reg_temp(a).bits(),
                        ra2::Operand::reg_temp(b).bits(),
                    ),
                    (
                        regarena::Operand::reg_reuse_def(a, 2).bits(),
                        ra2::Operand::reg_reuse_def(b, 2).bits(),
                    ),
                    (
                        regarena::Operand::reg_fixed_use(a, pa).bits(),
                        ra2::Operand::reg_fixed_use(b, pb).bits(),
                    ),
                    (
                        regarena::Operand::reg_fixed_def(a, pa).bits(),
                        ra2::Operand::reg_fixed_def(b, pb).bits(),
                    ),
                    (
                        regarena::Operand::reg_fixed_use_at_end(a, pa).bits(),
                        ra2::Operand::reg_fixed_use_at_end(b, pb).bits(),
                    ),
                    (
                        regarena::Operand::reg_fixed_def_at_start(a, pa).bits(),
                        ra2::Operand::reg_fixed_def_at_start(b, pb).bits(),
                    ),
                    (
                        regarena::Operand::any_use(a).bits(),
                        ra2::Operand::any_use(b).bits(),
                    ),
                    (
                        regarena::Operand::any_def(a).bits(),
                        ra2::Operand::any_def(b).bits(),
                    ),
                    (
                        regarena::Operand::fixed_nonallocatable(pa).bits(),
                        ra2::Operand::fixed_nonallocatable(pb).bits(),
                    ),
                    (
                        regarena::Operand::new(
                            a,
                            regarena::OperandConstraint::Stack,
                            regarena::OperandKind::Use,
                            regarena::OperandPos::Late,
                        )
                        .bits(),
                        ra2::Operand::new(
                            b,
                            ra2::OperandConstraint::Stack,
                            ra2::OperandKind::Use,
                            ra2::OperandPos::Late,
                        )
                        .bits(),
                    ),
                    (
                        regarena::Operand::new(
                            a,
                            regarena::OperandConstraint::Limit(16),
                            regarena::OperandKind::Use,
                            regarena::OperandPos::Early,
                        )
                        .bits(),
                        ra2::Operand::new(
                            b,
                            ra2::OperandConstraint::Limit(16),
                            ra2::OperandKind::Use,
                            ra2::OperandPos::Early,
                        )
                        .bits(),
                    ),
                ];
                for (i, (x, y)) in pairs.iter().enumerate() {
                    assert_eq!(x, y, "constructor #{i}, vreg {index}, enc {enc}");
                }
            }
        }
    }
}

#[test]
fn allocations_and_progpoints_match() {
    for (ours, theirs) in CLASSES {
        for enc in 0..=regarena::PReg::MAX {
            assert_eq!(
                regarena::Allocation::reg(regarena::PReg::new(enc, ours)).bits(),
                ra2::Allocation::reg(ra2::PReg::new(enc, theirs)).bits()
            );
        }
    }
    for slot in [0usize, 1, 100, regarena::SpillSlot::MAX] {
        assert_eq!(
            regarena::Allocation::stack(regarena::SpillSlot::new(slot)).bits(),
            ra2::Allocation::stack(ra2::SpillSlot::new(slot)).bits()
        );
    }
    assert_eq!(
        regarena::Allocation::none().bits(),
        ra2::Allocation::none().bits()
    );
    for inst in [0usize, 1, 77, 1 << 30] {
        let (a, b) = (regarena::Inst::new(inst), ra2::Inst::new(inst));
        assert_eq!(
            regarena::ProgPoint::before(a).to_index(),
            ra2::ProgPoint::before(b).to_index()
        );
        assert_eq!(
            regarena::ProgPoint::after(a).to_index(),
            ra2::ProgPoint::after(b).to_index()
        );
    }
    assert_eq!(
        regarena::ProgPoint::invalid().to_index(),
        ra2::ProgPoint::invalid().to_index()
    );
}
