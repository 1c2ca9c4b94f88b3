/* test_resp_writer.c -- unit tests for resp/resp_writer.c.
 *
 * Every encoder is checked for its exact bytes in RESP2 and RESP3; the
 * expected strings marked [O] were captured from redis-server 7.0.15. The
 * last tests feed the writer's output back through the reply parser, so the
 * two halves of the codec agree. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>

#include <cmocka.h>

#include "resp/resp_parser.h"
#include "resp/resp_writer.h"
#include "server/util.h"

/* Asserts b holds exactly lit, then empties it. */
static void expect_bytes(jl_buf_t *b, const char *lit, size_t n)
{
    if (b->len != n || memcmp(b->data, lit, n) != 0)
        fail_msg("got %zu bytes \"%.*s\", wanted %zu \"%.*s\"", b->len, (int)b->len,
                 b->data ? b->data : "", n, (int)n, lit);
    b->len = 0;
}

#define EXPECT(b, lit) expect_bytes((b), (lit), sizeof(lit) - 1)

static void test_resp_writer_simple_and_errors(void **state)
{
    (void)state;
    jl_buf_t b = {0};
    jl_resp_simple(&b, "OK");
    EXPECT(&b, "+OK\r\n");
    jl_resp_simple(&b, "");
    EXPECT(&b, "+\r\n");
    jl_resp_simple(&b, "a\r\nb");
    EXPECT(&b, "+a  b\r\n");

    jl_resp_error(&b, "ERR unknown command");
    EXPECT(&b, "-ERR unknown command\r\n");
    jl_resp_error(&b, "-NOPROTO unsupported protocol version");
    EXPECT(&b, "-NOPROTO unsupported protocol version\r\n");
    jl_resp_error(&b, "ERR a\nb\rc");
    EXPECT(&b, "-ERR a b c\r\n");

    /* [O] unknown command: trailing space, args quoted; CR/LF become spaces. */
    jl_resp_errorf(&b, "ERR unknown command '%s', with args beginning with: ", "FOO");
    EXPECT(&b, "-ERR unknown command 'FOO', with args beginning with: \r\n");
    jl_resp_errorf(&b, "ERR unknown command '%s'", "x\r\ny");
    EXPECT(&b, "-ERR unknown command 'x  y'\r\n");
    jl_resp_errorf(&b, "%s", "-WRONGTYPE x");
    EXPECT(&b, "-WRONGTYPE x\r\n");

    /* Longer than the stack buffer. */
    char big[1000];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    jl_resp_errorf(&b, "ERR %s!", big);
    assert_int_equal(b.len, 1 + 4 + 999 + 1 + 2);
    assert_memory_equal(b.data, "-ERR zzz", 8);
    assert_memory_equal(b.data + b.len - 3, "!\r\n", 3);
    b.len = 0;
    jl_buf_free(&b);
}

static void test_resp_writer_integer(void **state)
{
    (void)state;
    jl_buf_t b = {0};
    jl_resp_integer(&b, 0);
    EXPECT(&b, ":0\r\n");
    jl_resp_integer(&b, 7);
    EXPECT(&b, ":7\r\n");
    jl_resp_integer(&b, -1);
    EXPECT(&b, ":-1\r\n");
    jl_resp_integer(&b, LLONG_MAX);
    EXPECT(&b, ":9223372036854775807\r\n");
    jl_resp_integer(&b, LLONG_MIN);
    EXPECT(&b, ":-9223372036854775808\r\n");
    jl_buf_free(&b);
}

