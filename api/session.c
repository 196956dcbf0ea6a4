/* Sign-up, sign-in, token refresh, sign-out and "who am I". */
#include "api/api.h"

#include "auth/password.h"
#include "db/db.h"
#include "server/log.h"

#include <ctype.h>
#include <pthread.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define THROTTLE_WINDOW_S (15 * 60)
#define THROTTLE_MAX 10

/* Lower-cases and checks an email address: printable ASCII, one '@', a dotted domain. */
enum err_code api_email_normalise(const char *in, char out[256], struct err *err)
{
    size_t n = strlen(in);
    const char *at;

    if (n < 3 || n > 254)
        return err_set_field(err, ERR_INVALID, "email", "email must be 3 to 254 characters");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>')
            return err_set_field(err, ERR_INVALID, "email", "email is not a valid address");
        out[i] = (char)tolower(c);
    }
    out[n] = '\0';
    at = strchr(out, '@');
    if (at == NULL || at == out || strchr(at + 1, '@') != NULL || at - out > 64 ||
        strchr(at + 1, '.') == NULL || at[1] == '.' || out[n - 1] == '.')
        return err_set_field(err, ERR_INVALID, "email", "email is not a valid address");
    return ERR_OK;
}

/* A slug from an organisation name: lower-case letters and digits, other runs become '-'. */
static void slugify(const char *name, char out[64])
{
    size_t p = 0;
    bool dash = false;

    for (const unsigned char *c = (const unsigned char *)name; *c && p < 60; c++) {
        if (isalnum(*c) && *c < 0x80) {
            if (dash && p > 0)
                out[p++] = '-';
            out[p++] = (char)tolower(*c);
            dash = false;
        } else {
            dash = true;
        }
    }
    out[p] = '\0';
    if (p == 0) {
        char id[37];
        api_uuid_new(id);
        snprintf(out, 64, "org-%.8s", id);
    }
}

static const struct api_field signup_fields[] = {
    {"organization", API_F_STRING, true, 200},
    {"slug", API_F_STRING, false, 63},
    {"email", API_F_STRING, true, 254},
    {"password", API_F_STRING, true, 1024},
    {NULL, 0, false, 0},
};

enum err_code api_signup(struct api_req *req, struct err *err)
{
    json_t *body = NULL, *resp = NULL, *tenant = NULL, *user = NULL;
    struct db_tx *tx = NULL;
    char email[256], slug[64], hash[160];
    char tenant_id[37], user_id[37], session_id[37];
    const char *org, *pw;
    size_t pwlen;
    enum err_code rc;

    hash[0] = '\0';
    rc = api_body_checked(req, signup_fields, &body, err);
    if (rc != ERR_OK)
        goto out;
    org = json_string_value(json_object_get(body, "organization"));
    if (org[0] == '\0') {
        rc = err_set_field(err, ERR_INVALID, "organization", "organization must be a name");
        goto out;
    }
    rc = api_email_normalise(json_string_value(json_object_get(body, "email")), email, err);
    if (rc != ERR_OK)
        goto out;
    if (json_object_get(body, "slug") != NULL) {
        snprintf(slug, sizeof slug, "%s", json_string_value(json_object_get(body, "slug")));
        for (const char *c = slug; *c; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-')) {
                rc = err_set_field(err, ERR_INVALID, "slug",
                                   "slug may hold lower-case letters, digits and '-'");
                goto out;
            }
    } else {
        slugify(org, slug);
    }
    pw = json_string_value(json_object_get(body, "password"));
    pwlen = json_string_length(json_object_get(body, "password"));
    rc = password_check_policy(pw, pwlen, email, err);
    if (rc != ERR_OK)
        goto out;
    rc = password_hash(pw, pwlen, hash, sizeof hash, err);
    if (rc != ERR_OK)
        goto out;

