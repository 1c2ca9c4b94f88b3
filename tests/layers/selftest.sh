#!/usr/bin/env bash
# selftest.sh -- tests scripts/check-layers.sh and scripts/check-state.sh.
#
# Usage: tests/layers/selftest.sh SOURCE_DIR   (CC and AR from the
# environment, default cc and ar)
#
# The real tree breaks the layering rules while the restructuring is under
# way, so the checkers cannot be tested on it. Instead this builds small
# fixture trees in a temporary directory: one clean tree, which must pass
# silently (it also hides broken includes in comments and strings, which
# must stay invisible), and one copy per rule with exactly one include that
# breaks it, which must be reported as exactly the expected line. The state
# checker gets two tiny static libraries: one with only the log's settings
# (jl_log_conf) and const tables (clean), one with every kind of mutable
# global. Prints one "ok"/"not ok" line per case; exits 1 if any case failed.

set -uo pipefail

src=${1:?usage: $0 SOURCE_DIR}
layers="$src/scripts/check-layers.sh"
state="$src/scripts/check-state.sh"
CC=${CC:-cc}
AR=${AR:-ar}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0

pass() { echo "ok - $1"; }
fail() {
    echo "not ok - $1"
    failed=1
}

# put FILE LINES...: writes a fixture file, one argument per line.
put() {
    local f=$1
    shift
    mkdir -p "$(dirname "$f")"
    printf '%s\n' "$@" >"$f"
}

make_clean_tree() {
    local t=$1
    put "$t/server/util.h" '#ifndef U' '#define U' '#include <stddef.h>' '#endif'
    put "$t/server/util.c" '#include "server/util.h"'
    put "$t/server/buf.h" '#include "server/util.h"'
    put "$t/server/buf.c" '#include "server/buf.h"' '#include <string.h>'
    put "$t/server/conn.h" '#include "server/buf.h"'
    put "$t/server/conn.c" \
        '#include "server/conn.h"' \
        '#include <sys/socket.h>' \
        '/* #include "http/sse.h" */' \
        '// #include <http_parser.h>' \
        '/*' \
        '#include "resp/upstream.h"' \
        ' */' \
        '#if 0 /* a comment, then a directive, on one line */' \
        '#endif' \
        'static const char *quote = "#include \"http/sse.h\" /* not a comment";' \
        "static const char star = '*', slash = '/';"
    put "$t/server/main.c" \
        '#include "server/conn.h"' \
        '#include "resp/upstream.h"' \
        '#include "http/http_session.h"'
    put "$t/resp/resp_parser.h" '#include "server/util.h"'
    put "$t/resp/resp_parser.c" '#include "resp/resp_parser.h"' '#include "server/buf.h"'
    put "$t/resp/upstream.h" '#include "server/conn.h"'
    put "$t/resp/upstream.c" '#include "resp/upstream.h"' '#include "resp/resp_parser.h"'
    put "$t/resp/resp_session.c" '#include "resp/resp_parser.h"' '#include "server/conn.h"'
    put "$t/http/sse.h" '#include "server/buf.h"'
    put "$t/http/sse.c" '#include "http/sse.h"'
    put "$t/http/http_session.h" '#include "server/conn.h"'
    put "$t/http/http_session.c" \
        '#include "http/http_session.h"' \
        '#include "http/sse.h"' \
        '#include <http_parser.h>'
}

# silent NAME CMD...: CMD must exit 0 and print nothing.
silent() {
    local name=$1 out rc
    shift
    out=$("$@" 2>&1)
    rc=$?
    if [ "$rc" -eq 0 ] && [ -z "$out" ]; then
        pass "$name"
    else
        fail "$name (rc=$rc)"
        printf '%s\n' "$out" | sed 's/^/  /'
    fi
}

