/* conn.c -- a connection's whole life (see conn.h): open, read, queue,
 * flush, close, free.
 *
 * Owns the socket's watchers, the input buffer and the output queue; never
 * interprets bytes. Output limits are enforced here, once, for every
 * protocol: like Redis's pub/sub class, an accepted connection whose pending
 * output passes the hard limit, or stays above the soft limit for the
 * configured time, is dropped so that it cannot hold memory or slow anyone
 * else. Outgoing connections (the upstream bridge) are the server's own and
 * have no such limits. */
#include "server/conn.h"
#include "server/addr.h"
#include "server/histogram.h"
#include "server/log.h"

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CONN_READ_CHUNK 16384
#define TLS_WRITE_MAX 16384     /* one full TLS record per SSL_write */

static void conn_destroy(jl_conn_t *c)
{
    jl_list_remove(&c->all);
    if (c->ssl) {
        /* A close_notify if the socket takes it now; never waited for. */
        if (!c->handshaking)
            SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
        ERR_clear_error();
    }
    if (c->fd >= 0)
        close(c->fd);
    jl_outq_clear(&c->out);
    jl_buf_free(&c->in);
    c->ops->on_free(c);
}

/* ---- input ---- */

/* After on_input: the limits on what a peer may leave unparsed. */
static void input_done(jl_conn_t *c)
{
    if (c->closing)
        return;
    size_t limit = c->set->cfg->query_buffer_limit;
    if (!c->outgoing && c->in.len > limit) {
        char peer[128];
        jl_conn_peer(c, peer, sizeof peer);
        jl_log_warn("closing client %s: query buffer of %zu bytes over the limit of %zu", peer,
                    c->in.len, limit);
        jl_conn_close(c, "query buffer limit");
        return;
    }
    /* An idle connection keeps no input buffer. */
    if (c->in.len == 0)
        jl_buf_free(&c->in);
}

/* ---- TLS ---- */

static void tls_failed(jl_conn_t *c, const char *what)
{
    char why[256], msg[400];
    jl_tls_error(why, sizeof why);
    long verify = c->ssl ? SSL_get_verify_result(c->ssl) : X509_V_OK;
    snprintf(msg, sizeof msg, "%s: %s%s%s%s", what, why, verify != X509_V_OK ? " (" : "",
             verify != X509_V_OK ? X509_verify_cert_error_string(verify) : "",
             verify != X509_V_OK ? ")" : "");
    jl_conn_close(c, msg);
}

/* More decrypted input may wait inside OpenSSL, where the socket's
 * readiness cannot tell of it: read it from the loop. */
static void tls_read_pending(jl_conn_t *c)
{
    if (c->ssl && !c->closing && ev_is_active(&c->rio) && SSL_pending(c->ssl) > 0)
        ev_feed_event(c->set->loop, &c->rio, EV_READ);
}

static void tls_handshake(jl_conn_t *c)
{
    ERR_clear_error();
    int rc = SSL_do_handshake(c->ssl);
    if (rc != 1) {
        int e = SSL_get_error(c->ssl, rc);
        if (e == SSL_ERROR_WANT_READ)
            ev_io_stop(c->set->loop, &c->wio);
        else if (e == SSL_ERROR_WANT_WRITE)
            ev_io_start(c->set->loop, &c->wio);
        else
            tls_failed(c, "TLS handshake");
        return;
    }
    c->handshaking = 0;
    ev_io_stop(c->set->loop, &c->wio);
    if (c->outgoing)
        c->ops->on_connected(c);
    if (c->closing)
        return;
    if (!jl_outq_empty(&c->out))
        jl_conn_flush(c);
    tls_read_pending(c);
}

/* SSL_read, answered as read(2) would: > 0, 0 at the end, -1 and errno. */
static ssize_t tls_read(jl_conn_t *c, char *dst, size_t room)
{
    ERR_clear_error();
    int n = SSL_read(c->ssl, dst, room > INT_MAX ? INT_MAX : (int)room);
    if (n > 0)
        return n;
    switch (SSL_get_error(c->ssl, n)) {
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    case SSL_ERROR_WANT_WRITE:
        /* A TLS 1.3 key update to answer: read again once writable. */
        c->tls_read_wants_write = 1;
        ev_io_start(c->set->loop, &c->wio);
        /* fall through */
    case SSL_ERROR_WANT_READ:
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_SYSCALL:
        if (errno == 0)
            return 0;
        return -1;
    default:
        errno = EPROTO;
        return -1;
    }
}

/* The queue through SSL_write, a record at a time. JL_OK: all written;
 * JL_AGAIN: the socket is full; 1: OpenSSL must read first; -errno. */
