#!/usr/bin/env bash
# check-layers.sh -- the include rules of STYLE.md §8, checked.
#
# Usage: scripts/check-layers.sh [--graph] ROOT
#
# The folders are the layers: server/ is the runtime and knows no protocol,
# resp/ and http/ sit on top of it and never on each other, and
# server/main.c, the composition root, is the one file that sees them all.
# A rule that is only written down erodes one convenient include at a time,
# so this script reads every #include in ROOT/{server,resp,http}/*.{c,h}
# (comments and string literals skipped, "#  include" accepted) and prints
# each violation as
#
#     file:line: rule: the include
#
# exiting 1 if there was any, 0 if the tree is clean (2: bad usage). Rules:
#   root-relative  a quoted include names its file from the root:
#                  "server/...", "resp/..." or "http/...", no "./" or "../"
#   server-layer   server/ includes only server/ (not server/main.c)
#   resp-layer     resp/ includes only server/ and resp/
#   http-layer     http/ includes only server/ and http/
#   bridge         only server/main.c includes the bridge (BRIDGE below),
#                  besides the bridge's own .c
#   http-parser    only http/http_session.c includes <http_parser.h>
#   pure           a pure module (PURE below) includes only pure modules'
#                  headers; system headers are fine
# A quoted include that is not root-relative is resolved the way the
# compiler would (next to the including file first, then from the root), so
# the other rules still judge where it really points.
#
# --graph prints the include graph instead of checking it: one line per
# file-level edge, "from -> to" (quoted includes only, resolved as above),
# then a blank line, then one line per folder-level edge with the number of
# file-level edges behind it, "from -> to: N". Exits 0.

set -euo pipefail

# Modules with no I/O, no event loop and no global state: they may lean on
# each other, nothing else. A module is its .c/.h pair, named without the
# extension.
PURE="server/buf server/util server/htable server/siphash server/glob
      server/strconv server/msg resp/resp_parser resp/resp_writer
      resp/redis_url http/sse http/query"

# The bridge to a Redis upstream. server/upstream.h is where it lives until
# the restructuring moves it to resp/; drop that name once it has moved.
BRIDGE="resp/upstream.h server/upstream.h"

COMPOSITION_ROOT="server/main.c"
HTTP_PARSER_OWNER="http/http_session.c"
LAYERS="server resp http"

usage() {
    echo "usage: $0 [--graph] ROOT" >&2
    exit 2
}

mode=check
if [ "${1:-}" = "--graph" ]; then
    mode=graph
    shift
