//! End to end on loopback: `trackgate release` stages a plan through a real `trackgate serve`
//! to 2,000 simulated devices (the delivery library in-process, seeded install ids), which send
//! only their rollout bucket, decide events and upload drop reports the watch reads. A good
//! release reaches every device stage by stage and is confirmed; a bad one (a P0 size cap typo)
//! is halted at its first step and rolled back, and no device ever goes below its floor.
//! Stage durations are injected with `--now`, never waited for.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::fleet::Fleet;
use common::release::{release, release_scratch, ReleaseScratch};
use common::{path, trackgate, ServeProcess};
use trackgate_delivery::rollout_bucket;
use trackgate_release::{in_share, ReleaseRecord};

const T0: u64 = 1_800_000_000;
const HOUR: u64 = 3600;
const DEVICES: usize = 2_000;

const PREVIOUS: &str = r#"{"schema": 1, "app": "shop", "env": "prod", "version": 1, "events": {
    "checkout.completed": {"priority": "P0", "owner": "payments"},
    "search.performed": {"priority": "P2", "owner": "search"},
    "banner.viewed": {"priority": "P3", "owner": "growth"}}}"#;

/// Samples the banner to 10 %: what the release means to do.
const GOOD: &str = r#"{"schema": 1, "app": "shop", "env": "prod", "version": 2, "events": {
    "checkout.completed": {"priority": "P0", "owner": "payments"},
    "search.performed": {"priority": "P2", "owner": "search"},
    "banner.viewed": {"priority": "P3", "owner": "growth", "sample": 0.1}}}"#;

/// Also caps checkout.completed at 64 bytes (meant: 6400): every P0 checkout is dropped as
/// oversize. Nothing the check reads shows it; the watch does.
const BAD: &str = r#"{"schema": 1, "app": "shop", "env": "prod", "version": 2, "events": {
    "checkout.completed": {"priority": "P0", "owner": "payments", "max_bytes": 64},
    "search.performed": {"priority": "P2", "owner": "search"},
    "banner.viewed": {"priority": "P3", "owner": "growth", "sample": 0.1}}}"#;

struct Setup {
    directory: PathBuf,
    plans: PathBuf,
    collect: PathBuf,
    business: PathBuf,
    technical: PathBuf,
    server: ServeProcess,
    fleet: Fleet,
}

fn public_key(hex_file: &Path) -> [u8; 32] {
    let text = std::fs::read_to_string(hex_file).unwrap();
    trackgate_delivery::envelope::from_hex(&text).unwrap().try_into().unwrap()
}

fn setup(name: &str, next: &str, devices: usize) -> Setup {
    let ReleaseScratch { directory, plans, business, technical, business_hex, technical_hex, .. } =
        release_scratch(name, PREVIOUS, next);
    let bundled = plans.join("shop-prod-1.tgplan");
    let issued = (T0 - 24 * HOUR).to_string();
    // Devices require both roles, so even the bundled plan is co-signed.
    trackgate(&[
        "build",
        path(&directory.join("previous.json")),
        "--key",
        path(&business),
        "--key",
        path(&technical),
        "--version",
        "1",
        "--issued-at",
        &issued,
        "--expires",
        "365d",
        "--out",
        path(&bundled),
    ])
    .assert_code(0);
    let collect = directory.join("collect.ndjson");
    let server = ServeProcess::start(&[path(&plans), "--collect", path(&collect), "--poll-ms", "50"]);
    let keys = [("business", public_key(&business_hex)), ("technical", public_key(&technical_hex))];
    let fleet = Fleet::new(devices, &server.base_url, &keys, &std::fs::read(&bundled).unwrap(), T0 - 2 * HOUR, 13);
    Setup { directory, plans, collect, business, technical, server, fleet }
}

