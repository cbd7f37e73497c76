//! `trackgate explain --plan P NAME [--unit U] [--size N] [--json]`: the decision a device
//! would make for one event, with the values behind it; clear errors for bad input.

mod common;

use common::{trackgate, write_plan, INVALID_PLAN};
use trackgate_core::sampling::{keep_floor, random_value};

const PLAN: &str = r#"{
  "schema": 1, "app": "shop", "env": "prod", "version": 12, "sampling_salt": "shop-2026",
  "events": {
    "checkout.completed": {"priority": "P0"},
    "photo.uploaded": {"priority": "P1", "max_bytes": 1000},
    "scroll.depth": {"priority": "P2", "sample": 0.25},
    "search.typed": {"priority": "P2", "rate_limit": {"per_second": 2, "burst": 5}}
  }
}
"#;

#[test]
fn an_oversize_event_names_the_rule_the_cap_and_the_size() {
    let plan = write_plan("explain-oversize.json", PLAN);
    let run = trackgate(&["explain", "--plan", &plan, "photo.uploaded", "--size", "2048"]);
    run.assert_code(0);
    assert!(run.stdout.starts_with("\"photo.uploaded\" (2048 bytes): drop: oversize\n"), "{}", run.stdout);
    assert!(run.stdout.contains("plan          version 12"), "{}", run.stdout);
    assert!(run.stdout.contains("2048 bytes, cap 1000  <- refused here"), "{}", run.stdout);
}

#[test]
fn a_sampled_event_shows_the_rate_and_the_units_value() {
    let plan = write_plan("explain-sampled.json", PLAN);
    let value = random_value("shop-2026", "install-42");
    let kept = value >= keep_floor(250_000);
    let report = trackgate(&["explain", "--plan", &plan, "scroll.depth", "--unit", "install-42", "--json"]).json();
    assert_eq!(report["sample_rate_ppm"], 250_000);
    assert_eq!(report["unit_value"], value);
    assert_eq!(report["keep_from"], keep_floor(250_000));
    assert_eq!(report["decision"], if kept { "keep" } else { "drop" });
    assert_eq!(report["plan_version"], 12);
    let text = trackgate(&["explain", "--plan", &plan, "scroll.depth"]);
    assert!(text.stdout.contains("rate 25% (250000 ppm), salt \"shop-2026\", no unit given"), "{}", text.stdout);
}

#[test]
fn rate_limits_and_unregistered_names() {
    let plan = write_plan("explain-rate.json", PLAN);
    let report = trackgate(&["explain", "--plan", &plan, "search.typed", "--json"]).json();
    assert_eq!((report["rate_limit_per_second"].as_f64(), report["tokens_left"].as_u64()), (Some(2.0), Some(5)));
    let unregistered = trackgate(&["explain", "--plan", &plan, "typo.evnt"]);
    assert!(unregistered.stdout.contains("drop: unregistered"), "{}", unregistered.stdout);
    assert!(unregistered.stdout.contains("not in the plan (unregistered: drop)"), "{}", unregistered.stdout);
}

#[test]
fn bad_input_gets_a_clear_error() {
    let invalid = write_plan("explain-invalid.json", INVALID_PLAN);
    let run = trackgate(&["explain", "--plan", &invalid, "checkout.completed"]);
    run.assert_code(1);
    assert!(run.stderr.contains("explain-invalid.json"), "{}", run.stderr);
    let plan = write_plan("explain-unit.json", PLAN);
    let run = trackgate(&["explain", "--plan", &plan, "scroll.depth", "--unit", ""]);
    run.assert_code(2);
    assert!(run.stderr.contains("--unit: 0 bytes; a unit id has 1 to 4096 bytes"), "{}", run.stderr);
    let missing = trackgate(&["explain", "--plan", "/nonexistent/plan.json", "a.b"]);
    missing.assert_code(2);
    assert!(missing.stderr.contains("/nonexistent/plan.json"), "{}", missing.stderr);
}
