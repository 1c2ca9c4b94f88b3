/* query.h -- URL query-string decoding, no I/O.
 *
 * Splits "a=1&b=x%20y" into decoded key/value pairs ('+' is a space,
 * %XX is a byte; a malformed escape is kept literally) and offers the lookups
 * the SSE routes need: every value of a key, and comma lists. */
#ifndef JL_QUERY_H
#define JL_QUERY_H

#include <stddef.h>

typedef struct jl_query_pair {
    char *key;      /* decoded, NUL-terminated (may contain NUL bytes: use key_len) */
    size_t key_len;
    char *val;
    size_t val_len;
} jl_query_pair_t;

typedef struct jl_query {
    jl_query_pair_t *pairs;
    size_t n;
} jl_query_t;

/* Parses q[0..len) (without the leading '?'). Returns 0, or -E2BIG if it
 * holds more than max_pairs pairs (then out is empty). out owns its strings. */
int jl_query_parse(const char *q, size_t len, size_t max_pairs, jl_query_t *out);
void jl_query_free(jl_query_t *q);
/* First value of key, or NULL. */
const jl_query_pair_t *jl_query_get(const jl_query_t *q, const char *key);

/* Percent-decodes src[0..len) into dst (room for len bytes); returns the
 * decoded length. plus_is_space: '+' decodes to ' ' (query strings). */
size_t jl_query_decode(char *dst, const char *src, size_t len, int plus_is_space);

/* Collects every value of 'key' (repeated keys and comma-separated lists
 * both count), in order, without dropping empty elements. Calls cb once per
 * element; returns the number of elements. */
typedef void (*jl_query_item_fn)(void *ud, const char *item, size_t len);
size_t jl_query_each_list(const jl_query_t *q, const char *key, jl_query_item_fn cb, void *ud);

#endif
