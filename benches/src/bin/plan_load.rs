//! Loads a plan file as `trackgate filter --plan` does (parse, validate, compile) and prints the
//! time of each step; `--spanned` uses the spanned reader only (the path before the fast path).
//! `--write N FILE` writes the `large_plan_json(N)` plan instead. Peak RSS: run under
//! `/usr/bin/time -f %M`.

use std::time::Instant;

use trackgate_core::{parse_plan_bytes, parse_plan_spanned, CompiledPlan};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--write") {
        let events: usize = args[1].parse().expect("an event count");
        std::fs::write(&args[2], trackgate_benches::large_plan_json(events)).expect("writable");
        return;
    }
    let spanned = args.iter().any(|arg| arg == "--spanned");
    let path = args.iter().find(|arg| !arg.starts_with("--")).expect("a plan file");
    let started = Instant::now();
    let bytes = std::fs::read(path).expect("readable");
    let read = started.elapsed();
    let validated = if spanned {
        parse_plan_spanned(std::str::from_utf8(&bytes).expect("UTF-8"))
    } else {
        parse_plan_bytes(&bytes)
    }
    .expect("a valid plan");
    drop(bytes);
    let parsed = started.elapsed();
    let compiled = CompiledPlan::compile(&validated.plan).expect("compiles");
    let done = started.elapsed();
    println!(
        "{} events: read {:.1} ms, parse+validate {:.1} ms, compile {:.1} ms, total {:.1} ms",
        compiled.event_count(),
        read.as_secs_f64() * 1e3,
        (parsed - read).as_secs_f64() * 1e3,
        (done - parsed).as_secs_f64() * 1e3,
        done.as_secs_f64() * 1e3
    );
}
