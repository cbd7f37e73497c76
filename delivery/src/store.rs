//! The on-device cache: the exact signed bytes of the last accepted plan and the delivery state.
//!
//! Layout of the host-given directory (normative, `docs/config-delivery.md`):
//! - `plan.bin`: the envelope bytes exactly as verified (re-verified at every start);
//! - `state.bin`: [`DeliveryState`], postcard-encoded between a magic and a checksum. The
//!   magic names the layout: `TGSTATE\x02` is written; `TGSTATE\x01` (the layout before the
//!   signed time floor, which also held the server's unsigned `Date`) is still read, and its
//!   server time is discarded (`docs/config-delivery.md`, "Trusted time").
//!
//! Every write is atomic: a temporary file in the same directory is written, fsynced, renamed
//! over the target and the directory is fsynced, so a crash leaves the old file or the new one,
//! never a torn one. `plan.bin` is written before `state.bin`, so the anti-rollback floor never
//! runs ahead of the cached plan.
//!
//! Storage is the [`Storage`] trait so tests can inject faults (full disk, unreadable files);
//! [`DirectoryStorage`] is the real file system, [`MemoryStorage`] a process-local one for
//! simulations of many devices. Calls block on file I/O; nothing here starts
//! threads. A [`Store`] is used from one thread at a time (`&mut` access through `Delivery`).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::verify::Floor;

/// File holding the signed plan bytes.
pub const PLAN_FILE: &str = "plan.bin";
/// File holding the delivery state.
pub const STATE_FILE: &str = "state.bin";
/// First bytes of `state.bin` as written now (layout 2).
pub const STATE_MAGIC: [u8; 8] = *b"TGSTATE\x02";
/// First bytes of a `state.bin` in layout 1, written by releases that trusted the server's
/// `Date`; still read (see [`DeliveryState::decode`]), never written.
pub const LEGACY_STATE_MAGIC_V1: [u8; 8] = *b"TGSTATE\x01";
/// Largest `state.bin` read; a real one is under 200 bytes.
pub const MAX_STATE_BYTES: usize = 64 * 1024;
const CHECKSUM_LENGTH: usize = 8;

/// Where the store's files live. Implementations must make `write_atomic` all-or-nothing.
pub trait Storage: Send {
    /// The file's bytes; `Ok(None)` when it does not exist. Files longer than `limit` bytes
    /// must be refused with an error of kind `InvalidData` before being read whole.
    fn read(&self, name: &str, limit: usize) -> io::Result<Option<Vec<u8>>>;
    /// Replaces the file with `bytes` so that a crash at any point leaves either the old
    /// content or the new one.
    fn write_atomic(&self, name: &str, bytes: &[u8]) -> io::Result<()>;
}

/// The real file system: one directory, owned by one process at a time.
#[derive(Debug, Clone)]
pub struct DirectoryStorage {
    directory: PathBuf,
}

static TEMPORARY_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Storage that keeps its files in memory: for simulations of many devices in one process
/// (`trackgate demo --governance`, tests). Nothing survives the process; a write replaces the
/// file whole, so the atomicity [`Storage::write_atomic`] promises holds trivially.
#[derive(Debug, Default)]
pub struct MemoryStorage {
    files: std::sync::Mutex<std::collections::HashMap<String, Vec<u8>>>,
}

impl Storage for MemoryStorage {
    fn read(&self, name: &str, limit: usize) -> io::Result<Option<Vec<u8>>> {
        let files = self.files.lock().map_err(|_| io::Error::other("storage lock poisoned"))?;
        match files.get(name) {
            Some(bytes) if bytes.len() > limit => {
                Err(io::Error::new(io::ErrorKind::InvalidData, format!("{name} is larger than {limit} bytes")))
            }
            found => Ok(found.cloned()),
        }
    }

    fn write_atomic(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        let mut files = self.files.lock().map_err(|_| io::Error::other("storage lock poisoned"))?;
        files.insert(name.to_owned(), bytes.to_vec());
        Ok(())
    }
}

impl DirectoryStorage {
    /// Uses `directory`, creating it if needed, and removes temporary files a killed process
    /// left behind.
    pub fn open(directory: impl Into<PathBuf>) -> io::Result<DirectoryStorage> {
        let directory = directory.into();
        fs::create_dir_all(&directory)?;
        for entry in fs::read_dir(&directory)?.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') && name.ends_with(".tmp") {
                // Best effort: a leftover that cannot be removed is only wasted space.
                let _ = fs::remove_file(entry.path());
            }
        }
        Ok(DirectoryStorage { directory })
    }

    /// The directory.
    pub fn directory(&self) -> &Path {
        &self.directory
    }

    fn write_temporary(&self, temporary: &Path, bytes: &[u8]) -> io::Result<()> {
        let mut file = OpenOptions::new().write(true).create_new(true).open(temporary)?;
        file.write_all(bytes)?;
        file.sync_all()
    }
}

