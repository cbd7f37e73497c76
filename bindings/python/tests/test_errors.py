"""Typed exceptions: one class per GateError variant, messages naming the call and argument."""

import pytest

import trackgate

E = trackgate.GateError


class NeverCalled(trackgate.HttpTransport):
    def get(self, request):
        raise AssertionError("no request expected")


def test_the_classes_form_one_hierarchy():
    for variant in (E.InvalidOptions, E.InvalidArgument, E.InvalidName, E.Unregistered, E.StaleEventId,
                    E.NoTransport, E.BundledPlanRefused, E.StoreProblem):
        assert issubclass(variant, E) and issubclass(variant, Exception)


@pytest.mark.parametrize("key, message", [
    (trackgate.TrustedKey.HEX(text="zz" * 32), "GateOptions.trusted_keys[1]: key text is not hexadecimal"),
    (trackgate.TrustedKey.HEX(text="ab"), "GateOptions.trusted_keys[1]: a public key is 32 bytes"),
    (trackgate.TrustedKey.RAW(bytes=b"\x07" * 31), "got 31 bytes"),
    (trackgate.TrustedKey.RAW(bytes=b"\x01" + b"\x00" * 31), "not a valid Ed25519 public key"),
])
def test_unusable_keys(make_options, publisher, key, message):
    with pytest.raises(E.InvalidOptions, match=message.replace("[", r"\[").replace("]", r"\]")):
        trackgate.Gate(make_options(trusted_keys=[publisher.trusted, key]))


def test_other_unusable_options(make_options):
    with pytest.raises(E.InvalidOptions, match="no key given"):
        trackgate.Gate(make_options(trusted_keys=[]))
    with pytest.raises(E.InvalidOptions, match=r"GateOptions.app/env"):
        trackgate.Gate(make_options(app="my app"))
    with pytest.raises(E.InvalidOptions, match="GateOptions.unit_id: unit id must be 1 to 4096 bytes"):
        trackgate.Gate(make_options(unit_id=""))
    with pytest.raises(E.InvalidOptions, match="GateOptions.plan_url: required when a transport is given"):
        trackgate.Gate(make_options(transport=NeverCalled()))


def test_resolve_errors(gate):
    with pytest.raises(E.Unregistered) as raised:
        gate.resolve("typo.evnt")
    assert str(raised.value) == 'resolve("typo.evnt"): event is not registered in the active plan'
    with pytest.raises(E.InvalidName, match=r'^resolve\("bad name"\): invalid event name: .* at byte 3$'):
        gate.resolve("bad name")
    with pytest.raises(E.InvalidName) as raised:
        gate.resolve("n" * 100_000)
    assert len(str(raised.value)) < 250


def test_stale_ids_and_unit_ids(gate):
    with pytest.raises(E.StaleEventId, match=r"^decide_id\(0x0\): "):
        gate.decide_id(0, 1)
    with pytest.raises(E.InvalidArgument, match="^set_unit_id: unit id must be 1 to 4096 bytes long, got 0 bytes$"):
        gate.set_unit_id("")
    with pytest.raises(E.InvalidArgument, match="got 4097 bytes"):
        gate.set_unit_id("u" * 4097)
    assert gate.unit_id() == "install-1"


def test_batch_lengths(gate):
    with pytest.raises(E.InvalidArgument, match="^decide_batch: 2 names but 1 sizes"):
        gate.decide_batch(["a", "b"], [1])
    with pytest.raises(E.InvalidArgument, match="^decide_ids: 1 ids but 0 sizes"):
        gate.decide_ids([1], [])
    assert gate.take_report().report.offered == 0


def test_fetch_calls_without_a_transport(gate):
    for call in ("fetch_if_due", "refresh_now", "on_foreground"):
        with pytest.raises(E.NoTransport, match=f"^{call}: no transport configured"):
            getattr(gate, call)()


def test_wrong_argument_types_are_refused_before_crossing(gate):
    with pytest.raises(TypeError):
        gate.decide(b"checkout.completed", 1)
    with pytest.raises(TypeError):
        gate.decide_batch(["checkout.completed"], ["1"])
    assert gate.decide("checkout.completed", 1).is_KEEP()
