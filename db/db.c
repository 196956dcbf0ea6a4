#include "db/db_int.h"

#include "server/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DB_MAX_PREPARED 128
#define DB_ACQUIRE_TIMEOUT_MS 5000
#define DB_RECONNECT_BACKOFF_MS 250

struct db_conn;

struct db_tx {
    struct db_pool *pool;
    struct db_conn *c;
    bool failed;
};

struct db_conn {
    PGconn *conn;
    const struct db_stmt *prepared[DB_MAX_PREPARED];
    unsigned nprepared;
    long long last_fail_ms; /* monotonic time of the last failed connect, 0 = none */
    bool in_use;
    struct db_tx tx; /* one transaction per connection at a time: no allocation per request */
};

struct db_pool {
    char *url;
    unsigned size;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned in_use;
    unsigned long long waits, timeouts;
    struct db_conn *conns;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct db_pool *db_pool_new(const char *url, unsigned size)
{
    struct db_pool *p = calloc(1, sizeof *p);
    pthread_condattr_t ca;

    if (p == NULL)
        return NULL;
    p->url = strdup(url);
    p->size = size;
    p->conns = calloc(size, sizeof *p->conns);
    if (p->url == NULL || p->conns == NULL) {
        free(p->url);
        free(p->conns);
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
    return p;
}

void db_pool_free(struct db_pool *p)
{
    if (p == NULL)
        return;
    for (unsigned i = 0; i < p->size; i++)
        PQfinish(p->conns[i].conn);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p->conns);
    free(p->url);
    free(p);
}

void db_pool_stats(struct db_pool *p, struct db_pool_stats *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&p->mu);
    out->size = p->size;
    out->in_use = p->in_use;
    for (unsigned i = 0; i < p->size; i++) {
        if (!p->conns[i].in_use && p->conns[i].conn != NULL &&
            PQstatus(p->conns[i].conn) == CONNECTION_OK)
            out->idle++;
    }
    out->waits = p->waits;
    out->timeouts = p->timeouts;
    pthread_mutex_unlock(&p->mu);
}

static void conn_drop(struct db_conn *c)
{
    PQfinish(c->conn);
    c->conn = NULL;
    c->nprepared = 0;
}

/* Connects c if it has no healthy connection. Runs without the pool lock (the slot is ours). */
static enum err_code conn_ensure(struct db_pool *p, struct db_conn *c, struct err *err)
{
    static const char *const keys[] = {"dbname", "connect_timeout", "application_name",
                                       "options", NULL};
    static const char *const vals[] = {
        NULL, "3", "parapet",
        "-c statement_timeout=30000 -c idle_in_transaction_session_timeout=60000 "
        "-c lock_timeout=10000",
        NULL};
    const char *v[5];
    long long t;

    if (c->conn != NULL && PQstatus(c->conn) == CONNECTION_OK)
        return ERR_OK;
    conn_drop(c);
    t = now_ms();
    if (c->last_fail_ms != 0 && t - c->last_fail_ms < DB_RECONNECT_BACKOFF_MS)
        return err_set(err, ERR_UNAVAILABLE, "database unavailable");
    memcpy(v, vals, sizeof v);
    v[0] = p->url;
    c->conn = PQconnectdbParams(keys, v, 1);
    if (c->conn == NULL || PQstatus(c->conn) != CONNECTION_OK) {
        /* PQerrorMessage names host and port, never the password. */
        log_event(LOG_WARN, NULL, "db.connect_failed", "{s:s}", "message",
                  c->conn ? PQerrorMessage(c->conn) : "out of memory");
        conn_drop(c);
        c->last_fail_ms = t;
        return err_set(err, ERR_UNAVAILABLE, "database unavailable");
    }
    c->last_fail_ms = 0;
    return ERR_OK;
}

static enum err_code acquire(struct db_pool *p, struct db_conn **out, struct err *err)
{
    struct timespec deadline;
    struct db_conn *c = NULL;
    bool waited = false;

    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += DB_ACQUIRE_TIMEOUT_MS / 1000;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        /* Prefer a connected slot so a cold one is only opened when needed. */
        for (unsigned i = 0; i < p->size && c == NULL; i++)
            if (!p->conns[i].in_use && p->conns[i].conn != NULL)
                c = &p->conns[i];
        for (unsigned i = 0; i < p->size && c == NULL; i++)
            if (!p->conns[i].in_use)
                c = &p->conns[i];
        if (c != NULL)
            break;
        if (!waited) {
            p->waits++;
            waited = true;
        }
        if (pthread_cond_timedwait(&p->cv, &p->mu, &deadline) == ETIMEDOUT) {
            p->timeouts++;
            pthread_mutex_unlock(&p->mu);
            return err_set(err, ERR_UNAVAILABLE, "database busy");
        }
    }
    c->in_use = true;
    p->in_use++;
    pthread_mutex_unlock(&p->mu);
    *out = c;
    return ERR_OK;
}

