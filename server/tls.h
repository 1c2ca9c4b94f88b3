/* tls.h -- TLS contexts, made with OpenSSL, for the listeners and the upstream.
 *
 * A jl_tls_t is one OpenSSL SSL_CTX and what it was made from: a server
 * context (certificate chain and key, for --tls-port and --resp-tls-port) or
 * a client context (the CA to verify the upstream with, an optional client
 * certificate). Defaults are the modern ones: TLS 1.2 and 1.3 only, no
 * compression, no renegotiation, the server's cipher preference, OpenSSL's
 * default (forward-secret, AEAD-first) cipher lists, and buffers released
 * while a connection is idle, so an idle TLS stream costs little more than a
 * plain one.
 *
 * The handshake and the record layer are driven by conn.c; this module only
 * makes contexts and the SSL objects connections use. A reload (SIGHUP)
 * builds a new context from the files and swaps it in: handshakes from then
 * on use the new certificate; established connections keep theirs (each SSL
 * holds a reference to the context it was made from). */
#ifndef JL_TLS_H
#define JL_TLS_H

#include <openssl/ssl.h>
#include <stddef.h>

typedef struct jl_tls jl_tls_t;

/* A server context from PEM files (cert: the chain, leaf first). alpn:
 * protocols to choose from, in our order of preference, NULL-terminated
 * ("h2", "http/1.1"); NULL: no ALPN. Returns NULL with the reason in err. */
jl_tls_t *jl_tls_server_new(const char *cert, const char *key, const char *const *alpn,
                            char *err, size_t errlen);
/* Reads cert and key (the same files again, or new ones) into a new
 * context; on success new handshakes use it. Returns 0, or -1 with the
 * reason in err (the old context and files stay). */
int jl_tls_server_reload(jl_tls_t *t, const char *cert, const char *key, char *err,
                         size_t errlen);
/* A client context: verification on, against ca_file (NULL: the system's
 * store); cert/key: a client certificate, or NULL. */
jl_tls_t *jl_tls_client_new(const char *ca_file, const char *cert, const char *key, char *err,
                            size_t errlen);
void jl_tls_free(jl_tls_t *t);

/* A new SSL for fd: accepting (host NULL) or connecting to host (sent as
 * SNI and checked against the certificate's names). NULL on failure. */
SSL *jl_tls_ssl_new(jl_tls_t *t, int fd, const char *host);
/* The reason of the last OpenSSL failure on this thread, for a log line
 * (empties OpenSSL's error queue). */
void jl_tls_error(char *buf, size_t len);

#endif
