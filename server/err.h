/* err - the program's one error vocabulary. A failing function returns an enum err_code and
 * fills a caller-owned struct err whose detail (and optional field) are safe to show a client:
 * never SQL text, libpq messages or secrets (those go to the log). err_set() returns the code so
 * a failure is one line: `return err_set(err, ERR_INVALID, "bad %s", x);`. Thread-safe: no
 * shared state. */
#ifndef PARAPET_ERR_H
#define PARAPET_ERR_H

#include <stddef.h>

enum err_code {
    ERR_OK = 0,
    ERR_NOMEM,
    ERR_INVALID,          /* 400: malformed or invalid input */
    ERR_UNAUTHENTICATED,  /* 401 */
    ERR_FORBIDDEN,        /* 403 */
    ERR_NOT_FOUND,        /* 404 */
    ERR_METHOD,           /* 405: path exists, method does not */
    ERR_CONFLICT,         /* 409 */
    ERR_TOO_LARGE,        /* 413 */
    ERR_MEDIA_TYPE,       /* 415 */
    ERR_UNPROCESSABLE,    /* 422 */
    ERR_RATE_LIMITED,     /* 429 */
    ERR_UNAVAILABLE,      /* 503: a dependency (the database) is down; retry */
    ERR_UPSTREAM,         /* 502: an outside service answered badly */
    ERR_INTERNAL,         /* 500: a bug or an unexpected failure */
    ERR__COUNT
};

struct err {
    enum err_code code;
    char field[96];   /* the offending input field ("" when none), safe to show */
    char detail[256]; /* human-readable, safe to show */
};

/* Sets code and a formatted detail, clears field; returns code. err may be NULL. */
enum err_code err_set(struct err *e, enum err_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* As err_set, and names the offending field (a JSON pointer-ish path such as "regions[2]"). */
enum err_code err_set_field(struct err *e, enum err_code code, const char *field, const char *fmt,
                            ...) __attribute__((format(printf, 4, 5)));

/* Resets e to ERR_OK with empty strings. */
void err_clear(struct err *e);

/* A stable lower-case name for a code ("invalid", "not_found"), for logs. Never NULL. */
const char *err_name(enum err_code code);

#endif
