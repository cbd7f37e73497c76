//! Criterion benchmarks of plan loading at 500,000 events (issue 15, goal 3).
//!
//! IDs (stable; `docs/performance.md`, "Plan loading at 500,000 events", refers to them):
//! - `parse/500k`: JSON text of [`large_plan_json`]`(500_000)` to a validated plan
//!   (`parse_plan`: the `serde_json` fast path for a plan with nothing to report).
//! - `parse/500k_spanned`: the same through the spanned reader only (`parse_plan_spanned`,
//!   the path every plan took before the fast path, and the one invalid plans still take).
//! - `compile/500k`: the validated plan to tables.
//!
//! The 50,000-event counterparts (`parse/50k`, `parse/50k_spanned`, `compile/50k`) are in
//! `decide.rs`, on the realistic fixture.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use trackgate_benches::{large_plan_json, LARGE_PLAN_EVENTS};
use trackgate_core::{parse_plan, parse_plan_spanned, CompiledPlan};

fn benches(criterion: &mut Criterion) {
    let json = large_plan_json(LARGE_PLAN_EVENTS);
    let plan = parse_plan(&json).expect("valid plan");
    assert!(plan.warnings.is_empty());
    assert_eq!(parse_plan_spanned(&json).as_ref(), Ok(&plan), "both paths read the same plan");
    let plan = plan.plan;

    let mut parse = criterion.benchmark_group("parse");
    parse.sample_size(10).measurement_time(Duration::from_secs(8));
    parse.bench_function("500k", |bencher| {
        bencher.iter_with_large_drop(|| parse_plan(black_box(&json)).expect("valid plan"))
    });
    parse.bench_function("500k_spanned", |bencher| {
        bencher.iter_with_large_drop(|| parse_plan_spanned(black_box(&json)).expect("valid plan"))
    });
    parse.finish();

    let mut compile = criterion.benchmark_group("compile");
    compile.sample_size(10).measurement_time(Duration::from_secs(5));
    compile.bench_function("500k", |bencher| {
        bencher.iter_with_large_drop(|| CompiledPlan::compile(black_box(&plan)).expect("compiles"))
    });
    compile.finish();
}

criterion_group!(plan_load_benches, benches);
criterion_main!(plan_load_benches);
