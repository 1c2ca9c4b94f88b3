/* server.h -- the process: one libev loop, the listeners, the shared state.
 *
 * jl_server_t is the context every protocol reaches from its connections
 * (jl_server_of). It owns the loop, the listeners, the channel registry, the
 * connection set (conn.h) whose deferred work runs from one ev_prepare
 * watcher just before the loop polls, one slice per iteration (an ev_idle
 * watcher keeps the poll from sleeping while slices are left), the relay
 * publishes go through (relay.h), the MONITOR sinks (monitor.h), the
 * counters, and the reply scratch buffer RESP commands build their replies
 * in.
 *
 * It knows no protocol: a listener hands every accepted socket to the accept
 * function it was opened with (main.c wires the RESP and HTTP ones). */
#ifndef JL_SERVER_H
#define JL_SERVER_H

#include "server/buf.h"
#include "server/config.h"
#include "server/conn.h"
#include "server/history.h"
#include "server/lifecycle.h"
#include "server/monitor.h"
#include "server/registry.h"
#include "server/relay.h"
#include "server/stats.h"
#include "server/tls.h"
#include "server/token.h"
#include "server/util.h"

#include <ev.h>
#include <stdint.h>

typedef struct jl_server jl_server_t;
typedef struct jl_listener jl_listener_t;

/* Takes an accepted, non-blocking socket. over_cap: the server is at
 * --max-conns; the protocol refuses the client in its own words and closes.
 * tls: the listener's TLS context (jl_conn_start_tls), NULL for plain. */
typedef void (*jl_accept_fn)(void *ud, jl_server_t *srv, int fd, int unix_socket, int over_cap,
                             jl_tls_t *tls);

#define JL_MAX_LISTENERS 8

/* The environment variable a restarting process passes its listening
 * sockets in (server/upgrade.h). */
#define JL_INHERIT_LISTENERS_ENV "JUGGLITE_INHERIT_LISTENERS"

/* A listening socket passed on by the process this one replaces, until a
 * listener of the same key takes it (fd -1 then). */
typedef struct jl_inherited {
    char key[300];
    int fd;
} jl_inherited_t;

/* Which SSE streams CLIENT KILL means: every field given must match. */
typedef struct jl_stream_filter {
    uint64_t id;                /* 0: any */
    const char *user;           /* the token's subject; NULL: any */
    size_t user_len;
    const char *addr, *laddr;   /* the peer's / the local "ip:port"; NULL: any */
    size_t addr_len, laddr_len;
} jl_stream_filter_t;

/* Told when a clean shutdown begins (see jl_server_on_shutdown_notice). */
#define JL_MAX_SHUTDOWN_NOTICES 4
typedef struct jl_shutdown_notice {
    void (*fn)(void *ud);
    void *ud;
} jl_shutdown_notice_t;

struct jl_server {
    struct ev_loop *loop;
    const jl_config_t *cfg;
    jl_registry_t *reg;
    jl_hist_t *hist;            /* recent publishes, for streams that resume */
    jl_conn_set_t conns;
    jl_relay_t *relay;          /* where publishes go: &local_relay or a bridge's */
    jl_relay_t local_relay;
    jl_token_keys_t *tokens;    /* --token-key: set and freed by main.c; NULL: no tokens */
    /* Counts (kill: ends) the SSE streams that match f, so that CLIENT
     * KILL reaches browsers too; installed by the HTTP side, NULL without
     * one. */
    size_t (*match_streams)(void *ud, const jl_stream_filter_t *f, int kill);
    /* Appends one CLIENT LIST line per SSE stream (ids[0..nids): only
     * those; nids 0: all). */
    void (*describe_streams)(void *ud, jl_buf_t *out, const uint64_t *ids, size_t nids);
    void *streams_ud;
    /* A clean shutdown begins, before any connection is told: each side's
     * lifecycle events go out while their readers (and the upstream) are
     * still there (jl_server_on_shutdown_notice). */
    jl_shutdown_notice_t notices[JL_MAX_SHUTDOWN_NOTICES];
    jl_monitors_t monitors;     /* who sees every command and HTTP publish (MONITOR) */
    jl_lifecycle_t lifecycle;   /* --lifecycle-events waiting to be published */
    /* The registry's watch is the server's (on_watch in server.c): it tells
     * the lifecycle (occupancy) and then this one (the bridge's). */
    jl_registry_watch_fn watch;
    void *watch_ud;
    jl_buf_t reply;             /* the RESP command being executed builds its reply here */
    long max_conns;             /* cfg->max_conns, capped by RLIMIT_NOFILE */
    jl_listener_t *listeners[JL_MAX_LISTENERS];
    size_t nlisteners;
    jl_inherited_t inherited[JL_MAX_LISTENERS];
    size_t ninherited;
    int handed_over;            /* a new process took the listeners over (upgrade.h) */
    int reserve_fd;             /* spare fd for EMFILE, see server.c */
    double refused_logged_at;   /* when a refusal over --max-conns was last logged; 0: never */
    size_t refused_unlogged;    /* refused since then without a line */
    ev_prepare flush_watcher;
    ev_check busy_watcher;      /* with flush_watcher: the loop's busy time per iteration */
    double busy_since;          /* when this iteration's poll returned; 0: not measured */
    ev_idle flush_resume;       /* active while the flush has slices left */
    ev_timer cron;
    ev_timer accept_backoff;
    ev_signal sigterm, sigint;
    int shutting_down;
    double shutdown_deadline;
    double start_time;
    char run_id[41];
    jl_stats_t stats;
};

