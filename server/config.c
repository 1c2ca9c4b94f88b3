/* config.c -- defaults, option parsing and --help (see config.h).
 *
 * The option names users already type come from Jugglite (--address, --port,
 * --socket, --max-conns, --namespace, --allowed-channels); the RESP side
 * uses a resp- prefix. Defaults are the safe ones: RESP on loopback only,
 * HTTP publishing off until a token is set. */
#include "server/config.h"
#include "server/log.h"
#include "server/util.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char usage_text[] =
    "Usage: jugglite [options]\n"
    "\n"
    "Pushes messages published over the Redis protocol to browsers (Server-Sent Events).\n"
    "\n"
    "RESP (Redis protocol) listener:\n"
    "  --resp-address ADDR       bind address (default 127.0.0.1)\n"
    "  --resp-port N             port; 0 picks a free one, -1 disables (default 6380)\n"
    "  --resp-socket PATH        also listen on a unix socket\n"
    "  --requirepass PASS        clients must AUTH with this password\n"
    "\n"
    "SSE (HTTP) listener:\n"
    "  -a, --address ADDR        bind address (default 0.0.0.0)\n"
    "  -p, --port N              port; 0 picks a free one, -1 disables (default 3000)\n"
    "  -S, --socket PATH         also listen on a unix socket\n"
    "  --path PATH               SSE stream path (default /stream)\n"
    "  --keepalive SECONDS       keepalive comment interval (default 20)\n"
    "  --namespace PREFIX        prefix added to every channel an SSE client asks for\n"
    "  --allowed-channels A,B    SSE clients may only subscribe to these channels\n"
    "  --allow-patterns          allow ?pattern= glob subscriptions over SSE\n"
    "  --publish-token TOKEN     enable POST publishing with 'Authorization: Bearer TOKEN'\n"
    "  --publish-path PATH       HTTP publish path (default /publish)\n"
    "  --cors-origin ORIGIN      allow this origin (repeatable; '*' for any)\n"
    "  --longpoll-delay SECONDS  close long-poll responses this long after an event (default 0.25)\n"
    "  --retry MS                retry: sent when shedding load or shutting down (default 3000)\n"
    "  --max-stream-channels N   most channels + patterns one SSE request subscribes to (default 256)\n"
    "\n"
    "Limits:\n"
    "  --max-conns N             maximum connections, both listeners (default 10000)\n"
    "  --max-message-size SIZE   largest message / bulk argument (default 512mb)\n"
    "  --max-args N              most arguments in one RESP command (default 1048576)\n"
    "  --max-inline SIZE         longest inline RESP command (default 64kb)\n"
    "  --query-buffer-limit SIZE most unparsed input held per client (default 1gb)\n"
    "  --obuf-hard SIZE          drop a client whose pending output exceeds this (default 32mb)\n"
    "  --obuf-soft SIZE          ... or stays above this (default 8mb)\n"
    "  --obuf-soft-seconds S     ... for this long (default 60)\n"
    "  --max-header-size SIZE    largest HTTP request head (default 16kb)\n"
    "  --head-timeout SECONDS    time allowed to send an HTTP request head (default 10)\n"
    "  --idle-timeout SECONDS    close non-subscribed idle clients (default 0: never)\n"
    "  --shutdown-timeout S      longest clean shutdown on SIGTERM (default 5)\n"
    "\n"
    "Upstream (several nodes sharing channels through Redis):\n"
    "  --upstream URL            redis://[[user]:pass@]host[:port] or unix:///path\n"
    "  --upstream-linger S       keep an unused upstream subscription this long (default 30)\n"
    "  --upstream-backoff-min S  first reconnect delay (default 0.1)\n"
    "  --upstream-backoff-max S  longest reconnect delay (default 10)\n"
    "\n"
    "  --log-level LEVEL         debug, info, warn or error (default info)\n"
    "  -h, --help                this text\n"
    "  -v, --version             print the version\n";

