/* test_upstream_history.c -- unit tests for resp/upstream_history.c.
 *
 * The read script's reply is built here byte by byte, as Redis sends it,
 * parsed with the real reply parser, and read: every gap rule of
 * jl_uph_read_reply, the merge of several keys (sorted, each id once), the
 * count limit, malformed replies refused, and the announcement format. The
 * scripts themselves run against a real Redis in history_bridged.test.mjs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "resp/resp_parser.h"
#include "resp/upstream_history.h"
#include "server/buf.h"

static void bulk(jl_buf_t *b, const char *s)
{
    jl_buf_printf(b, "$%zu\r\n%s\r\n", strlen(s), s);
}

static void arr(jl_buf_t *b, size_t n) { jl_buf_printf(b, "*%zu\r\n", n); }
static void null(jl_buf_t *b) { jl_buf_append_str(b, "_\r\n"); }

/* {key, maxdel|null, {{id, {d, payload}}...}} with ids "ms-0" newest first. */
static void key(jl_buf_t *b, const char *name, const char *maxdel, const int *ms,
                const char *const *payloads, size_t n)
{
    char k[64];
    snprintf(k, sizeof k, "jugglite:h:%s", name);
    arr(b, 3);
    bulk(b, k);
    if (maxdel)
        bulk(b, maxdel);
    else
        null(b);
    arr(b, n);
    for (size_t i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof id, "%d-0", ms[i]);
        arr(b, 2);
        bulk(b, id);
        arr(b, 2);
        bulk(b, "data");
        bulk(b, payloads[i]);
    }
}

/* {floor, last, now, then per name} head. */
static void head(jl_buf_t *b, size_t names, const char *floor, const char *last, long long now)
{
    arr(b, 3 + names);
    if (floor)
        bulk(b, floor);
    else
        null(b);
    if (last)
        bulk(b, last);
    else
        null(b);
    jl_buf_printf(b, ":%lld\r\n", now);
}

typedef struct {
    jl_buf_t raw;
    jl_resp_value_t v;
    jl_uph_read_t rd;
} fixture_t;

static int read_it(fixture_t *f, size_t n, int known, uint64_t from_ms, size_t keep, double age)
{
    size_t used = 0;
    const char *err = NULL;
    assert_int_equal(jl_resp_parse_reply(f->raw.data, f->raw.len, NULL, &f->v, &used, &err), JL_OK);
    assert_int_equal(used, f->raw.len);
    jl_hist_id_t from = {from_ms, 0};
    return jl_uph_read_reply(&f->v, n, known, from, keep, age, &f->rd);
}

static void done(fixture_t *f)
{
    jl_uph_read_free(&f->rd);
    jl_resp_value_free(&f->v);
    jl_buf_free(&f->raw);
}

static const int two_ms[] = {150, 120};
static const char *const two_p[] = {"x2", "x1"};

static jl_gap_t one_channel(const char *floor, const char *last, long long now, const char *maxdel,
                            const int *ms, const char *const *p, size_t n, int known,
                            uint64_t from, size_t keep, double age, size_t *entries)
{
    fixture_t f = {0};
    head(&f.raw, 1, floor, last, now);
    arr(&f.raw, 1);
    key(&f.raw, "a", maxdel, ms, p, n);
    assert_int_equal(read_it(&f, 1, known, from, keep, age), 0);
    jl_gap_t g = f.rd.h.gap[0];
    assert_int_equal(f.rd.h.lost[0], -1);
    *entries = f.rd.h.n;
    done(&f);
    return g;
}

