/* upstream_count.c -- the questions in flight and their JSON (see upstream_count.h). */
#include "resp/upstream_count.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* Past this many names a question is refused by the nodes that read it:
 * one answer must stay a small message. */
#define MAX_NAMES 10000

static const char *const kinds[JL_NS_COUNT] = {"channel", "pattern", "shard"};

/* Names travel as hex: a channel name is any bytes, JSON strings are UTF-8. */
static json_t *hex_of(const char *p, size_t len)
{
    char *h = jl_malloc(2 * len + 1);
    jl_hex_encode(p, len, h);
    json_t *v = json_stringn(h, 2 * len);
    free(h);
    return v;
}

/* The bytes of a hex string into out (len/2 of them); -1 if it is not hex. */
static int unhex(const char *h, size_t len, jl_buf_t *out)
{
    out->len = 0;
    if (len % 2)
        return -1;
    for (size_t i = 0; i < len; i += 2) {
        int hi = jl_hex_digit((unsigned char)h[i]), lo = jl_hex_digit((unsigned char)h[i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        jl_buf_append_char(out, (char)(hi << 4 | lo));
    }
    return 0;
}

typedef struct ask {
    jl_list_t node;
    uint64_t req;
    double deadline;
    long long expected;         /* -1 until the PUBLISH reply */
    size_t nodes;               /* answers so far */
    size_t n;
    jl_relay_counts_fn done;
    void *ud;
    long long count[];
} ask_t;

void jl_upc_init(jl_upc_t *q)
{
    memset(q, 0, sizeof *q);
    jl_list_init(&q->asks);
    q->next_req = 1;
}

static ask_t *find(jl_upc_t *q, uint64_t req)
{
    JL_LIST_FOREACH(&q->asks, it) {
        ask_t *a = JL_CONTAINER_OF(it, ask_t, node);
        if (a->req == req)
            return a;
    }
    return NULL;
}

/* Unlinks a before telling anyone: done may ask again. */
static void finish(ask_t *a, const char *error, size_t error_len)
{
    jl_list_remove(&a->node);
    jl_relay_counts_t c = {
        .error = error, .error_len = error_len, .count = error ? NULL : a->count,
        .n = error ? 0 : a->n, .nodes = a->nodes, .expected = a->expected,
    };
    if (a->done)
        a->done(a->ud, &c);
    free(a);
}

void jl_upc_fail_all(jl_upc_t *q, const char *error)
{
    while (!jl_list_empty(&q->asks))
        finish(JL_CONTAINER_OF(q->asks.next, ask_t, node), error, strlen(error));
}

uint64_t jl_upc_ask(jl_upc_t *q, const char *node, jl_ns_t ns, const char *const *names,
                    const size_t *lens, size_t n, double deadline, jl_relay_counts_fn done,
                    void *ud, jl_buf_t *payload)
{
    ask_t *a = jl_calloc(1, sizeof *a + n * sizeof a->count[0]);
    a->req = q->next_req++;
    a->deadline = deadline;
    a->expected = -1;
    a->n = n;
    a->done = done;
    a->ud = ud;
    jl_list_push(&q->asks, &a->node);
    q->asked++;

    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, hex_of(names[i], lens[i]));
    json_t *o = json_pack("{s:s, s:I, s:s, s:o}", "from", node, "req", (json_int_t)a->req,
                          "kind", kinds[ns], "names", list);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    payload->len = 0;
    if (text)
        jl_buf_append_str(payload, text);
    free(text);
    json_decref(o);
    return a->req;
}

void jl_upc_expect(jl_upc_t *q, uint64_t req, long long nodes)
{
    ask_t *a = find(q, req);
    if (a == NULL)
        return;
    a->expected = nodes;
    if ((long long)a->nodes >= nodes)
        finish(a, NULL, 0);
}

void jl_upc_fail(jl_upc_t *q, uint64_t req, const char *error, size_t error_len)
{
    ask_t *a = find(q, req);
    if (a)
        finish(a, error, error_len);
}

void jl_upc_on_answer(jl_upc_t *q, const char *payload, size_t len)
{
    json_t *o = json_loadb(payload, len, 0, NULL);
    json_t *req = json_object_get(o, "req"), *counts = json_object_get(o, "counts");
    ask_t *a = json_is_integer(req) ? find(q, (uint64_t)json_integer_value(req)) : NULL;
    if (a && json_is_array(counts) && json_array_size(counts) == a->n) {
        for (size_t i = 0; i < a->n; i++) {
            json_t *v = json_array_get(counts, i);
            if (json_is_integer(v) && json_integer_value(v) > 0)
                a->count[i] += json_integer_value(v);
        }
        a->nodes++;
        if (a->expected >= 0 && (long long)a->nodes >= a->expected)
            finish(a, NULL, 0);
    }
    json_decref(o);
}

void jl_upc_tick(jl_upc_t *q, double now)
{
    /* Deadlines grow with the list (one fixed timeout): stop at the first
     * still to come. */
    while (!jl_list_empty(&q->asks)) {
        ask_t *a = JL_CONTAINER_OF(q->asks.next, ask_t, node);
        if (a->deadline > now)
            break;
        q->timeouts++;
        finish(a, NULL, 0);
    }
}

void jl_upc_cancel(jl_upc_t *q, void *ud)
{
    JL_LIST_FOREACH(&q->asks, it) {
        ask_t *a = JL_CONTAINER_OF(it, ask_t, node);
        if (a->ud == ud)
            a->done = NULL;
    }
}

static int kind_of(const char *s, jl_ns_t *ns)
{
    for (int i = 0; i < JL_NS_COUNT; i++) {
        if (s && strcmp(s, kinds[i]) == 0) {
            *ns = (jl_ns_t)i;
            return 1;
        }
    }
    return 0;
}

int jl_upc_answer(const jl_registry_t *reg, const char *node, const char *payload, size_t len,
                  jl_buf_t *chan, jl_buf_t *answer)
{
    json_t *o = json_loadb(payload, len, 0, NULL);
    json_t *from = json_object_get(o, "from"), *req = json_object_get(o, "req");
    json_t *names = json_object_get(o, "names");
    jl_ns_t ns;
    int ok = json_is_string(from) && json_is_integer(req) && json_is_array(names) &&
             json_array_size(names) <= MAX_NAMES &&
             kind_of(json_string_value(json_object_get(o, "kind")), &ns);
    if (!ok) {
        json_decref(o);
        return -1;
    }
    json_t *counts = json_array();
    jl_buf_t bytes = {0};
    for (size_t i = 0; i < json_array_size(names); i++) {
        json_t *name = json_array_get(names, i);
        size_t n = 0;
        if (json_is_string(name) &&
            unhex(json_string_value(name), json_string_length(name), &bytes) == 0)
            n = jl_registry_numsub(reg, ns, bytes.data ? bytes.data : "", bytes.len);
        json_array_append_new(counts, json_integer((json_int_t)n));
    }
    jl_buf_free(&bytes);
    json_t *a = json_pack("{s:O, s:s, s:o}", "req", req, "node", node, "counts", counts);
    char *text = a ? json_dumps(a, JSON_COMPACT) : NULL;
    chan->len = answer->len = 0;
    jl_buf_append_str(chan, JL_UPC_REQUESTS ":");
    jl_buf_append(chan, json_string_value(from), json_string_length(from));
    if (text)
        jl_buf_append_str(answer, text);
    free(text);
    json_decref(a);
    json_decref(o);
    return 0;
}

int jl_upc_is_channel(const char *chan, size_t len)
{
    return len >= JL_UPC_REQUESTS_LEN && memcmp(chan, JL_UPC_REQUESTS, JL_UPC_REQUESTS_LEN) == 0 &&
           (len == JL_UPC_REQUESTS_LEN || chan[JL_UPC_REQUESTS_LEN] == ':');
}
