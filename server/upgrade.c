/* upgrade.c -- SIGUSR2: a new process takes the ports over (see upgrade.h).
 *
 * Passing the listening sockets, rather than binding the port again with
 * SO_REUSEPORT, means there is never a moment without a listener and no
 * connection lands in a socket that is about to close: the kernel's accept
 * queue is the same one, read first by both processes, then by the new one
 * alone. The history goes through a file because that is what the history
 * already knows how to write and read (--history-file); without that option
 * a private directory under $RUNTIME_DIRECTORY (systemd's) or $TMPDIR holds
 * it for the moment of the hand-over.
 *
 * Everything the child needs (its environment, the listener list) is built
 * before fork(): between fork() and execve() it only clears close-on-exec
 * flags, which is all a child of a possibly multi-threaded process (libcurl
 * resolves names on threads) may safely do. */
#include "server/upgrade.h"
#include "server/history.h"
#include "server/log.h"
#include "server/notify.h"
#include "server/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define CONTROL_ENV "JUGGLITE_INHERIT_CONTROL"
#define HISTORY_ENV "JUGGLITE_INHERIT_HISTORY"

extern char **environ;

struct jl_upgrade {
    jl_server_t *srv;
    char **argv;
    char exe[PATH_MAX];         /* this binary's path, read at start */
    ev_signal sigusr2;
    ev_io ctl;                  /* our end of the control socketpair */
    ev_child child;
    ev_timer deadline;
    pid_t pid;                  /* the new process, until it is reaped; 0: none */
    int fd;                     /* ctl's fd, -1 when closed */
    int held;                   /* the server is held (after 'P') */
    int failed;                 /* given up; waiting only to reap the child */
    char dir[PATH_MAX];         /* the private directory made for the history, or "" */
    char history[PATH_MAX + 16]; /* where the history is passed */
};

/* ---- giving up, and handing over ---- */

static void stop_talking(jl_upgrade_t *u)
{
    struct ev_loop *loop = u->srv->loop;
    ev_io_stop(loop, &u->ctl);
    ev_timer_stop(loop, &u->deadline);
    if (u->fd >= 0)
        close(u->fd);
    u->fd = -1;
}

static void remove_history_dir(jl_upgrade_t *u)
{
    if (u->dir[0] == '\0')
        return;
    unlink(u->history);
    rmdir(u->dir);
    u->dir[0] = '\0';
}

/* The new process is not taking over: this one carries on as before. */
static void give_up(jl_upgrade_t *u, const char *why)
{
    if (u->failed)
        return;
    u->failed = 1;
    stop_talking(u);
    if (u->pid > 0)
        kill(u->pid, SIGKILL);  /* reaped by on_child; harmless if it already exited */
    if (u->held) {
        /* Our history is still in memory; a file left behind would be read
         * by the next start as if it were newer. */
        unlink(u->history);
        jl_server_hold(u->srv, 0);
        u->held = 0;
    }
    remove_history_dir(u);
    jl_log_warn("restart: %s; this process carries on", why);
}

static void hand_over(jl_upgrade_t *u)
{
    jl_server_t *srv = u->srv;
    stop_talking(u);
    remove_history_dir(u);      /* the new process loaded (and removed) the file */
    srv->handed_over = 1;
    char state[32];
    snprintf(state, sizeof state, "MAINPID=%d", (int)u->pid);
    int rc = jl_notify(state);
    if (rc < 0)
        jl_log_warn("NOTIFY_SOCKET: %s not sent: %s", state, strerror(-rc));
    jl_log_info("restart: pid %d took over the listeners; this one drains and exits",
                (int)u->pid);
    /* The child outlives us: it must not be killed or waited for. */
    ev_child_stop(srv->loop, &u->child);
    u->pid = 0;
    jl_server_shutdown(srv);
}

/* 'P': stop everything that could publish, then pass the history on. */
static void prepared(jl_upgrade_t *u)
{
    jl_server_hold(u->srv, 1);
    u->held = 1;
    if (jl_hist_save(u->srv->hist, u->history) < 0) {
        char why[PATH_MAX + 64];
        snprintf(why, sizeof why, "the history cannot be written to %s: %s", u->history,
                 strerror(errno));
        give_up(u, why);
        return;
    }
    if (write(u->fd, "G", 1) != 1)
        give_up(u, "the new process cannot be told to go on");
}

