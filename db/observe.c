/* Observe queries: event partitions, batched writes of events and signals (one multi-row
 * statement per table: rows travel as one JSON array parameter, which jsonb_to_recordset turns
 * into rows server-side; COPY is not allowed on tables with row-level security), idempotency
 * records, access key addresses, retention, and correlation's reads and writes. */
#include "db/db_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct db_stmt scope_stmt = {
    "obs_scope_tenant", "SELECT set_config('app.tenant_id', $1, true)", 1};

enum err_code db_obs_scope_tenant(struct db_tx *tx, const char *tenant_id, struct err *err)
{
    const char *p[1] = {tenant_id};
    return db_exec_count(tx, &scope_stmt, p, NULL, err);
}

static const struct db_stmt partition_stmt = {
    "obs_partition_ensure", "SELECT obs_partition_ensure($1::date)", 1};

enum err_code db_obs_partition_ensure(struct db_pool *pool, const char *day, struct err *err)
{
    const char *p[1] = {day};
    struct db_tx *tx = NULL;
    enum err_code rc = db_tx_system(pool, &tx, err);
    if (rc != ERR_OK)
        return rc;
    rc = db_exec_count(tx, &partition_stmt, p, NULL, err);
    if (rc == ERR_OK) {
        rc = db_tx_commit(tx, err);
        tx = NULL;
    }
    db_tx_rollback(tx);
    return rc;
}

static const struct db_stmt accounts_stmt = {
    "obs_accounts", "SELECT coalesce(json_agg(aws_account_id), '[]') FROM cloud_accounts", 0};

enum err_code db_obs_accounts(struct db_tx *tx, json_t **ids, struct err *err)
{
    return db_exec_json(tx, &accounts_stmt, NULL, ids, err);
}

static const struct db_stmt idem_lock_stmt = {
    "obs_idem_lock", "SELECT pg_advisory_xact_lock(hashtextextended($1, 7))", 1};
static const struct db_stmt idem_get_stmt = {
    "obs_idem_get",
    "SELECT json_build_object('same', body_hash = $2::bytea, 'status', status,"
    "                         'response', response)"
    "  FROM ingest_requests WHERE idem_key = $1",
    2};

static void hex_bytea(const unsigned char h[32], char out[67])
{
    static const char hex[] = "0123456789abcdef";
    out[0] = '\\';
    out[1] = 'x';
    for (int i = 0; i < 32; i++) {
        out[2 + 2 * i] = hex[h[i] >> 4];
        out[3 + 2 * i] = hex[h[i] & 0xf];
    }
    out[66] = '\0';
}

enum err_code db_obs_idem_get(struct db_tx *tx, const char *key, const unsigned char hash[32],
                              json_t **found, struct err *err)
{
    char hx[67];
    const char *p[2] = {key, hx};
    enum err_code rc;

    *found = NULL;
    hex_bytea(hash, hx);
    /* Serialises requests with the same key: the second waits for the first to commit, then
     * finds its answer. */
    rc = db_exec_count(tx, &idem_lock_stmt, p, NULL, err);
    if (rc == ERR_OK)
        rc = db_exec_json(tx, &idem_get_stmt, p, found, err);
    return rc;
}

static const struct db_stmt idem_put_stmt = {
    "obs_idem_put",
    "INSERT INTO ingest_requests (tenant_id, idem_key, body_hash, status, response)"
    " VALUES (app_tenant(), $1, $2::bytea, $3::int, $4::jsonb)",
    4};

enum err_code db_obs_idem_put(struct db_tx *tx, const char *key, const unsigned char hash[32],
                              int status, const char *response_json, struct err *err)
{
    char hx[67], st[16];
    const char *p[4] = {key, hx, st, response_json};
    hex_bytea(hash, hx);
    snprintf(st, sizeof st, "%d", status);
    return db_exec_count(tx, &idem_put_stmt, p, NULL, err);
}

/* Event ids that already exist (a CloudTrail record delivered twice) are skipped; the statement
 * returns how many rows it wrote and, when some were skipped, the ids written. */
static const struct db_stmt events_stmt = {
    "obs_events_insert",
    "WITH ins AS ("
    " INSERT INTO events (tenant_id, time, event_id, type, account_id, region, function_arn,"
    "                     request_id, trace_id, source_ip, body)"
    " SELECT app_tenant(), r.time, r.event_id, r.type, r.account_id, r.region, r.function_arn,"
    "        r.request_id, r.trace_id, r.source_ip, r.body"
    "   FROM jsonb_to_recordset($1::jsonb) AS r(time timestamptz, event_id uuid, type text,"
    "        account_id text, region text, function_arn text, request_id text, trace_id text,"
    "        source_ip text, body jsonb)"
    " ON CONFLICT DO NOTHING RETURNING event_id)"
    " SELECT count(*), CASE WHEN count(*) < $2::int THEN coalesce(json_agg(event_id), '[]') END"
    " FROM ins",
    2};

