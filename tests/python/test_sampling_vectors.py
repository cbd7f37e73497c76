"""Independent check of the trackgate-sampling-v1 test vectors.

Spec: docs/spec-sampling.md. Vectors: tests/vectors/sampling.json.

Every case is recomputed here with `xxhash.xxh64_intdigest` (not the
generator's code path) and, additionally, with a from-scratch pure-Python
XXH64 so that the vectors do not depend on the xxhash package alone.

Run from anywhere:  python -m pytest tests/python -q
"""

from __future__ import annotations

import copy
import importlib.util
import json
import re
import struct
import unicodedata
from collections import defaultdict
from pathlib import Path

import pytest
import xxhash

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
VECTORS = ROOT / "tests" / "vectors" / "sampling.json"
GENERATOR = ROOT / "tests" / "vectors" / "generate_sampling.py"

SPEC_ID = "trackgate-sampling-v1"
TWO_56 = 1 << 56
MASK_56 = TWO_56 - 1
PPM = 1_000_000
REQUIRED_RATES = [0, 1, 2, 100, 1000, 10000, 100000, 250000, 500000, 750000, 999999, 1000000]


# --------------------------------------------------------------------------
# Independent implementation (xxhash package, one-shot intdigest API)
# --------------------------------------------------------------------------

def rv_of(salt: str, unit_id: str) -> int:
    seed = xxhash.xxh64_intdigest(salt.encode("utf-8"), 42)
    return xxhash.xxh64_intdigest(unit_id.encode("utf-8"), seed) & MASK_56


def T_of(rate_ppm: int) -> int:
    assert 0 <= rate_ppm <= PPM
    return (rate_ppm << 56) // PPM


def keep_of(rv: int, rate_ppm: int) -> bool:
    return rv >= TWO_56 - T_of(rate_ppm)


def weight_of(rate_ppm: int) -> float:
    t = T_of(rate_ppm)
    return TWO_56 / t if t else 0.0  # rate 0 keeps nothing; the core reports 0.0


# --------------------------------------------------------------------------
# Pure-Python XXH64 (reference, from the xxHash specification)
# --------------------------------------------------------------------------

_M64 = (1 << 64) - 1
_P1 = 11400714785074694791
_P2 = 14029467366897019727
_P3 = 1609587929392839161
_P4 = 9650029242287828579
_P5 = 2870177450012600261


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (64 - r))) & _M64


def _round(acc: int, lane: int) -> int:
    acc = (acc + lane * _P2) & _M64
    return (_rotl(acc, 31) * _P1) & _M64


def _merge(acc: int, val: int) -> int:
    acc ^= _round(0, val)
    return (acc * _P1 + _P4) & _M64


def py_xxh64(data: bytes, seed: int) -> int:
    n = len(data)
    i = 0
    if n >= 32:
        v1 = (seed + _P1 + _P2) & _M64
        v2 = (seed + _P2) & _M64
        v3 = seed & _M64
        v4 = (seed - _P1) & _M64
        while i + 32 <= n:
            a, b, c, d = struct.unpack_from("<4Q", data, i)
            v1, v2, v3, v4 = _round(v1, a), _round(v2, b), _round(v3, c), _round(v4, d)
            i += 32
        h = (_rotl(v1, 1) + _rotl(v2, 7) + _rotl(v3, 12) + _rotl(v4, 18)) & _M64
        for v in (v1, v2, v3, v4):
            h = _merge(h, v)
    else:
        h = (seed + _P5) & _M64
    h = (h + n) & _M64
    while i + 8 <= n:
        (k,) = struct.unpack_from("<Q", data, i)
        h ^= _round(0, k)
        h = (_rotl(h, 27) * _P1 + _P4) & _M64
        i += 8
    if i + 4 <= n:
        (k,) = struct.unpack_from("<I", data, i)
        h ^= (k * _P1) & _M64
        h = (_rotl(h, 23) * _P2 + _P3) & _M64
        i += 4
    while i < n:
        h ^= (data[i] * _P5) & _M64
        h = (_rotl(h, 11) * _P1) & _M64
        i += 1
    h ^= h >> 33
    h = (h * _P2) & _M64
    h ^= h >> 29
    h = (h * _P3) & _M64
    h ^= h >> 32
    return h


