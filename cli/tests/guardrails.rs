//! The unsupervised guardrails, on the demo report: each one alone holds back the change it
//! guards against (which then waits for its owner), and the same change is auto-applied once
//! that guardrail is off, so every guardrail is proven to be what blocks.

mod governance_common;

use governance_common::{blocked_by, change, policy, propose, read_json, scratch_directory};
use serde_json::{json, Value};

/// Every guardrail off.
fn all_off() -> Value {
    json!({"protect_p0": false, "protect_realtime": false, "protect_read": false, "min_registered_days": 0,
        "max_kept_share": 1.0})
}

/// Proposes unsupervised with every guardrail off except `on` (merged in).
fn run(test: &str, on: Value) -> Value {
    let directory = scratch_directory(test);
    let mut guardrails = all_off();
    for (key, value) in on.as_object().unwrap() {
        guardrails[key] = value.clone();
    }
    let policy = policy(&directory, json!({"mode": "unsupervised", "guardrails": guardrails}));
    let (run, output) = propose(&directory, &["--policy", &policy]);
    run.assert_code(0);
    read_json(&output)
}

fn assert_blocks(test: &str, on: Value, id: &str, guardrail: &str) {
    let proposal = run(test, on);
    let held = change(&proposal, id);
    assert_eq!(held["state"], "pending", "{test}: {held:#}");
    assert_eq!(blocked_by(held), [guardrail], "{test}");
    let free = run(&format!("{test}-off"), json!({}));
    assert_eq!(change(&free, id)["state"], "auto-applied", "{test}: not auto-applied with every guardrail off");
}

#[test]
fn p0_events_are_never_changed_automatically() {
    assert_blocks("guard-p0", json!({"protect_p0": true}), "downgrade:account.deleted", "p0");
}

#[test]
fn events_read_by_a_real_time_rule_are_never_changed_automatically() {
    assert_blocks("guard-realtime", json!({"protect_realtime": true}), "downgrade:app.launched", "realtime");
}

#[test]
fn events_read_in_the_usage_window_are_never_changed_automatically() {
    assert_blocks("guard-read", json!({"protect_read": true}), "sample:catalogue.carousel_scrolled", "read");
}

#[test]
fn recently_registered_events_are_never_changed_automatically() {
    assert_blocks("guard-registered", json!({"min_registered_days": 30}), "retire:app.cache_cleared", "registered");
    // Ten days old is enough when the policy asks for ten.
    let proposal = run("guard-registered-10", json!({"min_registered_days": 10}));
    assert_eq!(change(&proposal, "retire:app.cache_cleared")["state"], "auto-applied");
}

#[test]
fn unknown_registration_dates_and_usage_hold_changes_back() {
    let directory = scratch_directory("guard-unknown");
    let fixture = governance_common::fixture();
    let policy = policy(&directory, json!({"mode": "unsupervised", "guardrails": {"max_kept_share": 1.0}}));
    let output = governance_common::path_in(&directory, "proposal.json");
    // No --registered: every registration date is unknown.
    governance_common::trackgate(&[
        "propose",
        "--plan",
        &fixture.plan,
        "--report",
        &fixture.report,
        "--policy",
        &policy,
        "--now",
        governance_common::NOW,
        "-o",
        &output,
    ])
    .assert_code(0);
    let proposal = read_json(&output);
    for change in proposal["changes"].as_array().unwrap() {
        assert_eq!(change["state"], "pending", "{change:#}");
        assert!(blocked_by(change).contains(&"registered".to_owned()), "{change:#}");
    }
}

#[test]
fn at_most_a_share_of_kept_volume_changes_per_release() {
    // Retiring app.heartbeat (40 % of the kept events) and app.theme_changed (6 %).
    assert_blocks("guard-share", json!({"max_kept_share": 0.1}), "retire:app.heartbeat", "kept_share");
    let proposal = run("guard-share-both", json!({"max_kept_share": 0.1}));
    assert_eq!(change(&proposal, "retire:app.theme_changed")["state"], "auto-applied");
    // With 45 %, heartbeat fits and takes the budget: theme_changed (6 % more) does not.
    let proposal = run("guard-share-45", json!({"max_kept_share": 0.45}));
    assert_eq!(change(&proposal, "retire:app.heartbeat")["state"], "auto-applied");
    assert_eq!(blocked_by(change(&proposal, "retire:app.theme_changed")), ["kept_share"]);
    let auto_applied: f64 = proposal["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|change| change["state"] == "auto-applied")
        .map(|change| change["kept_per_day"].as_f64().unwrap())
        .sum();
    assert!(auto_applied <= 0.45 * proposal["report"]["kept_per_day"].as_f64().unwrap());
}

#[test]
fn kinds_outside_the_policy_wait_for_their_owner() {
    let directory = scratch_directory("guard-kinds");
    let policy = policy(&directory, json!({"mode": "unsupervised", "auto_apply": ["sample"], "guardrails": all_off()}));
    let (run, output) = propose(&directory, &["--policy", &policy]);
    run.assert_code(0);
    let proposal = read_json(&output);
    assert_eq!(change(&proposal, "sample:catalogue.carousel_scrolled")["state"], "auto-applied");
    assert_eq!(change(&proposal, "retire:app.theme_changed")["state"], "pending");
}
