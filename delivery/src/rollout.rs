//! The device's rollout bucket: which share of a staged rollout it falls in, computed on the
//! device so the install id never leaves it.
//!
//! `bucket = u64_be(SHA-256("trackgate-rollout-v1\0" ‖ salt ‖ "\0" ‖ install_id)[0..8]) mod 10000`.
//! The salt is public and fixed per app (`Schedule::rollout_salt`, `rollout_salt` in the FFI
//! `GateOptions`; by convention `app/env`), so a device keeps its bucket across releases; the
//! server rotates
//! which buckets go first per release (its record's offset), so each release starts on other
//! devices. The bucket is sent as the [`ROLLOUT_BUCKET_HEADER`] request header and is not
//! signed: whoever forges it only chooses which of the signed, currently offered plans this
//! device receives, which verification, scope and the anti-rollback floor bound as for any
//! reply (`docs/governance.md`, "Staged rollout").

use sha2::{Digest, Sha256};

/// The request header carrying the bucket, decimal `0..=9999`.
pub const ROLLOUT_BUCKET_HEADER: &str = "trackgate-rollout-bucket";

/// Number of buckets (one per basis point).
pub const ROLLOUT_BUCKETS: u16 = 10_000;

/// The bucket of `install_id` under `salt`.
pub fn rollout_bucket(install_id: &str, salt: &str) -> u16 {
    let mut hasher = Sha256::new();
    hasher.update(b"trackgate-rollout-v1\0");
    hasher.update(salt.as_bytes());
    hasher.update(b"\0");
    hasher.update(install_id.as_bytes());
    let digest = hasher.finalize();
    let mut head = [0u8; 8];
    head.copy_from_slice(&digest[..8]);
    // 2^64 mod 10000 is 1616: the bias towards low buckets is below 1e-15.
    (u64::from_be_bytes(head) % u64::from(ROLLOUT_BUCKETS)) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_stable_spread_and_salted() {
        assert_eq!(rollout_bucket("install-1", "shop/prod"), rollout_bucket("install-1", "shop/prod"));
        assert_ne!(rollout_bucket("install-1", "shop/prod"), rollout_bucket("install-1", "mall/prod"));
        let mut counts = [0u32; 10];
        for index in 0..20_000 {
            counts[usize::from(rollout_bucket(&format!("install-{index}"), "shop/prod") / 1000)] += 1;
        }
        assert!(counts.iter().all(|count| (1_800..=2_200).contains(count)), "{counts:?}");
    }
}