impl Storage for DirectoryStorage {
    fn read(&self, name: &str, limit: usize) -> io::Result<Option<Vec<u8>>> {
        let file = match File::open(self.directory.join(name)) {
            Ok(file) => file,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error),
        };
        let mut bytes = Vec::new();
        // Read one byte past the limit so an oversized file is detected without reading it all.
        file.take(limit as u64 + 1).read_to_end(&mut bytes)?;
        if bytes.len() > limit {
            return Err(io::Error::new(io::ErrorKind::InvalidData, format!("{name} is larger than {limit} bytes")));
        }
        Ok(Some(bytes))
    }

    fn write_atomic(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        let unique = TEMPORARY_COUNTER.fetch_add(1, Ordering::Relaxed);
        let temporary = self.directory.join(format!(".{name}.{}.{unique}.tmp", std::process::id()));
        let result = self
            .write_temporary(&temporary, bytes)
            .and_then(|()| fs::rename(&temporary, self.directory.join(name)))
            .and_then(|()| sync_directory(&self.directory));
        if result.is_err() {
            let _ = fs::remove_file(&temporary);
        }
        result
    }
}

/// Makes a rename durable: the directory entry itself must reach the disk.
fn sync_directory(directory: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(directory)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = directory;
        Ok(())
    }
}

/// What the device remembers between runs: the anti-rollback floor and the fetch schedule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryState {
    /// Version and digest of the newest plan ever accepted (cache, bundled or network).
    pub floor_version: u64,
    /// SHA-256 of that plan's envelope; `None` before any plan was accepted.
    pub floor_digest: Option<[u8; 32]>,
    /// The signed time floor, Unix seconds: the highest `issued_at` of the plans this device
    /// accepted, each capped at the trusted time of its acceptance plus the issued-ahead
    /// tolerance; 0 before any. Only signed input raises it, and it never falls. Expiry is
    /// judged by the later of this and the device clock (`docs/config-delivery.md`, "Trusted
    /// time").
    pub signed_time_floor_unix: u64,
    /// The fetch schedule's persisted part.
    pub fetch: FetchState,
}

/// `DeliveryState` in layout 1 (`TGSTATE\x01`), as releases before the signed time floor
/// wrote it. Field order is the postcard layout and MUST NOT change.
#[derive(Deserialize)]
struct DeliveryStateV1 {
    floor_version: u64,
    floor_digest: Option<[u8; 32]>,
    fetch: FetchStateV1,
}

/// `FetchState` in layout 1: the same fields plus the server's unsigned `Date`.
#[derive(Deserialize)]
struct FetchStateV1 {
    etag: Option<String>,
    last_success_unix: Option<u64>,
    last_attempt_unix: Option<u64>,
    consecutive_failures: u32,
    backoff_until_unix: Option<u64>,
    /// The latest `Date` any response carried, unsigned and unbounded: a forged one locked
    /// devices out, so it is read only to be dropped.
    #[allow(dead_code)]
    last_server_time_unix: Option<u64>,
    refresh_interval_seconds: Option<u64>,
    budget_window_start_unix: Option<u64>,
    budget_window_requests: u32,
}

impl From<DeliveryStateV1> for DeliveryState {
    fn from(old: DeliveryStateV1) -> DeliveryState {
        let fetch = old.fetch;
        DeliveryState {
            floor_version: old.floor_version,
            floor_digest: old.floor_digest,
            // Layout 1 kept no signed time; startup raises it from the cached plan it loads.
            signed_time_floor_unix: 0,
            fetch: FetchState {
                etag: fetch.etag,
                last_success_unix: fetch.last_success_unix,
                last_attempt_unix: fetch.last_attempt_unix,
                consecutive_failures: fetch.consecutive_failures,
                backoff_until_unix: fetch.backoff_until_unix,
                refresh_interval_seconds: fetch.refresh_interval_seconds,
                budget_window_start_unix: fetch.budget_window_start_unix,
                budget_window_requests: fetch.budget_window_requests,
            },
        }
    }
}

