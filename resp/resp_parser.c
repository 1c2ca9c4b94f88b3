/* resp_parser.c -- the request parser and the reply parser (see resp_parser.h).
 *
 * Requests follow Redis 7.0's processMultibulkBuffer / processInlineBuffer
 * (networking.c) quirk for quirk, because a client must not be able to tell
 * jugglite from Redis, even by the error it gets for bad bytes:
 *  - header lines ("*N", "$N") end at the first '\r', and the byte after it
 *    is skipped unchecked (it only has to be present); a bulk's trailing two
 *    bytes are skipped unchecked too;
 *  - Redis finds terminators with strchr, so a NUL byte before the
 *    terminator hides it: the request waits until the "too big" limit trips;
 *  - numbers are parsed like string2ll: no '+', no leading zeros, no spaces,
 *    at most 20 characters;
 *  - counts <= 0 are an empty command; bulk lengths < 0 are an error;
 *  - before AUTH, counts over 10 and bulks over 16384 bytes are refused;
 *  - error texts are Redis's, with '\r' and '\n' shown as spaces (Redis's
 *    addReplyErrorFormat sanitises them).
 *
 * Invariant of the request parser: p->pos and p->scan only move forward
 * within one request, so feeding a request in k chunks costs O(len + k),
 * never a rescan. Arguments are recorded as offsets, because the caller's
 * buffer may move between calls.
 *
 * The reply parser makes two passes over a complete value: one that only
 * checks (so an incomplete or hostile reply allocates nothing) and one that
 * builds the tree with the exact counts the first pass proved present. */
#include "resp/resp_parser.h"
#include "server/strconv.h"

#include "server/util.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_BULK ((size_t)512 * 1024 * 1024)
#define DEFAULT_MAX_ARGS ((size_t)INT_MAX)
#define DEFAULT_MAX_INLINE ((size_t)64 * 1024)
#define ARGV_PREALLOC 1024     /* Redis: never trust a count for more than this */
#define IBUF_KEEP 4096         /* larger private buffers are freed between requests */

/* string2ll's maximum: "a string of excessive length is not a valid number". */
#define LONG_STR_SIZE 21

static const char E_MBULK_LEN[] = "Protocol error: invalid multibulk length";
static const char E_BULK_LEN[] = "Protocol error: invalid bulk length";
static const char E_BIG_MBULK[] = "Protocol error: too big mbulk count string";
static const char E_BIG_BULK[] = "Protocol error: too big bulk count string";
static const char E_BIG_INLINE[] = "Protocol error: too big inline request";
static const char E_UNAUTH_MBULK[] = "Protocol error: unauthenticated multibulk length";
static const char E_UNAUTH_BULK[] = "Protocol error: unauthenticated bulk length";
static const char E_QUOTES[] = "Protocol error: unbalanced quotes in request";

/* ---- shared helpers ---- */

static void limits_fill(jl_resp_limits_t *dst, const jl_resp_limits_t *src)
{
    jl_resp_limits_t zero = {0};
    if (src == NULL)
        src = &zero;
    dst->max_bulk = src->max_bulk ? src->max_bulk : DEFAULT_MAX_BULK;
    dst->max_args = src->max_args ? src->max_args : DEFAULT_MAX_ARGS;
    dst->max_inline = src->max_inline ? src->max_inline : DEFAULT_MAX_INLINE;
}

/* Redis's string2ll (jl_strtoll): strict decimal, so "*01" and "$+4" are
 * refused as Redis refuses them. Returns 1 on success. */
static int parse_ll(const char *s, size_t n, long long *out)
{
    return n < LONG_STR_SIZE && jl_strtoll(s, n, out) == JL_OK;
}

static int fail(jl_resp_parser_t *p, const char *err)
{
    p->err = err;
    return -EPROTO;
}

/* Looks for 'term' in buf[p->scan..len) the way strchr would: a NUL byte
 * ends the search. Returns 1 with its offset in *at, or 0 (p->scan then
 * remembers how far the search got, parking on a NUL for good). */
