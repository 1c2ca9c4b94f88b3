/* commands.c -- the RESP command table: what jugglite answers, as Redis does.
 *
 * Redis 7.0 (Debian 12's 7.0.15) is the reference, byte for byte, in RESP2
 * and RESP3. The order of checks is Redis's processCommand order: QUIT,
 * lookup (unknown command / subcommand), arity, authentication, the RESP2
 * subscribed-mode whitelist, then MULTI queueing, then execution. Where a
 * later Redis fixed a behaviour we follow the fix (pushes to a client inside
 * its own EXEC are sent after the EXEC reply; CLIENT SETINFO exists).
 *
 * Handlers append their reply to jl_client_reply; subscription confirmations
 * are pushes, which CLIENT REPLY OFF does not silence (CMD_PUSHES). */
#include "client.h"
#include "config.h"
#include "glob.h"
#include "log.h"
#include "server.h"
#include "upstream.h"
#include "../http/http_session.h"
#include "../resp/resp_writer.h"

#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <unistd.h>

#define R (&jl_client_reply)

typedef struct args {
    size_t argc;
    const char **argv;
    const size_t *len;
} args_t;

enum {
    CMD_PUBSUB_OK = 1 << 0, /* allowed in RESP2 subscribed mode */
    CMD_NOAUTH = 1 << 1,    /* allowed before AUTH */
    CMD_PUSHES = 1 << 2,    /* replies are pushes: CLIENT REPLY OFF keeps them */
    CMD_NO_QUEUE = 1 << 3,  /* runs at once even inside MULTI */
};

typedef struct command command_t;
struct command {
    const char *name;       /* lowercase */
    int arity;              /* Redis: n exact, -n at least n */
    unsigned flags;
    void (*proc)(jl_client_t *c, const args_t *a);
    const command_t *subs;  /* container: subcommand table (NULL-terminated) */
    const char *info_flags; /* COMMAND INFO flags, space separated */
    const char *acl;        /* ACL categories, space separated */
    const char *summary;
    const char *since;
    const char *group;
    int first_key, last_key, key_step;
};

static const command_t command_table[];

/* ---- small helpers ---- */

static int arg_is(const args_t *a, size_t i, const char *s)
{
    return a->len[i] == strlen(s) && strncasecmp(a->argv[i], s, a->len[i]) == 0;
}

