/* upstream.c -- the bridge to an upstream Redis (or a jugglite hub).
 *
 * Several jugglite nodes share channels by all holding one connection to the
 * same upstream. This file owns that connection: a non-blocking RESP3 client
 * on the server's loop, with its own input buffer, output queue and a FIFO
 * of the commands still waiting for a reply. It owns nothing else: local
 * subscribers stay in the registry, which tells us (watch callback) when a
 * name gets its first local subscriber or loses its last one.
 *
 * What goes over the wire:
 *   - HELLO 3 [AUTH user pass] SETNAME jugglite-bridge, then every held name
 *     in one pipeline (SUBSCRIBE / PSUBSCRIBE / SSUBSCRIBE with many names);
 *   - one (P|S)SUBSCRIBE per name that gains its first local subscriber, one
 *     (P|S)UNSUBSCRIBE per name unused for --upstream-linger seconds;
 *   - PUBLISH / SPUBLISH forwarded for local publishers, and PING after a
 *     silence so that a hung upstream is noticed.
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
 *   (any) --jl_upstream_shutdown--> CLOSED
 *
 * Every way down goes through conn_lost(), which answers the waiting
 * publishers with an error, forgets what the upstream had confirmed and
 * arms the backoff timer. Transitions are logged once (up, lost, still
 * unreachable), never once per retry.
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
#include "upstream.h"
#include "htable.h"

#include "client.h"
#include "log.h"
#include "server.h"
#include "siphash.h"
#include "../http/http_session.h"
#include "../resp/resp_parser.h"
#include "../resp/resp_writer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define READ_CHUNK 65536
#define CONNECT_TIMEOUT 5.0     /* TCP connect + HELLO reply, seconds */
#define PING_AFTER 10.0         /* silence before we ask "are you there?" */
#define REPLY_TIMEOUT 15.0      /* oldest unanswered command: the upstream hangs */
#define NAMES_PER_COMMAND 1024  /* resubscribe pipeline: names per SUBSCRIBE */

typedef enum { ST_DOWN, ST_CONNECTING, ST_HANDSHAKE, ST_UP, ST_CLOSED } up_state_t;

typedef enum { WAIT_HELLO, WAIT_PUBLISH, WAIT_PING } wait_kind_t;

/* One command waiting for its reply, in send order. */
typedef struct {
    jl_client_t *client;    /* blocked publisher, or NULL (nobody, or freed meanwhile) */
    uint8_t kind;           /* wait_kind_t */
    uint8_t silent;         /* CLIENT REPLY OFF/SKIP was in force: no reply */
    double sent;
} waiter_t;

typedef struct up_name {
    jl_hlink_t link;        /* in u->names */
    jl_list_t lingering;    /* in u->lingering (deadline order) while lingering */
    double linger_until;
    uint32_t subs_due;      /* subscribe confirmations still expected */
    uint32_t unsubs_due;    /* unsubscribe confirmations still expected */
    uint8_t ns;
    uint8_t local;          /* the registry has subscribers */
    uint8_t subscribed;     /* SUBSCRIBE sent on this connection, no UNSUBSCRIBE since */
    uint8_t counted_held, counted_unconfirmed;  /* what the counters reflect */
    size_t len;
    char bytes[];
} up_name_t;

struct jl_upstream {
    jl_server_t *srv;
    up_state_t state;
    /* where: from the URL */
    char *host;             /* NULL for a unix socket */
    char *port;
    char *path;             /* unix socket path */
    char *user, *pass;      /* NULL: no AUTH */
    char where[300];        /* "host:port" or "unix:/path", for logs and INFO */
    /* the connection */
    int fd;
    uint64_t gen;           /* bumped on every close: stale callers stop */
    ev_io rio, wio;
    ev_prepare flusher;     /* writes the output queue before the loop sleeps */
    ev_timer timer;         /* backoff wait, or the connect/handshake deadline */
    ev_timer tick;          /* lingers, keepalive PING, reply timeout */
    jl_buf_t in;
    jl_outq_t out;
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
    uint64_t rng;
    char last_error[160];
    /* INFO */
    unsigned long long reconnects, messages_in, messages_out, publishes_dropped;
};

