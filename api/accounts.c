/* Cloud accounts: a tenant adds an AWS account (pending), deploys the role from the template,
 * then connects it. The external ID is Parapet's, per account: one sent by the client is
 * ignored, never stored. */
#include "api/api.h"

#include "cloud/aws.h"
#include "cloud/cloud.h"
#include "db/db.h"
#include "server/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct api_field create_fields[] = {
    {"provider", API_F_STRING, true, 16},
    {"aws_account_id", API_F_STRING, true, 12},
    {"name", API_F_STRING, true, 200},
    {"regions", API_F_ARRAY, true, 40},
    {"external_id", API_F_STRING, false, 1224}, /* accepted and ignored: ours is generated */
    {NULL, 0, false, 0},
};

/* Adds onboarding {template, quick_create_url} to an account's JSON. */
static enum err_code add_onboarding(struct api_req *req, json_t *account, struct err *err)
{
    const struct config *cfg = req->app->cfg;
    const char *ext = json_string_value(json_object_get(account, "external_id"));
    const char *region = json_string_value(json_array_get(json_object_get(account, "regions"), 0));
    json_t *tmpl;
    char *url;

    if (cfg->aws_account_id[0] == '\0')
        return err_set(err, ERR_UNAVAILABLE,
                       "onboarding is not configured on this server (PARAPET_AWS_ACCOUNT_ID)");
    tmpl = cloud_onboarding_template(cfg->aws_account_id, ext ? ext : "");
    url = cloud_quick_create_url(cfg->template_url, region ? region : "us-east-1",
                                 cfg->aws_account_id, ext ? ext : "");
    if (tmpl == NULL)
        return err_set(err, ERR_NOMEM, "out of memory");
    json_object_set_new(account, "onboarding",
                        json_pack("{s:o, s:o}", "template", tmpl, "quick_create_url",
                                  url ? json_string(url) : json_null()));
    free(url);
    return ERR_OK;
}

enum err_code api_accounts_create(struct api_req *req, struct err *err)
{
    json_t *body = NULL, *account = NULL, *regions, *seen = NULL;
    struct db_tx *tx = NULL;
    char account_id[37], external_id[64], *regions_text = NULL;
    const char *aws_id, *name;
    size_t i;
    json_t *r;
    enum err_code rc;

    rc = api_body_checked(req, create_fields, &body, err);
    if (rc != ERR_OK)
        goto out;
    if (strcmp(json_string_value(json_object_get(body, "provider")), "aws") != 0) {
        rc = err_set_field(err, ERR_INVALID, "provider", "provider must be aws");
        goto out;
    }
    aws_id = json_string_value(json_object_get(body, "aws_account_id"));
    if (!cloud_account_id_is_valid(aws_id)) {
        rc = err_set_field(err, ERR_INVALID, "aws_account_id",
                           "aws_account_id must be 12 digits");
        goto out;
    }
    name = json_string_value(json_object_get(body, "name"));
    if (name[0] == '\0') {
        rc = err_set_field(err, ERR_INVALID, "name", "name must be a non-empty string");
        goto out;
    }
    regions = json_object_get(body, "regions");
    if (json_array_size(regions) == 0) {
        rc = err_set_field(err, ERR_INVALID, "regions", "give at least one region");
        goto out;
    }
    seen = json_object();
    json_array_foreach(regions, i, r)
    {
        char field[32];
        snprintf(field, sizeof field, "regions[%zu]", i);
        if (!json_is_string(r) || !cloud_region_is_known(json_string_value(r))) {
            rc = err_set_field(err, ERR_INVALID, field, "not a region Parapet serves");
            goto out;
        }
        if (json_object_get(seen, json_string_value(r)) != NULL) {
            rc = err_set_field(err, ERR_INVALID, field, "region listed twice");
            goto out;
        }
        json_object_set_new(seen, json_string_value(r), json_true());
    }
    regions_text = json_dumps(regions, JSON_COMPACT);
    if (regions_text == NULL) {
        rc = err_set(err, ERR_NOMEM, "out of memory");
        goto out;
    }
    api_uuid_new(account_id);
    cloud_external_id_new(external_id);
    rc = db_tx_tenant(req->db, req->who.tenant_id, &tx, err);
    if (rc == ERR_OK)
        rc = db_account_create(tx, req->who.tenant_id, account_id, aws_id, name, regions_text,
                               external_id, &account, err);
    if (rc == ERR_OK)
        rc = api_audit(req, tx, "account.create", "account", account_id, err);
    if (rc == ERR_OK)
        rc = add_onboarding(req, account, err);
    if (rc != ERR_OK)
        goto out;
    rc = db_tx_commit(tx, err);
    tx = NULL;
    if (rc == ERR_OK) {
        rc = api_reply_json(req, 201, account);
        account = NULL;
    }
out:
    db_tx_rollback(tx);
    free(regions_text);
    json_decref(seen);
    json_decref(account);
    json_decref(body);
    return rc;
}

static enum err_code load(struct api_req *req, json_t **account, struct err *err)
{
    struct db_tx *tx = NULL;
    enum err_code rc = db_tx_tenant(req->db, req->who.tenant_id, &tx, err);

