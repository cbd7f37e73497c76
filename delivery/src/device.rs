//! The device side as one object: startup order, plan offers, fetch driving and status.
//!
//! [`Delivery::start`] never waits on the network and never fails because of bad input: it
//! activates the verified cache, then the app-bundled plan if newer, then the app's
//! [`FailPolicy`]. Every later plan goes through [`crate::verify_envelope`], is persisted, and
//! only then swapped into the live [`Engine`]; a refused plan never replaces the active one.
//!
//! Time: expiry is judged by *trusted time*, the later of the device clock and the signed time
//! floor ([`DeliveryState::signed_time_floor_unix`], raised only by the `issued_at` of plans
//! this device accepted). Nothing unsigned moves it: a response's `Date` is used only to
//! re-judge a plan from that same response that was refused as issued too far ahead, which can
//! turn that refusal into an acceptance and never causes one (`docs/config-delivery.md`,
//! "Trusted time").
//!
//! Threading: the [`Engine`] is shared (`Arc`) with the threads that decide events; the
//! `Delivery` itself is driven from one thread at a time (`&mut self`; wrap it in a `Mutex` to
//! share). I/O: only through the injected [`Storage`](crate::Storage) and
//! [`Transport`](crate::Transport); time only through the injected `Clock`.

use std::collections::BTreeMap;
use std::sync::Arc;

use trackgate_core::plan::{Defaults, UnregisteredPolicy, PLAN_SCHEMA_VERSION};
use trackgate_core::{Clock, CompiledPlan, Engine, EngineError, EngineOptions, Plan, Priority};

use crate::envelope::parse_envelope;
use crate::fetcher::{FetchError, Fetcher, Reply, Schedule};
use crate::keyring::Keyring;
use crate::random::RandomSource;
use crate::store::{DeliveryState, Store, StoreError};
use crate::transport::{HttpRequest, HttpResponse, Transport, TransportError};
use crate::verify::{
    decode_plan, verify_envelope, Floor, Verified, VerifiedPlan, VerifyContext, VerifyError, VerifyPolicy,
};

/// What the app runs when it has no verified plan at all (first start without a bundled plan,
/// or cache and bundled plan both unusable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailPolicy {
    /// An empty plan with `unregistered: keep`: every event leaves, nothing is governed.
    KeepAll,
    /// Only the P0 events named by the bundled plan's payload (even if its signature or scope
    /// is refused, since it ships inside the app binary); with no readable bundled plan, every
    /// event is dropped.
    KeepP0Only,
}

/// Where the active plan came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanSource {
    /// The verified on-device cache.
    Cache,
    /// The plan shipped inside the app.
    Bundled,
    /// The app's [`FailPolicy`].
    FailPolicy,
    /// Downloaded, or offered by the app (`Delivery::offer`, the bindings' `apply_plan`), and
    /// verified in this run.
    Network,
}

/// How a [`Delivery`] is set up.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// The application this device runs.
    pub app: String,
    /// The environment this device runs.
    pub env: String,
    /// Trusted publisher keys.
    pub keyring: Keyring,
    /// Verification limits.
    pub verify: VerifyPolicy,
    /// What to run without a plan.
    pub fail_policy: FailPolicy,
    /// The fetch schedule (URL and timings).
    pub schedule: Schedule,
}

/// A snapshot of what is active and how delivery is going.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// Where the active plan came from.
    pub source: PlanSource,
    /// Its version (0 for a fail-policy plan).
    pub version: u64,
    /// When it was signed, if it was.
    pub issued_at: Option<u64>,
    /// Seconds since it was signed, by trusted time (device clock and signed time floor).
    pub age_seconds: Option<u64>,
    /// When it expires, if signed.
    pub expires_at: Option<u64>,
    /// Whether its expiry (plus grace) has passed; it stays active until a newer plan arrives.
    pub expired: bool,
    /// The last problem met (verification, store, network), if any since the last success;
    /// at startup, every problem met on the way ([`DeliveryError::Several`] when more than one).
    /// Shared, so taking a status copies no error (the mobile library never clones one).
    pub last_error: Option<Arc<DeliveryError>>,
    /// Last useful server answer.
    pub last_success_unix: Option<u64>,
    /// Failures since then.
    pub consecutive_failures: u32,
    /// When the next request is due.
    pub next_fetch_unix: u64,
}

