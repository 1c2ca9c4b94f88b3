/* http_types.h -- the records the HTTP side's modules share.
 *
 * http/ is split by phase, as nginx splits its HTTP module:
 *
 *   http_session.c   reads requests (http-parser, limits, keep-alive)
 *        |           and hands each complete one to ...
 *        v
 *   http_routes.c    ... its route: health, publish, the page, OPTIONS;
 *        |           the stream route hands over to ...
 *        v
 *   sse_stream.c     ... the SSE stream: a registry sink, keepalives,
 *        |           long-poll, the wait for upstream confirmations
 *        v
 *   http_response.c  every response byte: heads, errors, CORS, SSE heads
 *
 * Beside them, http_token.c finds a request's token (for the publish route
 * and the stream) and sse_auth.c keeps a token's user and expiry on a live
 * stream; both sit between the routes and the response in that order.
 * Includes only go down that list, never up. The three records below are
 * what they pass to each other, so they live here rather than in any one
 * of them: jl_http_t (the side's state, one per server), jl_http_session_t
 * (one HTTP connection) and jl_http_req_t (the request being answered).
 * The request record holds facts copied out of the parser when the head is
 * complete -- the parser itself is private to http_session.c, the only
 * file that includes http_parser.h. Who owns each field is said next to
 * it. */
#ifndef JL_HTTP_TYPES_H
#define JL_HTTP_TYPES_H

#include "server/buf.h"
#include "server/conn.h"
#include "server/msg.h"
#include "server/rand.h"
#include "server/registry.h"
#include "server/util.h"

#include <ev.h>
#include <stdint.h>

typedef struct jl_server jl_server_t;

/* A query string with more pairs than this is refused (400). */
#define JL_HTTP_MAX_QUERY_PAIRS 256

/* The methods any route answers; everything else is JL_HTTP_OTHER. */
typedef enum {
    JL_HTTP_GET,
    JL_HTTP_HEAD,
    JL_HTTP_POST,
    JL_HTTP_OPTIONS,
    JL_HTTP_OTHER
} jl_http_method_t;

typedef enum {
    JL_ROUTE_NONE,              /* no such path: 404 */
    JL_ROUTE_STREAM,            /* --path: the SSE stream */
    JL_ROUTE_PUBLISH,           /* --publish-path, only with --publish-token */
    JL_ROUTE_HEALTH,            /* /health */
    JL_ROUTE_PAGE,              /* /: the built-in page */
    JL_ROUTE_METRICS,           /* /metrics, only with --metrics */
    JL_ROUTE_CHANNELS,          /* /channels, the page's live list, only with --metrics */
    JL_ROUTE_COUNT
} jl_http_route_t;

/* What a response promised the client, so what the session does next. The
 * response writes "Connection: close" or not; the session acts on it. */
typedef enum {
    JL_HTTP_NEXT,               /* kept alive: read the next request */
    JL_HTTP_CLOSE,              /* close once the response is written */
    JL_HTTP_STREAM,             /* the connection is an SSE stream from now on */
    JL_HTTP_WAIT                /* no response yet: the route answers later, through
                                 * jl_http_resume (the request is kept until then) */
} jl_http_next_t;

/* jl_http_req_t.flags */
enum {
    JL_REQ_XHR = 1 << 0,        /* X-Requested-With: XMLHttpRequest (long-poll) */
    JL_REQ_PREFLIGHT = 1 << 1,  /* Access-Control-Request-Method present */
    JL_REQ_KEEP_ALIVE = 1 << 2, /* the client allows another request on this connection */
};

/* The request being answered. Written by http_session.c only (the other
 * modules read it), which clears it for each request and frees it when
 * the connection becomes a stream. */
