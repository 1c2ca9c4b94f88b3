/* h2.c -- HTTP/2 streams as HTTP/1.1 exchanges (see h2.h).
 *
 * A request: HEADERS (and CONTINUATION) are decoded by nghttp2 into name
 * and value pairs; we write them down as an HTTP/1.1 request head --
 * ":method :path HTTP/1.1", "host: <:authority>", the rest as they came,
 * "connection: close" (one request per stream) -- and a body as chunked
 * transfer coding unless content-length was given. What the session
 * answers is an HTTP/1.1 response whose head we wrote ourselves
 * (http_response.c), so reading it back is simple: the status line, then
 * header lines minus the hop-by-hop ones HTTP/2 forbids.
 *
 * Sending is nghttp2_session_send; it is never entered twice (a callback
 * that needs a send while one runs, or while nghttp2_session_mem_recv
 * runs, leaves it to the loop in send_all). */
#include "http/h2.h"
#include "server/log.h"
#include "server/util.h"

#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct h2_stream {
    jl_list_t node;             /* jl_h2_t.streams */
    jl_list_t finishing;        /* jl_h2_t.finishing once END_STREAM went out */
    jl_h2_t *h;
    int32_t id;
    jl_conn_t *vc;              /* the exchange's connection; NULL once it closed */
    jl_buf_t head;              /* the request head being written down */
    jl_buf_t cookie;            /* cookie fields, joined with "; " (RFC 9113 8.2.3) */
    size_t head_bytes;          /* names and values decoded, against --max-header-size */
    char *method, *path, *authority;
    uint8_t chunked;            /* the body goes as chunked transfer coding */
    uint8_t fed;                /* the head went to vc */
    uint8_t responded;          /* the response's HEADERS were submitted */
    uint8_t ended;              /* vc closed gracefully: END_STREAM once its queue is out */
    uint8_t eof_sent;           /* END_STREAM went with a DATA frame */
} h2_stream_t;

struct jl_h2 {
    jl_conn_t *conn;
    const jl_config_t *cfg;
    jl_h2_open_fn open;
    void *ud;
    nghttp2_session *session;
    jl_list_t streams;
    jl_list_t finishing;        /* streams whose END_STREAM is out: their exchange ends */
    size_t nstreams;
    int busy;                   /* inside mem_recv or session_send */
    int send_blocked;           /* on_send refused: conn's queue is long; resume when drained */
    int want_send;              /* a send was asked for while busy */
    int closing;                /* conn is closing: streams just go */
    int shutting_down;          /* GOAWAY sent: close conn when no stream is left */
};

static const char preface[] = NGHTTP2_CLIENT_MAGIC;

int jl_h2_preface(const char *p, size_t n)
{
    size_t want = sizeof preface - 1;
    size_t cmp = n < want ? n : want;
    if (memcmp(p, preface, cmp) != 0)
        return 0;
    return n >= want ? 1 : -1;
}

/* ---- sending ---- */

static void finish_streams(jl_h2_t *h);

/* Sends whatever nghttp2 has to send, then closes what finished, until
 * nothing more is asked; afterwards, a connection neither side needs any
 * more is closed. */
static void send_all(jl_h2_t *h)
{
    if (h->busy) {
        h->want_send = 1;
        return;
    }
    do {
        h->want_send = 0;
        h->busy = 1;
        int rc = nghttp2_session_send(h->session);
        h->busy = 0;
        if (rc != 0) {
            jl_log_debug("conn %llu: HTTP/2 send: %s", (unsigned long long)h->conn->id,
                         nghttp2_strerror(rc));
            jl_conn_close(h->conn, "HTTP/2 send error");
            return;
        }
        finish_streams(h);
    } while (h->want_send && !h->conn->closing);
    if (!nghttp2_session_want_read(h->session) && !nghttp2_session_want_write(h->session))
        jl_conn_close_after_flush(h->conn);
    else if (h->shutting_down && h->nstreams == 0)
        jl_conn_close_after_flush(h->conn);
}

/* Over this much unsent, frames stay in nghttp2's queue, where its flood
 * defences count them: a client that sends PINGs or SETTINGS without
 * reading the answers is cut off by nghttp2 (NGHTTP2_ERR_FLOODED), not
 * only later by --obuf-hard. */
#define H2_QUEUE_HIGH (256 * 1024)

