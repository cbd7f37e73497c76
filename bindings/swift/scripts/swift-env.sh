#!/usr/bin/env bash
# swift-env.sh: Swift 6 on a Debian bookworm host, for `swift build` / `swift test`
# of the UniFFI Swift bindings against a host-built Rust cdylib.
#
# Bookworm has no Swift; trixie ships `swiftlang` (6.0). This script keeps a
# trixie chroot (debootstrap, minbase) with swiftlang in it, outside the work
# tree, and runs commands in it with the caller's directory bind-mounted at the
# same absolute path, so host paths (-Xlinker -L/work/main/target/debug,
# LD_LIBRARY_PATH=...) mean the same thing inside and outside.
#
# Usage:
#   swift-env.sh ensure                     create the root if missing/incomplete
#   swift-env.sh run [--bind DIR]... [--env NAME=VALUE]... HOST_DIR -- CMD [ARGS...]
#                                           run CMD in HOST_DIR inside the root
#   swift-env.sh selftest                   prove gcc .so -> SwiftPM system library
#                                           -> swift build/test, and FoundationNetworking
#   swift-env.sh status                     where the root is, whether it is ready
#   swift-env.sh reset                      delete the root (refuses while mounts exist)
#
# Environment:
#   TRACKGATE_SWIFT_ROOT    the root (default /var/cache/trackgate/swift-trixie)
#   TRACKGATE_SWIFT_MIRROR  Debian mirror (default http://deb.debian.org/debian)
#
# Mounts: every mount this script makes (/proc, /dev, /dev/pts, /dev/shm, the
# bind mounts, and debootstrap's own /proc and /sys) lives in a private mount
# namespace (unshare --mount) that exists only as long as the command runs, and
# is also unmounted by an EXIT trap. Nothing is ever mounted in the host's
# namespace, so a killed run cannot leave mounts behind; mounts under the root
# that show up in the host namespace anyway (a manual mount, an older tool) are
# reported and unmounted before use, and always before anything is deleted.
#
# Locking: `${ROOT}.lock` (flock). Runs hold it shared, so several runs can go
# at once; creating, repairing or resetting the root holds it exclusively.
set -euo pipefail

SCRIPT_PATH="$(readlink -f -- "${BASH_SOURCE[0]}")"
ROOT="${TRACKGATE_SWIFT_ROOT:-/var/cache/trackgate/swift-trixie}"
MIRROR="${TRACKGATE_SWIFT_MIRROR:-http://deb.debian.org/debian}"
SUITE=trixie
# Packages installed inside the root. swiftlang brings the toolchain (swift,
# swiftc, swift-build/test, clang, lld, Foundation, XCTest); the rest are what
# it needs to compile and link on Linux without recommends.
#   libc6-dev, libstdc++-14-dev  headers/crt files for clang's link step
#   libcurl4t64                  FoundationNetworking (URLSession) loads libcurl
#   libxml2                      FoundationXML
#   ca-certificates, git         SwiftPM dependency fetching (not used offline,
#                                but `swift package` errors out confusingly without git)
#   pkg-config                   SwiftPM's systemLibrary(pkgConfig:) lookups
PACKAGES=(swiftlang libc6-dev libstdc++-14-dev libcurl4t64 libxml2 ca-certificates git pkg-config)
# Bump when the recipe changes in a way a package-list diff does not show.
RECIPE_VERSION=1
FINGERPRINT="recipe=${RECIPE_VERSION} suite=${SUITE} packages=${PACKAGES[*]}"

BASE_MARKER=".trackgate-debootstrap-done"   # written after debootstrap succeeded
READY_MARKER=".trackgate-swift-ready"       # written after the package install succeeded
CHROOT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

