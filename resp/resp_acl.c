/* resp_acl.c -- Redis ACL applied to RESP clients (see resp_acl.h).
 *
 * Texts and orders are Redis 7.0.15's: a command is checked before its
 * channels (ACLCheckAllUserCommandPerm), a refusal is logged in ACL LOG
 * where a similar entry of the last minute is counted rather than
 * repeated, and taking a channel away from a user disconnects those of its
 * clients subscribed to something no longer allowed (Redis's
 * ACLKillPubsubClientsIfNeeded). What jugglite leaves out is documented in
 * docs/security.md ("Redis clients: ACL users"). */
#include "resp/resp_acl.h"
#include "resp/resp_info.h"
#include "resp/resp_writer.h"
#include "server/log.h"
#include "server/rand.h"
#include "server/server.h"
#include "server/strconv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Redis's acllog-max-len default and ACL_LOG_GROUPING_MAX_TIME_DELTA. */
enum { ACL_LOG_MAX = 128 };
#define ACL_LOG_GROUPING_SECONDS 60.0

typedef struct jl_resp_acl_entry {
    jl_list_t node;
    long long count;
    const char *reason;         /* "command", "channel", "auth" */
    const char *context;        /* "toplevel", or "multi" while queueing */
    char *object;
    char *username;
    double ctime;
    jl_buf_t cinfo;             /* the client's CLIENT LIST line, without its newline */
} acl_entry_t;

static double now_of(const jl_resp_client_t *c) { return ev_now(c->resp->srv->loop); }

static void entry_free(acl_entry_t *e)
{
    jl_list_remove(&e->node);
    free(e->object);
    free(e->username);
    jl_buf_free(&e->cinfo);
    free(e);
}

static void client_info(const jl_resp_client_t *c, jl_buf_t *out)
{
    out->len = 0;
    jl_resp_describe(c, out);
    if (out->len && out->data[out->len - 1] == '\n')
        out->len--;
}

static acl_entry_t *similar_entry(jl_resp_t *resp, const char *reason, const char *context,
                                  const char *object, const char *username, double now)
{
    JL_LIST_FOREACH(&resp->acl_log, it) {
        acl_entry_t *e = JL_CONTAINER_OF(it, acl_entry_t, node);
        if (e->reason == reason && e->context == context && strcmp(e->object, object) == 0 &&
            strcmp(e->username, username) == 0 && now - e->ctime < ACL_LOG_GROUPING_SECONDS)
            return e;
    }
    return NULL;
}

/* Redis's addACLLogEntry: the newest first; a repeat moves to the front. */
static void log_entry(jl_resp_client_t *c, const char *reason, const char *object,
                      const char *username)
{
    jl_resp_t *resp = c->resp;
    double now = now_of(c);
    const char *context = (c->flags & JL_RESP_MULTI) ? "multi" : "toplevel";
    acl_entry_t *e = similar_entry(resp, reason, context, object, username, now);
    if (e) {
        jl_list_remove(&e->node);
        e->count++;
    } else {
        e = jl_calloc(1, sizeof *e);
        e->count = 1;
        e->reason = reason;
        e->context = context;
        e->object = jl_strndup(object, strlen(object));
        e->username = jl_strndup(username, strlen(username));
        resp->nacl_log++;
    }
    e->ctime = now;
    client_info(c, &e->cinfo);
    /* Newest first: jl_list_push appends, so insert after the head. */
    e->node.prev = &resp->acl_log;
    e->node.next = resp->acl_log.next;
    resp->acl_log.next->prev = &e->node;
    resp->acl_log.next = &e->node;
    while (resp->nacl_log > ACL_LOG_MAX) {
        entry_free(JL_CONTAINER_OF(resp->acl_log.prev, acl_entry_t, node));
        resp->nacl_log--;
    }
}

void jl_resp_acl_log_free(jl_resp_t *resp)
{
    JL_LIST_FOREACH_SAFE(&resp->acl_log, it, tmp)
        entry_free(JL_CONTAINER_OF(it, acl_entry_t, node));
    resp->nacl_log = 0;
}

/* ---- checks ---- */

static const char *const err_channels =
    "NOPERM this user has no permissions to access one of the channels used as arguments";

/* The channel arguments a command uses: [from, to) and whether they are
 * patterns (PSUBSCRIBE's literal rule). 0 if it uses none. */
