//! The scalar fast path (`trackgate_decide_id_scalar`, `trackgate_decide_name_scalar` and
//! `trackgate_resolve_scalar` with `Gate::scalar_token`): the same decisions, ids and counts as
//! `Gate::decide_id`, `Gate::decide` and `Gate::resolve`, stale ids refused uncounted, bad name
//! pointers and bytes handled without deciding or panicking, and tokens that die with their gate.

mod common;

use common::*;
use trackgate_ffi::{
    drop_reason_code, trackgate_decide_id_scalar, trackgate_decide_name_scalar, trackgate_resolve_scalar, ApplyOutcome,
    Decision, Gate, SCALAR_BAD_NAME, SCALAR_NO_ID, SCALAR_STALE, SCALAR_UNKNOWN_TOKEN,
};

/// What `trackgate_decide_id_scalar` returns for `decision`.
fn encoded(decision: Decision) -> f64 {
    match decision {
        Decision::Keep { weight } => weight,
        Decision::Drop { reason } => -f64::from(drop_reason_code(reason)),
    }
}

/// `trackgate_decide_name_scalar` on `bytes`, as a binding calls it.
fn decide_name(token: u64, bytes: &[u8], size_bytes: u64) -> f64 {
    // SAFETY:
    // 1. `bytes` is a live slice of `bytes.len()` bytes, not written during the call.
    unsafe { trackgate_decide_name_scalar(token, bytes.as_ptr(), bytes.len() as u64, size_bytes) }
}

/// `trackgate_resolve_scalar` on `bytes`, as a binding calls it.
fn resolve(token: u64, bytes: &[u8]) -> u64 {
    // SAFETY:
    // 1. `bytes` is a live slice of `bytes.len()` bytes, not written during the call.
    unsafe { trackgate_resolve_scalar(token, bytes.as_ptr(), bytes.len() as u64) }
}

/// The report of `gate` without its window times, for comparing two gates' counts.
fn counts(gate: &Gate) -> trackgate_ffi::DropReport {
    let mut report = gate.take_report().report;
    (report.window_start_unix_ms, report.window_end_unix_ms) = (0, 0);
    report
}

/// Names of every kind: registered (kept, retired, capped, sampled out, rate limited),
/// unregistered, and invalid (bad characters, empty, over-long, non-ASCII).
const NAMES: [&str; 10] = [
    "checkout.completed",
    "legacy.banner_seen",
    "photo.uploaded",
    "scroll.depth",
    "search.typed",
    "not.in.plan",
    "another.unknown",
    "has space",
    "",
    "événement",
];

/// Decides every name of [`NAMES`] (and an over-long one) three times on `by_name` through the
/// scalar name function and on `reference` through `Gate::decide`, comparing call for call, then
/// the reports (unregistered names' table included).
fn assert_names_decide_alike(by_name: &Gate, reference: &Gate) {
    let token = by_name.scalar_token().expect("a free slot");
    let long = "a".repeat(129);
    let names = NAMES.iter().copied().chain([long.as_str()]);
    for round in 0..3u64 {
        for (index, name) in names.clone().enumerate() {
            let size = 100 * index as u64 + round * 500;
            let expected = encoded(reference.decide(name.into(), size));
            assert_eq!(decide_name(token, name.as_bytes(), size), expected, "{name:?} at {size} bytes");
        }
    }
    assert_eq!(counts(by_name), counts(reference));
}

#[test]
fn name_decisions_equal_decide_and_are_counted_alike() {
    let publisher = Publisher::new(1);
    let (store_a, store_b) = (TempDir::new("scalar-name-a"), TempDir::new("scalar-name-b"));
    let by_name = gate_with_plan(&publisher, &store_a, &standard_plan(3));
    let reference = gate_with_plan(&publisher, &store_b, &standard_plan(3));
    assert_names_decide_alike(&by_name, &reference);
}

