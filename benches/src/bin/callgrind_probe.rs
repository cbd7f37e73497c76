//! The workload `benches/callgrind.sh` runs under `valgrind --tool=callgrind` to count
//! instructions per operation; not meant to be timed.
//!
//! Usage: `callgrind_probe OP [ITERATIONS]`, OP one of `decide_name_hit`, `decide_name_miss`,
//! `decide_id`, `decide_id_decider` (through `Engine::decider()`), `compile_5k`. Setup (plan generation, parsing, compiling, one warm-up pass that
//! fills the unregistered-name table and drains rate-limit buckets) runs outside the probe; the
//! script collects only inside the `#[inline(never)]` probe function of the op
//! (`--toggle-collect`: `probe_decide_name`, `probe_decide_id`, `probe_decider_id` or
//! `probe_compile`), which runs the
//! operation ITERATIONS times, and divides. Time comes from a `ManualClock`, so
//! every run executes the same instructions.

use std::hint::black_box;
use std::sync::Arc;

use trackgate_benches::{Fixture, CALLGRIND_PLAN_EVENTS, EVENT_SIZE_BYTES, HOT_SET, UNIT_ID};
use trackgate_core::plan::Plan;
use trackgate_core::{parse_plan, CompiledPlan, Decider, Decision, Engine, EngineOptions, EventId, ManualClock};

const MASK: usize = HOT_SET - 1;

/// Iterations when none are given: decisions, and compiles of the 5,000-event plan.
const DEFAULT_DECISIONS: usize = 20_000;
const DEFAULT_COMPILES: usize = 5;

fn kept(decision: Decision) -> usize {
    usize::from(matches!(decision, Decision::Keep { .. }))
}

// Probes are plain loops without closures: `--toggle-collect` toggles on every entry and exit of
// a matching function, so a nested `probe_…::{{closure}}` would switch collection off inside.
// Hits and misses share one probe because identical functions may be merged into one symbol.

#[inline(never)]
fn probe_decide_name(engine: &Engine, names: &[String], iterations: usize) -> usize {
    let mut keeps = 0;
    for turn in 0..iterations {
        keeps += kept(engine.decide(black_box(&names[turn & MASK]), EVENT_SIZE_BYTES));
    }
    keeps
}

#[inline(never)]
fn probe_decide_id(engine: &Engine, ids: &[EventId], iterations: usize) -> usize {
    let mut keeps = 0;
    for turn in 0..iterations {
        if let Ok(decision) = engine.decide_id(black_box(ids[turn & MASK]), EVENT_SIZE_BYTES) {
            keeps += kept(decision);
        }
    }
    keeps
}

#[inline(never)]
fn probe_decider_id(decider: &mut Decider<'_>, ids: &[EventId], iterations: usize) -> usize {
    let mut keeps = 0;
    for turn in 0..iterations {
        if let Ok(decision) = decider.decide_id(black_box(ids[turn & MASK]), EVENT_SIZE_BYTES) {
            keeps += kept(decision);
        }
    }
    keeps
}

#[inline(never)]
fn probe_compile(plan: &Plan, compiled: &mut Vec<CompiledPlan>, iterations: usize) {
    for _ in 0..iterations {
        compiled.push(CompiledPlan::compile(black_box(plan)).expect("compiles"));
    }
}

/// One pass outside the probes, so the probes see the steady state: the unregistered-name table
/// full, rate-limit buckets drained, caches and lazy statics initialised.
fn warm_up(engine: &Engine, names: &[String], ids: &[EventId]) {
    for name in names {
        black_box(engine.decide(black_box(name), EVENT_SIZE_BYTES));
    }
    for &id in ids {
        black_box(engine.decide_id(black_box(id), EVENT_SIZE_BYTES).ok());
    }
}

fn main() {
    let mut arguments = std::env::args().skip(1);
    let op = arguments.next().unwrap_or_default();
    let iterations: Option<usize> = arguments.next().map(|text| text.parse().expect("ITERATIONS is a number"));

    let fixture = Fixture::generate(CALLGRIND_PLAN_EVENTS);
    let plan = parse_plan(&fixture.json).expect("valid plan").plan;
    let engine = Engine::new(
        CompiledPlan::compile(&plan).expect("compiles"),
        EngineOptions {
            unit_id: Some(UNIT_ID.to_owned()),
            clock: Arc::new(ManualClock::new(1_795_000_000_000)),
            ..EngineOptions::default()
        },
    )
    .expect("engine");
    let ids: Vec<EventId> = fixture.hits.iter().map(|name| engine.resolve(name).expect("a hit resolves")).collect();

    let decisions = iterations.unwrap_or(DEFAULT_DECISIONS);
    let result = match op.as_str() {
        "decide_name_hit" => {
            warm_up(&engine, &fixture.hits, &ids);
            probe_decide_name(&engine, &fixture.hits, decisions)
        }
        "decide_name_miss" => {
            warm_up(&engine, &fixture.misses, &ids);
            probe_decide_name(&engine, &fixture.misses, decisions)
        }
        "decide_id" => {
            warm_up(&engine, &fixture.hits, &ids);
            probe_decide_id(&engine, &ids, decisions)
        }
        "decide_id_decider" => {
            warm_up(&engine, &fixture.hits, &ids);
            probe_decider_id(&mut engine.decider(), &ids, decisions)
        }
        "compile_5k" => {
            let compiles = iterations.unwrap_or(DEFAULT_COMPILES);
            let mut compiled = Vec::with_capacity(compiles);
            probe_compile(&plan, &mut compiled, compiles);
            compiled.len()
        }
        _ => {
            eprintln!("usage: callgrind_probe decide_name_hit|decide_name_miss|decide_id|decide_id_decider|compile_5k [ITERATIONS]");
            std::process::exit(2);
        }
    };
    println!("{op}: {result}");
}
