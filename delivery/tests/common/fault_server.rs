//! A real HTTP/1.1 server on 127.0.0.1 that serves a signed plan and injects faults on demand:
//! 5xx, 429 with `Retry-After`, connection resets, timeouts, slow and garbage bodies.
//!
//! One thread accepts and answers connections one at a time (the client under test is single
//! flight). Dropping the server stops the thread.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use trackgate_core::{Clock, ManualClock};
use trackgate_delivery::envelope::{envelope_digest, to_hex};
use trackgate_delivery::transport::format_http_date;

/// What the server does with the next requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Serve the plan, 304 on a matching `If-None-Match`.
    Healthy,
    /// 500 Internal Server Error.
    ServerError,
    /// 429 with `Retry-After: seconds`.
    TooManyRequests(u64),
    /// 503 with `Retry-After` as an HTTP date this many seconds ahead.
    UnavailableUntil(u64),
    /// Close the connection with a TCP reset after reading the request.
    Reset,
    /// Read the request, then say nothing for longer than the client waits.
    Timeout,
    /// Send headers, then the body a byte at a time, slower than the client waits.
    SlowBody,
    /// 200 with random bytes.
    GarbageBody,
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Simulated time, Unix seconds.
    pub at: u64,
    /// What the server did.
    pub fault: Fault,
    /// Whether it answered 304.
    pub not_modified: bool,
}

struct Shared {
    fault: Fault,
    plan: Vec<u8>,
    seen: Vec<Seen>,
    garbage_seed: u64,
}

/// The server; see the module docs.
pub struct FaultServer {
    pub port: u16,
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// How long `Timeout` and `SlowBody` stall.
    pub stall: Duration,
}

impl FaultServer {
    /// Starts serving `plan` at `/v1/plans/shop/prod`, with `Date` from `clock`.
    pub fn start(plan: Vec<u8>, clock: Arc<ManualClock>, stall: Duration) -> FaultServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binds loopback");
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Mutex::new(Shared { fault: Fault::Healthy, plan, seen: Vec::new(), garbage_seed: 1 }));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (shared, stop) = (Arc::clone(&shared), Arc::clone(&stop));
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(stream) = stream {
                        // One thread per connection: a stalled reply must not delay the next
                        // request past the client's timeout and turn a healthy reply into a failure.
                        let (shared, clock) = (Arc::clone(&shared), Arc::clone(&clock));
                        std::thread::spawn(move || serve(stream, &shared, &clock, stall));
                    }
                }
            })
        };
        FaultServer { port, shared, stop, thread: Some(thread), stall }
    }

    /// The plan URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/v1/plans/shop/prod", self.port)
    }

    /// Sets the behaviour for the next requests.
    pub fn set_fault(&self, fault: Fault) {
        self.shared.lock().unwrap().fault = fault;
    }

    /// Publishes a new signed plan.
    pub fn publish(&self, plan: Vec<u8>) {
        self.shared.lock().unwrap().plan = plan;
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.lock().unwrap().seen.clone()
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn read_request_head(stream: &mut TcpStream) -> Option<String> {
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let mut head = Vec::new();
    let mut buffer = [0u8; 1024];
    while !head.windows(4).any(|window| window == b"\r\n\r\n") {
        let read = stream.read(&mut buffer).ok()?;
        if read == 0 || head.len() > 16 * 1024 {
            return None;
        }
        head.extend_from_slice(&buffer[..read]);
    }
    String::from_utf8(head).ok()
}

fn header_value<'head>(head: &'head str, name: &str) -> Option<&'head str> {
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then_some(value.trim())
    })
}

/// Makes the next close send RST instead of FIN.
fn reset_on_close(stream: &TcpStream) {
    let linger = libc::linger { l_onoff: 1, l_linger: 0 };
    // SAFETY: a valid socket descriptor and a correctly sized, initialised option value.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}

fn serve(mut stream: TcpStream, shared: &Mutex<Shared>, clock: &ManualClock, stall: Duration) {
    let Some(head) = read_request_head(&mut stream) else { return };
    let now = clock.unix_millis() / 1000;
    let (fault, plan, garbage_seed) = {
        let mut shared = shared.lock().unwrap();
        shared.garbage_seed += 1;
        (shared.fault, shared.plan.clone(), shared.garbage_seed)
    };
    let etag = format!("\"{}\"", to_hex(&envelope_digest(&plan)[..8]));
    let not_modified = fault == Fault::Healthy && header_value(&head, "If-None-Match") == Some(etag.as_str());
    shared.lock().unwrap().seen.push(Seen { at: now, fault, not_modified });
    let date = format_http_date(now);
    let _ = match fault {
        Fault::Healthy if not_modified => {
            let headers = [("ETag", etag.as_str()), ("Cache-Control", "max-age=900")];
            respond(&mut stream, "304 Not Modified", &date, &headers, b"")
        }
        Fault::Healthy => {
            let headers = [("ETag", etag.as_str()), ("Cache-Control", "max-age=900")];
            respond(&mut stream, "200 OK", &date, &headers, &plan)
        }
        Fault::ServerError => respond(&mut stream, "500 Internal Server Error", &date, &[], b"oops"),
        Fault::TooManyRequests(seconds) => {
            respond(&mut stream, "429 Too Many Requests", &date, &[("Retry-After", &seconds.to_string())], b"")
        }
        Fault::UnavailableUntil(seconds) => {
            let until = format_http_date(now + seconds);
            respond(&mut stream, "503 Service Unavailable", &date, &[("Retry-After", &until)], b"")
        }
        Fault::Reset => {
            reset_on_close(&stream);
            Ok(())
        }
        Fault::Timeout => {
            std::thread::sleep(stall);
            Ok(())
        }
        Fault::SlowBody => slow_body(&mut stream, &date, &plan, stall),
        Fault::GarbageBody => {
            let garbage: Vec<u8> =
                (0..500u64).map(|index| (garbage_seed.wrapping_mul(31).wrapping_add(index * 7)) as u8).collect();
            respond(&mut stream, "200 OK", &date, &[], &garbage)
        }
    };
}

fn respond(
    stream: &mut TcpStream,
    status: &str,
    date: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<()> {
    let mut head =
        format!("HTTP/1.1 {status}\r\nDate: {date}\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()
}

fn slow_body(stream: &mut TcpStream, date: &str, plan: &[u8], stall: Duration) -> std::io::Result<()> {
    let head =
        format!("HTTP/1.1 200 OK\r\nDate: {date}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", plan.len());
    stream.write_all(head.as_bytes())?;
    let pause = stall / 8;
    for byte in plan.iter().take(8) {
        stream.write_all(std::slice::from_ref(byte))?;
        stream.flush()?;
        std::thread::sleep(pause);
    }
    Ok(())
}
