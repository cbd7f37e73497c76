//! `GateOptions` and unit ids: unusable values are typed errors naming the field; usable ones
//! in every accepted form start a gate.

mod common;

use common::*;
use trackgate_ffi::{Gate, GateError, GateOptions, TrustedKey};

fn refused(options: GateOptions) -> (String, String) {
    match Gate::new(options) {
        Err(GateError::InvalidOptions { field, problem }) => (field, problem),
        Err(other) => panic!("expected InvalidOptions, got {other:?}"),
        Ok(_) => panic!("expected InvalidOptions, the gate started"),
    }
}

#[test]
fn keys_are_accepted_as_hex_text_or_raw_bytes() {
    let publisher = Publisher::new(1);
    let store = TempDir::new("keys");
    let raw = trackgate_delivery::envelope::from_hex(&publisher.public_hex()).unwrap();
    let mut options = options(&publisher, &store);
    options.trusted_keys = vec![
        TrustedKey::Hex { text: format!("  {}\n", Publisher::new(2).public_hex()) },
        TrustedKey::Raw { bytes: raw },
    ];
    options.bundled_plan = Some(publisher.seal(&standard_plan(3)));
    let gate = Gate::new(options).unwrap();
    assert_eq!(gate.status().version, 3);
}

#[test]
fn unusable_keys_name_their_index() {
    let publisher = Publisher::new(1);
    let store = TempDir::new("badkeys");
    let cases = [
        (TrustedKey::Hex { text: "zz".repeat(32) }, "key text is not hexadecimal"),
        (TrustedKey::Hex { text: "ab".into() }, "a public key is 32 bytes (64 hex digits), got 1 bytes"),
        (TrustedKey::Raw { bytes: vec![7; 31] }, "a public key is 32 bytes (64 hex digits), got 31 bytes"),
        // The identity point: a weak key anyone can forge signatures for.
        (TrustedKey::Raw { bytes: [&[1u8][..], &[0; 31][..]].concat() }, "not a valid Ed25519 public key"),
        (publisher.trusted(), "is already in the keyring"),
    ];
    for (key, expected) in cases {
        let mut options = options(&publisher, &store);
        options.trusted_keys.push(key);
        let (field, problem) = refused(options);
        assert_eq!(field, "trusted_keys[1]");
        assert!(problem.contains(expected), "{problem}");
    }
    let mut options = options(&publisher, &store);
    options.trusted_keys.clear();
    let (field, problem) = refused(options);
    assert_eq!((field.as_str(), problem.as_str()), ("trusted_keys", "no key given, so no plan could ever be verified"));
}

#[test]
fn scope_unit_and_transport_options_are_checked() {
    let publisher = Publisher::new(1);
    let store = TempDir::new("scope");

    let mut bad_app = options(&publisher, &store);
    bad_app.app = "my app".into();
    assert_eq!(refused(bad_app).0, "app/env");

    for unit_id in [String::new(), "u".repeat(4097)] {
        let mut bad_unit = options(&publisher, &store);
        bad_unit.unit_id = Some(unit_id);
        let (field, problem) = refused(bad_unit);
        assert_eq!(field, "unit_id");
        assert!(problem.contains("unit id must be 1 to 4096 bytes"), "{problem}");
    }

    let mut no_url = options_with_transport(&publisher, &store, ScriptedTransport::new(vec![]));
    no_url.plan_url = None;
    assert_eq!(refused(no_url).0, "plan_url");

    let error = Gate::new({
        let mut options = options(&publisher, &store);
        options.app = String::new();
        options
    })
    .err()
    .unwrap();
    assert!(error.to_string().starts_with("Gate(options): GateOptions.app/env: "), "{error}");
}

#[test]
fn unit_ids_generated_set_and_refused() {
    let publisher = Publisher::new(1);
    let store = TempDir::new("unit");
    let mut options = options(&publisher, &store);
    options.unit_id = None;
    let gate = Gate::new(options).unwrap();
    let generated = gate.unit_id();
    assert_eq!(generated.len(), 36, "a UUID: {generated}");

    gate.set_unit_id("user-42".into()).unwrap();
    assert_eq!(gate.unit_id(), "user-42");
    let error = gate.set_unit_id(String::new()).unwrap_err();
    assert!(matches!(error, GateError::InvalidArgument { call: "set_unit_id", .. }), "{error:?}");
    assert_eq!(error.to_string(), "set_unit_id: unit id must be 1 to 4096 bytes long, got 0 bytes");
    assert!(gate.set_unit_id("u".repeat(4097)).is_err());
    assert_eq!(gate.unit_id(), "user-42");
}