enum err_code db_obs_events_insert(struct db_tx *tx, const char *rows_json, size_t nrows,
                                   long long *inserted, json_t **ids, struct err *err)
{
    char n[24];
    const char *p[2] = {rows_json, n};
    PGresult *r = NULL;
    enum err_code rc;

    *inserted = 0;
    *ids = NULL;
    snprintf(n, sizeof n, "%zu", nrows);
    rc = db_run(tx, &events_stmt, p, &r, err);
    if (rc == ERR_OK && PQntuples(r) == 1) {
        *inserted = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        if (!PQgetisnull(r, 0, 1)) {
            *ids = json_loads(PQgetvalue(r, 0, 1), 0, NULL);
            if (*ids == NULL)
                rc = err_set(err, ERR_NOMEM, "out of memory");
        }
    }
    PQclear(r);
    return rc;
}

static const struct db_stmt signals_stmt = {
    "obs_signals_insert",
    "INSERT INTO signals (tenant_id, time, event_id, source, rule_id, class, technique,"
    "                     confidence, severity, weak, account_id, function_arn, route, source_ip,"
    "                     request_id, trace_id, principal, access_key_id, shape, location,"
    "                     evidence, records)"
    " SELECT app_tenant(), r.time, r.event_id, r.source, r.rule_id, r.class, r.technique,"
    "        r.confidence, r.severity, r.weak, r.account_id, r.function_arn, r.route,"
    "        r.source_ip, r.request_id, r.trace_id, r.principal, r.access_key_id,"
    "        coalesce(r.shape, ''), coalesce(r.location, ''), coalesce(r.evidence, ''),"
    "        coalesce(r.records, 0)"
    "   FROM jsonb_to_recordset($1::jsonb) AS r(time timestamptz, event_id uuid, source text,"
    "        rule_id text, class text, technique text, confidence real, severity text,"
    "        weak boolean, account_id text, function_arn text, route text, source_ip text,"
    "        request_id text, trace_id text, principal text, access_key_id text, shape text,"
    "        location text, evidence text, records bigint)",
    1};

enum err_code db_obs_signals_insert(struct db_tx *tx, const char *rows_json, struct err *err)
{
    const char *p[1] = {rows_json};
    return db_exec_count(tx, &signals_stmt, p, NULL, err);
}

static const struct db_stmt keys_known_stmt = {
    "obs_keys_known",
    "SELECT coalesce(json_agg(json_build_array(access_key_id, source_ip)), '[]')"
    "  FROM access_key_addresses"
    " WHERE access_key_id IN (SELECT json_array_elements_text($1::json))",
    1};

enum err_code db_obs_key_addresses(struct db_tx *tx, const char *keys_json, json_t **pairs,
                                   struct err *err)
{
    const char *p[1] = {keys_json};
    return db_exec_json(tx, &keys_known_stmt, p, pairs, err);
}

static const struct db_stmt keys_record_stmt = {
    "obs_keys_record",
    "INSERT INTO access_key_addresses (tenant_id, access_key_id, source_ip, first_seen,"
    "                                  last_seen)"
    " SELECT app_tenant(), r.k, r.ip, min(r.t), max(r.t)"
    "   FROM jsonb_to_recordset($1::jsonb) AS r(k text, ip text, t timestamptz)"
    "  GROUP BY r.k, r.ip"
    " ON CONFLICT (tenant_id, access_key_id, source_ip) DO UPDATE"
    "    SET last_seen = greatest(access_key_addresses.last_seen, excluded.last_seen)",
    1};

enum err_code db_obs_key_addresses_record(struct db_tx *tx, const char *rows_json,
                                          struct err *err)
{
    const char *p[1] = {rows_json};
    return db_exec_count(tx, &keys_record_stmt, p, NULL, err);
}

static const struct db_stmt retention_stmt = {
    "obs_retention", "SELECT obs_retention($1::int)", 1};

enum err_code db_obs_retention(struct db_tx *tx, unsigned days, long long *dropped,
                               struct err *err)
{
    return db_exec_int(tx, &retention_stmt, days, dropped, err);
}

/* ---- correlation ---- */

static const struct db_stmt corr_init_stmt = {
    "obs_corr_init",
    "INSERT INTO obs_corr_state (tenant_id) VALUES (app_tenant()) ON CONFLICT DO NOTHING", 0};
/* Signals below the snapshot's xmin were written by transactions that have all ended: reading
 * up to there never skips a signal that commits later. */
static const struct db_stmt corr_claim_stmt = {
    "obs_corr_claim",
    "SELECT xid_done::text, pg_snapshot_xmin(pg_current_snapshot())::text FROM obs_corr_state"
    " WHERE tenant_id = app_tenant() FOR UPDATE SKIP LOCKED",
    0};

enum err_code db_obs_corr_claim(struct db_tx *tx, bool *claimed, char from[24], char to[24],
                                struct err *err)
{
    PGresult *r = NULL;
    enum err_code rc = db_exec_count(tx, &corr_init_stmt, NULL, NULL, err);

    *claimed = false;
    if (rc == ERR_OK)
        rc = db_run(tx, &corr_claim_stmt, NULL, &r, err);
    if (rc == ERR_OK && PQntuples(r) == 1) {
        snprintf(from, 24, "%s", PQgetvalue(r, 0, 0));
        snprintf(to, 24, "%s", PQgetvalue(r, 0, 1));
        *claimed = true;
    }
    PQclear(r);
    return rc;
}

