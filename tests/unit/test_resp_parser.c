/* test_resp_parser.c -- unit tests for resp/resp_parser.c.
 *
 * The expected texts and accept/refuse decisions were checked against a real
 * redis-server 7.0.15 by sending the same bytes (see the comments marked
 * [O]); the split tests feed every prefix to prove the parser resumes, and
 * the big-multibulk test proves it resumes without rescanning. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "resp/resp_parser.h"
#include "server/util.h"

/* ---- helpers ---- */

typedef struct {
    int rc;
    size_t used;
    size_t argc;
    char *args[8];      /* copies of the first arguments, NUL-terminated */
    size_t lens[8];
    char err[128];
} result_t;

static void result_free(result_t *r)
{
    for (size_t i = 0; i < 8; i++)
        free(r->args[i]);
    memset(r, 0, sizeof *r);
}

/* Parses buf[0..n) with a fresh parser in one call. */
static result_t parse_once(const char *buf, size_t n, const jl_resp_limits_t *lim)
{
    result_t r;
    memset(&r, 0, sizeof r);
    jl_resp_parser_t p;
    jl_resp_parser_init(&p, lim);
    jl_resp_cmd_t cmd;
    /* A private copy: the parser must never read past n. */
    char *copy = malloc(n ? n : 1);
    memcpy(copy, buf, n);
    r.rc = jl_resp_parse_request(&p, copy, n, &cmd, &r.used);
    if (r.rc == JL_OK) {
        r.argc = cmd.argc;
        for (size_t i = 0; i < cmd.argc && i < 8; i++) {
            r.args[i] = jl_strndup(cmd.argv[i], cmd.argvlen[i]);
            r.lens[i] = cmd.argvlen[i];
        }
    } else if (r.rc < 0) {
        snprintf(r.err, sizeof r.err, "%s", p.err);
    }
    free(copy);
    jl_resp_parser_free(&p);
    return r;
}

#define PARSE(lit, lim) parse_once((lit), sizeof(lit) - 1, (lim))

static void expect_error(const char *buf, size_t n, const jl_resp_limits_t *lim, const char *err)
{
    result_t r = parse_once(buf, n, lim);
    if (r.rc >= 0)
        fail_msg("no error for input of %zu bytes (rc %d), wanted \"%s\"", n, r.rc, err);
    assert_string_equal(r.err, err);
    result_free(&r);
}

#define EXPECT_ERROR(lit, lim, err) expect_error((lit), sizeof(lit) - 1, (lim), (err))

static void expect_again(const char *buf, size_t n, const jl_resp_limits_t *lim)
{
    result_t r = parse_once(buf, n, lim);
    assert_int_equal(r.rc, JL_AGAIN);
    result_free(&r);
}

/* Feeds every prefix of 'in' to one parser (each from a fresh copy, so the
 * buffer moves every call), expects JL_AGAIN for each, then JL_OK. */
static void expect_all_splits(const char *in, size_t n, size_t argc)
{
    for (size_t cut = 0; cut < n; cut++) {
        jl_resp_parser_t p;
        jl_resp_parser_init(&p, NULL);
        jl_resp_cmd_t cmd;
        size_t used = 0;
        char *a = malloc(cut ? cut : 1);
        memcpy(a, in, cut);
        assert_int_equal(jl_resp_parse_request(&p, a, cut, &cmd, &used), JL_AGAIN);
        free(a);
        char *b = malloc(n);
        memcpy(b, in, n);
        assert_int_equal(jl_resp_parse_request(&p, b, n, &cmd, &used), JL_OK);
        assert_int_equal(used, n);
        assert_int_equal(cmd.argc, argc);
        /* Multibulk arguments point into the latest buffer. */
        for (size_t i = 0; in[0] == '*' && i < cmd.argc; i++)
            assert_true(cmd.argv[i] >= b && cmd.argv[i] <= b + n);
        free(b);
        jl_resp_parser_free(&p);
    }
    /* And byte by byte on one parser. */
    jl_resp_parser_t p;
    jl_resp_parser_init(&p, NULL);
    jl_resp_cmd_t cmd;
    size_t used = 0;
    for (size_t k = 1; k < n; k++)
        assert_int_equal(jl_resp_parse_request(&p, in, k, &cmd, &used), JL_AGAIN);
    assert_int_equal(jl_resp_parse_request(&p, in, n, &cmd, &used), JL_OK);
    assert_int_equal(cmd.argc, argc);
    jl_resp_parser_free(&p);
}

#define EXPECT_ALL_SPLITS(lit, argc) expect_all_splits((lit), sizeof(lit) - 1, (argc))

/* ---- multibulk ---- */

static void test_resp_parser_multibulk_basic(void **state)
{
    (void)state;
    result_t r = PARSE("*3\r\n$7\r\nPUBLISH\r\n$4\r\nnews\r\n$2\r\nhi\r\n", NULL);
    assert_int_equal(r.rc, JL_OK);
    assert_int_equal(r.used, 35);
    assert_int_equal(r.argc, 3);
    assert_string_equal(r.args[0], "PUBLISH");
    assert_string_equal(r.args[1], "news");
    assert_string_equal(r.args[2], "hi");
    result_free(&r);
}

static void test_resp_parser_multibulk_binary_safe(void **state)
{
    (void)state;
    static const char in[] = "*2\r\n$4\r\nECHO\r\n$6\r\na\r\n\0\xff" "b\r\n";
    result_t r = PARSE(in, NULL);
    assert_int_equal(r.rc, JL_OK);
    assert_int_equal(r.argc, 2);
    assert_int_equal(r.lens[1], 6);
    assert_memory_equal(r.args[1], "a\r\n\0\xff" "b", 6);
    result_free(&r);

    r = PARSE("*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", NULL);
    assert_int_equal(r.rc, JL_OK);
    assert_int_equal(r.argc, 2);
    assert_int_equal(r.lens[1], 0);
    result_free(&r);
}