/// The persisted part of the fetch schedule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchState {
    /// `ETag` of the plan last accepted from the server.
    pub etag: Option<String>,
    /// Last time the server answered usefully (200 accepted, already current, or 304).
    pub last_success_unix: Option<u64>,
    /// Last time a request was sent.
    pub last_attempt_unix: Option<u64>,
    /// Failures since the last success.
    pub consecutive_failures: u32,
    /// No request before this time (backoff or `Retry-After`).
    pub backoff_until_unix: Option<u64>,
    /// Refresh interval the server asked for, already clamped.
    pub refresh_interval_seconds: Option<u64>,
    /// Start of the current hourly request budget window.
    pub budget_window_start_unix: Option<u64>,
    /// Requests sent in that window.
    pub budget_window_requests: u32,
}

impl DeliveryState {
    /// The floor as verification uses it.
    pub fn floor(&self) -> Option<Floor> {
        self.floor_digest.map(|digest| Floor { version: self.floor_version, digest })
    }

    /// Encodes as `STATE_MAGIC || postcard body || first 8 bytes of SHA-256(magic || body)`.
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = STATE_MAGIC.to_vec();
        // Encoding plain integers, options and strings into a Vec cannot fail.
        bytes.extend(postcard::to_allocvec(self).unwrap_or_default());
        let checksum = Sha256::digest(&bytes);
        bytes.extend_from_slice(&checksum[..CHECKSUM_LENGTH]);
        bytes
    }

    /// Decodes [`DeliveryState::encode`] output, or a layout-1 file (`TGSTATE\x01`, same
    /// framing) whose unsigned server time is dropped; refuses anything else with the reason.
    pub fn decode(bytes: &[u8]) -> Result<DeliveryState, String> {
        if bytes.len() < STATE_MAGIC.len() + CHECKSUM_LENGTH {
            return Err("byte 0: not a trackgate state file (too short)".into());
        }
        let (content, checksum) = bytes.split_at(bytes.len() - CHECKSUM_LENGTH);
        let (magic, body) = content.split_at(STATE_MAGIC.len());
        if magic != STATE_MAGIC && magic != LEGACY_STATE_MAGIC_V1 {
            return Err("byte 0: not a trackgate state file (bad magic)".into());
        }
        if Sha256::digest(content)[..CHECKSUM_LENGTH] != *checksum {
            return Err(format!("byte {}: checksum does not match the content", content.len()));
        }
        let (state, rest) = if magic == STATE_MAGIC {
            postcard::take_from_bytes::<DeliveryState>(body)
        } else {
            postcard::take_from_bytes::<DeliveryStateV1>(body).map(|(old, rest)| (old.into(), rest))
        }
        .map_err(|error| format!("byte {}: {error}", STATE_MAGIC.len()))?;
        if !rest.is_empty() {
            return Err(format!("byte {}: {} trailing bytes", content.len() - rest.len(), rest.len()));
        }
        Ok(state)
    }
}

/// A store problem. Unreadable (the OS refused) and corrupt (the bytes are wrong) are distinct,
/// because they call for different fixes: permissions or hardware versus a discarded cache.
///
/// Not `Clone`: an error kept in [`crate::Status`] and also returned is shared through an `Arc`
/// by its owner, so the OS error is held as it came. Two errors are equal when they are the same
/// variant for the same file and their OS errors read the same.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file exists but could not be read (permission, I/O error, too large).
    #[error("cannot read {file}: {source}")]
    Unreadable {
        /// Which file.
        file: &'static str,
        /// The OS error.
        source: io::Error,
    },
    /// The file was read but its bytes are not valid.
    #[error("{file} is corrupt: {reason}")]
    Corrupt {
        /// Which file.
        file: &'static str,
        /// What is wrong, with the byte offset where known.
        reason: String,
    },
    /// A write failed (disk full, permission); the previous file is intact.
    #[error("cannot write {file}: {source}")]
    WriteFailed {
        /// Which file.
        file: &'static str,
        /// The OS error.
        source: io::Error,
    },
}

impl PartialEq for StoreError {
    fn eq(&self, other: &StoreError) -> bool {
        // By the text alone: `io::Error` has no equality, and its text names the OS error
        // (code included) or the custom message. Comparing kinds too would keep an out-of-line
        // copy of `io::Error::kind` in the mobile library (444 bytes on arm64).
        fn same_os_error(left: &io::Error, right: &io::Error) -> bool {
            left.to_string() == right.to_string()
        }
        match (self, other) {
            (StoreError::Unreadable { file, source }, StoreError::Unreadable { file: other_file, source: other })
            | (StoreError::WriteFailed { file, source }, StoreError::WriteFailed { file: other_file, source: other }) => {
                file == other_file && same_os_error(source, other)
            }
            (StoreError::Corrupt { file, reason }, StoreError::Corrupt { file: other_file, reason: other }) => {
                file == other_file && reason == other
            }
            _ => false,
        }
    }
}

