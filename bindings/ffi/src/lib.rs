//! # trackgate-ffi
//!
//! The trackgate API mobile apps call, exported with UniFFI proc-macros to Kotlin, Swift and
//! Python. One object, [`Gate`], wraps the core [`trackgate_core::Engine`] (decisions) and the
//! delivery crate's [`trackgate_delivery::Delivery`] (startup order, signed plans, fetches):
//!
//! - decisions: [`Gate::decide`], [`Gate::resolve`] + [`Gate::decide_id`], and the batch calls
//!   [`Gate::decide_batch`] / [`Gate::decide_ids`] that decide many events in one crossing (and
//!   their byte-array twins [`Gate::decide_batch_packed`] / [`Gate::decide_ids_packed`] for
//!   Python, whose list marshalling is slow);
//! - the scalar fast path [`trackgate_decide_id_scalar`], [`trackgate_decide_name_scalar`] and
//!   [`trackgate_resolve_scalar`] with [`Gate::scalar_token`]: plain C functions with numbers
//!   (and a name's bytes) in and a number out, for Kotlin and Swift, whose generated calls cost
//!   microseconds (Kotlin) or most of a microsecond (Swift);
//! - accounting: [`Gate::take_report`];
//! - plan delivery: [`Gate::apply_plan`], [`Gate::refresh_now`], [`Gate::on_foreground`],
//!   [`Gate::fetch_if_due`] through the app's own HTTP stack ([`HttpTransport`], a foreign
//!   trait), and [`Gate::status`];
//! - development aids: strict start (`GateOptions::strict`: a refused bundled plan or store
//!   fails [`Gate::new`] with a typed [`GateError`] naming the cause), the app's
//!   [`DeliveryLogger`] (a foreign trait receiving [`DeliveryEvent`]s), [`Gate::explain`] (an
//!   event's decision and the values behind it, counting nothing), [`Gate::explain_text`] and
//!   a report's table ([`TakenReport::table`]).
//!
//! The layer is thin on purpose: every rule lives once, in `trackgate-core` and
//! `trackgate-delivery`; this crate converts types, names the call in every error message, and
//! makes sure nothing a host passes in can panic or wedge the gate.
//!
//! Guarantees:
//! - Threads: [`Gate`] is `Send + Sync`; foreign code holds it in an `Arc`. Decisions never take
//!   a lock (they go straight to the engine); control calls serialise on one mutex, which is
//!   *not* held while the host's transport performs a request.
//! - Panics: no reachable code here panics on any input (clippy denies `unwrap`, `expect`,
//!   `panic!` and slice indexing outside tests); UniFFI also catches panics at the boundary, and
//!   a panicking Rust [`HttpTransport`] is caught and treated as a failed request, a panicking
//!   (or, in a foreign language, throwing) [`DeliveryLogger`] loses only the event.
//! - I/O: only the store directory (at construction, [`Gate::apply_plan`] and after fetches) and
//!   the host's transport (only inside the fetch calls, on the calling thread), and the host's
//!   logger (on the calling thread, no lock held). No threads are started.
//! - Allocation: crossing the boundary allocates (UniFFI moves strings and buffers); the
//!   engine's own decision path does not.

#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]

mod error;
mod gate;
mod logger;
mod packed;
mod readable;
mod sampling;
mod scalar;
mod transport;
mod types;

pub use error::GateError;
pub use gate::{Gate, GateOptions, RoleKey, RoleThreshold, SignaturePolicy, TrustedKey};
pub use logger::{DeliveryEvent, DeliveryLogger, LoggerError};
pub use packed::PackedBatchDecisions;
pub use sampling::{drop_reason_code, drop_reason_from_code, sampling_is_kept, sampling_random_value};
pub use scalar::{
    trackgate_decide_id_scalar, trackgate_decide_name_scalar, trackgate_resolve_scalar, SCALAR_BAD_NAME, SCALAR_NO_ID,
    SCALAR_PANICKED, SCALAR_SLOTS, SCALAR_STALE, SCALAR_UNKNOWN_TOKEN,
};
pub use transport::{HttpHeader, HttpRequest, HttpResponse, HttpTransport, TransportError};
pub use types::{
    ApplyOutcome, BatchDecisions, FetchResult, GateStatus, TakenReport, BATCH_CODE_KEEP, BATCH_CODE_STALE,
};

// Types exported as they are defined in the core and delivery crates (see `types.rs`).
pub use trackgate_core::{
    Decision, DropReason, DropReport, EventReport, Explanation, Priority, ReasonCounts, UnregisteredReport,
};
pub use trackgate_delivery::{FailPolicy, PlanSource};

uniffi::setup_scaffolding!();
