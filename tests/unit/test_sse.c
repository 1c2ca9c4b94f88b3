/* test_sse.c -- unit tests for http/sse.c.
 *
 * Two kinds of test: exact bytes for the cases a reader should be able to
 * check by eye (line splitting, empty and trailing newlines, JSON event/id
 * promotion, Jugglite's comment texts), and a property test that feeds
 * random payloads through jl_sse_event and reads them back with a small
 * model of the WHATWG event-stream parser: whatever the payload, exactly one
 * event must come out and its data must be the payload with CRLF/CR turned
 * into LF. tests/fuzz/fuzz_sse.c checks the same property with libFuzzer. */
#include "http/sse.h"
#include "server/util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* ---- helpers ------------------------------------------------------------ */

/* Encodes payload[0..len) and compares with want[0..want_len) exactly. */
static void check_event(const char *payload, size_t len, const char *want, size_t want_len)
{
    jl_buf_t b = {0};
    jl_sse_event(&b, payload, len);
    if (b.len != want_len || memcmp(b.data, want, want_len) != 0)
        print_error("got %zu bytes: \"%.*s\"\n", b.len, (int)b.len, b.data ? b.data : "");
    assert_int_equal(b.len, want_len);
    assert_memory_equal(b.data, want, want_len);
    jl_buf_free(&b);
}

/* String literals, embedded NULs included (sizeof, not strlen). */
#define EXPECT_EVENT(payload, want) check_event(payload, sizeof(payload) - 1, want, sizeof(want) - 1)

/* ---- a model of the WHATWG event-stream parser (HTML §9.2.6) ------------ */

typedef struct model {
    jl_buf_t data;       /* data buffer */
    jl_buf_t type;       /* event type buffer */
    jl_buf_t last_id;    /* last event ID buffer */
    int events;          /* dispatched events */
    jl_buf_t ev_data;    /* data of the last dispatched event */
    jl_buf_t ev_type;
    int fields_seen;     /* lines that were neither blank nor comments */
    int unknown_fields;  /* fields we never write */
    int id_nul;          /* an id field with NUL (ignored by browsers) */
} model_t;

static void buf_set(jl_buf_t *dst, const char *p, size_t n)
{
    dst->len = 0;
    jl_buf_append(dst, p, n);
}

static void model_dispatch(model_t *m)
{
    if (m->data.len > 0) {
        m->events++;
        buf_set(&m->ev_data, m->data.data, m->data.len - 1); /* drop one LF */
        buf_set(&m->ev_type, m->type.data, m->type.len);
    }
    m->data.len = 0;
    m->type.len = 0;
}

static void model_field(model_t *m, const char *name, size_t nlen, const char *v, size_t vlen)
{
    m->fields_seen++;
    if (nlen == 4 && memcmp(name, "data", 4) == 0) {
        jl_buf_append(&m->data, v, vlen);
        jl_buf_append_char(&m->data, '\n');
    } else if (nlen == 5 && memcmp(name, "event", 5) == 0) {
        buf_set(&m->type, v, vlen);
    } else if (nlen == 2 && memcmp(name, "id", 2) == 0) {
        if (memchr(v, '\0', vlen) != NULL)
            m->id_nul++;
        else
            buf_set(&m->last_id, v, vlen);
    } else {
        m->unknown_fields++;
    }
}

static void model_line(model_t *m, const char *p, size_t n)
{
    if (n == 0) {
        model_dispatch(m);
        return;
    }
    if (p[0] == ':')
        return;
    const char *colon = memchr(p, ':', n);
    if (colon == NULL) {
        model_field(m, p, n, "", 0);
        return;
    }
    const char *v = colon + 1, *end = p + n;
    if (v < end && *v == ' ')
        v++;
    model_field(m, p, (size_t)(colon - p), v, (size_t)(end - v));
}

/* Feeds a whole stream; returns the bytes of an unterminated last line
 * (0 for a well-formed stream). */
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

static void model_free(model_t *m)
{
    jl_buf_free(&m->data);
    jl_buf_free(&m->type);
    jl_buf_free(&m->last_id);
    jl_buf_free(&m->ev_data);
    jl_buf_free(&m->ev_type);
}

