/* conn.c -- the transport under both protocols (see conn.h).
 *
 * Owns the socket's watchers, the input buffer and the output queue; never
 * interprets bytes. Output limits are enforced here, once, for both
 * protocols: like Redis's pub/sub class, a connection whose pending output
 * passes the hard limit, or stays above the soft limit for the configured
 * time, is dropped so that it cannot hold memory or slow anyone else. */
#include "conn.h"
#include "log.h"
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define CONN_READ_CHUNK 16384

/* Where a connection without an input buffer reads: it keeps a buffer only
 * if bytes arrived, so an EOF or an empty wakeup allocates nothing. (Before,
 * every read reserved 16 KiB first: 20,000 subscribers dropping at once
 * allocated 16 KiB each in the same loop iteration, and the heap stayed
 * grown after they were freed.) One loop, one thread: the bytes are copied
 * out before on_input runs, so one static buffer serves every connection. */
static char conn_spare[CONN_READ_CHUNK];

static void conn_read(jl_conn_t *c)
{
    const jl_config_t *cfg = c->srv->cfg;
    char *dst = conn_spare;
    size_t room = sizeof conn_spare;
    if (c->in.cap > 0) {
        if (c->in.cap - c->in.len < CONN_READ_CHUNK / 4)
            jl_buf_reserve(&c->in, CONN_READ_CHUNK);
        dst = c->in.data + c->in.len;
        room = c->in.cap - c->in.len;
    }
    ssize_t n = read(c->fd, dst, room);
    if (n == 0) {
        jl_conn_close(c, "closed by peer");
        return;
    }
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return;
        jl_conn_close(c, strerror(errno));
        return;
    }
    if (dst == conn_spare)
        jl_buf_append(&c->in, conn_spare, (size_t)n);
    else
        c->in.len += (size_t)n;
    c->srv->stats.net_input_bytes += (unsigned long long)n;
    c->last_active = ev_now(c->srv->loop);
    c->ops->on_input(c);
    if (c->closing)
        return;
    if (c->in.len > cfg->query_buffer_limit) {
        char peer[128];
        jl_conn_peer(c, peer, sizeof peer);
        jl_log_warn("closing client %s: query buffer of %zu bytes over the limit of %zu",
                    peer, c->in.len, cfg->query_buffer_limit);
        jl_conn_close(c, "query buffer limit");
        return;
    }
    /* An idle connection keeps no input buffer. */
    if (c->in.len == 0)
        jl_buf_free(&c->in);
}

static void conn_on_readable(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    conn_read(JL_CONTAINER_OF(w, jl_conn_t, rio));
}

static void conn_on_writable(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    jl_conn_t *c = JL_CONTAINER_OF(w, jl_conn_t, wio);
    jl_server_flush_conn(c->srv, c);
}

void jl_conn_init(jl_conn_t *c, jl_server_t *srv, const jl_conn_ops_t *ops,
                  jl_conn_kind_t kind, int fd, int unix_socket)
{
    c->srv = srv;
    c->ops = ops;
    c->fd = fd;
    c->kind = (uint8_t)kind;
    c->unix_socket = (uint8_t)unix_socket;
    c->id = ++srv->next_id;
    c->created = c->last_active = ev_now(srv->loop);
    c->pending.next = c->pending.prev = NULL;
    ev_io_init(&c->rio, conn_on_readable, fd, EV_READ);
    ev_io_init(&c->wio, conn_on_writable, fd, EV_WRITE);
    ev_io_start(srv->loop, &c->rio);
    jl_server_conn_added(srv, c);
}

