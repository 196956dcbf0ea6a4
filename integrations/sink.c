/* The sink registry and the helpers every sink shares. */
#include "integrations/sink.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct sink_ops *const sinks[] = {&sink_slack, &sink_pagerduty, &sink_jira,
                                               &sink_splunk};

const struct sink_ops *sink_find(const char *kind)
{
    for (size_t i = 0; kind != NULL && i < sizeof sinks / sizeof sinks[0]; i++)
        if (strcmp(sinks[i]->name, kind) == 0)
            return sinks[i];
    return NULL;
}

const struct sink_field *sink_field_find(const struct sink_ops *ops, const char *name)
{
    for (const struct sink_field *f = ops->fields; f->name != NULL; f++)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

enum err_code sink_req_header(struct sink_req *r, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (r->nheaders >= SINK_MAX_HEADERS)
        return ERR_INVALID;
    va_start(ap, fmt);
    n = vsnprintf(r->headers[r->nheaders], sizeof r->headers[0], fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof r->headers[0])
        return ERR_INVALID;
    r->nheaders++;
    return ERR_OK;
}

enum err_code sink_req_json(struct sink_req *r, json_t *obj, struct err *err)
{
    char *s = obj != NULL ? json_dumps(obj, JSON_COMPACT) : NULL;

    json_decref(obj);
    if (s == NULL)
        return err_set(err, ERR_NOMEM, "out of memory");
    free(r->body);
    r->body = s;
    r->body_len = strlen(s);
    return ERR_OK;
}

void sink_req_clear(struct sink_req *r)
{
    if (r == NULL)
        return;
    free(r->body);
    r->body = NULL;
    r->body_len = 0;
}

enum sink_result sink_classify(long status)
{
    if (status >= 200 && status < 300)
        return SINK_DELIVERED;
    if (status == 408 || status == 425 || status == 429 || status >= 500 || status < 100)
        return SINK_RETRY;
    return SINK_REJECTED;
}

void sink_excerpt(const char *body, size_t len, char *why, size_t whylen)
{
    size_t o = 0;

    if (whylen == 0)
        return;
    for (size_t i = 0; i < len && o + 1 < whylen && o < 200; i++) {
        unsigned char c = (unsigned char)body[i];
        why[o++] = (c >= 0x20 && c < 0x7F) ? (char)c : ' ';
    }
    while (o > 0 && why[o - 1] == ' ')
        o--;
    why[o] = '\0';
}

const char *sink_cfg(const struct sink_msg *m, const char *name)
{
    const char *v = json_string_value(json_object_get(m->config, name));
    return v ? v : "";
}

const char *sink_pl(const struct sink_msg *m, const char *name)
{
    const char *v = json_string_value(json_object_get(m->payload, name));
    return v ? v : "";
}

const char *sink_event_label(const char *event)
{
    static const struct {
        const char *event, *label;
    } labels[] = {
        {"finding.opened", "Finding opened"},         {"incident.opened", "Incident opened"},
        {"incident.escalated", "Incident escalated"}, {"incident.resolved", "Incident resolved"},
        {"test", "Test notification"},
    };
    for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++)
        if (strcmp(labels[i].event, event) == 0)
            return labels[i].label;
    return "Notification";
}

const char *sink_severity_label(const char *severity)
{
    static const char *const names[][2] = {{"critical", "Critical"}, {"high", "High"},
                                           {"medium", "Medium"},     {"low", "Low"},
                                           {"info", "Info"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(names[i][0], severity) == 0)
            return names[i][1];
    return "Unknown";
}

const char *sink_title(const struct sink_msg *m)
{
    const char *t = sink_pl(m, "title");
    if (t[0] != '\0')
        return t;
    return strcmp(m->event, "test") == 0 ? "Parapet test notification"
                                         : sink_event_label(m->event);
}

void sink_link(const struct sink_msg *m, char *out, size_t n)
{
    const char *l = sink_pl(m, "link");

    if (strncmp(l, "https://", 8) == 0 || strncmp(l, "http://", 7) == 0) {
        snprintf(out, n, "%s", l);
        return;
    }
    if (strcmp(m->event, "test") == 0) {
        snprintf(out, n, "%s/integrations/%s", m->dashboard, m->integration_id);
        return;
    }
    snprintf(out, n, "%s/%s/%s", m->dashboard,
             strncmp(m->event, "finding.", 8) == 0 ? "findings" : "incidents", m->subject_id);
}
