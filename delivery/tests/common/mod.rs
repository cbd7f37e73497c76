//! Helpers shared by the delivery tests: keys, plans, envelopes, fault-injecting storage.
#![allow(dead_code)] // Each test file uses a different subset.

pub mod fault_server;

use std::collections::HashMap;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use trackgate_core::{parse_plan, EngineOptions, ManualClock, Plan};
use trackgate_delivery::envelope::{seal_payload, EnvelopeFields, PAYLOAD_SCHEMA_POSTCARD_PLAN_V1};
use trackgate_delivery::*;

/// The simulated "now" most tests start at (2023-11-14), Unix seconds.
pub const NOW: u64 = 1_700_000_000;
/// A day in seconds.
pub const DAY: u64 = 86_400;
/// App and env of the test plans.
pub const APP: &str = "shop";
pub const ENV: &str = "prod";

/// A deterministic signing key.
pub fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

/// The publisher key trusted by default.
pub fn publisher() -> SigningKey {
    key(1)
}

/// A keyring trusting the given keys.
pub fn keyring(keys: &[&SigningKey]) -> Keyring {
    let mut keyring = Keyring::new();
    for key in keys {
        keyring.add(key.verifying_key().as_bytes()).expect("valid key");
    }
    keyring
}

/// A valid plan: `checkout.completed` (P0) plus `marker.vN` (P2), so versions are
/// distinguishable by decisions too.
pub fn plan(version: u64) -> Plan {
    plan_for(APP, ENV, version)
}

/// A valid plan for another scope.
pub fn plan_for(app: &str, env: &str, version: u64) -> Plan {
    let text = format!(
        r#"{{"schema": 1, "app": "{app}", "env": "{env}", "version": {version},
            "events": {{
                "checkout.completed": {{"priority": "P0"}},
                "search.performed": {{"priority": "P2", "sample": 0.5}},
                "marker.v{version}": {{"priority": "P2"}}
            }}}}"#
    );
    parse_plan(&text).expect("test plan is valid").plan
}

/// `plan(version)` signed by the publisher, valid for 30 days from `NOW`.
pub fn envelope(version: u64) -> Vec<u8> {
    envelope_at(version, NOW)
}

/// `plan(version)` signed by the publisher at `issued_at`, valid 30 days.
pub fn envelope_at(version: u64, issued_at: u64) -> Vec<u8> {
    seal_plan(&plan(version), &publisher(), issued_at, issued_at + 30 * DAY).expect("seals")
}

/// Signs arbitrary payload bytes under a header for `APP`/`ENV`.
pub fn envelope_with_payload(version: u64, payload: &[u8]) -> Vec<u8> {
    let fields = EnvelopeFields {
        plan_version: version,
        issued_at: NOW,
        expires_at: NOW + 30 * DAY,
        payload_schema: PAYLOAD_SCHEMA_POSTCARD_PLAN_V1,
        app: APP.into(),
        env: ENV.into(),
    };
    seal_payload(&fields, payload, &publisher()).expect("seals")
}

/// In-memory storage whose writes and reads can be made to fail, shared between restarts.
#[derive(Clone, Default)]
pub struct FaultyStorage {
    pub files: Arc<Mutex<HashMap<String, Vec<u8>>>>,
    pub disk_full: Arc<AtomicBool>,
    pub unreadable: Arc<AtomicBool>,
    pub writes: Arc<AtomicU64>,
}

impl Storage for FaultyStorage {
    fn read(&self, name: &str, limit: usize) -> io::Result<Option<Vec<u8>>> {
        if self.unreadable.load(Ordering::SeqCst) {
            return Err(io::Error::new(io::ErrorKind::PermissionDenied, "injected: permission denied"));
        }
        let files = self.files.lock().unwrap();
        match files.get(name) {
            Some(bytes) if bytes.len() > limit => Err(io::Error::new(io::ErrorKind::InvalidData, "too large")),
            other => Ok(other.cloned()),
        }
    }

    fn write_atomic(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        if self.disk_full.load(Ordering::SeqCst) {
            return Err(io::Error::new(io::ErrorKind::StorageFull, "injected: no space left on device"));
        }
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.files.lock().unwrap().insert(name.to_owned(), bytes.to_vec());
        Ok(())
    }
}

