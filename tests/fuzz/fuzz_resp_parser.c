/* fuzz_resp_parser.c -- libFuzzer target for resp/resp_parser.c.
 *
 * The parsers face every byte a client or the upstream sends, so besides
 * "never crash, never read past len, never leak" (ASan/UBSan) this target
 * checks two properties that unit tests can only sample:
 *  - resumability: the input fed in chunks (sizes drawn from the input) must
 *    give the same commands and the same error as the input fed at once.
 *    The one exception is Redis's own: a "too big ..." limit is only checked
 *    while a line is unterminated, so it depends on chunking; comparison
 *    stops at the first such error on either side;
 *  - the reply parser answers JL_AGAIN, never an error, for every strict
 *    prefix of a value it accepts, and its strings point into the buffer.
 *
 * Small limits (picked by the first byte) make the limit paths reachable. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resp/resp_parser.h"
#include "server/util.h"

#define MAX_EVENTS 64

/* One outcome of jl_resp_parse_request: a command or the final state. */
typedef struct {
    int rc;              /* JL_OK, JL_AGAIN (end of input) or < 0 */
    size_t argc;
    uint64_t hash;       /* FNV-1a over the arguments and their lengths */
    char err[64];
} event_t;

typedef struct {
    event_t ev[MAX_EVENTS];
    size_t n;
} trace_t;

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 1099511628211ull;
    return h;
}

static void record(trace_t *t, int rc, const jl_resp_cmd_t *cmd, const jl_resp_parser_t *p)
{
    if (t->n == MAX_EVENTS)
        return;
    event_t *e = &t->ev[t->n++];
    memset(e, 0, sizeof *e);
    e->rc = rc;
    e->hash = 1469598103934665603ull;
    if (rc == JL_OK) {
        e->argc = cmd->argc;
        for (size_t i = 0; i < cmd->argc; i++) {
            e->hash = fnv(e->hash, &cmd->argvlen[i], sizeof cmd->argvlen[i]);
            e->hash = fnv(e->hash, cmd->argv[i], cmd->argvlen[i]);
        }
    } else if (rc < 0) {
        snprintf(e->err, sizeof e->err, "%s", p->err);
    }
}

/* Runs the request parser over data, delivering 'avail' bytes more at each
 * step (chunk sizes from 'sizes', cycling; 0 means everything at once).
 * Each call sees a fresh heap copy of exactly the bytes available, so a
 * read past len or a kept pointer is caught by ASan. */
static void run_requests(const uint8_t *data, size_t size, const jl_resp_limits_t *lim,
                         const uint8_t *sizes, size_t nsizes, trace_t *t)
{
    jl_resp_parser_t p;
    jl_resp_parser_init(&p, lim);
    p.unauthenticated = lim->max_args == 4; /* some runs take the pre-AUTH paths */
    size_t start = 0, avail = 0, k = 0;
    t->n = 0;
    for (;;) {
        size_t step = nsizes ? (size_t)sizes[k++ % nsizes] % 17 + 1 : size;
        avail = avail + step < size - start ? avail + step : size - start;
        char *copy = malloc(avail ? avail : 1);
        memcpy(copy, data + start, avail);
        jl_resp_cmd_t cmd;
        size_t used = 0;
        int rc = jl_resp_parse_request(&p, copy, avail, &cmd, &used);
        if (rc == JL_OK) {
            if (used == 0 || used > avail)
                abort();
            record(t, rc, &cmd, &p);
            start += used;
            avail -= used;
        }
        free(copy);
        if (rc < 0 || t->n == MAX_EVENTS) {
            if (rc < 0)
                record(t, rc, NULL, &p);
            break;
        }
        if (rc == JL_AGAIN && start + avail == size) {
            record(t, rc, NULL, &p);
            break;
        }
    }
    jl_resp_parser_free(&p);
}

static int is_too_big(const event_t *e) { return e->rc < 0 && strstr(e->err, "too big") != NULL; }

static void compare(const trace_t *a, const trace_t *b)
{
    for (size_t i = 0; i < a->n && i < b->n; i++) {
        const event_t *x = &a->ev[i], *y = &b->ev[i];
        if (is_too_big(x) || is_too_big(y))
            return;
        if (x->rc != y->rc || x->argc != y->argc || x->hash != y->hash ||
            strcmp(x->err, y->err) != 0) {
            fprintf(stderr, "event %zu differs: rc %d/%d argc %zu/%zu err '%s'/'%s'\n", i,
                    x->rc, y->rc, x->argc, y->argc, x->err, y->err);
            abort();
        }
    }
    if (a->n != b->n)
        abort();
}

static void check_value(const jl_resp_value_t *v, const char *buf, size_t used)
{
    if (v->str && (v->str < buf || v->str + v->len > buf + used))
        abort();
    for (size_t i = 0; i < v->nelem; i++)
        check_value(&v->elems[i], buf, used);
}

static void run_reply(const uint8_t *data, size_t size, const jl_resp_limits_t *lim)
{
    char *copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    jl_resp_value_t v;
    size_t used = 0;
    const char *err = NULL;
    int rc = jl_resp_parse_reply(copy, size, lim, &v, &used, &err);
    if (rc < 0 && err == NULL)
        abort();
    if (rc == JL_OK) {
        if (used == 0 || used > size)
            abort();
        check_value(&v, copy, used);
        jl_resp_value_free(&v);
        /* Strict prefixes are incomplete, never wrong. */
        size_t cuts[] = {used - 1, used / 2, used / 3, 1};
        for (size_t i = 0; i < JL_ARRAY_LEN(cuts); i++) {
            if (cuts[i] >= used)
                continue;
            jl_resp_value_t w;
            if (jl_resp_parse_reply(copy, cuts[i], lim, &w, &used, &err) != JL_AGAIN)
                abort();
        }
    }
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    /* Byte 0 picks the limits: tiny ones reach every limit path, zeros
     * (Redis's defaults) the normal ones. */
    uint8_t sel = data[0];
    jl_resp_limits_t lim = {0, 0, 0};
    if (sel & 1) {
        lim.max_bulk = (size_t)(sel >> 1 & 7) * 4 + 1;
        lim.max_args = (size_t)(sel >> 4 & 3) * 3 + 1;
        lim.max_inline = (size_t)(sel >> 6) * 16 + 8;
    }
    data++;
    size--;

    trace_t whole, split, bytewise;
    run_requests(data, size, &lim, NULL, 0, &whole);
    run_requests(data, size, &lim, data, size, &split);
    compare(&whole, &split);
    static const uint8_t one[] = {0};
    if (size <= 512) {
        run_requests(data, size, &lim, one, 1, &bytewise);
        compare(&whole, &bytewise);
    }

    run_reply(data, size, &lim);
    return 0;
}
