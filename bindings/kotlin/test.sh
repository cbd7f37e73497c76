#!/usr/bin/env bash
# The Kotlin bindings' test command: builds the host library and the trackgate CLI, generates
# the bindings, and runs the JUnit 5 suite with Maven against that library.
#
#   bash bindings/kotlin/test.sh [extra mvn arguments, e.g. -Dtest=ReportTest]
#
# Needs Java 17+ and Maven 3.8+ (Maven downloads the pinned dependencies on first use).
set -euo pipefail
# Maven 3.8 prints stray ANSI resets on exit when its output is not a terminal.
export MAVEN_OPTS="${MAVEN_OPTS:-} -Djansi.noreset=true"
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$repo/target}

for tool in java mvn cargo; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "bindings/kotlin/test.sh: '$tool' not found (needs Java 17+, Maven 3.8+ and Rust)" >&2
        exit 2
    }
done

started=$SECONDS
bash "$here/generate.sh"
echo "kotlin: library and bindings ready in $((SECONDS - started)) s"

rm -rf "$here/target/surefire-reports"
mvn -q -B -f "$here/pom.xml" test \
    -Dtrackgate.native.dir="$target/debug" \
    -Dtrackgate.cli="$target/debug/trackgate" \
    "$@"

# One summary line from the Surefire reports (mvn -q prints only failures).
bash "$repo/scripts/surefire-summary.sh" kotlin "$here/target/surefire-reports"
echo "kotlin: done in $((SECONDS - started)) s"