fi
[ $# -eq 1 ] || usage
root=$1
[ -d "$root" ] || { echo "$0: $root: not a directory" >&2; exit 2; }

# Relative paths of every file to scan, sorted, one per line.
files=$(cd "$root" && for d in $LAYERS; do
    [ -d "$d" ] && find "$d" -type f \( -name '*.c' -o -name '*.h' \)
done | LC_ALL=C sort)
[ -n "$files" ] || exit 0

cd "$root"
out=$(printf '%s\n' "$files" | PURE="$PURE" BRIDGE="$BRIDGE" LC_ALL=C awk -v mode="$mode" \
    -v main="$COMPOSITION_ROOT" -v hp_owner="$HTTP_PARSER_OWNER" -v layers="$LAYERS" '
function set_of(list, arr,    n, i, parts) {
    n = split(list, parts, /[ \t\n]+/)
    for (i = 1; i <= n; i++)
        if (parts[i] != "")
            arr[parts[i]] = 1
}

# "a/./b/../c" -> "a/c"; a path that climbs above the root keeps its "..".
function normalize(p,    n, i, parts, out, depth, stack) {
    n = split(p, parts, "/")
    depth = 0
    for (i = 1; i <= n; i++) {
        if (parts[i] == "" || parts[i] == ".")
            continue
        if (parts[i] == ".." && depth > 0 && stack[depth] != "..") {
            depth--
            continue
        }
        stack[++depth] = parts[i]
    }
    out = ""
    for (i = 1; i <= depth; i++)
        out = out (i > 1 ? "/" : "") stack[i]
    return out
}

function dirname(p) { return p ~ /\// ? substr(p, 1, match(p, /\/[^\/]*$/) - 1) : "." }
function folder(p) { return p ~ /\// ? substr(p, 1, index(p, "/") - 1) : "." }
function module(p) { sub(/\.[ch]$/, "", p); return p }

function in_layer_root(p,    f) {
    f = folder(p)
    return f in is_layer
}

# Where the compiler would find a quoted include: beside the includer,
# else from the root (-I ROOT); a file that exists nowhere resolves as written.
function resolve(from, inc,    beside, rooted) {
    beside = normalize(dirname(from) "/" inc)
    rooted = normalize(inc)
    if (beside in exists)
        return beside
    if (rooted in exists)
        return rooted
    return in_layer_root(rooted) ? rooted : beside
}

function report(file, line, rule, text) {
    printf "%s:%d: %s: %s\n", file, line, rule, text
    violations++
}

# Removes comments from one line, keeping string and character literals
# verbatim; "in_comment" carries a block comment over to the next line.
function strip(s,    out, n, k, c, c2, q) {
    out = ""
    n = length(s)
    k = 1
    while (k <= n) {
        c = substr(s, k, 1)
        c2 = substr(s, k, 2)
        if (in_comment) {
            if (c2 == "*/") {
                in_comment = 0
                out = out " "
                k += 2
            } else {
                k++
            }
            continue
        }
        if (c2 == "/*") {
            in_comment = 1
            k += 2
            continue
        }
        if (c2 == "//")
            break
        if (c == "\"" || c == "\047") {
            q = c
            out = out c
            for (k++; k <= n; k++) {
                c = substr(s, k, 1)
                out = out c
                if (c == "\\") {
                    out = out substr(s, ++k, 1)
                    continue
                }
                if (c == q) {
                    k++
                    break
                }
            }
            continue
        }
        out = out c
        k++
    }
    return out
}

function check(file, line, quoted, inc,    text, target, ff, tf) {
    text = quoted ? "#include \"" inc "\"" : "#include <" inc ">"
    if (inc == "http_parser.h" && file != hp_owner)
        report(file, line, "http-parser", text)
    if (!quoted)
        return
    if (inc !~ /^(server|resp|http)\// || ("/" inc "/") ~ /\/\.\.?\//)
        report(file, line, "root-relative", text)
    target = resolve(file, inc)
    ff = folder(file)
    tf = folder(target)
    if (file == main) {
        # the composition root may include anything
    } else if (ff == "server" && tf != "server") {
        report(file, line, "server-layer", text)
    } else if (ff == "resp" && tf != "server" && tf != "resp") {
        report(file, line, "resp-layer", text)
    } else if (ff == "http" && tf != "server" && tf != "http") {
        report(file, line, "http-layer", text)
    }
    if ((target in is_bridge) && file != main && module(file) != module(target))
        report(file, line, "bridge", text)
    if ((module(file) in is_pure) && !(module(target) in is_pure))
        report(file, line, "pure", text)
}

function edge(file, inc,    target, key, fkey) {
    target = resolve(file, inc)
    key = file " -> " target
    if (key in seen)
        return
    seen[key] = 1
    file_edges[++nfile] = key
    fkey = folder(file) " -> " folder(target)
    if (!(fkey in folder_count))
        folder_order[++nfolder] = fkey
    folder_count[fkey]++
}

BEGIN {
    set_of(ENVIRON["PURE"], is_pure)
    set_of(ENVIRON["BRIDGE"], is_bridge)
    set_of(layers, is_layer)
    # First the list of files on stdin, then each file in turn.
    while ((getline f < "/dev/stdin") > 0)
        if (f != "") {
            exists[f] = 1
            order[++nfiles] = f
        }
    for (i = 1; i <= nfiles; i++) {
        file = order[i]
        in_comment = 0
        line = 0
        while ((getline s < file) > 0) {
            line++
            s = strip(s)
            if (!match(s, /^[ \t]*#[ \t]*include[ \t]*("[^"]*"|<[^>]*>)/))
                continue
            inc = substr(s, RSTART, RLENGTH)
            sub(/^[ \t]*#[ \t]*include[ \t]*/, "", inc)
            quoted = substr(inc, 1, 1) == "\""
            inc = substr(inc, 2, length(inc) - 2)
            if (mode == "graph") {
                if (quoted)
                    edge(file, inc)
            } else {
                check(file, line, quoted, inc)
            }
        }
        close(file)
    }
    if (mode == "graph") {
        for (i = 1; i <= nfile; i++)
            print file_edges[i]
        # Folder edges are tagged with a tab, sorted by the shell below.
        for (i = 1; i <= nfolder; i++)
            print "\t" folder_order[i] ": " folder_count[folder_order[i]]
        exit 0
    }
    exit violations > 0 ? 1 : 0
}') || status=$?

if [ "$mode" = graph ]; then
    printf '%s\n' "$out" | grep -v "^$(printf '\t')" || true
    echo
    printf '%s\n' "$out" | grep "^$(printf '\t')" | cut -c2- | LC_ALL=C sort || true
    exit 0
fi
[ -z "$out" ] || printf '%s\n' "$out"
exit "${status:-0}"
