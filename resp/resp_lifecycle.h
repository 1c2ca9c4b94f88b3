/* resp_lifecycle.h -- a RESP subscriber's lifecycle events.
 *
 * With --lifecycle-events, a RESP client is reported as it becomes a
 * subscriber ("connect", with what it subscribed to), as its subscriptions
 * change ("subscribe", "unsubscribe": the names that changed) and as it
 * leaves ("disconnect": what it still held, the reason), on the same
 * reserved channels and in the same JSON as SSE streams
 * (server/lifecycle.h), protocol "resp". Names under the reserved prefix
 * are left out: a watcher's own PSUBSCRIBE __jugglite__:* makes no event.
 * A client that never subscribed to anything else is never reported.
 *
 * resp_commands.c reports the changes; resp_session.c the close. The
 * client's identity (its JSON, kept from the connect) is owned by the
 * client and freed here or at the close. */
#ifndef JL_RESP_LIFECYCLE_H
#define JL_RESP_LIFECYCLE_H

#include "resp/resp_client.h"

#include <jansson.h>

/* A JSON array to collect changed names in, or NULL when events are off
 * (nothing is to be collected). */
json_t *jl_resp_lifecycle_names(const jl_resp_client_t *c);
/* Adds name to names (from jl_resp_lifecycle_names; NULL: nothing) unless
 * it is reserved. */
void jl_resp_lifecycle_add(json_t *names, const char *name, size_t len);
/* c subscribed to (added) or left the names of namespace ns: a connect
 * when it is c's first report, else a subscribe / unsubscribe. Steals
 * names (NULL or empty: nothing happened). */
void jl_resp_lifecycle_changed(jl_resp_client_t *c, jl_ns_t ns, int added, json_t *names);
/* c's connection is closing (why: the connection's own words): its
 * disconnect, if it was ever reported. */
void jl_resp_lifecycle_closed(jl_resp_client_t *c, const char *why);
/* A shutdown notice (ud: the jl_resp_t): every reported client's
 * disconnect, reason "shutdown", before any connection hears of it. */
void jl_resp_lifecycle_shutdown(void *ud);

#endif
