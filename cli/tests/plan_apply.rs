//! `trackgate plan apply`: the next plan version holds exactly the accepted and auto-applied
//! changes, passes `trackgate validate`, and bumps the version; a different plan, a hand edit
//! that would make an invalid plan, or nothing to apply is refused and nothing is written.

mod governance_common;

use governance_common::{fixture, path_in, policy, propose, read_json, scratch_directory, trackgate, write_file};
use serde_json::{json, Value};

const LATER: &str = "2026-11-06T10:00:00Z";

/// The plan's events whose rules differ between two plans: name → (before, after).
fn differences(before: &Value, after: &Value) -> Vec<(String, Value, Value)> {
    let mut found = Vec::new();
    for (name, rule) in before["events"].as_object().unwrap() {
        let next = &after["events"][name];
        for field in ["status", "priority", "sample"] {
            let normal = |value: &Value| match (field, value) {
                ("status", Value::Null) => json!("active"),
                ("sample", Value::Null) => json!(1.0),
                ("sample", value) => json!(value.as_f64().unwrap()),
                (_, value) => value.clone(),
            };
            if normal(&rule[field]) != normal(&next[field]) {
                found.push((format!("{name}.{field}"), normal(&rule[field]), normal(&next[field])));
            }
        }
    }
    assert_eq!(before["events"].as_object().unwrap().len(), after["events"].as_object().unwrap().len());
    found
}

#[test]
fn supervised_accepts_become_the_next_version() {
    let directory = scratch_directory("apply-supervised");
    let (run, proposal) = propose(&directory, &[]);
    run.assert_code(0);
    trackgate(&[
        "review",
        &proposal,
        "--accept",
        "retire:app.heartbeat",
        "sample:catalogue.carousel_scrolled",
        "--reject",
        "downgrade:app.launched",
        "--by",
        "ana",
        "--now",
        LATER,
    ])
    .assert_code(0);
    let next = path_in(&directory, "next.json");
    let run = trackgate(&["plan", "apply", &proposal, "-o", &next, "--now", LATER]);
    run.assert_code(0);
    assert!(
        run.stdout_text().contains("version 2026112302 (from 2026112301) with 2 change(s)"),
        "{}",
        run.stdout_text()
    );
    trackgate(&["validate", &next]).assert_code(0);
    let before = read_json(&fixture().plan);
    let after = read_json(&next);
    assert_eq!(after["version"], 2026112302u64);
    assert_eq!(
        differences(&before, &after),
        [
            ("app.heartbeat.status".to_owned(), json!("active"), json!("retired")),
            ("catalogue.carousel_scrolled.sample".to_owned(), json!(1.0), json!(0.1)),
        ]
    );
    // Everything else in the plan is kept.
    for field in ["app", "env", "sampling_salt", "unregistered", "defaults"] {
        assert_eq!(before[field], after[field], "{field}");
    }
}

#[test]
fn unsupervised_auto_applied_changes_become_the_next_version() {
    let directory = scratch_directory("apply-unsupervised");
    let policy = policy(&directory, json!({"mode": "unsupervised"}));
    let (run, proposal) = propose(&directory, &["--policy", &policy]);
    run.assert_code(0);
    let next = path_in(&directory, "next.json");
    trackgate(&["plan", "apply", &proposal, "--plan", &fixture().plan, "-o", &next, "--now", LATER]).assert_code(0);
    assert_eq!(
        differences(&read_json(&fixture().plan), &read_json(&next)),
        [("app.theme_changed.status".to_owned(), json!("active"), json!("retired"))]
    );
}

#[test]
fn expired_and_pending_changes_are_not_applied() {
    let directory = scratch_directory("apply-expired");
    let (_, proposal) = propose(&directory, &[]);
    let next = path_in(&directory, "next.json");
    let run = trackgate(&["plan", "apply", &proposal, "-o", &next, "--now", "2026-12-01T00:00:00Z"]);
    run.assert_code(1);
    assert!(
        run.stderr.contains("no change is accepted or auto-applied (0 pending, 6 expired, 0 rejected)"),
        "{}",
        run.stderr
    );
    assert!(!std::path::Path::new(&next).exists());
}

