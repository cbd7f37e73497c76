//! One deterministic generator for the whole workspace: fixtures, simulations, test data and
//! retry jitter.

/// The SplitMix64 generator (Steele, Lea, Flood 2014): tiny, fast, passes BigCrush, and fixed
/// here, so a seed replays the same stream in every version (unlike `rand`'s generators).
///
/// For demos, benchmarks, tests and backoff jitter only. It MUST NOT be used for sampling:
/// sampling decisions are a pure function of unit id and salt (`docs/spec-sampling.md`), so the
/// backend reproduces every one bit for bit, and nothing in a decision draws randomness.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// SplitMix64's increment, the golden ratio in 64 bits.
    const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

    /// A generator with a fixed seed: the same seed gives the same sequence.
    pub const fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(Self::GAMMA);
        Self::mix(self.state)
    }

    /// SplitMix64's finaliser: a bijection of `u64` that scatters nearby inputs (useful to
    /// derive unrelated seeds from related numbers).
    #[inline]
    pub const fn mix(mut value: u64) -> u64 {
        value = (value ^ (value >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        value = (value ^ (value >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        value ^ (value >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::SplitMix64;

    #[test]
    fn matches_the_reference_stream() {
        // First outputs of the reference SplitMix64 seeded with 1234567.
        let mut random = SplitMix64::new(1_234_567);
        assert_eq!(random.next_u64(), 6_457_827_717_110_365_317);
        assert_eq!(random.next_u64(), 3_203_168_211_198_807_973);
    }
}
