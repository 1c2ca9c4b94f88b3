/* test_glob.c -- jl_glob_match against Redis 7.0's stringmatchlen.
 *
 * Every row of the table in REFERENCE.md §4.2 ("Glob semantics of
 * PSUBSCRIBE") plus the corners a client could use to tell jugglite from
 * redis-server: empty inputs, escapes, odd classes, bytes above 0x7f, NUL
 * bytes, the nesting limit. The expected values of the quirky rows were
 * checked against redis-server 7.0.15 (PUBSUB CHANNELS <pattern> over a
 * set of subscribed channels, and KEYS for the nesting limit). Pathological
 * patterns must finish quickly, not merely correctly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/glob.h"
#include "server/util.h"

typedef struct {
    const char *pattern;
    size_t plen;        /* 0: strlen(pattern) */
    const char *str;
    size_t slen;        /* 0: strlen(str) */
    int match;
} glob_case_t;

/* Lengths are given explicitly only for rows with NUL bytes or empties. */
#define ROW(p, s, m) {p, 0, s, 0, m}
#define BIN(p, s, m) {p, sizeof(p) - 1, s, sizeof(s) - 1, m}

static const glob_case_t reference_rows[] = {
    /* REFERENCE.md §4.2, row by row. */
    ROW("*", "a", 1),
    ROW("a/*", "a/b/c", 1),           /* no segment semantics */
    ROW("*", "a:b.c/d", 1),
    ROW("*", "", 0),                  /* the loop never runs for "" */
    ROW("?", "\xc3\xa9", 0),          /* '?' is one byte, é is two */
    ROW("??", "\xc3\xa9", 1),
    ROW("h[ae]llo", "hallo", 1),
    ROW("h[ae]llo", "hello", 1),
    ROW("h[^e]llo", "hello", 0),
    ROW("h[^e]llo", "hallo", 1),
    ROW("[!a]*", "!x", 1),            /* '!' is a literal, not negation */
    ROW("[!a]*", "bx", 0),
    ROW("h[b-a]llo", "hbllo", 1),     /* reversed range swapped */
    ROW("h[b-a]llo", "hallo", 1),
    ROW("h[b-a]llo", "hcllo", 0),
    ROW("h\\*llo", "h*llo", 1),
    ROW("h\\*llo", "hello", 0),
    ROW("a\\", "a\\", 1),             /* trailing '\' is a literal '\' */
    ROW("a\\", "a", 0),
    ROW("a[bc", "ab", 1),             /* unclosed '[' runs to the end */
    ROW("a[bc", "ac", 1),
    ROW("a[bc", "a[", 0),
    ROW("a[", "a[", 0),               /* empty unclosed class: nothing */
    ROW("A*", "abc", 0),              /* case-sensitive */
    ROW("a*", "Abc", 0),
};

