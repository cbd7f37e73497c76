//! Startup order: verified cache, then a newer bundled plan, then the fail policy; never the
//! network. Problems with the cache are reported, unreadable apart from corrupt.

mod common;

use common::*;
use trackgate_core::{Decision, DropReason};
use trackgate_delivery::*;

#[test]
fn first_start_without_plans_runs_keep_all() {
    let clock = clock();
    let delivery = start(&FaultyStorage::default(), None, &clock);
    let status = delivery.status();
    assert_eq!((status.source, status.version, status.last_error), (PlanSource::FailPolicy, 0, None));
    assert!(matches!(delivery.engine().decide("anything.at_all", 10), Decision::Keep { .. }));
}

#[test]
fn keep_p0_only_keeps_the_bundled_p0_events_when_the_bundled_plan_is_unverifiable() {
    let clock = clock();
    let mut config = config("http://127.0.0.1:9/p");
    config.fail_policy = FailPolicy::KeepP0Only;
    let foreign = seal_plan(&plan(3), &key(9), NOW, NOW + DAY).unwrap();
    let delivery = start_with(config, &FaultyStorage::default(), Some(&foreign), &clock);
    assert_eq!(delivery.status().source, PlanSource::FailPolicy);
    let last_error = delivery.status().last_error.unwrap();
    assert!(matches!(*last_error, DeliveryError::BundledRefused(_)), "{last_error:?}");
    assert!(last_error.to_string().starts_with("bundled plan refused: "), "{last_error}");
    let engine = delivery.engine();
    assert!(matches!(engine.decide("checkout.completed", 10), Decision::Keep { .. }));
    assert_eq!(engine.decide("search.performed", 10), Decision::Drop { reason: DropReason::Unregistered });
    assert_eq!(engine.decide("other.event", 10), Decision::Drop { reason: DropReason::Unregistered });
}

#[test]
fn keep_p0_only_without_any_bundled_plan_drops_everything() {
    let clock = clock();
    let mut config = config("http://127.0.0.1:9/p");
    config.fail_policy = FailPolicy::KeepP0Only;
    let delivery = start_with(config, &FaultyStorage::default(), None, &clock);
    assert_eq!(delivery.engine().decide("checkout.completed", 10), Decision::Drop { reason: DropReason::Unregistered });
}

#[test]
fn bundled_plan_is_used_and_cached_when_there_is_no_cache() {
    let clock = clock();
    let storage = FaultyStorage::default();
    let delivery = start(&storage, Some(&envelope(3)), &clock);
    assert_eq!(delivery.status().source, PlanSource::Bundled);
    assert!(runs_version(&delivery, 3));
    drop(delivery);
    let restarted = start(&storage, None, &clock);
    assert_eq!((restarted.status().source, restarted.status().version), (PlanSource::Cache, 3));
}

#[test]
fn cache_beats_an_older_bundled_plan() {
    let clock = clock();
    let storage = FaultyStorage::default();
    let mut delivery = start(&storage, Some(&envelope(3)), &clock);
    delivery.offer(&envelope(5)).unwrap();
    drop(delivery);
    let restarted = start(&storage, Some(&envelope(3)), &clock);
    assert_eq!((restarted.status().source, restarted.status().version), (PlanSource::Cache, 5));
    assert!(runs_version(&restarted, 5));
}

#[test]
fn newer_bundled_plan_beats_the_cache_and_raises_the_floor() {
    let clock = clock();
    let storage = FaultyStorage::default();
    let mut delivery = start(&storage, None, &clock);
    delivery.offer(&envelope(5)).unwrap();
    drop(delivery);
    let mut updated_app = start(&storage, Some(&envelope(7)), &clock);
    assert_eq!((updated_app.status().source, updated_app.status().version), (PlanSource::Bundled, 7));
    let refused = updated_app.offer(&envelope(6)).unwrap_err();
    assert!(matches!(refusal(&refused), Some(VerifyError::Rollback { version: 6, floor: 7 })));
}

#[test]
fn corrupt_cache_is_reported_and_the_bundled_plan_takes_over() {
    let clock = clock();
    let storage = FaultyStorage::default();
    let mut delivery = start(&storage, None, &clock);
    delivery.offer(&envelope(5)).unwrap();
    drop(delivery);
    storage.files.lock().unwrap().get_mut(store::PLAN_FILE).unwrap()[100] ^= 0x40;
    let restarted = start(&storage, Some(&envelope(3)), &clock);
    let status = restarted.status();
    assert_eq!((status.source, status.version), (PlanSource::Bundled, 3));
    let error = status.last_error.unwrap().to_string();
    assert!(error.contains("plan.bin is corrupt"), "{error}");
}

