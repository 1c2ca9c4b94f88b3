/* http_token.c -- a request's token (see http_token.h).
 *
 * Only finding: the bytes of a token in a header, a query pair or a cookie.
 * Judging them is server/token.c's, with the keys main.c loaded. */
#include "http/http_token.h"

#include "server/server.h"

#include <string.h>
#include <strings.h>

const char *jl_http_bearer(const char *auth, size_t *len)
{
    if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0)
        return NULL;
    const char *t = auth + 7;
    while (*t == ' ')
        t++;
    size_t tl = strlen(t);
    while (tl && (t[tl - 1] == ' ' || t[tl - 1] == '\t'))
        tl--;
    *len = tl;
    return t;
}

/* The value of cookie 'name' in a Cookie header (RFC 6265 §5.4: pairs
 * separated by "; "), without the quotes a server may have put around it. */
static const char *cookie_value(const char *header, const char *name, size_t *len)
{
    size_t nlen = strlen(name);
    const char *p = header;
    while (p && *p) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *end = strchr(p, ';');
        size_t plen = end ? (size_t)(end - p) : strlen(p);
        if (plen > nlen && memcmp(p, name, nlen) == 0 && p[nlen] == '=') {
            const char *v = p + nlen + 1;
            size_t vl = plen - nlen - 1;
            while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
                vl--;
            if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
                v++;
                vl -= 2;
            }
            *len = vl;
            return v;
        }
        p = end ? end + 1 : NULL;
    }
    return NULL;
}

static jl_http_token_rc_t judge(const jl_http_t *h, const char *tok, size_t len, jl_token_t *t,
                                const char **why)
{
    const jl_server_t *srv = h->srv;
    if (jl_token_verify(srv->tokens, tok, len, ev_time(), t, why) < 0)
        return JL_HTTP_TOKEN_BAD;
    return JL_HTTP_TOKEN_OK;
}

jl_http_token_rc_t jl_http_token_bearer(const jl_http_t *h, const char *authorization,
                                        jl_token_t *t, const char **why)
{
    size_t len = 0;
    const char *tok = jl_http_bearer(authorization, &len);
    if (h->srv->tokens == NULL || tok == NULL)
        return JL_HTTP_TOKEN_NONE;
    return judge(h, tok, len, t, why);
}

jl_http_token_rc_t jl_http_token_stream(const jl_http_t *h, const jl_http_req_t *r,
                                        const jl_query_t *q, jl_token_t *t, const char **why)
{
    const jl_config_t *cfg = h->srv->cfg;
    if (h->srv->tokens == NULL)
        return JL_HTTP_TOKEN_NONE;
    if (jl_http_bearer(r->authorization, &(size_t){0}) != NULL)
        return jl_http_token_bearer(h, r->authorization, t, why);
    const jl_query_pair_t *p = cfg->token_param ? jl_query_get(q, cfg->token_param) : NULL;
    if (p != NULL)
        return judge(h, p->val, p->val_len, t, why);
    size_t len = 0;
    const char *c = r->cookie ? cookie_value(r->cookie, cfg->token_cookie, &len) : NULL;
    if (c != NULL)
        return judge(h, c, len, t, why);
    return JL_HTTP_TOKEN_NONE;
}