static void conn_lost(jl_upstream_t *u, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
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

static void name_unlink(jl_upstream_t *u, up_name_t *n)
{
    jl_htable_remove(&u->names, &n->link);
}

static void count(size_t *counter, int was, int now)
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

    count(&u->nheld[n->ns], n->counted_held, held);
    count(&u->nunconfirmed, n->counted_unconfirmed, unconfirmed);
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
static void linger_expire(jl_upstream_t *u, up_name_t *n)
{
    linger_stop(u, n);
    if (n->subscribed && connected(u)) {
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

static void schedule_flush(jl_upstream_t *u)
{
    if (!ev_is_active(&u->flusher) && !ev_is_active(&u->wio))
        ev_prepare_start(u->srv->loop, &u->flusher);
}

static void send_bulk(jl_upstream_t *u, const char *p, size_t n)
{
    char hdr[32];
    int h = snprintf(hdr, sizeof hdr, "$%zu\r\n", n);
    jl_outq_append(&u->out, hdr, (size_t)h);
    jl_outq_append(&u->out, p, n);
    jl_outq_append(&u->out, "\r\n", 2);
}

static void send_array(jl_upstream_t *u, size_t n)
{
    char hdr[32];
    int h = snprintf(hdr, sizeof hdr, "*%zu\r\n", n);
    jl_outq_append(&u->out, hdr, (size_t)h);
    schedule_flush(u);
}

static void send_str(jl_upstream_t *u, const char *s) { send_bulk(u, s, strlen(s)); }

static void fifo_push(jl_upstream_t *u, wait_kind_t kind, jl_client_t *client, int silent)
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
    w->client = client;
    w->kind = (uint8_t)kind;
    w->silent = (uint8_t)silent;
    w->sent = now_of(u);
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
    send_array(u, n + 1);
    send_str(u, sub ? sub_cmd[ns] : unsub_cmd[ns]);
    for (size_t i = 0; i < n; i++)
        send_bulk(u, names[i]->bytes, names[i]->len);
}

static void send_hello(jl_upstream_t *u)
{
    send_array(u, u->pass ? 7 : 4);
    send_str(u, "HELLO");
    send_str(u, "3");
    if (u->pass) {
        send_str(u, "AUTH");
        send_str(u, u->user ? u->user : "default");
        send_str(u, u->pass);
    }
    send_str(u, "SETNAME");
    send_str(u, "jugglite-bridge");
    fifo_push(u, WAIT_HELLO, NULL, 0);
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

static void flush_out(jl_upstream_t *u)
{
    int rc = jl_outq_write(&u->out, u->fd);
    if (rc < 0) {
        conn_lost(u, "write: %s", strerror(-rc));
        return;
    }
    if (rc == JL_AGAIN)
        ev_io_start(u->srv->loop, &u->wio);
    else
        ev_io_stop(u->srv->loop, &u->wio);
}

static void upstream_on_prepare(struct ev_loop *loop, ev_prepare *w, int revents)
{
    (void)revents;
    jl_upstream_t *u = JL_CONTAINER_OF(w, jl_upstream_t, flusher);
    ev_prepare_stop(loop, w);
    if (connected(u))
        flush_out(u);
}

/* ---- the publisher's reply ---- */

/* Hands 'reply' (RESP bytes, or NULL for none) to a blocked publisher and
 * lets it run again; its next commands may come straight back here. */
static void answer(waiter_t *w, const jl_buf_t *reply)
{
    jl_client_t *c = w->client;
    if (c == NULL)
        return;
    if (reply && !w->silent)
        jl_conn_append(&c->conn, reply->data, reply->len);
    jl_client_unblock(c);
}

static void answer_error(waiter_t *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void answer_error(waiter_t *w, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    jl_buf_t b = {0};
    jl_resp_error(&b, msg);
    answer(w, &b);
    jl_buf_free(&b);
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
    u->rng ^= u->rng << 13;
    u->rng ^= u->rng >> 7;
    u->rng ^= u->rng << 17;
    d = d / 2 + d / 2 * (double)(u->rng >> 11) / (double)(UINT64_C(1) << 53);
    return d < cfg->upstream_backoff_min ? cfg->upstream_backoff_min : d;
}

/* Closes the socket and forgets everything tied to this connection. */
static void conn_close(jl_upstream_t *u)
{
    struct ev_loop *loop = u->srv->loop;
    ev_io_stop(loop, &u->rio);
    ev_io_stop(loop, &u->wio);
    ev_prepare_stop(loop, &u->flusher);
    ev_timer_stop(loop, &u->timer);
    if (u->fd >= 0)
        close(u->fd);
    u->fd = -1;
    u->gen++;
    u->synced = 0;
    jl_outq_clear(&u->out);
    jl_buf_free(&u->in);
    u->names.frozen = 1;
    for (size_t i = 0; i < u->names.size; i++) {
        jl_hlink_t *l = u->names.slot[i];
        while (l) {
            jl_hlink_t *next = l->next;
            up_name_t *n = name_of(l);
            n->subscribed = 0;
            n->subs_due = n->unsubs_due = 0;
            name_settle(u, n);
            l = next;
        }
    }
    u->names.frozen = 0;
}

/* Answers every waiting publisher with 'text'. The FIFO is detached
 * first: an answered client runs its next commands at once, and they see
 * the upstream down. */
static void fail_waiters(jl_upstream_t *u, const char *text)
{
    waiter_t *fifo = u->fifo;
    size_t head = u->fifo_head, count = u->fifo_count, cap = u->fifo_cap;

    u->fifo = NULL;
    u->fifo_head = u->fifo_count = u->fifo_cap = 0;
    for (size_t i = 0; i < count; i++)
        answer_error(&fifo[(head + i) & (cap - 1)], "%s", text);
    free(fifo);
}

static void arm_retry(jl_upstream_t *u)
{
    ev_timer_stop(u->srv->loop, &u->timer);
    ev_timer_set(&u->timer, backoff_delay(u), 0.);
    ev_timer_start(u->srv->loop, &u->timer);
}

static void conn_lost(jl_upstream_t *u, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(u->last_error, sizeof u->last_error, fmt, ap);
    va_end(ap);
    size_t waiting = u->fifo_count;
    for (size_t i = 0; i < u->fifo_count; i++)
        if (u->fifo[(u->fifo_head + i) & (u->fifo_cap - 1)].client == NULL)
            waiting--;

    if (u->state == ST_UP) {
        jl_log_warn("upstream %s lost: %s; reconnecting (browsers and subscribers stay "
                    "connected; %zu waiting publisher%s answered with an error)",
                    u->where, u->last_error, waiting, waiting == 1 ? "" : "s");
        u->logged_down = 1;
        u->down_since = now_of(u);
    } else if (!u->logged_down) {
        jl_log_warn("upstream %s unreachable: %s; retrying with backoff (%g s to %g s)",
                    u->where, u->last_error, u->srv->cfg->upstream_backoff_min,
                    u->srv->cfg->upstream_backoff_max);
        u->logged_down = 1;
        u->down_since = now_of(u);
    } else {
        jl_log_debug("upstream %s: attempt %u failed: %s", u->where, u->attempts + 1,
                     u->last_error);
    }
    if (u->state != ST_UP)
        u->attempts++;
    conn_close(u);
    u->state = ST_DOWN;
    char text[512];
    snprintf(text, sizeof text,
             "ERR upstream unavailable: connection to %s lost before it replied; the message "
             "may or may not have been published",
             u->where);
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
                    u->where, now_of(u) - u->down_since, u->attempts, u->attempts == 1 ? "" : "s",
                    held, held == 1 ? "" : "s");
    else
        jl_log_info("upstream %s up (RESP3)", u->where);
    u->ever_up = 1;
    u->synced = u->nunconfirmed == 0;
    u->logged_down = 0;
    u->attempts = 0;
    u->last_error[0] = '\0';
}

/* The socket is connected: HELLO, then every held name, in one write. */
static void conn_ready(jl_upstream_t *u)
{
    u->state = ST_HANDSHAKE;
    u->last_rx = now_of(u);
    ev_io_stop(u->srv->loop, &u->wio);
    ev_io_start(u->srv->loop, &u->rio);
    send_hello(u);
    resubscribe_all(u);
}

static int open_socket(jl_upstream_t *u, struct sockaddr *sa, socklen_t sl, int family)
{
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (family != AF_UNIX) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    }
    u->fd = fd;
    if (connect(fd, sa, sl) == 0)
        return JL_OK;
    return errno == EINPROGRESS ? JL_AGAIN : -errno;
}

/* Starts one attempt. Names are resolved every time (the upstream may have
 * moved), and successive attempts walk the resolved addresses. Resolving a
 * host name blocks the loop for as long as the resolver takes: prefer an
 * address or a name from /etc/hosts. */
static int connect_start(jl_upstream_t *u, char *why, size_t whylen)
{
    if (u->path) {
        struct sockaddr_un sun = {0};
        sun.sun_family = AF_UNIX;
        snprintf(sun.sun_path, sizeof sun.sun_path, "%s", u->path);
        return open_socket(u, (struct sockaddr *)&sun, sizeof sun, AF_UNIX);
    }
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    int rc = getaddrinfo(u->host, u->port, &hints, &res);
    if (rc != 0) {
        snprintf(why, whylen, "cannot resolve %s: %s", u->host, gai_strerror(rc));
        return -EHOSTUNREACH;
    }
    size_t n = 0;
    for (struct addrinfo *a = res; a; a = a->ai_next)
        n++;
    struct addrinfo *a = res;
    for (size_t i = u->attempts % n; i > 0; i--)
        a = a->ai_next;
    rc = open_socket(u, a->ai_addr, a->ai_addrlen, a->ai_family);
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
            conn_lost(u, "%s", why);
        else
            conn_lost(u, "connect: %s", strerror(-rc));
        return;
    }
    ev_io_set(&u->rio, u->fd, EV_READ);
    ev_io_set(&u->wio, u->fd, EV_WRITE);
    ev_timer_set(&u->timer, CONNECT_TIMEOUT, 0.);
    ev_timer_start(u->srv->loop, &u->timer);
    if (rc == JL_OK)
        conn_ready(u);      /* a unix socket connects at once */
    else
        ev_io_start(u->srv->loop, &u->wio);
}

static void upstream_on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    jl_upstream_t *u = JL_CONTAINER_OF(w, jl_upstream_t, timer);
    if (u->state == ST_DOWN)
        attempt(u);
    else if (u->state == ST_CONNECTING || u->state == ST_HANDSHAKE)
        conn_lost(u, "no answer within %g s", CONNECT_TIMEOUT);
}

