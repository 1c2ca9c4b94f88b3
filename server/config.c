/* config.c -- defaults, option parsing and --help (see config.h).
 *
 * The option names users already type come from Jugglite (--address, --port,
 * --socket, --max-conns, --namespace, --allowed-channels); the RESP side
 * uses a resp- prefix. Defaults are the safe ones: RESP on loopback only,
 * HTTP publishing off until a token is set.
 *
 * Every option is one row of options[] below: its name, how its argument is
 * read and checked, the field it lands in, its default and its --help line.
 * The getopt_long array, --help, the defaults, validation and freeing are all
 * generated from that table, so adding an option means adding one row.
 * A default is written as the text a user would type and goes through the
 * same parsing as argv, so a default can never be one the parser refuses. */
#include "server/config.h"
#include "server/log.h"
#include "server/strconv.h"
#include "server/util.h"

#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* How an option's argument is read, and the type of the field it fills. */
typedef enum {
    OPT_STRING,     /* char *: any text */
    OPT_PATH,       /* char *: must start with '/' */
    OPT_TOKEN,      /* char *: must not be empty */
    OPT_INT,        /* int: an integer in [min, max] */
    OPT_UINT,       /* unsigned: an integer in [min, max] */
    OPT_LONG,       /* long: an integer in [min, max] */
    OPT_COUNT,      /* size_t: an integer in [min, max] */
    OPT_BYTES,      /* size_t: "512mb", "8kb", "100" (jl_config_parse_size), >= min */
    OPT_DOUBLE,     /* double: a number >= dmin */
    OPT_FLAG,       /* int: set to 1; takes no argument */
    OPT_LIST,       /* char ** + size_t count: "a,b" appends a and b */
    OPT_REPEAT,     /* char ** + size_t count: each use appends its argument */
    OPT_LOG_LEVEL,  /* int: debug, info, warn or error */
    OPT_LOG_FORMAT, /* int: text or json */
    OPT_HELP,       /* prints --help; no field, no argument */
    OPT_VERSION,    /* prints the version; no field, no argument */
} opt_kind_t;

typedef struct {
    const char *heading;    /* printed before this option, after a blank line;
                               "" prints the blank line only */
    const char *name;       /* long name, without "--" */
    char flag;              /* short flag, or 0 */
    opt_kind_t kind;
    size_t at;              /* offset of the field in jl_config_t */
    size_t count_at;        /* OPT_LIST, OPT_REPEAT: offset of the item count */
    const char *def;        /* default, as typed on the command line; NULL: 0 */
    const char *def_means;  /* shown as "(default DEF: DEF_MEANS)" */
    long long min, max;     /* OPT_INT .. OPT_COUNT; OPT_BYTES uses min only */
    double dmin;            /* OPT_DOUBLE */
    const char *metavar;    /* argument's name in --help; NULL for no argument */
    const char *help;
    uint8_t live;           /* a reload (SIGHUP) changes it in the running server */
    uint8_t secret;         /* its value is scrubbed from argv (jl_config_scrub_argv) */
} opt_t;

#define FIELD(f) offsetof(jl_config_t, f)

