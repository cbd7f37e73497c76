//! End-to-end tests of the signed delivery commands through the built `trackgate` binary:
//! keygen → build → inspect → serve (real HTTP on 127.0.0.1) → fetch, and the refusals.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{path, ServeProcess};

fn trackgate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trackgate")).args(args).output().expect("runs trackgate")
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

fn assert_exit(output: &Output, code: i32) {
    assert_eq!(output.status.code(), Some(code), "{}", text(output));
}

fn scratch(name: &str) -> PathBuf {
    let directory = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("delivery-{name}"));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    directory
}

fn write_plan(directory: &Path, name: &str, events: &str) -> PathBuf {
    let file = directory.join(name);
    let json = format!(r#"{{"schema": 1, "app": "shop", "env": "prod", "version": 1, "events": {{ {events} }} }}"#);
    std::fs::write(&file, json).unwrap();
    file
}

const EVENTS_V1: &str = r#""checkout.completed": {"priority": "P0"}, "search.performed": {"priority": "P2"},
    "banner.seen": {"priority": "P3"}"#;
const EVENTS_V2: &str = r#""checkout.completed": {"priority": "P0"}, "search.performed": {"priority": "P1", "sample": 0.5},
    "banner.seen": {"priority": "P3", "status": "retired"}, "cart.viewed": {"priority": "P2"}"#;

fn keygen(directory: &Path) -> (PathBuf, PathBuf) {
    let output = trackgate(&["keygen", "--out", path(directory)]);
    assert_exit(&output, 0);
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("key id "), "{}", text(&output));
    (directory.join("signing.key"), directory.join("public.key"))
}

fn build(plan: &Path, key: &Path, version: u64, out: &Path) {
    let version = version.to_string();
    assert_exit(&trackgate(&["build", path(plan), "--key", path(key), "--version", &version, "--out", path(out)]), 0);
}

/// A running `trackgate serve` over a plan directory it re-reads every 100 ms.
struct Server {
    process: ServeProcess,
}

impl Server {
    fn start(directory: &Path) -> Server {
        Server { process: ServeProcess::start(&[path(directory), "--poll-ms", "100"]) }
    }

    fn url(&self) -> String {
        format!("{}/v1/plans/shop/prod", self.process.base_url)
    }
}

fn fetch(url: &str, public_key: &Path, store: &Path) -> Output {
    trackgate(&["fetch", url, "--pubkey", path(public_key), "--store", path(store), "--timeout", "10"])
}

#[test]
fn keygen_build_inspect_serve_fetch_end_to_end() {
    let directory = scratch("end-to-end");
    let (signing, public) = keygen(&directory.join("keys"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&signing).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let plans = directory.join("plans");
    std::fs::create_dir_all(&plans).unwrap();
    let plan = write_plan(&directory, "plan.json", EVENTS_V1);
    build(&plan, &signing, 1, &plans.join("shop-1.tgplan"));
    let inspected = trackgate(&["inspect", path(&plans.join("shop-1.tgplan")), "--pubkey", path(&public)]);
    assert_exit(&inspected, 0);
    let shown = text(&inspected);
    assert!(shown.contains("signature:      valid") && shown.contains("config version: 1"), "{shown}");
    assert!(shown.contains("3 (1 P0, 0 P1, 1 P2, 1 P3 active"), "{shown}");

    let server = Server::start(&plans);
    let store = directory.join("device");
    let first = fetch(&server.url(), &public, &store);
    assert_exit(&first, 0);
    assert!(text(&first).contains("installed version 1"), "{}", text(&first));
    let second = fetch(&server.url(), &public, &store);
    assert_exit(&second, 0);
    assert!(text(&second).contains("unchanged: version 1 is current"), "{}", text(&second));

    let plan = write_plan(&directory, "plan-2.json", EVENTS_V2);
    build(&plan, &signing, 2, &plans.join("shop-2.tgplan"));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let third = fetch(&server.url(), &public, &store);
        if text(&third).contains("installed version 2") {
            break;
        }
        assert!(Instant::now() < deadline, "server never served version 2: {}", text(&third));
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(std::fs::read(store.join("plan.bin")).unwrap(), std::fs::read(plans.join("shop-2.tgplan")).unwrap());
}

#[test]
fn inspect_with_a_wrong_key_exits_1_with_the_reason() {
    let directory = scratch("wrong-key");
    let (signing, _) = keygen(&directory.join("publisher"));
    let (_, stranger) = keygen(&directory.join("stranger"));
    let plan = write_plan(&directory, "plan.json", EVENTS_V1);
    let envelope = directory.join("plan.tgplan");
    build(&plan, &signing, 1, &envelope);
    let output = trackgate(&["inspect", path(&envelope), "--pubkey", path(&stranger)]);
    assert_exit(&output, 1);
    assert!(text(&output).contains("is by unknown key"), "{}", text(&output));
}

#[test]
fn inspect_of_a_damaged_envelope_names_the_reason() {
    let directory = scratch("damaged");
    let (signing, public) = keygen(&directory.join("keys"));
    let plan = write_plan(&directory, "plan.json", EVENTS_V1);
    let envelope = directory.join("plan.tgplan");
    build(&plan, &signing, 1, &envelope);
    let mut bytes = std::fs::read(&envelope).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&envelope, &bytes).unwrap();
    let output = trackgate(&["inspect", path(&envelope), "--pubkey", path(&public)]);
    assert_exit(&output, 1);
    assert!(text(&output).contains("does not match the envelope"), "{}", text(&output));
    std::fs::write(&envelope, &bytes[..30]).unwrap();
    let output = trackgate(&["inspect", path(&envelope)]);
    assert_exit(&output, 1);
    assert!(text(&output).contains("truncated at byte 30"), "{}", text(&output));
}

