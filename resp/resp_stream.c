/* resp_stream.c -- XRANGE, XREVRANGE, XLEN, XREAD on the history (see
 * resp_stream.h).
 *
 * Redis 7.0.15 is the reference, and the order of its checks is kept
 * (t_stream.c): XRANGE parses start, then end, then COUNT, and only then
 * looks at the key; XREAD parses its options left to right, then the ids
 * stream by stream. Stream ids are read the way Redis reads them, which is
 * looser than the history's own "ms-seq" (jl_hist_id_parse): Redis falls
 * back to strtoull, so " 5", "+5" and "007" are ids, and "1- -1" is 1 and
 * 2^64-1. A key "exists" while its channel keeps entries: Redis answers
 * differently for an empty stream and a missing key only where no
 * published channel can be empty (COUNT 0 on a stream whose entries were
 * all trimmed), and the history forgets empty channels anyway.
 *
 * A blocked XREAD waits on resp->xread_waits. Every append the history
 * makes is reported to on_append, which looks for waits on that channel:
 * O(blocked clients) per publish while any client is blocked, nothing
 * otherwise. Like Redis, the reply names only the stream that got data. */
#include "resp/resp_stream.h"
#include "resp/resp_writer.h"
#include "server/server.h"
#include "server/strconv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

/* Redis's XREAD_BLOCKED_DEFAULT_COUNT: a blocked reader without COUNT is
 * served at most this many entries per stream. */
#define BLOCKED_DEFAULT_COUNT 1000
/* Longer than this is forever (Redis's own arithmetic overflows there). */
#define MAX_TIMEOUT_MS (100LL * 365 * 86400 * 1000)

static const jl_hist_id_t ID_MIN = {0, 0};
static const jl_hist_id_t ID_MAX = {UINT64_MAX, UINT64_MAX};

static const char ERR_ID[] = "ERR Invalid stream ID specified as stream command argument";
static const char ERR_INT[] = "ERR value is not an integer or out of range";
static const char ERR_SYNTAX[] = "ERR syntax error";

struct jl_resp_xwait {
    jl_list_t node;             /* resp->xread_waits */
    jl_resp_client_t *c;
    ev_timer timer;             /* started unless the wait is forever */
    size_t count;               /* entries per stream in the reply */
    size_t nkeys;
    char **keys;
    size_t *lens;
    jl_hist_id_t *ids;          /* entries above ids[i] answer keys[i] */
};

static jl_hist_t *hist_of(const jl_resp_client_t *c) { return c->resp->srv->hist; }

static int arg_is(const char *arg, size_t len, const char *s)
{
    return len == strlen(s) && strncasecmp(arg, s, len) == 0;
}

/* ---- stream ids, Redis's way ---- */

