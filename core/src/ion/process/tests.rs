//! Phase tests: tiny hand-built tables (one straight-line block), a
//! handful of bundles competing for one or two registers, then the
//! outcome of `process_bundles`.

use super::probe::RegTraversal;
use super::{check_postconditions, process_bundles};
use crate::cfg::{analyze, CfgInfo};
use crate::ion::data::{BundleId, CodeRange, IonTables, LiveRangeListEntry, Use, VRegId};
use crate::ion::liveranges::{reserve_preg, spill_weight_to_bits, use_spill_weight};
use crate::ion::merge::recompute_bundle_properties;
use crate::ion::queue::AllocationQueue;
use crate::ion::Stats;
use crate::owned::{BlockData, FunctionData, InstData, InstKind};
use crate::tables::Arena;
use crate::{
    Allocation, Block, Inst, InstRange, MachineEnv, Operand, OperandConstraint, OperandKind,
    OperandPos, PReg, PRegSet, ProgPoint, RegAllocError, RegClass, VReg,
};

/// A function of one block of `n` instructions (the last one returns).
/// Only its shape matters: the tables below are built by hand.
fn straight_line(n: usize) -> FunctionData {
    let mut insts = vec![InstData::default(); n];
    insts[n - 1].kind = InstKind::Ret;
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
        num_vregs: 8,
        debug_value_labels: vec![],
        spillslot_sizes: [1; 3],
        multi_spillslot_named_by_last_slot: false,
        allow_multiple_vreg_defs: false,
    }
}

/// Integer registers `r0..r{n}`, all preferred.
fn int_env(n: usize) -> MachineEnv {
    let mut set = PRegSet::empty();
    for i in 0..n {
        set.add(PReg::new(i, RegClass::Int));
    }
    MachineEnv {
        preferred_regs_by_class: [set, PRegSet::empty(), PRegSet::empty()],
        non_preferred_regs_by_class: [PRegSet::empty(); 3],
        scratch_by_class: [None; 3],
        fixed_stack_slots: vec![],
    }
}

fn r(i: usize) -> PReg {
    PReg::new(i, RegClass::Int)
}

fn pt(index: u32) -> ProgPoint {
    ProgPoint::from_index(index)
}

/// One mention: (program point index, constraint, kind).
type Mention = (u32, OperandConstraint, OperandKind);

struct Fixture<'a> {
    func: FunctionData,
    arena: &'a Arena,
    cfg: CfgInfo<'a>,
    tables: IonTables<'a>,
    env: MachineEnv,
}

impl<'a> Fixture<'a> {
    fn new(arena: &'a Arena, insts: usize, regs: usize) -> Self {
        let func = straight_line(insts);
        let cfg = analyze(&func, arena).expect("valid cfg");
        let tables = IonTables::new_in(arena, func.num_vregs, insts);
        Fixture {
            func,
            arena,
            cfg,
            tables,
            env: int_env(regs),
        }
    }

    /// A bundle (with its own spill set) holding one range `[from, to)`
    /// of vreg `v` with the given mentions (which must lie before `to`).
    fn bundle(&mut self, v: usize, from: u32, to: u32, mentions: &[Mention]) -> BundleId {
        let t = &mut self.tables;
        let vreg = VRegId::new(v);
        let range = CodeRange::new(pt(from), pt(to));
        let lr = t.ranges.push(self.arena, range, vreg);
        for &(at, constraint, kind) in mentions {
            assert!(
                from <= at && at < to,
                "mention at {at} outside [{from}, {to})"
            );
            let pos = if at % 2 == 0 {
                OperandPos::Early
            } else {
                OperandPos::Late
            };
            let operand = Operand::new(VReg::new(v, RegClass::Int), constraint, kind, pos);
            let weight = use_spill_weight(constraint, 0, kind == OperandKind::Def);
            t.ranges.uses.push(
                lr,
                Use {
                    operand,
                    pos: pt(at),
                    slot: 0,
                    weight: spill_weight_to_bits(weight),
                },
            );
            t.ranges.uses_spill_weight[lr] += weight;
        }
        t.vregs.class[vreg] = Some(RegClass::Int);
        let bundle = t.bundles.push(self.arena);
        t.ranges.bundle[lr] = bundle;
        // The vreg lists are built whole, from the range table.
        super::relist_vreg_ranges(&t.ranges, &mut t.vregs, self.arena);
        t.bundles.ranges[bundle].push(LiveRangeListEntry { range, index: lr });
        let spillset = t.spillsets.push(RegClass::Int, range);
        t.bundles.hot[bundle].spillset = spillset;
        recompute_bundle_properties(bundle, &mut t.bundles, &t.ranges, &t.pregs);
        bundle
    }