enum {
    OPT_RESP_ADDRESS = 256, OPT_RESP_PORT, OPT_RESP_SOCKET, OPT_REQUIREPASS, OPT_PATH,
    OPT_KEEPALIVE, OPT_NAMESPACE, OPT_ALLOWED, OPT_ALLOW_PATTERNS, OPT_PUBLISH_TOKEN,
    OPT_PUBLISH_PATH, OPT_CORS, OPT_LONGPOLL, OPT_RETRY, OPT_MAX_CONNS, OPT_MAX_MESSAGE,
    OPT_MAX_ARGS, OPT_MAX_INLINE, OPT_QBUF, OPT_OBUF_HARD, OPT_OBUF_SOFT, OPT_OBUF_SECS,
    OPT_MAX_HEAD, OPT_HEAD_TIMEOUT, OPT_MAX_STREAM_CHANNELS, OPT_IDLE_TIMEOUT, OPT_SHUTDOWN_TIMEOUT, OPT_UPSTREAM,
    OPT_LINGER, OPT_BACKOFF_MIN, OPT_BACKOFF_MAX, OPT_LOG_LEVEL
};

static const struct option long_options[] = {
    {"resp-address", required_argument, NULL, OPT_RESP_ADDRESS},
    {"resp-port", required_argument, NULL, OPT_RESP_PORT},
    {"resp-socket", required_argument, NULL, OPT_RESP_SOCKET},
    {"requirepass", required_argument, NULL, OPT_REQUIREPASS},
    {"address", required_argument, NULL, 'a'},
    {"port", required_argument, NULL, 'p'},
    {"socket", required_argument, NULL, 'S'},
    {"path", required_argument, NULL, OPT_PATH},
    {"keepalive", required_argument, NULL, OPT_KEEPALIVE},
    {"namespace", required_argument, NULL, OPT_NAMESPACE},
    {"allowed-channels", required_argument, NULL, OPT_ALLOWED},
    {"allow-patterns", no_argument, NULL, OPT_ALLOW_PATTERNS},
    {"publish-token", required_argument, NULL, OPT_PUBLISH_TOKEN},
    {"publish-path", required_argument, NULL, OPT_PUBLISH_PATH},
    {"cors-origin", required_argument, NULL, OPT_CORS},
    {"longpoll-delay", required_argument, NULL, OPT_LONGPOLL},
    {"retry", required_argument, NULL, OPT_RETRY},
    {"max-conns", required_argument, NULL, OPT_MAX_CONNS},
    {"max-stream-channels", required_argument, NULL, OPT_MAX_STREAM_CHANNELS},
    {"max-message-size", required_argument, NULL, OPT_MAX_MESSAGE},
    {"max-args", required_argument, NULL, OPT_MAX_ARGS},
    {"max-inline", required_argument, NULL, OPT_MAX_INLINE},
    {"query-buffer-limit", required_argument, NULL, OPT_QBUF},
    {"obuf-hard", required_argument, NULL, OPT_OBUF_HARD},
    {"obuf-soft", required_argument, NULL, OPT_OBUF_SOFT},
    {"obuf-soft-seconds", required_argument, NULL, OPT_OBUF_SECS},
    {"max-header-size", required_argument, NULL, OPT_MAX_HEAD},
    {"head-timeout", required_argument, NULL, OPT_HEAD_TIMEOUT},
    {"idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT},
    {"shutdown-timeout", required_argument, NULL, OPT_SHUTDOWN_TIMEOUT},
    {"upstream", required_argument, NULL, OPT_UPSTREAM},
    {"upstream-linger", required_argument, NULL, OPT_LINGER},
    {"upstream-backoff-min", required_argument, NULL, OPT_BACKOFF_MIN},
    {"upstream-backoff-max", required_argument, NULL, OPT_BACKOFF_MAX},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'v'},
    {NULL, 0, NULL, 0},
};

long long jl_config_parse_size(const char *s)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || v < 0)
        return -1;
    static const struct { const char *unit; long long mul; } units[] = {
        {"", 1}, {"b", 1}, {"k", 1000}, {"kb", 1024}, {"m", 1000000}, {"mb", 1024 * 1024},
        {"g", 1000000000LL}, {"gb", 1024LL * 1024 * 1024},
    };
    for (size_t i = 0; i < JL_ARRAY_LEN(units); i++) {
        if (strcasecmp(end, units[i].unit) != 0)
            continue;
        if (v > (1LL << 62) / units[i].mul)
            return -1;
        return v * units[i].mul;
    }
    return -1;
}

static int parse_double(const char *s, double min, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || v < min)
        return -1;
    *out = v;
    return 0;
}

