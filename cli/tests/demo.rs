//! `trackgate demo`: the summary adds up, shows every reason the sample plan can produce, is
//! reproducible from its seed, and its weighted estimates track the simulator's true counts.
//! Runs use 300 devices so the suite stays fast in debug builds.

mod common;

use std::sync::OnceLock;

use common::{trackgate, write_plan, Run, INVALID_PLAN, PLAN_WITH_WARNING};
use serde_json::Value;

const DEVICES: &str = "300";

/// The reference run, shared by the tests that only read it.
fn reference_run() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| {
        let run = trackgate(&["demo", "--devices", DEVICES, "--json"]);
        run.assert_code(0);
        run
    })
}

fn reference() -> Value {
    reference_run().json()
}

fn count(value: &Value, key: &str) -> u64 {
    value[key].as_u64().unwrap_or_else(|| panic!("`{key}` is not a count in {value}"))
}

#[test]
fn offered_is_kept_plus_every_drop() {
    let summary = reference();
    let dropped: u64 =
        summary["dropped"].as_object().expect("dropped by reason").values().map(|count| count.as_u64().unwrap()).sum();
    assert!(count(&summary, "offered") > 10_000, "too little traffic to test anything");
    assert_eq!(count(&summary, "offered"), count(&summary, "kept") + dropped);
    assert_eq!(count(&summary, "dropped_total"), dropped);
    // The gate saw exactly what the simulator sent.
    assert_eq!(count(&summary, "simulated_events"), count(&summary, "offered"));
    assert_eq!(count(&summary, "bytes_offered"), count(&summary, "bytes_kept") + count(&summary, "bytes_saved"));
    assert_eq!(count(&summary, "devices"), 300);
}

