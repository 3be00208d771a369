//! A small integer IR: a module of functions, each a list of blocks with
//! parameters, 64-bit wrapping arithmetic, compares, calls to functions of
//! the module, and jump / compare-and-branch / return terminators.
//!
//! Text form (parsed by [`parse`], printed by `Display`):
//!
//! ```text
//! fn add3(a, b, c) {
//! entry:
//!     s = add a, b
//!     t = add s, c
//!     ret t
//! }
//! ```
//!
//! The first block is the entry; its parameters are the function's. Values
//! are SSA names local to a function. Operations: `const N`, `add sub mul
//! and or xor` (right operand a value or an integer), `shl shr sar` (an
//! integer amount 0..63), `eq ne lt le gt ge` (signed, giving 0 or 1),
//! `call f(args)`. Terminators: `jump b(args)`, `br_if CC x, y, b1(args),
//! b2(args)`, `ret x`. At most [`MAX_ARGS`] parameters per function.

pub mod gen;
pub mod interp;
pub mod parse;

use core::fmt;

pub use interp::{interpret, InterpError};
pub use parse::{parse, ParseError};

/// Most parameters a function may take (the register arguments both ABIs
/// have in common).
pub const MAX_ARGS: usize = 6;

/// An SSA value of a function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Value(pub u32);

/// A right-hand operand: a value or an immediate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arg {
    Val(Value),
    Imm(i64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    And,
    Or,
    Xor,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShiftOp {
    Shl,
    Shr,
    Sar,
}

/// Signed comparisons.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl BinOp {
    pub const ALL: [BinOp; 6] = [
        BinOp::Add,
        BinOp::Sub,
        BinOp::Mul,
        BinOp::And,
        BinOp::Or,
        BinOp::Xor,
    ];
    pub fn name(self) -> &'static str {
        match self {
            BinOp::Add => "add",
            BinOp::Sub => "sub",
            BinOp::Mul => "mul",
            BinOp::And => "and",
            BinOp::Or => "or",
            BinOp::Xor => "xor",
        }
    }
    pub fn eval(self, a: i64, b: i64) -> i64 {
        match self {
            BinOp::Add => a.wrapping_add(b),
            BinOp::Sub => a.wrapping_sub(b),
            BinOp::Mul => a.wrapping_mul(b),
            BinOp::And => a & b,
            BinOp::Or => a | b,
            BinOp::Xor => a ^ b,
        }
    }
}

impl ShiftOp {
    pub const ALL: [ShiftOp; 3] = [ShiftOp::Shl, ShiftOp::Shr, ShiftOp::Sar];
    pub fn name(self) -> &'static str {
        match self {
            ShiftOp::Shl => "shl",
            ShiftOp::Shr => "shr",
            ShiftOp::Sar => "sar",
        }
    }
    pub fn eval(self, a: i64, amount: u8) -> i64 {
        match self {
            ShiftOp::Shl => a.wrapping_shl(amount as u32),
            ShiftOp::Shr => ((a as u64) >> amount) as i64,
            ShiftOp::Sar => a >> amount,
        }
    }
}

impl CmpOp {
    pub const ALL: [CmpOp; 6] = [
        CmpOp::Eq,
        CmpOp::Ne,
        CmpOp::Lt,
        CmpOp::Le,
        CmpOp::Gt,
        CmpOp::Ge,
    ];
    pub fn name(self) -> &'static str {
        match self {
            CmpOp::Eq => "eq",
            CmpOp::Ne => "ne",
            CmpOp::Lt => "lt",
            CmpOp::Le => "le",
            CmpOp::Gt => "gt",
            CmpOp::Ge => "ge",
        }
    }
    pub fn eval(self, a: i64, b: i64) -> bool {
        match self {
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
            CmpOp::Lt => a < b,
            CmpOp::Le => a <= b,
            CmpOp::Gt => a > b,
            CmpOp::Ge => a >= b,
        }
    }
}

/// A non-terminator instruction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IrInst {
    Const {
        dst: Value,
        value: i64,
    },
    Bin {
        op: BinOp,
        dst: Value,
        lhs: Value,
        rhs: Arg,
    },
    Shift {
        op: ShiftOp,
        dst: Value,
        src: Value,
        amount: u8,
    },
    Cmp {
        op: CmpOp,
        dst: Value,
        lhs: Value,
        rhs: Arg,
    },
    Call {
        dst: Value,
        callee: usize,
        args: Vec<Value>,
    },
}

