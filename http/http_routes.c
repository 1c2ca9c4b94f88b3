/* http_routes.c -- the routes (see http_routes.h).
 *
 * One row per route says which methods it answers and who serves it, so
 * OPTIONS, 405 and dispatch cannot disagree. Handlers get a complete,
 * unrefused request and return what their response promised.
 *
 * Publishing goes through the server's relay and so never knows whether
 * delivery is local or bridged: answered at once (local) it is 200
 * {"receivers":n}; not answered before jl_relay_publish returns (the
 * message went upstream, and the upstream's receiver count is not waited
 * for) it is 202 {"forwarded":true}; refused (the upstream is down) 503. */
#include "http/http_routes.h"

#include "http/http_response.h"
#include "http/channels.h"
#include "http/metrics.h"
#include "http/http_token.h"
#include "http/page.h"
#include "http/query.h"
#include "http/sse_stream.h"
#include "server/server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* route_t.methods */
enum {
    ALLOW_GET = 1 << JL_HTTP_GET,
    ALLOW_HEAD = 1 << JL_HTTP_HEAD,
    ALLOW_POST = 1 << JL_HTTP_POST,
};

typedef struct route {
    unsigned methods;           /* ALLOW_* (OPTIONS is always answered) */
    const char *allow;          /* the Allow header's value */
    jl_http_next_t (*serve)(jl_http_session_t *s);
} route_t;

void jl_http_routes_init(jl_http_t *h)
{
    const jl_config_t *cfg = h->srv->cfg;
    jl_buf_t page = {0};
    jl_page_render(&page, cfg->path, cfg->publish_path, cfg->namespace_, cfg->resp_port);
    h->page = jl_frame_from(page.data, page.len);
    jl_buf_free(&page);
}

void jl_http_routes_fini(jl_http_t *h) { jl_frame_unref(h->page); }

jl_http_route_t jl_http_route_of(const jl_config_t *cfg, const char *path, size_t len)
{
    const struct {
        const char *path;       /* NULL: the route is off */
        jl_http_route_t route;
    } paths[] = {
        {cfg->path, JL_ROUTE_STREAM},
        {cfg->publish_token || cfg->n_token_keys ? cfg->publish_path : NULL, JL_ROUTE_PUBLISH},
        {"/health", JL_ROUTE_HEALTH},
        {cfg->metrics ? "/metrics" : NULL, JL_ROUTE_METRICS},
        {cfg->metrics ? "/channels" : NULL, JL_ROUTE_CHANNELS},
        {"/", JL_ROUTE_PAGE},
    };
    for (size_t i = 0; i < JL_ARRAY_LEN(paths); i++) {
        const char *p = paths[i].path;
        if (p && len == strlen(p) && memcmp(path, p, len) == 0)
            return paths[i].route;
    }
    return JL_ROUTE_NONE;
}

/* ---- publish ---- */

/* Constant time in the secret's length: every byte of the token is compared
 * whatever the guess. */
static int token_equal(const char *guess, size_t glen, const char *token)
{
    size_t tlen = strlen(token);
    unsigned diff = glen != tlen;
    for (size_t i = 0; i < tlen; i++)
        diff |= (unsigned char)token[i] ^ (unsigned char)(glen ? guess[i % glen] : 0);
    return diff == 0;
}

/* 1 when the request's bearer token is 'secret' (a static token). */
static int bearer_is(const char *auth, const char *secret)
{
    size_t len = 0;
    const char *t = jl_http_bearer(auth, &len);
    return secret != NULL && t != NULL && token_equal(t, len, secret);
}

/* The static --publish-token. */
static int static_token(const jl_config_t *cfg, const char *auth)
{
    return bearer_is(auth, cfg->publish_token);
}

/* A signed token whose publish rule allows ?channel= (as the client wrote
 * it, before the namespace: the same names the subscribe rule sees).
 * 0, 401 (no or bad token) or 403 (a good token, not for this channel).
 * Without a channel the request goes on, to be answered 400. */
