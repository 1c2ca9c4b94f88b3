/* sse_stream.c -- the SSE stream as a registry sink (see sse_stream.h).
 *
 * What is left per idle stream is the session struct, the registry's
 * subscription nodes and, for long-poll only, one timer: the parser and
 * every request buffer were freed when the stream started.
 *
 *   start --every name confirmed (always, locally)--> LIVE --peer gone---+
 *     |                                                ^  | long-poll:   |
 *     +--bridged, a name unconfirmed--> WAITING -------+  | delay after  v
 *          (the relay's on_ready: all confirmed,          +--an event--> CLOSING
 *           the registration comment goes out)
 *
 * A WAITING stream is subscribed and receives events already; only its
 * registration comment is held back, because a client reads that comment
 * as "from now on you get every message" -- true only once the upstream
 * has confirmed the subscriptions (jl_relay_confirmed).
 *
 * deliver() frames an event once per publish (the frame is cached in the
 * jl_msg_t) and queues a reference; the one keepalive timer queues one
 * shared ": keepalive N" frame to every stream.
 *
 * Status codes and EventSource: any status but 200 stops a browser's
 * EventSource for good (WHATWG HTML §9.2). So a stream never fails softly
 * with an error: channels that are not allowed, and ?pattern= when patterns
 * are disabled, are dropped silently (as Jugglite does with
 * allowed_channels) and the registration comment shows what was really
 * subscribed. Shedding load and shutting down answer 200 + "retry:" and
 * close, so browsers come back later. Only a malformed query gets a 400. */
#include "http/sse_stream.h"
#include "http/json_text.h"

#include "http/auth_url.h"
#include "http/http_response.h"
#include "http/http_routes.h"
#include "http/http_token.h"
#include "http/query.h"
#include "http/sse.h"
#include "http/sse_auth.h"
#include "server/history.h"
#include "server/log.h"
#include "server/server.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define SCRATCH_KEEP 65536      /* the event scratch buffer shrinks back above this */

/* The names one stream subscribed to, exactly as the registry has them
 * (namespace included). The registration comment lists them and the wait
 * for upstream confirmations checks them: one list for both. */
typedef struct names {
    char **name;                /* each its own allocation */
    size_t *len;
    uint8_t *ns;                /* jl_ns_t */
    size_t n, cap;
} names_t;

/* An event that reached a resuming stream before its replay: sent after
 * it, unless the replay had it. */
typedef struct held_event {
    jl_frame_t *frame;
    int has_id;
    jl_hist_id_t id;
    uint64_t seq;
} held_event_t;

/* A bridged stream's registration comment waiting for upstream
 * confirmations, and, for a stream resuming there, its Last-Event-ID and
 * the events held until the shared history has answered. */
struct jl_sse_wait {
    jl_list_t node;             /* http->waiting, until confirmed */
    jl_http_session_t *owner;
    jl_buf_t comment;
    names_t names;
    char *from;                 /* resuming: the Last-Event-ID; NULL otherwise */
    size_t from_len;
    int reading;                /* the read is out */
    held_event_t *held;
    size_t nheld, cap;
};

static void names_add(names_t *n, jl_ns_t ns, const char *name, size_t len)
{
    if (n->n == n->cap) {
        n->cap = n->cap ? n->cap * 2 : 8;
        n->name = jl_realloc(n->name, n->cap * sizeof *n->name);
        n->len = jl_realloc(n->len, n->cap * sizeof *n->len);
        n->ns = jl_realloc(n->ns, n->cap * sizeof *n->ns);
    }
    n->name[n->n] = jl_strndup(name, len);
    n->len[n->n] = len;
    n->ns[n->n] = (uint8_t)ns;
    n->n++;
}

static void names_free(names_t *n)
{
    for (size_t i = 0; i < n->n; i++)
        free(n->name[i]);
    free(n->name);
    free(n->len);
    free(n->ns);
    *n = (names_t){0};
}

/* 1 when every name's subscription is live where publishes go. */
static int names_confirmed(const jl_relay_t *relay, const names_t *n)
{
    for (size_t i = 0; i < n->n; i++)
        if (!jl_relay_confirmed(relay, (jl_ns_t)n->ns[i], n->name[i], n->len[i]))
            return 0;
    return 1;
}

/* ---- delivery ---- */

static void longpoll_fire(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    jl_http_session_t *s = w->data;
    s->end_reason = "long-poll";
    jl_conn_close_after_flush(&s->conn);
}

/* The event frame, built once per publish and shared: with the history's
 * id when the message has one (the history's encoder built it already). */
static jl_frame_t *event_frame(jl_http_t *h, jl_msg_t *msg)
{
    jl_frame_t *f = msg->frames[JL_FRAME_SSE];
    if (f != NULL)
        return f;
    char id[JL_HIST_ID_MAX];
    size_t id_len = msg->has_id ? jl_hist_id_format(msg->id, id) : 0;
    jl_buf_t *scratch = &h->scratch;
    scratch->len = 0;
    jl_sse_event_id(scratch, msg->payload, msg->payload_len, msg->has_id ? id : NULL, id_len,
                    NULL);
    f = msg->frames[JL_FRAME_SSE] = jl_frame_from(scratch->data, scratch->len);
    if (scratch->cap > SCRATCH_KEEP)
        jl_buf_free(scratch);
    return f;
}

/* Once per stream: an event already sent (the same publish through a
 * channel and a pattern, or one the resume replayed) is not sent again. */
static int already_sent(jl_http_session_t *s, int has_id, jl_hist_id_t id, uint64_t seq)
{
    jl_hist_id_t walk = {0, seq};
    if (has_id) {
        if (jl_hist_id_cmp(id, s->last) <= 0)
            return 1;
        s->last = id;
        return 0;
    }
    if (s->last.ms == 0 && s->last.seq == seq)
        return 1;
    s->last = walk;
    return 0;
}