/// A jump target with the values passed to its parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockCall {
    pub block: usize,
    pub args: Vec<Value>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Terminator {
    Jump(BlockCall),
    BrIf {
        op: CmpOp,
        lhs: Value,
        rhs: Arg,
        then_to: BlockCall,
        else_to: BlockCall,
    },
    Ret(Value),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IrBlock {
    pub name: String,
    pub params: Vec<Value>,
    pub insts: Vec<IrInst>,
    pub term: Terminator,
}

/// A function. `blocks[0]` is the entry; its params are the function's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IrFunc {
    pub name: String,
    pub blocks: Vec<IrBlock>,
    /// `value_names[v]`: the text name of value `v`; values are numbered
    /// densely from 0.
    pub value_names: Vec<String>,
}

impl IrFunc {
    pub fn num_values(&self) -> usize {
        self.value_names.len()
    }
    pub fn params(&self) -> &[Value] {
        &self.blocks[0].params
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Module {
    pub funcs: Vec<IrFunc>,
}

impl Module {
    pub fn func_index(&self, name: &str) -> Option<usize> {
        self.funcs.iter().position(|f| f.name == name)
    }
}

struct Named<'a, T>(&'a IrFunc, T);

impl fmt::Display for Named<'_, Arg> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {
            Arg::Val(v) => f.write_str(&self.0.value_names[v.0 as usize]),
            Arg::Imm(i) => write!(f, "{i}"),
        }
    }
}

impl fmt::Display for Named<'_, &BlockCall> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.0.blocks[self.1.block].name)?;
        write_values(f, self.0, &self.1.args)?;
        f.write_str(")")
    }
}

fn write_values(f: &mut fmt::Formatter<'_>, func: &IrFunc, values: &[Value]) -> fmt::Result {
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        f.write_str(&func.value_names[v.0 as usize])?;
    }
    Ok(())
}

impl fmt::Display for Module {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for func in &self.funcs {
            let n = |v: Value| &func.value_names[v.0 as usize];
            let a = |arg: Arg| Named(func, arg);
            write!(f, "fn {}(", func.name)?;
            write_values(f, func, func.params())?;
            writeln!(f, ") {{")?;
            for (bi, block) in func.blocks.iter().enumerate() {
                if bi == 0 {
                    writeln!(f, "{}:", block.name)?;
                } else {
                    write!(f, "{}(", block.name)?;
                    write_values(f, func, &block.params)?;
                    writeln!(f, "):")?;
                }
                for inst in &block.insts {
                    match inst {
                        IrInst::Const { dst, value } => {
                            writeln!(f, "    {} = const {value}", n(*dst))?
                        }
                        IrInst::Bin { op, dst, lhs, rhs } => writeln!(
                            f,
                            "    {} = {} {}, {}",
                            n(*dst),
                            op.name(),
                            n(*lhs),
                            a(*rhs)
                        )?,
                        IrInst::Shift {
                            op,
                            dst,
                            src,
                            amount,
                        } => writeln!(f, "    {} = {} {}, {amount}", n(*dst), op.name(), n(*src))?,
                        IrInst::Cmp { op, dst, lhs, rhs } => writeln!(
                            f,
                            "    {} = {} {}, {}",
                            n(*dst),
                            op.name(),
                            n(*lhs),
                            a(*rhs)
                        )?,
                        IrInst::Call { dst, callee, args } => {
                            write!(f, "    {} = call {}(", n(*dst), self.funcs[*callee].name)?;
                            write_values(f, func, args)?;
                            writeln!(f, ")")?;
                        }
                    }
                }
                match &block.term {
                    Terminator::Jump(to) => writeln!(f, "    jump {}", Named(func, to))?,
                    Terminator::BrIf {
                        op,
                        lhs,
                        rhs,
                        then_to,
                        else_to,
                    } => writeln!(
                        f,
                        "    br_if {} {}, {}, {}, {}",
                        op.name(),
                        n(*lhs),
                        a(*rhs),
                        Named(func, then_to),
                        Named(func, else_to)
                    )?,
                    Terminator::Ret(v) => writeln!(f, "    ret {}", n(*v))?,
                }
            }
            writeln!(f, "}}")?;
        }
        Ok(())
    }
}
