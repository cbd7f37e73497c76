//! Trusted time (`docs/config-delivery.md`, "Trusted time"): no unsigned input — a response's
//! `Date`, its status, a body that fails verification — can move the time expiry is judged by
//! so that a correctly signed, unexpired plan is refused, on any status and across restarts.
//! State poisoned by the rule that trusted `Date` repairs itself at load and keeps its cached
//! plan. Setting the device clock back still cannot revive a plan that expired before the
//! newest signed plan the device has seen was issued.

mod common;

use std::sync::Arc;

use common::*;
use trackgate_core::ManualClock;
use trackgate_delivery::transport::format_http_date;
use trackgate_delivery::*;

/// `state.bin` as the previous release wrote it (format `TGSTATE\x01`), after it accepted
/// version 5 (`envelope(5)`, `ETag "v5"`) from the network at `NOW` and then, at `NOW + 3600`,
/// got a 304 with `Cache-Control: max-age=900` and `Date: Fri, 31 Dec 9999 23:59:59 GMT`: its
/// saved server time is 253402300799.
const OLD_STATE_DATE_FAR_FUTURE: &str = "544753544154450105015ac365d02c54fe6f9f69958941978d220951123f842edf69e003\
     7507059859c00104227635220190fecfaa060190fecfaa06000001ff82d1ffaf070184070190fecfaa0601b2a6cef09a7c670c";
/// The same, with `Date: Thu, 01 Jan 1970 00:00:00 GMT`: its saved server time is 0.
const OLD_STATE_DATE_FAR_PAST: &str = "544753544154450105015ac365d02c54fe6f9f69958941978d220951123f842edf69e003\
     7507059859c00104227635220190fecfaa060190fecfaa06000001000184070190fecfaa0601f518f1cd47a8e412";

/// A delivery that fetched version 5 (signed at `NOW`) from the network at `NOW`.
fn running_v5(storage: &FaultyStorage, clock: &Arc<ManualClock>) -> Delivery {
    let mut delivery = start(storage, None, clock);
    assert!(delivery.poll_fetch().is_some());
    let outcome = delivery.complete_fetch(http_reply(200, &[("ETag", "\"v5\"")], envelope(5)));
    assert_eq!(outcome, FetchOutcome::Installed { version: 5 });
    delivery
}

/// A plan of `version` signed by the publisher now (by the device clock), valid 30 days.
fn fresh(version: u64, clock: &Arc<ManualClock>) -> Vec<u8> {
    envelope_at(version, device_seconds(clock))
}

/// The device's view is sane: the active plan is not flagged expired and its age is what the
/// device clock says.
fn assert_time_is_sane(delivery: &Delivery, clock: &Arc<ManualClock>, context: &str) {
    let status = delivery.status();
    assert!(!status.expired, "{context}: active plan flagged expired: {status:?}");
    let issued = status.issued_at.expect("a signed plan is active");
    let expected_age = device_seconds(clock).saturating_sub(issued);
    assert_eq!(status.age_seconds, Some(expected_age), "{context}: {status:?}");
}

/// After a response carrying `date`, the device waits out whatever backoff the response caused
/// (at most a day), then installs a plan signed at that moment; after a restart it still
/// installs the next one.
fn good_plans_still_install_after(
    delivery: Delivery,
    storage: &FaultyStorage,
    clock: &Arc<ManualClock>,
    first_new: u64,
    context: &str,
) {
    let mut delivery = delivery;
    assert_time_is_sane(&delivery, clock, context);
    let waited = advance_to_next_fetch(&mut delivery, clock);
    assert!(waited <= DAY, "{context}: backoff of {waited} s");
    let now = format_http_date(device_seconds(clock));
    let outcome = delivery.complete_fetch(http_reply(200, &[("Date", &now)], fresh(first_new, clock)));
    assert_eq!(outcome, FetchOutcome::Installed { version: first_new }, "{context}");
    assert_time_is_sane(&delivery, clock, context);
    drop(delivery);
    let mut restarted = start(storage, None, clock);
    assert_time_is_sane(&restarted, clock, &format!("{context}, after a restart"));
    let next = first_new + 1;
    assert!(
        matches!(restarted.offer(&fresh(next, clock)), Ok(Offered::Installed { version, .. }) if version == next),
        "{context}: after a restart, version {next} was not installed: {:?}",
        restarted.status()
    );
}

