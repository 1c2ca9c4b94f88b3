/* test_registry.c -- the channel registry, and the SipHash under it.
 *
 * Drives the registry with test sinks that record every delivery, and
 * checks the rules a Redis client can observe: idempotent (un)subscribe,
 * PUBLISH counts (channel + matching pattern = 2), exact subscribers served
 * before patterns, shard channels apart from everything else, PUBSUB counts
 * (NUMPAT = unique patterns), names freed with their last subscriber, the
 * watch callback on first/last subscriber, and the upstream bridge's
 * deliveries (publish_exact / publish_pattern: one name, no re-matching). Built with ASan/LSan, a run
 * that ends clean also proves nothing leaked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/glob.h"
#include "server/msg.h"
#include "server/registry.h"
#include "server/siphash.h"
#include "server/util.h"

/* ---- a recording sink ---- */

#define LOG_MAX 64

typedef struct {
    jl_sink_t sink;
    int id;
    int counts;                 /* deliver()'s return value */
    size_t delivered;
    size_t with_pattern;
    char last_pattern[64];
} test_sink_t;

/* One global log of (sink id, pattern or "") across sinks, in order. */
static struct {
    int id[LOG_MAX];
    char pattern[LOG_MAX][16];
    size_t n;
} dlog;

static int test_deliver(jl_sink_t *s, jl_msg_t *msg)
{
    test_sink_t *t = JL_CONTAINER_OF(s, test_sink_t, sink);

    t->delivered++;
    if (msg->pattern) {
        t->with_pattern++;
        snprintf(t->last_pattern, sizeof t->last_pattern, "%.*s",
                 (int)msg->pattern_len, msg->pattern);
        /* Build a pattern frame as a RESP sink would, so a registry that
         * forgot jl_msg_release_pattern would leak it. */
        if (msg->pframes[0] == NULL)
            msg->pframes[0] = jl_frame_from(msg->pattern, msg->pattern_len);
    } else if (msg->frames[JL_FRAME_RESP2] == NULL) {
        msg->frames[JL_FRAME_RESP2] = jl_frame_from(msg->chan, msg->chan_len);
    }
    if (dlog.n < LOG_MAX) {
        dlog.id[dlog.n] = t->id;
        snprintf(dlog.pattern[dlog.n], sizeof dlog.pattern[0], "%.*s",
                 msg->pattern ? (int)msg->pattern_len : 0, msg->pattern ? msg->pattern : "");
        dlog.n++;
    }
    return t->counts;
}

static const jl_sink_ops_t test_ops = {test_deliver};

static void sink_setup(test_sink_t *t, int id)
{
    memset(t, 0, sizeof *t);
    jl_sink_init(&t->sink, &test_ops);
    t->id = id;
    t->counts = 1;
}

/* ---- helpers ---- */

static int sub(jl_registry_t *reg, test_sink_t *t, jl_ns_t ns, const char *name)
{
    return jl_registry_subscribe(reg, &t->sink, ns, name, strlen(name));
}

static int unsub(jl_registry_t *reg, test_sink_t *t, jl_ns_t ns, const char *name)
{
    return jl_registry_unsubscribe(reg, &t->sink, ns, name, strlen(name));
}

static size_t numsub(jl_registry_t *reg, jl_ns_t ns, const char *name)
{
    return jl_registry_numsub(reg, ns, name, strlen(name));
}

static size_t publish(jl_registry_t *reg, const char *chan, int shard)
{
    jl_msg_t msg;

    jl_msg_init(&msg, chan, strlen(chan), "payload", 7, shard);
    dlog.n = 0;
    size_t n = jl_registry_publish(reg, &msg);
    /* The registry cleans up after each pattern. */
    assert_null(msg.pattern);
    assert_null(msg.pframes[0]);
    jl_msg_release(&msg);
    return n;
}

static int setup(void **state)
{
    *state = jl_registry_new();
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    jl_registry_free(*state);
    return 0;
}

/* ---- SipHash ---- */

/* SipHash-2-4 reference vectors (paper, appendix A / veorq/SipHash):
 * key 00..0f, message 00..(n-1), n = 0..63. */
