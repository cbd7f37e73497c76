//! The simulated app: how often each event of a plan fires, in bursts or alone, and how large
//! its payloads are, derived from the plan's own rules.

use std::sync::Arc;

use trackgate_core::plan::{EventRule, EventStatus, RateLimit};
use trackgate_core::sampling::{weight as sampling_weight, PARTS_PER_MILLION};
use trackgate_core::{
    CompiledPlan, Engine, EngineOptions, ManualClock, Plan, Priority, SplitMix64, DEFAULT_UNREGISTERED_CAPACITY,
};

use crate::Failure;

/// Valid names that are in no plan: debug leftovers and old SDKs still sending.
pub(super) const UNREGISTERED_STRAYS: [&str; 5] =
    ["debug.tmp_click", "old_sdk.ping", "qa.screenshot_taken", "promo.banner_tap_v2", "test.event"];

/// Names that break the naming rules, as hand-written tracking calls sometimes do.
pub(super) const INVALID_STRAYS: [&str; 3] = ["Checkout Completed!", "screen view", "cart/add"];

/// Share of user actions that send a stray name instead of a registered event.
pub(super) const STRAY_SHARE: f64 = 0.004;

/// Share of strays whose name is invalid rather than unregistered.
pub(super) const INVALID_STRAY_SHARE: f64 = 0.25;

/// Multipliers spreading the volume of events alike in the plan, so a few dominate.
pub(super) const VOLUME_SPREAD: [f64; 6] = [0.25, 0.5, 1.0, 1.0, 2.0, 4.0];

/// Share of occurrences with an unusually large payload (a long list, a stack trace).
pub(super) const LARGE_PAYLOAD_SHARE: f64 = 0.01;

pub(super) const NANOS_PER_SECOND: u64 = 1_000_000_000;
pub(super) const NANOS_PER_HOUR: u64 = 3_600 * NANOS_PER_SECOND;

/// A device has 1 session, plus one more with probability 1/2 each time, up to this many.
pub(super) const MOST_SESSIONS: u32 = 6;

/// Hours between two sessions of a device: 1 to 21.
pub(super) const SESSION_GAP_NANOS: (u64, u64) = (NANOS_PER_HOUR, 21 * NANOS_PER_HOUR);

/// User actions in one session: 10 to 79.
pub(super) const ACTIONS_PER_SESSION: (u64, u64) = (10, 80);

/// Time between two user actions: 0.3 to 6 seconds.
pub(super) const THINK_TIME_NANOS: (u64, u64) = (300_000_000, 6 * NANOS_PER_SECOND);

/// 2026-11-23 09:00 UTC: report windows start here (they are not shown, only kept stable).
pub(super) const SIMULATION_START_UNIX_MS: u64 = 1_795_424_400_000;

/// How one registered event is emitted by the simulated app.
pub(super) struct EventTraffic {
    pub(super) name: String,
    pub(super) owner: String,
    /// Sampling rate, parts per million.
    pub(super) rate_parts_per_million: u32,
    pub(super) rate_limited: bool,
    /// The size cap the compiled plan applies, if any.
    pub(super) max_bytes: Option<u64>,
    /// Retired, shed or disabled: no occurrence reaches the sampler.
    pub(super) dropped_before_sampling: bool,
    /// Middle of the usual payload size.
    pub(super) typical_bytes: u64,
    /// Its group in the sampling check, if it is in the check.
    pub(super) check_group: Option<usize>,
    /// Chatty events fire in bursts.
    pub(super) burst: Option<Burst>,
}

/// Events of the sampling check that share a salt and a rate, hence their kept devices.
pub(super) struct CheckGroup {
    pub(super) salt: String,
    /// The engine's weight for a kept occurrence: the inverse inclusion probability.
    pub(super) weight: f64,
}

/// A run of occurrences of one event in quick succession.
#[derive(Clone, Copy)]
pub(super) struct Burst {
    pub(super) longest: u64,
    pub(super) spacing_nanos: u64,
}

impl EventTraffic {
    pub(super) fn is_sampled(&self) -> bool {
        self.rate_parts_per_million < PARTS_PER_MILLION
    }

    /// Whether the sum of kept weights estimates its true count: sampled at a rate above 0 (0
    /// keeps nothing to estimate from), reaching the sampler, and not rate-limited (a limit
    /// after the sampler keeps the estimate below the true count by design).
    pub(super) fn is_estimated(&self) -> bool {
        self.is_sampled() && self.rate_parts_per_million > 0 && !self.rate_limited && !self.dropped_before_sampling
    }

