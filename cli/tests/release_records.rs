//! Bad input around releases: a record from a newer trackgate, a hand-edited record, hostile
//! bucket headers. Each gives a clear error or is treated as outside the rollout, and nothing
//! the record gates is published.

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::release::{release, release_scratch, ReleaseScratch};
use common::{path, trackgate, ServeProcess};
use trackgate_delivery::parse_envelope;

const T0: u64 = 1_800_000_000;

const PREVIOUS: &str = r#"{"schema": 1, "app": "shop", "env": "prod", "version": 1, "events": {
    "checkout.completed": {"priority": "P0", "owner": "payments"}}}"#;
const NEXT: &str = r#"{"schema": 1, "app": "shop", "env": "prod", "version": 2, "events": {
    "checkout.completed": {"priority": "P0", "owner": "payments"},
    "search.performed": {"priority": "P2", "owner": "search"}}}"#;

/// A plan directory with version 1 and release `r` of version 2 rolling out on `steps`;
/// returns (plans directory, record path).
fn rolling_out(name: &str, steps: &str) -> (PathBuf, PathBuf) {
    let ReleaseScratch { directory, plans, business, technical, .. } = release_scratch(name, PREVIOUS, NEXT);
    trackgate(&[
        "build",
        path(&directory.join("previous.json")),
        "--key",
        path(&technical),
        "--version",
        "1",
        "--issued-at",
        &(T0 - 86_400).to_string(),
        "--expires",
        "365d",
        "--out",
        path(&plans.join("shop-1.tgplan")),
    ])
    .assert_code(0);
    release(
        &[
            "start",
            path(&directory.join("next.json")),
            "--from-plan",
            path(&directory.join("previous.json")),
            "--dir",
            path(&plans),
            "--id",
            "r",
            "--steps",
            steps,
        ],
        T0 - 600,
    )
    .assert_code(0);
    let record = plans.join("r.release.json");
    release(&["check", path(&record)], T0 - 500).assert_code(0);
    release(&["diff", path(&record)], T0 - 400).assert_code(0);
    release(&["approve", path(&record), "--role", "business", "--key", path(&business)], T0 - 300).assert_code(0);
    release(&["approve", path(&record), "--role", "technical", "--key", path(&technical)], T0 - 200).assert_code(0);
    release(&["schedule", path(&record), "--at", &T0.to_string()], T0 - 100).assert_code(0);
    release(&["advance", path(&record)], T0).assert_code(0);
    (plans, record)
}

/// GETs the plan with an optional raw bucket header; returns the served config version.
fn served_version(server: &ServeProcess, bucket: Option<&[u8]>) -> u64 {
    let mut stream = std::net::TcpStream::connect(server.address()).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut request =
        format!("GET /v1/plans/shop/prod HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n", server.address()).into_bytes();
    if let Some(bucket) = bucket {
        request.extend_from_slice(b"Trackgate-Rollout-Bucket: ");
        request.extend_from_slice(bucket);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"\r\n");
    stream.write_all(&request).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let split = answer.windows(4).position(|window| window == b"\r\n\r\n").unwrap();
    assert!(answer.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&answer[..split]));
    parse_envelope(&answer[split + 4..], 1 << 20).unwrap().header.plan_version
}

fn assert_refused_and_unchanged(record: &Path, expected: &str) {
    let before = std::fs::read(record).unwrap();
    for arguments in [vec!["status", path(record)], vec!["advance", path(record)], vec!["watch", path(record)]] {
        let run = release(&arguments, T0 + 7_200);
        run.assert_code(1);
        assert!(run.stderr.contains(expected), "{arguments:?}: {}", run.stderr);
        assert!(run.stderr.contains("r.release.json: "), "the message names the file: {}", run.stderr);
    }
    assert_eq!(std::fs::read(record).unwrap(), before, "nothing was written");
}

#[test]
fn a_record_from_a_newer_trackgate_is_refused_and_publishes_nothing() {
    let (plans, record) = rolling_out("release-newer", "100%:1h");
    let text = std::fs::read_to_string(&record).unwrap().replace("trackgate-release/1", "trackgate-release/2");
    std::fs::write(&record, text).unwrap();
    assert_refused_and_unchanged(&record, "format trackgate-release/2, newer than this build reads");
    let mut server = ServeProcess::start(&[path(&plans)]);
    server.wait_for_log("r.release.json: the release record is in format trackgate-release/2", Duration::from_secs(20));
    assert_eq!(served_version(&server, Some(b"0")), 1, "the gated envelope is not served");
}

#[test]
fn an_edited_record_is_refused_and_publishes_nothing() {
    let (plans, record) = rolling_out("release-edited", "100%:1h");
    let text = std::fs::read_to_string(&record).unwrap();
    let edited = text.replacen("\"state\": \"rolling_out\"", "\"state\": \"confirmed\"", 1).replacen(
        ",\n    \"step\": 0",
        "",
        1,
    );
    assert_ne!(edited, text);
    std::fs::write(&record, edited).unwrap();
    assert_refused_and_unchanged(&record, "was changed outside `trackgate release`");
    let mut server = ServeProcess::start(&[path(&plans)]);
    server.wait_for_log("skipping", Duration::from_secs(20));
    assert_eq!(served_version(&server, Some(b"0")), 1);
}

#[test]
fn bucket_headers_are_hostile_input_and_only_choose_among_signed_plans() {
    let (plans, record) = rolling_out("release-buckets", "50%:1h,100%:1h");
    let offset =
        trackgate_release::ReleaseRecord::parse(&std::fs::read_to_string(&record).unwrap()).unwrap().rollout.offset;
    let mut server = ServeProcess::start(&[path(&plans)]);
    server.wait_for_log("r (rolling out at 50%)", Duration::from_secs(20));
    let inside = offset.to_string();
    let outside = ((offset + 5_000) % 10_000).to_string();
    assert_eq!(served_version(&server, Some(inside.as_bytes())), 2);
    assert_eq!(served_version(&server, Some(outside.as_bytes())), 1);
    for hostile in [&b"10000"[..], b"-1", b"+1", b"0x1", b"1 1", b"99999999999999999999", b"\xff\xfe", b""] {
        assert_eq!(served_version(&server, Some(hostile)), 1, "{:?}", String::from_utf8_lossy(hostile));
    }
    assert_eq!(served_version(&server, None), 1, "no header: outside every partial share");
}
