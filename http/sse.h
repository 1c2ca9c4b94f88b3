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
 * The data stays the payload unchanged.
 *
 * The guarantee every function here keeps: no input byte can change the
 * structure of the stream. Whatever the payload, the output parses (by the
 * WHATWG algorithm) as exactly one event whose data is the payload with CRLF
 * and CR turned into LF; comments stay one comment line. Nothing here fails:
 * buffers grow through jl_malloc, which aborts on out-of-memory. */
#ifndef JL_SSE_H
#define JL_SSE_H

#include "server/buf.h"

#include <stddef.h>

/* Appends the event for payload[0..len) to b:
 *   ["event: E\n"] ["id: I\n"] "data: line\n"... "\n"
 * The payload is bytes: NUL and invalid UTF-8 pass through unchanged (the
 * browser's decoder replaces invalid sequences with U+FFFD).
 * E and I come from a payload whose first non-whitespace byte is '{' and
 * which jansson parses as an object: members "event" and "id" that are
 * strings (written as-is, even when empty) or numbers (integers as JSON
 * text; reals in the shortest form that reads back equal, e.g. 0.1, 1.0,
 * 1e300). A string holding CR, LF or NUL (\u0000) is dropped. If the JSON
 * does not parse -- including an integer beyond 64 bits, which jansson
 * rejects -- there are no E/I fields; the data is written all the same.
 * Duplicate members: the last one wins (as with Ruby's JSON.parse). */
void jl_sse_event(jl_buf_t *b, const char *payload, size_t len);

/* Where, in the buffer, a value was written. */
typedef struct jl_sse_span {
    size_t off, len;
} jl_sse_span_t;

/* jl_sse_event with the server's id: written as "id: I" unless the payload
 * brings its own JSON id, which wins (Jugglite); *app (may be NULL) says
 * where that JSON id's value is in b (len 0: the server's id was used).
 * id must hold no CR, LF or NUL. */
void jl_sse_event_id(jl_buf_t *b, const char *payload, size_t len, const char *id,
                     size_t id_len, jl_sse_span_t *app);

/* The inverse of jl_sse_event_id for an event it wrote: appends to out the
 * event's data, its "data: " lines joined by LF (the event:/id: lines are
 * skipped). That is the payload itself unless the payload held a CR: SSE
 * has no escaping, so CRLF and CR came out as LF. */
void jl_sse_event_data(const char *frame, size_t len, jl_buf_t *out);

/* Appends the named event that tells a resuming stream it missed events:
 * "event: jugglite-gap\n[id: I\n]data: <json>\n\n". Without an id the
 * browser keeps the one it had; id (no CR, LF or NUL) may be NULL. */
void jl_sse_gap(jl_buf_t *b, const char *json, size_t len, const char *id, size_t id_len);

/* Appends the named event a stream gets when its token expires, before it
 * ends with a retry: "event: jugglite-token-expired\ndata: <json>\n\n".
 * No id: the browser resumes from the last event it had. */
void jl_sse_token_expired(jl_buf_t *b, const char *json, size_t len);

/* Appends ": <text>\n". A CR or LF in text is written as a space, so a
 * comment can never become a field or end the event. */
void jl_sse_comment(jl_buf_t *b, const char *text);

/* Appends ": keepalive <n>\n" -- Jugglite's keepalive comment, byte for
 * byte (a single LF, no blank line; n = connected SSE clients). */
void jl_sse_keepalive(jl_buf_t *b, unsigned long n);

/* Appends ": registered to channels: a, b\n" -- Jugglite's first comment:
 * names[i][0..lens[i]) joined by ", " (n == 0 gives the text with nothing
 * after "channels: "). Channel names come from the query string and may hold
 * any byte: CR and LF are written as a space (not dropped, so the name's
 * length and the position of the other bytes stay visible); NUL and other
 * bytes pass, since a comment line ignores them. */
void jl_sse_registered(jl_buf_t *b, const char *const *names, const size_t *lens, size_t n);

/* Appends "retry: <ms>\n\n". */
void jl_sse_retry(jl_buf_t *b, unsigned ms);

#endif