    api_uuid_new(tenant_id);
    api_uuid_new(user_id);
    api_uuid_new(session_id);
    rc = db_tx_tenant(req->db, tenant_id, &tx, err);
    if (rc != ERR_OK)
        goto out;
    rc = db_tenant_create(tx, tenant_id, org, slug, err);
    if (rc == ERR_OK)
        rc = db_user_create(tx, tenant_id, user_id, email, hash, "owner", "active", err);
    if (rc == ERR_OK)
        rc = db_session_create(tx, tenant_id, session_id, user_id, err);
    if (rc != ERR_OK)
        goto out;
    resp = json_object();
    api_act_as_user(req, tenant_id, user_id, "owner", session_id);
    rc = api_issue_tokens(req, tx, tenant_id, user_id, "owner", 0, session_id, resp, err);
    if (rc == ERR_OK)
        rc = api_audit(req, tx, "tenant.signup", "tenant", tenant_id, err);
    if (rc == ERR_OK)
        rc = db_tenant_json(tx, tenant_id, &tenant, err);
    if (rc == ERR_OK)
        rc = db_user_json(tx, user_id, &user, err);
    if (rc != ERR_OK)
        goto out;
    rc = db_tx_commit(tx, err);
    tx = NULL;
    if (rc != ERR_OK)
        goto out;
    json_object_set_new(resp, "tenant", tenant);
    json_object_set_new(resp, "user", user);
    tenant = user = NULL;
    rc = api_reply_json(req, 201, resp);
    resp = NULL;
out:
    db_tx_rollback(tx);
    OPENSSL_cleanse(hash, sizeof hash);
    json_decref(tenant);
    json_decref(user);
    json_decref(resp);
    json_decref(body);
    return rc;
}

static const struct api_field login_fields[] = {
    {"email", API_F_STRING, true, 254},
    {"password", API_F_STRING, true, 1024},
    {"organization", API_F_STRING, false, 63},
    {NULL, 0, false, 0},
};

/* Throttling keys: the account (normalised email) and the source address, hashed. */
static void throttle_keys(const struct api_req *req, const char *email, unsigned char acct[32],
                          unsigned char src[32])
{
    char key[300];
    snprintf(key, sizeof key, "account:%s", email);
    api_sha256(key, strlen(key), acct);
    snprintf(key, sizeof key, "source:%s", req->source_ip);
    api_sha256(key, strlen(key), src);
}

/* ERR_RATE_LIMITED (with Retry-After) after THROTTLE_MAX failures of either key in the window. */
static enum err_code throttle_check(struct api_req *req, const unsigned char acct[32],
                                    const unsigned char src[32], struct err *err)
{
    struct db_tx *tx = NULL;
    long long acct_n = 0, src_n = 0, retry = 0;
    enum err_code rc = db_tx_system(req->db, &tx, err);

    if (rc != ERR_OK)
        return rc;
    rc = db_auth_failures(tx, acct, src, THROTTLE_WINDOW_S, &acct_n, &src_n, &retry, err);
    db_tx_rollback(tx);
    if (rc != ERR_OK)
        return rc;
    if (acct_n >= THROTTLE_MAX || src_n >= THROTTLE_MAX) {
        req->retry_after = retry > 0 ? (unsigned)retry : 1;
        return err_set(err, ERR_RATE_LIMITED, "too many failed attempts: try again later");
    }
    return ERR_OK;
}

static enum err_code record_failure(struct api_req *req, const unsigned char acct[32],
                                    const unsigned char src[32], struct err *err)
{
    struct db_tx *tx = NULL;
    enum err_code rc = db_tx_system(req->db, &tx, err);
    if (rc != ERR_OK)
        return rc;
    rc = db_auth_failure_record(tx, acct, src, err);
    if (rc == ERR_OK) {
        rc = db_tx_commit(tx, err);
        tx = NULL;
    }
    db_tx_rollback(tx);
    return rc;
}

