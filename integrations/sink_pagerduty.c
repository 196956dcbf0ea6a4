/* PagerDuty Events API v2 (wire-formats.md section 2): trigger on finding.opened,
 * incident.opened and incident.escalated with dedup_key = the subject's id (so an escalation
 * updates the open alert instead of opening another), resolve on incident.resolved. Severity:
 * critical -> critical, high -> error, medium -> warning, low and info -> info. A test sends a
 * trigger and resolves it at once. */
#include "integrations/sink.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define DEFAULT_EVENTS_URL "https://events.pagerduty.com/v2/enqueue"
#define SUMMARY_MAX 1024

static const struct sink_field fields[] = {
    {"routing_key", SINK_F_STRING, true, true, 64},
    {"events_url", SINK_F_URL, false, false, 2048},
    {NULL, 0, false, false, 0},
};

static enum err_code pd_validate(const json_t *config, struct err *err)
{
    const char *k = json_string_value(json_object_get(config, "routing_key"));
    size_t n = k ? strlen(k) : 0;

    if (n != 32)
        return err_set_field(err, ERR_INVALID, "config.routing_key",
                             "routing_key must be the 32-character integration key");
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)k[i]))
            return err_set_field(err, ERR_INVALID, "config.routing_key",
                                 "routing_key must be letters and digits");
    return ERR_OK;
}

static const char *pd_severity(const char *sev)
{
    if (strcmp(sev, "critical") == 0)
        return "critical";
    if (strcmp(sev, "high") == 0)
        return "error";
    if (strcmp(sev, "medium") == 0)
        return "warning";
    return "info";
}

/* ISO 8601 of epoch seconds, UTC, with milliseconds, as PagerDuty's examples. */
static void iso8601(double t, char out[96])
{
    time_t s = (time_t)t;
    struct tm tm;
    int ms = (int)((t - (double)s) * 1000.0);

    gmtime_r(&s, &tm);
    snprintf(out, 96, "%04d-%02d-%02dT%02d:%02d:%02d.%03d+0000", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms < 0 ? 0 : ms);
}

static enum err_code pd_format(const struct sink_msg *m, const struct sink_state *st,
                               struct sink_req *out, struct err *err)
{
    bool test = strcmp(m->event, "test") == 0;
    bool resolve = strcmp(m->event, "incident.resolved") == 0 || (test && st->step == 1);
    const char *url = sink_cfg(m, "events_url");
    char dedup[128], summary[SUMMARY_MAX + 1], link[2048], ts[96];
    json_t *ev, *details, *v;
    const char *source = sink_pl(m, "source");

    if (test)
        snprintf(dedup, sizeof dedup, "parapet-test-%s", m->integration_id);
    else
        snprintf(dedup, sizeof dedup, "%s", m->subject_id);
    out->method = "POST";
    snprintf(out->url, sizeof out->url, "%s", url[0] ? url : DEFAULT_EVENTS_URL);
    if (sink_req_header(out, "Content-Type: application/json") != ERR_OK)
        return err_set(err, ERR_INTERNAL, "too many headers");
    if (resolve) {
        ev = json_pack("{s:s, s:s, s:s}", "routing_key", sink_cfg(m, "routing_key"),
                       "event_action", "resolve", "dedup_key", dedup);
        return sink_req_json(out, ev, err);
    }
    /* The summary is cut at 1024 bytes on a UTF-8 boundary, as PagerDuty requires. */
    {
        int n = snprintf(summary, sizeof summary, "[%s] %s", sink_severity_label(m->severity),
                         sink_title(m));
        if (n >= (int)sizeof summary) {
            size_t cut = SUMMARY_MAX;
            while (cut > 0 && ((unsigned char)summary[cut] & 0xC0) == 0x80)
                cut--;
            summary[cut] = '\0';
        }
    }
    sink_link(m, link, sizeof link);
    iso8601(m->created_at, ts);
    details = json_pack("{s:s, s:s, s:s}", "event", m->event, "subject_id", m->subject_id,
                        "severity", m->severity);
    if ((v = json_object_get(m->payload, "summary")) != NULL && json_is_string(v))
        json_object_set(details, "description", v);
    if ((v = json_object_get(m->payload, "counts")) != NULL && json_is_object(v))
        json_object_set(details, "counts", v);
    if ((v = json_object_get(m->payload, "functions")) != NULL && json_is_array(v))
        json_object_set(details, "functions", v);
    ev = json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s, s:s, s:o}, s:[{s:s, s:s}],"
                   " s:s}",
                   "routing_key", sink_cfg(m, "routing_key"), "event_action", "trigger",
                   "dedup_key", dedup, "payload", "summary", summary, "source",
                   source[0] ? source : "parapet", "severity", test ? "info" : pd_severity(m->severity),
                   "timestamp", ts, "component", "lambda", "class", m->event,
                   "custom_details", details, "links", "href", link, "text",
                   strncmp(m->event, "finding.", 8) == 0 ? "View finding in Parapet"
                                                         : "View incident in Parapet",
                   "client", "Parapet");
    return sink_req_json(out, ev, err);
}

static enum sink_result pd_parse(const struct sink_msg *m, struct sink_state *st, long status,
                                 const char *body, size_t len, char *why, size_t whylen)
{
    enum sink_result r = sink_classify(status);

    if (r == SINK_DELIVERED) {
        json_t *o = json_loadb(body, len, 0, NULL);
        bool ok = o != NULL && strcmp(json_string_value(json_object_get(o, "status"))
                                          ? json_string_value(json_object_get(o, "status"))
                                          : "",
                                      "success") == 0;
        json_decref(o);
        if (!ok) {
            snprintf(why, whylen, "PagerDuty answered %ld without status \"success\"", status);
            return SINK_RETRY;
        }
        if (strcmp(m->event, "test") == 0 && st->step == 0) {
            st->step = 1;
            return SINK_NEXT;
        }
        return SINK_DELIVERED;
    }
    {
        char ex[256];
        json_t *o = json_loadb(body, len, 0, NULL);
        json_t *errs = json_object_get(o, "errors");
        const char *first = json_string_value(json_array_get(errs, 0));
        const char *msg = json_string_value(json_object_get(o, "message"));
        if (first != NULL || msg != NULL)
            snprintf(ex, sizeof ex, "%s%s%s", msg ? msg : "", msg && first ? ": " : "",
                     first ? first : "");
        else
            sink_excerpt(body, len, ex, sizeof ex);
        snprintf(why, whylen, "HTTP %ld: %.200s", status, ex[0] ? ex : "(no body)");
        json_decref(o);
    }
    return r;
}

const struct sink_ops sink_pagerduty = {
    .name = "pagerduty",
    .fields = fields,
    .batch = false,
    .min_interval_ms = 0,
    .validate = pd_validate,
    .format = pd_format,
    .parse = pd_parse,
};
