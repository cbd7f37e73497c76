//! Turning a validated [`Plan`] into the flat, read-only tables the hot path reads.
//!
//! A [`CompiledPlan`] owns: an open-addressing name index over one contiguous name arena, one
//! 32-byte record per event, the distinct sampling salts, the token buckets of rate-limited events
//! and the per-event drop counters. Compilation allocates; lookups and decisions never do.
//! Every compiled plan gets a process-wide unique *stamp*, so an [`EventId`] resolved against
//! one plan is recognised as stale by any other. (The engine's *rules generation*, in
//! `engine/lane.rs`, is a different counter: it changes whenever the rules a thread must use
//! change, including a new unit id under the same compiled plan.)

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};

use xxhash_rust::xxh3::xxh3_64;

use crate::counters::{EventCounters, PlanCounters};
use crate::diagnostic::Diagnostic;
use crate::name::is_valid_event_name;
use crate::plan::{EventStatus, Plan, Priority, UnregisteredPolicy};
use crate::rate_limit::TokenBucket;
use crate::reason::{Decision, DropReason};
use crate::sampling::{keep_floor, random_value_with_seed, salt_seed, weight_for_floor};

/// The next [`CompiledPlan`]'s stamp: unique per compilation in this process, so an [`EventId`]
/// names the compiled plan that minted it.
static NEXT_STAMP: AtomicU32 = AtomicU32::new(1);

/// A handle to one event of one compiled plan, from [`crate::Engine::resolve`].
///
/// Cheap to copy and pass across FFI as a `u64`. It is tied to the plan it was resolved
/// against: used after another plan became active it is refused as stale, never applied to
/// another event's rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventId(u64);

impl EventId {
    pub(crate) fn new(stamp: u32, index: u32) -> Self {
        EventId((u64::from(stamp) << 32) | u64::from(index))
    }

    /// The id as a plain integer, for crossing a language boundary.
    pub fn to_raw(self) -> u64 {
        self.0
    }

    /// An id from [`EventId::to_raw`]. Any value is safe to pass back: an unknown one is stale.
    pub fn from_raw(raw: u64) -> Self {
        EventId(raw)
    }

    /// Whether both ids were resolved against the same compiled plan.
    pub fn same_plan(self, other: EventId) -> bool {
        self.stamp() == other.stamp()
    }

    pub(crate) fn stamp(self) -> u32 {
        (self.0 >> 32) as u32
    }

    /// The event's position in the plan that resolved it (`0..event_count()`): a dense key
    /// for per-event tables. Ids of two plans may share an index; compare whole ids to tell
    /// them apart.
    pub fn index(self) -> u32 {
        self.0 as u32
    }
}

/// Why a plan could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    /// The plan breaks the rules of [`Plan::check`].
    #[error("plan is invalid: {}", .0.iter().filter(|d| d.is_error()).map(|d| d.to_string()).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<Diagnostic>),
    /// More distinct salts than the compact record can index.
    #[error("plan uses {0} distinct sampling salts; at most 65535 are supported")]
    TooManySalts(usize),
}

/// Bits of [`CompiledRule::flags`].
const PRIORITY_MASK: u8 = 0b0000_0011;
const RATE_LIMITED: u8 = 0b0000_0100;
const STATIC_DROP_SHIFT: u32 = 3;
const NO_RATE_LIMIT: u32 = u32::MAX;
const NO_SIZE_LIMIT: u32 = u32::MAX;
const EMPTY_SLOT: u32 = 0;

/// Names up to this many bytes are kept in [`CompiledPlan::inline_names`], next to each other
/// and found by event index, so a hit by name loads its record and its name in parallel (both
/// addresses follow from the index slot) instead of one after the other (the arena offset is in
/// the record). Measured: about 2 ns of `decide/name_hit`.
const INLINE_NAME_BYTES: usize = 32;

/// A name of at most [`INLINE_NAME_BYTES`] bytes, zero-padded: two per cache line.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(32))]
pub(crate) struct InlineName([u8; INLINE_NAME_BYTES]);

