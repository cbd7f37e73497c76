//! `trackgate demo --governance`: the whole governance loop on simulated devices, in one run,
//! in process and in simulated time (nothing sleeps: hours and days pass on injected clocks).
//!
//! 1. Traffic: every device runs the plan on its own engine (the demo's traffic model) and
//!    takes a drop report; the reports become the cost report through the same reading and
//!    computation as `trackgate report` (`report::inputs::from_drop_report`,
//!    `trackgate_governance::report::compute`), with the demo's prices and usage log.
//! 2. `propose` (supervised) → each owner answers its changes (one change is rejected, the rest
//!    accepted, each answer with a name and a comment) → `apply` makes the next plan version.
//! 3. `trackgate_release`: register → check → diff → business and technical review, each an
//!    Ed25519 signature by a key of its role that also signs the envelopes → schedule → staged
//!    rollout 1 % → 10 % → 50 % → 100 % on the devices, watched (`rollout.rs`) → confirm.
//! 4. A short section per step, then the release table (`release::table::status_text`).
//!
//! Every rule is a library call (governance, release, delivery); this module only chooses the
//! demo's inputs (prices, usage log, reviewers, times, keys) and prints. The keys are derived
//! from `--seed` and live in memory only; they sign nothing outside this run. Deterministic:
//! the same plan, `--seed` and `--devices` print the same text.

use std::collections::BTreeMap;
use std::sync::Arc;

use ed25519_dalek::Signer as _;
use trackgate_core::{DropReport, ManualClock, Plan, Priority, SplitMix64};
use trackgate_delivery::{add_signature, seal_plan_v2, SigningKey};
use trackgate_governance::report::{compute, EventUsage, GovernanceReport, Prices, ReportInputs, Thresholds, Usage};
use trackgate_governance::{apply, propose, ChangeState, Mode, Policy, Proposal, ProposeInputs, Timestamp, Verdict};
use trackgate_release::{
    register, Baseline, CheckConfig, CheckInputs, CostModel, GuardConfig, RegisterOptions, ReleaseRecord, Role,
    RolloutPlan,
};
use trackgate_usage::analysis::{EventUses, UsageFile};

use super::rollout::{roll_out, Envelopes, Fleet, StepRun};
use super::simulate::{draw_sessions, stream_seed, unit_id, use_app, TRAFFIC_STREAM};
use super::tally::DeviceTruth;
use super::traffic::{fnv1a, TrafficModel, SIMULATION_START_UNIX_MS};
use crate::format::{bytes, count, money};
use crate::release::table::{duration, status_text, time};
use crate::report::inputs::{from_drop_report, merge_window};
use crate::Failure;

const HOUR: u64 = 3600;
const DAY: u64 = 24 * HOUR;

/// When the devices started the report's traffic (2026-11-23 09:00 UTC), Unix seconds.
const TRAFFIC_START: u64 = SIMULATION_START_UNIX_MS / 1000;
/// The proposal is made a week later; owners answer during the day, the plan is applied the
/// next morning, and the release is prepared that day to start the morning after.
const PROPOSE_AT: u64 = TRAFFIC_START + 7 * DAY;
const APPLY_AT: u64 = PROPOSE_AT + DAY;
const ROLLOUT_AT: u64 = APPLY_AT + DAY;

/// The demo's unit prices.
const CURRENCY: &str = "EUR";
const PER_MILLION_EVENTS: f64 = 25.0;
const PER_GB: f64 = 2.0;

/// Days of the simulated usage log.
const USAGE_DAYS: u32 = 30;

/// The people who answer for the owners, in owner order.
const REVIEWERS: [&str; 8] = ["ana", "ben", "chen", "dara", "eli", "fay", "gus", "hana"];