static ssize_t on_send(nghttp2_session *session, const uint8_t *data, size_t length, int flags,
                       void *user_data)
{
    (void)session;
    (void)flags;
    jl_h2_t *h = user_data;
    if (h->conn->out.bytes > H2_QUEUE_HIGH) {
        h->send_blocked = 1;
        return NGHTTP2_ERR_WOULDBLOCK;
    }
    jl_conn_append(h->conn, data, length);
    return (ssize_t)length;
}

/* The DATA frame nghttp2 decided on: its header, then the payload moved
 * (not copied) from the stream's queue. */
static int on_send_data(nghttp2_session *session, nghttp2_frame *frame, const uint8_t *framehd,
                        size_t length, nghttp2_data_source *source, void *user_data)
{
    (void)session;
    (void)frame;
    jl_h2_t *h = user_data;
    h2_stream_t *st = source->ptr;
    if (h->conn->out.bytes > H2_QUEUE_HIGH) {
        h->send_blocked = 1;
        return NGHTTP2_ERR_WOULDBLOCK;
    }
    if (length > 0 && (st->vc == NULL || st->vc->out.bytes < length))
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;   /* resets this stream only */
    jl_conn_move(h->conn, framehd, 9, length ? &st->vc->out : NULL, length);
    if (st->vc)
        st->vc->blocked = !jl_outq_empty(&st->vc->out);
    return 0;
}

static ssize_t read_body(nghttp2_session *session, int32_t stream_id, uint8_t *buf, size_t length,
                         uint32_t *data_flags, nghttp2_data_source *source, void *user_data)
{
    (void)session;
    (void)stream_id;
    (void)buf;
    jl_h2_t *h = user_data;
    h2_stream_t *st = source->ptr;
    size_t queued = st->vc ? st->vc->out.bytes : 0;
    int last = st->ended || (st->vc && st->vc->close_after_flush);
    size_t n = queued < length ? queued : length;
    if (n == 0 && !last)
        return NGHTTP2_ERR_DEFERRED;
    *data_flags |= NGHTTP2_DATA_FLAG_NO_COPY;
    if (last && n == queued) {
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
        st->eof_sent = 1;
        jl_list_push(&h->finishing, &st->finishing);
    }
    return (ssize_t)n;
}

/* Streams whose session finished (close_after_flush) and whose bytes have
 * all gone to the connection: their exchange closes, END_STREAM is out. */
static void finish_streams(jl_h2_t *h)
{
    while (!jl_list_empty(&h->finishing)) {
        h2_stream_t *st = JL_CONTAINER_OF(h->finishing.next, h2_stream_t, finishing);
        jl_list_remove(&st->finishing);
        jl_conn_t *vc = st->vc;
        if (vc && !vc->closing)
            jl_conn_close(vc, "flushed");
    }
}

/* ---- the response: an HTTP/1.1 head read back ---- */

static int hop_by_hop(const char *name, size_t len)
{
    static const char *const names[] = {"connection", "keep-alive", "proxy-connection",
                                        "transfer-encoding", "upgrade"};
    for (size_t i = 0; i < JL_ARRAY_LEN(names); i++)
        if (strlen(names[i]) == len && strncasecmp(name, names[i], len) == 0)
            return 1;
    return 0;
}

#define MAX_RESPONSE_HEADERS 32

/* The head at the front of vc's queue, if it is all there: HEADERS for it
 * are submitted and its bytes consumed. Returns 1 when submitted, 0 when
 * the head is not complete yet, -1 when it cannot be read. */
