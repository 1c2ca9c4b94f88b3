/* test_addr.c -- server/addr.c: "ip:port" text, over real sockets too.
 *
 * The text is a contract with whoever reads the logs and CLIENT LIST, so
 * it is checked byte for byte: IPv4 dotted, IPv6 as inet_ntop prints it
 * without brackets, "?:0" for every other family and every failure. The
 * peer/local wrappers run over real loopback TCP connections (a socketpair
 * is AF_UNIX, which has no port); the IPv6 cases skip on a host without
 * ::1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "server/addr.h"
#include "server/util.h"

/* ---- helpers ---- */

static struct sockaddr_in v4(const char *ip, int port)
{
    struct sockaddr_in in = {0};
    in.sin_family = AF_INET;
    in.sin_port = htons((uint16_t)port);
    assert_int_equal(inet_pton(AF_INET, ip, &in.sin_addr), 1);
    return in;
}

static struct sockaddr_in6 v6(const char *ip, int port)
{
    struct sockaddr_in6 in6 = {0};
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons((uint16_t)port);
    assert_int_equal(inet_pton(AF_INET6, ip, &in6.sin6_addr), 1);
    return in6;
}

static void expect_text(const void *sa, const char *want)
{
    char buf[JL_ADDR_TEXT_MAX];
    memset(buf, 'x', sizeof buf);
    jl_addr_text(sa, buf, sizeof buf);
    assert_string_equal(buf, want);
}

/* A connected loopback TCP pair: *cli connected to *srv (accepted). Returns
 * 0, or -1 when the family is unavailable here (no ::1). */
typedef struct {
    int lfd, cli, srv;
    int port;   /* the listener's */
} tcp_pair_t;

static int tcp_pair_open(tcp_pair_t *p, int family)
{
    struct sockaddr_storage ss = {0};
    socklen_t sl;
    if (family == AF_INET) {
        struct sockaddr_in in = v4("127.0.0.1", 0);
        memcpy(&ss, &in, sizeof in);
        sl = sizeof in;
    } else {
        struct sockaddr_in6 in6 = v6("::1", 0);
        memcpy(&ss, &in6, sizeof in6);
        sl = sizeof in6;
    }
    p->lfd = socket(family, SOCK_STREAM, 0);
    if (p->lfd < 0)
        return -1;
    if (bind(p->lfd, (struct sockaddr *)&ss, sl) < 0 || listen(p->lfd, 1) < 0) {
        close(p->lfd);
        return -1;
    }
    socklen_t bl = sizeof ss;
    assert_int_equal(getsockname(p->lfd, (struct sockaddr *)&ss, &bl), 0);
    p->port = jl_addr_port((struct sockaddr *)&ss);
    p->cli = socket(family, SOCK_STREAM, 0);
    assert_true(p->cli >= 0);
    assert_int_equal(connect(p->cli, (struct sockaddr *)&ss, bl), 0);
    p->srv = accept(p->lfd, NULL, NULL);
    assert_true(p->srv >= 0);
    return 0;
}

static void tcp_pair_close(tcp_pair_t *p)
{
    close(p->cli);
    close(p->srv);
    close(p->lfd);
}

static int local_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &sl), 0);
    return jl_addr_port((struct sockaddr *)&ss);
}

/* Both ends of a connection as text agree, and match host:port. */
static void check_pair_text(int family, const char *host)
{
    tcp_pair_t p;
    if (tcp_pair_open(&p, family) < 0) {
        skip();
        return;
    }
    char want_srv[64], want_cli[64], a[JL_ADDR_TEXT_MAX], b[JL_ADDR_TEXT_MAX];
    snprintf(want_srv, sizeof want_srv, "%s:%d", host, p.port);
    snprintf(want_cli, sizeof want_cli, "%s:%d", host, local_port(p.cli));
    assert_true(p.port > 0);

    assert_int_equal(jl_addr_peer(p.cli, a, sizeof a), JL_OK);
    assert_string_equal(a, want_srv);
    assert_int_equal(jl_addr_local(p.srv, b, sizeof b), JL_OK);
    assert_string_equal(b, want_srv);

    assert_int_equal(jl_addr_local(p.cli, a, sizeof a), JL_OK);
    assert_string_equal(a, want_cli);
    assert_int_equal(jl_addr_peer(p.srv, b, sizeof b), JL_OK);
    assert_string_equal(b, want_cli);

    assert_int_equal(jl_addr_local(p.lfd, a, sizeof a), JL_OK);
    assert_string_equal(a, want_srv);
    tcp_pair_close(&p);
}

/* ---- jl_addr_text / jl_addr_port ---- */

static void expect_v4(const char *ip, int port, const char *want)
{
    struct sockaddr_in in = v4(ip, port);
    expect_text(&in, want);
}

static void expect_v6(const char *ip, int port, const char *want)
{
    struct sockaddr_in6 in6 = v6(ip, port);
    expect_text(&in6, want);
}

static void test_addr_text_ipv4(void **state)
{
    (void)state;
    expect_v4("127.0.0.1", 6379, "127.0.0.1:6379");
    expect_v4("0.0.0.0", 0, "0.0.0.0:0");
    expect_v4("255.255.255.255", 65535, "255.255.255.255:65535");
    expect_v4("10.0.0.1", 80, "10.0.0.1:80");
}

