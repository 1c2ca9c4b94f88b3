/* history.c -- the node's recent publishes (see history.h for the contract).
 *
 * Channel records live in a SipHash table (names come from clients) and
 * hold their entries oldest first; every entry is also on one list of all
 * entries, oldest first, so the memory cap and the age limit evict across
 * channels from one end. A channel record outlives its entries: it keeps
 * the newest id it evicted, which is what tells a resuming stream that it
 * lost something. Records with no entries sit on 'empty', oldest first,
 * and are the last thing the memory cap takes; when one goes, its evicted
 * id raises 'forgotten', the floor of every channel the history no longer
 * knows (a conservative answer: such a stream is told it may have lost
 * events, never told nothing when it did).
 *
 * Invariants: last is the newest id issued; every entry's id is <= last;
 * entries of a channel and of 'all' are in increasing id order; stats.bytes
 * is the sum of entry_cost() and chan_cost() of what exists; an entry has
 * a raw copy exactly when the decoder could not give its payload back from
 * its frame when it was published. */
#include "server/history.h"
#include "server/glob.h"
#include "server/htable.h"
#include "server/rand.h"
#include "server/siphash.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct jl_hist_chan {
    jl_hlink_t link;
    jl_list_t entries;
    jl_list_t in_empty;         /* h->empty while entries is empty */
    size_t n, bytes;            /* entries and their frame bytes */
    unsigned long long evicted; /* entries evicted, ever */
    jl_hist_id_t first_evicted, last_evicted;
    jl_hist_id_t base;          /* h->forgotten when this record was made: it knows
                                 * nothing of what an earlier record of its name lost */
    size_t len;
    char name[];
};

struct jl_hist {
    jl_hist_limits_t lim;
    jl_htable_t chans;
    jl_list_t all;
    jl_list_t empty;
    jl_hist_id_t last;          /* the newest id issued */
    jl_hist_id_t floor;         /* nothing before this is vouched for */
    jl_hist_id_t forgotten;     /* the newest id of any forgotten channel record */
    uint8_t key[16];
    jl_hist_encode_fn encode;
    void *encode_ud;
    jl_hist_decode_fn decode;
    void *decode_ud;
    jl_hist_append_fn on_append;
    void *on_append_ud;
    jl_buf_t scratch;           /* the decoder's output, checked at publish */
    jl_hist_stats_t stats;
};

/* ---- ids ---- */

static int parse_u64(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0 || n > 20)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int jl_hist_id_parse(const char *s, size_t n, jl_hist_id_t *out)
{
    const char *dash = n ? memchr(s, '-', n) : NULL;
    jl_hist_id_t id;
    if (dash == NULL)
        return -1;
    size_t left = (size_t)(dash - s);
    if (parse_u64(s, left, &id.ms) < 0 || parse_u64(dash + 1, n - left - 1, &id.seq) < 0)
        return -1;
    *out = id;
    return 0;
}

size_t jl_hist_id_format(jl_hist_id_t id, char *buf)
{
    int n = snprintf(buf, JL_HIST_ID_MAX, "%" PRIu64 "-%" PRIu64, id.ms, id.seq);
    return (size_t)n;
}

