/* monitor.h -- MONITOR: every command, and every HTTP publish, as one line.
 *
 * Redis's MONITOR streams one status line per executed command to every
 * client that asked for it:
 *
 *     +1700000000.123456 [0 127.0.0.1:50012] "PUBLISH" "news" "hi"\r\n
 *
 * The server owns one jl_monitors_t (srv->monitors): the list of sinks that
 * want those lines. A protocol registers a sink (the RESP side does for each
 * MONITOR client) and feeds what its clients run (the RESP side after each
 * command, the HTTP side after each POST publish). This module knows no
 * protocol: it formats the line once, as Redis does, and hands the same
 * refcounted frame to every sink.
 *
 * Ownership: a sink is embedded in its owner's struct and owned by it; the
 * list only links it. The owner must remove its sink (jl_monitor_remove)
 * before freeing it. Deliveries never free anything: a sink's deliver may
 * close its own connection (closing is deferred, conn.h) and may remove its
 * own sink, nothing else. */
#ifndef JL_MONITOR_H
#define JL_MONITOR_H

#include "server/buf.h"
#include "server/conn.h"
#include "server/msg.h"
#include "server/util.h"

#include <stddef.h>

typedef struct jl_monitor_sink jl_monitor_sink_t;

typedef struct jl_monitor_sink_ops {
    /* One line, framed and ready for the wire (a RESP simple string, the
     * same bytes for RESP2 and RESP3). Takes its own reference if it keeps
     * it (jl_conn_push does); the feeder drops its own afterwards. */
    void (*deliver)(jl_monitor_sink_t *s, jl_frame_t *line);
} jl_monitor_sink_ops_t;

struct jl_monitor_sink {
    const jl_monitor_sink_ops_t *ops;
    jl_list_t node;             /* jl_monitors_t.sinks; unlinked: not monitoring */
};

/* The sinks of one server, in the order they started monitoring. */
typedef struct jl_monitors {
    jl_list_t sinks;
    size_t count;
} jl_monitors_t;

/* Room for any peer text jl_monitor_peer_text writes: "unix:" and a socket
 * path (sun_path holds at most 107 bytes), or a bracketed IPv6 and port. */
#define JL_MONITOR_PEER_MAX 128

void jl_monitors_init(jl_monitors_t *m);
/* A sink that is not monitoring yet. */
void jl_monitor_sink_init(jl_monitor_sink_t *s, const jl_monitor_sink_ops_t *ops);
/* Starts delivering lines to s. Returns JL_OK, or JL_AGAIN if s was already
 * monitoring (nothing changes: Redis ignores a second MONITOR). */
int jl_monitor_add(jl_monitors_t *m, jl_monitor_sink_t *s);
/* Stops delivering to s; a no-op if it was not monitoring. */
void jl_monitor_remove(jl_monitors_t *m, jl_monitor_sink_t *s);
static inline int jl_monitor_is_on(const jl_monitor_sink_t *s) { return jl_list_linked(&s->node); }

/* Feeds one command to every sink: from is the connection that sent it
 * (its peer is the line's "[db peer]"; a unix-socket connection shows as
 * "unix:<unix_path>", the path of the listener it came through, as Redis
 * shows its own unixsocket), argv/lens the arguments as they should appear
 * (already redacted). The time is taken now. Costs one comparison when
 * nobody monitors; the arguments are borrowed for the call only. */
void jl_monitor_feed(jl_monitors_t *m, const jl_conn_t *from, const char *unix_path, int db,
                     size_t argc, const char *const *argv, const size_t *lens);

/* ---- pure formatting (what jl_monitor_feed writes) ---- */

/* Appends p[0..len) quoted as Redis's sdscatrepr does: "..." with \\ \" \n
 * \r \t \a \b escaped, other bytes outside 0x20..0x7e as \xhh (lowercase). */
void jl_monitor_repr(jl_buf_t *out, const char *p, size_t len);
/* Appends one whole line: "+<sec>.<usec, 6 digits> [<db> <peer>] " then the
 * quoted arguments separated by spaces, then CRLF. */
void jl_monitor_format(jl_buf_t *out, long long sec, long usec, int db, const char *peer,
                       size_t argc, const char *const *argv, const size_t *lens);
/* Writes the "peer" of a line into buf[0..len) (NUL-terminated, truncated
 * to fit): "unix:<addr>" for a unix socket (addr: the listener's path);
 * otherwise addr is jl_conn_peer's "ip:port", written as Redis writes a
 * peer: IPv4 as is, IPv6 as "[ip]:port". */
void jl_monitor_peer_text(char *buf, size_t len, int unix_socket, const char *addr);

#endif
