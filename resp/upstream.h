/* upstream.h -- the bridge to a real Redis (or another jugglite) upstream.
 *
 * With --upstream, channels are shared by every node connected to the same
 * upstream. The bridge is one outgoing RESP3 connection (HELLO 3) on the
 * server's loop, so that subscriptions (pushes) and PUBLISH replies share
 * it. It mirrors the registry: one upstream SUBSCRIBE/PSUBSCRIBE/SSUBSCRIBE
 * per name that has local subscribers, learned through the registry's
 * watch callback, released after a linger.
 *
 * It installs itself as the server's relay (server/relay.h): a local
 * publish is not delivered locally but forwarded, and delivered when the
 * upstream pushes it back, so every node sees one order and nothing twice;
 * the publisher's completion fires with the upstream's reply. Only main.c
 * includes this header. */
#ifndef JL_UPSTREAM_H
#define JL_UPSTREAM_H

typedef struct jl_server jl_server_t;
typedef struct jl_upstream jl_upstream_t;

/* Parses url (redis://[[user]:pass@]host[:port] or unix:///path), installs
 * the bridge as srv's relay and the registry watch, and starts connecting.
 * NULL (logged) on a bad URL. */
jl_upstream_t *jl_upstream_new(jl_server_t *srv, const char *url);
/* Uninstalls and frees the bridge (after jl_server_close_all, or at any
 * time: the local relay takes over). NULL is a no-op. */
void jl_upstream_free(jl_upstream_t *u);

#endif