/// Registers, checks, diffs, approves (both roles) and schedules release `id` to start at T0.
fn prepare(setup: &mut Setup, id: &str) -> PathBuf {
    // A window of reports on the previous version: the diff's baseline and the watch's.
    assert_eq!(setup.fleet.fetch(T0 - 2 * HOUR + 60)[&1], DEVICES);
    setup.fleet.use_and_report(T0 - HOUR);
    let directory = &setup.directory;
    let record = setup.plans.join(format!("{id}.release.json"));
    let guards = directory.join("guards.json");
    std::fs::write(&guards, r#"{"min_reports": 10}"#).unwrap();
    release(
        &[
            "start",
            path(&directory.join("next.json")),
            "--from-plan",
            path(&directory.join("previous.json")),
            "--dir",
            path(&setup.plans),
            "--id",
            id,
            "--by",
            "alice",
            "--guards",
            path(&guards),
        ],
        T0 - 50 * 60,
    )
    .assert_code(0);
    release(&["check", path(&record), "--by", "alice", "--input", path(&setup.collect)], T0 - 45 * 60).assert_code(0);
    let diff = release(&["diff", path(&record), "--by", "alice", "--input", path(&setup.collect)], T0 - 40 * 60);
    diff.assert_code(0);
    assert!(diff.stdout.contains("banner.viewed (P3): sample 1 → 0.1; kept/day 40,000 → 4,000"), "{}", diff.stdout);
    for (role, key, minute) in [("business", &setup.business, 30), ("technical", &setup.technical, 20)] {
        release(&["approve", path(&record), "--role", role, "--key", path(key), "--by", role], T0 - minute * 60)
            .assert_code(0);
    }
    release(&["schedule", path(&record), "--at", &T0.to_string(), "--by", "carol"], T0 - 10 * 60).assert_code(0);
    record
}

fn read(record: &Path) -> ReleaseRecord {
    ReleaseRecord::parse(&std::fs::read_to_string(record).unwrap()).unwrap()
}

/// How many devices a share (basis points) of `record`'s rollout holds.
fn expected_in_share(fleet: &Fleet, record: &ReleaseRecord, share: u16) -> usize {
    let offset = record.rollout.offset;
    fleet
        .devices
        .iter()
        .filter(|device| in_share(rollout_bucket(&device.install_id, "shop/prod"), offset, share))
        .count()
}

#[test]
fn a_good_release_goes_through_every_stage_to_every_device() {
    let mut setup = setup("release-good", GOOD, DEVICES);
    let record = prepare(&mut setup, "good");
    let started = release(&["advance", path(&record), "--by", "ops", "--reports", path(&setup.collect)], T0);
    assert!(started.stdout.contains("now offered to 1% of devices"), "{}", started.stdout);
    let mut step_start = T0;
    for (share, minimum, next) in [
        (100, HOUR, "now offered to 10% of devices"),
        (1_000, 2 * HOUR, "now offered to 50% of devices"),
        (5_000, 4 * HOUR, "now offered to 100% of devices"),
        (10_000, 24 * HOUR, "confirmed"),
    ] {
        setup.server.wait_for_log(
            &format!("good (rolling out at {})", trackgate_release::rollout::percent(share)),
            Duration::from_secs(20),
        );
        let versions = setup.fleet.fetch(step_start + 600);
        let expected = expected_in_share(&setup.fleet, &read(&record), share);
        assert_eq!(versions.get(&2).copied().unwrap_or(0), expected, "share {share}: {versions:?}");
        assert!(expected > 0 && (share < 10_000 || expected == DEVICES));
        setup.fleet.use_and_report(step_start + 1_200);
        let early =
            release(&["advance", path(&record), "--by", "ops", "--reports", path(&setup.collect)], step_start + 1_800);
        assert!(early.stdout.contains("waiting: watched clean"), "{}", early.stdout);
        step_start += minimum;
        let moved = release(&["advance", path(&record), "--by", "ops", "--reports", path(&setup.collect)], step_start);
        assert!(moved.stdout.contains(next), "{}\n{}", moved.stdout, moved.stderr);
    }
    setup.server.wait_for_log("good (confirmed)", Duration::from_secs(20));
    assert_eq!(setup.fleet.fetch(step_start + 60), [(2, DEVICES)].into());
    let status = release(&["status", path(&record)], step_start);
    status.assert_code(0);
    for stage in [
        "register",
        "check",
        "diff",
        "business review",
        "technical review",
        "schedule",
        "staged rollout",
        "watch",
        "confirm",
    ] {
        assert!(status.stdout.contains(stage), "{stage}:\n{}", status.stdout);
    }
    assert!(status.stdout.contains("watch             100%"), "{}", status.stdout);
    assert!(status.stdout.contains("1d "), "the watch lasted its day:\n{}", status.stdout);
}

#[test]
fn a_bad_release_is_halted_at_its_first_step_and_rolled_back() {
    let mut setup = setup("release-bad", BAD, DEVICES);
    let record = prepare(&mut setup, "bad");
    release(&["advance", path(&record), "--by", "ops"], T0).assert_code(0);
    setup.server.wait_for_log("bad (rolling out at 1%)", Duration::from_secs(20));
    let versions = setup.fleet.fetch(T0 + 600);
    let exposed = expected_in_share(&setup.fleet, &read(&record), 100);
    assert_eq!(versions.get(&2).copied().unwrap_or(0), exposed);
    setup.fleet.use_and_report(T0 + 1_200);
    let halted = release(&["advance", path(&record), "--by", "ops", "--reports", path(&setup.collect)], T0 + 1_800);
    halted.assert_code(1);
    assert!(halted.stdout.contains("HALTED and rolled back: version 3 (the content of 1)"), "{}", halted.stdout);
    assert!(halted.stderr.contains("kept P0 events per device fell 100.0%"), "{}", halted.stderr);
    assert!(halted.stderr.contains("drop reason oversize jumped"), "{}", halted.stderr);
    setup.server.wait_for_log("bad (rolled back", Duration::from_secs(20));
    // Every device, including those that ran version 2, moves forward to version 3 (the
    // previous content); `fetch` asserts that no device ever goes below its floor.
    assert_eq!(setup.fleet.fetch(T0 + 2_400), [(3, DEVICES)].into());
    assert!(setup.fleet.devices.iter().all(|device| device.floor == 3));
    let status = release(&["status", path(&record)], T0 + 2_400);
    assert!(status.stdout.contains("rolled back: kept P0 events per device fell"), "{}", status.stdout);
    assert!(status.stdout.contains("rollback"), "{}", status.stdout);
    // Nothing can move a rolled-back release.
    release(&["advance", path(&record), "--by", "ops"], T0 + 3_000).assert_code(1);
}

#[test]
fn a_plan_signed_by_one_role_alone_is_refused_by_every_device() {
    const FEW: usize = 200;
    let mut setup = setup("release-one-role", GOOD, FEW);
    assert_eq!(setup.fleet.fetch(T0 - HOUR), [(1, FEW)].into());
    // Someone skips the release and publishes the next version with one role's key: the
    // business key alone (format 2), then the technical key alone (format 1, the legacy shape).
    let issued = (T0 - 10 * 60).to_string();
    for (version, key, format, role_missing) in
        [("2", &setup.business, "2", "technical"), ("3", &setup.technical, "1", "business")]
    {
        let envelope = setup.plans.join(format!("shop-prod-{version}.tgplan"));
        trackgate(&[
            "build",
            path(&setup.directory.join("next.json")),
            "--key",
            path(key),
            "--format",
            format,
            "--version",
            version,
            "--issued-at",
            &issued,
            "--out",
            path(&envelope),
        ])
        .assert_code(0);
        setup.server.wait_for_log(&format!("shop/prod v{version}"), Duration::from_secs(20));
        assert_eq!(setup.fleet.fetch(T0 + version.parse::<u64>().unwrap() * HOUR), [(1, FEW)].into());
        let expected = format!("not enough signatures for role `{role_missing}`: have 0 of 1");
        for error in setup.fleet.last_errors() {
            let error = error.expect("every device says why it refused");
            assert!(error.contains(&expected), "{error}");
        }
    }
}
