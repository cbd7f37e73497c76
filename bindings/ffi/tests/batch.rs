//! Batch decisions: the same answers and counts as single calls, in input order, with stale ids
//! and mismatched lengths handled.

mod common;

use common::*;
use trackgate_ffi::{
    drop_reason_code, drop_reason_from_code, ApplyOutcome, BatchDecisions, Decision, DropReason, GateError,
    BATCH_CODE_KEEP, BATCH_CODE_STALE,
};

/// A plan without rate limits, so deciding the same events twice gives the same answers.
fn stateless_plan(version: u64) -> String {
    plan(
        version,
        r#""sampling_salt": "s","#,
        r#"
        "checkout.completed": {"priority": "P0"},
        "legacy.banner_seen": {"priority": "P3", "status": "retired"},
        "photo.uploaded": {"priority": "P1", "max_bytes": 1000},
        "feed.viewed": {"priority": "P2", "sample": 0.5},
        "scroll.depth": {"priority": "P2", "sample": 0}
        "#,
    )
}

fn entry(decision: Decision) -> (u8, f64) {
    match decision {
        Decision::Keep { weight } => (BATCH_CODE_KEEP, weight),
        Decision::Drop { reason } => (drop_reason_code(reason), 0.0),
    }
}

#[test]
fn a_name_batch_answers_as_single_calls_would() {
    let publisher = Publisher::new(1);
    let (batch_store, single_store) = (TempDir::new("batch"), TempDir::new("single"));
    let batch_gate = gate_with_plan(&publisher, &batch_store, &stateless_plan(3));
    let single_gate = gate_with_plan(&publisher, &single_store, &stateless_plan(3));

    let names: Vec<String> = [
        "checkout.completed",
        "legacy.banner_seen",
        "photo.uploaded",
        "photo.uploaded",
        "feed.viewed",
        "scroll.depth",
        "typo.evnt",
        "bad name",
        "",
    ]
    .iter()
    .map(|name| name.to_string())
    .collect();
    let sizes = vec![10, 10, 1000, 1001, 10, 10, 10, 10, 10];
    let batch = batch_gate.decide_batch(names.clone(), sizes.clone()).unwrap();
    let singles: Vec<(u8, f64)> =
        names.iter().zip(&sizes).map(|(name, &size)| entry(single_gate.decide(name.clone(), size))).collect();
    let (codes, weights): (Vec<u8>, Vec<f64>) = singles.into_iter().unzip();
    assert_eq!(batch, BatchDecisions { codes, weights });

    let code = |reason| drop_reason_code(reason);
    assert_eq!(
        batch.codes,
        [
            0,
            code(DropReason::Retired),
            0,
            code(DropReason::Oversize),
            batch.codes[4], // sampled at 50 %: either way, as the single call said
            code(DropReason::SampledOut),
            code(DropReason::Unregistered),
            code(DropReason::InvalidName),
            code(DropReason::InvalidName),
        ]
    );

    // Counted exactly once each, like single calls.
    let (batch_report, single_report) = (batch_gate.take_report().report, single_gate.take_report().report);
    assert_eq!(batch_report.offered, 9);
    assert_eq!(batch_report.dropped, single_report.dropped);
    assert_eq!(batch_report.kept, single_report.kept);
}

#[test]
fn an_id_batch_marks_stale_ids_and_counts_only_decided_events() {
    let publisher = Publisher::new(1);
    let store = TempDir::new("ids");
    let gate = gate_with_plan(&publisher, &store, &stateless_plan(3));
    let old_checkout = gate.resolve("checkout.completed".into()).unwrap();
    assert!(matches!(gate.apply_plan(publisher.seal(&stateless_plan(4))), ApplyOutcome::Installed { .. }));
    gate.take_report();

    let checkout = gate.resolve("checkout.completed".into()).unwrap();
    let retired = gate.resolve("legacy.banner_seen".into()).unwrap();
    let photo = gate.resolve("photo.uploaded".into()).unwrap();
    let batch =
        gate.decide_ids(vec![checkout, old_checkout, retired, photo, u64::MAX], vec![1, 1, 1, 5000, 1]).unwrap();
    assert_eq!(
        batch.codes,
        [
            BATCH_CODE_KEEP,
            BATCH_CODE_STALE,
            drop_reason_code(DropReason::Retired),
            drop_reason_code(DropReason::Oversize),
            BATCH_CODE_STALE
        ]
    );
    assert_eq!(batch.weights, [1.0, 0.0, 0.0, 0.0, 0.0]);
    let report = gate.take_report().report;
    assert_eq!((report.offered, report.kept, report.dropped.total()), (3, 1, 2));
}

#[test]
fn empty_batches_and_mismatched_lengths() {
    let publisher = Publisher::new(1);
    let store = TempDir::new("lengths");
    let gate = gate_with_plan(&publisher, &store, &stateless_plan(3));
    assert_eq!(gate.decide_batch(Vec::new(), Vec::new()).unwrap(), BatchDecisions { codes: vec![], weights: vec![] });
    assert_eq!(gate.decide_ids(Vec::new(), Vec::new()).unwrap(), BatchDecisions { codes: vec![], weights: vec![] });

    let error = gate.decide_batch(vec!["a".into(), "b".into()], vec![1]).unwrap_err();
    assert!(matches!(error, GateError::InvalidArgument { call: "decide_batch", .. }), "{error:?}");
    assert_eq!(error.to_string(), "decide_batch: 2 names but 1 sizes; pass one size per event");
    let error = gate.decide_ids(vec![1], vec![1, 2, 3]).unwrap_err();
    assert_eq!(error.to_string(), "decide_ids: 1 ids but 3 sizes; pass one size per event");
    // A refused batch decides nothing.
    assert_eq!(gate.take_report().report.offered, 0);
}

