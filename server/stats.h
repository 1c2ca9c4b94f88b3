/* stats.h -- the counters INFO, /health and the logs report.
 *
 * One plain struct, owned by the server and written by whoever does the
 * counted thing (connections, the relay, the protocols); nothing here
 * computes. Counters only grow; the few gauges say so. */
#ifndef JL_STATS_H
#define JL_STATS_H

#include "server/histogram.h"

#include <stddef.h>

typedef struct jl_stats {
    unsigned long long connections_received;
    unsigned long long rejected_connections;
    unsigned long long commands_processed;
    unsigned long long pubsub_messages;     /* publishes handled */
    unsigned long long deliveries;          /* frames queued to subscribers */
    unsigned long long net_input_bytes;
    unsigned long long net_output_bytes;
    unsigned long long obuf_disconnects;    /* clients dropped at the output limit */
    unsigned long long sse_connections_received;
    unsigned long long sse_events_sent;
    unsigned long long http_publishes;
    unsigned long long accept_errors;
    size_t sse_streams;                     /* gauge: open SSE streams */
    size_t sse_streams_h2;                  /* gauge: of them, over HTTP/2 */
    size_t resp_clients;                    /* gauge: open RESP client connections */
    jl_histo_t publish_to_write;            /* seconds from a publish to a write that
                                               completes one of its events (one per write) */
    jl_histo_t fanout;                      /* seconds one publish takes to reach (queue to)
                                             * this node's subscribers */
    jl_histo_t loop_busy;                   /* seconds of each loop iteration between the poll
                                             * returning and the next poll */
} jl_stats_t;

#endif
