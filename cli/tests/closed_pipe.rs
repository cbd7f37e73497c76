//! Every command that prints ends quietly when its stdout reader has gone (`… | head -1`):
//! no panic and no message, exit 141 (what a shell reports for a writer stopped by a closed
//! pipe). The reader is closed before the command starts, so the first write fails every time.

mod common;

use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};

use common::{keygen, path, sample_plan_path, scratch, trackgate, write_plan, INVALID_PLAN, PLAN_WITH_WARNING};

/// Runs `trackgate ARGUMENTS` with stdout connected to a socket whose other end is closed.
fn run_with_closed_stdout(arguments: &[&str]) -> (Option<i32>, String) {
    let (ours, theirs) = UnixStream::pair().expect("a socket pair");
    drop(ours);
    let output = Command::new(env!("CARGO_BIN_EXE_trackgate"))
        .args(arguments)
        .stdin(Stdio::null())
        .stdout(Stdio::from(std::os::fd::OwnedFd::from(theirs)))
        .stderr(Stdio::piped())
        .output()
        .expect("the trackgate binary runs");
    (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn printing_commands_exit_quietly_on_a_closed_stdout() {
    let directory = scratch("closed-pipe");
    let (signing, public, _) = keygen(&directory.join("keys"));
    let invalid = write_plan("closed-pipe-invalid.json", INVALID_PLAN);
    let valid = write_plan("closed-pipe-valid.json", PLAN_WITH_WARNING);
    let envelope = directory.join("plan.tgplan");
    trackgate(&["build", &valid, "--key", path(&signing), "--version", "1", "--out", path(&envelope)]).assert_code(0);
    let events = directory.join("events.ndjson");
    std::fs::write(&events, "{\"event\":\"checkout.completed\"}\n").unwrap();
    let report = directory.join("report.json");
    let plan = trackgate_core::parse_plan(PLAN_WITH_WARNING).unwrap().plan;
    let engine = trackgate_core::Engine::new(
        trackgate_core::CompiledPlan::compile(&plan).unwrap(),
        trackgate_core::EngineOptions { unit_id: Some("d".into()), ..Default::default() },
    )
    .unwrap();
    engine.decide("checkout.completed", 10);
    std::fs::write(&report, serde_json::to_string(&engine.take_report()).unwrap()).unwrap();
    let sample = sample_plan_path();
    let commands: Vec<Vec<&str>> = vec![
        vec!["validate", &invalid],
        vec!["validate", &valid, "--json"],
        vec!["schema"],
        vec!["diff", &sample, &valid],
        vec!["diff", &valid, &sample, "--json"],
        vec!["inspect", path(&envelope)],
        vec!["inspect", path(&envelope), "--pubkey", path(&public)],
        vec!["demo", "--devices", "10"],
        vec!["export", "spark", "--plan", &valid],
        vec!["filter", "--plan", &valid, path(&events)],
        vec!["report", path(&report)],
    ];
    for arguments in commands {
        let (code, stderr) = run_with_closed_stdout(&arguments);
        assert!(!stderr.contains("panicked"), "{arguments:?} panicked:\n{stderr}");
        assert_eq!(code, Some(141), "{arguments:?}:\n{stderr}");
        assert!(!stderr.contains("Broken pipe"), "{arguments:?} should be quiet:\n{stderr}");
    }
}