    /// Whether an occurrence of this size gets past the rules evaluated before sampling.
    pub(super) fn reaches_sampler(&self, size_bytes: u64) -> bool {
        !self.dropped_before_sampling && self.max_bytes.is_none_or(|cap| size_bytes <= cap)
    }

    pub(super) fn draw_size(&self, random: &mut SplitMix64) -> u64 {
        let size = self.typical_bytes / 2 + random.below(self.typical_bytes.max(1));
        let size = if random.chance(LARGE_PAYLOAD_SHARE) { size * (4 + random.below(20)) } else { size };
        size.max(1)
    }
}

/// The simulated app: the plan, how often each event fires and how large it is.
pub(super) struct TrafficModel {
    pub(super) plan: Plan,
    /// In plan order, which is also the order of events in a `DropReport`.
    pub(super) events: Vec<EventTraffic>,
    /// Running totals of the events' volume weights, for picking by weight.
    pub(super) cumulative_weights: Vec<f64>,
    /// Distinct (salt, rate) pairs of the events in the sampling check.
    pub(super) check_groups: Vec<CheckGroup>,
}

impl TrafficModel {
    /// Derives the traffic from the plan itself, so any plan can be demonstrated: authors
    /// sample the events that flood them and rate-limit the chatty ones, so rates and limits
    /// hint at volume and burstiness.
    pub(super) fn new(plan: Plan) -> Result<TrafficModel, Failure> {
        let compiled = CompiledPlan::compile(&plan)
            .map_err(|error| Failure::refused(format!("cannot compile the plan: {error}")))?;
        let mut events = Vec::with_capacity(plan.events.len());
        let mut cumulative_weights = Vec::with_capacity(plan.events.len());
        let mut check_groups: Vec<CheckGroup> = Vec::new();
        let mut total_weight = 0.0;
        for (name, rule) in &plan.events {
            let summary = compiled
                .event_summary(name)
                .ok_or_else(|| Failure::error(format!("event {name} is missing from its own compiled plan (a bug)")))?;
            let name_hash = fnv1a(name.as_bytes());
            total_weight += volume_weight(rule, name_hash);
            cumulative_weights.push(total_weight);
            let mut event = EventTraffic {
                name: name.clone(),
                owner: rule.owner.clone().unwrap_or_else(|| "-".to_owned()),
                rate_parts_per_million: rule.sample.parts_per_million(),
                rate_limited: rule.rate_limit.is_some(),
                max_bytes: summary.max_bytes.map(u64::from),
                dropped_before_sampling: summary.static_drop.is_some(),
                typical_bytes: typical_bytes(rule, name_hash),
                check_group: None,
                burst: rule.rate_limit.map(burst_of),
            };
            if event.is_estimated() {
                let weight = sampling_weight(event.rate_parts_per_million);
                let position =
                    check_groups.iter().position(|group| group.salt == summary.salt && group.weight == weight);
                event.check_group = Some(position.unwrap_or_else(|| {
                    check_groups.push(CheckGroup { salt: summary.salt.clone(), weight });
                    check_groups.len() - 1
                }));
            }
            events.push(event);
        }
        Ok(TrafficModel { plan, events, cumulative_weights, check_groups })
    }

    /// The event at `point` (uniform in [0, 1)) of the volume distribution.
    pub(super) fn pick(&self, point: f64) -> usize {
        let total = self.cumulative_weights.last().copied().unwrap_or(0.0);
        let target = point * total;
        self.cumulative_weights.partition_point(|&cumulative| cumulative <= target).min(self.events.len() - 1)
    }

    /// A fresh gate for one device: its own compiled plan, so its own token buckets.
    pub(super) fn engine(&self, unit_id: String, clock: Arc<ManualClock>) -> Engine {
        let compiled = CompiledPlan::compile(&self.plan).expect("the plan compiled in TrafficModel::new");
        let options =
            EngineOptions { unit_id: Some(unit_id), unregistered_capacity: DEFAULT_UNREGISTERED_CAPACITY, clock };
        Engine::new(compiled, options).expect("simulated unit ids are 36-byte UUIDs, a valid length")
    }

