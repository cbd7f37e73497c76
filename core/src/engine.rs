//! The gate an app calls for every event: decisions, plan swaps, unit changes and reports.
//!
//! Guarantees:
//! - `decide`, `decide_id` and `resolve` never allocate, never lock, never block and never
//!   panic. They read the active [`Snapshot`] through `arc-swap` (lock-free) and count with
//!   relaxed atomic adds.
//! - A plan or unit change builds a whole new snapshot first and swaps it in atomically; a
//!   decision sees the old snapshot or the new one, never a mix.
//! - Every decision is counted exactly once: `take_report` harvests counters with atomic swaps,
//!   and keeps replaced snapshots until no thread holds them, harvesting them again each time.
//! - No I/O and no threads; time comes from the injected [`Clock`].
//!
//! Control operations (`install`, `set_unit_id`, `take_report`) serialise on a mutex that the
//! hot path never touches.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use arc_swap::{ArcSwap, Cache};

use crate::clock::{Clock, SystemClock};
use crate::compile::{CompiledPlan, EventId};
use crate::name::{check_event_name, NameProblem};
use crate::reason::{Decision, DropReason};
use crate::report::{DropReport, EventReport, UnregisteredReport};
use crate::sampling::{random_value_with_seed, weight_for_floor};
use crate::unregistered::{Handling, TallyCounts, UnregisteredCounts, UnregisteredTable};

/// The longest unit id accepted, in bytes.
pub const MAX_UNIT_ID_BYTES: usize = 4096;

/// Sizes above this (4 GiB, larger than any `max_bytes`) are counted as this, so byte counters
/// cannot wrap however large the sizes an app passes.
pub const MAX_COUNTED_EVENT_BYTES: u64 = 1 << 32;

/// Distinct unregistered names recorded per report window, unless configured.
pub const DEFAULT_UNREGISTERED_CAPACITY: usize = 128;

/// How to build an [`Engine`].
pub struct EngineOptions {
    /// The sampling unit (install id or user id). `None` generates a random install id; read it
    /// with [`Engine::unit_id`] and persist it, so the device keeps its sample across launches.
    pub unit_id: Option<String>,
    /// Distinct unregistered names recorded per report window.
    pub unregistered_capacity: usize,
    /// Where time comes from.
    pub clock: Arc<dyn Clock>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            unit_id: None,
            unregistered_capacity: DEFAULT_UNREGISTERED_CAPACITY,
            clock: Arc::new(SystemClock::new()),
        }
    }
}

/// A control operation that was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// Unit ids must be 1..=4096 bytes.
    #[error("unit id must be 1 to {MAX_UNIT_ID_BYTES} bytes long, got {0} bytes")]
    InvalidUnitId(usize),
}

/// Why a name has no [`EventId`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// The name breaks the naming rules.
    #[error("invalid event name: {0}")]
    InvalidName(NameProblem),
    /// The name is valid but not in the active plan; decide it by name.
    #[error("event is not registered in the active plan")]
    Unregistered,
}

/// An [`EventId`] resolved against a plan that is no longer active: resolve the name again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("event id belongs to a plan that is no longer active; resolve the name again")]
pub struct StaleEventId;

/// What was installed and what it replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanChange {
    /// Version of the plan that was active before.
    pub previous_version: u64,
    /// Version now active.
    pub version: u64,
}

/// Everything one decision reads, swapped as a whole.
struct Snapshot {
    plan: Arc<CompiledPlan>,
    /// The unit's sampling value for each of the plan's salts.
    unit_values: Arc<[u64]>,
    unregistered: Arc<UnregisteredTable>,
}

struct Control {
    unit_id: String,
    /// Replaced snapshots that may still be in use; harvested by every report until free.
    retired: Vec<Arc<Snapshot>>,
    window_start_unix_ms: u64,
}

/// The gate. Share it between threads (`&Engine` or `Arc<Engine>`).
pub struct Engine {
    current: ArcSwap<Snapshot>,
    control: Mutex<Control>,
    clock: Arc<dyn Clock>,
    unregistered_capacity: usize,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Engine").field("plan", &self.current.load().plan).finish_non_exhaustive()
    }
}

