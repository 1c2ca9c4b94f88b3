/* fuzz_query.c -- libFuzzer target for http/query.c.
 *
 * Parses the input as a query string and checks what the rest of the server
 * relies on: the pair count respects max_pairs and the number of '&'
 * segments; every key and value is NUL-terminated and no longer than its
 * source; jl_query_get finds the first pair of each key; list elements are
 * no longer than their value; decoding in place equals decoding into a
 * separate buffer; and decode(percent-encode(x)) == x. */
#include "http/query.h"
#include "server/strconv.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)               \
    do {                          \
        if (!(cond))              \
            __builtin_trap();     \
    } while (0)

#define MAX_PAIRS 16

typedef struct list_check {
    size_t max_len; /* longest value of the key */
    size_t items;
} list_check_t;

static void on_item(void *ud, const char *item, size_t len)
{
    list_check_t *c = ud;
    (void)item;
    CHECK(len <= c->max_len);
    c->items++;
}

static size_t count_segments(const char *p, size_t n)
{
    size_t segs = 0;
    for (size_t i = 0; i < n; i++)
        segs += p[i] != '&' && (i == 0 || p[i - 1] == '&');
    return segs;
}

/* jl_query_each_list needs a NUL-terminated key, so only keys without
 * embedded NUL are looked up. */
static void check_lookups(const jl_query_t *q, const jl_query_pair_t *pair)
{
    if (strlen(pair->key) != pair->key_len)
        return;
    const jl_query_pair_t *first = jl_query_get(q, pair->key);
    CHECK(first != NULL && first <= pair && first->key_len == pair->key_len);
    CHECK(memcmp(first->key, pair->key, pair->key_len) == 0);
    list_check_t c = {0, 0};
    for (size_t i = 0; i < q->n; i++)
        if (q->pairs[i].key_len == pair->key_len && memcmp(q->pairs[i].key, pair->key, pair->key_len) == 0)
            c.max_len = q->pairs[i].val_len > c.max_len ? q->pairs[i].val_len : c.max_len;
    size_t n = jl_query_each_list(q, pair->key, on_item, &c);
    CHECK(n == c.items);
    CHECK(n == jl_query_each_list(q, pair->key, NULL, NULL));
}

static void check_parse(const char *p, size_t n)
{
    jl_query_t q;
    size_t segs = count_segments(p, n);
    int rc = jl_query_parse(p, n, MAX_PAIRS, &q);
    if (segs > MAX_PAIRS) {
        CHECK(rc == -E2BIG && q.n == 0 && q.pairs == NULL);
        return;
    }
    CHECK(rc == 0 && q.n == segs);
    size_t total = 0;
    for (size_t i = 0; i < q.n; i++) {
        const jl_query_pair_t *pair = &q.pairs[i];
        CHECK(pair->key[pair->key_len] == '\0' && pair->val[pair->val_len] == '\0');
        total += pair->key_len + pair->val_len;
        check_lookups(&q, pair);
    }
    CHECK(total <= n);
    jl_query_free(&q);
    CHECK(q.pairs == NULL && q.n == 0);
}

static void check_decode(const char *p, size_t n)
{
    char *a = malloc(n + 1), *b = malloc(n + 1);
    CHECK(a != NULL && b != NULL);
    memcpy(b, p, n);
    size_t la = jl_percent_decode(a, p, n, 1);
    size_t lb = jl_percent_decode(b, b, n, 1);
    CHECK(la <= n && la == lb && memcmp(a, b, la) == 0);
    free(a);
    free(b);
}

static void check_encode_round_trip(const char *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    char *enc = malloc(3 * n + 1), *dec = malloc(3 * n + 1);
    CHECK(enc != NULL && dec != NULL);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        enc[3 * i] = '%';
        enc[3 * i + 1] = hex[c >> 4];
        enc[3 * i + 2] = hex[c & 15];
    }
    CHECK(jl_percent_decode(dec, enc, 3 * n, 1) == n);
    CHECK(n == 0 || memcmp(dec, p, n) == 0);
    free(enc);
    free(dec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = size ? (const char *)data : "";
    check_parse(p, size);
    check_decode(p, size);
    check_encode_round_trip(p, size);
    return 0;
}