static int find_term(jl_resp_parser_t *p, const char *buf, size_t len, char term, size_t *at)
{
    size_t i = p->scan;
    for (; i < len; i++) {
        if (buf[i] == term) {
            *at = i;
            return 1;
        }
        if (buf[i] == '\0')
            break;
    }
    p->scan = i;
    return 0;
}

/* ---- request parser: argument storage ---- */

/* Grows the argument arrays to exactly 'cap' slots (callers choose it). */
static void args_reserve(jl_resp_parser_t *p, size_t cap)
{
    if (cap <= p->cap)
        return;
    p->off = jl_realloc(p->off, cap * sizeof *p->off);
    p->len = jl_realloc(p->len, cap * sizeof *p->len);
    p->argv = jl_realloc(p->argv, cap * sizeof *p->argv);
    p->cap = cap;
}

/* Adds one argument. 'most' (the arguments this request can still have in
 * total) caps the doubling, as Redis's argv_len = min(argv_len * 2,
 * argc + multibulklen), so the last growth does not overshoot. */
static void args_push(jl_resp_parser_t *p, size_t off, size_t n, size_t most)
{
    if (p->argc == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        args_reserve(p, cap < most ? cap : most);
    }
    p->off[p->argc] = off;
    p->len[p->argc] = n;
    p->argc++;
}

static void args_release(jl_resp_parser_t *p)
{
    free(p->off);
    free(p->len);
    free(p->argv);
    p->off = p->len = NULL;
    p->argv = NULL;
    p->cap = 0;
}

/* Forgets the previous request. Big arrays left by a huge request are
 * returned, so one 1M-argument command does not pin memory forever. */
static void request_reset(jl_resp_parser_t *p)
{
    p->kind = 0;
    p->pos = p->scan = 0;
    p->want = -1;
    p->bulk = -1;
    p->argc = 0;
    jl_resp_parser_trim(p);
}

void jl_resp_parser_trim(jl_resp_parser_t *p)
{
    if (p->kind != 0)
        return;
    if (p->cap > ARGV_PREALLOC)
        args_release(p);
    if (p->ibuf_cap > IBUF_KEEP) {
        free(p->ibuf);
        p->ibuf = NULL;
        p->ibuf_cap = 0;
    }
}

static int request_done(jl_resp_parser_t *p, const char *base, jl_resp_cmd_t *cmd, size_t *used)
{
    for (size_t i = 0; i < p->argc; i++)
        p->argv[i] = base + p->off[i];
    cmd->argc = p->argc;
    cmd->argv = p->argc ? p->argv : NULL;
    cmd->argvlen = p->argc ? p->len : NULL;
    *used = p->pos;
    p->kind = 0;
    return JL_OK;
}

void jl_resp_parser_init(jl_resp_parser_t *p, const jl_resp_limits_t *limits)
{
    memset(p, 0, sizeof *p);
    limits_fill(&p->limits, limits);
    p->bulk = -1;
}

void jl_resp_parser_free(jl_resp_parser_t *p)
{
    args_release(p);
    free(p->ibuf);
    p->ibuf = NULL;
    p->ibuf_cap = 0;
}

/* ---- request parser: multibulk ---- */

/* The "*N" line (p->want is -1 until it is read). Returns JL_OK once it is
 * consumed, JL_AGAIN, or an error. */
static int mbulk_count(jl_resp_parser_t *p, const char *buf, size_t len)
{
    size_t cr;
    if (!find_term(p, buf, len, '\r', &cr)) {
        if (len - p->pos > p->limits.max_inline)
            return fail(p, E_BIG_MBULK);
        return JL_AGAIN;
    }
    /* Redis needs one byte after the '\r' but never looks at it. */
    p->scan = cr;
    if (cr + 1 >= len)
        return JL_AGAIN;
    long long ll;
    if (!parse_ll(buf + p->pos + 1, cr - p->pos - 1, &ll) || ll > INT_MAX ||
        (ll > 0 && (unsigned long long)ll > p->limits.max_args))
        return fail(p, E_MBULK_LEN);
    if (ll > 10 && p->unauthenticated)
        return fail(p, E_UNAUTH_MBULK);
    p->pos = p->scan = cr + 2;
    p->want = ll > 0 ? ll : 0;
    args_reserve(p, p->want < ARGV_PREALLOC ? (size_t)p->want : ARGV_PREALLOC);
    return JL_OK;
}