    fn run(&mut self) -> (Result<(), RegAllocError>, Stats) {
        // As `build_liveranges` ends.
        self.tables.pregs.reserved.seal();
        let mut queue = AllocationQueue::new_in(self.arena);
        for (b, list) in self.tables.bundles.ranges.iter_enumerated() {
            if !list.is_empty() {
                queue.push(b, self.tables.bundles.hot[b].prio);
            }
        }
        let mut stats = Stats::default();
        let result = process_bundles(
            &self.func,
            &self.env,
            &self.cfg,
            self.arena,
            self.arena,
            &mut self.tables,
            &mut queue,
            &mut stats,
        );
        if result.is_ok() {
            self.tables.check_invariants().expect("table invariants");
            check_postconditions(&self.tables).expect("process postconditions");
        }
        (result, stats)
    }

    /// The allocation of the bundle now holding the use at `at` of `v`.
    fn alloc_at(&self, v: usize, at: u32) -> Allocation {
        let t = &self.tables;
        for entry in t.vregs.ranges[VRegId::new(v)].iter() {
            let bundle = t.ranges.bundle[entry.index];
            if t.ranges.uses[entry.index].iter().any(|u| u.pos == pt(at)) {
                return t.bundles.hot[bundle].allocation;
            }
        }
        panic!("no use of v{v} at {at}");
    }

    fn spilled_at(&self, v: usize, at: u32) -> bool {
        let t = &self.tables;
        t.vregs.ranges[VRegId::new(v)].iter().any(|entry| {
            let bundle = t.ranges.bundle[entry.index];
            t.ranges.uses[entry.index].iter().any(|u| u.pos == pt(at))
                && t.bundles.hot[bundle].allocation.is_none()
                && t.spillsets.required[t.bundles.hot[bundle].spillset]
        })
    }
}

const REG: OperandConstraint = OperandConstraint::Reg;
const USE: OperandKind = OperandKind::Use;
const DEF: OperandKind = OperandKind::Def;

#[test]
fn disjoint_bundles_share_one_register() {
    let arena = Arena::new();
    let mut f = Fixture::new(&arena, 10, 1);
    f.bundle(0, 1, 7, &[(1, REG, DEF), (6, REG, USE)]);
    f.bundle(1, 7, 15, &[(7, REG, DEF), (14, REG, USE)]);
    let (result, stats) = f.run();
    assert_eq!(result, Ok(()));
    assert_eq!(f.alloc_at(0, 6), Allocation::reg(r(0)));
    assert_eq!(f.alloc_at(1, 14), Allocation::reg(r(0)));
    assert_eq!((stats.splits, stats.evict_bundle_count), (0, 0));
    assert_eq!(stats.process_bundle_count, 2);
}

#[test]
fn three_overlapping_bundles_on_two_registers() {
    let arena = Arena::new();
    let mut f = Fixture::new(&arena, 12, 2);
    f.bundle(0, 1, 21, &[(1, REG, DEF), (10, REG, USE), (20, REG, USE)]);
    f.bundle(1, 3, 19, &[(3, REG, DEF), (12, REG, USE), (18, REG, USE)]);
    f.bundle(2, 5, 17, &[(5, REG, DEF), (14, REG, USE), (16, REG, USE)]);
    let (result, stats) = f.run();
    assert_eq!(result, Ok(()));
    // Somebody had to give way: a split, and pieces spilled between uses.
    assert!(stats.splits >= 1, "{stats:?}");
    // Every register-constrained use still ends up in a register.
    for (v, at) in [
        (0, 1),
        (0, 10),
        (0, 20),
        (1, 3),
        (1, 12),
        (1, 18),
        (2, 5),
        (2, 14),
        (2, 16),
    ] {
        assert!(f.alloc_at(v, at).as_reg().is_some(), "v{v} at {at}");
    }
}

#[test]
fn fixed_reservation_forces_a_split_around_it() {
    let arena = Arena::new();
    let mut f = Fixture::new(&arena, 10, 1);
    // r0 is clobbered across inst 4.
    let clobber = CodeRange::new(pt(9), pt(10));
    reserve_preg(&mut f.tables.pregs, r(0), clobber.from);
    f.bundle(0, 1, 17, &[(1, REG, DEF), (16, REG, USE)]);
    let (result, stats) = f.run();
    assert_eq!(result, Ok(()));
    assert!(stats.splits >= 1);
    assert_eq!(f.alloc_at(0, 1), Allocation::reg(r(0)));
    assert_eq!(f.alloc_at(0, 16), Allocation::reg(r(0)));
    // The value crosses the clobber on the stack.
    let t = &f.tables;
    let crossing = t.vregs.ranges[VRegId::new(0)]
        .iter()
        .find(|e| e.range.overlaps(&clobber))
        .expect("the value is live across the clobber");
    let bundle = t.ranges.bundle[crossing.index];
    assert!(t.bundles.hot[bundle].allocation.is_none());
    assert!(t.spillsets.required[t.bundles.hot[bundle].spillset]);
}

