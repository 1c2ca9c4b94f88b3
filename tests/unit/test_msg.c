/* test_msg.c -- server/msg.c: refcounted frames and the per-publish cache.
 *
 * The contract (msg.h): a frame starts with one reference, jl_frame_from
 * copies its bytes, the last unref frees; a message borrows its channel and
 * payload, sinks cache one frame per wire form in it, jl_msg_release drops
 * every cached reference (pattern frames included) and leaves the message
 * reusable, jl_msg_release_pattern drops only the pattern frames. The tests
 * keep their own reference to each frame and read its count after every
 * step; in an ASan build a frame freed too early or never is a failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "server/msg.h"
#include "server/util.h"

static void test_msg_frame_new_is_empty_with_one_ref(void **state)
{
    (void)state;
    jl_frame_t *f = jl_frame_new(64);
    assert_non_null(f);
    assert_int_equal(f->refs, 1);
    assert_int_equal(f->len, 0);
    assert_int_equal(f->cap, 64);
    assert_int_equal(f->priv, 0);
    memset(f->data, 'z', f->cap);   /* all of cap is writable (ASan) */
    jl_frame_unref(f);

    jl_frame_t *z = jl_frame_new(0);
    assert_non_null(z);
    assert_int_equal(z->len, 0);
    jl_frame_unref(z);
}

static void test_msg_frame_from_copies(void **state)
{
    (void)state;
    char src[] = "data: hi\n\n";
    jl_frame_t *f = jl_frame_from(src, sizeof src - 1);
    memset(src, '!', sizeof src - 1);
    assert_int_equal(f->refs, 1);
    assert_int_equal(f->len, sizeof src - 1);
    assert_true(f->cap >= f->len);
    assert_memory_equal(f->data, "data: hi\n\n", f->len);
    jl_frame_unref(f);

    jl_frame_t *e = jl_frame_from("", 0);
    assert_int_equal(e->len, 0);
    assert_int_equal(e->refs, 1);
    jl_frame_unref(e);

    jl_frame_t *nul = jl_frame_from("a\0b", 3);
    assert_memory_equal(nul->data, "a\0b", 3);
    jl_frame_unref(nul);
}

static void test_msg_frame_refcount(void **state)
{
    (void)state;
    jl_frame_t *f = jl_frame_from("x", 1);
    assert_ptr_equal(jl_frame_ref(f), f);
    assert_ptr_equal(jl_frame_ref(f), f);
    assert_int_equal(f->refs, 3);
    jl_frame_unref(f);
    assert_int_equal(f->refs, 2);
    jl_frame_unref(f);
    assert_int_equal(f->refs, 1);
    assert_memory_equal(f->data, "x", 1);   /* still alive */
    jl_frame_unref(f);                      /* freed: ASan would see a leak otherwise */
    jl_frame_unref(NULL);
}

static void test_msg_init_borrows(void **state)
{
    (void)state;
    const char chan[] = "news", payload[] = "hello";
    jl_msg_t m;
    memset(&m, 0xa5, sizeof m);
    jl_msg_init(&m, chan, 4, payload, 5, 1);
    assert_ptr_equal(m.chan, chan);
    assert_int_equal(m.chan_len, 4);
    assert_ptr_equal(m.payload, payload);
    assert_int_equal(m.payload_len, 5);
    assert_int_equal(m.shard, 1);
    for (int k = 0; k < JL_FRAME_KINDS; k++)
        assert_null(m.frames[k]);
    assert_null(m.pframes[0]);
    assert_null(m.pframes[1]);
    assert_null(m.pattern);
    jl_msg_release(&m);     /* nothing cached: a no-op */
}

/* What a sink does: build the frame on first use and keep it in the cache;
 * the second subscriber of the kind takes a reference to the same frame. */
static jl_frame_t *sink_frame(jl_msg_t *m, jl_frame_kind_t kind)
{
    if (m->frames[kind] == NULL)
        m->frames[kind] = jl_frame_from(m->payload, m->payload_len);
    return jl_frame_ref(m->frames[kind]);
}

static void test_msg_release_drops_cached_frames(void **state)
{
    (void)state;
    jl_msg_t m;
    jl_msg_init(&m, "c", 1, "p", 1, 0);
    jl_frame_t *a = sink_frame(&m, JL_FRAME_RESP2);
    jl_frame_t *b = sink_frame(&m, JL_FRAME_RESP2);
    jl_frame_t *s = sink_frame(&m, JL_FRAME_SSE);
    assert_ptr_equal(a, b);
    assert_int_equal(a->refs, 3);       /* the cache + two sinks */
    assert_int_equal(s->refs, 2);
    jl_frame_t *p = jl_frame_from("pm", 2);
    m.pattern = "c*";
    m.pattern_len = 2;
    m.pframes[1] = jl_frame_ref(p);

    jl_msg_release(&m);
    assert_int_equal(a->refs, 2);
    assert_int_equal(s->refs, 1);
    assert_int_equal(p->refs, 1);
    for (int k = 0; k < JL_FRAME_KINDS; k++)
        assert_null(m.frames[k]);
    assert_null(m.pframes[0]);
    assert_null(m.pframes[1]);
    /* The borrowed text stays; the message is reusable. */
    assert_memory_equal(m.chan, "c", 1);
    assert_memory_equal(m.payload, "p", 1);
    jl_frame_t *again = sink_frame(&m, JL_FRAME_RESP2);
    assert_ptr_not_equal(again, a);
    assert_int_equal(again->refs, 2);
    jl_msg_release(&m);
    jl_msg_release(&m);     /* twice is harmless */
    assert_int_equal(again->refs, 1);

    jl_frame_unref(again);
    jl_frame_unref(a);
    jl_frame_unref(a);
    jl_frame_unref(s);
    jl_frame_unref(p);
}

static void test_msg_release_pattern_keeps_channel_frames(void **state)
{
    (void)state;
    jl_msg_t m;
    jl_msg_init(&m, "news.1", 6, "x", 1, 0);
    jl_frame_t *plain = sink_frame(&m, JL_FRAME_RESP3);
    jl_frame_t *p2 = jl_frame_from("p2", 2), *p3 = jl_frame_from("p3", 3);
    m.pattern = "news.*";
    m.pattern_len = 6;
    m.pframes[0] = jl_frame_ref(p2);
    m.pframes[1] = jl_frame_ref(p3);

    jl_msg_release_pattern(&m);
    assert_null(m.pframes[0]);
    assert_null(m.pframes[1]);
    assert_int_equal(p2->refs, 1);
    assert_int_equal(p3->refs, 1);
    assert_ptr_equal(m.frames[JL_FRAME_RESP3], plain);
    assert_int_equal(plain->refs, 2);

    /* The next pattern builds its own frames. */
    m.pattern = "n*";
    m.pattern_len = 2;
    m.pframes[0] = jl_frame_from("n", 1);
    jl_msg_release_pattern(&m);
    jl_msg_release_pattern(&m);
    assert_null(m.pframes[0]);

    jl_msg_release(&m);
    assert_int_equal(plain->refs, 1);
    jl_frame_unref(plain);
    jl_frame_unref(p2);
    jl_frame_unref(p3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_msg_frame_new_is_empty_with_one_ref),
        cmocka_unit_test(test_msg_frame_from_copies),
        cmocka_unit_test(test_msg_frame_refcount),
        cmocka_unit_test(test_msg_init_borrows),
        cmocka_unit_test(test_msg_release_drops_cached_frames),
        cmocka_unit_test(test_msg_release_pattern_keeps_channel_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
