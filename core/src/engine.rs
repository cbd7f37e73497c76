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
//! ## Lanes: why a decision costs a few nanoseconds
//! Each thread that decides gets, per engine and per rules generation (a process-wide unique
//! value, replaced by `install` and `set_unit_id`), a [`Lane`]: the rules it decides by
//! (compiled plan, the unit's sampling values, and per event a copy of the event's 16-byte rule
//! beside counters that only this thread writes, with a plain load and store, in one 64-byte
//! line). Compared with reading the snapshot through `arc-swap` (which writes and repays a debt
//! slot) and counting with locked adds, that removes four atomic read-modify-writes from every
//! decision (`docs/performance.md`).
//!
//! The thread keeps its lanes in a small thread-local cache keyed by engine id, and mirrors the
//! one it used last in a destructor-free thread-local (`HOT_LANE`: generation, lane and plan
//! pointers). A decision compares that generation with the engine's (one atomic load) and
//! decides on the lane through the pointers: the core's only `unsafe`, argued at
//! `Engine::hot_lane` and run under Miri in CI (`scripts/miri.sh`). Anything else (another
//! engine, new rules, the first decision) takes the out-of-line refresh.
//!
//! A lane is created on a thread's first decision under new rules (one allocation of
//! 112 bytes per event: the 64-byte entry and what the last report read; registered lock-free
//! in the engine's lane list); it lives as long as its thread's cache or a [`Decider`] holds it.
//! `take_report` reads every registered lane and reports the growth since its last read, then
//! forgets lanes no thread holds any more (after that final read). Thread-local caches hold at
//! most [`LANE_CACHE_ENTRIES`] lanes; an idle thread keeps its lane's plan alive until it
//! decides again or exits.
//!
//! When the thread-local cache cannot be used (during thread teardown, or a [`Clock`] that
//! decides re-entrantly and would need the cache to change) a decision falls back to the
//! snapshot and its shared counters (atomic adds), as every decision did before lanes.
//!
//! Control operations (`install`, `set_unit_id`, `take_report`) serialise on a mutex that the
//! hot path never touches.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use arc_swap::ArcSwap;

use crate::clock::{Clock, SystemClock};
use crate::compile::{CompiledPlan, EventId, EventRule};
use crate::counters::{EventCounters, EventCounts, PlanCounters};
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
    /// Unique per engine in the process: the key of the thread-local lane caches.
    id: u64,
    current: ArcSwap<Snapshot>,
    /// Set to a fresh, process-wide unique value after every swap that changes the rules
    /// (`install`, `set_unit_id`); a lane built under an older value is replaced before it
    /// decides again.
    rules_generation: AtomicU64,
    /// Every lane that may hold counts not yet reported.
    lanes: ArcSwap<Vec<Arc<Lane>>>,
    control: Mutex<Control>,
    clock: Arc<dyn Clock>,
    unregistered_capacity: usize,
}

static NEXT_ENGINE_ID: AtomicU64 = AtomicU64::new(1);

/// Rules generations are unique in the process, across engines: a thread's hot lane matches an
/// engine and its current rules with one comparison. 0 is never handed out.
static NEXT_RULES_GENERATION: AtomicU64 = AtomicU64::new(1);

fn next_rules_generation() -> u64 {
    NEXT_RULES_GENERATION.fetch_add(1, Ordering::Relaxed)
}

/// Lanes one thread keeps at hand (one per engine it decides with; apps run one engine).
pub const LANE_CACHE_ENTRIES: usize = 4;

/// One event in a [`Lane`]: a copy of its rules beside this thread's counters for it, in one
/// cache line. A decision by id reads one line of event data instead of two, and finds rule and
/// counters as one entry, which spared the compiler reloading them after the clock call (13 of
/// 75 instructions; `docs/performance.md`).
#[repr(C, align(64))]
struct LaneEntry {
    rule: EventRule,
    /// Written only by the lane's thread (single-writer, load + store).
    counters: EventCounters,
}