/// A problem plan delivery met: a refused plan, a store fault, a fetch without a usable answer.
/// Kept typed through the delivery crate (in [`Status::last_error`] and
/// [`FetchOutcome::Failed`]); its `Display` text is what logs, the CLI and the bindings show,
/// turned into a string once at each boundary.
///
/// Not `Clone`: an error that is both kept in [`Status::last_error`] and returned to the caller
/// is shared through an `Arc` (the refusal's [`VerifyError`], the unpersisted plan's
/// [`StoreError`], or the whole error), so the mobile library holds no code to copy one.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// Verification refused a plan offered or fetched in this run; the active plan stays.
    /// Shared with the [`OfferError::Refused`] or [`FetchOutcome::Refused`] returned.
    #[error(transparent)]
    Refused(Arc<VerifyError>),
    /// Verification refused the app-bundled plan at startup.
    #[error("bundled plan refused: {0}")]
    BundledRefused(VerifyError),
    /// A plan verified but could not be persisted, so it was not installed. Shared with the
    /// [`OfferError::NotPersisted`] returned.
    #[error("verified plan not installed: {0}")]
    NotPersisted(Arc<StoreError>),
    /// Reading or writing the store failed (the cache, the state, or a cached plan that no
    /// longer verifies).
    #[error(transparent)]
    Store(StoreError),
    /// A fetch got no usable answer (transport error or HTTP status).
    #[error(transparent)]
    Fetch(FetchError),
    /// Several problems met at startup, in the order met; shown joined by `; `.
    #[error("{}", Joined(.0))]
    Several(Vec<DeliveryError>),
}

/// Errors shown joined by `; `, written straight into the formatter.
struct Joined<'a>(&'a [DeliveryError]);

impl std::fmt::Display for Joined<'_> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (index, error) in self.0.iter().enumerate() {
            if index > 0 {
                formatter.write_str("; ")?;
            }
            std::fmt::Display::fmt(error, formatter)?;
        }
        Ok(())
    }
}

impl From<OfferError> for DeliveryError {
    fn from(error: OfferError) -> DeliveryError {
        match error {
            OfferError::Refused(error) => DeliveryError::Refused(error),
            OfferError::NotPersisted(error) => DeliveryError::NotPersisted(error),
        }
    }
}

/// Why an offered plan was not installed. The error is also in [`Status::last_error`], shared
/// with it (hence the `Arc`s).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum OfferError {
    /// Verification refused it.
    #[error(transparent)]
    Refused(Arc<VerifyError>),
    /// It was valid but could not be persisted; it is not installed, so the active plan is
    /// always one a restart would load.
    #[error("verified plan not installed: {0}")]
    NotPersisted(Arc<StoreError>),
}

/// A plan offer that succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offered {
    /// The plan is now active.
    Installed {
        /// Previously active version.
        previous_version: u64,
        /// New version.
        version: u64,
    },
    /// The same bytes are already accepted.
    AlreadyCurrent,
}

/// What one fetch did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchOutcome {
    /// A new plan is active.
    Installed {
        /// Its version.
        version: u64,
    },
    /// The server had nothing new (304, or the same bytes).
    Unchanged,
    /// The server sent a plan that verification refused; the active plan stays. The
    /// schedule backed off. The same error as in [`Status::last_error`].
    Refused(Arc<VerifyError>),
    /// No usable answer ([`DeliveryError::Fetch`]: transport, HTTP status; or
    /// [`DeliveryError::NotPersisted`]: the plan could not be persisted). The schedule backed
    /// off. The same error as in [`Status::last_error`].
    Failed(Arc<DeliveryError>),
}

struct ActivePlan {
    source: PlanSource,
    version: u64,
    issued_at: Option<u64>,
    expires_at: Option<u64>,
}

/// Why [`Delivery::start`] could not build an engine.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The engine options were refused.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The configured app or env is not a valid plan identifier, so no plan could ever match.
    #[error("configured scope is invalid: {0}")]
    InvalidScope(String),
}

