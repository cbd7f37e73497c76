//! The terminal view of a [`GovernanceReport`]: aligned tables, one section per metric.
//! Pure text generation.

use std::fmt::Write as _;

use crate::format::{bytes, change, count, event_name, money, percent};
use trackgate_governance::report::GovernanceReport;

/// Rows of the "top events" table.
const TOP_EVENTS: usize = 10;

/// Writes rows as columns padded to their widest cell; the first column is left-aligned.
pub(crate) fn table(output: &mut String, header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|cell| cell.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut line = |cells: &[String]| {
        let mut text = String::from(" ");
        for (index, (cell, width)) in cells.iter().zip(&widths).enumerate() {
            let padding = " ".repeat(width - cell.chars().count());
            if index == 0 {
                let _ = write!(text, " {cell}{padding}");
            } else {
                let _ = write!(text, "  {padding}{cell}");
            }
        }
        output.push_str(text.trim_end());
        output.push('\n');
    };
    line(&header.iter().map(|cell| (*cell).to_owned()).collect::<Vec<_>>());
    for row in rows {
        line(row);
    }
}

/// The whole report as text.
pub fn render(report: &GovernanceReport) -> String {
    let mut output = String::new();
    let currency = &report.currency;
    let totals = &report.totals;
    let _ = writeln!(
        output,
        "trackgate report: {} window(s), prices in {currency}\n\nVolume and cost",
        report.windows.len()
    );
    let mut rows: Vec<Vec<String>> = report
        .windows
        .iter()
        .map(|window| {
            vec![
                window.label.clone(),
                count(window.offered),
                count(window.kept),
                count(window.dropped),
                bytes(window.kept_bytes),
                money(window.cost_kept),
                window.events_per_active_hour.map_or_else(|| "-".to_owned(), |density| format!("{density:.1}")),
            ]
        })
        .collect();
    rows.push(vec![
        "total".into(),
        count(totals.offered),
        count(totals.kept),
        count(totals.dropped),
        bytes(totals.kept_bytes),
        money(totals.cost_kept),
        String::new(),
    ]);
    table(&mut output, &["window", "offered", "kept", "dropped", "kept bytes", "kept cost", "events/active h"], &rows);
    let _ = writeln!(
        output,
        "  Without the gate: {} {currency}; saved {} {currency}. Malformed lines: {}.",
        money(totals.cost_offered),
        money(totals.saving),
        count(totals.malformed_lines)
    );
    let trend = &report.trend;
    match trend.change_share {
        Some(share) => {
            let _ = writeln!(
                output,
                "  Trend: offered volume {} {} from {} to {}.",
                trend.direction,
                change(share),
                trend.first_window.as_deref().unwrap_or(""),
                trend.last_window.as_deref().unwrap_or("")
            );
        }
        None => output.push_str("  Trend: needs two or more windows.\n"),
    }
    let useless = &report.useless;
    let _ = writeln!(
        output,
        "\nUseless events: {} of offered ({} events, {} {currency}): unused {}, retired {}, unregistered {}, invalid {}",
        percent(useless.share),
        count(useless.total),
        money(useless.cost),
        useless.unused_events.map_or_else(|| "unknown (no --usage)".to_owned(), count),
        count(useless.retired_arriving),
        count(useless.unregistered_arriving),
        count(useless.invalid_arriving)
    );
    if let Some(density) = &report.density {
        let _ = writeln!(
            output,
            "Event density: {:.1} -> {:.1} events per active hour ({}; volume {}, active time {}){}",
            density.first,
            density.last,
            change(density.change_share),
            change(density.offered_change_share),
            change(density.active_time_change_share),
            if density.alert { "  ALERT: volume grows faster than usage" } else { "" }
        );
    }
    render_savings(&mut output, report);
    render_events(&mut output, report);
    render_candidates(&mut output, report);
    render_anomalies(&mut output, report);
    for note in &report.notes {
        let _ = writeln!(output, "\nNote: {note}");
    }
    output
}

fn render_savings(output: &mut String, report: &GovernanceReport) {
    output.push_str("\nSavings by rule\n");
    let rows: Vec<Vec<String>> = report
        .savings
        .iter()
        .map(|saving| {
            vec![
                saving.reason.to_string(),
                count(saving.events),
                bytes(saving.bytes),
                money(saving.money),
                percent(saving.share_of_offered),
            ]
        })
        .collect();
    table(output, &["rule", "events dropped", "bytes", &format!("saved {}", report.currency), "of offered"], &rows);
}

fn render_events(output: &mut String, report: &GovernanceReport) {
    output.push_str("\nTop events by kept cost\n");
    let rows: Vec<Vec<String>> = report
        .events
        .iter()
        .take(TOP_EVENTS)
        .map(|event| {
            vec![
                event_name(&event.name).to_owned(),
                event.owner.clone(),
                event.priority.map_or_else(|| "-".to_owned(), |priority| priority.to_string()),
                event.status.as_str().to_owned(),
                count(event.kept),
                money(event.cost_kept),
                percent(event.cost_share),
                event.uses.map_or_else(|| "-".to_owned(), |uses| count(uses.total())),
            ]
        })
        .collect();
    table(output, &["event", "owner", "priority", "status", "kept", "kept cost", "share", "uses"], &rows);
    if !report.sampled_estimates.is_empty() {
        output.push_str("\nSampled events: weighted estimates of true counts\n");
        let rows: Vec<Vec<String>> = report
            .sampled_estimates
            .iter()
            .map(|estimate| {
                vec![estimate.name.clone(), count(estimate.kept), count(estimate.estimated_true_count.round() as u64)]
            })
            .collect();
        table(output, &["event", "kept", "estimated true count"], &rows);
    }
}

fn render_candidates(output: &mut String, report: &GovernanceReport) {
    output.push_str("\nCandidates by owner (confirm each before it goes into the plan)\n");
    if report.candidates_by_owner.is_empty() {
        output.push_str("  none\n");
    }
    for (owner, candidates) in &report.candidates_by_owner {
        let _ = writeln!(output, "  {owner}");
        for candidate in candidates {
            let _ = writeln!(
                output,
                "    {} {}: saves {} events, {}, {} {}\n      why:  {}\n      what: {}\n      how:  {}\n      when: {}",
                candidate.kind.as_str(),
                candidate.event,
                count(candidate.saving.events),
                bytes(candidate.saving.bytes),
                money(candidate.saving.money),
                report.currency,
                candidate.why,
                candidate.what,
                candidate.how,
                candidate.when
            );
        }
    }
}

fn render_anomalies(output: &mut String, report: &GovernanceReport) {
    output.push_str("\nAbnormal data\n");
    let anomalies = &report.anomalies;
    if anomalies.spikes.is_empty() && anomalies.oversized.is_empty() {
        output.push_str("  none\n");
    }
    for spike in &anomalies.spikes {
        let _ = writeln!(
            output,
            "  spike: {} in {}: {} offered, {:.1}x its baseline of {:.0}",
            spike.event,
            spike.window,
            count(spike.offered),
            spike.factor,
            spike.baseline
        );
    }
    for oversized in &anomalies.oversized {
        let _ = writeln!(
            output,
            "  oversized: {}: {} over its size cap ({} of offered, {} dropped; average event {:.0} B)",
            oversized.event,
            count(oversized.oversize_events),
            percent(oversized.share),
            bytes(oversized.oversize_bytes),
            oversized.average_bytes
        );
    }
}