/// One thread's view of one engine's rules, and its own counters.
struct Lane {
    rules_generation: u64,
    plan: Arc<CompiledPlan>,
    unit_values: Arc<[u64]>,
    /// One per event of `plan`, by index; their counters, like `plan_counters`, are written
    /// only by the thread that owns the lane (single-writer, load + store).
    entries: Box<[LaneEntry]>,
    plan_counters: PlanCounters,
    /// What the last report read from the entries' counters and `plan_counters`; only reports
    /// touch it, and they serialise on the control lock.
    reported: Mutex<(Box<[EventCounts]>, [u64; 4])>,
}

struct CachedLane {
    engine_id: u64,
    lane: Arc<Lane>,
}

/// A thread's lanes, most recently used first.
struct LaneCache([Option<CachedLane>; LANE_CACHE_ENTRIES]);

impl Drop for LaneCache {
    fn drop(&mut self) {
        // The lanes are about to be released: the hot copy must not point at them any more.
        // (`HOT_LANE` has no destructor, so it is still accessible during thread teardown.)
        let _ = HOT_LANE.try_with(HotLane::clear);
    }
}

/// The first entry of this thread's [`LANE_CACHE`], copied into plain cells so the decision
/// fast path reads it with ordinary loads: no borrow flag to update and, because nothing here
/// needs dropping, no destructor-registration check either. Above all, the access is small
/// enough for the compiler to inline with the whole decision (`decide/id_hit` 9.4 → 4.4 ns with
/// the rest of that work; `docs/performance.md`).
///
/// Invariant: `lane` is null or points at the lane held (as an `Arc`) by the first entry of
/// this thread's `LANE_CACHE`, and `rules_generation` is that lane's (0, which no engine uses,
/// when `lane` is null). Only [`Engine::refresh_cached_lane`] changes that entry, and it
/// updates this copy in the same step; `LaneCache`'s destructor clears it before releasing the
/// lanes.
struct HotLane {
    /// The lane's `rules_generation`: unique in the process, so it names the engine too.
    rules_generation: Cell<u64>,
    lane: Cell<*const Lane>,
    /// The lane's compiled plan (which the lane keeps alive), one pointer chase shorter.
    plan: Cell<*const CompiledPlan>,
    /// Set while a decision calls the engine's [`Clock`]: the one piece of host code a decision
    /// runs. A clock that decides re-entrantly must not refresh the cache (that could release
    /// the lane the outer decision is using), so its decisions take the fallback path instead.
    in_clock: Cell<bool>,
}

impl HotLane {
    fn clear(&self) {
        self.rules_generation.set(0);
        self.lane.set(std::ptr::null());
        self.plan.set(std::ptr::null());
    }

    fn point_at(&self, lane: &Arc<Lane>) {
        self.rules_generation.set(lane.rules_generation);
        self.lane.set(Arc::as_ptr(lane));
        self.plan.set(Arc::as_ptr(&lane.plan));
    }
}

/// A lane read from [`HOT_LANE`] and its plan, valid for one decision on this thread.
struct HotRules<'a> {
    lane: &'a Lane,
    /// `lane.plan`.
    plan: &'a CompiledPlan,
}

impl HotRules<'_> {
    #[inline(always)]
    fn rules<'a>(&'a self, engine: &'a Engine) -> Rules<'a, Lane> {
        Rules { engine, plan: self.plan, unit_values: &self.lane.unit_values, tally: self.lane }
    }
}

/// Marks a [`Clock`] call as running (`HotLane::in_clock`) until dropped, then restores the
/// previous mark, also if the clock panics, so the thread is not left refusing refreshes.
struct ClockCall {
    outer: bool,
}

impl ClockCall {
    #[inline(always)]
    fn enter() -> ClockCall {
        ClockCall { outer: HOT_LANE.with(|hot| hot.in_clock.replace(true)) }
    }
}

impl Drop for ClockCall {
    #[inline(always)]
    fn drop(&mut self) {
        let outer = self.outer;
        HOT_LANE.with(|hot| hot.in_clock.set(outer));
    }
}

