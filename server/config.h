/* config.h -- every option jugglite has, its default, and its parsing.
 *
 * main() fills one jl_config_t from argv and hands it, read-only, to the
 * server. Each limit a peer can push against lives here so that it has one
 * name, one default and one line in --help and docs/configuration.md. */
#ifndef JL_CONFIG_H
#define JL_CONFIG_H

#include <stddef.h>

#define JL_VERSION "0.1.0"

typedef struct jl_config {
    /* RESP listener */
    char *resp_address;
    int resp_port;              /* -1: no TCP RESP listener */
    char *resp_socket;
    int resp_tls_port;          /* -1: no RESP-over-TLS listener */
    char *requirepass;
    char *requirepass_file;     /* the default user's password, read at start */
    char *aclfile;              /* Redis aclfile: "user NAME rules..." lines */
    char **users;               /* --user: "NAME rules..." each */
    size_t n_users;
    /* SSE / HTTP listener */
    char *address;
    int port;                   /* -1: no TCP HTTP listener */
    char *socket;
    int tls_port;               /* -1: no HTTPS listener */
    int h2c;                    /* HTTP/2 prior knowledge on the plain listeners */
    char *tls_cert_file, *tls_key_file;
    char *path;                 /* SSE stream path */
    double keepalive;           /* seconds between ": keepalive N" comments */
    char *namespace_;
    char **allowed_channels;    /* NULL: all channels allowed */
    size_t n_allowed_channels;
    int allow_patterns;
    char *publish_token;        /* NULL: no HTTP publish route */
    char *publish_token_file;   /* publish_token is read from it (jl_config_load_secrets) */
    int metrics;                /* GET /metrics */
    char *auth_url;             /* NULL: streams open without asking the app */
    double auth_timeout, auth_cache;
    char *config_file;          /* --config: read before the environment and the flags */
    int test_config;            /* --test-config: validate and exit */
    char *metrics_token_file;
    char *metrics_token;        /* read from metrics_token_file (jl_config_load_secrets) */
    char *publish_path;
    char **cors_origins;
    size_t n_cors_origins;
    double longpoll_delay;      /* close a long-poll response this long after its last event */
    unsigned retry_ms;          /* retry: sent on shutdown and when over the connection cap */
    size_t max_stream_channels; /* channels + patterns one SSE request may subscribe to */
    /* browser tokens (server/token.h) */
    char **token_keys;          /* "[KID=]FILE" / "[KID=]env:NAME"; none: no tokens */
    size_t n_token_keys;
    char *token_cookie;         /* cookie a stream's token is read from */
    char *token_param;          /* query parameter likewise; NULL: not read */
    int token_required;         /* a stream without a token is refused (401) */
    /* limits */
    long max_conns;
    int tcp_backlog;            /* listen(2)'s backlog */
    size_t max_message;         /* largest PUBLISH payload / HTTP publish body */
    size_t max_bulk;            /* largest RESP bulk argument (never below max_message) */
    size_t max_args;
    size_t max_inline;
    size_t query_buffer_limit;
    size_t obuf_hard;
    size_t obuf_soft;
    double obuf_soft_seconds;
    size_t max_head;            /* HTTP request head (request line + headers) */
    double head_timeout;        /* seconds to receive a complete HTTP request head */
    double idle_timeout;        /* seconds; closes idle non-subscribed connections (0: never) */
    double shutdown_timeout;
    size_t flush_slice;         /* fan-out connections written per loop pass before reading again */
    size_t history_size;        /* entries kept per channel for resuming streams; 0: none */
    size_t history_bytes;       /* frame bytes kept per channel */
    double history_age;         /* seconds an entry is kept; 0: no age limit */
    size_t history_memory;      /* all of the history together */
    char *history_file;         /* kept across a clean restart; NULL: not kept */
    /* upstream bridge */
    char *upstream;
    char *upstream_password_file;
    char *upstream_ca, *upstream_cert, *upstream_key;   /* rediss:// */
    char *upstream_password;    /* read from upstream_password_file; overrides the URL's */
    double upstream_linger;
    double presence_ttl;        /* bridged, --lifecycle-events: a node silent this long is gone */
    double upstream_backoff_min;
    double upstream_backoff_max;
    /* misc */
    int log_level;
    int log_format;             /* jl_log_format_t: text or json lines */
    int access_log;             /* an INFO line per SSE stream as it ends */
    int lifecycle_events;       /* SSE streams' connects and disconnects as messages */
    char *log_file;             /* NULL: stderr */
} jl_config_t;

/* Fills cfg with defaults, then applies argv. Returns 0 to run, 1 if it
 * printed --help/--version (exit 0), -1 on a bad option (message printed,
 * exit 2). cfg owns its strings; release with jl_config_free. */
int jl_config_parse(jl_config_t *cfg, int argc, char **argv);
void jl_config_free(jl_config_t *cfg);
/* Reads the secrets the options name files of (--metrics-token-file,
 * --publish-token-file, --upstream-pass-file), so that they never need
 * to be on the command line. Returns 0, or -1 with the reason on stderr. */
int jl_config_load_secrets(jl_config_t *cfg);
/* Overwrites, in argv's own memory (what ps and /proc/PID/cmdline show),
 * the values of the secret options given as flags (--requirepass,
 * --publish-token, the password in --upstream). Parse, and keep a copy of
 * argv for a reload, first. Returns how many values it overwrote. */
int jl_config_scrub_argv(int argc, char **argv);
/* SIGHUP: parses the same command line again (the config file and the
 * environment are read anew) and, if the result is valid, puts the values
 * of the options that can change in a running server into live (the rest
 * stay as they are). changed / fixed receive the names ("a, b") of the
 * options that changed and of those that differ but need a restart.
 * Returns 0, or -1 when the new configuration is refused (why: on stderr)
 * and live is untouched. */
int jl_config_reload(jl_config_t *live, int argc, char **argv, char *changed, size_t changed_cap,
                     char *fixed, size_t fixed_cap);

/* Parses "512mb", "8kb", "1gb", "100" (bytes); returns -1 on garbage. */
long long jl_config_parse_size(const char *s);

#endif
