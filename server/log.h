/* log.h -- one line per event worth a human's attention.
 *
 * Format: "<UTC ISO-8601 time> <pid> <LEVEL> <message>" on stderr, so that
 * systemd, docker and the tests (which read "RESP listening on ...") all see
 * the same thing. Messages below the configured level cost one comparison. */
#ifndef JL_LOG_H
#define JL_LOG_H

typedef enum { JL_LOG_DEBUG, JL_LOG_INFO, JL_LOG_WARN, JL_LOG_ERROR } jl_log_level_t;

extern jl_log_level_t jl_log_level;

/* Parses "debug", "info", "warn", "error"; returns -1 if unknown. */
int jl_log_parse_level(const char *s);
/* Sends the lines (and anything else written to stderr) to PATH, appended,
 * created 0640: the file replaces fd 2. Returns -1 with errno set and keeps
 * the old destination if it cannot. */
int jl_log_open(const char *path);
/* Opens PATH again (after logrotate renamed it); on failure logs a warning
 * to the old file and returns -1. A NULL path: does nothing. */
int jl_log_reopen(const char *path);
void jl_log(jl_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define jl_log_debug(...) do { if (jl_log_level <= JL_LOG_DEBUG) jl_log(JL_LOG_DEBUG, __VA_ARGS__); } while (0)
#define jl_log_info(...) jl_log(JL_LOG_INFO, __VA_ARGS__)
#define jl_log_warn(...) jl_log(JL_LOG_WARN, __VA_ARGS__)
#define jl_log_error(...) jl_log(JL_LOG_ERROR, __VA_ARGS__)

#endif
