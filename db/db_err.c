#include "db/db.h"

#include <string.h>

/* SQLSTATE classes and codes we treat specially; everything else is internal. See
 * https://www.postgresql.org/docs/15/errcodes-appendix.html */
static const struct {
    const char *state; /* a full code, or a two-character class followed by "*" */
    enum err_code code;
} sqlstate_map[] = {
    {"23505", ERR_CONFLICT},    /* unique_violation */
    {"23503", ERR_CONFLICT},    /* foreign_key_violation */
    {"23514", ERR_INVALID},     /* check_violation */
    {"23502", ERR_INVALID},     /* not_null_violation */
    {"22P02", ERR_INVALID},     /* invalid_text_representation (bad uuid, ...) */
    {"22001", ERR_INVALID},     /* string_data_right_truncation */
    {"22003", ERR_INVALID},     /* numeric_value_out_of_range */
    {"40001", ERR_UNAVAILABLE}, /* serialization_failure: retry */
    {"40P01", ERR_UNAVAILABLE}, /* deadlock_detected: retry */
    {"55P03", ERR_UNAVAILABLE}, /* lock_not_available */
    {"57014", ERR_UNAVAILABLE}, /* query_canceled (statement_timeout) */
    {"08*", ERR_UNAVAILABLE},   /* connection exceptions */
    {"53*", ERR_UNAVAILABLE},   /* insufficient resources (too many connections, disk full) */
    {"57P*", ERR_UNAVAILABLE},  /* admin/crash shutdown, cannot connect now */
    {"42501", ERR_INTERNAL},    /* insufficient_privilege: a bug in grants, never the client's */
};

enum err_code db_err_from_sqlstate(const char *sqlstate)
{
    if (sqlstate == NULL || strlen(sqlstate) != 5)
        return ERR_UNAVAILABLE; /* no SQLSTATE: the connection failed */
    for (size_t i = 0; i < sizeof sqlstate_map / sizeof sqlstate_map[0]; i++) {
        const char *s = sqlstate_map[i].state;
        size_t n = strlen(s);
        if (s[n - 1] == '*' ? strncmp(s, sqlstate, n - 1) == 0 : strcmp(s, sqlstate) == 0)
            return sqlstate_map[i].code;
    }
    return ERR_INTERNAL;
}
