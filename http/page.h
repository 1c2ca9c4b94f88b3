/* page.h -- the built-in page served at GET /.
 *
 * A self-contained HTML+JS page (no external assets, so it works offline
 * and behind any proxy) to try jugglite from a browser: subscribe to a
 * channel with EventSource, watch events arrive, publish over HTTP when
 * publishing is enabled. The configured paths are substituted once at
 * startup; the result is served as one shared frame. */
#ifndef JL_PAGE_H
#define JL_PAGE_H

#include "server/buf.h"

/* Appends the page to out, with the stream path, the publish path and the
 * namespace (shown in the redis-cli hint) embedded as JSON data. */
void jl_page_render(jl_buf_t *out, const char *stream_path, const char *publish_path,
                    const char *namespace_, int resp_port);

#endif
