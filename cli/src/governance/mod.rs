//! The governance loop's commands: `propose`, `review` and `plan apply`.
//!
//! Argument parsing and I/O only: files are read through the capped reader, proposals and next
//! plans are written crash-safely (`files::write_atomic`), and the clock is read here (or taken
//! from `--now`, for tests). Every rule is `trackgate-governance`'s; its typed errors are mapped
//! to messages once, here, naming the file. Docs: `docs/governance.md`.

pub mod apply;
pub mod propose;
pub mod review;
pub mod worklist;

use std::path::Path;

use trackgate_governance::{DocumentError, Proposal, Timestamp};

use crate::files::{read_capped_text, DOCUMENT_CAP};
use crate::Failure;

/// `--now`, or the system clock.
pub fn now(given: Option<&str>) -> Result<Timestamp, Failure> {
    match given {
        Some(text) => Timestamp::parse(text).ok_or_else(|| {
            Failure::error(format!("--now: `{text}` is not an RFC 3339 time (e.g. 2026-11-05T09:30:00Z)"))
        }),
        None => {
            let since_epoch = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_err(|error| Failure::error(format!("the system clock is before 1970: {error}")))?;
            Ok(Timestamp::from_unix_ms(i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)))
        }
    }
}

/// A document problem as `FILE:LINE:COLUMN: PATH: message` (or `FILE: PATH: message`).
pub fn document_failure(path: &Path, error: &DocumentError) -> Failure {
    if error.line > 0 {
        Failure::refused(format!("{}:{error}", path.display()))
    } else {
        Failure::refused(format!("{}: {}: {}", path.display(), error.path, error.message))
    }
}

/// Reads and parses a governance document with `parse`.
pub fn read_document<T>(
    path: &Path,
    what: &str,
    parse: impl Fn(&str) -> Result<T, DocumentError>,
) -> Result<T, Failure> {
    let text = read_capped_text(path, DOCUMENT_CAP, what)?;
    parse(&text).map_err(|error| document_failure(path, &error))
}

/// Reads a proposal file.
pub fn read_proposal(path: &Path) -> Result<Proposal, Failure> {
    read_document(path, "proposal", Proposal::parse)
}
