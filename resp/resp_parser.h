/* resp_parser.h -- incremental RESP parser, no I/O.
 *
 * Two parsers share this module:
 *  - requests (what a Redis client sends): multibulk "*N\r\n$len\r\n..." and
 *    inline commands ("PING\r\n", quotes as in redis-cli / sdssplitargs);
 *  - replies (what the upstream Redis sends the bridge): any RESP2 or RESP3
 *    value, as a tree.
 *
 * Both are resumable: call again with the same bytes plus whatever arrived
 * since (the buffer may have moved; offsets, not pointers, are kept), and the
 * parser continues where it stopped instead of rescanning. Every length a
 * peer controls is checked against a limit before anything is allocated.
 *
 * Errors carry Redis's exact text without the "ERR " prefix (e.g. "Protocol
 * error: invalid multibulk length"); the caller replies "-ERR <text>\r\n"
 * and closes the connection, as Redis does. */
#ifndef JL_RESP_PARSER_H
#define JL_RESP_PARSER_H

#include <stddef.h>
#include <stdint.h>

/* A zero field takes Redis's default (shown). The same limit Redis applies
 * to inline lines (PROTO_INLINE_MAX_SIZE) also bounds the "*N" and "$N"
 * header lines of a multibulk request, and every line of a reply. */
typedef struct jl_resp_limits {
    size_t max_bulk;     /* largest bulk argument, bytes (Redis proto-max-bulk-len: 512 MiB) */
    size_t max_args;     /* most arguments in one multibulk request (Redis: INT_MAX) */
    size_t max_inline;   /* longest inline request line (Redis: 64 KiB) */
} jl_resp_limits_t;

/* One parsed command: argv[i] points into the caller's buffer, valid until
 * the caller consumes or changes it. */
typedef struct jl_resp_cmd {
    size_t argc;
    const char **argv;
    size_t *argvlen;
} jl_resp_cmd_t;

typedef struct jl_resp_parser {
    jl_resp_limits_t limits;
    const char *err;     /* set when a call returns < 0: Redis's text, without "ERR " */
    /* Set by the caller while the client still has to AUTH (Redis's
     * authRequired): counts over 10 and bulks over 16384 bytes are then
     * refused with "Protocol error: unauthenticated (multi)bulk length".
     * 0 after jl_resp_parser_init. */
    int unauthenticated;
    /* private resumable state; offsets, never pointers, into the buffer */
    int kind;            /* 0 between requests, '*' multibulk, 'i' inline */
    size_t pos;          /* first byte of the current request not yet consumed */
    size_t scan;         /* the line terminator search resumes here */
    long long want;      /* multibulk: arguments still to read */
    long long bulk;      /* current bulk length, -1 when reading a "$" line */
    size_t argc, cap;
    size_t *off, *len;   /* argument offsets (in buf, or in ibuf for inline) and lengths */
    const char **argv;   /* filled on JL_OK from off[] */
    /* inline commands unescape into this private storage */
    char *ibuf;
    size_t ibuf_cap;
    char errbuf[48];     /* "expected '$', got 'X'" is formatted here */
} jl_resp_parser_t;

void jl_resp_parser_init(jl_resp_parser_t *p, const jl_resp_limits_t *limits);
void jl_resp_parser_free(jl_resp_parser_t *p);
/* Between requests: returns the big argument arrays a huge request left, so
 * an idle client holds only its small preallocation. No-op mid-request. */
void jl_resp_parser_trim(jl_resp_parser_t *p);

/* Parses at most one request from buf[0..len).
 *  JL_OK (0):     *cmd holds the command, *used the bytes it took (the caller
 *                 drops them before the next call). An empty inline line or
 *                 "*0\r\n" / "*-1\r\n" is a command with argc 0: skip it.
 *  JL_AGAIN (1):  need more bytes; call again with buf extended.
 *  < 0:           protocol error, p->err holds Redis's text; close the
 *                 connection after replying. */
int jl_resp_parse_request(jl_resp_parser_t *p, const char *buf, size_t len,
                          jl_resp_cmd_t *cmd, size_t *used);

/* ---- replies (for the upstream bridge) ---- */

typedef enum {
    JL_RESP_SIMPLE = '+', JL_RESP_ERROR = '-', JL_RESP_INTEGER = ':',
    JL_RESP_BULK = '$', JL_RESP_ARRAY = '*', JL_RESP_NULL = '_',
    JL_RESP_BOOL = '#', JL_RESP_DOUBLE = ',', JL_RESP_BIGNUM = '(',
    JL_RESP_VERBATIM = '=', JL_RESP_BLOBERR = '!', JL_RESP_MAP = '%',
    JL_RESP_SET = '~', JL_RESP_ATTR = '|', JL_RESP_PUSH = '>'
} jl_resp_type_t;

/* A parsed value. str points into the caller's buffer (valid until it is
 * consumed); elems is owned by the value (free with jl_resp_value_free).
 * A null bulk / null array is JL_RESP_NULL. Maps hold 2*n elements. */
typedef struct jl_resp_value {
    jl_resp_type_t type;
    const char *str;
    size_t len;
    long long integer;
    size_t nelem;
    struct jl_resp_value *elems;
} jl_resp_value_t;

/* Parses one complete reply value from buf[0..len) (not resumable: replies
 * from the upstream are small, it re-scans). JL_OK with *used set,
 * JL_AGAIN, or < 0 with *err set on malformed input or a limit (nesting
 * deeper than JL_RESP_MAX_DEPTH, a count over max_args, a bulk over
 * max_bulk, a line over max_inline). Nothing is allocated unless the whole
 * value is present and valid. limits may be NULL (Redis's defaults).
 *
 * Shapes: ":" and "#" set integer (booleans 1/0) and str (the line);
 * "+", "-", ",", "(" set str to the line; "$", "!", "=" to the payload ("="
 * keeps its "txt:" prefix); an attribute "|n" is a JL_RESP_ATTR value with
 * 2n+1 elements: the attribute map's keys and values, then the value it
 * annotates. Streamed RESP3 values ("$?", "*?") are refused. */
#define JL_RESP_MAX_DEPTH 64
int jl_resp_parse_reply(const char *buf, size_t len, const jl_resp_limits_t *limits,
                        jl_resp_value_t *out, size_t *used, const char **err);
void jl_resp_value_free(jl_resp_value_t *v);

#endif
