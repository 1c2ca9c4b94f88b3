/* resp_commands.c -- the RESP command table: what jugglite answers, as Redis does.
 *
 * Redis 7.0 (Debian 12's 7.0.15) is the reference, byte for byte, in RESP2
 * and RESP3. The order of checks is Redis's processCommand order: QUIT,
 * lookup (unknown command / subcommand), arity, authentication, the RESP2
 * subscribed-mode whitelist, a MONITOR client's keyspace refusal, then MULTI
 * queueing, then execution; a command that ran is then shown to the
 * monitors (Redis's call(), see feed_monitors). Where a later Redis fixed
 * a behaviour we follow the fix: a command's reply goes out before the
 * messages it caused this client to receive (Redis >= 7.2, inside EXEC and
 * outside it alike); CLIENT SETINFO exists. We also keep that order for a
 * monitor's lines about the commands of its own EXEC, which every Redis so
 * far splices into the EXEC array, breaking its framing.
 *
 * Handlers append their reply to the buffer in their argument block;
 * subscription confirmations are pushes, which CLIENT REPLY OFF does not
 * silence (CMD_PUSHES). A PUBLISH goes through the server's relay: answered
 * at once, its count is part of the reply; answered later (an upstream),
 * the client blocks -- its input paused -- until publish_done. */
#include "resp/resp_commands.h"
#include "resp/resp_acl.h"
#include "resp/resp_lifecycle.h"
#include "resp/resp_docs.h"
#include "resp/resp_info.h"
#include "resp/resp_session.h"
#include "resp/resp_stream.h"
#include "resp/resp_writer.h"
#include "server/glob.h"
#include "server/log.h"
#include "server/relay.h"
#include "server/server.h"
#include "server/strconv.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

typedef struct args {
    size_t argc;
    const char **argv;
    const size_t *len;
    jl_buf_t *reply;        /* the command's reply is appended here */
    /* While somebody monitors: argc flags, set by a handler (redact) for
     * each argument MONITOR must show as "(redacted)". NULL otherwise. */
    uint8_t *redacted;
} args_t;

enum {
    CMD_PUBSUB_OK = 1 << 0, /* allowed in RESP2 subscribed mode */
    CMD_NOAUTH = 1 << 1,    /* allowed before AUTH */
    CMD_PUSHES = 1 << 2,    /* replies are pushes: CLIENT REPLY OFF keeps them */
    CMD_NO_QUEUE = 1 << 3,  /* runs at once even inside MULTI */
    /* Reads, writes or may replicate (Redis's CMD_READONLY, CMD_WRITE,
     * CMD_MAY_REPLICATE; the last is hidden from COMMAND INFO): refused to a
     * MONITOR client, which Redis treats as a replica. */
    CMD_KEYSPACE = 1 << 4,
    /* Redis's CMD_ADMIN as MONITOR sees it: "too dangerous to be shown"
     * (CONFIG GET would show requirepass). */
    CMD_ADMIN = 1 << 5,
};

typedef struct command command_t;
struct command {
    const char *name;       /* lowercase */
    int arity;              /* Redis: n exact, -n at least n */
    unsigned flags;
    void (*proc)(jl_resp_client_t *c, const args_t *a);
    const command_t *subs;  /* container: subcommand table, ended by {0} */
    const char *info_flags; /* COMMAND INFO flags, space separated */
    const char *acl;        /* ACL categories, space separated */
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
    return jl_strtoll(a->argv[i], a->len[i], out) == JL_OK ? 0 : -1;
}

static void reply_ok(const args_t *a) { jl_resp_simple(a->reply, "OK"); }

static void reply_syntax(const args_t *a) { jl_resp_error(a->reply, "ERR syntax error"); }

/* Redis's rejectCommandFormat: an error that also fails a pending MULTI.
 * (jl_resp_error turns CR/LF into spaces, as Redis does.) */
