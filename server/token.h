/* token.h -- signed tokens (JWT) carrying a principal's channel rules.
 *
 * A browser cannot hold a password the way a RESP client does, so it shows
 * a token that a trusted application signed for it: who it is (`sub`),
 * until when (`exp`), and the channel globs it may subscribe and publish
 * to, written exactly as ACL `&` patterns so one rule reads the same on
 * both sides (server/chanperm.h decides with them):
 *
 *   {"sub":"alice","exp":1767225600,"nbf":1767222000,
 *    "jugglite":{"subscribe":["chat:*","user:42:*"],"publish":["chat:*"]}}
 *
 * Signatures are checked by libjwt, never here. The key decides the
 * algorithm, never the token's header: a secret (HS256), an RSA public key
 * (RS256) or a P-256 public key (ES256). So `alg: none`, and an HS256 token
 * "signed" with a public key as its secret, are refused before libjwt sees
 * them. Keys come from files or the environment, never from argv.
 *
 * The key set is loaded once by main.c and read-only afterwards; a verified
 * token (jl_token_t) is owned by its caller. Protocol-neutral: the HTTP side
 * finds tokens in requests, this module only judges them. */
#ifndef JL_TOKEN_H
#define JL_TOKEN_H

#include "server/chanperm.h"

#include <stddef.h>

/* Longest token accepted (a cookie is at most about 4 KiB anyway). */
#define JL_TOKEN_MAX 8192
/* Seconds a token's nbf may be ahead of our clock (an issuer slightly
 * fast); exp has no leeway. */
#define JL_TOKEN_NBF_LEEWAY 5

typedef struct jl_token_keys jl_token_keys_t;

/* A verified token's claims. */
typedef struct jl_token {
    char *sub;                  /* the user; NUL-terminated, never NULL once verified */
    size_t sub_len;
    double exp;                 /* Unix seconds; required */
    jl_chanperm_t subscribe;    /* jugglite.subscribe */
    jl_chanperm_t publish;      /* jugglite.publish */
} jl_token_t;

/* Loads every spec: "[KID=]PATH" (a file) or "[KID=]env:NAME" (the
 * variable's value). PEM public keys (RSA, EC P-256) are recognised by
 * their "-----BEGIN PUBLIC KEY-----"; anything else is an HS256 secret of
 * at least 32 bytes (one trailing newline is not part of it). Returns the
 * set, or NULL with a message in err (nothing is left allocated). */
jl_token_keys_t *jl_token_keys_load(char *const *specs, size_t n, char *err, size_t errlen);
void jl_token_keys_free(jl_token_keys_t *k);

/* Verifies tok[0..len) at time 'now' (Unix seconds). 0: t is filled (the
 * caller frees it with jl_token_clear). -1: refused, *why names the reason
 * in a few static words ("expired", "bad signature", ...), t is empty. */
int jl_token_verify(const jl_token_keys_t *k, const char *tok, size_t len, double now,
                    jl_token_t *t, const char **why);

/* The claims part alone: a JSON object's text to t (no signature check),
 * the same rules as jl_token_verify (sub and exp required, exp > now, nbf
 * <= now + leeway, jugglite.subscribe/publish arrays of strings; "*" is
 * every channel and every pattern, as ACL allchannels). */
int jl_token_claims(const char *json, size_t len, double now, jl_token_t *t, const char **why);

void jl_token_clear(jl_token_t *t);

#endif