/// Runs the governance loop on `plan` with `devices` simulated devices.
pub(super) fn run(plan: Plan, source: &str, devices: u64, seed: u64) -> Result<(), Failure> {
    let model = TrafficModel::new(plan.clone())?;
    outln!(
        "trackgate demo --governance: plan {}/{} version {} ({} events, {source}); {} devices, seed {seed}",
        plan.app,
        plan.env,
        plan.version,
        plan.events.len(),
        count(devices)
    );
    outln!("Simulated time, nothing sleeps. Devices are offered envelopes in process (no HTTP), each chosen");
    outln!("for its rollout bucket by the same function `trackgate serve` uses.");

    // 1. Traffic and the cost report.
    let reports = traffic(&model, devices, seed);
    let (usage, usage_file) = usage_log(&plan);
    let prices = Prices { currency: CURRENCY.to_owned(), per_million_events: PER_MILLION_EVENTS, per_gb: PER_GB };
    let report = cost_report(&plan, &reports, &prices, &usage);
    print_report(&report, &usage)?;

    // 2. Proposal, owner review, next plan.
    let mut proposal = propose(&ProposeInputs {
        plan: &plan,
        plan_file: None,
        report: &report,
        usage: Some(&usage),
        registrations: None,
        policy: &Policy::default(),
        now: timestamp(PROPOSE_AT),
    })
    .map_err(|error| Failure::refused(format!("propose: {error}")))?;
    if proposal.changes.is_empty() {
        return Err(Failure::refused(format!(
            "the report has no candidate for {}/{} version {}: nothing to propose or release",
            plan.app, plan.env, plan.version
        )));
    }
    print_proposal(&proposal)?;
    review(&mut proposal)?;
    let applied = apply(&proposal, &plan, timestamp(APPLY_AT))
        .map_err(|error| Failure::refused(format!("plan apply: {error}")))?;
    outln!();
    outln!(
        "4. Plan apply ({}): version {} → {} with {} change(s)",
        time(APPLY_AT),
        plan.version,
        applied.plan.version,
        applied.applied.len()
    );

    // 3. The release.
    let baseline = {
        let mut baseline = Baseline::new();
        for report in &reports {
            baseline.add_drop_report(report);
        }
        baseline
    };
    let costs = CostModel { currency: CURRENCY.to_owned(), per_million_events: PER_MILLION_EVENTS, per_gb: PER_GB };
    let (business, technical) = review_keys(seed);
    let (record, envelopes) =
        prepare_release(plan.clone(), applied.plan, &usage_file, &baseline, &costs, &business, &technical)?;
    let role_keys =
        [("business", business.verifying_key().to_bytes()), ("technical", technical.verifying_key().to_bytes())];
    let fleet_start = ROLLOUT_AT - DAY;
    let mut fleet = Fleet::new(&plan, &role_keys, &envelopes.bundled, devices, seed, fleet_start, model.events.len())?;
    // The day before the rollout: every device's session on the previous version, the
    // watch's baseline.
    let before = fleet.use_app(&model, ROLLOUT_AT - 2 * HOUR, ROLLOUT_AT - HOUR, None);
    let (record, steps) = roll_out(record, &envelopes, &mut fleet, &model, before)?;
    print_rollout(&record, &steps, devices)?;
    outln!();
    let end = record.stages.last().and_then(|stage| stage.ended_at).unwrap_or(ROLLOUT_AT);
    out!("{}", status_text(&record, end));
    Ok(())
}

/// RFC 3339 time of Unix seconds, for the governance library.
fn timestamp(unix_seconds: u64) -> Timestamp {
    Timestamp::from_unix_ms(i64::try_from(unix_seconds * 1000).unwrap_or(i64::MAX))
}

/// Every device's life on the plan (as `trackgate demo` simulates it) and its drop report.
fn traffic(model: &TrafficModel, devices: u64, seed: u64) -> Vec<DropReport> {
    let mut truth = DeviceTruth::new(model.events.len());
    (0..devices)
        .map(|device| {
            let clock = Arc::new(ManualClock::new(SIMULATION_START_UNIX_MS));
            let engine = model.engine(unit_id(seed, device), Arc::clone(&clock));
            let mut random = SplitMix64::new(stream_seed(seed, device, TRAFFIC_STREAM));
            let sessions = draw_sessions(&mut random);
            use_app(model, &engine, &clock, &mut random, &mut truth, sessions);
            engine.take_report()
        })
        .collect()
}

