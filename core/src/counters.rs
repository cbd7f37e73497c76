//! Drop accounting: lock-free counters per event and per plan.
//!
//! Every decision adds to exactly one count, with relaxed atomic adds (no lock, no allocation).
//! Reports read-and-reset with atomic swaps, so each increment lands in exactly one report even
//! while other threads keep deciding. A count and its bytes are separate atomics: under
//! concurrency they may land in adjacent reports, never in none or two.

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
}

impl EventCounters {
    #[inline]
    pub(crate) fn record_kept(&self, size_bytes: u64) {
        self.primary.fetch_add(1, Ordering::Relaxed);
        self.kept_bytes.fetch_add(size_bytes, Ordering::Relaxed);
    }

    #[inline]
    pub(crate) fn record_drop(&self, reason: DropReason, size_bytes: u64) {
        let counter = match reason {
            DropReason::Oversize => &self.oversize,
            DropReason::SampledOut => &self.sampled_out,
            DropReason::RateLimited => &self.rate_limited,
            _ => &self.primary,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.dropped_bytes.fetch_add(size_bytes, Ordering::Relaxed);
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
        let (count, bytes) = match reason {
            DropReason::Disabled => (&self.disabled_unmatched, &self.disabled_unmatched_bytes),
            _ => (&self.invalid_name, &self.invalid_name_bytes),
        };
        count.fetch_add(1, Ordering::Relaxed);
        bytes.fetch_add(size_bytes, Ordering::Relaxed);
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
