//! Helpers of the ETL and report tests: running the built `trackgate` binary (with stdin),
//! scratch directories under Cargo's per-target temp dir, and deterministic event lines.

// Each test file is its own crate and uses only some of these helpers.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What one run of the binary produced.
pub struct Run {
    /// The exit code (`-1` if the process was killed by a signal).
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Run {
    /// Stdout as text.
    pub fn stdout_text(&self) -> String {
        String::from_utf8(self.stdout.clone()).expect("stdout is UTF-8")
    }

    /// Fails the test, showing stderr, unless the exit code is `expected`.
    pub fn assert_code(&self, expected: i32) -> &Self {
        assert_eq!(self.code, expected, "unexpected exit code; stderr:\n{}", self.stderr);
        self
    }
}

/// Runs `trackgate` with `arguments`, feeding `stdin`.
pub fn trackgate_with_input(arguments: &[&str], stdin: &[u8]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trackgate"))
        .args(arguments)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the trackgate binary runs");
    let mut input = child.stdin.take().expect("stdin is piped");
    let stdin = stdin.to_vec();
    // Write from another thread: a large input would otherwise fill the pipe while the child
    // waits for us to read its output.
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let output = child.wait_with_output().expect("the trackgate binary finishes");
    writer.join().expect("stdin writer");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: output.stdout,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs `trackgate` with `arguments` and empty stdin.
pub fn trackgate(arguments: &[&str]) -> Run {
    trackgate_with_input(arguments, b"")
}

/// A fresh, empty directory for one test, under Cargo's per-target scratch directory.
pub fn scratch_directory(test: &str) -> PathBuf {
    let directory = Path::new(env!("CARGO_TARGET_TMPDIR")).join("etl-tests").join(test);
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).expect("scratch directory");
    directory
}

/// Writes `contents` to `directory/name` and returns the path as a string.
pub fn write_file(directory: &Path, name: &str, contents: impl AsRef<[u8]>) -> String {
    let path = directory.join(name);
    std::fs::write(&path, contents).expect("write scratch file");
    path.to_str().expect("UTF-8 path").to_owned()
}

/// A path inside a directory, as a string.
pub fn path_in(directory: &Path, name: &str) -> String {
    directory.join(name).to_str().expect("UTF-8 path").to_owned()
}

/// A plan exercising every server-side rule: registered, retired, shed (P3 below P2), size caps,
/// sampling at 10 % and 50 % with two salts, and unregistered names dropped.
pub const RULES_PLAN: &str = r#"{
  "schema": 1, "app": "shop", "env": "test", "version": 3,
  "sampling_salt": "s1", "unregistered": "drop", "shed_below": "P2",
  "defaults": {"max_bytes": 200},
  "events": {
    "checkout.completed": {"priority": "P0", "owner": "payments"},
    "cart.item_added": {"priority": "P1", "owner": "payments", "max_bytes": 90},
    "search.viewed": {"priority": "P2", "sample": 0.1, "owner": "search"},
    "feed.scrolled": {"priority": "P2", "sample": 0.5, "salt": "盐", "owner": "feed"},
    "app.heartbeat": {"priority": "P3", "owner": "platform"},
    "legacy.banner": {"priority": "P2", "status": "retired", "owner": "growth"}
  }
}"#;

/// Deterministic event lines over every rule of [`RULES_PLAN`], with an `id` member.
pub fn mixed_events(count: usize) -> String {
    let names = [
        "checkout.completed",
        "cart.item_added",
        "search.viewed",
        "feed.scrolled",
        "app.heartbeat",
        "legacy.banner",
        "promo.clicked",
        "bad name",
    ];
    // A fixed generator, so the lines never change between runs or versions.
    let mut random = trackgate_core::SplitMix64::new(0x9E37_79B9_7F4A_7C15);
    let mut next = move || random.next_u64();
    let mut lines = String::new();
    for id in 0..count {
        let name = names[(next() % names.len() as u64) as usize];
        let unit = match next() % 20 {
            0 => String::new(),
            1 => "\"unit_id\":null,".to_owned(),
            2 => format!("\"unit_id\":\"ü-{}\",", next() % 500),
            _ => format!("\"unit_id\":\"u-{}\",", next() % 500),
        };
        let padding = "x".repeat((next() % 160) as usize);
        lines.push_str(&format!("{{\"id\":{id},{unit}\"event\":\"{name}\",\"pad\":\"{padding}\"}}\n"));
    }
    lines
}
