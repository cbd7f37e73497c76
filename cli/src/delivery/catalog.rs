//! The catalogue `trackgate serve` answers from, and the rescans that keep it current without
//! ever losing a good plan.
//!
//! A [`Scanner`] remembers, per file of the directory, the last envelope it read from that file
//! that parsed (and, with a keyring, verified), with the file's stamp (size, modification and
//! change times, inode). Each [`Scanner::scan`] lists the directory (not recursively; names
//! starting with `.` are ignored) and:
//!
//! - re-reads only files whose stamp changed (or that failed to read last time);
//! - when a file cannot be read or does not parse (truncated in place, mid-write, garbage,
//!   unreadable, over the size cap), keeps serving that file's last good envelope, if it had
//!   one, and reports the file as skipped with the reason;
//! - when the directory cannot be listed (moved away, no permission, `EMFILE`), or the listing
//!   breaks off, keeps every last good envelope it cannot see;
//! - forgets a file only when a complete listing no longer holds it (deleting a file withdraws
//!   its plan).
//!
//! Every file is size-capped before it is read: its metadata is checked against the cap and it is
//! read through `take(cap + 1)`, so a huge file is skipped, never read whole. On Unix files are
//! opened with `O_NONBLOCK`, so a FIFO swapped in for a file cannot block the scan.
//!
//! The catalogue serves, per (app, env), the envelope with the highest `plan_version` among the
//! last good envelopes, except the envelopes releases gate: `ID.release.tgplan` and
//! `ID.rollback.tgplan` are offered only as the good release record `ID.release.json` beside
//! them says ([`Catalog::choose`]); without a good record they are never served. A record
//! that fails to read keeps its last good version, like an envelope.

use std::collections::{HashMap, HashSet};
use std::fs::{File, Metadata, OpenOptions};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use std::sync::Arc;

use axum::body::Bytes;
use trackgate_delivery::envelope::{envelope_digest, to_hex};
use trackgate_delivery::{parse_envelope, verify_envelope, Keyring, VerifyContext, VerifyPolicy};
use trackgate_release::{in_share, Offer, ReleaseRecord, BUCKETS};

use crate::release::{RECORD_CAP, RECORD_SUFFIX, RELEASE_ENVELOPE_SUFFIX, ROLLBACK_ENVELOPE_SUFFIX};

/// One envelope ready to serve.
#[derive(Debug, Clone)]
pub struct ServedPlan {
    /// The exact file bytes.
    pub bytes: Bytes,
    /// Strong entity tag: quoted hex of the first 16 bytes of SHA-256 of the bytes.
    pub etag: String,
    /// The plan version.
    pub version: u64,
    /// Where it came from.
    pub file: PathBuf,
}

impl ServedPlan {
    /// An envelope of plan `version` read from `file`, with its entity tag.
    pub fn new(bytes: Vec<u8>, version: u64, file: PathBuf) -> ServedPlan {
        let etag = format!("\"{}\"", to_hex(&envelope_digest(&bytes)[..16]));
        ServedPlan { bytes: Bytes::from(bytes), etag, version, file }
    }
}

/// A release record with the envelopes it gates.
#[derive(Debug, Clone)]
pub struct ServedRelease {
    /// The record.
    pub record: Arc<ReleaseRecord>,
    /// `ID.release.tgplan`, when present and matching the record.
    pub release: Option<ServedPlan>,
    /// `ID.rollback.tgplan`, when present and matching the record.
    pub rollback: Option<ServedPlan>,
}

/// The newest envelope per (app, env), and the releases.
#[derive(Debug, Default)]
pub struct Catalog {
    /// Plans by scope (not counting the envelopes releases gate).
    pub plans: HashMap<(String, String), ServedPlan>,
    /// Releases by scope.
    pub releases: HashMap<(String, String), Vec<ServedRelease>>,
}

impl Catalog {
    /// One line naming every served scope, version and file, and every release's offer, sorted.
    pub fn summary(&self) -> String {
        let mut scopes: Vec<String> = self
            .plans
            .iter()
            .map(|((app, env), plan)| format!("{app}/{env} v{} ({})", plan.version, plan.file.display()))
            .collect();
        scopes.sort();
        let mut releases: Vec<String> = self
            .releases
            .values()
            .flatten()
            .map(|release| format!("{} ({})", release.record.id, release.record.summary()))
            .collect();
        releases.sort();
        let mut summary = format!("serving {} plan(s): {}", scopes.len(), scopes.join(", "));
        if !releases.is_empty() {
            summary.push_str(&format!("; releases: {}", releases.join(", ")));
        }
        summary
    }

