/* metrics - request counters and latency histograms per route, kept in relaxed atomics so the
 * hot path takes no lock and allocates nothing, rendered as Prometheus text on demand.
 * metrics_init() once before threads start; then any thread may observe. */
#ifndef PARAPET_METRICS_H
#define PARAPET_METRICS_H

#include <stddef.h>

struct db_pool;

/* nroutes: size of the route table; route index -1 means "unmatched". Returns 0 or -1 (NOMEM). */
int metrics_init(size_t nroutes);
void metrics_free(void);

void metrics_observe(int route_index, unsigned status, double seconds);

/* Counts a job outcome by kind name ("succeeded", "failed", "retried"). */
void metrics_job_done(const char *outcome);

/* Renders everything as Prometheus text exposition format 0.0.4; the caller frees *out. The
 * database gauges (pool, jobs) are read from db; a db error leaves them out and sets
 * parapet_database_up 0. Returns 0 or -1 (NOMEM). */
int metrics_render(struct db_pool *db, char **out, size_t *len);

#endif
