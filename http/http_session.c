/* http_session.c -- one HTTP/1.1 client: routing, responses, SSE streams.
 *
 * The only file that includes http_parser.h. A connection reads requests
 * with http-parser (bounded by --max-header-size and --head-timeout) and
 * either answers them (page, health, publish, errors; keep-alive honoured,
 * pipelined requests answered in order) or turns into an SSE stream, after
 * which it only writes: the parser and every request buffer are freed, and
 * what is left per idle stream is the session struct below, the registry's
 * subscription nodes and, for long-poll only, one timer.
 *
 *   READ --GET <path>--------------------------------> STREAM --peer gone--+
 *    |  ^                                                 | long-poll       |
 *    |  +--response, keep-alive--+                        v delay after     v
 *    +--other route----> respond +--response, close---> CLOSING <-- event --+
 *    +--malformed / too big / too slow ----------------------^
 *
 * A stream is a registry sink. deliver() frames an event once per publish
 * (the frame is cached in the jl_msg_t) and queues a reference; one global
 * keepalive timer queues one shared ": keepalive N" frame to every stream.
 *
 * Status codes and EventSource: any status but 200 stops a browser's
 * EventSource for good (WHATWG HTML §9.2). So the stream route never fails
 * softly with an error: channels that are not allowed, and ?pattern= when
 * patterns are disabled, are dropped silently (as Jugglite does with
 * allowed_channels) and the registration comment shows what was really
 * subscribed. Shedding load and shutting down answer 200 + "retry:" and
 * close, so browsers come back later. Only a malformed request gets 4xx. */
#include "http/http_session.h"
#include "http/page.h"
#include "http/query.h"
#include "http/sse.h"
#include "server/log.h"
#include "server/server.h"

#include <http_parser.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define MAX_QUERY_PAIRS 256
#define FIELD_CAP 32            /* longest header name we care about */
#define SKIP_BODY_MAX 65536     /* a refused request's body up to this is read and dropped */
#define SCRATCH_KEEP 65536      /* the event scratch buffer shrinks back above this */

/* ---- the HTTP side's state (one per server, owned by main.c) ---- */

struct jl_http {
    jl_server_t *srv;
    jl_list_t streams;          /* every stream, http_session_t.stream; srv->stats.sse_streams counts them */
    jl_list_t waiting;          /* streams whose upstream subscriptions are unconfirmed */
    ev_timer keepalive;
    jl_frame_t *page;           /* the built-in page, rendered once */
    uint64_t rng;               /* xorshift state for retry jitter */
    jl_buf_t scratch;           /* event frames */
    jl_buf_t head;              /* response heads */
};

/* ---- per connection ---- */

enum { ST_READ, ST_STREAM };

enum {
    RQ_XHR = 1 << 0,            /* X-Requested-With: XMLHttpRequest (long-poll) */
    RQ_EXPECT_CONTINUE = 1 << 1,
    RQ_EXPECT_OTHER = 1 << 2,
    RQ_PREFLIGHT = 1 << 3,      /* Access-Control-Request-Method present */
    RQ_HEAD_DONE = 1 << 4,
    RQ_COMPLETE = 1 << 5,
    RQ_KEEP_ALIVE = 1 << 6,
    RQ_FIELD_LONG = 1 << 7,     /* header name longer than FIELD_CAP: not one of ours */
    RQ_IN_VALUE = 1 << 8,
    RQ_EARLY = 1 << 9,          /* answer before the body (then close) */
};

typedef enum { R_NONE, R_STREAM, R_PUBLISH, R_HEALTH, R_PAGE } route_t;

/* Only while a request is being read. */
typedef struct http_req {
    http_parser parser;
    double since;               /* waiting for this request's head since */
    uint16_t flags;
    uint8_t route;
    uint16_t status;            /* an error decided before dispatch, or 0 */
    jl_buf_t url;
    char field[FIELD_CAP];
    size_t field_len;
    jl_buf_t value;
    jl_buf_t body;
    char *authorization;
    char *origin;
    char *last_event_id;
    size_t path_off, path_len;  /* into url (raw) */
    size_t query_off, query_len;
} http_req_t;

/* A stream's registration comment waiting for upstream confirmations. */
typedef struct reg_wait {
    jl_list_t node;             /* srv->http->waiting */
    struct http_session *owner;
    jl_buf_t comment;
    jl_buf_t names;             /* n records: ns byte, 4-byte length, bytes */
} reg_wait_t;

typedef struct http_session {
    jl_conn_t conn;             /* first: a jl_conn_t * is an http_session_t * */
    jl_sink_t sink;
    jl_list_t stream;           /* srv->http->streams while a stream */
    http_req_t *req;            /* request being read; NULL on a stream */
    ev_timer *longpoll;         /* long-poll streams only */
    reg_wait_t *wait;           /* upstream mode, until confirmed */
    jl_http_t *http;
    uint8_t state;
    uint8_t over_cap;
    uint32_t ignored;           /* bytes received on a stream after its head */
} http_session_t;

static http_session_t *session_of(jl_conn_t *c)
{
    return JL_CONTAINER_OF(c, http_session_t, conn);
}


