//! Every error crossing the boundary, mapped in one place: the one error type, [`GateError`],
//! and the conversions of the delivery crate's typed outcomes and errors ([`DeliveryError`],
//! [`VerifyError`], [`OfferError`]) into the records foreign code gets (Mozilla
//! application-services' `error_support` pattern: errors stay typed inside Rust and are
//! lowered once, here; no other module of this crate turns an error into text).
//!
//! Inside Rust each variant carries the core or delivery error it came from, plus the call and
//! argument it concerns; at the boundary it is lowered as a *flat* error: foreign code gets one
//! exception class per variant (Kotlin `GateException.InvalidName`, Swift
//! `GateError.InvalidName`, Python `GateError.InvalidName`) whose message is the `Display` text
//! below, which always starts with the call that failed. Pure data: no I/O, no locks.

use trackgate_core::{EngineError, ResolveError};
use trackgate_delivery::{DeliveryError, FetchOutcome, OfferError, Offered, Status, VerifyError};

use crate::types::{ApplyOutcome, FetchResult, GateStatus};

/// Longest piece of caller input quoted in a message, in bytes.
const MAX_QUOTED_BYTES: usize = 64;

/// Why a call was refused. Decisions themselves never fail (a bad name is a drop with reason
/// `InvalidName`); errors come from control calls and from the id-based calls.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
pub enum GateError {
    /// A `GateOptions` field is unusable: a trusted key that is not a 32-byte Ed25519 public
    /// key, no trusted key at all, an app or env that is not a valid plan identifier, a bad unit
    /// id, or a transport without a plan URL. The message names the field.
    #[error("Gate(options): GateOptions.{field}: {problem}")]
    InvalidOptions {
        /// The field, e.g. `trusted_keys[1]`.
        field: String,
        /// What is wrong with it.
        problem: String,
    },
    /// An argument is unusable (for example batch arrays of different lengths, or a unit id
    /// that is empty or longer than 4096 bytes).
    #[error("{call}: {problem}")]
    InvalidArgument {
        /// The call, e.g. `decide_batch`.
        call: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// `resolve`: the name breaks the naming rules; `decide` would drop it as `InvalidName`.
    #[error("resolve({name}): {source}")]
    InvalidName {
        /// The name, quoted and shortened.
        name: String,
        /// The rule it breaks.
        source: ResolveError,
    },
    /// `resolve`: the name is valid but not in the active plan; decide it by name (the plan's
    /// `unregistered` policy applies and the name is counted in the report).
    #[error("resolve({name}): {source}")]
    Unregistered {
        /// The name, quoted and shortened.
        name: String,
        /// Always `ResolveError::Unregistered`.
        source: ResolveError,
    },
    /// `decide_id`: the id was resolved against a plan that is no longer active; resolve the
    /// name again. Nothing was decided or counted.
    #[error("decide_id({id:#x}): event id belongs to a plan that is no longer active; resolve the name again")]
    StaleEventId {
        /// The id passed.
        id: u64,
    },
    /// Strict start (`GateOptions.strict`): the bundled plan was refused, which without strict
    /// start leaves the gate on an older cached plan or on the fail policy (every event then
    /// dropped as `unregistered`). The message names the failed check (`malformed` with
    /// `bad magic`, `unknown_key`, `wrong_scope`, `expired`, ...), its byte offset or field,
    /// and a hint for the usual mistakes (plan JSON instead of the signed envelope, a key from
    /// another keypair).
    #[error(
        "Gate(options): GateOptions.bundled_plan refused ({kind}): {problem}{hint}; strict start (GateOptions.strict) does not start with a refused bundled plan"
    )]
    BundledPlanRefused {
        /// The failed check's stable name (`VerifyError::kind`).
        kind: &'static str,
        /// The check's message.
        problem: String,
        /// Empty, or what the usual cause of this refusal is.
        hint: &'static str,
    },
    /// Strict start (`GateOptions.strict`): the store could not be read or written, or the
    /// cached plan in it no longer verifies (for example after a change of trusted keys).
    #[error(
        "Gate(options): GateOptions.store_directory: {problem}; strict start (GateOptions.strict) does not start past a store problem"
    )]
    StoreProblem {
        /// Every store problem met, as `status().last_error` would show it.
        problem: String,
    },
    /// A fetch call on a gate built without a transport; deliver plans with `apply_plan`, or
    /// pass `GateOptions.transport`.
    #[error("{call}: no transport configured (GateOptions.transport); deliver plans with apply_plan")]
    NoTransport {
        /// The call.
        call: &'static str,
    },
}

impl GateError {
    /// The error of `resolve(name)`.
    pub(crate) fn from_resolve(name: &str, error: ResolveError) -> GateError {
        let name = quote(name);
        match error {
            ResolveError::InvalidName(_) => GateError::InvalidName { name, source: error },
            ResolveError::Unregistered => GateError::Unregistered { name, source: error },
        }
    }