/* Parses a whole argument as a long long, like Redis's string2ll. */
static int arg_ll(const args_t *a, size_t i, long long *out)
{
    char buf[32];
    if (a->len[i] == 0 || a->len[i] >= sizeof buf)
        return -1;
    memcpy(buf, a->argv[i], a->len[i]);
    buf[a->len[i]] = '\0';
    if (buf[0] == '+' || isspace((unsigned char)buf[0]) || (buf[0] == '0' && buf[1]))
        return -1;
    if (buf[0] == '-' && buf[1] == '0')
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

static void reply_ok(void) { jl_resp_simple(R, "OK"); }

static void reply_syntax(void) { jl_resp_error(R, "ERR syntax error"); }

/* Redis's rejectCommandFormat: an error that also fails a pending MULTI.
 * (jl_resp_error turns CR/LF into spaces, as Redis does.) */
static void reply_reject(jl_client_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reply_reject(jl_client_t *c, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    jl_resp_errorf(R, "ERR %s", msg);
    if (c->flags & JL_CLIENT_MULTI)
        c->flags |= JL_CLIENT_DIRTY_EXEC;
}

static void full_name(const command_t *cmd, const command_t *parent, char *out, size_t len)
{
    if (parent)
        snprintf(out, len, "%s|%s", parent->name, cmd->name);
    else
        snprintf(out, len, "%s", cmd->name);
}

/* ---- pub/sub ---- */

static void confirm(jl_client_t *c, const char *kind, const char *name, size_t len, size_t count)
{
    jl_resp_push(R, c->proto, 3);
    jl_resp_bulk_str(R, kind);
    if (name)
        jl_resp_bulk(R, name, len);
    else
        jl_resp_null(R, c->proto);
    jl_resp_integer(R, (long long)count);
}

static size_t count_for(jl_client_t *c, jl_ns_t ns)
{
    return ns == JL_NS_SHARD ? c->sink.nsubs[JL_NS_SHARD] : jl_client_subs(c);
}

static const char *const sub_kind[JL_NS_COUNT] = {"subscribe", "psubscribe", "ssubscribe"};
static const char *const unsub_kind[JL_NS_COUNT] = {"unsubscribe", "punsubscribe", "sunsubscribe"};

static void subscribe_ns(jl_client_t *c, const args_t *a, jl_ns_t ns)
{
    jl_registry_t *reg = c->conn.srv->reg;
    for (size_t i = 1; i < a->argc; i++) {
        jl_registry_subscribe(reg, &c->sink, ns, a->argv[i], a->len[i]);
        confirm(c, sub_kind[ns], a->argv[i], a->len[i], count_for(c, ns));
    }
}

typedef struct unsub_ctx {
    jl_client_t *c;
    jl_ns_t ns;
    size_t n;
} unsub_ctx_t;

static void on_unsubscribed(void *ud, const char *name, size_t len)
{
    unsub_ctx_t *u = ud;
    u->n++;
    confirm(u->c, unsub_kind[u->ns], name, len, count_for(u->c, u->ns));
}

static void unsubscribe_ns(jl_client_t *c, const args_t *a, jl_ns_t ns)
{
    jl_registry_t *reg = c->conn.srv->reg;
    if (a->argc == 1) {
        unsub_ctx_t u = {c, ns, 0};
        jl_registry_unsubscribe_all(reg, &c->sink, ns, on_unsubscribed, &u);
        if (u.n == 0)
            confirm(c, unsub_kind[ns], NULL, 0, count_for(c, ns));
        return;
    }
    for (size_t i = 1; i < a->argc; i++) {
        jl_registry_unsubscribe(reg, &c->sink, ns, a->argv[i], a->len[i]);
        confirm(c, unsub_kind[ns], a->argv[i], a->len[i], count_for(c, ns));
    }
}

static void cmd_subscribe(jl_client_t *c, const args_t *a) { subscribe_ns(c, a, JL_NS_CHANNEL); }
static void cmd_psubscribe(jl_client_t *c, const args_t *a) { subscribe_ns(c, a, JL_NS_PATTERN); }
static void cmd_unsubscribe(jl_client_t *c, const args_t *a) { unsubscribe_ns(c, a, JL_NS_CHANNEL); }
static void cmd_punsubscribe(jl_client_t *c, const args_t *a) { unsubscribe_ns(c, a, JL_NS_PATTERN); }
static void cmd_sunsubscribe(jl_client_t *c, const args_t *a) { unsubscribe_ns(c, a, JL_NS_SHARD); }

static void cmd_ssubscribe(jl_client_t *c, const args_t *a)
{
    if (c->flags & JL_CLIENT_IN_EXEC) {
        jl_resp_error(R, "ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client");
        return;
    }
    subscribe_ns(c, a, JL_NS_SHARD);
}

static void publish(jl_client_t *c, const args_t *a, int shard)
{
    jl_server_t *srv = c->conn.srv;
    if (srv->upstream && !(c->flags & JL_CLIENT_IN_EXEC)) {
        jl_upstream_forward_publish(srv->upstream, c, a->argv[1], a->len[1], a->argv[2], a->len[2],
                                    shard);
        return;
    }
    if (srv->upstream) {
        /* Inside EXEC the reply array cannot wait for the upstream: the
         * message is forwarded and the reply counts nothing yet. */
        jl_upstream_forward_publish(srv->upstream, NULL, a->argv[1], a->len[1], a->argv[2],
                                    a->len[2], shard);
        jl_resp_integer(R, 0);
        return;
    }
    size_t n = jl_server_publish_local(srv, a->argv[1], a->len[1], a->argv[2], a->len[2], shard);
    jl_resp_integer(R, (long long)n);
}

static void cmd_publish(jl_client_t *c, const args_t *a) { publish(c, a, 0); }
static void cmd_spublish(jl_client_t *c, const args_t *a) { publish(c, a, 1); }

typedef struct list_ctx {
    size_t n;
    jl_buf_t names;
} list_ctx_t;

static void collect_name(void *ud, const char *name, size_t len)
{
    list_ctx_t *l = ud;
    l->n++;
    jl_resp_bulk(&l->names, name, len);
}

static void pubsub_list(jl_client_t *c, const args_t *a, jl_ns_t ns)
{
    if (a->argc > 3) {
        /* Redis's addReplySubcommandSyntaxError */
        reply_reject(c, "unknown subcommand or wrong number of arguments for '%.*s'. Try PUBSUB HELP.",
                     (int)(a->len[1] < 128 ? a->len[1] : 128), a->argv[1]);
        return;
    }
    list_ctx_t l = {0, {0}};
    jl_registry_foreach(c->conn.srv->reg, ns, a->argc == 3 ? a->argv[2] : NULL,
                        a->argc == 3 ? a->len[2] : 0, collect_name, &l);
    jl_resp_array(R, l.n);
    jl_buf_append(R, l.names.data, l.names.len);
    jl_buf_free(&l.names);
}

static void pubsub_numsub_ns(jl_client_t *c, const args_t *a, jl_ns_t ns)
{
    jl_resp_array(R, (a->argc - 2) * 2);
    for (size_t i = 2; i < a->argc; i++) {
        jl_resp_bulk(R, a->argv[i], a->len[i]);
        jl_resp_integer(R, (long long)jl_registry_numsub(c->conn.srv->reg, ns, a->argv[i], a->len[i]));
    }
}

static void cmd_pubsub_channels(jl_client_t *c, const args_t *a) { pubsub_list(c, a, JL_NS_CHANNEL); }
static void cmd_pubsub_shardchannels(jl_client_t *c, const args_t *a) { pubsub_list(c, a, JL_NS_SHARD); }
static void cmd_pubsub_numsub(jl_client_t *c, const args_t *a) { pubsub_numsub_ns(c, a, JL_NS_CHANNEL); }
static void cmd_pubsub_shardnumsub(jl_client_t *c, const args_t *a) { pubsub_numsub_ns(c, a, JL_NS_SHARD); }

static void cmd_pubsub_numpat(jl_client_t *c, const args_t *a)
{
    (void)a;
    jl_resp_integer(R, (long long)jl_registry_count(c->conn.srv->reg, JL_NS_PATTERN));
}

static void reply_help(const char *const *lines)
{
    size_t n = 0;
    while (lines[n])
        n++;
    jl_resp_array(R, n);
    for (size_t i = 0; i < n; i++)
        jl_resp_simple(R, lines[i]);
}

static void cmd_pubsub_help(jl_client_t *c, const args_t *a)
{
    (void)c;
    (void)a;
    static const char *const help[] = {
        "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: '*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
        "HELP",
        "    Prints this help.",
        NULL,
    };
    reply_help(help);
}

/* ---- connection ---- */

static void cmd_ping(jl_client_t *c, const args_t *a)
{
    if (a->argc > 2) {
        reply_reject(c, "wrong number of arguments for 'ping' command");
        return;
    }
    if (c->proto == 2 && jl_client_all_subs(c) > 0) {
        jl_resp_array(R, 2);
        jl_resp_bulk_str(R, "pong");
        jl_resp_bulk(R, a->argc == 2 ? a->argv[1] : "", a->argc == 2 ? a->len[1] : 0);
        return;
    }
    if (a->argc == 2)
        jl_resp_bulk(R, a->argv[1], a->len[1]);
    else
        jl_resp_simple(R, "PONG");
}

static void cmd_echo(jl_client_t *c, const args_t *a)
{
    (void)c;
    jl_resp_bulk(R, a->argv[1], a->len[1]);
}

static int check_password(jl_client_t *c, const char *user, size_t ulen, const char *pass, size_t plen)
{
    const char *want = c->conn.srv->cfg->requirepass;
    if (user && !(ulen == 7 && memcmp(user, "default", 7) == 0))
        return 0;
    if (want == NULL)
        return 1;   /* the default user has no password: anything goes */
    return strlen(want) == plen && memcmp(want, pass, plen) == 0;
}

static void cmd_auth(jl_client_t *c, const args_t *a)
{
    if (a->argc > 3) {
        reply_syntax();
        return;
    }
    if (a->argc == 2 && c->conn.srv->cfg->requirepass == NULL) {
        jl_resp_error(R, "ERR AUTH <password> called without any password configured for the "
                         "default user. Are you sure your configuration is correct?");
        return;
    }
    int ok = a->argc == 2 ? check_password(c, NULL, 0, a->argv[1], a->len[1])
                          : check_password(c, a->argv[1], a->len[1], a->argv[2], a->len[2]);
    if (!ok) {
        jl_resp_error(R, "WRONGPASS invalid username-password pair or user is disabled.");
        return;
    }
    c->flags |= JL_CLIENT_AUTHED;
    reply_ok();
}

static int valid_client_name(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] < '!' || s[i] > '~')
            return 0;
    return 1;
}

static void set_name(jl_client_t *c, const char *s, size_t len)
{
    free(c->name);
    c->name = len ? jl_strndup(s, len) : NULL;
}