/// What a decision reads of one event's rules (16 bytes). It is the start of the event's
/// [`CompiledEvent`] and is copied next to each lane's counters (`engine/lane.rs`), so a
/// decision by id on a thread's lane reads one cache line.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub(crate) struct CompiledRule {
    /// Smallest random value kept: `2^56 - T`; 0 keeps every unit.
    pub(crate) keep_floor: u64,
    /// Largest size kept; `u32::MAX` for none.
    pub(crate) max_bytes: u32,
    pub(crate) salt_index: u16,
    pub(crate) name_length: u8,
    /// Priority in bits 0..2, [`RATE_LIMITED`] in bit 2, the static drop reason code (0 for
    /// none) from bit 3.
    pub(crate) flags: u8,
}

impl CompiledRule {
    pub(crate) fn priority(&self) -> Priority {
        Priority::ALL[usize::from(self.flags & PRIORITY_MASK)]
    }

    /// Disabled, Retired or Shed, decided once per plan.
    #[inline]
    pub(crate) fn static_drop(&self) -> Option<DropReason> {
        DropReason::from_code(self.flags >> STATIC_DROP_SHIFT)
    }

    pub(crate) fn max_bytes(&self) -> Option<u32> {
        (self.max_bytes != NO_SIZE_LIMIT).then_some(self.max_bytes)
    }

    #[inline]
    pub(crate) fn is_rate_limited(&self) -> bool {
        self.flags & RATE_LIMITED != 0
    }
}

/// One event of a compiled plan (32 bytes): its rules and how the index finds its name.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub(crate) struct CompiledEvent {
    pub(crate) rule: CompiledRule,
    pub(crate) name_hash: u64,
    /// Where a name longer than [`INLINE_NAME_BYTES`] starts in the arena (0 for inline names).
    pub(crate) name_offset: u32,
    /// Index into the token buckets, or `NO_RATE_LIMIT`; read only when the rule says
    /// [`CompiledRule::is_rate_limited`].
    pub(crate) rate_limit: u32,
}

/// A plan compiled for fast decisions. Read-only once built, apart from its counters and buckets.
pub struct CompiledPlan {
    /// Which compilation this is ([`NEXT_STAMP`]); the high half of its [`EventId`]s.
    pub(crate) stamp: u32,
    pub(crate) version: u64,
    pub(crate) app: Box<str>,
    pub(crate) env: Box<str>,
    pub(crate) enabled: bool,
    pub(crate) shadow: bool,
    pub(crate) unregistered: UnregisteredPolicy,
    /// Names longer than [`INLINE_NAME_BYTES`].
    pub(crate) names: Box<[u8]>,
    /// Each event's name when it is short enough, by event index (zeros otherwise).
    pub(crate) inline_names: Box<[InlineName]>,
    pub(crate) slots: Box<[u32]>,
    pub(crate) slot_mask: usize,
    pub(crate) events: Box<[CompiledEvent]>,
    pub(crate) salts: Box<[Box<str>]>,
    pub(crate) salt_seeds: Box<[u64]>,
    pub(crate) buckets: Box<[TokenBucket]>,
    /// Each bucket's limit as the plan wrote it, by bucket index: read only by `explain`, and
    /// kept apart so the buckets stay 24 bytes (a 40-byte bucket cost `decide_id` one
    /// instruction, callgrind).
    pub(crate) bucket_limits: Box<[crate::plan::RateLimit]>,
    pub(crate) counters: Box<[EventCounters]>,
    pub(crate) plan_counters: PlanCounters,
}

impl std::fmt::Debug for CompiledPlan {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("CompiledPlan")
            .field("app", &self.app)
            .field("env", &self.env)
            .field("version", &self.version)
            .field("events", &self.events.len())
            .field("enabled", &self.enabled)
            .field("shadow", &self.shadow)
            .finish_non_exhaustive()
    }
}

