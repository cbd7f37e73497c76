//! Writes the input of the filter benchmark at plan scale: a `large_plan_json(N)` plan and NDJSON
//! events over its names, so `trackgate filter` can be timed with a 50,000- and a 500,000-event
//! plan on the same kind of traffic (docs/performance.md, "Filter at 500,000 events").
//!
//! ```text
//! filter_input [--zipf] PLAN_EVENTS EVENTS PLAN_FILE EVENTS_FILE
//! ```
//!
//! Every event names a plan event drawn uniformly (the worst case for caches), or with
//! `--zipf` by a Zipf law of exponent 1 over the plan's events in a scattered order (real
//! traffic: a few names make most events), except 5 % that name events the plan does not
//! register. Lines are about 140 bytes, with a unit id, a timestamp and a few properties.
//! Deterministic for given arguments.

use std::io::{BufWriter, Write};

use trackgate_benches::{large_plan_json, large_plan_name, SplitMix64};

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let zipf = args.first().map(String::as_str) == Some("--zipf");
    if zipf {
        args.remove(0);
    }
    let [plan_events, events, plan_file, events_file] = args.as_slice() else {
        eprintln!("usage: filter_input [--zipf] PLAN_EVENTS EVENTS PLAN_FILE EVENTS_FILE");
        std::process::exit(2);
    };
    let plan_events: usize = plan_events.parse().expect("PLAN_EVENTS: a count");
    let events: usize = events.parse().expect("EVENTS: a count");
    std::fs::write(plan_file, large_plan_json(plan_events)).expect("PLAN_FILE: writable");
    let file = std::fs::File::create(events_file).expect("EVENTS_FILE: writable");
    let mut output = BufWriter::with_capacity(1 << 20, file);
    let mut rng = SplitMix64::new(0x6669_6c74_6572_2d69 ^ events as u64);
    let ranks = zipf.then(|| ZipfRanks::new(plan_events));
    for sequence in 0..events {
        let name = if rng.percent(5) {
            format!("unknown.ev{}", rng.below(1000))
        } else {
            let draw = match &ranks {
                Some(ranks) => ranks.event(&mut rng),
                None => rng.below(plan_events),
            };
            large_plan_name(draw)
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

/// Draws event indexes by a Zipf law of exponent 1: rank `r` (from 0) with weight `1 / (r + 1)`.
/// Ranks map to indexes through a fixed stride coprime with the count, so the hot events are
/// spread over the plan's tables rather than next to each other.
struct ZipfRanks {
    cumulative: Vec<f64>,
    stride: usize,
}

impl ZipfRanks {
    fn new(events: usize) -> Self {
        let mut total = 0.0;
        let cumulative = (0..events)
            .map(|rank| {
                total += 1.0 / (rank as f64 + 1.0);
                total
            })
            .collect();
        let gcd = |mut a: usize, mut b: usize| {
            while b != 0 {
                (a, b) = (b, a % b);
            }
            a
        };
        let mut stride = 7_919;
        while gcd(stride, events) != 1 {
            stride += 1;
        }
        ZipfRanks { cumulative, stride }
    }

    fn event(&self, rng: &mut SplitMix64) -> usize {
        let total = *self.cumulative.last().expect("at least one event");
        let target = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * total;
        let rank = self.cumulative.partition_point(|&sum| sum < target).min(self.cumulative.len() - 1);
        rank * self.stride % self.cumulative.len()
    }
}
