/* htable.c -- intrusive chained hash table (see htable.h). */
#include "server/htable.h"
#include "server/util.h"

#include <stdlib.h>
#include <string.h>

#define HTABLE_MIN_SIZE 16

jl_hlink_t *jl_htable_chain(const jl_htable_t *t, uint64_t hash)
{
    return t->size ? t->slot[hash & (t->size - 1)] : NULL;
}

static void resize(jl_htable_t *t, size_t size)
{
    jl_hlink_t **slot = jl_calloc(size, sizeof *slot);
    for (size_t i = 0; i < t->size; i++) {
        jl_hlink_t *l = t->slot[i];
        while (l) {
            jl_hlink_t *next = l->next;
            size_t b = l->hash & (size - 1);
            l->next = slot[b];
            slot[b] = l;
            l = next;
        }
    }
    free(t->slot);
    t->slot = slot;
    t->size = size;
}

void jl_htable_insert(jl_htable_t *t, jl_hlink_t *l)
{
    if (t->size == 0)
        resize(t, HTABLE_MIN_SIZE);
    else if (t->count >= t->size && !t->frozen)
        resize(t, t->size * 2);
    jl_hlink_t **head = &t->slot[l->hash & (t->size - 1)];
    l->next = *head;
    *head = l;
    t->count++;
}

void jl_htable_remove(jl_htable_t *t, jl_hlink_t *l)
{
    jl_hlink_t **pp = &t->slot[l->hash & (t->size - 1)];
    while (*pp != l)
        pp = &(*pp)->next;
    *pp = l->next;
    l->next = NULL;
    t->count--;
    /* Give memory back after a burst (a mass disconnect, say). */
    if (!t->frozen && t->size > HTABLE_MIN_SIZE && t->count < t->size / 8)
        resize(t, t->size / 2);
}

void jl_htable_free(jl_htable_t *t)
{
    free(t->slot);
    memset(t, 0, sizeof *t);
}
