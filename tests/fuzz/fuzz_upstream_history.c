/* fuzz_upstream_history.c -- libFuzzer target for resp/upstream_history.c.
 *
 * What the upstream answers to the shared history's read script, and the
 * announcements on jugglite:ids, come from another process: a Redis, but
 * maybe one whose jugglite:* keys someone else wrote. The first byte picks
 * how many names were asked for, whether 'from' was an id, the count limit
 * and the age; the rest is parsed as one RESP3 reply and read. Besides
 * ASan/UBSan's "never crash, never leak", it checks what a resume relies
 * on: entries strictly increasing (sorted, each id once), every string
 * inside the input, one gap per name and a known reason; and that an
 * announcement that parses names a channel inside its bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "resp/resp_parser.h"
#include "resp/upstream_history.h"

static void check_inside(const char *p, size_t n, const uint8_t *data, size_t size)
{
    if (n == 0)
        return;
    if ((const uint8_t *)p < data || (const uint8_t *)p + n > data + size)
        abort();
}

static void read_one(const uint8_t *data, size_t size, uint8_t mode)
{
    jl_resp_value_t v;
    size_t used = 0;
    const char *err = NULL;
    if (jl_resp_parse_reply((const char *)data, size, NULL, &v, &used, &err) != JL_OK)
        return;
    size_t n = mode & 3;
    int known = (mode >> 2) & 1;
    size_t keep = ((mode >> 3) & 3) + 1;
    double age = (mode & 0x20) ? 1.0 : 0;
    jl_hist_id_t from = {(mode & 0x40) ? 100 : 0, 0};
    jl_uph_read_t rd;
    if (jl_uph_read_reply(&v, n, known, from, keep, age, &rd) == 0) {
        for (size_t i = 0; i < rd.h.n; i++) {
            const jl_relay_entry_t *e = &rd.h.e[i];
            if (i > 0 && jl_hist_id_cmp(rd.h.e[i - 1].id, e->id) >= 0)
                abort();
            check_inside(e->chan, e->chan_len, data, size);
            check_inside(e->payload, e->payload_len, data, size);
        }
        for (size_t i = 0; i < n; i++)
            if (rd.h.gap[i] < JL_GAP_NONE || rd.h.gap[i] > JL_GAP_UPSTREAM || rd.h.lost[i] != -1)
                abort();
        jl_uph_read_free(&rd);
    }
    jl_resp_value_free(&v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    read_one(data + 1, size - 1, data[0]);
    jl_hist_id_t id;
    const char *chan;
    size_t len;
    if (jl_uph_parse_announce((const char *)data, size, &id, &chan, &len) == 0)
        check_inside(chan, len, data, size);
    return 0;
}