log() { printf '[swift-env] %s\n' "$*" >&2; }
die() { printf '[swift-env] ERROR: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

usage() {
  sed -n '2,/^set -euo pipefail/{/^#/s/^# \{0,1\}//p}' "$SCRIPT_PATH" >&2
  exit "${1:-2}"
}

normalize_root() {
  [[ "$ROOT" == /* ]] || die "TRACKGATE_SWIFT_ROOT must be an absolute path (got '$ROOT')"
  ROOT="$(realpath -m -- "$ROOT")"
  case "$ROOT" in
    / | /bin | /boot | /dev | /etc | /home | /lib* | /proc | /root | /run | /sbin | /sys | /tmp | /usr | /var | /var/cache | /work)
      die "refusing to use '$ROOT' as the Swift root: pick a dedicated directory" ;;
  esac
  LOCK_FILE="${ROOT}.lock"
}

require_root_user() {
  [[ "$(id -u)" == 0 ]] || die "needs root (debootstrap, chroot and mount do); run it with sudo"
}

# Mount points at or under $1 in this process's mount namespace, deepest first.
mounts_under() {
  local base="$1"
  awk '{ print $5 }' /proc/self/mountinfo \
    | sed -e 's/\\040/ /g' -e 's/\\011/\t/g' -e 's/\\134/\\/g' \
    | awk -v b="$base" '$0 == b || index($0, b "/") == 1' \
    | sort -r
}

# Unmount anything under the root that is visible in the host namespace. Our
# own mounts never are (they live in private namespaces), so these are stale.
cleanup_stale_mounts() {
  local m left
  while IFS= read -r m; do
    [[ -n "$m" ]] || continue
    log "stale mount under the root (not made by a live swift-env run): $m; unmounting"
    umount -- "$m" 2>/dev/null || umount -l -- "$m" || true
  done < <(mounts_under "$ROOT")
  left="$(mounts_under "$ROOT")"
  [[ -z "$left" ]] || die "could not unmount under $ROOT:"$'\n'"$left"
}

# Delete the root. Never while anything is mounted under it: a bind mount of the
# repo inside it would otherwise be deleted too (rm --one-file-system does not
# stop at bind mounts of the same filesystem).
remove_root() {
  cleanup_stale_mounts
  [[ -z "$(mounts_under "$ROOT")" ]] || die "mounts remain under $ROOT; not deleting"
  log "removing $ROOT"
  rm -rf --one-file-system -- "$ROOT"
}

lock_shared() {
  mkdir -p -- "$(dirname -- "$ROOT")"
  exec 9>>"$LOCK_FILE"
  if ! flock -s -n 9; then
    log "waiting for another swift-env process (creating or resetting the root) to finish..."
    flock -s 9
  fi
}

lock_exclusive() {
  mkdir -p -- "$(dirname -- "$ROOT")"
  exec 9>>"$LOCK_FILE"
  flock -u 9
  if ! flock -x -n 9; then
    log "waiting for other swift-env runs on $ROOT to finish..."
    flock -x 9
  fi
}

root_ready() {
  # usr/bin/swift is an absolute symlink (-> /usr/libexec/swift/bin/swift), which
  # only resolves inside the chroot: test for the link, not its target.
  [[ -f "$ROOT/$READY_MARKER" && ( -L "$ROOT/usr/bin/swift" || -e "$ROOT/usr/bin/swift" ) ]] \
    && [[ "$(cat -- "$ROOT/$READY_MARKER")" == "$FINGERPRINT" ]]
}

ensure_host_tools() {
  local missing=()
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
  command -v unshare >/dev/null 2>&1 || missing+=(util-linux)
  command -v flock >/dev/null 2>&1 || missing+=(util-linux)
  command -v chroot >/dev/null 2>&1 || missing+=(coreutils)
  [[ ${#missing[@]} -eq 0 ]] && return 0
  command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and no apt-get to install them"
  log "installing on the host with apt: ${missing[*]}"
  local t0; t0="$(now)"
  apt-get update -qq || log "apt-get update reported errors; trying the install anyway"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  log "host tools installed in $(since "$t0")"
}

sync_resolv_conf() {
  # The chroot needs DNS for apt. Replace, never write through, whatever is at
  # the target: a symlink there (systemd-resolved style) would point at the host.
  local dst="$ROOT/etc/resolv.conf"
  if [[ -f /etc/resolv.conf ]] && ! { [[ -f "$dst" && ! -L "$dst" ]] && cmp -s /etc/resolv.conf "$dst"; }; then
    cp -L -- /etc/resolv.conf "$dst.swift-env.$$"
    mv -f -- "$dst.swift-env.$$" "$dst"
  fi
}

# Build or repair the root. Caller holds the exclusive lock.
build_root() {
  local t_all t0
  t_all="$(now)"
  ensure_host_tools
  cleanup_stale_mounts

  if [[ ! -f "$ROOT/$BASE_MARKER" ]]; then
    if [[ -e "$ROOT" ]]; then
      log "$ROOT exists but debootstrap never finished there (interrupted setup?): starting over"
      remove_root
    fi
    log "debootstrap --variant=minbase $SUITE $ROOT $MIRROR (about 30 s)"
    t0="$(now)"
    mkdir -p -- "$ROOT"
    # In a private mount namespace: the /proc and /sys debootstrap mounts in the
    # target disappear with it, even if it is killed.
    if ! unshare --mount --propagation private -- \
        debootstrap --variant=minbase "$SUITE" "$ROOT" "$MIRROR" >"$ROOT.debootstrap.log" 2>&1; then
      tail -n 30 -- "$ROOT.debootstrap.log" >&2 || true
      die "debootstrap failed (full log: $ROOT.debootstrap.log); the next 'ensure' starts over"
    fi
    date -u +%FT%TZ >"$ROOT/$BASE_MARKER"
    log "debootstrap done in $(since "$t0")"
  else
    log "base system present; (re)installing packages only"
  fi

  rm -f -- "$ROOT/$READY_MARKER"
  sync_resolv_conf
  # No service starts inside the chroot during package installs.
  printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
  chmod 755 "$ROOT/usr/sbin/policy-rc.d"

  log "installing in the root: ${PACKAGES[*]} (about 1-2 min)"
  t0="$(now)"
  run_in_root / --env DEBIAN_FRONTEND=noninteractive -- /bin/sh -euc '
    dpkg --configure -a   # finishes an install that an earlier run was interrupted in
    apt-get -o Acquire::Retries=3 update -qq
    apt-get -o Acquire::Retries=3 install -y -qq --no-install-recommends "$@" >/dev/null
    apt-get clean
    rm -rf /var/lib/apt/lists/*
  ' install-packages "${PACKAGES[@]}" \
    || die "package install inside the root failed; the next 'ensure' retries it"
  log "packages installed in $(since "$t0")"

  local ver
  ver="$(run_in_root / -- swift --version 2>&1 | head -n 1)" || die "swift does not run inside the root: $ver"
  printf '%s\n' "$FINGERPRINT" >"$ROOT/$READY_MARKER"
  log "root ready: $ROOT ($ver); setup took $(since "$t_all")"
}

# Make sure the root is ready; returns holding the shared lock on fd 9.
ensure_root() {
  local t0
  t0="$(now)"
  require_root_user
  lock_shared
  if root_ready; then
    cleanup_stale_mounts
    log "root ready at $ROOT (checked in $(since "$t0"))"
    return 0
  fi
  lock_exclusive
  if ! root_ready; then
    if [[ -f "$ROOT/$READY_MARKER" ]]; then
      log "root at $ROOT was set up by a different recipe; updating it"
    elif [[ -e "$ROOT" ]]; then
      log "root at $ROOT is incomplete (no ready marker); repairing"
    else
      log "no root at $ROOT yet; creating it"
    fi
    build_root
  fi
  # Downgrade so other runs can proceed.
  flock -s 9
}

# Refuse bind targets that would shadow the root's own system directories.
check_bind_dir() {
  local d="$1"
  [[ -d "$d" ]] || die "not a directory: $d"
  case "$d" in
    / | /bin | /bin/* | /boot | /boot/* | /dev | /dev/* | /etc | /etc/* | /lib* | /proc | /proc/* \
      | /root | /run | /run/* | /sbin | /sbin/* | /sys | /sys/* | /usr | /usr/* | /var | /var/lib | /var/lib/* \
      | /tmp | /home)
      die "refusing to bind-mount system directory '$d' into the root; use a subdirectory" ;;
  esac
  case "$d/" in
    "$ROOT"/*) die "refusing to bind-mount '$d': it is inside the Swift root" ;;
  esac
  case "$ROOT/" in
    "$d"/*) die "refusing to bind-mount '$d': it contains the Swift root" ;;
  esac
}

# run_in_root WORKDIR [--bind DIR]... [--env N=V]... -- CMD...
# WORKDIR and DIRs are absolute host paths, mounted at the same path inside.
run_in_root() {
  local rc=0
  # fd 9 (the lock) stays open in the inner shell, so the lock is held for as
  # long as it runs even if this process is killed; the command itself does not get it.
  unshare --mount --propagation private -- bash "$SCRIPT_PATH" __inner "$ROOT" "$@" || rc=$?
  return "$rc"
}

# Runs inside the private mount namespace. Arguments as for run_in_root.
inner() {
  local root="$1" workdir="$2"
  shift 2
  local binds=() envs=()
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --bind) binds+=("$2"); shift 2 ;;
      --env) envs+=("$2"); shift 2 ;;
      --) shift; break ;;
      *) die "internal: unexpected argument '$1'" ;;
    esac
  done
  [[ "$workdir" == / ]] || binds=("$workdir" "${binds[@]}")

  MOUNTED=()
  RUN_TMP=""
  # shellcheck disable=SC2317  # invoked by the traps below
  inner_cleanup() {
    local i
    for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do
      umount -- "${MOUNTED[i]}" 2>/dev/null || umount -l -- "${MOUNTED[i]}" 2>/dev/null || true
    done
    # Only after the unmounts: never delete through a mount.
    if [[ -n "$RUN_TMP" && -z "$(mounts_under "$RUN_TMP")" ]]; then
      rm -rf --one-file-system -- "$RUN_TMP"
    fi
  }
  CHILD=""
  # A signal before the command started ends the run; once it runs, the
  # signal is passed on to it and we wait for it (then clean up).
  # shellcheck disable=SC2317  # invoked by the traps below
  on_signal() {
    if [[ -n "$CHILD" ]]; then
      kill -s "$1" "$CHILD" 2>/dev/null || true
    else
      exit "$2"
    fi
  }
  trap inner_cleanup EXIT
  trap 'on_signal INT 130' INT
  trap 'on_signal TERM 143' TERM
  trap 'on_signal HUP 129' HUP

  # Make sure nothing we mount propagates anywhere (belt and braces on top of
  # unshare --propagation private).
  mount --make-rprivate / 2>/dev/null || true

  mount -t proc proc "$root/proc" || die "cannot mount /proc in $root"
  MOUNTED+=("$root/proc")
  mount --bind /dev "$root/dev" || die "cannot bind-mount /dev into $root"
  MOUNTED+=("$root/dev")
  # The host's ptys, matching the host /dev/ptmx (interactive `run DIR -- bash`); optional.
  if mount --bind /dev/pts "$root/dev/pts" 2>/dev/null; then
    MOUNTED+=("$root/dev/pts")
  fi
  mount -t tmpfs -o mode=1777,size=1g tmpfs "$root/dev/shm" || die "cannot mount /dev/shm in $root"
  MOUNTED+=("$root/dev/shm")

  # A private TMPDIR per run, deleted afterwards: SwiftPM and the compiler
  # otherwise pile up TemporaryDirectory.* and lock files in the root's /tmp.
  [[ -d "$root/tmp" ]] || install -d -m 1777 "$root/tmp"
  RUN_TMP="$(mktemp -d "$root/tmp/swift-env-run.XXXXXX")"
  chmod 1777 "$RUN_TMP"

  local d target
  for d in "${binds[@]}"; do
    target="$root$d"
    mkdir -p -- "$target"
    # mkdir -p follows symlinks inside the root; an absolute one (e.g. var/run
    # -> /run) would land the mount point on the host. Require a plain path.
    [[ "$(realpath -- "$target")" == "$target" ]] \
      || die "mount point $target goes through a symlink inside the root; bind a different directory"
    mount --bind -- "$d" "$target" || die "cannot bind-mount $d"
    MOUNTED+=("$target")
  done

  local env_args=(
    HOME=/root USER=root LOGNAME=root SHELL=/bin/bash
    PATH="$CHROOT_PATH" LANG=C.UTF-8 TMPDIR="${RUN_TMP#"$root"}" TERM="${TERM:-dumb}"
    TRACKGATE_SWIFT_CHROOT=1
  )
  [[ -n "${CI:-}" ]] && env_args+=(CI="$CI")
  env_args+=("${envs[@]}")

  # The command runs as a background job so that `wait` can be interrupted and
  # a SIGTERM sent to this process alone (e.g. by `timeout`) reaches it. A
  # background job of a non-interactive bash would get stdin from /dev/null and
  # SIGINT/SIGQUIT ignored: the explicit <&0 and env --default-signal undo that.
  local rc=0
  # shellcheck disable=SC2016  # $1/$@ are for the inner sh
  env -i --default-signal=INT,QUIT "${env_args[@]}" \
    chroot "$root" /bin/sh -c 'cd "$1" || exit 125; shift; exec "$@"' swift-env "$workdir" "$@" <&0 9>&- &
  CHILD=$!
  while :; do
    rc=0
    wait "$CHILD" || rc=$?
    # wait returns early (status > 128) when a trapped signal arrives; the
    # command is then still running, so wait again.
    kill -0 "$CHILD" 2>/dev/null || break
  done
  if [[ -n "${SWIFT_ENV_RUN_T0:-}" ]]; then
    log "exit code $rc after $(since "$SWIFT_ENV_RUN_T0")"
  fi
  exit "$rc"
}

cmd_ensure() {
  local t0; t0="$(now)"
  ensure_root
  log "ensure finished in $(since "$t0")"
}

cmd_run() {
  local binds=() envs=() host_dir=""
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --bind) [[ $# -ge 2 ]] || die "--bind needs a directory"; binds+=("$2"); shift 2 ;;
      --bind=*) binds+=("${1#--bind=}"); shift ;;
      --env) [[ $# -ge 2 ]] || die "--env needs NAME=VALUE"; envs+=("$2"); shift 2 ;;
      --env=*) envs+=("${1#--env=}"); shift ;;
      --) die "run: HOST_DIR missing before '--'" ;;
      -h | --help) usage 0 ;;
      -*) die "run: unknown option '$1'" ;;
      *) host_dir="$1"; shift; break ;;
    esac
  done
  [[ -n "$host_dir" ]] || die "usage: swift-env.sh run [--bind DIR]... [--env NAME=VALUE]... HOST_DIR -- CMD [ARGS...]"
  [[ "${1:-}" == "--" ]] || die "run: expected '--' after HOST_DIR, then the command"
  shift
  [[ $# -gt 0 ]] || die "run: no command after '--'"

  normalize_root
  host_dir="$(realpath -e -- "$host_dir")" || die "run: no such directory"
  check_bind_dir "$host_dir"
  local args=("$host_dir") d e
  for d in "${binds[@]}"; do
    d="$(realpath -e -- "$d")" || die "run: --bind: no such directory"
    check_bind_dir "$d"
    args+=(--bind "$d")
  done
  for e in "${envs[@]}"; do
    [[ "$e" == [A-Za-z_]*=* ]] || die "run: --env wants NAME=VALUE, got '$e'"
    args+=(--env "$e")
  done

  ensure_root
  sync_resolv_conf
  log "run in $host_dir: $*"
  # exec: the process the caller started (and may signal) becomes the one that
  # owns the mounts and the command; it still holds the lock on fd 9.
  SWIFT_ENV_RUN_T0="$(now)" exec unshare --mount --propagation private -- \
    bash "$SCRIPT_PATH" __inner "$ROOT" "${args[@]}" -- "$@"
}

cmd_status() {
  normalize_root
  echo "root:   $ROOT"
  echo "lock:   $LOCK_FILE"
  if root_ready; then
    echo "state:  ready ($(du -sh --one-file-system -- "$ROOT" 2>/dev/null | cut -f1))"
    echo "swift:  $(dpkg-query --admindir="$ROOT/var/lib/dpkg" -W -f '${Package} ${Version}' swiftlang 2>/dev/null)"
  elif [[ -e "$ROOT" ]]; then
    echo "state:  incomplete (the next 'ensure' repairs it)"
  else
    echo "state:  absent (the next 'ensure' creates it)"
  fi
  local m; m="$(mounts_under "$ROOT")"
  echo "host mounts under root: ${m:-none}"
}

cmd_reset() {
  require_root_user
  normalize_root
  lock_exclusive
  if [[ -e "$ROOT" ]]; then
    remove_root
    rm -f -- "$ROOT.debootstrap.log"
    log "removed; the next 'ensure' recreates it"
  else
    log "nothing to remove at $ROOT"
  fi
}

cmd_selftest() {
  local t_all t0 tmp rc
  t_all="$(now)"
  normalize_root
  command -v gcc >/dev/null 2>&1 || die "selftest needs gcc on the host (apt-get install gcc)"

  t0="$(now)"
  ( ensure_root )
  log "selftest: ensure took $(since "$t0")"

  tmp="$(mktemp -d /tmp/trackgate-swift-selftest.XXXXXX)"
  if [[ -n "${TRACKGATE_SWIFT_SELFTEST_KEEP:-}" ]]; then
    log "selftest: keeping the fixture in $tmp (TRACKGATE_SWIFT_SELFTEST_KEEP)"
  else
    # The empty mount points the runs left inside the root are removed too.
    # shellcheck disable=SC2064
    trap "rm -rf -- '$tmp'; rmdir -- '$ROOT$tmp/pkg' '$ROOT$tmp/lib' '$ROOT$tmp' 2>/dev/null || true" EXIT
  fi
  local pkg="$tmp/pkg" lib="$tmp/lib"
  mkdir -p "$lib" "$pkg/Sources/CGreeting" "$pkg/Sources/Greeting" "$pkg/Sources/NetCheck" "$pkg/Tests/GreetingTests"

  # --- the C library, built on the host like the Rust cdylib will be ---
  cat >"$pkg/Sources/CGreeting/greeting.h" <<'EOF'
#pragma once
#include <stdint.h>
int32_t greeting_add(int32_t a, int32_t b);
EOF
  cat >"$tmp/greeting.c" <<'EOF'
#include "greeting.h"
int32_t greeting_add(int32_t a, int32_t b) { return a + b; }
EOF
  gcc -shared -fPIC -O2 -Wall -Werror -I"$pkg/Sources/CGreeting" -o "$lib/libgreeting.so" "$tmp/greeting.c"
  log "selftest: host gcc built $lib/libgreeting.so"

  # --- a SwiftPM package shaped like UniFFI's output: header + modulemap ---
  cat >"$pkg/Sources/CGreeting/module.modulemap" <<'EOF'
module CGreeting [system] {
    header "greeting.h"
    link "greeting"
    export *
}
EOF
  cat >"$pkg/Package.swift" <<'EOF'
// swift-tools-version:5.9
import PackageDescription

let package = Package(
    name: "GreetingSelftest",
    products: [.library(name: "Greeting", targets: ["Greeting"])],
    targets: [
        .systemLibrary(name: "CGreeting", path: "Sources/CGreeting"),
        .target(name: "Greeting", dependencies: ["CGreeting"]),
        .executableTarget(name: "NetCheck"),
        .testTarget(name: "GreetingTests", dependencies: ["Greeting"]),
    ]
)
EOF
  cat >"$pkg/Sources/Greeting/Greeting.swift" <<'EOF'
import CGreeting

public enum Greeting {
    public static func add(_ a: Int32, _ b: Int32) -> Int32 { greeting_add(a, b) }
}
EOF
  cat >"$pkg/Tests/GreetingTests/GreetingTests.swift" <<'EOF'
import Foundation
import XCTest
@testable import Greeting

final class GreetingTests: XCTestCase {
    func testAddCallsTheHostBuiltLibrary() {
        XCTAssertEqual(Greeting.add(2, 3), 5)
        XCTAssertEqual(Greeting.add(-7, 7), 0)
    }

    func testFailsOnRequest() {
        // Lets the selftest prove that a failing test fails `swift test`.
        if ProcessInfo.processInfo.environment["SELFTEST_FORCE_FAILURE"] == "1" {
            XCTFail("failure requested by SELFTEST_FORCE_FAILURE")
        }
    }
}
EOF
  cat >"$pkg/Sources/NetCheck/main.swift" <<'EOF'
import Foundation
import FoundationNetworking

// No network traffic: only prove the module links and libcurl loads.
let session = URLSession(configuration: .ephemeral)
let request = URLRequest(url: URL(string: "http://127.0.0.1:9/")!)
let encoded = try! JSONEncoder().encode(["ok": true])
print("FoundationNetworking OK: \(type(of: session)) \(request.httpMethod ?? "?") \(String(decoding: encoded, as: UTF8.self))")
session.invalidateAndCancel()
EOF

  local run=("$SCRIPT_PATH" run --bind "$lib" --env "LD_LIBRARY_PATH=$lib" "$pkg" --)

  t0="$(now)"
  "${run[@]}" swift build -Xlinker -L"$lib" 2>&1 | tee "$tmp/build.log" >&2
  rc=${PIPESTATUS[0]}
  [[ $rc -eq 0 ]] || die "selftest: swift build failed (exit $rc)"
  log "selftest: swift build took $(since "$t0")"

  t0="$(now)"
  "${run[@]}" swift test -Xlinker -L"$lib" 2>&1 | tee "$tmp/test.log" >&2
  rc=${PIPESTATUS[0]}
  [[ $rc -eq 0 ]] || die "selftest: swift test failed (exit $rc)"
  grep -q "Test Case '.*testAddCallsTheHostBuiltLibrary' passed" "$tmp/test.log" \
    || die "selftest: swift test output does not show testAddCallsTheHostBuiltLibrary passing"
  grep -Eq "Executed 2 tests, with 0 failures" "$tmp/test.log" \
    || die "selftest: swift test output does not show 'Executed 2 tests, with 0 failures'"
  log "selftest: swift test passed in $(since "$t0")"

  t0="$(now)"
  "${run[@]}" .build/debug/NetCheck 2>&1 | tee "$tmp/net.log" >&2
  rc=${PIPESTATUS[0]}
  if [[ $rc -ne 0 ]] || ! grep -q "FoundationNetworking OK: URLSession" "$tmp/net.log"; then
    die "selftest: the Foundation/FoundationNetworking snippet failed (exit $rc)"
  fi
  log "selftest: Foundation + FoundationNetworking OK in $(since "$t0")"

  # Failures must surface as a non-zero exit, from swift test and from run.
  t0="$(now)"
  rc=0
  "$SCRIPT_PATH" run --bind "$lib" --env "LD_LIBRARY_PATH=$lib" --env SELFTEST_FORCE_FAILURE=1 "$pkg" -- \
    swift test -Xlinker -L"$lib" >"$tmp/fail.log" 2>&1 || rc=$?
  [[ $rc -ne 0 ]] || die "selftest: a failing XCTest did not make 'run ... swift test' exit non-zero"
  grep -q "failure requested by SELFTEST_FORCE_FAILURE" "$tmp/fail.log" \
    || die "selftest: the forced failure did not show in swift test output"
  rc=0
  "$SCRIPT_PATH" run "$pkg" -- sh -c 'exit 7' 2>/dev/null || rc=$?
  [[ $rc -eq 7 ]] || die "selftest: 'run ... -- sh -c \"exit 7\"' returned $rc, expected 7"
  log "selftest: failing test and 'exit 7' propagate (exit codes non-zero / 7) in $(since "$t0")"

  local left; left="$(mounts_under "$ROOT")"
  [[ -z "$left" ]] || die "selftest: mounts left under $ROOT:"$'\n'"$left"
  log "selftest: no mounts left under $ROOT"
  log "selftest PASSED in $(since "$t_all")"
}

main() {
  local cmd="${1:-}"
  [[ $# -gt 0 ]] && shift
  case "$cmd" in
    ensure) normalize_root; cmd_ensure "$@" ;;
    run) cmd_run "$@" ;;
    selftest) cmd_selftest "$@" ;;
    status) cmd_status "$@" ;;
    reset) cmd_reset "$@" ;;
    __inner) inner "$@" ;;
    -h | --help | help) usage 0 ;;
    *) usage 2 ;;
  esac
}

main "$@"
