//! Any bytes as plan JSON: `parse_plan_bytes` must never panic, a plan it accepts must pass
//! `Plan::check` and compile, and must survive the postcard round trip used by delivery.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trackgate_core::{parse_plan_bytes, CompiledPlan};
use trackgate_delivery::{decode_plan, encode_plan};

fuzz_target!(|bytes: &[u8]| {
    if let Ok(validated) = parse_plan_bytes(bytes) {
        assert!(validated.plan.is_valid());
        CompiledPlan::compile(&validated.plan).expect("an accepted plan compiles");
        let encoded = encode_plan(&validated.plan);
        let decoded = decode_plan(&encoded, 0).expect("an encoded plan decodes");
        assert_eq!(decoded, validated.plan);
    }
});
