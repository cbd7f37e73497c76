#!/usr/bin/env python3
"""Generate the shared cross-language test vectors for trackgate-sampling-v1.

Spec: docs/spec-sampling.md

    seed = XXH64(utf8(salt), 42)
    h    = XXH64(utf8(unit_id), seed)
    rv   = h & (2^56 - 1)
    T    = floor(rate_ppm * 2^56 / 1_000_000)      (exact integer arithmetic)
    keep = rv >= 2^56 - T

Output: tests/vectors/sampling.json (next to this file), one case per line,
UTF-8, ensure_ascii=False, trailing newline.

The output is fully deterministic: `random.Random(SEED)` is used only to
*choose inputs* (salts, unit ids, rates); every hash comes from the `xxhash`
package. Running the generator twice produces byte-identical output, and the
test suite (tests/python/test_sampling_vectors.py) asserts the committed file
is exactly what `generate()` returns.

Usage:
    python tests/vectors/generate_sampling.py            # (re)write sampling.json
    python tests/vectors/generate_sampling.py --check    # exit 1 if stale
"""

from __future__ import annotations

import json
import random
import sys
import uuid
from pathlib import Path

import xxhash

SPEC_ID = "trackgate-sampling-v1"
SEED = 20240601  # chooses inputs only; never used for hashing
OUTPUT = Path(__file__).resolve().parent / "sampling.json"

SALT_SEED = 42
TWO_56 = 1 << 56
MASK_56 = TWO_56 - 1
PPM = 1_000_000

# Rates every special unit is checked at, and that must appear in the file.
REQUIRED_RATES = [0, 1, 2, 100, 1000, 10000, 100000, 250000, 500000, 750000, 999999, 1000000]

# Unit ids found once by brute-force search over "needle-<n>" with salt
# "trackgate" (the search is not repeated here to keep generation fast).
# `generate()` re-verifies the property each one was picked for.
#   flip rate 1       : kept even at rate_ppm = 1
#   flip rate 2       : dropped at 1, kept at 2
#   flip rate 1000000 : dropped even at rate_ppm = 999999
NEEDLE_SALT = "trackgate"
NEEDLES = {
    "needle-2515432": 1,
    "needle-8730044": 1,
    "needle-858011": 2,
    "needle-4103211": 2,
    "needle-4713426": 1_000_000,
    "needle-468260": 1_000_000,
}


# --------------------------------------------------------------------------
# Spec functions
# --------------------------------------------------------------------------

def salt_seed(salt: str) -> int:
    return xxhash.xxh64(salt.encode("utf-8"), seed=SALT_SEED).intdigest()


def unit_rv(salt: str, unit_id: str) -> int:
    h = xxhash.xxh64(unit_id.encode("utf-8"), seed=salt_seed(salt)).intdigest()
    return h & MASK_56


def threshold(rate_ppm: int) -> int:
    if not (0 <= rate_ppm <= PPM):
        raise ValueError(f"rate_ppm out of range: {rate_ppm}")
    return rate_ppm * TWO_56 // PPM


def keep(rv: int, rate_ppm: int) -> bool:
    return rv >= TWO_56 - threshold(rate_ppm)


def flip_rate(rv: int) -> int:
    """Smallest rate_ppm at which a unit with this rv is kept.

    keep <=> T(r) >= D with D = 2^56 - rv (1 <= D <= 2^56)
         <=> r * 2^56 / 1e6 >= D
         <=> r >= ceil(D * 1e6 / 2^56)
    """
    d = TWO_56 - rv
    return -((-d * PPM) // TWO_56)


# --------------------------------------------------------------------------
# Input selection
# --------------------------------------------------------------------------

def _special_salts() -> list[str]:
    return [
        "",
        "trackgate",
        "default",
        "plan-2024-06",
        "checkout_funnel_v2",
        "Crème brûlée",          # Latin-1 range accents
        "盐",                      # CJK
        "🎲-salt",                 # astral-plane emoji (4-byte UTF-8)
        "e\u0301",               # combining acute accent (NFD é)
        "\u00e9",                # precomposed é (NFC) - must differ from the above
        " ",
        "SALT",
        "salt",
    ]


def _special_units(rng: random.Random) -> list[str]:
    units = [
        "",
        " ",
        "\t",
        "0",
        "1",
        "42",
        "-1",
        "007",
        "1234567890",
        "9223372036854775807",
        "18446744073709551615",
        "null",
        "NULL",
        "undefined",
        "user@example.com",
        "José",
        "Zoë Ångström",
        "e\u0301",               # NFD é
        "\u00e9",                # NFC é
        "a\u0300\u0301\u0302\u0303",  # stacked combining marks
        "用户12345",
        "ユーザー",
        "사용자",
        "пользователь",
        "مستخدم",
        "😀",
        "👩\u200d💻-dev",          # ZWJ sequence
        "🇫🇷",                     # regional indicator pair
        "quote\"back\\slash",
        "line\nbreak",
        "nul\u0000byte",
        "00000000-0000-0000-0000-000000000000",
        "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
        str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        str(uuid.UUID(int=rng.getrandbits(128), version=4)).upper(),
        uuid.UUID(int=rng.getrandbits(128), version=4).hex,
    ]
    return units


def _long_units(rng: random.Random) -> list[str]:
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
    return [
        "x" * 1000,                                              # exactly 1000 bytes
        "".join(rng.choice(alphabet) for _ in range(1031)),     # odd length, > 1024
        "é" * 600,                                               # 1200 bytes, 2-byte chars
        "用户" * 200,                                            # 1200 bytes, 3-byte chars
        "🙂" * 260,                                              # 1040 bytes, 4-byte chars
        "".join(rng.choice(alphabet) for _ in range(4096)),     # 4 KiB
    ]


def _random_unit(rng: random.Random) -> str:
    kind = rng.randrange(6)
    if kind == 0:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))
    if kind == 1:
        return str(rng.randrange(1, 10**rng.randrange(1, 19)))
    if kind == 2:
        return f"user-{rng.randrange(10**7)}"
    if kind == 3:
        return f"install:{rng.getrandbits(64):016x}"
    if kind == 4:
        pool = "aeiouyéüñçøß用户ユーザー사용자😀🎉"
        return "u" + "".join(rng.choice(pool) for _ in range(rng.randrange(1, 12)))
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 65)))