/// Signed plan delivery for one app and environment on one device.
pub struct Delivery {
    config: DeliveryConfig,
    store: Store,
    clock: Arc<dyn Clock>,
    engine: Arc<Engine>,
    state: DeliveryState,
    active: ActivePlan,
    last_error: Option<Arc<DeliveryError>>,
    fetcher: Fetcher,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Delivery").field("status", &self.status()).finish_non_exhaustive()
    }
}

impl Delivery {
    /// Starts delivery without touching the network: cache, then `bundled` if newer, then the
    /// fail policy. Problems met on the way are kept in [`Status::last_error`].
    pub fn start(
        config: DeliveryConfig,
        store: Store,
        bundled: Option<&[u8]>,
        engine_options: EngineOptions,
        random: Box<dyn RandomSource>,
    ) -> Result<Delivery, StartError> {
        let fail_plan = fail_policy_plan(&config, bundled);
        let fail_compiled =
            CompiledPlan::compile(&fail_plan).map_err(|error| StartError::InvalidScope(error.to_string()))?;
        let clock = Arc::clone(&engine_options.clock);
        let mut problems = Vec::new();
        let mut state = match store.load_state() {
            Ok(state) => state.unwrap_or_default(),
            Err(error) => {
                problems.push(DeliveryError::Store(error));
                DeliveryState::default()
            }
        };
        let cache = load_cache(&config, &store, state.floor(), &mut problems);
        let cache_loaded = cache.is_some();
        let bundled_plan = bundled.and_then(|bytes| match verify_local(&config, bytes) {
            Ok(plan) => Some((plan, bytes)),
            Err(error) => {
                problems.push(DeliveryError::BundledRefused(error));
                None
            }
        });
        let chosen = match (cache, bundled_plan) {
            (Some(cache), Some((bundled, bytes))) if bundled.header.plan_version > cache.header.plan_version => {
                Some((bundled, PlanSource::Bundled, Some(bytes)))
            }
            (Some(cache), _) => Some((cache, PlanSource::Cache, None)),
            (None, Some((bundled, bytes))) => Some((bundled, PlanSource::Bundled, Some(bytes))),
            (None, None) => None,
        };
        let (compiled, active) = match chosen {
            Some((verified, source, bundled_bytes)) => {
                let device_now = clock.unix_millis() / 1000;
                let tolerance = config.verify.max_issued_ahead_seconds;
                raise_floor(&store, &mut state, &verified, bundled_bytes, (device_now, tolerance), &mut problems);
                let header = &verified.header;
                let active = ActivePlan {
                    source,
                    version: header.plan_version,
                    issued_at: Some(header.issued_at),
                    expires_at: Some(header.expires_at),
                };
                (verified.compiled, active)
            }
            None => {
                let active =
                    ActivePlan { source: PlanSource::FailPolicy, version: 0, issued_at: None, expires_at: None };
                (fail_compiled, active)
            }
        };
        let mut fetcher = Fetcher::new(config.schedule.clone(), state.fetch.clone(), random);
        if !cache_loaded {
            // The ETag names the cached plan; without it a 304 would leave this device behind.
            fetcher.forget_etag();
        }
        let engine = Arc::new(Engine::new(compiled, engine_options)?);
        let last_error = match problems.len() {
            0 => None,
            1 => problems.pop().map(Arc::new),
            _ => Some(Arc::new(DeliveryError::Several(problems))),
        };
        Ok(Delivery { config, store, clock, engine, state, active, last_error, fetcher })
    }

    /// The live engine; share it with the threads that decide events.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// Device clock, Unix seconds.
    fn device_now(&self) -> u64 {
        self.clock.unix_millis() / 1000
    }

    /// Trusted time, Unix seconds: the later of the device clock and the signed time floor, so
    /// a device whose clock is set back cannot be fed plans that expired before the newest plan
    /// it accepted was signed, and no unsigned input can push it forward.
    fn trusted_now(&self) -> u64 {
        self.device_now().max(self.state.signed_time_floor_unix)
    }

    /// Verifies `bytes` (from the network or any other channel), persists and installs them.
    /// Time is judged by trusted time (device clock and signed time floor only).
    pub fn offer(&mut self, bytes: &[u8]) -> Result<Offered, OfferError> {
        self.offer_at(bytes, self.trusted_now())
    }