/// A random install id (UUID v4 text) for apps that set no unit id.
///
/// The bytes come from the operating system's generator (`rand`'s `OsRng`; a user-space RNG
/// would add its code to every app for one call per install). Should the OS refuse, std's
/// per-process random hash keys mixed with the clock stand in rather than panicking.
pub fn generate_install_id() -> String {
    use rand::TryRngCore;
    let mut bytes = [0u8; 16];
    if rand::rngs::OsRng.try_fill_bytes(&mut bytes).is_err() {
        bytes = fallback_random_bytes();
    }
    let mut value = u128::from_be_bytes(bytes);
    value = (value & !(0xF << 76)) | (0x4 << 76); // version 4
    value = (value & !(0x3 << 62)) | (0x2 << 62); // RFC 4122 variant
    let hex = format!("{value:032x}");
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

fn fallback_random_bytes() -> [u8; 16] {
    use std::hash::{BuildHasher, Hasher};
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_nanos());
    let half = |salt: u64| {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(now);
        hasher.write_u64(salt);
        hasher.finish()
    };
    ((u128::from(half(1)) << 64) | u128::from(half(2))).to_be_bytes()
}

fn check_unit_id(unit_id: &str) -> Result<(), EngineError> {
    if unit_id.is_empty() || unit_id.len() > MAX_UNIT_ID_BYTES {
        return Err(EngineError::InvalidUnitId(unit_id.len()));
    }
    Ok(())
}

fn unit_values(plan: &CompiledPlan, unit_id: &str) -> Arc<[u64]> {
    plan.salt_seeds.iter().map(|&seed| random_value_with_seed(unit_id, seed)).collect()
}

impl Engine {
    /// An engine deciding by `plan` from the start.
    pub fn new(plan: CompiledPlan, options: EngineOptions) -> Result<Engine, EngineError> {
        let unit_id = match options.unit_id {
            Some(unit_id) => {
                check_unit_id(&unit_id)?;
                unit_id
            }
            None => generate_install_id(),
        };
        let snapshot = Snapshot {
            unit_values: unit_values(&plan, &unit_id),
            plan: Arc::new(plan),
            unregistered: Arc::new(UnregisteredTable::new(options.unregistered_capacity)),
        };
        let window_start_unix_ms = options.clock.unix_millis();
        Ok(Engine {
            current: ArcSwap::from_pointee(snapshot),
            control: Mutex::new(Control { unit_id, retired: Vec::new(), window_start_unix_ms }),
            clock: options.clock,
            unregistered_capacity: options.unregistered_capacity,
        })
    }

    fn control(&self) -> MutexGuard<'_, Control> {
        // A panic elsewhere while holding the lock leaves the state consistent (every step is
        // a whole swap), so a poisoned lock is still safe to use.
        self.control.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Decides one event by name. `size_bytes` is the encoded payload size.
    #[inline]
    pub fn decide(&self, name: &str, size_bytes: u64) -> Decision {
        self.current.load().decide_name(name, size_bytes, &*self.clock)
    }

    /// The id of a registered event in the active plan, for [`Engine::decide_id`].
    pub fn resolve(&self, name: &str) -> Result<EventId, ResolveError> {
        self.current.load().resolve(name)
    }

    /// Decides one event by id: the fastest path. Fails only for an id of an older plan.
    #[inline]
    pub fn decide_id(&self, id: EventId, size_bytes: u64) -> Result<Decision, StaleEventId> {
        self.current.load().decide_id(id, size_bytes, &*self.clock)
    }

