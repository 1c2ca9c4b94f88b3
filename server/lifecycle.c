/* lifecycle.c -- the queue of lifecycle events and its flush (see lifecycle.h). */
#include "server/lifecycle.h"
#include "server/log.h"
#include "server/server.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* Past this many unpublished events the oldest are dropped: a storm of
 * disconnects must not hold unbounded memory (a log line says so). */
#define LIFECYCLE_MAX_PENDING 100000

typedef struct event {
    jl_list_t node;
    size_t chan_len, len;
    char *chan;
    char payload[];
} event_t;

void jl_lifecycle_init(jl_lifecycle_t *lc)
{
    jl_list_init(&lc->pending);
    lc->npending = 0;
    lc->published = lc->dropped = 0;
}

static void event_drop(jl_lifecycle_t *lc, event_t *e)
{
    jl_list_remove(&e->node);
    lc->npending--;
    free(e->chan);
    free(e);
}

void jl_lifecycle_fini(jl_lifecycle_t *lc)
{
    while (!jl_list_empty(&lc->pending))
        event_drop(lc, JL_CONTAINER_OF(lc->pending.next, event_t, node));
}

void jl_lifecycle_emit(jl_lifecycle_t *lc, const char *event, const char *payload, size_t len)
{
    if (lc->npending >= LIFECYCLE_MAX_PENDING) {
        event_drop(lc, JL_CONTAINER_OF(lc->pending.next, event_t, node));
        lc->dropped++;
        jl_log_warn("lifecycle events: more than %d waiting; the oldest is dropped",
                    LIFECYCLE_MAX_PENDING);
    }
    event_t *e = jl_malloc(sizeof *e + len);
    size_t plen = strlen(JL_LIFECYCLE_PREFIX), elen = strlen(event);
    e->chan = jl_malloc(plen + elen + 1);
    memcpy(e->chan, JL_LIFECYCLE_PREFIX, plen);
    memcpy(e->chan + plen, event, elen + 1);
    e->chan_len = plen + elen;
    memcpy(e->payload, payload, len);
    e->len = len;
    jl_list_push(&lc->pending, &e->node);
    lc->npending++;
}

void jl_lifecycle_occupancy(jl_lifecycle_t *lc, const char *node, int ns, const char *name,
                            size_t len, int added, const char *scope)
{
    static const char *const kinds[] = {"channel", "pattern", "shard"};
    const char *kind = ns >= 0 && ns < (int)JL_ARRAY_LEN(kinds) ? kinds[ns] : "channel";
    json_t *o = json_pack("{s:s, s:s%, s:s, s:s}", "node", node, "name", name, len, "kind", kind,
                          "scope", scope);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (text)
        jl_lifecycle_emit(lc, added ? "occupied" : "vacated", text, strlen(text));
    free(text);
    json_decref(o);
}

void jl_lifecycle_flush(jl_server_t *srv)
{
    jl_lifecycle_t *lc = &srv->lifecycle;
    while (!jl_list_empty(&lc->pending)) {
        event_t *e = JL_CONTAINER_OF(lc->pending.next, event_t, node);
        jl_pub_t pub = {e->chan, e->chan_len, e->payload, e->len, 0};
        /* Refused (the upstream is down): the event is lost, as any
         * publish would be. */
        if (jl_relay_publish(srv->relay, &pub, NULL, NULL) < 0)
            lc->dropped++;
        else
            lc->published++;
        event_drop(lc, e);
    }
}

static const char *lookup(const char *why, const jl_lifecycle_words_t *words, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(why, words[i].why) == 0)
            return words[i].reason;
    return NULL;
}

const char *jl_lifecycle_reason(const char *decided, const char *why,
                                const jl_lifecycle_words_t *own, size_t nown)
{
    static const jl_lifecycle_words_t shared[] = {
        {"closed by peer", "closed"}, {"Connection reset by peer", "closed"},
        {"Broken pipe", "closed"}, {"output buffer limit", "output limit"},
        {"CLIENT KILL", "killed"}, {"shutdown timeout", "shutdown"},
    };
    if (decided)
        return decided;
    const char *r = lookup(why, own, nown);
    if (r == NULL)
        r = lookup(why, shared, JL_ARRAY_LEN(shared));
    return r ? r : "write error";
}

int jl_lifecycle_reserved(const char *chan, size_t len)
{
    size_t plen = strlen(JL_LIFECYCLE_PREFIX);
    return len >= plen && memcmp(chan, JL_LIFECYCLE_PREFIX, plen) == 0;
}