/* CRLF and lone CR become LF: what a browser's data can hold. */
static void normalise_newlines(jl_buf_t *out, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n')
            continue;
        jl_buf_append_char(out, p[i] == '\r' ? '\n' : p[i]);
    }
}

/* jl_sse_event_data gives back what the browser sees as the data (the
 * payload with CRLF and CR as LF). */
static void check_data_back(const char *frame, size_t len, const jl_buf_t *want)
{
    jl_buf_t back = {0};
    jl_sse_event_data(frame, len, &back);
    assert_int_equal(back.len, want->len);
    if (want->len > 0)
        assert_memory_equal(back.data, want->data, want->len);
    jl_buf_free(&back);
}

/* The property: one event, data round-trips (to the browser and back
 * through jl_sse_event_data), nothing unexpected. */
static void check_round_trip(const char *payload, size_t len)
{
    jl_buf_t out = {0}, want = {0};
    model_t m = {0};
    jl_sse_event(&out, payload, len);
    assert_int_equal(model_feed(&m, out.data, out.len), 0);
    assert_int_equal(m.events, 1);
    assert_int_equal(m.data.len, 0); /* nothing pending after the blank line */
    assert_int_equal(m.unknown_fields, 0);
    assert_int_equal(m.id_nul, 0);
    normalise_newlines(&want, payload, len);
    assert_int_equal(m.ev_data.len, want.len);
    if (want.len > 0)
        assert_memory_equal(m.ev_data.data, want.data, want.len);
    check_data_back(out.data, out.len, &want);
    /* The same with a server id line: the reader skips it. */
    out.len = 0;
    jl_sse_event_id(&out, payload, len, "17-3", 4, NULL);
    check_data_back(out.data, out.len, &want);
    model_free(&m);
    jl_buf_free(&out);
    jl_buf_free(&want);
}

/* ---- data lines --------------------------------------------------------- */

static void test_sse_single_line(void **state)
{
    (void)state;
    EXPECT_EVENT("hello", "data: hello\n\n");
}

static void test_sse_empty_payload_is_one_empty_data_line(void **state)
{
    (void)state;
    EXPECT_EVENT("", "data: \n\n");
    check_event(NULL, 0, "data: \n\n", 8);
}

static void test_sse_splits_on_lf_cr_and_crlf(void **state)
{
    (void)state;
    EXPECT_EVENT("a\nb", "data: a\ndata: b\n\n");
    EXPECT_EVENT("a\rb", "data: a\ndata: b\n\n");
    EXPECT_EVENT("a\r\nb", "data: a\ndata: b\n\n");
}

static void test_sse_mixed_and_consecutive_breaks(void **state)
{
    (void)state;
    EXPECT_EVENT("a\r\n\nb\r\rc\n\rd",
                 "data: a\ndata: \ndata: b\ndata: \ndata: c\ndata: \ndata: d\n\n");
    /* "\n\r" is two breaks, "\r\n" one */
    EXPECT_EVENT("\n\r", "data: \ndata: \ndata: \n\n");
    EXPECT_EVENT("\r\n", "data: \ndata: \n\n");
    EXPECT_EVENT("\r\n\r\n", "data: \ndata: \ndata: \n\n");
}

static void test_sse_trailing_newlines_survive(void **state)
{
    (void)state;
    EXPECT_EVENT("a\n", "data: a\ndata: \n\n");
    EXPECT_EVENT("a\n\n", "data: a\ndata: \ndata: \n\n");
    EXPECT_EVENT("a\r", "data: a\ndata: \n\n");
    EXPECT_EVENT("\n", "data: \ndata: \n\n");
}

static void test_sse_keeps_whitespace(void **state)
{
    (void)state;
    EXPECT_EVENT(" a", "data:  a\n\n");
    EXPECT_EVENT("  {\n\t\"x\": 1 \n}", "data:   {\ndata: \t\"x\": 1 \ndata: }\n\n");
    EXPECT_EVENT(":not a comment", "data: :not a comment\n\n");
}

static void test_sse_passes_nul_and_invalid_utf8(void **state)
{
    (void)state;
    EXPECT_EVENT("a\0b", "data: a\0b\n\n");
    EXPECT_EVENT("\xff\xfe\xc3(", "data: \xff\xfe\xc3(\n\n");
    EXPECT_EVENT("\xef\xbb\xbfx", "data: \xef\xbb\xbfx\n\n");
}

