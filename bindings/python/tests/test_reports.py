"""Reports through the wheel: the record, and the JSON that devices upload."""

import json
import time

import trackgate
from conftest import APP, ENV, plan

R = trackgate.DropReason


def test_counts_json_and_windows(gate):
    started_ms = int(time.time() * 1000)
    for _ in range(3):
        gate.decide("checkout.completed", 100)
    gate.decide("legacy.banner_seen", 40)
    gate.decide("photo.uploaded", 5000)
    gate.decide("typo.evnt", 7)
    gate.decide("typo.evnt", 7)
    gate.decide("bad name", 1)
    gate.decide_batch(["checkout.completed", "scroll.depth"], [100, 3])

    taken = gate.take_report()
    report = taken.report
    assert (report.app, report.env, report.plan_version, report.shadow) == (APP, ENV, 3, False)
    assert (report.offered, report.kept, report.kept_bytes) == (10, 4, 400)
    assert report.dropped == trackgate.ReasonCounts(disabled=0, invalid_name=1, unregistered=2, retired=1, shed=0,
                                                    oversize=1, sampled_out=1, rate_limited=0)
    assert report.dropped_bytes == 40 + 5000 + 14 + 1 + 3
    assert started_ms - 60_000 <= report.window_start_unix_ms <= report.window_end_unix_ms
    checkout = next(event for event in report.events if event.name == "checkout.completed")
    assert (checkout.kept, checkout.kept_weighted, checkout.priority) == (4, 4.0, trackgate.Priority.P0)
    [typo] = report.unregistered
    assert (typo.name, typo.dropped, typo.bytes) == ("typo.evnt", 2, 14)

    uploaded = json.loads(taken.json)
    assert uploaded["offered"] == 10 and uploaded["kept"] == 4
    assert uploaded["dropped"] == {"disabled": 0, "invalid_name": 1, "unregistered": 2, "retired": 1, "shed": 0,
                                   "oversize": 1, "sampled_out": 1, "rate_limited": 0}
    assert uploaded["events"][0]["name"] == "checkout.completed" and uploaded["events"][0]["priority"] == "P0"
    assert uploaded["window_end_unix_ms"] == report.window_end_unix_ms

    following = gate.take_report().report
    assert (following.offered, following.events, following.unregistered) == (0, [], [])
    assert following.window_start_unix_ms == report.window_end_unix_ms


def test_shadow_plans_count_would_be_drops(publisher, make_options):
    envelope = publisher.seal(plan(3, {"legacy.banner_seen": {"priority": "P3", "status": "retired"}}, shadow=True))
    gate = trackgate.Gate(make_options(bundled_plan=envelope))
    assert gate.decide("legacy.banner_seen", 1).is_KEEP()
    assert gate.decide("typo.evnt", 1).is_KEEP()
    report = gate.take_report().report
    assert report.shadow and (report.offered, report.kept) == (2, 2)
    assert (report.shadow_dropped.retired, report.shadow_dropped.unregistered) == (1, 1)
