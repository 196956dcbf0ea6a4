/* Users of a tenant: admins list, invite (with a role no higher than their own), change role or
 * status, and remove them; the invited user sets a password with a one-time token. The last
 * active owner cannot be demoted, disabled or removed, and only owners manage owners. */
#include "api/api.h"

#include "auth/password.h"
#include "db/db.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#define INVITE_TTL_S (7 * 24 * 3600)

enum err_code api_users_list(struct api_req *req, struct err *err)
{
    return api_reply_list(req, db_user_list, API_CURSOR_UUID, err);
}

static enum err_code role_arg(struct api_req *req, json_t *body, enum api_role *role,
                              struct err *err)
{
    const char *s = json_string_value(json_object_get(body, "role"));
    if (s == NULL || !api_role_parse(s, role) || *role < API_ROLE_VIEWER)
        return err_set_field(err, ERR_INVALID, "role",
                             "role must be viewer, devops, secops, admin or owner");
    if (*role > req->who.role)
        return err_set_field(err, ERR_FORBIDDEN, "role",
                             "you cannot grant a role higher than your own");
    return ERR_OK;
}

static const struct api_field invite_fields[] = {
    {"email", API_F_STRING, true, 254},
    {"role", API_F_STRING, true, 16},
    {NULL, 0, false, 0},
};

enum err_code api_users_create(struct api_req *req, struct err *err)
{
    json_t *body = NULL, *user = NULL;
    struct db_tx *tx = NULL;
    char email[256], user_id[37], token[81];
    unsigned char h[32];
    enum api_role role;
    enum err_code rc;

    token[0] = '\0';
    rc = api_body_checked(req, invite_fields, &body, err);
    if (rc == ERR_OK)
        rc = api_email_normalise(json_string_value(json_object_get(body, "email")), email, err);
    if (rc == ERR_OK)
        rc = role_arg(req, body, &role, err);
    if (rc != ERR_OK)
        goto out;
    api_uuid_new(user_id);
    api_opaque_new("piv", req->who.tenant_id, token);
    api_sha256(token, strlen(token), h);
    rc = db_tx_tenant(req->db, req->who.tenant_id, &tx, err);
    if (rc != ERR_OK)
        goto out;
    rc = db_user_create(tx, req->who.tenant_id, user_id, email, NULL, api_role_name(role),
                        "invited", err);
    if (rc == ERR_OK)
        rc = db_invite_create(tx, req->who.tenant_id, h, user_id, INVITE_TTL_S, err);
    if (rc == ERR_OK)
        rc = api_audit(req, tx, "user.invite", "user", user_id, err);
    if (rc == ERR_OK)
        rc = db_user_json(tx, user_id, &user, err);
    if (rc != ERR_OK)
        goto out;
    rc = db_tx_commit(tx, err);
    tx = NULL;
    if (rc != ERR_OK)
        goto out;
    /* The invitation is handed over by the admin; it is shown this once. */
    json_object_set_new(user, "invite_token", json_string(token));
    json_object_set_new(user, "invite_expires_in", json_integer(INVITE_TTL_S));
    rc = api_reply_json(req, 201, user);
    user = NULL;
out:
    OPENSSL_cleanse(token, sizeof token);
    db_tx_rollback(tx);
    json_decref(user);
    json_decref(body);
    return rc;
}

static const struct api_field patch_fields[] = {
    {"role", API_F_STRING, false, 16},
    {"status", API_F_STRING, false, 16},
    {NULL, 0, false, 0},
};

enum err_code api_users_update(struct api_req *req, struct err *err)
{
    const char *id = api_path_param(req, "id");
    json_t *body = NULL, *user = NULL;
    struct db_tx *tx = NULL;
    const char *status = NULL, *role_s = NULL;
    char current[16];
    long long owners = 0;
    enum api_role role, cur;
    enum err_code rc;

    rc = api_body_checked(req, patch_fields, &body, err);
    if (rc != ERR_OK)
        goto out;
    if (json_object_get(body, "role") != NULL) {
        rc = role_arg(req, body, &role, err);
        if (rc != ERR_OK)
            goto out;
        role_s = api_role_name(role);
    }
    status = json_string_value(json_object_get(body, "status"));
    if (status != NULL && strcmp(status, "active") != 0 && strcmp(status, "disabled") != 0) {
        rc = err_set_field(err, ERR_INVALID, "status", "status must be active or disabled");
        goto out;
    }
    if (role_s == NULL && status == NULL) {
        rc = err_set(err, ERR_INVALID, "give role and/or status");
        goto out;
    }
    rc = db_tx_tenant(req->db, req->who.tenant_id, &tx, err);
    if (rc == ERR_OK)
        rc = db_user_role(tx, id, current, &owners, err);
    if (rc != ERR_OK)
        goto out;
    if (current[0] == '\0' || !api_role_parse(current, &cur)) {
        rc = err_set(err, ERR_NOT_FOUND, "no such user");
        goto out;
    }
    if (cur > req->who.role) {
        rc = err_set(err, ERR_FORBIDDEN, "you cannot change a user with a higher role");
        goto out;
    }
    if (cur == API_ROLE_OWNER && owners <= 1 &&
        ((role_s != NULL && strcmp(role_s, "owner") != 0) ||
         (status != NULL && strcmp(status, "disabled") == 0))) {
        rc = err_set(err, ERR_CONFLICT, "the last owner cannot be demoted or disabled");
        goto out;
    }
    rc = db_user_update(tx, id, role_s, status, &user, err);
    if (rc == ERR_OK && status != NULL && strcmp(status, "disabled") == 0)
        rc = db_user_revoke_all(tx, id, "user disabled", err);
    if (rc == ERR_OK)
        rc = api_audit(req, tx, role_s ? "user.role_change" : "user.status_change", "user", id,
                       err);
    if (rc != ERR_OK)
        goto out;
    rc = db_tx_commit(tx, err);
    tx = NULL;
    api_auth_forget_user(id);
    if (rc == ERR_OK) {
        rc = api_reply_json(req, 200, user);
        user = NULL;
    }
out:
    db_tx_rollback(tx);
    json_decref(user);
    json_decref(body);
    return rc;
}

