#!/usr/bin/env bash
# check-state.sh -- no mutable global state in jl_core but the log's settings.
#
# Usage: scripts/check-state.sh LIBRARY.a
#
# STYLE.md §8: "no mutable file-scope state except the log level" -- now
# jl_log_conf, the log's level and format in one struct (server/log.h). A static
# buffer shared by every connection, a cached "last reply" pointer, a
# counter in a function-local static -- each is a hidden input to every
# function that touches it, and each one makes the next one look normal.
# The compiler already knows where they are: this script asks nm for every
# symbol in a writable data section of the library's objects --
#   b B  .bss (zero-initialised: "static char buf[4096];")
#   d D  .data (initialised: "static int n = 1;")
#   C    common (a tentative definition built with -fcommon)
#   s S g G  the small-data variants some targets use
# -- and prints each one except jl_log_conf as "object: symbol", exiting 1
# if there is any, 0 otherwise (2: bad usage). Function-local statics count
# (nm shows "help.0"); they are file-scope state with a smaller name.
#
# Not counted: tables that are const but hold pointers. In a position-
# independent build they land in .data.rel.ro, which nm also calls "d", yet
# the loader makes it read-only after relocation; objdump names the section,
# so those are dropped (without objdump every "d" is kept, to be safe).
# Sanitizer and coverage bookkeeping (__asan_*, __odr_asan.*, __ubsan_*,
# __sancov_*, __llvm_*, __profc_*, __profd_*, and clang's __unnamed_N
# descriptors) is the toolchain's, not ours: C reserves "__" names for it.

set -euo pipefail

ALLOWED="jl_log_conf"

[ $# -eq 1 ] || { echo "usage: $0 LIBRARY.a" >&2; exit 2; }
lib=$1
[ -f "$lib" ] || { echo "$0: $lib: no such file" >&2; exit 2; }
command -v nm >/dev/null || { echo "$0: nm not found" >&2; exit 2; }

# "object symbol" for every symbol objdump places in .data.rel.ro*.
relro=""
if command -v objdump >/dev/null; then
    relro=$(LC_ALL=C objdump -t "$lib" | LC_ALL=C awk '
        /^[^ ]+:[ \t]+file format/ { obj = $1; sub(/:$/, "", obj); next }
        $0 ~ /[ \t]\.data\.rel\.ro/ { print obj, $NF }')
fi

offenders=$(LC_ALL=C nm "$lib" | ALLOWED="$ALLOWED" RELRO="$relro" LC_ALL=C awk '
    BEGIN {
        n = split(ENVIRON["ALLOWED"], a, " ")
        for (i = 1; i <= n; i++)
            ok[a[i]] = 1
        n = split(ENVIRON["RELRO"], r, "\n")
        for (i = 1; i <= n; i++)
            ro[r[i]] = 1
    }
    /:$/ { obj = substr($0, 1, length($0) - 1); next }
    # "addr type name", or "type name" for common/undefined without an address
    NF == 3 { type = $2; name = $3 }
    NF == 2 { type = $1; name = $2 }
    NF != 2 && NF != 3 { next }
    type !~ /^[bBdDCsSgG]$/ { next }
    name in ok { next }
    name ~ /^(__asan_|___asan_|__odr_asan|__ubsan_|__sancov_|__llvm_|__profc_|__profd_|__unnamed_[0-9])/ { next }
    (obj " " name) in ro { next }
    { print obj ": " name }')

if [ -n "$offenders" ]; then
    printf '%s\n' "$offenders"
    exit 1
fi
exit 0
