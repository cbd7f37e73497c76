//! Per-thread lanes (`core/src/engine/lane.rs`): every decision counted exactly once however
//! threads, engines and handles mix: more engines on one thread than its lane cache holds,
//! threads that exit before the report, a `Decider` next to the engine's own calls on one
//! thread, plan and unit changes between decisions, and clocks that decide re-entrantly, on the
//! same engine (the thread's hot lane) and in ways that would refresh the thread's lane cache
//! under the outer decision (the fallback path). CI also runs this file under Miri, which
//! checks that no lane is used after it was released.
mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};

use common::{compile, engine, plan_json};
use trackgate_core::{Clock, Decision, DropReason, Engine, EngineOptions};

/// More engines than twice the lanes a thread caches (`LANE_CACHE_ENTRIES`, 4, in
/// `core/src/engine/lane.rs`, which asserts this stays true).
const LANE_OVERFLOW_ENGINES: usize = 9;

const EVENTS: &str = r#""a.kept": {"priority": "P1"}, "b.retired": {"priority": "P1", "status": "retired"}"#;

fn retired() -> Decision {
    Decision::Drop { reason: DropReason::Retired }
}

#[test]
fn more_engines_than_cache_entries_on_one_thread_each_count_exactly() {
    let engines: Vec<Engine> =
        (0..LANE_OVERFLOW_ENGINES).map(|_| engine(&plan_json(1, "", EVENTS), "unit-1")).collect();
    for round in 0..50 {
        // Round-robin over more engines than the cache holds: every call evicts a lane.
        for (index, engine) in engines.iter().enumerate() {
            for _ in 0..=index {
                assert!(engine.decide("a.kept", 10).is_keep());
            }
            if round % 2 == 0 {
                assert_eq!(engine.decide("b.retired", 3), retired());
            }
        }
    }
    for (index, engine) in engines.iter().enumerate() {
        let report = engine.take_report();
        assert_eq!(report.kept, 50 * (index as u64 + 1), "engine {index}");
        assert_eq!(report.kept_bytes, 500 * (index as u64 + 1), "engine {index}");
        assert_eq!(report.dropped.retired, 25, "engine {index}");
        assert_eq!(report.dropped_bytes, 75, "engine {index}");
        assert_eq!(engine.take_report().offered, 0, "engine {index}: reported once");
    }
}

