/* channels.h -- the live channel list the built-in page shows (GET /channels).
 *
 * Who listens to what, right now, on this node: each channel and pattern
 * with subscribers (SSE streams and RESP clients), how many, and how many
 * publishes reached it since it got its first subscriber; the page polls
 * it and shows the rates. Channel names come from clients, so the list is
 * served only where /metrics is (--metrics, behind --metrics-token-file
 * when set) and is cut at a fixed length, busiest first. Pure rendering
 * from the registry; the route (http_routes.c) decides who may read. */
#ifndef JL_CHANNELS_H
#define JL_CHANNELS_H

#include "server/buf.h"

#include <stddef.h>

/* The longest list a request gets (the rest are counted, not listed). */
#define JL_CHANNELS_MAX 200

typedef struct jl_server jl_server_t;

/* Appends the JSON document for srv to out:
 * {"node":"<run id>","time":<s>,"channels":N,"patterns":N,
 *  "list":[{"name":…,"kind":"channel"|"pattern","subscribers":N,"messages":N},…]}
 * the list sorted by subscribers, most first, at most JL_CHANNELS_MAX. */
void jl_channels_render(jl_buf_t *out, const jl_server_t *srv);

#endif
