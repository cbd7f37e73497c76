#!/usr/bin/env python3
"""Checks what one demo app sent to the collector against the scenario mobile-demo/run.sh plays.

    check_collected.py --platform NAME --collected FILE --protocol FILE --relaunch FILE

The scenario (plans in mobile-demo/plans/): v1 normal; v2 retires product.viewed and samples
screen.viewed at 0.25; v3 turns the kill switch on; v4 turns it off again (rules of v2). The app
ran one phase per version with --step, then was launched again for one phase on the same store.

Checks, each printed; exit 1 with every failure named if any fails:
- the protocol: phase k ran with plan version k fetched from the network; the relaunch kept the
  install id and started from the cached v4;
- every collected line is JSON; events carry this platform, the install id, a weight and the plan
  version; one drop report per phase (and one for the relaunch);
- exact reconciliation: per plan version, the event lines equal the reports' `kept`, and the
  reports' `offered` equal what the app printed;
- retirement: product.viewed leaves under v1 and never under v2 or later, where the reports count
  every occurrence as retired;
- rate change: under v2 and v4 each kept screen.viewed weighs 4.0, and the reports account for
  every occurrence as kept or sampled out (which of the two depends on the install id);
- kill switch: under v3 nothing but the report arrives, and it counts every event as disabled;
- after the kill switch, events arrive again.
"""

import argparse
import json
import sys
from collections import defaultdict

REASONS = ("disabled", "invalid_name", "unregistered", "retired", "shed", "oversize", "sampled_out", "rate_limited")


