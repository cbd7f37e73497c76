//! Fetching through an app transport: installs, 304s, request headers, and every way a
//! transport can misbehave (errors, garbage, oversized bodies, panics) leaving the gate on its
//! last good plan with the schedule backing off.

mod common;

use std::sync::Arc;

use common::*;
use trackgate_ffi::{Decision, DropReason, FetchResult, Gate, GateError, HttpResponse, PlanSource, TransportError};

fn started(transport: &Arc<ScriptedTransport>, publisher: &Publisher, store: &TempDir) -> Gate {
    let mut options = options_with_transport(publisher, store, Arc::clone(transport));
    options.bundled_plan = Some(publisher.seal(&standard_plan(3)));
    Gate::new(options).unwrap()
}

fn assert_on_last_good_plan(gate: &Gate) {
    let status = gate.status();
    assert_eq!((status.source, status.version), (PlanSource::Bundled, 3));
    assert_eq!(gate.decide("legacy.banner_seen".into(), 1), Decision::Drop { reason: DropReason::Retired });
    assert!(gate.decide("checkout.completed".into(), 1).is_keep());
}

#[test]
fn a_fetch_installs_a_newer_plan_and_sends_the_etag_next_time() {
    let publisher = Publisher::new(1);
    let store = TempDir::new("fetch");
    let transport = ScriptedTransport::new(vec![ok(publisher.seal(&standard_plan(4)), "\"v4\"")]);
    let gate = started(&transport, &publisher, &store);

    // A first start with no fetch history is due at once.
    assert_eq!(gate.fetch_if_due().unwrap(), FetchResult::Installed { version: 4 });
    let request = transport.last_request();
    assert_eq!(request.url, PLAN_URL);
    assert_eq!(request.body_limit, 8 * 1024 * 1024);
    assert!(request.headers.contains(&header("Accept", "application/vnd.trackgate.plan")));
    let status = gate.status();
    assert_eq!((status.source, status.version, status.consecutive_failures), (PlanSource::Network, 4, 0));
    assert!(status.last_success_unix.is_some());
    assert!(status.next_fetch_unix > unix_now() + 50 * 60, "refresh in about an hour: {status:?}");

    // Nothing is due now: no request is made.
    assert!(matches!(gate.fetch_if_due().unwrap(), FetchResult::NotDue { .. }));
    assert_eq!(transport.request_count(), 1);
}

#[test]
fn not_modified_keeps_the_plan_and_refresh_now_keeps_its_minimum_gap() {
    let publisher = Publisher::new(1);
    let store = TempDir::new("304");
    let transport = ScriptedTransport::new(vec![status(304)]);
    let gate = started(&transport, &publisher, &store);
    assert_eq!(gate.refresh_now().unwrap(), FetchResult::Unchanged);
    assert!(!transport.last_request().headers.iter().any(|header| header.name == "If-None-Match"));
    let status = gate.status();
    assert_eq!((status.source, status.version, status.consecutive_failures), (PlanSource::Bundled, 3, 0));
    assert!(status.last_success_unix.is_some());

    // A second refresh within a minute of the last request is held back, as is a foreground.
    let held = gate.refresh_now().unwrap();
    assert!(matches!(held, FetchResult::NotDue { next_fetch_unix } if next_fetch_unix > unix_now()), "{held:?}");
    assert!(matches!(gate.on_foreground().unwrap(), FetchResult::NotDue { .. }));
    assert_eq!(transport.request_count(), 1);
    drop(gate);

    // The schedule survives a restart: the refresh interval is not over, so nothing is sent.
    let gate = Gate::new(options_with_transport(&publisher, &store, Arc::clone(&transport))).unwrap();
    assert_eq!(gate.status().source, PlanSource::Cache);
    assert!(matches!(gate.fetch_if_due().unwrap(), FetchResult::NotDue { .. }));
    assert_eq!(transport.request_count(), 1);
}

#[test]
fn transport_errors_and_http_failures_back_off_on_the_last_good_plan() {
    let publisher = Publisher::new(1);
    let cases: Vec<(Step, &str)> = vec![
        (Step::Answer(Err(TransportError::Connect { reason: "refused".into() })), "transport: Connect: refused"),
        (Step::Answer(Err(TransportError::Timeout { reason: "30 s".into() })), "transport: Timeout: 30 s"),
        (Step::Answer(Err(TransportError::BodyTooLarge { reason: "9 MB".into() })), "transport: BodyTooLarge"),
        (Step::Answer(Err(TransportError::Protocol { reason: "reset".into() })), "transport: Protocol: reset"),
        (status(500), "HTTP 500"),
        (status(404), "HTTP 404: long backoff"),
        (status(0), "HTTP 0"),
    ];
    for (index, (step, expected)) in cases.into_iter().enumerate() {
        let store = TempDir::new(&format!("errors-{index}"));
        let transport = ScriptedTransport::new(vec![step]);
        let gate = started(&transport, &publisher, &store);
        let outcome = gate.fetch_if_due().unwrap();
        assert!(matches!(&outcome, FetchResult::Failed { reason } if reason.contains(expected)), "{outcome:?}");
        assert_on_last_good_plan(&gate);
        let status = gate.status();
        assert_eq!(status.consecutive_failures, 1);
        assert!(status.last_error.as_deref().is_some_and(|error| error.contains(expected)), "{status:?}");
        // Backing off: the next call does not hit the transport again.
        assert!(matches!(gate.fetch_if_due().unwrap(), FetchResult::NotDue { .. }));
        assert_eq!(transport.request_count(), 1);
    }
}

