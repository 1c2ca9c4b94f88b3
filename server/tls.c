/* tls.c -- OpenSSL contexts for the TLS listeners and the upstream (see tls.h).
 *
 * Nothing here is our own cryptography: OpenSSL makes every decision, we
 * only choose its safe settings and load the files. */
#include "server/tls.h"
#include "server/util.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct jl_tls {
    SSL_CTX *ctx;
    int server;
    char *cert, *key;               /* server: the files, for a reload */
    unsigned char alpn[64];         /* server: protocols, wire format (length-prefixed) */
    unsigned int alpn_len;
};

void jl_tls_error(char *buf, size_t len)
{
    unsigned long e = ERR_get_error();
    if (e == 0)
        snprintf(buf, len, "unknown TLS error");
    else
        ERR_error_string_n(e, buf, len);
    ERR_clear_error();
}

static char *dup_or_null(const char *s)
{
    return s ? jl_strndup(s, strlen(s)) : NULL;
}

/* The first of our protocols the client offers; none in common: no ALPN
 * (an HTTP/1.1 client that offers nothing still gets served). */
static int select_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    (void)ssl;
    jl_tls_t *t = arg;
    unsigned char *chosen;
    if (SSL_select_next_proto(&chosen, outlen, t->alpn, t->alpn_len, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = chosen;
    return SSL_TLSEXT_ERR_OK;
}

/* What every context shares: TLS 1.2+, no compression or renegotiation,
 * partial writes (the output queue writes what fits), idle buffers freed. */
static SSL_CTX *ctx_new(const SSL_METHOD *method)
{
    SSL_CTX *ctx = SSL_CTX_new(method);
    if (ctx == NULL)
        return NULL;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* A peer that closes without close_notify (browsers do) has ended,
     * not failed. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    return ctx;
}

static SSL_CTX *server_ctx(jl_tls_t *t, char *err, size_t errlen)
{
    SSL_CTX *ctx = ctx_new(TLS_server_method());
    if (ctx == NULL) {
        jl_tls_error(err, errlen);
        return NULL;
    }
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    if (SSL_CTX_use_certificate_chain_file(ctx, t->cert) != 1) {
        char why[256];
        jl_tls_error(why, sizeof why);
        snprintf(err, errlen, "%s: %s", t->cert, why);
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, t->key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        char why[256];
        jl_tls_error(why, sizeof why);
        snprintf(err, errlen, "%s: %s", t->key, why);
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (t->alpn_len)
        SSL_CTX_set_alpn_select_cb(ctx, select_alpn, t);
    return ctx;
}

jl_tls_t *jl_tls_server_new(const char *cert, const char *key, const char *const *alpn,
                            char *err, size_t errlen)
{
    jl_tls_t *t = jl_calloc(1, sizeof *t);
    t->server = 1;
    t->cert = dup_or_null(cert);
    t->key = dup_or_null(key ? key : cert);
    for (size_t i = 0; alpn && alpn[i]; i++) {
        size_t n = strlen(alpn[i]);
        if (n == 0 || n > 255 || t->alpn_len + 1 + n > sizeof t->alpn)
            break;
        t->alpn[t->alpn_len++] = (unsigned char)n;
        memcpy(t->alpn + t->alpn_len, alpn[i], n);
        t->alpn_len += (unsigned int)n;
    }
    t->ctx = server_ctx(t, err, errlen);
    if (t->ctx == NULL) {
        jl_tls_free(t);
        return NULL;
    }
    return t;
}

int jl_tls_server_reload(jl_tls_t *t, const char *cert, const char *key, char *err,
                         size_t errlen)
{
    char *old_cert = t->cert, *old_key = t->key;
    t->cert = dup_or_null(cert);
    t->key = dup_or_null(key ? key : cert);
    SSL_CTX *ctx = server_ctx(t, err, errlen);
    if (ctx == NULL) {
        free(t->cert);
        free(t->key);
        t->cert = old_cert;
        t->key = old_key;
        return -1;
    }
    free(old_cert);
    free(old_key);
    SSL_CTX_free(t->ctx);       /* connections made from it hold their own reference */
    t->ctx = ctx;
    return 0;
}

jl_tls_t *jl_tls_client_new(const char *ca_file, const char *cert, const char *key, char *err,
                            size_t errlen)
{
    jl_tls_t *t = jl_calloc(1, sizeof *t);
    t->ctx = ctx_new(TLS_client_method());
    if (t->ctx == NULL) {
        jl_tls_error(err, errlen);
        jl_tls_free(t);
        return NULL;
    }
    SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
    int loaded = ca_file ? SSL_CTX_load_verify_locations(t->ctx, ca_file, NULL)
                         : SSL_CTX_set_default_verify_paths(t->ctx);
    const char *what = ca_file ? ca_file : "the system's CA store";
    if (loaded != 1 ||
        (cert && SSL_CTX_use_certificate_chain_file(t->ctx, cert) != 1 && (what = cert)) ||
        (cert && SSL_CTX_use_PrivateKey_file(t->ctx, key ? key : cert, SSL_FILETYPE_PEM) != 1 &&
         (what = key ? key : cert))) {
        char why[256];
        jl_tls_error(why, sizeof why);
        snprintf(err, errlen, "%s: %s", what, why);
        jl_tls_free(t);
        return NULL;
    }
    return t;
}

void jl_tls_free(jl_tls_t *t)
{
    if (t == NULL)
        return;
    SSL_CTX_free(t->ctx);
    free(t->cert);
    free(t->key);
    free(t);
}

SSL *jl_tls_ssl_new(jl_tls_t *t, int fd, const char *host)
{
    SSL *ssl = SSL_new(t->ctx);
    if (ssl == NULL)
        return NULL;
    if (SSL_set_fd(ssl, fd) != 1) {
        SSL_free(ssl);
        return NULL;
    }
    if (t->server) {
        SSL_set_accept_state(ssl);
        return ssl;
    }
    SSL_set_connect_state(ssl);
    if (host) {
        /* SNI only for a name, never an address (RFC 6066); the
         * certificate is checked against the name or the address. */
        unsigned char addr[16];
        int ip = inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
        int ok = ip
                     ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) == 1
                     : SSL_set_tlsext_host_name(ssl, host) == 1 && SSL_set1_host(ssl, host) == 1;
        if (!ok) {
            SSL_free(ssl);
            return NULL;
        }
    }
    return ssl;
}