/* ---- small helpers ---- */

static uint64_t rng_next(jl_http_t *h)
{
    uint64_t x = h->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return h->rng = x;
}

/* retry_ms +/- 20%, so that clients shed together do not return together. */
static unsigned retry_jittered(jl_http_t *h)
{
    unsigned ms = h->srv->cfg->retry_ms;
    if (ms == 0)
        return 0;
    double f = 0.8 + 0.4 * ((double)(rng_next(h) >> 11) / 9007199254740992.0);
    return (unsigned)(ms * f + 0.5);
}

static int eq_nocase(const char *a, size_t alen, const char *b)
{
    return alen == strlen(b) && strncasecmp(a, b, alen) == 0;
}

/* Constant time in the secret's length: every byte of the token is compared
 * whatever the guess. */
static int token_equal(const char *guess, size_t glen, const char *token)
{
    size_t tlen = strlen(token);
    unsigned diff = glen != tlen;
    for (size_t i = 0; i < tlen; i++)
        diff |= (unsigned char)token[i] ^ (unsigned char)(glen ? guess[i % glen] : 0);
    return diff == 0;
}

static const char *reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 417: return "Expectation Failed";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    default: return "Error";
    }
}

/* ---- the request record ---- */

static void req_clear(http_req_t *r)
{
    r->flags = 0;
    r->route = R_NONE;
    r->status = 0;
    r->url.len = 0;
    r->field_len = 0;
    r->value.len = 0;
    jl_buf_free(&r->body);
    free(r->authorization);
    free(r->origin);
    free(r->last_event_id);
    r->authorization = r->origin = r->last_event_id = NULL;
}

static void req_free(http_req_t *r)
{
    if (r == NULL)
        return;
    req_clear(r);
    jl_buf_free(&r->url);
    jl_buf_free(&r->value);
    free(r);
}

/* ---- responses ---- */

static void add_cors(http_session_t *s, jl_buf_t *b)
{
    const jl_config_t *cfg = s->http->srv->cfg;
    if (cfg->n_cors_origins == 0)
        return;
    const char *origin = s->req ? s->req->origin : NULL;
    int star = 0;
    for (size_t i = 0; i < cfg->n_cors_origins; i++) {
        if (strcmp(cfg->cors_origins[i], "*") == 0) {
            star = 1;
        } else if (origin && strcmp(cfg->cors_origins[i], origin) == 0) {
            jl_buf_printf(b, "Access-Control-Allow-Origin: %s\r\n"
                             "Access-Control-Allow-Credentials: true\r\nVary: Origin\r\n", origin);
            return;
        }
    }
    if (star)
        jl_buf_append_str(b, "Access-Control-Allow-Origin: *\r\n");
    else
        jl_buf_append_str(b, "Vary: Origin\r\n");
}

/* Resets the request record for the next request on a kept-alive
 * connection; the head timeout starts again now. */
static void req_next(http_session_t *s)
{
    req_clear(s->req);
    s->req->since = ev_now(s->http->srv->loop);
}

/* Queues a complete non-stream response. keep: the connection stays open
 * for another request (only if the client allows it). 'extra' holds more
 * header lines (each ending in CRLF) or is NULL. 'body_frame' (shared,
 * not consumed) replaces body when not NULL. */
static void respond_full(http_session_t *s, int status, const char *ctype, const char *extra,
                         const char *body, size_t len, jl_frame_t *body_frame, int keep)
{
    http_req_t *r = s->req;
    if (body_frame) {
        body = body_frame->data;
        len = body_frame->len;
    }
    keep = keep && r && (r->flags & RQ_KEEP_ALIVE);
    int head_only = r && r->parser.method == HTTP_HEAD;
    jl_buf_t *head = &s->http->head;
    head->len = 0;
    jl_buf_printf(head, "HTTP/1.1 %d %s\r\n", status, reason(status));
    if (ctype)
        jl_buf_printf(head, "Content-Type: %s\r\n", ctype);
    if (status != 204)
        jl_buf_printf(head, "Content-Length: %zu\r\n", len);
    if (extra)
        jl_buf_append_str(head, extra);
    add_cors(s, head);
    if (!keep)
        jl_buf_append_str(head, "Connection: close\r\n");
    else if (r->parser.http_major == 1 && r->parser.http_minor == 0)
        jl_buf_append_str(head, "Connection: keep-alive\r\n");
    jl_buf_append(head, "\r\n", 2);
    jl_conn_append(&s->conn, head->data, head->len);
    if (!head_only && status != 204 && len) {
        if (body_frame)
            jl_conn_push(&s->conn, body_frame);
        else
            jl_conn_append(&s->conn, body, len);
    }
    if (keep)
        req_next(s);
    else
        jl_conn_close_after_flush(&s->conn);
}

static void respond(http_session_t *s, int status, const char *ctype, const char *extra,
                    const char *body, int keep)
{
    respond_full(s, status, ctype, extra, body, body ? strlen(body) : 0, NULL, keep);
}

/* Error responses: a short text body. 400, 413, 417 and 431 close the
 * connection (the rest of the input cannot be trusted or was not read). */
