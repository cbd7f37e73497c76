#!/usr/bin/env bash
# Cross-compiles the shipped library for a 64-bit ARM Linux target (the same ABI and ELF rules
# as Android's arm64-v8a, without needing the NDK), checks that it is linked for 16 KB pages,
# and prints its stripped size next to the host's.
#
#   bash bindings/ffi/scripts/cross-check.sh          what CI runs: the shipped (size-optimised)
#                                                     build and its checks
#   bash bindings/ffi/scripts/cross-check.sh --all    also the stable-toolchain builds (steps 2-5)
#
# Steps (each fails the script if it fails; 2 to 5 only with --all):
#  1. installs what it needs if missing: Debian's gcc-aarch64-linux-gnu (the linker and strip)
#     with libc6-dev-arm64-cross (needs root and apt), and the rustup target
#     aarch64-unknown-linux-gnu;
#  2. builds trackgate-ffi's cdylib with the release-mobile profile for
#     aarch64-unknown-linux-gnu, linked by aarch64-linux-gnu-gcc with
#     -Wl,-z,max-page-size=16384;
#  3. checks with `readelf -lW` that every LOAD segment is aligned to at least 0x4000 (16 KB),
#     which Android 15+ devices with 16 KB pages require of every native library;
#  4. strips a copy with aarch64-linux-gnu-strip and prints its size;
#  5. builds the host (x86_64) cdylib with the same profile, strips a copy, prints its size;
#  6. the size-optimised build apps ship (bindings/ffi/scripts/build-shipped.sh, which the
#     packaging scripts share): std rebuilt from source with its `optimize_for_size`
#     feature and unwinding kept (`-Zbuild-std`, pinned nightly $size_toolchain, installed if
#     missing), for aarch64 with 16 KB alignment; fails if its LOAD segments are misaligned or
#     its stripped size exceeds the 700 KB goal (700,000 bytes), and runs the FFI transport tests
#     against the same std build on the host, which include a panicking transport caught at the
#     boundary: proof that catch_unwind still works in this configuration.
#
# Stripping happens on copies only: uniffi-bindgen reads its metadata from the unstripped
# library (docs/packaging.md). Output ends with machine-readable lines:
#   size aarch64-unknown-linux-gnu <bytes>                  (--all)
#   size <host triple> <bytes>                              (--all)
#   size aarch64-unknown-linux-gnu size-optimised <bytes>
# CI leaves out the stable builds: two more LTO builds (about 3 minutes on 2 cores) for figures
# the shipped build does not depend on; the linker flags that give 16 KB alignment are the same.
# Environment: CARGO_TARGET_DIR is respected.
set -euo pipefail
cd "$(dirname "$0")/../../.."
all=false
case "${1:-}" in
    "") ;;
    --all) all=true ;;
    *) echo "usage: $0 [--all]" >&2; exit 2 ;;
esac

target=aarch64-unknown-linux-gnu
profile=release-mobile
# Nightly only for -Zbuild-std; pinned (scripts/nightly-toolchain, shared with scripts/miri.sh)
# so the shipped build is reproducible.
size_toolchain=$(cat scripts/nightly-toolchain)
size_goal=700000
std_features=panic-unwind,optimize_for_size
target_dir=${CARGO_TARGET_DIR:-$(pwd)/target}
size_dir=$target_dir/size-optimised
build_std=(-Zbuild-std -Zbuild-std-features="$std_features")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

step() { printf '\n--> %s\n' "$*"; }

step "tools"
# The C library for the target comes with libc6-dev-arm64-cross (only a recommendation of gcc).
if ! command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || ! command -v aarch64-linux-gnu-strip >/dev/null 2>&1 ||
    [ ! -e /usr/aarch64-linux-gnu/lib/crti.o ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "need Debian's gcc-aarch64-linux-gnu and libc6-dev-arm64-cross (run as root, or install them)" >&2
        exit 2
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu libc6-dev-arm64-cross >/dev/null
fi
if ! rustup target list --installed | grep -qx "$target"; then
    rustup target add "$target"
fi
aarch64-linux-gnu-gcc --version | head -1

export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C link-arg=-Wl,-z,max-page-size=16384"
host=$(rustc -vV | awk '/^host:/ { print $2 }')
# check_alignment FILE: every LOAD segment aligned to >= 16 KB, or exit 1.
source bindings/ffi/scripts/elf-alignment.sh

if $all; then
    step "build $target ($profile, 16 KB pages)"
    cargo build --quiet -p trackgate-ffi --profile "$profile" --target "$target"
    library=$target_dir/$target/$profile/libtrackgate_ffi.so
    file "$library" 2>/dev/null || true

    step "LOAD segment alignment (readelf -lW)"
    check_alignment "$library"

    step "stripped size, $target"
    cp "$library" "$work/arm64.so"
    aarch64-linux-gnu-strip "$work/arm64.so"
    arm64_size=$(stat -c %s "$work/arm64.so")
    echo "unstripped $(stat -c %s "$library") bytes; stripped $arm64_size bytes"

    step "stripped size, host"
    cargo build --quiet -p trackgate-ffi --profile "$profile"
    cp "$target_dir/$profile/libtrackgate_ffi.so" "$work/host.so"
    strip "$work/host.so"
    host_size=$(stat -c %s "$work/host.so")
    echo "unstripped $(stat -c %s "$target_dir/$profile/libtrackgate_ffi.so") bytes; stripped $host_size bytes"
fi

step "size-optimised build: $size_toolchain, -Zbuild-std (features $std_features), $target"
# The build apps ship, made by the one script the packaging scripts use too (so the Kotlin
# artifact's linux-aarch64 library is this very file); it checks the 16 KB alignment.
shipped=$(bash bindings/ffi/scripts/build-shipped.sh "$target")
small_size=$(awk '{ print $3 }' <<<"$shipped")
small=$size_dir/$target/$profile/libtrackgate_ffi.so
readelf -lW "$small" | awk '$1 == "LOAD"'
echo "stripped $small_size bytes (goal <= $size_goal): $(awk '{ print $4 }' <<<"$shipped")"
if [ "$small_size" -gt "$size_goal" ]; then
    echo "FAIL: the size-optimised library is $small_size bytes, above the $size_goal-byte goal" >&2
    exit 1
fi

step "catch_unwind with the size-optimised std (host, FFI transport tests)"
# The dev profile: what this proves is that the std built with these features unwinds through
# the boundary, which does not depend on the optimisation level; it builds in far less time.
cargo "+$size_toolchain" test --quiet -p trackgate-ffi --target "$host" \
    --target-dir "$size_dir" "${build_std[@]}" --test transport

echo
if $all; then
    echo "size $target $arm64_size"
    echo "size $host $host_size"
fi
echo "size $target size-optimised $small_size"