impl CompiledPlan {
    /// Compiles a plan. Fails if the plan breaks any rule of [`Plan::check`].
    pub fn compile(plan: &Plan) -> Result<CompiledPlan, CompileError> {
        let problems = plan.check();
        if problems.iter().any(Diagnostic::is_error) {
            return Err(CompileError::Invalid(problems));
        }
        let count = plan.events.len();
        let long_name_bytes = plan.events.keys().map(String::len).filter(|&length| length > INLINE_NAME_BYTES).sum();
        let mut names = Vec::with_capacity(long_name_bytes);
        let mut inline_names = Vec::with_capacity(count);
        let mut events = Vec::with_capacity(count);
        let mut buckets = Vec::new();
        let mut bucket_limits = Vec::new();
        let mut salt_indexes: HashMap<String, u16> = HashMap::new();
        let mut salts: Vec<Box<str>> = Vec::new();
        let mut salt_index = |salt: &str| -> Result<u16, CompileError> {
            if let Some(&index) = salt_indexes.get(salt) {
                return Ok(index);
            }
            let index = u16::try_from(salts.len()).map_err(|_| CompileError::TooManySalts(salts.len() + 1))?;
            salts.push(salt.into());
            salt_indexes.insert(salt.to_owned(), index);
            Ok(index)
        };
        salt_index(&plan.sampling_salt)?;
        for (name, rule) in &plan.events {
            let static_drop = if !plan.enabled {
                Some(DropReason::Disabled)
            } else if rule.status == EventStatus::Retired {
                Some(DropReason::Retired)
            } else if rule.priority.is_shed_by(plan.shed_below) {
                Some(DropReason::Shed)
            } else {
                None
            };
            let rate_limit = match rule.rate_limit {
                Some(limit) => {
                    buckets.push(TokenBucket::new(limit));
                    bucket_limits.push(limit);
                    (buckets.len() - 1) as u32
                }
                None => NO_RATE_LIMIT,
            };
            let mut inline_name = InlineName([0; INLINE_NAME_BYTES]);
            let name_offset = if let Some(inline) = inline_name.0.get_mut(..name.len()) {
                inline.copy_from_slice(name.as_bytes());
                0
            } else {
                names.extend_from_slice(name.as_bytes());
                (names.len() - name.len()) as u32
            };
            inline_names.push(inline_name);
            let rate_limited = if rate_limit == NO_RATE_LIMIT { 0 } else { RATE_LIMITED };
            events.push(CompiledEvent {
                rule: CompiledRule {
                    keep_floor: keep_floor(rule.sample.parts_per_million()),
                    max_bytes: rule.max_bytes.or(plan.defaults.max_bytes).unwrap_or(NO_SIZE_LIMIT),
                    // Most events use the plan's salt, index 0: no hashing for them.
                    salt_index: match rule.salt.as_deref() {
                        Some(salt) if salt != plan.sampling_salt => salt_index(salt)?,
                        _ => 0,
                    },
                    name_length: name.len() as u8,
                    flags: (rule.priority as u8)
                        | rate_limited
                        | (static_drop.map_or(0, DropReason::code) << STATIC_DROP_SHIFT),
                },
                name_hash: xxh3_64(name.as_bytes()),
                name_offset,
                rate_limit,
            });
        }
        let (slots, slot_mask) = build_index(&events);
        let salt_seeds = salts.iter().map(|salt| salt_seed(salt)).collect();
        Ok(CompiledPlan {
            stamp: NEXT_STAMP.fetch_add(1, Ordering::Relaxed),
            version: plan.version,
            app: plan.app.as_str().into(),
            env: plan.env.as_str().into(),
            enabled: plan.enabled,
            shadow: plan.shadow,
            unregistered: plan.unregistered,
            names: names.into_boxed_slice(),
            inline_names: inline_names.into_boxed_slice(),
            slots,
            slot_mask,
            events: events.into_boxed_slice(),
            salts: salts.into_boxed_slice(),
            salt_seeds,
            buckets: buckets.into_boxed_slice(),
            bucket_limits: bucket_limits.into_boxed_slice(),
            counters: (0..count).map(|_| EventCounters::default()).collect(),
            plan_counters: PlanCounters::default(),
        })
    }

    /// The plan's version.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The app the plan governs.
    pub fn app(&self) -> &str {
        &self.app
    }

    /// The environment the plan governs.
    pub fn env(&self) -> &str {
        &self.env
    }

    /// Whether the kill switch is off (events may flow).
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// Whether the plan only counts and keeps everything.
    pub fn is_shadow(&self) -> bool {
        self.shadow
    }

    /// How many events the plan registers.
    pub fn event_count(&self) -> usize {
        self.events.len()
    }

    /// Bytes held by the lookup tables and rules (names included), excluding counters.
    pub fn rules_memory_bytes(&self) -> usize {
        std::mem::size_of::<CompiledPlan>()
            + self.names_memory_bytes()
            + std::mem::size_of_val(&*self.slots)
            + std::mem::size_of_val(&*self.events)
            + self.salts.iter().map(|salt| salt.len() + std::mem::size_of::<Box<str>>()).sum::<usize>()
            + std::mem::size_of_val(&*self.salt_seeds)
            + std::mem::size_of_val(&*self.buckets)
            + std::mem::size_of_val(&*self.bucket_limits)
    }

