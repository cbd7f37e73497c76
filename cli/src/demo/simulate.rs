//! The run: every device on its own engine and clock, in fixed blocks of devices spread over
//! threads and merged in block order, so the output never depends on the thread count.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use indicatif::ProgressBar;
use trackgate_core::{Engine, ManualClock, SplitMix64};

use super::tally::{DeviceTruth, FleetTotals};
use super::traffic::{
    Draw as _, TrafficModel, ACTIONS_PER_SESSION, INVALID_STRAYS, INVALID_STRAY_SHARE, MOST_SESSIONS,
    SESSION_GAP_NANOS, SIMULATION_START_UNIX_MS, STRAY_SHARE, THINK_TIME_NANOS, UNREGISTERED_STRAYS,
};
use super::BLOCK_DEVICES;

/// Independent random streams derived from the seed.
pub(super) const UNIT_STREAM: u64 = 0x756e_6974; // "unit"
pub(super) const TRAFFIC_STREAM: u64 = 0x7472_6166; // "traf"

/// Simulates every device on `threads` threads and returns their reports summed in device
/// order: blocks of [`BLOCK_DEVICES`] devices are taken in turn and merged in block order.
pub(super) fn simulate_devices(
    model: &TrafficModel,
    devices: u64,
    seed: u64,
    threads: usize,
    progress: &ProgressBar,
) -> FleetTotals {
    let blocks = devices.div_ceil(BLOCK_DEVICES);
    let next_block = AtomicU64::new(0);
    let merge = Mutex::new(OrderedMerge::new(model.events.len()));
    let workers = threads.clamp(1, usize::try_from(blocks).unwrap_or(usize::MAX));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let block = next_block.fetch_add(1, Ordering::Relaxed);
                if block >= blocks {
                    break;
                }
                let first = block * BLOCK_DEVICES;
                let last = (first + BLOCK_DEVICES).min(devices);
                let mut tally = FleetTotals::new(model.events.len());
                let mut device_truth = DeviceTruth::new(model.events.len());
                for device in first..last {
                    simulate_device(model, seed, device, &mut tally, &mut device_truth);
                }
                // A panicking worker ends the run anyway (scope re-raises it), so a poisoned
                // lock needs no recovery.
                merge.lock().expect("no worker panicked").accept(block, tally);
                progress.inc(last - first);
            });
        }
    });
    merge.into_inner().expect("no worker panicked").total
}

/// Sums block tallies strictly in block order, whichever thread finishes first.
pub(super) struct OrderedMerge {
    pub(super) next_block: u64,
    pub(super) waiting: BTreeMap<u64, FleetTotals>,
    pub(super) total: FleetTotals,
}

impl OrderedMerge {
    pub(super) fn new(event_count: usize) -> Self {
        OrderedMerge { next_block: 0, waiting: BTreeMap::new(), total: FleetTotals::new(event_count) }
    }

    pub(super) fn accept(&mut self, block: u64, tally: FleetTotals) {
        self.waiting.insert(block, tally);
        while let Some(tally) = self.waiting.remove(&self.next_block) {
            self.total.merge(tally);
            self.next_block += 1;
        }
    }
}

/// One device's life: a few sessions hours apart, each a series of user actions seconds apart.
pub(super) fn simulate_device(
    model: &TrafficModel,
    seed: u64,
    device: u64,
    tally: &mut FleetTotals,
    truth: &mut DeviceTruth,
) {
    let clock = Arc::new(ManualClock::new(SIMULATION_START_UNIX_MS));
    let engine = model.engine(unit_id(seed, device), Arc::clone(&clock));
    let mut random = SplitMix64::new(stream_seed(seed, device, TRAFFIC_STREAM));
    let sessions = draw_sessions(&mut random);
    use_app(model, &engine, &clock, &mut random, truth, sessions);
    tally.add_device(model, engine.take_report(), truth);
}

/// How many sessions a device has: 1, plus one more with probability 1/2 each time, up to
/// [`MOST_SESSIONS`].
pub(super) fn draw_sessions(random: &mut SplitMix64) -> u32 {
    let mut sessions = 1;
    while sessions < MOST_SESSIONS && random.chance(0.5) {
        sessions += 1;
    }
    sessions
}

