/* test_config.c -- jl_config_parse, jl_config_free and jl_config_parse_size.
 *
 * The rest of the program trusts jl_config_t blindly, so this file pins what
 * reaches it: every option lands in its own field, the defaults are the ones
 * --help prints, every bound is crossed from both sides, and whatever is
 * refused is refused with the message users (and scripts) already know.
 * jl_config_parse prints, so each call runs with stdout and stderr sent to a
 * temporary file, and the tests read what was printed from there. Leaks are
 * left to the ASan build: every parsed config is freed, refused ones too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/config.h"
#include "server/log.h"
#include "server/util.h"

#define MAX_ARGS 256

/* One parse, and everything it printed. */
typedef struct {
    jl_config_t cfg;
    int rc;
    char *out;          /* stdout and stderr together, NUL-terminated */
} parsed_t;

static char *read_all(FILE *f)
{
    long len = ftell(f);
    assert_true(len >= 0);
    char *text = malloc((size_t)len + 1);
    assert_non_null(text);
    rewind(f);
    assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
    text[len] = '\0';
    return text;
}

/* Parses argv ("jugglite" is prepended; NULL ends the list) with fd 1 and 2
 * sent to a temporary file. The caller frees p->cfg and p->out. */
static void parse_argv(parsed_t *p, const char *const *args)
{
    char *argv[MAX_ARGS];
    int argc = 0;
    argv[argc++] = "jugglite";
    for (; *args; args++) {
        assert_true(argc < MAX_ARGS - 1);
        argv[argc++] = (char *)*args;
    }
    argv[argc] = NULL;

    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    fflush(stdout);
    fflush(stderr);
    int saved_out = dup(1), saved_err = dup(2);
    dup2(fileno(tmp), 1);
    dup2(fileno(tmp), 2);
    p->rc = jl_config_parse(&p->cfg, argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    close(saved_out);
    close(saved_err);
    fseek(tmp, 0, SEEK_END);
    p->out = read_all(tmp);
    fclose(tmp);
}

static void parsed_free(parsed_t *p)
{
    jl_config_free(&p->cfg);
    free(p->out);
}

/* Parses, expects success, and leaves the config in p for checks. */
static void parse_ok(parsed_t *p, const char *const *args)
{
    parse_argv(p, args);
    if (p->rc == 0)
        return;
    char argv[512] = "";
    for (; *args; args++)
        snprintf(argv + strlen(argv), sizeof argv - strlen(argv), " %s", *args);
    fail_msg("jugglite%s: refused: %s", argv, p->out);
}

/* Parses, expects refusal (-1) with exactly 'message' printed. */
static void expect_refused(const char *const *args, const char *message)
{
    parsed_t p;
    parse_argv(&p, args);
    assert_int_equal(p.rc, -1);
    assert_string_equal(p.out, message);
    parsed_free(&p);
}

/* "jugglite: invalid value 'VAL' for --NAME (see --help)\n" */
static void expect_invalid(const char *name, const char *val)
{
    char opt[64], message[256];
    snprintf(opt, sizeof opt, "--%s", name);
    snprintf(message, sizeof message, "jugglite: invalid value '%s' for --%s (see --help)\n",
             val, name);
    const char *args[] = {opt, val, NULL};
    expect_refused(args, message);
}

static void expect_accepted(const char *name, const char *val)
{
    char opt[64];
    snprintf(opt, sizeof opt, "--%s", name);
    const char *args[] = {opt, val, NULL};
    parsed_t p;
    parse_ok(&p, args);
    parsed_free(&p);
}

/* As expect_accepted, with --obuf-hard 0 first so that a huge --obuf-soft
 * is not refused for exceeding the hard limit. */
static void expect_accepted_unlimited(const char *name, const char *val)
{
    char opt[64];
    snprintf(opt, sizeof opt, "--%s", name);
    const char *args[] = {"--obuf-hard", "0", opt, val, NULL};
    parsed_t p;
    parse_ok(&p, args);
    parsed_free(&p);
}

/* The help text, as `jugglite --help` prints it. Caller frees. */
static char *help_text(void)
{
    static const char *const args[] = {"--help", NULL};
    parsed_t p;
    parse_argv(&p, args);
    assert_int_equal(p.rc, 1);
    jl_config_free(&p.cfg);
    return p.out;
}

/* One option line of --help: "  [-x, ]--name [METAVAR]   help (default D)". */
typedef struct {
    char name[64];
    char def[64];       /* "" when the line names no default */
} help_line_t;

/* Fills 'line' from one line of --help; 0 if it is no option line. */
static int parse_help_line(const char *s, size_t len, help_line_t *line)
{
    memset(line, 0, sizeof *line);
    if (len < 4 || strncmp(s, "  -", 3) != 0)
        return 0;
    const char *dashes = strstr(s, "--");
    assert_true(dashes != NULL && dashes < s + len);
    size_t n = strcspn(dashes + 2, " \n");
    assert_true(n < sizeof line->name);
    memcpy(line->name, dashes + 2, n);

    const char *def = strstr(s, "(default ");
    if (def == NULL || def > s + len)
        return 1;
    def += strlen("(default ");
    n = strcspn(def, ":)");
    assert_true(n < sizeof line->def);
    memcpy(line->def, def, n);
    return 1;
}

/* Calls fn for each option line of --help. */
static void for_each_help_line(void (*fn)(const help_line_t *, void *), void *arg)
{
    char *help = help_text();
    for (const char *s = help; *s;) {
        size_t len = strcspn(s, "\n");
        help_line_t line;
        if (parse_help_line(s, len, &line))
            fn(&line, arg);
        s += len + (s[len] == '\n');
    }
    free(help);
}

static void assert_lists_equal(char **a, size_t na, char **b, size_t nb)
{
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++)
        assert_string_equal(a[i], b[i]);
}

