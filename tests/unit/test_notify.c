/* test_notify.c -- server/notify.c: the sd_notify datagram.
 *
 * Each test plays the service manager: it binds an AF_UNIX datagram socket
 * (a path in a fresh temporary folder, or a name in the abstract
 * namespace), names it in $NOTIFY_SOCKET, and reads what jl_notify sent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "server/notify.h"

/* Binds a datagram socket at 'name' ('@' first: abstract) and returns it. */
static int manager_socket(const char *name)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t len = strlen(name);
    assert_true(len < sizeof sa.sun_path);
    memcpy(sa.sun_path, name, len);
    if (name[0] == '@')
        sa.sun_path[0] = '\0';
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa,
                          (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)), 0);
    return fd;
}

/* The one datagram waiting on fd (the test fails rather than block). */
static void expect_datagram(int fd, const char *want)
{
    char buf[256];
    ssize_t n = recv(fd, buf, sizeof buf - 1, MSG_DONTWAIT);
    assert_true(n >= 0);
    buf[n] = '\0';
    assert_string_equal(buf, want);
    assert_int_equal(recv(fd, buf, sizeof buf, MSG_DONTWAIT), -1); /* only one */
    assert_int_equal(errno, EAGAIN);
}

static void test_notify_sends_one_datagram_to_a_path(void **state)
{
    (void)state;
    char dir[] = "/tmp/jl-notify-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/notify", dir);
    int fd = manager_socket(path);
    setenv("NOTIFY_SOCKET", path, 1);
    assert_int_equal(jl_notify("READY=1"), 1);
    expect_datagram(fd, "READY=1");
    assert_int_equal(jl_notify("STOPPING=1\nSTATUS=shutting down"), 1);
    expect_datagram(fd, "STOPPING=1\nSTATUS=shutting down");
    close(fd);
    unlink(path);
    rmdir(dir);
}

static void test_notify_at_means_the_abstract_namespace(void **state)
{
    (void)state;
    char name[64];
    snprintf(name, sizeof name, "@jl-notify-test-%ld", (long)getpid());
    int fd = manager_socket(name);
    setenv("NOTIFY_SOCKET", name, 1);
    assert_int_equal(jl_notify("READY=1"), 1);
    expect_datagram(fd, "READY=1");
    close(fd);
}

static void test_notify_without_a_manager_sends_nothing(void **state)
{
    (void)state;
    unsetenv("NOTIFY_SOCKET");
    assert_int_equal(jl_notify("READY=1"), 0);
    setenv("NOTIFY_SOCKET", "", 1);
    assert_int_equal(jl_notify("READY=1"), 0);
}

static void test_notify_refuses_addresses_it_cannot_reach(void **state)
{
    (void)state;
    setenv("NOTIFY_SOCKET", "vsock:2:1234", 1);
    assert_int_equal(jl_notify("READY=1"), -EAFNOSUPPORT);
    setenv("NOTIFY_SOCKET", "relative/path", 1);
    assert_int_equal(jl_notify("READY=1"), -EAFNOSUPPORT);
    char longname[sizeof(((struct sockaddr_un *)0)->sun_path) + 2];
    memset(longname, 'x', sizeof longname - 1);
    longname[0] = '/';
    longname[sizeof longname - 1] = '\0';
    setenv("NOTIFY_SOCKET", longname, 1);
    assert_int_equal(jl_notify("READY=1"), -ENAMETOOLONG);
    longname[sizeof longname - 2] = '\0'; /* exactly sun_path long: no room for the NUL */
    setenv("NOTIFY_SOCKET", longname, 1);
    assert_int_equal(jl_notify("READY=1"), -ENAMETOOLONG);
    setenv("NOTIFY_SOCKET", "/nonexistent/jl-notify", 1);
    assert_int_equal(jl_notify("READY=1"), -ENOENT);
    unsetenv("NOTIFY_SOCKET");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_notify_sends_one_datagram_to_a_path),
        cmocka_unit_test(test_notify_at_means_the_abstract_namespace),
        cmocka_unit_test(test_notify_without_a_manager_sends_nothing),
        cmocka_unit_test(test_notify_refuses_addresses_it_cannot_reach),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
