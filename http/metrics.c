/* metrics.c -- the Prometheus exposition (see metrics.h).
 *
 * Every family gets its # HELP and # TYPE lines; labels are few and fixed
 * (the protocol, the kind of name). The bridge's figures come through the
 * relay's INFO lines ("upstream_reconnects:3"), so this file needs nothing
 * of resp/. */
#include "http/metrics.h"

#include "server/history.h"
#include "server/registry.h"
#include "server/relay.h"
#include "server/server.h"
#include "server/config.h"

#include <stdlib.h>
#include <string.h>

static void family(jl_buf_t *o, const char *name, const char *type, const char *help)
{
    jl_buf_printf(o, "# HELP jugglite_%s %s\n# TYPE jugglite_%s %s\n", name, help, name, type);
}

static void counter(jl_buf_t *o, const char *name, const char *help, unsigned long long v)
{
    family(o, name, "counter", help);
    jl_buf_printf(o, "jugglite_%s %llu\n", name, v);
}

static void gauge(jl_buf_t *o, const char *name, const char *help, double v)
{
    family(o, name, "gauge", help);
    jl_buf_printf(o, "jugglite_%s %.17g\n", name, v);
}

static void histogram(jl_buf_t *o, const char *name, const char *help, const jl_histo_t *h)
{
    family(o, name, "histogram", help);
    unsigned long long cum = 0;
    for (int i = 0; i < JL_HISTO_BUCKETS; i++) {
        cum += h->bucket[i];
        jl_buf_printf(o, "jugglite_%s_bucket{le=\"%g\"} %llu\n", name, jl_histo_bounds[i], cum);
    }
    jl_buf_printf(o, "jugglite_%s_bucket{le=\"+Inf\"} %llu\n", name, h->count);
    jl_buf_printf(o, "jugglite_%s_sum %.17g\njugglite_%s_count %llu\n", name, h->sum, name,
                  h->count);
}

/* Accepted client sockets by how they came in: a TCP listener, a TLS one
 * (--tls-port, --resp-tls-port), a unix socket. Counted at the scrape: one
 * walk of the connections, no bookkeeping on the hot path. */
static void transports(jl_buf_t *o, const jl_server_t *srv)
{
    size_t tcp = 0, tls = 0, unix_ = 0;
    JL_LIST_FOREACH(&srv->conns.all, it) {
        const jl_conn_t *c = JL_CONTAINER_OF(it, jl_conn_t, all);
        if (c->outgoing || c->transport)
            continue;   /* the upstream link; an HTTP/2 stream (its socket is counted) */
        if (c->ssl)
            tls++;
        else if (c->unix_socket)
            unix_++;
        else
            tcp++;
    }
    family(o, "connections_by_transport", "gauge",
           "Open client sockets, by listener kind: plain TCP, TLS, unix socket.");
    jl_buf_printf(o, "jugglite_connections_by_transport{transport=\"tcp\"} %zu\n", tcp);
    jl_buf_printf(o, "jugglite_connections_by_transport{transport=\"tls\"} %zu\n", tls);
    jl_buf_printf(o, "jugglite_connections_by_transport{transport=\"unix\"} %zu\n", unix_);
}

static void connections(jl_buf_t *o, const jl_server_t *srv)
{
    const jl_stats_t *st = &srv->stats;
    size_t http = srv->conns.accepted >= st->resp_clients ? srv->conns.accepted - st->resp_clients : 0;
    family(o, "connections", "gauge", "Open client connections, by protocol.");
    jl_buf_printf(o, "jugglite_connections{protocol=\"resp\"} %zu\n", st->resp_clients);
    jl_buf_printf(o, "jugglite_connections{protocol=\"http\"} %zu\n", http);
    gauge(o, "max_connections", "The --max-conns in force (capped by the open-files limit).",
          (double)srv->max_conns);
    gauge(o, "sse_streams", "Open SSE streams.", (double)st->sse_streams);
    family(o, "sse_streams_by_protocol", "gauge", "Open SSE streams, by HTTP version.");
    jl_buf_printf(o, "jugglite_sse_streams_by_protocol{protocol=\"http/1.1\"} %zu\n",
                  st->sse_streams - st->sse_streams_h2);
    jl_buf_printf(o, "jugglite_sse_streams_by_protocol{protocol=\"h2\"} %zu\n", st->sse_streams_h2);
    transports(o, srv);
    counter(o, "connections_received_total", "Client connections accepted.",
            st->connections_received);
    counter(o, "connections_rejected_total", "Connections refused or shed over --max-conns.",
            st->rejected_connections);
    counter(o, "sse_streams_received_total", "SSE streams opened.", st->sse_connections_received);
    counter(o, "slow_consumer_disconnects_total",
            "Clients disconnected at their output limit (slow consumers).", st->obuf_disconnects);
}

