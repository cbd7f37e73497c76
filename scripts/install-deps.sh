#!/usr/bin/env bash
# Installs what the test command needs and is not on a fresh machine: Rust components, Debian
# packages and the pinned Python packages. Idempotent and quiet when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo not found: install Rust with rustup first (https://rustup.rs)" >&2
    exit 2
fi
for component in rustfmt clippy; do
    if ! rustup component list --installed 2>/dev/null | grep -q "^$component"; then
        rustup component add "$component"
    fi
done

missing=()
command -v valgrind >/dev/null 2>&1 || missing+=(valgrind)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)    # renders the report page in a test
command -v jq >/dev/null 2>&1 || missing+=(jq)                # the filter benchmark's peer
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jdk-headless)   # Kotlin bindings, Spark
command -v mvn >/dev/null 2>&1 || missing+=(maven)
command -v curl >/dev/null 2>&1 || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "need Debian packages: ${missing[*]} (run as root or install them)" >&2
        exit 2
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

python3 -m pip install --quiet --disable-pip-version-check \
    -r tests/python/requirements.txt -r tests/spark/requirements.txt
