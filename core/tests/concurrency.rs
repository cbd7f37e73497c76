//! Real threads: deciders flat out while another thread swaps plans and another takes reports.
//!
//! Afterwards every decision must be accounted for exactly once (the reports' kept and dropped
//! counts per event and reason equal what the deciders saw), and no decision may have mixed two
//! plans: the plans are built so that any mix of their rules gives an outcome neither plan can.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use common::{compile, engine, plan_json};
use trackgate_core::{Decision, DropReason, DropReport};

const DECIDERS: usize = 4;
const DECISIONS_PER_THREAD: usize = 150_000;
/// On a loaded machine the deciders may finish before the swapper and reporter have run much:
/// each decider keeps going past `DECISIONS_PER_THREAD` until this many swaps and reports
/// happened and it saw both plans, so the overlap is guaranteed rather than left to the scheduler.
const MIN_SWAPS: u64 = 11;
const MIN_REPORTS: u64 = 3;
/// Bounds that wait, so a stuck swapper fails the test instead of hanging it.
const MAX_DECISIONS_PER_THREAD: usize = 50_000_000;

/// How far the swapper and reporter got, read by the deciders.
#[derive(Default)]
struct Progress {
    swaps: AtomicU64,
    reports: AtomicU64,
}

impl Progress {
    fn enough(&self) -> bool {
        self.swaps.load(Ordering::Relaxed) >= MIN_SWAPS && self.reports.load(Ordering::Relaxed) >= MIN_REPORTS
    }
}

/// Plan A: `x` over its cap, `y` retired. Plan B: `x` sampled out, `z` retired.
/// Under either plan `x` at 500 bytes is dropped; only a torn mix of the two could keep it.
fn plan(version: u64) -> String {
    let events = if version % 2 == 1 {
        r#""x": {"priority": "P1", "max_bytes": 100}, "y": {"priority": "P1", "status": "retired"}, "z": {"priority": "P1"}"#
    } else {
        r#""x": {"priority": "P1", "max_bytes": 1000, "sample": 0}, "y": {"priority": "P1"}, "z": {"priority": "P1", "status": "retired"}"#
    };
    plan_json(version, "", events)
}

/// What one thread saw: (name, outcome) → count, where outcome is "kept" or a reason.
type Tally = BTreeMap<(String, String), u64>;

fn outcome(decision: Decision) -> String {
    match decision {
        Decision::Keep { .. } => "kept".into(),
        Decision::Drop { reason } => reason.as_str().into(),
    }
}

fn add_report(total: &mut Tally, report: &DropReport) {
    let mut add = |name: &str, outcome: &str, count: u64| {
        if count > 0 {
            *total.entry((name.to_owned(), outcome.to_owned())).or_default() += count;
        }
    };
    for event in &report.events {
        add(&event.name, "kept", event.kept);
        for reason in DropReason::ALL {
            add(&event.name, reason.as_str(), event.dropped.get(reason));
        }
    }
    for stray in &report.unregistered {
        add(&stray.name, "unregistered", stray.dropped);
    }
    add("<invalid>", "invalid_name", report.dropped.invalid_name);
    add("<overflow>", "unregistered", report.unregistered_overflow);
    assert_eq!(report.offered, report.kept + report.dropped.total(), "report must balance");
}

fn saw_both_plans(tally: &Tally) -> bool {
    ["oversize", "sampled_out"].iter().all(|reason| tally.contains_key(&("x".to_owned(), (*reason).to_owned())))
}