static const opt_t options[] = {
    {.heading = "RESP (Redis protocol) listener:",
     .name = "resp-address", .kind = OPT_STRING, .at = FIELD(resp_address), .def = "127.0.0.1",
     .metavar = "ADDR", .help = "bind address"},
    {.name = "resp-port", .kind = OPT_INT, .at = FIELD(resp_port), .def = "6380",
     .min = -1, .max = 65535,
     .metavar = "N", .help = "port; 0 picks a free one, -1 disables"},
    {.name = "resp-socket", .kind = OPT_STRING, .at = FIELD(resp_socket),
     .metavar = "PATH", .help = "also listen on a unix socket"},
    {.name = "resp-tls-port", .kind = OPT_INT, .at = FIELD(resp_tls_port), .def = "-1",
     .min = -1, .max = 65535,
     .metavar = "N", .help = "also RESP over TLS on this port (redis-cli --tls); -1: none"},
    {.name = "requirepass", .secret = 1, .kind = OPT_STRING, .at = FIELD(requirepass),
     .metavar = "PASS", .help = "clients must AUTH with this password"},
    {.name = "requirepass-file", .kind = OPT_PATH, .at = FIELD(requirepass_file),
     .metavar = "PATH", .help = "... the password read from this file (first line)"},
    {.name = "aclfile", .kind = OPT_PATH, .at = FIELD(aclfile),
     .metavar = "PATH", .help = "ACL users, one Redis 'user NAME rules...' line each"},
    {.name = "user", .kind = OPT_REPEAT, .at = FIELD(users), .count_at = FIELD(n_users),
     .metavar = "RULES", .help = "an ACL user: 'alice on >pass &chat:* +@pubsub' (repeatable)"},

    {.heading = "SSE (HTTP) listener:",
     .name = "address", .flag = 'a', .kind = OPT_STRING, .at = FIELD(address), .def = "0.0.0.0",
     .metavar = "ADDR", .help = "bind address"},
    {.name = "port", .flag = 'p', .kind = OPT_INT, .at = FIELD(port), .def = "3000",
     .min = -1, .max = 65535,
     .metavar = "N", .help = "port; 0 picks a free one, -1 disables"},
    {.name = "tls-port", .kind = OPT_INT, .at = FIELD(tls_port), .def = "-1",
     .min = -1, .max = 65535,
     .metavar = "N", .help = "also HTTPS on this port (--port -1: HTTPS only); -1: none"},
    {.name = "h2c", .kind = OPT_FLAG, .at = FIELD(h2c),
     .help = "also HTTP/2 without TLS, prior knowledge (curl --http2-prior-knowledge)"},
    {.name = "tls-cert-file", .live = 1, .kind = OPT_STRING, .at = FIELD(tls_cert_file),
     .metavar = "PATH", .help = "PEM certificate chain of the TLS ports (reread on SIGHUP)"},
    {.name = "tls-key-file", .live = 1, .kind = OPT_STRING, .at = FIELD(tls_key_file),
     .metavar = "PATH", .help = "its private key (default: in the same file)"},
    {.name = "socket", .flag = 'S', .kind = OPT_STRING, .at = FIELD(socket),
     .metavar = "PATH", .help = "also listen on a unix socket"},
    {.name = "path", .kind = OPT_PATH, .at = FIELD(path), .def = "/stream",
     .metavar = "PATH", .help = "SSE stream path"},
    {.name = "keepalive", .kind = OPT_DOUBLE, .at = FIELD(keepalive), .def = "20", .dmin = 0.01,
     .metavar = "SECONDS", .help = "keepalive comment interval"},
    {.name = "namespace", .kind = OPT_STRING, .at = FIELD(namespace_), .def = "",
     .metavar = "PREFIX", .help = "prefix added to every channel an SSE client asks for"},
    {.name = "allowed-channels", .live = 1, .kind = OPT_LIST, .at = FIELD(allowed_channels),
     .count_at = FIELD(n_allowed_channels),
     .metavar = "A,B", .help = "SSE clients may only subscribe to these channels"},
    {.name = "allow-patterns", .live = 1, .kind = OPT_FLAG, .at = FIELD(allow_patterns),
     .help = "allow ?pattern= glob subscriptions over SSE"},
    {.name = "publish-token", .live = 1, .secret = 1, .kind = OPT_TOKEN, .at = FIELD(publish_token),
     .metavar = "TOKEN", .help = "enable POST publishing with 'Authorization: Bearer TOKEN'"},
    {.name = "publish-token-file", .live = 1, .kind = OPT_PATH, .at = FIELD(publish_token_file),
     .metavar = "PATH", .help = "... the token read from this file (first line; reread on SIGHUP)"},
    {.name = "publish-path", .kind = OPT_PATH, .at = FIELD(publish_path), .def = "/publish",
     .metavar = "PATH", .help = "HTTP publish path"},
    {.name = "metrics", .live = 1, .kind = OPT_FLAG, .at = FIELD(metrics),
     .help = "serve Prometheus metrics at GET /metrics"},
    {.name = "metrics-token-file", .live = 1, .kind = OPT_STRING, .at = FIELD(metrics_token_file),
     .metavar = "FILE", .help = "/metrics wants 'Authorization: Bearer <FILE's first line>'"},
    {.name = "cors-origin", .live = 1, .kind = OPT_REPEAT, .at = FIELD(cors_origins),
     .count_at = FIELD(n_cors_origins),
     .metavar = "ORIGIN", .help = "allow this origin (repeatable; '*' for any)"},
    {.name = "longpoll-delay", .live = 1, .kind = OPT_DOUBLE, .at = FIELD(longpoll_delay), .def = "0.25",
     .metavar = "SECONDS", .help = "close long-poll responses this long after an event"},
    {.name = "retry", .live = 1, .kind = OPT_UINT, .at = FIELD(retry_ms), .def = "3000",
     .min = 0, .max = 86400000,
     .metavar = "MS", .help = "retry: sent when shedding load or shutting down"},
    {.name = "max-stream-channels", .kind = OPT_COUNT, .at = FIELD(max_stream_channels),
     .def = "256", .min = 1, .max = 1L << 20,
     .metavar = "N", .help = "most channels + patterns one SSE request subscribes to"},

    {.heading = "Browser tokens (signed JWTs carrying channel rules, see docs/security.md):",
     .name = "token-key", .kind = OPT_REPEAT, .at = FIELD(token_keys),
     .count_at = FIELD(n_token_keys),
     .metavar = "[KID=]FILE", .help = "verify tokens with this key (repeatable; FILE or env:VAR)"},
    {.name = "token-cookie", .kind = OPT_TOKEN, .at = FIELD(token_cookie),
     .def = "jugglite_token",
     .metavar = "NAME", .help = "cookie a stream's token is read from"},
    {.name = "token-param", .kind = OPT_TOKEN, .at = FIELD(token_param),
     .metavar = "NAME", .help = "also read a stream's token from this query parameter"},
    {.name = "token-required", .kind = OPT_FLAG, .at = FIELD(token_required),
     .help = "refuse streams without a valid token (401)"},

    {.name = "auth-url", .kind = OPT_STRING, .at = FIELD(auth_url),
     .metavar = "URL", .help = "ask the app (POST) whether each new stream may open"},
    {.name = "auth-timeout", .kind = OPT_DOUBLE, .at = FIELD(auth_timeout), .def = "2",
     .dmin = 0.01, .metavar = "S", .help = "no answer from --auth-url by then: shed the stream"},
    {.name = "auth-cache", .kind = OPT_DOUBLE, .at = FIELD(auth_cache), .def = "5",
     .dmin = 0, .metavar = "S", .help = "keep the app's decisions this long (0: ask every time)"},

    {.heading = "Limits:",
     .name = "max-conns", .kind = OPT_LONG, .at = FIELD(max_conns), .def = "10000",
     .min = 1, .max = 100000000,
     .metavar = "N", .help = "maximum connections, both listeners"},
    {.name = "tcp-backlog", .kind = OPT_INT, .at = FIELD(tcp_backlog), .def = "4096",
     .min = 1, .max = 65535,
     .metavar = "N", .help = "listen queue of each listener (the kernel caps it: somaxconn)"},
    {.name = "max-message-size", .kind = OPT_BYTES, .at = FIELD(max_message), .def = "512mb",
     .min = 1,
     .metavar = "SIZE", .help = "largest published message (RESP or HTTP)"},
    {.name = "max-bulk", .kind = OPT_BYTES, .at = FIELD(max_bulk), .def = "512mb",
     .min = 1024,
     .metavar = "SIZE", .help = "largest RESP bulk argument (>= --max-message-size)"},
    {.name = "max-args", .kind = OPT_COUNT, .at = FIELD(max_args), .def = "1048576",
     .min = 1, .max = 1L << 30,
     .metavar = "N", .help = "most arguments in one RESP command"},
    {.name = "max-inline", .kind = OPT_BYTES, .at = FIELD(max_inline), .def = "64kb",
     .min = 16,
     .metavar = "SIZE", .help = "longest inline RESP command"},
    {.name = "query-buffer-limit", .kind = OPT_BYTES, .at = FIELD(query_buffer_limit),
     .def = "1gb", .min = 1024,
     .metavar = "SIZE", .help = "most unparsed input held per client"},
    {.name = "obuf-hard", .live = 1, .kind = OPT_BYTES, .at = FIELD(obuf_hard), .def = "32mb",
     .min = 0,
     .metavar = "SIZE", .help = "drop a client whose pending output exceeds this"},
    {.name = "obuf-soft", .live = 1, .kind = OPT_BYTES, .at = FIELD(obuf_soft), .def = "8mb",
     .min = 0,
     .metavar = "SIZE", .help = "... or stays above this"},
    {.name = "obuf-soft-seconds", .live = 1, .kind = OPT_DOUBLE, .at = FIELD(obuf_soft_seconds),
     .def = "60", .dmin = 0,
     .metavar = "S", .help = "... for this long"},
    {.name = "max-header-size", .kind = OPT_BYTES, .at = FIELD(max_head), .def = "16kb",
     .min = 256,
     .metavar = "SIZE", .help = "largest HTTP request head"},
    {.name = "head-timeout", .kind = OPT_DOUBLE, .at = FIELD(head_timeout), .def = "10",
     .dmin = 0.01,
     .metavar = "SECONDS", .help = "time allowed to send an HTTP request head"},
    {.name = "idle-timeout", .kind = OPT_DOUBLE, .at = FIELD(idle_timeout), .def = "0",
     .def_means = "never", .dmin = 0,
     .metavar = "SECONDS", .help = "close non-subscribed idle clients"},
    {.name = "shutdown-timeout", .kind = OPT_DOUBLE, .at = FIELD(shutdown_timeout), .def = "5",
     .dmin = 0,
     .metavar = "S", .help = "longest clean shutdown on SIGTERM"},
    {.name = "flush-slice", .kind = OPT_COUNT, .at = FIELD(flush_slice), .def = "64",
     .min = 1, .max = 100000000,
     .metavar = "N", .help = "subscribers written per loop pass before input is read again"},

    {.heading = "History (what a reconnecting stream is sent, see docs/history.md):",
     .name = "history-size", .kind = OPT_COUNT, .at = FIELD(history_size), .def = "1000",
     .min = 0, .max = 100000000,
     .metavar = "N", .help = "events kept per channel (0: ids, no history)"},
    {.name = "history-bytes", .kind = OPT_BYTES, .at = FIELD(history_bytes), .def = "1mb",
     .min = 0,
     .metavar = "SIZE", .help = "event bytes kept per channel"},
    {.name = "history-age", .kind = OPT_DOUBLE, .at = FIELD(history_age), .def = "300",
     .dmin = 0,
     .metavar = "SECONDS", .help = "how long an event is kept (0: no age limit)"},
    {.name = "history-memory", .kind = OPT_BYTES, .at = FIELD(history_memory), .def = "64mb",
     .min = 0,
     .metavar = "SIZE", .help = "memory for the whole history (oldest events go first)"},
    {.name = "history-file", .kind = OPT_PATH, .at = FIELD(history_file),
     .metavar = "PATH", .help = "written on a clean shutdown, read (and removed) at start"},

    {.heading = "Upstream (several nodes sharing channels through Redis):",
     .name = "upstream", .secret = 1, .kind = OPT_STRING, .at = FIELD(upstream),
     .metavar = "URL", .help = "redis://[[user]:pass@]host[:port] or unix:///path"},
    {.name = "upstream-ca", .kind = OPT_STRING, .at = FIELD(upstream_ca),
     .metavar = "PATH", .help = "rediss://: CA file to verify Redis with (default: system's)"},
    {.name = "upstream-cert", .kind = OPT_STRING, .at = FIELD(upstream_cert),
     .metavar = "PATH", .help = "rediss://: a client certificate (PEM) to present"},
    {.name = "upstream-key", .kind = OPT_STRING, .at = FIELD(upstream_key),
     .metavar = "PATH", .help = "its private key (default: in the same file)"},
    {.name = "upstream-pass-file", .kind = OPT_PATH, .at = FIELD(upstream_password_file),
     .metavar = "PATH", .help = "the upstream's password, from this file (first line)"},
    {.name = "upstream-linger", .kind = OPT_DOUBLE, .at = FIELD(upstream_linger), .def = "30",
     .dmin = 0,
     .metavar = "S", .help = "keep an unused upstream subscription this long"},
    {.name = "upstream-backoff-min", .kind = OPT_DOUBLE, .at = FIELD(upstream_backoff_min),
     .def = "0.1", .dmin = 0.001,
     .metavar = "S", .help = "first reconnect delay"},
    {.name = "upstream-backoff-max", .kind = OPT_DOUBLE, .at = FIELD(upstream_backoff_max),
     .def = "10", .dmin = 0.001,
     .metavar = "S", .help = "longest reconnect delay"},
    {.name = "presence-ttl", .kind = OPT_DOUBLE, .at = FIELD(presence_ttl), .def = "30",
     .dmin = 1,
     .metavar = "S", .help = "a bridged node silent this long is gone"},

    {.heading = "",
     .name = "config", .kind = OPT_STRING, .at = FIELD(config_file),
     .metavar = "FILE", .help = "read options from FILE first (flags > env > file)"},
    {.name = "test-config", .kind = OPT_FLAG, .at = FIELD(test_config),
     .help = "check the configuration, then exit (0: valid)"},
    {.name = "log-level", .live = 1, .kind = OPT_LOG_LEVEL, .at = FIELD(log_level), .def = "info",
     .metavar = "LEVEL", .help = "debug, info, warn or error"},
    {.name = "log-format", .live = 1, .kind = OPT_LOG_FORMAT, .at = FIELD(log_format),
     .def = "text", .metavar = "FORMAT", .help = "text, or json: one JSON object per line"},
    {.name = "lifecycle-events", .live = 1, .kind = OPT_FLAG, .at = FIELD(lifecycle_events),
     .help = "publish subscribers' connects/disconnects on __jugglite__:*"},
    {.name = "access-log", .live = 1, .kind = OPT_FLAG, .at = FIELD(access_log),
     .help = "one INFO line per SSE stream when it ends (peer, user, channels, ...)"},
    {.name = "log-file", .kind = OPT_STRING, .at = FIELD(log_file),
     .metavar = "PATH", .help = "append log lines to PATH (reopened on SIGUSR1/SIGHUP)"},
    {.name = "help", .flag = 'h', .kind = OPT_HELP, .help = "this text"},
    {.name = "version", .flag = 'v', .kind = OPT_VERSION, .help = "print the version"},
};