static void hello_reply(jl_client_t *c)
{
    jl_resp_map(R, c->proto, 7);
    jl_resp_bulk_str(R, "server");
    jl_resp_bulk_str(R, "redis");
    jl_resp_bulk_str(R, "version");
    jl_resp_bulk_str(R, "7.0.15");
    jl_resp_bulk_str(R, "proto");
    jl_resp_integer(R, c->proto);
    jl_resp_bulk_str(R, "id");
    jl_resp_integer(R, (long long)c->conn.id);
    jl_resp_bulk_str(R, "mode");
    jl_resp_bulk_str(R, "standalone");
    jl_resp_bulk_str(R, "role");
    jl_resp_bulk_str(R, "master");
    jl_resp_bulk_str(R, "modules");
    jl_resp_array(R, 0);
}

static void cmd_hello(jl_client_t *c, const args_t *a)
{
    long long ver = 0;
    size_t i = 1;
    if (a->argc >= 2) {
        if (arg_ll(a, 1, &ver) < 0) {
            jl_resp_error(R, "ERR Protocol version is not an integer or out of range");
            return;
        }
        if (ver < 2 || ver > 3) {
            jl_resp_error(R, "NOPROTO unsupported protocol version");
            return;
        }
        i = 2;
    }
    const char *user = NULL, *pass = NULL, *name = NULL;
    size_t ulen = 0, plen = 0, nlen = 0;
    for (; i < a->argc; i++) {
        size_t more = a->argc - i - 1;
        if (arg_is(a, i, "AUTH") && more >= 2) {
            user = a->argv[i + 1], ulen = a->len[i + 1];
            pass = a->argv[i + 2], plen = a->len[i + 2];
            i += 2;
        } else if (arg_is(a, i, "SETNAME") && more >= 1) {
            name = a->argv[i + 1], nlen = a->len[i + 1];
            i += 1;
        } else {
            jl_resp_errorf(R, "ERR Syntax error in HELLO option '%.*s'", (int)a->len[i], a->argv[i]);
            return;
        }
    }
    if (user && !check_password(c, user, ulen, pass, plen)) {
        jl_resp_error(R, "WRONGPASS invalid username-password pair or user is disabled.");
        return;
    }
    if (user)
        c->flags |= JL_CLIENT_AUTHED;
    if (!(c->flags & JL_CLIENT_AUTHED)) {
        jl_resp_error(R, "NOAUTH HELLO must be called with the client already authenticated, "
                         "otherwise the HELLO <proto> AUTH <user> <pass> option can be used to "
                         "authenticate the client and select the RESP protocol version at the "
                         "same time");
        return;
    }
    if (name) {
        if (!valid_client_name(name, nlen)) {
            jl_resp_error(R, "ERR Client names cannot contain spaces, newlines or special characters.");
            return;
        }
        set_name(c, name, nlen);
    }
    if (ver)
        c->proto = (uint8_t)ver;
    hello_reply(c);
}

static void cmd_select(jl_client_t *c, const args_t *a)
{
    long long db;
    if (arg_ll(a, 1, &db) < 0 || db < INT_MIN || db > INT_MAX) {
        jl_resp_error(R, "ERR value is not an integer or out of range");
        return;
    }
    if (db < 0 || db > 15) {
        jl_resp_error(R, "ERR DB index is out of range");
        return;
    }
    c->db = (uint8_t)db;
    reply_ok();
}

static void cmd_quit(jl_client_t *c, const args_t *a)
{
    (void)a;
    reply_ok();
    jl_client_commit_reply(c);
    jl_conn_close_after_flush(&c->conn);
}

static void cmd_reset(jl_client_t *c, const args_t *a)
{
    (void)a;
    jl_registry_t *reg = c->conn.srv->reg;
    jl_client_discard_multi(c);
    for (int ns = 0; ns < JL_NS_COUNT; ns++)
        jl_registry_unsubscribe_all(reg, &c->sink, (jl_ns_t)ns, NULL, NULL);
    c->proto = 2;
    c->db = 0;
    set_name(c, NULL, 0);
    c->flags &= (uint16_t)~(JL_CLIENT_REPLY_OFF | JL_CLIENT_REPLY_SKIP | JL_CLIENT_REPLY_SKIP_NEXT);
    if (c->conn.srv->cfg->requirepass)
        c->flags &= (uint16_t)~JL_CLIENT_AUTHED;
    jl_resp_simple(R, "RESET");
}

/* ---- transactions ---- */

static void cmd_multi(jl_client_t *c, const args_t *a)
{
    (void)a;
    if (c->flags & JL_CLIENT_MULTI) {
        jl_resp_error(R, "ERR MULTI calls can not be nested");
        return;
    }
    c->flags |= JL_CLIENT_MULTI;
    reply_ok();
}

static void cmd_discard(jl_client_t *c, const args_t *a)
{
    (void)a;
    if (!(c->flags & JL_CLIENT_MULTI)) {
        jl_resp_error(R, "ERR DISCARD without MULTI");
        return;
    }
    jl_client_discard_multi(c);
    reply_ok();
}

static void queue_command(jl_client_t *c, const args_t *a)
{
    c->multi = jl_realloc(c->multi, (c->nmulti + 1) * sizeof *c->multi);
    jl_queued_cmd_t *q = &c->multi[c->nmulti++];
    q->argc = a->argc;
    q->argv = jl_malloc(a->argc * sizeof *q->argv);
    q->argvlen = jl_malloc(a->argc * sizeof *q->argvlen);
    for (size_t i = 0; i < a->argc; i++) {
        q->argv[i] = jl_strndup(a->argv[i], a->len[i]);
        q->argvlen[i] = a->len[i];
        c->multi_bytes += a->len[i] + sizeof(char *) + sizeof(size_t);
    }
    jl_resp_simple(R, "QUEUED");
}

static unsigned execute(jl_client_t *c, const args_t *a, int in_exec);

static void cmd_exec(jl_client_t *c, const args_t *a)
{
    (void)a;
    if (!(c->flags & JL_CLIENT_MULTI)) {
        jl_resp_error(R, "ERR EXEC without MULTI");
        return;
    }
    if (c->flags & JL_CLIENT_DIRTY_EXEC) {
        jl_resp_error(R, "EXECABORT Transaction discarded because of previous errors.");
        jl_client_discard_multi(c);
        return;
    }
    jl_queued_cmd_t *queue = c->multi;
    size_t n = c->nmulti;
    c->multi = NULL;
    c->nmulti = 0;
    c->flags &= (uint16_t)~JL_CLIENT_MULTI;
    c->flags |= JL_CLIENT_IN_EXEC;
    jl_resp_array(R, n);
    for (size_t i = 0; i < n; i++) {
        args_t qa = {queue[i].argc, (const char **)queue[i].argv, queue[i].argvlen};
        execute(c, &qa, 1);
    }
    c->flags &= (uint16_t)~JL_CLIENT_IN_EXEC;
    c->multi = queue;
    c->nmulti = n;
    jl_client_discard_multi(c);
    /* Messages this client published to itself during EXEC follow the reply. */
    jl_client_commit_reply(c);
    for (size_t i = 0; i < c->ndeferred; i++) {
        jl_conn_push(&c->conn, c->deferred[i]);
        jl_frame_unref(c->deferred[i]);
    }
    free(c->deferred);
    c->deferred = NULL;
    c->ndeferred = 0;
}

