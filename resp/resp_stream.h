/* resp_stream.h -- a channel's history, read as a Redis stream.
 *
 * A RESP client that reconnects has missed what was published meanwhile;
 * the history (server/history.h) kept it for the browsers, and these
 * commands let the client read the same entries: XRANGE, XREVRANGE, XLEN
 * and XREAD [COUNT n] [BLOCK ms] STREAMS, with Redis 7.0's replies and
 * errors byte for byte. The key is the channel's name as the history keeps
 * it (the name published; for HTTP publishes it includes --namespace).
 * Each entry is a stream entry with the history's id and one field,
 * "data", whose value is the payload as published. No command writes: the
 * only way into a stream is a publish.
 *
 * Who owns what: the command table (resp_commands.c) parses nothing of
 * these commands and hands over the whole argument vector; this module
 * writes the reply into the given buffer, or blocks the client (XREAD
 * BLOCK): then it owns the client's wait (c->xread) until a publish to one
 * of its keys or the timeout answers it, or the client goes away
 * (jl_resp_stream_forget). A blocked client's further input waits in its
 * buffer; the connection keeps reading, so a peer that leaves is noticed. */
#ifndef JL_RESP_STREAM_H
#define JL_RESP_STREAM_H

#include "resp/resp_client.h"
#include "server/buf.h"

#include <stddef.h>

/* The stream entry's one field name. */
#define JL_RESP_STREAM_FIELD "data"

/* XRANGE key start end [COUNT n] (rev 0) / XREVRANGE key end start [COUNT n]
 * (rev 1); argv[0] is the command name. */
void jl_resp_stream_range(jl_resp_client_t *c, size_t argc, const char *const *argv,
                          const size_t *len, jl_buf_t *reply, int rev);
/* XLEN key */
void jl_resp_stream_len(jl_resp_client_t *c, size_t argc, const char *const *argv,
                        const size_t *len, jl_buf_t *reply);
/* XREAD [COUNT n] [BLOCK ms] STREAMS key... id...: replies at once, or
 * (BLOCK, nothing to read yet, not inside EXEC) blocks c and replies later. */
void jl_resp_stream_read(jl_resp_client_t *c, size_t argc, const char *const *argv,
                         const size_t *len, jl_buf_t *reply);

/* Is c waiting in XREAD BLOCK? Its later commands wait too. */
static inline int jl_resp_stream_blocked(const jl_resp_client_t *c) { return c->xread != NULL; }
/* Ends c's wait without a reply (c is being freed). No-op if none. */
void jl_resp_stream_forget(jl_resp_client_t *c);

/* Hooks the history's appends, to answer blocked readers (jl_resp_new),
 * and unhooks them (jl_resp_free). */
void jl_resp_stream_init(jl_resp_t *resp);
void jl_resp_stream_fini(jl_resp_t *resp);

#endif