static void test_sse_appends_to_existing_buffer(void **state)
{
    (void)state;
    jl_buf_t b = {0};
    jl_sse_event(&b, "a", 1);
    jl_sse_event(&b, "b", 1);
    assert_int_equal(b.len, 18);
    assert_memory_equal(b.data, "data: a\n\ndata: b\n\n", 18);
    jl_buf_free(&b);
}

static void test_sse_large_payload(void **state)
{
    (void)state;
    size_t n = 1 << 20;
    char *p = malloc(n);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (i % 1000 == 999) ? '\n' : 'x';
    check_round_trip(p, n);
    free(p);
}

/* ---- JSON event / id ---------------------------------------------------- */

/* The event: and id: lines a JSON payload brings are not data. */
static void test_sse_event_data_skips_fields(void **state)
{
    (void)state;
    static const char p[] = "{\"event\":\"e\",\"id\":\"x\",\"v\":\"data: 1\"}\n";
    jl_buf_t out = {0}, want = {0};
    jl_sse_event_id(&out, p, sizeof p - 1, "1-0", 3, NULL);
    jl_buf_append(&want, p, sizeof p - 1);
    check_data_back(out.data, out.len, &want);
    jl_buf_free(&out);
    jl_buf_free(&want);
}

static void test_sse_json_event_and_id_strings(void **state)
{
    (void)state;
    EXPECT_EVENT("{\"event\":\"chat\",\"id\":\"42\",\"x\":1}",
                 "event: chat\nid: 42\ndata: {\"event\":\"chat\",\"id\":\"42\",\"x\":1}\n\n");
    /* order of fields is event, id whatever the order in the JSON */
    EXPECT_EVENT("{\"id\":\"7\",\"event\":\"e\"}", "event: e\nid: 7\ndata: {\"id\":\"7\",\"event\":\"e\"}\n\n");
    EXPECT_EVENT("{\"event\":\"only\"}", "event: only\ndata: {\"event\":\"only\"}\n\n");
    EXPECT_EVENT("{\"id\":\"only\"}", "id: only\ndata: {\"id\":\"only\"}\n\n");
}

static void test_sse_json_leading_whitespace_and_multiline(void **state)
{
    (void)state;
    EXPECT_EVENT(" \r\n\t{\"event\": \"x\",\n \"id\": 1}",
                 "event: x\nid: 1\ndata:  \ndata: \t{\"event\": \"x\",\ndata:  \"id\": 1}\n\n");
}

static void test_sse_json_unicode_escapes_become_utf8(void **state)
{
    (void)state;
    EXPECT_EVENT("{\"event\":\"caf\\u00e9\"}", "event: caf\xc3\xa9\ndata: {\"event\":\"caf\\u00e9\"}\n\n");
}

static void test_sse_json_empty_string_kept(void **state)
{
    (void)state;
    /* Jugglite writes any truthy value; "" is truthy in Ruby. "id: " resets
     * the browser's last event id, which is what the publisher asked for. */
    EXPECT_EVENT("{\"event\":\"\",\"id\":\"\"}", "event: \nid: \ndata: {\"event\":\"\",\"id\":\"\"}\n\n");
}

static void test_sse_json_numbers(void **state)
{
    (void)state;
    EXPECT_EVENT("{\"id\":42}", "id: 42\ndata: {\"id\":42}\n\n");
    EXPECT_EVENT("{\"id\":-7}", "id: -7\ndata: {\"id\":-7}\n\n");
    EXPECT_EVENT("{\"id\":0.1}", "id: 0.1\ndata: {\"id\":0.1}\n\n");
    EXPECT_EVENT("{\"id\":1.0}", "id: 1.0\ndata: {\"id\":1.0}\n\n");
    EXPECT_EVENT("{\"id\":1e300}", "id: 1e300\ndata: {\"id\":1e300}\n\n");
    EXPECT_EVENT("{\"id\":2.5E2}", "id: 250.0\ndata: {\"id\":2.5E2}\n\n");
    EXPECT_EVENT("{\"id\":100.0}", "id: 100.0\ndata: {\"id\":100.0}\n\n");
    EXPECT_EVENT("{\"id\":1e-7}", "id: 1e-7\ndata: {\"id\":1e-7}\n\n");
    EXPECT_EVENT("{\"id\":0.30000000000000004}", "id: 0.30000000000000004\ndata: {\"id\":0.30000000000000004}\n\n");
    EXPECT_EVENT("{\"event\":3}", "event: 3\ndata: {\"event\":3}\n\n");
    EXPECT_EVENT("{\"id\":9223372036854775807}",
                 "id: 9223372036854775807\ndata: {\"id\":9223372036854775807}\n\n");
}

