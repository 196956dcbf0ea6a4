/* The job queue against a real PostgreSQL: claims by concurrent workers (threads and whole
 * processes), lease expiry after a dead worker, periodic jobs across instances, retries with
 * backoff and permanent failure. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include "db/db.h"
#include "server/log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char db[64];
static char owner[256];

static int setup(void **state)
{
    static const char *const migrate[] = {"migrate", NULL};
    (void)state;
    log_set_level(LOG_ERROR);
    h_db_new("jobs", db);
    h_db_url(db, true, owner, sizeof owner);
    return h_run(db, NULL, migrate, NULL, 0);
}

static void reset(void)
{
    assert_int_equal(h_sql_exec(owner, "TRUNCATE jobs, heartbeats", false), 0);
}

static long long sql_ll(const char *sql)
{
    char *v = h_sql(owner, sql);
    long long n;
    assert_non_null(v);
    n = strtoll(v, NULL, 10);
    free(v);
    return n;
}

static bool wait_for(const char *sql, long long want, int timeout_ms)
{
    long long deadline = h_now_ms() + timeout_ms;
    while (h_now_ms() < deadline) {
        if (sql_ll(sql) == want)
            return true;
        h_sleep_ms(50);
    }
    return false;
}

struct claimer {
    struct db_pool *pool;
    char name[32];
    int64_t ids[400];
    int n;
};

static void *claim_all(void *arg)
{
    struct claimer *c = arg;
    struct err err;

    for (;;) {
        struct db_job job;
        bool found = false;
        bool owned = false;
        struct db_tx *tx = NULL;

        if (db_job_claim(c->pool, c->name, 60, &job, &found, &err) != ERR_OK || !found)
            break;
        c->ids[c->n++] = job.id;
        if (db_tx_system(c->pool, &tx, &err) == ERR_OK) {
            db_job_succeed(tx, job.id, c->name, &owned, &err);
            db_tx_commit(tx, &err);
        }
        db_job_clear(&job);
    }
    return NULL;
}

static void test_two_claimers_never_take_the_same_job(void **state)
{
    char app[256];
    struct db_pool *pool;
    static struct claimer c[2];
    pthread_t t[2];
    int total = 0;
    (void)state;

    reset();
    assert_int_equal(h_sql_exec(owner, "INSERT INTO jobs (kind) SELECT 'heartbeat'"
                                       " FROM generate_series(1, 200)",
                                false),
                     0);
    h_db_url(db, false, app, sizeof app);
    pool = db_pool_new(app, 4);
    assert_non_null(pool);
    for (int i = 0; i < 2; i++) {
        memset(&c[i], 0, sizeof c[i]);
        c[i].pool = pool;
        snprintf(c[i].name, sizeof c[i].name, "claimer-%d", i);
        assert_int_equal(pthread_create(&t[i], NULL, claim_all, &c[i]), 0);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < c[0].n; i++)
        for (int j = 0; j < c[1].n; j++)
            assert_true(c[0].ids[i] != c[1].ids[j]);
    total = c[0].n + c[1].n;
    assert_int_equal(total, 200);
    assert_int_equal(sql_ll("SELECT count(*) FROM jobs WHERE status = 'succeeded' AND attempts = 1"),
                     200);
    db_pool_free(pool);
}

static void test_each_job_runs_exactly_once_across_two_worker_processes(void **state)
{
    static const char *const env[] = {"PARAPET_WORKERS=3", "PARAPET_JOB_POLL_MS=20",
                                      "PARAPET_HEARTBEAT_PERIOD_S=86400", NULL};
    struct h_server w[2];
    (void)state;

    reset();
    for (int i = 0; i < 2; i++)
        assert_int_equal(h_server_start(&w[i], db, "worker", env), 0);
    assert_int_equal(h_sql_exec(owner, "INSERT INTO jobs (kind, payload) SELECT 'heartbeat',"
                                       " '{\"batch\": 1}' FROM generate_series(1, 300)",
                                false),
                     0);
    assert_true(wait_for("SELECT count(*) FROM jobs WHERE payload ? 'batch'"
                         " AND status = 'succeeded'",
                         300, 30000));
    /* Each ran once: one heartbeat per job, run count 1, claimed once. */
    assert_int_equal(sql_ll("SELECT count(*) FROM heartbeats h JOIN jobs j ON j.id = h.job_id"
                            " WHERE j.payload ? 'batch' AND h.runs = 1"),
                     300);
    assert_int_equal(sql_ll("SELECT count(*) FROM jobs WHERE payload ? 'batch' AND attempts <> 1"),
                     0);
    /* Both processes took part. */
    assert_int_equal(sql_ll("SELECT count(DISTINCT split_part(worker, '/', 1)) FROM heartbeats"),
                     2);
    for (int i = 0; i < 2; i++)
        assert_int_equal(h_server_stop(&w[i], 10000), 0);
}

