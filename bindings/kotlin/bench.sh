#!/usr/bin/env bash
# Per-call cost of the Kotlin bindings (JMH-style: forks, warm-up, fixed-time iterations,
# medians), against the release build of the library. Prints a Markdown table for
# docs/performance.md. Not part of the tests; takes about 4.5 minutes with the defaults.
#
#   bash bindings/kotlin/bench.sh            # every case
#   BENCH_FORKS=1 BENCH_ITERATIONS=3 BENCH_CASES=track,trackAll bash bindings/kotlin/bench.sh
#   BENCH_JVM_OPTS=-XX:+UseParallelGC BENCH_BATCH=100 bash bindings/kotlin/bench.sh
set -euo pipefail
# Maven 3.8 prints stray ANSI resets on exit when its output is not a terminal.
export MAVEN_OPTS="${MAVEN_OPTS:-} -Djansi.noreset=true"
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$repo/target}

bash "$here/generate.sh" --release
mvn -q -B -f "$here/pom.xml" test-compile

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$target/release/trackgate" keygen --out "$work/keys" >/dev/null
{
    printf '{"schema": 1, "app": "bench", "env": "prod", "version": 1, "events": {'
    for i in $(seq 0 49); do
        printf '%s"bench.event_%02d": {"priority": "P2"}' "$([ "$i" -gt 0 ] && echo ,)" "$i"
    done
    printf '}}\n'
} >"$work/plan.json"
"$target/release/trackgate" build "$work/plan.json" --key "$work/keys/signing.key" --version 1 \
    --out "$work/plan.tgplan" >/dev/null

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores," \
    "load $(cut -d' ' -f1-3 /proc/loadavg); $(java -version 2>&1 | head -1); JVM options: -Xmx256m" \
    "${BENCH_JVM_OPTS:-(default G1)}; $(date -u +%Y-%m-%d)"
classpath="$here/target/test-classes:$here/target/classes:$(cat "$here/target/test-classpath.txt")"
# shellcheck disable=SC2086 # BENCH_JVM_OPTS is a list of JVM options; forks inherit them.
java -Xms256m -Xmx256m ${BENCH_JVM_OPTS:-} -cp "$classpath" \
    -Djna.library.path="$target/release" \
    -Dbench.envelope="$work/plan.tgplan" -Dbench.publicKey="$work/keys/public.hex" \
    -Dbench.forks="${BENCH_FORKS:-3}" -Dbench.warmups="${BENCH_WARMUPS:-3}" \
    -Dbench.iterations="${BENCH_ITERATIONS:-5}" -Dbench.iterationMillis="${BENCH_ITERATION_MILLIS:-1000}" \
    -Dbench.batch="${BENCH_BATCH:-1000}" \
    ${BENCH_CASES:+-Dbench.cases="$BENCH_CASES"} \
    dev.trackgate.bench.CallCostBench
