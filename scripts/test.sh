#!/usr/bin/env bash
# test.sh -- builds jugglite and runs the whole suite through ctest:
#   1. a normal build (warnings are errors): unit, integration, interop,
#      browser and bench-smoke tests;
#   2. an AddressSanitizer + UBSan build running the same tests;
#   3. a clang libFuzzer build running each fuzz target for a few seconds.
# Every step's ctest summary is printed; the script fails if any step does.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test

jobs=$(nproc 2>/dev/null || echo 2)
(cd tests && npm ci --no-audit --no-fund --loglevel=error)

status=0
run_ctest() {
    local dir=$1; shift
    echo "=== ctest in $dir $*"
    (cd "$dir" && ctest --output-on-failure "$@") || status=1
}

cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo -DJL_WERROR=ON >/dev/null
cmake --build build/release -j"$jobs"
run_ctest build/release -j2

cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug -DJL_WERROR=ON -DJL_SANITIZE=ON >/dev/null
cmake --build build/asan -j"$jobs"
JL_SANITIZED=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_ctest build/asan -j2 -LE "browser|bench"

CC=clang cmake -S . -B build/fuzz -DCMAKE_BUILD_TYPE=Debug -DJL_FUZZ=ON >/dev/null
cmake --build build/fuzz -j"$jobs"
run_ctest build/fuzz -L fuzz -j2

exit $status