/* ---- client ---- */

static void cmd_client_id(jl_client_t *c, const args_t *a)
{
    (void)a;
    jl_resp_integer(R, (long long)c->conn.id);
}

static void cmd_client_setname(jl_client_t *c, const args_t *a)
{
    if (!valid_client_name(a->argv[2], a->len[2])) {
        jl_resp_error(R, "ERR Client names cannot contain spaces, newlines or special characters.");
        return;
    }
    set_name(c, a->argv[2], a->len[2]);
    reply_ok();
}

static void cmd_client_getname(jl_client_t *c, const args_t *a)
{
    (void)a;
    if (c->name)
        jl_resp_bulk_str(R, c->name);
    else
        jl_resp_null(R, c->proto);
}

static void cmd_client_setinfo(jl_client_t *c, const args_t *a)
{
    char **slot;
    if (arg_is(a, 2, "LIB-NAME"))
        slot = &c->lib_name;
    else if (arg_is(a, 2, "LIB-VER"))
        slot = &c->lib_ver;
    else {
        jl_resp_errorf(R, "ERR Unrecognized option '%.*s'", (int)a->len[2], a->argv[2]);
        return;
    }
    if (!valid_client_name(a->argv[3], a->len[3])) {
        jl_resp_errorf(R, "ERR %.*s cannot contain spaces, newlines or special characters.",
                       (int)a->len[2], a->argv[2]);
        return;
    }
    free(*slot);
    *slot = a->len[3] ? jl_strndup(a->argv[3], a->len[3]) : NULL;
    reply_ok();
}

static void cmd_client_info(jl_client_t *c, const args_t *a)
{
    (void)a;
    jl_buf_t line = {0};
    jl_client_describe(c, &line);
    jl_resp_verbatim(R, c->proto, line.data, line.len);
    jl_buf_free(&line);
}

static void cmd_client_list(jl_client_t *c, const args_t *a)
{
    if (a->argc != 2) {
        reply_syntax();
        return;
    }
    jl_buf_t out = {0};
    JL_LIST_FOREACH(&c->conn.srv->conns, it) {
        jl_conn_t *conn = JL_CONTAINER_OF(it, jl_conn_t, all);
        if (conn->kind == JL_CONN_RESP)
            jl_client_describe((jl_client_t *)conn, &out);
    }
    jl_resp_verbatim(R, c->proto, out.data ? out.data : "", out.len);
    jl_buf_free(&out);
}

static void cmd_client_kill(jl_client_t *c, const args_t *a)
{
    jl_server_t *srv = c->conn.srv;
    if (a->argc == 3) {
        /* Old form: CLIENT KILL addr:port */
        JL_LIST_FOREACH(&srv->conns, it) {
            jl_conn_t *conn = JL_CONTAINER_OF(it, jl_conn_t, all);
            char peer[128];
            jl_conn_peer(conn, peer, sizeof peer);
            if (conn->kind == JL_CONN_RESP && strlen(peer) == a->len[2] &&
                memcmp(peer, a->argv[2], a->len[2]) == 0) {
                reply_ok();
                if (conn == &c->conn)
                    jl_conn_close_after_flush(conn);
                else
                    jl_conn_close(conn, "CLIENT KILL");
                return;
            }
        }
        jl_resp_error(R, "ERR No such client");
        return;
    }
    if ((a->argc - 2) % 2 != 0) {
        reply_syntax();
        return;
    }
    long long id = -1;
    for (size_t i = 2; i < a->argc; i += 2) {
        if (!arg_is(a, i, "ID")) {
            reply_syntax();
            return;
        }
        if (arg_ll(a, i + 1, &id) < 0 || id <= 0) {
            jl_resp_error(R, "ERR client-id should be greater than 0");
            return;
        }
    }
    jl_client_t *victim = jl_client_find(srv, (uint64_t)id);
    if (victim == NULL) {
        jl_resp_integer(R, 0);
        return;
    }
    jl_resp_integer(R, 1);
    if (victim == c)
        jl_conn_close_after_flush(&c->conn);
    else
        jl_conn_close(&victim->conn, "CLIENT KILL");
}

static void cmd_client_reply(jl_client_t *c, const args_t *a)
{
    if (arg_is(a, 2, "ON")) {
        c->flags &= (uint16_t)~(JL_CLIENT_REPLY_OFF | JL_CLIENT_REPLY_SKIP_NEXT);
        reply_ok();
    } else if (arg_is(a, 2, "OFF")) {
        c->flags |= JL_CLIENT_REPLY_OFF;
    } else if (arg_is(a, 2, "SKIP")) {
        if (!(c->flags & JL_CLIENT_REPLY_OFF))
            c->flags |= JL_CLIENT_REPLY_SKIP_NEXT;
    } else {
        reply_syntax();
    }
}

static void cmd_client_help(jl_client_t *c, const args_t *a)
{
    (void)c;
    (void)a;
    static const char *const help[] = {
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GETNAME",
        "    Return the name of the current connection.",
        "ID",
        "    Return the ID of the current connection.",
        "INFO",
        "    Return information about the current client connection.",
        "KILL <ip:port>",
        "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Kill connections. Options are:",
        "    * ID <client-id>",
        "      Kill connections by client id.",
        "LIST",
        "    Return information about client connections.",
        "REPLY (ON|OFF|SKIP)",
        "    Control the replies sent to the current connection.",
        "SETNAME <name>",
        "    Assign the name <name> to the current connection.",
        "SETINFO <LIB-NAME|LIB-VER> <value>",
        "    Set client meta attr. Options are:",
        "    * LIB-NAME: the client lib name.",
        "    * LIB-VER: the client lib version.",
        "HELP",
        "    Prints this help.",
        NULL,
    };
    reply_help(help);
}

/* ---- server ---- */

static void cmd_time(jl_client_t *c, const args_t *a)
{
    (void)c;
    (void)a;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    char s[32], us[32];
    snprintf(s, sizeof s, "%lld", (long long)tv.tv_sec);
    snprintf(us, sizeof us, "%ld", (long)tv.tv_usec);
    jl_resp_array(R, 2);
    jl_resp_bulk_str(R, s);
    jl_resp_bulk_str(R, us);
}

static void cmd_dbsize(jl_client_t *c, const args_t *a)
{
    (void)c;
    (void)a;
    jl_resp_integer(R, 0);
}

static long rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, rss = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return rss * sysconf(_SC_PAGESIZE);
}

static int section_wanted(const char *section, const char *name, int is_default)
{
    if (section == NULL || strcasecmp(section, "default") == 0)
        return is_default;
    if (strcasecmp(section, "all") == 0 || strcasecmp(section, "everything") == 0)
        return 1;
    return strcasecmp(section, name) == 0;
}

