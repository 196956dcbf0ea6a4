/* Splunk HTTP Event Collector (wire-formats.md section 4): one event envelope per change, with
 * sourcetype (default "parapet:event"), optional index, and flat index-time fields for search;
 * when many are pending the worker sends them as one batch (concatenated envelopes). The
 * channel header is the integration's id (a GUID), harmless without indexer acknowledgement and
 * required with it. */
#include "integrations/sink.h"

#include <stdio.h>
#include <string.h>

static const struct sink_field fields[] = {
    {"hec_url", SINK_F_URL, true, false, 2048},
    {"token", SINK_F_STRING, true, true, 128},
    {"index", SINK_F_STRING, false, false, 80},
    {"sourcetype", SINK_F_STRING, false, false, 80},
    {NULL, 0, false, false, 0},
};

static enum err_code splunk_validate(const json_t *config, struct err *err)
{
    const char *t = json_string_value(json_object_get(config, "token"));
    const char *idx = json_string_value(json_object_get(config, "index"));

    for (const char *p = t; p != NULL && *p != '\0'; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7F)
            return err_set_field(err, ERR_INVALID, "config.token",
                                 "token must be printable ASCII without spaces");
    if (idx != NULL && (idx[0] == '\0' || idx[0] == '_' ||
                        strspn(idx, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(idx)))
        return err_set_field(err, ERR_INVALID, "config.index",
                             "index must be lower-case letters, digits, '_' and '-'");
    return ERR_OK;
}

static enum err_code splunk_format(const struct sink_msg *m, const struct sink_state *st,
                                   struct sink_req *out, struct err *err)
{
    const char *sourcetype = sink_cfg(m, "sourcetype");
    const char *index = sink_cfg(m, "index");
    char link[2048];
    json_t *event, *env, *v;
    (void)st;

    sink_link(m, link, sizeof link);
    event = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s}", "kind", m->event, "subject_id",
                      m->subject_id, "severity", m->severity, "title", sink_title(m), "event_id",
                      (json_int_t)m->event_id, "link", link, "tenant_id", m->tenant_id);
    if (event != NULL && (v = json_object_get(m->payload, "summary")) != NULL && json_is_string(v))
        json_object_set(event, "summary", v);
    if (event != NULL && (v = json_object_get(m->payload, "counts")) != NULL && json_is_object(v))
        json_object_set(event, "counts", v);
    if (event != NULL && (v = json_object_get(m->payload, "functions")) != NULL &&
        json_is_array(v))
        json_object_set(event, "functions", v);
    env = json_pack("{s:f, s:s, s:s, s:s, s:o, s:{s:s, s:s, s:s, s:s}}", "time", m->created_at,
                    "host", "parapet", "source", "parapet", "sourcetype",
                    sourcetype[0] ? sourcetype : "parapet:event", "event", event, "fields",
                    "parapet_kind", m->event, "parapet_severity", m->severity, "parapet_tenant",
                    m->tenant_id, "parapet_subject", m->subject_id);
    if (env != NULL && index[0] != '\0')
        json_object_set_new(env, "index", json_string(index));
    out->method = "POST";
    snprintf(out->url, sizeof out->url, "%s", sink_cfg(m, "hec_url"));
    if (sink_req_header(out, "Authorization: Splunk %s", sink_cfg(m, "token")) != ERR_OK ||
        sink_req_header(out, "X-Splunk-Request-Channel: %s", m->integration_id) != ERR_OK ||
        sink_req_header(out, "Content-Type: application/json") != ERR_OK) {
        json_decref(env);
        return err_set(err, ERR_INVALID, "the HEC token is too long");
    }
    return sink_req_json(out, env, err);
}

static enum sink_result splunk_parse(const struct sink_msg *m, struct sink_state *st, long status,
                                     const char *body, size_t len, char *why, size_t whylen)
{
    enum sink_result r = sink_classify(status);
    json_t *o = json_loadb(body, len, 0, NULL);
    json_t *code = json_object_get(o, "code");
    const char *text = json_string_value(json_object_get(o, "text"));
    (void)m;
    (void)st;

    if (r == SINK_DELIVERED && !(json_is_integer(code) && json_integer_value(code) == 0)) {
        snprintf(why, whylen, "Splunk answered %ld without code 0", status);
        r = SINK_RETRY;
    } else if (r != SINK_DELIVERED) {
        char ex[256];
        if (text != NULL && json_is_integer(code))
            snprintf(ex, sizeof ex, "%s (code %lld)", text, (long long)json_integer_value(code));
        else
            sink_excerpt(body, len, ex, sizeof ex);
        snprintf(why, whylen, "HTTP %ld: %.200s", status, ex[0] ? ex : "(no body)");
    }
    json_decref(o);
    return r;
}

const struct sink_ops sink_splunk = {
    .name = "splunk",
    .fields = fields,
    .batch = true,
    .min_interval_ms = 0,
    .validate = splunk_validate,
    .format = splunk_format,
    .parse = splunk_parse,
};
