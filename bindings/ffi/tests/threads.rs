//! The Gate shared between threads: it is `Send + Sync`, decisions run while plans swap and
//! reports are taken, and every decision is counted exactly once.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use common::*;
use trackgate_ffi::{ApplyOutcome, Gate, BATCH_CODE_STALE};

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn the_gate_is_send_and_sync() {
    assert_send_sync::<Gate>();
    assert_send_sync::<Arc<Gate>>();
}

fn plan_version(version: u64) -> String {
    // Odd versions retire `b.event`, even ones keep it: decisions differ between plans.
    let status = if version % 2 == 1 { "retired" } else { "active" };
    plan(
        version,
        "",
        &format!(r#""a.event": {{"priority": "P0"}}, "b.event": {{"priority": "P1", "status": "{status}"}}"#),
    )
}

#[test]
fn decisions_while_plans_swap_and_reports_are_taken_are_each_counted_once() {
    const THREADS: u64 = 4;
    const ROUNDS: u64 = 2_000;
    // Installing a plan signs, fsyncs and swaps, which can take longer on a loaded CI machine than
    // all the deciding rounds: deciders keep going until this many plans were installed, so the
    // swaps really overlap the decisions instead of depending on the scheduler.
    const MIN_SWAPS: u64 = 3;
    // Bounds the wait if installing fails, so the test fails instead of hanging.
    const MAX_ROUNDS: u64 = 1_000_000;
    let publisher = Publisher::new(1);
    let store = TempDir::new("threads");
    let gate = Arc::new(gate_with_plan(&publisher, &store, &plan_version(3)));
    let done = Arc::new(AtomicBool::new(false));
    let swaps = Arc::new(AtomicU64::new(0));

    let deciders: Vec<_> = (0..THREADS)
        .map(|_| {
            let (gate, swaps) = (Arc::clone(&gate), Arc::clone(&swaps));
            std::thread::spawn(move || {
                let mut decided = 0u64;
                let mut round = 0u64;
                while round < ROUNDS || (swaps.load(Ordering::Acquire) < MIN_SWAPS && round < MAX_ROUNDS) {
                    round += 1;
                    gate.decide("a.event".into(), 1);
                    gate.decide("b.event".into(), 1);
                    gate.decide("not.registered".into(), 1);
                    let batch = gate.decide_batch(vec!["a.event".into(), "b.event".into()], vec![1, 1]).unwrap();
                    decided += 3 + batch.codes.len() as u64;
                    if let Ok(id) = gate.resolve("a.event".into()) {
                        if gate.decide_id(id, 1).is_ok() {
                            decided += 1;
                        }
                        let ids = gate.decide_ids(vec![id, id], vec![1, round]).unwrap();
                        decided += ids.codes.iter().filter(|&&code| code != BATCH_CODE_STALE).count() as u64;
                    }
                }
                decided
            })
        })
        .collect();

    let controller = {
        let (gate, done, swaps) = (Arc::clone(&gate), Arc::clone(&done), Arc::clone(&swaps));
        std::thread::spawn(move || {
            let mut reported = 0u64;
            let mut version = 4;
            while !done.load(Ordering::Acquire) {
                let outcome = gate.apply_plan(publisher.seal(&plan_version(version)));
                assert!(matches!(outcome, ApplyOutcome::Installed { .. }), "{outcome:?}");
                version += 1;
                swaps.fetch_add(1, Ordering::Release);
                reported += gate.take_report().report.offered;
                let _ = gate.status();
            }
            reported
        })
    };

    let decided: u64 = deciders.into_iter().map(|thread| thread.join().unwrap()).sum();
    done.store(true, Ordering::Release);
    let reported = controller.join().unwrap() + gate.take_report().report.offered;
    assert_eq!(reported, decided);
    assert!(swaps.load(Ordering::Acquire) >= MIN_SWAPS, "plans swapped while deciding");
    assert!(gate.status().version >= 3 + MIN_SWAPS, "the last installed plan is active");
}
