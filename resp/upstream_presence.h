/* upstream_presence.h -- occupancy across bridged nodes, kept in the upstream Redis.
 *
 * A node knows when a name gets its first subscriber on the node and loses
 * its last (the registry's watch); "the first subscriber anywhere" needs
 * one place that sees every node, and bridged nodes have one: Redis. So
 * with --lifecycle-events each node tells Redis, through a library of
 * Redis Functions (FCALL, atomic: one order for all nodes), which names it
 * holds, and the function that takes a name's first node or lets go of its
 * last one publishes the cluster's event itself:
 *
 *   jugglite:occ:<kind>:<name>   set of the nodes holding it
 *   jugglite:occ-node:<node>     set of "<kind>:<name>" the node holds
 *   jugglite:alive:<node>        exists while the node is alive (PX ttl)
 *   jugglite:nodes               set of the nodes that took part
 *   PUBLISH __jugglite__:occupied / __jugglite__:vacated
 *     {"node":…,"name":…,"kind":…,"scope":"cluster"}
 *
 * jugglite_presence_change: ARGV node, ttl ms, then (kind, name, 1|0)
 * triples, in the order they happened. jugglite_presence_sync: ARGV node,
 * ttl ms, then (kind, name) pairs: the node's whole set, replacing what
 * Redis had (after a reconnect: what changed meanwhile is settled, with
 * events). jugglite_presence_alive: ARGV node, ttl ms: renews the node's
 * key, then sweeps: every node whose key expired (it died without a word,
 * or hung) lets go of its names, vacating those it was the last to hold.
 * _change and _alive answer SWEPT to a node that was swept so (it hung
 * longer than the ttl and came back): it syncs its whole set again.
 * jugglite_presence_gone: ARGV node: a clean exit lets go at once.
 *
 * This file owns the library, the commands and the queue of changes not
 * yet sent (owned by the bridge's jl_upp_t); upstream.c decides when. */
#ifndef JL_UPSTREAM_PRESENCE_H
#define JL_UPSTREAM_PRESENCE_H

#include "server/buf.h"
#include "server/registry.h"

#include <stddef.h>

/* Changes sent per FCALL at most (the rest in the next). */
#define JL_UPP_BATCH 1024

typedef struct jl_upp_change jl_upp_change_t;

typedef struct jl_upp {
    jl_upp_change_t *head, **tail;
    size_t n;
} jl_upp_t;

void jl_upp_init(jl_upp_t *q);
/* Drops every change not sent. */
void jl_upp_clear(jl_upp_t *q);
/* Queues ns/name getting its first subscriber on this node (on) or losing
 * its last. */
void jl_upp_push(jl_upp_t *q, jl_ns_t ns, const char *name, size_t len, int on);

/* FUNCTION LOAD REPLACE of the library. */
void jl_upp_load_command(jl_buf_t *out);
/* FCALL jugglite_presence_change with the oldest JL_UPP_BATCH changes
 * (taken off the queue); nothing written when the queue is empty.
 * Returns the changes written. */
size_t jl_upp_change_command(jl_buf_t *out, jl_upp_t *q, const char *node, double ttl);
/* FCALL jugglite_presence_sync with every name reg has a subscriber for. */
void jl_upp_sync_command(jl_buf_t *out, const jl_registry_t *reg, const char *node, double ttl);
void jl_upp_alive_command(jl_buf_t *out, const char *node, double ttl);
void jl_upp_gone_command(jl_buf_t *out, const char *node);

#endif
