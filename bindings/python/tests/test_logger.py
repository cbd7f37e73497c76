"""`GateOptions(logger=...)`: delivery events reach a Python logger; one that raises breaks nothing."""

import trackgate

from conftest import standard_plan


class Recorder(trackgate.DeliveryLogger):
    def __init__(self):
        self.events = []

    def log(self, event):
        self.events.append(event)


class Raising(trackgate.DeliveryLogger):
    def log(self, event):
        raise RuntimeError("logger broke")


def test_start_install_and_refusal_reach_the_logger(make_options, publisher, stranger):
    recorder = Recorder()
    gate = trackgate.Gate(make_options(bundled_plan=stranger.seal(standard_plan(3)), logger=recorder))
    [started] = recorder.events
    assert isinstance(started, trackgate.DeliveryEvent.STARTED)
    assert started.source == trackgate.PlanSource.FAIL_POLICY
    assert "unknown key" in started.problem

    recorder.events.clear()
    gate.apply_plan(publisher.seal(standard_plan(4)))
    gate.apply_plan(stranger.seal(standard_plan(5)))
    installed, refused = recorder.events
    assert isinstance(installed, trackgate.DeliveryEvent.INSTALLED) and installed.version == 4
    assert isinstance(refused, trackgate.DeliveryEvent.REFUSED) and refused.kind == "unknown_key"
    assert "unknown key" in refused.reason
    assert "DeliveryEvent.REFUSED(kind='unknown_key'" in repr(refused)


def test_a_raising_logger_breaks_nothing(make_options, publisher):
    gate = trackgate.Gate(make_options(logger=Raising()))
    outcome = gate.apply_plan(publisher.seal(standard_plan(6)))
    assert isinstance(outcome, trackgate.ApplyOutcome.INSTALLED)
    assert gate.status().version == 6
