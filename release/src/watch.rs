//! The watch: devices on the new version against devices on the previous one, from the drop
//! reports they upload (each names its plan version), judged by guard metrics.
//!
//! A report is one device's window, so "per device" means per report. The guards
//! (`docs/governance.md`, "Watch"), each with a default in [`GuardConfig`]:
//!
//! - **kept P0 per device** (P0 in the previous plan) must not fall by more than
//!   `max_p0_fall` (10 %);
//! - **no drop reason may jump**: a reason's share of offered events may not rise by more than
//!   `max_reason_jump` (2 points), except the reasons the release raises on purpose (retired,
//!   sampled out, shed, unregistered for removed events: [`crate::diff::intended_drops`]);
//! - **the unregistered share may not rise** by more than `max_unregistered_rise` (0.5 point),
//!   names the release removes from the plan aside.
//!
//! Until both cohorts hold `min_reports` reports the verdict is [`Verdict::NotEnough`]: the
//! rollout waits rather than move on without evidence.
//!
//! **Noise.** A first step reaches few devices, and their counts vary: comparing raw means
//! would halt good releases by chance. A guard breaches only when the difference exceeds its
//! limit by more than `noise_z` standard errors (2.33 by default: a one-sided test at about
//! 1 %). The kept-P0 guard takes its standard error from the per-report spread of each cohort
//! (Welch), never below a Poisson count's spread: the previous cohort's variance is at least its
//! mean, and the new cohort's at least the previous one's scaled to the mean the guard tests
//! for (`keep × variance before`), since a small cohort that by chance holds few of a rare,
//! bursty event also has little spread of its own; the share guards treat events as independent (binomial), an approximation that
//! understates the noise when one device sends many events. `noise_z = 0` compares the raw
//! values.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use trackgate_core::{DropReason, DropReport, Priority, ReasonCounts};

use crate::diff::intended_drops;
use crate::error::ReleaseError;
use crate::record::ReleaseRecord;

/// Thresholds of the guard metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GuardConfig {
    /// Largest relative fall of kept P0 events per device (0.1 = 10 %).
    pub max_p0_fall: f64,
    /// Largest rise of any drop reason's share of offered events, in shares (0.02 = 2 points).
    pub max_reason_jump: f64,
    /// Largest rise of the unregistered share of offered events (0.005 = 0.5 point).
    pub max_unregistered_rise: f64,
    /// Reports each cohort needs before the watch judges.
    pub min_reports: u64,
    /// How far before the rollout's start reports of the previous version count (seconds).
    pub baseline_seconds: u64,
    /// Standard errors by which a difference must exceed its limit to breach (0: none).
    pub noise_z: f64,
}

impl Default for GuardConfig {
    fn default() -> Self {
        GuardConfig {
            max_p0_fall: 0.10,
            max_reason_jump: 0.02,
            max_unregistered_rise: 0.005,
            min_reports: 20,
            baseline_seconds: 24 * 3600,
            noise_z: 2.33,
        }
    }
}

impl GuardConfig {
    /// Refuses shares outside [0, 1] and a zero report minimum.
    pub fn check(&self) -> Result<(), ReleaseError> {
        for (field, value) in [
            ("max_p0_fall", self.max_p0_fall),
            ("max_reason_jump", self.max_reason_jump),
            ("max_unregistered_rise", self.max_unregistered_rise),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(ReleaseError::Config {
                    field: format!("$.guards.{field}"),
                    problem: format!("a share from 0 to 1, got {value}"),
                });
            }
        }
        if !(0.0..=10.0).contains(&self.noise_z) {
            return Err(ReleaseError::Config {
                field: "$.guards.noise_z".to_owned(),
                problem: format!("standard errors from 0 to 10, got {}", self.noise_z),
            });
        }
        if self.min_reports == 0 {
            return Err(ReleaseError::Config {
                field: "$.guards.min_reports".to_owned(),
                problem: "at least 1 report per cohort".to_owned(),
            });
        }
        Ok(())
    }
}

