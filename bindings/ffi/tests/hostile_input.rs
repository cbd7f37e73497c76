//! Deterministic hostile input to every call: random and mutated envelopes, random names, ids,
//! sizes and unit ids. Nothing may panic, and the gate must keep deciding by its last good plan.

mod common;

use common::*;
use trackgate_delivery::{RandomSource, SplitMix64};
use trackgate_ffi::{ApplyOutcome, Decision, DropReason, PlanSource};

fn random_bytes(random: &mut SplitMix64, max_length: u64) -> Vec<u8> {
    let length = random.next_u64() % (max_length + 1);
    (0..length).map(|_| random.next_u64() as u8).collect()
}

fn random_text(random: &mut SplitMix64, max_length: u64) -> String {
    String::from_utf8_lossy(&random_bytes(random, max_length)).into_owned()
}

#[test]
fn mutated_envelopes_never_replace_the_plan_unless_valid() {
    let publisher = Publisher::new(1);
    let store = TempDir::new("mutations");
    let gate = gate_with_plan(&publisher, &store, &standard_plan(3));
    let valid = publisher.seal(&standard_plan(4));
    let mut random = SplitMix64::new(0x7e57);
    for round in 0..3_000 {
        let mut envelope = valid.clone();
        match round % 4 {
            0 => {
                let index = (random.next_u64() % envelope.len() as u64) as usize;
                envelope[index] ^= 1 << (random.next_u64() % 8);
            }
            1 => envelope.truncate((random.next_u64() % envelope.len() as u64) as usize),
            2 => envelope.extend(random_bytes(&mut random, 63).into_iter().chain([0])),
            _ => envelope = random_bytes(&mut random, 512),
        }
        let outcome = gate.apply_plan(envelope);
        assert!(matches!(outcome, ApplyOutcome::Refused { .. }), "round {round}: {outcome:?}");
    }
    assert_eq!((gate.status().source, gate.status().version), (PlanSource::Bundled, 3));
    assert_eq!(gate.decide("legacy.banner_seen".into(), 1), Decision::Drop { reason: DropReason::Retired });
    assert!(matches!(gate.apply_plan(valid), ApplyOutcome::Installed { version: 4, .. }));
}

#[test]
fn random_arguments_to_every_call_are_answered() {
    let publisher = Publisher::new(1);
    let store = TempDir::new("arguments");
    let gate = gate_with_plan(&publisher, &store, &standard_plan(3));
    let mut random = SplitMix64::new(42);
    let mut decided = 0u64;
    for _ in 0..5_000 {
        let name = random_text(&mut random, 200);
        let size = random.next_u64();
        let decision = gate.decide(name.clone(), size);
        decided += 1;
        if let Ok(id) = gate.resolve(name) {
            assert!(gate.decide_id(id, size).is_ok());
            decided += 1;
        }
        let _ = gate.decide_id(random.next_u64(), size);
        let names: Vec<String> = (0..random.next_u64() % 5).map(|_| random_text(&mut random, 40)).collect();
        let sizes: Vec<u64> = (0..random.next_u64() % 5).map(|_| random.next_u64()).collect();
        if let Ok(batch) = gate.decide_batch(names.clone(), sizes.clone()) {
            assert_eq!(batch.codes.len(), names.len());
            decided += names.len() as u64;
        }
        let ids: Vec<u64> = sizes.iter().map(|_| random.next_u64()).collect();
        let batch = gate.decide_ids(ids, sizes).unwrap();
        assert!(batch.codes.iter().all(|&code| code == trackgate_ffi::BATCH_CODE_STALE));
        let _ = gate.set_unit_id(random_text(&mut random, 40));
        if let Decision::Keep { weight } = decision {
            assert!(weight.is_finite() && weight >= 1.0);
        }
    }
    let taken = gate.take_report();
    assert_eq!(taken.report.offered, decided);
    assert!(serde_json::from_str::<serde_json::Value>(&taken.json).is_ok());
    assert_eq!(gate.status().version, 3);
}
