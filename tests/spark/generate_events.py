"""Deterministic NDJSON analytics events for the server-side parity test and the filter benchmark.

Every line is about 300 bytes: a numeric ``event_id`` (its line number, so kept sets compare by
id), ``event``, ``unit_id``, a timestamp, app and device context, properties and padding. The
mix deliberately covers what the filter and the Spark export must agree on
(``tests/spark/parity_plan.json``): every rule of the plan (retired, shed, oversize, sampled at
several rates and salts), unregistered and invalid names (spaces, non-ASCII, empty, too long,
missing, null), names and unit ids written with JSON escapes, non-ASCII, empty, missing, null
and integer unit ids, and a few malformed lines.

The same ``--seed`` and ``--count`` always give the same bytes (``random.Random`` is seeded and
its algorithm is stable across Python versions).

    python tests/spark/generate_events.py --count 1000000 --seed 7 events.ndjson
"""

from __future__ import annotations

import argparse
import json
import random
import sys

REGISTERED = [
    ("checkout.completed", 3),
    ("cart.item_added", 6),
    ("search.results_viewed", 14),
    ("search.query_typed", 10),
    ("feed.scrolled", 14),
    ("feed.item_seen", 8),
    ("ads.rare_probe", 3),
    ("ads.never", 2),
    ("app.heartbeat", 8),
    ("legacy.banner_impression", 5),
    ("profile.viewed", 5),
]
UNREGISTERED = ["promo.clicked", "debug.trace_1", "checkout.Completed", "x"]
# Written raw into the JSON text (already escaped where needed).
INVALID_NAME_TEXTS = [
    '"bad name"',
    '"café.view"',
    '""',
    '"' + "n" * 129 + '"',
    '"tab\\tname"',
    '"slash/name"',
    "null",
]
ESCAPED_REGISTERED = '"checkout\\u002ecompleted"'  # reads as checkout.completed
MALFORMED = [
    '{"event":"checkout.completed","unit_id":"u-1"',
    "[1,2,3]",
    "not json at all",
    '{"event":"cart.item_added",,"unit_id":"u-2"}',
    '{"event":42,"unit_id":"u-3"}',
]
UNIT_POOL_SIZE = 50_000
SCREENS = ["home", "search", "product", "cart", "checkout", "profile", "feed"]
OS_NAMES = ["android", "ios"]


def unit_text(rng: random.Random, index: int) -> str | None:
    """The JSON text of a unit id member's value, or None to leave the member out."""
    roll = rng.random()
    if roll < 0.01:
        return None
    if roll < 0.02:
        return "null"
    if roll < 0.03:
        return '""'
    if roll < 0.04:
        return str(rng.randrange(1, 10_000_000))
    if roll < 0.07:
        return json.dumps(f"ユーザー-{index}", ensure_ascii=False)
    if roll < 0.08:
        return json.dumps(f"émoji-🚀-{index}", ensure_ascii=True)  # \u escapes and surrogate pairs
    if roll < 0.09:
        return json.dumps(f"e\u0301-{index}", ensure_ascii=False)  # NFD, hashed as given
    return f'"install-{index:08x}-{index * 7919 % 65536:04x}"'


def name_text(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.04:
        return json.dumps(rng.choice(UNREGISTERED))
    if roll < 0.07:
        return rng.choice(INVALID_NAME_TEXTS)
    if roll < 0.075:
        return ESCAPED_REGISTERED
    names, weights = zip(*REGISTERED)
    return json.dumps(rng.choices(names, weights)[0])


def pad_length(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.01:
        return rng.randrange(700, 900)  # around checkout's 1000-byte cap
    return rng.randrange(0, 60)  # lines of about 270 to 350 bytes: around the 300 and 330 caps


def event_line(rng: random.Random, event_id: int) -> str:
    if rng.random() < 0.0002:
        return rng.choice(MALFORMED)
    members = [f'"event_id":{event_id}']
    name = name_text(rng)
    if name != "null" or rng.random() < 0.5:
        members.append(f'"event":{name}')
    unit = unit_text(rng, rng.randrange(UNIT_POOL_SIZE))
    if unit is not None:
        members.append(f'"unit_id":{unit}')
    seconds = 1_793_000_000 + event_id // 10
    members.append(f'"ts":{seconds}{event_id % 1000:03d}')
    members.append(f'"app":{{"version":"5.{rng.randrange(20)}.{rng.randrange(10)}","build":{rng.randrange(90000)}}}')
    members.append(f'"device":{{"os":"{rng.choice(OS_NAMES)}","model":"m{rng.randrange(500)}"}}')
    members.append(
        f'"props":{{"screen":"{rng.choice(SCREENS)}","item_id":"sku-{rng.randrange(100000)}",'
        f'"price":{rng.randrange(100, 99999) / 100},"tags":["a","b"]}}'
    )
    members.append(f'"pad":"{"x" * pad_length(rng)}"')
    return "{" + ",".join(members) + "}"


def write_events(path: str, count: int, seed: int) -> None:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8", newline="\n") as output:
        for event_id in range(1, count + 1):
            output.write(event_line(rng, event_id))
            output.write("\n")


def main(arguments: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1_000_000, help="events to write")
    parser.add_argument("--seed", type=int, default=7, help="seed of the event mix")
    parser.add_argument("output", help="the NDJSON file to write")
    options = parser.parse_args(arguments)
    write_events(options.output, options.count, options.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
