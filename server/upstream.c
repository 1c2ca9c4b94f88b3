/* upstream.c -- placeholder until the bridge lands: --upstream is refused
 * with a clear message rather than silently ignored. */
#include "upstream.h"
#include "log.h"

jl_upstream_t *jl_upstream_new(jl_server_t *srv, const char *url)
{
    (void)srv;
    jl_log_error("--upstream %s: the upstream bridge is not available in this build", url);
    return NULL;
}

void jl_upstream_free(jl_upstream_t *u) { (void)u; }
void jl_upstream_shutdown(jl_upstream_t *u) { (void)u; }
void jl_upstream_forward_publish(jl_upstream_t *u, jl_client_t *client, const char *chan,
                                 size_t chan_len, const char *payload, size_t len, int shard)
{
    (void)u; (void)client; (void)chan; (void)chan_len; (void)payload; (void)len; (void)shard;
}
int jl_upstream_is_up(const jl_upstream_t *u) { (void)u; return 0; }
int jl_upstream_confirmed(const jl_upstream_t *u, jl_ns_t ns, const char *name, size_t len)
{
    (void)u; (void)ns; (void)name; (void)len;
    return 0;
}
void jl_upstream_info(const jl_upstream_t *u, jl_buf_t *out) { (void)u; (void)out; }