static void release(struct db_pool *p, struct db_conn *c, bool broken)
{
    if (broken || (c->conn != NULL && PQstatus(c->conn) != CONNECTION_OK))
        conn_drop(c);
    pthread_mutex_lock(&p->mu);
    c->in_use = false;
    p->in_use--;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

enum err_code db_result_error(PGconn *conn, PGresult *res, const char *what, struct err *err)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    enum err_code code;

    if (msg == NULL)
        msg = PQerrorMessage(conn);
    if (PQstatus(conn) != CONNECTION_OK)
        code = ERR_UNAVAILABLE;
    else
        code = db_err_from_sqlstate(state);
    /* The primary message names constraints and types, not row values (DETAIL would). */
    log_event(code == ERR_UNAVAILABLE ? LOG_WARN : LOG_ERROR, NULL, "db.error",
              "{s:s, s:s, s:s}", "statement", what, "sqlstate", state ? state : "",
              "message", msg);
    switch (code) {
    case ERR_CONFLICT:
        return err_set(err, code, "conflicts with an existing resource");
    case ERR_INVALID:
        return err_set(err, code, "a value is out of range or malformed");
    case ERR_UNAVAILABLE:
        return err_set(err, code, "database unavailable");
    default:
        return err_set(err, ERR_INTERNAL, "internal error");
    }
}

static enum err_code simple(struct db_tx *tx, const char *sql, struct err *err)
{
    PGresult *r = PQexec(tx->c->conn, sql);
    enum err_code rc = ERR_OK;

    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        rc = db_result_error(tx->c->conn, r, sql, err);
        tx->failed = true;
    }
    PQclear(r);
    return rc;
}

static bool is_prepared(const struct db_conn *c, const struct db_stmt *st)
{
    for (unsigned i = 0; i < c->nprepared; i++)
        if (c->prepared[i] == st)
            return true;
    return false;
}

enum err_code db_run(struct db_tx *tx, const struct db_stmt *st, const char *const *params,
                     PGresult **res, struct err *err)
{
    PGconn *conn = tx->c->conn;
    PGresult *r;
    ExecStatusType s;

    if (res != NULL)
        *res = NULL;
    if (tx->failed)
        return err_set(err, ERR_INTERNAL, "internal error");
    if (!is_prepared(tx->c, st)) {
        r = PQprepare(conn, st->name, st->sql, st->nparams, NULL);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            enum err_code rc = db_result_error(conn, r, st->name, err);
            PQclear(r);
            tx->failed = true;
            return rc;
        }
        PQclear(r);
        if (tx->c->nprepared < DB_MAX_PREPARED)
            tx->c->prepared[tx->c->nprepared++] = st;
        else
            log_event(LOG_WARN, NULL, "db.prepared_cache_full", "{s:s}", "statement", st->name);
    }
    r = PQexecPrepared(conn, st->name, st->nparams, params, NULL, NULL, 0);
    s = PQresultStatus(r);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
        enum err_code rc = db_result_error(conn, r, st->name, err);
        PQclear(r);
        tx->failed = true;
        return rc;
    }
    if (res != NULL)
        *res = r;
    else
        PQclear(r);
    return ERR_OK;
}

static bool is_uuid(const char *s)
{
    static const char pattern[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
    for (size_t i = 0; i < sizeof pattern - 1; i++) {
        char ch = s[i];
        if (pattern[i] == '-') {
            if (ch != '-')
                return false;
        } else if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
                     (ch >= 'A' && ch <= 'F'))) {
            return false;
        }
    }
    return s[sizeof pattern - 1] == '\0';
}

static const struct db_stmt set_tenant = {
    "tx_set_tenant", "SELECT set_config('app.tenant_id', $1, true)", 1};

static enum err_code begin(struct db_pool *p, const char *tenant_id, struct db_tx **out,
                           struct err *err)
{
    struct db_conn *c = NULL;
    enum err_code rc;