#[test]
fn heavier_bundle_evicts_lighter_one() {
    let arena = Arena::new();
    let mut f = Fixture::new(&arena, 30, 1);
    // Long and lightly used: low weight, highest priority (queued first).
    let light = f.bundle(0, 1, 51, &[(1, REG, DEF), (50, REG, USE)]);
    // Short and busy: heavy.
    let heavy = f.bundle(1, 21, 27, &[(21, REG, DEF), (24, REG, USE), (26, REG, USE)]);
    assert!(f.tables.bundles.hot[heavy].spill_weight > f.tables.bundles.hot[light].spill_weight);
    let (result, stats) = f.run();
    assert_eq!(result, Ok(()));
    assert_eq!(stats.evict_bundle_event, 1);
    assert_eq!(stats.evict_bundle_count, 1);
    assert_eq!(
        f.tables.bundles.hot[heavy].allocation,
        Allocation::reg(r(0))
    );
    // The evicted bundle was split around the heavy one; its uses still
    // get the register.
    assert!(stats.splits >= 1);
    assert_eq!(f.alloc_at(0, 1), Allocation::reg(r(0)));
    assert_eq!(f.alloc_at(0, 50), Allocation::reg(r(0)));
}

#[test]
fn stack_requirement_gets_no_register() {
    let arena = Arena::new();
    let mut f = Fixture::new(&arena, 6, 2);
    let b = f.bundle(
        0,
        1,
        9,
        &[
            (1, OperandConstraint::Stack, DEF),
            (8, OperandConstraint::Any, USE),
        ],
    );
    let (result, _) = f.run();
    assert_eq!(result, Ok(()));
    assert_eq!(f.tables.bundles.hot[b].allocation, Allocation::none());
    assert!(f.tables.spillsets.required[f.tables.bundles.hot[b].spillset]);
}

#[test]
fn stack_then_register_splits_at_the_register_use() {
    let arena = Arena::new();
    let mut f = Fixture::new(&arena, 10, 1);
    f.bundle(
        0,
        1,
        15,
        &[(1, OperandConstraint::Stack, DEF), (14, REG, USE)],
    );
    let (result, stats) = f.run();
    assert_eq!(result, Ok(()));
    assert_eq!(stats.splits, 1);
    assert!(f.spilled_at(0, 1));
    assert_eq!(f.alloc_at(0, 14), Allocation::reg(r(0)));
    // StackToReg cuts late, just before the register use's instruction,
    // and does not trim: the stack piece keeps the whole gap.
    let t = &f.tables;
    let list = &t.vregs.ranges[VRegId::new(0)];
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].range, CodeRange::new(pt(1), pt(14)));
    assert_eq!(list[1].range, CodeRange::new(pt(14), pt(15)));
}

#[test]
fn any_only_bundle_takes_a_free_register_on_second_chance() {
    let arena = Arena::new();
    let mut f = Fixture::new(&arena, 6, 1);
    let b = f.bundle(
        0,
        1,
        9,
        &[
            (1, OperandConstraint::Any, DEF),
            (8, OperandConstraint::Any, USE),
        ],
    );
    let (result, stats) = f.run();
    assert_eq!(result, Ok(()));
    assert_eq!(f.tables.bundles.hot[b].allocation, Allocation::reg(r(0)));
    assert_eq!(stats.spill_bundle_count, 1);
    assert_eq!(stats.spill_bundle_reg_success, 1);
}

#[test]
fn two_minimal_bundles_fixed_to_one_register_are_too_many() {
    let arena = Arena::new();
    let mut f = Fixture::new(&arena, 6, 2);
    let fixed = OperandConstraint::FixedReg(r(0));
    f.bundle(0, 4, 5, &[(4, fixed, USE)]);
    f.bundle(1, 4, 5, &[(4, fixed, USE)]);
    let (result, _) = f.run();
    assert_eq!(result, Err(RegAllocError::TooManyLiveRegs));
}

#[test]
fn more_minimal_register_uses_than_registers_are_too_many() {
    let arena = Arena::new();
    let mut f = Fixture::new(&arena, 6, 2);
    for v in 0..3 {
        f.bundle(v, 4, 5, &[(4, REG, USE)]);
    }
    let (result, _) = f.run();
    assert_eq!(result, Err(RegAllocError::TooManyLiveRegs));
}

