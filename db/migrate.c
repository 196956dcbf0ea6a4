#include "db/db_int.h"

#include "server/log.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Any fixed number: all instances take the same session-level advisory lock to migrate. */
#define MIGRATE_LOCK_KEY "7320113317"

static const char create_table_sql[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version integer PRIMARY KEY,"
    " name text NOT NULL,"
    " checksum text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now())";

int db_migrations_latest(void)
{
    return db_migrations_count ? db_migrations[db_migrations_count - 1].version : 0;
}

static void checksum(const char *sql, char out[65])
{
    unsigned char md[32];
    unsigned int n = 0;

    EVP_Digest(sql, strlen(sql), md, &n, EVP_sha256(), NULL);
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static enum err_code exec_ok(PGconn *conn, const char *sql, const char *what, struct err *err)
{
    PGresult *r = PQexec(conn, sql);
    ExecStatusType s = PQresultStatus(r);
    enum err_code rc = ERR_OK;

    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
        rc = db_result_error(conn, r, what, err);
    PQclear(r);
    return rc;
}

static enum err_code apply_one(PGconn *conn, const struct db_migration *m, const char *sum,
                               struct err *err)
{
    enum err_code rc;
    char version[16];
    const char *params[3] = {version, m->name, sum};
    PGresult *r;

    snprintf(version, sizeof version, "%d", m->version);
    rc = exec_ok(conn, "BEGIN", "BEGIN", err);
    if (rc != ERR_OK)
        return rc;
    rc = exec_ok(conn, m->sql, m->name, err);
    if (rc == ERR_OK) {
        r = PQexecParams(conn,
                         "INSERT INTO schema_migrations (version, name, checksum) "
                         "VALUES ($1::integer, $2, $3)",
                         3, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            rc = db_result_error(conn, r, "record migration", err);
        PQclear(r);
    }
    if (rc == ERR_OK)
        rc = exec_ok(conn, "COMMIT", "COMMIT", err);
    if (rc != ERR_OK) {
        PQclear(PQexec(conn, "ROLLBACK"));
        log_event(LOG_ERROR, NULL, "db.migration_failed", "{s:i, s:s}", "version", m->version,
                  "name", m->name);
        return err_set(err, rc, "migration %s failed", m->name);
    }
    log_event(LOG_INFO, NULL, "db.migrated", "{s:i, s:s}", "version", m->version, "name",
              m->name);
    return ERR_OK;
}

static enum err_code migrate_locked(PGconn *conn, unsigned *applied, struct err *err)
{
    enum err_code rc;
    PGresult *r = NULL;
    int rows;

    rc = exec_ok(conn, create_table_sql, "create schema_migrations", err);
    if (rc != ERR_OK)
        return rc;
    r = PQexec(conn, "SELECT version, checksum FROM schema_migrations ORDER BY version");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        rc = db_result_error(conn, r, "read schema_migrations", err);
        PQclear(r);
        return rc;
    }
    rows = PQntuples(r);
    for (unsigned i = 0; i < db_migrations_count; i++) {
        const struct db_migration *m = &db_migrations[i];
        char sum[65];
        bool done = false;

        checksum(m->sql, sum);
        for (int j = 0; j < rows; j++) {
            if (strtol(PQgetvalue(r, j, 0), NULL, 10) != m->version)
                continue;
            done = true;
            if (strcmp(PQgetvalue(r, j, 1), sum) != 0) {
                PQclear(r);
                log_event(LOG_ERROR, NULL, "db.migration_changed", "{s:s}", "name", m->name);
                return err_set(err, ERR_INTERNAL,
                               "migration %s was changed after it was applied", m->name);
            }
        }
        if (done)
            continue;
        rc = apply_one(conn, m, sum, err);
        if (rc != ERR_OK)
            break;
        if (applied != NULL)
            (*applied)++;
    }
    PQclear(r);
    return rc;
}

enum err_code db_migrate(const char *owner_url, unsigned *applied, struct err *err)
{
    static const char *const keys[] = {"dbname", "connect_timeout", "application_name", NULL};
    const char *vals[] = {owner_url, "5", "parapet-migrate", NULL};
    PGconn *conn;
    enum err_code rc;

    if (applied != NULL)
        *applied = 0;
    conn = PQconnectdbParams(keys, vals, 1);
    if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
        log_event(LOG_ERROR, NULL, "db.connect_failed", "{s:s}", "message",
                  conn ? PQerrorMessage(conn) : "out of memory");
        PQfinish(conn);
        return err_set(err, ERR_UNAVAILABLE, "cannot connect to the database to migrate");
    }
    PQclear(PQexec(conn, "SET client_min_messages = warning"));
    rc = exec_ok(conn, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", "advisory lock", err);
    if (rc == ERR_OK) {
        rc = migrate_locked(conn, applied, err);
        PQclear(PQexec(conn, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")"));
    }
    PQfinish(conn);
    return rc;
}

enum err_code db_migrations_pending(struct db_pool *pool, unsigned *pending, struct err *err)
{
    static const struct db_stmt exists = {
        "migrations_table", "SELECT to_regclass('public.schema_migrations') IS NOT NULL", 0};
    static const struct db_stmt latest = {
        "migrations_applied", "SELECT count(*) FROM schema_migrations WHERE version <= $1::int",
        1};
    struct db_tx *tx = NULL;
    PGresult *r = NULL;
    enum err_code rc;
    char ver[16];
    const char *params[1] = {ver};
    long applied = 0;

    *pending = db_migrations_count;
    rc = db_tx_system(pool, &tx, err);
    if (rc != ERR_OK)
        return rc;
    rc = db_run(tx, &exists, NULL, &r, err);
    if (rc != ERR_OK)
        goto out;
    if (strcmp(PQgetvalue(r, 0, 0), "t") != 0)
        goto out;
    PQclear(r);
    r = NULL;
    snprintf(ver, sizeof ver, "%d", db_migrations_latest());
    rc = db_run(tx, &latest, params, &r, err);
    if (rc != ERR_OK)
        goto out;
    applied = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    *pending = applied >= (long)db_migrations_count ? 0 : db_migrations_count - (unsigned)applied;
out:
    PQclear(r);
    db_tx_rollback(tx);
    return rc;
}