static const uint64_t sip_vectors[64] = {
    0x726fdb47dd0e0e31, 0x74f839c593dc67fd, 0x0d6c8009d9a94f5a, 0x85676696d7fb7e2d,
    0xcf2794e0277187b7, 0x18765564cd99a68d, 0xcbc9466e58fee3ce, 0xab0200f58b01d137,
    0x93f5f5799a932462, 0x9e0082df0ba9e4b0, 0x7a5dbbc594ddb9f3, 0xf4b32f46226bada7,
    0x751e8fbc860ee5fb, 0x14ea5627c0843d90, 0xf723ca908e7af2ee, 0xa129ca6149be45e5,
    0x3f2acc7f57c29bdb, 0x699ae9f52cbe4794, 0x4bc1b3f0968dd39c, 0xbb6dc91da77961bd,
    0xbed65cf21aa2ee98, 0xd0f2cbb02e3b67c7, 0x93536795e3a33e88, 0xa80c038ccd5ccec8,
    0xb8ad50c6f649af94, 0xbce192de8a85b8ea, 0x17d835b85bbb15f3, 0x2f2e6163076bcfad,
    0xde4daaaca71dc9a5, 0xa6a2506687956571, 0xad87a3535c49ef28, 0x32d892fad841c342,
    0x7127512f72f27cce, 0xa7f32346f95978e3, 0x12e0b01abb051238, 0x15e034d40fa197ae,
    0x314dffbe0815a3b4, 0x027990f029623981, 0xcadcd4e59ef40c4d, 0x9abfd8766a33735c,
    0x0e3ea96b5304a7d0, 0xad0c42d6fc585992, 0x187306c89bc215a9, 0xd4a60abcf3792b95,
    0xf935451de4f21df2, 0xa9538f0419755787, 0xdb9acddff56ca510, 0xd06c98cd5c0975eb,
    0xe612a3cb9ecba951, 0xc766e62cfcadaf96, 0xee64435a9752fe72, 0xa192d576b245165a,
    0x0a8787bf8ecb74b2, 0x81b3e73d20b49b6f, 0x7fa8220ba3b2ecea, 0x245731c13ca42499,
    0xb78dbfaf3a8d83bd, 0xea1ad565322a1a0b, 0x60e61c23a3795013, 0x6606d7e446282b93,
    0x6ca4ecb15c5f91e1, 0x9f626da15c9625f3, 0xe51b38608ef25f57, 0x958a324ceb064572,
};

static void test_siphash_reference_vectors(void **state)
{
    (void)state;
    uint8_t key[16], in[64];

    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)i;
    for (int i = 0; i < 64; i++)
        in[i] = (uint8_t)i;
    for (size_t n = 0; n < 64; n++) {
        /* Unaligned input must hash the same. */
        uint8_t shifted[65];
        memcpy(shifted + 1, in, n);
        assert_int_equal(jl_siphash(in, n, key), sip_vectors[n]);
        assert_int_equal(jl_siphash(shifted + 1, n, key), sip_vectors[n]);
    }
}

/* ---- registry ---- */

static void test_registry_subscribe_is_idempotent(void **state)
{
    jl_registry_t *reg = *state;
    test_sink_t a;
    sink_setup(&a, 1);

    assert_int_equal(sub(reg, &a, JL_NS_CHANNEL, "news"), 1);
    assert_int_equal(sub(reg, &a, JL_NS_CHANNEL, "news"), 0);
    assert_int_equal(a.sink.nsubs[JL_NS_CHANNEL], 1);
    assert_int_equal(numsub(reg, JL_NS_CHANNEL, "news"), 1);

    /* Same name, other namespaces: separate subscriptions. */
    assert_int_equal(sub(reg, &a, JL_NS_PATTERN, "news"), 1);
    assert_int_equal(sub(reg, &a, JL_NS_SHARD, "news"), 1);
    assert_int_equal(a.sink.nsubs[JL_NS_PATTERN], 1);
    assert_int_equal(a.sink.nsubs[JL_NS_SHARD], 1);

    assert_int_equal(unsub(reg, &a, JL_NS_CHANNEL, "news"), 1);
    assert_int_equal(unsub(reg, &a, JL_NS_CHANNEL, "news"), 0);
    assert_int_equal(unsub(reg, &a, JL_NS_CHANNEL, "nothing"), 0);
    assert_int_equal(a.sink.nsubs[JL_NS_CHANNEL], 0);
    assert_int_equal(numsub(reg, JL_NS_PATTERN, "news"), 1);

    jl_registry_unsubscribe_all(reg, &a.sink, JL_NS_PATTERN, NULL, NULL);
    jl_registry_unsubscribe_all(reg, &a.sink, JL_NS_SHARD, NULL, NULL);
}

static void test_registry_unsubscribe_other_sink_is_noop(void **state)
{
    jl_registry_t *reg = *state;
    test_sink_t a, b;
    sink_setup(&a, 1);
    sink_setup(&b, 2);

    sub(reg, &a, JL_NS_CHANNEL, "x");
    assert_int_equal(unsub(reg, &b, JL_NS_CHANNEL, "x"), 0);
    assert_int_equal(numsub(reg, JL_NS_CHANNEL, "x"), 1);
    assert_int_equal(b.sink.nsubs[JL_NS_CHANNEL], 0);
    unsub(reg, &a, JL_NS_CHANNEL, "x");
}

