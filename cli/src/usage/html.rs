//! The evidence as one self-contained HTML page: coverage, then every event with its reads.
//!
//! No scripts, fonts or network loads; all input text is HTML-escaped.

use trackgate_usage::analysis::Evidence;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Renders the page.
pub fn render(evidence: &Evidence) -> String {
    let mut page = String::from(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>trackgate usage</title>\n<style>\
         body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}\
         td,th{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}\
         tr.unused td{background:#fee}</style></head><body>\n",
    );
    page += &format!(
        "<h1>Event usage</h1>\n<p id=\"window\">{} to {} ({} days)</p>\n<h2>Coverage</h2>\n<pre id=\"coverage\">{}</pre>\n",
        escape(&evidence.window_start),
        escape(&evidence.window_end),
        evidence.days,
        escape(&serde_json::to_string_pretty(&evidence.coverage).unwrap_or_default())
    );
    page += "<h2>Events</h2>\n<table id=\"events\"><tr><th>app</th><th>event</th><th>warehouse queries</th>\
             <th>readers</th><th>last read</th><th>routing rules</th><th>analytics</th><th>path</th><th>tables</th></tr>\n";
    for event in &evidence.events {
        let unused = event.warehouse_queries + event.behaviour_queries == 0 && event.realtime_rules.is_empty();
        let last = event
            .last_read
            .as_ref()
            .map(|last| format!("{} by {} ({})", last.time, last.user, last.query))
            .unwrap_or_default();
        page += &format!(
            "<tr{}><td>{}</td><td>{}</td><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            if unused { " class=\"unused\"" } else { "" },
            escape(&event.app),
            escape(&event.event),
            event.warehouse_queries,
            if event.conservative { " (conservative)" } else { "" },
            event.distinct_readers,
            escape(&last),
            escape(&event.realtime_rules.join(", ")),
            event.behaviour_queries,
            escape(&event.path.join(" → ")),
            escape(&event.tables.join(", ")),
        );
    }
    page += "</table>\n</body></html>\n";
    page
}
