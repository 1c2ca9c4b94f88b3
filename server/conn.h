/* conn.h -- one socket's whole life, whatever protocol it speaks.
 *
 * The transport under the RESP sessions, the HTTP sessions and the upstream
 * bridge: the fd, its read and write watchers (embedded, per libev's
 * manual), the input buffer (allocated only while it holds bytes, so an
 * idle connection costs no buffer), and the output queue. A protocol embeds
 * jl_conn_t in its own session struct, supplies jl_conn_ops_t and gets back
 * to its struct with JL_CONTAINER_OF. A connection is accepted
 * (jl_conn_init) or outgoing (jl_conn_connect); both are the same type.
 *
 * Every connection belongs to one jl_conn_set_t, the server's (server.h):
 * the lists of live, pending and closed connections that the server's loop
 * hook runs with jl_conn_set_run before the loop polls.
 *
 * Writes are never made on the spot: jl_conn_push / jl_conn_append queue
 * bytes and mark the connection pending; jl_conn_set_run flushes pending
 * connections in slices (one writev each, at most --flush-slice fan-out
 * connections per slice), and the loop reads input between two slices.
 * What is read meanwhile queues behind what the connections still waiting
 * already hold, so their turn writes several events at once.
 *
 * Closing is deferred: jl_conn_close only marks the connection, stops its
 * watchers and queues it; jl_conn_set_run frees it after the current
 * callback (perhaps a publish walking subscribers) has returned. So any code
 * may close any connection at any time, and a closed connection's memory
 * stays valid until the loop is idle again. */
#ifndef JL_CONN_H
#define JL_CONN_H

#include "server/buf.h"
#include "server/config.h"
#include "server/outq.h"
#include "server/stats.h"
#include "server/tls.h"
#include "server/util.h"

#include <ev.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct jl_conn jl_conn_t;

/* What carries a connection that has no socket of its own -- an HTTP/2
 * stream, whose bytes travel inside its parent connection (jl_conn_init_
 * virtual). Its output queue is the stream's; the transport takes from it. */
typedef struct jl_conn_transport {
    /* Output is queued on c: take what may go now (jl_outq_move into the
     * parent's queue). Returns 0 once c->out is empty, 1 while bytes must
     * wait (flow control): the transport takes them later by itself, and
     * calls jl_conn_flush(c) when c->out empties, so a closing c can end. */
    int (*take)(jl_conn_t *c);
    /* c was closed: gracefully (close_after_flush, everything taken) or
     * not (an error, a limit, a kill). Called once, from jl_conn_close. */
    void (*closed)(jl_conn_t *c, int graceful);
} jl_conn_transport_t;

typedef struct jl_conn_ops {
    /* New bytes are in c->in (or paused input was resumed); consume what
     * was used with jl_buf_consume. May close the connection. */
    void (*on_input)(jl_conn_t *c);
    /* Outgoing only: the connect completed; the connection reads from now. */
    void (*on_connected)(jl_conn_t *c);
    /* Optional: jl_conn_close was just called (synchronously, with its
     * reason). Must not free anything; for owners that must stop using the
     * connection at once. */
    void (*on_close)(jl_conn_t *c, const char *why);
    /* Optional: the server is shutting down: say goodbye and close (usually
     * with jl_conn_close_after_flush). */
    void (*on_shutdown)(jl_conn_t *c);
    /* Optional: the output queue was written out, all of it: for a
     * protocol holding more to give (HTTP/2 stops handing nghttp2's
     * frames over while the queue is long). */
    void (*on_drained)(jl_conn_t *c);
    /* Optional: once per second from the server's cron, with the loop's
     * time: protocol timeouts. May close the connection. */
    void (*on_cron)(jl_conn_t *c, double now);
    /* Releases the protocol's state (subscriptions included) and frees the
     * session struct. Called once, from the deferred free, after the fd was
     * closed and the output queue cleared. */
    void (*on_free)(jl_conn_t *c);
} jl_conn_ops_t;

/* The connections of one loop. Owned by the server; see jl_conn_set_run. */
typedef struct jl_conn_set {
    struct ev_loop *loop;
    const jl_config_t *cfg;     /* output and input limits */
    jl_stats_t *stats;
    jl_list_t all;              /* open connections, accepted and outgoing */
    jl_list_t pending;          /* output to flush: the reply segment first, then the rest */
    jl_list_t closing;          /* closed; freed by the next jl_conn_set_run */
    jl_conn_t *reply_last;      /* last connection of the reply segment, or NULL */
    size_t accepted;            /* open accepted connections (what --max-conns bounds) */
    uint64_t next_id;
    int held;                   /* jl_conn_set_hold: accepted connections are not read */
} jl_conn_set_t;

struct jl_conn {
    jl_conn_set_t *set;
    const jl_conn_ops_t *ops;
    ev_io rio, wio;
    int fd;
    uint8_t closing;            /* jl_conn_close was called */
    uint8_t close_after_flush;  /* stop reading; close once output drained */
    uint8_t unix_socket;        /* over a unix socket */
    uint8_t outgoing;           /* made by jl_conn_connect: no client limits apply */
    uint8_t connecting;         /* outgoing, connect() still in progress */
    uint8_t paused;             /* jl_conn_pause: input left unread until resumed */
    uint8_t in_reply;           /* in the reply segment of set->pending (conn.c) */
    uint8_t handshaking;        /* TLS: the handshake is not done; nothing is written */
    uint8_t tls_read_wants_write;   /* TLS: SSL_read waits for the socket to be writable */
    uint8_t tls_write_wants_read;   /* TLS: SSL_write waits for input */
    SSL *ssl;                   /* TLS (jl_conn_start_tls), or NULL: plain */
    /* virtual connections only (fd -1): */
    jl_conn_t *parent;          /* the connection the bytes travel in */
    const jl_conn_transport_t *transport;
    void *tctx;                 /* the transport's (its stream) */
    uint8_t blocked;            /* take() left bytes: not marked pending until it asks */
    uint64_t id;
    uint64_t queued;            /* bytes ever queued (minus out.bytes: written or taken) */
    jl_buf_t in;
    jl_outq_t out;
    jl_list_t all;              /* set->all, then set->closing */
    jl_list_t pending;          /* set->pending: has output to flush */
    double created;
    double last_active;         /* last input */
    double obuf_soft_since;     /* 0, or when output first stayed above the soft limit */
};

