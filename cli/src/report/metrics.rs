//! The governance metrics: volume, cost, useless share, density, savings, estimates, candidates
//! and anomalies, computed from counted windows, prices, usage, the plan and the rules.
//!
//! Owns [`GovernanceReport`] (the `--json` output, also what the text and HTML views show) and
//! its computation. A pure function of its inputs: deterministic (sorted maps, fixed tie
//! breaks), no I/O, no threads.

use std::collections::BTreeMap;

use serde::Serialize;
use trackgate_core::name::is_valid_event_name;
use trackgate_core::plan::{EventRule, EventStatus};
use trackgate_core::{DropReason, Plan, Priority};

use super::inputs::{Counts, EventUsage, Prices, Usage, WindowCounts};
use super::rules::{downgraded, Thresholds};

/// The `format` of the JSON report.
pub const REPORT_FORMAT: &str = "trackgate-report/1";

/// Owner shown for events whose plan entry names none (or when no plan is given).
pub const NO_OWNER: &str = "(no owner)";

/// Everything the report shows.
#[derive(Debug, Clone, Serialize)]
pub struct GovernanceReport {
    pub format: &'static str,
    pub currency: String,
    pub totals: Totals,
    pub windows: Vec<WindowSummary>,
    pub trend: Trend,
    pub useless: Useless,
    pub density: Option<Density>,
    pub savings: Vec<RuleSaving>,
    /// Per event name, highest kept cost first.
    pub events: Vec<EventTotals>,
    pub sampled_estimates: Vec<Estimate>,
    pub candidates_by_owner: BTreeMap<String, Vec<Candidate>>,
    pub anomalies: Anomalies,
    pub rules: Thresholds,
    /// What the report could not compute and why.
    pub notes: Vec<String>,
}

/// Sums over every window.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    pub offered: u64,
    pub offered_bytes: u64,
    pub kept: u64,
    pub kept_bytes: u64,
    pub kept_weighted: f64,
    pub dropped: u64,
    pub dropped_bytes: u64,
    pub malformed_lines: u64,
    /// What the offered events would cost without the gate.
    pub cost_offered: f64,
    /// What the kept events cost.
    pub cost_kept: f64,
    /// `cost_offered - cost_kept`.
    pub saving: f64,
}

/// One window's volume and cost.
#[derive(Debug, Clone, Serialize)]
pub struct WindowSummary {
    pub label: String,
    pub files: Vec<String>,
    pub offered: u64,
    pub offered_bytes: u64,
    pub kept: u64,
    pub kept_bytes: u64,
    pub dropped: u64,
    pub dropped_bytes: u64,
    pub cost_offered: f64,
    pub cost_kept: f64,
    pub active_hours: Option<f64>,
    pub events_per_active_hour: Option<f64>,
}

/// How offered volume moved from the first window to the last.
#[derive(Debug, Clone, Serialize)]
pub struct Trend {
    pub first_window: Option<String>,
    pub last_window: Option<String>,
    pub first_offered: u64,
    pub last_offered: u64,
    /// `(last - first) / first`; `None` with one window or an empty first window.
    pub change_share: Option<f64>,
    /// `rising`, `falling`, `flat` (within 5 %) or `single window`.
    pub direction: &'static str,
}

/// Offered events nobody uses or that should not arrive at all.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Useless {
    /// Active registered events with no use in the usage period (`None` without `--usage`).
    pub unused_events: Option<u64>,
    /// Occurrences of retired events still arriving.
    pub retired_arriving: u64,
    /// Occurrences of valid names that are not in the plan.
    pub unregistered_arriving: u64,
    /// Occurrences of names that break the naming rules.
    pub invalid_arriving: u64,
    pub total: u64,
    /// `total / offered`.
    pub share: f64,
    /// What the useless occurrences cost as offered.
    pub cost: f64,
    /// The unused event names (with `--usage`), highest volume first.
    pub unused_names: Vec<String>,
}

/// Events per hour of user activity, so volume growing faster than usage stands out.
#[derive(Debug, Clone, Serialize)]
pub struct Density {
    pub first_window: String,
    pub last_window: String,
    pub first: f64,
    pub last: f64,
    pub change_share: f64,
    pub offered_change_share: f64,
    pub active_time_change_share: f64,
    /// Whether density rose by more than the rules allow.
    pub alert: bool,
}

