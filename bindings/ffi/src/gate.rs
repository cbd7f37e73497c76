//! [`Gate`]: the object apps create once and call for every event.
//!
//! It holds the live `Engine` (shared with the [`Delivery`], which swaps plans into it) and
//! the `Delivery` behind a mutex:
//! - decision calls (`decide`, `resolve`, `decide_id`, the batches) go straight to the engine:
//!   no lock, no I/O, no allocation beyond what the boundary itself moves;
//! - delivery calls (`apply_plan`, `status`, the fetch calls) lock the delivery briefly; a fetch
//!   releases the lock while the app's transport performs the request, so `status` and
//!   `apply_plan` never wait on the network, and the delivery crate's single-flight rule keeps
//!   a second fetch from starting meanwhile;
//! - `set_unit_id`, `unit_id` and `take_report` use the engine's own control lock, which
//!   decisions never touch;
//! - a lock poisoned by a panic is still used: every delivery step leaves whole state behind.
//!
//! I/O happens only in [`Gate::new`] (reading the store, and writing it when the bundled plan is
//! newer than the cache), [`Gate::apply_plan`] and the fetch calls (writing it), and through the
//! app's [`HttpTransport`].

use std::io;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use trackgate_core::{Decision, EngineError, EngineOptions, EventId};
use trackgate_delivery::envelope::DEFAULT_MAX_ENVELOPE_BYTES;
use trackgate_delivery::{
    Delivery, DeliveryConfig, DirectoryStorage, FailPolicy, KeyError, Keyring, Schedule, SplitMix64, StartError,
    Storage, Store, VerifyPolicy,
};

use crate::error::{strict_start, GateError};
use crate::logger::{DeliveryLogger, Events};
use crate::packed::{self, PackedBatchDecisions};
use crate::transport::{HttpTransport, TransportAdapter};
use crate::types::{
    ApplyOutcome, BatchDecisions, FetchResult, GateStatus, TakenReport, BATCH_CODE_KEEP, BATCH_CODE_STALE,
};

/// A trusted publisher public key (Ed25519), in either of the delivery crate's formats.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum TrustedKey {
    /// 64 hexadecimal digits: the content of the `public.hex` file `trackgate keygen` writes
    /// (surrounding whitespace is ignored; `public.key` holds the same digits after a header line).
    Hex {
        /// The key as hex text.
        text: String,
    },
    /// The 32 raw bytes of the key.
    Raw {
        /// The key bytes.
        bytes: Vec<u8>,
    },
}

/// A trusted key with its role (e.g. `business`, `technical`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RoleKey {
    /// The public key.
    pub key: TrustedKey,
    /// Its role: 1 to 32 of `a-z 0-9 _ - .`. A key has one role.
    pub role: String,
}

/// How many distinct keys of a role must sign every plan.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RoleThreshold {
    /// The role.
    pub role: String,
    /// At least 1.
    pub count: u32,
}

/// Reviews as signatures: the keys with their roles, how many of each role must sign a plan,
/// and the revoked keys (whose signatures never count). See `docs/config-delivery.md`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SignaturePolicy {
    /// The trusted keys and their roles.
    pub keys: Vec<RoleKey>,
    /// Required roles; empty means any one key of `keys` suffices.
    pub thresholds: Vec<RoleThreshold>,
    /// Revoked keys: key ids (16 hex digits, as `trackgate keygen` prints them) or public keys
    /// (64 hex digits).
    #[uniffi(default = [])]
    pub revoked: Vec<String>,
}

