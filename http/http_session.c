/* http_session.c -- one HTTP/1.1 connection: the request lifecycle.
 *
 * The only file that includes http_parser.h. A connection reads requests
 * with http-parser, bounded by --max-header-size, --head-timeout and (for
 * a publish) --max-message-size, and hands each complete request to its
 * route (http_routes.c). What the response promised decides what happens
 * next: another request (keep-alive; pipelined requests are answered in
 * order), a close once the response is written, or -- the stream route --
 * a connection that only writes from now on (sse_stream.c), whose request
 * record is then freed.
 *
 *   READING --GET <path>--------------------------> STREAMING (sse_stream.c)
 *    |  ^
 *    |  +--response, keep-alive--+
 *    +--other route----> respond +--response, close---> CLOSING
 *    +--malformed / too big / too slow ---------------------^
 *
 * The parser state and the header being read live in reader_t, private to
 * this file; the rest of http/ sees only the request record (jl_http_req_t),
 * whose facts are copied out of the parser when the head is complete.
 *
 * Refusing early: a request refused from its head alone (401, 413, 417, a
 * chunked or large body we do not want) is answered at once and the
 * connection closed, rather than read a body nobody will use. A wanted
 * publish body is read whatever its size up to --max-message-size; only
 * stalling bounds it. */
#include "http/http_session.h"
#include "http/h2.h"
#include "http/auth_url.h"

#include "http/http_response.h"
#include "http/http_routes.h"
#include "http/http_types.h"
#include "http/query.h"
#include "http/sse_auth.h"
#include "http/sse_stream.h"
#include "server/log.h"
#include "server/server.h"
#include "server/strconv.h"

#include <http_parser.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FIELD_CAP 32            /* longest header name we care about */
#define SKIP_BODY_MAX 65536     /* a refused request's body up to this is read and dropped */

/* reader_t.flags: what only the parser callbacks need */
enum {
    RD_EXPECT_CONTINUE = 1 << 0,
    RD_EXPECT_OTHER = 1 << 1,
    RD_HEAD_DONE = 1 << 2,
    RD_FIELD_LONG = 1 << 3,     /* header name longer than FIELD_CAP: not one of ours */
    RD_IN_VALUE = 1 << 4,
    RD_EARLY = 1 << 5,          /* answer before the body (then close) */
};

/* Only while requests are being read; s->req points at req inside. */
typedef struct reader {
    http_parser parser;
    uint8_t flags;
    char field[FIELD_CAP];
    size_t field_len;
    jl_buf_t value;
    jl_http_req_t req;
} reader_t;

static jl_http_session_t *session_of(jl_conn_t *c)
{
    return JL_CONTAINER_OF(c, jl_http_session_t, conn);
}

static reader_t *reader_of(jl_http_session_t *s) { return JL_CONTAINER_OF(s->req, reader_t, req); }

static jl_http_session_t *parser_session(http_parser *p) { return p->data; }

static reader_t *parser_reader(http_parser *p) { return JL_CONTAINER_OF(p, reader_t, parser); }

/* ---- the request record ---- */

static void reader_clear(reader_t *rd)
{
    jl_http_req_t *r = &rd->req;
    rd->flags = 0;
    rd->field_len = 0;
    rd->value.len = 0;
    r->flags = 0;
    r->route = JL_ROUTE_NONE;
    r->status = 0;
    r->method = JL_HTTP_OTHER;  /* until copy_facts */
    r->url.len = 0;
    jl_buf_free(&r->body);
    free(r->authorization);
    free(r->origin);
    free(r->last_event_id);
    free(r->cookie);
    r->authorization = r->origin = r->last_event_id = r->cookie = NULL;
}

static void reader_free(reader_t *rd)
{
    reader_clear(rd);
    jl_buf_free(&rd->req.url);
    jl_buf_free(&rd->value);
    free(rd);
}

static jl_http_method_t method_of(const http_parser *p)
{
    switch (p->method) {
    case HTTP_GET: return JL_HTTP_GET;
    case HTTP_HEAD: return JL_HTTP_HEAD;
    case HTTP_POST: return JL_HTTP_POST;
    case HTTP_OPTIONS: return JL_HTTP_OPTIONS;
    default: return JL_HTTP_OTHER;
    }
}

/* What the rest of http/ needs from the parser. Called when the head is
 * complete, and before a parse error is answered (a HEAD's error, too,
 * gets no body). */
