"""Plan fetches through a transport written in Python: installs, and every way a transport can
misbehave (typed errors, arbitrary exceptions, wrong return types, garbage bodies) leaving the
gate on its last good plan."""

import threading

import pytest

import trackgate
from conftest import standard_plan

URL = "https://plans.example/v1/plans/shop/prod"
F = trackgate.FetchResult


class Scripted(trackgate.HttpTransport):
    """Answers each request with the next step: a value to return, or an exception to raise."""

    def __init__(self, *steps):
        self.steps = list(steps)
        self.requests = []
        self.threads = set()

    def get(self, request):
        self.requests.append(request)
        self.threads.add(threading.get_ident())
        step = self.steps.pop(0)
        if isinstance(step, BaseException):
            raise step
        return step


def ok(body: bytes) -> trackgate.HttpResponse:
    return trackgate.HttpResponse(status=200, headers=[trackgate.HttpHeader(name="ETag", value='"e1"')], body=body)


def fetching_gate(make_options, standard_envelope, transport):
    return trackgate.Gate(make_options(bundled_plan=standard_envelope, plan_url=URL, transport=transport))


def assert_on_last_good_plan(gate):
    assert (gate.status().source, gate.status().version) == (trackgate.PlanSource.BUNDLED, 3)
    assert gate.decide("legacy.banner_seen", 1) == trackgate.Decision.DROP(reason=trackgate.DropReason.RETIRED)


def test_a_fetch_installs_a_newer_plan(make_options, standard_envelope, publisher):
    transport = Scripted(ok(publisher.seal(standard_plan(4))))
    gate = fetching_gate(make_options, standard_envelope, transport)
    assert gate.refresh_now() == F.INSTALLED(version=4)
    [request] = transport.requests
    assert request.url == URL and request.body_limit == 8 * 1024 * 1024
    assert trackgate.HttpHeader(name="Accept", value="application/vnd.trackgate.plan") in request.headers
    assert transport.threads == {threading.get_ident()}, "called on the calling thread"
    status = gate.status()
    assert (status.source, status.version, status.consecutive_failures) == (trackgate.PlanSource.NETWORK, 4, 0)
    assert isinstance(gate.refresh_now(), F.NOT_DUE), "at least a minute between requests"
    assert len(transport.requests) == 1


@pytest.mark.parametrize("step, expected", [
    (trackgate.TransportError.Timeout(reason="30 s"), "Timeout: 30 s"),
    (trackgate.TransportError.Connect(reason="refused"), "Connect: refused"),
    (ValueError("bug in the app's transport"), "unexpected exception"),
    (RuntimeError("socket exploded"), "unexpected exception"),
    (trackgate.HttpResponse(status=503, headers=[], body=b""), "HTTP 503"),
    (trackgate.HttpResponse(status=200, headers=[], body=bytes(8 * 1024 * 1024 + 1)), "more than the limit"),
])
def test_failures_back_off_on_the_last_good_plan(make_options, standard_envelope, step, expected):
    transport = Scripted(step)
    gate = fetching_gate(make_options, standard_envelope, transport)
    outcome = gate.fetch_if_due()
    assert isinstance(outcome, F.FAILED) and expected in outcome.reason, outcome
    assert_on_last_good_plan(gate)
    assert gate.status().consecutive_failures == 1 and expected in gate.status().last_error
    assert isinstance(gate.fetch_if_due(), F.NOT_DUE), "backing off"
    assert len(transport.requests) == 1


@pytest.mark.parametrize("garbage", [None, "a string", 42, b"raw bytes", {"status": 200}])
def test_a_wrong_return_type_is_a_failed_fetch(make_options, standard_envelope, garbage):
    gate = fetching_gate(make_options, standard_envelope, Scripted(garbage))
    outcome = gate.fetch_if_due()
    assert isinstance(outcome, F.FAILED), outcome
    assert_on_last_good_plan(gate)


@pytest.mark.parametrize("body", [b"", b"<html>502 Bad Gateway</html>", bytes(range(256))])
def test_garbage_bodies_are_refused(make_options, standard_envelope, body):
    gate = fetching_gate(make_options, standard_envelope, Scripted(ok(body)))
    outcome = gate.fetch_if_due()
    assert isinstance(outcome, F.REFUSED), outcome
    assert_on_last_good_plan(gate)


def test_an_older_or_foreign_plan_from_the_server_is_refused(make_options, standard_envelope, publisher, stranger):
    for index, envelope in enumerate((publisher.seal(standard_plan(2)), stranger.seal(standard_plan(9)))):
        options = make_options(bundled_plan=standard_envelope, plan_url=URL, transport=Scripted(ok(envelope)))
        options.store_directory += f"-{index}"
        gate = trackgate.Gate(options)
        assert isinstance(gate.fetch_if_due(), F.REFUSED)
        assert_on_last_good_plan(gate)


def test_the_gate_keeps_deciding_while_a_fetch_waits_on_the_network(make_options, standard_envelope, publisher):
    """The transport runs without the gate's lock: status and decisions answer meanwhile."""
    entered, release = threading.Event(), threading.Event()
    newer = publisher.seal(standard_plan(4))

    class Slow(trackgate.HttpTransport):
        def get(self, request):
            entered.set()
            assert release.wait(10)
            return ok(newer)

    gate = fetching_gate(make_options, standard_envelope, Slow())
    results = []
    fetcher = threading.Thread(target=lambda: results.append(gate.fetch_if_due()))
    fetcher.start()
    assert entered.wait(10)
    assert gate.status().version == 3
    assert gate.decide("checkout.completed", 1).is_KEEP()
    assert isinstance(gate.fetch_if_due(), F.NOT_DUE), "single flight"
    release.set()
    fetcher.join(10)
    assert results == [F.INSTALLED(version=4)]