static int bad_dollar(jl_resp_parser_t *p, char c)
{
    if (c == '\r' || c == '\n')
        c = ' ';
    /* Built by hand: the byte may be anything, '%' and 0xff included. */
    static const char head[] = "Protocol error: expected '$', got '";
    memcpy(p->errbuf, head, sizeof head - 1);
    p->errbuf[sizeof head - 1] = c;
    p->errbuf[sizeof head] = '\'';
    p->errbuf[sizeof head + 1] = '\0';
    return fail(p, p->errbuf);
}

/* The "$N" line of the next argument; sets p->bulk. */
static int bulk_header(jl_resp_parser_t *p, const char *buf, size_t len)
{
    size_t cr;
    if (!find_term(p, buf, len, '\r', &cr)) {
        if (len - p->pos > p->limits.max_inline)
            return fail(p, E_BIG_BULK);
        return JL_AGAIN;
    }
    p->scan = cr;
    if (cr + 1 >= len)
        return JL_AGAIN;
    if (buf[p->pos] != '$')
        return bad_dollar(p, buf[p->pos]);
    long long ll;
    if (!parse_ll(buf + p->pos + 1, cr - p->pos - 1, &ll) || ll < 0 ||
        (unsigned long long)ll > p->limits.max_bulk)
        return fail(p, E_BULK_LEN);
    if (ll > 16384 && p->unauthenticated)
        return fail(p, E_UNAUTH_BULK);
    p->pos = p->scan = cr + 2;
    p->bulk = ll;
    return JL_OK;
}

static int parse_multibulk(jl_resp_parser_t *p, const char *buf, size_t len,
                           jl_resp_cmd_t *cmd, size_t *used)
{
    int rc;
    if (p->want < 0 && (rc = mbulk_count(p, buf, len)) != JL_OK)
        return rc;
    while (p->want > 0) {
        if (p->bulk < 0 && (rc = bulk_header(p, buf, len)) != JL_OK)
            return rc;
        /* Redis skips the two bytes after the payload without checking them. */
        if (len - p->pos < (size_t)p->bulk + 2)
            return JL_AGAIN;
        p->want--;
        args_push(p, p->pos, (size_t)p->bulk, p->argc + 1 + (size_t)p->want);
        p->pos += (size_t)p->bulk + 2;
        p->scan = p->pos;
        p->bulk = -1;
    }
    return request_done(p, buf, cmd, used);
}

/* ---- request parser: inline ---- */

static int is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}


/* Line reader for split_args: past the end reads as NUL, like the C string
 * sdssplitargs walks. The line itself never holds a NUL (see find_term). */
typedef struct {
    const char *s;
    size_t n, i;
} line_t;

static int peek(const line_t *l, size_t ahead)
{
    return l->i + ahead < l->n ? (unsigned char)l->s[l->i + ahead] : 0;
}

/* A closing quote must be followed by a space or the end of the line. */
static int close_ok(const line_t *l) { return peek(l, 1) == 0 || is_space(peek(l, 1)); }

/* Inside "...": one escape or plain byte into *out. Returns 1 at the
 * closing quote, 0 to continue, -1 on unbalanced quotes. */