typedef struct jl_http_req {
    double since;               /* waiting for this request's head since */
    uint16_t status;            /* an error decided before dispatch, or 0 */
    uint8_t flags;              /* JL_REQ_* */
    uint8_t route;              /* jl_http_route_t */
    uint8_t method;             /* jl_http_method_t */
    uint8_t http_1_0;           /* HTTP/1.0: keep-alive must be said out loud */
    uint8_t chunked;            /* Transfer-Encoding: chunked */
    uint8_t has_length;         /* Content-Length was given ... */
    uint64_t content_length;    /* ... and said this */
    jl_buf_t url;               /* the request target, raw */
    size_t path_off, path_len;  /* into url (raw) */
    size_t query_off, query_len;
    jl_buf_t body;              /* an accepted publish's body */
    char *authorization;        /* header values we keep, or NULL */
    char *origin;
    char *last_event_id;
    char *cookie;               /* a stream's token may be in it (http_token.c) */
} jl_http_req_t;

/* JL_HTTP_H2: the connection speaks HTTP/2 (h2.h); its requests are the
 * sessions of its streams. */
typedef enum { JL_HTTP_READING, JL_HTTP_STREAMING, JL_HTTP_WAITING, JL_HTTP_H2 } jl_http_state_t;

typedef struct jl_http jl_http_t;
typedef struct jl_sse_wait jl_sse_wait_t;   /* private to sse_stream.c */
typedef struct jl_sse_auth jl_sse_auth_t;   /* private to sse_auth.c */
typedef struct jl_auth_url jl_auth_url_t;   /* private to auth_url.c */

/* One HTTP connection. Allocated and freed by http_session.c; the stream
 * fields belong to sse_stream.c, which sets them up when the stream starts
 * and releases them from jl_sse_stream_free. */
typedef struct jl_http_session {
    jl_conn_t conn;             /* the transport (conn.h) */
    jl_http_t *http;
    jl_http_req_t *req;         /* the request being read; NULL on a stream */
    uint8_t state;              /* jl_http_state_t */
    uint8_t over_cap;           /* accepted at --max-conns: shed it */
    uint8_t served;             /* input was read as HTTP/1.1: too late for HTTP/2 */
    uint8_t h2_stream;          /* an SSE stream over HTTP/2, counted as such in the stats */
    uint8_t lifecycle_ok;       /* may read __jugglite__:* (granted by name: sse_stream.c) */
    struct jl_h2 *h2;           /* HTTP/2 on this connection (http_session.c), or NULL */
    uint32_t ignored;           /* bytes received on a stream after its head */
    /* the stream (sse_stream.c) */
    jl_sink_t sink;             /* ops == NULL until the stream subscribes */
    jl_list_t stream;           /* http->streams while a stream */
    ev_timer *longpoll;         /* long-poll streams only */
    jl_sse_wait_t *wait;        /* bridged, until its subscriptions are confirmed */
    jl_sse_auth_t *auth;        /* opened with a token: its user and expiry; else NULL */
    char *channels;             /* "a, b" as registered, for the access line; or NULL */
    char *identity;             /* --lifecycle-events: the connect event's JSON, kept for
                                   the disconnect (the token may be gone by then) */
    const char *end_reason;     /* why the server is ending the stream ("shutdown", ...) */
    uint64_t events;            /* events written to this stream */
    /* The last event sent: its history id, or {0, walk} for one without an
     * id; a stream reached by a channel and a pattern sends an event once. */
    jl_hist_id_t last;
} jl_http_session_t;

/* The HTTP side's state, one per server, owned by main.c (jl_http_new).
 * Each module keeps its part here rather than in file-scope variables. */
struct jl_http {
    jl_server_t *srv;
    /* sse_stream.c */
    jl_list_t streams;          /* every stream (jl_http_session_t.stream); stats.sse_streams counts them */
    jl_list_t waiting;          /* streams whose upstream subscriptions are unconfirmed */
    ev_timer keepalive;
    jl_buf_t scratch;           /* event frames are built here */
    /* sse_auth.c */
    jl_list_t authed;           /* streams opened with a token, by jl_sse_auth_t.node */
    ev_timer expiry;            /* one timer for all of them: the soonest exp */
    double expiry_at;           /* when it fires (Unix seconds); 0: stopped */
    /* auth_url.c: --auth-url's questions in flight and its cache; NULL without it */
    jl_auth_url_t *auth_url;
    /* http_routes.c */
    jl_frame_t *page;           /* the built-in page, rendered once */
    /* http_response.c */
    jl_rng_t rng;               /* retry jitter */
    jl_buf_t head;              /* response heads are built here */
};

#endif