static void test_resp_parser_multibulk_any_split(void **state)
{
    (void)state;
    EXPECT_ALL_SPLITS("*3\r\n$7\r\nPUBLISH\r\n$4\r\nnews\r\n$2\r\nhi\r\n", 3);
    EXPECT_ALL_SPLITS("*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", 2);
    EXPECT_ALL_SPLITS("*1\r\n$12\r\n0123456789ab\r\n", 1);
    EXPECT_ALL_SPLITS("*0\r\n", 0);
    EXPECT_ALL_SPLITS("*-1\r\n", 0);
}

/* [O] "*0", "*-1", "*-5", LLONG_MIN: an empty command, skipped by Redis. */
static void test_resp_parser_multibulk_empty_counts(void **state)
{
    (void)state;
    static const char *ins[] = {"*0\r\n", "*-1\r\n", "*-5\r\n", "*-9223372036854775808\r\n"};
    for (size_t i = 0; i < JL_ARRAY_LEN(ins); i++) {
        result_t r = parse_once(ins[i], strlen(ins[i]), NULL);
        assert_int_equal(r.rc, JL_OK);
        assert_int_equal(r.argc, 0);
        assert_int_equal(r.used, strlen(ins[i]));
        result_free(&r);
    }
}

/* [O] Redis only needs a byte after each '\r' and two after each payload;
 * it never checks they are "\n" / "\r\n". "*1\rX$4\r\nPINGxx" is PING. */
static void test_resp_parser_multibulk_unchecked_terminators(void **state)
{
    (void)state;
    result_t r = PARSE("*1\rX$4\r\nPINGxx", NULL);
    assert_int_equal(r.rc, JL_OK);
    assert_int_equal(r.argc, 1);
    assert_string_equal(r.args[0], "PING");
    assert_int_equal(r.used, 14);
    result_free(&r);

    r = PARSE("*1\r\n$4\r\nPING\n\n", NULL);
    assert_int_equal(r.rc, JL_OK);
    assert_string_equal(r.args[0], "PING");
    result_free(&r);

    /* A '\r' as the last byte is not enough yet. */
    expect_again("*1\r", 3, NULL);
    expect_again("*1\r\n$4\r", 7, NULL);
    expect_again("*1\r\n$4\r\nPING\r", 13, NULL);
}

static void test_resp_parser_pipeline(void **state)
{
    (void)state;
    static const char in[] = "*1\r\n$4\r\nPING\r\nECHO hi\r\n*0\r\n*1\r\n$3\r\nfoo\r\n";
    const char *p = in;
    size_t left = sizeof in - 1;
    jl_resp_parser_t ps;
    jl_resp_parser_init(&ps, NULL);
    jl_resp_cmd_t cmd;
    size_t used;
    static const size_t argcs[] = {1, 2, 0, 1};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(jl_resp_parse_request(&ps, p, left, &cmd, &used), JL_OK);
        assert_int_equal(cmd.argc, argcs[i]);
        p += used;
        left -= used;
    }
    assert_int_equal(left, 0);
    assert_memory_equal(cmd.argv[0], "foo", 3);
    assert_int_equal(jl_resp_parse_request(&ps, p, left, &cmd, &used), JL_AGAIN);
    jl_resp_parser_free(&ps);
}

/* [O] every text below is what redis-server 7.0.15 answered. */
static void test_resp_parser_multibulk_count_errors(void **state)
{
    (void)state;
    const char *e = "Protocol error: invalid multibulk length";
    EXPECT_ERROR("*\r\n", NULL, e);
    EXPECT_ERROR("*01\r\n", NULL, e);
    EXPECT_ERROR("*-0\r\n", NULL, e);
    EXPECT_ERROR("*+1\r\n", NULL, e);
    EXPECT_ERROR("* 1\r\n", NULL, e);
    EXPECT_ERROR("*1 \r\n", NULL, e);
    EXPECT_ERROR("*x\r\n", NULL, e);
    EXPECT_ERROR("*2147483648\r\n", NULL, e);
    EXPECT_ERROR("*-9223372036854775809\r\n", NULL, e);
    EXPECT_ERROR("*123456789012345678901\r\n", NULL, e);
    expect_again("*2147483647\r\n", 13, NULL);
}

static void test_resp_parser_bulk_length_errors(void **state)
{
    (void)state;
    const char *e = "Protocol error: invalid bulk length";
    EXPECT_ERROR("*1\r\n$-1\r\n", NULL, e);
    EXPECT_ERROR("*1\r\n$-0\r\n", NULL, e);
    EXPECT_ERROR("*1\r\n$+4\r\n", NULL, e);
    EXPECT_ERROR("*1\r\n$04\r\n", NULL, e);
    EXPECT_ERROR("*1\r\n$\r\n", NULL, e);
    EXPECT_ERROR("*1\r\n$4 \r\n", NULL, e);
    EXPECT_ERROR("*1\r\n$99999999999999999999\r\n", NULL, e);
    EXPECT_ERROR("*1\r\n$-9223372036854775808\r\n", NULL, e);
    EXPECT_ERROR("*1\r\n$536870913\r\n", NULL, e);        /* default max_bulk + 1 */
    expect_again("*1\r\n$536870912\r\n", 16, NULL);
    /* The error comes after a complete first argument too. */
    EXPECT_ERROR("*2\r\n$4\r\nECHO\r\n$x\r\n", NULL, e);
}