static void test_registry_counts(void **state)
{
    jl_registry_t *reg = *state;
    test_sink_t a, b;
    sink_setup(&a, 1);
    sink_setup(&b, 2);

    sub(reg, &a, JL_NS_CHANNEL, "c1");
    sub(reg, &a, JL_NS_CHANNEL, "c2");
    sub(reg, &b, JL_NS_CHANNEL, "c2");
    sub(reg, &a, JL_NS_PATTERN, "p*");
    sub(reg, &b, JL_NS_PATTERN, "p*");      /* same pattern: NUMPAT counts it once */
    sub(reg, &b, JL_NS_PATTERN, "q*");
    sub(reg, &b, JL_NS_SHARD, "s1");

    assert_int_equal(jl_registry_count(reg, JL_NS_CHANNEL), 2);
    assert_int_equal(jl_registry_count(reg, JL_NS_PATTERN), 2);
    assert_int_equal(jl_registry_count(reg, JL_NS_SHARD), 1);
    assert_int_equal(numsub(reg, JL_NS_CHANNEL, "c1"), 1);
    assert_int_equal(numsub(reg, JL_NS_CHANNEL, "c2"), 2);
    assert_int_equal(numsub(reg, JL_NS_CHANNEL, "p1"), 0);  /* patterns not counted */
    assert_int_equal(numsub(reg, JL_NS_PATTERN, "p*"), 2);
    assert_int_equal(numsub(reg, JL_NS_SHARD, "s1"), 1);
    assert_int_equal(numsub(reg, JL_NS_CHANNEL, "s1"), 0);
    assert_int_equal(a.sink.nsubs[JL_NS_CHANNEL] + a.sink.nsubs[JL_NS_PATTERN], 3);
    assert_int_equal(b.sink.nsubs[JL_NS_SHARD], 1);

    for (int ns = 0; ns < JL_NS_COUNT; ns++) {
        jl_registry_unsubscribe_all(reg, &a.sink, ns, NULL, NULL);
        jl_registry_unsubscribe_all(reg, &b.sink, ns, NULL, NULL);
    }
    for (int ns = 0; ns < JL_NS_COUNT; ns++)
        assert_int_equal(jl_registry_count(reg, ns), 0);
}

static void test_registry_channel_and_pattern_deliver_twice(void **state)
{
    jl_registry_t *reg = *state;
    test_sink_t a, b;
    sink_setup(&a, 1);
    sink_setup(&b, 2);

    /* Subscribe to the pattern first: exact delivery must still come first. */
    sub(reg, &a, JL_NS_PATTERN, "n*");
    sub(reg, &a, JL_NS_CHANNEL, "news");
    sub(reg, &b, JL_NS_PATTERN, "*s");

    assert_int_equal(publish(reg, "news", 0), 3);
    assert_int_equal(a.delivered, 2);
    assert_int_equal(a.with_pattern, 1);
    assert_string_equal(a.last_pattern, "n*");
    assert_int_equal(b.with_pattern, 1);
    assert_int_equal(dlog.n, 3);
    assert_int_equal(dlog.id[0], 1);
    assert_string_equal(dlog.pattern[0], "");   /* message before pmessage */
    assert_string_equal(dlog.pattern[1], "n*");
    assert_string_equal(dlog.pattern[2], "*s");

    assert_int_equal(publish(reg, "nope", 0), 1);   /* only n* */
    assert_int_equal(publish(reg, "", 0), 0);       /* '*' never matches "" */
    assert_int_equal(publish(reg, "other", 0), 0);

    jl_registry_unsubscribe_all(reg, &a.sink, JL_NS_CHANNEL, NULL, NULL);
    jl_registry_unsubscribe_all(reg, &a.sink, JL_NS_PATTERN, NULL, NULL);
    jl_registry_unsubscribe_all(reg, &b.sink, JL_NS_PATTERN, NULL, NULL);
}

/* A sink that does not count (the upstream bridge) still receives. */
static void test_registry_publish_counts_only_counting_sinks(void **state)
{
    jl_registry_t *reg = *state;
    test_sink_t a, bridge;
    sink_setup(&a, 1);
    sink_setup(&bridge, 2);
    bridge.counts = 0;

    sub(reg, &a, JL_NS_CHANNEL, "x");
    sub(reg, &bridge, JL_NS_CHANNEL, "x");
    assert_int_equal(publish(reg, "x", 0), 1);
    assert_int_equal(bridge.delivered, 1);
    unsub(reg, &a, JL_NS_CHANNEL, "x");
    unsub(reg, &bridge, JL_NS_CHANNEL, "x");
}