static void upstream_on_writable(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    jl_upstream_t *u = JL_CONTAINER_OF(w, jl_upstream_t, wio);
    if (u->state != ST_CONNECTING) {
        flush_out(u);
        return;
    }
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(u->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err) {
        conn_lost(u, "connect: %s", strerror(err));
        return;
    }
    conn_ready(u);
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

static void deliver(jl_upstream_t *u, const jl_resp_value_t *chan, const jl_resp_value_t *payload,
                    const jl_resp_value_t *pattern, int shard)
{
    jl_server_t *srv = u->srv;
    jl_msg_t msg;
    size_t n;

    jl_msg_init(&msg, chan->str, chan->len, payload->str, payload->len, shard);
    if (pattern)
        n = jl_registry_publish_pattern(srv->reg, pattern->str, pattern->len, &msg);
    else
        n = jl_registry_publish_exact(srv->reg, &msg);
    jl_msg_release(&msg);
    u->messages_in++;
    srv->stats.pubsub_messages++;
    srv->stats.deliveries += n;
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
                     u->where, sub ? sub_cmd[ns] : unsub_cmd[ns]);
        return;
    }
    (*due)--;
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
    if (v->nelem == 3 && text_is(&e[0], "message") && is_text(&e[1]) && is_text(&e[2]))
        deliver(u, &e[1], &e[2], NULL, 0);
    else if (v->nelem == 3 && text_is(&e[0], "smessage") && is_text(&e[1]) && is_text(&e[2]))
        deliver(u, &e[1], &e[2], NULL, 1);
    else if (v->nelem == 4 && text_is(&e[0], "pmessage") && is_text(&e[1]) && is_text(&e[2]) &&
             is_text(&e[3]))
        deliver(u, &e[2], &e[3], &e[1], 0);
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

