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

jl_log_level_t jl_log_level = JL_LOG_INFO;

static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

int jl_log_parse_level(const char *s)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

void jl_log(jl_log_level_t level, const char *fmt, ...)
{
    if (level < jl_log_level)
        return;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);

    char line[1024];
    int n = snprintf(line, sizeof line, "%s.%03ldZ %d %s ", stamp, (long)(tv.tv_usec / 1000),
                     (int)getpid(), level_names[level]);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof line)
        vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    /* One fputs per line so concurrent processes' lines do not interleave. */
    size_t len = strnlen(line, sizeof line - 2);
    line[len] = '\n';
    line[len + 1] = '\0';
    /* One write per line (O_APPEND) so processes sharing the file do not
     * interleave; a short write to a full disk is dropped, not retried. */
    ssize_t w = write(STDERR_FILENO, line, len + 1);
    (void)w;
}

/* The file takes stderr's place (dup2), so the log needs no state of its
 * own beyond the level, and whatever else writes to stderr (a sanitizer
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