static void reply_reject(jl_resp_client_t *c, const args_t *a, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void reply_reject(jl_resp_client_t *c, const args_t *a, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    jl_resp_errorf(a->reply, "ERR %s", msg);
    if (c->flags & JL_RESP_MULTI)
        c->flags |= JL_RESP_DIRTY_EXEC;
}

static void full_name(const command_t *cmd, const command_t *parent, char *out, size_t len)
{
    if (parent)
        snprintf(out, len, "%s|%s", parent->name, cmd->name);
    else
        snprintf(out, len, "%s", cmd->name);
}

/* ---- pub/sub ---- */

static void confirm(jl_resp_client_t *c, jl_buf_t *out, const char *kind, const char *name,
                    size_t len, size_t count)
{
    jl_resp_push(out, c->proto, 3);
    jl_resp_bulk_str(out, kind);
    if (name)
        jl_resp_bulk(out, name, len);
    else
        jl_resp_null(out, c->proto);
    jl_resp_integer(out, (long long)count);
}

static size_t count_for(jl_resp_client_t *c, jl_ns_t ns)
{
    return ns == JL_NS_SHARD ? c->sink.nsubs[JL_NS_SHARD] : jl_resp_client_subs(c);
}

static const char *const sub_kind[JL_NS_COUNT] = {"subscribe", "psubscribe", "ssubscribe"};
static const char *const unsub_kind[JL_NS_COUNT] = {"unsubscribe", "punsubscribe", "sunsubscribe"};

/* Lifecycle events (resp_lifecycle.h) collect the names that changed in
 * 'changed' (NULL: events are off). */
static void subscribe_ns(jl_resp_client_t *c, const args_t *a, jl_ns_t ns)
{
    jl_registry_t *reg = c->resp->srv->reg;
    json_t *changed = jl_resp_lifecycle_names(c);
    for (size_t i = 1; i < a->argc; i++) {
        if (jl_registry_subscribe(reg, &c->sink, ns, a->argv[i], a->len[i]))
            jl_resp_lifecycle_add(changed, a->argv[i], a->len[i]);
        confirm(c, a->reply, sub_kind[ns], a->argv[i], a->len[i], count_for(c, ns));
    }
    jl_resp_lifecycle_changed(c, ns, 1, changed);
}

typedef struct unsub_ctx {
    jl_resp_client_t *c;
    jl_buf_t *out;
    jl_ns_t ns;
    size_t n;
    json_t *changed;
} unsub_ctx_t;

static void on_unsubscribed(void *ud, const char *name, size_t len)
{
    unsub_ctx_t *u = ud;
    u->n++;
    jl_resp_lifecycle_add(u->changed, name, len);
    if (u->out)
        confirm(u->c, u->out, unsub_kind[u->ns], name, len, count_for(u->c, u->ns));
}

/* out NULL: no confirmations (RESET). */
static void unsubscribe_all(jl_resp_client_t *c, jl_ns_t ns, jl_buf_t *out)
{
    unsub_ctx_t u = {c, out, ns, 0, jl_resp_lifecycle_names(c)};
    jl_registry_unsubscribe_all(c->resp->srv->reg, &c->sink, ns, on_unsubscribed, &u);
    if (u.n == 0 && out)
        confirm(c, out, unsub_kind[ns], NULL, 0, count_for(c, ns));
    jl_resp_lifecycle_changed(c, ns, 0, u.changed);
}

static void unsubscribe_ns(jl_resp_client_t *c, const args_t *a, jl_ns_t ns)
{
    jl_registry_t *reg = c->resp->srv->reg;
    if (a->argc == 1) {
        unsubscribe_all(c, ns, a->reply);
        return;
    }
    json_t *changed = jl_resp_lifecycle_names(c);
    for (size_t i = 1; i < a->argc; i++) {
        if (jl_registry_unsubscribe(reg, &c->sink, ns, a->argv[i], a->len[i]))
            jl_resp_lifecycle_add(changed, a->argv[i], a->len[i]);
        confirm(c, a->reply, unsub_kind[ns], a->argv[i], a->len[i], count_for(c, ns));
    }
    jl_resp_lifecycle_changed(c, ns, 0, changed);
}

static void cmd_subscribe(jl_resp_client_t *c, const args_t *a) { subscribe_ns(c, a, JL_NS_CHANNEL); }
static void cmd_psubscribe(jl_resp_client_t *c, const args_t *a) { subscribe_ns(c, a, JL_NS_PATTERN); }
static void cmd_unsubscribe(jl_resp_client_t *c, const args_t *a) { unsubscribe_ns(c, a, JL_NS_CHANNEL); }
static void cmd_punsubscribe(jl_resp_client_t *c, const args_t *a) { unsubscribe_ns(c, a, JL_NS_PATTERN); }
static void cmd_sunsubscribe(jl_resp_client_t *c, const args_t *a) { unsubscribe_ns(c, a, JL_NS_SHARD); }

static void cmd_ssubscribe(jl_resp_client_t *c, const args_t *a)
{
    if (c->flags & JL_RESP_IN_EXEC) {
        jl_resp_error(a->reply, "ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client");
        return;
    }
    subscribe_ns(c, a, JL_NS_SHARD);
}

/* The scratch every command builds its reply in (one loop, one command at
 * a time); jl_resp_execute moves it to the client's output. */
static jl_buf_t *scratch_of(jl_resp_client_t *c) { return &c->resp->srv->reply; }

/* Sends the pushes held back while this client's command ran or waited. */
static void release_deferred(jl_resp_client_t *c)
{
    for (size_t i = 0; i < c->ndeferred; i++) {
        jl_conn_push(&c->conn, c->deferred[i]);
        jl_frame_unref(c->deferred[i]);
    }
    free(c->deferred);
    c->deferred = NULL;
    c->ndeferred = 0;
    c->deferred_bytes = 0;
}

/* Moves what the current command has replied so far to the output. */
static void commit(jl_resp_client_t *c)
{
    jl_buf_t *out = scratch_of(c);
    jl_conn_append(&c->conn, out->data, out->len);
    out->len = 0;
    /* One huge reply must not pin its buffer for the process's lifetime. */
    if (out->cap > 65536)
        jl_buf_free(out);
}

static void append_answer(jl_buf_t *out, const jl_relay_reply_t *r)
{
    if (r->error)
        jl_resp_errorf(out, "%.*s", (int)r->error_len, r->error);
    else
        jl_resp_integer(out, r->receivers);
}

/* Queues an answer that came after its command: the count (every bridged
 * publish) without an allocation, an error through a buffer. */
static void send_answer(jl_resp_client_t *c, const jl_relay_reply_t *r)
{
    if (r->error == NULL) {
        char num[32];
        int n = snprintf(num, sizeof num, ":%lld\r\n", r->receivers);
        jl_conn_append(&c->conn, num, (size_t)n);
        return;
    }
    jl_buf_t b = {0};
    append_answer(&b, r);
    jl_conn_append(&c->conn, b.data, b.len);
    jl_buf_free(&b);
}

/* The relay's answer to this client's PUBLISH. At once (the local relay):
 * it is the command's reply. Later (an upstream): it goes out on its own,
 * then what the client was sent meanwhile, and the client reads again. */
static void publish_done(void *ud, const jl_relay_reply_t *r)
{
    jl_resp_client_t *c = ud;
    if (c->flags & JL_RESP_EXECUTING) {
        c->flags &= (uint16_t)~JL_RESP_BLOCKED;
        append_answer(scratch_of(c), r);
        return;
    }
    if (!(c->flags & JL_RESP_WAIT_SILENT))
        send_answer(c, r);
    c->flags &= (uint16_t)~(JL_RESP_BLOCKED | JL_RESP_WAIT_SILENT);
    release_deferred(c);
    if (c->resp->srv->shutting_down) {
        jl_conn_close_after_flush(&c->conn);    /* held open for this answer only */
        return;
    }
    jl_conn_resume(&c->conn);
}

/* --max-message-size bounds what reaches subscribers. Over it the publish
 * is refused with an error reply and logged (peer and sizes, never the
 * payload); the client stays connected and subscribed. Only input past the
 * protocol's own bulk limit (--max-bulk) is a protocol error. */
static int message_too_large(jl_resp_client_t *c, const args_t *a, const char *cmd)
{
    size_t limit = c->resp->srv->cfg->max_message;
    if (a->len[2] <= limit)
        return 0;
    char peer[128];
    jl_conn_peer(&c->conn, peer, sizeof peer);
    jl_log_info("refused %s from client id=%llu %s: message of %zu bytes, the limit "
                "(--max-message-size) is %zu bytes", cmd, (unsigned long long)c->conn.id, peer,
                a->len[2], limit);
    jl_resp_errorf(a->reply, "ERR message too large: %zu bytes, the limit (--max-message-size) "
                   "is %zu bytes", a->len[2], limit);
    return 1;
}

static void publish(jl_resp_client_t *c, const args_t *a, int shard)
{
    if (message_too_large(c, a, shard ? "SPUBLISH" : "PUBLISH"))
        return;
    if (jl_lifecycle_reserved(a->argv[1], a->len[1])) {
        jl_resp_error(a->reply, "ERR channels starting with '" JL_LIFECYCLE_PREFIX
                                "' are reserved for jugglite's lifecycle events");
        return;
    }
    jl_relay_t *relay = c->resp->srv->relay;
    jl_pub_t pub = {a->argv[1], a->len[1], a->argv[2], a->len[2], shard};
    /* Until publish_done says otherwise; pushes meanwhile are held back. */
    c->flags |= JL_RESP_BLOCKED;
    if (jl_relay_publish(relay, &pub, publish_done, c) < 0) {
        c->flags &= (uint16_t)~JL_RESP_BLOCKED;
        jl_resp_error(a->reply, relay->error);
        return;
    }
    if (!(c->flags & JL_RESP_BLOCKED))
        return;     /* answered at once */
    if (c->flags & JL_RESP_IN_EXEC) {
        /* EXEC's reply array cannot wait for an upstream: the message is on
         * its way and the reply counts nothing yet. */
        jl_relay_cancel(relay, c);
        c->flags &= (uint16_t)~JL_RESP_BLOCKED;
        jl_resp_integer(a->reply, 0);
        return;
    }
    /* Nothing more from this client until the answer: its replies stay in
     * order and one client cannot queue unbounded publishes. */
    if (c->flags & (JL_RESP_REPLY_OFF | JL_RESP_REPLY_SKIP))
        c->flags |= JL_RESP_WAIT_SILENT;
    jl_conn_pause(&c->conn);
}

static void cmd_publish(jl_resp_client_t *c, const args_t *a) { publish(c, a, 0); }
static void cmd_spublish(jl_resp_client_t *c, const args_t *a) { publish(c, a, 1); }

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

static void pubsub_list(jl_resp_client_t *c, const args_t *a, jl_ns_t ns)
{
    if (a->argc > 3) {
        /* Redis's addReplySubcommandSyntaxError */
        reply_reject(c, a, "unknown subcommand or wrong number of arguments for '%.*s'. Try PUBSUB HELP.",
                     (int)(a->len[1] < 128 ? a->len[1] : 128), a->argv[1]);
        return;
    }
    list_ctx_t l = {0, {0}};
    jl_registry_foreach(c->resp->srv->reg, ns, a->argc == 3 ? a->argv[2] : NULL,
                        a->argc == 3 ? a->len[2] : 0, collect_name, &l);
    jl_resp_array(a->reply, l.n);
    jl_buf_append(a->reply, l.names.data, l.names.len);
    jl_buf_free(&l.names);
}

static void pubsub_numsub_ns(jl_resp_client_t *c, const args_t *a, jl_ns_t ns)
{
    jl_resp_array(a->reply, (a->argc - 2) * 2);
    for (size_t i = 2; i < a->argc; i++) {
        jl_resp_bulk(a->reply, a->argv[i], a->len[i]);
        jl_resp_integer(a->reply, (long long)jl_registry_numsub(c->resp->srv->reg, ns, a->argv[i], a->len[i]));
    }
}

static void cmd_pubsub_channels(jl_resp_client_t *c, const args_t *a) { pubsub_list(c, a, JL_NS_CHANNEL); }
static void cmd_pubsub_shardchannels(jl_resp_client_t *c, const args_t *a) { pubsub_list(c, a, JL_NS_SHARD); }
static void cmd_pubsub_numsub(jl_resp_client_t *c, const args_t *a) { pubsub_numsub_ns(c, a, JL_NS_CHANNEL); }
static void cmd_pubsub_shardnumsub(jl_resp_client_t *c, const args_t *a) { pubsub_numsub_ns(c, a, JL_NS_SHARD); }

static void cmd_pubsub_numpat(jl_resp_client_t *c, const args_t *a)
{
    (void)a;
    jl_resp_integer(a->reply, (long long)jl_registry_count(c->resp->srv->reg, JL_NS_PATTERN));
}

static void reply_help(const args_t *a, const char *const *lines)
{
    size_t n = 0;
    while (lines[n])
        n++;
    jl_resp_array(a->reply, n);
    for (size_t i = 0; i < n; i++)
        jl_resp_simple(a->reply, lines[i]);
}

/* ---- JUGGLITE: jugglite's own commands ---- */

static void append_counts(jl_buf_t *out, const args_t *a, const long long *count)
{
    jl_resp_array(out, 2 * (a->argc - 2));
    for (size_t i = 2; i < a->argc; i++) {
        jl_resp_bulk(out, a->argv[i], a->len[i]);
        jl_resp_integer(out, count[i - 2]);
    }
}

/* The flat reply of PUBSUB NUMSUB, built again from the names it came
 * with: the command's arguments are gone by the time the nodes answer. */
struct jl_resp_numsub {
    size_t n;
    size_t *lens;
    char **names;
};

static void numsub_free(struct jl_resp_numsub *w)
{
    if (w == NULL)
        return;
    for (size_t i = 0; i < w->n; i++)
        free(w->names[i]);
    free(w->names);
    free(w->lens);
    free(w);
}

static void numsub_done(void *ud, const jl_relay_counts_t *r)
{
    jl_resp_client_t *c = ud;
    struct jl_resp_numsub *w = c->numsub;
    jl_buf_t b = {0};
    if (r->error) {
        jl_resp_errorf(&b, "%.*s", (int)r->error_len, r->error);
    } else {
        jl_resp_array(&b, 2 * w->n);
        for (size_t i = 0; i < w->n; i++) {
            jl_resp_bulk(&b, w->names[i], w->lens[i]);
            jl_resp_integer(&b, r->count[i]);
        }
        if (r->expected >= 0 && (long long)r->nodes < r->expected)
            jl_log_info("JUGGLITE NUMSUB from client id=%llu: %zu of %lld nodes answered in time",
                        (unsigned long long)c->conn.id, r->nodes, r->expected);
    }
    if (!(c->flags & JL_RESP_WAIT_SILENT))
        jl_conn_append(&c->conn, b.data, b.len);
    jl_buf_free(&b);
    numsub_free(w);
    c->numsub = NULL;
    c->flags &= (uint16_t)~(JL_RESP_BLOCKED | JL_RESP_WAIT_SILENT);
    release_deferred(c);
    if (c->resp->srv->shutting_down) {
        jl_conn_close_after_flush(&c->conn);
        return;
    }
    jl_conn_resume(&c->conn);
}

/* JUGGLITE NUMSUB [channel ...]: PUBSUB NUMSUB over every bridged node
 * (resp/upstream_count.h); on a single node, the same as PUBSUB NUMSUB. */
static void cmd_jugglite_numsub(jl_resp_client_t *c, const args_t *a)
{
    size_t n = a->argc - 2;
    jl_relay_t *relay = c->resp->srv->relay;
    struct jl_resp_numsub *w = jl_calloc(1, sizeof *w);
    w->n = n;
    w->names = jl_malloc((n ? n : 1) * sizeof *w->names);
    w->lens = jl_malloc((n ? n : 1) * sizeof *w->lens);
    for (size_t i = 0; i < n; i++) {
        w->names[i] = jl_strndup(a->argv[i + 2], a->len[i + 2]);
        w->lens[i] = a->len[i + 2];
    }
    c->numsub = w;
    int rc = (c->flags & JL_RESP_IN_EXEC) ? -EDEADLK
                                          : jl_relay_numsub(relay, JL_NS_CHANNEL,
                                                            (const char *const *)w->names, w->lens,
                                                            n, numsub_done, c);
    if (rc == JL_OK) {
        c->flags |= JL_RESP_BLOCKED;
        if (c->flags & (JL_RESP_REPLY_OFF | JL_RESP_REPLY_SKIP))
            c->flags |= JL_RESP_WAIT_SILENT;
        jl_conn_pause(&c->conn);
        return;
    }
    numsub_free(w);
    c->numsub = NULL;
    if (rc == -ENOTSUP) {
        long long *count = jl_malloc((n ? n : 1) * sizeof *count);
        for (size_t i = 0; i < n; i++)
            count[i] = (long long)jl_registry_numsub(c->resp->srv->reg, JL_NS_CHANNEL,
                                                     a->argv[i + 2], a->len[i + 2]);
        append_counts(a->reply, a, count);
        free(count);
    } else if (rc == -EDEADLK) {
        jl_resp_error(a->reply, "ERR JUGGLITE NUMSUB waits for every node: not inside MULTI");
    } else {
        jl_resp_error(a->reply, relay->error);
    }
}

static void cmd_jugglite_help(jl_resp_client_t *c, const args_t *a)
{
    (void)c;
    static const char *const help[] = {
        "JUGGLITE <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers (SSE streams and RESP clients) for the",
        "    specified channels on every node bridged to the same upstream, excluding",
        "    pattern subscriptions; without an upstream, this node's (as PUBSUB NUMSUB).",
        "HELP",
        "    Print this help.",
        NULL,
    };
    reply_help(a, help);
}

static void cmd_pubsub_help(jl_resp_client_t *c, const args_t *a)
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
    reply_help(a, help);
}

