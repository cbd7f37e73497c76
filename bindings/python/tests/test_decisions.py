"""Decisions through the wheel: every drop reason, weights, ids, and the batch calls."""

import pytest

import trackgate
from conftest import plan

R = trackgate.DropReason
KEEP = trackgate.Decision.KEEP(weight=1.0)


def dropped(reason):
    return trackgate.Decision.DROP(reason=reason)


@pytest.mark.parametrize("name, size, expected", [
    ("checkout.completed", 100, KEEP),
    ("legacy.banner_seen", 100, dropped(R.RETIRED)),
    ("photo.uploaded", 1000, KEEP),
    ("photo.uploaded", 1001, dropped(R.OVERSIZE)),
    ("scroll.depth", 10, dropped(R.SAMPLED_OUT)),
    ("typo.evnt", 10, dropped(R.UNREGISTERED)),
    ("has space", 10, dropped(R.INVALID_NAME)),
    ("", 10, dropped(R.INVALID_NAME)),
    ("é", 10, dropped(R.INVALID_NAME)),
    ("x" * 129, 10, dropped(R.INVALID_NAME)),
])
def test_each_rule_gives_its_reason(gate, name, size, expected):
    assert gate.decide(name, size) == expected


def test_rate_limited_after_the_burst(gate):
    assert gate.decide("search.typed", 1) == KEEP
    assert gate.decide("search.typed", 1) == dropped(R.RATE_LIMITED)


def test_shed_and_disabled(publisher, make_options):
    shed = publisher.seal(plan(4, {"a.p0": {"priority": "P0"}, "a.p2": {"priority": "P2"}}, shed_below="P1"))
    gate = trackgate.Gate(make_options(bundled_plan=shed))
    assert gate.decide("a.p0", 1) == KEEP
    assert gate.decide("a.p2", 1) == dropped(R.SHED)
    disabled = publisher.seal(plan(5, {"a.p0": {"priority": "P0"}}, enabled=False))
    assert isinstance(gate.apply_plan(disabled), trackgate.ApplyOutcome.INSTALLED)
    assert gate.decide("a.p0", 1) == dropped(R.DISABLED)


def test_every_reason_is_covered_above():
    # The parametrized cases and the two tests above name all eight reasons.
    assert {reason.name for reason in R} == {
        "DISABLED", "INVALID_NAME", "UNREGISTERED", "RETIRED", "SHED", "OVERSIZE", "SAMPLED_OUT", "RATE_LIMITED",
    }


def test_a_kept_sampled_event_carries_its_weight(publisher, make_options):
    unit = next(f"unit-{index}" for index in range(1000)
                if trackgate.sampling_is_kept(trackgate.sampling_random_value("w", f"unit-{index}"), 250_000))
    envelope = publisher.seal(plan(3, {"feed.viewed": {"priority": "P2", "sample": 0.25}}, sampling_salt="w"))
    gate = trackgate.Gate(make_options(bundled_plan=envelope, unit_id=unit))
    decision = gate.decide("feed.viewed", 1)
    assert decision.is_KEEP() and decision.weight == 4.0


def test_ids_decide_like_names_and_go_stale(gate, publisher):
    checkout = gate.resolve("checkout.completed")
    retired = gate.resolve("legacy.banner_seen")
    assert isinstance(checkout, int) and checkout != retired
    assert gate.decide_id(checkout, 5) == KEEP
    assert gate.decide_id(retired, 5) == dropped(R.RETIRED)
    gate.apply_plan(publisher.seal(plan(4, {"checkout.completed": {"priority": "P0"}})))
    with pytest.raises(trackgate.GateError.StaleEventId):
        gate.decide_id(checkout, 5)
    assert gate.decide_id(gate.resolve("checkout.completed"), 5) == KEEP


