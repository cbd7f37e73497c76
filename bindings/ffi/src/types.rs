//! The plain data crossing the boundary: decisions, reports, status and outcomes.
//!
//! Types that the core and delivery crates already define with the right shape are exported as
//! they are, through `#[uniffi::remote]` mirrors: the definitions below must match the
//! originals variant for variant and field for field (the compiler checks), and carry no copy
//! of their docs (the originals are the documentation; a copy here drifted). No conversion runs
//! on the decision path.
//!
//! Why mirrors and not `#[derive(uniffi::Record)]`/`Enum` on the originals behind an optional
//! `uniffi` feature of the core and delivery crates (measured, not assumed; `docs/packaging.md`):
//! - Size. A derived record lowers through `crate::UniFfiTag` and its metadata names the
//!   deriving crate, so each of those crates must call `uniffi::setup_scaffolding!()` and becomes
//!   a UniFFI component of its own, with its own exported `RustBuffer` and future-polling
//!   functions. A prototype of exactly that (derives behind the feature, scaffolding in both
//!   crates, these mirrors removed) built 18,272 bytes larger, stripped x86_64 `release-mobile`
//!   (865,104 to 883,376; 108 more exported symbols).
//! - Generated code. `uniffi-bindgen` writes one module per component (`trackgate_core`,
//!   `trackgate_delivery` beside `trackgate_ffi`), so the Python package, the Swift target and the
//!   Kotlin package would get extra generated files, and the wrappers in `bindings/*` would see
//!   the types move.
//!
//! The mirrors cost neither, and nobody who uses the core without the FFI compiles UniFFI.
//!
//! Types whose shape is specific to the boundary (status with a clearer name, batch results,
//! outcomes) are defined here; their conversions from the Rust types, including every
//! delivery error, are in `error.rs`, the one mapping to what foreign code sees.
//!
//! Pure data: no I/O, no locks; conversions allocate only the strings and vectors they carry.

use trackgate_core::{
    Decision, DropReason, DropReport, EventReport, Explanation, Priority, ReasonCounts, UnregisteredReport,
};
use trackgate_delivery::{FailPolicy, PlanSource};

/// Why an event was dropped (`trackgate_core::DropReason`).
#[uniffi::remote(Enum)]
pub enum DropReason {
    Disabled,
    InvalidName,
    Unregistered,
    Retired,
    Shed,
    Oversize,
    SampledOut,
    RateLimited,
}

/// The answer for one event (`trackgate_core::Decision`): keep it with a sampling weight, or
/// drop it with a reason.
#[uniffi::remote(Enum)]
pub enum Decision {
    Keep { weight: f64 },
    Drop { reason: DropReason },
}

/// Business priority (`trackgate_core::Priority`); P0 is the most important and never shed.
#[uniffi::remote(Enum)]
pub enum Priority {
    P0,
    P1,
    P2,
    P3,
}

/// Counts per drop reason (`trackgate_core::ReasonCounts`).
#[uniffi::remote(Record)]
pub struct ReasonCounts {
    pub disabled: u64,
    pub invalid_name: u64,
    pub unregistered: u64,
    pub retired: u64,
    pub shed: u64,
    pub oversize: u64,
    pub sampled_out: u64,
    pub rate_limited: u64,
}

/// One registered event's counts in the report window (`trackgate_core::EventReport`).
#[uniffi::remote(Record)]
pub struct EventReport {
    pub name: String,
    pub priority: Option<Priority>,
    pub kept: u64,
    pub kept_bytes: u64,
    pub kept_weighted: f64,
    pub dropped: ReasonCounts,
    pub dropped_bytes: u64,
    pub shadow_dropped: ReasonCounts,
}

/// One unregistered name's counts in the report window (`trackgate_core::UnregisteredReport`).
#[uniffi::remote(Record)]
pub struct UnregisteredReport {
    pub name: String,
    pub kept: u64,
    pub dropped: u64,
    pub shadow_dropped: u64,
    pub bytes: u64,
}

/// Everything the gate decided in one window (`trackgate_core::DropReport`).
#[uniffi::remote(Record)]
pub struct DropReport {
    pub app: String,
    pub env: String,
    pub plan_version: u64,
    pub shadow: bool,
    pub window_start_unix_ms: u64,
    pub window_end_unix_ms: u64,
    pub offered: u64,
    pub kept: u64,
    pub kept_bytes: u64,
    pub dropped: ReasonCounts,
    pub dropped_bytes: u64,
    pub shadow_dropped: ReasonCounts,
    pub events: Vec<EventReport>,
    pub unregistered: Vec<UnregisteredReport>,
    pub unregistered_overflow: u64,
}

/// An event's decision and the values behind it (`trackgate_core::Explanation`), from
/// `Gate::explain`.
#[uniffi::remote(Record)]
pub struct Explanation {
    pub name: String,
    pub size_bytes: u64,
    pub decision: Decision,
    pub refused_by: Option<DropReason>,
    pub plan_version: u64,
    pub plan_enabled: bool,
    pub shadow: bool,
    pub registered: bool,
    pub name_problem: Option<String>,
    pub priority: Option<Priority>,
    pub max_bytes: Option<u32>,
    pub sample_rate_ppm: Option<u32>,
    pub sampling_salt: Option<String>,
    pub unit_value: Option<u64>,
    pub keep_from: Option<u64>,
    pub rate_limit_per_second: Option<f64>,
    pub rate_limit_burst: Option<u32>,
    pub tokens_left: Option<u32>,
}

