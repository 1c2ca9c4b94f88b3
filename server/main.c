/* main.c -- argv to config to a running server; nothing else. */
#include "config.h"
#include "log.h"
#include "server.h"

#include <stdlib.h>

int main(int argc, char **argv)
{
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
