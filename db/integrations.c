/* Integrations, their deliveries and the JIRA issues remembered per subject; the queries of the
 * notification dispatcher and delivery worker (integrations/outbox.c). */
#include "db/db_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INTG_JSON                                                                               \
    "json_build_object('id', integration_id, 'kind', kind, 'name', name, 'config', config,"    \
    "  'min_severity', min_severity, 'events', to_json(events), 'enabled', enabled,"           \
    "  'created_at', " TS("created_at") ", 'updated_at', " TS("updated_at") ")"

void db_intg_clear(struct db_intg *in)
{
    if (in == NULL)
        return;
    free(in->config);
    free(in->events);
    free(in->secrets_hex);
    memset(in, 0, sizeof *in);
}

static const struct db_stmt create_stmt = {
    "intg_create",
    "INSERT INTO integrations (tenant_id, integration_id, kind, name, config, secrets,"
    "                          min_severity, events, enabled, min_interval_ms)"
    " VALUES (app_tenant(), $1, $2, $3, $4::jsonb, decode($5, 'hex'), $6,"
    "         ARRAY(SELECT jsonb_array_elements_text($7::jsonb)), $8::boolean, $9::int)"
    " RETURNING " INTG_JSON,
    9};

enum err_code db_intg_create(struct db_tx *tx, const struct db_intg *in, unsigned min_interval_ms,
                             json_t **out, struct err *err)
{
    char interval[16];
    const char *p[9] = {in->id,          in->kind,   in->name,
                        in->config,      in->secrets_hex, in->min_severity,
                        in->events,      in->enabled ? "true" : "false", interval};
    snprintf(interval, sizeof interval, "%u", min_interval_ms);
    return db_exec_json(tx, &create_stmt, p, out, err);
}

static const struct db_stmt load_stmt = {
    "intg_load",
    "SELECT kind, name, config::text, encode(secrets, 'hex'), min_severity,"
    "       to_json(events)::text, enabled"
    "  FROM integrations WHERE integration_id = $1 FOR UPDATE",
    1};

enum err_code db_intg_load(struct db_tx *tx, const char *id, struct db_intg *out, bool *found,
                           struct err *err)
{
    const char *p[1] = {id};
    PGresult *r = NULL;
    enum err_code rc;

    memset(out, 0, sizeof *out);
    *found = false;
    rc = db_run(tx, &load_stmt, p, &r, err);
    if (rc == ERR_OK && PQntuples(r) == 1) {
        snprintf(out->id, sizeof out->id, "%s", id);
        snprintf(out->kind, sizeof out->kind, "%s", PQgetvalue(r, 0, 0));
        snprintf(out->name, sizeof out->name, "%s", PQgetvalue(r, 0, 1));
        out->config = strdup(PQgetvalue(r, 0, 2));
        out->secrets_hex = strdup(PQgetvalue(r, 0, 3));
        snprintf(out->min_severity, sizeof out->min_severity, "%s", PQgetvalue(r, 0, 4));
        out->events = strdup(PQgetvalue(r, 0, 5));
        out->enabled = PQgetvalue(r, 0, 6)[0] == 't';
        if (out->config == NULL || out->secrets_hex == NULL || out->events == NULL) {
            db_intg_clear(out);
            rc = err_set(err, ERR_NOMEM, "out of memory");
        } else {
            *found = true;
        }
    }
    PQclear(r);
    return rc;
}

static const struct db_stmt update_stmt = {
    "intg_update",
    "UPDATE integrations SET name = $2, config = $3::jsonb, secrets = decode($4, 'hex'),"
    "       min_severity = $5, events = ARRAY(SELECT jsonb_array_elements_text($6::jsonb)),"
    "       enabled = $7::boolean, updated_at = now()"
    " WHERE integration_id = $1 RETURNING " INTG_JSON,
    7};

