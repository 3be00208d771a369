//! What a bundle needs from its allocation: the requirement lattice, the
//! conflict kinds, and the packed form a bundle caches. The scan that folds
//! a bundle's uses into one requirement reads the tables, so it lives with
//! the bundles it reads (`merge::compute_requirement`); this module reads
//! no table.
//!
//! Algorithm from regalloc2 0.15.2 `src/ion/requirement.rs`: the same
//! lattice and the same conflict classification, so the splitter cuts at
//! the same points. The conflict kind and point are always returned to the
//! caller (the splitter uses both), never collapsed into a bare "conflict".

use crate::{PReg, ProgPoint};

/// A requirement on a bundle's location. `Any` is the top of the lattice;
/// [`Requirement::merge`] moves down toward the most specific requirement
/// or fails when two requirements cannot both hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Requirement {
    /// No constraint: a register or a stack slot.
    Any,
    /// Some register of the class.
    Register,
    /// This register.
    FixedReg(PReg),
    /// A register whose `hw_enc` is below the bound.
    Limit(usize),
    /// A spill slot.
    Stack,
    /// This fixed stack slot (a `PReg` listed in `fixed_stack_slots`).
    FixedStack(PReg),
}

/// Two requirements that cannot hold at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequirementConflict;

impl Requirement {
    /// The meet of two requirements, or a conflict.
    #[inline]
    pub fn merge(self, other: Requirement) -> Result<Requirement, RequirementConflict> {
        use Requirement::*;
        match (self, other) {
            (req, Any) | (Any, req) => Ok(req),
            (Register, Register) => Ok(Register),
            (Stack, Stack) => Ok(Stack),
            (Limit(a), Limit(b)) => Ok(Limit(a.min(b))),
            (FixedReg(a), FixedReg(b)) if a == b => Ok(self),
            (FixedStack(a), FixedStack(b)) if a == b => Ok(self),
            (Limit(bound), Register) | (Register, Limit(bound)) => Ok(Limit(bound)),
            // A fixed register satisfies a limit only if it is below it.
            (Limit(bound), FixedReg(preg)) | (FixedReg(preg), Limit(bound))
                if preg.hw_enc() < bound =>
            {
                Ok(FixedReg(preg))
            }
            (Register, FixedReg(preg)) | (FixedReg(preg), Register) => Ok(FixedReg(preg)),
            (Stack, FixedStack(preg)) | (FixedStack(preg), Stack) => Ok(FixedStack(preg)),
            _ => Err(RequirementConflict),
        }
    }

    /// Whether only a stack location satisfies the requirement.
    #[inline]
    pub fn is_stack(self) -> bool {
        matches!(self, Requirement::Stack | Requirement::FixedStack(_))
    }

    /// Whether only a register satisfies the requirement.
    #[inline]
    pub fn is_reg(self) -> bool {
        matches!(
            self,
            Requirement::Register | Requirement::FixedReg(_) | Requirement::Limit(_)
        )
    }
}

/// Where and how a bundle's uses disagree; tells the splitter where to cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequirementConflictAt {
    /// Stack-constrained uses, then a register use at the point: cut late
    /// (just before the register use) so the stretch in between stays with
    /// the cheap stack side.
    StackToReg(ProgPoint),
    /// Register uses, then a stack use; the point is the last register
    /// use: cut early, right after it.
    RegToStack(ProgPoint),
    /// Any other disagreement (e.g. two different fixed registers), at the
    /// later use. The splitter also trims the ends around the cut, so the
    /// stretch between the two uses goes to neither side.
    Other(ProgPoint),
}

impl RequirementConflictAt {
    /// Whether the split should also trim the range around the cut point
    /// (moving the middle into the spill bundle).
    #[inline]
    pub fn should_trim_edges_around_split(self) -> bool {
        matches!(self, RequirementConflictAt::Other(_))
    }

    /// The program point at which to split.
    #[inline]
    pub fn suggested_split_point(self) -> ProgPoint {
        match self {
            RequirementConflictAt::StackToReg(point)
            | RequirementConflictAt::RegToStack(point)
            | RequirementConflictAt::Other(point) => point,
        }
    }
}

