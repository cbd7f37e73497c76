//! Single decisions through the Gate: every drop reason, weights, and the id path with its
//! typed errors.

mod common;

use common::*;
use trackgate_core::MAX_COUNTED_EVENT_BYTES;
use trackgate_ffi::{sampling_is_kept, sampling_random_value, ApplyOutcome, Decision, DropReason, Gate, GateError};

fn drop(reason: DropReason) -> Decision {
    Decision::Drop { reason }
}

const KEEP: Decision = Decision::Keep { weight: 1.0 };

#[test]
fn each_rule_gives_its_own_reason() {
    let publisher = Publisher::new(1);
    let store = TempDir::new("reasons");
    let gate = gate_with_plan(&publisher, &store, &standard_plan(3));

    assert_eq!(gate.decide("checkout.completed".into(), 100), KEEP);
    assert_eq!(gate.decide("legacy.banner_seen".into(), 100), drop(DropReason::Retired));
    assert_eq!(gate.decide("photo.uploaded".into(), 1000), KEEP);
    assert_eq!(gate.decide("photo.uploaded".into(), 1001), drop(DropReason::Oversize));
    assert_eq!(gate.decide("scroll.depth".into(), 10), drop(DropReason::SampledOut));
    assert_eq!(gate.decide("search.typed".into(), 10), KEEP);
    assert_eq!(gate.decide("search.typed".into(), 10), drop(DropReason::RateLimited));
    assert_eq!(gate.decide("typo.evnt".into(), 10), drop(DropReason::Unregistered));
    assert_eq!(gate.decide("has space".into(), 10), drop(DropReason::InvalidName));
    assert_eq!(gate.decide(String::new(), 10), drop(DropReason::InvalidName));
    assert_eq!(gate.decide("x".repeat(129), 10), drop(DropReason::InvalidName));
}