/// What one rule saved over all windows.
#[derive(Debug, Clone, Serialize)]
pub struct RuleSaving {
    pub reason: DropReason,
    pub events: u64,
    pub bytes: u64,
    pub money: f64,
    /// Share of offered events this rule dropped.
    pub share_of_offered: f64,
}

/// One event name over all windows.
#[derive(Debug, Clone, Serialize)]
pub struct EventTotals {
    pub name: String,
    pub owner: String,
    pub priority: Option<Priority>,
    /// `active`, `retired`, `unregistered` or `invalid`.
    pub status: &'static str,
    /// The plan's sampling rate (1 when not sampled; `None` when not in the plan or no plan).
    pub sample: Option<f64>,
    pub offered: u64,
    pub offered_bytes: u64,
    pub kept: u64,
    pub kept_bytes: u64,
    pub kept_weighted: f64,
    pub oversize: u64,
    pub oversize_bytes: u64,
    pub cost_kept: f64,
    /// Share of the total kept cost.
    pub cost_share: f64,
    pub uses: Option<EventUsage>,
}

/// The weighted estimate of a sampled event's true count.
#[derive(Debug, Clone, Serialize)]
pub struct Estimate {
    pub name: String,
    pub kept: u64,
    /// Sum of the weights of kept occurrences (Horvitz–Thompson).
    pub estimated_true_count: f64,
}

/// What a candidate proposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CandidateKind {
    Retire,
    Sample,
    Downgrade,
}

impl CandidateKind {
    /// `retire`, `sample` or `downgrade`.
    pub fn as_str(self) -> &'static str {
        match self {
            CandidateKind::Retire => "retire",
            CandidateKind::Sample => "sample",
            CandidateKind::Downgrade => "downgrade",
        }
    }
}

/// What a candidate would save.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Saving {
    pub events: u64,
    pub bytes: u64,
    pub money: f64,
}

/// A proposed plan change, for its owner to confirm.
#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    pub kind: CandidateKind,
    pub event: String,
    pub owner: String,
    /// Why: the measurements and the rule they crossed.
    pub why: String,
    /// What to change.
    pub what: String,
    /// How: the plan edit.
    pub how: String,
    /// When: the confirmation and rollout.
    pub when: String,
    pub saving: Saving,
}

/// Abnormal data.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Anomalies {
    pub spikes: Vec<Spike>,
    pub oversized: Vec<Oversized>,
}

/// A window whose count is far above the event's own baseline.
#[derive(Debug, Clone, Serialize)]
pub struct Spike {
    pub event: String,
    pub window: String,
    pub offered: u64,
    /// Median of the event's offered counts over the other windows.
    pub baseline: f64,
    pub factor: f64,
}

/// An event whose occurrences are often over its size cap.
#[derive(Debug, Clone, Serialize)]
pub struct Oversized {
    pub event: String,
    pub oversize_events: u64,
    pub oversize_bytes: u64,
    pub share: f64,
    pub average_bytes: f64,
}

/// What the report is computed from.
pub struct ReportInputs<'input> {
    pub windows: &'input [WindowCounts],
    pub plan: Option<&'input Plan>,
    pub prices: &'input Prices,
    pub usage: Option<&'input Usage>,
    pub rules: &'input Thresholds,
}

/// Computes the report.
pub fn compute(inputs: &ReportInputs<'_>) -> GovernanceReport {
    let windows: Vec<WindowSummary> = inputs.windows.iter().map(|window| summarise_window(window, inputs)).collect();
    let (all, per_name) = totals_by_name(inputs.windows);
    let malformed_lines = inputs.windows.iter().map(|window| window.malformed_lines).sum();
    let totals = Totals { malformed_lines, ..totals(&all, inputs.prices) };
    let mut events = event_summaries(&per_name, &totals, inputs);
    events.sort_by(|left, right| right.cost_kept.total_cmp(&left.cost_kept).then_with(|| left.name.cmp(&right.name)));
    let mut notes = Vec::new();
    if inputs.plan.is_none() {
        notes.push("no --plan: owners, statuses and sampling rates are unknown".to_owned());
    }
    if inputs.usage.is_none() {
        notes.push("no --usage: unused events and retire/sample/downgrade candidates need usage counts".to_owned());
    }
    if inputs.prices.per_million_events == 0.0 && inputs.prices.per_gb == 0.0 {
        notes.push("no --prices (or zero prices): costs and money savings are 0".to_owned());
    }
    GovernanceReport {
        format: REPORT_FORMAT,
        currency: inputs.prices.currency.clone(),
        trend: trend(&windows),
        useless: useless(&events, &all, &totals, inputs),
        density: density(&windows, inputs.rules),
        savings: savings(&all, &totals, inputs.prices),
        sampled_estimates: estimates(&events),
        candidates_by_owner: candidates(&events, &totals, inputs),
        anomalies: Anomalies {
            spikes: spikes(inputs.windows, inputs.rules),
            oversized: oversized(&events, inputs.rules),
        },
        rules: inputs.rules.clone(),
        notes,
        totals,
        windows,
        events,
    }
}

