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

/// The SplitMix64 generator (Steele, Lea, Flood 2014): tiny, fast, passes BigCrush.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator with a fixed seed: the same seed gives the same sequence.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
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
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut mixed = self.state;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        mixed ^ (mixed >> 31)
    }
}