static void test_resp_parser_expected_dollar(void **state)
{
    (void)state;
    EXPECT_ERROR("*1\r\nx\r\n", NULL, "Protocol error: expected '$', got 'x'");
    EXPECT_ERROR("*1\r\n%\r\n", NULL, "Protocol error: expected '$', got '%'");
    EXPECT_ERROR("*1\r\n:1\r\n", NULL, "Protocol error: expected '$', got ':'");
    /* [O] Redis shows '\r' and '\n' as a space. */
    EXPECT_ERROR("*1\r\n\r\n", NULL, "Protocol error: expected '$', got ' '");
    EXPECT_ERROR("*1\r\n\n\r\n", NULL, "Protocol error: expected '$', got ' '");
    /* [O] other bytes are sent raw. */
    EXPECT_ERROR("*1\r\n\xff\r\n", NULL, "Protocol error: expected '$', got '\xff'");
    EXPECT_ERROR("*2\r\n$1\r\na\r\n*1\r\n", NULL, "Protocol error: expected '$', got '*'");
    /* Nothing is said before the line is complete. */
    expect_again("*1\r\nx", 5, NULL);
    expect_again("*1\r\nx\r", 6, NULL);
}

/* [O] Redis finds line ends with strchr, so a NUL hides them: the request
 * waits until the "too big" limit trips. */
static void test_resp_parser_nul_hides_terminator(void **state)
{
    (void)state;
    expect_again("PING\0\r\n", 7, NULL);
    expect_again("*1\0\r\n", 5, NULL);
    expect_again("*1\r\n$4\0\r\nPING\r\n", 15, NULL);

    size_t n = 70000;
    char *buf = malloc(n);
    memset(buf, 'A', n);
    memcpy(buf, "PING\0\r\n", 7);
    expect_error(buf, n, NULL, "Protocol error: too big inline request");
    memcpy(buf, "*1\0\r\n", 5);
    expect_error(buf, n, NULL, "Protocol error: too big mbulk count string");
    memcpy(buf, "*1\r\n$4\0\r\n", 9);
    expect_error(buf, n, NULL, "Protocol error: too big bulk count string");
    free(buf);

    /* Resuming while parked on the NUL stays correct. */
    jl_resp_parser_t p;
    jl_resp_limits_t lim = {0, 0, 16};
    jl_resp_parser_init(&p, &lim);
    jl_resp_cmd_t cmd;
    size_t used;
    char in[32] = "*1\r\n$4\0\r\nPING\r\nxxxxxxxxxx";
    assert_int_equal(jl_resp_parse_request(&p, in, 10, &cmd, &used), JL_AGAIN);
    assert_int_equal(jl_resp_parse_request(&p, in, 20, &cmd, &used), JL_AGAIN);
    assert_int_equal(jl_resp_parse_request(&p, in, 21, &cmd, &used), -EPROTO);
    assert_string_equal(p.err, "Protocol error: too big bulk count string");
    jl_resp_parser_free(&p);
}

/* [O] 64 KiB without '\r': 65536 bytes wait, 65537 fail. */
static void test_resp_parser_header_line_limits(void **state)
{
    (void)state;
    size_t K = 64 * 1024;
    char *buf = malloc(K + 16);

    buf[0] = '*';
    memset(buf + 1, '1', K + 8);
    expect_again(buf, K, NULL);
    expect_error(buf, K + 1, NULL, "Protocol error: too big mbulk count string");

    memcpy(buf, "*1\r\n$", 5);
    expect_again(buf, K + 4, NULL);
    expect_error(buf, K + 5, NULL, "Protocol error: too big bulk count string");

    /* A terminated but absurd line is just a bad number. */
    memcpy(buf + K + 2, "\r\n", 2);
    expect_error(buf, K + 4, NULL, "Protocol error: invalid bulk length");
    free(buf);

    /* With configured limits; the count is from the start of the line. */
    jl_resp_limits_t lim = {0, 0, 8};
    EXPECT_ERROR("*12345678", &lim, "Protocol error: too big mbulk count string");
    expect_again("*1234567", 8, &lim);
    EXPECT_ERROR("*2\r\n$1\r\na\r\n$12345678", &lim, "Protocol error: too big bulk count string");
    expect_again("*2\r\n$1\r\na\r\n$1234567", 19, &lim);
}

static void test_resp_parser_limits(void **state)
{
    (void)state;
    jl_resp_limits_t lim = {5, 3, 0};
    result_t r = PARSE("*3\r\n$5\r\naaaaa\r\n$0\r\n\r\n$1\r\nb\r\n", &lim);
    assert_int_equal(r.rc, JL_OK);
    assert_int_equal(r.argc, 3);
    result_free(&r);
    EXPECT_ERROR("*4\r\n", &lim, "Protocol error: invalid multibulk length");
    EXPECT_ERROR("*1\r\n$6\r\n", &lim, "Protocol error: invalid bulk length");
    /* Counts <= 0 stay empty commands whatever the limit. */
    r = PARSE("*-7\r\n", &lim);
    assert_int_equal(r.rc, JL_OK);
    assert_int_equal(r.argc, 0);
    result_free(&r);
}

