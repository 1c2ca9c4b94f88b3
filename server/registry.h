/* registry.h -- the channel registry: who is subscribed to what.
 *
 * A two-way index between names (channels, patterns, shard channels) and
 * sinks (a RESP client, an SSE stream, the upstream bridge). Each
 * subscription is one subscription node linked into its name's list and into its
 * sink's list, so subscribe, unsubscribe and a sink's disconnect cost O(1)
 * per subscription and publish walks only the subscribers of one channel
 * (plus the patterns). A name with no subscribers is freed at once.
 *
 * The registry never mentions RESP or HTTP: it calls sink->ops->deliver and
 * lets the sink pick or build the frame it needs (see msg.h). Names are
 * hashed with SipHash under a per-process random key because they come from
 * untrusted clients.
 *
 * Ownership: the registry owns names and subscription nodes; sinks are owned by
 * their connection, which must call jl_registry_unsubscribe_all before it
 * frees the sink. deliver must not free the sink or change subscriptions
 * (closing is deferred, see conn.h); nor may the watch, unsubscribe_all
 * and foreach callbacks change subscriptions.
 *
 * Costs: subscribe, unsubscribe, numsub and count are O(1) (expected);
 * publish is O(subscribers of the channel + number of patterns); a
 * subscription costs about 64 bytes, a name about 80 bytes + its length. */
#ifndef JL_REGISTRY_H
#define JL_REGISTRY_H

#include "server/msg.h"
#include "server/util.h"

#include <stddef.h>
#include <stdint.h>

typedef enum {
    JL_NS_CHANNEL = 0,  /* SUBSCRIBE / PUBLISH, SSE ?channel= */
    JL_NS_PATTERN = 1,  /* PSUBSCRIBE, SSE ?pattern= ; matches JL_NS_CHANNEL */
    JL_NS_SHARD = 2,    /* SSUBSCRIBE / SPUBLISH; patterns never match it */
    JL_NS_COUNT = 3
} jl_ns_t;

typedef struct jl_sink jl_sink_t;

typedef struct jl_sink_ops {
    /* One message for this sink. 'msg->pattern' is set (non-NULL) when the
     * delivery is due to a pattern subscription. Returns 1 if the sink counts
     * as a receiver (PUBLISH's reply), 0 if not (e.g. the upstream bridge). */
    int (*deliver)(jl_sink_t *sink, jl_msg_t *msg);
} jl_sink_ops_t;

struct jl_sink {
    const jl_sink_ops_t *ops;
    jl_list_t subs[JL_NS_COUNT];  /* this sink's subscription nodes, per namespace, in subscribe order */
    uint32_t nsubs[JL_NS_COUNT];  /* 32 bits: every idle SSE stream carries these */
};

/* Called when a name gets its first subscriber (added = 1, after it is
 * linked) or loses its last one (added = 0, after it is unlinked, before it
 * is freed; 'name' is valid only during the call). The upstream bridge uses
 * it to mirror subscriptions. */
typedef void (*jl_registry_watch_fn)(void *ud, jl_ns_t ns, const char *name, size_t len, int added);

typedef struct jl_registry jl_registry_t;

jl_registry_t *jl_registry_new(void);
/* Frees names and subscriptions; sinks are not touched (and must not be
 * used with this registry afterwards). */
void jl_registry_free(jl_registry_t *reg);
void jl_registry_set_watch(jl_registry_t *reg, jl_registry_watch_fn fn, void *ud);

void jl_sink_init(jl_sink_t *sink, const jl_sink_ops_t *ops);

/* Returns 1 if newly subscribed, 0 if the sink already was. */
int jl_registry_subscribe(jl_registry_t *reg, jl_sink_t *sink, jl_ns_t ns,
                          const char *name, size_t len);
/* Returns 1 if the subscription existed and was removed, 0 otherwise. */
int jl_registry_unsubscribe(jl_registry_t *reg, jl_sink_t *sink, jl_ns_t ns,
                            const char *name, size_t len);

/* Removes every subscription of 'sink' in namespace 'ns', oldest first,
 * calling cb (if not NULL) once per removed name, after removal (so
 * sink->nsubs is already decremented). The name pointer is valid only
 * during the call. */
typedef void (*jl_registry_name_fn)(void *ud, const char *name, size_t len);
void jl_registry_unsubscribe_all(jl_registry_t *reg, jl_sink_t *sink, jl_ns_t ns,
                                 jl_registry_name_fn cb, void *ud);

/* Calls cb for every name 'sink' is subscribed to in ns, in subscribe
 * order. cb must not change subscriptions. */
void jl_sink_each_name(const jl_sink_t *sink, jl_ns_t ns, jl_registry_name_fn cb, void *ud);

/* Delivers msg to the subscribers of msg->chan in JL_NS_SHARD if msg->shard,
 * else JL_NS_CHANNEL then every matching pattern (Redis order: exact
 * subscribers first). Returns the sum of deliver() results. The caller
 * releases msg (jl_msg_release) afterwards. */
size_t jl_registry_publish(jl_registry_t *reg, jl_msg_t *msg);

/* Deliveries for the upstream bridge, where the upstream has already done
 * the matching: each local name has its own upstream subscription, so a
 * message comes back once per name that wants it.
 *
 * publish_exact: only the subscribers of msg->chan in JL_NS_SHARD if
 * msg->shard, else JL_NS_CHANNEL; patterns are not consulted.
 * publish_pattern: only the subscribers of the pattern 'pattern' (as the
 * upstream's pmessage names it), with msg->pattern set to it; the pattern
 * is not matched again against msg->chan.
 * Both return the sum of deliver() results (0 if nobody is subscribed any
 * more); the caller releases msg afterwards. */
size_t jl_registry_publish_exact(jl_registry_t *reg, jl_msg_t *msg);
size_t jl_registry_publish_pattern(jl_registry_t *reg, const char *pattern, size_t len,
                                   jl_msg_t *msg);

/* Subscribers of one name (PUBSUB NUMSUB / SHARDNUMSUB). */
size_t jl_registry_numsub(const jl_registry_t *reg, jl_ns_t ns, const char *name, size_t len);
/* Number of names with at least one subscriber (PUBSUB NUMPAT = patterns). */
size_t jl_registry_count(const jl_registry_t *reg, jl_ns_t ns);
/* Calls cb for every name in ns that matches the glob 'pattern' (NULL: all),
 * oldest name first. cb must not change subscriptions. */
void jl_registry_foreach(const jl_registry_t *reg, jl_ns_t ns, const char *pattern,
                         size_t pattern_len, jl_registry_name_fn cb, void *ud);
/* One name as the built-in page's live list shows it: its subscribers,
 * and the publishes delivered to it since it got its first subscriber
 * (a pattern: the publishes it matched). name is the registry's own: valid
 * until that name loses its last subscriber. */
typedef struct jl_registry_info {
    const char *name;
    size_t len;
    size_t subscribers;
    unsigned long long messages;
} jl_registry_info_t;
typedef void (*jl_registry_info_fn)(void *ud, const jl_registry_info_t *info);
/* Calls cb for every name in ns, oldest first. cb must not change
 * subscriptions. */
void jl_registry_each_info(const jl_registry_t *reg, jl_ns_t ns, jl_registry_info_fn cb, void *ud);

#endif
