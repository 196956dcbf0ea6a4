#include "server/metrics.h"

#include "api/api.h"
#include "db/db.h"
#include "server/sbuf.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const unsigned statuses[] = {200, 201, 202, 204, 304, 400, 401, 403, 404, 405,
                                    409, 413, 415, 422, 429, 500, 502, 503};
#define NSTATUS (sizeof statuses / sizeof statuses[0] + 1) /* + "other" */

static const double buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                 0.1,    0.25,  0.5,    1.0,   2.5,  5.0,   10.0};
#define NBUCKET (sizeof buckets / sizeof buckets[0])

struct route_metrics {
    atomic_ullong by_status[NSTATUS];
    atomic_ullong bucket[NBUCKET + 1]; /* last = +Inf */
    atomic_ullong sum_us;
};

static struct route_metrics *routes; /* nroutes + 1; index 0 = unmatched */
static size_t nslots;
static atomic_ullong jobs_succeeded, jobs_failed, jobs_retried;

int metrics_init(size_t nroutes)
{
    nslots = nroutes + 1;
    routes = calloc(nslots, sizeof *routes);
    return routes ? 0 : -1;
}

void metrics_free(void)
{
    free(routes);
    routes = NULL;
    nslots = 0;
}

static size_t status_slot(unsigned status)
{
    for (size_t i = 0; i < NSTATUS - 1; i++)
        if (statuses[i] == status)
            return i;
    return NSTATUS - 1;
}