#[test]
fn a_different_plan_is_refused() {
    let directory = scratch_directory("apply-mismatch");
    let (_, proposal) = propose(&directory, &[]);
    trackgate(&["review", &proposal, "--accept", "retire:app.heartbeat", "--by", "ana", "--now", LATER]).assert_code(0);
    // The same plan with one rule changed (and the same version).
    let mut edited = read_json(&fixture().plan);
    edited["events"]["cart.viewed"]["sample"] = json!(0.4);
    let other = write_file(&directory, "edited-plan.json", serde_json::to_string_pretty(&edited).unwrap());
    let next = path_in(&directory, "next.json");
    let run = trackgate(&["plan", "apply", &proposal, "--plan", &other, "-o", &next, "--now", LATER]);
    run.assert_code(1);
    assert!(run.stderr.contains("is not the one the proposal was made against"), "{}", run.stderr);
    assert!(run.stderr.contains("nothing written"), "{}", run.stderr);
    assert!(!std::path::Path::new(&next).exists());
    // Reformatting the same plan does not change its digest.
    let reformatted =
        write_file(&directory, "same-plan.json", serde_json::to_string(&read_json(&fixture().plan)).unwrap());
    trackgate(&["plan", "apply", &proposal, "--plan", &reformatted, "-o", &next, "--now", LATER]).assert_code(0);
}

#[test]
fn hand_edits_that_break_the_plan_are_refused() {
    let directory = scratch_directory("apply-hand-edited");
    let (_, proposal) = propose(&directory, &[]);
    trackgate(&["review", &proposal, "--accept", "sample:catalogue.carousel_scrolled", "--by", "ana", "--now", LATER])
        .assert_code(0);
    let text = std::fs::read_to_string(&proposal).unwrap();
    let next = path_in(&directory, "next.json");
    let apply = |name: &str, text: String| {
        let path = write_file(&directory, name, text);
        let run = trackgate(&["plan", "apply", &path, "-o", &next, "--now", LATER]);
        assert!(!std::path::Path::new(&next).exists(), "{name}: a plan was written");
        run
    };
    // A sampling rate above 1: refused where it is, with line and column.
    let run = apply("rate.json", text.replacen("\"to\": 0.1", "\"to\": 1.5", 1));
    run.assert_code(1);
    assert!(run.stderr.contains("rate.json:"), "{}", run.stderr);
    assert!(run.stderr.contains("sampling rate must be between 0 and 1"), "{}", run.stderr);
    // An accepted change moved to an event the plan does not have.
    let run = apply(
        "event.json",
        text.replace("\"event\": \"catalogue.carousel_scrolled\"", "\"event\": \"catalogue.not_in_plan\""),
    );
    run.assert_code(1);
    assert!(run.stderr.contains("the plan has no event `catalogue.not_in_plan`"), "{}", run.stderr);
    // An edit whose `from` the plan does not hold.
    let run = apply("from.json", text.replacen("\"from\": 1.0", "\"from\": 0.5", 1));
    run.assert_code(1);
    assert!(run.stderr.contains("the plan's sample is 1, not 0.5 as the edit expects"), "{}", run.stderr);
    // A kind that does not match its edit.
    let run = apply("kind.json", text.replacen("\"kind\": \"sample\"", "\"kind\": \"retire\"", 1));
    run.assert_code(1);
    assert!(run.stderr.contains(".edit: is a sample edit, but the change's kind is retire"), "{}", run.stderr);
    // An edit that raises the rate is not a governance change.
    let run = apply(
        "raise.json",
        text.replacen("\"from\": 1.0,\n        \"to\": 0.1", "\"from\": 1.0,\n        \"to\": 1.0", 1),
    );
    run.assert_code(1);
    assert!(run.stderr.contains("is not a sample"), "{}", run.stderr);
}