static void respond_error(http_session_t *s, int status, const char *extra)
{
    char body[96];
    snprintf(body, sizeof body, "%d %s\n", status, reason(status));
    int keep = status == 401 || status == 404 || status == 405 || status == 411;
    respond(s, status, "text/plain; charset=utf-8", extra, body, keep);
}

static void stream_head(http_session_t *s)
{
    jl_buf_t *head = &s->http->head;
    head->len = 0;
    jl_buf_append_str(head, "HTTP/1.1 200 OK\r\n"
                             "Content-Type: text/event-stream;charset=utf-8\r\n"
                             "Cache-Control: no-cache\r\n"
                             "X-Accel-Buffering: no\r\n"
                             "Connection: close\r\n");
    add_cors(s, head);
    jl_buf_append(head, "\r\n", 2);
    jl_conn_append(&s->conn, head->data, head->len);
}

static void append_retry(http_session_t *s)
{
    jl_buf_t b = {0};
    jl_sse_retry(&b, retry_jittered(s->http));
    jl_conn_append(&s->conn, b.data, b.len);
    jl_buf_free(&b);
}

/* ---- SSE streams ---- */

static void longpoll_fire(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    http_session_t *s = w->data;
    jl_conn_close_after_flush(&s->conn);
}

static int http_deliver(jl_sink_t *sink, jl_msg_t *msg)
{
    http_session_t *s = JL_CONTAINER_OF(sink, http_session_t, sink);
    if (s->conn.closing)
        return 0;
    jl_frame_t *f = msg->frames[JL_FRAME_SSE];
    if (f == NULL) {
        jl_buf_t *scratch = &s->http->scratch;
        scratch->len = 0;
        jl_sse_event(scratch, msg->payload, msg->payload_len);
        f = msg->frames[JL_FRAME_SSE] = jl_frame_from(scratch->data, scratch->len);
        if (scratch->cap > SCRATCH_KEEP)
            jl_buf_free(scratch);
    }
    jl_conn_push(&s->conn, f);
    s->http->srv->stats.sse_events_sent++;
    if (s->longpoll) {
        /* (Re)armed by every event, never by keepalives (Jugglite). */
        struct ev_loop *loop = s->http->srv->loop;
        ev_timer_stop(loop, s->longpoll);
        ev_timer_set(s->longpoll, s->http->srv->cfg->longpoll_delay, 0.);
        ev_timer_start(loop, s->longpoll);
    }
    return 1;
}

static const jl_sink_ops_t http_sink_ops = {.deliver = http_deliver};

static void on_keepalive(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    jl_http_t *h = JL_CONTAINER_OF(w, jl_http_t, keepalive);
    size_t nstreams = h->srv->stats.sse_streams;
    if (nstreams == 0)
        return;
    jl_buf_t b = {0};
    jl_sse_keepalive(&b, (unsigned long)nstreams);
    jl_frame_t *f = jl_frame_from(b.data, b.len);
    jl_buf_free(&b);
    JL_LIST_FOREACH(&h->streams, it)
        jl_conn_push(&JL_CONTAINER_OF(it, http_session_t, stream)->conn, f);
    jl_frame_unref(f);
}

/* The names one stream asked for, as they go into the registry. */
typedef struct names {
    jl_buf_t bytes;
    size_t *off, *len;
    uint8_t *ns;
    size_t n, cap;
} names_t;

typedef struct collect {
    http_session_t *s;
    names_t *names;
    jl_ns_t ns;
    jl_buf_t tmp;
} collect_t;

static int channel_allowed(const jl_config_t *cfg, const char *name, size_t len)
{
    if (cfg->allowed_channels == NULL)
        return 1;
    for (size_t i = 0; i < cfg->n_allowed_channels; i++) {
        const char *a = cfg->allowed_channels[i];
        if (strlen(a) == len && memcmp(a, name, len) == 0)
            return 1;
    }
    return 0;
}

/* The namespace goes in front of a pattern literally: glob characters in it
 * are escaped so that they match only themselves. */
static void append_glob_literal(jl_buf_t *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '*' || *s == '?' || *s == '[' || *s == ']' || *s == '\\')
            jl_buf_append_char(b, '\\');
        jl_buf_append_char(b, *s);
    }
}

static void collect_item(void *ud, const char *item, size_t len)
{
    collect_t *c = ud;
    jl_server_t *srv = c->s->http->srv;
    const jl_config_t *cfg = srv->cfg;
    if (c->ns == JL_NS_CHANNEL && !channel_allowed(cfg, item, len))
        return;
    /* A 16 KiB request head could otherwise pin thousands of subscriptions
     * per connection; the excess is dropped like a disallowed channel. */
    if (c->names->n >= cfg->max_stream_channels)
        return;
    c->tmp.len = 0;
    if (c->ns == JL_NS_PATTERN)
        append_glob_literal(&c->tmp, cfg->namespace_);
    else
        jl_buf_append_str(&c->tmp, cfg->namespace_);
    jl_buf_append(&c->tmp, item, len);
    if (!jl_registry_subscribe(srv->reg, &c->s->sink, c->ns, c->tmp.data ? c->tmp.data : "",
                               c->tmp.len))
        return;     /* a duplicate */
    names_t *n = c->names;
    if (n->n == n->cap) {
        n->cap = n->cap ? n->cap * 2 : 8;
        n->off = jl_realloc(n->off, n->cap * sizeof *n->off);
        n->len = jl_realloc(n->len, n->cap * sizeof *n->len);
        n->ns = jl_realloc(n->ns, n->cap * sizeof *n->ns);
    }
    n->off[n->n] = n->bytes.len;
    n->len[n->n] = c->tmp.len;
    n->ns[n->n] = (uint8_t)c->ns;
    n->n++;
    jl_buf_append(&n->bytes, c->tmp.data, c->tmp.len);
}

