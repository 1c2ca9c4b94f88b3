/* client.c -- a RESP client's life: accept, parse, execute, deliver, free.
 *
 * Input is parsed command by command with the resumable parser in resp/;
 * each command's reply is built in the shared scratch buffer jl_client_reply
 * and copied to the output queue when the command ends, so a pipeline of
 * commands produces one contiguous run of replies and one writev.
 *
 * Deliveries from the registry append a shared, once-encoded frame (built by
 * the first RESP subscriber that needs that wire form and cached in the
 * jl_msg_t) to the queue; nothing is copied per subscriber. */
#include "client.h"
#include "log.h"
#include "server.h"
#include "upstream.h"
#include "../resp/resp_writer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

jl_buf_t jl_client_reply;

static jl_client_t *client_of(jl_conn_t *c) { return (jl_client_t *)c; }

void jl_client_commit_reply(jl_client_t *c)
{
    if (jl_client_reply.len == 0)
        return;
    jl_conn_append(&c->conn, jl_client_reply.data, jl_client_reply.len);
    jl_client_reply.len = 0;
    /* One huge reply must not pin its buffer for the process's lifetime. */
    if (jl_client_reply.cap > 65536)
        jl_buf_free(&jl_client_reply);
}

/* Redis closes the connection after a protocol error reply. */
static void protocol_error(jl_client_t *c, const char *err)
{
    char peer[128];
    jl_conn_peer(&c->conn, peer, sizeof peer);
    jl_log_debug("protocol error from client id=%llu %s: %s", (unsigned long long)c->conn.id,
                 peer, err);
    jl_client_reply.len = 0;
    jl_resp_errorf(&jl_client_reply, "ERR %s", err);
    jl_client_commit_reply(c);
    jl_conn_close_after_flush(&c->conn);
}

static void client_process(jl_client_t *c)
{
    jl_conn_t *conn = &c->conn;
    size_t off = 0;
    while (off < conn->in.len && !conn->closing && !conn->close_after_flush &&
           !(c->flags & JL_CLIENT_BLOCKED)) {
        jl_resp_cmd_t cmd;
        size_t used = 0;
        /* Before AUTH, Redis accepts only tiny requests (a password guess
         * needs no more), so an unauthenticated peer cannot make us buffer. */
        c->parser.unauthenticated = !(c->flags & JL_CLIENT_AUTHED);
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
        conn->srv->stats.commands_processed++;
        jl_client_reply.len = 0;
        jl_commands_execute(c, cmd.argc, cmd.argv, cmd.argvlen);
        jl_client_commit_reply(c);
        /* Like Redis, a MULTI queue counts against the query buffer limit:
         * queued commands are input the client has not let us finish. */
        if (c->multi_bytes + conn->in.len - off > conn->srv->cfg->query_buffer_limit) {
            jl_log_warn("closing client id=%llu: MULTI queue of %zu bytes over the query "
                        "buffer limit", (unsigned long long)conn->id, c->multi_bytes);
            jl_conn_close(conn, "query buffer limit (MULTI)");
            break;
        }
    }
    jl_buf_consume(&conn->in, off);
    jl_resp_parser_trim(&c->parser);
}

static void client_on_input(jl_conn_t *conn) { client_process(client_of(conn)); }

void jl_client_unblock(jl_client_t *c)
{
    c->flags &= (uint16_t)~JL_CLIENT_BLOCKED;
    if (c->conn.closing)
        return;
    ev_io_start(c->conn.srv->loop, &c->conn.rio);
    client_process(c);
    if (!c->conn.closing && c->conn.in.len == 0)
        jl_buf_free(&c->conn.in);
}

static void client_on_shutdown(jl_conn_t *conn)
{
    jl_conn_close_after_flush(conn);
}

static void client_on_cron(jl_conn_t *conn, double now)
{
    jl_client_t *c = client_of(conn);
    double idle = conn->srv->cfg->idle_timeout;
    /* Like Redis's timeout: subscribers are never idle-closed. */
    if (idle > 0 && jl_client_all_subs(c) == 0 && !(c->flags & JL_CLIENT_BLOCKED) &&
        now - conn->last_active > idle)
        jl_conn_close(conn, "idle timeout");
}

void jl_client_discard_multi(jl_client_t *c)
{
    for (size_t i = 0; i < c->nmulti; i++) {
        for (size_t j = 0; j < c->multi[i].argc; j++)
            free(c->multi[i].argv[j]);
        free(c->multi[i].argv);
        free(c->multi[i].argvlen);
    }
    free(c->multi);
    c->multi = NULL;
    c->nmulti = 0;
    c->multi_bytes = 0;
    c->flags &= (uint16_t)~(JL_CLIENT_MULTI | JL_CLIENT_DIRTY_EXEC);
}