    /// Bytes held by the drop counters.
    pub fn counters_memory_bytes(&self) -> usize {
        std::mem::size_of_val(&*self.counters)
    }

    /// Bytes holding event names: the short names' fixed 32-byte slots and the arena of longer
    /// names.
    pub fn names_memory_bytes(&self) -> usize {
        std::mem::size_of_val(&*self.inline_names) + self.names.len()
    }

    /// The index of a registered event, without allocating.
    ///
    /// Always inlined: as a call, its register saves and restores alone were 19 of the about
    /// 230 instructions of a decision by name (callgrind).
    #[inline(always)]
    pub(crate) fn lookup(&self, name: &[u8]) -> Option<u32> {
        let hash = xxh3_64(name);
        let mut slot = hash as usize & self.slot_mask;
        loop {
            let entry = self.slots[slot];
            if entry == EMPTY_SLOT {
                return None;
            }
            let index = entry - 1;
            let event = &self.events[index as usize];
            // The query's length equals the stored one here, so the name's address needs only
            // the index, not the record.
            if event.name_hash == hash
                && usize::from(event.rule.name_length) == name.len()
                && self.stored_name_equals(index as usize, name)
            {
                return Some(index);
            }
            slot = (slot + 1) & self.slot_mask;
        }
    }

    /// The name of event `index`.
    #[inline]
    pub(crate) fn name_bytes(&self, index: usize) -> &[u8] {
        self.stored_name(index, usize::from(self.events[index].rule.name_length))
    }

    /// Whether event `index`, whose name is `name.len()` bytes long, is called `name`.
    #[inline(always)]
    fn stored_name_equals(&self, index: usize, name: &[u8]) -> bool {
        if name.len() <= INLINE_NAME_BYTES {
            inline_name_equals(&self.inline_names[index].0, name)
        } else {
            let start = self.events[index].name_offset as usize;
            self.names.get(start..start + name.len()) == Some(name)
        }
    }

    /// The name of event `index`, `length` bytes long: its inline slot, or the arena.
    #[inline]
    fn stored_name(&self, index: usize, length: usize) -> &[u8] {
        match self.inline_names[index].0.get(..length) {
            Some(inline) => inline,
            None => {
                let start = self.events[index].name_offset as usize;
                &self.names[start..start + length]
            }
        }
    }

    pub(crate) fn event_name(&self, index: usize) -> &str {
        // Names were copied from `String`s whole, so every slice is valid UTF-8.
        std::str::from_utf8(self.name_bytes(index)).unwrap_or("")
    }

    /// The rules of registered event `index`, in spec order, for one unit. `rule` is the
    /// event's rule, read by the caller from this plan's records or a copy of it (a lane's).
    /// `unit_value` gives the unit's sampling value for a salt index (cached per unit on
    /// devices, hashed per event on servers); token buckets apply only when `token` is given
    /// (they are device state): it is called, only for a rate-limited event, with the event's
    /// bucket and answers whether a token is there: a decision takes it
    /// ([`TokenBucket::try_acquire`]), an explanation only looks ([`TokenBucket::available`]).
    /// `Ok` carries the sampling weight. This is the one place the rule order lives: decisions,
    /// the server-side filter and `explain` all call it.
    #[inline(always)]
    pub(crate) fn evaluate(
        &self,
        index: usize,
        rule: &CompiledRule,
        size_bytes: u64,
        unit_value: impl FnOnce(usize) -> u64,
        token: Option<impl FnOnce(&TokenBucket) -> bool>,
    ) -> Result<f64, DropReason> {
        if rule.flags >> STATIC_DROP_SHIFT != 0 {
            // Decoded only here: most events have no static drop, and testing the code first
            // keeps the table lookup off their path. `compile` writes only valid codes, so the
            // fallback is never used; it only avoids a panic path.
            return Err(rule.static_drop().unwrap_or(DropReason::Retired));
        }
        // "No cap" is `u32::MAX` (`NO_SIZE_LIMIT`), so a size clamped to it never exceeds it, and
        // every real cap (smaller) compares as with the size itself: one test, not two.
        if size_bytes.min(u64::from(NO_SIZE_LIMIT)) > u64::from(rule.max_bytes) {
            return Err(DropReason::Oversize);
        }
        let mut weight = 1.0;
        if rule.keep_floor != 0 {
            if unit_value(usize::from(rule.salt_index)) < rule.keep_floor {
                return Err(DropReason::SampledOut);
            }
            weight = weight_for_floor(rule.keep_floor);
        }
        if rule.is_rate_limited() {
            let bucket = self.buckets.get(self.events[index].rate_limit as usize);
            if let (Some(bucket), Some(token)) = (bucket, token) {
                if !token(bucket) {
                    return Err(DropReason::RateLimited);
                }
            }
        }
        Ok(weight)
    }

