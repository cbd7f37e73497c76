#!/usr/bin/env bash
# generate.sh: build the Rust cdylib on the host and generate the Swift bindings from it.
#
# Usage: bindings/swift/scripts/generate.sh [debug|release]      (default: debug)
#
# Runs `uniffi-bindgen generate --library` (the workspace's own bindgen, pinned to the UniFFI
# version trackgate-ffi is built with) and installs its output where Package.swift expects it:
#
#   Sources/trackgate_ffiFFI/trackgate_ffiFFI.h      the C header (system-library target)
#   Sources/trackgate_ffiFFI/module.modulemap        its module map (renamed: SwiftPM's name)
#   Sources/Trackgate/Generated/TrackgateFFI.swift   the generated Swift API (renamed: the
#                                                    wrapper owns Trackgate.swift)
#
# All three are generated, never committed (see bindings/swift/.gitignore): they always match the
# Rust source they are built from. A file is only replaced when its content changed, so SwiftPM
# does not recompile for nothing. Prints the library directory to pass to the Swift linker
# (`-Xlinker -L<dir>`) and loader (LD_LIBRARY_PATH) on its last stdout line.
#
# Runs on the host (bookworm): the cdylib must be built against the older glibc so it loads in
# the trixie Swift root too (bindings/swift/README.md).
set -euo pipefail

profile="${1:-debug}"
case "$profile" in
  debug) cargo_profile=() ;;
  release) cargo_profile=(--release) ;;
  *) echo "generate.sh: unknown profile '$profile' (debug or release)" >&2; exit 2 ;;
esac

package_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
repo="$(cd "$package_dir/../.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$repo/target}"
case "$(uname -s)" in
  Darwin) library_file=libtrackgate_ffi.dylib ;;
  *) library_file=libtrackgate_ffi.so ;;
esac
library="$target_dir/$profile/$library_file"

log() { printf '[generate] %s\n' "$*" >&2; }

log "cargo build -p trackgate-ffi ${cargo_profile[*]}"
(cd "$repo" && cargo build --quiet -p trackgate-ffi "${cargo_profile[@]}")
# The bindgen only reads the library's metadata; its debug build is enough for both profiles.
# Built with the workspace's features (as `cargo test --workspace` builds them), not alone.
(cd "$repo" && cargo build --quiet --workspace --bins)
[[ -f "$library" ]] || { log "expected $library after the build; is CARGO_TARGET_DIR right?"; exit 1; }

out="$(mktemp -d)"
trap 'rm -rf -- "$out"' EXIT
# The bindgen warns (on stdout) that swift-format is missing; the output is fine without it.
# Everything else it prints goes to stderr, keeping stdout for the library directory.
rc=0
"$target_dir/debug/uniffi-bindgen" generate --library "$library" --language swift --out-dir "$out" \
  >"$out.log" 2>&1 || rc=$?
grep -v 'Unable to auto-format' "$out.log" >&2 || true
rm -f -- "$out.log"
[[ $rc -eq 0 ]] || { log "uniffi-bindgen failed (exit $rc)"; exit 1; }

for file in trackgate_ffiFFI.h trackgate_ffiFFI.modulemap Trackgate.swift; do
  [[ -s "$out/$file" ]] || { log "uniffi-bindgen did not write $file (its output: $(ls "$out"))"; exit 1; }
done

install_if_changed() {
  local from="$1" to="$2"
  mkdir -p "$(dirname "$to")"
  if [[ -f "$to" ]] && cmp -s "$from" "$to"; then
    return 0
  fi
  cp -- "$from" "$to"
  log "updated ${to#"$package_dir"/}"
}
install_if_changed "$out/trackgate_ffiFFI.h" "$package_dir/Sources/trackgate_ffiFFI/trackgate_ffiFFI.h"
install_if_changed "$out/trackgate_ffiFFI.modulemap" "$package_dir/Sources/trackgate_ffiFFI/module.modulemap"
install_if_changed "$out/Trackgate.swift" "$package_dir/Sources/Trackgate/Generated/TrackgateFFI.swift"

log "bindings generated from $library"
dirname "$library"