static void client_on_free(jl_conn_t *conn)
{
    jl_client_t *c = client_of(conn);
    jl_registry_t *reg = conn->srv->reg;
    /* Gone before the upstream answered its PUBLISH: the reply is dropped. */
    if ((c->flags & JL_CLIENT_BLOCKED) && conn->srv->upstream)
        jl_upstream_forget_client(conn->srv->upstream, c);
    for (int ns = 0; ns < JL_NS_COUNT; ns++)
        jl_registry_unsubscribe_all(reg, &c->sink, (jl_ns_t)ns, NULL, NULL);
    jl_resp_parser_free(&c->parser);
    jl_client_discard_multi(c);
    for (size_t i = 0; i < c->ndeferred; i++)
        jl_frame_unref(c->deferred[i]);
    free(c->deferred);
    free(c->name);
    free(c->lib_name);
    free(c->lib_ver);
    free(c);
}

static const jl_conn_ops_t client_ops = {
    .on_input = client_on_input,
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

static int client_deliver(jl_sink_t *sink, jl_msg_t *msg)
{
    jl_client_t *c = JL_CONTAINER_OF(sink, jl_client_t, sink);
    jl_frame_t *f = message_frame(msg, c->proto);
    if (c->flags & JL_CLIENT_IN_EXEC) {
        /* A push in the middle of EXEC's array would corrupt it (fixed in
         * later Redis the same way): send it after the EXEC reply. */
        c->deferred = jl_realloc(c->deferred, (c->ndeferred + 1) * sizeof *c->deferred);
        c->deferred[c->ndeferred++] = jl_frame_ref(f);
        return 1;
    }
    jl_conn_push(&c->conn, f);
    return 1;
}

static const jl_sink_ops_t client_sink_ops = {.deliver = client_deliver};

/* ---- accept ---- */

void jl_client_accept(jl_server_t *srv, int fd, int unix_socket, int over_cap)
{
    jl_client_t *c = jl_calloc(1, sizeof *c);
    jl_resp_limits_t limits = {
        .max_bulk = srv->cfg->max_message,
        .max_args = srv->cfg->max_args,
        .max_inline = srv->cfg->max_inline,
    };
    jl_resp_parser_init(&c->parser, &limits);
    jl_sink_init(&c->sink, &client_sink_ops);
    c->proto = 2;
    if (srv->cfg->requirepass == NULL)
        c->flags |= JL_CLIENT_AUTHED;
    jl_conn_init(&c->conn, srv, &client_ops, JL_CONN_RESP, fd, unix_socket);
    if (!over_cap)
        return;
    static const char err[] = "-ERR max number of clients reached\r\n";
    jl_conn_append(&c->conn, err, sizeof err - 1);
    jl_conn_close_after_flush(&c->conn);
}

jl_client_t *jl_client_find(jl_server_t *srv, uint64_t id)
{
    JL_LIST_FOREACH(&srv->conns, it) {
        jl_conn_t *conn = JL_CONTAINER_OF(it, jl_conn_t, all);
        if (conn->kind == JL_CONN_RESP && conn->id == id)
            return client_of(conn);
    }
    return NULL;
}

static void local_addr(const jl_conn_t *conn, char *buf, size_t len)
{
    if (conn->unix_socket) {
        snprintf(buf, len, "%s", conn->srv->cfg->resp_socket ? conn->srv->cfg->resp_socket : "");
        return;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char host[64] = "?";
    int port = 0;
    if (getsockname(conn->fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET) {
            inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host, sizeof host);
            port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host, sizeof host);
            port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        }
    }
    snprintf(buf, len, "%s:%d", host, port);
}

void jl_client_describe(jl_client_t *c, jl_buf_t *out)
{
    jl_conn_t *conn = &c->conn;
    double now = ev_now(conn->srv->loop);
    char peer[128], laddr[128], flags[8];
    jl_conn_peer(conn, peer, sizeof peer);
    local_addr(conn, laddr, sizeof laddr);
    char *f = flags;
    if (jl_client_all_subs(c))
        *f++ = 'P';
    if (c->flags & JL_CLIENT_MULTI)
        *f++ = 'x';
    if (conn->unix_socket)
        *f++ = 'U';
    if (f == flags)
        *f++ = 'N';
    *f = '\0';
    jl_buf_printf(out,
                  "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld flags=%s db=%d "
                  "sub=%zu psub=%zu ssub=%zu multi=%lld qbuf=%zu qbuf-free=%zu argv-mem=0 "
                  "multi-mem=0 rbs=0 rbp=0 obl=0 oll=%u omem=%zu tot-mem=%zu events=r%s "
                  "cmd=%s user=default redir=-1 resp=%d lib-name=%s lib-ver=%s\n",
                  (unsigned long long)conn->id, peer, laddr, conn->fd, c->name ? c->name : "",
                  (long long)(now - conn->created), (long long)(now - conn->last_active), flags,
                  c->db, c->sink.nsubs[JL_NS_CHANNEL], c->sink.nsubs[JL_NS_PATTERN],
                  c->sink.nsubs[JL_NS_SHARD],
                  (c->flags & JL_CLIENT_MULTI) ? (long long)c->nmulti : -1LL, conn->in.len,
                  conn->in.cap - conn->in.len, conn->out.count - conn->out.head, conn->out.bytes,
                  sizeof *c + conn->in.cap + conn->out.bytes, jl_outq_empty(&conn->out) ? "" : "w",
                  c->last_cmd ? c->last_cmd : "NULL", c->proto, c->lib_name ? c->lib_name : "",
                  c->lib_ver ? c->lib_ver : "");
}
