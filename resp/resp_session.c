/* resp_session.c -- a RESP client's life: accept, parse, execute, deliver, free.
 *
 * Input is parsed command by command with the resumable parser in resp/;
 * resp_commands.c executes each one and queues its reply, so a pipeline of
 * commands produces one contiguous run of replies and one writev. A client
 * blocked on the relay (its PUBLISH waits for an upstream) stops here; its
 * input is resumed from the loop once the answer came.
 *
 * Deliveries from the registry queue a shared, once-encoded frame (built by
 * the first RESP subscriber that needs that wire form and cached in the
 * jl_msg_t); nothing is copied per subscriber. A delivery to a client whose
 * own command is running or waiting is held back until its reply has been
 * queued (Redis >= 7.2 order). MONITOR lines take the same road: a monitor
 * that runs a command of its own gets that command's reply first, then the
 * line about it, as from Redis. */
#include "resp/resp_session.h"
#include "resp/resp_commands.h"
#include "resp/resp_acl.h"
#include "resp/resp_lifecycle.h"
#include "resp/resp_stream.h"
#include "resp/resp_writer.h"
#include "server/log.h"
#include "server/server.h"

#include <stdlib.h>

static jl_resp_client_t *client_of(jl_conn_t *c)
{
    return JL_CONTAINER_OF(c, jl_resp_client_t, conn);
}

/* Redis closes the connection after a protocol error reply. */
static void protocol_error(jl_resp_client_t *c, const char *err)
{
    char peer[128];
    jl_conn_peer(&c->conn, peer, sizeof peer);
    jl_log_debug("protocol error from client id=%llu %s: %s", (unsigned long long)c->conn.id,
                 peer, err);
    c->end_reason = "protocol error";
    jl_buf_t b = {0};
    jl_resp_errorf(&b, "ERR %s", err);
    jl_conn_append(&c->conn, b.data, b.len);
    jl_buf_free(&b);
    jl_conn_close_after_flush(&c->conn);
}

/* A client waiting in XREAD BLOCK keeps reading (so that a peer that
 * leaves is noticed), but its next command waits in the buffer. */
static int can_run(const jl_resp_client_t *c)
{
    return !c->conn.closing && !c->conn.close_after_flush && !(c->flags & JL_RESP_BLOCKED) &&
           !jl_resp_stream_blocked(c);
}

static void client_on_input(jl_conn_t *conn)
{
    jl_resp_client_t *c = client_of(conn);
    size_t limit = c->resp->srv->cfg->query_buffer_limit;
    size_t off = 0;
    while (off < conn->in.len && can_run(c)) {
        jl_resp_cmd_t cmd;
        size_t used = 0;
        /* Before AUTH, Redis accepts only tiny requests (a password guess
         * needs no more), so an unauthenticated peer cannot make us buffer. */
        c->parser.unauthenticated = !(c->flags & JL_RESP_AUTHED);
        int rc = jl_resp_parse_request(&c->parser, conn->in.data + off, conn->in.len - off,
                                       &cmd, &used);
        if (rc == JL_AGAIN)
            break;
        if (rc < 0) {
            protocol_error(c, c->parser.err);
            break;
        }
        off += used;
        if (cmd.argc == 0)
            continue;
        c->resp->srv->stats.commands_processed++;
        jl_resp_execute(c, cmd.argc, cmd.argv, cmd.argvlen);
        /* Like Redis, a MULTI queue counts against the query buffer limit:
         * queued commands are input the client has not let us finish. */
        if (c->multi_bytes + conn->in.len - off > limit) {
            jl_log_warn("closing client id=%llu: MULTI queue of %zu bytes over the query "
                        "buffer limit", (unsigned long long)conn->id, c->multi_bytes);
            jl_conn_close(conn, "query buffer limit (MULTI)");
            break;
        }
    }
    jl_buf_consume(&conn->in, off);
    jl_resp_parser_trim(&c->parser);
}

/* A client waiting for the upstream's answer to a PUBLISH it sent gets
 * that answer first (publish_done closes it then): the message may well
 * be published, and a client that resends unanswered commands would
 * publish it twice. */
static void client_on_shutdown(jl_conn_t *conn)
{
    if (client_of(conn)->flags & JL_RESP_BLOCKED)
        return;
    jl_conn_close_after_flush(conn);
}

static void client_on_cron(jl_conn_t *conn, double now)
{
    jl_resp_client_t *c = client_of(conn);
    double idle = c->resp->srv->cfg->idle_timeout;
    /* Like Redis's timeout: subscribers and monitors (replicas to Redis)
     * are never idle-closed. */
    if (idle > 0 && jl_resp_client_all_subs(c) == 0 && !(c->flags & JL_RESP_BLOCKED) &&
        !jl_resp_stream_blocked(c) && !jl_monitor_is_on(&c->monitor) &&
        now - conn->last_active > idle)
        jl_conn_close(conn, "idle timeout");
}

static void client_on_close(jl_conn_t *conn, const char *why)
{
    jl_resp_lifecycle_closed(client_of(conn), why);
}

static void client_on_free(jl_conn_t *conn)
{
    jl_resp_client_t *c = client_of(conn);
    jl_registry_t *reg = c->resp->srv->reg;
    jl_resp_forget(c);
    jl_resp_stream_forget(c);
    jl_monitor_remove(&c->resp->srv->monitors, &c->monitor);
    for (int ns = 0; ns < JL_NS_COUNT; ns++)
        jl_registry_unsubscribe_all(reg, &c->sink, (jl_ns_t)ns, NULL, NULL);
    jl_resp_parser_free(&c->parser);
    jl_list_remove(&c->node);
    c->resp->nclients--;
    c->resp->srv->stats.resp_clients--;
    free(c->identity);
    free(c->name);
    free(c->lib_name);
    free(c->lib_ver);
    free(c);
}

