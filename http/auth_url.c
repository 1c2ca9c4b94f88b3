/* auth_url.c -- the app decides whether a stream may open (see auth_url.h).
 *
 * One pending record per question in flight, on a list in jl_auth_url_t
 * (a session does not point to it, so streams that never ask pay
 * nothing); the cache is a SipHash table of decisions with their exact
 * key bytes, oldest first on a list, bounded in count. */
#include "http/auth_url.h"

#include "http/curl_loop.h"
#include "http/query.h"
#include "http/sse_stream.h"
#include "server/htable.h"
#include "server/log.h"
#include "server/rand.h"
#include "server/server.h"
#include "server/siphash.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_MAX 10000         /* decisions kept; the oldest goes first */
#define REPLY_MAX 65536         /* the app's answer is small; more is an error */

typedef struct pending {
    jl_list_t node;             /* auth->pending */
    jl_http_session_t *s;
    CURL *easy;
    struct curl_slist *headers;
    char *body;                 /* what we POST */
    jl_buf_t reply;
    char *key;                  /* the cache key's bytes */
    size_t key_len;
} pending_t;

typedef struct cached {
    jl_hlink_t link;
    jl_list_t lru;              /* auth->lru, oldest first */
    double until;
    jl_auth_decision_t d;
    size_t key_len;
    char key[];
} cached_t;

struct jl_auth_url {
    jl_http_t *http;
    jl_curl_loop_t *curl;
    jl_list_t pending;
    jl_htable_t cache;
    jl_list_t lru;
    uint8_t sipkey[16];
};

void jl_auth_decision_clear(jl_auth_decision_t *d) { jl_chanperm_free(&d->perm); }

static void decision_copy(jl_auth_decision_t *dst, const jl_auth_decision_t *src)
{
    dst->verdict = src->verdict;
    dst->restricted = src->restricted;
    jl_chanperm_init(&dst->perm);
    jl_chanperm_copy(&dst->perm, &src->perm);
}

/* ---- the cache ---- */

/* Cookie NUL Authorization NUL query: what the decision depends on. */
static char *cache_key(const jl_http_req_t *r, size_t *len)
{
    jl_buf_t b = {0};
    jl_buf_append_str(&b, r->cookie ? r->cookie : "");
    jl_buf_append_char(&b, '\0');
    jl_buf_append_str(&b, r->authorization ? r->authorization : "");
    jl_buf_append_char(&b, '\0');
    jl_buf_append(&b, r->url.data + r->query_off, r->query_len);
    *len = b.len;
    return b.data;
}

static void cached_drop(jl_auth_url_t *a, cached_t *c)
{
    jl_htable_remove(&a->cache, &c->link);
    jl_list_remove(&c->lru);
    jl_auth_decision_clear(&c->d);
    free(c);
}

static cached_t *cache_find(jl_auth_url_t *a, const char *key, size_t len, double now)
{
    uint64_t h = jl_siphash(key, len, a->sipkey);
    for (jl_hlink_t *l = jl_htable_chain(&a->cache, h); l; l = l->next) {
        cached_t *c = JL_CONTAINER_OF(l, cached_t, link);
        if (l->hash != h || c->key_len != len || memcmp(c->key, key, len) != 0)
            continue;
        if (c->until > now)
            return c;
        cached_drop(a, c);
        return NULL;
    }
    return NULL;
}

static void cache_put(jl_auth_url_t *a, const char *key, size_t len, const jl_auth_decision_t *d)
{
    double ttl = a->http->srv->cfg->auth_cache;
    double now = ev_now(a->http->srv->loop);
    if (ttl <= 0 || d->verdict == JL_AUTH_DOWN)
        return;     /* an app that is down is asked again next time */
    cached_t *old = cache_find(a, key, len, now);
    if (old)
        cached_drop(a, old);
    if (a->cache.count >= CACHE_MAX)
        cached_drop(a, JL_CONTAINER_OF(a->lru.next, cached_t, lru));
    cached_t *c = jl_calloc(1, sizeof *c + len);
    c->link.hash = jl_siphash(key, len, a->sipkey);
    c->until = now + ttl;
    decision_copy(&c->d, d);
    c->key_len = len;
    memcpy(c->key, key, len);
    jl_htable_insert(&a->cache, &c->link);
    jl_list_push(&a->lru, &c->lru);
}

