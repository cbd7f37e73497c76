//! The backend's evaluation (`CompiledPlan::evaluate_for_unit`) gives the device's decisions for
//! every rule except rate limits, for any unit, including the empty one.

mod common;

use common::{compile, engine, plan_json};
use trackgate_core::sampling::{is_kept, random_value};
use trackgate_core::{Decision, DropReason, Priority};

const EVENTS: &str = r#"
    "pay.done": {"priority": "P0"},
    "old.ping": {"priority": "P2", "status": "retired"},
    "low.noise": {"priority": "P3"},
    "big.blob": {"priority": "P1", "max_bytes": 100},
    "feed.view": {"priority": "P2", "sample": 0.3},
    "feed.other": {"priority": "P2", "sample": 0.3, "salt": "x"},
    "chatty.scroll": {"priority": "P2", "rate_limit": {"per_second": 1, "burst": 1}}
"#;

#[test]
fn matches_the_device_for_every_rule_but_rate_limits() {
    let source = plan_json(1, r#""shed_below": "P2", "sampling_salt": "s""#, EVENTS);
    let plan = compile(&source);
    let names = ["pay.done", "old.ping", "low.noise", "big.blob", "feed.view", "feed.other", "stray.one", "Bad Name"];
    for unit in 0..300 {
        let unit_id = format!("device-{unit}");
        let device = engine(&source, &unit_id);
        for name in names {
            for size in [10, 500] {
                let server = plan.evaluate_for_unit(name, size, &unit_id);
                assert_eq!(server.decision, device.decide(name, size), "{name} {size} {unit_id}");
                assert_eq!(server.refused_by, server.decision.drop_reason());
            }
        }
    }
}

#[test]
fn rate_limits_stay_on_the_device() {
    let plan = compile(&plan_json(1, "", EVENTS));
    for _ in 0..10 {
        let evaluation = plan.evaluate_for_unit("chatty.scroll", 1, "u");
        assert_eq!(evaluation.decision, Decision::Keep { weight: 1.0 });
        assert_eq!(evaluation.priority, Some(Priority::P2));
    }
}

#[test]
fn any_unit_string_is_hashed_as_spark_would() {
    let plan = compile(&plan_json(1, r#""sampling_salt": "s""#, EVENTS));
    for unit_id in ["", "é", "用户-1", &"x".repeat(5000)] {
        let expected = is_kept(random_value("s", unit_id), 300_000);
        assert_eq!(plan.evaluate_for_unit("feed.view", 1, unit_id).decision.is_keep(), expected, "{unit_id:?}");
    }
}

#[test]
fn shadow_plans_keep_but_name_the_rule() {
    let plan = compile(&plan_json(1, r#""shadow": true"#, EVENTS));
    let evaluation = plan.evaluate_for_unit("old.ping", 1, "u");
    assert_eq!(evaluation.decision, Decision::Keep { weight: 1.0 });
    assert_eq!(evaluation.refused_by, Some(DropReason::Retired));
    let stray = plan.evaluate_for_unit("stray.one", 1, "u");
    assert_eq!((stray.refused_by, stray.priority), (Some(DropReason::Unregistered), None));
}
