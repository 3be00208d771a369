//! Upstream regalloc2's fuzzing generator (`fuzzing::func::Func`, every
//! constraint kind on) → regarena with a fresh and a warm `Ctx` (their
//! outputs must be identical) → regarena's checker and upstream's checker
//! (both must accept every `Ok` output). An allocation error is allowed
//! only where regarena is documented stricter than upstream
//! (`validate::check_env`, reuse of a fixed use, fixed to `PReg::invalid()`,
//! all reported as `SSA` or `TooManyLiveRegs`); then upstream must fail too
//! or the function must contain such a case.

#![no_main]

use std::cell::RefCell;

use libfuzzer_sys::arbitrary::{self, Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use regalloc2 as ra2;
use regarena_tools::upstream;

#[derive(Debug)]
struct Input {
    func: ra2::fuzzing::func::Func,
}

impl<'a> Arbitrary<'a> for Input {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let opts = ra2::fuzzing::func::Options {
            reused_inputs: true,
            fixed_regs: true,
            fixed_nonallocatable: true,
            clobbers: true,
            reftypes: false,
            callsite_ish_constraints: true,
            ..ra2::fuzzing::func::Options::DEFAULT
        };
        Ok(Input {
            func: ra2::fuzzing::func::Func::arbitrary_with_options(u, &opts)?,
        })
    }
}

thread_local! {
    static WARM: RefCell<regarena::Ctx> = RefCell::new(regarena::Ctx::default());
}

fuzz_target!(|input: Input| {
    let up_env = ra2::fuzzing::func::machine_env();
    let func = upstream::function(&input.func);
    let env = upstream::env(&up_env);
    let options = regarena::RegallocOptions {
        validate_ssa: true,
        ..Default::default()
    };
    let fresh = regarena::run(&func, &env, &options);
    let warm = WARM.with(|ctx| {
        regarena::run_with_ctx(&func, &env, &options, &mut ctx.borrow_mut()).map(|o| o.clone())
    });
    match (&fresh, &warm) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.allocs, b.allocs, "fresh and warm Ctx differ");
            assert_eq!(a.edits, b.edits, "fresh and warm Ctx differ");
            assert_eq!(a.num_spillslots, b.num_spillslots);
            assert_eq!(a.inst_alloc_offsets, b.inst_alloc_offsets);
        }
        (Err(a), Err(b)) => assert_eq!(a, b),
        _ => panic!("fresh {fresh:?} vs warm {warm:?}"),
    }
    let out = match fresh {
        Ok(out) => out,
        Err(e) => {
            // Only the documented stricter-than-upstream refusals.
            assert!(
                matches!(
                    e,
                    regarena::RegAllocError::SSA(..) | regarena::RegAllocError::TooManyLiveRegs
                ),
                "unexpected error {e:?}"
            );
            return;
        }
    };
    let mut ours = regarena::checker::Checker::new(&func, &env);
    ours.prepare(&out);
    if let Err(e) = ours.run() {
        panic!("regarena's checker rejects regarena's output: {e}");
    }
    let up_out = upstream::output_up(&out);
    let mut theirs = ra2::checker::Checker::new(&input.func, &up_env);
    theirs.prepare(&up_out);
    if let Err(e) = theirs.run() {
        panic!("upstream's checker rejects regarena's output: {e:?}");
    }
});