/* Redis's string2ull: string2ll, else strtoull (leading spaces, a sign). */
static int parse_u64(const char *s, uint64_t *out)
{
    long long ll;
    if (jl_strtoll(s, strlen(s), &ll) == JL_OK) {
        if (ll < 0)
            return -1;
        *out = (uint64_t)ll;
        return 0;
    }
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno == EINVAL || errno == ERANGE || *s == '\0' || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

/* Redis's streamGenericParseIDOrReply: "-", "+" (unless strict), "ms" (seq
 * missing_seq) or "ms-seq". Redis reads a C string copy, so a NUL ends the
 * argument there. */
static int parse_id(const char *arg, size_t len, uint64_t missing_seq, int strict,
                    jl_hist_id_t *id)
{
    char buf[128];
    if (len > sizeof buf - 1)
        return -1;
    memcpy(buf, arg, len);
    buf[len] = '\0';
    int special = (buf[0] == '-' || buf[0] == '+') && buf[1] == '\0';
    if (special) {
        *id = buf[0] == '-' ? ID_MIN : ID_MAX;
        return strict ? -1 : 0;
    }
    char *dash = strchr(buf, '-');
    if (dash)
        *dash = '\0';
    id->seq = missing_seq;
    if (parse_u64(buf, &id->ms) < 0 || (dash && parse_u64(dash + 1, &id->seq) < 0))
        return -1;
    return 0;
}

/* Redis's streamParseIntervalIDOrReply: "(id" is exclusive (*ex = 1). */
static int parse_interval(const char *arg, size_t len, uint64_t missing_seq, jl_hist_id_t *id,
                          int *ex)
{
    *ex = len > 1 && arg[0] == '(';
    return *ex ? parse_id(arg + 1, len - 1, missing_seq, 1, id)
               : parse_id(arg, len, missing_seq, 0, id);
}

static int id_incr(jl_hist_id_t *id)
{
    if (id->seq < UINT64_MAX) {
        id->seq++;
        return 0;
    }
    if (id->ms == UINT64_MAX)
        return -1;
    *id = (jl_hist_id_t){id->ms + 1, 0};
    return 0;
}

static int id_decr(jl_hist_id_t *id)
{
    if (id->seq > 0) {
        id->seq--;
        return 0;
    }
    if (id->ms == 0)
        return -1;
    *id = (jl_hist_id_t){id->ms - 1, UINT64_MAX};
    return 0;
}

/* ---- entries ---- */

typedef struct emit {
    const jl_hist_t *h;
    jl_buf_t *out;
    jl_buf_t payload;           /* one entry's payload at a time */
} emit_t;

/* One stream entry: [id, ["data", payload]]. */
static void emit_entry(void *ud, const jl_hist_entry_t *e)
{
    emit_t *em = ud;
    char id[JL_HIST_ID_MAX];
    size_t n = jl_hist_id_format(e->id, id);
    em->payload.len = 0;
    jl_hist_payload(em->h, e, &em->payload);
    jl_resp_array(em->out, 2);
    jl_resp_bulk(em->out, id, n);
    jl_resp_array(em->out, 2);
    jl_resp_bulk_str(em->out, JL_RESP_STREAM_FIELD);
    jl_resp_bulk(em->out, em->payload.data ? em->payload.data : "", em->payload.len);
}

static void count_entry(void *ud, const jl_hist_entry_t *e)
{
    (void)e;
    (*(size_t *)ud)++;
}

/* The array of chan's entries with lo <= id <= hi (at most count, 0: all). */
static void reply_entries(const jl_hist_t *h, jl_buf_t *out, const char *chan, size_t len,
                          jl_hist_id_t lo, jl_hist_id_t hi, int rev, size_t count)
{
    size_t n = 0;
    jl_hist_range(h, chan, len, lo, hi, rev, count, count_entry, &n);
    jl_resp_array(out, n);
    emit_t em = {h, out, {0}};
    jl_hist_range(h, chan, len, lo, hi, rev, count, emit_entry, &em);
    jl_buf_free(&em.payload);
}

/* ---- XRANGE, XREVRANGE, XLEN ---- */

/* Redis's "[COUNT n]..." loop: the last COUNT wins, a negative one is 0,
 * *count stays -1 without any. Returns 0, or -1 with the error replied. */
static int parse_count_opts(size_t argc, const char *const *argv, const size_t *len,
                            jl_buf_t *reply, long long *count)
{
    for (size_t j = 4; j < argc; j++) {
        if (!arg_is(argv[j], len[j], "COUNT") || j + 1 >= argc) {
            jl_resp_error(reply, ERR_SYNTAX);
            return -1;
        }
        j++;
        if (jl_strtoll(argv[j], len[j], count) != JL_OK) {
            jl_resp_error(reply, ERR_INT);
            return -1;
        }
        if (*count < 0)
            *count = 0;
    }
    return 0;
}

void jl_resp_stream_range(jl_resp_client_t *c, size_t argc, const char *const *argv,
                          const size_t *len, jl_buf_t *reply, int rev)
{
    size_t si = rev ? 3 : 2, ei = rev ? 2 : 3;
    jl_hist_id_t lo, hi;
    int ex;
    long long count = -1;
    if (parse_interval(argv[si], len[si], 0, &lo, &ex) < 0) {
        jl_resp_error(reply, ERR_ID);
        return;
    }
    if (ex && id_incr(&lo) < 0) {
        jl_resp_error(reply, "ERR invalid start ID for the interval");
        return;
    }
    if (parse_interval(argv[ei], len[ei], UINT64_MAX, &hi, &ex) < 0) {
        jl_resp_error(reply, ERR_ID);
        return;
    }
    if (ex && id_decr(&hi) < 0) {
        jl_resp_error(reply, "ERR invalid end ID for the interval");
        return;
    }
    if (parse_count_opts(argc, argv, len, reply, &count) < 0)
        return;
    const jl_hist_t *h = hist_of(c);
    if (jl_hist_len(h, argv[1], len[1]) == 0)
        jl_resp_array(reply, 0);                /* no such key */
    else if (count == 0)
        jl_resp_null_array(reply, c->proto);
    else
        reply_entries(h, reply, argv[1], len[1], lo, hi, rev, count < 0 ? 0 : (size_t)count);
}

void jl_resp_stream_len(jl_resp_client_t *c, size_t argc, const char *const *argv,
                        const size_t *len, jl_buf_t *reply)
{
    (void)argc;
    jl_resp_integer(reply, (long long)jl_hist_len(hist_of(c), argv[1], len[1]));
}

/* ---- XREAD ---- */

typedef struct xread_req {
    long long timeout_ms;       /* -1: no BLOCK */
    long long count;            /* 0: no limit */
    size_t first_key, nkeys;
    jl_hist_id_t *ids;          /* nkeys, allocated by parse_ids */
} xread_req_t;

static int parse_block(const char *arg, size_t len, jl_buf_t *reply, long long *ms)
{
    if (jl_strtoll(arg, len, ms) != JL_OK) {
        jl_resp_error(reply, "ERR timeout is not an integer or out of range");
        return -1;
    }
    if (*ms < 0) {
        jl_resp_error(reply, "ERR timeout is negative");
        return -1;
    }
    return 0;
}

/* The options before the keys, left to right as in Redis's xreadCommand.
 * Returns 0, or -1 with the error replied. */
static int parse_options(size_t argc, const char *const *argv, const size_t *len,
                         jl_buf_t *reply, xread_req_t *r)
{
    for (size_t i = 1; i < argc; i++) {
        size_t more = argc - i - 1;
        if (arg_is(argv[i], len[i], "BLOCK") && more) {
            i++;
            if (parse_block(argv[i], len[i], reply, &r->timeout_ms) < 0)
                return -1;
        } else if (arg_is(argv[i], len[i], "COUNT") && more) {
            i++;
            if (jl_strtoll(argv[i], len[i], &r->count) != JL_OK) {
                jl_resp_error(reply, ERR_INT);
                return -1;
            }
            if (r->count < 0)
                r->count = 0;
        } else if (arg_is(argv[i], len[i], "STREAMS") && more) {
            if (more % 2 != 0) {
                jl_resp_error(reply, "ERR Unbalanced XREAD list of streams: for each stream key "
                                     "an ID or '$' must be specified.");
                return -1;
            }
            r->first_key = i + 1;
            r->nkeys = more / 2;
            return 0;
        } else if (arg_is(argv[i], len[i], "GROUP") && more >= 2) {
            jl_resp_error(reply, "ERR The GROUP option is only supported by XREADGROUP. You "
                                 "called XREAD instead.");
            return -1;
        } else if (arg_is(argv[i], len[i], "NOACK")) {
            jl_resp_error(reply, "ERR The NOACK option is only supported by XREADGROUP. You "
                                 "called XREAD instead.");
            return -1;
        } else {
            break;
        }
    }
    jl_resp_error(reply, ERR_SYNTAX);       /* no STREAMS */
    return -1;
}

/* "$" is the newest id issued: only what is published from now on is
 * above it, as only what is added is above a Redis stream's last id. */
static int parse_ids(const jl_resp_client_t *c, const char *const *argv, const size_t *len,
                     jl_buf_t *reply, xread_req_t *r)
{
    r->ids = jl_malloc(r->nkeys * sizeof *r->ids);
    for (size_t k = 0; k < r->nkeys; k++) {
        size_t i = r->first_key + r->nkeys + k;
        if (len[i] == 1 && argv[i][0] == '$') {
            r->ids[k] = jl_hist_last(hist_of(c));
            continue;
        }
        if (len[i] == 1 && argv[i][0] == '>') {
            jl_resp_error(reply, "ERR The > ID can be specified only when calling XREADGROUP "
                                 "using the GROUP <group> <consumer> option.");
            return -1;
        }
        if (parse_id(argv[i], len[i], 0, 1, &r->ids[k]) < 0) {
            jl_resp_error(reply, ERR_ID);
            return -1;
        }
    }
    return 0;
}

/* Has chan an entry above 'after'? */
static int has_after(const jl_hist_t *h, const char *chan, size_t len, jl_hist_id_t after)
{
    size_t n = 0;
    if (id_incr(&after) < 0)
        return 0;
    jl_hist_range(h, chan, len, after, ID_MAX, 0, 1, count_entry, &n);
    return n > 0;
}

/* An XREAD reply of n streams: an array of pairs (RESP2), a map (RESP3). */
static void reply_streams(jl_buf_t *out, int proto, size_t n)
{
    if (proto == 2)
        jl_resp_array(out, n);
    else
        jl_resp_map(out, proto, n);
}

/* One stream of an XREAD reply: key, then its entries above 'after'. In
 * RESP2 a [key, entries] pair, in RESP3 a map member. */
static void reply_stream(const jl_hist_t *h, jl_buf_t *out, int proto, const char *key,
                         size_t len, jl_hist_id_t after, size_t count)
{
    if (proto == 2)
        jl_resp_array(out, 2);
    jl_resp_bulk(out, key, len);
    id_incr(&after);    /* has_after said there is something above it */
    reply_entries(h, out, key, len, after, ID_MAX, 0, count);
}

/* Replies with every stream that has something; returns how many did. */
static size_t serve_now(const jl_resp_client_t *c, const char *const *argv, const size_t *len,
                        jl_buf_t *reply, const xread_req_t *r)
{
    const jl_hist_t *h = hist_of(c);
    size_t n = 0;
    for (size_t k = 0; k < r->nkeys; k++)
        n += has_after(h, argv[r->first_key + k], len[r->first_key + k], r->ids[k]);
    if (n == 0)
        return 0;
    reply_streams(reply, c->proto, n);
    for (size_t k = 0; k < r->nkeys; k++) {
        const char *key = argv[r->first_key + k];
        size_t klen = len[r->first_key + k];
        if (has_after(h, key, klen, r->ids[k]))
            reply_stream(h, reply, c->proto, key, klen, r->ids[k], (size_t)r->count);
    }
    return n;
}

static void wait_free(jl_resp_client_t *c)
{
    struct jl_resp_xwait *w = c->xread;
    ev_timer_stop(c->resp->srv->loop, &w->timer);
    jl_list_remove(&w->node);
    c->resp->nblocked--;
    for (size_t k = 0; k < w->nkeys; k++)
        free(w->keys[k]);
    free(w->keys);
    free(w->lens);
    free(w->ids);
    free(w);
    c->xread = NULL;
}

/* Sends what ends the wait (CLIENT REPLY OFF: nothing), then lets the
 * client's pending input run. */
static void wait_answer(jl_resp_client_t *c, const jl_buf_t *b)
{
    wait_free(c);
    if (!(c->flags & JL_RESP_REPLY_OFF))
        jl_conn_append(&c->conn, b->data, b->len);
    jl_conn_resume(&c->conn);
}

static void on_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    struct jl_resp_xwait *w = JL_CONTAINER_OF(t, struct jl_resp_xwait, timer);
    jl_buf_t b = {0};
    jl_resp_null_array(&b, w->c->proto);
    wait_answer(w->c, &b);
    jl_buf_free(&b);
}

