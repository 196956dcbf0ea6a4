/* db - PostgreSQL access: a fixed-size connection pool, transactions scoped to a tenant or to the
 * system, migrations and the queries of each module. The only place SQL lives besides
 * migrations/. Every PGresult is cleared inside db/; callers get copies they free.
 *
 * Threading: a pool is shared by all threads; a transaction belongs to one thread at a time.
 * A broken connection is reset on its next use, so the API answers 503 (ERR_UNAVAILABLE) while the
 * database is down and recovers by itself when it returns.
 * Errors come back as enum err_code with a client-safe detail; libpq messages go to the log. */
#ifndef PARAPET_DB_H
#define PARAPET_DB_H

#include "server/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db_pool;
struct db_tx;

struct db_pool_stats {
    unsigned size;
    unsigned in_use;
    unsigned idle;      /* connected and free */
    unsigned long long waits;     /* acquisitions that had to wait */
    unsigned long long timeouts;  /* acquisitions that gave up */
};

/* Creates a pool of `size` connections to url (connected lazily). Returns NULL on NOMEM. */
struct db_pool *db_pool_new(const char *url, unsigned size);
void db_pool_free(struct db_pool *pool); /* NULL-safe; no transaction may be open */
void db_pool_stats(struct db_pool *pool, struct db_pool_stats *out);

/* Begins a transaction with app.tenant_id set (set_config(..., true)), so row-level security
 * scopes every statement to that tenant. tenant_id must be a UUID string. */
enum err_code db_tx_tenant(struct db_pool *pool, const char *tenant_id, struct db_tx **out,
                           struct err *err);

/* Begins a transaction with no tenant context, for cross-tenant workers: tenant tables show
 * nothing here unless a query names the tenant through a SECURITY DEFINER path. */
enum err_code db_tx_system(struct db_pool *pool, struct db_tx **out, struct err *err);

/* Commits and releases tx, whatever the outcome (tx is invalid afterwards). */
enum err_code db_tx_commit(struct db_tx *tx, struct err *err);

/* Rolls back and releases tx. NULL-safe. */
void db_tx_rollback(struct db_tx *tx);

/* True when the server answers a trivial query within the pool's timeouts. */
bool db_is_reachable(struct db_pool *pool);

/* Maps a SQLSTATE (5 chars, may be NULL) to the program's error code. */
enum err_code db_err_from_sqlstate(const char *sqlstate);

/* ---- migrations (db/migrate.c) ---- */

/* Applies pending migrations over a dedicated connection to owner_url, each in its own
 * transaction, under an advisory lock so concurrent instances are safe. Verifies the checksums
 * of applied migrations. *applied (may be NULL) receives how many were applied now. */
enum err_code db_migrate(const char *owner_url, unsigned *applied, struct err *err);

/* Number of embedded migrations not yet recorded in schema_migrations (through the pool). */
enum err_code db_migrations_pending(struct db_pool *pool, unsigned *pending, struct err *err);

/* The newest embedded migration version. */
int db_migrations_latest(void);

/* ---- jobs (db/jobs.c) ---- */

struct db_job {
    int64_t id;
    char kind[64];
    char tenant_id[40]; /* "" for system jobs */
    char *payload;      /* JSON text, owned */
    int attempts;       /* including this one */
    int max_attempts;
};

void db_job_clear(struct db_job *job); /* frees payload; NULL-safe */

/* Enqueues a job to run at now()+delay_s. dedup_key may be NULL; with one, a second job of the
 * same kind and key is not created (*created=false). payload_json may be NULL ("{}"). */
enum err_code db_job_enqueue(struct db_tx *tx, const char *kind, const char *tenant_id,
                             const char *payload_json, const char *dedup_key, double delay_s,
                             bool *created, struct err *err);

/* Enqueues `kind` once for the current period of period_s seconds (by the database clock), keyed
 * by the period number so several instances ticking together create exactly one. */
enum err_code db_job_enqueue_periodic(struct db_tx *tx, const char *kind, unsigned period_s,
                                      bool *created, struct err *err);

/* Claims the oldest runnable job (queued and due, or running with an expired lease) with
 * FOR UPDATE SKIP LOCKED, leasing it to worker for lease_s. *found=false when none. Commits. */