static const glob_case_t edge_rows[] = {
    /* Empty pattern and empty subject. */
    BIN("", "", 1),
    BIN("", "a", 0),
    BIN("a", "", 0),
    BIN("?", "", 0),
    BIN("[", "", 0),
    BIN("\\", "", 0),
    BIN("**", "", 0),
    /* Stars. */
    ROW("**", "a", 1),
    ROW("a*", "a", 1),                /* trailing '*' may match nothing */
    ROW("a**", "a", 1),
    ROW("*a", "a", 1),
    ROW("a*b", "a", 0),
    ROW("a*b", "ab", 1),
    ROW("a*b", "axxb", 1),
    ROW("a*b", "axxbc", 0),
    ROW("a*b*", "ab", 1),
    ROW("*?", "a", 1),
    ROW("*??", "a", 0),
    ROW("a*?c", "abc", 1),
    ROW("*b*", "abc", 1),
    ROW("*x*", "abc", 0),
    ROW("*\\*", "a*", 1),
    ROW("*\\*", "ab", 0),
    /* Question mark. */
    ROW("h?llo", "hallo", 1),
    ROW("h?llo", "hllo", 0),
    ROW("h?llo", "h\xc3\xa9llo", 0),
    ROW("h??llo", "h\xc3\xa9llo", 1),
    /* Backslash. */
    ROW("\\", "\\", 1),
    ROW("\\", "a", 0),
    ROW("\\a", "a", 1),
    ROW("\\\\", "\\", 1),
    ROW("\\?", "?", 1),
    ROW("\\?", "a", 0),
    ROW("\\[a]", "[a]", 1),
    /* Classes: empty, negated empty, '-' placement, escapes inside. */
    ROW("[]", "]", 0),                /* ']' right after '[' closes it */
    ROW("[]", "a", 0),
    ROW("[]a]", "a", 0),              /* "[]" matches nothing; "a]" is literal */
    ROW("[^]", "x", 1),               /* negated empty class: any byte */
    ROW("[^]", "", 0),
    ROW("[^]x", "ax", 1),
    ROW("[^", "x", 1),                /* unclosed "[^": any byte, then end */
    ROW("a[^", "ab", 1),
    ROW("a[^", "abc", 0),
    ROW("[a-]", "a", 1),              /* "a-]" is the range ']'..'a', unclosed */
    ROW("[a-]", "_", 1),
    ROW("[a-]", "]", 1),
    ROW("[a-]", "-", 0),
    ROW("[a-]", "b", 0),
    ROW("[a-]x", "a", 1),             /* ...so the 'x' is inside the class */
    ROW("[a-]x", "ax", 0),
    ROW("[a-", "a", 1),               /* too short for a range: literals */
    ROW("[a-", "-", 1),
    ROW("[a-", "b", 0),
    ROW("[-a]", "-", 1),
    ROW("[-a]", "b", 0),
    ROW("[]-a]", "-a]", 0),           /* "[]" is empty, never a range start */
    ROW("[\\]]", "]", 1),             /* escaped ']' inside a class */
    ROW("[\\]]", "\\", 0),
    ROW("[\\^a]", "^", 1),
    ROW("[\\a-z]", "a", 1),           /* escaped 'a', then literal '-' and 'z' */
    ROW("[\\a-z]", "-", 1),
    ROW("[\\a-z]", "z", 1),
    ROW("[\\a-z]", "m", 0),
    ROW("[a\\-z]", "-", 1),
    ROW("[a\\-z]", "m", 0),
    ROW("[a-\\]", "\\", 1),           /* '\' is the range end, ']' closes */
    ROW("[a-\\]", "_", 1),
    ROW("[a-\\]", "b", 0),
    ROW("[\\", "\\", 1),              /* lone '\' at the end of a class */
    ROW("[z-a]", "m", 1),
    ROW("[a-a]", "a", 1),
    ROW("[^a-c]", "b", 0),
    ROW("[^a-c]", "d", 1),
    ROW("[abc]", "ab", 0),            /* a class is one byte */
    ROW("[*]", "*", 1),
    ROW("[*]", "a", 0),
    ROW("[?]", "?", 1),
    ROW("[?]", "a", 0),
    /* Bytes above 0x7f: classes hold bytes, ranges compare as signed char. */
    ROW("[\xc3\xa9]", "\xc3\xa9", 0),
    ROW("[\xc3\xa9]?", "\xc3\xa9", 1),
    ROW("[\x01-\xff]", "\x80", 0),    /* 1..-1 swapped is -1..1 */
    ROW("[\x01-\xff]", "a", 0),
    ROW("[\x01-\xff]", "\xff", 1),
    ROW("[\x01-\xff]", "\x01", 1),
    ROW("[\x80-\xbf]", "\x90", 1),
    ROW("[\x80-\xbf]", "a", 0),
    ROW("[a-\xc3]", "\xe0", 1),       /* -61..97: 0xc3..0xff and 0..'a' */
    ROW("[a-\xc3]", "0", 1),
    ROW("[a-\xc3]", "b", 0),
    /* NUL bytes are ordinary bytes on both sides. */
    BIN("a\0b", "a\0b", 1),
    BIN("a?b", "a\0b", 1),
    BIN("a*", "a\0", 1),
    BIN("[\0]", "\0", 1),
    BIN("a\0", "a", 0),
};

