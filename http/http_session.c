/* http_session.c -- minimal placeholder so the core builds: every HTTP
 * connection is refused. Replaced by the real HTTP/SSE module. */
#include "http_session.h"
#include "../server/server.h"

#include <unistd.h>

void jl_http_init(jl_server_t *srv) { (void)srv; }
void jl_http_free(jl_server_t *srv) { (void)srv; }
void jl_http_accept(jl_server_t *srv, int fd, int unix_socket, int over_cap)
{
    (void)srv; (void)unix_socket; (void)over_cap;
    close(fd);
}
size_t jl_http_stream_count(const jl_server_t *srv) { (void)srv; return 0; }
void jl_http_info(const jl_server_t *srv, jl_buf_t *out) { (void)srv; (void)out; }
void jl_http_upstream_progress(jl_server_t *srv) { (void)srv; }