/* [O] with requirepass, before AUTH: *11 and $16385 are refused. */
static void test_resp_parser_unauthenticated_limits(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        const char *err;   /* NULL: JL_AGAIN */
    } cases[] = {
        {"*11\r\n", "Protocol error: unauthenticated multibulk length"},
        {"*10\r\n", NULL},
        {"*1\r\n$16385\r\n", "Protocol error: unauthenticated bulk length"},
        {"*1\r\n$16384\r\n", NULL},
        {"*1\r\n$-1\r\n", "Protocol error: invalid bulk length"},
        {"*2147483648\r\n", "Protocol error: invalid multibulk length"},
    };
    for (size_t i = 0; i < JL_ARRAY_LEN(cases); i++) {
        jl_resp_parser_t p;
        jl_resp_parser_init(&p, NULL);
        p.unauthenticated = 1;
        jl_resp_cmd_t cmd;
        size_t used;
        int rc = jl_resp_parse_request(&p, cases[i].in, strlen(cases[i].in), &cmd, &used);
        if (cases[i].err == NULL) {
            assert_int_equal(rc, JL_AGAIN);
        } else {
            assert_int_equal(rc, -EPROTO);
            assert_string_equal(p.err, cases[i].err);
        }
        jl_resp_parser_free(&p);
    }
    /* Empty and small commands still pass. */
    jl_resp_parser_t p;
    jl_resp_parser_init(&p, NULL);
    p.unauthenticated = 1;
    jl_resp_cmd_t cmd;
    size_t used;
    assert_int_equal(jl_resp_parse_request(&p, "*-100\r\n", 7, &cmd, &used), JL_OK);
    assert_int_equal(cmd.argc, 0);
    jl_resp_parser_free(&p);
}

/* A count is never trusted for memory: "*2147483647" allocates 1024 slots. */
static void test_resp_parser_lying_count(void **state)
{
    (void)state;
    jl_resp_parser_t p;
    jl_resp_parser_init(&p, NULL);
    jl_resp_cmd_t cmd;
    size_t used;
    static const char in[] = "*2147483647\r\n$1\r\na\r\n$1\r\nb\r\n";
    assert_int_equal(jl_resp_parse_request(&p, in, sizeof in - 1, &cmd, &used), JL_AGAIN);
    assert_true(p.cap <= 1024);
    assert_int_equal(p.argc, 2);
    jl_resp_parser_free(&p);

    /* Growth is capped by what is still announced. */
    jl_resp_parser_init(&p, NULL);
    size_t n = 1100, len = 0;
    char *buf = malloc(16 + n * 7);
    len += (size_t)sprintf(buf, "*%zu\r\n", n);
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(buf + len, "$1\r\nx\r\n");
    assert_int_equal(jl_resp_parse_request(&p, buf, len, &cmd, &used), JL_OK);
    assert_int_equal(cmd.argc, n);
    assert_int_equal(p.cap, n);
    free(buf);
    /* The next request releases the big arrays. */
    assert_int_equal(jl_resp_parse_request(&p, "PING\r\n", 6, &cmd, &used), JL_OK);
    assert_true(p.cap <= 1024);
    jl_resp_parser_free(&p);
}

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 1,000,000 arguments fed 1000 bytes at a time into a buffer that grows like
 * a connection's (doubling, so it moves): must be linear. A rescan from the
 * start per call would be ~8900 calls x 4.4 MB on average. */
static void test_resp_parser_big_multibulk_linear(void **state)
{
    (void)state;
    const size_t nargs = 1000000;
    size_t total = 0;
    char *all = malloc(32 + nargs * 16);
    total += (size_t)sprintf(all, "*%zu\r\n", nargs);
    for (size_t i = 0; i < nargs; i++) {
        char arg[16];
        int an = sprintf(arg, "%zu", i % 1000);
        total += (size_t)sprintf(all + total, "$%d\r\n%s\r\n", an, arg);
    }
    jl_resp_parser_t p;
    jl_resp_parser_init(&p, NULL);
    jl_resp_cmd_t cmd;
    size_t used = 0;
    char *buf = NULL;
    size_t have = 0, cap = 0;
    int rc = JL_AGAIN;
    size_t calls = 0;
    double t0 = now_sec();
    while (rc == JL_AGAIN) {
        size_t step = total - have < 1000 ? total - have : 1000;
        if (have + step > cap) {
            cap = cap ? cap * 2 : 4096;
            buf = realloc(buf, cap);
        }
        memcpy(buf + have, all + have, step);
        have += step;
        rc = jl_resp_parse_request(&p, buf, have, &cmd, &used);
        calls++;
    }
    double dt = now_sec() - t0;
    assert_int_equal(rc, JL_OK);
    assert_int_equal(used, total);
    assert_int_equal(cmd.argc, nargs);
    assert_memory_equal(cmd.argv[0], "0", 1);
    assert_int_equal(cmd.argvlen[999999], 3);
    assert_memory_equal(cmd.argv[999999], "999", 3);
    assert_memory_equal(cmd.argv[123456], "456", 3);
    print_message("big multibulk: %zu bytes, %zu calls, %.3f s\n", total, calls, dt);
    assert_true(dt < 5.0);
    free(buf);
    free(all);
    jl_resp_parser_free(&p);
}

/* ---- inline ---- */

static void test_resp_parser_inline_basic(void **state)
{
    (void)state;
    result_t r = PARSE("PING\r\n", NULL);
    assert_int_equal(r.rc, JL_OK);
    assert_int_equal(r.argc, 1);
    assert_string_equal(r.args[0], "PING");
    assert_int_equal(r.used, 6);
    result_free(&r);

    r = PARSE("PING\n", NULL);
    assert_int_equal(r.rc, JL_OK);
    assert_int_equal(r.used, 5);
    result_free(&r);

    r = PARSE("  SUBSCRIBE\ta   b\t\r\n", NULL);
    assert_int_equal(r.rc, JL_OK);
    assert_int_equal(r.argc, 3);
    assert_string_equal(r.args[0], "SUBSCRIBE");
    assert_string_equal(r.args[1], "a");
    assert_string_equal(r.args[2], "b");
    result_free(&r);
}