/* ---- connection ---- */

static void cmd_ping(jl_resp_client_t *c, const args_t *a)
{
    if (a->argc > 2) {
        reply_reject(c, a, "wrong number of arguments for 'ping' command");
        return;
    }
    if (c->proto == 2 && jl_resp_client_all_subs(c) > 0) {
        jl_resp_array(a->reply, 2);
        jl_resp_bulk_str(a->reply, "pong");
        jl_resp_bulk(a->reply, a->argc == 2 ? a->argv[1] : "", a->argc == 2 ? a->len[1] : 0);
        return;
    }
    if (a->argc == 2)
        jl_resp_bulk(a->reply, a->argv[1], a->len[1]);
    else
        jl_resp_simple(a->reply, "PONG");
}

static void cmd_echo(jl_resp_client_t *c, const args_t *a)
{
    (void)c;
    jl_resp_bulk(a->reply, a->argv[1], a->len[1]);
}

/* Marks argument i for MONITOR as "(redacted)". Redis redacts where a
 * handler consumes a secret, so an AUTH or HELLO refused before that point
 * (a syntax error, a bad protocol version) shows its arguments: so do we. */
static void redact(const args_t *a, size_t i)
{
    if (a->redacted)
        a->redacted[i] = 1;
}

static int authenticate(jl_resp_client_t *c, const char *user, size_t ulen, const char *pass,
                        size_t plen, const char *how)
{
    return jl_resp_acl_auth(c, user, ulen, pass, plen, how);
}

/* The default user needs no password: AUTH <password> makes no sense. */
static int default_nopass(jl_resp_client_t *c)
{
    const jl_acl_user_t *def = jl_acl_find(c->resp->acl, "default", 7);
    return def == NULL || def->nopass;
}

static void cmd_auth(jl_resp_client_t *c, const args_t *a)
{
    if (a->argc > 3) {
        reply_syntax(a);
        return;
    }
    /* Redis redacts the first argument whatever it is (a password, or in
     * the two-argument form the user name), then the password. */
    redact(a, 1);
    if (a->argc == 2 && default_nopass(c)) {
        jl_resp_error(a->reply, "ERR AUTH <password> called without any password configured for the "
                         "default user. Are you sure your configuration is correct?");
        return;
    }
    int ok;
    if (a->argc == 2) {
        ok = authenticate(c, NULL, 0, a->argv[1], a->len[1], "AUTH");
    } else {
        redact(a, 2);
        ok = authenticate(c, a->argv[1], a->len[1], a->argv[2], a->len[2], "AUTH");
    }
    if (!ok) {
        jl_resp_error(a->reply, "WRONGPASS invalid username-password pair or user is disabled.");
        return;
    }
    reply_ok(a);
}

static int valid_client_name(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] < '!' || s[i] > '~')
            return 0;
    return 1;
}

static void set_name(jl_resp_client_t *c, const char *s, size_t len)
{
    free(c->name);
    c->name = len ? jl_strndup(s, len) : NULL;
}

static void hello_reply(jl_resp_client_t *c, const args_t *a)
{
    jl_resp_map(a->reply, c->proto, 7);
    jl_resp_bulk_str(a->reply, "server");
    jl_resp_bulk_str(a->reply, "redis");
    jl_resp_bulk_str(a->reply, "version");
    jl_resp_bulk_str(a->reply, "7.0.15");
    jl_resp_bulk_str(a->reply, "proto");
    jl_resp_integer(a->reply, c->proto);
    jl_resp_bulk_str(a->reply, "id");
    jl_resp_integer(a->reply, (long long)c->conn.id);
    jl_resp_bulk_str(a->reply, "mode");
    jl_resp_bulk_str(a->reply, "standalone");
    jl_resp_bulk_str(a->reply, "role");
    jl_resp_bulk_str(a->reply, "master");
    jl_resp_bulk_str(a->reply, "modules");
    jl_resp_array(a->reply, 0);
}

static void cmd_hello(jl_resp_client_t *c, const args_t *a)
{
    long long ver = 0;
    size_t i = 1;
    if (a->argc >= 2) {
        if (arg_ll(a, 1, &ver) < 0) {
            jl_resp_error(a->reply, "ERR Protocol version is not an integer or out of range");
            return;
        }
        if (ver < 2 || ver > 3) {
            jl_resp_error(a->reply, "NOPROTO unsupported protocol version");
            return;
        }
        i = 2;
    }
    /* Options take effect one by one, left to right, as in Redis: an AUTH
     * authenticates (and is redacted) even if a later option is refused, a
     * SETNAME names the client even if a later AUTH fails. */
    for (; i < a->argc; i++) {
        size_t more = a->argc - i - 1;
        if (arg_is(a, i, "AUTH") && more >= 2) {
            redact(a, i + 1);
            redact(a, i + 2);
            if (!authenticate(c, a->argv[i + 1], a->len[i + 1], a->argv[i + 2], a->len[i + 2],
                              "HELLO AUTH")) {
                jl_resp_error(a->reply, "WRONGPASS invalid username-password pair or user is disabled.");
                return;
            }
            i += 2;
        } else if (arg_is(a, i, "SETNAME") && more >= 1) {
            if (!valid_client_name(a->argv[i + 1], a->len[i + 1])) {
                jl_resp_error(a->reply, "ERR Client names cannot contain spaces, newlines or special characters.");
                return;
            }
            set_name(c, a->argv[i + 1], a->len[i + 1]);
            i += 1;
        } else {
            jl_resp_errorf(a->reply, "ERR Syntax error in HELLO option '%.*s'", (int)a->len[i], a->argv[i]);
            return;
        }
    }
    if (!(c->flags & JL_RESP_AUTHED)) {
        jl_resp_error(a->reply, "NOAUTH HELLO must be called with the client already authenticated, "
                         "otherwise the HELLO AUTH <user> <pass> option can be used to "
                         "authenticate the client and select the RESP protocol version at the "
                         "same time");
        return;
    }
    if (ver)
        c->proto = (uint8_t)ver;
    hello_reply(c, a);
}

static void cmd_select(jl_resp_client_t *c, const args_t *a)
{
    long long db;
    if (arg_ll(a, 1, &db) < 0 || db < INT_MIN || db > INT_MAX) {
        jl_resp_error(a->reply, "ERR value is not an integer or out of range");
        return;
    }
    if (db < 0 || db > 15) {
        jl_resp_error(a->reply, "ERR DB index is out of range");
        return;
    }
    c->db = (uint8_t)db;
    reply_ok(a);
}

static void cmd_quit(jl_resp_client_t *c, const args_t *a)
{
    (void)a;
    reply_ok(a);
    commit(c);
    jl_conn_close_after_flush(&c->conn);
}

