//! The diff stage: what changes per event between the previous and the next plan, with the
//! projected impact on kept events, bytes and cost per day.
//!
//! The projection starts from the volume *offered* per event per day (before any rule), taken
//! from the latest filter stats (server side, `trackgate-filter-stats/1`) and SDK drop reports
//! (device side), summed, divided by the number of distinct days they cover. Each plan keeps a
//! share of an event's offered volume: 0 when disabled, retired, shed or unregistered (with
//! `unregistered: drop`), its sampling rate otherwise; a shadow plan keeps everything. Size caps
//! and rate limits depend on each occurrence and device, so they are not projected: the watch
//! catches their effect on real devices.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use trackgate_core::plan::{EventRule, EventStatus, UnregisteredPolicy};
use trackgate_core::{DropReason, DropReport, Plan};
use trackgate_etl::FilterStats;

/// Offered volume per event, per day.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Baseline {
    totals: BTreeMap<String, (u64, u64)>,
    days: BTreeSet<String>,
}

impl Baseline {
    /// An empty baseline (projections are then all zero).
    pub fn new() -> Baseline {
        Baseline::default()
    }

    /// Adds one filter stats file; its window label (or its input name) counts as one day.
    pub fn add_filter_stats(&mut self, stats: &FilterStats) {
        self.days.insert(stats.window.clone().unwrap_or_else(|| format!("input {}", stats.input)));
        for event in &stats.events {
            self.add(&event.name, event.offered, event.offered_bytes);
        }
    }

    /// Adds one SDK drop report; its window's start day (UTC) counts as a day.
    pub fn add_drop_report(&mut self, report: &DropReport) {
        self.days.insert(format!("day {}", report.window_start_unix_ms / 86_400_000));
        for event in &report.events {
            let offered = event.kept.saturating_add(event.dropped.total());
            self.add(&event.name, offered, event.kept_bytes.saturating_add(event.dropped_bytes));
        }
        for name in &report.unregistered {
            self.add(&name.name, name.kept.saturating_add(name.dropped), name.bytes);
        }
    }

    fn add(&mut self, name: &str, events: u64, bytes: u64) {
        let entry = self.totals.entry(name.to_owned()).or_default();
        entry.0 = entry.0.saturating_add(events);
        entry.1 = entry.1.saturating_add(bytes);
    }

    /// Days covered (at least 1 once anything was added).
    pub fn days(&self) -> usize {
        self.days.len()
    }

    /// Offered (events, bytes) per day of `name`.
    pub fn per_day(&self, name: &str) -> (f64, f64) {
        let days = self.days.len().max(1) as f64;
        self.totals.get(name).map_or((0.0, 0.0), |(events, bytes)| (*events as f64 / days, *bytes as f64 / days))
    }

    fn names(&self) -> impl Iterator<Item = &String> {
        self.totals.keys()
    }
}

/// Prices, as in `trackgate report --prices`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostModel {
    /// Currency label.
    pub currency: String,
    /// Cost of a million events.
    pub per_million_events: f64,
    /// Cost of a gigabyte (10^9 bytes).
    pub per_gb: f64,
}

impl Default for CostModel {
    fn default() -> Self {
        CostModel { currency: "USD".to_owned(), per_million_events: 0.0, per_gb: 0.0 }
    }
}

impl CostModel {
    /// The cost of `events` events of `bytes` bytes.
    pub fn cost(&self, events: f64, bytes: f64) -> f64 {
        events / 1e6 * self.per_million_events + bytes / 1e9 * self.per_gb
    }
}

/// Kept volume per day under one plan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Projection {
    /// Events kept per day.
    pub events_per_day: f64,
    /// Bytes kept per day.
    pub bytes_per_day: f64,
    /// Their cost per day.
    pub cost_per_day: f64,
}

impl Projection {
    fn add(&mut self, other: Projection) {
        self.events_per_day += other.events_per_day;
        self.bytes_per_day += other.bytes_per_day;
        self.cost_per_day += other.cost_per_day;
    }
}

/// One event whose rules or kept share change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventChange {
    /// The event name.
    pub name: String,
    /// Its priority in the previous plan (`None` when it was not registered).
    pub previous_priority: Option<String>,
    /// What changes, e.g. `sample 1 → 0.1`, `retired`, `removed`.
    pub changes: Vec<String>,
    /// Kept volume under the previous plan.
    pub before: Projection,
    /// Kept volume under the next plan.
    pub after: Projection,
}

/// The diff of a release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanDiff {
    /// Plan-wide changes (kill switch, `shed_below`, `unregistered`, `shadow`).
    pub plan_changes: Vec<String>,
    /// Per event, by name.
    pub events: Vec<EventChange>,
    /// Every event's kept volume under the previous plan.
    pub total_before: Projection,
    /// Every event's kept volume under the next plan.
    pub total_after: Projection,
    /// Days of input behind the projection.
    pub days: usize,
    /// The currency of the costs.
    pub currency: String,
}

impl PlanDiff {
    /// Relative change of kept events per day (0.1 = +10 %); 0 without volume.
    pub fn events_change(&self) -> f64 {
        relative(self.total_before.events_per_day, self.total_after.events_per_day)
    }

    /// Relative change of kept bytes per day.
    pub fn bytes_change(&self) -> f64 {
        relative(self.total_before.bytes_per_day, self.total_after.bytes_per_day)
    }
}

fn relative(before: f64, after: f64) -> f64 {
    if before > 0.0 {
        (after - before) / before
    } else if after > 0.0 {
        1.0
    } else {
        0.0
    }
}

