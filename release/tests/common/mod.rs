//! Helpers shared by the release tests: plans, keys, a registered record, drop reports.
#![allow(dead_code)] // Each test file uses a different subset.

use ed25519_dalek::{Signer, SigningKey};
use trackgate_core::{parse_plan, DropReport, EventReport, Plan, ReasonCounts};
use trackgate_release::*;

/// The time releases start at in these tests (2027-01-15), Unix seconds.
pub const T0: u64 = 1_800_000_000;
pub const HOUR: u64 = 3600;

/// A plan of `shop/prod` at `version` with the given events JSON (name → rule).
pub fn plan(version: u64, events: &str) -> Plan {
    let text =
        format!(r#"{{"schema": 1, "app": "shop", "env": "prod", "version": {version}, "events": {{{events}}}}}"#);
    parse_plan(&text).expect("test plan is valid").plan
}

/// The previous plan every test releases over.
pub fn previous() -> Plan {
    plan(
        1,
        r#""checkout.completed": {"priority": "P0", "owner": "payments"},
           "search.performed": {"priority": "P2", "owner": "search"},
           "banner.viewed": {"priority": "P3", "owner": "growth"}"#,
    )
}

/// The good next plan: samples `banner.viewed` to 10 %.
pub fn good_next() -> Plan {
    plan(
        2,
        r#""checkout.completed": {"priority": "P0", "owner": "payments"},
           "search.performed": {"priority": "P2", "owner": "search"},
           "banner.viewed": {"priority": "P3", "owner": "growth", "sample": 0.1}"#,
    )
}

pub fn options(id: &str) -> RegisterOptions {
    RegisterOptions {
        id: id.to_owned(),
        by: "alice".to_owned(),
        steps: RolloutPlan::default_steps(),
        offset: None,
        guards: GuardConfig::default(),
        check_config: CheckConfig::default(),
    }
}

pub fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

/// Signs `record`'s approval for `role` with `key` and records it.
pub fn approve(record: &ReleaseRecord, role: Role, key: &SigningKey, now: u64) -> Result<ReleaseRecord, ReleaseError> {
    let signature = key.sign(&record.approval_message(role)).to_bytes();
    record.approve(role, key.verifying_key().as_bytes(), &signature, role.as_str(), "", now)
}

/// A record of `next` registered, checked, diffed, approved by both roles and scheduled at `T0`.
pub fn scheduled(next: Plan) -> ReleaseRecord {
    let record = register(previous(), next, options("shop-2"), T0 - 4 * HOUR).unwrap();
    let baseline = Baseline::new();
    let inputs = CheckInputs { usage: None, baseline: &baseline, costs: &CostModel::default() };
    let record = record.check(inputs, "alice", T0 - 3 * HOUR).unwrap();
    let record = record.diff(&baseline, &CostModel::default(), "alice", T0 - 3 * HOUR).unwrap();
    let record = approve(&record, Role::Business, &key(1), T0 - 2 * HOUR).unwrap();
    let record = approve(&record, Role::Technical, &key(2), T0 - HOUR).unwrap();
    record.schedule(T0, "carol", T0 - HOUR).unwrap()
}

/// A drop report of one device window on `version`, ending at `end` (Unix seconds).
pub fn report(version: u64, end: u64, p0_kept: u64, oversize: u64, unregistered: u64) -> DropReport {
    let dropped = ReasonCounts { oversize, unregistered, ..ReasonCounts::default() };
    let checkout = EventReport {
        name: "checkout.completed".into(),
        kept: p0_kept,
        dropped: ReasonCounts { oversize, ..ReasonCounts::default() },
        ..EventReport::default()
    };
    let search = EventReport { name: "search.performed".into(), kept: 10, ..EventReport::default() };
    let kept = p0_kept + 10;
    DropReport {
        app: "shop".into(),
        env: "prod".into(),
        plan_version: version,
        window_start_unix_ms: (end - 600) * 1000,
        window_end_unix_ms: end * 1000,
        offered: kept + oversize + unregistered,
        kept,
        dropped,
        events: vec![checkout, search],
        unregistered: if unregistered > 0 {
            vec![trackgate_core::UnregisteredReport {
                name: "typo.evnt".into(),
                dropped: unregistered,
                ..Default::default()
            }]
        } else {
            Vec::new()
        },
        ..DropReport::default()
    }
}
