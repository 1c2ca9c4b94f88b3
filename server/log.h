/* log.h -- one line per event worth a human's attention.
 *
 * Format (--log-format text, the default): "<UTC ISO-8601 time> <pid>
 * <LEVEL> <message>" on stderr, so that systemd, docker and the tests (which
 * read "RESP listening on ...") all see the same thing. With --log-format
 * json each line is one JSON object instead, for a log shipper:
 *   {"time":"2026-12-03T11:29:35.123Z","pid":123,"level":"info","msg":"..."}
 * keys always in that order, the message escaped (a byte that is not UTF-8
 * becomes U+FFFD) and, when it is too long, cut before the closing '"}' so
 * that the line still parses. Messages below the configured level cost one
 * comparison. */
#ifndef JL_LOG_H
#define JL_LOG_H

#include <stddef.h>

typedef enum { JL_LOG_DEBUG, JL_LOG_INFO, JL_LOG_WARN, JL_LOG_ERROR } jl_log_level_t;
typedef enum { JL_LOG_TEXT, JL_LOG_JSON } jl_log_format_t;

/* The log's settings: the level and the format are all it has, and both
 * change on SIGHUP (main.c copies them from the configuration), so they
 * are one struct -- the only mutable global the style allows (see
 * scripts/check-state.sh) -- rather than two globals or a handle passed
 * to every caller. */
typedef struct {
    jl_log_level_t level;       /* lines below it are not written */
    jl_log_format_t format;
} jl_log_conf_t;

extern jl_log_conf_t jl_log_conf;

/* Parses "debug", "info", "warn", "error"; returns -1 if unknown. */
int jl_log_parse_level(const char *s);
/* Parses "text", "json"; returns -1 if unknown. */
int jl_log_parse_format(const char *s);
/* Sends the lines (and anything else written to stderr) to PATH, appended,
 * created 0640: the file replaces fd 2. Returns -1 with errno set and keeps
 * the old destination if it cannot. */
int jl_log_open(const char *path);
/* Opens PATH again (after logrotate renamed it); on failure logs a warning
 * to the old file and returns -1. A NULL path: does nothing. */
int jl_log_reopen(const char *path);
void jl_log(jl_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes src[0..len) into dst[0..cap) as the inside of a JSON string (no
 * quotes, no NUL): '"' and '\' escaped, control characters (and DEL) as
 * \u00XX, each byte that does not belong to well-formed UTF-8 as \ufffd.
 * Stops before the first character whose escape or UTF-8 sequence would not
 * fit whole, so what was written is always valid. Returns the bytes
 * written; *used (unless NULL) gets how many bytes of src they stand for. */
size_t jl_log_json_escape(char *dst, size_t cap, const char *src, size_t len, size_t *used);

#define jl_log_debug(...) do { if (jl_log_conf.level <= JL_LOG_DEBUG) jl_log(JL_LOG_DEBUG, __VA_ARGS__); } while (0)
#define jl_log_info(...) jl_log(JL_LOG_INFO, __VA_ARGS__)
#define jl_log_warn(...) jl_log(JL_LOG_WARN, __VA_ARGS__)
#define jl_log_error(...) jl_log(JL_LOG_ERROR, __VA_ARGS__)

#endif
