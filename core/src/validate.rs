//! Input validation: operands, block params, branch arguments and SSA form.
//!
//! Reads: the [`Function`]'s operands, block params and branch arguments,
//! and the [`CfgInfo`] of `cfg::analyze` (which has already checked the
//! block structure, so every block and instruction index here is in
//! range). Writes nothing but two per-vreg scratch columns in the arena.
//!
//! Two kinds of checks, reported in the order regalloc2 0.15.2 reports
//! them (its `ssa::validate_ssa` checks every def before any use), each
//! kind in block then instruction then operand order:
//!
//! 1. *def checks*: operand encoding, vreg range and class, reuse
//!    constraints, and one def per vreg (block params count as defs);
//! 2. *use checks*: every use and branch argument is dominated by its def
//!    (O(1) per query through the dominator-tree numbering).
//!
//! Both run in one pass over the operands ([`check_operands`]): a def
//! error returns at once; the first failing use is remembered, and a use
//! whose def the pass has not reached yet is checked at the end, so the
//! error returned is the one two separate passes would return.
//!
//! Errors, and what regalloc2 does with the same input:
//! * `TooManyOperands`: an instruction with more than 2^16 - 1 operands
//!   (the operand index must fit a `u16` slot other than the "no slot"
//!   value; regalloc2 accepts exactly 2^16 and fails above).
//! * `SSA(vreg, inst)`: a vreg index out of range (`inst` is
//!   `Inst::invalid()` for a block param), a vreg seen with two classes, a
//!   malformed constraint (reuse index out of range or not naming a use of
//!   the same class, reuse on a use, limit above 64, an unused constraint
//!   or class code), or a second def. regalloc2 reports the same for out
//!   of range defs and second defs under `validate_ssa`, and panics or
//!   debug-asserts on the rest.
//! * A second def is allowed only when `allow_multiple_vreg_defs()` holds,
//!   both defs are in one instruction, and `validate_ssa` is off
//!   (regalloc2's SSA validator ignores that flag, so we do too).
//! * A use not dominated by its def: `SSA(vreg, inst)` with
//!   `validate_ssa`, `EntryLivein` without it (regalloc2's liveness then
//!   finds the vreg live into the entry, since a single def that does not
//!   dominate a reachable use leaves a def-free path from the entry). A use
//!   and a def of one vreg in one instruction count as use-before-def.
//! * A branch argument not dominated by its def: `EntryLivein` in both
//!   modes (regalloc2's SSA validator does not look at branch arguments;
//!   its liveness does). Branch arguments are read after the branch's
//!   own defs. A branch argument whose class differs from its target
//!   param's: `Branch(inst)`.
//! * `DisallowedBranchArg` is checked by `cfg::check_critical_edges`,
//!   where regalloc2 checks it too.

use crate::cfg::CfgInfo;
use crate::tables::{Arena, ArenaVec, Column};
use crate::{
    Block, Function, Inst, MachineEnv, Operand, OperandConstraint, OperandKind, PReg,
    RegAllocError, RegClass, VReg,
};

/// Most operands one instruction may have (a `u16` slot index other than
/// the "no slot" value `u16::MAX`).
pub const MAX_OPERANDS: usize = u16::MAX as usize;

/// Marks "no class seen yet" in the per-vreg class column.
const NO_CLASS: u8 = u8::MAX;

/// Where a vreg is defined: its block and a position key ordering defs and
/// uses within the block (`2 * first inst` for a block param, `2 * inst +
/// 1` for an instruction's def; a use at `inst` needs a key below
/// `2 * inst + 1`, a branch argument one below `2 * last + 2`).
#[derive(Clone, Copy, Debug)]
struct DefSite {
    block: Block,
    key: u64,
}

impl DefSite {
    const NONE: DefSite = DefSite {
        block: Block(u32::MAX),
        key: u64::MAX,
    };
}

