"""Fixtures for the wheel's tests: publisher keys and signed envelopes made with the real CLI.

Keys are generated per test session with `trackgate keygen` (test-only, thrown away with the
temporary directory) and envelopes are signed with `trackgate build`, so these tests exercise
the same publishing path operators use. The CLI binary comes from `TRACKGATE_CLI`, else
`target/debug/trackgate` in the repository (`bindings/python/test.sh` builds it).
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import time

import pytest

import trackgate

REPO = pathlib.Path(__file__).resolve().parents[3]
APP, ENV = "shop", "prod"
DAY = 86_400


def cli_path() -> pathlib.Path:
    path = pathlib.Path(os.environ.get("TRACKGATE_CLI", REPO / "target" / "debug" / "trackgate"))
    if not path.is_file():
        pytest.exit(f"trackgate CLI not found at {path}: run `cargo build -p trackgate-cli` or set TRACKGATE_CLI")
    return path


def run_cli(*arguments) -> str:
    completed = subprocess.run([str(cli_path()), *map(str, arguments)], capture_output=True, text=True)
    if completed.returncode != 0:
        raise AssertionError(f"trackgate {' '.join(map(str, arguments))} failed:\n{completed.stderr}")
    return completed.stdout


class Publisher:
    """A key pair from `trackgate keygen`, and `trackgate build` with it."""

    def __init__(self, directory: pathlib.Path):
        run_cli("keygen", "--out", directory)
        self.directory = directory
        self.public_hex = (directory / "public.hex").read_text().strip()
        self._count = 0

    @property
    def trusted(self) -> trackgate.TrustedKey:
        return trackgate.TrustedKey.HEX(text=self.public_hex)

    def seal(self, plan: dict, *, issued_at: int | None = None, expires: str = "30d") -> bytes:
        """Signs `plan` at its own version; issued a day ago unless told otherwise."""
        self._count += 1
        plan_path = self.directory / f"plan-{self._count}.json"
        out_path = self.directory / f"plan-{self._count}.bin"
        plan_path.write_text(json.dumps(plan))
        issued_at = int(time.time()) - DAY if issued_at is None else issued_at
        run_cli(
            "build", plan_path, "--key", self.directory / "signing.key", "--version", plan["version"],
            "--issued-at", issued_at, "--expires", expires, "--out", out_path,
        )
        return out_path.read_bytes()


def plan(version: int, events: dict, **top_level) -> dict:
    return {"schema": 1, "app": APP, "env": ENV, "version": version, **top_level, "events": events}


def standard_plan(version: int) -> dict:
    """One event per outcome a single rule gives."""
    return plan(version, {
        "checkout.completed": {"priority": "P0"},
        "legacy.banner_seen": {"priority": "P3", "status": "retired"},
        "photo.uploaded": {"priority": "P1", "max_bytes": 1000},
        "scroll.depth": {"priority": "P2", "sample": 0},
        "search.typed": {"priority": "P2", "rate_limit": {"per_second": 0.001, "burst": 1}},
    })


@pytest.fixture(scope="session")
def publisher(tmp_path_factory) -> Publisher:
    return Publisher(tmp_path_factory.mktemp("publisher"))


@pytest.fixture(scope="session")
def stranger(tmp_path_factory) -> Publisher:
    """A key pair no gate trusts."""
    return Publisher(tmp_path_factory.mktemp("stranger"))


@pytest.fixture(scope="session")
def standard_envelope(publisher) -> bytes:
    return publisher.seal(standard_plan(3))


@pytest.fixture
def make_options(publisher, tmp_path):
    """GateOptions for shop/prod trusting `publisher`, with a fresh store per test."""

    def make(**overrides) -> trackgate.GateOptions:
        fields = dict(
            app=APP, env=ENV, trusted_keys=[publisher.trusted], store_directory=str(tmp_path / "store"),
            fail_policy=trackgate.FailPolicy.KEEP_ALL, unit_id="install-1",
        )
        fields.update(overrides)
        return trackgate.GateOptions(**fields)

    return make


@pytest.fixture
def gate(make_options, standard_envelope) -> trackgate.Gate:
    """A gate running the standard plan (version 3) as its bundled plan."""
    return trackgate.Gate(make_options(bundled_plan=standard_envelope))