static void run_rows(const glob_case_t *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const glob_case_t *c = &rows[i];
        size_t plen = c->plen ? c->plen : strlen(c->pattern);
        size_t slen = c->slen ? c->slen : strlen(c->str);
        int got = jl_glob_match(c->pattern, plen, c->str, slen);
        if (got != c->match)
            fail_msg("row %zu: pattern \"%s\" vs \"%s\": got %d, want %d",
                     i, c->pattern, c->str, got, c->match);
    }
}

static void test_glob_reference_table(void **state)
{
    (void)state;
    run_rows(reference_rows, JL_ARRAY_LEN(reference_rows));
}

static void test_glob_edge_cases(void **state)
{
    (void)state;
    run_rows(edge_rows, JL_ARRAY_LEN(edge_rows));
}

/* The lengths are honoured: bytes past plen/slen are never looked at. */
static void test_glob_respects_lengths(void **state)
{
    (void)state;
    assert_true(jl_glob_match("ab*", 2, "abc", 2));
    assert_false(jl_glob_match("ab*", 2, "abc", 3));
    assert_true(jl_glob_match("a*", 2, "abc", 3));
    assert_true(jl_glob_match("a[bc]", 2, "ab", 2) == 0); /* "a[" */
    assert_true(jl_glob_match("h\\*", 2, "h\\", 2));       /* trailing '\' */
    assert_true(jl_glob_match("x", 0, "", 0));
}

static char *repeat(const char *unit, size_t times, const char *tail)
{
    size_t ulen = strlen(unit), tlen = strlen(tail);
    char *s = malloc(ulen * times + tlen + 1);

    assert_non_null(s);
    for (size_t i = 0; i < times; i++)
        memcpy(s + i * ulen, unit, ulen);
    memcpy(s + ulen * times, tail, tlen + 1);
    return s;
}

/* More than 1000 nested '*' expansions: no match, like Redis (KEYS). */
static void test_glob_nesting_limit(void **state)
{
    (void)state;
    char *subject = repeat("a", 1100, "");
    static const struct { size_t stars; int match; } rows[] = {
        {999, 1}, {1000, 1}, {1001, 0}, {2000, 0},
    };

    for (size_t i = 0; i < JL_ARRAY_LEN(rows); i++) {
        char *pat = repeat("a*", rows[i].stars, "a");
        assert_int_equal(jl_glob_match(pat, strlen(pat), subject, strlen(subject)),
                         rows[i].match);
        free(pat);
    }
    /* A trailing '*' is not a nesting level: it ends the match at once. */
    char *pat = repeat("a*", 1001, "");
    assert_true(jl_glob_match(pat, strlen(pat), subject, strlen(subject)));
    free(pat);
    free(subject);
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Naive backtracking needs ~n^k steps for these; the pruning keeps them
 * near pattern length x subject length. Limits are generous for ASan. */
static void test_glob_pathological_patterns_are_fast(void **state)
{
    (void)state;
    static const struct { const char *unit; size_t times; const char *tail; } pats[] = {
        {"*a", 30, "*b"},
        {"a*", 500, "b"},
        {"*?", 200, "x"},
        {"*[a]", 100, "*[b]"},
        {"*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a", 1, "*b"},
        {"*\\a", 100, "\\b"},
    };
    char *subject = repeat("a", 20000, "");
    struct timespec t0;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (size_t i = 0; i < JL_ARRAY_LEN(pats); i++) {
        char *pat = repeat(pats[i].unit, pats[i].times, pats[i].tail);
        assert_false(jl_glob_match(pat, strlen(pat), subject, strlen(subject)));
        free(pat);
    }
    double took = seconds_since(&t0);
    if (took > 5.0)
        fail_msg("pathological patterns took %.2f s", took);
    free(subject);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_glob_reference_table),
        cmocka_unit_test(test_glob_edge_cases),
        cmocka_unit_test(test_glob_respects_lengths),
        cmocka_unit_test(test_glob_nesting_limit),
        cmocka_unit_test(test_glob_pathological_patterns_are_fast),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
