/* test_htable.c -- server/htable.c: the intrusive chained hash table.
 *
 * The contract (htable.h): the owner sets each link's hash and compares
 * keys itself while walking jl_htable_chain; the table doubles when full,
 * halves below 1/8 full, and never shrinks while 'frozen' (so a walk over
 * the slots can remove what it visits); it owns only its slot array. The
 * tests hold many objects at once, force growth and shrinking, walk a
 * frozen table while emptying it, and pile entries onto one hash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "server/htable.h"
#include "server/util.h"

/* ---- helpers ---- */

typedef struct {
    jl_hlink_t link;
    int key;
    int in;         /* linked in the table under test */
    int seen;       /* visits during a walk */
} item_t;

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    x ^= x >> 33;
    return x;
}

static item_t *items_new(int n, int same_hash)
{
    item_t *it = calloc((size_t)n, sizeof *it);
    for (int i = 0; i < n; i++) {
        it[i].key = i;
        it[i].link.hash = same_hash ? 42 : mix((uint64_t)i + 1);
    }
    return it;
}

static void put(jl_htable_t *t, item_t *it)
{
    jl_htable_insert(t, &it->link);
    it->in = 1;
}

static void del(jl_htable_t *t, item_t *it)
{
    jl_htable_remove(t, &it->link);
    it->in = 0;
}

/* The owner's lookup: walk the chain, compare hash and key. */
static item_t *find(const jl_htable_t *t, uint64_t hash, int key)
{
    for (jl_hlink_t *l = jl_htable_chain(t, hash); l != NULL; l = l->next) {
        item_t *it = JL_CONTAINER_OF(l, item_t, link);
        if (l->hash == hash && it->key == key)
            return it;
    }
    return NULL;
}

static int is_pow2(size_t x) { return x != 0 && (x & (x - 1)) == 0; }

/* What the header promises about size, checked after every operation: a
 * power of two, at most one entry per slot ("doubles when full"), and not
 * far below 1/8 full unless small ("halves below 1/8 full"). */
static void check_shape(const jl_htable_t *t)
{
    if (t->size == 0) {
        assert_int_equal(t->count, 0);
        return;
    }
    assert_true(is_pow2(t->size));
    assert_true(t->count <= t->size);
    if (!t->frozen)
        assert_true(t->size <= 64 || t->count * 16 >= t->size);
}

static void expect_members(const jl_htable_t *t, item_t *it, int n)
{
    size_t in = 0;
    for (int i = 0; i < n; i++) {
        item_t *got = find(t, it[i].link.hash, it[i].key);
        if (it[i].in) {
            assert_ptr_equal(got, &it[i]);
            in++;
        } else {
            assert_null(got);
        }
    }
    assert_int_equal(t->count, in);
}

/* ---- tests ---- */

static void test_htable_empty(void **state)
{
    (void)state;
    jl_htable_t t = {0};
    assert_null(jl_htable_chain(&t, 0));
    assert_null(jl_htable_chain(&t, UINT64_MAX));
    check_shape(&t);
    jl_htable_free(&t);
    assert_null(t.slot);
    assert_int_equal(t.size, 0);
}

static void test_htable_insert_find_remove_many(void **state)
{
    (void)state;
    enum { N = 20000 };
    jl_htable_t t = {0};
    item_t *it = items_new(N, 0);
    for (int i = 0; i < N; i++) {
        put(&t, &it[i]);
        check_shape(&t);
    }
    expect_members(&t, it, N);
    for (int i = 0; i < N; i += 2) {
        del(&t, &it[i]);
        check_shape(&t);
    }
    expect_members(&t, it, N);
    /* Removed links can go back in. */
    for (int i = 0; i < N; i += 4)
        put(&t, &it[i]);
    expect_members(&t, it, N);
    jl_htable_free(&t);
    assert_null(t.slot);
    assert_int_equal(t.count, 0);
    free(it);
}

static void test_htable_grows_and_shrinks(void **state)
{
    (void)state;
    enum { N = 5000 };
    jl_htable_t t = {0};
    item_t *it = items_new(N, 0);
    put(&t, &it[0]);
    size_t first = t.size;
    assert_true(first > 0);
    for (int i = 1; i < N; i++)
        put(&t, &it[i]);
    size_t peak = t.size;
    assert_true(peak >= N);
    assert_true(peak < 2 * N);      /* doubled, not overgrown */
    for (int i = 0; i < N - 3; i++) {
        del(&t, &it[i]);
        check_shape(&t);
    }
    assert_true(t.size < peak / 64);
    expect_members(&t, it, N);
    for (int i = N - 3; i < N; i++)
        del(&t, &it[i]);
    assert_int_equal(t.count, 0);
    assert_true(t.size <= first * 2);
    jl_htable_free(&t);
    free(it);
}