fn decide_flat_out(engine: &trackgate_core::Engine, thread: usize, progress: &Progress) -> Tally {
    let mut tally = Tally::new();
    let mut decider = engine.decider();
    let mut step = 0;
    while step < DECISIONS_PER_THREAD
        || (step < MAX_DECISIONS_PER_THREAD && !(progress.enough() && saw_both_plans(&tally)))
    {
        step += 1;
        let (name, decision) = match step % 6 {
            0 => ("x".to_owned(), engine.decide("x", 500)),
            1 => ("y".to_owned(), decider.decide("y", 10)),
            2 => {
                // Through an id: a stale id is refused and counted nowhere, so resolve again.
                let decision = loop {
                    let id = engine.resolve("z").expect("z is in both plans");
                    if let Ok(decision) = engine.decide_id(id, 10) {
                        break decision;
                    }
                };
                ("z".to_owned(), decision)
            }
            3 => ("x".to_owned(), decider.decide("x", 500)),
            4 => {
                let name = format!("stray.{}", (step / 6 + thread) % 50);
                let decision = engine.decide(&name, 3);
                (name, decision)
            }
            _ => ("<invalid>".to_owned(), engine.decide("not valid", 1)),
        };
        if name == "x" {
            assert!(!decision.is_keep(), "x was kept: a decision saw a mix of two plans");
        }
        let key = if name.starts_with("stray.") && decision.drop_reason() == Some(DropReason::Unregistered) {
            (name, "unregistered".to_owned())
        } else {
            (name, outcome(decision))
        };
        *tally.entry(key).or_default() += 1;
    }
    tally
}

#[test]
fn every_decision_is_counted_once_while_plans_swap_and_reports_are_taken() {
    let engine = engine(&plan(1), "unit-7");
    let finished = AtomicBool::new(false);
    let progress = Progress::default();
    let reported = Mutex::new(Tally::new());
    let mut swaps = 0u64;
    let mut reports = 0u64;
    let seen: Vec<Tally> = std::thread::scope(|scope| {
        let deciders: Vec<_> = (0..DECIDERS)
            .map(|thread| {
                scope.spawn({
                    let (engine, progress) = (&engine, &progress);
                    move || decide_flat_out(engine, thread, progress)
                })
            })
            .collect();
        let swapper = scope.spawn(|| {
            let mut version = 1;
            while !finished.load(Ordering::Relaxed) {
                version += 1;
                engine.install(compile(&plan(version)));
                if version % 7 == 0 {
                    engine.set_unit_id(&format!("unit-{version}")).unwrap();
                }
                progress.swaps.fetch_add(1, Ordering::Relaxed);
                std::thread::yield_now();
            }
            version - 1
        });
        let reporter = scope.spawn(|| {
            let mut count = 0;
            while !finished.load(Ordering::Relaxed) {
                add_report(&mut reported.lock().unwrap(), &engine.take_report());
                count += 1;
                progress.reports.fetch_add(1, Ordering::Relaxed);
                std::thread::yield_now();
            }
            count
        });
        let seen = deciders.into_iter().map(|handle| handle.join().unwrap()).collect();
        finished.store(true, Ordering::Relaxed);
        swaps = swapper.join().unwrap();
        reports = reporter.join().unwrap();
        seen
    });
    let mut total_reported = reported.into_inner().unwrap();
    add_report(&mut total_reported, &engine.take_report());
    let mut total_seen = Tally::new();
    for tally in seen {
        for (key, count) in tally {
            *total_seen.entry(key).or_default() += count;
        }
    }
    // Unregistered names may overflow the per-window table; compare them as one total.
    let strays = |tally: &mut Tally| -> u64 {
        let keys: Vec<_> = tally.keys().filter(|(_, outcome)| outcome == "unregistered").cloned().collect();
        keys.iter().map(|key| tally.remove(key).unwrap()).sum()
    };
    assert_eq!(strays(&mut total_seen), strays(&mut total_reported));
    assert_eq!(total_seen, total_reported);
    let offered: u64 = total_seen.values().sum();
    assert!(offered > 0);
    assert!(swaps >= MIN_SWAPS, "the swapper must actually have swapped ({swaps})");
    assert!(reports >= MIN_REPORTS, "the reporter must actually have reported ({reports})");
    // Both plans were really used.
    assert!(total_seen.contains_key(&("x".to_owned(), "oversize".to_owned())));
    assert!(total_seen.contains_key(&("x".to_owned(), "sampled_out".to_owned())));
}