enum err_code db_intg_update(struct db_tx *tx, const struct db_intg *in, json_t **out,
                             struct err *err)
{
    const char *p[7] = {in->id,           in->name,   in->config,
                        in->secrets_hex,  in->min_severity, in->events,
                        in->enabled ? "true" : "false"};
    return db_exec_json(tx, &update_stmt, p, out, err);
}

static const struct db_stmt get_stmt = {
    "intg_get", "SELECT " INTG_JSON " FROM integrations WHERE integration_id = $1", 1};

enum err_code db_intg_get(struct db_tx *tx, const char *id, json_t **out, struct err *err)
{
    const char *p[1] = {id};
    return db_exec_json(tx, &get_stmt, p, out, err);
}

static const struct db_stmt list_stmt = {
    "intg_list",
    "SELECT " INTG_JSON ", integration_id FROM integrations"
    " WHERE ($2::uuid IS NULL OR integration_id > $2::uuid) ORDER BY integration_id LIMIT $1::int",
    2};

enum err_code db_intg_list(struct db_tx *tx, int limit, const char *after, json_t **items,
                           char *next, size_t nextlen, struct err *err)
{
    return db_list_json(tx, &list_stmt, limit, after, items, next, nextlen, err);
}

static const struct db_stmt delete_stmt = {
    "intg_delete", "DELETE FROM integrations WHERE integration_id = $1", 1};

enum err_code db_intg_delete(struct db_tx *tx, const char *id, bool *found, struct err *err)
{
    const char *p[1] = {id};
    return db_exec_found(tx, &delete_stmt, p, found, err);
}

static const struct db_stmt delivery_list_stmt = {
    "delivery_list",
    "SELECT json_build_object('id', d.delivery_id, 'event_id', d.event_id, 'event', e.kind,"
    "         'subject_id', d.subject_id, 'severity', e.severity, 'status', d.status,"
    "         'attempts', d.attempts, 'last_status', d.last_status, 'last_error', d.last_error,"
    "         'next_attempt_at', CASE WHEN d.status = 'pending' THEN " TS("d.next_attempt_at")
    "         END, 'created_at', " TS("d.created_at") ", 'delivered_at', "
    TS("d.delivered_at") "), d.delivery_id"
    "  FROM deliveries d JOIN events_outbox e"
    "    ON e.tenant_id = d.tenant_id AND e.event_id = d.event_id"
    " WHERE d.integration_id = $3::uuid"
    "   AND ($2::bigint IS NULL OR d.delivery_id < $2::bigint)"
    " ORDER BY d.delivery_id DESC LIMIT $1::int",
    3};

enum err_code db_delivery_list(struct db_tx *tx, const char *integration_id, int limit,
                               const char *before, json_t **items, char *next, size_t nextlen,
                               struct err *err)
{
    return db_list_json_by(tx, &delivery_list_stmt, limit, before, integration_id, items, next,
                           nextlen, err);
}

static const struct db_stmt retry_stmt = {
    "delivery_retry",
    "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = now(),"
    "       locked_until = NULL, locked_by = NULL"
    " WHERE integration_id = $1 AND status = 'dead'"
    "   AND ($2::jsonb IS NULL"
    "        OR delivery_id IN (SELECT jsonb_array_elements_text($2::jsonb)::bigint))",
    2};

enum err_code db_delivery_retry(struct db_tx *tx, const char *integration_id,
                                const char *ids_json, long long *n, struct err *err)
{
    const char *p[2] = {integration_id, ids_json};
    return db_exec_count(tx, &retry_stmt, p, n, err);
}

/* ---- the dispatcher and the delivery worker ---- */

static const struct db_stmt tenants_stmt = {
    "notify_tenants", "SELECT tenant_id FROM notify_tenants_with_work($1::int)", 1};