#define N_OPTIONS JL_ARRAY_LEN(options)

/* getopt_long's value for an option without a short flag: past any char. */
enum { LONG_ONLY_BASE = 256 };

/* Width of "-a, --address ADDR" in --help before the text starts. */
enum { HELP_LEFT_WIDTH = 25 };

static const char usage_intro[] =
    "Usage: jugglite [options]\n"
    "\n"
    "Pushes messages published over the Redis protocol to browsers (Server-Sent Events).\n";

long long jl_config_parse_size(const char *s)
{
    size_t digits = strspn(s, "0123456789");
    long long v;
    if (jl_strtoll(s, digits, &v) != JL_OK)
        return -1;
    static const struct { const char *unit; long long mul; } units[] = {
        {"", 1}, {"b", 1}, {"k", 1000}, {"kb", 1024}, {"m", 1000000}, {"mb", 1024 * 1024},
        {"g", 1000000000LL}, {"gb", 1024LL * 1024 * 1024},
    };
    for (size_t i = 0; i < JL_ARRAY_LEN(units); i++) {
        if (strcasecmp(s + digits, units[i].unit) != 0)
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

static int parse_integer(const char *s, long long min, long long max, long long *out)
{
    long long v;
    if (jl_strtoll(s, strlen(s), &v) != JL_OK || v < min || v > max)
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

static void free_list(char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

static void *field(jl_config_t *c, size_t at)
{
    return (char *)c + at;
}

/* Where values come from, lowest precedence first. */
typedef enum { SRC_DEFAULT, SRC_FILE, SRC_ENV, SRC_ARGV } src_t;

/* One parse: the config being filled, which source set each option last
 * (a list set by a higher source replaces, never extends, a lower one's),
 * and where the value being applied comes from, for error messages. */
typedef struct parse {
    jl_config_t *c;
    uint8_t src[N_OPTIONS];
    char where[320];            /* "FILE:LINE: ", "JUGGLITE_PORT: " or "" */
} parse_t;

static int bad(const parse_t *p, const opt_t *o, const char *val)
{
    fprintf(stderr, "jugglite: %sinvalid value '%s' for --%s (see --help)\n", p->where, val,
            o->name);
    return -1;
}

/* The range check was done by the caller: the value fits the field. */
static void store_integer(jl_config_t *c, const opt_t *o, long long v)
{
    void *dst = field(c, o->at);
    switch (o->kind) {
    case OPT_INT: *(int *)dst = (int)v; return;
    case OPT_UINT: *(unsigned *)dst = (unsigned)v; return;
    case OPT_LONG: *(long *)dst = (long)v; return;
    default: *(size_t *)dst = (size_t)v; return;
    }
}

static int set_integer(parse_t *p, const opt_t *o, const char *arg)
{
    long long v;
    if (parse_integer(arg, o->min, o->max, &v))
        return bad(p, o, arg);
    store_integer(p->c, o, v);
    return 0;
}

static int set_bytes(parse_t *p, const opt_t *o, const char *arg)
{
    long long v = jl_config_parse_size(arg);
    if (v < o->min)
        return bad(p, o, arg);
    *(size_t *)field(p->c, o->at) = (size_t)v;
    return 0;
}

static int set_log_setting(parse_t *p, const opt_t *o, const char *arg)
{
    int v = o->kind == OPT_LOG_LEVEL ? jl_log_parse_level(arg) : jl_log_parse_format(arg);
    if (v < 0)
        return bad(p, o, arg);
    *(int *)field(p->c, o->at) = v;
    return 0;
}

static int set_checked_str(parse_t *p, const opt_t *o, const char *arg)
{
    if (o->kind == OPT_PATH && arg[0] != '/')
        return bad(p, o, arg);
    if (o->kind == OPT_TOKEN && arg[0] == '\0')
        return bad(p, o, arg);
    set_str(field(p->c, o->at), arg);
    return 0;
}

static int set_double(parse_t *p, const opt_t *o, const char *arg)
{
    if (parse_double(arg, o->dmin, field(p->c, o->at)))
        return bad(p, o, arg);
    return 0;
}

/* A flag on the command line takes no value; in a file or the environment
 * it may say yes or no (empty: yes). */
static int set_flag(parse_t *p, const opt_t *o, const char *arg)
{
    static const char *const yes[] = {"", "yes", "true", "on", "1"};
    static const char *const no[] = {"no", "false", "off", "0"};
    for (size_t i = 0; arg && i < JL_ARRAY_LEN(no); i++) {
        if (strcasecmp(arg, no[i]) == 0) {
            *(int *)field(p->c, o->at) = 0;
            return 0;
        }
    }
    for (size_t i = 0; arg && i < JL_ARRAY_LEN(yes); i++)
        if (strcasecmp(arg, yes[i]) == 0)
            arg = NULL;
    if (arg != NULL)
        return bad(p, o, arg);
    *(int *)field(p->c, o->at) = 1;
    return 0;
}

/* Checks 'arg' against o's rules and stores it, as set by source 'src'.
 * Returns 0, or -1 after printing why. OPT_HELP and OPT_VERSION are the
 * caller's business. */
static int apply(parse_t *p, const opt_t *o, const char *arg, src_t src)
{
    size_t row = (size_t)(o - options);
    int is_list = o->kind == OPT_LIST || o->kind == OPT_REPEAT;
    if (is_list && p->src[row] < (uint8_t)src) {
        free_list(*(char ***)field(p->c, o->at), *(size_t *)field(p->c, o->count_at));
        *(char ***)field(p->c, o->at) = NULL;
        *(size_t *)field(p->c, o->count_at) = 0;
    }
    p->src[row] = (uint8_t)src;
    switch (o->kind) {
    case OPT_STRING:
    case OPT_PATH:
    case OPT_TOKEN: return set_checked_str(p, o, arg);
    case OPT_INT:
    case OPT_UINT:
    case OPT_LONG:
    case OPT_COUNT: return set_integer(p, o, arg);
    case OPT_BYTES: return set_bytes(p, o, arg);
    case OPT_DOUBLE: return set_double(p, o, arg);
    case OPT_FLAG: return set_flag(p, o, arg);
    case OPT_LIST: split_list(field(p->c, o->at), field(p->c, o->count_at), arg); return 0;
    case OPT_REPEAT:
        push_str(field(p->c, o->at), field(p->c, o->count_at), arg, strlen(arg));
        return 0;
    case OPT_LOG_LEVEL:
    case OPT_LOG_FORMAT: return set_log_setting(p, o, arg);
    case OPT_HELP:
    case OPT_VERSION: break;
    }
    return -1;
}

static void set_defaults(parse_t *p)
{
    memset(p->c, 0, sizeof *p->c);
    for (size_t i = 0; i < N_OPTIONS; i++) {
        if (options[i].def == NULL)
            continue;
        int rc = apply(p, &options[i], options[i].def, SRC_DEFAULT);
        assert(rc == 0 && "a default the parser refuses");
        (void)rc;
    }
}

static int takes_argument(const opt_t *o)
{
    return o->kind != OPT_FLAG && o->kind != OPT_HELP && o->kind != OPT_VERSION;
}

/* Fills longopts[N_OPTIONS + 1] and shortopts[2 * N_OPTIONS + 1] from the
 * table. An option with a short flag returns that flag, as "-a" does;
 * the others return LONG_ONLY_BASE + their row. */
static void build_getopt(struct option *longopts, char *shortopts)
{
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const opt_t *o = &options[i];
        int has_arg = takes_argument(o) ? required_argument : no_argument;
        int val = o->flag ? o->flag : LONG_ONLY_BASE + (int)i;
        longopts[i] = (struct option){o->name, has_arg, NULL, val};
        if (!o->flag)
            continue;
        *shortopts++ = o->flag;
        if (has_arg)
            *shortopts++ = ':';
    }
    longopts[N_OPTIONS] = (struct option){NULL, 0, NULL, 0};
    *shortopts = '\0';
}

/* The row getopt_long's return value 'val' stands for, or NULL ('?'). */
static const opt_t *option_for(int val)
{
    if (val >= LONG_ONLY_BASE && (size_t)(val - LONG_ONLY_BASE) < N_OPTIONS)
        return &options[val - LONG_ONLY_BASE];
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (options[i].flag && options[i].flag == val)
            return &options[i];
    return NULL;
}

/* "  -a, --address ADDR        bind address (default 0.0.0.0)" */
static void print_option(FILE *out, const opt_t *o)
{
    char flag[8] = "", left[64];
    if (o->flag)
        snprintf(flag, sizeof flag, "-%c, ", o->flag);
    snprintf(left, sizeof left, "%s--%s%s%s", flag, o->name, o->metavar ? " " : "",
             o->metavar ? o->metavar : "");
    fprintf(out, "  %-*s %s", HELP_LEFT_WIDTH, left, o->help);
    if (o->def && *o->def && o->def_means)
        fprintf(out, " (default %s: %s)", o->def, o->def_means);
    else if (o->def && *o->def)
        fprintf(out, " (default %s)", o->def);
    fputc('\n', out);
}

static void print_usage(FILE *out)
{
    fputs(usage_intro, out);
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const char *heading = options[i].heading;
        if (heading)
            fprintf(out, "\n%s%s", heading, *heading ? "\n" : "");
        print_option(out, &options[i]);
    }
}

/* Handles one option getopt_long returned. Returns 0 to go on, 1 after
 * --help/--version, -1 after printing an error. */
static int handle(parse_t *p, int val, const char *arg)
{
    const opt_t *o = option_for(val);
    if (o == NULL) {
        fprintf(stderr, "Try 'jugglite --help'.\n");
        return -1;
    }
    if (o->kind == OPT_HELP) {
        print_usage(stdout);
        return 1;
    }
    if (o->kind == OPT_VERSION) {
        printf("jugglite %s\n", JL_VERSION);
        return 1;
    }
    return apply(p, o, arg, SRC_ARGV);
}

/* getopt names the program by argv[0] in its own messages ("build/jugglite:
 * unrecognized option"); every other message says "jugglite:". So getopt
 * reads a copy of argv whose first word is the program's name. */
static int parse_argv(parse_t *p, int argc, char **argv)
{
    struct option longopts[N_OPTIONS + 1];
    char shortopts[2 * N_OPTIONS + 1];
    char name[] = "jugglite";
    build_getopt(longopts, shortopts);
    argv[0] = name;
    optind = 1;
    int val;
    while ((val = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        int rc = handle(p, val, optarg);
        if (rc != 0)
            return rc;
    }
    if (optind < argc) {
        fprintf(stderr, "jugglite: unexpected argument '%s' (see --help)\n", argv[optind]);
        return -1;
    }
    return 0;
}

/* ---- the config file and the environment ---- */

static const opt_t *option_named(const char *name, size_t len)
{
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (strlen(options[i].name) == len && memcmp(options[i].name, name, len) == 0)
            return &options[i];
    return NULL;
}

/* What neither a file nor the environment may set. */
static int cli_only(const opt_t *o)
{
    return o->kind == OPT_HELP || o->kind == OPT_VERSION || strcmp(o->name, "config") == 0 ||
           strcmp(o->name, "test-config") == 0;
}

/* One "name value" line (value: the rest of the line, outer blanks
 * trimmed). Returns 0 or -1 after printing why. */
static int file_line(parse_t *p, char *line)
{
    char *s = line + strspn(line, " \t");
    size_t end = strcspn(s, "\r\n");
    while (end > 0 && (s[end - 1] == ' ' || s[end - 1] == '\t'))
        end--;
    s[end] = '\0';
    if (*s == '\0' || *s == '#')
        return 0;
    size_t nlen = strcspn(s, " \t");
    char *val = s + nlen + strspn(s + nlen, " \t");
    const opt_t *o = option_named(s, nlen);
    if (o == NULL || cli_only(o)) {
        fprintf(stderr, "jugglite: %s%s '%.*s'\n", p->where,
                o ? "not allowed in a config file:" : "unknown option", (int)nlen, s);
        return -1;
    }
    if (*val == '\0' && o->kind != OPT_FLAG) {
        fprintf(stderr, "jugglite: %s%s needs a value\n", p->where, o->name);
        return -1;
    }
    return apply(p, o, val, SRC_FILE);
}

static int parse_file(parse_t *p, const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "jugglite: --config %s: %s\n", path, strerror(errno));
        return -1;
    }
    char line[8192];
    int rc = 0;
    for (unsigned n = 1; rc == 0 && fgets(line, sizeof line, f); n++) {
        snprintf(p->where, sizeof p->where, "%s:%u: ", path, n);
        if (strlen(line) == sizeof line - 1 && line[sizeof line - 2] != '\n') {
            fprintf(stderr, "jugglite: %sline longer than %zu bytes\n", p->where, sizeof line - 2);
            rc = -1;
        } else {
            rc = file_line(p, line);
        }
    }
    fclose(f);
    p->where[0] = '\0';
    return rc;
}

/* JUGGLITE_<NAME>: the long name in capitals, '-' as '_'. */
static int parse_env(parse_t *p)
{
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const opt_t *o = &options[i];
        if (cli_only(o))
            continue;
        char var[96] = "JUGGLITE_";
        size_t k = strlen(var);
        for (const char *n = o->name; *n && k + 1 < sizeof var; n++)
            var[k++] = *n == '-' ? '_' : (char)(*n >= 'a' && *n <= 'z' ? *n - 'a' + 'A' : *n);
        var[k] = '\0';
        const char *val = getenv(var);
        if (val == NULL)
            continue;
        snprintf(p->where, sizeof p->where, "%s: ", var);
        int rc = apply(p, o, val, SRC_ENV);
        p->where[0] = '\0';
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* The file named by --config FILE / --config=FILE on the command line (the
 * last one), else by JUGGLITE_CONFIG; NULL for none. */
static const char *config_path(int argc, char **argv)
{
    const char *path = getenv("JUGGLITE_CONFIG");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            path = argv[++i];
        else if (strncmp(argv[i], "--config=", 9) == 0)
            path = argv[i] + 9;
    }
    return path && *path ? path : NULL;
}

int jl_config_parse(jl_config_t *cfg, int argc, char **argv)
{
    parse_t p = {.c = cfg};
    set_defaults(&p);
    if (argc < 1)
        return 0;
    const char *file = config_path(argc, argv);
    int rc = file ? parse_file(&p, file) : 0;
    if (rc == 0)
        rc = parse_env(&p);
    if (rc != 0)
        return rc;
    char **args = jl_malloc(((size_t)argc + 1) * sizeof *args);
    memcpy(args, argv, ((size_t)argc + 1) * sizeof *args);
    rc = parse_argv(&p, argc, args);
    free(args);
    if (rc != 0)
        return rc;
    /* A message the limit allows must never be a protocol error: the
     * refusal of a bigger one is an error reply on a connection that stays. */
    if (cfg->max_bulk < cfg->max_message)
        cfg->max_bulk = cfg->max_message;
    if (cfg->obuf_soft > cfg->obuf_hard && cfg->obuf_hard) {
        fprintf(stderr, "jugglite: --obuf-soft must not exceed --obuf-hard\n");
        return -1;
    }
    return 0;
}

void jl_config_free(jl_config_t *c)
{
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const opt_t *o = &options[i];
        if (o->kind == OPT_STRING || o->kind == OPT_PATH || o->kind == OPT_TOKEN)
            free(*(char **)field(c, o->at));
        if (o->kind == OPT_LIST || o->kind == OPT_REPEAT)
            free_list(*(char ***)field(c, o->at), *(size_t *)field(c, o->count_at));
    }
    free(c->metrics_token);
    free(c->upstream_password);
    memset(c, 0, sizeof *c);
}

