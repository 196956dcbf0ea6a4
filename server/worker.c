#include "server/worker.h"

#include "observe/observe.h"
#include "server/log.h"
#include "server/metrics.h"
#include "posture/scan.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct worker_job {
    const struct config *cfg;
    struct db_pool *db;
    const struct db_job *job;
    const char *worker;
};

/* A job kind: run() does the work; its writes go in tx, which also records the job's success,
 * so effect and completion commit together. period() > 0 makes the kind periodic. */
struct job_kind {
    const char *kind;
    enum err_code (*run)(const struct worker_job *wj, struct db_tx *tx, struct err *err);
    unsigned (*period)(const struct config *cfg);
    bool standalone; /* long: run() gets no transaction and opens its own */
};

static enum err_code job_heartbeat(const struct worker_job *wj, struct db_tx *tx, struct err *err)
{
    return db_heartbeat_record(tx, wj->job->id, wj->worker, err);
}

static unsigned heartbeat_period(const struct config *cfg)
{
    return cfg->heartbeat_period_s;
}

/* System tables after PARAPET_RETENTION_DAYS; notification history (outbox events whose
 * deliveries have ended) after PARAPET_EVENT_RETENTION_DAYS, like telemetry. */
static enum err_code job_retention(const struct worker_job *wj, struct db_tx *tx, struct err *err)
{
    long long deleted = 0, notified = 0;
    enum err_code rc = db_retention_run(tx, wj->cfg->retention_days, &deleted, err);
    if (rc == ERR_OK)
        rc = db_outbox_retention(tx, wj->cfg->event_retention_days, &notified, err);
    if (rc == ERR_OK)
        log_event(LOG_INFO, NULL, "job.retention", "{s:I, s:i, s:I, s:i}", "deleted",
                  (json_int_t)deleted, "days", (int)wj->cfg->retention_days, "outbox_events",
                  (json_int_t)notified, "outbox_days", (int)wj->cfg->event_retention_days);
    return rc;
}

static unsigned retention_period(const struct config *cfg)
{
    (void)cfg;
    return 3600;
}

/* A scan of one account (posture/scan.c): long, with its own transactions. */
static enum err_code job_scan(const struct worker_job *wj, struct db_tx *tx, struct err *err)
{
    json_t *payload = json_loads(wj->job->payload ? wj->job->payload : "{}", 0, NULL);
    const char *scan_id = json_string_value(json_object_get(payload, "scan_id"));
    struct posture_scan_opts opts = {wj->cfg->scan_parallel,
                                     (size_t)wj->cfg->max_code_mb * 1024 * 1024,
                                     wj->cfg->advisory_dir, wj->job->id, wj->worker,
                                     wj->cfg->job_lease_s};
    enum err_code rc;

    (void)tx;
    if (scan_id == NULL || wj->job->tenant_id[0] == '\0')
        rc = err_set(err, ERR_INVALID, "a scan job without a scan");
    else
        rc = posture_scan_run(wj->db, &opts, wj->job->tenant_id, scan_id, err);
    json_decref(payload);
    return rc;
}

static enum err_code job_scan_schedule(const struct worker_job *wj, struct db_tx *tx,
                                       struct err *err)
{
    unsigned queued = 0;
    enum err_code rc = posture_schedule(tx, &queued, err);
    if (rc == ERR_OK && queued > 0)
        log_event(LOG_INFO, NULL, "scan.scheduled", "{s:i}", "queued", (int)queued);
    (void)wj;
    return rc;
}

static unsigned scan_schedule_period(const struct config *cfg)
{
    return cfg->scan_schedule_s;
}

/* Folds one tenant's new signals into incidents (observe/correlate.c). When another worker holds
 * the tenant there is nothing to do: it folds what had committed when it started, and the sweep
 * queues a job for anything later. */
static enum err_code job_obs_correlate(const struct worker_job *wj, struct db_tx *tx,
                                       struct err *err)
{
    struct obs_corr_stats st;
    bool busy = false;
    enum err_code rc;

    if (wj->job->tenant_id[0] == '\0')
        return err_set(err, ERR_INVALID, "a correlation job needs a tenant");
    rc = obs_correlate_tenant(tx, wj->job->tenant_id, &st, &busy, err);
    if (rc == ERR_OK && busy)
        log_event(LOG_DEBUG, NULL, "job.obs_correlate_busy", "{s:s}", "tenant_id",
                  wj->job->tenant_id);
    else if (rc == ERR_OK)
        log_event(LOG_INFO, NULL, "job.obs_correlate", "{s:s, s:I, s:I, s:I}", "tenant_id",
                  wj->job->tenant_id, "signals", (json_int_t)st.signals, "opened",
                  (json_int_t)st.opened, "escalated", (json_int_t)st.escalated);
    return rc;
}

