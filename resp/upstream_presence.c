/* upstream_presence.c -- occupancy across nodes: the library, its commands,
 * the queue (see upstream_presence.h). */
#include "resp/upstream_presence.h"
#include "resp/resp_writer.h"
#include "server/lifecycle.h"
#include "server/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct jl_upp_change {
    jl_upp_change_t *next;
    jl_ns_t ns;
    int on;
    size_t len;
    char name[];
};

static const char *const kinds[JL_NS_COUNT] = {"channel", "pattern", "shard"};

/* The sets and events of upstream_presence.h. A node's member is
 * "<kind>:<name>" (the kind has no ':', the name may). Strings in the
 * events go through cjson, Redis's own. */
static const char library[] =
    "#!lua name=jugglite_presence\n"
    "local function event(which, node, kind, name)\n"
    "  redis.call('PUBLISH', '" JL_LIFECYCLE_PREFIX "' .. which,\n"
    "    '{\"node\":' .. cjson.encode(node) .. ',\"name\":' .. cjson.encode(name) ..\n"
    "    ',\"kind\":\"' .. kind .. '\",\"scope\":\"cluster\"}')\n"
    "end\n"
    "local function take(node, kind, name)\n"
    "  local key = 'jugglite:occ:' .. kind .. ':' .. name\n"
    "  if redis.call('SADD', key, node) == 1 and redis.call('SCARD', key) == 1 then\n"
    "    event('occupied', node, kind, name)\n"
    "  end\n"
    "  redis.call('SADD', 'jugglite:occ-node:' .. node, kind .. ':' .. name)\n"
    "end\n"
    "local function leave(node, kind, name)\n"
    "  local key = 'jugglite:occ:' .. kind .. ':' .. name\n"
    "  if redis.call('SREM', key, node) == 1 and redis.call('SCARD', key) == 0 then\n"
    "    event('vacated', node, kind, name)\n"
    "  end\n"
    "  redis.call('SREM', 'jugglite:occ-node:' .. node, kind .. ':' .. name)\n"
    "end\n"
    "local function split(member)\n"
    "  local i = string.find(member, ':', 1, true)\n"
    "  return member:sub(1, i - 1), member:sub(i + 1)\n"
    "end\n"
    "local function alive(node, ttl)\n"
    "  redis.call('SET', 'jugglite:alive:' .. node, '1', 'PX', ttl)\n"
    "  return redis.call('SADD', 'jugglite:nodes', node) == 1\n"
    "end\n"
    "local function let_go(node)\n"
    "  for _, m in ipairs(redis.call('SMEMBERS', 'jugglite:occ-node:' .. node)) do\n"
    "    local kind, name = split(m)\n"
    "    leave(node, kind, name)\n"
    "  end\n"
    "  redis.call('DEL', 'jugglite:occ-node:' .. node, 'jugglite:alive:' .. node)\n"
    "  redis.call('SREM', 'jugglite:nodes', node)\n"
    "end\n"
    "local function change(keys, args)\n"
    "  local swept = alive(args[1], args[2])\n"
    "  for i = 3, #args - 2, 3 do\n"
    "    if args[i + 2] == '1' then take(args[1], args[i], args[i + 1])\n"
    "    else leave(args[1], args[i], args[i + 1]) end\n"
    "  end\n"
    "  if swept then return 'SWEPT' end\n"
    "  return 'OK'\n"
    "end\n"
    "local function sync(keys, args)\n"
    "  local node, want = args[1], {}\n"
    "  alive(node, args[2])\n"
    "  for i = 3, #args - 1, 2 do want[args[i] .. ':' .. args[i + 1]] = true end\n"
    "  for _, m in ipairs(redis.call('SMEMBERS', 'jugglite:occ-node:' .. node)) do\n"
    "    if not want[m] then\n"
    "      local kind, name = split(m)\n"
    "      leave(node, kind, name)\n"
    "    end\n"
    "  end\n"
    "  for i = 3, #args - 1, 2 do take(node, args[i], args[i + 1]) end\n"
    "  return 'OK'\n"
    "end\n"
    "local function sweep(keys, args)\n"
    "  local swept = alive(args[1], args[2])\n"
    "  for _, n in ipairs(redis.call('SMEMBERS', 'jugglite:nodes')) do\n"
    "    if redis.call('EXISTS', 'jugglite:alive:' .. n) == 0 then let_go(n) end\n"
    "  end\n"
    "  if swept then return 'SWEPT' end\n"
    "  return 'OK'\n"
    "end\n"
    "local function gone(keys, args)\n"
    "  let_go(args[1])\n"
    "  return 'OK'\n"
    "end\n"
    "redis.register_function('jugglite_presence_change', change)\n"
    "redis.register_function('jugglite_presence_sync', sync)\n"
    "redis.register_function('jugglite_presence_alive', sweep)\n"
    "redis.register_function('jugglite_presence_gone', gone)\n";

