//! The gate an app calls for every event: decisions, plan swaps, unit changes and reports.
//!
//! Guarantees:
//! - `decide`, `decide_id` and `resolve` never lock, never block and never panic, and after a
//!   thread's first decision under the active rules they never allocate.
//! - A plan or unit change builds a whole new snapshot first and swaps it in atomically; a
//!   decision sees the old rules or the new ones, never a mix.
//! - Every decision is counted exactly once, and `take_report` reports each count once.
//! - No I/O and no threads; time comes from the injected [`Clock`].
//!
//! The parts:
//! - this file: the public types, the [`Engine`] and its control operations (`install`,
//!   `set_unit_id`, `take_report`), which build a new [`Snapshot`] and swap it in under a mutex
//!   the hot path never touches;
//! - `lane.rs`: where decisions run. Each thread that decides gets, per engine and per rules
//!   generation (a process-wide unique value, replaced by `install` and `set_unit_id`), a lane:
//!   the rules it decides by and counters only that thread writes, with a plain load and store.
//!   The lane a thread used last is read through a destructor-free thread-local, the core's only
//!   `unsafe`, walled in that module with everything its soundness argument relies on. When the
//!   thread-local cache cannot be used (thread teardown, a [`Clock`] that decides re-entrantly),
//!   a decision falls back to the snapshot and its shared counters (atomic adds);
//! - `rules.rs`: one decision, the same on a lane and on the fallback path;
//! - `packed.rs`: a decision packed in one register for the out-of-line path;
//! - `install_id.rs`: the random install id for apps that set no unit id.
//!
//! A lane is created on a thread's first decision under new rules (one allocation of
//! 112 bytes per event, registered lock-free in the engine's lane list); it lives as long as its
//! thread's cache or a [`Decider`] holds it. `take_report` reads every registered lane and
//! reports the growth since its last read, then forgets lanes no thread holds any more (after
//! that final read). Thread-local caches hold at most `LANE_CACHE_ENTRIES` (4) lanes; an idle
//! thread keeps its lane's plan alive until it decides again or exits. Why this shape, and what
//! each part measurably bought: `docs/performance.md`.

mod install_id;
mod lane;
mod packed;
mod rules;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use arc_swap::ArcSwap;

use crate::clock::{Clock, SystemClock};
use crate::compile::{CompiledPlan, EventId};
use crate::explain::Explanation;
use crate::name::{check_event_name, NameProblem};
use crate::report::{DropReport, ReportBuilder};
use crate::sampling::random_value_with_seed;
use crate::unregistered::UnregisteredTable;

pub use install_id::{generate_install_id, uuid_v4_text};
pub use lane::Decider;
use lane::{GuardedClock, Lane, RulesGeneration};

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
    /// Unique per engine in the process: the key of the thread-local lane caches.
    id: u64,
    current: ArcSwap<Snapshot>,
    /// Renewed after every swap that changes the rules (`install`, `set_unit_id`).
    rules_generation: RulesGeneration,
    /// Every lane that may hold counts not yet reported.
    lanes: ArcSwap<Vec<Arc<Lane>>>,
    control: Mutex<Control>,
    clock: GuardedClock,
    unregistered_capacity: usize,
}

static NEXT_ENGINE_ID: AtomicU64 = AtomicU64::new(1);

impl std::fmt::Debug for Engine {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Engine").field("plan", &self.current.load().plan).finish_non_exhaustive()
    }
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
            id: NEXT_ENGINE_ID.fetch_add(1, Ordering::Relaxed),
            rules_generation: RulesGeneration::new(),
            lanes: ArcSwap::from_pointee(Vec::new()),
            current: ArcSwap::from_pointee(snapshot),
            control: Mutex::new(Control { unit_id, retired: Vec::new(), window_start_unix_ms }),
            clock: GuardedClock::new(options.clock),
            unregistered_capacity: options.unregistered_capacity,
        })
    }

    fn control(&self) -> MutexGuard<'_, Control> {
        // A panic elsewhere while holding the lock leaves the state consistent (every step is
        // a whole swap), so a poisoned lock is still safe to use.
        self.control.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
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
        self.rules_generation.renew();
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
        self.rules_generation.renew();
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

    /// Why `decide(name, size_bytes)` would answer what it does now: the decision and every
    /// value the rules read (plan version, the refusing rule, cap and size, rate and the unit's
    /// sampling value, tokens left), from the active plan and unit. Counts nothing and takes no
    /// rate-limit token, so reports and later decisions are as if it had not been called. Not
    /// for the hot path: it allocates and reads the clock (rate-limited events).
    pub fn explain(&self, name: &str, size_bytes: u64) -> Explanation {
        let snapshot = self.current.load();
        let values = &snapshot.unit_values;
        let unit_value = |salt: usize| values.get(salt).copied().unwrap_or(0);
        snapshot.plan.explain(name, size_bytes, Some(unit_value), || self.clock.monotonic_nanos())
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
            builder.harvest(&snapshot.plan, &snapshot.unregistered);
            if !free {
                control.retired.push(snapshot);
            }
        }
        let active = self.current.load();
        builder.harvest(&active.plan, &active.unregistered);
        self.harvest_lanes(&mut builder);
        let window_end_unix_ms = self.clock.unix_millis();
        let report = builder.finish(&current.plan, control.window_start_unix_ms, window_end_unix_ms);
        control.window_start_unix_ms = window_end_unix_ms;
        report
    }
}

fn resolve_in(plan: &CompiledPlan, name: &str) -> Result<EventId, ResolveError> {
    match plan.lookup(name.as_bytes()) {
        Some(index) => Ok(EventId::new(plan.stamp, index)),
        None => match check_event_name(name) {
            Err(problem) => Err(ResolveError::InvalidName(problem)),
            Ok(()) => Err(ResolveError::Unregistered),
        },
    }
}