#[test]
fn garbage_from_the_server_is_refused_and_the_plan_stays() {
    let publisher = Publisher::new(1);
    let bodies: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"<html>502 Bad Gateway</html>".to_vec(),
        (0..=255).collect(),
        Publisher::new(7).seal(&standard_plan(9)),
        publisher.seal(&standard_plan(2)),
    ];
    for (index, body) in bodies.into_iter().enumerate() {
        let store = TempDir::new(&format!("garbage-{index}"));
        let transport = ScriptedTransport::new(vec![ok(body, "\"x\"")]);
        let gate = started(&transport, &publisher, &store);
        let outcome = gate.fetch_if_due().unwrap();
        assert!(matches!(outcome, FetchResult::Refused { .. }), "body {index}: {outcome:?}");
        assert_on_last_good_plan(&gate);
        assert_eq!(gate.status().consecutive_failures, 1);
    }
}

#[test]
fn a_body_beyond_the_limit_is_refused_before_parsing() {
    let publisher = Publisher::new(1);
    let store = TempDir::new("oversized");
    let transport = ScriptedTransport::new(vec![ok(vec![0; 8 * 1024 * 1024 + 1], "\"big\"")]);
    let gate = started(&transport, &publisher, &store);
    let outcome = gate.fetch_if_due().unwrap();
    assert!(
        matches!(&outcome, FetchResult::Failed { reason } if reason.contains("more than the limit of 8388608")),
        "{outcome:?}"
    );
    assert_on_last_good_plan(&gate);
}

#[test]
fn a_panicking_transport_is_a_failed_fetch_and_the_gate_keeps_working() {
    let publisher = Publisher::new(1);
    let store = TempDir::new("panic");
    let transport = ScriptedTransport::new(vec![Step::Panic("socket exploded")]);
    let gate = started(&transport, &publisher, &store);
    let outcome = gate.fetch_if_due().unwrap();
    assert!(
        matches!(&outcome, FetchResult::Failed { reason } if reason.contains("transport panicked: socket exploded")),
        "{outcome:?}"
    );
    assert_on_last_good_plan(&gate);
    // The fetch was completed (not left in flight) and the schedule backs off; control calls
    // still work, and a plan can still be applied.
    assert_eq!(gate.status().consecutive_failures, 1);
    assert!(matches!(gate.fetch_if_due().unwrap(), FetchResult::NotDue { .. }));
    assert!(matches!(
        gate.apply_plan(publisher.seal(&standard_plan(4))),
        trackgate_ffi::ApplyOutcome::Installed { .. }
    ));
}

#[test]
fn fetch_calls_without_a_transport_are_typed_errors() {
    let publisher = Publisher::new(1);
    let store = TempDir::new("notransport");
    let gate = gate_with_plan(&publisher, &store, &standard_plan(3));
    for (call, result) in [
        ("fetch_if_due", gate.fetch_if_due()),
        ("refresh_now", gate.refresh_now()),
        ("on_foreground", gate.on_foreground()),
    ] {
        let error = result.unwrap_err();
        assert!(matches!(error, GateError::NoTransport { call: named } if named == call), "{error:?}");
        assert!(error.to_string().starts_with(&format!("{call}: no transport configured")), "{error}");
    }
}

#[test]
fn response_headers_reach_the_schedule() {
    let publisher = Publisher::new(1);
    let store = TempDir::new("headers");
    let transport = ScriptedTransport::new(vec![Step::Answer(Ok(HttpResponse {
        status: 503,
        headers: vec![header("retry-after", "7200")],
        body: Vec::new(),
    }))]);
    let gate = started(&transport, &publisher, &store);
    let outcome = gate.fetch_if_due().unwrap();
    assert!(matches!(&outcome, FetchResult::Failed { reason } if reason.contains("retry after 7200 s")), "{outcome:?}");
    let next = gate.status().next_fetch_unix;
    let now = unix_now();
    assert!((now + 7200 - 60..=now + 7200 + 60).contains(&next), "next {next}, now {now}");
}