static void assert_strings_equal(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        assert_ptr_equal(a, b);
    else
        assert_string_equal(a, b);
}

/* Every field of jl_config_t, compared by value. */
static void assert_configs_equal(const jl_config_t *a, const jl_config_t *b)
{
    assert_strings_equal(a->resp_address, b->resp_address);
    assert_int_equal(a->resp_port, b->resp_port);
    assert_strings_equal(a->resp_socket, b->resp_socket);
    assert_strings_equal(a->requirepass, b->requirepass);
    assert_strings_equal(a->requirepass_file, b->requirepass_file);
    assert_strings_equal(a->aclfile, b->aclfile);
    assert_lists_equal(a->users, a->n_users, b->users, b->n_users);
    assert_strings_equal(a->address, b->address);
    assert_int_equal(a->port, b->port);
    assert_strings_equal(a->socket, b->socket);
    assert_strings_equal(a->path, b->path);
    assert_true(a->keepalive == b->keepalive);
    assert_strings_equal(a->namespace_, b->namespace_);
    assert_lists_equal(a->allowed_channels, a->n_allowed_channels,
                       b->allowed_channels, b->n_allowed_channels);
    assert_int_equal(a->allow_patterns, b->allow_patterns);
    assert_strings_equal(a->publish_token, b->publish_token);
    assert_strings_equal(a->publish_path, b->publish_path);
    assert_lists_equal(a->cors_origins, a->n_cors_origins, b->cors_origins, b->n_cors_origins);
    assert_true(a->longpoll_delay == b->longpoll_delay);
    assert_int_equal(a->retry_ms, b->retry_ms);
    assert_int_equal(a->max_stream_channels, b->max_stream_channels);
    assert_int_equal(a->max_conns, b->max_conns);
    assert_int_equal(a->max_message, b->max_message);
    assert_int_equal(a->max_args, b->max_args);
    assert_int_equal(a->max_inline, b->max_inline);
    assert_int_equal(a->query_buffer_limit, b->query_buffer_limit);
    assert_int_equal(a->obuf_hard, b->obuf_hard);
    assert_int_equal(a->obuf_soft, b->obuf_soft);
    assert_true(a->obuf_soft_seconds == b->obuf_soft_seconds);
    assert_int_equal(a->max_head, b->max_head);
    assert_true(a->head_timeout == b->head_timeout);
    assert_true(a->idle_timeout == b->idle_timeout);
    assert_true(a->shutdown_timeout == b->shutdown_timeout);
    assert_int_equal(a->flush_slice, b->flush_slice);
    assert_int_equal(a->history_size, b->history_size);
    assert_int_equal(a->history_bytes, b->history_bytes);
    assert_true(a->history_age == b->history_age);
    assert_int_equal(a->history_memory, b->history_memory);
    assert_strings_equal(a->history_file, b->history_file);
    assert_strings_equal(a->upstream, b->upstream);
    assert_true(a->upstream_linger == b->upstream_linger);
    assert_true(a->upstream_backoff_min == b->upstream_backoff_min);
    assert_true(a->upstream_backoff_max == b->upstream_backoff_max);
    assert_true(a->presence_ttl == b->presence_ttl);
    assert_int_equal(a->log_level, b->log_level);
    assert_int_equal(a->log_format, b->log_format);
}

/* The values jugglite has always started with; the rest of the program and
 * docs/configuration.md assume them. */
static void test_config_defaults(void **state)
{
    (void)state;
    static const char *const none[] = {NULL};
    parsed_t p;
    parse_ok(&p, none);
    const jl_config_t *c = &p.cfg;
    assert_string_equal(p.out, "");
    assert_string_equal(c->resp_address, "127.0.0.1");
    assert_int_equal(c->resp_port, 6380);
    assert_null(c->resp_socket);
    assert_null(c->requirepass);
    assert_string_equal(c->address, "0.0.0.0");
    assert_int_equal(c->port, 3000);
    assert_null(c->socket);
    assert_string_equal(c->path, "/stream");
    assert_true(c->keepalive == 20);
    assert_string_equal(c->namespace_, "");
    assert_null(c->allowed_channels);
    assert_int_equal(c->n_allowed_channels, 0);
    assert_int_equal(c->allow_patterns, 0);
    assert_null(c->publish_token);
    assert_string_equal(c->publish_path, "/publish");
    assert_null(c->cors_origins);
    assert_int_equal(c->n_cors_origins, 0);
    assert_true(c->longpoll_delay == 0.25);
    assert_int_equal(c->retry_ms, 3000);
    assert_int_equal(c->max_stream_channels, 256);
    assert_int_equal(c->max_conns, 10000);
    assert_int_equal(c->max_message, 512u * 1024 * 1024);
    assert_int_equal(c->max_bulk, 512u * 1024 * 1024);
    assert_int_equal(c->max_args, 1024 * 1024);
    assert_int_equal(c->max_inline, 64 * 1024);
    assert_int_equal(c->query_buffer_limit, 1024u * 1024 * 1024);
    assert_int_equal(c->obuf_hard, 32u * 1024 * 1024);
    assert_int_equal(c->obuf_soft, 8u * 1024 * 1024);
    assert_true(c->obuf_soft_seconds == 60);
    assert_int_equal(c->max_head, 16 * 1024);
    assert_true(c->head_timeout == 10);
    assert_true(c->idle_timeout == 0);
    assert_true(c->shutdown_timeout == 5);
    assert_int_equal(c->flush_slice, 64);
    assert_int_equal(c->history_size, 1000);
    assert_int_equal(c->history_bytes, 1024 * 1024);
    assert_true(c->history_age == 300);
    assert_int_equal(c->history_memory, 64 * 1024 * 1024);
    assert_null(c->history_file);
    assert_null(c->upstream);
    assert_true(c->upstream_linger == 30);
    assert_true(c->upstream_backoff_min == 0.1);
    assert_true(c->upstream_backoff_max == 10);
    assert_true(c->presence_ttl == 30);
    assert_int_equal(c->log_level, JL_LOG_INFO);
    assert_int_equal(c->log_format, JL_LOG_TEXT);
    parsed_free(&p);
}

