//! Criterion benchmarks of trackgate's hot and cold paths, and of its peers in the same run.
//!
//! IDs (stable; `run-short.sh` and `docs/performance.md` refer to them):
//! - `decide/name_hit`, `decide/name_miss`, `decide/id_hit`, `decide/id_hit_decider`: one
//!   decision on the 50,000-event plan, rotating through [`HOT_SET`] names so no single entry
//!   stays cached.
//! - `parse/50k` (JSON text to validated plan) and `compile/50k` (validated plan to tables);
//!   `parse/50k_spanned` through the spanned reader only (`parse_plan_spanned`). The
//!   500,000-event plan-loading benches are in `plan_load.rs`.
//! - `peer/yggdrasil_is_enabled` and `peer/naive_sha256`: the same hit names through the peers.
//! - `peer/yggdrasil_load_50k` and `peer/naive_load_50k`: each peer's way from JSON text to a
//!   ready gate, the counterpart of `parse/50k` + `compile/50k`.

mod peers;

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use peers::{check_equivalence, yggdrasil_engine, yggdrasil_features_json, yggdrasil_load, NaiveGate};
use trackgate_benches::{Fixture, BENCH_PLAN_EVENTS, EVENT_SIZE_BYTES, HOT_SET, UNIT_ID};
use trackgate_core::{
    parse_plan, parse_plan_spanned, CompiledPlan, Decision, Engine, EngineOptions, EventId, SystemClock,
};

const MASK: usize = HOT_SET - 1;

fn engine(fixture: &Fixture) -> Engine {
    let plan = parse_plan(&fixture.json).expect("valid plan").plan;
    let options = EngineOptions {
        unit_id: Some(UNIT_ID.to_owned()),
        clock: Arc::new(SystemClock::new()),
        ..EngineOptions::default()
    };
    Engine::new(CompiledPlan::compile(&plan).expect("compiles"), options).expect("engine")
}

fn benches(criterion: &mut Criterion) {
    let fixture = Fixture::generate(BENCH_PLAN_EVENTS);
    let (yggdrasil, context) = yggdrasil_engine(&fixture.events);
    let naive = NaiveGate::new(&fixture.events);
    assert_eq!(NaiveGate::from_plan_json(&fixture.json).len(), BENCH_PLAN_EVENTS);
    let features_json = yggdrasil_features_json(&fixture.events);
    check_equivalence(&fixture.events, &fixture.misses[0], &naive, &yggdrasil, &context);
    let engine = engine(&fixture);
    for event in fixture.events.iter().filter(|event| event.sample_ppm == 1_000_000 && event.rate_limit.is_none()) {
        let kept = matches!(engine.decide(&event.name, 10), Decision::Keep { .. });
        assert_eq!(kept, !event.retired, "trackgate on {}", event.name);
    }
    let ids: Vec<EventId> = fixture.hits.iter().map(|name| engine.resolve(name).expect("a hit resolves")).collect();

    let mut decide = criterion.benchmark_group("decide");
    decide.bench_function("name_hit", |bencher| {
        let mut turn = 0usize;
        bencher.iter(|| {
            let name = &fixture.hits[turn & MASK];
            turn = turn.wrapping_add(1);
            engine.decide(black_box(name), black_box(EVENT_SIZE_BYTES))
        })
    });
    decide.bench_function("name_miss", |bencher| {
        let mut turn = 0usize;
        bencher.iter(|| {
            let name = &fixture.misses[turn & MASK];
            turn = turn.wrapping_add(1);
            engine.decide(black_box(name), black_box(EVENT_SIZE_BYTES))
        })
    });
    decide.bench_function("id_hit", |bencher| {
        let mut turn = 0usize;
        bencher.iter(|| {
            let id = ids[turn & MASK];
            turn = turn.wrapping_add(1);
            engine.decide_id(black_box(id), black_box(EVENT_SIZE_BYTES))
        })
    });
    decide.bench_function("id_hit_decider", |bencher| {
        let mut decider = engine.decider();
        let mut turn = 0usize;
        bencher.iter(|| {
            let id = ids[turn & MASK];
            turn = turn.wrapping_add(1);
            decider.decide_id(black_box(id), black_box(EVENT_SIZE_BYTES))
        })
    });
    decide.finish();

    let mut peer = criterion.benchmark_group("peer");
    peer.bench_function("yggdrasil_is_enabled", |bencher| {
        let mut turn = 0usize;
        bencher.iter(|| {
            let name = &fixture.hits[turn & MASK];
            turn = turn.wrapping_add(1);
            yggdrasil.is_enabled(black_box(name), black_box(&context), &None)
        })
    });
    peer.bench_function("naive_sha256", |bencher| {
        let mut turn = 0usize;
        bencher.iter(|| {
            let name = &fixture.hits[turn & MASK];
            turn = turn.wrapping_add(1);
            naive.decide(black_box(name), black_box(EVENT_SIZE_BYTES))
        })
    });
    drop((yggdrasil, naive));
    peer.sample_size(10);
    peer.bench_function("yggdrasil_load_50k", |bencher| {
        bencher.iter_with_large_drop(|| yggdrasil_load(black_box(&features_json)))
    });
    peer.bench_function("naive_load_50k", |bencher| {
        bencher.iter_with_large_drop(|| NaiveGate::from_plan_json(black_box(&fixture.json)))
    });
    peer.finish();

    let mut parse = criterion.benchmark_group("parse");
    parse.sample_size(10);
    parse.bench_function("50k", |bencher| {
        bencher.iter_with_large_drop(|| parse_plan(black_box(&fixture.json)).expect("valid plan"))
    });
    parse.bench_function("50k_spanned", |bencher| {
        bencher.iter_with_large_drop(|| parse_plan_spanned(black_box(&fixture.json)).expect("valid plan"))
    });
    parse.finish();

    let plan = parse_plan(&fixture.json).expect("valid plan").plan;
    let mut compile = criterion.benchmark_group("compile");
    compile.sample_size(10);
    compile.bench_function("50k", |bencher| {
        bencher.iter_with_large_drop(|| CompiledPlan::compile(black_box(&plan)).expect("compiles"))
    });
    compile.finish();
}

criterion_group!(decide_benches, benches);
criterion_main!(decide_benches);