#[test]
fn build_refuses_an_invalid_plan() {
    let directory = scratch("invalid");
    let (signing, _) = keygen(&directory.join("keys"));
    let plan = write_plan(&directory, "plan.json", r#""bad name!": {"priority": "P0"}"#);
    let out = directory.join("plan.tgplan");
    let output = trackgate(&["build", path(&plan), "--key", path(&signing), "--version", "1", "--out", path(&out)]);
    assert_exit(&output, 1);
    assert!(!out.exists());
}

#[test]
fn keygen_never_overwrites_a_key() {
    let directory = scratch("overwrite");
    keygen(&directory);
    let before = std::fs::read(directory.join("signing.key")).unwrap();
    assert_exit(&trackgate(&["keygen", "--out", path(&directory)]), 2);
    assert_eq!(std::fs::read(directory.join("signing.key")).unwrap(), before);
}

#[test]
fn fetch_refuses_a_plan_from_an_untrusted_key_and_keeps_the_store() {
    let directory = scratch("untrusted");
    let (signing, public) = keygen(&directory.join("publisher"));
    let (intruder, _) = keygen(&directory.join("intruder"));
    let plans = directory.join("plans");
    std::fs::create_dir_all(&plans).unwrap();
    let plan = write_plan(&directory, "plan.json", EVENTS_V1);
    build(&plan, &signing, 1, &plans.join("shop-1.tgplan"));
    let server = Server::start(&plans);
    let store = directory.join("device");
    assert_exit(&fetch(&server.url(), &public, &store), 0);
    build(&plan, &intruder, 5, &plans.join("shop-5.tgplan"));
    let deadline = Instant::now() + Duration::from_secs(20);
    let refused = loop {
        let output = fetch(&server.url(), &public, &store);
        if output.status.code() == Some(1) {
            break output;
        }
        assert!(Instant::now() < deadline, "server never served the intruder's plan: {}", text(&output));
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(text(&refused).contains("unknown key"), "{}", text(&refused));
    assert!(text(&refused).contains("active: Cache version 1"), "{}", text(&refused));
}

#[test]
fn diff_lists_added_removed_retired_reprioritised_and_resampled_events() {
    let directory = scratch("diff");
    let old = write_plan(&directory, "old.json", EVENTS_V1);
    let new = write_plan(&directory, "new.json", EVENTS_V2);
    let (signing, _) = keygen(&directory.join("keys"));
    let envelope = directory.join("new.tgplan");
    build(&new, &signing, 2, &envelope);
    let output = trackgate(&["diff", path(&old), path(&envelope), "--json"]);
    assert_exit(&output, 0);
    let diff: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(diff["added"], serde_json::json!(["cart.viewed"]));
    assert_eq!(diff["retired"], serde_json::json!(["banner.seen"]));
    assert_eq!(diff["reprioritised"][0]["name"], "search.performed");
    assert_eq!(diff["resampled"][0]["new"], "0.5");
    assert_eq!(diff["new_version"], 2);
    let reverse = trackgate(&["diff", path(&new), path(&old)]);
    assert_exit(&reverse, 0);
    assert!(text(&reverse).contains("- removed     cart.viewed"), "{}", text(&reverse));
}