/* The first line of path, without its line end; not empty. */
static char *read_secret(const char *path, const char *option)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "jugglite: %s %s: %s\n", option, path, strerror(errno));
        return NULL;
    }
    char line[4096];
    char *got = fgets(line, sizeof line, f);
    fclose(f);
    size_t n = got ? strcspn(line, "\r\n") : 0;
    if (n == 0) {
        fprintf(stderr, "jugglite: %s %s: the first line is empty\n", option, path);
        return NULL;
    }
    return jl_strndup(line, n);
}

int jl_config_load_secrets(jl_config_t *c)
{
    if (c->publish_token && c->publish_token_file) {
        fprintf(stderr, "jugglite: --publish-token and --publish-token-file: give one of them\n");
        return -1;
    }
    if (c->metrics_token_file &&
        (c->metrics_token = read_secret(c->metrics_token_file, "--metrics-token-file")) == NULL)
        return -1;
    if (c->publish_token_file &&
        (c->publish_token = read_secret(c->publish_token_file, "--publish-token-file")) == NULL)
        return -1;
    if (c->upstream_password_file &&
        (c->upstream_password = read_secret(c->upstream_password_file,
                                            "--upstream-pass-file")) == NULL)
        return -1;
    return 0;
}

/* ---- keeping secrets out of ps ---- */

