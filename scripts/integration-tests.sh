#!/usr/bin/env bash
# integration-tests.sh -- run the node integration tests without CTest.
#
#   scripts/integration-tests.sh                      all tests/integration/*.test.mjs
#   scripts/integration-tests.sh resp_diff interop_clients   just these (names or paths)
#   JL_TARGET=redis scripts/integration-tests.sh resp_diff   point startJugglite() at a
#                                                     redis-server (validates the tests)
#   JUGGLITE_BIN=build/asan/jugglite scripts/integration-tests.sh
#
# Installs tests/node_modules (npm ci) when missing. The binary defaults to
# build/jugglite, then build/release/jugglite (see tests/integration/lib/harness.mjs).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

if [ ! -d tests/node_modules ]; then
    (cd tests && npm ci --no-audit --no-fund --loglevel=error)
fi

files=()
if [ $# -eq 0 ]; then
    files=(tests/integration/*.test.mjs)
else
    for a in "$@"; do
        if [ -f "$a" ]; then files+=("$a")
        else files+=("tests/integration/${a%.test.mjs}.test.mjs"); fi
    done
fi

export JL_SOURCE_DIR="$root"
export JL_BUILD_DIR="${JL_BUILD_DIR:-$root/build}"
status=0
for f in "${files[@]}"; do
    echo "=== $f"
    node --test --test-reporter=spec "$f" || status=1
done
exit $status