/// The share of an event's offered occurrences `plan` keeps (size caps and rate limits aside).
pub fn keep_share(plan: &Plan, name: &str) -> f64 {
    if plan.shadow {
        return 1.0;
    }
    if !plan.enabled {
        return 0.0;
    }
    match plan.events.get(name) {
        None => match plan.unregistered {
            UnregisteredPolicy::Keep => 1.0,
            UnregisteredPolicy::Drop => 0.0,
        },
        Some(rule) if rule.status == EventStatus::Retired || rule.priority.is_shed_by(plan.shed_below) => 0.0,
        Some(rule) => f64::from(rule.sample.parts_per_million()) / 1e6,
    }
}

fn project(plan: &Plan, name: &str, baseline: &Baseline, costs: &CostModel) -> Projection {
    let (events, bytes) = baseline.per_day(name);
    let share = keep_share(plan, name);
    let (events, bytes) = (events * share, bytes * share);
    Projection { events_per_day: events, bytes_per_day: bytes, cost_per_day: costs.cost(events, bytes) }
}

/// What changes in one event's rule, in words.
fn rule_changes(before: Option<&EventRule>, after: Option<&EventRule>) -> Vec<String> {
    let (before, after) = match (before, after) {
        (None, None) => return Vec::new(),
        (None, Some(_)) => return vec!["added".to_owned()],
        (Some(_), None) => return vec!["removed".to_owned()],
        (Some(before), Some(after)) => (before, after),
    };
    let mut changes = Vec::new();
    let mut note = |what: &str, from: String, to: String| {
        if from != to {
            changes.push(format!("{what} {from} → {to}"));
        }
    };
    let optional = |value: Option<String>| value.unwrap_or_else(|| "none".to_owned());
    note("status", format!("{:?}", before.status).to_lowercase(), format!("{:?}", after.status).to_lowercase());
    note("priority", before.priority.to_string(), after.priority.to_string());
    note("sample", before.sample.to_string(), after.sample.to_string());
    note("salt", optional(before.salt.clone()), optional(after.salt.clone()));
    let limit = |rule: &EventRule| rule.rate_limit.map(|limit| format!("{}/s burst {}", limit.per_second, limit.burst));
    note("rate limit", optional(limit(before)), optional(limit(after)));
    note(
        "max_bytes",
        optional(before.max_bytes.map(|b| b.to_string())),
        optional(after.max_bytes.map(|b| b.to_string())),
    );
    note("owner", optional(before.owner.clone()), optional(after.owner.clone()));
    changes
}

/// Plan-wide changes, in words.
fn plan_changes(previous: &Plan, next: &Plan) -> Vec<String> {
    let mut changes = Vec::new();
    let mut note = |what: &str, from: String, to: String| {
        if from != to {
            changes.push(format!("{what} {from} → {to}"));
        }
    };
    note("enabled", previous.enabled.to_string(), next.enabled.to_string());
    note("shadow", previous.shadow.to_string(), next.shadow.to_string());
    let shed = |plan: &Plan| plan.shed_below.map_or("none".to_owned(), |level| level.to_string());
    note("shed_below", shed(previous), shed(next));
    note("unregistered", format!("{:?}", previous.unregistered), format!("{:?}", next.unregistered));
    note("sampling_salt", previous.sampling_salt.clone(), next.sampling_salt.clone());
    note("defaults.max_bytes", format!("{:?}", previous.defaults.max_bytes), format!("{:?}", next.defaults.max_bytes));
    changes
}

/// The diff of two plans with projections from `baseline`.
pub fn diff(previous: &Plan, next: &Plan, baseline: &Baseline, costs: &CostModel) -> PlanDiff {
    let names: BTreeSet<&String> = previous.events.keys().chain(next.events.keys()).chain(baseline.names()).collect();
    let mut events = Vec::new();
    let (mut total_before, mut total_after) = (Projection::default(), Projection::default());
    for name in names {
        let before = project(previous, name, baseline, costs);
        let after = project(next, name, baseline, costs);
        total_before.add(before);
        total_after.add(after);
        let mut changes = rule_changes(previous.events.get(name), next.events.get(name));
        let shares_differ = keep_share(previous, name) != keep_share(next, name);
        if changes.is_empty() && shares_differ {
            changes.push("kept share changes with the plan-wide rules".to_owned());
        }
        if !changes.is_empty() {
            events.push(EventChange {
                name: name.clone(),
                previous_priority: previous.events.get(name).map(|rule| rule.priority.to_string()),
                changes,
                before,
                after,
            });
        }
    }
    PlanDiff {
        plan_changes: plan_changes(previous, next),
        events,
        total_before,
        total_after,
        days: baseline.days(),
        currency: costs.currency.clone(),
    }
}

/// The drop reasons a release raises on purpose, and the names it removes from the plan: the
/// watch does not count their rise as a jump.
pub fn intended_drops(previous: &Plan, next: &Plan) -> (BTreeSet<DropReason>, BTreeSet<String>) {
    let mut reasons = BTreeSet::new();
    let mut removed = BTreeSet::new();
    for (name, before) in &previous.events {
        let Some(after) = next.events.get(name) else {
            removed.insert(name.clone());
            reasons.insert(DropReason::Unregistered);
            continue;
        };
        if after.status == EventStatus::Retired && before.status != EventStatus::Retired {
            reasons.insert(DropReason::Retired);
        }
        if after.sample.parts_per_million() < before.sample.parts_per_million() {
            reasons.insert(DropReason::SampledOut);
        }
        if after.priority.is_shed_by(next.shed_below) && !before.priority.is_shed_by(previous.shed_below) {
            reasons.insert(DropReason::Shed);
        }
    }
    if next.unregistered == UnregisteredPolicy::Drop && previous.unregistered == UnregisteredPolicy::Keep {
        reasons.insert(DropReason::Unregistered);
    }
    if !next.enabled && previous.enabled {
        reasons.insert(DropReason::Disabled);
    }
    (reasons, removed)
}
