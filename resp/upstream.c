/* upstream.c -- the bridge to an upstream Redis (or a jugglite hub).
 *
 * Several jugglite nodes share channels by all holding one connection to the
 * same upstream. This file owns that connection: an outgoing jl_conn_t
 * speaking RESP3, flushed and read by the server's loop like any other
 * connection, plus a FIFO of the commands still waiting for a reply. It
 * installs itself as the server's relay (server/relay.h), so publishers
 * never know it exists: a local PUBLISH is forwarded and answered when the
 * upstream replies. It owns nothing else: local subscribers stay in the
 * registry, which tells us (watch callback) when a name gets its first local
 * subscriber or loses its last one.
 *
 * What goes over the wire (encoded with resp_writer):
 *   - HELLO 3 [AUTH user pass] SETNAME jugglite-bridge, then every held name
 *     in one pipeline (SUBSCRIBE / PSUBSCRIBE / SSUBSCRIBE with many names);
 *   - one (P|S)SUBSCRIBE per name that gains its first local subscriber, one
 *     (P|S)UNSUBSCRIBE per name unused for --upstream-linger seconds;
 *   - PUBLISH / SPUBLISH forwarded for local publishers, and PING after a
 *     silence so that a hung upstream is noticed;
 *   - with the shared history (upstream_history.h): FUNCTION LOAD and
 *     SUBSCRIBE jugglite:ids right after HELLO, a catch-up read after the
 *     resubscription, FCALL jugglite_publish instead of PUBLISH, and one
 *     FCALL jugglite_read per resuming stream. The announcements number the
 *     pushes that follow them (pushed_id); pushes that come while the
 *     catch-up read is out are held, then delivered after it.
 * What comes back: replies, matched FIFO to HELLO, PUBLISH and PING (RESP3
 * subscribe confirmations are pushes, not replies), and pushes: subscription
 * confirmations and messages. Each local name has its own upstream
 * subscription, so a "message" goes to the exact subscribers of its channel
 * only and a "pmessage" to the subscribers of its pattern only: the upstream
 * has done the matching, and nothing is delivered twice.
 *
 * The connection's life:
 *
 *   DOWN --backoff timer--> CONNECTING --connected--> HANDSHAKE --HELLO ok--> UP
 *     ^                         |                         |                   |
 *     +---- refused, timeout, bad data, reply timeout, closed by peer --------+
 *   (any) --relay shutdown--> CLOSED
 *
 * Every way down goes through lost(), which lets go of the connection,
 * answers the waiting publishers with an error, forgets what the upstream
 * had confirmed and arms the backoff timer. A connection that fails on its
 * own (peer gone, write error) says so through on_close, which ends in
 * lost() too. Transitions are logged once (up, lost, still unreachable),
 * never once per retry.
 *
 * Per held name we keep (up_name_t): whether it has local subscribers,
 * whether it lingers (no local subscriber, unsubscribe pending a deadline),
 * whether a SUBSCRIBE was sent on this connection, and how many subscribe /
 * unsubscribe confirmations are still due. A name is confirmed when it was
 * subscribed and no subscribe confirmation is due; counting them (rather
 * than a flag) keeps a quick SUBSCRIBE, UNSUBSCRIBE, SUBSCRIBE sequence
 * right. Invariant: a name exists iff it is held (local or lingering) or a
 * confirmation is still due; the counters in jl_upstream_t always match
 * what name_settle() last saw. */
#include "resp/upstream.h"
#include "resp/redis_url.h"
#include "resp/resp_parser.h"
#include "resp/resp_writer.h"
#include "resp/upstream_count.h"
#include "resp/upstream_history.h"
#include "resp/upstream_presence.h"
#include "server/lifecycle.h"
#include "server/glob.h"
#include "server/history.h"
#include "server/htable.h"
#include "server/log.h"
#include "server/rand.h"
#include "server/server.h"
#include "server/siphash.h"

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>

#define CONNECT_TIMEOUT 5.0     /* TCP connect + HELLO reply, seconds */
#define PING_AFTER 10.0         /* silence before we ask "are you there?" */
#define REPLY_TIMEOUT 15.0      /* oldest unanswered command: the upstream hangs */
#define NAMES_PER_COMMAND 1024  /* resubscribe pipeline: names per SUBSCRIBE */

typedef enum { ST_DOWN, ST_CONNECTING, ST_HANDSHAKE, ST_UP, ST_CLOSED } up_state_t;

typedef enum {
    WAIT_HELLO, WAIT_PUBLISH, WAIT_PING,
    WAIT_SCRIPT,            /* FUNCTION LOAD of the shared history's library */
    WAIT_READ,              /* a stream's resume read */
    WAIT_CATCHUP,           /* the bridge's own read when its link came up */
    WAIT_COUNT,             /* the PUBSUB NUMSUB before a count question (upstream_count.h) */
    WAIT_PRESENCE           /* the presence library's load and calls (upstream_presence.h) */
} wait_kind_t;

/* One command waiting for its reply, in send order. */
typedef struct {
    jl_relay_done_fn done;  /* NULL: nobody waits (fire and forget, or cancelled) */
    jl_relay_history_fn hdone;  /* WAIT_READ's, likewise */
    void *ud;
    uint8_t kind;           /* wait_kind_t */
    uint8_t from_known;     /* reads: 'from' is an id */
    size_t nnames;          /* reads: names asked for */
    uint64_t req;           /* WAIT_COUNT: the question */
    jl_hist_id_t from;
    double sent;
} waiter_t;

/* A push that arrived while the bridge was catching up, delivered after. */
typedef struct held {
    struct held *next;
    int has_id, shard, keep;
    jl_hist_id_t id;
    size_t chan_len, payload_len, pattern_len;
    int has_pattern;
    char bytes[];           /* chan, payload, pattern */
} held_t;

typedef struct up_name {
    jl_hlink_t link;        /* in u->names */
    jl_list_t lingering;    /* in u->lingering (deadline order) while lingering */
    double linger_until;
    uint32_t subs_due;      /* subscribe confirmations still expected */
    uint32_t unsubs_due;    /* unsubscribe confirmations still expected */
    uint8_t ns;
    uint8_t local;          /* the registry has subscribers */
    uint8_t subscribed;     /* SUBSCRIBE sent on this connection, no UNSUBSCRIBE since */
    uint8_t on;             /* as the upstream sees it: subscribe confirmed, unsubscribe not */
    jl_list_t in_on;        /* u->on_patterns while a pattern is on */
    uint8_t counted_held, counted_unconfirmed;  /* what the counters reflect */
    size_t len;
    char bytes[];
} up_name_t;

/* One connection attempt's socket. The bridge lets go of it (u = NULL)
 * when it gives up on it; its memory goes with the deferred free. */
typedef struct up_conn {
    jl_conn_t conn;
    jl_upstream_t *u;
} up_conn_t;

struct jl_upstream {
    jl_relay_t relay;       /* installed as srv->relay */
    jl_server_t *srv;
    up_state_t state;
    jl_redis_url_t url;
    jl_tls_t *tls;          /* rediss://: the client context; NULL: plain */
    up_conn_t *link;        /* the connection, or NULL while down */
    jl_buf_t cmd;           /* scratch: one command being encoded */
    ev_timer timer;         /* backoff wait, or the connect/handshake deadline */
    ev_timer tick;          /* lingers, keepalive PING, reply timeout */
    waiter_t *fifo;         /* ring buffer, cap a power of two */
    size_t fifo_head, fifo_count, fifo_cap;
    double last_rx;
    int progress;           /* a subscription got confirmed during this input batch */
    int synced;             /* up, and what was held at connection time is confirmed */
    /* names */
    jl_htable_t names;
    uint8_t key[16];
    jl_list_t lingering;
    size_t nheld[JL_NS_COUNT];
    size_t nunconfirmed;
    size_t nlingering;
    /* reconnecting */
    unsigned attempts;      /* failed attempts since the last time up */
    int logged_down;        /* "down" said once; stays quiet until up again */
    int ever_up;
    double down_since;
    jl_rng_t rng;           /* backoff jitter */
    char last_error[160];
    /* the shared history (upstream_history.h) */
    int history;            /* --history-size > 0: ask for it */
    int shared;             /* the library is loaded on this connection */
    int library_due;        /* a FUNCTION LOAD awaits its reply */
    jl_list_t on_patterns;  /* patterns the upstream has confirmed */
    jl_hist_id_t done_id;   /* the newest announced id whose pushes all arrived */
    int clock_known;        /* done_id was learned from the upstream */
    struct {
        char *chan;
        size_t len, cap;
        jl_hist_id_t id;
        uint32_t left;      /* pushes of that publish still to come */
        int kept;           /* the first of them was kept in the local history */
    } pend;
    int catching;           /* a catch-up read is out: pushes are held */
    held_t *held, **held_tail;
    int gap_due;            /* the link was up, then lost: announce a gap once back */
    int draining;           /* shutting down: the link stays until publishers are answered */
    jl_upc_t counts;        /* JUGGLITE NUMSUB questions in flight */
    /* cluster occupancy (upstream_presence.h), with --lifecycle-events */
    jl_upp_t presence;      /* changes not sent yet */
    int presence_on;        /* the library is loaded and our set synced on this link */
    int presence_failed;    /* the upstream refused it on this link */
    int presence_warned;    /* ... and the log said so (once) */
    double presence_renew;  /* when to renew our key next */
    ev_timer presence_soon; /* sends the changes on the next loop iteration */
    jl_buf_t count_chan;    /* scratch: a count answer's channel */
    /* INFO */
    unsigned long long reconnects, messages_in, messages_out, publishes_dropped;
    unsigned long long ids_in, caught_up, resumes;
};

