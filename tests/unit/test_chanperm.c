/* test_chanperm.c -- unit tests for server/chanperm.c: Redis 7's ACL
 * channel rule (globs for channels, the literal rule for patterns). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "server/chanperm.h"

#define S(x) x, strlen(x)

static void test_chanperm_channels_match_globs(void **state)
{
    (void)state;
    jl_chanperm_t p;
    jl_chanperm_init(&p);
    assert_false(jl_chanperm_channel(&p, S("any")));     /* resetchannels: nothing */
    jl_chanperm_add(&p, S("chat:*"));
    jl_chanperm_add(&p, S("user:42:[ai]nbox"));
    assert_true(jl_chanperm_channel(&p, S("chat:room")));
    assert_true(jl_chanperm_channel(&p, S("user:42:inbox")));
    assert_false(jl_chanperm_channel(&p, S("user:43:inbox")));
    assert_false(jl_chanperm_channel(&p, S("chat")));
    jl_chanperm_free(&p);
}

static void test_chanperm_patterns_literal(void **state)
{
    (void)state;
    jl_chanperm_t p;
    jl_chanperm_init(&p);
    jl_chanperm_add(&p, S("chat:*"));
    assert_true(jl_chanperm_pattern(&p, S("chat:*")));
    /* narrower in meaning, but not the same text: Redis refuses it too */
    assert_false(jl_chanperm_pattern(&p, S("chat:a*")));
    assert_false(jl_chanperm_pattern(&p, S("*")));
    jl_chanperm_free(&p);
}

static void test_chanperm_all_reset_copy(void **state)
{
    (void)state;
    jl_chanperm_t p, q;
    jl_chanperm_init(&p);
    jl_chanperm_init(&q);
    jl_chanperm_add(&p, S("a"));
    jl_chanperm_add(&p, S("a"));
    assert_int_equal(p.n, 1);
    jl_chanperm_reset(&p, 1);
    assert_int_equal(p.n, 0);
    assert_true(jl_chanperm_channel(&p, S("x")));
    assert_true(jl_chanperm_pattern(&p, S("x*")));
    jl_chanperm_add(&q, S("b*"));
    jl_chanperm_copy(&p, &q);
    assert_false(p.all);
    assert_true(jl_chanperm_channel(&p, S("bee")));
    assert_false(jl_chanperm_channel(&p, S("x")));
    jl_chanperm_free(&p);
    jl_chanperm_free(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chanperm_channels_match_globs),
        cmocka_unit_test(test_chanperm_patterns_literal),
        cmocka_unit_test(test_chanperm_all_reset_copy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
