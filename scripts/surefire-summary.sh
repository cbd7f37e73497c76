#!/usr/bin/env bash
# Prints one line adding up Maven surefire reports: tests, classes, failures, errors, skipped.
# Used by the JVM test commands (streaming/flink/test.sh, bindings/kotlin/test.sh).
#
#   bash scripts/surefire-summary.sh LABEL REPORTS_DIR     # e.g. flink target/surefire-reports
set -euo pipefail
if [ $# -ne 2 ]; then
    echo "usage: surefire-summary.sh LABEL REPORTS_DIR" >&2
    exit 2
fi
awk -F'"' -v label="$1" '
    /<testsuite / {
        for (i = 1; i < NF; i++) {
            if ($i ~ / tests=$/) tests += $(i + 1)
            if ($i ~ / failures=$/) failures += $(i + 1)
            if ($i ~ / errors=$/) errors += $(i + 1)
            if ($i ~ / skipped=$/) skipped += $(i + 1)
        }
        classes++
    }
    END { printf "%s: %d tests in %d classes, %d failures, %d errors, %d skipped\n", label, tests, classes, failures, errors, skipped }
' "$2"/TEST-*.xml