static void cmd_reset(jl_resp_client_t *c, const args_t *a)
{
    (void)a;
    jl_resp_discard_multi(c);
    for (int ns = 0; ns < JL_NS_COUNT; ns++)
        unsubscribe_all(c, (jl_ns_t)ns, NULL);
    jl_monitor_remove(&c->resp->srv->monitors, &c->monitor);
    c->proto = 2;
    c->db = 0;
    set_name(c, NULL, 0);
    c->flags &= (uint16_t)~(JL_RESP_REPLY_OFF | JL_RESP_REPLY_SKIP | JL_RESP_REPLY_SKIP_NEXT);
    /* Back to the default user, authenticated only if it needs no password. */
    jl_resp_session_login_default(c);
    jl_resp_simple(a->reply, "RESET");
}

/* ---- transactions ---- */

static void cmd_multi(jl_resp_client_t *c, const args_t *a)
{
    (void)a;
    if (c->flags & JL_RESP_MULTI) {
        jl_resp_error(a->reply, "ERR MULTI calls can not be nested");
        return;
    }
    c->flags |= JL_RESP_MULTI;
    reply_ok(a);
}

static void cmd_discard(jl_resp_client_t *c, const args_t *a)
{
    (void)a;
    if (!(c->flags & JL_RESP_MULTI)) {
        jl_resp_error(a->reply, "ERR DISCARD without MULTI");
        return;
    }
    jl_resp_discard_multi(c);
    reply_ok(a);
}

static void queue_command(jl_resp_client_t *c, const args_t *a)
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
    jl_resp_simple(a->reply, "QUEUED");
}

static unsigned execute(jl_resp_client_t *c, const args_t *a, int in_exec);

static void cmd_exec(jl_resp_client_t *c, const args_t *a)
{
    if (!(c->flags & JL_RESP_MULTI)) {
        jl_resp_error(a->reply, "ERR EXEC without MULTI");
        return;
    }
    if (c->flags & JL_RESP_DIRTY_EXEC) {
        jl_resp_error(a->reply, "EXECABORT Transaction discarded because of previous errors.");
        jl_resp_discard_multi(c);
        return;
    }
    jl_queued_cmd_t *queue = c->multi;
    size_t n = c->nmulti;
    c->multi = NULL;
    c->nmulti = 0;
    c->flags &= (uint16_t)~JL_RESP_MULTI;
    c->flags |= JL_RESP_IN_EXEC;
    jl_resp_array(a->reply, n);
    for (size_t i = 0; i < n; i++) {
        args_t qa = {queue[i].argc, (const char **)queue[i].argv, queue[i].argvlen, a->reply, NULL};
        execute(c, &qa, 1);
    }
    c->flags &= (uint16_t)~JL_RESP_IN_EXEC;
    c->multi = queue;
    c->nmulti = n;
    jl_resp_discard_multi(c);
}

/* ---- client ---- */

static void cmd_client_id(jl_resp_client_t *c, const args_t *a)
{
    (void)a;
    jl_resp_integer(a->reply, (long long)c->conn.id);
}

static void cmd_client_setname(jl_resp_client_t *c, const args_t *a)
{
    if (!valid_client_name(a->argv[2], a->len[2])) {
        jl_resp_error(a->reply, "ERR Client names cannot contain spaces, newlines or special characters.");
        return;
    }
    set_name(c, a->argv[2], a->len[2]);
    reply_ok(a);
}

static void cmd_client_getname(jl_resp_client_t *c, const args_t *a)
{
    (void)a;
    if (c->name)
        jl_resp_bulk_str(a->reply, c->name);
    else
        jl_resp_null(a->reply, c->proto);
}

static void cmd_client_setinfo(jl_resp_client_t *c, const args_t *a)
{
    char **slot;
    if (arg_is(a, 2, "LIB-NAME"))
        slot = &c->lib_name;
    else if (arg_is(a, 2, "LIB-VER"))
        slot = &c->lib_ver;
    else {
        jl_resp_errorf(a->reply, "ERR Unrecognized option '%.*s'", (int)a->len[2], a->argv[2]);
        return;
    }
    if (!valid_client_name(a->argv[3], a->len[3])) {
        jl_resp_errorf(a->reply, "ERR %.*s cannot contain spaces, newlines or special characters.",
                       (int)a->len[2], a->argv[2]);
        return;
    }
    free(*slot);
    *slot = a->len[3] ? jl_strndup(a->argv[3], a->len[3]) : NULL;
    reply_ok(a);
}

static void cmd_client_info(jl_resp_client_t *c, const args_t *a)
{
    jl_buf_t line = {0};
    jl_resp_describe(c, &line);
    jl_resp_verbatim(a->reply, c->proto, line.data, line.len);
    jl_buf_free(&line);
}

/* Redis's client types, and "sse" for browsers' streams (ours). */
typedef enum { TYPE_ANY, TYPE_NORMAL, TYPE_MASTER, TYPE_REPLICA, TYPE_PUBSUB, TYPE_SSE } ctype_t;

static int parse_type(const args_t *a, size_t i, ctype_t *t)
{
    static const struct { const char *name; ctype_t t; } names[] = {
        {"normal", TYPE_NORMAL}, {"master", TYPE_MASTER}, {"replica", TYPE_REPLICA},
        {"slave", TYPE_REPLICA}, {"pubsub", TYPE_PUBSUB}, {"sse", TYPE_SSE},
    };
    for (size_t k = 0; k < JL_ARRAY_LEN(names); k++) {
        if (arg_is(a, i, names[k].name)) {
            *t = names[k].t;
            return 0;
        }
    }
    jl_resp_errorf(a->reply, "ERR Unknown client type '%.*s'", (int)(a->len[i] < 128 ? a->len[i] : 128),
                   a->argv[i]);
    return -1;
}

/* Redis's getClientType: subscribed clients are pubsub, the rest normal
 * (jugglite has no masters or replicas; MONITOR clients are normal there too). */
static ctype_t type_of(const jl_resp_client_t *c)
{
    return jl_resp_client_all_subs(c) ? TYPE_PUBSUB : TYPE_NORMAL;
}

static int id_listed(uint64_t id, const uint64_t *ids, size_t nids)
{
    for (size_t i = 0; i < nids; i++)
        if (ids[i] == id)
            return 1;
    return nids == 0;
}

/* CLIENT LIST [TYPE type] [ID id ...]: TYPE sse lists only browsers'
 * streams; other types only Redis clients; no filter, both. */
static void cmd_client_list(jl_resp_client_t *c, const args_t *a)
{
    ctype_t type = TYPE_ANY;
    uint64_t *ids = NULL;
    size_t nids = 0;
    if (a->argc == 4 && arg_is(a, 2, "TYPE")) {
        if (parse_type(a, 3, &type) < 0)
            return;
    } else if (a->argc >= 4 && arg_is(a, 2, "ID")) {
        ids = jl_malloc((a->argc - 3) * sizeof *ids);
        for (size_t i = 3; i < a->argc; i++) {
            long long id;
            if (arg_ll(a, i, &id) < 0) {
                free(ids);
                jl_resp_error(a->reply, "ERR Invalid client ID");
                return;
            }
            ids[nids++] = (uint64_t)id;     /* 0 or negative: matches no client, as in Redis */
        }
    } else if (a->argc != 2) {
        reply_syntax(a);
        return;
    }
    jl_buf_t out = {0};
    JL_LIST_FOREACH(&c->resp->clients, it) {
        const jl_resp_client_t *o = JL_CONTAINER_OF(it, jl_resp_client_t, node);
        if ((type == TYPE_ANY || type == type_of(o)) && id_listed(o->conn.id, ids, nids))
            jl_resp_describe(o, &out);
    }
    /* Browsers too, in the same shape (docs/architecture.md, "Beyond Redis"). */
    jl_server_t *srv = c->resp->srv;
    if (srv->describe_streams && (type == TYPE_ANY || type == TYPE_SSE))
        srv->describe_streams(srv->streams_ud, &out, ids, nids);
    free(ids);
    jl_resp_verbatim(a->reply, c->proto, out.data ? out.data : "", out.len);
    jl_buf_free(&out);
}

/* Closes victim; the killer itself hears its reply first, as in Redis. */
static void kill_client(jl_resp_client_t *c, jl_resp_client_t *victim)
{
    if (victim == c) {
        commit(c);
        jl_conn_close_after_flush(&c->conn);
        return;
    }
    jl_conn_close(&victim->conn, "CLIENT KILL");
}

static jl_resp_client_t *client_by_addr(jl_resp_t *resp, const char *addr, size_t len)
{
    JL_LIST_FOREACH(&resp->clients, it) {
        jl_resp_client_t *other = JL_CONTAINER_OF(it, jl_resp_client_t, node);
        if (jl_conn_addr_is(&other->conn, 0, addr, len))
            return other;
    }
    return NULL;
}

/* CLIENT KILL's new form: ID, USER and SKIPME filters (Redis's others are
 * a syntax error here), every filter must match; the caller is skipped
 * unless SKIPME no, and then closed after its reply. */
typedef struct kill_filter {
    long long id;                   /* 0: any */
    const jl_acl_user_t *user;      /* NULL: any */
    const char *name;               /* USER's argument, NULL: none */
    size_t name_len;
    ctype_t type;                   /* TYPE_ANY: any */
    const char *addr, *laddr;       /* ADDR / LADDR ("ip:port"), NULL: any */
    size_t addr_len, laddr_len;
    int skipme;
} kill_filter_t;

/* How many SSE streams match f; kill: end them too. */
static size_t streams_matching(jl_resp_client_t *c, const jl_stream_filter_t *f, int kill)
{
    jl_server_t *srv = c->resp->srv;
    return srv->match_streams ? srv->match_streams(srv->streams_ud, f, kill) : 0;
}