/* Giving an option the default --help names for it changes nothing. */
static void check_help_default(const help_line_t *line, void *defaults)
{
    if (!line->def[0])
        return;
    char opt[80];
    snprintf(opt, sizeof opt, "--%s", line->name);
    const char *args[] = {opt, line->def, NULL};
    parsed_t p;
    parse_ok(&p, args);
    assert_configs_equal(&p.cfg, defaults);
    parsed_free(&p);
}

static void test_config_help_defaults_are_the_defaults(void **state)
{
    (void)state;
    static const char *const none[] = {NULL};
    parsed_t defaults;
    parse_ok(&defaults, none);
    for_each_help_line(check_help_default, &defaults.cfg);
    parsed_free(&defaults);
}

/* Every option, each with a value that is not its default. */
static const char *const every_option[] = {
    "--resp-address", "10.0.0.1", "--resp-port", "7000", "--resp-socket", "/run/r.sock",
    "--resp-tls-port", "7443", "--tls-port", "8443", "--tls-cert-file", "c.pem", "--tls-key-file", "k.pem",
    "--upstream-ca", "ca.pem", "--upstream-cert", "uc.pem", "--upstream-key", "uk.pem",
    "--requirepass", "sesame", "--requirepass-file", "/run/pass", "--aclfile", "/etc/users.acl",
    "--user", "alice on >x +@pubsub", "--user", "bob on nopass", "--address", "10.0.0.2", "--port", "8080",
    "--socket", "/run/h.sock", "--path", "/events", "--keepalive", "2.5",
    "--namespace", "ns:", "--allowed-channels", "a,b", "--allow-patterns", "--h2c", "--access-log", "--lifecycle-events",
    "--publish-token", "tok", "--publish-token-file", "/run/pub.token", "--publish-path", "/pub", "--metrics",
    "--metrics-token-file", "/run/metrics.token", "--cors-origin", "https://x.example",
    "--test-config", "--tcp-backlog", "128", "--auth-url", "http://127.0.0.1:9/auth",
    "--auth-timeout", "0.5", "--auth-cache", "0",
    "--longpoll-delay", "1.5", "--retry", "1234", "--max-stream-channels", "7",
    "--token-key", "/k/hs", "--token-key", "ec1=env:K", "--token-cookie", "tc",
    "--token-param", "tp", "--token-required",
    "--max-conns", "99", "--max-message-size", "2mb", "--max-bulk", "6mb", "--max-args", "11",
    "--max-inline", "4kb", "--query-buffer-limit", "3mb", "--obuf-hard", "9mb",
    "--obuf-soft", "5mb", "--obuf-soft-seconds", "7.5", "--max-header-size", "1kb",
    "--head-timeout", "3", "--idle-timeout", "42", "--shutdown-timeout", "8",
    "--flush-slice", "17", "--history-size", "5", "--history-bytes", "2kb",
    "--history-age", "9.5", "--history-memory", "3mb", "--history-file", "/tmp/h",
    "--upstream", "redis://h:1", "--upstream-pass-file", "/run/up.pass", "--upstream-linger", "12", "--upstream-backoff-min", "0.5",
    "--upstream-backoff-max", "20", "--presence-ttl", "7", "--config", "/dev/null", "--log-level", "debug", "--log-format", "json", "--log-file", "/dev/null", NULL,
};

