/* server.c -- the loop, the listeners, and the loop's deferred work.
 *
 * Everything runs on one libev loop. The deferred work of the connection
 * set (conn.c: flush pending connections with one writev each, then free
 * the closed ones) runs from an ev_prepare watcher, i.e. once per iteration
 * just before the loop polls (Redis's beforeSleep). One iteration writes
 * one bounded slice; while work is left an ev_idle watcher keeps the poll
 * from sleeping, so the loop reads whatever arrived and the next prepare
 * writes the next slice. A big fan-out thus never holds other clients for
 * longer than a slice, and what they publish meanwhile joins the queues
 * still waiting, so under load many messages leave in one syscall. A
 * one-second cron runs protocol timeouts and the shutdown deadline.
 *
 * The server knows no protocol: each listener carries the accept function
 * it was opened with, and publishes go through srv->relay. */
#include "server/server.h"
#include "server/addr.h"
#include "server/log.h"
#include "server/notify.h"
#include "server/rand.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* fds kept beside client connections: stdio, listeners, the reserve fd,
 * the upstream, and room for over-the-cap sockets we accept only to refuse. */
#define FD_HEADROOM 64
#define ACCEPTS_PER_EVENT 256

struct jl_listener {
    ev_io io;
    jl_server_t *srv;
    const char *what;   /* "RESP", "SSE": for logs */
    int fd;
    int unix_socket;
    jl_accept_fn accept;
    void *ud;
    char *path;         /* unix socket path, unlinked on exit */
    char key[300];      /* "tcp ADDR PORT" / "unix PATH" as configured: a restart's match */
    jl_tls_t *tls;      /* accepted connections speak TLS with this context; NULL: plain */
};

/* ---- the loop's hooks ---- */

/* The poll returned: the loop is busy from here until the next poll. */
static void on_check(struct ev_loop *loop, ev_check *w, int revents)
{
    (void)loop;
    (void)revents;
    jl_server_t *srv = JL_CONTAINER_OF(w, jl_server_t, busy_watcher);
    srv->busy_since = jl_histo_clock();
}

static void on_prepare(struct ev_loop *loop, ev_prepare *w, int revents)
{
    (void)revents;
    jl_server_t *srv = JL_CONTAINER_OF(w, jl_server_t, flush_watcher);
    /* Lifecycle events queued since the last pass, before the flush that
     * writes them out (lifecycle.h). */
    jl_lifecycle_flush(srv);
    /* More work: an active idle watcher makes this iteration's poll return
     * at once, after which the next prepare writes the next slice. (Feeding
     * the prepare event instead would run it again before the poll.) Events
     * queued by the flush itself (a write error ending a stream) count. */
    if (jl_conn_set_run(&srv->conns) || srv->lifecycle.npending > 0)
        ev_idle_start(loop, &srv->flush_resume);
    else
        ev_idle_stop(loop, &srv->flush_resume);
    if (srv->shutting_down && jl_list_empty(&srv->conns.all))
        ev_break(loop, EVBREAK_ALL);
    /* How long input that arrived during this iteration waited, at most,
     * before the loop could read it: the figure flush slices bound. */
    if (srv->busy_since > 0)
        jl_histo_observe(&srv->stats.loop_busy, jl_histo_clock() - srv->busy_since);
    srv->busy_since = 0;
}

/* Only there to keep the poll from sleeping while slices are left. */
static void on_flush_resume(struct ev_loop *loop, ev_idle *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
}

/* The deadline: outgoing links first, so that whoever waits on them (a
 * publisher waiting for the upstream) is answered with an error; then
 * every client, after one last attempt to write what it was answered. */
