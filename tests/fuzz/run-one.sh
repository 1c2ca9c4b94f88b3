#!/bin/sh
# run-one.sh -- one bounded libFuzzer session, for CTest and for humans.
#
# Usage: run-one.sh FUZZER_BINARY CORPUS_DIR SECONDS
#
# The checked-in seed corpus is copied to a temporary directory first, so a
# run never writes new inputs into the source tree; crash/leak/timeout
# reproducers land in that directory and are kept (its path is printed) when
# the fuzzer fails. The exit status is the fuzzer's.
set -u

if [ $# -ne 3 ]; then
    echo "usage: $0 FUZZER_BINARY CORPUS_DIR SECONDS" >&2
    exit 2
fi
fuzzer=$1
seeds=$2
seconds=$3

work=$(mktemp -d "${TMPDIR:-/tmp}/jl-fuzz.XXXXXX") || exit 2
mkdir -p "$work/corpus" "$work/artifacts"
if [ -d "$seeds" ]; then
    cp -R "$seeds"/. "$work/corpus/" 2>/dev/null || true
fi

"$fuzzer" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/" "$work/corpus"
status=$?

if [ "$status" -eq 0 ]; then
    rm -rf "$work"
else
    echo "run-one.sh: fuzzer exited with $status; inputs and artifacts kept in $work" >&2
fi
exit "$status"
