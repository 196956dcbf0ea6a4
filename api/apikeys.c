/* API keys: prk_ automation keys with one role, pri_ ingest keys that may only ingest. The key
 * is returned once at creation; only its SHA-256 and a short prefix are kept. */
#include "api/api.h"

#include "db/db.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

static const struct api_field create_fields[] = {
    {"name", API_F_STRING, true, 100},
    {"role", API_F_STRING, false, 16},
    {"kind", API_F_STRING, false, 16},
    {NULL, 0, false, 0},
};

enum err_code api_keys_create(struct api_req *req, struct err *err)
{
    json_t *body = NULL, *out = NULL;
    struct db_tx *tx = NULL;
    const char *name, *role_s = NULL, *kind = "automation";
    char key[81], prefix[16], key_id[37];
    unsigned char h[32];
    enum api_role role = API_ROLE_VIEWER;
    enum err_code rc;

    key[0] = '\0';
    rc = api_body_checked(req, create_fields, &body, err);
    if (rc != ERR_OK)
        goto out;
    name = json_string_value(json_object_get(body, "name"));
    if (name[0] == '\0') {
        rc = err_set_field(err, ERR_INVALID, "name", "name must be a non-empty string");
        goto out;
    }
    if (json_object_get(body, "kind") != NULL) {
        kind = json_string_value(json_object_get(body, "kind"));
        if (strcmp(kind, "ingest") != 0 && strcmp(kind, "automation") != 0) {
            rc = err_set_field(err, ERR_INVALID, "kind", "kind must be automation or ingest");
            goto out;
        }
    }
    role_s = json_string_value(json_object_get(body, "role"));
    if (strcmp(kind, "ingest") == 0) {
        if (role_s != NULL && strcmp(role_s, "ingest") != 0) {
            rc = err_set_field(err, ERR_INVALID, "role", "ingest keys carry no other role");
            goto out;
        }
        role = API_ROLE_INGEST;
    } else {
        if (role_s == NULL) {
            rc = err_set_field(err, ERR_INVALID, "role", "'role' is required");
            goto out;
        }
        if (!api_role_parse(role_s, &role) || role < API_ROLE_VIEWER || role > API_ROLE_ADMIN) {
            rc = err_set_field(err, ERR_INVALID, "role",
                               "role must be viewer, devops, secops or admin");
            goto out;
        }
        if (role > req->who.role) {
            rc = err_set_field(err, ERR_FORBIDDEN, "role",
                               "a key cannot have a higher role than its creator");
            goto out;
        }
    }
    api_uuid_new(key_id);
    api_opaque_new(role == API_ROLE_INGEST ? "pri" : "prk", req->who.tenant_id, key);
    snprintf(prefix, sizeof prefix, "%.12s", key); /* "prk_" and 8 characters of the secret */
    api_sha256(key, strlen(key), h);
    rc = db_tx_tenant(req->db, req->who.tenant_id, &tx, err);
    if (rc != ERR_OK)
        goto out;
    rc = db_apikey_create(tx, req->who.tenant_id, key_id, name, kind, api_role_name(role), prefix,
                          h, req->who.actor == API_ACTOR_USER ? req->who.user_id : NULL, &out,
                          err);
    if (rc == ERR_OK)
        rc = api_audit(req, tx, "api_key.create", "api_key", key_id, err);
    if (rc != ERR_OK)
        goto out;
    rc = db_tx_commit(tx, err);
    tx = NULL;
    if (rc != ERR_OK)
        goto out;
    json_object_set_new(out, "key", json_string(key)); /* shown this once */
    rc = api_reply_json(req, 201, out);
    out = NULL;
out:
    OPENSSL_cleanse(key, sizeof key);
    db_tx_rollback(tx);
    json_decref(out);
    json_decref(body);
    return rc;
}

enum err_code api_keys_list(struct api_req *req, struct err *err)
{
    return api_reply_list(req, db_apikey_list, API_CURSOR_UUID, err);
}

enum err_code api_keys_delete(struct api_req *req, struct err *err)
{
    enum err_code rc = api_delete_audited(req, db_apikey_revoke, "API key", "api_key.revoke", err);
    if (rc != ERR_OK)
        return rc;
    api_auth_forget_key(api_path_param(req, "id"));
    return api_reply_empty(req, 204);
}
