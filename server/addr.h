/* addr.h -- socket addresses as text, the same way in every log line.
 *
 * CLIENT LIST's addr= and laddr=, the "closing client ..." warnings and the
 * listeners' "listening on" lines all print an address; this is the one
 * place that turns a sockaddr into "ip:port". The format is today's
 * jl_conn_peer output, kept so logs and CLIENT LIST do not change: IPv4 as
 * "127.0.0.1:6379", IPv6 WITHOUT brackets as "::1:6379" (Redis's
 * anetFormatAddr would print "[::1]:6379"; changing that is a decision of
 * its own, not this file's), and "?:0" for anything that is not IPv4 or
 * IPv6 (a Unix socket, an unknown family, a failed lookup). Owns nothing;
 * never allocates. */
#ifndef JL_ADDR_H
#define JL_ADDR_H

#include <stddef.h>
#include <sys/socket.h>

/* Room for the longest text and its NUL: an IPv6 address (at most 45
 * characters, INET6_ADDRSTRLEN counts the NUL), ':' and five port digits.
 * A buffer this big never truncates. */
#define JL_ADDR_TEXT_MAX 52

/* Writes sa as "ip:port" into buf[0..len), NUL-terminated and truncated to
 * fit (len 0 writes nothing). sa may be NULL ("?:0"); otherwise it must be
 * as large as its family's sockaddr (a sockaddr_storage always is). */
void jl_addr_text(const struct sockaddr *sa, char *buf, size_t len);
/* The port of an IPv4 or IPv6 address in host order; 0 for any other
 * family, and for NULL. */
int jl_addr_port(const struct sockaddr *sa);

/* The remote (getpeername) or local (getsockname) address of fd as text.
 * Return JL_OK, or -errno from the call (-ENOTCONN, -EBADF, ...); on error
 * buf holds "?:0", so a caller that only logs may ignore the result. */
int jl_addr_peer(int fd, char *buf, size_t len);
int jl_addr_local(int fd, char *buf, size_t len);

#endif
