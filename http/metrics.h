/* metrics.h -- the node's figures in the Prometheus text format (GET /metrics).
 *
 * Operators scrape one URL with the tool they already run; what it says is
 * what INFO says, in Prometheus's names and types (counters end in _total,
 * gauges do not, one histogram), with no per-channel label: channel names
 * come from clients and would make the series unbounded. Pure rendering
 * from the server's state; the route (http_routes.c) decides who may read. */
#ifndef JL_METRICS_H
#define JL_METRICS_H

#include "server/buf.h"

typedef struct jl_server jl_server_t;

/* Appends the exposition (text/plain; version=0.0.4) for srv to out. */
void jl_metrics_render(jl_buf_t *out, const jl_server_t *srv);

#endif