static const struct db_stmt corr_done_stmt = {
    "obs_corr_done",
    "UPDATE obs_corr_state SET xid_done = $1::xid8, runs = runs + 1"
    " WHERE tenant_id = app_tenant()",
    1};

enum err_code db_obs_corr_done(struct db_tx *tx, const char *xid, struct err *err)
{
    const char *p[1] = {xid};
    return db_exec_count(tx, &corr_done_stmt, p, NULL, err);
}

#define SIGNAL_COLS                                                                             \
    "s.signal_id, s.xid::text, (extract(epoch FROM s.time) * 1000)::bigint, s.source, s.rule_id," \
    " s.class, s.technique, s.severity, s.weak, s.account_id, s.function_arn, s.route,"          \
    " s.source_ip, s.request_id, s.trace_id, s.principal, s.access_key_id, s.shape, s.location," \
    " s.evidence, s.records"

static const struct db_stmt corr_signals_stmt = {
    "obs_corr_signals",
    "SELECT " SIGNAL_COLS " FROM signals s"
    " WHERE s.tenant_id = app_tenant() AND s.xid >= $1::xid8 AND s.xid < $2::xid8"
    "   AND (s.xid, s.signal_id) > ($3::xid8, $4::bigint)"
    " ORDER BY s.xid, s.signal_id LIMIT $5::int",
    5};

static const struct db_stmt corr_weak_stmt = {
    "obs_corr_weak",
    "SELECT " SIGNAL_COLS " FROM signals s"
    " WHERE s.tenant_id = app_tenant() AND s.weak"
    "   AND ((s.access_key_id = $1 AND $1 IS NOT NULL) OR (s.principal = $2 AND $2 IS NOT NULL))"
    "   AND s.time >= to_timestamp($3::bigint / 1000.0)"
    "   AND s.time <= to_timestamp($4::bigint / 1000.0)"
    "   AND NOT EXISTS (SELECT 1 FROM weak_signals_attached a WHERE a.tenant_id = s.tenant_id"
    "                   AND a.signal_id = s.signal_id)"
    " ORDER BY s.time, s.signal_id LIMIT 1000",
    4};

void db_obs_sigbatch_free(struct db_obs_sigbatch *b)
{
    if (b == NULL)
        return;
    PQclear(b->res);
    free(b->rows);
    memset(b, 0, sizeof b[0]);
}

/* Points b's rows into r (SIGNAL_COLS), which b then owns: no string is copied, and b's row
 * array is reused when large enough (one batch after another). */
static enum err_code take_signals(PGresult *r, struct db_obs_sigbatch *b, struct err *err)
{
    int n = PQntuples(r), nf = PQnfields(r);

    PQclear(b->res);
    b->res = r;
    b->n = 0;
    if (n <= 0)
        return ERR_OK;
    if (nf != 21)
        return err_set(err, ERR_INTERNAL, "unexpected signal columns");
    if ((size_t)n > b->cap) {
        struct db_obs_signal *rows = realloc(b->rows, (size_t)n * sizeof rows[0]);
        if (rows == NULL)
            return err_set(err, ERR_NOMEM, "out of memory");
        b->rows = rows;
        b->cap = (size_t)n;
    }
    for (int i = 0; i < n; i++) {
        struct db_obs_signal *s = &b->rows[i];
        const char *v[21];
        for (int f = 0; f < 21; f++)
            v[f] = PQgetisnull(r, i, f) ? NULL : PQgetvalue(r, i, f);
        s->signal_id = strtoll(v[0], NULL, 10);
        s->xid = v[1];
        s->time_ms = strtoll(v[2], NULL, 10);
        s->source = v[3];
        s->rule_id = v[4];
        s->cls = v[5];
        s->technique = v[6];
        s->severity = v[7];
        s->weak = v[8][0] == 't';
        s->account_id = v[9];
        s->function_arn = v[10];
        s->route = v[11];
        s->source_ip = v[12];
        s->request_id = v[13];
        s->trace_id = v[14];
        s->principal = v[15];
        s->access_key_id = v[16];
        s->shape = v[17];
        s->location = v[18];
        s->evidence = v[19];
        s->records = strtoll(v[20], NULL, 10);
        s->memo = 0;
    }
    b->n = (size_t)n;
    return ERR_OK;
}

/* Runs a statement returning SIGNAL_COLS into out (reused). */
static enum err_code run_signals(struct db_tx *tx, const struct db_stmt *st,
                                 const char *const *p, struct db_obs_sigbatch *out,
                                 struct err *err)
{
    PGresult *r = NULL;
    enum err_code rc = db_run(tx, st, p, &r, err);
    if (rc != ERR_OK) {
        PQclear(r);
        out->n = 0;
        return rc;
    }
    return take_signals(r, out, err);
}

enum err_code db_obs_corr_signals(struct db_tx *tx, const char *from, const char *to,
                                  const char *after_xid, long long after_id, int limit,
                                  struct db_obs_sigbatch *out, struct err *err)
{
    char id[24], lim[16];
    const char *p[5] = {from, to, after_xid, id, lim};

    snprintf(id, sizeof id, "%lld", after_id);
    snprintf(lim, sizeof lim, "%d", limit);
    return run_signals(tx, &corr_signals_stmt, p, out, err);
}

