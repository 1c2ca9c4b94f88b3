/* main.c -- argv to config to a running server; nothing else. */
#include "config.h"
#include "log.h"
#include "server.h"

#include <malloc.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
#ifdef M_MMAP_THRESHOLD
    /* Large buffers (a huge command, a burst of output) get their own
     * mappings and go back to the system when freed; glibc's adaptive
     * threshold would otherwise keep them in the heap after the first one. */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
    jl_config_t cfg;
    int rc = jl_config_parse(&cfg, argc, argv);
    if (rc != 0) {
        jl_config_free(&cfg);
        return rc > 0 ? 0 : 2;
    }
    jl_log_level = (jl_log_level_t)cfg.log_level;
    jl_server_t *srv = jl_server_new(&cfg);
    if (srv == NULL) {
        jl_config_free(&cfg);
        return 1;
    }
    rc = jl_server_run(srv);
    jl_server_free(srv);
    jl_config_free(&cfg);
    return rc;
}