void metrics_observe(int route_index, unsigned status, double seconds)
{
    size_t slot = route_index < 0 ? 0 : (size_t)route_index + 1;
    struct route_metrics *m;
    size_t b = 0;

    if (routes == NULL || slot >= nslots)
        return;
    m = &routes[slot];
    atomic_fetch_add_explicit(&m->by_status[status_slot(status)], 1, memory_order_relaxed);
    while (b < NBUCKET && seconds > buckets[b])
        b++;
    atomic_fetch_add_explicit(&m->bucket[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->sum_us, (unsigned long long)(seconds * 1e6),
                              memory_order_relaxed);
}

void metrics_job_done(const char *outcome)
{
    if (strcmp(outcome, "succeeded") == 0)
        atomic_fetch_add_explicit(&jobs_succeeded, 1, memory_order_relaxed);
    else if (strcmp(outcome, "failed") == 0)
        atomic_fetch_add_explicit(&jobs_failed, 1, memory_order_relaxed);
    else
        atomic_fetch_add_explicit(&jobs_retried, 1, memory_order_relaxed);
}

static void route_label(size_t slot, char *out, size_t n)
{
    if (slot == 0)
        snprintf(out, n, "method=\"\",route=\"unmatched\"");
    else
        snprintf(out, n, "method=\"%s\",route=\"%s\"", api_routes[slot - 1].method,
                 api_routes[slot - 1].pattern);
}

int metrics_render(struct db_pool *db, char **out, size_t *len)
{
    struct sbuf b = {.p = malloc(16384), .len = 0, .cap = 16384, .failed = false};
    char label[256];
    struct db_pool_stats ps;
    struct db_job_counts jc;
    struct err err;
    double hb_age = -1;
    bool db_up;

    if (b.p == NULL)
        return -1;
    b.p[0] = '\0';
    sb_printf(&b, "# HELP parapet_http_requests_total HTTP requests by route and status.\n"
                  "# TYPE parapet_http_requests_total counter\n");
    for (size_t s = 0; s < nslots; s++) {
        route_label(s, label, sizeof label);
        for (size_t i = 0; i < NSTATUS; i++) {
            unsigned long long v = atomic_load_explicit(&routes[s].by_status[i],
                                                        memory_order_relaxed);
            if (v == 0)
                continue;
            if (i == NSTATUS - 1)
                sb_printf(&b, "parapet_http_requests_total{%s,status=\"other\"} %llu\n", label,
                          v);
            else
                sb_printf(&b, "parapet_http_requests_total{%s,status=\"%u\"} %llu\n", label,
                          statuses[i], v);
        }
    }
    sb_printf(&b, "# HELP parapet_http_request_duration_seconds Time from request headers to "
                  "response queued.\n# TYPE parapet_http_request_duration_seconds histogram\n");
    for (size_t s = 0; s < nslots; s++) {
        unsigned long long cum = 0;
        route_label(s, label, sizeof label);
        for (size_t i = 0; i <= NBUCKET; i++)
            cum += atomic_load_explicit(&routes[s].bucket[i], memory_order_relaxed);
        if (cum == 0)
            continue;
        cum = 0;
        for (size_t i = 0; i <= NBUCKET; i++) {
            cum += atomic_load_explicit(&routes[s].bucket[i], memory_order_relaxed);
            if (i < NBUCKET)
                sb_printf(&b, "parapet_http_request_duration_seconds_bucket{%s,le=\"%g\"} %llu\n",
                          label, buckets[i], cum);
            else
                sb_printf(&b,
                          "parapet_http_request_duration_seconds_bucket{%s,le=\"+Inf\"} %llu\n",
                          label, cum);
        }
        sb_printf(&b, "parapet_http_request_duration_seconds_sum{%s} %.6f\n", label,
                  (double)atomic_load_explicit(&routes[s].sum_us, memory_order_relaxed) / 1e6);
        sb_printf(&b, "parapet_http_request_duration_seconds_count{%s} %llu\n", label, cum);
    }

    db_pool_stats(db, &ps);
    sb_printf(&b,
              "# HELP parapet_db_pool_connections Database pool connections by state.\n"
              "# TYPE parapet_db_pool_connections gauge\n"
              "parapet_db_pool_connections{state=\"in_use\"} %u\n"
              "parapet_db_pool_connections{state=\"idle\"} %u\n"
              "parapet_db_pool_connections{state=\"size\"} %u\n"
              "# HELP parapet_db_pool_waits_total Acquisitions that waited for a connection.\n"
              "# TYPE parapet_db_pool_waits_total counter\n"
              "parapet_db_pool_waits_total %llu\n"
              "# HELP parapet_db_pool_timeouts_total Acquisitions that gave up.\n"
              "# TYPE parapet_db_pool_timeouts_total counter\n"
              "parapet_db_pool_timeouts_total %llu\n",
              ps.in_use, ps.idle, ps.size, ps.waits, ps.timeouts);

    db_up = db_job_counts(db, &jc, &err) == ERR_OK;
    if (db_up) {
        sb_printf(&b,
                  "# HELP parapet_jobs Jobs in the queue by status.\n"
                  "# TYPE parapet_jobs gauge\n"
                  "parapet_jobs{status=\"queued\"} %lld\n"
                  "parapet_jobs{status=\"running\"} %lld\n"
                  "parapet_jobs{status=\"failed\"} %lld\n"
                  "parapet_jobs{status=\"succeeded\"} %lld\n",
                  jc.queued, jc.running, jc.failed, jc.succeeded);
        if (db_heartbeat_age(db, &hb_age, &err) == ERR_OK && hb_age >= 0)
            sb_printf(&b,
                      "# HELP parapet_worker_heartbeat_age_seconds Age of the newest worker "
                      "heartbeat.\n# TYPE parapet_worker_heartbeat_age_seconds gauge\n"
                      "parapet_worker_heartbeat_age_seconds %.3f\n",
                      hb_age);
    }
    sb_printf(&b,
              "# HELP parapet_database_up Whether the database answered this scrape.\n"
              "# TYPE parapet_database_up gauge\nparapet_database_up %d\n"
              "# HELP parapet_jobs_processed_total Jobs this instance finished, by outcome.\n"
              "# TYPE parapet_jobs_processed_total counter\n"
              "parapet_jobs_processed_total{outcome=\"succeeded\"} %llu\n"
              "parapet_jobs_processed_total{outcome=\"failed\"} %llu\n"
              "parapet_jobs_processed_total{outcome=\"retried\"} %llu\n",
              db_up ? 1 : 0, atomic_load(&jobs_succeeded), atomic_load(&jobs_failed),
              atomic_load(&jobs_retried));
    if (b.failed) {
        free(b.p);
        return -1;
    }
    *out = b.p;
    *len = b.len;
    return 0;
}
