/* addr.c -- "ip:port" from a sockaddr (see addr.h).
 *
 * Three files used to format addresses, each with its own copy of the
 * inet_ntop dance (the peer in conn.c, the local address in client.c, the
 * bound port in server.c). The output here is byte for byte what conn.c's
 * jl_conn_peer printed, which is the contract: log scrapers and CLIENT LIST
 * parsers already read it. */
#include "server/addr.h"
#include "server/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>

_Static_assert(JL_ADDR_TEXT_MAX >= INET6_ADDRSTRLEN + sizeof ":65535" - 1,
               "JL_ADDR_TEXT_MAX too small for an IPv6 address and port");

void jl_addr_text(const struct sockaddr *sa, char *buf, size_t len)
{
    char host[INET6_ADDRSTRLEN] = "?";
    if (sa != NULL && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, host, sizeof host);
    else if (sa != NULL && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, host, sizeof host);
    snprintf(buf, len, "%s:%d", host, jl_addr_port(sa));
}

int jl_addr_port(const struct sockaddr *sa)
{
    if (sa == NULL)
        return 0;
    if (sa->sa_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)sa)->sin_port);
    if (sa->sa_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
    return 0;
}

/* getpeername and getsockname have the same shape; so do their wrappers. */
static int named_text(int fd, int peer, char *buf, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    struct sockaddr *sa = (struct sockaddr *)&ss;
    if ((peer ? getpeername(fd, sa, &sl) : getsockname(fd, sa, &sl)) < 0) {
        int err = errno;
        jl_addr_text(NULL, buf, len);
        return -err;
    }
    jl_addr_text(sa, buf, len);
    return JL_OK;
}

int jl_addr_peer(int fd, char *buf, size_t len)
{
    return named_text(fd, 1, buf, len);
}

int jl_addr_local(int fd, char *buf, size_t len)
{
    return named_text(fd, 0, buf, len);
}
