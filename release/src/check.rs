//! The check stage: risk rules over the previous and next plan, usage and projected volume.
//!
//! Each rule has a severity (`block`, `warn` or `off`, configurable in [`CheckConfig`]); a
//! `block` finding stops the release at the check. The rules (`docs/governance.md`, "Check"):
//!
//! | rule | default | finds |
//! |---|---|---|
//! | `recent_usage` | block | an event retired, removed or sampled down although `usage.json` shows it read |
//! | `p0_reduced` | block | an event that was P0 now retired, removed, sampled, shed or downgraded |
//! | `realtime_read` | block | an event a real-time (routing) rule reads now removed, retired or sampled down |
//! | `no_owner` | warn | an active event of the next plan without an owner |
//! | `volume_change` | warn | projected kept events or bytes per day change by more than `max_volume_change` |
//!
//! Without `usage.json` the usage rules cannot judge: the check says so with a warning.

use serde::{Deserialize, Serialize};
use trackgate_core::plan::EventStatus;
use trackgate_core::{Plan, Priority};
use trackgate_usage::analysis::UsageFile;

use crate::diff::{diff, keep_share, Baseline, CostModel};
use crate::error::ReleaseError;

/// What a finding does to the release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Stops the release at the check.
    Block,
    /// Recorded and shown; the release may go on.
    Warn,
    /// The rule does not run.
    Off,
}

/// The risk rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskRule {
    /// Retiring, removing or sampling down an event with recent usage.
    RecentUsage,
    /// Reducing what is kept of a P0 event.
    P0Reduced,
    /// Removing, retiring or sampling down an event a real-time rule reads.
    RealtimeRead,
    /// An active event without an owner.
    NoOwner,
    /// Projected kept events or bytes per day changing beyond the threshold.
    VolumeChange,
    /// An input the check needs is missing (always a warning).
    MissingInput,
}

impl RiskRule {
    /// The rule's name in configs and output.
    pub fn as_str(self) -> &'static str {
        match self {
            RiskRule::RecentUsage => "recent_usage",
            RiskRule::P0Reduced => "p0_reduced",
            RiskRule::RealtimeRead => "realtime_read",
            RiskRule::NoOwner => "no_owner",
            RiskRule::VolumeChange => "volume_change",
            RiskRule::MissingInput => "missing_input",
        }
    }
}

/// Severities and thresholds of the rules (`--check-config FILE`, every field optional).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CheckConfig {
    /// Severity of `recent_usage`.
    pub recent_usage: Severity,
    /// Severity of `p0_reduced`.
    pub p0_reduced: Severity,
    /// Severity of `realtime_read`.
    pub realtime_read: Severity,
    /// Severity of `no_owner`.
    pub no_owner: Severity,
    /// Severity of `volume_change`.
    pub volume_change: Severity,
    /// Largest relative change of projected kept events or bytes per day (0.3 = ±30 %).
    pub max_volume_change: f64,
}

impl Default for CheckConfig {
    fn default() -> Self {
        CheckConfig {
            recent_usage: Severity::Block,
            p0_reduced: Severity::Block,
            realtime_read: Severity::Block,
            no_owner: Severity::Warn,
            volume_change: Severity::Warn,
            max_volume_change: 0.3,
        }
    }
}

impl CheckConfig {
    /// Refuses a threshold that is negative or not a number.
    pub fn check(&self) -> Result<(), ReleaseError> {
        if !(self.max_volume_change.is_finite() && self.max_volume_change >= 0.0) {
            return Err(ReleaseError::Config {
                field: "$.max_volume_change".to_owned(),
                problem: "a share (0.3 = 30 %), not negative".to_owned(),
            });
        }
        Ok(())
    }

    fn severity(&self, rule: RiskRule) -> Severity {
        match rule {
            RiskRule::RecentUsage => self.recent_usage,
            RiskRule::P0Reduced => self.p0_reduced,
            RiskRule::RealtimeRead => self.realtime_read,
            RiskRule::NoOwner => self.no_owner,
            RiskRule::VolumeChange => self.volume_change,
            RiskRule::MissingInput => Severity::Warn,
        }
    }
}

/// One risk found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The rule.
    pub rule: RiskRule,
    /// Its severity when found.
    pub severity: Severity,
    /// The event concerned, when one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// What and why, in one line.
    pub message: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let severity = if self.severity == Severity::Block { "block" } else { "warn" };
        write!(formatter, "{severity} {}: {}", self.rule.as_str(), self.message)
    }
}

