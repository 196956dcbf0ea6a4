#include "server/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const names[ERR__COUNT] = {
    [ERR_OK] = "ok",
    [ERR_NOMEM] = "nomem",
    [ERR_INVALID] = "invalid",
    [ERR_UNAUTHENTICATED] = "unauthenticated",
    [ERR_FORBIDDEN] = "forbidden",
    [ERR_NOT_FOUND] = "not_found",
    [ERR_METHOD] = "method_not_allowed",
    [ERR_CONFLICT] = "conflict",
    [ERR_TOO_LARGE] = "too_large",
    [ERR_MEDIA_TYPE] = "unsupported_media_type",
    [ERR_UNPROCESSABLE] = "unprocessable",
    [ERR_RATE_LIMITED] = "rate_limited",
    [ERR_UNAVAILABLE] = "unavailable",
    [ERR_UPSTREAM] = "upstream",
    [ERR_INTERNAL] = "internal",
};

static void vset(struct err *e, enum err_code code, const char *field, const char *fmt,
                 va_list ap)
{
    e->code = code;
    if (field == NULL)
        e->field[0] = '\0';
    else
        snprintf(e->field, sizeof e->field, "%s", field);
    vsnprintf(e->detail, sizeof e->detail, fmt, ap);
}

enum err_code err_set(struct err *e, enum err_code code, const char *fmt, ...)
{
    va_list ap;

    if (e == NULL)
        return code;
    va_start(ap, fmt);
    vset(e, code, NULL, fmt, ap);
    va_end(ap);
    return code;
}

enum err_code err_set_field(struct err *e, enum err_code code, const char *field, const char *fmt,
                            ...)
{
    va_list ap;

    if (e == NULL)
        return code;
    va_start(ap, fmt);
    vset(e, code, field, fmt, ap);
    va_end(ap);
    return code;
}

void err_clear(struct err *e)
{
    if (e == NULL)
        return;
    memset(e, 0, sizeof *e);
}

const char *err_name(enum err_code code)
{
    if ((unsigned)code >= ERR__COUNT || names[code] == NULL)
        return "unknown";
    return names[code];
}
