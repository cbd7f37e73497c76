//! `trackgate serve` against hostile clients and configurations: slow-header floods under a low
//! open-file limit, slow heads and idle keep-alives, concurrent large uploads (peak memory read
//! from `/proc`), a full collect file, and collect paths that lead into the served directory.
//! Real HTTP over 127.0.0.1 to the built binary; every wait is bounded and on a real condition
//! (a log line, a reply, a closed connection); the attacks stop by themselves.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use common::{http_get, path, serve_scratch, sign_small_plan, trackgate, ServeProcess};

const WAIT: Duration = Duration::from_secs(20);
const PLAN_URL: &str = "/v1/plans/shop/prod";

fn scratch(name: &str) -> PathBuf {
    serve_scratch(&format!("serve-limits-{name}"))
}

/// Signs a small shop/prod plan into `directory/plans/shop.tgplan`; returns its bytes.
fn publish(directory: &Path) -> Vec<u8> {
    sign_small_plan(directory, "shop", 1, &directory.join("plans").join("shop.tgplan"))
}

/// The load tests (a flood, a burst of uploads) take turns: each measures time or memory on a
/// machine the other would keep busy.
fn heavy() -> MutexGuard<'static, ()> {
    static HEAVY: Mutex<()> = Mutex::new(());
    HEAVY.lock().unwrap_or_else(PoisonError::into_inner)
}

fn connect(address: &str) -> std::io::Result<TcpStream> {
    let socket: SocketAddr = address.parse().expect("a socket address");
    TcpStream::connect_timeout(&socket, Duration::from_secs(1))
}

/// Keeps `connections` connections open, each sending one more byte of a request head that never
/// ends every `pace`, reconnecting any the server closes, until `until`. Returns how many times
/// it had to reconnect.
fn slowloris(address: &str, connections: usize, pace: Duration, until: Instant) -> u64 {
    let head = b"GET /v1/plans/shop/prod HTTP/1.1\r\nHost: slow\r\nX-Slow: ";
    let mut sockets: Vec<(Option<TcpStream>, usize)> = (0..connections).map(|_| (None, 0)).collect();
    let mut reconnects = 0;
    while Instant::now() < until {
        for (socket, sent) in &mut sockets {
            let byte = head.get(*sent).copied().unwrap_or(b'a');
            let alive = socket.as_mut().is_some_and(|stream| stream.write_all(&[byte]).is_ok());
            if alive {
                *sent += 1;
                continue;
            }
            if socket.is_some() {
                reconnects += 1;
            }
            *socket = connect(address).ok();
            *sent = 0;
            if let Some(stream) = socket {
                let _ = stream.set_write_timeout(Some(Duration::from_millis(100)));
                if stream.write_all(&head[..1]).is_ok() {
                    *sent = 1;
                }
            }
        }
        // The attacker's pace, not a wait for a condition.
        std::thread::sleep(pace);
    }
    reconnects
}

#[test]
fn a_slow_header_flood_under_a_low_file_limit_does_not_starve_a_real_client() {
    let _turn = heavy();
    let directory = scratch("slowloris");
    let plan = publish(&directory);
    let mut server = ServeProcess::start_with_file_limit(256, &[path(&directory.join("plans"))]);
    let lowered = server.wait_for_log("--max-connections lowered from 512 to 224", WAIT);
    assert!(lowered.contains("the open-file limit is 256"), "{lowered}");

    let address = server.address().to_owned();
    let until = Instant::now() + Duration::from_secs(8);
    let attack = std::thread::spawn(move || slowloris(&address, 400, Duration::from_millis(300), until));
    // The flood has filled every slot once the server starts closing connections to make room.
    server.wait_for_log("at the connection cap: 224 connections; closing the one idle longest", WAIT);

    let (mut checks, mut slowest) = (0, Duration::ZERO);
    while !attack.is_finished() {
        let started = Instant::now();
        let answer = http_get(server.address(), PLAN_URL, Duration::from_secs(1));
        let elapsed = started.elapsed();
        let (status, body) = answer.unwrap_or_else(|error| panic!("check {checks}: {error}; log:\n{}", server.log()));
        assert_eq!(status, 200, "check {checks}");
        assert!(body == plan, "check {checks}: another body");
        assert!(elapsed < Duration::from_secs(1), "check {checks} took {elapsed:?}");
        slowest = slowest.max(elapsed);
        checks += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    let reconnects = attack.join().unwrap();
    eprintln!("{checks} checks during the flood, slowest {slowest:?}; the flood reconnected {reconnects} times");
    assert!(checks >= 5, "only {checks} checks ran during the attack");
    assert!(reconnects > 0, "the server never closed a slow connection");
    let (status, _) = http_get(server.address(), PLAN_URL, Duration::from_secs(5)).unwrap();
    assert_eq!(status, 200);
}

/// Reads until the server closes the connection (bounded by `WAIT`); returns what was read.
fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return received,
            Ok(read) => received.extend_from_slice(&buffer[..read]),
            Err(error) if error.kind() == ErrorKind::ConnectionReset => return received,
            Err(error) => panic!("the server did not close the connection: {error}"),
        }
    }
}

