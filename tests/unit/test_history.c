/* test_history.c -- server/history.c: ids, retention, resuming.
 *
 * The id codec is checked as a round trip over many random ids (and the
 * edges 0 and UINT64_MAX) and against a list of texts it must refuse;
 * publishes go through a test encoder that builds "id:<id>\ndata:<payload>\n\n"
 * and, when the payload holds '#', reports the text after it as the
 * payload's own id. Retention is checked limit by limit (count, bytes,
 * memory cap, age, per_channel 0), always together with what jl_hist_gap
 * then tells a resuming stream: loss must never be silent. The reading
 * API (what XRANGE and XREAD see) goes through a test decoder that, like
 * SSE's, gives back CR as LF: such payloads must come back from the raw
 * copy, byte for byte, and the copy must count. Built with ASan/LSan, a
 * clean run also proves nothing leaked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/history.h"
#include "server/msg.h"
#include "server/rand.h"

/* ---- the test encoder ---- */

typedef struct enc {
    size_t calls;
    jl_frame_t *last_frame;     /* the frame built by the last call (borrowed) */
    char last_id[JL_HIST_ID_MAX];
} enc_t;

static jl_frame_t *test_encode(void *ud, jl_msg_t *msg, const char *id, size_t id_len,
                               uint16_t *app_off, uint16_t *app_len)
{
    enc_t *e = ud;
    e->calls++;
    assert_true(id_len > 0 && id_len < JL_HIST_ID_MAX);
    assert_int_equal(strlen(id), id_len);
    memcpy(e->last_id, id, id_len + 1);
    assert_null(msg->frames[JL_FRAME_SSE]);

    size_t n = 3 + id_len + 1 + 5 + msg->payload_len + 2;
    char *buf = malloc(n);
    assert_non_null(buf);
    size_t off = 0;
    memcpy(buf + off, "id:", 3), off += 3;
    memcpy(buf + off, id, id_len), off += id_len;
    buf[off++] = '\n';
    memcpy(buf + off, "data:", 5), off += 5;
    size_t data_at = off;
    memcpy(buf + off, msg->payload, msg->payload_len), off += msg->payload_len;
    buf[off++] = '\n';
    buf[off++] = '\n';
    assert_int_equal(off, n);

    const char *hash = msg->payload_len ? memchr(msg->payload, '#', msg->payload_len) : NULL;
    if (hash != NULL) {
        size_t at = (size_t)(hash - msg->payload) + 1;
        *app_off = (uint16_t)(data_at + at);
        *app_len = (uint16_t)(msg->payload_len - at);
    }
    jl_frame_t *f = msg->frames[JL_FRAME_SSE] = jl_frame_from(buf, n);
    free(buf);
    e->last_frame = f;
    return f;
}

/* The frame size test_encode builds for a payload of n bytes under id. */
static size_t frame_len(jl_hist_id_t id, size_t n)
{
    char buf[JL_HIST_ID_MAX];
    return 3 + jl_hist_id_format(id, buf) + 1 + 5 + n + 2;
}

static jl_hist_id_t publishn(jl_hist_t *h, const char *chan, const char *payload, size_t n)
{
    jl_msg_t m;
    jl_msg_init(&m, chan, strlen(chan), payload, n, 0);
    jl_hist_publish(h, &m);
    assert_true(m.has_id);
    jl_hist_id_t id = m.id;
    jl_msg_release(&m);
    return id;
}

static jl_hist_id_t publish(jl_hist_t *h, const char *chan, const char *payload)
{
    return publishn(h, chan, payload, strlen(payload));
}

/* The inverse of test_encode, lossy as SSE is: a CR comes back as LF. */
static void test_decode(void *ud, const jl_frame_t *f, jl_buf_t *out)
{
    (void)ud;
    const char *data = memmem(f->data, f->len, "\ndata:", 6);
    assert_non_null(data);
    data += 6;
    size_t n = f->len - (size_t)(data - f->data) - 2;
    for (size_t i = 0; i < n; i++)
        jl_buf_append_char(out, data[i] == '\r' ? '\n' : data[i]);
}

static jl_hist_t *hist_new(size_t per_channel, size_t channel_bytes, double max_age,
                           size_t memory, enc_t *enc)
{
    jl_hist_limits_t lim = {.per_channel = per_channel, .channel_bytes = channel_bytes,
                            .max_age = max_age, .memory = memory};
    jl_hist_t *h = jl_hist_new(&lim);
    assert_non_null(h);
    memset(enc, 0, sizeof *enc);
    jl_hist_set_encoder(h, test_encode, enc);
    jl_hist_set_decoder(h, test_decode, NULL);
    return h;
}

#define BIG ((size_t)1 << 30)

/* ---- replay collection ---- */

#define SEEN_MAX 256

typedef struct seen {
    jl_hist_id_t id[SEEN_MAX];
    const jl_frame_t *frame[SEEN_MAX];
    size_t n;
} seen_t;

static void on_entry(void *ud, const jl_hist_entry_t *e)
{
    seen_t *s = ud;
    assert_true(s->n < SEEN_MAX);
    s->id[s->n] = e->id;
    s->frame[s->n] = e->frame;
    s->n++;
}

/* Replays the given channels (names) and patterns (prefixed "p:") from 'from'. */
static size_t replay(jl_hist_t *h, const char *const *names, size_t n, jl_hist_id_t from,
                     seen_t *out)
{
    jl_hist_replay_t *r = jl_hist_replay_new();
    assert_non_null(r);
    for (size_t i = 0; i < n; i++) {
        if (strncmp(names[i], "p:", 2) == 0)
            jl_hist_replay_pattern(h, r, names[i] + 2, strlen(names[i] + 2));
        else
            jl_hist_replay_channel(h, r, names[i], strlen(names[i]));
    }
    memset(out, 0, sizeof *out);
    size_t count = jl_hist_replay_each(h, r, from, on_entry, out);
    jl_hist_replay_free(r);
    assert_int_equal(count, out->n);
    return count;
}

static int resolve(const jl_hist_t *h, const char *const *chans, size_t n, const char *text,
                   size_t len, jl_hist_id_t *out)
{
    jl_hist_replay_t *r = jl_hist_replay_new();
    for (size_t i = 0; i < n; i++)
        jl_hist_replay_channel(h, r, chans[i], strlen(chans[i]));
    int rc = jl_hist_resolve(h, r, text, len, out);
    jl_hist_replay_free(r);
    return rc;
}

static jl_gap_t gap(const jl_hist_t *h, const char *chan, jl_hist_id_t from, long long *lost)
{
    *lost = 12345;
    return jl_hist_gap(h, chan, strlen(chan), from, lost);
}

static jl_gap_t gap_pattern(const jl_hist_t *h, const char *pat, jl_hist_id_t from,
                            long long *lost)
{
    *lost = 12345;
    return jl_hist_gap_pattern(h, pat, strlen(pat), from, lost);
}

static int id_eq(jl_hist_id_t a, jl_hist_id_t b) { return a.ms == b.ms && a.seq == b.seq; }

