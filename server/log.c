/* log.c -- levelled logging to stderr, which --log-file replaces (see log.h). */
#include "server/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

jl_log_conf_t jl_log_conf = {.level = JL_LOG_INFO, .format = JL_LOG_TEXT};

/* The longest line, its '\n' included, in either format. */
enum { LINE_CAP = 1024 };

static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
static const char *const level_words[] = {"debug", "info", "warn", "error"};

int jl_log_parse_level(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, level_words[i]) == 0)
            return i;
    return -1;
}

int jl_log_parse_format(const char *s)
{
    if (strcmp(s, "text") == 0)
        return JL_LOG_TEXT;
    if (strcmp(s, "json") == 0)
        return JL_LOG_JSON;
    return -1;
}

/* The length of the well-formed UTF-8 sequence (RFC 3629: no overlong
 * form, no surrogate, nothing past U+10FFFF) that s[0..n) starts with; 0
 * if it does not start with one. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) ||
        (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
        return 0;
    return len;
}

size_t jl_log_json_escape(char *dst, size_t cap, const char *src, size_t len, size_t *used)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)src;
    size_t i = 0, o = 0;
    while (i < len) {
        char esc[6];
        const char *out = esc;
        size_t in = 1, n;
        unsigned c = s[i];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            n = 2;
        } else if (c < 0x20 || c == 0x7f) {
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 0xf];
            n = 6;
        } else if ((in = utf8_len(s + i, len - i)) == 0) {
            out = "\\ufffd";
            in = 1;
            n = 6;
        } else {
            out = src + i;
            n = in;
        }
        if (n > cap - o)
            break;
        memcpy(dst + o, out, n);
        o += n;
        i += in;
    }
    if (used)
        *used = i;
    return o;
}

/* "<time> <pid> <LEVEL> <message>\n", cut to fit. */
__attribute__((format(printf, 5, 0)))
static size_t text_line(char *line, const char *stamp, long ms, jl_log_level_t level,
                        const char *fmt, va_list ap)
{
    int n = snprintf(line, LINE_CAP, "%s.%03ldZ %d %s ", stamp, ms, (int)getpid(),
                     level_names[level]);
    if (n > 0 && (size_t)n < LINE_CAP)
        vsnprintf(line + n, LINE_CAP - (size_t)n, fmt, ap);
    size_t len = strnlen(line, LINE_CAP - 2);
    line[len] = '\n';
    line[len + 1] = '\0';
    return len + 1;
}

/* {"time":...,"pid":...,"level":...,"msg":"..."}\n: the message is what is
 * cut when the line would not fit, never the '"}' after it. */
__attribute__((format(printf, 5, 0)))
static size_t json_line(char *line, const char *stamp, long ms, jl_log_level_t level,
                        const char *fmt, va_list ap)
{
    static const char tail[] = "\"}\n";
    char msg[LINE_CAP];
    int m = vsnprintf(msg, sizeof msg, fmt, ap);
    size_t mlen = m < 0 ? 0 : (size_t)m < sizeof msg ? (size_t)m : sizeof msg - 1;
    int n = snprintf(line, LINE_CAP, "{\"time\":\"%s.%03ldZ\",\"pid\":%d,\"level\":\"%s\",\"msg\":\"",
                     stamp, ms, (int)getpid(), level_words[level]);
    /* The head is under 100 bytes: only a broken libc gets here. */
    if (n < 0 || (size_t)n + sizeof tail > LINE_CAP)
        return 0;
    size_t len = (size_t)n;
    len += jl_log_json_escape(line + len, LINE_CAP - len - (sizeof tail - 1), msg, mlen, NULL);
    memcpy(line + len, tail, sizeof tail - 1);
    return len + sizeof tail - 1;
}

void jl_log(jl_log_level_t level, const char *fmt, ...)
{
    if (level < jl_log_conf.level)
        return;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    long ms = (long)(tv.tv_usec / 1000);

    char line[LINE_CAP];
    va_list ap;
    va_start(ap, fmt);
    size_t len = jl_log_conf.format == JL_LOG_JSON ? json_line(line, stamp, ms, level, fmt, ap)
                                                   : text_line(line, stamp, ms, level, fmt, ap);
    va_end(ap);
    /* One write per line (O_APPEND) so processes sharing the file do not
     * interleave; a short write to a full disk is dropped, not retried. */
    if (len > 0) {
        ssize_t w = write(STDERR_FILENO, line, len);
        (void)w;
    }
}

/* The file takes stderr's place (dup2), so the log needs no state of its
 * own beyond its settings, and whatever else writes to stderr (a sanitizer
 * report, a library's warning) lands in the same file. */
int jl_log_open(const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
        return -1;
    int rc = dup2(fd, STDERR_FILENO) < 0 ? -1 : 0;
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

int jl_log_reopen(const char *path)
{
    if (path == NULL)
        return 0;
    if (jl_log_open(path) == 0)
        return 0;
    int saved = errno;
    jl_log(JL_LOG_WARN, "log file %s: cannot reopen it: %s; writing to the old one", path,
           strerror(saved));
    errno = saved;
    return -1;
}
