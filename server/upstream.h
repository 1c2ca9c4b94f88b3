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

/* Forwards PUBLISH/SPUBLISH. With a client (called while that client's
 * command executes): if the upstream is up, the client is blocked
 * (JL_CLIENT_BLOCKED, input paused) until the upstream replies; the reply,
 * or an error if the connection is lost first, is appended to its output
 * in its protocol and it is unblocked. If the upstream is not up, the error
 * "-ERR upstream unavailable: <where> is not connected" goes to
 * jl_client_reply at once and the client is not blocked. With client NULL:
 * fire and forget. Returns JL_OK if the message was sent on, or -ENOTCONN
 * if the upstream is not up (then it was dropped, and counted in INFO). */
int jl_upstream_forward_publish(jl_upstream_t *u, jl_client_t *client, const char *chan,
                                 size_t chan_len, const char *payload, size_t len, int shard);

/* The blocked client is being freed before its reply came: the reply will
 * be dropped. client.c calls this for a client with JL_CLIENT_BLOCKED. */
void jl_upstream_forget_client(jl_upstream_t *u, jl_client_t *client);

/* 1 when connected and every subscription held when the connection came
 * up has been confirmed (so /health says 503 until the resubscribe pipeline
 * is done). A new subscription made while up does not make it 0 again: a
 * load balancer polling /health must not see the node flap on every new
 * channel; jl_upstream_confirmed answers per name. */
int jl_upstream_is_up(const jl_upstream_t *u);
/* 1 if the upstream has confirmed the subscription to ns/name. */
int jl_upstream_confirmed(const jl_upstream_t *u, jl_ns_t ns, const char *name, size_t len);
/* Appends INFO lines (state, host, reconnects, messages in/out, counts). */
void jl_upstream_info(const jl_upstream_t *u, jl_buf_t *out);

#endif
