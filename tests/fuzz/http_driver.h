/* http_driver.h -- what fuzz_http.c and fuzz_h2.c share: the server they
 * drive and one connection's life.
 *
 * One jl_server_t (no listeners) and one jl_http_t live for the whole run
 * (driver_setup, freed at exit). driver_connection() is one input: a
 * socketpair whose server end goes to jl_http_accept(), then the prefix
 * (the HTTP/2 preface, or nothing), then the input -- at once, or in
 * chunks whose size its first byte picks (bit 7 on: (byte & 0x3f) + 1
 * bytes at a time; bit 6: publish before the input too) -- a message
 * published to the channels a stream may have subscribed to ("ns:a",
 * "ns:b"), then EOF; the loop runs until every connection is freed, a
 * bounded number of turns. What the server wrote is in out[0..out_len).
 * Included by exactly one .c file per fuzzer, hence the statics. */
#ifndef JL_FUZZ_HTTP_DRIVER_H
#define JL_FUZZ_HTTP_DRIVER_H

#include "http/http_session.h"
#include "server/config.h"
#include "server/log.h"
#include "server/server.h"

#include <ev.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_TURNS 10000
#define OUT_CAP (1 << 20)

static jl_config_t cfg;
static jl_server_t *srv;
static jl_http_t *http;
static char out[OUT_CAP];
static size_t out_len;
static const char *driver_name = "fuzz";

#define CHECK(cond, what)                                             \
    do {                                                              \
        if (!(cond)) {                                                \
            fprintf(stderr, "%s: %s\n", driver_name, what);           \
            abort();                                                  \
        }                                                             \
    } while (0)

static void teardown(void)
{
    jl_server_close_all(srv);
    jl_http_free(http);
    jl_server_free(srv);
    jl_config_free(&cfg);
}

/* argv: the server's options, NULL-terminated. */
static void driver_setup(const char *name, char **argv)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    driver_name = name;
    if (jl_config_parse(&cfg, argc, argv) != 0)
        abort();
    jl_log_conf.level = JL_LOG_ERROR;
    srv = jl_server_new(&cfg);
    if (srv == NULL)
        abort();
    http = jl_http_new(srv);
    atexit(teardown);
}

static void publish(const char *chan, const char *payload, size_t len)
{
    jl_pub_t pub = {chan, strlen(chan), payload, len, 0};
    jl_relay_publish(srv->relay, &pub, NULL, NULL);
}

/* Reads whatever the server wrote; keeps up to OUT_CAP bytes. */
static void drain(int fd)
{
    char tmp[65536];
    for (;;) {
        ssize_t n = read(fd, tmp, sizeof tmp);
        if (n <= 0)
            return;
        size_t take = out_len + (size_t)n <= OUT_CAP ? (size_t)n : OUT_CAP - out_len;
        memcpy(out + out_len, tmp, take);
        out_len += take;
    }
}

static void turn(int peer)
{
    ev_run(srv->loop, EVRUN_NOWAIT);
    drain(peer);
}

/* One input, one connection (see the top of this file). Returns 0, or -1
 * for an input too short to use. data/size: after the control byte. */
static int driver_connection(const uint8_t *data, size_t size, const char *prefix, size_t plen)
{
    if (size < 1)
        return -1;
    size_t chunk = data[0] & 0x80 ? (size_t)(data[0] & 0x3f) + 1 : SIZE_MAX;
    int publish_first = data[0] & 0x40;
    data++;
    size--;

    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
        abort();
    int peer = sv[1];
    int big = 1 << 20;
    setsockopt(peer, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    out_len = 0;
    jl_http_accept(http, srv, sv[0], 1, 0, NULL);
    if (plen && write(peer, prefix, plen) != (ssize_t)plen)
        abort();

    static const char msg[] = "{\"event\":\"e\",\"id\":\"7\",\"x\":\"a\\nb\"}\nline2";
    if (publish_first)
        publish("ns:a", msg, sizeof msg - 1);
    size_t off = 0;
    while (off < size) {
        size_t n = size - off < chunk ? size - off : chunk;
        ssize_t w = write(peer, data + off, n);
        if (w < 0) {
            if (errno != EAGAIN)
                break;      /* the server closed: the rest is not wanted */
            turn(peer);
            continue;
        }
        off += (size_t)w;
        turn(peer);
    }
    turn(peer);
    publish("ns:a", msg, sizeof msg - 1);
    publish("ns:b", "", 0);
    turn(peer);
    shutdown(peer, SHUT_WR);
    int turns = 0;
    while (srv->conns.accepted > 0 || !jl_list_empty(&srv->conns.closing)) {
        CHECK(++turns < MAX_TURNS, "connection not closed after EOF");
        turn(peer);
    }
    drain(peer);
    close(peer);
    return 0;
}

#endif
