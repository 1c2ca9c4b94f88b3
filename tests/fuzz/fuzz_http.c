/* fuzz_http.c -- libFuzzer target for the HTTP request path (http/).
 *
 * Everything a browser or an attacker sends to the SSE listener goes
 * through http/: http-parser with its callbacks and the head and body
 * limits (http_session.c), query decoding, routing (stream, publish,
 * health, page, OPTIONS, errors: http_routes.c), the stream start
 * (sse_stream.c), the responses (http_response.c) and the SSE encoder.
 * Those functions are static, so this target drives the side exactly as
 * the server does (http_driver.h, shared with fuzz_h2.c): each input is
 * one connection over a socketpair, written at once or in chunks, with a
 * publish to the channels a stream may have subscribed to, then EOF.
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
#include "tests/fuzz/http_driver.h"

#include <http_parser.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
    static char *argv[] = {
        "jugglite", "--port", "-1", "--resp-port", "-1", "--max-header-size", "1kb",
        "--max-message-size", "4kb", "--publish-token", "tok", "--namespace", "ns:",
        "--allow-patterns", "--cors-origin", "https://a.example", "--log-level", "error",
        NULL,
    };
    if (srv == NULL)
        driver_setup("fuzz_http", argv);
    if (driver_connection(data, size, NULL, 0) < 0)
        return 0;
    data++;
    size--;
    if (getenv("FUZZ_HTTP_VERBOSE"))   /* to see what a reproducer gets back */
        fprintf(stderr, "---- %zu bytes in, %zu bytes out:\n%.*s\n", size, out_len, (int)out_len, out);
    int head_seen = memmem(data, size, "HEAD", 4) != NULL;
    check_heads(head_seen);
    if (!head_seen && out_len < OUT_CAP)
        check_parse();
    return 0;
}
