//! A deterministic generator of IR programs for end-to-end tests: each
//! seed gives a module whose `main` has many values live at once (more
//! than the registers, so spills happen), calls to helper functions with
//! arguments in fixed registers (sometimes the same value twice), a
//! counted loop whose accumulators are passed permuted at the back edge
//! (parallel-move cycles at block params), and if/else diamonds merging
//! through block params. Every program terminates (loop counts are
//! constants below 8; helpers neither loop nor recurse).
//!
//! Writes the program as text, so the parser is exercised too.

use std::fmt::Write;

/// xorshift64*: small, deterministic, good enough for test shapes.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in `lo..hi` (`hi > lo`).
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next_u64() % (hi - lo) as u64) as usize
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.range(0, items.len())]
    }
}

/// A generated program: its text and the arguments to run `main` with.
pub struct Program {
    pub text: String,
    pub args: Vec<i64>,
}

struct Writer {
    text: String,
    next_value: usize,
}

impl Writer {
    fn fresh(&mut self) -> String {
        self.next_value += 1;
        format!("v{}", self.next_value - 1)
    }
    fn line(&mut self, s: &str) {
        self.text.push_str(s);
        self.text.push('\n');
    }

    /// Appends `count` random operations over `pool`, adding their results.
    fn ops(&mut self, rng: &mut Rng, pool: &mut Vec<String>, count: usize, helpers: &[usize]) {
        const BIN: [&str; 6] = ["add", "sub", "mul", "and", "or", "xor"];
        const SHIFT: [&str; 3] = ["shl", "shr", "sar"];
        const CMP: [&str; 6] = ["eq", "ne", "lt", "le", "gt", "ge"];
        for _ in 0..count {
            let dst = self.fresh();
            let a = rng.pick(pool).clone();
            let b = rng.pick(pool).clone();
            let imm = [0i64, 1, 3, 100, 4095, 4096, -7, 1 << 33, -(1 << 40)][rng.range(0, 9)];
            let line = match rng.range(0, 10) {
                0..=3 => format!("    {dst} = {} {a}, {b}", rng.pick(&BIN)),
                4 | 5 => format!("    {dst} = {} {a}, {imm}", rng.pick(&BIN)),
                6 => format!("    {dst} = {} {a}, {}", rng.pick(&SHIFT), rng.range(0, 64)),
                7 => format!("    {dst} = {} {a}, {b}", rng.pick(&CMP)),
                8 => format!(
                    "    {dst} = const {}",
                    rng.next_u64() as i64 >> rng.range(0, 64)
                ),
                _ if !helpers.is_empty() => {
                    let h = rng.range(0, helpers.len());
                    let args: Vec<String> =
                        (0..helpers[h]).map(|_| rng.pick(pool).clone()).collect();
                    format!("    {dst} = call h{h}({})", args.join(", "))
                }
                _ => format!("    {dst} = add {a}, {b}"),
            };
            self.line(&line);
            pool.push(dst);
        }
    }
}

