/* test_monitor.c -- the MONITOR line against redis-server 7.0.15's.
 *
 * The golden strings below were captured from redis-server 7.0.15 (MONITOR
 * on one connection, the command on another): the quoting of every kind of
 * byte (sdscatrepr), the "+sec.usec [db peer]" head, and the peer forms
 * (IPv4, IPv6 in brackets, "unix:<the server's socket path>"). The feed
 * tests use fake sinks: one frame per command, shared by every sink, and
 * the list may lose the sink being delivered to. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/monitor.h"
#include "server/util.h"

static char *repr_of(const char *p, size_t len)
{
    jl_buf_t b = {0};
    jl_monitor_repr(&b, p, len);
    jl_buf_append_char(&b, '\0');
    return b.data;
}

static void expect_repr(const char *p, size_t len, const char *want)
{
    char *got = repr_of(p, len);
    assert_string_equal(got, want);
    free(got);
}

/* What redis-server 7.0.15 printed for ECHO with these bytes. */
static void test_monitor_repr_matches_redis(void **state)
{
    (void)state;
    static const char in[] = "\"\\\n\r\t\a\b\x01\x7f\xc3\xbf \xc3\xa9";
    expect_repr(in, sizeof in - 1,
                "\"\\\"\\\\\\n\\r\\t\\a\\b\\x01\\x7f\\xc3\\xbf \\xc3\\xa9\"");
    expect_repr("hi", 2, "\"hi\"");
    expect_repr("(redacted)", 10, "\"(redacted)\"");
}

/* sdscatrepr's rule for each of the 256 byte values, one at a time. */
static void test_monitor_repr_every_byte(void **state)
{
    (void)state;
    for (int ch = 0; ch < 256; ch++) {
        char in = (char)ch, want[8];
        switch (ch) {
        case '"': strcpy(want, "\"\\\"\""); break;
        case '\\': strcpy(want, "\"\\\\\""); break;
        case '\n': strcpy(want, "\"\\n\""); break;
        case '\r': strcpy(want, "\"\\r\""); break;
        case '\t': strcpy(want, "\"\\t\""); break;
        case '\a': strcpy(want, "\"\\a\""); break;
        case '\b': strcpy(want, "\"\\b\""); break;
        default:
            if (ch >= 0x20 && ch <= 0x7e)
                snprintf(want, sizeof want, "\"%c\"", ch);
            else
                snprintf(want, sizeof want, "\"\\x%02x\"", ch);
        }
        expect_repr(&in, 1, want);
    }
}

static void test_monitor_repr_empty_and_nul(void **state)
{
    (void)state;
    expect_repr("", 0, "\"\"");
    expect_repr(NULL, 0, "\"\"");
    expect_repr("a\0b", 3, "\"a\\x00b\"");
    expect_repr("\0\0", 2, "\"\\x00\\x00\"");
    /* Plain runs around escapes are copied whole. */
    expect_repr("ab\ncd\xff" "ef", 8, "\"ab\\ncd\\xffef\"");
}

static char *format_of(long long sec, long usec, int db, const char *peer, size_t argc,
                       const char *const *argv, const size_t *lens)
{
    jl_buf_t b = {0};
    jl_monitor_format(&b, sec, usec, db, peer, argc, argv, lens);
    jl_buf_append_char(&b, '\0');
    return b.data;
}

static void test_monitor_format_matches_redis(void **state)
{
    (void)state;
    const char *argv[] = {"PUBLISH", "news", "hi"};
    const size_t lens[] = {7, 4, 2};
    char *line = format_of(1796191902LL, 992158L, 0, "127.0.0.1:37030", 3, argv, lens);
    assert_string_equal(line, "+1796191902.992158 [0 127.0.0.1:37030] \"PUBLISH\" \"news\" \"hi\"\r\n");
    free(line);

    /* Microseconds are zero-padded to six digits; the db is the number. */
    const char *sel[] = {"SELECT", "3"};
    const size_t sel_lens[] = {6, 1};
    line = format_of(1796191957LL, 5L, 3, "unix:/tmp/r.sock", 2, sel, sel_lens);
    assert_string_equal(line, "+1796191957.000005 [3 unix:/tmp/r.sock] \"SELECT\" \"3\"\r\n");
    free(line);

    /* One argument: no trailing space; an empty one is "". */
    const char *one[] = {"PING", ""};
    const size_t one_lens[] = {4, 0};
    line = format_of(0, 0, 0, "[::1]:1", 1, one, one_lens);
    assert_string_equal(line, "+0.000000 [0 [::1]:1] \"PING\"\r\n");
    free(line);
    line = format_of(0, 999999L, 15, "p", 2, one, one_lens);
    assert_string_equal(line, "+0.999999 [15 p] \"PING\" \"\"\r\n");
    free(line);
}

static void expect_peer(int unix_socket, const char *addr, const char *want)
{
    char buf[JL_MONITOR_PEER_MAX];
    jl_monitor_peer_text(buf, sizeof buf, unix_socket, addr);
    assert_string_equal(buf, want);
}

static void test_monitor_peer_text(void **state)
{
    (void)state;
    expect_peer(0, "127.0.0.1:37030", "127.0.0.1:37030");
    expect_peer(0, "::1:6379", "[::1]:6379");
    expect_peer(0, "2001:db8::7:443", "[2001:db8::7]:443");
    expect_peer(0, "?:0", "?:0");
    expect_peer(1, "/tmp/r.sock", "unix:/tmp/r.sock");
    expect_peer(1, NULL, "unix:");

    char small[6] = "xxxxx";
    jl_monitor_peer_text(small, sizeof small, 0, "127.0.0.1:1");
    assert_string_equal(small, "127.0");
    jl_monitor_peer_text(small, 0, 0, "127.0.0.1:1");   /* writes nothing */
    assert_string_equal(small, "127.0");
}

