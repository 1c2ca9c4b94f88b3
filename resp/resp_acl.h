/* resp_acl.h -- Redis ACL on the RESP side: checks, the ACL command, the ACL LOG.
 *
 * server/acl.c knows users and rules; this module applies them to RESP
 * clients as Redis 7.0.15 does: the permission check between
 * authentication and execution (NOPERM errors, ACL LOG entries), the ACL
 * subcommands, and disconnecting the clients a change concerns (a deleted
 * user, a channel taken away, CLIENT KILL USER). resp_commands.c calls in;
 * this module never calls back into the command table except through
 * jl_resp_commands_each. */
#ifndef JL_RESP_ACL_H
#define JL_RESP_ACL_H

#include "resp/resp_client.h"
#include "server/buf.h"

#include <stddef.h>

/* The permission check for one command about to run (name, sub: the
 * command and subcommand or NULL; cats its categories). Returns 0 if it
 * may run; else appends Redis's NOPERM error to reply, logs it in ACL LOG,
 * and returns -1. */
int jl_resp_acl_check(jl_resp_client_t *c, const char *name, const char *sub, const char *cats,
                      size_t argc, const char **argv, const size_t *len, jl_buf_t *reply);

/* Redis's ACLAuthenticateUser: user NULL is "default". On success the
 * client is that user and authenticated; a failure is logged (server log
 * and ACL LOG, never the password). Returns 1 or 0. */
int jl_resp_acl_auth(jl_resp_client_t *c, const char *user, size_t ulen, const char *pass,
                     size_t plen, const char *how);

/* The ACL subcommands; sub is the subcommand's lowercase name. */
void jl_resp_acl_command(jl_resp_client_t *c, const char *sub, size_t argc, const char **argv,
                         const size_t *len, jl_buf_t *reply);

/* Disconnects every RESP client authenticated as u; self (the client
 * running the command, or NULL) is closed after its reply. Returns how
 * many. The hook for whoever else must drop a user's connections. */
size_t jl_resp_kill_user(jl_resp_t *resp, const jl_acl_user_t *u, jl_resp_client_t *self);

/* Frees the ACL LOG (at shutdown). */
void jl_resp_acl_log_free(jl_resp_t *resp);

/* From resp_commands.c: each command and subcommand with its full name
 * ("client|kill") and categories, in table order. */
void jl_resp_commands_each(void (*fn)(void *ud, const char *name, const char *cats), void *ud);
/* From resp_commands.c: 1 if "cmd" or "cmd|sub" exists (jl_acl_known_fn). */
int jl_resp_command_known(const char *name, size_t len);

#endif
