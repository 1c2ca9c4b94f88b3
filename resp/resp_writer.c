/* resp_writer.c -- RESP2/RESP3 encoders (see resp_writer.h).
 *
 * Every reply jugglite sends goes through here, so this file is where
 * "byte for byte like Redis 7.0.15" is won or lost: the RESP2 fallbacks of
 * the RESP3 types (map as a flat array, double and verbatim as bulk strings,
 * null as "$-1" or "*-1"), doubles printed with "%.17g" and infinities
 * spelled out as addReplyDouble does, and CR/LF in status and error lines
 * turned into spaces as addReplyErrorFormat does, so that no text can break
 * the framing.
 *
 * Numbers are formatted by hand (no printf) because headers are written
 * for every element of every reply. */
#include "resp/resp_writer.h"

#include "server/util.h"

#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest "<type><long long>\r\n": 1 + 20 + 2. */
#define HDR_MAX 24

/* Writes v in decimal at dst, returns the length. */
static size_t fmt_ull(char *dst, unsigned long long v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        dst[i] = tmp[n - 1 - i];
    return n;
}

static size_t fmt_ll(char *dst, long long v)
{
    if (v >= 0)
        return fmt_ull(dst, (unsigned long long)v);
    dst[0] = '-';
    /* -(v + 1) + 1 avoids overflowing on LLONG_MIN. */
    return 1 + fmt_ull(dst + 1, (unsigned long long)(-(v + 1)) + 1);
}