void jl_upp_init(jl_upp_t *q)
{
    q->head = NULL;
    q->tail = &q->head;
    q->n = 0;
}

void jl_upp_clear(jl_upp_t *q)
{
    while (q->head) {
        jl_upp_change_t *next = q->head->next;
        free(q->head);
        q->head = next;
    }
    jl_upp_init(q);
}

void jl_upp_push(jl_upp_t *q, jl_ns_t ns, const char *name, size_t len, int on)
{
    jl_upp_change_t *c = jl_malloc(sizeof *c + len);
    c->next = NULL;
    c->ns = ns;
    c->on = on;
    c->len = len;
    memcpy(c->name, name, len);
    *q->tail = c;
    q->tail = &c->next;
    q->n++;
}

void jl_upp_load_command(jl_buf_t *out)
{
    const char *argv[] = {"FUNCTION", "LOAD", "REPLACE", library};
    size_t lens[] = {8, 4, 7, sizeof library - 1};
    jl_resp_command(out, 4, argv, lens);
}

/* argv/lens with room for 'extra' more words after FCALL fn 0 node ttl. */
typedef struct words {
    const char **argv;
    size_t *lens;
    size_t n;
    char ttl[32];
} words_t;

static void words_begin(words_t *w, const char *fn, const char *node, double ttl, size_t extra)
{
    w->argv = jl_malloc((5 + extra) * sizeof *w->argv);
    w->lens = jl_malloc((5 + extra) * sizeof *w->lens);
    w->n = 0;
    snprintf(w->ttl, sizeof w->ttl, "%.0f", ttl * 1000);
    const char *head[] = {"FCALL", fn, "0", node, w->ttl};
    for (size_t i = 0; i < (ttl >= 0 ? 5u : 4u); i++) {
        w->argv[w->n] = head[i];
        w->lens[w->n++] = strlen(head[i]);
    }
}

static void words_add(words_t *w, const char *p, size_t len)
{
    w->argv[w->n] = p;
    w->lens[w->n++] = len;
}

static void words_end(words_t *w, jl_buf_t *out)
{
    jl_resp_command(out, w->n, w->argv, w->lens);
    free(w->argv);
    free(w->lens);
}

size_t jl_upp_change_command(jl_buf_t *out, jl_upp_t *q, const char *node, double ttl)
{
    size_t n = q->n < JL_UPP_BATCH ? q->n : JL_UPP_BATCH;
    if (n == 0)
        return 0;
    words_t w;
    words_begin(&w, "jugglite_presence_change", node, ttl, 3 * n);
    jl_upp_change_t *taken = q->head;
    jl_upp_change_t *c = taken;
    for (size_t i = 0; i < n; i++, c = c->next) {
        words_add(&w, kinds[c->ns], strlen(kinds[c->ns]));
        words_add(&w, c->name, c->len);
        words_add(&w, c->on ? "1" : "0", 1);
    }
    words_end(&w, out);
    /* Off the queue once encoded (the command holds its own copy). */
    q->head = c;
    if (q->head == NULL)
        q->tail = &q->head;
    q->n -= n;
    while (taken != c) {
        jl_upp_change_t *next = taken->next;
        free(taken);
        taken = next;
    }
    return n;
}

typedef struct sync_ctx {
    words_t *w;
    size_t cap;
    const char *kind;
} sync_ctx_t;

static void sync_name(void *ud, const char *name, size_t len)
{
    sync_ctx_t *s = ud;
    if (jl_lifecycle_reserved(name, len))
        return;     /* the watchers' own: never reported */
    if (s->w->n + 2 > s->cap) {
        s->cap *= 2;
        s->w->argv = jl_realloc(s->w->argv, s->cap * sizeof *s->w->argv);
        s->w->lens = jl_realloc(s->w->lens, s->cap * sizeof *s->w->lens);
    }
    words_add(s->w, s->kind, strlen(s->kind));
    words_add(s->w, name, len);
}

void jl_upp_sync_command(jl_buf_t *out, const jl_registry_t *reg, const char *node, double ttl)
{
    words_t w;
    words_begin(&w, "jugglite_presence_sync", node, ttl, 64);
    sync_ctx_t s = {&w, 5 + 64, NULL};
    for (int ns = 0; ns < JL_NS_COUNT; ns++) {
        s.kind = kinds[ns];
        jl_registry_foreach(reg, (jl_ns_t)ns, NULL, 0, sync_name, &s);
    }
    words_end(&w, out);
}

void jl_upp_alive_command(jl_buf_t *out, const char *node, double ttl)
{
    words_t w;
    words_begin(&w, "jugglite_presence_alive", node, ttl, 0);
    words_end(&w, out);
}

void jl_upp_gone_command(jl_buf_t *out, const char *node)
{
    words_t w;
    words_begin(&w, "jugglite_presence_gone", node, -1, 0);
    words_end(&w, out);
}