static int channel_args(const char *name, size_t argc, size_t *from, size_t *to, int *pattern)
{
    *from = 1;
    *to = argc;
    *pattern = 0;
    if (strcmp(name, "subscribe") == 0 || strcmp(name, "ssubscribe") == 0)
        return 1;
    if (strcmp(name, "psubscribe") == 0) {
        *pattern = 1;
        return 1;
    }
    if (strcmp(name, "publish") == 0 || strcmp(name, "spublish") == 0) {
        *to = argc > 2 ? 2 : argc;
        return 1;
    }
    return 0;
}

static int unrestricted(const jl_acl_user_t *u)
{
    return u->allcmds && u->nrules == 0 && u->chans.all;
}

int jl_resp_acl_check(jl_resp_client_t *c, const char *name, const char *sub, const char *cats,
                      size_t argc, const char **argv, const size_t *len, jl_buf_t *reply)
{
    const jl_acl_user_t *u = c->user;
    if (u && unrestricted(u))
        return 0;
    const char *uname = u ? u->name : "default";
    if (u == NULL || !jl_acl_can_run(u, name, sub, cats)) {
        char full[128];
        snprintf(full, sizeof full, sub ? "%s|%s" : "%s", name, sub);
        log_entry(c, "command", full, uname);
        jl_resp_errorf(reply, "NOPERM this user has no permissions to run the '%s' command", full);
        return -1;
    }
    size_t from, to;
    int pattern;
    if (sub || !channel_args(name, argc, &from, &to, &pattern))
        return 0;
    for (size_t i = from; i < to; i++) {
        int ok = pattern ? jl_chanperm_pattern(&u->chans, argv[i], len[i])
                         : jl_chanperm_channel(&u->chans, argv[i], len[i]);
        if (ok)
            continue;
        char *object = jl_strndup(argv[i], len[i]);
        log_entry(c, "channel", object, uname);
        free(object);
        jl_resp_error(reply, err_channels);
        return -1;
    }
    return 0;
}

int jl_resp_acl_auth(jl_resp_client_t *c, const char *user, size_t ulen, const char *pass,
                     size_t plen, const char *how)
{
    jl_acl_t *acl = c->resp->acl;
    jl_acl_user_t *u = user ? jl_acl_find(acl, user, ulen) : jl_acl_find(acl, "default", 7);
    if (u && jl_acl_check_pass(u, pass, plen)) {
        c->user = u;
        c->flags |= JL_RESP_AUTHED;
        return 1;
    }
    char peer[128];
    jl_conn_peer(&c->conn, peer, sizeof peer);
    jl_log_info("failed %s from client id=%llu %s: wrong password or unknown user", how,
                (unsigned long long)c->conn.id, peer);
    char *uname = user ? jl_strndup(user, ulen) : jl_strndup("default", 7);
    log_entry(c, "auth", "AUTH", uname);
    free(uname);
    return 0;
}

/* ---- disconnecting ---- */

static int live(const jl_resp_client_t *c)
{
    return !c->conn.closing && !c->conn.close_after_flush && !(c->flags & JL_RESP_CLOSE_AFTER_REPLY);
}

static void drop_client(jl_resp_client_t *other, jl_resp_client_t *self, const char *why)
{
    other->user = NULL;     /* the user may be about to go */
    if (other == self)
        other->flags |= JL_RESP_CLOSE_AFTER_REPLY;
    else
        jl_conn_close(&other->conn, why);
}

size_t jl_resp_kill_user(jl_resp_t *resp, const jl_acl_user_t *u, jl_resp_client_t *self)
{
    size_t n = 0;
    JL_LIST_FOREACH(&resp->clients, it) {
        jl_resp_client_t *other = JL_CONTAINER_OF(it, jl_resp_client_t, node);
        if (other->user != u || !live(other))
            continue;
        drop_client(other, self, "ACL user removed or killed");
        n++;
    }
    return n;
}

typedef struct sub_check {
    const jl_chanperm_t *perm;
    jl_ns_t ns;
    int denied;
} sub_check_t;

static void check_subscription(void *ud, const char *name, size_t len)
{
    sub_check_t *s = ud;
    int ok = s->ns == JL_NS_PATTERN ? jl_chanperm_pattern(s->perm, name, len)
                                    : jl_chanperm_channel(s->perm, name, len);
    s->denied |= !ok;
}