/// How to build a `Gate`.
#[derive(Clone, uniffi::Record)]
pub struct GateOptions {
    /// The application this device runs; plans signed for another app are refused.
    pub app: String,
    /// The environment this device runs (`prod`, `staging`, ...).
    pub env: String,
    /// Publisher keys whose signatures are accepted, any one sufficing (several during a key
    /// rotation; at least one). Empty when `signature_policy` is given.
    pub trusted_keys: Vec<TrustedKey>,
    /// A directory private to the app where the verified plan and the delivery state are kept
    /// (created if missing). If it cannot be used, the gate still starts (bundled plan or fail
    /// policy), reports the problem in `status().last_error`, and cannot install new plans.
    pub store_directory: String,
    /// What to run when no verified plan is available.
    pub fail_policy: FailPolicy,
    /// The signed plan envelope shipped inside the app, used at first start and whenever it is
    /// newer than the cached plan.
    #[uniffi(default = None)]
    pub bundled_plan: Option<Vec<u8>>,
    /// The sampling unit (install id or user id), 1 to 4096 bytes. `None` generates a random
    /// install id: read it with `unit_id()` and persist it, so the device stays in or out of
    /// each sample across launches.
    #[uniffi(default = None)]
    pub unit_id: Option<String>,
    /// The URL plans are fetched from, usually `{base}/v1/plans/{app}/{env}`. Required with a
    /// transport.
    #[uniffi(default = None)]
    pub plan_url: Option<String>,
    /// The app's HTTP client for plan fetches. Without one, plans arrive only through
    /// `apply_plan`.
    #[uniffi(default = None)]
    pub transport: Option<Arc<dyn HttpTransport>>,
    /// Keys with roles and per-role thresholds (and revoked keys), instead of `trusted_keys`:
    /// a plan is accepted only when enough distinct keys of every required role signed it.
    #[uniffi(default = None)]
    pub signature_policy: Option<SignaturePolicy>,
    /// The app's public rollout salt, by convention `"{app}/{env}"` (1 to 256 bytes; the same
    /// for every install and every release). With it, each plan request carries the device's
    /// rollout bucket, derived here from the unit id and the salt (never the id itself), so
    /// `trackgate serve` can offer a staged release to its share of devices
    /// (`docs/governance.md`, "Schedule and staged rollout"). Without it the device is outside
    /// every partial stage and gets a release once it reaches 100 %.
    #[uniffi(default = None)]
    pub rollout_salt: Option<String>,
    /// The shortest gap between plan requests `refresh_now` may make, 1 to 3600 seconds
    /// (default 60). Keep the default in apps: it protects the plan server from a refresh
    /// button or a loop; development tools and demos shorten it.
    #[uniffi(default = None)]
    pub refresh_now_min_gap_seconds: Option<u32>,
    /// Strict start, for development and tests: creating the gate fails with
    /// `BundledPlanRefused` (naming the check: bad magic, unknown key, wrong scope, ...) when
    /// the bundled plan is refused, and with `StoreProblem` when the store cannot be used or
    /// its cached plan no longer verifies. Off (the default, for production): the gate always
    /// starts, on the cached plan, the bundled one or the fail policy, and the problem is in
    /// `status().last_error` and the logger's `Started` event.
    #[uniffi(default = false)]
    pub strict: bool,
    /// The app's log sink for delivery events (started, fetched, installed, refused and why,
    /// failed, backoff), called on the thread of the gate call, with no gate lock held.
    #[uniffi(default = None)]
    pub logger: Option<Arc<dyn DeliveryLogger>>,
}

/// The range `refresh_now_min_gap_seconds` accepts.
const REFRESH_NOW_MIN_GAP_RANGE: std::ops::RangeInclusive<u32> = 1..=3600;

/// Longest rollout salt accepted, in bytes.
const MAX_ROLLOUT_SALT_BYTES: usize = 256;

/// The gate: decides which analytics events may leave the device, and keeps its plan up to
/// date. Create one per app and environment, and share it between threads.
#[derive(uniffi::Object)]
pub struct Gate {
    engine: Arc<trackgate_core::Engine>,
    delivery: Mutex<Delivery>,
    transport: Option<Arc<dyn HttpTransport>>,
    logger: Option<Arc<dyn DeliveryLogger>>,
    /// This gate's token for the scalar fast path, registered on first request.
    scalar_token: OnceLock<Option<u64>>,
}

impl Drop for Gate {
    fn drop(&mut self) {
        if let Some(Some(token)) = self.scalar_token.get() {
            crate::scalar::unregister(*token);
        }
    }
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Gate").field("engine", &self.engine).finish_non_exhaustive()
    }
}

/// A store directory that could not be opened: every read and write fails with the reason, so
/// the delivery crate reports it like any other store fault instead of the gate not starting.
struct UnavailableStorage {
    reason: String,
}

