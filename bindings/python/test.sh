#!/usr/bin/env bash
# Builds the `trackgate` wheel (maturin, UniFFI bindings over bindings/ffi) into a venv, installs
# it, and runs the pytest suite in bindings/python/tests against the installed wheel.
#
# Works on a fresh machine: creates the venv (installing Debian's python3-venv if it is missing
# and we are root), installs the pinned maturin and pytest with pip, and builds the CLI the tests
# use to make keys and signed envelopes. Extra arguments go to pytest.
#
#   bash bindings/python/test.sh            # everything
#   bash bindings/python/test.sh -k errors  # a subset
#
# Environment: TRACKGATE_PY_VENV (venv directory, default target/python-venv),
# CARGO_TARGET_DIR (respected), TRACKGATE_CLI (a prebuilt CLI instead of building it).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$repo/target}
venv=${TRACKGATE_PY_VENV:-$target/python-venv}

step() { printf '\n--> %s\n' "$*"; }

step "venv $venv"
if [ ! -x "$venv/bin/python" ]; then
    if ! python3 -m venv "$venv" 2>/dev/null; then
        rm -rf "$venv"
        if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
            python3 -m venv "$venv"
        else
            echo "python3 -m venv failed: install python3-venv (Debian) and retry" >&2
            exit 2
        fi
    fi
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"

step "trackgate CLI (keys and signed envelopes for the tests)"
if [ -z "${TRACKGATE_CLI:-}" ]; then
    # The workspace's feature set, as `cargo test --workspace` builds it (scripts/test.sh):
    # host tools built per package would rebuild the dependency tree with other features.
    (cd "$repo" && cargo build --quiet --workspace --bins)
    export TRACKGATE_CLI=$target/debug/trackgate
fi

step "wheel"
wheels=$target/python-wheels
rm -rf "$wheels"
(cd "$here" && "$venv/bin/maturin" build --quiet --release --out "$wheels")
wheel=$(ls "$wheels"/trackgate-*.whl)
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "$wheel"
echo "installed $(basename "$wheel")"

step "pytest"
# Run from the tests directory so `import trackgate` finds the installed wheel, not sources.
cd "$here/tests"
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider "$@"
