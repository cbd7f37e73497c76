#!/usr/bin/env bash
# mobile-demo/run.sh: the mobile demo end to end on loopback, with this script as the operator.
#
#   bash mobile-demo/run.sh
#
# For each platform (Kotlin always; Swift when mobile-demo/swift/run-swift-demo.sh is present and
# executable and this runs as root, which its chroot needs), in parallel, each with its own keys,
# server and store:
#   1. `trackgate keygen`; `trackgate serve --collect FILE` on a free 127.0.0.1 port;
#   2. the app runs 4 session phases with --step; at each "READY k" the operator signs
#      plans/phase-k.json as version k (v1 normal; v2 retires product.viewed and samples
#      screen.viewed at 0.25; v3 kill switch on; v4 kill switch off), waits until the server
#      serves it, and answers; the app refreshes (refreshNow through its HTTP transport, waiting
#      for its minimum gap, shortened to 1 s here), decides the session and uploads kept events and the drop
#      report to POST /v1/collect;
#   3. the app is launched again on the same store for one phase (install id and plan from the
#      store, no fetch);
#   4. check_collected.py checks the collector's NDJSON against the scenario.
# The server is stopped by its own pid. Takes about a minute after the builds.
# MOBILE_DEMO_PLATFORMS="kotlin swift" chooses platforms explicitly.
# Exit status: 0 when every platform passed.
set -euo pipefail

demo="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$demo/.." && pwd)"
target="${CARGO_TARGET_DIR:-$repo/target}"
started=$SECONDS
phases=4

log() { printf '[mobile-demo] %s\n' "$*" >&2; }

if [[ -n "${MOBILE_DEMO_PLATFORMS:-}" ]]; then
  read -r -a platforms <<<"$MOBILE_DEMO_PLATFORMS"
else
  platforms=(kotlin)
  if [[ -x "$demo/swift/run-swift-demo.sh" ]]; then
    if [[ "$(id -u)" -eq 0 ]]; then
      platforms+=(swift)
    else
      log "skipping swift: its chroot needs root (set MOBILE_DEMO_PLATFORMS to insist)"
    fi
  fi
fi

launcher() { # launcher PLATFORM: the platform's run script
  case "$1" in
    kotlin) echo "$demo/kotlin/run-kotlin-demo.sh" ;;
    swift) echo "$demo/swift/run-swift-demo.sh" ;;
    *) log "unknown platform '$1'"; exit 2 ;;
  esac
}

# Build everything first, so building never counts against a phase.
(cd "$repo" && cargo build -q --workspace --bins)   # the CLI, with the workspace's features
cli="$target/debug/trackgate"
for platform in "${platforms[@]}"; do
  log "building $platform"
  "$(launcher "$platform")" --build-only
done

scenario() { # scenario PLATFORM: the whole loop for one app; exit status 0 when its checks pass
  local platform="$1" run work url serve_pid="" app_pid="" line phase kind rc=0
  run="$(launcher "$platform")"
  mkdir -p "$target"
  work="$(mktemp -d "$(cd "$target" && pwd)/mobile-demo-$platform.XXXXXX")"
  say() { printf '[%s] %s\n' "$platform" "$*"; }
  fail() {
    say "FAILED: $*"
    [[ -n "${app_pid:-}" ]] && kill "$app_pid" 2>/dev/null
    [[ -n "$serve_pid" ]] && kill "$serve_pid" 2>/dev/null
    exit 1
  }

  "$cli" keygen --out "$work/key" >/dev/null
  mkdir -p "$work/plans"
  "$cli" serve "$work/plans" --addr 127.0.0.1:0 --poll-ms 100 --collect "$work/collected.ndjson" \
    2>"$work/serve.log" &
  serve_pid=$!
  url=""
  for _ in $(seq 1 200); do
    url="$(grep -o 'listening on http://[0-9.:]*' "$work/serve.log" | head -n 1 | sed 's/^listening on //')" || true
    [[ -n "$url" ]] && break
    kill -0 "$serve_pid" 2>/dev/null || fail "trackgate serve exited: $(cat "$work/serve.log")"
    sleep 0.05
  done
  [[ -n "$url" ]] || fail "trackgate serve did not start"
  say "serve at $url (pid $serve_pid), work directory $work"

  publish() { # publish K: sign plans/phase-K.json as version K and wait until it is served
    local envelope="$work/plans/shop-prod-v$1.tgp"
    "$cli" build "$demo/plans/phase-$1.json" --key "$work/key/signing.key" --version "$1" \
      --out "$work/.staged" >/dev/null || fail "trackgate build of plans/phase-$1.json failed"
    mv "$work/.staged" "$envelope"
    for _ in $(seq 1 200); do
      curl -fsS "$url/v1/plans/shop/prod" 2>/dev/null | cmp -s - "$envelope" && return 0
      sleep 0.05
    done
    fail "the server did not serve version $1 within 10 s"
  }

  # The app's stderr (its log) is shown live, prefixed; stdout is the protocol.
  coproc APP {
    "$run" --no-build --server "$url" --store "$work/store" --phases "$phases" \
      --public-key "$work/key/public.key" --refresh-gap 1 --step 2> >(tee "$work/app.log" | sed -u "s/^/[$platform app] /" >&2)
  }
  # shellcheck disable=SC2153 # APP_PID is set by `coproc APP`.
  app_pid=$APP_PID
  : >"$work/protocol.log"
  while IFS= read -r line <&"${APP[0]}"; do
    say "$line"
    printf '%s\n' "$line" >>"$work/protocol.log"
    read -r kind phase _ <<<"$line"
    if [[ "$kind" == READY ]]; then
      publish "$phase"
      say "operator: published plans/phase-$phase.json as version $phase"
      echo go >&"${APP[1]}"
    fi
  done
  wait "$app_pid" || rc=$?
  app_pid=""
  [[ $rc -eq 0 ]] || fail "the app exited $rc"

  say "relaunch on the same store"
  "$run" --no-build --server "$url" --store "$work/store" --phases 1 \
    --public-key "$work/key/public.key" --max-refresh-wait 0 >"$work/relaunch.log" 2>>"$work/app.log" \
    || fail "the relaunch exited $?"
  while IFS= read -r line; do say "relaunch: $line"; done <"$work/relaunch.log"

  kill "$serve_pid" 2>/dev/null || true
  wait "$serve_pid" 2>/dev/null || true
  serve_pid=""
  say "checking $work/collected.ndjson"
  python3 "$demo/check_collected.py" --platform "$platform" --collected "$work/collected.ndjson" \
    --protocol "$work/protocol.log" --relaunch "$work/relaunch.log" | sed -u "s/^/[$platform] /" \
    || fail "checks failed; everything is in $work"
  rm -rf -- "$work"
}

declare -A pids=()
for platform in "${platforms[@]}"; do
  scenario "$platform" &
  pids[$platform]=$!
done
failed=()
for platform in "${!pids[@]}"; do
  wait "${pids[$platform]}" || failed+=("$platform")
done
if [[ ${#failed[@]} -gt 0 ]]; then
  log "FAILED: ${failed[*]} (in $((SECONDS - started)) s)"
  exit 1
fi
log "passed: ${platforms[*]} in $((SECONDS - started)) s"
