//! Helpers shared by the CLI's integration tests: running the built `trackgate` binary and
//! writing plan files for it to read. Every helper is deterministic and leaves nothing behind
//! outside Cargo's per-target scratch directory.

// Each test file is its own crate and uses only some of these helpers.
#![allow(dead_code)]

pub mod fleet;
pub mod release;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// What one run of the binary produced.
pub struct Run {
    /// The exit code (`-1` if the process was killed by a signal).
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Stdout parsed as one JSON document; fails the test with both streams if it is not.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|error| panic!("stdout is not JSON ({error}):\n{}\nstderr:\n{}", self.stdout, self.stderr))
    }

    /// Fails the test, showing both streams, unless the exit code is `expected`.
    pub fn assert_code(&self, expected: i32) -> &Self {
        assert_eq!(self.code, expected, "unexpected exit code\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }
}

/// Runs the `trackgate` binary Cargo built for these tests.
pub fn trackgate(arguments: &[&str]) -> Run {
    let output =
        Command::new(env!("CARGO_BIN_EXE_trackgate")).args(arguments).output().expect("the trackgate binary runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The sample plan the demo embeds, as a file.
pub fn sample_plan_path() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/src/sample_plan.json").to_owned()
}

/// Writes `contents` to a file named `name` in Cargo's scratch directory and returns its path.
/// Use a name unique to the test: tests run in parallel.
pub fn write_plan(name: &str, contents: &str) -> String {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, contents).expect("the scratch directory is writable");
    path.to_str().expect("scratch paths are UTF-8").to_owned()
}

/// A plan with two errors (lines 4 and 5) and one warning (line 6), at known columns.
pub const INVALID_PLAN: &str = r#"{
  "schema": 1, "app": "shop", "env": "prod", "version": 3,
  "events": {
    "checkout.completed": {"priority": "P9"},
    "bad name": {"priority": "P1"},
    "promo.seen": {"priority": "P0", "sample": 0.5}
  }
}
"#;

/// A valid plan with one warning (a sampled P0 event) on line 5.
pub const PLAN_WITH_WARNING: &str = r#"{
  "schema": 1, "app": "shop", "env": "prod", "version": 4,
  "events": {
    "checkout.completed": {"priority": "P0"},
    "promo.seen": {"priority": "P0", "sample": 0.5},
    "promo.tapped": {"priority": "P2", "sample": 0.25}
  }
}
"#;

/// A path as the `&str` a command line takes (scratch paths are UTF-8).
pub fn path(path: &Path) -> &str {
    path.to_str().expect("scratch paths are UTF-8")
}

/// A running `trackgate serve` on a free 127.0.0.1 port, killed (by its own pid) when dropped.
/// Its stderr is kept line by line, so tests can wait for what it logs.
pub struct ServeProcess {
    child: Child,
    /// `http://127.0.0.1:PORT`, as the server announced it.
    pub base_url: String,
    log: Arc<(Mutex<Vec<String>>, Condvar)>,
    /// Lines before this index were already matched by [`ServeProcess::wait_for_log`].
    cursor: usize,
}

impl ServeProcess {
    /// Starts `trackgate serve ARGUMENTS... --addr 127.0.0.1:0` and waits for the address it
    /// announces on stderr.
    pub fn start(arguments: &[&str]) -> ServeProcess {
        let mut command = Command::new(env!("CARGO_BIN_EXE_trackgate"));
        command.arg("serve").args(arguments).args(["--addr", "127.0.0.1:0"]);
        ServeProcess::spawn(command)
    }

    /// Starts `trackgate serve ARGUMENTS... --addr 127.0.0.1:0` with at most `files` open file
    /// descriptors (`ulimit -n`, through `sh`, which then `exec`s the server: same pid).
    pub fn start_with_file_limit(files: u32, arguments: &[&str]) -> ServeProcess {
        let mut command = Command::new("sh");
        command
            .args(["-c", &format!("ulimit -n {files} && exec \"$0\" \"$@\"")])
            .arg(env!("CARGO_BIN_EXE_trackgate"))
            .arg("serve")
            .args(arguments)
            .args(["--addr", "127.0.0.1:0"]);
        ServeProcess::spawn(command)
    }