static void copy_facts(reader_t *rd)
{
    const http_parser *p = &rd->parser;
    jl_http_req_t *r = &rd->req;
    r->method = (uint8_t)method_of(p);
    r->http_1_0 = p->http_major == 1 && p->http_minor == 0;
    r->chunked = (p->flags & F_CHUNKED) != 0;
    r->has_length = (p->flags & F_CONTENTLENGTH) != 0;
    r->content_length = p->content_length;
}

/* A publish whose body we read and keep. */
static int body_wanted(const jl_http_session_t *s)
{
    const jl_http_req_t *r = s->req;
    return !r->status && !s->over_cap && r->route == JL_ROUTE_PUBLISH &&
           r->method == JL_HTTP_POST;
}

/* ---- http-parser callbacks ---- */

static int cb_message_begin(http_parser *p)
{
    reader_t *rd = parser_reader(p);
    double since = rd->req.since;
    reader_clear(rd);
    rd->req.since = since;
    return 0;
}

static int cb_url(http_parser *p, const char *at, size_t len)
{
    jl_buf_append(&parser_reader(p)->req.url, at, len);
    return 0;
}

static int eq_nocase(const char *a, size_t alen, const char *b)
{
    return alen == strlen(b) && strncasecmp(a, b, alen) == 0;
}

static void keep_value(char **slot, const jl_buf_t *v)
{
    free(*slot);
    *slot = jl_strndup(v->data ? v->data : "", v->len);
}

/* Keeps the few headers that matter. */
static void note_header(reader_t *rd)
{
    jl_http_req_t *r = &rd->req;
    const char *f = rd->field, *v = rd->value.data ? rd->value.data : "";
    size_t fl = rd->field_len, vl = rd->value.len;
    if (eq_nocase(f, fl, "x-requested-with") && eq_nocase(v, vl, "XMLHttpRequest"))
        r->flags |= JL_REQ_XHR;
    else if (eq_nocase(f, fl, "last-event-id"))
        keep_value(&r->last_event_id, &rd->value);
    else if (eq_nocase(f, fl, "authorization"))
        keep_value(&r->authorization, &rd->value);
    else if (eq_nocase(f, fl, "cookie"))
        keep_value(&r->cookie, &rd->value);
    else if (eq_nocase(f, fl, "origin"))
        keep_value(&r->origin, &rd->value);
    else if (eq_nocase(f, fl, "expect"))
        rd->flags |= eq_nocase(v, vl, "100-continue") ? RD_EXPECT_CONTINUE : RD_EXPECT_OTHER;
    else if (eq_nocase(f, fl, "access-control-request-method"))
        r->flags |= JL_REQ_PREFLIGHT;
}

/* One complete header (name and value). */
static void header_done(reader_t *rd)
{
    if (!(rd->flags & RD_FIELD_LONG))
        note_header(rd);
    rd->flags &= (uint8_t)~(RD_FIELD_LONG | RD_IN_VALUE);
    rd->field_len = 0;
    rd->value.len = 0;
}

static int cb_header_field(http_parser *p, const char *at, size_t len)
{
    reader_t *rd = parser_reader(p);
    if (rd->flags & RD_IN_VALUE)
        header_done(rd);
    if (rd->field_len + len > FIELD_CAP) {
        rd->flags |= RD_FIELD_LONG;
        return 0;
    }
    memcpy(rd->field + rd->field_len, at, len);
    rd->field_len += len;
    return 0;
}

static int cb_header_value(http_parser *p, const char *at, size_t len)
{
    reader_t *rd = parser_reader(p);
    rd->flags |= RD_IN_VALUE;
    if (!(rd->flags & RD_FIELD_LONG))
        jl_buf_append(&rd->value, at, len);
    return 0;
}

/* The request target: path and query offsets, and the route. */
static void parse_target(jl_http_session_t *s, jl_http_req_t *r)
{
    struct http_parser_url u;
    http_parser_url_init(&u);
    if (r->url.len == 0 || http_parser_parse_url(r->url.data, r->url.len, 0, &u) != 0 ||
        !(u.field_set & (1 << UF_PATH))) {
        r->status = 400;
        return;
    }
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
    size_t n = jl_percent_decode(path, r->url.data + r->path_off, r->path_len, 0);
    r->route = (uint8_t)jl_http_route_of(s->http->srv->cfg, path, n);
    free(path);
}