static int submit_response(h2_stream_t *st)
{
    jl_conn_t *vc = st->vc;
    char scratch[8192];
    size_t n;
    const char *p = jl_outq_gather(&vc->out, scratch, sizeof scratch - 1, &n);
    if (p == NULL)
        return 0;
    const char *end = NULL;
    for (size_t i = 3; i < n && end == NULL; i++)
        if (memcmp(p + i - 3, "\r\n\r\n", 4) == 0)
            end = p + i + 1;
    if (end == NULL)
        return n >= sizeof scratch - 1 ? -1 : 0;
    if (n < 12 || strncmp(p, "HTTP/1.", 7) != 0)
        return -1;
    char status[4] = {p[9], p[10], p[11], '\0'};
    if (strncmp(p + 9, "100", 3) == 0) {            /* interim: not for HTTP/2 */
        jl_outq_consume(&vc->out, (size_t)(end - p));
        return submit_response(st);
    }
    nghttp2_nv nv[MAX_RESPONSE_HEADERS + 1];
    size_t nnv = 0;
    nv[nnv++] = (nghttp2_nv){(uint8_t *)":status", (uint8_t *)status, 7, 3, NGHTTP2_NV_FLAG_NONE};
    /* HPACK wants lowercase names; ours are written capitalised. */
    char names[MAX_RESPONSE_HEADERS][64];
    const char *line = memchr(p, '\n', (size_t)(end - p)) + 1;
    while (line < end - 2 && nnv <= MAX_RESPONSE_HEADERS) {
        const char *eol = memchr(line, '\r', (size_t)(end - line));
        const char *colon = memchr(line, ':', (size_t)(eol - line));
        if (colon == NULL || (size_t)(colon - line) >= sizeof names[0])
            return -1;
        size_t nlen = (size_t)(colon - line);
        const char *val = colon + 1;
        while (val < eol && *val == ' ')
            val++;
        if (!hop_by_hop(line, nlen)) {
            char *name = names[nnv - 1];
            for (size_t i = 0; i < nlen; i++)
                name[i] = (char)(line[i] >= 'A' && line[i] <= 'Z' ? line[i] + 32 : line[i]);
            nv[nnv++] = (nghttp2_nv){(uint8_t *)name, (uint8_t *)val, nlen, (size_t)(eol - val),
                                     NGHTTP2_NV_FLAG_NONE};
        }
        line = eol + 2;
    }
    nghttp2_data_provider body = {.source.ptr = st, .read_callback = read_body};
    /* nghttp2 copies the names and values now; then the head can go. */
    int rc = nghttp2_submit_response(st->h->session, st->id, nv, nnv, &body);
    jl_outq_consume(&vc->out, (size_t)(end - p));
    if (rc != 0)
        return -1;
    st->responded = 1;
    return 1;
}

/* ---- the transport of a stream's connection ---- */

static int stream_take(jl_conn_t *vc)
{
    h2_stream_t *st = vc->tctx;
    jl_h2_t *h = st->h;
    if (!st->responded) {
        int rc = submit_response(st);
        if (rc < 0) {
            jl_conn_close(vc, "HTTP/2: unreadable response head");
            return 0;
        }
        if (rc == 0)
            return 0;   /* more of the head to come */
    } else {
        nghttp2_session_resume_data(h->session, st->id);
    }
    send_all(h);    /* may end the stream: st is not to be touched after it */
    return !vc->closing && !jl_outq_empty(&vc->out);
}

static void stream_closed(jl_conn_t *vc, int graceful)
{
    h2_stream_t *st = vc->tctx;
    if (st == NULL)
        return;
    jl_h2_t *h = st->h;
    st->vc = NULL;
    if (h->closing)
        return;
    if (graceful && st->responded) {
        st->ended = 1;
        if (!st->eof_sent)
            nghttp2_session_resume_data(h->session, st->id);
    } else {
        /* Cut short (a limit, a kill, an error): the browser sees the stream
         * end with an error and its EventSource reconnects. */
        nghttp2_submit_rst_stream(h->session, NGHTTP2_FLAG_NONE, st->id,
                                  graceful ? NGHTTP2_NO_ERROR : NGHTTP2_INTERNAL_ERROR);
    }
    send_all(h);
}

static const jl_conn_transport_t stream_transport = {
    .take = stream_take,
    .closed = stream_closed,
};

/* ---- receiving ---- */

static h2_stream_t *stream_of(jl_h2_t *h, int32_t id)
{
    return nghttp2_session_get_stream_user_data(h->session, id);
}

static int on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame,
                            void *user_data)
{
    jl_h2_t *h = user_data;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    h2_stream_t *st = jl_calloc(1, sizeof *st);
    st->h = h;
    st->id = frame->hd.stream_id;
    jl_list_push(&h->streams, &st->node);
    h->nstreams++;
    nghttp2_session_set_stream_user_data(session, st->id, st);
    return 0;
}

