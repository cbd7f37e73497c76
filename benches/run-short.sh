#!/usr/bin/env bash
# benches/run-short.sh: runs every criterion bench of trackgate-benches briefly and prints each
# bench's median in one compact table, so CI logs show the figures. Short runs on a shared
# machine are noisy: read them as a trend, not a gate (benches/callgrind.sh is the gate).
#
#   benches/run-short.sh [EXTRA CRITERION ARGS...]    e.g. benches/run-short.sh decide/
set -euo pipefail

cd "$(dirname "$0")/.."
started=$(date +%s)
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
stamp=$(mktemp)
trap 'rm -f "$stamp"' EXIT

cargo bench --quiet -p trackgate-benches --bench decide -- \
  --warm-up-time 0.5 --measurement-time 2 --sample-size 20 "$@" >"$stamp.log" 2>&1 || {
  cat "$stamp.log" >&2
  rm -f "$stamp.log"
  exit 1
}
rm -f "$stamp.log"

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
python3 - "$target_dir/criterion" "$stamp" <<'EOF'
import json, os, sys
root, stamp = sys.argv[1], sys.argv[2]
since = os.path.getmtime(stamp)

def show(nanoseconds):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if nanoseconds >= scale:
            return f"{nanoseconds / scale:.2f} {unit}"
    return f"{nanoseconds:.2f} ns"

rows = []
for group in sorted(os.listdir(root)):
    group_dir = os.path.join(root, group)
    if not os.path.isdir(group_dir) or group == "report":
        continue
    for bench in sorted(os.listdir(group_dir)):
        estimates = os.path.join(group_dir, bench, "new", "estimates.json")
        # Only benches measured by this run (older results stay in the directory).
        if os.path.isfile(estimates) and os.path.getmtime(estimates) >= since:
            with open(estimates) as handle:
                median = json.load(handle)["median"]
            interval = median["confidence_interval"]
            rows.append((f"{group}/{bench}", median["point_estimate"], interval["lower_bound"], interval["upper_bound"]))
if not rows:
    sys.exit("no criterion results were written by this run")
print(f"{'bench':<28} {'median':>12} {'95% CI of the median':>28}")
for name, median, low, high in rows:
    print(f"{name:<28} {show(median):>12} {show(low) + ' .. ' + show(high):>28}")
EOF
echo "run-short took $(( $(date +%s) - started ))s"