static int tls_write(jl_conn_t *c)
{
    char scratch[TLS_WRITE_MAX];
    while (!jl_outq_empty(&c->out)) {
        size_t n;
        const void *p = jl_outq_gather(&c->out, scratch, sizeof scratch, &n);
        ERR_clear_error();
        int w = SSL_write(c->ssl, p, (int)n);
        if (w > 0) {
            jl_outq_consume(&c->out, (size_t)w);
            continue;
        }
        switch (SSL_get_error(c->ssl, w)) {
        case SSL_ERROR_WANT_WRITE:
            return JL_AGAIN;
        case SSL_ERROR_WANT_READ:
            c->tls_write_wants_read = 1;
            return 1;
        case SSL_ERROR_SYSCALL:
            return errno ? -errno : -EPIPE;
        default:
            return -EPROTO;
        }
    }
    return JL_OK;
}

int jl_conn_start_tls(jl_conn_t *c, jl_tls_t *tls, const char *host)
{
    c->ssl = jl_tls_ssl_new(tls, c->fd, host);
    if (c->ssl == NULL) {
        tls_failed(c, "TLS");
        return -1;
    }
    c->handshaking = 1;
    return JL_OK;
}

const char *jl_conn_alpn(const jl_conn_t *c, size_t *len)
{
    const unsigned char *p = NULL;
    unsigned int n = 0;
    if (c->ssl && !c->handshaking)
        SSL_get0_alpn_selected(c->ssl, &p, &n);
    *len = n;
    return (const char *)p;
}

/* ---- reading ---- */

/* A connection without an input buffer reads into a stack buffer and keeps
 * a heap buffer only if bytes arrived, so an EOF or an empty wakeup
 * allocates nothing. (Before, every read reserved 16 KiB first: 20,000
 * subscribers dropping at once allocated 16 KiB each in the same loop
 * iteration, and the heap stayed grown after they were freed.) */
static void conn_read(jl_conn_t *c)
{
    if (c->ssl && c->handshaking) {
        tls_handshake(c);
        return;
    }
    if (c->tls_write_wants_read) {
        c->tls_write_wants_read = 0;
        jl_conn_flush(c);
        if (c->closing)
            return;
    }
    char spare[CONN_READ_CHUNK];
    char *dst = spare;
    size_t room = sizeof spare;
    if (c->in.cap > 0) {
        if (c->in.cap - c->in.len < CONN_READ_CHUNK / 4)
            jl_buf_reserve(&c->in, CONN_READ_CHUNK);
        dst = c->in.data + c->in.len;
        room = c->in.cap - c->in.len;
    }
    ssize_t n = c->ssl ? tls_read(c, dst, room) : read(c->fd, dst, room);
    if (n == 0) {
        jl_conn_close(c, "closed by peer");
        return;
    }
    if (n < 0) {
        if (errno == EPROTO && c->ssl)
            tls_failed(c, "TLS");
        else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            jl_conn_close(c, strerror(errno));
        return;
    }
    if (dst == spare)
        jl_buf_append(&c->in, spare, (size_t)n);
    else
        c->in.len += (size_t)n;
    c->set->stats->net_input_bytes += (unsigned long long)n;
    c->last_active = ev_now(c->set->loop);
    c->ops->on_input(c);
    input_done(c);
    tls_read_pending(c);
}

static void conn_on_readable(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    jl_conn_t *c = JL_CONTAINER_OF(w, jl_conn_t, rio);
    if (revents & EV_READ) {
        conn_read(c);
        return;
    }
    /* EV_CUSTOM, fed by jl_conn_resume: input that waited in the buffer. */
    if (!c->closing && !c->paused && !(c->set->held && !c->outgoing) && c->in.len > 0) {
        c->ops->on_input(c);
        input_done(c);
    }
}

/* ---- output ---- */

/* A virtual connection's flush: its transport takes the queue. */
static void flush_virtual(jl_conn_t *c)
{
    c->blocked = (uint8_t)c->transport->take(c);
    if (!c->blocked && c->close_after_flush && !c->closing)
        jl_conn_close(c, "flushed");
}

