//! `trackgate demo`: runs a plan on simulated devices and summarises what it keeps and drops.
//!
//! Owns the traffic simulator (a seeded session model per device), the parallel run over
//! devices and the summary (text table or JSON). Guarantees:
//! - Deterministic: the same plan, `--seed` and `--devices` give byte-identical output whatever
//!   the number of threads. Traffic comes from a local SplitMix64 stream per device (never
//!   from `rand`, whose algorithms may change between versions), time from a `ManualClock`,
//!   and per-device reports are summed in fixed blocks of devices merged in block order, so
//!   even float sums do not depend on scheduling.
//! - Faithful: every simulated device has its own `Engine` (rate limits are per device) and
//!   every number shown comes from the engines' `take_report()`, except the true counts,
//!   which the simulator keeps itself to check the engine's weighted estimates against.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::io::{IsTerminal as _, Write as _};
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use clap::builder::{PossibleValuesParser, TypedValueParser as _};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use crate::format;
use serde::Serialize;
use trackgate_core::plan::{EventRule, EventStatus, RateLimit};
use trackgate_core::sampling::{weight as sampling_weight, PARTS_PER_MILLION};
use trackgate_core::{
    parse_plan, CompiledPlan, DropReason, DropReport, Engine, EngineOptions, EventReport, ManualClock, Plan, Priority,
    ReasonCounts, DEFAULT_UNREGISTERED_CAPACITY,
};

use crate::validate::read_plan;
use crate::Failure;

/// The plan the demo runs when no `--plan` is given.
const SAMPLE_PLAN_JSON: &str = include_str!("sample_plan.json");

/// The most devices one run simulates; keeps a run within minutes.
const MAX_DEVICES: u64 = 10_000_000;

/// Devices simulated and summed as one unit of work. Fixed (not derived from the thread count)
/// so the order of float additions, and hence the output, never depends on the thread count.
const BLOCK_DEVICES: u64 = 256;

/// Runs at least this long (in devices) show a progress bar on a terminal.
const PROGRESS_MIN_DEVICES: u64 = 100_000;

/// Rows of the "top droppers" table.
const TOP_DROPPERS: usize = 10;

/// Arguments of `trackgate demo`.
#[derive(Args)]
pub struct DemoArgs {
    /// Simulated devices, 1 to 10,000,000.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=MAX_DEVICES))]
    devices: u64,
    /// Seed of the simulated traffic and unit ids; the same seed replays the same run.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Run this plan file instead of the embedded sample plan.
    #[arg(long, value_name = "FILE")]
    plan: Option<PathBuf>,
    /// What-if: shed every event below this priority (P0 is never shed), overriding the plan.
    #[arg(
        long,
        value_name = "PRIORITY",
        value_parser = PossibleValuesParser::new(["P0", "P1", "P2", "P3"])
            .try_map(|text| Priority::parse(&text).ok_or("expected P0, P1, P2 or P3")),
    )]
    shed_below: Option<Priority>,
    /// Print the summary as one JSON object instead of tables.
    #[arg(long)]
    json: bool,
    /// Worker threads (default: the available cores); the output does not depend on it.
    #[arg(long)]
    threads: Option<NonZeroUsize>,
}

/// Runs `trackgate demo`.
pub fn run(args: &DemoArgs) -> Result<(), Failure> {
    let (plan, source) = load_plan(args)?;
    let model = TrafficModel::new(plan)?;
    let threads = args.threads.map_or_else(available_threads, NonZeroUsize::get);
    let progress = progress_bar(args);
    let tally = simulate_devices(&model, args.devices, args.seed, threads, &progress);
    progress.finish_and_clear();
    let summary = Summary::new(&model, source, args, &tally);
    let output = if args.json {
        serde_json::to_string_pretty(&summary).map_err(|error| Failure::error(error.to_string()))? + "\n"
    } else {
        render_text(&summary).map_err(|_| Failure::error("cannot format the summary"))?
    };
    std::io::stdout()
        .lock()
        .write_all(output.as_bytes())
        .map_err(|error| Failure::error(format!("cannot write the summary: {error}")))
}

