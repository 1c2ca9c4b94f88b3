/* sse_stream.h -- an HTTP connection turned into an SSE stream.
 *
 * GET <--path> subscribes the connection's sink to the names in ?channel=
 * (and ?pattern= when allowed), sends the stream head and the registration
 * comment, and from then on the connection only writes: events (one frame
 * per publish, shared by every stream), the keepalive comment of the one
 * side-wide timer, and "retry:" when the server sheds or shuts down.
 *
 * Owns the session's stream fields (sink, stream, longpoll, wait, ignored)
 * and jl_http_t's streams, waiting, keepalive and scratch. Never calls the
 * session: it reports through return values, and the session frees the
 * request record once a stream has started. */
#ifndef JL_SSE_STREAM_H
#define JL_SSE_STREAM_H

#include "http/http_types.h"

struct jl_stream_filter;     /* server/server.h */

/* Starts the keepalive timer and listens for the relay's confirmations;
 * stops both and frees the scratch buffer. */
void jl_sse_streams_init(jl_http_t *h);
void jl_sse_streams_fini(jl_http_t *h);

/* GET <path> (s->req complete). Returns JL_HTTP_STREAM: subscribed, head
 * and registration comment queued (or the comment held back until the
 * relay confirms every name), s is on h->streams. Else the response that
 * was written instead: over the connection cap, 200 + "retry:" and
 * JL_HTTP_CLOSE (a 503 would stop a browser's EventSource for good); a
 * query that does not parse, 400. */
jl_http_next_t jl_sse_stream_start(jl_http_session_t *s);
/* With --auth-url: the app's decision for s, which waited (JL_HTTP_WAIT)
 * for it; the stream starts, is refused (403) or shed. */
struct jl_auth_decision;
void jl_sse_stream_decided(jl_http_session_t *s, const struct jl_auth_decision *d);
/* srv->match_streams (ud: the jl_http_t): how many streams match f;
 * kill: closes them at once ("CLIENT KILL"; what was queued is dropped).
 * An EventSource reconnects after a close, so this ends streams, not a
 * user's access: that lasts as long as their token. */
size_t jl_sse_streams_match(void *ud, const struct jl_stream_filter *f, int kill);
/* CLIENT LIST's lines for every stream (ud: the jl_http_t), in Redis's
 * shape: flags=E, cmd=stream, user= the token's sub (empty without one),
 * resp=sse. */
void jl_sse_streams_describe(void *ud, jl_buf_t *out, const uint64_t *ids, size_t nids);
/* Input on a stream: dropped; a peer that keeps talking is closed. */
void jl_sse_stream_input(jl_http_session_t *s);
/* Server shutdown: queue "retry:" so the browser reconnects (elsewhere)
 * after the close. The caller closes. */
void jl_sse_stream_shutdown(jl_http_session_t *s);
/* Releases the stream's state (subscriptions, timer, wait); a no-op for a
 * session that never became a stream. From the session's on_free. */
/* A shutdown notice (jl_server_on_shutdown_notice; ud: the jl_http_t):
 * every stream's disconnect event, reason "shutdown", before any
 * connection hears of the shutdown. */
void jl_sse_streams_shutdown(void *ud);
/* The stream's connection is closing (why): with --access-log, its access
 * line -- peer, user, channels, duration, events, bytes written, reason. */
void jl_sse_stream_ended(jl_http_session_t *s, const char *why);
void jl_sse_stream_free(jl_http_session_t *s);

#endif