static int body_follows(const jl_http_req_t *r)
{
    return r->chunked || (r->has_length && r->content_length > 0);
}

/* A refused request with a body: answer before the body (and close) if
 * reading it could cost much or the client waits for our word. */
static int refuse_early(const reader_t *rd)
{
    const jl_http_req_t *r = &rd->req;
    return r->status && body_follows(r) &&
           ((rd->flags & RD_EXPECT_CONTINUE) || r->chunked || r->content_length > SKIP_BODY_MAX ||
            r->status == 413);
}

static int cb_headers_complete(http_parser *p)
{
    jl_http_session_t *s = parser_session(p);
    reader_t *rd = parser_reader(p);
    jl_http_req_t *r = &rd->req;
    if (rd->flags & RD_IN_VALUE)
        header_done(rd);
    rd->flags |= RD_HEAD_DONE;
    copy_facts(rd);
    parse_target(s, r);
    if (!r->status && (rd->flags & RD_EXPECT_OTHER))
        r->status = 417;
    if (body_wanted(s))
        r->status = (uint16_t)jl_http_publish_check(s->http, r);
    if (refuse_early(rd)) {
        rd->flags |= RD_EARLY;
        http_parser_pause(p, 1);
        return 0;
    }
    if (!r->status && body_follows(r) && (rd->flags & RD_EXPECT_CONTINUE) &&
        r->route == JL_ROUTE_PUBLISH)
        jl_http_respond_continue(s);
    return 0;
}

static int cb_body(http_parser *p, const char *at, size_t len)
{
    jl_http_session_t *s = parser_session(p);
    reader_t *rd = parser_reader(p);
    jl_http_req_t *r = &rd->req;
    if (!body_wanted(s))
        return 0;   /* dropped */
    if (r->body.len + len > s->http->srv->cfg->max_message) {
        r->status = 413;
        rd->flags |= RD_EARLY;
        jl_buf_free(&r->body);
        http_parser_pause(p, 1);
        return 0;
    }
    jl_buf_append(&r->body, at, len);
    return 0;
}

