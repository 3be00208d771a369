//! Times regarena's checker alone on each function of the given corpus
//! paths, on regarena's output (or upstream's with `upstream`), in a
//! pruning mode (`exact`, `fast` or `off`; see DESIGN.md, "The checker"):
//! per function its size, verdict, work counter and seconds.
//!
//! `cargo run --release -p regarena-bench --example checker_scale -- MODE [upstream] PATH...`

use std::path::PathBuf;
use std::time::Instant;

use regarena::checker::{Checker, Pruning};
use regarena::RegallocOptions;
use regarena_tools::{corpus, upstream};

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!("usage: checker_scale exact|fast|off [upstream] PATH...");
        std::process::exit(2);
    }
    let mode = match args.remove(0).as_str() {
        "fast" => Pruning::Fast,
        "off" => Pruning::Off,
        _ => Pruning::Exact,
    };
    let up = args.first().is_some_and(|a| a == "upstream");
    if up {
        args.remove(0);
    }
    let paths: Vec<PathBuf> = args.into_iter().map(PathBuf::from).collect();
    let (funcs, errors) = corpus::load_all(&paths);
    assert!(errors.is_empty());
    for cf in &funcs {
        let out = if up {
            let o = upstream::ra2::run(
                &cf.upstream,
                cf.upstream.machine_env(),
                &upstream::ra2::RegallocOptions::default(),
            )
            .expect("upstream allocates");
            upstream::output(&o)
        } else {
            regarena::run(&cf.func, &cf.env, &RegallocOptions::default()).expect("allocates")
        };
        let t = Instant::now();
        let mut c = Checker::new(&cf.func, &cf.env).with_pruning(mode);
        c.prepare(&out);
        let (r, work) = c.run_counting_work();
        println!(
            "{} insts {} blocks {} vregs {} slots {}: {} work {} ({:.1}/inst) {:.3}s",
            cf.path.display(),
            cf.func.insts.len(),
            cf.func.blocks.len(),
            cf.func.num_vregs,
            out.num_spillslots,
            if r.is_ok() { "ok" } else { "ERR" },
            work,
            work as f64 / cf.func.insts.len() as f64,
            t.elapsed().as_secs_f64()
        );
        if let Err(e) = r {
            println!(
                "{}",
                e.errors
                    .iter()
                    .take(3)
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    }
}
