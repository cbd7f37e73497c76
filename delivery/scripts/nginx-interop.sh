#!/usr/bin/env bash
# Interop check: a signed plan served by a real nginx (static file, `etag on`) is installed by
# the trackgate client, then answered 304. Installs Debian's nginx when it is missing; nginx
# runs on a loopback port with its own config in a temp dir and is stopped by the test.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
    echo "nginx-interop: installing nginx"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq nginx >/dev/null
fi
# --workspace, not `-p trackgate-delivery --features http`: the CLI enables `http` in the
# workspace's feature set, which `cargo test --workspace` has already built.
cargo test --workspace --test interop_nginx -- --ignored
