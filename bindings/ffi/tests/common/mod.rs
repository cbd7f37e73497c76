//! Helpers shared by the FFI tests: a test-only publisher key, plan and envelope builders,
//! temporary store directories and scripted transports.
//!
//! Everything is deterministic except the wall clock, which the gate reads itself (apps cannot
//! inject a clock through the FFI); envelopes are therefore signed relative to the real "now"
//! with margins of days, far from any expiry or issue-time limit.

#![allow(dead_code)] // Each test file uses a different part.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use trackgate_core::parse_plan;
use trackgate_delivery::{envelope::to_hex, seal_plan, SigningKey};
use trackgate_ffi::{
    FailPolicy, Gate, GateOptions, HttpHeader, HttpRequest, HttpResponse, HttpTransport, TransportError, TrustedKey,
};

pub const APP: &str = "shop";
pub const ENV: &str = "prod";
pub const DAY: u64 = 86_400;

/// A publisher key for tests only (a fixed seed, never used for anything real).
pub struct Publisher {
    key: SigningKey,
}

impl Publisher {
    pub fn new(seed: u8) -> Publisher {
        Publisher { key: SigningKey::from_bytes(&[seed; 32]) }
    }

    pub fn public_hex(&self) -> String {
        to_hex(self.key.verifying_key().as_bytes())
    }

    pub fn trusted(&self) -> TrustedKey {
        TrustedKey::Hex { text: self.public_hex() }
    }

    /// Signs `plan_json` (a whole plan document), valid from a day ago for thirty days.
    pub fn seal(&self, plan_json: &str) -> Vec<u8> {
        let now = unix_now();
        self.seal_at(plan_json, now - DAY, now + 30 * DAY)
    }

    pub fn seal_at(&self, plan_json: &str, issued_at: u64, expires_at: u64) -> Vec<u8> {
        let plan =
            parse_plan(plan_json).unwrap_or_else(|error| panic!("test plan is invalid: {error}\n{plan_json}")).plan;
        seal_plan(&plan, &self.key, issued_at, expires_at).expect("test plan seals")
    }

    /// Seals `plan_json` in format 2, signed by each of `signers` (valid from a day ago for
    /// thirty days).
    pub fn cosign(plan_json: &str, signers: &[&Publisher]) -> Vec<u8> {
        let plan = parse_plan(plan_json).expect("test plan is valid").plan;
        let keys: Vec<&SigningKey> = signers.iter().map(|publisher| &publisher.key).collect();
        let now = unix_now();
        trackgate_delivery::seal_plan_v2(&plan, &keys, now - DAY, now + 30 * DAY).expect("test plan seals")
    }
}

pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970").as_secs()
}

/// A plan document for `shop/prod` at `version` with these `events` (a JSON object's body) and
/// extra top-level fields (`extra` is either empty or ends with a comma).
pub fn plan(version: u64, extra: &str, events: &str) -> String {
    format!(r#"{{"schema": 1, "app": "{APP}", "env": "{ENV}", "version": {version}, {extra} "events": {{{events}}}}}"#)
}

/// The plan most tests use: one event per outcome a single rule gives.
pub fn standard_plan(version: u64) -> String {
    plan(
        version,
        "",
        r#"
        "checkout.completed": {"priority": "P0"},
        "legacy.banner_seen": {"priority": "P3", "status": "retired"},
        "photo.uploaded": {"priority": "P1", "max_bytes": 1000},
        "scroll.depth": {"priority": "P2", "sample": 0},
        "search.typed": {"priority": "P2", "rate_limit": {"per_second": 0.001, "burst": 1}}
        "#,
    )
}

/// A directory under the system temporary directory, removed on drop.
pub struct TempDir {
    pub path: PathBuf,
}

static NEXT_DIRECTORY: AtomicU64 = AtomicU64::new(0);

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        let unique = NEXT_DIRECTORY.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("trackgate-ffi-{label}-{}-{unique}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        TempDir { path }
    }

    pub fn path_string(&self) -> String {
        self.path.to_str().expect("temporary paths are UTF-8").to_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Options for `shop/prod` trusting `publisher`, storing in `store`, keeping all without a plan.
pub fn options(publisher: &Publisher, store: &TempDir) -> GateOptions {
    GateOptions {
        app: APP.into(),
        env: ENV.into(),
        trusted_keys: vec![publisher.trusted()],
        store_directory: store.path_string(),
        fail_policy: FailPolicy::KeepAll,
        bundled_plan: None,
        unit_id: Some("install-1".into()),
        plan_url: None,
        transport: None,
        signature_policy: None,
        rollout_salt: None,
        refresh_now_min_gap_seconds: None,
        strict: false,
        logger: None,
    }
}

/// A gate running `plan_json` as its bundled plan.
pub fn gate_with_plan(publisher: &Publisher, store: &TempDir, plan_json: &str) -> Gate {
    let mut options = options(publisher, store);
    options.bundled_plan = Some(publisher.seal(plan_json));
    Gate::new(options).expect("gate starts")
}

pub const PLAN_URL: &str = "https://plans.example/v1/plans/shop/prod";

/// What a scripted transport does for one request.
pub enum Step {
    Answer(Result<HttpResponse, TransportError>),
    Panic(&'static str),
}

/// A transport that plays a script and records the requests it was given.
#[derive(Default)]
pub struct ScriptedTransport {
    steps: Mutex<VecDeque<Step>>,
    pub requests: Mutex<Vec<HttpRequest>>,
}

impl ScriptedTransport {
    pub fn new(steps: Vec<Step>) -> Arc<ScriptedTransport> {
        Arc::new(ScriptedTransport { steps: Mutex::new(steps.into()), requests: Mutex::default() })
    }

    pub fn push(&self, step: Step) {
        self.steps.lock().unwrap().push_back(step);
    }

    pub fn request_count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    pub fn last_request(&self) -> HttpRequest {
        self.requests.lock().unwrap().last().cloned().expect("a request was made")
    }
}

impl HttpTransport for ScriptedTransport {
    fn get(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        self.requests.lock().unwrap().push(request);
        let step = self.steps.lock().unwrap().pop_front();
        match step {
            Some(Step::Answer(answer)) => answer,
            Some(Step::Panic(message)) => panic!("{message}"),
            None => Err(TransportError::Connect { reason: "script exhausted".into() }),
        }
    }
}

pub fn header(name: &str, value: &str) -> HttpHeader {
    HttpHeader { name: name.into(), value: value.into() }
}

/// A 200 answer carrying `body`, with an `ETag`.
pub fn ok(body: Vec<u8>, etag: &str) -> Step {
    Step::Answer(Ok(HttpResponse { status: 200, headers: vec![header("ETag", etag)], body }))
}

pub fn status(code: u16) -> Step {
    Step::Answer(Ok(HttpResponse { status: code, headers: Vec::new(), body: Vec::new() }))
}

/// Options with `transport` and the plan URL.
pub fn options_with_transport(
    publisher: &Publisher,
    store: &TempDir,
    transport: Arc<ScriptedTransport>,
) -> GateOptions {
    let mut options = options(publisher, store);
    options.plan_url = Some(PLAN_URL.into());
    options.transport = Some(transport);
    options
}
