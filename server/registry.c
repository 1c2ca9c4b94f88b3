/* registry.c -- the channel registry (see registry.h for the contract).
 *
 * Three structures, all intrusive so that nothing on the publish path
 * allocates:
 *
 *   names    per namespace, a hash table of name_t keyed by SipHash of
 *            the name under this registry's random key, plus a list of the
 *            same names in creation order (publish walks the pattern list,
 *            PUBSUB CHANNELS walks any of them);
 *   subs     one hash table of every sub_t keyed by (name, sink), so
 *            SUBSCRIBE can tell "already subscribed" in O(1) however many
 *            subscribers the channel or subscriptions the sink has;
 *   lists    each sub_t is linked into its name's subscriber list and
 *            into sink->subs[ns], both in subscribe order.
 *
 *     name_t "news" --subs--> [sub A] <-> [sub B]
 *                                   |           |
 *     sink A ->subs[CHANNEL] ... <-[ ]         [ ]-> ... sink B->subs[CHANNEL]
 *
 * Invariants: a name_t exists iff it has at least one subscriber
 * (name->nsubs > 0 between calls); sink->nsubs[ns] is the length of
 * sink->subs[ns]; names[ns].count is the number of names in ns. Tables
 * double when fuller than one entry per bucket and halve when below one in
 * eight, rehashing at once: a resize costs O(entries) but happens only
 * after as many inserts or removes. */
#include "server/registry.h"
#include "server/htable.h"

#include "server/glob.h"
#include "server/rand.h"
#include "server/siphash.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- names and subscriptions ---- */

typedef struct name {
    jl_hlink_t link;           /* in reg->names[ns] */
    jl_list_t in_ns;        /* in reg->all[ns], creation order */
    jl_list_t subs;         /* sub_t.in_name, subscribe order */
    size_t nsubs;
    unsigned long long messages;    /* publishes delivered here (the page's rates) */
    jl_ns_t ns;
    size_t len;
    char bytes[];           /* the name, NUL-terminated for convenience */
} name_t;

typedef struct sub {
    jl_hlink_t link;           /* in reg->subs, keyed by (name, sink) */
    jl_list_t in_name;      /* name->subs */
    jl_list_t in_sink;      /* sink->subs[name->ns] */
    name_t *name;
    jl_sink_t *sink;
} sub_t;

struct jl_registry {
    jl_htable_t names[JL_NS_COUNT];
    jl_list_t all[JL_NS_COUNT];
    jl_htable_t subs;
    uint8_t key[16];        /* SipHash key, random per registry */
    jl_registry_watch_fn watch;
    void *watch_ud;
    uint64_t walks;         /* numbers each publish walk (jl_msg_t.seq) */
};

/* Subscriptions are keyed by two pointers the registry itself chose, not
 * by client input, so a plain 64-bit mix is enough here. */
static uint64_t sub_hash(const name_t *name, const jl_sink_t *sink)
{
    uint64_t x = (uint64_t)(uintptr_t)name * UINT64_C(0x9e3779b97f4a7c15)
                 ^ (uint64_t)(uintptr_t)sink;
    x ^= x >> 31;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 29;
    return x;
}

static name_t *name_find(const jl_registry_t *reg, jl_ns_t ns,
                            const char *bytes, size_t len, uint64_t hash)
{
    for (jl_hlink_t *l = jl_htable_chain(&reg->names[ns], hash); l; l = l->next) {
        name_t *name = JL_CONTAINER_OF(l, name_t, link);
        if (l->hash == hash && name->len == len && memcmp(name->bytes, bytes, len) == 0)
            return name;
    }
    return NULL;
}

static name_t *name_lookup(const jl_registry_t *reg, jl_ns_t ns, const char *bytes, size_t len)
{
    return name_find(reg, ns, bytes, len, jl_siphash(bytes, len, reg->key));
}

static name_t *name_create(jl_registry_t *reg, jl_ns_t ns, const char *bytes,
                              size_t len, uint64_t hash)
{
    name_t *name = jl_malloc(sizeof *name + len + 1);

    name->link.hash = hash;
    name->ns = ns;
    name->len = len;
    name->nsubs = 0;
    name->messages = 0;
    memcpy(name->bytes, bytes, len);
    name->bytes[len] = '\0';
    jl_list_init(&name->subs);
    jl_htable_insert(&reg->names[ns], &name->link);
    jl_list_push(&reg->all[ns], &name->in_ns);
    return name;
}

/* Frees 'name' if its last subscriber has gone, telling the watcher first
 * (the name is still readable during the callback). */
