//! A [`Decision`] in one register, for the trip out of the out-of-line refresh path
//! (`Engine::with_refreshed_lane`).
//!
//! Returned from there as the 16-byte enum, the decision made every caller (the inlined hot
//! path included) build it in a stack slot with two small stores and copy it out with one
//! 16-byte load, which stalls store forwarding (`docs/performance.md`, "Where the time goes").
//! Kept: the weight's bits (a weight is at least 1.0, so its bits exceed 255). Dropped: the
//! reason's code (1..=8). A stale id: [`PACKED_STALE`].

use crate::reason::{Decision, DropReason};

use super::StaleEventId;

/// `decision` packed.
#[inline(always)]
pub(super) fn pack(decision: Decision) -> u64 {
    match decision {
        Decision::Keep { weight } => weight.to_bits(),
        Decision::Drop { reason } => u64::from(reason.code()),
    }
}

/// A stale event id, packed (no weight or code has these bits).
pub(super) const PACKED_STALE: u64 = u64::MAX;

/// An `Engine::decide_id` result from [`pack`] or [`PACKED_STALE`].
#[inline(always)]
pub(super) fn unpack_id_decision(packed: u64) -> Result<Decision, StaleEventId> {
    if packed == PACKED_STALE {
        Err(StaleEventId)
    } else {
        Ok(unpack(packed))
    }
}

/// A decision from [`pack`].
#[inline(always)]
pub(super) fn unpack(packed: u64) -> Decision {
    match u8::try_from(packed).ok().and_then(DropReason::from_code) {
        Some(reason) => Decision::Drop { reason },
        None => Decision::Keep { weight: f64::from_bits(packed) },
    }
}
