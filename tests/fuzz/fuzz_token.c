/* fuzz_token.c -- libFuzzer target for server/token.c.
 *
 * The first byte picks what the rest is:
 *   0  a token's text, verified against an HS256 secret (no kid) and a
 *      P-256 key (kid "ec1"): random bytes must never be accepted, and
 *      whatever happens, nothing leaks or reads out of bounds;
 *   1  a claims object: jl_token_claims must be consistent (sub and exp
 *      filled, exp in the future, when it says yes);
 *   2  a claims object signed here with the HS256 secret (OpenSSL's HMAC):
 *      jl_token_verify must accept it exactly when jl_token_claims accepts
 *      the claims, and refuse it with one signature byte changed;
 *   3  like 2, but the header says alg none / kid "ec1": always refused.
 * The clock is fixed, so runs are reproducible. */
#include "server/token.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)               \
    do {                          \
        if (!(cond))              \
            __builtin_trap();     \
    } while (0)

#define NOW 1700000000.0
#define MAX_CLAIMS 2048

static const char SECRET[] = "fuzz-secret-fuzz-secret-fuzz-secret!";
static jl_token_keys_t *keys;

static void load_keys(void)
{
    EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    BIO *bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, pk);
    char *pem = NULL;
    long n = BIO_get_mem_data(bio, &pem);
    char *copy = strndup(pem, (size_t)n);
    setenv("JL_FUZZ_EC", copy, 1);
    setenv("JL_FUZZ_HS", SECRET, 1);
    free(copy);
    BIO_free(bio);
    EVP_PKEY_free(pk);
    char *specs[] = {"env:JL_FUZZ_HS", "ec1=env:JL_FUZZ_EC"};
    char err[256];
    keys = jl_token_keys_load(specs, 2, err, sizeof err);
    CHECK(keys != NULL);
}

static size_t b64url(const unsigned char *in, size_t len, char *out)
{
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)in[i] << 16;
        if (i + 1 < len)
            v |= (unsigned)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        out[o++] = A[(v >> 18) & 63];
        out[o++] = A[(v >> 12) & 63];
        if (i + 1 < len)
            out[o++] = A[(v >> 6) & 63];
        if (i + 2 < len)
            out[o++] = A[v & 63];
    }
    return o;
}

/* header.claims.HMAC, in out (big enough for MAX_CLAIMS). */
static size_t sign(const char *header, const uint8_t *claims, size_t len, char *out)
{
    size_t o = b64url((const unsigned char *)header, strlen(header), out);
    out[o++] = '.';
    o += b64url(claims, len, out + o);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned mlen = 0;
    HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (const unsigned char *)out, o, mac, &mlen);
    out[o++] = '.';
    o += b64url(mac, mlen, out + o);
    return o;
}

static void check_signed(const uint8_t *claims, size_t len, const char *header, int valid_alg)
{
    if (len > MAX_CLAIMS)
        return;
    char *tok = malloc(64 + (MAX_CLAIMS + 64) * 4 / 3 + 64);
    size_t n = sign(header, claims, len, tok);
    jl_token_t t, c;
    const char *why = NULL, *why2 = NULL;
    int got = jl_token_verify(keys, tok, n, NOW, &t, &why);
    int want = jl_token_claims((const char *)claims, len, NOW, &c, &why2);
    CHECK(got == (valid_alg ? want : -1));
    if (got == 0) {
        CHECK(strcmp(t.sub, c.sub) == 0 && t.exp == c.exp);
        tok[n - 1] = tok[n - 1] == 'A' ? 'B' : 'A';
        jl_token_t u;
        CHECK(jl_token_verify(keys, tok, n, NOW, &u, &why) == -1);
    }
    jl_token_clear(&t);
    jl_token_clear(&c);
    free(tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (keys == NULL)
        load_keys();
    if (size == 0)
        return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    jl_token_t t;
    const char *why = NULL;
    switch (data[0] % 4) {
    case 0:
        CHECK(jl_token_verify(keys, (const char *)p, n, NOW, &t, &why) == -1);
        CHECK(why != NULL && t.sub == NULL);
        break;
    case 1:
        if (jl_token_claims((const char *)p, n, NOW, &t, &why) == 0)
            CHECK(t.sub != NULL && t.sub_len > 0 && t.exp > NOW);
        jl_token_clear(&t);
        break;
    case 2:
        check_signed(p, n, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", 1);
        break;
    default:
        check_signed(p, n, data[0] & 4 ? "{\"alg\":\"none\"}" : "{\"alg\":\"HS256\",\"kid\":\"ec1\"}",
                     0);
        break;
    }
    return 0;
}