enum err_code db_job_claim(struct db_pool *pool, const char *worker, unsigned lease_s,
                           struct db_job *out, bool *found, struct err *err);

/* Renews the lease of a job this worker holds (long jobs call it as they progress).
 * *owned=false when the lease had already passed to another worker. */
enum err_code db_job_extend(struct db_tx *tx, int64_t id, const char *worker, unsigned lease_s,
                            bool *owned, struct err *err);

/* Marks a job this worker holds as succeeded. *owned=false when the lease had passed to another
 * worker (the result is then not recorded). */
enum err_code db_job_succeed(struct db_tx *tx, int64_t id, const char *worker, bool *owned,
                             struct err *err);

/* Records a failure: requeued with exponential backoff and jitter, or failed for good when
 * permanent or out of attempts. error is stored (keep it free of secrets). */
enum err_code db_job_fail(struct db_pool *pool, int64_t id, const char *worker, const char *error,
                          bool permanent, struct err *err);

struct db_job_counts {
    long long queued, running, failed, succeeded;
};
enum err_code db_job_counts(struct db_pool *pool, struct db_job_counts *out, struct err *err);

/* Heartbeat job: records that `worker` ran job id. */
enum err_code db_heartbeat_record(struct db_tx *tx, int64_t job_id, const char *worker,
                                  struct err *err);

/* Seconds since the newest heartbeat, or -1 when there is none. */
enum err_code db_heartbeat_age(struct db_pool *pool, double *age_s, struct err *err);

/* Retention job: deletes finished jobs and heartbeats older than days (and stale sign-in
 * failures); *deleted gets the count. */
enum err_code db_retention_run(struct db_tx *tx, unsigned days, long long *deleted,
                               struct err *err);

/* ---- tenancy (db/tenancy.c): tenants, users, sessions, refresh tokens, API keys, audit ---- */

#define DB_ID_LEN 37 /* a UUID string and its NUL */

struct db_login {
    char tenant_id[DB_ID_LEN];
    char user_id[DB_ID_LEN];
    char role[16];
    char status[16];
    long long token_epoch;
    char password_hash[160]; /* "" when none is set (invited) */
};

/* Creates a tenant (in a transaction scoped to that tenant). A taken slug is ERR_CONFLICT. */
enum err_code db_tenant_create(struct db_tx *tx, const char *tenant_id, const char *name,
                               const char *slug, struct err *err);

/* Creates a user; a second user with the same email in the tenant is ERR_CONFLICT.
 * password_hash may be NULL (an invited user). */
enum err_code db_user_create(struct db_tx *tx, const char *tenant_id, const char *user_id,
                             const char *email, const char *password_hash, const char *role,
                             const char *status, struct err *err);

/* Accounts for a normalised email (at most 2; slug narrows to one organisation; may be NULL),
 * through the auth_login_candidates() function: usable in a system transaction. */
enum err_code db_login_candidates(struct db_tx *tx, const char *email, const char *slug,
                                  struct db_login out[2], int *n, struct err *err);

/* Records a successful sign-in time. */
enum err_code db_user_touch_login(struct db_tx *tx, const char *user_id, struct err *err);

/* The user and tenant as JSON ({id, email, role, status, created_at, last_login_at} and
 * {id, name, slug, created_at}); *user / *tenant are new references, NULL when not found. */
enum err_code db_user_json(struct db_tx *tx, const char *user_id, json_t **user, struct err *err);
enum err_code db_tenant_json(struct db_tx *tx, const char *tenant_id, json_t **tenant,
                             struct err *err);

/* Sessions and refresh tokens. hash is the SHA-256 of the token (32 bytes). */
enum err_code db_session_create(struct db_tx *tx, const char *tenant_id, const char *session_id,
                                const char *user_id, struct err *err);
enum err_code db_refresh_insert(struct db_tx *tx, const char *tenant_id,
                                const unsigned char hash[32], const char *session_id,
                                const char *user_id, unsigned ttl_s, struct err *err);

struct db_refresh {
    char session_id[DB_ID_LEN];
    char user_id[DB_ID_LEN];
    bool used;            /* already exchanged once: a replay */
    bool expired;
    bool session_revoked;
    bool user_active;
    char role[16];
    long long token_epoch;
};