static void info_text(jl_server_t *srv, const char *section, jl_buf_t *o)
{
    double now = ev_time();
    size_t start = o->len;
#define SECTION(name, dflt) if (section_wanted(section, name, dflt) && \
    (o->len > start ? jl_buf_append_str(o, "\r\n"), 1 : 1))
    SECTION("server", 1) {
        struct utsname un;
        uname(&un);
        jl_buf_printf(o, "# Server\r\nredis_version:7.0.15\r\njugglite_version:%s\r\n"
                         "redis_mode:standalone\r\nos:%s %s %s\r\narch_bits:%d\r\n"
                         "multiplexing_api:%s\r\nprocess_id:%d\r\nrun_id:%s\r\ntcp_port:%d\r\n"
                         "server_time_usec:%lld\r\nuptime_in_seconds:%lld\r\nuptime_in_days:%lld\r\n",
                      JL_VERSION, un.sysname, un.release, un.machine, (int)(sizeof(void *) * 8),
                      "libev", (int)getpid(), srv->run_id, srv->cfg->resp_port,
                      (long long)(now * 1e6), (long long)(now - srv->start_time),
                      (long long)((now - srv->start_time) / 86400));
    }
    SECTION("clients", 1) {
        jl_buf_printf(o, "# Clients\r\nconnected_clients:%zu\r\nmaxclients:%ld\r\n"
                         "blocked_clients:0\r\npubsub_clients:%zu\r\n",
                      srv->nconns_kind[JL_CONN_RESP], srv->max_conns,
                      jl_http_stream_count(srv));
    }
    SECTION("memory", 1) {
        long rss = rss_bytes();
        jl_buf_printf(o, "# Memory\r\nused_memory:%ld\r\nused_memory_rss:%ld\r\n"
                         "maxmemory:0\r\nmaxmemory_policy:noeviction\r\n", rss, rss);
    }
    SECTION("persistence", 1) {
        jl_buf_printf(o, "# Persistence\r\nloading:0\r\nasync_loading:0\r\n"
                         "rdb_changes_since_last_save:0\r\naof_enabled:0\r\n");
    }
    SECTION("stats", 1) {
        const jl_stats_t *s = &srv->stats;
        jl_buf_printf(o, "# Stats\r\ntotal_connections_received:%llu\r\n"
                         "total_commands_processed:%llu\r\ntotal_net_input_bytes:%llu\r\n"
                         "total_net_output_bytes:%llu\r\nrejected_connections:%llu\r\n"
                         "client_output_buffer_limit_disconnections:%llu\r\n"
                         "pubsub_channels:%zu\r\npubsub_patterns:%zu\r\npubsubshard_channels:%zu\r\n",
                      s->connections_received, s->commands_processed, s->net_input_bytes,
                      s->net_output_bytes, s->rejected_connections, s->obuf_disconnects,
                      jl_registry_count(srv->reg, JL_NS_CHANNEL),
                      jl_registry_count(srv->reg, JL_NS_PATTERN),
                      jl_registry_count(srv->reg, JL_NS_SHARD));
    }
    SECTION("replication", 1) {
        jl_buf_printf(o, "# Replication\r\nrole:master\r\nconnected_slaves:0\r\n");
    }
    SECTION("cpu", 1) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        jl_buf_printf(o, "# CPU\r\nused_cpu_sys:%ld.%06ld\r\nused_cpu_user:%ld.%06ld\r\n",
                      (long)ru.ru_stime.tv_sec, (long)ru.ru_stime.tv_usec,
                      (long)ru.ru_utime.tv_sec, (long)ru.ru_utime.tv_usec);
    }
    SECTION("cluster", 1) {
        jl_buf_printf(o, "# Cluster\r\ncluster_enabled:0\r\n");
    }
    SECTION("keyspace", 1) {
        jl_buf_printf(o, "# Keyspace\r\n");
    }
    SECTION("jugglite", 1) {
        jl_buf_printf(o, "# Jugglite\r\n");
        jl_http_info(srv, o);
    }
    if (srv->upstream) {
        SECTION("upstream", 1) {
            jl_buf_printf(o, "# Upstream\r\n");
            jl_upstream_info(srv->upstream, o);
        }
    }
#undef SECTION
}

static void cmd_info(jl_client_t *c, const args_t *a)
{
    char section[64] = "";
    if (a->argc >= 2)
        snprintf(section, sizeof section, "%.*s", (int)a->len[1], a->argv[1]);
    jl_buf_t text = {0};
    info_text(c->conn.srv, a->argc >= 2 ? section : NULL, &text);
    jl_resp_verbatim(R, c->proto, text.data ? text.data : "", text.len);
    jl_buf_free(&text);
}

/* ---- CONFIG GET ---- */

static void cmd_config_get(jl_client_t *c, const args_t *a)
{
    const jl_config_t *cfg = c->conn.srv->cfg;
    char maxclients[32], port[16], bulk[32], qbuf[32], obuf[96];
    snprintf(maxclients, sizeof maxclients, "%ld", c->conn.srv->max_conns);
    snprintf(port, sizeof port, "%d", cfg->resp_port);
    snprintf(bulk, sizeof bulk, "%zu", cfg->max_message);
    snprintf(qbuf, sizeof qbuf, "%zu", cfg->query_buffer_limit);
    snprintf(obuf, sizeof obuf, "normal 0 0 0 slave 0 0 0 pubsub %zu %zu %.0f", cfg->obuf_hard,
             cfg->obuf_soft, cfg->obuf_soft_seconds);
    const char *params[][2] = {
        {"appendonly", "no"}, {"bind", cfg->resp_address}, {"client-output-buffer-limit", obuf},
        {"client-query-buffer-limit", qbuf}, {"databases", "16"}, {"maxclients", maxclients},
        {"port", port}, {"proto-max-bulk-len", bulk}, {"requirepass", cfg->requirepass ? cfg->requirepass : ""},
        {"save", ""}, {"timeout", "0"},
    };
    size_t n = JL_ARRAY_LEN(params);
    int hit[JL_ARRAY_LEN(params)] = {0};
    size_t nhit = 0;
    for (size_t i = 2; i < a->argc; i++)
        for (size_t p = 0; p < n; p++)
            if (!hit[p] && jl_glob_match(a->argv[i], a->len[i], params[p][0], strlen(params[p][0]))) {
                hit[p] = 1;
                nhit++;
            }
    jl_resp_map(R, c->proto, nhit);
    for (size_t p = 0; p < n; p++) {
        if (!hit[p])
            continue;
        jl_resp_bulk_str(R, params[p][0]);
        jl_resp_bulk_str(R, params[p][1]);
    }
}

static void cmd_config_help(jl_client_t *c, const args_t *a)
{
    (void)c;
    (void)a;
    static const char *const help[] = {
        "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "HELP",
        "    Prints this help.",
        NULL,
    };
    reply_help(help);
}

