#!/usr/bin/env bash
# Fuzz smoke run for CI: each target for SECONDS (default 20) from the committed seeds, in a
# scratch corpus so the tree stays clean. Needs a nightly toolchain; installs cargo-fuzz if
# missing. Exits non-zero on any crash, panic, timeout or out-of-memory.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-20}"
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
for target in envelope plan_json; do
    mkdir -p "$scratch/$target"
    cp seeds/"$target"/* "$scratch/$target/"
    status=0
    cargo +nightly fuzz run -O "$target" "$scratch/$target" -- \
        -max_total_time="$seconds" -max_len=65536 -print_final_stats=1 >"$scratch/$target.log" 2>&1 || status=$?
    grep -E "^Done|ERROR|panicked|SUMMARY" "$scratch/$target.log" || true
    if [ "$status" -ne 0 ]; then
        tail -n 40 "$scratch/$target.log"
        echo "fuzz smoke: $target failed (artifacts in fuzz/artifacts/$target)"
        exit "$status"
    fi
done