fn summarise_window(window: &WindowCounts, inputs: &ReportInputs<'_>) -> WindowSummary {
    let mut counts = window.unattributed.clone();
    for name in window.names.values() {
        counts.add(&name.counts);
    }
    let active_hours = inputs.usage.and_then(|usage| usage.active_hours.get(&window.label).copied());
    WindowSummary {
        label: window.label.clone(),
        files: window.files.clone(),
        offered: counts.offered,
        offered_bytes: counts.offered_bytes,
        kept: counts.kept,
        kept_bytes: counts.kept_bytes,
        dropped: counts.dropped.total(),
        dropped_bytes: counts.dropped_bytes.total(),
        cost_offered: inputs.prices.cost(counts.offered, counts.offered_bytes),
        cost_kept: inputs.prices.cost(counts.kept, counts.kept_bytes),
        events_per_active_hour: active_hours.filter(|hours| *hours > 0.0).map(|hours| counts.offered as f64 / hours),
        active_hours,
    }
}

/// All counts together (unattributed included), and per name over all windows.
fn totals_by_name(windows: &[WindowCounts]) -> (Counts, BTreeMap<String, (Option<Priority>, Counts)>) {
    let mut all = Counts::default();
    let mut per_name: BTreeMap<String, (Option<Priority>, Counts)> = BTreeMap::new();
    for window in windows {
        all.add(&window.unattributed);
        for (name, counts) in &window.names {
            all.add(&counts.counts);
            let entry = per_name.entry(name.clone()).or_default();
            entry.0 = entry.0.or(counts.priority);
            entry.1.add(&counts.counts);
        }
    }
    (all, per_name)
}

fn totals(all: &Counts, prices: &Prices) -> Totals {
    let cost_offered = prices.cost(all.offered, all.offered_bytes);
    let cost_kept = prices.cost(all.kept, all.kept_bytes);
    Totals {
        offered: all.offered,
        offered_bytes: all.offered_bytes,
        kept: all.kept,
        kept_bytes: all.kept_bytes,
        kept_weighted: all.kept_weighted,
        dropped: all.dropped.total(),
        dropped_bytes: all.dropped_bytes.total(),
        malformed_lines: 0,
        cost_offered,
        cost_kept,
        saving: cost_offered - cost_kept,
    }
}

fn trend(windows: &[WindowSummary]) -> Trend {
    let (Some(first), Some(last)) = (windows.first(), windows.last()) else {
        return Trend {
            first_window: None,
            last_window: None,
            first_offered: 0,
            last_offered: 0,
            change_share: None,
            direction: "single window",
        };
    };
    let change_share = (windows.len() > 1 && first.offered > 0)
        .then(|| (last.offered as f64 - first.offered as f64) / first.offered as f64);
    let direction = match change_share {
        None => "single window",
        Some(change) if change > 0.05 => "rising",
        Some(change) if change < -0.05 => "falling",
        Some(_) => "flat",
    };
    Trend {
        first_window: Some(first.label.clone()),
        last_window: Some(last.label.clone()),
        first_offered: first.offered,
        last_offered: last.offered,
        change_share,
        direction,
    }
}

fn plan_rule<'plan>(inputs: &ReportInputs<'plan>, name: &str) -> Option<&'plan EventRule> {
    inputs.plan.and_then(|plan| plan.events.get(name))
}

fn status_of(name: &str, rule: Option<&EventRule>, plan_given: bool, priority: Option<Priority>) -> &'static str {
    match rule {
        Some(rule) if rule.status == EventStatus::Retired => "retired",
        Some(_) => "active",
        None if !is_valid_event_name(name) => "invalid",
        // Without a plan, a name the counts gave a priority to was registered where counted.
        None if !plan_given && priority.is_some() => "active",
        None => "unregistered",
    }
}