/* Safety net for correlation: enqueues a job for every tenant with signals not yet folded. */
static enum err_code job_obs_sweep(const struct worker_job *wj, struct db_tx *tx, struct err *err)
{
    json_t *tenants = NULL, *t;
    enum err_code rc = db_obs_corr_pending(tx, &tenants, err);
    size_t i;
    (void)wj;

    json_array_foreach(tenants, i, t)
    {
        if (rc != ERR_OK)
            break;
        rc = db_obs_corr_enqueue(tx, json_string_value(t), 0, err);
    }
    json_decref(tenants);
    return rc;
}

static unsigned obs_sweep_period(const struct config *cfg)
{
    (void)cfg;
    return 10;
}

/* Event partitions: today and the next three days exist ahead of time; days past
 * PARAPET_EVENT_RETENTION_DAYS are dropped with their signals. */
static enum err_code job_obs_partitions(const struct worker_job *wj, struct db_tx *tx,
                                        struct err *err)
{
    long long dropped = 0;
    enum err_code rc = ERR_OK;

    for (int d = 0; d < 4 && rc == ERR_OK; d++) {
        char day[32];
        obs_time_format(((long long)time(NULL) + d * 86400LL) * 1000, day);
        day[10] = '\0';
        rc = db_obs_partition_ensure(wj->db, day, err);
    }
    if (rc == ERR_OK)
        rc = db_obs_retention(tx, wj->cfg->event_retention_days, &dropped, err);
    if (rc == ERR_OK)
        log_event(LOG_INFO, NULL, "job.obs_partitions", "{s:I, s:i}", "dropped",
                  (json_int_t)dropped, "days", (int)wj->cfg->event_retention_days);
    return rc;
}

static unsigned obs_partitions_period(const struct config *cfg)
{
    (void)cfg;
    return 3600;
}

static const struct job_kind kinds[] = {
    {"heartbeat", job_heartbeat, heartbeat_period, false},
    {"retention", job_retention, retention_period, false},
    {"scan", job_scan, NULL, true},
    {"scan.schedule", job_scan_schedule, scan_schedule_period, false},
    {"obs.correlate", job_obs_correlate, NULL, false},
    {"obs.sweep", job_obs_sweep, obs_sweep_period, false},
    {"obs.partitions", job_obs_partitions, obs_partitions_period, false},
};

struct worker_thread {
    struct worker_pool *wp;
    pthread_t tid;
    char name[128];
};

struct worker_pool {
    const struct config *cfg;
    struct db_pool *db;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_bool stop;
    unsigned nthreads;
    struct worker_thread *threads; /* nthreads workers, then the scheduler */
};

static const struct job_kind *find_kind(const char *kind)
{
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(kinds[i].kind, kind) == 0)
            return &kinds[i];
    return NULL;
}

/* Sleeps up to ms unless asked to stop. */
static void nap(struct worker_pool *wp, unsigned ms)
{
    struct timespec deadline;

    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += ms / 1000;
    deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&wp->mu);
    while (!atomic_load(&wp->stop))
        if (pthread_cond_timedwait(&wp->cv, &wp->mu, &deadline) != 0)
            break;
    pthread_mutex_unlock(&wp->mu);
}

static void run_job(struct worker_thread *t, struct db_job *job)
{
    struct worker_pool *wp = t->wp;
    const struct job_kind *k = find_kind(job->kind);
    struct worker_job wj = {wp->cfg, wp->db, job, t->name};
    struct db_tx *tx = NULL;
    struct err err;
    enum err_code rc;
    bool owned = false;
    bool permanent = false;

    err_clear(&err);
    if (k == NULL) {
        rc = err_set(&err, ERR_INVALID, "unknown job kind");
        permanent = true;
    } else if (job->attempts > job->max_attempts) {
        /* Its lease ran out more times than it may be tried: a job that kills its worker. */
        rc = err_set(&err, ERR_INTERNAL, "lease expired after %d attempts", job->max_attempts);
        permanent = true;
    } else {
        if (k->standalone)
            rc = k->run(&wj, NULL, &err);
        else
            rc = db_tx_system(wp->db, &tx, &err);
        if (rc == ERR_OK && !k->standalone)
            rc = k->run(&wj, tx, &err);
        if (rc == ERR_OK && tx == NULL)
            rc = db_tx_system(wp->db, &tx, &err);
        if (rc == ERR_OK)
            rc = db_job_succeed(tx, job->id, t->name, &owned, &err);
        if (rc == ERR_OK) {
            rc = db_tx_commit(tx, &err);
            tx = NULL;
        }
        db_tx_rollback(tx);
        permanent = rc == ERR_INVALID;
    }
    if (rc == ERR_OK) {
        metrics_job_done("succeeded");
        log_event(owned ? LOG_DEBUG : LOG_WARN, NULL, owned ? "job.succeeded" : "job.lease_lost",
                  "{s:I, s:s, s:i}", "job_id", (json_int_t)job->id, "kind", job->kind,
                  "attempt", job->attempts);
        return;
    }
    metrics_job_done(permanent || job->attempts >= job->max_attempts ? "failed" : "retried");
    log_event(LOG_WARN, NULL, "job.failed", "{s:I, s:s, s:i, s:s, s:b}", "job_id",
              (json_int_t)job->id, "kind", job->kind, "attempt", job->attempts, "error",
              err.detail, "permanent", permanent);
    if (db_job_fail(wp->db, job->id, t->name, err.detail, permanent, &err) != ERR_OK)
        log_event(LOG_WARN, NULL, "job.fail_unrecorded", "{s:I}", "job_id", (json_int_t)job->id);
}

