#include "db/db_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#define USER_JSON                                                                               \
    "json_build_object('id', user_id, 'email', email, 'role', role, 'status', status,"          \
    "  'created_at', " TS("created_at") ", 'last_login_at', " TS("last_login_at") ")"

/* bytea parameters go as text: "\x" and hex. */
static void hex32(const unsigned char h[32], char out[67])
{
    static const char digits[] = "0123456789abcdef";
    out[0] = '\\';
    out[1] = 'x';
    for (int i = 0; i < 32; i++) {
        out[2 + 2 * i] = digits[h[i] >> 4];
        out[3 + 2 * i] = digits[h[i] & 0xf];
    }
    out[66] = '\0';
}

static void copy(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src);
}

static long long ll(const PGresult *r, int row, int col)
{
    return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static bool flag(const PGresult *r, int row, int col)
{
    return PQgetvalue(r, row, col)[0] == 't';
}

static const struct db_stmt tenant_create_stmt = {
    "tenant_create", "INSERT INTO tenants (tenant_id, name, slug) VALUES ($1, $2, $3)", 3};

enum err_code db_tenant_create(struct db_tx *tx, const char *tenant_id, const char *name,
                               const char *slug, struct err *err)
{
    const char *p[3] = {tenant_id, name, slug};
    enum err_code rc = db_exec_count(tx, &tenant_create_stmt, p, NULL, err);
    if (rc == ERR_CONFLICT)
        return err_set_field(err, ERR_CONFLICT, "organization",
                             "an organization with this name already exists");
    return rc;
}

static const struct db_stmt user_create_stmt = {
    "user_create",
    "INSERT INTO users (tenant_id, user_id, email, password_hash, role, status)"
    " VALUES ($1, $2, $3, $4, $5, $6)",
    6};

enum err_code db_user_create(struct db_tx *tx, const char *tenant_id, const char *user_id,
                             const char *email, const char *password_hash, const char *role,
                             const char *status, struct err *err)
{
    const char *p[6] = {tenant_id, user_id, email, password_hash, role, status};
    enum err_code rc = db_exec_count(tx, &user_create_stmt, p, NULL, err);
    if (rc == ERR_CONFLICT)
        return err_set_field(err, ERR_CONFLICT, "email", "a user with this email already exists");
    return rc;
}

static const struct db_stmt login_stmt = {
    "login_candidates",
    "SELECT tenant_id, user_id, coalesce(password_hash, ''), role, status, token_epoch"
    "  FROM auth_login_candidates($1, $2)",
    2};

enum err_code db_login_candidates(struct db_tx *tx, const char *email, const char *slug,
                                  struct db_login out[2], int *n, struct err *err)
{
    const char *p[2] = {email, slug};
    PGresult *r = NULL;
    enum err_code rc;

    *n = 0;
    rc = db_run(tx, &login_stmt, p, &r, err);
    for (int i = 0; rc == ERR_OK && i < PQntuples(r) && i < 2; i++) {
        copy(out[i].tenant_id, sizeof out[i].tenant_id, PQgetvalue(r, i, 0));
        copy(out[i].user_id, sizeof out[i].user_id, PQgetvalue(r, i, 1));
        copy(out[i].password_hash, sizeof out[i].password_hash, PQgetvalue(r, i, 2));
        copy(out[i].role, sizeof out[i].role, PQgetvalue(r, i, 3));
        copy(out[i].status, sizeof out[i].status, PQgetvalue(r, i, 4));
        out[i].token_epoch = ll(r, i, 5);
        (*n)++;
    }
    PQclear(r);
    return rc;
}

static const struct db_stmt touch_login_stmt = {
    "user_touch_login", "UPDATE users SET last_login_at = now() WHERE user_id = $1", 1};

enum err_code db_user_touch_login(struct db_tx *tx, const char *user_id, struct err *err)
{
    const char *p[1] = {user_id};
    return db_exec_count(tx, &touch_login_stmt, p, NULL, err);
}

enum err_code db_user_json(struct db_tx *tx, const char *user_id, json_t **user, struct err *err)
{
    static const struct db_stmt user_json_stmt = {
        "user_json", "SELECT " USER_JSON " FROM users WHERE user_id = $1", 1};
    const char *p[1] = {user_id};
    return db_exec_json(tx, &user_json_stmt, p, user, err);
}

static const struct db_stmt tenant_json_stmt = {
    "tenant_json",
    "SELECT json_build_object('id', tenant_id, 'name', name, 'slug', slug,"
    "  'created_at', " TS("created_at") ") FROM tenants WHERE tenant_id = $1",
    1};

enum err_code db_tenant_json(struct db_tx *tx, const char *tenant_id, json_t **tenant,
                             struct err *err)
{
    const char *p[1] = {tenant_id};
    return db_exec_json(tx, &tenant_json_stmt, p, tenant, err);
}

static const struct db_stmt session_create_stmt = {
    "session_create", "INSERT INTO sessions (tenant_id, session_id, user_id) VALUES ($1, $2, $3)",
    3};

enum err_code db_session_create(struct db_tx *tx, const char *tenant_id, const char *session_id,
                                const char *user_id, struct err *err)
{
    const char *p[3] = {tenant_id, session_id, user_id};
    return db_exec_count(tx, &session_create_stmt, p, NULL, err);
}

static const struct db_stmt refresh_insert_stmt = {
    "refresh_insert",
    "INSERT INTO refresh_tokens (tenant_id, token_hash, session_id, user_id, expires_at)"
    " VALUES ($1, $2::bytea, $3, $4, now() + make_interval(secs => $5::int))",
    5};

enum err_code db_refresh_insert(struct db_tx *tx, const char *tenant_id,
                                const unsigned char hash[32], const char *session_id,
                                const char *user_id, unsigned ttl_s, struct err *err)
{
    char h[67], ttl[16];
    const char *p[5] = {tenant_id, h, session_id, user_id, ttl};

    hex32(hash, h);
    snprintf(ttl, sizeof ttl, "%u", ttl_s);
    return db_exec_count(tx, &refresh_insert_stmt, p, NULL, err);
}

static const struct db_stmt refresh_take_stmt = {
    "refresh_take",
    "SELECT r.session_id, r.user_id, r.used_at IS NOT NULL, r.expires_at <= now(),"
    "       s.revoked_at IS NOT NULL, u.status = 'active', u.role, u.token_epoch"
    "  FROM refresh_tokens r"
    "  JOIN sessions s ON s.tenant_id = r.tenant_id AND s.session_id = r.session_id"
    "  JOIN users u ON u.tenant_id = r.tenant_id AND u.user_id = r.user_id"
    " WHERE r.token_hash = $1::bytea"
    "   FOR UPDATE OF r, s",
    1};

enum err_code db_refresh_take(struct db_tx *tx, const unsigned char hash[32],
                              struct db_refresh *out, bool *found, struct err *err)
{
    char h[67];
    const char *p[1] = {h};
    PGresult *r = NULL;
    enum err_code rc;

    hex32(hash, h);
    *found = false;
    memset(out, 0, sizeof *out);
    rc = db_run(tx, &refresh_take_stmt, p, &r, err);
    if (rc == ERR_OK && PQntuples(r) == 1) {
        *found = true;
        copy(out->session_id, sizeof out->session_id, PQgetvalue(r, 0, 0));
        copy(out->user_id, sizeof out->user_id, PQgetvalue(r, 0, 1));
        out->used = flag(r, 0, 2);
        out->expired = flag(r, 0, 3);
        out->session_revoked = flag(r, 0, 4);
        out->user_active = flag(r, 0, 5);
        copy(out->role, sizeof out->role, PQgetvalue(r, 0, 6));
        out->token_epoch = ll(r, 0, 7);
    }
    PQclear(r);
    return rc;
}

static const struct db_stmt refresh_used_stmt = {
    "refresh_mark_used", "UPDATE refresh_tokens SET used_at = now() WHERE token_hash = $1::bytea",
    1};

enum err_code db_refresh_mark_used(struct db_tx *tx, const unsigned char hash[32],
                                   struct err *err)
{
    char h[67];
    const char *p[1] = {h};
    hex32(hash, h);
    return db_exec_count(tx, &refresh_used_stmt, p, NULL, err);
}

static const struct db_stmt session_revoke_stmt = {
    "session_revoke",
    "UPDATE sessions SET revoked_at = now(), revoked_reason = $2"
    " WHERE session_id = $1 AND revoked_at IS NULL",
    2};

enum err_code db_session_revoke(struct db_tx *tx, const char *session_id, const char *reason,
                                struct err *err)
{
    const char *p[2] = {session_id, reason};
    return db_exec_count(tx, &session_revoke_stmt, p, NULL, err);
}

static const struct db_stmt revoke_all_sessions_stmt = {
    "user_revoke_sessions",
    "UPDATE sessions SET revoked_at = now(), revoked_reason = $2"
    " WHERE user_id = $1 AND revoked_at IS NULL",
    2};
static const struct db_stmt bump_epoch_stmt = {
    "user_bump_epoch",
    "UPDATE users SET token_epoch = token_epoch + 1, updated_at = now() WHERE user_id = $1", 1};

enum err_code db_user_revoke_all(struct db_tx *tx, const char *user_id, const char *reason,
                                 struct err *err)
{
    const char *p[2] = {user_id, reason};
    enum err_code rc = db_exec_count(tx, &revoke_all_sessions_stmt, p, NULL, err);
    if (rc == ERR_OK)
        rc = db_exec_count(tx, &bump_epoch_stmt, p, NULL, err);
    return rc;
}

static const struct db_stmt session_state_stmt = {
    "session_state",
    "SELECT s.revoked_at IS NULL AND u.status = 'active', u.token_epoch, u.role"
    "  FROM sessions s JOIN users u ON u.tenant_id = s.tenant_id AND u.user_id = s.user_id"
    " WHERE s.session_id = $1 AND s.user_id = $2",
    2};

enum err_code db_session_state(struct db_tx *tx, const char *session_id, const char *user_id,
                               struct db_session_state *out, struct err *err)
{
    const char *p[2] = {session_id, user_id};
    PGresult *r = NULL;
    enum err_code rc;

    memset(out, 0, sizeof *out);
    rc = db_run(tx, &session_state_stmt, p, &r, err);
    if (rc == ERR_OK && PQntuples(r) == 1) {
        out->valid = flag(r, 0, 0);
        out->token_epoch = ll(r, 0, 1);
        copy(out->role, sizeof out->role, PQgetvalue(r, 0, 2));
    }
    PQclear(r);
    return rc;
}


static const struct db_stmt apikey_create_stmt = {
    "apikey_create",
    "INSERT INTO api_keys (tenant_id, key_id, name, kind, role, prefix, key_hash, created_by)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7::bytea, $8)"
    " RETURNING json_build_object('id', key_id, 'name', name, 'kind', kind, 'role', role,"
    "   'prefix', prefix, 'created_at', " TS("created_at") ")",
    8};

enum err_code db_apikey_create(struct db_tx *tx, const char *tenant_id, const char *key_id,
                               const char *name, const char *kind, const char *role,
                               const char *prefix, const unsigned char hash[32],
                               const char *created_by, json_t **out, struct err *err)
{
    char h[67];
    const char *p[8] = {tenant_id, key_id, name, kind, role, prefix, h, created_by};
    hex32(hash, h);
    return db_exec_json(tx, &apikey_create_stmt, p, out, err);
}

/* Keyset pagination on key_id (UUIDs sort stably). */
static const struct db_stmt apikey_list_stmt = {
    "apikey_list",
    "SELECT json_build_object('id', key_id, 'name', name, 'kind', kind, 'role', role,"
    "   'prefix', prefix, 'created_at', " TS("created_at") ", 'last_used_at', "
    TS("last_used_at") ", 'revoked_at', " TS("revoked_at") "), key_id"
    "  FROM api_keys WHERE ($2::uuid IS NULL OR key_id > $2::uuid)"
    " ORDER BY key_id LIMIT $1::int",
    2};

enum err_code db_apikey_list(struct db_tx *tx, int limit, const char *after_key, json_t **items,
                             char *next, size_t nextlen, struct err *err)
{
    return db_list_json(tx, &apikey_list_stmt, limit, after_key, items, next, nextlen, err);
}

static const struct db_stmt apikey_revoke_stmt = {
    "apikey_revoke",
    "UPDATE api_keys SET revoked_at = now() WHERE key_id = $1 AND revoked_at IS NULL", 1};

enum err_code db_apikey_revoke(struct db_tx *tx, const char *key_id, bool *found,
                               struct err *err)
{
    const char *p[1] = {key_id};
    return db_exec_found(tx, &apikey_revoke_stmt, p, found, err);
}

/* One statement validates the key and records its use; last_used_at moves at most once a
 * minute so a busy key does not rewrite its row on every cache refresh. */
static const struct db_stmt apikey_use_stmt = {
    "apikey_use",
    "WITH k AS (SELECT key_id, kind, role, last_used_at FROM api_keys"
    "            WHERE key_hash = $1::bytea AND revoked_at IS NULL),"
    " t AS (UPDATE api_keys a SET last_used_at = now() FROM k"
    "        WHERE a.tenant_id = app_tenant() AND a.key_id = k.key_id"
    "          AND (k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute'))"
    " SELECT key_id, kind, role FROM k",
    1};

enum err_code db_apikey_use(struct db_tx *tx, const unsigned char hash[32], struct db_apikey *out,
                            bool *found, struct err *err)
{
    char h[67];
    const char *p[1] = {h};
    PGresult *r = NULL;
    enum err_code rc;

    hex32(hash, h);
    *found = false;
    memset(out, 0, sizeof *out);
    rc = db_run(tx, &apikey_use_stmt, p, &r, err);
    if (rc == ERR_OK && PQntuples(r) == 1) {
        *found = true;
        copy(out->key_id, sizeof out->key_id, PQgetvalue(r, 0, 0));
        copy(out->kind, sizeof out->kind, PQgetvalue(r, 0, 1));
        copy(out->role, sizeof out->role, PQgetvalue(r, 0, 2));
    }
    PQclear(r);
    return rc;
}

static const struct db_stmt audit_append_stmt = {
    "audit_append",
    "INSERT INTO audit_log (tenant_id, actor_type, actor_id, actor_role, action, target_type,"
    "                       target_id, source_ip, request_id)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8::inet, $9)",
    9};

enum err_code db_audit_append(struct db_tx *tx, const char *tenant_id, const struct db_audit *a,
                              struct err *err)
{
    const char *p[9] = {tenant_id,     a->actor_type, a->actor_id,
                        a->actor_role, a->action,     a->target_type,
                        a->target_id,  a->source_ip && a->source_ip[0] ? a->source_ip : NULL,
                        a->request_id};
    return db_exec_count(tx, &audit_append_stmt, p, NULL, err);
}

static const struct db_stmt audit_list_stmt = {
    "audit_list",
    "SELECT json_build_object('id', audit_id::text, 'at', "
    "   to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
    "   'actor', json_build_object('type', actor_type, 'id', actor_id, 'role', actor_role),"
    "   'action', action, 'target', json_build_object('type', target_type, 'id', target_id),"
    "   'source_ip', host(source_ip), 'request_id', request_id), audit_id::text"
    "  FROM audit_log WHERE ($2::bigint IS NULL OR audit_id < $2::bigint)"
    " ORDER BY audit_id DESC LIMIT $1::int",
    2};

enum err_code db_audit_list(struct db_tx *tx, int limit, const char *before_id, json_t **items,
                            char *next, size_t nextlen, struct err *err)
{
    return db_list_json(tx, &audit_list_stmt, limit, before_id, items, next, nextlen, err);
}

static const struct db_stmt failures_stmt = {
    "auth_failures_count",
    "SELECT count(*) FILTER (WHERE key_hash = $1::bytea),"
    "       count(*) FILTER (WHERE key_hash = $2::bytea),"
    "       coalesce(ceil(extract(epoch FROM min(at) + make_interval(secs => $3::int) - now())),"
    "                0)::bigint"
    "  FROM auth_failures"
    " WHERE key_hash IN ($1::bytea, $2::bytea) AND at > now() - make_interval(secs => $3::int)",
    3};

enum err_code db_auth_failures(struct db_tx *tx, const unsigned char account[32],
                               const unsigned char source[32], unsigned window_s,
                               long long *account_n, long long *source_n, long long *retry_s,
                               struct err *err)
{
    char a[67], s[67], w[16];
    const char *p[3] = {a, s, w};
    PGresult *r = NULL;
    enum err_code rc;

    hex32(account, a);
    hex32(source, s);
    snprintf(w, sizeof w, "%u", window_s);
    rc = db_run(tx, &failures_stmt, p, &r, err);
    if (rc == ERR_OK) {
        *account_n = ll(r, 0, 0);
        *source_n = ll(r, 0, 1);
        *retry_s = ll(r, 0, 2);
    }
    PQclear(r);
    return rc;
}

static const struct db_stmt failure_record_stmt = {
    "auth_failure_record", "INSERT INTO auth_failures (key_hash) VALUES ($1::bytea), ($2::bytea)",
    2};

enum err_code db_auth_failure_record(struct db_tx *tx, const unsigned char account[32],
                                     const unsigned char source[32], struct err *err)
{
    char a[67], s[67];
    const char *p[2] = {a, s};
    hex32(account, a);
    hex32(source, s);
    return db_exec_count(tx, &failure_record_stmt, p, NULL, err);
}

static const struct db_stmt failures_clear_stmt = {
    "auth_failures_clear", "DELETE FROM auth_failures WHERE key_hash = $1::bytea", 1};

enum err_code db_auth_failures_clear(struct db_tx *tx, const unsigned char account[32],
                                     struct err *err)
{
    char a[67];
    const char *p[1] = {a};
    hex32(account, a);
    return db_exec_count(tx, &failures_clear_stmt, p, NULL, err);
}

static const struct db_stmt user_list_stmt = {
    "user_list",
    "SELECT " USER_JSON ", user_id FROM users WHERE ($2::uuid IS NULL OR user_id > $2::uuid)"
    " ORDER BY user_id LIMIT $1::int",
    2};

enum err_code db_user_list(struct db_tx *tx, int limit, const char *after, json_t **items,
                           char *next, size_t nextlen, struct err *err)
{
    return db_list_json(tx, &user_list_stmt, limit, after, items, next, nextlen, err);
}

static const struct db_stmt user_update_stmt = {
    "user_update",
    "UPDATE users SET role = coalesce($2, role), status = coalesce($3, status),"
    "       updated_at = now() WHERE user_id = $1 RETURNING " USER_JSON,
    3};

enum err_code db_user_update(struct db_tx *tx, const char *user_id, const char *role,
                             const char *status, json_t **out, struct err *err)
{
    const char *p[3] = {user_id, role, status};
    return db_exec_json(tx, &user_update_stmt, p, out, err);
}

static const struct db_stmt user_delete_stmt = {
    "user_delete", "DELETE FROM users WHERE user_id = $1", 1};

enum err_code db_user_delete(struct db_tx *tx, const char *user_id, bool *found,
                             struct err *err)
{
    const char *p[1] = {user_id};
    return db_exec_found(tx, &user_delete_stmt, p, found, err);
}

static const struct db_stmt user_role_stmt = {
    "user_role",
    "SELECT coalesce((SELECT role FROM users WHERE user_id = $1), ''),"
    "       (SELECT count(*) FROM users WHERE role = 'owner' AND status = 'active')",
    1};

enum err_code db_user_role(struct db_tx *tx, const char *user_id, char role[16],
                           long long *owners, struct err *err)
{
    const char *p[1] = {user_id};
    PGresult *r = NULL;
    enum err_code rc = db_run(tx, &user_role_stmt, p, &r, err);
    if (rc == ERR_OK) {
        copy(role, 16, PQgetvalue(r, 0, 0));
        *owners = ll(r, 0, 1);
    }
    PQclear(r);
    return rc;
}

static const struct db_stmt invite_create_stmt = {
    "invite_create",
    "INSERT INTO user_invites (tenant_id, token_hash, user_id, expires_at)"
    " VALUES ($1, $2::bytea, $3, now() + make_interval(secs => $4::int))",
    4};

enum err_code db_invite_create(struct db_tx *tx, const char *tenant_id,
                               const unsigned char hash[32], const char *user_id, unsigned ttl_s,
                               struct err *err)
{
    char h[67], ttl[16];
    const char *p[4] = {tenant_id, h, user_id, ttl};
    hex32(hash, h);
    snprintf(ttl, sizeof ttl, "%u", ttl_s);
    return db_exec_count(tx, &invite_create_stmt, p, NULL, err);
}

static const struct db_stmt invite_take_stmt = {
    "invite_take",
    "UPDATE user_invites i SET used_at = now() FROM users u"
    " WHERE i.token_hash = $1::bytea AND i.used_at IS NULL AND i.expires_at > now()"
    "   AND u.tenant_id = i.tenant_id AND u.user_id = i.user_id AND u.status = 'invited'"
    " RETURNING i.user_id, u.role",
    1};

enum err_code db_invite_take(struct db_tx *tx, const unsigned char hash[32], char user_id[37],
                             char role[16], bool *found, struct err *err)
{
    char h[67];
    const char *p[1] = {h};
    PGresult *r = NULL;
    enum err_code rc;

    hex32(hash, h);
    *found = false;
    rc = db_run(tx, &invite_take_stmt, p, &r, err);
    if (rc == ERR_OK && PQntuples(r) == 1) {
        *found = true;
        copy(user_id, 37, PQgetvalue(r, 0, 0));
        copy(role, 16, PQgetvalue(r, 0, 1));
    }
    PQclear(r);
    return rc;
}

static const struct db_stmt user_set_password_stmt = {
    "user_set_password",
    "UPDATE users SET password_hash = $2, token_epoch = token_epoch + 1, updated_at = now(),"
    "       status = CASE WHEN $3::bool THEN 'active' ELSE status END"
    " WHERE user_id = $1 RETURNING token_epoch",
    3};

enum err_code db_user_set_password(struct db_tx *tx, const char *user_id,
                                   const char *password_hash, bool activate, long long *epoch,
                                   struct err *err)
{
    const char *p[3] = {user_id, password_hash, activate ? "true" : "false"};
    const char *rp[2] = {user_id, "password changed"};
    PGresult *r = NULL;
    enum err_code rc;

    rc = db_exec_count(tx, &revoke_all_sessions_stmt, rp, NULL, err);
    if (rc == ERR_OK)
        rc = db_run(tx, &user_set_password_stmt, p, &r, err);
    if (rc == ERR_OK && PQntuples(r) != 1)
        rc = err_set(err, ERR_NOT_FOUND, "no such user");
    if (rc == ERR_OK)
        *epoch = ll(r, 0, 0);
    PQclear(r);
    return rc;
}

static const struct db_stmt user_secret_stmt = {
    "user_secret", "SELECT coalesce(password_hash, ''), email FROM users WHERE user_id = $1", 1};

enum err_code db_user_secret(struct db_tx *tx, const char *user_id, char hash[160],
                             char email[256], struct err *err)
{
    const char *p[1] = {user_id};
    PGresult *r = NULL;
    enum err_code rc = db_run(tx, &user_secret_stmt, p, &r, err);

    hash[0] = email[0] = '\0';
    if (rc == ERR_OK && PQntuples(r) == 1) {
        copy(hash, 160, PQgetvalue(r, 0, 0));
        copy(email, 256, PQgetvalue(r, 0, 1));
    }
    PQclear(r);
    return rc;
}