/* The row whose name starts with the text between "--" and '=' (or the
 * end): getopt_long takes any unambiguous prefix, so a secret must be found
 * the same way. NULL when arg names no secret option. */
static const opt_t *secret_named(const char *arg)
{
    if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0')
        return NULL;
    const char *name = arg + 2;
    size_t n = strcspn(name, "=");
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (options[i].secret && strncmp(options[i].name, name, n) == 0)
            return &options[i];
    return NULL;
}

/* Overwrites what of value is secret: all of it, except an --upstream URL,
 * whose host stays readable and whose user and password go. Returns 1 when
 * there was a secret. */
static int scrub_value(const opt_t *o, char *value)
{
    if (o->at == FIELD(upstream)) {
        char *auth = strstr(value, "://");
        char *at = auth ? strchr(auth + 3, '@') : NULL;
        if (at == NULL)
            return 0;
        value = auth + 3;
        memset(value, 'x', (size_t)(at - value));
        return 1;
    }
    memset(value, 'x', strlen(value));
    return 1;
}

int jl_config_scrub_argv(int argc, char **argv)
{
    int scrubbed = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        const opt_t *o = secret_named(argv[i]);
        if (o == NULL)
            continue;
        char *eq = strchr(argv[i], '=');
        char *value = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
        if (value == NULL)
            continue;
        scrubbed += scrub_value(o, value);
    }
    return scrubbed;
}