static void block(jl_resp_client_t *c, const char *const *argv, const size_t *len,
                  xread_req_t *r)
{
    struct jl_resp_xwait *w = jl_calloc(1, sizeof *w);
    w->c = c;
    w->count = r->count ? (size_t)r->count : BLOCKED_DEFAULT_COUNT;
    w->nkeys = r->nkeys;
    w->keys = jl_malloc(r->nkeys * sizeof *w->keys);
    w->lens = jl_malloc(r->nkeys * sizeof *w->lens);
    for (size_t k = 0; k < r->nkeys; k++) {
        w->lens[k] = len[r->first_key + k];
        w->keys[k] = jl_malloc(w->lens[k] + 1);
        memcpy(w->keys[k], argv[r->first_key + k], w->lens[k]);
    }
    w->ids = r->ids;
    r->ids = NULL;
    ev_timer_init(&w->timer, on_timeout, (double)r->timeout_ms / 1000.0, 0.);
    if (r->timeout_ms > 0 && r->timeout_ms <= MAX_TIMEOUT_MS)
        ev_timer_start(c->resp->srv->loop, &w->timer);
    jl_list_push(&c->resp->xread_waits, &w->node);
    c->resp->nblocked++;
    c->xread = w;
}

void jl_resp_stream_read(jl_resp_client_t *c, size_t argc, const char *const *argv,
                         const size_t *len, jl_buf_t *reply)
{
    xread_req_t r = {.timeout_ms = -1};
    if (parse_options(argc, argv, len, reply, &r) < 0)
        return;
    if (parse_ids(c, argv, len, reply, &r) < 0)
        goto out;
    if (serve_now(c, argv, len, reply, &r) > 0)
        goto out;
    /* Inside EXEC nothing may block (Redis's DENY_BLOCKING): as a timeout. */
    if (r.timeout_ms < 0 || (c->flags & JL_RESP_IN_EXEC))
        jl_resp_null_array(reply, c->proto);
    else
        block(c, argv, len, &r);
out:
    free(r.ids);
}

