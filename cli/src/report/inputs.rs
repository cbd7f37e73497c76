//! The report's input files: counts (filter stats or SDK drop reports), prices, usage, rules.
//!
//! Owns reading the file formats of `docs/report.md` (the types are `trackgate-governance`'s). Every file is read whole and
//! parsed with serde; a problem is reported as `FILE:LINE:COLUMN: $.json.path: message`, never a
//! panic, and data after a file's JSON is refused the same way. A counts file may hold several
//! JSON documents (the NDJSON `serve --collect` writes: one drop report per line); every one
//! counts. Counts from either source become one model, [`WindowCounts`] per window label: files
//! with the same label (a day's filter stats and its SDK reports, or many devices' reports)
//! are added together. Pure reading: no threads.

use std::collections::BTreeMap;
use std::path::Path;

use serde::de::DeserializeOwned;
use trackgate_core::{DropReason, DropReport, ReasonCounts};
use trackgate_etl::{FilterStats, STATS_FORMAT};
pub use trackgate_governance::report::{Counts, NameCounts, WindowCounts};

use crate::Failure;

/// Where a JSON document starts in its file (1-based), so its problems name the file's lines.
#[derive(Debug, Clone, Copy)]
pub struct Place {
    line: usize,
    column: usize,
}

impl Place {
    /// The start of a file.
    pub const START: Place = Place { line: 1, column: 1 };

    /// The file position of a position inside the document that starts here.
    fn of(self, line: usize, column: usize) -> (usize, usize) {
        if line <= 1 {
            (self.line, self.column + column.saturating_sub(1))
        } else {
            (self.line + line - 1, column)
        }
    }
}

/// A serde_json error as `FILE:LINE:COLUMN: PATH: message`.
fn json_failure(path: &Path, at: Place, json_path: &str, error: &serde_json::Error) -> Failure {
    let message = error.to_string();
    let message = message.rfind(" at line ").map_or(message.as_str(), |index| &message[..index]);
    let (line, column) = at.of(error.line(), error.column());
    Failure::refused(format!("{}:{line}:{column}: {json_path}: {message}", path.display()))
}

/// Parses JSON text, naming the file, line, column and JSON path of a problem; anything but
/// white space after the document is refused.
pub fn parse_json<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, Failure> {
    parse_json_at(path, text, Place::START)
}

/// [`parse_json`] of a document that starts at `at` in its file.
fn parse_json_at<T: DeserializeOwned>(path: &Path, text: &str, at: Place) -> Result<T, Failure> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let json_path = error.path().to_string();
        let json_path =
            if json_path == "." { "$".to_owned() } else { format!("$.{}", json_path.trim_start_matches('.')) };
        json_failure(path, at, &json_path, &error.into_inner())
    })?;
    deserializer.end().map_err(|error| json_failure(path, at, "$", &error))?;
    Ok(value)
}

/// The JSON documents of a counts file, each with where it starts: one (filter stats, a drop
/// report) or many separated by white space (NDJSON). Anything that is not JSON, between or
/// after them, is refused with its place.
fn documents<'text>(path: &Path, text: &'text str) -> Result<Vec<(&'text str, Place)>, Failure> {
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<serde::de::IgnoredAny>();
    let mut found = Vec::new();
    let mut end = 0;
    let mut place = Place::START;
    loop {
        match stream.next() {
            None => break,
            Some(Ok(_)) => {
                let start = end + (text[end..].len() - text[end..].trim_start().len());
                place = advance(place, &text[end..start]);
                end = stream.byte_offset();
                found.push((&text[start..end], place));
                place = advance(place, &text[start..end]);
            }
            Some(Err(error)) => return Err(json_failure(path, Place::START, "$", &error)),
        }
    }
    if found.is_empty() {
        return Err(Failure::refused(format!("{}: no JSON in the file", path.display())));
    }
    Ok(found)
}

/// The place after `text` (columns in bytes, as serde_json counts them).
fn advance(place: Place, text: &str) -> Place {
    match text.rfind('\n') {
        Some(last) => {
            Place { line: place.line + memchr::memchr_iter(b'\n', text.as_bytes()).count(), column: text.len() - last }
        }
        None => Place { line: place.line, column: place.column + text.len() },
    }
}