    if (rc == ERR_OK)
        rc = db_account_get(tx, api_path_param(req, "id"), account, err);
    db_tx_rollback(tx);
    if (rc == ERR_OK && *account == NULL)
        rc = err_set(err, ERR_NOT_FOUND, "no such account");
    return rc;
}

enum err_code api_accounts_get(struct api_req *req, struct err *err)
{
    json_t *account = NULL;
    enum err_code rc = load(req, &account, err);
    if (rc != ERR_OK)
        return rc;
    return api_reply_json(req, 200, account);
}

enum err_code api_accounts_template(struct api_req *req, struct err *err)
{
    json_t *account = NULL, *tmpl;
    enum err_code rc = load(req, &account, err);

    if (rc == ERR_OK && req->app->cfg->aws_account_id[0] == '\0')
        rc = err_set(err, ERR_UNAVAILABLE,
                     "onboarding is not configured on this server (PARAPET_AWS_ACCOUNT_ID)");
    if (rc != ERR_OK) {
        json_decref(account);
        return rc;
    }
    tmpl = cloud_onboarding_template(req->app->cfg->aws_account_id,
                                     json_string_value(json_object_get(account, "external_id")));
    json_decref(account);
    if (tmpl == NULL)
        return err_set(err, ERR_NOMEM, "out of memory");
    return api_reply_json(req, 200, tmpl);
}

enum err_code api_accounts_list(struct api_req *req, struct err *err)
{
    return api_reply_list(req, db_account_list, API_CURSOR_UUID, err);
}

enum err_code api_accounts_delete(struct api_req *req, struct err *err)
{
    const char *id = api_path_param(req, "id");
    struct db_tx *tx = NULL;
    bool found = false;
    enum err_code rc;

    json_t *account = NULL;

    rc = db_tx_tenant(req->db, req->who.tenant_id, &tx, err);
    if (rc == ERR_OK)
        rc = db_account_get(tx, id, &account, err);
    if (rc == ERR_OK)
        rc = db_account_delete(tx, id, &found, err);
    if (rc == ERR_OK && !found)
        rc = err_set(err, ERR_NOT_FOUND, "no such account");
    if (rc == ERR_OK)
        rc = api_audit(req, tx, "account.delete", "account", id, err);
    if (rc == ERR_OK) {
        rc = db_tx_commit(tx, err);
        tx = NULL;
    }
    db_tx_rollback(tx);
    /* Scans, resources and findings went with it (foreign keys); a queued scan job finds its
     * scan gone and does nothing; cached role credentials are dropped. */
    if (rc == ERR_OK && json_is_string(json_object_get(account, "role_arn")))
        cloud_role_forget(json_string_value(json_object_get(account, "role_arn")),
                          json_string_value(json_object_get(account, "external_id")));
    json_decref(account);
    if (rc != ERR_OK)
        return rc;
    return api_reply_empty(req, 204);
}

#define CONNECT_MIN_GAP_S 5

static const struct api_field connect_fields[] = {
    {"role_arn", API_F_STRING, true, 2048},
    {"external_id", API_F_STRING, false, 1224}, /* accepted and ignored: ours is sent */
    {NULL, 0, false, 0},
};

/* Records the outcome of a connect attempt in its own transaction. */
static enum err_code record(struct api_req *req, const char *id, const char *status,
                            const char *role_arn, const char *last_error, json_t **out,
                            struct err *err)
{
    struct db_tx *tx = NULL;
    struct err ignore;
    enum err_code rc = db_tx_tenant(req->db, req->who.tenant_id, &tx, &ignore);

    if (rc == ERR_OK)
        rc = db_account_set_status(tx, id, status, role_arn, last_error, out, &ignore);
    if (rc == ERR_OK)
        rc = api_audit(req, tx, strcmp(status, "active") == 0 ? "account.connect"
                                                               : "account.connect_failed",
                       "account", id, &ignore);
    /* A newly connected account is scanned at once (unless a scan is already queued). */
    if (rc == ERR_OK && strcmp(status, "active") == 0) {
        json_t *scan = NULL;
        rc = db_scan_active(tx, id, &scan, &ignore);
        if (rc == ERR_OK && scan == NULL)
            rc = db_scan_create(tx, req->who.tenant_id, id, "connect",
                                req->who.user_id[0] ? req->who.user_id : req->who.key_id, &scan,
                                &ignore);
        if (rc == ERR_OK && scan != NULL)
            json_object_set_new(*out, "scan_id", json_copy(json_object_get(scan, "id")));
        json_decref(scan);
    }
    if (rc == ERR_OK) {
        rc = db_tx_commit(tx, &ignore);
        tx = NULL;
    }
    db_tx_rollback(tx);
    if (rc != ERR_OK)
        return err_set(err, rc, "%s", ignore.detail);
    return ERR_OK;
}

/* Verifies that Parapet can assume the role with the account's external ID, that the role
 * refuses Parapet without it (a role that does not is open to the confused deputy), and that the
 * assumed identity is in the account; then the account is active. */
