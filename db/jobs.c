#include "db/db_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void db_job_clear(struct db_job *job)
{
    if (job == NULL)
        return;
    free(job->payload);
    memset(job, 0, sizeof *job);
}

static const struct db_stmt enqueue_stmt = {
    "job_enqueue",
    "INSERT INTO jobs (kind, tenant_id, payload, dedup_key, run_at)"
    " VALUES ($1, $2::uuid, coalesce($3::jsonb, '{}'::jsonb), $4,"
    "         now() + make_interval(secs => $5::float8))"
    " ON CONFLICT (kind, dedup_key) WHERE dedup_key IS NOT NULL DO NOTHING",
    5};

enum err_code db_job_enqueue(struct db_tx *tx, const char *kind, const char *tenant_id,
                             const char *payload_json, const char *dedup_key, double delay_s,
                             bool *created, struct err *err)
{
    char delay[32];
    const char *params[5] = {kind, tenant_id && tenant_id[0] ? tenant_id : NULL, payload_json,
                             dedup_key, delay};
    PGresult *r = NULL;
    enum err_code rc;

    snprintf(delay, sizeof delay, "%.3f", delay_s);
    rc = db_run(tx, &enqueue_stmt, params, &r, err);
    if (rc == ERR_OK && created != NULL)
        *created = strcmp(PQcmdTuples(r), "1") == 0;
    PQclear(r);
    return rc;
}

static const struct db_stmt periodic_stmt = {
    "job_enqueue_periodic",
    "INSERT INTO jobs (kind, dedup_key)"
    " VALUES ($1, 'period:' || $2 || ':' ||"
    "         floor(extract(epoch FROM now()) / $2::int)::bigint)"
    " ON CONFLICT (kind, dedup_key) WHERE dedup_key IS NOT NULL DO NOTHING",
    2};

enum err_code db_job_enqueue_periodic(struct db_tx *tx, const char *kind, unsigned period_s,
                                      bool *created, struct err *err)
{
    char period[16];
    const char *params[2] = {kind, period};
    PGresult *r = NULL;
    enum err_code rc;

    snprintf(period, sizeof period, "%u", period_s);
    rc = db_run(tx, &periodic_stmt, params, &r, err);
    if (rc == ERR_OK && created != NULL)
        *created = strcmp(PQcmdTuples(r), "1") == 0;
    PQclear(r);
    return rc;
}

/* The lease check uses the database clock (now()), so instances need not agree on time. */
static const struct db_stmt claim_stmt = {
    "job_claim",
    "WITH c AS ("
    "  SELECT id FROM jobs"
    "   WHERE (status = 'queued' AND run_at <= now())"
    "      OR (status = 'running' AND locked_until < now())"
    "   ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)"
    " UPDATE jobs j SET status = 'running', attempts = j.attempts + 1, locked_by = $1,"
    "        locked_until = now() + make_interval(secs => $2::int), started_at = now()"
    "   FROM c WHERE j.id = c.id"
    " RETURNING j.id, j.kind, coalesce(j.tenant_id::text, ''), j.payload::text, j.attempts,"
    "           j.max_attempts",
    2};

enum err_code db_job_claim(struct db_pool *pool, const char *worker, unsigned lease_s,
                           struct db_job *out, bool *found, struct err *err)
{
    char lease[16];
    const char *params[2] = {worker, lease};
    struct db_tx *tx = NULL;
    PGresult *r = NULL;
    enum err_code rc;

