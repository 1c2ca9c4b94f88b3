/* curl_loop.c -- libcurl's multi interface on libev (see curl_loop.h).
 *
 * libcurl says which sockets it wants watched (socket callback) and when
 * it wants to be called back anyway (timer callback); we keep one ev_io
 * per socket and one ev_timer, and hand every event to
 * curl_multi_socket_action, then collect the finished transfers. A
 * transfer's done callback runs from a libev callback, never from inside
 * libcurl's own callbacks. */
#include "http/curl_loop.h"

#include "server/log.h"
#include "server/util.h"

#include <stdlib.h>

struct jl_curl_loop {
    struct ev_loop *loop;
    CURLM *multi;
    ev_timer timer;
    jl_list_t socks;            /* sock_t.node */
};

/* One socket libcurl watches. */
typedef struct {
    ev_io io;
    jl_list_t node;
    jl_curl_loop_t *m;
} sock_t;

static void sock_free(jl_curl_loop_t *m, sock_t *s)
{
    ev_io_stop(m->loop, &s->io);
    jl_list_remove(&s->node);
    free(s);
}

/* What a transfer is for (CURLOPT_PRIVATE). */
typedef struct {
    jl_curl_done_fn done;
    void *ud;
} xfer_t;

static void collect(jl_curl_loop_t *m)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(m->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *easy = msg->easy_handle;
        CURLcode rc = msg->data.result;
        xfer_t *x = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
        curl_multi_remove_handle(m->multi, easy);
        curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
        jl_curl_done_fn done = x ? x->done : NULL;
        void *ud = x ? x->ud : NULL;
        free(x);
        if (done)
            done(ud, easy, rc);
        else
            curl_easy_cleanup(easy);
    }
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    sock_t *s = JL_CONTAINER_OF(w, sock_t, io);
    jl_curl_loop_t *m = s->m;
    int flags = (revents & EV_READ ? CURL_CSELECT_IN : 0) | (revents & EV_WRITE ? CURL_CSELECT_OUT : 0);
    int running;
    curl_multi_socket_action(m->multi, w->fd, flags, &running);
    collect(m);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    jl_curl_loop_t *m = JL_CONTAINER_OF(w, jl_curl_loop_t, timer);
    int running;
    curl_multi_socket_action(m->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    collect(m);
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)easy;
    jl_curl_loop_t *m = userp;
    sock_t *s = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            sock_free(m, s);
            curl_multi_assign(m->multi, fd, NULL);
        }
        return 0;
    }
    int events = (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0);
    if (s == NULL) {
        s = jl_calloc(1, sizeof *s);
        s->m = m;
        jl_list_push(&m->socks, &s->node);
        curl_multi_assign(m->multi, fd, s);
    } else {
        ev_io_stop(m->loop, &s->io);
    }
    ev_io_init(&s->io, on_io, fd, events);
    ev_io_start(m->loop, &s->io);
    return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    jl_curl_loop_t *m = userp;
    ev_timer_stop(m->loop, &m->timer);
    if (timeout_ms < 0)
        return 0;
    /* 0: "as soon as possible", from the loop, not from inside libcurl. */
    ev_timer_set(&m->timer, timeout_ms > 0 ? (double)timeout_ms / 1000.0 : 0.0, 0.);
    ev_timer_start(m->loop, &m->timer);
    return 0;
}

jl_curl_loop_t *jl_curl_loop_new(struct ev_loop *loop)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        jl_log_error("libcurl: global init failed");
        return NULL;
    }
    jl_curl_loop_t *m = jl_calloc(1, sizeof *m);
    m->loop = loop;
    m->multi = curl_multi_init();
    jl_list_init(&m->socks);
    ev_init(&m->timer, on_timer);
    curl_multi_setopt(m->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(m->multi, CURLMOPT_SOCKETDATA, m);
    curl_multi_setopt(m->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(m->multi, CURLMOPT_TIMERDATA, m);
    return m;
}

int jl_curl_loop_add(jl_curl_loop_t *m, CURL *easy, jl_curl_done_fn done, void *ud)
{
    xfer_t *x = jl_calloc(1, sizeof *x);
    x->done = done;
    x->ud = ud;
    curl_easy_setopt(easy, CURLOPT_PRIVATE, (char *)x);
    if (curl_multi_add_handle(m->multi, easy) != CURLM_OK) {
        curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
        free(x);
        return -1;
    }
    return 0;
}

void jl_curl_loop_cancel(jl_curl_loop_t *m, CURL *easy)
{
    xfer_t *x = NULL;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
    curl_multi_remove_handle(m->multi, easy);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
    free(x);
}

void jl_curl_loop_free(jl_curl_loop_t *m)
{
    if (m == NULL)
        return;
    ev_timer_stop(m->loop, &m->timer);
    curl_multi_cleanup(m->multi);
    JL_LIST_FOREACH_SAFE(&m->socks, it, tmp)
        sock_free(m, JL_CONTAINER_OF(it, sock_t, node));
    free(m);
    curl_global_cleanup();
}