/// The demo's 30-day usage log, the same for `propose` and the release check: P0 events are
/// read by dashboards and a real-time rule; of the others, by their name's hash, one in five
/// is read by nobody, one in ten twice, and the rest often. (A real log comes from
/// `trackgate usage`.)
fn usage_log(plan: &Plan) -> (Usage, UsageFile) {
    let mut events = BTreeMap::new();
    for (name, rule) in &plan.events {
        let hash = fnv1a(name.as_bytes());
        let uses = match (rule.priority, hash % 10) {
            (Priority::P0, _) => {
                EventUsage { warehouse_queries: 40 + hash % 20, realtime_rules: 1, behaviour_queries: 5 }
            }
            (_, 0 | 1) => continue,
            (_, 2) => EventUsage { warehouse_queries: 2, ..EventUsage::default() },
            _ => EventUsage {
                warehouse_queries: 5 + (hash >> 8) % 50,
                realtime_rules: 0,
                behaviour_queries: (hash >> 16) % 7,
            },
        };
        events.insert(name.clone(), uses);
    }
    let file = UsageFile {
        days: USAGE_DAYS,
        events: events
            .iter()
            .map(|(name, uses)| {
                let uses = EventUses {
                    warehouse_queries: uses.warehouse_queries,
                    realtime_rules: uses.realtime_rules,
                    behaviour_queries: uses.behaviour_queries,
                };
                (name.clone(), uses)
            })
            .collect(),
        active_hours: BTreeMap::new(),
    };
    (Usage { days: USAGE_DAYS, events, active_hours: BTreeMap::new() }, file)
}

/// The cost report of the devices' drop reports, read as `trackgate report` reads them.
fn cost_report(plan: &Plan, reports: &[DropReport], prices: &Prices, usage: &Usage) -> GovernanceReport {
    let mut windows = BTreeMap::new();
    for report in reports {
        let window = from_drop_report(report.clone());
        let entry = windows.entry(window.label.clone()).or_insert_with(|| trackgate_governance::report::WindowCounts {
            label: window.label.clone(),
            files: vec!["simulated devices".to_owned()],
            ..Default::default()
        });
        merge_window(entry, window);
    }
    let windows: Vec<_> = windows.into_values().collect();
    compute(&ReportInputs {
        windows: &windows,
        plan: Some(plan),
        prices,
        usage: Some(usage),
        rules: &Thresholds::default(),
    })
}

fn print_report(report: &GovernanceReport, usage: &Usage) -> Result<(), Failure> {
    let totals = &report.totals;
    outln!();
    outln!("1. Report: the devices' drop reports, priced at {PER_MILLION_EVENTS} {CURRENCY} per million events and {PER_GB} {CURRENCY} per GB,");
    outln!("   with a simulated {}-day usage log ({} events read)", usage.days, usage.events.len());
    outln!(
        "   offered {} events ({}), kept {} ({}) costing {} {CURRENCY}",
        count(totals.offered),
        bytes(totals.offered_bytes),
        count(totals.kept),
        bytes(totals.kept_bytes),
        money(totals.cost_kept)
    );
    let candidates: usize = report.candidates_by_owner.values().map(Vec::len).sum();
    outln!("   {candidates} candidate(s) for {} owner(s)", report.candidates_by_owner.len());
    Ok(())
}

fn print_proposal(proposal: &Proposal) -> Result<(), Failure> {
    let saving = proposal
        .changes
        .iter()
        .fold(Default::default(), |sum: trackgate_governance::proposal::DailySaving, change| sum.plus(change.saving));
    outln!();
    outln!(
        "2. Proposal ({}, {}): {} change(s) to version {}, saving {} events, {}, {} {CURRENCY} per day if all are accepted",
        match proposal.mode {
            Mode::Supervised => "supervised",
            Mode::Unsupervised => "unsupervised",
        },
        time(PROPOSE_AT),
        proposal.changes.len(),
        proposal.plan.version,
        count(saving.events_per_day.round() as u64),
        bytes(saving.bytes_per_day.round() as u64),
        money(saving.cost_per_day)
    );
    for change in &proposal.changes {
        outln!(
            "   {:<44} {:<14} {:>10} events/day  {}",
            change.id,
            change.owner,
            count(change.saving.events_per_day.round() as u64),
            change.how
        );
    }
    Ok(())
}