static void names_free(names_t *n)
{
    jl_buf_free(&n->bytes);
    free(n->off);
    free(n->len);
    free(n->ns);
}

static int wait_confirmed(jl_server_t *srv, const reg_wait_t *w)
{
    const char *p = w->names.data, *end = p + w->names.len;
    while (p < end) {
        uint32_t len;
        jl_ns_t ns = (jl_ns_t)(uint8_t)*p++;
        memcpy(&len, p, sizeof len);
        p += sizeof len;
        if (!jl_relay_confirmed(srv->relay, ns, p, len))
            return 0;
        p += len;
    }
    return 1;
}

static void wait_free(http_session_t *s)
{
    if (s->wait == NULL)
        return;
    jl_list_remove(&s->wait->node);
    jl_buf_free(&s->wait->comment);
    jl_buf_free(&s->wait->names);
    free(s->wait);
    s->wait = NULL;
}

/* GET <path>: subscribe, send the head and the registration comment. */
static void start_stream(http_session_t *s)
{
    jl_server_t *srv = s->http->srv;
    const jl_config_t *cfg = srv->cfg;
    http_req_t *r = s->req;

    if (s->over_cap) {
        /* Full: a 200 and a retry: make the browser come back later (a 503
         * would stop it for good). */
        stream_head(s);
        append_retry(s);
        jl_conn_close_after_flush(&s->conn);
        return;
    }
    jl_query_t q = {0};
    if (jl_query_parse(r->url.data + r->query_off, r->query_len, MAX_QUERY_PAIRS, &q) < 0) {
        respond_error(s, 400, NULL);
        return;
    }
    names_t names = {0};
    collect_t c = {.s = s, .names = &names, .ns = JL_NS_CHANNEL};
    jl_query_each_list(&q, "channel", collect_item, &c);
    /* Patterns could reach any channel, so they are off with an allow-list
     * even when --allow-patterns is given. */
    if (cfg->allow_patterns && cfg->allowed_channels == NULL) {
        c.ns = JL_NS_PATTERN;
        jl_query_each_list(&q, "pattern", collect_item, &c);
    }
    jl_buf_free(&c.tmp);

    jl_query_free(&q);

    stream_head(s);
    const char **ptrs = jl_calloc(names.n + 1, sizeof *ptrs);
    for (size_t i = 0; i < names.n; i++)
        ptrs[i] = names.bytes.data + names.off[i];
    jl_buf_t comment = {0};
    jl_sse_registered(&comment, (const char *const *)ptrs, names.len, names.n);
    free(ptrs);
    reg_wait_t *w = NULL;
    if (names.n) {
        w = jl_calloc(1, sizeof *w);
        for (size_t i = 0; i < names.n; i++) {
            uint32_t len = (uint32_t)names.len[i];
            jl_buf_append_char(&w->names, (char)names.ns[i]);
            jl_buf_append(&w->names, &len, sizeof len);
            jl_buf_append(&w->names, names.bytes.data + names.off[i], len);
        }
        if (wait_confirmed(srv, w)) {
            jl_buf_free(&w->names);
            free(w);
            w = NULL;
        }
    }
    if (w) {
        w->comment = comment;
        w->owner = s;
        s->wait = w;
        jl_list_push(&s->http->waiting, &w->node);
    } else {
        jl_conn_append(&s->conn, comment.data, comment.len);
        jl_buf_free(&comment);
    }

    int longpoll = r->flags & RQ_XHR;
    if (longpoll) {
        s->longpoll = jl_calloc(1, sizeof *s->longpoll);
        ev_timer_init(s->longpoll, longpoll_fire, cfg->longpoll_delay, 0.);
        s->longpoll->data = s;
    }
    jl_log_debug("conn %llu: SSE stream on %zu names%s", (unsigned long long)s->conn.id, names.n,
                 longpoll ? " (long-poll)" : "");
    names_free(&names);

    /* From here on the connection only writes. */
    req_free(s->req);
    s->req = NULL;
    s->state = ST_STREAM;
    jl_list_push(&s->http->streams, &s->stream);
    srv->stats.sse_streams++;
    srv->stats.sse_connections_received++;
}

/* ---- other routes ---- */

