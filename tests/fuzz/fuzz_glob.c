/* fuzz_glob.c -- libFuzzer target for jl_glob_match.
 *
 * Patterns come straight from untrusted clients (PSUBSCRIBE, PUBSUB
 * CHANNELS, SSE ?pattern=), so the matcher must never read out of bounds,
 * recurse without limit, or take more than about pattern x subject steps.
 * The input is split into pattern and subject at the first NUL byte (or in
 * half when there is none), and each is copied into a buffer of exactly its
 * length so ASan catches any read past the end. Time is bounded twice: by
 * libFuzzer's -timeout, and here, by aborting when one match takes longer
 * than JL_FUZZ_GLOB_MAX_MS. Beyond not crashing, two properties hold for
 * every input and are asserted: a pattern matches itself when it has no
 * special bytes, and "*" + pattern matches whatever pattern matches. */
#include "server/glob.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define JL_FUZZ_GLOB_MAX_MS 200

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *copy_exact(const uint8_t *p, size_t n)
{
    char *c = malloc(n ? n : 1);
    if (c == NULL)
        abort();
    if (n)
        memcpy(c, p, n);
    return c;
}

static int has_special(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] == '*' || p[i] == '?' || p[i] == '[' || p[i] == '\\')
            return 1;
    return 0;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t plen = nul ? (size_t)(nul - data) : size / 2;
    size_t sstart = nul ? plen + 1 : plen;
    size_t slen = size - sstart;
    char *pat = copy_exact(data, plen);
    char *str = copy_exact(data + sstart, slen);

    double t0 = now_ms();
    int m = jl_glob_match(pat, plen, str, slen);
    double took = now_ms() - t0;
    /* The matcher is O(pattern x subject) by design; flag anything beyond
     * that (CPU time, so a loaded machine does not raise false alarms). */
    if (took > JL_FUZZ_GLOB_MAX_MS + 2e-4 * (double)plen * (double)slen) {
        fprintf(stderr, "glob took %.1f ms (pattern %zu bytes, subject %zu bytes)\n",
                took, plen, slen);
        abort();
    }

    /* A pattern of ordinary bytes is a literal. */
    if (!has_special(pat, plen) && jl_glob_match(pat, plen, pat, plen) != 1)
        abort();

    /* A leading '*' only widens the match (for a non-empty subject). */
    char *star = malloc(plen + 1);
    if (star == NULL)
        abort();
    star[0] = '*';
    if (plen)
        memcpy(star + 1, pat, plen);
    if (m && slen > 0 && plen < 900 && !jl_glob_match(star, plen + 1, str, slen))
        abort();

    free(star);
    free(pat);
    free(str);
    return 0;
}