/* A PUBLISH/SPUBLISH reply: an integer or an error, re-encoded for the
 * client (the same bytes in RESP2 and RESP3; a RESP3 blob error becomes a
 * simple error). */
static int on_publish_reply(jl_upstream_t *u, const jl_resp_value_t *v, fault_t *f)
{
    jl_buf_t b = {0};
    if (v->type == JL_RESP_INTEGER) {
        jl_resp_integer(&b, v->integer);
    } else if (v->type == JL_RESP_ERROR || v->type == JL_RESP_BLOBERR) {
        char *text = jl_strndup(v->str, v->len);
        jl_resp_error(&b, text);
        free(text);
    } else {
        return fault(f, "PUBLISH answered with a '%c' value", (char)v->type);
    }
    waiter_t w = fifo_pop(u);
    answer(&w, &b);
    jl_buf_free(&b);
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
    case WAIT_PING:
        if (v->type == JL_RESP_ERROR)
            jl_log_warn("upstream %s: PING answered %.*s", u->where, (int)v->len, v->str);
        fifo_pop(u);
        return JL_OK;
    }
    return fault(f, "internal: unknown waiter");
}

static void process_input(jl_upstream_t *u)
{
    uint64_t gen = u->gen;
    size_t off = 0;

    while (off < u->in.len) {
        jl_resp_value_t v;
        size_t used = 0;
        const char *err = NULL;
        int rc = jl_resp_parse_reply(u->in.data + off, u->in.len - off, NULL, &v, &used, &err);
        if (rc == JL_AGAIN)
            break;
        if (rc < 0) {
            conn_lost(u, "protocol error from the upstream: %s", err ? err : "?");
            return;
        }
        off += used;
        fault_t f;
        rc = on_value(u, &v, &f);
        jl_resp_value_free(&v);
        if (u->gen != gen)
            return;     /* an answered client's commands closed us (shutdown) */
        if (rc < 0) {
            conn_lost(u, "%s", f.why);
            return;
        }
    }
    jl_buf_consume(&u->in, off);
    if (u->in.len == 0 && u->in.cap > 4 * READ_CHUNK)
        jl_buf_free(&u->in);    /* a huge message passed: do not keep its buffer */
    if (u->progress) {
        u->progress = 0;
        jl_http_upstream_progress(u->srv);
    }
}