/* Flush order. srv->pending is flushed front to back. Connections that got
 * a reply (jl_conn_append: a publisher's ack, above all) are kept in a front
 * segment, in the order they were marked; connections that only got fan-out
 * (jl_conn_push) go to the back. So a publisher hears back before the
 * subscribers its publish just filled are written, as with Redis: it sends
 * its next requests while the fan-out is still going out, and the next read
 * finds a whole window of them -- bigger batches, fewer writev calls per
 * event, and a loop that never sits idle waiting for a publisher that has
 * not yet been answered. Order across connections changes nothing else:
 * each connection's own bytes stay in order.
 *
 * reply_last is the last connection of the front segment. It goes stale
 * when it is flushed (unlinked: the next reply starts a new segment at the
 * front), when it is re-marked by a push (cleared), or when it is closed
 * (cleared, before its memory can be freed). If it is still waiting in the
 * flush loop's own list, a reply inserted after it is flushed in that same
 * pass, which is no worse. */
static jl_conn_t *reply_last;

static void mark_pending(jl_conn_t *c)
{
    if (jl_list_linked(&c->pending))
        return;
    jl_list_push(&c->srv->pending, &c->pending);
    if (c == reply_last)
        reply_last = NULL;
}

static void mark_pending_reply(jl_conn_t *c)
{
    if (jl_list_linked(&c->pending))
        return;
    if (reply_last != NULL && reply_last->srv == c->srv && jl_list_linked(&reply_last->pending))
        jl_list_push(reply_last->pending.next, &c->pending);   /* after reply_last */
    else
        jl_list_push(c->srv->pending.next, &c->pending);      /* at the front */
    reply_last = c;
}

/* Applies the output-buffer limits after something was queued. */
static void check_limits(jl_conn_t *c)
{
    const jl_config_t *cfg = c->srv->cfg;
    size_t bytes = c->out.bytes;
    const char *why = NULL;
    if (cfg->obuf_hard && bytes > cfg->obuf_hard) {
        why = "hard";
    } else if (cfg->obuf_soft && bytes > cfg->obuf_soft) {
        double now = ev_now(c->srv->loop);
        if (c->obuf_soft_since == 0)
            c->obuf_soft_since = now;
        else if (now - c->obuf_soft_since >= cfg->obuf_soft_seconds)
            why = "soft";
    } else {
        c->obuf_soft_since = 0;
    }
    if (why == NULL)
        return;
    char peer[128];
    jl_conn_peer(c, peer, sizeof peer);
    jl_log_warn("closing client id=%llu %s: output buffer of %zu bytes over the %s limit",
                (unsigned long long)c->id, peer, bytes, why);
    c->srv->stats.obuf_disconnects++;
    jl_conn_close(c, "output buffer limit");
}

void jl_conn_push(jl_conn_t *c, jl_frame_t *f)
{
    if (c->closing)
        return;
    jl_outq_push(&c->out, f);
    mark_pending(c);
    check_limits(c);
}

void jl_conn_append(jl_conn_t *c, const void *p, size_t n)
{
    if (c->closing || n == 0)
        return;
    jl_outq_append(&c->out, p, n);
    mark_pending_reply(c);
    check_limits(c);
}

void jl_conn_close(jl_conn_t *c, const char *why)
{
    if (c->closing)
        return;
    c->closing = 1;
    ev_io_stop(c->srv->loop, &c->rio);
    ev_io_stop(c->srv->loop, &c->wio);
    jl_list_remove(&c->pending);
    if (c == reply_last)
        reply_last = NULL;
    jl_log_debug("conn %llu closing: %s", (unsigned long long)c->id, why);
    jl_server_conn_closed(c->srv, c);
}

void jl_conn_close_after_flush(jl_conn_t *c)
{
    if (c->closing)
        return;
    c->close_after_flush = 1;
    ev_io_stop(c->srv->loop, &c->rio);
    if (jl_outq_empty(&c->out))
        jl_conn_close(c, "done");
    else
        mark_pending(c);
}

void jl_conn_peer(const jl_conn_t *c, char *buf, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (c->unix_socket) {
        snprintf(buf, len, "/unix:%d", c->fd);
        return;
    }
    if (getpeername(c->fd, (struct sockaddr *)&ss, &sl) < 0) {
        snprintf(buf, len, "?:0");
        return;
    }
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        port = ntohs(in->sin_port);
    } else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        port = ntohs(in6->sin6_port);
    }
    snprintf(buf, len, "%s:%d", host, port);
}