static void test_resp_parser_inline_empty_lines(void **state)
{
    (void)state;
    static const char *ins[] = {"\r\n", "\n", "   \r\n", "\t\v\f \n", "\r\r\n"};
    for (size_t i = 0; i < JL_ARRAY_LEN(ins); i++) {
        result_t r = parse_once(ins[i], strlen(ins[i]), NULL);
        assert_int_equal(r.rc, JL_OK);
        assert_int_equal(r.argc, 0);
        assert_int_equal(r.used, strlen(ins[i]));
        result_free(&r);
    }
}

static void test_resp_parser_inline_any_split(void **state)
{
    (void)state;
    EXPECT_ALL_SPLITS("PUBLISH news \"hello world\"\r\n", 3);
    EXPECT_ALL_SPLITS("ECHO 'it\\'s'\n", 2);
    EXPECT_ALL_SPLITS("\r\n", 0);
}

typedef struct {
    const char *in;
    int nargs;          /* -1: unbalanced quotes */
    const char *args[4];
    size_t lens[4];
} quote_case_t;

/* sdssplitargs cases; [O] marks those checked against redis-server. */
static const quote_case_t quote_cases[] = {
    {"ECHO \"a\\x41\\q\" \r\n", 2, {"ECHO", "aAq"}, {4, 3}},              /* [O] */
    {"ECHO 'a\\'b'\r\n", 2, {"ECHO", "a'b"}, {4, 3}},                     /* [O] */
    {"ECHO 'a\\nb'\r\n", 2, {"ECHO", "a\\nb"}, {4, 4}},                   /* [O] */
    {"ECHO \"a\\n\\r\\t\\b\\a\\\\\\\"\"\r\n", 2, {"ECHO", "a\n\r\t\b\a\\\""}, {4, 8}},
    {"ECHO \"\\x00\\xFf\"\r\n", 2, {"ECHO", "\0\xff"}, {4, 2}},
    {"ECHO \"\\xzz\\x4\"\r\n", 2, {"ECHO", "xzzx4"}, {4, 5}},             /* [O] */
    {"ECHO a\"b c\"\r\n", 2, {"ECHO", "ab c"}, {4, 4}},                   /* [O] */
    {"ECHO \"\"\r\n", 2, {"ECHO", ""}, {4, 0}},                           /* [O] */
    {"ECHO ''\r\n", 2, {"ECHO", ""}, {4, 0}},
    {"ECHO \"a\rb\"\r\n", 2, {"ECHO", "a\rb"}, {4, 3}},                   /* [O] */
    {"ECHO a\rb\r\n", 3, {"ECHO", "a", "b"}, {4, 1, 1}},                  /* [O] */
    {"ECHO a\r\r\n", 2, {"ECHO", "a"}, {4, 1}},                           /* [O] */
    {"ECHO a\vb\r\n", 2, {"ECHO", "a\vb"}, {4, 3}},                       /* [O] */
    {"ECHO \va\r\n", 2, {"ECHO", "a"}, {4, 1}},                           /* [O] */
    {"ECHO \"a\"\v\r\n", 2, {"ECHO", "a"}, {4, 1}},                       /* [O] */
    {"ECHO \f\"a\"\r\n", 2, {"ECHO", "a"}, {4, 1}},                       /* [O] */
    {"ECHO \"a\" 'b'\r\n", 3, {"ECHO", "a", "b"}, {4, 1, 1}},             /* [O] */
    {"ECHO \"a\"\r\n", 2, {"ECHO", "a"}, {4, 1}},
    {"ECHO \xc3\xa9\r\n", 2, {"ECHO", "\xc3\xa9"}, {4, 2}},
    {"ECHO \"a\"b\r\n", -1, {0}, {0}},                                    /* [O] */
    {"ECHO \"abc\r\n", -1, {0}, {0}},                                     /* [O] */
    {"ECHO \"a\\\r\n", -1, {0}, {0}},                                     /* [O] */
    {"ECHO 'a''b'\r\n", -1, {0}, {0}},                                    /* [O] */
    {"ECHO 'abc\r\n", -1, {0}, {0}},
    {"ECHO 'a'b\r\n", -1, {0}, {0}},
    {"\"\r\n", -1, {0}, {0}},
};

static void test_resp_parser_inline_quotes(void **state)
{
    (void)state;
    for (size_t i = 0; i < JL_ARRAY_LEN(quote_cases); i++) {
        const quote_case_t *c = &quote_cases[i];
        result_t r = parse_once(c->in, strlen(c->in), NULL);
        if (c->nargs < 0) {
            assert_int_equal(r.rc, -EPROTO);
            assert_string_equal(r.err, "Protocol error: unbalanced quotes in request");
            result_free(&r);
            continue;
        }
        if (r.rc != JL_OK || r.argc != (size_t)c->nargs)
            fail_msg("case %zu: rc %d argc %zu", i, r.rc, r.argc);
        for (int k = 0; k < c->nargs; k++) {
            assert_int_equal(r.lens[k], c->lens[k]);
            assert_memory_equal(r.args[k], c->args[k], c->lens[k]);
        }
        result_free(&r);
    }
}

/* [O] 65536 bytes without '\n' wait, 65537 fail; a terminated line is
 * accepted whatever its length (Redis only checks while it waits). */
