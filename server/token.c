/* token.c -- JWT keys, verification and claims (see token.h).
 *
 * The order of checks is the point of this file. libjwt 1.10 verifies with
 * whatever algorithm the token's header names, and uses an RSA public key's
 * PEM text as an HMAC secret if the header says HS256 -- the classic
 * algorithm confusion. So the header is read here first (base64url and
 * JSON, no cryptography), the key is chosen by `kid`, the header's `alg`
 * must be the one algorithm that key's type allows, and only then does
 * libjwt check the signature; its view of the algorithm is checked again
 * afterwards. Claims are read with jansson from the signed bytes. */
#include "server/token.h"

#include "server/util.h"

#include <errno.h>
#include <jansson.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_FILE_MAX 65536      /* a PEM key is a few KiB; a secret, bytes */
#define HS_MIN 32               /* RFC 7518 §3.2: a key as long as the hash */

typedef struct key {
    char *kid;                  /* NULL: tried for tokens without a kid */
    jwt_alg_t alg;              /* the only algorithm this key verifies */
    unsigned char *bytes;       /* PEM text (NUL-terminated) or the secret */
    size_t len;
} token_key_t;

struct jl_token_keys {
    token_key_t *key;
    size_t n;
};

/* Every refusal: its reason, and -1. */
static int refuse(const char **why, const char *reason)
{
    *why = reason;
    return -1;
}

/* ---- loading ---- */

static char *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "cannot open key file %s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = jl_malloc(KEY_FILE_MAX + 1);
    size_t n = fread(buf, 1, KEY_FILE_MAX + 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || n > KEY_FILE_MAX) {
        snprintf(err, errlen, "key file %s: %s", path, bad ? "read error" : "larger than 64 KiB");
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* The key material a spec names: a file, or env:NAME. */
static char *spec_bytes(const char *src, size_t *len, char *err, size_t errlen)
{
    if (strncmp(src, "env:", 4) != 0)
        return read_file(src, len, err, errlen);
    const char *v = getenv(src + 4);
    if (v == NULL || *v == '\0') {
        snprintf(err, errlen, "key variable %s is not set", src + 4);
        return NULL;
    }
    *len = strlen(v);
    return jl_strndup(v, *len);
}

/* RS256 for RSA, ES256 for P-256; anything else is refused. */
static jwt_alg_t pem_alg(const unsigned char *pem, size_t len)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *pk = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
    jwt_alg_t alg = JWT_ALG_INVAL;
    if (pk && EVP_PKEY_base_id(pk) == EVP_PKEY_RSA)
        alg = JWT_ALG_RS256;
    else if (pk && EVP_PKEY_base_id(pk) == EVP_PKEY_EC && EVP_PKEY_get_bits(pk) == 256)
        alg = JWT_ALG_ES256;
    EVP_PKEY_free(pk);
    BIO_free(bio);
    return alg;
}

static int load_key(token_key_t *k, const char *spec, char *err, size_t errlen)
{
    const char *eq = strchr(spec, '=');
    const char *src = eq ? eq + 1 : spec;
    size_t len = 0;
    char *bytes = spec_bytes(src, &len, err, errlen);
    if (bytes == NULL)
        return -1;
    *k = (token_key_t){.kid = eq ? jl_strndup(spec, (size_t)(eq - spec)) : NULL,
                  .bytes = (unsigned char *)bytes, .len = len};
    if (strncmp(bytes, "-----BEGIN PUBLIC KEY-----", 26) == 0) {
        k->alg = pem_alg(k->bytes, len);
        if (k->alg == JWT_ALG_INVAL) {
            snprintf(err, errlen, "key %s: not an RSA or P-256 public key", src);
            return -1;
        }
        return 0;
    }
    if (strncmp(bytes, "-----BEGIN", 10) == 0) {
        snprintf(err, errlen, "key %s: PEM keys must be public keys (BEGIN PUBLIC KEY)", src);
        return -1;
    }
    if (k->len > 0 && bytes[k->len - 1] == '\n')
        k->len--;
    if (k->len > 0 && bytes[k->len - 1] == '\r')
        k->len--;
    k->alg = JWT_ALG_HS256;
    if (k->len < HS_MIN) {
        snprintf(err, errlen, "key %s: an HS256 secret needs at least %d bytes", src, HS_MIN);
        return -1;
    }
    return 0;
}

