//! What the release commands read besides the record: `usage.json`, filter stats and drop
//! reports (single documents, arrays, or NDJSON such as the `serve --collect` file), and the
//! other records of a plan directory.
//!
//! Drop reports come from devices, so every line is hostile: a line longer than
//! [`MAX_LINE_BYTES`] or one that names a `plan_version` but is not a valid report is skipped
//! and counted, never trusted in part; lines without `plan_version` (kept events) are ignored.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use trackgate_core::DropReport;
use trackgate_etl::{FilterStats, STATS_FORMAT};
use trackgate_release::{Baseline, ReleaseRecord, ReleaseState};
use trackgate_usage::analysis::UsageFile;

use super::{read_record, RECORD_SUFFIX};
use crate::{files, Failure};

/// Longest line of a report file read (the collect endpoint's default body cap).
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Files up to this size are first tried as one JSON document.
const WHOLE_DOCUMENT_CAP: u64 = 64 << 20;

/// Reports read, and lines skipped as unreadable.
#[derive(Default)]
pub struct Reports {
    /// The drop reports.
    pub reports: Vec<DropReport>,
    /// Lines that named a `plan_version` but were not valid reports, or were too long.
    pub skipped: u64,
}

/// Reads `usage.json`.
pub fn read_usage(path: &Path) -> Result<UsageFile, Failure> {
    let bytes = files::read_capped(path, 256 << 20, "usage file")?;
    serde_json::from_slice(&bytes)
        .map_err(|error| Failure::refused(format!("{}:{}:{}: {error}", path.display(), error.line(), error.column())))
}

/// The baseline of filter stats files and drop report files, and the reports themselves.
pub fn read_baseline(paths: &[PathBuf]) -> Result<(Baseline, Reports), Failure> {
    let mut baseline = Baseline::new();
    let mut reports = Reports::default();
    for path in paths {
        if let Some(stats) = read_whole(path)? {
            match stats {
                Whole::Stats(stats) => baseline.add_filter_stats(&stats),
                Whole::Reports(found) => reports.reports.extend(found),
            }
            continue;
        }
        read_lines(path, &mut reports)?;
    }
    for report in &reports.reports {
        baseline.add_drop_report(report);
    }
    Ok((baseline, reports))
}

/// The drop reports of report files (whole documents or NDJSON).
pub fn read_reports(paths: &[PathBuf]) -> Result<Reports, Failure> {
    let mut reports = Reports::default();
    for path in paths {
        match read_whole(path)? {
            Some(Whole::Reports(found)) => reports.reports.extend(found),
            Some(Whole::Stats(_)) => {
                return Err(Failure::error(format!("{}: filter stats, not drop reports", path.display())))
            }
            None => read_lines(path, &mut reports)?,
        }
    }
    Ok(reports)
}

enum Whole {
    Stats(Box<FilterStats>),
    Reports(Vec<DropReport>),
}

/// One JSON document (filter stats, one report or an array of reports), or `None` when the
/// file is larger than [`WHOLE_DOCUMENT_CAP`] or not one document (NDJSON).
fn read_whole(path: &Path) -> Result<Option<Whole>, Failure> {
    let metadata =
        std::fs::metadata(path).map_err(|error| Failure::error(format!("cannot read {}: {error}", path.display())))?;
    if metadata.len() > WHOLE_DOCUMENT_CAP {
        return Ok(None);
    }
    let bytes = files::read_capped(path, WHOLE_DOCUMENT_CAP as usize, "input")?;
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes) else { return Ok(None) };
    let place = |error: serde_json::Error| Failure::refused(format!("{}: {error}", path.display()));
    if value.get("format").and_then(|format| format.as_str()) == Some(STATS_FORMAT) {
        return serde_json::from_value(value).map(|stats| Some(Whole::Stats(Box::new(stats)))).map_err(place);
    }
    if value.is_array() {
        return serde_json::from_value(value).map(|reports| Some(Whole::Reports(reports))).map_err(place);
    }
    if value.get("plan_version").is_some() {
        return serde_json::from_value(value).map(|report| Some(Whole::Reports(vec![report]))).map_err(place);
    }
    Ok(None)
}

/// Reads NDJSON line by line, keeping the lines that are drop reports.
fn read_lines(path: &Path, reports: &mut Reports) -> Result<(), Failure> {
    let unreadable = |error: std::io::Error| Failure::error(format!("cannot read {}: {error}", path.display()));
    let mut reader = BufReader::new(File::open(path).map_err(unreadable)?);
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = reader.by_ref().take(MAX_LINE_BYTES as u64 + 1).read_until(b'\n', &mut line).map_err(unreadable)?;
        if read == 0 {
            return Ok(());
        }
        if line.len() > MAX_LINE_BYTES && !line.ends_with(b"\n") {
            // Too long: skip to the end of the line without holding it.
            reports.skipped += 1;
            loop {
                let buffer = reader.fill_buf().map_err(unreadable)?;
                if buffer.is_empty() {
                    return Ok(());
                }
                match memchr::memchr(b'\n', buffer) {
                    Some(end) => {
                        reader.consume(end + 1);
                        break;
                    }
                    None => {
                        let length = buffer.len();
                        reader.consume(length);
                    }
                }
            }
            continue;
        }
        if memchr::memmem::find(&line, b"\"plan_version\"").is_none() {
            continue;
        }
        match serde_json::from_slice::<DropReport>(&line) {
            Ok(report) => reports.reports.push(report),
            Err(_) => reports.skipped += 1,
        }
    }
}

/// A record of `app/env` in `directory` that is neither confirmed nor rolled back.
pub fn active_release(directory: &Path, app: &str, env: &str) -> Result<Option<PathBuf>, Failure> {
    let entries = std::fs::read_dir(directory)
        .map_err(|error| Failure::error(format!("cannot read {}: {error}", directory.display())))?;
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !name.ends_with(RECORD_SUFFIX) {
            continue;
        }
        let record: ReleaseRecord = read_record(&path)?;
        let running = matches!(record.state, ReleaseState::Preparing | ReleaseState::RollingOut { .. });
        if running && record.app == app && record.env == env {
            return Ok(Some(path));
        }
    }
    Ok(None)
}
