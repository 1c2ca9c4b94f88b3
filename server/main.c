/* main.c -- the composition root: argv to config to a running server.
 *
 * The only file that sees every folder. It builds the runtime (server/),
 * then the two protocols on top of it -- the RESP side (resp/) and the HTTP
 * side (http/) -- opens their listeners, and, with --upstream, starts the
 * bridge, which installs itself as the server's relay. Teardown runs in
 * reverse: connections first, then the protocols' state, then the runtime. */
#include "http/http_session.h"
#include "resp/redis_url.h"
#include "resp/resp_acl.h"
#include "resp/resp_session.h"
#include "server/acl_load.h"
#include "resp/upstream.h"
#include "server/config.h"
#include "server/log.h"
#include "server/notify.h"
#include "server/server.h"
#include "server/upgrade.h"
#include "server/util.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What the option table cannot check row by row, checked before anything
 * binds: a bad value must not leave a half-started server behind. */
static int check_config(const jl_config_t *cfg)
{
    if (cfg->resp_port < 0 && !cfg->resp_socket && cfg->port < 0 && !cfg->socket &&
        cfg->tls_port < 0 && cfg->resp_tls_port < 0) {
        fprintf(stderr, "jugglite: no listener: --resp-port and --port are both -1 and no "
                        "--resp-socket, --socket, --tls-port or --resp-tls-port is given\n");
        return -1;
    }
    if ((cfg->tls_port >= 0 || cfg->resp_tls_port >= 0) && cfg->tls_cert_file == NULL) {
        fprintf(stderr, "jugglite: --%s needs --tls-cert-file (and --tls-key-file unless the "
                        "key is in the same file)\n",
                cfg->tls_port >= 0 ? "tls-port" : "resp-tls-port");
        return -1;
    }
    if (cfg->token_required && cfg->n_token_keys == 0) {
        fprintf(stderr, "jugglite: --token-required needs at least one --token-key\n");
        return -1;
    }
    jl_redis_url_t url;
    if (cfg->upstream == NULL)
        return 0;
    if (jl_redis_url_parse(&url, cfg->upstream) < 0) {
        /* What follows the userinfo only: the error must not print a password. */
        const char *at = strrchr(cfg->upstream, '@');
        fprintf(stderr, "jugglite: invalid value '%s%s' for --upstream (expected "
                        "redis[s]://[[user]:password@]host[:port] or unix:///path/to/socket)\n",
                at ? "..." : "", at ? at : cfg->upstream);
        return -1;
    }
    jl_redis_url_free(&url);
    return 0;
}

/* The TLS listeners' contexts: made before anything binds (a bad
 * certificate is a configuration error), reloaded on SIGHUP. */
typedef struct tls_set {
    jl_tls_t *sse;              /* ALPN: h2, http/1.1 */
    jl_tls_t *resp;             /* no ALPN: redis-cli sends none */
} tls_set_t;

static int tls_load(const jl_config_t *cfg, tls_set_t *t)
{
    static const char *const http_alpn[] = {"h2", "http/1.1", NULL};
    char err[512];
    t->sse = t->resp = NULL;
    if (cfg->tls_port >= 0 &&
        (t->sse = jl_tls_server_new(cfg->tls_cert_file, cfg->tls_key_file, http_alpn, err,
                                    sizeof err)) == NULL)
        goto fail;
    if (cfg->resp_tls_port >= 0 &&
        (t->resp = jl_tls_server_new(cfg->tls_cert_file, cfg->tls_key_file, NULL, err,
                                     sizeof err)) == NULL)
        goto fail;
    return 0;
fail:
    fprintf(stderr, "jugglite: --tls-cert-file/--tls-key-file: %s\n", err);
    jl_tls_free(t->sse);
    t->sse = NULL;
    return -1;
}

static void tls_reload(const jl_config_t *cfg, tls_set_t *t)
{
    jl_tls_t *both[] = {t->sse, t->resp};
    char err[512];
    for (size_t i = 0; i < JL_ARRAY_LEN(both); i++) {
        if (both[i] == NULL)
            continue;
        if (jl_tls_server_reload(both[i], cfg->tls_cert_file, cfg->tls_key_file, err,
                                 sizeof err) < 0) {
            jl_log_warn("SIGHUP: the TLS certificate is refused (%s); the running one is kept", err);
            return;
        }
    }
    if (t->sse || t->resp)
        jl_log_info("SIGHUP: TLS certificate reloaded from %s", cfg->tls_cert_file);
}

