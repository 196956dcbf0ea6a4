/* Scans, resources and findings (migrations/0005_posture.sql). Batches go in as one JSON
 * parameter expanded with jsonb_to_recordset: one statement per batch, however many rows. */
#include "db/db_int.h"

#include <stdio.h>
#include <stdlib.h>

#define SCAN_JSON                                                                               \
    "json_build_object('id', s.scan_id, 'account_id', s.account_id, 'trigger', s.trigger,"     \
    "  'status', s.status, 'complete', s.complete, 'progress',"                               \
    "  json_build_object('done', s.progress_done, 'total', s.progress_total),"                \
    "  'stats', s.stats, 'errors', s.errors, 'created_at', " TS("s.created_at") ","          \
    "  'started_at', " TS("s.started_at") ", 'finished_at', " TS("s.finished_at") ")"

static enum err_code json_param(const json_t *v, char **out, struct err *err)
{
    *out = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    return *out ? ERR_OK : err_set(err, ERR_NOMEM, "out of memory");
}

static const struct db_stmt scan_create_stmt = {
    "scan_create",
    "WITH a AS (SELECT account_id, status FROM cloud_accounts WHERE account_id = $1),"
    " s AS (INSERT INTO scans (tenant_id, scan_id, account_id, trigger, requested_by)"
    "       SELECT app_tenant(), gen_random_uuid(), a.account_id, $2, $3 FROM a"
    "        WHERE a.status = 'active' RETURNING *)"
    " SELECT " SCAN_JSON " FROM s",
    3};

static const struct db_stmt scan_active_stmt = {
    "scan_active",
    "SELECT " SCAN_JSON " FROM scans s WHERE s.account_id = $1"
    " AND s.status IN ('queued', 'running')",
    1};

enum err_code db_scan_create(struct db_tx *tx, const char *tenant_id, const char *account_id,
                             const char *trigger, const char *requested_by, json_t **out,
                             struct err *err)
{
    const char *p[3] = {account_id, trigger, requested_by};
    enum err_code rc = db_exec_json(tx, &scan_create_stmt, p, out, err);
    bool created = false;
    char payload[96], key[64];