    /// A handle for one thread's hot loop: it caches the active snapshot and checks for a newer
    /// one with a single atomic load per call.
    pub fn decider(&self) -> Decider<'_> {
        Decider { cache: Cache::new(&self.current), clock: &*self.clock }
    }

    /// Makes `plan` the active plan, atomically. Counters of the old plan stay reportable.
    pub fn install(&self, plan: CompiledPlan) -> PlanChange {
        let mut control = self.control();
        let current = self.current.load_full();
        let version = plan.version;
        let snapshot = Snapshot {
            unit_values: unit_values(&plan, &control.unit_id),
            plan: Arc::new(plan),
            unregistered: Arc::clone(&current.unregistered),
        };
        let previous = self.current.swap(Arc::new(snapshot));
        control.retired.push(previous);
        PlanChange { previous_version: current.plan.version, version }
    }

    /// Changes the sampling unit (for example when a user logs in). Recomputes the unit's
    /// sampling values once per salt; decisions after this use the new unit.
    pub fn set_unit_id(&self, unit_id: &str) -> Result<(), EngineError> {
        check_unit_id(unit_id)?;
        let mut control = self.control();
        let current = self.current.load_full();
        let snapshot = Snapshot {
            plan: Arc::clone(&current.plan),
            unit_values: unit_values(&current.plan, unit_id),
            unregistered: Arc::clone(&current.unregistered),
        };
        let previous = self.current.swap(Arc::new(snapshot));
        control.retired.push(previous);
        control.unit_id = unit_id.to_owned();
        Ok(())
    }

    /// The sampling unit in use (persist it if it was generated).
    pub fn unit_id(&self) -> String {
        self.control().unit_id.clone()
    }

    /// The active compiled plan.
    pub fn plan(&self) -> Arc<CompiledPlan> {
        Arc::clone(&self.current.load().plan)
    }

    /// Version of the active plan.
    pub fn plan_version(&self) -> u64 {
        self.current.load().plan.version
    }

    /// Reads and resets all counts since the last report, atomically per counter: every
    /// decision appears in exactly one report.
    pub fn take_report(&self) -> DropReport {
        let mut control = self.control();
        let current = self.current.load_full();
        if !current.unregistered.is_untouched() {
            let fresh = Snapshot {
                plan: Arc::clone(&current.plan),
                unit_values: Arc::clone(&current.unit_values),
                unregistered: Arc::new(UnregisteredTable::new(self.unregistered_capacity)),
            };
            let previous = self.current.swap(Arc::new(fresh));
            control.retired.push(previous);
        }
        let mut builder = ReportBuilder::default();
        // Harvest retired snapshots; drop those no other thread holds (checked before the
        // harvest, so nothing can be counted into them afterwards).
        let retired = std::mem::take(&mut control.retired);
        for snapshot in retired {
            let free = Arc::strong_count(&snapshot) == 1;
            builder.harvest(&snapshot);
            if !free {
                control.retired.push(snapshot);
            }
        }
        builder.harvest(&self.current.load());
        let window_end_unix_ms = self.clock.unix_millis();
        let report = builder.finish(&current.plan, control.window_start_unix_ms, window_end_unix_ms);
        control.window_start_unix_ms = window_end_unix_ms;
        report
    }
}

/// A per-thread decision handle from [`Engine::decider`].
pub struct Decider<'engine> {
    cache: Cache<&'engine ArcSwap<Snapshot>, Arc<Snapshot>>,
    clock: &'engine dyn Clock,
}

impl Decider<'_> {
    /// As [`Engine::decide`].
    #[inline]
    pub fn decide(&mut self, name: &str, size_bytes: u64) -> Decision {
        let clock = self.clock;
        self.cache.load().decide_name(name, size_bytes, clock)
    }

    /// As [`Engine::decide_id`].
    #[inline]
    pub fn decide_id(&mut self, id: EventId, size_bytes: u64) -> Result<Decision, StaleEventId> {
        let clock = self.clock;
        self.cache.load().decide_id(id, size_bytes, clock)
    }

    /// As [`Engine::resolve`].
    pub fn resolve(&mut self, name: &str) -> Result<EventId, ResolveError> {
        self.cache.load().resolve(name)
    }
}

impl Snapshot {
    fn resolve(&self, name: &str) -> Result<EventId, ResolveError> {
        match self.plan.lookup(name.as_bytes()) {
            Some(index) => Ok(EventId::new(self.plan.generation, index)),
            None => match check_event_name(name) {
                Err(problem) => Err(ResolveError::InvalidName(problem)),
                Ok(()) => Err(ResolveError::Unregistered),
            },
        }
    }

    #[inline]
    fn decide_id(&self, id: EventId, size_bytes: u64, clock: &dyn Clock) -> Result<Decision, StaleEventId> {
        let size_bytes = size_bytes.min(MAX_COUNTED_EVENT_BYTES);
        let index = id.index() as usize;
        if id.generation() != self.plan.generation || index >= self.plan.events.len() {
            return Err(StaleEventId);
        }
        Ok(self.decide_index(index, size_bytes, clock))
    }