#[test]
fn name_decisions_equal_decide_under_a_kill_switch_in_shadow_mode_and_keeping_unregistered_names() {
    let publisher = Publisher::new(1);
    let events =
        r#""checkout.completed": {"priority": "P0"}, "legacy.banner_seen": {"priority": "P3", "status": "retired"}"#;
    for (label, extra) in
        [("disabled", r#""enabled": false,"#), ("shadow", r#""shadow": true,"#), ("keep", r#""unregistered": "keep","#)]
    {
        let (store_a, store_b) =
            (TempDir::new(&format!("scalar-{label}-a")), TempDir::new(&format!("scalar-{label}-b")));
        let plan_json = plan(3, extra, events);
        let by_name = gate_with_plan(&publisher, &store_a, &plan_json);
        let reference = gate_with_plan(&publisher, &store_b, &plan_json);
        assert_names_decide_alike(&by_name, &reference);
    }
}

#[test]
fn bytes_that_are_not_utf8_are_decided_as_an_invalid_name() {
    let publisher = Publisher::new(1);
    let (store_a, store_b) = (TempDir::new("scalar-utf8-a"), TempDir::new("scalar-utf8-b"));
    let by_name = gate_with_plan(&publisher, &store_a, &standard_plan(3));
    let reference = gate_with_plan(&publisher, &store_b, &standard_plan(3));
    let token = by_name.scalar_token().unwrap();
    for bytes in [&b"\xff"[..], b"checkout.completed\xff", b"\xed\xa0\x80", b"\xc3"] {
        let expected = encoded(reference.decide("has space".into(), 7));
        assert_eq!(decide_name(token, bytes, 7), expected, "{bytes:?}");
        assert_eq!(resolve(token, bytes), SCALAR_NO_ID, "{bytes:?}");
    }
    assert_eq!(counts(&by_name), counts(&reference));
}

#[test]
fn bad_pointers_and_lengths_decide_nothing() {
    let publisher = Publisher::new(1);
    let (store_a, store_b) = (TempDir::new("scalar-null-a"), TempDir::new("scalar-null-b"));
    let gate = gate_with_plan(&publisher, &store_a, &standard_plan(3));
    let reference = gate_with_plan(&publisher, &store_b, &standard_plan(3));
    let token = gate.scalar_token().unwrap();
    // SAFETY (each call below):
    // 1. the pointer is null, or `name_length` is 0, so no byte is read.
    unsafe {
        // Null with length 0 is the empty name: decided and counted as `decide("")`.
        assert_eq!(
            trackgate_decide_name_scalar(token, std::ptr::null(), 0, 5),
            encoded(reference.decide(String::new(), 5))
        );
        assert_eq!(trackgate_resolve_scalar(token, std::ptr::null(), 0), SCALAR_NO_ID);
        // A dangling but non-null pointer with length 0 reads nothing either.
        assert_eq!(
            trackgate_decide_name_scalar(token, std::ptr::NonNull::dangling().as_ptr(), 0, 5),
            encoded(reference.decide(String::new(), 5))
        );
        for length in [1, 18, u64::MAX] {
            assert_eq!(trackgate_decide_name_scalar(token, std::ptr::null(), length, 5), SCALAR_BAD_NAME);
            assert_eq!(trackgate_resolve_scalar(token, std::ptr::null(), length), SCALAR_NO_ID);
        }
    }
    assert_eq!(counts(&gate), counts(&reference), "only the two empty names were counted");
}

#[test]
fn resolve_gives_the_ids_gate_resolve_gives_and_no_id_otherwise() {
    let publisher = Publisher::new(1);
    let store = TempDir::new("scalar-resolve");
    let gate = gate_with_plan(&publisher, &store, &standard_plan(3));
    let token = gate.scalar_token().unwrap();
    let long = "a".repeat(129);
    for (index, name) in NAMES.iter().copied().chain([long.as_str()]).enumerate() {
        let expected = gate.resolve(name.into()).unwrap_or(SCALAR_NO_ID);
        assert_eq!(resolve(token, name.as_bytes()), expected, "{name:?}");
        assert_eq!(expected != SCALAR_NO_ID, index < 5, "only the registered names have ids: {name:?}");
    }
    let id = resolve(token, b"photo.uploaded");
    let oversize = -f64::from(drop_reason_code(trackgate_ffi::DropReason::Oversize));
    assert_eq!(trackgate_decide_id_scalar(token, id, 2000), oversize);
    assert_eq!(gate.take_report().report.offered, 1, "resolving counts nothing");
    assert_eq!(resolve(token + 1, b"photo.uploaded"), SCALAR_NO_ID, "an unknown token resolves nothing");
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
    assert_eq!(decide_name(old_token, b"checkout.completed", 10), SCALAR_UNKNOWN_TOKEN);
    assert_eq!(resolve(old_token, b"checkout.completed"), SCALAR_NO_ID);
    let second = gate_with_plan(&publisher, &store_b, &standard_plan(3));
    let new_token = second.scalar_token().unwrap();
    assert_ne!(new_token, old_token);
    assert_eq!(trackgate_decide_id_scalar(old_token, id, 10), SCALAR_UNKNOWN_TOKEN, "old tokens stay dead");
    let new_id = second.resolve("checkout.completed".into()).unwrap();
    assert_eq!(trackgate_decide_id_scalar(old_token, new_id, 10), SCALAR_UNKNOWN_TOKEN);
    assert_eq!(trackgate_decide_id_scalar(new_token, new_id, 10), 1.0);
    assert_eq!(trackgate_decide_id_scalar(u64::MAX, id, 10), SCALAR_UNKNOWN_TOKEN);
    assert_eq!(decide_name(u64::MAX, b"checkout.completed", 10), SCALAR_UNKNOWN_TOKEN);
    assert_eq!(second.take_report().report.offered, 1, "only the live gate counted");
}