impl Storage for UnavailableStorage {
    fn read(&self, _name: &str, _limit: usize) -> io::Result<Option<Vec<u8>>> {
        Err(io::Error::other(self.reason.clone()))
    }

    fn write_atomic(&self, _name: &str, _bytes: &[u8]) -> io::Result<()> {
        Err(io::Error::other(self.reason.clone()))
    }
}

fn invalid(field: String, error: impl std::fmt::Display) -> GateError {
    GateError::InvalidOptions { field, problem: error.to_string() }
}

/// The keyring of `trusted_keys` (any one key) or of `signature_policy` (roles and
/// thresholds); the delivery crate holds every rule, this only names the option at fault.
fn keyring(keys: &[TrustedKey], policy: Option<&SignaturePolicy>) -> Result<Keyring, GateError> {
    let mut keyring = Keyring::new();
    let bytes = |key: &TrustedKey| match key {
        TrustedKey::Hex { text } => trackgate_delivery::envelope::from_hex(text).ok_or(KeyError::NotHex),
        TrustedKey::Raw { bytes } => Ok(bytes.clone()),
    };
    for (index, key) in keys.iter().enumerate() {
        bytes(key)
            .and_then(|bytes| keyring.add(&bytes))
            .map_err(|error| invalid(format!("trusted_keys[{index}]"), error))?;
    }
    if let Some(policy) = policy {
        if !keys.is_empty() {
            return Err(invalid(
                "trusted_keys".into(),
                "must be empty when signature_policy is given (list the keys there, with their roles)",
            ));
        }
        for (index, entry) in policy.keys.iter().enumerate() {
            bytes(&entry.key)
                .and_then(|bytes| keyring.add_with_role(&bytes, &entry.role))
                .map_err(|error| invalid(format!("signature_policy.keys[{index}]"), error))?;
        }
        for (index, revoked) in policy.revoked.iter().enumerate() {
            keyring
                .revoke_hex(revoked)
                .map_err(|error| invalid(format!("signature_policy.revoked[{index}]"), error))?;
        }
        for (index, threshold) in policy.thresholds.iter().enumerate() {
            keyring
                .require(&threshold.role, threshold.count)
                .map_err(|error| invalid(format!("signature_policy.thresholds[{index}]"), error))?;
        }
        keyring.check().map_err(|error| invalid("signature_policy".into(), error))?;
    }
    if keyring.is_empty() {
        return Err(match policy {
            Some(_) => invalid("signature_policy.keys".into(), "no unrevoked key, so no plan could ever be verified"),
            None => invalid("trusted_keys".into(), "no key given, so no plan could ever be verified"),
        });
    }
    Ok(keyring)
}

fn open_store(directory: &str) -> Store {
    let storage: Box<dyn Storage> = match DirectoryStorage::open(directory) {
        Ok(storage) => Box::new(storage),
        Err(error) => Box::new(UnavailableStorage { reason: format!("store directory {directory:?}: {error}") }),
    };
    Store::new(storage, DEFAULT_MAX_ENVELOPE_BYTES)
}

/// The batch code of one decision, and its weight.
#[inline]
fn batch_entry(decision: Decision) -> (u8, f64) {
    match decision {
        Decision::Keep { weight } => (BATCH_CODE_KEEP, weight),
        Decision::Drop { reason } => (reason.code(), 0.0),
    }
}

/// What a packed name that is not UTF-8 is decided as: a name no plan can hold, so the decision
/// is the one any invalid name gets (`Disabled` under a kill switch, else `InvalidName`).
pub(crate) const NOT_UTF8_NAME: &str = "\u{FFFD}";

fn check_lengths(call: &'static str, what: &str, inputs: usize, sizes: usize) -> Result<(), GateError> {
    if inputs == sizes {
        return Ok(());
    }
    Err(GateError::InvalidArgument {
        call,
        problem: format!("{inputs} {what} but {sizes} sizes; pass one size per event"),
    })
}

impl Gate {
    /// The live engine (decisions, `explain`).
    pub(crate) fn engine(&self) -> &trackgate_core::Engine {
        &self.engine
    }

