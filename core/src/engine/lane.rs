//! Per-thread lanes and the thread-local hot lane: the decision paths of [`Engine`] and
//! [`Decider`], and the core's only `unsafe` block ([`Engine::hot_lane`]).
//!
//! This module is a wall. Everything that block relies on is defined here with private fields
//! and functions: the rules generations ([`RulesGeneration`]), the lanes, the thread's lane
//! cache and its destructor, the hot lane mirroring the cache's first entry, the clock's
//! re-entrancy guard ([`GuardedClock`]) and [`Decider`]. The numbered conditions of the
//! `// SAFETY:` comment in [`Engine::hot_lane`] name the code here that upholds each one; code
//! outside can only hold lanes through `Arc`s and reach the cache through the functions below.
//! `scripts/miri.sh` runs `core/tests/lanes.rs` under Miri against it.
//!
//! A lane is one thread's view of one engine's rules for one rules generation: the compiled
//! plan, the unit's sampling values and, per event, a copy of the event's rule beside counters
//! only that thread writes (one 64-byte line). The thread finds it in a small thread-local cache
//! keyed by engine id; the entry it used last is mirrored in `HOT_LANE`, a destructor-free
//! thread-local read with plain loads. The hot path is [`Engine::hot_lane`] plus the inlined
//! rules (`rules.rs`); anything else (another engine, new rules, the first decision, thread
//! teardown) takes the out-of-line [`Engine::with_refreshed_lane`].

use std::cell::{Cell, RefCell};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::clock::Clock;
use crate::compile::{CompiledPlan, EventId, EventRule};
use crate::counters::{EventCounters, EventCounts, PlanCounters};
use crate::reason::{Decision, DropReason};
use crate::report::ReportBuilder;

use super::packed::{pack, unpack, unpack_id_decision, PACKED_STALE};
use super::rules::{Rules, Tally};
use super::{resolve_in, Engine, ResolveError, Snapshot, StaleEventId};

/// Lanes one thread keeps at hand (one per engine it decides with; apps run one engine). A
/// tuning detail, not API.
pub(crate) const LANE_CACHE_ENTRIES: usize = 4;

// `core/tests/lanes.rs` overflows the cache with `LANE_OVERFLOW_ENGINES` (9) engines on one
// thread; it must stay more than twice the cache for that test to evict on every call.
const _: () = assert!(LANE_CACHE_ENTRIES * 2 < 9);

/// Source of every rules generation. Starts at 1 and only counts up, so no generation is 0 (it
/// would take 2^64 renewals to wrap) and none is handed out twice, across all engines.
static NEXT_RULES_GENERATION: AtomicU64 = AtomicU64::new(1);

/// An engine's current rules generation: a fresh value of [`NEXT_RULES_GENERATION`] after
/// every swap that changes the rules (`install`, `set_unit_id`). A lane built under an older
/// value is replaced before it decides again; because values are unique in the process, a
/// thread's hot lane matches an engine and its current rules with one comparison.
pub(super) struct RulesGeneration(AtomicU64);

impl RulesGeneration {
    pub(super) fn new() -> RulesGeneration {
        RulesGeneration(AtomicU64::new(NEXT_RULES_GENERATION.fetch_add(1, Ordering::Relaxed)))
    }

    #[inline(always)]
    fn current(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }

    /// Marks the rules changed after the engine's snapshot was swapped: lanes are rebuilt on
    /// next use. Called by control operations, which hold the control lock, so an engine's
    /// generations never go back.
    pub(super) fn renew(&self) {
        self.0.store(NEXT_RULES_GENERATION.fetch_add(1, Ordering::Relaxed), Ordering::Release);
    }
}

/// The engine's [`Clock`], marking each monotonic read as host code running inside a decision
/// (`HotLane::in_clock`), so a clock that decides re-entrantly cannot change the lane cache
/// under the outer decision.
pub(super) struct GuardedClock(Arc<dyn Clock>);

impl GuardedClock {
    pub(super) fn new(clock: Arc<dyn Clock>) -> GuardedClock {
        GuardedClock(clock)
    }

    /// The clock's monotonic time, the only clock read a decision makes (rate-limited events).
    #[inline(always)]
    pub(super) fn monotonic_nanos(&self) -> u64 {
        let _call = ClockCall::enter();
        self.0.monotonic_nanos()
    }