static void lost(jl_upstream_t *u, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void relay_finish(jl_upstream_t *u, const char *why);
static void release_held(jl_upstream_t *u, int skip_upto, jl_hist_id_t upto);
static void send_subscribe(jl_upstream_t *u, jl_ns_t ns, up_name_t **names, size_t n, int sub);

static double now_of(const jl_upstream_t *u) { return ev_now(u->srv->loop); }
static int connected(const jl_upstream_t *u) { return u->state == ST_HANDSHAKE || u->state == ST_UP; }

/* ---- names: a small keyed hash set with per-name state ---- */

static int name_held(const up_name_t *n) { return n->local || jl_list_linked(&n->lingering); }
static int name_confirmed(const up_name_t *n) { return n->subscribed && n->subs_due == 0; }

static uint64_t name_hash(const jl_upstream_t *u, jl_ns_t ns, const char *p, size_t len)
{
    return jl_siphash(p, len, u->key) ^ (uint64_t)ns;
}

static up_name_t *name_of(jl_hlink_t *l) { return JL_CONTAINER_OF(l, up_name_t, link); }

static up_name_t *name_find(const jl_upstream_t *u, jl_ns_t ns, const char *p, size_t len)
{
    uint64_t h = name_hash(u, ns, p, len);
    for (jl_hlink_t *l = jl_htable_chain(&u->names, h); l; l = l->next) {
        up_name_t *n = name_of(l);
        if (l->hash == h && n->ns == ns && n->len == len && memcmp(n->bytes, p, len) == 0)
            return n;
    }
    return NULL;
}

static up_name_t *name_get(jl_upstream_t *u, jl_ns_t ns, const char *p, size_t len)
{
    up_name_t *n = name_find(u, ns, p, len);
    if (n)
        return n;
    n = jl_calloc(1, sizeof *n + len + 1);
    n->link.hash = name_hash(u, ns, p, len);
    n->ns = (uint8_t)ns;
    n->len = len;
    memcpy(n->bytes, p, len);
    jl_htable_insert(&u->names, &n->link);
    return n;
}

/* What the upstream says: n's subscription is on (or off) from here on in
 * the stream of pushes. Patterns that are on are listed, to count matches. */
static void name_set_on(jl_upstream_t *u, up_name_t *n, int on)
{
    if (n->ns == JL_NS_PATTERN && on && !n->on)
        jl_list_push(&u->on_patterns, &n->in_on);
    else if (n->ns == JL_NS_PATTERN && !on && n->on)
        jl_list_remove(&n->in_on);
    n->on = (uint8_t)on;
}

static void name_unlink(jl_upstream_t *u, up_name_t *n)
{
    name_set_on(u, n, 0);
    jl_htable_remove(&u->names, &n->link);
}

static void count_change(size_t *counter, int was, int now)
{
    if (now && !was)
        (*counter)++;
    else if (was && !now)
        (*counter)--;
}

/* Call after any change to n: brings the counters in line with it, reports
 * a new confirmation, and frees n once nobody needs it. */
static void name_settle(jl_upstream_t *u, up_name_t *n)
{
    int held = name_held(n);
    int unconfirmed = held && !name_confirmed(n);

    count_change(&u->nheld[n->ns], n->counted_held, held);
    count_change(&u->nunconfirmed, n->counted_unconfirmed, unconfirmed);
    if (n->counted_unconfirmed && !unconfirmed && held)
        u->progress = 1;
    n->counted_held = (uint8_t)held;
    n->counted_unconfirmed = (uint8_t)unconfirmed;
    if (u->state == ST_UP && u->nunconfirmed == 0)
        u->synced = 1;
    if (held || n->subs_due || n->unsubs_due)
        return;
    name_unlink(u, n);
    free(n);
}

static void linger_stop(jl_upstream_t *u, up_name_t *n)
{
    if (!jl_list_linked(&n->lingering))
        return;
    jl_list_remove(&n->lingering);
    u->nlingering--;
}

/* The linger is over: let go of the upstream subscription. */
static int is_ids_channel(jl_ns_t ns, const char *p, size_t len)
{
    return ns == JL_NS_CHANNEL && len == JL_UPH_IDS_LEN && memcmp(p, JL_UPH_IDS, len) == 0;
}

static void linger_expire(jl_upstream_t *u, up_name_t *n)
{
    linger_stop(u, n);
    /* The bridge's own subscriptions (the announcements, the counts) stay. */
    int ours = (u->history && is_ids_channel((jl_ns_t)n->ns, n->bytes, n->len)) ||
               (n->ns == JL_NS_CHANNEL && jl_upc_is_channel(n->bytes, n->len));
    if (n->subscribed && connected(u) && !ours) {
        n->subscribed = 0;
        n->unsubs_due++;
        send_subscribe(u, (jl_ns_t)n->ns, &n, 1, 0);
    }
    name_settle(u, n);
}

/* Registry watch: first local subscriber of a name, or last one gone. */
static void upstream_on_watch(void *ud, jl_ns_t ns, const char *name, size_t len, int added)
{
    jl_upstream_t *u = ud;
    up_name_t *n = name_get(u, ns, name, len);

    /* Sent from the tick (not from inside the registry); before the link is
     * up, the sync at the next connection says it all. */
    if (u->presence_on && !jl_lifecycle_reserved(name, len)) {
        jl_upp_push(&u->presence, ns, name, len, added);
        if (!ev_is_active(&u->presence_soon))
            ev_timer_start(u->srv->loop, &u->presence_soon);
    }
    n->local = (uint8_t)added;
    if (added) {
        linger_stop(u, n);      /* a page reload: the subscription never left */
        if (!n->subscribed && connected(u)) {
            n->subscribed = 1;
            n->subs_due++;
            send_subscribe(u, ns, &n, 1, 1);
        }
    } else if (!jl_list_linked(&n->lingering)) {
        /* Deadlines only grow, so the list stays sorted; the tick expires
         * them, even a linger of 0 (which keeps sends out of registry
         * callbacks that run while connections are being freed). */
        n->linger_until = now_of(u) + u->srv->cfg->upstream_linger;
        jl_list_push(&u->lingering, &n->lingering);
        u->nlingering++;
    }
    name_settle(u, n);
}

typedef struct {
    jl_upstream_t *u;
    jl_ns_t ns;
} adopt_ctx_t;

static void adopt_name(void *ud, const char *name, size_t len)
{
    adopt_ctx_t *a = ud;
    upstream_on_watch(a->u, a->ns, name, len, 1);
}

/* ---- output ---- */

/* Queues one command on the connection (the loop's flush writes it). */
static void send_command(jl_upstream_t *u, size_t argc, const char *const *argv, const size_t *lens)
{
    if (u->link == NULL)
        return;
    u->cmd.len = 0;
    jl_resp_command(&u->cmd, argc, argv, lens);
    jl_conn_append(&u->link->conn, u->cmd.data, u->cmd.len);
    if (u->cmd.cap > 65536)
        jl_buf_free(&u->cmd);
}

/* Queues what is encoded in u->cmd. */
static void send_encoded(jl_upstream_t *u)
{
    if (u->link != NULL)
        jl_conn_append(&u->link->conn, u->cmd.data, u->cmd.len);
    if (u->cmd.cap > 65536)
        jl_buf_free(&u->cmd);
}

/* The same with NUL-terminated words. */
static void send_words(jl_upstream_t *u, size_t argc, const char *const *argv)
{
    size_t lens[8];
    for (size_t i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    send_command(u, argc, argv, lens);
}

static void fifo_push(jl_upstream_t *u, wait_kind_t kind, jl_relay_done_fn done, void *ud)
{
    if (u->fifo_count == u->fifo_cap) {
        size_t cap = u->fifo_cap ? u->fifo_cap * 2 : 16;
        waiter_t *f = jl_malloc(cap * sizeof *f);
        for (size_t i = 0; i < u->fifo_count; i++)
            f[i] = u->fifo[(u->fifo_head + i) & (u->fifo_cap - 1)];
        free(u->fifo);
        u->fifo = f;
        u->fifo_cap = cap;
        u->fifo_head = 0;
    }
    waiter_t *w = &u->fifo[(u->fifo_head + u->fifo_count++) & (u->fifo_cap - 1)];
    *w = (waiter_t){.done = done, .ud = ud, .kind = (uint8_t)kind, .sent = now_of(u)};
}

/* The waiter fifo_push just queued. */
static waiter_t *fifo_last(jl_upstream_t *u)
{
    return &u->fifo[(u->fifo_head + u->fifo_count - 1) & (u->fifo_cap - 1)];
}

static waiter_t *fifo_peek(jl_upstream_t *u)
{
    return u->fifo_count ? &u->fifo[u->fifo_head] : NULL;
}

static waiter_t fifo_pop(jl_upstream_t *u)
{
    waiter_t w = u->fifo[u->fifo_head];
    u->fifo_head = (u->fifo_head + 1) & (u->fifo_cap - 1);
    u->fifo_count--;
    return w;
}

static const char *const sub_cmd[JL_NS_COUNT] = {"SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE"};
static const char *const unsub_cmd[JL_NS_COUNT] = {"UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE"};

static void send_subscribe(jl_upstream_t *u, jl_ns_t ns, up_name_t **names, size_t n, int sub)
{
    const char **argv = jl_malloc((n + 1) * sizeof *argv);
    size_t *lens = jl_malloc((n + 1) * sizeof *lens);
    argv[0] = sub ? sub_cmd[ns] : unsub_cmd[ns];
    lens[0] = strlen(argv[0]);
    for (size_t i = 0; i < n; i++) {
        argv[i + 1] = names[i]->bytes;
        lens[i + 1] = names[i]->len;
    }
    send_command(u, n + 1, argv, lens);
    free(argv);
    free(lens);
}

static void send_hello(jl_upstream_t *u)
{
    const jl_redis_url_t *url = &u->url;
    if (url->pass) {
        const char *argv[] = {"HELLO", "3", "AUTH", url->user ? url->user : "default", url->pass,
                              "SETNAME", "jugglite-bridge"};
        send_words(u, JL_ARRAY_LEN(argv), argv);
    } else {
        const char *argv[] = {"HELLO", "3", "SETNAME", "jugglite-bridge"};
        send_words(u, JL_ARRAY_LEN(argv), argv);
    }
    fifo_push(u, WAIT_HELLO, NULL, NULL);
}

/* After HELLO: every held name, NAMES_PER_COMMAND to a command. */
static void resubscribe_all(jl_upstream_t *u)
{
    up_name_t *batch[NAMES_PER_COMMAND];

    for (int ns = 0; ns < JL_NS_COUNT; ns++) {
        size_t k = 0;
        for (size_t i = 0; i < u->names.size; i++) {
            for (jl_hlink_t *l = u->names.slot[i]; l; l = l->next) {
                up_name_t *n = name_of(l);
                if (n->ns != ns || !name_held(n))
                    continue;
                n->subscribed = 1;
                n->subs_due++;
                batch[k++] = n;
                if (k == NAMES_PER_COMMAND) {
                    send_subscribe(u, (jl_ns_t)ns, batch, k, 1);
                    k = 0;
                }
            }
        }
        if (k)
            send_subscribe(u, (jl_ns_t)ns, batch, k, 1);
    }
}

/* ---- answering publishers ---- */

static void answer_error(waiter_t *w, const char *text)
{
    if (w->hdone != NULL) {
        jl_relay_history_t h = {.error = text, .error_len = strlen(text)};
        w->hdone(w->ud, &h);
    }
    if (w->done == NULL)
        return;
    jl_relay_reply_t reply = {.error = text, .error_len = strlen(text)};
    w->done(w->ud, &reply);
}

/* Answers every waiting publisher with 'text'. The FIFO is detached first,
 * so that anything an answer sets off sees the bridge as it is now. */
static void fail_waiters(jl_upstream_t *u, const char *text)
{
    waiter_t *fifo = u->fifo;
    size_t head = u->fifo_head, count = u->fifo_count, cap = u->fifo_cap;

    u->fifo = NULL;
    u->fifo_head = u->fifo_count = u->fifo_cap = 0;
    for (size_t i = 0; i < count; i++)
        answer_error(&fifo[(head + i) & (cap - 1)], text);
    free(fifo);
    jl_upc_fail_all(&u->counts, text);
}

/* ---- counts across nodes (upstream_count.h) ---- */

static void send_count_setup(jl_upstream_t *u)
{
    u->count_chan.len = 0;
    jl_buf_printf(&u->count_chan, "%s:%s", JL_UPC_REQUESTS, u->srv->run_id);
    const char *argv[] = {"SUBSCRIBE", JL_UPC_REQUESTS, u->count_chan.data};
    size_t lens[] = {9, JL_UPC_REQUESTS_LEN, u->count_chan.len};
    send_command(u, 3, argv, lens);
}

/* A message on a count channel: a question to answer, or an answer to ours. */
static void on_count_message(jl_upstream_t *u, const jl_resp_value_t *chan,
                             const jl_resp_value_t *payload)
{
    if (chan->len != JL_UPC_REQUESTS_LEN) {
        jl_upc_on_answer(&u->counts, payload->str, payload->len);
        return;
    }
    jl_buf_t answer = {0};
    if (!u->draining && jl_upc_answer(u->srv->reg, u->srv->run_id, payload->str, payload->len,
                                      &u->count_chan, &answer) == 0) {
        const char *argv[] = {"PUBLISH", u->count_chan.data, answer.data ? answer.data : ""};
        size_t lens[] = {7, u->count_chan.len, answer.len};
        send_command(u, 3, argv, lens);
        fifo_push(u, WAIT_PUBLISH, NULL, NULL);
    }
    jl_buf_free(&answer);
}

/* ---- cluster occupancy (upstream_presence.h) ---- */

static double presence_ttl(const jl_upstream_t *u) { return u->srv->cfg->presence_ttl; }

/* Loads the library and hands Redis our whole set: at each connection, and
 * when --lifecycle-events is turned on by a reload. */
static void presence_start(jl_upstream_t *u)
{
    jl_upp_clear(&u->presence);
    u->cmd.len = 0;
    jl_upp_load_command(&u->cmd);
    send_encoded(u);
    fifo_push(u, WAIT_PRESENCE, NULL, NULL);
    u->cmd.len = 0;
    jl_upp_sync_command(&u->cmd, u->srv->reg, u->srv->run_id, presence_ttl(u));
    send_encoded(u);
    fifo_push(u, WAIT_PRESENCE, NULL, NULL);
    u->presence_on = 1;
    u->presence_renew = now_of(u) + presence_ttl(u) / 3;
}

/* Lets go of every name at once (a clean exit, events turned off). */
static void presence_stop(jl_upstream_t *u)
{
    if (!u->presence_on)
        return;
    u->presence_on = 0;
    jl_upp_clear(&u->presence);
    if (!connected(u))
        return;
    u->cmd.len = 0;
    jl_upp_gone_command(&u->cmd, u->srv->run_id);
    send_encoded(u);
    fifo_push(u, WAIT_PRESENCE, NULL, NULL);
}

/* What changed since the last call, in batches. */
static void presence_send(jl_upstream_t *u)
{
    while (u->presence_on && u->state == ST_UP) {
        u->cmd.len = 0;
        if (jl_upp_change_command(&u->cmd, &u->presence, u->srv->run_id, presence_ttl(u)) == 0)
            break;
        send_encoded(u);
        fifo_push(u, WAIT_PRESENCE, NULL, NULL);
    }
}

/* The iteration after a change (never from inside the registry's
 * callbacks): the sooner Redis knows, the narrower the window in which
 * two nodes' changes cross. */
static void presence_on_soon(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    presence_send(JL_CONTAINER_OF(w, jl_upstream_t, presence_soon));
}

/* From the tick, while up: events turned on or off by a reload, anything
 * left to send, the key renewed (and the sweep of nodes that died) a third
 * of the ttl before it expires. */
static void presence_tick(jl_upstream_t *u, double now)
{
    int want = u->srv->cfg->lifecycle_events && !u->presence_failed;
    if (want && !u->presence_on)
        presence_start(u);
    else if (!want && u->presence_on)
        presence_stop(u);
    if (!u->presence_on)
        return;
    presence_send(u);
    if (now < u->presence_renew)
        return;
    u->presence_renew = now + presence_ttl(u) / 3;
    u->cmd.len = 0;
    jl_upp_alive_command(&u->cmd, u->srv->run_id, presence_ttl(u));
    send_encoded(u);
    fifo_push(u, WAIT_PRESENCE, NULL, NULL);
}

/* ---- the shared history (upstream_history.h) ---- */

/* Names with local subscribers, for a catch-up read. */
static jl_relay_name_t *local_names(jl_upstream_t *u, size_t *count)
{
    size_t cap = 16, k = 0;
    jl_relay_name_t *v = jl_malloc(cap * sizeof *v);
    for (size_t i = 0; i < u->names.size; i++) {
        for (jl_hlink_t *l = u->names.slot[i]; l; l = l->next) {
            up_name_t *n = name_of(l);
            if (!n->local || n->ns == JL_NS_SHARD)
                continue;
            if (k == cap) {
                cap *= 2;
                v = jl_realloc(v, cap * sizeof *v);
            }
            v[k++] = (jl_relay_name_t){(jl_ns_t)n->ns, n->bytes, n->len};
        }
    }
    *count = k;
    return v;
}

/* Right after HELLO: load the library and hear the announcements,
 * before any subscription, so that no push of a numbered publish can come
 * before its announcement. */
static void send_history_setup(jl_upstream_t *u)
{
    u->shared = 0;
    if (!u->history)
        return;
    u->cmd.len = 0;
    jl_uph_load_command(&u->cmd);
    send_encoded(u);
    fifo_push(u, WAIT_SCRIPT, NULL, NULL);
    u->library_due = 1;
    const char *argv[] = {"SUBSCRIBE", JL_UPH_IDS};
    send_words(u, 2, argv);
}

/* Sends the read for names after 'from' (everything retained when
 * !known) and queues its waiter. */
static void send_read(jl_upstream_t *u, wait_kind_t kind, const jl_relay_name_t *names, size_t n,
                      jl_hist_id_t from, int known, jl_relay_history_fn done, void *ud)
{
    char text[JL_HIST_ID_MAX] = "";
    if (known)
        jl_hist_id_format(from, text);
    u->cmd.len = 0;
    jl_uph_read_command(&u->cmd, names, n, text, u->srv->cfg->history_size);
    send_encoded(u);
    fifo_push(u, kind, NULL, ud);
    waiter_t *w = fifo_last(u);
    w->hdone = done;
    w->nnames = n;
    w->from = from;
    w->from_known = (uint8_t)known;
}

/* After the resubscription: the read of what the local names missed since
 * the last publish fully delivered (the upstream answers it after
 * confirming every subscription, so together they miss nothing). The first
 * time up, a read of no name: it learns where the shared clock stands. */
static void send_catchup(jl_upstream_t *u)
{
    if (!u->history)
        return;
    size_t n = 0;
    jl_relay_name_t *names = u->clock_known ? local_names(u, &n) : NULL;
    send_read(u, WAIT_CATCHUP, names, n, u->done_id, 1, NULL, NULL);
    u->catching = n > 0;
    free(names);
}

/* How many pushes one numbered publish of chan brings to this connection:
 * one per subscription the upstream has confirmed that matches it. */
static uint32_t expected_pushes(jl_upstream_t *u, const char *chan, size_t len)
{
    uint32_t n = 0;
    const up_name_t *exact = name_find(u, JL_NS_CHANNEL, chan, len);
    if (exact && exact->on)
        n++;
    JL_LIST_FOREACH(&u->on_patterns, it) {
        const up_name_t *p = JL_CONTAINER_OF(it, up_name_t, in_on);
        n += (uint32_t)jl_glob_match(p->bytes, p->len, chan, len);
    }
    return n;
}

static void note_done(jl_upstream_t *u, jl_hist_id_t id)
{
    if (jl_hist_id_cmp(id, u->done_id) > 0)
        u->done_id = id;
}

/* "<id> <channel>": the pushes of channel that follow are that publish's. */
static void on_announce(jl_upstream_t *u, const jl_resp_value_t *payload)
{
    jl_hist_id_t id;
    const char *chan;
    size_t len;
    if (jl_uph_parse_announce(payload->str, payload->len, &id, &chan, &len) < 0) {
        jl_log_debug("upstream %s: ignoring a malformed announcement on %s", u->url.where,
                     JL_UPH_IDS);
        return;
    }
    u->ids_in++;
    if (u->pend.left > 0)
        jl_log_debug("upstream %s: %u push(es) of %s never came", u->url.where, u->pend.left,
                     u->pend.chan);
    if (len + 1 > u->pend.cap) {
        u->pend.cap = len + 1;
        u->pend.chan = jl_realloc(u->pend.chan, u->pend.cap);
    }
    memcpy(u->pend.chan, chan, len);
    u->pend.chan[len] = '\0';
    u->pend.len = len;
    u->pend.id = id;
    u->pend.kept = 0;
    u->pend.left = expected_pushes(u, chan, len);
    if (u->pend.left == 0)
        note_done(u, id);
}

/* The id of a pushed message, if it is the announced publish's; *keep: the
 * first of its pushes, whose message the local history keeps. */
static int pushed_id(jl_upstream_t *u, const jl_resp_value_t *chan, jl_hist_id_t *id, int *keep)
{
    if (u->pend.left == 0 || chan->len != u->pend.len ||
        memcmp(chan->str, u->pend.chan, chan->len) != 0)
        return 0;
    *id = u->pend.id;
    *keep = !u->pend.kept;
    u->pend.kept = 1;
    if (--u->pend.left == 0)
        note_done(u, u->pend.id);
    return 1;
}

typedef struct {
    const char *chan, *payload, *pattern;
    size_t chan_len, payload_len, pattern_len;
    int shard, has_id, keep;
    jl_hist_id_t id;
} delivery_t;

/* Delivers to this process's subscribers: a pattern's subscribers for a
 * pmessage, the channel's for a message, both for a caught-up entry. */
static void deliver(jl_upstream_t *u, const delivery_t *d, int everyone)
{
    jl_server_t *srv = u->srv;
    jl_msg_t msg;
    size_t n;

    jl_msg_init(&msg, d->chan, d->chan_len, d->payload, d->payload_len, d->shard);
    if (d->has_id) {
        msg.has_id = 1;
        msg.id = d->id;
        if (d->keep)
            jl_hist_keep(srv->hist, &msg);
    }
    double t0 = jl_histo_clock();
    if (everyone)
        n = jl_registry_publish(srv->reg, &msg);
    else if (d->pattern)
        n = jl_registry_publish_pattern(srv->reg, d->pattern, d->pattern_len, &msg);
    else
        n = jl_registry_publish_exact(srv->reg, &msg);
    jl_histo_observe(&srv->stats.fanout, jl_histo_clock() - t0);
    jl_msg_release(&msg);
    u->messages_in++;
    srv->stats.pubsub_messages++;
    srv->stats.deliveries += n;
}

static void hold(jl_upstream_t *u, const delivery_t *d)
{
    held_t *h = jl_malloc(sizeof *h + d->chan_len + d->payload_len + d->pattern_len);
    h->next = NULL;
    h->has_id = d->has_id;
    h->shard = d->shard;
    h->keep = d->keep;
    h->id = d->id;
    h->chan_len = d->chan_len;
    h->payload_len = d->payload_len;
    h->pattern_len = d->pattern_len;
    h->has_pattern = d->pattern != NULL;
    memcpy(h->bytes, d->chan, d->chan_len);
    memcpy(h->bytes + d->chan_len, d->payload, d->payload_len);
    if (d->pattern)
        memcpy(h->bytes + d->chan_len + d->payload_len, d->pattern, d->pattern_len);
    *u->held_tail = h;
    u->held_tail = &h->next;
}

/* Delivers what was held, in arrival order, but numbered publishes the
 * catch-up already delivered (ids up to 'upto'). */
static void release_held(jl_upstream_t *u, int skip_upto, jl_hist_id_t upto)
{
    held_t *h = u->held;
    u->held = NULL;
    u->held_tail = &u->held;
    u->catching = 0;
    while (h) {
        held_t *next = h->next;
        if (!(skip_upto && h->has_id && jl_hist_id_cmp(h->id, upto) <= 0)) {
            delivery_t d = {
                .chan = h->bytes, .chan_len = h->chan_len,
                .payload = h->bytes + h->chan_len, .payload_len = h->payload_len,
                .pattern = h->has_pattern ? h->bytes + h->chan_len + h->payload_len : NULL,
                .pattern_len = h->pattern_len,
                .shard = h->shard, .has_id = h->has_id, .keep = h->keep, .id = h->id,
            };
            deliver(u, &d, 0);
        }
        free(h);
        h = next;
    }
}

static void announce_gap(jl_upstream_t *u)
{
    if (!u->gap_due)
        return;
    u->gap_due = 0;
    jl_relay_gap(&u->relay);
}

/* ---- connection life ---- */

static double backoff_delay(jl_upstream_t *u)
{
    const jl_config_t *cfg = u->srv->cfg;
    double d = cfg->upstream_backoff_min;
    for (unsigned i = 0; i < u->attempts && d < cfg->upstream_backoff_max; i++)
        d *= 2;
    if (d > cfg->upstream_backoff_max)
        d = cfg->upstream_backoff_max;
    /* Jitter: half to all of d, so that nodes that lost the upstream
     * together do not all knock at the same instant. */
    d = d / 2 + d / 2 * jl_rng_unit(&u->rng);
    return d < cfg->upstream_backoff_min ? cfg->upstream_backoff_min : d;
}

/* Lets go of the connection (closing it if it is not closing already) and
 * forgets everything tied to it. */
static void drop_link(jl_upstream_t *u)
{
    ev_timer_stop(u->srv->loop, &u->timer);
    if (u->link) {
        up_conn_t *link = u->link;
        u->link = NULL;
        link->u = NULL;
        jl_conn_close(&link->conn, "upstream reset");
    }
    u->synced = 0;
    u->shared = 0;
    u->library_due = 0;
    u->presence_on = 0;         /* the next connection syncs all of it */
    u->presence_failed = 0;
    jl_upp_clear(&u->presence);
    u->pend.left = 0;
    if (u->catching) {
        jl_hist_id_t none = {0, 0};
        release_held(u, 0, none);
    }
    u->names.frozen = 1;
    for (size_t i = 0; i < u->names.size; i++) {
        jl_hlink_t *l = u->names.slot[i];
        while (l) {
            jl_hlink_t *next = l->next;
            up_name_t *n = name_of(l);
            n->subscribed = 0;
            n->subs_due = n->unsubs_due = 0;
            name_set_on(u, n, 0);
            name_settle(u, n);
            l = next;
        }
    }
    u->names.frozen = 0;
}

static void arm_retry(jl_upstream_t *u)
{
    ev_timer_stop(u->srv->loop, &u->timer);
    ev_timer_set(&u->timer, backoff_delay(u), 0.);
    ev_timer_start(u->srv->loop, &u->timer);
}

static size_t waiting_publishers(const jl_upstream_t *u)
{
    size_t waiting = 0;
    for (size_t i = 0; i < u->fifo_count; i++)
        waiting += u->fifo[(u->fifo_head + i) & (u->fifo_cap - 1)].done != NULL;
    return waiting;
}

static void lost(jl_upstream_t *u, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(u->last_error, sizeof u->last_error, fmt, ap);
    va_end(ap);
    size_t waiting = waiting_publishers(u);

    if (u->state == ST_UP) {
        jl_log_warn("upstream %s lost: %s; reconnecting (browsers and subscribers stay "
                    "connected; %zu waiting publisher%s answered with an error)",
                    u->url.where, u->last_error, waiting, waiting == 1 ? "" : "s");
        u->logged_down = 1;
        u->down_since = now_of(u);
    } else if (!u->logged_down) {
        jl_log_warn("upstream %s unreachable: %s; retrying with backoff (%g s to %g s)",
                    u->url.where, u->last_error, u->srv->cfg->upstream_backoff_min,
                    u->srv->cfg->upstream_backoff_max);
        u->logged_down = 1;
        u->down_since = now_of(u);
    } else {
        jl_log_debug("upstream %s: attempt %u failed: %s", u->url.where, u->attempts + 1,
                     u->last_error);
    }
    if (u->draining) {
        relay_finish(u, "ERR upstream unavailable: the server is shutting down");
        return;
    }
    if (u->state != ST_UP)
        u->attempts++;
    if (u->ever_up)
        u->gap_due = 1;
    drop_link(u);
    u->state = ST_DOWN;
    char text[512];
    snprintf(text, sizeof text,
             "ERR upstream unavailable: connection to %s lost before it replied; the message "
             "may or may not have been published",
             u->url.where);
    fail_waiters(u, text);
    arm_retry(u);
}

static void conn_up(jl_upstream_t *u)
{
    ev_timer_stop(u->srv->loop, &u->timer);
    u->state = ST_UP;
    if (u->ever_up)
        u->reconnects++;
    size_t held = u->nheld[JL_NS_CHANNEL] + u->nheld[JL_NS_PATTERN] + u->nheld[JL_NS_SHARD];
    if (u->logged_down)
        jl_log_info("upstream %s up again after %.1f s (%u failed attempt%s); %zu subscription%s "
                    "restored",
                    u->url.where, now_of(u) - u->down_since, u->attempts,
                    u->attempts == 1 ? "" : "s", held, held == 1 ? "" : "s");
    else
        jl_log_info("upstream %s up (RESP3)", u->url.where);
    u->ever_up = 1;
    if (!u->history)
        announce_gap(u);    /* with a history, after the catch-up */
    u->synced = u->nunconfirmed == 0;
    u->logged_down = 0;
    u->attempts = 0;
    u->last_error[0] = '\0';
}

static up_conn_t *link_of(jl_conn_t *c) { return JL_CONTAINER_OF(c, up_conn_t, conn); }

/* The socket is connected: HELLO, then every held name, in one write. */
static void link_on_connected(jl_conn_t *c)
{
    jl_upstream_t *u = link_of(c)->u;
    if (u == NULL)
        return;
    u->state = ST_HANDSHAKE;
    u->last_rx = now_of(u);
    send_hello(u);
    send_history_setup(u);
    send_count_setup(u);
    u->presence_on = 0;
    if (u->srv->cfg->lifecycle_events && !u->presence_failed)
        presence_start(u);
    resubscribe_all(u);
    send_catchup(u);
}

static void process_input(jl_upstream_t *u, jl_conn_t *c);

static void link_on_input(jl_conn_t *c)
{
    jl_upstream_t *u = link_of(c)->u;
    if (u == NULL) {
        jl_buf_consume(&c->in, c->in.len);
        return;
    }
    u->last_rx = now_of(u);
    process_input(u, c);
}

/* The connection failed on its own: peer gone, read or write error. */
static void link_on_close(jl_conn_t *c, const char *why)
{
    jl_upstream_t *u = link_of(c)->u;
    if (u == NULL)
        return;
    if (c->connecting)
        lost(u, "connect: %s", why);
    else if (strcmp(why, "closed by peer") == 0)
        lost(u, "connection closed by the upstream");
    else
        lost(u, "%s", why);
}

static void link_on_free(jl_conn_t *c)
{
    free(link_of(c));
}

static const jl_conn_ops_t link_ops = {
    .on_input = link_on_input,
    .on_connected = link_on_connected,
    .on_close = link_on_close,
    .on_free = link_on_free,
};

static int open_link(jl_upstream_t *u, const struct sockaddr *sa, socklen_t len)
{
    up_conn_t *link = jl_calloc(1, sizeof *link);
    int rc = jl_conn_connect(&link->conn, &u->srv->conns, &link_ops, sa, len);
    if (rc < 0) {
        free(link);
        return rc;
    }
    link->u = u;
    u->link = link;
    /* A failure closes the link at once, and link_on_close schedules the
     * next attempt, as for a refused connect. */
    if (u->tls)
        jl_conn_start_tls(&link->conn, u->tls, u->url.host);
    return JL_OK;
}

/* Starts one attempt. Names are resolved every time (the upstream may have
 * moved), and successive attempts walk the resolved addresses. Resolving a
 * host name blocks the loop for as long as the resolver takes: prefer an
 * address or a name from /etc/hosts. */
static int connect_start(jl_upstream_t *u, char *why, size_t whylen)
{
    if (u->url.path) {
        struct sockaddr_un sun = {0};
        sun.sun_family = AF_UNIX;
        snprintf(sun.sun_path, sizeof sun.sun_path, "%s", u->url.path);
        return open_link(u, (struct sockaddr *)&sun, sizeof sun);
    }
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    int rc = getaddrinfo(u->url.host, u->url.port, &hints, &res);
    if (rc != 0) {
        snprintf(why, whylen, "cannot resolve %s: %s", u->url.host, gai_strerror(rc));
        return -EHOSTUNREACH;
    }
    size_t n = 0;
    for (struct addrinfo *a = res; a; a = a->ai_next)
        n++;
    struct addrinfo *a = res;
    for (size_t i = u->attempts % n; i > 0; i--)
        a = a->ai_next;
    rc = open_link(u, a->ai_addr, a->ai_addrlen);
    freeaddrinfo(res);
    return rc;
}

static void attempt(jl_upstream_t *u)
{
    char why[160] = "";
    u->state = ST_CONNECTING;
    int rc = connect_start(u, why, sizeof why);
    if (rc < 0) {
        if (why[0])
            lost(u, "%s", why);
        else
            lost(u, "connect: %s", strerror(-rc));
        return;
    }
    ev_timer_set(&u->timer, CONNECT_TIMEOUT, 0.);
    ev_timer_start(u->srv->loop, &u->timer);
}

static void upstream_on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    jl_upstream_t *u = JL_CONTAINER_OF(w, jl_upstream_t, timer);
    if (u->state == ST_DOWN)
        attempt(u);
    else if (u->state == ST_CONNECTING || u->state == ST_HANDSHAKE)
        lost(u, "no answer within %g s", CONNECT_TIMEOUT);
}

/* ---- input: replies and pushes ---- */

static int is_text(const jl_resp_value_t *v)
{
    return v->type == JL_RESP_BULK || v->type == JL_RESP_SIMPLE || v->type == JL_RESP_VERBATIM;
}

static int text_is(const jl_resp_value_t *v, const char *s)
{
    size_t n = strlen(s);
    return is_text(v) && v->len == n && strncasecmp(v->str, s, n) == 0;
}

/* A complaint about the upstream's data: the connection is reset by the
 * caller once the parsed value is released. */
typedef struct {
    char why[200];
} fault_t;

static int fault(fault_t *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fault(fault_t *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->why, sizeof f->why, fmt, ap);
    va_end(ap);
    return -EPROTO;
}

/* A message or pmessage: numbered if it is the announced publish's, held
 * while a catch-up read is out, delivered otherwise. */
static void deliver_pushed(jl_upstream_t *u, const jl_resp_value_t *chan, const jl_resp_value_t *payload,
                    const jl_resp_value_t *pattern, int shard)
{
    delivery_t d = {
        .chan = chan->str, .chan_len = chan->len,
        .payload = payload->str, .payload_len = payload->len,
        .pattern = pattern ? pattern->str : NULL, .pattern_len = pattern ? pattern->len : 0,
        .shard = shard,
    };
    if (!shard)
        d.has_id = pushed_id(u, chan, &d.id, &d.keep);
    if (u->catching)
        hold(u, &d);
    else
        deliver(u, &d, 0);
}

static int subscribe_kind(const jl_resp_value_t *k, jl_ns_t *ns, int *sub)
{
    for (int i = 0; i < JL_NS_COUNT; i++) {
        if (text_is(k, sub_cmd[i])) {
            *ns = (jl_ns_t)i, *sub = 1;
            return 1;
        }
        if (text_is(k, unsub_cmd[i])) {
            *ns = (jl_ns_t)i, *sub = 0;
            return 1;
        }
    }
    return 0;
}

static void confirmation(jl_upstream_t *u, jl_ns_t ns, int sub, const jl_resp_value_t *name)
{
    up_name_t *n = is_text(name) ? name_find(u, ns, name->str, name->len) : NULL;
    uint32_t *due = n ? (sub ? &n->subs_due : &n->unsubs_due) : NULL;
    if (due == NULL || *due == 0) {
        jl_log_debug("upstream %s: ignoring a %s confirmation for a name not asked for",
                     u->url.where, sub ? sub_cmd[ns] : unsub_cmd[ns]);
        return;
    }
    (*due)--;
    name_set_on(u, n, sub);
    name_settle(u, n);
}

static int on_push(jl_upstream_t *u, const jl_resp_value_t *v, fault_t *f)
{
    const jl_resp_value_t *e = v->elems;
    jl_ns_t ns;
    int sub;

    for (size_t i = 0; i < v->nelem; i++)
        if (!is_text(&e[i]) && e[i].type != JL_RESP_INTEGER && e[i].type != JL_RESP_NULL)
            return fault(f, "push with a nested value");
    int ids = u->history && v->nelem >= 3 && is_text(&e[v->nelem - 2]) &&
              is_ids_channel(JL_NS_CHANNEL, e[v->nelem - 2].str, e[v->nelem - 2].len);
    if (ids && v->nelem == 3 && text_is(&e[0], "message") && is_text(&e[2]))
        on_announce(u, &e[2]);
    else if (ids && v->nelem == 4 && text_is(&e[0], "pmessage"))
        ;   /* a pattern of ours that matches the announcements: not for subscribers */
    else if (v->nelem == 3 && text_is(&e[0], "message") && is_text(&e[1]) && is_text(&e[2]) &&
             jl_upc_is_channel(e[1].str, e[1].len))
        on_count_message(u, &e[1], &e[2]);
    else if (v->nelem == 4 && text_is(&e[0], "pmessage") && is_text(&e[2]) &&
             jl_upc_is_channel(e[2].str, e[2].len))
        ;   /* a pattern of ours that matches the counts' traffic: not for subscribers */
    else if (v->nelem == 3 && text_is(&e[0], "message") && is_text(&e[1]) && is_text(&e[2]))
        deliver_pushed(u, &e[1], &e[2], NULL, 0);
    else if (v->nelem == 3 && text_is(&e[0], "smessage") && is_text(&e[1]) && is_text(&e[2]))
        deliver_pushed(u, &e[1], &e[2], NULL, 1);
    else if (v->nelem == 4 && text_is(&e[0], "pmessage") && is_text(&e[1]) && is_text(&e[2]) &&
             is_text(&e[3]))
        deliver_pushed(u, &e[2], &e[3], &e[1], 0);
    else if (v->nelem == 3 && subscribe_kind(&e[0], &ns, &sub) && u->history && is_text(&e[1]) &&
             is_ids_channel(ns, e[1].str, e[1].len) && name_find(u, ns, e[1].str, e[1].len) == NULL)
        ;   /* the bridge's own subscription to the announcements */
    else if (v->nelem == 3 && subscribe_kind(&e[0], &ns, &sub) && ns == JL_NS_CHANNEL &&
             is_text(&e[1]) && jl_upc_is_channel(e[1].str, e[1].len) &&
             name_find(u, ns, e[1].str, e[1].len) == NULL)
        ;   /* the bridge's own subscriptions to the counts */
    else if (v->nelem == 3 && subscribe_kind(&e[0], &ns, &sub))
        confirmation(u, ns, sub, &e[1]);
    else
        return fault(f, "unexpected push '%.*s' with %zu elements",
                     v->nelem && is_text(&e[0]) ? (int)(e[0].len > 40 ? 40 : e[0].len) : 1,
                     v->nelem && is_text(&e[0]) ? e[0].str : "?", v->nelem);
    return JL_OK;
}

static int on_hello_reply(jl_upstream_t *u, const jl_resp_value_t *v, fault_t *f)
{
    if (v->type == JL_RESP_ERROR || v->type == JL_RESP_BLOBERR)
        return fault(f, "HELLO 3 refused: %.*s%s", (int)(v->len > 150 ? 150 : v->len), v->str,
                     v->len >= 7 && strncmp(v->str, "ERR unk", 7) == 0
                         ? " (the upstream must speak RESP3: Redis 6 or later)"
                         : "");
    if (v->type != JL_RESP_MAP)
        return fault(f, "HELLO answered with a '%c' value, not a map", (char)v->type);
    fifo_pop(u);
    conn_up(u);
    return JL_OK;
}

/* A PUBLISH/SPUBLISH reply: an integer or an error, handed to whoever
 * waits for it (the publisher re-encodes it in its own protocol). */
static int on_publish_reply(jl_upstream_t *u, const jl_resp_value_t *v, fault_t *f)
{
    jl_relay_reply_t reply = {0};
    if (v->type == JL_RESP_INTEGER) {
        reply.receivers = v->integer;
    } else if (v->type == JL_RESP_ERROR || v->type == JL_RESP_BLOBERR) {
        reply.error = v->str;
        reply.error_len = v->len;
    } else {
        return fault(f, "PUBLISH answered with a '%c' value", (char)v->type);
    }
    waiter_t w = fifo_pop(u);
    if (w.done)
        w.done(w.ud, &reply);
    if (u->draining && waiting_publishers(u) == 0) {
        relay_finish(u, "ERR upstream unavailable: the server is shutting down");
        return JL_OK;
    }
    /* The upstream forgot the library (FUNCTION FLUSH, a failover to a
     * replica without it): load it again; publishes are refused until then. */
    static const char gone[] = "ERR Function not found";
    if (reply.error && u->shared && reply.error_len >= sizeof gone - 1 &&
        memcmp(reply.error, gone, sizeof gone - 1) == 0) {
        u->shared = 0;
        u->cmd.len = 0;
        jl_uph_load_command(&u->cmd);
        send_encoded(u);
        fifo_push(u, WAIT_SCRIPT, NULL, NULL);
        u->library_due = 1;
    }
    return JL_OK;
}

static int is_error(const jl_resp_value_t *v)
{
    return v->type == JL_RESP_ERROR || v->type == JL_RESP_BLOBERR;
}

static int on_script_reply(jl_upstream_t *u, const jl_resp_value_t *v, fault_t *f)
{
    fifo_pop(u);
    u->library_due = 0;
    if (is_text(v)) {       /* the library's name */
        u->shared = 1;
        return JL_OK;
    }
    if (!is_error(v))
        return fault(f, "FUNCTION LOAD answered with a '%c' value", (char)v->type);
    jl_log_warn("upstream %s cannot keep the shared history (FUNCTION LOAD: %.*s; Redis 7 "
                "or later is needed): publishes carry no id and bridged streams do not resume",
                u->url.where, (int)(v->len > 120 ? 120 : v->len), v->str);
    return JL_OK;
}

/* A stream's resume read: handed over as the relay's history answer. */
static int on_read_reply(jl_upstream_t *u, const jl_resp_value_t *v)
{
    const jl_config_t *cfg = u->srv->cfg;
    waiter_t w = fifo_pop(u);
    if (w.hdone == NULL)
        return JL_OK;
    if (is_error(v)) {
        jl_relay_history_t h = {.error = v->str, .error_len = v->len};
        w.hdone(w.ud, &h);
        return JL_OK;
    }
    jl_uph_read_t rd;
    if (jl_uph_read_reply(v, w.nnames, w.from_known, w.from, cfg->history_size, cfg->history_age,
                          &rd) < 0) {
        static const char bad[] = "ERR the shared history answered something unexpected";
        jl_relay_history_t h = {.error = bad, .error_len = sizeof bad - 1};
        w.hdone(w.ud, &h);
        return JL_OK;
    }
    w.hdone(w.ud, &rd.h);
    jl_uph_read_free(&rd);
    return JL_OK;
}

/* The bridge's own read: the first tells where the clock stands; later
 * ones deliver what the local names missed while the link was down,
 * then what was held meanwhile, after the gap is announced. */
static int on_catchup_reply(jl_upstream_t *u, const jl_resp_value_t *v)
{
    const jl_config_t *cfg = u->srv->cfg;
    waiter_t w = fifo_pop(u);
    jl_uph_read_t rd;
    int ok = !is_error(v) && jl_uph_read_reply(v, w.nnames, 1, w.from, cfg->history_size,
                                                cfg->history_age, &rd) == 0;
    if (!ok)
        jl_log_warn("upstream %s: cannot read the shared history (%.*s); what was published "
                    "while the link was down is not caught up",
                    u->url.where, is_error(v) ? (int)(v->len > 120 ? 120 : v->len) : 10,
                    is_error(v) ? v->str : "bad reply");
    if (ok && !u->clock_known) {
        note_done(u, rd.h.last);
        u->clock_known = 1;
    }
    announce_gap(u);
    jl_hist_id_t upto = w.from;
    for (size_t i = 0; ok && i < rd.h.n; i++) {
        const jl_relay_entry_t *e = &rd.h.e[i];
        delivery_t d = {
            .chan = e->chan, .chan_len = e->chan_len,
            .payload = e->payload, .payload_len = e->payload_len,
            .has_id = 1, .keep = 1, .id = e->id,
        };
        deliver(u, &d, 1);
        upto = e->id;
        u->caught_up++;
    }
    if (ok) {
        note_done(u, upto);
        jl_uph_read_free(&rd);
    }
    release_held(u, ok, upto);
    return JL_OK;
}

/* The presence library refused (an upstream without Redis Functions, a
 * jugglite hub): cluster occupancy is off on this link, said once. */
static int on_presence_reply(jl_upstream_t *u, const jl_resp_value_t *v)
{
    fifo_pop(u);
    if (text_is(v, "SWEPT") && u->presence_on) {
        /* We hung past --presence-ttl and the others let our names go:
         * hand them over again (those still held are occupied anew). */
        jl_log_warn("upstream %s: this node was silent past --presence-ttl and counted as "
                    "gone; its names are taken again", u->url.where);
        presence_start(u);
        return JL_OK;
    }
    if (!is_error(v))
        return JL_OK;
    /* The upstream forgot the library (FUNCTION FLUSH, a failover to a
     * replica without it): load it again and hand our set over again. */
    static const char gone[] = "ERR Function not found";
    if (u->presence_on && v->len >= sizeof gone - 1 && memcmp(v->str, gone, sizeof gone - 1) == 0) {
        presence_start(u);
        return JL_OK;
    }
    if (!u->presence_warned)
        jl_log_warn("upstream %s: no cluster occupancy events (%.*s; Redis 7 or later is "
                    "needed); each node still reports its own", u->url.where,
                    (int)(v->len > 120 ? 120 : v->len), v->str);
    u->presence_failed = 1;
    u->presence_warned = 1;
    u->presence_on = 0;
    jl_upp_clear(&u->presence);
    return JL_OK;
}

/* PUBSUB NUMSUB jugglite:numsub: [name, count], or an error. */
static int on_count_reply(jl_upstream_t *u, const jl_resp_value_t *v, fault_t *f)
{
    int listed = v->type == JL_RESP_ARRAY && v->nelem == 2 && v->elems[1].type == JL_RESP_INTEGER;
    if (!listed && !is_error(v))
        return fault(f, "PUBSUB NUMSUB answered with a '%c' value", (char)v->type);
    waiter_t w = fifo_pop(u);
    if (listed)
        jl_upc_expect(&u->counts, w.req, v->elems[1].integer);
    else
        jl_upc_fail(&u->counts, w.req, v->str, v->len);
    return JL_OK;
}

static int on_value(jl_upstream_t *u, const jl_resp_value_t *v, fault_t *f)
{
    if (v->type == JL_RESP_ATTR && v->nelem > 0)
        v = &v->elems[v->nelem - 1];    /* attributes annotate; we do not need them */
    if (v->type == JL_RESP_PUSH) {
        if (u->state != ST_UP)
            return fault(f, "push before the HELLO reply");
        return on_push(u, v, f);
    }
    waiter_t *w = fifo_peek(u);
    if (w == NULL)
        return fault(f, "a '%c' reply with no command waiting", (char)v->type);
    switch ((wait_kind_t)w->kind) {
    case WAIT_HELLO:
        return on_hello_reply(u, v, f);
    case WAIT_PUBLISH:
        return on_publish_reply(u, v, f);
    case WAIT_SCRIPT:
        return on_script_reply(u, v, f);
    case WAIT_READ:
        return on_read_reply(u, v);
    case WAIT_CATCHUP:
        return on_catchup_reply(u, v);
    case WAIT_COUNT:
        return on_count_reply(u, v, f);
    case WAIT_PRESENCE:
        return on_presence_reply(u, v);
    case WAIT_PING:
        if (v->type == JL_RESP_ERROR)
            jl_log_warn("upstream %s: PING answered %.*s", u->url.where, (int)v->len, v->str);
        fifo_pop(u);
        return JL_OK;
    }
    return fault(f, "internal: unknown waiter");
}

static void process_input(jl_upstream_t *u, jl_conn_t *c)
{
    size_t off = 0;

    while (off < c->in.len) {
        jl_resp_value_t v;
        size_t used = 0;
        const char *err = NULL;
        int rc = jl_resp_parse_reply(c->in.data + off, c->in.len - off, NULL, &v, &used, &err);
        if (rc == JL_AGAIN)
            break;
        if (rc < 0) {
            lost(u, "protocol error from the upstream: %s", err ? err : "?");
            return;
        }
        off += used;
        fault_t f;
        rc = on_value(u, &v, &f);
        jl_resp_value_free(&v);
        if (rc < 0) {
            lost(u, "%s", f.why);
            return;
        }
    }
    jl_buf_consume(&c->in, off);
    if (u->progress) {
        u->progress = 0;
        jl_relay_progress(&u->relay);
    }
}

/* Lingers, and a keepalive: the upstream never speaks on its own when
 * nothing is published, so a silent connection is asked for a PING, and a
 * command left unanswered too long means the upstream hangs. */
static void upstream_on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    jl_upstream_t *u = JL_CONTAINER_OF(w, jl_upstream_t, tick);
    double now = now_of(u);

    while (!jl_list_empty(&u->lingering)) {
        up_name_t *n = JL_CONTAINER_OF(u->lingering.next, up_name_t, lingering);
        if (n->linger_until > now)
            break;
        linger_expire(u, n);
    }
    jl_upc_tick(&u->counts, now);
    if (u->state != ST_UP)
        return;
    presence_tick(u, now);
    waiter_t *oldest = fifo_peek(u);
    if (oldest && now - oldest->sent > REPLY_TIMEOUT) {
        lost(u, "no reply for %.0f s", now - oldest->sent);
        return;
    }
    if (oldest == NULL && now - u->last_rx > PING_AFTER) {
        const char *argv[] = {"PING"};
        send_words(u, 1, argv);
        fifo_push(u, WAIT_PING, NULL, NULL);
    }
}