/* ---- waking ---- */

/* The first key of w that is chan and has something new, or nkeys. */
static size_t ready_key(const jl_hist_t *h, const struct jl_resp_xwait *w, const char *chan,
                        size_t len)
{
    for (size_t k = 0; k < w->nkeys; k++)
        if (w->lens[k] == len && memcmp(w->keys[k], chan, len) == 0 &&
            has_after(h, chan, len, w->ids[k]))
            return k;
    return w->nkeys;
}

static void on_append(void *ud, const char *chan, size_t len)
{
    jl_resp_t *resp = ud;
    const jl_hist_t *h = resp->srv->hist;
    JL_LIST_FOREACH_SAFE(&resp->xread_waits, it, tmp) {
        struct jl_resp_xwait *w = JL_CONTAINER_OF(it, struct jl_resp_xwait, node);
        size_t k = ready_key(h, w, chan, len);
        if (k == w->nkeys || w->c->conn.closing)
            continue;
        jl_buf_t b = {0};
        reply_streams(&b, w->c->proto, 1);
        reply_stream(h, &b, w->c->proto, w->keys[k], w->lens[k], w->ids[k], w->count);
        wait_answer(w->c, &b);
        jl_buf_free(&b);
    }
}

void jl_resp_stream_forget(jl_resp_client_t *c)
{
    if (c->xread != NULL)
        wait_free(c);
}

void jl_resp_stream_init(jl_resp_t *resp)
{
    jl_list_init(&resp->xread_waits);
    jl_hist_set_on_append(resp->srv->hist, on_append, resp);
}

void jl_resp_stream_fini(jl_resp_t *resp)
{
    jl_hist_set_on_append(resp->srv->hist, NULL, NULL);
}