/// Checks operands, branch arguments and (with `validate_ssa`) SSA form.
/// See the module doc for the rules and their errors.
pub fn validate<F: Function>(
    func: &F,
    _env: &MachineEnv,
    cfg: &CfgInfo<'_>,
    validate_ssa: bool,
    arena: &Arena,
) -> Result<(), RegAllocError> {
    let num_vregs = func.num_vregs();
    let mut defs: Column<usize, DefSite> = Column::filled_in(num_vregs, DefSite::NONE, arena);
    let mut classes: Column<usize, u8> = Column::filled_in(num_vregs, NO_CLASS, arena);
    check_operands(func, cfg, validate_ssa, &mut defs, &mut classes, arena)
}

/// A use check the pass could not decide when it got there (the vreg's
/// def comes later): `seq` numbers use checks in pass order.
struct PendingUse {
    seq: u64,
    index: usize,
    block: Block,
    key: u64,
    error: RegAllocError,
}

/// The use checks of one pass: decided at once when the def was already
/// seen (a def, once recorded, changes only through a def error, which is
/// reported first anyway), else deferred to [`UseChecks::finish`].
struct UseChecks<'a> {
    seq: u64,
    first_failure: Option<(u64, RegAllocError)>,
    pending: ArenaVec<'a, PendingUse>,
}

impl UseChecks<'_> {
    /// Whether the def at `site` reaches a use at `key` in `block`.
    #[inline]
    fn reaches(cfg: &CfgInfo<'_>, site: DefSite, block: Block, key: u64) -> bool {
        site.block.is_valid()
            && if site.block == block {
                site.key < key
            } else {
                cfg.dominates(site.block, block)
            }
    }

    #[inline]
    fn check(
        &mut self,
        cfg: &CfgInfo<'_>,
        defs: &Column<usize, DefSite>,
        index: usize,
        block: Block,
        key: u64,
        error: impl FnOnce() -> RegAllocError,
    ) {
        let seq = self.seq;
        self.seq += 1;
        if self.first_failure.is_some() {
            // A later use cannot be the first failure.
            return;
        }
        let site = defs[index];
        if site.block.is_invalid() {
            self.pending.push(PendingUse {
                seq,
                index,
                block,
                key,
                error: error(),
            });
        } else if !Self::reaches(cfg, site, block, key) {
            self.first_failure = Some((seq, error()));
        }
    }

    /// The first failing use check in pass order, once every def is known.
    fn finish(self, cfg: &CfgInfo<'_>, defs: &Column<usize, DefSite>) -> Result<(), RegAllocError> {
        let failed = self
            .pending
            .into_iter()
            .find(|p| !Self::reaches(cfg, defs[p.index], p.block, p.key));
        match (failed, self.first_failure) {
            (Some(p), Some((seq, _))) if p.seq < seq => Err(p.error),
            (_, Some((_, error))) => Err(error),
            (Some(p), None) => Err(p.error),
            (None, None) => Ok(()),
        }
    }
}

/// The raw vreg index of an operand (read without `Operand::vreg`, which
/// debug-asserts the index fits a `VReg`).
#[inline]
fn raw_vreg_index(op: Operand) -> usize {
    op.bits() as u32 as usize
}

/// A `VReg` naming `index` and the raw class code for an error report,
/// even when `index` does not fit (its low bits are kept).
#[inline]
fn vreg_for_report(index: usize, class_code: u64) -> VReg {
    VReg::from_bits(((index as u32) << 2) | class_code as u32)
}

/// Records `class` for `vreg`, failing if another class was seen.
#[inline]
fn observe_class(classes: &mut Column<usize, u8>, index: usize, class: RegClass) -> Result<(), ()> {
    let seen = &mut classes[index];
    if *seen == NO_CLASS {
        *seen = class as u8;
        Ok(())
    } else if *seen == class as u8 {
        Ok(())
    } else {
        Err(())
    }
}

