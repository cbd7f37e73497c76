//! The check's risk rules: each one finds what it names, blocks or warns as configured.

mod common;

use std::collections::BTreeMap;

use common::*;
use trackgate_core::{DropReport, EventReport};
use trackgate_release::check::run_check;
use trackgate_release::*;
use trackgate_usage::analysis::{EventUses, UsageFile};

fn usage(entries: &[(&str, u64, u64)]) -> UsageFile {
    let events: BTreeMap<String, EventUses> = entries
        .iter()
        .map(|(name, queries, realtime)| {
            (
                (*name).to_owned(),
                EventUses { warehouse_queries: *queries, realtime_rules: *realtime, behaviour_queries: 0 },
            )
        })
        .collect();
    UsageFile { days: 30, events, active_hours: BTreeMap::new() }
}

fn findings(
    next: &trackgate_core::Plan,
    usage: Option<&UsageFile>,
    baseline: &Baseline,
    config: &CheckConfig,
) -> Vec<Finding> {
    run_check(&previous(), next, config, CheckInputs { usage, baseline, costs: &CostModel::default() })
}

fn of(findings: &[Finding], rule: RiskRule) -> Vec<&Finding> {
    findings.iter().filter(|finding| finding.rule == rule).collect()
}

fn baseline(banner: u64, checkout: u64) -> Baseline {
    let mut baseline = Baseline::new();
    let events = [("banner.viewed", banner), ("checkout.completed", checkout), ("search.performed", 100)]
        .into_iter()
        .map(|(name, kept)| EventReport { name: name.into(), kept, kept_bytes: kept * 100, ..EventReport::default() })
        .collect();
    baseline.add_drop_report(&DropReport { events, window_start_unix_ms: T0 * 1000, ..DropReport::default() });
    baseline
}

const RETIRE_SEARCH: &str = r#""checkout.completed": {"priority": "P0", "owner": "payments"},
    "search.performed": {"priority": "P2", "owner": "search", "status": "retired"},
    "banner.viewed": {"priority": "P3", "owner": "growth"}"#;

#[test]
fn retiring_or_sampling_an_event_with_recent_usage_blocks() {
    let used = usage(&[("search.performed", 12, 0)]);
    let found = findings(&plan(2, RETIRE_SEARCH), Some(&used), &Baseline::new(), &CheckConfig::default());
    let rule = of(&found, RiskRule::RecentUsage);
    assert_eq!(rule.len(), 1, "{found:?}");
    assert_eq!(rule[0].severity, Severity::Block);
    assert!(rule[0].message.contains("retired but was read 12 time(s) in the last 30 days"), "{}", rule[0]);
    // Sampling is a reduction too; an unread event may go.
    let found =
        findings(&good_next(), Some(&usage(&[("banner.viewed", 1, 0)])), &Baseline::new(), &CheckConfig::default());
    assert!(of(&found, RiskRule::RecentUsage)[0].message.contains("sampled 1 → 0.1"));
    let found = findings(&plan(2, RETIRE_SEARCH), Some(&usage(&[])), &Baseline::new(), &CheckConfig::default());
    assert!(of(&found, RiskRule::RecentUsage).is_empty());
}

#[test]
fn sampling_or_shedding_a_p0_blocks() {
    let sampled = plan(
        2,
        r#""checkout.completed": {"priority": "P0", "owner": "payments", "sample": 0.5},
           "search.performed": {"priority": "P2", "owner": "search"},
           "banner.viewed": {"priority": "P3", "owner": "growth"}"#,
    );
    let found = findings(&sampled, None, &Baseline::new(), &CheckConfig::default());
    assert_eq!(of(&found, RiskRule::P0Reduced)[0].event.as_deref(), Some("checkout.completed"));
    assert_eq!(of(&found, RiskRule::P0Reduced)[0].severity, Severity::Block);
    // Downgraded to P3 while the plan sheds below P1: shed.
    let mut shed = sampled.clone();
    shed.events.get_mut("checkout.completed").unwrap().sample = Default::default();
    shed.events.get_mut("checkout.completed").unwrap().priority = trackgate_core::Priority::P3;
    shed.shed_below = Some(trackgate_core::Priority::P1);
    let found = findings(&shed, None, &Baseline::new(), &CheckConfig::default());
    assert!(of(&found, RiskRule::P0Reduced).iter().any(|f| f.message.contains("P0 and would be shed")), "{found:?}");
    // Configured down to a warning, it no longer blocks.
    let config = CheckConfig { p0_reduced: Severity::Warn, ..CheckConfig::default() };
    let found = findings(&sampled, None, &Baseline::new(), &config);
    assert!(check::blocking(&found).is_empty(), "{found:?}");
}

