#!/usr/bin/env bash
# test.sh: build the Rust library on the host, generate the Swift bindings, and run the Swift
# package's XCTests in the trixie Swift root (scripts/swift-env.sh), against a real
# `trackgate serve` on 127.0.0.1.
#
# Usage: bash bindings/swift/test.sh [extra `swift test` arguments, e.g. --filter DecisionTests]
#
# Needs root (the Swift root is a chroot). On a fresh machine `swift-env.sh ensure` first builds
# the root (about 1-2 minutes, once). Exits non-zero if anything fails; on success the last
# line is XCTest's "Executed N tests, with 0 failures".
#
# Environment:
#   TRACKGATE_SWIFT_TEST_TIMEOUT  seconds before the Swift run is stopped (default 1200)
#   CARGO_TARGET_DIR              honoured; bound into the root when outside the repo
set -euo pipefail

package_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$package_dir/../.." && pwd)"
swift_env="$package_dir/scripts/swift-env.sh"
target_dir="${CARGO_TARGET_DIR:-$repo/target}"
started=$SECONDS

log() { printf '[swift test.sh] %s\n' "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

log "building the host library, the bindgen and the trackgate CLI"
(cd "$repo" && cargo build --quiet --workspace --bins)   # the CLI, with the workspace's features
lib_dir="$("$package_dir/scripts/generate.sh" debug | tail -n 1)"
cli="$target_dir/debug/trackgate"
[[ -x "$cli" ]] || die "no trackgate binary at $cli"

"$swift_env" ensure

# Fixtures live under the target directory: inside the repo, so the root sees them at the same
# path without another bind mount.
mkdir -p "$target_dir"
target_dir="$(cd "$target_dir" && pwd)"
binds=()
case "$target_dir/" in
  "$repo"/*) ;;
  *) binds=(--bind "$target_dir") ;;
esac
work="$(mktemp -d "$target_dir/swift-test.XXXXXX")"
serve_dir="$work/plans"
mkdir -p "$serve_dir"

serve_pid=""
cleanup() {
  if [[ -n "$serve_pid" ]]; then
    kill "$serve_pid" 2>/dev/null || true
    wait "$serve_pid" 2>/dev/null || true
  fi
  rm -rf -- "$work"
}
trap cleanup EXIT

# Port 0: the kernel picks a free port; serve prints the address it got.
"$cli" serve "$serve_dir" --addr 127.0.0.1:0 --poll-ms 50 2>"$work/serve.log" &
serve_pid=$!
serve_url=""
for _ in $(seq 1 200); do
  serve_url="$(grep -o 'listening on http://[0-9.:]*' "$work/serve.log" | head -n 1 | sed 's/^listening on //')" || true
  [[ -n "$serve_url" ]] && break
  kill -0 "$serve_pid" 2>/dev/null || die "trackgate serve exited: $(cat "$work/serve.log")"
  sleep 0.05
done
[[ -n "$serve_url" ]] || die "trackgate serve did not report its address within 10 s: $(cat "$work/serve.log")"
log "trackgate serve (pid $serve_pid) at $serve_url, serving $serve_dir"

log "swift test in the Swift root"
set +e
timeout --signal=TERM "${TRACKGATE_SWIFT_TEST_TIMEOUT:-1200}" \
  "$swift_env" run "${binds[@]}" \
  --env "LD_LIBRARY_PATH=$lib_dir" \
  --env "TRACKGATE_CLI=$cli" \
  --env "TRACKGATE_SERVE_URL=$serve_url" \
  --env "TRACKGATE_SERVE_DIR=$serve_dir" \
  "$repo" -- swift test --package-path bindings/swift --disable-swift-testing -Xlinker -L"$lib_dir" "$@" \
  2>&1 | tee "$work/swift-test.log"
rc=${PIPESTATUS[0]}
set -e

summary="$(grep -E 'Executed [0-9]+ tests?, with [0-9]+ failures?' "$work/swift-test.log" | tail -n 1 | sed 's/^[[:space:]]*//')"
if [[ $rc -ne 0 ]]; then
  log "trackgate serve log (last 20 lines):"
  tail -n 20 "$work/serve.log" >&2
  die "swift test exited $rc${summary:+ ($summary)}"
fi
[[ "$summary" == *"with 0 failures"* ]] || die "swift test passed but printed no XCTest summary"
log "passed in $((SECONDS - started)) s"
echo "$summary"
