/* lifecycle.h -- who connects and who leaves, as pub/sub messages.
 *
 * With --lifecycle-events, the HTTP side reports each SSE stream as it
 * connects (with the channels it subscribed to) and as it ends (with the
 * reason), as JSON published on reserved channels -- JL_LIFECYCLE_PREFIX
 * "connect", "disconnect" -- and the server reports a channel's first
 * subscriber and its last leaving this node ("occupied", "vacated"),
 * through the server's relay: a
 * `PSUBSCRIBE __jugglite__:*` over RESP sees them, and a bridged node's
 * travel through the upstream to every node, as any publish does. In the
 * spirit of Redis's keyspace notifications.
 *
 * Events are queued and published from the loop (jl_lifecycle_flush, the
 * server's prepare hook), never on the caller's stack: a stream may end in
 * the middle of a publish's walk of the subscribers (a slow consumer cut at
 * its output limit), and a publish must not start inside another.
 *
 * The prefix is reserved whether events are on or not: clients cannot
 * publish there (jl_lifecycle_reserved), so a subscriber can trust what it
 * reads. Subscribing follows the ordinary permission rules. */
#ifndef JL_LIFECYCLE_H
#define JL_LIFECYCLE_H

#include "server/util.h"

#include <stddef.h>

#define JL_LIFECYCLE_PREFIX "__jugglite__:"

typedef struct jl_server jl_server_t;

/* The queue of events not yet published; owned by the server. */
typedef struct jl_lifecycle {
    jl_list_t pending;
    size_t npending;
    /* INFO and /metrics: published (or handed to the upstream), and
     * dropped unpublished (past the queue's bound, or refused by a relay
     * that is down). */
    unsigned long long published, dropped;
} jl_lifecycle_t;

void jl_lifecycle_init(jl_lifecycle_t *lc);
/* Drops what was never published (server exit). */
void jl_lifecycle_fini(jl_lifecycle_t *lc);
/* Queues payload (JSON text, copied) for JL_LIFECYCLE_PREFIX + event. */
void jl_lifecycle_emit(jl_lifecycle_t *lc, const char *event, const char *payload, size_t len);
/* "occupied" / "vacated" for a name of namespace ns (jl_ns_t) getting its
 * first subscriber (added) or losing its last; node: the server's run id;
 * scope: "node" (on this node), or "cluster" (anywhere: a single node is
 * its whole cluster; bridged nodes have Redis say it, see
 * resp/upstream_presence.h). Queued like every event. */
void jl_lifecycle_occupancy(jl_lifecycle_t *lc, const char *node, int ns, const char *name,
                            size_t len, int added, const char *scope);
/* Publishes everything queued through srv's relay, oldest first. */
void jl_lifecycle_flush(jl_server_t *srv);
/* A protocol's own words for a close (jl_conn_close's 'why') and the
 * disconnect reason they mean. */
typedef struct jl_lifecycle_words {
    const char *why, *reason;
} jl_lifecycle_words_t;
/* The disconnect reason: 'decided' when the protocol set one (a token's
 * expiry, a shutdown), else what 'why' means in the protocol's own table
 * (own[0..nown)) or in the words every protocol shares ("closed": the peer
 * went away, by FIN or reset; "output limit", "killed", "shutdown"), else
 * "write error". */
const char *jl_lifecycle_reason(const char *decided, const char *why,
                                const jl_lifecycle_words_t *own, size_t nown);
/* 1 when a client may not publish to chan (it is under the prefix). */
int jl_lifecycle_reserved(const char *chan, size_t len);

#endif
