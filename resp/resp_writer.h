/* resp_writer.h -- RESP2/RESP3 encoders, no I/O.
 *
 * Every function appends exact wire bytes to a jl_buf_t. Where RESP2 and
 * RESP3 differ (null, map, push) the function takes the protocol version.
 * jl_resp_message_frame builds the immutable frame that is shared by every
 * subscriber of a publish (see server/msg.h). */
#ifndef JL_RESP_WRITER_H
#define JL_RESP_WRITER_H

#include "server/buf.h"
#include "server/msg.h"

#include <stddef.h>

void jl_resp_simple(jl_buf_t *b, const char *s);                 /* +s\r\n */
void jl_resp_error(jl_buf_t *b, const char *s);                  /* -s\r\n (s includes "ERR ...") */
void jl_resp_errorf(jl_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void jl_resp_integer(jl_buf_t *b, long long v);                  /* :v\r\n */
void jl_resp_bulk(jl_buf_t *b, const char *p, size_t n);         /* $n\r\n...\r\n */
void jl_resp_bulk_str(jl_buf_t *b, const char *s);
void jl_resp_null(jl_buf_t *b, int proto);                       /* $-1 or _ */
void jl_resp_null_array(jl_buf_t *b, int proto);                 /* *-1 or _ */
void jl_resp_array(jl_buf_t *b, size_t n);                       /* *n */
void jl_resp_push(jl_buf_t *b, int proto, size_t n);             /* *n (RESP2) or >n */
void jl_resp_map(jl_buf_t *b, int proto, size_t npairs);         /* *2n or %n */
void jl_resp_set(jl_buf_t *b, int proto, size_t n);              /* *n or ~n */
void jl_resp_verbatim(jl_buf_t *b, int proto, const char *p, size_t n); /* $ or =n txt: */
void jl_resp_double(jl_buf_t *b, int proto, double d);           /* bulk or ,d */

/* A command as a client sends it: an array of argc bulk strings. */
void jl_resp_command(jl_buf_t *b, size_t argc, const char *const *argv, const size_t *lens);

/* The frame a subscriber receives for 'msg': kind "message" or "smessage"
 * (msg->shard), or "pmessage" with msg->pattern when 'pattern' is 1.
 * proto 2 gives "*3" or "*4", proto 3 ">3" or ">4". refs = 1, owned by the
 * caller. The frame has exactly the bytes needed (cap == len). */
jl_frame_t *jl_resp_message_frame(const jl_msg_t *msg, int proto, int pattern);

#endif
