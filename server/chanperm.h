/* chanperm.h -- which channels one principal may use: Redis's ACL channel rule.
 *
 * One rule for both sides, so that a permission reads the same in an ACL
 * user (`&chat:* &user:42:*`, RESP) and in a browser's token (the same
 * globs in its claims): a set of channel patterns, or "all channels".
 * As in Redis 7 (ACLCheckChannelAgainstList):
 *   - a channel (SUBSCRIBE, SSUBSCRIBE, PUBLISH, SPUBLISH, ?channel=) is
 *     allowed when it matches one of the patterns as a glob;
 *   - a pattern (PSUBSCRIBE, ?pattern=) is allowed only when it is
 *     literally one of the patterns: a glob cannot be proved to match no
 *     more than another glob, so Redis compares the text.
 * The set owns copies of its patterns. */
#ifndef JL_CHANPERM_H
#define JL_CHANPERM_H

#include <stddef.h>

typedef struct jl_chanperm {
    int all;                    /* allchannels / &* given as "all" */
    char **pat;                 /* each its own allocation */
    size_t *len;
    size_t n, cap;
} jl_chanperm_t;

void jl_chanperm_init(jl_chanperm_t *p);
void jl_chanperm_free(jl_chanperm_t *p);
/* Adds one pattern (a duplicate is not added twice, as Redis keeps one). */
void jl_chanperm_add(jl_chanperm_t *p, const char *pat, size_t len);
/* allchannels (all = 1) or resetchannels (all = 0): drops every pattern. */
void jl_chanperm_reset(jl_chanperm_t *p, int all);
/* 1 if the channel may be used. */
int jl_chanperm_channel(const jl_chanperm_t *p, const char *chan, size_t len);
/* 1 when one of the patterns itself starts with prefix: the set names
 * those channels on purpose ("all channels" and a bare * do not). */
int jl_chanperm_names_prefix(const jl_chanperm_t *p, const char *prefix, size_t len);
/* 1 if the pattern may be subscribed to (the literal rule above). */
int jl_chanperm_pattern(const jl_chanperm_t *p, const char *pat, size_t len);
/* Copies src into dst (dst must be initialised; its content is replaced). */
void jl_chanperm_copy(jl_chanperm_t *dst, const jl_chanperm_t *src);

#endif