static void on_ctl(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    jl_upgrade_t *u = JL_CONTAINER_OF(w, jl_upgrade_t, ctl);
    char c;
    ssize_t n = read(u->fd, &c, 1);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        /* It is exiting: on_child says why (the deadline, if it does not). */
        ev_io_stop(loop, w);
        return;
    }
    if (c == 'P' && !u->held)
        prepared(u);
    else if (c == 'R' && u->held)
        hand_over(u);
    else
        give_up(u, "the new process said something unexpected");
}

static void on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    jl_upgrade_t *u = JL_CONTAINER_OF(w, jl_upgrade_t, deadline);
    give_up(u, "the new process was not ready in time (killed)");
}

static void on_child(struct ev_loop *loop, ev_child *w, int revents)
{
    (void)revents;
    jl_upgrade_t *u = JL_CONTAINER_OF(w, jl_upgrade_t, child);
    ev_child_stop(loop, w);
    char why[96];
    if (WIFEXITED(w->rstatus))
        snprintf(why, sizeof why, "the new process (pid %d) exited with status %d before it "
                 "was ready", w->rpid, WEXITSTATUS(w->rstatus));
    else
        snprintf(why, sizeof why, "the new process (pid %d) died of signal %d before it was "
                 "ready", w->rpid, WTERMSIG(w->rstatus));
    u->pid = 0;
    give_up(u, why);
    u->failed = 0;              /* a later SIGUSR2 may try again */
}

/* ---- starting the new process ---- */

/* "KEY=FD" lines, one per listener; fds[] gets the sockets. */
static char *listener_env(const jl_server_t *srv, int *fds, size_t *nfds)
{
    jl_buf_t b = {0};
    jl_buf_printf(&b, "%s=", JL_INHERIT_LISTENERS_ENV);
    *nfds = 0;
    for (int i = 0; i < jl_server_listener_count(srv); i++) {
        const char *key;
        int fd = jl_server_listener_fd(srv, (size_t)i, &key);
        jl_buf_printf(&b, "%s%s=%d", i ? "\n" : "", key, fd);
        fds[(*nfds)++] = fd;
    }
    jl_buf_append(&b, "", 1);
    return (char *)b.data;
}

/* This environment without our own variables, plus the three given. */
static char **child_env(char *listeners, char *control, char *history)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = jl_calloc(n + 4, sizeof *env);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "JUGGLITE_INHERIT_", 17) != 0)
            env[k++] = environ[i];
    env[k++] = listeners;
    env[k++] = control;
    env[k++] = history;
    return env;
}

/* Where the history goes: --history-file, or a file in a directory of our
 * own (a fixed name in a shared /tmp could be a planted symlink). */
static int choose_history(jl_upgrade_t *u)
{
    const char *file = u->srv->cfg->history_file;
    u->dir[0] = '\0';
    if (file) {
        snprintf(u->history, sizeof u->history, "%s", file);
        return 0;
    }
    const char *base = getenv("RUNTIME_DIRECTORY");
    if (base == NULL || base[0] == '\0' || strchr(base, ':'))
        base = getenv("TMPDIR");
    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    snprintf(u->dir, sizeof u->dir, "%s/jugglite-restart-XXXXXX", base);
    if (mkdtemp(u->dir) == NULL) {
        jl_log_warn("restart: cannot make a directory in %s for the history: %s", base,
                    strerror(errno));
        u->dir[0] = '\0';
        return -1;
    }
    snprintf(u->history, sizeof u->history, "%s/history", u->dir);
    return 0;
}

static pid_t spawn(jl_upgrade_t *u, int child_fd)
{
    int fds[JL_MAX_LISTENERS];
    size_t nfds;
    char *listeners = listener_env(u->srv, fds, &nfds);
    char control[64], history[PATH_MAX + 48];
    snprintf(control, sizeof control, "%s=%d", CONTROL_ENV, child_fd);
    snprintf(history, sizeof history, "%s=%s", HISTORY_ENV, u->history);
    char **env = child_env(listeners, control, history);
    pid_t pid = fork();
    if (pid == 0) {
        for (size_t i = 0; i < nfds; i++)
            fcntl(fds[i], F_SETFD, 0);
        fcntl(child_fd, F_SETFD, 0);
        execve(u->exe, u->argv, env);
        static const char msg[] = "jugglite: restart: execve failed\n";
        (void)!write(STDERR_FILENO, msg, sizeof msg - 1);
        _exit(127);
    }
    int err = errno;
    free(env);
    free(listeners);
    errno = err;
    return pid;
}

