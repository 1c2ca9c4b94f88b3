/* test_outq.c -- server/outq.c: a connection's queue of outgoing bytes.
 *
 * The contract under test (outq.h): push takes its own frame reference and
 * never copies; append copies private bytes; everything leaves in the order
 * it was queued; q->bytes is always the number of unsent bytes; write sends
 * what the socket takes and says JL_AGAIN when it is full, -errno when it
 * fails; clear drops every reference. The writes go over a real non-blocking
 * socketpair whose send buffer is made small, so partial writes -- a frame
 * cut in the middle, then resumed -- really happen. Frame reference counts
 * are read back after each step; an ASan build also proves the private
 * chunks are freed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/buf.h"
#include "server/msg.h"
#include "server/outq.h"
#include "server/util.h"

/* ---- helpers ---- */

typedef struct {
    int w, r;   /* write end (non-blocking, small SO_SNDBUF), read end */
} pipe_t;

static void pair_open(pipe_t *p, int sndbuf)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    p->w = sv[0];
    p->r = sv[1];
    if (sndbuf > 0)
        assert_int_equal(setsockopt(p->w, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf), 0);
    assert_int_equal(fcntl(p->w, F_SETFL, fcntl(p->w, F_GETFL) | O_NONBLOCK), 0);
    assert_int_equal(fcntl(p->r, F_SETFL, fcntl(p->r, F_GETFL) | O_NONBLOCK), 0);
}

static void pair_close(pipe_t *p)
{
    if (p->w >= 0)
        close(p->w);
    if (p->r >= 0)
        close(p->r);
}

/* Reads up to max bytes that are already there; appends them to out. */
static size_t drain(int fd, jl_buf_t *out, size_t max)
{
    size_t got = 0;
    char tmp[4096];
    while (got < max) {
        size_t want = max - got < sizeof tmp ? max - got : sizeof tmp;
        ssize_t n = read(fd, tmp, want);
        if (n <= 0)
            break;
        jl_buf_append(out, tmp, (size_t)n);
        got += (size_t)n;
    }
    return got;
}

/* Writes and reads in turns until the queue is empty; returns how many
 * writes said JL_AGAIN. */
static int pump(jl_outq_t *q, pipe_t *p, jl_buf_t *out, size_t read_step)
{
    int agains = 0;
    for (int guard = 0; guard < 1000000; guard++) {
        size_t before = q->bytes;
        int rc = jl_outq_write(q, p->w);
        if (rc == JL_OK) {
            assert_int_equal(q->bytes, 0);
            drain(p->r, out, SIZE_MAX);
            return agains;
        }
        assert_int_equal(rc, JL_AGAIN);
        assert_true(q->bytes > 0 && q->bytes <= before);
        agains++;
        assert_true(drain(p->r, out, read_step) > 0);
    }
    fail_msg("the queue never drained");
    return agains;
}

static void fill(char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (char)('a' + (seed + i * 7) % 26);
}

/* ---- tests ---- */

static void test_outq_starts_empty(void **state)
{
    (void)state;
    jl_outq_t q = {0};
    pipe_t p;
    pair_open(&p, 0);
    assert_true(jl_outq_empty(&q));
    assert_int_equal(jl_outq_write(&q, p.w), JL_OK);
    jl_outq_clear(&q);
    assert_true(jl_outq_empty(&q));
    pair_close(&p);
}

static void test_outq_push_takes_a_reference(void **state)
{
    (void)state;
    jl_outq_t q = {0};
    jl_frame_t *f = jl_frame_from("hello", 5);
    jl_outq_push(&q, f);
    assert_int_equal(f->refs, 2);
    jl_outq_push(&q, f);
    assert_int_equal(f->refs, 3);
    assert_int_equal(q.bytes, 10);
    assert_false(jl_outq_empty(&q));
    jl_outq_clear(&q);
    assert_int_equal(f->refs, 1);
    assert_int_equal(q.bytes, 0);
    assert_null(q.items);
    jl_frame_unref(f);
}

static void test_outq_push_does_not_copy(void **state)
{
    (void)state;
    jl_outq_t q = {0};
    pipe_t p;
    pair_open(&p, 0);
    jl_frame_t *f = jl_frame_from("abc", 3);
    jl_outq_push(&q, f);
    f->data[1] = 'X';   /* frames are immutable once shared; this proves no copy */
    jl_buf_t out = {0};
    assert_int_equal(jl_outq_write(&q, p.w), JL_OK);
    drain(p.r, &out, SIZE_MAX);
    assert_int_equal(out.len, 3);
    assert_memory_equal(out.data, "aXc", 3);
    assert_int_equal(f->refs, 1);
    jl_buf_free(&out);
    jl_frame_unref(f);
    jl_outq_clear(&q);
    pair_close(&p);
}

