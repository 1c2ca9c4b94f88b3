/* test_redis_url.c -- unit tests for resp/redis_url.c.
 *
 * The forms redis-cli accepts for -u, and everything else refused with
 * nothing left allocated (the ASan build checks the latter). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "resp/redis_url.h"
#include "server/util.h"

#include <errno.h>

static void expect_null_or(const char *got, const char *want)
{
    if (want == NULL)
        assert_null(got);
    else
        assert_string_equal(got, want);
}

static void expect_tcp(const char *url, const char *host, const char *port, const char *user,
                       const char *pass, const char *where)
{
    jl_redis_url_t u;
    assert_int_equal(jl_redis_url_parse(&u, url), JL_OK);
    assert_string_equal(u.host, host);
    assert_string_equal(u.port, port);
    assert_null(u.path);
    expect_null_or(u.user, user);
    expect_null_or(u.pass, pass);
    assert_string_equal(u.where, where);
    jl_redis_url_free(&u);
}

static void test_redis_url_host_and_port(void **state)
{
    (void)state;
    expect_tcp("redis://10.0.0.5:6390", "10.0.0.5", "6390", NULL, NULL, "10.0.0.5:6390");
    expect_tcp("redis://localhost", "localhost", "6379", NULL, NULL, "localhost:6379");
    expect_tcp("redis://h:1", "h", "1", NULL, NULL, "h:1");
    expect_tcp("redis://h:65535/0", "h", "65535", NULL, NULL, "h:65535");
    expect_tcp("redis://h?x=1", "h", "6379", NULL, NULL, "h:6379");
}

/* rediss:// is the same URL over TLS, as redis-cli -u reads it. */
static void test_redis_url_tls(void **state)
{
    (void)state;
    expect_tcp("rediss://:pw@cache.example:6380", "cache.example", "6380", NULL, "pw",
               "cache.example:6380");
    jl_redis_url_t u;
    assert_int_equal(jl_redis_url_parse(&u, "rediss://h"), JL_OK);
    assert_int_equal(u.tls, 1);
    assert_string_equal(u.port, "6379");
    jl_redis_url_free(&u);
    assert_int_equal(jl_redis_url_parse(&u, "redis://h"), JL_OK);
    assert_int_equal(u.tls, 0);
    jl_redis_url_free(&u);
}

static void test_redis_url_ipv6_literal(void **state)
{
    (void)state;
    expect_tcp("redis://[::1]:7000", "::1", "7000", NULL, NULL, "[::1]:7000");
    expect_tcp("redis://[fe80::1]", "fe80::1", "6379", NULL, NULL, "[fe80::1]:6379");
}

static void test_redis_url_credentials_as_redis_cli(void **state)
{
    (void)state;
    expect_tcp("redis://:secret@h:1", "h", "1", NULL, "secret", "h:1");
    expect_tcp("redis://alice:secret@h:1", "h", "1", "alice", "secret", "h:1");
    /* without ':' the userinfo is all password */
    expect_tcp("redis://secret@h:1", "h", "1", NULL, "secret", "h:1");
    /* percent-decoded; the last '@' ends the userinfo */
    expect_tcp("redis://al%40ce:p%3Aw@d@h:1", "h", "1", "al@ce", "p:w@d", "h:1");
    /* a malformed escape stays as it is */
    expect_tcp("redis://:100%@h:1", "h", "1", NULL, "100%", "h:1");
}

static void test_redis_url_unix_socket(void **state)
{
    (void)state;
    jl_redis_url_t u;
    assert_int_equal(jl_redis_url_parse(&u, "unix:///run/redis.sock"), JL_OK);
    assert_null(u.host);
    assert_string_equal(u.path, "/run/redis.sock");
    assert_string_equal(u.where, "unix:/run/redis.sock");
    jl_redis_url_free(&u);
    assert_int_equal(jl_redis_url_parse(&u, "unix://:pw@/tmp/r.sock"), JL_OK);
    assert_string_equal(u.pass, "pw");
    assert_string_equal(u.path, "/tmp/r.sock");
    jl_redis_url_free(&u);
}

static void test_redis_url_refuses_the_rest(void **state)
{
    (void)state;
    char long_path[200] = "unix:///";
    memset(long_path + 8, 'a', sizeof long_path - 9);
    long_path[sizeof long_path - 1] = '\0';
    const char *bad[] = {
        "", "redis:/h", "http://h:1", "rediss://", "rediss://h:0", "redis://", "redis://:6379",
        "redis://h:", "redis://h:0", "redis://h:65536", "redis://h:12a", "redis://h:-1",
        "redis://[::1", "redis://[::1]x", "redis://:pw@", "unix://relative", "unix://",
        long_path,
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        jl_redis_url_t u;
        if (jl_redis_url_parse(&u, bad[i]) != -EINVAL)
            fail_msg("accepted '%s'", bad[i]);
        assert_null(u.host);
        assert_null(u.pass);
        jl_redis_url_free(&u);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redis_url_host_and_port),
        cmocka_unit_test(test_redis_url_tls),
        cmocka_unit_test(test_redis_url_ipv6_literal),
        cmocka_unit_test(test_redis_url_credentials_as_redis_cli),
        cmocka_unit_test(test_redis_url_unix_socket),
        cmocka_unit_test(test_redis_url_refuses_the_rest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
