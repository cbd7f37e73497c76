//! Reviews as signatures: format-2 envelopes carrying several signatures, judged against a
//! keyring with roles, per-role thresholds and revocations. Every refusal names its reason and
//! leaves the last good plan (version 5) deciding; legacy keyrings (any one trusted key) accept
//! both formats; a seeded property test compares the verdict with a direct model.

mod common;

use std::sync::Arc;

use common::*;
use trackgate_core::ManualClock;
use trackgate_delivery::envelope::{
    EnvelopeError, FORMAT_VERSION_2, MAX_SIGNATURES, SIGNATURE_ENTRY_LENGTH, SIGNATURE_LENGTH,
};
use trackgate_delivery::*;

/// Business reviewers are keys 11 and 12, technical reviewers 21 and 22.
fn business() -> SigningKey {
    key(11)
}
fn technical() -> SigningKey {
    key(21)
}

fn id(key: &SigningKey) -> KeyId {
    KeyId::of(key.verifying_key().as_bytes())
}

/// A keyring holding keys 11, 12 (business) and 21, 22 (technical), requiring `business` and
/// `technical` keys as given.
fn two_roles(need_business: u32, need_technical: u32) -> Keyring {
    let mut keyring = Keyring::new();
    for (seed, role) in [(11, "business"), (12, "business"), (21, "technical"), (22, "technical")] {
        keyring.add_with_role(key(seed).verifying_key().as_bytes(), role).expect("adds");
    }
    keyring.require("business", need_business).expect("requires");
    keyring.require("technical", need_technical).expect("requires");
    keyring.check().expect("reachable");
    keyring
}

/// `plan(version)` sealed in format 2, signed by `keys` in that order.
fn cosigned(version: u64, keys: &[&SigningKey]) -> Vec<u8> {
    seal_plan_v2(&plan(version), keys, NOW, NOW + 30 * DAY).expect("seals")
}

/// A delivery with `keyring` running version 5 (signed by all four reviewers).
fn running_v5(keyring: Keyring) -> (Delivery, Arc<ManualClock>) {
    let clock = clock();
    let config = DeliveryConfig { keyring, ..config("http://127.0.0.1:9/v1/plans/shop/prod") };
    let mut delivery = start_with(config, &FaultyStorage::default(), None, &clock);
    let offered = delivery.offer(&cosigned(5, &[&business(), &key(12), &technical(), &key(22)]));
    assert!(matches!(offered, Ok(Offered::Installed { version: 5, .. })), "{offered:?}");
    (delivery, clock)
}