/// Each owner answers its changes, owner by owner an hour apart: the change with the smallest
/// saving (the last such in proposal order) is rejected when there are two or more, the rest
/// accepted.
fn review(proposal: &mut Proposal) -> Result<(), Failure> {
    let rejected = (proposal.changes.len() >= 2).then(|| {
        let smallest = proposal
            .changes
            .iter()
            .min_by(|left, right| {
                left.saving.cost_per_day.total_cmp(&right.saving.cost_per_day).then(std::cmp::Ordering::Greater)
            })
            .map(|change| change.id.clone());
        smallest.unwrap_or_default()
    });
    let mut owners: Vec<String> = proposal.changes.iter().map(|change| change.owner.clone()).collect();
    owners.dedup();
    outln!();
    outln!("3. Review by the owners:");
    for (index, owner) in owners.iter().enumerate() {
        let by = format!("{} ({owner})", REVIEWERS[index % REVIEWERS.len()]);
        let now = timestamp(PROPOSE_AT + (index as u64 + 1) * HOUR / 2);
        let ids: Vec<String> =
            proposal.changes.iter().filter(|change| &change.owner == owner).map(|change| change.id.clone()).collect();
        let (reject, accept): (Vec<String>, Vec<String>) =
            ids.into_iter().partition(|id| rejected.as_deref() == Some(id.as_str()));
        for (ids, verdict, comment) in [
            (accept, Verdict::Accept, "agreed: nobody needs it as it is"),
            (reject, Verdict::Reject, "keep it: the quarterly review still reads it"),
        ] {
            if ids.is_empty() {
                continue;
            }
            let decisions: Vec<(String, Verdict)> = ids.iter().map(|id| (id.clone(), verdict)).collect();
            proposal
                .review(&decisions, &by, Some(comment), now)
                .map_err(|error| Failure::refused(format!("review: {error}")))?;
            let word = if verdict == Verdict::Accept { "accepted" } else { "rejected" };
            outln!("   {by} {word} {} at {now}: \"{comment}\"", ids.join(", "));
        }
    }
    let accepted = proposal.changes.iter().filter(|change| change.state == ChangeState::Accepted).count();
    outln!("   {accepted} accepted, {} rejected", proposal.changes.len() - accepted);
    Ok(())
}

/// The two reviewers' keys, derived from the seed (in memory only).
fn review_keys(seed: u64) -> (SigningKey, SigningKey) {
    let key = |stream: u64| {
        let mut random = SplitMix64::new(SplitMix64::mix(seed ^ stream));
        let mut bytes = [0u8; 32];
        for chunk in bytes.chunks_mut(8) {
            chunk.copy_from_slice(&random.next_u64().to_le_bytes());
        }
        SigningKey::from_bytes(&bytes)
    };
    (key(0x6275_7369), key(0x7465_6368)) // "busi", "tech"
}

