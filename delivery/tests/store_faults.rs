//! The store under faults: a full disk never costs the active plan, writes are atomic on the
//! real file system, and the floor and schedule survive restarts.

mod common;

use std::sync::atomic::Ordering;

use common::*;
use trackgate_delivery::*;

#[test]
fn full_disk_keeps_the_active_plan_and_a_later_offer_succeeds() {
    let clock = clock();
    let storage = FaultyStorage::default();
    let mut delivery = start(&storage, None, &clock);
    delivery.offer(&envelope(5)).unwrap();
    storage.disk_full.store(true, Ordering::SeqCst);
    let error = delivery.offer(&envelope(6)).unwrap_err();
    assert!(
        matches!(&error, OfferError::NotPersisted(store) if matches!(**store, StoreError::WriteFailed { file: "plan.bin", .. })),
        "{error}"
    );
    assert!(runs_version(&delivery, 5), "an unpersisted plan must not be installed");
    assert!(delivery.status().last_error.unwrap().to_string().contains("no space left"));
    drop(delivery);
    let mut restarted = start(&storage, None, &clock);
    assert!(runs_version(&restarted, 5));
    storage.disk_full.store(false, Ordering::SeqCst);
    assert!(matches!(restarted.offer(&envelope(6)), Ok(Offered::Installed { version: 6, .. })));
}

#[test]
fn unreadable_storage_at_startup_still_gives_a_plan() {
    let clock = clock();
    let storage = FaultyStorage::default();
    storage.unreadable.store(true, Ordering::SeqCst);
    let delivery = start(&storage, Some(&envelope(3)), &clock);
    assert!(runs_version(&delivery, 3));
    let error = delivery.status().last_error.unwrap();
    assert!(matches!(&*error, DeliveryError::Several(errors) if errors.len() == 2), "{error:?}");
    let error = error.to_string();
    assert!(error.contains("cannot read state.bin") && error.contains("cannot read plan.bin"), "{error}");
}

#[test]
fn floor_survives_a_restart() {
    let clock = clock();
    let storage = FaultyStorage::default();
    let mut delivery = start(&storage, None, &clock);
    delivery.offer(&envelope(5)).unwrap();
    drop(delivery);
    let mut restarted = start(&storage, None, &clock);
    assert!(matches!(restarted.offer(&envelope(4)).as_ref().map_err(refusal), Err(Some(VerifyError::Rollback { .. }))));
    assert!(matches!(
        restarted.offer(&envelope_at(5, NOW + 9)).as_ref().map_err(refusal),
        Err(Some(VerifyError::Equivocation { .. }))
    ));
}

#[test]
fn directory_storage_writes_atomically_and_cleans_leftovers() {
    let directory = temp_dir("atomic");
    std::fs::write(directory.join(".plan.bin.123.0.tmp"), b"left by a killed process").unwrap();
    let storage = DirectoryStorage::open(&directory).unwrap();
    assert!(!directory.join(".plan.bin.123.0.tmp").exists(), "leftover temp files are removed at open");
    storage.write_atomic("plan.bin", b"first").unwrap();
    storage.write_atomic("plan.bin", b"second").unwrap();
    assert_eq!(storage.read("plan.bin", 100).unwrap(), Some(b"second".to_vec()));
    let names: Vec<_> = std::fs::read_dir(&directory).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from("plan.bin")]);
    assert!(storage.read("plan.bin", 3).is_err(), "files over the limit are refused");
    assert_eq!(storage.read("absent", 3).unwrap(), None);
    std::fs::remove_dir_all(directory).unwrap();
}

#[test]
fn real_directory_round_trip_through_delivery() {
    let directory = temp_dir("roundtrip");
    let clock = clock();
    let open = || Store::new(Box::new(DirectoryStorage::open(&directory).unwrap()), 1 << 20);
    let options = || engine_options(&clock);
    let url = "http://127.0.0.1:9/p";
    let random = || Box::new(SplitMix64::new(3));
    let mut delivery = Delivery::start(config(url), open(), None, options(), random()).unwrap();
    delivery.offer(&envelope(8)).unwrap();
    drop(delivery);
    let restarted = Delivery::start(config(url), open(), None, options(), random()).unwrap();
    assert_eq!((restarted.status().source, restarted.status().version), (PlanSource::Cache, 8));
    assert_eq!(std::fs::read(directory.join("plan.bin")).unwrap(), envelope(8), "exact signed bytes are kept");
    std::fs::remove_dir_all(directory).unwrap();
}