void jl_conn_flush(jl_conn_t *c)
{
    if (c->transport) {
        if (!c->closing)
            flush_virtual(c);
        return;
    }
    if (c->closing || c->connecting || c->handshaking)
        return;     /* the handshake's end flushes */
    size_t before = c->out.bytes;
    int rc = c->ssl ? tls_write(c) : jl_outq_write(&c->out, c->fd);
    c->set->stats->net_output_bytes += before - c->out.bytes;
    double born = jl_outq_take_born(&c->out);
    if (born > 0)
        jl_histo_observe(&c->set->stats->publish_to_write, jl_histo_clock() - born);
    if (rc < 0) {
        if (rc == -EPROTO && c->ssl)
            tls_failed(c, "TLS write");
        else
            jl_conn_close(c, strerror(-rc));
        return;
    }
    if (rc == JL_AGAIN) {
        ev_io_start(c->set->loop, &c->wio);
        return;
    }
    if (rc == 1) {
        ev_io_stop(c->set->loop, &c->wio);
        return;     /* conn_read flushes once OpenSSL has read */
    }
    ev_io_stop(c->set->loop, &c->wio);
    if (c->ops->on_drained && !c->close_after_flush) {
        c->ops->on_drained(c);
        return;
    }
    if (c->close_after_flush)
        jl_conn_close(c, "flushed");
}

static void connect_done(jl_conn_t *c)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err) {
        jl_conn_close(c, strerror(err));
        return;
    }
    c->connecting = 0;
    ev_io_stop(c->set->loop, &c->wio);
    ev_io_start(c->set->loop, &c->rio);
    if (c->ssl)
        tls_handshake(c);   /* on_connected once it completes */
    else
        c->ops->on_connected(c);
}

static void conn_on_writable(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    jl_conn_t *c = JL_CONTAINER_OF(w, jl_conn_t, wio);
    if (c->connecting) {
        connect_done(c);
        return;
    }
    if (c->handshaking) {
        tls_handshake(c);
        return;
    }
    if (c->tls_read_wants_write) {
        c->tls_read_wants_write = 0;
        conn_read(c);
        if (c->closing)
            return;
    }
    jl_conn_flush(c);
}

/* Flush order. set->pending is flushed front to back. Connections that got
 * a reply (jl_conn_append: a publisher's ack, above all) are kept in a front
 * segment, in the order they were marked; connections that only got fan-out
 * (jl_conn_push) go to the back. So a publisher hears back before the
 * subscribers its publish just filled are written, as with Redis: it sends
 * its next requests while the fan-out is still going out, and the next read
 * finds a whole window of them -- bigger batches, fewer writev calls per
 * event, and a loop that never sits idle waiting for a publisher that has
 * not yet been answered. Order across connections changes nothing else:
 * each connection's own bytes stay in order. A connection already waiting
 * in the fan-out part that gets a reply moves to the reply segment: its
 * reply must not wait behind a slice of someone else's fan-out.
 *
 * set->reply_last is the last connection of the front segment (c->in_reply
 * marks its members): when it leaves the list the one before it, if any,
 * takes its place, so it always points into the list or is NULL.
 *
 * A socket that refused bytes (its write watcher is on) is not marked: the
 * watcher writes everything queued once the peer reads, and a slice would
 * only hear EAGAIN again. */
static int socket_full(const jl_conn_t *c)
{
    return c->blocked || (!c->connecting && ev_is_active(&c->wio));
}

static void mark_pending(jl_conn_t *c)
{
    if (jl_list_linked(&c->pending) || socket_full(c))
        return;
    jl_list_push(&c->set->pending, &c->pending);
}

static void mark_pending_reply(jl_conn_t *c)
{
    jl_conn_set_t *set = c->set;
    if (c->in_reply || socket_full(c))
        return;
    jl_list_remove(&c->pending);    /* out of the fan-out part, if there */
    if (set->reply_last != NULL)
        jl_list_push(set->reply_last->pending.next, &c->pending);   /* after reply_last */
    else
        jl_list_push(set->pending.next, &c->pending);               /* at the front */
    set->reply_last = c;
    c->in_reply = 1;
}

static void unmark_pending(jl_conn_t *c)
{
    jl_conn_set_t *set = c->set;
    if (set->reply_last == c) {
        /* The segment is contiguous from the front: the one before is in it. */
        jl_list_t *prev = c->pending.prev;
        set->reply_last = prev == &set->pending ? NULL : JL_CONTAINER_OF(prev, jl_conn_t, pending);
    }
    c->in_reply = 0;
    jl_list_remove(&c->pending);
}