static void test_resp_writer_bulk(void **state)
{
    (void)state;
    jl_buf_t b = {0};
    jl_resp_bulk(&b, "hello", 5);
    EXPECT(&b, "$5\r\nhello\r\n");
    jl_resp_bulk(&b, "a\0\r\n", 4);
    EXPECT(&b, "$4\r\na\0\r\n\r\n");
    jl_resp_bulk(&b, NULL, 0);
    EXPECT(&b, "$0\r\n\r\n");
    jl_resp_bulk_str(&b, "subscribe");
    EXPECT(&b, "$9\r\nsubscribe\r\n");
    jl_resp_bulk_str(&b, "");
    EXPECT(&b, "$0\r\n\r\n");

    size_t n = 12345;
    char *big = malloc(n);
    memset(big, 'q', n);
    jl_resp_bulk(&b, big, n);
    assert_int_equal(b.len, 8 + n + 2);
    assert_memory_equal(b.data, "$12345\r\nqq", 10);
    b.len = 0;
    free(big);
    jl_buf_free(&b);
}

static void test_resp_writer_nulls(void **state)
{
    (void)state;
    jl_buf_t b = {0};
    jl_resp_null(&b, 2);
    EXPECT(&b, "$-1\r\n");
    jl_resp_null(&b, 3);
    EXPECT(&b, "_\r\n");
    jl_resp_null_array(&b, 2);
    EXPECT(&b, "*-1\r\n");
    jl_resp_null_array(&b, 3);
    EXPECT(&b, "_\r\n");
    jl_buf_free(&b);
}

static void test_resp_writer_aggregates(void **state)
{
    (void)state;
    jl_buf_t b = {0};
    jl_resp_array(&b, 0);
    EXPECT(&b, "*0\r\n");
    jl_resp_array(&b, 14);
    EXPECT(&b, "*14\r\n");

    jl_resp_push(&b, 2, 3);
    EXPECT(&b, "*3\r\n");
    jl_resp_push(&b, 3, 3);
    EXPECT(&b, ">3\r\n");

    /* [O] HELLO 3 answers %7, HELLO 2 the same fields as *14. */
    jl_resp_map(&b, 2, 7);
    EXPECT(&b, "*14\r\n");
    jl_resp_map(&b, 3, 7);
    EXPECT(&b, "%7\r\n");
    jl_resp_map(&b, 3, 0);
    EXPECT(&b, "%0\r\n");

    jl_resp_set(&b, 2, 2);
    EXPECT(&b, "*2\r\n");
    jl_resp_set(&b, 3, 2);
    EXPECT(&b, "~2\r\n");
    jl_buf_free(&b);
}

static void test_resp_writer_verbatim(void **state)
{
    (void)state;
    jl_buf_t b = {0};
    jl_resp_verbatim(&b, 2, "# Server\r\n", 10);
    EXPECT(&b, "$10\r\n# Server\r\n\r\n");
    /* [O] like LOLWUT in RESP3: "=<len + 4>\r\ntxt:<text>\r\n". */
    jl_resp_verbatim(&b, 3, "# Server\r\n", 10);
    EXPECT(&b, "=14\r\ntxt:# Server\r\n\r\n");
    jl_resp_verbatim(&b, 3, "", 0);
    EXPECT(&b, "=4\r\ntxt:\r\n");
    jl_buf_free(&b);
}

/* [O] ZSCORE of 0.1 / 1.5 / 1e300 / 3 / inf / -inf in RESP2 and RESP3. */
static void test_resp_writer_double(void **state)
{
    (void)state;
    jl_buf_t b = {0};
    jl_resp_double(&b, 2, 0.1);
    EXPECT(&b, "$19\r\n0.10000000000000001\r\n");
    jl_resp_double(&b, 3, 0.1);
    EXPECT(&b, ",0.10000000000000001\r\n");
    jl_resp_double(&b, 2, 1.5);
    EXPECT(&b, "$3\r\n1.5\r\n");
    jl_resp_double(&b, 3, 1.5);
    EXPECT(&b, ",1.5\r\n");
    jl_resp_double(&b, 2, 1e300);
    EXPECT(&b, "$23\r\n1.0000000000000001e+300\r\n");
    jl_resp_double(&b, 3, 3.0);
    EXPECT(&b, ",3\r\n");
    jl_resp_double(&b, 2, INFINITY);
    EXPECT(&b, "$3\r\ninf\r\n");
    jl_resp_double(&b, 2, -INFINITY);
    EXPECT(&b, "$4\r\n-inf\r\n");
    jl_resp_double(&b, 3, INFINITY);
    EXPECT(&b, ",inf\r\n");
    jl_resp_double(&b, 3, -INFINITY);
    EXPECT(&b, ",-inf\r\n");
    jl_resp_double(&b, 3, NAN);
    EXPECT(&b, ",nan\r\n");
    jl_resp_double(&b, 3, -0.0);
    EXPECT(&b, ",-0\r\n");
    jl_resp_double(&b, 3, -2.5e-10);
    EXPECT(&b, ",-2.5000000000000002e-10\r\n");
    jl_buf_free(&b);
}

