//! How `trackgate release` prints a record: the stage table (who, when, how long), the check's
//! findings and the diff.

use trackgate_core::civil::civil_from_days;
use trackgate_release::check::Severity;
use trackgate_release::rollout::percent;
use trackgate_release::ReleaseRecord;

use crate::format;
use crate::Failure;

/// `2027-01-15 08:00` (UTC).
pub fn time(unix_seconds: u64) -> String {
    let days = (unix_seconds / 86_400) as i64;
    let (year, month, day) = civil_from_days(days);
    let seconds = unix_seconds % 86_400;
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}", seconds / 3600, seconds % 3600 / 60)
}

/// `0s`, `45m`, `2h 30m`, `1d 4h`.
pub fn duration(seconds: u64) -> String {
    let (days, hours, minutes) = (seconds / 86_400, seconds % 86_400 / 3600, seconds % 3600 / 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{seconds}s"),
        (0, 0, _) => format!("{minutes}m"),
        (0, _, 0) => format!("{hours}h"),
        (0, _, _) => format!("{hours}h {minutes}m"),
        (_, 0, _) => format!("{days}d"),
        _ => format!("{days}d {hours}h"),
    }
}

/// The stage table as text, durations of running stages measured to `now`.
pub fn status_text(record: &ReleaseRecord, now: u64) -> String {
    let mut text = format!(
        "release {}: {}/{} version {} over {} (rollback would serve {}): {}\n",
        record.id,
        record.app,
        record.env,
        record.to_version,
        record.from_version,
        record.rollback_version,
        record.summary()
    );
    let rows: Vec<[String; 7]> = record
        .stages
        .iter()
        .map(|entry| {
            [
                entry.stage.label().to_owned(),
                entry.share_basis_points.map(percent).unwrap_or_default(),
                entry.by.clone(),
                time(entry.started_at),
                entry.ended_at.map_or_else(|| "running".to_owned(), time),
                duration(entry.duration(now)),
                entry.result.clone(),
            ]
        })
        .collect();
    let header = ["stage", "share", "by", "started (UTC)", "ended", "took", "result"].map(str::to_owned);
    let mut widths = [0usize; 6];
    for row in std::iter::once(&header).chain(&rows) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (width, cell) in widths.iter().zip(row) {
            line.push_str(&format!("{cell:<width$}  "));
        }
        line.push_str(&row[6]);
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

/// Prints the stage table.
pub fn print_status(record: &ReleaseRecord, now: u64) -> Result<(), Failure> {
    out!("{}", status_text(record, now));
    Ok(())
}

/// Prints the check's findings, blocking ones first.
pub fn print_findings(record: &ReleaseRecord) -> Result<(), Failure> {
    let mut findings: Vec<_> = record.findings.iter().collect();
    findings.sort_by_key(|finding| finding.severity);
    let blocking = findings.iter().filter(|finding| finding.severity == Severity::Block).count();
    outln!("check of release {}: {blocking} blocking, {} warning(s)", record.id, findings.len() - blocking);
    for finding in findings {
        outln!("  {finding}");
    }
    Ok(())
}

/// Prints the diff: plan-wide changes, then one line per changed event with its projection.
pub fn print_diff(record: &ReleaseRecord) -> Result<(), Failure> {
    let Some(diff) = &record.diff else { return Ok(()) };
    outln!(
        "diff of release {} ({}/{} {} → {}), projected from {} day(s) of filter stats and drop reports:",
        record.id,
        record.app,
        record.env,
        record.from_version,
        record.to_version,
        diff.days
    );
    for change in &diff.plan_changes {
        outln!("  plan: {change}");
    }
    let currency = &diff.currency;
    for event in &diff.events {
        outln!(
            "  {} ({}): {}; kept/day {} → {}, bytes/day {} → {}, cost/day {} → {} {currency}",
            event.name,
            event.previous_priority.as_deref().unwrap_or("new"),
            event.changes.join(", "),
            format::count(event.before.events_per_day.round() as u64),
            format::count(event.after.events_per_day.round() as u64),
            format::bytes(event.before.bytes_per_day.round() as u64),
            format::bytes(event.after.bytes_per_day.round() as u64),
            format::money(event.before.cost_per_day),
            format::money(event.after.cost_per_day),
        );
    }
    outln!(
        "  total kept/day {} → {} ({}), bytes/day {} → {} ({}), cost/day {} → {} {currency}",
        format::count(diff.total_before.events_per_day.round() as u64),
        format::count(diff.total_after.events_per_day.round() as u64),
        format::change(diff.events_change()),
        format::bytes(diff.total_before.bytes_per_day.round() as u64),
        format::bytes(diff.total_after.bytes_per_day.round() as u64),
        format::change(diff.bytes_change()),
        format::money(diff.total_before.cost_per_day),
        format::money(diff.total_after.cost_per_day),
    );
    Ok(())
}