/* (Re)armed by every event, never by keepalives (Jugglite). */
static void longpoll_rearm(jl_http_session_t *s)
{
    if (s->longpoll == NULL)
        return;
    struct ev_loop *loop = s->http->srv->loop;
    ev_timer_stop(loop, s->longpoll);
    ev_timer_set(s->longpoll, s->http->srv->cfg->longpoll_delay, 0.);
    ev_timer_start(loop, s->longpoll);
}

static void hold_event(jl_sse_wait_t *w, jl_frame_t *f, const jl_msg_t *msg)
{
    if (w->nheld == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 8;
        w->held = jl_realloc(w->held, w->cap * sizeof *w->held);
    }
    w->held[w->nheld++] = (held_event_t){jl_frame_ref(f), msg->has_id, msg->id, msg->seq};
}

static int stream_deliver(jl_sink_t *sink, jl_msg_t *msg)
{
    jl_http_session_t *s = JL_CONTAINER_OF(sink, jl_http_session_t, sink);
    if (s->conn.closing)
        return 0;
    /* Who else is connected is not for every browser: a pattern that
     * happens to match the lifecycle channels does not reach them. */
    if (msg->pattern && !s->lifecycle_ok && jl_lifecycle_reserved(msg->chan, msg->chan_len))
        return 0;
    if (s->wait && s->wait->from) {
        hold_event(s->wait, event_frame(s->http, msg), msg);
        return 1;
    }
    if (already_sent(s, msg->has_id, msg->id, msg->seq))
        return 0;
    jl_conn_push(&s->conn, event_frame(s->http, msg));
    s->http->srv->stats.sse_events_sent++;
    s->events++;
    longpoll_rearm(s);
    return 1;
}

/* The history's decoder: the payload back from the frame (XRANGE). */
static void decode_for_history(void *ud, const jl_frame_t *frame, jl_buf_t *out)
{
    (void)ud;
    jl_sse_event_data(frame->data, frame->len, out);
}

/* The history's encoder: the frame every subscriber will share. */
static jl_frame_t *encode_for_history(void *ud, jl_msg_t *msg, const char *id, size_t id_len,
                                      uint16_t *app_off, uint16_t *app_len)
{
    jl_http_t *h = ud;
    jl_sse_span_t app;
    jl_buf_t *scratch = &h->scratch;
    scratch->len = 0;
    jl_sse_event_id(scratch, msg->payload, msg->payload_len, id, id_len, &app);
    jl_frame_unref(msg->frames[JL_FRAME_SSE]);
    jl_frame_t *f = msg->frames[JL_FRAME_SSE] = jl_frame_from(scratch->data, scratch->len);
    if (scratch->cap > SCRATCH_KEEP)
        jl_buf_free(scratch);
    /* A JSON id too long to locate cheaply is not resumable by itself. */
    int fits = app.len > 0 && app.off + app.len <= UINT16_MAX;
    *app_off = fits ? (uint16_t)app.off : 0;
    *app_len = fits ? (uint16_t)app.len : 0;
    return f;
}

static const jl_sink_ops_t stream_sink_ops = {.deliver = stream_deliver};

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
        jl_conn_push(&JL_CONTAINER_OF(it, jl_http_session_t, stream)->conn, f);
    jl_frame_unref(f);
}

/* ---- subscribing ---- */

typedef struct collect {
    jl_http_session_t *s;
    names_t *names;
    jl_ns_t ns;
    const jl_chanperm_t *perm[2];   /* the token's and the app's (--auth-url) subscribe
                                     * rules; NULL: none */
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
    /* A token's and the app's rules read the names as the client wrote
     * them, before the namespace, as --allowed-channels does: every one
     * of them must allow a name. */
    for (int i = 0; i < 2; i++) {
        const jl_chanperm_t *p = c->perm[i];
        if (p && c->ns == JL_NS_CHANNEL && !jl_chanperm_channel(p, item, len))
            return;
        if (p && c->ns == JL_NS_PATTERN && !jl_chanperm_pattern(p, item, len))
            return;
    }
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
    const char *name = c->tmp.data ? c->tmp.data : "";
    if (!c->s->lifecycle_ok && jl_lifecycle_reserved(name, c->tmp.len))
        return;     /* dropped like a channel not allowed (lifecycle_granted) */
    if (!jl_registry_subscribe(srv->reg, &c->s->sink, c->ns, name, c->tmp.len))
        return;     /* a duplicate */
    names_add(c->names, c->ns, name, c->tmp.len);
}

/* The lifecycle channels tell who is connected from where: a stream reads
 * them only when a rule names them on purpose -- an --allowed-channels
 * entry, or a token's or the app's subscribe rule, that starts with the
 * prefix. "Everything" (no rules, a bare *) does not count. */
static int lifecycle_granted(const jl_config_t *cfg, const jl_chanperm_t *perm,
                             const jl_chanperm_t *app)
{
    size_t plen = strlen(JL_LIFECYCLE_PREFIX);
    for (size_t i = 0; cfg->allowed_channels && i < cfg->n_allowed_channels; i++)
        if (jl_lifecycle_reserved(cfg->allowed_channels[i], strlen(cfg->allowed_channels[i])))
            return 1;
    return (perm && jl_chanperm_names_prefix(perm, JL_LIFECYCLE_PREFIX, plen)) ||
           (app && jl_chanperm_names_prefix(app, JL_LIFECYCLE_PREFIX, plen));
}

/* Subscribes s to every allowed name of ?channel= (and ?pattern=); with a
 * token or the app's answer (perm, app not NULL), only to the names their
 * subscribe rules allow. */