/* Locks and reads the refresh token (FOR UPDATE): *found=false when unknown. */
enum err_code db_refresh_take(struct db_tx *tx, const unsigned char hash[32],
                              struct db_refresh *out, bool *found, struct err *err);
enum err_code db_refresh_mark_used(struct db_tx *tx, const unsigned char hash[32],
                                   struct err *err);
enum err_code db_session_revoke(struct db_tx *tx, const char *session_id, const char *reason,
                                struct err *err);

/* Raises the user's token epoch and revokes all their sessions: earlier tokens stop working. */
enum err_code db_user_revoke_all(struct db_tx *tx, const char *user_id, const char *reason,
                                 struct err *err);

struct db_session_state {
    bool valid; /* session exists, not revoked, user active */
    long long token_epoch;
    char role[16];
};
enum err_code db_session_state(struct db_tx *tx, const char *session_id, const char *user_id,
                               struct db_session_state *out, struct err *err);

/* Users: list (keyset on user_id), update role and/or status (NULL leaves it), delete. The
 * JSON forms are as db_user_json(). *found=false when no such user in the tenant. */
enum err_code db_user_list(struct db_tx *tx, int limit, const char *after, json_t **items,
                           char *next, size_t nextlen, struct err *err);
enum err_code db_user_update(struct db_tx *tx, const char *user_id, const char *role,
                             const char *status, json_t **out, struct err *err);
enum err_code db_user_delete(struct db_tx *tx, const char *user_id, bool *found,
                             struct err *err);
/* The user's role ("" when no such user) and how many active owners the tenant has. */
enum err_code db_user_role(struct db_tx *tx, const char *user_id, char role[16],
                           long long *owners, struct err *err);

/* Invitations: create a one-time token (hash) for an invited user; take one (locking it):
 * *found=false when unknown, used or expired; then set the password and activate. */
enum err_code db_invite_create(struct db_tx *tx, const char *tenant_id,
                               const unsigned char hash[32], const char *user_id, unsigned ttl_s,
                               struct err *err);
enum err_code db_invite_take(struct db_tx *tx, const unsigned char hash[32], char user_id[37],
                             char role[16], bool *found, struct err *err);
/* Sets a new password hash (and activates an invited user when activate): every session of the
 * user is revoked and the token epoch raised, so earlier tokens stop working; *epoch gets the
 * new epoch for the tokens issued next. */
enum err_code db_user_set_password(struct db_tx *tx, const char *user_id,
                                   const char *password_hash, bool activate, long long *epoch,
                                   struct err *err);

/* The user's stored password hash ("" when none) and email. */
enum err_code db_user_secret(struct db_tx *tx, const char *user_id, char hash[160],
                             char email[256], struct err *err);

/* API keys. */
enum err_code db_apikey_create(struct db_tx *tx, const char *tenant_id, const char *key_id,
                               const char *name, const char *kind, const char *role,
                               const char *prefix, const unsigned char hash[32],
                               const char *created_by, json_t **out, struct err *err);
enum err_code db_apikey_list(struct db_tx *tx, int limit, const char *after_key, json_t **items,
                             char *next, size_t nextlen, struct err *err);
/* Revokes; *found=false when no such (unrevoked) key in the tenant. */
enum err_code db_apikey_revoke(struct db_tx *tx, const char *key_id, bool *found,
                               struct err *err);

struct db_apikey {
    char key_id[DB_ID_LEN];
    char kind[16];
    char role[16];
};
/* Finds a live key by hash and records its use (last_used_at, at most once a minute).
 * *found=false when unknown or revoked. */
enum err_code db_apikey_use(struct db_tx *tx, const unsigned char hash[32], struct db_apikey *out,
                            bool *found, struct err *err);

/* ---- cloud accounts (db/accounts.c) ---- */

/* Creates an account (status pending); regions_json is a JSON array of region names. The same
 * AWS account twice in a tenant is ERR_CONFLICT. *out: the account as JSON (new reference). */
enum err_code db_account_create(struct db_tx *tx, const char *tenant_id, const char *account_id,
                                const char *aws_account_id, const char *name,
                                const char *regions_json, const char *external_id, json_t **out,
                                struct err *err);
/* The account as JSON, or *out = NULL when there is no such account in the tenant. */
enum err_code db_account_get(struct db_tx *tx, const char *account_id, json_t **out,
                             struct err *err);