/// Reads a whole file, naming it when it cannot be read.
pub fn read_text(path: &Path) -> Result<String, Failure> {
    std::fs::read_to_string(path).map_err(|error| Failure::error(format!("cannot read {}: {error}", path.display())))
}

/// Reads a JSON file of type `T`.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T, Failure> {
    parse_json(path, &read_text(path)?)
}

/// Reads counts files and groups them into windows, sorted by label.
pub fn read_counts(paths: &[impl AsRef<Path>]) -> Result<Vec<WindowCounts>, Failure> {
    let mut windows: BTreeMap<String, WindowCounts> = BTreeMap::new();
    for path in paths {
        let path = path.as_ref();
        let text = read_text(path)?;
        let file = path.display().to_string();
        for (document, at) in documents(path, &text)? {
            let window = read_counts_document(path, document, at)?;
            let entry = windows
                .entry(window.label.clone())
                .or_insert_with(|| WindowCounts { label: window.label.clone(), ..WindowCounts::default() });
            if !entry.files.contains(&file) {
                entry.files.push(file.clone());
            }
            merge_window(entry, window);
        }
    }
    Ok(windows.into_values().collect())
}

/// One JSON document of a counts file: filter stats or an SDK drop report.
fn read_counts_document(path: &Path, text: &str, at: Place) -> Result<WindowCounts, Failure> {
    let probe: serde_json::Value = parse_json_at(path, text, at)?;
    let place = format!("{}:{}:{}", path.display(), at.line, at.column);
    match probe.get("format").and_then(serde_json::Value::as_str) {
        Some(STATS_FORMAT) => Ok(from_filter_stats(path, parse_json_at(path, text, at)?)),
        Some(other) => Err(Failure::refused(format!(
            "{place}: $.format: unknown counts format `{other}`; expected `{STATS_FORMAT}` or an SDK drop report"
        ))),
        None if probe.get("window_start_unix_ms").is_some() => Ok(from_drop_report(parse_json_at(path, text, at)?)),
        None => Err(Failure::refused(format!(
            "{place}: neither filter stats (`format`: `{STATS_FORMAT}`) nor an SDK drop report (`window_start_unix_ms`)"
        ))),
    }
}

/// Adds the counts of `from` into `into` (same window).
pub fn merge_window(into: &mut WindowCounts, from: WindowCounts) {
    for (name, counts) in from.names {
        let entry = into.names.entry(name).or_default();
        entry.priority = entry.priority.or(counts.priority);
        entry.counts.add(&counts.counts);
    }
    into.unattributed.add(&from.unattributed);
    into.malformed_lines += from.malformed_lines;
}

fn from_filter_stats(path: &Path, stats: FilterStats) -> WindowCounts {
    // Without a --window label, the file name (e.g. stats-2026-11-01) stands for the window.
    let label = stats.window.clone().unwrap_or_else(|| {
        path.file_stem().map_or_else(|| path.display().to_string(), |stem| stem.to_string_lossy().into_owned())
    });
    let mut window = WindowCounts { label, malformed_lines: stats.malformed.count, ..WindowCounts::default() };
    for event in stats.events.iter().chain(stats.untracked.as_ref()) {
        let counts = Counts {
            offered: event.offered,
            offered_bytes: event.offered_bytes,
            kept: event.kept,
            kept_bytes: event.kept_bytes,
            kept_weighted: event.kept_weighted,
            dropped: event.dropped,
            dropped_bytes: event.dropped_bytes,
        };
        if event.name.is_empty() && stats.untracked.as_ref() == Some(event) {
            window.unattributed.add(&counts);
        } else {
            window.names.insert(event.name.clone(), NameCounts { priority: event.priority, counts });
        }
    }
    window
}

/// SDK reports give dropped bytes as one total per event; they are shared out between reasons in
/// proportion to the counts (an estimate, said so in docs/report.md).
fn share_bytes(dropped: &ReasonCounts, dropped_bytes: u64) -> ReasonCounts {
    let total = dropped.total();
    let mut shared = ReasonCounts::default();
    if total == 0 {
        return shared;
    }
    let mut given = 0;
    let reasons: Vec<DropReason> = DropReason::ALL.into_iter().filter(|reason| dropped.get(*reason) > 0).collect();
    for (index, reason) in reasons.iter().enumerate() {
        let bytes = if index + 1 == reasons.len() {
            dropped_bytes - given
        } else {
            (u128::from(dropped_bytes) * u128::from(dropped.get(*reason)) / u128::from(total)) as u64
        };
        given += bytes;
        shared.add(*reason, bytes);
    }
    shared
}