static void serve_health(http_session_t *s)
{
    jl_server_t *srv = s->http->srv;
    int health = jl_relay_health(srv->relay);
    int ok = health != 0;
    const char *up = health < 0 ? "none" : ok ? "up" : "down";
    char body[256];
    snprintf(body, sizeof body,
             "{\"status\":\"%s\",\"connections\":%zu,\"sse_streams\":%zu,\"upstream\":\"%s\","
             "\"publish\":%s}",
             ok ? "ok" : "upstream down", srv->conns.accepted, srv->stats.sse_streams, up,
             srv->cfg->publish_token ? "true" : "false");
    respond(s, ok ? 200 : 503, "application/json", "Cache-Control: no-cache\r\n", body, 1);
}

/* The relay's answer, when it comes before jl_relay_publish returns. */
typedef struct published {
    int answered;
    long long receivers;
} published_t;

static void on_published(void *ud, const jl_relay_reply_t *reply)
{
    published_t *res = ud;
    res->answered = 1;
    res->receivers = reply->receivers;
}

static void serve_publish(http_session_t *s)
{
    jl_server_t *srv = s->http->srv;
    const jl_config_t *cfg = srv->cfg;
    http_req_t *r = s->req;
    jl_query_t q = {0};
    const jl_query_pair_t *ch = NULL;
    if (jl_query_parse(r->url.data + r->query_off, r->query_len, MAX_QUERY_PAIRS, &q) == 0)
        ch = jl_query_get(&q, "channel");
    if (ch == NULL || ch->val_len == 0) {
        jl_query_free(&q);
        respond(s, 400, "text/plain; charset=utf-8", NULL, "400 Bad Request: missing channel\n", 1);
        return;
    }
    /* HTTP publishers use the same names as SSE subscribers: the namespace
     * is added here too. No allow-list: the token holder is trusted. */
    jl_buf_t name = {0};
    jl_buf_append_str(&name, cfg->namespace_);
    jl_buf_append(&name, ch->val, ch->val_len);
    jl_query_free(&q);
    jl_pub_t pub = {name.data, name.len, r->body.data ? r->body.data : "", r->body.len, 0};
    published_t res = {0};
    int rc = jl_relay_publish(srv->relay, &pub, on_published, &res);
    jl_buf_free(&name);
    if (rc < 0) {
        respond(s, 503, "application/json", "Retry-After: 1\r\n",
                "{\"error\":\"upstream unavailable\"}", 1);
        return;
    }
    srv->stats.http_publishes++;
    if (!res.answered) {
        /* Bridged: the message goes upstream and comes back to every node;
         * the upstream's receiver count is not waited for. */
        jl_relay_cancel(srv->relay, &res);
        respond(s, 202, "application/json", NULL, "{\"forwarded\":true}", 1);
        return;
    }
    char body[64];
    snprintf(body, sizeof body, "{\"receivers\":%lld}", res.receivers);
    respond(s, 200, "application/json", NULL, body, 1);
}

static const char *allow_of(route_t route)
{
    switch (route) {
    case R_STREAM: return "GET, OPTIONS";
    case R_PUBLISH: return "POST, OPTIONS";
    default: return "GET, HEAD, OPTIONS";
    }
}

static void serve_options(http_session_t *s)
{
    char extra[512];
    const jl_config_t *cfg = s->http->srv->cfg;
    int n = snprintf(extra, sizeof extra, "Allow: %s\r\n", allow_of((route_t)s->req->route));
    if (cfg->n_cors_origins && (s->req->flags & RQ_PREFLIGHT))
        snprintf(extra + n, sizeof extra - (size_t)n,
                 "Access-Control-Allow-Methods: GET, POST, OPTIONS\r\n"
                 "Access-Control-Allow-Headers: Last-Event-ID, Authorization, Content-Type, "
                 "X-Requested-With, Cache-Control\r\n"
                 "Access-Control-Max-Age: 86400\r\n");
    respond(s, 204, NULL, extra, NULL, 1);
}

static void dispatch(http_session_t *s)
{
    http_req_t *r = s->req;
    jl_server_t *srv = s->http->srv;
    if (s->over_cap && !r->status) {
        if (r->route == R_STREAM && r->parser.method == HTTP_GET) {
            start_stream(s);
        } else {
            char extra[64];
            unsigned secs = (srv->cfg->retry_ms + 999) / 1000;
            snprintf(extra, sizeof extra, "Retry-After: %u\r\n", secs ? secs : 1);
            respond(s, 503, "text/plain; charset=utf-8", extra,
                    "503 Service Unavailable: too many connections\n", 0);
        }
        return;
    }
    if (r->status) {
        respond_error(s, r->status, r->status == 401 ? "WWW-Authenticate: Bearer\r\n" : NULL);
        return;
    }
    int method = r->parser.method;
    if (r->route == R_NONE) {
        respond_error(s, 404, NULL);
        return;
    }
    if (method == HTTP_OPTIONS) {
        serve_options(s);
        return;
    }
    char allow[64];
    snprintf(allow, sizeof allow, "Allow: %s\r\n", allow_of((route_t)r->route));
    switch (r->route) {
    case R_STREAM:
        if (method == HTTP_GET)
            start_stream(s);
        else
            respond_error(s, 405, allow);
        return;
    case R_PUBLISH:
        if (method == HTTP_POST)
            serve_publish(s);
        else
            respond_error(s, 405, allow);
        return;
    case R_HEALTH:
        if (method == HTTP_GET || method == HTTP_HEAD)
            serve_health(s);
        else
            respond_error(s, 405, allow);
        return;
    case R_PAGE:
        if (method == HTTP_GET || method == HTTP_HEAD)
            respond_full(s, 200, "text/html; charset=utf-8", "Cache-Control: no-cache\r\n", NULL,
                         0, s->http->page, 1);
        else
            respond_error(s, 405, allow);
        return;
    default:
        respond_error(s, 404, NULL);
    }
}