    *out = NULL;
    if (tenant_id != NULL && !is_uuid(tenant_id))
        return err_set(err, ERR_INTERNAL, "internal error"); /* callers validate ids first */
    rc = acquire(p, &c, err);
    if (rc != ERR_OK)
        return rc;
    /* A connection that went bad while idle (server restart) shows it only on use: retry BEGIN
     * once on a fresh connection, which is safe because nothing has happened yet. */
    for (int attempt = 0; attempt < 2; attempt++) {
        rc = conn_ensure(p, c, err);
        if (rc != ERR_OK)
            break;
        c->tx = (struct db_tx){.pool = p, .c = c, .failed = false};
        rc = simple(&c->tx, "BEGIN", err);
        if (rc == ERR_OK || PQstatus(c->conn) == CONNECTION_OK)
            break;
        conn_drop(c);
    }
    if (rc == ERR_OK && tenant_id != NULL) {
        const char *params[1] = {tenant_id};
        rc = db_run(&c->tx, &set_tenant, params, NULL, err);
    }
    if (rc != ERR_OK) {
        if (c->conn != NULL && PQstatus(c->conn) == CONNECTION_OK) {
            PGresult *r = PQexec(c->conn, "ROLLBACK");
            PQclear(r);
        }
        release(p, c, false);
        return rc;
    }
    *out = &c->tx;
    return ERR_OK;
}

enum err_code db_tx_tenant(struct db_pool *p, const char *tenant_id, struct db_tx **out,
                           struct err *err)
{
    return begin(p, tenant_id, out, err);
}

enum err_code db_tx_system(struct db_pool *p, struct db_tx **out, struct err *err)
{
    return begin(p, NULL, out, err);
}

enum err_code db_tx_commit(struct db_tx *tx, struct err *err)
{
    enum err_code rc = ERR_OK;
    PGresult *r;

    if (tx->failed) {
        db_tx_rollback(tx);
        return err_set(err, ERR_INTERNAL, "internal error");
    }
    r = PQexec(tx->c->conn, "COMMIT");
    /* COMMIT of an aborted transaction succeeds with the tag ROLLBACK: that is a failure. */
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        rc = db_result_error(tx->c->conn, r, "COMMIT", err);
    else if (strcmp(PQcmdStatus(r), "COMMIT") != 0)
        rc = err_set(err, ERR_INTERNAL, "internal error");
    PQclear(r);
    release(tx->pool, tx->c, false);
    return rc;
}

void db_tx_rollback(struct db_tx *tx)
{
    bool broken = false;

    if (tx == NULL)
        return;
    if (tx->c->conn != NULL && PQstatus(tx->c->conn) == CONNECTION_OK) {
        PGresult *r = PQexec(tx->c->conn, "ROLLBACK");
        broken = PQresultStatus(r) != PGRES_COMMAND_OK;
        PQclear(r);
    }
    release(tx->pool, tx->c, broken);
}

bool db_is_reachable(struct db_pool *p)
{
    struct db_conn *c = NULL;
    struct err err;
    PGresult *r;
    bool ok;

    if (acquire(p, &c, &err) != ERR_OK)
        return false;
    /* One round trip, outside any transaction; a dead connection is reset and retried once. */
    for (int attempt = 0; attempt < 2; attempt++) {
        if (conn_ensure(p, c, &err) != ERR_OK) {
            ok = false;
            break;
        }
        r = PQexec(c->conn, "SELECT 1");
        ok = PQresultStatus(r) == PGRES_TUPLES_OK;
        PQclear(r);
        if (ok || PQstatus(c->conn) == CONNECTION_OK)
            break;
        conn_drop(c);
    }
    release(p, c, false);
    return ok;
}

/* ---- shared query helpers (db_int.h) ---- */

enum err_code db_exec_count(struct db_tx *tx, const struct db_stmt *st,
                                const char *const *params, long long *affected, struct err *err)
{
    PGresult *r = NULL;
    enum err_code rc = db_run(tx, st, params, &r, err);
    if (rc == ERR_OK && affected != NULL)
        *affected = strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return rc;
}

/* Runs st, which returns one row holding one JSON text, into *out (NULL when no row). */
enum err_code db_exec_json(struct db_tx *tx, const struct db_stmt *st,
                               const char *const *params, json_t **out, struct err *err)
{
    PGresult *r = NULL;
    enum err_code rc;

    *out = NULL;
    rc = db_run(tx, st, params, &r, err);
    if (rc == ERR_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)) {
        *out = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
        if (*out == NULL)
            rc = err_set(err, ERR_NOMEM, "out of memory");
    }
    PQclear(r);
    return rc;
}