static void test_registry_shard_namespace_is_separate(void **state)
{
    jl_registry_t *reg = *state;
    test_sink_t s, c, p;
    sink_setup(&s, 1);
    sink_setup(&c, 2);
    sink_setup(&p, 3);

    sub(reg, &s, JL_NS_SHARD, "x");
    sub(reg, &c, JL_NS_CHANNEL, "x");
    sub(reg, &p, JL_NS_PATTERN, "*");

    assert_int_equal(publish(reg, "x", 1), 1);      /* SPUBLISH: shard only */
    assert_int_equal(s.delivered, 1);
    assert_int_equal(c.delivered, 0);
    assert_int_equal(p.delivered, 0);               /* patterns ignore shards */

    assert_int_equal(publish(reg, "x", 0), 2);      /* PUBLISH: channel + pattern */
    assert_int_equal(s.delivered, 1);

    assert_int_equal(publish(reg, "y", 1), 0);
    unsub(reg, &s, JL_NS_SHARD, "x");
    unsub(reg, &c, JL_NS_CHANNEL, "x");
    unsub(reg, &p, JL_NS_PATTERN, "*");
}

/* ---- the upstream bridge's deliveries ---- */

static size_t publish_exact(jl_registry_t *reg, const char *chan, int shard)
{
    jl_msg_t msg;

    jl_msg_init(&msg, chan, strlen(chan), "payload", 7, shard);
    dlog.n = 0;
    size_t n = jl_registry_publish_exact(reg, &msg);
    assert_null(msg.pattern);
    jl_msg_release(&msg);
    return n;
}

static size_t publish_pattern(jl_registry_t *reg, const char *pattern, const char *chan)
{
    jl_msg_t msg;

    jl_msg_init(&msg, chan, strlen(chan), "payload", 7, 0);
    dlog.n = 0;
    size_t n = jl_registry_publish_pattern(reg, pattern, strlen(pattern), &msg);
    assert_null(msg.pattern);       /* cleaned up, as after each pattern of publish */
    assert_null(msg.pframes[0]);
    jl_msg_release(&msg);
    return n;
}

/* A "message" from the upstream reaches the exact subscribers only: the
 * matching patterns have their own upstream subscription and get their own
 * "pmessage", so consulting them here would deliver twice. */
static void test_registry_publish_exact_skips_patterns(void **state)
{
    jl_registry_t *reg = *state;
    test_sink_t c, p, s;
    sink_setup(&c, 1);
    sink_setup(&p, 2);
    sink_setup(&s, 3);

    sub(reg, &c, JL_NS_CHANNEL, "news");
    sub(reg, &p, JL_NS_PATTERN, "n*");
    sub(reg, &s, JL_NS_SHARD, "news");

    assert_int_equal(publish_exact(reg, "news", 0), 1);
    assert_int_equal(c.delivered, 1);
    assert_int_equal(p.delivered, 0);
    assert_int_equal(s.delivered, 0);

    assert_int_equal(publish_exact(reg, "news", 1), 1);   /* smessage: shard only */
    assert_int_equal(s.delivered, 1);
    assert_int_equal(c.delivered, 1);

    assert_int_equal(publish_exact(reg, "gone", 0), 0);   /* nobody left: no-op */

    unsub(reg, &c, JL_NS_CHANNEL, "news");
    unsub(reg, &p, JL_NS_PATTERN, "n*");
    unsub(reg, &s, JL_NS_SHARD, "news");
}

/* A "pmessage" reaches the subscribers of that one pattern, with the
 * pattern set, and neither other matching patterns nor exact subscribers. */
static void test_registry_publish_pattern_one_pattern_only(void **state)
{
    jl_registry_t *reg = *state;
    test_sink_t c, p1, p2, both;
    sink_setup(&c, 1);
    sink_setup(&p1, 2);
    sink_setup(&p2, 3);
    sink_setup(&both, 4);

    sub(reg, &c, JL_NS_CHANNEL, "news");
    sub(reg, &p1, JL_NS_PATTERN, "n*");
    sub(reg, &p2, JL_NS_PATTERN, "*s");
    sub(reg, &both, JL_NS_PATTERN, "n*");
    sub(reg, &both, JL_NS_PATTERN, "*s");

    assert_int_equal(publish_pattern(reg, "n*", "news"), 2);
    assert_int_equal(c.delivered, 0);
    assert_int_equal(p1.with_pattern, 1);
    assert_string_equal(p1.last_pattern, "n*");
    assert_int_equal(p2.delivered, 0);
    assert_int_equal(both.delivered, 1);
    assert_string_equal(both.last_pattern, "n*");
    assert_int_equal(dlog.n, 2);
    assert_int_equal(dlog.id[0], 2);    /* subscribe order */
    assert_int_equal(dlog.id[1], 4);

    /* The upstream is trusted to have matched: no second glob test. */
    assert_int_equal(publish_pattern(reg, "*s", "whatever"), 2);
    assert_string_equal(both.last_pattern, "*s");

    /* A pattern nobody holds any more (unsubscribed in flight). */
    assert_int_equal(publish_pattern(reg, "x*", "xylophone"), 0);
    /* A channel name is not a pattern subscription. */
    assert_int_equal(publish_pattern(reg, "news", "news"), 0);

    jl_registry_unsubscribe_all(reg, &c.sink, JL_NS_CHANNEL, NULL, NULL);
    jl_registry_unsubscribe_all(reg, &p1.sink, JL_NS_PATTERN, NULL, NULL);
    jl_registry_unsubscribe_all(reg, &p2.sink, JL_NS_PATTERN, NULL, NULL);
    jl_registry_unsubscribe_all(reg, &both.sink, JL_NS_PATTERN, NULL, NULL);
}

