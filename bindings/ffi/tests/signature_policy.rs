//! `GateOptions.signature_policy`: keys with roles, per-role thresholds and revoked keys. A
//! plan signed by one role alone is refused under a two-role policy (the active plan stays) and
//! accepted once co-signed; a gate with plain `trusted_keys` (any one key) accepts the
//! co-signed plan too; unusable policies name the field.

mod common;

use common::*;
use trackgate_ffi::{ApplyOutcome, Gate, GateError, RoleKey, RoleThreshold, SignaturePolicy, TrustedKey};

fn business() -> Publisher {
    Publisher::new(11)
}
fn technical() -> Publisher {
    Publisher::new(21)
}

fn two_roles(revoked: Vec<String>) -> SignaturePolicy {
    let role = |publisher: Publisher, role: &str| RoleKey { key: publisher.trusted(), role: role.into() };
    SignaturePolicy {
        keys: vec![role(business(), "business"), role(technical(), "technical")],
        thresholds: vec![
            RoleThreshold { role: "business".into(), count: 1 },
            RoleThreshold { role: "technical".into(), count: 1 },
        ],
        revoked,
    }
}

fn gate(store: &TempDir, policy: Option<SignaturePolicy>) -> Gate {
    let mut options = options(&business(), store);
    if policy.is_some() {
        options.trusted_keys = Vec::new();
    }
    options.signature_policy = policy;
    Gate::new(options).expect("gate starts")
}

fn refused_kind(outcome: ApplyOutcome) -> (String, String) {
    match outcome {
        ApplyOutcome::Refused { kind, reason } => (kind, reason),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn one_role_alone_is_refused_and_a_co_signed_plan_is_accepted() {
    let store = TempDir::new("policy-two-roles");
    let gate = gate(&store, Some(two_roles(Vec::new())));
    let both = Publisher::cosign(&standard_plan(3), &[&business(), &technical()]);
    assert_eq!(gate.apply_plan(both), ApplyOutcome::Installed { previous_version: 0, version: 3 });
    let (kind, reason) = refused_kind(gate.apply_plan(Publisher::cosign(&standard_plan(4), &[&business()])));
    assert_eq!(kind, "not_enough_signatures");
    assert!(reason.contains("role `technical`: have 0 of 1"), "{reason}");
    let (kind, _) = refused_kind(gate.apply_plan(business().seal(&standard_plan(4))));
    assert_eq!(kind, "not_enough_signatures", "a format-1 envelope carries one role");
    assert_eq!(gate.status().version, 3, "the last good plan stays");
    assert!(gate.status().last_error.unwrap().contains("not enough signatures"));
    let co_signed = trackgate_delivery::add_signature(
        &Publisher::cosign(&standard_plan(4), &[&business()]),
        &trackgate_delivery::SigningKey::from_bytes(&[21; 32]),
    )
    .expect("co-signs");
    assert_eq!(gate.apply_plan(co_signed), ApplyOutcome::Installed { previous_version: 3, version: 4 });
}

#[test]
fn a_revoked_key_never_counts_and_plain_trusted_keys_accept_co_signed_plans() {
    let store = TempDir::new("policy-revoked");
    // Revoking the only business key leaves the policy unreachable: refused up front.
    let mut options = options(&business(), &store);
    options.trusted_keys = Vec::new();
    options.signature_policy = Some(two_roles(vec![business().public_hex()]));
    let error = Gate::new(options);
    assert!(
        matches!(error, Err(GateError::InvalidOptions { ref field, .. }) if field == "signature_policy"),
        "{error:?}"
    );
    let mut policy = two_roles(vec![business().public_hex()]);
    policy.keys.push(RoleKey { key: Publisher::new(12).trusted(), role: "business".into() });
    let gate = self::gate(&store, Some(policy));
    let (kind, reason) =
        refused_kind(gate.apply_plan(Publisher::cosign(&standard_plan(3), &[&business(), &technical()])));
    assert_eq!(kind, "revoked_key");
    assert!(reason.contains("revoked key"), "{reason}");
    let accepted = gate.apply_plan(Publisher::cosign(&standard_plan(3), &[&Publisher::new(12), &technical()]));
    assert_eq!(accepted, ApplyOutcome::Installed { previous_version: 0, version: 3 });

    // Today's options (plain hex, any one key) accept a plan co-signed with a key they do not know.
    let legacy_store = TempDir::new("policy-legacy");
    let legacy = self::gate(&legacy_store, None);
    let co_signed = Publisher::cosign(&standard_plan(5), &[&technical(), &business()]);
    assert_eq!(legacy.apply_plan(co_signed), ApplyOutcome::Installed { previous_version: 0, version: 5 });
}

#[test]
fn unusable_policies_name_the_field() {
    let store = TempDir::new("policy-errors");
    let attempt = |change: &dyn Fn(&mut trackgate_ffi::GateOptions)| {
        let mut options = options(&business(), &store);
        options.trusted_keys = Vec::new();
        options.signature_policy = Some(two_roles(Vec::new()));
        change(&mut options);
        match Gate::new(options) {
            Err(GateError::InvalidOptions { field, problem }) => (field, problem),
            other => panic!("expected InvalidOptions, got {other:?}"),
        }
    };
    let (field, _) = attempt(&|options| options.trusted_keys = vec![business().trusted()]);
    assert_eq!(field, "trusted_keys");
    let (field, problem) = attempt(&|options| {
        options.signature_policy.as_mut().unwrap().keys[1].key = TrustedKey::Hex { text: "zz".into() };
    });
    assert_eq!((field.as_str(), problem.as_str()), ("signature_policy.keys[1]", "key text is not hexadecimal"));
    let (field, problem) =
        attempt(&|options| options.signature_policy.as_mut().unwrap().keys[0].role = "Business".into());
    assert_eq!(field, "signature_policy.keys[0]");
    assert!(problem.contains("not a role name"), "{problem}");
    let (field, _) = attempt(&|options| options.signature_policy.as_mut().unwrap().thresholds[1].count = 0);
    assert_eq!(field, "signature_policy.thresholds[1]");
    let (field, _) = attempt(&|options| options.signature_policy.as_mut().unwrap().revoked = vec!["12".into()]);
    assert_eq!(field, "signature_policy.revoked[0]");
    let (field, problem) = attempt(&|options| options.signature_policy.as_mut().unwrap().thresholds[0].count = 2);
    assert_eq!(field, "signature_policy");
    assert!(problem.contains("role `business` needs 2"), "{problem}");
}
