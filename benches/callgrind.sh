#!/usr/bin/env bash
# benches/callgrind.sh: the CI performance gate. Counts instructions per operation under
# valgrind's callgrind (deterministic, unlike wall-clock on a shared 2-core machine) and fails
# when any count rises more than 10% above benches/baseline/callgrind.json.
#
#   benches/callgrind.sh            compare with the baseline; exit 1 on a >10% rise
#   benches/callgrind.sh --update   measure and rewrite the baseline
#
# Ops: one decide by name (hit and miss), one decide_id (through the Engine and through a Decider),
# one compile of a 5,000-event plan, each
# measured as the instructions inside an #[inline(never)] probe loop divided by its iterations
# (setup and a warm-up pass are excluded; see benches/src/bin/callgrind_probe.rs).
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
baseline="$root/benches/baseline/callgrind.json"
threshold_percent=10
decisions=20000
compiles=5

update=0
case "${1:-}" in
  --update) update=1 ;;
  "") ;;
  *) echo "usage: $0 [--update]" >&2; exit 2 ;;
esac

if ! command -v valgrind >/dev/null 2>&1; then
  echo "valgrind not found; installing it" >&2
  apt-get update -qq && apt-get install -y -qq valgrind >/dev/null
fi

started=$(date +%s)
# The bench profile (optimised, with symbols) shares its build with `cargo bench`.
probe=$(cargo build --quiet --profile bench -p trackgate-benches --bin callgrind_probe --message-format=json \
  | python3 -c '
import json, sys
for line in sys.stdin:
    message = json.loads(line)
    if message.get("reason") == "compiler-artifact" and message["target"]["name"] == "callgrind_probe":
        print(message["executable"])
')
if [[ -z "$probe" || ! -x "$probe" ]]; then
  echo "could not build the callgrind probe" >&2
  exit 2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# measure OP PROBE_FUNCTION ITERATIONS: prints instructions per iteration.
measure() {
  local op=$1 function=$2 iterations=$3 out="$work/$1.callgrind"
  valgrind --tool=callgrind --callgrind-out-file="$out" --toggle-collect="*${function}" \
    "$probe" "$op" "$iterations" >"$work/$op.log" 2>&1 || {
    echo "valgrind failed for $op:" >&2
    cat "$work/$op.log" >&2
    exit 2
  }
  python3 - "$out" "$iterations" <<'EOF'
import sys
path, iterations = sys.argv[1], int(sys.argv[2])
total = None
with open(path) as handle:
    for line in handle:
        if line.startswith(("summary:", "totals:")):
            total = int(line.split()[1])
if not total:
    sys.exit(f"no instructions collected in {path}: did the probe function get renamed or inlined?")
print(f"{total / iterations:.1f}")
EOF
}

declare -A counts
counts[decide_name_hit]=$(measure decide_name_hit probe_decide_name "$decisions")
counts[decide_name_miss]=$(measure decide_name_miss probe_decide_name "$decisions")
counts[decide_id]=$(measure decide_id probe_decide_id "$decisions")
counts[decide_id_decider]=$(measure decide_id_decider probe_decider_id "$decisions")
counts[compile_5k]=$(measure compile_5k probe_compile "$compiles")

rustc_version=$(rustc --version)
python3 - "$baseline" "$update" "$threshold_percent" "$rustc_version" "$decisions" "$compiles" \
  "decide_name_hit=${counts[decide_name_hit]}" "decide_name_miss=${counts[decide_name_miss]}" \
  "decide_id=${counts[decide_id]}" "decide_id_decider=${counts[decide_id_decider]}" \
  "compile_5k=${counts[compile_5k]}" <<'EOF'
import datetime, json, os, sys
path, update, threshold, rustc, decisions, compiles = sys.argv[1:7]
now = {name: float(value) for name, value in (item.split("=") for item in sys.argv[7:])}
threshold = float(threshold)

if update == "1":
    document = {
        "about": "Instructions per operation under callgrind (benches/callgrind.sh); "
                 "CI fails when one rises more than 10% above these.",
        "rustc": rustc,
        "date": datetime.date.today().isoformat(),
        "valgrind": os.popen("valgrind --version").read().strip(),
        "iterations": {"decide": int(decisions), "compile": int(compiles)},
        "instructions_per_op": now,
    }
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        json.dump(document, handle, indent=2)
        handle.write("\n")
    print(f"baseline written to {os.path.relpath(path)}")

with open(path) as handle:
    document = json.load(handle)
base = document["instructions_per_op"]
if document.get("rustc") != rustc:
    print(f"note: baseline was measured with {document.get('rustc')}, this is {rustc}")
print(f"{'op':<18} {'baseline':>12} {'now':>12} {'change':>9}")
failed = []
for op, value in now.items():
    reference = base.get(op)
    if reference is None:
        print(f"{op:<18} {'-':>12} {value:>12.1f} {'new':>9}")
        continue
    change = (value - reference) / reference * 100
    flag = ""
    if change > threshold:
        failed.append(op)
        flag = "  FAIL"
    print(f"{op:<18} {reference:>12.1f} {value:>12.1f} {change:>+8.1f}%{flag}")
if failed:
    print(f"instruction counts rose more than {threshold:.0f}% for: {', '.join(failed)}")
    print("if the rise is intended, run benches/callgrind.sh --update and commit the baseline")
    sys.exit(1)
print(f"all ops within {threshold:.0f}% of the baseline")
EOF
echo "callgrind gate took $(( $(date +%s) - started ))s"
