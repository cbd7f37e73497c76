//! The peers trackgate is compared against, built from the same generated events.
//!
//! - [`NaiveGate`]: the obvious hand-rolled gate: a `HashMap<String, NaiveRule>` lookup, then a
//!   SHA-256 of `salt:unit` on every call to place the unit in the sample. It keeps no counters
//!   and ignores rate limits, so it does strictly less work per call than trackgate.
//! - [`yggdrasil_engine`]: the `unleash-yggdrasil` feature-flag engine with one toggle per event:
//!   retired events are disabled toggles, sampled events use a `flexibleRollout` strategy (whole
//!   percent, grouped by the event's salt, sticky on the user id), the rest the `default`
//!   strategy. Size caps and rate limits have no equivalent there and are left out.
//!
//! Each peer also has a load path to compare with `parse` + `compile`: [`NaiveGate::from_plan_json`]
//! reads trackgate's own plan text through `serde_json::Value`, and [`yggdrasil_load`] reads the
//! equivalent client-features JSON and compiles its strategies.

use std::collections::HashMap;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use unleash_yggdrasil::{ClientFeatures, Context, EngineState, UpdateMessage};

use trackgate_benches::{EventSpec, DEFAULT_MAX_BYTES, PLAN_SALT, UNIT_ID};

/// One event's rules in the naive gate.
#[derive(Debug, Clone)]
pub struct NaiveRule {
    /// Every occurrence is dropped.
    pub retired: bool,
    /// Share kept, in parts per million.
    pub sample_ppm: u32,
    /// Sampling salt.
    pub salt: String,
    /// Size cap in bytes.
    pub max_bytes: u32,
}

/// The hand-rolled gate: a map lookup and a SHA-256 per decision.
#[derive(Debug, Clone)]
pub struct NaiveGate {
    rules: HashMap<String, NaiveRule>,
    unit_id: String,
}

impl NaiveGate {
    /// A gate over `events` for [`UNIT_ID`].
    pub fn new(events: &[EventSpec]) -> Self {
        let rules = events
            .iter()
            .map(|event| {
                let rule = NaiveRule {
                    retired: event.retired,
                    sample_ppm: event.sample_ppm,
                    salt: event.effective_salt().to_owned(),
                    max_bytes: event.effective_max_bytes(),
                };
                (event.name.clone(), rule)
            })
            .collect();
        NaiveGate { rules, unit_id: UNIT_ID.to_owned() }
    }

    /// The obvious way to load it: the plan's JSON text into a `serde_json::Value`, then one
    /// map entry per event (no validation beyond what the lookups need).
    pub fn from_plan_json(text: &str) -> Self {
        let plan: Value = serde_json::from_str(text).expect("plan JSON");
        let salt = plan["sampling_salt"].as_str().unwrap_or(PLAN_SALT).to_owned();
        let default_max = plan["defaults"]["max_bytes"].as_u64().unwrap_or(u64::from(DEFAULT_MAX_BYTES)) as u32;
        let events = plan["events"].as_object().expect("events object");
        let rules = events
            .iter()
            .map(|(name, rule)| {
                let rule = NaiveRule {
                    retired: rule["status"] == "retired",
                    sample_ppm: rule["sample"].as_f64().map_or(1_000_000, |rate| (rate * 1e6).round() as u32),
                    salt: rule["salt"].as_str().map_or_else(|| salt.clone(), str::to_owned),
                    max_bytes: rule["max_bytes"].as_u64().map_or(default_max, |max| max as u32),
                };
                (name.clone(), rule)
            })
            .collect();
        NaiveGate { rules, unit_id: UNIT_ID.to_owned() }
    }

    /// How many events it holds.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether the event may be sent.
    pub fn decide(&self, name: &str, size_bytes: u64) -> bool {
        let Some(rule) = self.rules.get(name) else {
            return false;
        };
        if rule.retired || size_bytes > u64::from(rule.max_bytes) {
            return false;
        }
        let mut hasher = Sha256::new();
        hasher.update(rule.salt.as_bytes());
        hasher.update(b":");
        hasher.update(self.unit_id.as_bytes());
        let digest = hasher.finalize();
        let mut head = [0u8; 8];
        head.copy_from_slice(&digest[..8]);
        u64::from_be_bytes(head) % 1_000_000 < u64::from(rule.sample_ppm)
    }
}

/// The Unleash client-features document equivalent to `events`, as the JSON text a server sends.
pub fn yggdrasil_features_json(events: &[EventSpec]) -> String {
    let features: Vec<_> = events
        .iter()
        .map(|event| {
            let strategy = if event.sample_ppm < 1_000_000 {
                let percent = (f64::from(event.sample_ppm) / 10_000.0).round().max(1.0) as u32;
                json!({
                    "name": "flexibleRollout",
                    "parameters": {
                        "rollout": percent.to_string(),
                        "stickiness": "default",
                        "groupId": event.effective_salt(),
                    },
                })
            } else {
                json!({"name": "default", "parameters": {}})
            };
            json!({
                "name": event.name,
                "type": "release",
                "enabled": !event.retired,
                "strategies": [strategy],
            })
        })
        .collect();
    json!({"version": 2, "features": features}).to_string()
}

/// Loads a yggdrasil engine from client-features JSON text, as an SDK does on each poll.
pub fn yggdrasil_load(features_json: &str) -> EngineState {
    let features: ClientFeatures = serde_json::from_str(features_json).expect("a valid client features document");
    let engine = EngineState::default();
    let warnings = engine.take_state(UpdateMessage::FullResponse(features));
    assert!(warnings.is_none(), "yggdrasil refused the state: {warnings:?}");
    engine
}

/// A yggdrasil engine loaded with `events`, and the context of [`UNIT_ID`].
pub fn yggdrasil_engine(events: &[EventSpec]) -> (EngineState, Context) {
    let engine = yggdrasil_load(&yggdrasil_features_json(events));
    let context = Context {
        user_id: Some(UNIT_ID.to_owned()),
        app_name: Some("bench_shop".to_owned()),
        environment: Some("prod".to_owned()),
        ..Context::default()
    };
    (engine, context)
}

/// Checks that both peers decide the plan's unsampled events as trackgate does (retired ones
/// dropped, active ones kept, unknown names refused), so the benches compare equivalent work.
pub fn check_equivalence(
    events: &[EventSpec],
    miss: &str,
    naive: &NaiveGate,
    yggdrasil: &EngineState,
    context: &Context,
) {
    for event in events.iter().filter(|event| event.sample_ppm == 1_000_000) {
        let expected = !event.retired;
        assert_eq!(naive.decide(&event.name, 10), expected, "naive gate on {}", event.name);
        assert_eq!(yggdrasil.is_enabled(&event.name, context, &None), expected, "yggdrasil on {}", event.name);
    }
    assert!(!naive.decide(miss, 10));
    assert!(!yggdrasil.is_enabled(miss, context, &None));
}