/* ---- http-parser callbacks ---- */

static http_session_t *parser_session(http_parser *p) { return p->data; }

static int cb_message_begin(http_parser *p)
{
    http_req_t *r = parser_session(p)->req;
    double since = r->since;
    req_clear(r);
    r->since = since;
    return 0;
}

static int cb_url(http_parser *p, const char *at, size_t len)
{
    jl_buf_append(&parser_session(p)->req->url, at, len);
    return 0;
}

static char *dup_value(const jl_buf_t *v)
{
    return jl_strndup(v->data ? v->data : "", v->len);
}

/* One complete header: keep the few that matter. */
static void header_done(http_req_t *r)
{
    if (!(r->flags & RQ_FIELD_LONG)) {
        const char *f = r->field, *v = r->value.data ? r->value.data : "";
        size_t fl = r->field_len, vl = r->value.len;
        if (eq_nocase(f, fl, "x-requested-with")) {
            if (eq_nocase(v, vl, "XMLHttpRequest"))
                r->flags |= RQ_XHR;
        } else if (eq_nocase(f, fl, "last-event-id")) {
            free(r->last_event_id);
            r->last_event_id = dup_value(&r->value);
        } else if (eq_nocase(f, fl, "authorization")) {
            free(r->authorization);
            r->authorization = dup_value(&r->value);
        } else if (eq_nocase(f, fl, "origin")) {
            free(r->origin);
            r->origin = dup_value(&r->value);
        } else if (eq_nocase(f, fl, "expect")) {
            if (eq_nocase(v, vl, "100-continue"))
                r->flags |= RQ_EXPECT_CONTINUE;
            else
                r->flags |= RQ_EXPECT_OTHER;
        } else if (eq_nocase(f, fl, "access-control-request-method")) {
            r->flags |= RQ_PREFLIGHT;
        }
    }
    r->flags &= (uint16_t)~(RQ_FIELD_LONG | RQ_IN_VALUE);
    r->field_len = 0;
    r->value.len = 0;
}

static int cb_header_field(http_parser *p, const char *at, size_t len)
{
    http_req_t *r = parser_session(p)->req;
    if (r->flags & RQ_IN_VALUE)
        header_done(r);
    if (r->field_len + len > FIELD_CAP) {
        r->flags |= RQ_FIELD_LONG;
        return 0;
    }
    memcpy(r->field + r->field_len, at, len);
    r->field_len += len;
    return 0;
}

static int cb_header_value(http_parser *p, const char *at, size_t len)
{
    http_req_t *r = parser_session(p)->req;
    r->flags |= RQ_IN_VALUE;
    if (!(r->flags & RQ_FIELD_LONG))
        jl_buf_append(&r->value, at, len);
    return 0;
}

static route_t route_of(const jl_config_t *cfg, const char *path, size_t len)
{
    if (len == strlen(cfg->path) && memcmp(path, cfg->path, len) == 0)
        return R_STREAM;
    if (cfg->publish_token && len == strlen(cfg->publish_path) &&
        memcmp(path, cfg->publish_path, len) == 0)
        return R_PUBLISH;
    if (len == 7 && memcmp(path, "/health", 7) == 0)
        return R_HEALTH;
    if (len == 1 && path[0] == '/')
        return R_PAGE;
    return R_NONE;
}

/* Checks a publish request before its body is read, so that a refused
 * request does not make us read (or the client send) a large body. */
static void check_publish(http_session_t *s)
{
    const jl_config_t *cfg = s->http->srv->cfg;
    http_req_t *r = s->req;
    http_parser *p = &r->parser;
    const char *auth = r->authorization;
    int authed = 0;
    if (auth && strncasecmp(auth, "Bearer ", 7) == 0) {
        const char *t = auth + 7;
        while (*t == ' ')
            t++;
        size_t tl = strlen(t);
        while (tl && (t[tl - 1] == ' ' || t[tl - 1] == '\t'))
            tl--;
        authed = token_equal(t, tl, cfg->publish_token);
    }
    int chunked = p->flags & F_CHUNKED;
    int has_length = p->flags & F_CONTENTLENGTH;
    if (!authed)
        r->status = 401;
    else if (has_length && p->content_length > cfg->max_message)
        r->status = 413;
    else if (!has_length && !chunked)
        r->status = 411;
}