enum err_code db_notify_tenants(struct db_tx *tx, unsigned limit, char (*out)[DB_ID_LEN],
                                unsigned *n, struct err *err)
{
    char lim[16];
    const char *p[1] = {lim};
    PGresult *r = NULL;
    enum err_code rc;

    *n = 0;
    snprintf(lim, sizeof lim, "%u", limit);
    rc = db_run(tx, &tenants_stmt, p, &r, err);
    for (int i = 0; rc == ERR_OK && i < PQntuples(r) && (unsigned)i < limit; i++)
        snprintf(out[(*n)++], DB_ID_LEN, "%s", PQgetvalue(r, i, 0));
    PQclear(r);
    return rc;
}

/* Fans pending events out into deliveries (an integration takes an event when the event's kind
 * is in its list and the severity reaches its minimum) and marks them dispatched, in one
 * statement. The unique (integration, event) key makes a repeat harmless. */
static const struct db_stmt dispatch_stmt = {
    "notify_dispatch",
    "WITH ev AS ("
    "  SELECT tenant_id, event_id, kind, subject_id, severity FROM events_outbox"
    "   WHERE dispatched_at IS NULL ORDER BY event_id LIMIT $1::int FOR UPDATE SKIP LOCKED),"
    " ins AS ("
    "  INSERT INTO deliveries (tenant_id, integration_id, event_id, subject_id)"
    "  SELECT ev.tenant_id, i.integration_id, ev.event_id, ev.subject_id"
    "    FROM ev JOIN integrations i ON i.tenant_id = ev.tenant_id"
    "   WHERE i.enabled AND ev.kind = ANY (i.events)"
    "     AND array_position(ARRAY['info','low','medium','high','critical'], ev.severity) >="
    "         array_position(ARRAY['info','low','medium','high','critical'], i.min_severity)"
    "   ORDER BY ev.event_id, i.integration_id"
    "  ON CONFLICT DO NOTHING RETURNING 1),"
    " upd AS ("
    "  UPDATE events_outbox e SET dispatched_at = now() FROM ev"
    "   WHERE e.tenant_id = ev.tenant_id AND e.event_id = ev.event_id RETURNING 1)"
    " SELECT (SELECT count(*) FROM upd), (SELECT count(*) FROM ins)",
    1};

enum err_code db_notify_dispatch(struct db_tx *tx, unsigned limit, long long *events,
                                 long long *deliveries, struct err *err)
{
    char lim[16];
    const char *p[1] = {lim};
    PGresult *r = NULL;
    enum err_code rc;

    *events = *deliveries = 0;
    snprintf(lim, sizeof lim, "%u", limit);
    rc = db_run(tx, &dispatch_stmt, p, &r, err);
    if (rc == ERR_OK && PQntuples(r) == 1) {
        *events = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        *deliveries = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    }
    PQclear(r);
    return rc;
}

/* Claims due deliveries under a lease: per integration at most $4 (batching sinks $5, rate-limited
 * ones 1 and only when their next slot has come), none of the integrations in $3 (those the
 * caller already has enough of in flight), and only the first unfinished delivery of each story
 * (integration and subject), so a story's messages go out in order. (That test is a scalar
 * min() rather than NOT EXISTS: the planner keeps it an index probe even on stale statistics.) A
 * rate-limited integration's next slot moves forward in the same statement. */
