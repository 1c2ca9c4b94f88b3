/* h2.h -- HTTP/2 on one connection, with nghttp2: each stream an HTTP/1.1
 * exchange to the rest of the HTTP side.
 *
 * nghttp2 does the protocol -- framing, HPACK, flow control, the checks
 * RFC 9113 asks for, and the flood defences (SETTINGS, PING and RST_STREAM
 * floods, CONTINUATION floods). This module only translates: every stream
 * gets a virtual connection (conn.h, jl_conn_init_virtual) carrying a
 * jl_http_session_t, exactly as a TCP connection would; the stream's
 * request is fed to it as the HTTP/1.1 bytes it stands for, and the
 * HTTP/1.1 response it writes is read back: its head becomes a HEADERS
 * frame, its body DATA frames. Routes, streams, tokens and limits are the
 * same code for both versions, by construction.
 *
 * The body is never copied on the way: nghttp2 writes a DATA frame's 9-byte
 * header (NGHTTP2_DATA_FLAG_NO_COPY) and the payload moves from the
 * stream's queue to the connection's by reference (jl_outq_move), so an
 * event published to 10,000 HTTP/2 streams is still in memory once. A
 * stream's queue is held to --obuf-hard / --obuf-soft like a connection's:
 * a browser tab that stops reading its stream (its flow-control window
 * stays shut) loses that stream, not the connection's other streams.
 *
 * Limits of our own on top of nghttp2's: a request head of at most
 * --max-header-size bytes (an HPACK bomb is refused when it decodes past
 * it), at most JL_H2_MAX_STREAMS concurrent streams. */
#ifndef JL_H2_H
#define JL_H2_H

#include "server/config.h"
#include "server/conn.h"

#include <stddef.h>

#define JL_H2_MAX_STREAMS 128

typedef struct jl_h2 jl_h2_t;

/* Makes the request side of a new stream: a jl_http_session_t (or any
 * session) whose connection is set up with jl_conn_init_virtual(parent, t,
 * tctx). Returns that connection. */
typedef jl_conn_t *(*jl_h2_open_fn)(void *ud, jl_conn_t *parent, const jl_conn_transport_t *t,
                                    void *tctx);

/* HTTP/2 on conn from now on (its first input is the client preface).
 * conn, cfg and ud are borrowed. */
jl_h2_t *jl_h2_new(jl_conn_t *conn, const jl_config_t *cfg, jl_h2_open_fn open, void *ud);
/* conn->in has bytes: consumes them all. A protocol error queues GOAWAY
 * and closes conn once it is written. */
void jl_h2_input(jl_h2_t *h);
/* conn's queue was written out: frames held back meanwhile go now. */
void jl_h2_drained(jl_h2_t *h);
/* The server shuts down: GOAWAY, then conn closes when its last stream
 * has ended (each stream's session says goodbye on its own). */
void jl_h2_shutdown(jl_h2_t *h);
/* conn is closing: every stream's connection closes too. */
void jl_h2_closed(jl_h2_t *h);
void jl_h2_free(jl_h2_t *h);

/* 1: p[0..n) is the whole client preface ("PRI * HTTP/2.0..."), 0: it is
 * not the preface, -1: a prefix of it, wait for more. */
int jl_h2_preface(const char *p, size_t n);

#endif