    /// A plan from a response: [`Delivery::offer`], except that a plan refused only because its
    /// `issued_at` is too far ahead of trusted time is judged once more with the response's
    /// `Date` as the time, when that is later. Expiry is monotone in time, so a plan accepted
    /// the second time is unexpired by trusted time too: the unsigned `Date` can turn this one
    /// refusal into an acceptance (a device whose clock is behind the publisher's) and can
    /// never cause a refusal. The first refusal is the one reported if both fail.
    fn offer_from_response(&mut self, bytes: &[u8]) -> Result<Offered, OfferError> {
        let trusted = self.trusted_now();
        let first = self.offer_at(bytes, trusted);
        if !matches!(&first, Err(OfferError::Refused(error)) if matches!(**error, VerifyError::IssuedInFuture { .. })) {
            return first;
        }
        let Some(date) = self.fetcher.response_date().filter(|date| *date > trusted) else {
            return first;
        };
        let first_error = self.last_error.clone();
        match self.offer_at(bytes, date) {
            Err(OfferError::Refused(_)) => {
                self.last_error = first_error;
                first
            }
            second => second,
        }
    }

    /// [`Delivery::offer`] with expiry and issue time judged at `now`.
    fn offer_at(&mut self, bytes: &[u8], now: u64) -> Result<Offered, OfferError> {
        let context = VerifyContext {
            keyring: &self.config.keyring,
            app: &self.config.app,
            env: &self.config.env,
            floor: self.state.floor(),
            now,
            check_time: true,
            policy: self.config.verify,
        };
        let verified = match verify_envelope(bytes, &context) {
            Ok(Verified::New(verified)) => verified,
            Ok(Verified::AlreadyCurrent { .. }) => return Ok(Offered::AlreadyCurrent),
            Err(error) => {
                let error = Arc::new(error);
                self.last_error = Some(Arc::new(DeliveryError::Refused(Arc::clone(&error))));
                return Err(OfferError::Refused(error));
            }
        };
        if let Err(error) = self.store.save_plan(bytes) {
            let error = Arc::new(error);
            self.last_error = Some(Arc::new(DeliveryError::NotPersisted(Arc::clone(&error))));
            return Err(OfferError::NotPersisted(error));
        }
        self.last_error = None;
        self.state.floor_version = verified.header.plan_version;
        self.state.floor_digest = Some(verified.digest);
        let device_now = self.device_now();
        raise_signed_time(
            &mut self.state,
            verified.header.issued_at,
            device_now,
            self.config.verify.max_issued_ahead_seconds,
        );
        self.save_state();
        let header = verified.header;
        let change = self.engine.install(verified.compiled);
        self.active = ActivePlan {
            source: PlanSource::Network,
            version: header.plan_version,
            issued_at: Some(header.issued_at),
            expires_at: Some(header.expires_at),
        };
        Ok(Offered::Installed { previous_version: change.previous_version, version: change.version })
    }

    fn save_state(&mut self) {
        self.state.fetch = self.fetcher.state().clone();
        if let Err(error) = self.store.save_state(&self.state) {
            // The plan on disk is already the new one; a stale floor only means the next start
            // raises it again from the cached plan.
            self.last_error = Some(Arc::new(DeliveryError::Store(error)));
        }
    }

    /// The request to perform now, if one is due (single flight). Hosts with their own HTTP
    /// stack call this, perform it, and pass the result to [`Delivery::complete_fetch`].
    ///
    /// With a [`Schedule::rollout_salt`], the request carries the device's rollout bucket
    /// ([`crate::rollout_bucket`] of the install id), never the install id itself.
    pub fn poll_fetch(&mut self) -> Option<HttpRequest> {
        let now = self.device_now();
        let mut request = self.fetcher.poll(now)?;
        if let Some(salt) = &self.fetcher.schedule().rollout_salt {
            let bucket = crate::rollout::rollout_bucket(&self.engine.unit_id(), salt);
            request.headers.push((crate::rollout::ROLLOUT_BUCKET_HEADER.to_owned(), bucket.to_string()));
        }
        Some(request)
    }