static const struct db_stmt claim_stmt = {
    "notify_claim",
    "WITH c AS ("
    "  SELECT x.delivery_id, x.integration_id, x.event_id, i.min_interval_ms"
    "    FROM integrations i"
    "    LEFT JOIN LATERAL (SELECT u.l FROM unnest($7::uuid[], $8::int[]) AS u(id, l)"
    "                        WHERE u.id = i.integration_id) w ON true"
    "    CROSS JOIN LATERAL ("
    "      SELECT d.delivery_id, d.integration_id, d.event_id FROM deliveries d"
    "       WHERE d.tenant_id = i.tenant_id AND d.integration_id = i.integration_id"
    "         AND ((d.status = 'pending' AND d.next_attempt_at <= now())"
    "              OR (d.status = 'sending' AND d.locked_until < now()))"
    "         AND d.delivery_id = (SELECT min(p.delivery_id) FROM deliveries p"
    "              WHERE p.tenant_id = d.tenant_id AND p.integration_id = d.integration_id"
    "                AND p.subject_id = d.subject_id AND p.status IN ('pending', 'sending'))"
    "       ORDER BY d.delivery_id"
    "       LIMIT CASE WHEN i.min_interval_ms > 0 THEN 1"
    "                  ELSE least(CASE WHEN i.kind = 'splunk' THEN $5::int ELSE $4::int END,"
    "                             coalesce(w.l, $9::int)) END"
    "       FOR UPDATE SKIP LOCKED) x"
    "   WHERE i.enabled AND (i.min_interval_ms = 0 OR i.next_send_at <= now())"
    "     AND NOT (i.integration_id = ANY ($3::uuid[]))"
    "   LIMIT $6::int),"
    " rl AS ("
    "  UPDATE integrations i"
    "     SET next_send_at = now() + make_interval(secs => i.min_interval_ms / 1000.0)"
    "    FROM (SELECT DISTINCT integration_id FROM c WHERE min_interval_ms > 0) r"
    "   WHERE i.tenant_id = app_tenant() AND i.integration_id = r.integration_id RETURNING 1)"
    " UPDATE deliveries d SET status = 'sending', attempts = d.attempts + 1, locked_by = $1,"
    "        locked_until = now() + make_interval(secs => $2::int)"
    "   FROM c JOIN integrations i"
    "          ON i.tenant_id = app_tenant() AND i.integration_id = c.integration_id"
    "        JOIN events_outbox e ON e.tenant_id = app_tenant() AND e.event_id = c.event_id"
    "        LEFT JOIN jira_issues j ON j.tenant_id = app_tenant()"
    "          AND j.integration_id = c.integration_id AND j.subject_id = e.subject_id"
    "  WHERE d.tenant_id = app_tenant() AND d.delivery_id = c.delivery_id"
    " RETURNING d.delivery_id, d.integration_id, i.kind, i.config::text,"
    "           encode(i.secrets, 'hex'), e.kind, e.subject_id, e.severity, e.payload::text,"
    "           e.event_id, extract(epoch FROM e.created_at), d.attempts,"
    "           coalesce(j.issue_key, '')",
    9};

void db_deliveries_free(struct db_delivery *d, size_t n)
{
    for (size_t i = 0; d != NULL && i < n; i++) {
        free(d[i].config);
        free(d[i].secrets_hex);
        free(d[i].payload);
    }
    free(d);
}

enum err_code db_notify_claim(struct db_tx *tx, const char *worker, unsigned lease_s,
                              unsigned per_integration, unsigned per_batch,
                              const char *exclude, const struct db_claim_windows *win,
                              unsigned total, struct db_delivery **out, size_t *n,
                              struct err *err)
{
    char lease[16], per[16], batch[16], tot[16], first[16];
    const char *p[9] = {worker, lease, exclude, per, batch, tot, win->ids, win->limits, first};
    PGresult *r = NULL;
    struct db_delivery *d = NULL;
    enum err_code rc;
    int rows;