thread_local! {
    static LANE_CACHE: RefCell<LaneCache> = const { RefCell::new(LaneCache([const { None }; LANE_CACHE_ENTRIES])) };
    static HOT_LANE: HotLane = const {
        HotLane {
            rules_generation: Cell::new(0),
            lane: Cell::new(std::ptr::null()),
            plan: Cell::new(std::ptr::null()),
            in_clock: Cell::new(false),
        }
    };
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
            id: NEXT_ENGINE_ID.fetch_add(1, Ordering::Relaxed),
            rules_generation: AtomicU64::new(next_rules_generation()),
            lanes: ArcSwap::from_pointee(Vec::new()),
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
    #[inline(always)]
    pub fn decide(&self, name: &str, size_bytes: u64) -> Decision {
        match self.hot_lane() {
            Some(hot) => hot.rules(self).decide_name(name, size_bytes),
            None => unpack(self.with_refreshed_lane(
                |lane| pack(lane.rules(self).decide_name(name, size_bytes)),
                |snapshot| pack(snapshot.rules(self).decide_name(name, size_bytes)),
            )),
        }
    }

    /// The id of a registered event in the active plan, for [`Engine::decide_id`].
    pub fn resolve(&self, name: &str) -> Result<EventId, ResolveError> {
        match self.hot_lane() {
            Some(hot) => resolve_in(hot.plan, name),
            None => self
                .with_refreshed_lane(|lane| resolve_in(&lane.plan, name), |snapshot| resolve_in(&snapshot.plan, name)),
        }
    }

    /// Decides one event by id: the fastest path. Fails only for an id of an older plan.
    #[inline(always)]
    pub fn decide_id(&self, id: EventId, size_bytes: u64) -> Result<Decision, StaleEventId> {
        match self.hot_lane() {
            Some(hot) => hot.rules(self).decide_id(id, size_bytes),
            None => unpack_id_decision(self.with_refreshed_lane(
                |lane| lane.rules(self).decide_id(id, size_bytes).map_or(PACKED_STALE, pack),
                |snapshot| snapshot.rules(self).decide_id(id, size_bytes).map_or(PACKED_STALE, pack),
            )),
        }
    }

    /// A handle for one thread's hot loop: it holds this thread's lane, so each call skips the
    /// thread-local lookup. It stays on the thread that made it (`!Send`).
    pub fn decider(&self) -> Decider<'_> {
        Decider { engine: self, lane: None, not_send: PhantomData }
    }

    /// Runs `decide` on this thread's lane for the current rules after refreshing the thread's
    /// cache, or `fallback` on the active snapshot when the cache must not change or is gone.
    /// For decisions that [`Engine::hot_lane`] could not serve.
    ///
    /// The hot path is written out in each caller (`hot_lane` and the rules, all inlined):
    /// routed through a shared closure, or through a thread-local closure, the decision stayed
    /// a separate function call (2 to 4 ns per decision, measured).
    #[cold]
    #[inline(never)]
    fn with_refreshed_lane<R>(&self, decide: impl FnOnce(&Lane) -> R, fallback: impl FnOnce(&Snapshot) -> R) -> R {
        match self.thread_lane() {
            // Our own `Arc`: the lane stays alive even if `decide` re-enters and refreshes.
            Some(lane) => decide(&lane),
            None => fallback(&self.current.load()),
        }
    }

    /// This thread's lane from [`HOT_LANE`], if it is this engine's and has the current rules.
    #[inline(always)]
    #[allow(unsafe_code)]
    fn hot_lane(&self) -> Option<HotRules<'_>> {
        let generation = self.rules_generation.load(Ordering::Acquire);
        // Each access to `HOT_LANE` is a tiny closure, so it inlines to plain thread-local loads.
        let (hot_generation, hot_lane, hot_plan) =
            HOT_LANE.with(|hot| (hot.rules_generation.get(), hot.lane.get(), hot.plan.get()));
        if hot_generation != generation {
            return None;
        }
        // SAFETY: rules generations are unique in the process and never 0, so a match means
        // the pointers are not null, and by the `HotLane` invariant they point at this engine's
        // lane for its current rules, which this thread's `LANE_CACHE` holds, and at that
        // lane's plan (which the lane holds). The callers use them for one decision, and
        // during a decision the cache does not change. It changes only on this thread: in
        // `refresh_cached_lane`, reached from `thread_lane`, which a decision itself never
        // calls and which refuses while a decision's clock call runs (the only host code a
        // decision runs: it allocates nothing and has no panic of its own), and in its
        // destructor (thread teardown, never during a decision).
        let (lane, plan) = unsafe { (&*hot_lane, &*hot_plan) };
        Some(HotRules { lane, plan })
    }

    /// This thread's lane for the current rules, refreshing the thread's cache, unless the
    /// cache must not change (called from a decision's clock: the outer decision may be using
    /// a lane from [`HOT_LANE`]) or is gone (thread teardown).
    #[cold]
    #[inline(never)]
    fn thread_lane(&self) -> Option<Arc<Lane>> {
        if HOT_LANE.with(|hot| hot.in_clock.get()) {
            return None;
        }
        let generation = self.rules_generation.load(Ordering::Acquire);
        LANE_CACHE
            .try_with(|cache| Some(self.refresh_cached_lane(&mut cache.try_borrow_mut().ok()?.0, generation)))
            .ok()
            .flatten()
    }

    /// Moves this engine's lane to the front of the thread's cache, replacing it if its rules
    /// are outdated, and evicting the least recently used entry to make room.
    #[cold]
    fn refresh_cached_lane(&self, cache: &mut [Option<CachedLane>; LANE_CACHE_ENTRIES], generation: u64) -> Arc<Lane> {
        // Entries move and may be released below: until the first entry is settled, the hot
        // copy points nowhere.
        let _ = HOT_LANE.try_with(HotLane::clear);
        let position = cache
            .iter()
            .position(|entry| entry.as_ref().is_some_and(|entry| entry.engine_id == self.id))
            .unwrap_or(LANE_CACHE_ENTRIES - 1);
        cache[..=position].rotate_right(1);
        let lane = match cache[0].take() {
            Some(entry) if entry.engine_id == self.id && entry.lane.rules_generation == generation => entry.lane,
            _ => self.new_lane(),
        };
        // `HOT_LANE` follows the first entry (its invariant); this is the only place that sets it.
        let _ = HOT_LANE.try_with(|hot| hot.point_at(&lane));
        cache[0] = Some(CachedLane { engine_id: self.id, lane: Arc::clone(&lane) });
        lane
    }

    /// A lane for the active rules, registered so reports see its counts.
    #[cold]
    fn new_lane(&self) -> Arc<Lane> {
        // The generation is read before the snapshot: a lane may carry newer rules than its
        // generation says (and is then replaced early), never older ones.
        let rules_generation = self.rules_generation.load(Ordering::Acquire);
        let snapshot = self.current.load_full();
        let events = snapshot.plan.events.len();
        let lane = Arc::new(Lane {
            rules_generation,
            plan: Arc::clone(&snapshot.plan),
            unit_values: Arc::clone(&snapshot.unit_values),
            entries: snapshot
                .plan
                .events
                .iter()
                .map(|event| LaneEntry { rule: event.rule, counters: EventCounters::default() })
                .collect(),
            plan_counters: PlanCounters::default(),
            reported: Mutex::new((vec![EventCounts::default(); events].into_boxed_slice(), [0; 4])),
        });
        self.lanes.rcu(|lanes| {
            let mut lanes = Vec::clone(lanes);
            lanes.push(Arc::clone(&lane));
            lanes
        });
        lane
    }

    /// Marks the rules changed after `current` was swapped: lanes are rebuilt on next use.
    fn rules_changed(&self) {
        // Control operations hold the control lock, so generations never go back.
        self.rules_generation.store(next_rules_generation(), Ordering::Release);
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
        self.rules_changed();
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
        self.rules_changed();
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
        self.harvest_lanes(&mut builder);
        let window_end_unix_ms = self.clock.unix_millis();
        let report = builder.finish(&current.plan, control.window_start_unix_ms, window_end_unix_ms);
        control.window_start_unix_ms = window_end_unix_ms;
        report
    }
}