#define assert_id_equal(a, b) assert_true(id_eq((a), (b)))

/* ---- ids ---- */

/* Decodes "ms-seq" independently of the code under test (strtoull). */
static void check_format(jl_hist_id_t id)
{
    char buf[JL_HIST_ID_MAX + 8];
    memset(buf, 'x', sizeof buf);
    size_t n = jl_hist_id_format(id, buf);
    assert_true(n >= 3 && n <= JL_HIST_ID_MAX - 1);
    assert_int_equal(buf[n], '\0');
    assert_int_equal(strlen(buf), n);
    size_t dashes = 0;
    for (size_t i = 0; i < n; i++) {
        assert_true((buf[i] >= '0' && buf[i] <= '9') || buf[i] == '-');
        dashes += buf[i] == '-';
    }
    assert_int_equal(dashes, 1);
    /* No byte past the NUL is touched. */
    for (size_t i = JL_HIST_ID_MAX; i < sizeof buf; i++)
        assert_int_equal(buf[i], 'x');

    char *end;
    unsigned long long ms = strtoull(buf, &end, 10);
    assert_int_equal(*end, '-');
    unsigned long long seq = strtoull(end + 1, &end, 10);
    assert_int_equal(*end, '\0');
    assert_true(ms == id.ms && seq == id.seq);

    /* No leading zeros (except "0" itself). */
    assert_true(buf[0] != '0' || buf[1] == '-');
    const char *dash = strchr(buf, '-');
    assert_true(dash[1] != '0' || dash[2] == '\0');

    jl_hist_id_t back = {42, 42};
    assert_int_equal(jl_hist_id_parse(buf, n, &back), 0);
    assert_id_equal(back, id);
    assert_int_equal(jl_hist_id_cmp(back, id), 0);
}

static void test_id_round_trip(void **state)
{
    (void)state;
    static const uint64_t edges[] = {0, 1, 9, 10, 99, 100, 999999999999ULL, 1000000000000ULL,
                                     UINT64_MAX / 10, UINT64_MAX / 10 + 1, UINT64_MAX - 1,
                                     UINT64_MAX};
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
        for (size_t j = 0; j < sizeof edges / sizeof edges[0]; j++)
            check_format((jl_hist_id_t){edges[i], edges[j]});

    jl_rng_t rng = {0x9e3779b97f4a7c15ULL};
    for (int i = 0; i < 20000; i++) {
        uint64_t a = jl_rng_next(&rng), b = jl_rng_next(&rng);
        /* Vary the magnitude so short and long numbers both come up. */
        a >>= jl_rng_next(&rng) % 64;
        b >>= jl_rng_next(&rng) % 64;
        check_format((jl_hist_id_t){a, b});
    }

    char buf[JL_HIST_ID_MAX];
    assert_int_equal(jl_hist_id_format((jl_hist_id_t){UINT64_MAX, UINT64_MAX}, buf),
                     JL_HIST_ID_MAX - 1);
    assert_string_equal(buf, "18446744073709551615-18446744073709551615");
    assert_int_equal(jl_hist_id_format((jl_hist_id_t){0, 0}, buf), 3);
    assert_string_equal(buf, "0-0");
}

static void test_id_parse_accepts(void **state)
{
    (void)state;
    jl_hist_id_t id;
    assert_int_equal(jl_hist_id_parse("0-0", 3, &id), 0);
    assert_id_equal(id, ((jl_hist_id_t){0, 0}));
    assert_int_equal(jl_hist_id_parse("1700000000123-7", 15, &id), 0);
    assert_id_equal(id, ((jl_hist_id_t){1700000000123ULL, 7}));
    const char *max = "18446744073709551615-18446744073709551615";
    assert_int_equal(jl_hist_id_parse(max, strlen(max), &id), 0);
    assert_id_equal(id, ((jl_hist_id_t){UINT64_MAX, UINT64_MAX}));
    /* Only n bytes are read: a longer buffer is cut at n. */
    assert_int_equal(jl_hist_id_parse("12-345", 4, &id), 0);
    assert_id_equal(id, ((jl_hist_id_t){12, 3}));
    /* Leading zeros are still decimal. */
    assert_int_equal(jl_hist_id_parse("007-01", 6, &id), 0);
    assert_id_equal(id, ((jl_hist_id_t){7, 1}));
}

static void test_id_parse_rejects(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", "-", "1-", "-1", "1--1", "+1-0", "1-+0", " 1-0", "1-0 ", "1 -0", "1- 0",
        "18446744073709551616-0", "0-18446744073709551616", "99999999999999999999-0",
        "184467440737095516150-0", "abc", "1a-0", "1-0a", "0x1-0", "1-0-0", "1_0", "10",
        "1.5-0", "1-1e3", "\xff-0", "1\t-0", "1-0\n", "1-0\r", "--",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        jl_hist_id_t id = {7, 7};
        int rc = jl_hist_id_parse(bad[i], strlen(bad[i]), &id);
        if (rc != -1)
            fail_msg("accepted \"%s\"", bad[i]);
    }
    /* NUL inside, or a NUL counted in n. */
    static const struct { const char *s; size_t n; } nul[] = {
        {"1\0-0", 4}, {"1-\0" "0", 4}, {"1-0\0", 4}, {"\0" "1-0", 4}, {"\0", 1},
    };
    for (size_t i = 0; i < sizeof nul / sizeof nul[0]; i++) {
        jl_hist_id_t id;
        assert_int_equal(jl_hist_id_parse(nul[i].s, nul[i].n, &id), -1);
    }
    /* n == 0 with a valid text behind it is still empty. */
    jl_hist_id_t id;
    assert_int_equal(jl_hist_id_parse("1-0", 0, &id), -1);
    assert_int_equal(jl_hist_id_parse("1-0", 1, &id), -1);
    assert_int_equal(jl_hist_id_parse("1-0", 2, &id), -1);
}

static void test_id_cmp(void **state)
{
    (void)state;
    jl_hist_id_t a = {1, UINT64_MAX}, b = {2, 0}, c = {2, 1}, d = {UINT64_MAX, 0};
    assert_true(jl_hist_id_cmp(a, b) < 0);
    assert_true(jl_hist_id_cmp(b, a) > 0);
    assert_true(jl_hist_id_cmp(b, c) < 0);
    assert_true(jl_hist_id_cmp(c, d) < 0);
    assert_int_equal(jl_hist_id_cmp(c, c), 0);
    assert_true(jl_hist_id_cmp((jl_hist_id_t){0, 0}, (jl_hist_id_t){0, 1}) < 0);

    /* Over random pairs: antisymmetric, and equal to comparing the
     * zero-padded texts (an independent order). */
    jl_rng_t rng = {12345};
    for (int i = 0; i < 5000; i++) {
        jl_hist_id_t x = {jl_rng_next(&rng) % 4, jl_rng_next(&rng) % 4};
        jl_hist_id_t y = {jl_rng_next(&rng) % 4, jl_rng_next(&rng) % 4};
        if (i % 2) {
            x.ms = jl_rng_next(&rng), y.ms = jl_rng_next(&rng) >> (i % 64);
        }
        char tx[64], ty[64];
        snprintf(tx, sizeof tx, "%020" PRIu64 "%020" PRIu64, x.ms, x.seq);
        snprintf(ty, sizeof ty, "%020" PRIu64 "%020" PRIu64, y.ms, y.seq);
        int want = strcmp(tx, ty);
        want = want < 0 ? -1 : want > 0;
        int got = jl_hist_id_cmp(x, y);
        assert_int_equal(got < 0 ? -1 : got > 0, want);
        int rev = jl_hist_id_cmp(y, x);
        assert_int_equal(rev < 0 ? -1 : rev > 0, -want);
    }
}