/* ---- the relay ---- */

static jl_upstream_t *upstream_of(const jl_relay_t *r)
{
    return JL_CONTAINER_OF(r, jl_upstream_t, relay);
}

static int relay_publish(jl_relay_t *r, const jl_pub_t *pub, jl_relay_done_fn done, void *ud)
{
    jl_upstream_t *u = upstream_of(r);
    if (u->state != ST_UP) {
        u->publishes_dropped++;
        snprintf(r->error, sizeof r->error, "ERR upstream unavailable: %s is not connected",
                 u->url.where);
        return -ENOTCONN;
    }
    if (u->draining) {
        u->publishes_dropped++;
        snprintf(r->error, sizeof r->error, "ERR upstream unavailable: the server is shutting down");
        return -ENOTCONN;
    }
    /* Not before the library is known: a publish sent plain now would get
     * no id, and nobody could recover it. */
    if (u->library_due && !pub->shard) {
        u->publishes_dropped++;
        snprintf(r->error, sizeof r->error,
                 "ERR upstream unavailable: %s is connected, the shared history not ready yet",
                 u->url.where);
        return -ENOTCONN;
    }
    if (u->shared && !pub->shard) {
        u->cmd.len = 0;
        jl_uph_publish_command(&u->cmd, pub, u->srv->cfg->history_size,
                               u->srv->cfg->history_age);
        send_encoded(u);
    } else {
        const char *argv[] = {pub->shard ? "SPUBLISH" : "PUBLISH", pub->chan, pub->payload};
        size_t lens[] = {strlen(argv[0]), pub->chan_len, pub->payload_len};
        send_command(u, 3, argv, lens);
    }
    u->messages_out++;
    fifo_push(u, WAIT_PUBLISH, done, ud);
    return JL_OK;
}