static void test_sse_json_integer_overflow_drops_fields(void **state)
{
    (void)state;
    /* jansson refuses integers beyond 64 bits: the JSON is "broken" */
    EXPECT_EVENT("{\"event\":\"e\",\"id\":99999999999999999999}",
                 "data: {\"event\":\"e\",\"id\":99999999999999999999}\n\n");
}

static void test_sse_json_values_with_newlines_dropped(void **state)
{
    (void)state;
    EXPECT_EVENT("{\"event\":\"a\\nb\",\"id\":\"1\"}", "id: 1\ndata: {\"event\":\"a\\nb\",\"id\":\"1\"}\n\n");
    EXPECT_EVENT("{\"event\":\"e\",\"id\":\"1\\r\"}", "event: e\ndata: {\"event\":\"e\",\"id\":\"1\\r\"}\n\n");
    EXPECT_EVENT("{\"id\":\"\\r\\ndata: evil\"}", "data: {\"id\":\"\\r\\ndata: evil\"}\n\n");
}

static void test_sse_json_values_with_nul_dropped(void **state)
{
    (void)state;
    EXPECT_EVENT("{\"event\":\"e\",\"id\":\"a\\u0000b\"}", "event: e\ndata: {\"event\":\"e\",\"id\":\"a\\u0000b\"}\n\n");
    EXPECT_EVENT("{\"event\":\"\\u0000\"}", "data: {\"event\":\"\\u0000\"}\n\n");
    /* a NUL elsewhere in the object does not cost the event its fields */
    EXPECT_EVENT("{\"x\":\"\\u0000\",\"id\":\"1\"}", "id: 1\ndata: {\"x\":\"\\u0000\",\"id\":\"1\"}\n\n");
}

static void test_sse_json_other_types_ignored(void **state)
{
    (void)state;
    EXPECT_EVENT("{\"event\":true,\"id\":false}", "data: {\"event\":true,\"id\":false}\n\n");
    EXPECT_EVENT("{\"event\":null,\"id\":\"1\"}", "id: 1\ndata: {\"event\":null,\"id\":\"1\"}\n\n");
    EXPECT_EVENT("{\"event\":{\"a\":1},\"id\":[1]}", "data: {\"event\":{\"a\":1},\"id\":[1]}\n\n");
}

static void test_sse_json_nested_members_ignored(void **state)
{
    (void)state;
    EXPECT_EVENT("{\"x\":{\"event\":\"e\",\"id\":\"1\"}}", "data: {\"x\":{\"event\":\"e\",\"id\":\"1\"}}\n\n");
    EXPECT_EVENT("[{\"event\":\"e\"}]", "data: [{\"event\":\"e\"}]\n\n");
}

static void test_sse_json_duplicate_member_last_wins(void **state)
{
    (void)state;
    EXPECT_EVENT("{\"event\":\"a\",\"event\":\"b\"}", "event: b\ndata: {\"event\":\"a\",\"event\":\"b\"}\n\n");
}

static void test_sse_non_object_json_is_plain_data(void **state)
{
    (void)state;
    EXPECT_EVENT("[1,2]", "data: [1,2]\n\n");
    EXPECT_EVENT("null", "data: null\n\n");
    EXPECT_EVENT("\"str\"", "data: \"str\"\n\n");
    EXPECT_EVENT("42", "data: 42\n\n");
    EXPECT_EVENT("{}", "data: {}\n\n");
}