/// `sessions` sessions hours apart on one device's gate, each a series of user actions
/// seconds apart (the clock moves with them).
pub(super) fn use_app(
    model: &TrafficModel,
    engine: &Engine,
    clock: &ManualClock,
    random: &mut SplitMix64,
    truth: &mut DeviceTruth,
    sessions: u32,
) {
    for session in 0..sessions {
        if session > 0 {
            clock.advance_nanos(random.between(SESSION_GAP_NANOS));
        }
        for _ in 0..random.between(ACTIONS_PER_SESSION) {
            clock.advance_nanos(random.between(THINK_TIME_NANOS));
            if model.events.is_empty() || random.chance(STRAY_SHARE) {
                offer_stray(engine, random, truth);
            } else {
                let index = model.pick(random.unit_interval());
                offer_event(model, index, engine, clock, random, truth);
            }
        }
    }
}

/// One user action on a registered event: a single occurrence, or a burst for chatty events.
pub(super) fn offer_event(
    model: &TrafficModel,
    index: usize,
    engine: &Engine,
    clock: &ManualClock,
    random: &mut SplitMix64,
    truth: &mut DeviceTruth,
) {
    let event = &model.events[index];
    let (occurrences, spacing_nanos) = match event.burst {
        Some(burst) => (1 + random.below(burst.longest), burst.spacing_nanos),
        None => (1, 0),
    };
    for occurrence in 0..occurrences {
        if occurrence > 0 {
            clock.advance_nanos(spacing_nanos);
        }
        let size = event.draw_size(random);
        engine.decide(&event.name, size);
        truth.record(index, event.reaches_sampler(size));
    }
}

pub(super) fn offer_stray(engine: &Engine, random: &mut SplitMix64, truth: &mut DeviceTruth) {
    let name = if random.chance(INVALID_STRAY_SHARE) {
        INVALID_STRAYS[random.below(INVALID_STRAYS.len() as u64) as usize]
    } else {
        UNREGISTERED_STRAYS[random.below(UNREGISTERED_STRAYS.len() as u64) as usize]
    };
    engine.decide(name, 80 + random.below(400));
    truth.strays += 1;
}

/// The device's sampling unit: a UUID v4 text derived from the seed and the device index.
pub(super) fn unit_id(seed: u64, device: u64) -> String {
    let mut random = SplitMix64::new(stream_seed(seed, device, UNIT_STREAM));
    let value = (u128::from(random.next_u64()) << 64) | u128::from(random.next_u64());
    trackgate_core::uuid_v4_text(value.to_be_bytes())
}

/// The seed of one device's stream: unrelated for neighbouring devices and for each stream.
pub(super) fn stream_seed(seed: u64, device: u64, stream: u64) -> u64 {
    SplitMix64::mix(SplitMix64::mix(seed ^ stream).wrapping_add(device))
}

#[cfg(test)]
mod tests {
    use super::super::traffic::sample_model;
    use super::*;

    #[test]
    fn unit_ids_are_stable_uuids() {
        let id = unit_id(42, 7);
        assert_eq!(id, unit_id(42, 7));
        assert_ne!(id, unit_id(42, 8));
        assert_ne!(id, unit_id(43, 7));
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
    }

    #[test]
    fn output_does_not_depend_on_threads() {
        let model = sample_model();
        let progress = ProgressBar::hidden();
        let one = simulate_devices(&model, 700, 9, 1, &progress);
        let three = simulate_devices(&model, 700, 9, 3, &progress);
        assert_eq!(one.offered, three.offered);
        assert_eq!(one.devices, 700);
        for (left, right) in one.events.iter().zip(&three.events) {
            assert_eq!(left.kept_weighted.to_bits(), right.kept_weighted.to_bits());
            assert_eq!(left.dropped, right.dropped);
        }
    }

    #[test]
    fn the_gate_sees_every_simulated_event() {
        let model = sample_model();
        let tally = simulate_devices(&model, 50, 1, 2, &ProgressBar::hidden());
        assert_eq!(tally.simulated_events, tally.offered);
        assert_eq!(tally.offered, tally.kept + tally.dropped.total());
        for (event, counts) in model.events.iter().zip(&tally.events) {
            // Past the pre-sampling rules, an occurrence is kept, sampled out or rate limited.
            let after_sampler = counts.kept + counts.dropped.sampled_out + counts.dropped.rate_limited;
            assert_eq!(counts.reached_sampler, after_sampler, "{}", event.name);
        }
    }
}
