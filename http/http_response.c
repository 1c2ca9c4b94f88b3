/* http_response.c -- status lines, heads, error bodies, CORS (see
 * http_response.h).
 *
 * Every head is built in the one jl_http_t.head buffer and copied onto the
 * connection, so a response costs no allocation once the buffer has grown.
 * Bodies are copied too, except the page, which is a shared frame.
 *
 * CORS: with --cors-origin, a request whose Origin is listed gets that
 * origin back (with credentials allowed and "Vary: Origin"); otherwise "*"
 * if it is listed, else only "Vary: Origin", so caches keep the answers to
 * different origins apart. */
#include "http/http_response.h"

#include "http/sse.h"
#include "server/server.h"

#include <stdio.h>
#include <string.h>

static const char *reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
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

void jl_http_response_init(jl_http_t *h) { jl_rng_seed(&h->rng); }

void jl_http_response_fini(jl_http_t *h) { jl_buf_free(&h->head); }

/* retry_ms +/- 20%, so that clients shed together do not return together. */
static unsigned retry_jittered(jl_http_t *h)
{
    unsigned ms = h->srv->cfg->retry_ms;
    if (ms == 0)
        return 0;
    double f = 0.8 + 0.4 * jl_rng_unit(&h->rng);
    return (unsigned)(ms * f + 0.5);
}

static void add_cors(const jl_http_session_t *s, jl_buf_t *b)
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

/* The head of a complete response, into h->head. */
static void build_head(jl_http_session_t *s, int status, const char *ctype, const char *extra,
                       size_t len, int keep)
{
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
    else if (s->req->http_1_0)
        jl_buf_append_str(head, "Connection: keep-alive\r\n");
    jl_buf_append(head, "\r\n", 2);
}

/* body_frame (shared, not consumed) replaces body when not NULL. */
static jl_http_next_t respond_full(jl_http_session_t *s, int status, const char *ctype,
                                   const char *extra, const char *body, size_t len,
                                   jl_frame_t *body_frame, int keep)
{
    const jl_http_req_t *r = s->req;
    if (body_frame) {
        body = body_frame->data;
        len = body_frame->len;
    }
    keep = keep && r && (r->flags & JL_REQ_KEEP_ALIVE);
    int head_only = r && r->method == JL_HTTP_HEAD;
    build_head(s, status, ctype, extra, len, keep);
    jl_conn_append(&s->conn, s->http->head.data, s->http->head.len);
    if (!head_only && status != 204 && len) {
        if (body_frame)
            jl_conn_push(&s->conn, body_frame);
        else
            jl_conn_append(&s->conn, body, len);
    }
    return keep ? JL_HTTP_NEXT : JL_HTTP_CLOSE;
}

jl_http_next_t jl_http_respond(jl_http_session_t *s, int status, const char *ctype,
                               const char *extra, const char *body, int keep)
{
    return respond_full(s, status, ctype, extra, body, body ? strlen(body) : 0, NULL, keep);
}

jl_http_next_t jl_http_respond_frame(jl_http_session_t *s, int status, const char *ctype,
                                     const char *extra, jl_frame_t *body, int keep)
{
    return respond_full(s, status, ctype, extra, NULL, 0, body, keep);
}

jl_http_next_t jl_http_respond_error(jl_http_session_t *s, int status, const char *extra)
{
    char body[96];
    snprintf(body, sizeof body, "%d %s\n", status, reason(status));
    int keep = status == 401 || status == 403 || status == 404 || status == 405 || status == 411;
    return jl_http_respond(s, status, "text/plain; charset=utf-8", extra, body, keep);
}

jl_http_next_t jl_http_respond_busy(jl_http_session_t *s)
{
    char extra[64];
    unsigned secs = (s->http->srv->cfg->retry_ms + 999) / 1000;
    snprintf(extra, sizeof extra, "Retry-After: %u\r\n", secs ? secs : 1);
    return jl_http_respond(s, 503, "text/plain; charset=utf-8", extra,
                           "503 Service Unavailable: too many connections\n", 0);
}

jl_http_next_t jl_http_respond_options(jl_http_session_t *s, const char *allow)
{
    char extra[512];
    const jl_config_t *cfg = s->http->srv->cfg;
    int n = snprintf(extra, sizeof extra, "Allow: %s\r\n", allow);
    if (cfg->n_cors_origins && (s->req->flags & JL_REQ_PREFLIGHT))
        snprintf(extra + n, sizeof extra - (size_t)n,
                 "Access-Control-Allow-Methods: GET, POST, OPTIONS\r\n"
                 "Access-Control-Allow-Headers: Last-Event-ID, Authorization, Content-Type, "
                 "X-Requested-With, Cache-Control\r\n"
                 "Access-Control-Max-Age: 86400\r\n");
    return jl_http_respond(s, 204, NULL, extra, NULL, 1);
}

void jl_http_respond_continue(jl_http_session_t *s)
{
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    jl_conn_append(&s->conn, cont, sizeof cont - 1);
}

void jl_http_stream_head(jl_http_session_t *s)
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

void jl_http_append_retry(jl_http_session_t *s)
{
    jl_buf_t b = {0};
    jl_sse_retry(&b, retry_jittered(s->http));
    jl_conn_append(&s->conn, b.data, b.len);
    jl_buf_free(&b);
}
