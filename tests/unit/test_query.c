/* test_query.c -- unit tests for http/query.c.
 *
 * The query string is the part of an SSE request a page controls, so these
 * tests attack the edges: malformed and truncated escapes, NUL bytes, '+',
 * empty keys and values, repeated keys, the comma lists behind ?channel=,
 * and the max_pairs limit on both sides of the boundary. The decoder itself
 * (jl_percent_decode) is tested in test_strconv.c; here only its use in
 * keys and values is. */
#include "http/query.h"
#include "server/buf.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* ---- helpers ------------------------------------------------------------ */

static void parse_ok(jl_query_t *q, const char *s)
{
    assert_int_equal(jl_query_parse(s, strlen(s), 64, q), 0);
}

static void expect_pair(const jl_query_t *q, size_t i, const char *key, size_t klen, const char *val,
                        size_t vlen)
{
    assert_true(i < q->n);
    const jl_query_pair_t *p = &q->pairs[i];
    assert_int_equal(p->key_len, klen);
    assert_memory_equal(p->key, key, klen);
    assert_int_equal(p->key[klen], '\0');
    assert_int_equal(p->val_len, vlen);
    assert_memory_equal(p->val, val, vlen);
    assert_int_equal(p->val[vlen], '\0');
}

#define EXPECT_PAIR(q, i, k, v) expect_pair(q, i, k, sizeof(k) - 1, v, sizeof(v) - 1)

/* jl_query_each_list callback: items joined as "[a][b]" */
static void collect(void *ud, const char *item, size_t len)
{
    jl_buf_t *b = ud;
    jl_buf_append_char(b, '[');
    jl_buf_append(b, item, len);
    jl_buf_append_char(b, ']');
}

static void expect_list(const char *query, const char *key, size_t want_n, const char *want)
{
    jl_query_t q;
    jl_buf_t b = {0};
    parse_ok(&q, query);
    assert_int_equal(jl_query_each_list(&q, key, collect, &b), want_n);
    assert_int_equal(b.len, strlen(want));
    if (b.len > 0)
        assert_memory_equal(b.data, want, b.len);
    assert_int_equal(jl_query_each_list(&q, key, NULL, NULL), want_n);
    jl_buf_free(&b);
    jl_query_free(&q);
}

/* ---- jl_query_parse ----------------------------------------------------- */

static void test_query_parse_pairs(void **state)
{
    (void)state;
    jl_query_t q;
    parse_ok(&q, "channel=a%2Cb&x=1+2&lastEventId=%E2%82%AC");
    assert_int_equal(q.n, 3);
    EXPECT_PAIR(&q, 0, "channel", "a,b");
    EXPECT_PAIR(&q, 1, "x", "1 2");
    EXPECT_PAIR(&q, 2, "lastEventId", "\xe2\x82\xac");
    jl_query_free(&q);
    assert_null(q.pairs);
    assert_int_equal(q.n, 0);
}

static void test_query_parse_empty(void **state)
{
    (void)state;
    jl_query_t q;
    assert_int_equal(jl_query_parse(NULL, 0, 8, &q), 0);
    assert_int_equal(q.n, 0);
    assert_null(jl_query_get(&q, "a"));
    jl_query_free(&q);
    parse_ok(&q, "&&&");
    assert_int_equal(q.n, 0);
    jl_query_free(&q);
}

static void test_query_parse_keys_without_values(void **state)
{
    (void)state;
    jl_query_t q;
    parse_ok(&q, "a&b=&=c&=&d==e");
    assert_int_equal(q.n, 5);
    EXPECT_PAIR(&q, 0, "a", "");
    EXPECT_PAIR(&q, 1, "b", "");
    EXPECT_PAIR(&q, 2, "", "c");
    EXPECT_PAIR(&q, 3, "", "");
    EXPECT_PAIR(&q, 4, "d", "=e");
    assert_ptr_equal(jl_query_get(&q, ""), &q.pairs[2]);
    jl_query_free(&q);
}

static void test_query_parse_skips_empty_segments(void **state)
{
    (void)state;
    jl_query_t q;
    parse_ok(&q, "&a=1&&b=2&");
    assert_int_equal(q.n, 2);
    EXPECT_PAIR(&q, 0, "a", "1");
    EXPECT_PAIR(&q, 1, "b", "2");
    jl_query_free(&q);
}

static void test_query_parse_semicolon_is_not_a_separator(void **state)
{
    (void)state;
    jl_query_t q;
    parse_ok(&q, "a=1;b=2");
    assert_int_equal(q.n, 1);
    EXPECT_PAIR(&q, 0, "a", "1;b=2");
    jl_query_free(&q);
}

static void test_query_parse_decodes_keys_and_escaped_separators(void **state)
{
    (void)state;
    jl_query_t q;
    parse_ok(&q, "ch%61nnel=x%26y%3Dz&a+b=%zz&k%00=v%00");
    assert_int_equal(q.n, 3);
    EXPECT_PAIR(&q, 0, "channel", "x&y=z");
    EXPECT_PAIR(&q, 1, "a b", "%zz");
    EXPECT_PAIR(&q, 2, "k\0", "v\0");
    assert_ptr_equal(jl_query_get(&q, "channel"), &q.pairs[0]);
    assert_null(jl_query_get(&q, "k")); /* "k\0" is not "k" */
    jl_query_free(&q);
}

