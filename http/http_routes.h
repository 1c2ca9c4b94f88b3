/* http_routes.h -- what each path answers.
 *
 * The route table: --path (the SSE stream, handed to sse_stream.c),
 * --publish-path (POST, only with --publish-token or --token-key; through the server's
 * relay), /health, and / (the built-in page), each with the methods it
 * allows (its OPTIONS answer and 405's Allow header). The session finds a
 * request's route when its head is complete, asks the publish route to
 * judge a publish before its body is read, and calls jl_http_route_serve
 * once the request is complete and nothing was refused before.
 *
 * Owns jl_http_t.page. */
#ifndef JL_HTTP_ROUTES_H
#define JL_HTTP_ROUTES_H

#include "http/http_types.h"
#include "server/config.h"

#include <stddef.h>

/* Renders the page once; releases it. */
void jl_http_routes_init(jl_http_t *h);
void jl_http_routes_fini(jl_http_t *h);

/* The route of a decoded path (exact match; the stream path wins). */
jl_http_route_t jl_http_route_of(const jl_config_t *cfg, const char *path, size_t len);

/* Judges a POST to the publish route from its head alone, so that a
 * refused request does not make us read (or the client send) its body:
 * 0 to go on, else the status to refuse it with -- 401 (no bearer token,
 * or neither --publish-token nor a valid signed token), 403 (a signed
 * token whose publish rule does not allow ?channel=), 413 (Content-Length
 * above --max-message-size) or 411 (neither a length nor chunked). */
int jl_http_publish_check(const jl_http_t *h, const jl_http_req_t *r);

/* Answers s->req by its route and method: 404, 204 to OPTIONS, 405 with
 * Allow, or the route itself. Returns what the response promised (see
 * http_types.h); JL_HTTP_STREAM if the connection became a stream. */
jl_http_next_t jl_http_route_serve(jl_http_session_t *s);
/* A route that returned JL_HTTP_WAIT answers now; next is what its
 * response promised (as a route's return value). In http_session.c. */
void jl_http_resume(jl_http_session_t *s, jl_http_next_t next);

#endif