    fn delivery(&self) -> MutexGuard<'_, Delivery> {
        self.delivery.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn transport(&self, call: &'static str) -> Result<&Arc<dyn HttpTransport>, GateError> {
        self.transport.as_ref().ok_or(GateError::NoTransport { call })
    }
}

#[uniffi::export]
impl Gate {
    /// Starts the gate without touching the network: the verified cached plan, else the bundled
    /// plan (if it verifies), else the fail policy. Problems with the cache or the bundled plan
    /// do not fail this call; they show in `status().last_error` (and the logger's `Started`
    /// event). Fails for unusable options, and with `strict` also for a refused bundled plan
    /// (`BundledPlanRefused`) or store problem (`StoreProblem`).
    #[uniffi::constructor]
    pub fn new(options: GateOptions) -> Result<Gate, GateError> {
        let keyring = keyring(&options.trusted_keys, options.signature_policy.as_ref())?;
        if options.transport.is_some() && options.plan_url.is_none() {
            return Err(GateError::InvalidOptions {
                field: "plan_url".into(),
                problem: "required when a transport is given".into(),
            });
        }
        if let Some(salt) = &options.rollout_salt {
            if salt.is_empty() || salt.len() > MAX_ROLLOUT_SALT_BYTES {
                return Err(GateError::InvalidOptions {
                    field: "rollout_salt".into(),
                    problem: format!("{} bytes; a rollout salt has 1 to {MAX_ROLLOUT_SALT_BYTES}", salt.len()),
                });
            }
        }
        let default_schedule = Schedule::new(options.plan_url.unwrap_or_default());
        let refresh_now_min_gap_seconds = match options.refresh_now_min_gap_seconds {
            None => default_schedule.refresh_now_min_gap_seconds,
            Some(gap) if REFRESH_NOW_MIN_GAP_RANGE.contains(&gap) => u64::from(gap),
            Some(gap) => {
                return Err(GateError::InvalidOptions {
                    field: "refresh_now_min_gap_seconds".into(),
                    problem: format!(
                        "{gap} s; the gap is {} to {} seconds",
                        REFRESH_NOW_MIN_GAP_RANGE.start(),
                        REFRESH_NOW_MIN_GAP_RANGE.end()
                    ),
                })
            }
        };
        let config = DeliveryConfig {
            app: options.app,
            env: options.env,
            keyring,
            verify: VerifyPolicy::default(),
            fail_policy: options.fail_policy,
            schedule: Schedule { rollout_salt: options.rollout_salt, refresh_now_min_gap_seconds, ..default_schedule },
        };
        let engine_options = EngineOptions { unit_id: options.unit_id, ..EngineOptions::default() };
        let bundled = options.bundled_plan.as_deref();
        let delivery = Delivery::start(
            config,
            open_store(&options.store_directory),
            bundled,
            engine_options,
            Box::new(SplitMix64::from_entropy()),
        )
        .map_err(|error| match error {
            StartError::Engine(EngineError::InvalidUnitId(_)) => {
                GateError::InvalidOptions { field: "unit_id".into(), problem: error.to_string() }
            }
            StartError::InvalidScope(problem) => GateError::InvalidOptions { field: "app/env".into(), problem },
        })?;
        if options.strict {
            if let Some(problem) = delivery.status().last_error {
                return Err(strict_start(&problem, bundled));
            }
        }
        let mut events = Events::new(&options.logger);
        events.started(&delivery);
        events.emit();
        Ok(Gate {
            engine: Arc::clone(delivery.engine()),
            delivery: Mutex::new(delivery),
            transport: options.transport,
            logger: options.logger,
            scalar_token: OnceLock::new(),
        })
    }

    /// Decides one event by name; `size_bytes` is its encoded payload size (counted up to
    /// 4 GiB). Never fails: an invalid or unregistered name is a decision too (and counted in
    /// the report).
    pub fn decide(&self, name: String, size_bytes: u64) -> Decision {
        self.engine.decide(&name, size_bytes)
    }

