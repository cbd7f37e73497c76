//! Verification of a signed plan envelope, cheapest check first, one typed error per failure.
//!
//! Order (normative, `docs/config-delivery.md`): size cap, header parse, signatures against
//! the keyring's policy (`crate::threshold`), scope, anti-rollback floor (equivocation told apart), expiry and issue time,
//! payload decode (length-limited, exact consumption), header/payload agreement, semantic
//! validation and compilation. Persisting and installing are the caller's next steps
//! ([`crate::Delivery`]); nothing here has side effects.
//!
//! Pure computation: no I/O, no threads. Allocation is bounded by the input size (which the
//! size cap bounds first): the decoded plan and its compiled tables.

use trackgate_core::{CompileError, CompiledPlan, Diagnostic, Plan};

use crate::envelope::{
    parse_envelope, EnvelopeError, EnvelopeHeader, KeyId, DEFAULT_MAX_ENVELOPE_BYTES, PAYLOAD_SCHEMA_POSTCARD_PLAN_V1,
};
use crate::keyring::Keyring;
use crate::threshold::verify_signatures;

/// Limits and tolerances of verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyPolicy {
    /// Largest envelope accepted, in bytes.
    pub max_envelope_bytes: usize,
    /// How long after `expires_at` a plan is still accepted, in seconds (clock skew, slow
    /// publishing).
    pub expiry_grace_seconds: u64,
    /// How far ahead of the trusted time `issued_at` may be, in seconds.
    pub max_issued_ahead_seconds: u64,
}

impl Default for VerifyPolicy {
    fn default() -> Self {
        VerifyPolicy {
            max_envelope_bytes: DEFAULT_MAX_ENVELOPE_BYTES,
            expiry_grace_seconds: 24 * 60 * 60,
            max_issued_ahead_seconds: 24 * 60 * 60,
        }
    }
}

/// The last plan accepted for a scope: new plans must be above it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Floor {
    /// Its version.
    pub version: u64,
    /// Its content digest ([`crate::ParsedEnvelope::content_digest`]: format 1, SHA-256 of
    /// the envelope bytes; format 2, the signed digest).
    pub digest: [u8; 32],
}

/// What a verification is judged against.
#[derive(Debug, Clone, Copy)]
pub struct VerifyContext<'context> {
    /// Trusted keys.
    pub keyring: &'context Keyring,
    /// The application this device runs.
    pub app: &'context str,
    /// The environment this device runs.
    pub env: &'context str,
    /// The last accepted plan, if any.
    pub floor: Option<Floor>,
    /// Trusted current time, Unix seconds: `Delivery` passes max(device clock, signed time
    /// floor), see `docs/config-delivery.md`, "Trusted time".
    pub now: u64,
    /// Whether to judge expiry and issue time (off for the app-bundled plan, whose age is the
    /// app's age and which no network can replace).
    pub check_time: bool,
    /// Limits.
    pub policy: VerifyPolicy,
}

/// A plan that passed every check, ready to persist and install.
#[derive(Debug)]
pub struct VerifiedPlan {
    /// Its header.
    pub header: EnvelopeHeader,
    /// Its content digest (what the anti-rollback floor records).
    pub digest: [u8; 32],
    /// The keys whose signatures counted, in envelope order.
    pub signers: Vec<KeyId>,
    /// The decoded plan.
    pub plan: Plan,
    /// The plan compiled for the engine.
    pub compiled: CompiledPlan,
}

/// The verdict on an envelope that is not refused.
#[derive(Debug)]
pub enum Verified {
    /// A newer plan.
    New(Box<VerifiedPlan>),
    /// The very bytes already accepted: nothing to do, and not a failure.
    AlreadyCurrent {
        /// Its version.
        version: u64,
    },
}

