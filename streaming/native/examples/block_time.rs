//! The Rust side of the Flink job's crossing measurement (`streaming/flink/bench.sh`,
//! `CrossingBench`): how long the library takes for one block of lines on its own, with no JVM
//! in the way, so the JVM's per-block time minus this is the crossing's cost.
//!
//! It reads the same configuration, signed envelope and block the JVM benchmark uses, installs
//! the plan, and times, over `SAMPLES` samples of `CALLS` calls each (after one untimed sample):
//!
//! - `filter_ns`: [`StreamFilter::filter_block`], the ETL filter's own work on the block;
//! - `call_ns`: [`tg_stream_filter`] called from Rust: the same filter plus the C ABI's
//!   catch_unwind and the packing of the kept lines into the result buffer;
//! - `packing_ns`: `call_ns − filter_ns` of samples taken one right after the other (the two
//!   loops alternate sample by sample, so a machine that slows down slows both).
//!
//! Counts accumulate across calls, as they do in a task between two windows. Prints one JSON
//! object of medians (nanoseconds per block) and ranges.
//!
//! ```sh
//! block_time CONFIG.json ENVELOPE.tgplan BLOCK.ndjson NOW_SECONDS SAMPLES CALLS
//! ```

use std::time::Instant;

use trackgate_stream::ffi::{tg_stream_filter, tg_stream_free, tg_stream_new, tg_stream_offer, OFFER_INSTALLED};
use trackgate_stream::{Offer, StreamConfig, StreamFilter};

fn main() {
    if let Err(message) = run() {
        eprintln!("block_time: {message}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [config, envelope, block, now, samples, calls] = args.as_slice() else {
        return Err("usage: block_time CONFIG.json ENVELOPE.tgplan BLOCK.ndjson NOW_SECONDS SAMPLES CALLS".into());
    };
    let read = |path: &String| std::fs::read(path).map_err(|error| format!("{path}: {error}"));
    let number = |text: &String| text.parse::<u64>().map_err(|error| format!("{text}: {error}"));
    let (config, envelope, block) = (read(config)?, read(envelope)?, read(block)?);
    let (now, samples, calls) = (number(now)?, number(samples)?.max(1), number(calls)?.max(1));

    let mut stream = StreamFilter::new(StreamConfig::parse(&config).map_err(|error| error.to_string())?);
    match stream.offer(&envelope, now, false).map_err(|error| error.to_string())? {
        Offer::Installed(_) => {}
        other => return Err(format!("the plan was not installed: {other:?}")),
    }
    let mut error = [0u8; 1024];
    // SAFETY: 1. `config` and `error` are live buffers of the lengths passed.
    let handle = unsafe { tg_stream_new(config.as_ptr(), config.len(), error.as_mut_ptr(), error.len()) };
    if handle.is_null() {
        return Err(String::from_utf8_lossy(error.split(|byte| *byte == 0).next().unwrap_or(&[])).into_owned());
    }
    // SAFETY: 1. `handle` is live and used by this thread only; 2. `envelope` is a live buffer
    // of the length passed.
    let offered = unsafe { tg_stream_offer(handle, envelope.as_ptr(), envelope.len(), now, 0) };
    if offered != OFFER_INSTALLED {
        return Err(format!("tg_stream_offer returned {offered}"));
    }
    let mut filter = || {
        stream.filter_block(&block).expect("a plan is installed");
    };
    let mut call = || {
        // SAFETY: 1. `handle` is live and used by this thread only; 2. `block` is a live buffer
        // of the length passed.
        let status = unsafe { tg_stream_filter(handle, block.as_ptr(), block.len()) };
        assert!(status > 0, "tg_stream_filter returned {status}");
    };
    // One untimed sample of each, then the two alternate.
    sample(calls, &mut filter);
    sample(calls, &mut call);
    let (mut filter_ns, mut call_ns, mut packing_ns) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..samples {
        let filtered = sample(calls, &mut filter);
        let called = sample(calls, &mut call);
        filter_ns.push(filtered);
        call_ns.push(called);
        packing_ns.push(called - filtered);
    }
    // SAFETY: 1. `handle` came from tg_stream_new and is not used again.
    unsafe { tg_stream_free(handle) };

    let lines = block.iter().filter(|byte| **byte == b'\n').count();
    println!(
        "{{\"block_bytes\":{},\"block_lines\":{lines},\"samples\":{samples},\"calls\":{calls},{},{},{}}}",
        block.len(),
        summary("filter_ns", &mut filter_ns),
        summary("call_ns", &mut call_ns),
        summary("packing_ns", &mut packing_ns)
    );
    Ok(())
}

/// Nanoseconds per call of `work`, over `calls` calls.
fn sample(calls: u64, work: &mut impl FnMut()) -> f64 {
    let started = Instant::now();
    for _ in 0..calls {
        work();
    }
    started.elapsed().as_nanos() as f64 / calls as f64
}

/// `"NAME":median,"NAME_min":…,"NAME_max":…` of the samples.
fn summary(name: &str, samples: &mut [f64]) -> String {
    samples.sort_by(f64::total_cmp);
    let middle = samples.len() / 2;
    let median = if samples.len() % 2 == 1 { samples[middle] } else { (samples[middle - 1] + samples[middle]) / 2.0 };
    format!("\"{name}\":{median:.0},\"{name}_min\":{:.0},\"{name}_max\":{:.0}", samples[0], samples[samples.len() - 1])
}