static void test_gap_reason(void **state)
{
    (void)state;
    assert_string_equal(jl_gap_reason(JL_GAP_NONE), "none");
    assert_string_equal(jl_gap_reason(JL_GAP_EVICTED), "evicted");
    assert_string_equal(jl_gap_reason(JL_GAP_RESTART), "restart");
    assert_string_equal(jl_gap_reason(JL_GAP_UNKNOWN), "unknown");
}

/* ---- publishing ---- */

static void test_publish_ids_increase_across_channels(void **state)
{
    (void)state;
    enc_t enc;
    jl_hist_t *h = hist_new(1000, BIG, 0, BIG, &enc);
    static const char *const chans[] = {"a", "b", "c", "d", "e", "f", "g"};
    jl_hist_id_t prev = {0, 0}, prev2 = {0, 0};
    jl_rng_t rng = {777};
    for (int i = 0; i < 2000; i++) {
        const char *ch = chans[jl_rng_next(&rng) % 7];
        jl_msg_t m;
        jl_msg_init(&m, ch, 1, "x", 1, 0);
        jl_hist_publish(h, &m);
        assert_true(m.has_id);
        assert_true(jl_hist_id_cmp(m.id, prev) > 0);
        prev2 = prev;
        prev = m.id;
        /* The encoder got the id's text and its frame is cached in the
         * message; the history holds its own reference, not a copy. */
        char buf[JL_HIST_ID_MAX];
        jl_hist_id_format(m.id, buf);
        assert_string_equal(enc.last_id, buf);
        assert_ptr_equal(m.frames[JL_FRAME_SSE], enc.last_frame);
        assert_int_equal(enc.last_frame->refs, 2);
        jl_msg_release(&m);
        assert_int_equal(enc.last_frame->refs, 1);
    }
    assert_int_equal(enc.calls, 2000);
    const jl_hist_stats_t *st = jl_hist_stats(h);
    assert_int_equal(st->appended, 2000);
    assert_int_equal(st->entries, 2000);
    assert_int_equal(st->channels, 7);
    assert_int_equal(st->evicted, 0);

    /* The kept frame is the very one the encoder built. */
    seen_t s;
    const char *const g[] = {"p:*"};
    assert_int_equal(replay(h, g, 1, prev2, &s), 1);
    assert_ptr_equal(s.frame[0], enc.last_frame);
    assert_id_equal(s.id[0], prev);
    jl_hist_free(h);
}

static void test_publish_without_encoder_keeps_nothing(void **state)
{
    (void)state;
    jl_hist_limits_t lim = {.per_channel = 10, .channel_bytes = BIG, .memory = BIG};
    jl_hist_t *h = jl_hist_new(&lim);
    jl_hist_id_t prev = {0, 0};
    for (int i = 0; i < 50; i++) {
        jl_msg_t m;
        jl_msg_init(&m, "a", 1, "x", 1, 0);
        jl_hist_publish(h, &m);
        assert_true(m.has_id);
        assert_true(jl_hist_id_cmp(m.id, prev) > 0);
        assert_null(m.frames[JL_FRAME_SSE]);
        prev = m.id;
    }
    assert_int_equal(jl_hist_stats(h)->entries, 0);
    /* The ids are issued: they resolve. */
    char buf[JL_HIST_ID_MAX];
    size_t n = jl_hist_id_format(prev, buf);
    jl_hist_id_t out;
    assert_int_equal(resolve(h, NULL, 0, buf, n, &out), 0);
    assert_id_equal(out, prev);
    /* Setting the encoder later starts keeping. */
    enc_t enc = {0};
    jl_hist_set_encoder(h, test_encode, &enc);
    publish(h, "a", "y");
    assert_int_equal(jl_hist_stats(h)->entries, 1);
    jl_hist_set_encoder(h, NULL, NULL);
    publish(h, "a", "z");
    assert_int_equal(jl_hist_stats(h)->entries, 1);
    assert_int_equal(enc.calls, 1);
    jl_hist_free(h);
}

/* ---- retention ---- */

static void test_retention_count(void **state)
{
    (void)state;
    enc_t enc;
    jl_hist_t *h = hist_new(3, BIG, 0, BIG, &enc);
    jl_hist_id_t before = publish(h, "other", "o");
    jl_hist_id_t id[5];
    for (int i = 0; i < 5; i++)
        id[i] = publish(h, "a", "m");
    const jl_hist_stats_t *st = jl_hist_stats(h);
    assert_int_equal(st->entries, 4);   /* 3 of a, 1 of other */
    assert_int_equal(st->evicted, 2);

    seen_t s;
    const char *const a[] = {"a"};
    assert_int_equal(replay(h, a, 1, id[0], &s), 3);
    for (int i = 0; i < 3; i++)
        assert_id_equal(s.id[i], id[i + 2]);
    assert_int_equal(replay(h, a, 1, id[3], &s), 1);
    assert_id_equal(s.id[0], id[4]);
    assert_int_equal(replay(h, a, 1, id[4], &s), 0);

    long long lost;
    /* Saw id1, missed id2 (evicted): a gap, the count is not exact. */
    assert_int_equal(gap(h, "a", id[0], &lost), JL_GAP_EVICTED);
    assert_int_equal(lost, 1);     /* id[0] was seen, id[1] was missed */
    /* Saw nothing of a: both evicted entries were missed. */
    assert_int_equal(gap(h, "a", before, &lost), JL_GAP_EVICTED);
    assert_int_equal(lost, 2);
    /* Saw the last evicted one or later: nothing missed. */
    assert_int_equal(gap(h, "a", id[1], &lost), JL_GAP_NONE);
    assert_int_equal(gap(h, "a", id[4], &lost), JL_GAP_NONE);
    assert_int_equal(gap(h, "other", before, &lost), JL_GAP_NONE);
    jl_hist_free(h);
}