def _random_salt(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return rng.choice(_special_salts())
    return f"exp-{rng.randrange(10**6)}"


def _boundary_rates(rv: int) -> list[int]:
    """Rates straddling the flip point: kept at r, dropped at r - 1."""
    r = flip_rate(rv)
    return [r - 1, r] if r >= 1 else [r]


# --------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------

def _cases(rng: random.Random) -> list[tuple[str, str, int]]:
    out: list[tuple[str, str, int]] = []

    def add(salt: str, unit: str, rates: list[int]) -> None:
        seen: list[int] = []
        for r in rates:
            if r not in seen:
                seen.append(r)
        for r in sorted(seen):
            out.append((salt, unit, r))

    # 1. The empty-string corners, at every required rate plus the flip point.
    for salt, unit in [("", ""), ("", "user-1"), ("trackgate", ""), ("default", "")]:
        add(salt, unit, REQUIRED_RATES + _boundary_rates(unit_rv(salt, unit)))

    # 2. Special units (non-ASCII, UUIDs, numeric ids, ...) under a few salts.
    specials = _special_units(rng)
    for unit in specials:
        for salt in ["trackgate", rng.choice(_special_salts())]:
            rates = rng.sample(REQUIRED_RATES, 5) + [rng.randrange(PPM + 1)]
            add(salt, unit, rates + _boundary_rates(unit_rv(salt, unit)))

    # 3. Special salts with a shared unit: same unit, different salt reshuffles.
    for salt in _special_salts():
        add(salt, "user-42", [100000, 500000] + _boundary_rates(unit_rv(salt, "user-42")))

    # 4. Long ids (>= 1000 UTF-8 bytes).
    for unit in _long_units(rng):
        add("trackgate", unit, [0, 100000, 500000, 1000000] + _boundary_rates(unit_rv("trackgate", unit)))

    # 5. Needles: units whose flip point is at the extreme rates 1, 2 and 1e6.
    for unit, expected in NEEDLES.items():
        rv = unit_rv(NEEDLE_SALT, unit)
        if flip_rate(rv) != expected:
            raise AssertionError(f"needle {unit!r}: flip rate {flip_rate(rv)} != {expected}")
        add(NEEDLE_SALT, unit, [0, 1, 2, 3, 999998, 999999, 1000000])

    # 6. Units with extreme rv from a small deterministic scan (near-boundary at
    #    low rates: kept at <= 0.2 %, and dropped at >= 99.9 %).
    low, high = [], []
    for i in range(40000):
        unit = f"scan-{i}"
        r = flip_rate(unit_rv("trackgate", unit))
        if r <= 2000 and len(low) < 25:
            low.append(unit)
        elif r > 999000 and len(high) < 25:
            high.append(unit)
    for unit in low + high:
        rv = unit_rv("trackgate", unit)
        add("trackgate", unit, _boundary_rates(rv) + [rng.choice(REQUIRED_RATES)])

    # 7. Bulk random: random units/salts, a required rate, a uniform random
    #    rate, a log-uniform small rate, and (for 60 %) the flip-point pair.
    while len(out) < 2400:
        salt = _random_salt(rng)
        unit = _random_unit(rng)
        rates = [
            rng.choice(REQUIRED_RATES),
            rng.randrange(PPM + 1),
            int(10 ** rng.uniform(0, 6)),
        ]
        if rng.random() < 0.6:
            rates += _boundary_rates(unit_rv(salt, unit))
        add(salt, unit, rates)

    return out


def generate() -> str:
    """Return the full text of sampling.json (deterministic)."""
    rng = random.Random(SEED)
    lines = []
    for salt, unit, rate in _cases(rng):
        rv = unit_rv(salt, unit)
        case = {
            "salt": salt,
            "unit_id": unit,
            "rate_ppm": rate,
            "rv": f"{rv:016x}",
            "keep": keep(rv, rate),
        }
        lines.append(json.dumps(case, ensure_ascii=False))
    header = '{"spec": ' + json.dumps(SPEC_ID) + ', "cases": [\n'
    return header + ",\n".join(lines) + "\n]}\n"


def main(argv: list[str]) -> int:
    text = generate()
    if "--check" in argv:
        current = OUTPUT.read_bytes() if OUTPUT.exists() else b""
        if current != text.encode("utf-8"):
            print(f"{OUTPUT} is stale; run: python {Path(__file__).as_posix()}", file=sys.stderr)
            return 1
        print(f"{OUTPUT} is up to date")
        return 0
    OUTPUT.write_bytes(text.encode("utf-8"))
    data = json.loads(text)
    kept = sum(c["keep"] for c in data["cases"])
    print(f"wrote {OUTPUT}: {len(data['cases'])} cases ({kept} keep=true, {len(data['cases']) - kept} keep=false)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