#[test]
fn traversal_order_fixed_hint_limit_and_rotation() {
    let env = {
        let mut env = int_env(4);
        env.non_preferred_regs_by_class[0].add(r(5));
        env
    };
    let all = |fixed, hint, offset, limit| -> Vec<usize> {
        RegTraversal::new(&env, RegClass::Int, fixed, hint, offset, limit)
            .map(|p| p.hw_enc())
            .collect()
    };
    assert_eq!(all(Some(r(3)), Some(r(1)), 0, None), vec![3]);
    assert_eq!(all(None, None, 0, None), vec![0, 1, 2, 3, 5]);
    assert_eq!(all(None, Some(r(2)), 0, None), vec![2, 0, 1, 3, 5]);
    // Preferred registers rotate by the offset; then non-preferred ones.
    assert_eq!(all(None, None, 2, None), vec![2, 3, 0, 1, 5]);
    assert_eq!(all(None, Some(r(3)), 1, Some(3)), vec![1, 2, 0]);
}

/// Generated function number `seed` of the loop tests below: 20 to 350
/// instructions, live windows of 2 to 16 values, with and without calls
/// and floats.
#[cfg(feature = "arbitrary")]
fn varied_function(seed: u64) -> (crate::FunctionData, crate::MachineEnv) {
    use crate::gen::{generate_from_seed, GenOptions};
    let opts = GenOptions {
        target_insts: 20 + (seed as usize % 12) * 30,
        live_window: 2 + seed as usize % 15,
        calls: seed % 3 != 0,
        floats: seed % 2 == 0,
        ..GenOptions::default()
    };
    generate_from_seed(seed, &opts)
}

/// The busy bits only skip tree walks whose outcome they already know:
/// with and without them, generated functions get the same output (edits,
/// allocations, slots, stats), and each output passes the checker. Debug
/// builds also check the bits against the trees after every run
/// (`check_postconditions`).
#[cfg(feature = "arbitrary")]
#[test]
fn busy_points_change_no_output() {
    use super::SKIP_BUSY_POINTS;
    use crate::RegallocOptions;
    let mut allocated = 0;
    for seed in 0..150u64 {
        let (func, env) = varied_function(seed);
        let options = RegallocOptions::default();
        SKIP_BUSY_POINTS.with(|skip| skip.set(true));
        let plain = crate::run(&func, &env, &options);
        SKIP_BUSY_POINTS.with(|skip| skip.set(false));
        let busy = crate::run(&func, &env, &options);
        match (plain, busy) {
            (Ok(plain), Ok(busy)) => {
                assert_eq!(format!("{plain:?}"), format!("{busy:?}"), "seed {seed}");
                let mut checker = crate::checker::Checker::new(&func, &env);
                checker.prepare(&busy);
                if let Err(e) = checker.run() {
                    panic!("seed {seed}: {e}");
                }
                allocated += 1;
            }
            (Err(plain), Err(busy)) => assert_eq!(plain, busy, "seed {seed}"),
            (plain, busy) => panic!("seed {seed}: {plain:?} vs {busy:?}"),
        }
    }
    assert!(
        allocated >= 100,
        "only {allocated} of 150 functions allocated"
    );
}

/// Region order (which only functions of 65,536 instructions or more
/// get) on generated functions ordered by regions of 16 instructions:
/// every output passes the checker, and two runs give the same output.
#[cfg(feature = "arbitrary")]
#[test]
fn region_order_outputs_pass_the_checker() {
    use crate::ion::queue::{RegionOrder, REGION_ORDER_OVERRIDE};
    use crate::RegallocOptions;
    let small_regions = RegionOrder {
        min_insts: 0,
        shift: 4,
    };
    let mut allocated = 0;
    let mut differs = 0;
    for seed in 0..150u64 {
        let (func, env) = varied_function(seed);
        let options = RegallocOptions::default();
        let by_priority = crate::run(&func, &env, &options);
        REGION_ORDER_OVERRIDE.with(|o| o.set(Some(small_regions)));
        let by_region = crate::run(&func, &env, &options);
        let again = crate::run(&func, &env, &options);
        REGION_ORDER_OVERRIDE.with(|o| o.set(None));
        assert_eq!(
            format!("{by_region:?}"),
            format!("{again:?}"),
            "seed {seed}"
        );
        match (by_priority, by_region) {
            (Ok(by_priority), Ok(by_region)) => {
                let mut checker = crate::checker::Checker::new(&func, &env);
                checker.prepare(&by_region);
                if let Err(e) = checker.run() {
                    panic!("seed {seed}: {e}");
                }
                allocated += 1;
                if format!("{:?}", by_priority.edits) != format!("{:?}", by_region.edits) {
                    differs += 1;
                }
            }
            (Err(by_priority), Err(by_region)) => {
                assert_eq!(by_priority, by_region, "seed {seed}")
            }
            (by_priority, by_region) => panic!("seed {seed}: {by_priority:?} vs {by_region:?}"),
        }
    }
    assert!(
        allocated >= 100,
        "only {allocated} of 150 functions allocated"
    );
    // The order must actually have changed allocations, or this test
    // checked the priority order twice.
    assert!(differs >= 20, "region order changed only {differs} outputs");
}
