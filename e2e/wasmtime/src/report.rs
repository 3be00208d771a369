//! `report`: the whole upstream-vs-regarena comparison, driving both
//! builds of this runner as subprocesses (each measurement in a fresh
//! process) and regarena's `regarena` tool for the independent check.
//!
//! Per Sightglass program: output identity (exit code, stdout, stderr,
//! byte for byte) in plain mode and with Cranelift's `regalloc_checker` and
//! verifier; the same under `regalloc_algorithm = single_pass`; compile
//! time (median of 5 `precompile_module`) and `.text` size; run time
//! (median of 3); and the independent check: every function Cranelift
//! allocated with regarena, with the result it got, proved by upstream
//! regalloc2 0.15.2's own checker. Then the spec suite with both builds in
//! both modes. The last line of the text report is the summary line
//! `e2e/run` promises; `--json` prints one object instead.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};

struct Args {
    upstream: PathBuf,
    regarena: PathBuf,
    tool: PathBuf,
    wasm: PathBuf,
    wast: PathBuf,
    work: PathBuf,
    json: bool,
}

fn parse(args: &[String]) -> Result<Args> {
    let get = |name: &str| -> Result<PathBuf> {
        let at = args
            .iter()
            .position(|a| a == name)
            .ok_or_else(|| anyhow!("report: {name} PATH is required"))?;
        args.get(at + 1)
            .map(PathBuf::from)
            .ok_or_else(|| anyhow!("report: {name} needs a value"))
    };
    Ok(Args {
        upstream: get("--upstream")?,
        regarena: get("--regarena")?,
        tool: get("--tool")?,
        wasm: get("--wasm")?,
        wast: get("--wast")?,
        work: get("--work")?,
        json: args.iter().any(|a| a == "--json"),
    })
}