static int signed_token(const jl_http_t *h, const jl_http_req_t *r)
{
    jl_token_t t;
    const char *why = NULL;
    if (jl_http_token_bearer(h, r->authorization, &t, &why) != JL_HTTP_TOKEN_OK)
        return 401;
    jl_query_t q = {0};
    const jl_query_pair_t *ch = NULL;
    if (jl_query_parse(r->url.data + r->query_off, r->query_len, JL_HTTP_MAX_QUERY_PAIRS, &q) == 0)
        ch = jl_query_get(&q, "channel");
    int status = ch && ch->val_len && !jl_chanperm_channel(&t.publish, ch->val, ch->val_len)
                     ? 403 : 0;
    jl_query_free(&q);
    jl_token_clear(&t);
    return status;
}

int jl_http_publish_check(const jl_http_t *h, const jl_http_req_t *r)
{
    const jl_config_t *cfg = h->srv->cfg;
    int status = static_token(cfg, r->authorization) ? 0 : signed_token(h, r);
    if (status)
        return status;
    if (r->has_length && r->content_length > cfg->max_message)
        return 413;
    if (!r->has_length && !r->chunked)
        return 411;
    return 0;
}

/* The relay's answer, when it comes before jl_relay_publish returns. */
typedef struct published {
    int answered;
    long long receivers;
} published_t;

static void on_published(void *ud, const jl_relay_reply_t *reply)
{
    published_t *res = ud;
    res->answered = 1;
    res->receivers = reply->receivers;
}

/* HTTP publishers use the same names as SSE subscribers: the namespace is
 * added here too. No allow-list: the token holder is trusted (a signed
 * token's publish rule was checked with the head). */
/* MONITOR shows an HTTP publish as if its client had sent PUBLISH over RESP:
 * "publish" "<namespaced channel>" "<body>", from the HTTP peer. */
static int publish(jl_http_session_t *s, const jl_query_pair_t *ch, published_t *res)
{
    jl_server_t *srv = s->http->srv;
    const jl_http_req_t *r = s->req;
    jl_buf_t name = {0};
    jl_buf_append_str(&name, srv->cfg->namespace_);
    jl_buf_append(&name, ch->val, ch->val_len);
    jl_pub_t pub = {name.data, name.len, r->body.data ? r->body.data : "", r->body.len, 0};
    int rc = jl_relay_publish(srv->relay, &pub, on_published, res);
    const char *argv[] = {"publish", pub.chan, pub.payload};
    const size_t lens[] = {7, pub.chan_len, pub.payload_len};
    jl_monitor_feed(&srv->monitors, &s->conn, srv->cfg->socket, 0, 3, argv, lens);
    jl_buf_free(&name);
    return rc;
}

/* The namespaced channel is under the lifecycle prefix (lifecycle.h). */
static int reserved(const char *ns, const char *ch, size_t len)
{
    size_t nlen = strlen(ns);
    char buf[64];
    if (nlen >= sizeof buf)
        return jl_lifecycle_reserved(ns, nlen);
    memcpy(buf, ns, nlen);
    size_t take = len < sizeof buf - nlen ? len : sizeof buf - nlen;
    memcpy(buf + nlen, ch, take);
    return jl_lifecycle_reserved(buf, nlen + take);
}

static jl_http_next_t serve_publish(jl_http_session_t *s)
{
    jl_server_t *srv = s->http->srv;
    const jl_http_req_t *r = s->req;
    jl_query_t q = {0};
    const jl_query_pair_t *ch = NULL;
    if (jl_query_parse(r->url.data + r->query_off, r->query_len, JL_HTTP_MAX_QUERY_PAIRS, &q) == 0)
        ch = jl_query_get(&q, "channel");
    if (ch == NULL || ch->val_len == 0) {
        jl_query_free(&q);
        return jl_http_respond(s, 400, "text/plain; charset=utf-8", NULL,
                               "400 Bad Request: missing channel\n", 1);
    }
    if (reserved(srv->cfg->namespace_, ch->val, ch->val_len)) {
        jl_query_free(&q);
        return jl_http_respond(s, 403, "text/plain; charset=utf-8", NULL,
                               "403 Forbidden: reserved channel (" JL_LIFECYCLE_PREFIX "*)\n", 1);
    }
    published_t res = {0};
    int rc = publish(s, ch, &res);
    jl_query_free(&q);
    if (rc < 0)
        return jl_http_respond(s, 503, "application/json", "Retry-After: 1\r\n",
                               "{\"error\":\"upstream unavailable\"}", 1);
    srv->stats.http_publishes++;
    if (!res.answered) {
        jl_relay_cancel(srv->relay, &res);
        return jl_http_respond(s, 202, "application/json", NULL, "{\"forwarded\":true}", 1);
    }
    char body[64];
    snprintf(body, sizeof body, "{\"receivers\":%lld}", res.receivers);
    return jl_http_respond(s, 200, "application/json", NULL, body, 1);
}

