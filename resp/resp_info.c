/* resp_info.c -- what the server says about itself: INFO and CLIENT LIST.
 *
 * Redis's field names and section order, so that tools that parse INFO
 * (ioredis reads it before it connects) and CLIENT LIST see what they
 * expect; the values are jugglite's own. Reads state, never changes it. */
#include "resp/resp_info.h"
#include "server/server.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

static long rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, rss = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return rss * sysconf(_SC_PAGESIZE);
}


static void info_server(const jl_resp_t *resp, jl_buf_t *o)
{
    const jl_server_t *srv = resp->srv;
    double now = ev_time();
    struct utsname un;
    uname(&un);
    jl_buf_printf(o, "# Server\r\nredis_version:7.0.15\r\njugglite_version:%s\r\n"
                     "redis_mode:standalone\r\nos:%s %s %s\r\narch_bits:%d\r\n"
                     "multiplexing_api:%s\r\nprocess_id:%d\r\nrun_id:%s\r\ntcp_port:%d\r\n"
                     "server_time_usec:%lld\r\nuptime_in_seconds:%lld\r\nuptime_in_days:%lld\r\n",
                  JL_VERSION, un.sysname, un.release, un.machine, (int)(sizeof(void *) * 8),
                  "libev", (int)getpid(), srv->run_id, srv->cfg->resp_port,
                  (long long)(now * 1e6), (long long)(now - srv->start_time),
                  (long long)((now - srv->start_time) / 86400));
}

static void info_clients(const jl_resp_t *resp, jl_buf_t *o)
{
    const jl_server_t *srv = resp->srv;
    jl_buf_printf(o, "# Clients\r\nconnected_clients:%zu\r\nmaxclients:%ld\r\n"
                     "blocked_clients:%zu\r\npubsub_clients:%zu\r\n",
                  resp->nclients, srv->max_conns, resp->nblocked, srv->stats.sse_streams);
}

static void info_memory(const jl_resp_t *resp, jl_buf_t *o)
{
    (void)resp;
    long rss = rss_bytes();
    jl_buf_printf(o, "# Memory\r\nused_memory:%ld\r\nused_memory_rss:%ld\r\n"
                     "maxmemory:0\r\nmaxmemory_policy:noeviction\r\n", rss, rss);
}

static void info_persistence(const jl_resp_t *resp, jl_buf_t *o)
{
    (void)resp;
    jl_buf_printf(o, "# Persistence\r\nloading:0\r\nasync_loading:0\r\n"
                     "rdb_changes_since_last_save:0\r\naof_enabled:0\r\n");
}

static void info_stats(const jl_resp_t *resp, jl_buf_t *o)
{
    const jl_server_t *srv = resp->srv;
    const jl_stats_t *s = &srv->stats;
    jl_buf_printf(o, "# Stats\r\ntotal_connections_received:%llu\r\n"
                     "total_commands_processed:%llu\r\ntotal_net_input_bytes:%llu\r\n"
                     "total_net_output_bytes:%llu\r\nrejected_connections:%llu\r\n"
                     "client_output_buffer_limit_disconnections:%llu\r\n"
                     "pubsub_channels:%zu\r\npubsub_patterns:%zu\r\npubsubshard_channels:%zu\r\n",
                  s->connections_received, s->commands_processed, s->net_input_bytes,
                  s->net_output_bytes, s->rejected_connections, s->obuf_disconnects,
                  jl_registry_count(srv->reg, JL_NS_CHANNEL),
                  jl_registry_count(srv->reg, JL_NS_PATTERN),
                  jl_registry_count(srv->reg, JL_NS_SHARD));
}

static void info_replication(const jl_resp_t *resp, jl_buf_t *o)
{
    (void)resp;
    jl_buf_printf(o, "# Replication\r\nrole:master\r\nconnected_slaves:0\r\n");
}

static void info_cpu(const jl_resp_t *resp, jl_buf_t *o)
{
    (void)resp;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    jl_buf_printf(o, "# CPU\r\nused_cpu_sys:%ld.%06ld\r\nused_cpu_user:%ld.%06ld\r\n",
                  (long)ru.ru_stime.tv_sec, (long)ru.ru_stime.tv_usec,
                  (long)ru.ru_utime.tv_sec, (long)ru.ru_utime.tv_usec);
}

static void info_cluster(const jl_resp_t *resp, jl_buf_t *o)
{
    (void)resp;
    jl_buf_printf(o, "# Cluster\r\ncluster_enabled:0\r\n");
}

static void info_keyspace(const jl_resp_t *resp, jl_buf_t *o)
{
    (void)resp;
    jl_buf_printf(o, "# Keyspace\r\n");
}

static void info_jugglite(const jl_resp_t *resp, jl_buf_t *o)
{
    const jl_server_t *srv = resp->srv;
    const jl_stats_t *st = &srv->stats;
    jl_buf_printf(o,
                  "# Jugglite\r\nsse_connected_streams:%zu\r\nsse_total_streams:%llu\r\n"
                  "sse_events_sent:%llu\r\nhttp_publishes:%llu\r\nkeepalive_seconds:%g\r\n"
                  "lifecycle_events:%s\r\nlifecycle_events_published:%llu\r\n"
                  "lifecycle_events_dropped:%llu\r\nlifecycle_events_pending:%zu\r\n",
                  st->sse_streams, st->sse_connections_received, st->sse_events_sent,
                  st->http_publishes, srv->cfg->keepalive,
                  srv->cfg->lifecycle_events ? "yes" : "no", srv->lifecycle.published,
                  srv->lifecycle.dropped, srv->lifecycle.npending);
}