/// Why an envelope was refused. Each check has its own variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Size cap, header parse or length checks failed.
    #[error("malformed envelope: {0}")]
    Malformed(#[from] EnvelopeError),
    /// No trusted key signed, and this signature is by a key the keyring does not hold.
    #[error("byte {offset}: signature {index} is by unknown key {key_id}, and no trusted key signed")]
    UnknownKey {
        /// The first unknown key.
        key_id: KeyId,
        /// Its signature's index.
        index: usize,
        /// Where its entry starts.
        offset: usize,
    },
    /// A trusted key's signature does not match the signed bytes.
    #[error("byte {offset}: signature {index} by key {key_id} does not match the envelope (forged or corrupted)")]
    BadSignature {
        /// The key it claims.
        key_id: KeyId,
        /// The signature's index.
        index: usize,
        /// Where its entry starts.
        offset: usize,
    },
    /// The policy is not met, and a revoked key signed where a trusted one was needed.
    #[error(
        "byte {offset}: signature {index} is by revoked key {key_id}{}, which never counts; not enough other keys signed",
        role.as_deref().map(|role| format!(" (role `{role}`)")).unwrap_or_default()
    )]
    RevokedKey {
        /// The revoked key.
        key_id: KeyId,
        /// Its signature's index.
        index: usize,
        /// Where its entry starts.
        offset: usize,
        /// Its role, if the keyring still holds it.
        role: Option<String>,
    },
    /// Fewer distinct trusted keys signed than the policy requires.
    #[error(
        "not enough signatures{}: have {have} of {need}",
        role.as_deref().map(|role| format!(" for role `{role}`")).unwrap_or_else(|| " by a trusted key".into())
    )]
    NotEnoughSignatures {
        /// The role short of signatures; `None` under the legacy policy (any one trusted key).
        role: Option<String>,
        /// Distinct trusted, unrevoked keys of the role that signed validly.
        have: usize,
        /// The threshold.
        need: usize,
    },
    /// Signed for another app or environment.
    #[error("byte 50: plan is for {app}/{env}, this device runs {expected_app}/{expected_env}")]
    WrongScope {
        /// App in the envelope.
        app: String,
        /// Env in the envelope.
        env: String,
        /// This device's app.
        expected_app: String,
        /// This device's env.
        expected_env: String,
    },
    /// Older than the last accepted plan.
    #[error("byte 20: version {version} is older than the accepted version {floor} (rollback refused)")]
    Rollback {
        /// Offered version.
        version: u64,
        /// Last accepted version.
        floor: u64,
    },
    /// Same version as the accepted plan, different bytes: the signer issued two plans under
    /// one version, or a signing key is misused.
    #[error("byte 20: version {version} was already accepted with different content (equivocation)")]
    Equivocation {
        /// The version signed twice.
        version: u64,
    },
    /// Past `expires_at` plus the grace period.
    #[error("byte 36: plan expired at {expires_at}; now is {now} and the grace period {grace_seconds} s has passed")]
    Expired {
        /// Expiry.
        expires_at: u64,
        /// Trusted time.
        now: u64,
        /// Grace allowed.
        grace_seconds: u64,
    },
    /// `issued_at` is further ahead of the trusted time than allowed.
    #[error("byte 28: plan issued at {issued_at}, more than {tolerance_seconds} s after now ({now})")]
    IssuedInFuture {
        /// Signing time.
        issued_at: u64,
        /// Trusted time.
        now: u64,
        /// Allowed lead.
        tolerance_seconds: u64,
    },
    /// The payload schema is not one this build decodes.
    #[error("byte 44: payload schema {0} is not supported (this build decodes {PAYLOAD_SCHEMA_POSTCARD_PLAN_V1})")]
    UnsupportedPayloadSchema(u16),
    /// The payload is not a postcard-encoded plan.
    #[error("payload (bytes {offset}..{end}) does not decode as a plan: {message}")]
    Decode {
        /// Payload start.
        offset: usize,
        /// Payload end.
        end: usize,
        /// The decoder's words.
        message: String,
    },
    /// The plan ends before the payload does.
    #[error("byte {offset}: {count} trailing byte(s) after the plan in the payload")]
    TrailingBytes {
        /// Where the extra bytes start.
        offset: usize,
        /// How many.
        count: usize,
    },
    /// Header and plan disagree on app, env or version.
    #[error("plan field `{field}` is {payload} but the signed header says {header}")]
    HeaderMismatch {
        /// `app`, `env` or `version`.
        field: &'static str,
        /// Header value.
        header: String,
        /// Plan value.
        payload: String,
    },
    /// The plan breaks the rules of `Plan::check`.
    #[error("plan is invalid: {}", summarize(.0))]
    InvalidPlan(Vec<Diagnostic>),
    /// The plan is valid but cannot be compiled (for example too many salts).
    #[error("plan cannot be compiled: {0}")]
    Uncompilable(String),
}

fn summarize(diagnostics: &[Diagnostic]) -> String {
    let errors: Vec<String> = diagnostics.iter().filter(|d| d.is_error()).take(5).map(ToString::to_string).collect();
    let total = diagnostics.iter().filter(|d| d.is_error()).count();
    let more = if total > errors.len() { format!("; and {} more", total - errors.len()) } else { String::new() };
    format!("{}{more}", errors.join("; "))
}

impl VerifyError {
    /// A short stable name for logs and status (`bad_signature`, `rollback`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            VerifyError::Malformed(EnvelopeError::TooLarge { .. }) => "too_large",
            VerifyError::Malformed(EnvelopeError::DuplicateSignature { .. }) => "duplicate_key",
            VerifyError::Malformed(_) => "malformed",
            VerifyError::UnknownKey { .. } => "unknown_key",
            VerifyError::BadSignature { .. } => "bad_signature",
            VerifyError::RevokedKey { .. } => "revoked_key",
            VerifyError::NotEnoughSignatures { .. } => "not_enough_signatures",
            VerifyError::WrongScope { .. } => "wrong_scope",
            VerifyError::Rollback { .. } => "rollback",
            VerifyError::Equivocation { .. } => "equivocation",
            VerifyError::Expired { .. } => "expired",
            VerifyError::IssuedInFuture { .. } => "issued_in_future",
            VerifyError::UnsupportedPayloadSchema(_) => "unsupported_payload_schema",
            VerifyError::Decode { .. } => "decode",
            VerifyError::TrailingBytes { .. } => "trailing_bytes",
            VerifyError::HeaderMismatch { .. } => "header_mismatch",
            VerifyError::InvalidPlan(_) => "invalid_plan",
            VerifyError::Uncompilable(_) => "uncompilable",
        }
    }
}