static int parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static void set_str(char **dst, const char *s)
{
    free(*dst);
    *dst = jl_strndup(s, strlen(s));
}

static void push_str(char ***list, size_t *n, const char *s, size_t len)
{
    *list = jl_realloc(*list, (*n + 1) * sizeof **list);
    (*list)[(*n)++] = jl_strndup(s, len);
}

static void split_list(char ***list, size_t *n, const char *s)
{
    for (;;) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        push_str(list, n, s, len);
        if (!comma)
            return;
        s = comma + 1;
    }
}

static void set_defaults(jl_config_t *c)
{
    memset(c, 0, sizeof *c);
    set_str(&c->resp_address, "127.0.0.1");
    c->resp_port = 6380;
    set_str(&c->address, "0.0.0.0");
    c->port = 3000;
    set_str(&c->path, "/stream");
    c->keepalive = 20;
    set_str(&c->namespace_, "");
    set_str(&c->publish_path, "/publish");
    c->longpoll_delay = 0.25;
    c->retry_ms = 3000;
    c->max_stream_channels = 256;
    c->max_conns = 10000;
    c->max_message = 512u * 1024 * 1024;
    c->max_args = 1024 * 1024;
    c->max_inline = 64 * 1024;
    c->query_buffer_limit = 1024u * 1024 * 1024;
    c->obuf_hard = 32u * 1024 * 1024;
    c->obuf_soft = 8u * 1024 * 1024;
    c->obuf_soft_seconds = 60;
    c->max_head = 16 * 1024;
    c->head_timeout = 10;
    c->idle_timeout = 0;
    c->shutdown_timeout = 5;
    c->upstream_linger = 30;
    c->upstream_backoff_min = 0.1;
    c->upstream_backoff_max = 10;
    c->log_level = JL_LOG_INFO;
}

static int bad(const char *opt, const char *val)
{
    fprintf(stderr, "jugglite: invalid value '%s' for --%s (see --help)\n", val, opt);
    return -1;
}

static int set_size(size_t *dst, const char *opt, const char *val, long long min)
{
    long long v = jl_config_parse_size(val);
    if (v < min)
        return bad(opt, val);
    *dst = (size_t)v;
    return 0;
}

