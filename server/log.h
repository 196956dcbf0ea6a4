/* log - one JSON object per line on stdout, each written with a single write(2) so lines from
 * many threads never interleave. Fields: ts, level, event, request_id (when given), then the
 * event's own fields. Event names are stable and dotted ("http.request"). Never pass secrets,
 * tokens, webhook URLs or request bodies. Thread-safe; the level is set once at start-up. */
#ifndef PARAPET_LOG_H
#define PARAPET_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Sets the minimum level written. Call before starting threads. */
void log_set_level(enum log_level level);

/* Parses "debug|info|warn|error"; returns false for anything else. */
bool log_level_parse(const char *s, enum log_level *out);

bool log_is_enabled(enum log_level level);

/* Binds the calling thread's current request id (NULL to clear): log_event() uses it when its
 * request_id argument is NULL, so code far from the request (db/) still logs it. */
void log_bind_request(const char *request_id);

/* Writes one line. fields is a jansson json_pack format for an object ("{s:s, s:i}") or NULL;
 * request_id may be NULL. A pack error is logged as such rather than lost. */
void log_event(enum log_level level, const char *request_id, const char *event,
               const char *fields, ...);

/* Writes buf (one complete line, ending in '\n') with a single write. */
void log_write_line(const char *buf, size_t len);

/* Appends s as a JSON string body (no quotes) to dst[*pos..cap), escaping as JSON requires and
 * truncating at the capacity; returns false when truncated. */
bool log_json_escape(char *dst, size_t cap, size_t *pos, const char *s);

/* Writes "YYYY-MM-DDTHH:MM:SS.mmmZ" (24 bytes + NUL) for the current time into out[32]. */
void log_timestamp(char out[32]);

const char *log_level_name(enum log_level level);

#endif