/* ---- the question ---- */

static void add_name(void *ud, const char *item, size_t len)
{
    json_t *list = ud;
    json_t *v = json_stringn(item, len);
    if (v)
        json_array_append_new(list, v);
}

/* {"channels":[...],"patterns":[...]}, names as the client wrote them. */
static char *question(const jl_http_req_t *r)
{
    jl_query_t q = {0};
    json_t *o = json_object(), *ch = json_array(), *pat = json_array();
    if (jl_query_parse(r->url.data + r->query_off, r->query_len, JL_HTTP_MAX_QUERY_PAIRS, &q) == 0) {
        jl_query_each_list(&q, "channel", add_name, ch);
        jl_query_each_list(&q, "pattern", add_name, pat);
    }
    jl_query_free(&q);
    json_object_set_new(o, "channels", ch);
    json_object_set_new(o, "patterns", pat);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

static struct curl_slist *header(struct curl_slist *l, const char *name, const char *value,
                                 size_t len)
{
    jl_buf_t b = {0};
    jl_buf_printf(&b, "%s: ", name);
    jl_buf_append(&b, value, len);
    jl_buf_append_char(&b, '\0');
    l = curl_slist_append(l, b.data);
    jl_buf_free(&b);
    return l;
}

/* The peer's address without its port ("[::1]:5" -> "::1"). */
static size_t peer_address(const jl_http_session_t *s, char *buf, size_t cap)
{
    jl_conn_peer(&s->conn, buf, cap);
    if (buf[0] == '[') {
        char *end = strchr(buf, ']');
        size_t n = end ? (size_t)(end - buf - 1) : strlen(buf + 1);
        memmove(buf, buf + 1, n);
        buf[n] = '\0';
        return n;
    }
    char *colon = strrchr(buf, ':');
    if (colon && strchr(buf, ':') == colon)
        *colon = '\0';
    return strlen(buf);
}

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    pending_t *pd = ud;
    size_t len = size * n;
    if (pd->reply.len + len > REPLY_MAX)
        return 0;       /* aborts the transfer: an error, so "down" */
    jl_buf_append(&pd->reply, p, len);
    return len;
}

static void pending_free(pending_t *p)
{
    jl_list_remove(&p->node);
    curl_slist_free_all(p->headers);
    free(p->body);
    free(p->key);
    jl_buf_free(&p->reply);
    free(p);
}

/* The app's answer, as a decision. */
static void read_answer(long status, const jl_buf_t *body, jl_auth_decision_t *d)
{
    jl_chanperm_init(&d->perm);
    d->restricted = 0;
    if (status == 401 || status == 403) {
        d->verdict = JL_AUTH_DENY;
        return;
    }
    if (status < 200 || status > 299) {
        d->verdict = JL_AUTH_DOWN;
        return;
    }
    d->verdict = JL_AUTH_ALLOW;
    json_t *o = body->len ? json_loadb(body->data, body->len, JSON_REJECT_DUPLICATES, NULL) : NULL;
    json_t *sub = o ? json_object_get(o, "subscribe") : NULL;
    if (o != NULL && sub == NULL)
        goto out;
    if (body->len && (o == NULL || !json_is_array(sub))) {
        d->verdict = JL_AUTH_DOWN;      /* a 2xx we cannot read is not a yes */
        goto out;
    }
    d->restricted = sub != NULL;
    size_t i;
    json_t *v;
    json_array_foreach(sub, i, v) {
        if (json_is_string(v))
            jl_chanperm_add(&d->perm, json_string_value(v), json_string_length(v));
    }
out:
    json_decref(o);
}

static void on_done(void *ud, CURL *easy, CURLcode rc)
{
    pending_t *p = ud;
    jl_auth_url_t *a = p->s->http->auth_url;
    long status = 0;
    if (rc == CURLE_OK)
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    else
        jl_log_warn("--auth-url: %s (the stream is shed: its browser retries)",
                    curl_easy_strerror(rc));
    curl_easy_cleanup(easy);
    jl_auth_decision_t d;
    read_answer(rc == CURLE_OK ? status : 0, &p->reply, &d);
    if (rc == CURLE_OK && d.verdict == JL_AUTH_DOWN)
        jl_log_warn("--auth-url answered %ld%s (the stream is shed: its browser retries)", status,
                    status >= 200 && status < 300 ? " with a body that is not {\"subscribe\":[...]}" : "");
    cache_put(a, p->key, p->key_len, &d);
    jl_http_session_t *s = p->s;
    pending_free(p);
    /* A browser that left meanwhile: its session is closing, nothing to start. */
    if (!s->conn.closing)
        jl_sse_stream_decided(s, &d);
    jl_auth_decision_clear(&d);
}

