//! Emission, ELF, qemu and mmap plumbing proven without the allocator: a
//! lowered function gets allocations and edits chosen by hand (physical
//! registers picked by this test, including a spill, a reload, a
//! stack-to-stack move and a callee-saved register), is emitted by the
//! real backend and run: natively for x64, under qemu for aarch64.

use regarena::{Allocation, Edit, Function, Inst, Output, PReg, ProgPoint, SpillSlot};
use regarena_isa::aarch64::{self, emit::Aarch64};
use regarena_isa::lower::{lower_function, Backend};
use regarena_isa::machinst::MachBuffer;
use regarena_isa::x64::{self, emit::X64};
use regarena_isa::{exec, ir};

/// Writes to the process's stderr directly: libtest captures `println!`
/// of passing tests, and these counts and skips must show in every run.
macro_rules! report {
    ($($arg:tt)*) => {{
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

const SRC: &str = "\
fn f(a, b) {
entry:
    s = add a, b
    t = mul s, 3
    ret t
}
";

fn r(p: PReg) -> Allocation {
    Allocation::reg(p)
}
fn st(i: usize) -> Allocation {
    Allocation::stack(SpillSlot::new(i))
}
fn mv(point: ProgPoint, from: Allocation, to: Allocation) -> (ProgPoint, Edit) {
    (point, Edit::Move { from, to })
}

/// Builds an `Output` from per-instruction allocations and edits.
fn output(per_inst: Vec<Vec<Allocation>>, edits: Vec<(ProgPoint, Edit)>, slots: usize) -> Output {
    let mut out = Output {
        num_spillslots: slots,
        edits,
        ..Output::default()
    };
    for allocs in per_inst {
        out.inst_alloc_offsets.push(out.allocs.len() as u32);
        out.allocs.extend(allocs);
    }
    out
}

fn emit(backend: &dyn Backend, out: &Output) -> Vec<u8> {
    let module = ir::parse(SRC).unwrap();
    let code = lower_function(backend, &module.funcs[0]).unwrap();
    let per_inst: Vec<usize> = (0..code.num_insts())
        .map(|i| code.inst_operands(Inst::new(i)).len())
        .collect();
    let given: Vec<usize> = (0..code.num_insts())
        .map(|i| out.inst_allocs(Inst::new(i)).len())
        .collect();
    assert_eq!(per_inst, given, "hand allocation must cover every operand");
    let mut buf = MachBuffer::new();
    let label = buf.get_label();
    buf.bind_label(label);
    backend
        .emit_function(&code, out, &[label], &mut buf)
        .unwrap();
    buf.finish().unwrap()
}

#[test]
fn x64_hand_allocated_code_runs_natively() {
    use x64::*;
    // insts: Args[a,b] ; add (use a, use b, reuse-def s) ; imul-imm (use s, def t) ; ret (use t)
    let i = |n| Inst::new(n);
    let out = output(
        vec![
            vec![r(RDI), r(RSI)],
            vec![r(RAX), r(RSI), r(RAX)],
            vec![r(RCX), r(RBX)],
            vec![r(RAX)],
        ],
        vec![
            mv(ProgPoint::before(i(1)), r(RDI), r(RAX)),
            mv(ProgPoint::after(i(1)), r(RAX), st(0)),
            mv(ProgPoint::after(i(1)), st(0), st(1)),
            mv(ProgPoint::before(i(2)), st(1), r(RCX)),
            mv(ProgPoint::before(i(3)), r(RBX), r(RAX)),
        ],
        2,
    );
    let code = emit(&X64::default(), &out);
    for (a, b) in [(1, 2), (-5, 3), (1 << 40, 7)] {
        let got = unsafe { exec::run_x64(&code, 0, &[a, b]) }.unwrap();
        assert_eq!(got, (a + b) * 3, "f({a}, {b})");
    }
}

#[test]
fn aarch64_hand_allocated_code_runs_under_qemu() {
    use aarch64::xreg;
    if exec::qemu_aarch64().is_none() {
        report!("SKIP aarch64 plumbing: qemu-aarch64-static not installed (apt-get install qemu-user-static)");
        return;
    }
    // insts: Args[a,b] ; add (use a, use b, def s) ; imm 3 (def) ; mul (use s, use k, def t) ; ret (use t)
    let i = |n| Inst::new(n);
    let out = output(
        vec![
            vec![r(xreg(0)), r(xreg(1))],
            vec![r(xreg(0)), r(xreg(1)), r(xreg(2))],
            vec![r(xreg(3))],
            vec![r(xreg(4)), r(xreg(3)), r(xreg(19))],
            vec![r(xreg(0))],
        ],
        vec![
            mv(ProgPoint::after(i(1)), r(xreg(2)), st(0)),
            mv(ProgPoint::after(i(1)), st(0), st(1)),
            mv(ProgPoint::before(i(3)), st(1), r(xreg(4))),
            mv(ProgPoint::before(i(4)), r(xreg(19)), r(xreg(0))),
        ],
        2,
    );
    let code = emit(&Aarch64::default(), &out);
    for (a, b) in [(1, 2), (-5, 3), (1 << 40, 7)] {
        let got = exec::run_aarch64(&code, 0, &[a, b]).unwrap();
        assert_eq!(got, (a + b) * 3, "f({a}, {b})");
    }
}