/// The reports of one plan version, summed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Cohort {
    /// Reports (device windows).
    pub reports: u64,
    /// Events offered.
    pub offered: u64,
    /// Kept occurrences of the previous plan's P0 events.
    pub kept_p0: u64,
    /// The sum over reports of each report's kept P0 occurrences squared (for the spread).
    #[serde(default)]
    pub kept_p0_squares: f64,
    /// Drops by reason.
    pub dropped: ReasonCounts,
    /// Occurrences of unregistered names (kept or dropped), removed names aside.
    pub unregistered: u64,
}

impl Cohort {
    fn add(&mut self, report: &DropReport, p0: &BTreeSet<&str>, removed: &BTreeSet<String>) {
        self.reports += 1;
        self.offered = self.offered.saturating_add(report.offered);
        self.dropped.merge(&report.dropped);
        let mut kept_p0 = 0u64;
        for event in &report.events {
            if p0.contains(event.name.as_str()) {
                kept_p0 = kept_p0.saturating_add(event.kept);
            }
        }
        self.kept_p0 = self.kept_p0.saturating_add(kept_p0);
        self.kept_p0_squares += (kept_p0 as f64) * (kept_p0 as f64);
        let mut unregistered = report.unregistered_overflow;
        for name in &report.unregistered {
            if !removed.contains(&name.name) {
                unregistered = unregistered.saturating_add(name.kept.saturating_add(name.dropped));
            }
        }
        self.unregistered = self.unregistered.saturating_add(unregistered);
    }

    /// Kept P0 events per report.
    pub fn kept_p0_per_device(&self) -> f64 {
        if self.reports == 0 {
            0.0
        } else {
            self.kept_p0 as f64 / self.reports as f64
        }
    }

    /// The sample variance of kept P0 events per report, never less than `floor` (0 below two
    /// reports).
    fn kept_p0_variance(&self, floor: f64) -> f64 {
        if self.reports < 2 {
            return 0.0;
        }
        let n = self.reports as f64;
        let mean = self.kept_p0 as f64 / n;
        ((self.kept_p0_squares - n * mean * mean) / (n - 1.0)).max(0.0).max(floor)
    }

    /// The squared standard error of a share `p` of this cohort's offered events (binomial).
    fn share_variance(&self, p: f64) -> f64 {
        if self.offered == 0 {
            0.0
        } else {
            p * (1.0 - p) / self.offered as f64
        }
    }

    /// A count's share of offered events.
    fn share(&self, count: u64) -> f64 {
        if self.offered == 0 {
            0.0
        } else {
            count as f64 / self.offered as f64
        }
    }

    /// The share of offered events dropped for `reason`.
    pub fn reason_share(&self, reason: DropReason) -> f64 {
        self.share(self.dropped.get(reason))
    }

    /// The share of offered events with unregistered names.
    pub fn unregistered_share(&self) -> f64 {
        self.share(self.unregistered)
    }
}

/// What the watch concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Both cohorts are large enough and no guard breached.
    Clean,
    /// A guard breached: halt and roll back.
    Breach,
    /// Not enough reports yet to judge.
    NotEnough,
}

/// One evaluation of the guards.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatchReport {
    /// When it was evaluated (Unix seconds).
    pub at: u64,
    /// Devices on the new version since the step started.
    pub new: Cohort,
    /// Devices on the previous version since the baseline began.
    pub old: Cohort,
    /// The conclusion.
    pub verdict: Verdict,
    /// Each breached guard, in words; empty unless `verdict` is `Breach`.
    pub breaches: Vec<String>,
}

impl WatchReport {
    /// One line: cohort sizes and the guard values.
    pub fn summary(&self) -> String {
        format!(
            "new: {} reports, {:.2} kept P0/device; previous: {} reports, {:.2} kept P0/device",
            self.new.reports,
            self.new.kept_p0_per_device(),
            self.old.reports,
            self.old.kept_p0_per_device()
        )
    }
}

