/* sse.h -- Server-Sent Events encoding, no I/O.
 *
 * Turns a published payload into one SSE event following the WHATWG rules:
 * one "data: " line per payload line (split on CRLF, LF and CR; the space is
 * always written so leading spaces survive), an empty payload is "data: \n",
 * a trailing newline yields a final empty "data: " line, and the event ends
 * with a blank line. If the payload is a JSON object with top-level "event"
 * and/or "id" members (Jugglite compatibility), they become "event:" /
 * "id:" fields -- strings as-is, numbers as their JSON text, anything else
 * ignored; a value containing CR, LF or NUL is dropped, never written raw.
 * The data stays the payload unchanged. */
#ifndef JL_SSE_H
#define JL_SSE_H

#include "../server/buf.h"

#include <stddef.h>

/* Appends the event for 'payload' to b. */
void jl_sse_event(jl_buf_t *b, const char *payload, size_t len);
/* Appends ": <text>\n" (text must hold no CR/LF). */
void jl_sse_comment(jl_buf_t *b, const char *text);
/* Appends "retry: <ms>\n\n". */
void jl_sse_retry(jl_buf_t *b, unsigned ms);
#endif
