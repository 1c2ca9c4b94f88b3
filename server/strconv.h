/* strconv.h -- text to numbers and bytes, one way for the whole program.
 *
 * Every integer a client sends (HELLO's version, a RESP length, an option
 * value) and every percent-escape in a URL is read by one of these two
 * functions, so "is 007 a number?" has one answer everywhere. Integers
 * follow Redis's string2ll, because a Redis client must not be able to tell
 * jugglite from redis-server by which numbers it accepts. Pure: no I/O, no
 * allocation, no state. */
#ifndef JL_STRCONV_H
#define JL_STRCONV_H

#include <stddef.h>

/* Parses s[0..len) as one whole decimal long long, Redis string2ll's way:
 * an optional '-', then digits; no '+', no whitespace anywhere, no leading
 * zero except "0" itself ("-0" and "007" are refused), no empty string.
 * s need not be NUL-terminated (a NUL inside is just a non-digit).
 * Returns JL_OK and sets *out; -EINVAL if the text is not such a number;
 * -ERANGE if it is well formed but outside [LLONG_MIN, LLONG_MAX]. On error
 * *out is left untouched. */
int jl_strtoll(const char *s, size_t len, long long *out);

/* Percent-decodes src[0..len) into dst (room for len bytes; dst may equal
 * src, decoding never grows); returns the decoded length. Does not write a
 * terminating NUL. "%XX" (either case) is one byte, "%00" included; a
 * malformed or truncated escape ("%zz", "%4" at the end) is kept literally,
 * byte for byte. plus_is_space: '+' decodes to ' ' (query strings); "%2B"
 * is always '+'. Decoding is one pass: "%2541" gives "%41". */
size_t jl_percent_decode(char *dst, const char *src, size_t len, int plus_is_space);

#endif