#[test]
fn codes_map_back_to_reasons() {
    for reason in DropReason::ALL {
        let code = drop_reason_code(reason);
        assert!((1..=8).contains(&code));
        assert_eq!(drop_reason_from_code(code), Some(reason));
    }
    assert_eq!(drop_reason_from_code(BATCH_CODE_KEEP), None);
    assert_eq!(drop_reason_from_code(BATCH_CODE_STALE), None);
}

fn pack_names(names: &[Vec<u8>]) -> (Vec<u8>, Vec<u8>) {
    (names.concat(), names.iter().flat_map(|name| (name.len() as u32).to_le_bytes()).collect())
}

fn pack_words(words: &[u64]) -> Vec<u8> {
    words.iter().flat_map(|word| word.to_le_bytes()).collect()
}

fn unpack_weights(bytes: &[u8]) -> Vec<f64> {
    bytes.chunks_exact(8).map(|chunk| f64::from_le_bytes(chunk.try_into().unwrap())).collect()
}

#[test]
fn packed_batches_answer_as_list_batches() {
    let publisher = Publisher::new(1);
    let (packed_store, list_store) = (TempDir::new("packed"), TempDir::new("list"));
    let packed_gate = gate_with_plan(&publisher, &packed_store, &stateless_plan(3));
    let list_gate = gate_with_plan(&publisher, &list_store, &stateless_plan(3));
    let names = ["checkout.completed", "legacy.banner_seen", "photo.uploaded", "feed.viewed", "typo.evnt", "", "é"];
    let sizes = [1, 2, 3000, 4, 5, 6, u64::MAX];
    let (utf8, lengths) = pack_names(&names.map(|name| name.as_bytes().to_vec()));
    let packed = packed_gate.decide_batch_packed(utf8, lengths, pack_words(&sizes)).unwrap();
    let list = list_gate.decide_batch(names.map(String::from).to_vec(), sizes.to_vec()).unwrap();
    assert_eq!(packed.codes, list.codes);
    assert_eq!(unpack_weights(&packed.weights_le), list.weights);
    // Counted alike (the reports differ only in their window times).
    let (packed_report, list_report) = (packed_gate.take_report().report, list_gate.take_report().report);
    assert_eq!(packed_report.offered, 7);
    assert_eq!(
        (packed_report.kept, packed_report.kept_bytes, packed_report.dropped, packed_report.dropped_bytes),
        (list_report.kept, list_report.kept_bytes, list_report.dropped, list_report.dropped_bytes)
    );
    assert_eq!((packed_report.events, packed_report.unregistered), (list_report.events, list_report.unregistered));
}

#[test]
fn packed_names_that_are_not_utf8_are_invalid_names() {
    let publisher = Publisher::new(1);
    let store = TempDir::new("notutf8");
    let gate = gate_with_plan(&publisher, &store, &stateless_plan(3));
    let (utf8, lengths) = pack_names(&[vec![0xff, 0xfe], b"checkout.completed".to_vec(), vec![b'a', 0x80]]);
    let packed = gate.decide_batch_packed(utf8, lengths, pack_words(&[1, 1, 1])).unwrap();
    let invalid = drop_reason_code(DropReason::InvalidName);
    assert_eq!(packed.codes, [invalid, BATCH_CODE_KEEP, invalid]);
    let report = gate.take_report().report;
    assert_eq!((report.offered, report.dropped.invalid_name), (3, 2));
}

#[test]
fn packed_ids_mark_stale_ids_and_malformed_batches_decide_nothing() {
    let publisher = Publisher::new(1);
    let store = TempDir::new("packedids");
    let gate = gate_with_plan(&publisher, &store, &stateless_plan(3));
    let checkout = gate.resolve("checkout.completed".into()).unwrap();
    let packed = gate.decide_ids_packed(pack_words(&[checkout, 7, checkout]), pack_words(&[1, 1, 1])).unwrap();
    assert_eq!(packed.codes, [BATCH_CODE_KEEP, BATCH_CODE_STALE, BATCH_CODE_KEEP]);
    assert_eq!(unpack_weights(&packed.weights_le), [1.0, 0.0, 1.0]);
    gate.take_report();

    let errors = [
        gate.decide_ids_packed(vec![0; 7], vec![0; 8]).unwrap_err(),
        gate.decide_ids_packed(pack_words(&[checkout]), pack_words(&[1, 2])).unwrap_err(),
        gate.decide_batch_packed(b"abc".to_vec(), vec![2, 0, 0, 0], pack_words(&[1])).unwrap_err(),
        gate.decide_batch_packed(b"abc".to_vec(), vec![3, 0, 0, 0, 0], pack_words(&[1])).unwrap_err(),
    ];
    let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        messages,
        [
            "decide_ids_packed: ids_le is 7 bytes, not a multiple of 8",
            "decide_ids_packed: 1 ids but 2 sizes; pass one size per event",
            "decide_batch_packed: the name lengths add up to 2 bytes but names_utf8 has 3",
            "decide_batch_packed: name_lengths_le is 5 bytes, not a multiple of 4",
        ]
    );
    assert!(errors.iter().all(|error| matches!(error, GateError::InvalidArgument { .. })));
    assert_eq!(gate.take_report().report.offered, 0);
}
