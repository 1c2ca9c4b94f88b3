/* test_log.c -- server/log.c: the JSON escaper and the lines jl_log writes.
 *
 * jl_log_json_escape is checked rule by rule (quotes, backslashes, control
 * characters, each kind of malformed UTF-8), then as a property: on random
 * bytes, with every capacity, what it writes is always a valid JSON string
 * body (jansson is the judge) and a prefix of what a bigger buffer gets.
 * jl_log itself runs with fd 2 sent to a temporary file: the JSON line has
 * its four keys in order and parses even when the message is cut, and the
 * text line is the one the server has always written. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/log.h"
#include "server/util.h"

/* ---- jl_log_json_escape ---- */

/* Escapes src[0..len) with room to spare; the result must be 'want'. */
static void expect_escape(const char *src, size_t len, const char *want)
{
    char out[512];
    size_t used = 0;
    size_t n = jl_log_json_escape(out, sizeof out, src, len, &used);
    assert_int_equal(used, len);
    assert_true(n < sizeof out);
    out[n] = '\0';
    assert_string_equal(out, want);
}

#define EXPECT_ESCAPE(lit, want) expect_escape(lit, sizeof lit - 1, want)

/* '"' + body + '"' parses as one JSON string; returns its UTF-8 length (or
 * fails the test). dec (unless NULL) gets the decoded bytes. */
