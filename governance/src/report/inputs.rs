//! The report's input data, once read: counts per window, unit prices, usage per event.
//!
//! Owns the types and their range checks; reading files and turning filter stats or SDK drop
//! reports into [`WindowCounts`] is the caller's (`trackgate report`). Pure data.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use trackgate_core::{Priority, ReasonCounts};

use crate::FieldProblem;

/// Counts of one name (or of what could not be attributed to a name) in one window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counts {
    /// Events offered to the gate.
    pub offered: u64,
    /// Their bytes.
    pub offered_bytes: u64,
    /// Events kept.
    pub kept: u64,
    /// Their bytes.
    pub kept_bytes: u64,
    /// Sum of the kept events' sampling weights.
    pub kept_weighted: f64,
    /// Events dropped, per reason.
    pub dropped: ReasonCounts,
    /// Bytes dropped, per reason.
    pub dropped_bytes: ReasonCounts,
}

impl Counts {
    /// Adds `other` into these counts.
    pub fn add(&mut self, other: &Counts) {
        self.offered += other.offered;
        self.offered_bytes += other.offered_bytes;
        self.kept += other.kept;
        self.kept_bytes += other.kept_bytes;
        self.kept_weighted += other.kept_weighted;
        self.dropped.merge(&other.dropped);
        self.dropped_bytes.merge(&other.dropped_bytes);
    }
}

/// One name's counts in a window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NameCounts {
    /// Priority from the counts file (the plan, when given, takes precedence).
    pub priority: Option<Priority>,
    /// The counts.
    pub counts: Counts,
}

/// Everything counted in one window (a day or period), over all its files.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WindowCounts {
    /// The window's label (a UTC day or the filter's `--window`).
    pub label: String,
    /// The files that made it.
    pub files: Vec<String>,
    /// Per event name.
    pub names: BTreeMap<String, NameCounts>,
    /// Counts a file gave only as totals (SDK reports' invalid names, overflow names).
    pub unattributed: Counts,
    /// Lines the filter could not read.
    pub malformed_lines: u64,
}

/// Unit prices (`--prices`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prices {
    /// Currency code shown next to amounts.
    #[serde(default = "default_currency")]
    pub currency: String,
    /// Price of one million events (ingestion, queues, processing).
    #[serde(default)]
    pub per_million_events: f64,
    /// Price of one GB (10^9 bytes) stored and moved.
    #[serde(default)]
    pub per_gb: f64,
}

fn default_currency() -> String {
    "USD".to_owned()
}

impl Default for Prices {
    fn default() -> Self {
        Prices { currency: default_currency(), per_million_events: 0.0, per_gb: 0.0 }
    }
}

impl Prices {
    /// The cost of `events` events of `bytes` bytes in all.
    pub fn cost(&self, events: u64, bytes: u64) -> f64 {
        events as f64 / 1e6 * self.per_million_events + bytes as f64 / 1e9 * self.per_gb
    }

    /// Refuses negative or non-finite prices, naming the field.
    pub fn check(&self) -> Result<(), FieldProblem> {
        for (field, value) in [("per_million_events", self.per_million_events), ("per_gb", self.per_gb)] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(FieldProblem::new(format!("$.{field}"), "a price must be a number >= 0"));
            }
        }
        Ok(())
    }
}

/// How often one event's data was used over the usage period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventUsage {
    /// Offline warehouse queries that read the event.
    #[serde(default)]
    pub warehouse_queries: u64,
    /// Real-time routing rules that consume the event.
    #[serde(default)]
    pub realtime_rules: u64,
    /// Behaviour-analytics queries (funnels, retention, paths) that read the event.
    #[serde(default)]
    pub behaviour_queries: u64,
}

impl EventUsage {
    /// All three value signals together.
    pub fn total(&self) -> u64 {
        self.warehouse_queries + self.realtime_rules + self.behaviour_queries
    }
}

/// Usage and user activity (`--usage`, the `usage.json` that `trackgate usage` writes).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Usage {
    /// Length of the period the usage counts cover, in days.
    pub days: u32,
    /// Per event name. A name missing here was not used at all.
    #[serde(default)]
    pub events: BTreeMap<String, EventUsage>,
    /// Total user active time per window label, in hours.
    #[serde(default)]
    pub active_hours: BTreeMap<String, f64>,
}