    pub(super) fn index_of(&self, name: &str) -> Option<usize> {
        self.events.binary_search_by(|event| event.name.as_str().cmp(name)).ok()
    }
}

/// Relative volume of an event among all the app sends.
pub(super) fn volume_weight(rule: &EventRule, name_hash: u64) -> f64 {
    let by_priority = match rule.priority {
        Priority::P0 => 0.5,
        Priority::P1 => 2.0,
        Priority::P2 => 6.0,
        Priority::P3 => 10.0,
    };
    let rate = rule.sample.parts_per_million();
    let inverse_rate = if rate == 0 || rate >= PARTS_PER_MILLION {
        1.0
    } else {
        (f64::from(PARTS_PER_MILLION) / f64::from(rate)).min(100.0)
    };
    // Volume grows a little slower than the inverse rate (authors round rates down), as its
    // 3/4 power; built from square roots, which are exact in IEEE 754 and so portable.
    let by_sampling = inverse_rate.sqrt() * inverse_rate.sqrt().sqrt();
    // Old app versions still send retired events, but fewer users run them.
    let by_status = if rule.status == EventStatus::Retired { 0.5 } else { 1.0 };
    by_priority * by_sampling * by_status * VOLUME_SPREAD[(name_hash % VOLUME_SPREAD.len() as u64) as usize]
}

/// An event with its own cap was given one because its payloads are unusual: size it from the
/// cap. Others get a plausible size from 150 to 1,500 bytes.
pub(super) fn typical_bytes(rule: &EventRule, name_hash: u64) -> u64 {
    match rule.max_bytes {
        Some(cap) => (u64::from(cap) / 4).max(1),
        None => 150 + (name_hash >> 16) % 1_350,
    }
}

/// Chatty events fire about four times faster than their limit allows, for a while.
pub(super) fn burst_of(limit: RateLimit) -> Burst {
    let interval_nanos = NANOS_PER_SECOND as f64 / limit.per_second;
    let spacing_nanos = (interval_nanos / 4.0).clamp(20e6, 2e9) as u64;
    let longest = (3 * u64::from(limit.burst) + 3).min(200);
    Burst { longest, spacing_nanos }
}

/// The draws the simulation makes from its [`SplitMix64`] streams (never for sampling
/// decisions, which the engines make from the unit id).
pub(super) trait Draw {
    /// Uniform in [0, 1), from the top 53 bits.
    fn unit_interval(&mut self) -> f64;
    /// Uniform in [0, bound) by multiply-shift (bias below 2^-64 per value, irrelevant here).
    fn below(&mut self, bound: u64) -> u64;
    /// Uniform in [low, high).
    fn between(&mut self, range: (u64, u64)) -> u64;
    /// True with `probability`.
    fn chance(&mut self, probability: f64) -> bool;
}

impl Draw for SplitMix64 {
    fn unit_interval(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, bound: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64
    }

    fn between(&mut self, (low, high): (u64, u64)) -> u64 {
        low + self.below(high - low)
    }

    fn chance(&mut self, probability: f64) -> bool {
        self.unit_interval() < probability
    }
}

/// FNV-1a: a stable name hash for the traffic model (`std`'s hasher may change between versions).
pub(super) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xCBF2_9CE4_8422_2325, |hash, &byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01B3))
}

/// The traffic model of the embedded sample plan, for tests.
#[cfg(test)]
pub(super) fn sample_model() -> TrafficModel {
    let plan = trackgate_core::parse_plan(super::SAMPLE_PLAN_JSON).expect("sample plan is valid").plan;
    TrafficModel::new(plan).unwrap_or_else(|failure| panic!("{}", failure.message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_follow_the_weights() {
        let model = sample_model();
        assert_eq!(model.pick(0.0), 0);
        assert_eq!(model.pick(0.999_999_999), model.events.len() - 1);
        let mut random = SplitMix64::new(1);
        let mut counts = vec![0u64; model.events.len()];
        for _ in 0..100_000 {
            counts[model.pick(random.unit_interval())] += 1;
        }
        let total = model.cumulative_weights.last().copied().unwrap_or(0.0);
        let index = model.index_of("catalogue.product_impression").expect("in the sample plan");
        let expected = 100_000.0 * (model.cumulative_weights[index] - model.cumulative_weights[index - 1]) / total;
        assert!((counts[index] as f64 - expected).abs() < expected * 0.1, "{} vs {expected}", counts[index]);
    }
}
