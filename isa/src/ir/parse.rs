//! Parser for the IR's text form (see the module doc of [`crate::ir`]).
//!
//! Line-oriented: one function header, block header, instruction or
//! terminator per line; `#` starts a comment. Names are resolved after a
//! function is read, so blocks, values and functions may be used before
//! the line that defines them. Every error names its line.

use super::*;
use std::collections::HashMap;

/// A parse error at a 1-based line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

#[derive(Clone, Debug, PartialEq)]
enum Tok<'a> {
    Ident(&'a str),
    Int(i64),
    Punct(char),
}

fn tokenize(line: &str, lineno: usize) -> Result<Vec<Tok<'_>>, ParseError> {
    let line = line.split('#').next().unwrap_or("");
    let bytes = line.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i] as char;
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            toks.push(Tok::Ident(&line[start..i]));
        } else if c.is_ascii_digit()
            || (c == '-' && bytes.get(i + 1).is_some_and(|b| b.is_ascii_digit()))
        {
            let start = i;
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_alphanumeric() {
                i += 1;
            }
            let text = &line[start..i];
            let value = text.parse::<i64>().map_err(|_| ParseError {
                line: lineno,
                message: format!("bad integer `{text}` (expected a signed 64-bit decimal)"),
            })?;
            toks.push(Tok::Int(value));
        } else if "(),=:{}".contains(c) {
            toks.push(Tok::Punct(c));
            i += 1;
        } else {
            return Err(ParseError {
                line: lineno,
                message: format!("unexpected character `{c}`"),
            });
        }
    }
    Ok(toks)
}

struct Cursor<'a, 't> {
    toks: &'t [Tok<'a>],
    pos: usize,
    line: usize,
}

impl<'a> Cursor<'a, '_> {
    fn err<T>(&self, message: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError {
            line: self.line,
            message: message.into(),
        })
    }
    fn peek(&self) -> Option<&Tok<'a>> {
        self.toks.get(self.pos)
    }
    fn ident(&mut self, what: &str) -> Result<&'a str, ParseError> {
        match self.toks.get(self.pos) {
            Some(Tok::Ident(s)) => {
                self.pos += 1;
                Ok(s)
            }
            other => self.err(format!("expected {what}, found {}", describe(other))),
        }
    }
    fn int(&mut self, what: &str) -> Result<i64, ParseError> {
        match self.toks.get(self.pos) {
            Some(Tok::Int(v)) => {
                self.pos += 1;
                Ok(*v)
            }
            other => self.err(format!("expected {what}, found {}", describe(other))),
        }
    }
    fn punct(&mut self, c: char) -> Result<(), ParseError> {
        match self.toks.get(self.pos) {
            Some(Tok::Punct(p)) if *p == c => {
                self.pos += 1;
                Ok(())
            }
            other => self.err(format!("expected `{c}`, found {}", describe(other))),
        }
    }
    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(&Tok::Punct(c)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn end(&self) -> Result<(), ParseError> {
        match self.peek() {
            None => Ok(()),
            other => self.err(format!("unexpected {} at end of line", describe(other))),
        }
    }
    /// `( name, name, ... )`
    fn name_list(&mut self) -> Result<Vec<&'a str>, ParseError> {
        self.punct('(')?;
        let mut names = Vec::new();
        if self.eat(')') {
            return Ok(names);
        }
        loop {
            names.push(self.ident("a value name")?);
            if self.eat(')') {
                return Ok(names);
            }
            self.punct(',')?;
        }
    }
}

fn describe(tok: Option<&Tok<'_>>) -> String {
    match tok {
        None => "end of line".into(),
        Some(Tok::Ident(s)) => format!("`{s}`"),
        Some(Tok::Int(v)) => format!("`{v}`"),
        Some(Tok::Punct(c)) => format!("`{c}`"),
    }
}

/// An operand before name resolution.
#[derive(Clone, Copy)]
enum RawArg<'a> {
    Name(&'a str),
    Imm(i64),
}