enum err_code db_account_list(struct db_tx *tx, int limit, const char *after, json_t **items,
                              char *next, size_t nextlen, struct err *err);
/* Claims a connect attempt: false (*allowed) when one started within the last min_gap_s. */
enum err_code db_account_connect_begin(struct db_tx *tx, const char *account_id,
                                       unsigned min_gap_s, bool *allowed, struct err *err);
/* Records a connect outcome: status, and role_arn and connected_at when status is active;
 * last_error (NULL clears it). *out: the account as JSON. */
enum err_code db_account_set_status(struct db_tx *tx, const char *account_id, const char *status,
                                    const char *role_arn, const char *last_error, json_t **out,
                                    struct err *err);
/* Deletes the account and, through foreign keys, everything that belongs to it. */
enum err_code db_account_delete(struct db_tx *tx, const char *account_id, bool *found,
                                struct err *err);

/* ---- posture: scans, resources, findings (db/posture.c) ---- */

/* A page of a list as JSON text: json is "[item,...]" (malloc'd, len bytes), next the cursor of
 * the last item when a further page exists, else "". */
struct db_text_page {
    char *json;
    size_t len;
    char next[64];
};

/* Creates a queued scan of an active account and its "scan" job. *out = NULL when the account
 * is not active; ERR_CONFLICT when a scan of it is queued or running. */
enum err_code db_scan_create(struct db_tx *tx, const char *tenant_id, const char *account_id,
                             const char *trigger, const char *requested_by, json_t **out,
                             struct err *err);
/* The account's queued or running scan, or *out = NULL. */
enum err_code db_scan_active(struct db_tx *tx, const char *account_id, json_t **out,
                             struct err *err);
enum err_code db_scan_get(struct db_tx *tx, const char *scan_id, json_t **out, struct err *err);
enum err_code db_scan_list(struct db_tx *tx, const char *account_id, int limit, const char *after,
                           struct db_text_page *page, struct err *err);
/* Marks a queued (or interrupted running) scan running; *account: {id, aws_account_id, regions,
 * role_arn, external_id, status, trusted_accounts (the tenant's other AWS accounts)}, or NULL
 * when the scan is finished or gone. */
enum err_code db_scan_start(struct db_tx *tx, const char *scan_id, json_t **account,
                            struct err *err);
enum err_code db_scan_progress(struct db_tx *tx, const char *scan_id, int done, int total,
                               struct err *err);
/* Ends a scan (succeeded | failed) and stamps the account's last scan (and last_error when it
 * failed: the first error's message). */
enum err_code db_scan_finish(struct db_tx *tx, const char *scan_id, const char *status,
                             bool complete, const json_t *stats, const json_t *errors,
                             struct err *err);
/* Queues scans of every due active account (all tenants), at most limit. */
enum err_code db_scan_schedule_due(struct db_tx *tx, int limit, unsigned *queued,
                                   struct err *err);

/* Upserts resources [{type, arn, region, name, data, links, code_sha256, dependencies,
 * vulnerabilities}] seen by scan_id. */
enum err_code db_resources_upsert(struct db_tx *tx, const char *account_id, const char *scan_id,
                                  const json_t *resources, struct err *err);
/* The account's functions as the last scan stored them: {FunctionArn: {data, code_sha256,
 * dependencies, vulnerabilities}} (for incremental scans). */
enum err_code db_resources_previous(struct db_tx *tx, const char *account_id, json_t **out,
                                    struct err *err);
enum err_code db_resource_list(struct db_tx *tx, const char *account_id, const char *type,
                               int limit, const char *after, struct db_text_page *page,
                               struct err *err);
enum err_code db_resource_get(struct db_tx *tx, const char *resource_id, json_t **out,
                              struct err *err);

/* Upserts findings [{fingerprint, rule_id, subject, resource_arn, category, severity, title,
 * evidence}] by fingerprint: last_seen moves, resolved ones reopen, suppressed ones stay (until
 * their expiry). *opened: the findings this scan opened or reopened ({finding_id, severity,
 * title, rule_id, resource_arn, category}). */
enum err_code db_findings_upsert(struct db_tx *tx, const char *account_id, const char *scan_id,
                                 const json_t *findings, json_t **opened, struct err *err);
