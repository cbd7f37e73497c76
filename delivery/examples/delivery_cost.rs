//! Measures what signed delivery costs on a large plan: envelope size per event, and the time
//! of each verification step and of the whole accept path (verify, decode, compile).
//!
//! `cargo run --release -p trackgate-delivery --example delivery_cost [EVENTS]`
//! Prints medians of repeated runs; numbers for docs/performance.md ("Signed delivery").

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use trackgate_core::plan::{Defaults, EventRule, EventStatus, RateLimit, SampleRate, UnregisteredPolicy};
use trackgate_core::{CompiledPlan, Plan, Priority};
use trackgate_delivery::{
    compile_checked, decode_plan, encode_plan, parse_envelope, seal_plan, verify_envelope, Keyring, SigningKey,
    Verified, VerifyContext, VerifyPolicy,
};

/// A plan shaped like a large real one: dotted names of 20-40 bytes, all priorities, some
/// sampling, rate limits, size caps, owners and retired events.
fn large_plan(events: usize) -> Plan {
    let areas = ["checkout", "search", "catalog", "account", "player", "feed", "settings", "onboarding"];
    let actions = ["viewed", "tapped", "completed", "failed", "dismissed", "scrolled", "shared"];
    let mut map = BTreeMap::new();
    for index in 0..events {
        let name = format!(
            "{}.section_{:05}.{}",
            areas[index % areas.len()],
            index / actions.len(),
            actions[index % actions.len()]
        );
        let rule = EventRule {
            status: if index % 50 == 0 { EventStatus::Retired } else { EventStatus::Active },
            priority: Priority::ALL[index % 4],
            sample: if index % 5 == 0 {
                SampleRate::from_parts_per_million(250_000).unwrap()
            } else {
                SampleRate::ALWAYS
            },
            salt: None,
            rate_limit: (index % 10 == 0).then_some(RateLimit { per_second: 0.5, burst: 5 }),
            max_bytes: (index % 3 == 0).then_some(4096),
            owner: (index % 7 == 0).then(|| areas[index % areas.len()].to_owned()),
            description: None,
        };
        map.insert(name, rule);
    }
    Plan {
        schema: 1,
        app: "shop".into(),
        env: "prod".into(),
        version: 42,
        enabled: true,
        sampling_salt: "salt-2026".into(),
        unregistered: UnregisteredPolicy::Drop,
        shed_below: None,
        shadow: false,
        defaults: Defaults::default(),
        events: map,
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn time<T>(runs: usize, mut work: impl FnMut() -> T) -> Duration {
    median(
        (0..runs)
            .map(|_| {
                let started = Instant::now();
                std::hint::black_box(work());
                started.elapsed()
            })
            .collect(),
    )
}

fn main() {
    let events: usize = std::env::args().nth(1).and_then(|text| text.parse().ok()).unwrap_or(50_000);
    let runs = 21;
    let key = SigningKey::from_bytes(&[1; 32]);
    let mut keyring = Keyring::new();
    keyring.add(key.verifying_key().as_bytes()).unwrap();
    let plan = large_plan(events);
    let now = 1_700_000_000;
    let envelope = seal_plan(&plan, &key, now, now + 30 * 86_400).unwrap();
    let json = serde_json::to_vec(&plan).unwrap();
    let context = VerifyContext {
        keyring: &keyring,
        app: "shop",
        env: "prod",
        floor: None,
        now,
        check_time: true,
        policy: VerifyPolicy::default(),
    };
    let parsed = parse_envelope(&envelope, usize::MAX).unwrap();
    let key = keyring.ids().next().and_then(|id| keyring.find(id)).unwrap();
    let signature = time(runs, || parsed.signature_is_valid(0, key));
    let decode = time(runs, || decode_plan(parsed.payload, parsed.header_length).unwrap());
    let decoded = decode_plan(parsed.payload, parsed.header_length).unwrap();
    let check = time(runs, || decoded.check());
    let compile = time(runs, || compile_checked(&decoded).unwrap());
    let total = time(runs, || match verify_envelope(&envelope, &context).unwrap() {
        Verified::New(verified) => verified.compiled.event_count(),
        Verified::AlreadyCurrent { .. } => 0,
    });
    let compiled = CompiledPlan::compile(&decoded).unwrap();
    let encoded = encode_plan(&plan);
    println!("events:                      {events}");
    println!("JSON plan:                   {} bytes ({:.1} per event)", json.len(), json.len() as f64 / events as f64);
    println!(
        "envelope:                    {} bytes ({:.1} per event; payload {} bytes, overhead {} bytes)",
        envelope.len(),
        envelope.len() as f64 / events as f64,
        encoded.len(),
        envelope.len() - encoded.len()
    );
    println!("signature check (SHA-512 + Ed25519): {signature:?}");
    println!("postcard decode:             {decode:?}");
    println!("Plan::check:                 {check:?}");
    println!("compile (includes check):    {compile:?}");
    println!("verify_envelope, whole path: {total:?}  (median of {runs})");
    println!("compiled rules memory:       {} bytes", compiled.rules_memory_bytes());
}