static int cb_headers_complete(http_parser *p)
{
    http_session_t *s = parser_session(p);
    http_req_t *r = s->req;
    const jl_config_t *cfg = s->http->srv->cfg;
    if (r->flags & RQ_IN_VALUE)
        header_done(r);
    r->flags |= RQ_HEAD_DONE;

    struct http_parser_url u;
    http_parser_url_init(&u);
    if (r->url.len == 0 || http_parser_parse_url(r->url.data, r->url.len, 0, &u) != 0 ||
        !(u.field_set & (1 << UF_PATH))) {
        r->status = 400;
    } else {
        r->path_off = u.field_data[UF_PATH].off;
        r->path_len = u.field_data[UF_PATH].len;
        if (u.field_set & (1 << UF_QUERY)) {
            r->query_off = u.field_data[UF_QUERY].off;
            r->query_len = u.field_data[UF_QUERY].len;
        } else {
            r->query_off = r->query_len = 0;
        }
        /* The path is matched decoded: /str%65am is /stream. */
        char *path = jl_malloc(r->path_len + 1);
        size_t n = jl_query_decode(path, r->url.data + r->path_off, r->path_len, 0);
        r->route = (uint8_t)route_of(cfg, path, n);
        free(path);
    }
    if (!r->status && (r->flags & RQ_EXPECT_OTHER))
        r->status = 417;
    if (!r->status && !s->over_cap && r->route == R_PUBLISH && p->method == HTTP_POST)
        check_publish(s);

    int body_follows = (p->flags & F_CHUNKED) ||
                       ((p->flags & F_CONTENTLENGTH) && p->content_length > 0);
    if (r->status && body_follows &&
        ((r->flags & RQ_EXPECT_CONTINUE) || (p->flags & F_CHUNKED) ||
         p->content_length > SKIP_BODY_MAX || r->status == 413)) {
        /* Answer now and close rather than read a body we do not want. */
        r->flags |= RQ_EARLY;
        http_parser_pause(p, 1);
        return 0;
    }
    if (!r->status && body_follows && (r->flags & RQ_EXPECT_CONTINUE) && r->route == R_PUBLISH) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        jl_conn_append(&s->conn, cont, sizeof cont - 1);
    }
    return 0;
}

static int cb_body(http_parser *p, const char *at, size_t len)
{
    http_session_t *s = parser_session(p);
    http_req_t *r = s->req;
    if (r->status || r->route != R_PUBLISH || p->method != HTTP_POST || s->over_cap)
        return 0;   /* not wanted: dropped */
    if (r->body.len + len > s->http->srv->cfg->max_message) {
        r->status = 413;
        r->flags |= RQ_EARLY;
        jl_buf_free(&r->body);
        http_parser_pause(p, 1);
        return 0;
    }
    jl_buf_append(&r->body, at, len);
    return 0;
}