/// One forged response of `status`, then good plans.
fn forged_date_on_status(status: u16, date: &str) {
    let context = format!("HTTP {status} with Date: {date}");
    let storage = FaultyStorage::default();
    let clock = clock();
    let mut delivery = running_v5(&storage, &clock);
    advance_to_next_fetch(&mut delivery, &clock);
    let outcome = delivery.complete_fetch(http_reply(status, &[("Date", date)], Vec::new()));
    assert!(matches!(outcome, FetchOutcome::Unchanged | FetchOutcome::Failed(_)), "{context}: {outcome:?}");
    assert!(runs_version(&delivery, 5), "{context}");
    good_plans_still_install_after(delivery, &storage, &clock, 6, &context);
}

#[test]
fn forged_far_future_date_on_a_304_does_not_lock_the_device_out() {
    forged_date_on_status(304, FAR_FUTURE_DATE);
}

#[test]
fn forged_far_future_date_on_a_503_does_not_lock_the_device_out() {
    forged_date_on_status(503, FAR_FUTURE_DATE);
}

#[test]
fn forged_far_future_date_on_any_other_status_does_not_lock_the_device_out() {
    for status in [201, 204, 301, 400, 404, 429, 500, 502] {
        forged_date_on_status(status, FAR_FUTURE_DATE);
    }
}

#[test]
fn forged_far_past_date_on_any_status_changes_nothing() {
    for status in [304, 503, 500, 404] {
        forged_date_on_status(status, FAR_PAST_DATE);
    }
}

#[test]
fn forged_far_future_date_on_the_200_carrying_a_good_plan_does_not_refuse_it() {
    let storage = FaultyStorage::default();
    let clock = clock();
    let mut delivery = running_v5(&storage, &clock);
    advance_to_next_fetch(&mut delivery, &clock);
    let outcome = delivery.complete_fetch(http_reply(200, &[("Date", FAR_FUTURE_DATE)], fresh(6, &clock)));
    assert_eq!(outcome, FetchOutcome::Installed { version: 6 });
    good_plans_still_install_after(delivery, &storage, &clock, 7, "200 with a far-future Date");
}

#[test]
fn forged_far_past_date_on_the_200_carrying_a_good_plan_does_not_refuse_it() {
    let storage = FaultyStorage::default();
    let clock = clock();
    let mut delivery = running_v5(&storage, &clock);
    advance_to_next_fetch(&mut delivery, &clock);
    let outcome = delivery.complete_fetch(http_reply(200, &[("Date", FAR_PAST_DATE)], fresh(6, &clock)));
    assert_eq!(outcome, FetchOutcome::Installed { version: 6 });
    good_plans_still_install_after(delivery, &storage, &clock, 7, "200 with a far-past Date");
}

#[test]
fn forged_date_on_a_200_whose_body_fails_verification_moves_nothing() {
    let mut forged_signature = envelope(6);
    let last = forged_signature.len() - 1;
    forged_signature[last] ^= 1;
    let foreign_key = seal_plan(&plan(6), &key(9), NOW, NOW + 30 * DAY).unwrap();
    for (name, body) in
        [("garbage", b"not a plan".to_vec()), ("bad signature", forged_signature), ("unknown key", foreign_key)]
    {
        for date in [FAR_FUTURE_DATE, FAR_PAST_DATE] {
            let context = format!("{name} body with Date: {date}");
            let storage = FaultyStorage::default();
            let clock = clock();
            let mut delivery = running_v5(&storage, &clock);
            advance_to_next_fetch(&mut delivery, &clock);
            let outcome = delivery.complete_fetch(http_reply(200, &[("Date", date)], body.clone()));
            assert!(matches!(outcome, FetchOutcome::Refused(_)), "{context}: {outcome:?}");
            assert!(runs_version(&delivery, 5), "{context}");
            good_plans_still_install_after(delivery, &storage, &clock, 6, &context);
        }
    }
}