static int subscriptions_denied(const jl_resp_client_t *c, const jl_chanperm_t *perm)
{
    for (int ns = 0; ns < JL_NS_COUNT; ns++) {
        sub_check_t s = {perm, (jl_ns_t)ns, 0};
        jl_sink_each_name(&c->sink, (jl_ns_t)ns, check_subscription, &s);
        if (s.denied)
            return 1;
    }
    return 0;
}

/* After ACL SETUSER: u's subscribers to what it may no longer use go. */
static void kill_revoked_subscribers(jl_resp_t *resp, const jl_acl_user_t *u,
                                     jl_resp_client_t *self)
{
    if (u->chans.all)
        return;
    JL_LIST_FOREACH(&resp->clients, it) {
        jl_resp_client_t *other = JL_CONTAINER_OF(it, jl_resp_client_t, node);
        if (other->user == u && live(other) && jl_resp_client_all_subs(other) &&
            subscriptions_denied(other, &u->chans))
            drop_client(other, self, "ACL channel permission removed");
    }
}

/* ---- ACL subcommands ---- */

typedef struct acl_args {
    jl_resp_client_t *c;
    size_t argc;
    const char **argv;
    const size_t *len;
    jl_buf_t *reply;
} acl_args_t;

static void acl_whoami(const acl_args_t *a)
{
    jl_resp_bulk_str(a->reply, a->c->user ? a->c->user->name : "default");
}

static void acl_users(const acl_args_t *a)
{
    const jl_acl_t *acl = a->c->resp->acl;
    jl_resp_array(a->reply, acl->n);
    for (size_t i = 0; i < acl->n; i++)
        jl_resp_bulk_str(a->reply, acl->users[i]->name);
}

static void acl_list(const acl_args_t *a)
{
    const jl_acl_t *acl = a->c->resp->acl;
    jl_buf_t line = {0};
    jl_resp_array(a->reply, acl->n);
    for (size_t i = 0; i < acl->n; i++) {
        line.len = 0;
        jl_acl_describe(acl->users[i], &line);
        jl_resp_bulk(a->reply, line.data, line.len);
    }
    jl_buf_free(&line);
}

static void getuser_flags(const acl_args_t *a, const jl_acl_user_t *u)
{
    const char *flags[3];
    size_t n = 0;
    flags[n++] = u->enabled ? "on" : "off";
    if (u->nopass)
        flags[n++] = "nopass";
    if (u->sanitize)
        flags[n++] = u->sanitize == 1 ? "sanitize-payload" : "skip-sanitize-payload";
    jl_resp_set(a->reply, a->c->proto, n);
    for (size_t i = 0; i < n; i++)
        jl_resp_bulk_str(a->reply, flags[i]);
}

static void getuser_keys_channels(const acl_args_t *a, const jl_acl_user_t *u)
{
    jl_buf_t text = {0};
    if (u->allkeys)
        jl_buf_append_str(&text, "~*");
    for (size_t i = 0; i < u->nkeys; i++) {
        if (text.len)
            jl_buf_append_char(&text, ' ');
        jl_buf_append_str(&text, u->keys[i]);
    }
    jl_resp_bulk_str(a->reply, "keys");
    jl_resp_bulk(a->reply, text.data ? text.data : "", text.len);
    text.len = 0;
    if (u->chans.all)
        jl_buf_append_str(&text, "&*");
    for (size_t i = 0; i < u->chans.n; i++) {
        if (text.len)
            jl_buf_append_char(&text, ' ');
        jl_buf_append_char(&text, '&');
        jl_buf_append(&text, u->chans.pat[i], u->chans.len[i]);
    }
    jl_resp_bulk_str(a->reply, "channels");
    jl_resp_bulk(a->reply, text.data ? text.data : "", text.len);
    jl_buf_free(&text);
}

static void acl_getuser(const acl_args_t *a)
{
    const jl_acl_user_t *u = jl_acl_find(a->c->resp->acl, a->argv[2], a->len[2]);
    if (u == NULL) {
        jl_resp_null(a->reply, a->c->proto);
        return;
    }
    jl_resp_map(a->reply, a->c->proto, 6);
    jl_resp_bulk_str(a->reply, "flags");
    getuser_flags(a, u);
    jl_resp_bulk_str(a->reply, "passwords");
    jl_resp_array(a->reply, u->npass);
    for (size_t i = 0; i < u->npass; i++)
        jl_resp_bulk(a->reply, u->pass[i], 64);
    jl_resp_bulk_str(a->reply, "commands");
    jl_buf_t cmds = {0};
    jl_acl_describe_commands(u, &cmds);
    jl_resp_bulk(a->reply, cmds.data, cmds.len);
    jl_buf_free(&cmds);
    getuser_keys_channels(a, u);
    jl_resp_bulk_str(a->reply, "selectors");
    jl_resp_array(a->reply, 0);
}