/* ---- the feed, with fake sinks ---- */

typedef struct fake_sink {
    jl_monitor_sink_t sink;
    jl_monitors_t *list;
    int remove_self;            /* leaves the list from inside deliver */
    size_t got;
    jl_frame_t *last;           /* a reference to the last line */
} fake_sink_t;

static void fake_deliver(jl_monitor_sink_t *s, jl_frame_t *line)
{
    fake_sink_t *f = JL_CONTAINER_OF(s, fake_sink_t, sink);
    f->got++;
    jl_frame_unref(f->last);
    f->last = jl_frame_ref(line);
    if (f->remove_self)
        jl_monitor_remove(f->list, s);
}

static const jl_monitor_sink_ops_t fake_ops = {.deliver = fake_deliver};

static void fake_init(fake_sink_t *f, jl_monitors_t *m)
{
    memset(f, 0, sizeof *f);
    jl_monitor_sink_init(&f->sink, &fake_ops);
    f->list = m;
}

static void fake_free(fake_sink_t *f)
{
    jl_frame_unref(f->last);
    f->last = NULL;
}

static const char *const pub_argv[] = {"PUBLISH", "c", "x y"};
static const size_t pub_lens[] = {7, 1, 3};

static void feed_from_unix(jl_monitors_t *m, int db)
{
    jl_conn_t from;
    memset(&from, 0, sizeof from);
    from.unix_socket = 1;       /* the peer is the path: no socket needed */
    jl_monitor_feed(m, &from, "/run/j.sock", db, 3, pub_argv, pub_lens);
}

static void test_monitor_add_remove(void **state)
{
    (void)state;
    jl_monitors_t m;
    jl_monitors_init(&m);
    fake_sink_t a;
    fake_init(&a, &m);
    assert_false(jl_monitor_is_on(&a.sink));
    assert_int_equal(jl_monitor_add(&m, &a.sink), JL_OK);
    assert_true(jl_monitor_is_on(&a.sink));
    assert_int_equal(jl_monitor_add(&m, &a.sink), JL_AGAIN);   /* a second MONITOR */
    assert_int_equal(m.count, 1);
    jl_monitor_remove(&m, &a.sink);
    jl_monitor_remove(&m, &a.sink);                            /* idempotent */
    assert_int_equal(m.count, 0);
    assert_false(jl_monitor_is_on(&a.sink));
    assert_true(jl_list_empty(&m.sinks));
    feed_from_unix(&m, 0);
    assert_int_equal(a.got, 0);
}

/* A list with sinks a and b, in that order; a leaves it when delivered to
 * if a_leaves. */
static void two_sinks(jl_monitors_t *m, fake_sink_t *a, fake_sink_t *b, int a_leaves)
{
    jl_monitors_init(m);
    fake_init(a, m);
    fake_init(b, m);
    a->remove_self = a_leaves;
    assert_int_equal(jl_monitor_add(m, &a->sink), JL_OK);
    assert_int_equal(jl_monitor_add(m, &b->sink), JL_OK);
    assert_int_equal(m->count, 2);
}

static void test_monitor_feed_shares_one_frame(void **state)
{
    (void)state;
    jl_monitors_t m;
    fake_sink_t a, b;
    two_sinks(&m, &a, &b, 0);
    long long before = (long long)time(NULL);
    feed_from_unix(&m, 2);
    long long after = (long long)time(NULL);
    assert_int_equal(a.got, 1);
    assert_int_equal(b.got, 1);
    assert_ptr_equal(a.last, b.last);
    assert_int_equal(a.last->refs, 2);          /* the feeder dropped its own */

    char text[256];
    assert_true(a.last->len < sizeof text);
    memcpy(text, a.last->data, a.last->len);
    text[a.last->len] = '\0';
    long long sec;
    char usec[8], rest[128];
    assert_int_equal(sscanf(text, "+%lld.%6[0-9]%127[^\n]", &sec, usec, rest), 3);
    assert_int_equal(strlen(usec), 6);
    assert_true(sec >= before && sec <= after);
    assert_string_equal(rest, " [2 unix:/run/j.sock] \"PUBLISH\" \"c\" \"x y\"\r");
    fake_free(&a);
    fake_free(&b);
}

static void test_monitor_sink_may_leave_during_feed(void **state)
{
    (void)state;
    jl_monitors_t m;
    fake_sink_t a, b;
    two_sinks(&m, &a, &b, 1);
    feed_from_unix(&m, 0);
    assert_int_equal(a.got, 1);
    assert_int_equal(b.got, 1);                 /* the walk went on past a */
    assert_int_equal(m.count, 1);
    feed_from_unix(&m, 0);
    assert_int_equal(a.got, 1);
    assert_int_equal(b.got, 2);
    fake_free(&a);
    fake_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_monitor_repr_matches_redis),
        cmocka_unit_test(test_monitor_repr_every_byte),
        cmocka_unit_test(test_monitor_repr_empty_and_nul),
        cmocka_unit_test(test_monitor_format_matches_redis),
        cmocka_unit_test(test_monitor_peer_text),
        cmocka_unit_test(test_monitor_add_remove),
        cmocka_unit_test(test_monitor_feed_shares_one_frame),
        cmocka_unit_test(test_monitor_sink_may_leave_during_feed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