/* ---- COMMAND ---- */

static size_t count_words(const char *s)
{
    size_t n = 0;
    for (const char *p = s; p && *p;) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        n++;
        while (*p && *p != ' ')
            p++;
    }
    return n;
}

static void words(jl_client_t *c, const char *s, int status)
{
    jl_resp_set(R, c->proto, count_words(s));
    for (const char *p = s; p && *p;) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        const char *e = p;
        while (*e && *e != ' ')
            e++;
        if (status) {
            jl_buf_append_char(R, '+');
            jl_buf_append(R, p, (size_t)(e - p));
            jl_buf_append_str(R, "\r\n");
        } else {
            jl_resp_bulk(R, p, (size_t)(e - p));
        }
        p = e;
    }
}

static size_t table_len(const command_t *t)
{
    size_t n = 0;
    while (t[n].name)
        n++;
    return n;
}

static void command_info(jl_client_t *c, const command_t *cmd, const command_t *parent)
{
    char name[64];
    full_name(cmd, parent, name, sizeof name);
    jl_resp_array(R, 10);
    jl_resp_bulk_str(R, name);
    jl_resp_integer(R, cmd->arity);
    words(c, cmd->info_flags, 1);
    jl_resp_integer(R, cmd->first_key);
    jl_resp_integer(R, cmd->last_key);
    jl_resp_integer(R, cmd->key_step);
    words(c, cmd->acl, 1);
    jl_resp_set(R, c->proto, 0);
    jl_resp_array(R, 0);
    size_t nsub = cmd->subs ? table_len(cmd->subs) : 0;
    jl_resp_array(R, nsub);
    for (size_t i = 0; i < nsub; i++)
        command_info(c, &cmd->subs[i], cmd);
}

static void command_docs(jl_client_t *c, const command_t *cmd, const command_t *parent)
{
    char name[64];
    full_name(cmd, parent, name, sizeof name);
    jl_resp_bulk_str(R, name);
    size_t nsub = cmd->subs ? table_len(cmd->subs) : 0;
    jl_resp_map(R, c->proto, nsub ? 4 : 3);
    jl_resp_bulk_str(R, "summary");
    jl_resp_bulk_str(R, cmd->summary);
    jl_resp_bulk_str(R, "since");
    jl_resp_bulk_str(R, cmd->since);
    jl_resp_bulk_str(R, "group");
    jl_resp_bulk_str(R, cmd->group);
    if (!nsub)
        return;
    jl_resp_bulk_str(R, "subcommands");
    jl_resp_map(R, c->proto, nsub);
    for (size_t i = 0; i < nsub; i++)
        command_docs(c, &cmd->subs[i], cmd);
}

static const command_t *lookup(const command_t *table, const char *name, size_t len)
{
    for (const command_t *cmd = table; cmd->name; cmd++)
        if (strlen(cmd->name) == len && strncasecmp(cmd->name, name, len) == 0)
            return cmd;
    return NULL;
}

static void cmd_command(jl_client_t *c, const args_t *a)
{
    (void)a;
    size_t n = table_len(command_table);
    jl_resp_array(R, n);
    for (size_t i = 0; i < n; i++)
        command_info(c, &command_table[i], NULL);
}

static void cmd_command_count(jl_client_t *c, const args_t *a)
{
    (void)c;
    (void)a;
    jl_resp_integer(R, (long long)table_len(command_table));
}

static void cmd_command_info(jl_client_t *c, const args_t *a)
{
    if (a->argc == 2) {
        cmd_command(c, a);
        return;
    }
    jl_resp_array(R, a->argc - 2);
    for (size_t i = 2; i < a->argc; i++) {
        const command_t *cmd = lookup(command_table, a->argv[i], a->len[i]);
        if (cmd)
            command_info(c, cmd, NULL);
        else
            jl_resp_null_array(R, c->proto);
    }
}

static void cmd_command_docs(jl_client_t *c, const args_t *a)
{
    size_t n = 0;
    const command_t *found[64];
    if (a->argc == 2) {
        for (const command_t *cmd = command_table; cmd->name && n < JL_ARRAY_LEN(found); cmd++)
            found[n++] = cmd;
    } else {
        for (size_t i = 2; i < a->argc && n < JL_ARRAY_LEN(found); i++) {
            const command_t *cmd = lookup(command_table, a->argv[i], a->len[i]);
            if (cmd)
                found[n++] = cmd;
        }
    }
    jl_resp_map(R, c->proto, n);
    for (size_t i = 0; i < n; i++)
        command_docs(c, found[i], NULL);
}

static void cmd_command_list(jl_client_t *c, const args_t *a)
{
    (void)a;
    size_t n = table_len(command_table);
    jl_resp_array(R, n);
    for (size_t i = 0; i < n; i++)
        jl_resp_bulk_str(R, command_table[i].name);
    (void)c;
}

static void cmd_command_help(jl_client_t *c, const args_t *a)
{
    (void)c;
    (void)a;
    static const char *const help[] = {
        "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "(no subcommand)",
        "    Return details about all Redis commands.",
        "COUNT",
        "    Return the total number of commands in this Redis server.",
        "LIST",
        "    Return a list of all commands in this Redis server.",
        "INFO [<command-name> ...]",
        "    Return details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "DOCS [<command-name> ...]",
        "    Return documentation details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "HELP",
        "    Prints this help.",
        NULL,
    };
    reply_help(help);
}

/* ---- the table ---- */

#define CONN_ACL "@fast @connection"
#define PS_FLAGS "pubsub noscript loading stale"

static const command_t pubsub_subs[] = {
    {"channels", -2, 0, cmd_pubsub_channels, NULL, "pubsub loading stale", "@pubsub @slow",
     "Returns the active channels.", "2.8.0", "pubsub", 0, 0, 0},
    {"help", 2, 0, cmd_pubsub_help, NULL, "loading stale", "@slow", "Returns helpful text about the different subcommands.", "6.2.0", "pubsub", 0, 0, 0},
    {"numpat", 2, 0, cmd_pubsub_numpat, NULL, "pubsub loading stale", "@pubsub @slow",
     "Returns a count of unique pattern subscriptions.", "2.8.0", "pubsub", 0, 0, 0},
    {"numsub", -2, 0, cmd_pubsub_numsub, NULL, "pubsub loading stale", "@pubsub @slow",
     "Returns a count of subscribers to channels.", "2.8.0", "pubsub", 0, 0, 0},
    {"shardchannels", -2, 0, cmd_pubsub_shardchannels, NULL, "pubsub loading stale", "@pubsub @slow",
     "Returns the active shard channels.", "7.0.0", "pubsub", 0, 0, 0},
    {"shardnumsub", -2, 0, cmd_pubsub_shardnumsub, NULL, "pubsub loading stale", "@pubsub @slow",
     "Returns the count of subscribers of shard channels.", "7.0.0", "pubsub", 0, 0, 0},
    {NULL, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0},
};

