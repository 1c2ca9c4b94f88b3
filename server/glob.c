/* glob.c -- Redis-compatible glob matching for PSUBSCRIBE and PUBSUB CHANNELS.
 *
 * A RESP client must not be able to tell jugglite from redis-server, and a
 * pattern subscription is the place where it most easily could: one byte of
 * difference in what "h[^e]llo" or "a[" matches changes which messages
 * arrive. So this file reproduces the observable behaviour of Redis 7.0's
 * stringmatchlen (case-sensitive) rule for rule, quirks included:
 *
 *   - an empty subject matches only the empty pattern (even '*' fails);
 *   - '?' and every class consume one byte, not one UTF-8 character;
 *   - '[^...]' negates, '!' is a literal, a reversed range is swapped,
 *     '\' escapes inside a class, "x-" right before the closing ']' is a
 *     range that ends at ']' (so "[a-]" never closes), and a class that
 *     is not closed runs to the end of the pattern;
 *   - range bounds compare as *signed* chars, as on the reference build
 *     (x86-64), so "[\x01-\xff]" does not match "\x80";
 *   - a '\' at the end of the pattern is a literal backslash.
 *
 * The patterns come from untrusted clients, so the matcher must never go
 * exponential or blow the stack. Two guards, both observable and therefore
 * both kept exactly as Redis has them: a path through more than
 * JL_GLOB_MAX_NESTING '*' groups gives up (no match), and once the pattern
 * after some '*' has failed at every remaining offset, no earlier '*' tries
 * a longer expansion (a longer expansion only leaves less string for a tail
 * that already failed everywhere). Together they keep the work at about
 * O(pattern length * subject length).
 *
 * Pure: no allocation, no global state, input need not be NUL-terminated. */
#include "server/glob.h"

#include <stddef.h>

/* Deeper than this many nested '*' expansions, the pattern cannot match. */
#define JL_GLOB_MAX_NESTING 1000

typedef struct {
    /* Set once the tail after some '*' failed at every offset: earlier
     * '*'s then stop trying longer expansions. */
    int hopeless;
} glob_state_t;

static int match_from(glob_state_t *st, const unsigned char *p, size_t plen,
                      const unsigned char *s, size_t slen, int depth);

/* Is byte c within the range [a, b] (either order), comparing as signed
 * chars the way the reference redis-server does? */
static int in_range(unsigned char a, unsigned char b, unsigned char c)
{
    int lo = (signed char)a, hi = (signed char)b, x = (signed char)c;

    if (lo > hi) {
        int t = lo;
        lo = hi;
        hi = t;
    }
    return x >= lo && x <= hi;
}

/* Matches byte c against the class whose body starts at p (just after the
 * '['), plen bytes of pattern left. Sets *used to the pattern bytes the
 * class occupies after the '[' (through its ']', or all that is left when
 * the class is not closed). */
static int match_class(const unsigned char *p, size_t plen, unsigned char c, size_t *used)
{
    size_t i = 0;
    int negate = plen > 0 && p[0] == '^';
    int match = 0;

    if (negate)
        i++;
    for (;;) {
        if (i >= plen) {            /* unclosed: the class is the rest */
            *used = plen;
            break;
        }
        if (p[i] == '\\' && plen - i >= 2) {
            i++;
            match |= p[i] == c;
        } else if (p[i] == ']') {
            *used = i + 1;
            break;
        } else if (plen - i >= 3 && p[i + 1] == '-') {
            /* Checked after ']' and '\': "[]-a]" is an empty class, and in
             * "[a-\]" the backslash is the range's end, not an escape. */
            match |= in_range(p[i], p[i + 2], c);
            i += 2;
        } else {
            match |= p[i] == c;
        }
        i++;
    }
    return negate ? !match : match;
}

/* p[0] is '*' and the subject is not empty. Tries the rest of the pattern
 * at every offset of s, shortest expansion first. */
static int match_star(glob_state_t *st, const unsigned char *p, size_t plen,
                      const unsigned char *s, size_t slen, int depth)
{
    while (plen >= 2 && p[1] == '*') {  /* "**" is "*" */
        p++;
        plen--;
    }
    if (plen == 1)
        return 1;                       /* a trailing '*' takes the rest */
    if (depth >= JL_GLOB_MAX_NESTING) {
        st->hopeless = 1;               /* every deeper attempt would fail */
        return 0;
    }
    for (; slen > 0; s++, slen--) {
        if (match_from(st, p + 1, plen - 1, s, slen, depth + 1))
            return 1;
        if (st->hopeless)
            return 0;
    }
    st->hopeless = 1;
    return 0;
}

/* Matches pattern p against a non-empty subject s, one byte at a time until
 * a '*' hands over to match_star. */
static int match_from(glob_state_t *st, const unsigned char *p, size_t plen,
                      const unsigned char *s, size_t slen, int depth)
{
    while (plen > 0 && slen > 0) {
        size_t used = 1;

        switch (p[0]) {
        case '*':
            return match_star(st, p, plen, s, slen, depth);
        case '?':
            break;
        case '[':
            if (!match_class(p + 1, plen - 1, s[0], &used))
                return 0;
            used++;
            break;
        case '\\':
            /* The escaped byte is a literal; a final '\' is itself. */
            if (plen >= 2) {
                p++;
                plen--;
            }
            /* fall through */
        default:
            if (p[0] != s[0])
                return 0;
            break;
        }
        p += used;
        plen -= used;
        s++;
        slen--;
    }
    /* Subject used up: only '*'s may remain (they match nothing). */
    if (slen == 0)
        while (plen > 0 && p[0] == '*') {
            p++;
            plen--;
        }
    return plen == 0 && slen == 0;
}

int jl_glob_match(const char *pattern, size_t plen, const char *str, size_t slen)
{
    glob_state_t st = {0};

    /* Redis never enters its matching loop for an empty subject, so an
     * empty channel name is matched by the empty pattern only. */
    if (slen == 0)
        return plen == 0;
    return match_from(&st, (const unsigned char *)pattern, plen,
                      (const unsigned char *)str, slen, 0);
}