impl Engine {
    /// Adds what every registered lane counted since the last report, then forgets the lanes
    /// no thread holds any more (checked before their final read, so nothing can be counted
    /// into them afterwards). Called with the control lock held.
    fn harvest_lanes(&self, builder: &mut ReportBuilder) {
        let lanes = self.lanes.load_full();
        let mut finished = Vec::new();
        for lane in lanes.iter() {
            // `load_full` clones the `Arc<Vec>`, not the lanes: a lane that no thread cache and
            // no `Decider` holds any more has a count of one (or two while a registration
            // copies the list; it is then forgotten by a later report).
            if Arc::strong_count(lane) == 1 {
                // Pairs with the release decrement of the holder's last drop: its counts are
                // all visible to the read below.
                std::sync::atomic::fence(Ordering::Acquire);
                finished.push(Arc::as_ptr(lane));
            }
            lane.harvest_into(builder);
        }
        if !finished.is_empty() {
            self.lanes.rcu(|lanes| {
                lanes.iter().filter(|lane| !finished.contains(&Arc::as_ptr(lane))).cloned().collect::<Vec<_>>()
            });
        }
    }
}

/// A [`Decision`] in one register, for the trip out of the out-of-line refresh path: returned
/// from there as the 16-byte enum, it made the caller build every decision (hot path included)
/// in a stack slot with two small stores and copy it out with one 16-byte load, which stalls
/// store forwarding (about 3 ns per decision, measured).
/// Kept: the weight's bits (a weight is at least 1.0, so its bits exceed 255). Dropped: the
/// reason's code (1..=8).
#[inline(always)]
fn pack(decision: Decision) -> u64 {
    match decision {
        Decision::Keep { weight } => weight.to_bits(),
        Decision::Drop { reason } => u64::from(reason.code()),
    }
}

