/* sse_auth.h -- streams opened with a token: who they are, until when.
 *
 * A stream opened with a signed token (http_token.h) keeps its user and
 * its exp here, in a small record the session points to; a stream without
 * a token costs one NULL pointer. At exp the stream gets the named event
 * "jugglite-token-expired", then "retry:", and ends: the page fetches a
 * fresh token and its EventSource reconnects by itself, resuming from its
 * Last-Event-ID, so with the history nothing is lost.
 *
 * One ev_timer serves every such stream: it is armed for the soonest exp,
 * and when it fires it ends the streams that are due and re-arms for the
 * next one (exp has a resolution of a second, so it fires at most about
 * once a second however many streams there are).
 *
 * Owns jl_http_t's authed, expiry and expiry_at, and the session's auth. */
#ifndef JL_SSE_AUTH_H
#define JL_SSE_AUTH_H

#include "http/http_types.h"
#include "server/token.h"

void jl_sse_auth_init(jl_http_t *h);
void jl_sse_auth_fini(jl_http_t *h);

/* The stream s (subscribed) was opened with t: remember its
 * user and exp (copied; the caller keeps t). */
void jl_sse_auth_start(jl_http_session_t *s, const jl_token_t *t);
/* The stream's user, or NULL for a stream without a token. */
const char *jl_sse_auth_user(const jl_http_session_t *s, size_t *len);
/* From jl_sse_stream_free; a no-op for a stream without a token. */
void jl_sse_auth_free(jl_http_session_t *s);

/* The user as a log line may show it: printable ASCII, anything else '?',
 * at most cap - 1 bytes. */
void jl_sse_auth_loggable(const char *user, size_t len, char *out, size_t cap);

#endif