static void shutdown_expired(jl_server_t *srv)
{
    jl_log_warn("shutdown timeout: closing %zu connections that did not finish",
                srv->conns.accepted);
    JL_LIST_FOREACH_SAFE(&srv->conns.all, it, tmp) {
        jl_conn_t *c = JL_CONTAINER_OF(it, jl_conn_t, all);
        if (c->outgoing)
            jl_conn_close(c, "shutdown timeout");
    }
    JL_LIST_FOREACH_SAFE(&srv->conns.all, it, tmp) {
        jl_conn_t *c = JL_CONTAINER_OF(it, jl_conn_t, all);
        jl_conn_flush(c);
        jl_conn_close(c, "shutdown timeout");
    }
}

static void on_cron(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    jl_server_t *srv = JL_CONTAINER_OF(w, jl_server_t, cron);
    double now = ev_now(loop);
    JL_LIST_FOREACH_SAFE(&srv->conns.all, it, tmp) {
        jl_conn_t *c = JL_CONTAINER_OF(it, jl_conn_t, all);
        if (c->ops->on_cron)
            c->ops->on_cron(c, now);
    }
    jl_hist_expire(srv->hist);
    if (srv->shutting_down && now >= srv->shutdown_deadline)
        shutdown_expired(srv);
}

/* ---- accepting ---- */

static void listeners_set(jl_server_t *srv, int on)
{
    for (size_t i = 0; i < srv->nlisteners; i++) {
        if (on)
            ev_io_start(srv->loop, &srv->listeners[i]->io);
        else
            ev_io_stop(srv->loop, &srv->listeners[i]->io);
    }
}

static void on_accept_backoff(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    jl_server_t *srv = JL_CONTAINER_OF(w, jl_server_t, accept_backoff);
    if (srv->reserve_fd < 0)
        srv->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (!srv->shutting_down)
        listeners_set(srv, 1);
}

/* Out of file descriptors: the pending connection would make the listener
 * readable forever (100% CPU). Spend the reserve fd to accept and close one
 * socket, so that client learns at once, then stop listening for a moment. */
static void accept_emfile(jl_server_t *srv, jl_listener_t *l)
{
    srv->stats.accept_errors++;
    if (srv->reserve_fd >= 0) {
        close(srv->reserve_fd);
        srv->reserve_fd = -1;
        int fd = accept(l->fd, NULL, NULL);
        if (fd >= 0)
            close(fd);
    }
    if (!ev_is_active(&srv->accept_backoff)) {
        jl_log_warn("out of file descriptors (%zu connections open): pausing accept for 0.5 s",
                    srv->conns.accepted);
        listeners_set(srv, 0);
        ev_timer_set(&srv->accept_backoff, 0.5, 0.);
        ev_timer_start(srv->loop, &srv->accept_backoff);
    }
}

/* Over --max-conns: the protocol refuses the client in its own words; the
 * log says so here, for every listener alike. A flood of refusals must not
 * become a flood of lines: one a second at most, counting those it did not
 * log (INFO's rejected_connections counts them all). */
static void log_refused(jl_server_t *srv, const jl_listener_t *l, int fd)
{
    double now = ev_now(srv->loop);
    if (srv->refused_logged_at > 0 && now - srv->refused_logged_at < 1.0) {
        srv->refused_unlogged++;
        return;
    }
    char peer[JL_ADDR_TEXT_MAX] = "unix";
    if (!l->unix_socket)
        jl_addr_peer(fd, peer, sizeof peer);
    if (srv->refused_unlogged > 0)
        jl_log_info("refused %s client %s: --max-conns (%ld) reached; %zu more refused since the "
                    "last such line", l->what, peer, srv->max_conns, srv->refused_unlogged);
    else
        jl_log_info("refused %s client %s: --max-conns (%ld) reached", l->what, peer,
                    srv->max_conns);
    srv->refused_logged_at = now;
    srv->refused_unlogged = 0;
}