/* Applies the output-buffer limits after something was queued. */
static void check_limits(jl_conn_t *c)
{
    const jl_config_t *cfg = c->set->cfg;
    size_t bytes = c->out.bytes;
    const char *why = NULL;
    if (c->outgoing)
        return;
    if (cfg->obuf_hard && bytes > cfg->obuf_hard) {
        why = "hard";
    } else if (cfg->obuf_soft && bytes > cfg->obuf_soft) {
        double now = ev_now(c->set->loop);
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
    c->set->stats->obuf_disconnects++;
    jl_conn_close(c, "output buffer limit");
}

void jl_conn_push(jl_conn_t *c, jl_frame_t *f)
{
    if (c->closing)
        return;
    jl_outq_push(&c->out, f);
    c->queued += f->len;
    mark_pending(c);
    check_limits(c);
}

void jl_conn_append(jl_conn_t *c, const void *p, size_t n)
{
    if (c->closing || n == 0)
        return;
    jl_outq_append(&c->out, p, n);
    c->queued += n;
    mark_pending_reply(c);
    check_limits(c);
}

void jl_conn_move(jl_conn_t *c, const void *prefix, size_t plen, jl_outq_t *from, size_t n)
{
    if (c->closing)
        return;
    if (plen)
        jl_outq_append(&c->out, prefix, plen);
    jl_outq_move(&c->out, from, n);
    c->queued += plen + n;
    mark_pending(c);
    check_limits(c);
}

/* ---- the set ---- */

void jl_conn_set_init(jl_conn_set_t *set, struct ev_loop *loop, const jl_config_t *cfg,
                      jl_stats_t *stats)
{
    memset(set, 0, sizeof *set);
    set->loop = loop;
    set->cfg = cfg;
    set->stats = stats;
    jl_list_init(&set->all);
    jl_list_init(&set->pending);
    jl_list_init(&set->closing);
}

/* One slice (see conn.h): the whole reply segment -- what the loop has just
 * read, bounded by the input of one pass -- then at most cfg->flush_slice
 * fan-out connections from the front. Each leaves the list before its
 * writev, so a connection that gets more output during the slice (a flush
 * may close a connection, and its owner may queue output elsewhere) goes
 * to the back and waits its turn: nobody is written twice in a slice while
 * another waits, and a slice always ends. */
static void flush_slice(jl_conn_set_t *set)
{
    size_t budget = set->cfg->flush_slice;
    while (!jl_list_empty(&set->pending)) {
        jl_conn_t *c = JL_CONTAINER_OF(set->pending.next, jl_conn_t, pending);
        if (!c->in_reply) {
            if (budget == 0)
                return;
            budget--;
        }
        unmark_pending(c);
        jl_conn_flush(c);
    }
}

static void free_closed(jl_conn_set_t *set)
{
    while (!jl_list_empty(&set->closing))
        conn_destroy(JL_CONTAINER_OF(set->closing.next, jl_conn_t, all));
}

int jl_conn_set_run(jl_conn_set_t *set)
{
    flush_slice(set);
    free_closed(set);
    return !jl_list_empty(&set->pending) || !jl_list_empty(&set->closing);
}

void jl_conn_set_close_all(jl_conn_set_t *set, const char *why)
{
    JL_LIST_FOREACH_SAFE(&set->all, it, tmp)
        jl_conn_close(JL_CONTAINER_OF(it, jl_conn_t, all), why);
    free_closed(set);
}

/* ---- opening ---- */

static void conn_setup(jl_conn_t *c, jl_conn_set_t *set, const jl_conn_ops_t *ops, int fd)
{
    c->set = set;
    c->ops = ops;
    c->fd = fd;
    c->id = ++set->next_id;
    c->created = c->last_active = ev_now(set->loop);
    c->pending.next = c->pending.prev = NULL;
    c->in_reply = 0;
    ev_io_init(&c->rio, conn_on_readable, fd, EV_READ);
    ev_io_init(&c->wio, conn_on_writable, fd, EV_WRITE);
    jl_list_push(&set->all, &c->all);
}

void jl_conn_init(jl_conn_t *c, jl_conn_set_t *set, const jl_conn_ops_t *ops, int fd,
                  int unix_socket)
{
    conn_setup(c, set, ops, fd);
    c->unix_socket = (uint8_t)unix_socket;
    set->accepted++;
    if (!set->held)
        ev_io_start(set->loop, &c->rio);
}

void jl_conn_init_virtual(jl_conn_t *c, jl_conn_set_t *set, const jl_conn_ops_t *ops,
                          jl_conn_t *parent, const jl_conn_transport_t *t, void *tctx)
{
    conn_setup(c, set, ops, -1);
    c->unix_socket = parent->unix_socket;
    c->parent = parent;
    c->transport = t;
    c->tctx = tctx;
}

void jl_conn_feed(jl_conn_t *c, const void *p, size_t n)
{
    if (c->closing || n == 0)
        return;
    jl_buf_append(&c->in, p, n);
    c->last_active = ev_now(c->set->loop);
    if (c->paused || c->close_after_flush || c->set->held)
        return;
    c->ops->on_input(c);
    input_done(c);
}

int jl_conn_connect(jl_conn_t *c, jl_conn_set_t *set, const jl_conn_ops_t *ops,
                    const struct sockaddr *sa, socklen_t len)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (sa->sa_family != AF_UNIX) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    }
    if (connect(fd, sa, len) < 0 && errno != EINPROGRESS) {
        int err = errno;
        close(fd);
        return -err;
    }
    conn_setup(c, set, ops, fd);
    c->unix_socket = sa->sa_family == AF_UNIX;
    c->outgoing = 1;
    c->connecting = 1;
    /* Connected or not, the answer comes from the write watcher, so that
     * on_connected never runs on the caller's stack. */
    ev_io_start(set->loop, &c->wio);
    return JL_OK;
}