int jl_hist_id_cmp(jl_hist_id_t a, jl_hist_id_t b)
{
    if (a.ms != b.ms)
        return a.ms < b.ms ? -1 : 1;
    if (a.seq != b.seq)
        return a.seq < b.seq ? -1 : 1;
    return 0;
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The next id: the clock's millisecond, or the last one's if the clock
 * stood still or went back, so ids only grow. */
static jl_hist_id_t next_id(jl_hist_t *h)
{
    uint64_t ms = wall_ms();
    if (ms > h->last.ms)
        h->last = (jl_hist_id_t){ms, 0};
    else
        h->last.seq++;
    return h->last;
}

/* ---- the history ---- */

jl_hist_t *jl_hist_new(const jl_hist_limits_t *lim)
{
    jl_hist_t *h = jl_calloc(1, sizeof *h);
    h->lim = *lim;
    jl_list_init(&h->all);
    jl_list_init(&h->empty);
    (void)jl_random_bytes(h->key, sizeof h->key);
    /* Ids issued from now on are above the floor: the first is (ms, 0)
     * only if no earlier process issued that millisecond... which it may
     * have, so the floor is the first id this process could issue and ids
     * start one past it. */
    h->floor = (jl_hist_id_t){wall_ms(), 0};
    h->last = h->floor;
    return h;
}

/* A raw copy is the history's alone, header and all. */
static size_t raw_cost(const jl_frame_t *raw) { return raw ? sizeof *raw + raw->cap : 0; }

static size_t entry_cost(const jl_hist_entry_t *e)
{
    return sizeof *e + e->frame->cap + raw_cost(e->raw);
}
static size_t chan_cost(const jl_hist_chan_t *c) { return sizeof *c + c->len + 1; }

static jl_hist_chan_t *chan_find(const jl_hist_t *h, const char *name, size_t len)
{
    uint64_t hash = jl_siphash(name, len, h->key);
    for (jl_hlink_t *l = jl_htable_chain(&h->chans, hash); l; l = l->next) {
        jl_hist_chan_t *c = JL_CONTAINER_OF(l, jl_hist_chan_t, link);
        if (l->hash == hash && c->len == len && memcmp(c->name, name, len) == 0)
            return c;
    }
    return NULL;
}

static jl_hist_chan_t *chan_get(jl_hist_t *h, const char *name, size_t len)
{
    jl_hist_chan_t *c = chan_find(h, name, len);
    if (c != NULL)
        return c;
    c = jl_calloc(1, sizeof *c + len + 1);
    memcpy(c->name, name, len);
    c->len = len;
    c->base = h->forgotten;
    jl_list_init(&c->entries);
    jl_list_push(&h->empty, &c->in_empty);
    c->link.hash = jl_siphash(name, len, h->key);
    jl_htable_insert(&h->chans, &c->link);
    h->stats.channels++;
    h->stats.bytes += chan_cost(c);
    return c;
}

static void chan_forget(jl_hist_t *h, jl_hist_chan_t *c)
{
    if (c->evicted && jl_hist_id_cmp(c->last_evicted, h->forgotten) > 0)
        h->forgotten = c->last_evicted;
    jl_list_remove(&c->in_empty);
    jl_htable_remove(&h->chans, &c->link);
    h->stats.channels--;
    h->stats.bytes -= chan_cost(c);
    free(c);
}

/* Counts the id as evicted from c (the entry itself may never have been kept). */
static void note_evicted(jl_hist_t *h, jl_hist_chan_t *c, jl_hist_id_t id)
{
    if (c->evicted == 0)
        c->first_evicted = id;
    c->last_evicted = id;
    c->evicted++;
    h->stats.evicted++;
}

static void entry_evict(jl_hist_t *h, jl_hist_entry_t *e)
{
    jl_hist_chan_t *c = e->chan;
    jl_list_remove(&e->in_chan);
    jl_list_remove(&e->in_all);
    c->n--;
    c->bytes -= e->frame->len;
    h->stats.entries--;
    h->stats.bytes -= entry_cost(e);
    note_evicted(h, c, e->id);
    if (c->n == 0)
        jl_list_push(&h->empty, &c->in_empty);
    jl_frame_unref(e->frame);
    jl_frame_unref(e->raw);
    free(e);
}

static jl_hist_entry_t *oldest_of(jl_list_t *l, size_t off)
{
    return jl_list_empty(l) ? NULL : (jl_hist_entry_t *)(void *)((char *)l->next - off);
}

#define OLDEST_IN_CHAN(c) oldest_of(&(c)->entries, offsetof(jl_hist_entry_t, in_chan))
#define OLDEST_IN_ALL(h) oldest_of(&(h)->all, offsetof(jl_hist_entry_t, in_all))

/* The global cap. Empty records go first, oldest first: they only hold
 * what a channel lost, and a flood of one-off channels would otherwise
 * fill the cap with them and leave no room for any event. Then the oldest
 * entries of any channel. The record being written to stays. */
static int forget_one(jl_hist_t *h, const jl_hist_chan_t *keep)
{
    jl_list_t *it = h->empty.next;
    if (it != &h->empty && JL_CONTAINER_OF(it, jl_hist_chan_t, in_empty) == keep)
        it = it->next;
    if (it == &h->empty)
        return 0;
    chan_forget(h, JL_CONTAINER_OF(it, jl_hist_chan_t, in_empty));
    return 1;
}

static void enforce_memory(jl_hist_t *h, const jl_hist_chan_t *keep)
{
    while (h->stats.bytes > h->lim.memory) {
        if (forget_one(h, keep))
            continue;
        jl_hist_entry_t *e = OLDEST_IN_ALL(h);
        if (e != NULL) {
            entry_evict(h, e);
            continue;
        }
        /* A cap below one record: the kept record goes too, if it is
         * empty (the callers touch it no more). */
        if (keep != NULL && keep->n == 0)
            chan_forget(h, (jl_hist_chan_t *)keep);
        return;
    }
}

static void append(jl_hist_t *h, jl_hist_chan_t *c, jl_hist_entry_t *e)
{
    if (c->n == 0)
        jl_list_remove(&c->in_empty);
    jl_list_push(&c->entries, &e->in_chan);
    jl_list_push(&h->all, &e->in_all);
    e->chan = c;
    c->n++;
    c->bytes += e->frame->len;
    h->stats.entries++;
    h->stats.bytes += entry_cost(e);
    h->stats.appended++;
    while (c->n > h->lim.per_channel || (c->n > 1 && c->bytes > h->lim.channel_bytes))
        entry_evict(h, OLDEST_IN_CHAN(c));
    enforce_memory(h, c);
}

static void keep(jl_hist_t *h, jl_msg_t *msg);

/* A copy of msg's payload when the decoder cannot give it back from f
 * (e.g. SSE turns CR into LF), else NULL. */
static jl_frame_t *raw_copy(jl_hist_t *h, const jl_msg_t *msg, const jl_frame_t *f)
{
    if (h->decode != NULL) {
        h->scratch.len = 0;
        h->decode(h->decode_ud, f, &h->scratch);
        int same = h->scratch.len == msg->payload_len &&
                   (msg->payload_len == 0 ||
                    memcmp(h->scratch.data, msg->payload, msg->payload_len) == 0);
        if (h->scratch.cap > 65536)
            jl_buf_free(&h->scratch);   /* one huge payload must not pin it */
        if (same)
            return NULL;
    }
    return jl_frame_from(msg->payload_len ? msg->payload : "", msg->payload_len);
}

void jl_hist_publish(jl_hist_t *h, jl_msg_t *msg)
{
    msg->id = next_id(h);
    msg->has_id = 1;
    keep(h, msg);
}

int jl_hist_keep(jl_hist_t *h, jl_msg_t *msg)
{
    if (!msg->has_id || jl_hist_id_cmp(msg->id, h->last) <= 0)
        return -1;
    h->last = msg->id;
    keep(h, msg);
    return 0;
}

/* Keeps msg (its id is set and is the newest) for msg->chan. */
static void keep(jl_hist_t *h, jl_msg_t *msg)
{
    char id[JL_HIST_ID_MAX];
    if (h->encode == NULL)
        return;
    jl_hist_chan_t *c = chan_get(h, msg->chan, msg->chan_len);
    if (h->lim.per_channel == 0) {
        /* Nothing is kept, so no frame is built here: subscribers build it
         * (with the id) only if there are any. */
        note_evicted(h, c, msg->id);
        enforce_memory(h, c);
        return;
    }
    size_t id_len = jl_hist_id_format(msg->id, id);
    uint16_t app_off = 0, app_len = 0;
    jl_frame_t *f = h->encode(h->encode_ud, msg, id, id_len, &app_off, &app_len);
    jl_frame_t *raw = raw_copy(h, msg, f);
    /* Too big to keep: counted as evicted at once, so a resume says so. */
    if (f->len > h->lim.channel_bytes ||
        sizeof(jl_hist_entry_t) + f->cap + raw_cost(raw) > h->lim.memory) {
        jl_frame_unref(raw);
        note_evicted(h, c, msg->id);
        enforce_memory(h, c);
        return;
    }
    jl_hist_entry_t *e = jl_calloc(1, sizeof *e);
    e->id = msg->id;
    e->at = (double)msg->id.ms / 1000.0;    /* the clock read that made the id */
    e->frame = jl_frame_ref(f);
    e->raw = raw;
    e->app_off = app_off;
    e->app_len = app_len;
    append(h, c, e);
    if (h->on_append)
        h->on_append(h->on_append_ud, msg->chan, msg->chan_len);
}

void jl_hist_expire(jl_hist_t *h)
{
    if (h->lim.max_age <= 0)
        return;
    double cutoff = wall_now() - h->lim.max_age;
    jl_hist_entry_t *e;
    while ((e = OLDEST_IN_ALL(h)) != NULL && e->at < cutoff)
        entry_evict(h, e);
}

void jl_hist_free(jl_hist_t *h)
{
    if (h == NULL)
        return;
    jl_hist_entry_t *e;
    while ((e = OLDEST_IN_ALL(h)) != NULL)
        entry_evict(h, e);
    while (!jl_list_empty(&h->empty))
        chan_forget(h, JL_CONTAINER_OF(h->empty.next, jl_hist_chan_t, in_empty));
    jl_htable_free(&h->chans);
    jl_buf_free(&h->scratch);
    free(h);
}

void jl_hist_set_encoder(jl_hist_t *h, jl_hist_encode_fn fn, void *ud)
{
    h->encode = fn;
    h->encode_ud = ud;
}

const jl_hist_stats_t *jl_hist_stats(const jl_hist_t *h) { return &h->stats; }
jl_hist_id_t jl_hist_last(const jl_hist_t *h) { return h->last; }
jl_hist_stats_t *jl_hist_counters(jl_hist_t *h) { return &h->stats; }

/* ---- resuming ---- */

const char *jl_gap_reason(jl_gap_t g)
{
    switch (g) {
    case JL_GAP_EVICTED: return "evicted";
    case JL_GAP_RESTART: return "restart";
    case JL_GAP_UNKNOWN: return "unknown";
    case JL_GAP_UPSTREAM: return "upstream";
    case JL_GAP_OUTPUT_LIMIT: return "output limit";
    case JL_GAP_NONE: break;
    }
    return "none";
}

struct jl_hist_replay {
    jl_hist_chan_t **chan;
    size_t n, cap;
};

jl_hist_replay_t *jl_hist_replay_new(void) { return jl_calloc(1, sizeof(jl_hist_replay_t)); }

void jl_hist_replay_free(jl_hist_replay_t *r)
{
    if (r == NULL)
        return;
    free(r->chan);
    free(r);
}

static void replay_add(jl_hist_replay_t *r, jl_hist_chan_t *c)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->chan[i] == c)
            return;     /* a channel and a pattern that matches it: once */
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 4;
        r->chan = jl_realloc(r->chan, r->cap * sizeof *r->chan);
    }
    r->chan[r->n++] = c;
}