/// A stale event id, packed (no weight or code has these bits).
const PACKED_STALE: u64 = u64::MAX;

/// An `Engine::decide_id` result from [`pack`] or [`PACKED_STALE`].
#[inline(always)]
fn unpack_id_decision(packed: u64) -> Result<Decision, StaleEventId> {
    if packed == PACKED_STALE {
        Err(StaleEventId)
    } else {
        Ok(unpack(packed))
    }
}

#[inline(always)]
fn unpack(packed: u64) -> Decision {
    match u8::try_from(packed).ok().and_then(DropReason::from_code) {
        Some(reason) => Decision::Drop { reason },
        None => Decision::Keep { weight: f64::from_bits(packed) },
    }
}

fn resolve_in(plan: &CompiledPlan, name: &str) -> Result<EventId, ResolveError> {
    match plan.lookup(name.as_bytes()) {
        Some(index) => Ok(EventId::new(plan.generation, index)),
        None => match check_event_name(name) {
            Err(problem) => Err(ResolveError::InvalidName(problem)),
            Ok(()) => Err(ResolveError::Unregistered),
        },
    }
}

/// A per-thread decision handle from [`Engine::decider`]: the same decisions and counts as the
/// engine's own methods, minus the thread-local lookup.
pub struct Decider<'engine> {
    engine: &'engine Engine,
    lane: Option<Arc<Lane>>,
    /// The lane's counters are single-writer: the handle must stay on its thread.
    not_send: PhantomData<*const ()>,
}