/// The delivery configuration the tests use (publisher key only, KeepAll).
pub fn config(url: &str) -> DeliveryConfig {
    DeliveryConfig {
        app: APP.into(),
        env: ENV.into(),
        keyring: keyring(&[&publisher()]),
        verify: VerifyPolicy::default(),
        fail_policy: FailPolicy::KeepAll,
        schedule: Schedule::new(url),
    }
}

/// A clock at `NOW`.
pub fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(NOW * 1000))
}

/// Engine options with a fixed unit and the given clock.
pub fn engine_options(clock: &Arc<ManualClock>) -> EngineOptions {
    EngineOptions { unit_id: Some("install-1".into()), clock: clock.clone(), ..EngineOptions::default() }
}

/// Starts a delivery over `storage` with `config`.
pub fn start_with(
    config: DeliveryConfig,
    storage: &FaultyStorage,
    bundled: Option<&[u8]>,
    clock: &Arc<ManualClock>,
) -> Delivery {
    let store = Store::new(Box::new(storage.clone()), 1 << 24);
    Delivery::start(config, store, bundled, engine_options(clock), Box::new(SplitMix64::new(42))).expect("starts")
}

/// Starts a delivery with the default test configuration.
pub fn start(storage: &FaultyStorage, bundled: Option<&[u8]>, clock: &Arc<ManualClock>) -> Delivery {
    start_with(config("http://127.0.0.1:9/v1/plans/shop/prod"), storage, bundled, clock)
}

/// The check that refused an offer, or `None` when the plan verified but was not persisted.
pub fn refusal(error: &OfferError) -> Option<&VerifyError> {
    match error {
        OfferError::Refused(error) => Some(error),
        OfferError::NotPersisted(_) => None,
    }
}

/// Whether the active plan is exactly version `version` (by its marker event).
pub fn runs_version(delivery: &Delivery, version: u64) -> bool {
    let plan = delivery.engine().plan();
    plan.version() == version && plan.event_summary(&format!("marker.v{version}")).is_some()
}

/// A fresh empty directory under the target's temp dir.
pub fn temp_dir(name: &str) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let unique = COUNTER.fetch_add(1, Ordering::SeqCst);
    let directory = std::env::temp_dir().join(format!("trackgate-{name}-{}-{unique}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).expect("temp dir");
    directory
}

/// The largest IMF-fixdate: what an attacker sends to push a device's idea of time forward.
pub const FAR_FUTURE_DATE: &str = "Fri, 31 Dec 9999 23:59:59 GMT";
/// The Unix epoch as an IMF-fixdate: a `Date` far in the past.
pub const FAR_PAST_DATE: &str = "Thu, 01 Jan 1970 00:00:00 GMT";

/// A transport result carrying an HTTP answer.
pub fn http_reply(status: u16, headers: &[(&str, &str)], body: Vec<u8>) -> Result<HttpResponse, TransportError> {
    let headers = headers.iter().map(|(name, value)| (name.to_string(), value.to_string())).collect();
    Ok(HttpResponse { status, headers, body })
}

/// The device clock, Unix seconds.
pub fn device_seconds(clock: &Arc<ManualClock>) -> u64 {
    trackgate_core::Clock::unix_millis(clock.as_ref()) / 1000
}

/// Moves the device clock forward by `seconds`.
pub fn advance_seconds(clock: &Arc<ManualClock>, seconds: u64) {
    clock.advance_nanos(seconds * 1_000_000_000);
}

/// Moves the device clock to the next fetch deadline, takes the request and returns how long
/// that was from the previous time.
pub fn advance_to_next_fetch(delivery: &mut Delivery, clock: &Arc<ManualClock>) -> u64 {
    let waited = delivery.next_fetch_at().saturating_sub(device_seconds(clock));
    advance_seconds(clock, waited);
    assert!(delivery.poll_fetch().is_some(), "a request is due after waiting {waited} s");
    waited
}

/// Bytes from lowercase hex digits (test fixtures).
pub fn from_hex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|index| u8::from_str_radix(&text[index..index + 2], 16).expect("hex")).collect()
}