static void acl_setuser(const acl_args_t *a)
{
    char err[512];
    jl_acl_user_t *u = jl_acl_setuser(a->c->resp->acl, a->argv[2], a->len[2], a->argc - 3,
                                      a->argv + 3, a->len + 3, err, sizeof err);
    if (u == NULL) {
        jl_resp_errorf(a->reply, "ERR %s", err);
        return;
    }
    kill_revoked_subscribers(a->c->resp, u, a->c);
    jl_resp_simple(a->reply, "OK");
}

static void acl_deluser(const acl_args_t *a)
{
    jl_resp_t *resp = a->c->resp;
    for (size_t i = 2; i < a->argc; i++)
        if (a->len[i] == 7 && memcmp(a->argv[i], "default", 7) == 0) {
            jl_resp_error(a->reply, "ERR The 'default' user cannot be removed");
            return;
        }
    long long deleted = 0;
    for (size_t i = 2; i < a->argc; i++) {
        jl_acl_user_t *u = jl_acl_find(resp->acl, a->argv[i], a->len[i]);
        if (u == NULL)
            continue;
        jl_resp_kill_user(resp, u, a->c);
        deleted += jl_acl_deluser(resp->acl, a->argv[i], a->len[i]);
    }
    jl_resp_integer(a->reply, deleted);
}

typedef struct cat_ctx {
    char want[64];
    size_t n;
    jl_buf_t names;
} cat_ctx_t;

static void collect_in_category(void *ud, const char *name, const char *cats)
{
    cat_ctx_t *k = ud;
    size_t wl = strlen(k->want);
    for (const char *p = cats; (p = strstr(p, k->want)) != NULL; p += wl)
        if ((p == cats || p[-1] == ' ') && (p[wl] == ' ' || p[wl] == '\0')) {
            jl_resp_bulk_str(&k->names, name);
            k->n++;
            return;
        }
}

static void acl_cat(const acl_args_t *a)
{
    if (a->argc == 2) {
        size_t n = 0;
        while (jl_acl_categories[n])
            n++;
        jl_resp_array(a->reply, n);
        for (size_t i = 0; i < n; i++)
            jl_resp_bulk_str(a->reply, jl_acl_categories[i]);
        return;
    }
    const char *cat = NULL;
    for (size_t i = 0; jl_acl_categories[i] && cat == NULL; i++)
        if (strlen(jl_acl_categories[i]) == a->len[2] &&
            strncasecmp(jl_acl_categories[i], a->argv[2], a->len[2]) == 0)
            cat = jl_acl_categories[i];
    if (cat == NULL) {
        jl_resp_errorf(a->reply, "ERR Unknown category '%.*s'", (int)(a->len[2] < 128 ? a->len[2] : 128),
                       a->argv[2]);
        return;
    }
    cat_ctx_t k = {.n = 0};
    snprintf(k.want, sizeof k.want, "@%s", cat);
    jl_resp_commands_each(collect_in_category, &k);
    jl_resp_array(a->reply, k.n);
    jl_buf_append(a->reply, k.names.data, k.names.len);
    jl_buf_free(&k.names);
}

static void log_reply_entry(const acl_args_t *a, const acl_entry_t *e, double now)
{
    jl_resp_map(a->reply, a->c->proto, 7);
    jl_resp_bulk_str(a->reply, "count");
    jl_resp_integer(a->reply, e->count);
    jl_resp_bulk_str(a->reply, "reason");
    jl_resp_bulk_str(a->reply, e->reason);
    jl_resp_bulk_str(a->reply, "context");
    jl_resp_bulk_str(a->reply, e->context);
    jl_resp_bulk_str(a->reply, "object");
    jl_resp_bulk_str(a->reply, e->object);
    jl_resp_bulk_str(a->reply, "username");
    jl_resp_bulk_str(a->reply, e->username);
    jl_resp_bulk_str(a->reply, "age-seconds");
    jl_resp_double(a->reply, a->c->proto, now - e->ctime);
    jl_resp_bulk_str(a->reply, "client-info");
    jl_resp_bulk(a->reply, e->cinfo.data ? e->cinfo.data : "", e->cinfo.len);
}