/* ---- pausing ---- */

void jl_conn_pause(jl_conn_t *c)
{
    c->paused = 1;
    ev_io_stop(c->set->loop, &c->rio);
}

/* Reads again, and processes what was buffered, unless something else
 * still keeps c from reading. */
static void read_again(jl_conn_t *c)
{
    if (c->closing || c->close_after_flush || c->connecting || c->paused ||
        (c->set->held && !c->outgoing))
        return;
    if (c->transport) {     /* no socket: only what was fed and left */
        if (c->in.len > 0)
            ev_feed_event(c->set->loop, &c->rio, EV_CUSTOM);
        return;
    }
    ev_io_start(c->set->loop, &c->rio);
    if (c->in.len > 0)
        ev_feed_event(c->set->loop, &c->rio, EV_CUSTOM);
    else
        tls_read_pending(c);
}

void jl_conn_resume(jl_conn_t *c)
{
    c->paused = 0;
    read_again(c);
}

void jl_conn_set_hold(jl_conn_set_t *set, int on)
{
    set->held = on;
    JL_LIST_FOREACH_SAFE(&set->all, it, tmp) {
        jl_conn_t *c = JL_CONTAINER_OF(it, jl_conn_t, all);
        if (c->outgoing)
            continue;
        if (on)
            ev_io_stop(set->loop, &c->rio);
        else
            read_again(c);
    }
}

/* ---- closing ---- */

void jl_conn_close(jl_conn_t *c, const char *why)
{
    if (c->closing)
        return;
    c->closing = 1;
    /* Stopping also clears an event fed by jl_conn_resume. */
    ev_io_stop(c->set->loop, &c->rio);
    ev_io_stop(c->set->loop, &c->wio);
    unmark_pending(c);
    jl_list_remove(&c->all);
    jl_list_push(&c->set->closing, &c->all);
    if (!c->outgoing && !c->transport)
        c->set->accepted--;
    jl_log_debug("conn %llu closing: %s", (unsigned long long)c->id, why);
    if (c->ops->on_close)
        c->ops->on_close(c, why);
    if (c->transport)
        c->transport->closed(c, c->close_after_flush && jl_outq_empty(&c->out));
}

void jl_conn_close_after_flush(jl_conn_t *c)
{
    if (c->closing)
        return;
    c->close_after_flush = 1;
    ev_io_stop(c->set->loop, &c->rio);
    if (jl_outq_empty(&c->out))
        jl_conn_close(c, "done");
    else
        mark_pending(c);
}

/* ---- addresses ---- */

/* The connection whose socket c's addresses are: c, or its parent (a
 * virtual connection); NULL when there is no socket any more. */
static const jl_conn_t *socket_of(const jl_conn_t *c)
{
    if (c->parent)
        c = c->parent;
    return c->fd >= 0 ? c : NULL;
}

void jl_conn_peer(const jl_conn_t *c, char *buf, size_t len)
{
    const jl_conn_t *s = socket_of(c);
    if (s == NULL)
        snprintf(buf, len, "?");    /* a virtual connection whose parent is gone */
    else if (s->unix_socket)
        snprintf(buf, len, "/unix:%d", s->fd);
    else
        jl_addr_peer(s->fd, buf, len);
}

void jl_conn_local(const jl_conn_t *c, char *buf, size_t len)
{
    const jl_conn_t *s = socket_of(c);
    if (s == NULL)
        snprintf(buf, len, "?");
    else
        jl_addr_local(s->fd, buf, len);
}

int jl_conn_addr_is(const jl_conn_t *c, int local, const char *want, size_t len)
{
    char buf[128];
    if (local)
        jl_conn_local(c, buf, sizeof buf);
    else
        jl_conn_peer(c, buf, sizeof buf);
    return strlen(buf) == len && memcmp(buf, want, len) == 0;
}