static void subscribe_all(jl_http_session_t *s, const jl_query_t *q, const jl_chanperm_t *perm,
                          const jl_chanperm_t *app, names_t *names)
{
    const jl_config_t *cfg = s->http->srv->cfg;
    s->lifecycle_ok = (uint8_t)lifecycle_granted(cfg, perm, app);
    collect_t c = {.s = s, .names = names, .ns = JL_NS_CHANNEL, .perm = {perm, app}};
    jl_sink_init(&s->sink, &stream_sink_ops);
    jl_query_each_list(q, "channel", collect_item, &c);
    /* Patterns could reach any channel, so they are off with an allow-list
     * even when --allow-patterns is given. */
    if (cfg->allow_patterns && cfg->allowed_channels == NULL) {
        c.ns = JL_NS_PATTERN;
        jl_query_each_list(q, "pattern", collect_item, &c);
    }
    jl_buf_free(&c.tmp);
}

/* ---- the registration comment ---- */

static void wait_free(jl_http_session_t *s)
{
    jl_sse_wait_t *w = s->wait;
    if (w == NULL)
        return;
    jl_list_remove(&w->node);
    jl_buf_free(&w->comment);
    names_free(&w->names);
    for (size_t i = 0; i < w->nheld; i++)
        jl_frame_unref(w->held[i].frame);
    free(w->held);
    free(w->from);
    free(w);
    s->wait = NULL;
}

/* Queues the comment now, or holds it (and the names) back until the
 * relay has confirmed every name. Takes over 'names'. */
/* At debug level, one line per stream: who, and what it was registered to
 * (the comment's own text, which never holds a line break). */
static void log_stream(jl_http_session_t *s, const jl_buf_t *comment, int longpoll)
{
    if (jl_log_conf.level > JL_LOG_DEBUG)
        return;
    char peer[128];
    jl_conn_peer(&s->conn, peer, sizeof peer);
    char user[72] = "";
    size_t ulen = 0;
    const char *who = jl_sse_auth_user(s, &ulen);
    if (who != NULL) {
        memcpy(user, " user=", 6);
        jl_sse_auth_loggable(who, ulen, user + 6, sizeof user - 6);
    }
    /* ": registered to channels: a, b\n" */
    int len = comment->len > 3 ? (int)comment->len - 3 : 0;
    jl_log_debug("SSE stream id=%llu %s%s%s: %.*s", (unsigned long long)s->conn.id, peer,
                 longpoll ? " (long-poll)" : "", user, len,
                 comment->len > 3 ? comment->data + 2 : "");
}

static void shared_resume(jl_http_session_t *s);

/* ---- lifecycle events (server/lifecycle.h) ---- */

/* {"node", "client_id", "peer", "user", "channels", "protocol"}: who the
 * stream is. Not "id": a payload's "id" member is its SSE event id
 * (sse.h), and a browser reading these events resumes by the server's. */
static json_t *identity(jl_http_session_t *s, const names_t *names)
{
    const jl_conn_t *c = &s->conn;
    char peer[128], user[72];
    jl_conn_peer(c, peer, sizeof peer);
    size_t ulen = 0;
    const char *who = jl_sse_auth_user(s, &ulen);
    json_t *chans = json_array();
    for (size_t i = 0; i < names->n; i++)
        json_array_append_new(chans, json_stringn(names->name[i], names->len[i]));
    if (who)
        jl_sse_auth_loggable(who, ulen, user, sizeof user);
    return json_pack("{s:s, s:I, s:s, s:o, s:o, s:s}", "node", s->http->srv->run_id, "client_id",
                     (json_int_t)c->id, "peer", peer, "user", who ? json_string(user) : json_null(),
                     "channels", chans, "protocol", c->parent ? "h2" : "http/1.1");
}

static void emit(jl_http_session_t *s, const char *event, json_t *o)
{
    char *text = json_dumps(o, JSON_COMPACT);
    if (text)
        jl_lifecycle_emit(&s->http->srv->lifecycle, event, text, strlen(text));
    free(text);
}

static void lifecycle_connect(jl_http_session_t *s, const names_t *names)
{
    if (!s->http->srv->cfg->lifecycle_events)
        return;
    json_t *o = identity(s, names);
    if (o == NULL)
        return;
    emit(s, "connect", o);
    free(s->identity);
    s->identity = json_dumps(o, JSON_COMPACT);
    json_decref(o);
}

/* What a user of these events wants to tell apart; the connection's own
 * words go along as "detail". */
static const char *end_reason(const jl_http_session_t *s, const char *why)
{
    static const jl_lifecycle_words_t own[] = {
        {"HTTP/2 stream reset by the client", "closed"}, {"HTTP/2 stream closed", "closed"},
        {"HTTP/2 connection closed", "closed"},
        {"input on an SSE stream", "protocol error"},
    };
    return jl_lifecycle_reason(s->end_reason, why, own, JL_ARRAY_LEN(own));
}

static void lifecycle_disconnect(jl_http_session_t *s, const char *why)
{
    if (s->identity == NULL || !s->http->srv->cfg->lifecycle_events)
        return;
    json_t *o = json_loads(s->identity, 0, NULL);
    if (o == NULL)
        return;
    /* A stream the server ended (a token's expiry) closes after a flush:
     * its reason says more than "flushed". */
    int flushed = strcmp(why, "flushed") == 0 || strcmp(why, "done") == 0;
    json_object_set_new(o, "reason", json_string(end_reason(s, why)));
    json_object_set_new(o, "detail", json_string(flushed && s->end_reason ? s->end_reason : why));
    json_object_set_new(o, "duration", json_real(ev_now(s->http->srv->loop) - s->conn.created));
    json_object_set_new(o, "events", json_integer((json_int_t)s->events));
    emit(s, "disconnect", o);
    json_decref(o);
}