/* The SSE streams a kill filter means (TYPE sse or none; a token's user). */
static jl_stream_filter_t stream_filter(const kill_filter_t *f)
{
    return (jl_stream_filter_t){
        .id = (uint64_t)f->id, .user = f->name, .user_len = f->name_len,
        .addr = f->addr, .addr_len = f->addr_len, .laddr = f->laddr, .laddr_len = f->laddr_len,
    };
}

static int parse_kill_filter(jl_resp_client_t *c, const args_t *a, kill_filter_t *f)
{
    *f = (kill_filter_t){.skipme = 1};
    if ((a->argc - 2) % 2 != 0) {
        reply_syntax(a);
        return -1;
    }
    for (size_t i = 2; i < a->argc; i += 2) {
        if (arg_is(a, i, "ID")) {
            if (arg_ll(a, i + 1, &f->id) < 0 || f->id <= 0) {
                jl_resp_error(a->reply, "ERR client-id should be greater than 0");
                return -1;
            }
        } else if (arg_is(a, i, "USER")) {
            f->user = jl_acl_find(c->resp->acl, a->argv[i + 1], a->len[i + 1]);
            f->name = a->argv[i + 1];
            f->name_len = a->len[i + 1];
            /* A token's user has SSE streams and no ACL entry: not "no such user". */
            jl_stream_filter_t of_user = {.user = f->name, .user_len = f->name_len};
            if (f->user == NULL && streams_matching(c, &of_user, 0) > 0)
                continue;
            if (f->user == NULL) {
                jl_resp_errorf(a->reply, "ERR No such user '%.*s'",
                               (int)(a->len[i + 1] < 128 ? a->len[i + 1] : 128), a->argv[i + 1]);
                return -1;
            }
        } else if (arg_is(a, i, "TYPE")) {
            if (parse_type(a, i + 1, &f->type) < 0)
                return -1;
        } else if (arg_is(a, i, "ADDR")) {
            f->addr = a->argv[i + 1];
            f->addr_len = a->len[i + 1];
        } else if (arg_is(a, i, "LADDR")) {
            f->laddr = a->argv[i + 1];
            f->laddr_len = a->len[i + 1];
        } else if (arg_is(a, i, "SKIPME") && (arg_is(a, i + 1, "yes") || arg_is(a, i + 1, "no"))) {
            f->skipme = arg_is(a, i + 1, "yes");
        } else {
            reply_syntax(a);
            return -1;
        }
    }
    return 0;
}

static void client_kill_filtered(jl_resp_client_t *c, const args_t *a)
{
    kill_filter_t f;
    if (parse_kill_filter(c, a, &f) < 0)
        return;
    long long killed = 0;
    int self = 0;
    /* Browsers' streams too (USER: those opened with that user's token). */
    if (f.type == TYPE_ANY || f.type == TYPE_SSE) {
        jl_stream_filter_t sf = stream_filter(&f);
        killed += (long long)streams_matching(c, &sf, 1);
    }
    JL_LIST_FOREACH(&c->resp->clients, it) {
        jl_resp_client_t *other = JL_CONTAINER_OF(it, jl_resp_client_t, node);
        if (other->conn.closing || other->conn.close_after_flush ||
            (f.id && other->conn.id != (uint64_t)f.id) ||
            (f.name && (f.user == NULL || other->user != f.user)) || (other == c && f.skipme) ||
            (f.type != TYPE_ANY && f.type != type_of(other)) ||
            (f.addr && !jl_conn_addr_is(&other->conn, 0, f.addr, f.addr_len)) ||
            (f.laddr && !jl_conn_addr_is(&other->conn, 1, f.laddr, f.laddr_len)))
            continue;
        killed++;
        if (other == c)
            self = 1;
        else
            jl_conn_close(&other->conn, "CLIENT KILL");
    }
    jl_resp_integer(a->reply, killed);
    if (self)
        kill_client(c, c);
}

static void cmd_client_kill(jl_resp_client_t *c, const args_t *a)
{
    if (a->argc == 3) {
        /* Old form: CLIENT KILL addr:port (a browser's stream too) */
        jl_resp_client_t *victim = client_by_addr(c->resp, a->argv[2], a->len[2]);
        jl_stream_filter_t sf = {.addr = a->argv[2], .addr_len = a->len[2]};
        if (victim == NULL && streams_matching(c, &sf, 1) > 0) {
            reply_ok(a);
            return;
        }
        if (victim == NULL) {
            jl_resp_error(a->reply, "ERR No such client");
            return;
        }
        reply_ok(a);
        kill_client(c, victim);
        return;
    }
    client_kill_filtered(c, a);
}

static void cmd_client_reply(jl_resp_client_t *c, const args_t *a)
{
    if (arg_is(a, 2, "ON")) {
        c->flags &= (uint16_t)~(JL_RESP_REPLY_OFF | JL_RESP_REPLY_SKIP_NEXT);
        reply_ok(a);
    } else if (arg_is(a, 2, "OFF")) {
        c->flags |= JL_RESP_REPLY_OFF;
    } else if (arg_is(a, 2, "SKIP")) {
        if (!(c->flags & JL_RESP_REPLY_OFF))
            c->flags |= JL_RESP_REPLY_SKIP_NEXT;
    } else {
        reply_syntax(a);
    }
}

static void cmd_client_help(jl_resp_client_t *c, const args_t *a)
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
        "    * USER <username>",
        "      Kill connections authenticated by <username>.",
        "    * SKIPME (YES|NO)",
        "      Skip killing current connection (default: yes).",
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
    reply_help(a, help);
}

/* ---- server ---- */

static void cmd_time(jl_resp_client_t *c, const args_t *a)
{
    (void)c;
    (void)a;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    char s[32], us[32];
    snprintf(s, sizeof s, "%lld", (long long)tv.tv_sec);
    snprintf(us, sizeof us, "%ld", (long)tv.tv_usec);
    jl_resp_array(a->reply, 2);
    jl_resp_bulk_str(a->reply, s);
    jl_resp_bulk_str(a->reply, us);
}

/* Redis's monitorCommand. Not inside EXEC (Redis: "DENY BLOCKING"); a
 * second MONITOR is ignored without a reply. The client then gets a line
 * for every command any client runs (and every HTTP publish) until RESET,
 * QUIT or disconnect, and is refused the keyspace commands (CMD_KEYSPACE). */
static void cmd_monitor(jl_resp_client_t *c, const args_t *a)
{
    if (c->flags & JL_RESP_IN_EXEC) {
        jl_resp_error(a->reply, "ERR MONITOR isn't allowed for DENY BLOCKING client");
        return;
    }
    if (jl_monitor_add(&c->resp->srv->monitors, &c->monitor) != JL_OK)
        return;
    /* It sees every payload and every command: worth a line in the log. */
    char peer[128];
    jl_conn_peer(&c->conn, peer, sizeof peer);
    jl_log_info("client id=%llu %s started MONITOR", (unsigned long long)c->conn.id, peer);
    reply_ok(a);
}

static void cmd_dbsize(jl_resp_client_t *c, const args_t *a)
{
    (void)c;
    (void)a;
    jl_resp_integer(a->reply, 0);
}

static void cmd_info(jl_resp_client_t *c, const args_t *a)
{
    jl_buf_t text = {0};
    jl_resp_info(c->resp, a->argv + 1, a->len + 1, a->argc - 1, &text);
    jl_resp_verbatim(a->reply, c->proto, text.data ? text.data : "", text.len);
    jl_buf_free(&text);
}

/* ---- CONFIG GET ---- */

/* Redis's name for our log level. */
static const char *redis_loglevel(int level)
{
    static const char *const names[] = {"debug", "notice", "warning", "warning"};
    return level >= 0 && level < (int)JL_ARRAY_LEN(names) ? names[level] : "notice";
}

