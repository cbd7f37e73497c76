//! `trackgate serve`: a plan server for development, tests and small deployments.
//!
//! Serves the newest envelope per app and env found in a directory (see [`super::server`]),
//! with `--collect FILE` also accepts uploads on `POST /v1/collect` (see [`super::collect`]),
//! and rescans the directory every `--poll-ms` on a thread of its own, keeping the last good
//! plan of every file that fails to read or parse (see [`super::catalog`]). Connections are
//! accepted and limited by [`super::connections`] (connection cap, header and idle timeouts) on
//! a single-threaded tokio runtime.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use trackgate_delivery::envelope::DEFAULT_MAX_ENVELOPE_BYTES;
use trackgate_delivery::Keyring;

use super::catalog::{Scan, Scanner};
use super::collect::{Collector, DEFAULT_BUDGET_BYTES, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_FILE_BYTES};
use super::connections;
use super::connections::{
    fit_to_file_limit, Limits, DEFAULT_HEADER_TIMEOUT_SECS, DEFAULT_IDLE_TIMEOUT_SECS, DEFAULT_MAX_CONNECTIONS,
};
use super::read_trust;
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
    /// Serve only envelopes that verify with these public keys (any one suffices).
    #[arg(long = "pubkey")]
    public_keys: Vec<PathBuf>,
    /// Serve only envelopes that meet this keyring file's policy (keys with roles, thresholds,
    /// revoked keys; JSON, docs/config-delivery.md), instead of `--pubkey`: a release not yet
    /// co-signed by every required role is not served.
    #[arg(long)]
    keyring: Option<PathBuf>,
    /// How often to rescan the directory, in milliseconds. A file that fails to read or parse
    /// keeps being served as it last was when good.
    #[arg(long, default_value_t = 1000)]
    poll_ms: u64,
    /// Accept uploads (kept events and drop reports, JSON or NDJSON) on `POST /v1/collect` and
    /// append them to FILE, one JSON object per line. Refused when FILE resolves into DIR
    /// (links and `..` followed).
    #[arg(long, value_name = "FILE")]
    collect: Option<PathBuf>,
    /// Largest upload body `POST /v1/collect` accepts, in bytes (larger: 413).
    #[arg(long, default_value_t = DEFAULT_MAX_BODY_BYTES, value_name = "BYTES")]
    collect_max_bytes: usize,
    /// Bytes of upload bodies held at once, all uploads together; an upload that does not fit
    /// is answered 503 with `Retry-After`. At least --collect-max-bytes.
    #[arg(long, default_value_t = DEFAULT_BUDGET_BYTES, value_name = "BYTES")]
    collect_budget_bytes: u32,
    /// Largest size of the collect file; once an upload would pass it, uploads are refused with
    /// 507 (the file is never rotated or truncated).
    #[arg(long, default_value_t = DEFAULT_MAX_FILE_BYTES, value_name = "BYTES")]
    collect_max_file_bytes: u64,
    /// Most connections open at once (lowered to fit the open-file limit). At the cap the
    /// connection idle longest is closed to admit a new one; if all are mid-request, the new one
    /// is closed.
    #[arg(long, default_value_t = DEFAULT_MAX_CONNECTIONS, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..))]
    max_connections: u32,
    /// Seconds a client has to send a whole request head, counted from when the connection is
    /// ready for it (accepted, or the previous response written).
    #[arg(long, default_value_t = DEFAULT_HEADER_TIMEOUT_SECS, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    header_timeout: u64,
    /// Seconds a kept-alive connection may wait for its next request before it is closed (the
    /// header timeout also runs from the previous response, so the smaller of the two applies).
    #[arg(long, default_value_t = DEFAULT_IDLE_TIMEOUT_SECS, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    idle_timeout: u64,
}

/// `serve --help`'s example.
pub const EXAMPLE: &str = "Example:
  trackgate serve plans/ --addr 0.0.0.0:8080 --pubkey keys/public.key \\
      --max-connections 2000 --header-timeout 10 --idle-timeout 5 \\
      --collect /var/tmp/collected.ndjson --collect-max-file-bytes 10000000000

Limits and why they exist: docs/config-delivery.md, \"Server limits\".";

/// Where opening `file` for appending would write: symbolic links followed (dangling ones too,
/// which creating the file would follow), `.` and `..` resolved.
fn resolve(file: &Path) -> std::io::Result<PathBuf> {
    let mut current = if file.is_absolute() { file.to_owned() } else { std::env::current_dir()?.join(file) };
    for _ in 0..40 {
        match std::fs::symlink_metadata(&current) {
            Ok(metadata) if metadata.file_type().is_symlink() => {
                let target = std::fs::read_link(&current)?;
                // An absolute target replaces the path; a relative one is read from the link's folder.
                current = current.parent().map_or_else(|| target.clone(), |parent| parent.join(&target));
            }
            Ok(_) => return current.canonicalize(),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let (Some(parent), Some(name)) = (current.parent(), current.file_name()) else {
                    return Err(error);
                };
                return Ok(parent.canonicalize()?.join(name));
            }
            Err(error) => return Err(error),
        }
    }
    Err(std::io::Error::other("too many levels of symbolic links"))
}