enum err_code api_login(struct api_req *req, struct err *err)
{
    json_t *body = NULL, *resp = NULL;
    struct db_tx *tx = NULL;
    struct db_login cand[2];
    char email[256], session_id[37];
    unsigned char acct[32], src[32];
    const char *pw, *org;
    size_t pwlen;
    int n = 0;
    enum err_code rc;
    bool ok;

    memset(cand, 0, sizeof cand);
    rc = api_body_checked(req, login_fields, &body, err);
    if (rc != ERR_OK)
        goto out;
    rc = api_email_normalise(json_string_value(json_object_get(body, "email")), email, err);
    if (rc != ERR_OK)
        goto out;
    pw = json_string_value(json_object_get(body, "password"));
    pwlen = json_string_length(json_object_get(body, "password"));
    org = json_string_value(json_object_get(body, "organization"));

    throttle_keys(req, email, acct, src);
    rc = throttle_check(req, acct, src, err);
    if (rc != ERR_OK)
        goto out;
    rc = db_tx_system(req->db, &tx, err);
    if (rc == ERR_OK)
        rc = db_login_candidates(tx, email, org, cand, &n, err);
    db_tx_rollback(tx);
    tx = NULL;
    if (rc != ERR_OK)
        goto out;
    if (n > 1) {
        /* The same address in several organisations: say which. */
        rc = err_set_field(err, ERR_INVALID, "organization",
                           "give the organization to sign in to");
        goto out;
    }
    /* Same work and the same answer whether the account is unknown or the password wrong. */
    if (n == 1 && cand[0].password_hash[0] != '\0' && strcmp(cand[0].status, "active") == 0)
        ok = password_verify(cand[0].password_hash, pw, pwlen);
    else
        ok = (password_verify_dummy(pw, pwlen), false);
    if (!ok) {
        rc = record_failure(req, acct, src, err);
        if (rc == ERR_OK)
            rc = err_set(err, ERR_UNAUTHENTICATED, "invalid email or password");
        goto out;
    }

    api_uuid_new(session_id);
    api_act_as_user(req, cand[0].tenant_id, cand[0].user_id, cand[0].role, session_id);
    rc = db_tx_tenant(req->db, cand[0].tenant_id, &tx, err);
    if (rc != ERR_OK)
        goto out;
    resp = json_object();
    rc = db_session_create(tx, cand[0].tenant_id, session_id, cand[0].user_id, err);
    if (rc == ERR_OK)
        rc = db_user_touch_login(tx, cand[0].user_id, err);
    if (rc == ERR_OK)
        rc = api_issue_tokens(req, tx, cand[0].tenant_id, cand[0].user_id, cand[0].role,
                              cand[0].token_epoch, session_id, resp, err);
    if (rc == ERR_OK)
        rc = api_audit(req, tx, "auth.login", "session", session_id, err);
    if (rc != ERR_OK)
        goto out;
    rc = db_tx_commit(tx, err);
    tx = NULL;
    if (rc != ERR_OK)
        goto out;
    if (db_tx_system(req->db, &tx, err) == ERR_OK) {
        if (db_auth_failures_clear(tx, acct, err) == ERR_OK)
            db_tx_commit(tx, err);
        else
            db_tx_rollback(tx);
        tx = NULL;
    }
    rc = api_reply_json(req, 200, resp);
    resp = NULL;
out:
    db_tx_rollback(tx);
    OPENSSL_cleanse(cand, sizeof cand);
    json_decref(resp);
    json_decref(body);
    return rc;
}

static const struct api_field refresh_fields[] = {
    {"refresh_token", API_F_STRING, true, 200},
    {NULL, 0, false, 0},
};

enum err_code api_refresh(struct api_req *req, struct err *err)
{
    json_t *body = NULL, *resp = NULL;
    struct db_tx *tx = NULL;
    struct db_refresh r;
    char tenant[37];
    unsigned char h[32];
    const char *tok;
    bool found = false;
    enum err_code rc;

