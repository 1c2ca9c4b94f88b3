/* test_token.c -- unit tests for server/token.c: a token's claims become
 * chanperm rules (the same rule an ACL user's & patterns give), times are
 * checked, and the header is judged before any signature: alg none and an
 * algorithm the key does not have are refused. Signatures themselves are
 * libjwt's; tests/integration/tokens.test.mjs checks them with tokens made
 * by Node's crypto. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "server/token.h"

#define S(x) x, strlen(x)
#define NOW 1700000000.0

static void test_token_claims_map_to_chanperm(void **state)
{
    (void)state;
    jl_token_t t;
    const char *why = NULL;
    const char *json = "{\"sub\":\"alice\",\"exp\":1700003600,\"nbf\":1699999000,"
                       "\"jugglite\":{\"subscribe\":[\"chat:*\",\"user:42:*\"],"
                       "\"publish\":[\"chat:*\"]}}";
    assert_int_equal(jl_token_claims(S(json), NOW, &t, &why), 0);
    assert_string_equal(t.sub, "alice");
    assert_int_equal(t.sub_len, 5);
    assert_true(t.exp == 1700003600.0);
    /* channels: globs */
    assert_true(jl_chanperm_channel(&t.subscribe, S("chat:room")));
    assert_true(jl_chanperm_channel(&t.subscribe, S("user:42:inbox")));
    assert_false(jl_chanperm_channel(&t.subscribe, S("user:43:inbox")));
    /* patterns: the literal rule */
    assert_true(jl_chanperm_pattern(&t.subscribe, S("chat:*")));
    assert_false(jl_chanperm_pattern(&t.subscribe, S("chat:a*")));
    assert_true(jl_chanperm_channel(&t.publish, S("chat:x")));
    assert_false(jl_chanperm_channel(&t.publish, S("user:42:inbox")));
    jl_token_clear(&t);
    assert_null(t.sub);
}

static void test_token_claims_star_is_allchannels(void **state)
{
    (void)state;
    jl_token_t t;
    const char *why = NULL;
    const char *json = "{\"sub\":\"a\",\"exp\":1800000000,\"jugglite\":{\"subscribe\":[\"x\",\"*\"]}}";
    assert_int_equal(jl_token_claims(S(json), NOW, &t, &why), 0);
    assert_true(t.subscribe.all);
    assert_true(jl_chanperm_pattern(&t.subscribe, S("any*")));
    /* no publish claim: nothing may be published */
    assert_false(jl_chanperm_channel(&t.publish, S("x")));
    jl_token_clear(&t);
}

static void test_token_claims_without_rules_allow_nothing(void **state)
{
    (void)state;
    jl_token_t t;
    const char *why = NULL;
    assert_int_equal(jl_token_claims(S("{\"sub\":\"a\",\"exp\":1800000000}"), NOW, &t, &why), 0);
    assert_false(jl_chanperm_channel(&t.subscribe, S("a")));
    assert_false(jl_chanperm_pattern(&t.subscribe, S("*")));
    jl_token_clear(&t);
}

static void expect_refused(const char *json, const char *reason)
{
    jl_token_t t;
    const char *why = NULL;
    assert_int_equal(jl_token_claims(S(json), NOW, &t, &why), -1);
    assert_string_equal(why, reason);
    assert_null(t.sub);
}

static void test_token_claims_refusals(void **state)
{
    (void)state;
    expect_refused("{\"sub\":\"a\",\"exp\":1699999999}", "expired");
    expect_refused("{\"sub\":\"a\",\"exp\":1700000000}", "expired");   /* exp is exclusive */
    expect_refused("{\"sub\":\"a\"}", "no exp");
    expect_refused("{\"sub\":\"a\",\"exp\":\"1800000000\"}", "no exp");
    expect_refused("{\"exp\":1800000000}", "no sub");
    expect_refused("{\"sub\":\"\",\"exp\":1800000000}", "no sub");
    expect_refused("{\"sub\":\"a\",\"exp\":1800000000,\"nbf\":1700000006}", "not yet valid");
    expect_refused("{\"sub\":\"a\",\"exp\":1800000000,\"jugglite\":[]}", "bad jugglite claim");
    expect_refused("{\"sub\":\"a\",\"exp\":1800000000,\"jugglite\":{\"subscribe\":\"a*\"}}",
                   "bad jugglite claim");
    expect_refused("{\"sub\":\"a\",\"exp\":1800000000,\"jugglite\":{\"publish\":[1]}}",
                   "bad jugglite claim");
    expect_refused("[1]", "no sub");
    expect_refused("{", "bad claims");
    /* found by fuzz_token: jansson and libjwt disagreed on a raw NUL */
    jl_token_t t;
    const char *why = NULL;
    static const char nul[] = "{\"sub\":\"a\",\"exp\":18000000005\0,\"x\":1}";
    assert_int_equal(jl_token_claims(nul, sizeof nul - 1, NOW, &t, &why), -1);
    assert_string_equal(why, "bad claims");
    /* duplicate keys could mean different things to different parsers */
    expect_refused("{\"sub\":\"a\",\"sub\":\"b\",\"exp\":1800000000}", "bad claims");
}

