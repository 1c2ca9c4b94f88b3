/* relay.h -- where a publish goes: the seam between publishers and delivery.
 *
 * A publisher (a RESP PUBLISH, an HTTP POST) never decides whether its
 * message is delivered here or travels through an upstream first: it hands
 * the message to the server's relay and hears back through a completion
 * callback. The local relay (this file) delivers at once through the
 * registry and answers before jl_relay_publish returns. The upstream bridge
 * (resp/upstream.c) installs a relay of its own that forwards the message
 * and answers when the upstream replies; it also says whether a name's
 * subscription is live upstream yet, so that an SSE stream can wait for it.
 *
 * The contract, libuv's: if jl_relay_publish returns an error, nothing was
 * published and done never fires; if it returns JL_OK, done fires exactly
 * once (perhaps before jl_relay_publish returns), unless jl_relay_cancel
 * forgets it first. done must not free the relay.
 *
 * Ownership: the server owns the local relay and points srv->relay at the
 * relay in use; a bridge owns its own and must uninstall it
 * (jl_server_set_relay(srv, NULL)) before it is freed. */
#ifndef JL_RELAY_H
#define JL_RELAY_H

#include "server/buf.h"
#include "server/history.h"
#include "server/registry.h"
#include "server/stats.h"

#include <stddef.h>

typedef struct jl_relay jl_relay_t;

/* One message to publish; the bytes are borrowed for the call only. */
typedef struct jl_pub {
    const char *chan;
    size_t chan_len;
    const char *payload;
    size_t payload_len;
    int shard;                  /* SPUBLISH: the shard namespace */
} jl_pub_t;

/* The answer to one publish: receivers, or an error (Redis error text such
 * as "ERR ...", not NUL-terminated, valid during the callback only). */
typedef struct jl_relay_reply {
    long long receivers;
    const char *error;
    size_t error_len;
} jl_relay_reply_t;

typedef void (*jl_relay_done_fn)(void *ud, const jl_relay_reply_t *reply);
/* Subscriptions may have become live upstream: re-check jl_relay_confirmed. */
typedef void (*jl_relay_ready_fn)(void *ud);
/* The relay was cut off from where publishes go and is back: what was
 * published there meanwhile without an id cannot be recovered, so every
 * stream announces a gap (JL_GAP_UPSTREAM) at this place. */
typedef void (*jl_relay_gap_fn)(void *ud);

/* ---- a shared history (a bridge's; see docs/history.md) ---- */

typedef struct jl_relay_name {
    jl_ns_t ns;                 /* JL_NS_CHANNEL or JL_NS_PATTERN */
    const char *name;
    size_t len;
} jl_relay_name_t;

typedef struct jl_relay_entry {
    jl_hist_id_t id;
    const char *chan;
    size_t chan_len;
    const char *payload;
    size_t payload_len;
} jl_relay_entry_t;

/* What a stream resuming from one id missed, as the shared history says.
 * Everything is valid during the callback only. */
typedef struct jl_relay_history {
    const char *error;          /* NULL, or why nothing could be read (then no entries) */
    size_t error_len;
    const jl_relay_entry_t *e;  /* every entry after the id, each once, in id order */
    size_t n;
    const jl_gap_t *gap;        /* one per name asked for */
    const long long *lost;      /* one per name: entries missed for sure, -1 unknown */
    jl_hist_id_t last;          /* the newest id of the shared history */
} jl_relay_history_t;

typedef void (*jl_relay_history_fn)(void *ud, const jl_relay_history_t *h);

/* ---- counts across nodes (a bridge's; JUGGLITE NUMSUB) ---- */

/* The subscribers of the names asked for, added up over every node that
 * answered. Valid during the callback only. */
typedef struct jl_relay_counts {
    const char *error;          /* NULL, or why nothing was counted (then no counts) */
    size_t error_len;
    const long long *count;     /* one per name asked for */
    size_t n;
    size_t nodes;               /* nodes that answered */
    long long expected;         /* nodes that were asked; -1: unknown */
} jl_relay_counts_t;

typedef void (*jl_relay_counts_fn)(void *ud, const jl_relay_counts_t *c);