static char *dup_n(const uint8_t *p, size_t n)
{
    return jl_strndup((const char *)p, n);
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user_data)
{
    (void)session;
    (void)flags;
    jl_h2_t *h = user_data;
    h2_stream_t *st = stream_of(h, frame->hd.stream_id);
    if (st == NULL || st->fed)
        return 0;   /* trailers: ignored */
    st->head_bytes += namelen + valuelen + 4;
    if (st->head_bytes > h->cfg->max_head)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;   /* RST_STREAM; the others go on */
    char **pseudo = namelen == 7 && memcmp(name, ":method", 7) == 0      ? &st->method
                    : namelen == 5 && memcmp(name, ":path", 5) == 0      ? &st->path
                    : namelen == 10 && memcmp(name, ":authority", 10) == 0 ? &st->authority
                                                                         : NULL;
    if (pseudo) {
        free(*pseudo);
        *pseudo = dup_n(value, valuelen);
        return 0;
    }
    if (name[0] == ':' || (namelen == 4 && memcmp(name, "host", 4) == 0) ||
        (namelen == 6 && memcmp(name, "expect", 6) == 0))
        return 0;   /* :scheme; host comes from :authority; no 100-continue in HTTP/2 */
    if (namelen == 6 && memcmp(name, "cookie", 6) == 0) {
        /* Browsers send one field per cookie over HTTP/2; HTTP/1.1 has one. */
        if (st->cookie.len)
            jl_buf_append(&st->cookie, "; ", 2);
        jl_buf_append(&st->cookie, value, valuelen);
        return 0;
    }
    jl_buf_append(&st->head, name, namelen);
    jl_buf_append(&st->head, ": ", 2);
    jl_buf_append(&st->head, value, valuelen);
    jl_buf_append(&st->head, "\r\n", 2);
    return 0;
}

/* The head is complete: the stream's exchange starts. */
static int feed_head(jl_h2_t *h, h2_stream_t *st, int end_stream)
{
    if (st->method == NULL || st->path == NULL)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    int has_length = 0;
    for (size_t i = 0; i + 15 <= st->head.len; i++)
        if ((i == 0 || st->head.data[i - 1] == '\n') &&
            strncmp(st->head.data + i, "content-length:", 15) == 0)
            has_length = 1;
    st->chunked = !end_stream && !has_length;
    jl_buf_t req = {0};
    jl_buf_printf(&req, "%s %s HTTP/1.1\r\nhost: %s\r\n", st->method, st->path,
                  st->authority ? st->authority : "");
    jl_buf_append(&req, st->head.data ? st->head.data : "", st->head.len);
    if (st->cookie.len) {
        jl_buf_append(&req, "cookie: ", 8);
        jl_buf_append(&req, st->cookie.data, st->cookie.len);
        jl_buf_append(&req, "\r\n", 2);
    }
    jl_buf_printf(&req, "%sconnection: close\r\n\r\n",
                  st->chunked ? "transfer-encoding: chunked\r\n" : "");
    jl_buf_free(&st->head);
    jl_buf_free(&st->cookie);
    st->fed = 1;
    st->vc = h->open(h->ud, h->conn, &stream_transport, st);
    jl_conn_feed(st->vc, req.data, req.len);
    jl_buf_free(&req);
    if (end_stream && st->chunked && st->vc)
        jl_conn_feed(st->vc, "0\r\n\r\n", 5);
    return 0;
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    (void)session;
    jl_h2_t *h = user_data;
    h2_stream_t *st = stream_of(h, frame->hd.stream_id);
    if (st == NULL)
        return 0;
    int end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    if (frame->hd.type == NGHTTP2_HEADERS && !st->fed)
        return feed_head(h, st, end_stream);
    if (frame->hd.type == NGHTTP2_DATA && end_stream && st->chunked && st->vc)
        jl_conn_feed(st->vc, "0\r\n\r\n", 5);
    return 0;
}

static int on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t stream_id,
                         const uint8_t *data, size_t len, void *user_data)
{
    (void)session;
    (void)flags;
    h2_stream_t *st = stream_of(user_data, stream_id);
    if (st == NULL || st->vc == NULL || len == 0)
        return 0;
    if (st->chunked) {
        char size[24];
        int n = snprintf(size, sizeof size, "%zx\r\n", len);
        jl_conn_feed(st->vc, size, (size_t)n);
    }
    jl_conn_feed(st->vc, data, len);
    if (st->chunked && st->vc)
        jl_conn_feed(st->vc, "\r\n", 2);
    return 0;
}

static void stream_free(h2_stream_t *st)
{
    jl_list_remove(&st->node);
    jl_list_remove(&st->finishing);
    st->h->nstreams--;
    jl_buf_free(&st->head);
    jl_buf_free(&st->cookie);
    free(st->method);
    free(st->path);
    free(st->authority);
    free(st);
}

static int on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code,
                           void *user_data)
{
    jl_h2_t *h = user_data;
    h2_stream_t *st = stream_of(h, stream_id);
    if (st == NULL)
        return 0;
    nghttp2_session_set_stream_user_data(session, stream_id, NULL);
    if (st->vc) {
        /* The browser closed the stream (a tab closed: RST_STREAM CANCEL). */
        jl_conn_t *vc = st->vc;
        vc->tctx = NULL;
        st->vc = NULL;
        jl_conn_close(vc, error_code ? "HTTP/2 stream reset by the client" : "HTTP/2 stream closed");
    }
    stream_free(st);
    return 0;
}