    *found = false;
    memset(out, 0, sizeof *out);
    snprintf(lease, sizeof lease, "%u", lease_s);
    rc = db_tx_system(pool, &tx, err);
    if (rc != ERR_OK)
        return rc;
    rc = db_run(tx, &claim_stmt, params, &r, err);
    if (rc != ERR_OK)
        goto out;
    if (PQntuples(r) == 1) {
        out->id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        snprintf(out->kind, sizeof out->kind, "%s", PQgetvalue(r, 0, 1));
        snprintf(out->tenant_id, sizeof out->tenant_id, "%s", PQgetvalue(r, 0, 2));
        out->payload = strdup(PQgetvalue(r, 0, 3));
        out->attempts = (int)strtol(PQgetvalue(r, 0, 4), NULL, 10);
        out->max_attempts = (int)strtol(PQgetvalue(r, 0, 5), NULL, 10);
        if (out->payload == NULL) {
            rc = err_set(err, ERR_NOMEM, "out of memory");
            goto out;
        }
    }
    PQclear(r);
    r = NULL;
    rc = db_tx_commit(tx, err);
    tx = NULL;
    if (rc == ERR_OK)
        *found = out->id != 0;
out:
    PQclear(r);
    db_tx_rollback(tx);
    if (!*found)
        db_job_clear(out);
    return rc;
}

static const struct db_stmt succeed_stmt = {
    "job_succeed",
    "UPDATE jobs SET status = 'succeeded', finished_at = now(), locked_until = NULL,"
    "       last_error = NULL"
    " WHERE id = $1::bigint AND locked_by = $2 AND status = 'running'",
    2};

enum err_code db_job_succeed(struct db_tx *tx, int64_t id, const char *worker, bool *owned,
                             struct err *err)
{
    char ids[24];
    const char *params[2] = {ids, worker};
    PGresult *r = NULL;
    enum err_code rc;

    snprintf(ids, sizeof ids, "%lld", (long long)id);
    rc = db_run(tx, &succeed_stmt, params, &r, err);
    if (rc == ERR_OK)
        *owned = strcmp(PQcmdTuples(r), "1") == 0;
    PQclear(r);
    return rc;
}

/* Backoff: 2^attempts seconds capped at 5 minutes, times a jitter in [0.5, 1.5). */
static const struct db_stmt fail_stmt = {
    "job_fail",
    "UPDATE jobs SET"
    "   status = CASE WHEN $4::bool OR attempts >= max_attempts THEN 'failed' ELSE 'queued' END,"
    "   finished_at = CASE WHEN $4::bool OR attempts >= max_attempts THEN now() END,"
    "   run_at = now() + make_interval(secs => least(power(2, attempts), 300) * (0.5 + random())),"
    "   locked_until = NULL, locked_by = NULL, last_error = left($3, 1000)"
    " WHERE id = $1::bigint AND locked_by = $2 AND status = 'running'",
    4};

enum err_code db_job_fail(struct db_pool *pool, int64_t id, const char *worker, const char *error,
                          bool permanent, struct err *err)
{
    char ids[24];
    const char *params[4] = {ids, worker, error, permanent ? "true" : "false"};
    struct db_tx *tx = NULL;
    enum err_code rc;

    snprintf(ids, sizeof ids, "%lld", (long long)id);
    rc = db_tx_system(pool, &tx, err);
    if (rc != ERR_OK)
        return rc;
    rc = db_run(tx, &fail_stmt, params, NULL, err);
    if (rc == ERR_OK) {
        rc = db_tx_commit(tx, err);
        tx = NULL;
    }
    db_tx_rollback(tx);
    return rc;
}

static const struct db_stmt counts_stmt = {
    "job_counts",
    "SELECT count(*) FILTER (WHERE status = 'queued'), count(*) FILTER (WHERE status = 'running'),"
    "       count(*) FILTER (WHERE status = 'failed'), count(*) FILTER (WHERE status = 'succeeded')"
    "  FROM jobs",
    0};

enum err_code db_job_counts(struct db_pool *pool, struct db_job_counts *out, struct err *err)
{
    struct db_tx *tx = NULL;
    PGresult *r = NULL;
    enum err_code rc;

    memset(out, 0, sizeof *out);
    rc = db_tx_system(pool, &tx, err);
    if (rc != ERR_OK)
        return rc;
    rc = db_run(tx, &counts_stmt, NULL, &r, err);
    if (rc == ERR_OK) {
        out->queued = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        out->running = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
        out->failed = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
        out->succeeded = strtoll(PQgetvalue(r, 0, 3), NULL, 10);
    }
    PQclear(r);
    db_tx_rollback(tx);
    return rc;
}