static void relay_cancel(jl_relay_t *r, void *ud)
{
    jl_upstream_t *u = upstream_of(r);
    for (size_t i = 0; i < u->fifo_count; i++) {
        waiter_t *w = &u->fifo[(u->fifo_head + i) & (u->fifo_cap - 1)];
        if (w->ud == ud)
            w->done = NULL, w->hdone = NULL;
    }
    jl_upc_cancel(&u->counts, ud);
}

static int relay_numsub(jl_relay_t *r, jl_ns_t ns, const char *const *names, const size_t *lens,
                        size_t n, jl_relay_counts_fn done, void *ud)
{
    jl_upstream_t *u = upstream_of(r);
    if (u->state != ST_UP || u->draining) {
        snprintf(r->error, sizeof r->error, "ERR upstream unavailable: %s",
                 u->draining ? "the server is shutting down" : "not connected");
        return -ENOTCONN;
    }
    jl_buf_t payload = {0};
    uint64_t req = jl_upc_ask(&u->counts, u->srv->run_id, ns, names, lens, n,
                              now_of(u) + JL_UPC_TIMEOUT, done, ud, &payload);
    /* How many will answer: the nodes listening, as Redis counts them just
     * before it delivers the question (PUBLISH's own reply would count
     * patterns that match the channel too). */
    const char *numsub[] = {"PUBSUB", "NUMSUB", JL_UPC_REQUESTS};
    send_words(u, 3, numsub);
    fifo_push(u, WAIT_COUNT, NULL, NULL);
    fifo_last(u)->req = req;
    const char *argv[] = {"PUBLISH", JL_UPC_REQUESTS, payload.data ? payload.data : ""};
    size_t alens[] = {7, JL_UPC_REQUESTS_LEN, payload.len};
    send_command(u, 3, argv, alens);
    jl_buf_free(&payload);
    fifo_push(u, WAIT_PUBLISH, NULL, NULL);
    return JL_OK;
}