    #[inline]
    fn decide_name(&self, name: &str, size_bytes: u64, clock: &dyn Clock) -> Decision {
        let size_bytes = size_bytes.min(MAX_COUNTED_EVENT_BYTES);
        match self.plan.lookup(name.as_bytes()) {
            Some(index) => self.decide_index(index as usize, size_bytes, clock),
            None => self.decide_unmatched(name, size_bytes),
        }
    }

    #[inline]
    fn decide_index(&self, index: usize, size_bytes: u64, clock: &dyn Clock) -> Decision {
        let plan = &*self.plan;
        let counters = &plan.counters[index];
        match self.evaluate(index, size_bytes, clock) {
            Ok(weight) => {
                counters.record_kept(size_bytes);
                Decision::Keep { weight }
            }
            Err(reason) => {
                counters.record_drop(reason, size_bytes);
                self.refuse(reason)
            }
        }
    }

    /// The rules after the name is known, with this unit and the device's token buckets.
    #[inline]
    fn evaluate(&self, index: usize, size_bytes: u64, clock: &dyn Clock) -> Result<f64, DropReason> {
        self.plan.evaluate_event(index, size_bytes, |salt| self.unit_values[salt], Some(clock))
    }

    /// A drop, or in shadow mode the keep that replaces it (already counted as a drop).
    #[inline]
    fn refuse(&self, reason: DropReason) -> Decision {
        if self.plan.shadow {
            Decision::Keep { weight: 1.0 }
        } else {
            Decision::Drop { reason }
        }
    }

    #[cold]
    fn decide_unmatched(&self, name: &str, size_bytes: u64) -> Decision {
        let plan = &*self.plan;
        match plan.unmatched_rule(name) {
            Some(DropReason::Unregistered) => {
                let handling = if plan.shadow { Handling::ShadowDropped } else { Handling::Dropped };
                self.unregistered.record(name.as_bytes(), handling, size_bytes);
                self.refuse(DropReason::Unregistered)
            }
            Some(reason) => {
                plan.plan_counters.record(reason, size_bytes);
                self.refuse(reason)
            }
            None => {
                self.unregistered.record(name.as_bytes(), Handling::Kept, size_bytes);
                Decision::Keep { weight: 1.0 }
            }
        }
    }
}

/// Merges harvested counts of any number of snapshots into one report.
#[derive(Default)]
struct ReportBuilder {
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

    fn harvest(&mut self, snapshot: &Snapshot) {
        let plan = &*snapshot.plan;
        let shadow = plan.shadow;
        for (index, counters) in plan.counters.iter().enumerate() {
            let counts = counters.take();
            if counts.is_empty() {
                continue;
            }
            let event = &plan.events[index];
            let name = plan.event_name(index);
            {
                let entry = self.events.entry(name.to_owned()).or_default();
                entry.priority = Some(event.priority());
            }
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
                    let entry = self.events.get_mut(name).expect("entry inserted above");
                    add(&mut entry.kept, counts.primary);
                    add(&mut entry.kept_bytes, counts.kept_bytes);
                    entry.kept_weighted += counts.primary as f64 * if shadow { 1.0 } else { weight };
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
        let [invalid, invalid_bytes, disabled, disabled_bytes] = plan.plan_counters.take();
        self.add_drops(shadow, None, DropReason::InvalidName, invalid, invalid_bytes);
        self.add_drops(shadow, None, DropReason::Disabled, disabled, disabled_bytes);
        let (names, overflow) = snapshot.unregistered.take();
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

    fn add_unregistered(&mut self, counts: &TallyCounts) {
        add(&mut self.totals.kept, counts.kept.saturating_add(counts.shadow_dropped));
        add(&mut self.totals.kept_bytes, counts.kept_bytes);
        self.totals.dropped.add(DropReason::Unregistered, counts.dropped);
        add(&mut self.totals.dropped_bytes, counts.dropped_bytes);
        self.totals.shadow_dropped.add(DropReason::Unregistered, counts.shadow_dropped);
    }

    fn finish(self, plan: &CompiledPlan, window_start_unix_ms: u64, window_end_unix_ms: u64) -> DropReport {
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