def parse_protocol(path):
    """PLAN/PHASE/DONE lines of one run, as dicts of their key=value fields."""
    plans, phases, done = {}, {}, None
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            words = line.split()
            if not words:
                continue
            fields = dict(word.split("=", 1) for word in words[1:] if "=" in word)
            if words[0] == "PLAN":
                plans[int(words[1])] = fields
            elif words[0] == "PHASE":
                phases[int(words[1])] = fields
            elif words[0] == "DONE":
                done = fields
    return plans, phases, done


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--platform", required=True)
    parser.add_argument("--collected", required=True)
    parser.add_argument("--protocol", required=True)
    parser.add_argument("--relaunch", required=True)
    args = parser.parse_args()

    failures = []

    def check(condition, what):
        print(f"  {'ok  ' if condition else 'FAIL'} {what}")
        if not condition:
            failures.append(what)

    plans, phases, done = parse_protocol(args.protocol)
    relaunch_plans, relaunch_phases, relaunch_done = parse_protocol(args.relaunch)

    for phase in (1, 2, 3, 4):
        plan = plans.get(phase, {})
        check(
            plan.get("version") == str(phase) and plan.get("source") == "network"
            and plan.get("fetch") == f"installed:{phase}",
            f"phase {phase} ran with plan v{phase}, installed from the network ({plan or 'no PLAN line'})",
        )
    check(done is not None and done.get("phases") == "4", f"the session finished ({done})")
    install_id = (done or {}).get("install_id")
    check(
        relaunch_plans.get(1, {}).get("version") == "4" and relaunch_plans.get(1, {}).get("source") == "cache",
        f"the relaunch started from the cached v4 ({relaunch_plans.get(1)})",
    )
    check(
        relaunch_done is not None and relaunch_done.get("install_id") == install_id,
        f"the relaunch kept the install id {install_id} ({relaunch_done})",
    )

    events, reports, bad_lines = [], [], []
    with open(args.collected, encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            try:
                item = json.loads(line)
            except json.JSONDecodeError as error:
                bad_lines.append(f"line {number}: {error}")
                continue
            (reports if "window_start_unix_ms" in item else events).append(item)
    check(not bad_lines, f"every collected line is JSON {bad_lines[:3]}")
    check(
        all(e.get("platform") == args.platform and e.get("install_id") == install_id for e in events),
        f"all {len(events)} events come from this {args.platform} install",
    )
    check(
        all(isinstance(e.get("weight"), (int, float)) and isinstance(e.get("plan_version"), int) for e in events),
        "every event carries its sampling weight and plan version",
    )
    check(len(reports) == 5, f"one drop report per phase and one for the relaunch ({len(reports)})")

    events_by_version = defaultdict(list)
    for event in events:
        events_by_version[event["plan_version"]].append(event)
    reports_by_version = defaultdict(list)
    for report in reports:
        reports_by_version[report["plan_version"]].append(report)

    for version in sorted(set(events_by_version) | set(reports_by_version)):
        kept = sum(r["kept"] for r in reports_by_version[version])
        check(len(events_by_version[version]) == kept,
              f"v{version}: {len(events_by_version[version])} event lines, reports say {kept} kept")
        for report in reports_by_version[version]:
            dropped = sum(report["dropped"][reason] for reason in REASONS)
            check(report["offered"] == report["kept"] + dropped,
                  f"v{version} report: offered {report['offered']} = kept + dropped")
    offered_printed = sorted(int(p["offered"]) for p in list(phases.values()) + list(relaunch_phases.values()))
    offered_reported = sorted(r["offered"] for r in reports)
    check(offered_printed == offered_reported,
          f"reports' offered {offered_reported} match what the app printed {offered_printed}")
    kept_printed = sum(int(p["kept"]) for p in list(phases.values()) + list(relaunch_phases.values()))
    check(kept_printed == len(events), f"the app printed {kept_printed} kept, the collector has {len(events)}")

    def named(version, name):
        return [e for e in events_by_version[version] if e["event"] == name]

    def event_report(version, name):
        counts = {"kept": 0, "kept_weighted": 0.0, "offered": 0, **{reason: 0 for reason in REASONS}}
        for report in reports_by_version[version]:
            for entry in report["events"]:
                if entry["name"] == name:
                    counts["kept"] += entry["kept"]
                    counts["kept_weighted"] += entry["kept_weighted"]
                    for reason in REASONS:
                        counts[reason] += entry["dropped"][reason]
        counts["offered"] = counts["kept"] + sum(counts[reason] for reason in REASONS)
        return counts

    check(len(named(1, "product.viewed")) > 0, f"v1: product.viewed leaves ({len(named(1, 'product.viewed'))})")
    for version in (2, 3, 4):
        check(not named(version, "product.viewed"), f"v{version}: product.viewed no longer leaves")
    for version in (2, 4):
        retired = event_report(version, "product.viewed")
        check(retired["offered"] > 0 and retired["retired"] == retired["offered"],
              f"v{version}: every product.viewed counted as retired ({retired['retired']} of {retired['offered']})")
        screens = event_report(version, "screen.viewed")
        weights = {e["weight"] for e in named(version, "screen.viewed")}
        check(weights <= {4.0}, f"v{version}: kept screen.viewed weigh 4.0 (sampled at 0.25) {sorted(weights)}")
        check(screens["offered"] > 0 and screens["kept"] + screens["sampled_out"] == screens["offered"]
              and screens["kept_weighted"] == 4.0 * screens["kept"],
              f"v{version}: screen.viewed {screens['kept']} kept + {screens['sampled_out']} sampled out"
              f" = {screens['offered']} offered")

    check(not events_by_version[3], f"v3 (kill switch): no event leaves ({len(events_by_version[3])})")
    kill = reports_by_version[3]
    check(len(kill) == 1 and kill[0]["kept"] == 0 and kill[0]["offered"] > 0
          and kill[0]["dropped"]["disabled"] == kill[0]["offered"],
          "v3 (kill switch): the report counts every event as disabled")
    check(len(events_by_version[4]) > 0, f"v4 (kill switch off): events leave again ({len(events_by_version[4])})")

    if failures:
        print(f"{args.platform}: {len(failures)} check(s) failed", file=sys.stderr)
        return 1
    print(f"{args.platform}: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