typedef struct {
    char names[8][16];
    size_t nsubs_seen[8];
    size_t n;
    jl_sink_t *sink;
    jl_ns_t ns;
} name_log_t;

static void log_name(void *ud, const char *name, size_t len)
{
    name_log_t *l = ud;

    assert_true(l->n < 8);
    snprintf(l->names[l->n], sizeof l->names[0], "%.*s", (int)len, name);
    l->nsubs_seen[l->n] = l->sink ? l->sink->nsubs[l->ns] : 0;
    l->n++;
}

static void test_registry_unsubscribe_all_oldest_first(void **state)
{
    jl_registry_t *reg = *state;
    test_sink_t a, b;
    name_log_t log = {0};
    sink_setup(&a, 1);
    sink_setup(&b, 2);

    sub(reg, &a, JL_NS_CHANNEL, "b");
    sub(reg, &a, JL_NS_CHANNEL, "a");
    sub(reg, &a, JL_NS_CHANNEL, "c");
    sub(reg, &b, JL_NS_CHANNEL, "a");               /* survives a's leaving */
    sub(reg, &a, JL_NS_PATTERN, "p*");              /* other namespace: kept */

    log.sink = &a.sink;
    log.ns = JL_NS_CHANNEL;
    jl_registry_unsubscribe_all(reg, &a.sink, JL_NS_CHANNEL, log_name, &log);
    assert_int_equal(log.n, 3);
    assert_string_equal(log.names[0], "b");
    assert_string_equal(log.names[1], "a");
    assert_string_equal(log.names[2], "c");
    assert_int_equal(log.nsubs_seen[0], 2);         /* already decremented */
    assert_int_equal(log.nsubs_seen[1], 1);
    assert_int_equal(log.nsubs_seen[2], 0);
    assert_true(jl_list_empty(&a.sink.subs[JL_NS_CHANNEL]));

    assert_int_equal(jl_registry_count(reg, JL_NS_CHANNEL), 1);
    assert_int_equal(numsub(reg, JL_NS_CHANNEL, "a"), 1);
    assert_int_equal(a.sink.nsubs[JL_NS_PATTERN], 1);

    /* Nothing subscribed: no callback at all. */
    log.n = 0;
    jl_registry_unsubscribe_all(reg, &a.sink, JL_NS_CHANNEL, log_name, &log);
    assert_int_equal(log.n, 0);

    jl_registry_unsubscribe_all(reg, &a.sink, JL_NS_PATTERN, NULL, NULL);
    jl_registry_unsubscribe_all(reg, &b.sink, JL_NS_CHANNEL, NULL, NULL);
    assert_int_equal(jl_registry_count(reg, JL_NS_CHANNEL), 0);
}

typedef struct {
    jl_registry_t *reg;
    char events[16][24];    /* "+ns:name" or "-ns:name" */
    size_t count_seen[16];  /* jl_registry_count at the time of the event */
    size_t n;
} watch_log_t;

static void on_watch(void *ud, jl_ns_t ns, const char *name, size_t len, int added)
{
    watch_log_t *w = ud;

    assert_true(w->n < 16);
    snprintf(w->events[w->n], sizeof w->events[0], "%c%d:%.*s",
             added ? '+' : '-', (int)ns, (int)len, name);
    w->count_seen[w->n] = jl_registry_count(w->reg, ns);
    w->n++;
}

