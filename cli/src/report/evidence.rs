//! Usage evidence for candidates (`--evidence FILE`, written by `trackgate usage`).
//!
//! Owns turning the evidence file into one sentence per event name that the candidates' `why`
//! cites: how many queries read it in the window, the last read (when, by whom, which log line)
//! and through which tables, or where its rows flow when nobody reads them. Apps sharing a name
//! are summed (the report is per name).

use std::collections::BTreeMap;

use trackgate_usage::analysis::{EventEvidence, Evidence, EVIDENCE_FORMAT};

use crate::Failure;

/// One sentence per event name.
pub fn sentences(path: &std::path::Path, evidence: &Evidence) -> Result<BTreeMap<String, String>, Failure> {
    if evidence.format != EVIDENCE_FORMAT {
        return Err(Failure::refused(format!(
            "{}: $.format: expected `{EVIDENCE_FORMAT}`, found `{}`",
            path.display(),
            evidence.format
        )));
    }
    let mut by_name: BTreeMap<&str, Vec<&EventEvidence>> = BTreeMap::new();
    for event in &evidence.events {
        by_name.entry(event.event.as_str()).or_default().push(event);
    }
    Ok(by_name.into_iter().map(|(name, events)| (name.to_owned(), sentence(evidence.days, &events))).collect())
}

fn sentence(days: u32, events: &[&EventEvidence]) -> String {
    let queries: u64 = events.iter().map(|event| event.warehouse_queries).sum();
    let readers: u64 = events.iter().map(|event| event.distinct_readers).sum();
    let mut text = format!("read by {queries} queries in {days} days");
    if queries > 0 {
        text += &format!(" ({readers} distinct readers)");
    }
    let last = events
        .iter()
        .filter_map(|event| event.last_read.as_ref().map(|last| (last, event)))
        .max_by(|a, b| a.0.time.cmp(&b.0.time));
    match last {
        Some((last, event)) => {
            let who = if last.user.is_empty() { String::new() } else { format!(" by {}", last.user) };
            text += &format!("; last read {}{who} ({})", &last.time[..10.min(last.time.len())], last.query);
            let tables: Vec<&str> =
                event.path.iter().map(String::as_str).filter(|step| !step.starts_with("query ")).collect();
            if !tables.is_empty() {
                text += &format!(" via {}", tables.join(" → "));
            }
        }
        None => {
            let tables: Vec<&str> = events.iter().flat_map(|event| event.tables.iter().map(String::as_str)).collect();
            if tables.is_empty() {
                text += "; it flows into no catalogued table";
            } else {
                text += &format!("; it flows into {} that no query read", tables.join(", "));
            }
        }
    }
    let rules: usize = events.iter().map(|event| event.realtime_rules.len()).sum();
    let behaviour: u64 = events.iter().map(|event| event.behaviour_queries).sum();
    text += &format!("; {rules} routing rules, {behaviour} analytics queries");
    if events.iter().any(|event| event.conservative) {
        text += "; includes conservative reads by unresolved statements";
    }
    text
}