static void *worker_main(void *arg)
{
    struct worker_thread *t = arg;
    struct worker_pool *wp = t->wp;

    while (!atomic_load(&wp->stop)) {
        struct db_job job;
        struct err err;
        bool found = false;

        if (db_job_claim(wp->db, t->name, wp->cfg->job_lease_s, &job, &found, &err) != ERR_OK ||
            !found) {
            nap(wp, wp->cfg->job_poll_ms);
            continue;
        }
        run_job(t, &job);
        db_job_clear(&job);
    }
    return NULL;
}

static void *scheduler_main(void *arg)
{
    struct worker_thread *t = arg;
    struct worker_pool *wp = t->wp;

    while (!atomic_load(&wp->stop)) {
        struct db_tx *tx = NULL;
        struct err err;
        enum err_code rc = db_tx_system(wp->db, &tx, &err);

        for (size_t i = 0; rc == ERR_OK && i < sizeof kinds / sizeof kinds[0]; i++) {
            unsigned period = kinds[i].period ? kinds[i].period(wp->cfg) : 0;
            bool created = false;
            if (period == 0)
                continue;
            rc = db_job_enqueue_periodic(tx, kinds[i].kind, period, &created, &err);
            if (rc == ERR_OK && created)
                log_event(LOG_DEBUG, NULL, "job.scheduled", "{s:s}", "kind", kinds[i].kind);
        }
        if (rc == ERR_OK) {
            rc = db_tx_commit(tx, &err);
            tx = NULL;
        }
        db_tx_rollback(tx);
        nap(wp, 1000);
    }
    return NULL;
}

enum err_code worker_start(const struct config *cfg, struct db_pool *db, const char *instance,
                           struct worker_pool **out, struct err *err)
{
    struct worker_pool *wp = calloc(1, sizeof *wp);
    pthread_condattr_t ca;

    *out = NULL;
    if (wp == NULL)
        return err_set(err, ERR_NOMEM, "out of memory");
    wp->cfg = cfg;
    wp->db = db;
    wp->threads = calloc(cfg->workers + 1, sizeof *wp->threads);
    if (wp->threads == NULL) {
        free(wp);
        return err_set(err, ERR_NOMEM, "out of memory");
    }
    pthread_mutex_init(&wp->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&wp->cv, &ca);
    pthread_condattr_destroy(&ca);
    for (unsigned i = 0; i <= cfg->workers; i++) {
        struct worker_thread *t = &wp->threads[i];
        bool sched = i == cfg->workers;
        t->wp = wp;
        if (sched)
            snprintf(t->name, sizeof t->name, "%s/scheduler", instance);
        else
            snprintf(t->name, sizeof t->name, "%s/%u", instance, i);
        if (pthread_create(&t->tid, NULL, sched ? scheduler_main : worker_main, t) != 0) {
            worker_stop(wp);
            return err_set(err, ERR_INTERNAL, "cannot start worker threads");
        }
        wp->nthreads = i + 1;
    }
    *out = wp;
    return ERR_OK;
}

void worker_stop(struct worker_pool *wp)
{
    if (wp == NULL)
        return;
    pthread_mutex_lock(&wp->mu);
    atomic_store(&wp->stop, true);
    pthread_cond_broadcast(&wp->cv);
    pthread_mutex_unlock(&wp->mu);
    for (unsigned i = 0; i < wp->nthreads; i++)
        pthread_join(wp->threads[i].tid, NULL);
    pthread_cond_destroy(&wp->cv);
    pthread_mutex_destroy(&wp->mu);
    free(wp->threads);
    free(wp);
}
