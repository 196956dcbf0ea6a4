/* Notification integrations: Slack, PagerDuty, JIRA and Splunk destinations with their settings
 * (secrets write-only: sealed at rest, shown redacted), their delivery history, a test send and
 * the manual retry of dead deliveries. The delivery itself is integrations/ (intg.h). */
#include "api/api.h"

#include "db/db.h"
#include "integrations/intg.h"
#include "integrations/sink.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct api_field create_fields[] = {
    {"kind", API_F_STRING, true, 16},
    {"name", API_F_STRING, true, 200},
    {"config", API_F_OBJECT, true, 0},
    {"min_severity", API_F_STRING, false, 16},
    {"events", API_F_ARRAY, false, 4},
    {"enabled", API_F_BOOL, false, 0},
    {NULL, 0, false, 0},
};

static const struct api_field update_fields[] = {
    {"name", API_F_STRING, false, 200},
    {"config", API_F_OBJECT, false, 0},
    {"min_severity", API_F_STRING, false, 16},
    {"events", API_F_ARRAY, false, 4},
    {"enabled", API_F_BOOL, false, 0},
    {NULL, 0, false, 0},
};

/* name, min_severity and events of body into in (keeping in's values for absent fields). */
static enum err_code common_fields(json_t *body, struct db_intg *in, struct err *err)
{
    json_t *v = json_object_get(body, "name"), *ev, *seen;
    size_t i;

    if (v != NULL) {
        if (json_string_value(v)[0] == '\0')
            return err_set_field(err, ERR_INVALID, "name", "name must be a non-empty string");
        snprintf(in->name, sizeof in->name, "%s", json_string_value(v));
    }
    v = json_object_get(body, "min_severity");
    if (v != NULL) {
        if (!intg_severity_is_valid(json_string_value(v)))
            return err_set_field(err, ERR_INVALID, "min_severity",
                                 "min_severity must be critical, high, medium, low or info");
        snprintf(in->min_severity, sizeof in->min_severity, "%s", json_string_value(v));
    }
    v = json_object_get(body, "enabled");
    if (v != NULL)
        in->enabled = json_is_true(v);
    v = json_object_get(body, "events");
    if (v == NULL)
        return ERR_OK;
    if (json_array_size(v) == 0)
        return err_set_field(err, ERR_INVALID, "events", "give at least one event kind");
    seen = json_object();
    json_array_foreach(v, i, ev)
    {
        char field[32];
        snprintf(field, sizeof field, "events[%zu]", i);
        if (!json_is_string(ev) || !intg_event_is_valid(json_string_value(ev))) {
            json_decref(seen);
            return err_set_field(err, ERR_INVALID, field,
                                 "events are finding.opened, incident.opened, "
                                 "incident.escalated and incident.resolved");
        }
        if (json_object_get(seen, json_string_value(ev)) != NULL) {
            json_decref(seen);
            return err_set_field(err, ERR_INVALID, field, "event listed twice");
        }
        json_object_set_new(seen, json_string_value(ev), json_true());
    }
    json_decref(seen);
    free(in->events);
    in->events = json_dumps(v, JSON_COMPACT);
    return in->events != NULL ? ERR_OK : err_set(err, ERR_NOMEM, "out of memory");
}

/* The settings and sealed secrets of in from the request's config (base: the current full
 * settings for an update, else NULL). */
static enum err_code settings(struct api_req *req, json_t *config, const json_t *base,
                              struct db_intg *in, struct err *err)
{
    json_t *redacted = NULL, *secrets = NULL;
    enum err_code rc = intg_config_check(in->kind, config, base, &redacted, &secrets, err);

    if (rc == ERR_OK) {
        free(in->secrets_hex);
        in->secrets_hex = NULL;
        rc = intg_seal(req->app->cfg, req->who.tenant_id, in->id, secrets, &in->secrets_hex, err);
    }
    if (rc == ERR_OK) {
        free(in->config);
        in->config = json_dumps(redacted, JSON_COMPACT);
        if (in->config == NULL)
            rc = err_set(err, ERR_NOMEM, "out of memory");
    }
    json_decref(redacted);
    json_decref(secrets);
    return rc;
}

enum err_code api_integrations_create(struct api_req *req, struct err *err)
{
    json_t *body = NULL, *out = NULL;
    struct db_tx *tx = NULL;
    struct db_intg in;
    const struct sink_ops *ops;
    enum err_code rc;