#[test]
fn every_reason_the_sample_plan_can_produce_appears() {
    let summary = reference();
    let dropped = &summary["dropped"];
    for reason in ["retired", "sampled_out", "rate_limited", "oversize", "unregistered", "invalid_name"] {
        assert!(count(dropped, reason) > 0, "no `{reason}` drop in {dropped}");
    }
    // The sample plan sheds nothing and its kill switch is off.
    assert_eq!(count(dropped, "shed"), 0);
    assert_eq!(count(dropped, "disabled"), 0);
    let names: Vec<&str> =
        summary["unregistered"].as_array().unwrap().iter().map(|name| name["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"debug.tmp_click"), "{names:?}");
    assert!(names.contains(&"old_sdk.ping"), "{names:?}");
    assert_eq!(summary["top_droppers"].as_array().unwrap().len(), 10);
}

#[test]
fn same_seed_gives_the_same_output_whatever_the_threads() {
    for threads in ["1", "3"] {
        let again = trackgate(&["demo", "--devices", DEVICES, "--json", "--threads", threads]);
        again.assert_code(0);
        assert!(again.stdout == reference_run().stdout, "output changed with --threads {threads}");
    }
}

#[test]
fn a_different_seed_gives_different_traffic() {
    let other = trackgate(&["demo", "--devices", DEVICES, "--json", "--seed", "7"]);
    other.assert_code(0);
    let other = other.json();
    assert_eq!(count(&other, "seed"), 7);
    assert_ne!(count(&other, "offered"), count(&reference(), "offered"));
    assert_ne!(other["sampling_check"], reference()["sampling_check"]);
}

#[test]
fn weighted_estimates_track_the_true_counts() {
    let summary = reference();
    let checks = summary["sampling_check"].as_array().expect("sampling check rows");
    let mut checked = 0;
    for check in checks {
        let (event, rate) = (check["event"].as_str().unwrap(), check["rate"].as_f64().unwrap());
        let (kept, estimate) = (count(check, "kept"), check["estimate"].as_f64().unwrap());
        // Every kept occurrence carries the inverse of its rate as weight.
        assert!((estimate - kept as f64 / rate).abs() <= 1e-6 * estimate.max(1.0), "{event}: weights in {check}");
        // High-volume events at rates where 300 devices keep a useful sample: the error must
        // be within four standard deviations, and a deviation this small means a biased
        // estimate (say, weights left out, -75 % at rate 0.25) could not pass.
        if rate >= 0.25 && count(check, "true_count") >= 150 {
            let error = check["relative_error"].as_f64().unwrap();
            let deviation = check["relative_deviation"].as_f64().unwrap();
            assert!(deviation > 0.0 && deviation < 0.2, "{event}: implausible deviation in {check}");
            assert!(error.abs() <= 4.0 * deviation, "{event}: estimate off by {error} in {check}");
            checked += 1;
        }
    }
    assert!(checked >= 5, "only {checked} high-volume sampled events to check");
}

#[test]
fn zero_devices_is_a_usage_error() {
    let run = trackgate(&["demo", "--devices", "0"]);
    run.assert_code(2);
    assert!(run.stderr.contains("--devices"), "{}", run.stderr);
    assert!(run.stderr.contains("1..=10000000"), "{}", run.stderr);
    assert!(run.stdout.is_empty());
}

#[test]
fn an_invalid_plan_file_is_refused_with_its_place() {
    let path = write_plan("demo-invalid-plan.json", INVALID_PLAN);
    let run = trackgate(&["demo", "--devices", "10", "--plan", &path]);
    run.assert_code(1);
    assert!(run.stderr.contains(&format!("{path}:4:40: error")), "{}", run.stderr);
    assert!(run.stderr.contains(&format!("{path}:5:5: error")), "{}", run.stderr);
    assert!(run.stdout.is_empty());
}

#[test]
fn a_missing_plan_file_is_an_error() {
    let run = trackgate(&["demo", "--devices", "10", "--plan", "/nonexistent/trackgate-plan.json"]);
    run.assert_code(2);
    assert!(run.stderr.contains("cannot read"), "{}", run.stderr);
}

#[test]
fn a_plan_file_runs_and_its_warnings_go_to_stderr() {
    let path = write_plan("demo-plan-with-warning.json", PLAN_WITH_WARNING);
    let run = trackgate(&["demo", "--devices", "50", "--plan", &path, "--json"]);
    run.assert_code(0);
    assert!(run.stderr.contains(&format!("{path}:5:")) && run.stderr.contains("warning"), "{}", run.stderr);
    let summary = run.json();
    assert_eq!(summary["plan"]["source"], path.as_str());
    assert_eq!(count(&summary["plan"], "version"), 4);
    assert_eq!(count(&summary["plan"], "events"), 3);
}

#[test]
fn shed_below_overrides_the_plan() {
    let run = trackgate(&["demo", "--devices", "50", "--json", "--shed-below", "P1"]);
    run.assert_code(0);
    let summary = run.json();
    assert_eq!(summary["plan"]["shed_below"], "P1");
    assert!(count(&summary["dropped"], "shed") > 0);
    // Shed events never reach the sampler, so only P0 and P1 events could be checked, and the
    // sample plan samples none of them.
    assert_eq!(summary["sampling_check"].as_array().unwrap().len(), 0);
    let refused = trackgate(&["demo", "--shed-below", "P7"]);
    refused.assert_code(2);
}

#[test]
fn the_text_summary_fits_in_100_columns() {
    let run = trackgate(&["demo", "--devices", DEVICES]);
    run.assert_code(0);
    for heading in ["shopfront/prod version 2026112301", "Top 10 droppers", "Unregistered names seen", "Sampling check"]
    {
        assert!(run.stdout.contains(heading), "missing {heading:?} in\n{}", run.stdout);
    }
    for line in run.stdout.lines() {
        assert!(line.chars().count() <= 100, "line wider than 100 columns: {line:?}");
    }
    // Percentages as everywhere else in the CLI (`format::percent`): `100.0%`, no space.
    assert!(run.stdout.contains("100.0%"), "{}", run.stdout);
    assert!(!run.stdout.contains(" %"), "{}", run.stdout);
    // Not a terminal: no progress bar, nothing on stderr.
    assert!(run.stderr.is_empty(), "{}", run.stderr);
}
