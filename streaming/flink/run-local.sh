#!/usr/bin/env bash
# A local run of the Flink job on this machine, no Docker: `trackgate` makes a publisher key and
# two signed plans, then LocalRun starts a real Kafka broker in KRaft mode (from the kafka_2.13
# artifacts Maven resolves) in a child JVM, creates the topics, runs the job on a local Flink
# mini-cluster, writes sample events, publishes plan 2 live and prints what the job committed.
#
#   bash streaming/flink/run-local.sh [PLAN.json]     (default: cli/src/sample_plan.json)
set -euo pipefail
export MAVEN_OPTS="${MAVEN_OPTS:-} -Djansi.noreset=true"
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
plan=${1:-$repo/cli/src/sample_plan.json}
work=$(mktemp -d -t trackgate-flink-XXXX)
trap 'rm -rf "$work"' EXIT

(cd "$repo" && cargo build -q --release -p trackgate-stream -p trackgate-cli)
tg="$repo/target/release/trackgate"
mvn -q -B -f "$here/pom.xml" test-compile dependency:build-classpath -Dmdep.outputFile="$work/classpath.txt"

app=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["app"])' "$plan")
env=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["env"])' "$plan")
"$tg" keygen --out "$work/keys" >/dev/null
"$tg" build "$plan" --key "$work/keys/signing.key" --version 1 --out "$work/plan-1.tgplan"
"$tg" build "$plan" --key "$work/keys/signing.key" --version 2 --out "$work/plan-2.tgplan"
python3 - "$plan" > "$work/events.ndjson" <<'PY'
import json, sys
names = list(json.load(open(sys.argv[1]))["events"]) + ["not.in.plan"]
for i in range(20000):
    print(json.dumps({"event": names[i % len(names)], "unit_id": f"u{i % 997}", "n": i}))
PY

java -Djna.library.path="$repo/target/release" \
    -cp "$here/target/classes:$here/target/test-classes:$(cat "$work/classpath.txt")" \
    dev.trackgate.flink.LocalRun "$work/events.ndjson" "$work/plan-1.tgplan" "$work/plan-2.tgplan" \
    "$work/keys/public.key" "$app" "$env"