static void test_resp_parser_inline_too_big(void **state)
{
    (void)state;
    size_t K = 64 * 1024;
    char *buf = malloc(K + 16);
    memset(buf, 'A', K + 16);
    expect_again(buf, K, NULL);
    expect_error(buf, K + 1, NULL, "Protocol error: too big inline request");
    buf[K + 10] = '\n';
    result_t r = parse_once(buf, K + 11, NULL);
    assert_int_equal(r.rc, JL_OK);
    assert_int_equal(r.argc, 1);
    assert_int_equal(r.lens[0], K + 10);
    result_free(&r);
    free(buf);

    jl_resp_limits_t lim = {0, 0, 4};
    EXPECT_ERROR("PINGX", &lim, "Protocol error: too big inline request");
    expect_again("PING", 4, &lim);
}

/* Inline arguments live in the parser, not in the caller's buffer. */
static void test_resp_parser_inline_args_are_private(void **state)
{
    (void)state;
    jl_resp_parser_t p;
    jl_resp_parser_init(&p, NULL);
    jl_resp_cmd_t cmd;
    size_t used;
    char in[] = "ECHO \"x\\ty\"\r\n";
    assert_int_equal(jl_resp_parse_request(&p, in, sizeof in - 1, &cmd, &used), JL_OK);
    memset(in, 0, sizeof in);
    assert_int_equal(cmd.argc, 2);
    assert_memory_equal(cmd.argv[0], "ECHO", 4);
    assert_memory_equal(cmd.argv[1], "x\ty", 3);
    jl_resp_parser_free(&p);
}

static void test_resp_parser_init_null_limits(void **state)
{
    (void)state;
    jl_resp_parser_t p;
    jl_resp_parser_init(&p, NULL);
    assert_int_equal(p.limits.max_bulk, 512u * 1024 * 1024);
    assert_int_equal(p.limits.max_inline, 64u * 1024);
    assert_int_equal(p.limits.max_args, 2147483647u);
    jl_resp_parser_free(&p);
    jl_resp_parser_free(&p); /* idempotent */
}

/* ---- replies ---- */

static int reply(const char *buf, size_t n, jl_resp_value_t *v, size_t *used, const char **err)
{
    jl_resp_limits_t lim = {1024, 100, 256};
    char *copy = malloc(n ? n : 1);
    memcpy(copy, buf, n);
    int rc = jl_resp_parse_reply(copy, n, &lim, v, used, err);
    /* The copy proves no byte past n is read; callers never look at the
     * strings, which pointed into it. */
    free(copy);
    return rc;
}

#define REPLY_OK(lit, v)                                                        \
    do {                                                                        \
        size_t used_ = 0;                                                       \
        const char *err_ = NULL;                                                \
        assert_int_equal(jl_resp_parse_reply((lit), sizeof(lit) - 1, NULL, (v), \
                                             &used_, &err_), JL_OK);            \
        assert_int_equal(used_, sizeof(lit) - 1);                               \
    } while (0)

static void test_resp_parser_reply_scalars(void **state)
{
    (void)state;
    jl_resp_value_t v;
    REPLY_OK("+OK\r\n", &v);
    assert_int_equal(v.type, JL_RESP_SIMPLE);
    assert_int_equal(v.len, 2);
    assert_memory_equal(v.str, "OK", 2);

    REPLY_OK("-ERR bad thing\r\n", &v);
    assert_int_equal(v.type, JL_RESP_ERROR);
    assert_memory_equal(v.str, "ERR bad thing", 13);

    REPLY_OK(":-42\r\n", &v);
    assert_int_equal(v.type, JL_RESP_INTEGER);
    assert_int_equal(v.integer, -42);

    REPLY_OK("$5\r\nh\r\nlo\r\n", &v);
    assert_int_equal(v.type, JL_RESP_BULK);
    assert_int_equal(v.len, 5);
    assert_memory_equal(v.str, "h\r\nlo", 5);

    REPLY_OK("$0\r\n\r\n", &v);
    assert_int_equal(v.type, JL_RESP_BULK);
    assert_int_equal(v.len, 0);

    REPLY_OK("$-1\r\n", &v);
    assert_int_equal(v.type, JL_RESP_NULL);
    REPLY_OK("*-1\r\n", &v);
    assert_int_equal(v.type, JL_RESP_NULL);
    REPLY_OK("_\r\n", &v);
    assert_int_equal(v.type, JL_RESP_NULL);

    REPLY_OK("#t\r\n", &v);
    assert_int_equal(v.type, JL_RESP_BOOL);
    assert_int_equal(v.integer, 1);
    REPLY_OK("#f\r\n", &v);
    assert_int_equal(v.integer, 0);

    REPLY_OK(",3.14\r\n", &v);
    assert_int_equal(v.type, JL_RESP_DOUBLE);
    assert_memory_equal(v.str, "3.14", 4);
    REPLY_OK(",inf\r\n", &v);
    REPLY_OK(",-inf\r\n", &v);
    REPLY_OK(",nan\r\n", &v);
    REPLY_OK(",1.0000000000000001e+300\r\n", &v);

    REPLY_OK("(3492890328409238509324850943850943825024385\r\n", &v);
    assert_int_equal(v.type, JL_RESP_BIGNUM);
    REPLY_OK("(-1\r\n", &v);

    REPLY_OK("=15\r\ntxt:Some string\r\n", &v);
    assert_int_equal(v.type, JL_RESP_VERBATIM);
    assert_int_equal(v.len, 15);
    assert_memory_equal(v.str, "txt:Some string", 15);

    REPLY_OK("!21\r\nSYNTAX invalid syntax\r\n", &v);
    assert_int_equal(v.type, JL_RESP_BLOBERR);
    assert_int_equal(v.len, 21);
    jl_resp_value_free(&v);
}