static const jl_conn_ops_t client_ops = {
    .on_input = client_on_input,
    .on_close = client_on_close,
    .on_shutdown = client_on_shutdown,
    .on_cron = client_on_cron,
    .on_free = client_on_free,
};

/* ---- delivery ---- */

static jl_frame_t *message_frame(jl_msg_t *msg, int proto)
{
    if (msg->pattern) {
        jl_frame_t **slot = &msg->pframes[proto == 3];
        if (*slot == NULL)
            *slot = jl_resp_message_frame(msg, proto, 1);
        return *slot;
    }
    jl_frame_t **slot = &msg->frames[proto == 3 ? JL_FRAME_RESP3 : JL_FRAME_RESP2];
    if (*slot == NULL)
        *slot = jl_resp_message_frame(msg, proto, 0);
    return *slot;
}

/* Holds f back until the client's reply is queued. Bounded like output: past
 * the hard limit it goes out at once, where the limit then applies. */
static int hold_back(jl_resp_client_t *c, jl_frame_t *f)
{
    size_t hard = c->resp->srv->cfg->obuf_hard;
    if (hard && c->deferred_bytes + f->len > hard)
        return 0;
    c->deferred = jl_realloc(c->deferred, (c->ndeferred + 1) * sizeof *c->deferred);
    c->deferred[c->ndeferred++] = jl_frame_ref(f);
    c->deferred_bytes += f->len;
    return 1;
}

static int client_deliver(jl_sink_t *sink, jl_msg_t *msg)
{
    jl_resp_client_t *c = JL_CONTAINER_OF(sink, jl_resp_client_t, sink);
    jl_frame_t *f = message_frame(msg, c->proto);
    c->delivered++;
    if ((c->flags & (JL_RESP_EXECUTING | JL_RESP_BLOCKED)) && hold_back(c, f))
        return 1;
    jl_conn_push(&c->conn, f);
    return 1;
}

static const jl_sink_ops_t client_sink_ops = {.deliver = client_deliver};

/* A MONITOR line is an ordinary reply to Redis (addReply, not a push), so
 * what silences replies silences it: CLIENT REPLY OFF / SKIP, and a QUIT or
 * protocol error already answered (nothing is added after the last reply). */
static void client_monitor_line(jl_monitor_sink_t *s, jl_frame_t *line)
{
    jl_resp_client_t *c = JL_CONTAINER_OF(s, jl_resp_client_t, monitor);
    if (c->conn.close_after_flush || (c->flags & (JL_RESP_REPLY_OFF | JL_RESP_REPLY_SKIP)))
        return;
    if ((c->flags & (JL_RESP_EXECUTING | JL_RESP_BLOCKED)) && hold_back(c, line))
        return;
    jl_conn_push(&c->conn, line);
}

static const jl_monitor_sink_ops_t client_monitor_ops = {.deliver = client_monitor_line};

/* ---- the RESP side ---- */

void jl_resp_session_login_default(jl_resp_client_t *c)
{
    c->user = jl_acl_find(c->resp->acl, "default", 7);
    if (c->user->nopass && c->user->enabled)
        c->flags |= JL_RESP_AUTHED;
    else
        c->flags &= (uint16_t)~JL_RESP_AUTHED;
}

jl_resp_t *jl_resp_new(jl_server_t *srv, jl_acl_t *acl)
{
    jl_resp_t *resp = jl_calloc(1, sizeof *resp);
    resp->srv = srv;
    resp->acl = acl;
    jl_list_init(&resp->clients);
    jl_list_init(&resp->acl_log);
    jl_resp_stream_init(resp);
    jl_server_on_shutdown_notice(srv, jl_resp_lifecycle_shutdown, resp);
    return resp;
}

void jl_resp_free(jl_resp_t *resp)
{
    if (resp == NULL)
        return;
    jl_server_on_shutdown_notice(resp->srv, NULL, resp);
    jl_resp_stream_fini(resp);
    jl_resp_acl_log_free(resp);
    free(resp);
}

void jl_resp_accept(void *ud, jl_server_t *srv, int fd, int unix_socket, int over_cap,
                    jl_tls_t *tls)
{
    jl_resp_t *resp = ud;
    jl_resp_client_t *c = jl_calloc(1, sizeof *c);
    jl_resp_limits_t limits = {
        .max_bulk = srv->cfg->max_bulk,     /* a bigger message is PUBLISH's to refuse */
        .max_args = srv->cfg->max_args,
        .max_inline = srv->cfg->max_inline,
    };
    jl_resp_parser_init(&c->parser, &limits);
    jl_sink_init(&c->sink, &client_sink_ops);
    jl_monitor_sink_init(&c->monitor, &client_monitor_ops);
    c->resp = resp;
    c->proto = 2;
    jl_resp_session_login_default(c);
    jl_list_push(&resp->clients, &c->node);
    resp->nclients++;
    resp->srv->stats.resp_clients++;
    jl_conn_init(&c->conn, &srv->conns, &client_ops, fd, unix_socket);
    if (tls && jl_conn_start_tls(&c->conn, tls, NULL) < 0)
        return;
    if (!over_cap)
        return;
    static const char err[] = "-ERR max number of clients reached\r\n";
    jl_conn_append(&c->conn, err, sizeof err - 1);
    jl_conn_close_after_flush(&c->conn);
}
