/* upstream_history.c -- the shared history's functions and replies (see upstream_history.h).
 *
 * The functions are a Lua library for Redis 7.0 and later (Redis Functions;
 * XTRIM MINID, exclusive XREVRANGE ranges, SCAN TYPE, max-deleted-entry-id).
 * Numbers are formatted with %.0f: Lua 5.1 numbers are doubles,
 * exact for milliseconds since the epoch. A failed XADD (a stream whose top
 * id is newer than the clock, after someone reset the clock key) still
 * publishes, without an id: a publish is never refused for the history's
 * sake. */
#include "resp/upstream_history.h"
#include "resp/resp_writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLOCK_KEY "jugglite:clock"
#define KEY_PREFIX "jugglite:h:"
#define KEY_PREFIX_LEN 11

/* One library, loaded by every node when its link comes up (FUNCTION LOAD
 * REPLACE: the newest node's copy wins, the interface stays the same).
 *
 * jugglite_publish: KEYS clock, stream (both optional: an application
 * calls FCALL jugglite_publish 0 <channel> <payload>); ARGV channel,
 * payload, keep, age ms (both optional: the last ones a node used, kept in
 * the clock). Returns PUBLISH's reply.
 *
 * jugglite_read: KEYS clock; ARGV from ("" for everything), keep, key
 * prefix, then one 'c'<channel> or 'p'<pattern> per name. Returns {floor,
 * last, now ms, then per name {{key, max-deleted-entry-id, newest entries
 * after from}...}}. */
static const char library[] =
    "#!lua name=jugglite\n"
    "local function now_ms()\n"
    "  local t = redis.call('TIME')\n"
    "  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "end\n"
    "local function publish(keys, args)\n"
    "  local chan, payload = args[1], args[2]\n"
    "  local clock = keys[1] or '" CLOCK_KEY "'\n"
    "  local key = keys[2] or ('" KEY_PREFIX "' .. chan)\n"
    "  local c = redis.call('HMGET', clock, 'ms', 'seq', 'keep', 'age')\n"
    "  local keep = tonumber(args[3] or c[3] or 1000)\n"
    "  local age = tonumber(args[4] or c[4] or 0)\n"
    "  local ms, seq = now_ms(), 0\n"
    "  if not c[1] then\n"
    "    redis.call('HSET', clock, 'floor', string.format('%.0f-0', ms))\n"
    "  elseif ms <= tonumber(c[1]) then\n"
    "    ms = tonumber(c[1])\n"
    "    seq = tonumber(c[2]) + 1\n"
    "  end\n"
    "  local id = string.format('%.0f-%.0f', ms, seq)\n"
    "  redis.call('HSET', clock, 'ms', string.format('%.0f', ms), 'seq', string.format('%.0f', seq),\n"
    "             'keep', keep, 'age', age)\n"
    "  local ok = redis.pcall('XADD', key, 'MAXLEN', '~', keep, id, 'data', payload)\n"
    "  if type(ok) == 'string' then\n"
    "    if age > 0 then\n"
    "      redis.call('XTRIM', key, 'MINID', '~', string.format('%.0f', ms - age))\n"
    "      redis.call('PEXPIRE', key, age)\n"
    "    end\n"
    "    redis.call('PUBLISH', '" JL_UPH_IDS "', id .. ' ' .. chan)\n"
    "  end\n"
    "  return redis.call('PUBLISH', chan, payload)\n"
    "end\n"
    "local function read(keys, args)\n"
    "  local c = redis.call('HMGET', keys[1], 'floor', 'ms', 'seq')\n"
    "  local now = now_ms()\n"
    "  local from, keep, prefix = args[1], tonumber(args[2]), args[3]\n"
    "  local last = false\n"
    "  if c[2] then last = c[2] .. '-' .. c[3] end\n"
    "  local function one(key)\n"
    "    if redis.call('EXISTS', key) == 0 then return {key, false, {}} end\n"
    "    local info = redis.call('XINFO', 'STREAM', key)\n"
    "    local maxdel = '0-0'\n"
    "    for i = 1, #info, 2 do\n"
    "      if info[i] == 'max-deleted-entry-id' then maxdel = info[i + 1] end\n"
    "    end\n"
    "    local stop = '-'\n"
    "    if from ~= '' then stop = '(' .. from end\n"
    "    return {key, maxdel, redis.call('XREVRANGE', key, '+', stop, 'COUNT', keep + 1)}\n"
    "  end\n"
    "  local out = {c[1] or false, last, now}\n"
    "  for i = 4, #args do\n"
    "    local a, res = args[i], {}\n"
    "    if a:sub(1, 1) == 'c' then\n"
    "      res[1] = one(prefix .. a:sub(2))\n"
    "    else\n"
    "      local cursor = '0'\n"
    "      repeat\n"
    "        local r = redis.call('SCAN', cursor, 'MATCH', prefix .. a:sub(2), 'COUNT', 1000,\n"
    "                             'TYPE', 'stream')\n"
    "        cursor = r[1]\n"
    "        for _, k in ipairs(r[2]) do res[#res + 1] = one(k) end\n"
    "      until cursor == '0'\n"
    "    end\n"
    "    out[#out + 1] = res\n"
    "  end\n"
    "  return out\n"
    "end\n"
    "redis.register_function('jugglite_publish', publish)\n"
    "redis.register_function{function_name = 'jugglite_read', callback = read,\n"
    "                        flags = {'no-writes'}}\n";