static int dquote_step(line_t *l, char **out)
{
    int c = peek(l, 0);
    if (c == '\\' && peek(l, 1) == 'x' && jl_hex_digit(peek(l, 2)) >= 0 && jl_hex_digit(peek(l, 3)) >= 0) {
        *(*out)++ = (char)(jl_hex_digit(peek(l, 2)) * 16 + jl_hex_digit(peek(l, 3)));
        l->i += 3;
        return 0;
    }
    if (c == '\\' && peek(l, 1)) {
        l->i++;
        switch (peek(l, 0)) {
        case 'n': *(*out)++ = '\n'; break;
        case 'r': *(*out)++ = '\r'; break;
        case 't': *(*out)++ = '\t'; break;
        case 'b': *(*out)++ = '\b'; break;
        case 'a': *(*out)++ = '\a'; break;
        default: *(*out)++ = (char)peek(l, 0); break;
        }
        return 0;
    }
    if (c == '"')
        return close_ok(l) ? 1 : -1;
    if (c == 0)
        return -1;
    *(*out)++ = (char)c;
    return 0;
}

/* Inside '...': only \' is an escape. Same returns as dquote_step. */
static int squote_step(line_t *l, char **out)
{
    int c = peek(l, 0);
    if (c == '\\' && peek(l, 1) == '\'') {
        l->i++;
        *(*out)++ = '\'';
        return 0;
    }
    if (c == '\'')
        return close_ok(l) ? 1 : -1;
    if (c == 0)
        return -1;
    *(*out)++ = (char)c;
    return 0;
}

/* One token starting at a non-blank byte, unescaped to *out. Returns 0, or
 * -1 on unbalanced quotes. Mirrors sdssplitargs: quotes may open mid-token
 * ("a"b c"" is one argument), and a token ends at ' ', '\t', '\r', '\n' or
 * the end -- not at '\v' or '\f', which only count as blanks between tokens. */
static int split_token(line_t *l, char **out)
{
    int q = 0; /* 0, '"' or '\'' */
    for (;;) {
        int c = peek(l, 0), r = 0;
        if (q == '"')
            r = dquote_step(l, out);
        else if (q == '\'')
            r = squote_step(l, out);
        else if (c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == 0)
            r = 1;
        else if (c == '"' || c == '\'')
            q = c;
        else
            *(*out)++ = (char)c;
        if (r < 0)
            return -1;
        if (l->i < l->n)
            l->i++;
        if (r == 1)
            return 0;
    }
}

/* sdssplitargs over line[0..n), arguments unescaped into p->ibuf. */
static int split_args(jl_resp_parser_t *p, const char *line, size_t n)
{
    if (p->ibuf_cap < n) {
        free(p->ibuf);
        p->ibuf = jl_malloc(n);
        p->ibuf_cap = n;
    }
    line_t l = {line, n, 0};
    char *out = p->ibuf;
    for (;;) {
        while (l.i < n && is_space((unsigned char)line[l.i]))
            l.i++;
        if (l.i == n)
            return JL_OK;
        char *start = out;
        if (split_token(&l, &out) < 0)
            return fail(p, E_QUOTES);
        args_push(p, (size_t)(start - p->ibuf), (size_t)(out - start), SIZE_MAX);
    }
}

static int parse_inline(jl_resp_parser_t *p, const char *buf, size_t len,
                        jl_resp_cmd_t *cmd, size_t *used)
{
    size_t nl;
    if (!find_term(p, buf, len, '\n', &nl)) {
        /* Like Redis: only a line still unterminated past the limit fails. */
        if (len > p->limits.max_inline)
            return fail(p, E_BIG_INLINE);
        return JL_AGAIN;
    }
    size_t end = nl;
    if (end > 0 && buf[end - 1] == '\r')
        end--;
    int rc = split_args(p, buf, end);
    if (rc != JL_OK)
        return rc;
    p->pos = nl + 1;
    return request_done(p, p->ibuf, cmd, used);
}

int jl_resp_parse_request(jl_resp_parser_t *p, const char *buf, size_t len,
                          jl_resp_cmd_t *cmd, size_t *used)
{
    if (p->kind == 0) {
        if (len == 0)
            return JL_AGAIN;
        request_reset(p);
        p->kind = buf[0] == '*' ? '*' : 'i';
    }
    if (p->kind == 'i')
        return parse_inline(p, buf, len, cmd, used);
    return parse_multibulk(p, buf, len, cmd, used);
}

