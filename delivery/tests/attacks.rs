//! The attack catalogue: every refused envelope names its reason, and in every case the last
//! good plan (version 5, from the network) stays active.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::*;
use trackgate_core::plan::{EventRule, EventStatus, SampleRate};
use trackgate_core::{ManualClock, Priority};
use trackgate_delivery::envelope::{
    seal_payload, EnvelopeError, EnvelopeFields, KeyId, PAYLOAD_SCHEMA_POSTCARD_PLAN_V1,
};
use trackgate_delivery::*;

/// A delivery running version 5, accepted from the network.
fn running_v5() -> (Delivery, Arc<ManualClock>) {
    let storage = FaultyStorage::default();
    let clock = clock();
    let mut delivery = start(&storage, None, &clock);
    assert!(matches!(delivery.offer(&envelope(5)), Ok(Offered::Installed { version: 5, .. })));
    (delivery, clock)
}

/// Offers `bytes`, expects a refusal, and checks that version 5 is still what decides.
fn refuse(delivery: &mut Delivery, bytes: &[u8]) -> VerifyError {
    let error = match delivery.offer(bytes) {
        Err(OfferError::Refused(error)) => error,
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert!(runs_version(delivery, 5), "last good plan replaced after {error}");
    let status = delivery.status();
    assert_eq!((status.source, status.version), (PlanSource::Network, 5));
    assert_eq!(status.last_error.as_deref(), Some(&DeliveryError::Refused(error.clone())));
    error
}

#[test]
fn forged_signature_is_refused() {
    let (mut delivery, _clock) = running_v5();
    let mut bytes = envelope(6);
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    assert!(matches!(refuse(&mut delivery, &bytes), VerifyError::BadSignature { index: 0, .. }));
}

#[test]
fn signature_by_another_key_under_a_trusted_key_id_is_refused() {
    let (mut delivery, _clock) = running_v5();
    let mut bytes = seal_plan(&plan(6), &key(9), NOW, NOW + DAY).unwrap();
    bytes[12..20].copy_from_slice(&KeyId::of(publisher().verifying_key().as_bytes()).0);
    assert!(matches!(refuse(&mut delivery, &bytes), VerifyError::BadSignature { index: 0, .. }));
}

#[test]
fn unknown_key_id_is_refused() {
    let (mut delivery, _clock) = running_v5();
    let bytes = seal_plan(&plan(6), &key(9), NOW, NOW + DAY).unwrap();
    let key_id = KeyId::of(key(9).verifying_key().as_bytes());
    let offset = bytes.len() - 64;
    assert_eq!(refuse(&mut delivery, &bytes), VerifyError::UnknownKey { key_id, index: 0, offset });
}

#[test]
fn wrong_app_or_env_is_refused() {
    let (mut delivery, _clock) = running_v5();
    for (app, env) in [("other", ENV), (APP, "staging")] {
        let bytes = seal_plan(&plan_for(app, env, 6), &publisher(), NOW, NOW + DAY).unwrap();
        assert!(matches!(refuse(&mut delivery, &bytes), VerifyError::WrongScope { .. }), "{app}/{env}");
    }
}

#[test]
fn rollback_to_an_older_version_is_refused() {
    let (mut delivery, _clock) = running_v5();
    assert_eq!(refuse(&mut delivery, &envelope(4)), VerifyError::Rollback { version: 4, floor: 5 });
}

#[test]
fn same_version_with_other_bytes_is_equivocation() {
    let (mut delivery, _clock) = running_v5();
    let other_v5 = envelope_at(5, NOW + 1);
    assert_eq!(refuse(&mut delivery, &other_v5), VerifyError::Equivocation { version: 5 });
}

#[test]
fn same_version_same_bytes_is_already_current_not_a_failure() {
    let (mut delivery, _clock) = running_v5();
    assert!(matches!(delivery.offer(&envelope(5)), Ok(Offered::AlreadyCurrent)));
    assert!(runs_version(&delivery, 5));
    assert_eq!(delivery.status().last_error, None);
}

#[test]
fn expired_past_grace_is_refused_but_within_grace_accepted() {
    let (mut delivery, _clock) = running_v5();
    let expired = envelope_at(6, NOW - 40 * DAY); // expired 10 days ago
    assert!(matches!(refuse(&mut delivery, &expired), VerifyError::Expired { .. }));
    let in_grace = envelope_at(6, NOW - 30 * DAY - 3_600); // expired an hour ago; grace is a day
    assert!(matches!(delivery.offer(&in_grace), Ok(Offered::Installed { version: 6, .. })));
}

#[test]
fn device_clock_set_back_cannot_revive_an_expired_plan() {
    let (mut delivery, clock) = running_v5();
    // Version 5 was signed at NOW, so trusted time stays at NOW when the user sets the device
    // back 60 days; the 304's `Date` plays no part (see tests/trusted_time.rs).
    assert!(delivery.poll_fetch().is_some());
    let date = fetcher::format_http_date(NOW);
    let reply = HttpResponse { status: 304, headers: vec![("Date".into(), date)], body: Vec::new() };
    delivery.complete_fetch(Ok(reply));
    clock.set_unix_millis((NOW - 60 * DAY) * 1000);
    let expired = envelope_at(6, NOW - 40 * DAY);
    assert!(matches!(refuse(&mut delivery, &expired), VerifyError::Expired { now: NOW, .. }));
}

#[test]
fn issued_far_in_the_future_is_refused() {
    let (mut delivery, _clock) = running_v5();
    let future = envelope_at(6, NOW + 3 * DAY);
    assert!(matches!(refuse(&mut delivery, &future), VerifyError::IssuedInFuture { .. }));
}

#[test]
fn oversize_envelope_is_refused_before_parsing() {
    let (mut delivery, _clock) = running_v5();
    let mut huge = envelope(6);
    huge.resize(envelope::DEFAULT_MAX_ENVELOPE_BYTES + 1, 0);
    let error = refuse(&mut delivery, &huge);
    assert!(matches!(error, VerifyError::Malformed(EnvelopeError::TooLarge { .. })), "{error}");
}

#[test]
fn declared_payload_length_that_lies_is_refused() {
    let (mut delivery, _clock) = running_v5();
    for delta in [1i64, -1, 1_000_000] {
        let mut bytes = envelope(6);
        let declared = u32::from_le_bytes(bytes[46..50].try_into().unwrap());
        let lie = (i64::from(declared) + delta) as u32;
        bytes[46..50].copy_from_slice(&lie.to_le_bytes());
        let error = refuse(&mut delivery, &bytes);
        assert!(matches!(error, VerifyError::Malformed(EnvelopeError::PayloadLengthMismatch { .. })), "{error}");
    }
}

#[test]
fn trailing_bytes_in_the_payload_or_after_the_signature_are_refused() {
    let (mut delivery, _clock) = running_v5();
    let mut payload = encode_plan(&plan(6));
    let plan_length = payload.len();
    payload.push(0);
    let bytes = envelope_with_payload(6, &payload);
    let payload_offset = bytes.len() - 64 - payload.len();
    let error = refuse(&mut delivery, &bytes);
    assert_eq!(error, VerifyError::TrailingBytes { offset: payload_offset + plan_length, count: 1 });
    let mut appended = envelope(6);
    appended.push(0);
    let error = refuse(&mut delivery, &appended);
    assert!(matches!(error, VerifyError::Malformed(EnvelopeError::PayloadLengthMismatch { .. })), "{error}");
}

#[test]
fn unknown_format_version_is_refused() {
    let (mut delivery, _clock) = running_v5();
    let mut bytes = envelope(6);
    bytes[8..10].copy_from_slice(&3u16.to_le_bytes());
    assert_eq!(refuse(&mut delivery, &bytes), VerifyError::Malformed(EnvelopeError::UnsupportedFormat(3)));
    // A format-1 envelope relabelled as format 2 keeps its key id at byte 12, which format 2
    // keeps zero: refused before the signature block is even looked for.
    bytes[8..10].copy_from_slice(&2u16.to_le_bytes());
    assert_eq!(refuse(&mut delivery, &bytes), VerifyError::Malformed(EnvelopeError::KeyIdFieldNotZero));
}

#[test]
fn unknown_payload_schema_is_refused() {
    let (mut delivery, _clock) = running_v5();
    let fields = EnvelopeFields {
        config_version: 6,
        issued_at: NOW,
        expires_at: NOW + DAY,
        payload_schema: PAYLOAD_SCHEMA_POSTCARD_PLAN_V1 + 1,
        app: APP.into(),
        env: ENV.into(),
    };
    let bytes = seal_payload(&fields, &encode_plan(&plan(6)), &publisher()).unwrap();
    assert_eq!(refuse(&mut delivery, &bytes), VerifyError::UnsupportedPayloadSchema(2));
}

#[test]
fn signed_garbage_payload_is_refused() {
    let (mut delivery, _clock) = running_v5();
    let bytes = envelope_with_payload(6, &[0xff; 40]);
    assert!(matches!(refuse(&mut delivery, &bytes), VerifyError::Decode { .. }));
}

#[test]
fn header_and_payload_disagreeing_is_refused() {
    let (mut delivery, _clock) = running_v5();
    let bytes = envelope_with_payload(7, &encode_plan(&plan(6)));
    assert!(matches!(refuse(&mut delivery, &bytes), VerifyError::HeaderMismatch { field: "version", .. }));
}

#[test]
fn semantically_invalid_plan_is_refused_even_when_signed() {
    let (mut delivery, _clock) = running_v5();
    let mut bad = plan(6);
    let rule = EventRule {
        status: EventStatus::Active,
        priority: Priority::P1,
        sample: SampleRate::ALWAYS,
        salt: None,
        rate_limit: None,
        max_bytes: Some(0),
        owner: None,
        description: None,
    };
    bad.events = BTreeMap::from([("bad name!".to_owned(), rule)]);
    let bytes = envelope_with_payload(6, &encode_plan(&bad));
    let error = refuse(&mut delivery, &bytes);
    let VerifyError::InvalidPlan(diagnostics) = &error else { panic!("{error}") };
    assert!(diagnostics.iter().any(|d| d.path.contains("bad name!")), "{error}");
}

#[test]
fn truncation_at_every_offset_is_refused() {
    let (mut delivery, _clock) = running_v5();
    let bytes = envelope(6);
    for length in 0..bytes.len() {
        refuse(&mut delivery, &bytes[..length]);
    }
}

#[test]
fn every_single_bit_flip_is_refused() {
    let (mut delivery, _clock) = running_v5();
    let bytes = envelope(6);
    let mut kinds = BTreeMap::new();
    for bit in 0..bytes.len() * 8 {
        let mut flipped = bytes.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        *kinds.entry(refuse(&mut delivery, &flipped).kind()).or_insert(0) += 1;
    }
    // Most flips are caught by the signature; header flips earlier, by cheaper checks.
    assert!(kinds["bad_signature"] > bytes.len() * 4, "{kinds:?}");
    assert!(kinds.contains_key("unknown_key") && kinds.contains_key("malformed"), "{kinds:?}");
}