static int relay_history(jl_relay_t *r, const jl_relay_name_t *names, size_t n, const char *from,
                         size_t from_len, jl_relay_history_fn done, void *ud)
{
    jl_upstream_t *u = upstream_of(r);
    if (u->state != ST_UP) {
        snprintf(r->error, sizeof r->error, "ERR upstream unavailable: %s is not connected",
                 u->url.where);
        return -ENOTCONN;
    }
    if (!u->shared)
        return -ENOTSUP;
    jl_hist_id_t id = {0, 0};
    int known = jl_hist_id_parse(from, from_len, &id) == 0;
    send_read(u, WAIT_READ, names, n, id, known, done, ud);
    u->resumes++;
    return JL_OK;
}

/* 1 when connected and every subscription held when the connection came
 * up has been confirmed (so /health says 503 until the resubscribe pipeline
 * is done). A new subscription made while up does not make it 0 again: a
 * load balancer polling /health must not see the node flap on every new
 * channel; relay_confirmed answers per name. */
static int relay_healthy(const jl_relay_t *r)
{
    const jl_upstream_t *u = upstream_of(r);
    return u->state == ST_UP && u->synced;
}

static int relay_confirmed(const jl_relay_t *r, jl_ns_t ns, const char *name, size_t len)
{
    const jl_upstream_t *u = upstream_of(r);
    const up_name_t *n = u->state == ST_UP ? name_find(u, ns, name, len) : NULL;
    return n && name_confirmed(n);
}