enum err_code api_users_delete(struct api_req *req, struct err *err)
{
    const char *id = api_path_param(req, "id");
    struct db_tx *tx = NULL;
    char current[16];
    long long owners = 0;
    enum api_role cur;
    bool found = false;
    enum err_code rc;

    if (strcmp(id, req->who.user_id) == 0)
        return err_set(err, ERR_CONFLICT, "you cannot remove yourself");
    rc = db_tx_tenant(req->db, req->who.tenant_id, &tx, err);
    if (rc == ERR_OK)
        rc = db_user_role(tx, id, current, &owners, err);
    if (rc != ERR_OK)
        goto out;
    if (current[0] == '\0' || !api_role_parse(current, &cur)) {
        rc = err_set(err, ERR_NOT_FOUND, "no such user");
        goto out;
    }
    if (cur > req->who.role) {
        rc = err_set(err, ERR_FORBIDDEN, "you cannot remove a user with a higher role");
        goto out;
    }
    rc = db_user_delete(tx, id, &found, err);
    if (rc == ERR_OK)
        rc = api_audit(req, tx, "user.delete", "user", id, err);
    if (rc == ERR_OK) {
        rc = db_tx_commit(tx, err);
        tx = NULL;
    }
    api_auth_forget_user(id);
    if (rc == ERR_OK)
        rc = api_reply_empty(req, 204);
out:
    db_tx_rollback(tx);
    return rc;
}

static const struct api_field accept_fields[] = {
    {"token", API_F_STRING, true, 200},
    {"password", API_F_STRING, true, 1024},
    {NULL, 0, false, 0},
};

enum err_code api_accept_invite(struct api_req *req, struct err *err)
{
    json_t *body = NULL, *resp = NULL;
    struct db_tx *tx = NULL;
    char tenant[37], user_id[37], role[16], session_id[37], hash[160];
    unsigned char h[32];
    const char *tok, *pw;
    size_t pwlen;
    long long epoch = 0;
    bool found = false;
    enum err_code rc;

    hash[0] = '\0';
    rc = api_body_checked(req, accept_fields, &body, err);
    if (rc != ERR_OK)
        goto out;
    tok = json_string_value(json_object_get(body, "token"));
    if (!api_opaque_parse(tok, "piv", tenant)) {
        rc = err_set_field(err, ERR_INVALID, "token", "invalid invitation");
        goto out;
    }
    pw = json_string_value(json_object_get(body, "password"));
    pwlen = json_string_length(json_object_get(body, "password"));
    rc = password_check_policy(pw, pwlen, NULL, err);
    if (rc == ERR_OK)
        rc = password_hash(pw, pwlen, hash, sizeof hash, err);
    if (rc != ERR_OK)
        goto out;
    api_sha256(tok, strlen(tok), h);
    rc = db_tx_tenant(req->db, tenant, &tx, err);
    if (rc == ERR_OK)
        rc = db_invite_take(tx, h, user_id, role, &found, err);
    if (rc != ERR_OK)
        goto out;
    if (!found) {
        rc = err_set_field(err, ERR_INVALID, "token", "invalid, used or expired invitation");
        goto out;
    }
    api_uuid_new(session_id);
    api_act_as_user(req, tenant, user_id, role, session_id);
    resp = json_object();
    rc = db_user_set_password(tx, user_id, hash, true, &epoch, err);
    if (rc == ERR_OK)
        rc = db_session_create(tx, tenant, session_id, user_id, err);
    if (rc == ERR_OK)
        rc = api_issue_tokens(req, tx, tenant, user_id, role, epoch, session_id, resp, err);
    if (rc == ERR_OK)
        rc = api_audit(req, tx, "user.accept_invite", "user", user_id, err);
    if (rc != ERR_OK)
        goto out;
    rc = db_tx_commit(tx, err);
    tx = NULL;
    if (rc == ERR_OK) {
        rc = api_reply_json(req, 200, resp);
        resp = NULL;
    }
out:
    OPENSSL_cleanse(hash, sizeof hash);
    db_tx_rollback(tx);
    json_decref(resp);
    json_decref(body);
    return rc;
}