def test_name_batches_answer_as_single_calls_and_count_once(make_options, standard_envelope):
    batch_gate = trackgate.Gate(make_options(bundled_plan=standard_envelope))
    names = ["checkout.completed", "legacy.banner_seen", "photo.uploaded", "photo.uploaded", "scroll.depth",
             "typo.evnt", "bad name", "search.typed", "search.typed"]
    sizes = [10, 10, 1000, 1001, 10, 10, 10, 10, 10]
    batch = batch_gate.decide_batch(names, sizes)
    assert isinstance(batch.codes, bytes) and len(batch.codes) == len(names)
    reasons = [trackgate.drop_reason_from_code(code) for code in batch.codes]
    assert reasons == [None, R.RETIRED, None, R.OVERSIZE, R.SAMPLED_OUT, R.UNREGISTERED, R.INVALID_NAME,
                       None, R.RATE_LIMITED]
    assert batch.weights == [1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    assert all(trackgate.drop_reason_code(reason) == code for reason, code in zip(reasons, batch.codes) if reason)
    report = batch_gate.take_report().report
    assert (report.offered, report.kept) == (9, 3)


def test_id_batches_mark_stale_ids(gate, publisher):
    old = gate.resolve("checkout.completed")
    gate.apply_plan(publisher.seal(plan(4, {"checkout.completed": {"priority": "P0"},
                                            "photo.uploaded": {"priority": "P1", "max_bytes": 10}})))
    gate.take_report()
    fresh, photo = gate.resolve("checkout.completed"), gate.resolve("photo.uploaded")
    batch = gate.decide_ids([fresh, old, photo, 2**64 - 1], [1, 1, 11, 1])
    assert list(batch.codes) == [0, 255, trackgate.drop_reason_code(R.OVERSIZE), 255]
    assert batch.weights == [1.0, 0.0, 0.0, 0.0]
    assert gate.take_report().report.offered == 2


def test_sizes_must_be_unsigned_64_bit(gate):
    # The generated code checks ranges before crossing; nothing reaches Rust.
    with pytest.raises((ValueError, OverflowError, TypeError)):
        gate.decide("checkout.completed", -1)
    with pytest.raises((ValueError, OverflowError, TypeError)):
        gate.decide("checkout.completed", 2**64)
    assert gate.decide("photo.uploaded", 2**64 - 1) == dropped(R.OVERSIZE)


def test_decide_many_packs_and_answers_as_decide_batch(make_options, standard_envelope, tmp_path):
    many_gate = trackgate.Gate(make_options(bundled_plan=standard_envelope))
    list_gate = trackgate.Gate(make_options(bundled_plan=standard_envelope,
                                            store_directory=str(tmp_path / "other-store")))
    names = ["checkout.completed", "legacy.banner_seen", "photo.uploaded", "photo.uploaded", "scroll.depth",
             "typo.evnt", "bad name", "", "é", "search.typed", "search.typed"] * 3
    sizes = [10, 10, 1000, 1001, 10, 10, 10, 10, 10, 10, 2**64 - 1] * 3
    many = trackgate.decide_many(many_gate, names, sizes)
    assert isinstance(many, trackgate.BatchDecisions)
    assert many == list_gate.decide_batch(names, sizes)
    assert trackgate.decide_many(many_gate, [], []) == trackgate.BatchDecisions(codes=b"", weights=[])
    many_report, list_report = many_gate.take_report().report, list_gate.take_report().report
    assert (many_report.offered, many_report.dropped, many_report.events) == \
        (list_report.offered, list_report.dropped, list_report.events)


def test_decide_ids_many_packs_and_answers_as_decide_ids(gate):
    ids = [gate.resolve("checkout.completed"), 12345, gate.resolve("legacy.banner_seen")]
    assert trackgate.decide_ids_many(gate, ids, [1, 1, 1]) == gate.decide_ids(ids, [1, 1, 1])
    assert list(trackgate.decide_ids_many(gate, ids, [1, 1, 1]).codes) == [0, 255, trackgate.drop_reason_code(R.RETIRED)]


def test_packed_helpers_refuse_like_the_list_calls(gate):
    with pytest.raises(trackgate.GateError.InvalidArgument, match="^decide_batch: 2 names but 1 sizes"):
        trackgate.decide_many(gate, ["a", "b"], [1])
    with pytest.raises(trackgate.GateError.InvalidArgument, match="^decide_ids: 1 ids but 2 sizes"):
        trackgate.decide_ids_many(gate, [1], [1, 2])
    with pytest.raises(OverflowError):
        trackgate.decide_many(gate, ["a"], [-1])
    with pytest.raises(trackgate.GateError.InvalidArgument, match="^decide_batch_packed: the name lengths add up"):
        gate.decide_batch_packed(b"abc", (1).to_bytes(4, "little"), (1).to_bytes(8, "little"))
    assert gate.take_report().report.offered == 0