    rc = api_body_checked(req, refresh_fields, &body, err);
    if (rc != ERR_OK)
        goto out;
    tok = json_string_value(json_object_get(body, "refresh_token"));
    if (!api_opaque_parse(tok, "prt", tenant)) {
        rc = err_set(err, ERR_UNAUTHENTICATED, "invalid refresh token");
        goto out;
    }
    api_sha256(tok, strlen(tok), h);
    rc = db_tx_tenant(req->db, tenant, &tx, err);
    if (rc != ERR_OK)
        goto out;
    rc = db_refresh_take(tx, h, &r, &found, err);
    if (rc != ERR_OK)
        goto out;
    if (!found) {
        rc = err_set(err, ERR_UNAUTHENTICATED, "invalid refresh token");
        goto out;
    }
    api_act_as_user(req, tenant, r.user_id, r.role, r.session_id);
    if (r.used && !r.session_revoked) {
        /* A spent token came back: someone holds a copy. End the whole family. */
        rc = db_session_revoke(tx, r.session_id, "refresh token reuse", err);
        if (rc == ERR_OK)
            rc = api_audit(req, tx, "auth.refresh_reuse", "session", r.session_id, err);
        if (rc == ERR_OK) {
            rc = db_tx_commit(tx, err);
            tx = NULL;
        }
        api_auth_forget_session(r.session_id);
        log_event(LOG_WARN, req->request_id, "auth.refresh_reuse", "{s:s, s:s}", "tenant_id",
                  tenant, "session_id", r.session_id);
        if (rc == ERR_OK)
            rc = err_set(err, ERR_UNAUTHENTICATED, "invalid refresh token");
        goto out;
    }
    if (r.used || r.expired || r.session_revoked || !r.user_active) {
        rc = err_set(err, ERR_UNAUTHENTICATED, "invalid refresh token");
        goto out;
    }
    resp = json_object();
    rc = db_refresh_mark_used(tx, h, err);
    if (rc == ERR_OK)
        rc = api_issue_tokens(req, tx, tenant, r.user_id, r.role, r.token_epoch, r.session_id,
                              resp, err);
    if (rc == ERR_OK)
        rc = api_audit(req, tx, "auth.refresh", "session", r.session_id, err);
    if (rc != ERR_OK)
        goto out;
    rc = db_tx_commit(tx, err);
    tx = NULL;
    if (rc == ERR_OK) {
        rc = api_reply_json(req, 200, resp);
        resp = NULL;
    }
out:
    db_tx_rollback(tx);
    json_decref(resp);
    json_decref(body);
    return rc;
}

static const struct api_field password_fields[] = {
    {"current_password", API_F_STRING, true, 1024},
    {"new_password", API_F_STRING, true, 1024},
    {NULL, 0, false, 0},
};

/* Changing the password ends every session of the user (earlier tokens stop working) and
 * returns tokens for a new one. A wrong current password counts as a failed sign-in. */
enum err_code api_password_change(struct api_req *req, struct err *err)
{
    json_t *body = NULL, *resp = NULL;
    struct db_tx *tx = NULL;
    char stored[160], email[256], hash[160], session_id[37];
    unsigned char acct[32], src[32];
    const char *cur, *pw;
    size_t curlen, pwlen;
    long long epoch = 0;
    enum err_code rc;

