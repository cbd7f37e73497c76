#!/usr/bin/env bash
# run-swift-demo.sh: build and run the Swift demo app (a command-line stand-in for an iOS app
# embedding trackgate) against a running `trackgate serve --collect FILE`.
#
# Usage:
#   mobile-demo/swift/run-swift-demo.sh --build-only
#   mobile-demo/swift/run-swift-demo.sh [--no-build] --server URL --store DIR --phases N
#                                       --public-key FILE [--app NAME] [--env NAME] [--step]
#                                       [--max-refresh-wait S] [--refresh-gap S]
#
#   --build-only        build the Rust library (host, debug), the bindings and the app (in the
#                       Swift root); then exit
#   --no-build          run what --build-only built (default: build first, then run)
#   --server URL        the trackgate serve base URL (plans from /v1/plans/APP/ENV, uploads to
#                       /v1/collect), e.g. http://127.0.0.1:8080
#   --store DIR         the app's persistent store (created if missing; keep it across runs to
#                       keep the install id, the verified plan and the fetch schedule)
#   --phases N          session phases to run; the app calls refreshNow() before each
#   --public-key FILE   the publisher's public.key (from `trackgate keygen`)
#   --app, --env        the plan scope (default shop/prod)
#   --step              handshake: before each phase print "READY <k>" and wait for a line on
#                       stdin ("quit" stops; end of input runs the rest without waiting)
#   --max-refresh-wait  seconds to wait for the fetch schedule before a phase (default 75)
#   --refresh-gap       shortest gap between refreshNow() requests, 1 to 3600 s (default 60)
#
# stdout: only the protocol lines (READY, PLAN, PHASE, DONE; see README.md). stderr: builds and
# logs. Exit codes: those of the app (0 done, 1 could not start, 2 usage, 3 quit), or 1 if the
# build fails.
#
# Needs root: Swift runs in the trixie chroot of bindings/swift/scripts/swift-env.sh (built on
# first use, 1-2 minutes). The Rust library is built on the host (debug) and loaded from there.
set -euo pipefail

demo_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$demo_dir/../.." && pwd)"
swift_env="$repo/bindings/swift/scripts/swift-env.sh"

log() { printf '[run-swift-demo] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

build=true
build_only=false
store=""
public_key_file=""
app_args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build-only) build_only=true; shift ;;
    --no-build) build=false; shift ;;
    --store) [[ $# -ge 2 ]] || die "--store needs a directory"; store="$2"; shift 2 ;;
    --public-key) [[ $# -ge 2 ]] || die "--public-key needs a file"; public_key_file="$2"; shift 2 ;;
    --step) app_args+=("$1"); shift ;;
    --server | --phases | --app | --env | --max-refresh-wait | --refresh-gap)
      [[ $# -ge 2 ]] || die "$1 needs a value"; app_args+=("$1" "$2"); shift 2 ;;
    -h | --help) sed -n '2,31p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done
if ! $build_only; then
  [[ -n "$store" && -n "$public_key_file" ]] || die "--store and --public-key are required (see --help)"
  [[ -r "$public_key_file" ]] || die "cannot read the public key file $public_key_file"
fi

# Build: the Rust library and the bindings on the host, the Swift app in the root. Build output
# goes to stderr so stdout stays the protocol.
app_binary=mobile-demo/swift/TrackgateDemo/.build/debug/TrackgateDemo
if $build || $build_only; then
  lib_dir="$("$repo/bindings/swift/scripts/generate.sh" debug | tail -n 1)"
else
  lib_dir="$(mkdir -p "${CARGO_TARGET_DIR:-$repo/target}" && cd "${CARGO_TARGET_DIR:-$repo/target}" && pwd)/debug"
fi
binds=()
case "$lib_dir/" in
  "$repo"/*) ;;
  *) binds+=(--bind "$lib_dir") ;;
esac
if $build || $build_only; then
  "$swift_env" ensure
  "$swift_env" run "${binds[@]}" "$repo" -- \
    swift build --package-path mobile-demo/swift/TrackgateDemo -Xlinker -L"$lib_dir" >&2 \
    || die "swift build of mobile-demo/swift/TrackgateDemo failed"
fi
if $build_only; then
  log "built $app_binary"
  exit 0
fi
[[ -x "$repo/$app_binary" && -f "$lib_dir/libtrackgate_ffi.so" ]] \
  || die "$app_binary or $lib_dir/libtrackgate_ffi.so is missing: run $0 --build-only first"

# The store must exist on the host to be bound into the root at the same path.
mkdir -p -- "$store"
store="$(cd "$store" && pwd)"
case "$store/" in
  "$repo"/*) ;;
  *) binds+=(--bind "$store") ;;
esac
# public.key is a header line (`trackgate public key v1`) and the hex; public.hex is the hex alone.
public_key="$(grep -v '^trackgate ' "$public_key_file" | tr -d '[:space:]')"

exec "$swift_env" run "${binds[@]}" --env "LD_LIBRARY_PATH=$lib_dir" "$repo" -- \
  "$app_binary" --store "$store" --public-key "$public_key" "${app_args[@]}"