static void relay_info(const jl_relay_t *r, jl_buf_t *out)
{
    const jl_upstream_t *u = upstream_of(r);
    static const char *const state[] = {"down", "connecting", "connecting", "up", "down"};
    char err[sizeof u->last_error];
    size_t i = 0;
    for (; u->last_error[i]; i++)
        err[i] = u->last_error[i] == '\r' || u->last_error[i] == '\n' ? ' ' : u->last_error[i];
    err[i] = '\0';
    jl_buf_printf(out,
                  "upstream_state:%s\r\nupstream_host:%s\r\nupstream_reconnects:%llu\r\n"
                  "upstream_messages_in:%llu\r\nupstream_messages_out:%llu\r\n"
                  "upstream_publishes_refused:%llu\r\nupstream_channels:%zu\r\n"
                  "upstream_patterns:%zu\r\nupstream_shard_channels:%zu\r\n"
                  "upstream_unconfirmed:%zu\r\nupstream_lingering:%zu\r\n"
                  "upstream_pending_replies:%zu\r\nupstream_last_error:%s\r\n",
                  state[u->state], u->url.where, u->reconnects, u->messages_in, u->messages_out,
                  u->publishes_dropped, u->nheld[JL_NS_CHANNEL], u->nheld[JL_NS_PATTERN],
                  u->nheld[JL_NS_SHARD], u->nunconfirmed, u->nlingering, u->fifo_count, err);
    char last[JL_HIST_ID_MAX];
    jl_hist_id_format(u->done_id, last);
    jl_buf_printf(out,
                  "upstream_shared_history:%s\r\nupstream_last_id:%s\r\n"
                  "upstream_ids_announced:%llu\r\nupstream_caught_up:%llu\r\n"
                  "upstream_history_reads:%llu\r\n"
                  "upstream_numsub_asked:%llu\r\nupstream_numsub_timeouts:%llu\r\n",
                  u->shared ? "yes" : "no", last, u->ids_in, u->caught_up, u->resumes,
                  u->counts.asked, u->counts.timeouts);
}