static void test_retention_channel_bytes(void **state)
{
    (void)state;
    enc_t enc;
    jl_hist_t *probe = hist_new(100, BIG, 0, BIG, &enc);
    jl_hist_id_t pid = publish(probe, "a", "0123456789");
    size_t flen = frame_len(pid, 10);
    assert_int_equal(flen, enc.last_frame->len);
    jl_hist_free(probe);

    /* Room for three frames of this size (ids of the same length). */
    jl_hist_t *h = hist_new(100, 3 * flen + flen / 2, 0, BIG, &enc);
    jl_hist_id_t before = publish(h, "b", "x");
    jl_hist_id_t id[5];
    for (int i = 0; i < 5; i++)
        id[i] = publish(h, "a", "0123456789");
    assert_int_equal(frame_len(id[4], 10), flen);
    seen_t s;
    const char *const a[] = {"a"};
    assert_int_equal(replay(h, a, 1, before, &s), 3);
    assert_id_equal(s.id[0], id[2]);
    long long lost;
    assert_int_equal(gap(h, "a", before, &lost), JL_GAP_EVICTED);
    assert_int_equal(lost, 2);

    /* A frame larger than the whole channel budget is not kept, and the
     * channel says so. */
    char big[4096];
    memset(big, 'z', sizeof big);
    jl_hist_id_t bid = publishn(h, "a", big, sizeof big);
    assert_int_equal(replay(h, a, 1, id[4], &s), 0);
    assert_int_equal(gap(h, "a", id[4], &lost), JL_GAP_EVICTED);
    assert_int_equal(gap(h, "a", bid, &lost), JL_GAP_NONE);
    /* ...and the older entries were not dropped for it. */
    assert_int_equal(replay(h, a, 1, before, &s), 3);
    jl_hist_free(h);
}

/* Two frames over the channel budget: the older goes, the newer stays. */
static void test_retention_channel_bytes_keeps_one(void **state)
{
    (void)state;
    enc_t enc;
    jl_hist_t *h = hist_new(100, 100, 0, BIG, &enc);
    char p[40];
    memset(p, 'p', sizeof p);
    jl_hist_id_t a = publishn(h, "a", p, sizeof p);
    jl_hist_id_t b = publishn(h, "a", p, sizeof p);
    seen_t s;
    const char *const ch[] = {"a"};
    assert_int_equal(replay(h, ch, 1, (jl_hist_id_t){0, 0}, &s), 1);
    assert_id_equal(s.id[0], b);
    long long lost;
    assert_int_equal(gap(h, "a", a, &lost), JL_GAP_NONE);
    jl_hist_free(h);
}

static void test_retention_memory_cap_flood(void **state)
{
    (void)state;
    enum { CHANNELS = 10000, CAP = 256 * 1024 };
    enc_t enc;
    jl_hist_t *h = hist_new(16, BIG, 0, CAP, &enc);
    char payload[1024];
    memset(payload, 'k', sizeof payload);
    const jl_hist_stats_t *st = jl_hist_stats(h);
    jl_hist_id_t first = {0, 0}, last = {0, 0};
    size_t max_entries = 0;
    for (int i = 0; i < CHANNELS; i++) {
        char name[32];
        snprintf(name, sizeof name, "flood:%d", i);
        last = publishn(h, name, payload, sizeof payload);
        if (i == 0)
            first = last;
        if (st->bytes > CAP)
            fail_msg("after publish %d: %zu bytes > cap %d", i, st->bytes, CAP);
        max_entries = st->entries > max_entries ? st->entries : max_entries;
    }
    /* The cap forgot most channel records. (How many entries survive is
     * test_flood_of_channels_keeps_entries's business.) */
    assert_true(max_entries <= 256);
    assert_true(st->channels < CHANNELS);
    assert_true(st->channels >= st->entries);
    assert_int_equal(st->appended, CHANNELS);
    assert_int_equal(st->evicted + st->entries, CHANNELS);

    /* The oldest is gone and the gap says so, whether its record is still
     * there or was forgotten. */
    seen_t s;
    const char *const oldest[] = {"flood:0"};
    assert_int_equal(replay(h, oldest, 1, (jl_hist_id_t){0, 0}, &s), 0);
    long long lost;
    jl_hist_id_t before_first = first.seq ? (jl_hist_id_t){first.ms, first.seq - 1}
                                          : (jl_hist_id_t){first.ms - 1, UINT64_MAX};
    jl_gap_t g = gap(h, "flood:0", before_first, &lost);
    assert_int_equal(g, JL_GAP_EVICTED);
    /* A channel this history never knew, resumed from an old id: it may
     * have been one of the forgotten ones, so it is a gap too. */
    if (st->channels < CHANNELS) {
        assert_int_equal(gap(h, "never-published", first, &lost), JL_GAP_EVICTED);
        assert_int_equal(lost, -1);
    }
    /* Resumed from the newest id, nothing is missing anywhere. */
    assert_int_equal(gap(h, "flood:0", last, &lost), JL_GAP_NONE);
    assert_int_equal(gap(h, "never-published", last, &lost), JL_GAP_NONE);
    assert_int_equal(gap_pattern(h, "flood:*", last, &lost), JL_GAP_NONE);
    assert_int_equal(gap_pattern(h, "flood:*", first, &lost), JL_GAP_EVICTED);
    jl_hist_free(h);
}

/* A cap with room for a channel record but not for a record and an
 * entry: nothing is kept, every publish is a gap, and bytes stay under the
 * cap. */
static void test_retention_memory_cap_tiny(void **state)
{
    (void)state;
    enum { CAP = 200 };
    enc_t enc;
    jl_hist_t *h = hist_new(16, BIG, 0, CAP, &enc);
    jl_hist_id_t before = publish(h, "a", "x");
    for (int i = 0; i < 20; i++) {
        char name[8];
        snprintf(name, sizeof name, "c%d", i % 4);
        publish(h, name, "payload");
        assert_true(jl_hist_stats(h)->bytes <= CAP);
    }
    assert_int_equal(jl_hist_stats(h)->entries, 0);
    long long lost;
    assert_int_equal(gap(h, "c1", before, &lost), JL_GAP_EVICTED);
    jl_hist_free(h);
}

static void test_retention_per_channel_zero(void **state)
{
    (void)state;
    enc_t enc;
    jl_hist_t *h = hist_new(0, BIG, 0, BIG, &enc);
    jl_hist_id_t before = publish(h, "other", "o");
    jl_hist_id_t id[4];
    for (int i = 0; i < 4; i++)
        id[i] = publish(h, "a", "m#app");
    const jl_hist_stats_t *st = jl_hist_stats(h);
    assert_int_equal(st->entries, 0);
    seen_t s;
    const char *const a[] = {"a", "other"};
    assert_int_equal(replay(h, a, 2, (jl_hist_id_t){0, 0}, &s), 0);
    long long lost;
    assert_int_equal(gap(h, "a", before, &lost), JL_GAP_EVICTED);
    assert_int_equal(lost, 4);
    assert_int_equal(gap(h, "a", id[1], &lost), JL_GAP_EVICTED);
    assert_int_equal(lost, -1);
    assert_int_equal(gap(h, "a", id[3], &lost), JL_GAP_NONE);
    /* The ids still resolve; the app id (nothing retained) does not. */
    char buf[JL_HIST_ID_MAX];
    size_t n = jl_hist_id_format(id[2], buf);
    jl_hist_id_t out;
    assert_int_equal(resolve(h, a, 2, buf, n, &out), 0);
    assert_id_equal(out, id[2]);
    assert_int_equal(resolve(h, a, 2, "app", 3, &out), -1);
    jl_hist_free(h);
}