fn event_summaries(
    per_name: &BTreeMap<String, (Option<Priority>, Counts)>,
    totals: &Totals,
    inputs: &ReportInputs<'_>,
) -> Vec<EventTotals> {
    per_name
        .iter()
        .map(|(name, (counted_priority, counts))| {
            let rule = plan_rule(inputs, name);
            let priority = rule.map(|rule| rule.priority).or(*counted_priority);
            let cost_kept = inputs.prices.cost(counts.kept, counts.kept_bytes);
            let uses = inputs.usage.map(|usage| usage.events.get(name).copied().unwrap_or_default());
            EventTotals {
                name: name.clone(),
                owner: rule.and_then(|rule| rule.owner.clone()).unwrap_or_else(|| NO_OWNER.to_owned()),
                priority,
                status: status_of(name, rule, inputs.plan.is_some(), *counted_priority),
                sample: rule.map(|rule| f64::from(rule.sample.parts_per_million()) / 1e6),
                offered: counts.offered,
                offered_bytes: counts.offered_bytes,
                kept: counts.kept,
                kept_bytes: counts.kept_bytes,
                kept_weighted: counts.kept_weighted,
                oversize: counts.dropped.oversize,
                oversize_bytes: counts.dropped_bytes.oversize,
                cost_kept,
                cost_share: if totals.cost_kept > 0.0 { cost_kept / totals.cost_kept } else { 0.0 },
                uses,
            }
        })
        .collect()
}

fn useless(events: &[EventTotals], all: &Counts, totals: &Totals, inputs: &ReportInputs<'_>) -> Useless {
    let mut useless = Useless::default();
    let mut useless_bytes = 0;
    let mut unused_events = 0;
    for event in events {
        match event.status {
            "retired" => useless.retired_arriving += event.offered,
            "unregistered" => useless.unregistered_arriving += event.offered,
            "invalid" => useless.invalid_arriving += event.offered,
            _ if event.uses.is_some_and(|uses| uses.total() == 0) => {
                unused_events += event.offered;
                useless.unused_names.push(event.name.clone());
            }
            _ => continue,
        }
        useless_bytes += event.offered_bytes;
    }
    // Invalid names an SDK report counted without naming them.
    let named_invalid: u64 = events.iter().filter(|event| event.status == "invalid").map(|event| event.offered).sum();
    useless.invalid_arriving += all.dropped.invalid_name.saturating_sub(named_invalid);
    useless.unused_events = inputs.usage.map(|_| unused_events);
    useless.total = unused_events + useless.retired_arriving + useless.unregistered_arriving + useless.invalid_arriving;
    useless.share = if totals.offered > 0 { useless.total as f64 / totals.offered as f64 } else { 0.0 };
    useless.cost = inputs.prices.cost(useless.total, useless_bytes);
    useless
}

fn density(windows: &[WindowSummary], rules: &Thresholds) -> Option<Density> {
    let measured: Vec<&WindowSummary> =
        windows.iter().filter(|window| window.events_per_active_hour.is_some()).collect();
    let (first, last) = (measured.first()?, measured.last()?);
    let change = |from: f64, to: f64| if from > 0.0 { (to - from) / from } else { 0.0 };
    let (first_density, last_density) = (first.events_per_active_hour?, last.events_per_active_hour?);
    let change_share = change(first_density, last_density);
    Some(Density {
        first_window: first.label.clone(),
        last_window: last.label.clone(),
        first: first_density,
        last: last_density,
        change_share,
        offered_change_share: change(first.offered as f64, last.offered as f64),
        active_time_change_share: change(first.active_hours?, last.active_hours?),
        alert: measured.len() > 1 && change_share > rules.density_growth_alert,
    })
}

fn savings(all: &Counts, totals: &Totals, prices: &Prices) -> Vec<RuleSaving> {
    DropReason::ALL
        .into_iter()
        .filter(|reason| all.dropped.get(*reason) > 0)
        .map(|reason| {
            let (events, bytes) = (all.dropped.get(reason), all.dropped_bytes.get(reason));
            RuleSaving {
                reason,
                events,
                bytes,
                money: prices.cost(events, bytes),
                share_of_offered: if totals.offered > 0 { events as f64 / totals.offered as f64 } else { 0.0 },
            }
        })
        .collect()
}