/* ---- reloading ---- */

static int str_same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

/* 1 when option o has the same value in a and b. */
static int same_value(const opt_t *o, jl_config_t *a, jl_config_t *b)
{
    void *x = field(a, o->at), *y = field(b, o->at);
    switch (o->kind) {
    case OPT_STRING:
    case OPT_PATH:
    case OPT_TOKEN: return str_same(*(char **)x, *(char **)y);
    case OPT_INT:
    case OPT_FLAG:
    case OPT_LOG_LEVEL:
    case OPT_LOG_FORMAT: return *(int *)x == *(int *)y;
    case OPT_UINT: return *(unsigned *)x == *(unsigned *)y;
    case OPT_LONG: return *(long *)x == *(long *)y;
    case OPT_COUNT:
    case OPT_BYTES: return *(size_t *)x == *(size_t *)y;
    case OPT_DOUBLE: return *(double *)x == *(double *)y;
    case OPT_LIST:
    case OPT_REPEAT: {
        size_t n = *(size_t *)field(a, o->count_at);
        if (n != *(size_t *)field(b, o->count_at))
            return 0;
        for (size_t i = 0; i < n; i++)
            if (strcmp((*(char ***)x)[i], (*(char ***)y)[i]) != 0)
                return 0;
        return 1;
    }
    case OPT_HELP:
    case OPT_VERSION: break;
    }
    return 1;
}