static void test_retention_age(void **state)
{
    (void)state;
    enc_t enc;
    jl_hist_t *h = hist_new(100, BIG, 0.05, BIG, &enc);
    jl_hist_id_t before = publish(h, "b", "b");
    for (int i = 0; i < 3; i++)
        publish(h, "a", "m");
    jl_hist_expire(h);      /* nothing is old yet */
    assert_int_equal(jl_hist_stats(h)->entries, 4);
    usleep(100 * 1000);
    jl_hist_id_t fresh = publish(h, "c", "c");
    jl_hist_expire(h);
    assert_int_equal(jl_hist_stats(h)->entries, 1);
    seen_t s;
    const char *const all[] = {"p:*"};
    assert_int_equal(replay(h, all, 1, (jl_hist_id_t){0, 0}, &s), 1);
    assert_id_equal(s.id[0], fresh);
    long long lost;
    assert_int_equal(gap(h, "a", before, &lost), JL_GAP_EVICTED);
    assert_int_equal(lost, 3);
    assert_int_equal(gap(h, "c", before, &lost), JL_GAP_NONE);
    usleep(100 * 1000);
    jl_hist_expire(h);
    assert_int_equal(jl_hist_stats(h)->entries, 0);
    assert_int_equal(gap(h, "c", before, &lost), JL_GAP_EVICTED);
    assert_int_equal(lost, 1);
    jl_hist_free(h);

    /* max_age 0: no age limit. */
    h = hist_new(100, BIG, 0, BIG, &enc);
    publish(h, "a", "m");
    usleep(20 * 1000);
    jl_hist_expire(h);
    assert_int_equal(jl_hist_stats(h)->entries, 1);
    jl_hist_free(h);
}

/* ---- resuming ---- */

static void test_resolve(void **state)
{
    (void)state;
    enc_t enc;
    jl_hist_t *h = hist_new(100, BIG, 0, BIG, &enc);
    jl_hist_id_t ida = publish(h, "a", "{\"v\":1}#order-1");
    jl_hist_id_t idb = publish(h, "b", "{\"v\":2}#dup");
    jl_hist_id_t idc = publish(h, "c", "{\"v\":3}#dup");
    jl_hist_id_t plain = publish(h, "c", "no app id");
    const char *const abc[] = {"a", "b", "c"};
    jl_hist_id_t out;

    /* An issued id. */
    char buf[JL_HIST_ID_MAX];
    size_t n = jl_hist_id_format(idb, buf);
    assert_int_equal(resolve(h, abc, 3, buf, n, &out), 0);
    assert_id_equal(out, idb);
    n = jl_hist_id_format(plain, buf);
    assert_int_equal(resolve(h, NULL, 0, buf, n, &out), 0);
    assert_id_equal(out, plain);
    /* Older than anything retained still resolves (the gap tells the rest). */
    assert_int_equal(resolve(h, abc, 3, "1-0", 3, &out), 0);
    assert_id_equal(out, ((jl_hist_id_t){1, 0}));

    /* From the future: the next id, and far ahead. */
    jl_hist_id_t next = {plain.ms, plain.seq + 1};
    n = jl_hist_id_format(next, buf);
    out = (jl_hist_id_t){99, 99};
    assert_int_equal(resolve(h, abc, 3, buf, n, &out), -1);
    assert_id_equal(out, ((jl_hist_id_t){99, 99}));
    n = jl_hist_id_format((jl_hist_id_t){plain.ms + 1, 0}, buf);
    assert_int_equal(resolve(h, abc, 3, buf, n, &out), -1);
    const char *max = "18446744073709551615-18446744073709551615";
    assert_int_equal(resolve(h, abc, 3, max, strlen(max), &out), -1);

    /* A payload id: unique -> that entry. */
    assert_int_equal(resolve(h, abc, 3, "order-1", 7, &out), 0);
    assert_id_equal(out, ida);
    /* ...only among the stream's channels. */
    const char *const bc[] = {"b", "c"};
    assert_int_equal(resolve(h, bc, 2, "order-1", 7, &out), -1);
    /* Duplicated across the stream's channels: ambiguous. */
    assert_int_equal(resolve(h, abc, 3, "dup", 3, &out), -1);
    /* ...but unique in one of them. */
    const char *const b[] = {"b"};
    assert_int_equal(resolve(h, b, 1, "dup", 3, &out), 0);
    assert_id_equal(out, idb);
    const char *const c[] = {"c"};
    assert_int_equal(resolve(h, c, 1, "dup", 3, &out), 0);
    assert_id_equal(out, idc);
    /* Prefixes and extensions of a payload id are not it. */
    assert_int_equal(resolve(h, abc, 3, "order-", 6, &out), -1);
    assert_int_equal(resolve(h, abc, 3, "order-12", 8, &out), -1);
    assert_int_equal(resolve(h, abc, 3, "unknown", 7, &out), -1);
    /* A payload id in a channel added twice is still one entry. */
    jl_hist_replay_t *r = jl_hist_replay_new();
    jl_hist_replay_channel(h, r, "a", 1);
    jl_hist_replay_pattern(h, r, "?", 1);
    jl_hist_replay_channel(h, r, "a", 1);
    assert_int_equal(jl_hist_resolve(h, r, "order-1", 7, &out), 0);
    assert_id_equal(out, ida);
    jl_hist_replay_free(r);
    jl_hist_free(h);
}

/* An evicted entry's payload id no longer resolves. */
static void test_resolve_app_id_evicted(void **state)
{
    (void)state;
    enc_t enc;
    jl_hist_t *h = hist_new(2, BIG, 0, BIG, &enc);
    publish(h, "a", "x#first");
    jl_hist_id_t id2 = publish(h, "a", "x#second");
    const char *const a[] = {"a"};
    jl_hist_id_t out;
    assert_int_equal(resolve(h, a, 1, "first", 5, &out), 0);
    publish(h, "a", "x#third");
    assert_int_equal(resolve(h, a, 1, "first", 5, &out), -1);
    assert_int_equal(resolve(h, a, 1, "second", 6, &out), 0);
    assert_id_equal(out, id2);
    jl_hist_free(h);
}

