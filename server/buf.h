/* buf.h -- a growable byte buffer.
 *
 * Used to build replies and frames before they become immutable, and as the
 * input buffer of a connection. The buffer owns its bytes; 'data' may move
 * on every append. An empty jl_buf_t ({0}) is valid and holds no memory. */
#ifndef JL_BUF_H
#define JL_BUF_H

#include <stddef.h>

typedef struct jl_buf {
    char *data;
    size_t len;
    size_t cap;
} jl_buf_t;

void jl_buf_reserve(jl_buf_t *b, size_t extra);
void jl_buf_append(jl_buf_t *b, const void *p, size_t n);
void jl_buf_append_str(jl_buf_t *b, const char *s);
void jl_buf_append_char(jl_buf_t *b, char c);
void jl_buf_printf(jl_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drops the first n bytes (n <= len), moving the rest to the front. */
void jl_buf_consume(jl_buf_t *b, size_t n);
/* Releases the memory; the buffer is empty and reusable afterwards. */
void jl_buf_free(jl_buf_t *b);

#endif
