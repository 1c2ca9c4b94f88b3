/* fuzz_sse.c -- libFuzzer target for http/sse.c.
 *
 * Beyond "no crash, no sanitizer report", this target checks the property
 * the SSE encoder exists for: whatever the payload, the bytes it writes,
 * read back by a model of the WHATWG event-stream parser (HTML §9.2.6),
 * are exactly one event whose data is the payload with CRLF and CR turned
 * into LF; the only fields are event, id and data, each event/id at most
 * once, before the data, never holding NUL, and only for payloads that
 * start with '{'. It also checks that the registration comment, built from
 * the input split on '|', stays a single comment line. */
#include "http/sse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)               \
    do {                          \
        if (!(cond))              \
            __builtin_trap();     \
    } while (0)

typedef struct model {
    jl_buf_t data;    /* data buffer */
    jl_buf_t ev_data; /* data of the dispatched event */
    int events, events_fields, ids, data_lines, blank_lines;
} model_t;

static int is_name(const char *p, size_t n, const char *name)
{
    return n == strlen(name) && memcmp(p, name, n) == 0;
}

static void model_dispatch(model_t *m)
{
    m->blank_lines++;
    if (m->data.len == 0)
        return;
    m->events++;
    m->ev_data.len = 0;
    jl_buf_append(&m->ev_data, m->data.data, m->data.len - 1);
    m->data.len = 0;
}

static void model_field(model_t *m, const char *name, size_t nlen, const char *v, size_t vlen)
{
    CHECK(m->blank_lines == 0); /* nothing after the event's blank line */
    if (is_name(name, nlen, "data")) {
        m->data_lines++;
        jl_buf_append(&m->data, v, vlen);
        jl_buf_append_char(&m->data, '\n');
        return;
    }
    CHECK(m->data_lines == 0); /* event/id come first */
    CHECK(memchr(v, '\0', vlen) == NULL);
    if (is_name(name, nlen, "event"))
        m->events_fields++;
    else if (is_name(name, nlen, "id"))
        m->ids++;
    else
        CHECK(0); /* a field we never write: injection */
}

static void model_line(model_t *m, const char *p, size_t n)
{
    if (n == 0) {
        model_dispatch(m);
        return;
    }
    CHECK(p[0] != ':'); /* events hold no comments */
    const char *colon = memchr(p, ':', n);
    CHECK(colon != NULL); /* we always write "name: value" */
    const char *v = colon + 1, *end = p + n;
    if (v < end && *v == ' ')
        v++;
    model_field(m, p, (size_t)(colon - p), v, (size_t)(end - v));
}

/* Returns the length of an unterminated last line (0 when well formed). */
static size_t model_feed(model_t *m, const char *s, size_t len)
{
    size_t start = 0, i = 0;
    while (i < len) {
        if (s[i] != '\r' && s[i] != '\n') {
            i++;
            continue;
        }
        model_line(m, s + start, i - start);
        i += (s[i] == '\r' && i + 1 < len && s[i + 1] == '\n') ? 2 : 1;
        start = i;
    }
    return len - start;
}

static void normalise_newlines(jl_buf_t *out, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n')
            continue;
        jl_buf_append_char(out, p[i] == '\r' ? '\n' : p[i]);
    }
}

static int starts_with_brace(const char *p, size_t n)
{
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
        i++;
    return i < n && p[i] == '{';
}

static void check_event(const char *p, size_t n)
{
    jl_buf_t out = {0}, want = {0};
    model_t m = {0};
    jl_sse_event(&out, p, n);
    CHECK(model_feed(&m, out.data, out.len) == 0);
    CHECK(m.events == 1 && m.blank_lines == 1);
    CHECK(m.events_fields <= 1 && m.ids <= 1);
    if (!starts_with_brace(p, n))
        CHECK(m.events_fields == 0 && m.ids == 0);
    normalise_newlines(&want, p, n);
    CHECK(m.ev_data.len == want.len);
    CHECK(want.len == 0 || memcmp(m.ev_data.data, want.data, want.len) == 0);
    jl_buf_free(&m.data);
    jl_buf_free(&m.ev_data);
    jl_buf_free(&out);
    jl_buf_free(&want);
}

#define MAX_NAMES 64

static void check_registered(const char *p, size_t n)
{
    const char *names[MAX_NAMES];
    size_t lens[MAX_NAMES], k = 0;
    const char *s = p, *end = p + n;
    while (k < MAX_NAMES) {
        const char *bar = n ? memchr(s, '|', (size_t)(end - s)) : NULL;
        names[k] = s;
        lens[k++] = bar ? (size_t)(bar - s) : (size_t)(end - s);
        if (bar == NULL)
            break;
        s = bar + 1;
    }
    jl_buf_t out = {0};
    jl_sse_registered(&out, names, lens, k);
    CHECK(out.len >= 2 && out.data[0] == ':' && out.data[out.len - 1] == '\n');
    CHECK(memchr(out.data, '\r', out.len) == NULL);
    CHECK(memchr(out.data, '\n', out.len) == out.data + out.len - 1);
    jl_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = size ? (const char *)data : "";
    check_event(p, size);
    check_registered(p, size);
    return 0;
}