/// Runs every check on `bytes`, in the normative order.
pub fn verify_envelope(bytes: &[u8], context: &VerifyContext<'_>) -> Result<Verified, VerifyError> {
    let envelope = parse_envelope(bytes, context.policy.max_envelope_bytes)?;
    let header = &envelope.header;
    let signers = verify_signatures(&envelope, context.keyring)?;
    check_scope(header, context)?;
    let digest = envelope.content_digest();
    if let Some(floor) = context.floor {
        if header.config_version < floor.version {
            return Err(VerifyError::Rollback { version: header.config_version, floor: floor.version });
        }
        if header.config_version == floor.version {
            return if digest == floor.digest {
                Ok(Verified::AlreadyCurrent { version: floor.version })
            } else {
                Err(VerifyError::Equivocation { version: floor.version })
            };
        }
    }
    if context.check_time {
        check_time(header, context)?;
    }
    if header.payload_schema != PAYLOAD_SCHEMA_POSTCARD_PLAN_V1 {
        return Err(VerifyError::UnsupportedPayloadSchema(header.payload_schema));
    }
    let plan = decode_plan(envelope.payload, envelope.header_length)?;
    check_agreement(header, &plan)?;
    let compiled = compile_checked(&plan)?;
    Ok(Verified::New(Box::new(VerifiedPlan { header: envelope.header, digest, signers, plan, compiled })))
}

fn check_scope(header: &EnvelopeHeader, context: &VerifyContext<'_>) -> Result<(), VerifyError> {
    if header.app == context.app && header.env == context.env {
        return Ok(());
    }
    Err(VerifyError::WrongScope {
        app: header.app.clone(),
        env: header.env.clone(),
        expected_app: context.app.to_owned(),
        expected_env: context.env.to_owned(),
    })
}

fn check_time(header: &EnvelopeHeader, context: &VerifyContext<'_>) -> Result<(), VerifyError> {
    let grace_seconds = context.policy.expiry_grace_seconds;
    if context.now > header.expires_at.saturating_add(grace_seconds) {
        return Err(VerifyError::Expired { expires_at: header.expires_at, now: context.now, grace_seconds });
    }
    let tolerance_seconds = context.policy.max_issued_ahead_seconds;
    if header.issued_at > context.now.saturating_add(tolerance_seconds) {
        return Err(VerifyError::IssuedInFuture { issued_at: header.issued_at, now: context.now, tolerance_seconds });
    }
    Ok(())
}

/// Decodes a postcard plan that must fill the payload exactly. The payload was bounded by the
/// size cap, and postcard reads lengths against the remaining input, so a lying length inside
/// the payload cannot make it allocate more than the payload holds.
pub fn decode_plan(payload: &[u8], payload_offset: usize) -> Result<Plan, VerifyError> {
    let (plan, rest) = postcard::take_from_bytes::<Plan>(payload).map_err(|error| VerifyError::Decode {
        offset: payload_offset,
        end: payload_offset + payload.len(),
        message: error.to_string(),
    })?;
    if !rest.is_empty() {
        return Err(VerifyError::TrailingBytes {
            offset: payload_offset + payload.len() - rest.len(),
            count: rest.len(),
        });
    }
    Ok(plan)
}

fn check_agreement(header: &EnvelopeHeader, plan: &Plan) -> Result<(), VerifyError> {
    let mismatch = |field, header: String, payload: String| Err(VerifyError::HeaderMismatch { field, header, payload });
    if plan.app != header.app {
        return mismatch("app", header.app.clone(), plan.app.clone());
    }
    if plan.env != header.env {
        return mismatch("env", header.env.clone(), plan.env.clone());
    }
    if plan.version != header.config_version {
        return mismatch("version", header.config_version.to_string(), plan.version.to_string());
    }
    Ok(())
}

/// Semantic validation and compilation. `CompiledPlan::compile` runs `Plan::check` itself and
/// refuses on errors, so running the check separately would double its cost on large plans.
/// Warnings do not refuse a plan; publishers see them at `trackgate build`.
pub fn compile_checked(plan: &Plan) -> Result<CompiledPlan, VerifyError> {
    match CompiledPlan::compile(plan) {
        Ok(compiled) => Ok(compiled),
        Err(CompileError::Invalid(diagnostics)) => Err(VerifyError::InvalidPlan(diagnostics)),
        Err(other) => Err(VerifyError::Uncompilable(other.to_string())),
    }
}