static void test_sse_broken_json_is_plain_data(void **state)
{
    (void)state;
    EXPECT_EVENT("{\"event\":\"e\"", "data: {\"event\":\"e\"\n\n");
    EXPECT_EVENT("{\"event\":\"e\"} trailing", "data: {\"event\":\"e\"} trailing\n\n");
    EXPECT_EVENT("{\"event\":\"e\"}{}", "data: {\"event\":\"e\"}{}\n\n");
    EXPECT_EVENT("{event:\"e\"}", "data: {event:\"e\"}\n\n");
    EXPECT_EVENT("{", "data: {\n\n");
    EXPECT_EVENT("{\"event\":\"\xff\"}", "data: {\"event\":\"\xff\"}\n\n"); /* invalid UTF-8 */
    EXPECT_EVENT("{\"event\":\"\\ud800\"}", "data: {\"event\":\"\\ud800\"}\n\n"); /* lone surrogate */
    EXPECT_EVENT("{\"event\":\"e\"}\0", "data: {\"event\":\"e\"}\0\n\n");
}

/* ---- comments and retry ------------------------------------------------- */

static void expect_buf(jl_buf_t *b, const char *want)
{
    size_t n = strlen(want);
    assert_int_equal(b->len, n);
    assert_memory_equal(b->data, want, n);
    jl_buf_free(b);
}

static void test_sse_keepalive_text(void **state)
{
    (void)state;
    jl_buf_t b = {0};
    jl_sse_keepalive(&b, 0);
    expect_buf(&b, ": keepalive 0\n");
    jl_sse_keepalive(&b, 12345);
    expect_buf(&b, ": keepalive 12345\n");
    jl_sse_keepalive(&b, (unsigned long)-1);
    char want[64];
    snprintf(want, sizeof want, ": keepalive %lu\n", (unsigned long)-1);
    expect_buf(&b, want);
}

static void test_sse_registered_text(void **state)
{
    (void)state;
    const char *names[] = {"a", "ns:b", ""};
    const size_t lens[] = {1, 4, 0};
    jl_buf_t b = {0};
    jl_sse_registered(&b, names, lens, 2);
    expect_buf(&b, ": registered to channels: a, ns:b\n");
    jl_sse_registered(&b, names, lens, 1);
    expect_buf(&b, ": registered to channels: a\n");
    jl_sse_registered(&b, names, lens, 0);
    expect_buf(&b, ": registered to channels: \n");
    jl_sse_registered(&b, names, lens, 3);
    expect_buf(&b, ": registered to channels: a, ns:b, \n");
}

static void test_sse_registered_cannot_inject_lines(void **state)
{
    (void)state;
    const char *names[] = {"a\r\ndata: x", "b\n", "\rc"};
    const size_t lens[] = {10, 2, 2};
    jl_buf_t b = {0};
    jl_sse_registered(&b, names, lens, 3);
    expect_buf(&b, ": registered to channels: a  data: x, b ,  c\n");

    const char *nul[] = {"a\0b"};
    const size_t nul_len[] = {3};
    jl_sse_registered(&b, nul, nul_len, 1);
    assert_int_equal(b.len, 30);
    assert_memory_equal(b.data, ": registered to channels: a\0b\n", 30);
    jl_buf_free(&b);
}

static void test_sse_comment_and_retry(void **state)
{
    (void)state;
    jl_buf_t b = {0};
    jl_sse_comment(&b, "hi");
    expect_buf(&b, ": hi\n");
    jl_sse_comment(&b, "");
    expect_buf(&b, ": \n");
    jl_sse_comment(&b, "a\nb\r\nc");
    expect_buf(&b, ": a b  c\n");
    jl_sse_retry(&b, 2000);
    expect_buf(&b, "retry: 2000\n\n");
}

static void test_sse_comments_parse_as_nothing(void **state)
{
    (void)state;
    const char *names[] = {"x\ny"};
    const size_t lens[] = {3};
    jl_buf_t b = {0};
    model_t m = {0};
    jl_sse_registered(&b, names, lens, 1);
    jl_sse_keepalive(&b, 3);
    jl_sse_comment(&b, "\r\n\n");
    assert_int_equal(model_feed(&m, b.data, b.len), 0);
    assert_int_equal(m.fields_seen, 0);
    assert_int_equal(m.events, 0);
    model_free(&m);
    jl_buf_free(&b);
}

/* ---- the round-trip property over random payloads ------------------------ */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Bytes that matter to the encoder, often; anything, sometimes. */
static char random_byte(void)
{
    static const char hot[] = "\r\n\r\n :{}\"\\,ab\0";
    if (rng() % 4 == 0)
        return (char)(rng() & 0xff);
    return hot[rng() % (sizeof hot - 1)];
}

