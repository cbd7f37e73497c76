//! Every decision reason, in the specified order, and the report that counts them.

mod common;

use common::{engine, engine_with_clock, plan_json};
use trackgate_core::sampling::{is_kept, random_value, weight};
use trackgate_core::{Decision, DropReason, Engine, EngineError, EngineOptions, ResolveError};

fn keep() -> Decision {
    Decision::Keep { weight: 1.0 }
}

fn dropped(reason: DropReason) -> Decision {
    Decision::Drop { reason }
}

const EVENTS: &str = r#"
    "pay.done": {"priority": "P0"},
    "old.ping": {"priority": "P2", "status": "retired"},
    "low.noise": {"priority": "P3"},
    "big.blob": {"priority": "P1", "max_bytes": 100},
    "never.kept": {"priority": "P2", "sample": 0},
    "chatty.scroll": {"priority": "P2", "rate_limit": {"per_second": 1, "burst": 2}}
"#;

#[test]
fn each_rule_gives_its_reason() {
    let engine = engine(&plan_json(1, r#""shed_below": "P2""#, EVENTS), "unit-1");
    assert_eq!(engine.decide("pay.done", 10), keep());
    assert_eq!(engine.decide("old.ping", 10), dropped(DropReason::Retired));
    assert_eq!(engine.decide("low.noise", 10), dropped(DropReason::Shed));
    assert_eq!(engine.decide("big.blob", 100), keep());
    assert_eq!(engine.decide("big.blob", 101), dropped(DropReason::Oversize));
    assert_eq!(engine.decide("never.kept", 10), dropped(DropReason::SampledOut));
    assert_eq!(engine.decide("chatty.scroll", 10), keep());
    assert_eq!(engine.decide("chatty.scroll", 10), keep());
    assert_eq!(engine.decide("chatty.scroll", 10), dropped(DropReason::RateLimited));
    assert_eq!(engine.decide("not.in.plan", 10), dropped(DropReason::Unregistered));
    assert_eq!(engine.decide("Not Valid!", 10), dropped(DropReason::InvalidName));
    assert_eq!(engine.decide("", 10), dropped(DropReason::InvalidName));
}

#[test]
fn kill_switch_comes_first() {
    let engine = engine(&plan_json(1, r#""enabled": false"#, EVENTS), "unit-1");
    for name in ["pay.done", "old.ping", "big.blob", "not.in.plan", "Not Valid!"] {
        assert_eq!(engine.decide(name, 1_000_000), dropped(DropReason::Disabled), "{name}");
    }
    let report = engine.take_report();
    assert_eq!(report.dropped.disabled, 5);
    assert_eq!(report.offered, 5);
}

#[test]
fn rules_apply_in_the_specified_order() {
    // Retired beats shed, shed beats oversize, oversize beats sampling, sampling beats rate limit.
    let events = r#"
        "a": {"priority": "P3", "status": "retired", "max_bytes": 1, "sample": 0},
        "b": {"priority": "P3", "max_bytes": 1, "sample": 0},
        "c": {"priority": "P1", "max_bytes": 1, "sample": 0, "rate_limit": {"per_second": 1, "burst": 1}},
        "d": {"priority": "P1", "sample": 0, "rate_limit": {"per_second": 1, "burst": 1}}
    "#;
    let engine = engine(&plan_json(1, r#""shed_below": "P2""#, events), "unit-1");
    assert_eq!(engine.decide("a", 5), dropped(DropReason::Retired));
    assert_eq!(engine.decide("b", 5), dropped(DropReason::Shed));
    assert_eq!(engine.decide("c", 5), dropped(DropReason::Oversize));
    assert_eq!(engine.decide("d", 5), dropped(DropReason::SampledOut));
    // A unit that is not sampled out does not take a token.
    assert_eq!(engine.decide("d", 5), dropped(DropReason::SampledOut));
}

#[test]
fn sampling_is_per_unit_and_carries_the_weight() {
    let events = r#""feed.view": {"priority": "P2", "sample": 0.25}, "feed.salted": {"priority": "P2", "sample": 0.25, "salt": "other"}"#;
    let source = plan_json(1, r#""sampling_salt": "s1""#, events);
    let mut kept_units = 0;
    for unit in 0..2000 {
        let unit_id = format!("install-{unit}");
        let engine = engine(&source, &unit_id);
        let expected_plan_salt = is_kept(random_value("s1", &unit_id), 250_000);
        let expected_event_salt = is_kept(random_value("other", &unit_id), 250_000);
        let decision = engine.decide("feed.view", 10);
        assert_eq!(decision.is_keep(), expected_plan_salt, "unit {unit_id}");
        assert_eq!(engine.decide("feed.salted", 10).is_keep(), expected_event_salt, "unit {unit_id}");
        if let Decision::Keep { weight: kept_weight } = decision {
            assert_eq!(kept_weight, weight(250_000));
            kept_units += 1;
        } else {
            assert_eq!(decision, dropped(DropReason::SampledOut));
        }
    }
    assert!((400..600).contains(&kept_units), "kept {kept_units} of 2000 at 25%");
}

#[test]
fn changing_the_unit_changes_the_sample() {
    let source = plan_json(1, "", r#""feed.view": {"priority": "P2", "sample": 0.5}"#);
    let engine = engine(&source, "first");
    let mut differs = false;
    for unit in 0..64 {
        let unit_id = format!("user-{unit}");
        engine.set_unit_id(&unit_id).unwrap();
        assert_eq!(engine.unit_id(), unit_id);
        let decision = engine.decide("feed.view", 1);
        assert_eq!(decision.is_keep(), is_kept(random_value("", &unit_id), 500_000));
        differs |= decision.is_keep() != engine.decide("feed.view", 1).is_keep();
    }
    assert!(!differs, "a unit's decision must be stable");
    assert_eq!(engine.set_unit_id(""), Err(EngineError::InvalidUnitId(0)));
    assert_eq!(engine.set_unit_id(&"x".repeat(4097)), Err(EngineError::InvalidUnitId(4097)));
    assert_eq!(engine.unit_id(), "user-63", "a refused unit id changes nothing");
}

#[test]
fn generated_install_ids_are_uuid_v4_and_distinct() {
    let plan = common::compile(&plan_json(1, "", ""));
    let first = Engine::new(plan, EngineOptions::default()).unwrap().unit_id();
    let second = Engine::new(common::compile(&plan_json(1, "", "")), EngineOptions::default()).unwrap().unit_id();
    assert_ne!(first, second);
    assert_eq!(first.len(), 36);
    assert_eq!(&first[14..15], "4");
    assert!(matches!(&first[19..20], "8" | "9" | "a" | "b"));
}

#[test]
fn rate_limit_refills_on_the_injected_clock() {
    let (engine, clock) = engine_with_clock(&plan_json(1, "", EVENTS), "unit-1");
    assert!(engine.decide("chatty.scroll", 1).is_keep());
    assert!(engine.decide("chatty.scroll", 1).is_keep());
    assert!(!engine.decide("chatty.scroll", 1).is_keep());
    clock.advance_nanos(999_999_999);
    assert!(!engine.decide("chatty.scroll", 1).is_keep());
    clock.advance_nanos(1);
    assert!(engine.decide("chatty.scroll", 1).is_keep());
    assert!(!engine.decide("chatty.scroll", 1).is_keep());
}

#[test]
fn unregistered_keep_policy_keeps_but_still_records() {
    let engine = engine(&plan_json(1, r#""unregistered": "keep""#, EVENTS), "unit-1");
    assert_eq!(engine.decide("new.feature", 7), keep());
    assert_eq!(engine.decide("new.feature", 7), keep());
    assert_eq!(engine.decide("Bad Name", 7), dropped(DropReason::InvalidName));
    let report = engine.take_report();
    assert_eq!(report.kept, 2);
    assert_eq!(report.dropped.invalid_name, 1);
    assert_eq!(report.unregistered.len(), 1);
    assert_eq!(
        (report.unregistered[0].name.as_str(), report.unregistered[0].kept, report.unregistered[0].bytes),
        ("new.feature", 2, 14)
    );
}

#[test]
fn shadow_mode_keeps_everything_and_counts_what_would_drop() {
    let engine = engine(&plan_json(1, r#""shadow": true, "shed_below": "P2""#, EVENTS), "unit-1");
    let names = ["pay.done", "old.ping", "low.noise", "never.kept", "not.in.plan", "Bad Name"];
    for name in names {
        assert_eq!(engine.decide(name, 10), keep(), "{name}");
    }
    assert_eq!(engine.decide("big.blob", 500), keep());
    let report = engine.take_report();
    assert!(report.shadow);
    assert_eq!(report.offered, 7);
    assert_eq!(report.kept, 7);
    assert_eq!(report.dropped.total(), 0);
    assert_eq!(report.kept_bytes, 560);
    assert_eq!(report.dropped_bytes, 0);
    let shadow = report.shadow_dropped;
    assert_eq!((shadow.retired, shadow.shed, shadow.sampled_out, shadow.unregistered), (1, 1, 1, 1));
    assert_eq!((shadow.invalid_name, shadow.oversize), (1, 1));
}

#[test]
fn resolve_and_decide_id_agree_with_decide() {
    let engine = engine(&plan_json(1, r#""shed_below": "P2""#, EVENTS), "unit-1");
    for name in ["pay.done", "old.ping", "low.noise", "big.blob", "never.kept"] {
        let id = engine.resolve(name).unwrap();
        assert_eq!(engine.decide_id(id, 1000), Ok(engine.decide(name, 1000)), "{name}");
    }
    assert_eq!(engine.resolve("not.in.plan"), Err(ResolveError::Unregistered));
    assert!(matches!(engine.resolve("no spaces"), Err(ResolveError::InvalidName(_))));
}

#[test]
fn ids_from_an_older_plan_are_refused_never_misapplied() {
    let engine = engine(
        &plan_json(1, "", r#""a.one": {"priority": "P1"}, "b.two": {"priority": "P1", "status": "retired"}"#),
        "u",
    );
    let old_id = engine.resolve("a.one").unwrap();
    // The new plan puts a different, retired event at the same index.
    engine.install(common::compile(&plan_json(
        2,
        "",
        r#""a.aaa": {"priority": "P1", "status": "retired"}, "a.one": {"priority": "P1"}"#,
    )));
    assert_eq!(engine.decide_id(old_id, 1), Err(trackgate_core::StaleEventId));
    let fresh = engine.resolve("a.one").unwrap();
    assert_eq!(engine.decide_id(fresh, 1), Ok(keep()));
    // Ids from another engine, or made up, are stale too.
    let other = common::engine(&plan_json(1, "", r#""a.one": {"priority": "P1"}"#), "u");
    let foreign = other.resolve("a.one").unwrap();
    assert!(engine.decide_id(foreign, 1).is_err());
    assert!(engine.decide_id(trackgate_core::EventId::from_raw(u64::MAX), 1).is_err());
}

#[test]
fn report_accounts_for_every_decision_and_resets() {
    let (engine, clock) = engine_with_clock(&plan_json(3, "", EVENTS), "unit-1");
    let sizes =
        [("pay.done", 100), ("pay.done", 50), ("old.ping", 30), ("big.blob", 500), ("never.kept", 7), ("x.y", 9)];
    for (name, size) in sizes {
        engine.decide(name, size);
    }
    clock.advance_nanos(60_000_000_000);
    let report = engine.take_report();
    assert_eq!(report.plan_version, 3);
    assert_eq!((report.app.as_str(), report.env.as_str()), ("shop", "prod"));
    assert_eq!(report.window_start_unix_ms, common::START_UNIX_MS);
    assert_eq!(report.window_end_unix_ms, common::START_UNIX_MS + 60_000);
    assert_eq!((report.offered, report.kept, report.kept_bytes), (6, 2, 150));
    assert_eq!(report.dropped_bytes, 30 + 500 + 7 + 9);
    let dropped = report.dropped;
    assert_eq!((dropped.retired, dropped.oversize, dropped.sampled_out, dropped.unregistered), (1, 1, 1, 1));
    let pay = report.events.iter().find(|event| event.name == "pay.done").unwrap();
    assert_eq!((pay.kept, pay.kept_bytes, pay.kept_weighted), (2, 150, 2.0));
    assert_eq!(pay.priority, Some(trackgate_core::Priority::P0));
    let json = serde_json_round_trip(&report);
    assert_eq!(json, report);

    let empty = engine.take_report();
    assert_eq!(empty.offered, 0);
    assert!(empty.events.is_empty() && empty.unregistered.is_empty());
    assert_eq!(empty.window_start_unix_ms, report.window_end_unix_ms);
}

#[test]
fn counts_survive_a_plan_swap_until_reported() {
    let engine = engine(&plan_json(1, "", EVENTS), "u");
    engine.decide("pay.done", 1);
    let change =
        engine.install(common::compile(&plan_json(2, "", r#""pay.done": {"priority": "P0", "status": "retired"}"#)));
    assert_eq!((change.previous_version, change.version), (1, 2));
    engine.decide("pay.done", 1);
    let report = engine.take_report();
    assert_eq!(report.plan_version, 2);
    let pay = report.events.iter().find(|event| event.name == "pay.done").unwrap();
    assert_eq!((pay.kept, pay.dropped.retired), (1, 1));
}

#[test]
fn unregistered_names_are_bounded() {
    let clock = std::sync::Arc::new(trackgate_core::ManualClock::new(0));
    let options = EngineOptions { unit_id: Some("u".into()), unregistered_capacity: 3, clock };
    let engine = Engine::new(common::compile(&plan_json(1, "", "")), options).unwrap();
    for index in 0..10 {
        engine.decide(&format!("stray.{index}"), 2);
    }
    let report = engine.take_report();
    assert_eq!(report.unregistered.len(), 3);
    assert_eq!(report.unregistered_overflow, 7);
    assert_eq!(report.dropped.unregistered, 10);
    assert_eq!(report.dropped_bytes, 20);
    // A new window records new names again.
    engine.decide("stray.9", 2);
    assert_eq!(engine.take_report().unregistered[0].name, "stray.9");
}

fn serde_json_round_trip(report: &trackgate_core::DropReport) -> trackgate_core::DropReport {
    let text = serde_json::to_string(report).unwrap();
    assert!(text.contains("\"sampled_out\":1"), "{text}");
    serde_json::from_str(&text).unwrap()
}

#[test]
fn huge_sizes_neither_panic_nor_hit_a_cap_that_is_not_there() {
    let engine = engine(
        &plan_json(1, "", r#""raw.upload": {"priority": "P2"}, "capped": {"priority": "P2", "max_bytes": 10}"#),
        "u",
    );
    assert_eq!(engine.decide("raw.upload", u64::MAX), keep());
    assert_eq!(engine.decide("raw.upload", u64::MAX), keep());
    assert_eq!(engine.decide("capped", u64::MAX), dropped(DropReason::Oversize));
    assert_eq!(engine.decide("stray.huge", u64::MAX), dropped(DropReason::Unregistered));
    assert_eq!(engine.decide("stray.huge", u64::MAX), dropped(DropReason::Unregistered));
    // The id path counts the same way (the bindings pass sizes through unclamped).
    let capped = engine.resolve("capped").unwrap();
    assert_eq!(engine.decide_id(capped, u64::from(u32::MAX) + 1), Ok(dropped(DropReason::Oversize)));
    let raw = engine.resolve("raw.upload").unwrap();
    assert_eq!(engine.decide_id(raw, u64::MAX), Ok(keep()));
    let report = engine.take_report();
    assert_eq!(report.offered, 7);
    let counted = trackgate_core::MAX_COUNTED_EVENT_BYTES;
    assert_eq!(report.kept_bytes, 3 * counted, "sizes are counted up to 4 GiB each, so totals cannot wrap");
    assert_eq!(report.dropped_bytes, 4 * counted);
}
