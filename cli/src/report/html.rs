//! The HTML view of a [`GovernanceReport`]: one self-contained page.
//!
//! Owns the page layout and its three charts, drawn as inline SVG (volume and cost over time,
//! top events by cost, savings by rule). Nothing is loaded from the network: no scripts, no
//! fonts, no images; styles are inline. Every text from the inputs is HTML-escaped. Pure text
//! generation.

use std::fmt::Write as _;

use super::metrics::{EventTotals, GovernanceReport};
use crate::format::{bytes, change, count, event_name, html, money, percent};

/// Bars in the "top events by cost" chart.
const TOP_EVENTS: usize = 10;

const STYLE: &str = "
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 24px auto; max-width: 1100px;
       color: #212529; padding: 0 16px; }
h1 { margin-bottom: 4px; } h2 { margin-top: 32px; border-bottom: 1px solid #dee2e6; padding-bottom: 4px; }
.meta { color: #6c757d; margin-top: 0; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
.card { border: 1px solid #dee2e6; border-radius: 8px; padding: 10px 14px; min-width: 150px; }
.card span { display: block; color: #6c757d; font-size: 13px; } .card strong { font-size: 22px; }
table { border-collapse: collapse; width: 100%; font-size: 14px; margin-top: 8px; }
th, td { border-bottom: 1px solid #e9ecef; padding: 4px 8px; text-align: right; vertical-align: top; }
th:first-child, td:first-child, td.text { text-align: left; }
.alert { color: #c92a2a; font-weight: 600; } .note { color: #6c757d; }
table.candidates th { text-align: left; } code { word-break: break-all; }
svg text { font-size: 12px; fill: #343a40; }
";

/// The whole page.
pub fn render(report: &GovernanceReport) -> String {
    let mut page = String::new();
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>trackgate governance report</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>Event governance report</h1>\n<p class=\"meta\">{}</p>\n",
        html(&meta_line(report))
    );
    render_cards(&mut page, report);
    page.push_str("<h2>Volume and cost over time</h2>\n");
    page.push_str(&volume_chart(report));
    page.push_str("<h2>Top events by cost</h2>\n");
    page.push_str(&top_events_chart(report));
    page.push_str("<h2>Savings by rule</h2>\n");
    page.push_str(&savings_chart(report));
    render_savings_table(&mut page, report);
    render_candidates(&mut page, report);
    render_anomalies(&mut page, report);
    render_estimates_and_density(&mut page, report);
    render_events_table(&mut page, report);
    for note in &report.notes {
        let _ = writeln!(page, "<p class=\"note\">Note: {}</p>", html(note));
    }
    page.push_str("</body>\n</html>\n");
    page
}

fn meta_line(report: &GovernanceReport) -> String {
    match (report.windows.first(), report.windows.last()) {
        (Some(first), Some(last)) => format!(
            "{} window(s), {} to {}; prices in {}",
            report.windows.len(),
            first.label,
            last.label,
            report.currency
        ),
        _ => "no windows".to_owned(),
    }
}

fn render_cards(page: &mut String, report: &GovernanceReport) {
    let totals = &report.totals;
    let currency = html(&report.currency);
    let trend = report.trend.change_share.map_or_else(|| "n/a".to_owned(), change);
    let cards = [
        ("total-offered", "Offered events", count(totals.offered)),
        ("total-kept", "Kept events", count(totals.kept)),
        ("total-dropped", "Dropped events", count(totals.dropped)),
        ("total-cost-kept", "Kept cost", format!("{} {currency}", money(totals.cost_kept))),
        ("total-saving", "Saved by the plan", format!("{} {currency}", money(totals.saving))),
        ("useless-share", "Useless share", percent(report.useless.share)),
        ("trend", "Volume trend", trend),
    ];
    page.push_str("<section class=\"cards\">\n");
    for (id, label, value) in cards {
        let _ = writeln!(page, "<div class=\"card\"><span>{label}</span><strong id=\"{id}\">{value}</strong></div>");
    }
    page.push_str("</section>\n");
}

/// A value scaled into `[0, length]` against `maximum` (0 when the maximum is 0).
fn scale(value: f64, maximum: f64, length: f64) -> f64 {
    if maximum > 0.0 {
        value / maximum * length
    } else {
        0.0
    }
}

/// Bars of kept and dropped events per window, and the kept cost as a line on its own axis.
fn volume_chart(report: &GovernanceReport) -> String {
    let (width, height, left, right, top, bottom) = (760.0, 300.0, 80.0, 90.0, 20.0, 60.0);
    let plot_width = width - left - right;
    let plot_height = height - top - bottom;
    let windows = &report.windows;
    let max_volume = windows.iter().map(|window| window.offered).max().unwrap_or(0) as f64;
    let max_cost = windows.iter().map(|window| window.cost_kept).fold(0.0, f64::max);
    let slot = plot_width / windows.len().max(1) as f64;
    let bar = (slot * 0.6).min(60.0);
    let mut svg = format!(
        "<svg id=\"volume-chart\" role=\"img\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" \
         xmlns=\"http://www.w3.org/2000/svg\">\n<title>Offered events per window (kept and dropped) and kept cost</title>\n"
    );
    for step in 0..=4 {
        let value = max_volume * f64::from(step) / 4.0;
        let y = top + plot_height - scale(value, max_volume, plot_height);
        let _ = writeln!(
            svg,
            "<line x1=\"{left}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#e9ecef\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            left + plot_width,
            left - 6.0,
            y + 4.0,
            count(value.round() as u64)
        );
        if max_cost > 0.0 {
            let _ = writeln!(
                svg,
                "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"#d9480f\">{}</text>",
                left + plot_width + 6.0,
                y + 4.0,
                money(max_cost * f64::from(step) / 4.0)
            );
        }
    }
    let mut cost_points = Vec::new();
    for (index, window) in windows.iter().enumerate() {
        let center = left + slot * (index as f64 + 0.5);
        let kept_height = scale(window.kept as f64, max_volume, plot_height);
        let dropped_height = scale(window.dropped as f64, max_volume, plot_height);
        let base = top + plot_height;
        let _ = writeln!(
            svg,
            "<rect class=\"bar-kept\" x=\"{:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{kept_height:.1}\" fill=\"#2b8a3e\">\
             <title>{}: {} kept</title></rect>",
            center - bar / 2.0,
            base - kept_height,
            html(&window.label),
            count(window.kept)
        );
        let _ = writeln!(
            svg,
            "<rect class=\"bar-dropped\" x=\"{:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{dropped_height:.1}\" fill=\"#adb5bd\">\
             <title>{}: {} dropped</title></rect>",
            center - bar / 2.0,
            base - kept_height - dropped_height,
            html(&window.label),
            count(window.dropped)
        );
        let _ = writeln!(
            svg,
            "<text x=\"{center:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            base + 18.0,
            html(&window.label)
        );
        cost_points.push((center, base - scale(window.cost_kept, max_cost, plot_height), window));
    }
    if max_cost > 0.0 {
        let points: Vec<String> = cost_points.iter().map(|(x, y, _)| format!("{x:.1},{y:.1}")).collect();
        let _ = writeln!(
            svg,
            "<polyline id=\"cost-line\" points=\"{}\" fill=\"none\" stroke=\"#d9480f\" stroke-width=\"2\"/>",
            points.join(" ")
        );
        for (x, y, window) in &cost_points {
            let _ = writeln!(
                svg,
                "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"4\" fill=\"#d9480f\"><title>{}: {} {}</title></circle>",
                html(&window.label),
                money(window.cost_kept),
                html(&report.currency)
            );
        }
    }
    let legend_y = height - 14.0;
    let _ = write!(
        svg,
        "<rect x=\"{left}\" y=\"{:.1}\" width=\"12\" height=\"12\" fill=\"#2b8a3e\"/>\
         <text x=\"{:.1}\" y=\"{legend_y:.1}\">kept events</text>\
         <rect x=\"{:.1}\" y=\"{:.1}\" width=\"12\" height=\"12\" fill=\"#adb5bd\"/>\
         <text x=\"{:.1}\" y=\"{legend_y:.1}\">dropped events</text>\
         <line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#d9480f\" stroke-width=\"2\"/>\
         <text x=\"{:.1}\" y=\"{legend_y:.1}\">kept cost ({})</text>\n</svg>\n",
        legend_y - 10.0,
        left + 16.0,
        left + 120.0,
        legend_y - 10.0,
        left + 136.0,
        left + 260.0,
        legend_y - 4.0,
        left + 280.0,
        legend_y - 4.0,
        left + 286.0,
        html(&report.currency)
    );
    svg
}

/// Horizontal bars: one labelled row per item.
fn bar_chart(id: &str, title: &str, rows: &[(String, f64, String)], color: &str) -> String {
    let (width, row_height, label_width, value_width) = (760.0, 26.0, 230.0, 150.0);
    let height = row_height * rows.len().max(1) as f64 + 10.0;
    let bar_space = width - label_width - value_width;
    let maximum = rows.iter().map(|(_, value, _)| *value).fold(0.0, f64::max);
    let mut svg = format!(
        "<svg id=\"{id}\" role=\"img\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" \
         xmlns=\"http://www.w3.org/2000/svg\">\n<title>{}</title>\n",
        html(title)
    );
    if rows.is_empty() {
        svg.push_str("<text x=\"0\" y=\"18\">nothing to show</text>\n");
    }
    for (index, (label, value, shown)) in rows.iter().enumerate() {
        let y = 5.0 + row_height * index as f64;
        let length = scale(*value, maximum, bar_space).max(1.0);
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\
             <rect x=\"{label_width}\" y=\"{:.1}\" width=\"{length:.1}\" height=\"{:.1}\" fill=\"{color}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            label_width - 8.0,
            y + 16.0,
            html(label),
            y + 3.0,
            row_height - 8.0,
            label_width + length + 6.0,
            y + 16.0,
            html(shown)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

fn top_events_chart(report: &GovernanceReport) -> String {
    let priced = report.totals.cost_kept > 0.0;
    let mut events: Vec<&EventTotals> = report.events.iter().filter(|event| event.kept > 0).collect();
    if !priced {
        events.sort_by(|left, right| right.kept.cmp(&left.kept).then_with(|| left.name.cmp(&right.name)));
    }
    let rows: Vec<(String, f64, String)> = events
        .iter()
        .take(TOP_EVENTS)
        .map(|event| {
            if priced {
                let shown = format!("{} {} ({})", money(event.cost_kept), report.currency, percent(event.cost_share));
                (event_name(&event.name).to_owned(), event.cost_kept, shown)
            } else {
                (event_name(&event.name).to_owned(), event.kept as f64, format!("{} kept", count(event.kept)))
            }
        })
        .collect();
    bar_chart("top-events-chart", "Top events by kept cost", &rows, "#1971c2")
}

fn savings_chart(report: &GovernanceReport) -> String {
    let priced = report.totals.cost_offered > 0.0;
    let rows: Vec<(String, f64, String)> = report
        .savings
        .iter()
        .map(|saving| {
            if priced {
                (saving.reason.to_string(), saving.money, format!("{} {}", money(saving.money), report.currency))
            } else {
                (saving.reason.to_string(), saving.events as f64, format!("{} events", count(saving.events)))
            }
        })
        .collect();
    bar_chart("savings-chart", "Savings by rule", &rows, "#5f3dc4")
}

fn render_savings_table(page: &mut String, report: &GovernanceReport) {
    page.push_str("<table id=\"savings-table\"><tr><th>rule</th><th>events dropped</th><th>bytes</th>");
    let _ = writeln!(page, "<th>saved ({})</th><th>share of offered</th></tr>", html(&report.currency));
    for saving in &report.savings {
        let _ = writeln!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            saving.reason,
            count(saving.events),
            bytes(saving.bytes),
            money(saving.money),
            percent(saving.share_of_offered)
        );
    }
    page.push_str("</table>\n");
}

fn render_candidates(page: &mut String, report: &GovernanceReport) {
    page.push_str("<h2>Candidates by owner</h2>\n<p>Each owner confirms before a change goes into the plan.</p>\n");
    if report.candidates_by_owner.is_empty() {
        page.push_str("<p id=\"candidates-none\">No candidates.</p>\n");
    }
    for (owner, candidates) in &report.candidates_by_owner {
        let _ = writeln!(
            page,
            "<h3>{}</h3>\n<table class=\"candidates\"><tr><th>change</th><th>event</th><th>why</th><th>what</th>\
             <th>how</th><th>when</th><th>saving</th></tr>",
            html(owner)
        );
        for candidate in candidates {
            let _ = writeln!(
                page,
                "<tr><td>{}</td><td class=\"text\">{}</td><td class=\"text\">{}</td><td class=\"text\">{}</td>\
                 <td class=\"text\"><code>{}</code></td><td class=\"text\">{}</td><td>{} events<br>{}<br>{} {}</td></tr>",
                candidate.kind.as_str(),
                html(&candidate.event),
                html(&candidate.why),
                html(&candidate.what),
                html(&candidate.how),
                html(&candidate.when),
                count(candidate.saving.events),
                bytes(candidate.saving.bytes),
                money(candidate.saving.money),
                html(&report.currency)
            );
        }
        page.push_str("</table>\n");
    }
}

fn render_anomalies(page: &mut String, report: &GovernanceReport) {
    page.push_str("<h2>Abnormal data</h2>\n");
    let anomalies = &report.anomalies;
    if anomalies.spikes.is_empty() && anomalies.oversized.is_empty() {
        page.push_str("<p>None found.</p>\n");
        return;
    }
    page.push_str("<table id=\"anomalies\"><tr><th>kind</th><th>event</th><th>detail</th></tr>\n");
    for spike in &anomalies.spikes {
        let _ = writeln!(
            page,
            "<tr><td>spike</td><td class=\"text\">{}</td><td class=\"text\">{}: {} offered, {:.1}× its baseline of {:.0}</td></tr>",
            html(&spike.event),
            html(&spike.window),
            count(spike.offered),
            spike.factor,
            spike.baseline
        );
    }
    for oversized in &anomalies.oversized {
        let _ = writeln!(
            page,
            "<tr><td>oversized</td><td class=\"text\">{}</td><td class=\"text\">{} over the size cap ({} of offered, {})</td></tr>",
            html(&oversized.event),
            count(oversized.oversize_events),
            percent(oversized.share),
            bytes(oversized.oversize_bytes)
        );
    }
    page.push_str("</table>\n");
}

fn render_estimates_and_density(page: &mut String, report: &GovernanceReport) {
    page.push_str("<h2>Usefulness and density</h2>\n");
    let useless = &report.useless;
    let _ = writeln!(
        page,
        "<p>Useless events: <strong>{}</strong> of offered ({} events, {} {}): unused {}, retired {}, unregistered {}, invalid {}.</p>",
        percent(useless.share),
        count(useless.total),
        money(useless.cost),
        html(&report.currency),
        useless.unused_events.map_or_else(|| "unknown".to_owned(), count),
        count(useless.retired_arriving),
        count(useless.unregistered_arriving),
        count(useless.invalid_arriving)
    );
    if let Some(density) = &report.density {
        let _ = writeln!(
            page,
            "<p{}>Event density: {:.1} → {:.1} events per active hour ({}; volume {}, active time {}).</p>",
            if density.alert { " class=\"alert\"" } else { "" },
            density.first,
            density.last,
            change(density.change_share),
            change(density.offered_change_share),
            change(density.active_time_change_share)
        );
    }
    if !report.sampled_estimates.is_empty() {
        page.push_str(
            "<table id=\"estimates\"><tr><th>sampled event</th><th>kept</th><th>estimated true count</th></tr>\n",
        );
        for estimate in &report.sampled_estimates {
            let _ = writeln!(
                page,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                html(&estimate.name),
                count(estimate.kept),
                count(estimate.estimated_true_count.round() as u64)
            );
        }
        page.push_str("</table>\n");
    }
}

fn render_events_table(page: &mut String, report: &GovernanceReport) {
    page.push_str(
        "<h2>All events</h2>\n<table id=\"events\"><tr><th>event</th><th>owner</th><th>priority</th><th>status</th>\
         <th>offered</th><th>kept</th><th>kept bytes</th><th>kept cost</th><th>uses</th></tr>\n",
    );
    for event in &report.events {
        let _ = writeln!(
            page,
            "<tr><td>{}</td><td class=\"text\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            html(event_name(&event.name)),
            html(&event.owner),
            event.priority.map_or_else(|| "-".to_owned(), |priority| priority.to_string()),
            event.status,
            count(event.offered),
            count(event.kept),
            bytes(event.kept_bytes),
            money(event.cost_kept),
            event.uses.map_or_else(|| "-".to_owned(), |uses| count(uses.total()))
        );
    }
    page.push_str("</table>\n");
}