static void test_config_every_option_lands_in_its_field(void **state)
{
    (void)state;
    parsed_t p;
    parse_ok(&p, every_option);
    const jl_config_t *c = &p.cfg;
    assert_string_equal(c->resp_address, "10.0.0.1");
    assert_int_equal(c->resp_port, 7000);
    assert_string_equal(c->resp_socket, "/run/r.sock");
    assert_string_equal(c->requirepass, "sesame");
    assert_string_equal(c->requirepass_file, "/run/pass");
    assert_string_equal(c->aclfile, "/etc/users.acl");
    assert_int_equal(c->n_users, 2);
    assert_string_equal(c->users[0], "alice on >x +@pubsub");
    assert_string_equal(c->users[1], "bob on nopass");
    assert_string_equal(c->address, "10.0.0.2");
    assert_int_equal(c->port, 8080);
    assert_string_equal(c->socket, "/run/h.sock");
    assert_string_equal(c->path, "/events");
    assert_true(c->keepalive == 2.5);
    assert_string_equal(c->namespace_, "ns:");
    assert_int_equal(c->n_allowed_channels, 2);
    assert_string_equal(c->allowed_channels[0], "a");
    assert_string_equal(c->allowed_channels[1], "b");
    assert_int_equal(c->allow_patterns, 1);
    assert_string_equal(c->publish_token, "tok");
    assert_string_equal(c->publish_path, "/pub");
    assert_int_equal(c->metrics, 1);
    assert_string_equal(c->metrics_token_file, "/run/metrics.token");
    assert_null(c->metrics_token);     /* read by jl_config_load_secrets, not by parsing */
    assert_string_equal(c->config_file, "/dev/null");
    assert_int_equal(c->test_config, 1);
    assert_int_equal(c->tcp_backlog, 128);
    assert_string_equal(c->auth_url, "http://127.0.0.1:9/auth");
    assert_true(c->auth_timeout == 0.5);
    assert_true(c->auth_cache == 0);
    assert_int_equal(c->n_cors_origins, 1);
    assert_string_equal(c->cors_origins[0], "https://x.example");
    assert_true(c->longpoll_delay == 1.5);
    assert_int_equal(c->retry_ms, 1234);
    assert_int_equal(c->max_stream_channels, 7);
    assert_int_equal(c->n_token_keys, 2);
    assert_string_equal(c->token_keys[0], "/k/hs");
    assert_string_equal(c->token_keys[1], "ec1=env:K");
    assert_string_equal(c->token_cookie, "tc");
    assert_string_equal(c->token_param, "tp");
    assert_int_equal(c->token_required, 1);
    assert_int_equal(c->max_conns, 99);
    assert_int_equal(c->max_message, 2 * 1024 * 1024);
    assert_int_equal(c->max_bulk, 6 * 1024 * 1024);
    assert_int_equal(c->max_args, 11);
    assert_int_equal(c->max_inline, 4 * 1024);
    assert_int_equal(c->query_buffer_limit, 3 * 1024 * 1024);
    assert_int_equal(c->obuf_hard, 9 * 1024 * 1024);
    assert_int_equal(c->obuf_soft, 5 * 1024 * 1024);
    assert_true(c->obuf_soft_seconds == 7.5);
    assert_int_equal(c->max_head, 1024);
    assert_true(c->head_timeout == 3);
    assert_true(c->idle_timeout == 42);
    assert_true(c->shutdown_timeout == 8);
    assert_int_equal(c->flush_slice, 17);
    assert_int_equal(c->history_size, 5);
    assert_int_equal(c->history_bytes, 2048);
    assert_true(c->history_age == 9.5);
    assert_int_equal(c->history_memory, 3 * 1024 * 1024);
    assert_string_equal(c->history_file, "/tmp/h");
    assert_string_equal(c->upstream, "redis://h:1");
    assert_string_equal(c->upstream_password_file, "/run/up.pass");
    assert_int_equal(c->resp_tls_port, 7443);
    assert_int_equal(c->tls_port, 8443);
    assert_int_equal(c->h2c, 1);
    assert_int_equal(c->access_log, 1);
    assert_int_equal(c->lifecycle_events, 1);
    assert_string_equal(c->tls_cert_file, "c.pem");
    assert_string_equal(c->tls_key_file, "k.pem");
    assert_string_equal(c->upstream_ca, "ca.pem");
    assert_string_equal(c->upstream_cert, "uc.pem");
    assert_string_equal(c->upstream_key, "uk.pem");
    assert_string_equal(c->publish_token_file, "/run/pub.token");
    assert_true(c->upstream_linger == 12);
    assert_true(c->upstream_backoff_min == 0.5);
    assert_true(c->upstream_backoff_max == 20);
    assert_true(c->presence_ttl == 7);
    assert_int_equal(c->log_level, JL_LOG_DEBUG);
    assert_int_equal(c->log_format, JL_LOG_JSON);
    parsed_free(&p);
}

/* So that a new option cannot slip past the test above. */
static void check_option_is_in_every_option(const help_line_t *line, void *arg)
{
    (void)arg;
    if (strcmp(line->name, "help") == 0 || strcmp(line->name, "version") == 0)
        return;
    char opt[80];
    snprintf(opt, sizeof opt, "--%s", line->name);
    for (const char *const *a = every_option; *a; a++)
        if (strcmp(*a, opt) == 0)
            return;
    fail_msg("%s is in --help but not in every_option", opt);
}

static void test_config_every_help_option_is_tested(void **state)
{
    (void)state;
    for_each_help_line(check_option_is_in_every_option, NULL);
}

/* Option lines keep their columns: the text starts at column 28, and an
 * option that takes a value names it. */
static void test_config_help_is_aligned(void **state)
{
    (void)state;
    char *help = help_text();
    size_t options = 0;
    assert_true(strncmp(help, "Usage: jugglite [options]\n", 26) == 0);
    for (const char *s = help; *s;) {
        size_t len = strcspn(s, "\n");
        help_line_t line;
        if (parse_help_line(s, len, &line)) {
            options++;
            assert_true(len > 28);
            assert_true(s[27] == ' ');
            assert_true(s[28] != ' ');
        }
        s += len + (s[len] == '\n');
    }
    assert_int_equal(options, 74);
    assert_non_null(strstr(help, "\nRESP (Redis protocol) listener:\n  --resp-address ADDR "));
    assert_non_null(strstr(help, "\n\nSSE (HTTP) listener:\n  -a, --address ADDR "));
    assert_non_null(strstr(help, "\n\nLimits:\n  --max-conns N "));
    assert_non_null(strstr(help, "\n\nUpstream (several nodes sharing channels through Redis):\n"
                                 "  --upstream URL "));
    assert_non_null(strstr(help, "\n\n  --config FILE "));
    assert_non_null(strstr(help, "\n  --log-level LEVEL "));
    assert_non_null(strstr(help, "\n  --log-format FORMAT "));
    assert_non_null(strstr(help, "(default 0: never)\n"));
    assert_non_null(strstr(help, "\n  -h, --help                this text\n"
                                 "  -v, --version             print the version\n"));
    free(help);
}

static void test_config_short_flags(void **state)
{
    (void)state;
    static const char *const args[] = {"-a", "::1", "-p", "0", "-S", "/tmp/s", NULL};
    parsed_t p;
    parse_ok(&p, args);
    assert_string_equal(p.cfg.address, "::1");
    assert_int_equal(p.cfg.port, 0);
    assert_string_equal(p.cfg.socket, "/tmp/s");
    parsed_free(&p);
    expect_refused((const char *const[]){"-p", "65536", NULL},
                   "jugglite: invalid value '65536' for --port (see --help)\n");
}

static void test_config_help_and_version(void **state)
{
    (void)state;
    static const char *const version[] = {"--version", NULL};
    static const char *const short_version[] = {"-v", NULL};
    static const char *const short_help[] = {"-h", NULL};
    parsed_t p;
    parse_argv(&p, version);
    assert_int_equal(p.rc, 1);
    assert_string_equal(p.out, "jugglite " JL_VERSION "\n");
    parsed_free(&p);
    parse_argv(&p, short_version);
    assert_int_equal(p.rc, 1);
    assert_string_equal(p.out, "jugglite " JL_VERSION "\n");
    parsed_free(&p);

    char *help = help_text();
    parse_argv(&p, short_help);
    assert_int_equal(p.rc, 1);
    assert_string_equal(p.out, help);
    parsed_free(&p);
    free(help);
}

