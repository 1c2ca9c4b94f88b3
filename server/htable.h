/* htable.h -- a small intrusive chained hash table.
 *
 * The registry (names, subscriptions) and the upstream bridge (mirrored
 * names) both keep objects that carry their own key; the table only links
 * them by a 64-bit hash the owner computed (keyed SipHash, since the names
 * come from clients) and leaves key comparison to the owner, who walks the
 * chain from jl_htable_chain. It doubles when full and halves below 1/8
 * full, so a burst of names gives its memory back. Owns only the slot array. */
#ifndef JL_HTABLE_H
#define JL_HTABLE_H

#include <stddef.h>
#include <stdint.h>

/* Embedded in every hashed object. */
typedef struct jl_hlink {
    struct jl_hlink *next;
    uint64_t hash;
} jl_hlink_t;

typedef struct jl_htable {
    jl_hlink_t **slot;  /* NULL until the first insert */
    size_t size;        /* 0 or a power of two */
    size_t count;
    int frozen;         /* set while walking the slots: removal never shrinks */
} jl_htable_t;

/* First link of the chain that holds 'hash' (NULL if none). */
jl_hlink_t *jl_htable_chain(const jl_htable_t *t, uint64_t hash);
/* Links l (l->hash set by the caller). */
void jl_htable_insert(jl_htable_t *t, jl_hlink_t *l);
/* Unlinks l, which must be in t. */
void jl_htable_remove(jl_htable_t *t, jl_hlink_t *l);
/* Frees the slot array (not the objects); t is empty afterwards. */
void jl_htable_free(jl_htable_t *t);

#endif