    /// Feeds back the result of the request [`Delivery::poll_fetch`] handed out.
    pub fn complete_fetch(&mut self, result: Result<HttpResponse, TransportError>) -> FetchOutcome {
        let now = self.device_now();
        let outcome = match self.fetcher.on_response(now, result) {
            Reply::Plan { body, etag, max_age } => match self.offer_from_response(&body) {
                Ok(Offered::Installed { version, .. }) => {
                    self.fetcher.plan_accepted(now, etag, max_age);
                    FetchOutcome::Installed { version }
                }
                Ok(Offered::AlreadyCurrent) => {
                    self.fetcher.plan_accepted(now, etag, max_age);
                    self.last_error = None;
                    FetchOutcome::Unchanged
                }
                Err(error) => {
                    self.fetcher.plan_refused(now);
                    match error {
                        OfferError::Refused(error) => FetchOutcome::Refused(error),
                        OfferError::NotPersisted(_) => FetchOutcome::Failed(Arc::new(error.into())),
                    }
                }
            },
            Reply::NotModified => {
                self.last_error = None;
                FetchOutcome::Unchanged
            }
            Reply::Failed(error) => {
                let error = Arc::new(DeliveryError::Fetch(error));
                self.last_error = Some(Arc::clone(&error));
                FetchOutcome::Failed(error)
            }
        };
        self.save_state();
        outcome
    }

    /// Performs one fetch through `transport` if one is due; `None` when not due.
    pub fn fetch_if_due(&mut self, transport: &dyn Transport) -> Option<FetchOutcome> {
        let request = self.poll_fetch()?;
        let result = transport.get(&request);
        Some(self.complete_fetch(result))
    }

    /// Asks for a fetch soon (at least a minute after the last one, never during backoff).
    pub fn refresh_now(&mut self) {
        let now = self.device_now();
        self.fetcher.refresh_now(now);
    }

    /// The app came to the foreground: fetch if the last request is old enough.
    pub fn on_foreground(&mut self) {
        let now = self.device_now();
        self.fetcher.on_foreground(now);
    }

    /// When the next fetch is due, Unix seconds by the device clock.
    pub fn next_fetch_at(&self) -> u64 {
        self.fetcher.due_at(self.device_now())
    }

    /// What is active and how delivery is going.
    pub fn status(&self) -> Status {
        let now = self.trusted_now();
        let fetch = self.fetcher.state();
        Status {
            source: self.active.source,
            version: self.active.version,
            issued_at: self.active.issued_at,
            age_seconds: self.active.issued_at.map(|issued| now.saturating_sub(issued)),
            expires_at: self.active.expires_at,
            expired: self
                .active
                .expires_at
                .is_some_and(|expires| now > expires.saturating_add(self.config.verify.expiry_grace_seconds)),
            last_error: self.last_error.clone(),
            last_success_unix: fetch.last_success_unix,
            consecutive_failures: fetch.consecutive_failures,
            next_fetch_unix: self.fetcher.due_at(self.device_now()),
        }
    }
}

/// Verifies a plan held on the device (cache or bundled): signature, scope, decoding and
/// semantics, but neither the floor nor the clock (see `docs/config-delivery.md`, "Startup").
fn verify_local(config: &DeliveryConfig, bytes: &[u8]) -> Result<Box<VerifiedPlan>, VerifyError> {
    let context = VerifyContext {
        keyring: &config.keyring,
        app: &config.app,
        env: &config.env,
        floor: None,
        now: 0,
        check_time: false,
        policy: config.verify,
    };
    match verify_envelope(bytes, &context)? {
        Verified::New(verified) => Ok(verified),
        // Without a floor every valid plan is new.
        Verified::AlreadyCurrent { version } => Err(VerifyError::Equivocation { version }),
    }
}

/// The cached plan, if it is readable, verifies and is not below the floor.
fn load_cache(
    config: &DeliveryConfig,
    store: &Store,
    floor: Option<Floor>,
    problems: &mut Vec<DeliveryError>,
) -> Option<Box<VerifiedPlan>> {
    let bytes = match store.load_plan() {
        Ok(bytes) => bytes?,
        Err(error) => {
            problems.push(DeliveryError::Store(error));
            return None;
        }
    };
    let corrupt = |reason: String| DeliveryError::Store(StoreError::Corrupt { file: crate::store::PLAN_FILE, reason });
    let verified = match verify_local(config, &bytes) {
        Ok(verified) => verified,
        Err(error) => {
            problems.push(corrupt(error.to_string()));
            return None;
        }
    };
    if let Some(floor) = floor {
        let version = verified.header.plan_version;
        if version < floor.version || (version == floor.version && verified.digest != floor.digest) {
            problems.push(corrupt(format!("version {version} does not match the accepted floor {}", floor.version)));
            return None;
        }
    }
    Some(verified)
}