static void expect_frame(jl_frame_t *f, const char *lit, size_t n)
{
    assert_int_equal(f->refs, 1);
    assert_int_equal(f->len, n);
    assert_int_equal(f->cap, n);
    assert_memory_equal(f->data, lit, n);
    jl_frame_unref(f);
}

#define EXPECT_FRAME(f, lit) expect_frame((f), (lit), sizeof(lit) - 1)

/* [O] the frames of REFERENCE.md 4.2. */
static void test_resp_writer_message_frames(void **state)
{
    (void)state;
    jl_msg_t m;
    jl_msg_init(&m, "a", 1, "m1", 2, 0);
    EXPECT_FRAME(jl_resp_message_frame(&m, 2, 0), "*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$2\r\nm1\r\n");
    EXPECT_FRAME(jl_resp_message_frame(&m, 3, 0), ">3\r\n$7\r\nmessage\r\n$1\r\na\r\n$2\r\nm1\r\n");

    jl_msg_init(&m, "hello", 5, "m2", 2, 0);
    m.pattern = "h*llo";
    m.pattern_len = 5;
    EXPECT_FRAME(jl_resp_message_frame(&m, 2, 1),
                 "*4\r\n$8\r\npmessage\r\n$5\r\nh*llo\r\n$5\r\nhello\r\n$2\r\nm2\r\n");
    EXPECT_FRAME(jl_resp_message_frame(&m, 3, 1),
                 ">4\r\n$8\r\npmessage\r\n$5\r\nh*llo\r\n$5\r\nhello\r\n$2\r\nm2\r\n");

    jl_msg_init(&m, "s1", 2, "m3", 2, 1);
    EXPECT_FRAME(jl_resp_message_frame(&m, 2, 0), "*3\r\n$8\r\nsmessage\r\n$2\r\ns1\r\n$2\r\nm3\r\n");
    EXPECT_FRAME(jl_resp_message_frame(&m, 3, 0), ">3\r\n$8\r\nsmessage\r\n$2\r\ns1\r\n$2\r\nm3\r\n");

    /* Empty channel and payload; binary payload. */
    jl_msg_init(&m, "", 0, NULL, 0, 0);
    EXPECT_FRAME(jl_resp_message_frame(&m, 2, 0), "*3\r\n$7\r\nmessage\r\n$0\r\n\r\n$0\r\n\r\n");
    jl_msg_init(&m, "c", 1, "\0\r\n", 3, 0);
    EXPECT_FRAME(jl_resp_message_frame(&m, 3, 0), ">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$3\r\n\0\r\n\r\n");
}

static void test_resp_writer_message_frame_big(void **state)
{
    (void)state;
    size_t n = 100000;
    char *payload = malloc(n);
    memset(payload, 'p', n);
    jl_msg_t m;
    jl_msg_init(&m, "news", 4, payload, n, 0);
    m.pattern = "n*";
    m.pattern_len = 2;
    jl_frame_t *f = jl_resp_message_frame(&m, 2, 1);
    const char head[] = "*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$100000\r\n";
    assert_int_equal(f->len, sizeof head - 1 + n + 2);
    assert_int_equal(f->cap, f->len);
    assert_memory_equal(f->data, head, sizeof head - 1);
    assert_memory_equal(f->data + f->len - 3, "p\r\n", 3);
    jl_frame_unref(f);
    free(payload);
}