static size_t random_text(char *p, size_t max)
{
    size_t n = (size_t)(rng() % (max + 1));
    for (size_t i = 0; i < n; i++)
        p[i] = random_byte();
    return n;
}

/* {"event":"<s>","id":"<s>"}, with CR/LF/NUL sometimes escaped in. */
static size_t random_json(char *p, size_t cap)
{
    static const char *const piece[] = {"x", "\\n", "\\r", "\\u0000", " ", "\\u00e9", "1"};
    size_t n = (size_t)snprintf(p, cap, "{\"event\":\"");
    for (int i = (int)(rng() % 4); i > 0; i--)
        n += (size_t)snprintf(p + n, cap - n, "%s", piece[rng() % JL_ARRAY_LEN(piece)]);
    n += (size_t)snprintf(p + n, cap - n, "\",\"id\":%s,\"d\":\"", rng() % 2 ? "17" : "\"a\\nb\"");
    n += random_text(p + n, 16);
    return n + (size_t)snprintf(p + n, cap - n, "\"}\r\n");
}

static void test_sse_round_trip_random_payloads(void **state)
{
    (void)state;
    char p[256];
    for (int i = 0; i < 20000; i++) {
        size_t n = (i % 3 == 0) ? random_json(p, sizeof p) : random_text(p, 64);
        check_round_trip(p, n);
    }
}

static void test_sse_round_trip_every_short_payload(void **state)
{
    (void)state;
    /* every string of length <= 4 over the bytes that steer the encoder */
    static const char alpha[] = {'\r', '\n', 'a', ' ', '\0', '{'};
    const size_t k = sizeof alpha;
    char p[4];
    for (size_t len = 0; len <= 4; len++) {
        size_t total = 1;
        for (size_t i = 0; i < len; i++)
            total *= k;
        for (size_t v = 0; v < total; v++) {
            size_t x = v;
            for (size_t i = 0; i < len; i++, x /= k)
                p[i] = alpha[x % k];
            check_round_trip(p, len);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sse_single_line),
        cmocka_unit_test(test_sse_empty_payload_is_one_empty_data_line),
        cmocka_unit_test(test_sse_splits_on_lf_cr_and_crlf),
        cmocka_unit_test(test_sse_mixed_and_consecutive_breaks),
        cmocka_unit_test(test_sse_trailing_newlines_survive),
        cmocka_unit_test(test_sse_keeps_whitespace),
        cmocka_unit_test(test_sse_passes_nul_and_invalid_utf8),
        cmocka_unit_test(test_sse_appends_to_existing_buffer),
        cmocka_unit_test(test_sse_large_payload),
        cmocka_unit_test(test_sse_event_data_skips_fields),
        cmocka_unit_test(test_sse_json_event_and_id_strings),
        cmocka_unit_test(test_sse_json_leading_whitespace_and_multiline),
        cmocka_unit_test(test_sse_json_unicode_escapes_become_utf8),
        cmocka_unit_test(test_sse_json_empty_string_kept),
        cmocka_unit_test(test_sse_json_numbers),
        cmocka_unit_test(test_sse_json_integer_overflow_drops_fields),
        cmocka_unit_test(test_sse_json_values_with_newlines_dropped),
        cmocka_unit_test(test_sse_json_values_with_nul_dropped),
        cmocka_unit_test(test_sse_json_other_types_ignored),
        cmocka_unit_test(test_sse_json_nested_members_ignored),
        cmocka_unit_test(test_sse_json_duplicate_member_last_wins),
        cmocka_unit_test(test_sse_non_object_json_is_plain_data),
        cmocka_unit_test(test_sse_broken_json_is_plain_data),
        cmocka_unit_test(test_sse_keepalive_text),
        cmocka_unit_test(test_sse_registered_text),
        cmocka_unit_test(test_sse_registered_cannot_inject_lines),
        cmocka_unit_test(test_sse_comment_and_retry),
        cmocka_unit_test(test_sse_comments_parse_as_nothing),
        cmocka_unit_test(test_sse_round_trip_random_payloads),
        cmocka_unit_test(test_sse_round_trip_every_short_payload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
