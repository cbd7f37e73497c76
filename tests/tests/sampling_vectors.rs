//! The Rust engine against the shared sampling vectors (`tests/vectors/sampling.json`), which
//! Python's independent `xxhash` generated: the hash, the keep rule, and a whole engine deciding
//! with the same salt, unit and rate.

use trackgate_core::sampling::{is_kept, random_value, SPEC_ID};
use trackgate_core::{parse_plan, CompiledPlan, Decision, DropReason, Engine, EngineOptions};
use trackgate_tests::sampling_vectors;

#[test]
fn vectors_cover_the_required_cases() {
    let vectors = sampling_vectors();
    assert_eq!(vectors.spec, SPEC_ID);
    assert!(vectors.cases.len() >= 2000, "only {} cases", vectors.cases.len());
    for rate in [0, 1, 999_999, 1_000_000] {
        assert!(vectors.cases.iter().any(|case| case.rate_ppm == rate), "rate {rate} missing");
    }
    assert!(vectors.cases.iter().any(|case| case.unit_id.is_empty()));
    assert!(vectors.cases.iter().any(|case| case.salt.is_empty()));
    assert!(vectors.cases.iter().any(|case| !case.unit_id.is_ascii()));
    assert!(vectors.cases.iter().any(|case| case.unit_id.len() >= 1000));
    assert!(vectors.cases.iter().any(|case| case.keep) && vectors.cases.iter().any(|case| !case.keep));
}

#[test]
fn hash_and_keep_rule_match_every_vector() {
    for case in sampling_vectors().cases {
        let value = random_value(&case.salt, &case.unit_id);
        assert_eq!(format!("{value:016x}"), case.rv, "salt {:?} unit {:?}", case.salt, case.unit_id);
        assert_eq!(is_kept(value, case.rate_ppm), case.keep, "{case:?}");
    }
}

/// Writes a rate in ppm as the decimal text a plan author would.
fn rate_text(rate_ppm: u32) -> String {
    format!("{}.{:06}", rate_ppm / 1_000_000, rate_ppm % 1_000_000)
}

#[test]
fn the_engine_decides_like_the_vectors() {
    let cases = sampling_vectors().cases;
    // Whole engines are slower to build; a spread of cases with non-empty unit ids suffices.
    for case in cases.iter().filter(|case| !case.unit_id.is_empty()).step_by(7) {
        let salt = serde_json::to_string(&case.salt).unwrap();
        let plan = format!(
            r#"{{"schema": 1, "app": "a", "env": "b", "version": 1, "sampling_salt": {salt},
                "events": {{"e": {{"priority": "P2", "sample": {}}}}}}}"#,
            rate_text(case.rate_ppm)
        );
        let plan = parse_plan(&plan).unwrap().plan;
        let options = EngineOptions { unit_id: Some(case.unit_id.clone()), ..EngineOptions::default() };
        let engine = Engine::new(CompiledPlan::compile(&plan).unwrap(), options).unwrap();
        let decision = engine.decide("e", 1);
        match case.keep {
            true => assert!(matches!(decision, Decision::Keep { .. }), "{case:?}"),
            false => assert_eq!(decision, Decision::Drop { reason: DropReason::SampledOut }, "{case:?}"),
        }
    }
}
