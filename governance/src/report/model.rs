//! The governance report's data model: what `trackgate report --json` writes and what
//! `trackgate propose` reads back.
//!
//! One definition for both directions (serde `Serialize` and `Deserialize`), so the report a
//! proposal is made from is read with the very types that wrote it. Pure data.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use trackgate_core::{DropReason, Priority};

use super::inputs::EventUsage;
use super::rules::Thresholds;
use crate::edit::PlanEdit;

/// The `format` of the JSON report.
pub const REPORT_FORMAT: &str = "trackgate-report/1";

/// Owner shown for events whose plan entry names none (or when no plan is given).
pub const NO_OWNER: &str = "(no owner)";

/// Everything the report shows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GovernanceReport {
    /// [`REPORT_FORMAT`].
    pub format: String,
    /// Currency code of every amount.
    pub currency: String,
    /// Sums over every window.
    pub totals: Totals,
    /// Each window (a UTC day or a `--window` label), in label order.
    pub windows: Vec<WindowSummary>,
    /// Offered volume from the first window to the last.
    pub trend: Trend,
    /// Offered events nobody uses or that should not arrive.
    pub useless: Useless,
    /// Events per active hour (with usage active hours).
    pub density: Option<Density>,
    /// What each drop rule saved.
    pub savings: Vec<RuleSaving>,
    /// Per event name, highest kept cost first.
    pub events: Vec<EventTotals>,
    /// Weighted estimates of sampled events' true counts.
    pub sampled_estimates: Vec<Estimate>,
    /// Proposed plan changes, grouped by owner.
    pub candidates_by_owner: BTreeMap<String, Vec<Candidate>>,
    /// Spikes and oversized events.
    pub anomalies: Anomalies,
    /// The thresholds the candidates and anomalies were computed with.
    pub rules: Thresholds,
    /// What the report could not compute and why.
    pub notes: Vec<String>,
}

/// Sums over every window.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Totals {
    /// Events offered to the gates.
    pub offered: u64,
    /// Their bytes.
    pub offered_bytes: u64,
    /// Events kept.
    pub kept: u64,
    /// Their bytes.
    pub kept_bytes: u64,
    /// Sum of the kept events' sampling weights.
    pub kept_weighted: f64,
    /// Events dropped, every reason.
    pub dropped: u64,
    /// Their bytes.
    pub dropped_bytes: u64,
    /// Lines the filter could not read.
    pub malformed_lines: u64,
    /// What the offered events would cost without the gate.
    pub cost_offered: f64,
    /// What the kept events cost.
    pub cost_kept: f64,
    /// `cost_offered - cost_kept`.
    pub saving: f64,
}

/// One window's volume and cost.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WindowSummary {
    /// The window's label (a UTC day or the filter's `--window`).
    pub label: String,
    /// The counts files that made it.
    pub files: Vec<String>,
    /// Events offered.
    pub offered: u64,
    /// Their bytes.
    pub offered_bytes: u64,
    /// Events kept.
    pub kept: u64,
    /// Their bytes.
    pub kept_bytes: u64,
    /// Events dropped.
    pub dropped: u64,
    /// Their bytes.
    pub dropped_bytes: u64,
    /// Cost of the offered events.
    pub cost_offered: f64,
    /// Cost of the kept events.
    pub cost_kept: f64,
    /// User active time, from usage.
    pub active_hours: Option<f64>,
    /// Offered events per active hour.
    pub events_per_active_hour: Option<f64>,
}

/// How offered volume moved from the first window to the last.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Trend {
    /// Label of the first window.
    pub first_window: Option<String>,
    /// Label of the last window.
    pub last_window: Option<String>,
    /// Offered events in the first window.
    pub first_offered: u64,
    /// Offered events in the last window.
    pub last_offered: u64,
    /// `(last - first) / first`; `None` with one window or an empty first window.
    pub change_share: Option<f64>,
    /// `rising`, `falling`, `flat` (within 5 %) or `single window`.
    pub direction: String,
}

/// Offered events nobody uses or that should not arrive at all.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Useless {
    /// Active registered events with no use in the usage period (`None` without `--usage`).
    pub unused_events: Option<u64>,
    /// Occurrences of retired events still arriving.
    pub retired_arriving: u64,
    /// Occurrences of valid names that are not in the plan.
    pub unregistered_arriving: u64,
    /// Occurrences of names that break the naming rules.
    pub invalid_arriving: u64,
    /// All of the above.
    pub total: u64,
    /// `total / offered`.
    pub share: f64,
    /// What the useless occurrences cost as offered.
    pub cost: f64,
    /// The unused event names (with `--usage`), highest volume first.
    pub unused_names: Vec<String>,
}