static void test_uph_nothing_missed(void **state)
{
    (void)state;
    fixture_t f = {0};
    head(&f.raw, 1, "100-0", "200-0", 250);
    arr(&f.raw, 1);
    key(&f.raw, "a", "0-0", two_ms, two_p, 2);
    assert_int_equal(read_it(&f, 1, 1, 110, 5, 0), 0);
    assert_int_equal(f.rd.h.gap[0], JL_GAP_NONE);
    assert_int_equal(f.rd.h.n, 2);
    assert_int_equal(f.rd.h.e[0].id.ms, 120);
    assert_int_equal(f.rd.h.e[1].id.ms, 150);
    assert_memory_equal(f.rd.h.e[0].payload, "x1", 2);
    assert_int_equal(f.rd.h.e[0].chan_len, 1);
    assert_memory_equal(f.rd.h.e[0].chan, "a", 1);
    assert_int_equal(f.rd.h.last.ms, 200);
    done(&f);
}

static void test_uph_gap_rules(void **state)
{
    (void)state;
    size_t n;
    /* trimmed after the id */
    assert_int_equal(one_channel("100-0", "200-0", 250, "130-0", two_ms, two_p, 2, 1, 110, 5, 0, &n),
                     JL_GAP_EVICTED);
    /* trimmed, but only what the stream had seen */
    assert_int_equal(one_channel("100-0", "200-0", 250, "110-0", two_ms, two_p, 2, 1, 110, 5, 0, &n),
                     JL_GAP_NONE);
    /* more after the id than is kept: the newest 'keep' only */
    assert_int_equal(one_channel("100-0", "200-0", 250, "0-0", two_ms, two_p, 2, 1, 110, 1, 0, &n),
                     JL_GAP_EVICTED);
    assert_int_equal(n, 1);
    /* before the floor: the shared history started again */
    assert_int_equal(one_channel("100-0", "200-0", 250, "0-0", two_ms, two_p, 2, 1, 50, 5, 0, &n),
                     JL_GAP_RESTART);
    /* no clock at all (Redis wiped) */
    assert_int_equal(one_channel(NULL, NULL, 250, NULL, NULL, NULL, 0, 1, 110, 5, 0, &n),
                     JL_GAP_RESTART);
    /* from the future, or not an id */
    assert_int_equal(one_channel("100-0", "200-0", 250, "0-0", two_ms, two_p, 0, 1, 300, 5, 0, &n),
                     JL_GAP_UNKNOWN);
    assert_int_equal(one_channel("100-0", "200-0", 250, "0-0", two_ms, two_p, 2, 0, 0, 5, 0, &n),
                     JL_GAP_UNKNOWN);
    assert_int_equal(n, 2);
    /* a missing key: may have expired with events only if the id is older than the age */
    assert_int_equal(one_channel("100-0", "5000-0", 5000, NULL, NULL, NULL, 0, 1, 110, 5, 1.0, &n),
                     JL_GAP_EVICTED);
    assert_int_equal(one_channel("100-0", "5000-0", 5000, NULL, NULL, NULL, 0, 1, 4500, 5, 1.0, &n),
                     JL_GAP_NONE);
    assert_int_equal(one_channel("100-0", "5000-0", 5000, NULL, NULL, NULL, 0, 1, 110, 5, 0, &n),
                     JL_GAP_NONE);
}

static void test_uph_merge_keys(void **state)
{
    (void)state;
    static const int b_ms[] = {140};
    static const char *const b_p[] = {"y"};
    fixture_t f = {0};
    head(&f.raw, 2, "100-0", "200-0", 250);
    arr(&f.raw, 1);     /* the channel a */
    key(&f.raw, "a", "0-0", two_ms, two_p, 2);
    arr(&f.raw, 2);     /* a pattern matching a and b */
    key(&f.raw, "a", "0-0", two_ms, two_p, 2);
    key(&f.raw, "b", "0-0", b_ms, b_p, 1);
    assert_int_equal(read_it(&f, 2, 1, 110, 5, 0), 0);
    assert_int_equal(f.rd.h.n, 3);
    assert_int_equal(f.rd.h.e[0].id.ms, 120);
    assert_int_equal(f.rd.h.e[1].id.ms, 140);
    assert_memory_equal(f.rd.h.e[1].chan, "b", 1);
    assert_int_equal(f.rd.h.e[2].id.ms, 150);
    assert_int_equal(f.rd.h.gap[0], JL_GAP_NONE);
    assert_int_equal(f.rd.h.gap[1], JL_GAP_NONE);
    done(&f);
}

