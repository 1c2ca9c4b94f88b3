/* http_token.h -- where a request's token is, and what it allows.
 *
 * A stream's token is read from, in this order: `Authorization: Bearer`,
 * the query parameter --token-param (only when that option is given), the
 * cookie --token-cookie (default jugglite_token). The first place that
 * holds one decides; a bad token there is not rescued by another place.
 * A publish takes its token from `Authorization: Bearer` only: a cookie
 * would let any page on the web publish in its holder's name (CSRF).
 *
 * The keys are the server's (srv->tokens, loaded by main.c); this module
 * owns nothing and never logs the token itself. */
#ifndef JL_HTTP_TOKEN_H
#define JL_HTTP_TOKEN_H

#include "http/http_types.h"
#include "http/query.h"
#include "server/token.h"

typedef enum {
    JL_HTTP_TOKEN_BAD = -1,     /* present and refused: *why says why */
    JL_HTTP_TOKEN_NONE = 0,     /* none present (or no keys configured) */
    JL_HTTP_TOKEN_OK = 1        /* t holds the verified claims (jl_token_clear) */
} jl_http_token_rc_t;

/* A stream request's token (q: the parsed query). */
jl_http_token_rc_t jl_http_token_stream(const jl_http_t *h, const jl_http_req_t *r,
                                        const jl_query_t *q, jl_token_t *t, const char **why);
/* The bearer token of an Authorization value (NULL: none). */
jl_http_token_rc_t jl_http_token_bearer(const jl_http_t *h, const char *authorization,
                                        jl_token_t *t, const char **why);
/* "Bearer <token>", the scheme in any case, spaces around the token:
 * the token's span, or NULL. */
const char *jl_http_bearer(const char *authorization, size_t *len);

#endif