/* After a complete scan: open findings it did not see are resolved and resources it did not see
 * marked removed. */
enum err_code db_findings_resolve(struct db_tx *tx, const char *account_id, const char *scan_id,
                                  long long *resolved, struct err *err);
struct db_finding_filter {
    const char *account_id, *resource_id, *severity, *status, *rule_id; /* NULL = any */
};
enum err_code db_finding_list(struct db_tx *tx, const struct db_finding_filter *flt, int limit,
                              const char *after, struct db_text_page *page, struct err *err);
enum err_code db_finding_get(struct db_tx *tx, const char *finding_id, json_t **out,
                             struct err *err);
/* Suppresses (reason, by, until (NULL = no expiry)) or reopens a suppressed finding. *out: the
 * finding, or NULL when there is none. */
enum err_code db_finding_set_status(struct db_tx *tx, const char *finding_id, bool suppress,
                                    const char *reason, const char *by, const char *until,
                                    json_t **out, struct err *err);
/* Score, counts by severity and category, per-account scores, riskiest functions. */
enum err_code db_posture_summary(struct db_tx *tx, const char *account_id, json_t **out,
                                 struct err *err);

/* ---- domain events (db/events.c) ---- */

/* Records a domain event in the outbox, in tx (the same transaction as the change it reports;
 * the tenant is the transaction's): kind is finding.opened | incident.opened |
 * incident.escalated | incident.resolved, subject_id the finding or incident, severity one of
 * critical|high|medium|low|info, payload what a notification shows (title, summary, counts,
 * link). Delivery to integrations happens later from the outbox. */
enum err_code db_event_record(struct db_tx *tx, const char *kind, const char *subject_id,
                              const char *severity, const json_t *payload, struct err *err);

/* ---- notification integrations and deliveries (db/integrations.c) ---- */

/* An integration as stored: config is the JSON of its settings with secrets redacted, secrets_hex
 * the hex of the sealed secret settings (auth/seal.h), events a JSON array of event kinds. */
struct db_intg {
    char id[DB_ID_LEN];
    char kind[16];
    char name[256];
    char *config;
    char *secrets_hex;
    char min_severity[16];
    char *events;
    bool enabled;
};
void db_intg_clear(struct db_intg *in); /* frees the strings; NULL-safe */

/* Creates in (tenant from the transaction); *out is its JSON {id, kind, name, config,
 * min_severity, events, enabled, created_at, updated_at} (new reference). */
enum err_code db_intg_create(struct db_tx *tx, const struct db_intg *in, unsigned min_interval_ms,
                             json_t **out, struct err *err);
/* Loads (and locks) an integration; *found=false when not in the tenant. Clear out after. */
enum err_code db_intg_load(struct db_tx *tx, const char *id, struct db_intg *out, bool *found,
                           struct err *err);
/* Rewrites name, config, secrets, min_severity, events and enabled of in->id; *out as above. */
enum err_code db_intg_update(struct db_tx *tx, const struct db_intg *in, json_t **out,
                             struct err *err);
enum err_code db_intg_get(struct db_tx *tx, const char *id, json_t **out, struct err *err);
enum err_code db_intg_list(struct db_tx *tx, int limit, const char *after, json_t **items,
                           char *next, size_t nextlen, struct err *err);
enum err_code db_intg_delete(struct db_tx *tx, const char *id, bool *found, struct err *err);

/* The integration's deliveries, newest first (keyset on delivery id). */
enum err_code db_delivery_list(struct db_tx *tx, const char *integration_id, int limit,
                               const char *before, json_t **items, char *next, size_t nextlen,
                               struct err *err);
/* Puts dead deliveries (all of the integration's, or those in ids_json, a JSON array of ids)
 * back in the queue with fresh attempts; *n gets how many. */
enum err_code db_delivery_retry(struct db_tx *tx, const char *integration_id,
                                const char *ids_json, long long *n, struct err *err);

/* Tenants with pending events or due deliveries (at most limit), in a system transaction. */
enum err_code db_notify_tenants(struct db_tx *tx, unsigned limit, char (*out)[DB_ID_LEN],
                                unsigned *n, struct err *err);
/* Fans up to limit pending events of the transaction's tenant out into deliveries and marks them
 * dispatched; *events and *deliveries get the counts. */