/* One integer option and its range: below, min, max, above. */
typedef struct {
    const char *name;
    const char *below, *min, *max, *above;
} int_bounds_t;

static void test_config_integer_bounds(void **state)
{
    (void)state;
    static const int_bounds_t rows[] = {
        {"resp-port", "-2", "-1", "65535", "65536"},
        {"port", "-2", "-1", "65535", "65536"},
        {"retry", "-1", "0", "86400000", "86400001"},
        {"max-stream-channels", "0", "1", "1048576", "1048577"},
        {"max-conns", "0", "1", "100000000", "100000001"},
        {"max-args", "0", "1", "1073741824", "1073741825"},
    };
    for (size_t i = 0; i < JL_ARRAY_LEN(rows); i++) {
        expect_invalid(rows[i].name, rows[i].below);
        expect_accepted(rows[i].name, rows[i].min);
        expect_accepted(rows[i].name, rows[i].max);
        expect_invalid(rows[i].name, rows[i].above);
        expect_invalid(rows[i].name, "");
        expect_invalid(rows[i].name, "12x");
        expect_invalid(rows[i].name, "1kb");
        expect_invalid(rows[i].name, "99999999999999999999");
    }
    static const char *const edges[] = {
        "--resp-port", "-1", "--port", "65535", "--retry", "86400000",
        "--max-stream-channels", "1048576", "--max-conns", "100000000",
        "--max-args", "1073741824", NULL,
    };
    parsed_t p;
    parse_ok(&p, edges);
    assert_int_equal(p.cfg.resp_port, -1);
    assert_int_equal(p.cfg.port, 65535);
    assert_int_equal(p.cfg.retry_ms, 86400000);
    assert_int_equal(p.cfg.max_stream_channels, 1048576);
    assert_int_equal(p.cfg.max_conns, 100000000);
    assert_int_equal(p.cfg.max_args, 1073741824);
    parsed_free(&p);
}

/* An option with a minimum only (sizes and seconds): just below it, at it. */
typedef struct {
    const char *name;
    const char *below, *min;
} min_bound_t;

static void test_config_size_bounds(void **state)
{
    (void)state;
    static const min_bound_t rows[] = {
        {"max-message-size", "0", "1"},
        {"max-bulk", "1023", "1kb"},
        {"max-inline", "15", "16"},
        {"query-buffer-limit", "1023", "1kb"},
        {"obuf-hard", "-1", "0"},
        {"obuf-soft", "-1", "0"},
        {"max-header-size", "255", "256"},
    };
    for (size_t i = 0; i < JL_ARRAY_LEN(rows); i++) {
        expect_invalid(rows[i].name, rows[i].below);
        expect_accepted(rows[i].name, rows[i].min);
        expect_accepted_unlimited(rows[i].name, "4611686018427387904");     /* 1 << 62 */
        expect_invalid(rows[i].name, "4611686018427387905");
        expect_invalid(rows[i].name, "");
        expect_invalid(rows[i].name, "12x");
        expect_invalid(rows[i].name, "1.5mb");
    }
    expect_invalid("query-buffer-limit", "1k");                     /* 1000 < 1024 */
    static const char *const edges[] = {
        "--max-message-size", "1", "--max-inline", "16", "--query-buffer-limit", "1024",
        "--obuf-hard", "0", "--obuf-soft", "0", "--max-header-size", "256", NULL,
    };
    parsed_t p;
    parse_ok(&p, edges);
    assert_int_equal(p.cfg.max_message, 1);
    assert_int_equal(p.cfg.max_inline, 16);
    assert_int_equal(p.cfg.query_buffer_limit, 1024);
    assert_int_equal(p.cfg.obuf_hard, 0);
    assert_int_equal(p.cfg.obuf_soft, 0);
    assert_int_equal(p.cfg.max_head, 256);
    parsed_free(&p);
}

static void test_config_double_bounds(void **state)
{
    (void)state;
    static const min_bound_t rows[] = {
        {"keepalive", "0.00999", "0.01"},
        {"longpoll-delay", "-0.001", "0"},
        {"obuf-soft-seconds", "-0.001", "0"},
        {"head-timeout", "0.00999", "0.01"},
        {"idle-timeout", "-0.001", "0"},
        {"shutdown-timeout", "-0.001", "0"},
        {"upstream-linger", "-0.001", "0"},
        {"upstream-backoff-min", "0.000999", "0.001"},
        {"upstream-backoff-max", "0.000999", "0.001"},
        {"presence-ttl", "0.999", "1"},
    };
    for (size_t i = 0; i < JL_ARRAY_LEN(rows); i++) {
        expect_invalid(rows[i].name, rows[i].below);
        expect_accepted(rows[i].name, rows[i].min);
        expect_accepted(rows[i].name, "1e6");
        expect_invalid(rows[i].name, "");
        expect_invalid(rows[i].name, "1s");
        expect_invalid(rows[i].name, "1e999");
    }
    static const char *const edges[] = {
        "--keepalive", "0.01", "--head-timeout", "0.01", "--upstream-backoff-min", "0.001",
        "--upstream-backoff-max", "0.001", "--longpoll-delay", "0", NULL,
    };
    parsed_t p;
    parse_ok(&p, edges);
    assert_true(p.cfg.keepalive == 0.01);
    assert_true(p.cfg.head_timeout == 0.01);
    assert_true(p.cfg.upstream_backoff_min == 0.001);
    assert_true(p.cfg.upstream_backoff_max == 0.001);
    assert_true(p.cfg.longpoll_delay == 0);
    parsed_free(&p);
}