/// Refuses a collect file that is, or would be created, in or under `directory` (symbolic links
/// and `..` resolved), before anything is created.
fn check_collect_path(file: &Path, directory: &Path) -> Result<(), Failure> {
    let place = |error: std::io::Error| Failure::error(format!("--collect {}: {error}", file.display()));
    let resolved = resolve(file).map_err(place)?;
    let directory_resolved =
        directory.canonicalize().map_err(|error| Failure::error(format!("{}: {error}", directory.display())))?;
    if resolved.starts_with(&directory_resolved) {
        return Err(Failure::error(format!(
            "--collect {} resolves to {}, inside {}, which is rescanned whenever it changes: put the collect file outside it",
            file.display(),
            resolved.display(),
            directory.display()
        )));
    }
    Ok(())
}

/// Refuses an opened collect file that is also a file of `directory` under another name (a hard
/// link).
#[cfg(unix)]
fn check_collect_identity(collector: &Collector, directory: &Path) -> Result<(), Failure> {
    use std::os::unix::fs::MetadataExt;
    let identity = collector
        .identity()
        .map_err(|error| Failure::error(format!("--collect {}: {error}", collector.path().display())))?;
    let entries = std::fs::read_dir(directory)
        .map_err(|error| Failure::error(format!("cannot read {}: {error}", directory.display())))?;
    for entry in entries.flatten() {
        let Ok(metadata) = std::fs::metadata(entry.path()) else { continue };
        if (metadata.dev(), metadata.ino()) == identity {
            return Err(Failure::error(format!(
                "--collect {} is the same file as {} (a link), which is rescanned whenever it changes: put the collect file outside {}",
                collector.path().display(),
                entry.path().display(),
                directory.display()
            )));
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_collect_identity(_: &Collector, _: &Path) -> Result<(), Failure> {
    Ok(())
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

/// Swaps the scan's catalogue in, then logs (so a logged line is already true for requests).
fn publish(state: &ServerState, scan: Scan, last: &Logged) -> Logged {
    let logged = Logged { problems: scan.problems, summary: scan.catalog.summary() };
    state.replace(scan.catalog);
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
    logged
}

/// Runs `trackgate serve` until interrupted.
pub fn run(args: &ServeArgs) -> Result<(), Failure> {
    if !args.dir.is_dir() {
        return Err(Failure::error(format!("{} is not a directory", args.dir.display())));
    }
    let keyring = read_trust(&args.public_keys, args.keyring.as_deref())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| Failure::error(format!("cannot start the runtime: {error}")))?;
    runtime.block_on(serve(args, keyring))
}

async fn serve(args: &ServeArgs, keyring: Option<Keyring>) -> Result<(), Failure> {
    let mut state = ServerState::new(args.max_age);
    if let Some(path) = &args.collect {
        check_collect_path(path, &args.dir)?;
        if args.collect_max_bytes > args.collect_budget_bytes as usize {
            return Err(Failure::error(format!(
                "--collect-max-bytes {} is over --collect-budget-bytes {}: the largest upload could never be held",
                args.collect_max_bytes, args.collect_budget_bytes
            )));
        }
        let collector =
            Collector::open(path, args.collect_max_bytes, args.collect_budget_bytes, args.collect_max_file_bytes)
                .map_err(|error| Failure::error(format!("cannot open the collect file {}: {error}", path.display())))?;
        check_collect_identity(&collector, &args.dir)?;
        eprintln!("trackgate serve: collecting uploads into {}", path.display());
        state = state.with_collector(collector);
    }
    let state = Arc::new(state);
    let mut scanner = Scanner::new(&args.dir, keyring, DEFAULT_MAX_ENVELOPE_BYTES);
    let logged = publish(&state, scanner.scan(), &Logged::default());
    let listener = connections::listen(args.addr)
        .map_err(|error| Failure::error(format!("cannot listen on {}: {error}", args.addr)))?;
    let address = listener.local_addr().map_err(|error| Failure::error(error.to_string()))?;
    eprintln!("trackgate serve: listening on http://{address}");
    watch(Arc::clone(&state), scanner, Duration::from_millis(args.poll_ms.max(50)), logged)
        .map_err(|error| Failure::error(format!("cannot start the directory watcher: {error}")))?;
    let (max_connections, lowered) = fit_to_file_limit(args.max_connections as usize);
    if let Some(reason) = lowered {
        eprintln!("trackgate serve: {reason}");
    }
    let limits = Limits {
        max_connections,
        header_timeout: Duration::from_secs(args.header_timeout),
        idle_timeout: Duration::from_secs(args.idle_timeout),
    };
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    connections::serve(listener, router(state), limits, shutdown).await;
    Ok(())
}