enum err_code db_notify_dispatch(struct db_tx *tx, unsigned limit, long long *events,
                                 long long *deliveries, struct err *err);

/* A claimed delivery with what sending it needs. */
struct db_delivery {
    long long id;
    char integration_id[DB_ID_LEN];
    char kind[16];     /* the integration's */
    char *config;      /* JSON, secrets redacted */
    char *secrets_hex; /* sealed secrets */
    char event[24];
    char subject_id[DB_ID_LEN];
    char severity[16];
    char *payload; /* JSON */
    long long event_id;
    double created_at; /* epoch seconds */
    int attempts;      /* including this one */
    char issue_key[64]; /* JIRA: the issue remembered for the subject, or "" */
};
void db_deliveries_free(struct db_delivery *d, size_t n); /* NULL-safe */

/* Per-integration limits of one claim: ids (a uuid[] literal) and limits (an int[] literal of
 * the same length); integrations in neither get at most unknown. */
struct db_claim_windows {
    const char *ids, *limits;
    unsigned unknown;
};
/* Claims up to total due deliveries of the transaction's tenant under a lease of lease_s
 * (per integration at most per_integration, per_batch for batching sinks, and at most its
 * window; 1 for rate-limited ones; none of the integrations in exclude, a PostgreSQL uuid array
 * literal such as "{}"), in order within each story. *out (free with db_deliveries_free) has
 * *n entries. */
enum err_code db_notify_claim(struct db_tx *tx, const char *worker, unsigned lease_s,
                              unsigned per_integration, unsigned per_batch,
                              const char *exclude, const struct db_claim_windows *win,
                              unsigned total, struct db_delivery **out, size_t *n,
                              struct err *err);
/* Deletes the outbox events older than days whose deliveries have all ended (delivered or
 * dead), with those deliveries, across tenants; *deleted gets how many events. */
enum err_code db_outbox_retention(struct db_tx *tx, unsigned days, long long *deleted,
                                  struct err *err);
/* Records a batch of outcomes (JSON array of {id, status, http, error, delay_s, uncount}) for
 * deliveries worker holds; *n (may be NULL) gets how many changed. */
enum err_code db_notify_record(struct db_tx *tx, const char *worker, const char *results_json,
                               long long *n, struct err *err);
/* Remembers the JIRA issue opened for a subject (a second one is ignored). */
enum err_code db_jira_remember(struct db_tx *tx, const char *integration_id,
                               const char *subject_id, const char *issue_key, struct err *err);

/* Audit log: append (every state-changing call, in its own transaction) and list. */
struct db_audit {
    const char *actor_type; /* user | api_key | system */
    const char *actor_id;   /* may be NULL */
    const char *actor_role; /* may be NULL */
    const char *action;     /* "api_key.create" */
    const char *target_type;
    const char *target_id;
    const char *source_ip; /* may be NULL */
    const char *request_id;
};
enum err_code db_audit_append(struct db_tx *tx, const char *tenant_id, const struct db_audit *a,
                              struct err *err);
enum err_code db_audit_list(struct db_tx *tx, int limit, const char *before_id, json_t **items,
                            char *next, size_t nextlen, struct err *err);

/* Sign-in throttling: failures in the last window_s for each key hash (32 bytes each), and the
 * seconds until the oldest of them leaves the window. */
enum err_code db_auth_failures(struct db_tx *tx, const unsigned char account[32],
                               const unsigned char source[32], unsigned window_s,
                               long long *account_n, long long *source_n, long long *retry_s,
                               struct err *err);
enum err_code db_auth_failure_record(struct db_tx *tx, const unsigned char account[32],
                                     const unsigned char source[32], struct err *err);
enum err_code db_auth_failures_clear(struct db_tx *tx, const unsigned char account[32],
                                     struct err *err);

/* ---- observe (db/observe.c) ---- */

/* Scopes tx (e.g. a worker's system transaction) to tenant_id from now on. */
enum err_code db_obs_scope_tenant(struct db_tx *tx, const char *tenant_id, struct err *err);

/* Creates the events partition of day ("YYYY-MM-DD", UTC) unless it exists, in its own
 * transaction (DDL kept out of the ingest transaction). */
enum err_code db_obs_partition_ensure(struct db_pool *pool, const char *day, struct err *err);

