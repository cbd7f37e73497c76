//! What the engines reported, summed over devices, beside the simulator's truth.

use std::collections::BTreeMap;

use trackgate_core::{DropReport, EventReport, ReasonCounts};

use super::traffic::{CheckGroup, TrafficModel};

/// What the simulator sent from one device (truth); reused from device to device.
pub(super) struct DeviceTruth {
    /// Per registered event: occurrences sent, and those past the rules before sampling.
    pub(super) offered: Vec<u64>,
    pub(super) reached_sampler: Vec<u64>,
    /// Events with a non-zero count, so clearing skips the rest.
    pub(super) touched: Vec<usize>,
    /// Unregistered and invalid names sent.
    pub(super) strays: u64,
}

impl DeviceTruth {
    pub(super) fn new(event_count: usize) -> Self {
        DeviceTruth {
            offered: vec![0; event_count],
            reached_sampler: vec![0; event_count],
            touched: Vec::new(),
            strays: 0,
        }
    }

    pub(super) fn record(&mut self, index: usize, reached_sampler: bool) {
        if self.offered[index] == 0 {
            self.touched.push(index);
        }
        self.offered[index] += 1;
        self.reached_sampler[index] += u64::from(reached_sampler);
    }
}

/// One registered event's counts over many devices.
#[derive(Clone, Default)]
pub(super) struct EventTally {
    /// Occurrences the simulator sent (truth).
    pub(super) offered: u64,
    /// Occurrences that got past the rules before sampling (truth).
    pub(super) reached_sampler: u64,
    /// Sum over devices of the square of `reached_sampler`: the estimate's variance is
    /// `(weight - 1)` times this, because whole devices are kept or dropped.
    pub(super) reached_sampler_squares: u64,
    pub(super) kept: u64,
    pub(super) kept_bytes: u64,
    pub(super) kept_weighted: f64,
    /// Devices that sent at least one occurrence through: the sample size behind an estimate.
    pub(super) kept_devices: u64,
    pub(super) dropped: ReasonCounts,
    pub(super) dropped_bytes: u64,
}

impl EventTally {
    /// The engine's side of one device's report on the event (the truth is added apart).
    pub(super) fn from_report(event: &EventReport) -> Self {
        EventTally {
            kept: event.kept,
            kept_bytes: event.kept_bytes,
            kept_weighted: event.kept_weighted,
            kept_devices: u64::from(event.kept > 0),
            dropped: event.dropped,
            dropped_bytes: event.dropped_bytes,
            ..EventTally::default()
        }
    }

    pub(super) fn add(&mut self, other: &EventTally) {
        self.offered += other.offered;
        self.reached_sampler += other.reached_sampler;
        self.reached_sampler_squares += other.reached_sampler_squares;
        self.kept += other.kept;
        self.kept_bytes += other.kept_bytes;
        self.kept_weighted += other.kept_weighted;
        self.kept_devices += other.kept_devices;
        self.dropped.merge(&other.dropped);
        self.dropped_bytes += other.dropped_bytes;
    }
}

/// One unregistered name's counts over many devices.
#[derive(Clone, Copy, Default)]
pub(super) struct NameTally {
    pub(super) count: u64,
    pub(super) bytes: u64,
}

/// Reports of many devices, summed.
pub(super) struct FleetTotals {
    pub(super) devices: u64,
    /// Events the simulator sent, registered or not (truth).
    pub(super) simulated_events: u64,
    pub(super) offered: u64,
    pub(super) kept: u64,
    pub(super) kept_bytes: u64,
    pub(super) dropped: ReasonCounts,
    pub(super) dropped_bytes: u64,
    pub(super) shadow_dropped: ReasonCounts,
    /// Indexed like `TrafficModel::events`.
    pub(super) events: Vec<EventTally>,
    /// Variance of the sampling check's total estimate (from the truth, not estimated).
    pub(super) check_total_variance: f64,
    pub(super) unregistered: BTreeMap<String, NameTally>,
    pub(super) unregistered_overflow: u64,
}

