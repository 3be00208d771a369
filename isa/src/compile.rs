//! The `regarena compile FILE --target x64|aarch64 [--run ARGS...]`
//! subcommand as a library function: parse the IR file, lower, allocate
//! with regarena, emit, then print a listing or run `main` (or the first
//! function) and print its result.

use crate::emit::{compile_module, CompiledModule};
use crate::ir;
pub use crate::Target;
use regarena::{Edit, Function, InstOrEdit};
use std::io::Write;
use std::path::Path;

/// The function a run starts at: `main` if present, else the first.
pub fn entry_function(module: &ir::Module) -> Option<usize> {
    module.func_index("main").or(if module.funcs.is_empty() {
        None
    } else {
        Some(0)
    })
}

/// Compiles `module` for `target` and runs its entry function on `args`.
pub fn run_module(module: &ir::Module, target: Target, args: &[i64]) -> Result<i64, String> {
    let entry = entry_function(module).ok_or("the module has no functions")?;
    let func = &module.funcs[entry];
    let params = func.blocks.first().map_or(0, |b| b.params.len());
    if args.len() != params {
        return Err(format!(
            "`{}` takes {params} argument{} but --run gave {}",
            func.name,
            if params == 1 { "" } else { "s" },
            args.len()
        ));
    }
    let compiled = compile_module(&*target.backend(), module).map_err(|e| e.to_string())?;
    let offset = compiled.funcs[entry].offset;
    match target {
        // SAFETY: the code was produced by this crate's emitter for a
        // function of at most six integer arguments.
        Target::X64 => unsafe { crate::exec::run_x64(&compiled.code, offset, args) },
        Target::Aarch64 => crate::exec::run_aarch64(&compiled.code, offset, args),
    }
    .map_err(|e| e.to_string())
}

/// Writes each function's allocated instructions and edits, then its
/// code disassembled.
pub fn write_listing(
    compiled: &CompiledModule,
    target: Target,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    for (i, f) in compiled.funcs.iter().enumerate() {
        let end = compiled
            .funcs
            .get(i + 1)
            .map_or(compiled.code.len() as u32, |n| n.offset);
        writeln!(
            out,
            "fn {} @ {:#x} ({} bytes, {} spill slots)",
            f.name,
            f.offset,
            end - f.offset,
            f.output.num_spillslots
        )?;
        for b in 0..f.vcode.num_blocks() {
            let block = regarena::Block::new(b);
            writeln!(out, "  block{b}:")?;
            for item in f.output.block_insts_and_edits(&f.vcode, block) {
                match item {
                    InstOrEdit::Inst(inst) => {
                        let allocs: Vec<String> = f
                            .output
                            .inst_allocs(inst)
                            .iter()
                            .map(|a| a.to_string())
                            .collect();
                        writeln!(out, "    {:?}  [{}]", f.vcode.inst(inst), allocs.join(", "))?;
                    }
                    InstOrEdit::Edit(Edit::Move { from, to }) => {
                        writeln!(out, "    move {to} <- {from}")?
                    }
                }
            }
        }
        let code = &compiled.code[f.offset as usize..end as usize];
        for line in crate::disasm::disassemble(target, code, f.offset) {
            let hex: Vec<String> = line.bytes.iter().map(|b| format!("{b:02x}")).collect();
            writeln!(
                out,
                "  {:6x}:  {:<30} {}",
                line.offset,
                hex.join(" "),
                line.text
            )?;
        }
    }
    Ok(())
}

/// The `compile` subcommand: `run_args` = `Some(args)` for `--run`.
/// Prints the listing, or the entry function's result, to `out`.
pub fn run_cli(
    file: &Path,
    target: &str,
    run_args: Option<&[i64]>,
    out: &mut dyn Write,
) -> Result<(), String> {
    let target: Target = target.parse()?;
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let module = ir::parse(&text).map_err(|e| format!("{}: {e}", file.display()))?;
    let result = match run_args {
        Some(args) => {
            let value = run_module(&module, target, args)
                .map_err(|e| format!("{}: {e}", file.display()))?;
            writeln!(out, "{value}")
        }
        None => {
            let compiled = compile_module(&*target.backend(), &module)
                .map_err(|e| format!("{}: {e}", file.display()))?;
            write_listing(&compiled, target, out)
        }
    };
    result.map_err(|e| format!("writing output: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aarch64::emit::Aarch64;
    use crate::lower::Backend as _;
    use crate::x64::emit::X64;

    #[test]
    fn cli_errors_name_the_file_and_line() {
        let dir = std::env::temp_dir().join(format!("regarena-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bad.ir");
        std::fs::write(
            &path,
            "fn f(a) {\nentry:\n    b = frob a, 1\n    ret b\n}\n",
        )
        .unwrap();
        let mut out = Vec::new();
        let err = run_cli(&path, "x64", None, &mut out).unwrap_err();
        assert!(
            err.contains("bad.ir") && err.contains("line 3") && err.contains("frob"),
            "{err}"
        );
        let err = run_cli(&path, "sparc", None, &mut out).unwrap_err();
        assert!(err.contains("sparc"), "{err}");
        let err = run_cli(&dir.join("missing.ir"), "aarch64", Some(&[1]), &mut out).unwrap_err();
        assert!(err.contains("missing.ir"), "{err}");
        let good = dir.join("good.ir");
        std::fs::write(
            &good,
            "fn f(a, b) {\nentry:\n    c = add a, b\n    ret c\n}\n",
        )
        .unwrap();
        for args in [&[][..], &[1][..], &[1, 2, 3][..]] {
            let err = run_cli(&good, "x64", Some(args), &mut out).unwrap_err();
            let expected = format!("`f` takes 2 arguments but --run gave {}", args.len());
            assert!(err.contains("good.ir") && err.contains(&expected), "{err}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn machine_envs_are_const() {
        const X64_ENV: regarena::MachineEnv = crate::x64::machine_env();
        const A64_ENV: regarena::MachineEnv = crate::aarch64::machine_env();
        assert_eq!(X64_ENV, *X64::default().machine_env());
        assert_eq!(A64_ENV, *Aarch64::default().machine_env());
    }
}