void jl_hist_replay_channel(const jl_hist_t *h, jl_hist_replay_t *r, const char *chan, size_t len)
{
    jl_hist_chan_t *c = chan_find(h, chan, len);
    if (c != NULL)
        replay_add(r, c);
}

/* Walks every record: a pattern resume costs O(channels kept). */
void jl_hist_replay_pattern(const jl_hist_t *h, jl_hist_replay_t *r, const char *pat, size_t len)
{
    for (size_t i = 0; i < h->chans.size; i++)
        for (jl_hlink_t *l = h->chans.slot[i]; l; l = l->next) {
            jl_hist_chan_t *c = JL_CONTAINER_OF(l, jl_hist_chan_t, link);
            if (jl_glob_match(pat, len, c->name, c->len))
                replay_add(r, c);
        }
}

void jl_hist_replay_drop_prefix(jl_hist_replay_t *r, const char *prefix, size_t len)
{
    size_t kept = 0;
    for (size_t i = 0; i < r->n; i++) {
        const jl_hist_chan_t *c = r->chan[i];
        if (c->len >= len && memcmp(c->name, prefix, len) == 0)
            continue;
        r->chan[kept++] = r->chan[i];
    }
    r->n = kept;
}

int jl_hist_resolve(const jl_hist_t *h, const jl_hist_replay_t *r, const char *text, size_t n,
                    jl_hist_id_t *out)
{
    jl_hist_id_t id;
    if (n == 0)
        return -1;      /* no position (and it would match every entry without an app id) */
    if (jl_hist_id_parse(text, n, &id) == 0)
        return jl_hist_id_cmp(id, h->last) <= 0 ? (*out = id, 0) : -1;
    /* A payload-chosen id: good only if exactly one retained entry has it. */
    const jl_hist_entry_t *found = NULL;
    for (size_t i = 0; i < r->n; i++)
        JL_LIST_FOREACH(&r->chan[i]->entries, it) {
            const jl_hist_entry_t *e = JL_CONTAINER_OF(it, jl_hist_entry_t, in_chan);
            if (e->app_len != n || memcmp(e->frame->data + e->app_off, text, n) != 0)
                continue;
            if (found != NULL)
                return -1;
            found = e;
        }
    if (found == NULL)
        return -1;
    *out = found->id;
    return 0;
}

