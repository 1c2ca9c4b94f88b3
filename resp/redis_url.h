/* redis_url.h -- where the upstream is: redis:// and unix:// URLs.
 *
 * Pure: parses text, allocates the parts, does no I/O. The forms are
 * redis-cli's: redis://[[user]:password@]host[:port] (host may be an
 * [IPv6] literal; the port defaults to 6379), rediss:// the same over TLS,
 * and
 * unix://[[user]:password@]/path/to/socket. User and password are
 * percent-decoded (they may hold '@' or ':'); without a ':' the userinfo
 * is all password, as redis-cli reads it. */
#ifndef JL_REDIS_URL_H
#define JL_REDIS_URL_H

typedef struct jl_redis_url {
    char *host;             /* NULL for a unix socket */
    char *port;             /* decimal, 1..65535 */
    char *path;             /* unix socket path, or NULL */
    char *user, *pass;      /* NULL when absent */
    int tls;                /* rediss:// */
    char where[300];        /* "host:port", "[v6]:port" or "unix:/path", for logs and INFO */
} jl_redis_url_t;

/* Fills u from url. Returns JL_OK, or -EINVAL for anything else; u is
 * then empty. Release with jl_redis_url_free either way. */
int jl_redis_url_parse(jl_redis_url_t *u, const char *url);
void jl_redis_url_free(jl_redis_url_t *u);

#endif