    /// The error of a refused unit id in `call`.
    pub(crate) fn from_unit_id(call: &'static str, error: EngineError) -> GateError {
        GateError::InvalidArgument { call, problem: error.to_string() }
    }
}

/// Why a strict start (`GateOptions.strict`) refuses to start, from the problems
/// `Delivery::start` met (`problem`, as kept for `status().last_error`): the bundled plan's
/// refusal if it was refused, else the store's problems. `bundled` is the bundled plan, read
/// only to recognise plan JSON passed where the signed envelope belongs.
pub(crate) fn strict_start(problem: &DeliveryError, bundled: Option<&[u8]>) -> GateError {
    let problems = match problem {
        DeliveryError::Several(problems) => problems.as_slice(),
        one => std::slice::from_ref(one),
    };
    let refusal = problems.iter().find_map(|problem| match problem {
        DeliveryError::BundledRefused(error) => Some(error),
        _ => None,
    });
    let Some(error) = refusal else {
        return GateError::StoreProblem { problem: message(problem) };
    };
    let json = bundled.and_then(|bytes| bytes.iter().find(|byte| !byte.is_ascii_whitespace())) == Some(&b'{');
    let hint = match error {
        VerifyError::Malformed(_) if json => {
            " (these bytes are plan JSON: pass the signed envelope `trackgate build` writes from it)"
        }
        VerifyError::UnknownKey { .. } => {
            " (the plan is signed by a key that is not in GateOptions.trusted_keys: trust the public key of the keypair that signs, e.g. its public.hex)"
        }
        _ => "",
    };
    GateError::BundledPlanRefused { kind: error.kind(), problem: message(error), hint }
}

/// The text foreign code gets for a delivery problem (a `DeliveryError`, or a refused plan's
/// `VerifyError`, whose `kind()` is passed beside it): its `Display`, unchanged, so logs, the
/// CLI and every binding show the same words. One function for every error type, so the
/// library holds one copy of it.
pub(crate) fn message(error: &dyn std::fmt::Display) -> String {
    error.to_string()
}

impl From<Status> for GateStatus {
    fn from(status: Status) -> GateStatus {
        GateStatus {
            source: status.source,
            version: status.version,
            issued_at_unix: status.issued_at,
            age_seconds: status.age_seconds,
            expires_at_unix: status.expires_at,
            expired: status.expired,
            last_error: status.last_error.as_deref().map(|error| message(error)),
            last_success_unix: status.last_success_unix,
            consecutive_failures: status.consecutive_failures,
            next_fetch_unix: status.next_fetch_unix,
        }
    }
}

impl From<Result<Offered, OfferError>> for ApplyOutcome {
    fn from(offered: Result<Offered, OfferError>) -> ApplyOutcome {
        match offered {
            Ok(Offered::Installed { previous_version, version }) => {
                ApplyOutcome::Installed { previous_version, version }
            }
            Ok(Offered::AlreadyCurrent) => ApplyOutcome::AlreadyCurrent,
            Err(OfferError::Refused(error)) => {
                ApplyOutcome::Refused { kind: error.kind().to_owned(), reason: message(&*error) }
            }
            Err(error @ OfferError::NotPersisted(_)) => ApplyOutcome::NotPersisted { reason: message(&error) },
        }
    }
}

impl From<FetchOutcome> for FetchResult {
    fn from(outcome: FetchOutcome) -> FetchResult {
        match outcome {
            FetchOutcome::Installed { version } => FetchResult::Installed { version },
            FetchOutcome::Unchanged => FetchResult::Unchanged,
            FetchOutcome::Refused(error) => FetchResult::Refused { reason: message(&*error) },
            FetchOutcome::Failed(error) => FetchResult::Failed { reason: message(&*error) },
        }
    }
}

/// `text` in double quotes with escapes, cut to [`MAX_QUOTED_BYTES`] on a character boundary so
/// a huge or hostile argument cannot make a huge message.
pub(crate) fn quote(text: &str) -> String {
    let cut = text.char_indices().map(|(index, _)| index).find(|&index| index > MAX_QUOTED_BYTES);
    match cut.and_then(|index| text.get(..index)) {
        Some(head) => format!("{head:?}… ({} bytes)", text.len()),
        None => format!("{text:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_cuts_long_text_on_a_character_boundary() {
        assert_eq!(quote("a.b"), "\"a.b\"");
        let long = "é".repeat(100);
        let quoted = quote(&long);
        assert!(quoted.len() < 100, "{quoted}");
        assert!(quoted.ends_with("(200 bytes)"), "{quoted}");
    }
}
