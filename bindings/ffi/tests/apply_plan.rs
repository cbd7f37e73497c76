//! `apply_plan`: verification, persistence and swap, with every refusal an outcome that leaves
//! the active plan in place and shows in `status().last_error`.

mod common;

use common::*;
use trackgate_ffi::{ApplyOutcome, Decision, DropReason, Gate, PlanSource};

fn refused_kind(outcome: &ApplyOutcome) -> &str {
    match outcome {
        ApplyOutcome::Refused { kind, .. } => kind,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_newer_signed_plan_is_installed_then_already_current() {
    let publisher = Publisher::new(1);
    let store = TempDir::new("install");
    let gate = gate_with_plan(&publisher, &store, &standard_plan(3));
    let envelope = publisher.seal(&plan(4, "", r#""legacy.banner_seen": {"priority": "P3"}"#));
    assert_eq!(gate.apply_plan(envelope.clone()), ApplyOutcome::Installed { previous_version: 3, version: 4 });
    assert_eq!(gate.decide("legacy.banner_seen".into(), 1), Decision::Keep { weight: 1.0 });
    assert_eq!(gate.decide("checkout.completed".into(), 1), Decision::Drop { reason: DropReason::Unregistered });
    let status = gate.status();
    assert_eq!((status.source, status.version, status.last_error), (PlanSource::Network, 4, None));
    assert_eq!(gate.apply_plan(envelope), ApplyOutcome::AlreadyCurrent);
}

#[test]
fn every_refusal_keeps_the_active_plan() {
    let publisher = Publisher::new(1);
    let stranger = Publisher::new(2);
    let store = TempDir::new("refusals");
    let gate = gate_with_plan(&publisher, &store, &standard_plan(5));
    let now = unix_now();

    let mut forged = publisher.seal(&standard_plan(6));
    let last = forged.len() - 1;
    forged[last] ^= 1;
    let other_app = standard_plan(6).replace(r#""app": "shop""#, r#""app": "bank""#);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("malformed", b"not an envelope at all".to_vec()),
        ("malformed", Vec::new()),
        ("too_large", vec![0; 8 * 1024 * 1024 + 1]),
        ("unknown_key", stranger.seal(&standard_plan(6))),
        ("bad_signature", forged),
        ("wrong_scope", publisher.seal(&other_app)),
        ("rollback", publisher.seal(&standard_plan(4))),
        ("equivocation", publisher.seal(&plan(5, "", r#""other.event": {"priority": "P1"}"#))),
        ("expired", publisher.seal_at(&standard_plan(6), now - 40 * DAY, now - 10 * DAY)),
        ("issued_in_future", publisher.seal_at(&standard_plan(6), now + 10 * DAY, now + 40 * DAY)),
    ];
    for (kind, envelope) in cases {
        let outcome = gate.apply_plan(envelope);
        assert_eq!(refused_kind(&outcome), kind, "{outcome:?}");
        let status = gate.status();
        assert_eq!((status.source, status.version), (PlanSource::Bundled, 5), "after {kind}");
        let ApplyOutcome::Refused { reason, .. } = outcome else { unreachable!() };
        assert_eq!(status.last_error.as_deref(), Some(reason.as_str()), "after {kind}");
        assert_eq!(gate.decide("legacy.banner_seen".into(), 1), Decision::Drop { reason: DropReason::Retired });
    }

    // A good plan still goes through afterwards and clears the error.
    assert!(matches!(gate.apply_plan(publisher.seal(&standard_plan(6))), ApplyOutcome::Installed { version: 6, .. }));
    assert_eq!(gate.status().last_error, None);
}

#[test]
fn a_refused_plan_is_not_what_the_next_start_loads() {
    let publisher = Publisher::new(1);
    let store = TempDir::new("restart");
    let gate = gate_with_plan(&publisher, &store, &standard_plan(3));
    assert_eq!(refused_kind(&gate.apply_plan(Publisher::new(9).seal(&standard_plan(8)))), "unknown_key");
    drop(gate);
    let gate = Gate::new(options(&publisher, &store)).unwrap();
    assert_eq!((gate.status().source, gate.status().version), (PlanSource::Cache, 3));
}
