//! The shared sampling vectors (`tests/vectors/sampling.json`) through the FFI layer: the
//! exported pure functions for every case, and whole gates deciding every case whose unit id a
//! gate accepts (1 to 4096 bytes).

mod common;

use std::collections::BTreeMap;

use common::*;
use serde_json::Value;
use trackgate_ffi::{sampling_is_kept, sampling_random_value, Decision, DropReason};

struct Case {
    salt: String,
    unit_id: String,
    rate_ppm: u32,
    rv: String,
    keep: bool,
}

fn cases() -> Vec<Case> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/vectors/sampling.json");
    let text = std::fs::read_to_string(path).expect("shared vectors are checked in");
    let document: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(document["spec"], "trackgate-sampling-v1");
    let cases: Vec<Case> = document["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|case| Case {
            salt: case["salt"].as_str().unwrap().to_owned(),
            unit_id: case["unit_id"].as_str().unwrap().to_owned(),
            rate_ppm: u32::try_from(case["rate_ppm"].as_u64().unwrap()).unwrap(),
            rv: case["rv"].as_str().unwrap().to_owned(),
            keep: case["keep"].as_bool().unwrap(),
        })
        .collect();
    assert!(cases.len() >= 2000, "only {} cases", cases.len());
    cases
}

#[test]
fn the_exported_functions_match_every_vector() {
    for case in cases() {
        let value = sampling_random_value(case.salt.clone(), case.unit_id.clone());
        assert_eq!(format!("{value:016x}"), case.rv, "salt {:?} unit {:?}", case.salt, case.unit_id);
        assert_eq!(sampling_is_kept(value, case.rate_ppm), case.keep, "rate {} rv {}", case.rate_ppm, case.rv);
    }
}

fn rate_text(rate_ppm: u32) -> String {
    format!("{}.{:06}", rate_ppm / 1_000_000, rate_ppm % 1_000_000)
}

#[test]
fn a_gate_decides_every_vector_like_the_spec() {
    let cases: Vec<Case> = cases().into_iter().filter(|case| !case.unit_id.is_empty()).collect();
    // One event per (salt, rate) pair, all in one signed plan; then one unit at a time.
    let mut events: BTreeMap<(&str, u32), String> = BTreeMap::new();
    for case in &cases {
        let next = format!("v.{}", events.len());
        events.entry((case.salt.as_str(), case.rate_ppm)).or_insert(next);
    }
    let rules: Vec<String> = events
        .iter()
        .map(|((salt, rate_ppm), name)| {
            let salt = serde_json::to_string(salt).unwrap();
            format!(r#""{name}": {{"priority": "P2", "sample": {}, "salt": {salt}}}"#, rate_text(*rate_ppm))
        })
        .collect();
    let publisher = Publisher::new(1);
    let store = TempDir::new("vectors");
    let gate = gate_with_plan(&publisher, &store, &plan(1, "", &rules.join(",")));

    let mut by_unit: BTreeMap<&str, Vec<&Case>> = BTreeMap::new();
    for case in &cases {
        by_unit.entry(case.unit_id.as_str()).or_default().push(case);
    }
    let mut checked = 0;
    for (unit_id, unit_cases) in by_unit {
        gate.set_unit_id(unit_id.to_owned()).unwrap();
        for case in unit_cases {
            let decision = gate.decide(events[&(case.salt.as_str(), case.rate_ppm)].clone(), 1);
            match case.keep {
                true => assert!(matches!(decision, Decision::Keep { .. }), "unit {unit_id:?}: {decision:?}"),
                false => assert_eq!(decision, Decision::Drop { reason: DropReason::SampledOut }, "unit {unit_id:?}"),
            }
            checked += 1;
        }
    }
    assert!(checked >= 2000, "only {checked} cases went through a gate");
}