fn estimates(events: &[EventTotals]) -> Vec<Estimate> {
    let mut estimates: Vec<Estimate> = events
        .iter()
        .filter(|event| event.kept > 0 && event.kept_weighted > event.kept as f64 * (1.0 + 1e-9))
        .map(|event| Estimate { name: event.name.clone(), kept: event.kept, estimated_true_count: event.kept_weighted })
        .collect();
    estimates.sort_by(|left, right| left.name.cmp(&right.name));
    estimates
}

/// The kept cost at or above which an event is high-cost.
fn high_cost_threshold(events: &[EventTotals], totals: &Totals, rules: &Thresholds) -> f64 {
    if let Some(share) = rules.high_cost_min_share {
        return share * totals.cost_kept;
    }
    let mut costs: Vec<f64> = events.iter().map(|event| event.cost_kept).filter(|cost| *cost > 0.0).collect();
    if costs.is_empty() {
        return f64::INFINITY;
    }
    costs.sort_by(f64::total_cmp);
    // Nearest-rank percentile.
    let rank = ((rules.high_cost_percentile / 100.0) * costs.len() as f64).ceil() as usize;
    costs[rank.clamp(1, costs.len()) - 1]
}

fn candidates(events: &[EventTotals], totals: &Totals, inputs: &ReportInputs<'_>) -> BTreeMap<String, Vec<Candidate>> {
    let mut by_owner: BTreeMap<String, Vec<Candidate>> = BTreeMap::new();
    if inputs.usage.is_none() {
        return by_owner;
    }
    let rules = inputs.rules;
    let threshold = high_cost_threshold(events, totals, rules);
    let days = inputs.usage.map_or(0, |usage| usage.days);
    let currency = &inputs.prices.currency;
    for event in events.iter().filter(|event| event.status == "active" && event.kept > 0) {
        let Some(uses) = event.uses else { continue };
        let high_cost = event.cost_kept > 0.0 && event.cost_kept >= threshold;
        let cost_text = format!(
            "kept {} events costing {:.2} {currency} ({:.1}% of kept cost; high-cost rule: at least {:.2} {currency})",
            event.kept,
            event.cost_kept,
            event.cost_share * 100.0,
            threshold
        );
        let when = format!(
            "after {} confirms, within {} days, in the next plan version; devices and the server filter apply it from then on",
            event.owner, rules.confirm_days
        );
        let path = format!("$.events[\"{}\"]", event.name);
        let candidate = if high_cost && uses.total() <= rules.retire_max_uses {
            Some(Candidate {
                kind: CandidateKind::Retire,
                why: format!(
                    "{cost_text}, and used {} times in {days} days (retire rule: at most {})",
                    uses.total(),
                    rules.retire_max_uses
                ),
                what: "retire the event: stop collecting it".to_owned(),
                how: format!("set {path}.status to \"retired\""),
                saving: Saving { events: event.kept, bytes: event.kept_bytes, money: event.cost_kept },
                ..candidate_for(event, when.clone())
            })
        } else if high_cost
            && event.sample.is_none_or(|rate| rate >= 1.0)
            && uses.realtime_rules == 0
            && (uses.total() as f64) / (event.kept as f64 / 1e6) < rules.sample_max_uses_per_million
        {
            let kept_share = 1.0 - rules.sample_rate;
            Some(Candidate {
                kind: CandidateKind::Sample,
                why: format!(
                    "{cost_text}, {:.2} uses per million events (sample rule: below {}) and no real-time rule reads it",
                    uses.total() as f64 / (event.kept as f64 / 1e6),
                    rules.sample_max_uses_per_million
                ),
                what: format!("sample {}% of units; weights keep totals unbiased", rules.sample_rate * 100.0),
                how: format!("set {path}.sample to {}", rules.sample_rate),
                saving: Saving {
                    events: (event.kept as f64 * kept_share).round() as u64,
                    bytes: (event.kept_bytes as f64 * kept_share).round() as u64,
                    money: event.cost_kept * kept_share,
                },
                ..candidate_for(event, when.clone())
            })
        } else if let (Some(priority @ (Priority::P0 | Priority::P1)), true) =
            (event.priority, uses.total() > rules.retire_max_uses && uses.total() <= rules.downgrade_max_uses)
        {
            let lower = downgraded(priority);
            Some(Candidate {
                kind: CandidateKind::Downgrade,
                why: format!(
                    "{priority} but used only {} times in {days} days (downgrade rule: at most {} for P0/P1)",
                    uses.total(),
                    rules.downgrade_max_uses
                ),
                what: format!("lower to {lower}: shorter retention, slower queues, shed earlier under load"),
                how: format!("set {path}.priority to \"{lower}\""),
                saving: Saving::default(),
                ..candidate_for(event, when.clone())
            })
        } else {
            None
        };
        if let Some(candidate) = candidate {
            by_owner.entry(candidate.owner.clone()).or_default().push(candidate);
        }
    }
    by_owner
}

