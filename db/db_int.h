/* db_int - db/'s private helpers: prepared statements run inside a transaction. Not for use
 * outside db/. A statement is a static const struct beside the function that runs it; it is
 * prepared on each connection the first time that connection runs it. */
#ifndef PARAPET_DB_INT_H
#define PARAPET_DB_INT_H

#include "db/db.h"

#include <libpq-fe.h>

struct db_stmt {
    const char *name; /* unique, stable: the prepared statement name */
    const char *sql;
    int nparams;
};

/* Runs st with params (text format; NULL = SQL NULL) in tx. On success *res holds a result the
 * caller PQclear()s (res may be NULL to discard it). On failure the transaction is marked
 * failed and the error mapped from the SQLSTATE. */
enum err_code db_run(struct db_tx *tx, const struct db_stmt *st, const char *const *params,
                     PGresult **res, struct err *err);

/* Maps a failed result into err (logging the server message, not returning it). */
enum err_code db_result_error(PGconn *conn, PGresult *res, const char *what, struct err *err);

/* RFC 3339 UTC text of a timestamptz column, in SQL (NULL stays NULL). */
#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* Runs st; *affected (may be NULL) gets the number of rows it changed. */
enum err_code db_exec_count(struct db_tx *tx, const struct db_stmt *st, const char *const *params,
                            long long *affected, struct err *err);

/* Runs st, which changes at most one row; *found tells whether it did. */
enum err_code db_exec_found(struct db_tx *tx, const struct db_stmt *st, const char *const *params,
                            bool *found, struct err *err);

/* Runs st, which returns at most one row holding one JSON text, into *out (a new reference;
 * NULL when there is no row). */
enum err_code db_exec_json(struct db_tx *tx, const struct db_stmt *st, const char *const *params,
                           json_t **out, struct err *err);

/* Runs st with $1 = arg, which returns at most one row of one integer, into *out (0 when there
 * is no row or it is NULL). */
enum err_code db_exec_int(struct db_tx *tx, const struct db_stmt *st, unsigned arg,
                          long long *out, struct err *err);

/* Runs st with ($1 = limit + 1, $2 = cursor) for a keyset page: each row is (JSON text, cursor
 * value). *items is a new array of at most limit items; next gets the cursor of the last item
 * when a further page exists, else "". */
enum err_code db_list_json(struct db_tx *tx, const struct db_stmt *st, int limit,
                           const char *after, json_t **items, char *next, size_t nextlen,
                           struct err *err);

/* db_list_json() for statements that also take filters: $3.. = filters[0..nfilters) (NULL =
 * SQL NULL, "no filter"). */
#define DB_LIST_MAX_FILTERS 6
enum err_code db_list_json_filtered(struct db_tx *tx, const struct db_stmt *st, int limit,
                                    const char *after, const char *const *filters,
                                    size_t nfilters, json_t **items, char *next, size_t nextlen,
                                    struct err *err);

/* db_list_json_filtered() into JSON text: the rows' JSON is copied, not parsed. */
enum err_code db_list_text(struct db_tx *tx, const struct db_stmt *st, int limit,
                           const char *after, const char *const *filters, size_t nfilters,
                           char **json, size_t *len, char *next, size_t nextlen, struct err *err);

/* As db_list_json, with a third parameter ($3 = key, e.g. the parent's id) for st. */
enum err_code db_list_json_by(struct db_tx *tx, const struct db_stmt *st, int limit,
                              const char *after, const char *key, json_t **items, char *next,
                              size_t nextlen, struct err *err);

/* Migrations embedded at build time from migrations/NNNN_name.sql (scripts/embed.sh), in
 * ascending version order. */
struct db_migration {
    int version;
    const char *name;
    const char *sql;
};
extern const struct db_migration db_migrations[];
extern const unsigned db_migrations_count;

#endif
