//! Helpers shared by the core's integration tests: plan builders and engines on a manual clock.

#![allow(dead_code)]

use std::sync::Arc;

use trackgate_core::{parse_plan, CompiledPlan, Engine, EngineOptions, ManualClock};

/// Wall-clock start of every test engine: 2026-11-23T00:00:00Z.
pub const START_UNIX_MS: u64 = 1_795_392_000_000;

/// A plan document with the given top-level extras (JSON members, no trailing comma) and events.
pub fn plan_json(version: u64, extras: &str, events: &str) -> String {
    let separator = if extras.is_empty() { "" } else { "," };
    format!(
        r#"{{"schema": 1, "app": "shop", "env": "prod", "version": {version}{separator} {extras}, "events": {{{events}}}}}"#
    )
}

/// Parses and compiles, panicking with the diagnostics if the test plan is wrong.
pub fn compile(source: &str) -> CompiledPlan {
    let validated = parse_plan(source).unwrap_or_else(|error| panic!("test plan invalid: {error}"));
    CompiledPlan::compile(&validated.plan).expect("test plan compiles")
}

/// An engine for `source` with unit `unit_id`, on a manual clock it returns too.
pub fn engine_with_clock(source: &str, unit_id: &str) -> (Engine, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(START_UNIX_MS));
    let options = EngineOptions { unit_id: Some(unit_id.into()), clock: clock.clone(), ..EngineOptions::default() };
    (Engine::new(compile(source), options).expect("engine"), clock)
}

/// An engine for `source` with unit `unit_id`.
pub fn engine(source: &str, unit_id: &str) -> Engine {
    engine_with_clock(source, unit_id).0
}
