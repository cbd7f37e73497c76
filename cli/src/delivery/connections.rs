//! `trackgate serve`'s accept loop and connection limits, driving hyper's HTTP/1 connections
//! directly (axum's `serve` hides these knobs).
//!
//! - **Connection cap** (`--max-connections`): at most that many connections are open at once,
//!   lowered at startup to fit the process's open-file limit (minus [`RESERVED_FILES`]). When a
//!   new connection arrives at the cap, the connection that has been idle longest (no request in
//!   progress: still waiting for its first request head, or a kept-alive connection between
//!   requests) is closed to make room (if a request began on it meanwhile, once that request is
//!   answered); if every connection is mid-request, the new one is closed at once. So clients that trickle header bytes, or hold idle keep-alives, cannot keep a real
//!   client (which sends its request at once) out.
//! - **Header timeout** (`--header-timeout`, hyper's `header_read_timeout`): a request head must
//!   be complete within this time of the connection becoming ready for it (accepted, or the
//!   previous response written); otherwise the connection is closed.
//! - **Idle timeout** (`--idle-timeout`): a kept-alive connection with no request in progress is
//!   closed this long after its previous response was written. The header timeout runs from
//!   that moment too, so the smaller of the two bounds an idle keep-alive.
//! - **Per connection**: HTTP/1 answers one request at a time; the read buffer, and so a request
//!   head, is capped at [`MAX_HEAD_BYTES`] (larger: 431) and at [`MAX_HEADERS`] header fields.
//! - **Accept queue**: [`ACCEPT_BACKLOG`] connections (capped by the kernel's `somaxconn`).
//! - **Accept errors** (`EMFILE`, `ENFILE`, `ENOBUFS`, ...) never end the loop: it logs, waits
//!   (10 ms, doubling to 1 s while errors continue) and accepts again.
//!
//! Connection-level log lines are rate-limited to one a second per kind.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::Router;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper::service::Service as _;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore};
use tokio::time::Instant;

/// Default cap on open connections.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 512;
/// Default header timeout, in seconds.
pub const DEFAULT_HEADER_TIMEOUT_SECS: u64 = 10;
/// Default idle keep-alive timeout, in seconds.
pub const DEFAULT_IDLE_TIMEOUT_SECS: u64 = 5;
/// File descriptors kept out of the connection cap: standard streams, the listener, the
/// runtime's own, the collect file, and the directory scan.
pub const RESERVED_FILES: usize = 32;
/// Largest request head (and read buffer) per connection, in bytes.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// Most header fields in one request.
pub const MAX_HEADERS: usize = 64;
/// Connections the kernel may queue before they are accepted (capped by `somaxconn`). The
/// standard library's 128 overflows when a flood of reconnections arrives at once, and an
/// overflowing queue drops the SYNs of real clients, which retry only a second later.
pub const ACCEPT_BACKLOG: u32 = 1024;

const MIN_ACCEPT_BACKOFF: Duration = Duration::from_millis(10);
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);
/// How long a new connection waits for the slot of the connection closed to make room.
const EVICTION_WAIT: Duration = Duration::from_secs(1);

/// The limits of [`serve`].
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most connections open at once.
    pub max_connections: usize,
    /// Time allowed for a request head.
    pub header_timeout: Duration,
    /// Time a kept-alive connection may wait for its next request.
    pub idle_timeout: Duration,
}

/// A listening socket on `address` with an [`ACCEPT_BACKLOG`]-deep accept queue.
pub fn listen(address: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if address.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(ACCEPT_BACKLOG)
}

/// `requested` connections, lowered to fit the process's open-file limit; with the reason when
/// it was lowered.
pub fn fit_to_file_limit(requested: usize) -> (usize, Option<String>) {
    let Some(limit) = open_file_limit() else { return (requested, None) };
    let room = room_for_connections(limit);
    if requested <= room {
        return (requested, None);
    }
    let reason = format!(
        "--max-connections lowered from {requested} to {room}: the open-file limit is {limit} ({} kept for other files)",
        limit - room
    );
    (room, Some(reason))
}

/// Connections that fit under an open-file limit of `limit`: all but [`RESERVED_FILES`], or half
/// when the limit is that small (at least one).
fn room_for_connections(limit: usize) -> usize {
    if limit > 2 * RESERVED_FILES {
        limit - RESERVED_FILES
    } else {
        (limit / 2).max(1)
    }
}

