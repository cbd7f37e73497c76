//! The drop report: what the gate kept and dropped in one window, ready to upload as an event.
//!
//! Built by [`crate::Engine::take_report`] off the hot path. Plain serde types, so hosts encode
//! them however they upload (JSON in the CLI and bindings).

use serde::{Deserialize, Serialize};

use crate::plan::Priority;
use crate::reason::DropReason;

/// Counts per drop reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReasonCounts {
    /// Kill switch on.
    pub disabled: u64,
    /// Name broke the naming rules.
    pub invalid_name: u64,
    /// Not in the plan.
    pub unregistered: u64,
    /// Retired event.
    pub retired: u64,
    /// Priority shed.
    pub shed: u64,
    /// Over its size cap.
    pub oversize: u64,
    /// Not in the sample.
    pub sampled_out: u64,
    /// Token bucket empty.
    pub rate_limited: u64,
}

impl ReasonCounts {
    /// The count for one reason.
    pub fn get(&self, reason: DropReason) -> u64 {
        match reason {
            DropReason::Disabled => self.disabled,
            DropReason::InvalidName => self.invalid_name,
            DropReason::Unregistered => self.unregistered,
            DropReason::Retired => self.retired,
            DropReason::Shed => self.shed,
            DropReason::Oversize => self.oversize,
            DropReason::SampledOut => self.sampled_out,
            DropReason::RateLimited => self.rate_limited,
        }
    }

    /// Adds to the count for one reason.
    pub fn add(&mut self, reason: DropReason, count: u64) {
        let slot = match reason {
            DropReason::Disabled => &mut self.disabled,
            DropReason::InvalidName => &mut self.invalid_name,
            DropReason::Unregistered => &mut self.unregistered,
            DropReason::Retired => &mut self.retired,
            DropReason::Shed => &mut self.shed,
            DropReason::Oversize => &mut self.oversize,
            DropReason::SampledOut => &mut self.sampled_out,
            DropReason::RateLimited => &mut self.rate_limited,
        };
        *slot = slot.saturating_add(count);
    }

    /// Adds every count of `other`.
    pub fn merge(&mut self, other: &ReasonCounts) {
        for reason in DropReason::ALL {
            self.add(reason, other.get(reason));
        }
    }

    /// All reasons together.
    pub fn total(&self) -> u64 {
        DropReason::ALL.iter().map(|reason| self.get(*reason)).fold(0, u64::saturating_add)
    }
}

/// One registered event's counts in the window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EventReport {
    /// Event name.
    pub name: String,
    /// Priority in the newest plan that counted it.
    pub priority: Option<Priority>,
    /// Occurrences sent.
    pub kept: u64,
    /// Bytes sent.
    pub kept_bytes: u64,
    /// Sum of the sampling weights of the occurrences sent: the estimate of how many reached
    /// the sampler.
    pub kept_weighted: f64,
    /// Occurrences dropped, by reason.
    pub dropped: ReasonCounts,
    /// Bytes dropped.
    pub dropped_bytes: u64,
    /// Occurrences a shadow plan kept but would have dropped, by reason.
    pub shadow_dropped: ReasonCounts,
}

/// One unregistered name's counts in the window.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnregisteredReport {
    /// The name as the app sent it.
    pub name: String,
    /// Occurrences kept (plans with `unregistered: keep`).
    pub kept: u64,
    /// Occurrences dropped.
    pub dropped: u64,
    /// Occurrences a shadow plan kept but would have dropped.
    pub shadow_dropped: u64,
    /// Bytes of all occurrences.
    pub bytes: u64,
}

/// Everything the gate decided in one window. `offered = kept + dropped.total()`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DropReport {
    /// App of the active plan.
    pub app: String,
    /// Environment of the active plan.
    pub env: String,
    /// Version of the plan active when the report was taken.
    pub plan_version: u64,
    /// Whether that plan is a shadow plan.
    pub shadow: bool,
    /// Window start, Unix milliseconds.
    pub window_start_unix_ms: u64,
    /// Window end, Unix milliseconds.
    pub window_end_unix_ms: u64,
    /// Events offered to the gate.
    pub offered: u64,
    /// Events kept.
    pub kept: u64,
    /// Bytes kept.
    pub kept_bytes: u64,
    /// Events dropped, by reason.
    pub dropped: ReasonCounts,
    /// Bytes dropped (the saving).
    pub dropped_bytes: u64,
    /// Events shadow plans kept but would have dropped, by reason.
    pub shadow_dropped: ReasonCounts,
    /// Per registered event, only those with activity, by name.
    pub events: Vec<EventReport>,
    /// Per unregistered name (the first ones of the window), by name.
    pub unregistered: Vec<UnregisteredReport>,
    /// Occurrences of unregistered names beyond the table's capacity.
    pub unregistered_overflow: u64,
}
