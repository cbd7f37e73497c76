#!/usr/bin/env bash
# run-kotlin-demo.sh: build and run the Kotlin demo app (a JVM console stand-in for an Android
# app embedding trackgate) against a running `trackgate serve --collect FILE`. Same contract as
# mobile-demo/swift/run-swift-demo.sh (mobile-demo/README.md).
#
# Usage:
#   mobile-demo/kotlin/run-kotlin-demo.sh --build-only
#   mobile-demo/kotlin/run-kotlin-demo.sh [--no-build] --server URL --store DIR --phases N
#                                         --public-key FILE [--app NAME] [--env NAME] [--step]
#                                         [--max-refresh-wait S] [--refresh-gap S]
#
#   --build-only        build and install the binding artifact (bindings/kotlin/package.sh:
#                       the jar with the shipped library as JNA resources, as apps get it),
#                       package the app; then exit
#   --no-build          run what --build-only built (default: build first, then run)
#   --server URL        the trackgate serve base URL (plans from /v1/plans/APP/ENV, uploads to
#                       /v1/collect), e.g. http://127.0.0.1:8080
#   --store DIR         the app's persistent store (created if missing; keep it across runs)
#   --phases N          session phases to run; the app calls refreshNow() before each
#   --public-key FILE   the publisher's public.key (from `trackgate keygen`)
#   --app, --env        the plan scope (default shop/prod)
#   --step              before each phase print "READY <k>" and wait for a line on stdin
#   --max-refresh-wait  seconds to wait for the fetch schedule before a phase (default 75)
#   --refresh-gap       shortest gap between refreshNow() requests, 1 to 3600 s (default 60)
#
# stdout: only the protocol lines (READY, PLAN, PHASE, DONE). stderr: builds and logs. Exit
# codes: those of the app (0 done, 1 could not start, 2 usage, 3 quit), or 1 if the build fails.
# Needs Java 17+, Maven 3.8+ and Rust.
set -euo pipefail
# Maven 3.8 prints stray ANSI resets on exit when its output is not a terminal.
export MAVEN_OPTS="${MAVEN_OPTS:-} -Djansi.noreset=true"

demo_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$demo_dir/../.." && pwd)"

log() { printf '[run-kotlin-demo] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

build=true
build_only=false
public_key_file=""
app_args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build-only) build_only=true; shift ;;
    --no-build) build=false; shift ;;
    --public-key) [[ $# -ge 2 ]] || die "--public-key needs a file"; public_key_file="$2"; shift 2 ;;
    --step) app_args+=("$1"); shift ;;
    --server | --store | --phases | --app | --env | --max-refresh-wait | --refresh-gap)
      [[ $# -ge 2 ]] || die "$1 needs a value"; app_args+=("$1" "$2"); shift 2 ;;
    -h | --help) sed -n '2,28p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done
if ! $build_only; then
  [[ -n "$public_key_file" ]] || die "--public-key is required (see --help)"
  [[ -r "$public_key_file" ]] || die "cannot read the public key file $public_key_file"
fi

for tool in java mvn cargo; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found (needs Java 17+, Maven 3.8+ and Rust)"
done

if $build || $build_only; then
  # Build output goes to stderr so stdout stays the protocol.
  {
    bash "$repo/bindings/kotlin/package.sh"
    mvn -q -B -f "$demo_dir/pom.xml" package
  } >&2 || die "building the Kotlin demo failed"
fi
jar="$demo_dir/target/trackgate-demo.jar"
if $build_only; then
  log "built $jar"
  exit 0
fi
[[ -f "$jar" ]] || die "$jar is missing: run $0 --build-only first"

# public.key is a header line (`trackgate public key v1`) and the hex; public.hex is the hex alone.
public_key="$(grep -v '^trackgate ' "$public_key_file" | tr -d '[:space:]')"
# No jna.library.path: JNA loads the library the artifact carries, as in any app.
exec java -jar "$jar" --public-key "$public_key" "${app_args[@]}"