/// The soft open-file limit, from `/proc/self/limits` (Linux; elsewhere none is assumed).
fn open_file_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|line| line.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files").split_whitespace().next()?.parse().ok()
}

/// One line a second at most for one kind of event, with how many happened meanwhile.
struct RateLog {
    what: &'static str,
    last: Option<Instant>,
    suppressed: u64,
}

impl RateLog {
    const fn new(what: &'static str) -> RateLog {
        RateLog { what, last: None, suppressed: 0 }
    }

    fn log(&mut self, detail: impl std::fmt::Display) {
        let now = Instant::now();
        if self.last.is_some_and(|last| now.duration_since(last) < Duration::from_secs(1)) {
            self.suppressed += 1;
            return;
        }
        let more = if self.suppressed > 0 {
            format!(" (and {} more since the last line)", self.suppressed)
        } else {
            String::new()
        };
        eprintln!("trackgate serve: {}: {detail}{more}", self.what);
        self.last = Some(now);
        self.suppressed = 0;
    }
}

/// What the accept loop and a connection's task share about it.
struct Connection {
    /// A request is in progress (from its head being read until its response body is dropped).
    busy: AtomicBool,
    /// Whether a response was completed on it.
    served: AtomicBool,
    /// When it was accepted or last finished a response, in ms since the server started.
    idle_since_ms: AtomicU64,
    /// Marked for closing to make room.
    evicted: AtomicBool,
    /// Wakes the connection's task (a response finished, or it was evicted).
    wake: Notify,
}

/// Open connections by serial number.
struct Registry {
    started: Instant,
    connections: Mutex<HashMap<u64, Arc<Connection>>>,
}

impl Registry {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn add(&self, serial: u64) -> Arc<Connection> {
        let connection = Arc::new(Connection {
            busy: AtomicBool::new(false),
            served: AtomicBool::new(false),
            idle_since_ms: AtomicU64::new(self.now_ms()),
            evicted: AtomicBool::new(false),
            wake: Notify::new(),
        });
        self.connections.lock().unwrap_or_else(PoisonError::into_inner).insert(serial, Arc::clone(&connection));
        connection
    }

    fn remove(&self, serial: u64) {
        self.connections.lock().unwrap_or_else(PoisonError::into_inner).remove(&serial);
    }

    /// Marks the connection idle longest for closing and wakes it; false if every connection is
    /// mid-request (or already marked).
    fn evict_oldest_idle(&self) -> bool {
        let connections = self.connections.lock().unwrap_or_else(PoisonError::into_inner);
        let oldest = connections
            .values()
            .filter(|connection| {
                !connection.busy.load(Ordering::Acquire) && !connection.evicted.load(Ordering::Acquire)
            })
            .min_by_key(|connection| connection.idle_since_ms.load(Ordering::Acquire));
        match oldest {
            Some(connection) => {
                connection.evicted.store(true, Ordering::Release);
                connection.wake.notify_one();
                true
            }
            None => false,
        }
    }
}

/// Marks its connection mid-request while alive; dropped with the response body (so a response
/// still being written counts as a request in progress).
struct InProgress {
    connection: Arc<Connection>,
    registry: Arc<Registry>,
}

impl InProgress {
    fn start(connection: &Arc<Connection>, registry: &Arc<Registry>) -> InProgress {
        connection.busy.store(true, Ordering::Release);
        InProgress { connection: Arc::clone(connection), registry: Arc::clone(registry) }
    }
}

impl Drop for InProgress {
    fn drop(&mut self) {
        self.connection.idle_since_ms.store(self.registry.now_ms(), Ordering::Release);
        self.connection.served.store(true, Ordering::Release);
        self.connection.busy.store(false, Ordering::Release);
        self.connection.wake.notify_one();
    }
}

/// A response body that ends its request's [`InProgress`] when hyper drops it.
struct TrackedBody {
    body: Body,
    _in_progress: InProgress,
}