static void upstream_on_readable(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    jl_upstream_t *u = JL_CONTAINER_OF(w, jl_upstream_t, rio);
    if (u->in.cap - u->in.len < READ_CHUNK / 4)
        jl_buf_reserve(&u->in, READ_CHUNK);
    ssize_t n = read(u->fd, u->in.data + u->in.len, u->in.cap - u->in.len);
    if (n == 0) {
        conn_lost(u, "connection closed by the upstream");
        return;
    }
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            conn_lost(u, "read: %s", strerror(errno));
        return;
    }
    u->in.len += (size_t)n;
    u->last_rx = now_of(u);
    process_input(u);
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
    if (u->state != ST_UP)
        return;
    waiter_t *oldest = fifo_peek(u);
    if (oldest && now - oldest->sent > REPLY_TIMEOUT) {
        conn_lost(u, "no reply for %.0f s", now - oldest->sent);
        return;
    }
    if (oldest == NULL && now - u->last_rx > PING_AFTER) {
        send_array(u, 1);
        send_str(u, "PING");
        fifo_push(u, WAIT_PING, NULL, 0);
    }
}

/* ---- URL ---- */


/* Percent-decodes p[0..n) (user names and passwords may hold '@' or ':'). */
static char *decode(const char *p, size_t n)
{
    char *out = jl_malloc(n + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '%' && i + 2 < n && jl_hex_digit(p[i + 1]) >= 0 && jl_hex_digit(p[i + 2]) >= 0) {
            *o++ = (char)(jl_hex_digit(p[i + 1]) * 16 + jl_hex_digit(p[i + 2]));
            i += 2;
        } else {
            *o++ = p[i];
        }
    }
    *o = '\0';
    return out;
}