static jl_gap_t chan_gap(const jl_hist_t *h, const jl_hist_chan_t *c, jl_hist_id_t from,
                         long long *lost)
{
    *lost = -1;
    if (jl_hist_id_cmp(from, h->floor) < 0)
        return JL_GAP_RESTART;
    if (c == NULL)
        return jl_hist_id_cmp(from, h->forgotten) < 0 ? JL_GAP_EVICTED : JL_GAP_NONE;
    if (jl_hist_id_cmp(from, c->base) < 0)
        return JL_GAP_EVICTED;
    if (c->evicted == 0 || jl_hist_id_cmp(from, c->last_evicted) >= 0)
        return JL_GAP_NONE;
    /* Everything evicted came after 'from' (or 'from' is the first of
     * it): all of it was missed (but that one). */
    int cmp = jl_hist_id_cmp(from, c->first_evicted);
    if (cmp <= 0)
        *lost = (long long)c->evicted - (cmp == 0);
    return JL_GAP_EVICTED;
}

jl_gap_t jl_hist_gap(const jl_hist_t *h, const char *chan, size_t len, jl_hist_id_t from,
                     long long *lost)
{
    return chan_gap(h, chan_find(h, chan, len), from, lost);
}

jl_gap_t jl_hist_gap_pattern(const jl_hist_t *h, const char *pat, size_t len, jl_hist_id_t from,
                             long long *lost)
{
    jl_gap_t worst = chan_gap(h, NULL, from, lost);
    if (worst != JL_GAP_NONE)
        return worst;
    long long total = 0;
    for (size_t i = 0; i < h->chans.size; i++)
        for (jl_hlink_t *l = h->chans.slot[i]; l; l = l->next) {
            jl_hist_chan_t *c = JL_CONTAINER_OF(l, jl_hist_chan_t, link);
            long long n;
            if (!jl_glob_match(pat, len, c->name, c->len) || chan_gap(h, c, from, &n) == JL_GAP_NONE)
                continue;
            worst = JL_GAP_EVICTED;
            total = (total < 0 || n < 0) ? -1 : total + n;
        }
    if (worst != JL_GAP_NONE)
        *lost = total;
    return worst;
}

