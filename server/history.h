/* history.h -- what was published lately, so that a stream can resume.
 *
 * Every publish accepted by this node gets an id from one clock, "ms-seq"
 * (Redis Streams' shape: milliseconds since the epoch, then a sequence
 * within the millisecond), increasing across all channels. One id therefore
 * places a stream in every channel at once: a stream on a,b that last saw
 * id X missed exactly the retained entries of a and b with ids above X,
 * and merging them by id gives the order they were accepted in.
 *
 * Each channel keeps its newest entries (an id and a reference to the wire
 * frame its subscribers were sent, never a copy), bounded by count, bytes
 * and age; all channels together are bounded by a memory cap, oldest entry
 * first. Loss is never silent: a channel remembers the newest id it
 * evicted, the history remembers the first id it can vouch for (its
 * floor: the process start), and jl_hist_gap says whether a stream
 * resuming from X may have missed something.
 *
 * The history knows frames, not protocols: whoever delivers streams (the
 * HTTP side) installs the encoder that turns a message and its id into the
 * frame that is kept, and the decoder that gives the payload back from it.
 * A payload the frame cannot give back byte for byte (the decoder says so
 * at publish) is also kept as a copy, so readers (the RESP side's XRANGE,
 * XREAD) always get exactly what was published. */
#ifndef JL_HISTORY_H
#define JL_HISTORY_H

#include "server/buf.h"
#include "server/msg.h"
#include "server/util.h"

#include <stddef.h>
#include <stdint.h>

#define JL_HIST_ID_MAX 42       /* "18446744073709551615-18446744073709551615" + NUL */

/* Parses "ms-seq" (both decimal, no sign, no spaces, each at most 20
 * digits and within 64 bits).
 * Returns 0, or -1 for anything else. */
int jl_hist_id_parse(const char *s, size_t n, jl_hist_id_t *out);
/* Writes "ms-seq" and a NUL into buf (JL_HIST_ID_MAX bytes); returns the length. */
size_t jl_hist_id_format(jl_hist_id_t id, char *buf);
int jl_hist_id_cmp(jl_hist_id_t a, jl_hist_id_t b);

typedef struct jl_hist_limits {
    size_t per_channel;         /* entries kept per channel; 0: none (ids still issued) */
    size_t channel_bytes;       /* frame bytes kept per channel */
    double max_age;             /* seconds an entry is kept; 0: no age limit */
    size_t memory;              /* all channels together: entries, frames, channel records */
} jl_hist_limits_t;

/* The frame kept for msg under id, cached in msg->frames[JL_FRAME_SSE] so
 * that subscribers share it. *app_off and *app_len locate, inside the frame,
 * an id the payload chose for itself (a JSON "id"), len 0 if none. */
typedef jl_frame_t *(*jl_hist_encode_fn)(void *ud, jl_msg_t *msg, const char *id, size_t id_len,
                                        uint16_t *app_off, uint16_t *app_len);

typedef struct jl_hist_entry {
    jl_list_t in_chan;          /* chan->entries, oldest first */
    jl_list_t in_all;           /* hist->all, oldest first */
    struct jl_hist_chan *chan;
    jl_hist_id_t id;
    double at;                  /* when appended, seconds since the epoch */
    jl_frame_t *frame;          /* one reference */
    jl_frame_t *raw;            /* the payload, one reference, only when frame cannot
                                 * give it back (jl_hist_payload); else NULL */
    uint16_t app_off, app_len;  /* the payload's own id inside frame, if any */
} jl_hist_entry_t;

typedef struct jl_hist_chan jl_hist_chan_t;

typedef struct jl_hist_stats {
    size_t channels;            /* channel records */
    size_t entries;
    size_t bytes;               /* what counts against the memory cap */
    unsigned long long appended, evicted, gaps, replayed;
} jl_hist_stats_t;

typedef struct jl_hist jl_hist_t;

/* A history whose floor is now: it vouches for nothing published before
 * it existed. Times come from the real-time clock (ids are wall-clock ms). */
jl_hist_t *jl_hist_new(const jl_hist_limits_t *lim);
void jl_hist_free(jl_hist_t *h);
void jl_hist_set_encoder(jl_hist_t *h, jl_hist_encode_fn fn, void *ud);
const jl_hist_stats_t *jl_hist_stats(const jl_hist_t *h);
jl_hist_stats_t *jl_hist_counters(jl_hist_t *h);
/* The newest id issued. */
jl_hist_id_t jl_hist_last(const jl_hist_t *h);

/* Gives msg its id (msg->id, msg->has_id), builds its frame with the
 * encoder and keeps it for msg->chan, evicting what the limits say.
 * Without an encoder the message gets an id but nothing is kept. */
void jl_hist_publish(jl_hist_t *h, jl_msg_t *msg);
/* The same for a message whose id was issued elsewhere (a bridged node
 * keeps what the shared history upstream numbered): msg->id must be newer
 * than every id this history knows, and becomes its newest. Returns 0, or
 * -1 (nothing kept) for a message without an id or with an older one. */
