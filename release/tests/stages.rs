//! The stages in order: reviews as signatures, the schedule, the steps with their minimum
//! durations, the watch's verdicts, confirm and rollback.

mod common;

use common::*;
use ed25519_dalek::Signer;
use trackgate_core::DropReport;
use trackgate_release::*;

/// `count` reports of each version, ending at `end`.
fn reports(count: usize, end: u64, new_p0: u64, new_oversize: u64) -> Vec<DropReport> {
    let mut all = Vec::new();
    for _ in 0..count {
        all.push(report(1, end, 5, 0, 1));
        all.push(report(2, end, new_p0, new_oversize, 1));
    }
    all
}

#[test]
fn operations_out_of_order_are_refused_and_change_nothing() {
    let record = register(previous(), good_next(), options("shop-2"), T0).unwrap();
    let error = record.diff(&Baseline::new(), &CostModel::default(), "alice", T0).unwrap_err();
    assert!(error.to_string().contains("run the check first"), "{error}");
    let error = approve(&record, Role::Business, &key(1), T0).unwrap_err();
    assert!(error.to_string().contains("make the diff first"), "{error}");
    let error = record.schedule(T0, "carol", T0).unwrap_err();
    assert!(error.to_string().contains("the business review has not approved it"), "{error}");
    let error = record.advance(&[], "ops", T0).unwrap_err();
    assert!(error.to_string().contains("awaiting check"), "{error}");
    let baseline = Baseline::new();
    let inputs = CheckInputs { usage: None, baseline: &baseline, costs: &CostModel::default() };
    let error = record.check(inputs, "alice", T0 - 1).unwrap_err();
    assert!(error.to_string().contains("before the last stage ended"), "{error}");
}