static void set_nodelay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    jl_listener_t *l = JL_CONTAINER_OF(w, jl_listener_t, io);
    jl_server_t *srv = l->srv;
    for (int i = 0; i < ACCEPTS_PER_EVENT; i++) {
        int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                accept_emfile(srv, l);
            else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
                     errno != ECONNABORTED)
                jl_log_warn("accept: %s", strerror(errno));
            return;
        }
        if (!l->unix_socket)
            set_nodelay(fd);
        srv->stats.connections_received++;
        int over_cap = (long)srv->conns.accepted >= srv->max_conns;
        if (over_cap) {
            srv->stats.rejected_connections++;
            log_refused(srv, l, fd);
        }
        l->accept(l->ud, srv, fd, l->unix_socket, over_cap, l->tls);
    }
}

static int listener_add(jl_server_t *srv, const char *what, int fd, int unix_socket,
                        const char *path, const char *key, jl_tls_t *tls, jl_accept_fn accept,
                        void *ud)
{
    if (srv->nlisteners == JL_MAX_LISTENERS) {
        jl_log_error("too many listeners");
        close(fd);
        return -1;
    }
    jl_listener_t *l = jl_calloc(1, sizeof *l);
    l->srv = srv;
    l->what = what;
    l->fd = fd;
    l->unix_socket = unix_socket;
    l->accept = accept;
    l->ud = ud;
    l->path = path ? jl_strndup(path, strlen(path)) : NULL;
    snprintf(l->key, sizeof l->key, "%s", key);
    l->tls = tls;
    ev_io_init(&l->io, on_accept, fd, EV_READ);
    ev_io_start(srv->loop, &l->io);
    srv->listeners[srv->nlisteners++] = l;
    return JL_OK;
}

static int bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
        return -1;
    return jl_addr_port((struct sockaddr *)&ss);
}

/* ---- listeners passed on by a restart ---- */

/* JUGGLITE_INHERIT_LISTENERS, set by the process this one replaces: lines
 * of "KEY=FD", KEY as jl_listener_t's. Read once, at jl_server_new. */
static void inherit_parse(jl_server_t *srv)
{
    const char *env = getenv(JL_INHERIT_LISTENERS_ENV);
    while (env && *env && srv->ninherited < JL_MAX_LISTENERS) {
        size_t len = strcspn(env, "\n");
        const char *eq = memrchr(env, '=', len);
        if (eq && (size_t)(eq - env) < sizeof srv->inherited[0].key) {
            jl_inherited_t *in = &srv->inherited[srv->ninherited];
            memcpy(in->key, env, (size_t)(eq - env));
            in->key[eq - env] = '\0';
            in->fd = atoi(eq + 1);
            if (in->fd > 2 && fcntl(in->fd, F_SETFD, FD_CLOEXEC) == 0)
                srv->ninherited++;
        }
        env += len + (env[len] == '\n');
    }
    unsetenv(JL_INHERIT_LISTENERS_ENV);
}

/* The inherited socket for key (now ours), or -1: bind a new one. */
static int inherit_take(jl_server_t *srv, const char *key)
{
    for (size_t i = 0; i < srv->ninherited; i++) {
        jl_inherited_t *in = &srv->inherited[i];
        if (in->fd >= 0 && strcmp(in->key, key) == 0) {
            int fd = in->fd;
            in->fd = -1;
            return fd;
        }
    }
    return -1;
}

/* Inherited sockets no listener of this configuration took. */
static void inherit_close_rest(jl_server_t *srv)
{
    for (size_t i = 0; i < srv->ninherited; i++) {
        if (srv->inherited[i].fd < 0)
            continue;
        jl_log_info("restart: the inherited listener %s is not in this configuration: closed",
                    srv->inherited[i].key);
        close(srv->inherited[i].fd);
        srv->inherited[i].fd = -1;
    }
}

int jl_server_listener_count(const jl_server_t *srv)
{
    return (int)srv->nlisteners;
}

int jl_server_listener_fd(const jl_server_t *srv, size_t i, const char **key)
{
    *key = srv->listeners[i]->key;
    return srv->listeners[i]->fd;
}