static void cmd_config_get(jl_resp_client_t *c, const args_t *a)
{
    const jl_config_t *cfg = c->resp->srv->cfg;
    char maxclients[32], port[16], bulk[32], qbuf[32], obuf[96], backlog[16], timeout[32],
        tlsport[16];
    snprintf(maxclients, sizeof maxclients, "%ld", c->resp->srv->max_conns);
    snprintf(port, sizeof port, "%d", cfg->resp_port);
    snprintf(bulk, sizeof bulk, "%zu", cfg->max_bulk);
    snprintf(qbuf, sizeof qbuf, "%zu", cfg->query_buffer_limit);
    snprintf(obuf, sizeof obuf, "normal 0 0 0 slave 0 0 0 pubsub %zu %zu %.0f", cfg->obuf_hard,
             cfg->obuf_soft, cfg->obuf_soft_seconds);
    snprintf(backlog, sizeof backlog, "%d", cfg->tcp_backlog);
    snprintf(timeout, sizeof timeout, "%.0f", cfg->idle_timeout);
    snprintf(tlsport, sizeof tlsport, "%d", cfg->resp_tls_port < 0 ? 0 : cfg->resp_tls_port);
    /* Redis answers the password itself; a secret kept out of ps and the
     * logs must not be one CONFIG GET away either. */
    const char *requirepass = cfg->requirepass || cfg->requirepass_file ? "(redacted)" : "";
    /* Alphabetical; what Redis has and means the same here. What jugglite
     * does not have (persistence, replication, eviction) answers Redis's
     * value for "off", as INFO does. */
    const char *params[][2] = {
        {"appendonly", "no"}, {"bind", cfg->resp_address},
        {"client-output-buffer-limit", obuf}, {"client-query-buffer-limit", qbuf},
        {"cluster-enabled", "no"}, {"daemonize", "no"}, {"databases", "16"}, {"hz", "10"},
        {"io-threads", "1"}, {"logfile", cfg->log_file ? cfg->log_file : ""},
        {"loglevel", redis_loglevel(cfg->log_level)}, {"maxclients", maxclients},
        {"maxmemory", "0"}, {"maxmemory-policy", "noeviction"}, {"notify-keyspace-events", ""},
        {"port", port}, {"protected-mode", "no"}, {"proto-max-bulk-len", bulk},
        {"requirepass", requirepass}, {"save", ""}, {"tcp-backlog", backlog},
        {"timeout", timeout}, {"tls-cert-file", cfg->tls_cert_file ? cfg->tls_cert_file : ""},
        {"tls-key-file", cfg->tls_key_file ? cfg->tls_key_file : ""}, {"tls-port", tlsport},
        {"unixsocket", cfg->resp_socket ? cfg->resp_socket : ""},
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
    jl_resp_map(a->reply, c->proto, nhit);
    for (size_t p = 0; p < n; p++) {
        if (!hit[p])
            continue;
        jl_resp_bulk_str(a->reply, params[p][0]);
        jl_resp_bulk_str(a->reply, params[p][1]);
    }
}

static void cmd_config_help(jl_resp_client_t *c, const args_t *a)
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
    reply_help(a, help);
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

static void words(jl_resp_client_t *c, const args_t *a, const char *s, int status)
{
    jl_resp_set(a->reply, c->proto, count_words(s));
    for (const char *p = s; p && *p;) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        const char *e = p;
        while (*e && *e != ' ')
            e++;
        if (status) {
            jl_buf_append_char(a->reply, '+');
            jl_buf_append(a->reply, p, (size_t)(e - p));
            jl_buf_append_str(a->reply, "\r\n");
        } else {
            jl_resp_bulk(a->reply, p, (size_t)(e - p));
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

static void command_info(jl_resp_client_t *c, const args_t *a, const command_t *cmd,
                         const command_t *parent)
{
    char name[64];
    full_name(cmd, parent, name, sizeof name);
    jl_resp_array(a->reply, 10);
    jl_resp_bulk_str(a->reply, name);
    jl_resp_integer(a->reply, cmd->arity);
    words(c, a, cmd->info_flags, 1);
    jl_resp_integer(a->reply, cmd->first_key);
    jl_resp_integer(a->reply, cmd->last_key);
    jl_resp_integer(a->reply, cmd->key_step);
    words(c, a, cmd->acl, 1);
    jl_resp_set(a->reply, c->proto, 0);
    jl_resp_array(a->reply, 0);
    size_t nsub = cmd->subs ? table_len(cmd->subs) : 0;
    jl_resp_array(a->reply, nsub);
    for (size_t i = 0; i < nsub; i++)
        command_info(c, a, &cmd->subs[i], cmd);
}

static void command_docs(jl_resp_client_t *c, const args_t *a, const command_t *cmd,
                         const command_t *parent)
{
    char name[64];
    full_name(cmd, parent, name, sizeof name);
    jl_resp_bulk_str(a->reply, name);
    size_t nsub = cmd->subs ? table_len(cmd->subs) : 0;
    const jl_resp_doc_t *doc = jl_resp_doc(name);
    jl_resp_map(a->reply, c->proto, nsub ? 4 : 3);
    jl_resp_bulk_str(a->reply, "summary");
    jl_resp_bulk_str(a->reply, doc ? doc->summary : "");
    jl_resp_bulk_str(a->reply, "since");
    jl_resp_bulk_str(a->reply, doc ? doc->since : "");
    jl_resp_bulk_str(a->reply, "group");
    jl_resp_bulk_str(a->reply, doc ? doc->group : "");
    if (!nsub)
        return;
    jl_resp_bulk_str(a->reply, "subcommands");
    jl_resp_map(a->reply, c->proto, nsub);
    for (size_t i = 0; i < nsub; i++)
        command_docs(c, a, &cmd->subs[i], cmd);
}

static const command_t *lookup(const command_t *table, const char *name, size_t len)
{
    for (const command_t *cmd = table; cmd->name; cmd++)
        if (strlen(cmd->name) == len && strncasecmp(cmd->name, name, len) == 0)
            return cmd;
    return NULL;
}

static void cmd_command(jl_resp_client_t *c, const args_t *a)
{
    (void)a;
    size_t n = table_len(command_table);
    jl_resp_array(a->reply, n);
    for (size_t i = 0; i < n; i++)
        command_info(c, a, &command_table[i], NULL);
}

static void cmd_command_count(jl_resp_client_t *c, const args_t *a)
{
    (void)c;
    (void)a;
    jl_resp_integer(a->reply, (long long)table_len(command_table));
}

static void cmd_command_info(jl_resp_client_t *c, const args_t *a)
{
    if (a->argc == 2) {
        cmd_command(c, a);
        return;
    }
    jl_resp_array(a->reply, a->argc - 2);
    for (size_t i = 2; i < a->argc; i++) {
        const command_t *cmd = lookup(command_table, a->argv[i], a->len[i]);
        if (cmd)
            command_info(c, a, cmd, NULL);
        else
            jl_resp_null_array(a->reply, c->proto);
    }
}

static void cmd_command_docs(jl_resp_client_t *c, const args_t *a)
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
    jl_resp_map(a->reply, c->proto, n);
    for (size_t i = 0; i < n; i++)
        command_docs(c, a, found[i], NULL);
}

static void cmd_command_list(jl_resp_client_t *c, const args_t *a)
{
    (void)a;
    size_t n = table_len(command_table);
    jl_resp_array(a->reply, n);
    for (size_t i = 0; i < n; i++)
        jl_resp_bulk_str(a->reply, command_table[i].name);
    (void)c;
}

static void cmd_command_help(jl_resp_client_t *c, const args_t *a)
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
    reply_help(a, help);
}

/* ---- streams: the history as Redis streams (resp_stream.c) ---- */

static void cmd_xrange(jl_resp_client_t *c, const args_t *a)
{
    jl_resp_stream_range(c, a->argc, a->argv, a->len, a->reply, 0);
}

static void cmd_xrevrange(jl_resp_client_t *c, const args_t *a)
{
    jl_resp_stream_range(c, a->argc, a->argv, a->len, a->reply, 1);
}

static void cmd_xlen(jl_resp_client_t *c, const args_t *a)
{
    jl_resp_stream_len(c, a->argc, a->argv, a->len, a->reply);
}

static void cmd_xread(jl_resp_client_t *c, const args_t *a)
{
    jl_resp_stream_read(c, a->argc, a->argv, a->len, a->reply);
}

/* ---- ACL (resp_acl.c) ---- */

static void cmd_acl_cat(jl_resp_client_t *c, const args_t *a) { jl_resp_acl_command(c, "cat", a->argc, a->argv, a->len, a->reply); }
static void cmd_acl_deluser(jl_resp_client_t *c, const args_t *a) { jl_resp_acl_command(c, "deluser", a->argc, a->argv, a->len, a->reply); }
static void cmd_acl_genpass(jl_resp_client_t *c, const args_t *a) { jl_resp_acl_command(c, "genpass", a->argc, a->argv, a->len, a->reply); }
static void cmd_acl_help(jl_resp_client_t *c, const args_t *a) { jl_resp_acl_command(c, "help", a->argc, a->argv, a->len, a->reply); }
static void cmd_acl_getuser(jl_resp_client_t *c, const args_t *a) { jl_resp_acl_command(c, "getuser", a->argc, a->argv, a->len, a->reply); }
static void cmd_acl_list(jl_resp_client_t *c, const args_t *a) { jl_resp_acl_command(c, "list", a->argc, a->argv, a->len, a->reply); }
static void cmd_acl_log(jl_resp_client_t *c, const args_t *a) { jl_resp_acl_command(c, "log", a->argc, a->argv, a->len, a->reply); }
static void cmd_acl_setuser(jl_resp_client_t *c, const args_t *a) { jl_resp_acl_command(c, "setuser", a->argc, a->argv, a->len, a->reply); }
static void cmd_acl_users(jl_resp_client_t *c, const args_t *a) { jl_resp_acl_command(c, "users", a->argc, a->argv, a->len, a->reply); }
static void cmd_acl_whoami(jl_resp_client_t *c, const args_t *a) { jl_resp_acl_command(c, "whoami", a->argc, a->argv, a->len, a->reply); }

/* ---- the table ---- */

#define CONN_ACL "@fast @connection"
#define PS_FLAGS "pubsub noscript loading stale"

#define ACL_ADMIN .flags = CMD_ADMIN, .info_flags = "admin noscript loading stale", .acl = "@admin @slow @dangerous"

static const command_t acl_subs[] = {
    {.name = "cat", .arity = -2, .proc = cmd_acl_cat, .info_flags = "noscript loading stale", .acl = "@slow"},
    {.name = "deluser", .arity = -3, .proc = cmd_acl_deluser, ACL_ADMIN},
    {.name = "genpass", .arity = -2, .proc = cmd_acl_genpass, .info_flags = "noscript loading stale", .acl = "@slow"},
    {.name = "getuser", .arity = 3, .proc = cmd_acl_getuser, ACL_ADMIN},
    {.name = "help", .arity = 2, .proc = cmd_acl_help, .info_flags = "loading stale", .acl = "@slow"},
    {.name = "list", .arity = 2, .proc = cmd_acl_list, ACL_ADMIN},
    {.name = "log", .arity = -2, .proc = cmd_acl_log, ACL_ADMIN},
    {.name = "setuser", .arity = -3, .proc = cmd_acl_setuser, ACL_ADMIN},
    {.name = "users", .arity = 2, .proc = cmd_acl_users, ACL_ADMIN},
    {.name = "whoami", .arity = 2, .proc = cmd_acl_whoami, .info_flags = "noscript loading stale", .acl = "@slow"},
    {0},
};

static const command_t pubsub_subs[] = {
    {.name = "channels", .arity = -2, .proc = cmd_pubsub_channels, .info_flags = "pubsub loading stale", .acl = "@pubsub @slow"},
    {.name = "help", .arity = 2, .proc = cmd_pubsub_help, .info_flags = "loading stale", .acl = "@slow"},
    {.name = "numpat", .arity = 2, .proc = cmd_pubsub_numpat, .info_flags = "pubsub loading stale", .acl = "@pubsub @slow"},
    {.name = "numsub", .arity = -2, .proc = cmd_pubsub_numsub, .info_flags = "pubsub loading stale", .acl = "@pubsub @slow"},
    {.name = "shardchannels", .arity = -2, .proc = cmd_pubsub_shardchannels, .info_flags = "pubsub loading stale", .acl = "@pubsub @slow"},
    {.name = "shardnumsub", .arity = -2, .proc = cmd_pubsub_shardnumsub, .info_flags = "pubsub loading stale", .acl = "@pubsub @slow"},
    {0},
};

static const command_t jugglite_subs[] = {
    {.name = "help", .arity = 2, .proc = cmd_jugglite_help, .info_flags = "loading stale", .acl = "@slow"},
    {.name = "numsub", .arity = -2, .proc = cmd_jugglite_numsub, .info_flags = "pubsub loading stale", .acl = "@pubsub @slow"},
    {0},
};

static const command_t client_subs[] = {
    {.name = "getname", .arity = 2, .proc = cmd_client_getname, .info_flags = "noscript loading stale", .acl = "@slow @connection"},
    {.name = "help", .arity = 2, .proc = cmd_client_help, .info_flags = "loading stale", .acl = "@slow @connection"},
    {.name = "id", .arity = 2, .proc = cmd_client_id, .info_flags = "noscript loading stale", .acl = "@slow @connection"},
    {.name = "info", .arity = 2, .proc = cmd_client_info, .info_flags = "noscript loading stale", .acl = "@slow @connection"},
    {.name = "kill", .arity = -3, .flags = CMD_ADMIN, .proc = cmd_client_kill, .info_flags = "admin noscript loading stale", .acl = "@admin @slow @dangerous @connection"},
    {.name = "list", .arity = -2, .flags = CMD_ADMIN, .proc = cmd_client_list, .info_flags = "admin noscript loading stale", .acl = "@admin @slow @dangerous @connection"},
    {.name = "reply", .arity = 3, .proc = cmd_client_reply, .info_flags = "noscript loading stale", .acl = "@slow @connection"},
    {.name = "setinfo", .arity = 4, .proc = cmd_client_setinfo, .info_flags = "noscript loading stale", .acl = "@slow @connection"},
    {.name = "setname", .arity = 3, .proc = cmd_client_setname, .info_flags = "noscript loading stale", .acl = "@slow @connection"},
    {0},
};

static const command_t config_subs[] = {
    {.name = "get", .arity = -3, .flags = CMD_ADMIN, .proc = cmd_config_get, .info_flags = "admin noscript loading stale", .acl = "@admin @slow @dangerous"},
    {.name = "help", .arity = 2, .proc = cmd_config_help, .info_flags = "loading stale", .acl = "@slow"},
    {0},
};

static const command_t command_subs[] = {
    {.name = "count", .arity = 2, .proc = cmd_command_count, .info_flags = "loading stale", .acl = "@slow @connection"},
    {.name = "docs", .arity = -2, .proc = cmd_command_docs, .info_flags = "loading stale", .acl = "@slow @connection"},
    {.name = "help", .arity = 2, .proc = cmd_command_help, .info_flags = "loading stale", .acl = "@slow @connection"},
    {.name = "info", .arity = -2, .proc = cmd_command_info, .info_flags = "loading stale", .acl = "@slow @connection"},
    {.name = "list", .arity = -2, .proc = cmd_command_list, .info_flags = "loading stale", .acl = "@slow @connection"},
    {0},
};

static const command_t command_table[] = {
    {.name = "acl", .arity = -2, .subs = acl_subs, .info_flags = "", .acl = "@slow"},
    {.name = "auth", .arity = -2, .flags = CMD_NOAUTH, .proc = cmd_auth, .info_flags = "noscript loading stale fast no_auth allow_busy", .acl = CONN_ACL},
    {.name = "client", .arity = -2, .subs = client_subs, .info_flags = "", .acl = "@slow"},
    {.name = "command", .arity = -1, .proc = cmd_command, .subs = command_subs, .info_flags = "loading stale", .acl = "@slow @connection"},
    {.name = "config", .arity = -2, .subs = config_subs, .info_flags = "", .acl = "@slow"},
    {.name = "dbsize", .arity = 1, .flags = CMD_KEYSPACE, .proc = cmd_dbsize, .info_flags = "readonly fast", .acl = "@keyspace @read @fast"},
    {.name = "discard", .arity = 1, .flags = CMD_NO_QUEUE, .proc = cmd_discard, .info_flags = "noscript loading stale fast allow_busy", .acl = "@fast @transaction"},
    {.name = "echo", .arity = 2, .proc = cmd_echo, .info_flags = "loading stale fast", .acl = CONN_ACL},
    {.name = "exec", .arity = 1, .flags = CMD_NO_QUEUE, .proc = cmd_exec, .info_flags = "noscript loading stale skip_slowlog", .acl = "@slow @transaction"},
    {.name = "hello", .arity = -1, .flags = CMD_NOAUTH, .proc = cmd_hello, .info_flags = "noscript loading stale fast no_auth allow_busy", .acl = CONN_ACL},
    {.name = "info", .arity = -1, .proc = cmd_info, .info_flags = "loading stale", .acl = "@slow @dangerous"},
    {.name = "jugglite", .arity = -2, .subs = jugglite_subs, .info_flags = "", .acl = "@slow"},
    {.name = "monitor", .arity = 1, .flags = CMD_ADMIN, .proc = cmd_monitor, .info_flags = "admin noscript loading stale", .acl = "@admin @slow @dangerous"},
    {.name = "multi", .arity = 1, .flags = CMD_NO_QUEUE, .proc = cmd_multi, .info_flags = "noscript loading stale fast allow_busy", .acl = "@fast @transaction"},
    {.name = "ping", .arity = -1, .flags = CMD_PUBSUB_OK, .proc = cmd_ping, .info_flags = "fast", .acl = CONN_ACL},
    {.name = "psubscribe", .arity = -2, .flags = CMD_PUBSUB_OK | CMD_PUSHES, .proc = cmd_psubscribe, .info_flags = PS_FLAGS, .acl = "@pubsub @slow"},
    {.name = "publish", .arity = 3, .flags = CMD_KEYSPACE, .proc = cmd_publish, .info_flags = "pubsub loading stale fast", .acl = "@pubsub @fast"},
    {.name = "pubsub", .arity = -2, .subs = pubsub_subs, .info_flags = "", .acl = "@slow"},
    {.name = "punsubscribe", .arity = -1, .flags = CMD_PUBSUB_OK | CMD_PUSHES, .proc = cmd_punsubscribe, .info_flags = PS_FLAGS, .acl = "@pubsub @slow"},
    {.name = "quit", .arity = -1, .flags = CMD_NOAUTH | CMD_PUBSUB_OK | CMD_NO_QUEUE, .proc = cmd_quit, .info_flags = "noscript loading stale fast no_auth allow_busy", .acl = CONN_ACL},
    {.name = "reset", .arity = 1, .flags = CMD_NOAUTH | CMD_PUBSUB_OK | CMD_NO_QUEUE, .proc = cmd_reset, .info_flags = "noscript loading stale fast no_auth allow_busy", .acl = CONN_ACL},
    {.name = "select", .arity = 2, .proc = cmd_select, .info_flags = "loading stale fast", .acl = CONN_ACL},
    {.name = "spublish", .arity = 3, .flags = CMD_KEYSPACE, .proc = cmd_spublish, .info_flags = "pubsub loading stale fast", .acl = "@pubsub @fast", .first_key = 1, .last_key = 1, .key_step = 1},
    {.name = "ssubscribe", .arity = -2, .flags = CMD_PUBSUB_OK | CMD_PUSHES, .proc = cmd_ssubscribe, .info_flags = PS_FLAGS, .acl = "@pubsub @slow", .first_key = 1, .last_key = -1, .key_step = 1},
    {.name = "subscribe", .arity = -2, .flags = CMD_PUBSUB_OK | CMD_PUSHES, .proc = cmd_subscribe, .info_flags = PS_FLAGS, .acl = "@pubsub @slow"},
    {.name = "sunsubscribe", .arity = -1, .flags = CMD_PUBSUB_OK | CMD_PUSHES, .proc = cmd_sunsubscribe, .info_flags = PS_FLAGS, .acl = "@pubsub @slow", .first_key = 1, .last_key = -1, .key_step = 1},
    {.name = "time", .arity = 1, .proc = cmd_time, .info_flags = "loading stale fast", .acl = "@fast"},
    {.name = "unsubscribe", .arity = -1, .flags = CMD_PUBSUB_OK | CMD_PUSHES, .proc = cmd_unsubscribe, .info_flags = PS_FLAGS, .acl = "@pubsub @slow"},
    {.name = "xlen", .arity = 2, .flags = CMD_KEYSPACE, .proc = cmd_xlen, .info_flags = "readonly fast", .acl = "@read @stream @fast", .first_key = 1, .last_key = 1, .key_step = 1},
    {.name = "xrange", .arity = -4, .flags = CMD_KEYSPACE, .proc = cmd_xrange, .info_flags = "readonly", .acl = "@read @stream @slow", .first_key = 1, .last_key = 1, .key_step = 1},
    {.name = "xread", .arity = -4, .flags = CMD_KEYSPACE, .proc = cmd_xread, .info_flags = "readonly blocking movablekeys", .acl = "@read @stream @slow @blocking"},
    {.name = "xrevrange", .arity = -4, .flags = CMD_KEYSPACE, .proc = cmd_xrevrange, .info_flags = "readonly", .acl = "@read @stream @slow", .first_key = 1, .last_key = 1, .key_step = 1},
    {0},
};

/* ---- dispatch ---- */

static int arity_ok(const command_t *cmd, size_t argc)
{
    return cmd->arity > 0 ? argc == (size_t)cmd->arity : argc >= (size_t)-cmd->arity;
}

static void reply_unknown(jl_resp_client_t *c, const args_t *a)
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
    reply_reject(c, a, "unknown command '%.*s', with args beginning with: %s",
                 (int)(a->len[0] < 128 ? a->len[0] : 128), a->argv[0], args);
}

