/* Posture: scans (on demand and their status), the inventory, findings with their lifecycle,
 * the rule catalogue and the posture summary. */
#include "api/api.h"

#include "db/db.h"
#include "posture/posture.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static bool is_uuid(const char *s)
{
    return s != NULL && strlen(s) == 36 && strspn(s, "0123456789abcdef-") == 36;
}

/* An optional uuid query parameter: NULL when absent, 400 naming it when malformed. */
static enum err_code query_uuid(struct api_req *req, const char *name, const char **out,
                                struct err *err)
{
    *out = api_query_param(req, name);
    if (*out != NULL && !is_uuid(*out))
        return err_set_field(err, ERR_INVALID, name, "not an id");
    return ERR_OK;
}

/* An optional query parameter that must be one of allowed (NULL-terminated). */
static enum err_code query_enum(struct api_req *req, const char *name,
                                const char *const *allowed, const char **out, struct err *err)
{
    *out = api_query_param(req, name);
    if (*out == NULL)
        return ERR_OK;
    for (const char *const *a = allowed; *a != NULL; a++)
        if (strcmp(*out, *a) == 0)
            return ERR_OK;
    return err_set_field(err, ERR_INVALID, name, "not one of the allowed values");
}

static const char *const severities[] = {"critical", "high", "medium", "low", "info", NULL};

/* ---- scans ---- */

enum err_code api_scans_create(struct api_req *req, struct err *err)
{
    const char *id = api_path_param(req, "id");
    json_t *account = NULL, *scan = NULL;
    struct db_tx *tx = NULL;
    const char *by = req->who.user_id[0] ? req->who.user_id : req->who.key_id;
    enum err_code rc = db_tx_tenant(req->db, req->who.tenant_id, &tx, err);

    if (rc == ERR_OK)
        rc = db_account_get(tx, id, &account, err);
    if (rc == ERR_OK && account == NULL)
        rc = err_set(err, ERR_NOT_FOUND, "no such account");
    if (rc == ERR_OK &&
        strcmp(json_string_value(json_object_get(account, "status")), "active") != 0)
        rc = err_set(err, ERR_CONFLICT, "the account is not connected: connect its role first");
    if (rc == ERR_OK)
        rc = db_scan_active(tx, id, &scan, err);
    if (rc == ERR_OK && scan != NULL)
        rc = err_set(err, ERR_CONFLICT, "a scan of this account is already %s (%s)",
                     json_string_value(json_object_get(scan, "status")),
                     json_string_value(json_object_get(scan, "id")));
    if (rc == ERR_OK)
        rc = db_scan_create(tx, req->who.tenant_id, id, "manual", by, &scan, err);
    if (rc == ERR_OK && scan == NULL)
        rc = err_set(err, ERR_CONFLICT, "the account is not connected: connect its role first");
    if (rc == ERR_OK)
        rc = api_audit(req, tx, "scan.create", "scan",
                       json_string_value(json_object_get(scan, "id")), err);
    if (rc == ERR_OK) {
        rc = db_tx_commit(tx, err);
        tx = NULL;
    }
    db_tx_rollback(tx);
    json_decref(account);
    if (rc != ERR_OK) {
        json_decref(scan);
        return rc;
    }
    return api_reply_json(req, 202, scan);
}

/* A single object by the path's id through get; 404 (what) when there is none. */
static enum err_code reply_one(struct api_req *req,
                               enum err_code (*get)(struct db_tx *, const char *, json_t **,
                                                    struct err *),
                               const char *what, struct err *err)
{
    json_t *out = NULL;
    struct db_tx *tx = NULL;
    enum err_code rc = db_tx_tenant(req->db, req->who.tenant_id, &tx, err);

    if (rc == ERR_OK)
        rc = get(tx, api_path_param(req, "id"), &out, err);
    db_tx_rollback(tx);
    if (rc == ERR_OK && out == NULL)
        rc = err_set(err, ERR_NOT_FOUND, "no such %s", what);
    if (rc != ERR_OK)
        return rc;
    return api_reply_json(req, 200, out);
}

enum err_code api_scans_get(struct api_req *req, struct err *err)
{
    return reply_one(req, db_scan_get, "scan", err);
}

static enum err_code scans_page(struct db_tx *tx, const void *filter, int limit,
                                const char *cursor, struct db_text_page *page, struct err *err)
{
    return db_scan_list(tx, filter, limit, cursor, page, err);
}

enum err_code api_scans_list(struct api_req *req, struct err *err)
{
    const char *account;
    enum err_code rc = query_uuid(req, "account_id", &account, err);
    if (rc != ERR_OK)
        return rc;
    return api_reply_text_list(req, scans_page, account, API_CURSOR_UUID, err);
}

/* ---- resources ---- */

struct resource_filter {
    const char *account_id, *type;
};

static enum err_code resources_page(struct db_tx *tx, const void *filter, int limit,
                                    const char *cursor, struct db_text_page *page,
                                    struct err *err)
{
    const struct resource_filter *f = filter;
    return db_resource_list(tx, f->account_id, f->type, limit, cursor, page, err);
}

enum err_code api_resources_list(struct api_req *req, struct err *err)
{
    static const char *const types[] = {"aws.lambda.function", "aws.iam.role",
                                        "aws.apigateway.http_api", "aws.apigateway.rest_api",
                                        NULL};
    struct resource_filter f;
    enum err_code rc = query_uuid(req, "account_id", &f.account_id, err);

    if (rc == ERR_OK)
        rc = query_enum(req, "type", types, &f.type, err);
    if (rc != ERR_OK)
        return rc;
    return api_reply_text_list(req, resources_page, &f, API_CURSOR_UUID, err);
}