#[test]
fn a_slow_request_head_and_an_idle_keep_alive_are_closed() {
    let directory = scratch("timeouts");
    let plan = publish(&directory);
    let server = ServeProcess::start(&[path(&directory.join("plans")), "--header-timeout", "1", "--idle-timeout", "1"]);

    let mut slow = connect(server.address()).unwrap();
    let started = Instant::now();
    slow.write_all(b"GET /v1/plans/shop/prod HTTP/1.1\r\nHost: slow\r\n").unwrap();
    read_until_closed(&mut slow);
    assert!(started.elapsed() >= Duration::from_millis(900), "closed before the header timeout");

    let mut idle = connect(server.address()).unwrap();
    idle.write_all(b"GET /v1/plans/shop/prod HTTP/1.1\r\nHost: idle\r\n\r\n").unwrap();
    let started = Instant::now();
    let received = read_until_closed(&mut idle);
    assert!(started.elapsed() >= Duration::from_millis(900), "closed before the idle timeout");
    assert!(received.starts_with(b"HTTP/1.1 200 OK\r\n"), "{}", String::from_utf8_lossy(&received));
    assert!(received.ends_with(&plan), "the whole plan came before the close");
}

/// The serve process's peak resident memory, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/PID/status");
    let line = status.lines().find(|line| line.starts_with("VmHWM:")).expect("a VmHWM line");
    line.split_whitespace().nth(1).and_then(|value| value.parse().ok()).expect("VmHWM in kB")
}

