//! Pure helper functions: the sampling spec's two primitives (so every binding can run the
//! shared vectors in `tests/vectors/sampling.json` against the very code apps ship) and the
//! drop-reason codes used by [`crate::BatchDecisions`].
//!
//! Thin wrappers over `trackgate_core`; no state, no I/O, no allocation.

use trackgate_core::sampling::{is_kept, random_value};
use trackgate_core::DropReason;

/// The unit's sampling value under `salt` (spec `trackgate-sampling-v1`):
/// `XXH64(utf8(unit_id), XXH64(utf8(salt), 42)) & (2^56 - 1)`.
#[uniffi::export]
pub fn sampling_random_value(salt: String, unit_id: String) -> u64 {
    random_value(&salt, &unit_id)
}

/// Whether a unit with sampling value `random_value` is in the sample at `rate_ppm` parts per
/// million (rates above 1,000,000 count as 1,000,000).
#[uniffi::export]
pub fn sampling_is_kept(random_value: u64, rate_ppm: u32) -> bool {
    is_kept(random_value, rate_ppm)
}

/// The code of a drop reason in `BatchDecisions.codes` (1..=8, in evaluation order; stable
/// across versions).
#[uniffi::export]
pub fn drop_reason_code(reason: DropReason) -> u8 {
    reason.code()
}

/// The drop reason a `BatchDecisions.codes` entry stands for; `None` for 0 (kept), 255 (stale
/// id) and unknown codes.
#[uniffi::export]
pub fn drop_reason_from_code(code: u8) -> Option<DropReason> {
    DropReason::from_code(code)
}