static void test_query_get_first_of_repeated(void **state)
{
    (void)state;
    jl_query_t q;
    parse_ok(&q, "a=1&b=2&a=3");
    const jl_query_pair_t *p = jl_query_get(&q, "a");
    assert_non_null(p);
    assert_string_equal(p->val, "1");
    assert_null(jl_query_get(&q, "A"));
    assert_null(jl_query_get(&q, "ab"));
    jl_query_free(&q);
}

static void test_query_max_pairs_limit(void **state)
{
    (void)state;
    jl_query_t q;
    const char *s = "a=1&b=2&c=3";
    assert_int_equal(jl_query_parse(s, strlen(s), 3, &q), 0);
    assert_int_equal(q.n, 3);
    jl_query_free(&q);
    assert_int_equal(jl_query_parse(s, strlen(s), 2, &q), -E2BIG);
    assert_null(q.pairs);
    assert_int_equal(q.n, 0);
    jl_query_free(&q);
    assert_int_equal(jl_query_parse(s, strlen(s), 0, &q), -E2BIG);
    /* empty segments do not count */
    const char *t = "&&a=1&&&b&&";
    assert_int_equal(jl_query_parse(t, strlen(t), 2, &q), 0);
    assert_int_equal(q.n, 2);
    jl_query_free(&q);
    assert_int_equal(jl_query_parse("&&", 2, 0, &q), 0);
}

static void test_query_parse_respects_len(void **state)
{
    (void)state;
    jl_query_t q;
    const char *s = "a=12&b=3";
    assert_int_equal(jl_query_parse(s, 3, 8, &q), 0); /* "a=1" */
    assert_int_equal(q.n, 1);
    EXPECT_PAIR(&q, 0, "a", "1");
    jl_query_free(&q);
    assert_int_equal(jl_query_parse("a=%4142", 5, 8, &q), 0); /* "a=%41" */
    EXPECT_PAIR(&q, 0, "a", "A");
    jl_query_free(&q);
    assert_int_equal(jl_query_parse("a=%41", 4, 8, &q), 0); /* "a=%4": truncated */
    EXPECT_PAIR(&q, 0, "a", "%4");
    jl_query_free(&q);
}

/* ---- jl_query_each_list ------------------------------------------------- */

static void test_query_list_basic(void **state)
{
    (void)state;
    expect_list("channel=a,b", "channel", 2, "[a][b]");
    expect_list("channel=a", "channel", 1, "[a]");
    expect_list("x=1", "channel", 0, "");
    expect_list("", "channel", 0, "");
}

static void test_query_list_keeps_inner_empty_elements(void **state)
{
    (void)state;
    expect_list("channel=a,,b", "channel", 3, "[a][][b]");
    expect_list("channel=,a", "channel", 2, "[][a]");
    expect_list("channel=,,a", "channel", 3, "[][][a]");
    expect_list("channel=+,a", "channel", 2, "[ ][a]");
}

static void test_query_list_drops_trailing_empty_elements(void **state)
{
    (void)state;
    /* Ruby's String#split(","), which Jugglite uses */
    expect_list("channel=", "channel", 0, "");
    expect_list("channel", "channel", 0, "");
    expect_list("channel=,", "channel", 0, "");
    expect_list("channel=,,,", "channel", 0, "");
    expect_list("channel=a,", "channel", 1, "[a]");
    expect_list("channel=a,,", "channel", 1, "[a]");
    expect_list("channel=,a,", "channel", 2, "[][a]");
}

static void test_query_list_encoded_comma_separates(void **state)
{
    (void)state;
    expect_list("channel=a%2Cb", "channel", 2, "[a][b]");
    expect_list("channel=a%2cb%2C", "channel", 2, "[a][b]");
    expect_list("channel=a%252Cb", "channel", 1, "[a%2Cb]");
}

static void test_query_list_repeated_keys(void **state)
{
    (void)state;
    expect_list("channel=a,b&x=y&channel=c&channel=&channel=,d", "channel", 5, "[a][b][c][][d]");
}

static void test_query_list_elements_with_nul_and_spaces(void **state)
{
    (void)state;
    jl_query_t q;
    jl_buf_t b = {0};
    parse_ok(&q, "channel=a%00b,+c+");
    assert_int_equal(jl_query_each_list(&q, "channel", collect, &b), 2);
    assert_int_equal(b.len, 10);
    assert_memory_equal(b.data, "[a\0b][ c ]", 10);
    jl_buf_free(&b);
    jl_query_free(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_parse_pairs),
        cmocka_unit_test(test_query_parse_empty),
        cmocka_unit_test(test_query_parse_keys_without_values),
        cmocka_unit_test(test_query_parse_skips_empty_segments),
        cmocka_unit_test(test_query_parse_semicolon_is_not_a_separator),
        cmocka_unit_test(test_query_parse_decodes_keys_and_escaped_separators),
        cmocka_unit_test(test_query_get_first_of_repeated),
        cmocka_unit_test(test_query_max_pairs_limit),
        cmocka_unit_test(test_query_parse_respects_len),
        cmocka_unit_test(test_query_list_basic),
        cmocka_unit_test(test_query_list_keeps_inner_empty_elements),
        cmocka_unit_test(test_query_list_drops_trailing_empty_elements),
        cmocka_unit_test(test_query_list_encoded_comma_separates),
        cmocka_unit_test(test_query_list_repeated_keys),
        cmocka_unit_test(test_query_list_elements_with_nul_and_spaces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