/* Exchanges option o's value (and a list's count) between a and b. */
static void swap_value(const opt_t *o, jl_config_t *a, jl_config_t *b)
{
    unsigned char tmp[sizeof(double) > sizeof(void *) ? sizeof(double) : sizeof(void *)];
    int is_int = o->kind == OPT_INT || o->kind == OPT_FLAG || o->kind == OPT_LOG_LEVEL ||
                 o->kind == OPT_LOG_FORMAT;
    size_t width = is_int                                                    ? sizeof(int)
                   : o->kind == OPT_UINT                                     ? sizeof(unsigned)
                   : o->kind == OPT_LONG                                     ? sizeof(long)
                   : o->kind == OPT_DOUBLE                                   ? sizeof(double)
                   : o->kind == OPT_COUNT || o->kind == OPT_BYTES            ? sizeof(size_t)
                                                                             : sizeof(void *);
    memcpy(tmp, field(a, o->at), width);
    memcpy(field(a, o->at), field(b, o->at), width);
    memcpy(field(b, o->at), tmp, width);
    if (o->kind == OPT_LIST || o->kind == OPT_REPEAT) {
        size_t n = *(size_t *)field(a, o->count_at);
        *(size_t *)field(a, o->count_at) = *(size_t *)field(b, o->count_at);
        *(size_t *)field(b, o->count_at) = n;
    }
}

