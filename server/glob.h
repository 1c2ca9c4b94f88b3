/* glob.h -- Redis's glob matcher for PSUBSCRIBE and PUBSUB CHANNELS.
 *
 * Same semantics as Redis's stringmatchlen (case-sensitive): '*' any bytes
 * (but an empty subject never matches), '?' one byte, '[a-z]' / '[^x]'
 * classes ('!' is literal), reversed ranges swapped, '\' escapes, an unclosed
 * '[' runs to the end of the pattern; deep '*' nesting gives up (no match)
 * and failed tails are not retried with longer '*' expansions, so matching is
 * never exponential. Pure, no allocation. */
#ifndef JL_GLOB_H
#define JL_GLOB_H

#include <stddef.h>

/* Returns 1 if 'str' matches 'pattern', 0 otherwise. */
int jl_glob_match(const char *pattern, size_t plen, const char *str, size_t slen);

#endif