static void test_registry_watch_first_and_last_subscriber(void **state)
{
    jl_registry_t *reg = *state;
    test_sink_t a, b;
    watch_log_t w = {.reg = reg};
    sink_setup(&a, 1);
    sink_setup(&b, 2);
    jl_registry_set_watch(reg, on_watch, &w);

    sub(reg, &a, JL_NS_CHANNEL, "x");               /* +0:x */
    sub(reg, &b, JL_NS_CHANNEL, "x");               /* no event */
    sub(reg, &a, JL_NS_CHANNEL, "x");               /* duplicate: no event */
    sub(reg, &a, JL_NS_PATTERN, "x*");              /* +1:x* */
    unsub(reg, &a, JL_NS_CHANNEL, "x");             /* b still there: none */
    unsub(reg, &a, JL_NS_CHANNEL, "x");             /* not subscribed: none */
    unsub(reg, &b, JL_NS_CHANNEL, "x");             /* -0:x */
    sub(reg, &b, JL_NS_SHARD, "s");                 /* +2:s */
    jl_registry_unsubscribe_all(reg, &a.sink, JL_NS_PATTERN, NULL, NULL); /* -1:x* */
    jl_registry_unsubscribe_all(reg, &b.sink, JL_NS_SHARD, NULL, NULL);   /* -2:s */

    static const char *want[] = {"+0:x", "+1:x*", "-0:x", "+2:s", "-1:x*", "-2:s"};
    static const size_t want_count[] = {1, 1, 0, 1, 0, 0};
    assert_int_equal(w.n, JL_ARRAY_LEN(want));
    for (size_t i = 0; i < w.n; i++) {
        assert_string_equal(w.events[i], want[i]);
        assert_int_equal(w.count_seen[i], want_count[i]);
    }
    jl_registry_set_watch(reg, NULL, NULL);
}

static void test_registry_frees_empty_names(void **state)
{
    jl_registry_t *reg = *state;
    test_sink_t a;
    sink_setup(&a, 1);

    for (int round = 0; round < 3; round++) {
        sub(reg, &a, JL_NS_CHANNEL, "ephemeral");
        sub(reg, &a, JL_NS_PATTERN, "eph*");
        assert_int_equal(jl_registry_count(reg, JL_NS_CHANNEL), 1);
        assert_int_equal(jl_registry_count(reg, JL_NS_PATTERN), 1);
        unsub(reg, &a, JL_NS_CHANNEL, "ephemeral");
        unsub(reg, &a, JL_NS_PATTERN, "eph*");
        assert_int_equal(jl_registry_count(reg, JL_NS_CHANNEL), 0);
        assert_int_equal(jl_registry_count(reg, JL_NS_PATTERN), 0);
        assert_int_equal(numsub(reg, JL_NS_CHANNEL, "ephemeral"), 0);
        assert_int_equal(publish(reg, "ephemeral", 0), 0);
    }
}

/* Names are bytes: NUL inside, the empty name, prefixes of each other. */
static void test_registry_binary_names(void **state)
{
    jl_registry_t *reg = *state;
    test_sink_t a;
    sink_setup(&a, 1);

    assert_int_equal(jl_registry_subscribe(reg, &a.sink, JL_NS_CHANNEL, "a\0b", 3), 1);
    assert_int_equal(jl_registry_subscribe(reg, &a.sink, JL_NS_CHANNEL, "a", 1), 1);
    assert_int_equal(jl_registry_subscribe(reg, &a.sink, JL_NS_CHANNEL, "", 0), 1);
    assert_int_equal(jl_registry_subscribe(reg, &a.sink, JL_NS_CHANNEL, "a\0c", 3), 1);
    assert_int_equal(jl_registry_count(reg, JL_NS_CHANNEL), 4);
    assert_int_equal(jl_registry_numsub(reg, JL_NS_CHANNEL, "a\0b", 3), 1);
    assert_int_equal(jl_registry_numsub(reg, JL_NS_CHANNEL, "a\0", 2), 0);

    jl_msg_t msg;
    jl_msg_init(&msg, "", 0, "p", 1, 0);
    assert_int_equal(jl_registry_publish(reg, &msg), 1);
    jl_msg_release(&msg);
    jl_msg_init(&msg, "a\0c", 3, "p", 1, 0);
    assert_int_equal(jl_registry_publish(reg, &msg), 1);
    jl_msg_release(&msg);

    assert_int_equal(jl_registry_unsubscribe(reg, &a.sink, JL_NS_CHANNEL, "", 0), 1);
    jl_registry_unsubscribe_all(reg, &a.sink, JL_NS_CHANNEL, NULL, NULL);
}

