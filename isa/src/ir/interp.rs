//! The IR's reference interpreter: the meaning every compiled program is
//! checked against. Reads a [`Module`]; writes nothing. Bounded by a step
//! budget and a call-depth limit, so a looping or deeply recursive program
//! yields an error instead of hanging.

use super::*;

/// Why interpretation stopped without a result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InterpError {
    /// No function of that index, or wrong number of arguments.
    BadCall(String),
    /// A value was read before any definition reached it.
    Undefined { func: String, value: String },
    /// The step budget ran out.
    OutOfFuel,
    /// Calls nested deeper than the limit.
    TooDeep,
}

impl fmt::Display for InterpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InterpError::BadCall(m) => write!(f, "bad call: {m}"),
            InterpError::Undefined { func, value } => {
                write!(f, "in `{func}`: `{value}` read before defined")
            }
            InterpError::OutOfFuel => write!(f, "step budget exhausted"),
            InterpError::TooDeep => write!(f, "call depth limit exceeded"),
        }
    }
}

impl std::error::Error for InterpError {}

const MAX_DEPTH: usize = 200;

/// Runs function `func` of `module` on `args`, at most `fuel` instructions.
pub fn interpret(
    module: &Module,
    func: usize,
    args: &[i64],
    fuel: u64,
) -> Result<i64, InterpError> {
    let mut fuel = fuel;
    call(module, func, args, &mut fuel, 0)
}

fn call(
    module: &Module,
    func: usize,
    args: &[i64],
    fuel: &mut u64,
    depth: usize,
) -> Result<i64, InterpError> {
    if depth > MAX_DEPTH {
        return Err(InterpError::TooDeep);
    }
    let f = module
        .funcs
        .get(func)
        .ok_or_else(|| InterpError::BadCall(format!("no function #{func}")))?;
    if f.params().len() != args.len() {
        return Err(InterpError::BadCall(format!(
            "`{}` takes {} args, given {}",
            f.name,
            f.params().len(),
            args.len()
        )));
    }
    let mut vals: Vec<Option<i64>> = vec![None; f.num_values()];
    for (p, a) in f.params().iter().zip(args) {
        vals[p.0 as usize] = Some(*a);
    }
    let get = |vals: &[Option<i64>], v: Value| {
        vals[v.0 as usize].ok_or_else(|| InterpError::Undefined {
            func: f.name.clone(),
            value: f.value_names[v.0 as usize].clone(),
        })
    };
    let arg = |vals: &[Option<i64>], a: Arg| match a {
        Arg::Val(v) => get(vals, v),
        Arg::Imm(i) => Ok(i),
    };
    let mut block = 0;
    loop {
        let b = &f.blocks[block];
        for inst in &b.insts {
            *fuel = fuel.checked_sub(1).ok_or(InterpError::OutOfFuel)?;
            let (dst, value) = match inst {
                IrInst::Const { dst, value } => (dst, *value),
                IrInst::Bin { op, dst, lhs, rhs } => {
                    (dst, op.eval(get(&vals, *lhs)?, arg(&vals, *rhs)?))
                }
                IrInst::Shift {
                    op,
                    dst,
                    src,
                    amount,
                } => (dst, op.eval(get(&vals, *src)?, *amount)),
                IrInst::Cmp { op, dst, lhs, rhs } => {
                    (dst, op.eval(get(&vals, *lhs)?, arg(&vals, *rhs)?) as i64)
                }
                IrInst::Call { dst, callee, args } => {
                    let args = args
                        .iter()
                        .map(|a| get(&vals, *a))
                        .collect::<Result<Vec<_>, _>>()?;
                    (dst, call(module, *callee, &args, fuel, depth + 1)?)
                }
            };
            vals[dst.0 as usize] = Some(value);
        }
        *fuel = fuel.checked_sub(1).ok_or(InterpError::OutOfFuel)?;
        let to = match &b.term {
            Terminator::Ret(v) => return get(&vals, *v),
            Terminator::Jump(to) => to,
            Terminator::BrIf {
                op,
                lhs,
                rhs,
                then_to,
                else_to,
            } => {
                if op.eval(get(&vals, *lhs)?, arg(&vals, *rhs)?) {
                    then_to
                } else {
                    else_to
                }
            }
        };
        // Block arguments are read before any param is written (parallel
        // assignment), so `jump b(y, x)` into `b(x, y)` swaps.
        let incoming = to
            .args
            .iter()
            .map(|a| get(&vals, *a))
            .collect::<Result<Vec<_>, _>>()?;
        for (p, v) in f.blocks[to.block].params.iter().zip(incoming) {
            vals[p.0 as usize] = Some(v);
        }
        block = to.block;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fib_example_gives_6765() {
        let m = parse(include_str!("../../examples/fib.ir")).unwrap();
        let main = m.func_index("main").unwrap();
        assert_eq!(interpret(&m, main, &[20], 1_000_000), Ok(6765));
        assert_eq!(interpret(&m, main, &[1], 1_000_000), Ok(1));
    }

    #[test]
    fn fuel_and_depth_bound_execution() {
        let m = parse("fn f(x) {\nentry:\n    jump l()\nl():\n    jump l()\n}\n").unwrap();
        assert_eq!(interpret(&m, 0, &[0], 1000), Err(InterpError::OutOfFuel));
        let m = parse("fn f(x) {\nentry:\n    y = call f(x)\n    ret y\n}\n").unwrap();
        assert_eq!(interpret(&m, 0, &[0], u64::MAX), Err(InterpError::TooDeep));
    }
}