    if (rc == ERR_CONFLICT) /* one is queued or running already */
        return err_set(err, ERR_CONFLICT, "a scan of this account is already queued or running");
    if (rc != ERR_OK || *out == NULL)
        return rc;
    const char *id = json_string_value(json_object_get(*out, "id"));
    snprintf(payload, sizeof payload, "{\"scan_id\":\"%s\"}", id);
    snprintf(key, sizeof key, "scan:%s", id);
    rc = db_job_enqueue(tx, "scan", tenant_id, payload, key, 0, &created, err);
    if (rc != ERR_OK) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

enum err_code db_scan_active(struct db_tx *tx, const char *account_id, json_t **out,
                             struct err *err)
{
    const char *p[1] = {account_id};
    return db_exec_json(tx, &scan_active_stmt, p, out, err);
}

static const struct db_stmt scan_get_stmt = {
    "scan_get", "SELECT " SCAN_JSON " FROM scans s WHERE s.scan_id = $1", 1};

enum err_code db_scan_get(struct db_tx *tx, const char *scan_id, json_t **out, struct err *err)
{
    const char *p[1] = {scan_id};
    return db_exec_json(tx, &scan_get_stmt, p, out, err);
}

static const struct db_stmt scan_list_stmt = {
    "scan_list",
    "SELECT " SCAN_JSON ", s.scan_id FROM scans s"
    " WHERE ($2::uuid IS NULL OR s.scan_id > $2::uuid)"
    "   AND ($3::uuid IS NULL OR s.account_id = $3::uuid)"
    " ORDER BY s.scan_id LIMIT $1::int",
    3};

enum err_code db_scan_list(struct db_tx *tx, const char *account_id, int limit, const char *after,
                           struct db_text_page *page, struct err *err)
{
    const char *f[1] = {account_id};
    return db_list_text(tx, &scan_list_stmt, limit, after, f, 1, &page->json, &page->len,
                        page->next, sizeof page->next, err);
}

static const struct db_stmt scan_start_stmt = {
    "scan_start",
    "WITH s AS (UPDATE scans SET status = 'running', started_at = coalesce(started_at, now())"
    "            WHERE scan_id = $1 AND status IN ('queued', 'running') RETURNING account_id)"
    " SELECT json_build_object('id', a.account_id, 'aws_account_id', a.aws_account_id,"
    "   'regions', to_json(a.regions), 'role_arn', a.role_arn, 'external_id', a.external_id,"
    "   'status', a.status, 'trusted_accounts', (SELECT coalesce(json_agg(o.aws_account_id), '[]')"
    "     FROM cloud_accounts o WHERE o.account_id <> a.account_id))"
    " FROM s JOIN cloud_accounts a ON a.account_id = s.account_id",
    1};

enum err_code db_scan_start(struct db_tx *tx, const char *scan_id, json_t **account,
                            struct err *err)
{
    const char *p[1] = {scan_id};
    return db_exec_json(tx, &scan_start_stmt, p, account, err);
}

static const struct db_stmt scan_progress_stmt = {
    "scan_progress",
    "UPDATE scans SET progress_done = $2::int, progress_total = $3::int WHERE scan_id = $1", 3};

enum err_code db_scan_progress(struct db_tx *tx, const char *scan_id, int done, int total,
                               struct err *err)
{
    char d[16], t[16];
    snprintf(d, sizeof d, "%d", done);
    snprintf(t, sizeof t, "%d", total);
    const char *p[3] = {scan_id, d, t};
    return db_exec_count(tx, &scan_progress_stmt, p, NULL, err);
}

static const struct db_stmt scan_finish_stmt = {
    "scan_finish",
    "WITH s AS (UPDATE scans SET status = $2, complete = $3::boolean, stats = $4::jsonb,"
    "             errors = $5::jsonb, finished_at = now(),"
    "             progress_done = greatest(progress_done, progress_total)"
    "            WHERE scan_id = $1 RETURNING account_id)"
    " UPDATE cloud_accounts a SET last_scan_at = now(),"
    "   next_scan_at = now() + make_interval(secs => a.scan_interval_s),"
    "   last_error = CASE WHEN $2 = 'failed' THEN ($5::jsonb -> 0 ->> 'message') ELSE NULL END"
    " FROM s WHERE a.account_id = s.account_id",
    5};

enum err_code db_scan_finish(struct db_tx *tx, const char *scan_id, const char *status,
                             bool complete, const json_t *stats, const json_t *errors,
                             struct err *err)
{
    char *st = NULL, *er = NULL;
    enum err_code rc = json_param(stats, &st, err);

    if (rc == ERR_OK)
        rc = json_param(errors, &er, err);
    if (rc == ERR_OK) {
        const char *p[5] = {scan_id, status, complete ? "true" : "false", st, er};
        rc = db_exec_count(tx, &scan_finish_stmt, p, NULL, err);
    }
    free(st);
    free(er);
    return rc;
}

static const struct db_stmt schedule_stmt = {
    "scan_schedule", "SELECT posture_schedule_due($1::int)::text", 1};

enum err_code db_scan_schedule_due(struct db_tx *tx, int limit, unsigned *queued,
                                   struct err *err)
{
    char l[16];
    PGresult *r = NULL;
    snprintf(l, sizeof l, "%d", limit);
    const char *p[1] = {l};
    enum err_code rc = db_run(tx, &schedule_stmt, p, &r, err);