/// Register, check, diff, the two reviews (each signing the record and the envelopes) and the
/// schedule, printing each; returns the scheduled record and its envelopes.
fn prepare_release(
    previous: Plan,
    next: Plan,
    usage: &UsageFile,
    baseline: &Baseline,
    costs: &CostModel,
    business: &SigningKey,
    technical: &SigningKey,
) -> Result<(ReleaseRecord, Envelopes), Failure> {
    let refused = |error: trackgate_release::ReleaseError| Failure::refused(format!("release: {error}"));
    let options = RegisterOptions {
        id: format!("{}-{}-{}", next.app, next.env, next.version),
        by: "alice".to_owned(),
        steps: RolloutPlan::default_steps(),
        offset: None,
        guards: GuardConfig::default(),
        check_config: CheckConfig::default(),
    };
    let mut now = APPLY_AT + HOUR / 2;
    let record = register(previous, next, options, now).map_err(refused)?;
    outln!();
    outln!("5. Release {} ({}/{} {} → {}):", record.id, record.app, record.env, record.from_version, record.to_version);
    outln!("   registered by alice at {}", time(now));
    now += 10 * 60;
    let record = record.check(CheckInputs { usage: Some(usage), baseline, costs }, "alice", now).map_err(refused)?;
    let check = record.stages.last().map(|stage| stage.result.clone()).unwrap_or_default();
    outln!("   check: {check}");
    for finding in &record.findings {
        outln!("     {finding}");
    }
    let blocking = trackgate_release::check::blocking(&record.findings);
    if !blocking.is_empty() {
        return Err(Failure::refused(format!("the check blocks release {}: {}", record.id, blocking.join("; "))));
    }
    now += 5 * 60;
    let record = record.diff(baseline, costs, "alice", now).map_err(refused)?;
    if let Some(diff) = &record.diff {
        let (before, after) = (&diff.total_before, &diff.total_after);
        outln!(
            "   diff: {} event(s) change; projected per day: kept events {} → {}, {} → {}, {} → {} {CURRENCY} (saves {} {CURRENCY}/day)",
            diff.events.len(),
            count(before.events_per_day.round() as u64),
            count(after.events_per_day.round() as u64),
            bytes(before.bytes_per_day.round() as u64),
            bytes(after.bytes_per_day.round() as u64),
            money(before.cost_per_day),
            money(after.cost_per_day),
            money(before.cost_per_day - after.cost_per_day)
        );
    }
    let mut record = record;
    let mut signed: Option<(Vec<u8>, Vec<u8>)> = None;
    let mut rollback_plan = record.previous.clone();
    rollback_plan.version = record.rollback_version;
    for (role, key, by, comment, after) in [
        (Role::Business, business, "bea", "the savings are worth it", 2 * HOUR),
        (Role::Technical, technical, "tom", "no P0 or real-time reader touched", 3 * HOUR),
    ] {
        now += after;
        let signature = key.sign(&record.approval_message(role)).to_bytes();
        record = record.approve(role, key.verifying_key().as_bytes(), &signature, by, comment, now).map_err(refused)?;
        // The first review seals both envelopes, the second co-signs them (as `release approve`).
        signed = Some(match signed {
            None => {
                let seal = |plan: &Plan| {
                    seal_plan_v2(plan, &[key], now, now + 90 * DAY)
                        .map_err(|error| Failure::error(format!("cannot seal version {}: {error}", plan.version)))
                };
                (seal(&record.next)?, seal(&rollback_plan)?)
            }
            Some((release, rollback)) => {
                let cosign = |envelope: &[u8]| {
                    add_signature(envelope, key).map_err(|error| Failure::error(format!("cannot co-sign: {error}")))
                };
                (cosign(&release)?, cosign(&rollback)?)
            }
        });
        outln!("   {} review: {by} signed with key {} at {}: \"{comment}\"", role.as_str(), key_id(key), time(now));
    }
    now += HOUR / 2;
    let record = record.schedule(ROLLOUT_AT, "carol", now).map_err(refused)?;
    outln!("   scheduled by carol at {} to start at {}", time(now), time(ROLLOUT_AT));
    let (release, rollback) = signed.ok_or_else(|| Failure::error("no review signed the envelopes (a bug)"))?;
    let issued = ROLLOUT_AT - 30 * DAY;
    let bundled = seal_plan_v2(&record.previous, &[business, technical], issued, issued + 365 * DAY)
        .map_err(|error| Failure::error(format!("cannot seal the bundled plan: {error}")))?;
    Ok((record, Envelopes { bundled, release, rollback }))
}

fn key_id(key: &SigningKey) -> String {
    trackgate_delivery::KeyId::of(key.verifying_key().as_bytes()).to_string()
}

fn print_rollout(record: &ReleaseRecord, steps: &[StepRun], devices: u64) -> Result<(), Failure> {
    outln!();
    outln!(
        "6. Staged rollout from {} (guards: kept P0 per device may fall at most {:.0}%, {} reports per cohort)",
        time(ROLLOUT_AT),
        record.guards.max_p0_fall * 100.0,
        record.guards.min_reports
    );
    for step in steps {
        let watch = step.watch.as_ref().map_or_else(|| "no watch".to_owned(), |watch| watch.summary());
        let outcome = match &step.outcome {
            trackgate_release::Advance::NextStep(share) => {
                format!("clean → {}", trackgate_release::rollout::percent(*share))
            }
            trackgate_release::Advance::Confirmed => "clean → confirmed".to_owned(),
            trackgate_release::Advance::RolledBack(reason) => format!("BREACH → rolled back: {reason}"),
            other => format!("{other:?}"),
        };
        outln!(
            "   {:>4}: {} of {} devices on version {}; waited {} tick(s); watch: {watch}; {outcome}",
            trackgate_release::rollout::percent(step.share),
            count(step.on_new as u64),
            count(devices),
            record.to_version,
            step.waits
        );
    }
    let took = record.stages.last().and_then(|stage| stage.ended_at).unwrap_or(ROLLOUT_AT).saturating_sub(ROLLOUT_AT);
    outln!("   {} after {}", record.summary(), duration(took));
    Ok(())
}