/* Finds the command (and subcommand) or replies with Redis's error. */
static const command_t *resolve(jl_resp_client_t *c, const args_t *a, const command_t **parent)
{
    *parent = NULL;
    const command_t *cmd = lookup(command_table, a->argv[0], a->len[0]);
    if (cmd == NULL) {
        reply_unknown(c, a);
        return NULL;
    }
    if (cmd->subs == NULL || a->argc < 2) {
        if (!arity_ok(cmd, a->argc)) {
            reply_reject(c, a, "wrong number of arguments for '%s' command", cmd->name);
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
        reply_reject(c, a, "unknown subcommand '%.*s'. Try %s HELP.",
                     (int)(a->len[1] < 128 ? a->len[1] : 128), a->argv[1], upper);
        return NULL;
    }
    if (!arity_ok(sub, a->argc)) {
        reply_reject(c, a, "wrong number of arguments for '%s|%s' command", cmd->name, sub->name);
        return NULL;
    }
    *parent = cmd;
    return sub;
}

/* ---- MONITOR ---- */

/* Redis's call(): a command that ran is shown to every monitor, after it
 * ran (so SELECT shows its new db, and RESET is not shown to the monitor it
 * ends), except admin commands ("too dangerous to be shown"). Commands
 * refused before running (unknown, arity, NOAUTH, context, replica) or
 * queued by MULTI are not shown; queued ones are when EXEC runs them,
 * before the EXEC itself. cmd is NULL for QUIT. */
static void feed_monitors(jl_resp_client_t *c, const command_t *cmd, const args_t *a)
{
    jl_server_t *srv = c->resp->srv;
    if (a->redacted == NULL || srv->monitors.count == 0)
        return;
    if (cmd && (cmd->flags & CMD_ADMIN))
        return;
    static const char redacted[] = "(redacted)";
    const char **argv = jl_malloc(a->argc * sizeof *argv);
    size_t *lens = jl_malloc(a->argc * sizeof *lens);
    for (size_t i = 0; i < a->argc; i++) {
        argv[i] = a->redacted[i] ? redacted : a->argv[i];
        lens[i] = a->redacted[i] ? sizeof redacted - 1 : a->len[i];
    }
    jl_monitor_feed(&srv->monitors, &c->conn, srv->cfg->resp_socket, c->db, a->argc,
                    (const char *const *)argv, lens);
    free(argv);
    free(lens);
}

/* Runs proc on a copy of a that collects redactions while anybody monitors
 * (a command that starts the first monitor, MONITOR itself, is admin and
 * never shown), then feeds the monitors. */
static void run_and_feed(jl_resp_client_t *c, const command_t *cmd, const args_t *a,
                         void (*proc)(jl_resp_client_t *, const args_t *))
{
    if (c->resp->srv->monitors.count == 0) {
        proc(c, a);
        return;
    }
    args_t run = *a;
    run.redacted = jl_calloc(a->argc, 1);
    proc(c, &run);
    feed_monitors(c, cmd, &run);
    free(run.redacted);
}

/* Runs one command; returns its flags (0 if it was not found) so that the
 * caller knows whether CLIENT REPLY OFF may silence what it wrote. */
static unsigned execute(jl_resp_client_t *c, const args_t *a, int in_exec)
{
    const command_t *parent;
    if (!in_exec && a->len[0] == 4 && strncasecmp(a->argv[0], "quit", 4) == 0) {
        run_and_feed(c, NULL, a, cmd_quit);
        return 0;
    }
    const command_t *cmd = resolve(c, a, &parent);
    if (cmd == NULL)
        return 0;
    unsigned flags = cmd->flags | (parent ? parent->flags : 0);
    c->last_cmd = cmd->name;
    c->last_parent = parent ? parent->name : NULL;
    if (!in_exec) {
        if (!(c->flags & JL_RESP_AUTHED) && !(flags & CMD_NOAUTH)) {
            jl_resp_error(a->reply, "NOAUTH Authentication required.");
            if (c->flags & JL_RESP_MULTI)
                c->flags |= JL_RESP_DIRTY_EXEC;
            return 0;
        }
        /* Redis's ACL check: commands usable before AUTH skip the command
         * rule, never the channel rule. */
        if (!(flags & CMD_NOAUTH) &&
            jl_resp_acl_check(c, parent ? parent->name : cmd->name, parent ? cmd->name : NULL,
                              cmd->acl, a->argc, a->argv, a->len, a->reply) < 0) {
            if (c->flags & JL_RESP_MULTI)
                c->flags |= JL_RESP_DIRTY_EXEC;
            return 0;
        }
        if (c->proto == 2 && jl_resp_client_all_subs(c) > 0 && !(flags & CMD_PUBSUB_OK)) {
            char name[64];
            full_name(cmd, parent, name, sizeof name);
            reply_reject(c, a, "Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING "
                            "/ QUIT / RESET are allowed in this context", name);
            return 0;
        }
        if ((flags & CMD_KEYSPACE) && jl_monitor_is_on(&c->monitor)) {
            reply_reject(c, a, "Replica can't interact with the keyspace");
            return 0;
        }
        if ((c->flags & JL_RESP_MULTI) && !(flags & CMD_NO_QUEUE)) {
            queue_command(c, a);
            return flags & ~(unsigned)CMD_PUSHES;
        }
    }
    run_and_feed(c, cmd, a, cmd->proc);
    return flags;
}

void jl_resp_execute(jl_resp_client_t *c, size_t argc, const char **argv, const size_t *argvlen)
{
    args_t a = {argc, argv, argvlen, scratch_of(c), NULL};
    /* CLIENT REPLY SKIP applies to the command after it. */
    if (c->flags & JL_RESP_REPLY_SKIP_NEXT) {
        c->flags &= (uint16_t)~JL_RESP_REPLY_SKIP_NEXT;
        c->flags |= JL_RESP_REPLY_SKIP;
    }
    a.reply->len = 0;
    c->flags |= JL_RESP_EXECUTING;
    unsigned flags = execute(c, &a, 0);
    c->flags &= (uint16_t)~JL_RESP_EXECUTING;
    if ((c->flags & (JL_RESP_REPLY_OFF | JL_RESP_REPLY_SKIP)) && !(flags & CMD_PUSHES))
        a.reply->len = 0;
    c->flags &= (uint16_t)~JL_RESP_REPLY_SKIP;
    commit(c);
    if (!(c->flags & JL_RESP_BLOCKED))
        release_deferred(c);
    if (c->flags & JL_RESP_CLOSE_AFTER_REPLY)
        jl_conn_close_after_flush(&c->conn);
}

void jl_resp_commands_each(void (*fn)(void *ud, const char *name, const char *cats), void *ud)
{
    for (const command_t *cmd = command_table; cmd->name; cmd++) {
        if (cmd->subs == NULL) {
            fn(ud, cmd->name, cmd->acl);
            continue;
        }
        for (const command_t *sub = cmd->subs; sub->name; sub++) {
            char name[64];
            full_name(sub, cmd, name, sizeof name);
            fn(ud, name, sub->acl);
        }
    }
}

int jl_resp_command_known(const char *name, size_t len)
{
    const char *bar = memchr(name, '|', len);
    const command_t *cmd = lookup(command_table, name, bar ? (size_t)(bar - name) : len);
    if (cmd == NULL || bar == NULL)
        return cmd != NULL;
    return cmd->subs && lookup(cmd->subs, bar + 1, len - (size_t)(bar - name) - 1) != NULL;
}

void jl_resp_discard_multi(jl_resp_client_t *c)
{
    for (size_t i = 0; i < c->nmulti; i++) {
        for (size_t j = 0; j < c->multi[i].argc; j++)
            free(c->multi[i].argv[j]);
        free(c->multi[i].argv);
        free(c->multi[i].argvlen);
    }
    free(c->multi);
    c->multi = NULL;
    c->nmulti = 0;
    c->multi_bytes = 0;
    c->flags &= (uint16_t)~(JL_RESP_MULTI | JL_RESP_DIRTY_EXEC);
}

void jl_resp_forget(jl_resp_client_t *c)
{
    /* Gone before its answer came: the answer is dropped. */
    if (c->flags & JL_RESP_BLOCKED)
        jl_relay_cancel(c->resp->srv->relay, c);
    numsub_free(c->numsub);
    c->numsub = NULL;
    for (size_t i = 0; i < c->ndeferred; i++)
        jl_frame_unref(c->deferred[i]);
    free(c->deferred);
    c->deferred = NULL;
    c->ndeferred = 0;
    jl_resp_discard_multi(c);
}