    memset(&in, 0, sizeof in);
    rc = api_body_checked(req, create_fields, &body, err);
    if (rc != ERR_OK)
        goto out;
    snprintf(in.kind, sizeof in.kind, "%s", json_string_value(json_object_get(body, "kind")));
    ops = sink_find(in.kind);
    if (ops == NULL) {
        rc = err_set_field(err, ERR_INVALID, "kind",
                           "kind must be slack, pagerduty, jira or splunk");
        goto out;
    }
    api_uuid_new(in.id);
    snprintf(in.min_severity, sizeof in.min_severity, "high");
    in.enabled = true;
    in.events = strdup("[\"finding.opened\",\"incident.opened\",\"incident.escalated\","
                       "\"incident.resolved\"]");
    if (in.events == NULL) {
        rc = err_set(err, ERR_NOMEM, "out of memory");
        goto out;
    }
    rc = common_fields(body, &in, err);
    if (rc == ERR_OK)
        rc = settings(req, json_object_get(body, "config"), NULL, &in, err);
    if (rc == ERR_OK)
        rc = db_tx_tenant(req->db, req->who.tenant_id, &tx, err);
    if (rc == ERR_OK)
        rc = db_intg_create(tx, &in, ops->min_interval_ms, &out, err);
    if (rc == ERR_OK)
        rc = api_audit(req, tx, "integration.create", "integration", in.id, err);
    if (rc != ERR_OK)
        goto out;
    rc = db_tx_commit(tx, err);
    tx = NULL;
    if (rc == ERR_OK) {
        rc = api_reply_json(req, 201, out);
        out = NULL;
    }
out:
    db_tx_rollback(tx);
    db_intg_clear(&in);
    json_decref(out);
    json_decref(body);
    return rc;
}

enum err_code api_integrations_list(struct api_req *req, struct err *err)
{
    return api_reply_list(req, db_intg_list, API_CURSOR_UUID, err);
}

enum err_code api_integrations_get(struct api_req *req, struct err *err)
{
    struct db_tx *tx = NULL;
    json_t *out = NULL;
    enum err_code rc = db_tx_tenant(req->db, req->who.tenant_id, &tx, err);

    if (rc == ERR_OK)
        rc = db_intg_get(tx, api_path_param(req, "id"), &out, err);
    db_tx_rollback(tx);
    if (rc == ERR_OK && out == NULL)
        rc = err_set(err, ERR_NOT_FOUND, "no such integration");
    if (rc != ERR_OK)
        return rc;
    return api_reply_json(req, 200, out);
}

enum err_code api_integrations_update(struct api_req *req, struct err *err)
{
    const char *id = api_path_param(req, "id");
    json_t *body = NULL, *out = NULL, *redacted = NULL, *secrets = NULL, *base = NULL;
    struct db_tx *tx = NULL;
    struct db_intg in;
    bool found = false;
    struct err ignore;
    enum err_code rc;

    memset(&in, 0, sizeof in);
    rc = api_body_checked(req, update_fields, &body, err);
    if (rc != ERR_OK)
        goto out;
    if (json_object_size(body) == 0) {
        rc = err_set(err, ERR_INVALID, "give at least one of name, config, min_severity, events, "
                                       "enabled");
        goto out;
    }
    rc = db_tx_tenant(req->db, req->who.tenant_id, &tx, err);
    if (rc == ERR_OK)
        rc = db_intg_load(tx, id, &in, &found, err);
    if (rc == ERR_OK && !found)
        rc = err_set(err, ERR_NOT_FOUND, "no such integration");
    if (rc == ERR_OK)
        rc = common_fields(body, &in, err);
    if (rc == ERR_OK && json_object_get(body, "config") != NULL) {
        redacted = json_loads(in.config, 0, NULL);
        /* Secrets that no longer open (the key changed without PARAPET_SECRET_KEY_PREVIOUS) must
         * be given again: they are left out of the base, so a required one is reported missing. */
        if (intg_open(req->app->cfg, req->who.tenant_id, id, in.secrets_hex, &secrets, &ignore) !=
            ERR_OK) {
            const struct sink_ops *ops = sink_find(in.kind);
            for (const struct sink_field *f = ops ? ops->fields : NULL; f && f->name; f++)
                if (f->secret)
                    json_object_del(redacted, f->name);
        }
        base = intg_config_full(redacted, secrets);
        rc = base != NULL ? settings(req, json_object_get(body, "config"), base, &in, err)
                          : err_set(err, ERR_NOMEM, "out of memory");
    }
    if (rc == ERR_OK)
        rc = db_intg_update(tx, &in, &out, err);
    if (rc == ERR_OK)
        rc = api_audit(req, tx, "integration.update", "integration", id, err);
    if (rc != ERR_OK)
        goto out;
    rc = db_tx_commit(tx, err);
    tx = NULL;
    if (rc == ERR_OK) {
        rc = api_reply_json(req, 200, out);
        out = NULL;
    }
out:
    db_tx_rollback(tx);
    db_intg_clear(&in);
    json_decref(base);
    json_decref(secrets);
    json_decref(redacted);
    json_decref(out);
    json_decref(body);
    return rc;
}

