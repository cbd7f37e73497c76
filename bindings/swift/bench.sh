#!/usr/bin/env bash
# bench.sh: what one decision costs when Swift calls the library, boundary included.
#
# Usage: bash bindings/swift/bench.sh [--runs N] [--events N]   (defaults: 9 runs, 200000 events)
#
# Builds the Rust library with `cargo build --release` on the host, generates the bindings,
# builds TrackgateBench with `swift build -c release` in the Swift root (scripts/swift-env.sh),
# and runs it against a 64-event plan made with `trackgate keygen/build`. Prints the machine,
# the date and a Markdown table (median µs per event over the runs) for docs/performance.md.
# A measurement, not a test: it fails only if something does not build or run.
set -euo pipefail

package_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$package_dir/../.." && pwd)"
swift_env="$package_dir/scripts/swift-env.sh"
target_dir="${CARGO_TARGET_DIR:-$repo/target}"

log() { printf '[swift bench.sh] %s\n' "$*" >&2; }

log "building the release library and the trackgate CLI"
(cd "$repo" && cargo build --quiet -p trackgate-cli --bin trackgate)
lib_dir="$("$package_dir/scripts/generate.sh" release | tail -n 1)"
cli="$target_dir/debug/trackgate"
"$swift_env" ensure

mkdir -p "$target_dir"
target_dir="$(cd "$target_dir" && pwd)"
binds=()
case "$target_dir/" in
  "$repo"/*) ;;
  *) binds=(--bind "$target_dir") ;;
esac
work="$(mktemp -d "$target_dir/swift-bench.XXXXXX")"
trap 'rm -rf -- "$work"' EXIT

"$cli" keygen --out "$work/key" >/dev/null
{
  printf '{"schema": 1, "app": "bench", "env": "prod", "version": 1, "events": {'
  for i in $(seq 0 63); do
    [[ $i -gt 0 ]] && printf ', '
    printf '"bench.event_%03d": {"priority": "P%d"}' "$i" $((i % 3))
  done
  printf '}}\n'
} >"$work/plan.json"
"$cli" build "$work/plan.json" --key "$work/key/signing.key" --version 1 --out "$work/plan.tgp" >/dev/null 2>&1

log "swift build -c release"
"$swift_env" run "${binds[@]}" "$repo" -- \
  swift build --package-path bindings/swift -c release --product TrackgateBench -Xlinker -L"$lib_dir" >&2

cpu="$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
memory="$(awk '/^MemTotal:/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)"
echo "Machine: $(nproc) × $cpu, $memory; load average $(cut -d' ' -f1-3 /proc/loadavg) before the run"
echo "Date: $(date -u +%Y-%m-%d). Rust: $(rustc --version | cut -d' ' -f2) --release; Swift: $("$swift_env" run "$repo" -- swift --version 2>/dev/null | head -n1 | sed 's/.*version \([0-9.]*\).*/\1/') -c release, Linux (trixie root)."
echo
"$swift_env" run "${binds[@]}" --env "LD_LIBRARY_PATH=$lib_dir" "$repo" -- \
  bindings/swift/.build/release/TrackgateBench --envelope "$work/plan.tgp" \
  --public-key "$(tr -d '[:space:]' <"$work/key/public.hex")" --store "$work/store" "$@"