/* The first entry of c with an id above 'from' (NULL: none), found from
 * the newest end: a resume usually wants the last few. */
static jl_list_t *first_after(jl_hist_chan_t *c, jl_hist_id_t from)
{
    jl_list_t *it = c->entries.prev;
    while (it != &c->entries &&
           jl_hist_id_cmp(JL_CONTAINER_OF(it, jl_hist_entry_t, in_chan)->id, from) > 0)
        it = it->prev;
    return it->next == &c->entries ? NULL : it->next;
}

size_t jl_hist_replay_each(jl_hist_t *h, const jl_hist_replay_t *r, jl_hist_id_t from,
                           jl_hist_entry_fn fn, void *ud)
{
    jl_list_t **head = jl_calloc(r->n ? r->n : 1, sizeof *head);
    size_t count = 0;
    for (size_t i = 0; i < r->n; i++)
        head[i] = first_after(r->chan[i], from);
    for (;;) {
        size_t best = r->n;
        for (size_t i = 0; i < r->n; i++) {
            if (head[i] == NULL)
                continue;
            if (best == r->n ||
                jl_hist_id_cmp(JL_CONTAINER_OF(head[i], jl_hist_entry_t, in_chan)->id,
                               JL_CONTAINER_OF(head[best], jl_hist_entry_t, in_chan)->id) < 0)
                best = i;
        }
        if (best == r->n)
            break;
        fn(ud, JL_CONTAINER_OF(head[best], jl_hist_entry_t, in_chan));
        count++;
        head[best] = head[best]->next == &r->chan[best]->entries ? NULL : head[best]->next;
    }
    free(head);
    h->stats.replayed += count;
    return count;
}

