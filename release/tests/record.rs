//! The release record: round trip, newer formats refused, hand edits detected.

mod common;

use common::*;
use trackgate_release::*;

#[test]
fn a_record_round_trips_through_its_json() {
    let record = scheduled(good_next());
    let text = record.to_json();
    let parsed = ReleaseRecord::parse(&text).unwrap();
    assert_eq!(parsed.stages, record.stages);
    assert_eq!(parsed.to_json(), text);
    assert!(text.contains("\"format\": \"trackgate-release/1\""));
}

#[test]
fn a_newer_format_is_refused_by_name_before_anything_else() {
    let text = scheduled(good_next()).to_json().replace("trackgate-release/1", "trackgate-release/2");
    let error = ReleaseRecord::parse(&text).unwrap_err();
    assert!(matches!(error, ReleaseError::NewerFormat { .. }), "{error}");
    assert!(error.to_string().contains("trackgate-release/2, newer than this build reads"), "{error}");
    // Even with fields this build does not know.
    let newer = r#"{"format": "trackgate-release/7", "quorum": {"anything": true}}"#;
    assert!(matches!(ReleaseRecord::parse(newer), Err(ReleaseError::NewerFormat { .. })));
}

#[test]
fn other_documents_are_not_records() {
    for (text, found) in [
        (r#"{"format": "trackgate-filter-stats/1"}"#, "\"trackgate-filter-stats/1\""),
        (r#"{"id": "x"}"#, "missing"),
        (r#"{"format": 1}"#, "1"),
    ] {
        let error = ReleaseRecord::parse(text).unwrap_err();
        assert_eq!(error, ReleaseError::NotARecord { found: found.into(), supported: RECORD_FORMAT }, "{text}");
    }
    let error = ReleaseRecord::parse("{\"format\": \"trackgate-release/1\",\n \"id\": }").unwrap_err();
    assert!(matches!(error, ReleaseError::Json { line: 2, .. }), "{error}");
}

#[test]
fn a_hand_edited_stage_is_detected() {
    let text = scheduled(good_next()).to_json();
    let edited = text.replacen("\"by\": \"carol\"", "\"by\": \"mallory\"", 1);
    assert_ne!(edited, text);
    let error = ReleaseRecord::parse(&edited).unwrap_err();
    assert!(matches!(error, ReleaseError::Edited { .. }), "{error}");
    assert!(error.to_string().contains("changed outside `trackgate release`"), "{error}");
}

#[test]
fn a_plan_edited_with_a_fresh_integrity_digest_is_still_caught() {
    let mut record = scheduled(good_next());
    record.next.events.get_mut("banner.viewed").unwrap().priority = trackgate_core::Priority::P0;
    let error = ReleaseRecord::parse(&record.to_json()).unwrap_err();
    assert!(matches!(error, ReleaseError::PlanEdited { which: "next", .. }), "{error}");
}

#[test]
fn unknown_fields_are_refused_with_their_place() {
    let text = scheduled(good_next()).to_json().replacen("\"id\":", "\"quorum\": 2,\n  \"id\":", 1);
    let error = ReleaseRecord::parse(&text).unwrap_err();
    assert!(error.to_string().contains("unknown field `quorum`"), "{error}");
    assert!(matches!(error, ReleaseError::Json { line: 3, .. }), "{error}");
}