enum err_code api_resources_get(struct api_req *req, struct err *err)
{
    return reply_one(req, db_resource_get, "resource", err);
}

/* ---- findings ---- */

static enum err_code findings_page(struct db_tx *tx, const void *filter, int limit,
                                   const char *cursor, struct db_text_page *page,
                                   struct err *err)
{
    return db_finding_list(tx, filter, limit, cursor, page, err);
}

enum err_code api_findings_list(struct api_req *req, struct err *err)
{
    static const char *const statuses[] = {"open", "resolved", "suppressed", NULL};
    struct db_finding_filter f = {0};
    enum err_code rc = query_uuid(req, "account_id", &f.account_id, err);

    if (rc == ERR_OK)
        rc = query_uuid(req, "resource_id", &f.resource_id, err);
    if (rc == ERR_OK)
        rc = query_enum(req, "severity", severities, &f.severity, err);
    if (rc == ERR_OK)
        rc = query_enum(req, "status", statuses, &f.status, err);
    if (rc == ERR_OK) {
        f.rule_id = api_query_param(req, "rule_id");
        if (f.rule_id != NULL && posture_rule_get(f.rule_id) == NULL)
            rc = err_set_field(err, ERR_INVALID, "rule_id", "no such rule (see GET /v1/rules)");
    }
    if (rc != ERR_OK)
        return rc;
    return api_reply_text_list(req, findings_page, &f, API_CURSOR_UUID, err);
}

enum err_code api_findings_get(struct api_req *req, struct err *err)
{
    return reply_one(req, db_finding_get, "finding", err);
}

static const struct api_field finding_patch_fields[] = {
    {"status", API_F_STRING, true, 16},
    {"reason", API_F_STRING, false, 1000},
    {"until", API_F_STRING, false, 40},
    {NULL, 0, false, 0},
};

/* An RFC 3339 UTC time in the future ("2027-01-31T00:00:00Z"). */
static bool future_time(const char *s)
{
    struct tm tm = {0};
    char z = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &z) != 7 || z != 'Z' || strlen(s) != 20)
        return false;
    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
        tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
        return false;
    char now[24];
    time_t t = time(NULL);
    struct tm g;
    gmtime_r(&t, &g);
    strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &g);
    return strcmp(s, now) > 0; /* same fixed format: text order is time order */
}

enum err_code api_findings_update(struct api_req *req, struct err *err)
{
    const char *id = api_path_param(req, "id");
    json_t *body = NULL, *out = NULL;
    struct db_tx *tx = NULL;
    const char *status, *reason, *until;
    const char *by = req->who.user_id[0] ? req->who.user_id : req->who.key_id;
    bool suppress;
    enum err_code rc = api_body_checked(req, finding_patch_fields, &body, err);

    if (rc != ERR_OK)
        goto out;
    status = json_string_value(json_object_get(body, "status"));
    reason = json_string_value(json_object_get(body, "reason"));
    until = json_string_value(json_object_get(body, "until"));
    suppress = strcmp(status, "suppressed") == 0;
    if (!suppress && strcmp(status, "open") != 0) {
        rc = err_set_field(err, ERR_INVALID, "status",
                           "suppressed or open (resolution comes from scans)");
        goto out;
    }
    if (suppress && (reason == NULL || reason[0] == '\0')) {
        rc = err_set_field(err, ERR_INVALID, "reason", "say why the finding is suppressed");
        goto out;
    }
    if (until != NULL && (!suppress || !future_time(until))) {
        rc = err_set_field(err, ERR_INVALID, "until",
                           "a future UTC time like 2027-01-31T00:00:00Z, with suppressed");
        goto out;
    }
    rc = db_tx_tenant(req->db, req->who.tenant_id, &tx, err);
    if (rc == ERR_OK)
        rc = db_finding_set_status(tx, id, suppress, reason, by, until, &out, err);
    if (rc == ERR_OK && out == NULL)
        rc = err_set(err, ERR_NOT_FOUND, "no such finding");
    if (rc == ERR_OK)
        rc = api_audit(req, tx, suppress ? "finding.suppress" : "finding.reopen", "finding", id,
                       err);
    if (rc == ERR_OK) {
        rc = db_tx_commit(tx, err);
        tx = NULL;
    }
out:
    db_tx_rollback(tx);
    json_decref(body);
    if (rc != ERR_OK) {
        json_decref(out);
        return rc;
    }
    return api_reply_json(req, 200, out);
}

/* ---- rules and summary ---- */

enum err_code api_rules_list(struct api_req *req, struct err *err)
{
    json_t *rules = posture_rules_json();
    if (rules == NULL)
        return err_set(err, ERR_NOMEM, "out of memory");
    return api_reply_json(req, 200, json_pack("{s:o}", "items", rules));
}

enum err_code api_posture_summary(struct api_req *req, struct err *err)
{
    const char *account;
    json_t *out = NULL, *acct = NULL;
    struct db_tx *tx = NULL;
    enum err_code rc = query_uuid(req, "account_id", &account, err);

    if (rc == ERR_OK)
        rc = db_tx_tenant(req->db, req->who.tenant_id, &tx, err);
    if (rc == ERR_OK && account != NULL) {
        rc = db_account_get(tx, account, &acct, err);
        if (rc == ERR_OK && acct == NULL)
            rc = err_set(err, ERR_NOT_FOUND, "no such account");
        json_decref(acct);
    }
    if (rc == ERR_OK)
        rc = db_posture_summary(tx, account, &out, err);
    db_tx_rollback(tx);
    if (rc != ERR_OK)
        return rc;
    return api_reply_json(req, 200, out);
}