/* ---- reading: a channel's entries as a stream ----
 *
 * What the RESP side's XRANGE, XREVRANGE, XLEN and XREAD read. A reader
 * gets entries, never protocol: the payload comes back through the
 * decoder (or the raw copy), the id is the entry's. */

void jl_hist_set_decoder(jl_hist_t *h, jl_hist_decode_fn fn, void *ud)
{
    h->decode = fn;
    h->decode_ud = ud;
}

void jl_hist_set_on_append(jl_hist_t *h, jl_hist_append_fn fn, void *ud)
{
    h->on_append = fn;
    h->on_append_ud = ud;
}

size_t jl_hist_len(const jl_hist_t *h, const char *chan, size_t len)
{
    const jl_hist_chan_t *c = chan_find(h, chan, len);
    return c ? c->n : 0;
}

static jl_hist_id_t id_of(const jl_list_t *it)
{
    return JL_CONTAINER_OF(it, jl_hist_entry_t, in_chan)->id;
}

/* The oldest entry of c with an id >= lo, or the list head: found from
 * the newest end, since readers usually want the last few (XREAD). */
static jl_list_t *first_from(jl_hist_chan_t *c, jl_hist_id_t lo)
{
    jl_list_t *it = c->entries.prev;
    while (it != &c->entries && jl_hist_id_cmp(id_of(it), lo) >= 0)
        it = it->prev;
    return it->next;
}

size_t jl_hist_range(const jl_hist_t *h, const char *chan, size_t len, jl_hist_id_t lo,
                     jl_hist_id_t hi, int rev, size_t count, jl_hist_entry_fn fn, void *ud)
{
    jl_hist_chan_t *c = chan_find(h, chan, len);
    size_t n = 0;
    if (c == NULL || jl_hist_id_cmp(lo, hi) > 0)
        return 0;
    jl_list_t *it = rev ? c->entries.prev : first_from(c, lo);
    while (it != &c->entries && (count == 0 || n < count)) {
        jl_hist_id_t id = id_of(it);
        if (rev ? jl_hist_id_cmp(id, lo) < 0 : jl_hist_id_cmp(id, hi) > 0)
            break;
        if (!rev || jl_hist_id_cmp(id, hi) <= 0) {
            fn(ud, JL_CONTAINER_OF(it, jl_hist_entry_t, in_chan));
            n++;
        }
        it = rev ? it->prev : it->next;
    }
    return n;
}

void jl_hist_payload(const jl_hist_t *h, const jl_hist_entry_t *e, jl_buf_t *out)
{
    if (e->raw != NULL)
        jl_buf_append(out, e->raw->data, e->raw->len);
    else if (h->decode != NULL)
        h->decode(h->decode_ud, e->frame, out);
}