impl Eq for StoreError {}

/// The plan cache and state on top of a [`Storage`].
pub struct Store {
    storage: Box<dyn Storage>,
    max_plan_bytes: usize,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Store").field("max_plan_bytes", &self.max_plan_bytes).finish_non_exhaustive()
    }
}

impl Store {
    /// A store over `storage`; `plan.bin` files above `max_plan_bytes` count as unreadable.
    pub fn new(storage: Box<dyn Storage>, max_plan_bytes: usize) -> Store {
        Store { storage, max_plan_bytes }
    }

    /// The cached envelope bytes, if any. Whether they are valid is for verification to say.
    pub fn load_plan(&self) -> Result<Option<Vec<u8>>, StoreError> {
        self.storage
            .read(PLAN_FILE, self.max_plan_bytes)
            .map_err(|source| StoreError::Unreadable { file: PLAN_FILE, source })
    }

    /// The saved state, if any.
    pub fn load_state(&self) -> Result<Option<DeliveryState>, StoreError> {
        let bytes = self
            .storage
            .read(STATE_FILE, MAX_STATE_BYTES)
            .map_err(|source| StoreError::Unreadable { file: STATE_FILE, source })?;
        bytes
            .map(|bytes| {
                DeliveryState::decode(&bytes).map_err(|reason| StoreError::Corrupt { file: STATE_FILE, reason })
            })
            .transpose()
    }

    /// Replaces the cached plan atomically.
    pub fn save_plan(&self, envelope: &[u8]) -> Result<(), StoreError> {
        self.storage
            .write_atomic(PLAN_FILE, envelope)
            .map_err(|source| StoreError::WriteFailed { file: PLAN_FILE, source })
    }

    /// Replaces the state atomically.
    pub fn save_state(&self, state: &DeliveryState) -> Result<(), StoreError> {
        self.storage
            .write_atomic(STATE_FILE, &state.encode())
            .map_err(|source| StoreError::WriteFailed { file: STATE_FILE, source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_detects_damage() {
        let mut state = DeliveryState { floor_version: 9, floor_digest: Some([3; 32]), ..DeliveryState::default() };
        state.fetch.etag = Some("\"abc\"".into());
        state.fetch.consecutive_failures = 4;
        let bytes = state.encode();
        assert_eq!(DeliveryState::decode(&bytes), Ok(state));
        for index in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[index] ^= 0x10;
            assert!(DeliveryState::decode(&damaged).is_err(), "flip at {index} went unnoticed");
        }
        assert!(DeliveryState::decode(&bytes[..bytes.len() - 1]).is_err());
    }

    /// Layout 1 as the previous release wrote it: floor 5, ETag `"v5"`, refresh 900 s, and a
    /// forged server time of 253402300799 (9999-12-31).
    const LAYOUT_1: &str = "544753544154450105015ac365d02c54fe6f9f69958941978d220951123f842edf69e0037507059859\
        c00104227635220190fecfaa060190fecfaa06000001ff82d1ffaf070184070190fecfaa0601b2a6cef09a7c670c";

    fn from_hex(text: &str) -> Vec<u8> {
        (0..text.len()).step_by(2).map(|index| u8::from_str_radix(&text[index..index + 2], 16).unwrap()).collect()
    }

    #[test]
    fn layout_1_loads_without_its_server_time_and_is_rewritten_in_layout_2() {
        let bytes = from_hex(LAYOUT_1);
        let state = DeliveryState::decode(&bytes).expect("layout 1 loads");
        assert_eq!((state.floor_version, state.signed_time_floor_unix), (5, 0));
        assert_eq!(state.floor_digest.map(|digest| digest[..4].to_vec()), Some(vec![0x5a, 0xc3, 0x65, 0xd0]));
        let fetch = &state.fetch;
        assert_eq!(fetch.etag.as_deref(), Some("\"v5\""));
        assert_eq!((fetch.last_success_unix, fetch.last_attempt_unix), (Some(1_700_003_600), Some(1_700_003_600)));
        assert_eq!((fetch.consecutive_failures, fetch.backoff_until_unix), (0, None));
        assert_eq!(fetch.refresh_interval_seconds, Some(900));
        assert_eq!((fetch.budget_window_start_unix, fetch.budget_window_requests), (Some(1_700_003_600), 1));
        let rewritten = state.encode();
        assert_eq!(rewritten[..8], STATE_MAGIC);
        assert_eq!(DeliveryState::decode(&rewritten), Ok(state));
        for index in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[index] ^= 0x10;
            assert!(DeliveryState::decode(&damaged).is_err(), "flip at {index} went unnoticed");
        }
    }
}