enum err_code db_obs_corr_weak(struct db_tx *tx, const char *access_key_id, const char *principal,
                               long long from_ms, long long to_ms, struct db_obs_sigbatch *out,
                               struct err *err)
{
    char f[24], t[24];
    const char *p[4] = {access_key_id, principal, f, t};

    snprintf(f, sizeof f, "%lld", from_ms);
    snprintf(t, sizeof t, "%lld", to_ms);
    return run_signals(tx, &corr_weak_stmt, p, out, err);
}

static const struct db_stmt corr_burst_stmt = {
    "obs_corr_burst",
    "SELECT (extract(epoch FROM time) * 1000)::bigint, technique FROM signals"
    " WHERE tenant_id = app_tenant() AND weak AND principal = $1 AND class = $2"
    "   AND time >= to_timestamp($3::bigint / 1000.0)"
    "   AND time <= to_timestamp($4::bigint / 1000.0)"
    " ORDER BY time LIMIT $5::int",
    5};

enum err_code db_obs_corr_burst(struct db_tx *tx, const char *principal, const char *cls,
                                long long from_ms, long long to_ms, struct db_obs_burst *out,
                                struct err *err)
{
    char f[24], t[24], lim[16];
    const char *p[5] = {principal, cls, f, t, lim};
    PGresult *r = NULL;
    enum err_code rc;
    int n;

    memset(out, 0, sizeof *out);
    snprintf(f, sizeof f, "%lld", from_ms);
    snprintf(t, sizeof t, "%lld", to_ms);
    snprintf(lim, sizeof lim, "%d", DB_OBS_BURST_MAX);
    rc = db_run(tx, &corr_burst_stmt, p, &r, err);
    n = rc == ERR_OK ? PQntuples(r) : 0;
    if (n > 0) {
        out->ms = calloc((size_t)n, sizeof out->ms[0]);
        out->technique = calloc((size_t)n, sizeof out->technique[0]);
        if (out->ms == NULL || out->technique == NULL)
            rc = err_set(err, ERR_NOMEM, "out of memory");
    }
    for (int i = 0; rc == ERR_OK && i < n; i++) {
        out->ms[i] = strtoll(PQgetvalue(r, i, 0), NULL, 10);
        out->technique[i] = strdup(PQgetvalue(r, i, 1));
        out->n = (size_t)i + 1;
        if (out->technique[i] == NULL)
            rc = err_set(err, ERR_NOMEM, "out of memory");
    }
    PQclear(r);
    if (rc != ERR_OK)
        db_obs_burst_free(out);
    return rc;
}

void db_obs_burst_free(struct db_obs_burst *b)
{
    for (size_t i = 0; b != NULL && i < b->n; i++)
        free(b->technique[i]);
    if (b != NULL) {
        free(b->ms);
        free(b->technique);
        memset(b, 0, sizeof *b);
    }
}

/* For each trace id (and each request id of signals without a trace id) of the batch, the
 * latest signal before (before_xid, before_id) that carried it. */
static const struct db_stmt corr_origins_stmt = {
    "obs_corr_origins",
    "SELECT " SIGNAL_COLS " FROM unnest($1::text[]) AS q(v)"
    " CROSS JOIN LATERAL (SELECT * FROM signals x WHERE x.tenant_id = app_tenant()"
    "   AND x.trace_id = q.v AND (x.xid, x.signal_id) < ($3::xid8, $4::bigint)"
    "   ORDER BY x.xid DESC, x.signal_id DESC LIMIT 1) s"
    " UNION ALL "
    "SELECT " SIGNAL_COLS " FROM unnest($2::text[]) AS q(v)"
    " CROSS JOIN LATERAL (SELECT * FROM signals x WHERE x.tenant_id = app_tenant()"
    "   AND x.trace_id IS NULL AND x.request_id = q.v"
    "   AND (x.xid, x.signal_id) < ($3::xid8, $4::bigint)"
    "   ORDER BY x.xid DESC, x.signal_id DESC LIMIT 1) s",
    4};

enum err_code db_obs_corr_origins(struct db_tx *tx, const char *traces, const char *requests,
                                  const char *before_xid, long long before_id,
                                  struct db_obs_sigbatch *out, struct err *err)
{
    char id[24];
    const char *p[4] = {traces, requests, before_xid, id};

    snprintf(id, sizeof id, "%lld", before_id);
    return run_signals(tx, &corr_origins_stmt, p, out, err);
}

#define INCIDENT_STATE                                                                          \
    "json_build_object('id', i.incident_id, 'repeat_key', i.repeat_key, 'kind', i.kind,"       \
    " 'class', i.class, 'target', i.target, 'severity', i.severity, 'status', i.status,"           \
    " 'account_id', i.account_id, 'attempts', i.attempts, 'distinct_sources',"                   \
    " i.distinct_sources, 'functions', i.functions, 'records_exposed', i.records_exposed,"       \
    " 'steps', i.steps, 'phases', i.phases,"                                                      \
    " 'first_seen_ms', (extract(epoch FROM i.first_seen) * 1000)::bigint,"                        \
    " 'last_seen_ms', (extract(epoch FROM i.last_seen) * 1000)::bigint)"

/* Open incidents reached by any of the key hashes (a Postgres array literal of bigints): a join
 * with the array (= ANY of a parameter array is a linear search per row in a generic plan). */