/* The writer's output parses back to what was written. */
static void test_resp_writer_round_trip(void **state)
{
    (void)state;
    jl_buf_t b = {0};
    jl_resp_map(&b, 3, 3);
    jl_resp_bulk_str(&b, "a");
    jl_resp_double(&b, 3, 0.5);
    jl_resp_bulk_str(&b, "b");
    jl_resp_set(&b, 3, 2);
    jl_resp_null(&b, 3);
    jl_resp_verbatim(&b, 3, "v", 1);
    jl_resp_simple(&b, "c");
    jl_resp_push(&b, 3, 2);
    jl_resp_integer(&b, -5);
    jl_resp_null_array(&b, 2);

    jl_resp_value_t v;
    size_t used;
    const char *err = NULL;
    assert_int_equal(jl_resp_parse_reply(b.data, b.len, NULL, &v, &used, &err), JL_OK);
    assert_int_equal(used, b.len);
    assert_int_equal(v.type, JL_RESP_MAP);
    assert_int_equal(v.nelem, 6);
    assert_int_equal(v.elems[1].type, JL_RESP_DOUBLE);
    assert_memory_equal(v.elems[1].str, "0.5", 3);
    assert_int_equal(v.elems[3].type, JL_RESP_SET);
    assert_int_equal(v.elems[3].elems[0].type, JL_RESP_NULL);
    assert_int_equal(v.elems[3].elems[1].type, JL_RESP_VERBATIM);
    assert_int_equal(v.elems[5].type, JL_RESP_PUSH);
    assert_int_equal(v.elems[5].elems[0].integer, -5);
    assert_int_equal(v.elems[5].elems[1].type, JL_RESP_NULL);
    jl_resp_value_free(&v);
    jl_buf_free(&b);
}

/* What the upstream bridge sends: the parser must read it back as the
 * same command, binary bytes and empty arguments included. */
static void test_resp_writer_command(void **state)
{
    (void)state;
    jl_buf_t b = {0};
    const char *argv[] = {"PUBLISH", "ch", ""};
    size_t lens[] = {7, 2, 0};
    jl_resp_command(&b, 3, argv, lens);
    EXPECT(&b, "*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$0\r\n\r\n");
    const char bin[] = {'a', '\0', '\r', '\n'};
    const char *argv2[] = {"PING", bin};
    size_t lens2[] = {4, sizeof bin};
    jl_resp_command(&b, 2, argv2, lens2);
    jl_resp_parser_t p;
    jl_resp_limits_t limits = {.max_bulk = 1024, .max_args = 16, .max_inline = 1024};
    jl_resp_parser_init(&p, &limits);
    jl_resp_cmd_t cmd;
    size_t used = 0;
    assert_int_equal(jl_resp_parse_request(&p, b.data, b.len, &cmd, &used), JL_OK);
    assert_int_equal(used, b.len);
    assert_int_equal(cmd.argc, 2);
    assert_int_equal(cmd.argvlen[1], sizeof bin);
    assert_memory_equal(cmd.argv[1], bin, sizeof bin);
    jl_resp_parser_free(&p);
    jl_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resp_writer_simple_and_errors),
        cmocka_unit_test(test_resp_writer_integer),
        cmocka_unit_test(test_resp_writer_bulk),
        cmocka_unit_test(test_resp_writer_nulls),
        cmocka_unit_test(test_resp_writer_aggregates),
        cmocka_unit_test(test_resp_writer_verbatim),
        cmocka_unit_test(test_resp_writer_double),
        cmocka_unit_test(test_resp_writer_message_frames),
        cmocka_unit_test(test_resp_writer_message_frame_big),
        cmocka_unit_test(test_resp_writer_round_trip),
        cmocka_unit_test(test_resp_writer_command),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