static size_t digits(size_t v)
{
    size_t n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

/* "<type><v>\r\n" */
static void header_ll(jl_buf_t *b, char type, long long v)
{
    char tmp[HDR_MAX];
    tmp[0] = type;
    size_t n = 1 + fmt_ll(tmp + 1, v);
    tmp[n++] = '\r';
    tmp[n++] = '\n';
    jl_buf_append(b, tmp, n);
}

static void header_size(jl_buf_t *b, char type, size_t v)
{
    char tmp[HDR_MAX];
    tmp[0] = type;
    size_t n = 1 + fmt_ull(tmp + 1, v);
    tmp[n++] = '\r';
    tmp[n++] = '\n';
    jl_buf_append(b, tmp, n);
}

static void crlf(jl_buf_t *b) { jl_buf_append(b, "\r\n", 2); }

/* Appends s[0..n) with CR and LF replaced by spaces. */
static void append_sanitized(jl_buf_t *b, const char *s, size_t n)
{
    size_t at = b->len;
    jl_buf_append(b, s, n);
    for (size_t i = at; i < b->len; i++)
        if (b->data[i] == '\r' || b->data[i] == '\n')
            b->data[i] = ' ';
}

void jl_resp_simple(jl_buf_t *b, const char *s)
{
    jl_buf_append_char(b, '+');
    append_sanitized(b, s, strlen(s));
    crlf(b);
}

void jl_resp_error(jl_buf_t *b, const char *s)
{
    /* Like addReplyErrorLength: a text that already starts with '-' keeps it. */
    if (s[0] != '-')
        jl_buf_append_char(b, '-');
    append_sanitized(b, s, strlen(s));
    crlf(b);
}

void jl_resp_errorf(jl_buf_t *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    char *text = small;
    if ((size_t)n >= sizeof small) {
        text = jl_malloc((size_t)n + 1);
        va_start(ap, fmt);
        vsnprintf(text, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    if (n == 0 || text[0] != '-')
        jl_buf_append_char(b, '-');
    append_sanitized(b, text, (size_t)n);
    crlf(b);
    if (text != small)
        free(text);
}

void jl_resp_integer(jl_buf_t *b, long long v) { header_ll(b, ':', v); }

void jl_resp_command(jl_buf_t *b, size_t argc, const char *const *argv, const size_t *lens)
{
    jl_resp_array(b, argc);
    for (size_t i = 0; i < argc; i++)
        jl_resp_bulk(b, argv[i], lens[i]);
}

void jl_resp_bulk(jl_buf_t *b, const char *p, size_t n)
{
    jl_buf_reserve(b, HDR_MAX + n + 2);
    header_size(b, '$', n);
    jl_buf_append(b, p, n);
    crlf(b);
}

void jl_resp_bulk_str(jl_buf_t *b, const char *s) { jl_resp_bulk(b, s, strlen(s)); }

void jl_resp_null(jl_buf_t *b, int proto)
{
    if (proto >= 3)
        jl_buf_append(b, "_\r\n", 3);
    else
        jl_buf_append(b, "$-1\r\n", 5);
}

void jl_resp_null_array(jl_buf_t *b, int proto)
{
    if (proto >= 3)
        jl_buf_append(b, "_\r\n", 3);
    else
        jl_buf_append(b, "*-1\r\n", 5);
}

void jl_resp_array(jl_buf_t *b, size_t n) { header_size(b, '*', n); }

void jl_resp_push(jl_buf_t *b, int proto, size_t n) { header_size(b, proto >= 3 ? '>' : '*', n); }

void jl_resp_map(jl_buf_t *b, int proto, size_t npairs)
{
    if (proto >= 3)
        header_size(b, '%', npairs);
    else
        header_size(b, '*', npairs * 2);
}

void jl_resp_set(jl_buf_t *b, int proto, size_t n) { header_size(b, proto >= 3 ? '~' : '*', n); }

void jl_resp_verbatim(jl_buf_t *b, int proto, const char *p, size_t n)
{
    if (proto < 3) {
        jl_resp_bulk(b, p, n);
        return;
    }
    jl_buf_reserve(b, HDR_MAX + 4 + n + 2);
    header_size(b, '=', n + 4);
    jl_buf_append(b, "txt:", 4);
    jl_buf_append(b, p, n);
    crlf(b);
}

void jl_resp_double(jl_buf_t *b, int proto, double d)
{
    /* addReplyDouble spells infinities out (libc formats vary); NaN goes
     * through "%.17g" like any other value: "nan" or "-nan" on glibc. */
    char text[64];
    int n;
    if (isinf(d))
        n = snprintf(text, sizeof text, "%s", d > 0 ? "inf" : "-inf");
    else
        n = snprintf(text, sizeof text, "%.17g", d);
    if (proto < 3) {
        jl_resp_bulk(b, text, (size_t)n);
        return;
    }
    jl_buf_append_char(b, ',');
    jl_buf_append(b, text, (size_t)n);
    crlf(b);
}

/* ---- message frames ---- */

/* Bytes of "$<n>\r\n<n bytes>\r\n". */
static size_t bulk_size(size_t n) { return 1 + digits(n) + 2 + n + 2; }

static char *put_bulk(char *dst, const char *p, size_t n)
{
    *dst++ = '$';
    dst += fmt_ull(dst, n);
    *dst++ = '\r';
    *dst++ = '\n';
    if (n)  /* p may be NULL for an empty string */
        memcpy(dst, p, n);
    dst += n;
    *dst++ = '\r';
    *dst++ = '\n';
    return dst;
}

jl_frame_t *jl_resp_message_frame(const jl_msg_t *msg, int proto, int pattern)
{
    const char *kind = pattern ? "pmessage" : msg->shard ? "smessage" : "message";
    size_t kind_len = strlen(kind);
    size_t nelem = pattern ? 4 : 3;
    size_t size = 1 + digits(nelem) + 2 + bulk_size(kind_len) + bulk_size(msg->chan_len) +
                  bulk_size(msg->payload_len);
    if (pattern)
        size += bulk_size(msg->pattern_len);

    jl_frame_t *f = jl_frame_new(size);
    char *w = f->data;
    *w++ = proto >= 3 ? '>' : '*';
    w += fmt_ull(w, nelem);
    *w++ = '\r';
    *w++ = '\n';
    w = put_bulk(w, kind, kind_len);
    if (pattern)
        w = put_bulk(w, msg->pattern, msg->pattern_len);
    w = put_bulk(w, msg->chan, msg->chan_len);
    w = put_bulk(w, msg->payload, msg->payload_len);
    f->len = (size_t)(w - f->data);
    assert(f->len == size);
    return f;
}