/* 'from': a bridged stream's Last-Event-ID (NULL when it does not resume
 * there): its replay comes from the shared history once every name is
 * confirmed, and what arrives before the replay is held. */
static void send_registered(jl_http_session_t *s, names_t *names, int longpoll, const char *from,
                            size_t from_len)
{
    jl_buf_t comment = {0};
    jl_sse_registered(&comment, (const char *const *)names->name, names->len, names->n);
    log_stream(s, &comment, longpoll);
    lifecycle_connect(s, names);
    if (s->http->srv->cfg->access_log && comment.len > 27) {
        /* ": registered to channels: a, b\n" -> "a, b", kept for the end */
        size_t n = comment.len - 27 < 512 ? comment.len - 27 : 512;
        s->channels = jl_strndup(comment.data + 26, n);
    }
    int confirmed = names_confirmed(s->http->srv->relay, names);
    if (confirmed && from == NULL) {
        jl_conn_append(&s->conn, comment.data, comment.len);
        jl_buf_free(&comment);
        names_free(names);
        return;
    }
    jl_sse_wait_t *w = jl_calloc(1, sizeof *w);
    w->owner = s;
    w->comment = comment;
    w->names = *names;
    if (from) {
        w->from = jl_strndup(from, from_len);
        w->from_len = from_len;
    }
    s->wait = w;
    if (!confirmed) {
        jl_list_push(&s->http->waiting, &w->node);
        return;
    }
    jl_conn_append(&s->conn, w->comment.data, w->comment.len);
    shared_resume(s);
}

/* The relay says subscriptions were confirmed: waiting streams re-check. */
static void streams_ready(void *ud)
{
    jl_http_t *h = ud;
    JL_LIST_FOREACH_SAFE(&h->waiting, it, tmp) {
        jl_sse_wait_t *w = JL_CONTAINER_OF(it, jl_sse_wait_t, node);
        if (!names_confirmed(h->srv->relay, &w->names))
            continue;
        jl_http_session_t *s = w->owner;
        jl_conn_append(&s->conn, w->comment.data, w->comment.len);
        if (w->from == NULL) {
            wait_free(s);
            continue;
        }
        jl_list_remove(&w->node);
        shared_resume(s);
    }
}

/* ---- the stream's life ---- */

/* Full: a 200 and a retry: make the browser come back later. */
static jl_http_next_t shed(jl_http_session_t *s)
{
    jl_http_stream_head(s);
    jl_http_append_retry(s);
    return JL_HTTP_CLOSE;
}

/* No token where one is required, or a bad one: 401. An EventSource stops
 * for good on any status but 200 (WHATWG HTML §9.2), which is what we want
 * here -- retrying with the same cookie cannot succeed; the page sees the
 * error with readyState CLOSED and must get a fresh token and open a new
 * EventSource (docs/security.md). The reason is logged, never the token. */
static jl_http_next_t unauthorized(jl_http_session_t *s, const char *why)
{
    char peer[128];
    jl_conn_peer(&s->conn, peer, sizeof peer);
    jl_log_debug("SSE stream refused, conn %llu %s: 401 (%s)", (unsigned long long)s->conn.id,
                 peer, why);
    return jl_http_respond_error(s, 401, "WWW-Authenticate: Bearer realm=\"jugglite\"\r\n");
}

static void longpoll_init(jl_http_session_t *s)
{
    s->longpoll = jl_calloc(1, sizeof *s->longpoll);
    ev_timer_init(s->longpoll, longpoll_fire, s->http->srv->cfg->longpoll_delay, 0.);
    s->longpoll->data = s;
}

/* ---- resuming (see docs/history.md) ---- */

/* The frames a resume sends, in order, held until the registration comment
 * has been queued in front of them. */
typedef struct resume {
    jl_frame_t **f;
    size_t n, cap;
    jl_hist_id_t last;
} resume_t;

static void resume_add(resume_t *r, jl_frame_t *f)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->f = jl_realloc(r->f, r->cap * sizeof *r->f);
    }
    r->f[r->n++] = f;
}

static void resume_entry(void *ud, const jl_hist_entry_t *e)
{
    resume_t *r = ud;
    resume_add(r, jl_frame_ref(e->frame));
    r->last = e->id;
}

/* The header, else ?lastEventId= / ?last_event_id= (polyfills). */
static const char *last_event_id(const jl_http_req_t *r, const jl_query_t *q, size_t *len)
{
    /* An empty id is no id (WHATWG: an empty lastEventId sends no header). */
    if (r->last_event_id != NULL && r->last_event_id[0] != '\0') {
        *len = strlen(r->last_event_id);
        return r->last_event_id;
    }
    const jl_query_pair_t *p = jl_query_get(q, "lastEventId");
    if (p == NULL || p->val_len == 0)
        p = jl_query_get(q, "last_event_id");
    if (p == NULL || p->val_len == 0)
        return NULL;
    *len = p->val_len;
    return p->val;
}

static void gap_add(json_t *list, jl_ns_t ns, const char *name, size_t len, jl_gap_t g,
                    long long lost)
{
    json_t *o = json_object();
    json_object_set_new(o, ns == JL_NS_PATTERN ? "pattern" : "channel", jl_json_text(name, len));
    json_object_set_new(o, "reason", json_string(jl_gap_reason(g)));
    json_object_set_new(o, "lost", lost >= 0 ? json_integer(lost) : json_null());
    json_array_append_new(list, o);
}

/* The gap event: {"lastEventId":…,"channels":gaps} (takes both), with
 * an id: line when id is not NULL. */
