/* sse_auth.c -- a token's user and expiry on a live stream (see sse_auth.h).
 *
 * Memory per idle stream matters here (docs/benchmarks.md): a stream
 * without a token has no record and no timer; one with a token has one
 * record (list node, owner, exp, user) and shares the side's single timer.
 * The timer's walk is over streams with tokens only, once per second at
 * most; a heap would make it O(log n) per expiry, not worth its code until
 * such streams number in the hundreds of thousands. */
#include "http/sse_auth.h"

#include "http/http_response.h"
#include "http/sse.h"
#include "server/log.h"
#include "server/server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct jl_sse_auth {
    jl_list_t node;             /* h->authed */
    jl_http_session_t *owner;
    double exp;                 /* Unix seconds */
    size_t user_len;
    char user[];                /* NUL-terminated */
};

/* A timer that fired a hair before exp must not re-arm for nothing. */
#define EXPIRY_SLACK 0.001

void jl_sse_auth_loggable(const char *user, size_t len, char *out, size_t cap)
{
    size_t n = len < cap - 1 ? len : cap - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = (user[i] >= 0x20 && user[i] < 0x7f) ? user[i] : '?';
    out[n] = '\0';
}

/* Arms the timer for 'at' unless it already fires sooner. */
static void arm(jl_http_t *h, double at)
{
    struct ev_loop *loop = h->srv->loop;
    if (h->expiry_at != 0 && h->expiry_at <= at)
        return;
    double delay = at - ev_time();
    ev_timer_stop(loop, &h->expiry);
    ev_timer_set(&h->expiry, delay > 0 ? delay : 0, 0.);
    ev_timer_start(loop, &h->expiry);
    h->expiry_at = at;
}

static void auth_drop(jl_http_session_t *s)
{
    jl_list_remove(&s->auth->node);
    free(s->auth);
    s->auth = NULL;
}

/* The named event, then retry:, then the end: the browser comes back on
 * its own after the retry delay, with its Last-Event-ID. */
static void expire(jl_http_session_t *s)
{
    char json[64], user[64];
    int n = snprintf(json, sizeof json, "{\"exp\":%.17g}", s->auth->exp);  /* at most 32 bytes */
    jl_buf_t b = {0};
    jl_sse_token_expired(&b, json, (size_t)n);
    jl_conn_append(&s->conn, b.data, b.len);
    jl_buf_free(&b);
    jl_http_append_retry(s);
    jl_sse_auth_loggable(s->auth->user, s->auth->user_len, user, sizeof user);
    jl_log_debug("SSE stream id=%llu user=%s: token expired", (unsigned long long)s->conn.id,
                 user);
    auth_drop(s);
    s->end_reason = "token expired";
    jl_conn_close_after_flush(&s->conn);
}

static void on_expiry(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    jl_http_t *h = JL_CONTAINER_OF(w, jl_http_t, expiry);
    double now = ev_time(), next = 0;
    h->expiry_at = 0;
    JL_LIST_FOREACH_SAFE(&h->authed, it, tmp) {
        jl_sse_auth_t *a = JL_CONTAINER_OF(it, jl_sse_auth_t, node);
        if (a->exp <= now + EXPIRY_SLACK)
            expire(a->owner);
        else if (next == 0 || a->exp < next)
            next = a->exp;
    }
    if (next != 0)
        arm(h, next);
}

void jl_sse_auth_init(jl_http_t *h)
{
    jl_list_init(&h->authed);
    ev_timer_init(&h->expiry, on_expiry, 0., 0.);
    h->expiry_at = 0;
}

void jl_sse_auth_fini(jl_http_t *h) { ev_timer_stop(h->srv->loop, &h->expiry); }

void jl_sse_auth_start(jl_http_session_t *s, const jl_token_t *t)
{
    jl_sse_auth_t *a = jl_malloc(sizeof *a + t->sub_len + 1);
    a->owner = s;
    a->exp = t->exp;
    a->user_len = t->sub_len;
    memcpy(a->user, t->sub, t->sub_len);
    a->user[t->sub_len] = '\0';
    s->auth = a;
    jl_list_push(&s->http->authed, &a->node);
    arm(s->http, a->exp);
}

const char *jl_sse_auth_user(const jl_http_session_t *s, size_t *len)
{
    if (s->auth == NULL)
        return NULL;
    *len = s->auth->user_len;
    return s->auth->user;
}

void jl_sse_auth_free(jl_http_session_t *s)
{
    if (s->auth != NULL)
        auth_drop(s);
}

