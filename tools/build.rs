//! Embeds the sample corpus: walks `sample/` (sorted, recursively) and
//! writes `$OUT_DIR/sample_files.rs`, a table of `(relative path, bytes)`
//! with one `include_bytes!` per `.bin` file. Read by `src/sample.rs`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .path();
        if path.is_dir() {
            walk(&path, out);
        } else if path.extension().is_some_and(|e| e == "bin") {
            out.push(path);
        }
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    walk(&root, &mut files);
    files.sort();
    let mut code = String::from("&[\n");
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
        let rel = file.strip_prefix(&root).expect("walked under root");
        // Forward slashes on every host, so groups and names read the same.
        let rel: Vec<_> = rel.iter().map(|c| c.to_string_lossy()).collect();
        writeln!(
            code,
            "    ({:?}, include_bytes!({:?})),",
            rel.join("/"),
            file.display().to_string()
        )
        .expect("writing to a String cannot fail");
    }
    code.push_str("]\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("sample_files.rs"), code)
        .unwrap_or_else(|e| panic!("{}: {e}", out.display()));
}
