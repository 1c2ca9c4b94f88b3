/* test_strconv.c -- server/strconv.c: jl_strtoll and jl_percent_decode.
 *
 * jl_strtoll must accept exactly what Redis's string2ll accepts, so besides
 * one test per rule it is checked against an oracle: the guarded strtoll
 * that server/commands.c's arg_ll used before this module, run on every
 * prefix of the boundary values and on random strings over the alphabet
 * that matters. Every truncation is also fed with digits after the end, so
 * a parser that read past len would be caught.
 *
 * The decoder tests came from test_query.c when the decoder moved here:
 * malformed and truncated escapes kept literally, NUL bytes, '+', in-place
 * decoding, and a property (decoding inverts a percent-encoder). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/rand.h"
#include "server/strconv.h"
#include "server/util.h"

/* ---- jl_strtoll helpers ---- */

#define UNTOUCHED 0x5eedLL

static void expect_ll(const char *s, long long want)
{
    long long v = UNTOUCHED;
    assert_int_equal(jl_strtoll(s, strlen(s), &v), JL_OK);
    assert_true(v == want);
}

static void expect_ll_err(const char *s, size_t len, int err)
{
    long long v = UNTOUCHED;
    assert_int_equal(jl_strtoll(s, len, &v), err);
    assert_true(v == UNTOUCHED);
}

#define EXPECT_INVALID(s) expect_ll_err(s, sizeof(s) - 1, -EINVAL)
#define EXPECT_RANGE(s) expect_ll_err(s, sizeof(s) - 1, -ERANGE)

