/* upstream_history.h -- the history bridged nodes share, kept in the upstream Redis.
 *
 * A bridged node cannot number publishes with its own clock: a browser
 * that resumes on another node must find the same ids there. So the ids
 * and the history live upstream, in Redis Streams, and every publish made
 * through a node runs one function there (FCALL jugglite_publish, atomic:
 * one order, one id; an application may call it too, straight on Redis):
 *
 *   id  = the next "ms-seq" of one clock (hash jugglite:clock: floor, ms, seq)
 *   XADD jugglite:h:<channel> MAXLEN ~ <history-size> <id> data <payload>
 *        (then XTRIM MINID ~ and PEXPIRE for --history-age)
 *   PUBLISH jugglite:ids "<id> <channel>"    -- tells every node the id
 *   PUBLISH <channel> <payload>              -- what every subscriber gets
 *
 * A node subscribes to jugglite:ids; since Redis writes one function call's pushes
 * to a connection back to back, the pushes of <channel> that follow an id
 * announcement on a node's connection are that publish's, as many as the
 * node has confirmed subscriptions matching <channel> (upstream.c counts).
 * A plain PUBLISH made straight on Redis has no announcement, hence no id.
 *
 * Reading (a stream resuming, a node catching up after its link returned)
 * is a second function (jugglite_read): for every channel, and every stream key a pattern
 * matches (SCAN), the entries after an id, newest history-size + 1, and
 * the stream's max-deleted-entry-id, with the clock: enough to say what
 * was missed and whether something is gone (the rules are in
 * jl_uph_read_reply). This file owns the library, the commands that run
 * it and the reading of the replies; no state. */
#ifndef JL_UPSTREAM_HISTORY_H
#define JL_UPSTREAM_HISTORY_H

#include "resp/resp_parser.h"
#include "server/buf.h"
#include "server/relay.h"

#define JL_UPH_IDS "jugglite:ids"       /* the id announcements' channel */
#define JL_UPH_IDS_LEN 12

/* FUNCTION LOAD REPLACE of the library. */
void jl_uph_load_command(jl_buf_t *out);
/* FCALL jugglite_publish for pub (not a shard publish). */
void jl_uph_publish_command(jl_buf_t *out, const jl_pub_t *pub, size_t keep, double max_age);
/* FCALL jugglite_read: names after 'from' (an "ms-seq"; "" for
 * everything retained), at most keep + 1 entries per stream key. */
void jl_uph_read_command(jl_buf_t *out, const jl_relay_name_t *names, size_t n, const char *from,
                         size_t keep);

/* Parses an id announcement "<ms-seq> <channel>". Returns 0 or -1. */
int jl_uph_parse_announce(const char *s, size_t n, jl_hist_id_t *id, const char **chan,
                          size_t *chan_len);

/* The read reply, turned into what a resume needs. Owns its arrays; the
 * strings point into the reply value, which must outlive it. */
typedef struct jl_uph_read {
    jl_relay_history_t h;       /* h.e, h.gap, h.lost point into the arrays below */
    jl_relay_entry_t *e;
    jl_gap_t *gap;
    long long *lost;
} jl_uph_read_t;

/* Reads v, the reply to jl_uph_read_command(names, n, from_text, keep).
 * from_known: from was a valid id (else every name has an unknown gap).
 * Returns 0, or -1 when v is not what jugglite_read returns. */
int jl_uph_read_reply(const jl_resp_value_t *v, size_t n, int from_known, jl_hist_id_t from,
                      size_t keep, double max_age, jl_uph_read_t *out);
void jl_uph_read_free(jl_uph_read_t *r);

#endif