/* Lets go of the link for good and answers whoever still waits. */
static void relay_finish(jl_upstream_t *u, const char *why)
{
    presence_stop(u);
    ev_timer_stop(u->srv->loop, &u->presence_soon);
    if (u->link && connected(u))
        jl_conn_flush(&u->link->conn);
    ev_timer_stop(u->srv->loop, &u->tick);
    ev_timer_stop(u->srv->loop, &u->timer);
    drop_link(u);
    u->state = ST_CLOSED;
    u->draining = 0;
    fail_waiters(u, why);
}

/* Server shutdown: stop reconnecting. Publishes already forwarded keep the
 * link open until the upstream answers them (or the shutdown deadline
 * closes it): their clients are told what really happened. */
static void relay_shutdown(jl_relay_t *r)
{
    jl_upstream_t *u = upstream_of(r);
    if (u->state == ST_CLOSED)
        return;
    if (u->state == ST_UP && waiting_publishers(u) > 0) {
        u->draining = 1;
        ev_timer_stop(u->srv->loop, &u->timer);
        return;
    }
    relay_finish(u, "ERR upstream unavailable: the server is shutting down");
}

static const jl_relay_ops_t relay_ops = {
    .publish = relay_publish,
    .cancel = relay_cancel,
    .confirmed = relay_confirmed,
    .healthy = relay_healthy,
    .info = relay_info,
    .shutdown = relay_shutdown,
    .history = relay_history,
    .numsub = relay_numsub,
};