/* The oracle: server/commands.c arg_ll as it was (0 and *out, or -1). */
static int oracle_ll(const char *s, size_t len, long long *out)
{
    char buf[32];
    if (len == 0 || len >= sizeof buf)
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (buf[0] == '+' || isspace((unsigned char)buf[0]) || (buf[0] == '0' && buf[1]))
        return -1;
    if (buf[0] == '-' && buf[1] == '0')
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

/* jl_strtoll(s, len) agrees with the oracle, and reads nothing past len:
 * s is copied into a buffer followed by more digits. */
static void agree_with_oracle(const char *s, size_t len)
{
    char buf[64];
    assert_true(len + 3 < sizeof buf);
    memcpy(buf, s, len);
    memcpy(buf + len, "123", 3);
    long long want = 0, got = UNTOUCHED;
    int ow = oracle_ll(s, len, &want);
    int rc = jl_strtoll(buf, len, &got);
    if (ow == 0) {
        assert_int_equal(rc, JL_OK);
        assert_true(got == want);
    } else {
        assert_true(rc == -EINVAL || rc == -ERANGE);
        assert_true(got == UNTOUCHED);
    }
}

/* ---- jl_strtoll: one test per rule ---- */

static void test_strconv_ll_plain_numbers(void **state)
{
    (void)state;
    expect_ll("0", 0);
    expect_ll("1", 1);
    expect_ll("-1", -1);
    expect_ll("7", 7);
    expect_ll("10", 10);
    expect_ll("-10", -10);
    expect_ll("1234567890", 1234567890LL);
    expect_ll("-987654321", -987654321LL);
}

static void test_strconv_ll_empty_and_lone_sign(void **state)
{
    (void)state;
    EXPECT_INVALID("");
    EXPECT_INVALID("-");
    EXPECT_INVALID("+");
    EXPECT_INVALID("--1");
    EXPECT_INVALID("-+1");
    expect_ll_err(NULL, 0, -EINVAL);
}

static void test_strconv_ll_no_plus(void **state)
{
    (void)state;
    EXPECT_INVALID("+1");
    EXPECT_INVALID("+0");
    EXPECT_INVALID("1+");
}

static void test_strconv_ll_no_whitespace(void **state)
{
    (void)state;
    EXPECT_INVALID(" 1");
    EXPECT_INVALID("1 ");
    EXPECT_INVALID("\t1");
    EXPECT_INVALID("1\n");
    EXPECT_INVALID("- 1");
    EXPECT_INVALID("1 2");
    EXPECT_INVALID("\r\n");
}

static void test_strconv_ll_no_leading_zeros(void **state)
{
    (void)state;
    EXPECT_INVALID("00");
    EXPECT_INVALID("01");
    EXPECT_INVALID("007");
    EXPECT_INVALID("-01");
    EXPECT_INVALID("000000000000000000000000001");
}

static void test_strconv_ll_minus_zero_refused(void **state)
{
    (void)state;
    EXPECT_INVALID("-0");
    EXPECT_INVALID("-00");
}

static void test_strconv_ll_junk_refused(void **state)
{
    (void)state;
    EXPECT_INVALID("1x");
    EXPECT_INVALID("x1");
    EXPECT_INVALID("0x10");
    EXPECT_INVALID("1e3");
    EXPECT_INVALID("1.0");
    EXPECT_INVALID("1-");
    EXPECT_INVALID("1,000");
    EXPECT_INVALID("\xd9\xa1");  /* ARABIC-INDIC DIGIT ONE */
    /* A NUL inside is a non-digit, not an end. */
    expect_ll_err("1\0" "2", 3, -EINVAL);
    expect_ll_err("\0", 1, -EINVAL);
}

static void test_strconv_ll_boundaries(void **state)
{
    (void)state;
    expect_ll("9223372036854775807", LLONG_MAX);
    expect_ll("-9223372036854775808", LLONG_MIN);
    expect_ll("9223372036854775806", LLONG_MAX - 1);
    expect_ll("-9223372036854775807", LLONG_MIN + 1);
    EXPECT_RANGE("9223372036854775808");
    EXPECT_RANGE("-9223372036854775809");
    EXPECT_RANGE("9223372036854775810");
    EXPECT_RANGE("18446744073709551615");    /* ULLONG_MAX */
    EXPECT_RANGE("18446744073709551616");    /* ULLONG_MAX + 1 */
    EXPECT_RANGE("-18446744073709551616");
    EXPECT_RANGE("99999999999999999999");
    EXPECT_RANGE("1000000000000000000000000000000000000000");
}

static void test_strconv_ll_syntax_error_wins_over_overflow(void **state)
{
    (void)state;
    EXPECT_INVALID("99999999999999999999x");
    EXPECT_INVALID("x99999999999999999999");
    EXPECT_INVALID("099999999999999999999");
    EXPECT_INVALID("+99999999999999999999");
}

static void test_strconv_ll_respects_len(void **state)
{
    (void)state;
    long long v = UNTOUCHED;
    assert_int_equal(jl_strtoll("12345", 3, &v), JL_OK);
    assert_true(v == 123);
    assert_int_equal(jl_strtoll("-5x", 2, &v), JL_OK);
    assert_true(v == -5);
    assert_int_equal(jl_strtoll("0123", 1, &v), JL_OK);
    assert_true(v == 0);
    /* LLONG_MAX followed by a digit the parser must not see. */
    assert_int_equal(jl_strtoll("92233720368547758079", 19, &v), JL_OK);
    assert_true(v == LLONG_MAX);
}

/* ---- jl_strtoll against the oracle ---- */

static void test_strconv_ll_every_prefix_agrees(void **state)
{
    (void)state;
    static const char *const values[] = {
        "9223372036854775807", "-9223372036854775808", "9223372036854775808",
        "-9223372036854775809", "18446744073709551616", "0", "-0", "007",
        "+12", " 12", "12 ", "1-2", "100000000000000000000000000000",
    };
    for (size_t i = 0; i < JL_ARRAY_LEN(values); i++)
        for (size_t cut = 0; cut <= strlen(values[i]); cut++)
            agree_with_oracle(values[i], cut);
}

static void test_strconv_ll_random_strings_agree(void **state)
{
    (void)state;
    static const char alphabet[] = "0123456789012345678901234567890123456789-+ x\t";
    jl_rng_t r = {0x243f6a8885a308d3ull};
    for (int round = 0; round < 200000; round++) {
        char s[24];
        size_t len = (size_t)(jl_rng_next(&r) % sizeof s);
        for (size_t i = 0; i < len; i++)
            s[i] = alphabet[jl_rng_next(&r) % (sizeof alphabet - 1)];
        agree_with_oracle(s, len);
    }
}

static void test_strconv_ll_every_value_near_the_edges_round_trips(void **state)
{
    (void)state;
    char s[32];
    for (long long d = 0; d < 1000; d++) {
        long long vals[] = {LLONG_MAX - d, LLONG_MIN + d, d, -d};
        for (size_t i = 0; i < JL_ARRAY_LEN(vals); i++) {
            if (vals[i] == 0 && i == 3)
                continue;   /* "-0" is not how 0 prints */
            snprintf(s, sizeof s, "%lld", vals[i]);
            expect_ll(s, vals[i]);
        }
    }
}

/* ---- jl_percent_decode ---- */

static void check_decode(const char *src, size_t len, int plus, const char *want, size_t want_len)
{
    char dst[256];
    assert_true(len <= sizeof dst);
    size_t n = jl_percent_decode(dst, src, len, plus);
    assert_int_equal(n, want_len);
    assert_memory_equal(dst, want, want_len);
}

#define EXPECT_DECODE(src, plus, want) check_decode(src, sizeof(src) - 1, plus, want, sizeof(want) - 1)

static void test_strconv_percent_decode_plain_and_escapes(void **state)
{
    (void)state;
    EXPECT_DECODE("abc", 1, "abc");
    EXPECT_DECODE("", 1, "");
    EXPECT_DECODE("a%20b", 1, "a b");
    EXPECT_DECODE("%41%62%7e%7E", 1, "Ab~~");
    EXPECT_DECODE("%e2%82%ac", 1, "\xe2\x82\xac");
    EXPECT_DECODE("%ff%FE", 1, "\xff\xfe");
}

static void test_strconv_percent_decode_plus(void **state)
{
    (void)state;
    EXPECT_DECODE("a+b", 1, "a b");
    EXPECT_DECODE("a+b", 0, "a+b");
    EXPECT_DECODE("%2B+%2b", 1, "+ +");
    EXPECT_DECODE("++", 1, "  ");
}

static void test_strconv_percent_decode_malformed_kept(void **state)
{
    (void)state;
    EXPECT_DECODE("%zz", 1, "%zz");
    EXPECT_DECODE("%4", 1, "%4");
    EXPECT_DECODE("%", 1, "%");
    EXPECT_DECODE("a%", 1, "a%");
    EXPECT_DECODE("%4g", 1, "%4g");
    EXPECT_DECODE("%g4", 1, "%g4");
    EXPECT_DECODE("%%41", 1, "%A");
    EXPECT_DECODE("%%", 1, "%%");
    EXPECT_DECODE("%+1", 1, "% 1");
    EXPECT_DECODE("% 41", 1, "% 41");
}

static void test_strconv_percent_decode_nul(void **state)
{
    (void)state;
    EXPECT_DECODE("%00", 1, "\0");
    EXPECT_DECODE("a%00b", 1, "a\0b");
}

static void test_strconv_percent_decode_no_double_decoding(void **state)
{
    (void)state;
    EXPECT_DECODE("%2541", 1, "%41");
    EXPECT_DECODE("%252", 1, "%2");
}

static void test_strconv_percent_decode_in_place(void **state)
{
    (void)state;
    char s[] = "a%20b+c%zz%2";
    size_t n = jl_percent_decode(s, s, strlen(s), 1);
    assert_int_equal(n, 10);
    assert_memory_equal(s, "a b c%zz%2", 10);
}

/* Every truncation decodes like a copy of the prefix: nothing past len is
 * read, and an escape cut short is kept literally. */
static void test_strconv_percent_decode_every_prefix(void **state)
{
    (void)state;
    static const char src[] = "a%41+%e2%82%ac%zz%2%%25%0";
    for (size_t cut = 0; cut < sizeof src; cut++) {
        char copy[sizeof src], a[sizeof src], b[sizeof src];
        memcpy(copy, src, cut);
        size_t na = jl_percent_decode(a, src, cut, 1);
        size_t nb = jl_percent_decode(b, copy, cut, 1);
        assert_int_equal(na, nb);
        assert_true(na <= cut);
        if (na > 0)
            assert_memory_equal(a, b, na);
    }
    check_decode(src, 2, 1, "a%", 2);
    check_decode(src, 3, 1, "a%4", 3);
    check_decode(src, 4, 1, "aA", 2);
}

static void test_strconv_percent_decode_inverts_encoding(void **state)
{
    (void)state;
    static const char hex[] = "0123456789ABCDEF";
    jl_rng_t r = {0x243f6a8885a308d3ull};
    for (int round = 0; round < 5000; round++) {
        unsigned char raw[32];
        char enc[96], dec[96];
        size_t n = (size_t)(jl_rng_next(&r) % sizeof raw), e = 0;
        for (size_t i = 0; i < n; i++) {
            raw[i] = (unsigned char)jl_rng_next(&r);
            int plain = (raw[i] >= 'a' && raw[i] <= 'z') || (raw[i] >= '0' && raw[i] <= '9');
            if (raw[i] == ' ' && jl_rng_next(&r) % 2) {
                enc[e++] = '+';
            } else if (plain && jl_rng_next(&r) % 2) {
                enc[e++] = (char)raw[i];
            } else {
                enc[e++] = '%';
                enc[e++] = hex[raw[i] >> 4];
                enc[e++] = hex[raw[i] & 15];
            }
        }
        assert_int_equal(jl_percent_decode(dec, enc, e, 1), n);
        if (n > 0)
            assert_memory_equal(dec, raw, n);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strconv_ll_plain_numbers),
        cmocka_unit_test(test_strconv_ll_empty_and_lone_sign),
        cmocka_unit_test(test_strconv_ll_no_plus),
        cmocka_unit_test(test_strconv_ll_no_whitespace),
        cmocka_unit_test(test_strconv_ll_no_leading_zeros),
        cmocka_unit_test(test_strconv_ll_minus_zero_refused),
        cmocka_unit_test(test_strconv_ll_junk_refused),
        cmocka_unit_test(test_strconv_ll_boundaries),
        cmocka_unit_test(test_strconv_ll_syntax_error_wins_over_overflow),
        cmocka_unit_test(test_strconv_ll_respects_len),
        cmocka_unit_test(test_strconv_ll_every_prefix_agrees),
        cmocka_unit_test(test_strconv_ll_random_strings_agree),
        cmocka_unit_test(test_strconv_ll_every_value_near_the_edges_round_trips),
        cmocka_unit_test(test_strconv_percent_decode_plain_and_escapes),
        cmocka_unit_test(test_strconv_percent_decode_plus),
        cmocka_unit_test(test_strconv_percent_decode_malformed_kept),
        cmocka_unit_test(test_strconv_percent_decode_nul),
        cmocka_unit_test(test_strconv_percent_decode_no_double_decoding),
        cmocka_unit_test(test_strconv_percent_decode_in_place),
        cmocka_unit_test(test_strconv_percent_decode_every_prefix),
        cmocka_unit_test(test_strconv_percent_decode_inverts_encoding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