# broken NAME FILE LINE EXPECTED: a clean tree plus LINE appended to FILE
# must make check-layers print exactly EXPECTED (@ = FILE:its line number)
# and exit 1.
broken() {
    local name=$1 file=$2 line=$3 want=$4
    local t="$tmp/$name"
    make_clean_tree "$t"
    printf '%s\n' "$line" >>"$t/$file"
    local n
    n=$(wc -l <"$t/$file")
    want=${want//@/$file:$n}
    local out rc
    out=$("$layers" "$t" 2>&1)
    rc=$?
    if [ "$rc" -eq 1 ] && [ "$out" = "$want" ]; then
        pass "layers: $name"
    else
        fail "layers: $name (rc=$rc)"
        printf '  want: %s\n  got:  %s\n' "$want" "${out//$'\n'/$'\n        '}"
    fi
}

# ---- check-layers.sh ----

make_clean_tree "$tmp/clean"
silent "layers: clean tree passes, comments and strings ignored" "$layers" "$tmp/clean"

broken root-relative-bare server/conn.c '#include "buf.h"' \
    '@: root-relative: #include "buf.h"'
broken root-relative-dotdot http/sse.h '#include "../server/util.h"' \
    '@: root-relative: #include "../server/util.h"'
broken root-relative-dot server/conn.c '#include "./server/util.h"' \
    '@: root-relative: #include "./server/util.h"'
broken server-layer server/conn.c '#include "resp/resp_parser.h"' \
    '@: server-layer: #include "resp/resp_parser.h"'
broken server-layer-header server/conn.h '#include "http/sse.h"' \
    '@: server-layer: #include "http/sse.h"'
broken server-layer-resolved server/conn.c '#include "../http/sse.h"' \
    "@: root-relative: #include \"../http/sse.h\"
@: server-layer: #include \"../http/sse.h\""
broken resp-layer resp/resp_session.c '#include "http/sse.h"' \
    '@: resp-layer: #include "http/sse.h"'
broken http-layer http/http_session.c '#include "resp/resp_parser.h"' \
    '@: http-layer: #include "resp/resp_parser.h"'
broken bridge resp/resp_session.c '#include "resp/upstream.h"' \
    '@: bridge: #include "resp/upstream.h"'
broken http-parser server/conn.c '#  include <http_parser.h>' \
    '@: http-parser: #include <http_parser.h>'
broken http-parser-resp resp/resp_session.c '#include<http_parser.h>' \
    '@: http-parser: #include <http_parser.h>'
broken http-parser-main server/main.c '#include <http_parser.h>' \
    '@: http-parser: #include <http_parser.h>'
broken pure server/buf.c '#include "server/conn.h"' \
    '@: pure: #include "server/conn.h"'
broken pure-header http/sse.h '# include "http/http_session.h"' \
    '@: pure: #include "http/http_session.h"'
broken after-string server/conn.c '#include "http/sse.h" // after a "/*" string' \
    '@: server-layer: #include "http/sse.h"'
broken after-comment server/conn.c '/* one */ #include "http/sse.h" /* two' \
    '@: server-layer: #include "http/sse.h"'

graph=$("$layers" --graph "$tmp/clean")
rc=$?
want_edges="server/main.c -> resp/upstream.h
http/http_session.c -> http/sse.h
resp/upstream.c -> resp/upstream.h"
want_folders="http -> http: 3
http -> server: 2
resp -> resp: 4
resp -> server: 4
server -> http: 1
server -> resp: 1
server -> server: 6"
ok=1
[ "$rc" -eq 0 ] || ok=0
while IFS= read -r e; do
    printf '%s\n' "$graph" | grep -qxF "$e" || ok=0
done <<<"$want_edges"
[ "$(printf '%s\n' "$graph" | sed -n '/^$/,$p' | sed 1d)" = "$want_folders" ] || ok=0
printf '%s\n' "$graph" | grep -q 'http_parser\|conn.c -> http' && ok=0
if [ "$ok" -eq 1 ]; then
    pass "layers: --graph file and folder edges"
else
    fail "layers: --graph"
    printf '%s\n' "$graph" | sed 's/^/  /'
fi

# usage NAME CHECKER: run without arguments, the checker must exit 2.
usage() {
    "$2" >/dev/null 2>&1
    if [ $? -eq 2 ]; then pass "$1: usage error is 2"; else fail "$1: usage error"; fi
}
usage layers "$layers"

# ---- check-state.sh ----

lib() {
    local name=$1
    shift
    local objs=()
    for c in "$@"; do
        local o
        o="$tmp/state/$name-$(basename "$c" .c).o"
        mkdir -p "$tmp/state"
        "$CC" -c -fPIE -O0 "$c" -o "$o" || return 1
        objs+=("$o")
    done
    "$AR" rcs "$tmp/state/$name.a" "${objs[@]}"
}

put "$tmp/c/log.c" 'struct jl_log_conf { int level, format; } jl_log_conf = {1, 0};' \
    'static const char *const names[] = {"a", "b"};' \
    'static const int k = 3;' \
    'const char *jl_name(int i) { return names[i] + k; }' \
    'int jl_f(void) { static const char *const t[] = {"x"}; return t[0][0]; }'
put "$tmp/c/dirty.c" 'static int counter;' \
    'int jl_global = 3;' \
    'static char buf[64];' \
    'static int primed = 7;' \
    'int jl_bump(void) { static int calls; buf[0]++; return ++counter + ++calls + jl_global + primed; }'
put "$tmp/c/common.c" 'int jl_tentative;'

if lib clean "$tmp/c/log.c"; then
    silent "state: the log's settings and const tables are allowed" "$state" "$tmp/state/clean.a"
else
    fail "state: cannot build the clean fixture with $CC"
fi

if lib dirty "$tmp/c/log.c" "$tmp/c/dirty.c" && "$CC" -c -fcommon -O0 "$tmp/c/common.c" -o "$tmp/state/dirty-common.o" \
    && "$AR" rs "$tmp/state/dirty.a" "$tmp/state/dirty-common.o" 2>/dev/null; then
    out=$("$state" "$tmp/state/dirty.a" 2>&1)
    rc=$?
    got=$(printf '%s\n' "$out" | LC_ALL=C sort | sed -E 's/calls\.[0-9]+$|jl_bump\.calls$/calls/' | tr '\n' ' ')
    want="dirty-common.o: jl_tentative dirty-dirty.o: buf dirty-dirty.o: calls dirty-dirty.o: counter dirty-dirty.o: jl_global dirty-dirty.o: primed "
    if [ "$rc" -eq 1 ] && [ "$got" = "$want" ]; then
        pass "state: b, B, d, D, C and function-local statics are reported"
    else
        fail "state: dirty library (rc=$rc)"
        printf '  want: %s\n  got:  %s\n' "$want" "$got"
    fi
else
    fail "state: cannot build the dirty fixture with $CC"
fi

usage state "$state"

exit "$failed"
