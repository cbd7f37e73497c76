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
use trackgate_delivery::{FetchOutcome, OfferError, Offered, Status};

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

/// The text foreign code gets for a delivery problem (a `DeliveryError`, or a refused plan's
/// `VerifyError`, whose `kind()` is passed beside it): its `Display`, unchanged, so logs, the
/// CLI and every binding show the same words. One function for every error type, so the
/// library holds one copy of it.
fn message(error: &dyn std::fmt::Display) -> String {
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
