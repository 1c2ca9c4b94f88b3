/* buf.c -- growable byte buffer (see buf.h). */
#include "server/buf.h"
#include "server/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jl_buf_reserve(jl_buf_t *b, size_t extra)
{
    if (b->cap - b->len >= extra)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap - b->len < extra)
        cap *= 2;
    b->data = jl_realloc(b->data, cap);
    b->cap = cap;
}

void jl_buf_append(jl_buf_t *b, const void *p, size_t n)
{
    if (n == 0)
        return;
    jl_buf_reserve(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void jl_buf_append_str(jl_buf_t *b, const char *s) { jl_buf_append(b, s, strlen(s)); }

void jl_buf_append_char(jl_buf_t *b, char c) { jl_buf_append(b, &c, 1); }

void jl_buf_printf(jl_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        jl_buf_append(b, small, (size_t)n);
        return;
    }
    jl_buf_reserve(b, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void jl_buf_consume(jl_buf_t *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

void jl_buf_free(jl_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
