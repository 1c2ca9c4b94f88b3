/* rand.c -- kernel randomness with a fallback, and xorshift64 (see rand.h).
 *
 * Before this file the registry, the upstream bridge, the HTTP layer and the
 * server each called getrandom() with their own fallback (one of them
 * memset the bytes to a constant), and two of them carried a copy of
 * xorshift. The fallback here is the one that was best: it differs per
 * process and per call, which is all a hash key needs when the kernel has
 * no entropy to give -- a weak key is better than no server.
 *
 * No file-scope state: the fallback draws on the clocks, the pid and two
 * addresses (the caller's buffer and this call's stack), not on a counter. */
#include "server/rand.h"
#include "server/util.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* Any non-zero constant will do; this one is 2^64 / golden ratio. */
#define RNG_ZERO_REPLACEMENT UINT64_C(0x9e3779b97f4a7c15)

/* How many leading bytes of buf[0..n) the kernel filled. */
static size_t kernel_fill(unsigned char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(buf + got, n - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    return got;
}

/* splitmix64's finaliser: spreads every input bit over the output. */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    x ^= x >> 31;
    return x;
}

static void weak_fill(unsigned char *buf, size_t n)
{
    struct timespec rt, mono;
    clock_gettime(CLOCK_REALTIME, &rt);
    clock_gettime(CLOCK_MONOTONIC, &mono);
    uint64_t x = (uint64_t)rt.tv_sec * 1000000000u + (uint64_t)rt.tv_nsec;
    x ^= mix64((uint64_t)mono.tv_nsec ^ (uint64_t)mono.tv_sec << 30);
    x ^= mix64((uint64_t)getpid() << 32 ^ (uint64_t)(uintptr_t)buf);
    x ^= mix64((uint64_t)(uintptr_t)&x);
    for (size_t i = 0; i < n; i += sizeof x) {
        x = mix64(x + RNG_ZERO_REPLACEMENT);
        size_t take = n - i < sizeof x ? n - i : sizeof x;
        memcpy(buf + i, &x, take);
    }
}

int jl_random_bytes(void *buf, size_t n)
{
    size_t got = kernel_fill(buf, n);
    if (got == n)
        return JL_OK;
    weak_fill((unsigned char *)buf + got, n - got);
    return JL_RAND_WEAK;
}

void jl_rng_seed(jl_rng_t *r)
{
    (void)jl_random_bytes(&r->s, sizeof r->s);   /* weak is fine for jitter */
    if (r->s == 0)
        r->s = RNG_ZERO_REPLACEMENT;
}

uint64_t jl_rng_next(jl_rng_t *r)
{
    uint64_t x = r->s ? r->s : RNG_ZERO_REPLACEMENT;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return r->s = x;
}

double jl_rng_unit(jl_rng_t *r)
{
    return (double)(jl_rng_next(r) >> 11) * 0x1.0p-53;
}
