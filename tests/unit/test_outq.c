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
 * chunks are freed.
 *
 * Each test gets a fixture: a queue, a socketpair, and the bytes the queue
 * should send ('want', kept in step by the push/append helpers) beside the
 * bytes the peer received ('got'); with FIONREAD for the bytes still in the
 * socket, q->bytes can be checked exactly after every step. */
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
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/buf.h"
#include "server/msg.h"
#include "server/outq.h"
#include "server/util.h"

/* ---- the fixture ---- */

#define SMALL_SNDBUF 4096

typedef struct {
    jl_outq_t q;
    int w, r;           /* write end (non-blocking), read end */
    jl_buf_t want, got;
} fix_t;

static void set_nonblock(int fd)
{
    assert_int_equal(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
}

/* sndbuf 0: the kernel's default send buffer. */
static fix_t *fix_open(int sndbuf)
{
    fix_t *f = calloc(1, sizeof *f);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    f->w = sv[0];
    f->r = sv[1];
    if (sndbuf > 0)
        assert_int_equal(setsockopt(f->w, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf), 0);
    set_nonblock(f->w);
    set_nonblock(f->r);
    return f;
}

static void fix_close(fix_t *f)
{
    jl_outq_clear(&f->q);
    jl_buf_free(&f->want);
    jl_buf_free(&f->got);
    if (f->w >= 0)
        close(f->w);
    if (f->r >= 0)
        close(f->r);
    free(f);
}

static int setup_default(void **state)
{
    *state = fix_open(0);
    return 0;
}

static int setup_small(void **state)
{
    *state = fix_open(SMALL_SNDBUF);
    return 0;
}

static int teardown(void **state)
{
    fix_close(*state);
    return 0;
}

/* The invariant: q->bytes is what was queued minus what the socket took,
 * and the socket took what the peer read plus what still waits in it. */
static void check_bytes(const fix_t *f)
{
    int unread = 0;
    if (f->r >= 0)
        assert_int_equal(ioctl(f->r, FIONREAD, &unread), 0);
    assert_int_equal(f->q.bytes, f->want.len - f->got.len - (size_t)unread);
}

/* Queue operations that also record what should come out. */
static void push(fix_t *f, jl_frame_t *frame)
{
    jl_outq_push(&f->q, frame);
    jl_buf_append(&f->want, frame->data, frame->len);
    check_bytes(f);
}

static void append(fix_t *f, const void *p, size_t n)
{
    jl_outq_append(&f->q, p, n);
    jl_buf_append(&f->want, p, n);
    check_bytes(f);
}

/* Reads up to max bytes that are already there into f->got. */
static size_t drain(fix_t *f, size_t max)
{
    size_t n = 0;
    char tmp[4096];
    while (n < max) {
        size_t room = max - n < sizeof tmp ? max - n : sizeof tmp;
        ssize_t r = read(f->r, tmp, room);
        if (r <= 0)
            break;
        jl_buf_append(&f->got, tmp, (size_t)r);
        n += (size_t)r;
    }
    return n;
}

/* Writes and reads read_step bytes in turns until the queue is empty,
 * checking the bytes invariant after every write; then the peer must have
 * received exactly 'want'. Returns how many writes said JL_AGAIN. */
static int send_all(fix_t *f, size_t read_step)
{
    int agains = 0;
    for (;;) {
        int rc = jl_outq_write(&f->q, f->w);
        check_bytes(f);
        if (rc == JL_OK)
            break;
        assert_int_equal(rc, JL_AGAIN);
        agains++;
        assert_true(drain(f, read_step) > 0);   /* a full socket has bytes to read */
        check_bytes(f);
    }
    assert_int_equal(f->q.bytes, 0);
    assert_true(jl_outq_empty(&f->q));
    drain(f, SIZE_MAX);
    assert_int_equal(f->got.len, f->want.len);
    if (f->want.len > 0)
        assert_memory_equal(f->got.data, f->want.data, f->want.len);
    return agains;
}

static char *blob_new(size_t n, unsigned seed)
{
    char *p = malloc(n);
    for (size_t i = 0; i < n; i++)
        p[i] = (char)('a' + (seed + i * 7) % 26);
    return p;
}

/* ---- tests ---- */

static void test_outq_starts_empty(void **state)
{
    fix_t *f = *state;
    assert_true(jl_outq_empty(&f->q));
    assert_int_equal(jl_outq_write(&f->q, f->w), JL_OK);
    jl_outq_clear(&f->q);
    assert_true(jl_outq_empty(&f->q));
}

static void test_outq_push_takes_a_reference(void **state)
{
    fix_t *f = *state;
    jl_frame_t *fr = jl_frame_from("hello", 5);
    push(f, fr);
    assert_int_equal(fr->refs, 2);
    push(f, fr);
    assert_int_equal(fr->refs, 3);
    assert_false(jl_outq_empty(&f->q));
    jl_outq_clear(&f->q);
    assert_int_equal(fr->refs, 1);
    assert_int_equal(f->q.bytes, 0);
    assert_null(f->q.items);
    jl_frame_unref(fr);
}

static void test_outq_push_does_not_copy(void **state)
{
    fix_t *f = *state;
    jl_frame_t *fr = jl_frame_from("abc", 3);
    jl_outq_push(&f->q, fr);
    fr->data[1] = 'X';  /* frames are immutable once shared; this proves no copy */
    jl_buf_append(&f->want, "aXc", 3);
    send_all(f, SIZE_MAX);
    assert_int_equal(fr->refs, 1);
    jl_frame_unref(fr);
}

static void test_outq_empty_frame_adds_nothing(void **state)
{
    fix_t *f = *state;
    jl_frame_t *fr = jl_frame_new(8);
    push(f, fr);
    assert_true(jl_outq_empty(&f->q));
    jl_outq_clear(&f->q);
    assert_int_equal(fr->refs, 1);
    jl_frame_unref(fr);
}

static void test_outq_append_copies(void **state)
{
    fix_t *f = *state;
    char src[] = "+OK\r\n";
    append(f, src, 5);
    src[1] = 'N';       /* the caller's buffer is theirs again at once */
    append(f, ":1\r\n", 4);
    append(f, "", 0);
    assert_int_equal(f->q.bytes, 9);
    send_all(f, SIZE_MAX);
    assert_memory_equal(f->got.data, "+OK\r\n:1\r\n", 9);
}

static void test_outq_keeps_order_of_push_and_append(void **state)
{
    fix_t *f = *state;
    jl_frame_t *a = jl_frame_from("[A]", 3), *b = jl_frame_from("[B]", 3);
    append(f, "1", 1);
    push(f, a);
    append(f, "2", 1);
    append(f, "3", 1);
    push(f, b);
    push(f, a);
    append(f, "4", 1);
    send_all(f, SIZE_MAX);
    assert_memory_equal(f->got.data, "1[A]23[B][A]4", 13);
    assert_int_equal(a->refs, 1);
    assert_int_equal(b->refs, 1);
    jl_frame_unref(a);
    jl_frame_unref(b);
}

/* More items than one writev takes, more private bytes than one chunk. */
static void test_outq_many_items_and_big_appends(void **state)
{
    enum { FRAMES = 1000 };
    fix_t *f = *state;
    jl_frame_t *fr[FRAMES];
    for (int i = 0; i < FRAMES; i++) {
        char text[16];
        int n = snprintf(text, sizeof text, "<%d>", i);
        fr[i] = jl_frame_from(text, (size_t)n);
        push(f, fr[i]);
        if (i % 100 == 0) {
            size_t big = 40000 + (size_t)i;
            char *blob = blob_new(big, (unsigned)i);
            append(f, blob, big);
            free(blob);
        }
    }
    send_all(f, SIZE_MAX);
    for (int i = 0; i < FRAMES; i++) {
        assert_int_equal(fr[i]->refs, 1);
        jl_frame_unref(fr[i]);
    }
}

static void test_outq_full_socket_is_again(void **state)
{
    fix_t *f = *state;
    size_t n = 1 << 20;
    char *blob = blob_new(n, 1);
    jl_frame_t *fr = jl_frame_from(blob, n);
    push(f, fr);
    assert_int_equal(jl_outq_write(&f->q, f->w), JL_AGAIN);
    assert_true(f->q.bytes > 0 && f->q.bytes < n);
    assert_int_equal(fr->refs, 2);          /* still queued */
    /* Nothing read: the socket stays full. */
    assert_int_equal(jl_outq_write(&f->q, f->w), JL_AGAIN);
    jl_outq_clear(&f->q);
    assert_int_equal(fr->refs, 1);
    jl_frame_unref(fr);
    free(blob);
}

/* A frame cut mid-way resumes where it stopped, whatever the read size. */
static void test_outq_partial_writes_resume(void **state)
{
    (void)state;
    static const size_t steps[] = {1, 7, 1000, 4096, 65536};
    for (size_t s = 0; s < JL_ARRAY_LEN(steps); s++) {
        fix_t *f = fix_open(SMALL_SNDBUF);
        size_t n = steps[s] < 100 ? 20000 : 300000;
        char *blob = blob_new(n, (unsigned)s);
        jl_frame_t *shared = jl_frame_from(blob, n / 3);
        push(f, shared);
        append(f, blob + n / 3, n - n / 3);
        push(f, shared);
        assert_true(send_all(f, steps[s]) > 0);
        assert_int_equal(shared->refs, 1);
        jl_frame_unref(shared);
        free(blob);
        fix_close(f);
    }
}

/* Appending while part of the queue is already written keeps the order. */
static void test_outq_append_after_partial_write(void **state)
{
    fix_t *f = *state;
    char *blob = blob_new(100000, 3);
    append(f, blob, 100000);
    assert_int_equal(jl_outq_write(&f->q, f->w), JL_AGAIN);
    append(f, "tail", 4);
    jl_frame_t *fr = jl_frame_from("frame", 5);
    push(f, fr);
    send_all(f, 3000);
    assert_int_equal(fr->refs, 1);
    jl_frame_unref(fr);
    free(blob);
}

static void test_outq_write_error_is_negative_errno(void **state)
{
    fix_t *f = *state;
    close(f->r);
    f->r = -1;
    jl_frame_t *fr = jl_frame_from("lost", 4);
    push(f, fr);
    assert_int_equal(jl_outq_write(&f->q, f->w), -EPIPE);
    assert_int_equal(jl_outq_write(&f->q, -1), -EBADF);
    jl_outq_clear(&f->q);
    assert_int_equal(fr->refs, 1);
    assert_true(jl_outq_empty(&f->q));
    jl_frame_unref(fr);
}

static void test_outq_clear_releases_partially_sent(void **state)
{
    fix_t *f = *state;
    size_t n = 200000;
    char *blob = blob_new(n, 9);
    jl_frame_t *a = jl_frame_from(blob, n), *b = jl_frame_from("b", 1);
    push(f, a);
    append(f, blob, 1000);
    push(f, b);
    push(f, a);
    assert_int_equal(a->refs, 3);
    assert_int_equal(jl_outq_write(&f->q, f->w), JL_AGAIN);   /* a is cut */
    jl_outq_clear(&f->q);
    assert_int_equal(a->refs, 1);
    assert_int_equal(b->refs, 1);
    assert_int_equal(f->q.bytes, 0);
    assert_null(f->q.items);
    /* A cleared queue is reusable. */
    jl_outq_append(&f->q, "x", 1);
    assert_int_equal(f->q.bytes, 1);
    jl_frame_unref(a);
    jl_frame_unref(b);
    free(blob);
}

#define DEFAULT_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup_default, teardown)
#define SMALL_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup_small, teardown)

int main(void)
{
    signal(SIGPIPE, SIG_IGN);   /* as the server does: EPIPE, not a signal */
    const struct CMUnitTest tests[] = {
        DEFAULT_TEST(test_outq_starts_empty),
        DEFAULT_TEST(test_outq_push_takes_a_reference),
        DEFAULT_TEST(test_outq_push_does_not_copy),
        DEFAULT_TEST(test_outq_empty_frame_adds_nothing),
        DEFAULT_TEST(test_outq_append_copies),
        DEFAULT_TEST(test_outq_keeps_order_of_push_and_append),
        DEFAULT_TEST(test_outq_many_items_and_big_appends),
        SMALL_TEST(test_outq_full_socket_is_again),
        cmocka_unit_test(test_outq_partial_writes_resume),
        SMALL_TEST(test_outq_append_after_partial_write),
        DEFAULT_TEST(test_outq_write_error_is_negative_errno),
        SMALL_TEST(test_outq_clear_releases_partially_sent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