static int cb_message_complete(http_parser *p)
{
    http_req_t *r = parser_session(p)->req;
    r->flags |= RQ_COMPLETE;
    if (http_should_keep_alive(p) && !p->upgrade)
        r->flags |= RQ_KEEP_ALIVE;
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings parser_settings = {
    .on_message_begin = cb_message_begin,
    .on_url = cb_url,
    .on_header_field = cb_header_field,
    .on_header_value = cb_header_value,
    .on_headers_complete = cb_headers_complete,
    .on_body = cb_body,
    .on_message_complete = cb_message_complete,
};

/* ---- connection ops ---- */

static void http_on_input(jl_conn_t *c)
{
    http_session_t *s = session_of(c);
    if (s->state == ST_STREAM) {
        /* Nothing is expected after a stream's head; read only to notice
         * the close, and drop a peer that keeps talking. */
        size_t total = (size_t)s->ignored + c->in.len;
        jl_buf_consume(&c->in, c->in.len);
        if (total > session_of(c)->http->srv->cfg->max_head)
            jl_conn_close(c, "input on an SSE stream");
        s->ignored = (uint32_t)(total > UINT32_MAX ? UINT32_MAX : total);
        return;
    }
    size_t off = 0;
    while (off < c->in.len && s->state == ST_READ && !c->closing && !c->close_after_flush) {
        http_req_t *r = s->req;
        size_t n = http_parser_execute(&r->parser, &parser_settings, c->in.data + off,
                                       c->in.len - off);
        off += n;
        enum http_errno err = HTTP_PARSER_ERRNO(&r->parser);
        if (err == HPE_PAUSED) {
            http_parser_pause(&r->parser, 0);
            if (r->flags & RQ_EARLY) {
                r->flags &= (uint16_t)~RQ_KEEP_ALIVE;
                respond_error(s, r->status, r->status == 401 ? "WWW-Authenticate: Bearer\r\n" : NULL);
                break;
            }
            dispatch(s);
            continue;
        }
        if (err != HPE_OK) {
            jl_log_debug("conn %llu: bad HTTP request: %s", (unsigned long long)c->id,
                         http_errno_description(err));
            r->flags &= (uint16_t)~RQ_KEEP_ALIVE;
            respond_error(s, err == HPE_HEADER_OVERFLOW ? 431 : 400, NULL);
            break;
        }
        if (n == 0 || r->parser.upgrade)
            break;  /* cannot happen without an error; never spin */
    }
    jl_buf_consume(&c->in, c->in.len);
}

static void http_on_shutdown(jl_conn_t *c)
{
    http_session_t *s = session_of(c);
    if (s->state == ST_STREAM)
        append_retry(s);    /* the browser reconnects (elsewhere) after this */
    jl_conn_close_after_flush(c);
}

static void http_on_cron(jl_conn_t *c, double now)
{
    http_session_t *s = session_of(c);
    http_req_t *r = s->req;
    if (s->state != ST_READ || r == NULL || c->close_after_flush)
        return;
    double limit = session_of(c)->http->srv->cfg->head_timeout;
    if (!(r->flags & RQ_HEAD_DONE) && !jl_outq_empty(&c->out)) {
        /* Kept alive: a response still being written is not the client's
         * idleness; the wait for the next request starts after it. */
        r->since = now;
        return;
    }
    int wanted_body = (r->flags & RQ_HEAD_DONE) && r->route == R_PUBLISH && r->status == 0 &&
                      r->parser.method == HTTP_POST && !s->over_cap;
    if (wanted_body) {
        /* An accepted publish body may be large: only stalling is bounded. */
        if (now - c->last_active > limit)
            jl_conn_close(c, "HTTP body timeout");
    } else if (now - r->since > limit) {
        /* The head, or a body we only drop, trickled: the whole request is
         * bounded, or one byte a second would hold the connection forever. */
        jl_conn_close(c, "HTTP request timeout");
    }
}

static void http_on_free(jl_conn_t *c)
{
    http_session_t *s = session_of(c);
    jl_server_t *srv = s->http->srv;
    for (int ns = 0; ns < JL_NS_COUNT; ns++)
        jl_registry_unsubscribe_all(srv->reg, &s->sink, (jl_ns_t)ns, NULL, NULL);
    if (jl_list_linked(&s->stream)) {
        jl_list_remove(&s->stream);
        srv->stats.sse_streams--;
    }
    if (s->longpoll) {
        ev_timer_stop(srv->loop, s->longpoll);
        free(s->longpoll);
    }
    wait_free(s);
    req_free(s->req);
    free(s);
}

static const jl_conn_ops_t http_ops = {
    .on_input = http_on_input,
    .on_shutdown = http_on_shutdown,
    .on_cron = http_on_cron,
    .on_free = http_on_free,
};

/* ---- the HTTP side ---- */

/* The relay says subscriptions were confirmed: waiting streams re-check. */
static void streams_ready(void *ud)
{
    jl_http_t *h = ud;
    JL_LIST_FOREACH_SAFE(&h->waiting, it, tmp) {
        reg_wait_t *w = JL_CONTAINER_OF(it, reg_wait_t, node);
        if (!wait_confirmed(h->srv, w))
            continue;
        http_session_t *s = w->owner;
        jl_conn_append(&s->conn, w->comment.data, w->comment.len);
        wait_free(s);
    }
}

jl_http_t *jl_http_new(jl_server_t *srv)
{
    const jl_config_t *cfg = srv->cfg;
    jl_http_t *h = jl_calloc(1, sizeof *h);
    h->srv = srv;
    jl_list_init(&h->streams);
    jl_list_init(&h->waiting);
    if (getrandom(&h->rng, sizeof h->rng, 0) != (ssize_t)sizeof h->rng)
        h->rng = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    if (h->rng == 0)
        h->rng = 0x9e3779b97f4a7c15ULL;
    jl_buf_t page = {0};
    jl_page_render(&page, cfg->path, cfg->publish_path, cfg->namespace_, cfg->resp_port);
    h->page = jl_frame_from(page.data, page.len);
    jl_buf_free(&page);
    /* The parser counts the request line and headers against this. */
    http_parser_set_max_header_size((uint32_t)(cfg->max_head > UINT32_MAX ? UINT32_MAX
                                                                           : cfg->max_head));
    ev_timer_init(&h->keepalive, on_keepalive, cfg->keepalive, cfg->keepalive);
    ev_timer_start(srv->loop, &h->keepalive);
    jl_relay_on_ready(srv->relay, streams_ready, h);
    return h;
}

void jl_http_free(jl_http_t *h)
{
    if (h == NULL)
        return;
    jl_relay_on_ready(h->srv->relay, NULL, NULL);
    ev_timer_stop(h->srv->loop, &h->keepalive);
    jl_frame_unref(h->page);
    jl_buf_free(&h->scratch);
    jl_buf_free(&h->head);
    free(h);
}

void jl_http_accept(void *ud, jl_server_t *srv, int fd, int unix_socket, int over_cap)
{
    http_session_t *s = jl_calloc(1, sizeof *s);
    jl_sink_init(&s->sink, &http_sink_ops);
    s->http = ud;
    s->over_cap = (uint8_t)over_cap;
    s->state = ST_READ;
    s->req = jl_calloc(1, sizeof *s->req);
    http_parser_init(&s->req->parser, HTTP_REQUEST);
    s->req->parser.data = s;
    jl_conn_init(&s->conn, &srv->conns, &http_ops, fd, unix_socket);
    s->req->since = s->conn.created;
}