    /// The envelope for a device of `scope` in `bucket` (`None`: no valid bucket header) at
    /// `now`: the newest of the scope's plain envelope and what each release offers it — the
    /// new plan when the bucket is in the release's share (everyone at 100 %), the rollback
    /// envelope to everyone once rolled back.
    pub fn choose(&self, scope: &(String, String), bucket: Option<u16>, now: u64) -> Option<&ServedPlan> {
        let mut best = self.plans.get(scope);
        for release in self.releases.get(scope).into_iter().flatten() {
            let offered = match release.record.offer(now) {
                Offer::Previous => None,
                Offer::Share(share) => {
                    let inside = share >= BUCKETS
                        || bucket.is_some_and(|bucket| in_share(bucket, release.record.rollout.offset, share));
                    if inside {
                        release.release.as_ref()
                    } else {
                        None
                    }
                }
                Offer::Rollback => release.rollback.as_ref(),
            };
            if let Some(offered) = offered {
                if best.is_none_or(|best| offered.version > best.version) {
                    best = Some(offered);
                }
            }
        }
        best
    }
}

/// What a file of the directory holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum FileKind {
    /// A plain envelope, served as the newest of its scope.
    Envelope,
    /// A release record.
    Record,
    /// The next plan of the release named by the stem.
    ReleaseEnvelope,
    /// The rollback envelope of the release named by the stem.
    RollbackEnvelope,
}

impl FileKind {
    /// The kind and, for release files, the release id.
    fn of(path: &Path) -> (FileKind, String) {
        let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        for (suffix, kind) in [
            (RECORD_SUFFIX, FileKind::Record),
            (RELEASE_ENVELOPE_SUFFIX, FileKind::ReleaseEnvelope),
            (ROLLBACK_ENVELOPE_SUFFIX, FileKind::RollbackEnvelope),
        ] {
            if let Some(id) = name.strip_suffix(suffix) {
                return (kind, id.to_owned());
            }
        }
        (FileKind::Envelope, String::new())
    }
}

/// What identifies one version of a file's contents without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    /// Change time and inode (Unix): a `chmod`, or a file renamed over this one, changes them.
    changed: (i64, i64, u64),
}

impl Stamp {
    fn of(metadata: &Metadata) -> Stamp {
        #[cfg(unix)]
        let changed = {
            use std::os::unix::fs::MetadataExt;
            (metadata.ctime(), metadata.ctime_nsec(), metadata.ino())
        };
        #[cfg(not(unix))]
        let changed = (0, 0, 0);
        Stamp { len: metadata.len(), modified: metadata.modified().ok(), changed }
    }
}

/// The last good contents of one file.
#[derive(Debug)]
struct Good {
    stamp: Stamp,
    scope: (String, String),
    item: Item,
}

/// A good file's contents.
#[derive(Debug)]
enum Item {
    /// An envelope of the given kind (release files with their release id).
    Envelope(FileKind, String, ServedPlan),
    /// A release record.
    Record(Arc<ReleaseRecord>),
}

impl Item {
    fn describe(&self, scope: &(String, String)) -> String {
        match self {
            Item::Envelope(_, _, plan) => format!("{}/{} v{}", scope.0, scope.1, plan.version),
            Item::Record(record) => format!("release {}", record.id),
        }
    }
}

/// Why a file was not (re)read into the catalogue.
#[derive(Debug)]
enum Skip {
    /// The file could not be opened or read: may pass, so it is retried at every scan.
    Io(String),
    /// The bytes are not a servable envelope: retried when the file changes.
    Content(String),
}

/// The result of one scan.
#[derive(Debug)]
pub struct Scan {
    /// What to serve now.
    pub catalog: Catalog,
    /// One line per file skipped (or the directory, when it could not be listed), with the
    /// reason and what is served instead.
    pub problems: Vec<String>,
}

/// Reads envelope files of one directory into catalogues, keeping the last good version of each.
#[derive(Debug)]
pub struct Scanner {
    directory: PathBuf,
    keyring: Option<Keyring>,
    max_bytes: usize,
    good: HashMap<PathBuf, Good>,
    /// Files whose contents were refused, with the stamp they were refused at.
    refused: HashMap<PathBuf, (Stamp, String)>,
}

impl Scanner {
    /// A scanner of `directory`; with a keyring only envelopes that verify are served. Files
    /// larger than `max_bytes` are skipped without being read.
    pub fn new(directory: &Path, keyring: Option<Keyring>, max_bytes: usize) -> Scanner {
        Scanner { directory: directory.to_owned(), keyring, max_bytes, good: HashMap::new(), refused: HashMap::new() }
    }