/* ---- reply parser ---- */

/* One pass over a reply. The parse_* functions take 'out' NULL for the
 * checking pass (errors and JL_AGAIN possible, nothing allocated) and
 * non-NULL for the building pass, which runs only on accepted bytes. */
typedef struct {
    const char *buf;
    size_t len;
    jl_resp_limits_t lim;
    const char *err;
} rctx_t;

static int rfail(rctx_t *c, const char *err)
{
    c->err = err;
    return -EPROTO;
}

/* The line at *pos (after the type byte). Sets [*s, *s + *n) and moves *pos
 * past its CRLF. */
static int read_line(rctx_t *c, size_t *pos, const char **s, size_t *n)
{
    size_t room = c->len - *pos;
    size_t span = room < c->lim.max_inline + 1 ? room : c->lim.max_inline + 1;
    const char *cr = memchr(c->buf + *pos, '\r', span);
    if (cr == NULL)
        return span == room ? JL_AGAIN : rfail(c, "Protocol error: too big reply line");
    size_t at = (size_t)(cr - c->buf);
    if (at + 1 >= c->len)
        return JL_AGAIN;
    if (c->buf[at + 1] != '\n')
        return rfail(c, "Protocol error: expected CRLF in reply");
    *s = c->buf + *pos;
    *n = at - *pos;
    *pos = at + 2;
    return JL_OK;
}

static int read_number(rctx_t *c, size_t *pos, long long *v)
{
    const char *s;
    size_t n;
    int rc = read_line(c, pos, &s, &n);
    if (rc != JL_OK)
        return rc;
    if (!parse_ll(s, n, v))
        return rfail(c, "Protocol error: invalid number in reply");
    return JL_OK;
}

static int check_double(rctx_t *c, const char *s, size_t n)
{
    char tmp[128];
    if (n == 0 || n >= sizeof tmp)
        return rfail(c, "Protocol error: invalid double in reply");
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    char *end;
    (void)strtod(tmp, &end);
    if (end != tmp + n)
        return rfail(c, "Protocol error: invalid double in reply");
    return JL_OK;
}