static int listen_all(jl_server_t *srv, jl_resp_t *resp, jl_http_t *http, const tls_set_t *tls)
{
    const jl_config_t *cfg = srv->cfg;
    int failed = 0;
    if (cfg->resp_port >= 0)
        failed |= jl_server_listen_tcp(srv, "RESP", cfg->resp_address, cfg->resp_port, NULL,
                                       jl_resp_accept, resp) < 0;
    if (cfg->resp_tls_port >= 0)
        failed |= jl_server_listen_tcp(srv, "RESP/TLS", cfg->resp_address, cfg->resp_tls_port,
                                       tls->resp, jl_resp_accept, resp) < 0;
    if (cfg->resp_socket)
        failed |= jl_server_listen_unix(srv, "RESP", cfg->resp_socket, jl_resp_accept, resp) < 0;
    if (cfg->port >= 0)
        failed |= jl_server_listen_tcp(srv, "SSE", cfg->address, cfg->port, NULL, jl_http_accept,
                                       http) < 0;
    if (cfg->tls_port >= 0)
        failed |= jl_server_listen_tcp(srv, "SSE/TLS", cfg->address, cfg->tls_port, tls->sse,
                                       jl_http_accept, http) < 0;
    if (cfg->socket)
        failed |= jl_server_listen_unix(srv, "SSE", cfg->socket, jl_http_accept, http) < 0;
    return failed ? -1 : 0;
}

/* Before the first publish can arrive (the loop has not run yet), from
 * --history-file or the file the process we replace saved it to. A
 * missing file is an ordinary first start; a damaged one is logged and
 * ignored; either way it is removed, so that only a clean shutdown ever
 * leaves one behind (a crash later must not resurrect this one). */
static void history_load(jl_server_t *srv, const char *path)
{
    size_t n = 0;
    if (path == NULL)
        return;
    int rc = jl_hist_load(srv->hist, path, &n);
    if (rc == -1 && errno != ENOENT)
        jl_log_warn("history file %s: %s; starting with an empty history", path, strerror(errno));
    else if (rc == -2)
        jl_log_warn("history file %s is damaged or not a history file; starting with an empty "
                    "history", path);
    else if (rc == 0)
        jl_log_info("history: %zu events from %s", n, path);
    if (rc != -1 && unlink(path) != 0)
        jl_log_warn("history file %s: cannot remove it: %s", path, strerror(errno));
}

/* After a clean shutdown: every connection is closed, nothing publishes. */
static void history_save(jl_server_t *srv)
{
    const char *path = srv->cfg->history_file;
    if (path == NULL)
        return;
    if (jl_hist_save(srv->hist, path) < 0)
        jl_log_warn("history file %s: cannot write it: %s", path, strerror(errno));
    else
        jl_log_info("history: %zu events written to %s", jl_hist_stats(srv->hist)->entries, path);
}

/* The log's settings from the configuration: at start, and on SIGHUP
 * (both options are live). */
static void log_configure(const jl_config_t *cfg)
{
    jl_log_conf = (jl_log_conf_t){.level = (jl_log_level_t)cfg->log_level,
                                  .format = (jl_log_format_t)cfg->log_format};
}

/* What a SIGHUP needs: the command line to parse again, and the live
 * configuration (the server reads it through its const pointer). */
typedef struct reload {
    ev_signal sighup;
    ev_signal sigusr1;          /* logrotate: reopen the --log-file */
    jl_config_t *cfg;
    tls_set_t *tls;
    int argc;
    char **argv;
} reload_t;

static void on_sighup(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)loop;
    (void)revents;
    reload_t *r = JL_CONTAINER_OF(w, reload_t, sighup);
    jl_log_reopen(r->cfg->log_file);
    char changed[1024], fixed[1024];
    if (jl_config_reload(r->cfg, r->argc, r->argv, changed, sizeof changed, fixed,
                         sizeof fixed) < 0) {
        jl_log_warn("SIGHUP: the new configuration is refused (the reason is above); the "
                    "running one is kept");
        return;
    }
    log_configure(r->cfg);
    tls_reload(r->cfg, r->tls);
    jl_log_info("SIGHUP: configuration reloaded; changed: %s%s%s", changed[0] ? changed : "nothing",
                fixed[0] ? "; not changed (a restart is needed): " : "", fixed);
}

static void on_sigusr1(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)loop;
    (void)revents;
    reload_t *r = JL_CONTAINER_OF(w, reload_t, sigusr1);
    if (r->cfg->log_file && jl_log_reopen(r->cfg->log_file) == 0)
        jl_log_info("SIGUSR1: log file reopened");
}

/* The token keys, before anything binds: a key that does not load is a
 * configuration error (exit 2), not a server that refuses every token. */
static int load_tokens(const jl_config_t *cfg, jl_token_keys_t **keys)
{
    char err[512];
    *keys = NULL;
    if (cfg->n_token_keys == 0)
        return 0;
    *keys = jl_token_keys_load(cfg->token_keys, cfg->n_token_keys, err, sizeof err);
    if (*keys != NULL)
        return 0;
    fprintf(stderr, "jugglite: --token-key: %s\n", err);
    return -1;
}

/* Listening, history loaded: a new start tells systemd; a restart's new
 * process tells the process it replaces, which tells systemd. */
