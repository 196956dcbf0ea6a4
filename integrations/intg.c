/* Integration settings (validation, redaction, sealing), back-off, and the test send. */
#include "integrations/intg.h"
#include "server/text.h"

#include "auth/seal.h"
#include "integrations/outbox.h"
#include "integrations/sink.h"
#include "net/net.h"

#include <openssl/crypto.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REDACTED "********"

bool intg_severity_is_valid(const char *s)
{
    static const char *const sev[] = {"critical", "high", "medium", "low", "info"};
    for (size_t i = 0; s != NULL && i < sizeof sev / sizeof sev[0]; i++)
        if (strcmp(sev[i], s) == 0)
            return true;
    return false;
}

bool intg_event_is_valid(const char *s)
{
    static const char *const ev[] = {"finding.opened", "incident.opened", "incident.escalated",
                                     "incident.resolved"};
    for (size_t i = 0; s != NULL && i < sizeof ev / sizeof ev[0]; i++)
        if (strcmp(ev[i], s) == 0)
            return true;
    return false;
}

/* The redacted form of a secret: for a URL its scheme and host (which say where it goes), for
 * anything else a fixed marker. */
static json_t *redact(const struct sink_field *f, const char *v)
{
    char out[300];
    if (f->type == SINK_F_URL) {
        const char *host = strstr(v, "://");
        size_t hl = host ? strcspn(host + 3, "/?#") : 0;
        if (host != NULL && hl < 200) {
            snprintf(out, sizeof out, "%.*s/" REDACTED, (int)(host + 3 + hl - v), v);
            return json_string(out);
        }
    }
    return json_string(REDACTED);
}

/* Checks one declared field's value. */
static enum err_code check_field(const struct sink_field *f, const json_t *v, struct err *err)
{
    char field[96];
    const char *s;

    snprintf(field, sizeof field, "config.%s", f->name);
    if (f->type == SINK_F_INT) {
        if (!json_is_integer(v))
            return err_set_field(err, ERR_INVALID, field, "%s must be an integer", f->name);
        return ERR_OK;
    }
    if (!json_is_string(v))
        return err_set_field(err, ERR_INVALID, field, "%s must be a string", f->name);
    s = json_string_value(v);
    if (s[0] == '\0')
        return err_set_field(err, ERR_INVALID, field, "%s must not be empty", f->name);
    if (f->type == SINK_F_URL) {
        enum err_code rc = net_url_check(s, err);
        if (rc != ERR_OK)
            return err_set_field(err, rc, field, "%s: %s", f->name, err->detail);
    }
    if (f->max_len > 0 && strlen(s) > f->max_len)
        return err_set_field(err, ERR_INVALID, field, "%s is longer than %zu bytes", f->name,
                             f->max_len);
    for (const char *p = s; *p != '\0'; p++)
        if ((unsigned char)*p < 0x20)
            return err_set_field(err, ERR_INVALID, field, "%s contains control characters",
                                 f->name);
    return ERR_OK;
}

enum err_code intg_config_check(const char *kind, const json_t *config, const json_t *base,
                                json_t **redacted, json_t **secrets, struct err *err)
{
    const struct sink_ops *ops = sink_find(kind);
    json_t *full = NULL, *v;
    const char *k;
    enum err_code rc = ERR_OK;

    *redacted = *secrets = NULL;
    if (ops == NULL)
        return err_set_field(err, ERR_INVALID, "kind",
                             "kind must be slack, pagerduty, jira or splunk");
    if (!json_is_object(config))
        return err_set_field(err, ERR_INVALID, "config", "config must be an object");
    json_object_foreach((json_t *)(uintptr_t)config, k, v)
    {
        if (sink_field_find(ops, k) == NULL) {
            char field[96];
            snprintf(field, sizeof field, "config.%.80s", k);
            return err_set_field(err, ERR_INVALID, field, "unknown setting for %s", ops->name);
        }
    }
    full = base != NULL ? json_deep_copy(base) : json_object();
    if (full == NULL)
        return err_set(err, ERR_NOMEM, "out of memory");
    json_object_foreach((json_t *)(uintptr_t)config, k, v)
    {
        if (json_is_null(v))
            json_object_del(full, k);
        else
            json_object_set(full, k, v);
    }
    *redacted = json_object();
    *secrets = json_object();
    for (const struct sink_field *f = ops->fields; f->name != NULL; f++) {
        v = json_object_get(full, f->name);
        if (v == NULL) {
            if (f->required) {
                char field[96];
                snprintf(field, sizeof field, "config.%s", f->name);
                rc = err_set_field(err, ERR_INVALID, field, "%s is required for %s", f->name,
                                   ops->name);
                goto out;
            }
            continue;
        }
        /* Only values the request supplied are checked again: a stored one passed already. */
        if (json_object_get(config, f->name) != NULL || base == NULL) {
            rc = check_field(f, v, err);
            if (rc != ERR_OK)
                goto out;
        }
        if (f->secret) {
            json_object_set(*secrets, f->name, v);
            json_object_set_new(*redacted, f->name, redact(f, json_string_value(v)));
        } else {
            json_object_set(*redacted, f->name, v);
        }
    }
    if (ops->validate != NULL)
        rc = ops->validate(full, err);
out:
    json_decref(full);
    if (rc != ERR_OK) {
        json_decref(*redacted);
        json_decref(*secrets);
        *redacted = *secrets = NULL;
    }
    return rc;
}