static const struct db_stmt heartbeat_stmt = {
    "heartbeat_record",
    "INSERT INTO heartbeats (job_id, worker) VALUES ($1::bigint, $2)"
    " ON CONFLICT (job_id) DO UPDATE SET runs = heartbeats.runs + 1, worker = excluded.worker,"
    "   ran_at = now()",
    2};

enum err_code db_heartbeat_record(struct db_tx *tx, int64_t job_id, const char *worker,
                                  struct err *err)
{
    char ids[24];
    const char *params[2] = {ids, worker};

    snprintf(ids, sizeof ids, "%lld", (long long)job_id);
    return db_run(tx, &heartbeat_stmt, params, NULL, err);
}

static const struct db_stmt heartbeat_age_stmt = {
    "heartbeat_age",
    "SELECT coalesce(extract(epoch FROM now() - max(ran_at))::float8, -1) FROM heartbeats", 0};

enum err_code db_heartbeat_age(struct db_pool *pool, double *age_s, struct err *err)
{
    struct db_tx *tx = NULL;
    PGresult *r = NULL;
    enum err_code rc;

    *age_s = -1;
    rc = db_tx_system(pool, &tx, err);
    if (rc != ERR_OK)
        return rc;
    rc = db_run(tx, &heartbeat_age_stmt, NULL, &r, err);
    if (rc == ERR_OK)
        *age_s = strtod(PQgetvalue(r, 0, 0), NULL);
    PQclear(r);
    db_tx_rollback(tx);
    return rc;
}

static const struct db_stmt retention_jobs_stmt = {
    "retention_jobs",
    "DELETE FROM jobs WHERE status IN ('succeeded', 'failed')"
    "   AND finished_at < now() - make_interval(days => $1::int)",
    1};
static const struct db_stmt retention_heartbeats_stmt = {
    "retention_heartbeats",
    "DELETE FROM heartbeats WHERE ran_at < now() - make_interval(days => $1::int)", 1};
/* Sign-in failures matter for 15 minutes; a day is plenty. */
static const struct db_stmt retention_auth_failures_stmt = {
    "retention_auth_failures",
    "DELETE FROM auth_failures WHERE at < now() - make_interval(days => least($1::int, 1))", 1};

enum err_code db_retention_run(struct db_tx *tx, unsigned days, long long *deleted,
                               struct err *err)
{
    char d[16];
    const char *params[1] = {d};
    const struct db_stmt *stmts[] = {&retention_jobs_stmt, &retention_heartbeats_stmt,
                                     &retention_auth_failures_stmt};
    enum err_code rc = ERR_OK;

    *deleted = 0;
    snprintf(d, sizeof d, "%u", days);
    for (size_t i = 0; i < sizeof stmts / sizeof stmts[0] && rc == ERR_OK; i++) {
        PGresult *r = NULL;
        rc = db_run(tx, stmts[i], params, &r, err);
        if (rc == ERR_OK)
            *deleted += strtoll(PQcmdTuples(r), NULL, 10);
        PQclear(r);
    }
    return rc;
}

static const struct db_stmt extend_stmt = {
    "job_extend",
    "UPDATE jobs SET locked_until = now() + make_interval(secs => $3::int)"
    " WHERE id = $1::bigint AND status = 'running' AND locked_by = $2",
    3};

enum err_code db_job_extend(struct db_tx *tx, int64_t id, const char *worker, unsigned lease_s,
                            bool *owned, struct err *err)
{
    char ids[24], ls[16];
    snprintf(ids, sizeof ids, "%lld", (long long)id);
    snprintf(ls, sizeof ls, "%u", lease_s);
    const char *p[3] = {ids, worker, ls};
    return db_exec_found(tx, &extend_stmt, p, owned, err);
}