/// The pass: def checks (operand encoding, vreg ranges and classes,
/// constraints, single defs; fills `defs` and `classes`) fail at once,
/// use checks go through [`UseChecks`].
fn check_operands<F: Function>(
    func: &F,
    cfg: &CfgInfo<'_>,
    validate_ssa: bool,
    defs: &mut Column<usize, DefSite>,
    classes: &mut Column<usize, u8>,
    arena: &Arena,
) -> Result<(), RegAllocError> {
    let num_vregs = func.num_vregs();
    let allow_same_inst_defs = func.allow_multiple_vreg_defs() && !validate_ssa;
    let mut uses = UseChecks {
        seq: 0,
        first_failure: None,
        pending: ArenaVec::new_in(arena),
    };
    for block in (0..func.num_blocks()).map(Block::new) {
        let insts = func.block_insns(block);
        let first = u64::from(insts.first().0);
        for &param in func.block_params(block) {
            let index = param.vreg();
            let err = RegAllocError::SSA(param, Inst::invalid());
            if index >= num_vregs || param.bits() & 3 == 3 {
                return Err(err);
            }
            observe_class(classes, index, param.class()).map_err(|()| err.clone())?;
            if defs[index].block.is_valid() {
                return Err(err);
            }
            defs[index] = DefSite {
                block,
                key: 2 * first,
            };
        }
        for inst in insts.iter() {
            let operands = func.inst_operands(inst);
            if operands.len() > MAX_OPERANDS {
                return Err(RegAllocError::TooManyOperands);
            }
            let key = 2 * u64::from(inst.0) + 1;
            for &op in operands {
                check_operand(op, operands, inst, num_vregs, classes)?;
                let index = raw_vreg_index(op);
                if op.kind() != OperandKind::Def {
                    if index != VReg::MAX {
                        uses.check(cfg, defs, index, block, key, || {
                            if validate_ssa {
                                RegAllocError::SSA(op.vreg(), inst)
                            } else {
                                RegAllocError::EntryLivein
                            }
                        });
                    }
                    continue;
                }
                let site = &mut defs[index];
                if site.block.is_valid() {
                    let same_inst = site.key == key;
                    if !(allow_same_inst_defs && same_inst) {
                        return Err(RegAllocError::SSA(op.vreg(), inst));
                    }
                }
                *site = DefSite { block, key };
            }
        }
        // Branch arguments: range, class, and matching the target param's
        // class (their count was checked by `cfg::check_branch_arity`);
        // read after the branch's own defs.
        let last = insts.last();
        if func.is_branch(last) {
            let arg_key = 2 * u64::from(last.0) + 2;
            for (i, &succ) in func.block_succs(block).iter().enumerate() {
                let params = func.block_params(succ);
                for (&arg, &param) in func.branch_blockparams(block, last, i).iter().zip(params) {
                    let err = RegAllocError::SSA(arg, last);
                    if arg.vreg() >= num_vregs || arg.bits() & 3 == 3 {
                        return Err(err);
                    }
                    observe_class(classes, arg.vreg(), arg.class()).map_err(|()| err)?;
                    if arg.class() != param.class() {
                        return Err(RegAllocError::Branch(last));
                    }
                    uses.check(cfg, defs, arg.vreg(), block, arg_key, || {
                        RegAllocError::EntryLivein
                    });
                }
            }
        }
    }
    uses.finish(cfg, defs)
}

/// Checks one operand's encoding, vreg index, class and constraint.
///
/// Fast path for the common operand (a plain or fixed-register
/// constraint on an in-range vreg whose class agrees): a few bit tests and
/// one class lookup. Anything else goes to [`check_operand_in_full`],
/// which decides exactly as if the fast path did not exist (the fast path
/// changes nothing unless it accepts).
#[inline(always)]
fn check_operand(
    op: Operand,
    operands: &[Operand],
    inst: Inst,
    num_vregs: usize,
    classes: &mut Column<usize, u8>,
) -> Result<(), RegAllocError> {
    let bits = op.bits();
    let index = raw_vreg_index(op);
    let class_code = ((bits >> 32) & 3) as u8;
    let constraint_code = (bits >> 36) & 0b111_1111;
    let plain_or_fixed = constraint_code <= 2 || constraint_code >= 0b100_0000;
    if plain_or_fixed && class_code != 3 && index < num_vregs.min(VReg::MAX) {
        let seen = &mut classes[index];
        if *seen == class_code {
            return Ok(());
        }
        if *seen == NO_CLASS {
            *seen = class_code;
            return Ok(());
        }
    }
    check_operand_in_full(op, operands, inst, num_vregs, classes)
}