/// The plan to run and where it came from, with the `--shed-below` override applied.
fn load_plan(args: &DemoArgs) -> Result<(Plan, String), Failure> {
    let (mut plan, source) = match &args.plan {
        Some(path) => {
            let (plan, warnings) = read_plan(path)?;
            for warning in &warnings {
                eprintln!("{}:{warning}", path.display());
            }
            (plan, path.display().to_string())
        }
        None => {
            let validated = parse_plan(SAMPLE_PLAN_JSON)
                .map_err(|error| Failure::error(format!("the embedded sample plan is invalid (a bug): {error}")))?;
            (validated.plan, "embedded sample plan".to_owned())
        }
    };
    if let Some(level) = args.shed_below {
        plan.shed_below = Some(level);
    }
    Ok((plan, source))
}

fn available_threads() -> usize {
    std::thread::available_parallelism().map_or(1, NonZeroUsize::get)
}

/// A bar on stderr for long interactive runs only: never in JSON mode or when piped.
fn progress_bar(args: &DemoArgs) -> ProgressBar {
    if args.json || args.devices < PROGRESS_MIN_DEVICES || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(args.devices);
    if let Ok(style) = ProgressStyle::with_template("simulating {pos}/{len} devices [{bar:40}] {eta} left") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

// ---------------------------------------------------------------------------------------------
// Traffic model
// ---------------------------------------------------------------------------------------------

/// Valid names that are in no plan: debug leftovers and old SDKs still sending.
const UNREGISTERED_STRAYS: [&str; 5] =
    ["debug.tmp_click", "old_sdk.ping", "qa.screenshot_taken", "promo.banner_tap_v2", "test.event"];

/// Names that break the naming rules, as hand-written tracking calls sometimes do.
const INVALID_STRAYS: [&str; 3] = ["Checkout Completed!", "screen view", "cart/add"];

/// Share of user actions that send a stray name instead of a registered event.
const STRAY_SHARE: f64 = 0.004;

/// Share of strays whose name is invalid rather than unregistered.
const INVALID_STRAY_SHARE: f64 = 0.25;

/// Multipliers spreading the volume of events alike in the plan, so a few dominate.
const VOLUME_SPREAD: [f64; 6] = [0.25, 0.5, 1.0, 1.0, 2.0, 4.0];

/// Share of occurrences with an unusually large payload (a long list, a stack trace).
const LARGE_PAYLOAD_SHARE: f64 = 0.01;

const NANOS_PER_SECOND: u64 = 1_000_000_000;
const NANOS_PER_HOUR: u64 = 3_600 * NANOS_PER_SECOND;

/// A device has 1 session, plus one more with probability 1/2 each time, up to this many.
const MOST_SESSIONS: u32 = 6;

/// Hours between two sessions of a device: 1 to 21.
const SESSION_GAP_NANOS: (u64, u64) = (NANOS_PER_HOUR, 21 * NANOS_PER_HOUR);

/// User actions in one session: 10 to 79.
const ACTIONS_PER_SESSION: (u64, u64) = (10, 80);

/// Time between two user actions: 0.3 to 6 seconds.
const THINK_TIME_NANOS: (u64, u64) = (300_000_000, 6 * NANOS_PER_SECOND);

/// 2026-11-23 09:00 UTC: report windows start here (they are not shown, only kept stable).
const SIMULATION_START_UNIX_MS: u64 = 1_795_424_400_000;

/// How one registered event is emitted by the simulated app.
struct EventTraffic {
    name: String,
    owner: String,
    /// Sampling rate, parts per million.
    rate_parts_per_million: u32,
    rate_limited: bool,
    /// The size cap the compiled plan applies, if any.
    max_bytes: Option<u64>,
    /// Retired, shed or disabled: no occurrence reaches the sampler.
    dropped_before_sampling: bool,
    /// Middle of the usual payload size.
    typical_bytes: u64,
    /// Its group in the sampling check, if it is in the check.
    check_group: Option<usize>,
    /// Chatty events fire in bursts.
    burst: Option<Burst>,
}

/// Events of the sampling check that share a salt and a rate, hence their kept devices.
struct CheckGroup {
    salt: String,
    /// The engine's weight for a kept occurrence: the inverse inclusion probability.
    weight: f64,
}

/// A run of occurrences of one event in quick succession.
#[derive(Clone, Copy)]
struct Burst {
    longest: u64,
    spacing_nanos: u64,
}

impl EventTraffic {
    fn is_sampled(&self) -> bool {
        self.rate_parts_per_million < PARTS_PER_MILLION
    }

    /// Whether the sum of kept weights estimates its true count: sampled at a rate above 0 (0
    /// keeps nothing to estimate from), reaching the sampler, and not rate-limited (a limit
    /// after the sampler keeps the estimate below the true count by design).
    fn is_estimated(&self) -> bool {
        self.is_sampled() && self.rate_parts_per_million > 0 && !self.rate_limited && !self.dropped_before_sampling
    }

    /// Whether an occurrence of this size gets past the rules evaluated before sampling.
    fn reaches_sampler(&self, size_bytes: u64) -> bool {
        !self.dropped_before_sampling && self.max_bytes.is_none_or(|cap| size_bytes <= cap)
    }

    fn draw_size(&self, random: &mut SplitMix64) -> u64 {
        let size = self.typical_bytes / 2 + random.below(self.typical_bytes.max(1));
        let size = if random.chance(LARGE_PAYLOAD_SHARE) { size * (4 + random.below(20)) } else { size };
        size.max(1)
    }
}

/// The simulated app: the plan, how often each event fires and how large it is.
struct TrafficModel {
    plan: Plan,
    /// In plan order, which is also the order of events in a `DropReport`.
    events: Vec<EventTraffic>,
    /// Running totals of the events' volume weights, for picking by weight.
    cumulative_weights: Vec<f64>,
    /// Distinct (salt, rate) pairs of the events in the sampling check.
    check_groups: Vec<CheckGroup>,
}

impl TrafficModel {
    /// Derives the traffic from the plan itself, so any plan can be demonstrated: authors
    /// sample the events that flood them and rate-limit the chatty ones, so rates and limits
    /// hint at volume and burstiness.
    fn new(plan: Plan) -> Result<TrafficModel, Failure> {
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
    fn pick(&self, point: f64) -> usize {
        let total = self.cumulative_weights.last().copied().unwrap_or(0.0);
        let target = point * total;
        self.cumulative_weights.partition_point(|&cumulative| cumulative <= target).min(self.events.len() - 1)
    }

    /// A fresh gate for one device: its own compiled plan, so its own token buckets.
    fn engine(&self, unit_id: String, clock: Arc<ManualClock>) -> Engine {
        let compiled = CompiledPlan::compile(&self.plan).expect("the plan compiled in TrafficModel::new");
        let options =
            EngineOptions { unit_id: Some(unit_id), unregistered_capacity: DEFAULT_UNREGISTERED_CAPACITY, clock };
        Engine::new(compiled, options).expect("simulated unit ids are 36-byte UUIDs, a valid length")
    }

    fn index_of(&self, name: &str) -> Option<usize> {
        self.events.binary_search_by(|event| event.name.as_str().cmp(name)).ok()
    }
}

/// Relative volume of an event among all the app sends.
fn volume_weight(rule: &EventRule, name_hash: u64) -> f64 {
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
fn typical_bytes(rule: &EventRule, name_hash: u64) -> u64 {
    match rule.max_bytes {
        Some(cap) => (u64::from(cap) / 4).max(1),
        None => 150 + (name_hash >> 16) % 1_350,
    }
}

/// Chatty events fire about four times faster than their limit allows, for a while.
fn burst_of(limit: RateLimit) -> Burst {
    let interval_nanos = NANOS_PER_SECOND as f64 / limit.per_second;
    let spacing_nanos = (interval_nanos / 4.0).clamp(20e6, 2e9) as u64;
    let longest = (3 * u64::from(limit.burst) + 3).min(200);
    Burst { longest, spacing_nanos }
}

// ---------------------------------------------------------------------------------------------
// Simulation
// ---------------------------------------------------------------------------------------------

/// Independent random streams derived from the seed.
const UNIT_STREAM: u64 = 0x756e_6974; // "unit"
const TRAFFIC_STREAM: u64 = 0x7472_6166; // "traf"

/// Simulates every device on `threads` threads and returns their reports summed in device
/// order: blocks of [`BLOCK_DEVICES`] devices are taken in turn and merged in block order.
fn simulate_devices(model: &TrafficModel, devices: u64, seed: u64, threads: usize, progress: &ProgressBar) -> Tally {
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
                let mut tally = Tally::new(model.events.len());
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
struct OrderedMerge {
    next_block: u64,
    waiting: BTreeMap<u64, Tally>,
    total: Tally,
}

impl OrderedMerge {
    fn new(event_count: usize) -> Self {
        OrderedMerge { next_block: 0, waiting: BTreeMap::new(), total: Tally::new(event_count) }
    }

    fn accept(&mut self, block: u64, tally: Tally) {
        self.waiting.insert(block, tally);
        while let Some(tally) = self.waiting.remove(&self.next_block) {
            self.total.merge(tally);
            self.next_block += 1;
        }
    }
}

/// One device's life: a few sessions hours apart, each a series of user actions seconds apart.
fn simulate_device(model: &TrafficModel, seed: u64, device: u64, tally: &mut Tally, truth: &mut DeviceTruth) {
    let clock = Arc::new(ManualClock::new(SIMULATION_START_UNIX_MS));
    let engine = model.engine(unit_id(seed, device), Arc::clone(&clock));
    let mut random = SplitMix64::new(stream_seed(seed, device, TRAFFIC_STREAM));
    let mut sessions = 1;
    while sessions < MOST_SESSIONS && random.chance(0.5) {
        sessions += 1;
    }
    for session in 0..sessions {
        if session > 0 {
            clock.advance_nanos(random.between(SESSION_GAP_NANOS));
        }
        for _ in 0..random.between(ACTIONS_PER_SESSION) {
            clock.advance_nanos(random.between(THINK_TIME_NANOS));
            if model.events.is_empty() || random.chance(STRAY_SHARE) {
                offer_stray(&engine, &mut random, truth);
            } else {
                let index = model.pick(random.unit_interval());
                offer_event(model, index, &engine, &clock, &mut random, truth);
            }
        }
    }
    tally.add_device(model, engine.take_report(), truth);
}

/// One user action on a registered event: a single occurrence, or a burst for chatty events.
fn offer_event(
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

fn offer_stray(engine: &Engine, random: &mut SplitMix64, truth: &mut DeviceTruth) {
    let name = if random.chance(INVALID_STRAY_SHARE) {
        INVALID_STRAYS[random.below(INVALID_STRAYS.len() as u64) as usize]
    } else {
        UNREGISTERED_STRAYS[random.below(UNREGISTERED_STRAYS.len() as u64) as usize]
    };
    engine.decide(name, 80 + random.below(400));
    truth.strays += 1;
}

/// The device's sampling unit: a UUID v4 text derived from the seed and the device index.
fn unit_id(seed: u64, device: u64) -> String {
    let mut random = SplitMix64::new(stream_seed(seed, device, UNIT_STREAM));
    let mut value = (u128::from(random.next_u64()) << 64) | u128::from(random.next_u64());
    value = (value & !(0xF << 76)) | (0x4 << 76); // version 4
    value = (value & !(0x3 << 62)) | (0x2 << 62); // RFC 4122 variant
    let hex = format!("{value:032x}");
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

// ---------------------------------------------------------------------------------------------
// Tally: what the engines reported, plus the simulator's truth
// ---------------------------------------------------------------------------------------------

/// What the simulator sent from one device (truth); reused from device to device.
struct DeviceTruth {
    /// Per registered event: occurrences sent, and those past the rules before sampling.
    offered: Vec<u64>,
    reached_sampler: Vec<u64>,
    /// Events with a non-zero count, so clearing skips the rest.
    touched: Vec<usize>,
    /// Unregistered and invalid names sent.
    strays: u64,
}

impl DeviceTruth {
    fn new(event_count: usize) -> Self {
        DeviceTruth {
            offered: vec![0; event_count],
            reached_sampler: vec![0; event_count],
            touched: Vec::new(),
            strays: 0,
        }
    }

    fn record(&mut self, index: usize, reached_sampler: bool) {
        if self.offered[index] == 0 {
            self.touched.push(index);
        }
        self.offered[index] += 1;
        self.reached_sampler[index] += u64::from(reached_sampler);
    }
}

/// One registered event's counts over many devices.
#[derive(Clone, Default)]
struct EventTally {
    /// Occurrences the simulator sent (truth).
    offered: u64,
    /// Occurrences that got past the rules before sampling (truth).
    reached_sampler: u64,
    /// Sum over devices of the square of `reached_sampler`: the estimate's variance is
    /// `(weight - 1)` times this, because whole devices are kept or dropped.
    reached_sampler_squares: u64,
    kept: u64,
    kept_bytes: u64,
    kept_weighted: f64,
    /// Devices that sent at least one occurrence through: the sample size behind an estimate.
    kept_devices: u64,
    dropped: ReasonCounts,
    dropped_bytes: u64,
}

impl EventTally {
    /// The engine's side of one device's report on the event (the truth is added apart).
    fn from_report(event: &EventReport) -> Self {
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

    fn add(&mut self, other: &EventTally) {
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
struct NameTally {
    count: u64,
    bytes: u64,
}

/// Reports of many devices, summed.
struct Tally {
    devices: u64,
    /// Events the simulator sent, registered or not (truth).
    simulated_events: u64,
    offered: u64,
    kept: u64,
    kept_bytes: u64,
    dropped: ReasonCounts,
    dropped_bytes: u64,
    shadow_dropped: ReasonCounts,
    /// Indexed like `TrafficModel::events`.
    events: Vec<EventTally>,
    /// Variance of the sampling check's total estimate (from the truth, not estimated).
    check_total_variance: f64,
    unregistered: BTreeMap<String, NameTally>,
    unregistered_overflow: u64,
}

impl Tally {
    fn new(event_count: usize) -> Self {
        Tally {
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
    fn add_device(&mut self, model: &TrafficModel, report: DropReport, truth: &mut DeviceTruth) {
        self.add_truth(model, truth);
        self.add_report(model, report);
    }

    fn add_truth(&mut self, model: &TrafficModel, truth: &mut DeviceTruth) {
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

    fn add_report(&mut self, model: &TrafficModel, report: DropReport) {
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

    fn add_unregistered(&mut self, name: String, counts: NameTally) {
        let sum = self.unregistered.entry(name).or_default();
        sum.count += counts.count;
        sum.bytes += counts.bytes;
    }

    fn merge(&mut self, other: Tally) {
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
fn device_check_variance(groups: &[CheckGroup], counts: &[u64]) -> f64 {
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

// ---------------------------------------------------------------------------------------------
// Summary: the figures shown, as text or JSON
// ---------------------------------------------------------------------------------------------

/// Every figure the demo shows; `--json` prints it as is, the text tables render it.
#[derive(Serialize)]
struct Summary {
    plan: PlanFacts,
    devices: u64,
    seed: u64,
    /// Events the simulator sent; equals `offered` when the gate saw every one.
    simulated_events: u64,
    offered: u64,
    kept: u64,
    dropped_total: u64,
    /// Every reason, zero or not.
    dropped: ReasonCounts,
    /// The reasons that dropped something, most first, with their share of `offered`.
    drop_reasons: Vec<ReasonShare>,
    /// What a shadow plan would have dropped (it keeps everything).
    shadow_dropped: ReasonCounts,
    bytes_offered: u64,
    bytes_kept: u64,
    bytes_saved: u64,
    bytes_saved_share: f64,
    top_droppers: Vec<Dropper>,
    unregistered: Vec<NameSeen>,
    unregistered_overflow: u64,
    invalid_names: u64,
    sampling_check: Vec<SamplingCheck>,
    sampling_check_total: SamplingCheckTotal,
    /// Sampled events left out of the check: a rate limit after the sampler keeps their
    /// estimate below the true count by design.
    sampling_check_rate_limited_excluded: usize,
}

#[derive(Serialize)]
struct PlanFacts {
    source: String,
    app: String,
    env: String,
    version: u64,
    events: usize,
    enabled: bool,
    shadow: bool,
    shed_below: Option<Priority>,
}

#[derive(Serialize)]
struct ReasonShare {
    reason: DropReason,
    count: u64,
    share: f64,
}

#[derive(Serialize)]
struct Dropper {
    event: String,
    owner: String,
    /// The reason that dropped most of its occurrences.
    reason: DropReason,
    dropped: u64,
    bytes_saved: u64,
}

#[derive(Serialize)]
struct NameSeen {
    name: String,
    count: u64,
    bytes: u64,
}

#[derive(Serialize)]
struct SamplingCheck {
    event: String,
    rate: f64,
    /// Occurrences that reached the sampler, counted by the simulator.
    true_count: u64,
    kept: u64,
    kept_devices: u64,
    /// Sum of the weights of kept occurrences, from the engines' reports.
    estimate: f64,
    /// `(estimate - true_count) / true_count`.
    relative_error: f64,
    /// One standard deviation of the estimate over all seeds, relative to the true count:
    /// the size of error to expect. Exact, computed from the simulated truth.
    relative_deviation: f64,
}

#[derive(Serialize)]
struct SamplingCheckTotal {
    true_count: u64,
    estimate: f64,
    relative_error: Option<f64>,
    relative_deviation: Option<f64>,
}

impl Summary {
    fn new(model: &TrafficModel, source: String, args: &DemoArgs, tally: &Tally) -> Summary {
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
            devices: args.devices,
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

fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

fn relative_error(estimate: f64, true_count: u64) -> Option<f64> {
    (true_count > 0).then(|| (estimate - true_count as f64) / true_count as f64)
}

fn reason_shares(dropped: &ReasonCounts, offered: u64) -> Vec<ReasonShare> {
    let mut shares: Vec<ReasonShare> = DropReason::ALL
        .into_iter()
        .map(|reason| ReasonShare { reason, count: dropped.get(reason), share: share(dropped.get(reason), offered) })
        .filter(|reason| reason.count > 0)
        .collect();
    // Stable sort: equal counts stay in evaluation order.
    shares.sort_by_key(|item| std::cmp::Reverse(item.count));
    shares
}

fn top_droppers(model: &TrafficModel, tally: &Tally) -> Vec<Dropper> {
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
fn main_reason(dropped: &ReasonCounts) -> DropReason {
    DropReason::ALL.into_iter().rev().max_by_key(|reason| dropped.get(*reason)).unwrap_or(DropReason::Unregistered)
}

fn names_seen(tally: &Tally) -> Vec<NameSeen> {
    let mut names: Vec<NameSeen> = tally
        .unregistered
        .iter()
        .map(|(name, counts)| NameSeen { name: name.clone(), count: counts.count, bytes: counts.bytes })
        .collect();
    names.sort_by_key(|item| std::cmp::Reverse(item.count));
    names
}

/// For each sampled event the sampler saw: the truth against the Horvitz–Thompson estimate.
fn sampling_checks(model: &TrafficModel, tally: &Tally) -> Vec<SamplingCheck> {
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

fn sampling_check_total(checks: &[SamplingCheck], variance: f64) -> SamplingCheckTotal {
    let true_count = checks.iter().map(|check| check.true_count).sum();
    let estimate = checks.iter().map(|check| check.estimate).sum();
    SamplingCheckTotal {
        true_count,
        estimate,
        relative_error: relative_error(estimate, true_count),
        relative_deviation: (true_count > 0).then(|| variance.sqrt() / true_count as f64),
    }
}

// ---------------------------------------------------------------------------------------------
// Text rendering (fits in 100 columns)
// ---------------------------------------------------------------------------------------------

fn render_text(summary: &Summary) -> Result<String, fmt::Error> {
    let mut out = String::new();
    write_header(&mut out, summary)?;
    write_outcome(&mut out, summary)?;
    write_bytes(&mut out, summary)?;
    write_top_droppers(&mut out, summary)?;
    write_names_seen(&mut out, summary)?;
    write_sampling_check(&mut out, summary)?;
    Ok(out)
}

fn write_header(out: &mut String, summary: &Summary) -> fmt::Result {
    let plan = &summary.plan;
    writeln!(
        out,
        "trackgate demo: plan {}/{} version {} ({} events, {})",
        plan.app, plan.env, plan.version, plan.events, plan.source
    )?;
    let mut rules = Vec::new();
    if let Some(level) = plan.shed_below {
        rules.push(format!("shedding below {level}"));
    }
    if !plan.enabled {
        rules.push("kill switch on".to_owned());
    }
    if plan.shadow {
        rules.push("shadow mode: everything is kept, would-be drops are counted".to_owned());
    }
    if !rules.is_empty() {
        writeln!(out, "Plan rules: {}", rules.join("; "))?;
    }
    writeln!(out, "Simulated {} devices with seed {}.", format::count(summary.devices), summary.seed)
}

fn write_outcome(out: &mut String, summary: &Summary) -> fmt::Result {
    writeln!(out)?;
    writeln!(out, "{:<26} {:>15} {:>8}", "Events", "count", "share")?;
    let row = |out: &mut String, label: &str, count: u64| {
        writeln!(out, "{label:<26} {:>15} {:>8}", format::count(count), percent(share(count, summary.offered)))
    };
    row(out, "  offered", summary.offered)?;
    row(out, "  kept", summary.kept)?;
    row(out, "  dropped", summary.dropped_total)?;
    for reason in &summary.drop_reasons {
        row(out, &format!("    {}", reason.reason), reason.count)?;
    }
    if summary.plan.shadow {
        row(out, "  would drop (shadow)", summary.shadow_dropped.total())?;
        for reason in reason_shares(&summary.shadow_dropped, summary.offered) {
            row(out, &format!("    {}", reason.reason), reason.count)?;
        }
    }
    Ok(())
}

fn write_bytes(out: &mut String, summary: &Summary) -> fmt::Result {
    writeln!(out)?;
    writeln!(out, "{:<26} {:>15} {:>8}", "Bytes", "size", "share")?;
    let row = |out: &mut String, label: &str, bytes: u64| {
        writeln!(out, "{label:<26} {:>15} {:>8}", format::bytes(bytes), percent(share(bytes, summary.bytes_offered)))
    };
    row(out, "  offered", summary.bytes_offered)?;
    row(out, "  kept", summary.bytes_kept)?;
    row(out, "  saved", summary.bytes_saved)
}

fn write_top_droppers(out: &mut String, summary: &Summary) -> fmt::Result {
    writeln!(out)?;
    if summary.top_droppers.is_empty() {
        return writeln!(out, "Top droppers: no registered event was dropped.");
    }
    writeln!(out, "Top {} droppers", summary.top_droppers.len())?;
    writeln!(out, "  {:<36} {:<16} {:<13} {:>12} {:>12}", "event", "owner", "reason", "dropped", "bytes saved")?;
    for dropper in &summary.top_droppers {
        writeln!(
            out,
            "  {:<36} {:<16} {:<13} {:>12} {:>12}",
            fit(&dropper.event, 36),
            fit(&dropper.owner, 16),
            dropper.reason.as_str(),
            format::count(dropper.dropped),
            format::bytes(dropper.bytes_saved)
        )?;
    }
    Ok(())
}

fn write_names_seen(out: &mut String, summary: &Summary) -> fmt::Result {
    writeln!(out)?;
    let occurrences: u64 = summary.unregistered.iter().map(|name| name.count).sum();
    writeln!(
        out,
        "Unregistered names seen: {} names, {} events",
        summary.unregistered.len(),
        format::count(occurrences)
    )?;
    for name in &summary.unregistered {
        writeln!(
            out,
            "  {:<36} {:>12} {:>12}",
            fit(&name.name, 36),
            format::count(name.count),
            format::bytes(name.bytes)
        )?;
    }
    if summary.unregistered_overflow > 0 {
        writeln!(
            out,
            "  (+{} events of names past the per-device record)",
            format::count(summary.unregistered_overflow)
        )?;
    }
    writeln!(out, "Invalid names: {} events (counted, not recorded by name)", format::count(summary.invalid_names))
}

fn write_sampling_check(out: &mut String, summary: &Summary) -> fmt::Result {
    writeln!(out)?;
    if summary.plan.shadow {
        return writeln!(out, "Sampling check: none, a shadow plan keeps every occurrence unweighted.");
    }
    if summary.sampling_check.is_empty() {
        return writeln!(out, "Sampling check: no sampled event reached the sampler.");
    }
    writeln!(out, "Sampling check: true count reaching the sampler vs the estimate (sum of kept weights)")?;
    let row = |out: &mut String, cells: [&str; 7]| {
        let [event, rate, true_count, devices, estimate, error, deviation] = cells;
        writeln!(out, "  {event:<34} {rate:>6} {true_count:>11} {devices:>8} {estimate:>11} {error:>8} {deviation:>9}")
    };
    row(out, ["event", "rate", "true count", "devices", "estimate", "error", "1 s.d."])?;
    for check in &summary.sampling_check {
        row(
            out,
            [
                &fit(&check.event, 34),
                &check.rate.to_string(),
                &format::count(check.true_count),
                &format::count(check.kept_devices),
                &format::count(check.estimate.round() as u64),
                &signed_percent(check.relative_error),
                &format!("±{}", percent(check.relative_deviation)),
            ],
        )?;
    }
    let total = &summary.sampling_check_total;
    row(
        out,
        [
            "all of them",
            "",
            &format::count(total.true_count),
            "",
            &format::count(total.estimate.round() as u64),
            &total.relative_error.map_or_else(|| "-".to_owned(), signed_percent),
            &total.relative_deviation.map_or_else(|| "-".to_owned(), |deviation| format!("±{}", percent(deviation))),
        ],
    )?;
    writeln!(out, "  devices: devices whose occurrences were kept; 1 s.d.: the typical size of the error.")?;
    writeln!(out, "  Events under one salt are kept on the same devices, so their errors move together.")?;
    if summary.sampling_check_rate_limited_excluded > 0 {
        writeln!(
            out,
            "  Left out: {} sampled events that are also rate-limited (the limit lowers the estimate).",
            summary.sampling_check_rate_limited_excluded
        )?;
    }
    Ok(())
}

fn percent(fraction: f64) -> String {
    format!("{:.1} %", fraction * 100.0)
}

fn signed_percent(fraction: f64) -> String {
    format!("{:+.1} %", fraction * 100.0)
}

/// The text cut to `width` characters, marking the cut.
fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(width - 1).collect();
    cut.push('…');
    cut
}

// ---------------------------------------------------------------------------------------------
// Randomness for the simulation only (never for sampling decisions)
// ---------------------------------------------------------------------------------------------

const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64: tiny, fast and fixed here, so a seed replays the same traffic in every version.
struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN_GAMMA);
        mix64(self.state)
    }

    /// Uniform in [0, 1), from the top 53 bits.
    fn unit_interval(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [0, bound) by multiply-shift (bias below 2^-64 per value, irrelevant here).
    fn below(&mut self, bound: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64
    }

    /// Uniform in [low, high).
    fn between(&mut self, (low, high): (u64, u64)) -> u64 {
        low + self.below(high - low)
    }

    fn chance(&mut self, probability: f64) -> bool {
        self.unit_interval() < probability
    }
}

/// The SplitMix64 finaliser: a bijection that scatters nearby inputs.
fn mix64(mut value: u64) -> u64 {
    value = (value ^ (value >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    value = (value ^ (value >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    value ^ (value >> 31)
}

/// The seed of one device's stream: unrelated for neighbouring devices and for each stream.
fn stream_seed(seed: u64, device: u64, stream: u64) -> u64 {
    mix64(mix64(seed ^ stream).wrapping_add(device))
}

/// FNV-1a: a stable name hash for the traffic model (`std`'s hasher may change between versions).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xCBF2_9CE4_8422_2325, |hash, &byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01B3))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_model() -> TrafficModel {
        TrafficModel::new(parse_plan(SAMPLE_PLAN_JSON).expect("sample plan is valid").plan)
            .unwrap_or_else(|failure| panic!("{}", failure.message))
    }

    #[test]
    fn groups_thousands() {
        assert_eq!(format::count(0), "0");
        assert_eq!(format::count(999), "999");
        assert_eq!(format::count(1_000), "1,000");
        assert_eq!(format::count(1_234_567), "1,234,567");
    }

    #[test]
    fn sizes_in_decimal_units() {
        assert_eq!(format::bytes(999), "999 B");
        assert_eq!(format::bytes(1_000), "1.0 kB");
        assert_eq!(format::bytes(2_500_000), "2.5 MB");
        assert_eq!(format::bytes(3_210_000_000), "3.2 GB");
    }

    #[test]
    fn fits_long_names() {
        assert_eq!(fit("short", 10), "short");
        assert_eq!(fit("a.very.long.event.name", 10), "a.very.lo…");
    }

    #[test]
    fn splitmix_matches_the_reference_stream() {
        // First outputs of the reference SplitMix64 seeded with 1234567.
        let mut random = SplitMix64::new(1_234_567);
        assert_eq!(random.next_u64(), 6_457_827_717_110_365_317);
        assert_eq!(random.next_u64(), 3_203_168_211_198_807_973);
    }

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
