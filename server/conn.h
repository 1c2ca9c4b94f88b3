/* conn.h -- one client socket, whatever protocol it speaks.
 *
 * The transport shared by the RESP and HTTP sides: the fd, its read and
 * write watchers (embedded, per libev's manual), the input buffer (allocated
 * only while it holds bytes, so an idle connection costs no buffer), and the
 * output queue. A protocol embeds jl_conn_t as the first member of its own
 * session struct and supplies jl_conn_ops_t.
 *
 * Writes are never made on the spot: jl_conn_push / jl_conn_append queue
 * bytes and mark the connection pending; the server flushes every pending
 * connection once per loop iteration (one writev each), before it sleeps.
 *
 * Closing is deferred: jl_conn_close only marks the connection, stops its
 * watchers and queues it; the server frees it before the next sleep, after
 * the current callback (perhaps a publish walking subscribers) has returned.
 * So any code may close any connection at any time, and a closed
 * connection's memory stays valid until the loop is idle again. */
#ifndef JL_CONN_H
#define JL_CONN_H

#include "buf.h"
#include "outq.h"
#include "util.h"

#include <ev.h>
#include <stdint.h>

typedef struct jl_server jl_server_t;
typedef struct jl_conn jl_conn_t;

typedef enum { JL_CONN_RESP, JL_CONN_HTTP } jl_conn_kind_t;

typedef struct jl_conn_ops {
    /* New bytes were appended to c->in; consume what was used with
     * jl_buf_consume. May close the connection. */
    void (*on_input)(jl_conn_t *c);
    /* Optional: the output queue was just written out completely. */
    void (*on_drained)(jl_conn_t *c);
    /* The server is shutting down: say goodbye and close (usually with
     * jl_conn_close_after_flush). */
    void (*on_shutdown)(jl_conn_t *c);
    /* Once per second from the server's cron, with the loop's time:
     * protocol timeouts. May close the connection. Optional. */
    void (*on_cron)(jl_conn_t *c, double now);
    /* Releases the protocol's state (subscriptions included) and frees the
     * session struct. Called once, from the deferred free, after the fd was
     * closed and the output queue cleared. */
    void (*on_free)(jl_conn_t *c);
} jl_conn_ops_t;

struct jl_conn {
    jl_server_t *srv;
    const jl_conn_ops_t *ops;
    ev_io rio, wio;
    int fd;
    uint8_t kind;               /* jl_conn_kind_t */
    uint8_t closing;            /* jl_conn_close was called */
    uint8_t close_after_flush;  /* stop reading; close once output drained */
    uint8_t unix_socket;        /* accepted on a unix socket listener */
    uint64_t id;
    jl_buf_t in;
    jl_outq_t out;
    jl_list_t all;              /* srv->conns */
    jl_list_t pending;          /* srv->pending: has output to flush */
    double created;
    double last_active;         /* last input */
    double obuf_soft_since;     /* 0, or when output first stayed above the soft limit */
};

/* Sets up c (already allocated inside a session struct) for fd: registers it
 * with the server, starts reading. */
void jl_conn_init(jl_conn_t *c, jl_server_t *srv, const jl_conn_ops_t *ops,
                  jl_conn_kind_t kind, int fd, int unix_socket);

/* Queues a shared frame (takes a reference) / copies private bytes. Both
 * check the output limits and may close the connection (then the bytes are
 * dropped). Nothing is sent before the loop's flush. */
void jl_conn_push(jl_conn_t *c, jl_frame_t *f);
void jl_conn_append(jl_conn_t *c, const void *p, size_t n);

/* Marks c closed now (idempotent); 'why' is logged at debug level. */
void jl_conn_close(jl_conn_t *c, const char *why);
/* Stops reading; closes once everything queued has been written. */
void jl_conn_close_after_flush(jl_conn_t *c);

/* "ip:port" (or the unix socket path) of the peer into buf. */
void jl_conn_peer(const jl_conn_t *c, char *buf, size_t len);

#endif
