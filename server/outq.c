/* outq.c -- per-connection output queue (see outq.h).
 *
 * Items live in one array; 'head' advances as items are sent and the array
 * is rewound when it empties, so a steady stream never reallocates. A small
 * array (<= 64 items) is kept once allocated; a large one, grown by a burst,
 * is freed when the queue drains. */
#include "server/outq.h"
#include "server/util.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#define OUTQ_CHUNK 16384    /* private reply chunk size */
#define OUTQ_IOV 64         /* items per writev */

static void outq_add(jl_outq_t *q, jl_frame_t *f)
{
    if (q->count == q->cap) {
        if (q->head > 0) {
            /* Reclaim the sent prefix before growing. */
            memmove(q->items, q->items + q->head, (q->count - q->head) * sizeof *q->items);
            q->count -= q->head;
            q->head = 0;
        }
        if (q->count == q->cap) {
            q->cap = q->cap ? q->cap * 2 : 4;
            q->items = jl_realloc(q->items, q->cap * sizeof *q->items);
        }
    }
    q->items[q->count].frame = f;
    q->items[q->count].off = 0;
    q->count++;
    q->bytes += f->len;
}

void jl_outq_push(jl_outq_t *q, jl_frame_t *f)
{
    if (f->len == 0)
        return;
    outq_add(q, jl_frame_ref(f));
}

void jl_outq_append(jl_outq_t *q, const void *p, size_t n)
{
    const char *src = p;
    while (n > 0) {
        jl_frame_t *tail = q->count > q->head ? q->items[q->count - 1].frame : NULL;
        if (tail == NULL || !tail->priv || tail->len == tail->cap) {
            tail = jl_frame_new(n > OUTQ_CHUNK ? n : OUTQ_CHUNK);
            tail->priv = 1;
            outq_add(q, tail);
        }
        size_t room = tail->cap - tail->len;
        size_t take = n < room ? n : room;
        memcpy(tail->data + tail->len, src, take);
        tail->len += take;
        q->bytes += take;
        src += take;
        n -= take;
    }
}

/* Releases sent items and rewinds the array when empty. */
void jl_outq_consume(jl_outq_t *q, size_t written)
{
    q->bytes -= written;
    while (written > 0) {
        jl_outq_item_t *it = &q->items[q->head];
        size_t left = it->frame->len - it->off;
        if (written < left) {
            it->off += written;
            return;
        }
        written -= left;
        if (it->frame->born > q->written_born)
            q->written_born = it->frame->born;
        jl_frame_unref(it->frame);
        q->head++;
    }
    if (q->head == q->count) {
        q->head = q->count = 0;
        if (q->cap > 64) {
            free(q->items);
            q->items = NULL;
            q->cap = 0;
        }
    }
}

int jl_outq_write(jl_outq_t *q, int fd)
{
    while (q->bytes > 0) {
        struct iovec iov[OUTQ_IOV];
        int n = 0;
        for (uint32_t i = q->head; i < q->count && n < OUTQ_IOV; i++, n++) {
            iov[n].iov_base = q->items[i].frame->data + q->items[i].off;
            iov[n].iov_len = q->items[i].frame->len - q->items[i].off;
        }
        ssize_t w = writev(fd, iov, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return JL_AGAIN;
            return -errno;
        }
        jl_outq_consume(q, (size_t)w);
    }
    return JL_OK;
}

const void *jl_outq_gather(const jl_outq_t *q, void *scratch, size_t cap, size_t *n)
{
    *n = 0;
    if (q->bytes == 0)
        return NULL;
    const jl_outq_item_t *it = &q->items[q->head];
    size_t first = it->frame->len - it->off;
    if (first >= cap || q->head + 1 == q->count) {
        *n = first < cap ? first : cap;
        return it->frame->data + it->off;
    }
    char *dst = scratch;
    for (uint32_t i = q->head; i < q->count && *n < cap; i++) {
        size_t left = q->items[i].frame->len - q->items[i].off;
        size_t take = left < cap - *n ? left : cap - *n;
        memcpy(dst + *n, q->items[i].frame->data + q->items[i].off, take);
        *n += take;
    }
    return scratch;
}

void jl_outq_move(jl_outq_t *dst, jl_outq_t *src, size_t n)
{
    while (n > 0 && src->bytes > 0) {
        jl_outq_item_t *it = &src->items[src->head];
        size_t left = it->frame->len - it->off;
        size_t take = n < left ? n : left;
        if (it->off == 0 && take == it->frame->len)
            jl_outq_push(dst, it->frame);       /* a whole frame: by reference */
        else
            jl_outq_append(dst, it->frame->data + it->off, take);
        jl_outq_consume(src, take);
        n -= take;
    }
}

void jl_outq_clear(jl_outq_t *q)
{
    for (uint32_t i = q->head; i < q->count; i++)
        jl_frame_unref(q->items[i].frame);
    free(q->items);
    memset(q, 0, sizeof *q);
}