#[test]
fn unreadable_cache_is_reported_apart_from_corrupt() {
    let clock = clock();
    let directory = temp_dir("unreadable");
    // A directory where the file should be: reading fails at the OS level (even as root).
    std::fs::create_dir(directory.join(store::PLAN_FILE)).unwrap();
    let store = Store::new(Box::new(DirectoryStorage::open(&directory).unwrap()), 1 << 20);
    let delivery = Delivery::start(
        config("http://127.0.0.1:9/p"),
        store,
        Some(&envelope(3)),
        engine_options(&clock),
        Box::new(SplitMix64::new(1)),
    )
    .unwrap();
    let error = delivery.status().last_error.unwrap().to_string();
    assert!(error.contains("cannot read plan.bin"), "{error}");
    assert!(!error.contains("corrupt"), "{error}");
    assert_eq!(delivery.status().source, PlanSource::Bundled);
    std::fs::remove_dir_all(directory).unwrap();
}

#[test]
fn corrupt_state_is_reported_and_the_cached_plan_still_loads() {
    let clock = clock();
    let storage = FaultyStorage::default();
    let mut delivery = start(&storage, None, &clock);
    delivery.offer(&envelope(5)).unwrap();
    drop(delivery);
    storage.files.lock().unwrap().insert(store::STATE_FILE.into(), b"TGSTATE\x01garbage!".to_vec());
    let restarted = start(&storage, None, &clock);
    let status = restarted.status();
    assert_eq!((status.source, status.version), (PlanSource::Cache, 5));
    assert!(status.last_error.unwrap().to_string().contains("state.bin is corrupt"));
}

#[test]
fn older_signed_plan_planted_in_the_cache_is_refused_as_below_the_floor() {
    let clock = clock();
    let storage = FaultyStorage::default();
    let mut delivery = start(&storage, None, &clock);
    delivery.offer(&envelope(5)).unwrap();
    drop(delivery);
    storage.files.lock().unwrap().insert(store::PLAN_FILE.into(), envelope(2));
    let restarted = start(&storage, Some(&envelope(4)), &clock);
    assert_eq!((restarted.status().source, restarted.status().version), (PlanSource::Bundled, 4));
    assert!(restarted.status().last_error.unwrap().to_string().contains("does not match the accepted floor 5"));
}

#[test]
fn a_crash_between_plan_and_state_writes_is_repaired_at_startup() {
    let clock = clock();
    let storage = FaultyStorage::default();
    let mut delivery = start(&storage, None, &clock);
    delivery.offer(&envelope(5)).unwrap();
    drop(delivery);
    // plan.bin reached the disk, state.bin (floor 5) did not.
    storage.files.lock().unwrap().insert(store::PLAN_FILE.into(), envelope(6));
    let mut restarted = start(&storage, None, &clock);
    assert_eq!((restarted.status().source, restarted.status().version), (PlanSource::Cache, 6));
    assert!(matches!(
        restarted.offer(&envelope(5)).as_ref().map_err(refusal),
        Err(Some(VerifyError::Rollback { floor: 6, .. }))
    ));
}

#[test]
fn an_expired_cache_stays_active_and_is_flagged() {
    let clock = clock();
    let storage = FaultyStorage::default();
    let mut delivery = start(&storage, None, &clock);
    delivery.offer(&envelope(5)).unwrap();
    drop(delivery);
    clock.set_unix_millis((NOW + 90 * DAY) * 1000);
    let restarted = start(&storage, None, &clock);
    let status = restarted.status();
    assert_eq!((status.source, status.version, status.expired), (PlanSource::Cache, 5, true));
    assert_eq!(status.age_seconds, Some(90 * DAY));
}

#[test]
fn status_reports_source_version_and_age() {
    let clock = clock();
    let mut delivery = start(&FaultyStorage::default(), Some(&envelope(3)), &clock);
    delivery.offer(&envelope(4)).unwrap();
    clock.advance_nanos(3_600 * 1_000_000_000);
    let status = delivery.status();
    assert_eq!((status.source, status.version, status.age_seconds), (PlanSource::Network, 4, Some(3_600)));
    assert_eq!((status.issued_at, status.expired, status.last_error), (Some(NOW), false, None));
}