impl Decider<'_> {
    /// This thread's lane for the current rules, if the thread-local cache is usable.
    #[inline]
    fn lane(&mut self) -> Option<&Lane> {
        let generation = self.engine.rules_generation.load(Ordering::Acquire);
        if self.lane.as_ref().is_none_or(|lane| lane.rules_generation != generation) {
            // The thread's cached lane itself: one thread, one writer per lane.
            self.lane = self.engine.thread_lane();
        }
        self.lane.as_deref()
    }

    /// As [`Engine::decide`].
    #[inline]
    pub fn decide(&mut self, name: &str, size_bytes: u64) -> Decision {
        let engine = self.engine;
        match self.lane() {
            Some(lane) => lane.rules(engine).decide_name(name, size_bytes),
            None => engine.decide(name, size_bytes),
        }
    }

    /// As [`Engine::decide_id`].
    #[inline]
    pub fn decide_id(&mut self, id: EventId, size_bytes: u64) -> Result<Decision, StaleEventId> {
        let engine = self.engine;
        match self.lane() {
            Some(lane) => lane.rules(engine).decide_id(id, size_bytes),
            None => engine.decide_id(id, size_bytes),
        }
    }

    /// As [`Engine::resolve`].
    pub fn resolve(&mut self, name: &str) -> Result<EventId, ResolveError> {
        let engine = self.engine;
        match self.lane() {
            Some(lane) => resolve_in(&lane.plan, name),
            None => engine.resolve(name),
        }
    }
}

/// Where a decision is counted: a thread's [`Lane`] (single-writer counters) or, on the
/// fallback path, the compiled plan's shared counters (atomic adds). The rules are the same.
trait Tally {
    /// Whether the counters have one writer (plain load and store) or many (atomic adds).
    const SINGLE_WRITER: bool;
    /// Events of the plan (the tally has one entry per event).
    fn event_count(&self) -> usize;
    /// Event `index`'s rule (the plan's record, or the tally's copy of it) and counters, found
    /// once per decision: read again after the clock call, the compiler reloaded them.
    fn event(&self, index: usize) -> (&EventRule, &EventCounters);
    /// An invalid name, or any name while disabled.
    fn unmatched(&self, reason: DropReason, size_bytes: u64);
}

impl Tally for Lane {
    const SINGLE_WRITER: bool = true;

    #[inline(always)]
    fn event_count(&self) -> usize {
        self.entries.len()
    }

    #[inline(always)]
    fn event(&self, index: usize) -> (&EventRule, &EventCounters) {
        let entry = &self.entries[index];
        (&entry.rule, &entry.counters)
    }

    fn unmatched(&self, reason: DropReason, size_bytes: u64) {
        self.plan_counters.record_exclusive(reason, size_bytes);
    }
}

impl Tally for CompiledPlan {
    const SINGLE_WRITER: bool = false;

    #[inline(always)]
    fn event_count(&self) -> usize {
        self.events.len()
    }

    #[inline(always)]
    fn event(&self, index: usize) -> (&EventRule, &EventCounters) {
        (&self.events[index].rule, &self.counters[index])
    }

    fn unmatched(&self, reason: DropReason, size_bytes: u64) {
        self.plan_counters.record(reason, size_bytes);
    }
}

/// One set of rules (a plan and the unit's sampling values) deciding for an engine, counted
/// into `tally`.
struct Rules<'a, T: Tally> {
    engine: &'a Engine,
    plan: &'a CompiledPlan,
    unit_values: &'a [u64],
    tally: &'a T,
}

