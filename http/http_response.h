/* http_response.h -- every byte the HTTP side writes in answer to a request.
 *
 * Status lines, heads, short error bodies, CORS headers, the preflight
 * answer, the SSE stream's head and its "retry:" field. Responses are
 * queued on the session's connection (jl_conn_append / jl_conn_push) and
 * read what they need from s->req: the method (a HEAD gets no body), the
 * HTTP version, Origin and whether the client allows keep-alive.
 *
 * A function that writes a whole response returns what its head promised
 * -- JL_HTTP_NEXT (kept alive) or JL_HTTP_CLOSE ("Connection: close") --
 * and does nothing about it: acting on it is the session's decision. No
 * function here calls back into the session, routes or streams.
 *
 * Owns jl_http_t.head (the head scratch buffer) and jl_http_t.rng. */
#ifndef JL_HTTP_RESPONSE_H
#define JL_HTTP_RESPONSE_H

#include "http/http_types.h"

/* Seeds the retry jitter; frees the head buffer. */
void jl_http_response_init(jl_http_t *h);
void jl_http_response_fini(jl_http_t *h);

/* A complete response with a text body (NUL-terminated, or NULL for none).
 * 'extra' holds more header lines, each ending in CRLF, or is NULL. keep:
 * the route would keep the connection (it is kept only if the client
 * allows it). */
jl_http_next_t jl_http_respond(jl_http_session_t *s, int status, const char *ctype,
                               const char *extra, const char *body, int keep);
/* The same with a shared body frame (a reference is queued; the caller
 * keeps its own). */
jl_http_next_t jl_http_respond_frame(jl_http_session_t *s, int status, const char *ctype,
                                     const char *extra, jl_frame_t *body, int keep);
/* "<status> <reason>\n" as text/plain. 401, 404, 405 and 411 keep the
 * connection; the others close it (the rest of the input cannot be trusted
 * or was not read). */
jl_http_next_t jl_http_respond_error(jl_http_session_t *s, int status, const char *extra);
/* 503 with Retry-After: the server is at --max-conns. Closes. */
jl_http_next_t jl_http_respond_busy(jl_http_session_t *s);
/* 204 to OPTIONS with "Allow: <allow>", and the CORS preflight answer when
 * CORS is on and the request is a preflight. */
jl_http_next_t jl_http_respond_options(jl_http_session_t *s, const char *allow);
/* "100 Continue": the client may send the body it asked to send. */
void jl_http_respond_continue(jl_http_session_t *s);

/* The SSE stream's head (200, text/event-stream, Connection: close). */
void jl_http_stream_head(jl_http_session_t *s);
/* "retry: <ms>\n\n" with --retry jittered by +/- 20%. */
void jl_http_append_retry(jl_http_session_t *s);

#endif