#[inline(never)]
fn check_operand_in_full(
    op: Operand,
    operands: &[Operand],
    inst: Inst,
    num_vregs: usize,
    classes: &mut Column<usize, u8>,
) -> Result<(), RegAllocError> {
    let index = raw_vreg_index(op);
    let class_code = (op.bits() >> 32) & 3;
    let report = || RegAllocError::SSA(vreg_for_report(index, class_code), inst);
    if class_code == 3 {
        return Err(report());
    }
    let constraint_code = (op.bits() >> 36) & 0b111_1111;
    if constraint_code < 0b001_0000 && constraint_code > 2 {
        // An unused plain constraint code (it would read as `Any`).
        return Err(report());
    }
    if index == VReg::MAX {
        // Only `fixed_nonallocatable` may use the reserved index.
        return match op.constraint() {
            OperandConstraint::FixedReg(_) if op.kind() == OperandKind::Use => Ok(()),
            _ => Err(report()),
        };
    }
    if index >= num_vregs {
        return Err(report());
    }
    observe_class(classes, index, op.class()).map_err(|()| report())?;
    match op.constraint() {
        OperandConstraint::Reuse(target) => {
            let ok = op.kind() == OperandKind::Def
                && operands.get(target).is_some_and(|&input| {
                    input.kind() == OperandKind::Use
                        && input.class() == op.class()
                        && raw_vreg_index(input) != VReg::MAX
                });
            if !ok {
                return Err(report());
            }
        }
        OperandConstraint::Limit(max) if max > PReg::MAX + 1 => return Err(report()),
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ion::liveranges::testing::*;
    use crate::Operand;

    fn check(func: &crate::owned::FunctionData) -> Result<(), RegAllocError> {
        let arena = Arena::new();
        let cfg = crate::cfg::analyze(func, &arena)?;
        validate(func, &env(), &cfg, true, &arena)
    }

    /// b0 -> b1, b2 -> b3. `b1_ops` and `b2_ops` precede each branch; b1
    /// defines v3 after them, b3 defines v4.
    fn diamond(b1_ops: Vec<Operand>, b2_ops: Vec<Operand>) -> crate::owned::FunctionData {
        let mut b1 = vec![];
        if !b1_ops.is_empty() {
            b1.push(op(b1_ops));
        }
        b1.push(op(vec![Operand::reg_def(v(3))]));
        b1.push(branch(vec![]));
        function(
            5,
            vec![
                B(
                    vec![],
                    vec![op(vec![Operand::reg_def(v(0))]), branch(vec![])],
                    vec![(1, vec![]), (2, vec![])],
                ),
                B(vec![], b1, vec![(3, vec![])]),
                B(vec![], vec![op(b2_ops), branch(vec![])], vec![(3, vec![])]),
                B(
                    vec![],
                    vec![op(vec![Operand::reg_def(v(4))]), ret(vec![])],
                    vec![],
                ),
            ],
        )
    }

    #[test]
    fn a_use_whose_def_comes_later_is_checked_in_order() {
        // b1's use of v4 (defined later, in b3) fails before b2's use of
        // v3 (defined earlier, in b1, which does not dominate b2).
        let func = diamond(vec![Operand::reg_use(v(4))], vec![Operand::reg_use(v(3))]);
        assert_eq!(check(&func), Err(RegAllocError::SSA(v(4), Inst::new(2))));
    }

    #[test]
    fn an_earlier_failing_use_wins_over_a_later_deferred_one() {
        let func = diamond(vec![], vec![Operand::reg_use(v(3)), Operand::reg_use(v(4))]);
        assert_eq!(check(&func), Err(RegAllocError::SSA(v(3), Inst::new(4))));
    }

    #[test]
    fn a_def_error_after_a_failing_use_is_reported_first() {
        // v0 defined twice (in b0 and b2) after b1's failing use of v4.
        let func = diamond(vec![Operand::reg_use(v(4))], vec![Operand::reg_def(v(0))]);
        assert_eq!(check(&func), Err(RegAllocError::SSA(v(0), Inst::new(5))));
    }
}