static void test_replay_merge_three_channels(void **state)
{
    (void)state;
    enc_t enc;
    jl_hist_t *h = hist_new(1000, BIG, 0, BIG, &enc);
    static const char *const chans[] = {"x", "y", "z", "unrelated"};
    jl_hist_id_t published[200];
    size_t np = 0;
    jl_rng_t rng = {4242};
    for (int i = 0; i < 240; i++) {
        size_t k = jl_rng_next(&rng) % 4;
        jl_hist_id_t id = publish(h, chans[k], "m");
        if (k < 3) {
            assert_true(np < 200);
            published[np++] = id;
        }
    }
    seen_t s;
    assert_int_equal(replay(h, chans, 3, (jl_hist_id_t){0, 0}, &s), np);
    for (size_t i = 0; i < np; i++)
        assert_id_equal(s.id[i], published[i]);
    /* From the middle: exactly the suffix. */
    size_t mid = np / 2;
    assert_int_equal(replay(h, chans, 3, published[mid], &s), np - mid - 1);
    for (size_t i = 0; i < s.n; i++)
        assert_id_equal(s.id[i], published[mid + 1 + i]);
    /* From between two ids (an id of the unrelated channel). */
    assert_int_equal(replay(h, chans, 3, (jl_hist_id_t){UINT64_MAX, 0}, &s), 0);
    assert_true(jl_hist_stats(h)->replayed >= np);

    /* An empty replay, and channels without a record. */
    const char *const none[] = {"nope", "p:zz*"};
    assert_int_equal(replay(h, none, 2, (jl_hist_id_t){0, 0}, &s), 0);
    assert_int_equal(replay(h, NULL, 0, (jl_hist_id_t){0, 0}, &s), 0);
    jl_hist_free(h);
}

static void test_replay_channel_and_pattern_once(void **state)
{
    (void)state;
    enc_t enc;
    jl_hist_t *h = hist_new(100, BIG, 0, BIG, &enc);
    jl_hist_id_t want[6];
    size_t nw = 0;
    for (int i = 0; i < 3; i++) {
        want[nw++] = publish(h, "news.a", "m");
        publish(h, "sport", "m");
        want[nw++] = publish(h, "news.b", "m");
    }
    seen_t s;
    const char *const names[] = {"news.a", "p:news.*", "news.a", "p:news.[ab]", "news.b"};
    assert_int_equal(replay(h, names, 5, (jl_hist_id_t){0, 0}, &s), nw);
    for (size_t i = 0; i < nw; i++)
        assert_id_equal(s.id[i], want[i]);
    const char *const only_a[] = {"news.a", "news.a"};
    assert_int_equal(replay(h, only_a, 2, (jl_hist_id_t){0, 0}, &s), 3);
    jl_hist_free(h);
}

static void test_gap_restart(void **state)
{
    (void)state;
    enc_t enc;
    jl_hist_t *h = hist_new(100, BIG, 0, BIG, &enc);
    jl_hist_id_t id = publish(h, "a", "m");
    long long lost;
    assert_int_equal(gap(h, "a", (jl_hist_id_t){1, 0}, &lost), JL_GAP_RESTART);
    assert_int_equal(lost, -1);
    assert_int_equal(gap(h, "nobody", (jl_hist_id_t){1, 0}, &lost), JL_GAP_RESTART);
    assert_int_equal(gap(h, "a", (jl_hist_id_t){0, 0}, &lost), JL_GAP_RESTART);
    assert_int_equal(gap_pattern(h, "*", (jl_hist_id_t){1, 0}, &lost), JL_GAP_RESTART);
    assert_int_equal(lost, -1);
    assert_int_equal(gap_pattern(h, "zzz*", (jl_hist_id_t){1, 0}, &lost), JL_GAP_RESTART);
    /* An id issued by this history is at or above the floor. */
    assert_int_equal(gap(h, "a", id, &lost), JL_GAP_NONE);
    assert_int_equal(gap(h, "nobody", id, &lost), JL_GAP_NONE);
    /* Ids are wall-clock ms: one second before the first is before the floor. */
    assert_int_equal(gap(h, "a", (jl_hist_id_t){id.ms - 1000, 0}, &lost), JL_GAP_RESTART);
    jl_hist_free(h);
}

static void test_gap_pattern(void **state)
{
    (void)state;
    enc_t enc;
    jl_hist_t *h = hist_new(2, BIG, 0, BIG, &enc);
    jl_hist_id_t start = publish(h, "start", "s");
    for (int i = 0; i < 5; i++)
        publish(h, "p.a", "m");     /* 3 evicted */
    jl_hist_id_t mid = publish(h, "mid", "m");
    for (int i = 0; i < 4; i++)
        publish(h, "p.b", "m");     /* 2 evicted */
    publish(h, "p.c", "m");         /* none evicted */
    long long lost;
    assert_int_equal(gap_pattern(h, "p.*", start, &lost), JL_GAP_EVICTED);
    assert_int_equal(lost, 5);
    assert_int_equal(gap_pattern(h, "p.[ac]", start, &lost), JL_GAP_EVICTED);
    assert_int_equal(lost, 3);
    assert_int_equal(gap_pattern(h, "p.c", start, &lost), JL_GAP_NONE);
    assert_int_equal(gap_pattern(h, "nothing*", start, &lost), JL_GAP_NONE);
    /* From mid: p.a's evictions were seen, p.b's all missed. */
    assert_int_equal(gap_pattern(h, "p.*", mid, &lost), JL_GAP_EVICTED);
    assert_int_equal(lost, 2);
    /* One channel with an inexact count makes the total inexact. */
    for (int i = 0; i < 3; i++)
        publish(h, "p.c", "m");     /* p.c: 2 evicted after 'mid'... */
    jl_hist_id_t in_c = publish(h, "p.c", "m");
    publish(h, "p.c", "m");
    publish(h, "p.c", "m");
    publish(h, "p.c", "m");         /* ...and, after in_c, one more evicted */
    assert_int_equal(gap(h, "p.c", in_c, &lost), JL_GAP_EVICTED);
    assert_int_equal(lost, -1);
    assert_int_equal(gap_pattern(h, "p.*", in_c, &lost), JL_GAP_EVICTED);
    assert_int_equal(lost, -1);
    jl_hist_free(h);
}

/* A channel whose record the memory cap forgot, published to again, gets a
 * fresh record with no evictions of its own; a stream resuming on it from
 * before the forgotten evictions must still hear of a gap: a record
 * remembers what 'forgotten' was when it was made (chan_gap's base). */
static void test_recreated_channel_keeps_its_losses(void **state)
{
    (void)state;
    enc_t enc;
    jl_hist_t *h = hist_new(16, BIG, 0, 16 * 1024, &enc);
    char p[1024];
    memset(p, 'b', sizeof p);
    jl_hist_id_t before = publish(h, "start", "s");
    publishn(h, "victim", p, sizeof p);
    for (int i = 0; i < 200; i++) {
        char name[16];
        snprintf(name, sizeof name, "f%d", i);
        publishn(h, name, p, sizeof p);
    }
    publish(h, "victim", "again");
    long long lost;
    /* The 1 KiB publish on victim after 'before' was evicted. */
    assert_int_equal(gap(h, "victim", before, &lost), JL_GAP_EVICTED);
    jl_hist_free(h);
}

/* Freeing with entries, records and stats in every state; NULLs are no-ops. */
static void test_free_everything(void **state)
{
    (void)state;
    jl_hist_free(NULL);
    jl_hist_replay_free(NULL);
    enc_t enc;
    jl_hist_t *h = hist_new(5, 300, 0, 4096, &enc);
    char p[100];
    memset(p, 'q', sizeof p);
    for (int i = 0; i < 200; i++) {
        char name[8];
        snprintf(name, sizeof name, "c%d", i % 13);
        publishn(h, name, p, (size_t)(i % 100));
    }
    jl_hist_replay_t *r = jl_hist_replay_new();
    jl_hist_replay_pattern(h, r, "*", 1);
    jl_hist_replay_free(r);
    jl_hist_free(h);
}

