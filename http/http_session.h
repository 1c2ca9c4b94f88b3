/* http_session.h -- the HTTP/1.1 side: SSE streams, publish, health, page.
 *
 * What main.c sees of http/. One session per HTTP connection, parsed with
 * http-parser in http_session.c (the only file that includes
 * http_parser.h); each request goes to its route (http_routes.c), the
 * stream route turns the connection into an SSE stream (sse_stream.c), and
 * every response byte is written by http_response.c. Routes: the SSE
 * stream (--path, default /stream), POST publish (only with
 * --publish-token or --token-key), /health, and / (the built-in page). A stream session
 * is a registry sink; its events are encoded once per publish (jl_msg_t
 * frame cache) and shared. jl_http_t is the side's own state (streams,
 * keepalive timer, the page), one per server, owned by main.c. */
#ifndef JL_HTTP_SESSION_H
#define JL_HTTP_SESSION_H

typedef struct jl_server jl_server_t;
typedef struct jl_http jl_http_t;
typedef struct jl_tls jl_tls_t;

/* Sets up the HTTP side: keepalive timer, the rendered page, the relay's
 * readiness callback. */
jl_http_t *jl_http_new(jl_server_t *srv);
/* After jl_server_close_all. NULL is a no-op. */
void jl_http_free(jl_http_t *h);
/* jl_accept_fn for the SSE listeners (ud: the jl_http_t); over_cap: shed it
 * (SSE: 200 + retry: and close; anything else: 503 with Retry-After); tls:
 * the HTTPS listener's context, or NULL. */
void jl_http_accept(void *ud, jl_server_t *srv, int fd, int unix_socket, int over_cap,
                    jl_tls_t *tls);

#endif
