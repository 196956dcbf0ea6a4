/* posture/scan - one scan of one cloud account: read every region's functions (with their
 * policies, URLs, concurrency, invoke configs, event sources and packages), the execution roles
 * (each once per scan) and the API Gateway APIs through cloud/, build one snapshot per region
 * (posture/inventory.md), run the rule table over it, and store resources and findings with
 * their lifecycle through db/. Progress is recorded as it goes; a scan that could not read
 * everything completes as succeeded but not `complete`, and never resolves findings. */
#ifndef PARAPET_POSTURE_SCAN_H
#define PARAPET_POSTURE_SCAN_H

#include "db/db.h"
#include "server/err.h"

#include <stdint.h>

struct posture_scan_opts {
    unsigned parallel;     /* AWS calls in flight per scan (PARAPET_SCAN_PARALLEL) */
    size_t max_code_bytes; /* function packages larger than this are not read */
    const char *advisory_dir; /* OSV advisories (PARAPET_ADVISORY_DIR); NULL = no dependency scan */
    int64_t job_id;            /* the job running the scan: its lease is renewed as it goes */
    const char *worker;
    unsigned lease_s;
};

/* Runs scan scan_id of tenant_id (a "scan" job). ERR_OK when the scan reached an end (its row
 * says succeeded or failed, with errors); other codes when it should be retried (database
 * unavailable). */
enum err_code posture_scan_run(struct db_pool *db, const struct posture_scan_opts *opts,
                               const char *tenant_id, const char *scan_id, struct err *err);

/* Queues scans for active accounts that are due (the "scan.schedule" job). */
enum err_code posture_schedule(struct db_tx *tx, unsigned *queued, struct err *err);

#endif
