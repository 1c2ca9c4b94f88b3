/* curl_loop.h -- outgoing HTTP requests on the server's libev loop (libcurl multi).
 *
 * The loop must never wait for another server: an outgoing request (asking
 * the app whether a stream may open, --auth-url) is a libcurl easy handle
 * driven by libcurl's multi interface, whose sockets and timer are libev
 * watchers here, so thousands can be in flight while the loop serves
 * everyone else. This file knows nothing of what is asked.
 *
 * Ownership: the caller builds the easy handle and gets it back in done,
 * which must clean it up (curl_easy_cleanup); jl_curl_loop_cancel takes it
 * back without calling done (the caller cleans it up then too). */
#ifndef JL_CURL_LOOP_H
#define JL_CURL_LOOP_H

#include <curl/curl.h>
#include <ev.h>

typedef struct jl_curl_loop jl_curl_loop_t;

/* The transfer is over (rc: CURLE_OK, or why it failed). */
typedef void (*jl_curl_done_fn)(void *ud, CURL *easy, CURLcode rc);

/* NULL if libcurl cannot be set up (logged). */
jl_curl_loop_t *jl_curl_loop_new(struct ev_loop *loop);
/* Every transfer must be done or cancelled first. NULL is a no-op. */
void jl_curl_loop_free(jl_curl_loop_t *m);
/* Starts easy. Returns 0, or -1 (nothing started, done never called). */
int jl_curl_loop_add(jl_curl_loop_t *m, CURL *easy, jl_curl_done_fn done, void *ud);
/* Stops easy before it is done; done is not called. */
void jl_curl_loop_cancel(jl_curl_loop_t *m, CURL *easy);

#endif