/// The program for `seed`.
pub fn program(seed: u64) -> Program {
    let mut rng = Rng::new(seed);
    let mut w = Writer {
        text: String::new(),
        next_value: 0,
    };
    let _ = writeln!(w.text, "# generated program, seed {seed}");

    // Helpers: straight-line code, sometimes with a diamond.
    let num_helpers = rng.range(0, 3);
    let mut helper_arities = Vec::new();
    for h in 0..num_helpers {
        let arity = rng.range(1, 7);
        let params: Vec<String> = (0..arity).map(|_| w.fresh()).collect();
        w.line(&format!("fn h{h}({}) {{", params.join(", ")));
        w.line("entry:");
        let mut pool = params.clone();
        let n = rng.range(1, 8);
        w.ops(&mut rng, &mut pool, n, &helper_arities);
        let x = rng.pick(&pool).clone();
        let y = rng.pick(&pool).clone();
        let (l, r) = (w.fresh(), w.fresh());
        let m = w.fresh();
        w.line(&format!("    br_if lt {x}, {y}, left(), right()"));
        w.line("left():");
        w.line(&format!("    {l} = sub {x}, {y}"));
        w.line(&format!("    jump join({l})"));
        w.line("right():");
        w.line(&format!("    {r} = mul {y}, 3"));
        w.line(&format!("    jump join({r})"));
        w.line(&format!("join({m}):"));
        let mut pool2 = pool.clone();
        pool2.push(m.clone());
        w.ops(&mut rng, &mut pool2, 2, &helper_arities);
        w.line(&format!("    ret {}", pool2.last().unwrap()));
        w.line("}");
        helper_arities.push(arity);
    }

    // main
    let arity = rng.range(1, 7);
    let params: Vec<String> = (0..arity).map(|_| w.fresh()).collect();
    w.line(&format!("fn main({}) {{", params.join(", ")));
    w.line("entry:");
    let mut pool = params.clone();
    // Many values, all live until the exit block sums them: more than the
    // allocatable registers, so some must spill.
    let wide = rng.range(20, 34);
    w.ops(&mut rng, &mut pool, wide, &helper_arities);
    let entry_pool = pool.clone();

    let count = w.fresh();
    w.line(&format!("    {count} = const {}", rng.range(0, 8)));
    let num_accs = rng.range(2, 5);
    let init: Vec<String> = (0..num_accs)
        .map(|_| rng.pick(&entry_pool).clone())
        .collect();
    w.line(&format!("    jump head({count}, {})", init.join(", ")));

    let i = w.fresh();
    let accs: Vec<String> = (0..num_accs).map(|_| w.fresh()).collect();
    w.line(&format!("head({i}, {}):", accs.join(", ")));
    w.line(&format!("    br_if gt {i}, 0, body(), exit()"));
    w.line("body():");
    let mut body_pool = entry_pool.clone();
    body_pool.push(i.clone());
    body_pool.extend(accs.iter().cloned());
    let n = rng.range(2, 10);
    w.ops(&mut rng, &mut body_pool, n, &helper_arities);
    if rng.chance(60) {
        // A diamond inside the loop body, merged through a block param.
        let x = rng.pick(&body_pool).clone();
        let y = rng.pick(&body_pool).clone();
        let (l, r, m) = (w.fresh(), w.fresh(), w.fresh());
        w.line(&format!("    br_if ge {x}, {y}, then(), else()"));
        w.line("then():");
        w.line(&format!("    {l} = xor {x}, {y}"));
        w.line(&format!("    jump merge({l}, {x})"));
        w.line("else():");
        w.line(&format!("    {r} = add {y}, 17"));
        w.line(&format!("    jump merge({y}, {r})"));
        let m2 = w.fresh();
        w.line(&format!("merge({m}, {m2}):"));
        // Values of the then/else blocks are gone; the params carry on.
        body_pool.push(m);
        body_pool.push(m2);
        let n = rng.range(1, 4);
        w.ops(&mut rng, &mut body_pool, n, &helper_arities);
    }
    // New accumulators: mostly the old ones permuted (cycles), some fresh.
    let mut next: Vec<String> = accs.clone();
    next.rotate_left(1);
    if rng.chance(50) && num_accs >= 2 {
        next.swap(0, 1);
    }
    for slot in next.iter_mut() {
        if rng.chance(40) {
            *slot = rng.pick(&body_pool).clone();
        }
    }
    let i2 = w.fresh();
    w.line(&format!("    {i2} = sub {i}, 1"));
    w.line(&format!("    jump head({i2}, {})", next.join(", ")));

    w.line("exit():");
    let mut sum = accs[0].clone();
    for v in entry_pool.iter().chain(accs.iter().skip(1)) {
        let s = w.fresh();
        let op = rng.pick(&["add", "xor", "sub"]);
        w.line(&format!("    {s} = {op} {sum}, {v}"));
        sum = s;
    }
    w.line(&format!("    ret {sum}"));
    w.line("}");

    let args = (0..arity)
        .map(|_| (rng.next_u64() as i64) >> rng.range(0, 64))
        .collect();
    Program { text: w.text, args }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{interpret, parse};

    #[test]
    fn generated_programs_parse_and_terminate() {
        for seed in 0..300 {
            let p = program(seed);
            let m = parse(&p.text).unwrap_or_else(|e| panic!("seed {seed}: {e}\n{}", p.text));
            let main = m.func_index("main").unwrap();
            interpret(&m, main, &p.args, 1_000_000)
                .unwrap_or_else(|e| panic!("seed {seed}: {e}\n{}", p.text));
            assert_eq!(
                parse(&m.to_string()).unwrap(),
                m,
                "seed {seed}: print/parse round trip"
            );
        }
    }

    #[test]
    fn same_seed_same_program() {
        assert_eq!(program(7).text, program(7).text);
        assert_ne!(program(7).text, program(8).text);
    }
}
