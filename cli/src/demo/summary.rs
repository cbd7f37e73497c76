//! Every figure the demo shows, computed from the tally; `--json` prints it as is.

use serde::Serialize;
use trackgate_core::sampling::{weight as sampling_weight, PARTS_PER_MILLION};
use trackgate_core::{DropReason, Priority, ReasonCounts};

use super::tally::FleetTotals;
use super::traffic::TrafficModel;
use super::{DemoArgs, TOP_DROPPERS};

/// Every figure the demo shows; `--json` prints it as is, the text tables render it.
#[derive(Serialize)]
pub(super) struct Summary {
    pub(super) plan: PlanFacts,
    pub(super) devices: u64,
    pub(super) seed: u64,
    /// Events the simulator sent; equals `offered` when the gate saw every one.
    pub(super) simulated_events: u64,
    pub(super) offered: u64,
    pub(super) kept: u64,
    pub(super) dropped_total: u64,
    /// Every reason, zero or not.
    pub(super) dropped: ReasonCounts,
    /// The reasons that dropped something, most first, with their share of `offered`.
    pub(super) drop_reasons: Vec<ReasonShare>,
    /// What a shadow plan would have dropped (it keeps everything).
    pub(super) shadow_dropped: ReasonCounts,
    pub(super) bytes_offered: u64,
    pub(super) bytes_kept: u64,
    pub(super) bytes_saved: u64,
    pub(super) bytes_saved_share: f64,
    pub(super) top_droppers: Vec<Dropper>,
    pub(super) unregistered: Vec<NameSeen>,
    pub(super) unregistered_overflow: u64,
    pub(super) invalid_names: u64,
    pub(super) sampling_check: Vec<SamplingCheck>,
    pub(super) sampling_check_total: SamplingCheckTotal,
    /// Sampled events left out of the check: a rate limit after the sampler keeps their
    /// estimate below the true count by design.
    pub(super) sampling_check_rate_limited_excluded: usize,
}

#[derive(Serialize)]
pub(super) struct PlanFacts {
    pub(super) source: String,
    pub(super) app: String,
    pub(super) env: String,
    pub(super) version: u64,
    pub(super) events: usize,
    pub(super) enabled: bool,
    pub(super) shadow: bool,
    pub(super) shed_below: Option<Priority>,
}

#[derive(Serialize)]
pub(super) struct ReasonShare {
    pub(super) reason: DropReason,
    pub(super) count: u64,
    pub(super) share: f64,
}

#[derive(Serialize)]
pub(super) struct Dropper {
    pub(super) event: String,
    pub(super) owner: String,
    /// The reason that dropped most of its occurrences.
    pub(super) reason: DropReason,
    pub(super) dropped: u64,
    pub(super) bytes_saved: u64,
}

#[derive(Serialize)]
pub(super) struct NameSeen {
    pub(super) name: String,
    pub(super) count: u64,
    pub(super) bytes: u64,
}

#[derive(Serialize)]
pub(super) struct SamplingCheck {
    pub(super) event: String,
    pub(super) rate: f64,
    /// Occurrences that reached the sampler, counted by the simulator.
    pub(super) true_count: u64,
    pub(super) kept: u64,
    pub(super) kept_devices: u64,
    /// Sum of the weights of kept occurrences, from the engines' reports.
    pub(super) estimate: f64,
    /// `(estimate - true_count) / true_count`.
    pub(super) relative_error: f64,
    /// One standard deviation of the estimate over all seeds, relative to the true count:
    /// the size of error to expect. Exact, computed from the simulated truth.
    pub(super) relative_deviation: f64,
}

#[derive(Serialize)]
pub(super) struct SamplingCheckTotal {
    pub(super) true_count: u64,
    pub(super) estimate: f64,
    pub(super) relative_error: Option<f64>,
    pub(super) relative_deviation: Option<f64>,
}

impl Summary {
    pub(super) fn new(model: &TrafficModel, source: String, args: &DemoArgs, tally: &FleetTotals) -> Summary {
        let plan = &model.plan;
        let bytes_offered = tally.kept_bytes + tally.dropped_bytes;
        let sampling_check = sampling_checks(model, tally);
        let sampling_check_total = sampling_check_total(&sampling_check, tally.check_total_variance);
        Summary {
            plan: PlanFacts {
                source,
                app: plan.app.clone(),
                env: plan.env.clone(),
                version: plan.version,
                events: plan.events.len(),
                enabled: plan.enabled,
                shadow: plan.shadow,
                shed_below: plan.shed_below,
            },
            devices: args.devices(),
            seed: args.seed,
            simulated_events: tally.simulated_events,
            offered: tally.offered,
            kept: tally.kept,
            dropped_total: tally.dropped.total(),
            dropped: tally.dropped,
            drop_reasons: reason_shares(&tally.dropped, tally.offered),
            shadow_dropped: tally.shadow_dropped,
            bytes_offered,
            bytes_kept: tally.kept_bytes,
            bytes_saved: tally.dropped_bytes,
            bytes_saved_share: share(tally.dropped_bytes, bytes_offered),
            top_droppers: top_droppers(model, tally),
            unregistered: names_seen(tally),
            unregistered_overflow: tally.unregistered_overflow,
            // A shadow plan keeps invalid names but still counts them.
            invalid_names: tally.dropped.invalid_name + tally.shadow_dropped.invalid_name,
            sampling_check_total,
            sampling_check,
            sampling_check_rate_limited_excluded: model
                .events
                .iter()
                .filter(|event| event.is_sampled() && event.rate_limited)
                .count(),
        }
    }
}

