//! A simulated week against a real, fault-injecting HTTP server on 127.0.0.1, through the
//! real `ureq` transport: 500s, resets, timeouts, slow and garbage bodies, 304s and 429/503
//! with `Retry-After`. A valid plan is active throughout, requests per day stay within the
//! schedule's bound, and the client catches up within one backoff interval once the server
//! heals. Time is simulated (one-minute steps); only request handling runs in real time.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::fault_server::{Fault, FaultServer};
use common::*;
use trackgate_core::{Clock, ManualClock};
use trackgate_delivery::http::UreqTransport;
use trackgate_delivery::*;

const MINUTE: u64 = 60;
const HOUR: u64 = 3_600;
const STEP: u64 = MINUTE;
/// The schedule's hard bound: 24 hourly windows of `max_requests_per_hour` (6) requests.
const MAX_REQUESTS_PER_DAY: usize = 24 * 6;

/// The fault in force `elapsed` seconds into the week, and the plan version published then.
fn scenario(elapsed: u64, random: &mut SplitMix64) -> (Fault, u64) {
    let hour = elapsed / HOUR;
    let fault = match hour {
        0..=5 => Fault::Healthy,
        6..=11 => Fault::ServerError,
        12..=17 => Fault::Reset,
        18..=19 => Fault::Timeout,
        20..=21 => Fault::SlowBody,
        22..=29 => Fault::GarbageBody,
        30..=35 => Fault::TooManyRequests(1_800),
        36..=47 => Fault::Healthy,
        // A day and a half of flapping: a different fault for every minute.
        48..=83 => {
            let faults =
                [Fault::Healthy, Fault::ServerError, Fault::Reset, Fault::GarbageBody, Fault::TooManyRequests(600)];
            faults[(random.next_u64() % faults.len() as u64) as usize]
        }
        84..=95 => Fault::UnavailableUntil(2 * HOUR),
        96..=119 => Fault::ServerError,
        _ => Fault::Healthy,
    };
    let version = match hour {
        0..=37 => 2,
        38..=99 => 3,
        100..=143 => 4,
        _ => 5,
    };
    (fault, version)
}

#[test]
fn a_week_of_faults_never_leaves_the_app_without_a_plan() {
    let clock = Arc::new(ManualClock::new(NOW * 1000));
    let issue = |version: u64| envelope_at(version, clock.unix_millis() / 1000);
    // The timeout leaves a loaded CI machine ample time for a healthy reply; stalls exceed it.
    let server = FaultServer::start(issue(2), Arc::clone(&clock), Duration::from_millis(1_500));
    let transport = UreqTransport::new(Duration::from_millis(1_000));
    let storage = FaultyStorage::default();
    let mut delivery = start_with(config(&server.url()), &storage, Some(&envelope(1)), &clock);
    let mut random = SplitMix64::new(99);
    let (mut published, mut published_at, mut caught_up_at) = (2, NOW, None);
    let mut recovered_after = None;
    let mut previous_version = 1;
    for step in 0..(7 * 24 * HOUR / STEP) {
        let elapsed = step * STEP;
        let (fault, version) = scenario(elapsed, &mut random);
        if version != published {
            published = version;
            published_at = NOW + elapsed;
            server.publish(issue(version));
        }
        server.set_fault(fault);
        delivery.fetch_if_due(&transport);
        let active = delivery.engine().plan_version();
        assert!(active >= previous_version, "hour {}: plan went back to {active}", elapsed / HOUR);
        assert!(runs_version(&delivery, active), "hour {}: active plan is not a whole plan", elapsed / HOUR);
        assert_ne!(delivery.status().source, PlanSource::FailPolicy);
        previous_version = active;
        if active == published && caught_up_at.is_none() {
            caught_up_at = Some(NOW + elapsed);
        }
        if active != published {
            caught_up_at = None;
        }
        if version == 4 && elapsed >= 120 * HOUR {
            // Healed at hour 120 after a day of 500s: one backoff interval (the 6 h cap) at most.
            if active == 4 && recovered_after.is_none() {
                recovered_after = Some(elapsed - 120 * HOUR);
            }
            assert!(elapsed < 126 * HOUR || active == 4, "not recovered 6 h after healing");
        }
        clock.advance_nanos(STEP * 1_000_000_000);
    }
    let seen = server.seen();
    let mut per_day = [0usize; 7];
    for request in &seen {
        per_day[((request.at - NOW) / 86_400).min(6) as usize] += 1;
    }
    let not_modified = seen.iter().filter(|request| request.not_modified).count();
    eprintln!(
        "requests per day {per_day:?}; {not_modified} answered 304; recovered {recovered_after:?} s after healing"
    );
    assert!(per_day.iter().all(|&count| count <= MAX_REQUESTS_PER_DAY), "{per_day:?}");
    assert!(not_modified > 100, "conditional requests are used: {not_modified}");
    assert_eq!(delivery.engine().plan_version(), 5);
    // v5 was published on a healthy server at hour 144: caught up within one refresh interval.
    let caught_up_at = caught_up_at.expect("caught up with the last plan");
    assert!(caught_up_at - published_at <= 15 * MINUTE + STEP, "took {} s", caught_up_at - published_at);
    let status = delivery.status();
    assert_eq!((status.source, status.version, status.consecutive_failures), (PlanSource::Network, 5, 0));
}
