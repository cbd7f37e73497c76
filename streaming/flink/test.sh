#!/usr/bin/env bash
# The Flink job's test command: builds the native stream library and the trackgate CLI (debug,
# as `cargo test` does), then runs the JUnit 5 suite with Maven: a real KRaft Kafka broker in a
# child JVM, Flink mini-clusters, and the parity, live swap, crash and bad input tests.
#
#   bash streaming/flink/test.sh [extra mvn arguments, e.g. -Dtest=ParityTest]
#
# Needs Java 17+, Maven 3.8+ and Rust; Maven downloads the pinned dependencies on first use.
set -euo pipefail
export MAVEN_OPTS="${MAVEN_OPTS:-} -Djansi.noreset=true"
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$repo/target}

for tool in java mvn cargo; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "streaming/flink/test.sh: '$tool' not found (needs Java 17+, Maven 3.8+ and Rust)" >&2
        exit 2
    }
done

started=$SECONDS
# The CLI with the workspace's features (as `cargo test --workspace` builds it); the stream
# library alone, as it is deployed.
(cd "$repo" && cargo build -q --workspace --bins && cargo build -q -p trackgate-stream)
echo "flink: native library and CLI ready in $((SECONDS - started)) s"

rm -rf "$here/target/surefire-reports"
mvn -q -B -f "$here/pom.xml" verify \
    -Dtrackgate.native.dir="$target/debug" \
    -Dtrackgate.cli="$target/debug/trackgate" \
    "$@"

bash "$repo/scripts/surefire-summary.sh" flink "$here/target/surefire-reports"
grep -ho 'trackgate-figure .*' "$here"/target/surefire-reports/*-output.txt 2>/dev/null || true
echo "flink: done in $((SECONDS - started)) s"