/* Enough names and subscriptions to grow (and shrink) every table. */
static void test_registry_many_channels_rehash(void **state)
{
    jl_registry_t *reg = *state;
    enum { N = 20000 };
    test_sink_t a, b;
    char name[32];
    sink_setup(&a, 1);
    sink_setup(&b, 2);

    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "chan:%d", i);
        assert_int_equal(sub(reg, &a, JL_NS_CHANNEL, name), 1);
        if (i % 2 == 0)
            assert_int_equal(sub(reg, &b, JL_NS_CHANNEL, name), 1);
    }
    assert_int_equal(jl_registry_count(reg, JL_NS_CHANNEL), N);
    assert_int_equal(a.sink.nsubs[JL_NS_CHANNEL], N);
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "chan:%d", i);
        assert_int_equal(sub(reg, &a, JL_NS_CHANNEL, name), 0);
        assert_int_equal(numsub(reg, JL_NS_CHANNEL, name), i % 2 == 0 ? 2 : 1);
    }
    assert_int_equal(publish(reg, "chan:1234", 0), 2);
    assert_int_equal(publish(reg, "chan:1235", 0), 1);

    /* Drop most of a's subscriptions one by one (tables shrink). */
    for (int i = 0; i < N - 10; i++) {
        snprintf(name, sizeof name, "chan:%d", i);
        assert_int_equal(unsub(reg, &a, JL_NS_CHANNEL, name), 1);
    }
    assert_int_equal(jl_registry_count(reg, JL_NS_CHANNEL), N / 2 + 5);
    assert_int_equal(numsub(reg, JL_NS_CHANNEL, "chan:19999"), 1);
    assert_int_equal(numsub(reg, JL_NS_CHANNEL, "chan:0"), 1);

    jl_registry_unsubscribe_all(reg, &b.sink, JL_NS_CHANNEL, NULL, NULL);
    assert_int_equal(jl_registry_count(reg, JL_NS_CHANNEL), 10);
    jl_registry_unsubscribe_all(reg, &a.sink, JL_NS_CHANNEL, NULL, NULL);
    assert_int_equal(jl_registry_count(reg, JL_NS_CHANNEL), 0);
}

/* Many sinks on one channel: the duplicate check must not walk them all
 * (this would take seconds if it did). */
static void test_registry_many_sinks_one_channel(void **state)
{
    jl_registry_t *reg = *state;
    enum { N = 5000 };
    test_sink_t *sinks = calloc(N, sizeof *sinks);
    assert_non_null(sinks);

    for (int i = 0; i < N; i++) {
        sink_setup(&sinks[i], i);
        assert_int_equal(sub(reg, &sinks[i], JL_NS_CHANNEL, "hot"), 1);
        assert_int_equal(sub(reg, &sinks[i], JL_NS_CHANNEL, "hot"), 0);
    }
    assert_int_equal(numsub(reg, JL_NS_CHANNEL, "hot"), N);
    assert_int_equal(publish(reg, "hot", 0), N);
    for (int i = 0; i < N; i += 2)
        unsub(reg, &sinks[i], JL_NS_CHANNEL, "hot");
    assert_int_equal(publish(reg, "hot", 0), N / 2);
    for (int i = 1; i < N; i += 2)
        jl_registry_unsubscribe_all(reg, &sinks[i].sink, JL_NS_CHANNEL, NULL, NULL);
    assert_int_equal(jl_registry_count(reg, JL_NS_CHANNEL), 0);
    free(sinks);
}

static void test_registry_foreach_with_filter(void **state)
{
    jl_registry_t *reg = *state;
    test_sink_t a;
    name_log_t log = {0};
    sink_setup(&a, 1);

    sub(reg, &a, JL_NS_CHANNEL, "a1");
    sub(reg, &a, JL_NS_CHANNEL, "b1");
    sub(reg, &a, JL_NS_CHANNEL, "a2");
    sub(reg, &a, JL_NS_PATTERN, "a*");
    sub(reg, &a, JL_NS_SHARD, "a3");

    jl_registry_foreach(reg, JL_NS_CHANNEL, NULL, 0, log_name, &log);
    assert_int_equal(log.n, 3);

    log.n = 0;
    jl_registry_foreach(reg, JL_NS_CHANNEL, "a*", 2, log_name, &log);
    assert_int_equal(log.n, 2);
    assert_string_equal(log.names[0], "a1");
    assert_string_equal(log.names[1], "a2");

    log.n = 0;
    jl_registry_foreach(reg, JL_NS_CHANNEL, "z*", 2, log_name, &log);
    assert_int_equal(log.n, 0);

    log.n = 0;                                      /* patterns are not channels */
    jl_registry_foreach(reg, JL_NS_PATTERN, NULL, 0, log_name, &log);
    assert_int_equal(log.n, 1);
    assert_string_equal(log.names[0], "a*");

    log.n = 0;
    jl_registry_foreach(reg, JL_NS_SHARD, "a?", 2, log_name, &log);
    assert_int_equal(log.n, 1);
    assert_string_equal(log.names[0], "a3");

    for (int ns = 0; ns < JL_NS_COUNT; ns++)
        jl_registry_unsubscribe_all(reg, &a.sink, ns, NULL, NULL);
}