#[test]
fn shed_and_disabled_plans() {
    let publisher = Publisher::new(1);
    let store = TempDir::new("shed");
    let shed = plan(4, r#""shed_below": "P1","#, r#""a.p0": {"priority": "P0"}, "a.p2": {"priority": "P2"}"#);
    let gate = gate_with_plan(&publisher, &store, &shed);
    assert_eq!(gate.decide("a.p0".into(), 1), KEEP);
    assert_eq!(gate.decide("a.p2".into(), 1), drop(DropReason::Shed));

    let disabled = plan(5, r#""enabled": false,"#, r#""a.p0": {"priority": "P0"}"#);
    assert!(matches!(gate.apply_plan(publisher.seal(&disabled)), ApplyOutcome::Installed { version: 5, .. }));
    assert_eq!(gate.decide("a.p0".into(), 1), drop(DropReason::Disabled));
    // The kill switch comes first, before any name check.
    assert_eq!(gate.decide("bad name".into(), 1), drop(DropReason::Disabled));
}

#[test]
fn a_sampled_event_kept_for_this_unit_carries_its_weight() {
    let publisher = Publisher::new(1);
    let store = TempDir::new("weight");
    let salt = "w";
    let unit = (0..1000)
        .map(|index| format!("unit-{index}"))
        .find(|unit| sampling_is_kept(sampling_random_value(salt.into(), unit.clone()), 250_000))
        .expect("a quarter of units are kept");
    let sampled = plan(3, r#""sampling_salt": "w","#, r#""feed.viewed": {"priority": "P2", "sample": 0.25}"#);
    let mut options = options(&publisher, &store);
    options.unit_id = Some(unit);
    options.bundled_plan = Some(publisher.seal(&sampled));
    let gate = Gate::new(options).unwrap();
    assert_eq!(gate.decide("feed.viewed".into(), 1), Decision::Keep { weight: 4.0 });
}

#[test]
fn resolve_gives_ids_and_typed_errors() {
    let publisher = Publisher::new(1);
    let store = TempDir::new("resolve");
    let gate = gate_with_plan(&publisher, &store, &standard_plan(3));

    let checkout = gate.resolve("checkout.completed".into()).unwrap();
    let retired = gate.resolve("legacy.banner_seen".into()).unwrap();
    assert_ne!(checkout, retired);
    assert_eq!(gate.decide_id(checkout, 5).unwrap(), KEEP);
    assert_eq!(gate.decide_id(retired, 5).unwrap(), drop(DropReason::Retired));

    let error = gate.resolve("typo.evnt".into()).unwrap_err();
    assert!(matches!(error, GateError::Unregistered { .. }), "{error:?}");
    assert_eq!(error.to_string(), r#"resolve("typo.evnt"): event is not registered in the active plan"#);

    let error = gate.resolve("bad name".into()).unwrap_err();
    assert!(matches!(error, GateError::InvalidName { .. }), "{error:?}");
    assert!(error.to_string().starts_with(r#"resolve("bad name"): invalid event name"#), "{error}");
    assert!(error.to_string().contains("at byte 3"), "{error}");

    // A huge name is quoted shortened, so messages stay small.
    let error = gate.resolve("n".repeat(10_000)).unwrap_err();
    assert!(error.to_string().len() < 250, "{error}");
}

#[test]
fn ids_go_stale_when_a_new_plan_is_installed() {
    let publisher = Publisher::new(1);
    let store = TempDir::new("stale");
    let gate = gate_with_plan(&publisher, &store, &standard_plan(3));
    let id = gate.resolve("checkout.completed".into()).unwrap();
    assert!(matches!(gate.apply_plan(publisher.seal(&standard_plan(4))), ApplyOutcome::Installed { .. }));

    let error = gate.decide_id(id, 5).unwrap_err();
    assert!(matches!(error, GateError::StaleEventId { id: stale } if stale == id), "{error:?}");
    assert!(error.to_string().starts_with(&format!("decide_id({id:#x}): ")), "{error}");
    // Any integer is safe to pass: it is simply stale.
    for id in [0, 1, u64::MAX, u64::from(u32::MAX), id + 1_000] {
        assert!(matches!(gate.decide_id(id, 1), Err(GateError::StaleEventId { .. })));
    }
    let fresh = gate.resolve("checkout.completed".into()).unwrap();
    assert_eq!(gate.decide_id(fresh, 5).unwrap(), KEEP);
    // The stale calls were not counted; the fresh one was.
    let report = gate.take_report().report;
    assert_eq!((report.offered, report.kept), (1, 1));
}

#[test]
fn absurd_sizes_decide_as_in_the_core_and_are_counted_capped() {
    let publisher = Publisher::new(1);
    let store = TempDir::new("sizes");
    let plan_json = standard_plan(3);
    let gate = gate_with_plan(&publisher, &store, &plan_json);
    // The core engine, given the sizes unclamped, is the reference for every decision.
    let plan = trackgate_core::parse_plan(&plan_json).unwrap().plan;
    let options = trackgate_core::EngineOptions { unit_id: Some("install-1".into()), ..Default::default() };
    let core = trackgate_core::Engine::new(trackgate_core::CompiledPlan::compile(&plan).unwrap(), options).unwrap();
    for size in [u64::from(u32::MAX) - 1, u64::from(u32::MAX), MAX_COUNTED_EVENT_BYTES, u64::MAX / 2, u64::MAX] {
        for name in ["photo.uploaded", "checkout.completed", "typo.evnt"] {
            assert_eq!(gate.decide(name.into(), size), core.decide(name, size), "{name} at {size}");
        }
    }
    gate.take_report();
    for _ in 0..1000 {
        gate.decide("checkout.completed".into(), u64::MAX);
        gate.decide("typo.evnt".into(), u64::MAX);
    }
    let id = gate.resolve("photo.uploaded".into()).unwrap();
    assert_eq!(gate.decide_id(id, u64::MAX).unwrap(), drop(DropReason::Oversize));
    // Byte sums of absurd sizes would overflow u64; the core counts each size up to 4 GiB, so
    // the report is exact (the gate passes sizes through unchanged).
    let report = gate.take_report().report;
    assert_eq!(report.offered, 2001);
    assert_eq!(report.kept_bytes + report.dropped_bytes, 2001 * MAX_COUNTED_EVENT_BYTES);
}
