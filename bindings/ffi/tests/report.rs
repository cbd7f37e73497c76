//! Reports through the Gate: the record mirrors the core's report, the JSON is the core's
//! upload format, and each decision is in exactly one report.

mod common;

use common::*;
use trackgate_core::DropReport as CoreReport;
use trackgate_ffi::{DropReason, Priority};

#[test]
fn the_report_counts_every_decision_once_and_its_json_is_the_upload_format() {
    let publisher = Publisher::new(1);
    let store = TempDir::new("report");
    let gate = gate_with_plan(&publisher, &store, &standard_plan(3));
    let before_ms = unix_now() * 1000;
    for _ in 0..3 {
        gate.decide("checkout.completed".into(), 100);
    }
    gate.decide("legacy.banner_seen".into(), 40);
    gate.decide("photo.uploaded".into(), 5000);
    gate.decide("typo.evnt".into(), 7);
    gate.decide("typo.evnt".into(), 7);
    gate.decide("bad name".into(), 1);

    let taken = gate.take_report();
    let report = &taken.report;
    assert_eq!((report.app.as_str(), report.env.as_str(), report.plan_version), (APP, ENV, 3));
    assert_eq!((report.offered, report.kept, report.kept_bytes), (8, 3, 300));
    assert_eq!(report.dropped.get(DropReason::Retired), 1);
    assert_eq!(report.dropped.get(DropReason::Oversize), 1);
    assert_eq!(report.dropped.get(DropReason::Unregistered), 2);
    assert_eq!(report.dropped.get(DropReason::InvalidName), 1);
    assert_eq!(report.dropped_bytes, 40 + 5000 + 14 + 1);
    assert!(
        report.window_start_unix_ms >= before_ms - 60_000 && report.window_end_unix_ms >= report.window_start_unix_ms
    );

    let checkout = report.events.iter().find(|event| event.name == "checkout.completed").unwrap();
    assert_eq!((checkout.kept, checkout.kept_weighted, checkout.priority), (3, 3.0, Some(Priority::P0)));
    assert_eq!(report.unregistered.len(), 1);
    assert_eq!((report.unregistered[0].name.as_str(), report.unregistered[0].dropped), ("typo.evnt", 2));

    // The JSON decodes into exactly the core's report: one format for the backend.
    let decoded: CoreReport = serde_json::from_str(&taken.json).unwrap();
    assert_eq!(&decoded, report);
    let value: serde_json::Value = serde_json::from_str(&taken.json).unwrap();
    assert_eq!(value["dropped"]["unregistered"], 2);
    assert_eq!(value["events"][0]["priority"], "P0");

    // The next window starts empty.
    let next = gate.take_report().report;
    assert_eq!((next.offered, next.kept, next.events.len(), next.unregistered.len()), (0, 0, 0, 0));
    assert_eq!(next.window_start_unix_ms, report.window_end_unix_ms);
}

#[test]
fn a_shadow_plan_keeps_everything_and_counts_would_be_drops() {
    let publisher = Publisher::new(1);
    let store = TempDir::new("shadow");
    let shadow = plan(3, r#""shadow": true,"#, r#""legacy.banner_seen": {"priority": "P3", "status": "retired"}"#);
    let gate = gate_with_plan(&publisher, &store, &shadow);
    assert!(gate.decide("legacy.banner_seen".into(), 1).is_keep());
    assert!(gate.decide("typo.evnt".into(), 1).is_keep());
    let report = gate.take_report().report;
    assert!(report.shadow);
    assert_eq!((report.offered, report.kept, report.dropped.total()), (2, 2, 0));
    assert_eq!(report.shadow_dropped.get(DropReason::Retired), 1);
    assert_eq!(report.shadow_dropped.get(DropReason::Unregistered), 1);
}
