/* siphash.c -- SipHash-2-4 (Aumasson and Bernstein, 2012).
 *
 * Channel names come from untrusted clients; with an unkeyed hash a client
 * could pick thousands of names that share one bucket and turn every
 * subscribe and publish into a list walk. SipHash under a secret
 * per-process key makes such names impossible to choose. Two compression
 * rounds per 8-byte word and four finalisation rounds, as in the paper;
 * words are read little-endian whatever the host, so the test vectors of
 * the paper hold everywhere. */
#include "server/siphash.h"

#include <stddef.h>
#include <stdint.h>

#define ROTL64(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static uint64_t load_le64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* One SipRound over the state v[0..3]. */
static void sip_round(uint64_t v[4])
{
    v[0] += v[1];
    v[1] = ROTL64(v[1], 13);
    v[1] ^= v[0];
    v[0] = ROTL64(v[0], 32);
    v[2] += v[3];
    v[3] = ROTL64(v[3], 16);
    v[3] ^= v[2];
    v[0] += v[3];
    v[3] = ROTL64(v[3], 21);
    v[3] ^= v[0];
    v[2] += v[1];
    v[1] = ROTL64(v[1], 17);
    v[1] ^= v[2];
    v[2] = ROTL64(v[2], 32);
}

static void sip_compress(uint64_t v[4], uint64_t m)
{
    v[3] ^= m;
    sip_round(v);
    sip_round(v);
    v[0] ^= m;
}

uint64_t jl_siphash(const void *data, size_t len, const uint8_t key[16])
{
    const uint8_t *in = data;
    uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);
    /* "somepseudorandomlygeneratedbytes", the paper's initial constants. */
    uint64_t v[4] = {
        k0 ^ UINT64_C(0x736f6d6570736575),
        k1 ^ UINT64_C(0x646f72616e646f6d),
        k0 ^ UINT64_C(0x6c7967656e657261),
        k1 ^ UINT64_C(0x7465646279746573),
    };
    size_t full = len - len % 8;
    uint64_t last = (uint64_t)(len & 0xff) << 56;

    for (size_t i = 0; i < full; i += 8)
        sip_compress(v, load_le64(in + i));

    /* The final word: the leftover bytes, with the length in the top byte. */
    for (size_t i = 0; i < len % 8; i++)
        last |= (uint64_t)in[full + i] << (8 * i);
    sip_compress(v, last);

    v[2] ^= 0xff;
    for (int i = 0; i < 4; i++)
        sip_round(v);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}
