//! Drop accounting: lock-free counters per event and per plan.
//!
//! Every decision adds to exactly one count (no lock, no allocation), in one of two modes:
//! - **shared** counters (those of a `CompiledPlan`) take relaxed atomic adds from any thread;
//!   reports read-and-reset them with atomic swaps;
//! - **single-writer** counters (those of one thread's lane, `engine/lane.rs`) are only ever written
//!   by their owning thread, with a plain relaxed load and store (no locked instruction, which
//!   costs about 5 ns each on x86-64); they only grow, and reports take the difference from
//!   what they read last time ([`EventCounts::since`]).
//!
//! Either way each increment lands in exactly one report even while other threads keep
//! deciding. A count and its bytes are separate atomics: under concurrency they may land in
//! adjacent reports, never in none or two.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::reason::DropReason;

/// Counters of one registered event (48 bytes).
///
/// An event whose rules drop every occurrence (Disabled, Retired or Shed, fixed per plan) can
/// never be kept, so `primary` counts those drops for such events and keeps for all others.
#[derive(Debug, Default)]
pub(crate) struct EventCounters {
    primary: AtomicU64,
    oversize: AtomicU64,
    sampled_out: AtomicU64,
    rate_limited: AtomicU64,
    kept_bytes: AtomicU64,
    dropped_bytes: AtomicU64,
}

/// A harvested snapshot of [`EventCounters`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EventCounts {
    pub(crate) primary: u64,
    pub(crate) oversize: u64,
    pub(crate) sampled_out: u64,
    pub(crate) rate_limited: u64,
    pub(crate) kept_bytes: u64,
    pub(crate) dropped_bytes: u64,
}

impl EventCounts {
    pub(crate) fn is_empty(&self) -> bool {
        *self == EventCounts::default()
    }

    /// What grew from `earlier` to `self` (single-writer counters only grow; wrapping keeps a
    /// counter that passed `u64::MAX` exact).
    pub(crate) fn since(&self, earlier: &EventCounts) -> EventCounts {
        EventCounts {
            primary: self.primary.wrapping_sub(earlier.primary),
            oversize: self.oversize.wrapping_sub(earlier.oversize),
            sampled_out: self.sampled_out.wrapping_sub(earlier.sampled_out),
            rate_limited: self.rate_limited.wrapping_sub(earlier.rate_limited),
            kept_bytes: self.kept_bytes.wrapping_sub(earlier.kept_bytes),
            dropped_bytes: self.dropped_bytes.wrapping_sub(earlier.dropped_bytes),
        }
    }
}

/// Adds `value` to a counter only the calling thread writes: a plain load and store.
#[inline]
fn add_exclusive(counter: &AtomicU64, value: u64) {
    counter.store(counter.load(Ordering::Relaxed).wrapping_add(value), Ordering::Relaxed);
}

impl EventCounters {
    #[inline]
    pub(crate) fn record_kept(&self, size_bytes: u64) {
        self.primary.fetch_add(1, Ordering::Relaxed);
        self.kept_bytes.fetch_add(size_bytes, Ordering::Relaxed);
    }

    #[inline]
    pub(crate) fn record_drop(&self, reason: DropReason, size_bytes: u64) {
        self.drop_counter(reason).fetch_add(1, Ordering::Relaxed);
        self.dropped_bytes.fetch_add(size_bytes, Ordering::Relaxed);
    }

    /// As [`EventCounters::record_kept`], for single-writer counters.
    #[inline]
    pub(crate) fn record_kept_exclusive(&self, size_bytes: u64) {
        add_exclusive(&self.primary, 1);
        add_exclusive(&self.kept_bytes, size_bytes);
    }

    /// As [`EventCounters::record_drop`], for single-writer counters.
    #[inline]
    pub(crate) fn record_drop_exclusive(&self, reason: DropReason, size_bytes: u64) {
        add_exclusive(self.drop_counter(reason), 1);
        add_exclusive(&self.dropped_bytes, size_bytes);
    }

    #[inline]
    fn drop_counter(&self, reason: DropReason) -> &AtomicU64 {
        match reason {
            DropReason::Oversize => &self.oversize,
            DropReason::SampledOut => &self.sampled_out,
            DropReason::RateLimited => &self.rate_limited,
            _ => &self.primary,
        }
    }

    /// The current values, without resetting (single-writer counters).
    pub(crate) fn read(&self) -> EventCounts {
        EventCounts {
            primary: self.primary.load(Ordering::Relaxed),
            oversize: self.oversize.load(Ordering::Relaxed),
            sampled_out: self.sampled_out.load(Ordering::Relaxed),
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
            kept_bytes: self.kept_bytes.load(Ordering::Relaxed),
            dropped_bytes: self.dropped_bytes.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn take(&self) -> EventCounts {
        EventCounts {
            primary: self.primary.swap(0, Ordering::Relaxed),
            oversize: self.oversize.swap(0, Ordering::Relaxed),
            sampled_out: self.sampled_out.swap(0, Ordering::Relaxed),
            rate_limited: self.rate_limited.swap(0, Ordering::Relaxed),
            kept_bytes: self.kept_bytes.swap(0, Ordering::Relaxed),
            dropped_bytes: self.dropped_bytes.swap(0, Ordering::Relaxed),
        }
    }
}

/// Counters for names that match no event: invalid names, and any name while disabled.
#[derive(Debug, Default)]
pub(crate) struct PlanCounters {
    invalid_name: AtomicU64,
    invalid_name_bytes: AtomicU64,
    disabled_unmatched: AtomicU64,
    disabled_unmatched_bytes: AtomicU64,
}

impl PlanCounters {
    #[inline]
    pub(crate) fn record(&self, reason: DropReason, size_bytes: u64) {
        let (count, bytes) = self.pair(reason);
        count.fetch_add(1, Ordering::Relaxed);
        bytes.fetch_add(size_bytes, Ordering::Relaxed);
    }

    /// As [`PlanCounters::record`], for single-writer counters.
    #[inline]
    pub(crate) fn record_exclusive(&self, reason: DropReason, size_bytes: u64) {
        let (count, bytes) = self.pair(reason);
        add_exclusive(count, 1);
        add_exclusive(bytes, size_bytes);
    }

    fn pair(&self, reason: DropReason) -> (&AtomicU64, &AtomicU64) {
        match reason {
            DropReason::Disabled => (&self.disabled_unmatched, &self.disabled_unmatched_bytes),
            _ => (&self.invalid_name, &self.invalid_name_bytes),
        }
    }

    /// As [`PlanCounters::take`], without resetting (single-writer counters).
    pub(crate) fn read(&self) -> [u64; 4] {
        [
            self.invalid_name.load(Ordering::Relaxed),
            self.invalid_name_bytes.load(Ordering::Relaxed),
            self.disabled_unmatched.load(Ordering::Relaxed),
            self.disabled_unmatched_bytes.load(Ordering::Relaxed),
        ]
    }

    /// `(invalid count, invalid bytes, disabled count, disabled bytes)`, reset to zero.
    pub(crate) fn take(&self) -> [u64; 4] {
        [
            self.invalid_name.swap(0, Ordering::Relaxed),
            self.invalid_name_bytes.swap(0, Ordering::Relaxed),
            self.disabled_unmatched.swap(0, Ordering::Relaxed),
            self.disabled_unmatched_bytes.swap(0, Ordering::Relaxed),
        ]
    }
}
