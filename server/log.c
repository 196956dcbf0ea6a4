#include "server/log.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int min_level = LOG_INFO;

static _Thread_local const char *bound_request_id;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level level)
{
    atomic_store(&min_level, (int)level);
}

bool log_level_parse(const char *s, enum log_level *out)
{
    for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return true;
        }
    }
    return false;
}

bool log_is_enabled(enum log_level level)
{
    return (int)level >= atomic_load(&min_level);
}

const char *log_level_name(enum log_level level)
{
    if ((unsigned)level > LOG_ERROR)
        return "error";
    return level_names[level];
}

void log_bind_request(const char *request_id)
{
    bound_request_id = request_id;
}

void log_timestamp(char out[32])
{
    struct timespec ts;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    /* strftime bounds each field, so the 24 characters always fit. */
    strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + 19, 32 - 19, ".%03dZ", (int)(ts.tv_nsec / 1000000L) % 1000);
}

void log_write_line(const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(STDOUT_FILENO, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return; /* nowhere left to report a failing stdout */
        }
        buf += n;
        len -= (size_t)n;
    }
}

bool log_json_escape(char *dst, size_t cap, size_t *pos, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t p = *pos;
    const unsigned char *c;

    for (c = (const unsigned char *)s; *c != '\0'; c++) {
        char esc = 0;
        switch (*c) {
        case '"': esc = '"'; break;
        case '\\': esc = '\\'; break;
        case '\n': esc = 'n'; break;
        case '\r': esc = 'r'; break;
        case '\t': esc = 't'; break;
        default: break;
        }
        if (esc != 0) {
            if (p + 2 > cap)
                goto truncated;
            dst[p++] = '\\';
            dst[p++] = esc;
        } else if (*c < 0x20 || *c == 0x7f) {
            if (p + 6 > cap)
                goto truncated;
            dst[p++] = '\\';
            dst[p++] = 'u';
            dst[p++] = '0';
            dst[p++] = '0';
            dst[p++] = hex[*c >> 4];
            dst[p++] = hex[*c & 0xf];
        } else {
            if (p + 1 > cap)
                goto truncated;
            dst[p++] = (char)*c;
        }
    }
    *pos = p;
    return true;
truncated:
    /* Cut inside a UTF-8 character (the next byte continues it): drop its first bytes too. */
    if ((*c & 0xC0) == 0x80) {
        while (p > *pos && ((unsigned char)dst[p - 1] & 0xC0) == 0x80)
            p--;
        if (p > *pos && ((unsigned char)dst[p - 1] & 0xC0) == 0xC0)
            p--;
    }
    *pos = p;
    return false;
}

void log_event(enum log_level level, const char *request_id, const char *event,
               const char *fields, ...)
{
    char ts[32];
    json_t *line = NULL;
    json_t *extra = NULL;
    json_error_t jerr;
    char *text = NULL;
    va_list ap;

    if (!log_is_enabled(level))
        return;
    log_timestamp(ts);
    line = json_object();
    if (line == NULL)
        return;
    json_object_set_new(line, "ts", json_string(ts));
    json_object_set_new(line, "level", json_string(log_level_name(level)));
    json_object_set_new(line, "event", json_string(event));
    if (request_id == NULL)
        request_id = bound_request_id;
    if (request_id != NULL && request_id[0] != '\0')
        json_object_set_new(line, "request_id", json_string(request_id));
    if (fields != NULL) {
        va_start(ap, fields);
        extra = json_vpack_ex(&jerr, 0, fields, ap);
        va_end(ap);
        if (extra == NULL)
            json_object_set_new(line, "log_error", json_string(jerr.text));
        else
            json_object_update(line, extra);
    }
    text = json_dumps(line, JSON_PRESERVE_ORDER | JSON_COMPACT | JSON_ENSURE_ASCII);
    if (text != NULL) {
        size_t n = strlen(text);
        char *withnl = realloc(text, n + 2);
        if (withnl != NULL) {
            text = withnl;
            text[n] = '\n';
            text[n + 1] = '\0';
            log_write_line(text, n + 1);
        }
    }
    free(text);
    json_decref(extra);
    json_decref(line);
}
