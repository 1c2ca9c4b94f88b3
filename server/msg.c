/* msg.c -- refcounted frames and the per-publish frame cache (see msg.h). */
#include "server/msg.h"
#include "server/util.h"

#include <stdlib.h>
#include <string.h>

jl_frame_t *jl_frame_new(size_t cap)
{
    jl_frame_t *f = jl_malloc(sizeof *f + cap);
    f->refs = 1;
    f->priv = 0;
    f->len = 0;
    f->cap = cap;
    f->born = 0;
    return f;
}

jl_frame_t *jl_frame_from(const void *p, size_t n)
{
    jl_frame_t *f = jl_frame_new(n);
    memcpy(f->data, p, n);
    f->len = n;
    return f;
}

void jl_frame_unref(jl_frame_t *f)
{
    if (f == NULL)
        return;
    if (--f->refs == 0)
        free(f);
}

void jl_msg_init(jl_msg_t *m, const char *chan, size_t chan_len,
                 const char *payload, size_t payload_len, int shard)
{
    memset(m, 0, sizeof *m);
    m->chan = chan;
    m->chan_len = chan_len;
    m->payload = payload;
    m->payload_len = payload_len;
    m->shard = shard;
}

void jl_msg_release_pattern(jl_msg_t *m)
{
    for (size_t i = 0; i < JL_ARRAY_LEN(m->pframes); i++) {
        jl_frame_unref(m->pframes[i]);
        m->pframes[i] = NULL;
    }
    m->pattern = NULL;
    m->pattern_len = 0;
}

void jl_msg_release(jl_msg_t *m)
{
    for (size_t i = 0; i < JL_FRAME_KINDS; i++) {
        jl_frame_unref(m->frames[i]);
        m->frames[i] = NULL;
    }
    jl_msg_release_pattern(m);
}
