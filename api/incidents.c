/* Incidents: lists with filters, one incident with its story, its folded events, and the status
 * change (acknowledge, resolve) that secops make; resolving notifies through the outbox. Also the
 * list of what ingest rejected (the other read of the observe data). */
#include "api/api.h"

#include "db/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool one_of(const char *v, const char *const *allowed)
{
    for (; *allowed != NULL; allowed++)
        if (strcmp(v, *allowed) == 0)
            return true;
    return false;
}

static const char *const statuses[] = {"open", "acknowledged", "resolved", NULL};
static const char *const severities[] = {"critical", "high", "medium", "low", "info", NULL};

struct incident_filter {
    const char *status, *severity, *account_id;
};

static enum err_code incidents_page(struct db_tx *tx, const void *filter, int limit,
                                    const char *cursor, json_t **items, char *next,
                                    size_t nextlen, struct err *err)
{
    const struct incident_filter *f = filter;
    return db_incident_list(tx, limit, cursor, f->status, f->severity, f->account_id, items, next,
                            nextlen, err);
}

enum err_code api_incidents_list(struct api_req *req, struct err *err)
{
    const char *status = api_query_param(req, "status");
    const char *severity = api_query_param(req, "severity");
    const char *account = api_query_param(req, "account_id");

    if (status != NULL && !one_of(status, statuses))
        return err_set_field(err, ERR_INVALID, "status",
                             "status must be open, acknowledged or resolved");
    if (severity != NULL && !one_of(severity, severities))
        return err_set_field(err, ERR_INVALID, "severity",
                             "severity must be critical, high, medium, low or info");
    if (account != NULL && (strlen(account) != 12 || strspn(account, "0123456789") != 12))
        return err_set_field(err, ERR_INVALID, "account_id",
                             "account_id must be a 12-digit AWS account id");
    struct incident_filter f = {status, severity, account};
    return api_reply_list_filtered(req, incidents_page, &f, API_CURSOR_INT, err);
}

enum err_code api_incidents_get(struct api_req *req, struct err *err)
{
    struct db_tx *tx = NULL;
    json_t *inc = NULL;
    enum err_code rc = db_tx_tenant(req->db, req->who.tenant_id, &tx, err);

    if (rc != ERR_OK)
        return rc;
    rc = db_incident_get(tx, api_path_param(req, "id"), &inc, err);
    db_tx_rollback(tx);
    if (rc != ERR_OK)
        return rc;
    if (inc == NULL)
        return err_set(err, ERR_NOT_FOUND, "no such incident");
    return api_reply_json(req, 200, inc);
}

enum err_code api_incidents_events(struct api_req *req, struct err *err)
{
    const char *id = api_path_param(req, "id");
    struct db_tx *tx = NULL;
    json_t *items = NULL, *inc = NULL;
    const char *cursor;
    char next[32];
    int limit;
    enum err_code rc;

    rc = api_page_cursor(req, API_CURSOR_INT, &limit, &cursor, err);
    if (rc != ERR_OK)
        return rc;
    rc = db_tx_tenant(req->db, req->who.tenant_id, &tx, err);
    if (rc != ERR_OK)
        return rc;
    rc = db_incident_get(tx, id, &inc, err);
    if (rc == ERR_OK && inc == NULL)
        rc = err_set(err, ERR_NOT_FOUND, "no such incident");
    if (rc == ERR_OK)
        rc = db_incident_events(tx, id, limit, cursor, &items, next, sizeof next, err);
    db_tx_rollback(tx);
    json_decref(inc);
    if (rc != ERR_OK)
        return rc;
    return api_reply_page(req, items, next);
}

static const struct api_field update_fields[] = {
    {"status", API_F_STRING, true, 16},
    {"note", API_F_STRING, false, 2000},
    {NULL, 0, false, 0},
};

enum err_code api_incidents_update(struct api_req *req, struct err *err)
{
    static const char *const targets[] = {"acknowledged", "resolved", NULL};
    const char *id = api_path_param(req, "id");
    json_t *body = NULL, *before = NULL, *after = NULL, *payload = NULL;
    struct db_tx *tx = NULL;
    const char *status, *note, *was;
    enum err_code rc;

    rc = api_body_checked(req, update_fields, &body, err);
    if (rc != ERR_OK)
        goto out;
    status = json_string_value(json_object_get(body, "status"));
    note = json_string_value(json_object_get(body, "note"));
    if (!one_of(status, targets)) {
        rc = err_set_field(err, ERR_INVALID, "status", "status must be acknowledged or resolved");
        goto out;
    }
    rc = db_tx_tenant(req->db, req->who.tenant_id, &tx, err);
    if (rc != ERR_OK)
        goto out;
    rc = db_incident_set_status(tx, id, status, note, &before, &after, err);
    if (rc != ERR_OK)
        goto out;
    if (before == NULL) {
        rc = err_set(err, ERR_NOT_FOUND, "no such incident");
        goto out;
    }
    was = json_string_value(json_object_get(before, "status"));
    if (strcmp(was, "resolved") == 0) {
        rc = err_set_field(err, ERR_CONFLICT, "status", "the incident is resolved already");
        goto out;
    }
    if (strcmp(status, "resolved") == 0) {
        payload = json_pack("{s:O, s:O, s:s, s:s}", "title", json_object_get(before, "title"),
                            "summary", json_object_get(before, "summary"), "link", id,
                            "resolved_by", req->who.actor == API_ACTOR_KEY ? "api_key" : "user");
        rc = payload ? db_event_record(tx, "incident.resolved", id,
                                       json_string_value(json_object_get(before, "severity")),
                                       payload, err)
                     : err_set(err, ERR_NOMEM, "out of memory");
        if (rc != ERR_OK)
            goto out;
    }
    rc = api_audit(req, tx, strcmp(status, "resolved") == 0 ? "incident.resolve"
                                                            : "incident.acknowledge",
                   "incident", id, err);
    if (rc != ERR_OK)
        goto out;
    rc = db_tx_commit(tx, err);
    tx = NULL;
    if (rc == ERR_OK) {
        rc = api_reply_json(req, 200, after);
        after = NULL;
    }
out:
    db_tx_rollback(tx);
    json_decref(body);
    json_decref(before);
    json_decref(after);
    json_decref(payload);
    return rc;
}

/* What ingest did not store, for the tenant to see: Firehose has no per-record answer. */
enum err_code api_ingest_rejections(struct api_req *req, struct err *err)
{
    return api_reply_list(req, db_ingest_rejections, API_CURSOR_INT, err);
}