/// Offers `bytes`, expects a refusal, checks version 5 still decides and the refusal is the
/// status's last error.
fn refuse(delivery: &mut Delivery, bytes: &[u8]) -> VerifyError {
    let error = match delivery.offer(bytes) {
        Err(OfferError::Refused(error)) => error,
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert!(runs_version(delivery, 5), "last good plan replaced after {error}");
    assert_eq!(delivery.status().last_error.as_deref(), Some(&DeliveryError::Refused(error.clone())));
    error
}

fn installs(delivery: &mut Delivery, bytes: &[u8], version: u64) {
    let offered = delivery.offer(bytes);
    assert!(matches!(offered, Ok(Offered::Installed { version: v, .. }) if v == version), "{offered:?}");
    assert!(runs_version(delivery, version));
}

#[test]
fn one_role_alone_is_refused_and_both_roles_are_accepted() {
    let (mut delivery, _clock) = running_v5(two_roles(1, 1));
    let error = refuse(&mut delivery, &cosigned(6, &[&business()]));
    assert_eq!(error, VerifyError::NotEnoughSignatures { role: Some("technical".into()), have: 0, need: 1 });
    assert_eq!(error.kind(), "not_enough_signatures");
    assert_eq!(error.to_string(), "not enough signatures for role `technical`: have 0 of 1");
    let error = refuse(&mut delivery, &cosigned(6, &[&technical(), &key(22)]));
    assert_eq!(error, VerifyError::NotEnoughSignatures { role: Some("business".into()), have: 0, need: 1 });
    // A format-1 envelope carries one signature, so it can never meet two roles.
    let single = seal_plan(&plan(6), &business(), NOW, NOW + 30 * DAY).expect("seals");
    assert_eq!(
        refuse(&mut delivery, &single),
        VerifyError::NotEnoughSignatures { role: Some("technical".into()), have: 0, need: 1 }
    );
    // Co-signing the refused envelope (technical adds its signature) makes it acceptable, in
    // either order, and the signed bytes never changed.
    let business_only = cosigned(6, &[&business()]);
    let both = add_signature(&business_only, &technical()).expect("co-signs");
    assert_eq!(
        both[..business_only.len() - 1 - SIGNATURE_ENTRY_LENGTH],
        business_only[..business_only.len() - 1 - SIGNATURE_ENTRY_LENGTH]
    );
    installs(&mut delivery, &both, 6);
    installs(&mut delivery, &cosigned(7, &[&technical(), &business()]), 7);
}

#[test]
fn the_same_key_twice_is_refused_and_never_meets_a_threshold_of_two() {
    let (mut delivery, _clock) = running_v5(two_roles(2, 1));
    // Business signs twice (the second entry a copy of the first), technical once.
    let once = cosigned(6, &[&business(), &technical()]);
    let signed = once.len() - 1 - 2 * SIGNATURE_ENTRY_LENGTH;
    let first_entry = once[signed + 1..signed + 1 + SIGNATURE_ENTRY_LENGTH].to_vec();
    let mut twice = once.clone();
    twice[signed] = 3;
    twice.extend_from_slice(&first_entry);
    let offset = signed + 1 + 2 * SIGNATURE_ENTRY_LENGTH;
    let error = refuse(&mut delivery, &twice);
    assert_eq!(
        error,
        VerifyError::Malformed(EnvelopeError::DuplicateSignature {
            key_id: id(&business()),
            index: 2,
            first: 0,
            offset
        })
    );
    assert_eq!(error.kind(), "duplicate_key");
    assert!(error.to_string().contains(&format!("byte {offset}: signature 2 is by key")), "{error}");
    // The co-signing tool refuses to add it, and sealing refuses a key given twice.
    assert_eq!(add_signature(&once, &business()), Err(CosignError::AlreadySigned(id(&business()), 0)));
    assert!(matches!(seal_plan_v2(&plan(6), &[&business(), &business()], NOW, NOW + DAY), Err(PublishError::Seal(_))));
    // One business key is 1 of 2; two distinct business keys meet the threshold.
    assert_eq!(
        refuse(&mut delivery, &once),
        VerifyError::NotEnoughSignatures { role: Some("business".into()), have: 1, need: 2 }
    );
    installs(&mut delivery, &cosigned(6, &[&business(), &technical(), &key(12)]), 6);
}

#[test]
fn a_revoked_key_never_counts() {
    let mut roles = two_roles(1, 1);
    roles.revoke(id(&key(12)));
    let (mut delivery, _clock) = running_v5(roles);
    let error = refuse(&mut delivery, &cosigned(6, &[&technical(), &key(12)]));
    let offset = error_offset(&cosigned(6, &[&technical(), &key(12)]), 1);
    assert_eq!(
        error,
        VerifyError::RevokedKey { key_id: id(&key(12)), index: 1, offset, role: Some("business".into()) }
    );
    assert_eq!(error.kind(), "revoked_key");
    // Revoked even if it were the only key, and revoked keys are not checked: a garbage
    // signature under a revoked id is refused as revoked, not as bad.
    let mut garbage = cosigned(6, &[&key(12), &technical()]);
    let first = error_offset(&garbage, 0);
    garbage[first + 8] ^= 0xff;
    assert!(matches!(refuse(&mut delivery, &garbage), VerifyError::RevokedKey { index: 0, .. }));
    // With an unrevoked business key beside it, the revoked signature is just ignored.
    let verified = delivery.offer(&cosigned(6, &[&key(12), &technical(), &business()]));
    assert!(matches!(verified, Ok(Offered::Installed { version: 6, .. })), "{verified:?}");
    // Under the legacy policy a revoked key is refused too, in format 1 as in format 2.
    let mut legacy = keyring(&[&publisher(), &key(2)]);
    legacy.revoke(id(&publisher()));
    let bytes = seal_plan(&plan(6), &publisher(), NOW, NOW + DAY).expect("seals");
    let parsed = parse_envelope(&bytes, 1 << 20).expect("parses");
    let error = verify_signatures(&parsed, &legacy).expect_err("revoked");
    assert!(matches!(error, VerifyError::RevokedKey { index: 0, role: None, .. }), "{error}");
}

/// Where signature entry `index` of a format-2 envelope starts.
fn error_offset(envelope: &[u8], index: usize) -> usize {
    let parsed = parse_envelope(envelope, 1 << 20).expect("parses");
    parsed.signatures[index].offset
}

#[test]
fn a_legacy_keyring_accepts_format_1_and_co_signed_format_2() {
    // Today's device: one trusted key, no roles. Its publisher key becomes the business key.
    let clock = clock();
    let storage = FaultyStorage::default();
    let mut delivery = start(&storage, None, &clock);
    installs(&mut delivery, &envelope(5), 5);
    // Co-signed by the key it trusts and a technical key it has never heard of.
    installs(&mut delivery, &cosigned(6, &[&key(21), &publisher()]), 6);
    installs(&mut delivery, &cosigned(7, &[&publisher(), &key(21)]), 7);
    installs(&mut delivery, &envelope(8), 8);
    // Signed by no key it trusts: refused, naming the first unknown key; unsigned: refused.
    let unknown = cosigned(9, &[&key(21), &key(22)]);
    let offset = error_offset(&unknown, 0);
    let refused = match delivery.offer(&unknown) {
        Err(OfferError::Refused(error)) => error,
        other => panic!("{other:?}"),
    };
    assert_eq!(refused, VerifyError::UnknownKey { key_id: id(&key(21)), index: 0, offset });
    let refused = match delivery.offer(&cosigned(9, &[])) {
        Err(OfferError::Refused(error)) => error,
        other => panic!("{other:?}"),
    };
    assert_eq!(refused, VerifyError::NotEnoughSignatures { role: None, have: 0, need: 1 });
    assert_eq!(refused.to_string(), "not enough signatures by a trusted key: have 0 of 1");
    assert!(runs_version(&delivery, 8));
    // A restart re-verifies the cached format-1 plan under the same keyring.
    drop(delivery);
    let delivery = start(&storage, None, &clock);
    assert!(runs_version(&delivery, 8));
    assert_eq!(delivery.status().source, PlanSource::Cache);
}

#[test]
fn the_same_plan_with_another_set_of_signatures_is_already_current_not_equivocation() {
    let (mut delivery, _clock) = running_v5(two_roles(1, 1));
    let more = cosigned(5, &[&business(), &technical()]);
    assert!(matches!(delivery.offer(&more), Ok(Offered::AlreadyCurrent)));
    let reordered = cosigned(5, &[&technical(), &business()]);
    assert!(matches!(delivery.offer(&reordered), Ok(Offered::AlreadyCurrent)));
    // Other content under the same version is still equivocation.
    let mut other = plan(5);
    other.events.remove("search.performed");
    let other = seal_plan_v2(&other, &[&business(), &technical()], NOW, NOW + 30 * DAY).expect("seals");
    assert_eq!(refuse(&mut delivery, &other), VerifyError::Equivocation { version: 5 });
}

#[test]
fn malformed_signature_blocks_are_refused_with_their_byte_offset() {
    let (mut delivery, _clock) = running_v5(two_roles(1, 1));
    let good = cosigned(6, &[&business(), &technical()]);
    let signed = good.len() - 1 - 2 * SIGNATURE_ENTRY_LENGTH;
    let malformed = |delivery: &mut Delivery, bytes: &[u8]| match refuse(delivery, bytes) {
        VerifyError::Malformed(error) => error,
        other => panic!("expected malformed, got {other}"),
    };
    // The count byte missing.
    let error = malformed(&mut delivery, &good[..signed]);
    assert_eq!(
        error,
        EnvelopeError::Truncated { field: "signature_count", offset: signed, end: signed + 1, length: signed }
    );
    // An entry cut short.
    let cut = good.len() - 10;
    let second = signed + 1 + SIGNATURE_ENTRY_LENGTH;
    let error = malformed(&mut delivery, &good[..cut]);
    assert_eq!(error, EnvelopeError::SignatureTruncated { index: 1, offset: second, end: good.len(), length: cut });
    assert!(error.to_string().contains(&format!("signature 1 needs bytes {second}..{}", good.len())), "{error}");
    // A count above the limit, and a count that claims more entries than there are.
    let mut too_many = good.clone();
    too_many[signed] = (MAX_SIGNATURES + 1) as u8;
    assert_eq!(malformed(&mut delivery, &too_many), EnvelopeError::TooManySignatures { count: 17, offset: signed });
    let mut overcount = good.clone();
    overcount[signed] = 3;
    let third = second + SIGNATURE_ENTRY_LENGTH;
    assert_eq!(
        malformed(&mut delivery, &overcount),
        EnvelopeError::SignatureTruncated {
            index: 2,
            offset: third,
            end: third + SIGNATURE_ENTRY_LENGTH,
            length: good.len()
        }
    );
    // Bytes after the block, and a count that claims fewer entries.
    let mut trailing = good.clone();
    trailing.push(0);
    assert_eq!(malformed(&mut delivery, &trailing), EnvelopeError::TrailingBytes { offset: good.len(), count: 1 });
    let mut undercount = good.clone();
    undercount[signed] = 1;
    assert_eq!(
        malformed(&mut delivery, &undercount),
        EnvelopeError::TrailingBytes { offset: second, count: SIGNATURE_ENTRY_LENGTH }
    );
    // A payload length that runs into the block.
    let mut long_payload = good.clone();
    let declared = u32::from_le_bytes(good[46..50].try_into().unwrap());
    long_payload[46..50].copy_from_slice(&(declared + 1000).to_le_bytes());
    assert!(matches!(malformed(&mut delivery, &long_payload), EnvelopeError::Truncated { field: "payload", .. }));
    // Format 2 keeps bytes 12..20 zero.
    let mut key_field = good.clone();
    key_field[12] = 1;
    assert_eq!(malformed(&mut delivery, &key_field), EnvelopeError::KeyIdFieldNotZero);
    // A trusted key's signature that does not match: refused at its index and offset.
    let mut forged = good.clone();
    forged[second + 8 + SIGNATURE_LENGTH - 1] ^= 1;
    let error = refuse(&mut delivery, &forged);
    assert_eq!(error, VerifyError::BadSignature { key_id: id(&technical()), index: 1, offset: second });
    assert!(error.to_string().starts_with(&format!("byte {second}: signature 1 by key")), "{error}");
    // A signature moved under another trusted key's id.
    let mut swapped = good.clone();
    swapped[second..second + 8].copy_from_slice(&id(&key(22)).0);
    assert!(matches!(refuse(&mut delivery, &swapped), VerifyError::BadSignature { index: 1, .. }));
    // A format-1 signature pasted into a format-2 block: the domains differ, so it never verifies.
    let v1 = seal_plan(&plan(6), &technical(), NOW, NOW + 30 * DAY).expect("seals");
    let mut pasted = good.clone();
    pasted[second + 8..second + 8 + SIGNATURE_LENGTH].copy_from_slice(&v1[v1.len() - SIGNATURE_LENGTH..]);
    assert!(matches!(refuse(&mut delivery, &pasted), VerifyError::BadSignature { index: 1, .. }));
    assert_eq!(parse_envelope(&good, 1 << 20).expect("parses").header.format_version, FORMAT_VERSION_2);
    installs(&mut delivery, &good, 6);
}

/// The verdict a direct reading of the rules gives for a set of signers under a policy: every
/// signer is (key seed, whether its signature is intact).
fn model(roles: &[(u8, &str)], revoked: &[u8], thresholds: &[(&str, usize)], signers: &[(u8, bool)]) -> bool {
    let trusted = |seed: u8| roles.iter().find(|(known, _)| *known == seed).map(|(_, role)| *role);
    let counts = |seed: u8| trusted(seed).is_some() && !revoked.contains(&seed);
    if signers.iter().any(|(seed, intact)| counts(*seed) && !intact) {
        return false;
    }
    let valid: Vec<u8> = signers.iter().map(|(seed, _)| *seed).filter(|seed| counts(*seed)).collect();
    if thresholds.is_empty() {
        return !valid.is_empty();
    }
    thresholds.iter().all(|(role, need)| valid.iter().filter(|seed| trusted(**seed) == Some(*role)).count() >= *need)
}

#[test]
fn seeded_property_the_verdict_matches_the_rules() {
    const ROLES: [&str; 3] = ["business", "technical", "legal"];
    let mut random = SplitMix64::new(0x5eed_0013);
    let mut below = |limit: u64| (random.next_u64() % limit) as usize;
    let plan_bytes = cosigned(6, &[]);
    let digest = parse_envelope(&plan_bytes, 1 << 20).expect("parses").signed_digest();
    let (mut accepted, mut refused) = (0, 0);
    for case in 0..400 {
        // Keys 1..=8: the first `known` are trusted, each with a random role.
        let known = 1 + below(6) as u8;
        let roles: Vec<(u8, &str)> = (1..=known).map(|seed| (seed, ROLES[below(3)])).collect();
        let revoked: Vec<u8> = (1..=8).filter(|_| below(6) == 0).collect();
        let legacy = below(4) == 0;
        let mut keyring = Keyring::new();
        for (seed, role) in &roles {
            let public = key(*seed).verifying_key();
            if legacy { keyring.add(public.as_bytes()) } else { keyring.add_with_role(public.as_bytes(), role) }
                .expect("adds");
        }
        for seed in &revoked {
            keyring.revoke(id(&key(*seed)));
        }
        let mut thresholds: Vec<(&str, usize)> = Vec::new();
        if !legacy {
            let required: Vec<&str> = ROLES.iter().copied().filter(|_| below(2) == 0).collect();
            for role in required {
                let need = 1 + below(2);
                keyring.require(role, need as u32).expect("requires");
                thresholds.push((role, need));
            }
        }
        // Up to 6 distinct signers among keys 1..=8, a few with a corrupted signature.
        let mut signers: Vec<(u8, bool)> = Vec::new();
        for _ in 0..below(7) {
            let seed = 1 + below(8) as u8;
            if !signers.iter().any(|(known, _)| *known == seed) {
                signers.push((seed, below(10) != 0));
            }
        }
        let mut envelope = plan_bytes.clone();
        for (seed, intact) in &signers {
            let mut signature = sign_digest(&digest, &key(*seed));
            if !intact {
                signature[below(64)] ^= 1 << below(8);
            }
            envelope = attach_or_append(&envelope, &key(*seed), &signature);
        }
        let parsed = parse_envelope(&envelope, 1 << 20).expect("parses");
        let verdict = verify_signatures(&parsed, &keyring);
        let thresholds_legacy = if legacy { Vec::new() } else { thresholds.clone() };
        let expected = model(&roles, &revoked, &thresholds_legacy, &signers);
        assert_eq!(verdict.is_ok(), expected, "case {case}: roles {roles:?} revoked {revoked:?} thresholds {thresholds:?} signers {signers:?}: {verdict:?}");
        if expected {
            accepted += 1
        } else {
            refused += 1
        }
        // Any one flipped byte of the signed bytes refuses it (no panic, whatever the byte).
        let mut flipped = envelope.clone();
        let at = below(parsed.signed_bytes.len() as u64);
        flipped[at] ^= 1 << below(8);
        if let Ok(parsed) = parse_envelope(&flipped, 1 << 20) {
            assert!(
                verify_signatures(&parsed, &keyring).is_err() || !expected,
                "case {case}: byte {at} flipped and accepted"
            );
        }
        // Any cut is refused by the parser, never a panic.
        let cut = below(envelope.len() as u64);
        assert!(parse_envelope(&envelope[..cut], 1 << 20).is_err(), "case {case}: cut at {cut} parsed");
    }
    assert!(accepted > 40 && refused > 40, "the cases cover both verdicts: {accepted} accepted, {refused} refused");
}

/// Appends a signature entry without checking it (the co-signing tool checks; an attacker
/// does not), so corrupted signatures can be tested.
fn attach_or_append(envelope: &[u8], key: &SigningKey, signature: &[u8; 64]) -> Vec<u8> {
    if let Ok(bytes) = attach_signature(envelope, &key.verifying_key(), signature) {
        return bytes;
    }
    let parsed = parse_envelope(envelope, 1 << 20).expect("parses");
    let signed = parsed.signed_bytes.len();
    let mut bytes = envelope.to_vec();
    bytes[signed] += 1;
    bytes.extend_from_slice(&id(key).0);
    bytes.extend_from_slice(signature);
    bytes
}