/* user:pass@ as redis-cli reads it: without a ':' it is all password. */
static const char *parse_userinfo(jl_upstream_t *u, const char *p)
{
    const char *at = strrchr(p, '@');
    if (at == NULL)
        return p;
    const char *colon = memchr(p, ':', (size_t)(at - p));
    const char *pw = p;
    if (colon) {
        if (colon > p)
            u->user = decode(p, (size_t)(colon - p));
        pw = colon + 1;
    }
    u->pass = decode(pw, (size_t)(at - pw));
    return at + 1;
}

static int parse_url(jl_upstream_t *u, const char *url)
{
    if (strncmp(url, "unix://", 7) == 0) {
        const char *p = parse_userinfo(u, url + 7);
        if (*p != '/')
            return -1;
        u->path = jl_strndup(p, strlen(p));
        if (strlen(u->path) >= sizeof ((struct sockaddr_un *)0)->sun_path)
            return -1;
        snprintf(u->where, sizeof u->where, "unix:%s", u->path);
        return 0;
    }
    if (strncmp(url, "redis://", 8) != 0)
        return -1;
    const char *p = parse_userinfo(u, url + 8);
    const char *end = p + strcspn(p, "/?#");
    const char *host = p, *host_end, *port = NULL;
    if (*p == '[') {
        host = p + 1;
        host_end = memchr(host, ']', (size_t)(end - host));
        if (host_end == NULL)
            return -1;
        if (host_end + 1 < end) {
            if (host_end[1] != ':')
                return -1;
            port = host_end + 2;
        }
    } else {
        host_end = memchr(p, ':', (size_t)(end - p));
        if (host_end)
            port = host_end + 1;
        else
            host_end = end;
    }
    if (host_end == host)
        return -1;
    u->host = jl_strndup(host, (size_t)(host_end - host));
    u->port = port ? jl_strndup(port, (size_t)(end - port)) : jl_strndup("6379", 4);
    char *stop;
    long pn = strtol(u->port, &stop, 10);
    if (*u->port == '\0' || *stop != '\0' || pn < 1 || pn > 65535)
        return -1;
    snprintf(u->where, sizeof u->where, "%s%s%s:%s", *p == '[' ? "[" : "", u->host,
             *p == '[' ? "]" : "", u->port);
    return 0;
}

/* ---- public API ---- */

jl_upstream_t *jl_upstream_new(jl_server_t *srv, const char *url)
{
    jl_upstream_t *u = jl_calloc(1, sizeof *u);
    u->srv = srv;
    u->fd = -1;
    u->state = ST_DOWN;
    jl_list_init(&u->lingering);
    if (parse_url(u, url) < 0) {
        jl_log_error("--upstream %s: expected redis://[[user]:password@]host[:port] or "
                     "unix:///path/to/socket%s",
                     url, strncmp(url, "rediss://", 9) == 0 ? " (TLS is not supported: use a "
                                                               "local TLS tunnel)" : "");
        u->state = ST_CLOSED;
        jl_upstream_free(u);
        return NULL;
    }
    /* Hash key and jitter seed. Without getrandom() the fallback is weak
     * but harmless: the names hashed here are already in the registry. */
    uint64_t seed[3] = {(uint64_t)getpid() << 32 ^ (uint64_t)(ev_time() * 1e6),
                        (uint64_t)(uintptr_t)u, UINT64_C(0x9e3779b97f4a7c15)};
    if (getrandom(seed, sizeof seed, 0) != (ssize_t)sizeof seed)
        jl_log_debug("getrandom failed: upstream hash key from time and pid");
    memcpy(u->key, seed, sizeof u->key);
    u->rng = (seed[0] ^ seed[2]) | 1;   /* xorshift must not start at 0 */

    struct ev_loop *loop = srv->loop;
    ev_io_init(&u->rio, upstream_on_readable, -1, EV_READ);
    ev_io_init(&u->wio, upstream_on_writable, -1, EV_WRITE);
    ev_prepare_init(&u->flusher, upstream_on_prepare);
    /* Before the server's flush: a write error answers blocked clients,
     * whose replies must then leave in this same iteration. */
    ev_set_priority(&u->flusher, EV_MAXPRI);
    ev_init(&u->timer, upstream_on_timer);
    double linger = srv->cfg->upstream_linger / 4;
    double period = linger < 0.05 ? 0.05 : linger > 1.0 ? 1.0 : linger;
    ev_timer_init(&u->tick, upstream_on_tick, period, period);
    ev_timer_start(loop, &u->tick);

    jl_registry_set_watch(srv->reg, upstream_on_watch, u);
    for (int ns = 0; ns < JL_NS_COUNT; ns++) {
        adopt_ctx_t a = {u, (jl_ns_t)ns};
        jl_registry_foreach(srv->reg, (jl_ns_t)ns, NULL, 0, adopt_name, &a);
    }
    jl_log_info("upstream %s: connecting", u->where);
    attempt(u);
    return u;
}

