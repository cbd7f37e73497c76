//! The publisher's side: turning a validated [`Plan`] into a signed envelope.
//!
//! Used by `trackgate build` and by tests; apps never sign. Pure computation, no I/O.

use ed25519_dalek::SigningKey;
use trackgate_core::{Diagnostic, Plan};

use crate::envelope::PAYLOAD_SCHEMA_POSTCARD_PLAN_V1;
use crate::seal::{seal_payload, seal_payload_v2, EnvelopeFields, SealError};

/// Why a plan could not be sealed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublishError {
    /// The plan breaks the rules of `Plan::check`; devices would refuse it.
    #[error("plan is invalid: {} error(s)", .0.iter().filter(|d| d.is_error()).count())]
    InvalidPlan(Vec<Diagnostic>),
    /// The envelope could not be built.
    #[error(transparent)]
    Seal(#[from] SealError),
}

/// The plan in the envelope's payload encoding (postcard).
pub fn encode_plan(plan: &Plan) -> Vec<u8> {
    // Serializing plain data into a growable buffer cannot fail.
    postcard::to_allocvec(plan).unwrap_or_default()
}

/// Validates `plan` and signs it in format 1 (one signature, readable by every release) for
/// its own app, env and version.
pub fn seal_plan(plan: &Plan, key: &SigningKey, issued_at: u64, expires_at: u64) -> Result<Vec<u8>, PublishError> {
    let fields = checked_fields(plan, issued_at, expires_at)?;
    Ok(seal_payload(&fields, &encode_plan(plan), key)?)
}

/// Validates `plan` and seals it in format 2, signed by each of `keys` (none: unsigned, for
/// co-signing with [`crate::add_signature`]). Only releases that read format 2 accept it.
pub fn seal_plan_v2(
    plan: &Plan,
    keys: &[&SigningKey],
    issued_at: u64,
    expires_at: u64,
) -> Result<Vec<u8>, PublishError> {
    let fields = checked_fields(plan, issued_at, expires_at)?;
    Ok(seal_payload_v2(&fields, &encode_plan(plan), keys)?)
}

fn checked_fields(plan: &Plan, issued_at: u64, expires_at: u64) -> Result<EnvelopeFields, PublishError> {
    let problems = plan.check();
    if problems.iter().any(Diagnostic::is_error) {
        return Err(PublishError::InvalidPlan(problems));
    }
    Ok(EnvelopeFields {
        config_version: plan.version,
        issued_at,
        expires_at,
        payload_schema: PAYLOAD_SCHEMA_POSTCARD_PLAN_V1,
        app: plan.app.clone(),
        env: plan.env.clone(),
    })
}
