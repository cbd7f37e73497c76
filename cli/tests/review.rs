//! `trackgate review`: owners accept and reject changes (who, when, comment recorded; the file
//! rewritten crash-safely), unanswered changes expire at their deadline, worklists list what
//! each owner has to confirm; unknown, answered or expired ids and bad files are refused and
//! nothing is written.

mod governance_common;

use governance_common::{change, path_in, policy, propose, read_json, scratch_directory, trackgate, write_file};
use serde_json::json;

const LATER: &str = "2026-11-06T10:00:00Z";
const AFTER_DEADLINE: &str = "2026-11-19T00:00:00Z";

fn proposal(test: &str) -> (std::path::PathBuf, String) {
    let directory = scratch_directory(test);
    let (run, output) = propose(&directory, &[]);
    run.assert_code(0);
    (directory, output)
}

#[test]
fn answers_record_who_when_and_why() {
    let (directory, path) = proposal("review-answers");
    let run = trackgate(&[
        "review",
        &path,
        "--accept",
        "retire:app.heartbeat",
        "sample:catalogue.carousel_scrolled",
        "--reject",
        "downgrade:app.launched",
        "--by",
        "ana",
        "--comment",
        "checked with the dashboards team",
        "--now",
        LATER,
    ]);
    run.assert_code(0);
    assert!(run.stdout_text().contains("accepted retire:app.heartbeat by ana at 2026-11-06T10:00:00Z"));
    let proposal = read_json(&path);
    let heartbeat = change(&proposal, "retire:app.heartbeat");
    assert_eq!(heartbeat["state"], "accepted");
    assert_eq!(heartbeat["answer"], json!({"by": "ana", "at": LATER, "comment": "checked with the dashboards team"}));
    assert_eq!(change(&proposal, "downgrade:app.launched")["state"], "rejected");
    assert_eq!(change(&proposal, "retire:app.theme_changed")["state"], "pending");
    assert!(change(&proposal, "retire:app.theme_changed").get("answer").is_none());
    // No temporary file is left beside the proposal.
    let leftovers: Vec<_> = std::fs::read_dir(&directory)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn refused_reviews_write_nothing() {
    let (_directory, path) = proposal("review-refused");
    let before = std::fs::read(&path).unwrap();
    let refuse = |arguments: &[&str], message: &str| {
        let mut all = vec!["review", &path];
        all.extend_from_slice(arguments);
        let run = trackgate(&all);
        run.assert_code(1);
        assert!(run.stderr.contains(message), "{message} not in: {}", run.stderr);
        assert!(run.stderr.contains("nothing written"), "{}", run.stderr);
        assert_eq!(std::fs::read(&path).unwrap(), before, "the proposal changed");
    };
    // One unknown id among good ones: none is recorded.
    refuse(
        &["--accept", "retire:app.heartbeat", "retire:no.such_event", "--by", "ana", "--now", LATER],
        "no change `retire:no.such_event` in the proposal",
    );
    refuse(
        &["--accept", "retire:app.heartbeat", "--reject", "retire:app.heartbeat", "--by", "ana", "--now", LATER],
        "named twice",
    );
    refuse(&["--accept", "retire:app.heartbeat", "--by", " ", "--now", LATER], "--by) is empty");
    refuse(
        &["--accept", "retire:app.heartbeat", "--by", "ana", "--now", AFTER_DEADLINE],
        "change `retire:app.heartbeat` expired at its deadline 2026-11-19T00:00:00Z",
    );
    // Answer once, then again.
    trackgate(&["review", &path, "--reject", "retire:app.heartbeat", "--by", "bo", "--now", LATER]).assert_code(0);
    let answered = std::fs::read(&path).unwrap();
    let run = trackgate(&["review", &path, "--accept", "retire:app.heartbeat", "--by", "ana", "--now", LATER]);
    run.assert_code(1);
    assert!(run.stderr.contains("change `retire:app.heartbeat` is already rejected"), "{}", run.stderr);
    assert_eq!(std::fs::read(&path).unwrap(), answered);
    // Usage errors.
    trackgate(&["review", &path, "--accept", "retire:app.theme_changed", "--now", LATER]).assert_code(2);
    trackgate(&["review", &path, "--now", LATER]).assert_code(2);
}

#[test]
fn auto_applied_changes_cannot_be_answered() {
    let directory = scratch_directory("review-auto");
    let policy = policy(&directory, json!({"mode": "unsupervised"}));
    let (run, path) = propose(&directory, &["--policy", &policy]);
    run.assert_code(0);
    let run = trackgate(&["review", &path, "--reject", "retire:app.theme_changed", "--by", "ana", "--now", LATER]);
    run.assert_code(1);
    assert!(run.stderr.contains("is already auto-applied"), "{}", run.stderr);
}

#[test]
fn unanswered_changes_expire_at_the_deadline() {
    let (_directory, path) = proposal("review-expire");
    // Listing after the deadline shows them expired without writing.
    let before = std::fs::read(&path).unwrap();
    let run = trackgate(&["review", &path, "--list", "--format", "json", "--now", AFTER_DEADLINE]);
    run.assert_code(0);
    let lists: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(lists["format"], "trackgate-worklist/1");
    for list in lists["owners"].as_array().unwrap() {
        assert!(list["to_confirm"].as_array().unwrap().is_empty(), "{list}");
        assert!(list["expired"].as_u64().unwrap() > 0);
    }
    assert_eq!(std::fs::read(&path).unwrap(), before);
    // A review just before the deadline records the answer; the other changes stay pending.
    trackgate(&["review", &path, "--accept", "retire:app.heartbeat", "--by", "ana", "--now", "2026-11-18T23:59:59Z"])
        .assert_code(0);
    // The next review, after the deadline, is refused; nothing changes.
    let run =
        trackgate(&["review", &path, "--accept", "retire:app.theme_changed", "--by", "ana", "--now", AFTER_DEADLINE]);
    run.assert_code(1);
    let proposal = read_json(&path);
    assert_eq!(change(&proposal, "retire:app.heartbeat")["state"], "accepted");
    assert_eq!(change(&proposal, "retire:app.theme_changed")["state"], "pending");
}

#[test]
fn worklists_per_owner_in_text_and_json() {
    let (_directory, path) = proposal("review-list");
    let run = trackgate(&["review", &path, "--list", "--owner", "app-platform", "--now", LATER]);
    run.assert_code(0);
    let text = run.stdout_text();
    assert!(text.starts_with("Worklists for shopfront/prod version 2026112301 at 2026-11-06T10:00:00Z"), "{text}");
    assert!(text.contains("app-platform: 4 to confirm by 2026-11-19T00:00:00Z"), "{text}");
    assert!(text.contains("retire:app.heartbeat"), "{text}");
    assert!(!text.contains("identity"), "{text}");
    let run = trackgate(&["review", &path, "--list", "--format", "json", "--now", LATER]);
    run.assert_code(0);
    let lists: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let owners: Vec<&str> =
        lists["owners"].as_array().unwrap().iter().map(|list| list["owner"].as_str().unwrap()).collect();
    assert_eq!(owners, ["app-platform", "catalogue", "identity"]);
    let platform = &lists["owners"][0];
    let saving: f64 = platform["to_confirm"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["saving"]["events_per_day"].as_f64().unwrap())
        .sum();
    assert_eq!(platform["pending_saving"]["events_per_day"].as_f64().unwrap(), saving);
    assert_eq!(platform["next_deadline"], "2026-11-19T00:00:00Z");
}

#[test]
fn bad_proposal_files_are_refused_with_their_place() {
    let directory = scratch_directory("review-bad-files");
    let (_, path) = propose(&directory, &[]);
    let text = std::fs::read_to_string(&path).unwrap();
    // Invalid JSON value: line and column and path.
    let broken =
        write_file(&directory, "broken.json", text.replacen("\"state\": \"pending\"", "\"state\": \"maybe\"", 1));
    let run = trackgate(&["review", &broken, "--list", "--now", LATER]);
    run.assert_code(1);
    let line = text.lines().position(|line| line.contains("\"state\": \"pending\"")).unwrap() + 1;
    assert!(run.stderr.contains(&format!("broken.json:{line}:")), "{}", run.stderr);
    assert!(run.stderr.contains("$.changes[0].state: unknown variant `maybe`"), "{}", run.stderr);
    // A newer format is refused as newer, before its fields are read.
    let newer = write_file(&directory, "newer.json", r#"{"format": "trackgate-proposal/2", "changes": "new shape"}"#);
    let run = trackgate(&["review", &newer, "--list"]);
    run.assert_code(1);
    assert!(
        run.stderr.contains(
            "newer.json: $.format: `trackgate-proposal/2` is newer than this build reads (`trackgate-proposal/1`)"
        ),
        "{}",
        run.stderr
    );
    // An accepted change without its answer.
    let unanswered = write_file(
        &directory,
        "unanswered.json",
        text.replacen("\"state\": \"pending\"", "\"state\": \"accepted\"", 1),
    );
    let run = trackgate(&["review", &unanswered, "--list"]);
    run.assert_code(1);
    assert!(run.stderr.contains("$.changes[0].answer: missing"), "{}", run.stderr);
    let missing = path_in(&directory, "missing.json");
    trackgate(&["review", &missing, "--list"]).assert_code(2);
}

#[test]
fn the_html_report_shows_the_worklists() {
    let (directory, path) = proposal("review-html");
    trackgate(&["review", &path, "--accept", "retire:app.heartbeat", "--by", "ana", "--now", LATER]).assert_code(0);
    let fixture = governance_common::fixture();
    let page = path_in(&directory, "report.html");
    let mut arguments = vec![
        "report",
        "--plan",
        &fixture.plan,
        "--usage",
        &fixture.usage,
        "--html",
        &page,
        "--proposal",
        &path,
        "--now",
        LATER,
    ];
    arguments.extend(fixture.stats.iter().map(String::as_str));
    trackgate(&arguments).assert_code(0);
    let html = std::fs::read_to_string(&page).unwrap();
    let section = &html[html.find("<h2 id=\"worklists\">").expect("worklists section")..];
    assert!(section.contains("<h3>app-platform</h3>\n<p>3 to confirm by 2026-11-19T00:00:00Z"), "{section}");
    assert!(section.contains("1 accepted"), "{section}");
    assert!(
        section.contains("<td class=\"text\">retire:app.theme_changed</td><td class=\"text\">to confirm</td>"),
        "{section}"
    );
    assert!(section.contains("set $.events[&quot;app.theme_changed&quot;].status to &quot;retired&quot;"), "{section}");
    assert!(section.contains("<h3>identity</h3>"), "{section}");
    // Without --html, --proposal is a usage error.
    trackgate(&["report", "--proposal", &path, &fixture.stats[0]]).assert_code(2);
}