    /// Wall-clock time for report windows; read by control operations, never by a decision.
    pub(super) fn unix_millis(&self) -> u64 {
        self.0.unix_millis()
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

/// One event in a [`Lane`]: a copy of its rule beside this thread's counters for it, in one
/// cache line, so a decision by id reads one line of event data and finds rule and counters as
/// one entry.
#[repr(C, align(64))]
struct LaneEntry {
    rule: EventRule,
    /// Written only by the lane's thread (single-writer, load + store).
    counters: EventCounters,
}

/// One thread's view of one engine's rules, and its own counters. Immutable once built except
/// for the counters (atomics) and `reported`.
pub(super) struct Lane {
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

impl Lane {
    #[inline(always)]
    fn rules<'a>(&'a self, engine: &'a Engine) -> Rules<'a, Lane> {
        Rules::new(engine, &self.plan, &self.unit_values, self)
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

impl Tally for Lane {
    #[inline(always)]
    fn event_count(&self) -> usize {
        self.entries.len()
    }

    #[inline(always)]
    fn event(&self, index: usize) -> (&EventRule, &EventCounters) {
        let entry = &self.entries[index];
        (&entry.rule, &entry.counters)
    }

    #[inline(always)]
    fn count_kept(&self, counters: &EventCounters, size_bytes: u64) {
        counters.record_kept_exclusive(size_bytes);
    }

    #[inline(always)]
    fn count_drop(&self, counters: &EventCounters, reason: DropReason, size_bytes: u64) {
        counters.record_drop_exclusive(reason, size_bytes);
    }

    fn unmatched(&self, reason: DropReason, size_bytes: u64) {
        self.plan_counters.record_exclusive(reason, size_bytes);
    }
}

impl Snapshot {
    /// The fallback path: this snapshot's rules, counted in the plan's shared counters.
    #[inline]
    fn rules<'a>(&'a self, engine: &'a Engine) -> Rules<'a, CompiledPlan> {
        Rules::new(engine, &self.plan, &self.unit_values, &*self.plan)
    }
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
/// needs dropping, no destructor-registration check either, and small enough for the compiler
/// to inline with the whole decision.
///
/// Invariant: `rules_generation` is 0 and both pointers null, or `lane` points at the lane held
/// (as an `Arc`) by the first entry of this thread's `LANE_CACHE`, `rules_generation` is that
/// lane's and `plan` is that lane's plan. Only [`Engine::refresh_cached_lane`] changes that
/// entry, and it updates this copy in the same step ([`HotLane::clear`] first,
/// [`HotLane::point_at`] last); `LaneCache`'s destructor clears it before releasing the lanes.
struct HotLane {
    /// The lane's `rules_generation`: unique in the process, so it names the engine too.
    rules_generation: Cell<u64>,
    lane: Cell<*const Lane>,
    /// The lane's compiled plan (which the lane keeps alive), one pointer chase shorter.
    plan: Cell<*const CompiledPlan>,
    /// Set while a decision calls the engine's [`Clock`] ([`GuardedClock`]): the one piece of
    /// host code a decision runs. A clock that decides re-entrantly must not refresh the cache
    /// (that could release the lane the outer decision is using), so its decisions take the
    /// fallback path instead.
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

/// A lane read from [`HOT_LANE`] and its plan, valid for one decision on this thread.
struct HotRules<'a> {
    lane: &'a Lane,
    /// `lane.plan`.
    plan: &'a CompiledPlan,
}

impl HotRules<'_> {
    #[inline(always)]
    fn rules<'a>(&'a self, engine: &'a Engine) -> Rules<'a, Lane> {
        Rules::new(engine, self.plan, &self.lane.unit_values, self.lane)
    }
}

impl Engine {
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
    /// routed through a shared closure, the decision stays a separate function call.
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
        let generation = self.rules_generation.current();
        // Each access to `HOT_LANE` is a tiny closure, so it inlines to plain thread-local loads.
        let (hot_generation, hot_lane, hot_plan) =
            HOT_LANE.with(|hot| (hot.rules_generation.get(), hot.lane.get(), hot.plan.get()));
        if hot_generation != generation {
            return None;
        }
        // SAFETY: `hot_lane` and `hot_plan` are turned into shared references that the callers
        // (`decide`, `decide_id`, `resolve` above) use for one decision and then drop. That is
        // sound because, while they are in use:
        // 1. They are not null. `generation` is never 0 (`RulesGeneration`: every value comes
        //    from `NEXT_RULES_GENERATION`, which starts at 1), so `hot_generation` is not 0,
        //    and `HotLane` has a non-zero generation only together with both pointers
        //    (`HotLane::point_at` sets all three, `HotLane::clear` resets all three).
        // 2. They point at a live lane and its plan. By the `HotLane` invariant the lane is the
        //    one the first entry of this thread's `LANE_CACHE` holds as an `Arc`, and the plan
        //    is that lane's, kept alive by the lane (`Lane::plan` is never reassigned). Upheld
        //    by `Engine::refresh_cached_lane`, the only code that changes that entry (it clears
        //    `HOT_LANE` before moving entries and points it at the new first entry after), and
        //    by `LaneCache::drop`, which clears `HOT_LANE` before the lanes are released.
        // 3. The cache does not change until the decision ends. It changes only on this thread,
        //    in `refresh_cached_lane` (reached only through `Engine::thread_lane`) and in
        //    `LaneCache::drop` (thread teardown, never inside a decision). A decision (the
        //    `Rules` methods in `rules.rs`, `CompiledPlan::evaluate`,
        //    `UnregisteredTable::record`) calls neither; the only host code it runs is the
        //    engine's clock, read through `GuardedClock::monotonic_nanos`, which sets
        //    `HotLane::in_clock`, and `thread_lane` refuses to refresh while it is set. The
        //    clock allocates nothing of ours and the guard is restored on unwind (`ClockCall`).
        // 4. Shared references are enough: a lane is never mutated through a reference after
        //    it is built; its counters are atomics that only this thread writes (load and
        //    store, `Tally for Lane`) and reports only read, and `Lane::reported` is a `Mutex`.
        // 5. Only this thread uses them: `HOT_LANE` is thread-local and `HotRules` is neither
        //    stored nor returned past the decision by its callers above.
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
        let generation = self.rules_generation.current();
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
        let rules_generation = self.rules_generation.current();
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

    /// Adds what every registered lane counted since the last report, then forgets the lanes
    /// no thread holds any more (checked before their final read, so nothing can be counted
    /// into them afterwards). Called with the control lock held.
    pub(super) fn harvest_lanes(&self, builder: &mut ReportBuilder) {
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
        let generation = self.engine.rules_generation.current();
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