enum RawInst<'a> {
    Const(&'a str, i64),
    Bin(BinOp, &'a str, &'a str, RawArg<'a>),
    Shift(ShiftOp, &'a str, &'a str, i64),
    Cmp(CmpOp, &'a str, &'a str, RawArg<'a>),
    Call(&'a str, &'a str, Vec<&'a str>),
    Jump(&'a str, Vec<&'a str>),
    BrIf(
        CmpOp,
        &'a str,
        RawArg<'a>,
        (&'a str, Vec<&'a str>),
        (&'a str, Vec<&'a str>),
    ),
    Ret(&'a str),
}

struct RawBlock<'a> {
    name: &'a str,
    line: usize,
    params: Vec<&'a str>,
    insts: Vec<(usize, RawInst<'a>)>,
}

struct RawFunc<'a> {
    name: &'a str,
    line: usize,
    params: Vec<&'a str>,
    blocks: Vec<RawBlock<'a>>,
}

fn bin_op(s: &str) -> Option<BinOp> {
    BinOp::ALL.into_iter().find(|op| op.name() == s)
}
fn shift_op(s: &str) -> Option<ShiftOp> {
    ShiftOp::ALL.into_iter().find(|op| op.name() == s)
}
fn cmp_op(s: &str) -> Option<CmpOp> {
    CmpOp::ALL.into_iter().find(|op| op.name() == s)
}

fn raw_arg<'a>(c: &mut Cursor<'a, '_>) -> Result<RawArg<'a>, ParseError> {
    match c.peek() {
        Some(Tok::Int(v)) => {
            let v = *v;
            c.pos += 1;
            Ok(RawArg::Imm(v))
        }
        _ => Ok(RawArg::Name(c.ident("a value or an integer")?)),
    }
}

fn block_call<'a>(c: &mut Cursor<'a, '_>) -> Result<(&'a str, Vec<&'a str>), ParseError> {
    let name = c.ident("a block name")?;
    let args = c.name_list()?;
    Ok((name, args))
}

fn parse_line<'a>(c: &mut Cursor<'a, '_>) -> Result<RawInst<'a>, ParseError> {
    let first = c.ident("an instruction")?;
    let inst = match first {
        "jump" => {
            let (b, args) = block_call(c)?;
            RawInst::Jump(b, args)
        }
        "ret" => RawInst::Ret(c.ident("the returned value")?),
        "br_if" => {
            let op_name = c.ident("a condition")?;
            let Some(op) = cmp_op(op_name) else {
                return c.err(format!("unknown condition `{op_name}` (eq ne lt le gt ge)"));
            };
            let lhs = c.ident("a value")?;
            c.punct(',')?;
            let rhs = raw_arg(c)?;
            c.punct(',')?;
            let then_to = block_call(c)?;
            c.punct(',')?;
            let else_to = block_call(c)?;
            RawInst::BrIf(op, lhs, rhs, then_to, else_to)
        }
        dst => {
            c.punct('=')?;
            let op = c.ident("an operation")?;
            if op == "const" {
                RawInst::Const(dst, c.int("an integer")?)
            } else if op == "call" {
                let callee = c.ident("a function name")?;
                RawInst::Call(dst, callee, c.name_list()?)
            } else if let Some(op) = bin_op(op) {
                let lhs = c.ident("a value")?;
                c.punct(',')?;
                RawInst::Bin(op, dst, lhs, raw_arg(c)?)
            } else if let Some(op) = shift_op(op) {
                let src = c.ident("a value")?;
                c.punct(',')?;
                let amount = c.int("a shift amount")?;
                if !(0..64).contains(&amount) {
                    return c.err(format!("shift amount {amount} is not in 0..64"));
                }
                RawInst::Shift(op, dst, src, amount)
            } else if let Some(op) = cmp_op(op) {
                let lhs = c.ident("a value")?;
                c.punct(',')?;
                RawInst::Cmp(op, dst, lhs, raw_arg(c)?)
            } else {
                return c.err(format!("unknown operation `{op}`"));
            }
        }
    };
    c.end()?;
    Ok(inst)
}

fn is_terminator(inst: &RawInst<'_>) -> bool {
    matches!(
        inst,
        RawInst::Jump(..) | RawInst::BrIf(..) | RawInst::Ret(..)
    )
}

/// Parses a module from its text form.
pub fn parse(text: &str) -> Result<Module, ParseError> {
    let mut funcs: Vec<RawFunc<'_>> = Vec::new();
    let mut in_func = false;
    let mut last_line = 0;
    for (idx, line) in text.lines().enumerate() {
        let lineno = idx + 1;
        last_line = lineno;
        let toks = tokenize(line, lineno)?;
        if toks.is_empty() {
            continue;
        }
        let mut c = Cursor {
            toks: &toks,
            pos: 0,
            line: lineno,
        };
        if !in_func {
            if c.ident("`fn`")? != "fn" {
                return c.err("expected `fn NAME(PARAMS) {`");
            }
            let name = c.ident("a function name")?;
            let params = c.name_list()?;
            c.punct('{')?;
            c.end()?;
            if params.len() > MAX_ARGS {
                return c.err(format!(
                    "function `{name}` has {} params; at most {MAX_ARGS}",
                    params.len()
                ));
            }
            funcs.push(RawFunc {
                name,
                line: lineno,
                params,
                blocks: Vec::new(),
            });
            in_func = true;
            continue;
        }
        let func = funcs.last_mut().expect("in_func implies a function");
        if toks == [Tok::Punct('}')] {
            if func.blocks.is_empty() {
                return c.err(format!("function `{}` has no blocks", func.name));
            }
            in_func = false;
            continue;
        }
        // A block header: `name:` or `name(params):`.
        if matches!(toks.last(), Some(Tok::Punct(':'))) {
            let name = c.ident("a block name")?;
            let params = if c.peek() == Some(&Tok::Punct('(')) {
                c.name_list()?
            } else {
                Vec::new()
            };
            c.punct(':')?;
            c.end()?;
            if func.blocks.is_empty() && !params.is_empty() {
                return c.err("the entry block takes the function's params; give it none");
            }
            if let Some(prev) = func.blocks.last() {
                if !prev.insts.last().is_some_and(|(_, i)| is_terminator(i)) {
                    return c.err(format!(
                        "block `{}` does not end in jump, br_if or ret",
                        prev.name
                    ));
                }
            }
            func.blocks.push(RawBlock {
                name,
                line: lineno,
                params,
                insts: Vec::new(),
            });
            continue;
        }
        let Some(block) = func.blocks.last_mut() else {
            return c.err("instruction before the first block header");
        };
        if block.insts.last().is_some_and(|(_, i)| is_terminator(i)) {
            return c.err(format!(
                "instruction after the terminator of block `{}`",
                block.name
            ));
        }
        let inst = parse_line(&mut c)?;
        block.insts.push((lineno, inst));
    }
    if in_func {
        return Err(ParseError {
            line: last_line,
            message: format!(
                "function `{}` is not closed with `}}`",
                funcs.last().unwrap().name
            ),
        });
    }
    resolve(funcs)
}

fn defined_twice(name: &str, line: usize) -> ParseError {
    ParseError {
        line,
        message: format!("value `{name}` defined twice"),
    }
}

fn resolve(raw: Vec<RawFunc<'_>>) -> Result<Module, ParseError> {
    let mut func_index: HashMap<&str, (usize, usize)> = HashMap::new();
    for (i, f) in raw.iter().enumerate() {
        if func_index.insert(f.name, (i, f.params.len())).is_some() {
            return Err(ParseError {
                line: f.line,
                message: format!("function `{}` defined twice", f.name),
            });
        }
    }
    let mut module = Module::default();
    for f in &raw {
        let mut values: HashMap<&str, Value> = HashMap::new();
        let mut value_names: Vec<String> = Vec::new();
        let mut blocks_by_name: HashMap<&str, (usize, usize)> = HashMap::new();
        // Pass 1: every definition gets a value number, every block an index.
        let mut block_params: Vec<Vec<Value>> = Vec::new();
        for (bi, b) in f.blocks.iter().enumerate() {
            if blocks_by_name
                .insert(b.name, (bi, b.params.len()))
                .is_some()
            {
                return Err(ParseError {
                    line: b.line,
                    message: format!("block `{}` defined twice", b.name),
                });
            }
            let names: Vec<(&str, usize)> = if bi == 0 {
                f.params.iter().map(|p| (*p, f.line)).collect()
            } else {
                b.params.iter().map(|p| (*p, b.line)).collect()
            };
            let mut params = Vec::new();
            for (name, line) in names {
                if values.contains_key(name) {
                    return Err(defined_twice(name, line));
                }
                let v = Value(value_names.len() as u32);
                values.insert(name, v);
                value_names.push(name.to_string());
                params.push(v);
            }
            block_params.push(params);
            for (line, inst) in &b.insts {
                let dst = match inst {
                    RawInst::Const(d, _)
                    | RawInst::Bin(_, d, ..)
                    | RawInst::Shift(_, d, ..)
                    | RawInst::Cmp(_, d, ..)
                    | RawInst::Call(d, ..) => *d,
                    _ => continue,
                };
                if values.contains_key(dst) {
                    return Err(defined_twice(dst, *line));
                }
                let v = Value(value_names.len() as u32);
                values.insert(dst, v);
                value_names.push(dst.to_string());
            }
        }
        // Pass 2: resolve uses.
        let mut blocks = Vec::new();
        for (bi, b) in f.blocks.iter().enumerate() {
            let mut insts = Vec::new();
            let mut term = None;
            for (line, inst) in &b.insts {
                let line = *line;
                let val = |name: &str| -> Result<Value, ParseError> {
                    values.get(name).copied().ok_or_else(|| ParseError {
                        line,
                        message: format!("unknown value `{name}`"),
                    })
                };
                let arg = |a: RawArg<'_>| -> Result<Arg, ParseError> {
                    match a {
                        RawArg::Imm(i) => Ok(Arg::Imm(i)),
                        RawArg::Name(n) => Ok(Arg::Val(val(n)?)),
                    }
                };
                let call = |(name, args): &(&str, Vec<&str>)| -> Result<BlockCall, ParseError> {
                    let &(block, arity) = blocks_by_name.get(name).ok_or_else(|| ParseError {
                        line,
                        message: format!("unknown block `{name}`"),
                    })?;
                    if block == 0 {
                        return Err(ParseError {
                            line,
                            message: "the entry block cannot be a branch target".into(),
                        });
                    }
                    if arity != args.len() {
                        return Err(ParseError {
                            line,
                            message: format!(
                                "block `{name}` takes {arity} args, given {}",
                                args.len()
                            ),
                        });
                    }
                    Ok(BlockCall {
                        block,
                        args: args.iter().map(|a| val(a)).collect::<Result<_, _>>()?,
                    })
                };
                match inst {
                    RawInst::Const(d, v) => insts.push(IrInst::Const {
                        dst: val(d)?,
                        value: *v,
                    }),
                    RawInst::Bin(op, d, l, r) => insts.push(IrInst::Bin {
                        op: *op,
                        dst: val(d)?,
                        lhs: val(l)?,
                        rhs: arg(*r)?,
                    }),
                    RawInst::Shift(op, d, s, amount) => insts.push(IrInst::Shift {
                        op: *op,
                        dst: val(d)?,
                        src: val(s)?,
                        amount: *amount as u8,
                    }),
                    RawInst::Cmp(op, d, l, r) => insts.push(IrInst::Cmp {
                        op: *op,
                        dst: val(d)?,
                        lhs: val(l)?,
                        rhs: arg(*r)?,
                    }),
                    RawInst::Call(d, callee, args) => {
                        let &(callee_idx, arity) =
                            func_index.get(callee).ok_or_else(|| ParseError {
                                line,
                                message: format!("unknown function `{callee}`"),
                            })?;
                        if arity != args.len() {
                            return Err(ParseError {
                                line,
                                message: format!(
                                    "function `{callee}` takes {arity} args, given {}",
                                    args.len()
                                ),
                            });
                        }
                        insts.push(IrInst::Call {
                            dst: val(d)?,
                            callee: callee_idx,
                            args: args.iter().map(|a| val(a)).collect::<Result<_, _>>()?,
                        })
                    }
                    RawInst::Jump(b, args) => {
                        term = Some(Terminator::Jump(call(&(b, args.clone()))?))
                    }
                    RawInst::BrIf(op, l, r, t, e) => {
                        term = Some(Terminator::BrIf {
                            op: *op,
                            lhs: val(l)?,
                            rhs: arg(*r)?,
                            then_to: call(t)?,
                            else_to: call(e)?,
                        })
                    }
                    RawInst::Ret(v) => term = Some(Terminator::Ret(val(v)?)),
                }
            }
            let Some(term) = term else {
                return Err(ParseError {
                    line: b.line,
                    message: format!("block `{}` does not end in jump, br_if or ret", b.name),
                });
            };
            blocks.push(IrBlock {
                name: b.name.to_string(),
                params: block_params[bi].clone(),
                insts,
                term,
            });
        }
        module.funcs.push(IrFunc {
            name: f.name.to_string(),
            blocks,
            value_names,
        });
    }
    Ok(module)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
# sum of 1..n
fn sum(n) {
entry:
    zero = const 0
    jump head(n, zero)
head(i, acc):
    br_if gt i, 0, body(), done()
body():
    acc2 = add acc, i
    i2 = sub i, 1
    jump head(i2, acc2)
done():
    ret acc
}
";

    #[test]
    fn parses_and_prints_round_trip() {
        let m = parse(SAMPLE).unwrap();
        assert_eq!(m.funcs.len(), 1);
        assert_eq!(m.funcs[0].blocks.len(), 4);
        let printed = m.to_string();
        assert_eq!(parse(&printed).unwrap(), m);
    }

    #[test]
    fn errors_name_the_line() {
        let bad = SAMPLE.replace("acc2 = add acc, i", "acc2 = frob acc, i");
        let err = parse(&bad).unwrap_err();
        assert_eq!(err.line, 9);
        assert!(err.message.contains("frob"), "{err}");
        let bad = SAMPLE.replace("jump head(i2, acc2)", "jump head(i2)");
        assert_eq!(parse(&bad).unwrap_err().line, 11);
        let bad = SAMPLE.replace("ret acc", "ret nothing");
        assert!(parse(&bad)
            .unwrap_err()
            .to_string()
            .starts_with("line 13: unknown value"));
        let bad = SAMPLE.replace("}\n", "");
        assert!(parse(&bad).unwrap_err().message.contains("not closed"));
        let bad = SAMPLE.replace("zero = const 0", "zero = const 0\n    n = const 1");
        assert!(parse(&bad).unwrap_err().message.contains("defined twice"));
    }
}