static jl_frame_t *gap_frame(json_t *last_event_id, json_t *gaps, const char *id, size_t id_len)
{
    json_t *o = json_object();
    json_object_set_new(o, "lastEventId", last_event_id);
    json_object_set_new(o, "channels", gaps);
    char *json = json_dumps(o, JSON_COMPACT);
    jl_buf_t b = {0};
    jl_sse_gap(&b, json ? json : "{}", json ? strlen(json) : 2, id, id_len);
    jl_frame_t *f = jl_frame_from(b.data, b.len);
    jl_buf_free(&b);
    free(json);
    json_decref(o);
    return f;
}

/* At most half the hard output limit of replay: a stream that missed more
 * than its connection may hold gets the newest that fit and a gap for the
 * rest, instead of a cut at the limit -- and the same cut at every retry. */
static size_t replay_budget(const jl_http_session_t *s)
{
    size_t hard = s->http->srv->cfg->obuf_hard;
    return hard ? hard / 2 : SIZE_MAX;
}

/* How many of the oldest of n replayed events (len(i): the bytes of event
 * i) to skip so that the rest fit the budget. */
static size_t replay_skip(size_t n, size_t budget, size_t (*len)(const void *, size_t),
                          const void *events)
{
    size_t bytes = 0;
    for (size_t i = n; i-- > 0;) {
        bytes += len(events, i);
        if (bytes > budget)
            return i + 1;
    }
    return 0;
}

/* Names without a gap yet get the output-limit one (replay_skip). */
static void gap_skipped(json_t *gaps, const names_t *names)
{
    for (size_t i = 0; i < names->n; i++) {
        int listed = 0;
        for (size_t k = 0; k < json_array_size(gaps) && !listed; k++) {
            json_t *o = json_array_get(gaps, k);
            json_t *v = json_object_get(o, names->ns[i] == JL_NS_PATTERN ? "pattern" : "channel");
            listed = json_is_string(v) && json_string_length(v) == names->len[i] &&
                     memcmp(json_string_value(v), names->name[i], names->len[i]) == 0;
        }
        if (!listed)
            gap_add(gaps, (jl_ns_t)names->ns[i], names->name[i], names->len[i],
                    JL_GAP_OUTPUT_LIMIT, -1);
    }
}

static size_t frame_len(const void *events, size_t i)
{
    return ((jl_frame_t *const *)events)[i]->len;
}

/* The gap event (if anything may be missing) then every retained event
 * after the stream's last one. An id this node cannot place is a gap on
 * every name, followed by all that is retained. */
static void resume(jl_http_session_t *s, const names_t *names, const char *text, size_t len,
                   resume_t *out)
{
    jl_hist_t *h = s->http->srv->hist;
    jl_hist_replay_t *rp = jl_hist_replay_new();
    for (size_t i = 0; i < names->n; i++) {
        if (names->ns[i] == JL_NS_PATTERN)
            jl_hist_replay_pattern(h, rp, names->name[i], names->len[i]);
        else
            jl_hist_replay_channel(h, rp, names->name[i], names->len[i]);
    }
    if (!s->lifecycle_ok)
        jl_hist_replay_drop_prefix(rp, JL_LIFECYCLE_PREFIX, strlen(JL_LIFECYCLE_PREFIX));
    jl_hist_id_t from = {0, 0};
    json_t *gaps = json_array();
    int known = jl_hist_resolve(h, rp, text, len, &from) == 0;
    for (size_t i = 0; i < names->n; i++) {
        long long lost = -1;
        jl_gap_t g = JL_GAP_UNKNOWN;
        if (known && names->ns[i] == JL_NS_PATTERN)
            g = jl_hist_gap_pattern(h, names->name[i], names->len[i], from, &lost);
        else if (known)
            g = jl_hist_gap(h, names->name[i], names->len[i], from, &lost);
        if (g != JL_GAP_NONE)
            gap_add(gaps, (jl_ns_t)names->ns[i], names->name[i], names->len[i], g, lost);
    }
    resume_t entries = {0};
    entries.last = from;
    jl_hist_replay_each(h, rp, from, resume_entry, &entries);
    size_t skip = replay_skip(entries.n, replay_budget(s), frame_len, entries.f);
    if (skip > 0) {
        for (size_t i = 0; i < skip; i++)
            jl_frame_unref(entries.f[i]);
        memmove(entries.f, entries.f + skip, (entries.n - skip) * sizeof *entries.f);
        entries.n -= skip;
        gap_skipped(gaps, names);
    }
    if (json_array_size(gaps) > 0) {
        /* With nothing after it, the gap carries the newest id: nothing
         * retained is newer, and a long-poll client, which reconnects at
         * once, must not be told of the same gap forever. */
        char last[JL_HIST_ID_MAX];
        size_t last_len = entries.n == 0 ? jl_hist_id_format(jl_hist_last(h), last) : 0;
        resume_add(out, gap_frame(jl_json_text(text, len > 256 ? 256 : len), gaps,
                                  entries.n == 0 ? last : NULL, last_len));
        jl_hist_counters(h)->gaps++;
        if (entries.n == 0)
            entries.last = jl_hist_last(h);
    } else {
        json_decref(gaps);
    }
    for (size_t i = 0; i < entries.n; i++)
        resume_add(out, entries.f[i]);
    free(entries.f);
    out->last = entries.last;
    jl_hist_replay_free(rp);
}

/* ---- resuming on a bridged node (the shared history upstream) ---- */

/* One replayed entry's frame, built for this stream alone. */
static jl_frame_t *entry_frame(jl_http_t *h, const jl_relay_entry_t *e)
{
    char id[JL_HIST_ID_MAX];
    size_t id_len = jl_hist_id_format(e->id, id);
    jl_buf_t *scratch = &h->scratch;
    scratch->len = 0;
    jl_sse_event_id(scratch, e->payload, e->payload_len, id, id_len, NULL);
    jl_frame_t *f = jl_frame_from(scratch->data, scratch->len);
    if (scratch->cap > SCRATCH_KEEP)
        jl_buf_free(scratch);
    return f;
}

