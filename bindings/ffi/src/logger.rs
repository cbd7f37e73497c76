//! The app's logging as a foreign trait, [`DeliveryLogger`]: what plan delivery does
//! ([`DeliveryEvent`]: started, fetched, installed, refused and why, failed, backoff), so apps
//! route it to their own logs instead of polling `status()`.
//!
//! Events are derived from what the delivery crate already returns (its start status, each
//! fetch's response and outcome, each offer's outcome); nothing here decides anything.
//!
//! Guarantees:
//! - Threading: the logger is called on the thread that made the gate call (`Gate::new`,
//!   `apply_plan`, `fetch_if_due`, `refresh_now`, `on_foreground`), after that call released
//!   the gate's delivery lock, so a logger may call back into the gate (`status()`,
//!   `apply_plan`, ...) without deadlocking. Events of one call arrive in order; calls from
//!   several threads may interleave. Decisions never log.
//! - Failures: a logger that throws (Kotlin, Swift, Python: [`LoggerError`], without a panic),
//!   returns an error or panics (Rust, `catch_unwind`) loses that one event; the gate call
//!   completes as if it had logged.
//! - Cost: without a logger, no event is built.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use trackgate_delivery::{Delivery, FetchOutcome, HttpResponse, OfferError, Offered, PlanSource, TransportError};

use crate::error::message;

/// One thing plan delivery did. Texts are the same words as `status().last_error` and the
/// CLI's.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum DeliveryEvent {
    /// The gate started (from `Gate::new`).
    Started {
        /// Where the active plan came from.
        source: PlanSource,
        /// Its version (0 on the fail policy).
        version: u64,
        /// Every problem met on the way (cache, bundled plan, store), if any: why the gate
        /// started on an older plan or on the fail policy.
        problem: Option<String>,
    },
    /// The plan server answered a fetch (any HTTP status; what it means follows).
    Fetched {
        /// The plan URL.
        url: String,
        /// The HTTP status.
        status: u16,
        /// Bytes in the body.
        body_bytes: u64,
    },
    /// A plan verified, was persisted and is now active.
    Installed {
        /// `Network` (fetched, or offered with `apply_plan`).
        source: PlanSource,
        /// The version active before.
        previous_version: u64,
        /// The version now active.
        version: u64,
    },
    /// The server had nothing new, or the plan offered is already active.
    Unchanged,
    /// Verification refused a plan; the active plan stays.
    Refused {
        /// The failed check's stable name (`unknown_key`, `wrong_scope`, `expired`, ...; the
        /// list is `ApplyOutcome.Refused`'s).
        kind: String,
        /// The check's message, naming the byte offset or field.
        reason: String,
    },
    /// No usable answer (transport error, HTTP status) or a verified plan that could not be
    /// persisted.
    Failed {
        /// Why.
        reason: String,
    },
    /// After a failure or refusal, the schedule waits before the next request.
    Backoff {
        /// Failed fetches since the last useful answer.
        consecutive_failures: u32,
        /// When the next request is due, Unix seconds by the device clock.
        next_fetch_unix: u64,
    },
}

/// A logger that could not take an event. Loggers need not return it: any exception they
/// throw arrives as this (through UniFFI's unexpected-error path, without a panic), and the
/// gate drops the event and carries on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum LoggerError {
    /// The logger failed.
    #[error("logger failed: {reason}")]
    Failed {
        /// Details.
        reason: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for LoggerError {
    fn from(error: uniffi::UnexpectedUniFFICallbackError) -> LoggerError {
        LoggerError::Failed { reason: error.reason }
    }
}

/// The app's log sink for delivery events. Implement it in Kotlin, Swift or Python and pass it
/// as `GateOptions.logger`; see the module documentation for the threads it is called on.
#[uniffi::export(with_foreign)]
pub trait DeliveryLogger: Send + Sync {
    /// Receives one event. Keep it short (it runs inside the gate call that caused it); an
    /// exception it throws (or an error it returns) loses the event and nothing else.
    fn log(&self, event: DeliveryEvent) -> Result<(), LoggerError>;
}

/// Events of one gate call, gathered while the delivery lock is held and handed to the
/// logger after it is released. Empty and never filled without a logger.
pub(crate) struct Events {
    logger: Option<Arc<dyn DeliveryLogger>>,
    events: Vec<DeliveryEvent>,
}

impl Events {
    pub(crate) fn new(logger: &Option<Arc<dyn DeliveryLogger>>) -> Events {
        Events { logger: logger.clone(), events: Vec::new() }
    }

    fn push(&mut self, event: impl FnOnce() -> DeliveryEvent) {
        if self.logger.is_some() {
            self.events.push(event());
        }
    }

    /// `Started`, from the delivery just started.
    pub(crate) fn started(&mut self, delivery: &Delivery) {
        self.push(|| {
            let status = delivery.status();
            DeliveryEvent::Started {
                source: status.source,
                version: status.version,
                problem: status.last_error.as_deref().map(|error| message(error)),
            }
        });
    }

    /// `Fetched`, when the transport got an answer.
    pub(crate) fn response(&mut self, url: &str, result: &Result<HttpResponse, TransportError>) {
        if let Ok(response) = result {
            self.push(|| DeliveryEvent::Fetched {
                url: url.to_owned(),
                status: response.status,
                body_bytes: response.body.len() as u64,
            });
        }
    }

    /// What a completed fetch did, and the backoff that follows a failure or refusal.
    pub(crate) fn fetched(&mut self, outcome: &FetchOutcome, previous_version: u64, delivery: &Delivery) {
        self.push(|| match outcome {
            FetchOutcome::Installed { version } => {
                DeliveryEvent::Installed { source: PlanSource::Network, previous_version, version: *version }
            }
            FetchOutcome::Unchanged => DeliveryEvent::Unchanged,
            FetchOutcome::Refused(error) => {
                DeliveryEvent::Refused { kind: error.kind().to_owned(), reason: message(&**error) }
            }
            FetchOutcome::Failed(error) => DeliveryEvent::Failed { reason: message(&**error) },
        });
        if matches!(outcome, FetchOutcome::Refused(_) | FetchOutcome::Failed(_)) {
            self.push(|| DeliveryEvent::Backoff {
                consecutive_failures: delivery.status().consecutive_failures,
                next_fetch_unix: delivery.next_fetch_at(),
            });
        }
    }

    /// What an offered plan (`apply_plan`) did.
    pub(crate) fn offered(&mut self, offered: &Result<Offered, OfferError>) {
        self.push(|| match offered {
            Ok(Offered::Installed { previous_version, version }) => DeliveryEvent::Installed {
                source: PlanSource::Network,
                previous_version: *previous_version,
                version: *version,
            },
            Ok(Offered::AlreadyCurrent) => DeliveryEvent::Unchanged,
            Err(OfferError::Refused(error)) => {
                DeliveryEvent::Refused { kind: error.kind().to_owned(), reason: message(&**error) }
            }
            Err(error @ OfferError::NotPersisted(_)) => DeliveryEvent::Failed { reason: message(error) },
        });
    }

    /// Hands the events to the logger, one by one; call with no gate lock held. A logger that
    /// throws, returns an error or (in Rust) panics loses only the event it was given.
    pub(crate) fn emit(self) {
        let Some(logger) = self.logger else { return };
        for event in self.events {
            let _ = catch_unwind(AssertUnwindSafe(|| logger.log(event)));
        }
    }
}
