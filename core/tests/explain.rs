//! `Engine::explain` and `CompiledPlan::explain_for_unit`: the decision `decide` would give,
//! with the values behind it, counting nothing and taking no rate-limit token.

mod common;

use common::{compile, engine, engine_with_clock, plan_json};
use trackgate_core::sampling::{keep_floor, random_value};
use trackgate_core::{Decision, DropReason, Priority};

const EVENTS: &str = r#"
    "checkout.completed": {"priority": "P0"},
    "legacy.banner_seen": {"priority": "P3", "status": "retired"},
    "debug.trace": {"priority": "P3"},
    "photo.uploaded": {"priority": "P1", "max_bytes": 1000},
    "scroll.depth": {"priority": "P2", "sample": 0.25, "salt": "scroll-2026"},
    "search.typed": {"priority": "P2", "rate_limit": {"per_second": 0.5, "burst": 2}},
    "feed.seen": {"priority": "P2", "sample": 0.5, "max_bytes": 300, "rate_limit": {"per_second": 1, "burst": 1}}
"#;

const NAMES: [&str; 10] = [
    "checkout.completed",
    "legacy.banner_seen",
    "debug.trace",
    "photo.uploaded",
    "scroll.depth",
    "search.typed",
    "feed.seen",
    "typo.evnt",
    "Bad Name",
    "",
];

#[test]
fn explain_gives_the_decision_decide_gives_for_every_rule_unit_and_size() {
    for extras in ["", r#""shed_below": "P2""#, r#""enabled": false"#, r#""shadow": true"#, r#""unregistered": "keep""#]
    {
        let source = plan_json(7, extras, EVENTS);
        for unit in (0..40).map(|index| format!("install-{index}")) {
            let gate = engine(&source, &unit);
            for name in NAMES {
                for size in [0, 300, 301, 1000, 1001, u64::MAX] {
                    let explained = gate.explain(name, size);
                    assert_eq!(explained.decision, gate.decide(name, size), "{extras} {unit} {name} {size}");
                    assert_eq!(explained.plan_version, 7);
                }
            }
        }
    }
}

#[test]
fn explain_counts_nothing_and_takes_no_token() {
    let (gate, _clock) = engine_with_clock(&plan_json(1, "", EVENTS), "install-1");
    for _ in 0..10 {
        for name in NAMES {
            gate.explain(name, 10);
        }
    }
    let report = gate.take_report();
    assert_eq!(report.offered, 0);
    assert!(report.unregistered.is_empty(), "{:?}", report.unregistered);
    assert!(report.events.iter().all(|event| event.kept + event.dropped.total() == 0));
    // The bucket (burst 2) is still full: explain read it ten times and took nothing.
    let explained = gate.explain("search.typed", 10);
    assert_eq!(explained.tokens_left, Some(2));
    assert_eq!(gate.decide("search.typed", 10), Decision::Keep { weight: 1.0 });
    assert_eq!(gate.explain("search.typed", 10).tokens_left, Some(1));
    assert_eq!(gate.decide("search.typed", 10), Decision::Keep { weight: 1.0 });
    let empty = gate.explain("search.typed", 10);
    assert_eq!((empty.tokens_left, empty.decision), (Some(0), Decision::Drop { reason: DropReason::RateLimited }));
    assert_eq!(empty.refused_by, Some(DropReason::RateLimited));
}

#[test]
fn tokens_flow_back_in_with_the_clock() {
    let (gate, clock) = engine_with_clock(&plan_json(1, "", EVENTS), "install-1");
    gate.decide("search.typed", 1);
    gate.decide("search.typed", 1);
    assert_eq!(gate.explain("search.typed", 1).tokens_left, Some(0));
    clock.advance_nanos(2_000_000_000);
    assert_eq!(gate.explain("search.typed", 1).tokens_left, Some(1));
}

#[test]
fn the_values_behind_a_sampling_decision() {
    let gate = engine(&plan_json(4, "", EVENTS), "install-9");
    let explained = gate.explain("scroll.depth", 40);
    let value = random_value("scroll-2026", "install-9");
    assert_eq!(explained.sample_rate_ppm, Some(250_000));
    assert_eq!(explained.sampling_salt.as_deref(), Some("scroll-2026"));
    assert_eq!(explained.unit_value, Some(value));
    assert_eq!(explained.keep_from, Some(keep_floor(250_000)));
    assert_eq!(explained.priority, Some(Priority::P2));
    assert!(explained.registered);
    let kept = value >= keep_floor(250_000);
    assert_eq!(explained.refused_by, (!kept).then_some(DropReason::SampledOut));
    let text = explained.to_string();
    assert!(text.contains("rate 25% (250000 ppm)"), "{text}");
    assert!(text.contains(&format!("unit value {value}")), "{text}");
}

#[test]
fn the_refusing_rule_cap_and_size_are_named() {
    let gate = engine(&plan_json(4, "", EVENTS), "install-1");
    let explained = gate.explain("photo.uploaded", 2000);
    assert_eq!(explained.decision, Decision::Drop { reason: DropReason::Oversize });
    assert_eq!((explained.max_bytes, explained.size_bytes), (Some(1000), 2000));
    let text = explained.to_string();
    assert!(text.starts_with("\"photo.uploaded\" (2000 bytes): drop: oversize"), "{text}");
    assert!(text.contains("2000 bytes, cap 1000  <- refused here"), "{text}");

    let retired = gate.explain("legacy.banner_seen", 1);
    assert_eq!(retired.refused_by, Some(DropReason::Retired));
    assert!(retired.to_string().contains("status        retired  <- refused here"), "{retired}");

    let unregistered = gate.explain("typo.evnt", 1);
    assert!(!unregistered.registered && unregistered.priority.is_none());
    assert!(unregistered.to_string().contains("not in the plan (unregistered: drop)  <- refused here"));

    let invalid = gate.explain("Bad Name", 1);
    assert_eq!(invalid.refused_by, Some(DropReason::InvalidName));
    assert!(invalid.name_problem.is_some());
    assert!(invalid.to_string().contains("name          invalid: "), "{invalid}");
}

#[test]
fn a_shadow_plan_keeps_and_says_which_rule_would_drop() {
    let gate = engine(&plan_json(4, r#""shadow": true"#, EVENTS), "install-1");
    let explained = gate.explain("photo.uploaded", 2000);
    assert_eq!(explained.decision, Decision::Keep { weight: 1.0 });
    assert_eq!(explained.refused_by, Some(DropReason::Oversize));
    assert!(explained.to_string().contains("keep (shadow plan; would drop: oversize)"), "{explained}");
}

#[test]
fn without_a_unit_a_sampled_event_is_decided_as_inside_its_sample() {
    let plan = compile(&plan_json(2, "", EVENTS));
    let explained = plan.explain_for_unit("scroll.depth", 1, None, 0);
    assert_eq!(explained.unit_value, None);
    assert_eq!(explained.decision, Decision::Keep { weight: 4.0 });
    assert!(explained.to_string().contains("no unit given"), "{explained}");
    let with_unit = plan.explain_for_unit("scroll.depth", 1, Some("install-9"), 0);
    assert_eq!(with_unit.unit_value, Some(random_value("scroll-2026", "install-9")));
    // A fresh plan's buckets are full.
    assert_eq!(plan.explain_for_unit("search.typed", 1, None, 0).tokens_left, Some(2));
    // Rate 0 keeps no unit, with or without one.
    let never = compile(&plan_json(2, "", r#""off.event": {"priority": "P2", "sample": 0}"#));
    assert_eq!(never.explain_for_unit("off.event", 1, None, 0).refused_by, Some(DropReason::SampledOut));
}