pub(super) fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

pub(super) fn relative_error(estimate: f64, true_count: u64) -> Option<f64> {
    (true_count > 0).then(|| (estimate - true_count as f64) / true_count as f64)
}

pub(super) fn reason_shares(dropped: &ReasonCounts, offered: u64) -> Vec<ReasonShare> {
    let mut shares: Vec<ReasonShare> = DropReason::ALL
        .into_iter()
        .map(|reason| ReasonShare { reason, count: dropped.get(reason), share: share(dropped.get(reason), offered) })
        .filter(|reason| reason.count > 0)
        .collect();
    // Stable sort: equal counts stay in evaluation order.
    shares.sort_by_key(|item| std::cmp::Reverse(item.count));
    shares
}

pub(super) fn top_droppers(model: &TrafficModel, tally: &FleetTotals) -> Vec<Dropper> {
    let mut droppers: Vec<Dropper> = model
        .events
        .iter()
        .zip(&tally.events)
        .filter(|(_, counts)| counts.dropped.total() > 0)
        .map(|(event, counts)| Dropper {
            event: event.name.clone(),
            owner: event.owner.clone(),
            reason: main_reason(&counts.dropped),
            dropped: counts.dropped.total(),
            bytes_saved: counts.dropped_bytes,
        })
        .collect();
    // Stable sort over events in name order: ties list alphabetically.
    droppers.sort_by_key(|item| std::cmp::Reverse(item.dropped));
    droppers.truncate(TOP_DROPPERS);
    droppers
}

/// The reason with the largest count (the first in evaluation order on a tie).
pub(super) fn main_reason(dropped: &ReasonCounts) -> DropReason {
    DropReason::ALL.into_iter().rev().max_by_key(|reason| dropped.get(*reason)).unwrap_or(DropReason::Unregistered)
}

pub(super) fn names_seen(tally: &FleetTotals) -> Vec<NameSeen> {
    let mut names: Vec<NameSeen> = tally
        .unregistered
        .iter()
        .map(|(name, counts)| NameSeen { name: name.clone(), count: counts.count, bytes: counts.bytes })
        .collect();
    names.sort_by_key(|item| std::cmp::Reverse(item.count));
    names
}

/// For each sampled event the sampler saw: the truth against the Horvitz–Thompson estimate.
pub(super) fn sampling_checks(model: &TrafficModel, tally: &FleetTotals) -> Vec<SamplingCheck> {
    if model.plan.shadow {
        // A shadow plan keeps every occurrence with weight 1: there is no estimate to check.
        return Vec::new();
    }
    let mut checks: Vec<SamplingCheck> = model
        .events
        .iter()
        .zip(&tally.events)
        .filter(|(event, counts)| event.is_estimated() && counts.reached_sampler > 0)
        .map(|(event, counts)| {
            let variance =
                (sampling_weight(event.rate_parts_per_million) - 1.0) * counts.reached_sampler_squares as f64;
            SamplingCheck {
                event: event.name.clone(),
                rate: f64::from(event.rate_parts_per_million) / f64::from(PARTS_PER_MILLION),
                true_count: counts.reached_sampler,
                kept: counts.kept,
                kept_devices: counts.kept_devices,
                estimate: counts.kept_weighted,
                relative_error: relative_error(counts.kept_weighted, counts.reached_sampler).unwrap_or(0.0),
                relative_deviation: variance.sqrt() / counts.reached_sampler as f64,
            }
        })
        .collect();
    checks.sort_by_key(|item| std::cmp::Reverse(item.true_count));
    checks
}

pub(super) fn sampling_check_total(checks: &[SamplingCheck], variance: f64) -> SamplingCheckTotal {
    let true_count = checks.iter().map(|check| check.true_count).sum();
    let estimate = checks.iter().map(|check| check.estimate).sum();
    SamplingCheckTotal {
        true_count,
        estimate,
        relative_error: relative_error(estimate, true_count),
        relative_deviation: (true_count > 0).then(|| variance.sqrt() / true_count as f64),
    }
}
