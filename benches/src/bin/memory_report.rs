//! Prints what the compiled 50,000-event plan costs in memory, per event, and checks it against
//! the goal (at most 100 bytes per event plus the names).
//!
//! Two views: what `CompiledPlan` reports about itself (`rules_memory_bytes`,
//! `counters_memory_bytes`, `names_memory_bytes`), and what the allocator actually handed out
//! while compiling (a counting global allocator), so a table the self-report forgets shows up.
//! Exits 1 when the goal is missed. `--json` prints one JSON object instead of the table.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use trackgate_benches::{Fixture, BENCH_PLAN_EVENTS};
use trackgate_core::{parse_plan, CompiledPlan};

/// The goal: bytes per event, names excluded.
const GOAL_BYTES_PER_EVENT: f64 = 100.0;

/// Counts live heap bytes.
struct CountingAllocator;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; only a counter is added.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's pointer and layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_BYTES.fetch_add(new_size as isize - layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's arguments.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fn main() {
    let json_output = std::env::args().any(|argument| argument == "--json");
    let fixture = Fixture::generate(BENCH_PLAN_EVENTS);
    let plan = parse_plan(&fixture.json).expect("valid plan").plan;

    let before = LIVE_BYTES.load(Ordering::Relaxed);
    let compiled = CompiledPlan::compile(&plan).expect("compiles");
    let heap = (LIVE_BYTES.load(Ordering::Relaxed) - before) as usize + std::mem::size_of::<CompiledPlan>();

    let events = compiled.event_count();
    let names = compiled.names_memory_bytes();
    let rules = compiled.rules_memory_bytes() - names;
    let counters = compiled.counters_memory_bytes();
    let per_event = |bytes: usize| bytes as f64 / events as f64;
    let total_per_event = per_event(rules + counters);
    let met = total_per_event <= GOAL_BYTES_PER_EVENT;

    if json_output {
        println!(
            "{{\"events\":{events},\"rules_bytes\":{rules},\"counters_bytes\":{counters},\"names_bytes\":{names},\
             \"allocated_bytes\":{heap},\"json_bytes\":{},\"bytes_per_event_without_names\":{total_per_event:.2},\"goal_met\":{met}}}",
            fixture.json.len()
        );
    } else {
        println!("compiled plan: {events} events (plan JSON text: {} bytes)", fixture.json.len());
        println!("{:<40} {:>12} {:>12}", "part", "bytes", "per event");
        for (part, bytes) in [
            ("rules (records, index, salts, buckets)", rules),
            ("counters", counters),
            ("rules + counters", rules + counters),
            ("names (32-byte slots + arena)", names),
            ("total self-reported", rules + counters + names),
            ("allocated while compiling", heap),
        ] {
            println!("{part:<40} {bytes:>12} {:>12.2}", per_event(bytes));
        }
        println!(
            "goal: <= {GOAL_BYTES_PER_EVENT} bytes/event plus names: {:.2} bytes/event -> {}",
            total_per_event,
            if met { "met" } else { "NOT met" }
        );
    }
    drop(compiled);
    if !met {
        std::process::exit(1);
    }
}