/* The server a connection belongs to. */
static inline jl_server_t *jl_server_of(const jl_conn_t *c)
{
    return JL_CONTAINER_OF(c->set, jl_server_t, conns);
}

/* Creates the server for cfg (which must outlive it): the loop, the
 * registry, signal handling, RLIMIT_NOFILE raised to fit --max-conns. No
 * listener yet. Never NULL. */
jl_server_t *jl_server_new(const jl_config_t *cfg);
/* Listens on addr:port (TCP; with tls, every connection speaks TLS) or on
 * a unix socket path; 'what' names the listener in logs ("RESP", "SSE",
 * "SSE/TLS"). tls (borrowed) must outlive the server. Returns JL_OK or -1
 * (logged). */
int jl_server_listen_tcp(jl_server_t *srv, const char *what, const char *addr, int port,
                         jl_tls_t *tls, jl_accept_fn accept, void *ud);
int jl_server_listen_unix(jl_server_t *srv, const char *what, const char *path,
                          jl_accept_fn accept, void *ud);
/* The listeners, for a restart to pass on: listener i's socket, and the key
 * ("tcp ADDR PORT", "unix PATH", as configured) the new process's listener
 * of the same configuration finds it by. jl_server_listen_* take a socket
 * so passed (JL_INHERIT_LISTENERS_ENV) instead of binding a new one. */
int jl_server_listener_count(const jl_server_t *srv);
int jl_server_listener_fd(const jl_server_t *srv, size_t i, const char **key);
/* on: stop accepting and stop reading every accepted connection (see
 * jl_conn_set_hold); off: accept and read again. */
void jl_server_hold(jl_server_t *srv, int on);
/* Runs the loop until a clean shutdown (SIGTERM/SIGINT) completes. */
int jl_server_run(jl_server_t *srv);
/* Closes and frees every connection: before the protocols' own state goes. */
void jl_server_close_all(jl_server_t *srv);
void jl_server_free(jl_server_t *srv);

/* fn(ud) runs when a clean shutdown begins, before any connection hears
 * of it (on_shutdown) and before the lifecycle events queued so far are
 * published: a protocol side announces its clients' departures there.
 * fn NULL removes ud's notice (the side is going). At most
 * JL_MAX_SHUTDOWN_NOTICES. */
void jl_server_on_shutdown_notice(jl_server_t *srv, void (*fn)(void *ud), void *ud);
/* Begins a clean shutdown (as SIGTERM does). */
void jl_server_shutdown(jl_server_t *srv);

/* Who else hears of a name's first subscriber and of its last leaving
 * (the upstream bridge); fn NULL: nobody. */
void jl_server_set_watch(jl_server_t *srv, jl_registry_watch_fn fn, void *ud);

/* Installs r as the relay publishes go through (NULL: the local one). */
void jl_server_set_relay(jl_server_t *srv, jl_relay_t *r);

#endif
