/* query.c -- URL query-string decoding (see query.h).
 *
 * The query string is the one part of an SSE request the browser's page
 * fully controls, so the parser is bounded (max_pairs, checked before any
 * allocation) and exact: every byte either decodes or is kept, nothing is
 * guessed. A parse makes one allocation -- the pair array followed by an
 * arena holding every decoded key and value, each NUL-terminated -- so a
 * query is freed with one free() and never leaks half-built. */
#include "http/query.h"
#include "server/strconv.h"
#include "server/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Length of the segment starting at p, up to the next '&' or end. */
static size_t segment_len(const char *p, const char *end)
{
    const char *amp = memchr(p, '&', (size_t)(end - p));
    return amp ? (size_t)(amp - p) : (size_t)(end - p);
}

/* Start of the segment after the one at p (end if there is none). */
static const char *next_segment(const char *p, const char *end)
{
    p += segment_len(p, end);
    return p < end ? p + 1 : end;
}

static size_t count_pairs(const char *q, size_t len)
{
    size_t n = 0;
    for (const char *p = q, *end = q + len; p < end; p = next_segment(p, end))
        n += segment_len(p, end) > 0;
    return n;
}

/* Decodes src[0..len) into *arena, NUL-terminates it, advances *arena. */
static char *decode_into(char **arena, const char *src, size_t len, size_t *out_len)
{
    char *s = *arena;
    *out_len = jl_percent_decode(s, src, len, 1);
    s[*out_len] = '\0';
    *arena = s + *out_len + 1;
    return s;
}

static void parse_pair(jl_query_pair_t *pair, char **arena, const char *seg, size_t len)
{
    const char *eq = memchr(seg, '=', len);
    size_t klen = eq ? (size_t)(eq - seg) : len;
    const char *val = eq ? eq + 1 : seg + len;
    pair->key = decode_into(arena, seg, klen, &pair->key_len);
    pair->val = decode_into(arena, val, (size_t)(seg + len - val), &pair->val_len);
}

int jl_query_parse(const char *q, size_t len, size_t max_pairs, jl_query_t *out)
{
    out->pairs = NULL;
    out->n = 0;
    if (len == 0)
        return JL_OK;
    size_t n = count_pairs(q, len);
    if (n > max_pairs)
        return -E2BIG;
    if (n == 0)
        return JL_OK;
    /* Decoded text never outgrows the input; each pair adds two NULs. */
    jl_query_pair_t *pairs = jl_malloc(n * sizeof *pairs + len + 2 * n);
    char *arena = (char *)(pairs + n);
    size_t i = 0;
    for (const char *p = q, *end = q + len; p < end; p = next_segment(p, end)) {
        size_t seg = segment_len(p, end);
        if (seg > 0)
            parse_pair(&pairs[i++], &arena, p, seg);
    }
    out->pairs = pairs;
    out->n = n;
    return JL_OK;
}

void jl_query_free(jl_query_t *q)
{
    free(q->pairs);
    q->pairs = NULL;
    q->n = 0;
}

static int key_is(const jl_query_pair_t *p, const char *key, size_t klen)
{
    return p->key_len == klen && memcmp(p->key, key, klen) == 0;
}

const jl_query_pair_t *jl_query_get(const jl_query_t *q, const char *key)
{
    size_t klen = strlen(key);
    for (size_t i = 0; i < q->n; i++)
        if (key_is(&q->pairs[i], key, klen))
            return &q->pairs[i];
    return NULL;
}

/* Ruby's "a,b,,".split(",") semantics: drop the trailing commas first, then
 * every remaining ',' separates, empty elements included. */
static size_t split_list(const char *v, size_t len, jl_query_item_fn cb, void *ud)
{
    while (len > 0 && v[len - 1] == ',')
        len--;
    if (len == 0)
        return 0;
    size_t n = 0;
    const char *p = v, *end = v + len;
    for (;;) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma ? comma : end;
        if (cb != NULL)
            cb(ud, p, (size_t)(stop - p));
        n++;
        if (comma == NULL)
            return n;
        p = comma + 1;
    }
}

size_t jl_query_each_list(const jl_query_t *q, const char *key, jl_query_item_fn cb, void *ud)
{
    size_t klen = strlen(key), n = 0;
    for (size_t i = 0; i < q->n; i++)
        if (key_is(&q->pairs[i], key, klen))
            n += split_list(q->pairs[i].val, q->pairs[i].val_len, cb, ud);
    return n;
}