impl FleetTotals {
    pub(super) fn new(event_count: usize) -> Self {
        FleetTotals {
            devices: 0,
            simulated_events: 0,
            offered: 0,
            kept: 0,
            kept_bytes: 0,
            dropped: ReasonCounts::default(),
            dropped_bytes: 0,
            shadow_dropped: ReasonCounts::default(),
            events: vec![EventTally::default(); event_count],
            check_total_variance: 0.0,
            unregistered: BTreeMap::new(),
            unregistered_overflow: 0,
        }
    }

    /// Adds one device's truth and report, and clears the truth for the next device.
    pub(super) fn add_device(&mut self, model: &TrafficModel, report: DropReport, truth: &mut DeviceTruth) {
        self.add_truth(model, truth);
        self.add_report(model, report);
    }

    pub(super) fn add_truth(&mut self, model: &TrafficModel, truth: &mut DeviceTruth) {
        let mut group_counts = vec![0u64; model.check_groups.len()];
        for &index in &truth.touched {
            let (offered, reached) = (truth.offered[index], truth.reached_sampler[index]);
            let event = &mut self.events[index];
            event.offered += offered;
            event.reached_sampler += reached;
            event.reached_sampler_squares += reached * reached;
            self.simulated_events += offered;
            if let Some(group) = model.events[index].check_group {
                group_counts[group] += reached;
            }
            truth.offered[index] = 0;
            truth.reached_sampler[index] = 0;
        }
        truth.touched.clear();
        self.simulated_events += std::mem::take(&mut truth.strays);
        self.check_total_variance += device_check_variance(&model.check_groups, &group_counts);
    }

    pub(super) fn add_report(&mut self, model: &TrafficModel, report: DropReport) {
        self.devices += 1;
        self.offered += report.offered;
        self.kept += report.kept;
        self.kept_bytes += report.kept_bytes;
        self.dropped.merge(&report.dropped);
        self.dropped_bytes += report.dropped_bytes;
        self.shadow_dropped.merge(&report.shadow_dropped);
        for event in &report.events {
            // The report names only events of the plan the model was built from.
            if let Some(index) = model.index_of(&event.name) {
                self.events[index].add(&EventTally::from_report(event));
            }
        }
        for name in report.unregistered {
            let count = name.kept + name.dropped + name.shadow_dropped;
            self.add_unregistered(name.name, NameTally { count, bytes: name.bytes });
        }
        self.unregistered_overflow += report.unregistered_overflow;
    }

    pub(super) fn add_unregistered(&mut self, name: String, counts: NameTally) {
        let sum = self.unregistered.entry(name).or_default();
        sum.count += counts.count;
        sum.bytes += counts.bytes;
    }

    pub(super) fn merge(&mut self, other: FleetTotals) {
        self.devices += other.devices;
        self.simulated_events += other.simulated_events;
        self.offered += other.offered;
        self.kept += other.kept;
        self.kept_bytes += other.kept_bytes;
        self.dropped.merge(&other.dropped);
        self.dropped_bytes += other.dropped_bytes;
        self.shadow_dropped.merge(&other.shadow_dropped);
        for (sum, event) in self.events.iter_mut().zip(&other.events) {
            sum.add(event);
        }
        for (name, counts) in other.unregistered {
            self.add_unregistered(name, counts);
        }
        self.check_total_variance += other.check_total_variance;
        self.unregistered_overflow += other.unregistered_overflow;
    }
}

/// Variance of one device's contribution to the total estimate of the sampling check.
///
/// With `count` occurrences per group and `weight = 1/p`: under one salt a device is kept at
/// rate `p` exactly when its random value is in the top `p`, so two groups are both kept with
/// probability `min(p, q)`, so `E[estimate²] = Σ count_g count_h min(weight_g, weight_h)`,
/// and the variance subtracts `(Σ count_g)²`. Groups under different salts are independent.
pub(super) fn device_check_variance(groups: &[CheckGroup], counts: &[u64]) -> f64 {
    let mut variance = 0.0;
    for (first, first_count) in groups.iter().zip(counts).filter(|(_, count)| **count > 0) {
        for (second, second_count) in groups.iter().zip(counts).filter(|(_, count)| **count > 0) {
            if first.salt == second.salt {
                let both_kept_weight = first.weight.min(second.weight);
                variance += (*first_count * *second_count) as f64 * (both_kept_weight - 1.0);
            }
        }
    }
    variance
}