static void test_uph_malformed(void **state)
{
    (void)state;
    fixture_t f = {0};
    head(&f.raw, 1, "100-0", "200-0", 250);
    arr(&f.raw, 1);
    arr(&f.raw, 2);     /* a key result with two elements, not three */
    bulk(&f.raw, "jugglite:h:a");
    null(&f.raw);
    assert_int_equal(read_it(&f, 1, 1, 110, 5, 0), -1);
    done(&f);

    fixture_t g = {0};
    head(&g.raw, 1, "100-0", "200-0", 250);
    arr(&g.raw, 0);
    assert_int_equal(read_it(&g, 2, 1, 110, 5, 0), -1);     /* asked for two names */
    done(&g);

    fixture_t h = {0};
    head(&h.raw, 1, "not an id", "200-0", 250);
    arr(&h.raw, 0);
    assert_int_equal(read_it(&h, 1, 1, 110, 5, 0), -1);
    done(&h);
}

static void test_uph_announce(void **state)
{
    (void)state;
    jl_hist_id_t id;
    const char *chan;
    size_t len;
    const char *s = "1796217566111-3 chat room";
    assert_int_equal(jl_uph_parse_announce(s, strlen(s), &id, &chan, &len), 0);
    assert_int_equal(id.ms, 1796217566111ull);
    assert_int_equal(id.seq, 3);
    assert_int_equal(len, 9);
    assert_memory_equal(chan, "chat room", 9);
    assert_int_equal(jl_uph_parse_announce("1-2 ", 4, &id, &chan, &len), 0);
    assert_int_equal(len, 0);
    assert_int_equal(jl_uph_parse_announce("1-2", 3, &id, &chan, &len), -1);
    assert_int_equal(jl_uph_parse_announce("x-2 a", 5, &id, &chan, &len), -1);
    assert_int_equal(jl_uph_parse_announce("", 0, &id, &chan, &len), -1);
}

static void test_uph_commands(void **state)
{
    (void)state;
    jl_buf_t b = {0};
    jl_pub_t pub = {.chan = "news", .chan_len = 4, .payload = "hi", .payload_len = 2};
    jl_uph_publish_command(&b, &pub, 1000, 300);
    const char want[] = "*9\r\n$5\r\nFCALL\r\n$16\r\njugglite_publish\r\n$1\r\n2\r\n"
                        "$14\r\njugglite:clock\r\n$15\r\njugglite:h:news\r\n$4\r\nnews\r\n"
                        "$2\r\nhi\r\n$4\r\n1000\r\n$6\r\n300000\r\n";
    assert_int_equal(b.len, sizeof want - 1);
    assert_memory_equal(b.data, want, b.len);
    b.len = 0;
    jl_relay_name_t names[] = {{JL_NS_CHANNEL, "a", 1}, {JL_NS_PATTERN, "b*", 2}};
    jl_uph_read_command(&b, names, 2, "5-1", 10);
    const char tail[] = "$3\r\n5-1\r\n$2\r\n10\r\n$11\r\njugglite:h:\r\n$2\r\nca\r\n$3\r\npb*\r\n";
    assert_true(b.len > sizeof tail);
    assert_memory_equal(b.data + b.len - (sizeof tail - 1), tail, sizeof tail - 1);
    assert_memory_equal(b.data, "*9\r\n$5\r\nFCALL\r\n$13\r\njugglite_read\r\n", 31);
    jl_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uph_nothing_missed),
        cmocka_unit_test(test_uph_gap_rules),
        cmocka_unit_test(test_uph_merge_keys),
        cmocka_unit_test(test_uph_malformed),
        cmocka_unit_test(test_uph_announce),
        cmocka_unit_test(test_uph_commands),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
