//! The drop report: what the gate kept and dropped in one window, ready to upload as an event.
//!
//! Built by [`crate::Engine::take_report`] off the hot path, with [`ReportBuilder`] (below),
//! which merges counts harvested from snapshots and lanes. Plain serde types, so hosts encode
//! them however they upload (JSON in the CLI and bindings).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::compile::CompiledPlan;
use crate::counters::EventCounts;
use crate::plan::Priority;
use crate::reason::DropReason;
use crate::sampling::weight_for_floor;
use crate::unregistered::{HandlingCounts, UnregisteredCounts, UnregisteredTable};

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

/// Merges counts harvested from any number of snapshots and lanes into one report
/// (`Engine::take_report`, off the hot path).
#[derive(Default)]
pub(crate) struct ReportBuilder {
    events: BTreeMap<String, EventReport>,
    unregistered: BTreeMap<String, UnregisteredReport>,
    unregistered_overflow: u64,
    totals: DropReport,
}

impl ReportBuilder {
    fn add_drops(&mut self, shadow: bool, name: Option<&str>, reason: DropReason, count: u64, bytes: u64) {
        if count == 0 && bytes == 0 {
            return;
        }
        if shadow {
            // A shadow plan kept these: they count as kept, and as would-be drops.
            self.totals.shadow_dropped.add(reason, count);
            add(&mut self.totals.kept, count);
            add(&mut self.totals.kept_bytes, bytes);
            if let Some(name) = name {
                let event = self.events.entry(name.to_owned()).or_default();
                event.shadow_dropped.add(reason, count);
                add(&mut event.kept, count);
                add(&mut event.kept_bytes, bytes);
                event.kept_weighted += count as f64;
            }
        } else {
            self.totals.dropped.add(reason, count);
            add(&mut self.totals.dropped_bytes, bytes);
            if let Some(name) = name {
                let event = self.events.entry(name.to_owned()).or_default();
                event.dropped.add(reason, count);
                add(&mut event.dropped_bytes, bytes);
            }
        }
    }

    /// Takes (reads and resets) the shared counters of `plan` and the names recorded in
    /// `unregistered`.
    pub(crate) fn harvest(&mut self, plan: &CompiledPlan, unregistered: &UnregisteredTable) {
        for (index, counters) in plan.counters.iter().enumerate() {
            self.add_event_counts(plan, index, counters.take());
        }
        self.add_plan_counts(plan.shadow, plan.plan_counters.take());
        let (names, overflow) = unregistered.take();
        self.add_unregistered(&overflow);
        add(
            &mut self.unregistered_overflow,
            overflow.kept.saturating_add(overflow.dropped).saturating_add(overflow.shadow_dropped),
        );
        for UnregisteredCounts { name, counts } in names {
            self.add_unregistered(&counts);
            let entry = self.unregistered.entry(name.clone()).or_default();
            entry.name = name;
            add(&mut entry.kept, counts.kept);
            add(&mut entry.dropped, counts.dropped);
            add(&mut entry.shadow_dropped, counts.shadow_dropped);
            add(&mut entry.bytes, counts.kept_bytes.saturating_add(counts.dropped_bytes));
        }
    }

    /// Adds counts of event `index` of `plan` (from shared counters or a lane).
    pub(crate) fn add_event_counts(&mut self, plan: &CompiledPlan, index: usize, counts: EventCounts) {
        if counts.is_empty() {
            return;
        }
        let shadow = plan.shadow;
        let event = &plan.events[index].rule;
        let name = plan.event_name(index);
        let entry = self.events.entry(name.to_owned()).or_default();
        entry.priority = Some(event.priority());
        // Bytes are per event, not per reason: attribute dropped bytes to the first reason
        // with a count so totals stay exact.
        let mut dropped_bytes = counts.dropped_bytes;
        let mut drop = |builder: &mut Self, reason: DropReason, count: u64| {
            let bytes = if count > 0 { std::mem::take(&mut dropped_bytes) } else { 0 };
            builder.add_drops(shadow, Some(name), reason, count, bytes);
        };
        match event.static_drop() {
            Some(reason) => drop(self, reason, counts.primary),
            None => {
                let weight = weight_for_floor(event.keep_floor);
                if let Some(entry) = self.events.get_mut(name) {
                    add(&mut entry.kept, counts.primary);
                    add(&mut entry.kept_bytes, counts.kept_bytes);
                    entry.kept_weighted += counts.primary as f64 * if shadow { 1.0 } else { weight };
                }
                add(&mut self.totals.kept, counts.primary);
                add(&mut self.totals.kept_bytes, counts.kept_bytes);
            }
        }
        drop(self, DropReason::Oversize, counts.oversize);
        drop(self, DropReason::SampledOut, counts.sampled_out);
        drop(self, DropReason::RateLimited, counts.rate_limited);
        if dropped_bytes > 0 {
            // Only possible when counts and bytes straddled a harvest.
            self.add_drops(shadow, Some(name), DropReason::Oversize, 0, dropped_bytes);
        }
    }

    /// Adds `(invalid count, invalid bytes, disabled count, disabled bytes)` of names no event
    /// matched.
    pub(crate) fn add_plan_counts(
        &mut self,
        shadow: bool,
        [invalid, invalid_bytes, disabled, disabled_bytes]: [u64; 4],
    ) {
        self.add_drops(shadow, None, DropReason::InvalidName, invalid, invalid_bytes);
        self.add_drops(shadow, None, DropReason::Disabled, disabled, disabled_bytes);
    }

    fn add_unregistered(&mut self, counts: &HandlingCounts) {
        add(&mut self.totals.kept, counts.kept.saturating_add(counts.shadow_dropped));
        add(&mut self.totals.kept_bytes, counts.kept_bytes);
        self.totals.dropped.add(DropReason::Unregistered, counts.dropped);
        add(&mut self.totals.dropped_bytes, counts.dropped_bytes);
        self.totals.shadow_dropped.add(DropReason::Unregistered, counts.shadow_dropped);
    }

    /// The report of everything added, for the window that `plan` ends.
    pub(crate) fn finish(self, plan: &CompiledPlan, window_start_unix_ms: u64, window_end_unix_ms: u64) -> DropReport {
        let mut report = self.totals;
        report.app = plan.app.to_string();
        report.env = plan.env.to_string();
        report.plan_version = plan.version;
        report.shadow = plan.shadow;
        report.window_start_unix_ms = window_start_unix_ms;
        report.window_end_unix_ms = window_end_unix_ms;
        report.events = self
            .events
            .into_iter()
            .map(|(name, mut event)| {
                event.name = name;
                event
            })
            .collect();
        report.unregistered = self.unregistered.into_values().collect();
        report.unregistered_overflow = self.unregistered_overflow;
        report.offered = report.kept.saturating_add(report.dropped.total());
        report
    }
}

/// Adds without overflowing: counts from hostile or huge inputs saturate instead of panicking.
fn add(total: &mut u64, value: u64) {
    *total = total.saturating_add(value);
}
