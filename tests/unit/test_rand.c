/* test_rand.c -- server/rand.c: kernel bytes, the fallback, xorshift64.
 *
 * getrandom() is replaced by the test's own definition (a symbol in the
 * executable wins over libc's), so the kernel can be made to hand out one
 * byte at a time, to be interrupted, or to refuse -- the paths a real
 * kernel almost never takes. The generator checks are deterministic where
 * they can be (fixed states) and, where they cannot, use bounds so wide a
 * correct generator never fails them: 100,000 draws into 10 buckets, each
 * within 20% of 10,000, is more than 60 standard deviations of slack. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "server/rand.h"
#include "server/util.h"

/* ---- a controllable getrandom ---- */

static struct {
    enum { KERNEL_REAL, KERNEL_DRIP, KERNEL_EINTR_ONCE, KERNEL_REFUSE, KERNEL_HALF } mode;
    int calls;
} kernel;

ssize_t getrandom(void *buf, size_t n, unsigned flags)
{
    kernel.calls++;
    switch (kernel.mode) {
    case KERNEL_REFUSE:
        errno = ENOSYS;
        return -1;
    case KERNEL_EINTR_ONCE:
        if (kernel.calls == 1) {
            errno = EINTR;
            return -1;
        }
        break;
    case KERNEL_DRIP:
        n = n > 0 ? 1 : 0;
        break;
    case KERNEL_HALF:
        if (kernel.calls > 1) {
            errno = EIO;
            return -1;
        }
        n /= 2;
        break;
    case KERNEL_REAL:
        break;
    }
    return syscall(SYS_getrandom, buf, n, flags);
}

static void kernel_set(int mode)
{
    kernel.mode = mode;
    kernel.calls = 0;
}

/* Whether buf[0..n) holds 'run' zero bytes in a row: a buffer left unfilled
 * does; a filled one does with odds of about n * 2^-64 for run = 8. */
static int has_zero_run(const unsigned char *buf, size_t n, size_t run)
{
    size_t z = 0;
    for (size_t i = 0; i < n; i++) {
        z = buf[i] ? 0 : z + 1;
        if (z >= run)
            return 1;
    }
    return 0;
}

/* ---- jl_random_bytes ---- */

/* Fills n bytes with the kernel in 'mode': all from the kernel (JL_OK), in
 * want_calls getrandom calls, and no unfilled run left. */
static void expect_kernel_fill(int mode, unsigned char *buf, size_t n, int want_calls)
{
    memset(buf, 0, n);
    kernel_set(mode);
    assert_int_equal(jl_random_bytes(buf, n), JL_OK);
    assert_int_equal(kernel.calls, want_calls);
    kernel_set(KERNEL_REAL);
    assert_false(has_zero_run(buf, n, 8));
}

static void test_rand_bytes_fill_from_kernel(void **state)
{
    (void)state;
    unsigned char a[64], b[64];
    expect_kernel_fill(KERNEL_REAL, a, sizeof a, 1);
    expect_kernel_fill(KERNEL_REAL, b, sizeof b, 1);
    assert_memory_not_equal(a, b, sizeof a);
}

static void test_rand_bytes_zero_length(void **state)
{
    (void)state;
    kernel_set(KERNEL_REFUSE);
    assert_int_equal(jl_random_bytes(NULL, 0), JL_OK);
    kernel_set(KERNEL_REAL);
}

static void test_rand_bytes_short_reads_are_retried(void **state)
{
    (void)state;
    unsigned char a[64];
    expect_kernel_fill(KERNEL_DRIP, a, sizeof a, 64);
}

static void test_rand_bytes_eintr_is_retried(void **state)
{
    (void)state;
    unsigned char a[32];
    expect_kernel_fill(KERNEL_EINTR_ONCE, a, sizeof a, 2);
}

static void test_rand_bytes_refused_falls_back_weak(void **state)
{
    (void)state;
    unsigned char a[61] = {0}, b[61] = {0};  /* not a multiple of 8 */
    kernel_set(KERNEL_REFUSE);
    assert_int_equal(jl_random_bytes(a, sizeof a), JL_RAND_WEAK);
    assert_int_equal(jl_random_bytes(b, sizeof b), JL_RAND_WEAK);
    kernel_set(KERNEL_REAL);
    assert_false(has_zero_run(a, sizeof a, 8));
    assert_int_not_equal(a[sizeof a - 1] | a[sizeof a - 2] | a[sizeof a - 3], 0);
    /* Different buffers, different moments: different bytes. */
    assert_memory_not_equal(a, b, sizeof a);
}