    /// The rule for a name that is not in the plan: `Disabled`, `InvalidName` or
    /// `Unregistered`, or `None` when the plan keeps unregistered names.
    #[inline]
    pub(crate) fn unmatched_rule(&self, name: &str) -> Option<DropReason> {
        if !self.enabled {
            Some(DropReason::Disabled)
        } else if !is_valid_event_name(name) {
            Some(DropReason::InvalidName)
        } else {
            match self.unregistered {
                UnregisteredPolicy::Drop => Some(DropReason::Unregistered),
                UnregisteredPolicy::Keep => None,
            }
        }
    }

    /// Applies the plan to one event of any unit, as a backend does: every rule except rate
    /// limits (token buckets are per-device state and stay on the device). Counts nothing and
    /// never allocates; the unit's hash is computed per call.
    ///
    /// `unit_id` may be any string, the empty string included, exactly as Spark hashes it.
    pub fn evaluate_for_unit(&self, name: &str, size_bytes: u64, unit_id: &str) -> UnitEvaluation {
        let Some(index) = self.lookup(name.as_bytes()) else {
            let rule = self.unmatched_rule(name);
            return UnitEvaluation::new(rule, 1.0, None, self.shadow);
        };
        let unit_value = |salt: usize| random_value_with_seed(unit_id, self.salt_seeds[salt]);
        let rule = &self.events[index as usize].rule;
        let event = Some((EventId::new(self.stamp, index), rule.priority()));
        match self.evaluate(index as usize, rule, size_bytes, unit_value, None::<fn(&TokenBucket) -> bool>) {
            Ok(weight) => UnitEvaluation::new(None, weight, event, self.shadow),
            Err(reason) => UnitEvaluation::new(Some(reason), 1.0, event, self.shadow),
        }
    }

    /// The rules of a registered event by name, for tooling.
    pub fn event_summary(&self, name: &str) -> Option<EventSummary> {
        let rule = &self.events[self.lookup(name.as_bytes())? as usize].rule;
        Some(EventSummary {
            priority: rule.priority(),
            static_drop: rule.static_drop(),
            keep_floor: rule.keep_floor,
            max_bytes: rule.max_bytes(),
            rate_limited: rule.is_rate_limited(),
            salt: self.salts[usize::from(rule.salt_index)].to_string(),
        })
    }
}

/// The outcome of [`CompiledPlan::evaluate_for_unit`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UnitEvaluation {
    /// What to do with the event (in shadow plans always a keep).
    pub decision: Decision,
    /// The rule that refuses the event, also when a shadow plan keeps it anyway.
    pub refused_by: Option<DropReason>,
    /// The registered event's priority; `None` for names not in the plan.
    pub priority: Option<Priority>,
    /// The registered event, as resolved against the plan that evaluated it; `None` for names
    /// not in the plan.
    pub event: Option<EventId>,
}

impl UnitEvaluation {
    fn new(refused_by: Option<DropReason>, weight: f64, event: Option<(EventId, Priority)>, shadow: bool) -> Self {
        let decision = match refused_by {
            Some(reason) if !shadow => Decision::Drop { reason },
            Some(_) => Decision::Keep { weight: 1.0 },
            None => Decision::Keep { weight },
        };
        UnitEvaluation {
            decision,
            refused_by,
            priority: event.map(|(_, priority)| priority),
            event: event.map(|(id, _)| id),
        }
    }
}

/// What the compiled plan does with one event, for tooling and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSummary {
    /// The event's priority.
    pub priority: Priority,
    /// Disabled, Retired or Shed when every occurrence is dropped.
    pub static_drop: Option<DropReason>,
    /// Smallest sampling value kept (`2^56 - T`).
    pub keep_floor: u64,
    /// Size cap in bytes.
    pub max_bytes: Option<u32>,
    /// Whether a token bucket applies.
    pub rate_limited: bool,
    /// The salt sampling uses.
    pub salt: String,
}