    *queued = 0;
    if (rc == ERR_OK && PQntuples(r) == 1)
        *queued = (unsigned)strtoul(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return rc;
}

/* ---- resources ---- */

static const struct db_stmt resources_upsert_stmt = {
    "resources_upsert",
    "INSERT INTO resources (tenant_id, resource_id, account_id, region, type, arn, name, data,"
    "                       links, code_sha256, dependencies, vulnerabilities, last_scan_id)"
    " SELECT app_tenant(), gen_random_uuid(), $1::uuid, x.region, x.type, x.arn,"
    "        coalesce(x.name, x.arn), x.data, coalesce(x.links, '{}'::jsonb), x.code_sha256,"
    "        x.dependencies, x.vulnerabilities, $2::uuid"
    "   FROM jsonb_to_recordset($3::jsonb) AS x(type text, arn text, region text, name text,"
    "        data jsonb, links jsonb, code_sha256 text, dependencies jsonb,"
    "        vulnerabilities jsonb)"
    " ON CONFLICT (tenant_id, account_id, arn) DO UPDATE SET region = EXCLUDED.region,"
    "   name = EXCLUDED.name, data = EXCLUDED.data, links = EXCLUDED.links,"
    "   code_sha256 = EXCLUDED.code_sha256, dependencies = EXCLUDED.dependencies,"
    "   vulnerabilities = EXCLUDED.vulnerabilities, last_seen = now(),"
    "   last_scan_id = EXCLUDED.last_scan_id, removed_at = NULL",
    3};

enum err_code db_resources_upsert(struct db_tx *tx, const char *account_id, const char *scan_id,
                                  const json_t *resources, struct err *err)
{
    char *text = NULL;
    enum err_code rc = json_param(resources, &text, err);

    if (rc == ERR_OK) {
        const char *p[3] = {account_id, scan_id, text};
        rc = db_exec_count(tx, &resources_upsert_stmt, p, NULL, err);
    }
    free(text);
    return rc;
}

#define RESOURCE_JSON                                                                           \
    "json_build_object('id', r.resource_id, 'account_id', r.account_id, 'region', r.region,"   \
    "  'type', r.type, 'arn', r.arn, 'name', r.name, 'links', r.links,"                        \
    "  'first_seen', " TS("r.first_seen") ", 'last_seen', " TS("r.last_seen") ","              \
    "  'removed_at', " TS("r.removed_at") ","                                                   \
    "  'open_findings', (SELECT count(*) FROM findings f WHERE f.resource_id = r.resource_id"  \
    "                      AND f.status = 'open')"

static const struct db_stmt resource_list_stmt = {
    "resource_list",
    "SELECT " RESOURCE_JSON "), r.resource_id FROM resources r"
    " WHERE ($2::uuid IS NULL OR r.resource_id > $2::uuid)"
    "   AND ($3::uuid IS NULL OR r.account_id = $3::uuid) AND ($4::text IS NULL OR r.type = $4)"
    "   AND r.removed_at IS NULL"
    " ORDER BY r.resource_id LIMIT $1::int",
    4};

enum err_code db_resource_list(struct db_tx *tx, const char *account_id, const char *type,
                               int limit, const char *after, struct db_text_page *page,
                               struct err *err)
{
    const char *f[2] = {account_id, type};
    return db_list_text(tx, &resource_list_stmt, limit, after, f, 2, &page->json, &page->len,
                        page->next, sizeof page->next, err);
}

static const struct db_stmt resource_get_stmt = {
    "resource_get",
    "SELECT " RESOURCE_JSON ", 'data', r.data, 'dependencies', r.dependencies,"
    "  'vulnerabilities', r.vulnerabilities, 'code_sha256', r.code_sha256)"
    " FROM resources r WHERE r.resource_id = $1",
    1};

enum err_code db_resource_get(struct db_tx *tx, const char *resource_id, json_t **out,
                              struct err *err)
{
    const char *p[1] = {resource_id};
    return db_exec_json(tx, &resource_get_stmt, p, out, err);
}

/* ---- findings ---- */

#define FINDING_JSON                                                                            \
    "json_build_object('id', f.finding_id, 'account_id', f.account_id, 'resource_id',"         \
    "  f.resource_id, 'resource_arn', f.resource_arn, 'rule_id', f.rule_id, 'subject',"        \
    "  f.subject, 'category', f.category, 'severity', f.severity, 'title', f.title,"           \
    "  'status', f.status, 'evidence', f.evidence, 'first_seen', " TS("f.first_seen") ","      \
    "  'last_seen', " TS("f.last_seen") ", 'resolved_at', " TS("f.resolved_at") ","            \
    "  'reopened', f.reopened, 'suppression', CASE WHEN f.status = 'suppressed' THEN"          \
    "    json_build_object('reason', f.suppressed_reason, 'by', f.suppressed_by, 'at', "       \
    TS("f.suppressed_at") ", 'until', " TS("f.suppressed_until") ") END)"

/* Returns the findings that are new or reopened by this scan (status open now, and absent or
 * resolved before), with their ids: those get finding.opened events. */
static const struct db_stmt findings_upsert_stmt = {
    "findings_upsert",
    "WITH input AS (SELECT * FROM jsonb_to_recordset($3::jsonb) AS x(fingerprint text,"
    "                 rule_id text, subject text, resource_arn text, category text,"
    "                 severity text, title text, evidence jsonb)),"
    " old AS MATERIALIZED (SELECT f.fingerprint, f.status FROM findings f JOIN input i"
    "          ON i.fingerprint = f.fingerprint),"
    " up AS (INSERT INTO findings (tenant_id, finding_id, account_id, resource_id, resource_arn,"
    "          rule_id, subject, fingerprint, category, severity, title, evidence, last_scan_id)"
    "        SELECT app_tenant(), gen_random_uuid(), $1::uuid, r.resource_id, i.resource_arn,"
    "          i.rule_id, coalesce(i.subject, ''), i.fingerprint, i.category, i.severity,"
    "          i.title, coalesce(i.evidence, '{}'::jsonb), $2::uuid"
    "          FROM input i JOIN resources r ON r.account_id = $1::uuid AND r.arn = i.resource_arn"
    "        ON CONFLICT (tenant_id, fingerprint) DO UPDATE SET last_seen = now(),"
    "          evidence = EXCLUDED.evidence, severity = EXCLUDED.severity,"
    "          title = EXCLUDED.title, category = EXCLUDED.category,"
    "          last_scan_id = EXCLUDED.last_scan_id, resource_id = EXCLUDED.resource_id,"
    "          status = CASE WHEN findings.status = 'resolved' THEN 'open'"
    "                        WHEN findings.status = 'suppressed'"
    "                         AND findings.suppressed_until < now() THEN 'open'"
    "                        ELSE findings.status END,"
    "          resolved_at = CASE WHEN findings.status = 'resolved' THEN NULL"
    "                             ELSE findings.resolved_at END,"
    "          reopened = findings.reopened + (findings.status = 'resolved')::int"
    "        RETURNING finding_id, fingerprint, status, severity, title, rule_id, resource_arn,"
    "          category)"
    " SELECT json_build_object('finding_id', up.finding_id, 'severity', up.severity, 'title',"
    "          up.title, 'rule_id', up.rule_id, 'resource_arn', up.resource_arn, 'category',"
    "          up.category)"
    "   FROM up LEFT JOIN old ON old.fingerprint = up.fingerprint"
    "  WHERE up.status = 'open' AND (old.status IS NULL OR old.status <> 'open')",
    3};

enum err_code db_findings_upsert(struct db_tx *tx, const char *account_id, const char *scan_id,
                                 const json_t *findings, json_t **opened, struct err *err)
{
    char *text = NULL;
    PGresult *r = NULL;
    enum err_code rc = json_param(findings, &text, err);

    *opened = json_array();
    if (rc == ERR_OK) {
        const char *p[3] = {account_id, scan_id, text};
        rc = db_run(tx, &findings_upsert_stmt, p, &r, err);
    }
    for (int i = 0; rc == ERR_OK && i < PQntuples(r); i++)
        json_array_append_new(*opened, json_loads(PQgetvalue(r, i, 0), 0, NULL));
    PQclear(r);
    free(text);
    return rc;
}

static const struct db_stmt findings_resolve_stmt = {
    "findings_resolve",
    "WITH f AS (UPDATE findings SET status = 'resolved', resolved_at = now()"
    "            WHERE account_id = $1 AND status = 'open'"
    "              AND last_scan_id IS DISTINCT FROM $2::uuid RETURNING 1),"
    " r AS (UPDATE resources SET removed_at = now()"
    "        WHERE account_id = $1 AND removed_at IS NULL"
    "          AND last_scan_id IS DISTINCT FROM $2::uuid RETURNING 1)"
    " SELECT (SELECT count(*) FROM f) + 0 * (SELECT count(*) FROM r)",
    2};

enum err_code db_findings_resolve(struct db_tx *tx, const char *account_id, const char *scan_id,
                                  long long *resolved, struct err *err)
{
    const char *p[2] = {account_id, scan_id};
    PGresult *r = NULL;
    enum err_code rc = db_run(tx, &findings_resolve_stmt, p, &r, err);

    *resolved = 0;
    if (rc == ERR_OK && PQntuples(r) == 1)
        *resolved = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return rc;
}

static const struct db_stmt finding_list_stmt = {
    "finding_list",
    "SELECT " FINDING_JSON ", f.finding_id FROM findings f"
    " WHERE ($2::uuid IS NULL OR f.finding_id > $2::uuid)"
    "   AND ($3::uuid IS NULL OR f.account_id = $3::uuid)"
    "   AND ($4::uuid IS NULL OR f.resource_id = $4::uuid)"
    "   AND ($5::text IS NULL OR f.severity = $5) AND ($6::text IS NULL OR f.status = $6)"
    "   AND ($7::text IS NULL OR f.rule_id = $7)"
    " ORDER BY f.finding_id LIMIT $1::int",
    7};

enum err_code db_finding_list(struct db_tx *tx, const struct db_finding_filter *flt, int limit,
                              const char *after, struct db_text_page *page, struct err *err)
{
    const char *f[5] = {flt->account_id, flt->resource_id, flt->severity, flt->status,
                        flt->rule_id};
    return db_list_text(tx, &finding_list_stmt, limit, after, f, 5, &page->json, &page->len,
                        page->next, sizeof page->next, err);
}

static const struct db_stmt finding_get_stmt = {
    "finding_get", "SELECT " FINDING_JSON " FROM findings f WHERE f.finding_id = $1", 1};

enum err_code db_finding_get(struct db_tx *tx, const char *finding_id, json_t **out,
                             struct err *err)
{
    const char *p[1] = {finding_id};
    return db_exec_json(tx, &finding_get_stmt, p, out, err);
}

static const struct db_stmt finding_suppress_stmt = {
    "finding_suppress",
    "UPDATE findings f SET status = 'suppressed', suppressed_reason = $2, suppressed_by = $3,"
    "  suppressed_at = now(), suppressed_until = $4::timestamptz"
    " WHERE f.finding_id = $1 RETURNING " FINDING_JSON,
    4};

static const struct db_stmt finding_reopen_stmt = {
    "finding_reopen",
    "UPDATE findings f SET status = CASE WHEN f.status = 'suppressed' THEN 'open'"
    "  ELSE f.status END, suppressed_reason = NULL, suppressed_by = NULL,"
    "  suppressed_at = NULL, suppressed_until = NULL"
    " WHERE f.finding_id = $1 RETURNING " FINDING_JSON,
    1};

enum err_code db_finding_set_status(struct db_tx *tx, const char *finding_id, bool suppress,
                                    const char *reason, const char *by, const char *until,
                                    json_t **out, struct err *err)
{
    if (suppress) {
        const char *p[4] = {finding_id, reason, by, until};
        return db_exec_json(tx, &finding_suppress_stmt, p, out, err);
    }
    const char *p[1] = {finding_id};
    return db_exec_json(tx, &finding_reopen_stmt, p, out, err);
}

/* The score: 100 minus weighted open findings (critical 20, high 8, medium 3, low 1, info 0),
 * divided by the number of functions scanned so that large estates are not punished for size
 * alone: score = max(0, round(100 - 100 * weight / (weight + 10 * max(functions, 1)))). */
static const struct db_stmt summary_stmt = {
    "posture_summary",
    "WITH f AS (SELECT * FROM findings WHERE status = 'open'"
    "             AND ($1::uuid IS NULL OR account_id = $1::uuid)),"
    " w AS (SELECT coalesce(sum(CASE severity WHEN 'critical' THEN 20 WHEN 'high' THEN 8"
    "         WHEN 'medium' THEN 3 WHEN 'low' THEN 1 ELSE 0 END), 0) AS weight FROM f),"
    " n AS (SELECT count(*) AS functions FROM resources WHERE type = 'aws.lambda.function'"
    "         AND removed_at IS NULL AND ($1::uuid IS NULL OR account_id = $1::uuid)),"
    " acc AS (SELECT a.account_id, a.name,"
    "          (SELECT coalesce(sum(CASE severity WHEN 'critical' THEN 20 WHEN 'high' THEN 8"
    "             WHEN 'medium' THEN 3 WHEN 'low' THEN 1 ELSE 0 END), 0) FROM findings x"
    "            WHERE x.account_id = a.account_id AND x.status = 'open') AS weight,"
    "          (SELECT count(*) FROM resources r WHERE r.account_id = a.account_id"
    "            AND r.type = 'aws.lambda.function' AND r.removed_at IS NULL) AS functions,"
    "          a.last_scan_at"
    "          FROM cloud_accounts a WHERE ($1::uuid IS NULL OR a.account_id = $1::uuid))"
    " SELECT json_build_object("
    "  'score', greatest(0, round(100 - 100.0 * w.weight"
    "            / (w.weight + 10 * greatest(n.functions, 1))))::int,"
    "  'formula', 'score = round(100 - 100 * W / (W + 10 * max(F, 1))), W = 20 per open"
    " critical, 8 per high, 3 per medium, 1 per low finding; F = functions scanned',"
    "  'open_findings', (SELECT count(*) FROM f), 'functions', n.functions,"
    "  'by_severity', (SELECT coalesce(json_object_agg(severity, c), '{}') FROM"
    "     (SELECT severity, count(*) c FROM f GROUP BY severity) s),"
    "  'by_category', (SELECT coalesce(json_object_agg(category, c), '{}') FROM"
    "     (SELECT category, count(*) c FROM f GROUP BY category) s),"
    "  'accounts', (SELECT coalesce(json_agg(json_build_object('account_id', account_id,"
    "     'name', name, 'functions', functions, 'open_weight', weight, 'last_scan_at', "
    TS("last_scan_at") ", 'score', greatest(0, round(100 - 100.0 * weight"
    "     / (weight + 10 * greatest(functions, 1))))::int) ORDER BY name), '[]') FROM acc),"
    "  'riskiest_functions', (SELECT coalesce(json_agg(x ORDER BY (x->>'weight')::int DESC,"
    "     x->>'arn'), '[]') FROM (SELECT json_build_object('arn', resource_arn, 'resource_id',"
    "     resource_id, 'weight', sum(CASE severity WHEN 'critical' THEN 20 WHEN 'high' THEN 8"
    "     WHEN 'medium' THEN 3 WHEN 'low' THEN 1 ELSE 0 END), 'open_findings', count(*)) x"
    "     FROM f WHERE resource_arn LIKE 'arn:aws:lambda:%' GROUP BY resource_arn, resource_id"
    "     ORDER BY sum(CASE severity WHEN 'critical' THEN 20 WHEN 'high' THEN 8"
    "     WHEN 'medium' THEN 3 WHEN 'low' THEN 1 ELSE 0 END) DESC, resource_arn LIMIT 10) t))"
    " FROM w, n",
    1};

enum err_code db_posture_summary(struct db_tx *tx, const char *account_id, json_t **out,
                                 struct err *err)
{
    const char *p[1] = {account_id};
    return db_exec_json(tx, &summary_stmt, p, out, err);
}

static const struct db_stmt previous_stmt = {
    "resources_previous",
    "SELECT coalesce(json_object_agg(arn, json_build_object('data', data, 'code_sha256',"
    "  code_sha256, 'dependencies', dependencies, 'vulnerabilities', vulnerabilities)), '{}')"
    " FROM resources WHERE account_id = $1 AND type = 'aws.lambda.function'"
    "   AND removed_at IS NULL",
    1};

enum err_code db_resources_previous(struct db_tx *tx, const char *account_id, json_t **out,
                                    struct err *err)
{
    const char *p[1] = {account_id};
    enum err_code rc = db_exec_json(tx, &previous_stmt, p, out, err);
    if (rc == ERR_OK && *out == NULL)
        *out = json_object();
    return rc;
}