static void test_a_dead_workers_job_is_run_again_after_its_lease(void **state)
{
    static const char *const env[] = {"PARAPET_WORKERS=1", "PARAPET_JOB_POLL_MS=20",
                                      "PARAPET_HEARTBEAT_PERIOD_S=86400", NULL};
    struct h_server w;
    long long id;
    char sql[256];
    char *who;
    (void)state;

    reset();
    /* The state a worker leaves when it is killed mid-job: running, leased, never finished. */
    id = sql_ll("INSERT INTO jobs (kind, status, locked_by, locked_until, attempts, started_at)"
                " VALUES ('heartbeat', 'running', 'dead-host:1:0000/0',"
                "         now() + interval '2 seconds', 1, now()) RETURNING id");
    assert_int_equal(h_server_start(&w, db, "worker", env), 0);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM jobs WHERE id = %lld AND status = 'running'",
             id);
    h_sleep_ms(500);
    assert_int_equal(sql_ll(sql), 1); /* not stolen while the lease holds */
    snprintf(sql, sizeof sql, "SELECT count(*) FROM jobs WHERE id = %lld AND status = 'succeeded'",
             id);
    assert_true(wait_for(sql, 1, 10000));
    snprintf(sql, sizeof sql, "SELECT attempts FROM jobs WHERE id = %lld", id);
    assert_int_equal(sql_ll(sql), 2);
    snprintf(sql, sizeof sql, "SELECT worker FROM heartbeats WHERE job_id = %lld AND runs = 1",
             id);
    who = h_sql(owner, sql);
    assert_non_null(who);
    assert_null(strstr(who, "dead-host"));
    free(who);
    assert_int_equal(h_server_stop(&w, 10000), 0);
}

static void test_periodic_job_is_enqueued_once_per_period_by_several_instances(void **state)
{
    static const char *const env[] = {"PARAPET_WORKERS=1", "PARAPET_JOB_POLL_MS=20",
                                      "PARAPET_HEARTBEAT_PERIOD_S=1", NULL};
    struct h_server w[3];
    long long periods, rows;
    (void)state;

    reset();
    for (int i = 0; i < 3; i++)
        assert_int_equal(h_server_start(&w[i], db, "worker", env), 0);
    h_sleep_ms(3500);
    for (int i = 0; i < 3; i++)
        assert_int_equal(h_server_stop(&w[i], 10000), 0);
    rows = sql_ll("SELECT count(*) FROM jobs WHERE kind = 'heartbeat'");
    periods = sql_ll("SELECT count(DISTINCT dedup_key) FROM jobs WHERE kind = 'heartbeat'");
    assert_int_equal(rows, periods);
    assert_true(periods >= 3 && periods <= 6);
    /* And the heartbeats actually ran. */
    assert_true(sql_ll("SELECT count(*) FROM heartbeats") >= 2);
}

static void test_failures_back_off_then_fail_for_good(void **state)
{
    char app[256];
    struct db_pool *pool;
    struct db_job job;
    struct err err;
    bool found;
    double delay;
    char *v;
    (void)state;

    reset();
    assert_int_equal(h_sql_exec(owner, "INSERT INTO jobs (kind, max_attempts)"
                                       " VALUES ('heartbeat', 2)",
                                false),
                     0);
    h_db_url(db, false, app, sizeof app);
    pool = db_pool_new(app, 2);
    assert_non_null(pool);

    assert_int_equal(db_job_claim(pool, "w", 60, &job, &found, &err), ERR_OK);
    assert_true(found);
    assert_int_equal(job.attempts, 1);
    assert_int_equal(db_job_fail(pool, job.id, "w", "upstream said 503", false, &err), ERR_OK);
    db_job_clear(&job);
    v = h_sql(owner, "SELECT status || ' ' || last_error FROM jobs");
    assert_string_equal(v, "queued upstream said 503");
    free(v);
    /* First retry after 2 s times a jitter in [0.5, 1.5). */
    v = h_sql(owner, "SELECT extract(epoch FROM run_at - now()) FROM jobs");
    delay = strtod(v, NULL);
    free(v);
    assert_true(delay > 0.8 && delay < 3.1);
    assert_int_equal(db_job_claim(pool, "w", 60, &job, &found, &err), ERR_OK);
    assert_false(found); /* not before its time */

    assert_int_equal(h_sql_exec(owner, "UPDATE jobs SET run_at = now()", false), 0);
    assert_int_equal(db_job_claim(pool, "w", 60, &job, &found, &err), ERR_OK);
    assert_true(found);
    assert_int_equal(job.attempts, 2);
    assert_int_equal(db_job_fail(pool, job.id, "w", "again", false, &err), ERR_OK);
    db_job_clear(&job);
    v = h_sql(owner, "SELECT status FROM jobs");
    assert_string_equal(v, "failed"); /* out of attempts */
    free(v);
    db_pool_free(pool);
}

static void test_unknown_job_kind_fails_permanently_in_the_worker(void **state)
{
    static const char *const env[] = {"PARAPET_WORKERS=1", "PARAPET_JOB_POLL_MS=20",
                                      "PARAPET_HEARTBEAT_PERIOD_S=86400", NULL};
    struct h_server w;
    char *v;
    (void)state;

    reset();
    assert_int_equal(h_sql_exec(owner, "INSERT INTO jobs (kind) VALUES ('no.such.kind')", false),
                     0);
    assert_int_equal(h_server_start(&w, db, "worker", env), 0);
    assert_true(wait_for("SELECT count(*) FROM jobs WHERE kind = 'no.such.kind'"
                         " AND status = 'failed'",
                         1, 10000));
    v = h_sql(owner, "SELECT attempts || ' ' || last_error FROM jobs WHERE kind = 'no.such.kind'");
    assert_string_equal(v, "1 unknown job kind");
    free(v);
    assert_int_equal(h_server_stop(&w, 10000), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_claimers_never_take_the_same_job),
        cmocka_unit_test(test_each_job_runs_exactly_once_across_two_worker_processes),
        cmocka_unit_test(test_a_dead_workers_job_is_run_again_after_its_lease),
        cmocka_unit_test(test_periodic_job_is_enqueued_once_per_period_by_several_instances),
        cmocka_unit_test(test_failures_back_off_then_fail_for_good),
        cmocka_unit_test(test_unknown_job_kind_fails_permanently_in_the_worker),
    };
    return cmocka_run_group_tests_name("integration/jobs", tests, setup, NULL);
}
