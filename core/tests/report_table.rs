//! A `DropReport` printed as a table (`Display`): every count a person needs, one row per
//! event and unregistered name.

mod common;

use common::{engine, plan_json};

const EVENTS: &str = r#"
    "checkout.completed": {"priority": "P0"},
    "photo.uploaded": {"priority": "P1", "max_bytes": 1000}
"#;

#[test]
fn a_report_prints_its_totals_events_and_unregistered_names() {
    let gate = engine(&plan_json(3, "", EVENTS), "install-1");
    gate.decide("checkout.completed", 120);
    gate.decide("checkout.completed", 80);
    gate.decide("photo.uploaded", 5000);
    gate.decide("typo.evnt", 7);
    let table = gate.take_report().to_string();
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("shop/prod plan version 3, 2026-11-23 00:00:00 UTC to "), "{table}");
    assert_eq!(lines[1], "offered 4, kept 2 (200 bytes), dropped 2 (5007 bytes): unregistered 1, oversize 1");
    let row =
        |name: &str| lines.iter().find(|line| line.starts_with(name)).unwrap_or_else(|| panic!("{name}: {table}"));
    let cells = |name: &str| row(name).split_whitespace().map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(cells("checkout.completed"), ["checkout.completed", "P0", "2", "200", "2.0", "0", "0", "-"]);
    assert_eq!(cells("photo.uploaded"), ["photo.uploaded", "P1", "0", "0", "0.0", "1", "5000", "oversize", "1"]);
    assert!(table.contains("\nunregistered "), "{table}");
    assert_eq!(cells("typo.evnt"), ["typo.evnt", "0", "1", "0", "7"]);
}

#[test]
fn a_shadow_report_shows_would_be_drops() {
    let gate = engine(&plan_json(3, r#""shadow": true"#, EVENTS), "install-1");
    gate.decide("photo.uploaded", 5000);
    let table = gate.take_report().to_string();
    assert!(table.contains("plan version 3 (shadow)"), "{table}");
    assert!(table.contains("shadow plan kept, would have dropped: oversize 1"), "{table}");
    assert!(table.contains("|  oversize 1"), "{table}");
}
