/* util.h -- the few helpers every module shares.
 *
 * An intrusive doubly linked list (the node lives inside the object, so
 * linking and unlinking never allocate), JL_CONTAINER_OF to get from an
 * embedded member back to its owner, and the project's return convention:
 * JL_OK, JL_AGAIN ("not an error: need more input / socket full"), or a
 * negative errno for any failure. Nothing here allocates. */
#ifndef JL_UTIL_H
#define JL_UTIL_H

#include <stddef.h>

#define JL_OK 0
#define JL_AGAIN 1

#define JL_CONTAINER_OF(ptr, type, field) \
    ((type *)(void *)((char *)(ptr) - offsetof(type, field)))

#define JL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* A list head and a node have the same shape; an empty head points at
 * itself. A node that is in no list has next == NULL (see jl_list_linked). */
typedef struct jl_list {
    struct jl_list *prev, *next;
} jl_list_t;

static inline void jl_list_init(jl_list_t *head) { head->prev = head->next = head; }
static inline int jl_list_empty(const jl_list_t *head) { return head->next == head; }
static inline int jl_list_linked(const jl_list_t *node) { return node->next != NULL; }

static inline void jl_list_push(jl_list_t *head, jl_list_t *node)
{
    node->prev = head->prev;
    node->next = head;
    head->prev->next = node;
    head->prev = node;
}

/* Unlinks 'node' and marks it unlinked; a no-op for an unlinked node. */
static inline void jl_list_remove(jl_list_t *node)
{
    if (node->next == NULL)
        return;
    node->prev->next = node->next;
    node->next->prev = node->prev;
    node->prev = node->next = NULL;
}

#define JL_LIST_FOREACH(head, it) \
    for (jl_list_t *it = (head)->next; it != (head); it = it->next)

/* Safe against removal of 'it' inside the body. */
#define JL_LIST_FOREACH_SAFE(head, it, tmp) \
    for (jl_list_t *it = (head)->next, *tmp = it->next; it != (head); it = tmp, tmp = it->next)

/* The value of a hexadecimal digit, or -1 (URL escapes, "\xHH" in inline
 * commands, percent-encoded credentials). */
static inline int jl_hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Allocation that cannot fail: jugglite treats out-of-memory as fatal, as
 * Redis does, and logs before aborting. */
void *jl_malloc(size_t n);
void *jl_calloc(size_t n, size_t size);
void *jl_realloc(void *p, size_t n);
char *jl_strndup(const char *s, size_t n);
/* in[0..n) as 2n lowercase hex digits into out (no NUL added). */
void jl_hex_encode(const void *in, size_t n, char *out);

#endif