    /// Rescans the directory; see the module documentation for what is kept.
    pub fn scan(&mut self) -> Scan {
        let mut problems = Vec::new();
        let listing = self.list(&mut problems);
        let complete = listing.is_some();
        let mut seen = HashSet::new();
        for (path, metadata) in listing.unwrap_or_default() {
            seen.insert(path.clone());
            let stamp = Stamp::of(&metadata);
            if self.good.get(&path).is_some_and(|good| good.stamp == stamp) {
                continue;
            }
            if let Some((refused_stamp, reason)) = self.refused.get(&path) {
                if *refused_stamp == stamp {
                    problems.push(self.skipped(&path, reason));
                    continue;
                }
            }
            match self.read(&path, &metadata) {
                Ok((scope, item)) => {
                    self.refused.remove(&path);
                    self.good.insert(path, Good { stamp, scope, item });
                }
                Err(Skip::Io(reason)) => {
                    self.refused.remove(&path);
                    problems.push(self.skipped(&path, &reason));
                }
                Err(Skip::Content(reason)) => {
                    problems.push(self.skipped(&path, &reason));
                    self.refused.insert(path, (stamp, reason));
                }
            }
        }
        if complete {
            self.good.retain(|path, _| seen.contains(path));
            self.refused.retain(|path, _| seen.contains(path));
        }
        let catalog = self.catalog(&mut problems);
        Scan { catalog, problems }
    }

    /// The directory's regular files (symlinks followed), or `None` when the listing failed or
    /// broke off (the reason is added to `problems`; files listed before a break are returned
    /// through the kept versions only).
    fn list(&self, problems: &mut Vec<String>) -> Option<Vec<(PathBuf, Metadata)>> {
        let directory = self.directory.display();
        let entries = match std::fs::read_dir(&self.directory) {
            Ok(entries) => entries,
            Err(error) => {
                problems
                    .push(format!("cannot read the directory {directory}: {error}; still serving the last good plans"));
                return None;
            }
        };
        let mut files = Vec::new();
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(error) => {
                    problems.push(format!("listing {directory} broke off: {error}; still serving the last good plans"));
                    return None;
                }
            };
            let path = entry.path();
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            match std::fs::metadata(&path) {
                Ok(metadata) if metadata.is_file() => files.push((path, metadata)),
                Ok(_) => {}
                // Unreadable metadata: treat the listing as partial so a good version is kept.
                Err(error) => {
                    problems.push(format!(
                        "cannot read the metadata of {}: {error}; still serving the last good plans",
                        path.display()
                    ));
                    return None;
                }
            }
        }
        files.sort_by(|a, b| a.0.cmp(&b.0));
        Some(files)
    }

    fn skipped(&self, path: &Path, reason: &str) -> String {
        match self.good.get(path) {
            Some(good) => format!(
                "skipping {}: {reason}; still serving its last good version ({})",
                path.display(),
                good.item.describe(&good.scope)
            ),
            None => format!("skipping {}: {reason}", path.display()),
        }
    }

    fn read(&self, path: &Path, listed: &Metadata) -> Result<((String, String), Item), Skip> {
        let (kind, id) = FileKind::of(path);
        if kind == FileKind::Record {
            let bytes = read_file(path, listed, RECORD_CAP, "release record")?;
            let text = String::from_utf8(bytes).map_err(|_| Skip::Content("a release record is UTF-8 text".into()))?;
            let record = ReleaseRecord::parse(&text).map_err(|error| Skip::Content(error.to_string()))?;
            if record.id != id {
                return Err(Skip::Content(format!("the record names release {}, not {id}", record.id)));
            }
            return Ok(((record.app.clone(), record.env.clone()), Item::Record(Arc::new(record))));
        }
        let bytes = read_file(path, listed, self.max_bytes, "envelope")?;
        let (scope, plan) = self.envelope(path, bytes)?;
        Ok((scope, Item::Envelope(kind, id, plan)))
    }

    fn envelope(&self, path: &Path, bytes: Vec<u8>) -> Result<((String, String), ServedPlan), Skip> {
        let envelope = parse_envelope(&bytes, self.max_bytes).map_err(|error| Skip::Content(error.to_string()))?;
        let header = &envelope.header;
        if let Some(keyring) = &self.keyring {
            let context = VerifyContext {
                keyring,
                app: &header.app,
                env: &header.env,
                floor: None,
                now: 0,
                check_time: false,
                policy: VerifyPolicy { max_envelope_bytes: self.max_bytes, ..VerifyPolicy::default() },
            };
            verify_envelope(&bytes, &context).map_err(|error| Skip::Content(error.to_string()))?;
        }
        let scope = (header.app.clone(), header.env.clone());
        let version = header.plan_version;
        Ok((scope, ServedPlan::new(bytes, version, path.to_owned())))
    }

    /// The newest last good envelope per scope (files in name order, so ties resolve the same
    /// way at every scan), and each good release record with the envelopes it gates.
    fn catalog(&self, problems: &mut Vec<String>) -> Catalog {
        let mut catalog = Catalog::default();
        let mut paths: Vec<&PathBuf> = self.good.keys().collect();
        paths.sort();
        // (kind, release id) -> (scope, envelope) of the envelopes release records gate.
        type Gated<'a> = HashMap<(FileKind, &'a str), (&'a (String, String), &'a ServedPlan)>;
        let mut gated: Gated = HashMap::new();
        for path in &paths {
            let good = &self.good[*path];
            match &good.item {
                Item::Envelope(FileKind::Envelope, _, plan) => {
                    insert_newest(&mut catalog, good.scope.clone(), plan.clone(), problems);
                }
                Item::Envelope(kind, id, plan) => {
                    gated.insert((*kind, id.as_str()), (&good.scope, plan));
                }
                Item::Record(_) => {}
            }
        }
        for path in paths {
            let good = &self.good[path];
            let Item::Record(record) = &good.item else { continue };
            let mut gate = |kind: FileKind, version: u64| {
                let (scope, plan) = gated.get(&(kind, record.id.as_str()))?;
                if **scope != good.scope || plan.version != version {
                    problems.push(format!(
                        "{} is {}/{} v{}, but release {} expects {}/{} v{version}; not served",
                        plan.file.display(),
                        scope.0,
                        scope.1,
                        plan.version,
                        record.id,
                        good.scope.0,
                        good.scope.1
                    ));
                    return None;
                }
                Some((*plan).clone())
            };
            let release = gate(FileKind::ReleaseEnvelope, record.to_version);
            let rollback = gate(FileKind::RollbackEnvelope, record.rollback_version);
            let served = ServedRelease { record: Arc::clone(record), release, rollback };
            catalog.releases.entry(good.scope.clone()).or_default().push(served);
        }
        catalog
    }
}

