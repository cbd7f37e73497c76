"""Strict start (`GateOptions(strict=True)`): the usual misconfigurations fail `Gate(...)` with
a typed error naming the cause; without it (production) the gate starts on the fail policy and
the cause is only in `status().last_error`."""

import pytest

import trackgate

from conftest import standard_plan

E = trackgate.GateError


def test_plan_json_as_the_bundled_plan_names_bad_magic(make_options):
    plan_json = b'{"schema": 1, "app": "shop", "env": "prod", "version": 3, "events": {}}'
    with pytest.raises(E.BundledPlanRefused) as raised:
        trackgate.Gate(make_options(bundled_plan=plan_json, strict=True))
    message = str(raised.value)
    assert message.startswith("Gate(options): GateOptions.bundled_plan refused (malformed): ")
    assert "bad magic" in message
    assert "these bytes are plan JSON" in message
    # Production default: the same options start, on the fail policy, with the cause in the status.
    gate = trackgate.Gate(make_options(bundled_plan=plan_json))
    assert gate.status().source == trackgate.PlanSource.FAIL_POLICY
    assert "bad magic" in gate.status().last_error


def test_a_key_from_another_keypair_names_the_unknown_key(make_options, stranger):
    with pytest.raises(E.BundledPlanRefused, match=r"refused \(unknown_key\): .* is by unknown key [0-9a-f]{16}"):
        trackgate.Gate(make_options(bundled_plan=stranger.seal(standard_plan(3)), strict=True))


def test_a_wrong_app_names_the_scope(make_options, standard_envelope):
    with pytest.raises(E.BundledPlanRefused, match=r"\(wrong_scope\): .*plan is for shop/prod, this device runs shopp/prod"):
        trackgate.Gate(make_options(app="shopp", bundled_plan=standard_envelope, strict=True))


def test_an_unusable_store_is_a_store_problem(make_options, standard_envelope, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file")
    with pytest.raises(E.StoreProblem, match=r"^Gate\(options\): GateOptions.store_directory: "):
        trackgate.Gate(make_options(store_directory=str(blocker), bundled_plan=standard_envelope, strict=True))


def test_a_good_configuration_starts_strictly(make_options, standard_envelope):
    gate = trackgate.Gate(make_options(bundled_plan=standard_envelope, strict=True))
    assert (gate.status().source, gate.status().version) == (trackgate.PlanSource.BUNDLED, 3)
