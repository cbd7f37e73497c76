#!/usr/bin/env bash
# Builds the native library apps ship, for each target given, and writes a stripped copy of it
# where the packaging scripts pick it up. The one recipe for shipped copies of trackgate-ffi:
# bindings/kotlin/package.sh (JNA resources), bindings/swift/scripts/package.sh (the library
# the Swift package links on Linux) and bindings/ffi/scripts/cross-check.sh (its size and
# alignment checks) all call it, so each target is built once per source change.
#
#   bash bindings/ffi/scripts/build-shipped.sh [TARGET...]     (default: the host's triple)
#
# The build: the `release-mobile` profile on the pinned nightly (scripts/nightly-toolchain),
# with std rebuilt from source with its `optimize_for_size` feature and unwinding kept
# (`-Zbuild-std`; docs/packaging.md, "Profiles"), into TARGET_DIR/size-optimised. aarch64 is
# linked by Debian's aarch64-linux-gnu-gcc with 16 KB page alignment, which is checked with
# readelf (every LOAD segment aligned to >= 0x4000, as Android 15+ requires).
#
# Output, per target: TARGET_DIR/shipped/<target>/libtrackgate_ffi.so, stripped (the
# unstripped build stays where cargo put it: uniffi-bindgen reads its metadata from there), and
# one line on stdout: `shipped <target> <bytes> <path>`. Progress goes to stderr.
#
# Installs what is missing: the pinned nightly with rust-src (rustup), and for aarch64 the
# rustup target and Debian's gcc-aarch64-linux-gnu with libc6-dev-arm64-cross (root and apt).
# Environment: CARGO_TARGET_DIR is respected.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$repo"
host=$(rustc -vV | awk '/^host:/ { print $2 }')
[ $# -gt 0 ] || set -- "$host"

toolchain=$(cat scripts/nightly-toolchain)
std_features=panic-unwind,optimize_for_size
profile=release-mobile
target_dir=${CARGO_TARGET_DIR:-$repo/target}
size_dir=$target_dir/size-optimised

log() { printf '[build-shipped] %s\n' "$*" >&2; }

# check_alignment FILE: every LOAD segment aligned to >= 16 KB, or exit 1.
source bindings/ffi/scripts/elf-alignment.sh

if ! rustup run "$toolchain" rustc --version >/dev/null 2>&1 ||
    ! rustup component list --toolchain "$toolchain" --installed 2>/dev/null | grep -q '^rust-src'; then
    rustup toolchain install "$toolchain" --profile minimal --component rust-src >&2
fi

for target in "$@"; do
    strip_tool=strip
    case "$target" in
        "$host") ;;
        aarch64-unknown-linux-gnu)
            # The C library for the target comes with libc6-dev-arm64-cross (only a
            # recommendation of gcc).
            if ! command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 ||
                ! command -v aarch64-linux-gnu-strip >/dev/null 2>&1 ||
                [ ! -e /usr/aarch64-linux-gnu/lib/crti.o ]; then
                if [ "$(id -u)" -ne 0 ]; then
                    log "need Debian's gcc-aarch64-linux-gnu and libc6-dev-arm64-cross (run as root, or install them)"
                    exit 2
                fi
                apt-get update -qq >&2
                DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
                    gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu libc6-dev-arm64-cross >/dev/null
            fi
            export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
            export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C link-arg=-Wl,-z,max-page-size=16384"
            strip_tool=aarch64-linux-gnu-strip
            ;;
        *)
            log "unsupported target '$target' (the host, $host, or aarch64-unknown-linux-gnu; Android: docs/packaging.md)"
            exit 2
            ;;
    esac
    if [ "$target" != "$host" ] && ! rustup target list --installed | grep -qx "$target"; then
        rustup target add "$target" >&2
    fi

    log "$target: cargo +$toolchain build -p trackgate-ffi --profile $profile -Zbuild-std (features $std_features)"
    started=$SECONDS
    cargo "+$toolchain" build --quiet -p trackgate-ffi --profile "$profile" --target "$target" \
        --target-dir "$size_dir" -Zbuild-std -Zbuild-std-features="$std_features"
    built=$size_dir/$target/$profile/libtrackgate_ffi.so
    log "$target: built in $((SECONDS - started)) s"
    if [ "$target" = aarch64-unknown-linux-gnu ]; then
        check_alignment "$built"
    fi

    out_dir=$target_dir/shipped/$target
    mkdir -p "$out_dir"
    # Strip a copy next to the result, then rename: a reader never sees a half-written file.
    "$strip_tool" -o "$out_dir/.libtrackgate_ffi.so.tmp" "$built"
    mv "$out_dir/.libtrackgate_ffi.so.tmp" "$out_dir/libtrackgate_ffi.so"
    echo "shipped $target $(stat -c %s "$out_dir/libtrackgate_ffi.so") $out_dir/libtrackgate_ffi.so"
done