/// What the check reads besides the plans.
#[derive(Debug, Clone, Copy)]
pub struct CheckInputs<'a> {
    /// `usage.json` from `trackgate usage`.
    pub usage: Option<&'a UsageFile>,
    /// Offered volume, for the projection.
    pub baseline: &'a Baseline,
    /// Prices (only needed for the diff; the check compares volumes).
    pub costs: &'a CostModel,
}

/// How `next` reduces an event's kept share, if it does: `removed`, `retired`, `sampled to X`,
/// `shed`, or `None`.
fn reduction(previous: &Plan, next: &Plan, name: &str) -> Option<String> {
    let Some(after) = next.events.get(name) else { return Some("removed".to_owned()) };
    let before = previous.events.get(name)?;
    if after.status == EventStatus::Retired && before.status != EventStatus::Retired {
        return Some("retired".to_owned());
    }
    if after.sample.parts_per_million() < before.sample.parts_per_million() {
        return Some(format!("sampled {} → {}", before.sample, after.sample));
    }
    if keep_share(next, name) < keep_share(previous, name) {
        return Some("shed".to_owned());
    }
    None
}

/// Runs every rule that is not off.
pub fn run_check(previous: &Plan, next: &Plan, config: &CheckConfig, inputs: CheckInputs<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut find = |rule: RiskRule, event: Option<&str>, message: String| {
        let severity = config.severity(rule);
        if severity != Severity::Off {
            findings.push(Finding { rule, severity, event: event.map(str::to_owned), message });
        }
    };
    let active_before = previous.events.iter().filter(|(_, rule)| rule.status == EventStatus::Active);
    for (name, before) in active_before {
        let Some(how) = reduction(previous, next, name) else { continue };
        if before.priority == Priority::P0 {
            find(RiskRule::P0Reduced, Some(name), format!("{name} is P0 and would be {how}"));
        }
        if let Some(uses) = inputs.usage.and_then(|usage| usage.events.get(name)) {
            let reads = uses.warehouse_queries + uses.behaviour_queries;
            if reads > 0 {
                find(
                    RiskRule::RecentUsage,
                    Some(name),
                    format!(
                        "{name} would be {how} but was read {reads} time(s) in the last {} days",
                        usage_days(inputs)
                    ),
                );
            }
            if uses.realtime_rules > 0 {
                find(
                    RiskRule::RealtimeRead,
                    Some(name),
                    format!("{name} would be {how} but {} real-time rule(s) read it", uses.realtime_rules),
                );
            }
        }
    }
    for (name, before) in &previous.events {
        let after = next.events.get(name);
        let downgraded = after.is_some_and(|after| after.priority > before.priority && before.priority == Priority::P0);
        if downgraded && reduction(previous, next, name).is_none() {
            find(
                RiskRule::P0Reduced,
                Some(name),
                format!("{name} is downgraded from P0, so shedding can drop it from now on"),
            );
        }
    }
    if inputs.usage.is_none() {
        find(
            RiskRule::MissingInput,
            None,
            "no usage.json given (--usage): recent_usage and realtime_read could not judge".to_owned(),
        );
    }
    for (name, rule) in &next.events {
        let owned = rule.owner.as_deref().is_some_and(|owner| !owner.trim().is_empty());
        if rule.status == EventStatus::Active && !owned {
            find(RiskRule::NoOwner, Some(name), format!("{name} has no owner"));
        }
    }
    if inputs.baseline.days() == 0 {
        find(
            RiskRule::MissingInput,
            None,
            "no filter stats or drop reports given: volume_change could not judge".to_owned(),
        );
    } else {
        let projected = diff(previous, next, inputs.baseline, inputs.costs);
        for (what, change) in [("events", projected.events_change()), ("bytes", projected.bytes_change())] {
            if change.abs() > config.max_volume_change {
                find(
                    RiskRule::VolumeChange,
                    None,
                    format!(
                        "projected kept {what} per day change by {:+.1}% (limit ±{:.1}%)",
                        change * 100.0,
                        config.max_volume_change * 100.0
                    ),
                );
            }
        }
    }
    findings
}

fn usage_days(inputs: CheckInputs<'_>) -> u32 {
    inputs.usage.map_or(0, |usage| usage.days)
}

/// The blocking findings, one line each.
pub fn blocking(findings: &[Finding]) -> Vec<String> {
    findings.iter().filter(|finding| finding.severity == Severity::Block).map(ToString::to_string).collect()
}