static CURL *build(jl_auth_url_t *a, pending_t *p)
{
    const jl_config_t *cfg = a->http->srv->cfg;
    const jl_http_req_t *r = p->s->req;
    CURL *e = curl_easy_init();
    if (e == NULL)
        return NULL;
    char peer[128];
    size_t plen = peer_address(p->s, peer, sizeof peer);
    p->headers = curl_slist_append(NULL, "Content-Type: application/json");
    p->headers = curl_slist_append(p->headers, "Expect:");
    if (r->cookie)
        p->headers = header(p->headers, "Cookie", r->cookie, strlen(r->cookie));
    if (r->authorization)
        p->headers = header(p->headers, "Authorization", r->authorization, strlen(r->authorization));
    p->headers = header(p->headers, "X-Forwarded-For", peer, plen);
    p->headers = header(p->headers, "X-Original-URI", r->url.data, r->url.len);
    p->body = question(r);
    curl_easy_setopt(e, CURLOPT_URL, cfg->auth_url);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, p->body ? p->body : "{}");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, p->headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, p);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(cfg->auth_timeout * 1000));
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_USERAGENT, "jugglite/" JL_VERSION);
    return e;
}

int jl_auth_url_ask(jl_http_session_t *s, jl_auth_decision_t *d)
{
    jl_auth_url_t *a = s->http->auth_url;
    size_t klen;
    char *key = cache_key(s->req, &klen);
    cached_t *c = cache_find(a, key, klen, ev_now(s->http->srv->loop));
    if (c) {
        free(key);
        decision_copy(d, &c->d);
        return 1;
    }
    pending_t *p = jl_calloc(1, sizeof *p);
    p->s = s;
    p->key = key;
    p->key_len = klen;
    jl_list_push(&a->pending, &p->node);
    p->easy = a->curl ? build(a, p) : NULL;
    if (p->easy == NULL || jl_curl_loop_add(a->curl, p->easy, on_done, p) < 0) {
        if (p->easy)
            curl_easy_cleanup(p->easy);
        pending_free(p);
        jl_chanperm_init(&d->perm);
        d->verdict = JL_AUTH_DOWN;
        d->restricted = 0;
        return 1;
    }
    return 0;
}

void jl_auth_url_forget(jl_http_session_t *s)
{
    jl_auth_url_t *a = s->http->auth_url;
    if (a == NULL)
        return;
    JL_LIST_FOREACH_SAFE(&a->pending, it, tmp) {
        pending_t *p = JL_CONTAINER_OF(it, pending_t, node);
        if (p->s != s)
            continue;
        jl_curl_loop_cancel(a->curl, p->easy);
        curl_easy_cleanup(p->easy);
        pending_free(p);
    }
}

void jl_auth_url_init(jl_http_t *h)
{
    if (h->srv->cfg->auth_url == NULL)
        return;
    jl_auth_url_t *a = jl_calloc(1, sizeof *a);
    a->http = h;
    a->curl = jl_curl_loop_new(h->srv->loop);
    jl_list_init(&a->pending);
    jl_list_init(&a->lru);
    jl_random_bytes(a->sipkey, sizeof a->sipkey);
    h->auth_url = a;
}

void jl_auth_url_fini(jl_http_t *h)
{
    jl_auth_url_t *a = h->auth_url;
    if (a == NULL)
        return;
    JL_LIST_FOREACH_SAFE(&a->pending, it, tmp) {
        pending_t *p = JL_CONTAINER_OF(it, pending_t, node);
        jl_curl_loop_cancel(a->curl, p->easy);
        curl_easy_cleanup(p->easy);
        pending_free(p);
    }
    JL_LIST_FOREACH_SAFE(&a->lru, it, tmp)
        cached_drop(a, JL_CONTAINER_OF(it, cached_t, lru));
    jl_htable_free(&a->cache);
    jl_curl_loop_free(a->curl);
    free(a);
    h->auth_url = NULL;
}
