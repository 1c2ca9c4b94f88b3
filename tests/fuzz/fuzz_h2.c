/* fuzz_h2.c -- libFuzzer target for HTTP/2 (http/h2.c, nghttp2 under it).
 *
 * Driven as fuzz_http.c drives HTTP/1.1 -- one jl_server_t and jl_http_t
 * for the run, each input one connection over a socketpair, a publish to
 * the channels a stream may have subscribed to, then EOF -- with --h2c on
 * and the client preface written first, so every input is read as HTTP/2
 * frames: HEADERS and CONTINUATION (HPACK), DATA bodies, SETTINGS, PING,
 * WINDOW_UPDATE, RST_STREAM, GOAWAY, priorities, in any order and split
 * anywhere. Each stream's request goes on into the same HTTP code as a
 * TCP connection's (routes, streams, responses), through a virtual
 * connection.
 *
 * Beyond ASan/UBSan/LSan, what it checks on the bytes that come back:
 *  - they are a sequence of whole HTTP/2 frames (each 9-byte header's
 *    length within the default 16 KiB maximum), the first one SETTINGS;
 *  - the connection, and every stream's connection, is gone a bounded
 *    number of loop turns after EOF.
 *
 * The limits are reachable by small inputs: --max-header-size 1kb,
 * --max-message-size 4kb, a publish token ("tok"), patterns on. */
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static jl_config_t cfg;
static jl_server_t *srv;
static jl_http_t *http;
static char out[OUT_CAP];
static size_t out_len;

#define CHECK(cond, what)                                             \
    do {                                                              \
        if (!(cond)) {                                                \
            fprintf(stderr, "fuzz_h2: %s\n", what);                 \
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

static void setup(void)
{
    char *argv[] = {
        "jugglite", "--port", "-1", "--resp-port", "-1", "--max-header-size", "1kb",
        "--max-message-size", "4kb", "--publish-token", "tok", "--namespace", "ns:",
        "--allow-patterns", "--h2c", "--log-level", "error", NULL,
    };
    int argc = (int)(sizeof argv / sizeof *argv) - 1;
    if (jl_config_parse(&cfg, argc, argv) != 0)
        abort();
    jl_log_level = JL_LOG_ERROR;
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

/* ---- checks on the bytes that come back ---- */

static void check_frames(void)
{
    size_t i = 0, frames = 0;
    while (out_len - i >= 9) {
        size_t len = ((size_t)(unsigned char)out[i] << 16) | ((size_t)(unsigned char)out[i + 1] << 8) |
                     (unsigned char)out[i + 2];
        CHECK(len <= 16384, "a frame longer than SETTINGS_MAX_FRAME_SIZE");
        if (frames == 0)
            CHECK(out[i + 3] == 0x4, "the first frame is not SETTINGS");
        if (out_len - i - 9 < len)
            break;      /* cut by OUT_CAP */
        i += 9 + len;
        frames++;
    }
    CHECK(i == out_len || out_len == OUT_CAP || out_len - i < 9, "bytes that are not a frame");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (srv == NULL)
        setup();
    if (size < 1)
        return 0;
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
    static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    if (write(peer, preface, sizeof preface - 1) != (ssize_t)(sizeof preface - 1))
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

    check_frames();
    return 0;
}