static void start(jl_upgrade_t *u)
{
    jl_server_t *srv = u->srv;
    if (u->pid != 0 || srv->shutting_down || srv->handed_over) {
        jl_log_warn("SIGUSR2: %s; ignored",
                    u->pid ? "a restart is already under way" : "shutting down");
        return;
    }
    int sv[2];
    if (choose_history(u) < 0)
        return;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        jl_log_warn("restart: socketpair: %s", strerror(errno));
        remove_history_dir(u);
        return;
    }
    pid_t pid = spawn(u, sv[1]);
    close(sv[1]);
    if (pid < 0) {
        jl_log_warn("restart: fork: %s", strerror(errno));
        close(sv[0]);
        remove_history_dir(u);
        return;
    }
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    u->fd = sv[0];
    u->pid = pid;
    u->failed = 0;
    ev_io_set(&u->ctl, u->fd, EV_READ);
    ev_io_start(srv->loop, &u->ctl);
    ev_child_set(&u->child, pid, 0);
    ev_child_start(srv->loop, &u->child);
    ev_timer_set(&u->deadline, JL_UPGRADE_TIMEOUT, 0.);
    ev_timer_start(srv->loop, &u->deadline);
    jl_log_info("SIGUSR2: restarting: pid %d starts from %s", (int)pid, u->exe);
}

static void on_sigusr2(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)loop;
    (void)revents;
    start(JL_CONTAINER_OF(w, jl_upgrade_t, sigusr2));
}

/* ---- public API ---- */

jl_upgrade_t *jl_upgrade_new(jl_server_t *srv, char **argv)
{
    jl_upgrade_t *u = jl_calloc(1, sizeof *u);
    u->srv = srv;
    u->argv = argv;
    u->fd = -1;
    ssize_t n = readlink("/proc/self/exe", u->exe, sizeof u->exe - 1);
    u->exe[n > 0 ? n : 0] = '\0';
    ev_signal_init(&u->sigusr2, on_sigusr2, SIGUSR2);
    ev_io_init(&u->ctl, on_ctl, -1, EV_READ);
    ev_child_init(&u->child, on_child, 0, 0);
    ev_init(&u->deadline, on_deadline);
    if (u->exe[0])
        ev_signal_start(srv->loop, &u->sigusr2);
    else
        jl_log_warn("/proc/self/exe unreadable: SIGUSR2 restarts are off");
    return u;
}

void jl_upgrade_free(jl_upgrade_t *u)
{
    if (u == NULL)
        return;
    if (u->pid > 0 && !u->failed)
        give_up(u, "shutting down");
    stop_talking(u);
    ev_child_stop(u->srv->loop, &u->child);
    ev_signal_stop(u->srv->loop, &u->sigusr2);
    remove_history_dir(u);
    free(u);
}

/* ---- the new process's side ---- */

int jl_upgrade_child_begin(char **history)
{
    *history = NULL;
    const char *ctl = getenv(CONTROL_ENV);
    const char *hist = getenv(HISTORY_ENV);
    int fd = ctl ? atoi(ctl) : -1;
    if (fd <= 2 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
        fd = -1;
    if (fd >= 0 && hist && hist[0])
        *history = jl_strndup(hist, strlen(hist));
    unsetenv(CONTROL_ENV);
    unsetenv(HISTORY_ENV);
    return fd;
}

int jl_upgrade_child_prepared(int fd)
{
    if (write(fd, "P", 1) != 1)
        return -1;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int rc;
    do
        rc = poll(&p, 1, (int)(JL_UPGRADE_TIMEOUT * 1000));
    while (rc < 0 && errno == EINTR);
    char c = 0;
    if (rc != 1 || read(fd, &c, 1) != 1 || c != 'G')
        return -1;
    return 0;
}

void jl_upgrade_child_ready(int fd)
{
    if (write(fd, "R", 1) != 1)
        jl_log_warn("restart: the old process is gone; it will not drain");
    close(fd);
}