static size_t push_owned(jl_http_session_t *s, jl_frame_t *f)
{
    jl_conn_push(&s->conn, f);
    jl_frame_unref(f);
    return 1;
}

/* The gap (if any), the replay, then what was held, minus what the replay
 * had; the stream is live afterwards. on_error: the reason every name gets
 * when there is no answer (h->error). */
/* An entry's bytes as an event: its payload and about what the id and
 * data: lines add (a payload of many lines adds more; a budget is enough). */
static size_t entry_len(const void *events, size_t i)
{
    return ((const jl_relay_entry_t *)events)[i].payload_len + 64;
}

static void finish_resume(jl_http_session_t *s, const jl_relay_history_t *h, jl_gap_t on_error)
{
    jl_sse_wait_t *w = s->wait;
    jl_server_t *srv = s->http->srv;
    json_t *gaps = json_array();
    size_t sent = 0;
    for (size_t i = 0; i < w->names.n; i++) {
        jl_gap_t g = h->error ? on_error : h->gap[i];
        if (g != JL_GAP_NONE)
            gap_add(gaps, (jl_ns_t)w->names.ns[i], w->names.name[i], w->names.len[i], g,
                    h->error ? -1 : h->lost[i]);
    }
    size_t skip = h->error ? 0 : replay_skip(h->n, replay_budget(s), entry_len, h->e);
    if (skip > 0)
        gap_skipped(gaps, &w->names);
    if (json_array_size(gaps) > 0) {
        jl_hist_id_t zero = {0, 0};
        char last[JL_HIST_ID_MAX];
        int carry = !h->error && h->n == skip && jl_hist_id_cmp(h->last, zero) > 0;
        size_t last_len = carry ? jl_hist_id_format(h->last, last) : 0;
        sent += push_owned(s, gap_frame(jl_json_text(w->from, w->from_len > 256 ? 256 : w->from_len),
                                        gaps, carry ? last : NULL, last_len));
        if (carry)
            s->last = h->last;
        jl_hist_counters(srv->hist)->gaps++;
    } else {
        json_decref(gaps);
    }
    for (size_t i = skip; !h->error && i < h->n; i++) {
        s->last = h->e[i].id;
        if (!s->lifecycle_ok && jl_lifecycle_reserved(h->e[i].chan, h->e[i].chan_len))
            continue;   /* matched by a pattern; not for this stream (stream_deliver) */
        sent += push_owned(s, entry_frame(s->http, &h->e[i]));
    }
    jl_hist_counters(srv->hist)->replayed += h->error ? 0 : h->n - skip;
    for (size_t i = 0; i < w->nheld; i++) {
        held_event_t *e = &w->held[i];
        if (!already_sent(s, e->has_id, e->id, e->seq)) {
            jl_conn_push(&s->conn, e->frame);
            sent++;
        }
    }
    srv->stats.sse_events_sent += sent;
    if (sent > 0)
        longpoll_rearm(s);
    wait_free(s);
}

static void shared_done(void *ud, const jl_relay_history_t *h)
{
    finish_resume(ud, h, JL_GAP_UPSTREAM);
}

/* Asks the relay for what the stream missed. Without a shared history
 * (a jugglite hub upstream, --history-size 0) the id cannot be placed. */
static void shared_resume(jl_http_session_t *s)
{
    jl_sse_wait_t *w = s->wait;
    jl_relay_t *relay = s->http->srv->relay;
    jl_relay_name_t *names = jl_malloc((w->names.n ? w->names.n : 1) * sizeof *names);
    for (size_t i = 0; i < w->names.n; i++)
        names[i] = (jl_relay_name_t){(jl_ns_t)w->names.ns[i], w->names.name[i], w->names.len[i]};
    w->reading = 1;
    int rc = jl_relay_history(relay, names, w->names.n, w->from, w->from_len, shared_done, s);
    free(names);
    if (rc == JL_OK)
        return;
    jl_relay_history_t none = {.error = "", .error_len = 0};
    finish_resume(s, &none, rc == -ENOTSUP ? JL_GAP_UNKNOWN : JL_GAP_UPSTREAM);
}

/* The relay's link came back after a loss: every live stream is told, at
 * this place, that plain publishes may have been missed meanwhile. */
typedef struct {
    json_t *gaps;
    jl_ns_t ns;
} link_gap_t;

static void link_gap_name(void *ud, const char *name, size_t len)
{
    link_gap_t *g = ud;
    gap_add(g->gaps, g->ns, name, len, JL_GAP_UPSTREAM, -1);
}

static void streams_gap(void *ud)
{
    jl_http_t *h = ud;
    JL_LIST_FOREACH(&h->streams, it) {
        jl_http_session_t *s = JL_CONTAINER_OF(it, jl_http_session_t, stream);
        /* A resume in progress reports for itself; a stream still waiting
         * for its first confirmation was never live, so it missed nothing. */
        if (s->conn.closing || s->wait)
            continue;
        link_gap_t g = {json_array(), JL_NS_CHANNEL};
        jl_sink_each_name(&s->sink, JL_NS_CHANNEL, link_gap_name, &g);
        g.ns = JL_NS_PATTERN;
        jl_sink_each_name(&s->sink, JL_NS_PATTERN, link_gap_name, &g);
        char last[JL_HIST_ID_MAX];
        json_t *from = s->last.ms ? json_stringn(last, jl_hist_id_format(s->last, last))
                                  : json_null();
        push_owned(s, gap_frame(from, g.gaps, NULL, 0));
        h->srv->stats.sse_events_sent++;
        jl_hist_counters(h->srv->hist)->gaps++;
        longpoll_rearm(s);
    }
}