#[test]
fn retry_after_as_a_date_relative_to_a_forged_date_backs_off_at_most_a_day() {
    let clock = clock();
    let mut delivery = running_v5(&FaultyStorage::default(), &clock);
    advance_to_next_fetch(&mut delivery, &clock);
    let reply = http_reply(503, &[("Date", FAR_PAST_DATE), ("Retry-After", FAR_FUTURE_DATE)], Vec::new());
    delivery.complete_fetch(reply);
    assert_eq!(delivery.next_fetch_at() - device_seconds(&clock), DAY, "Retry-After is capped at 24 h");
    advance_to_next_fetch(&mut delivery, &clock);
    let reply = http_reply(503, &[("Date", FAR_FUTURE_DATE), ("Retry-After", FAR_PAST_DATE)], Vec::new());
    delivery.complete_fetch(reply);
    assert_eq!(delivery.next_fetch_at() - device_seconds(&clock), 5, "a date already passed waits the minimum");
}

/// Storage holding `envelope(5)` and a `state.bin` written by the previous release.
fn store_written_by_the_old_release(state_hex: &str) -> FaultyStorage {
    let storage = FaultyStorage::default();
    let mut files = storage.files.lock().unwrap();
    files.insert(store::PLAN_FILE.into(), envelope(5));
    files.insert(store::STATE_FILE.into(), from_hex(state_hex));
    drop(files);
    storage
}

#[test]
fn state_poisoned_by_the_old_rule_is_repaired_at_load_and_keeps_the_cached_plan() {
    for (name, state_hex) in [("far future", OLD_STATE_DATE_FAR_FUTURE), ("far past", OLD_STATE_DATE_FAR_PAST)] {
        let storage = store_written_by_the_old_release(state_hex);
        let clock = Arc::new(ManualClock::new((NOW + 3_600) * 1000));
        let mut delivery = start(&storage, None, &clock);
        let status = delivery.status();
        assert_eq!((status.source, status.version), (PlanSource::Cache, 5), "{name}: {status:?}");
        assert_eq!(status.last_error, None, "{name}: the old state file loads");
        assert!(runs_version(&delivery, 5), "{name}");
        assert_time_is_sane(&delivery, &clock, name);
        // The rest of the old state is kept: the floor, the schedule and the ETag.
        let refused = delivery.offer(&envelope(4)).unwrap_err();
        assert!(matches!(refusal(&refused), Some(VerifyError::Rollback { version: 4, floor: 5 })), "{name}");
        assert_eq!(delivery.next_fetch_at(), NOW + 3_600 + 900, "{name}: refresh interval kept");
        advance_seconds(&clock, 900);
        let request = delivery.poll_fetch().expect("due");
        let etag = request.headers.iter().find(|(header, _)| header == "If-None-Match").map(|(_, v)| v.as_str());
        assert_eq!(etag, Some("\"v5\""), "{name}: ETag kept");
        let outcome = delivery.complete_fetch(http_reply(200, &[], fresh(6, &clock)));
        assert_eq!(outcome, FetchOutcome::Installed { version: 6 }, "{name}");
        drop(delivery);
        // Rewritten in the current format, which loads without the poisoned time.
        let restarted = start(&storage, None, &clock);
        assert_eq!((restarted.status().source, restarted.status().version), (PlanSource::Cache, 6), "{name}");
        assert_eq!(restarted.status().last_error, None, "{name}");
        assert_time_is_sane(&restarted, &clock, name);
    }
}

#[test]
fn state_poisoned_by_the_old_rule_is_repaired_even_before_any_fetch() {
    let storage = store_written_by_the_old_release(OLD_STATE_DATE_FAR_FUTURE);
    let clock = Arc::new(ManualClock::new((NOW + 3_600) * 1000));
    let mut delivery = start(&storage, None, &clock);
    assert!(matches!(delivery.offer(&fresh(6, &clock)), Ok(Offered::Installed { version: 6, .. })));
}