static void announce_ready(int restart_fd)
{
    if (restart_fd >= 0) {
        jl_upgrade_child_ready(restart_fd);
        return;
    }
    int ready = jl_notify("READY=1");
    if (ready < 0)
        jl_log_warn("NOTIFY_SOCKET: READY=1 not sent: %s", strerror(-ready));
}

static int serve(jl_config_t *cfg, jl_acl_t *acl, int argc, char **argv)
{
    jl_token_keys_t *keys;
    tls_set_t tls;
    if (load_tokens(cfg, &keys) < 0)
        return 2;
    if (tls_load(cfg, &tls) < 0) {
        jl_token_keys_free(keys);
        return 2;
    }
    char *inherited_history;
    int restart_fd = jl_upgrade_child_begin(&inherited_history);
    jl_server_t *srv = jl_server_new(cfg);
    srv->tokens = keys;
    reload_t reload = {.cfg = cfg, .tls = &tls, .argc = argc, .argv = argv};
    ev_signal_init(&reload.sighup, on_sighup, SIGHUP);
    ev_signal_start(srv->loop, &reload.sighup);
    ev_signal_init(&reload.sigusr1, on_sigusr1, SIGUSR1);
    ev_signal_start(srv->loop, &reload.sigusr1);
    jl_upgrade_t *upgrade = jl_upgrade_new(srv, argv);
    jl_resp_t *resp = jl_resp_new(srv, acl);
    jl_http_t *http = jl_http_new(srv);
    jl_upstream_t *up = NULL;
    int rc = 1;

    if (listen_all(srv, resp, http, &tls) < 0)
        goto out;
    if (cfg->upstream && (up = jl_upstream_new(srv, cfg->upstream)) == NULL)
        goto out;
    if (restart_fd >= 0 && jl_upgrade_child_prepared(restart_fd) < 0) {
        jl_log_warn("restart: the old process did not pass its history on; starting without it");
        free(inherited_history);
        inherited_history = NULL;
    }
    history_load(srv, inherited_history ? inherited_history : cfg->history_file);
    announce_ready(restart_fd);
    restart_fd = -1;
    rc = jl_server_run(srv);
    if (!srv->handed_over)      /* else the history went to the new process */
        history_save(srv);
out:
    if (restart_fd >= 0)
        close(restart_fd);
    free(inherited_history);
    jl_upgrade_free(upgrade);
    ev_signal_stop(srv->loop, &reload.sighup);
    ev_signal_stop(srv->loop, &reload.sigusr1);
    jl_server_close_all(srv);
    jl_upstream_free(up);
    jl_http_free(http);
    jl_resp_free(resp);
    jl_server_free(srv);
    jl_tls_free(tls.sse);
    jl_tls_free(tls.resp);
    jl_token_keys_free(keys);
    return rc;
}

/* A copy of the command line for SIGHUP's reparse (and a restart's exec),
 * taken before the secrets in argv are overwritten. */
static char **argv_copy(int argc, char **argv)
{
    char **copy = jl_calloc((size_t)argc + 1, sizeof *copy);
    for (int i = 0; i < argc; i++)
        copy[i] = jl_strndup(argv[i], strlen(argv[i]));
    return copy;
}

static void argv_free(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        free(argv[i]);
    free(argv);
}

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
    if (rc == 0 && (check_config(&cfg) < 0 || jl_config_load_secrets(&cfg) < 0))
        rc = -1;
    if (rc != 0) {
        jl_config_free(&cfg);
        return rc > 0 ? 0 : 2;
    }
    if (cfg.test_config) {
        jl_token_keys_t *keys;
        jl_acl_t acl;
        rc = load_tokens(&cfg, &keys) < 0 ? 2 : 0;
        jl_token_keys_free(keys);
        if (jl_acl_load(&acl, &cfg, jl_resp_command_known) < 0)
            rc = 2;
        jl_acl_free(&acl);
        if (rc == 0)
            printf("jugglite: the configuration is valid\n");
        jl_config_free(&cfg);
        return rc;
    }
    log_configure(&cfg);
    char **args = argv_copy(argc, argv);
    int scrubbed = jl_config_scrub_argv(argc, argv);
    if (cfg.log_file && jl_log_open(cfg.log_file) < 0) {
        fprintf(stderr, "jugglite: --log-file %s: %s\n", cfg.log_file, strerror(errno));
        argv_free(argc, args);
        jl_config_free(&cfg);
        return 2;
    }
    if (scrubbed)
        jl_log_warn("a secret was given on the command line (--requirepass, --publish-token or a "
                    "password in --upstream): it is blanked in argv now, but was readable in ps "
                    "until this point; prefer the -file options or JUGGLITE_* variables");
    jl_acl_t acl;
    if (jl_acl_load(&acl, &cfg, jl_resp_command_known) < 0) {
        jl_acl_free(&acl);
        argv_free(argc, args);
        jl_config_free(&cfg);
        return 2;
    }
    rc = serve(&cfg, &acl, argc, args);
    jl_acl_free(&acl);
    argv_free(argc, args);
    jl_config_free(&cfg);
    return rc;
}