void jl_upstream_shutdown(jl_upstream_t *u)
{
    if (u->state == ST_CLOSED)
        return;
    /* Publishes already forwarded get their last chance to leave. */
    if (connected(u) && !jl_outq_empty(&u->out))
        (void)jl_outq_write(&u->out, u->fd);
    ev_timer_stop(u->srv->loop, &u->tick);
    conn_close(u);
    u->state = ST_CLOSED;
    fail_waiters(u, "ERR upstream unavailable: the server is shutting down");
}

void jl_upstream_free(jl_upstream_t *u)
{
    if (u == NULL)
        return;
    if (u->state != ST_CLOSED)
        jl_upstream_shutdown(u);
    if (u->srv && u->srv->reg)
        jl_registry_set_watch(u->srv->reg, NULL, NULL);
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
    free(u->host);
    free(u->port);
    free(u->path);
    free(u->user);
    free(u->pass);
    free(u);
}

int jl_upstream_forward_publish(jl_upstream_t *u, jl_client_t *client, const char *chan,
                                size_t chan_len, const char *payload, size_t len, int shard)
{
    if (u->state != ST_UP) {
        u->publishes_dropped++;
        if (client)
            jl_resp_errorf(&jl_client_reply, "ERR upstream unavailable: %s is not connected",
                           u->where);
        return -ENOTCONN;
    }
    send_array(u, 3);
    send_str(u, shard ? "SPUBLISH" : "PUBLISH");
    send_bulk(u, chan, chan_len);
    send_bulk(u, payload, len);
    u->messages_out++;
    int silent = client && (client->flags & (JL_CLIENT_REPLY_OFF | JL_CLIENT_REPLY_SKIP));
    fifo_push(u, WAIT_PUBLISH, client, silent);
    if (client == NULL)
        return JL_OK;
    /* Nothing more from this client until the reply: its replies stay in
     * order and one client cannot queue unbounded publishes. */
    client->flags |= JL_CLIENT_BLOCKED;
    ev_io_stop(u->srv->loop, &client->conn.rio);
    return JL_OK;
}

void jl_upstream_forget_client(jl_upstream_t *u, jl_client_t *client)
{
    for (size_t i = 0; i < u->fifo_count; i++) {
        waiter_t *w = &u->fifo[(u->fifo_head + i) & (u->fifo_cap - 1)];
        if (w->client == client)
            w->client = NULL;
    }
}

int jl_upstream_is_up(const jl_upstream_t *u)
{
    return u->state == ST_UP && u->synced;
}

int jl_upstream_confirmed(const jl_upstream_t *u, jl_ns_t ns, const char *name, size_t len)
{
    const up_name_t *n = u->state == ST_UP ? name_find(u, ns, name, len) : NULL;
    return n && name_confirmed(n);
}

void jl_upstream_info(const jl_upstream_t *u, jl_buf_t *out)
{
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
                  state[u->state], u->where, u->reconnects, u->messages_in, u->messages_out,
                  u->publishes_dropped, u->nheld[JL_NS_CHANNEL], u->nheld[JL_NS_PATTERN],
                  u->nheld[JL_NS_SHARD], u->nunconfirmed, u->nlingering, u->fifo_count, err);
}