static void test_resp_parser_reply_aggregates(void **state)
{
    (void)state;
    jl_resp_value_t v;
    REPLY_OK("*0\r\n", &v);
    assert_int_equal(v.type, JL_RESP_ARRAY);
    assert_int_equal(v.nelem, 0);
    jl_resp_value_free(&v);

    REPLY_OK("*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n", &v);
    assert_int_equal(v.type, JL_RESP_ARRAY);
    assert_int_equal(v.nelem, 3);
    assert_int_equal(v.elems[2].integer, 1);
    jl_resp_value_free(&v);

    REPLY_OK("%2\r\n+a\r\n:1\r\n+b\r\n*2\r\n:2\r\n_\r\n", &v);
    assert_int_equal(v.type, JL_RESP_MAP);
    assert_int_equal(v.nelem, 4);
    assert_int_equal(v.elems[3].type, JL_RESP_ARRAY);
    assert_int_equal(v.elems[3].elems[1].type, JL_RESP_NULL);
    jl_resp_value_free(&v);

    REPLY_OK("~2\r\n+x\r\n+y\r\n", &v);
    assert_int_equal(v.type, JL_RESP_SET);
    assert_int_equal(v.nelem, 2);
    jl_resp_value_free(&v);

    REPLY_OK(">4\r\n$8\r\npmessage\r\n$5\r\nh*llo\r\n$5\r\nhello\r\n$2\r\nm2\r\n", &v);
    assert_int_equal(v.type, JL_RESP_PUSH);
    assert_int_equal(v.nelem, 4);
    assert_memory_equal(v.elems[1].str, "h*llo", 5);
    jl_resp_value_free(&v);

    /* An attribute carries its map, then the value it annotates. */
    REPLY_OK("|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n*2\r\n:2\r\n:3\r\n", &v);
    assert_int_equal(v.type, JL_RESP_ATTR);
    assert_int_equal(v.nelem, 3);
    assert_int_equal(v.elems[1].type, JL_RESP_MAP);
    assert_int_equal(v.elems[2].type, JL_RESP_ARRAY);
    assert_int_equal(v.elems[2].elems[1].integer, 3);
    jl_resp_value_free(&v);

    /* Attributes may also sit inside an aggregate. */
    REPLY_OK("*2\r\n|1\r\n+k\r\n+v\r\n:1\r\n:2\r\n", &v);
    assert_int_equal(v.nelem, 2);
    assert_int_equal(v.elems[0].type, JL_RESP_ATTR);
    assert_int_equal(v.elems[1].integer, 2);
    jl_resp_value_free(&v);
}

static void test_resp_parser_reply_trailing_bytes(void **state)
{
    (void)state;
    static const char in[] = ":1\r\n+OK\r\n";
    jl_resp_value_t v;
    size_t used;
    const char *err;
    assert_int_equal(jl_resp_parse_reply(in, sizeof in - 1, NULL, &v, &used, &err), JL_OK);
    assert_int_equal(used, 4);
    assert_int_equal(jl_resp_parse_reply(in + used, sizeof in - 1 - used, NULL, &v, &used, &err), JL_OK);
    assert_int_equal(v.type, JL_RESP_SIMPLE);
    assert_int_equal(jl_resp_parse_reply(in, 0, NULL, &v, &used, &err), JL_AGAIN);
}

static void test_resp_parser_reply_any_split(void **state)
{
    (void)state;
    static const char *ins[] = {
        "|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n*2\r\n:2\r\n:3\r\n",
        ">4\r\n$8\r\npmessage\r\n$5\r\nh*llo\r\n$5\r\nhello\r\n$2\r\nm2\r\n",
        "*2\r\n$-1\r\n*-1\r\n", "=6\r\ntxt:ab\r\n", "!3\r\nERR\r\n", "#t\r\n",
        "~1\r\n(12\r\n", "_\r\n", "+\r\n",
    };
    for (size_t i = 0; i < JL_ARRAY_LEN(ins); i++) {
        size_t n = strlen(ins[i]);
        jl_resp_value_t v;
        size_t used;
        const char *err = NULL;
        for (size_t cut = 0; cut < n; cut++)
            assert_int_equal(reply(ins[i], cut, &v, &used, &err), JL_AGAIN);
        assert_int_equal(jl_resp_parse_reply(ins[i], n, NULL, &v, &used, &err), JL_OK);
        assert_int_equal(used, n);
        jl_resp_value_free(&v);
    }
}

static void expect_reply_error(const char *in, size_t n)
{
    jl_resp_value_t v;
    size_t used;
    const char *err = NULL;
    int rc = reply(in, n, &v, &used, &err);
    if (rc >= 0)
        fail_msg("reply \"%s\" accepted (rc %d)", in, rc);
    assert_non_null(err);
    assert_int_equal(v.nelem, 0);
    assert_null(v.elems);
}

#define EXPECT_REPLY_ERROR(lit) expect_reply_error((lit), sizeof(lit) - 1)