/// One SDK drop report as the counts of its window (its UTC start day).
pub fn from_drop_report(report: DropReport) -> WindowCounts {
    let mut window = WindowCounts { label: utc_date(report.window_start_unix_ms), ..WindowCounts::default() };
    let mut attributed = Counts::default();
    for event in &report.events {
        let offered = event.kept + event.dropped.total();
        let counts = Counts {
            offered,
            offered_bytes: event.kept_bytes + event.dropped_bytes,
            kept: event.kept,
            kept_bytes: event.kept_bytes,
            kept_weighted: event.kept_weighted,
            dropped: event.dropped,
            dropped_bytes: share_bytes(&event.dropped, event.dropped_bytes),
        };
        attributed.add(&counts);
        window.names.insert(event.name.clone(), NameCounts { priority: event.priority, counts });
    }
    for name in &report.unregistered {
        // Share the name's bytes between kept and dropped occurrences (128-bit: no overflow).
        let occurrences = u128::from(name.kept + name.dropped);
        let dropped_share =
            (u128::from(name.bytes) * u128::from(name.dropped)).checked_div(occurrences).unwrap_or(0) as u64;
        let mut dropped = ReasonCounts::default();
        dropped.add(DropReason::Unregistered, name.dropped);
        let mut dropped_bytes = ReasonCounts::default();
        dropped_bytes.add(DropReason::Unregistered, dropped_share);
        let counts = Counts {
            offered: name.kept + name.dropped,
            offered_bytes: name.bytes,
            kept: name.kept,
            kept_bytes: name.bytes - dropped_share,
            kept_weighted: name.kept as f64,
            dropped,
            dropped_bytes,
        };
        attributed.add(&counts);
        window.names.entry(name.name.clone()).or_default().counts.add(&counts);
    }
    // What the totals hold beyond the named entries: invalid names and overflowing names.
    let mut rest = Counts {
        kept: report.kept.saturating_sub(attributed.kept),
        kept_bytes: report.kept_bytes.saturating_sub(attributed.kept_bytes),
        ..Counts::default()
    };
    for reason in DropReason::ALL {
        rest.dropped.add(reason, report.dropped.get(reason).saturating_sub(attributed.dropped.get(reason)));
    }
    let rest_dropped_bytes = report.dropped_bytes.saturating_sub(attributed.dropped_bytes.total());
    rest.dropped_bytes = share_bytes(&rest.dropped, rest_dropped_bytes);
    rest.offered = rest.kept + rest.dropped.total();
    rest.offered_bytes = rest.kept_bytes + rest_dropped_bytes;
    rest.kept_weighted = rest.kept as f64;
    window.unattributed = rest;
    window
}

/// `YYYY-MM-DD` (UTC) of a Unix time in milliseconds.
pub fn utc_date(unix_ms: u64) -> String {
    let (year, month, day) = trackgate_core::civil::civil_from_days((unix_ms / 86_400_000) as i64);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates_are_exact() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(1_793_491_200_000), "2026-11-01");
        assert_eq!(utc_date(1_793_491_199_999), "2026-10-31");
        assert_eq!(utc_date(951_782_400_000), "2000-02-29");
    }

    #[test]
    fn dropped_bytes_are_shared_by_count_and_add_up() {
        let mut dropped = ReasonCounts::default();
        dropped.add(DropReason::Retired, 1);
        dropped.add(DropReason::SampledOut, 2);
        let shared = share_bytes(&dropped, 100);
        assert_eq!((shared.retired, shared.sampled_out), (33, 67));
        assert_eq!(share_bytes(&ReasonCounts::default(), 100).total(), 0);
    }

    #[test]
    fn drop_report_remainders_become_unattributed() {
        let mut report = DropReport { kept: 5, kept_bytes: 50, dropped_bytes: 30, ..DropReport::default() };
        report.dropped.add(DropReason::InvalidName, 3);
        let window = from_drop_report(report);
        assert!(window.names.is_empty());
        assert_eq!(window.unattributed.offered, 8);
        assert_eq!(window.unattributed.dropped_bytes.invalid_name, 30);
        assert_eq!(window.label, "1970-01-01");
    }
}
