/* strconv.c -- strict integers and percent-decoding (see strconv.h).
 *
 * Before this file the program had three integer readers (strtoll behind
 * hand-written guards in the command table, a second string2ll in the RESP
 * parser, strtol in the config) and a URL decoder that lived in the query
 * parser although the HTTP path decoder needed it too. Each copy had its
 * own idea of "+5" and " 5"; this one follows string2ll and nothing else.
 *
 * jl_strtoll checks the syntax before it looks at the value, so a caller can
 * tell "not a number" (-EINVAL) from "too big" (-ERANGE) whatever the
 * length: twenty-five digits are -ERANGE, "12x" is -EINVAL. */
#include "server/strconv.h"
#include "server/util.h"

#include <errno.h>
#include <limits.h>

/* string2ll's syntax: "0", or an optional '-' then a digit 1-9 then digits. */
static int well_formed(const char *s, size_t len)
{
    if (len == 1 && s[0] == '0')
        return 1;
    size_t i = s[0] == '-';
    if (i == len || s[i] < '1' || s[i] > '9')
        return 0;
    for (; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

int jl_strtoll(const char *s, size_t len, long long *out)
{
    if (len == 0 || !well_formed(s, len))
        return -EINVAL;
    int neg = s[0] == '-';
    /* The magnitude of LLONG_MIN is one more than LLONG_MAX. */
    unsigned long long limit = (unsigned long long)LLONG_MAX + (unsigned)neg;
    unsigned long long v = 0;
    for (size_t i = (size_t)neg; i < len; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (limit - d) / 10)
            return -ERANGE;
        v = v * 10 + d;
    }
    if (!neg)
        *out = (long long)v;
    else
        *out = v == limit ? LLONG_MIN : -(long long)v;
    return JL_OK;
}

/* Decodes the escape at src[i] ('%') if it is well formed; returns 1 and
 * sets *out, or 0 to have the '%' kept literally. */
static int decode_escape(const char *src, size_t len, size_t i, char *out)
{
    if (len - i < 3)
        return 0;
    int hi = jl_hex_digit(src[i + 1]), lo = jl_hex_digit(src[i + 2]);
    if (hi < 0 || lo < 0)
        return 0;
    *out = (char)(hi << 4 | lo);
    return 1;
}

/* Writes never overtake reads (o <= i), which is what makes dst == src safe. */
size_t jl_percent_decode(char *dst, const char *src, size_t len, int plus_is_space)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = src[i];
        if (c == '+' && plus_is_space)
            c = ' ';
        else if (c == '%' && decode_escape(src, len, i, &c))
            i += 2;
        dst[o++] = c;
    }
    return o;
}