void jl_uph_load_command(jl_buf_t *out)
{
    const char *argv[] = {"FUNCTION", "LOAD", "REPLACE", library};
    size_t lens[] = {8, 4, 7, sizeof library - 1};
    jl_resp_command(out, 4, argv, lens);
}

void jl_uph_publish_command(jl_buf_t *out, const jl_pub_t *pub, size_t keep, double max_age)
{
    jl_buf_t key = {0};
    char keep_s[24], age_s[32];
    jl_buf_append_str(&key, KEY_PREFIX);
    jl_buf_append(&key, pub->chan, pub->chan_len);
    snprintf(keep_s, sizeof keep_s, "%zu", keep);
    snprintf(age_s, sizeof age_s, "%.0f", max_age > 0 ? max_age * 1000 : 0);
    const char *argv[] = {"FCALL", "jugglite_publish", "2", CLOCK_KEY, key.data, pub->chan,
                          pub->payload, keep_s, age_s};
    size_t lens[] = {5, 16, 1, strlen(CLOCK_KEY), key.len, pub->chan_len, pub->payload_len,
                     strlen(keep_s), strlen(age_s)};
    jl_resp_command(out, JL_ARRAY_LEN(argv), argv, lens);
    jl_buf_free(&key);
}

void jl_uph_read_command(jl_buf_t *out, const jl_relay_name_t *names, size_t n, const char *from,
                         size_t keep)
{
    size_t argc = 7 + n;
    const char **argv = jl_malloc(argc * sizeof *argv);
    size_t *lens = jl_malloc(argc * sizeof *lens);
    char **tagged = jl_malloc((n ? n : 1) * sizeof *tagged);
    char keep_s[24];
    snprintf(keep_s, sizeof keep_s, "%zu", keep);
    const char *head[] = {"FCALL", "jugglite_read", "1", CLOCK_KEY, from, keep_s, KEY_PREFIX};
    for (size_t i = 0; i < 7; i++) {
        argv[i] = head[i];
        lens[i] = strlen(head[i]);
    }
    for (size_t i = 0; i < n; i++) {
        tagged[i] = jl_malloc(names[i].len + 1);
        tagged[i][0] = names[i].ns == JL_NS_PATTERN ? 'p' : 'c';
        memcpy(tagged[i] + 1, names[i].name, names[i].len);
        argv[7 + i] = tagged[i];
        lens[7 + i] = names[i].len + 1;
    }
    jl_resp_command(out, argc, argv, lens);
    for (size_t i = 0; i < n; i++)
        free(tagged[i]);
    free(tagged);
    free(argv);
    free(lens);
}

int jl_uph_parse_announce(const char *s, size_t n, jl_hist_id_t *id, const char **chan,
                          size_t *chan_len)
{
    const char *sp = memchr(s, ' ', n);
    if (sp == NULL || jl_hist_id_parse(s, (size_t)(sp - s), id) < 0)
        return -1;
    *chan = sp + 1;
    *chan_len = n - (size_t)(sp + 1 - s);
    return 0;
}

/* ---- the read reply ---- */

static int is_str(const jl_resp_value_t *v)
{
    return v->type == JL_RESP_BULK || v->type == JL_RESP_SIMPLE || v->type == JL_RESP_VERBATIM;
}

static int is_list(const jl_resp_value_t *v)
{
    return v->type == JL_RESP_ARRAY || v->type == JL_RESP_SET;
}

static int parse_id(const jl_resp_value_t *v, jl_hist_id_t *id)
{
    return is_str(v) ? jl_hist_id_parse(v->str, v->len, id) : -1;
}

typedef struct {
    jl_relay_entry_t *e;
    size_t n, cap;
} entries_t;

static void entries_add(entries_t *l, jl_hist_id_t id, const jl_resp_value_t *key,
                        const jl_resp_value_t *payload)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 32;
        l->e = jl_realloc(l->e, l->cap * sizeof *l->e);
    }
    l->e[l->n++] = (jl_relay_entry_t){
        .id = id,
        .chan = key->str + KEY_PREFIX_LEN,
        .chan_len = key->len - KEY_PREFIX_LEN,
        .payload = payload->str,
        .payload_len = payload->len,
    };
}

/* One stream key's {key, max-deleted-entry-id, entries newest first}:
 * adds its entries; returns 1 when something after 'from' is gone, 0 when
 * not, -1 on a malformed value. */