/// POSTs `body` as NDJSON; the status, or `None` when the server closed before answering (it
/// may refuse without reading the body).
fn upload(address: &str, body: &[u8]) -> Option<u16> {
    let mut stream = connect(address).ok()?;
    stream.set_read_timeout(Some(WAIT)).ok()?;
    stream.set_write_timeout(Some(WAIT)).ok()?;
    let head = format!(
        "POST /v1/collect HTTP/1.1\r\nHost: up\r\nContent-Type: application/x-ndjson\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).ok()?;
    let _ = stream.write_all(body);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    answer.split(' ').nth(1)?.parse().ok()
}

#[test]
fn concurrent_large_uploads_stay_within_the_memory_budget() {
    let _turn = heavy();
    let directory = scratch("memory");
    let file = directory.join("collected.ndjson");
    let server = ServeProcess::start(&[
        path(&directory.join("plans")),
        "--collect",
        path(&file),
        "--collect-budget-bytes",
        "8388608",
        "--collect-max-file-bytes",
        "67108864",
    ]);
    let line = format!("{{\"type\":\"event\",\"name\":\"bulk\",\"pad\":\"{}\"}}\n", "x".repeat(80));
    let body: Arc<Vec<u8>> = Arc::new(line.repeat((1 << 20) / line.len()).into_bytes());
    assert!(body.len() <= 1 << 20);
    let before = peak_rss_kib(server.pid());

    // 100 clients at once, two 1 MiB uploads each: 200 MiB of bodies offered, 8 MiB budget.
    let clients: Vec<_> = (0..100)
        .map(|_| {
            let (address, body) = (server.address().to_owned(), Arc::clone(&body));
            std::thread::spawn(move || [upload(&address, &body), upload(&address, &body)])
        })
        .collect();
    let statuses: Vec<Option<u16>> = clients.into_iter().flat_map(|client| client.join().unwrap()).collect();
    let peak = peak_rss_kib(server.pid());

    let accepted = statuses.iter().filter(|status| **status == Some(204)).count();
    eprintln!("peak RSS {peak} KiB, {before} KiB before the uploads");
    let refused = statuses.iter().filter(|status| matches!(status, Some(503) | None)).count();
    assert!(
        statuses.iter().all(|status| matches!(status, Some(204 | 503 | 507) | None)),
        "unexpected statuses: {statuses:?}"
    );
    assert!(accepted > 0, "no upload was accepted: {statuses:?}");
    assert!(refused > 0, "the budget never refused an upload: {statuses:?}");
    // Measured: about +11 MiB with this budget; about +107 MiB with the budget lifted to 1 GiB
    // (the single-threaded server cannot take in all 100 bodies at once, but holds many).
    assert!(peak < before + 48 * 1024, "peak RSS {peak} KiB (before the load: {before} KiB)");
    let size = std::fs::metadata(&file).unwrap().len();
    assert!(size <= 64 << 20, "the collect file grew to {size} bytes");
}

#[test]
fn a_full_collect_file_refuses_uploads_with_507() {
    let directory = scratch("full");
    let file = directory.join("collected.ndjson");
    let mut server = ServeProcess::start(&[
        path(&directory.join("plans")),
        "--collect",
        path(&file),
        "--collect-max-file-bytes",
        "100",
    ]);
    let item = format!("{{\"pad\":\"{}\"}}\n", "p".repeat(50));
    assert_eq!(upload(server.address(), item.as_bytes()), Some(204));
    assert_eq!(upload(server.address(), item.as_bytes()), Some(507));
    let line = server.wait_for_log("is full", WAIT);
    assert!(line.contains("cap 100, --collect-max-file-bytes"), "{line}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), item, "the refused upload left the file as it was");
}

fn assert_collect_refused(plans: &Path, collect: &Path, expected: &str) {
    let output = trackgate(&["serve", path(plans), "--addr", "127.0.0.1:0", "--collect", path(collect)]);
    let stderr = &output.stderr;
    assert_eq!(output.code, 2, "--collect {} was accepted: {stderr}", collect.display());
    assert!(stderr.contains(expected), "{stderr}");
}

#[cfg(unix)]
#[test]
fn collect_paths_that_resolve_into_the_served_directory_are_refused() {
    use std::os::unix::fs::symlink;
    let directory = scratch("collect-paths");
    let plans = directory.join("plans");
    std::fs::write(plans.join("existing.ndjson"), b"").unwrap();

    // Through `..`.
    let dotted = directory.join("elsewhere").join("..").join("plans").join("new.ndjson");
    std::fs::create_dir_all(directory.join("elsewhere")).unwrap();
    assert_collect_refused(&plans, &dotted, "put the collect file outside");
    // A link to a file inside, and a dangling link that creating the file would follow.
    symlink(plans.join("existing.ndjson"), directory.join("to-existing")).unwrap();
    assert_collect_refused(&plans, &directory.join("to-existing"), "put the collect file outside");
    symlink("plans/created.ndjson", directory.join("dangling")).unwrap();
    assert_collect_refused(&plans, &directory.join("dangling"), "put the collect file outside");
    assert!(!plans.join("created.ndjson").exists(), "the refused path was created");
    // A link to the directory as the parent, and a link to a link.
    symlink(&plans, directory.join("alias")).unwrap();
    assert_collect_refused(&plans, &directory.join("alias").join("new.ndjson"), "put the collect file outside");
    symlink(directory.join("dangling"), directory.join("chain")).unwrap();
    assert_collect_refused(&plans, &directory.join("chain"), "put the collect file outside");
    // A hard link: another name for a file inside.
    std::fs::hard_link(plans.join("existing.ndjson"), directory.join("hard.ndjson")).unwrap();
    assert_collect_refused(&plans, &directory.join("hard.ndjson"), "is the same file as");
    assert!(!plans.join("new.ndjson").exists());
}
