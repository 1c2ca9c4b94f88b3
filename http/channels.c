/* channels.c -- the live channel list as JSON (see channels.h). */
#include "http/channels.h"
#include "http/json_text.h"
#include "server/server.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

typedef struct row {
    json_t *o;
    size_t subscribers;
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
    json_t *o = json_pack("{s:o, s:s, s:I, s:I}", "name", jl_json_text(info->name, info->len), "kind",
                          rows->kind, "subscribers", (json_int_t)info->subscribers, "messages",
                          (json_int_t)info->messages);
    rows->r[rows->n++] = (row_t){o, info->subscribers};
}

static int busiest_first(const void *a, const void *b)
{
    size_t x = ((const row_t *)a)->subscribers, y = ((const row_t *)b)->subscribers;
    return x < y ? 1 : x > y ? -1 : 0;
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
    for (size_t i = 0; i < rows.n; i++) {
        if (i < JL_CHANNELS_MAX)
            json_array_append_new(list, rows.r[i].o);
        else
            json_decref(rows.r[i].o);
    }
    free(rows.r);
    json_t *doc = json_pack("{s:s, s:f, s:I, s:I, s:o}", "node", srv->run_id, "time",
                            ev_now(srv->loop), "channels", (json_int_t)nchannels, "patterns",
                            (json_int_t)(rows.n - nchannels), "list", list);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    jl_buf_append_str(out, text ? text : "{}");
    free(text);
    json_decref(doc);
}