static const struct db_stmt corr_lookup_stmt = {
    "obs_corr_lookup",
    "SELECT coalesce(json_agg(json_build_object('key', k.key_hash, 'incident', " INCIDENT_STATE
    ")), '[]')"
    "  FROM unnest($1::bigint[]) AS q(h)"
    "  JOIN incident_keys k ON k.tenant_id = app_tenant() AND k.key_hash = q.h"
    "  JOIN incidents i ON i.tenant_id = k.tenant_id AND i.incident_id = k.incident_id"
    " WHERE i.status <> 'resolved'",
    1};

enum err_code db_obs_corr_lookup(struct db_tx *tx, const char *hashes, json_t **out,
                                 struct err *err)
{
    const char *p[1] = {hashes};
    return db_exec_json(tx, &corr_lookup_stmt, p, out, err);
}

static const struct db_stmt inc_insert_stmt = {
    "obs_incidents_insert",
    "INSERT INTO incidents (tenant_id, incident_id, repeat_key, kind, class, target, title,"
    "                       summary, severity, account_id, first_seen, last_seen, risk,"
    "                       remediation_short, remediation_long)"
    " SELECT app_tenant(), r.id, r.repeat_key, r.kind, r.class, r.target, r.title, r.summary,"
    "        r.severity,"
    "        r.account_id, to_timestamp(r.first_ms / 1000.0), to_timestamp(r.last_ms / 1000.0),"
    "        r.risk, r.remediation_short, r.remediation_long"
    "   FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, repeat_key text, kind text, class text,"
    "        target text, title text, summary text, severity text, account_id text, first_ms bigint,"
    "        last_ms bigint, risk text, remediation_short text, remediation_long text)",
    1};

enum err_code db_obs_incidents_insert(struct db_tx *tx, const char *rows_json, struct err *err)
{
    const char *p[1] = {rows_json};
    return db_exec_count(tx, &inc_insert_stmt, p, NULL, err);
}

static const struct db_stmt inc_update_stmt = {
    "obs_incidents_update",
    "UPDATE incidents i SET kind = r.kind, title = r.title, summary = r.summary,"
    "       severity = r.severity,"
    "       attempts = r.attempts, distinct_sources = r.distinct_sources,"
    "       functions = r.functions, records_exposed = r.records_exposed, steps = r.steps,"
    "       phases = r.phases, first_seen = to_timestamp(r.first_ms / 1000.0),"
    "       last_seen = to_timestamp(r.last_ms / 1000.0), updated_at = now()"
    "  FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, kind text, title text, summary text,"
    "       severity text,"
    "       attempts bigint, distinct_sources bigint, functions bigint, records_exposed bigint,"
    "       steps integer, phases integer, first_ms bigint, last_ms bigint)"
    " WHERE i.tenant_id = app_tenant() AND i.incident_id = r.id",
    1};

enum err_code db_obs_incidents_update(struct db_tx *tx, const char *rows_json, struct err *err)
{
    const char *p[1] = {rows_json};
    return db_exec_count(tx, &inc_update_stmt, p, NULL, err);
}

/* ids: a Postgres array literal of incident ids; chunks: a text[] literal of the same length,
 * each element the bigint[] literal of the signals folded into that incident; weak: a bigint[]
 * literal of the weak ones among them, remembered as attached. */
static const struct db_stmt inc_signals_stmt = {
    "obs_incident_signals",
    "WITH c AS (INSERT INTO incident_signal_chunks (tenant_id, incident_id, signal_ids)"
    "           SELECT app_tenant(), t.id, t.s::bigint[]"
    "             FROM unnest($1::uuid[], $2::text[]) AS t(id, s))"
    " INSERT INTO weak_signals_attached (tenant_id, signal_id)"
    " SELECT app_tenant(), w FROM unnest($3::bigint[]) AS w ON CONFLICT DO NOTHING",
    3};

enum err_code db_obs_incident_signals(struct db_tx *tx, const char *ids, const char *chunks,
                                      const char *weak, struct err *err)
{
    const char *p[3] = {ids, chunks, weak};
    return db_exec_count(tx, &inc_signals_stmt, p, NULL, err);
}

static const struct db_stmt inc_keys_stmt = {
    "obs_incident_keys",
    "INSERT INTO incident_keys (tenant_id, key_hash, incident_id, last_seen)"
    " SELECT app_tenant(), t.k, ($1::uuid[])[t.i], to_timestamp(t.ms / 1000.0)"
    "   FROM unnest($2::bigint[], $3::int[], $4::bigint[]) AS t(k, i, ms)"
    " ON CONFLICT (tenant_id, key_hash) DO UPDATE"
    "    SET incident_id = excluded.incident_id, last_seen = excluded.last_seen",
    4};

enum err_code db_obs_incident_keys(struct db_tx *tx, const char *ids, const char *keys,
                                   const char *idx, const char *ms, struct err *err)
{
    const char *p[4] = {ids, keys, idx, ms};
    return db_exec_count(tx, &inc_keys_stmt, p, NULL, err);
}