static void test_resp_parser_reply_errors(void **state)
{
    (void)state;
    EXPECT_REPLY_ERROR("x\r\n");
    EXPECT_REPLY_ERROR("\r\n");
    EXPECT_REPLY_ERROR("+OK\rX");
    EXPECT_REPLY_ERROR(":abc\r\n");
    EXPECT_REPLY_ERROR(":\r\n");
    EXPECT_REPLY_ERROR(":01\r\n");
    EXPECT_REPLY_ERROR("_x\r\n");
    EXPECT_REPLY_ERROR("#x\r\n");
    EXPECT_REPLY_ERROR("#tt\r\n");
    EXPECT_REPLY_ERROR(",abc\r\n");
    EXPECT_REPLY_ERROR(",\r\n");
    EXPECT_REPLY_ERROR("(12a\r\n");
    EXPECT_REPLY_ERROR("(-\r\n");
    EXPECT_REPLY_ERROR("$-2\r\n");
    EXPECT_REPLY_ERROR("$x\r\n");
    EXPECT_REPLY_ERROR("$3\r\nabcXY");
    EXPECT_REPLY_ERROR("$1025\r\n");            /* over max_bulk (1024) */
    EXPECT_REPLY_ERROR("=3\r\ntxt\r\n");
    EXPECT_REPLY_ERROR("=4\r\ntxtx\r\n");
    EXPECT_REPLY_ERROR("!-1\r\n");
    EXPECT_REPLY_ERROR("%-1\r\n");
    EXPECT_REPLY_ERROR("~-1\r\n");
    EXPECT_REPLY_ERROR(">-1\r\n");
    EXPECT_REPLY_ERROR("*-2\r\n");
    EXPECT_REPLY_ERROR("*101\r\n");             /* over max_args (100) */
    EXPECT_REPLY_ERROR("$?\r\n");               /* streamed: refused */
    EXPECT_REPLY_ERROR("*?\r\n");
    /* An error deep inside: nothing leaks (ASan), nothing is returned. */
    EXPECT_REPLY_ERROR("*2\r\n*2\r\n:1\r\n:2\r\n*1\r\n#z\r\n");

    /* Lines: max_inline (256) bytes are fine, one more is not. */
    char line[300];
    line[0] = '+';
    memset(line + 1, 'a', sizeof line - 1);
    expect_reply_error(line, sizeof line);       /* no CR in sight */
    memcpy(line + 257, "\r\n", 2);
    jl_resp_value_t v;
    size_t used;
    const char *err;
    assert_int_equal(reply(line, 259, &v, &used, &err), JL_OK);
    assert_int_equal(used, 259);
    line[257] = 'a';
    memcpy(line + 258, "\r\n", 2);
    expect_reply_error(line, 260);
}

static void test_resp_parser_reply_depth(void **state)
{
    (void)state;
    char buf[1024];
    size_t n = 0;
    for (int i = 0; i < JL_RESP_MAX_DEPTH; i++)
        n += (size_t)sprintf(buf + n, "*1\r\n");
    n += (size_t)sprintf(buf + n, ":7\r\n");
    jl_resp_value_t v;
    size_t used;
    const char *err = NULL;
    assert_int_equal(jl_resp_parse_reply(buf, n, NULL, &v, &used, &err), JL_OK);
    jl_resp_value_t *w = &v;
    for (int i = 0; i < JL_RESP_MAX_DEPTH; i++)
        w = &w->elems[0];
    assert_int_equal(w->integer, 7);
    jl_resp_value_free(&v);

    n = 0;
    for (int i = 0; i < JL_RESP_MAX_DEPTH + 1; i++)
        n += (size_t)sprintf(buf + n, "*1\r\n");
    n += (size_t)sprintf(buf + n, ":7\r\n");
    assert_true(jl_resp_parse_reply(buf, n, NULL, &v, &used, &err) < 0);
    assert_string_equal(err, "Protocol error: reply nested too deeply");
}

/* An announced count allocates nothing until the elements are all there. */
static void test_resp_parser_reply_no_alloc_on_again(void **state)
{
    (void)state;
    jl_resp_value_t v;
    size_t used;
    const char *err;
    assert_int_equal(jl_resp_parse_reply("*2147483647\r\n:1\r\n", 17, NULL, &v, &used, &err),
                     JL_AGAIN);
    assert_null(v.elems);
    assert_int_equal(jl_resp_parse_reply("%1073741823\r\n", 13, NULL, &v, &used, &err), JL_AGAIN);
    assert_null(v.elems);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resp_parser_multibulk_basic),
        cmocka_unit_test(test_resp_parser_multibulk_binary_safe),
        cmocka_unit_test(test_resp_parser_multibulk_any_split),
        cmocka_unit_test(test_resp_parser_multibulk_empty_counts),
        cmocka_unit_test(test_resp_parser_multibulk_unchecked_terminators),
        cmocka_unit_test(test_resp_parser_pipeline),
        cmocka_unit_test(test_resp_parser_multibulk_count_errors),
        cmocka_unit_test(test_resp_parser_bulk_length_errors),
        cmocka_unit_test(test_resp_parser_expected_dollar),
        cmocka_unit_test(test_resp_parser_nul_hides_terminator),
        cmocka_unit_test(test_resp_parser_header_line_limits),
        cmocka_unit_test(test_resp_parser_limits),
        cmocka_unit_test(test_resp_parser_unauthenticated_limits),
        cmocka_unit_test(test_resp_parser_lying_count),
        cmocka_unit_test(test_resp_parser_big_multibulk_linear),
        cmocka_unit_test(test_resp_parser_inline_basic),
        cmocka_unit_test(test_resp_parser_inline_empty_lines),
        cmocka_unit_test(test_resp_parser_inline_any_split),
        cmocka_unit_test(test_resp_parser_inline_quotes),
        cmocka_unit_test(test_resp_parser_inline_too_big),
        cmocka_unit_test(test_resp_parser_inline_args_are_private),
        cmocka_unit_test(test_resp_parser_init_null_limits),
        cmocka_unit_test(test_resp_parser_reply_scalars),
        cmocka_unit_test(test_resp_parser_reply_aggregates),
        cmocka_unit_test(test_resp_parser_reply_trailing_bytes),
        cmocka_unit_test(test_resp_parser_reply_any_split),
        cmocka_unit_test(test_resp_parser_reply_errors),
        cmocka_unit_test(test_resp_parser_reply_depth),
        cmocka_unit_test(test_resp_parser_reply_no_alloc_on_again),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