#[test]
fn counts_of_threads_that_exited_are_reported_once() {
    let engine = Arc::new(engine(&plan_json(1, "", EVENTS), "unit-1"));
    let threads: Vec<_> = (0..3)
        .map(|_| {
            let engine = Arc::clone(&engine);
            std::thread::spawn(move || {
                let mut decider = engine.decider();
                for _ in 0..1000 {
                    engine.decide("a.kept", 1);
                    decider.decide("b.retired", 1);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let report = engine.take_report();
    assert_eq!((report.kept, report.dropped.retired), (3000, 3000));
    assert_eq!(engine.take_report().offered, 0, "the exited threads' lanes are not reported again");
    engine.decide("a.kept", 1);
    assert_eq!(engine.take_report().kept, 1);
}

#[test]
fn a_decider_and_the_engine_share_one_thread_and_see_plan_and_unit_changes() {
    let engine = engine(&plan_json(1, "", EVENTS), "unit-1");
    let mut decider = engine.decider();
    assert!(decider.decide("b.retired", 1) == retired());
    assert!(engine.decide("b.retired", 1) == retired());
    engine.install(compile(&plan_json(2, "", r#""b.retired": {"priority": "P1"}"#)));
    assert!(decider.decide("b.retired", 1).is_keep(), "the decider follows the new plan");
    assert!(engine.decide("b.retired", 1).is_keep());
    assert_eq!(decider.decide("a.kept", 1), Decision::Drop { reason: DropReason::Unregistered });
    engine.set_unit_id("unit-2").unwrap();
    assert!(decider.decide("b.retired", 1).is_keep());
    let report = engine.take_report();
    assert_eq!(report.offered, 6);
    assert_eq!((report.kept, report.dropped.retired, report.dropped.unregistered), (3, 2, 1));
    assert_eq!(report.plan_version, 2);
}

/// A clock that decides an event on its own engine whenever it is read: the engine is then in
/// the middle of a decision on this thread, and the re-entrant one uses the same lane.
struct DecidingClock {
    engine: OnceLock<Weak<Engine>>,
}

impl Clock for DecidingClock {
    fn monotonic_nanos(&self) -> u64 {
        if let Some(engine) = self.engine.get().and_then(Weak::upgrade) {
            assert!(engine.decide("a.kept", 7).is_keep());
        }
        1_000_000_000
    }

    fn unix_millis(&self) -> u64 {
        common::START_UNIX_MS
    }
}

#[test]
fn a_reentrant_decision_from_the_clock_is_counted_once_too() {
    let clock = Arc::new(DecidingClock { engine: OnceLock::new() });
    let limited = r#""a.kept": {"priority": "P1"}, "c.limited": {"priority": "P1", "rate_limit": {"per_second": 1000, "burst": 1000}}"#;
    let options = EngineOptions { unit_id: Some("unit-1".into()), clock: clock.clone(), ..EngineOptions::default() };
    let engine = Arc::new(Engine::new(compile(&plan_json(1, "", limited)), options).unwrap());
    clock.engine.set(Arc::downgrade(&engine)).unwrap();
    for _ in 0..10 {
        // Reading the rate limiter's clock decides `a.kept` from inside this decision.
        assert!(engine.decide("c.limited", 1).is_keep());
    }
    let report = engine.take_report();
    let kept = |name: &str| report.events.iter().find(|event| event.name == name).map_or(0, |event| event.kept);
    assert_eq!((kept("c.limited"), kept("a.kept")), (10, 10));
    assert_eq!(report.kept_bytes, 10 + 70);
}

/// A clock that, when read, changes the lane cache's inputs under the outer decision: it
/// decides on another engine (which would need a cache entry of its own), installs a new plan
/// on the outer engine and decides on it again (which would need a new lane), and takes a
/// report (which forgets lanes no cache holds). Refreshing the cache there could release the
/// lane the outer decision is still using, so these re-entrant decisions must take the
/// fallback path; every decision is still counted once.
struct MeddlingClock {
    engine: OnceLock<Weak<Engine>>,
    other: Engine,
    reads: AtomicU64,
    /// Kept bytes in the reports this clock took.
    reported_kept_bytes: AtomicU64,
}

impl Clock for MeddlingClock {
    fn monotonic_nanos(&self) -> u64 {
        let read = self.reads.fetch_add(1, Ordering::Relaxed);
        assert!(self.other.decide("a.kept", 3).is_keep());
        if let Some(engine) = self.engine.get().and_then(Weak::upgrade) {
            if read % 2 == 0 {
                engine.install(compile(&plan_json(read + 2, "", LIMITED)));
            }
            assert!(engine.decide("a.kept", 7).is_keep());
            self.reported_kept_bytes.fetch_add(engine.take_report().kept_bytes, Ordering::Relaxed);
        }
        1_000_000_000 + read
    }

    fn unix_millis(&self) -> u64 {
        common::START_UNIX_MS
    }
}

const LIMITED: &str = r#""a.kept": {"priority": "P1"}, "c.limited": {"priority": "P1", "rate_limit": {"per_second": 1000, "burst": 1000}}"#;

#[test]
fn a_clock_that_installs_plans_reports_and_uses_other_engines_cannot_release_the_lane_in_use() {
    let other = engine(&plan_json(1, "", EVENTS), "unit-1");
    let clock = Arc::new(MeddlingClock {
        engine: OnceLock::new(),
        other,
        reads: AtomicU64::new(0),
        reported_kept_bytes: AtomicU64::new(0),
    });
    let options = EngineOptions { unit_id: Some("unit-1".into()), clock: clock.clone(), ..EngineOptions::default() };
    let engine = Arc::new(Engine::new(compile(&plan_json(1, "", LIMITED)), options).unwrap());
    clock.engine.set(Arc::downgrade(&engine)).unwrap();
    for _ in 0..8 {
        // Each rate-limited decision reads the clock, which meddles; the next plain decision
        // then finds new rules and refreshes the cache normally, so the next rate-limited one
        // starts on the thread's hot lane.
        assert!(engine.decide("c.limited", 1).is_keep());
        assert!(engine.decide("a.kept", 5).is_keep());
    }
    let kept_bytes = engine.take_report().kept_bytes + clock.reported_kept_bytes.load(Ordering::Relaxed);
    assert_eq!(kept_bytes, 8 + 8 * 7 + 8 * 5);
    assert_eq!(clock.other.take_report().kept_bytes, 8 * 3);
}