/* ---- the history file (--history-file) ----
 *
 * Written once, at the end of a clean shutdown, read once at start and
 * then removed: a file is only ever the record of the process that just
 * stopped, so a later crash cannot make an old file look current. Host
 * byte order (the file does not travel between machines). Layout:
 *   "JLHIST1\n", floor, last, forgotten (ids: two u64 each), channels (u64)
 *   per channel: name length (u32), name, evicted (u64), first and last
 *   evicted ids, entries (u64); per entry: id, at (double), app_off,
 *   app_len (u16 each), frame length (u32), frame bytes, then the raw
 *   payload's length (u32, NO_RAW: none) and bytes. "JLHIST1\n" files (the
 *   version before raw payloads) are read as entries without one. */

static const char MAGIC[8] = {'J', 'L', 'H', 'I', 'S', 'T', '2', '\n'};
static const char MAGIC_V1[8] = {'J', 'L', 'H', 'I', 'S', 'T', '1', '\n'};
#define NO_RAW UINT32_MAX

static int put(FILE *f, const void *p, size_t n) { return fwrite(p, 1, n, f) == n ? 0 : -1; }
static int get(FILE *f, void *p, size_t n) { return fread(p, 1, n, f) == n ? 0 : -1; }

static int put_id(FILE *f, jl_hist_id_t id)
{
    return put(f, &id.ms, 8) | put(f, &id.seq, 8);
}

static int get_id(FILE *f, jl_hist_id_t *id)
{
    return get(f, &id->ms, 8) | get(f, &id->seq, 8);
}

static int save_chan(FILE *f, const jl_hist_chan_t *c)
{
    uint32_t len = (uint32_t)c->len;
    uint64_t evicted = c->evicted, n = c->n;
    int bad = put(f, &len, 4) | put(f, c->name, c->len) | put(f, &evicted, 8) |
              put_id(f, c->first_evicted) | put_id(f, c->last_evicted) | put(f, &n, 8);
    JL_LIST_FOREACH(&c->entries, it) {
        const jl_hist_entry_t *e = JL_CONTAINER_OF(it, jl_hist_entry_t, in_chan);
        uint32_t flen = (uint32_t)e->frame->len;
        uint32_t rlen = e->raw ? (uint32_t)e->raw->len : NO_RAW;
        bad |= put_id(f, e->id) | put(f, &e->at, sizeof e->at) | put(f, &e->app_off, 2) |
               put(f, &e->app_len, 2) | put(f, &flen, 4) | put(f, e->frame->data, flen) |
               put(f, &rlen, 4) | (e->raw ? put(f, e->raw->data, rlen) : 0);
    }
    return bad;
}

int jl_hist_save(const jl_hist_t *h, const char *path)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return -1;
    FILE *f = fopen(tmp, "wb");
    if (f == NULL)
        return -1;
    uint64_t nchans = h->stats.channels;
    int bad = put(f, MAGIC, sizeof MAGIC) | put_id(f, h->floor) | put_id(f, h->last) |
              put_id(f, h->forgotten) | put(f, &nchans, 8);
    for (size_t i = 0; i < h->chans.size && !bad; i++)
        for (jl_hlink_t *l = h->chans.slot[i]; l && !bad; l = l->next)
            bad |= save_chan(f, JL_CONTAINER_OF(l, jl_hist_chan_t, link));
    bad |= fflush(f) != 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        remove(tmp);
        return -1;
    }
    return 0;
}

static int cmp_entry(const void *a, const void *b)
{
    return jl_hist_id_cmp((*(jl_hist_entry_t *const *)a)->id, (*(jl_hist_entry_t *const *)b)->id);
}

/* Limits on what a file may claim, so a damaged one cannot make us
 * allocate without bound: the real checks are the history's own limits. */
#define LOAD_MAX_NAME (64u * 1024 * 1024)

/* Reads n bytes into a new frame (NULL: the file ended). */
static jl_frame_t *get_frame(FILE *f, uint32_t n)
{
    jl_frame_t *fr = jl_frame_new(n);
    fr->len = n;
    if (get(f, fr->data, n) == 0)
        return fr;
    jl_frame_unref(fr);
    return NULL;
}

