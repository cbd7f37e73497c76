//! One decision: a set of rules (a compiled plan and the unit's sampling values) applied to an
//! event and counted into a [`Tally`], either a thread's lane or the plan's shared counters.
//!
//! Everything here is `#[inline(always)]` into the callers in `lane.rs`: a call would return
//! the 16-byte `Decision` through memory (`docs/performance.md`). The code here calls no host
//! code but the engine's clock, through [`GuardedClock`](super::lane::GuardedClock), and no
//! `Engine` method: `lane.rs` relies on that while a decision borrows the thread's hot lane.

use crate::compile::{CompiledPlan, CompiledRule, EventId};
use crate::counters::EventCounters;
use crate::rate_limit::TokenBucket;
use crate::reason::{Decision, DropReason};
use crate::unregistered::Handling;

use super::{Engine, StaleEventId, MAX_COUNTED_EVENT_BYTES};

/// Where a decision is counted: a thread's lane (single-writer counters, plain load and store)
/// or, on the fallback path, the compiled plan's shared counters (atomic adds). The rules are
/// the same.
pub(super) trait Tally {
    /// Events of the plan (the tally has one entry per event).
    fn event_count(&self) -> usize;
    /// Event `index`'s rule (the plan's record, or the tally's copy of it) and counters, found
    /// once per decision.
    fn event(&self, index: usize) -> (&CompiledRule, &EventCounters);
    /// Counts a kept occurrence into `counters` (from [`Tally::event`]).
    fn count_kept(&self, counters: &EventCounters, size_bytes: u64);
    /// Counts a dropped occurrence into `counters` (from [`Tally::event`]).
    fn count_drop(&self, counters: &EventCounters, reason: DropReason, size_bytes: u64);
    /// An invalid name, or any name while disabled.
    fn unmatched(&self, reason: DropReason, size_bytes: u64);
}

impl Tally for CompiledPlan {
    #[inline(always)]
    fn event_count(&self) -> usize {
        self.events.len()
    }

    #[inline(always)]
    fn event(&self, index: usize) -> (&CompiledRule, &EventCounters) {
        (&self.events[index].rule, &self.counters[index])
    }

    #[inline(always)]
    fn count_kept(&self, counters: &EventCounters, size_bytes: u64) {
        counters.record_kept(size_bytes);
    }

    #[inline(always)]
    fn count_drop(&self, counters: &EventCounters, reason: DropReason, size_bytes: u64) {
        counters.record_drop(reason, size_bytes);
    }

    fn unmatched(&self, reason: DropReason, size_bytes: u64) {
        self.plan_counters.record(reason, size_bytes);
    }
}

/// One set of rules (a plan and the unit's sampling values) deciding for an engine, counted
/// into `tally`.
pub(super) struct Rules<'a, T: Tally> {
    engine: &'a Engine,
    plan: &'a CompiledPlan,
    unit_values: &'a [u64],
    tally: &'a T,
}

impl<'a, T: Tally> Rules<'a, T> {
    #[inline(always)]
    pub(super) fn new(engine: &'a Engine, plan: &'a CompiledPlan, unit_values: &'a [u64], tally: &'a T) -> Self {
        Rules { engine, plan, unit_values, tally }
    }

    #[inline(always)]
    pub(super) fn decide_id(&self, id: EventId, size_bytes: u64) -> Result<Decision, StaleEventId> {
        let size_bytes = size_bytes.min(MAX_COUNTED_EVENT_BYTES);
        let index = id.index() as usize;
        // Bounded by the tally's length, which equals the plan's, so the tally's own index
        // checks fold into this one.
        if id.stamp() != self.plan.stamp || index >= self.tally.event_count() {
            return Err(StaleEventId);
        }
        Ok(self.decide_index(index, size_bytes))
    }

    #[inline(always)]
    pub(super) fn decide_name(&self, name: &str, size_bytes: u64) -> Decision {
        let size_bytes = size_bytes.min(MAX_COUNTED_EVENT_BYTES);
        match self.plan.lookup(name.as_bytes()) {
            Some(index) => self.decide_index(index as usize, size_bytes),
            None => self.decide_unmatched(name, size_bytes),
        }
    }

    // Always inlined: a call returns the 16-byte `Decision` through memory, and copying it back
    // out stalls store forwarding.
    #[inline(always)]
    fn decide_index(&self, index: usize, size_bytes: u64) -> Decision {
        let unit_values = self.unit_values;
        // The clock is read inside the closure, so only rate-limited events pay for it.
        let take_token = |bucket: &TokenBucket| bucket.try_acquire(self.engine.clock.monotonic_nanos());
        let (rule, counters) = self.tally.event(index);
        match self.plan.evaluate(index, rule, size_bytes, |salt| unit_values[salt], Some(take_token)) {
            Ok(weight) => {
                self.tally.count_kept(counters, size_bytes);
                Decision::Keep { weight }
            }
            Err(reason) => {
                self.tally.count_drop(counters, reason, size_bytes);
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