/// Whether the first `name.len()` (at most [`INLINE_NAME_BYTES`]) bytes of `stored` are `name`.
///
/// Compares two fixed-size chunks (the first and the last 16 or 8 bytes, overlapping for
/// lengths in between) instead of calling `memcmp` for a variable length: fewer instructions
/// and no call for the 12–40-byte names analytics events have.
#[inline(always)]
fn inline_name_equals(stored: &[u8; INLINE_NAME_BYTES], name: &[u8]) -> bool {
    let length = name.len();
    let Some(tail_start) = length.checked_sub(16) else {
        return match (name.first_chunk::<8>(), name.last_chunk::<8>()) {
            (Some(first), Some(last)) => {
                stored.first_chunk::<8>() == Some(first) && stored[length - 8..].first_chunk::<8>() == Some(last)
            }
            _ => stored.get(..length) == Some(name),
        };
    };
    match (name.first_chunk::<16>(), name.last_chunk::<16>(), stored.get(tail_start..)) {
        (Some(first), Some(last), Some(stored_tail)) => {
            stored.first_chunk::<16>() == Some(first) && stored_tail.first_chunk::<16>() == Some(last)
        }
        _ => false,
    }
}

/// Builds the open-addressing table at a load factor of at most one half.
fn build_index(events: &[CompiledEvent]) -> (Box<[u32]>, usize) {
    let capacity = (events.len() * 2).next_power_of_two().max(8);
    let mask = capacity - 1;
    let mut slots = vec![EMPTY_SLOT; capacity];
    for (index, event) in events.iter().enumerate() {
        let mut slot = event.name_hash as usize & mask;
        while slots[slot] != EMPTY_SLOT {
            slot = (slot + 1) & mask;
        }
        slots[slot] = index as u32 + 1;
    }
    (slots.into_boxed_slice(), mask)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_plan;

    #[test]
    fn record_stays_small() {
        assert_eq!(std::mem::size_of::<CompiledEvent>(), 32);
        assert_eq!(std::mem::size_of::<CompiledRule>(), 16);
    }

    #[test]
    fn finds_every_event_and_nothing_else() {
        let mut source = String::from(r#"{"schema":1,"app":"a","env":"b","version":1,"events":{"#);
        for index in 0..1000 {
            source.push_str(&format!("{}\"event.{index}\":{{\"priority\":\"P2\"}}", if index > 0 { "," } else { "" }));
        }
        source.push_str("}}");
        let plan = CompiledPlan::compile(&parse_plan(&source).unwrap().plan).unwrap();
        for index in 0..1000 {
            let name = format!("event.{index}");
            let found = plan.lookup(name.as_bytes()).unwrap();
            assert_eq!(plan.event_name(found as usize), name);
        }
        assert_eq!(plan.lookup(b"event.1000"), None);
        assert_eq!(plan.lookup(b""), None);
    }

    #[test]
    fn refuses_invalid_plans() {
        let mut plan = parse_plan(r#"{"schema":1,"app":"a","env":"b","version":1,"events":{}}"#).unwrap().plan;
        plan.events.insert(
            "bad name".into(),
            crate::plan::EventRule {
                status: EventStatus::Active,
                priority: Priority::P1,
                sample: Default::default(),
                salt: None,
                rate_limit: None,
                max_bytes: None,
                owner: None,
                description: None,
            },
        );
        assert!(matches!(CompiledPlan::compile(&plan), Err(CompileError::Invalid(_))));
    }

    #[test]
    fn inline_name_compare_checks_every_byte_of_every_length() {
        for length in 1..=INLINE_NAME_BYTES {
            let name: Vec<u8> = (0..length).map(|position| b'a' + (position % 26) as u8).collect();
            let mut stored = [0u8; INLINE_NAME_BYTES];
            stored[..length].copy_from_slice(&name);
            assert!(inline_name_equals(&stored, &name), "length {length}");
            for position in 0..length {
                let mut other = name.clone();
                other[position] = b'_';
                assert!(!inline_name_equals(&stored, &other), "length {length}, byte {position} differs");
            }
        }
    }
}