/* ---- public API ---- */

jl_upstream_t *jl_upstream_new(jl_server_t *srv, const char *url)
{
    jl_upstream_t *u = jl_calloc(1, sizeof *u);
    if (jl_redis_url_parse(&u->url, url) < 0) {
        const char *at = strrchr(url, '@');     /* never log a password */
        jl_log_error("--upstream %s%s: expected redis[s]://[[user]:password@]host[:port] or "
                     "unix:///path/to/socket",
                     at ? "..." : "", at ? at : url);
        free(u);
        return NULL;
    }
    if (u->url.tls) {
        const jl_config_t *cfg = srv->cfg;
        char err[512];
        u->tls = jl_tls_client_new(cfg->upstream_ca, cfg->upstream_cert, cfg->upstream_key, err,
                                   sizeof err);
        if (u->tls == NULL) {
            jl_log_error("--upstream %s: TLS: %s", u->url.where, err);
            jl_redis_url_free(&u->url);
            free(u);
            return NULL;
        }
    }
    if (srv->cfg->upstream_password) {
        free(u->url.pass);
        u->url.pass = jl_strndup(srv->cfg->upstream_password, strlen(srv->cfg->upstream_password));
    }
    u->srv = srv;
    u->state = ST_DOWN;
    u->relay.ops = &relay_ops;
    jl_list_init(&u->lingering);
    jl_list_init(&u->on_patterns);
    u->held_tail = &u->held;
    jl_upc_init(&u->counts);
    jl_upp_init(&u->presence);
    ev_timer_init(&u->presence_soon, presence_on_soon, 0, 0);
    u->history = srv->cfg->history_size > 0;
    jl_random_bytes(u->key, sizeof u->key);
    jl_rng_seed(&u->rng);

    ev_init(&u->timer, upstream_on_timer);
    double linger = srv->cfg->upstream_linger / 4;
    double period = linger < 0.05 ? 0.05 : linger > 1.0 ? 1.0 : linger;
    ev_timer_init(&u->tick, upstream_on_tick, period, period);
    ev_timer_start(srv->loop, &u->tick);

    jl_server_set_watch(srv, upstream_on_watch, u);
    for (int ns = 0; ns < JL_NS_COUNT; ns++) {
        adopt_ctx_t a = {u, (jl_ns_t)ns};
        jl_registry_foreach(srv->reg, (jl_ns_t)ns, NULL, 0, adopt_name, &a);
    }
    jl_server_set_relay(srv, &u->relay);
    jl_log_info("upstream %s: connecting%s", u->url.where, u->tls ? " (TLS)" : "");
    attempt(u);
    return u;
}

void jl_upstream_free(jl_upstream_t *u)
{
    if (u == NULL)
        return;
    if (u->state != ST_CLOSED)
        relay_finish(u, "ERR upstream unavailable: the server is shutting down");
    jl_server_set_relay(u->srv, NULL);
    jl_server_set_watch(u->srv, NULL, NULL);
    for (size_t i = 0; i < u->names.size; i++) {
        jl_hlink_t *l = u->names.slot[i];
        while (l) {
            jl_hlink_t *next = l->next;
            free(name_of(l));
            l = next;
        }
    }
    jl_htable_free(&u->names);
    free(u->fifo);
    free(u->pend.chan);
    jl_buf_free(&u->cmd);
    jl_buf_free(&u->count_chan);
    jl_upp_clear(&u->presence);
    jl_redis_url_free(&u->url);
    jl_tls_free(u->tls);
    free(u);
}
