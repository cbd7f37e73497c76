//! Deterministic, nested per-unit sampling (spec `trackgate-sampling-v1`, see `docs/spec-sampling.md`).
//!
//! Owns the hash and threshold arithmetic shared by the engine, the CLI's filter and the Spark
//! export. Everything here is a pure function: no allocation, no I/O, no randomness. The same
//! inputs give the same answer on every platform and in Spark SQL, bit for bit.

use xxhash_rust::xxh64::xxh64;

/// The spec identifier written into test vectors and exports.
pub const SPEC_ID: &str = "trackgate-sampling-v1";

/// Seed of the first hash, the same as Spark's `xxhash64` seed.
pub const SALT_HASH_SEED: u64 = 42;

/// Sampling values live in `[0, 2^56)`.
pub const RANDOM_VALUE_SPACE: u64 = 1 << 56;

/// Mask keeping the low 56 bits of a hash.
pub const RANDOM_VALUE_MASK: u64 = RANDOM_VALUE_SPACE - 1;

/// One million parts per million: a rate of 1.
pub const PARTS_PER_MILLION: u32 = 1_000_000;

/// `XXH64(utf8(salt), 42)`: the seed a salt contributes to every unit's hash.
pub fn salt_seed(salt: &str) -> u64 {
    xxh64(salt.as_bytes(), SALT_HASH_SEED)
}

/// The unit's sampling value for a salt already turned into a seed: `XXH64(utf8(unit), seed) & (2^56-1)`.
pub fn random_value_with_seed(unit_id: &str, seed: u64) -> u64 {
    xxh64(unit_id.as_bytes(), seed) & RANDOM_VALUE_MASK
}

/// The unit's sampling value under `salt`.
pub fn random_value(salt: &str, unit_id: &str) -> u64 {
    random_value_with_seed(unit_id, salt_seed(salt))
}

/// `T = floor(rate_ppm * 2^56 / 10^6)`, computed exactly in 128 bits. Rates above one million
/// parts per million are treated as one million.
pub fn threshold(rate_ppm: u32) -> u64 {
    let rate = u128::from(rate_ppm.min(PARTS_PER_MILLION));
    ((rate << 56) / u128::from(PARTS_PER_MILLION)) as u64
}

/// The smallest random value that is kept at `rate_ppm`: `2^56 - T`. A value of `2^56` keeps nothing.
pub fn keep_floor(rate_ppm: u32) -> u64 {
    RANDOM_VALUE_SPACE - threshold(rate_ppm)
}

/// Whether a unit with sampling value `random_value` is kept at `rate_ppm`.
pub fn is_kept(random_value: u64, rate_ppm: u32) -> bool {
    random_value >= keep_floor(rate_ppm)
}

/// The rate a keep floor was made from: the inverse of [`keep_floor`], exact for every rate
/// in `[0, 1_000_000]` (distinct rates give distinct thresholds, as `2^56 / 10^6 > 1`), so a
/// compiled rule, which keeps only the floor, can show the plan's rate.
pub fn rate_ppm_for_floor(keep_floor: u64) -> u32 {
    let threshold = u128::from(RANDOM_VALUE_SPACE.saturating_sub(keep_floor));
    // ceil(T * 10^6 / 2^56): T <= 2^56, so the product fits in 128 bits and the result in u32.
    ((threshold * u128::from(PARTS_PER_MILLION)).div_ceil(u128::from(RANDOM_VALUE_SPACE))) as u32
}

/// The inverse inclusion probability `2^56 / T` of a kept unit, used for unbiased estimates.
/// Zero when nothing is kept (rate 0), so a weight never makes up events that cannot exist.
pub fn weight(rate_ppm: u32) -> f64 {
    weight_for_floor(keep_floor(rate_ppm))
}

/// The weight of a unit kept above `keep_floor` (see [`keep_floor`]): `2^56 / (2^56 - floor)`,
/// 1.0 for a floor of 0 and 0.0 when nothing can be kept.
#[inline]
pub fn weight_for_floor(keep_floor: u64) -> f64 {
    match RANDOM_VALUE_SPACE.saturating_sub(keep_floor) {
        0 => 0.0,
        threshold => RANDOM_VALUE_SPACE as f64 / threshold as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_edges() {
        assert_eq!(threshold(0), 0);
        assert_eq!(threshold(1_000_000), RANDOM_VALUE_SPACE);
        assert_eq!(threshold(2_000_000), RANDOM_VALUE_SPACE);
        assert_eq!(threshold(500_000), RANDOM_VALUE_SPACE / 2);
        // floor(2^56 / 10^6) = 72057594037
        assert_eq!(threshold(1), 72_057_594_037);
    }

    #[test]
    fn the_rate_comes_back_from_its_floor_for_every_rate() {
        for rate in 0..=PARTS_PER_MILLION {
            assert_eq!(rate_ppm_for_floor(keep_floor(rate)), rate);
        }
    }

    #[test]
    fn rate_zero_keeps_nothing_and_one_keeps_everything() {
        assert!(!is_kept(RANDOM_VALUE_MASK, 0));
        assert!(is_kept(0, 1_000_000));
        assert_eq!(weight(1_000_000), 1.0);
        assert_eq!(weight(0), 0.0);
        assert_eq!(weight(500_000), 2.0);
    }

    #[test]
    fn nested_across_rates() {
        for unit in ["a", "b", "install-1", "", "ü"] {
            let value = random_value("salt", unit);
            let mut kept_before = false;
            for rate in (0..=1_000_000).step_by(12_345).chain([1_000_000]) {
                let kept = is_kept(value, rate);
                assert!(!kept_before || kept, "unit {unit} dropped at a higher rate {rate}");
                kept_before = kept;
            }
        }
    }

    #[test]
    fn matches_reference_hash() {
        // XXH64 of the empty input with seed 0 is a published constant.
        assert_eq!(xxh64(b"", 0), 0xef46_db37_51d8_e999);
        assert_eq!(random_value_with_seed("", 0), 0xef46_db37_51d8_e999 & RANDOM_VALUE_MASK);
    }
}
