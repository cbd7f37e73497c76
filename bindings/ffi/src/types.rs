//! The plain data crossing the boundary: decisions, reports, status and outcomes.
//!
//! Types that the core and delivery crates already define with the right shape are exported as
//! they are (`#[uniffi::remote]`: the definition below must match the original field for field,
//! which the compiler checks), so there is no second copy to keep in step and no conversion on
//! the decision path. Types whose shape is specific to the boundary (status with a clearer name,
//! batch results, outcomes) are defined here; their conversions from the Rust types, including
//! every delivery error, are in `error.rs`, the one mapping to what foreign code sees.
//!
//! Pure data: no I/O, no locks; conversions allocate only the strings and vectors they carry.

use trackgate_core::{Decision, DropReason, DropReport, EventReport, Priority, ReasonCounts, UnregisteredReport};
use trackgate_delivery::{FailPolicy, PlanSource};

/// Why an event was dropped. Rules are evaluated in the order of the variants; the first that
/// refuses an event names it.
#[uniffi::remote(Enum)]
pub enum DropReason {
    /// The plan's kill switch is on (`enabled: false`).
    Disabled,
    /// The name breaks the naming rules (1 to 128 bytes of ASCII letters, digits, `_ . - :`).
    InvalidName,
    /// The name is valid but not in the plan, and the plan drops unregistered events.
    Unregistered,
    /// The event is retired.
    Retired,
    /// The event's priority is below the plan's `shed_below`.
    Shed,
    /// The event is larger than its `max_bytes`.
    Oversize,
    /// This unit (install or user) is not in the event's sample.
    SampledOut,
    /// The event's per-device token bucket is empty.
    RateLimited,
}

/// The answer for one event.
#[uniffi::remote(Enum)]
pub enum Decision {
    /// Send it. `weight` is the inverse of its sampling probability (1.0 when not sampled), so
    /// the sum of the weights of kept events estimates the true count.
    Keep {
        /// Inverse inclusion probability.
        weight: f64,
    },
    /// Do not send it.
    Drop {
        /// The first rule that refused it.
        reason: DropReason,
    },
}

/// Business priority; P0 is the most important and is never shed.
#[uniffi::remote(Enum)]
pub enum Priority {
    /// Critical (revenue, legal, safety): never shed.
    P0,
    /// Important.
    P1,
    /// Normal.
    P2,
    /// Low value: shed first.
    P3,
}

/// Counts per drop reason.
#[uniffi::remote(Record)]
pub struct ReasonCounts {
    /// Kill switch on.
    pub disabled: u64,
    /// Name broke the naming rules.
    pub invalid_name: u64,
    /// Not in the plan.
    pub unregistered: u64,
    /// Retired event.
    pub retired: u64,
    /// Priority shed.
    pub shed: u64,
    /// Over its size cap.
    pub oversize: u64,
    /// Not in the sample.
    pub sampled_out: u64,
    /// Token bucket empty.
    pub rate_limited: u64,
}

/// One registered event's counts in the report window.
#[uniffi::remote(Record)]
pub struct EventReport {
    /// Event name.
    pub name: String,
    /// Priority in the newest plan that counted it.
    pub priority: Option<Priority>,
    /// Occurrences sent.
    pub kept: u64,
    /// Bytes sent.
    pub kept_bytes: u64,
    /// Sum of the sampling weights of the occurrences sent: the estimate of how many reached
    /// the sampler.
    pub kept_weighted: f64,
    /// Occurrences dropped, by reason.
    pub dropped: ReasonCounts,
    /// Bytes dropped.
    pub dropped_bytes: u64,
    /// Occurrences a shadow plan kept but would have dropped, by reason.
    pub shadow_dropped: ReasonCounts,
}

/// One unregistered name's counts in the report window.
#[uniffi::remote(Record)]
pub struct UnregisteredReport {
    /// The name as the app sent it.
    pub name: String,
    /// Occurrences kept (plans with `unregistered: keep`).
    pub kept: u64,
    /// Occurrences dropped.
    pub dropped: u64,
    /// Occurrences a shadow plan kept but would have dropped.
    pub shadow_dropped: u64,
    /// Bytes of all occurrences.
    pub bytes: u64,
}

/// Everything the gate decided in one window. `offered = kept + dropped` summed over reasons.
#[uniffi::remote(Record)]
pub struct DropReport {
    /// App of the active plan.
    pub app: String,
    /// Environment of the active plan.
    pub env: String,
    /// Version of the plan active when the report was taken.
    pub plan_version: u64,
    /// Whether that plan is a shadow plan.
    pub shadow: bool,
    /// Window start, Unix milliseconds.
    pub window_start_unix_ms: u64,
    /// Window end, Unix milliseconds.
    pub window_end_unix_ms: u64,
    /// Events offered to the gate.
    pub offered: u64,
    /// Events kept.
    pub kept: u64,
    /// Bytes kept.
    pub kept_bytes: u64,
    /// Events dropped, by reason.
    pub dropped: ReasonCounts,
    /// Bytes dropped (the saving).
    pub dropped_bytes: u64,
    /// Events shadow plans kept but would have dropped, by reason.
    pub shadow_dropped: ReasonCounts,
    /// Per registered event, only those with activity, by name.
    pub events: Vec<EventReport>,
    /// Per unregistered name (the first ones of the window), by name.
    pub unregistered: Vec<UnregisteredReport>,
    /// Occurrences of unregistered names beyond the table's capacity.
    pub unregistered_overflow: u64,
}

/// What the gate runs when it has no verified plan at all (first start without a bundled plan,
/// or cache and bundled plan both unusable).
#[uniffi::remote(Enum)]
pub enum FailPolicy {
    /// An empty plan with `unregistered: keep`: every event leaves, nothing is governed.
    KeepAll,
    /// Only the P0 events named by the bundled plan's payload (even if its signature or scope
    /// is refused, since it ships inside the app binary); with no readable bundled plan, every
    /// event is dropped.
    KeepP0Only,
}

/// Where the active plan came from.
#[uniffi::remote(Enum)]
pub enum PlanSource {
    /// The verified on-device cache.
    Cache,
    /// The plan shipped inside the app.
    Bundled,
    /// The app's fail policy.
    FailPolicy,
    /// Downloaded (or applied with `apply_plan`) and verified in this run.
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

/// A report taken with `take_report`: the structured counts, and the same report as the JSON
/// document a device uploads (the format `trackgate report` reads).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct TakenReport {
    /// The counts.
    pub report: DropReport,
    /// `report` encoded as JSON, byte for byte what the core's serde types produce; upload this
    /// rather than re-encoding the record, so the backend reads one format.
    pub json: String,
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
        /// A short stable name of the failed check: `too_large`, `malformed`, `unknown_key`,
        /// `bad_signature`, `wrong_scope`, `rollback`, `equivocation`, `expired`,
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