static void resume_send(jl_http_session_t *s, resume_t *r)
{
    for (size_t i = 0; i < r->n; i++) {
        jl_conn_push(&s->conn, r->f[i]);
        jl_frame_unref(r->f[i]);
    }
    if (r->n > 0)
        longpoll_rearm(s);
    s->http->srv->stats.sse_events_sent += r->n;
    s->last = r->last;
    free(r->f);
}

/* The app refused the stream (--auth-url): 403, which stops a browser's
 * EventSource for good, as the app meant. */
static jl_http_next_t forbidden(jl_http_session_t *s)
{
    return jl_http_respond(s, 403, "text/plain; charset=utf-8", NULL,
                           "403 Forbidden: the application refused this stream\n", 0);
}

/* The stream, once any --auth-url decision d (NULL: none asked) is in. */
static jl_http_next_t start(jl_http_session_t *s, const jl_auth_decision_t *d)
{
    jl_server_t *srv = s->http->srv;
    const jl_http_req_t *r = s->req;
    if (d && d->verdict == JL_AUTH_DENY)
        return forbidden(s);
    if (d && d->verdict == JL_AUTH_DOWN)
        return shed(s);
    const jl_chanperm_t *app = d && d->restricted ? &d->perm : NULL;
    jl_query_t q = {0};
    if (jl_query_parse(r->url.data + r->query_off, r->query_len, JL_HTTP_MAX_QUERY_PAIRS, &q) < 0)
        return jl_http_respond_error(s, 400, NULL);
    jl_token_t tok;
    const char *why = NULL;
    jl_http_token_rc_t auth = jl_http_token_stream(s->http, r, &q, &tok, &why);
    if (auth == JL_HTTP_TOKEN_BAD || (auth == JL_HTTP_TOKEN_NONE && srv->cfg->token_required)) {
        jl_query_free(&q);
        return unauthorized(s, auth == JL_HTTP_TOKEN_BAD ? why : "no token");
    }
    names_t names = {0};
    subscribe_all(s, &q, auth == JL_HTTP_TOKEN_OK ? &tok.subscribe : NULL, app, &names);
    if (auth == JL_HTTP_TOKEN_OK) {
        jl_sse_auth_start(s, &tok);
        jl_token_clear(&tok);
    }
    /* A bridged node resumes from the shared history, asynchronously. */
    resume_t rs = {0};
    size_t id_len = 0;
    const char *id = last_event_id(r, &q, &id_len);
    int bridged = srv->relay != &srv->local_relay;
    int resuming = id != NULL && !bridged;
    if (resuming)
        resume(s, &names, id, id_len, &rs);

    jl_http_stream_head(s);
    int longpoll = r->flags & JL_REQ_XHR;
    if (longpoll)
        longpoll_init(s);
    send_registered(s, &names, longpoll, bridged ? id : NULL, id_len);
    jl_query_free(&q);
    if (resuming)
        resume_send(s, &rs);
    jl_list_push(&s->http->streams, &s->stream);
    srv->stats.sse_streams++;
    s->h2_stream = s->conn.parent != NULL;
    srv->stats.sse_streams_h2 += s->h2_stream;
    srv->stats.sse_connections_received++;
    return JL_HTTP_STREAM;
}

jl_http_next_t jl_sse_stream_start(jl_http_session_t *s)
{
    if (s->over_cap)
        return shed(s);
    if (s->http->auth_url == NULL)
        return start(s, NULL);
    jl_auth_decision_t d;
    if (jl_auth_url_ask(s, &d) == 0)
        return JL_HTTP_WAIT;
    jl_http_next_t next = start(s, &d);
    jl_auth_decision_clear(&d);
    return next;
}

void jl_sse_stream_decided(jl_http_session_t *s, const jl_auth_decision_t *d)
{
    jl_http_resume(s, start(s, d));
}

void jl_sse_stream_input(jl_http_session_t *s)
{
    /* Nothing is expected after a stream's head; read only to notice the
     * close, and drop a peer that keeps talking. */
    jl_conn_t *c = &s->conn;
    size_t total = (size_t)s->ignored + c->in.len;
    jl_buf_consume(&c->in, c->in.len);
    if (total > s->http->srv->cfg->max_head)
        jl_conn_close(c, "input on an SSE stream");
    s->ignored = (uint32_t)(total > UINT32_MAX ? UINT32_MAX : total);
}

void jl_sse_streams_shutdown(void *ud)
{
    jl_http_t *h = ud;
    JL_LIST_FOREACH(&h->streams, it) {
        jl_http_session_t *s = JL_CONTAINER_OF(it, jl_http_session_t, stream);
        s->end_reason = "shutdown";
        lifecycle_disconnect(s, "shutdown");
        free(s->identity);      /* told: nothing more at the close */
        s->identity = NULL;
    }
}

void jl_sse_stream_shutdown(jl_http_session_t *s)
{
    s->end_reason = "shutdown";
    jl_http_append_retry(s);
}

void jl_sse_stream_ended(jl_http_session_t *s, const char *why)
{
    if (s->sink.ops == NULL)
        return;     /* never a stream */
    lifecycle_disconnect(s, why);
    if (!s->http->srv->cfg->access_log)
        return;
    const jl_conn_t *c = &s->conn;
    char peer[128], user[72] = "-";
    jl_conn_peer(c, peer, sizeof peer);
    size_t ulen = 0;
    const char *who = jl_sse_auth_user(s, &ulen);
    if (who != NULL)
        jl_sse_auth_loggable(who, ulen, user, sizeof user);
    jl_log_info("SSE stream end id=%llu peer=%s user=%s channels=\"%s\" duration=%.3fs "
                "events=%llu bytes=%llu reason=\"%s\"",
                (unsigned long long)c->id, peer, user, s->channels ? s->channels : "",
                ev_now(s->http->srv->loop) - c->created, (unsigned long long)s->events,
                (unsigned long long)(c->queued - c->out.bytes), why);
}

