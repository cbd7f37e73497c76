//! The scalar fast path (`trackgate_decide_id_scalar` with `Gate::scalar_token`): the same
//! decisions and counts as `Gate::decide_id`, stale ids refused uncounted, and tokens that die
//! with their gate.

mod common;

use common::*;
use trackgate_ffi::{
    drop_reason_code, trackgate_decide_id_scalar, ApplyOutcome, Decision, SCALAR_STALE, SCALAR_UNKNOWN_TOKEN,
};

/// What `trackgate_decide_id_scalar` returns for `decision`.
fn encoded(decision: Decision) -> f64 {
    match decision {
        Decision::Keep { weight } => weight,
        Decision::Drop { reason } => -f64::from(drop_reason_code(reason)),
    }
}

#[test]
fn scalar_decisions_equal_decide_id_and_are_counted_alike() {
    let publisher = Publisher::new(1);
    let (store_a, store_b) = (TempDir::new("scalar-a"), TempDir::new("scalar-b"));
    let by_scalar = gate_with_plan(&publisher, &store_a, &standard_plan(3));
    let by_id = gate_with_plan(&publisher, &store_b, &standard_plan(3));
    let token = by_scalar.scalar_token().expect("a free slot");
    assert_eq!(by_scalar.scalar_token(), Some(token), "one token per gate");
    let cases = [
        ("checkout.completed", 100),
        ("legacy.banner_seen", 100),
        ("photo.uploaded", 1000),
        ("photo.uploaded", 1001),
        ("photo.uploaded", u64::MAX),
        ("scroll.depth", 10),
        ("search.typed", 10),
        ("search.typed", 10),
    ];
    for (name, size) in cases {
        let expected = by_id.decide_id(by_id.resolve(name.into()).unwrap(), size).unwrap();
        let id = by_scalar.resolve(name.into()).unwrap();
        assert_eq!(trackgate_decide_id_scalar(token, id, size), encoded(expected), "{name} at {size} bytes");
    }
    assert_eq!(trackgate_decide_id_scalar(token, 0, 1), SCALAR_STALE, "an id never issued is stale");
    let (scalar_report, id_report) = (by_scalar.take_report().report, by_id.take_report().report);
    assert_eq!(scalar_report.events, id_report.events);
    assert_eq!((scalar_report.offered, scalar_report.kept), (id_report.offered, id_report.kept));
}

#[test]
fn a_stale_id_is_refused_and_not_counted() {
    let publisher = Publisher::new(1);
    let store = TempDir::new("scalar-stale");
    let gate = gate_with_plan(&publisher, &store, &standard_plan(3));
    let token = gate.scalar_token().unwrap();
    let id = gate.resolve("checkout.completed".into()).unwrap();
    assert_eq!(trackgate_decide_id_scalar(token, id, 10), 1.0);
    assert!(matches!(gate.apply_plan(publisher.seal(&standard_plan(4))), ApplyOutcome::Installed { .. }));
    let _ = gate.take_report();
    assert_eq!(trackgate_decide_id_scalar(token, id, 10), SCALAR_STALE);
    assert_eq!(gate.take_report().report.offered, 0, "a stale id decides nothing");
    let fresh = gate.resolve("checkout.completed".into()).unwrap();
    assert_eq!(trackgate_decide_id_scalar(token, fresh, 10), 1.0, "the token outlives plan changes");
}

#[test]
fn a_token_dies_with_its_gate_and_is_never_reused() {
    let publisher = Publisher::new(1);
    let (store_a, store_b) = (TempDir::new("scalar-old"), TempDir::new("scalar-new"));
    let first = gate_with_plan(&publisher, &store_a, &standard_plan(3));
    let old_token = first.scalar_token().unwrap();
    let id = first.resolve("checkout.completed".into()).unwrap();
    drop(first);
    assert_eq!(trackgate_decide_id_scalar(old_token, id, 10), SCALAR_UNKNOWN_TOKEN);
    let second = gate_with_plan(&publisher, &store_b, &standard_plan(3));
    let new_token = second.scalar_token().unwrap();
    assert_ne!(new_token, old_token);
    assert_eq!(trackgate_decide_id_scalar(old_token, id, 10), SCALAR_UNKNOWN_TOKEN, "old tokens stay dead");
    let new_id = second.resolve("checkout.completed".into()).unwrap();
    assert_eq!(trackgate_decide_id_scalar(old_token, new_id, 10), SCALAR_UNKNOWN_TOKEN);
    assert_eq!(trackgate_decide_id_scalar(new_token, new_id, 10), 1.0);
    assert_eq!(trackgate_decide_id_scalar(u64::MAX, id, 10), SCALAR_UNKNOWN_TOKEN);
    assert_eq!(second.take_report().report.offered, 1, "only the live gate counted");
}
