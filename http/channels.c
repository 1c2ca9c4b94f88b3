/* channels.c -- the live channel list as JSON (see channels.h). */
#include "http/channels.h"
#include "http/json_text.h"
#include "server/server.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* One name as the registry has it; the name's bytes are the registry's
 * own, unchanged while this render runs (nothing subscribes meanwhile). */
typedef struct row {
    jl_registry_info_t info;
    const char *kind;
} row_t;

typedef struct rows {
    row_t *r;
    size_t n, cap;
    const char *kind;
} rows_t;

static void add_row(void *ud, const jl_registry_info_t *info)
{
    rows_t *rows = ud;
    if (rows->n == rows->cap) {
        rows->cap = rows->cap ? rows->cap * 2 : 64;
        rows->r = jl_realloc(rows->r, rows->cap * sizeof *rows->r);
    }
    rows->r[rows->n++] = (row_t){*info, rows->kind};
}

static int busiest_first(const void *a, const void *b)
{
    size_t x = ((const row_t *)a)->info.subscribers, y = ((const row_t *)b)->info.subscribers;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* JSON for the names shown only: a node with 100,000 names answers each
 * poll with the 200 busiest, not 100,000 objects made and dropped. */
static json_t *row_json(const row_t *r)
{
    return json_pack("{s:o, s:s, s:I, s:I}", "name", jl_json_text(r->info.name, r->info.len),
                     "kind", r->kind, "subscribers", (json_int_t)r->info.subscribers,
                     "messages", (json_int_t)r->info.messages);
}

void jl_channels_render(jl_buf_t *out, const jl_server_t *srv)
{
    rows_t rows = {0};
    rows.kind = "channel";
    jl_registry_each_info(srv->reg, JL_NS_CHANNEL, add_row, &rows);
    size_t nchannels = rows.n;
    rows.kind = "pattern";
    jl_registry_each_info(srv->reg, JL_NS_PATTERN, add_row, &rows);
    if (rows.n > 1)
        qsort(rows.r, rows.n, sizeof *rows.r, busiest_first);

    json_t *list = json_array();
    for (size_t i = 0; i < rows.n && i < JL_CHANNELS_MAX; i++)
        json_array_append_new(list, row_json(&rows.r[i]));
    free(rows.r);
    json_t *doc = json_pack("{s:s, s:f, s:I, s:I, s:o}", "node", srv->run_id, "time",
                            ev_now(srv->loop), "channels", (json_int_t)nchannels, "patterns",
                            (json_int_t)(rows.n - nchannels), "list", list);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    jl_buf_append_str(out, text ? text : "{}");
    free(text);
    json_decref(doc);
}
