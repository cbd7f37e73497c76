#!/usr/bin/env bash
# Runs the tests that exercise trackgate-core's only `unsafe` code (the thread-local hot lane in
# core/src/engine/lane.rs, `Engine::hot_lane`) under Miri, which fails on any use of a lane after it was released, any
# aliasing violation and any data race it observes.
#
# core/tests/lanes.rs covers every way the thread's lane cache changes: more engines than cache
# entries, threads exiting (cache teardown), a Decider sharing the thread, plan and unit changes,
# and clocks that decide, install plans and take reports re-entrantly under a decision. Then the
# FFI crate's one `unsafe` block (a C caller's name bytes, `name_bytes` in
# bindings/ffi/src/scalar.rs) on valid, empty, null and impossible pointers and lengths.
# About 1.5 minutes (plus the FFI crate's dependencies built for Miri once). Installs the pinned nightly (scripts/nightly-toolchain) with the miri and
# rust-src components if they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

toolchain=$(cat scripts/nightly-toolchain)
installed=$(rustup component list --toolchain "$toolchain" --installed 2>/dev/null || true)
if ! grep -q '^miri' <<<"$installed" || ! grep -q '^rust-src' <<<"$installed"; then
    rustup toolchain install "$toolchain" --profile minimal --component miri,rust-src
fi
# Miri keeps its own target directory (target/miri); `miri setup` builds its sysroot once.
cargo "+$toolchain" miri setup >/dev/null 2>&1 || cargo "+$toolchain" miri setup
cargo "+$toolchain" miri test -p trackgate-core --test lanes
# The FFI crate's only `unsafe`: reading a caller's name bytes (bindings/ffi/src/scalar.rs).
cargo "+$toolchain" miri test -p trackgate-ffi --lib scalar::tests