/// What the gate runs when it has no verified plan at all
/// (`trackgate_delivery::FailPolicy`).
#[uniffi::remote(Enum)]
pub enum FailPolicy {
    KeepAll,
    KeepP0Only,
}

/// Where the active plan came from (`trackgate_delivery::PlanSource`).
#[uniffi::remote(Enum)]
pub enum PlanSource {
    Cache,
    Bundled,
    FailPolicy,
    Network,
}

/// Batch code of a kept event in [`BatchDecisions::codes`].
pub const BATCH_CODE_KEEP: u8 = 0;

/// Batch code of an event id that belongs to a plan no longer active: the event was neither
/// decided nor counted; resolve its name again (or decide it by name).
pub const BATCH_CODE_STALE: u8 = 255;

/// The decisions of one batch call, as two parallel arrays: far cheaper to move across the
/// boundary than one object per event (see `docs/performance.md`).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct BatchDecisions {
    /// One code per event, in input order: 0 = kept; 1..=8 = dropped, with the reason whose
    /// code it is (`drop_reason_from_code`); 255 = stale event id (`decide_ids` only: not
    /// decided, not counted; resolve the name again).
    pub codes: Vec<u8>,
    /// One weight per event, in input order: the sampling weight of a kept event (1.0 when not
    /// sampled); 0.0 for dropped and stale events.
    pub weights: Vec<f64>,
}

/// A report taken with `take_report`: the structured counts, the same report as the JSON
/// document a device uploads (the format `trackgate report` reads), and as a table.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct TakenReport {
    /// The counts.
    pub report: DropReport,
    /// `report` encoded as JSON, byte for byte what the core's serde types produce; upload this
    /// rather than re-encoding the record, so the backend reads one format.
    pub json: String,
    /// `report` as a table for people (logs, support screens): window and totals, one row per
    /// event, then unregistered names. Not a format: upload `json`.
    pub table: String,
}

/// What is active and how plan delivery is going.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct GateStatus {
    /// Where the active plan came from.
    pub source: PlanSource,
    /// Its version (0 for a fail-policy plan).
    pub version: u64,
    /// When it was signed, Unix seconds, if it was.
    pub issued_at_unix: Option<u64>,
    /// Seconds since it was signed, by trusted time (the later of the device clock and the
    /// newest `issued_at` of the plans this device accepted; never the server's `Date`).
    pub age_seconds: Option<u64>,
    /// When it expires, Unix seconds, if signed.
    pub expires_at_unix: Option<u64>,
    /// Whether its expiry (plus a 24 h grace) has passed; it stays active until a newer plan
    /// arrives.
    pub expired: bool,
    /// The last problem met (verification, store, network), if any since the last success.
    pub last_error: Option<String>,
    /// Last useful server answer, Unix seconds.
    pub last_success_unix: Option<u64>,
    /// Failed fetches since then.
    pub consecutive_failures: u32,
    /// When the next fetch is due, Unix seconds by the device clock (a time in the past means
    /// now).
    pub next_fetch_unix: u64,
}

/// What `apply_plan` did with an envelope. Refusals are outcomes, not errors: a refused plan
/// changes nothing (the active plan stays) and is also reported in `status().last_error`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum ApplyOutcome {
    /// The plan verified, was persisted and is now active.
    Installed {
        /// The version active before.
        previous_version: u64,
        /// The version now active.
        version: u64,
    },
    /// These exact bytes are already the accepted plan; nothing changed.
    AlreadyCurrent,
    /// Verification refused the plan; the active plan stays.
    Refused {
        /// A short stable name of the failed check: `too_large`, `malformed`, `duplicate_key`,
        /// `unknown_key`, `bad_signature`, `revoked_key`, `not_enough_signatures`,
        /// `wrong_scope`, `rollback`, `equivocation`, `expired`,
        /// `issued_in_future`, `unsupported_payload_schema`, `decode`, `trailing_bytes`,
        /// `header_mismatch`, `invalid_plan` or `uncompilable`.
        kind: String,
        /// The check's message, naming the byte offset or field.
        reason: String,
    },
    /// The plan verified but could not be written to the store (disk full, permissions), so it
    /// was not installed: the active plan is always one a restart would load.
    NotPersisted {
        /// The store's message, naming the file.
        reason: String,
    },
}

/// What a fetch call did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum FetchResult {
    /// No request was made: none is due yet (refresh interval, backoff, hourly budget) or one
    /// is already under way on another thread.
    NotDue {
        /// When the next request is due, Unix seconds by the device clock.
        next_fetch_unix: u64,
    },
    /// The server sent a newer plan; it verified and is now active.
    Installed {
        /// Its version.
        version: u64,
    },
    /// The server had nothing new (304, or the plan already active).
    Unchanged,
    /// The server sent a plan that verification refused; the active plan stays and the
    /// schedule backs off.
    Refused {
        /// Why, for logs.
        reason: String,
    },
    /// No usable answer (transport error, HTTP status, or the plan could not be persisted);
    /// the schedule backs off.
    Failed {
        /// Why, for logs.
        reason: String,
    },
}