#[test]
fn a_forged_date_from_the_transport_neither_expires_the_plan_nor_refuses_the_next() {
    let publisher = Publisher::new(1);
    let store = TempDir::new("forged-date");
    let forged =
        HttpResponse { status: 304, headers: vec![header("Date", "Fri, 31 Dec 9999 23:59:59 GMT")], body: Vec::new() };
    let transport = ScriptedTransport::new(vec![Step::Answer(Ok(forged))]);
    let gate = started(&transport, &publisher, &store);
    assert_eq!(gate.fetch_if_due().unwrap(), FetchResult::Unchanged);
    // Age and expiry are judged by trusted time: the device clock and signed `issued_at`.
    let status = gate.status();
    assert!(!status.expired && status.age_seconds.is_some_and(|age| age < DAY + 60), "{status:?}");
    let next = gate.apply_plan(publisher.seal(&standard_plan(4)));
    assert!(matches!(next, trackgate_ffi::ApplyOutcome::Installed { .. }), "{next:?}");
    drop(gate);
    let restarted = Gate::new(options(&publisher, &store)).unwrap();
    let status = restarted.status();
    assert_eq!((status.source, status.version, status.expired), (PlanSource::Cache, 4, false), "{status:?}");
}

#[test]
fn a_rollout_salt_sends_the_devices_bucket_and_never_its_unit_id() {
    let publisher = Publisher::new(1);
    let store = TempDir::new("rollout-salt");
    let transport = ScriptedTransport::new(vec![ok(publisher.seal(&standard_plan(4)), "\"v4\"")]);
    let mut gate_options = options_with_transport(&publisher, &store, Arc::clone(&transport));
    gate_options.unit_id = Some("install-7f3a".into());
    gate_options.rollout_salt = Some("shop/prod".into());
    let gate = Gate::new(gate_options).unwrap();
    assert_eq!(gate.fetch_if_due().unwrap(), FetchResult::Installed { version: 4 });
    let request = transport.last_request();
    let bucket = trackgate_delivery::rollout_bucket("install-7f3a", "shop/prod");
    assert!(request.headers.contains(&header("trackgate-rollout-bucket", &bucket.to_string())), "{request:?}");
    assert!(request.headers.iter().all(|header| !header.value.contains("install-7f3a")), "{request:?}");

    // Without a salt no bucket is sent (the device is outside every partial stage).
    let store = TempDir::new("rollout-no-salt");
    let transport = ScriptedTransport::new(vec![ok(publisher.seal(&standard_plan(4)), "\"v4\"")]);
    let gate = started(&transport, &publisher, &store);
    gate.fetch_if_due().unwrap();
    assert!(transport.last_request().headers.iter().all(|header| header.name != "trackgate-rollout-bucket"));

    for bad in [String::new(), "s".repeat(257)] {
        let mut gate_options = options(&publisher, &TempDir::new("rollout-bad-salt"));
        gate_options.rollout_salt = Some(bad);
        match Gate::new(gate_options) {
            Err(GateError::InvalidOptions { field, .. }) => assert_eq!(field, "rollout_salt"),
            other => panic!("expected InvalidOptions for rollout_salt, got {other:?}"),
        }
    }
}

#[test]
fn refresh_now_min_gap_seconds_shortens_the_gap_within_bounds() {
    let publisher = Publisher::new(1);
    let store = TempDir::new("refresh-gap");
    let transport = ScriptedTransport::new(vec![status(304), status(304)]);
    let mut gate_options = options_with_transport(&publisher, &store, Arc::clone(&transport));
    gate_options.bundled_plan = Some(publisher.seal(&standard_plan(3)));
    gate_options.refresh_now_min_gap_seconds = Some(1);
    let gate = Gate::new(gate_options).unwrap();
    assert_eq!(gate.refresh_now().unwrap(), FetchResult::Unchanged);
    // Held back for at most the configured second (the default holds it for a minute).
    let before = unix_now();
    match gate.refresh_now().unwrap() {
        FetchResult::NotDue { next_fetch_unix } => {
            assert!(next_fetch_unix <= before + 2, "{next_fetch_unix} vs {before}")
        }
        FetchResult::Unchanged => {} // the second had already passed
        other => panic!("expected NotDue or Unchanged, got {other:?}"),
    }

    for bad in [0, 3601] {
        let mut gate_options = options(&publisher, &TempDir::new("refresh-gap-bad"));
        gate_options.refresh_now_min_gap_seconds = Some(bad);
        match Gate::new(gate_options) {
            Err(GateError::InvalidOptions { field, .. }) => assert_eq!(field, "refresh_now_min_gap_seconds"),
            other => panic!("expected InvalidOptions for the gap {bad}, got {other:?}"),
        }
    }
}