enum err_code db_exec_int(struct db_tx *tx, const struct db_stmt *st, unsigned arg,
                          long long *out, struct err *err)
{
    char a[16];
    const char *p[1] = {a};
    PGresult *r = NULL;
    enum err_code rc;

    *out = 0;
    snprintf(a, sizeof a, "%u", arg);
    rc = db_run(tx, st, p, &r, err);
    if (rc == ERR_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
        *out = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return rc;
}

enum err_code db_list_json(struct db_tx *tx, const struct db_stmt *st, int limit,
                               const char *after, json_t **items, char *next, size_t nextlen,
                               struct err *err)
{
    return db_list_json_filtered(tx, st, limit, after, NULL, 0, items, next, nextlen, err);
}

enum err_code db_list_text(struct db_tx *tx, const struct db_stmt *st, int limit,
                           const char *after, const char *const *filters, size_t nfilters,
                           char **json, size_t *len, char *next, size_t nextlen, struct err *err)
{
    char lim[16];
    const char *p[2 + DB_LIST_MAX_FILTERS] = {lim, after};
    PGresult *r = NULL;
    enum err_code rc;
    size_t total = 2, o = 0;
    int n;

    next[0] = '\0';
    *json = NULL;
    *len = 0;
    if (nfilters > DB_LIST_MAX_FILTERS)
        return err_set(err, ERR_INTERNAL, "too many list filters");
    for (size_t i = 0; i < nfilters; i++)
        p[2 + i] = filters[i];
    snprintf(lim, sizeof lim, "%d", limit + 1); /* one more tells whether a next page exists */
    rc = db_run(tx, st, p, &r, err);
    if (rc != ERR_OK)
        return rc;
    n = PQntuples(r);
    for (int i = 0; i < n && i < limit; i++)
        total += (size_t)PQgetlength(r, i, 0) + 1;
    *json = malloc(total + 1);
    if (*json == NULL) {
        PQclear(r);
        return err_set(err, ERR_NOMEM, "out of memory");
    }
    /* The rows are JSON that PostgreSQL rendered: passed through, never parsed again. */
    (*json)[o++] = '[';
    for (int i = 0; i < n && i < limit; i++) {
        size_t l = (size_t)PQgetlength(r, i, 0);
        if (i > 0)
            (*json)[o++] = ',';
        memcpy(*json + o, PQgetvalue(r, i, 0), l);
        o += l;
    }
    (*json)[o++] = ']';
    (*json)[o] = '\0';
    *len = o;
    if (n > limit)
        snprintf(next, nextlen, "%s", PQgetvalue(r, limit - 1, 1));
    PQclear(r);
    return ERR_OK;
}

enum err_code db_list_json_by(struct db_tx *tx, const struct db_stmt *st, int limit,
                              const char *after, const char *key, json_t **items, char *next,
                              size_t nextlen, struct err *err)
{
    const char *f[1] = {key};
    return db_list_json_filtered(tx, st, limit, after, f, 1, items, next, nextlen, err);
}

enum err_code db_list_json_filtered(struct db_tx *tx, const struct db_stmt *st, int limit,
                                    const char *after, const char *const *filters,
                                    size_t nfilters, json_t **items, char *next, size_t nextlen,
                                    struct err *err)
{
    char lim[16];
    const char *p[2 + DB_LIST_MAX_FILTERS] = {lim, after};
    PGresult *r = NULL;
    enum err_code rc;
    int n;

    if (nfilters > DB_LIST_MAX_FILTERS)
        return err_set(err, ERR_INTERNAL, "too many list filters");
    for (size_t i = 0; i < nfilters; i++)
        p[2 + i] = filters[i];

    next[0] = '\0';
    *items = json_array();
    if (*items == NULL)
        return err_set(err, ERR_NOMEM, "out of memory");
    snprintf(lim, sizeof lim, "%d", limit + 1); /* one more tells whether a next page exists */
    rc = db_run(tx, st, p, &r, err);
    if (rc != ERR_OK)
        goto out;
    n = PQntuples(r);
    for (int i = 0; i < n && i < limit; i++) {
        json_t *v = json_loads(PQgetvalue(r, i, 0), 0, NULL);
        if (v == NULL || json_array_append_new(*items, v) != 0) {
            rc = err_set(err, ERR_NOMEM, "out of memory");
            goto out;
        }
    }
    if (n > limit)
        snprintf(next, nextlen, "%s", PQgetvalue(r, limit - 1, 1));
out:
    PQclear(r);
    if (rc != ERR_OK) {
        json_decref(*items);
        *items = NULL;
    }
    return rc;
}


enum err_code db_exec_found(struct db_tx *tx, const struct db_stmt *st, const char *const *params,
                            bool *found, struct err *err)
{
    long long n = 0;
    enum err_code rc = db_exec_count(tx, st, params, &n, err);
    *found = n == 1;
    return rc;
}
