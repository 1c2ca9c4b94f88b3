/* upstream.h -- the bridge to a real Redis (or another jugglite) upstream.
 *
 * With --upstream, channels are shared by every node connected to the same
 * upstream. The bridge is a non-blocking RESP client on the server's loop,
 * one connection speaking RESP3 (HELLO 3), so that subscriptions (pushes)
 * and PUBLISH replies share it. It mirrors the registry: one upstream
 * SUBSCRIBE/PSUBSCRIBE/SSUBSCRIBE per name that has local subscribers,
 * learned through the registry's watch callback, released after a linger.
 *
 * A local PUBLISH is not delivered locally: it is forwarded, and delivered
 * when the upstream pushes it back, so every node sees one order and nothing
 * twice. The publishing client waits (blocked, its input paused) for the
 * upstream's reply, which it gets in order with its other replies. */
#ifndef JL_UPSTREAM_H
#define JL_UPSTREAM_H

#include "buf.h"
#include "registry.h"

#include <stddef.h>

typedef struct jl_server jl_server_t;
typedef struct jl_client jl_client_t;
typedef struct jl_upstream jl_upstream_t;

/* Parses url (redis://[[user]:pass@]host[:port] or unix:///path), starts
 * connecting and installs the registry watch. NULL (logged) on a bad URL. */
jl_upstream_t *jl_upstream_new(jl_server_t *srv, const char *url);
void jl_upstream_free(jl_upstream_t *u);
/* Server shutdown: stop reconnecting; close when idle. */
void jl_upstream_shutdown(jl_upstream_t *u);

/* Forwards PUBLISH/SPUBLISH. With a client: the client is blocked until the
 * upstream replies; the reply (or an error if the upstream is down or goes
 * away) is appended to its output and it is unblocked. With client NULL:
 * fire and forget. */
void jl_upstream_forward_publish(jl_upstream_t *u, jl_client_t *client, const char *chan,
                                 size_t chan_len, const char *payload, size_t len, int shard);

/* 1 when connected and every wanted subscription is confirmed. */
int jl_upstream_is_up(const jl_upstream_t *u);
/* 1 if the upstream has confirmed the subscription to ns/name. */
int jl_upstream_confirmed(const jl_upstream_t *u, jl_ns_t ns, const char *name, size_t len);
/* Appends INFO lines (state, host, reconnects, messages in/out, counts). */
void jl_upstream_info(const jl_upstream_t *u, jl_buf_t *out);

#endif