    hash[0] = stored[0] = '\0';
    if (req->who.actor != API_ACTOR_USER)
        return err_set(err, ERR_INVALID, "only a user has a password");
    rc = api_body_checked(req, password_fields, &body, err);
    if (rc == ERR_OK)
        rc = db_tx_tenant(req->db, req->who.tenant_id, &tx, err);
    if (rc == ERR_OK)
        rc = db_user_secret(tx, req->who.user_id, stored, email, err);
    db_tx_rollback(tx);
    tx = NULL;
    if (rc != ERR_OK)
        goto out;
    throttle_keys(req, email, acct, src);
    rc = throttle_check(req, acct, src, err);
    if (rc != ERR_OK)
        goto out;
    cur = json_string_value(json_object_get(body, "current_password"));
    curlen = json_string_length(json_object_get(body, "current_password"));
    if (stored[0] == '\0' || !password_verify(stored, cur, curlen)) {
        rc = record_failure(req, acct, src, err);
        if (rc == ERR_OK)
            rc = err_set_field(err, ERR_FORBIDDEN, "current_password",
                               "the current password is wrong");
        goto out;
    }
    pw = json_string_value(json_object_get(body, "new_password"));
    pwlen = json_string_length(json_object_get(body, "new_password"));
    rc = password_check_policy(pw, pwlen, email, err);
    if (rc != ERR_OK) {
        snprintf(err->field, sizeof err->field, "new_password");
        goto out;
    }
    rc = password_hash(pw, pwlen, hash, sizeof hash, err);
    if (rc != ERR_OK)
        goto out;
    api_uuid_new(session_id);
    resp = json_object();
    rc = db_tx_tenant(req->db, req->who.tenant_id, &tx, err);
    if (rc == ERR_OK)
        rc = db_user_set_password(tx, req->who.user_id, hash, false, &epoch, err);
    if (rc == ERR_OK)
        rc = db_session_create(tx, req->who.tenant_id, session_id, req->who.user_id, err);
    if (rc == ERR_OK)
        rc = api_issue_tokens(req, tx, req->who.tenant_id, req->who.user_id,
                              api_role_name(req->who.role), epoch, session_id, resp, err);
    if (rc == ERR_OK)
        rc = api_audit(req, tx, "auth.password_change", "user", req->who.user_id, err);
    if (rc != ERR_OK)
        goto out;
    rc = db_tx_commit(tx, err);
    tx = NULL;
    api_auth_forget_user(req->who.user_id);
    if (rc == ERR_OK) {
        rc = api_reply_json(req, 200, resp);
        resp = NULL;
    }
out:
    OPENSSL_cleanse(stored, sizeof stored);
    OPENSSL_cleanse(hash, sizeof hash);
    db_tx_rollback(tx);
    json_decref(resp);
    json_decref(body);
    return rc;
}

static const struct api_field logout_fields[] = {
    {"all", API_F_BOOL, false, 0},
    {NULL, 0, false, 0},
};

enum err_code api_logout(struct api_req *req, struct err *err)
{
    json_t *body = NULL;
    struct db_tx *tx = NULL;
    bool all = false;
    enum err_code rc = ERR_OK;

    if (req->who.actor != API_ACTOR_USER)
        return err_set(err, ERR_INVALID, "only a user session can sign out; revoke API keys");
    if (req->body_len > 0) {
        rc = api_body_checked(req, logout_fields, &body, err);
        if (rc != ERR_OK)
            goto out;
        all = json_is_true(json_object_get(body, "all"));
    }
    rc = db_tx_tenant(req->db, req->who.tenant_id, &tx, err);
    if (rc != ERR_OK)
        goto out;
    if (all)
        rc = db_user_revoke_all(tx, req->who.user_id, "signed out everywhere", err);
    else
        rc = db_session_revoke(tx, req->who.session_id, "signed out", err);
    if (rc == ERR_OK)
        rc = api_audit(req, tx, all ? "auth.logout_all" : "auth.logout", "session",
                       req->who.session_id, err);
    if (rc != ERR_OK)
        goto out;
    rc = db_tx_commit(tx, err);
    tx = NULL;
    api_auth_forget_session(req->who.session_id);
    if (all)
        api_auth_forget_user(req->who.user_id);
    if (rc == ERR_OK)
        rc = api_reply_empty(req, 204);
out:
    db_tx_rollback(tx);
    json_decref(body);
    return rc;
}

/* "Who am I" is read on every page of the dashboard and by every automation run: its answer is
 * cached per principal and role for ME_TTL_MS (direct-mapped; a collision costs a lookup), and
 * forgotten at once when the user changes (api_auth_forget_user). */
#define ME_TTL_MS 5000
#define ME_SLOTS 1024

