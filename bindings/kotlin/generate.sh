#!/usr/bin/env bash
# Builds the host library (unstripped, so its UniFFI metadata is readable) and the trackgate
# CLI, then generates the Kotlin bindings from the library ("library mode"). Used by test.sh,
# bench.sh and mobile-demo/run.sh.
#
#   bindings/kotlin/generate.sh [--release]
#
# Results (TARGET is $CARGO_TARGET_DIR or <repo>/target; PROFILE is debug or release):
#   TARGET/PROFILE/libtrackgate_ffi.so   the library JNA loads (jna.library.path=TARGET/PROFILE)
#   TARGET/PROFILE/trackgate             the CLI (keygen, build, serve) the tests drive
#   bindings/kotlin/target/generated-sources/uniffi/   the generated sources (Maven's place for
#                                        them; `mvn clean` removes them, run this again then)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
profile=debug
cargo_profile=()
case "${1:-}" in
    "") ;;
    --release) profile=release; cargo_profile=(--release) ;;
    *) echo "usage: $0 [--release]" >&2; exit 2 ;;
esac
target=${CARGO_TARGET_DIR:-$repo/target}
case "$(uname -s)" in
    Darwin) library=libtrackgate_ffi.dylib ;;
    *) library=libtrackgate_ffi.so ;;
esac

cd "$repo"
# Two invocations, not one: the library is built alone, exactly as it ships (`-p trackgate-ffi`:
# without the CLI's features, such as the delivery crate's HTTP client); the host tools (the
# CLI, uniffi-bindgen) with the workspace's features, which `cargo test --workspace` already
# built, so their dependency tree is not compiled once more.
cargo build -q "${cargo_profile[@]}" -p trackgate-ffi
cargo build -q "${cargo_profile[@]}" --workspace --bins
if [ "$profile" != debug ]; then
    cargo build -q --workspace --bins
fi
generated=$repo/bindings/kotlin/target/generated-sources/uniffi
rm -rf "$generated"
# The generator itself always runs as a debug build: it is not what is measured or shipped.
"$target/debug/uniffi-bindgen" generate \
    --library "$target/$profile/$library" --language kotlin --no-format --out-dir "$generated"
test -f "$generated/dev/trackgate/trackgate_ffi.kt" || {
    echo "generate.sh: uniffi-bindgen wrote no dev/trackgate/trackgate_ffi.kt into $generated" >&2
    exit 1
}
