//! Lock-free per-event token buckets.
//!
//! Implemented as GCRA (the "virtual scheduling" form of a token bucket): one atomic holds the
//! theoretical arrival time of the next conforming event, advanced with compare-and-swap. No
//! lock, no allocation; contention only retries the CAS.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::plan::RateLimit;

/// The state of one event's bucket.
#[derive(Debug)]
pub(crate) struct TokenBucket {
    /// When the bucket is next "empty-equivalent", in monotonic nanoseconds.
    theoretical_arrival: AtomicU64,
    /// Nanoseconds one token takes to flow in.
    interval_nanos: u64,
    /// How far ahead of now the arrival time may run: `(burst - 1) * interval`.
    tolerance_nanos: u64,
}

impl TokenBucket {
    pub(crate) fn new(limit: RateLimit) -> Self {
        let interval = (1e9 / limit.per_second).round().clamp(1.0, u64::MAX as f64) as u64;
        let tolerance = interval.saturating_mul(u64::from(limit.burst.max(1) - 1));
        TokenBucket { theoretical_arrival: AtomicU64::new(0), interval_nanos: interval, tolerance_nanos: tolerance }
    }

    /// Takes a token if one is available at `now_nanos`.
    #[inline]
    pub(crate) fn try_acquire(&self, now_nanos: u64) -> bool {
        let mut arrival = self.theoretical_arrival.load(Ordering::Relaxed);
        loop {
            let base = arrival.max(now_nanos);
            if base - now_nanos > self.tolerance_nanos {
                return false;
            }
            let next = base.saturating_add(self.interval_nanos);
            match self.theoretical_arrival.compare_exchange_weak(arrival, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return true,
                Err(actual) => arrival = actual,
            }
        }
    }

    /// How many tokens [`TokenBucket::try_acquire`] could take one after another at
    /// `now_nanos`, without taking any: 0 exactly when `try_acquire` would refuse. A read, so
    /// another thread may take a token right after.
    pub(crate) fn available(&self, now_nanos: u64) -> u32 {
        let ahead = self.theoretical_arrival.load(Ordering::Relaxed).max(now_nanos) - now_nanos;
        match self.tolerance_nanos.checked_sub(ahead) {
            // At most `burst` (`tolerance / interval = burst - 1`), so the cast cannot truncate.
            Some(slack) => (slack / self.interval_nanos + 1) as u32,
            None => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_burst_then_the_rate() {
        let bucket = TokenBucket::new(RateLimit { per_second: 2.0, burst: 3 });
        let start = 10_000_000_000;
        assert_eq!((0..5).filter(|_| bucket.try_acquire(start)).count(), 3);
        // Half a second later exactly one more token has flowed in.
        assert!(bucket.try_acquire(start + 500_000_000));
        assert!(!bucket.try_acquire(start + 500_000_000));
        // After a long quiet period the bucket holds a full burst again, not more.
        let later = start + 60_000_000_000;
        assert_eq!((0..10).filter(|_| bucket.try_acquire(later)).count(), 3);
    }

    #[test]
    fn available_counts_what_try_acquire_would_take_without_taking_it() {
        let bucket = TokenBucket::new(RateLimit { per_second: 2.0, burst: 3 });
        let start = 10_000_000_000;
        for expected in (0..=3).rev() {
            assert_eq!(bucket.available(start), expected);
            assert_eq!(bucket.available(start), expected, "reading takes nothing");
            assert_eq!(bucket.try_acquire(start), expected > 0);
        }
        assert_eq!(bucket.available(start + 500_000_000), 1);
        assert_eq!(bucket.available(start + 60_000_000_000), 3);
    }

    #[test]
    fn fractional_rates() {
        let bucket = TokenBucket::new(RateLimit { per_second: 0.1, burst: 1 });
        assert!(bucket.try_acquire(0));
        assert!(!bucket.try_acquire(9_999_999_999));
        assert!(bucket.try_acquire(10_000_000_000));
    }
}