    /// The id of a registered event in the active plan, for the faster `decide_id`. Ids go
    /// stale when a new plan is installed; resolve again then.
    pub fn resolve(&self, name: String) -> Result<u64, GateError> {
        match self.engine.resolve(&name) {
            Ok(id) => Ok(id.to_raw()),
            Err(error) => Err(GateError::from_resolve(&name, error)),
        }
    }

    /// Decides one event by id (from `resolve`). Fails only with `StaleEventId` when the id
    /// belongs to a plan no longer active; nothing is counted then.
    pub fn decide_id(&self, id: u64, size_bytes: u64) -> Result<Decision, GateError> {
        self.engine.decide_id(EventId::from_raw(id), size_bytes).map_err(|_| GateError::StaleEventId { id })
    }

    /// This gate's token for the scalar C functions (`trackgate_decide_id_scalar`,
    /// `trackgate_decide_name_scalar`, `trackgate_resolve_scalar`), which bindings with slow
    /// generated calls (Kotlin over JNA) use for `decide_id`, `decide` and `resolve`.
    /// The same token on every call; `None` when 64 gates already hold one. Closing the gate
    /// retires the token.
    pub fn scalar_token(&self) -> Option<u64> {
        *self.scalar_token.get_or_init(|| crate::scalar::register(&self.engine))
    }

    /// Decides many events by name in one call; `sizes[i]` is the size of `names[i]`. Every
    /// event is decided and counted as by `decide`.
    pub fn decide_batch(&self, names: Vec<String>, sizes: Vec<u64>) -> Result<BatchDecisions, GateError> {
        check_lengths("decide_batch", "names", names.len(), sizes.len())?;
        let mut decider = self.engine.decider();
        let (codes, weights) =
            names.iter().zip(&sizes).map(|(name, &size_bytes)| batch_entry(decider.decide(name, size_bytes))).unzip();
        Ok(BatchDecisions { codes, weights })
    }

    /// Decides many events by id in one call; `sizes[i]` is the size of `ids[i]`. A stale id
    /// gets code 255 and is not counted; the other events are decided as by `decide_id`.
    pub fn decide_ids(&self, ids: Vec<u64>, sizes: Vec<u64>) -> Result<BatchDecisions, GateError> {
        check_lengths("decide_ids", "ids", ids.len(), sizes.len())?;
        let mut decider = self.engine.decider();
        let (codes, weights) = ids
            .iter()
            .zip(&sizes)
            .map(|(&id, &size_bytes)| match decider.decide_id(EventId::from_raw(id), size_bytes) {
                Ok(decision) => batch_entry(decision),
                Err(_) => (BATCH_CODE_STALE, 0.0),
            })
            .unzip();
        Ok(BatchDecisions { codes, weights })
    }

    /// Decides many events by name, passed as byte arrays: `names_utf8` the names' UTF-8
    /// bytes concatenated, `name_lengths_le` each name's length in bytes as a little-endian
    /// `u32`, `sizes_le` each size as a little-endian `u64`. Same decisions and counts as
    /// `decide_batch`, without per-element marshalling: meant for Python, where it is about 20
    /// times cheaper per event (Kotlin and Swift marshal lists quickly: use `decide_batch`).
    /// A name whose bytes are not UTF-8 is decided as an invalid name, as no valid name has such
    /// bytes. A malformed batch is an `InvalidArgument` error and decides nothing.
    pub fn decide_batch_packed(
        &self,
        names_utf8: Vec<u8>,
        name_lengths_le: Vec<u8>,
        sizes_le: Vec<u8>,
    ) -> Result<PackedBatchDecisions, GateError> {
        let events = packed::named_events("decide_batch_packed", &names_utf8, &name_lengths_le, &sizes_le)?;
        let mut decider = self.engine.decider();
        let mut decisions = PackedBatchDecisions::with_capacity(events.len());
        for (name, size_bytes) in events {
            let name = name.unwrap_or(NOT_UTF8_NAME);
            decisions.push(batch_entry(decider.decide(name, size_bytes)));
        }
        Ok(decisions)
    }

