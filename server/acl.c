/* acl.c -- Redis ACL users and their rules (see acl.h).
 *
 * SETUSER is all or nothing, as in Redis: the rules are applied to a copy
 * of the user, which replaces the original only if every rule was valid.
 * Command rules are kept as text in the order they were given; a new rule
 * first drops earlier ones it makes pointless (the same command or
 * category, or a subcommand of the command), as Redis 7.2 does when it
 * keeps its command_rules. Passwords are kept as SHA-256 digests only. */
#include "server/acl.h"
#include "server/util.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *const jl_acl_categories[] = {
    "keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap",
    "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking", "dangerous",
    "connection", "transaction", "scripting", NULL,
};

void jl_acl_sha256_hex(const char *data, size_t len, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
    jl_hex_encode(md, 32, out);
    out[64] = '\0';
}

/* ---- users ---- */

static jl_acl_user_t *user_new(const char *name, size_t len)
{
    jl_acl_user_t *u = jl_calloc(1, sizeof *u);
    u->name = jl_strndup(name, len);
    jl_chanperm_init(&u->chans);
    return u;
}

static void free_strings(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void user_free(jl_acl_user_t *u)
{
    if (u == NULL)
        return;
    free(u->name);
    free(u->pass);
    jl_chanperm_free(&u->chans);
    free_strings(u->keys, u->nkeys);
    free_strings(u->rules, u->nrules);
    free(u);
}

static char **copy_strings(char *const *v, size_t n)
{
    if (n == 0)
        return NULL;
    char **out = jl_malloc(n * sizeof *out);
    for (size_t i = 0; i < n; i++)
        out[i] = jl_strndup(v[i], strlen(v[i]));
    return out;
}

static jl_acl_user_t *user_copy(const jl_acl_user_t *src)
{
    jl_acl_user_t *u = user_new(src->name, strlen(src->name));
    u->enabled = src->enabled;
    u->nopass = src->nopass;
    u->sanitize = src->sanitize;
    if (src->npass) {
        u->pass = jl_malloc(src->npass * sizeof *u->pass);
        memcpy(u->pass, src->pass, src->npass * sizeof *u->pass);
        u->npass = src->npass;
    }
    jl_chanperm_copy(&u->chans, &src->chans);
    u->allkeys = src->allkeys;
    u->keys = copy_strings(src->keys, src->nkeys);
    u->nkeys = src->nkeys;
    u->allcmds = src->allcmds;
    u->rules = copy_strings(src->rules, src->nrules);
    u->nrules = src->nrules;
    return u;
}

/* Swaps the content of two users (the copy becomes the user callers hold). */
static void user_swap(jl_acl_user_t *a, jl_acl_user_t *b)
{
    jl_acl_user_t t = *a;
    *a = *b;
    *b = t;
}

static void push_string(char ***v, size_t *n, const char *s, size_t len)
{
    *v = jl_realloc(*v, (*n + 1) * sizeof **v);
    (*v)[(*n)++] = jl_strndup(s, len);
}

/* ---- passwords ---- */

static int find_hash(const jl_acl_user_t *u, const char *hash)
{
    for (size_t i = 0; i < u->npass; i++)
        if (memcmp(u->pass[i], hash, 64) == 0)
            return (int)i;
    return -1;
}

static void add_hash(jl_acl_user_t *u, const char *hash)
{
    u->nopass = 0;
    if (find_hash(u, hash) >= 0)
        return;
    u->pass = jl_realloc(u->pass, (u->npass + 1) * sizeof *u->pass);
    memcpy(u->pass[u->npass], hash, 64);
    u->pass[u->npass][64] = '\0';
    u->npass++;
}

static int del_hash(jl_acl_user_t *u, const char *hash)
{
    int i = find_hash(u, hash);
    if (i < 0)
        return -1;
    memmove(&u->pass[i], &u->pass[i + 1], (u->npass - (size_t)i - 1) * sizeof *u->pass);
    u->npass--;
    return 0;
}

static void reset_pass(jl_acl_user_t *u)
{
    free(u->pass);
    u->pass = NULL;
    u->npass = 0;
    u->nopass = 0;
}

static int valid_hash(const char *s, size_t len)
{
    if (len != 64)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

int jl_acl_check_pass(const jl_acl_user_t *u, const char *pass, size_t len)
{
    if (!u->enabled)
        return 0;
    if (u->nopass)
        return 1;
    char hash[65];
    jl_acl_sha256_hex(pass, len, hash);
    int ok = 0;
    /* Every hash is compared in full: the time says nothing of which. */
    for (size_t i = 0; i < u->npass; i++)
        ok |= CRYPTO_memcmp(u->pass[i], hash, 64) == 0;
    return ok;
}

/* ---- keys and channels ---- */

static void reset_keys(jl_acl_user_t *u)
{
    free_strings(u->keys, u->nkeys);
    u->keys = NULL;
    u->nkeys = 0;
    u->allkeys = 0;
}

static const char err_keys_after_all[] =
    "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not "
    "have any effect. Try 'resetkeys' to start with an empty list of patterns";
static const char err_chans_after_all[] =
    "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not "
    "have any effect. Try 'resetchannels' to start with an empty list of channels";
static const char err_syntax[] = "Syntax error";
static const char err_unknown[] = "Unknown command or category name in ACL";

/* "~pat" or "%R~pat", "%W~pat", "%RW~pat" (echoed as "~pat"). */
static const char *key_rule(jl_acl_user_t *u, const char *op, size_t len)
{
    int r = 0, w = 0;
    size_t at = 0;
    if (op[0] == '%') {
        for (at = 1; at < len && op[at] != '~'; at++) {
            char f = (char)toupper((unsigned char)op[at]);
            if (f == 'R')
                r = 1;
            else if (f == 'W')
                w = 1;
            else
                return err_syntax;
        }
        if (at == len || (!r && !w))
            return err_syntax;
    }
    const char *pat = op + at + 1;
    size_t plen = len - at - 1;
    int all_rw = op[0] == '~' || (r && w);
    if (all_rw && plen == 1 && pat[0] == '*') {
        reset_keys(u);
        u->allkeys = 1;
        return NULL;
    }
    if (u->allkeys)
        return err_keys_after_all;
    char text[4096];
    int n = snprintf(text, sizeof text, "%s~%.*s", all_rw ? "" : r ? "%R" : "%W", (int)plen, pat);
    for (size_t i = 0; i < u->nkeys; i++)
        if (strcmp(u->keys[i], text) == 0)
            return NULL;
    push_string(&u->keys, &u->nkeys, text, (size_t)(n < (int)sizeof text ? n : (int)sizeof text - 1));
    return NULL;
}

static const char *channel_rule(jl_acl_user_t *u, const char *pat, size_t len)
{
    if (len == 1 && pat[0] == '*') {
        jl_chanperm_reset(&u->chans, 1);
        return NULL;
    }
    if (u->chans.all)
        return err_chans_after_all;
    jl_chanperm_add(&u->chans, pat, len);
    return NULL;
}

/* ---- commands ---- */

static void reset_commands(jl_acl_user_t *u, int all)
{
    free_strings(u->rules, u->nrules);
    u->rules = NULL;
    u->nrules = 0;
    u->allcmds = all;
}

static int is_category(const char *name, size_t len)
{
    for (size_t i = 0; jl_acl_categories[i]; i++)
        if (strlen(jl_acl_categories[i]) == len && strncasecmp(jl_acl_categories[i], name, len) == 0)
            return 1;
    return 0;
}

/* Does the earlier rule 'old' ("+x", "-x|y", "+@c") become pointless after
 * one on 'name'? The same target, or a subcommand of the command named. */
static int superseded(const char *old, const char *name, size_t len)
{
    const char *o = old + 1;
    if (strlen(o) == len && memcmp(o, name, len) == 0)
        return 1;
    return name[0] != '@' && memchr(name, '|', len) == NULL && strncmp(o, name, len) == 0 &&
           o[len] == '|';
}

static void add_command_rule(jl_acl_user_t *u, int allow, const char *name, size_t len)
{
    size_t keep = 0;
    for (size_t i = 0; i < u->nrules; i++) {
        if (superseded(u->rules[i], name, len))
            free(u->rules[i]);
        else
            u->rules[keep++] = u->rules[i];
    }
    u->nrules = keep;
    char text[258];
    int n = snprintf(text, sizeof text, "%c%.*s", allow ? '+' : '-', (int)len, name);
    push_string(&u->rules, &u->nrules, text, (size_t)n);
}

static const char *command_rule(jl_acl_t *acl, jl_acl_user_t *u, const char *op, size_t len)
{
    int allow = op[0] == '+';
    char name[256];     /* lowercase: rules compare and show that way */
    size_t nlen = len - 1;
    if (nlen >= sizeof name)
        return err_unknown;
    for (size_t i = 0; i < nlen; i++)
        name[i] = (char)tolower((unsigned char)op[1 + i]);
    if (nlen == 4 && memcmp(name, "@all", 4) == 0) {
        reset_commands(u, allow);
        return NULL;
    }
    if (name[0] == '@') {
        if (!is_category(name + 1, nlen - 1))
            return err_unknown;
    } else if (acl->known == NULL || !acl->known(name, nlen)) {
        return err_unknown;
    }
    add_command_rule(u, allow, name, nlen);
    return NULL;
}

/* 1 if the rule's target ("publish", "client|kill", "@pubsub") covers
 * the command. */
static int rule_matches(const char *target, const char *name, const char *sub, const char *cats)
{
    if (target[0] == '@') {
        size_t tl = strlen(target);
        for (const char *p = cats; p && (p = strstr(p, target)) != NULL; p += tl)
            if ((p == cats || p[-1] == ' ') && (p[tl] == ' ' || p[tl] == '\0'))
                return 1;
        return 0;
    }
    const char *bar = strchr(target, '|');
    if (bar == NULL)
        return strcmp(target, name) == 0;
    return sub && (size_t)(bar - target) == strlen(name) &&
           strncmp(target, name, (size_t)(bar - target)) == 0 && strcmp(bar + 1, sub) == 0;
}

int jl_acl_can_run(const jl_acl_user_t *u, const char *name, const char *sub, const char *cats)
{
    int allowed = u->allcmds;
    for (size_t i = 0; i < u->nrules; i++)
        if (rule_matches(u->rules[i] + 1, name, sub, cats))
            allowed = u->rules[i][0] == '+';
    return allowed;
}

/* ---- one rule ---- */

static int op_is(const char *op, size_t len, const char *word)
{
    return strlen(word) == len && strncasecmp(op, word, len) == 0;
}

static void reset_user(jl_acl_user_t *u)
{
    reset_pass(u);
    reset_keys(u);
    jl_chanperm_reset(&u->chans, 0);
    u->enabled = 0;
    u->sanitize = 1;
    reset_commands(u, 0);
}

/* Flags and resets: NULL if op was one of them (applied), err_syntax if not. */
static const char *word_rule(jl_acl_user_t *u, const char *op, size_t len)
{
    if (op_is(op, len, "on"))
        u->enabled = 1;
    else if (op_is(op, len, "off"))
        u->enabled = 0;
    else if (op_is(op, len, "nopass")) {
        reset_pass(u);
        u->nopass = 1;
    } else if (op_is(op, len, "resetpass"))
        reset_pass(u);
    else if (op_is(op, len, "sanitize-payload"))
        u->sanitize = 1;
    else if (op_is(op, len, "skip-sanitize-payload"))
        u->sanitize = 2;
    else if (op_is(op, len, "allkeys"))
        return key_rule(u, "~*", 2);
    else if (op_is(op, len, "resetkeys"))
        reset_keys(u);
    else if (op_is(op, len, "allchannels"))
        jl_chanperm_reset(&u->chans, 1);
    else if (op_is(op, len, "resetchannels"))
        jl_chanperm_reset(&u->chans, 0);
    else if (op_is(op, len, "allcommands"))
        reset_commands(u, 1);
    else if (op_is(op, len, "nocommands"))
        reset_commands(u, 0);
    else if (op_is(op, len, "reset"))
        reset_user(u);
    else
        return err_syntax;
    return NULL;
}

static const char *password_rule(jl_acl_user_t *u, const char *op, size_t len)
{
    char hash[65];
    if (op[0] == '>' || op[0] == '<') {
        jl_acl_sha256_hex(op + 1, len - 1, hash);
    } else {
        if (!valid_hash(op + 1, len - 1))
            return "The password hash must be exactly 64 characters and contain only lowercase "
                   "hexadecimal characters";
        memcpy(hash, op + 1, 64);
    }
    if (op[0] == '>' || op[0] == '#') {
        add_hash(u, hash);
        return NULL;
    }
    if (del_hash(u, hash) < 0)
        return "The password you are trying to remove from the user does not exist";
    return NULL;
}

/* Applies one rule to u; NULL or why it was refused (Redis's words). */
static const char *apply_rule(jl_acl_t *acl, jl_acl_user_t *u, const char *op, size_t len)
{
    if (len == 0)
        return err_syntax;
    switch (op[0]) {
    case '>': case '<': case '#': case '!':
        return password_rule(u, op, len);
    case '~': case '%':
        return key_rule(u, op, len);
    case '&':
        return channel_rule(u, op + 1, len - 1);
    case '+': case '-':
        return len > 1 ? command_rule(acl, u, op, len) : err_unknown;
    default:
        return word_rule(u, op, len);
    }
}

/* ---- the set of users ---- */

static size_t position(const jl_acl_t *acl, const char *name, size_t len, int *found)
{
    size_t lo = 0, hi = acl->n;
    *found = 0;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const char *m = acl->users[mid]->name;
        size_t ml = strlen(m);
        int c = memcmp(m, name, ml < len ? ml : len);
        if (c == 0)
            c = ml < len ? -1 : ml > len;
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void insert_user(jl_acl_t *acl, size_t at, jl_acl_user_t *u)
{
    if (acl->n == acl->cap) {
        acl->cap = acl->cap ? acl->cap * 2 : 8;
        acl->users = jl_realloc(acl->users, acl->cap * sizeof *acl->users);
    }
    memmove(&acl->users[at + 1], &acl->users[at], (acl->n - at) * sizeof *acl->users);
    acl->users[at] = u;
    acl->n++;
}

void jl_acl_init(jl_acl_t *acl, jl_acl_known_fn known)
{
    memset(acl, 0, sizeof *acl);
    acl->known = known;
    jl_acl_user_t *def = user_new("default", 7);
    def->enabled = 1;
    def->nopass = 1;
    def->allkeys = 1;
    def->chans.all = 1;
    def->allcmds = 1;
    insert_user(acl, 0, def);
}

void jl_acl_free(jl_acl_t *acl)
{
    for (size_t i = 0; i < acl->n; i++)
        user_free(acl->users[i]);
    free(acl->users);
    memset(acl, 0, sizeof *acl);
}

jl_acl_user_t *jl_acl_find(const jl_acl_t *acl, const char *name, size_t len)
{
    int found;
    size_t at = position(acl, name, len, &found);
    return found ? acl->users[at] : NULL;
}

jl_acl_user_t *jl_acl_setuser(jl_acl_t *acl, const char *name, size_t nlen, size_t nrules,
                              const char *const *rules, const size_t *lens, char *err,
                              size_t errlen)
{
    if (memchr(name, ' ', nlen) || memchr(name, '\0', nlen)) {
        snprintf(err, errlen, "Usernames can't contain spaces or null characters");
        return NULL;
    }
    int found;
    size_t at = position(acl, name, nlen, &found);
    jl_acl_user_t *work = found ? user_copy(acl->users[at]) : user_new(name, nlen);
    for (size_t i = 0; i < nrules; i++) {
        const char *why = apply_rule(acl, work, rules[i], lens[i]);
        if (why) {
            snprintf(err, errlen, "Error in ACL SETUSER modifier '%.*s': %s",
                     (int)(lens[i] < 128 ? lens[i] : 128), rules[i], why);
            user_free(work);
            return NULL;
        }
    }
    if (!found) {
        insert_user(acl, at, work);
        return work;
    }
    /* Callers hold the old pointer: it keeps its address, takes the content. */
    user_swap(acl->users[at], work);
    user_free(work);
    return acl->users[at];
}

int jl_acl_line(jl_acl_t *acl, const char *line, char *err, size_t errlen)
{
    const char *words[256];
    size_t lens[256], n = 0;
    for (const char *p = line; *p;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        const char *e = p;
        while (*e && *e != ' ' && *e != '\t')
            e++;
        if (n == JL_ARRAY_LEN(words)) {
            snprintf(err, errlen, "too many rules (at most %zu)", JL_ARRAY_LEN(words) - 1);
            return -1;
        }
        words[n] = p;
        lens[n++] = (size_t)(e - p);
        p = e;
    }
    if (n == 0) {
        snprintf(err, errlen, "a user line needs a name");
        return -1;
    }
    return jl_acl_setuser(acl, words[0], lens[0], n - 1, words + 1, lens + 1, err, errlen)
               ? 0 : -1;
}

int jl_acl_deluser(jl_acl_t *acl, const char *name, size_t len)
{
    if (len == 7 && memcmp(name, "default", 7) == 0)
        return -1;
    int found;
    size_t at = position(acl, name, len, &found);
    if (!found)
        return 0;
    user_free(acl->users[at]);
    memmove(&acl->users[at], &acl->users[at + 1], (acl->n - at - 1) * sizeof *acl->users);
    acl->n--;
    return 1;
}

void jl_acl_requirepass(jl_acl_t *acl, const char *pass)
{
    jl_acl_user_t *def = jl_acl_find(acl, "default", 7);
    reset_pass(def);
    if (pass == NULL || *pass == '\0') {
        def->nopass = 1;
        return;
    }
    char hash[65];
    jl_acl_sha256_hex(pass, strlen(pass), hash);
    add_hash(def, hash);
}

/* ---- description ---- */

void jl_acl_describe_commands(const jl_acl_user_t *u, jl_buf_t *out)
{
    jl_buf_append_str(out, u->allcmds ? "+@all" : "-@all");
    for (size_t i = 0; i < u->nrules; i++) {
        jl_buf_append_char(out, ' ');
        jl_buf_append_str(out, u->rules[i]);
    }
}

void jl_acl_describe(const jl_acl_user_t *u, jl_buf_t *out)
{
    jl_buf_append_str(out, "user ");
    jl_buf_append_str(out, u->name);
    jl_buf_append_str(out, u->enabled ? " on" : " off");
    if (u->nopass)
        jl_buf_append_str(out, " nopass");
    if (u->sanitize)
        jl_buf_append_str(out, u->sanitize == 1 ? " sanitize-payload" : " skip-sanitize-payload");
    for (size_t i = 0; i < u->npass; i++) {
        jl_buf_append_str(out, " #");
        jl_buf_append_str(out, u->pass[i]);
    }
    if (u->allkeys)
        jl_buf_append_str(out, " ~*");
    for (size_t i = 0; i < u->nkeys; i++) {
        jl_buf_append_char(out, ' ');
        jl_buf_append_str(out, u->keys[i]);
    }
    if (u->chans.all)
        jl_buf_append_str(out, " &*");
    else
        jl_buf_append_str(out, " resetchannels");
    for (size_t i = 0; i < u->chans.n; i++) {
        jl_buf_append_str(out, " &");
        jl_buf_append(out, u->chans.pat[i], u->chans.len[i]);
    }
    jl_buf_append_char(out, ' ');
    jl_acl_describe_commands(u, out);
}