#[test]
fn removing_an_event_a_realtime_rule_reads_blocks() {
    let removed = plan(
        2,
        r#""checkout.completed": {"priority": "P0", "owner": "payments"},
           "banner.viewed": {"priority": "P3", "owner": "growth"}"#,
    );
    let found =
        findings(&removed, Some(&usage(&[("search.performed", 0, 2)])), &Baseline::new(), &CheckConfig::default());
    let rule = of(&found, RiskRule::RealtimeRead);
    assert_eq!(rule.len(), 1, "{found:?}");
    assert!(rule[0].message.contains("search.performed would be removed but 2 real-time rule(s) read it"));
    let config = CheckConfig { realtime_read: Severity::Off, ..CheckConfig::default() };
    let found = findings(&removed, Some(&usage(&[("search.performed", 0, 2)])), &Baseline::new(), &config);
    assert!(of(&found, RiskRule::RealtimeRead).is_empty());
}

#[test]
fn an_event_without_an_owner_warns() {
    let unowned = plan(
        2,
        r#""checkout.completed": {"priority": "P0", "owner": "payments"},
           "search.performed": {"priority": "P2", "owner": " "},
           "banner.viewed": {"priority": "P3", "owner": "growth"},
           "promo.seen": {"priority": "P3"}"#,
    );
    let found = findings(&unowned, Some(&usage(&[])), &Baseline::new(), &CheckConfig::default());
    let names: Vec<_> = of(&found, RiskRule::NoOwner).iter().map(|f| f.event.clone().unwrap()).collect();
    assert_eq!(names, ["promo.seen", "search.performed"]);
    assert!(of(&found, RiskRule::NoOwner).iter().all(|f| f.severity == Severity::Warn));
    let config = CheckConfig { no_owner: Severity::Block, ..CheckConfig::default() };
    assert_eq!(check::blocking(&findings(&unowned, None, &Baseline::new(), &config)).len(), 2);
}

#[test]
fn a_projected_volume_change_beyond_the_threshold_warns() {
    // banner is 900 of 1100 kept events a day; sampling it to 10 % removes 810 (-73.6 %).
    let found = findings(&good_next(), Some(&usage(&[])), &baseline(900, 100), &CheckConfig::default());
    let rule = of(&found, RiskRule::VolumeChange);
    assert_eq!(rule.len(), 2, "{found:?}");
    assert!(rule[0].message.contains("kept events per day change by -73.6% (limit ±30.0%)"), "{}", rule[0]);
    // A small share of the volume stays under the threshold.
    let found = findings(&good_next(), Some(&usage(&[])), &baseline(10, 1000), &CheckConfig::default());
    assert!(of(&found, RiskRule::VolumeChange).is_empty(), "{found:?}");
    let config = CheckConfig { max_volume_change: 0.005, ..CheckConfig::default() };
    assert_eq!(of(&findings(&good_next(), None, &baseline(10, 1000), &config), RiskRule::VolumeChange).len(), 2);
}

#[test]
fn missing_inputs_are_said_not_assumed_safe() {
    let found = findings(&good_next(), None, &Baseline::new(), &CheckConfig::default());
    let missing = of(&found, RiskRule::MissingInput);
    assert_eq!(missing.len(), 2);
    assert!(missing.iter().all(|finding| finding.severity == Severity::Warn));
}

#[test]
fn a_blocked_check_stops_the_release_at_the_check() {
    let record = register(previous(), plan(2, RETIRE_SEARCH), options("shop-2"), T0).unwrap();
    let used = usage(&[("search.performed", 3, 0)]);
    let baseline = Baseline::new();
    let inputs = CheckInputs { usage: Some(&used), baseline: &baseline, costs: &CostModel::default() };
    let checked = record.check(inputs, "alice", T0 + 60).unwrap();
    assert!(checked.stages.last().unwrap().result.starts_with("blocked: 1 blocking"));
    let error = checked.diff(&baseline, &CostModel::default(), "alice", T0 + 120).unwrap_err();
    assert!(error.to_string().contains("cannot make the diff now: the check blocks it: block recent_usage"), "{error}");
}
