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
#include "tests/fuzz/http_driver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
    static char *argv[] = {
        "jugglite", "--port", "-1", "--resp-port", "-1", "--max-header-size", "1kb",
        "--max-message-size", "4kb", "--publish-token", "tok", "--namespace", "ns:",
        "--allow-patterns", "--h2c", "--log-level", "error", NULL,
    };
    static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    if (srv == NULL)
        driver_setup("fuzz_h2", argv);
    if (driver_connection(data, size, preface, sizeof preface - 1) < 0)
        return 0;
    check_frames();
    return 0;
}
