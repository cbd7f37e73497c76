//! The sans-IO fetch schedule driven through `Delivery`: conditional requests, server-given
//! intervals, `Retry-After`, long backoff, manual refreshes and persistence across restarts.

mod common;

use std::sync::Arc;

use common::*;
use trackgate_core::{Clock, ManualClock};
use trackgate_delivery::transport::format_http_date;
use trackgate_delivery::*;

const SECOND: u64 = 1_000_000_000;

fn response(status: u16, headers: &[(&str, &str)], body: Vec<u8>) -> Result<HttpResponse, TransportError> {
    let headers = headers.iter().map(|(name, value)| (name.to_string(), value.to_string())).collect();
    Ok(HttpResponse { status, headers, body })
}

fn header<'request>(request: &'request HttpRequest, name: &str) -> Option<&'request str> {
    request.headers.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
}

/// Seconds until the next fetch, by the device clock.
fn wait(delivery: &Delivery, clock: &Arc<ManualClock>) -> u64 {
    delivery.next_fetch_at().saturating_sub(clock.unix_millis() / 1000)
}

fn advance(clock: &Arc<ManualClock>, seconds: u64) {
    clock.advance_nanos(seconds * SECOND);
}

#[test]
fn first_fetch_is_immediate_then_etag_and_304_keep_the_plan() {
    let clock = clock();
    let mut delivery = start(&FaultyStorage::default(), Some(&envelope(3)), &clock);
    let request = delivery.poll_fetch().expect("due at once");
    assert_eq!(header(&request, "If-None-Match"), None, "no ETag before the first success");
    assert!(delivery.poll_fetch().is_none(), "single flight");
    let outcome = delivery.complete_fetch(response(200, &[("ETag", "\"v5\"")], envelope(5)));
    assert_eq!(outcome, FetchOutcome::Installed { version: 5 });
    assert_eq!(wait(&delivery, &clock), 3_600, "default refresh interval");
    advance(&clock, 3_600);
    let request = delivery.poll_fetch().expect("due after the interval");
    assert_eq!(header(&request, "If-None-Match"), Some("\"v5\""));
    assert_eq!(delivery.complete_fetch(response(304, &[], Vec::new())), FetchOutcome::Unchanged);
    assert!(runs_version(&delivery, 5));
}

#[test]
fn server_max_age_is_clamped_to_fifteen_minutes_and_a_day() {
    let clock = clock();
    let mut delivery = start(&FaultyStorage::default(), None, &clock);
    for (cache_control, expected) in
        [("max-age=60", 900), ("public, max-age=7200", 7_200), ("max-age=999999", 86_400), ("no-cache", 3_600)]
    {
        assert!(delivery.poll_fetch().is_some(), "{cache_control}");
        delivery.complete_fetch(response(304, &[("Cache-Control", cache_control)], Vec::new()));
        assert_eq!(wait(&delivery, &clock), expected, "{cache_control}");
        advance(&clock, expected);
    }
}

#[test]
fn retry_after_in_seconds_and_as_a_date_is_honoured() {
    let clock = clock();
    let mut delivery = start(&FaultyStorage::default(), None, &clock);
    delivery.poll_fetch().unwrap();
    delivery.complete_fetch(response(429, &[("Retry-After", "120")], Vec::new()));
    assert_eq!(wait(&delivery, &clock), 120);
    advance(&clock, 120);
    delivery.poll_fetch().unwrap();
    let date = format_http_date(NOW + 120);
    let later = format_http_date(NOW + 120 + 900);
    delivery.complete_fetch(response(503, &[("Date", &date), ("Retry-After", &later)], Vec::new()));
    assert_eq!(wait(&delivery, &clock), 900);
    assert_eq!(delivery.status().consecutive_failures, 2);
}

#[test]
fn not_found_and_forbidden_back_off_for_hours() {
    let clock = clock();
    let mut delivery = start(&FaultyStorage::default(), None, &clock);
    for status in [404, 401, 403] {
        delivery.poll_fetch().unwrap();
        delivery.complete_fetch(response(status, &[], Vec::new()));
        let delay = wait(&delivery, &clock);
        assert!((6 * 3_600..=6 * 3_600 + 2_161).contains(&delay), "{status}: {delay}");
        advance(&clock, delay);
    }
}