#[test]
fn device_clock_set_back_cannot_revive_a_plan_that_expired_before_a_newer_signed_plan() {
    let storage = FaultyStorage::default();
    let clock = clock();
    let mut delivery = running_v5(&storage, &clock); // signed at NOW; no Date header anywhere
    clock.set_unix_millis((NOW - 60 * DAY) * 1000);
    let expired = envelope_at(6, NOW - 40 * DAY); // expired at NOW - 10 days, before v5 was signed
    let refused = delivery.offer(&expired).unwrap_err();
    assert!(matches!(refusal(&refused), Some(VerifyError::Expired { now: NOW, .. })), "{refused}");
    assert!(runs_version(&delivery, 5));
    // Nor from the network with a Date that agrees with the set-back clock.
    advance_to_next_fetch(&mut delivery, &clock);
    let date = format_http_date(device_seconds(&clock));
    let outcome = delivery.complete_fetch(http_reply(200, &[("Date", &date)], expired.clone()));
    assert!(
        matches!(&outcome, FetchOutcome::Refused(error) if matches!(**error, VerifyError::Expired { .. })),
        "{outcome:?}"
    );
    drop(delivery);
    // The signed time is persisted: a restart with the clock still set back refuses it too.
    let mut restarted = start(&storage, None, &clock);
    let refused = restarted.offer(&expired).unwrap_err();
    assert!(matches!(refusal(&refused), Some(VerifyError::Expired { now: NOW, .. })), "{refused}");
    let status = restarted.status();
    assert_eq!((status.age_seconds, status.expired), (Some(0), false), "age by signed time, not the set-back clock");
}

#[test]
fn a_signed_plan_issued_far_ahead_is_refused_and_does_not_move_trusted_time() {
    let storage = FaultyStorage::default();
    let clock = clock();
    let mut delivery = running_v5(&storage, &clock);
    let ahead = envelope_at(6, NOW + 400 * DAY);
    let refused = delivery.offer(&ahead).unwrap_err();
    assert!(matches!(refusal(&refused), Some(VerifyError::IssuedInFuture { .. })), "{refused}");
    assert_time_is_sane(&delivery, &clock, "after a far-ahead plan was refused");
    assert!(matches!(delivery.offer(&fresh(7, &clock)), Ok(Offered::Installed { version: 7, .. })));
}

#[test]
fn the_date_of_the_response_carrying_a_plan_lets_a_device_whose_clock_is_behind_accept_it() {
    let storage = FaultyStorage::default();
    let clock = Arc::new(ManualClock::new((NOW - 60 * DAY) * 1000));
    let mut delivery = start(&storage, Some(&envelope_at(3, NOW - 61 * DAY)), &clock);
    assert_eq!(delivery.status().version, 3);
    // Signed "today" while the device thinks it is 60 days earlier: too far ahead by itself.
    let today = envelope_at(6, NOW);
    let refused = delivery.offer(&today).unwrap_err();
    assert!(matches!(refusal(&refused), Some(VerifyError::IssuedInFuture { .. })), "{refused}");
    // The Date of the response that carries it only ever turns that refusal into acceptance.
    assert!(delivery.poll_fetch().is_some());
    let outcome = delivery.complete_fetch(http_reply(200, &[("Date", &format_http_date(NOW))], today));
    assert_eq!(outcome, FetchOutcome::Installed { version: 6 });
    assert_eq!(delivery.status().last_error, None);
    // It is not remembered: a later plan without it is judged by signed time and the clock.
    let later = envelope_at(7, NOW + DAY);
    let refused = delivery.offer(&later).unwrap_err();
    assert!(matches!(refusal(&refused), Some(VerifyError::IssuedInFuture { .. })), "{refused}");
}

#[test]
fn a_forged_date_cannot_make_an_expired_plan_acceptable_through_the_issued_ahead_rescue() {
    let storage = FaultyStorage::default();
    let clock = clock();
    let mut delivery = running_v5(&storage, &clock);
    for date in [FAR_FUTURE_DATE, FAR_PAST_DATE] {
        advance_to_next_fetch(&mut delivery, &clock);
        let expired = envelope_at(6, NOW - 40 * DAY);
        let outcome = delivery.complete_fetch(http_reply(200, &[("Date", date)], expired));
        assert!(
            matches!(&outcome, FetchOutcome::Refused(error) if matches!(**error, VerifyError::Expired { .. })),
            "{outcome:?}"
        );
        assert!(runs_version(&delivery, 5));
    }
}