/* Random subscribe/unsubscribe/unsubscribe_all against a plain bitmap
 * model: every count the registry reports must agree with the model. */
static void test_registry_matches_model_under_random_ops(void **state)
{
    jl_registry_t *reg = *state;
    enum { SINKS = 6, NAMES = 12, STEPS = 20000 };
    static const char *names[NAMES] = {
        "a", "b", "ab", "ba", "", "a*", "*b", "*", "?", "a?", "[ab]", "x",
    };
    test_sink_t sinks[SINKS];
    unsigned char model[SINKS][JL_NS_COUNT][NAMES] = {{{0}}};
    unsigned seed = 12345;

    for (int i = 0; i < SINKS; i++)
        sink_setup(&sinks[i], i);
    for (int step = 0; step < STEPS; step++) {
        seed = seed * 1103515245u + 12345u;
        unsigned r = seed >> 8;
        int si = (int)(r % SINKS), ni = (int)(r / SINKS % NAMES);
        jl_ns_t ns = (jl_ns_t)(r / (SINKS * NAMES) % JL_NS_COUNT);
        unsigned op = r / (SINKS * NAMES * JL_NS_COUNT) % 16;

        if (op < 8) {
            assert_int_equal(sub(reg, &sinks[si], ns, names[ni]), !model[si][ns][ni]);
            model[si][ns][ni] = 1;
        } else if (op < 15) {
            assert_int_equal(unsub(reg, &sinks[si], ns, names[ni]), model[si][ns][ni]);
            model[si][ns][ni] = 0;
        } else {
            jl_registry_unsubscribe_all(reg, &sinks[si].sink, ns, NULL, NULL);
            memset(model[si][ns], 0, NAMES);
        }

        /* Check every count, and one publish, against the model. */
        size_t expect_pub = 0;
        const char *chan = names[(r >> 3) % NAMES];
        for (int k = 0; k < JL_NS_COUNT; k++) {
            size_t live = 0;
            for (int n = 0; n < NAMES; n++) {
                size_t subs = 0;
                for (int i = 0; i < SINKS; i++)
                    subs += model[i][k][n];
                assert_int_equal(numsub(reg, (jl_ns_t)k, names[n]), subs);
                live += subs > 0;
                if (k == JL_NS_CHANNEL && strcmp(names[n], chan) == 0)
                    expect_pub += subs;
                if (k == JL_NS_PATTERN &&
                    jl_glob_match(names[n], strlen(names[n]), chan, strlen(chan)))
                    expect_pub += subs;
            }
            assert_int_equal(jl_registry_count(reg, (jl_ns_t)k), live);
        }
        for (int i = 0; i < SINKS; i++)
            for (int k = 0; k < JL_NS_COUNT; k++) {
                size_t mine = 0;
                for (int n = 0; n < NAMES; n++)
                    mine += model[i][k][n];
                assert_int_equal(sinks[i].sink.nsubs[k], mine);
            }
        assert_int_equal(publish(reg, chan, 0), expect_pub);
    }
    for (int i = 0; i < SINKS; i++)
        for (int k = 0; k < JL_NS_COUNT; k++)
            jl_registry_unsubscribe_all(reg, &sinks[i].sink, (jl_ns_t)k, NULL, NULL);
}

/* Freeing a registry that still has subscriptions releases everything
 * (LSan checks) without touching the sinks. */
static void test_registry_free_with_live_subscriptions(void **state)
{
    (void)state;
    jl_registry_t *reg = jl_registry_new();
    test_sink_t a, b;
    sink_setup(&a, 1);
    sink_setup(&b, 2);

    sub(reg, &a, JL_NS_CHANNEL, "x");
    sub(reg, &b, JL_NS_CHANNEL, "x");
    sub(reg, &a, JL_NS_PATTERN, "*");
    sub(reg, &b, JL_NS_SHARD, "s");
    jl_registry_free(reg);
    jl_registry_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_siphash_reference_vectors),
        cmocka_unit_test_setup_teardown(test_registry_subscribe_is_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registry_unsubscribe_other_sink_is_noop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registry_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registry_channel_and_pattern_deliver_twice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registry_publish_counts_only_counting_sinks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registry_shard_namespace_is_separate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registry_publish_exact_skips_patterns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registry_publish_pattern_one_pattern_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registry_unsubscribe_all_oldest_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registry_watch_first_and_last_subscriber, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registry_frees_empty_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registry_binary_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registry_many_channels_rehash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registry_many_sinks_one_channel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registry_foreach_with_filter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registry_matches_model_under_random_ops, setup, teardown),
        cmocka_unit_test(test_registry_free_with_live_subscriptions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