/* The tenant's AWS account ids as a new JSON array of strings. */
enum err_code db_obs_accounts(struct db_tx *tx, json_t **ids, struct err *err);

/* Locks the idempotency key for the rest of tx and reads its stored answer: *found is a new
 * {same: bool (the body hash matches), status, response} or NULL when the key is new. */
enum err_code db_obs_idem_get(struct db_tx *tx, const char *key, const unsigned char hash[32],
                              json_t **found, struct err *err);
enum err_code db_obs_idem_put(struct db_tx *tx, const char *key, const unsigned char hash[32],
                              int status, const char *response_json, struct err *err);

/* Writes events given as a JSON array of {time, event_id, type, account_id, region,
 * function_arn, request_id, trace_id, source_ip, body} in one statement; existing event ids are
 * skipped. *inserted: rows written; *ids: when fewer than nrows, a new array of the ids written
 * (else NULL). */
enum err_code db_obs_events_insert(struct db_tx *tx, const char *rows_json, size_t nrows,
                                   long long *inserted, json_t **ids, struct err *err);

/* Writes signals given as a JSON array of objects with the columns of table signals. */
enum err_code db_obs_signals_insert(struct db_tx *tx, const char *rows_json, struct err *err);

/* Known (access key, address) pairs for the keys of keys_json (a JSON array of strings), as a
 * new array of [key, address]; and records pairs seen ({k, ip, t} rows). */
enum err_code db_obs_key_addresses(struct db_tx *tx, const char *keys_json, json_t **pairs,
                                   struct err *err);
enum err_code db_obs_key_addresses_record(struct db_tx *tx, const char *rows_json,
                                          struct err *err);

/* Event retention: drops day partitions older than days, deletes older signals and day-old
 * idempotency records (all tenants); *dropped gets the partitions dropped. */
enum err_code db_obs_retention(struct db_tx *tx, unsigned days, long long *dropped,
                               struct err *err);

/* Correlation. A claim locks the tenant's correlation state (SKIP LOCKED: *claimed=false when
 * another worker holds it) and gives the xid range of the signals to fold: [from, to). */
enum err_code db_obs_corr_claim(struct db_tx *tx, bool *claimed, char from[24], char to[24],
                                struct err *err);
enum err_code db_obs_corr_done(struct db_tx *tx, const char *xid, struct err *err);
/* Queues a correlation job for the tenant in delay_s unless one is queued already. */
enum err_code db_obs_corr_enqueue(struct db_tx *tx, const char *tenant_id, double delay_s,
                                  struct err *err);
/* Tenants with signals not yet folded (all tenants: a SECURITY DEFINER function), as a new
 * JSON array of ids. */
enum err_code db_obs_corr_pending(struct db_tx *tx, json_t **tenants, struct err *err);

/* One signal as correlation reads it; strings point into the batch's result (NULL = SQL NULL). */
struct db_obs_signal {
    long long signal_id;
    const char *xid;
    long long time_ms;
    const char *source, *rule_id, *cls, *technique, *severity;
    bool weak;
    const char *account_id, *function_arn, *route, *source_ip, *request_id, *trace_id;
    const char *principal, *access_key_id, *shape, *location, *evidence;
    long long records;
    uint64_t memo; /* the caller's (correlation caches its repeat key here); 0 when read */
};
struct db_obs_sigbatch {
    size_t n, cap;
    struct db_obs_signal *rows; /* strings point into res */
    void *res;                  /* the result the rows were read from */
};
/* The functions filling a batch reuse it (a zeroed one, or an earlier batch, whose rows are
 * then gone); free it once at the end. */
void db_obs_sigbatch_free(struct db_obs_sigbatch *b); /* NULL-safe; leaves it empty */

/* The next signals in [from, to) after (after_xid, after_id), in xid order, at most limit. */
enum err_code db_obs_corr_signals(struct db_tx *tx, const char *from, const char *to,
                                  const char *after_xid, long long after_id, int limit,
                                  struct db_obs_sigbatch *out, struct err *err);
/* Weak signals in no incident with this access key or principal (either may be NULL) within
 * [from_ms, to_ms], at most 1000. */
