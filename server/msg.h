/* msg.h -- immutable refcounted frames, and one published message.
 *
 * A jl_frame_t is a run of bytes ready for the wire (a RESP push, an SSE
 * event). It is written once, then only read; every subscriber that sends it
 * holds a reference, so a publish to N subscribers encodes each wire form
 * once, not N times. The last jl_frame_unref frees it.
 *
 * A jl_msg_t is one publish in flight. The publisher owns it (usually on its
 * stack) for the duration of jl_registry_publish. Sinks build the frame they
 * need on first use and cache it in msg->frames[kind], so the second
 * subscriber of a kind reuses the first one's frame. pattern frames depend on
 * the pattern, so the registry clears msg->pframes after each pattern. */
#ifndef JL_MSG_H
#define JL_MSG_H

#include <stddef.h>
#include <stdint.h>

typedef struct jl_frame {
    uint32_t refs;
    uint32_t priv;      /* 1: a connection's private reply chunk, may grow */
    size_t len;         /* bytes used */
    size_t cap;         /* bytes allocated in data[] */
    double born;        /* a publish's frame: when the publish began (jl_histo_clock); else 0 */
    char data[];
} jl_frame_t;

/* New frame with room for 'cap' bytes, len 0, refs 1. Never NULL. */
jl_frame_t *jl_frame_new(size_t cap);
/* New frame holding a copy of p[0..n), refs 1. */
jl_frame_t *jl_frame_from(const void *p, size_t n);
static inline jl_frame_t *jl_frame_ref(jl_frame_t *f) { f->refs++; return f; }
/* Drops one reference; frees the frame at zero. NULL is a no-op. */
void jl_frame_unref(jl_frame_t *f);

/* Frame kinds cached in a message (one per wire form). */
typedef enum {
    JL_FRAME_RESP2,     /* *3 message/smessage chan payload */
    JL_FRAME_RESP3,     /* >3 message/smessage chan payload */
    JL_FRAME_SSE,       /* data: lines (+ event:/id: from JSON) */
    JL_FRAME_KINDS
} jl_frame_kind_t;

/* A publish's place in the node's history (see history.h): "ms-seq". */
typedef struct jl_hist_id {
    uint64_t ms, seq;
} jl_hist_id_t;

typedef struct jl_msg {
    const char *chan;
    size_t chan_len;
    const char *payload;
    size_t payload_len;
    int shard;                          /* SPUBLISH: smessage, shard namespace */
    int has_id;                         /* id was given by the history */
    jl_hist_id_t id;
    uint64_t seq;                       /* one per registry walk: a sink seeing it twice is
                                         * reached by a channel and a pattern */
    jl_frame_t *frames[JL_FRAME_KINDS]; /* built lazily by sinks; may be NULL */
    /* Set by the registry while it walks one pattern's subscribers. */
    const char *pattern;
    size_t pattern_len;
    jl_frame_t *pframes[2];             /* [0] RESP2 pmessage, [1] RESP3 */
} jl_msg_t;

/* Initialises a message that borrows chan and payload (they must outlive it). */
void jl_msg_init(jl_msg_t *m, const char *chan, size_t chan_len,
                 const char *payload, size_t payload_len, int shard);
/* Drops every cached frame reference. The message is reusable afterwards. */
void jl_msg_release(jl_msg_t *m);
/* Drops the pattern frames (called by the registry between patterns). */
void jl_msg_release_pattern(jl_msg_t *m);

#endif