static void test_token_nbf_leeway(void **state)
{
    (void)state;
    jl_token_t t;
    const char *why = NULL;
    const char *json = "{\"sub\":\"a\",\"exp\":1800000000,\"nbf\":1700000005}";
    assert_int_equal(jl_token_claims(S(json), NOW, &t, &why), 0);
    jl_token_clear(&t);
}

/* An HS256 key file, for the header checks below. */
static jl_token_keys_t *hs_keys(char *path)
{
    strcpy(path, "/tmp/jl-test-token-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char secret[] = "0123456789abcdef0123456789abcdef\n";
    assert_int_equal(write(fd, secret, sizeof secret - 1), (ssize_t)(sizeof secret - 1));
    close(fd);
    char *spec[] = {path};
    char err[256];
    jl_token_keys_t *k = jl_token_keys_load(spec, 1, err, sizeof err);
    assert_non_null(k);
    return k;
}

static void expect_verify(const jl_token_keys_t *k, const char *tok, const char *reason)
{
    jl_token_t t;
    const char *why = NULL;
    assert_int_equal(jl_token_verify(k, S(tok), NOW, &t, &why), -1);
    assert_string_equal(why, reason);
}

static void test_token_header_judged_first(void **state)
{
    (void)state;
    char path[64];
    jl_token_keys_t *k = hs_keys(path);
    /* {"alg":"none"}.{"sub":"a","exp":1800000000}. */
    expect_verify(k, "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIiwiZXhwIjoxODAwMDAwMDAwfQ.", "malformed");
    expect_verify(k, "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIiwiZXhwIjoxODAwMDAwMDAwfQ.eA", "alg none");
    /* {"alg":"RS256"}: the key is a secret, so no key has that algorithm */
    expect_verify(k, "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.eA", "no key for this kid and alg");
    /* {"alg":"HS256","kid":"x"}: no key has that kid */
    expect_verify(k, "eyJhbGciOiJIUzI1NiIsImtpZCI6IngifQ.eyJzdWIiOiJhIn0.eA",
                  "no key for this kid and alg");
    /* {"alg":"HS256"} with a signature that is not the secret's */
    expect_verify(k, "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIiwiZXhwIjoxODAwMDAwMDAwfQ.AAAA",
                  "bad signature");
    expect_verify(k, "a.b", "malformed");
    expect_verify(k, "a.b.c.d", "malformed");
    expect_verify(k, "!!.b.c", "malformed header");
    jl_token_keys_free(k);
    unlink(path);
}

static void test_token_keys_refused(void **state)
{
    (void)state;
    char err[256];
    char *missing[] = {"/nonexistent/key"};
    assert_null(jl_token_keys_load(missing, 1, err, sizeof err));
    assert_non_null(strstr(err, "cannot open"));
    char *env[] = {"k1=env:JL_TEST_TOKEN_UNSET_VARIABLE"};
    assert_null(jl_token_keys_load(env, 1, err, sizeof err));
    assert_non_null(strstr(err, "not set"));
    setenv("JL_TEST_TOKEN_SHORT", "short", 1);
    char *shortk[] = {"env:JL_TEST_TOKEN_SHORT"};
    assert_null(jl_token_keys_load(shortk, 1, err, sizeof err));
    assert_non_null(strstr(err, "at least 32 bytes"));
    setenv("JL_TEST_TOKEN_PEM", "-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n", 1);
    char *pem[] = {"env:JL_TEST_TOKEN_PEM"};
    assert_null(jl_token_keys_load(pem, 1, err, sizeof err));
    assert_non_null(strstr(err, "not an RSA or P-256"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_claims_map_to_chanperm),
        cmocka_unit_test(test_token_claims_star_is_allchannels),
        cmocka_unit_test(test_token_claims_without_rules_allow_nothing),
        cmocka_unit_test(test_token_claims_refusals),
        cmocka_unit_test(test_token_nbf_leeway),
        cmocka_unit_test(test_token_header_judged_first),
        cmocka_unit_test(test_token_keys_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