json_t *intg_config_full(const json_t *redacted, const json_t *secrets)
{
    json_t *full = json_deep_copy(redacted);
    if (full != NULL && json_is_object(secrets))
        json_object_update(full, (json_t *)(uintptr_t)secrets);
    return full;
}

static void keyring(const struct config *cfg, struct seal_keyring *kr)
{
    seal_keyring_init(kr, cfg->has_secret_key ? cfg->secret_key : NULL,
                      cfg->has_secret_key_previous ? cfg->secret_key_previous : NULL);
}

static size_t aad(const char *tenant_id, const char *id, char out[128])
{
    int n = snprintf(out, 128, "parapet-integration:%s:%s", tenant_id, id);
    return n > 0 && n < 128 ? (size_t)n : 0;
}

enum err_code intg_seal(const struct config *cfg, const char *tenant_id, const char *id,
                        const json_t *secrets, char **hex, struct err *err)
{
    struct seal_keyring kr;
    char a[128], *text = json_dumps(secrets, JSON_COMPACT);
    unsigned char *sealed = NULL;
    size_t n = 0;
    enum err_code rc;

    *hex = NULL;
    if (text == NULL)
        return err_set(err, ERR_NOMEM, "out of memory");
    keyring(cfg, &kr);
    rc = seal_encrypt(&kr, a, aad(tenant_id, id, a), text, strlen(text), &sealed, &n, err);
    seal_keyring_clear(&kr);
    OPENSSL_cleanse(text, strlen(text));
    free(text);
    if (rc != ERR_OK)
        return rc;
    *hex = malloc(2 * n + 1);
    if (*hex == NULL) {
        free(sealed);
        return err_set(err, ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        snprintf(*hex + 2 * i, 3, "%02x", sealed[i]);
    free(sealed);
    return ERR_OK;
}

enum err_code intg_open(const struct config *cfg, const char *tenant_id, const char *id,
                        const char *hex, json_t **secrets, struct err *err)
{
    struct seal_keyring kr;
    char a[128], *text = NULL;
    size_t hl = strlen(hex), n = hl / 2, tl = 0;
    unsigned char *bin;
    enum err_code rc;

    *secrets = NULL;
    if (hl % 2 != 0)
        return err_set(err, ERR_INVALID, "the sealed secret is malformed");
    bin = malloc(n + 1);
    if (bin == NULL)
        return err_set(err, ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        int hi = text_hex_digit((unsigned char)hex[2 * i]), lo = text_hex_digit((unsigned char)hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(bin);
            return err_set(err, ERR_INVALID, "the sealed secret is malformed");
        }
        bin[i] = (unsigned char)(hi << 4 | lo);
    }
    keyring(cfg, &kr);
    rc = seal_decrypt(&kr, a, aad(tenant_id, id, a), bin, n, &text, &tl, NULL, err);
    seal_keyring_clear(&kr);
    free(bin);
    if (rc != ERR_OK)
        return rc;
    *secrets = json_loadb(text, tl, 0, NULL);
    OPENSSL_cleanse(text, tl);
    free(text);
    if (!json_is_object(*secrets)) {
        json_decref(*secrets);
        *secrets = NULL;
        return err_set(err, ERR_INVALID, "the sealed secret is not a settings object");
    }
    return ERR_OK;
}

long long intg_backoff_ms(unsigned attempt, unsigned base_ms, unsigned cap_s,
                          long retry_after_s, double r01)
{
    long long cap = (long long)cap_s * 1000, d = base_ms;

    if (retry_after_s >= 0)
        return (retry_after_s > 3600 ? 3600 : retry_after_s) * 1000LL;
    for (unsigned i = 1; i < attempt && d < cap; i++)
        d *= 2;
    if (d > cap)
        d = cap;
    if (r01 < 0)
        r01 = 0;
    if (r01 >= 1)
        r01 = 0.999999;
    return (long long)((double)d * (0.5 + r01 / 2));
}

/* A test message through the integration, one step at a time with net_do(). */
enum err_code intg_test_send(const struct config *cfg, struct db_pool *db, const char *tenant_id,
                             const char *id, json_t **out, struct err *err)
{
    struct db_tx *tx = NULL;
    struct db_intg in;
    json_t *redacted = NULL, *secrets = NULL, *full = NULL, *payload = NULL;
    const struct sink_ops *ops;
    struct sink_state st;
    struct sink_msg m;
    struct net_response resp = {0};
    enum sink_result sr = SINK_RETRY;
    char why[512] = "";
    long status = 0;
    bool found = false;
    enum err_code rc;

    *out = NULL;
    memset(&in, 0, sizeof in);
    rc = db_tx_tenant(db, tenant_id, &tx, err);
    if (rc == ERR_OK)
        rc = db_intg_load(tx, id, &in, &found, err);
    db_tx_rollback(tx);
    if (rc == ERR_OK && !found)
        rc = err_set(err, ERR_NOT_FOUND, "no such integration");
    if (rc != ERR_OK)
        goto out;
    ops = sink_find(in.kind);
    redacted = json_loads(in.config, 0, NULL);
    rc = intg_open(cfg, tenant_id, id, in.secrets_hex, &secrets, err);
    if (rc != ERR_OK)
        goto out;
    full = intg_config_full(redacted, secrets);
    payload = json_pack("{s:s, s:s}", "title", "Parapet test notification", "summary",
                        "This is a test from Parapet: the integration is configured correctly.");
    if (ops == NULL || full == NULL || payload == NULL) {
        rc = err_set(err, ERR_INTERNAL, "the integration cannot be read");
        goto out;
    }
    memset(&st, 0, sizeof st);
    outbox_msg_init(&m, cfg, "test", id, "info", payload, 0, 0, tenant_id, id, full, NULL);
    for (int steps = 0; steps < 4; steps++) {
        struct sink_req req;
        memset(&req, 0, sizeof req);
        net_response_free(&resp);
        rc = ops->format(&m, &st, &req, err);
        if (rc == ERR_OK && req.method == NULL) {
            sr = SINK_DELIVERED;
            break;
        }
        if (rc == ERR_OK)
            rc = outbox_send_blocking(cfg, &req, &resp, err);
        sink_req_clear(&req);
        if (rc != ERR_OK) {
            snprintf(why, sizeof why, "%s", err->detail);
            rc = ERR_OK;
            sr = SINK_RETRY;
            break;
        }
        status = resp.status;
        why[0] = '\0';
        sr = ops->parse(&m, &st, resp.status, resp.body, resp.body_len, why, sizeof why);
        if (sr != SINK_NEXT)
            break;
    }
    {
        char excerpt[1024];
        outbox_scrub(why, secrets);
        sink_excerpt(resp.body ? resp.body : "", resp.body_len, excerpt, sizeof excerpt);
        outbox_scrub(excerpt, secrets);
        *out = json_pack("{s:b, s:o, s:s, s:o}", "delivered", sr == SINK_DELIVERED, "status",
                         status ? json_integer(status) : json_null(), "response", excerpt,
                         "error", sr == SINK_DELIVERED ? json_null() : json_string(why));
        if (*out == NULL)
            rc = err_set(err, ERR_NOMEM, "out of memory");
    }
out:
    net_response_free(&resp);
    json_decref(payload);
    json_decref(full);
    json_decref(secrets);
    json_decref(redacted);
    db_intg_clear(&in);
    return rc;
}