static int read_key(const jl_resp_value_t *v, jl_hist_id_t from, size_t keep, entries_t *out)
{
    if (!is_list(v) || v->nelem != 3 || !is_str(&v->elems[0]) ||
        v->elems[0].len < KEY_PREFIX_LEN || !is_list(&v->elems[2]))
        return -1;
    const jl_resp_value_t *key = &v->elems[0], *list = &v->elems[2];
    int gone = 0;
    jl_hist_id_t maxdel;
    if (v->elems[1].type != JL_RESP_NULL) {
        if (parse_id(&v->elems[1], &maxdel) < 0)
            return -1;
        gone = jl_hist_id_cmp(maxdel, from) > 0;
    }
    size_t n = list->nelem;
    if (n > keep) {     /* keep + 1 came back: more than is kept was published */
        gone = 1;
        n = keep;
    }
    for (size_t i = 0; i < n; i++) {
        const jl_resp_value_t *e = &list->elems[i];
        jl_hist_id_t id;
        if (!is_list(e) || e->nelem != 2 || parse_id(&e->elems[0], &id) < 0 ||
            !is_list(&e->elems[1]) || e->elems[1].nelem < 2 || !is_str(&e->elems[1].elems[1]))
            return -1;
        entries_add(out, id, key, &e->elems[1].elems[1]);
    }
    return gone;
}

static int cmp_entry(const void *a, const void *b)
{
    return jl_hist_id_cmp(((const jl_relay_entry_t *)a)->id, ((const jl_relay_entry_t *)b)->id);
}

/* Sorted by id, each id once (a channel and a pattern may name one key). */
static size_t sort_unique(jl_relay_entry_t *e, size_t n)
{
    if (n == 0)
        return 0;
    qsort(e, n, sizeof *e, cmp_entry);
    size_t k = 1;
    for (size_t i = 1; i < n; i++)
        if (jl_hist_id_cmp(e[i].id, e[k - 1].id) != 0)
            e[k++] = e[i];
    return k;
}

/* The rules, per name: an id the clock never issued (newer than its
 * last) is unknown; one older than the clock's floor (the shared history
 * was wiped and started again) is a restart; a stream key that deleted
 * an entry after 'from' (trimmed by count or age), or that has more after
 * it than is kept, is an eviction; and with an age limit, a key that is
 * not there (it expired, idle) may have held something if 'from' is older
 * than the age: an eviction too. Otherwise nothing was missed. */
int jl_uph_read_reply(const jl_resp_value_t *v, size_t n, int from_known, jl_hist_id_t from,
                      size_t keep, double max_age, jl_uph_read_t *out)
{
    memset(out, 0, sizeof *out);
    if (!is_list(v) || v->nelem != 3 + n || v->elems[2].type != JL_RESP_INTEGER)
        return -1;
    jl_hist_id_t floor = {0, 0}, last = {0, 0};
    int has_floor = v->elems[0].type != JL_RESP_NULL, has_last = v->elems[1].type != JL_RESP_NULL;
    if ((has_floor && parse_id(&v->elems[0], &floor) < 0) ||
        (has_last && parse_id(&v->elems[1], &last) < 0))
        return -1;
    long long now = v->elems[2].integer;
    entries_t all = {0};
    out->gap = jl_calloc(n ? n : 1, sizeof *out->gap);
    out->lost = jl_calloc(n ? n : 1, sizeof *out->lost);
    jl_hist_id_t zero = {0, 0};
    int wiped = from_known && !has_last && jl_hist_id_cmp(from, zero) > 0;
    int future = from_known && has_last && jl_hist_id_cmp(from, last) > 0;
    int before = from_known && has_floor && jl_hist_id_cmp(from, floor) < 0;
    int expired = from_known && max_age > 0 && (double)from.ms + max_age * 1000 < (double)now;
    for (size_t i = 0; i < n; i++) {
        const jl_resp_value_t *res = &v->elems[3 + i];
        if (!is_list(res))
            goto bad;
        int gone = res->nelem == 0 && expired;
        for (size_t k = 0; k < res->nelem; k++) {
            int g = read_key(&res->elems[k], from_known ? from : zero, keep, &all);
            if (g < 0)
                goto bad;
            gone |= g || (expired && res->elems[k].elems[1].type == JL_RESP_NULL);
        }
        out->lost[i] = -1;
        out->gap[i] = !from_known || future ? JL_GAP_UNKNOWN
                      : wiped || before     ? JL_GAP_RESTART
                      : gone                ? JL_GAP_EVICTED
                                            : JL_GAP_NONE;
    }
    out->e = all.e;
    out->h.e = out->e;
    out->h.n = sort_unique(all.e, all.n);
    out->h.gap = out->gap;
    out->h.lost = out->lost;
    out->h.last = last;
    return 0;
bad:
    free(all.e);
    jl_uph_read_free(out);
    return -1;
}

void jl_uph_read_free(jl_uph_read_t *r)
{
    free(r->e);
    free(r->gap);
    free(r->lost);
    memset(r, 0, sizeof *r);
}
