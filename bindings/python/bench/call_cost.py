"""Per-event cost of the Python binding's decision calls, in microseconds.

Compares a plain `decide(name, size)` per event, `decide_id(id, size)` per event, the list batch
calls `decide_batch(names, sizes)` / `decide_ids(ids, sizes)`, and the packed batch helpers
`trackgate.decide_many` / `trackgate.decide_ids_many`, at several batch sizes. Each figure
is the median of RUNS runs, each deciding EVENTS events (a mix of kept, dropped and unregistered
names, so every path is exercised). The gate runs the fail policy's keep-all plan plus a plan
signed at start with the CLI (`trackgate keygen` and `build`; `TRACKGATE_CLI` or
target/debug/trackgate). The cost is dominated by the crossing, not by the rules.

    python bindings/python/bench/call_cost.py [--runs 11] [--events 20000]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import tempfile
import time

import trackgate


def median_us_per_event(run, events: int, runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter_ns()
        run()
        samples.append((time.perf_counter_ns() - started) / 1000 / events)
    return statistics.median(samples)


REPO = pathlib.Path(__file__).resolve().parents[3]
PLAN = {"schema": 1, "app": "shop", "env": "prod", "version": 1, "events": {
    "checkout.completed": {"priority": "P0"},
    "legacy.banner_seen": {"priority": "P3", "status": "retired"},
    "photo.uploaded": {"priority": "P1", "max_bytes": 500},
    "search.typed": {"priority": "P2", "sample": 0.5},
}}


def signed_plan(directory: pathlib.Path) -> tuple[str, bytes]:
    """(public key hex, envelope) of PLAN, made with the CLI."""
    cli = os.environ.get("TRACKGATE_CLI", str(REPO / "target" / "debug" / "trackgate"))
    subprocess.run([cli, "keygen", "--out", str(directory / "keys")], check=True, capture_output=True)
    (directory / "plan.json").write_text(json.dumps(PLAN))
    subprocess.run([cli, "build", str(directory / "plan.json"), "--key", str(directory / "keys" / "signing.key"),
                    "--version", "1", "--out", str(directory / "plan.bin")], check=True, capture_output=True)
    return (directory / "keys" / "public.hex").read_text().strip(), (directory / "plan.bin").read_bytes()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--events", type=int, default=20_000)
    arguments = parser.parse_args()

    with tempfile.TemporaryDirectory() as temporary:
        key, envelope = signed_plan(pathlib.Path(temporary))
        gate = trackgate.Gate(trackgate.GateOptions(
            app="shop", env="prod", trusted_keys=[trackgate.TrustedKey.HEX(text=key)],
            store_directory=str(pathlib.Path(temporary) / "store"), fail_policy=trackgate.FailPolicy.KEEP_ALL,
            unit_id="bench-unit", bundled_plan=envelope,
        ))
        registered = ["checkout.completed", "legacy.banner_seen", "photo.uploaded", "search.typed"]
        names_cycle = registered + ["typo.evnt"]
        events = arguments.events
        names = [names_cycle[index % len(names_cycle)] for index in range(events)]
        sizes = [100 + index % 900 for index in range(events)]
        id_cycle = [gate.resolve(name) for name in registered]
        ids = [id_cycle[index % len(id_cycle)] for index in range(events)]

        rows = []

        def single_names():
            decide = gate.decide
            for name, size in zip(names, sizes):
                decide(name, size)

        rows.append(("decide(name, size), one call per event", median_us_per_event(single_names, events,
                                                                                   arguments.runs)))

        def single_ids():
            decide_id = gate.decide_id
            for event_id, size in zip(ids, sizes):
                decide_id(event_id, size)

        rows.append(("decide_id(id, size), one call per event", median_us_per_event(single_ids, events,
                                                                                    arguments.runs)))
        for batch in (10, 100, 1000):
            def batched_names(batch=batch):
                for start in range(0, events, batch):
                    gate.decide_batch(names[start:start + batch], sizes[start:start + batch])

            rows.append((f"decide_batch, {batch} per call", median_us_per_event(batched_names, events,
                                                                                arguments.runs)))

            def packed_names(batch=batch):
                for start in range(0, events, batch):
                    trackgate.decide_many(gate, names[start:start + batch], sizes[start:start + batch])

            rows.append((f"trackgate.decide_many (packed), {batch} per call",
                         median_us_per_event(packed_names, events, arguments.runs)))

            def batched_ids(batch=batch):
                for start in range(0, events, batch):
                    gate.decide_ids(ids[start:start + batch], sizes[start:start + batch])

            rows.append((f"decide_ids, {batch} per call", median_us_per_event(batched_ids, events,
                                                                              arguments.runs)))

            def packed_ids(batch=batch):
                for start in range(0, events, batch):
                    trackgate.decide_ids_many(gate, ids[start:start + batch], sizes[start:start + batch])

            rows.append((f"trackgate.decide_ids_many (packed), {batch} per call",
                         median_us_per_event(packed_ids, events, arguments.runs)))
        gate.take_report()

    print(f"| call | µs per event (median of {arguments.runs} runs of {events} events) |")
    print("| --- | --- |")
    for label, cost in rows:
        print(f"| {label} | {cost:.2f} |")


if __name__ == "__main__":
    main()
