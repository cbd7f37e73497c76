//! The envelopes a release gates, beside its record: `ID.release.tgplan` (the next plan at
//! `to_version`) and `ID.rollback.tgplan` (the previous plan's content at `rollback_version`).
//!
//! Both are signed at the reviews, so a rollback needs no key when the watch halts: it was
//! approved with the release. Each approval signs both envelopes with the approver's key.
//! Until multi-signature envelopes (branch `sigs`) are merged, an envelope carries one
//! signature, so each approval re-seals both with its own key; with them, each approval adds
//! its signature and devices require both roles.

use std::path::Path;

use trackgate_delivery::{seal_plan, SigningKey};
use trackgate_release::ReleaseRecord;

use super::{sibling, write_atomically, RELEASE_ENVELOPE_SUFFIX, ROLLBACK_ENVELOPE_SUFFIX};
use crate::Failure;

/// Signs (or co-signs) both envelopes of `record` with `key`, valid from `now` for `expires`
/// seconds.
pub fn sign(record_path: &Path, record: &ReleaseRecord, key: &SigningKey, now: u64, expires: u64) -> Result<(), Failure> {
    let mut rollback = record.previous.clone();
    rollback.version = record.rollback_version;
    for (plan, suffix) in [(&record.next, RELEASE_ENVELOPE_SUFFIX), (&rollback, ROLLBACK_ENVELOPE_SUFFIX)] {
        let envelope = seal_plan(plan, key, now, now.saturating_add(expires))
            .map_err(|error| Failure::refused(format!("cannot seal version {}: {error}", plan.version)))?;
        write_atomically(&sibling(record_path, &record.id, suffix), &envelope)?;
    }
    Ok(())
}

/// Refuses to go on when an envelope of `record` is missing.
pub fn check_present(record_path: &Path, record: &ReleaseRecord) -> Result<(), Failure> {
    for suffix in [RELEASE_ENVELOPE_SUFFIX, ROLLBACK_ENVELOPE_SUFFIX] {
        let path = sibling(record_path, &record.id, suffix);
        if !path.is_file() {
            return Err(Failure::refused(format!("{} is missing: approve the release again", path.display())));
        }
    }
    Ok(())
}
