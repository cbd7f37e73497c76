//! Any bytes offered as a plan envelope: parsing and full verification must never panic, and
//! must refuse everything not signed by the trusted key. A valid envelope is part of the seed
//! corpus (see docs/fuzzing.md), so mutations reach the payload decoder and the plan checks:
//! the payload is also decoded on its own, without a signature, to reach those paths directly.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trackgate_delivery::envelope::DEFAULT_MAX_ENVELOPE_BYTES;
use trackgate_delivery::{
    compile_checked, decode_plan, parse_envelope, verify_envelope, Floor, Keyring, SigningKey, Verified, VerifyContext,
    VerifyPolicy,
};

fuzz_target!(|bytes: &[u8]| {
    let key = SigningKey::from_bytes(&[1; 32]);
    let mut keyring = Keyring::new();
    keyring.add(key.verifying_key().as_bytes()).unwrap();
    let context = VerifyContext {
        keyring: &keyring,
        app: "shop",
        env: "prod",
        floor: Some(Floor { version: 2, digest: [0; 32] }),
        now: 1_700_000_000,
        check_time: true,
        policy: VerifyPolicy::default(),
    };
    if let Ok(Verified::New(plan)) = verify_envelope(bytes, &context) {
        // Only a correctly signed envelope gets here; its plan must be internally consistent.
        assert_eq!(plan.header.config_version, plan.plan.version);
        assert!(plan.plan.is_valid());
    }
    if let Ok(envelope) = parse_envelope(bytes, DEFAULT_MAX_ENVELOPE_BYTES) {
        // Format 1: one signature after the payload; format 2: a count byte and 72-byte entries.
        let block = if envelope.header.format_version == 1 { 64 } else { 1 + 72 * envelope.signatures.len() };
        assert_eq!(envelope.header_length + envelope.payload.len() + block, bytes.len());
        if let Ok(plan) = decode_plan(envelope.payload, envelope.header_length) {
            let _ = compile_checked(&plan);
        }
    }
});