/// A bundle's requirement or requirement conflict in 8 bytes, as the
/// bundle table caches it (`Bundles::requirement`): tag in the low byte, a
/// register index in the next, a limit or program point in the high half.
/// The default is "not computed".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PackedRequirement(u64);

impl Default for PackedRequirement {
    fn default() -> Self {
        PackedRequirement(u64::from(Self::NOT_COMPUTED))
    }
}

impl PackedRequirement {
    const NOT_COMPUTED: u8 = 0xff;

    /// Packs `requirement`. A limit above `u32::MAX` is kept as
    /// `u32::MAX`: both exceed every `hw_enc`, so they mean the same.
    pub fn pack(requirement: Result<Requirement, RequirementConflictAt>) -> Self {
        let (tag, reg, high): (u8, usize, u32) = match requirement {
            Ok(Requirement::Any) => (0, 0, 0),
            Ok(Requirement::Register) => (1, 0, 0),
            Ok(Requirement::FixedReg(preg)) => (2, preg.index(), 0),
            Ok(Requirement::Limit(bound)) => (3, 0, u32::try_from(bound).unwrap_or(u32::MAX)),
            Ok(Requirement::Stack) => (4, 0, 0),
            Ok(Requirement::FixedStack(preg)) => (5, preg.index(), 0),
            Err(RequirementConflictAt::StackToReg(at)) => (8, 0, at.to_index()),
            Err(RequirementConflictAt::RegToStack(at)) => (9, 0, at.to_index()),
            Err(RequirementConflictAt::Other(at)) => (10, 0, at.to_index()),
        };
        PackedRequirement(u64::from(tag) | (reg as u64) << 8 | u64::from(high) << 32)
    }

    /// Whether a requirement has been packed here.
    pub fn is_computed(self) -> bool {
        self.0 as u8 != Self::NOT_COMPUTED
    }

    /// The packed requirement (`Any` if none was packed).
    pub fn unpack(self) -> Result<Requirement, RequirementConflictAt> {
        let reg = PReg::from_index((self.0 >> 8) as u8 as usize);
        let high = (self.0 >> 32) as u32;
        let at = ProgPoint::from_index(high);
        match self.0 as u8 {
            1 => Ok(Requirement::Register),
            2 => Ok(Requirement::FixedReg(reg)),
            3 => Ok(Requirement::Limit(high as usize)),
            4 => Ok(Requirement::Stack),
            5 => Ok(Requirement::FixedStack(reg)),
            8 => Err(RequirementConflictAt::StackToReg(at)),
            9 => Err(RequirementConflictAt::RegToStack(at)),
            10 => Err(RequirementConflictAt::Other(at)),
            _ => Ok(Requirement::Any),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RegClass;

    fn preg(n: usize) -> PReg {
        PReg::new(n, RegClass::Int)
    }

    #[test]
    fn lattice_merges() {
        use Requirement::*;
        assert_eq!(Any.merge(Register), Ok(Register));
        assert_eq!(Register.merge(FixedReg(preg(3))), Ok(FixedReg(preg(3))));
        assert_eq!(Limit(8).merge(Register), Ok(Limit(8)));
        assert_eq!(Limit(8).merge(Limit(4)), Ok(Limit(4)));
        assert_eq!(Limit(4).merge(FixedReg(preg(3))), Ok(FixedReg(preg(3))));
        assert_eq!(Limit(3).merge(FixedReg(preg(3))), Err(RequirementConflict));
        assert_eq!(Stack.merge(FixedStack(preg(40))), Ok(FixedStack(preg(40))));
        assert_eq!(Stack.merge(Register), Err(RequirementConflict));
        assert_eq!(
            FixedReg(preg(1)).merge(FixedReg(preg(2))),
            Err(RequirementConflict)
        );
        assert!(Stack.is_stack() && !Stack.is_reg());
        assert!(Limit(2).is_reg() && !Any.is_reg() && !Any.is_stack());
    }
}
