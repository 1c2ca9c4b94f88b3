/* sse.c -- Server-Sent Events serialization (see sse.h).
 *
 * A publish is framed here once and the frame is shared by every SSE
 * subscriber, so this file may allocate and parse JSON, but it must never
 * let a payload byte change the structure of the stream: every CR or LF in
 * the payload starts a new "data: " line, and an event/id value that could
 * end a line (or, for id, be ignored by the browser because of a NUL) is
 * dropped rather than escaped -- SSE has no escaping. The browser side of
 * this contract is WHATWG HTML §9.2.6; tests/fuzz/fuzz_sse.c parses our
 * output with a model of it and checks the round trip. */
#include "http/sse.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* 17 significant digits always read back as the same double; jansson's
 * default (17) prints 0.1 as 0.10000000000000001, so dump_real searches. */
#define REAL_MAX_PRECISION 17

static int is_json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* Cheap pre-check so that plain-text payloads never reach the JSON parser. */
static int looks_like_object(const char *p, size_t len)
{
    size_t i = 0;
    while (i < len && is_json_space(p[i]))
        i++;
    return i < len && p[i] == '{';
}

/* A field value must not end the line early (CR, LF) and an id with NUL is
 * ignored whole by browsers (WHATWG: "If the field value does not contain
 * U+0000 NULL"), so both are refused for event and id alike. */
static int field_value_safe(const char *v, size_t n)
{
    return memchr(v, '\r', n) == NULL && memchr(v, '\n', n) == NULL && memchr(v, '\0', n) == NULL;
}

static void append_field(jl_buf_t *b, const char *name, const char *v, size_t n)
{
    jl_buf_append_str(b, name);
    jl_buf_append(b, ": ", 2);
    jl_buf_append(b, v, n);
    jl_buf_append_char(b, '\n');
}

static int real_reads_back(const char *text, double want)
{
    json_t *back = json_loads(text, JSON_DECODE_ANY, NULL);
    int same = back != NULL && json_is_real(back) && json_real_value(back) == want;
    json_decref(back);
    return same;
}

/* jansson formats the text (locale-independent, always with '.' or 'e');
 * we only pick the precision: the shortest that reads back equal, but a
 * longer one if that avoids the exponent (100.0, not 1e2, as Ruby prints
 * it). Reals as ids are rare, so trying every precision is fine. */
static char *dump_real(const json_t *v)
{
    double want = json_real_value(v);
    char *with_exponent = NULL;
    for (int p = 1; p <= REAL_MAX_PRECISION; p++) {
        char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(p));
        if (s == NULL || !real_reads_back(s, want)) {
            free(s);
            continue;
        }
        if (strchr(s, 'e') == NULL) {
            free(with_exponent);
            return s;
        }
        if (with_exponent == NULL)
            with_exponent = s;
        else
            free(s);
    }
    return with_exponent;
}

/* Writes one promoted member; anything but a string or number is ignored
 * (Jugglite would print Ruby's to_s of it, which no client can use). */
static void append_json_field(jl_buf_t *b, const char *name, const json_t *v)
{
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        if (field_value_safe(s, n))
            append_field(b, name, s, n);
        return;
    }
    if (!json_is_number(v))
        return;
    char *text = json_is_real(v) ? dump_real(v) : json_dumps(v, JSON_ENCODE_ANY);
    if (text != NULL)
        append_field(b, name, text, strlen(text));
    free(text);
}

/* JSON_ALLOW_NUL: a "\u0000" in some other member must not cost the
 * payload its event/id; a NUL in event/id itself is caught by
 * field_value_safe. Without a usable JSON id the server's id (if any) is
 * written; *app says where a JSON id's value went (len 0: none). */
static void append_promoted_fields(jl_buf_t *b, const char *payload, size_t len,
                                   const char *id, size_t id_len, jl_sse_span_t *app)
{
    json_t *root = NULL;
    app->off = app->len = 0;
    if (looks_like_object(payload, len))
        root = json_loadb(payload, len, JSON_ALLOW_NUL, NULL);
    size_t before = b->len;
    if (json_is_object(root)) {
        append_json_field(b, "event", json_object_get(root, "event"));
        before = b->len;
        append_json_field(b, "id", json_object_get(root, "id"));
    }
    json_decref(root);
    if (b->len > before) {
        app->off = before + 4;              /* "id: " */
        app->len = b->len - before - 5;     /* and the "\n" */
        return;
    }
    if (id != NULL)
        append_field(b, "id", id, id_len);
}