static void test_config_parse_size_suffixes(void **state)
{
    (void)state;
    static const struct { const char *text; long long bytes; } rows[] = {
        {"0", 0}, {"100", 100}, {"100b", 100}, {"1k", 1000}, {"1kb", 1024},
        {"1m", 1000000}, {"1mb", 1024 * 1024}, {"1g", 1000000000LL},
        {"1gb", 1024LL * 1024 * 1024}, {"8KB", 8192}, {"512MB", 512LL * 1024 * 1024},
        {"3Gb", 3LL * 1024 * 1024 * 1024}, {"4611686018427387904", 1LL << 62},
        {"4194304gb", 1LL << 52},
        {"", -1}, {"kb", -1}, {"-1", -1}, {"-1kb", -1}, {"1x", -1}, {"1 kb", -1},
        {"1kbb", -1}, {"1t", -1}, {"1.5kb", -1}, {"4611686018427387905", -1},
        {"4294967297gb", -1}, {"99999999999999999999", -1},
    };
    for (size_t i = 0; i < JL_ARRAY_LEN(rows); i++)
        if (jl_config_parse_size(rows[i].text) != rows[i].bytes)
            fail_msg("'%s': %lld, want %lld", rows[i].text,
                     jl_config_parse_size(rows[i].text), rows[i].bytes);
}

static void test_config_paths_and_tokens(void **state)
{
    (void)state;
    expect_invalid("path", "stream");
    expect_invalid("path", "");
    expect_invalid("publish-path", "publish");
    expect_invalid("publish-path", "");
    expect_invalid("publish-token", "");
    expect_accepted("path", "/");
    expect_accepted("publish-path", "/");
    expect_accepted("publish-token", "x");
    /* Plain strings take anything, the empty string too. */
    static const char *const empty[] = {"--namespace", "", "--requirepass", "", "--upstream", "",
                                        "--resp-socket", "", NULL};
    parsed_t p;
    parse_ok(&p, empty);
    assert_string_equal(p.cfg.namespace_, "");
    assert_string_equal(p.cfg.requirepass, "");
    assert_string_equal(p.cfg.upstream, "");
    assert_string_equal(p.cfg.resp_socket, "");
    parsed_free(&p);
}

static void test_config_log_levels(void **state)
{
    (void)state;
    static const struct { const char *name; int level; } rows[] = {
        {"debug", JL_LOG_DEBUG}, {"info", JL_LOG_INFO}, {"warn", JL_LOG_WARN},
        {"error", JL_LOG_ERROR},
    };
    for (size_t i = 0; i < JL_ARRAY_LEN(rows); i++) {
        const char *args[] = {"--log-level", rows[i].name, NULL};
        parsed_t p;
        parse_ok(&p, args);
        assert_int_equal(p.cfg.log_level, rows[i].level);
        parsed_free(&p);
    }
    expect_invalid("log-level", "INFO");
    expect_invalid("log-level", "warning");
    expect_invalid("log-level", "");
}

static void test_config_log_formats(void **state)
{
    (void)state;
    static const struct { const char *name; int format; } rows[] = {
        {"text", JL_LOG_TEXT}, {"json", JL_LOG_JSON},
    };
    for (size_t i = 0; i < JL_ARRAY_LEN(rows); i++) {
        const char *args[] = {"--log-format", rows[i].name, NULL};
        parsed_t p;
        parse_ok(&p, args);
        assert_int_equal(p.cfg.log_format, rows[i].format);
        parsed_free(&p);
    }
    expect_invalid("log-format", "JSON");
    expect_invalid("log-format", "bogus");
    expect_invalid("log-format", "");
}

/* --log-format is live: a reload changes it, as it does --log-level. */
static void test_config_log_format_reloads(void **state)
{
    (void)state;
    const char *before[] = {"--log-format", "text", NULL};
    parsed_t p;
    parse_ok(&p, before);
    char *argv[] = {"jugglite", "--log-format", "json", "--log-level", "warn", NULL};
    char changed[256], fixed[256];
    assert_int_equal(jl_config_reload(&p.cfg, 5, argv, changed, sizeof changed, fixed,
                                      sizeof fixed), 0);
    assert_string_equal(changed, "log-level, log-format");
    assert_string_equal(fixed, "");
    assert_int_equal(p.cfg.log_format, JL_LOG_JSON);
    assert_int_equal(p.cfg.log_level, JL_LOG_WARN);
    parsed_free(&p);
}

/* --allowed-channels splits on commas and keeps empty items; using it again
 * adds to the list. --cors-origin takes one origin per use, commas and all. */
static void test_config_lists(void **state)
{
    (void)state;
    static const char *const args[] = {
        "--allowed-channels", "a,b,,c", "--allowed-channels", "d", "--allowed-channels", "e,",
        "--cors-origin", "*", "--cors-origin", "https://a.example,https://b.example", NULL,
    };
    static char *const channels[] = {"a", "b", "", "c", "d", "e", ""};
    static char *const origins[] = {"*", "https://a.example,https://b.example"};
    parsed_t p;
    parse_ok(&p, args);
    assert_lists_equal(p.cfg.allowed_channels, p.cfg.n_allowed_channels,
                       (char **)channels, JL_ARRAY_LEN(channels));
    assert_lists_equal(p.cfg.cors_origins, p.cfg.n_cors_origins,
                       (char **)origins, JL_ARRAY_LEN(origins));
    parsed_free(&p);
}