enum err_code db_obs_corr_weak(struct db_tx *tx, const char *access_key_id, const char *principal,
                               long long from_ms, long long to_ms, struct db_obs_sigbatch *out,
                               struct err *err);
/* The times and techniques of a principal's weak signals of a class in [from_ms, to_ms], in
 * time order, at most DB_OBS_BURST_MAX. */
#define DB_OBS_BURST_MAX 20000
struct db_obs_burst {
    size_t n;
    long long *ms;
    char **technique;
};
enum err_code db_obs_corr_burst(struct db_tx *tx, const char *principal, const char *cls,
                                long long from_ms, long long to_ms, struct db_obs_burst *out,
                                struct err *err);
void db_obs_burst_free(struct db_obs_burst *b); /* NULL-safe; leaves it empty */
/* For each trace id of traces (a Postgres text[] literal), and each request id of requests
 * (signals without a trace id), the latest signal before (before_xid, before_id) carrying it. */
enum err_code db_obs_corr_origins(struct db_tx *tx, const char *traces, const char *requests,
                                  const char *before_xid, long long before_id,
                                  struct db_obs_sigbatch *out, struct err *err);
/* Open incidents reached by key hashes (a Postgres array literal of bigints): a new array of
 * {key, incident: {id, repeat_key, kind, class, title, severity, status, account_id, attempts,
 * distinct_sources, functions, records_exposed, steps, phases, first_seen_ms, last_seen_ms}}. */
enum err_code db_obs_corr_lookup(struct db_tx *tx, const char *hashes, json_t **out,
                                 struct err *err);
/* Batched incident writes; rows are JSON arrays of objects, ids/idx/keys/sigs/ms Postgres array
 * literals (see db/observe.c). links and steps return what was new, per incident. */
enum err_code db_obs_incidents_insert(struct db_tx *tx, const char *rows_json, struct err *err);
enum err_code db_obs_incidents_update(struct db_tx *tx, const char *rows_json, struct err *err);
enum err_code db_obs_incident_signals(struct db_tx *tx, const char *ids, const char *chunks,
                                      const char *weak, struct err *err);
enum err_code db_obs_incident_keys(struct db_tx *tx, const char *ids, const char *keys,
                                   const char *idx, const char *ms, struct err *err);
enum err_code db_obs_incident_links(struct db_tx *tx, const char *rows_json, json_t **added,
                                    struct err *err);
enum err_code db_obs_incident_steps(struct db_tx *tx, const char *rows_json, json_t **added,
                                    struct err *err);
/* Ingest answers of the last day that rejected events or Firehose records, newest first (keyset
 * on a sequence; before: the cursor, may be NULL). */
enum err_code db_ingest_rejections(struct db_tx *tx, int limit, const char *before,
                                   json_t **items, char *next, size_t nextlen, struct err *err);
/* The tenant's function execution roles: a new array of [aws_account_id, role name, [attached
 * managed policy ARNs]]. */
enum err_code db_obs_function_roles(struct db_tx *tx, json_t **out, struct err *err);
/* Open posture findings on the resources of arns_json (a JSON array of ARNs): a new array of
 * {resource_arn, finding_id, severity}; empty until the findings table exists. */
enum err_code db_obs_open_findings(struct db_tx *tx, const char *arns_json, json_t **out,
                                   struct err *err);

/* Incidents for the API. List: newest first, keyset on the incident's sequence number (before:
 * the cursor, may be NULL), optional filters (NULL = any). get: *out is the incident with its
 * story, NULL when there is no such incident in the tenant. set_status: locks the incident,
 * *before gets {status, severity, title, summary} (NULL when not found), *out the result.
 * events: the signals folded into it, in folding order (an opaque numeric cursor). */
enum err_code db_incident_list(struct db_tx *tx, int limit, const char *before,
                               const char *status, const char *severity, const char *account_id,
                               json_t **items, char *next, size_t nextlen, struct err *err);
enum err_code db_incident_get(struct db_tx *tx, const char *id, json_t **out, struct err *err);
enum err_code db_incident_set_status(struct db_tx *tx, const char *id, const char *status,
                                     const char *note, json_t **before, json_t **out,
                                     struct err *err);
enum err_code db_incident_events(struct db_tx *tx, const char *id, int limit, const char *after,
                                 json_t **items, char *next, size_t nextlen, struct err *err);

#endif