static size_t expect_json_string(const char *body, size_t n, char *dec, size_t dec_cap)
{
    char *doc = malloc(n + 3);
    assert_non_null(doc);
    doc[0] = '"';
    memcpy(doc + 1, body, n);
    doc[n + 1] = '"';
    doc[n + 2] = '\0';
    json_error_t err;
    json_t *v = json_loadb(doc, n + 2, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    if (v == NULL)
        fail_msg("not a JSON string: %s (%s)", doc, err.text);
    assert_true(json_is_string(v));
    size_t len = json_string_length(v);
    if (dec) {
        assert_true(len <= dec_cap);
        memcpy(dec, json_string_value(v), len);
    }
    json_decref(v);
    free(doc);
    return len;
}

static void test_escape_plain_text_is_kept(void **state)
{
    (void)state;
    EXPECT_ESCAPE("", "");
    EXPECT_ESCAPE("RESP listening on 127.0.0.1:6380", "RESP listening on 127.0.0.1:6380");
    EXPECT_ESCAPE("a/b <c> 'd' {e}", "a/b <c> 'd' {e}");
}

static void test_escape_quotes_and_backslashes(void **state)
{
    (void)state;
    EXPECT_ESCAPE("\"", "\\\"");
    EXPECT_ESCAPE("\\", "\\\\");
    EXPECT_ESCAPE("say \"hi\\n\"", "say \\\"hi\\\\n\\\"");
}

static void test_escape_control_characters(void **state)
{
    (void)state;
    EXPECT_ESCAPE("\n", "\\u000a");
    EXPECT_ESCAPE("a\tb\r\n", "a\\u0009b\\u000d\\u000a");
    EXPECT_ESCAPE("\x01\x1f\x7f", "\\u0001\\u001f\\u007f");
    EXPECT_ESCAPE("\x1b[31m", "\\u001b[31m");
    expect_escape("a\0b", 3, "a\\u0000b");
    EXPECT_ESCAPE(" ~", " ~");     /* the printable ends are kept */
}

static void test_escape_keeps_well_formed_utf8(void **state)
{
    (void)state;
    /* U+00E9, U+20AC, U+FFFD itself, U+1F600, and the edges U+0080,
     * U+07FF, U+0800, U+D7FF, U+E000, U+FFFF, U+10000, U+10FFFF. */
    static const char *const ok[] = {
        "\xc3\xa9", "\xe2\x82\xac", "\xef\xbf\xbd", "\xf0\x9f\x98\x80",
        "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf", "\xee\x80\x80",
        "\xef\xbf\xbf", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf", "caf\xc3\xa9 \xe2\x82\xac" "5",
    };
    for (size_t i = 0; i < JL_ARRAY_LEN(ok); i++)
        expect_escape(ok[i], strlen(ok[i]), ok[i]);
}

static void test_escape_replaces_malformed_utf8(void **state)
{
    (void)state;
    EXPECT_ESCAPE("\xff", "\\ufffd");
    EXPECT_ESCAPE("\xfe\xc0\xc1\xf5\xf8", "\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd");
    EXPECT_ESCAPE("a\x80z", "a\\ufffdz");                       /* a lone continuation */
    EXPECT_ESCAPE("\xc3(", "\\ufffd(");                         /* a lead without one */
    EXPECT_ESCAPE("\xc0\x80", "\\ufffd\\ufffd");                /* overlong NUL */
    EXPECT_ESCAPE("\xc1\xbf", "\\ufffd\\ufffd");                /* overlong U+007F */
    EXPECT_ESCAPE("\xe0\x80\xaf", "\\ufffd\\ufffd\\ufffd");     /* overlong '/' */
    EXPECT_ESCAPE("\xf0\x8f\xbf\xbf", "\\ufffd\\ufffd\\ufffd\\ufffd"); /* overlong U+FFFF */
    EXPECT_ESCAPE("\xed\xa0\x80", "\\ufffd\\ufffd\\ufffd");     /* surrogate U+D800 */
    EXPECT_ESCAPE("\xed\xbf\xbf", "\\ufffd\\ufffd\\ufffd");     /* surrogate U+DFFF */
    EXPECT_ESCAPE("\xf4\x90\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd"); /* U+110000 */
    EXPECT_ESCAPE("\xe2\x82", "\\ufffd\\ufffd");                /* cut at the end */
    EXPECT_ESCAPE("\xf0\x9f\x98", "\\ufffd\\ufffd\\ufffd");
    EXPECT_ESCAPE("\xe2\x82\"", "\\ufffd\\ufffd\\\"");          /* cut by a quote */
    EXPECT_ESCAPE("ok \xc3\xa9\xff\xc3\xa9", "ok \xc3\xa9\\ufffd\xc3\xa9");
}

/* With too little room it stops before the character that does not fit:
 * never half an escape, never half a UTF-8 sequence. */
static void test_escape_stops_before_what_does_not_fit(void **state)
{
    (void)state;
    char out[16];
    size_t used;
    assert_int_equal(jl_log_json_escape(out, 0, "abc", 3, &used), 0);
    assert_int_equal(used, 0);
    assert_int_equal(jl_log_json_escape(out, 2, "abc", 3, &used), 2);
    assert_int_equal(used, 2);
    assert_memory_equal(out, "ab", 2);
    /* "a\"": the escape needs 2 bytes, 1 is left */
    assert_int_equal(jl_log_json_escape(out, 2, "a\"", 2, &used), 1);
    assert_int_equal(used, 1);
    /* a control character needs 6 */
    assert_int_equal(jl_log_json_escape(out, 6, "a\x01", 2, &used), 1);
    assert_int_equal(used, 1);
    assert_int_equal(jl_log_json_escape(out, 7, "a\x01", 2, &used), 7);
    assert_int_equal(used, 2);
    assert_memory_equal(out, "a\\u0001", 7);
    /* U+20AC needs 3 */
    assert_int_equal(jl_log_json_escape(out, 3, "a\xe2\x82\xac", 4, &used), 1);
    assert_int_equal(used, 1);
    assert_int_equal(jl_log_json_escape(out, 4, "a\xe2\x82\xac", 4, &used), 4);
    assert_int_equal(used, 4);
    /* a replaced byte needs 6 */
    assert_int_equal(jl_log_json_escape(out, 5, "\xff", 1, &used), 0);
    assert_int_equal(used, 0);
    /* NULL for used is allowed */
    assert_int_equal(jl_log_json_escape(out, sizeof out, "xyz", 3, NULL), 3);
}

static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Random bytes, biased towards the ones that matter, with every capacity:
 * always a valid JSON string body, always a prefix of the full escape, and
 * the full escape decodes back to the input wherever the input was UTF-8. */
static void test_escape_property_random_bytes(void **state)
{
    (void)state;
    static const unsigned char interesting[] = {
        '"', '\\', 0, '\n', 0x1f, 0x7f, 0x80, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xe2, 0xed,
        0xef, 0xf0, 0xf4, 0xf5, 0xff, 'a', 0x82, 0xac, 0x9f, 0xa0, 0x90, 0x8f,
    };
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    for (int round = 0; round < 3000; round++) {
        unsigned char in[24];
        size_t len = next_rand(&seed) % sizeof in;
        for (size_t i = 0; i < len; i++) {
            uint64_t r = next_rand(&seed);
            in[i] = r & 1 ? interesting[(r >> 1) % sizeof interesting] : (unsigned char)(r >> 8);
        }
        char full[6 * sizeof in];
        size_t used;
        size_t n = jl_log_json_escape(full, sizeof full, (const char *)in, len, &used);
        assert_int_equal(used, len);
        char dec[4 * sizeof in];
        size_t dlen = expect_json_string(full, n, dec, sizeof dec);
        /* Only replacements (3 bytes of UTF-8 for 1 byte in) change length. */
        assert_true(dlen >= len);
        for (size_t cap = 0; cap <= n; cap++) {
            char part[6 * sizeof in];
            size_t m = jl_log_json_escape(part, cap, (const char *)in, len, &used);
            assert_true(m <= cap);
            assert_true(used <= len);
            assert_true(cap == n ? used == len : 1);
            assert_memory_equal(part, full, m);
            /* what it wrote is exactly the escape of what it used */
            char again[6 * sizeof in];
            assert_int_equal(jl_log_json_escape(again, sizeof again, (const char *)in, used,
                                                NULL), m);
            expect_json_string(part, m, NULL, 0);
        }
    }
}

/* ---- jl_log ---- */

/* Runs fn with fd 2 sent to a temporary file; returns what was written
 * (NUL-terminated; caller frees) and its length in *len. */
static char *capture(void (*fn)(void), size_t *len)
{
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    fflush(stderr);
    int saved = dup(2);
    dup2(fileno(tmp), 2);
    fn();
    dup2(saved, 2);
    close(saved);
    fseek(tmp, 0, SEEK_END);
    long n = ftell(tmp);
    assert_true(n >= 0);
    char *text = malloc((size_t)n + 1);
    assert_non_null(text);
    rewind(tmp);
    assert_int_equal(fread(text, 1, (size_t)n, tmp), (size_t)n);
    text[n] = '\0';
    fclose(tmp);
    *len = (size_t)n;
    return text;
}

static void set_log(jl_log_level_t level, jl_log_format_t format)
{
    jl_log_conf = (jl_log_conf_t){.level = level, .format = format};
}

static void restore_log(void)
{
    set_log(JL_LOG_INFO, JL_LOG_TEXT);
}

/* The parsed line; checks it is one object ending in "}\n" with the keys
 * time, pid, level, msg in that order. Caller decrefs. */
static json_t *expect_json_line(const char *line, size_t len)
{
    assert_true(len >= 2);
    assert_int_equal(line[len - 1], '\n');
    assert_null(memchr(line, '\n', len - 1));
    assert_memory_equal(line + len - 3, "\"}\n", 3);
    assert_true(strncmp(line, "{\"time\":\"", 9) == 0);
    const char *pid = strstr(line, "\",\"pid\":");
    const char *level = strstr(line, ",\"level\":\"");
    const char *msg = strstr(line, "\",\"msg\":\"");
    assert_true(pid && level && msg && pid < level && level < msg);
    json_error_t err;
    json_t *v = json_loadb(line, len, JSON_ALLOW_NUL, &err);
    if (v == NULL)
        fail_msg("not JSON: %s (%s)", line, err.text);
    assert_true(json_is_object(v));
    assert_int_equal(json_object_size(v), 4);
    const char *t = json_string_value(json_object_get(v, "time"));
    assert_non_null(t);
    /* 2026-12-03T11:29:35.123Z */
    assert_int_equal(strlen(t), 24);
    assert_true(t[4] == '-' && t[7] == '-' && t[10] == 'T' && t[13] == ':' && t[16] == ':' &&
                t[19] == '.' && t[23] == 'Z');
    assert_int_equal(json_integer_value(json_object_get(v, "pid")), getpid());
    assert_non_null(json_string_value(json_object_get(v, "msg")));
    return v;
}

static void log_json_lines(void)
{
    set_log(JL_LOG_DEBUG, JL_LOG_JSON);
    jl_log_info("failed AUTH from client id=%d %s: \"%s\"", 7, "127.0.0.1:5000", "a\\b\x01\xff");
    jl_log_debug("debug %s", "line");
    jl_log_warn("warn");
    jl_log_error("error");
    restore_log();
}

static void test_log_json_lines(void **state)
{
    (void)state;
    size_t len;
    char *out = capture(log_json_lines, &len);
    static const char *const levels[] = {"info", "debug", "warn", "error"};
    static const char *const msgs[] = {
        "failed AUTH from client id=7 127.0.0.1:5000: \"a\\b\x01\xef\xbf\xbd\"", "debug line",
        "warn", "error",
    };
    const char *line = out;
    for (size_t i = 0; i < 4; i++) {
        const char *nl = strchr(line, '\n');
        assert_non_null(nl);
        json_t *v = expect_json_line(line, (size_t)(nl - line) + 1);
        assert_string_equal(json_string_value(json_object_get(v, "level")), levels[i]);
        assert_string_equal(json_string_value(json_object_get(v, "msg")), msgs[i]);
        json_decref(v);
        line = nl + 1;
    }
    assert_string_equal(line, "");
    assert_non_null(strstr(out, "\"msg\":\"failed AUTH from client id=7 127.0.0.1:5000: "
                                "\\\"a\\\\b\\u0001\\ufffd\\\"\"}\n"));
    free(out);
}

/* Too long for the line: the message is cut, the line still parses, and it
 * is no longer than a text line may be. */
static void log_long_json_lines(void)
{
    set_log(JL_LOG_INFO, JL_LOG_JSON);
    char big[3000];
    memset(big, '"', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    jl_log_info("%s", big);
    memset(big, 'x', sizeof big - 1);
    jl_log_info("%s", big);
    for (size_t i = 0; i + 3 < sizeof big; i += 3)
        memcpy(big + i, "\xe2\x82\xac", 3);
    jl_log_info("%s", big);
    memset(big, '\x01', sizeof big - 1);
    jl_log_info("%s", big);
    restore_log();
}

static void test_log_json_long_lines_are_cut_inside_the_message(void **state)
{
    (void)state;
    size_t len;
    char *out = capture(log_long_json_lines, &len);
    const char *line = out;
    static const char unit[][8] = {"\"", "x", "\xe2\x82\xac", "\x01"};
    for (size_t i = 0; i < 4; i++) {
        const char *nl = strchr(line, '\n');
        assert_non_null(nl);
        size_t n = (size_t)(nl - line) + 1;
        assert_true(n <= 1024);
        assert_true(n > 900 || i == 3);  /* \u0001 takes 6 bytes: fewer fit */
        json_t *v = expect_json_line(line, n);
        const char *msg = json_string_value(json_object_get(v, "msg"));
        size_t ulen = strlen(unit[i]);
        assert_true(strlen(msg) > 100);
        assert_int_equal(strlen(msg) % ulen, 0);
        for (size_t k = 0; k < strlen(msg); k += ulen)
            assert_memory_equal(msg + k, unit[i], ulen);
        json_decref(v);
        line = nl + 1;
    }
    assert_string_equal(line, "");
    free(out);
}

static void log_text_lines(void)
{
    set_log(JL_LOG_INFO, JL_LOG_TEXT);
    jl_log_info("a \"quoted\" \\ line %d", 42);
    jl_log_debug("not written");
    char big[3000];
    memset(big, 'y', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    jl_log_warn("%s", big);
    restore_log();
}

/* The text format is the one it always was: "TIME PID LEVEL message\n",
 * the message as given, the line cut to 1022 bytes and its '\n'. */
static void test_log_text_lines_are_unchanged(void **state)
{
    (void)state;
    size_t len;
    char *out = capture(log_text_lines, &len);
    char head[64];
    int h = snprintf(head, sizeof head, " %d INFO a \"quoted\" \\ line 42\n", (int)getpid());
    const char *nl = strchr(out, '\n');
    assert_non_null(nl);
    /* 2026-12-03T11:29:35.123Z */
    assert_int_equal(strcspn(out, " "), 24);
    assert_true(out[10] == 'T' && out[23] == 'Z');
    assert_memory_equal(out + 24, head, (size_t)h);
    const char *second = nl + 1;
    nl = strchr(second, '\n');
    assert_non_null(nl);
    assert_int_equal((size_t)(nl - second) + 1, 1023);
    snprintf(head, sizeof head, " %d WARN yyy", (int)getpid());
    assert_memory_equal(second + 24, head, strlen(head));
    assert_string_equal(nl + 1, "");
    free(out);
}

static void log_below_level(void)
{
    set_log(JL_LOG_WARN, JL_LOG_JSON);
    jl_log_info("not written");
    jl_log_debug("nor this");
    restore_log();
}

static void test_log_below_the_level_writes_nothing(void **state)
{
    (void)state;
    size_t len;
    char *out = capture(log_below_level, &len);
    assert_int_equal(len, 0);
    free(out);
}

static void test_log_parse_format(void **state)
{
    (void)state;
    assert_int_equal(jl_log_parse_format("text"), JL_LOG_TEXT);
    assert_int_equal(jl_log_parse_format("json"), JL_LOG_JSON);
    assert_int_equal(jl_log_parse_format("JSON"), -1);
    assert_int_equal(jl_log_parse_format(""), -1);
    assert_int_equal(jl_log_parse_format("jsonl"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape_plain_text_is_kept),
        cmocka_unit_test(test_escape_quotes_and_backslashes),
        cmocka_unit_test(test_escape_control_characters),
        cmocka_unit_test(test_escape_keeps_well_formed_utf8),
        cmocka_unit_test(test_escape_replaces_malformed_utf8),
        cmocka_unit_test(test_escape_stops_before_what_does_not_fit),
        cmocka_unit_test(test_escape_property_random_bytes),
        cmocka_unit_test(test_log_json_lines),
        cmocka_unit_test(test_log_json_long_lines_are_cut_inside_the_message),
        cmocka_unit_test(test_log_text_lines_are_unchanged),
        cmocka_unit_test(test_log_below_the_level_writes_nothing),
        cmocka_unit_test(test_log_parse_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
