//! Simulated devices for the release tests: thousands of in-process devices, each a real
//! `trackgate_delivery::Delivery` (engine, verification, store in memory, fetch schedule) that
//! fetches from a `trackgate serve` over loopback HTTP with its rollout bucket, decides a fixed,
//! seeded mix of events, and uploads its drop report to `POST /v1/collect`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use trackgate_core::{EngineOptions, ManualClock, SplitMix64};
use trackgate_delivery::http::UreqTransport;
use trackgate_delivery::{Delivery, DeliveryConfig, FailPolicy, Keyring, MemoryStorage, Schedule, Store, VerifyPolicy};

/// One device.
pub struct Device {
    /// Its install id (never sent).
    pub install_id: String,
    delivery: Delivery,
    clock: Arc<ManualClock>,
    /// The highest plan version it ever ran: its anti-rollback floor.
    pub floor: u64,
}

impl Device {
    /// The plan version it runs.
    pub fn version(&self) -> u64 {
        self.delivery.engine().plan_version()
    }
}

/// The events every device offers per window: (name, occurrences, bytes each).
pub const TRAFFIC: [(&str, u64, u64); 4] =
    [("checkout.completed", 5, 200), ("search.performed", 10, 120), ("banner.viewed", 20, 80), ("typo.evnt", 1, 50)];

/// The devices of one app.
pub struct Fleet {
    pub devices: Vec<Device>,
    transport: UreqTransport,
    address: String,
}

impl Fleet {
    /// `count` devices of `shop/prod` whose keyring requires one signature of each role in
    /// `role_keys` (role, raw 32-byte public key), starting on the `bundled` envelope at `now`
    /// (Unix seconds), fetching from `base_url` with the rollout salt `shop/prod`. Install ids
    /// come from a seeded generator.
    pub fn new(
        count: usize,
        base_url: &str,
        role_keys: &[(&str, [u8; 32])],
        bundled: &[u8],
        now: u64,
        seed: u64,
    ) -> Fleet {
        let mut ids = SplitMix64::new(seed);
        let devices = (0..count)
            .map(|_| {
                let install_id = format!("{:016x}{:016x}", ids.next_u64(), ids.next_u64());
                let mut keyring = Keyring::new();
                for (role, key) in role_keys {
                    keyring.add_with_role(key, role).expect("valid key and role");
                    keyring.require(role, 1).expect("a valid threshold");
                }
                keyring.check().expect("a satisfiable policy");
                let schedule = Schedule {
                    refresh_now_min_gap_seconds: 0,
                    max_requests_per_hour: u32::MAX,
                    rollout_salt: Some("shop/prod".to_owned()),
                    ..Schedule::new(format!("{base_url}/v1/plans/shop/prod"))
                };
                let config = DeliveryConfig {
                    app: "shop".into(),
                    env: "prod".into(),
                    keyring,
                    verify: VerifyPolicy::default(),
                    fail_policy: FailPolicy::KeepAll,
                    schedule,
                };
                let clock = Arc::new(ManualClock::new(now * 1000));
                let options = EngineOptions {
                    unit_id: Some(install_id.clone()),
                    clock: clock.clone(),
                    ..EngineOptions::default()
                };
                let store = Store::new(Box::new(MemoryStorage::default()), 1 << 20);
                let random = Box::new(trackgate_delivery::SplitMix64::new(ids.next_u64()));
                let delivery = Delivery::start(config, store, Some(bundled), options, random).expect("starts");
                let floor = delivery.engine().plan_version();
                Device { install_id, delivery, clock, floor }
            })
            .collect();
        let address = base_url.strip_prefix("http://").unwrap_or(base_url).to_owned();
        Fleet { devices, transport: UreqTransport::new(Duration::from_secs(20)), address }
    }

    /// Every device asks for its plan at `now`; returns how many run each version after.
    pub fn fetch(&mut self, now: u64) -> BTreeMap<u64, usize> {
        for device in &mut self.devices {
            device.clock.set_unix_millis(now * 1000);
            device.delivery.refresh_now();
            device.delivery.fetch_if_due(&self.transport);
            let version = device.version();
            assert!(version >= device.floor, "{} went from {} back to {version}", device.install_id, device.floor);
            device.floor = version;
        }
        self.versions()
    }

    /// Why each device refused its last plan, if it did (`status().last_error` as text).
    pub fn last_errors(&self) -> Vec<Option<String>> {
        self.devices.iter().map(|device| device.delivery.status().last_error.map(|error| error.to_string())).collect()
    }

    /// How many devices run each version.
    pub fn versions(&self) -> BTreeMap<u64, usize> {
        let mut versions = BTreeMap::new();
        for device in &self.devices {
            *versions.entry(device.version()).or_default() += 1;
        }
        versions
    }

    /// Every device offers [`TRAFFIC`] during the window ending at `now`, then takes its report
    /// and uploads it (in batches of 250 reports per request).
    pub fn use_and_report(&mut self, now: u64) {
        let mut lines = Vec::new();
        for device in &mut self.devices {
            device.clock.set_unix_millis(now * 1000);
            let engine = device.delivery.engine();
            for (name, count, bytes) in TRAFFIC {
                for _ in 0..count {
                    engine.decide(name, bytes);
                }
            }
            lines.push(serde_json::to_string(&engine.take_report()).expect("serializes"));
        }
        for batch in lines.chunks(250) {
            let status = super::post_ndjson(&self.address, &batch.join("\n"));
            assert_eq!(status, 204, "the collector accepts the reports");
        }
    }
}
