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