int jl_hist_keep(jl_hist_t *h, jl_msg_t *msg);
/* Drops entries older than max_age (the server's cron calls it). */
void jl_hist_expire(jl_hist_t *h);

/* ---- across restarts ---- */

/* Writes everything retained, and the floor, to path (atomically: a
 * temporary file renamed). Returns 0 or -1 (errno says why). */
int jl_hist_save(const jl_hist_t *h, const char *path);
/* Reads what jl_hist_save wrote into a new, empty history: its entries,
 * and its floor, so ids from before the restart resume. *loaded: entries
 * kept. Returns 0; -1 when the file cannot be opened (errno); -2 when it
 * is not a history file or is damaged (then the history keeps its own
 * floor and no entry from the file). The caller removes the file. */
int jl_hist_load(jl_hist_t *h, const char *path, size_t *loaded);

/* ---- resuming ---- */

/* Why a stream may have missed events: retention let them go; they
 * predate what this history (or the shared one) can vouch for; the id
 * names no position; a bridged node's link to its upstream was down,
 * and plain publishes made there meanwhile cannot be recovered; or what
 * it missed is more than its connection may be sent at once (the oldest
 * were skipped, so that the replay does not cut it at the output limit). */
typedef enum {
    JL_GAP_NONE = 0, JL_GAP_EVICTED, JL_GAP_RESTART, JL_GAP_UNKNOWN, JL_GAP_UPSTREAM,
    JL_GAP_OUTPUT_LIMIT
} jl_gap_t;
const char *jl_gap_reason(jl_gap_t g);

/* Turns a Last-Event-ID into a position: an "ms-seq" this history issued
 * (not newer than its last id), or the payload-chosen id of exactly one
 * retained entry of the names in r (see below). Returns 0, or -1 when the
 * text names no position (unknown, ambiguous, from the future). */
typedef struct jl_hist_replay jl_hist_replay_t;
int jl_hist_resolve(const jl_hist_t *h, const jl_hist_replay_t *r, const char *text, size_t n,
                    jl_hist_id_t *out);

/* May a stream that last saw 'from' have missed something on the channel?
 * *lost: how many entries it missed for sure, -1 if not known. */
jl_gap_t jl_hist_gap(const jl_hist_t *h, const char *chan, size_t len, jl_hist_id_t from,
                     long long *lost);
/* The same for a pattern: the worst of its matching channels, or a
 * restart when 'from' predates the floor. */
jl_gap_t jl_hist_gap_pattern(const jl_hist_t *h, const char *pat, size_t len, jl_hist_id_t from,
                             long long *lost);

/* The channels one stream resumes on: add its names, then walk. */
jl_hist_replay_t *jl_hist_replay_new(void);
void jl_hist_replay_free(jl_hist_replay_t *r);
void jl_hist_replay_channel(const jl_hist_t *h, jl_hist_replay_t *r, const char *chan, size_t len);
void jl_hist_replay_pattern(const jl_hist_t *h, jl_hist_replay_t *r, const char *pat, size_t len);
/* Takes the channels whose names start with prefix out of r again (what a
 * stream may not read, that one of its patterns matched). */
void jl_hist_replay_drop_prefix(jl_hist_replay_t *r, const char *prefix, size_t len);
/* Calls fn for every entry of r's channels with id > from, each once, in
 * id order. fn must not publish. Returns the number of entries. */
typedef void (*jl_hist_entry_fn)(void *ud, const jl_hist_entry_t *e);
size_t jl_hist_replay_each(jl_hist_t *h, const jl_hist_replay_t *r, jl_hist_id_t from,
                           jl_hist_entry_fn fn, void *ud);

/* ---- reading: a channel's entries as a stream (XRANGE, XREAD) ---- */

/* Appends to out the payload that frame was encoded from. */
typedef void (*jl_hist_decode_fn)(void *ud, const jl_frame_t *frame, jl_buf_t *out);
/* Installed with the encoder. Without a decoder every kept entry also
 * keeps a copy of its payload. */
void jl_hist_set_decoder(jl_hist_t *h, jl_hist_decode_fn fn, void *ud);
/* Told after an entry was appended to chan (it may already be evicted
 * again by the memory cap): how a reader blocked on chan learns of it.
 * Called before the publish reaches subscribers; must not publish. */
typedef void (*jl_hist_append_fn)(void *ud, const char *chan, size_t len);
void jl_hist_set_on_append(jl_hist_t *h, jl_hist_append_fn fn, void *ud);

/* Entries kept for chan (0 for a name it keeps nothing for). */
size_t jl_hist_len(const jl_hist_t *h, const char *chan, size_t len);
/* Calls fn for the entries of chan with lo <= id <= hi, oldest first (rev:
 * newest first), at most count of them (0: all). fn must not publish.
 * Returns the number of entries. */
size_t jl_hist_range(const jl_hist_t *h, const char *chan, size_t len, jl_hist_id_t lo,
                     jl_hist_id_t hi, int rev, size_t count, jl_hist_entry_fn fn, void *ud);
/* Appends e's payload, byte for byte as published, to out. */
void jl_hist_payload(const jl_hist_t *h, const jl_hist_entry_t *e, jl_buf_t *out);

#endif
