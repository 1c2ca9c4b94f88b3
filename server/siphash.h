/* siphash.h -- SipHash-2-4, the keyed hash for names from untrusted clients.
 *
 * Keyed so that a client cannot choose channel names that all land in one
 * hash bucket (hash flooding). The key is 16 random bytes per process. */
#ifndef JL_SIPHASH_H
#define JL_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t jl_siphash(const void *data, size_t len, const uint8_t key[16]);

#endif