#[test]
fn refused_plans_and_server_errors_back_off_with_growing_ceilings() {
    let clock = clock();
    let mut config = config("http://127.0.0.1:9/p");
    config.schedule.max_requests_per_hour = u32::MAX; // the backoff alone is under test
    let mut delivery = start_with(config, &FaultyStorage::default(), Some(&envelope(3)), &clock);
    let mut delays = Vec::new();
    for attempt in 0..12u32 {
        delivery.poll_fetch().expect("due");
        let reply =
            if attempt % 2 == 0 { response(500, &[], Vec::new()) } else { response(200, &[], b"junk".to_vec()) };
        let outcome = delivery.complete_fetch(reply);
        assert!(matches!(outcome, FetchOutcome::Failed(_) | FetchOutcome::Refused(_)), "{outcome:?}");
        let delay = wait(&delivery, &clock);
        let ceiling = (30u64 << attempt).min(6 * 3_600);
        assert!((5..=ceiling).contains(&delay), "attempt {attempt}: {delay} > {ceiling}");
        assert!(delivery.poll_fetch().is_none(), "nothing during backoff");
        delays.push(delay);
        advance(&clock, delay);
    }
    assert!(runs_version(&delivery, 3), "failures never cost the active plan");
    assert!(delays[8..].iter().sum::<u64>() > delays[..4].iter().sum::<u64>(), "{delays:?}");
}

#[test]
fn refresh_now_and_foreground_respect_their_minimum_gaps() {
    let clock = clock();
    let mut delivery = start(&FaultyStorage::default(), None, &clock);
    delivery.poll_fetch().unwrap();
    delivery.complete_fetch(response(304, &[], Vec::new()));
    delivery.refresh_now();
    assert_eq!(wait(&delivery, &clock), 60, "refresh_now waits a minute after the last request");
    advance(&clock, 60);
    delivery.poll_fetch().expect("refresh_now fires");
    delivery.complete_fetch(response(304, &[], Vec::new()));
    delivery.on_foreground();
    assert_eq!(wait(&delivery, &clock), 900, "foreground refresh waits 15 minutes after the last request");
    advance(&clock, 2_000);
    delivery.on_foreground();
    assert!(delivery.poll_fetch().is_some(), "old enough: foreground fetches now");
}

#[test]
fn refresh_now_does_not_cut_a_backoff_short() {
    let clock = clock();
    let mut delivery = start(&FaultyStorage::default(), None, &clock);
    delivery.poll_fetch().unwrap();
    delivery.complete_fetch(response(429, &[("Retry-After", "3000")], Vec::new()));
    delivery.refresh_now();
    assert_eq!(wait(&delivery, &clock), 3_000);
}

#[test]
fn backoff_and_etag_survive_a_restart() {
    let clock = clock();
    let storage = FaultyStorage::default();
    let mut delivery = start(&storage, None, &clock);
    delivery.poll_fetch().unwrap();
    delivery.complete_fetch(response(200, &[("ETag", "\"v5\"")], envelope(5)));
    advance(&clock, 3_600);
    delivery.poll_fetch().unwrap();
    delivery.complete_fetch(response(429, &[("Retry-After", "5000")], Vec::new()));
    drop(delivery);
    let mut restarted = start(&storage, None, &clock);
    assert_eq!(wait(&restarted, &clock), 5_000, "a restart does not reset the backoff");
    advance(&clock, 5_000);
    let request = restarted.poll_fetch().unwrap();
    assert_eq!(header(&request, "If-None-Match"), Some("\"v5\""));
}

#[test]
fn a_lost_cache_forgets_the_etag() {
    let clock = clock();
    let storage = FaultyStorage::default();
    let mut delivery = start(&storage, None, &clock);
    delivery.poll_fetch().unwrap();
    delivery.complete_fetch(response(200, &[("ETag", "\"v5\"")], envelope(5)));
    drop(delivery);
    storage.files.lock().unwrap().remove(store::PLAN_FILE);
    let mut restarted = start(&storage, None, &clock);
    advance(&clock, 3_600);
    let request = restarted.poll_fetch().unwrap();
    assert_eq!(header(&request, "If-None-Match"), None, "a 304 must not keep a device without the plan");
}