static int apply(jl_config_t *c, int opt, const char *arg)
{
    long l;
    switch (opt) {
    case OPT_RESP_ADDRESS: set_str(&c->resp_address, arg); return 0;
    case OPT_RESP_PORT:
        if (parse_long(arg, -1, 65535, &l)) return bad("resp-port", arg);
        c->resp_port = (int)l; return 0;
    case OPT_RESP_SOCKET: set_str(&c->resp_socket, arg); return 0;
    case OPT_REQUIREPASS: set_str(&c->requirepass, arg); return 0;
    case 'a': set_str(&c->address, arg); return 0;
    case 'p':
        if (parse_long(arg, -1, 65535, &l)) return bad("port", arg);
        c->port = (int)l; return 0;
    case 'S': set_str(&c->socket, arg); return 0;
    case OPT_PATH:
        if (arg[0] != '/') return bad("path", arg);
        set_str(&c->path, arg); return 0;
    case OPT_KEEPALIVE:
        if (parse_double(arg, 0.01, &c->keepalive)) return bad("keepalive", arg);
        return 0;
    case OPT_NAMESPACE: set_str(&c->namespace_, arg); return 0;
    case OPT_ALLOWED: split_list(&c->allowed_channels, &c->n_allowed_channels, arg); return 0;
    case OPT_ALLOW_PATTERNS: c->allow_patterns = 1; return 0;
    case OPT_PUBLISH_TOKEN:
        if (!*arg) return bad("publish-token", arg);
        set_str(&c->publish_token, arg); return 0;
    case OPT_PUBLISH_PATH:
        if (arg[0] != '/') return bad("publish-path", arg);
        set_str(&c->publish_path, arg); return 0;
    case OPT_CORS: push_str(&c->cors_origins, &c->n_cors_origins, arg, strlen(arg)); return 0;
    case OPT_LONGPOLL:
        if (parse_double(arg, 0, &c->longpoll_delay)) return bad("longpoll-delay", arg);
        return 0;
    case OPT_RETRY:
        if (parse_long(arg, 0, 86400000, &l)) return bad("retry", arg);
        c->retry_ms = (unsigned)l; return 0;
    case OPT_MAX_CONNS:
        if (parse_long(arg, 1, 100000000, &l)) return bad("max-conns", arg);
        c->max_conns = l; return 0;
    case OPT_MAX_STREAM_CHANNELS:
        if (parse_long(arg, 1, 1L << 20, &l)) return bad("max-stream-channels", arg);
        c->max_stream_channels = (size_t)l; return 0;
    case OPT_MAX_MESSAGE: return set_size(&c->max_message, "max-message-size", arg, 1);
    case OPT_MAX_ARGS:
        if (parse_long(arg, 1, 1L << 30, &l)) return bad("max-args", arg);
        c->max_args = (size_t)l; return 0;
    case OPT_MAX_INLINE: return set_size(&c->max_inline, "max-inline", arg, 16);
    case OPT_QBUF: return set_size(&c->query_buffer_limit, "query-buffer-limit", arg, 1024);
    case OPT_OBUF_HARD: return set_size(&c->obuf_hard, "obuf-hard", arg, 0);
    case OPT_OBUF_SOFT: return set_size(&c->obuf_soft, "obuf-soft", arg, 0);
    case OPT_OBUF_SECS:
        if (parse_double(arg, 0, &c->obuf_soft_seconds)) return bad("obuf-soft-seconds", arg);
        return 0;
    case OPT_MAX_HEAD: return set_size(&c->max_head, "max-header-size", arg, 256);
    case OPT_HEAD_TIMEOUT:
        if (parse_double(arg, 0.01, &c->head_timeout)) return bad("head-timeout", arg);
        return 0;
    case OPT_IDLE_TIMEOUT:
        if (parse_double(arg, 0, &c->idle_timeout)) return bad("idle-timeout", arg);
        return 0;
    case OPT_SHUTDOWN_TIMEOUT:
        if (parse_double(arg, 0, &c->shutdown_timeout)) return bad("shutdown-timeout", arg);
        return 0;
    case OPT_UPSTREAM: set_str(&c->upstream, arg); return 0;
    case OPT_LINGER:
        if (parse_double(arg, 0, &c->upstream_linger)) return bad("upstream-linger", arg);
        return 0;
    case OPT_BACKOFF_MIN:
        if (parse_double(arg, 0.001, &c->upstream_backoff_min)) return bad("upstream-backoff-min", arg);
        return 0;
    case OPT_BACKOFF_MAX:
        if (parse_double(arg, 0.001, &c->upstream_backoff_max)) return bad("upstream-backoff-max", arg);
        return 0;
    case OPT_LOG_LEVEL:
        if ((c->log_level = jl_log_parse_level(arg)) < 0) return bad("log-level", arg);
        return 0;
    default:
        return -1;
    }
}

int jl_config_parse(jl_config_t *cfg, int argc, char **argv)
{
    set_defaults(cfg);
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "a:p:S:hv", long_options, NULL)) != -1) {
        if (opt == 'h') {
            fputs(usage_text, stdout);
            return 1;
        }
        if (opt == 'v') {
            printf("jugglite %s\n", JL_VERSION);
            return 1;
        }
        if (opt == '?') {
            fprintf(stderr, "Try 'jugglite --help'.\n");
            return -1;
        }
        if (apply(cfg, opt, optarg) < 0)
            return -1;
    }
    if (optind < argc) {
        fprintf(stderr, "jugglite: unexpected argument '%s' (see --help)\n", argv[optind]);
        return -1;
    }
    if (cfg->obuf_soft > cfg->obuf_hard && cfg->obuf_hard) {
        fprintf(stderr, "jugglite: --obuf-soft must not exceed --obuf-hard\n");
        return -1;
    }
    return 0;
}

static void free_list(char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

void jl_config_free(jl_config_t *c)
{
    free(c->resp_address);
    free(c->resp_socket);
    free(c->requirepass);
    free(c->address);
    free(c->socket);
    free(c->path);
    free(c->namespace_);
    free_list(c->allowed_channels, c->n_allowed_channels);
    free(c->publish_token);
    free(c->publish_path);
    free_list(c->cors_origins, c->n_cors_origins);
    free(c->upstream);
    memset(c, 0, sizeof *c);
}