void jl_conn_set_init(jl_conn_set_t *set, struct ev_loop *loop, const jl_config_t *cfg,
                      jl_stats_t *stats);
/* The loop's deferred work, one slice of it: flushes every connection that
 * got a reply, then at most cfg->flush_slice connections that only got
 * fan-out, oldest first (one writev each; what the socket refuses arms its
 * write watcher), then frees the closed ones. Returns 1 if work is left:
 * the caller must poll without sleeping and call again (input read in
 * between is queued behind what is still pending), else 0. */
int jl_conn_set_run(jl_conn_set_t *set);
/* Closes every connection now and frees them all (server exit). */
void jl_conn_set_close_all(jl_conn_set_t *set, const char *why);

/* on: no accepted connection is read from (nor is input it already
 * buffered processed) until the hold is lifted; writes go on, and so do
 * outgoing connections (the upstream). What a restart's hand-over needs:
 * nothing more is published here once the history has been passed on.
 * off: every connection not paused, closing or draining reads again. */
void jl_conn_set_hold(jl_conn_set_t *set, int on);

/* Sets up c (already allocated inside a session struct) for an accepted fd
 * and starts reading. */
void jl_conn_init(jl_conn_t *c, jl_conn_set_t *set, const jl_conn_ops_t *ops, int fd,
                  int unix_socket);
/* Sets c up as a virtual connection inside parent: no socket, no watchers,
 * not counted against --max-conns; input comes from jl_conn_feed, output
 * goes to t. Output limits apply to it as to an accepted connection. Its
 * peer and local addresses are the parent's. */
void jl_conn_init_virtual(jl_conn_t *c, jl_conn_set_t *set, const jl_conn_ops_t *ops,
                          jl_conn_t *parent, const jl_conn_transport_t *t, void *tctx);
/* Input for a virtual connection, as if read from a socket: on_input runs
 * now (unless c is paused or held; then when it resumes). */
void jl_conn_feed(jl_conn_t *c, const void *p, size_t n);

/* Opens a non-blocking socket to sa and sets c up as an outgoing
 * connection. Returns JL_OK: ops->on_connected fires from the loop once
 * connected, or the connection closes (on_close with the reason, then
 * on_free). Returns -errno: nothing was set up and no op will ever fire. */
int jl_conn_connect(jl_conn_t *c, jl_conn_set_t *set, const jl_conn_ops_t *ops,
                    const struct sockaddr *sa, socklen_t len);

/* Puts TLS under c, before anything is read or written (right after
 * jl_conn_init, or after jl_conn_connect returned JL_OK): accepting, or
 * connecting to host (SNI, and the name the certificate must carry). An
 * outgoing connection's on_connected waits for the handshake. Output
 * queued meanwhile is written once it completes; a failed handshake closes
 * c with OpenSSL's reason. Returns JL_OK, or -1 (c is closed). */
int jl_conn_start_tls(jl_conn_t *c, jl_tls_t *tls, const char *host);
/* The protocol ALPN chose ("h2"; not NUL-terminated), or NULL. */
const char *jl_conn_alpn(const jl_conn_t *c, size_t *len);

/* Queues a shared frame (takes a reference) / copies private bytes. For
 * accepted connections both check the output limits and may close the
 * connection (then the bytes are dropped). Nothing is sent before the
 * loop's flush. jl_conn_append marks a reply: replies are flushed before
 * fan-out (see conn.c). */
void jl_conn_push(jl_conn_t *c, jl_frame_t *f);
void jl_conn_append(jl_conn_t *c, const void *p, size_t n);
/* For a transport: queues plen bytes of prefix (copied), then the first n
 * bytes of 'from' (moved: whole frames by reference), as fan-out. */
void jl_conn_move(jl_conn_t *c, const void *prefix, size_t plen, jl_outq_t *from, size_t n);
/* Writes c's queue now, as the flush does. */
void jl_conn_flush(jl_conn_t *c);

/* Stops reading (input stays in the kernel); resume processes what is
 * already buffered from the loop (not on the caller's stack) and reads on. */
void jl_conn_pause(jl_conn_t *c);
void jl_conn_resume(jl_conn_t *c);

/* Marks c closed now (idempotent); 'why' is logged at debug level. */
void jl_conn_close(jl_conn_t *c, const char *why);
/* Stops reading; closes once everything queued has been written. */
void jl_conn_close_after_flush(jl_conn_t *c);

/* "ip:port" (or the unix socket) of the peer / of the local end into buf. */
void jl_conn_peer(const jl_conn_t *c, char *buf, size_t len);
void jl_conn_local(const jl_conn_t *c, char *buf, size_t len);
/* 1 when the peer's (local: the local end's) "ip:port" is want[0..len)
 * exactly (CLIENT KILL ADDR / LADDR). */
int jl_conn_addr_is(const jl_conn_t *c, int local, const char *want, size_t len);

#endif
