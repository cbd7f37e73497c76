#!/usr/bin/env bash
# The one command that runs every check: formatting, lints, all tests (Rust unit, integration and
# doc tests; the Python cross-check of the shared vectors), and the benchmark checks.
# It installs what it needs first, so it works on a fresh machine; CI (`.ci/run`) calls it.
set -euo pipefail
cd "$(dirname "$0")/.."

# Each step's duration is printed when the next begins and again in a table at the end, so a
# slow run's log says where the time went.
started=$SECONDS
step_name=""
step_started=$SECONDS
timings=()
finish_step() {
    if [ -n "$step_name" ]; then
        timings+=("$(printf '%5d s  %s' $((SECONDS - step_started)) "$step_name")")
        printf '<== %s: %d s\n' "$step_name" $((SECONDS - step_started))
    fi
}
step() {
    finish_step
    step_name=$*
    step_started=$SECONDS
    printf '\n==> %s  [+%d s]\n' "$*" $((SECONDS - started))
}

step "toolchain and packages"
bash scripts/install-deps.sh

step "format"
cargo fmt --all -- --check

step "lint"
cargo clippy --workspace --all-targets -- -D warnings

step "Rust tests (unit, integration, doc)"
# The report test renders its page in a real Chromium: fail rather than skip when it is missing.
export TRACKGATE_REQUIRE_CHROMIUM=1
cargo test --workspace

step "Miri: the core's thread-local hot lane (its only unsafe code) under the lane tests"
bash scripts/miri.sh

step "signed delivery against a real nginx (ETag, 304)"
bash delivery/scripts/nginx-interop.sh

step "Python bindings: build the trackgate wheel into a venv and run its tests"
bash bindings/python/test.sh

step "Kotlin bindings: JUnit 5 on the JVM through JNA, against a real trackgate serve"
bash bindings/kotlin/test.sh

step "Flink job: real Kafka (KRaft) and Flink mini-clusters; parity, live swap, crash, bad input"
bash streaming/flink/test.sh

step "Swift bindings: XCTests in a Swift 6 chroot, against a real trackgate serve"
bash bindings/swift/test.sh

step "mobile demo: Kotlin and Swift apps pick up signed plans mid-session; collector checked"
bash mobile-demo/run.sh

step "FFI library: arm64 cross-build, 16 KB LOAD alignment, stripped sizes"
bash bindings/ffi/scripts/cross-check.sh

step "sample projects: docs/quickstart.md run as written (Kotlin artifact, Python wheel, SwiftPM by path)"
# After the Python, Kotlin, Swift and cross-check steps, whose builds it reuses (the venv's
# wheel build, the shipped libraries, the Swift root); samples/test.sh prints each platform's time.
bash samples/test.sh

step "Python: shared sampling vectors against an independent xxhash"
python3 -m pytest tests/python -q

step "Spark parity: the exported SQL in real PySpark against the filter, 1,000,000 events"
python3 -m pytest tests/spark -q

step "instruction counts against the committed baseline"
bash benches/callgrind.sh

step "benchmarks run (criterion's test mode: each bench once, debug build; figures: benches/run-short.sh)"
cargo test --workspace --benches

finish_step
printf '\n==> step times\n'
printf '%s\n' "${timings[@]}"
printf '==> done in %d s\n' $((SECONDS - started))
