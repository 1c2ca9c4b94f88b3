/* redis_url.c -- parsing the upstream's URL (see redis_url.h). */
#include "resp/redis_url.h"
#include "server/strconv.h"
#include "server/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

/* Percent-decodes p[0..n) into a new string. */
static char *decode(const char *p, size_t n)
{
    char *out = jl_malloc(n + 1);
    out[jl_percent_decode(out, p, n, 0)] = '\0';
    return out;
}

/* user:pass@ as redis-cli reads it: without a ':' it is all password.
 * Returns where the host (or path) starts. */
static const char *parse_userinfo(jl_redis_url_t *u, const char *p)
{
    const char *at = strrchr(p, '@');
    if (at == NULL)
        return p;
    const char *colon = memchr(p, ':', (size_t)(at - p));
    const char *pw = p;
    if (colon) {
        if (colon > p)
            u->user = decode(p, (size_t)(colon - p));
        pw = colon + 1;
    }
    u->pass = decode(pw, (size_t)(at - pw));
    return at + 1;
}

static int parse_unix(jl_redis_url_t *u, const char *rest)
{
    const char *p = parse_userinfo(u, rest);
    if (*p != '/' || strlen(p) >= sizeof ((struct sockaddr_un *)0)->sun_path)
        return -EINVAL;
    u->path = jl_strndup(p, strlen(p));
    snprintf(u->where, sizeof u->where, "unix:%s", u->path);
    return JL_OK;
}

static int valid_port(const char *s)
{
    long long v;
    return jl_strtoll(s, strlen(s), &v) == JL_OK && v >= 1 && v <= 65535;
}

static int parse_tcp(jl_redis_url_t *u, const char *rest)
{
    const char *p = parse_userinfo(u, rest);
    const char *end = p + strcspn(p, "/?#");
    const char *host = p, *host_end, *port = NULL;
    int bracket = *p == '[';
    if (bracket) {
        host = p + 1;
        host_end = memchr(host, ']', (size_t)(end - host));
        if (host_end == NULL)
            return -EINVAL;
        if (host_end + 1 < end) {
            if (host_end[1] != ':')
                return -EINVAL;
            port = host_end + 2;
        }
    } else {
        host_end = memchr(p, ':', (size_t)(end - p));
        if (host_end)
            port = host_end + 1;
        else
            host_end = end;
    }
    if (host_end == host)
        return -EINVAL;
    u->host = jl_strndup(host, (size_t)(host_end - host));
    u->port = port ? jl_strndup(port, (size_t)(end - port)) : jl_strndup("6379", 4);
    if (!valid_port(u->port))
        return -EINVAL;
    snprintf(u->where, sizeof u->where, "%s%s%s:%s", bracket ? "[" : "", u->host,
             bracket ? "]" : "", u->port);
    return JL_OK;
}

int jl_redis_url_parse(jl_redis_url_t *u, const char *url)
{
    memset(u, 0, sizeof *u);
    int rc = -EINVAL;
    if (strncmp(url, "unix://", 7) == 0)
        rc = parse_unix(u, url + 7);
    else if (strncmp(url, "redis://", 8) == 0)
        rc = parse_tcp(u, url + 8);
    else if (strncmp(url, "rediss://", 9) == 0 && (rc = parse_tcp(u, url + 9)) == JL_OK)
        u->tls = 1;
    if (rc < 0)
        jl_redis_url_free(u);
    return rc;
}

void jl_redis_url_free(jl_redis_url_t *u)
{
    free(u->host);
    free(u->port);
    free(u->path);
    free(u->user);
    free(u->pass);
    memset(u, 0, sizeof *u);
}
