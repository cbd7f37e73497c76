//! `trackgate propose`: a real report of the demo's sample plan becomes a proposal with stable
//! ids, exact edits, per-day savings, deadlines and states; supervised by default, unsupervised
//! with a policy; bad inputs are refused with their place and nothing is written.

mod governance_common;

use governance_common::{
    blocked_by, change, fixture, policy, propose, read_json, scratch_directory, states, write_file, NOW,
};
use serde_json::json;

#[test]
fn supervised_proposal_of_the_demo_report() {
    let directory = scratch_directory("propose-supervised");
    let (run, output) = propose(&directory, &[]);
    run.assert_code(0);
    assert!(
        run.stdout_text().contains("6 change(s) to shopfront/prod version 2026112301 (0 auto-applied, 6 pending)"),
        "{}",
        run.stdout_text()
    );
    let proposal = read_json(&output);
    assert_eq!(proposal["format"], "trackgate-proposal/1");
    assert_eq!(proposal["mode"], "supervised");
    assert_eq!(proposal["created"], NOW);
    assert!(proposal["plan"]["digest"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(
        states(&proposal),
        [
            ("downgrade:account.deleted", "pending"),
            ("downgrade:app.launched", "pending"),
            ("retire:app.cache_cleared", "pending"),
            ("retire:app.heartbeat", "pending"),
            ("retire:app.theme_changed", "pending"),
            ("sample:catalogue.carousel_scrolled", "pending"),
        ]
        .map(|(id, state)| (id.to_owned(), state.to_owned()))
    );
    let heartbeat = change(&proposal, "retire:app.heartbeat");
    assert_eq!(heartbeat["owner"], "app-platform");
    assert_eq!(heartbeat["edit"], json!({"set": "status", "from": "active", "to": "retired"}));
    assert_eq!(heartbeat["how"], "set $.events[\"app.heartbeat\"].status to \"retired\"");
    // Two days of 4,000 kept events: 4,000 a day saved.
    assert_eq!(heartbeat["saving"]["events_per_day"], 4000.0);
    assert_eq!(heartbeat["kept_per_day"], 4000.0);
    assert!(heartbeat["saving"]["cost_per_day"].as_f64().unwrap() > 0.0);
    // The report's confirm_days (14) from NOW.
    assert_eq!(heartbeat["deadline"], "2026-11-19T00:00:00Z");
    for field in ["why", "what", "how", "when"] {
        assert!(!heartbeat[field].as_str().unwrap().is_empty(), "{field} is empty");
    }
    let sample = change(&proposal, "sample:catalogue.carousel_scrolled");
    assert_eq!(sample["edit"], json!({"set": "sample", "from": 1.0, "to": 0.1}));
    assert_eq!(
        change(&proposal, "downgrade:account.deleted")["edit"],
        json!({"set": "priority", "from": "P0", "to": "P1"})
    );
    // Supervised proposals still say what would hold each change back from automation.
    assert_eq!(blocked_by(change(&proposal, "downgrade:account.deleted")), ["p0", "read"]);
    assert!(blocked_by(change(&proposal, "retire:app.theme_changed")).is_empty());
}

#[test]
fn the_same_inputs_give_the_same_proposal() {
    let first = scratch_directory("propose-again-1");
    let second = scratch_directory("propose-again-2");
    let (one, one_path) = propose(&first, &[]);
    let (two, two_path) = propose(&second, &[]);
    one.assert_code(0);
    two.assert_code(0);
    assert_eq!(std::fs::read(one_path).unwrap(), std::fs::read(two_path).unwrap());
}

#[test]
fn unsupervised_applies_what_the_guardrails_let_through() {
    let directory = scratch_directory("propose-unsupervised");
    let policy = policy(&directory, json!({"mode": "unsupervised", "confirm_days": 7}));
    let (run, output) = propose(&directory, &["--policy", &policy, "--worklist"]);
    run.assert_code(0);
    let proposal = read_json(&output);
    assert_eq!(proposal["mode"], "unsupervised");
    assert_eq!(change(&proposal, "retire:app.theme_changed")["state"], "auto-applied");
    assert_eq!(change(&proposal, "retire:app.heartbeat")["state"], "pending");
    assert_eq!(blocked_by(change(&proposal, "retire:app.heartbeat")), ["kept_share"]);
    assert_eq!(blocked_by(change(&proposal, "retire:app.cache_cleared")), ["registered"]);
    assert_eq!(blocked_by(change(&proposal, "downgrade:app.launched")), ["realtime", "read"]);
    assert_eq!(change(&proposal, "retire:app.heartbeat")["deadline"], "2026-11-12T00:00:00Z");
    // The worklist shows what is left to confirm per owner.
    let text = run.stdout_text();
    assert!(text.contains("app-platform: 3 to confirm by 2026-11-12T00:00:00Z"), "{text}");
    assert!(text.contains("auto-applied: retire:app.theme_changed"), "{text}");
    assert!(text.contains("identity: 1 to confirm"), "{text}");
}

#[test]
fn bad_inputs_are_refused_with_their_place_and_nothing_is_written() {
    let directory = scratch_directory("propose-bad");
    let fixture = fixture();
    let bad_policy = write_file(
        &directory,
        "bad-policy.json",
        "{\n  \"mode\": \"unsupervised\",\n  \"guardrails\": {\"max_kept_share\": \"lots\"}\n}",
    );
    let (run, output) = propose(&directory, &["--policy", &bad_policy]);
    run.assert_code(1);
    assert!(run.stderr.contains("bad-policy.json:3:"), "{}", run.stderr);
    assert!(run.stderr.contains("$.guardrails.max_kept_share"), "{}", run.stderr);
    assert!(!std::path::Path::new(&output).exists());

    let range = policy(&directory, json!({"guardrails": {"max_kept_share": 2}}));
    let (run, _) = propose(&directory, &["--policy", &range]);
    run.assert_code(1);
    assert!(run.stderr.contains("policy.json: $.guardrails.max_kept_share: must be between 0 and 1"), "{}", run.stderr);

    let newer_report =
        write_file(&directory, "newer-report.json", r#"{"format": "trackgate-report/2", "anything": 1}"#);
    let run = governance_common::trackgate(&[
        "propose",
        "--plan",
        &fixture.plan,
        "--report",
        &newer_report,
        "--now",
        NOW,
        "-o",
        &output,
    ]);
    run.assert_code(1);
    assert!(run.stderr.contains("$.format: `trackgate-report/2` is newer than this build reads"), "{}", run.stderr);

    let bad_dates = write_file(
        &directory,
        "registered.json",
        r#"{"format": "trackgate-registered/1", "events": {"app.heartbeat": "last year"}}"#,
    );
    let run = governance_common::trackgate(&[
        "propose",
        "--plan",
        &fixture.plan,
        "--report",
        &fixture.report,
        "--registered",
        &bad_dates,
        "--now",
        NOW,
        "-o",
        &output,
    ]);
    run.assert_code(1);
    assert!(run.stderr.contains("$.events.app.heartbeat: `last year` is not an RFC 3339 time"), "{}", run.stderr);

    // A report made with another plan: its candidates name events this plan lacks.
    let other_plan = write_file(
        &directory,
        "other-plan.json",
        r#"{"schema": 1, "app": "shopfront", "env": "prod", "version": 1, "events": {"app.heartbeat": {"priority": "P3"}}}"#,
    );
    let run = governance_common::trackgate(&[
        "propose",
        "--plan",
        &other_plan,
        "--report",
        &fixture.report,
        "--now",
        NOW,
        "-o",
        &output,
    ]);
    run.assert_code(1);
    assert!(run.stderr.contains("the plan has no such event"), "{}", run.stderr);
    assert!(!std::path::Path::new(&output).exists());
}