static void test_outq_empty_frame_adds_nothing(void **state)
{
    (void)state;
    jl_outq_t q = {0};
    jl_frame_t *f = jl_frame_new(8);
    jl_outq_push(&q, f);
    assert_int_equal(q.bytes, 0);
    assert_true(jl_outq_empty(&q));
    jl_outq_clear(&q);
    assert_int_equal(f->refs, 1);
    jl_frame_unref(f);
}

static void test_outq_append_copies(void **state)
{
    (void)state;
    jl_outq_t q = {0};
    pipe_t p;
    pair_open(&p, 0);
    char src[] = "+OK\r\n";
    jl_outq_append(&q, src, 5);
    src[1] = 'N';   /* the caller's buffer is theirs again at once */
    jl_outq_append(&q, ":1\r\n", 4);
    jl_outq_append(&q, "", 0);
    assert_int_equal(q.bytes, 9);
    jl_buf_t out = {0};
    assert_int_equal(jl_outq_write(&q, p.w), JL_OK);
    drain(p.r, &out, SIZE_MAX);
    assert_int_equal(out.len, 9);
    assert_memory_equal(out.data, "+OK\r\n:1\r\n", 9);
    jl_buf_free(&out);
    jl_outq_clear(&q);
    pair_close(&p);
}

static void test_outq_keeps_order_of_push_and_append(void **state)
{
    (void)state;
    jl_outq_t q = {0};
    pipe_t p;
    pair_open(&p, 0);
    jl_frame_t *a = jl_frame_from("[A]", 3), *b = jl_frame_from("[B]", 3);
    jl_outq_append(&q, "1", 1);
    jl_outq_push(&q, a);
    jl_outq_append(&q, "2", 1);
    jl_outq_append(&q, "3", 1);
    jl_outq_push(&q, b);
    jl_outq_push(&q, a);
    jl_outq_append(&q, "4", 1);
    assert_int_equal(q.bytes, 13);
    jl_buf_t out = {0};
    assert_int_equal(jl_outq_write(&q, p.w), JL_OK);
    drain(p.r, &out, SIZE_MAX);
    assert_int_equal(out.len, 13);
    assert_memory_equal(out.data, "1[A]23[B][A]4", 13);
    assert_int_equal(a->refs, 1);
    assert_int_equal(b->refs, 1);
    assert_true(jl_outq_empty(&q));
    jl_buf_free(&out);
    jl_frame_unref(a);
    jl_frame_unref(b);
    jl_outq_clear(&q);
    pair_close(&p);
}

/* More items than one writev takes, more private bytes than one chunk. */
static void test_outq_many_items_and_big_appends(void **state)
{
    (void)state;
    enum { FRAMES = 1000 };
    jl_outq_t q = {0};
    pipe_t p;
    pair_open(&p, 0);
    jl_buf_t want = {0}, out = {0};
    jl_frame_t *f[FRAMES];
    for (int i = 0; i < FRAMES; i++) {
        char text[16];
        int n = snprintf(text, sizeof text, "<%d>", i);
        f[i] = jl_frame_from(text, (size_t)n);
        jl_outq_push(&q, f[i]);
        jl_buf_append(&want, text, (size_t)n);
        if (i % 100 == 0) {
            size_t big = 40000 + (size_t)i;
            char *blob = malloc(big);
            fill(blob, big, (unsigned)i);
            jl_outq_append(&q, blob, big);
            jl_buf_append(&want, blob, big);
            free(blob);
        }
        assert_int_equal(q.bytes, want.len);
    }
    pump(&q, &p, &out, SIZE_MAX);
    assert_int_equal(out.len, want.len);
    assert_memory_equal(out.data, want.data, want.len);
    for (int i = 0; i < FRAMES; i++) {
        assert_int_equal(f[i]->refs, 1);
        jl_frame_unref(f[i]);
    }
    jl_buf_free(&want);
    jl_buf_free(&out);
    jl_outq_clear(&q);
    pair_close(&p);
}

static void test_outq_full_socket_is_again(void **state)
{
    (void)state;
    jl_outq_t q = {0};
    pipe_t p;
    pair_open(&p, 4096);
    size_t n = 1 << 20;
    char *blob = malloc(n);
    fill(blob, n, 1);
    jl_frame_t *f = jl_frame_from(blob, n);
    jl_outq_push(&q, f);
    assert_int_equal(jl_outq_write(&q, p.w), JL_AGAIN);
    assert_true(q.bytes > 0 && q.bytes < n);
    assert_int_equal(f->refs, 2);           /* still queued */
    /* Nothing read: the socket stays full. */
    assert_int_equal(jl_outq_write(&q, p.w), JL_AGAIN);
    jl_outq_clear(&q);
    assert_int_equal(f->refs, 1);
    jl_frame_unref(f);
    free(blob);
    pair_close(&p);
}

/* A frame cut mid-way resumes where it stopped; the invariant holds at
 * every step (pump checks it), whatever the read size. */