/* ---- public API ---- */

static nghttp2_session_callbacks *callbacks(void)
{
    nghttp2_session_callbacks *cb;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_send_callback(cb, on_send);
    nghttp2_session_callbacks_set_send_data_callback(cb, on_send_data);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    return cb;
}

/* nghttp2's defences, spelled out (these are its defaults in the version
 * Debian ships, with the 2023-2024 fixes; saying them here keeps them). */
static nghttp2_option *options(void)
{
    nghttp2_option *opt;
    nghttp2_option_new(&opt);
    nghttp2_option_set_max_outbound_ack(opt, 1000);         /* PING / SETTINGS floods */
    nghttp2_option_set_max_settings(opt, 32);               /* entries in one SETTINGS */
    nghttp2_option_set_stream_reset_rate_limit(opt, 1000, 33);  /* rapid reset */
    nghttp2_option_set_max_continuations(opt, 8);           /* CONTINUATION floods */
    return opt;
}

jl_h2_t *jl_h2_new(jl_conn_t *conn, const jl_config_t *cfg, jl_h2_open_fn open, void *ud)
{
    jl_h2_t *h = jl_calloc(1, sizeof *h);
    h->conn = conn;
    h->cfg = cfg;
    h->open = open;
    h->ud = ud;
    jl_list_init(&h->streams);
    jl_list_init(&h->finishing);
    nghttp2_session_callbacks *cb = callbacks();
    nghttp2_option *opt = options();
    nghttp2_session_server_new2(&h->session, cb, h, opt);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cb);
    nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, JL_H2_MAX_STREAMS},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE,
         (uint32_t)(cfg->max_head > UINT32_MAX ? UINT32_MAX : cfg->max_head)},
    };
    nghttp2_submit_settings(h->session, NGHTTP2_FLAG_NONE, settings, JL_ARRAY_LEN(settings));
    return h;
}

void jl_h2_input(jl_h2_t *h)
{
    jl_conn_t *c = h->conn;
    h->busy = 1;
    ssize_t n = nghttp2_session_mem_recv(h->session, (const uint8_t *)c->in.data, c->in.len);
    h->busy = 0;
    jl_buf_consume(&c->in, c->in.len);
    if (n < 0) {
        jl_log_debug("conn %llu: HTTP/2: %s", (unsigned long long)c->id, nghttp2_strerror((int)n));
        /* A GOAWAY if nghttp2 has not queued one itself; a flood gets
         * ENHANCE_YOUR_CALM, as RFC 9113 suggests. */
        nghttp2_session_terminate_session(h->session, n == NGHTTP2_ERR_FLOODED ||
                                                             n == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS
                                                         ? NGHTTP2_ENHANCE_YOUR_CALM
                                                         : NGHTTP2_PROTOCOL_ERROR);
        send_all(h);
        jl_conn_close_after_flush(c);
        return;
    }
    send_all(h);
}

void jl_h2_drained(jl_h2_t *h)
{
    if (!h->send_blocked)
        return;
    h->send_blocked = 0;
    send_all(h);
}

void jl_h2_shutdown(jl_h2_t *h)
{
    h->shutting_down = 1;
    nghttp2_submit_goaway(h->session, NGHTTP2_FLAG_NONE,
                          nghttp2_session_get_last_proc_stream_id(h->session), NGHTTP2_NO_ERROR,
                          NULL, 0);
    send_all(h);
}

void jl_h2_closed(jl_h2_t *h)
{
    h->closing = 1;
    JL_LIST_FOREACH_SAFE(&h->streams, it, tmp) {
        h2_stream_t *st = JL_CONTAINER_OF(it, h2_stream_t, node);
        if (st->vc) {
            jl_conn_t *vc = st->vc;
            vc->tctx = NULL;
            st->vc = NULL;
            jl_conn_close(vc, "HTTP/2 connection closed");
            vc->parent = NULL;  /* it may be freed first: no address from it now */
        }
    }
}

void jl_h2_free(jl_h2_t *h)
{
    if (h == NULL)
        return;
    jl_h2_closed(h);
    nghttp2_session_del(h->session);    /* no callbacks from here on */
    while (!jl_list_empty(&h->streams))
        stream_free(JL_CONTAINER_OF(h->streams.next, h2_stream_t, node));
    free(h);
}