/* ---- health, page ---- */

static jl_http_next_t serve_health(jl_http_session_t *s)
{
    jl_server_t *srv = s->http->srv;
    int health = jl_relay_health(srv->relay);
    int ok = health != 0;
    const char *up = health < 0 ? "none" : ok ? "up" : "down";
    char body[256];
    snprintf(body, sizeof body,
             "{\"status\":\"%s\",\"connections\":%zu,\"sse_streams\":%zu,\"upstream\":\"%s\","
             "\"publish\":%s}",
             ok ? "ok" : "upstream down", srv->conns.accepted, srv->stats.sse_streams, up,
             srv->cfg->publish_token || srv->cfg->n_token_keys ? "true" : "false");
    return jl_http_respond(s, ok ? 200 : 503, "application/json", "Cache-Control: no-cache\r\n",
                           body, 1);
}

/* /metrics (Prometheus's text format) and /channels: with --metrics-token-file, for the bearer of
 * that token only; the body is rendered for this request. */
static jl_http_next_t serve_figures(jl_http_session_t *s, const char *type,
                                    void (*render)(jl_buf_t *, const jl_server_t *))
{
    jl_server_t *srv = s->http->srv;
    const char *token = srv->cfg->metrics_token;
    if (token && !bearer_is(s->req->authorization, token))
        return jl_http_respond(s, 401, "text/plain", "WWW-Authenticate: Bearer\r\n",
                               "401 Unauthorized\n", 1);
    jl_buf_t body = {0};
    render(&body, srv);
    jl_frame_t *f = jl_frame_from(body.data, body.len);
    jl_buf_free(&body);
    jl_http_next_t next = jl_http_respond_frame(s, 200, type, "Cache-Control: no-cache\r\n", f, 1);
    jl_frame_unref(f);
    return next;
}

static jl_http_next_t serve_metrics(jl_http_session_t *s)
{
    return serve_figures(s, "text/plain; version=0.0.4; charset=utf-8", jl_metrics_render);
}

static jl_http_next_t serve_channels(jl_http_session_t *s)
{
    return serve_figures(s, "application/json", jl_channels_render);
}

static jl_http_next_t serve_page(jl_http_session_t *s)
{
    return jl_http_respond_frame(s, 200, "text/html; charset=utf-8", "Cache-Control: no-cache\r\n",
                                 s->http->page, 1);
}

/* ---- the table ---- */

static const route_t routes[JL_ROUTE_COUNT] = {
    [JL_ROUTE_STREAM] = {ALLOW_GET, "GET, OPTIONS", jl_sse_stream_start},
    [JL_ROUTE_PUBLISH] = {ALLOW_POST, "POST, OPTIONS", serve_publish},
    [JL_ROUTE_HEALTH] = {ALLOW_GET | ALLOW_HEAD, "GET, HEAD, OPTIONS", serve_health},
    [JL_ROUTE_PAGE] = {ALLOW_GET | ALLOW_HEAD, "GET, HEAD, OPTIONS", serve_page},
    [JL_ROUTE_METRICS] = {ALLOW_GET | ALLOW_HEAD, "GET, HEAD, OPTIONS", serve_metrics},
    [JL_ROUTE_CHANNELS] = {ALLOW_GET | ALLOW_HEAD, "GET, HEAD, OPTIONS", serve_channels},
};

jl_http_next_t jl_http_route_serve(jl_http_session_t *s)
{
    const jl_http_req_t *r = s->req;
    if (r->route == JL_ROUTE_NONE || r->route >= JL_ROUTE_COUNT)
        return jl_http_respond_error(s, 404, NULL);
    const route_t *route = &routes[r->route];
    if (r->method == JL_HTTP_OPTIONS)
        return jl_http_respond_options(s, route->allow);
    if (!(route->methods & (1u << r->method))) {
        char allow[64];
        snprintf(allow, sizeof allow, "Allow: %s\r\n", route->allow);
        return jl_http_respond_error(s, 405, allow);
    }
    return route->serve(s);
}
