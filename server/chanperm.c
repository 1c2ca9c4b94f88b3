/* chanperm.c -- channel permissions as Redis's ACL checks them (see chanperm.h).
 *
 * A plain array: a user or a token carries a handful of patterns, checked
 * once per subscribe or publish, so a scan is the whole cost. */
#include "server/chanperm.h"
#include "server/glob.h"
#include "server/util.h"

#include <stdlib.h>
#include <string.h>

void jl_chanperm_init(jl_chanperm_t *p) { memset(p, 0, sizeof *p); }

void jl_chanperm_free(jl_chanperm_t *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->pat[i]);
    free(p->pat);
    free(p->len);
    memset(p, 0, sizeof *p);
}

static int has_literal(const jl_chanperm_t *p, const char *pat, size_t len)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->len[i] == len && memcmp(p->pat[i], pat, len) == 0)
            return 1;
    return 0;
}

void jl_chanperm_add(jl_chanperm_t *p, const char *pat, size_t len)
{
    if (has_literal(p, pat, len))
        return;
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 4;
        p->pat = jl_realloc(p->pat, p->cap * sizeof *p->pat);
        p->len = jl_realloc(p->len, p->cap * sizeof *p->len);
    }
    p->pat[p->n] = jl_strndup(pat, len);
    p->len[p->n] = len;
    p->n++;
}

void jl_chanperm_reset(jl_chanperm_t *p, int all)
{
    jl_chanperm_free(p);
    p->all = all;
}

int jl_chanperm_channel(const jl_chanperm_t *p, const char *chan, size_t len)
{
    if (p->all)
        return 1;
    for (size_t i = 0; i < p->n; i++)
        if (jl_glob_match(p->pat[i], p->len[i], chan, len))
            return 1;
    return 0;
}

int jl_chanperm_names_prefix(const jl_chanperm_t *p, const char *prefix, size_t len)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->len[i] >= len && memcmp(p->pat[i], prefix, len) == 0)
            return 1;
    return 0;
}

int jl_chanperm_pattern(const jl_chanperm_t *p, const char *pat, size_t len)
{
    return p->all || has_literal(p, pat, len);
}

void jl_chanperm_copy(jl_chanperm_t *dst, const jl_chanperm_t *src)
{
    jl_chanperm_reset(dst, src->all);
    for (size_t i = 0; i < src->n; i++)
        jl_chanperm_add(dst, src->pat[i], src->len[i]);
}