static int check_bignum(rctx_t *c, const char *s, size_t n)
{
    size_t i = n > 0 && s[0] == '-';
    if (i == n)
        return rfail(c, "Protocol error: invalid big number in reply");
    for (; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return rfail(c, "Protocol error: invalid big number in reply");
    return JL_OK;
}

/* Types whose value is one line: + - : _ # , ( */
static int parse_line_value(rctx_t *c, int type, size_t *pos, jl_resp_value_t *out)
{
    const char *s;
    size_t n;
    int rc = read_line(c, pos, &s, &n);
    if (rc != JL_OK)
        return rc;
    long long v = 0;
    if (type == ':' && !parse_ll(s, n, &v))
        return rfail(c, "Protocol error: invalid integer in reply");
    if (type == '_' && n != 0)
        return rfail(c, "Protocol error: invalid null in reply");
    if (type == '#' && (n != 1 || (s[0] != 't' && s[0] != 'f')))
        return rfail(c, "Protocol error: invalid boolean in reply");
    if (type == '#')
        v = s[0] == 't';
    if (type == ',' && (rc = check_double(c, s, n)) != JL_OK)
        return rc;
    if (type == '(' && (rc = check_bignum(c, s, n)) != JL_OK)
        return rc;
    if (out) {
        out->type = (jl_resp_type_t)type;
        out->str = type == '_' ? NULL : s;
        out->len = n;
        out->integer = v;
    }
    return JL_OK;
}

/* Length-prefixed types: $ ! = */
static int parse_blob(rctx_t *c, int type, size_t *pos, jl_resp_value_t *out)
{
    long long n;
    int rc = read_number(c, pos, &n);
    if (rc != JL_OK)
        return rc;
    if (n == -1 && type == '$') {
        if (out)
            out->type = JL_RESP_NULL;
        return JL_OK;
    }
    if (n < 0 || (unsigned long long)n > c->lim.max_bulk)
        return rfail(c, "Protocol error: invalid bulk length in reply");
    if (c->len - *pos < (size_t)n + 2)
        return JL_AGAIN;
    const char *s = c->buf + *pos;
    if (s[n] != '\r' || s[n + 1] != '\n')
        return rfail(c, "Protocol error: expected CRLF after bulk in reply");
    if (type == '=' && (n < 4 || s[3] != ':'))
        return rfail(c, "Protocol error: invalid verbatim string in reply");
    *pos += (size_t)n + 2;
    if (out) {
        out->type = (jl_resp_type_t)type;
        out->str = s;
        out->len = (size_t)n;
    }
    return JL_OK;
}

static int parse_value(rctx_t *c, size_t *pos, int depth, jl_resp_value_t *out);

/* Aggregates: * % ~ > | (maps and attributes hold key, value, key, ...;
 * an attribute is followed by the value it annotates). */
static int parse_aggregate(rctx_t *c, int type, size_t *pos, int depth, jl_resp_value_t *out)
{
    long long n;
    int rc = read_number(c, pos, &n);
    if (rc != JL_OK)
        return rc;
    if (n == -1 && type == '*') {
        if (out)
            out->type = JL_RESP_NULL;
        return JL_OK;
    }
    if (n < 0 || (unsigned long long)n > c->lim.max_args)
        return rfail(c, "Protocol error: invalid aggregate length in reply");
    if (depth >= JL_RESP_MAX_DEPTH)
        return rfail(c, "Protocol error: reply nested too deeply");
    size_t count = (size_t)n;
    if (type == '%' || type == '|')
        count *= 2;
    if (type == '|')
        count++;
    if (out) {
        out->type = (jl_resp_type_t)type;
        out->nelem = count;
        out->elems = count ? jl_calloc(count, sizeof *out->elems) : NULL;
    }
    for (size_t i = 0; i < count; i++) {
        rc = parse_value(c, pos, depth + 1, out ? &out->elems[i] : NULL);
        if (rc != JL_OK)
            return rc;
    }
    return JL_OK;
}

static int parse_value(rctx_t *c, size_t *pos, int depth, jl_resp_value_t *out)
{
    if (*pos >= c->len)
        return JL_AGAIN;
    int type = (unsigned char)c->buf[(*pos)++];
    switch (type) {
    case '+': case '-': case ':': case '_': case '#': case ',': case '(':
        return parse_line_value(c, type, pos, out);
    case '$': case '!': case '=':
        return parse_blob(c, type, pos, out);
    case '*': case '%': case '~': case '>': case '|':
        return parse_aggregate(c, type, pos, depth, out);
    default:
        return rfail(c, "Protocol error: invalid reply type");
    }
}

int jl_resp_parse_reply(const char *buf, size_t len, const jl_resp_limits_t *limits,
                        jl_resp_value_t *out, size_t *used, const char **err)
{
    rctx_t c = {buf, len, {0}, NULL};
    limits_fill(&c.lim, limits);
    memset(out, 0, sizeof *out);
    size_t pos = 0;
    int rc = parse_value(&c, &pos, 0, NULL);
    if (rc != JL_OK) {
        if (rc < 0 && err)
            *err = c.err;
        return rc;
    }
    size_t end = pos;
    pos = 0;
    rc = parse_value(&c, &pos, 0, out);
    assert(rc == JL_OK && pos == end); /* the checking pass accepted these very bytes */
    (void)rc;
    *used = end;
    return JL_OK;
}

void jl_resp_value_free(jl_resp_value_t *v)
{
    for (size_t i = 0; i < v->nelem; i++)
        jl_resp_value_free(&v->elems[i]);
    free(v->elems);
    v->elems = NULL;
    v->nelem = 0;
}
