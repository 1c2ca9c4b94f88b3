/* resp_client.h -- one RESP client's state, shared by the session and the
 * command table.
 *
 * A client is a jl_conn_t (transport) plus a jl_sink_t (so the registry can
 * deliver to it) plus a jl_monitor_sink_t (linked into srv->monitors while
 * it is in MONITOR mode) plus Redis session state: protocol version, db, name,
 * MULTI queue, CLIENT REPLY mode, authentication, and the pushes held back
 * while its own command runs. resp_session.c owns the client's life (accept,
 * parse, deliver, free); resp_commands.c executes commands on it. Neither
 * calls the other's internals through this header: it only holds types.
 *
 * jl_resp_t is the RESP side's own state, one per server, owned by main.c:
 * the list of clients (CLIENT LIST, CLIENT KILL, INFO), the clients waiting
 * in XREAD BLOCK (resp_stream.c owns those waits) and what the log of
 * refused clients needs, the ACL users (main.c loads them; resp_acl.c
 * changes them) and the ACL LOG. */
#ifndef JL_RESP_CLIENT_H
#define JL_RESP_CLIENT_H

#include "resp/resp_parser.h"
#include "server/conn.h"
#include "server/monitor.h"
#include "server/registry.h"
#include "server/acl.h"

#include <stdint.h>

typedef struct jl_server jl_server_t;

typedef struct jl_resp {
    jl_server_t *srv;
    jl_list_t clients;              /* jl_resp_client_t.node, oldest first */
    size_t nclients;
    jl_list_t xread_waits;          /* clients in XREAD BLOCK, oldest first (resp_stream.c) */
    size_t nblocked;                /* their number (INFO blocked_clients) */
    /* Clients refused over --max-conns are logged once a second at most. */
    jl_acl_t *acl;                  /* the users (owned by main.c) */
    jl_list_t acl_log;              /* struct jl_resp_acl_entry.node, newest first (resp_acl.c) */
    size_t nacl_log;
} jl_resp_t;

enum {
    JL_RESP_MULTI = 1 << 0,         /* between MULTI and EXEC/DISCARD */
    JL_RESP_DIRTY_EXEC = 1 << 1,    /* a command failed while queueing: EXEC aborts */
    JL_RESP_AUTHED = 1 << 2,
    JL_RESP_REPLY_OFF = 1 << 3,
    JL_RESP_REPLY_SKIP_NEXT = 1 << 4, /* set by CLIENT REPLY SKIP for the next command */
    JL_RESP_REPLY_SKIP = 1 << 5,    /* the current command's reply is skipped */
    JL_RESP_IN_EXEC = 1 << 6,
    JL_RESP_BLOCKED = 1 << 7,       /* waiting for the relay's answer; input paused */
    JL_RESP_EXECUTING = 1 << 8,     /* a command runs: pushes to this client wait */
    JL_RESP_WAIT_SILENT = 1 << 9,   /* the awaited answer is not to be sent (CLIENT REPLY) */
    JL_RESP_CLOSE_AFTER_REPLY = 1 << 10, /* closed once this command's reply is queued (ACL) */
};

typedef struct jl_queued_cmd {
    size_t argc;
    char **argv;
    size_t *argvlen;
} jl_queued_cmd_t;

typedef struct jl_resp_client {
    jl_conn_t conn;
    jl_sink_t sink;
    jl_monitor_sink_t monitor;      /* on: in MONITOR mode (Redis's CLIENT_MONITOR) */
    jl_resp_t *resp;
    jl_list_t node;                 /* resp->clients */
    jl_resp_parser_t parser;
    uint8_t proto;                  /* 2 or 3 */
    uint8_t db;
    uint16_t flags;
    jl_acl_user_t *user;            /* who it is (Redis's c->user): "default" until AUTH */
    char *name;
    char *lib_name, *lib_ver;
    const char *last_cmd;           /* static name of the last command, for CLIENT LIST */
    const char *last_parent;        /* its container's ("client" for client|list), or NULL */
    jl_queued_cmd_t *multi;         /* MULTI queue */
    size_t nmulti;
    size_t multi_bytes;             /* memory the queue holds, against the query buffer limit */
    /* Pushes to this client held back while its own command runs or waits
     * for the relay (JL_RESP_EXECUTING, JL_RESP_BLOCKED): Redis >= 7.2 sends
     * a command's reply before the messages it caused. */
    jl_frame_t **deferred;
    size_t ndeferred;
    size_t deferred_bytes;
    struct jl_resp_xwait *xread;    /* waiting in XREAD BLOCK (resp_stream.c), else NULL */
    struct jl_resp_numsub *numsub;  /* waiting for JUGGLITE NUMSUB's nodes, else NULL (owned) */
    /* --lifecycle-events (resp_lifecycle.c): who it is, as its connect
     * said (JSON, owned); NULL: never reported. end_reason: why it ends,
     * when its connection's own words would not say (static). */
    char *identity;
    const char *end_reason;
    uint64_t delivered;             /* messages pushed to it */
} jl_resp_client_t;

/* Channels + patterns (what subscribe confirmations carry). */
static inline size_t jl_resp_client_subs(const jl_resp_client_t *c)
{
    return c->sink.nsubs[JL_NS_CHANNEL] + c->sink.nsubs[JL_NS_PATTERN];
}

static inline size_t jl_resp_client_all_subs(const jl_resp_client_t *c)
{
    return jl_resp_client_subs(c) + c->sink.nsubs[JL_NS_SHARD];
}

#endif
