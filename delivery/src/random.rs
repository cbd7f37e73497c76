//! Randomness for backoff jitter, injected so tests and simulations are reproducible.
//!
//! Jitter only spreads a fleet's retries; it needs no cryptographic strength, so a SplitMix64
//! generator seeded once from the process's hash randomness and the time is enough (and keeps
//! `rand` out of the app's build). No I/O, no allocation, no global state.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

/// A source of uniformly distributed 64-bit values.
pub trait RandomSource: Send {
    /// The next value.
    fn next_u64(&mut self) -> u64;
}

/// The SplitMix64 generator ([`trackgate_core::SplitMix64`]) as a [`RandomSource`], with a
/// seed from the process's hash randomness when reproducibility is not wanted.
#[derive(Debug, Clone)]
pub struct SplitMix64(trackgate_core::SplitMix64);

impl SplitMix64 {
    /// A generator with a fixed seed: the same seed gives the same sequence.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(trackgate_core::SplitMix64::new(seed))
    }

    /// A generator seeded differently in every process and every call.
    pub fn from_entropy() -> SplitMix64 {
        let mut hasher = RandomState::new().build_hasher();
        hasher
            .write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
        SplitMix64::new(hasher.finish())
    }
}

impl RandomSource for SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
}
