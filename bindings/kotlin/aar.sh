#!/usr/bin/env bash
# Assembles the Android library (AAR) and checks it: the compiled bindings and wrapper as
# classes.jar, and the native library per ABI in jni/<abi>/ (docs/packaging.md, "Android").
#
#   bash bindings/kotlin/aar.sh [--jni-libs DIR] [--out FILE]
#
#   --jni-libs DIR   DIR/<abi>/libtrackgate_ffi.so for each ABI, as `cargo ndk -o DIR` writes
#                    them. Without it, the script builds them with cargo-ndk and the NDK
#                    ($ANDROID_NDK_HOME) for arm64-v8a, armeabi-v7a and x86_64
#                    (release-mobile, API 21) into target/android-jni, stripped with the
#                    NDK's llvm-strip after the build.
#   --out FILE       default: bindings/kotlin/target/trackgate.aar
#
# The AAR holds AndroidManifest.xml (package dev.trackgate, minSdk 21), classes.jar (target/
# classes without the JVM's JNA resources), proguard.txt (consumer keep rules for JNA and the
# bindings) and jni/<abi>/libtrackgate_ffi.so. Before it is written, every library is checked:
# the ELF machine matches its ABI, 64-bit ABIs have every LOAD segment aligned to >= 16 KB
# (Android 15+), and it does not need glibc (`libc.so.6`: a Linux build cannot load on
# Android). The app adds `net.java.dev.jna:jna:5.18.1@aar` (JNA >= 5.17 for 16 KB pages).
#
# Not possible on the CI machine (no NDK): the NDK build itself, and loading the AAR on a device.
# CI runs this script on the linux-gnu aarch64 build as a stand-in for arm64-v8a, which must
# be refused for needing glibc after every other check passed (samples/test.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$repo/target}
export MAVEN_OPTS="${MAVEN_OPTS:-} -Djansi.noreset=true"

log() { printf '[aar] %s\n' "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

jni=""
out=$here/target/trackgate.aar
while [ $# -gt 0 ]; do
    case "$1" in
        --jni-libs) [ $# -ge 2 ] || die "--jni-libs needs a directory"; jni=$2; shift 2 ;;
        --out) [ $# -ge 2 ] || die "--out needs a file"; out=$2; shift 2 ;;
        *) log "usage: $0 [--jni-libs DIR] [--out FILE]"; exit 2 ;;
    esac
done

if [ -z "$jni" ]; then
    if ! command -v cargo-ndk >/dev/null 2>&1 || [ -z "${ANDROID_NDK_HOME:-}" ]; then
        log "building for Android needs the NDK (ANDROID_NDK_HOME) and cargo-ndk (cargo install cargo-ndk),"
        log "which this machine does not have; or pass --jni-libs DIR with DIR/<abi>/libtrackgate_ffi.so"
        exit 2
    fi
    rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android >&2
    jni=$target/android-jni
    (cd "$repo" && cargo ndk -t arm64-v8a -t armeabi-v7a -t x86_64 -P 21 -o "$jni" \
        build -p trackgate-ffi --profile release-mobile)
    strip_tool=$(find "$ANDROID_NDK_HOME/toolchains/llvm/prebuilt" -name llvm-strip -type f | head -n 1)
    [ -n "$strip_tool" ] || die "no llvm-strip in $ANDROID_NDK_HOME"
    for library in "$jni"/*/libtrackgate_ffi.so; do "$strip_tool" "$library"; done
fi
[ -d "$jni" ] || die "$jni is not a directory"

# The classes: the same compiled bindings and wrapper as the JVM jar.
bash "$here/generate.sh"
mvn -q -B -f "$here/pom.xml" compile

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/aar" "$stage/classes"
cp -R "$here/target/classes/." "$stage/classes/"
rm -rf "$stage/classes"/linux-* "$stage/classes"/darwin-* "$stage/classes"/win32-*
jar --create --file "$stage/aar/classes.jar" -C "$stage/classes" .
cat >"$stage/aar/AndroidManifest.xml" <<'EOF'
<?xml version="1.0" encoding="utf-8"?>
<manifest xmlns:android="http://schemas.android.com/apk/res/android" package="dev.trackgate">
    <uses-sdk android:minSdkVersion="21" />
</manifest>
EOF
cat >"$stage/aar/proguard.txt" <<'EOF'
# JNA reflects on its own classes and on the bindings' structures and callbacks.
-keep class com.sun.jna.** { *; }
-keep class * implements com.sun.jna.** { *; }
-keep class dev.trackgate.** { *; }
-dontwarn java.awt.**
EOF

declare -A machine=([arm64-v8a]=AArch64 [armeabi-v7a]=ARM [x86_64]="Advanced Micro Devices X86-64" [x86]="Intel 80386")
abis=()
for dir in "$jni"/*/; do
    abi=$(basename "$dir")
    library=$dir/libtrackgate_ffi.so
    [ -f "$library" ] || continue
    [ -n "${machine[$abi]:-}" ] || die "$dir: unknown ABI '$abi' (arm64-v8a, armeabi-v7a, x86_64, x86)"
    mkdir -p "$stage/aar/jni/$abi"
    cp "$library" "$stage/aar/jni/$abi/"
    abis+=("$abi")
done
[ ${#abis[@]} -gt 0 ] || die "no <abi>/libtrackgate_ffi.so under $jni"
(cd "$stage/aar" && jar --create --no-manifest --file "$stage/trackgate.aar" .)

# Checks, on what the AAR holds.
entries=$(jar tf "$stage/trackgate.aar")
for entry in AndroidManifest.xml classes.jar proguard.txt; do
    grep -qx "$entry" <<<"$entries" || die "the AAR has no $entry"
done
jar tf "$stage/aar/classes.jar" | grep -qx 'dev/trackgate/Gate.class' || die "classes.jar has no dev/trackgate/Gate.class"
for abi in "${abis[@]}"; do
    entry=jni/$abi/libtrackgate_ffi.so
    grep -qx "$entry" <<<"$entries" || die "the AAR has no $entry"
    library=$stage/aar/$entry
    found=$(readelf -h "$library" | sed -n 's/^ *Machine: *//p')
    [ "$found" = "${machine[$abi]}" ] || die "$entry is for '$found', not ${machine[$abi]}"
    if [ "$abi" = arm64-v8a ] || [ "$abi" = x86_64 ]; then
        for align in $(readelf -lW "$library" | awk '$1 == "LOAD" { print $NF }'); do
            [ $((align)) -ge 16384 ] || die "$entry has a LOAD segment aligned to $align (< 0x4000): 16 KB page devices cannot load it"
        done
    fi
    if readelf -d "$library" | grep -q 'Shared library: \[libc\.so\.6\]'; then
        die "$entry needs glibc (libc.so.6): a Linux build, not an Android one (build it with cargo ndk)"
    fi
    log "$entry: ${machine[$abi]}, $(stat -c %s "$library") bytes"
done
mkdir -p "$(dirname "$out")"
cp "$stage/trackgate.aar" "$out"
log "wrote $out (${abis[*]})"
