//! Reading input files with a size cap, in one place.
//!
//! Every command that reads a plan, an envelope or a key file goes through [`read_capped`]: the
//! file's size is checked from its metadata before anything is read, and the read itself is
//! bounded with `Read::take`, so a huge (or growing, or sparse) file is refused at once, naming
//! the file and the cap, without being read whole.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::Failure;

/// The cap for envelope files: the delivery crate's default, what devices accept.
pub const ENVELOPE_CAP: usize = trackgate_delivery::envelope::DEFAULT_MAX_ENVELOPE_BYTES;

/// The cap for plan JSON files (`docs/plan.md`, size limits).
pub const PLAN_CAP: usize = trackgate_core::plan::MAX_PLAN_BYTES;

/// The cap for key files: a header line and 64 hex digits, with room for white space.
pub const KEY_CAP: usize = 4096;

/// Reads at most `cap` bytes of `path`, refusing (exit 1) a file larger than that; `what`
/// names the kind of file in the message (`envelope`, `plan`, `key file`). Unreadable files
/// are exit 2.
pub fn read_capped(path: &Path, cap: usize, what: &str) -> Result<Vec<u8>, Failure> {
    let unreadable = |error: std::io::Error| Failure::error(format!("cannot read {}: {error}", path.display()));
    let file = File::open(path).map_err(unreadable)?;
    let size = file.metadata().map_err(unreadable)?.len();
    let too_large = |size: String| {
        Failure::refused(format!(
            "{}: {size} bytes, over the {cap}-byte cap for a{} {what}; not read",
            path.display(),
            if what.starts_with(['a', 'e', 'i', 'o', 'u']) { "n" } else { "" }
        ))
    };
    if size > cap as u64 {
        return Err(too_large(size.to_string()));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    // One byte more than the cap tells a file that grew after the size check.
    file.take(cap as u64 + 1).read_to_end(&mut bytes).map_err(unreadable)?;
    if bytes.len() > cap {
        return Err(too_large("more than".to_owned() + &format!(" {cap}")));
    }
    Ok(bytes)
}

/// Whether the file starts with `prefix` (reads only that many bytes).
pub fn starts_with(path: &Path, prefix: &[u8]) -> Result<bool, Failure> {
    let mut file =
        File::open(path).map_err(|error| Failure::error(format!("cannot read {}: {error}", path.display())))?;
    let mut head = Vec::with_capacity(prefix.len());
    (&mut file)
        .take(prefix.len() as u64)
        .read_to_end(&mut head)
        .map_err(|error| Failure::error(format!("cannot read {}: {error}", path.display())))?;
    Ok(head == prefix)
}

/// The cap for governance documents (reports, proposals, policies, registrations): as large as
/// a plan, since each holds at most a few lines per event.
pub const DOCUMENT_CAP: usize = trackgate_core::plan::MAX_PLAN_BYTES;

/// Reads a capped UTF-8 text file.
pub fn read_capped_text(path: &Path, cap: usize, what: &str) -> Result<String, Failure> {
    String::from_utf8(read_capped(path, cap, what)?).map_err(|error| {
        Failure::refused(format!("{}: not UTF-8 text (byte {})", path.display(), error.utf8_error().valid_up_to()))
    })
}

/// Writes an output file the user named (`--out`, `--html`, `--stats`, `-o`): crash-safely with
/// [`write_atomic`] when `path` is or will be a regular file, directly when it is something
/// else that exists (a pipe, `/dev/stdout`), which cannot be renamed over.
pub fn write_output(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    match std::fs::metadata(path) {
        Ok(metadata) if !metadata.is_file() && !metadata.is_dir() => std::fs::write(path, bytes)
            .map_err(|error| Failure::error(format!("cannot write {}: {error}", path.display()))),
        _ => write_atomic(path, bytes),
    }
}

/// Replaces `path` with `bytes` crash-safely: a temporary file in the same directory is
/// written and synced, then renamed over `path`, and the directory is synced, so a crash leaves
/// either the old file or the new one, never a mix. The temporary file is removed on failure.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    use std::io::Write;
    let failure = |error: std::io::Error| Failure::error(format!("cannot write {}: {error}", path.display()));
    let name =
        path.file_name().ok_or_else(|| Failure::error(format!("cannot write {}: not a file name", path.display())))?;
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let temporary = directory.join(format!(".{}.{}.tmp", name.to_string_lossy(), std::process::id()));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)?;
        #[cfg(unix)]
        File::open(&directory)?.sync_all()?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result.map_err(failure)
}