/* A string given twice keeps the last one (and frees the first: ASan). */
static void test_config_last_value_wins(void **state)
{
    (void)state;
    static const char *const args[] = {
        "--address", "1.1.1.1", "--address", "2.2.2.2", "--path", "/a", "--path", "/b",
        "--publish-token", "t1", "--publish-token", "t2", "--port", "1", "--port", "2",
        "--allow-patterns", "--allow-patterns", NULL,
    };
    parsed_t p;
    parse_ok(&p, args);
    assert_string_equal(p.cfg.address, "2.2.2.2");
    assert_string_equal(p.cfg.path, "/b");
    assert_string_equal(p.cfg.publish_token, "t2");
    assert_int_equal(p.cfg.port, 2);
    assert_int_equal(p.cfg.allow_patterns, 1);
    parsed_free(&p);
}

/* The secrets given as flags are overwritten where ps reads them; nothing
 * else is: not a -file option's path, not an --upstream host, not what
 * follows "--". */
static void test_config_scrub_argv(void **state)
{
    (void)state;
    char a[][48] = {"jugglite", "--requirepass", "sesame", "--publish-token=tok3n",
                    "--requirep", "pre", "--publish-token-file", "/run/t",
                    "--upstream", "redis://al:pw@h:1", "--upstream=redis://h:2",
                    "--upstream-pass-file", "/run/p", "--", "--requirepass", "kept"};
    char *argv[JL_ARRAY_LEN(a)];
    for (size_t i = 0; i < JL_ARRAY_LEN(a); i++)
        argv[i] = a[i];
    assert_int_equal(jl_config_scrub_argv((int)JL_ARRAY_LEN(a), argv), 4);
    assert_string_equal(a[2], "xxxxxx");
    assert_string_equal(a[3], "--publish-token=xxxxx");
    assert_string_equal(a[5], "xxx");
    assert_string_equal(a[7], "/run/t");
    assert_string_equal(a[9], "redis://xxxxx@h:1");
    assert_string_equal(a[10], "--upstream=redis://h:2");
    assert_string_equal(a[12], "/run/p");
    assert_string_equal(a[15], "kept");
}

static void test_config_unknown_option_refused(void **state)
{
    (void)state;
    expect_refused((const char *const[]){"--no-such-option", NULL},
                   "jugglite: unrecognized option '--no-such-option'\n"
                   "Try 'jugglite --help'.\n");
    expect_refused((const char *const[]){"-x", NULL},
                   "jugglite: invalid option -- 'x'\nTry 'jugglite --help'.\n");
    expect_refused((const char *const[]){"--port", NULL},
                   "jugglite: option '--port' requires an argument\nTry 'jugglite --help'.\n");
    expect_refused((const char *const[]){"--allow-patterns=1", NULL},
                   "jugglite: option '--allow-patterns' doesn't allow an argument\n"
                   "Try 'jugglite --help'.\n");
}

static void test_config_stray_argument_refused(void **state)
{
    (void)state;
    expect_refused((const char *const[]){"--port", "1", "extra", NULL},
                   "jugglite: unexpected argument 'extra' (see --help)\n");
    expect_refused((const char *const[]){"--", "--port", NULL},
                   "jugglite: unexpected argument '--port' (see --help)\n");
}

/* Abbreviations and "--name=value" are getopt_long's, and still work. */
static void test_config_getopt_spellings(void **state)
{
    (void)state;
    static const char *const args[] = {"--resp-port=7001", "--keep", "3", "--allow-p", NULL};
    parsed_t p;
    parse_ok(&p, args);
    assert_int_equal(p.cfg.resp_port, 7001);
    assert_true(p.cfg.keepalive == 3);
    assert_int_equal(p.cfg.allow_patterns, 1);
    parsed_free(&p);
}

static void test_config_obuf_soft_above_hard_refused(void **state)
{
    (void)state;
    static const char *const message = "jugglite: --obuf-soft must not exceed --obuf-hard\n";
    expect_refused((const char *const[]){"--obuf-soft", "33mb", NULL}, message);
    expect_refused((const char *const[]){"--obuf-hard", "1mb", NULL}, message);
    expect_refused((const char *const[]){"--obuf-hard", "100", "--obuf-soft", "101", NULL},
                   message);
    /* Equal is fine, and a hard limit of 0 (none) allows any soft limit. */
    static const char *const equal[] = {"--obuf-hard", "100", "--obuf-soft", "100", NULL};
    static const char *const unlimited[] = {"--obuf-hard", "0", "--obuf-soft", "1gb", NULL};
    parsed_t p;
    parse_ok(&p, equal);
    parsed_free(&p);
    parse_ok(&p, unlimited);
    assert_int_equal(p.cfg.obuf_soft, 1024u * 1024 * 1024);
    parsed_free(&p);
}

/* A message --max-message-size allows is never a protocol error: the bulk
 * limit is raised to it, whichever option comes first; a bigger bulk limit
 * stays as given. */
static void test_config_max_bulk_at_least_max_message(void **state)
{
    (void)state;
    static const char *const raised[] = {"--max-bulk", "1mb", "--max-message-size", "2gb", NULL};
    static const char *const kept[] = {"--max-message-size", "1k", "--max-bulk", "1mb", NULL};
    parsed_t p;
    parse_ok(&p, raised);
    assert_int_equal(p.cfg.max_message, 2u * 1024 * 1024 * 1024);
    assert_int_equal(p.cfg.max_bulk, 2u * 1024 * 1024 * 1024);
    parsed_free(&p);
    parse_ok(&p, kept);
    assert_int_equal(p.cfg.max_message, 1000);
    assert_int_equal(p.cfg.max_bulk, 1024 * 1024);
    parsed_free(&p);
}

/* A refused parse may hold strings already; jl_config_free releases them
 * (ASan checks) and leaves a zeroed struct that can be freed again. */
static void test_config_free_after_refusal(void **state)
{
    (void)state;
    static const char *const args[] = {"--allowed-channels", "a,b", "--cors-origin", "x",
                                       "--upstream", "redis://h", "--port", "bad", NULL};
    parsed_t p;
    parse_argv(&p, args);
    assert_int_equal(p.rc, -1);
    jl_config_free(&p.cfg);
    static const jl_config_t zero;
    assert_memory_equal(&p.cfg, &zero, sizeof zero);
    jl_config_free(&p.cfg);
    free(p.out);
}