/* Links ({id, kind, ref} rows); returns the new ones counted per incident and kind. */
static const struct db_stmt inc_links_stmt = {
    "obs_incident_links",
    "WITH ins AS (INSERT INTO incident_links (tenant_id, incident_id, kind, ref)"
    "  SELECT DISTINCT app_tenant(), r.id, r.kind, r.ref"
    "    FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, kind text, ref text)"
    "  ON CONFLICT DO NOTHING RETURNING incident_id, kind)"
    " SELECT coalesce(json_agg(json_build_array(incident_id, kind, n)), '[]')"
    "   FROM (SELECT incident_id, kind, count(*) AS n FROM ins GROUP BY 1, 2) c",
    1};

enum err_code db_obs_incident_links(struct db_tx *tx, const char *rows_json, json_t **added,
                                    struct err *err)
{
    const char *p[1] = {rows_json};
    return db_exec_json(tx, &inc_links_stmt, p, added, err);
}

/* Steps ({id, step_key, time_ms, rule_id, class, technique, severity, resource, actor,
 * request_id, location, evidence, count} rows): new steps inserted, known ones counted; returns
 * the new steps per incident. */
static const struct db_stmt inc_steps_stmt = {
    "obs_incident_steps",
    "WITH ins AS (INSERT INTO incident_steps (tenant_id, incident_id, step_key, time, rule_id,"
    "             class, technique, severity, resource, actor, request_id, location, evidence,"
    "             count)"
    "  SELECT app_tenant(), r.id, r.step_key, to_timestamp(r.time_ms / 1000.0), r.rule_id,"
    "         r.class, r.technique, r.severity, r.resource, r.actor, r.request_id,"
    "         coalesce(r.location, ''), coalesce(r.evidence, ''), r.count"
    "    FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, step_key bigint, time_ms bigint,"
    "         rule_id text, class text, technique text, severity text, resource text,"
    "         actor text, request_id text, location text, evidence text, count bigint)"
    "  ON CONFLICT (tenant_id, incident_id, step_key) DO UPDATE"
    "     SET count = incident_steps.count + excluded.count"
    "  RETURNING incident_id, (xmax = 0) AS fresh)"
    " SELECT coalesce(json_agg(json_build_array(incident_id, n)), '[]')"
    "   FROM (SELECT incident_id, count(*) AS n FROM ins WHERE fresh GROUP BY 1) c",
    1};

enum err_code db_obs_incident_steps(struct db_tx *tx, const char *rows_json, json_t **added,
                                    struct err *err)
{
    const char *p[1] = {rows_json};
    return db_exec_json(tx, &inc_steps_stmt, p, added, err);
}

static const struct db_stmt findings_stmt = {
    "obs_open_findings",
    "SELECT coalesce(json_agg(json_build_object('resource_arn', resource_arn, 'finding_id',"
    "       finding_id, 'severity', severity)), '[]')"
    "  FROM obs_open_findings(ARRAY(SELECT json_array_elements_text($1::json)))",
    1};

enum err_code db_obs_open_findings(struct db_tx *tx, const char *arns_json, json_t **out,
                                   struct err *err)
{
    const char *p[1] = {arns_json};
    return db_exec_json(tx, &findings_stmt, p, out, err);
}

static const struct db_stmt pending_stmt = {
    "obs_corr_pending",
    "SELECT coalesce(json_agg(t), '[]') FROM obs_corr_pending_tenants() AS t", 0};

enum err_code db_obs_corr_pending(struct db_tx *tx, json_t **tenants, struct err *err)
{
    return db_exec_json(tx, &pending_stmt, NULL, tenants, err);
}

/* ---- incidents (the API's reads and the status change) ---- */

#define INCIDENT_JSON                                                                           \
    "json_build_object('id', i.incident_id, 'title', i.title, 'summary', i.summary,"           \
    " 'severity', i.severity, 'status', i.status, 'kind', i.kind, 'class', i.class,"            \
    " 'account_id', i.account_id, 'counters', json_build_object('attempts', i.attempts,"        \
    " 'distinct_sources', i.distinct_sources, 'functions', i.functions, 'records_exposed',"     \
    " i.records_exposed, 'steps', i.steps), 'first_seen', " TS("i.first_seen") ","              \
    " 'last_seen', " TS("i.last_seen") ", 'risk', i.risk, 'remediation',"                       \
    " json_build_object('short_term', i.remediation_short, 'long_term', i.remediation_long),"  \
    " 'note', i.note, 'created_at', " TS("i.created_at") ", 'updated_at', " TS("i.updated_at") \
    ", 'resolved_at', " TS("i.resolved_at") ")"

static const struct db_stmt inc_list_stmt = {
    "obs_incident_list",
    "SELECT " INCIDENT_JSON ", i.seq FROM incidents i"
    " WHERE ($2::bigint IS NULL OR i.seq < $2::bigint)"
    "   AND ($3::text IS NULL OR i.status = $3) AND ($4::text IS NULL OR i.severity = $4)"
    "   AND ($5::text IS NULL OR i.account_id = $5)"
    " ORDER BY i.seq DESC LIMIT $1::int",
    5};

enum err_code db_incident_list(struct db_tx *tx, int limit, const char *before,
                               const char *status, const char *severity, const char *account_id,
                               json_t **items, char *next, size_t nextlen, struct err *err)
{
    const char *f[3] = {status, severity, account_id};
    return db_list_json_filtered(tx, &inc_list_stmt, limit, before, f, 3, items, next, nextlen,
                                 err);
}