# --------------------------------------------------------------------------
# Fixtures / helpers
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def raw_text() -> bytes:
    return VECTORS.read_bytes()


@pytest.fixture(scope="module")
def doc(raw_text: bytes) -> dict:
    return json.loads(raw_text.decode("utf-8"))


@pytest.fixture(scope="module")
def cases(doc: dict) -> list[dict]:
    return doc["cases"]


def load_generator():
    spec = importlib.util.spec_from_file_location("trackgate_generate_sampling", GENERATOR)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def check_cases(cases: list[dict]) -> list[str]:
    """Return one message per case whose rv/keep disagree with the spec."""
    errors = []
    cache: dict[tuple[str, str], int] = {}
    for i, c in enumerate(cases):
        key = (c["salt"], c["unit_id"])
        if key not in cache:
            cache[key] = rv_of(*key)
        rv = cache[key]
        if c["rv"] != f"{rv:016x}":
            errors.append(f"case {i}: rv {c['rv']} != {rv:016x} for {key!r}")
        if c["keep"] is not keep_of(rv, c["rate_ppm"]):
            errors.append(f"case {i}: keep {c['keep']} wrong at rate {c['rate_ppm']} for {key!r}")
    return errors


def flip_rate(rv: int) -> int:
    """Smallest rate_ppm at which rv is kept, found by bisection (not the closed form)."""
    lo, hi = 0, PPM  # keep_of(rv, 0) is False, keep_of(rv, PPM) is True
    assert not keep_of(rv, lo) and keep_of(rv, hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if keep_of(rv, mid):
            hi = mid
        else:
            lo = mid
    return hi


# --------------------------------------------------------------------------
# Tests: the reference hash itself
# --------------------------------------------------------------------------

def test_pure_python_xxh64_known_answers():
    # Published XXH64 test values.
    assert py_xxh64(b"", 0) == 0xEF46DB3751D8E999
    assert py_xxh64(b"a", 0) == 0xD24EC4F1A98C6E5B
    assert py_xxh64(b"abc", 0) == 0x44BC2CF5AD770999
    # Every code path (>=32-byte stripes, 8/4/1-byte tails), seeds incl. 42.
    for n in range(0, 100):
        data = bytes((i * 7 + 3) & 0xFF for i in range(n))
        for seed in (0, 42, _M64, 0x9E3779B97F4A7C15):
            assert py_xxh64(data, seed) == xxhash.xxh64_intdigest(data, seed), (n, seed)


def test_vectors_match_pure_python_xxh64(cases):
    seen = {}
    for c in cases:
        key = (c["salt"], c["unit_id"])
        if key in seen:
            assert seen[key] == c["rv"], f"inconsistent rv for {key!r}"
            continue
        seed = py_xxh64(c["salt"].encode("utf-8"), 42)
        rv = py_xxh64(c["unit_id"].encode("utf-8"), seed) & MASK_56
        seen[key] = f"{rv:016x}"
        assert c["rv"] == seen[key], key


# --------------------------------------------------------------------------
# Tests: file format and content
# --------------------------------------------------------------------------

def test_file_format(raw_text, doc, cases):
    assert raw_text.endswith(b"\n") and not raw_text.endswith(b"\n\n")
    assert len(raw_text) < 600 * 1024
    assert set(doc) == {"spec", "cases"}
    assert doc["spec"] == SPEC_ID
    # Not ASCII-escaped: non-ASCII text appears as raw UTF-8.
    assert "用户".encode("utf-8") in raw_text
    # One case per line.
    lines = raw_text.decode("utf-8").split("\n")
    assert len(lines) == len(cases) + 3  # header, cases, "]}", trailing ""
    hexre = re.compile(r"^[0-9a-f]{16}$")
    for c in cases:
        assert list(c) == ["salt", "unit_id", "rate_ppm", "rv", "keep"]
        assert isinstance(c["salt"], str) and isinstance(c["unit_id"], str)
        assert type(c["rate_ppm"]) is int and 0 <= c["rate_ppm"] <= PPM
        assert hexre.match(c["rv"]), c["rv"]
        assert int(c["rv"], 16) <= MASK_56
        assert type(c["keep"]) is bool


def test_every_case_recomputes(cases):
    errors = check_cases(cases)
    assert errors == [], "\n".join(errors[:20])


def test_checker_detects_corruption(cases):
    """The check above is not a tautology: corrupted vectors are rejected."""
    flipped = copy.deepcopy(cases)
    flipped[7]["keep"] = not flipped[7]["keep"]
    assert len(check_cases(flipped)) == 1

    bad_rv = copy.deepcopy(cases)
    last = bad_rv[-1]["rv"]
    bad_rv[-1]["rv"] = last[:-1] + ("0" if last[-1] != "0" else "1")
    assert len(check_cases(bad_rv)) == 1

    # Moving a kept boundary case one ppm down must flip its verdict.
    idx = next(
        i for i, c in enumerate(cases)
        if c["keep"] and c["rate_ppm"] == flip_rate(int(c["rv"], 16)) and c["rate_ppm"] > 1
    )
    moved = copy.deepcopy(cases)
    moved[idx]["rate_ppm"] -= 1
    assert len(check_cases(moved)) == 1

    # A different salt (e.g. NFC vs NFD, or a swapped argument order) changes rv.
    assert rv_of("e\u0301", "x") != rv_of("\u00e9", "x")
    assert rv_of("a", "b") != rv_of("b", "a")


def test_file_is_exactly_generator_output(raw_text):
    gen = load_generator()
    first = gen.generate()
    assert first == gen.generate(), "generator is not deterministic"
    assert first.encode("utf-8") == raw_text, (
        "tests/vectors/sampling.json is stale: run python tests/vectors/generate_sampling.py"
    )


def test_coverage(cases):
    assert len(cases) >= 2000

    rates = {c["rate_ppm"] for c in cases}
    missing = [r for r in REQUIRED_RATES if r not in rates]
    assert missing == []
    assert len(rates) >= 500, "expect a wide spread of rates"

    pairs = {(c["salt"], c["unit_id"]) for c in cases}
    assert ("", "") in pairs
    assert any(s == "" and u != "" for s, u in pairs)
    assert any(s != "" and u == "" for s, u in pairs)

    units = {u for _, u in pairs}
    salts = {s for s, _ in pairs}
    assert any(not s.isascii() for s in salts)
    assert any(any(0xC0 <= ord(ch) <= 0x24F for ch in u) for u in units), "accented Latin"
    assert any(any(0x4E00 <= ord(ch) <= 0x9FFF for ch in u) for u in units), "CJK"
    assert any(any(ord(ch) >= 0x1F000 for ch in u) for u in units), "emoji"
    assert any(any(unicodedata.combining(ch) for ch in u) for u in units), "combining marks"
    assert max(len(u.encode("utf-8")) for u in units) >= 1000
    assert sum(len(u.encode("utf-8")) >= 1000 and not u.isascii() for u in units) >= 1

    uuid_re = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
    assert sum(bool(uuid_re.match(u)) for u in units) >= 20
    assert sum(u.isdigit() for u in units) >= 20


def test_keep_balance_and_boundaries(cases):
    kept = sum(c["keep"] for c in cases)
    dropped = len(cases) - kept
    assert kept >= 0.25 * len(cases) and dropped >= 0.25 * len(cases), (kept, dropped)

    # Extreme rates behave as specified.
    for c in cases:
        if c["rate_ppm"] == 0:
            assert c["keep"] is False
        if c["rate_ppm"] == PPM:
            assert c["keep"] is True
    assert any(c["keep"] for c in cases if c["rate_ppm"] == 1), "a unit kept at 1 ppm"
    assert any(c["keep"] for c in cases if c["rate_ppm"] == 2)
    assert any(not c["keep"] for c in cases if c["rate_ppm"] == 999999), "a unit dropped at 999999 ppm"

    # Cases right at the flip point: kept at r, dropped at r - 1.
    at_flip = just_below = 0
    low_rate_flips = high_rate_flips = 0
    for c in cases:
        f = flip_rate(int(c["rv"], 16))
        if c["rate_ppm"] == f:
            at_flip += 1
            low_rate_flips += f <= 2000
            high_rate_flips += f > 999000
        elif c["rate_ppm"] == f - 1:
            just_below += 1
    assert at_flip >= 300 and just_below >= 300, (at_flip, just_below)
    assert low_rate_flips >= 20 and high_rate_flips >= 20, (low_rate_flips, high_rate_flips)


def test_closed_form_flip_rate_matches_bisection(cases):
    """The doc's closed form r_min = ceil((2^56 - rv) * 1e6 / 2^56)."""
    for c in cases[::7]:
        rv = int(c["rv"], 16)
        assert -(-(TWO_56 - rv) * PPM // TWO_56) == flip_rate(rv)


# --------------------------------------------------------------------------
# Tests: properties of the rule
# --------------------------------------------------------------------------

def test_nesting_over_vector_units(cases):
    by_unit: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for c in cases:
        by_unit[(c["salt"], c["unit_id"])].append(c)
    assert sum(len(v) >= 3 for v in by_unit.values()) >= 300

    grid = sorted(set(REQUIRED_RATES) | set(range(0, PPM + 1, 4999)))
    for key, group in by_unit.items():
        # Recorded verdicts: once kept, kept at every higher recorded rate.
        group = sorted(group, key=lambda c: c["rate_ppm"])
        verdicts = [c["keep"] for c in group]
        assert verdicts == sorted(verdicts), f"non-nested recorded verdicts for {key!r}"
        # Recomputed over a dense grid plus the recorded rates.
        rv = rv_of(*key)
        rates = sorted(set(grid) | {c["rate_ppm"] for c in group})
        seen_keep = False
        for r in rates:
            k = keep_of(rv, r)
            assert not (seen_keep and not k), f"{key!r} kept below {r} but dropped at {r}"
            seen_keep = seen_keep or k


def test_threshold_arithmetic():
    assert T_of(0) == 0
    assert T_of(PPM) == TWO_56
    assert T_of(1) == 72057594037
    assert T_of(500000) == TWO_56 // 2
    # A float computation is NOT equivalent (why the spec requires integers).
    assert any(int(r * float(TWO_56) / PPM) != T_of(r) for r in range(1, 2000))
    # Overflow-free split used in the doc for Spark/64-bit languages:
    #   T = 72057594037 * r + (927936 * r) div 1000000
    assert divmod(TWO_56, PPM) == (72057594037, 927936)
    for r in range(PPM + 1):
        assert 72057594037 * r + (927936 * r) // PPM == (r << 56) // PPM
    assert 927936 * PPM < 2**63 and 72057594037 * PPM < 2**63


def test_weights():
    assert weight_of(PPM) == 1.0
    assert weight_of(500000) == 2.0
    for r in (1, 2, 100, 1000, 10000, 100000, 250000, 999999):
        assert abs(weight_of(r) - PPM / r) <= 1e-9 * PPM / r
    assert weight_of(0) == 0.0  # rate 0 keeps nothing, so no weight is ever applied


def test_statistical_share_and_estimate():
    n = 200_000
    rate = 100_000  # 10 %
    cut = TWO_56 - T_of(rate)
    seed_a = xxhash.xxh64_intdigest(b"stat-check", 42)
    seed_b = xxhash.xxh64_intdigest(b"stat-check-2", 42)
    kept_a = [
        i for i in range(n)
        if xxhash.xxh64_intdigest(f"synthetic-user-{i}".encode(), seed_a) & MASK_56 >= cut
    ]
    share = len(kept_a) / n
    assert abs(share - 0.10) <= 0.005, share

    # Horvitz-Thompson: the sum of weights of kept units estimates n.
    estimate = len(kept_a) * weight_of(rate)
    assert abs(estimate - n) / n <= 0.05, estimate

    # A different salt reshuffles: overlap ~ 10 % of 10 %, not the same set.
    kept_b = {
        i for i in range(n)
        if xxhash.xxh64_intdigest(f"synthetic-user-{i}".encode(), seed_b) & MASK_56 >= cut
    }
    overlap = sum(i in kept_b for i in kept_a) / len(kept_a)
    assert abs(overlap - 0.10) <= 0.02, overlap
