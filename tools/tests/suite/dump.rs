//! `regarena::ion::dump` and the per-vreg section of `regarena dump`
//! against the allocator's `Output`: every operand is a use of some live
//! range, and the allocation printed for that range is the operand's
//! allocation (unless the dump marks the difference with `->`, which only
//! reused inputs and multi-fixed-reg copies may need).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use regarena::ion::dump::report;
use regarena::{Allocation, Inst, OperandConstraint, RegallocOptions};
use regarena_tools::corpus;

/// The output's allocation of operand `slot` of `inst`.
fn operand_alloc(out: &regarena::Output, inst: usize, slot: usize) -> Allocation {
    out.allocs[out.inst_alloc_offsets[inst] as usize + slot]
}

#[test]
fn report_agrees_with_output_on_every_sample_function() {
    let (funcs, errors) = corpus::load_sample();
    assert!(errors.is_empty(), "{errors:?}");
    assert!(!funcs.is_empty());
    let (mut uses, mut elsewhere, mut overlaps) = (0usize, 0usize, 0usize);
    for cf in &funcs {
        let name = cf.path.display();
        let r = report(&cf.func, &cf.env).unwrap_or_else(|e| panic!("{name}: {e}"));
        let normal = regarena::run(&cf.func, &cf.env, &RegallocOptions::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            r.output.allocs, normal.allocs,
            "{name}: dump reruns the same allocation"
        );
        assert_eq!(r.output.edits, normal.edits, "{name}");

        // Which operands some range's use covers.
        let mut covered: Vec<Vec<bool>> = cf
            .func
            .insts
            .iter()
            .map(|i| vec![false; i.operands.len()])
            .collect();
        for v in &r.vregs {
            assert!(
                !v.ranges.is_empty(),
                "{name}: {:?} listed without ranges",
                v.vreg
            );
            for range in &v.ranges {
                assert!(
                    range.alloc.is_some(),
                    "{name}: {:?} has no allocation",
                    range.id
                );
                overlaps += usize::from(!range.also.is_empty());
                for u in &range.uses {
                    assert!(
                        range.range.from <= u.pos && u.pos <= range.range.to,
                        "{name}: use {u} outside {:?}",
                        range.id
                    );
                    let Some(slot) = u.slot else { continue };
                    let inst = u.pos.inst().index();
                    let actual = operand_alloc(&r.output, inst, slot);
                    assert_eq!(u.operand_alloc, Some(actual), "{name}: {u}");
                    assert_eq!(u.operand.vreg().vreg(), v.vreg.index(), "{name}: {u}");
                    covered[inst][slot] = true;
                    uses += 1;
                    if actual != range.alloc {
                        // Only a reused input (it reads from its def's
                        // register) or a multi-fixed-reg copy may differ.
                        let ops = &cf.func.insts[inst].operands;
                        let reused = ops.iter().enumerate().any(|(d, op)| {
                            op.constraint() == OperandConstraint::Reuse(slot)
                                && operand_alloc(&r.output, inst, d) == actual
                        });
                        let fixed_copy = matches!(
                            ops[slot].constraint(),
                            OperandConstraint::FixedReg(p) if Allocation::reg(p) == actual
                        );
                        assert!(
                            reused || fixed_copy,
                            "{name}: {u} in {:?} = {}, output says {actual}",
                            range.id,
                            range.alloc
                        );
                        elsewhere += 1;
                    }
                }
            }
        }
        for (i, data) in cf.func.insts.iter().enumerate() {
            for (k, op) in data.operands.iter().enumerate() {
                if op.as_fixed_nonallocatable().is_some() {
                    continue;
                }
                let alloc = operand_alloc(&r.output, i, k);
                assert!(
                    covered[i][k]
                        || matches!(op.constraint(), OperandConstraint::FixedReg(p) if Allocation::reg(p) == alloc),
                    "{name}: {:?}#{k} ({op}) is no range's use",
                    Inst::new(i)
                );
            }
        }
        let text = r.to_string();
        assert_eq!(
            text.lines().filter(|l| l.starts_with("  lr")).count(),
            r.vregs.iter().map(|v| v.ranges.len()).sum::<usize>(),
            "{name}: one line per range"
        );
    }
    eprintln!(
        "{} functions: {uses} uses checked, {elsewhere} placed elsewhere by moves, \
         {overlaps} ranges overlapping another of their vreg",
        funcs.len()
    );
    assert!(uses > 1000, "{uses} uses");
}

/// The binary's text: for each use printed in the per-vreg section, the
/// range's printed allocation (or the use's `->` one) is what the
/// "operand allocations by vreg" section says about that operand.
#[test]
fn cli_dump_per_vreg_section_matches_operand_allocations() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sample/blake3-scalar/blake3-scalar-x86_64-41.bin");
    let out = Command::new(env!("CARGO_BIN_EXE_regarena"))
        .arg("dump")
        .arg(&file)
        .output()
        .expect("the regarena binary runs");
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(!text.contains("not shown"), "{text}");

    // "v300: i1#0 = p3i, i2#0 = p6i" lines.
    let mut by_operand: BTreeMap<(String, String), String> = BTreeMap::new();
    let start = text
        .find("; operand allocations by vreg")
        .expect("operand section");
    let internals = text
        .find("; regarena internals")
        .expect("internals section");
    for line in text[start..internals].lines().skip(1) {
        if line.starts_with(';') {
            continue;
        }
        let Some((vreg, list)) = line.split_once(": ") else {
            continue;
        };
        for item in list.split(", ") {
            let (op, alloc) = item.split_once(" = ").expect("inst#slot = alloc");
            by_operand.insert((vreg.to_string(), op.to_string()), alloc.to_string());
        }
    }
    assert!(!by_operand.is_empty());

    let mut vreg = String::new();
    let mut checked = 0;
    for line in text[internals..].lines() {
        if line.starts_with('v') {
            vreg = line.split(' ').next().unwrap_or_default().to_string();
            continue;
        }
        let Some(range) = line.strip_prefix("  lr") else {
            continue;
        };
        let (head, uses) = range.split_once(" | ").unwrap_or((range, ""));
        let alloc = head
            .split_once(" = ")
            .and_then(|(_, rest)| rest.split(' ').next())
            .expect("a range line shows its allocation");
        assert!(head.contains('[') && head.contains(')'), "{line}");
        for u in uses.split(", ").filter(|u| !u.is_empty()) {
            let point = u.split(' ').next().expect("use point");
            let (inst_pos, slot) = point.split_once('#').expect("point#slot");
            if slot == "-" {
                continue;
            }
            let inst = inst_pos.split('-').next().expect("iN");
            let expect = u.split_once(" ->").map_or(alloc, |(_, a)| a);
            let key = (vreg.clone(), format!("{inst}#{slot}"));
            assert_eq!(
                by_operand.get(&key).map(String::as_str),
                Some(expect),
                "{key:?} in {line}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, by_operand.len(), "every operand shows as a use");
    assert!(text.contains("; stats: "), "{text}");
}
