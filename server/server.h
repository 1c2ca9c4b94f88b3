/* server.h -- the process: one libev loop, the listeners, the registry.
 *
 * jl_server_t is the shared context every connection points to. It owns the
 * loop, the listeners (TCP and unix, RESP and HTTP), the channel registry,
 * the list of live connections, and the two deferred-work lists that make
 * the loop safe and fast: 'pending' (connections with output, flushed with
 * one writev each just before the loop sleeps) and 'closing' (connections
 * freed at the same point, never on their own call stack). */
#ifndef JL_SERVER_H
#define JL_SERVER_H

#include "config.h"
#include "conn.h"
#include "registry.h"
#include "util.h"

#include <ev.h>
#include <stdint.h>

typedef struct jl_stats {
    unsigned long long connections_received;
    unsigned long long rejected_connections;
    unsigned long long commands_processed;
    unsigned long long pubsub_messages;     /* publishes handled */
    unsigned long long deliveries;          /* frames queued to subscribers */
    unsigned long long net_input_bytes;
    unsigned long long net_output_bytes;
    unsigned long long obuf_disconnects;    /* clients dropped at the output limit */
    unsigned long long sse_connections_received;
    unsigned long long sse_events_sent;
    unsigned long long http_publishes;
    unsigned long long accept_errors;
} jl_stats_t;

typedef struct jl_listener jl_listener_t;
struct jl_http;
struct jl_upstream;

struct jl_server {
    struct ev_loop *loop;
    const jl_config_t *cfg;
    jl_registry_t *reg;
    jl_list_t conns;
    jl_list_t pending;
    jl_list_t closing;
    size_t nconns;              /* live, not yet closing */
    size_t nconns_kind[2];      /* per jl_conn_kind_t */
    long max_conns;             /* cfg->max_conns, capped by RLIMIT_NOFILE */
    uint64_t next_id;
    jl_listener_t *listeners[4];
    size_t nlisteners;
    int reserve_fd;             /* spare fd for EMFILE, see server.c */
    ev_prepare flush_watcher;
    ev_timer cron;
    ev_timer accept_backoff;
    ev_signal sigterm, sigint;
    int shutting_down;
    double shutdown_deadline;
    double start_time;
    char run_id[41];
    jl_stats_t stats;
    struct jl_http *http;           /* http module state */
    struct jl_upstream *upstream;   /* NULL unless --upstream */
};

/* Creates the server for cfg (which must outlive it): raises RLIMIT_NOFILE,
 * binds every listener. Returns NULL after logging why on failure. */
jl_server_t *jl_server_new(const jl_config_t *cfg);
/* Runs the loop until a clean shutdown (SIGTERM/SIGINT) completes. */
int jl_server_run(jl_server_t *srv);
void jl_server_free(jl_server_t *srv);

/* Begins a clean shutdown (as SIGTERM does). */
void jl_server_shutdown(jl_server_t *srv);

/* Delivers payload on chan to this process's subscribers (exact, then
 * matching patterns; shard subscribers for shard = 1). Returns the number of
 * receivers. With an upstream, callers forward instead (upstream.h). */
size_t jl_server_publish_local(jl_server_t *srv, const char *chan, size_t chan_len,
                               const char *payload, size_t len, int shard);

/* Used by conn.c */
void jl_server_conn_added(jl_server_t *srv, jl_conn_t *c);
void jl_server_conn_closed(jl_server_t *srv, jl_conn_t *c);
/* Writes c's queue now; used by the flush and by the write watcher. */
void jl_server_flush_conn(jl_server_t *srv, jl_conn_t *c);

#endif