static void name_release_if_empty(jl_registry_t *reg, name_t *name)
{
    if (name->nsubs > 0)
        return;
    jl_htable_remove(&reg->names[name->ns], &name->link);
    jl_list_remove(&name->in_ns);
    if (reg->watch)
        reg->watch(reg->watch_ud, name->ns, name->bytes, name->len, 0);
    free(name);
}

static sub_t *sub_find(const jl_registry_t *reg, const name_t *name, const jl_sink_t *sink)
{
    uint64_t hash = sub_hash(name, sink);

    for (jl_hlink_t *l = jl_htable_chain(&reg->subs, hash); l; l = l->next) {
        sub_t *sub = JL_CONTAINER_OF(l, sub_t, link);
        if (sub->name == name && sub->sink == sink)
            return sub;
    }
    return NULL;
}

static void sub_add(jl_registry_t *reg, name_t *name, jl_sink_t *sink)
{
    sub_t *sub = jl_malloc(sizeof *sub);

    sub->name = name;
    sub->sink = sink;
    sub->link.hash = sub_hash(name, sink);
    jl_htable_insert(&reg->subs, &sub->link);
    jl_list_push(&name->subs, &sub->in_name);
    jl_list_push(&sink->subs[name->ns], &sub->in_sink);
    name->nsubs++;
    sink->nsubs[name->ns]++;
}

/* Unlinks and frees 'sub'; its name may now be empty (the caller decides
 * when to release it). */
static void sub_drop(jl_registry_t *reg, sub_t *sub)
{
    jl_htable_remove(&reg->subs, &sub->link);
    jl_list_remove(&sub->in_name);
    jl_list_remove(&sub->in_sink);
    sub->name->nsubs--;
    sub->sink->nsubs[sub->name->ns]--;
    free(sub);
}

/* ---- public API ---- */

jl_registry_t *jl_registry_new(void)
{
    jl_registry_t *reg = jl_calloc(1, sizeof *reg);

    for (int ns = 0; ns < JL_NS_COUNT; ns++)
        jl_list_init(&reg->all[ns]);
    /* A weak key (kernel without getrandom) is better than no server. */
    (void)jl_random_bytes(reg->key, sizeof reg->key);
    return reg;
}

void jl_registry_free(jl_registry_t *reg)
{
    if (reg == NULL)
        return;
    /* Sinks are not touched: their subs lists are left dangling, which the
     * contract in registry.h forbids them to use. */
    for (int ns = 0; ns < JL_NS_COUNT; ns++) {
        JL_LIST_FOREACH_SAFE(&reg->all[ns], it, tmp) {
            name_t *name = JL_CONTAINER_OF(it, name_t, in_ns);
            JL_LIST_FOREACH_SAFE(&name->subs, sit, stmp)
                free(JL_CONTAINER_OF(sit, sub_t, in_name));
            free(name);
        }
        jl_htable_free(&reg->names[ns]);
    }
    jl_htable_free(&reg->subs);
    free(reg);
}

void jl_registry_set_watch(jl_registry_t *reg, jl_registry_watch_fn fn, void *ud)
{
    reg->watch = fn;
    reg->watch_ud = ud;
}

void jl_sink_init(jl_sink_t *sink, const jl_sink_ops_t *ops)
{
    sink->ops = ops;
    for (int ns = 0; ns < JL_NS_COUNT; ns++) {
        jl_list_init(&sink->subs[ns]);
        sink->nsubs[ns] = 0;
    }
}

int jl_registry_subscribe(jl_registry_t *reg, jl_sink_t *sink, jl_ns_t ns,
                          const char *bytes, size_t len)
{
    uint64_t hash = jl_siphash(bytes, len, reg->key);
    name_t *name = name_find(reg, ns, bytes, len, hash);

    if (name != NULL) {
        if (sub_find(reg, name, sink) != NULL)
            return 0;
        sub_add(reg, name, sink);
        return 1;
    }
    name = name_create(reg, ns, bytes, len, hash);
    sub_add(reg, name, sink);
    /* After linking, so a watcher that looks at the registry sees it. */
    if (reg->watch)
        reg->watch(reg->watch_ud, ns, name->bytes, name->len, 1);
    return 1;
}

int jl_registry_unsubscribe(jl_registry_t *reg, jl_sink_t *sink, jl_ns_t ns,
                            const char *bytes, size_t len)
{
    name_t *name = name_lookup(reg, ns, bytes, len);
    if (name == NULL)
        return 0;
    sub_t *sub = sub_find(reg, name, sink);
    if (sub == NULL)
        return 0;
    sub_drop(reg, sub);
    name_release_if_empty(reg, name);
    return 1;
}