/// Events per hour of user activity, so volume growing faster than usage stands out.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Density {
    /// First window with active hours.
    pub first_window: String,
    /// Last window with active hours.
    pub last_window: String,
    /// Density in the first window.
    pub first: f64,
    /// Density in the last window.
    pub last: f64,
    /// Relative change of the density.
    pub change_share: f64,
    /// Relative change of offered events.
    pub offered_change_share: f64,
    /// Relative change of active time.
    pub active_time_change_share: f64,
    /// Whether density rose by more than the rules allow.
    pub alert: bool,
}

/// What one rule saved over all windows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RuleSaving {
    /// The drop rule.
    pub reason: DropReason,
    /// Events it dropped.
    pub events: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Their cost.
    pub money: f64,
    /// Share of offered events this rule dropped.
    pub share_of_offered: f64,
}

/// Where an event name stands against the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NameStatus {
    /// Registered and active.
    Active,
    /// Registered and retired.
    Retired,
    /// A valid name the plan does not hold.
    Unregistered,
    /// A name that breaks the naming rules.
    Invalid,
}

impl NameStatus {
    /// `active`, `retired`, `unregistered` or `invalid`.
    pub fn as_str(self) -> &'static str {
        match self {
            NameStatus::Active => "active",
            NameStatus::Retired => "retired",
            NameStatus::Unregistered => "unregistered",
            NameStatus::Invalid => "invalid",
        }
    }
}

impl std::fmt::Display for NameStatus {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// One event name over all windows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventTotals {
    /// The event name.
    pub name: String,
    /// Its owner, or [`NO_OWNER`].
    pub owner: String,
    /// Its priority (the plan's, else the counts').
    pub priority: Option<Priority>,
    /// Where it stands against the plan.
    pub status: NameStatus,
    /// The plan's sampling rate (1 when not sampled; `None` when not in the plan or no plan).
    pub sample: Option<f64>,
    /// Events offered.
    pub offered: u64,
    /// Their bytes.
    pub offered_bytes: u64,
    /// Events kept.
    pub kept: u64,
    /// Their bytes.
    pub kept_bytes: u64,
    /// Sum of the kept events' weights.
    pub kept_weighted: f64,
    /// Events dropped as oversize.
    pub oversize: u64,
    /// Their bytes.
    pub oversize_bytes: u64,
    /// Cost of the kept events.
    pub cost_kept: f64,
    /// Share of the total kept cost.
    pub cost_share: f64,
    /// Uses in the usage period (`None` without usage).
    pub uses: Option<EventUsage>,
}

/// The weighted estimate of a sampled event's true count.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Estimate {
    /// The event name.
    pub name: String,
    /// Events kept.
    pub kept: u64,
    /// Sum of the weights of kept occurrences (Horvitz–Thompson).
    pub estimated_true_count: f64,
}

/// What a candidate proposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CandidateKind {
    /// Stop collecting the event.
    Retire,
    /// Keep a share of units.
    Sample,
    /// Lower its priority.
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

impl std::fmt::Display for CandidateKind {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// What a candidate would save over the report's windows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Saving {
    /// Events no longer kept.
    pub events: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Their cost.
    pub money: f64,
}

/// A proposed plan change, for its owner to confirm.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Candidate {
    /// What it proposes.
    pub kind: CandidateKind,
    /// The event name.
    pub event: String,
    /// The event's owner.
    pub owner: String,
    /// The exact plan edit (what `how` says in words).
    pub edit: PlanEdit,
    /// Why: the measurements and the rule they crossed.
    pub why: String,
    /// What to change.
    pub what: String,
    /// How: the plan edit.
    pub how: String,
    /// When: the confirmation and rollout.
    pub when: String,
    /// What it would save over the report's windows.
    pub saving: Saving,
}

/// Abnormal data.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Anomalies {
    /// Windows far above an event's baseline.
    pub spikes: Vec<Spike>,
    /// Events often over their size cap.
    pub oversized: Vec<Oversized>,
}

/// A window whose count is far above the event's own baseline.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Spike {
    /// The event name.
    pub event: String,
    /// The window's label.
    pub window: String,
    /// Events offered in that window.
    pub offered: u64,
    /// Median of the event's offered counts over the other windows.
    pub baseline: f64,
    /// `offered / baseline`.
    pub factor: f64,
}

/// An event whose occurrences are often over its size cap.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Oversized {
    /// The event name.
    pub event: String,
    /// Occurrences dropped as oversize.
    pub oversize_events: u64,
    /// Their bytes.
    pub oversize_bytes: u64,
    /// Share of offered occurrences dropped as oversize.
    pub share: f64,
    /// Average offered size, in bytes.
    pub average_bytes: f64,
}