static int cb_message_complete(http_parser *p)
{
    jl_http_req_t *r = &parser_reader(p)->req;
    if (http_should_keep_alive(p) && !p->upgrade)
        r->flags |= JL_REQ_KEEP_ALIVE;
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

/* ---- after a response ---- */

/* The session's decision, from what the response promised. */
static void after_response(jl_http_session_t *s, jl_http_next_t next)
{
    switch (next) {
    case JL_HTTP_NEXT:
        /* The head timeout starts again for the next request. */
        reader_clear(reader_of(s));
        s->req->since = ev_now(s->http->srv->loop);
        return;
    case JL_HTTP_CLOSE:
        jl_conn_close_after_flush(&s->conn);
        return;
    case JL_HTTP_STREAM:
        /* From here on the connection only writes. */
        reader_free(reader_of(s));
        s->req = NULL;
        s->state = JL_HTTP_STREAMING;
        return;
    case JL_HTTP_WAIT:
        /* The request stays; input is set aside until the answer. */
        s->state = JL_HTTP_WAITING;
        return;
    }
}

void jl_http_resume(jl_http_session_t *s, jl_http_next_t next)
{
    s->state = JL_HTTP_READING;
    after_response(s, next);
}

/* An error decided before dispatch. */
static jl_http_next_t refuse(jl_http_session_t *s)
{
    int status = s->req->status;
    return jl_http_respond_error(s, status, status == 401 ? "WWW-Authenticate: Bearer\r\n" : NULL);
}

static jl_http_next_t dispatch(jl_http_session_t *s)
{
    const jl_http_req_t *r = s->req;
    if (r->status)
        return refuse(s);
    /* Over the cap only a stream is answered (it sheds itself politely). */
    if (s->over_cap && !(r->route == JL_ROUTE_STREAM && r->method == JL_HTTP_GET))
        return jl_http_respond_busy(s);
    return jl_http_route_serve(s);
}

/* The parser stopped: a request is complete, or is refused early. */
static void on_paused(jl_http_session_t *s)
{
    reader_t *rd = reader_of(s);
    http_parser_pause(&rd->parser, 0);
    if (rd->flags & RD_EARLY) {
        rd->req.flags &= (uint8_t)~JL_REQ_KEEP_ALIVE;
        after_response(s, refuse(s));
        return;
    }
    after_response(s, dispatch(s));
}

static void on_parse_error(jl_http_session_t *s, enum http_errno err)
{
    reader_t *rd = reader_of(s);
    jl_log_debug("conn %llu: bad HTTP request: %s", (unsigned long long)s->conn.id,
                 http_errno_description(err));
    copy_facts(rd);
    rd->req.flags &= (uint8_t)~JL_REQ_KEEP_ALIVE;
    after_response(s, jl_http_respond_error(s, err == HPE_HEADER_OVERFLOW ? 431 : 400, NULL));
}

/* Parses what is buffered, answering each request as it completes, until
 * the input is used up or the connection stops reading requests. */
static void read_requests(jl_http_session_t *s)
{
    jl_conn_t *c = &s->conn;
    size_t off = 0;
    while (off < c->in.len && s->state == JL_HTTP_READING && !c->closing &&
           !c->close_after_flush) {
        http_parser *p = &reader_of(s)->parser;
        size_t n = http_parser_execute(p, &parser_settings, c->in.data + off, c->in.len - off);
        off += n;
        enum http_errno err = HTTP_PARSER_ERRNO(p);
        if (err == HPE_PAUSED) {
            on_paused(s);
            continue;
        }
        if (err != HPE_OK) {
            on_parse_error(s, err);
            break;
        }
        if (n == 0 || p->upgrade)
            break;  /* cannot happen without an error; never spin */
    }
    jl_buf_consume(&c->in, c->in.len);
}

/* ---- connection ops ---- */

/* ---- HTTP/2 ---- */

static const jl_conn_ops_t http_ops;

static jl_http_session_t *session_new(jl_http_t *h, int over_cap);

/* A new HTTP/2 stream's exchange: a session like an accepted one, on a
 * virtual connection inside the HTTP/2 connection. */
static jl_conn_t *open_stream(void *ud, jl_conn_t *parent, const jl_conn_transport_t *t,
                              void *tctx)
{
    jl_http_t *h = ud;
    /* A connection accepted over --max-conns sheds each of its requests as
     * an HTTP/1.1 one would be shed (a stream: 200 + retry: and the end). */
    jl_http_session_t *s = session_new(h, session_of(parent)->over_cap);
    jl_conn_init_virtual(&s->conn, &h->srv->conns, &http_ops, parent, t, tctx);
    s->req->since = s->conn.created;
    return &s->conn;
}

/* Before the first request: HTTP/2 if ALPN chose it, or (--h2c) if the
 * client starts with the HTTP/2 preface. Returns 1 when the input was
 * taken (or must wait for more bytes to decide). */
static int start_h2(jl_http_session_t *s)
{
    jl_conn_t *c = &s->conn;
    size_t alpn_len;
    const char *alpn = jl_conn_alpn(c, &alpn_len);
    int h2 = alpn && alpn_len == 2 && memcmp(alpn, "h2", 2) == 0;
    if (!h2 && s->http->srv->cfg->h2c && c->transport == NULL) {
        int pre = jl_h2_preface(c->in.data, c->in.len);
        if (pre < 0)
            return 1;
        h2 = pre;
    }
    if (!h2)
        return 0;
    reader_free(reader_of(s));
    s->req = NULL;
    s->state = JL_HTTP_H2;
    s->h2 = jl_h2_new(c, s->http->srv->cfg, open_stream, s->http);
    jl_h2_input(s->h2);
    return 1;
}

static void http_on_input(jl_conn_t *c)
{
    jl_http_session_t *s = session_of(c);
    if (s->h2) {
        jl_h2_input(s->h2);
        return;
    }
    if (!s->served && s->state == JL_HTTP_READING && start_h2(s))
        return;
    s->served = 1;
    /* A waiting request is answered before anything after it is read;
     * a stream reads only to notice the close. Both bound what they drop. */
    if (s->state == JL_HTTP_STREAMING || s->state == JL_HTTP_WAITING)
        jl_sse_stream_input(s);
    else
        read_requests(s);
}

static void http_on_shutdown(jl_conn_t *c)
{
    jl_http_session_t *s = session_of(c);
    if (s->h2) {
        jl_h2_shutdown(s->h2);  /* its streams say goodbye as sessions of their own */
        return;
    }
    if (s->state == JL_HTTP_STREAMING)
        jl_sse_stream_shutdown(s);
    jl_conn_close_after_flush(c);
}

static void http_on_cron(jl_conn_t *c, double now)
{
    jl_http_session_t *s = session_of(c);
    if (s->state != JL_HTTP_READING || s->req == NULL || c->close_after_flush)
        return;
    const reader_t *rd = reader_of(s);
    double limit = s->http->srv->cfg->head_timeout;
    int head_done = rd->flags & RD_HEAD_DONE;
    if (!head_done && !jl_outq_empty(&c->out)) {
        /* Kept alive: a response still being written is not the client's
         * idleness; the wait for the next request starts after it. */
        s->req->since = now;
        return;
    }
    if (head_done && body_wanted(s)) {
        /* An accepted publish body may be large: only stalling is bounded. */
        if (now - c->last_active > limit)
            jl_conn_close(c, "HTTP body timeout");
    } else if (now - s->req->since > limit) {
        /* The head, or a body we only drop, trickled: the whole request is
         * bounded, or one byte a second would hold the connection forever. */
        jl_conn_close(c, "HTTP request timeout");
    }
}

static void http_on_drained(jl_conn_t *c)
{
    jl_http_session_t *s = session_of(c);
    if (s->h2)
        jl_h2_drained(s->h2);
}

static void http_on_close(jl_conn_t *c, const char *why)
{
    jl_http_session_t *s = session_of(c);
    if (s->h2)
        jl_h2_closed(s->h2);
    jl_sse_stream_ended(s, why);
}

static void http_on_free(jl_conn_t *c)
{
    jl_http_session_t *s = session_of(c);
    jl_h2_free(s->h2);
    if (s->state == JL_HTTP_WAITING)
        jl_auth_url_forget(s);
    jl_sse_stream_free(s);
    if (s->req)
        reader_free(reader_of(s));
    free(s);
}

static const jl_conn_ops_t http_ops = {
    .on_input = http_on_input,
    .on_close = http_on_close,
    .on_drained = http_on_drained,
    .on_shutdown = http_on_shutdown,
    .on_cron = http_on_cron,
    .on_free = http_on_free,
};

/* ---- the HTTP side ---- */

jl_http_t *jl_http_new(jl_server_t *srv)
{
    const jl_config_t *cfg = srv->cfg;
    jl_http_t *h = jl_calloc(1, sizeof *h);
    h->srv = srv;
    jl_http_response_init(h);
    jl_http_routes_init(h);
    jl_auth_url_init(h);
    srv->match_streams = jl_sse_streams_match;
    jl_server_on_shutdown_notice(srv, jl_sse_streams_shutdown, h);
    srv->describe_streams = jl_sse_streams_describe;
    srv->streams_ud = h;
    jl_sse_streams_init(h);
    /* The parser counts the request line and headers against this. */
    http_parser_set_max_header_size((uint32_t)(cfg->max_head > UINT32_MAX ? UINT32_MAX
                                                                           : cfg->max_head));
    return h;
}

void jl_http_free(jl_http_t *h)
{
    if (h == NULL)
        return;
    h->srv->match_streams = NULL;
    jl_server_on_shutdown_notice(h->srv, NULL, h);
    h->srv->describe_streams = NULL;
    jl_auth_url_fini(h);
    jl_sse_streams_fini(h);
    jl_http_routes_fini(h);
    jl_http_response_fini(h);
    free(h);
}

static jl_http_session_t *session_new(jl_http_t *h, int over_cap)
{
    jl_http_session_t *s = jl_calloc(1, sizeof *s);
    reader_t *rd = jl_calloc(1, sizeof *rd);
    s->http = h;
    s->over_cap = (uint8_t)over_cap;
    s->state = JL_HTTP_READING;
    s->req = &rd->req;
    http_parser_init(&rd->parser, HTTP_REQUEST);
    rd->parser.data = s;
    return s;
}

void jl_http_accept(void *ud, jl_server_t *srv, int fd, int unix_socket, int over_cap,
                    jl_tls_t *tls)
{
    jl_http_session_t *s = session_new(ud, over_cap);
    jl_conn_init(&s->conn, &srv->conns, &http_ops, fd, unix_socket);
    s->req->since = s->conn.created;
    if (tls)
        jl_conn_start_tls(&s->conn, tls, NULL);
}
