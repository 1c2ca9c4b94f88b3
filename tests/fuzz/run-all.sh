#!/bin/sh
# run-all.sh -- runs every libFuzzer target for a set time, one after the
# other, and prints a table of executions per target.
#
# Usage: run-all.sh SECONDS [FUZZ_BUILD_DIR]
#
# FUZZ_BUILD_DIR is a build configured with -DJL_FUZZ=ON (clang); it defaults
# to build/fuzz and is configured and built there if it does not exist yet:
#     CC=clang cmake -S . -B build/fuzz -DCMAKE_BUILD_TYPE=Debug -DJL_FUZZ=ON
# Each target runs through run-one.sh with its seed corpus
# (tests/fuzz/corpus/<target>), so the source tree is never written to.
# For the long runs a release needs: run-all.sh 600 (ten minutes per target).
# Logs go to $JL_FUZZ_LOGS (default: a temporary directory, printed). The
# exit status is 0 only if every target finished without a finding.
set -u

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: $0 SECONDS [FUZZ_BUILD_DIR]" >&2
    exit 2
fi
seconds=$1
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${2:-$src/build/fuzz}

if [ ! -d "$build" ]; then
    CC=${CC:-clang} cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Debug -DJL_FUZZ=ON >/dev/null ||
        exit 2
fi
cmake --build "$build" -j"$(nproc 2>/dev/null || echo 2)" >/dev/null || exit 2

logs=${JL_FUZZ_LOGS:-$(mktemp -d "${TMPDIR:-/tmp}/jl-fuzz-logs.XXXXXX")}
mkdir -p "$logs"
echo "run-all.sh: $seconds s per target; logs in $logs"

status=0
summary=""
for srcfile in "$here"/fuzz_*.c; do
    name=$(basename "$srcfile" .c)
    bin=$(find "$build" -type f -name "$name" -perm -u+x | head -n 1)
    if [ -z "$bin" ]; then
        echo "run-all.sh: $name not built in $build" >&2
        status=1
        summary="$summary$name missing -\n"
        continue
    fi
    log="$logs/$name.log"
    "$here/run-one.sh" "$bin" "$here/corpus/$name" "$seconds" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
    if [ "$rc" -eq 0 ]; then
        result=ok
    else
        result="FAILED($rc)"
        status=1
        tail -n 40 "$log" >&2
    fi
    summary="$summary$name $result ${execs:-?} ${cov:-?}\n"
done

printf '\n%-22s %-12s %14s %8s\n' target result executions cov
printf "$summary" | while read -r n r e c; do
    printf '%-22s %-12s %14s %8s\n' "$n" "$r" "$e" "$c"
done
exit $status
