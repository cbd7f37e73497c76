"""The shared sampling vectors (tests/vectors/sampling.json) through the wheel: the exported
functions for every case, and a gate with a signed plan deciding every case whose unit id a gate
accepts (1 to 4096 bytes)."""

import json
from collections import defaultdict

import pytest

import trackgate
from conftest import REPO, plan

VECTORS = json.loads((REPO / "tests" / "vectors" / "sampling.json").read_text(encoding="utf-8"))


def test_the_vectors_are_the_spec_and_plenty():
    assert VECTORS["spec"] == "trackgate-sampling-v1"
    assert len(VECTORS["cases"]) >= 2000


def test_the_exported_functions_match_every_case():
    for case in VECTORS["cases"]:
        value = trackgate.sampling_random_value(case["salt"], case["unit_id"])
        assert f"{value:016x}" == case["rv"], case
        assert trackgate.sampling_is_kept(value, case["rate_ppm"]) == case["keep"], case


@pytest.fixture(scope="module")
def vector_plan(publisher):
    """One event per (salt, rate) pair, in one signed plan."""
    names = {}
    for case in VECTORS["cases"]:
        names.setdefault((case["salt"], case["rate_ppm"]), f"v.{len(names)}")
    # A rate of at most six decimals survives a float exactly: json.dumps writes the shortest text
    # that reads back as the same double, which is the decimal itself (or its exact 1e-06 form).
    events = {name: {"priority": "P2", "sample": rate / 1_000_000, "salt": salt}
              for (salt, rate), name in names.items()}
    return names, publisher.seal(plan(1, events))


def test_a_gate_decides_every_case_like_the_spec(vector_plan, make_options):
    names, envelope = vector_plan
    gate = trackgate.Gate(make_options(bundled_plan=envelope))
    assert gate.status().version == 1
    by_unit = defaultdict(list)
    for case in VECTORS["cases"]:
        if case["unit_id"]:
            by_unit[case["unit_id"]].append(case)
    checked = 0
    for unit_id, cases in by_unit.items():
        gate.set_unit_id(unit_id)
        batch = gate.decide_batch([names[(case["salt"], case["rate_ppm"])] for case in cases], [1] * len(cases))
        for case, code in zip(cases, batch.codes):
            expected = 0 if case["keep"] else trackgate.drop_reason_code(trackgate.DropReason.SAMPLED_OUT)
            assert code == expected, (unit_id, case)
            checked += 1
    assert checked >= 2000
