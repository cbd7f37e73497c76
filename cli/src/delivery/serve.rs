//! `trackgate serve`: a plan server for development, tests and small deployments.
//!
//! Serves the newest envelope per app and env found in a directory (see [`super::server`]),
//! with `--collect FILE` also accepts uploads on `POST /v1/collect` (see [`super::collect`]),
//! and rescans the directory every `--poll-ms` on a thread of its own, keeping the last good
//! plan of every file that fails to read or parse (see [`super::catalog`]). Requests run on a
//! single-threaded tokio runtime.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use trackgate_delivery::envelope::DEFAULT_MAX_ENVELOPE_BYTES;
use trackgate_delivery::Keyring;

use super::catalog::{Scan, Scanner};
use super::collect::{Collector, DEFAULT_MAX_BODY_BYTES};
use super::read_keyring;
use super::server::{router, ServerState};
use crate::Failure;

/// Arguments of `trackgate serve`.
#[derive(Args)]
pub struct ServeArgs {
    /// Directory of signed envelopes (from `trackgate build`).
    dir: PathBuf,
    /// Address to listen on; port 0 picks a free port (printed on stderr).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Refresh interval devices are told, via `Cache-Control: max-age`, in seconds.
    #[arg(long, default_value_t = 900)]
    max_age: u64,
    /// Serve only envelopes that verify with these public keys.
    #[arg(long = "pubkey")]
    public_keys: Vec<PathBuf>,
    /// How often to look for changes in the directory, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    poll_ms: u64,
    /// Accept uploads (kept events and drop reports, JSON or NDJSON) on `POST /v1/collect` and
    /// append them to FILE, one JSON object per line. Keep FILE outside DIR.
    #[arg(long, value_name = "FILE")]
    collect: Option<PathBuf>,
    /// Largest upload body `POST /v1/collect` accepts, in bytes (larger: 413).
    #[arg(long, default_value_t = DEFAULT_MAX_BODY_BYTES, value_name = "BYTES")]
    collect_max_bytes: usize,
}

/// Whether `file` would be created directly in `directory` (compared after resolving links).
fn inside(file: &Path, directory: &Path) -> bool {
    let parent = match file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    match (parent.canonicalize(), directory.canonicalize()) {
        (Ok(parent), Ok(directory)) => parent == directory,
        _ => false,
    }
}

/// Rescans `scanner`'s directory every `poll` on its own thread (reads of up to the envelope cap
/// never hold up requests) and swaps each result into `state`. Logs problems and the served
/// set when they differ from the previous scan's, so a lasting problem is logged once.
fn watch(state: Arc<ServerState>, mut scanner: Scanner, poll: Duration, mut last: Logged) -> std::io::Result<()> {
    std::thread::Builder::new().name("trackgate-scan".to_owned()).spawn(move || loop {
        std::thread::sleep(poll);
        last = publish(&state, scanner.scan(), &last);
    })?;
    Ok(())
}

/// What the previous scan logged.
#[derive(Default, PartialEq, Eq)]
struct Logged {
    problems: Vec<String>,
    summary: String,
}

fn publish(state: &ServerState, scan: Scan, last: &Logged) -> Logged {
    let logged = Logged { problems: scan.problems, summary: scan.catalog.summary() };
    if logged.problems != last.problems {
        for problem in &logged.problems {
            eprintln!("trackgate serve: {problem}");
        }
        if logged.problems.is_empty() {
            eprintln!("trackgate serve: rescan complete: no file skipped");
        }
    }
    if logged.summary != last.summary {
        eprintln!("trackgate serve: {}", logged.summary);
    }
    state.replace(scan.catalog);
    logged
}

/// Runs `trackgate serve` until interrupted.
pub fn run(args: &ServeArgs) -> Result<(), Failure> {
    if !args.dir.is_dir() {
        return Err(Failure::error(format!("{} is not a directory", args.dir.display())));
    }
    let keyring = if args.public_keys.is_empty() { None } else { Some(read_keyring(&args.public_keys)?) };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| Failure::error(format!("cannot start the runtime: {error}")))?;
    runtime.block_on(serve(args, keyring))
}

async fn serve(args: &ServeArgs, keyring: Option<Keyring>) -> Result<(), Failure> {
    let mut state = ServerState::new(args.max_age);
    if let Some(path) = &args.collect {
        if inside(path, &args.dir) {
            return Err(Failure::error(format!(
                "--collect {}: put the collect file outside {}, which is rescanned whenever it changes",
                path.display(),
                args.dir.display()
            )));
        }
        let collector = Collector::open(path, args.collect_max_bytes)
            .map_err(|error| Failure::error(format!("cannot open the collect file {}: {error}", path.display())))?;
        eprintln!("trackgate serve: collecting uploads into {}", path.display());
        state = state.with_collector(collector);
    }
    let state = Arc::new(state);
    let mut scanner = Scanner::new(&args.dir, keyring, DEFAULT_MAX_ENVELOPE_BYTES);
    let logged = publish(&state, scanner.scan(), &Logged::default());
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .map_err(|error| Failure::error(format!("cannot listen on {}: {error}", args.addr)))?;
    let address = listener.local_addr().map_err(|error| Failure::error(error.to_string()))?;
    eprintln!("trackgate serve: listening on http://{address}");
    watch(Arc::clone(&state), scanner, Duration::from_millis(args.poll_ms.max(50)), logged)
        .map_err(|error| Failure::error(format!("cannot start the directory watcher: {error}")))?;
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|error| Failure::error(format!("server failed: {error}")))
}