impl http_body::Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Accepts connections on `listener` and answers them with `router` under `limits` until
/// `shutdown` completes.
pub async fn serve(listener: TcpListener, router: Router, limits: Limits, shutdown: impl Future<Output = ()>) {
    let registry = Arc::new(Registry { started: Instant::now(), connections: Mutex::new(HashMap::new()) });
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut http1 = hyper::server::conn::http1::Builder::new();
    http1
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true)
        .max_buf_size(MAX_HEAD_BYTES)
        .max_headers(MAX_HEADERS);
    let http1 = Arc::new(http1);
    let mut accept_errors = RateLog::new("accept failed");
    let mut evictions = RateLog::new("at the connection cap");
    let mut refusals = RateLog::new("at the connection cap");
    let mut backoff = MIN_ACCEPT_BACKOFF;
    let mut serial = 0u64;
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => return,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => {
                backoff = MIN_ACCEPT_BACKOFF;
                stream
            }
            Err(error) => {
                accept_errors.log(format_args!("{error}; retrying in {} ms", backoff.as_millis()));
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_ACCEPT_BACKOFF);
                continue;
            }
        };
        let slot = match Arc::clone(&slots).try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) if registry.evict_oldest_idle() => {
                evictions.log(format_args!(
                    "{} connections; closing the one idle longest to admit a new one",
                    limits.max_connections
                ));
                match tokio::time::timeout(EVICTION_WAIT, Arc::clone(&slots).acquire_owned()).await {
                    Ok(Ok(slot)) => slot,
                    _ => continue,
                }
            }
            Err(_) => {
                refusals.log(format_args!(
                    "{} connections, all mid-request; closing new connections",
                    limits.max_connections
                ));
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        serial += 1;
        let connection = registry.add(serial);
        let (registry, router, http1) = (Arc::clone(&registry), router.clone(), Arc::clone(&http1));
        tokio::spawn(async move {
            run_connection(stream, &connection, &registry, router, &http1, limits.idle_timeout).await;
            registry.remove(serial);
            drop(slot);
        });
    }
}

async fn run_connection(
    stream: tokio::net::TcpStream,
    connection: &Arc<Connection>,
    registry: &Arc<Registry>,
    router: Router,
    http1: &hyper::server::conn::http1::Builder,
    idle_timeout: Duration,
) {
    let inner = TowerToHyperService::new(router);
    let (for_service, registry_for_service) = (Arc::clone(connection), Arc::clone(registry));
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let in_progress = InProgress::start(&for_service, &registry_for_service);
        let response = inner.call(request);
        async move {
            let response = response.await?;
            Ok::<_, Infallible>(response.map(|body| TrackedBody { body, _in_progress: in_progress }))
        }
    });
    let mut served = std::pin::pin!(http1.serve_connection(TokioIo::new(stream), service));
    loop {
        // Only a kept-alive connection between requests has an idle deadline; before its first
        // request hyper's header timeout applies.
        let idle = || connection.served.load(Ordering::Acquire) && !connection.busy.load(Ordering::Acquire);
        let idle_deadline = idle().then(|| {
            let since = connection.idle_since_ms.load(Ordering::Acquire);
            registry.started + Duration::from_millis(since) + idle_timeout
        });
        let far = Instant::now() + Duration::from_secs(24 * 3600);
        tokio::select! {
            // Errors here are the client's doing (reset, timeout, bad request); hyper already
            // answered what could be answered, and the request log shows the requests.
            _ = served.as_mut() => return,
            () = connection.wake.notified() => {
                if connection.evicted.load(Ordering::Acquire) {
                    // Chosen while idle, but a request may have begun since: let it finish (the
                    // end of its response wakes this task again), then close.
                    if !connection.busy.load(Ordering::Acquire) {
                        return;
                    }
                    served.as_mut().graceful_shutdown();
                }
            }
            // Past the deadline computed above; a request that started and ended meanwhile moved
            // it, so it is recomputed before closing.
            () = tokio::time::sleep_until(idle_deadline.unwrap_or(far)) => {
                let since = connection.idle_since_ms.load(Ordering::Acquire);
                if idle() && registry.now_ms() >= since.saturating_add(millis(idle_timeout)) {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_leave_room_for_other_files() {
        assert_eq!(room_for_connections(256), 224);
        assert_eq!(room_for_connections(1024), 992);
        assert_eq!(room_for_connections(64), 32);
        assert_eq!(room_for_connections(10), 5);
        assert_eq!(room_for_connections(1), 1);
    }

    #[test]
    fn the_open_file_limit_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(open_file_limit().is_some_and(|limit| limit > 0));
        }
    }
}
