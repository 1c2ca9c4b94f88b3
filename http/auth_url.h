/* auth_url.h -- asking the app whether a stream may open (--auth-url).
 *
 * The Ruby Jugglite let the app decide per request; Nchan does it with
 * nchan_authorize_request. With --auth-url URL, every new stream is first
 * put to the app: a POST to URL with the browser's Cookie and
 * Authorization headers (and X-Forwarded-For, X-Original-URI) and, as
 * JSON, the channels and patterns it asked for. The app answers:
 *   2xx, {"subscribe": ["chat:*", ...]}  allowed, to these names only (the
 *                                        rule of server/chanperm.h, as in a
 *                                        token); a 2xx without the member
 *                                        allows every name asked for;
 *   401 or 403                           refused: the browser gets 403;
 *   anything else, no answer within      the app is down: the stream is
 *   --auth-timeout, no connection        shed (200, retry:, close) so the
 *                                        browser comes back later.
 * The request runs on the loop (curl_loop.h): the stream waits
 * (JL_HTTP_WAIT) and resumes with jl_sse_stream_decided. Decisions are
 * cached for --auth-cache seconds, keyed by the exact Cookie,
 * Authorization and query, so a reload storm asks the app once per
 * browser, not once per reconnect. Owns jl_http_t's auth_url. */
#ifndef JL_AUTH_URL_H
#define JL_AUTH_URL_H

#include "http/http_types.h"
#include "server/chanperm.h"

typedef enum { JL_AUTH_ALLOW, JL_AUTH_DENY, JL_AUTH_DOWN } jl_auth_verdict_t;

typedef struct jl_auth_decision {
    jl_auth_verdict_t verdict;
    int restricted;             /* ALLOW: only the names perm allows; else all asked for */
    jl_chanperm_t perm;
} jl_auth_decision_t;

void jl_auth_url_init(jl_http_t *h);
void jl_auth_url_fini(jl_http_t *h);
/* For the stream request s (its request still there): 1 and *d filled
 * when the decision is known now (cached, or the app cannot be asked: DOWN);
 * 0 when the app was asked: the session waits, and the answer comes
 * through jl_sse_stream_decided. The caller frees d with
 * jl_auth_decision_clear. */
int jl_auth_url_ask(jl_http_session_t *s, jl_auth_decision_t *d);
/* s goes away while the app is being asked: the question is dropped. */
void jl_auth_url_forget(jl_http_session_t *s);
void jl_auth_decision_clear(jl_auth_decision_t *d);

#endif
