//! The governance rules that turn metrics into candidates and alerts (`--rules FILE`).
//!
//! A team tunes them in a JSON file (supervised); every field is optional and the defaults work
//! without any tuning (unsupervised): "high cost" is then relative to the data (the top quarter
//! of events by cost) rather than a fixed share. Unknown fields are refused, so a misspelt
//! threshold is never silently ignored. Pure data: no I/O beyond the caller's read.

use std::path::Path;

use serde::{Deserialize, Serialize};
use trackgate_core::Priority;

use crate::Failure;

/// Thresholds of the candidate and anomaly rules. See `docs/report.md` for each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Thresholds {
    /// An event is high-cost when its kept cost is at or above this percentile of the events'
    /// kept costs (0-100). Used when `high_cost_min_share` is not set.
    pub high_cost_percentile: f64,
    /// A fixed alternative: high-cost when its share of the total kept cost is at least this.
    pub high_cost_min_share: Option<f64>,
    /// Retire: a high-cost event with at most this many uses in the usage period.
    pub retire_max_uses: u64,
    /// Sample: a high-cost, unsampled event with fewer uses per million kept events than this,
    /// and no real-time rule consuming it.
    pub sample_max_uses_per_million: f64,
    /// The rate suggested to sampling candidates.
    pub sample_rate: f64,
    /// Downgrade: a P0 or P1 event with at most this many uses (and more than `retire_max_uses`).
    pub downgrade_max_uses: u64,
    /// A window's count is a spike when above this multiple of the event's median over the
    /// other windows.
    pub spike_factor: f64,
    /// Counts below this are never spikes (noise).
    pub spike_min_events: u64,
    /// Oversize alert: share of an event's offered occurrences dropped as oversize.
    pub oversize_min_share: f64,
    /// Density alert: events per active hour rising by more than this share first to last window.
    pub density_growth_alert: f64,
    /// Days owners have to confirm a candidate before it goes into the plan.
    pub confirm_days: u32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            high_cost_percentile: 75.0,
            high_cost_min_share: None,
            retire_max_uses: 0,
            sample_max_uses_per_million: 1.0,
            sample_rate: 0.1,
            downgrade_max_uses: 3,
            spike_factor: 3.0,
            spike_min_events: 100,
            oversize_min_share: 0.01,
            density_growth_alert: 0.2,
            confirm_days: 14,
        }
    }
}

/// The priority a downgrade candidate is moved to.
pub fn downgraded(priority: Priority) -> Priority {
    match priority {
        Priority::P0 => Priority::P1,
        _ => Priority::P2,
    }
}

impl Thresholds {
    /// Refuses thresholds outside their range, naming the field.
    pub fn check(&self, path: &Path) -> Result<(), Failure> {
        let problem =
            |field: &str, range: &str| Err(Failure::refused(format!("{}: $.{field}: must be {range}", path.display())));
        if !(0.0..=100.0).contains(&self.high_cost_percentile) {
            return problem("high_cost_percentile", "between 0 and 100");
        }
        if self.high_cost_min_share.is_some_and(|share| !(0.0..=1.0).contains(&share)) {
            return problem("high_cost_min_share", "between 0 and 1");
        }
        if !(self.sample_rate > 0.0 && self.sample_rate < 1.0) {
            return problem("sample_rate", "above 0 and below 1");
        }
        if !(self.spike_factor > 1.0 && self.spike_factor.is_finite()) {
            return problem("spike_factor", "above 1");
        }
        for (field, value) in [
            ("sample_max_uses_per_million", self.sample_max_uses_per_million),
            ("oversize_min_share", self.oversize_min_share),
            ("density_growth_alert", self.density_growth_alert),
        ] {
            if !(value >= 0.0 && value.is_finite()) {
                return problem(field, "a number >= 0");
            }
        }
        Ok(())
    }
}
