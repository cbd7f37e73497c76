//! Time, injected: the engine never reads the system clock itself.
//!
//! Rate limits need a monotonic clock and reports need wall-clock window bounds. Hosts pass a
//! [`Clock`]; tests pass a [`ManualClock`] they advance by hand, so every run is deterministic.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// A source of time.
pub trait Clock: Send + Sync + 'static {
    /// Nanoseconds on a clock that never goes backwards (its origin is arbitrary).
    fn monotonic_nanos(&self) -> u64;
    /// Milliseconds since the Unix epoch, for report windows (may jump).
    fn unix_millis(&self) -> u64;
}

/// The operating system's clocks.
#[derive(Debug)]
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    /// A clock whose monotonic origin is now.
    pub fn new() -> Self {
        SystemClock { origin: Instant::now() }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock::new()
    }
}

impl Clock for SystemClock {
    fn monotonic_nanos(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn unix_millis(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
    }
}

/// A clock that moves only when told to; for tests and simulations.
#[derive(Debug, Default)]
pub struct ManualClock {
    nanos: AtomicU64,
    unix_millis: AtomicU64,
}

impl ManualClock {
    /// A clock at monotonic 0 and the given wall-clock time.
    pub fn new(unix_millis: u64) -> Self {
        ManualClock { nanos: AtomicU64::new(0), unix_millis: AtomicU64::new(unix_millis) }
    }

    /// Moves both clocks forward.
    pub fn advance_nanos(&self, nanos: u64) {
        self.nanos.fetch_add(nanos, Ordering::SeqCst);
        self.unix_millis.fetch_add(nanos / 1_000_000, Ordering::SeqCst);
    }

    /// Sets the wall clock only (as a user changing the device time would).
    pub fn set_unix_millis(&self, unix_millis: u64) {
        self.unix_millis.store(unix_millis, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn monotonic_nanos(&self) -> u64 {
        self.nanos.load(Ordering::SeqCst)
    }

    fn unix_millis(&self) -> u64 {
        self.unix_millis.load(Ordering::SeqCst)
    }
}