/// Evaluates the guards of `record` over `reports` at `now`: new-version reports whose window
/// ended in `[step_started_at, now]`, previous-version ones whose window ended in
/// `[rollout_started_at - baseline_seconds, now]`. Reports of other scopes, versions or shadow
/// plans are ignored.
pub fn evaluate<'r>(
    record: &ReleaseRecord,
    reports: impl IntoIterator<Item = &'r DropReport>,
    rollout_started_at: u64,
    step_started_at: u64,
    now: u64,
) -> WatchReport {
    let guards = &record.guards;
    let p0: BTreeSet<&str> = record
        .previous
        .events
        .iter()
        .filter(|(_, rule)| rule.priority == Priority::P0)
        .map(|(name, _)| name.as_str())
        .collect();
    let (intended, removed) = intended_drops(&record.previous, &record.next);
    let (mut new, mut old) = (Cohort::default(), Cohort::default());
    let old_since = rollout_started_at.saturating_sub(guards.baseline_seconds);
    for report in reports {
        if report.app != record.app || report.env != record.env || report.shadow {
            continue;
        }
        let ended = report.window_end_unix_ms / 1000;
        if ended > now {
            continue;
        }
        if report.plan_version == record.to_version && ended >= step_started_at {
            new.add(report, &p0, &removed);
        } else if report.plan_version == record.from_version && ended >= old_since {
            old.add(report, &p0, &removed);
        }
    }
    if new.reports < guards.min_reports || old.reports < guards.min_reports {
        return WatchReport { at: now, new, old, verdict: Verdict::NotEnough, breaches: Vec::new() };
    }
    let mut breaches = Vec::new();
    let z = guards.noise_z;
    let (before, after) = (old.kept_p0_per_device(), new.kept_p0_per_device());
    let keep = 1.0 - guards.max_p0_fall;
    // Counts of events vary at least as Poisson counts do (variance ≥ mean), and under the
    // guard's hypothesis (the new mean is `keep * before`) the new cohort's reports spread at
    // least as the previous cohort's do, scaled with the mean as a Poisson spread is: a small
    // cohort that by chance holds few of a rare, bursty event has little spread of its own.
    let old_variance = old.kept_p0_variance(before);
    let new_variance = new.kept_p0_variance(keep * old_variance);
    let noise =
        (new_variance / new.reports.max(1) as f64 + keep * keep * old_variance / old.reports.max(1) as f64).sqrt();
    if before > 0.0 && before * keep - after > z * noise {
        breaches.push(format!(
            "kept P0 events per device fell {:.1}% ({before:.2} → {after:.2}; limit {:.1}%)",
            (before - after) / before * 100.0,
            guards.max_p0_fall * 100.0
        ));
    }
    for reason in DropReason::ALL {
        if intended.contains(&reason) {
            continue;
        }
        let (before, after) = (old.reason_share(reason), new.reason_share(reason));
        let noise = (new.share_variance(after) + old.share_variance(before)).sqrt();
        if after - before - guards.max_reason_jump > z * noise {
            breaches.push(format!(
                "drop reason {} jumped from {:.2}% to {:.2}% of offered events (limit +{:.2} points)",
                reason.as_str(),
                before * 100.0,
                after * 100.0,
                guards.max_reason_jump * 100.0
            ));
        }
    }
    let (before, after) = (old.unregistered_share(), new.unregistered_share());
    let noise = (new.share_variance(after) + old.share_variance(before)).sqrt();
    if after - before - guards.max_unregistered_rise > z * noise {
        breaches.push(format!(
            "unregistered share rose from {:.2}% to {:.2}% of offered events (limit +{:.2} points)",
            before * 100.0,
            after * 100.0,
            guards.max_unregistered_rise * 100.0
        ));
    }
    let verdict = if breaches.is_empty() { Verdict::Clean } else { Verdict::Breach };
    WatchReport { at: now, new, old, verdict, breaches }
}
