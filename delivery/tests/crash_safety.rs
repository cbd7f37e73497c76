//! Crash safety: a child process writing plans through the real file system is SIGKILLed at
//! random points, 1000 times; every restart loads a whole, verified plan that never goes back.
//!
//! The child is this test binary re-invoked on `crash_child_writer` with the store directory in
//! an environment variable.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use trackgate_core::{parse_plan, Plan};
use trackgate_delivery::*;

const CHILD_ENV: &str = "TRACKGATE_CRASH_CHILD_DIR";
const KILLS: usize = 1000;

/// Large enough (about 5 KB) that a kill often lands inside a write.
fn big_plan(version: u64) -> Plan {
    let mut events = String::new();
    for index in 0..120 {
        events.push_str(&format!(r#""screen.section_{index:04}.viewed": {{"priority": "P2", "sample": 0.25}},"#));
    }
    let text = format!(
        r#"{{"schema": 1, "app": "{APP}", "env": "{ENV}", "version": {version},
            "events": {{ {events} "marker.v{version}": {{"priority": "P1"}} }} }}"#
    );
    parse_plan(&text).expect("valid").plan
}

fn open_delivery(directory: &std::path::Path) -> Delivery {
    let clock = clock();
    let store = Store::new(Box::new(DirectoryStorage::open(directory).expect("opens")), 1 << 24);
    let url = "http://127.0.0.1:9/p";
    Delivery::start(config(url), store, None, engine_options(&clock), Box::new(SplitMix64::new(5))).expect("starts")
}

/// Blocks until the child has opened the store and is about to write.
fn wait_until_ready(child: &mut std::process::Child) {
    let stdout = child.stdout.as_mut().expect("piped");
    // The test harness prints its own lines first ("running 1 test").
    let ready = BufReader::new(stdout).lines().take(10).any(|line| line.is_ok_and(|line| line.contains("ready")));
    assert!(ready, "the child never became ready");
}

/// The child: persists ever newer plans until killed, in the order `Delivery::offer` does
/// (plan, then state). Envelopes are signed before it says "ready", so the kill window is
/// spent on the disk. A no-op in a normal test run.
#[test]
fn crash_child_writer() {
    let Ok(directory) = std::env::var(CHILD_ENV) else { return };
    let store = Store::new(Box::new(DirectoryStorage::open(&directory).expect("opens")), 1 << 24);
    let mut state = store.load_state().expect("state readable").unwrap_or_default();
    let template = big_plan(0);
    let seal = |version: u64| {
        let mut plan = template.clone();
        plan.events.remove("marker.v0");
        plan.events.insert(format!("marker.v{version}"), template.events["marker.v0"].clone());
        plan.version = version;
        seal_plan(&plan, &publisher(), NOW, NOW + 30 * DAY).expect("seals")
    };
    let first = state.floor_version + 1;
    let envelopes: Vec<Vec<u8>> = (first..first + 6).map(seal).collect();
    println!("ready");
    let more = (first + 6..).map(seal);
    for (version, envelope) in (first..).zip(envelopes.into_iter().chain(more)) {
        store.save_plan(&envelope).expect("writes the plan");
        state.floor_version = version;
        state.floor_digest = Some(envelope::envelope_digest(&envelope));
        store.save_state(&state).expect("writes the state");
    }
}

/// A SIGKILL cannot lose data the kernel already accepted, so atomicity against killed
/// processes does not depend on fsync; a memory file system (when there is one) keeps the 1000
/// kills to seconds instead of waiting on disk flushes. Power-loss durability (the fsyncs) is
/// argued in docs/config-delivery.md, not tested.
fn kill_test_directory() -> std::path::PathBuf {
    let memory = std::path::Path::new("/dev/shm");
    if !memory.is_dir() {
        return temp_dir("crash");
    }
    let directory = memory.join(format!("trackgate-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).expect("creates the directory");
    directory
}

#[test]
fn killed_writers_never_leave_a_torn_plan() {
    let directory = kill_test_directory();
    let executable = std::env::current_exe().expect("test binary");
    let mut random = SplitMix64::new(2024);
    let started = Instant::now();
    let mut last_version = 0;
    let mut advanced = 0;
    for kill in 0..KILLS {
        let mut child = Command::new(&executable)
            .args(["--exact", "crash_child_writer", "--test-threads=1", "--nocapture"])
            .env(CHILD_ENV, &directory)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawns the child");
        wait_until_ready(&mut child);
        std::thread::sleep(Duration::from_micros(random.next_u64() % 4_000));
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        let delivery = open_delivery(&directory);
        let status = delivery.status();
        assert_eq!(status.last_error, None, "kill {kill}: store damaged");
        assert!(status.version >= last_version, "kill {kill}: went back from {last_version} to {}", status.version);
        if status.version > 0 {
            assert_eq!(status.source, PlanSource::Cache, "kill {kill}");
            assert!(runs_version(&delivery, status.version), "kill {kill}: plan content does not match its version");
        }
        advanced += usize::from(status.version > last_version);
        last_version = status.version;
    }
    let leftovers = std::fs::read_dir(&directory).unwrap().filter(|entry| {
        let name = entry.as_ref().unwrap().file_name();
        !matches!(name.to_str(), Some("plan.bin" | "state.bin"))
    });
    assert_eq!(leftovers.count(), 0, "temporary files are cleaned at open");
    assert!(advanced > KILLS / 4, "kills landed too early to test anything: {advanced} advances");
    eprintln!("{KILLS} kills in {:?}; the version advanced {advanced} times, to {last_version}", started.elapsed());
    std::fs::remove_dir_all(directory).unwrap();
}
