/* outq.h -- a connection's queue of bytes waiting for the socket.
 *
 * The queue holds references to frames, never copies of shared ones: a
 * message published to 10,000 subscribers sits in memory once and each queue
 * points at it with an offset. Replies, which belong to one client, are
 * copied into a private tail frame that grows up to a chunk size, so a
 * pipeline of small replies leaves in one writev entry.
 *
 * An empty queue holds no memory. Invariant: q->bytes is the number of
 * unsent bytes over all items. */
#ifndef JL_OUTQ_H
#define JL_OUTQ_H

#include "server/msg.h"

#include <stddef.h>
#include <stdint.h>

typedef struct jl_outq_item {
    jl_frame_t *frame;
    size_t off;         /* bytes of frame already written */
} jl_outq_item_t;

typedef struct jl_outq {
    jl_outq_item_t *items;
    uint32_t head;      /* first unsent item */
    uint32_t count;     /* items in use, from index 0 (head of them already sent) */
    uint32_t cap;
    size_t bytes;
    double written_born;    /* the newest jl_frame_t.born among the frames written out
                               since the last jl_outq_take_born; 0: none */
} jl_outq_t;

/* Queues a shared frame; takes its own reference (the caller keeps theirs). */
void jl_outq_push(jl_outq_t *q, jl_frame_t *f);
/* Copies n bytes to the tail (into a private chunk). */
void jl_outq_append(jl_outq_t *q, const void *p, size_t n);
/* writev()s as much as the socket takes. Returns JL_OK when the queue is
 * empty, JL_AGAIN when the socket is full, or -errno. */
int jl_outq_write(jl_outq_t *q, int fd);
/* For a writer that cannot take an iovec (TLS): the first unsent bytes,
 * at most cap of them, in one piece -- the head frame itself when it is
 * the only one or holds cap bytes already, else copied into scratch (which
 * has room for cap). *n gets their count; nothing is consumed. Asked again
 * without a consume in between, it gives the same bytes (and perhaps more
 * after them), as a retried SSL_write needs. */
const void *jl_outq_gather(const jl_outq_t *q, void *scratch, size_t cap, size_t *n);
/* Marks the first n unsent bytes (n <= q->bytes) as sent. */
void jl_outq_consume(jl_outq_t *q, size_t n);
/* Moves the first n unsent bytes of src to the end of dst: whole frames by
 * reference (a shared event stays shared), pieces of one by copy. */
void jl_outq_move(jl_outq_t *dst, jl_outq_t *src, size_t n);
/* What written_born says, then 0 (the connection observes it once). */
static inline double jl_outq_take_born(jl_outq_t *q)
{
    double b = q->written_born;
    q->written_born = 0;
    return b;
}
/* Drops everything queued (releasing references) and frees the memory. */
void jl_outq_clear(jl_outq_t *q);
static inline int jl_outq_empty(const jl_outq_t *q) { return q->bytes == 0; }

#endif
