#!/usr/bin/env bash
# The sample projects' test: runs docs/quickstart.md exactly as written for each platform
# (samples/quickstart.py), so each sample project is built against the artifact the guide
# builds (the Maven artifact with its JNA resources, the wheel, the SwiftPM package by path),
# fetches a signed plan from a real `trackgate serve`, decides events, uploads its report, and
# `trackgate report` reads it. The guide cannot rot: its commands are the ones run here.
#
#   bash samples/test.sh [kotlin] [python] [swift]      (default: all three, in that order)
#
# Swift runs in the trixie chroot of bindings/swift/scripts/swift-env.sh (needs root; built on
# first use): a `swift` command on PATH that runs `swift` there, in the same directory, is the
# only thing this script provides; it passes no linker flag and no LD_LIBRARY_PATH.
# After Kotlin, checks bindings/kotlin/aar.sh on a stand-in for the Android library (below).
# Prints each platform's time and the total.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
started=$SECONDS

platforms=("$@")
[[ ${#platforms[@]} -gt 0 ]] || platforms=(kotlin python swift)

shim=""
cleanup() { [[ -z "$shim" ]] || rm -rf -- "$shim"; }
trap cleanup EXIT
for platform in "${platforms[@]}"; do
    if [[ "$platform" == swift ]]; then
        [[ "$(id -u)" -eq 0 ]] || { echo "samples/test.sh: swift needs root (its chroot)" >&2; exit 2; }
        "$repo/bindings/swift/scripts/swift-env.sh" ensure
        shim="$(mktemp -d)"
        # The repository is bound into the root at its own path, so the working directory (a
        # sample inside it), the trackgate package and $WORK (under target/) mean the same there.
        cat >"$shim/swift" <<EOF
#!/usr/bin/env bash
exec "$repo/bindings/swift/scripts/swift-env.sh" run "$repo" -- sh -c 'cd "\$0" && exec swift "\$@"' "\$PWD" "\$@"
EOF
        chmod +x "$shim/swift"
    fi
done

times=()
for platform in "${platforms[@]}"; do
    platform_started=$SECONDS
    if [[ "$platform" == swift ]]; then
        PATH="$shim:$PATH" python3 "$here/quickstart.py" "$platform"
    else
        python3 "$here/quickstart.py" "$platform"
    fi
    times+=("$platform $((SECONDS - platform_started)) s")
    if [[ "$platform" == kotlin ]]; then
        # Android: no NDK here, so no Android library. aar.sh still assembles the AAR and runs
        # every check on the shipped linux-gnu aarch64 build standing in for arm64-v8a, which
        # must pass the layout, machine and 16 KB checks and then be refused for needing glibc.
        aar_started=$SECONDS
        stand_in="$(mktemp -d)"
        mkdir -p "$stand_in/jni/arm64-v8a"
        cp "${CARGO_TARGET_DIR:-$repo/target}/shipped/aarch64-unknown-linux-gnu/libtrackgate_ffi.so" "$stand_in/jni/arm64-v8a/"
        rc=0
        bash "$repo/bindings/kotlin/aar.sh" --jni-libs "$stand_in/jni" --out "$stand_in/trackgate.aar" \
            2>"$stand_in/aar.log" >&2 || rc=$?
        sed 's/^/[aar stand-in, refusal expected] /' "$stand_in/aar.log" >&2
        if [[ $rc -ne 1 ]] || ! grep -q 'arm64-v8a/libtrackgate_ffi.so needs glibc' "$stand_in/aar.log" ||
            [[ -e "$stand_in/trackgate.aar" ]]; then
            echo "samples/test.sh: FAILED: aar.sh should refuse the linux-gnu stand-in for needing glibc (exit $rc)" >&2
            exit 1
        fi
        echo "[samples] aar.sh checked the stand-in and refused it for needing glibc, as it must" >&2
        rm -rf -- "$stand_in"
        times+=("aar checks $((SECONDS - aar_started)) s")
    fi
done
printf '[samples] passed: %s; total %d s\n' "$(IFS=,; echo "${times[*]}" | sed 's/,/, /g')" $((SECONDS - started))
