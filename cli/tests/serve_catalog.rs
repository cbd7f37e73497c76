//! `trackgate serve` keeps the last good catalogue: a rescan that cannot list the directory, or
//! that finds an envelope truncated in place, replaced by garbage or far too large, keeps serving
//! the last good plan (real HTTP over 127.0.0.1 to the built binary; every wait is on a log line
//! or a reply, bounded).

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{http_get, path, serve_scratch, sign_small_plan, ServeProcess};

const WAIT: Duration = Duration::from_secs(20);
const PLAN_URL: &str = "/v1/plans/shop/prod";

/// Signs a small `app`/prod plan as `version` and returns the envelope bytes.
fn envelope(directory: &Path, app: &str, version: u64) -> Vec<u8> {
    sign_small_plan(directory, app, version, &directory.join(format!("{app}-{version}.tgplan")))
}

fn scratch(name: &str) -> PathBuf {
    serve_scratch(&format!("serve-catalog-{name}"))
}

fn assert_serves(server: &ServeProcess, expected: &[u8]) {
    let (status, body) = http_get(server.address(), PLAN_URL, WAIT).expect("the server answers");
    assert_eq!(status, 200, "log:\n{}", server.log());
    assert!(
        body == expected,
        "served {} bytes, not the expected {}; log:\n{}",
        body.len(),
        expected.len(),
        server.log()
    );
}

#[test]
fn a_directory_moved_away_replaced_or_unreadable_keeps_the_last_good_plans() {
    let directory = scratch("moved");
    let plans = directory.join("plans");
    let v1 = envelope(&directory, "shop", 1);
    std::fs::write(plans.join("shop.tgplan"), &v1).unwrap();
    let mut server = ServeProcess::start(&[path(&plans), "--poll-ms", "50"]);
    server.wait_for_log("serving 1 plan(s): shop/prod v1", WAIT);
    assert_serves(&server, &v1);

    let moved = directory.join("plans-moved");
    std::fs::rename(&plans, &moved).unwrap();
    let line = server.wait_for_log("cannot read the directory", WAIT);
    assert!(line.contains("still serving the last good plans"), "{line}");
    assert_serves(&server, &v1);

    // A file where the directory was: listing fails differently (not a directory).
    std::fs::write(&plans, b"not a directory").unwrap();
    server.wait_for_log("Not a directory", WAIT);
    assert_serves(&server, &v1);
    std::fs::remove_file(&plans).unwrap();

    std::fs::rename(&moved, &plans).unwrap();
    server.wait_for_log("rescan complete: no file skipped", WAIT);
    assert_serves(&server, &v1);

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&plans, std::fs::Permissions::from_mode(0o000)).unwrap();
        // Root reads the directory whatever its mode; the check only means something otherwise.
        if std::fs::read_dir(&plans).is_err() {
            server.wait_for_log("Permission denied", WAIT);
            assert_serves(&server, &v1);
        }
        std::fs::set_permissions(&plans, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    assert!(!server.log().contains("serving 0 plan(s)"), "the catalogue was emptied:\n{}", server.log());
}

#[test]
fn an_envelope_truncated_in_place_or_replaced_by_garbage_keeps_its_last_good_version() {
    let directory = scratch("truncated");
    let plans = directory.join("plans");
    let file = plans.join("shop.tgplan");
    let v1 = envelope(&directory, "shop", 1);
    let v2 = envelope(&directory, "shop", 2);
    std::fs::write(&file, &v1).unwrap();
    let mut server = ServeProcess::start(&[path(&plans), "--poll-ms", "50"]);
    server.wait_for_log("serving 1 plan(s): shop/prod v1", WAIT);

    // Rewritten in place with a newer plan: served.
    std::fs::write(&file, &v2).unwrap();
    server.wait_for_log("serving 1 plan(s): shop/prod v2", WAIT);
    assert_serves(&server, &v2);

    // Truncated in place (a copy caught mid-write): v2 stays.
    std::fs::OpenOptions::new().write(true).open(&file).unwrap().set_len(30).unwrap();
    let line = server.wait_for_log("skipping", WAIT);
    assert!(line.contains("shop.tgplan") && line.contains("truncated at byte 30"), "{line}");
    assert!(line.contains("still serving its last good version (shop/prod v2)"), "{line}");
    assert_serves(&server, &v2);

    // Garbage of the same length as a real envelope: v2 stays.
    std::fs::write(&file, vec![b'x'; v2.len()]).unwrap();
    let line = server.wait_for_log("skipping", WAIT);
    assert!(line.contains("still serving its last good version (shop/prod v2)"), "{line}");
    assert_serves(&server, &v2);

    // A new scope caught mid-write has no good version: skipped, the others unaffected.
    let other = envelope(&directory, "games", 1);
    std::fs::write(plans.join("games.tgplan"), &other[..other.len() / 2]).unwrap();
    let line = server.wait_for_log("games.tgplan", WAIT);
    assert!(line.starts_with("trackgate serve: skipping") && !line.contains("still serving"), "{line}");
    assert_serves(&server, &v2);

    // Both repaired: both served.
    std::fs::write(plans.join("games.tgplan"), &other).unwrap();
    std::fs::write(&file, &v2).unwrap();
    server.wait_for_log("serving 2 plan(s): games/prod v1", WAIT);
    assert_serves(&server, &v2);

    // Deleting a file is how a plan is withdrawn: a complete listing without it drops it.
    std::fs::remove_file(plans.join("games.tgplan")).unwrap();
    server.wait_for_log("serving 1 plan(s): shop/prod v2", WAIT);
    let (status, _) = http_get(server.address(), "/v1/plans/games/prod", WAIT).unwrap();
    assert_eq!(status, 404);
    assert!(!server.log().contains("serving 0 plan(s)"), "the catalogue was emptied:\n{}", server.log());
}

#[test]
fn an_oversized_file_is_skipped_without_being_read() {
    let directory = scratch("oversized");
    let plans = directory.join("plans");
    let v1 = envelope(&directory, "shop", 1);
    std::fs::write(plans.join("shop.tgplan"), &v1).unwrap();
    // 2 GiB, sparse: reading it whole would take seconds and 2 GiB of memory.
    let huge = std::fs::File::create(plans.join("huge.tgplan")).unwrap();
    huge.set_len(2 << 30).unwrap();
    let mut server = ServeProcess::start(&[path(&plans), "--poll-ms", "50"]);
    let line = server.wait_for_log("huge.tgplan", WAIT);
    assert!(line.contains("2147483648 bytes is over the envelope cap of 8388608 bytes; not read"), "{line}");
    server.wait_for_log("serving 1 plan(s): shop/prod v1", WAIT);
    assert_serves(&server, &v1);
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.pid())).unwrap_or_default();
    if let Some(peak) = status.lines().find(|line| line.starts_with("VmHWM:")) {
        let kib: u64 = peak.split_whitespace().nth(1).and_then(|value| value.parse().ok()).unwrap();
        assert!(kib < 256 * 1024, "the server's peak memory is {kib} KiB: the huge file was read");
    }
}
