/* query.h -- URL query-string decoding, no I/O.
 *
 * Splits "a=1&b=x%20y" into decoded key/value pairs ('+' is a space,
 * %XX is a byte; a malformed escape is kept literally: jl_percent_decode in
 * server/strconv.h) and offers the lookups
 * the SSE routes need: every value of a key, and comma lists.
 *
 * Decisions, each with its reason:
 * - Only '&' separates pairs (not ';': Rack stopped accepting it, and a
 *   channel name may contain ';'). Empty segments ("a&&b", a trailing '&')
 *   are skipped, as Rack does; they do not count toward max_pairs.
 * - "k" without '=' is key "k" with an empty value; "=v" is the empty key.
 * - A malformed escape ("%zz", a truncated "%4") is kept as is, byte for
 *   byte; Rack would refuse the request, we prefer to be lenient and exact.
 *   "%00" decodes to a NUL byte, hence the explicit lengths.
 * - Decoding happens before list splitting, so "%2C" separates list items
 *   like a plain ',' -- Rack decodes params before Jugglite splits them. */
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

/* Parses q[0..len) (without the leading '?'; q may be NULL when len is 0).
 * Returns 0, or -E2BIG if it holds more than max_pairs pairs (then out is
 * empty). out owns its strings (one allocation, in order of appearance);
 * release with jl_query_free, also after -E2BIG (a no-op then). */
int jl_query_parse(const char *q, size_t len, size_t max_pairs, jl_query_t *out);
/* Frees what jl_query_parse allocated; q is empty and reusable afterwards. */
void jl_query_free(jl_query_t *q);
/* First pair whose key equals the NUL-terminated key, or NULL. */
const jl_query_pair_t *jl_query_get(const jl_query_t *q, const char *key);


/* Collects every value of 'key' (repeated keys and comma-separated lists
 * both count), in order. Each value is split on ',' the way Jugglite's Ruby
 * String#split(",") does: empty elements inside the list are kept ("a,,b"
 * gives "a", "", "b"; ",a" gives "", "a") but trailing empty ones are
 * dropped ("a," gives "a"; "" and ",," give nothing), so "channel=" means
 * zero channels, as in Jugglite. (Rack would keep only the last of repeated
 * keys; taking all of them is a superset.) Calls cb (may be NULL: just
 * count) once per element with a pointer into q; returns the number of
 * elements. */
typedef void (*jl_query_item_fn)(void *ud, const char *item, size_t len);
size_t jl_query_each_list(const jl_query_t *q, const char *key, jl_query_item_fn cb, void *ud);

#endif