/* Redis's addReplySubcommandSyntaxError, naming the subcommand as sent. */
static void reply_subcommand_syntax(const acl_args_t *a)
{
    jl_resp_errorf(a->reply, "ERR unknown subcommand or wrong number of arguments for '%.*s'. "
                   "Try ACL HELP.", (int)(a->len[1] < 128 ? a->len[1] : 128), a->argv[1]);
}

static void acl_log(const acl_args_t *a)
{
    long long count = 10;   /* Redis's default */
    if (a->argc > 3) {
        reply_subcommand_syntax(a);
        return;
    }
    if (a->argc == 3) {
        if (a->len[2] == 5 && strncasecmp(a->argv[2], "reset", 5) == 0) {
            jl_resp_acl_log_free(a->c->resp);
            jl_resp_simple(a->reply, "OK");
            return;
        }
        if (jl_strtoll(a->argv[2], a->len[2], &count) != JL_OK) {
            jl_resp_error(a->reply, "ERR value is not an integer or out of range");
            return;
        }
        if (count < 0)
            count = 0;
    }
    size_t n = a->c->resp->nacl_log < (size_t)count ? a->c->resp->nacl_log : (size_t)count;
    double now = now_of(a->c);
    jl_resp_array(a->reply, n);
    size_t i = 0;
    JL_LIST_FOREACH(&a->c->resp->acl_log, it) {
        if (i++ == n)
            break;
        log_reply_entry(a, JL_CONTAINER_OF(it, acl_entry_t, node), now);
    }
}

static void acl_genpass(const acl_args_t *a)
{
    long long bits = 256;
    if (a->argc > 3) {
        reply_subcommand_syntax(a);
        return;
    }
    if (a->argc == 3 && jl_strtoll(a->argv[2], a->len[2], &bits) != JL_OK) {
        jl_resp_error(a->reply, "ERR value is not an integer or out of range");
        return;
    }
    if (bits <= 0 || bits > 4096) {
        jl_resp_error(a->reply, "ERR ACL GENPASS argument must be the number of bits for the "
                      "output password, a positive number up to 4096");
        return;
    }
    /* As Redis: one hex digit per 4 bits, rounded up. */
    size_t chars = (size_t)(bits + 3) / 4;
    unsigned char raw[512];
    char hex[1025];
    jl_random_bytes(raw, (chars + 1) / 2);
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < chars; i++)
        hex[i] = digits[(raw[i / 2] >> (i % 2 ? 0 : 4)) & 15];
    jl_resp_bulk(a->reply, hex, chars);
}

static void acl_help(const acl_args_t *a)
{
    static const char *const help[] = {
        "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CAT [<category>]",
        "    List all commands that belong to <category>, or all command categories",
        "    when no category is specified.",
        "DELUSER <username> [<username> ...]",
        "    Delete a list of users.",
        "GETUSER <username>",
        "    Get the user's details.",
        "GENPASS [<bits>]",
        "    Generate a secure 256-bit user password. The optional `bits` argument can",
        "    be used to specify a different size.",
        "LIST",
        "    Show users details in config file format.",
        "LOG [<count> | RESET]",
        "    Show the ACL log entries.",
        "SETUSER <username> <attribute> [<attribute> ...]",
        "    Create or modify a user with the specified attributes.",
        "USERS",
        "    List all the registered usernames.",
        "WHOAMI",
        "    Return the current connection username.",
        "HELP",
        "    Prints this help.",
    };
    jl_resp_array(a->reply, JL_ARRAY_LEN(help));
    for (size_t i = 0; i < JL_ARRAY_LEN(help); i++)
        jl_resp_simple(a->reply, help[i]);
}

void jl_resp_acl_command(jl_resp_client_t *c, const char *sub, size_t argc, const char **argv,
                         const size_t *len, jl_buf_t *reply)
{
    static const struct {
        const char *name;
        void (*fn)(const acl_args_t *);
    } subs[] = {
        {"cat", acl_cat}, {"deluser", acl_deluser}, {"genpass", acl_genpass},
        {"getuser", acl_getuser}, {"help", acl_help},
        {"list", acl_list}, {"log", acl_log}, {"setuser", acl_setuser},
        {"users", acl_users}, {"whoami", acl_whoami},
    };
    acl_args_t a = {c, argc, argv, len, reply};
    for (size_t i = 0; i < JL_ARRAY_LEN(subs); i++)
        if (strcmp(subs[i].name, sub) == 0) {
            subs[i].fn(&a);
            return;
        }
}