static void note(char *out, size_t cap, const char *name)
{
    size_t len = strlen(out);
    snprintf(out + len, cap - len, "%s%s", len ? ", " : "", name);
}

int jl_config_reload(jl_config_t *live, int argc, char **argv, char *changed, size_t changed_cap,
                     char *fixed, size_t fixed_cap)
{
    changed[0] = fixed[0] = '\0';
    jl_config_t next;
    if (jl_config_parse(&next, argc, argv) != 0 || jl_config_load_secrets(&next) < 0) {
        jl_config_free(&next);
        return -1;
    }
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const opt_t *o = &options[i];
        if (o->kind == OPT_HELP || o->kind == OPT_VERSION || same_value(o, live, &next))
            continue;
        if (!o->live) {
            note(fixed, fixed_cap, o->name);
            continue;
        }
        swap_value(o, live, &next);
        note(changed, changed_cap, o->name);
    }
    /* The secret is read again even when its file's name is the same: a
     * reload is how a token is rotated. */
    if (!str_same(live->metrics_token, next.metrics_token)) {
        char *t = live->metrics_token;
        live->metrics_token = next.metrics_token;
        next.metrics_token = t;
        if (strstr(changed, "metrics-token-file") == NULL)
            note(changed, changed_cap, "metrics token");
    }
    jl_config_free(&next);
    return 0;
}