    *out = NULL;
    *n = 0;
    snprintf(lease, sizeof lease, "%u", lease_s);
    snprintf(per, sizeof per, "%u", per_integration);
    snprintf(batch, sizeof batch, "%u", per_batch);
    snprintf(tot, sizeof tot, "%u", total);
    snprintf(first, sizeof first, "%u", win->unknown);
    rc = db_run(tx, &claim_stmt, p, &r, err);
    if (rc != ERR_OK)
        goto out;
    rows = PQntuples(r);
    if (rows == 0)
        goto out;
    d = calloc((size_t)rows, sizeof *d);
    if (d == NULL) {
        rc = err_set(err, ERR_NOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < rows; i++) {
        struct db_delivery *x = &d[i];
        x->id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
        snprintf(x->integration_id, sizeof x->integration_id, "%s", PQgetvalue(r, i, 1));
        snprintf(x->kind, sizeof x->kind, "%s", PQgetvalue(r, i, 2));
        x->config = strdup(PQgetvalue(r, i, 3));
        x->secrets_hex = strdup(PQgetvalue(r, i, 4));
        snprintf(x->event, sizeof x->event, "%s", PQgetvalue(r, i, 5));
        snprintf(x->subject_id, sizeof x->subject_id, "%s", PQgetvalue(r, i, 6));
        snprintf(x->severity, sizeof x->severity, "%s", PQgetvalue(r, i, 7));
        x->payload = strdup(PQgetvalue(r, i, 8));
        x->event_id = strtoll(PQgetvalue(r, i, 9), NULL, 10);
        x->created_at = strtod(PQgetvalue(r, i, 10), NULL);
        x->attempts = (int)strtol(PQgetvalue(r, i, 11), NULL, 10);
        snprintf(x->issue_key, sizeof x->issue_key, "%s", PQgetvalue(r, i, 12));
        *n = (size_t)i + 1;
        if (x->config == NULL || x->secrets_hex == NULL || x->payload == NULL) {
            rc = err_set(err, ERR_NOMEM, "out of memory");
            goto out;
        }
    }
    *out = d;
    d = NULL;
out:
    if (d != NULL) {
        db_deliveries_free(d, *n);
        *n = 0;
    }
    PQclear(r);
    return rc;
}

/* Records outcomes, one statement for a whole batch: a JSON array of {id, status (delivered |
 * pending | dead), http, error, delay_s}. Only deliveries this worker still holds are changed (a
 * lease that ran out belongs to whoever claimed it next). */
static const struct db_stmt record_stmt = {
    "notify_record",
    "UPDATE deliveries d SET status = u.status, last_status = u.http, last_error = u.error,"
    "       locked_until = NULL, locked_by = NULL,"
    "       next_attempt_at = CASE WHEN u.status = 'pending'"
    "           THEN now() + make_interval(secs => u.delay_s) ELSE d.next_attempt_at END,"
    "       attempts = CASE WHEN u.uncount THEN greatest(d.attempts - 1, 0) ELSE d.attempts END,"
    "       delivered_at = CASE WHEN u.status = 'delivered' THEN now() END"
    "  FROM jsonb_to_recordset($2::jsonb)"
    "       AS u(id bigint, status text, http int, error text, delay_s float8, uncount boolean)"
    " WHERE d.tenant_id = app_tenant() AND d.delivery_id = u.id AND d.status = 'sending'"
    "   AND d.locked_by = $1",
    2};

enum err_code db_notify_record(struct db_tx *tx, const char *worker, const char *results_json,
                               long long *n, struct err *err)
{
    const char *p[2] = {worker, results_json};
    return db_exec_count(tx, &record_stmt, p, n, err);
}

static const struct db_stmt remember_stmt = {
    "jira_remember",
    "INSERT INTO jira_issues (tenant_id, integration_id, subject_id, issue_key)"
    " VALUES (app_tenant(), $1, $2, $3) ON CONFLICT DO NOTHING",
    3};

enum err_code db_jira_remember(struct db_tx *tx, const char *integration_id,
                               const char *subject_id, const char *issue_key, struct err *err)
{
    const char *p[3] = {integration_id, subject_id, issue_key};
    return db_exec_count(tx, &remember_stmt, p, NULL, err);
}

static const struct db_stmt outbox_retention_stmt = {
    "outbox_retention", "SELECT outbox_retention($1::int)", 1};

enum err_code db_outbox_retention(struct db_tx *tx, unsigned days, long long *deleted,
                                  struct err *err)
{
    return db_exec_int(tx, &outbox_retention_stmt, days, deleted, err);
}