jl_token_keys_t *jl_token_keys_load(char *const *specs, size_t n, char *err, size_t errlen)
{
    jl_token_keys_t *k = jl_calloc(1, sizeof *k);
    k->key = jl_calloc(n ? n : 1, sizeof *k->key);
    for (size_t i = 0; i < n; i++) {
        k->n++;
        if (load_key(&k->key[i], specs[i], err, errlen) < 0) {
            jl_token_keys_free(k);
            return NULL;
        }
    }
    return k;
}

void jl_token_keys_free(jl_token_keys_t *k)
{
    if (k == NULL)
        return;
    for (size_t i = 0; i < k->n; i++) {
        free(k->key[i].kid);
        if (k->key[i].bytes)
            memset(k->key[i].bytes, 0, k->key[i].len);
        free(k->key[i].bytes);
    }
    free(k->key);
    free(k);
}

/* ---- the header, before any signature check ---- */

static int b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

/* Unpadded base64url to bytes (out holds len * 3 / 4 + 1). -1 on a bad
 * character or a length no encoder produces. */
static long b64url_decode(const char *in, size_t len, unsigned char *out)
{
    unsigned acc = 0;
    int bits = 0;
    size_t o = 0;
    if (len % 4 == 1)
        return -1;
    for (size_t i = 0; i < len; i++) {
        int v = b64url_value((unsigned char)in[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
        acc &= (1u << bits) - 1;
    }
    return (long)o;
}

/* alg and kid from the header segment; *kid is NULL when absent. */
static int read_header(const char *seg, size_t len, jwt_alg_t *alg, char **kid)
{
    unsigned char *raw = jl_malloc(len * 3 / 4 + 1);
    long n = b64url_decode(seg, len, raw);
    if (n > 0 && memchr(raw, '\0', (size_t)n) != NULL)
        n = -1;     /* as for the claims (jl_token_claims) */
    json_t *h = n > 0 ? json_loadb((const char *)raw, (size_t)n, JSON_REJECT_DUPLICATES, NULL)
                      : NULL;
    free(raw);
    json_t *a = json_object_get(h, "alg"), *k = json_object_get(h, "kid");
    int ok = json_is_string(a) && (k == NULL || json_is_string(k));
    *alg = ok ? jwt_str_alg(json_string_value(a)) : JWT_ALG_INVAL;
    *kid = ok && k ? jl_strndup(json_string_value(k), json_string_length(k)) : NULL;
    json_decref(h);
    return ok ? 0 : -1;
}

/* ---- claims ---- */

static int perm_from(json_t *list, jl_chanperm_t *p)
{
    size_t i;
    json_t *v;
    if (list == NULL)
        return 0;   /* no rule: nothing allowed */
    if (!json_is_array(list))
        return -1;
    json_array_foreach(list, i, v) {
        if (!json_is_string(v))
            return -1;
        const char *pat = json_string_value(v);
        size_t len = json_string_length(v);
        if (len == 1 && pat[0] == '*')
            jl_chanperm_reset(p, 1);    /* &* is allchannels, as in Redis */
        else if (!p->all)
            jl_chanperm_add(p, pat, len);
    }
    return 0;
}

static int claims_from(json_t *c, double now, jl_token_t *t, const char **why)
{
    json_t *sub = json_object_get(c, "sub"), *exp = json_object_get(c, "exp");
    json_t *nbf = json_object_get(c, "nbf"), *ours = json_object_get(c, "jugglite");
    if (!json_is_object(c) || !json_is_string(sub) || json_string_length(sub) == 0)
        return refuse(why, "no sub");
    if (!json_is_number(exp))
        return refuse(why, "no exp");
    if (json_number_value(exp) <= now)
        return refuse(why, "expired");
    if (nbf != NULL && (!json_is_number(nbf) || json_number_value(nbf) > now + JL_TOKEN_NBF_LEEWAY))
        return refuse(why, "not yet valid");
    if (ours != NULL && !json_is_object(ours))
        return refuse(why, "bad jugglite claim");
    t->sub = jl_strndup(json_string_value(sub), json_string_length(sub));
    t->sub_len = json_string_length(sub);
    t->exp = json_number_value(exp);
    if (perm_from(json_object_get(ours, "subscribe"), &t->subscribe) < 0 ||
        perm_from(json_object_get(ours, "publish"), &t->publish) < 0) {
        jl_token_clear(t);
        return refuse(why, "bad jugglite claim");
    }
    return 0;
}

static void token_init(jl_token_t *t)
{
    memset(t, 0, sizeof *t);
    jl_chanperm_init(&t->subscribe);
    jl_chanperm_init(&t->publish);
}

int jl_token_claims(const char *json, size_t len, double now, jl_token_t *t, const char **why)
{
    token_init(t);
    /* A raw NUL is never valid JSON, but jansson's and libjwt's readers do
     * not agree on where it ends the text: refuse it outright. */
    if (memchr(json, '\0', len) != NULL)
        return refuse(why, "bad claims");
    json_t *c = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
    if (c == NULL)
        return refuse(why, "bad claims");
    int rc = claims_from(c, now, t, why);
    json_decref(c);
    return rc;
}

void jl_token_clear(jl_token_t *t)
{
    free(t->sub);
    jl_chanperm_free(&t->subscribe);
    jl_chanperm_free(&t->publish);
    token_init(t);
}

/* ---- verification ---- */

static int kid_matches(const token_key_t *k, const char *kid)
{
    if (kid == NULL)
        return k->kid == NULL;
    return k->kid != NULL && strcmp(k->kid, kid) == 0;
}

/* libjwt checks the signature with one key (and agrees on the algorithm). */
static int signed_by(const token_key_t *k, const char *tok, jwt_alg_t alg)
{
    jwt_t *jwt = NULL;
    if (jwt_decode(&jwt, tok, k->bytes, (int)k->len) != 0 || jwt == NULL)
        return 0;
    int ok = jwt_get_alg(jwt) == alg;
    jwt_free(jwt);
    return ok;
}

/* The claims are read from the signed bytes themselves, not from libjwt's
 * re-encoding of them: duplicate keys are refused rather than resolved. */
static int claims_of(const char *seg, size_t len, double now, jl_token_t *t, const char **why)
{
    unsigned char *raw = jl_malloc(len * 3 / 4 + 1);
    long n = b64url_decode(seg, len, raw);
    int rc = n < 0 ? refuse(why, "bad claims")
                   : jl_token_claims((const char *)raw, (size_t)n, now, t, why);
    free(raw);
    return rc;
}

/* A string made of three segments, the signature not empty: the offsets
 * of the two dots. */
static int split(const char *tok, size_t len, size_t *dot1, size_t *dot2)
{
    const char *d1 = memchr(tok, '.', len);
    if (d1 == NULL || memchr(tok, '\0', len) != NULL)
        return -1;
    const char *d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - tok));
    if (d2 == NULL || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - tok)) != NULL ||
        d2 + 1 == tok + len)
        return -1;
    *dot1 = (size_t)(d1 - tok);
    *dot2 = (size_t)(d2 - tok);
    return 0;
}

int jl_token_verify(const jl_token_keys_t *k, const char *tok, size_t len, double now,
                    jl_token_t *t, const char **why)
{
    size_t dot1, dot2;
    jwt_alg_t alg;
    char *kid = NULL;
    token_init(t);
    if (len == 0 || len > JL_TOKEN_MAX || split(tok, len, &dot1, &dot2) < 0)
        return refuse(why, "malformed");
    if (read_header(tok, dot1, &alg, &kid) < 0)
        return refuse(why, "malformed header");
    char *copy = jl_strndup(tok, len);
    int found = 0, good = 0;
    for (size_t i = 0; k && i < k->n && !good; i++) {
        if (!kid_matches(&k->key[i], kid) || k->key[i].alg != alg)
            continue;
        found = 1;
        good = signed_by(&k->key[i], copy, alg);
    }
    free(copy);
    free(kid);
    if (!found)
        return refuse(why, alg == JWT_ALG_NONE ? "alg none" : "no key for this kid and alg");
    if (!good)
        return refuse(why, "bad signature");
    return claims_of(tok + dot1 + 1, dot2 - dot1 - 1, now, t, why);
}