enum err_code api_accounts_connect(struct api_req *req, struct err *err)
{
    const char *id = api_path_param(req, "id");
    json_t *body = NULL, *account = NULL, *updated = NULL;
    struct db_tx *tx = NULL;
    struct cloud_creds parapet = {0}, role = {0}, open_role = {0};
    char arn_account[13], caller_account[13], aws_error[64], msg[512], session[64];
    const char *arn, *region, *ext, *aws_id;
    bool allowed = false;
    enum err_code rc;

    rc = api_body_checked(req, connect_fields, &body, err);
    if (rc != ERR_OK)
        goto out;
    arn = json_string_value(json_object_get(body, "role_arn"));
    rc = cloud_role_arn_parse(arn, arn_account, err);
    if (rc != ERR_OK)
        goto out;
    rc = load(req, &account, err);
    if (rc != ERR_OK)
        goto out;
    aws_id = json_string_value(json_object_get(account, "aws_account_id"));
    if (strcmp(arn_account, aws_id) != 0) {
        rc = err_set_field(err, ERR_UNPROCESSABLE, "role_arn",
                           "the role is in AWS account %s, not in this account's %s",
                           arn_account, aws_id);
        goto out;
    }
    rc = db_tx_tenant(req->db, req->who.tenant_id, &tx, err);
    if (rc == ERR_OK)
        rc = db_account_connect_begin(tx, id, CONNECT_MIN_GAP_S, &allowed, err);
    if (rc == ERR_OK) {
        rc = db_tx_commit(tx, err);
        tx = NULL;
    }
    if (rc != ERR_OK)
        goto out;
    if (!allowed) {
        req->retry_after = CONNECT_MIN_GAP_S;
        rc = err_set(err, ERR_RATE_LIMITED, "a connect attempt for this account is recent: wait");
        goto out;
    }
    rc = cloud_creds_default(&parapet, NULL, err);
    if (rc != ERR_OK)
        goto out;
    region = json_string_value(json_array_get(json_object_get(account, "regions"), 0));
    ext = json_string_value(json_object_get(account, "external_id"));
    snprintf(session, sizeof session, "parapet-connect-%.8s", id);

    rc = cloud_sts_assume_role(&parapet, region, arn, ext, session, &role, aws_error, err);
    if (rc == ERR_UPSTREAM) {
        snprintf(msg, sizeof msg,
                 "AWS refused AssumeRole (%s): check that the role exists and trusts AWS account "
                 "%s with the condition StringEquals sts:ExternalId = %s",
                 aws_error, req->app->cfg->aws_account_id, ext);
        rc = record(req, id, "pending", NULL, msg, &updated, err);
        if (rc == ERR_OK)
            rc = err_set_field(err, ERR_UNPROCESSABLE, "role_arn", "%s", msg);
        goto out;
    }
    if (rc != ERR_OK) {
        record(req, id, json_string_value(json_object_get(account, "status")), NULL,
               "AWS STS could not be reached", &updated, err);
        rc = err_set(err, ERR_UNAVAILABLE, "AWS could not be reached; try again shortly");
        goto out;
    }
    rc = cloud_sts_assume_role(&parapet, region, arn, NULL, session, &open_role, aws_error, err);
    if (rc == ERR_OK) {
        snprintf(msg, sizeof msg,
                 "the role can be assumed without the external ID, so anyone's Parapet "
                 "account could be tricked into using it: add the condition StringEquals "
                 "sts:ExternalId = %s to its trust policy (the template has it)",
                 ext);
        rc = record(req, id, "error", NULL, msg, &updated, err);
        if (rc == ERR_OK)
            rc = err_set_field(err, ERR_UNPROCESSABLE, "role_arn", "%s", msg);
        goto out;
    }
    if (rc != ERR_UPSTREAM) {
        rc = err_set(err, ERR_UNAVAILABLE, "AWS could not be reached; try again shortly");
        goto out;
    }
    rc = cloud_sts_caller_account(&role, region, caller_account, aws_error, err);
    if (rc == ERR_OK && strcmp(caller_account, aws_id) != 0) {
        snprintf(msg, sizeof msg, "the assumed role reports AWS account %s, not %s",
                 caller_account, aws_id);
        rc = record(req, id, "error", NULL, msg, &updated, err);
        if (rc == ERR_OK)
            rc = err_set_field(err, ERR_UNPROCESSABLE, "role_arn", "%s", msg);
        goto out;
    }
    if (rc != ERR_OK) {
        rc = err_set(err, rc == ERR_UPSTREAM ? ERR_UNPROCESSABLE : ERR_UNAVAILABLE,
                     "AWS refused GetCallerIdentity for the assumed role (%s)", aws_error);
        goto out;
    }
    rc = record(req, id, "active", arn, NULL, &updated, err);
    if (rc == ERR_OK) {
        rc = api_reply_json(req, 200, updated);
        updated = NULL;
    }
out:
    cloud_creds_clear(&parapet);
    cloud_creds_clear(&role);
    cloud_creds_clear(&open_role);
    db_tx_rollback(tx);
    json_decref(updated);
    json_decref(account);
    json_decref(body);
    return rc;
}