static void test_htable_frozen_never_shrinks(void **state)
{
    (void)state;
    enum { N = 4096 };
    jl_htable_t t = {0};
    item_t *it = items_new(N, 0);
    for (int i = 0; i < N; i++)
        put(&t, &it[i]);
    size_t size = t.size;
    t.frozen = 1;
    for (int i = 0; i < N - 1; i++) {
        del(&t, &it[i]);
        assert_int_equal(t.size, size);
    }
    expect_members(&t, it, N);
    t.frozen = 0;
    del(&t, &it[N - 1]);
    assert_true(t.size < size);
    jl_htable_free(&t);
    free(it);
}

/* The use the flag exists for: visit every slot and remove what is found,
 * each entry exactly once, the slot array never moving under the walk. */
static void test_htable_frozen_walk_removing_everything(void **state)
{
    (void)state;
    enum { N = 3000 };
    jl_htable_t t = {0};
    item_t *it = items_new(N, 0);
    for (int i = 0; i < N; i++)
        put(&t, &it[i]);
    t.frozen = 1;
    jl_hlink_t **slot = t.slot;
    size_t size = t.size;
    for (size_t b = 0; b < size; b++) {
        jl_hlink_t *l = t.slot[b];
        while (l != NULL) {
            jl_hlink_t *next = l->next;
            item_t *x = JL_CONTAINER_OF(l, item_t, link);
            x->seen++;
            del(&t, x);
            l = next;
        }
        assert_ptr_equal(t.slot, slot);
        assert_int_equal(t.size, size);
    }
    t.frozen = 0;
    assert_int_equal(t.count, 0);
    for (int i = 0; i < N; i++)
        assert_int_equal(it[i].seen, 1);
    jl_htable_free(&t);
    free(it);
}

static void test_htable_equal_hashes_share_a_chain(void **state)
{
    (void)state;
    enum { N = 200 };
    jl_htable_t t = {0};
    item_t *it = items_new(N, 1);
    for (int i = 0; i < N; i++)
        put(&t, &it[i]);
    /* All N are on the chain of 42: the owner tells them apart by key. */
    int on_chain = 0;
    for (jl_hlink_t *l = jl_htable_chain(&t, 42); l != NULL; l = l->next)
        on_chain += l->hash == 42;
    assert_int_equal(on_chain, N);
    expect_members(&t, it, N);
    /* Remove from the middle, the ends, in no particular order. */
    for (int i = 0; i < N; i += 3)
        del(&t, &it[(i * 7) % N]);
    expect_members(&t, it, N);
    for (int i = 0; i < N; i++)
        if (it[i].in)
            del(&t, &it[i]);
    assert_int_equal(t.count, 0);
    assert_null(jl_htable_chain(&t, 42));
    jl_htable_free(&t);
    free(it);
}

/* Different hashes that land in one slot: the chain holds both, which is
 * why the owner compares l->hash before the key. */
static void test_htable_chain_may_hold_other_hashes(void **state)
{
    (void)state;
    jl_htable_t t = {0};
    item_t a = {.key = 1}, b = {.key = 1};
    a.link.hash = 5;
    put(&t, &a);
    b.link.hash = 5 + (uint64_t)t.size;    /* same slot at this size */
    put(&t, &b);
    assert_ptr_equal(find(&t, 5, 1), &a);
    assert_ptr_equal(find(&t, b.link.hash, 1), &b);
    int both = 0;
    for (jl_hlink_t *l = jl_htable_chain(&t, 5); l != NULL; l = l->next)
        both++;
    assert_int_equal(both, 2);
    del(&t, &a);
    assert_null(find(&t, 5, 1));
    assert_ptr_equal(find(&t, b.link.hash, 1), &b);
    del(&t, &b);
    jl_htable_free(&t);
}

static void test_htable_free_then_reuse(void **state)
{
    (void)state;
    jl_htable_t t = {0};
    item_t *it = items_new(100, 0);
    for (int i = 0; i < 100; i++)
        put(&t, &it[i]);
    jl_htable_free(&t);     /* frees the slots, not the objects */
    assert_null(t.slot);
    assert_int_equal(t.size, 0);
    assert_int_equal(t.count, 0);
    for (int i = 0; i < 100; i++)
        it[i].in = 0;
    for (int i = 0; i < 10; i++)
        put(&t, &it[i]);
    expect_members(&t, it, 100);
    jl_htable_free(&t);
    free(it);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_htable_empty),
        cmocka_unit_test(test_htable_insert_find_remove_many),
        cmocka_unit_test(test_htable_grows_and_shrinks),
        cmocka_unit_test(test_htable_frozen_never_shrinks),
        cmocka_unit_test(test_htable_frozen_walk_removing_everything),
        cmocka_unit_test(test_htable_equal_hashes_share_a_chain),
        cmocka_unit_test(test_htable_chain_may_hold_other_hashes),
        cmocka_unit_test(test_htable_free_then_reuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
