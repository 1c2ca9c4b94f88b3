/* client.h -- one RESP client: the Redis-compatible session.
 *
 * A client is a jl_conn_t (transport) plus a jl_sink_t (so the registry can
 * deliver to it) plus Redis session state: protocol version, db, name,
 * MULTI queue, CLIENT REPLY mode, authentication. commands.c holds the
 * command table; this header is what both files and the server share. */
#ifndef JL_CLIENT_H
#define JL_CLIENT_H

#include "buf.h"
#include "conn.h"
#include "registry.h"
#include "../resp/resp_parser.h"

#include <stdint.h>

typedef struct jl_server jl_server_t;

enum {
    JL_CLIENT_MULTI = 1 << 0,        /* between MULTI and EXEC/DISCARD */
    JL_CLIENT_DIRTY_EXEC = 1 << 1,   /* a command failed while queueing: EXEC aborts */
    JL_CLIENT_AUTHED = 1 << 2,
    JL_CLIENT_REPLY_OFF = 1 << 3,
    JL_CLIENT_REPLY_SKIP_NEXT = 1 << 4, /* set by CLIENT REPLY SKIP for the next command */
    JL_CLIENT_REPLY_SKIP = 1 << 5,   /* the current command's reply is skipped */
    JL_CLIENT_IN_EXEC = 1 << 6,
    JL_CLIENT_BLOCKED = 1 << 7,      /* waiting for the upstream's reply; input paused */
};

typedef struct jl_queued_cmd {
    size_t argc;
    char **argv;
    size_t *argvlen;
} jl_queued_cmd_t;

typedef struct jl_client {
    jl_conn_t conn;                 /* first: a jl_conn_t * is a jl_client_t * */
    jl_sink_t sink;
    jl_resp_parser_t parser;
    uint8_t proto;                  /* 2 or 3 */
    uint8_t db;
    uint16_t flags;
    char *name;
    char *lib_name, *lib_ver;
    const char *last_cmd;           /* static name of the last command, for CLIENT LIST */
    jl_queued_cmd_t *multi;         /* MULTI queue */
    size_t nmulti;
    size_t multi_bytes;             /* memory the queue holds, against the query buffer limit */
    jl_frame_t **deferred;          /* pushes to self held back during EXEC */
    size_t ndeferred;
} jl_client_t;

/* Accepts fd as a RESP client. over_cap: refuse it with Redis's
 * max-clients error. */
void jl_client_accept(jl_server_t *srv, int fd, int unix_socket, int over_cap);

/* Executes one command (argv slices valid during the call), appending the
 * reply to the scratch reply buffer. Defined in commands.c. */
void jl_commands_execute(jl_client_t *c, size_t argc, const char **argv, const size_t *argvlen);

/* The reply buffer of the command being executed (shared, single-threaded):
 * handlers append RESP here; the client copies it to its output queue. */
extern jl_buf_t jl_client_reply;

/* Moves what the current command has replied so far to the output queue
 * (before a push, so that order on the wire is the order of events). */
void jl_client_commit_reply(jl_client_t *c);

/* Drops the MULTI queue and leaves MULTI state. */
void jl_client_discard_multi(jl_client_t *c);

/* Resumes a client that was blocked waiting for the upstream. */
void jl_client_unblock(jl_client_t *c);

/* Counts channels + patterns (what subscribe confirmations carry). */
static inline size_t jl_client_subs(const jl_client_t *c)
{
    return c->sink.nsubs[JL_NS_CHANNEL] + c->sink.nsubs[JL_NS_PATTERN];
}
static inline size_t jl_client_all_subs(const jl_client_t *c)
{
    return jl_client_subs(c) + c->sink.nsubs[JL_NS_SHARD];
}

/* Finds a live client by id (CLIENT KILL, upstream replies). */
jl_client_t *jl_client_find(jl_server_t *srv, uint64_t id);

/* Appends one CLIENT LIST line for c (ending in '\n'). */
void jl_client_describe(jl_client_t *c, jl_buf_t *out);

#endif
