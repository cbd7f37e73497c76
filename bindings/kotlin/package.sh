#!/usr/bin/env bash
# Builds the Kotlin/JVM artifact apps depend on and installs it into the local Maven repository:
# dev.trackgate:trackgate-kotlin:0.1.0-SNAPSHOT, a jar with the generated bindings, the wrapper
# and the shipped native library as JNA resources for linux-x86-64 and linux-aarch64. A project
# that declares the dependency runs with no system property and no copying: JNA extracts the
# library for the running platform from the jar.
#
#   bash bindings/kotlin/package.sh
#
# Steps:
#  1. generate.sh: the bindings, generated from the unstripped debug library (any build of the
#     same source has the same interface; docs/packaging.md);
#  2. bindings/ffi/scripts/build-shipped.sh for x86_64- and aarch64-unknown-linux-gnu: the
#     size-optimised release-mobile library, stripped (the aarch64 one is the file
#     cross-check.sh checks), copied to target/jna-resources/<jna platform>/;
#  3. `mvn install -DskipTests` (the tests are bindings/kotlin/test.sh), which refuses to
#     install a jar missing either library;
#  4. checks that the jar holds both libraries, and prints their sizes.
#
# Needs Java 17+, Maven 3.8+, Rust; build-shipped.sh installs the nightly and the aarch64 cross
# tools if missing (root and apt). Android (AAR) instead: bindings/kotlin/aar.sh.
# Environment: CARGO_TARGET_DIR is respected.
set -euo pipefail
# Maven 3.8 prints stray ANSI resets on exit when its output is not a terminal.
export MAVEN_OPTS="${MAVEN_OPTS:-} -Djansi.noreset=true"
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
started=$SECONDS

log() { printf '[kotlin package] %s\n' "$*" >&2; }

for tool in java jar mvn cargo; do
    command -v "$tool" >/dev/null 2>&1 || {
        log "'$tool' not found (needs a Java 17+ JDK, Maven 3.8+ and Rust)"
        exit 2
    }
done

bash "$here/generate.sh"

# The Rust triple of each shipped library and JNA's name for its platform (Platform.RESOURCE_PREFIX).
declare -A jna_platform=([x86_64-unknown-linux-gnu]=linux-x86-64 [aarch64-unknown-linux-gnu]=linux-aarch64)
resources=$here/target/jna-resources
rm -rf "$resources"
shipped=$(bash "$repo/bindings/ffi/scripts/build-shipped.sh" x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu)
while read -r _ triple bytes path; do
    mkdir -p "$resources/${jna_platform[$triple]}"
    cp "$path" "$resources/${jna_platform[$triple]}/libtrackgate_ffi.so"
    log "${jna_platform[$triple]}/libtrackgate_ffi.so: $bytes bytes (from $triple)"
done <<<"$shipped"

mvn -q -B -f "$here/pom.xml" install -DskipTests

version=$(sed -n 's:^  <version>\(.*\)</version>$:\1:p' "$here/pom.xml" | head -n 1)
jar=$here/target/trackgate-kotlin-$version.jar   # the file `install` copied
entries=$(jar tf "$jar")
for platform in linux-x86-64 linux-aarch64; do
    grep -qx "$platform/libtrackgate_ffi.so" <<<"$entries" || {
        log "FAIL: the installed $jar has no $platform/libtrackgate_ffi.so"
        exit 1
    }
done
log "installed dev.trackgate:trackgate-kotlin:$version ($(stat -c %s "$jar") bytes) in $((SECONDS - started)) s"
