/* http_session.h -- the HTTP/1.1 side: SSE streams, publish, health, page.
 *
 * One session per HTTP connection, parsed with http-parser (this module is
 * the only one that includes http_parser.h). Routes: the SSE stream
 * (--path, default /stream), POST publish (only with --publish-token),
 * /health, and / (the built-in page). A stream session is a registry sink;
 * its events are encoded once per publish (jl_msg_t frame cache) and shared.
 * The module keeps its own state (stream list, keepalive timer) in
 * srv->http. */
#ifndef JL_HTTP_SESSION_H
#define JL_HTTP_SESSION_H

#include "../server/buf.h"

#include <stddef.h>

typedef struct jl_server jl_server_t;

/* Sets up srv->http (keepalive timer etc.). */
void jl_http_init(jl_server_t *srv);
void jl_http_free(jl_server_t *srv);
/* Accepts fd as an HTTP client; over_cap: shed it (SSE: 200 + retry: and
 * close; anything else: 503 with Retry-After). */
void jl_http_accept(jl_server_t *srv, int fd, int unix_socket, int over_cap);
/* Open SSE streams. */
size_t jl_http_stream_count(const jl_server_t *srv);
/* Appends the INFO "# Jugglite" lines. */
void jl_http_info(const jl_server_t *srv, jl_buf_t *out);
/* The upstream confirmed subscriptions: streams waiting for their
 * registration comment re-check (see upstream.h). */
void jl_http_upstream_progress(jl_server_t *srv);

#endif