void jl_registry_unsubscribe_all(jl_registry_t *reg, jl_sink_t *sink, jl_ns_t ns,
                                 jl_registry_name_fn cb, void *ud)
{
    /* Oldest first: sink->subs[ns] is in subscribe order. The name is
     * released only after cb, so cb can still read it. */
    while (!jl_list_empty(&sink->subs[ns])) {
        sub_t *sub = JL_CONTAINER_OF(sink->subs[ns].next, sub_t, in_sink);
        name_t *name = sub->name;

        sub_drop(reg, sub);
        if (cb)
            cb(ud, name->bytes, name->len);
        name_release_if_empty(reg, name);
    }
}

void jl_sink_each_name(const jl_sink_t *sink, jl_ns_t ns, jl_registry_name_fn cb, void *ud)
{
    JL_LIST_FOREACH(&sink->subs[ns], it) {
        const name_t *name = JL_CONTAINER_OF(it, sub_t, in_sink)->name;
        cb(ud, name->bytes, name->len);
    }
}

/* Every subscriber of 'name' (NULL: none) gets msg; returns the receivers. */
static size_t deliver_to(name_t *name, jl_msg_t *msg)
{
    size_t n = 0;

    if (name == NULL)
        return 0;
    name->messages++;
    JL_LIST_FOREACH(&name->subs, it) {
        jl_sink_t *sink = JL_CONTAINER_OF(it, sub_t, in_name)->sink;
        n += (size_t)sink->ops->deliver(sink, msg);
    }
    return n;
}

size_t jl_registry_publish(jl_registry_t *reg, jl_msg_t *msg)
{
    jl_ns_t ns = msg->shard ? JL_NS_SHARD : JL_NS_CHANNEL;
    size_t n;

    msg->seq = ++reg->walks;
    msg->pattern = NULL;
    msg->pattern_len = 0;
    n = deliver_to(name_lookup(reg, ns, msg->chan, msg->chan_len), msg);
    if (msg->shard)
        return n;               /* shard pub/sub ignores patterns */

    JL_LIST_FOREACH(&reg->all[JL_NS_PATTERN], it) {
        name_t *pat = JL_CONTAINER_OF(it, name_t, in_ns);
        if (!jl_glob_match(pat->bytes, pat->len, msg->chan, msg->chan_len))
            continue;
        msg->pattern = pat->bytes;
        msg->pattern_len = pat->len;
        n += deliver_to(pat, msg);
        jl_msg_release_pattern(msg);   /* pmessage frames name the pattern */
    }
    return n;
}

size_t jl_registry_publish_exact(jl_registry_t *reg, jl_msg_t *msg)
{
    jl_ns_t ns = msg->shard ? JL_NS_SHARD : JL_NS_CHANNEL;

    msg->seq = ++reg->walks;
    msg->pattern = NULL;
    msg->pattern_len = 0;
    return deliver_to(name_lookup(reg, ns, msg->chan, msg->chan_len), msg);
}

size_t jl_registry_publish_pattern(jl_registry_t *reg, const char *pattern, size_t len,
                                   jl_msg_t *msg)
{
    name_t *pat = name_lookup(reg, JL_NS_PATTERN, pattern, len);
    size_t n;

    if (pat == NULL)
        return 0;       /* the last subscriber left while the message travelled */
    msg->seq = ++reg->walks;
    msg->pattern = pat->bytes;
    msg->pattern_len = pat->len;
    n = deliver_to(pat, msg);
    jl_msg_release_pattern(msg);
    return n;
}

size_t jl_registry_numsub(const jl_registry_t *reg, jl_ns_t ns, const char *bytes, size_t len)
{
    const name_t *name = name_lookup(reg, ns, bytes, len);
    return name ? name->nsubs : 0;
}

size_t jl_registry_count(const jl_registry_t *reg, jl_ns_t ns)
{
    return reg->names[ns].count;
}

void jl_registry_each_info(const jl_registry_t *reg, jl_ns_t ns, jl_registry_info_fn cb, void *ud)
{
    JL_LIST_FOREACH(&reg->all[ns], it) {
        const name_t *name = JL_CONTAINER_OF(it, name_t, in_ns);
        jl_registry_info_t info = {name->bytes, name->len, name->nsubs, name->messages};
        cb(ud, &info);
    }
}

void jl_registry_foreach(const jl_registry_t *reg, jl_ns_t ns, const char *pattern,
                         size_t pattern_len, jl_registry_name_fn cb, void *ud)
{
    JL_LIST_FOREACH(&reg->all[ns], it) {
        const name_t *name = JL_CONTAINER_OF(it, name_t, in_ns);
        if (pattern == NULL || jl_glob_match(pattern, pattern_len, name->bytes, name->len))
            cb(ud, name->bytes, name->len);
    }
}