void jl_sse_stream_free(jl_http_session_t *s)
{
    free(s->channels);
    s->channels = NULL;
    free(s->identity);
    s->identity = NULL;
    jl_server_t *srv = s->http->srv;
    if (s->sink.ops == NULL)
        return;     /* never subscribed: not a stream */
    for (int ns = 0; ns < JL_NS_COUNT; ns++)
        jl_registry_unsubscribe_all(srv->reg, &s->sink, (jl_ns_t)ns, NULL, NULL);
    if (jl_list_linked(&s->stream)) {
        jl_list_remove(&s->stream);
        srv->stats.sse_streams--;
        srv->stats.sse_streams_h2 -= s->h2_stream;
    }
    if (s->longpoll) {
        ev_timer_stop(srv->loop, s->longpoll);
        free(s->longpoll);
    }
    if (s->wait && s->wait->reading)
        jl_relay_cancel(srv->relay, s);
    wait_free(s);
    jl_sse_auth_free(s);
}

/* ---- the side's streams ---- */

void jl_sse_streams_init(jl_http_t *h)
{
    jl_server_t *srv = h->srv;
    jl_list_init(&h->streams);
    jl_list_init(&h->waiting);
    ev_timer_init(&h->keepalive, on_keepalive, srv->cfg->keepalive, srv->cfg->keepalive);
    ev_timer_start(srv->loop, &h->keepalive);
    jl_relay_on_ready(srv->relay, streams_ready, streams_gap, h);
    jl_hist_set_encoder(srv->hist, encode_for_history, h);
    jl_hist_set_decoder(srv->hist, decode_for_history, NULL);
    jl_sse_auth_init(h);
}

void jl_sse_streams_fini(jl_http_t *h)
{
    jl_relay_on_ready(h->srv->relay, NULL, NULL, NULL);
    jl_hist_set_encoder(h->srv->hist, NULL, NULL);
    jl_hist_set_decoder(h->srv->hist, NULL, NULL);
    ev_timer_stop(h->srv->loop, &h->keepalive);
    jl_sse_auth_fini(h);
    jl_buf_free(&h->scratch);
}

/* ---- CLIENT LIST ---- */

static int id_listed(uint64_t id, const uint64_t *ids, size_t nids)
{
    for (size_t i = 0; i < nids; i++)
        if (ids[i] == id)
            return 1;
    return nids == 0;
}

static int stream_matches(jl_http_session_t *s, const jl_stream_filter_t *f)
{
    const jl_conn_t *c = &s->conn;
    if (c->closing || (f->id && c->id != f->id))
        return 0;
    if (f->user) {
        size_t ulen = 0;
        const char *user = jl_sse_auth_user(s, &ulen);
        if (user == NULL || ulen != f->user_len || memcmp(user, f->user, ulen) != 0)
            return 0;
    }
    return (f->addr == NULL || jl_conn_addr_is(c, 0, f->addr, f->addr_len)) &&
           (f->laddr == NULL || jl_conn_addr_is(c, 1, f->laddr, f->laddr_len));
}

size_t jl_sse_streams_match(void *ud, const jl_stream_filter_t *f, int kill)
{
    jl_http_t *h = ud;
    size_t n = 0;
    JL_LIST_FOREACH_SAFE(&h->streams, it, tmp) {
        jl_http_session_t *s = JL_CONTAINER_OF(it, jl_http_session_t, stream);
        if (!stream_matches(s, f))
            continue;
        n++;
        if (kill)
            jl_conn_close(&s->conn, "CLIENT KILL");
    }
    return n;
}

void jl_sse_streams_describe(void *ud, jl_buf_t *out, const uint64_t *ids, size_t nids)
{
    jl_http_t *h = ud;
    double now = ev_now(h->srv->loop);
    JL_LIST_FOREACH(&h->streams, it) {
        jl_http_session_t *s = JL_CONTAINER_OF(it, jl_http_session_t, stream);
        const jl_conn_t *c = &s->conn;
        if (!id_listed(c->id, ids, nids))
            continue;
        char peer[128], local[128], user[128];
        size_t ulen = 0;
        const char *u = jl_sse_auth_user(s, &ulen);
        jl_conn_peer(c, peer, sizeof peer);
        jl_conn_local(c, local, sizeof local);
        jl_sse_auth_loggable(u ? u : "", u ? ulen : 0, user, sizeof user);
        for (char *p = user; *p; p++)
            if (*p == ' ' || *p == '=')
                *p = '?';   /* CLIENT LIST is split on both */
        jl_buf_printf(out,
                      "id=%llu addr=%s laddr=%s fd=%d name= age=%lld idle=%lld flags=E db=0 "
                      "sub=%zu psub=%zu ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 "
                      "multi-mem=0 rbs=0 rbp=0 obl=0 oll=%u omem=%zu tot-mem=%zu events=r%s "
                      "cmd=stream user=%s redir=-1 resp=sse lib-name= lib-ver=\n",
                      (unsigned long long)c->id, peer, local, c->fd,
                      (long long)(now - c->created), (long long)(now - c->last_active),
                      (size_t)s->sink.nsubs[JL_NS_CHANNEL], (size_t)s->sink.nsubs[JL_NS_PATTERN],
                      c->out.count - c->out.head, c->out.bytes, sizeof *s + c->out.bytes,
                      jl_outq_empty(&c->out) ? "" : "w", user);
    }
}
