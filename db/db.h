/* db - PostgreSQL access: a fixed-size connection pool, transactions scoped to a tenant or to the
 * system, migrations and the queries of each module. The only place SQL lives besides
 * migrations/. Every PGresult is cleared inside db/; callers get copies they free.
 *
 * Threading: a pool is shared by all threads; a transaction belongs to one thread at a time.
 * A broken connection is reset on its next use, so the API answers 503 (ERR_UNAVAILABLE) while the
 * database is down and recovers by itself when it returns.
 * Errors come back as enum err_code with a client-safe detail; libpq messages go to the log. */
#ifndef PARAPET_DB_H
#define PARAPET_DB_H

#include "server/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db_pool;
struct db_tx;

struct db_pool_stats {
    unsigned size;
    unsigned in_use;
    unsigned idle;      /* connected and free */
    unsigned long long waits;     /* acquisitions that had to wait */
    unsigned long long timeouts;  /* acquisitions that gave up */
};

/* Creates a pool of `size` connections to url (connected lazily). Returns NULL on NOMEM. */
struct db_pool *db_pool_new(const char *url, unsigned size);
void db_pool_free(struct db_pool *pool); /* NULL-safe; no transaction may be open */
void db_pool_stats(struct db_pool *pool, struct db_pool_stats *out);

/* Begins a transaction with app.tenant_id set (set_config(..., true)), so row-level security
 * scopes every statement to that tenant. tenant_id must be a UUID string. */
enum err_code db_tx_tenant(struct db_pool *pool, const char *tenant_id, struct db_tx **out,
                           struct err *err);

/* Begins a transaction with no tenant context, for cross-tenant workers: tenant tables show
 * nothing here unless a query names the tenant through a SECURITY DEFINER path. */
enum err_code db_tx_system(struct db_pool *pool, struct db_tx **out, struct err *err);

/* Commits and releases tx, whatever the outcome (tx is invalid afterwards). */
enum err_code db_tx_commit(struct db_tx *tx, struct err *err);

/* Rolls back and releases tx. NULL-safe. */
void db_tx_rollback(struct db_tx *tx);

/* True when the server answers a trivial query within the pool's timeouts. */
bool db_is_reachable(struct db_pool *pool);

/* Maps a SQLSTATE (5 chars, may be NULL) to the program's error code. */
enum err_code db_err_from_sqlstate(const char *sqlstate);

/* ---- migrations (db/migrate.c) ---- */

/* Applies pending migrations over a dedicated connection to owner_url, each in its own
 * transaction, under an advisory lock so concurrent instances are safe. Verifies the checksums
 * of applied migrations. *applied (may be NULL) receives how many were applied now. */
enum err_code db_migrate(const char *owner_url, unsigned *applied, struct err *err);

/* Number of embedded migrations not yet recorded in schema_migrations (through the pool). */
enum err_code db_migrations_pending(struct db_pool *pool, unsigned *pending, struct err *err);

/* The newest embedded migration version. */
int db_migrations_latest(void);

/* ---- jobs (db/jobs.c) ---- */

struct db_job {
    int64_t id;
    char kind[64];
    char tenant_id[40]; /* "" for system jobs */
    char *payload;      /* JSON text, owned */
    int attempts;       /* including this one */
    int max_attempts;
};

void db_job_clear(struct db_job *job); /* frees payload; NULL-safe */

/* Enqueues a job to run at now()+delay_s. dedup_key may be NULL; with one, a second job of the
 * same kind and key is not created (*created=false). payload_json may be NULL ("{}"). */
enum err_code db_job_enqueue(struct db_tx *tx, const char *kind, const char *tenant_id,
                             const char *payload_json, const char *dedup_key, double delay_s,
                             bool *created, struct err *err);

/* Enqueues `kind` once for the current period of period_s seconds (by the database clock), keyed
 * by the period number so several instances ticking together create exactly one. */
enum err_code db_job_enqueue_periodic(struct db_tx *tx, const char *kind, unsigned period_s,
                                      bool *created, struct err *err);

/* Claims the oldest runnable job (queued and due, or running with an expired lease) with
 * FOR UPDATE SKIP LOCKED, leasing it to worker for lease_s. *found=false when none. Commits. */
enum err_code db_job_claim(struct db_pool *pool, const char *worker, unsigned lease_s,
                           struct db_job *out, bool *found, struct err *err);

/* Marks a job this worker holds as succeeded. *owned=false when the lease had passed to another
 * worker (the result is then not recorded). */
enum err_code db_job_succeed(struct db_tx *tx, int64_t id, const char *worker, bool *owned,
                             struct err *err);

/* Records a failure: requeued with exponential backoff and jitter, or failed for good when
 * permanent or out of attempts. error is stored (keep it free of secrets). */
enum err_code db_job_fail(struct db_pool *pool, int64_t id, const char *worker, const char *error,
                          bool permanent, struct err *err);

struct db_job_counts {
    long long queued, running, failed, succeeded;
};
enum err_code db_job_counts(struct db_pool *pool, struct db_job_counts *out, struct err *err);

/* Heartbeat job: records that `worker` ran job id. */
enum err_code db_heartbeat_record(struct db_tx *tx, int64_t job_id, const char *worker,
                                  struct err *err);

/* Seconds since the newest heartbeat, or -1 when there is none. */
enum err_code db_heartbeat_age(struct db_pool *pool, double *age_s, struct err *err);

/* Retention job: deletes finished jobs and heartbeats older than days; *deleted gets the count. */
enum err_code db_retention_run(struct db_tx *tx, unsigned days, long long *deleted,
                               struct err *err);

#endif
