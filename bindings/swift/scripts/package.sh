#!/usr/bin/env bash
# package.sh: make the Swift package usable from another package on Linux, with no linker flag
# and no LD_LIBRARY_PATH: generates the bindings (generate.sh) and stages the shipped library
# (bindings/ffi/scripts/build-shipped.sh: size-optimised release-mobile, stripped) in
# bindings/swift/lib/, which Package.swift links and records as the run path.
#
#   bash bindings/swift/scripts/package.sh
#
# Then depend on the package by path: `.package(path: "<trackgate>/bindings/swift")` and
# `.product(name: "Trackgate", package: "swift")` (samples/swift-app). Runs on the host (bookworm),
# so the library links against the older glibc and loads in the Swift root too.
# iOS: an XCFramework of the static library instead (docs/packaging.md, "iOS"; needs Xcode).
set -euo pipefail

package_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
repo="$(cd "$package_dir/../.." && pwd)"

log() { printf '[swift package] %s\n' "$*" >&2; }

"$package_dir/scripts/generate.sh" debug >/dev/null
shipped="$(bash "$repo/bindings/ffi/scripts/build-shipped.sh")"
read -r _ triple bytes path <<<"$shipped"
mkdir -p "$package_dir/lib"
cp "$path" "$package_dir/lib/.libtrackgate_ffi.so.tmp"
mv "$package_dir/lib/.libtrackgate_ffi.so.tmp" "$package_dir/lib/libtrackgate_ffi.so"
log "staged lib/libtrackgate_ffi.so ($triple, $bytes bytes); depend on $package_dir by path"