#[test]
fn registration_refuses_what_devices_would_refuse() {
    let error = register(previous(), plan(1, r#""a.b": {"priority": "P0"}"#), options("x"), T0).unwrap_err();
    assert_eq!(error, ReleaseError::VersionNotNewer { previous: 1, next: 1 });
    let mut other = good_next();
    other.env = "staging".into();
    assert!(matches!(register(previous(), other, options("x"), T0), Err(ReleaseError::ScopeMismatch { .. })));
    let mut invalid = good_next();
    invalid.schema = 9;
    let error = register(previous(), invalid, options("x"), T0).unwrap_err();
    assert!(error.to_string().starts_with("the next plan is invalid: error: $.schema"), "{error}");
    assert!(register(previous(), good_next(), options("../x"), T0).is_err());
}

#[test]
fn reviews_need_two_roles_two_keys_and_valid_signatures() {
    let record = scheduled(good_next());
    assert_eq!(record.approvals.len(), 2);
    let diffed = {
        let record = register(previous(), good_next(), options("shop-2"), T0).unwrap();
        let baseline = Baseline::new();
        let inputs = CheckInputs { usage: None, baseline: &baseline, costs: &CostModel::default() };
        let record = record.check(inputs, "alice", T0).unwrap();
        record.diff(&baseline, &CostModel::default(), "alice", T0).unwrap()
    };
    let business = approve(&diffed, Role::Business, &key(1), T0 + 10).unwrap();
    // The same key for the other role.
    let error = approve(&business, Role::Technical, &key(1), T0 + 20).unwrap_err();
    assert!(error.to_string().contains("each role needs its own key"), "{error}");
    // The same role twice.
    let error = approve(&business, Role::Business, &key(3), T0 + 20).unwrap_err();
    assert!(error.to_string().contains("already approved"), "{error}");
    // A signature over the other role's message, or another release's.
    let wrong = key(2).sign(&business.approval_message(Role::Business)).to_bytes();
    let error = business.approve(Role::Technical, key(2).verifying_key().as_bytes(), &wrong, "bob", "", T0 + 20);
    assert!(error.unwrap_err().to_string().contains("does not verify"));
    // One role alone cannot schedule.
    assert!(business.schedule(T0, "carol", T0 + 30).is_err());
}

#[test]
fn a_good_release_goes_through_every_stage() {
    let mut record = scheduled(good_next());
    assert_eq!(record.offer(T0 - 1), Offer::Previous);
    assert_eq!(record.offer(T0), Offer::Share(100), "the server offers from the start time on");
    let (next, advance, _) = record.advance(&[], "ops", T0 - 10).unwrap();
    assert_eq!(advance, Advance::Waiting(format!("the rollout starts at {}", trackgate_core::civil::UtcTime(T0))));
    assert_eq!(next, record);
    let (next, advance, _) = record.advance(&[], "ops", T0 + 5).unwrap();
    assert_eq!(advance, Advance::Started(100));
    record = next;
    let mut now = T0;
    let shares = [1_000, 5_000, 10_000];
    for (step, minimum) in [HOUR, 2 * HOUR, 4 * HOUR, 24 * HOUR].into_iter().enumerate() {
        // Too few reports: wait.
        let (_, advance, _) = record.advance(&reports(5, now + 60, 5, 0), "ops", now + minimum).unwrap();
        assert!(matches!(&advance, Advance::Waiting(why) if why.contains("not enough reports")), "{advance:?}");
        // Clean but too young: wait.
        let clean = reports(30, now + 60, 5, 0);
        let (_, advance, _) = record.advance(&clean, "ops", now + minimum - 1).unwrap();
        assert!(matches!(&advance, Advance::Waiting(why) if why.contains("watched clean")), "{advance:?}");
        now += minimum;
        let (next, advance, watch) = record.advance(&clean, "ops", now).unwrap();
        assert_eq!(watch.unwrap().verdict, watch::Verdict::Clean);
        match shares.get(step) {
            Some(share) => assert_eq!(advance, Advance::NextStep(*share)),
            None => assert_eq!(advance, Advance::Confirmed),
        }
        record = next;
    }
    assert_eq!(record.state, ReleaseState::Confirmed);
    assert_eq!(record.offer(now), Offer::Share(BUCKETS));
    let stages: Vec<&str> = record.stages.iter().map(|entry| entry.stage.label()).collect();
    assert_eq!(
        stages,
        [
            "register",
            "check",
            "diff",
            "business review",
            "technical review",
            "schedule",
            "staged rollout",
            "staged rollout",
            "staged rollout",
            "watch",
            "confirm"
        ]
    );
    let durations: Vec<u64> = record.stages.iter().map(|entry| entry.duration(now)).collect();
    assert_eq!(durations, [0, HOUR, 0, HOUR, 2 * HOUR, HOUR, HOUR, 2 * HOUR, 4 * HOUR, 24 * HOUR, 0]);
    assert!(record.advance(&[], "ops", now).unwrap_err().to_string().contains("confirmed"));
    // The finished record still parses.
    let parsed = ReleaseRecord::parse(&record.to_json()).unwrap();
    assert_eq!((parsed.stages, parsed.state), (record.stages, record.state));
}

#[test]
fn a_p0_falling_on_the_new_version_halts_and_rolls_back_at_the_first_step() {
    let record = scheduled(good_next());
    let (record, _, _) = record.advance(&[], "ops", T0).unwrap();
    // Half the P0 events now dropped as oversize.
    let bad = reports(30, T0 + 600, 2, 3);
    let (halted, advance, watch) = record.watch(&bad, "watch", T0 + 900).unwrap();
    let Advance::RolledBack(reason) = advance else { panic!("{advance:?}") };
    assert!(reason.contains("kept P0 events per device fell 60.0% (5.00 → 2.00; limit 10.0%)"), "{reason}");
    assert!(reason.contains("drop reason oversize jumped from 0.00% to"), "{reason}");
    assert_eq!(watch.unwrap().verdict, watch::Verdict::Breach);
    assert_eq!(halted.offer(T0 + 901), Offer::Rollback);
    assert!(matches!(&halted.state, ReleaseState::RolledBack { reason: why } if *why == reason));
    let last = &halted.stages[halted.stages.len() - 2..];
    assert!(last[0].result.starts_with("halted: kept P0"), "{:?}", last[0]);
    assert_eq!(last[1].stage, Stage::Rollback);
    assert!(last[1].result.contains("version 3 (the content of 1)"));
    assert!(halted.advance(&bad, "ops", T0 + 1000).is_err());
}

#[test]
fn intended_drops_are_not_jumps_but_unintended_ones_are() {
    // The good release samples banner.viewed: sampled_out rising is its purpose.
    let record = scheduled(good_next());
    let (record, _, _) = record.advance(&[], "ops", T0).unwrap();
    let mut sampled = reports(30, T0 + 600, 5, 0);
    for report in sampled.iter_mut().filter(|report| report.plan_version == 2) {
        report.dropped.sampled_out = 20;
        report.offered += 20;
    }
    let (_, advance, _) = record.watch(&sampled, "watch", T0 + 900).unwrap();
    assert!(matches!(advance, Advance::Waiting(_)), "{advance:?}");
    // More unregistered names on the new version.
    let mut typos = reports(30, T0 + 600, 5, 0);
    for report in typos.iter_mut().filter(|report| report.plan_version == 2) {
        report.unregistered[0].dropped = 4;
        report.dropped.unregistered = 4;
        report.offered += 3;
    }
    let (_, advance, _) = record.watch(&typos, "watch", T0 + 900).unwrap();
    assert!(matches!(&advance, Advance::RolledBack(why) if why.contains("unregistered share rose")), "{advance:?}");
}

#[test]
fn reports_of_other_scopes_versions_or_times_are_not_counted() {
    let record = scheduled(good_next());
    let (record, _, _) = record.advance(&[], "ops", T0).unwrap();
    let mut foreign = reports(30, T0 + 600, 0, 9);
    for report in &mut foreign {
        report.app = "other".into();
    }
    let mut early = reports(30, T0 - 60, 0, 9);
    early.retain(|report| report.plan_version == 2);
    let late = reports(30, T0 + 5_000, 0, 9);
    let all: Vec<DropReport> = foreign.into_iter().chain(early).chain(late).collect();
    let (_, advance, watch) = record.watch(&all, "watch", T0 + 900).unwrap();
    assert!(matches!(advance, Advance::Waiting(_)), "{advance:?}");
    assert_eq!(watch.unwrap().new.reports, 0);
}

#[test]
fn a_fall_within_the_noise_of_few_devices_waits_but_the_same_fall_beyond_it_halts() {
    let record = scheduled(good_next());
    let (record, _, _) = record.advance(&[], "ops", T0).unwrap();
    // 20 devices per version, kept P0 per device spread over 0..=9 (mean 4.5) before and
    // 0,0,1..=8 (mean 3.6) after: a 20 % fall against a 10 % limit, but within about one
    // standard error of that limit for so few devices.
    let mut noisy = Vec::new();
    for device in 0..20u64 {
        noisy.push(report(1, T0 - 600, device % 10, 0, 0));
        noisy.push(report(2, T0 + 600, (device % 10).saturating_sub(1), 0, 0));
    }
    let (_, advance, watch) = record.watch(&noisy, "watch", T0 + 900).unwrap();
    assert!(matches!(advance, Advance::Waiting(_)), "{advance:?}");
    assert_eq!(watch.unwrap().verdict, watch::Verdict::Clean);

    // Without the noise allowance the raw means breach.
    let mut raw = record.clone();
    raw.guards.noise_z = 0.0;
    let (_, advance, _) = raw.watch(&noisy, "watch", T0 + 900).unwrap();
    assert!(matches!(&advance, Advance::RolledBack(why) if why.contains("fell 20.0%")), "{advance:?}");

    // Every device alike shows no spread, but counts of events vary at least as Poisson counts
    // do: 20 such devices are still too few to tell a 20 % fall from the 10 % limit...
    let alike = |devices: u64, after: u64| -> Vec<DropReport> {
        (0..devices).flat_map(|_| [report(1, T0 - 600, 5, 0, 0), report(2, T0 + 600, after, 0, 0)]).collect()
    };
    let (_, advance, _) = record.watch(&alike(20, 4), "watch", T0 + 900).unwrap();
    assert!(matches!(advance, Advance::Waiting(_)), "{advance:?}");
    // ...400 are enough,
    let (_, advance, _) = record.watch(&alike(400, 4), "watch", T0 + 900).unwrap();
    assert!(matches!(&advance, Advance::RolledBack(why) if why.contains("fell 20.0%")), "{advance:?}");
    // and a real fault is far beyond the noise even at 20 devices.
    let (_, advance, _) = record.watch(&alike(20, 1), "watch", T0 + 900).unwrap();
    assert!(matches!(&advance, Advance::RolledBack(why) if why.contains("fell 80.0%")), "{advance:?}");
}

#[test]
fn a_small_cohort_with_a_chance_run_of_no_p0_events_is_not_a_measured_fall() {
    let record = scheduled(good_next());
    let (record, _, _) = record.advance(&[], "ops", T0).unwrap();
    // Rare P0 events (0.25 per device before) and 20 new devices of which by chance none had
    // one (about 1 % likely at 0.225 per device, the lowest the 10 % limit allows): without
    // the Poisson floor the empty cohort has no spread and this looked like a measured fall.
    let mut rare = Vec::new();
    for device in 0..40u64 {
        rare.push(report(1, T0 - 600, u64::from(device % 4 == 0), 0, 0));
    }
    for _ in 0..20 {
        rare.push(report(2, T0 + 600, 0, 0, 0));
    }
    let (_, advance, watch) = record.watch(&rare, "watch", T0 + 900).unwrap();
    assert!(matches!(advance, Advance::Waiting(_)), "{advance:?}");
    assert_eq!(watch.unwrap().verdict, watch::Verdict::Clean);
}