/* First CR or LF in [p, end), or end. */
static const char *find_eol(const char *p, const char *end)
{
    while (p < end && *p != '\r' && *p != '\n')
        p++;
    return p;
}

/* One "data: " line per piece between line breaks. The last piece is
 * always written, even when empty: that is what turns "" into "data: \n"
 * and keeps a trailing newline alive. */
static void append_data(jl_buf_t *b, const char *payload, size_t len)
{
    const char *p = payload, *end = payload + len;
    for (;;) {
        const char *eol = find_eol(p, end);
        jl_buf_append(b, "data: ", 6);
        jl_buf_append(b, p, (size_t)(eol - p));
        jl_buf_append_char(b, '\n');
        if (eol == end)
            return;
        p = eol + 1;
        if (*eol == '\r' && p < end && *p == '\n')
            p++;
    }
}

void jl_sse_event_id(jl_buf_t *b, const char *payload, size_t len, const char *id,
                     size_t id_len, jl_sse_span_t *app)
{
    jl_sse_span_t ignored;
    if (len == 0)
        payload = ""; /* callers may pass NULL, 0; NULL + 0 is not C */
    jl_buf_reserve(b, len + id_len + sizeof "id: \ndata: \n\n");
    append_promoted_fields(b, payload, len, id, id_len, app ? app : &ignored);
    append_data(b, payload, len);
    jl_buf_append_char(b, '\n');
}

/* Our events have one LF per line and end with an empty line; only the
 * data lines start with "data: " (the others are "event: " and "id: "). */
void jl_sse_event_data(const char *frame, size_t len, jl_buf_t *out)
{
    const char *p = frame, *end = frame + len;
    int first = 1;
    while (p < end && *p != '\n') {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (eol == NULL)
            eol = end;
        if ((size_t)(eol - p) >= 6 && memcmp(p, "data: ", 6) == 0) {
            if (!first)
                jl_buf_append_char(out, '\n');
            jl_buf_append(out, p + 6, (size_t)(eol - p - 6));
            first = 0;
        }
        p = eol + 1;
    }
}

void jl_sse_event(jl_buf_t *b, const char *payload, size_t len)
{
    jl_sse_event_id(b, payload, len, NULL, 0, NULL);
}

void jl_sse_gap(jl_buf_t *b, const char *json, size_t len, const char *id, size_t id_len)
{
    jl_buf_append_str(b, "event: jugglite-gap\n");
    if (id != NULL)
        append_field(b, "id", id, id_len);
    append_data(b, json, len);
    jl_buf_append_char(b, '\n');
}

void jl_sse_token_expired(jl_buf_t *b, const char *json, size_t len)
{
    jl_buf_append_str(b, "event: jugglite-token-expired\n");
    append_data(b, json, len);
    jl_buf_append_char(b, '\n');
}

/* Copies s[0..n) with CR and LF written as spaces: text that is meant to
 * stay inside one comment line. */
static void append_one_line(jl_buf_t *b, const char *s, size_t n)
{
    if (n == 0)
        return; /* s may be NULL then */
    const char *p = s, *end = s + n;
    while (p < end) {
        const char *eol = find_eol(p, end);
        jl_buf_append(b, p, (size_t)(eol - p));
        if (eol == end)
            return;
        jl_buf_append_char(b, ' ');
        p = eol + 1;
    }
}

void jl_sse_comment(jl_buf_t *b, const char *text)
{
    jl_buf_append(b, ": ", 2);
    append_one_line(b, text, strlen(text));
    jl_buf_append_char(b, '\n');
}

void jl_sse_keepalive(jl_buf_t *b, unsigned long n) { jl_buf_printf(b, ": keepalive %lu\n", n); }

void jl_sse_registered(jl_buf_t *b, const char *const *names, const size_t *lens, size_t n)
{
    jl_buf_append_str(b, ": registered to channels: ");
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            jl_buf_append(b, ", ", 2);
        append_one_line(b, names[i], lens[i]);
    }
    jl_buf_append_char(b, '\n');
}

void jl_sse_retry(jl_buf_t *b, unsigned ms) { jl_buf_printf(b, "retry: %u\n\n", ms); }
