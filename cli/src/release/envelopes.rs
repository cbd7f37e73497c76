//! The envelopes a release gates, beside its record: `ID.release.tgplan` (the next plan at
//! `to_version`) and `ID.rollback.tgplan` (the previous plan's content at `rollback_version`).
//!
//! Both are signed at the reviews, so a rollback needs no key when the watch halts: it was
//! approved with the release. The first approval seals both in envelope format 2 with its
//! signature; each later approval co-signs them (adds its signature over the same signed
//! bytes), so devices whose keyring requires both roles accept them only once both approved.

use std::path::Path;

use trackgate_delivery::{add_signature, parse_envelope, seal_plan_v2, SigningKey};
use trackgate_release::ReleaseRecord;

use super::{sibling, write_atomically, RELEASE_ENVELOPE_SUFFIX, ROLLBACK_ENVELOPE_SUFFIX};
use crate::Failure;

/// Signs (or co-signs) both envelopes of `record` with `key`, valid from `now` for `expires`
/// seconds.
pub fn sign(
    record_path: &Path,
    record: &ReleaseRecord,
    key: &SigningKey,
    now: u64,
    expires: u64,
) -> Result<(), Failure> {
    let mut rollback = record.previous.clone();
    rollback.version = record.rollback_version;
    for (plan, suffix) in [(&record.next, RELEASE_ENVELOPE_SUFFIX), (&rollback, ROLLBACK_ENVELOPE_SUFFIX)] {
        let path = sibling(record_path, &record.id, suffix);
        let envelope = if path.exists() {
            let existing = crate::files::read_capped(&path, crate::files::ENVELOPE_CAP, "envelope")?;
            let parsed = parse_envelope(&existing, crate::files::ENVELOPE_CAP)
                .map_err(|error| Failure::refused(format!("{}: {error}", path.display())))?;
            if parsed.header.plan_version != plan.version {
                return Err(Failure::refused(format!(
                    "{} holds version {}, not {}: remove it and approve again",
                    path.display(),
                    parsed.header.plan_version,
                    plan.version
                )));
            }
            add_signature(&existing, key).map_err(|error| Failure::refused(format!("{}: {error}", path.display())))?
        } else {
            seal_plan_v2(plan, &[key], now, now.saturating_add(expires))
                .map_err(|error| Failure::refused(format!("cannot seal version {}: {error}", plan.version)))?
        };
        write_atomically(&path, &envelope)?;
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