struct me_entry {
    char key[96]; /* actor id + role */
    char user_id[40];
    long long expires;
    char *text;
    size_t len;
};

static pthread_mutex_t me_mu = PTHREAD_MUTEX_INITIALIZER;
static struct me_entry me_cache[ME_SLOTS];

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t me_slot(const char *key)
{
    unsigned char h[32];
    api_sha256(key, strlen(key), h);
    return ((size_t)h[0] | (size_t)h[1] << 8) % ME_SLOTS;
}

void api_me_forget_user(const char *user_id)
{
    pthread_mutex_lock(&me_mu);
    for (size_t i = 0; i < ME_SLOTS; i++)
        if (strcmp(me_cache[i].user_id, user_id) == 0)
            me_cache[i].expires = 0;
    pthread_mutex_unlock(&me_mu);
}

static enum err_code me_build(struct api_req *req, char **text, struct err *err)
{
    json_t *tenant = NULL, *user = NULL, *resp;
    struct db_tx *tx = NULL;
    enum err_code rc;

    rc = db_tx_tenant(req->db, req->who.tenant_id, &tx, err);
    if (rc != ERR_OK)
        return rc;
    rc = db_tenant_json(tx, req->who.tenant_id, &tenant, err);
    if (rc == ERR_OK && req->who.actor == API_ACTOR_USER)
        rc = db_user_json(tx, req->who.user_id, &user, err);
    db_tx_rollback(tx);
    if (rc != ERR_OK || tenant == NULL) {
        json_decref(tenant);
        json_decref(user);
        return rc != ERR_OK ? rc : err_set(err, ERR_UNAUTHENTICATED, "unknown tenant");
    }
    resp = json_pack("{s:o, s:o, s:s, s:s}", "tenant", tenant, "user",
                     user ? user : json_null(), "role", api_role_name(req->who.role), "auth",
                     req->who.actor == API_ACTOR_KEY ? "api_key" : "jwt");
    if (resp != NULL && req->who.actor == API_ACTOR_KEY)
        json_object_set_new(resp, "api_key", json_pack("{s:s}", "id", req->who.key_id));
    *text = resp ? json_dumps(resp, JSON_COMPACT) : NULL;
    json_decref(resp);
    if (*text == NULL)
        return err_set(err, ERR_NOMEM, "out of memory");
    return ERR_OK;
}

enum err_code api_me(struct api_req *req, struct err *err)
{
    char key[96], *text = NULL, *copy;
    struct me_entry *e;
    size_t slot, len;
    enum err_code rc;

    snprintf(key, sizeof key, "%s/%s",
             req->who.actor == API_ACTOR_KEY ? req->who.key_id : req->who.user_id,
             api_role_name(req->who.role));
    slot = me_slot(key);
    pthread_mutex_lock(&me_mu);
    e = &me_cache[slot];
    if (e->text != NULL && e->expires > now_ms() && strcmp(e->key, key) == 0) {
        copy = malloc(e->len);
        if (copy != NULL)
            memcpy(copy, e->text, e->len);
        len = e->len;
        pthread_mutex_unlock(&me_mu);
        if (copy == NULL)
            return err_set(err, ERR_NOMEM, "out of memory");
        return api_reply_buf(req, 200, "application/json", copy, len);
    }
    pthread_mutex_unlock(&me_mu);

    rc = me_build(req, &text, err);
    if (rc != ERR_OK)
        return rc;
    len = strlen(text);
    copy = malloc(len);
    if (copy != NULL) {
        memcpy(copy, text, len);
        pthread_mutex_lock(&me_mu);
        e = &me_cache[slot];
        free(e->text);
        snprintf(e->key, sizeof e->key, "%s", key);
        snprintf(e->user_id, sizeof e->user_id, "%s", req->who.user_id);
        e->text = copy;
        e->len = len;
        e->expires = now_ms() + ME_TTL_MS;
        pthread_mutex_unlock(&me_mu);
    }
    return api_reply_buf(req, 200, "application/json", text, len);
}
