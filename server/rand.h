/* rand.h -- every random number jugglite uses, from one place.
 *
 * Two kinds, for two needs. jl_random_bytes is for secrets a peer must not
 * guess: hash keys (SipHash under client-chosen names), the run id. jl_rng
 * is a fast, small, NOT cryptographic generator for jitter (reconnect
 * backoff, retry: hints) where only spreading matters. Neither allocates;
 * neither keeps hidden state: a jl_rng_t belongs to whoever embeds it. */
#ifndef JL_RAND_H
#define JL_RAND_H

#include <stddef.h>
#include <stdint.h>

/* jl_random_bytes's "filled, but weakly" result. */
#define JL_RAND_WEAK 1

/* Fills buf[0..n) from the kernel (getrandom; EINTR and short reads are
 * retried). Never fails: if the kernel refuses (no getrandom, a seccomp
 * filter), whatever it did not fill comes from a mix of the clocks, the pid
 * and an address -- guessable by a local attacker, but distinct per process
 * and per call -- and the result is JL_RAND_WEAK. Returns JL_OK when every
 * byte came from the kernel. */
int jl_random_bytes(void *buf, size_t n);

/* xorshift64 (13, 7, 17): period 2^64 - 1 over the non-zero states. The
 * state is public so a test can replay a sequence by setting s. */
typedef struct jl_rng {
    uint64_t s;
} jl_rng_t;

/* Seeds r from jl_random_bytes; the state is never 0. */
void jl_rng_seed(jl_rng_t *r);
/* Advances r and returns the new state (never 0). A zero state -- a
 * zero-initialised jl_rng_t that was never seeded -- is first replaced by a
 * fixed non-zero constant, since xorshift would stay at 0 forever. */
uint64_t jl_rng_next(jl_rng_t *r);
/* A double in [0, 1): the top 53 bits of jl_rng_next divided by 2^53. */
double jl_rng_unit(jl_rng_t *r);

#endif
