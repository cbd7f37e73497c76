"""Spark parity: `trackgate export spark` on a real Spark keeps exactly what `trackgate filter` keeps.

One deterministic file of 1,000,000 NDJSON events (``generate_events.py``: every rule of
``parity_plan.json``, unregistered and invalid names, escaped, non-ASCII, empty, missing, null and
integer unit ids, malformed lines) is filtered by the ``trackgate`` binary (the core engine) and,
through the exported SQL, by PySpark in local mode. The kept event ids, their priority and
weight must match row for row; the drop counts per reason must match the filter's stats; and the
sampling decisions are recomputed independently with the Python reference of the sampling spec
(``tests/python``). The PySpark module (``--pyspark``) must give the same rows as the SQL.

Spark reads the file as text, one row per line, and extracts members with ``get_json_object``
(which unescapes strings and gives integers as their text, as the filter does); the size is the
line's ``octet_length``, the filter's default ``--size-from line``.

Needs Java 17+ and ``pip install -r tests/spark/requirements.txt``. Uses the binary in
``$TRACKGATE_BIN`` or builds ``target/debug/trackgate``. About 1 to 2 minutes on 2 cores.

    python -m pytest tests/spark -q
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PLAN = HERE / "parity_plan.json"
EVENT_COUNT = int(os.environ.get("TRACKGATE_PARITY_EVENTS", "1000000"))
SEED = 7

sys.path.insert(0, str(HERE))
import generate_events  # noqa: E402


def load_sampling_reference():
    """The independent Python implementation of the sampling spec, from tests/python."""
    path = ROOT / "tests" / "python" / "test_sampling_vectors.py"
    spec = importlib.util.spec_from_file_location("sampling_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def trackgate_binary() -> str:
    if os.environ.get("TRACKGATE_BIN"):
        return os.environ["TRACKGATE_BIN"]
    # The workspace's feature set, which `cargo test --workspace` already built.
    subprocess.run(["cargo", "build", "-q", "--workspace", "--bins"], cwd=ROOT, check=True)
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    return str(target / "debug" / "trackgate")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    directory = tmp_path_factory.mktemp("spark_parity")
    events = directory / "events.ndjson"
    generate_events.write_events(str(events), EVENT_COUNT, SEED)
    binary = trackgate_binary()
    kept = directory / "kept.ndjson"
    stats = directory / "stats.json"
    subprocess.run(
        [binary, "filter", "--plan", str(PLAN), "--stats", str(stats), "--malformed-listed", "100000",
         "--threads", "2", str(events), str(kept)],
        check=True,
    )
    sql = subprocess.run(
        [binary, "export", "spark", "--plan", str(PLAN)], check=True, capture_output=True, text=True
    ).stdout
    sql_all = subprocess.run(
        [binary, "export", "spark", "--plan", str(PLAN), "--select", "all"], check=True, capture_output=True, text=True
    ).stdout
    module = directory / "trackgate_plan.py"
    subprocess.run([binary, "export", "spark", "--plan", str(PLAN), "--pyspark", "-o", str(module)], check=True)
    return {
        "events": events,
        "kept": kept,
        "stats": json.loads(stats.read_text()),
        "sql": sql,
        "sql_all": sql_all,
        "module": module,
    }


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("trackgate-parity")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.memory", "2g")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def events_view(spark, workspace):
    from pyspark.sql import functions as F

    lines = spark.read.text(str(workspace["events"]))
    events = lines.select(
        F.get_json_object("value", "$.event_id").cast("long").alias("event_id"),
        F.get_json_object("value", "$.event").alias("event"),
        F.get_json_object("value", "$.unit_id").alias("unit_id"),
        F.octet_length("value").alias("size_bytes"),
    ).cache()
    events.createOrReplaceTempView("events")
    assert events.count() == EVENT_COUNT
    return events


def filter_kept(workspace) -> list[tuple[int, str | None, float]]:
    kept = []
    with open(workspace["kept"], encoding="utf-8") as lines:
        for line in lines:
            event = json.loads(line)
            kept.append((event["event_id"], event["_tg_priority"], event.get("_tg_weight", 1.0)))
    kept.sort()
    return kept


def spark_kept(dataframe) -> list[tuple[int, str | None, float]]:
    rows = dataframe.select("event_id", "_tg_priority", "_tg_weight").collect()
    return sorted((row.event_id, row._tg_priority, row._tg_weight) for row in rows)


def test_spark_keeps_exactly_what_the_filter_keeps(spark, workspace, events_view):
    from_filter = filter_kept(workspace)
    from_spark = spark_kept(spark.sql(workspace["sql"]))
    assert len(from_filter) > EVENT_COUNT // 5, "the mix should keep a good share"
    assert len(from_spark) == len(from_filter)
    first_difference = next((pair for pair in zip(from_filter, from_spark) if pair[0] != pair[1]), None)
    assert first_difference is None, f"filter vs Spark: {first_difference}"
    # Every priority and several distinct weights took part.
    assert {priority for _, priority, _ in from_filter} == {"P0", "P1", "P2"}
    assert len({weight for _, _, weight in from_filter}) >= 5


def test_drop_reasons_match_the_filter_stats(spark, workspace, events_view):
    stats = workspace["stats"]
    # Lines the filter found malformed have no event_id; Spark reads them as rows with NULLs.
    counts = dict(
        spark.sql(workspace["sql_all"])
        .where("event_id IS NOT NULL")
        .groupBy("_tg_drop_reason")
        .count()
        .collect()
    )
    kept = counts.pop(None, 0)
    assert kept == stats["kept"]
    expected = {reason: count for reason, count in stats["dropped"].items() if count}
    assert counts == expected
    assert set(expected) == {"invalid_name", "unregistered", "retired", "shed", "oversize", "sampled_out"}
    assert stats["malformed"]["count"] > 0
    assert stats["offered"] + stats["malformed"]["count"] == EVENT_COUNT


def test_sampling_matches_the_python_reference(workspace):
    reference = load_sampling_reference()
    plan = json.loads(PLAN.read_text(encoding="utf-8"))
    kept_ids = {event_id for event_id, _, _ in filter_kept(workspace)}
    default_cap = plan["defaults"]["max_bytes"]
    checked = Counter()
    with open(workspace["events"], "rb") as lines:
        for raw in lines:
            line = raw.rstrip(b"\n")
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if not isinstance(event, dict) or not isinstance(event.get("event"), str):
                continue  # malformed for the filter
            rule = plan["events"].get(event.get("event"))
            if "event_id" not in event or rule is None or "sample" not in rule or rule["priority"] == "P3":
                continue
            if len(line) > rule.get("max_bytes", default_cap):
                continue
            unit = event.get("unit_id")
            unit = "" if unit is None else str(unit)
            salt = rule.get("salt", plan["sampling_salt"])
            rate_ppm = round(rule["sample"] * 1_000_000)
            expected = reference.keep_of(reference.rv_of(salt, unit), rate_ppm)
            assert (event["event_id"] in kept_ids) == expected, (event["event_id"], salt, unit, rate_ppm)
            checked[expected] += 1
    assert checked[True] > 10_000 and checked[False] > 10_000, checked


def test_pyspark_module_gives_the_same_rows(spark, workspace, events_view):
    spec = importlib.util.spec_from_file_location("trackgate_plan", workspace["module"])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.TRACKGATE_PLAN_VERSION == 7
    from_module = module.apply_trackgate_plan(spark, events_view)
    from_sql = spark.sql(workspace["sql"])
    assert from_module.exceptAll(from_sql).count() == 0
    assert from_sql.exceptAll(from_module).count() == 0


def test_a_plan_keeping_unregistered_names_also_matches(spark, workspace, events_view, tmp_path):
    """Kept names outside the plan get a NULL priority on both sides, and no size cap."""
    plan = json.loads(PLAN.read_text(encoding="utf-8"))
    plan["unregistered"] = "keep"
    plan["version"] = 8
    variant = tmp_path / "keep_unregistered.json"
    variant.write_text(json.dumps(plan, ensure_ascii=False), encoding="utf-8")
    binary = trackgate_binary()
    kept = tmp_path / "kept.ndjson"
    subprocess.run([binary, "filter", "--plan", str(variant), str(workspace["events"]), str(kept)], check=True)
    sql = subprocess.run(
        [binary, "export", "spark", "--plan", str(variant)], check=True, capture_output=True, text=True
    ).stdout
    from_filter = filter_kept({"kept": kept})
    # `{"event":42}` (no event_id) is malformed for the filter but the valid name "42" for Spark
    # (docs/etl.md); every other line agrees, so compare rows that have an id.
    from_spark = spark_kept(spark.sql(sql).where("event_id IS NOT NULL"))
    assert any(priority is None for _, priority, _ in from_filter), "unregistered names were kept"
    assert from_spark == from_filter