    /// Spawns `command` (a `trackgate serve` that listens on port 0) and waits for its address.
    pub fn spawn(mut command: Command) -> ServeProcess {
        let mut child = command.stderr(Stdio::piped()).spawn().expect("starts the server");
        let stderr = child.stderr.take().expect("stderr is piped");
        let log: Arc<(Mutex<Vec<String>>, Condvar)> = Arc::default();
        let (sender, receiver) = std::sync::mpsc::channel();
        // Keeps draining stderr (the request log) so the server never blocks on a full pipe.
        let shared = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(address) = line.strip_prefix("trackgate serve: listening on ") {
                    let _ = sender.send(address.to_owned());
                }
                let (lines, added) = &*shared;
                lines.lock().unwrap_or_else(PoisonError::into_inner).push(line);
                added.notify_all();
            }
        });
        let base_url = match receiver.recv_timeout(Duration::from_secs(20)) {
            Ok(address) => address,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                let lines = log.0.lock().unwrap_or_else(PoisonError::into_inner);
                panic!("the server did not announce its address; stderr:\n{}", lines.join("\n"));
            }
        };
        ServeProcess { child, base_url, log, cursor: 0 }
    }

    /// `127.0.0.1:PORT`, for raw TCP requests.
    pub fn address(&self) -> &str {
        self.base_url.strip_prefix("http://").unwrap_or(&self.base_url)
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits (at most `timeout`) for a stderr line containing `needle` after the last line
    /// matched by a previous call, and returns it; fails the test with the log if none comes.
    pub fn wait_for_log(&mut self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        let (lines, added) = &*self.log;
        let mut lines = lines.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(offset) = lines[self.cursor..].iter().position(|line| line.contains(needle)) {
                self.cursor += offset + 1;
                return lines[self.cursor - 1].clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "no log line containing {needle:?} within {timeout:?}; log:\n{}",
                lines.join("\n")
            );
            lines = added.wait_timeout(lines, left).unwrap_or_else(PoisonError::into_inner).0;
        }
    }

    /// Everything logged so far.
    pub fn log(&self) -> String {
        self.log.0.lock().unwrap_or_else(PoisonError::into_inner).join("\n")
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 `GET` (with `Connection: close`) over a fresh connection, every step bounded
/// by `timeout`: the status and the body (read to the end of the connection).
pub fn http_get(address: &str, target: &str, timeout: Duration) -> std::io::Result<(u16, Vec<u8>)> {
    let socket: std::net::SocketAddr =
        address.parse().map_err(|_| std::io::Error::other(format!("bad address {address}")))?;
    let mut stream = TcpStream::connect_timeout(&socket, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(stream, "GET {target} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n")?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    let split = answer
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other(format!("no HTTP head in {} bytes", answer.len())))?;
    let head = String::from_utf8_lossy(&answer[..split]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status in {head:?}")))?;
    Ok((status, answer[split + 4..].to_vec()))
}

/// A fresh, empty directory named `name` in Cargo's scratch directory.
pub fn scratch(name: &str) -> PathBuf {
    let directory = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).expect("the scratch directory is writable");
    directory
}

/// A sparse file of `length` bytes that starts with `head` (`File::set_len`: no data written).
pub fn sparse_file(path: &Path, head: &[u8], length: u64) {
    let mut file = std::fs::File::create(path).expect("creates the file");
    std::io::Write::write_all(&mut file, head).expect("writes the head");
    file.set_len(length).expect("sets the length");
}

/// `trackgate keygen --out DIRECTORY`: the paths of `signing.key`, `public.key`, `public.hex`.
pub fn keygen(directory: &Path) -> (PathBuf, PathBuf, PathBuf) {
    trackgate(&["keygen", "--out", path(directory)]).assert_code(0);
    (directory.join("signing.key"), directory.join("public.key"), directory.join("public.hex"))
}

/// POSTs `body` as `application/json` to `/v1/collect` over a plain TCP connection; returns the
/// status code.
pub fn post_json(address: &str, body: &str) -> u16 {
    post_collect(address, "application/json", body)
}

/// A fresh scratch directory named `name` with an empty `plans/` for `trackgate serve`.
pub fn serve_scratch(name: &str) -> PathBuf {
    let directory = scratch(name);
    std::fs::create_dir_all(directory.join("plans")).expect("the scratch directory is writable");
    directory
}

/// Signs a one-event `app`/prod plan as `version` into `out` with the key pair in
/// `directory/keys` (made on first use); returns the envelope's bytes.
pub fn sign_small_plan(directory: &Path, app: &str, version: u64, out: &Path) -> Vec<u8> {
    let keys = directory.join("keys");
    if !keys.join("signing.key").exists() {
        keygen(&keys);
    }
    let plan = directory.join(format!("{app}-{version}.json"));
    let json = format!(
        r#"{{"schema": 1, "app": "{app}", "env": "prod", "version": {version}, "events": {{"checkout.completed": {{"priority": "P0"}} }} }}"#
    );
    std::fs::write(&plan, json).expect("the scratch directory is writable");
    let version = version.to_string();
    let signing = keys.join("signing.key");
    trackgate(&["build", path(&plan), "--key", path(&signing), "--version", &version, "--out", path(out)])
        .assert_code(0);
    std::fs::read(out).expect("build wrote the envelope")
}

/// POSTs `body` as `application/x-ndjson` to `/v1/collect`; returns the status code.
pub fn post_ndjson(address: &str, body: &str) -> u16 {
    post_collect(address, "application/x-ndjson", body)
}

/// POSTs `body` with `content_type` to `/v1/collect` over a plain TCP connection (one request,
/// `Connection: close`); returns the status code.
fn post_collect(address: &str, content_type: &str, body: &str) -> u16 {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).expect("connects");
    stream.set_read_timeout(Some(Duration::from_secs(20))).expect("sets a timeout");
    let request = format!(
        "POST /v1/collect HTTP/1.1\r\nHost: {address}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("sends");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("reads the answer");
    answer.split(' ').nth(1).and_then(|status| status.parse().ok()).expect("an HTTP status line")
}