    /// Decides many events by id, passed as byte arrays: `ids_le` and `sizes_le` hold one
    /// little-endian `u64` per event. Same decisions, stale codes and counts as `decide_ids`,
    /// without per-element marshalling (see `decide_batch_packed`).
    pub fn decide_ids_packed(&self, ids_le: Vec<u8>, sizes_le: Vec<u8>) -> Result<PackedBatchDecisions, GateError> {
        const CALL: &str = "decide_ids_packed";
        let ids = packed::words(CALL, "ids_le", &ids_le)?;
        let sizes = packed::words(CALL, "sizes_le", &sizes_le)?;
        check_lengths(CALL, "ids", ids_le.len() / 8, sizes_le.len() / 8)?;
        let mut decider = self.engine.decider();
        let mut decisions = PackedBatchDecisions::with_capacity(ids_le.len() / 8);
        for (id, size_bytes) in ids.zip(sizes) {
            decisions.push(match decider.decide_id(EventId::from_raw(id), size_bytes) {
                Ok(decision) => batch_entry(decision),
                Err(_) => (BATCH_CODE_STALE, 0.0),
            });
        }
        Ok(decisions)
    }

    /// Changes the sampling unit (for example when a user logs in); later decisions use it.
    pub fn set_unit_id(&self, unit_id: String) -> Result<(), GateError> {
        self.engine.set_unit_id(&unit_id).map_err(|error| GateError::from_unit_id("set_unit_id", error))
    }

    /// The sampling unit in use; persist it if the gate generated it.
    pub fn unit_id(&self) -> String {
        self.engine.unit_id()
    }

    /// Reads and resets the counts since the last report: every decision appears in exactly one
    /// report. Upload `json`; `table` is for people.
    pub fn take_report(&self) -> TakenReport {
        let report = self.engine.take_report();
        // Plain structs of strings, integers and floats (non-finite ones become `null`) cannot
        // fail to encode.
        let json = serde_json::to_string(&report).unwrap_or_default();
        let table = report.to_string();
        TakenReport { report, json, table }
    }

    /// What is active and how plan delivery is going.
    pub fn status(&self) -> GateStatus {
        self.delivery().status().into()
    }

    /// Verifies a signed plan envelope received by any channel, persists it and makes it
    /// active, atomically for deciding threads. A refused plan changes nothing.
    pub fn apply_plan(&self, envelope: Vec<u8>) -> ApplyOutcome {
        let mut events = Events::new(&self.logger);
        let offered = self.delivery().offer(&envelope);
        events.offered(&offered);
        events.emit();
        offered.into()
    }

    /// Performs a fetch through the transport if one is due, on the calling thread (it blocks
    /// for the transport's duration: call it off the main thread). Call it periodically, for
    /// example when `status().next_fetch_unix` has passed.
    pub fn fetch_if_due(&self) -> Result<FetchResult, GateError> {
        let transport = self.transport("fetch_if_due")?;
        let request = {
            let mut delivery = self.delivery();
            match delivery.poll_fetch() {
                Some(request) => request,
                None => return Ok(FetchResult::NotDue { next_fetch_unix: delivery.next_fetch_at() }),
            }
        };
        // No lock held here: the network may take as long as the transport's timeouts.
        let result = trackgate_delivery::Transport::get(&TransportAdapter(transport), &request);
        let mut events = Events::new(&self.logger);
        events.response(&request.url, &result);
        let outcome = {
            let mut delivery = self.delivery();
            let previous_version = self.engine.plan_version();
            let outcome = delivery.complete_fetch(result);
            events.fetched(&outcome, previous_version, &delivery);
            outcome
        };
        events.emit();
        Ok(outcome.into())
    }

    /// Asks for a fetch now (allowed at least a minute after the previous request, never during
    /// a backoff) and performs it if allowed, as `fetch_if_due`.
    pub fn refresh_now(&self) -> Result<FetchResult, GateError> {
        self.transport("refresh_now")?;
        self.delivery().refresh_now();
        self.fetch_if_due()
    }

    /// The app came to the foreground: fetches if the previous request is at least 15 minutes
    /// old (never during a backoff), as `fetch_if_due`.
    pub fn on_foreground(&self) -> Result<FetchResult, GateError> {
        self.transport("on_foreground")?;
        self.delivery().on_foreground();
        self.fetch_if_due()
    }
}