/* What the history keeps for resuming streams (docs/history.md). */
static void info_history(const jl_resp_t *resp, jl_buf_t *o)
{
    const jl_server_t *srv = resp->srv;
    const jl_config_t *cfg = srv->cfg;
    const jl_hist_stats_t *h = jl_hist_stats(srv->hist);
    jl_buf_printf(o,
                  "# History\r\nhistory_channels:%zu\r\nhistory_entries:%zu\r\n"
                  "history_bytes:%zu\r\nhistory_memory_limit:%zu\r\n"
                  "history_size_per_channel:%zu\r\nhistory_bytes_per_channel:%zu\r\n"
                  "history_max_age_seconds:%g\r\nhistory_appended:%llu\r\n"
                  "history_evicted:%llu\r\nhistory_gaps:%llu\r\nhistory_replayed:%llu\r\n",
                  h->channels, h->entries, h->bytes, cfg->history_memory, cfg->history_size,
                  cfg->history_bytes, cfg->history_age, h->appended, h->evicted, h->gaps,
                  h->replayed);
}

/* Only a relay with lines of its own (the bridge) has this section. */
static void info_upstream(const jl_resp_t *resp, jl_buf_t *o)
{
    jl_buf_printf(o, "# Upstream\r\n");
    jl_relay_info(resp->srv->relay, o);
}

/* Redis's order; every section is in the default set. */
static const struct {
    const char *name;
    void (*add)(const jl_resp_t *resp, jl_buf_t *o);
} sections[] = {
    {"server", info_server},     {"clients", info_clients},   {"memory", info_memory},
    {"persistence", info_persistence}, {"stats", info_stats}, {"replication", info_replication},
    {"cpu", info_cpu},           {"cluster", info_cluster},   {"keyspace", info_keyspace},
    {"jugglite", info_jugglite}, {"history", info_history}, {"upstream", info_upstream},
};

/* Any of the n names asks for the section (none: the default set). */
static int section_wanted(const char *const *want, const size_t *lens, size_t n, const char *name)
{
    if (n == 0)
        return 1;
    for (size_t i = 0; i < n; i++) {
        const char *w = want[i];
        size_t l = lens[i];
        if ((l == 7 && strncasecmp(w, "default", 7) == 0) || (l == 3 && strncasecmp(w, "all", 3) == 0) ||
            (l == 10 && strncasecmp(w, "everything", 10) == 0) ||
            (l == strlen(name) && strncasecmp(w, name, l) == 0))
            return 1;
    }
    return 0;
}

void jl_resp_info(const jl_resp_t *resp, const char *const *want, const size_t *lens, size_t n,
                  jl_buf_t *o)
{
    size_t start = o->len;
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
        if (!section_wanted(want, lens, n, sections[i].name))
            continue;
        if (sections[i].add == info_upstream && !jl_relay_has_info(resp->srv->relay))
            continue;
        /* sections after the first are separated by a blank line */
        if (o->len > start)
            jl_buf_append_str(o, "\r\n");
        sections[i].add(resp, o);
    }
}

/* Redis prints the socket path as a unix client's local address. */
static void local_addr(const jl_resp_client_t *c, char *buf, size_t len)
{
    const char *path = c->resp->srv->cfg->resp_socket;
    if (c->conn.unix_socket)
        snprintf(buf, len, "%s", path ? path : "");
    else
        jl_conn_local(&c->conn, buf, len);
}

void jl_resp_describe(const jl_resp_client_t *c, jl_buf_t *out)
{
    const jl_conn_t *conn = &c->conn;
    double now = ev_now(conn->set->loop);
    char peer[128], laddr[128], flags[8];
    jl_conn_peer(conn, peer, sizeof peer);
    local_addr(c, laddr, sizeof laddr);
    char *f = flags;
    if (jl_monitor_is_on(&c->monitor))
        *f++ = 'O';
    if (jl_resp_client_all_subs(c))
        *f++ = 'P';
    if (c->flags & JL_RESP_MULTI)
        *f++ = 'x';
    if (c->xread != NULL)
        *f++ = 'b';     /* XREAD BLOCK */
    if (conn->unix_socket)
        *f++ = 'U';
    if (f == flags)
        *f++ = 'N';
    *f = '\0';
    jl_buf_printf(out,
                  "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld flags=%s db=%d "
                  "sub=%zu psub=%zu ssub=%zu multi=%lld qbuf=%zu qbuf-free=%zu argv-mem=0 "
                  "multi-mem=0 rbs=0 rbp=0 obl=0 oll=%u omem=%zu tot-mem=%zu events=r%s "
                  "cmd=%s%s%s user=%s redir=-1 resp=%d lib-name=%s lib-ver=%s\n",
                  (unsigned long long)conn->id, peer, laddr, conn->fd, c->name ? c->name : "",
                  (long long)(now - conn->created), (long long)(now - conn->last_active), flags,
                  c->db, (size_t)c->sink.nsubs[JL_NS_CHANNEL], (size_t)c->sink.nsubs[JL_NS_PATTERN],
                  (size_t)c->sink.nsubs[JL_NS_SHARD],
                  (c->flags & JL_RESP_MULTI) ? (long long)c->nmulti : -1LL, conn->in.len,
                  conn->in.cap - conn->in.len, conn->out.count - conn->out.head, conn->out.bytes,
                  sizeof *c + conn->in.cap + conn->out.bytes, jl_outq_empty(&conn->out) ? "" : "w",
                  c->last_parent ? c->last_parent : "", c->last_parent ? "|" : "",
                  c->last_cmd ? c->last_cmd : "NULL", c->user ? c->user->name : "default", c->proto, c->lib_name ? c->lib_name : "",
                  c->lib_ver ? c->lib_ver : "");
}