/* The incident with its story: steps in time order, affected resources, actors (at most 100
 * of each kind), attached findings and evidence samples. */
static const struct db_stmt inc_get_stmt = {
    "obs_incident_get",
    "SELECT (" INCIDENT_JSON "::jsonb || jsonb_build_object("
    " 'steps', coalesce((SELECT jsonb_agg(jsonb_build_object('time', " TS("s.time") ","
    "   'rule_id', s.rule_id, 'class', s.class, 'technique', s.technique, 'severity',"
    "   s.severity, 'resource', s.resource, 'actor', s.actor, 'request_id', s.request_id,"
    "   'location', s.location, 'evidence', s.evidence, 'count', s.count)"
    "   ORDER BY s.time, s.step_key)"
    "   FROM incident_steps s WHERE s.tenant_id = i.tenant_id"
    "    AND s.incident_id = i.incident_id), '[]'),"
    " 'functions', coalesce((SELECT jsonb_agg(l.ref ORDER BY l.ref) FROM incident_links l"
    "   WHERE l.tenant_id = i.tenant_id AND l.incident_id = i.incident_id"
    "     AND l.kind = 'function'), '[]'),"
    " 'findings', coalesce((SELECT jsonb_agg(l.ref ORDER BY l.ref) FROM incident_links l"
    "   WHERE l.tenant_id = i.tenant_id AND l.incident_id = i.incident_id"
    "     AND l.kind = 'finding'), '[]'),"
    " 'actors', jsonb_build_object("
    "   'source_ips', coalesce((SELECT jsonb_agg(x.ref) FROM (SELECT l.ref FROM incident_links l"
    "     WHERE l.tenant_id = i.tenant_id AND l.incident_id = i.incident_id"
    "       AND l.kind = 'source_ip' ORDER BY l.ref LIMIT 100) x), '[]'),"
    "   'principals', coalesce((SELECT jsonb_agg(x.ref) FROM (SELECT l.ref FROM incident_links l"
    "     WHERE l.tenant_id = i.tenant_id AND l.incident_id = i.incident_id"
    "       AND l.kind = 'principal' ORDER BY l.ref LIMIT 100) x), '[]'),"
    "   'access_keys', coalesce((SELECT jsonb_agg(x.ref) FROM (SELECT l.ref FROM incident_links l"
    "     WHERE l.tenant_id = i.tenant_id AND l.incident_id = i.incident_id"
    "       AND l.kind = 'access_key' ORDER BY l.ref LIMIT 100) x), '[]')),"
    " 'evidence', coalesce((SELECT jsonb_agg(x.e) FROM (SELECT jsonb_build_object('rule_id',"
    "   s.rule_id, 'location', s.location, 'evidence', s.evidence) AS e FROM incident_steps s"
    "   WHERE s.tenant_id = i.tenant_id AND s.incident_id = i.incident_id AND s.evidence <> ''"
    "   ORDER BY s.time LIMIT 10) x), '[]')))::text"
    "  FROM incidents i WHERE i.incident_id = $1",
    1};

enum err_code db_incident_get(struct db_tx *tx, const char *id, json_t **out, struct err *err)
{
    const char *p[1] = {id};
    return db_exec_json(tx, &inc_get_stmt, p, out, err);
}

/* Status change: open -> acknowledged -> resolved (resolved is final). Returns the incident
 * before the change (*before: {status, severity, title, summary}) and after (*out). */
static const struct db_stmt inc_lock_stmt = {
    "obs_incident_lock",
    "SELECT json_build_object('status', status, 'severity', severity, 'title', title,"
    "       'summary', summary) FROM incidents WHERE incident_id = $1 FOR UPDATE",
    1};
static const struct db_stmt inc_status_stmt = {
    "obs_incident_status",
    "UPDATE incidents SET status = $2, note = coalesce($3, note), updated_at = now(),"
    "       resolved_at = CASE WHEN $2 = 'resolved' THEN now() ELSE resolved_at END"
    " WHERE incident_id = $1",
    3};

enum err_code db_incident_set_status(struct db_tx *tx, const char *id, const char *status,
                                     const char *note, json_t **before, json_t **out,
                                     struct err *err)
{
    const char *p[3] = {id, status, note};
    enum err_code rc;

    *out = NULL;
    rc = db_exec_json(tx, &inc_lock_stmt, p, before, err);
    if (rc != ERR_OK || *before == NULL)
        return rc;
    rc = db_exec_count(tx, &inc_status_stmt, p, NULL, err);
    if (rc == ERR_OK)
        rc = db_incident_get(tx, id, out, err);
    return rc;
}

/* Every signal folded into the incident, in folding order: keyset on (chunk, position) as one
 * number, chunk << 21 | position (a chunk holds at most one batch: far fewer than 2^21). Each
 * chunk contributes at most limit ids past the cursor, and at most limit chunks are read. */