/// Makes the chosen startup plan the floor when it is newer (a newer bundled plan is also
/// written to the cache first, so the floor never runs ahead of `plan.bin`), raises the signed
/// time floor by its `issued_at` (`device_and_tolerance`: the device clock and the issued-ahead
/// tolerance, see [`raise_signed_time`]), and saves the state if either changed. A state file
/// from before the signed time floor (or a lost one) gets it here, from the cached plan.
fn raise_floor(
    store: &Store,
    state: &mut DeliveryState,
    verified: &VerifiedPlan,
    bundled_bytes: Option<&[u8]>,
    device_and_tolerance: (u64, u64),
    problems: &mut Vec<DeliveryError>,
) {
    let (device_now, tolerance) = device_and_tolerance;
    let mut changed = raise_signed_time(state, verified.header.issued_at, device_now, tolerance);
    let version = verified.header.plan_version;
    if state.floor_digest.is_none() || version > state.floor_version {
        let cached = match bundled_bytes {
            Some(bytes) => store.save_plan(bytes).map_err(|error| problems.push(DeliveryError::Store(error))).is_ok(),
            None => true,
        };
        if cached {
            state.floor_version = version;
            state.floor_digest = Some(verified.digest);
            changed = true;
        }
    }
    if changed {
        if let Err(error) = store.save_state(state) {
            problems.push(DeliveryError::Store(error));
        }
    }
}

/// Raises the signed time floor to the `issued_at` of a plan this device accepts, capped at
/// trusted time (the later of `device_now` and the floor) plus `tolerance`, the issued-ahead
/// tolerance. Network plans already passed that check; the cap also bounds what a cached or
/// bundled plan (accepted without time checks) or a publisher's wrong clock can do: trusted
/// time moves ahead of the device clock and the previous floor by at most `tolerance` per
/// accepted plan. Returns whether the floor rose.
fn raise_signed_time(state: &mut DeliveryState, issued_at: u64, device_now: u64, tolerance: u64) -> bool {
    let trusted_now = device_now.max(state.signed_time_floor_unix);
    let raised = issued_at.min(trusted_now.saturating_add(tolerance));
    if raised <= state.signed_time_floor_unix {
        return false;
    }
    state.signed_time_floor_unix = raised;
    true
}

/// The plan a [`FailPolicy`] stands for, as an ordinary plan (version 0).
pub fn fail_policy_plan(config: &DeliveryConfig, bundled: Option<&[u8]>) -> Plan {
    let mut plan = Plan {
        schema: PLAN_SCHEMA_VERSION,
        app: config.app.clone(),
        env: config.env.clone(),
        version: 0,
        enabled: true,
        sampling_salt: String::new(),
        unregistered: UnregisteredPolicy::Drop,
        shed_below: None,
        shadow: false,
        defaults: Defaults::default(),
        events: BTreeMap::new(),
    };
    match config.fail_policy {
        FailPolicy::KeepAll => plan.unregistered = UnregisteredPolicy::Keep,
        FailPolicy::KeepP0Only => {
            if let Some(bundled) =
                bundled.and_then(|bytes| readable_bundled_plan(bytes, config.verify.max_envelope_bytes))
            {
                plan.sampling_salt = bundled.sampling_salt;
                plan.events = bundled.events.into_iter().filter(|(_, rule)| rule.priority == Priority::P0).collect();
            }
        }
    }
    plan
}

/// The bundled plan's content if it decodes and is valid, signature not checked: it ships in
/// the app binary, and the P0 list is only used when nothing verified is available.
fn readable_bundled_plan(bytes: &[u8], max_bytes: usize) -> Option<Plan> {
    let envelope = parse_envelope(bytes, max_bytes).ok()?;
    let plan = decode_plan(envelope.payload, envelope.header_length).ok()?;
    plan.is_valid().then_some(plan)
}