typedef struct jl_relay_ops {
    int (*publish)(jl_relay_t *r, const jl_pub_t *pub, jl_relay_done_fn done, void *ud);
    /* Optional: forget every pending done for ud. */
    void (*cancel)(jl_relay_t *r, void *ud);
    /* Optional (NULL: always confirmed). */
    int (*confirmed)(const jl_relay_t *r, jl_ns_t ns, const char *name, size_t len);
    /* Optional (NULL: a local relay, nothing remote to be up). */
    int (*healthy)(const jl_relay_t *r);
    /* Optional: INFO lines of the relay's own section. */
    void (*info)(const jl_relay_t *r, jl_buf_t *out);
    /* Optional: the server is shutting down. */
    void (*shutdown)(jl_relay_t *r);
    /* Optional: reads the shared history of names after 'from' (the text of
     * a Last-Event-ID). -ENOTSUP: the relay keeps none (ids are local).
     * Otherwise like publish: done fires once unless cancelled. */
    int (*history)(jl_relay_t *r, const jl_relay_name_t *names, size_t n, const char *from,
                   size_t from_len, jl_relay_history_fn done, void *ud);
    /* Optional: counts the subscribers of names (namespace ns) on every
     * node. -ENOTSUP: only this node's (a local relay). Otherwise like
     * publish: done fires once unless cancelled. */
    int (*numsub)(jl_relay_t *r, jl_ns_t ns, const char *const *names, const size_t *lens,
                  size_t n, jl_relay_counts_fn done, void *ud);
} jl_relay_ops_t;

struct jl_relay {
    const jl_relay_ops_t *ops;
    char error[384];            /* why the last refused publish was refused ("ERR ...") */
    /* Who is told of confirmations; it belongs to the seam, so installing
     * another relay keeps it (jl_server_set_relay copies it). */
    jl_relay_ready_fn on_ready;
    void *ready_ud;
    jl_relay_gap_fn on_gap;
    /* the local relay's state */
    jl_registry_t *reg;
    jl_stats_t *stats;
    struct jl_hist *hist;
};

/* The local relay: delivers through reg, keeps history in hist, counts in stats. */
void jl_relay_local_init(jl_relay_t *r, jl_registry_t *reg, struct jl_hist *hist,
                         jl_stats_t *stats);
/* Gives one message its history id (not a shard one: no stream reads
 * those), delivers it to this process's subscribers (exact, then matching
 * patterns; shard subscribers if pub->shard) and counts it. Returns the
 * receivers. What the local relay's publish does; bridges deliver what comes
 * back from upstream with the registry's exact and pattern calls. */
size_t jl_relay_deliver_local(jl_relay_t *r, const jl_pub_t *pub);

/* See the contract above. done may be NULL (fire and forget). Returns JL_OK
 * or a negative errno, with r->error saying why. */
int jl_relay_publish(jl_relay_t *r, const jl_pub_t *pub, jl_relay_done_fn done, void *ud);
void jl_relay_cancel(jl_relay_t *r, void *ud);
/* 1 when a subscription to ns/name is live where publishes go. */
int jl_relay_confirmed(const jl_relay_t *r, jl_ns_t ns, const char *name, size_t len);
/* -1: local (nothing remote); 0: the remote side is down; 1: up. */
int jl_relay_health(const jl_relay_t *r);
/* 1 if the relay has INFO lines of its own. */
int jl_relay_has_info(const jl_relay_t *r);
void jl_relay_info(const jl_relay_t *r, jl_buf_t *out);
void jl_relay_shutdown(jl_relay_t *r);
/* See the history op. -ENOTSUP without a shared history. */
int jl_relay_history(jl_relay_t *r, const jl_relay_name_t *names, size_t n, const char *from,
                     size_t from_len, jl_relay_history_fn done, void *ud);
/* See the numsub op. -ENOTSUP on a single node: count with the registry. */
int jl_relay_numsub(jl_relay_t *r, jl_ns_t ns, const char *const *names, const size_t *lens,
                    size_t n, jl_relay_counts_fn done, void *ud);
/* Called by a relay when confirmations arrived. */
void jl_relay_progress(jl_relay_t *r);
/* Called by a relay whose link came back after a loss. */
void jl_relay_gap(jl_relay_t *r);
/* Who is told (one listener, ud shared): confirmations, and gaps. */
void jl_relay_on_ready(jl_relay_t *r, jl_relay_ready_fn ready, jl_relay_gap_fn gap, void *ud);

#endif
