//! Startup through the Gate: bundled plan, cache across restarts, both fail policies, and a
//! store directory that cannot be used; `status()` reports each.

mod common;

use common::*;
use trackgate_ffi::{ApplyOutcome, Decision, DropReason, FailPolicy, Gate, PlanSource};

#[test]
fn the_bundled_plan_starts_and_is_cached_for_the_next_start() {
    let publisher = Publisher::new(1);
    let store = TempDir::new("bundled");
    let gate = gate_with_plan(&publisher, &store, &standard_plan(3));
    let status = gate.status();
    assert_eq!((status.source, status.version, status.last_error.as_deref()), (PlanSource::Bundled, 3, None));
    let now = unix_now();
    assert!(status.issued_at_unix.is_some_and(|issued| issued + DAY - 5 <= now && now <= issued + DAY + 60));
    assert!(status.age_seconds.is_some_and(|age| (DAY - 5..DAY + 60).contains(&age)), "{status:?}");
    assert!(status.expires_at_unix.is_some_and(|expires| expires > now) && !status.expired);
    assert_eq!((status.consecutive_failures, status.last_success_unix), (0, None));
    drop(gate);

    // Restart without a bundled plan: the cache has version 3.
    let gate = Gate::new(options(&publisher, &store)).unwrap();
    assert_eq!((gate.status().source, gate.status().version), (PlanSource::Cache, 3));
    assert_eq!(gate.decide("legacy.banner_seen".into(), 1), Decision::Drop { reason: DropReason::Retired });

    // A newer plan applied at run time is what the next start loads.
    assert!(matches!(gate.apply_plan(publisher.seal(&standard_plan(7))), ApplyOutcome::Installed { .. }));
    assert_eq!(gate.status().source, PlanSource::Network);
    drop(gate);
    let mut older_bundle = options(&publisher, &store);
    older_bundle.bundled_plan = Some(publisher.seal(&standard_plan(5)));
    let gate = Gate::new(older_bundle).unwrap();
    assert_eq!((gate.status().source, gate.status().version), (PlanSource::Cache, 7));
}

#[test]
fn without_any_plan_keep_all_keeps_everything() {
    let publisher = Publisher::new(1);
    let store = TempDir::new("keepall");
    let gate = Gate::new(options(&publisher, &store)).unwrap();
    let status = gate.status();
    assert_eq!((status.source, status.version, status.issued_at_unix), (PlanSource::FailPolicy, 0, None));
    assert_eq!(gate.decide("anything.at_all".into(), 1_000_000), Decision::Keep { weight: 1.0 });
    assert_eq!(gate.decide("bad name".into(), 1), Decision::Drop { reason: DropReason::InvalidName });
}

#[test]
fn keep_p0_only_reads_the_p0_events_of_an_unverifiable_bundled_plan() {
    let publisher = Publisher::new(1);
    let stranger = Publisher::new(2);
    let store = TempDir::new("keepp0");
    let mut options = options(&publisher, &store);
    options.fail_policy = FailPolicy::KeepP0Only;
    options.bundled_plan = Some(stranger.seal(&standard_plan(3)));
    let gate = Gate::new(options).unwrap();
    let status = gate.status();
    assert_eq!(status.source, PlanSource::FailPolicy);
    let last_error = status.last_error.unwrap();
    assert!(last_error.contains("bundled plan refused") && last_error.contains("unknown key"), "{last_error}");
    assert!(gate.decide("checkout.completed".into(), 1).is_keep());
    assert_eq!(gate.decide("photo.uploaded".into(), 1), Decision::Drop { reason: DropReason::Unregistered });
}

#[test]
fn an_unusable_store_directory_still_starts_and_says_why() {
    let publisher = Publisher::new(1);
    let parent = TempDir::new("unusable");
    std::fs::create_dir_all(&parent.path).unwrap();
    let file = parent.path.join("not-a-directory");
    std::fs::write(&file, b"x").unwrap();
    let mut options = options(&publisher, &parent);
    options.store_directory = file.join("store").to_str().unwrap().to_owned();
    options.bundled_plan = Some(publisher.seal(&standard_plan(3)));

    let gate = Gate::new(options).unwrap();
    let status = gate.status();
    assert_eq!((status.source, status.version), (PlanSource::Bundled, 3));
    let last_error = status.last_error.unwrap();
    assert!(last_error.contains("not-a-directory/store"), "{last_error}");
    assert!(gate.decide("checkout.completed".into(), 1).is_keep());
    // Without a store nothing new can be installed (a restart could not load it).
    let outcome = gate.apply_plan(publisher.seal(&standard_plan(4)));
    assert!(matches!(&outcome, ApplyOutcome::NotPersisted { reason } if reason.contains("plan.bin")), "{outcome:?}");
    assert_eq!(gate.status().version, 3);
}