void jl_server_hold(jl_server_t *srv, int on)
{
    listeners_set(srv, !on);
    jl_conn_set_hold(&srv->conns, on);
}

/* ---- opening listeners ---- */

static int listen_tcp_new(jl_server_t *srv, const char *what, const char *addr, int port)
{
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    int rc = getaddrinfo(addr, portstr, &hints, &res);
    if (rc != 0) {
        jl_log_error("%s listener: cannot resolve %s: %s", what, addr, gai_strerror(rc));
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) < 0 ||
        listen(fd, srv->cfg->tcp_backlog) < 0) {
        jl_log_error("%s listener: cannot listen on %s:%d: %s", what, addr, port, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    return fd;
}

int jl_server_listen_tcp(jl_server_t *srv, const char *what, const char *addr, int port,
                         jl_tls_t *tls, jl_accept_fn accept, void *ud)
{
    char key[300];
    snprintf(key, sizeof key, "tcp %s %d", addr, port);
    int fd = inherit_take(srv, key);
    int inherited = fd >= 0;
    if (fd < 0 && (fd = listen_tcp_new(srv, what, addr, port)) < 0)
        return -1;
    if (listener_add(srv, what, fd, 0, NULL, key, tls, accept, ud) < 0)
        return -1;
    jl_log_info("%s listening on %s:%d%s", what, addr, bound_port(fd),
                inherited ? " (inherited)" : "");
    return JL_OK;
}

static int listen_unix_new(jl_server_t *srv, const char *what, const char *path)
{
    struct sockaddr_un sun = {0};
    sun.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sun.sun_path) {
        jl_log_error("%s listener: socket path too long: %s", what, path);
        return -1;
    }
    strcpy(sun.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    unlink(path);   /* a stale socket from an earlier run */
    if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof sun) < 0 ||
        listen(fd, srv->cfg->tcp_backlog) < 0) {
        jl_log_error("%s listener: cannot listen on %s: %s", what, path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    chmod(path, 0777 & ~(mode_t)umask(0));
    return fd;
}

int jl_server_listen_unix(jl_server_t *srv, const char *what, const char *path,
                          jl_accept_fn accept, void *ud)
{
    char key[300];
    snprintf(key, sizeof key, "unix %s", path);
    int fd = inherit_take(srv, key);
    int inherited = fd >= 0;
    if (fd < 0 && (fd = listen_unix_new(srv, what, path)) < 0)
        return -1;
    if (listener_add(srv, what, fd, 1, path, key, NULL, accept, ud) < 0)
        return -1;
    jl_log_info("%s listening on unix:%s%s", what, path, inherited ? " (inherited)" : "");
    return JL_OK;
}

/* ---- process limits and signals ---- */

/* Makes sure max_conns sockets fit under RLIMIT_NOFILE, raising the soft
 * limit if needed; if the hard limit is lower, caps max_conns and says so. */
static void fit_fd_limit(jl_server_t *srv)
{
    struct rlimit rl;
    srv->max_conns = srv->cfg->max_conns;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return;
    rlim_t need = (rlim_t)srv->max_conns + FD_HEADROOM;
    if (rl.rlim_cur >= need)
        return;
    rlim_t want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ? need : rl.rlim_max;
    struct rlimit raised = {want, rl.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
        rl.rlim_cur = want;
    if (rl.rlim_cur >= need)
        return;
    long capped = rl.rlim_cur > FD_HEADROOM ? (long)(rl.rlim_cur - FD_HEADROOM) : 1;
    jl_log_warn("--max-conns %ld capped to %ld: the open-file limit (RLIMIT_NOFILE) is %llu "
                "(hard limit %llu) and cannot be raised; raise it (ulimit -n, systemd "
                "LimitNOFILE=) or run more processes",
                srv->max_conns, capped, (unsigned long long)rl.rlim_cur,
                (unsigned long long)rl.rlim_max);
    srv->max_conns = capped;
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)loop;
    (void)revents;
    jl_server_t *srv = w->data;
    jl_log_info("received %s, shutting down", w->signum == SIGTERM ? "SIGTERM" : "SIGINT");
    jl_server_shutdown(srv);
}

void jl_server_on_shutdown_notice(jl_server_t *srv, void (*fn)(void *ud), void *ud)
{
    for (size_t i = 0; i < JL_MAX_SHUTDOWN_NOTICES; i++) {
        jl_shutdown_notice_t *n = &srv->notices[i];
        if (fn == NULL && n->ud == ud) {
            n->fn = NULL;
            n->ud = NULL;
        } else if (fn != NULL && n->fn == NULL) {
            n->fn = fn;
            n->ud = ud;
            return;
        }
    }
}

void jl_server_shutdown(jl_server_t *srv)
{
    if (srv->shutting_down)
        return;
    srv->shutting_down = 1;
    /* systemd: stopping on our own (a SIGTERM, not a crash). Not after a
     * hand-over: the service goes on, in the process that took over. */
    if (!srv->handed_over)
        (void)jl_notify("STOPPING=1");
    srv->shutdown_deadline = ev_now(srv->loop) + srv->cfg->shutdown_timeout;
    listeners_set(srv, 0);
    ev_timer_stop(srv->loop, &srv->accept_backoff);
    for (size_t i = 0; i < JL_MAX_SHUTDOWN_NOTICES; i++)
        if (srv->notices[i].fn)
            srv->notices[i].fn(srv->notices[i].ud);
    jl_lifecycle_flush(srv);
    JL_LIST_FOREACH_SAFE(&srv->conns.all, it, tmp) {
        jl_conn_t *c = JL_CONTAINER_OF(it, jl_conn_t, all);
        if (c->ops->on_shutdown)
            c->ops->on_shutdown(c);
    }
    /* After the walk: a relay may close connections of its own. */
    jl_relay_shutdown(srv->relay);
    /* The cron enforces the deadline; make it tick often enough. */
    ev_timer_set(&srv->cron, 0.1, 0.1);
    ev_timer_again(srv->loop, &srv->cron);
    ev_feed_event(srv->loop, &srv->flush_watcher, EV_PREPARE);
}

static void make_run_id(char out[41])
{
    unsigned char raw[20];
    jl_random_bytes(raw, sizeof raw);
    jl_hex_encode(raw, sizeof raw, out);
    out[40] = '\0';
}

/* ---- lifecycle ---- */

/* Occupancy: "occupied" when a channel, pattern or shard channel gets its
 * first subscriber here, "vacated" when its last leaves (scope "node"); the
 * lifecycle's own names are not reported (a watcher would watch itself). */
static void on_watch(void *ud, jl_ns_t ns, const char *name, size_t len, int added)
{
    jl_server_t *srv = ud;
    if (srv->cfg->lifecycle_events && !jl_lifecycle_reserved(name, len)) {
        jl_lifecycle_occupancy(&srv->lifecycle, srv->run_id, ns, name, len, added, "node");
        /* Alone, this node is the cluster; a bridge's cluster events come
         * from the upstream. */
        if (jl_relay_health(srv->relay) < 0)
            jl_lifecycle_occupancy(&srv->lifecycle, srv->run_id, ns, name, len, added, "cluster");
    }
    if (srv->watch)
        srv->watch(srv->watch_ud, ns, name, len, added);
}

void jl_server_set_watch(jl_server_t *srv, jl_registry_watch_fn fn, void *ud)
{
    srv->watch = fn;
    srv->watch_ud = ud;
}

jl_server_t *jl_server_new(const jl_config_t *cfg)
{
    jl_server_t *srv = jl_calloc(1, sizeof *srv);
    srv->cfg = cfg;
    srv->loop = ev_default_loop(EVFLAG_AUTO);
    srv->reg = jl_registry_new();
    jl_hist_limits_t lim = {.per_channel = cfg->history_size, .channel_bytes = cfg->history_bytes,
                            .max_age = cfg->history_age, .memory = cfg->history_memory};
    srv->hist = jl_hist_new(&lim);
    jl_conn_set_init(&srv->conns, srv->loop, cfg, &srv->stats);
    jl_monitors_init(&srv->monitors);
    jl_relay_local_init(&srv->local_relay, srv->reg, srv->hist, &srv->stats);
    srv->relay = &srv->local_relay;
    srv->start_time = ev_time();
    make_run_id(srv->run_id);
    signal(SIGPIPE, SIG_IGN);
    /* Before any listener is announced: a supervisor may send SIGTERM as
     * soon as it sees "listening", and that must be a clean shutdown. */
    ev_signal_init(&srv->sigterm, on_signal, SIGTERM);
    srv->sigterm.data = srv;
    ev_signal_start(srv->loop, &srv->sigterm);
    ev_signal_init(&srv->sigint, on_signal, SIGINT);
    srv->sigint.data = srv;
    ev_signal_start(srv->loop, &srv->sigint);
    fit_fd_limit(srv);
    inherit_parse(srv);
    jl_lifecycle_init(&srv->lifecycle);
    jl_registry_set_watch(srv->reg, on_watch, srv);
    srv->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

    ev_prepare_init(&srv->flush_watcher, on_prepare);
    ev_prepare_start(srv->loop, &srv->flush_watcher);
    ev_check_init(&srv->busy_watcher, on_check);
    ev_check_start(srv->loop, &srv->busy_watcher);
    ev_idle_init(&srv->flush_resume, on_flush_resume);
    ev_timer_init(&srv->cron, on_cron, 1., 1.);
    ev_timer_start(srv->loop, &srv->cron);
    ev_timer_init(&srv->accept_backoff, on_accept_backoff, 0.5, 0.);
    return srv;
}

void jl_server_set_relay(jl_server_t *srv, jl_relay_t *r)
{
    if (r == NULL)
        r = &srv->local_relay;
    jl_relay_on_ready(r, srv->relay->on_ready, srv->relay->on_gap, srv->relay->ready_ud);
    srv->relay = r;
}

int jl_server_run(jl_server_t *srv)
{
    inherit_close_rest(srv);
    jl_log_info("jugglite %s ready (pid %d, max %ld connections)", JL_VERSION, (int)getpid(),
                srv->max_conns);
    ev_run(srv->loop, 0);
    jl_log_info("bye");
    return 0;
}

void jl_server_close_all(jl_server_t *srv)
{
    jl_conn_set_close_all(&srv->conns, "server exit");
}

void jl_server_free(jl_server_t *srv)
{
    if (srv == NULL)
        return;
    jl_server_close_all(srv);
    for (size_t i = 0; i < srv->nlisteners; i++) {
        jl_listener_t *l = srv->listeners[i];
        ev_io_stop(srv->loop, &l->io);
        close(l->fd);
        if (l->path && !srv->handed_over)   /* else the socket is the new process's */
            unlink(l->path);
        free(l->path);
        free(l);
    }
    if (srv->reserve_fd >= 0)
        close(srv->reserve_fd);
    ev_prepare_stop(srv->loop, &srv->flush_watcher);
    ev_check_stop(srv->loop, &srv->busy_watcher);
    ev_idle_stop(srv->loop, &srv->flush_resume);
    ev_timer_stop(srv->loop, &srv->cron);
    ev_timer_stop(srv->loop, &srv->accept_backoff);
    ev_signal_stop(srv->loop, &srv->sigterm);
    ev_signal_stop(srv->loop, &srv->sigint);
    jl_lifecycle_fini(&srv->lifecycle);
    jl_registry_free(srv->reg);
    jl_hist_free(srv->hist);
    jl_buf_free(&srv->reply);
    ev_loop_destroy(srv->loop);
    free(srv);
}