static void test_outq_partial_writes_resume(void **state)
{
    (void)state;
    static const size_t steps[] = {1, 7, 1000, 4096, 65536};
    for (size_t s = 0; s < JL_ARRAY_LEN(steps); s++) {
        jl_outq_t q = {0};
        pipe_t p;
        pair_open(&p, 4096);
        jl_buf_t want = {0}, out = {0};
        size_t n = steps[s] < 100 ? 20000 : 300000;
        char *blob = malloc(n);
        fill(blob, n, (unsigned)s);
        jl_frame_t *shared = jl_frame_from(blob, n / 3);
        jl_outq_push(&q, shared);
        jl_buf_append(&want, blob, n / 3);
        jl_outq_append(&q, blob + n / 3, n - n / 3);
        jl_buf_append(&want, blob + n / 3, n - n / 3);
        jl_outq_push(&q, shared);
        jl_buf_append(&want, blob, n / 3);
        assert_int_equal(q.bytes, want.len);
        assert_true(pump(&q, &p, &out, steps[s]) > 0);
        assert_int_equal(out.len, want.len);
        assert_memory_equal(out.data, want.data, want.len);
        assert_int_equal(shared->refs, 1);
        jl_frame_unref(shared);
        free(blob);
        jl_buf_free(&want);
        jl_buf_free(&out);
        jl_outq_clear(&q);
        pair_close(&p);
    }
}

/* Appending while part of the queue is already written keeps the order. */
static void test_outq_append_after_partial_write(void **state)
{
    (void)state;
    jl_outq_t q = {0};
    pipe_t p;
    pair_open(&p, 4096);
    jl_buf_t want = {0}, out = {0};
    char blob[100000];
    fill(blob, sizeof blob, 3);
    jl_outq_append(&q, blob, sizeof blob);
    jl_buf_append(&want, blob, sizeof blob);
    assert_int_equal(jl_outq_write(&q, p.w), JL_AGAIN);
    jl_outq_append(&q, "tail", 4);
    jl_buf_append(&want, "tail", 4);
    jl_frame_t *f = jl_frame_from("frame", 5);
    jl_outq_push(&q, f);
    jl_buf_append(&want, "frame", 5);
    pump(&q, &p, &out, 3000);
    assert_int_equal(out.len, want.len);
    assert_memory_equal(out.data, want.data, want.len);
    assert_int_equal(f->refs, 1);
    jl_frame_unref(f);
    jl_buf_free(&want);
    jl_buf_free(&out);
    jl_outq_clear(&q);
    pair_close(&p);
}

static void test_outq_write_error_is_negative_errno(void **state)
{
    (void)state;
    jl_outq_t q = {0};
    pipe_t p;
    pair_open(&p, 0);
    close(p.r);
    p.r = -1;
    jl_frame_t *f = jl_frame_from("lost", 4);
    jl_outq_push(&q, f);
    assert_int_equal(jl_outq_write(&q, p.w), -EPIPE);
    assert_int_equal(jl_outq_write(&q, -1), -EBADF);
    jl_outq_clear(&q);
    assert_int_equal(f->refs, 1);
    assert_true(jl_outq_empty(&q));
    jl_frame_unref(f);
    pair_close(&p);
}

static void test_outq_clear_releases_partially_sent(void **state)
{
    (void)state;
    jl_outq_t q = {0};
    pipe_t p;
    pair_open(&p, 4096);
    size_t n = 200000;
    char *blob = malloc(n);
    fill(blob, n, 9);
    jl_frame_t *a = jl_frame_from(blob, n), *b = jl_frame_from("b", 1);
    jl_outq_push(&q, a);
    jl_outq_append(&q, blob, 1000);
    jl_outq_push(&q, b);
    jl_outq_push(&q, a);
    assert_int_equal(a->refs, 3);
    assert_int_equal(jl_outq_write(&q, p.w), JL_AGAIN);   /* a is cut */
    jl_outq_clear(&q);
    assert_int_equal(a->refs, 1);
    assert_int_equal(b->refs, 1);
    assert_int_equal(q.bytes, 0);
    assert_null(q.items);
    /* A cleared queue is reusable. */
    jl_outq_append(&q, "x", 1);
    assert_int_equal(q.bytes, 1);
    jl_outq_clear(&q);
    jl_frame_unref(a);
    jl_frame_unref(b);
    free(blob);
    pair_close(&p);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);   /* as the server does: EPIPE, not a signal */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_outq_starts_empty),
        cmocka_unit_test(test_outq_push_takes_a_reference),
        cmocka_unit_test(test_outq_push_does_not_copy),
        cmocka_unit_test(test_outq_empty_frame_adds_nothing),
        cmocka_unit_test(test_outq_append_copies),
        cmocka_unit_test(test_outq_keeps_order_of_push_and_append),
        cmocka_unit_test(test_outq_many_items_and_big_appends),
        cmocka_unit_test(test_outq_full_socket_is_again),
        cmocka_unit_test(test_outq_partial_writes_resume),
        cmocka_unit_test(test_outq_append_after_partial_write),
        cmocka_unit_test(test_outq_write_error_is_negative_errno),
        cmocka_unit_test(test_outq_clear_releases_partially_sent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