static void test_addr_text_ipv6_has_no_brackets(void **state)
{
    (void)state;
    expect_v6("::1", 6379, "::1:6379");
    expect_v6("::", 0, ":::0");
    expect_v6("2001:db8::1", 443, "2001:db8::1:443");
    expect_v6("::ffff:192.0.2.1", 8080, "::ffff:192.0.2.1:8080");
    expect_v6("fe80::1:2:3:4", 1, "fe80::1:2:3:4:1");
}

static void test_addr_text_longest_fits(void **state)
{
    (void)state;
    expect_v6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535,
              "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff:65535");
    assert_true(strlen("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255:65535") < JL_ADDR_TEXT_MAX);
}

static void test_addr_text_other_families(void **state)
{
    (void)state;
    struct sockaddr_un un = {0};
    un.sun_family = AF_UNIX;
    strcpy(un.sun_path, "/tmp/x.sock");
    expect_text(&un, "?:0");
    struct sockaddr_storage none = {0};
    none.ss_family = AF_UNSPEC;
    expect_text(&none, "?:0");
    expect_text(NULL, "?:0");
    assert_int_equal(jl_addr_port((struct sockaddr *)&un), 0);
    assert_int_equal(jl_addr_port((struct sockaddr *)&none), 0);
    assert_int_equal(jl_addr_port(NULL), 0);
}

static void test_addr_text_truncates_and_terminates(void **state)
{
    (void)state;
    struct sockaddr_in a = v4("127.0.0.1", 6379);
    char buf[8];
    memset(buf, 'x', sizeof buf);
    jl_addr_text((struct sockaddr *)&a, buf, 5);
    assert_string_equal(buf, "127.");
    assert_int_equal(buf[5], 'x');
    memset(buf, 'x', sizeof buf);
    jl_addr_text((struct sockaddr *)&a, buf, 0);
    assert_int_equal(buf[0], 'x');
}

static void test_addr_port(void **state)
{
    (void)state;
    struct sockaddr_in a = v4("127.0.0.1", 1);
    struct sockaddr_in6 b = v6("::1", 65535);
    assert_int_equal(jl_addr_port((struct sockaddr *)&a), 1);
    assert_int_equal(jl_addr_port((struct sockaddr *)&b), 65535);
}

/* ---- jl_addr_peer / jl_addr_local over real sockets ---- */

static void test_addr_peer_and_local_ipv4(void **state)
{
    (void)state;
    check_pair_text(AF_INET, "127.0.0.1");
}

static void test_addr_peer_and_local_ipv6(void **state)
{
    (void)state;
    check_pair_text(AF_INET6, "::1");
}

static void test_addr_peer_not_connected(void **state)
{
    (void)state;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    char buf[JL_ADDR_TEXT_MAX] = "junk";
    assert_int_equal(jl_addr_peer(fd, buf, sizeof buf), -ENOTCONN);
    assert_string_equal(buf, "?:0");
    /* Unbound, a socket's local address is the wildcard, port 0. */
    assert_int_equal(jl_addr_local(fd, buf, sizeof buf), JL_OK);
    assert_string_equal(buf, "0.0.0.0:0");
    close(fd);
}

static void test_addr_bad_fd(void **state)
{
    (void)state;
    char buf[JL_ADDR_TEXT_MAX] = "junk";
    assert_int_equal(jl_addr_peer(-1, buf, sizeof buf), -EBADF);
    assert_string_equal(buf, "?:0");
    strcpy(buf, "junk");
    assert_int_equal(jl_addr_local(-1, buf, sizeof buf), -EBADF);
    assert_string_equal(buf, "?:0");
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(jl_addr_peer(fds[0], buf, sizeof buf), -ENOTSOCK);
    assert_string_equal(buf, "?:0");
    close(fds[0]);
    close(fds[1]);
}

static void test_addr_unix_socket_is_question_mark(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    char buf[JL_ADDR_TEXT_MAX];
    assert_int_equal(jl_addr_peer(sv[0], buf, sizeof buf), JL_OK);
    assert_string_equal(buf, "?:0");
    assert_int_equal(jl_addr_local(sv[1], buf, sizeof buf), JL_OK);
    assert_string_equal(buf, "?:0");
    close(sv[0]);
    close(sv[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addr_text_ipv4),
        cmocka_unit_test(test_addr_text_ipv6_has_no_brackets),
        cmocka_unit_test(test_addr_text_longest_fits),
        cmocka_unit_test(test_addr_text_other_families),
        cmocka_unit_test(test_addr_text_truncates_and_terminates),
        cmocka_unit_test(test_addr_port),
        cmocka_unit_test(test_addr_peer_and_local_ipv4),
        cmocka_unit_test(test_addr_peer_and_local_ipv6),
        cmocka_unit_test(test_addr_peer_not_connected),
        cmocka_unit_test(test_addr_bad_fd),
        cmocka_unit_test(test_addr_unix_socket_is_question_mark),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