static const command_t client_subs[] = {
    {"getname", 2, 0, cmd_client_getname, NULL, "noscript loading stale", "@slow @connection",
     "Returns the name of the connection.", "2.6.9", "connection", 0, 0, 0},
    {"help", 2, 0, cmd_client_help, NULL, "loading stale", "@slow @connection",
     "Returns helpful text about the different subcommands.", "5.0.0", "connection", 0, 0, 0},
    {"id", 2, 0, cmd_client_id, NULL, "noscript loading stale", "@slow @connection",
     "Returns the unique client ID of the connection.", "5.0.0", "connection", 0, 0, 0},
    {"info", 2, 0, cmd_client_info, NULL, "noscript loading stale", "@slow @connection",
     "Returns information about the connection.", "6.2.0", "connection", 0, 0, 0},
    {"kill", -3, 0, cmd_client_kill, NULL, "admin noscript loading stale",
     "@admin @slow @dangerous @connection", "Terminates open connections.", "2.4.0", "connection", 0, 0, 0},
    {"list", -2, 0, cmd_client_list, NULL, "admin noscript loading stale",
     "@admin @slow @dangerous @connection", "Lists open connections.", "2.4.0", "connection", 0, 0, 0},
    {"reply", 3, 0, cmd_client_reply, NULL, "noscript loading stale", "@slow @connection",
     "Instructs the server whether to reply to commands.", "3.2.0", "connection", 0, 0, 0},
    {"setinfo", 4, 0, cmd_client_setinfo, NULL, "noscript loading stale", "@slow @connection",
     "Sets information specific to the client or connection.", "7.2.0", "connection", 0, 0, 0},
    {"setname", 3, 0, cmd_client_setname, NULL, "noscript loading stale", "@slow @connection",
     "Sets the connection name.", "2.6.9", "connection", 0, 0, 0},
    {NULL, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0},
};

static const command_t config_subs[] = {
    {"get", -3, 0, cmd_config_get, NULL, "admin noscript loading stale", "@admin @slow @dangerous",
     "Returns the effective values of configuration parameters.", "2.0.0", "server", 0, 0, 0},
    {"help", 2, 0, cmd_config_help, NULL, "loading stale", "@slow",
     "Returns helpful text about the different subcommands.", "5.0.0", "server", 0, 0, 0},
    {NULL, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0},
};

static const command_t command_subs[] = {
    {"count", 2, 0, cmd_command_count, NULL, "loading stale", "@slow @connection",
     "Returns a count of commands.", "2.8.13", "server", 0, 0, 0},
    {"docs", -2, 0, cmd_command_docs, NULL, "loading stale", "@slow @connection",
     "Returns documentary information about one, multiple or all commands.", "7.0.0", "server", 0, 0, 0},
    {"help", 2, 0, cmd_command_help, NULL, "loading stale", "@slow @connection",
     "Returns helpful text about the different subcommands.", "5.0.0", "server", 0, 0, 0},
    {"info", -2, 0, cmd_command_info, NULL, "loading stale", "@slow @connection",
     "Returns information about one, multiple or all commands.", "2.8.13", "server", 0, 0, 0},
    {"list", -2, 0, cmd_command_list, NULL, "loading stale", "@slow @connection",
     "Returns a list of command names.", "7.0.0", "server", 0, 0, 0},
    {NULL, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0},
};

static const command_t command_table[] = {
    {"auth", -2, CMD_NOAUTH, cmd_auth, NULL, "noscript loading stale fast no_auth allow_busy", CONN_ACL,
     "Authenticates the connection.", "1.0.0", "connection", 0, 0, 0},
    {"client", -2, 0, NULL, client_subs, "", "@slow", "A container for client connection commands.", "2.4.0", "connection", 0, 0, 0},
    {"command", -1, 0, cmd_command, command_subs, "loading stale", "@slow @connection",
     "Returns detailed information about all commands.", "2.8.13", "server", 0, 0, 0},
    {"config", -2, 0, NULL, config_subs, "", "@slow", "A container for server configuration commands.", "2.0.0", "server", 0, 0, 0},
    {"dbsize", 1, 0, cmd_dbsize, NULL, "readonly fast", "@keyspace @read @fast",
     "Returns the number of keys in the database.", "1.0.0", "server", 0, 0, 0},
    {"discard", 1, CMD_NO_QUEUE, cmd_discard, NULL, "noscript loading stale fast allow_busy", "@fast @transaction",
     "Discards a transaction.", "2.0.0", "transactions", 0, 0, 0},
    {"echo", 2, 0, cmd_echo, NULL, "loading stale fast", CONN_ACL, "Returns the given string.", "1.0.0", "connection", 0, 0, 0},
    {"exec", 1, CMD_NO_QUEUE, cmd_exec, NULL, "noscript loading stale skip_slowlog", "@slow @transaction",
     "Executes all commands in a transaction.", "1.2.0", "transactions", 0, 0, 0},
    {"hello", -1, CMD_NOAUTH, cmd_hello, NULL, "noscript loading stale fast no_auth allow_busy", CONN_ACL,
     "Handshakes with the Redis server.", "6.0.0", "connection", 0, 0, 0},
    {"info", -1, 0, cmd_info, NULL, "loading stale", "@slow @dangerous",
     "Returns information and statistics about the server.", "1.0.0", "server", 0, 0, 0},
    {"multi", 1, CMD_NO_QUEUE, cmd_multi, NULL, "noscript loading stale fast allow_busy", "@fast @transaction",
     "Starts a transaction.", "1.2.0", "transactions", 0, 0, 0},
    {"ping", -1, CMD_PUBSUB_OK, cmd_ping, NULL, "fast", CONN_ACL, "Returns the server's liveliness response.", "1.0.0", "connection", 0, 0, 0},
    {"psubscribe", -2, CMD_PUBSUB_OK | CMD_PUSHES, cmd_psubscribe, NULL, PS_FLAGS, "@pubsub @slow",
     "Listens for messages published to channels that match one or more patterns.", "2.0.0", "pubsub", 0, 0, 0},
    {"publish", 3, 0, cmd_publish, NULL, "pubsub loading stale fast", "@pubsub @fast",
     "Posts a message to a channel.", "2.0.0", "pubsub", 0, 0, 0},
    {"pubsub", -2, 0, NULL, pubsub_subs, "", "@slow", "A container for Pub/Sub commands.", "2.8.0", "pubsub", 0, 0, 0},
    {"punsubscribe", -1, CMD_PUBSUB_OK | CMD_PUSHES, cmd_punsubscribe, NULL, PS_FLAGS, "@pubsub @slow",
     "Stops listening to messages published to channels that match one or more patterns.", "2.0.0", "pubsub", 0, 0, 0},
    {"quit", -1, CMD_NOAUTH | CMD_PUBSUB_OK | CMD_NO_QUEUE, cmd_quit, NULL,
     "noscript loading stale fast no_auth allow_busy", CONN_ACL, "Closes the connection.", "1.0.0", "connection", 0, 0, 0},
    {"reset", 1, CMD_NOAUTH | CMD_PUBSUB_OK | CMD_NO_QUEUE, cmd_reset, NULL,
     "noscript loading stale fast no_auth allow_busy", CONN_ACL, "Resets the connection.", "6.2.0", "connection", 0, 0, 0},
    {"select", 2, 0, cmd_select, NULL, "loading stale fast", CONN_ACL, "Changes the selected database.", "1.0.0", "connection", 0, 0, 0},
    {"spublish", 3, 0, cmd_spublish, NULL, "pubsub loading stale fast", "@pubsub @fast",
     "Post a message to a shard channel", "7.0.0", "pubsub", 1, 1, 1},
    {"ssubscribe", -2, CMD_PUBSUB_OK | CMD_PUSHES, cmd_ssubscribe, NULL, PS_FLAGS, "@pubsub @slow",
     "Listens for messages published to shard channels.", "7.0.0", "pubsub", 1, -1, 1},
    {"subscribe", -2, CMD_PUBSUB_OK | CMD_PUSHES, cmd_subscribe, NULL, PS_FLAGS, "@pubsub @slow",
     "Listens for messages published to channels.", "2.0.0", "pubsub", 0, 0, 0},
    {"sunsubscribe", -1, CMD_PUBSUB_OK | CMD_PUSHES, cmd_sunsubscribe, NULL, PS_FLAGS, "@pubsub @slow",
     "Stops listening to messages posted to shard channels.", "7.0.0", "pubsub", 1, -1, 1},
    {"time", 1, 0, cmd_time, NULL, "loading stale fast", "@fast", "Returns the server time.", "2.6.0", "server", 0, 0, 0},
    {"unsubscribe", -1, CMD_PUBSUB_OK | CMD_PUSHES, cmd_unsubscribe, NULL, PS_FLAGS, "@pubsub @slow",
     "Stops listening to messages posted to channels.", "2.0.0", "pubsub", 0, 0, 0},
    {NULL, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0},
};