/* Randomised: after every operation bytes stay under the cap, entries never
 * exceed per_channel per channel, and replaying everything gives strictly
 * increasing ids. */
static void test_retention_random(void **state)
{
    (void)state;
    enc_t enc;
    jl_hist_t *h = hist_new(4, 600, 0, 8192, &enc);
    jl_rng_t rng = {99};
    char p[300];
    memset(p, 'r', sizeof p);
    jl_hist_id_t first = {0, 0};
    for (int i = 0; i < 3000; i++) {
        char name[8];
        snprintf(name, sizeof name, "r%u", (unsigned)(jl_rng_next(&rng) % 40));
        jl_hist_id_t id = publishn(h, name, p, (size_t)(jl_rng_next(&rng) % sizeof p));
        if (i == 0)
            first = id;
        const jl_hist_stats_t *st = jl_hist_stats(h);
        assert_true(st->bytes <= 8192);
        /* Every publish is either retained or counted as evicted. */
        assert_int_equal(st->entries + st->evicted, (unsigned long long)i + 1);
        assert_true(st->appended <= (unsigned long long)i + 1);
        if (i % 97 == 0) {
            seen_t s;
            const char *const all[] = {"p:*"};
            replay(h, all, 1, (jl_hist_id_t){0, 0}, &s);
            for (size_t k = 1; k < s.n; k++)
                assert_true(jl_hist_id_cmp(s.id[k - 1], s.id[k]) < 0);
            const char *const one[] = {name};
            assert_true(replay(h, one, 1, (jl_hist_id_t){0, 0}, &s) <= 4);
        }
    }
    long long lost;
    assert_int_equal(gap_pattern(h, "r*", first, &lost), JL_GAP_EVICTED);
    jl_hist_free(h);
}

/* ---- regressions: bugs these tests found, fixed in history.c ---- */

/* Distinct channels flood a memory cap: empty channel records must go
 * before entries, or they crowd out every entry and from then on each
 * publish evicts its own entry at once (it was, before the fix). */
static void test_flood_of_channels_keeps_entries(void **state)
{
    (void)state;
    enc_t enc;
    jl_hist_t *h = hist_new(16, BIG, 0, 256 * 1024, &enc);
    char p[1024];
    memset(p, 'k', sizeof p);
    jl_hist_id_t first = {0, 0};
    for (int i = 0; i < 10000; i++) {
        char name[32];
        snprintf(name, sizeof name, "flood:%d", i);
        jl_hist_id_t id = publishn(h, name, p, sizeof p);
        if (i == 0)
            first = id;
    }
    /* After the flood the history still keeps entries, also new ones. */
    for (int i = 0; i < 10; i++)
        publish(h, "flood:9999", "small");
    assert_true(jl_hist_stats(h)->entries > 0);
    assert_true(jl_hist_stats(h)->entries > 100);
    seen_t s;
    const char *const newest[] = {"flood:9999"};
    assert_int_equal(replay(h, newest, 1, first, &s), 11);
    jl_hist_free(h);
}

/* history-memory may be 0 (config min 0): a channel record alone is over
 * the cap, so not even the record being written to may stay. */
static void test_cap_below_one_record(void **state)
{
    (void)state;
    enc_t enc;
    jl_hist_t *h = hist_new(16, BIG, 0, 0, &enc);
    publish(h, "a", "x");
    assert_true(jl_hist_stats(h)->bytes <= 0);
    jl_hist_free(h);
}

/* An empty Last-Event-ID is no position; it must not match (memcmp of 0
 * bytes) every retained entry without a payload id. */
static void test_empty_text_resolves_nothing(void **state)
{
    (void)state;
    enc_t enc;
    jl_hist_t *h = hist_new(16, BIG, 0, BIG, &enc);
    publish(h, "a", "no app id");
    const char *const a[] = {"a"};
    jl_hist_id_t out;
    assert_int_equal(resolve(h, a, 1, "", 0, &out), -1);
    jl_hist_free(h);
}

/* ---- reading (XRANGE, XREAD) ---- */

#define READ_MAX 64

typedef struct read_out {
    const jl_hist_t *h;
    jl_hist_id_t id[READ_MAX];
    char payload[READ_MAX][32];
    size_t n;
} read_out_t;

static void on_read(void *ud, const jl_hist_entry_t *e)
{
    read_out_t *r = ud;
    assert_true(r->n < READ_MAX);
    jl_buf_t b = {0};
    jl_hist_payload(r->h, e, &b);
    assert_true(b.len < sizeof r->payload[0]);
    if (b.len)
        memcpy(r->payload[r->n], b.data, b.len);
    r->payload[r->n][b.len] = '\0';
    jl_buf_free(&b);
    r->id[r->n++] = e->id;
}

static size_t read_range(const jl_hist_t *h, const char *chan, jl_hist_id_t lo, jl_hist_id_t hi,
                         int rev, size_t count, read_out_t *out)
{
    memset(out, 0, sizeof *out);
    out->h = h;
    size_t n = jl_hist_range(h, chan, strlen(chan), lo, hi, rev, count, on_read, out);
    assert_int_equal(n, out->n);
    return n;
}

static const jl_hist_id_t ID_LO = {0, 0}, ID_HI = {UINT64_MAX, UINT64_MAX};

static void test_read_range(void **state)
{
    (void)state;
    enc_t enc;
    jl_hist_t *h = hist_new(16, BIG, 0, BIG, &enc);
    jl_hist_id_t a[5];
    char text[8];
    for (int i = 0; i < 5; i++) {
        snprintf(text, sizeof text, "a%d", i);
        a[i] = publish(h, "a", text);
        publish(h, "b", "other");
    }
    assert_int_equal(jl_hist_len(h, "a", 1), 5);
    assert_int_equal(jl_hist_len(h, "b", 1), 5);
    assert_int_equal(jl_hist_len(h, "zz", 2), 0);
    read_out_t r;
    assert_int_equal(read_range(h, "a", ID_LO, ID_HI, 0, 0, &r), 5);
    for (int i = 0; i < 5; i++) {
        assert_id_equal(r.id[i], a[i]);
        snprintf(text, sizeof text, "a%d", i);
        assert_string_equal(r.payload[i], text);
    }
    assert_int_equal(read_range(h, "a", ID_LO, ID_HI, 1, 0, &r), 5);
    for (int i = 0; i < 5; i++)
        assert_id_equal(r.id[i], a[4 - i]);
    /* Both bounds are inclusive; count stops the walk in its direction. */
    assert_int_equal(read_range(h, "a", a[1], a[3], 0, 0, &r), 3);
    assert_id_equal(r.id[0], a[1]);
    assert_int_equal(read_range(h, "a", a[1], a[3], 1, 2, &r), 2);
    assert_id_equal(r.id[0], a[3]);
    assert_id_equal(r.id[1], a[2]);
    assert_int_equal(read_range(h, "a", a[1], ID_HI, 0, 1, &r), 1);
    assert_id_equal(r.id[0], a[1]);
    assert_int_equal(read_range(h, "a", a[3], a[1], 0, 0, &r), 0);
    assert_int_equal(read_range(h, "a", a[3], a[1], 1, 0, &r), 0);
    assert_int_equal(read_range(h, "zz", ID_LO, ID_HI, 0, 0, &r), 0);
    /* Between two entries (an id of the other channel): nothing there. */
    jl_hist_id_t after4 = a[4];
    after4.seq++;
    assert_int_equal(read_range(h, "a", after4, ID_HI, 0, 0, &r), 0);
    jl_hist_free(h);
}