enum err_code api_integrations_delete(struct api_req *req, struct err *err)
{
    enum err_code rc = api_delete_audited(req, db_intg_delete, "integration", "integration.delete",
                                          err);
    if (rc != ERR_OK)
        return rc;
    return api_reply_empty(req, 204);
}

/* 404 unless the integration exists in the caller's tenant. */
static enum err_code exists(struct api_req *req, struct db_tx *tx, struct err *err)
{
    json_t *o = NULL;
    enum err_code rc = db_intg_get(tx, api_path_param(req, "id"), &o, err);
    if (rc == ERR_OK && o == NULL)
        rc = err_set(err, ERR_NOT_FOUND, "no such integration");
    json_decref(o);
    return rc;
}

enum err_code api_integrations_deliveries(struct api_req *req, struct err *err)
{
    struct db_tx *tx = NULL;
    json_t *items = NULL;
    const char *cursor;
    char next[64];
    int limit;
    enum err_code rc;

    rc = api_page_cursor(req, API_CURSOR_INT, &limit, &cursor, err);
    if (rc != ERR_OK)
        return rc;
    rc = db_tx_tenant(req->db, req->who.tenant_id, &tx, err);
    if (rc == ERR_OK)
        rc = exists(req, tx, err);
    if (rc == ERR_OK)
        rc = db_delivery_list(tx, api_path_param(req, "id"), limit, cursor, &items, next,
                              sizeof next, err);
    db_tx_rollback(tx);
    if (rc != ERR_OK)
        return rc;
    return api_reply_page(req, items, next);
}

static const struct api_field retry_fields[] = {
    {"delivery_ids", API_F_ARRAY, false, 500},
    {NULL, 0, false, 0},
};

enum err_code api_integrations_retry(struct api_req *req, struct err *err)
{
    const char *id = api_path_param(req, "id");
    json_t *body = NULL, *ids, *v;
    struct db_tx *tx = NULL;
    char *ids_text = NULL;
    long long n = 0;
    size_t i;
    enum err_code rc;

    rc = api_body_checked(req, retry_fields, &body, err);
    if (rc != ERR_OK)
        goto out;
    ids = json_object_get(body, "delivery_ids");
    json_array_foreach(ids, i, v)
    {
        if (!json_is_integer(v) || json_integer_value(v) <= 0) {
            char field[40];
            snprintf(field, sizeof field, "delivery_ids[%zu]", i);
            rc = err_set_field(err, ERR_INVALID, field, "delivery ids are positive integers");
            goto out;
        }
    }
    if (ids != NULL && (ids_text = json_dumps(ids, JSON_COMPACT)) == NULL) {
        rc = err_set(err, ERR_NOMEM, "out of memory");
        goto out;
    }
    rc = db_tx_tenant(req->db, req->who.tenant_id, &tx, err);
    if (rc == ERR_OK)
        rc = exists(req, tx, err);
    if (rc == ERR_OK)
        rc = db_delivery_retry(tx, id, ids_text, &n, err);
    if (rc == ERR_OK)
        rc = api_audit(req, tx, "integration.retry", "integration", id, err);
    if (rc != ERR_OK)
        goto out;
    rc = db_tx_commit(tx, err);
    tx = NULL;
    if (rc == ERR_OK)
        rc = api_reply_json(req, 200, json_pack("{s:I}", "retried", (json_int_t)n));
out:
    db_tx_rollback(tx);
    free(ids_text);
    json_decref(body);
    return rc;
}

enum err_code api_integrations_test(struct api_req *req, struct err *err)
{
    const char *id = api_path_param(req, "id");
    struct db_tx *tx = NULL;
    json_t *out = NULL;
    enum err_code rc;

    rc = intg_test_send(req->app->cfg, req->db, req->who.tenant_id, id, &out, err);
    if (rc != ERR_OK)
        return rc;
    rc = db_tx_tenant(req->db, req->who.tenant_id, &tx, err);
    if (rc == ERR_OK)
        rc = api_audit(req, tx, "integration.test", "integration", id, err);
    if (rc == ERR_OK) {
        rc = db_tx_commit(tx, err);
        tx = NULL;
    }
    db_tx_rollback(tx);
    if (rc != ERR_OK) {
        json_decref(out);
        return rc;
    }
    return api_reply_json(req, 200, out);
}
