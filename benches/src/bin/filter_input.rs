//! Writes the input of the filter benchmark at plan scale: a `large_plan_json(N)` plan and NDJSON
//! events over its names, so `trackgate filter` can be timed with a 50,000- and a 500,000-event
//! plan on the same kind of traffic (docs/performance.md, "Filter at 500,000 events").
//!
//! ```text
//! filter_input PLAN_EVENTS EVENTS PLAN_FILE EVENTS_FILE
//! ```
//!
//! Every event names a uniformly drawn plan event (the worst case for caches: real traffic
//! repeats a few hot names), except 5 % that name events the plan does not register. Lines are
//! about 200 bytes, with a unit id, a timestamp and a few properties. Deterministic for given
//! counts.

use std::io::{BufWriter, Write};

use trackgate_benches::{large_plan_json, large_plan_name, SplitMix64};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [plan_events, events, plan_file, events_file] = args.as_slice() else {
        eprintln!("usage: filter_input PLAN_EVENTS EVENTS PLAN_FILE EVENTS_FILE");
        std::process::exit(2);
    };
    let plan_events: usize = plan_events.parse().expect("PLAN_EVENTS: a count");
    let events: usize = events.parse().expect("EVENTS: a count");
    std::fs::write(plan_file, large_plan_json(plan_events)).expect("PLAN_FILE: writable");
    let file = std::fs::File::create(events_file).expect("EVENTS_FILE: writable");
    let mut output = BufWriter::with_capacity(1 << 20, file);
    let mut rng = SplitMix64::new(0x6669_6c74_6572_2d69 ^ events as u64);
    for sequence in 0..events {
        let name = if rng.percent(5) {
            format!("unknown.ev{}", rng.below(1000))
        } else {
            large_plan_name(rng.below(plan_events))
        };
        writeln!(
            output,
            "{{\"event\":\"{name}\",\"unit_id\":\"u-{:016x}\",\"ts\":{},\"props\":{{\"screen\":\"s{}\",\"value\":{},\"ok\":true}},\"seq\":{sequence}}}",
            rng.next_u64(),
            1_796_000_000_000u64 + sequence as u64,
            rng.below(50),
            rng.below(100_000),
        )
        .expect("EVENTS_FILE: writable");
    }
    output.flush().expect("EVENTS_FILE: writable");
}
