/* acl.h -- Redis ACL users: who may connect, run which commands, use which channels.
 *
 * The model behind AUTH, HELLO AUTH and ACL on the RESP side, kept free of
 * any protocol so that it can be unit-tested and fuzzed alone, and so that
 * another side (browsers' tokens) could look a user up later. Rules are
 * Redis 7.0's (ACLSetUser): on/off, >pass, <pass, #sha256, !sha256, nopass,
 * resetpass, &pattern, allchannels, resetchannels, +@cat, -@cat, +cmd,
 * -cmd, +cmd|sub, allcommands, nocommands, reset, sanitize-payload and
 * skip-sanitize-payload. Key patterns (~pat, %R~pat, allkeys, resetkeys)
 * are accepted and echoed, never checked: jugglite has no keys. Selectors
 * are refused ("Syntax error").
 *
 * Commands are checked by replaying the user's command rules in order on
 * the command's name and categories (a handful of rules, a few string
 * compares), so this module needs no command table: which names exist is
 * asked of the caller (jl_acl_known_fn), what a command's categories are is
 * given with each check.
 *
 * jl_acl_t owns its users; a user owns its strings. A user pointer stays
 * valid until jl_acl_deluser removes that user (whoever holds it -- a
 * client authenticated as it -- must be told: Redis disconnects them). */
#ifndef JL_ACL_H
#define JL_ACL_H

#include "server/buf.h"
#include "server/chanperm.h"

#include <stddef.h>

/* 1 if "cmd" or "cmd|sub" (lowercase, len bytes) names a command. */
typedef int (*jl_acl_known_fn)(const char *name, size_t len);

typedef struct jl_acl_user {
    char *name;
    int enabled;                /* on / off */
    int nopass;                 /* any password authenticates */
    int sanitize;               /* 0 none shown, 1 sanitize-payload, 2 skip-sanitize-payload */
    char (*pass)[65];           /* SHA-256 hex digests, lowercase, in the order added */
    size_t npass;
    jl_chanperm_t chans;
    int allkeys;                /* ~* / allkeys: echoed only */
    char **keys;                /* "~pat", "%R~pat", "%W~pat", echoed only */
    size_t nkeys;
    int allcmds;                /* the base is +@all (else -@all) */
    char **rules;               /* "+@pubsub", "-publish", "+client|id", applied in order */
    size_t nrules;
} jl_acl_user_t;

typedef struct jl_acl {
    jl_acl_user_t **users;      /* sorted by name, as Redis lists them */
    size_t n, cap;
    jl_acl_known_fn known;
} jl_acl_t;

/* An ACL with only "default": on nopass ~* &* +@all (Redis's start). */
void jl_acl_init(jl_acl_t *acl, jl_acl_known_fn known);
void jl_acl_free(jl_acl_t *acl);

jl_acl_user_t *jl_acl_find(const jl_acl_t *acl, const char *name, size_t len);

/* Redis's ACL SETUSER: creates the user if missing ("off resetchannels
 * -@all"), then applies the rules left to right, all or nothing. On error
 * returns NULL and writes Redis's message ("Error in ACL SETUSER modifier
 * '...': ...") into err; the ACL is unchanged. */
jl_acl_user_t *jl_acl_setuser(jl_acl_t *acl, const char *name, size_t nlen, size_t nrules,
                              const char *const *rules, const size_t *lens, char *err,
                              size_t errlen);

/* One line "NAME rule rule ..." (an aclfile line without its "user "
 * prefix, or a --user value): split on spaces, then jl_acl_setuser. */
int jl_acl_line(jl_acl_t *acl, const char *line, char *err, size_t errlen);

/* Removes a user ("default" cannot be: returns -1). 1 removed, 0 none. */
int jl_acl_deluser(jl_acl_t *acl, const char *name, size_t len);

/* Sets the default user's password as Redis's requirepass does: "" means
 * nopass. */
void jl_acl_requirepass(jl_acl_t *acl, const char *pass);

/* 1 if pass authenticates u (on, and nopass or one of its hashes). */
int jl_acl_check_pass(const jl_acl_user_t *u, const char *pass, size_t len);

/* 1 if u may run the command: name is the command ("client"), sub its
 * subcommand or NULL, cats its categories ("@slow @connection"). */
int jl_acl_can_run(const jl_acl_user_t *u, const char *name, const char *sub, const char *cats);

/* ACL LIST's line for u ("user alice on #... resetchannels &a* -@all +@pubsub"). */
void jl_acl_describe(const jl_acl_user_t *u, jl_buf_t *out);
/* The command rules alone ("-@all +@pubsub"), as ACL GETUSER shows them. */
void jl_acl_describe_commands(const jl_acl_user_t *u, jl_buf_t *out);

/* Redis 7.0's categories, in ACL CAT's order; NULL-terminated. */
extern const char *const jl_acl_categories[];

/* SHA-256 of data as 64 lowercase hex digits and a NUL (OpenSSL's EVP). */
void jl_acl_sha256_hex(const char *data, size_t len, char out[65]);

#endif