impl<T: Tally> Rules<'_, T> {
    #[inline(always)]
    fn decide_id(&self, id: EventId, size_bytes: u64) -> Result<Decision, StaleEventId> {
        let size_bytes = size_bytes.min(MAX_COUNTED_EVENT_BYTES);
        let index = id.index() as usize;
        // Bounded by the tally's length, which equals the plan's, so the tally's own index
        // checks fold into this one.
        if id.generation() != self.plan.generation || index >= self.tally.event_count() {
            return Err(StaleEventId);
        }
        Ok(self.decide_index(index, size_bytes))
    }

    #[inline(always)]
    fn decide_name(&self, name: &str, size_bytes: u64) -> Decision {
        let size_bytes = size_bytes.min(MAX_COUNTED_EVENT_BYTES);
        match self.plan.lookup(name.as_bytes()) {
            Some(index) => self.decide_index(index as usize, size_bytes),
            None => self.decide_unmatched(name, size_bytes),
        }
    }

    // Always inlined: a call returns the 16-byte `Decision` through memory, and copying it
    // back out stalled store forwarding (measured: several nanoseconds per decision).
    #[inline(always)]
    fn decide_index(&self, index: usize, size_bytes: u64) -> Decision {
        let unit_values = self.unit_values;
        // The clock is found inside the closure, so only rate-limited events pay for it.
        let now = || {
            let _call = ClockCall::enter();
            self.engine.clock.monotonic_nanos()
        };
        let (rule, counters) = self.tally.event(index);
        match self.plan.evaluate(index, rule, size_bytes, |salt| unit_values[salt], Some(now)) {
            Ok(weight) => {
                if T::SINGLE_WRITER {
                    counters.record_kept_exclusive(size_bytes);
                } else {
                    counters.record_kept(size_bytes);
                }
                Decision::Keep { weight }
            }
            Err(reason) => {
                if T::SINGLE_WRITER {
                    counters.record_drop_exclusive(reason, size_bytes);
                } else {
                    counters.record_drop(reason, size_bytes);
                }
                self.refuse(reason)
            }
        }
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
        let plan = self.plan;
        // Unregistered names go to the current report window's table (`take_report` swaps it).
        let record = |handling| self.engine.current.load().unregistered.record(name.as_bytes(), handling, size_bytes);
        match plan.unmatched_rule(name) {
            Some(DropReason::Unregistered) => {
                record(if plan.shadow { Handling::ShadowDropped } else { Handling::Dropped });
                self.refuse(DropReason::Unregistered)
            }
            Some(reason) => {
                self.tally.unmatched(reason, size_bytes);
                self.refuse(reason)
            }
            None => {
                record(Handling::Kept);
                Decision::Keep { weight: 1.0 }
            }
        }
    }
}

impl Lane {
    #[inline(always)]
    fn rules<'a>(&'a self, engine: &'a Engine) -> Rules<'a, Lane> {
        Rules { engine, plan: &self.plan, unit_values: &self.unit_values, tally: self }
    }

    /// Adds the growth of this lane's counters since the last harvest to `builder`.
    fn harvest_into(&self, builder: &mut ReportBuilder) {
        let mut reported = self.reported.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (events, plan_level) = &mut *reported;
        for (index, (entry, last)) in self.entries.iter().zip(events.iter_mut()).enumerate() {
            let now = entry.counters.read();
            let grown = now.since(last);
            *last = now;
            builder.add_event_counts(&self.plan, index, grown);
        }
        let now = self.plan_counters.read();
        let grown = std::array::from_fn(|counter| now[counter].wrapping_sub(plan_level[counter]));
        *plan_level = now;
        builder.add_plan_counts(self.plan.shadow, grown);
    }
}

impl Snapshot {
    /// The fallback path: this snapshot's rules, counted in the plan's shared counters.
    #[inline]
    fn rules<'a>(&'a self, engine: &'a Engine) -> Rules<'a, CompiledPlan> {
        Rules { engine, plan: &self.plan, unit_values: &self.unit_values, tally: &*self.plan }
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
        for (index, counters) in plan.counters.iter().enumerate() {
            self.add_event_counts(plan, index, counters.take());
        }
        self.add_plan_counts(plan.shadow, plan.plan_counters.take());
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

    /// Adds counts of event `index` of `plan` (from shared counters or a lane).
    fn add_event_counts(&mut self, plan: &CompiledPlan, index: usize, counts: EventCounts) {
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
    fn add_plan_counts(&mut self, shadow: bool, [invalid, invalid_bytes, disabled, disabled_bytes]: [u64; 4]) {
        self.add_drops(shadow, None, DropReason::InvalidName, invalid, invalid_bytes);
        self.add_drops(shadow, None, DropReason::Disabled, disabled, disabled_bytes);
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
