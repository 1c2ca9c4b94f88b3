/* resp_lifecycle.c -- a RESP subscriber's lifecycle events (see resp_lifecycle.h). */
#include "resp/resp_lifecycle.h"
#include "server/lifecycle.h"
#include "server/server.h"

#include <stdlib.h>
#include <string.h>

static const char *const kinds[JL_NS_COUNT] = {"channel", "pattern", "shard"};
/* The connect's and disconnect's lists, one per namespace. */
static const char *const lists[JL_NS_COUNT] = {"channels", "patterns", "shards"};

static jl_server_t *server_of(const jl_resp_client_t *c) { return c->resp->srv; }

json_t *jl_resp_lifecycle_names(const jl_resp_client_t *c)
{
    return server_of(c)->cfg->lifecycle_events ? json_array() : NULL;
}

void jl_resp_lifecycle_add(json_t *names, const char *name, size_t len)
{
    if (names != NULL && !jl_lifecycle_reserved(name, len))
        json_array_append_new(names, json_stringn(name, len));
}

static void emit(jl_resp_client_t *c, const char *event, json_t *o)
{
    char *text = json_dumps(o, JSON_COMPACT);
    if (text)
        jl_lifecycle_emit(&server_of(c)->lifecycle, event, text, strlen(text));
    free(text);
}

/* {"node", "client_id", "peer", "user", "protocol"}: who the client is, as it was
 * when it first subscribed (an ACL change may take its user away later). */
static json_t *identity(const jl_resp_client_t *c)
{
    char peer[128];
    jl_conn_peer(&c->conn, peer, sizeof peer);
    return json_pack("{s:s, s:I, s:s, s:s?, s:s}", "node", server_of(c)->run_id, "client_id",
                     (json_int_t)c->conn.id, "peer", peer, "user",
                     c->user ? c->user->name : NULL, "protocol", "resp");
}

static void add_name(void *ud, const char *name, size_t len)
{
    jl_resp_lifecycle_add(ud, name, len);
}

/* What c is subscribed to now, one list per namespace. */
static void add_lists(const jl_resp_client_t *c, json_t *o)
{
    for (int ns = 0; ns < JL_NS_COUNT; ns++) {
        json_t *names = json_array();
        jl_sink_each_name(&c->sink, (jl_ns_t)ns, add_name, names);
        json_object_set_new(o, lists[ns], names);
    }
}

static void report_connect(jl_resp_client_t *c)
{
    json_t *o = identity(c);
    if (o == NULL)
        return;
    c->identity = json_dumps(o, JSON_COMPACT);
    add_lists(c, o);
    emit(c, "connect", o);
    json_decref(o);
}

void jl_resp_lifecycle_changed(jl_resp_client_t *c, jl_ns_t ns, int added, json_t *names)
{
    if (names == NULL)
        return;
    if (json_array_size(names) == 0 || !server_of(c)->cfg->lifecycle_events) {
        json_decref(names);
        return;
    }
    if (c->identity == NULL) {
        json_decref(names);
        if (added)
            report_connect(c);
        return;
    }
    json_t *o = json_loads(c->identity, 0, NULL);
    if (o != NULL) {
        json_object_set_new(o, "kind", json_string(kinds[ns]));
        json_object_set_new(o, "names", names);
        emit(c, added ? "subscribe" : "unsubscribe", o);
        names = NULL;
    }
    json_decref(o);
    json_decref(names);
}

/* The connection's words, in the terms the SSE streams' events use. */
static const char *end_reason(const jl_resp_client_t *c, const char *why)
{
    static const jl_lifecycle_words_t own[] = {
        {"done", "closed"}, {"flushed", "closed"},
        {"query buffer limit", "protocol error"}, {"query buffer limit (MULTI)", "protocol error"},
        {"ACL user removed or killed", "killed"},
        {"ACL channel permission removed", "permission revoked"},
    };
    return jl_lifecycle_reason(c->end_reason, why, own, JL_ARRAY_LEN(own));
}

void jl_resp_lifecycle_closed(jl_resp_client_t *c, const char *why)
{
    char *who = c->identity;
    c->identity = NULL;
    if (who == NULL || !server_of(c)->cfg->lifecycle_events) {
        free(who);
        return;
    }
    json_t *o = json_loads(who, 0, NULL);
    free(who);
    if (o == NULL)
        return;
    add_lists(c, o);
    json_object_set_new(o, "reason", json_string(end_reason(c, why)));
    json_object_set_new(o, "detail", json_string(why));
    json_object_set_new(o, "duration",
                        json_real(ev_now(server_of(c)->loop) - c->conn.created));
    json_object_set_new(o, "events", json_integer((json_int_t)c->delivered));
    emit(c, "disconnect", o);
    json_decref(o);
}

void jl_resp_lifecycle_shutdown(void *ud)
{
    jl_resp_t *resp = ud;
    JL_LIST_FOREACH(&resp->clients, it) {
        jl_resp_client_t *c = JL_CONTAINER_OF(it, jl_resp_client_t, node);
        if (c->identity == NULL || c->conn.closing)
            continue;
        c->end_reason = "shutdown";
        jl_resp_lifecycle_closed(c, "shutdown");
    }
}