/* ---- the config file and the environment ---- */

/* Writes text to a new temporary file; returns its path (static buffer per call site). */
static void write_conf(char *path, size_t cap, const char *text)
{
    snprintf(path, cap, "/tmp/jl-test-config-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static void test_config_file_env_flags_precedence(void **state)
{
    (void)state;
    char path[64];
    write_conf(path, sizeof path,
               "# comment\n\n  port 4000\nresp-port 4001\nkeepalive 7\nallow-patterns\n"
               "cors-origin https://f1.example\ncors-origin https://f2.example\n"
               "requirepass from file with spaces  \nnamespace file:\n");
    setenv("JUGGLITE_RESP_PORT", "5001", 1);
    setenv("JUGGLITE_KEEPALIVE", "8", 1);
    setenv("JUGGLITE_CORS_ORIGIN", "https://env.example", 1);
    setenv("JUGGLITE_ALLOW_PATTERNS", "no", 1);
    const char *args[] = {"--config", path, "--keepalive", "9", NULL};
    parsed_t p;
    parse_ok(&p, args);
    const jl_config_t *c = &p.cfg;
    assert_int_equal(c->port, 4000);                 /* file */
    assert_int_equal(c->resp_port, 5001);            /* env over file */
    assert_true(c->keepalive == 9);                  /* flag over env over file */
    assert_int_equal(c->allow_patterns, 0);          /* env says no */
    assert_string_equal(c->requirepass, "from file with spaces");
    assert_string_equal(c->namespace_, "file:");
    /* a list set by a higher source replaces the lower one's */
    assert_int_equal(c->n_cors_origins, 1);
    assert_string_equal(c->cors_origins[0], "https://env.example");
    assert_string_equal(c->config_file, path);
    parsed_free(&p);
    unsetenv("JUGGLITE_RESP_PORT");
    unsetenv("JUGGLITE_KEEPALIVE");
    unsetenv("JUGGLITE_CORS_ORIGIN");
    unsetenv("JUGGLITE_ALLOW_PATTERNS");

    /* without the environment, the file's two origins, extended by no flag */
    const char *again[] = {"--config", path, NULL};
    parse_ok(&p, again);
    assert_int_equal(p.cfg.n_cors_origins, 2);
    assert_int_equal(p.cfg.allow_patterns, 1);
    parsed_free(&p);
    /* JUGGLITE_CONFIG names the file too */
    setenv("JUGGLITE_CONFIG", path, 1);
    const char *none[] = {NULL};
    parse_ok(&p, none);
    assert_int_equal(p.cfg.port, 4000);
    parsed_free(&p);
    unsetenv("JUGGLITE_CONFIG");
    unlink(path);
}

static void expect_file_refused(const char *text, const char *tail)
{
    char path[64], want[256];
    write_conf(path, sizeof path, text);
    snprintf(want, sizeof want, "jugglite: %s:%s", path, tail);
    const char *args[] = {"--config", path, NULL};
    expect_refused(args, want);
    unlink(path);
}

static void test_config_file_errors_name_file_and_line(void **state)
{
    (void)state;
    expect_file_refused("port 4000\nprot 1\n", "2: unknown option 'prot'\n");
    expect_file_refused("\n\nport abc\n", "3: invalid value 'abc' for --port (see --help)\n");
    expect_file_refused("port\n", "1: port needs a value\n");
    expect_file_refused("allow-patterns perhaps\n",
                        "1: invalid value 'perhaps' for --allow-patterns (see --help)\n");
    expect_file_refused("help\n", "1: not allowed in a config file: 'help'\n");
    expect_file_refused("config /etc/other.conf\n", "1: not allowed in a config file: 'config'\n");
    const char *missing[] = {"--config", "/nonexistent/jl.conf", NULL};
    expect_refused(missing, "jugglite: --config /nonexistent/jl.conf: No such file or directory\n");
    setenv("JUGGLITE_PORT", "x", 1);
    const char *none[] = {NULL};
    expect_refused(none, "jugglite: JUGGLITE_PORT: invalid value 'x' for --port (see --help)\n");
    unsetenv("JUGGLITE_PORT");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_defaults),
        cmocka_unit_test(test_config_help_defaults_are_the_defaults),
        cmocka_unit_test(test_config_every_option_lands_in_its_field),
        cmocka_unit_test(test_config_every_help_option_is_tested),
        cmocka_unit_test(test_config_help_is_aligned),
        cmocka_unit_test(test_config_short_flags),
        cmocka_unit_test(test_config_help_and_version),
        cmocka_unit_test(test_config_integer_bounds),
        cmocka_unit_test(test_config_size_bounds),
        cmocka_unit_test(test_config_double_bounds),
        cmocka_unit_test(test_config_parse_size_suffixes),
        cmocka_unit_test(test_config_paths_and_tokens),
        cmocka_unit_test(test_config_log_levels),
        cmocka_unit_test(test_config_log_formats),
        cmocka_unit_test(test_config_log_format_reloads),
        cmocka_unit_test(test_config_lists),
        cmocka_unit_test(test_config_last_value_wins),
        cmocka_unit_test(test_config_scrub_argv),
        cmocka_unit_test(test_config_unknown_option_refused),
        cmocka_unit_test(test_config_stray_argument_refused),
        cmocka_unit_test(test_config_getopt_spellings),
        cmocka_unit_test(test_config_obuf_soft_above_hard_refused),
        cmocka_unit_test(test_config_max_bulk_at_least_max_message),
        cmocka_unit_test(test_config_free_after_refusal),
        cmocka_unit_test(test_config_file_env_flags_precedence),
        cmocka_unit_test(test_config_file_errors_name_file_and_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
