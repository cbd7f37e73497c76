"""Status and apply_plan through the wheel, with envelopes signed by `trackgate build`."""

import time

import pytest

import trackgate
from conftest import DAY, plan, standard_plan

S = trackgate.PlanSource
A = trackgate.ApplyOutcome


def test_status_of_a_bundled_plan(gate):
    status = gate.status()
    now = int(time.time())
    assert (status.source, status.version, status.last_error, status.expired) == (S.BUNDLED, 3, None, False)
    assert now - DAY - 60 <= status.issued_at_unix <= now - DAY + 5
    assert DAY - 5 <= status.age_seconds <= DAY + 60
    assert status.expires_at_unix == status.issued_at_unix + 30 * DAY
    assert (status.consecutive_failures, status.last_success_unix) == (0, None)


def test_fail_policies(make_options, stranger):
    keep_all = trackgate.Gate(make_options())
    assert (keep_all.status().source, keep_all.status().version) == (S.FAIL_POLICY, 0)
    assert keep_all.decide("anything.at_all", 10**9).is_KEEP()

    # The bundled plan's signature is refused, but KeepP0Only still reads its P0 events.
    p0_only = trackgate.Gate(make_options(fail_policy=trackgate.FailPolicy.KEEP_P0_ONLY,
                                          bundled_plan=stranger.seal(standard_plan(3)),
                                          store_directory=make_options().store_directory + "-p0"))
    status = p0_only.status()
    assert status.source == S.FAIL_POLICY and "unknown key" in status.last_error
    assert p0_only.decide("checkout.completed", 1).is_KEEP()
    assert p0_only.decide("photo.uploaded", 1) == trackgate.Decision.DROP(reason=trackgate.DropReason.UNREGISTERED)


def test_apply_plan_installs_then_is_already_current_and_survives_a_restart(gate, publisher, make_options):
    envelope = publisher.seal(plan(4, {"legacy.banner_seen": {"priority": "P3"}}))
    assert gate.apply_plan(envelope) == A.INSTALLED(previous_version=3, version=4)
    assert gate.decide("legacy.banner_seen", 1).is_KEEP()
    assert (gate.status().source, gate.status().version) == (S.NETWORK, 4)
    assert gate.apply_plan(envelope) == A.ALREADY_CURRENT()
    del gate
    restarted = trackgate.Gate(make_options())
    assert (restarted.status().source, restarted.status().version) == (S.CACHE, 4)


@pytest.mark.parametrize("kind, make", [
    ("malformed", lambda publisher, stranger: b"not an envelope"),
    ("too_large", lambda publisher, stranger: bytes(8 * 1024 * 1024 + 1)),
    ("unknown_key", lambda publisher, stranger: stranger.seal(standard_plan(6))),
    ("bad_signature", lambda publisher, stranger: flip_last_byte(publisher.seal(standard_plan(6)))),
    ("wrong_scope", lambda publisher, stranger: publisher.seal({**standard_plan(6), "app": "bank"})),
    ("rollback", lambda publisher, stranger: publisher.seal(standard_plan(2))),
    ("equivocation", lambda publisher, stranger: publisher.seal(plan(3, {"other.event": {"priority": "P1"}}))),
    ("expired", lambda publisher, stranger: publisher.seal(standard_plan(6), issued_at=int(time.time()) - 40 * DAY,
                                                            expires="30d")),
    ("issued_in_future", lambda publisher, stranger: publisher.seal(standard_plan(6),
                                                                     issued_at=int(time.time()) + 10 * DAY)),
])
def test_refusals_are_outcomes_and_keep_the_plan(gate, publisher, stranger, kind, make):
    outcome = gate.apply_plan(make(publisher, stranger))
    assert isinstance(outcome, A.REFUSED), outcome
    assert outcome.kind == kind, outcome.reason
    status = gate.status()
    assert (status.source, status.version, status.last_error) == (S.BUNDLED, 3, outcome.reason)
    assert gate.decide("legacy.banner_seen", 1) == trackgate.Decision.DROP(reason=trackgate.DropReason.RETIRED)


def flip_last_byte(envelope: bytes) -> bytes:
    return envelope[:-1] + bytes([envelope[-1] ^ 1])


def test_an_unusable_store_starts_but_cannot_install(make_options, standard_envelope, publisher, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_bytes(b"x")
    gate = trackgate.Gate(make_options(store_directory=str(blocker / "store"), bundled_plan=standard_envelope))
    assert (gate.status().source, gate.status().version) == (S.BUNDLED, 3)
    assert "file/store" in gate.status().last_error
    outcome = gate.apply_plan(publisher.seal(standard_plan(4)))
    assert isinstance(outcome, A.NOT_PERSISTED) and "plan.bin" in outcome.reason