/* The raw payload after an entry's frame (v2 files); *raw NULL if none. */
static int get_raw(FILE *f, const jl_hist_t *h, jl_frame_t **raw)
{
    uint32_t rlen;
    *raw = NULL;
    if (get(f, &rlen, 4) < 0)
        return -1;
    if (rlen == NO_RAW)
        return 0;
    if (rlen > h->lim.memory)
        return -1;
    *raw = get_frame(f, rlen);
    return *raw ? 0 : -1;
}

static int load_chan(FILE *f, jl_hist_t *h, int v1, jl_hist_entry_t ***all, size_t *nall,
                     size_t *cap)
{
    uint32_t len;
    uint64_t evicted, n;
    jl_hist_id_t first, last;
    if (get(f, &len, 4) < 0 || len > LOAD_MAX_NAME)
        return -1;
    char *name = jl_malloc(len + 1);
    int bad = get(f, name, len) | get(f, &evicted, 8) | get_id(f, &first) | get_id(f, &last) |
              get(f, &n, 8);
    if (bad) {
        free(name);
        return -1;
    }
    jl_hist_chan_t *c = chan_get(h, name, len);
    free(name);
    c->evicted = evicted;
    c->first_evicted = first;
    c->last_evicted = last;
    for (uint64_t i = 0; i < n; i++) {
        jl_hist_entry_t e = {0};
        uint32_t flen;
        if (get_id(f, &e.id) | get(f, &e.at, sizeof e.at) | get(f, &e.app_off, 2) |
            get(f, &e.app_len, 2) | get(f, &flen, 4))
            return -1;
        if (flen > h->lim.memory || (size_t)e.app_off + e.app_len > flen)
            return -1;
        if ((e.frame = get_frame(f, flen)) == NULL)
            return -1;
        if (!v1 && get_raw(f, h, &e.raw) < 0) {
            jl_frame_unref(e.frame);
            return -1;
        }
        jl_hist_entry_t *p = jl_malloc(sizeof *p);
        *p = e;
        p->chan = c;
        if (*nall == *cap) {
            *cap = *cap ? *cap * 2 : 64;
            *all = jl_realloc(*all, *cap * sizeof **all);
        }
        (*all)[(*nall)++] = p;
    }
    return 0;
}

int jl_hist_load(jl_hist_t *h, const char *path, size_t *loaded)
{
    *loaded = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    char magic[sizeof MAGIC];
    jl_hist_id_t floor, last, forgotten;
    uint64_t nchans = 0;
    jl_hist_entry_t **all = NULL;
    size_t nall = 0, cap = 0;
    int bad = get(f, magic, sizeof magic) != 0;
    int v1 = !bad && memcmp(magic, MAGIC_V1, sizeof MAGIC_V1) == 0;
    bad = bad || (!v1 && memcmp(magic, MAGIC, sizeof MAGIC) != 0) || get_id(f, &floor) ||
          get_id(f, &last) || get_id(f, &forgotten) || get(f, &nchans, 8);
    for (uint64_t i = 0; i < nchans && !bad; i++)
        bad = load_chan(f, h, v1, &all, &nall, &cap) < 0;
    fclose(f);
    /* Entries go in by id, across channels, as if they had just been
     * published; the limits then apply as usual. */
    qsort(all, nall, sizeof *all, cmp_entry);
    for (size_t i = 0; i < nall; i++) {
        jl_hist_entry_t *e = all[i];
        if (bad || jl_hist_id_cmp(e->id, last) > 0) {
            jl_frame_unref(e->frame);
            jl_frame_unref(e->raw);
            free(e);
            continue;
        }
        append(h, e->chan, e);
        (*loaded)++;
    }
    free(all);
    if (bad)
        return -2;
    /* The stopped process vouched for everything since its floor, and
     * nothing was published between its save and now. */
    h->floor = floor;
    if (jl_hist_id_cmp(last, h->last) > 0)
        h->last = last;
    h->forgotten = forgotten;
    for (size_t i = 0; i < h->chans.size; i++)
        for (jl_hlink_t *l = h->chans.slot[i]; l; l = l->next)
            JL_CONTAINER_OF(l, jl_hist_chan_t, link)->base = forgotten;
    h->stats.appended -= *loaded;
    jl_hist_expire(h);
    return 0;
}
