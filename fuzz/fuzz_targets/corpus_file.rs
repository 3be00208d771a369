//! Arbitrary bytes as a regalloc2-tool corpus file → the CLI's loader
//! (`corpus::decode`) → regarena (Ion, then the single-pass allocator) →
//! regarena's checker. No
//! panic anywhere (libFuzzer's panic hook aborts before the loader's own
//! `catch_unwind`, so a panic the loader would hide is still found): a
//! file is an error naming it, an allocation error, or a checked output.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use regarena_tools::corpus;

fuzz_target!(|bytes: &[u8]| {
    let cf = match corpus::decode(Path::new("fuzz.bin"), "fuzz", bytes) {
        Ok(cf) => cf,
        Err(e) => {
            assert!(e.to_string().starts_with("fuzz.bin: "), "{e}");
            return;
        }
    };
    for algorithm in [regarena::Algorithm::Ion, regarena::Algorithm::Fastalloc] {
        let options = regarena::RegallocOptions {
            algorithm,
            ..Default::default()
        };
        if let Ok(out) = regarena::run(&cf.func, &cf.env, &options) {
            let mut checker = regarena::checker::Checker::new(&cf.func, &cf.env);
            checker.prepare(&out);
            if let Err(e) = checker.run() {
                panic!("{algorithm:?}: Ok output the checker rejects: {e}");
            }
        }
    }
});
