#!/usr/bin/env bash
# Size added by envelope verification to a stripped release cdylib (opt-level "s", LTO,
# panic=abort). Prints bytes for: decode-only baseline, with verification.
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$(pwd)/target}"
size_of() {
    cargo build --release --quiet "$@"
    stat -c %s "$CARGO_TARGET_DIR/release/libtrackgate_size_probe.so"
}
baseline=$(size_of)
verify=$(size_of --features verify)
fast=$(size_of --features fast)
echo "baseline (postcard decode + compile + engine): $baseline bytes"
echo "with envelope verification:                    $verify bytes (+$((verify - baseline)))"
echo "with verification and the fast feature:      $fast bytes (+$((fast - baseline)))"
