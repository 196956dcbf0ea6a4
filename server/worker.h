/* worker - background job execution. N worker threads claim jobs from the database queue
 * (FOR UPDATE SKIP LOCKED, with a lease) and run them through a static table of job kinds; one
 * scheduler thread enqueues periodic jobs once per period across all instances. Instances
 * coordinate only through PostgreSQL. Start and stop from the main thread. */
#ifndef PARAPET_WORKER_H
#define PARAPET_WORKER_H

#include "db/db.h"
#include "server/config.h"

struct worker_pool;

/* Starts cfg->workers worker threads and the scheduler. instance names this process in
 * jobs.locked_by ("host:pid:nonce"). */
enum err_code worker_start(const struct config *cfg, struct db_pool *db, const char *instance,
                           struct worker_pool **out, struct err *err);

/* Asks every thread to stop after its current job and joins them. NULL-safe. */
void worker_stop(struct worker_pool *wp);

#endif