/// Reads a regular file of at most `cap` bytes (checked from its metadata before reading and
/// enforced while reading).
fn read_file(path: &Path, listed: &Metadata, cap: usize, what: &str) -> Result<Vec<u8>, Skip> {
    let too_large =
        |length: u64| Skip::Content(format!("{length} bytes is over the {what} cap of {cap} bytes; not read"));
    if listed.len() > cap as u64 {
        return Err(too_large(listed.len()));
    }
    let file = open(path).map_err(|error| Skip::Io(format!("cannot open: {error}")))?;
    let metadata = file.metadata().map_err(|error| Skip::Io(format!("cannot read its metadata: {error}")))?;
    if !metadata.is_file() {
        return Err(Skip::Content("not a regular file".to_owned()));
    }
    if metadata.len() > cap as u64 {
        return Err(too_large(metadata.len()));
    }
    // The length is at most `cap` (a usize), so the conversion cannot fail.
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    file.take(cap as u64 + 1).read_to_end(&mut bytes).map_err(|error| Skip::Io(format!("cannot read: {error}")))?;
    if bytes.len() > cap {
        return Err(Skip::Content(format!("grew past the {what} cap of {cap} bytes while being read")));
    }
    Ok(bytes)
}

#[cfg(unix)]
fn open(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path)
}

#[cfg(not(unix))]
fn open(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().read(true).open(path)
}

fn insert_newest(catalog: &mut Catalog, scope: (String, String), plan: ServedPlan, problems: &mut Vec<String>) {
    match catalog.plans.get(&scope) {
        Some(existing) if existing.version > plan.version => {}
        Some(existing) if existing.version == plan.version && existing.bytes != plan.bytes => {
            // Devices would refuse the second one as equivocation; keep serving the first.
            problems.push(format!(
                "{} and {} both claim {}/{} version {} with different bytes; serving {}",
                existing.file.display(),
                plan.file.display(),
                scope.0,
                scope.1,
                plan.version,
                existing.file.display()
            ));
        }
        _ => {
            catalog.plans.insert(scope, plan);
        }
    }
}