/// Runs one build's subcommand and returns the JSON object it printed
/// (an `{"error": ...}` object when it failed or crashed).
fn invoke(binary: &Path, args: &[&str]) -> Value {
    let output = Command::new(binary).args(args).output();
    let output = match output {
        Ok(o) => o,
        Err(e) => return json!({ "error": format!("cannot start {}: {e}", binary.display()) }),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    match stdout.lines().last().map(serde_json::from_str::<Value>) {
        Some(Ok(value)) => value,
        _ => json!({
            "error": format!(
                "{} {}: exit {:?}, stderr: {}",
                binary.display(),
                args.join(" "),
                output.status.code(),
                String::from_utf8_lossy(&output.stderr).lines().last().unwrap_or("")
            )
        }),
    }
}

fn is_error(v: &Value) -> bool {
    v.get("error").is_some()
}

/// Whether two `program` results printed the same: exit code, stdout and
/// stderr byte for byte (and neither failed to compile or run).
fn same_output(a: &Value, b: &Value) -> bool {
    !is_error(a)
        && !is_error(b)
        && ["exit", "stdout", "stderr"]
            .iter()
            .all(|k| a.get(*k) == b.get(*k))
}

fn f64_of(v: &Value, key: &str) -> f64 {
    v.get(key).and_then(Value::as_f64).unwrap_or(f64::NAN)
}

fn eprint_progress(what: &str) {
    eprintln!("e2e: {what}");
}

pub fn run(raw: &[String]) -> Result<Value> {
    let args = parse(raw)?;
    let mut programs: Vec<PathBuf> = std::fs::read_dir(&args.wasm)
        .with_context(|| format!("read {}", args.wasm.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
        .collect();
    programs.sort();
    if programs.is_empty() {
        bail!("no .wasm files in {}", args.wasm.display());
    }
    std::fs::create_dir_all(&args.work)?;

    let mut modules = Vec::new();
    let (mut identical, mut single_pass_identical) = (0, 0);
    let (mut checker_errors, mut independent_failures) = (0u64, 0u64);
    let (mut compile_up, mut compile_re) = (0.0, 0.0);
    let (mut text_up, mut text_re) = (0u64, 0u64);
    let (mut run_up, mut run_re) = (0.0, 0.0);
    let mut independent_functions = 0u64;

    for wasm in &programs {
        let path = wasm.to_str().ok_or_else(|| anyhow!("non-UTF-8 path"))?;
        let name = wasm.file_stem().unwrap().to_string_lossy().into_owned();
        eprint_progress(&format!("{name}: run, plain"));
        let plain_up = invoke(&args.upstream, &["program", path, "--runs", "3"]);
        let plain_re = invoke(&args.regarena, &["program", path, "--runs", "3"]);
        eprint_progress(&format!("{name}: run, regalloc_checker + verifier"));
        let check_up = invoke(&args.upstream, &["program", path, "--checker"]);
        let check_re = invoke(&args.regarena, &["program", path, "--checker"]);
        eprint_progress(&format!("{name}: run, single_pass"));
        let single_up = invoke(&args.upstream, &["program", path, "--single-pass"]);
        let single_re = invoke(&args.regarena, &["program", path, "--single-pass"]);
        eprint_progress(&format!("{name}: compile time"));
        let compile_u = invoke(&args.upstream, &["compile", path, "--repeat", "5"]);
        let compile_r = invoke(&args.regarena, &["compile", path, "--repeat", "5"]);

        // Independent check: capture what Cranelift allocated (functions,
        // trampolines, and the result regarena returned for each), then
        // prove every captured result with upstream's checker.
        eprint_progress(&format!("{name}: independent check"));
        let capture_dir = args.work.join("independent").join(&name);
        let _ = std::fs::remove_dir_all(&capture_dir);
        let dir = capture_dir.to_str().unwrap().to_string();
        let captured = invoke(
            &args.regarena,
            &["capture", path, "--out", &dir, "--all", "--target", "host"],
        );
        let verdict = if is_error(&captured) {
            json!({ "error": captured["error"].clone() })
        } else {
            let out = Command::new(&args.tool)
                .args([
                    "check",
                    "--allocator",
                    "ours",
                    "--checker",
                    "upstream",
                    "--json",
                    &dir,
                ])
                .output()
                .with_context(|| format!("run {}", args.tool.display()))?;
            serde_json::from_slice::<Value>(&out.stdout).unwrap_or_else(
                |_| json!({ "error": String::from_utf8_lossy(&out.stderr).into_owned() }),
            )
        };
        let functions = verdict.get("functions").and_then(Value::as_u64);
        let failed = verdict.get("failed").and_then(Value::as_u64);
        match (functions, failed) {
            (Some(n), Some(f)) if n > 0 => {
                independent_functions += n;
                independent_failures += f;
            }
            // Nothing captured or the check could not run: a failure.
            _ => independent_failures += 1,
        }

        let same_plain = same_output(&plain_up, &plain_re);
        let same_checked = same_output(&check_up, &check_re);
        let same_single = same_output(&single_up, &single_re);
        if same_plain && same_checked {
            identical += 1;
        }
        if same_single {
            single_pass_identical += 1;
        }
        // Under the checker setting a regalloc checker error makes
        // Cranelift fail the compilation: the program does not run.
        if is_error(&check_re) {
            checker_errors += 1;
        }
        compile_up += f64_of(&compile_u, "compile_seconds");
        compile_re += f64_of(&compile_r, "compile_seconds");
        text_up += compile_u["text_bytes"].as_u64().unwrap_or(0);
        text_re += compile_r["text_bytes"].as_u64().unwrap_or(0);
        run_up += f64_of(&plain_up, "run_seconds");
        run_re += f64_of(&plain_re, "run_seconds");
        modules.push(json!({
            "module": name,
            "identical": same_plain && same_checked,
            "identical_plain": same_plain,
            "identical_checker": same_checked,
            "single_pass_identical": same_single,
            "exit_upstream": plain_up.get("exit"),
            "exit_regarena": plain_re.get("exit"),
            "stdout_hash": plain_re.get("stdout_hash"),
            "checker_error": check_re.get("error"),
            "compile_seconds_upstream": f64_of(&compile_u, "compile_seconds"),
            "compile_seconds_regarena": f64_of(&compile_r, "compile_seconds"),
            "compile_time_ratio": f64_of(&compile_r, "compile_seconds") / f64_of(&compile_u, "compile_seconds"),
            "text_bytes_upstream": compile_u.get("text_bytes"),
            "text_bytes_regarena": compile_r.get("text_bytes"),
            "run_seconds_upstream": f64_of(&plain_up, "run_seconds"),
            "run_seconds_regarena": f64_of(&plain_re, "run_seconds"),
            "run_time_ratio": f64_of(&plain_re, "run_seconds") / f64_of(&plain_up, "run_seconds"),
            "independent_check": verdict,
            "errors": [plain_up.get("error"), plain_re.get("error"), check_up.get("error"),
                       single_up.get("error"), single_re.get("error"),
                       compile_u.get("error"), compile_r.get("error")],
        }));
    }

    // The spec suite: both builds, both modes; a file counts when it
    // passes in all four runs.
    let wast = args
        .wast
        .to_str()
        .ok_or_else(|| anyhow!("non-UTF-8 path"))?;
    eprint_progress("spec suite (4 runs)");
    let wast_runs = [
        invoke(&args.upstream, &["wast", wast]),
        invoke(&args.regarena, &["wast", wast]),
        invoke(&args.upstream, &["wast", wast, "--checker"]),
        invoke(&args.regarena, &["wast", wast, "--checker"]),
    ];
    for run in &wast_runs {
        if is_error(run) {
            bail!("the spec suite could not run: {}", run["error"]);
        }
    }
    let files: Vec<&String> = wast_runs[0].as_object().unwrap().keys().collect();
    let pass = |run: &Value, file: &str| run.get(file).and_then(Value::as_str) == Some("pass");
    let both = files
        .iter()
        .filter(|f| wast_runs.iter().all(|run| pass(run, f)))
        .count();
    let differing: Vec<Value> = files
        .iter()
        .filter(|f| {
            pass(&wast_runs[0], f) != pass(&wast_runs[1], f)
                || pass(&wast_runs[2], f) != pass(&wast_runs[3], f)
        })
        .map(|f| {
            json!({ "file": f, "upstream": wast_runs[0][f.as_str()], "regarena": wast_runs[1][f.as_str()],
                    "upstream_checker": wast_runs[2][f.as_str()], "regarena_checker": wast_runs[3][f.as_str()] })
        })
        .collect();
    let failing_somewhere: Vec<Value> = files
        .iter()
        .filter(|f| !wast_runs.iter().all(|run| pass(run, f)))
        .map(|f| json!({ "file": f, "upstream": wast_runs[0][f.as_str()], "regarena": wast_runs[1][f.as_str()] }))
        .collect();

    let compile_time_ratio = compile_re / compile_up;
    let run_time_ratio = run_re / run_up;
    let text_ratio = text_re as f64 / text_up as f64;
    let total = json!({
        "sightglass_identical": identical,
        "sightglass_programs": programs.len(),
        "single_pass_identical": single_pass_identical,
        "wast_both": both,
        "wast_files": files.len(),
        "wast_outcome_differs": differing,
        "wast_not_passing": failing_somewhere,
        "checker_errors": checker_errors,
        "independent_check_functions": independent_functions,
        "independent_check_failures": independent_failures,
        "compile_seconds_upstream": compile_up,
        "compile_seconds_regarena": compile_re,
        "compile_time_ratio": compile_time_ratio,
        "text_bytes_upstream": text_up,
        "text_bytes_regarena": text_re,
        "text_size_ratio": text_ratio,
        "run_seconds_upstream": run_up,
        "run_seconds_regarena": run_re,
        "run_time_ratio": run_time_ratio,
    });
    let summary = format!(
        "wasmtime e2e: sightglass {identical}/{} identical, wast {both}/{} both, checker errors {checker_errors}, independent-check failures {independent_failures}, compile_time_ratio {compile_time_ratio:.3}, run_time_ratio {run_time_ratio:.3}",
        programs.len(),
        files.len()
    );
    if args.json {
        return Ok(json!({ "modules": modules, "total": total, "summary": summary }));
    }

    // The text report: a table, then the summary line last.
    let mut text = String::new();
    text.push_str(&format!(
        "{:<28} {:>9} {:>7} {:>7} {:>11} {:>9} {:>9} {:>9}\n",
        "module", "identical", "checker", "1-pass", "indep.fns", "compile", "text", "run"
    ));
    for m in &modules {
        let indep = m["independent_check"]
            .get("functions")
            .and_then(Value::as_u64)
            .map_or("error".to_string(), |n| {
                format!(
                    "{}/{}",
                    m["independent_check"]["passed"].as_u64().unwrap_or(0),
                    n
                )
            });
        let text_ratio = m["text_bytes_regarena"].as_f64().unwrap_or(f64::NAN)
            / m["text_bytes_upstream"].as_f64().unwrap_or(f64::NAN);
        text.push_str(&format!(
            "{:<28} {:>9} {:>7} {:>7} {:>11} {:>9.3} {:>9.3} {:>9.3}\n",
            m["module"].as_str().unwrap_or(""),
            if m["identical_plain"] == true {
                "yes"
            } else {
                "NO"
            },
            if m["identical_checker"] == true {
                "yes"
            } else {
                "NO"
            },
            if m["single_pass_identical"] == true {
                "yes"
            } else {
                "NO"
            },
            indep,
            m["compile_time_ratio"].as_f64().unwrap_or(f64::NAN),
            text_ratio,
            m["run_time_ratio"].as_f64().unwrap_or(f64::NAN),
        ));
    }
    text.push_str(&format!(
        "(compile, text, run: regarena / upstream; single_pass identical {single_pass_identical}/{}; .text ratio {text_ratio:.4}; {independent_functions} functions proved by upstream's checker)\n",
        programs.len()
    ));
    for d in &differing {
        text.push_str(&format!("wast outcome differs: {d}\n"));
    }
    for d in &failing_somewhere {
        text.push_str(&format!("wast not passing everywhere: {d}\n"));
    }
    for m in &modules {
        if let Some(errors) = m["errors"].as_array() {
            for e in errors.iter().filter(|e| !e.is_null()) {
                text.push_str(&format!("{}: {e}\n", m["module"].as_str().unwrap_or("")));
            }
        }
    }
    text.push_str(&summary);
    Ok(Value::String(text))
}
