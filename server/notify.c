/* notify.c -- the sd_notify(3) datagram, sent by hand (see notify.h).
 *
 * The whole protocol is one sendto(): no connection, no reply. A fresh
 * socket per call costs nothing at two calls per process lifetime and
 * keeps no state in this file. */
#include "server/notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int jl_notify(const char *state)
{
    const char *name = getenv("NOTIFY_SOCKET");
    if (name == NULL || name[0] == '\0')
        return 0;
    if (name[0] != '/' && name[0] != '@')
        return -EAFNOSUPPORT;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t len = strlen(name);
    if (len > sizeof sa.sun_path)
        return -ENAMETOOLONG;
    memcpy(sa.sun_path, name, len);
    if (name[0] == '@')
        sa.sun_path[0] = '\0'; /* abstract: the length, not a NUL, ends the name */
    else if (len == sizeof sa.sun_path)
        return -ENAMETOOLONG; /* a path needs its terminating NUL */
    socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);

    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    ssize_t n = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, salen);
    int err = n < 0 ? errno : 0;
    close(fd);
    return err ? -err : 1;
}