/* ---- dispatch ---- */

static int arity_ok(const command_t *cmd, size_t argc)
{
    return cmd->arity > 0 ? argc == (size_t)cmd->arity : argc >= (size_t)-cmd->arity;
}

static void reply_unknown(jl_client_t *c, const args_t *a)
{
    char args[512] = "";
    size_t used = 0;
    for (size_t i = 1; i < a->argc && used < 128; i++) {
        int room = 128 - (int)used;
        int n = snprintf(args + used, sizeof args - used, "'%.*s' ",
                         (int)(a->len[i] < (size_t)room ? a->len[i] : (size_t)room), a->argv[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    reply_reject(c, "unknown command '%.*s', with args beginning with: %s",
                 (int)(a->len[0] < 128 ? a->len[0] : 128), a->argv[0], args);
}

/* Finds the command (and subcommand) or replies with Redis's error. */
static const command_t *resolve(jl_client_t *c, const args_t *a, const command_t **parent)
{
    *parent = NULL;
    const command_t *cmd = lookup(command_table, a->argv[0], a->len[0]);
    if (cmd == NULL) {
        reply_unknown(c, a);
        return NULL;
    }
    if (cmd->subs == NULL || a->argc < 2) {
        if (!arity_ok(cmd, a->argc)) {
            reply_reject(c, "wrong number of arguments for '%s' command", cmd->name);
            return NULL;
        }
        return cmd;
    }
    const command_t *sub = lookup(cmd->subs, a->argv[1], a->len[1]);
    if (sub == NULL) {
        char upper[32];
        size_t i = 0;
        for (; cmd->name[i] && i < sizeof upper - 1; i++)
            upper[i] = (char)toupper((unsigned char)cmd->name[i]);
        upper[i] = '\0';
        reply_reject(c, "unknown subcommand '%.*s'. Try %s HELP.",
                     (int)(a->len[1] < 128 ? a->len[1] : 128), a->argv[1], upper);
        return NULL;
    }
    if (!arity_ok(sub, a->argc)) {
        reply_reject(c, "wrong number of arguments for '%s|%s' command", cmd->name, sub->name);
        return NULL;
    }
    *parent = cmd;
    return sub;
}

/* Runs one command; returns its flags (0 if it was not found) so that the
 * caller knows whether CLIENT REPLY OFF may silence what it wrote. */
static unsigned execute(jl_client_t *c, const args_t *a, int in_exec)
{
    const command_t *parent;
    if (!in_exec && a->len[0] == 4 && strncasecmp(a->argv[0], "quit", 4) == 0) {
        cmd_quit(c, a);
        return 0;
    }
    const command_t *cmd = resolve(c, a, &parent);
    if (cmd == NULL)
        return 0;
    unsigned flags = cmd->flags | (parent ? parent->flags : 0);
    c->last_cmd = cmd->name;
    if (!in_exec) {
        if (!(c->flags & JL_CLIENT_AUTHED) && !(flags & CMD_NOAUTH)) {
            jl_resp_error(R, "NOAUTH Authentication required.");
            if (c->flags & JL_CLIENT_MULTI)
                c->flags |= JL_CLIENT_DIRTY_EXEC;
            return 0;
        }
        if (c->proto == 2 && jl_client_all_subs(c) > 0 && !(flags & CMD_PUBSUB_OK)) {
            char name[64];
            full_name(cmd, parent, name, sizeof name);
            reply_reject(c, "Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING "
                            "/ QUIT / RESET are allowed in this context", name);
            return 0;
        }
        if ((c->flags & JL_CLIENT_MULTI) && !(flags & CMD_NO_QUEUE)) {
            queue_command(c, a);
            return flags & ~(unsigned)CMD_PUSHES;
        }
    }
    cmd->proc(c, a);
    return flags;
}

void jl_commands_execute(jl_client_t *c, size_t argc, const char **argv, const size_t *argvlen)
{
    args_t a = {argc, argv, argvlen};
    /* CLIENT REPLY SKIP applies to the command after it. */
    if (c->flags & JL_CLIENT_REPLY_SKIP_NEXT) {
        c->flags &= (uint16_t)~JL_CLIENT_REPLY_SKIP_NEXT;
        c->flags |= JL_CLIENT_REPLY_SKIP;
    }
    size_t mark = R->len;
    unsigned flags = execute(c, &a, 0);
    if ((c->flags & (JL_CLIENT_REPLY_OFF | JL_CLIENT_REPLY_SKIP)) && !(flags & CMD_PUSHES))
        R->len = mark;
    c->flags &= (uint16_t)~JL_CLIENT_REPLY_SKIP;
}