/* A payload the decoder gives back changed keeps a raw copy, counted in
 * the memory; one it gives back exactly keeps none. */
static void test_read_payload_raw_copy(void **state)
{
    (void)state;
    enc_t enc;
    jl_hist_t *h = hist_new(16, BIG, 0, BIG, &enc);
    publish(h, "a", "plain");
    size_t before = jl_hist_stats(h)->bytes;
    publish(h, "a", "pl\nin!");
    size_t plain_cost = jl_hist_stats(h)->bytes - before;
    before = jl_hist_stats(h)->bytes;
    publish(h, "a", "cr\r\nxy");
    size_t cr_cost = jl_hist_stats(h)->bytes - before;
    publishn(h, "a", "", 0);
    publishn(h, "a", "n\0ul", 5);
    /* The same frame size (6 bytes of payload each, ids within a digit);
     * the copy adds a frame header and the 6 bytes. */
    assert_true(cr_cost + 1 >= plain_cost + sizeof(jl_frame_t) + 6);
    read_out_t r;
    assert_int_equal(read_range(h, "a", ID_LO, ID_HI, 0, 0, &r), 5);
    assert_string_equal(r.payload[0], "plain");
    assert_string_equal(r.payload[1], "pl\nin!");
    assert_string_equal(r.payload[2], "cr\r\nxy");
    assert_string_equal(r.payload[3], "");
    assert_memory_equal(r.payload[4], "n\0ul", 5);
    jl_hist_free(h);
}

/* Without a decoder every kept entry has its copy. */
static void test_read_without_decoder(void **state)
{
    (void)state;
    enc_t enc;
    jl_hist_t *h = hist_new(16, BIG, 0, BIG, &enc);
    jl_hist_set_decoder(h, NULL, NULL);
    publish(h, "a", "x\r");
    publishn(h, "a", "", 0);
    read_out_t r;
    assert_int_equal(read_range(h, "a", ID_LO, ID_HI, 0, 0, &r), 2);
    assert_string_equal(r.payload[0], "x\r");
    assert_string_equal(r.payload[1], "");
    jl_hist_free(h);
}

typedef struct appends {
    size_t n;
    char last[16];
} appends_t;

static void on_append(void *ud, const char *chan, size_t len)
{
    appends_t *a = ud;
    a->n++;
    assert_true(len < sizeof a->last);
    memcpy(a->last, chan, len);
    a->last[len] = '\0';
}

/* Told of what is kept, not of what is not. */
static void test_read_on_append(void **state)
{
    (void)state;
    enc_t enc;
    appends_t seen = {0};
    jl_hist_t *h = hist_new(16, 64, 0, BIG, &enc);
    jl_hist_set_on_append(h, on_append, &seen);
    publish(h, "a", "x");
    assert_int_equal(seen.n, 1);
    assert_string_equal(seen.last, "a");
    publish(h, "bb", "y");
    assert_int_equal(seen.n, 2);
    assert_string_equal(seen.last, "bb");
    char big[100];
    memset(big, 'z', sizeof big);
    publishn(h, "a", big, sizeof big);      /* over channel_bytes: not kept */
    assert_int_equal(seen.n, 2);
    jl_hist_set_on_append(h, NULL, NULL);
    publish(h, "a", "x");
    assert_int_equal(seen.n, 2);
    jl_hist_free(h);
}

/* The raw copies travel through the history file. */
static void test_read_after_save_load(void **state)
{
    (void)state;
    enc_t enc;
    jl_hist_t *h = hist_new(16, BIG, 0, BIG, &enc);
    publish(h, "a", "one\rtwo");
    publish(h, "a", "plain");
    char path[] = "/tmp/test_history_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(jl_hist_save(h, path), 0);
    size_t bytes = jl_hist_stats(h)->bytes;
    jl_hist_free(h);
    h = hist_new(16, BIG, 0, BIG, &enc);
    size_t loaded = 0;
    assert_int_equal(jl_hist_load(h, path, &loaded), 0);
    unlink(path);
    assert_int_equal(loaded, 2);
    assert_int_equal(jl_hist_stats(h)->bytes, bytes);
    read_out_t r;
    assert_int_equal(read_range(h, "a", ID_LO, ID_HI, 0, 0, &r), 2);
    assert_string_equal(r.payload[0], "one\rtwo");
    assert_string_equal(r.payload[1], "plain");
    jl_hist_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_id_round_trip),
        cmocka_unit_test(test_id_parse_accepts),
        cmocka_unit_test(test_id_parse_rejects),
        cmocka_unit_test(test_id_cmp),
        cmocka_unit_test(test_gap_reason),
        cmocka_unit_test(test_publish_ids_increase_across_channels),
        cmocka_unit_test(test_publish_without_encoder_keeps_nothing),
        cmocka_unit_test(test_retention_count),
        cmocka_unit_test(test_retention_channel_bytes),
        cmocka_unit_test(test_retention_channel_bytes_keeps_one),
        cmocka_unit_test(test_retention_memory_cap_flood),
        cmocka_unit_test(test_retention_memory_cap_tiny),
        cmocka_unit_test(test_retention_per_channel_zero),
        cmocka_unit_test(test_retention_age),
        cmocka_unit_test(test_retention_random),
        cmocka_unit_test(test_resolve),
        cmocka_unit_test(test_resolve_app_id_evicted),
        cmocka_unit_test(test_replay_merge_three_channels),
        cmocka_unit_test(test_replay_channel_and_pattern_once),
        cmocka_unit_test(test_gap_restart),
        cmocka_unit_test(test_gap_pattern),
        cmocka_unit_test(test_free_everything),
        cmocka_unit_test(test_recreated_channel_keeps_its_losses),
        cmocka_unit_test(test_empty_text_resolves_nothing),
        cmocka_unit_test(test_flood_of_channels_keeps_entries),
        cmocka_unit_test(test_cap_below_one_record),
        cmocka_unit_test(test_read_range),
        cmocka_unit_test(test_read_payload_raw_copy),
        cmocka_unit_test(test_read_without_decoder),
        cmocka_unit_test(test_read_on_append),
        cmocka_unit_test(test_read_after_save_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