static const struct db_stmt inc_events_stmt = {
    "obs_incident_events",
    "SELECT json_build_object('signal_id', s.signal_id, 'event_id', s.event_id, 'time', "
    TS("s.time") ", 'request_id', s.request_id, 'trace_id', s.trace_id, 'function_arn',"
    " s.function_arn, 'route', s.route, 'source_ip', s.source_ip, 'principal', s.principal,"
    " 'detector', s.rule_id, 'class', s.class, 'technique', s.technique, 'severity',"
    " s.severity, 'location', s.location, 'evidence', s.evidence), x.cur"
    "  FROM (SELECT p.signal_id, (c.seq << 21) + c.off + p.ord AS cur"
    "          FROM (SELECT k.seq, k.signal_ids, CASE WHEN k.seq = ($2::bigint >> 21)"
    "                       THEN ($2::bigint & 2097151)::int ELSE 0 END AS off"
    "                  FROM incident_signal_chunks k"
    "                 WHERE k.tenant_id = app_tenant() AND k.incident_id = $3"
    "                   AND ($2::bigint IS NULL OR k.seq >= ($2::bigint >> 21))"
    "                 ORDER BY k.seq LIMIT $1::int) c"
    "         CROSS JOIN LATERAL unnest(c.signal_ids[coalesce(c.off, 0) + 1 :"
    "                                                coalesce(c.off, 0) + $1::int])"
    "               WITH ORDINALITY AS p(signal_id, ord)"
    "         ORDER BY 2 LIMIT $1::int) x"
    "  JOIN signals s ON s.tenant_id = app_tenant() AND s.signal_id = x.signal_id"
    " ORDER BY x.cur",
    3};

enum err_code db_incident_events(struct db_tx *tx, const char *id, int limit, const char *after,
                                 json_t **items, char *next, size_t nextlen, struct err *err)
{
    return db_list_json_by(tx, &inc_events_stmt, limit, after, id, items, next, nextlen, err);
}

/* At most one queued correlation job per tenant: a job that already ran never holds back the
 * next (a dedup key would, for its whole period). Two racing inserts make two jobs; the second
 * finds nothing left to fold. */
static const struct db_stmt corr_enqueue_stmt = {
    "obs_corr_enqueue",
    "INSERT INTO jobs (kind, tenant_id, run_at)"
    " SELECT 'obs.correlate', $1::uuid, now() + make_interval(secs => $2::float8)"
    "  WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE kind = 'obs.correlate' AND status = 'queued'"
    "                       AND tenant_id = $1::uuid)",
    2};

enum err_code db_obs_corr_enqueue(struct db_tx *tx, const char *tenant_id, double delay_s,
                                  struct err *err)
{
    char d[32];
    const char *p[2] = {tenant_id, d};
    snprintf(d, sizeof d, "%.3f", delay_s);
    return db_exec_count(tx, &corr_enqueue_stmt, p, NULL, err);
}

/* The tenant's function execution roles in the inventory (posture reads a role only for the
 * functions that use it), with the managed policies attached to each (rule CT-08). */
static const struct db_stmt function_roles_stmt = {
    "obs_function_roles",
    "SELECT coalesce(json_agg(json_build_array(a.aws_account_id, r.name,"
    "       coalesce((SELECT json_agg(p->>'PolicyArn') FROM jsonb_array_elements("
    "                 CASE WHEN jsonb_typeof(r.data->'AttachedPolicies') = 'array'"
    "                      THEN r.data->'AttachedPolicies' ELSE '[]' END) p"
    "                 WHERE p->>'PolicyArn' IS NOT NULL), '[]'))), '[]')"
    "  FROM resources r JOIN cloud_accounts a"
    "    ON a.tenant_id = r.tenant_id AND a.account_id = r.account_id"
    " WHERE r.type = 'aws.iam.role' AND r.removed_at IS NULL",
    0};

enum err_code db_obs_function_roles(struct db_tx *tx, json_t **out, struct err *err)
{
    return db_exec_json(tx, &function_roles_stmt, NULL, out, err);
}

/* Ingest requests of the last day whose answer rejected something, newest first (keyset on
 * seq): the request (its Idempotency-Key, or the Firehose request id), when, what was accepted
 * and the first 100 rejections. */
static const struct db_stmt rejections_stmt = {
    "obs_ingest_rejections",
    "SELECT json_build_object('request_id', CASE WHEN r.idem_key LIKE 'firehose:%'"
    "         THEN substr(r.idem_key, 10) ELSE r.idem_key END,"
    "       'source', CASE WHEN r.idem_key LIKE 'firehose:%' THEN 'firehose' ELSE 'events' END,"
    "       'received_at', " TS("r.created_at") ", 'accepted', r.response->'accepted',"
    "       'rejected_count', jsonb_array_length(r.response->'rejected'),"
    "       'rejected', (SELECT coalesce(jsonb_agg(x), '[]') FROM (SELECT x FROM"
    "         jsonb_array_elements(r.response->'rejected') x LIMIT 100) y)), r.seq"
    "  FROM ingest_requests r"
    " WHERE r.response->'rejected' <> '[]'::jsonb"
    "   AND ($2::bigint IS NULL OR r.seq < $2::bigint)"
    " ORDER BY r.seq DESC LIMIT $1::int",
    2};

enum err_code db_ingest_rejections(struct db_tx *tx, int limit, const char *before,
                                   json_t **items, char *next, size_t nextlen, struct err *err)
{
    return db_list_json(tx, &rejections_stmt, limit, before, items, next, nextlen, err);
}
