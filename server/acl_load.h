/* acl_load.h -- the ACL users a process starts with, from its configuration.
 *
 * Secrets come from files (or the command line for convenience), never only
 * argv: --requirepass-file gives the default user's password, --aclfile a
 * Redis aclfile. Kept apart from acl.c so that the rule parser stays pure
 * (no files), for its unit tests and its fuzz target. */
#ifndef JL_ACL_LOAD_H
#define JL_ACL_LOAD_H

#include "server/acl.h"
#include "server/config.h"

/* Initialises acl (it must be freed with jl_acl_free whatever the result)
 * and applies, in this order: --requirepass or --requirepass-file (the
 * default user's password, as Redis's requirepass), then every line of
 * --aclfile or every --user (not both). Each line defines its user from
 * scratch. Returns 0, or -1 after printing where and why. */
int jl_acl_load(jl_acl_t *acl, const jl_config_t *cfg, jl_acl_known_fn known);

#endif
