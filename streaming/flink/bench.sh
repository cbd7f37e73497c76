#!/usr/bin/env bash
# Benchmarks of the Flink job (docs/performance.md, "Real-time job (Flink)"); not run by CI or
# test.sh. Builds the release native library and CLI, then runs, in one JVM each:
#   ThroughputBench: the job's decide path, parallelism 1, on a local Flink environment, from
#     memory to a counting, discarding sink (Kafka is not measured), against
#     `trackgate filter --threads 1` on the same lines and plan, per plan size; medians of RUNS
#     runs after a warm-up, with the share of time inside the native filter call; then
#     CrossingBench, the crossing's own cost per block: the JVM's per-block time (packing, the
#     JNA call, unpacking) against the Rust filter alone on the same block (the example
#     streaming/native/examples/block_time.rs), as a share of the job's time per event;
#   PlanMemory: resident memory of the native side per task (two tasks) with a large plan installed.
#
#   bash streaming/flink/bench.sh [--plans 200,50000] [--events 2000000] [--runs 5] [--memory-plan 500000]
#
# Run it on an otherwise idle machine, without `nice`; it prints the load average beside each run.
set -euo pipefail
export MAVEN_OPTS="${MAVEN_OPTS:-} -Djansi.noreset=true"
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$repo/target}
plans=200,50000
events=2000000
runs=5
# 500,000 events make a 9.4 MB envelope: over the devices' 8 MiB cap, within the job's
# --max-envelope-bytes (32 MiB by default).
memory_plan=500000
while [ $# -gt 0 ]; do
    case "$1" in
        --plans) plans=$2 ;;
        --events) events=$2 ;;
        --runs) runs=$2 ;;
        --memory-plan) memory_plan=$2 ;;
        *) echo "usage: bench.sh [--plans N,N] [--events N] [--runs N] [--memory-plan N]" >&2; exit 2 ;;
    esac
    shift 2
done
work=$(mktemp -d -t trackgate-flink-bench-XXXX)
trap 'rm -rf "$work"' EXIT

(cd "$repo" && cargo build -q --release -p trackgate-stream -p trackgate-cli \
    && cargo build -q --release -p trackgate-stream --example block_time)
mvn -q -B -f "$here/pom.xml" test-compile dependency:build-classpath -Dmdep.outputFile="$work/classpath.txt"
classpath="$here/target/classes:$here/target/test-classes:$(cat "$work/classpath.txt")"

echo "trackgate Flink job benchmark, $(date -u +%Y-%m-%dT%H:%MZ), commit $(git -C "$repo" rev-parse --short HEAD)"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "java: $(java -version 2>&1 | head -1)"

java -Xmx3g -Djna.library.path="$target/release" -Dtrackgate.cli="$target/release/trackgate" \
    -Dtrackgate.measure-crossing=true -Dtrackgate.block-time="$target/release/examples/block_time" -cp "$classpath" \
    dev.trackgate.flink.bench.ThroughputBench "$work" "$plans" "$events" "$runs"
java -Xms1g -Xmx1g -XX:+AlwaysPreTouch -Djna.library.path="$target/release" -Dtrackgate.cli="$target/release/trackgate" -cp "$classpath" \
    dev.trackgate.flink.bench.PlanMemory "$work" "$memory_plan" 2