static void traffic(jl_buf_t *o, const jl_server_t *srv)
{
    const jl_stats_t *st = &srv->stats;
    counter(o, "commands_processed_total", "RESP commands run.", st->commands_processed);
    counter(o, "messages_published_total", "Publishes delivered by this node (local or from the upstream).",
            st->pubsub_messages);
    counter(o, "http_publishes_total", "Publishes made with POST.", st->http_publishes);
    counter(o, "deliveries_total", "Messages queued to subscribers (one per subscriber and publish).",
            st->deliveries);
    counter(o, "sse_events_sent_total", "Events queued to SSE streams.", st->sse_events_sent);
    counter(o, "net_input_bytes_total", "Bytes read from clients.", st->net_input_bytes);
    counter(o, "net_output_bytes_total", "Bytes written to clients.", st->net_output_bytes);
    histogram(o, "publish_to_write_seconds",
              "From a publish to the write that completes one of its events on a connection "
              "(one observation per write: its newest event).", &st->publish_to_write);
    histogram(o, "fanout_seconds",
              "Time one publish takes to be queued to every subscriber of this node.", &st->fanout);
    histogram(o, "loop_busy_seconds",
              "Time of each event-loop iteration from the poll returning to the next poll: the "
              "longest any input waits to be read.", &st->loop_busy);
}

static void names(jl_buf_t *o, const jl_server_t *srv)
{
    static const char *const kind[JL_NS_COUNT] = {"channel", "pattern", "shard"};
    family(o, "subscribed_names", "gauge", "Channels, patterns and shard channels with subscribers.");
    for (int ns = 0; ns < JL_NS_COUNT; ns++)
        jl_buf_printf(o, "jugglite_subscribed_names{kind=\"%s\"} %zu\n", kind[ns],
                      jl_registry_count(srv->reg, (jl_ns_t)ns));
}

static void history(jl_buf_t *o, const jl_server_t *srv)
{
    const jl_hist_stats_t *h = jl_hist_stats(srv->hist);
    gauge(o, "history_channels", "Channels the history keeps a record of.", (double)h->channels);
    gauge(o, "history_entries", "Events retained for resuming streams.", (double)h->entries);
    gauge(o, "history_bytes", "Memory the history uses (against --history-memory).",
          (double)h->bytes);
    gauge(o, "history_memory_limit_bytes", "--history-memory.", (double)srv->cfg->history_memory);
    counter(o, "history_appended_total", "Events added to the history.", h->appended);
    counter(o, "history_evicted_total", "Events the limits dropped from the history.", h->evicted);
    counter(o, "history_gaps_total", "Gap events sent to streams.", h->gaps);
    counter(o, "history_replayed_total", "Events sent by resumes.", h->replayed);
}

/* The value of "key:" in the relay's INFO lines, or -1. */
static double info_value(const jl_buf_t *info, const char *key)
{
    size_t k = strlen(key);
    for (size_t i = 0; i + k < info->len; i++) {
        if ((i == 0 || info->data[i - 1] == '\n') && memcmp(info->data + i, key, k) == 0 &&
            info->data[i + k] == ':')
            return strtod(info->data + i + k + 1, NULL);
    }
    return -1;
}

static void upstream(jl_buf_t *o, const jl_server_t *srv)
{
    int health = jl_relay_health(srv->relay);
    if (health < 0)
        return;     /* no upstream: no such series */
    jl_buf_t info = {0};
    jl_relay_info(srv->relay, &info);
    gauge(o, "upstream_up", "1 when the link to the upstream is up and subscribed.", health);
    double v = info_value(&info, "upstream_reconnects");
    if (v >= 0)
        counter(o, "upstream_reconnects_total", "Times the link to the upstream came back.",
                (unsigned long long)v);
    v = info_value(&info, "upstream_publishes_refused");
    if (v >= 0)
        counter(o, "upstream_publishes_refused_total", "Publishes refused while the upstream was down.",
                (unsigned long long)v);
    jl_buf_free(&info);
}

void jl_metrics_render(jl_buf_t *out, const jl_server_t *srv)
{
    family(out, "build_info", "gauge", "Always 1; the version as a label.");
    jl_buf_printf(out, "jugglite_build_info{version=\"%s\"} 1\n", JL_VERSION);
    gauge(out, "start_time_seconds", "When the process started, seconds since the epoch.",
          srv->start_time);
    connections(out, srv);
    traffic(out, srv);
    names(out, srv);
    history(out, srv);
    counter(out, "lifecycle_events_total", "Lifecycle events published (--lifecycle-events).",
            srv->lifecycle.published);
    counter(out, "lifecycle_events_dropped_total",
            "Lifecycle events lost: past the queue's bound, or refused by a down upstream.",
            srv->lifecycle.dropped);
    upstream(out, srv);
}
