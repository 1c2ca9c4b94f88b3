/* fuzz_http.c -- libFuzzer target for the HTTP request path (http/).
 *
 * Everything a browser or an attacker sends to the SSE listener goes
 * through http/: http-parser with its callbacks and the head and body
 * limits (http_session.c), query decoding, routing (stream, publish,
 * health, page, OPTIONS, errors: http_routes.c), the stream start
 * (sse_stream.c), the responses (http_response.c) and the SSE encoder.
 * Those functions are static, so this target drives the side exactly as
 * the server does: one jl_server_t (no listeners) and one jl_http_t live
 * for the whole run, and each input is one connection -- a socketpair
 * whose server end goes to jl_http_accept(), the input is written to the
 * other end (at once, or in chunks whose size the first byte picks), a
 * message is published through the server's relay to the channels a
 * stream may have subscribed to, and then EOF; the loop runs until the
 * connection has been freed. Both are freed at exit.
 *
 * Beyond ASan/UBSan/LSan, what it checks on the bytes that come back:
 *  - every response starts "HTTP/1.1 " and parses as a sequence of HTTP
 *    responses (http-parser, response mode) -- skipped for HEAD requests,
 *    whose heads announce a body that is not sent;
 *  - no response head holds a control byte other than CR LF and TAB (no
 *    header injection from the request's Origin, path or query);
 *  - the connection is gone a bounded number of loop turns after EOF (no
 *    state in which the server waits for ever on a closed peer).
 * FUZZ_HTTP_VERBOSE=1 prints each response (for reading a reproducer).
 *
 * The server is configured so that the limits are reachable by small
 * inputs: --max-header-size 1kb, --max-message-size 4kb, a publish token
 * ("tok"), a namespace, patterns and CORS on. */
#include "http/http_session.h"
#include "server/config.h"
#include "server/log.h"
#include "server/server.h"

#include <ev.h>
#include <http_parser.h>

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
            fprintf(stderr, "fuzz_http: %s\n", what);                 \
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
        "--allow-patterns", "--cors-origin", "https://a.example", "--log-level", "error",
        NULL,
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

/* ---- checks on the response bytes ---- */

static int count_cb(http_parser *p)
{
    (*(int *)p->data)++;
    return 0;
}

static void check_heads(int head_seen)
{
    /* Each head: from "HTTP/1.1 " to the blank line. Only the heads are
     * checked for control bytes; bodies (SSE, page) may hold anything. */
    size_t i = 0;
    while (i < out_len) {
        CHECK(out_len - i >= 9 ? memcmp(out + i, "HTTP/1.1 ", 9) == 0
                               : memcmp(out + i, "HTTP/1.1 ", out_len - i) == 0,
              "response does not start with HTTP/1.1");
        const char *end = memmem(out + i, out_len - i, "\r\n\r\n", 4);
        size_t head_end = end ? (size_t)(end - out) + 4 : out_len;
        for (size_t j = i; j < head_end; j++) {
            unsigned char c = (unsigned char)out[j];
            if (c == '\r') {
                CHECK(j + 1 < head_end && out[j + 1] == '\n', "bare CR in a response head");
                j++;
            } else {
                CHECK(c == '\t' || (c >= 0x20 && c != 0x7f), "control byte in a response head");
            }
        }
        if (end == NULL)
            return;
        /* Skip the body: Content-Length, else (SSE) the rest. */
        const char *cl = memmem(out + i, head_end - i, "\r\nContent-Length: ", 18);
        if (cl == NULL)
            return;
        /* A response to HEAD announces a body it does not carry. */
        if (!head_seen || out_len - head_end < 9 || memcmp(out + head_end, "HTTP/1.1 ", 9) != 0)
            i = head_end + strtoul(cl + 18, NULL, 10);
        else
            i = head_end;
    }
}

static void check_parse(void)
{
    http_parser p;
    http_parser_settings s;
    int messages = 0;
    memset(&s, 0, sizeof s);
    s.on_message_complete = count_cb;
    http_parser_init(&p, HTTP_RESPONSE);
    p.data = &messages;
    size_t n = http_parser_execute(&p, &s, out, out_len);
    CHECK(n == out_len || HTTP_PARSER_ERRNO(&p) == HPE_OK, "responses do not parse");
    CHECK(HTTP_PARSER_ERRNO(&p) == HPE_OK, http_errno_description(HTTP_PARSER_ERRNO(&p)));
    http_parser_execute(&p, &s, NULL, 0); /* EOF ends a close-delimited body */
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

    if (getenv("FUZZ_HTTP_VERBOSE"))   /* to see what a reproducer gets back */
        fprintf(stderr, "---- %zu bytes in, %zu bytes out:\n%.*s\n", size, out_len, (int)out_len, out);
    int head_seen = memmem(data, size, "HEAD", 4) != NULL;
    check_heads(head_seen);
    if (!head_seen && out_len < OUT_CAP)
        check_parse();
    return 0;
}
