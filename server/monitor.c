/* monitor.c -- the MONITOR feed: one line per command, shared by every sink.
 *
 * The line is Redis's replicationFeedMonitors line, byte for byte: the time
 * of the feed in microseconds, the database and the peer, then every
 * argument quoted as sdscatrepr quotes it. It is built once per command into
 * one frame and every sink queues a reference to it, so N monitors cost one
 * formatting, not N. Nothing is built when nobody monitors.
 *
 * Which commands are fed, and with which arguments redacted, is the
 * protocol's business (resp_commands.c follows Redis's rules); this file
 * only formats and fans out. */
#include "server/monitor.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>

void jl_monitors_init(jl_monitors_t *m)
{
    jl_list_init(&m->sinks);
    m->count = 0;
}

void jl_monitor_sink_init(jl_monitor_sink_t *s, const jl_monitor_sink_ops_t *ops)
{
    s->ops = ops;
    s->node.prev = s->node.next = NULL;
}

int jl_monitor_add(jl_monitors_t *m, jl_monitor_sink_t *s)
{
    if (jl_monitor_is_on(s))
        return JL_AGAIN;
    jl_list_push(&m->sinks, &s->node);
    m->count++;
    return JL_OK;
}

void jl_monitor_remove(jl_monitors_t *m, jl_monitor_sink_t *s)
{
    if (!jl_monitor_is_on(s))
        return;
    jl_list_remove(&s->node);
    m->count--;
}

/* ---- formatting ---- */

/* Bytes sdscatrepr copies as they are: isprint() in the C locale, minus the
 * two it escapes with a backslash. */
static int plain(unsigned char ch)
{
    return ch >= 0x20 && ch <= 0x7e && ch != '"' && ch != '\\';
}

static void append_escape(jl_buf_t *out, unsigned char ch)
{
    static const char hex[] = "0123456789abcdef";
    char esc[4] = {'\\', 0, 0, 0};
    size_t n = 2;
    switch (ch) {
    case '"': esc[1] = '"'; break;
    case '\\': esc[1] = '\\'; break;
    case '\n': esc[1] = 'n'; break;
    case '\r': esc[1] = 'r'; break;
    case '\t': esc[1] = 't'; break;
    case '\a': esc[1] = 'a'; break;
    case '\b': esc[1] = 'b'; break;
    default:
        esc[1] = 'x';
        esc[2] = hex[ch >> 4];
        esc[3] = hex[ch & 15];
        n = 4;
        break;
    }
    jl_buf_append(out, esc, n);
}

/* Copies p[from..to) as it is; p may be NULL when the run is empty. */
static void append_run(jl_buf_t *out, const char *p, size_t from, size_t to)
{
    if (to > from)
        jl_buf_append(out, p + from, to - from);
}

void jl_monitor_repr(jl_buf_t *out, const char *p, size_t len)
{
    jl_buf_reserve(out, len + 2);
    jl_buf_append_char(out, '"');
    size_t run = 0;     /* start of the current run of plain bytes */
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (plain(ch))
            continue;
        append_run(out, p, run, i);
        append_escape(out, ch);
        run = i + 1;
    }
    append_run(out, p, run, len);
    jl_buf_append_char(out, '"');
}

void jl_monitor_format(jl_buf_t *out, long long sec, long usec, int db, const char *peer,
                       size_t argc, const char *const *argv, const size_t *lens)
{
    jl_buf_printf(out, "+%lld.%06ld [%d %s] ", sec, usec, db, peer);
    for (size_t i = 0; i < argc; i++) {
        if (i > 0)
            jl_buf_append_char(out, ' ');
        jl_monitor_repr(out, argv[i], lens[i]);
    }
    jl_buf_append_str(out, "\r\n");
}

void jl_monitor_peer_text(char *buf, size_t len, int unix_socket, const char *addr)
{
    if (len == 0)
        return;
    if (unix_socket) {
        snprintf(buf, len, "unix:%s", addr ? addr : "");
        return;
    }
    const char *last = strrchr(addr, ':');
    /* One colon: IPv4 (or "?:0"). More: an IPv6 address before the port. */
    if (last == NULL || last == strchr(addr, ':')) {
        snprintf(buf, len, "%s", addr);
        return;
    }
    snprintf(buf, len, "[%.*s]%s", (int)(last - addr), addr, last);
}

/* ---- the feed ---- */

void jl_monitor_feed(jl_monitors_t *m, const jl_conn_t *from, const char *unix_path, int db,
                     size_t argc, const char *const *argv, const size_t *lens)
{
    if (m->count == 0)
        return;
    char addr[JL_MONITOR_PEER_MAX], peer[JL_MONITOR_PEER_MAX];
    if (from->unix_socket)
        jl_monitor_peer_text(peer, sizeof peer, 1, unix_path);
    else {
        jl_conn_peer(from, addr, sizeof addr);
        jl_monitor_peer_text(peer, sizeof peer, 0, addr);
    }
    /* Wall-clock time of this feed, not the loop's cached time: every line
     * of a pipeline gets its own, as in Redis. */
    struct timeval tv;
    gettimeofday(&tv, NULL);
    jl_buf_t text = {0};
    jl_monitor_format(&text, (long long)tv.tv_sec, (long)tv.tv_usec, db, peer, argc, argv, lens);
    jl_frame_t *line = jl_frame_from(text.data, text.len);
    jl_buf_free(&text);
    JL_LIST_FOREACH_SAFE(&m->sinks, it, next) {
        jl_monitor_sink_t *s = JL_CONTAINER_OF(it, jl_monitor_sink_t, node);
        s->ops->deliver(s, line);
    }
    jl_frame_unref(line);
}