static void test_rand_bytes_partial_then_refused_fills_the_rest(void **state)
{
    (void)state;
    unsigned char a[64] = {0};
    kernel_set(KERNEL_HALF);
    assert_int_equal(jl_random_bytes(a, sizeof a), JL_RAND_WEAK);
    kernel_set(KERNEL_REAL);
    assert_false(has_zero_run(a + 32, 32, 8));
}

/* ---- jl_rng ---- */

static void test_rand_rng_xorshift64_reference(void **state)
{
    (void)state;
    /* xorshift64 (13, 7, 17) from 1, computed by hand from the definition. */
    jl_rng_t r = {1};
    uint64_t x = 1;
    for (int i = 0; i < 1000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        assert_int_equal(jl_rng_next(&r), x);
        assert_int_equal(r.s, x);
    }
    jl_rng_t one = {1};
    assert_int_equal(jl_rng_next(&one), UINT64_C(0x40822041));
}

static void test_rand_rng_zero_state_never_sticks(void **state)
{
    (void)state;
    jl_rng_t r = {0};
    for (int i = 0; i < 10000; i++)
        assert_int_not_equal(jl_rng_next(&r), 0);
    assert_int_not_equal(r.s, 0);
}

static void test_rand_rng_seed_is_never_zero(void **state)
{
    (void)state;
    kernel_set(KERNEL_REAL);
    for (int i = 0; i < 100; i++) {
        jl_rng_t r = {0};
        jl_rng_seed(&r);
        assert_int_not_equal(r.s, 0);
    }
    kernel_set(KERNEL_REFUSE);
    jl_rng_t w = {0};
    jl_rng_seed(&w);
    assert_int_not_equal(w.s, 0);
    kernel_set(KERNEL_REAL);
}

static void test_rand_rng_seeds_differ(void **state)
{
    (void)state;
    jl_rng_t a, b;
    jl_rng_seed(&a);
    jl_rng_seed(&b);
    assert_int_not_equal(a.s, b.s);
}

static void test_rand_rng_unit_in_range(void **state)
{
    (void)state;
    jl_rng_t r;
    jl_rng_seed(&r);
    for (int i = 0; i < 100000; i++) {
        double u = jl_rng_unit(&r);
        assert_true(u >= 0.0 && u < 1.0);
    }
    /* Exactly the top 53 bits over 2^53, from a known state. */
    uint64_t s = UINT64_MAX;
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    jl_rng_t from_max = {UINT64_MAX};
    double u = jl_rng_unit(&from_max);
    assert_true(u == (double)(s >> 11) / 9007199254740992.0);
    assert_true(u < 1.0);
}

static void test_rand_rng_unit_is_roughly_uniform(void **state)
{
    (void)state;
    enum { DRAWS = 100000, BUCKETS = 10 };
    unsigned count[BUCKETS] = {0};
    jl_rng_t r;
    jl_rng_seed(&r);
    for (int i = 0; i < DRAWS; i++)
        count[(int)(jl_rng_unit(&r) * BUCKETS)]++;
    for (int b = 0; b < BUCKETS; b++) {
        assert_true(count[b] > DRAWS / BUCKETS * 8 / 10);
        assert_true(count[b] < DRAWS / BUCKETS * 12 / 10);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rand_bytes_fill_from_kernel),
        cmocka_unit_test(test_rand_bytes_zero_length),
        cmocka_unit_test(test_rand_bytes_short_reads_are_retried),
        cmocka_unit_test(test_rand_bytes_eintr_is_retried),
        cmocka_unit_test(test_rand_bytes_refused_falls_back_weak),
        cmocka_unit_test(test_rand_bytes_partial_then_refused_fills_the_rest),
        cmocka_unit_test(test_rand_rng_xorshift64_reference),
        cmocka_unit_test(test_rand_rng_zero_state_never_sticks),
        cmocka_unit_test(test_rand_rng_seed_is_never_zero),
        cmocka_unit_test(test_rand_rng_seeds_differ),
        cmocka_unit_test(test_rand_rng_unit_in_range),
        cmocka_unit_test(test_rand_rng_unit_is_roughly_uniform),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
