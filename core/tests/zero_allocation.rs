//! Proof that every decision path performs zero heap allocations.
//!
//! A counting global allocator counts allocations made by the current thread; each decision path
//! runs (after one warm-up call, since `arc-swap` registers a thread the first time it is used)
//! and must leave the count unchanged.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use common::{engine, plan_json};
use trackgate_core::{Decision, DropReason, Engine};

struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: defers every operation to the system allocator unchanged; it only counts, through a
// const-initialised thread local that itself never allocates.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|count| count.set(count.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(pointer, layout) }
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|count| count.set(count.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(pointer, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn allocations_during(work: impl FnOnce()) -> u64 {
    let before = ALLOCATIONS.with(Cell::get);
    work();
    ALLOCATIONS.with(Cell::get) - before
}

const EVENTS: &str = r#"
    "pay.done": {"priority": "P0"},
    "old.ping": {"priority": "P2", "status": "retired"},
    "low.noise": {"priority": "P3"},
    "big.blob": {"priority": "P1", "max_bytes": 100},
    "half.sampled": {"priority": "P2", "sample": 0.5},
    "never.kept": {"priority": "P2", "sample": 0},
    "chatty.scroll": {"priority": "P2", "rate_limit": {"per_second": 1, "burst": 1}}
"#;

/// Every name-based and id-based path, with the reasons each must give.
fn exercise(engine: &Engine, expect_shadow: bool) {
    let cases: [(&str, u64, Option<DropReason>); 11] = [
        ("pay.done", 10, None),
        ("old.ping", 10, Some(DropReason::Retired)),
        ("low.noise", 10, Some(DropReason::Shed)),
        ("big.blob", 1000, Some(DropReason::Oversize)),
        ("never.kept", 10, Some(DropReason::SampledOut)),
        ("chatty.scroll", 10, None),
        ("chatty.scroll", 10, Some(DropReason::RateLimited)),
        ("stray.event", 10, Some(DropReason::Unregistered)),
        (&"stray.long.name.".repeat(8), 10, Some(DropReason::Unregistered)),
        ("Bad Name!", 10, Some(DropReason::InvalidName)),
        ("", 10, Some(DropReason::InvalidName)),
    ];
    let long_invalid = "x".repeat(4096);
    let ids: Vec<_> =
        ["pay.done", "old.ping", "half.sampled"].iter().map(|name| engine.resolve(name).unwrap()).collect();
    let mut decider = engine.decider();
    decider.decide("pay.done", 1);
    engine.decide("pay.done", 1);
    let count = allocations_during(|| {
        for (name, size, reason) in &cases {
            let decision = engine.decide(name, *size);
            let expected = match (reason, expect_shadow) {
                (Some(reason), false) => Decision::Drop { reason: *reason },
                _ => Decision::Keep { weight: 1.0 },
            };
            assert_eq!(decision, expected, "{name}");
            let through_decider = decider.decide(name, *size);
            if *name != "chatty.scroll" {
                // The bucket is shared, so only rate-limited decisions may differ.
                assert_eq!(through_decider, expected, "{name} through a decider");
            }
        }
        assert!(!engine.decide(&long_invalid, 1).is_keep() || expect_shadow);
        engine.decide("half.sampled", 10);
        for id in &ids {
            engine.decide_id(*id, 10).unwrap();
            decider.decide_id(*id, 10).unwrap();
        }
        assert!(engine.resolve("pay.done").is_ok());
        assert!(engine.resolve("stray.event").is_err());
        assert!(engine.resolve("Bad Name!").is_err());
        assert!(engine.decide_id(trackgate_core::EventId::from_raw(7), 1).is_err());
    });
    assert_eq!(count, 0, "decision paths allocated {count} times");
}

#[test]
fn decisions_do_not_allocate() {
    exercise(&engine(&plan_json(1, r#""shed_below": "P2""#, EVENTS), "unit-1"), false);
}

#[test]
fn shadow_decisions_do_not_allocate() {
    exercise(&engine(&plan_json(1, r#""shed_below": "P2", "shadow": true"#, EVENTS), "unit-1"), true);
}

#[test]
fn disabled_and_keep_policies_do_not_allocate() {
    let disabled = engine(&plan_json(1, r#""enabled": false"#, EVENTS), "unit-1");
    let keeping = engine(&plan_json(1, r#""unregistered": "keep""#, EVENTS), "unit-1");
    disabled.decide("pay.done", 1);
    keeping.decide("pay.done", 1);
    let count = allocations_during(|| {
        for name in ["pay.done", "stray.event", "Bad Name!"] {
            assert_eq!(disabled.decide(name, 1), Decision::Drop { reason: DropReason::Disabled });
        }
        assert!(keeping.decide("stray.event", 1).is_keep());
        assert!(keeping.decide("stray.other", 1).is_keep());
    });
    assert_eq!(count, 0);
}

#[test]
fn the_counter_sees_allocations() {
    // Guards against a counter that silently counts nothing.
    let count = allocations_during(|| drop(std::hint::black_box(vec![1u8; 64])));
    assert_eq!(count, 1);
}