fn candidate_for(event: &EventTotals, when: String) -> Candidate {
    Candidate {
        kind: CandidateKind::Retire,
        event: event.name.clone(),
        owner: event.owner.clone(),
        why: String::new(),
        what: String::new(),
        how: String::new(),
        when,
        saving: Saving::default(),
    }
}

fn median(values: &mut [u64]) -> f64 {
    values.sort_unstable();
    let middle = values.len() / 2;
    if values.len() % 2 == 1 {
        values[middle] as f64
    } else {
        (values[middle - 1] as f64 + values[middle] as f64) / 2.0
    }
}

fn spikes(windows: &[WindowCounts], rules: &Thresholds) -> Vec<Spike> {
    let mut found = Vec::new();
    if windows.len() < 3 {
        return found;
    }
    let names: std::collections::BTreeSet<&String> = windows.iter().flat_map(|window| window.names.keys()).collect();
    for name in names {
        let counts: Vec<u64> =
            windows.iter().map(|window| window.names.get(name).map_or(0, |counts| counts.counts.offered)).collect();
        for (index, &offered) in counts.iter().enumerate() {
            let mut others: Vec<u64> =
                counts.iter().enumerate().filter(|(other, _)| *other != index).map(|(_, count)| *count).collect();
            let baseline = median(&mut others);
            let factor = offered as f64 / baseline.max(1.0);
            if offered >= rules.spike_min_events && factor > rules.spike_factor {
                found.push(Spike {
                    event: name.clone(),
                    window: windows[index].label.clone(),
                    offered,
                    baseline,
                    factor,
                });
            }
        }
    }
    found
}

fn oversized(events: &[EventTotals], rules: &Thresholds) -> Vec<Oversized> {
    let mut found: Vec<Oversized> = events
        .iter()
        .filter(|event| event.oversize > 0 && event.oversize as f64 / event.offered as f64 >= rules.oversize_min_share)
        .map(|event| Oversized {
            event: event.name.clone(),
            oversize_events: event.oversize,
            oversize_bytes: event.oversize_bytes,
            share: event.oversize as f64 / event.offered as f64,
            average_bytes: event.offered_bytes as f64 / event.offered as f64,
        })
        .collect();
    found.sort_by(|left, right| right.share.total_cmp(&left.share).then_with(|| left.event.cmp(&right.event)));
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&mut [5, 1, 3]), 3.0);
        assert_eq!(median(&mut [4, 1, 3, 2]), 2.5);
    }

    #[test]
    fn high_cost_is_relative_unless_a_share_is_set() {
        let event = |cost_kept: f64| EventTotals {
            name: String::new(),
            owner: String::new(),
            priority: None,
            status: "active",
            sample: None,
            offered: 0,
            offered_bytes: 0,
            kept: 1,
            kept_bytes: 0,
            kept_weighted: 1.0,
            oversize: 0,
            oversize_bytes: 0,
            cost_kept,
            cost_share: 0.0,
            uses: None,
        };
        let events: Vec<EventTotals> = [0.0, 1.0, 2.0, 3.0, 4.0].into_iter().map(event).collect();
        let totals = Totals { cost_kept: 10.0, ..Totals::default() };
        assert_eq!(high_cost_threshold(&events, &totals, &Thresholds::default()), 3.0);
        let fixed = Thresholds { high_cost_min_share: Some(0.5), ..Thresholds::default() };
        assert_eq!(high_cost_threshold(&events, &totals, &fixed), 5.0);
        assert_eq!(high_cost_threshold(&events[..1], &totals, &Thresholds::default()), f64::INFINITY);
    }
}
