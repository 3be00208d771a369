//! `regarena compile` end to end: the fib example runs on x64 natively and
//! on aarch64 under qemu (skipped with a message when qemu is absent).

use std::process::Command;

fn compile(target: &str, extra: &[&str]) -> std::process::Output {
    let fib = concat!(env!("CARGO_MANIFEST_DIR"), "/../isa/examples/fib.ir");
    Command::new(env!("CARGO_BIN_EXE_regarena"))
        .args(["compile", fib, "--target", target])
        .args(extra)
        .output()
        .expect("runs the regarena binary")
}

#[test]
fn fib_runs_on_x64() {
    if !cfg!(target_arch = "x86_64") {
        regarena_tools::test_corpus::announce(
            "SKIP fib_runs_on_x64: x64 code runs natively only on an x86_64 host",
        );
        return;
    }
    let out = compile("x64", &["--run", "20"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "6765");
}

#[test]
fn fib_runs_on_aarch64_under_qemu() {
    let has_qemu = Command::new("qemu-aarch64-static")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_qemu {
        regarena_tools::test_corpus::announce(
            "SKIP fib_runs_on_aarch64_under_qemu: qemu-aarch64-static is absent \
             (apt-get install qemu-user-static)",
        );
        return;
    }
    let out = compile("aarch64", &["--run", "20"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "6765");
}

#[test]
fn listing_shows_allocations_and_disassembly() {
    let out = compile("x64", &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("fn fib"), "{text}");
    assert!(text.contains("ret"), "{text}");
}

#[test]
fn a_bad_program_is_an_error_naming_the_file() {
    let dir = std::env::temp_dir().join(format!("regarena-compile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.ir");
    std::fs::write(&bad, "fn main( {\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_regarena"))
        .args(["compile", bad.to_str().unwrap(), "--target", "x64", "--run"])
        .output()
        .expect("runs the regarena binary");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.ir"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
