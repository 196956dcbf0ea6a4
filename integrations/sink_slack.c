/* Slack incoming webhooks: one Block Kit message per event, with a text fallback (wire-formats.md
 * section 1). The whole webhook URL is the credential. Slack answers 200 "ok"; any other 200 body
 * is not a delivery. Limits honoured: header 150, section text 3000, fields 10 x 2000, button
 * text 75, url 3000. */
#include "integrations/sink.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_MAX 150
#define TEXT_MAX 3000
#define FIELD_MAX 2000
#define MAX_FIELDS 10
#define MAX_FUNCTIONS 10

static const struct sink_field fields[] = {
    {"webhook_url", SINK_F_URL, true, true, 2048},
    {NULL, 0, false, false, 0},
};

/* Cuts s to at most max bytes on a UTF-8 boundary, with an ellipsis when cut, into out. */
static void clip(const char *s, size_t max, char *out, size_t outlen)
{
    size_t n = strlen(s);

    if (max >= outlen)
        max = outlen - 1;
    if (n <= max) {
        memcpy(out, s, n + 1);
        return;
    }
    n = max >= 3 ? max - 3 : 0;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    memcpy(out, s, n);
    memcpy(out + n, "...", 4);
}

/* Escapes Slack's three control characters (&, <, >) for mrkdwn text, clipped to max bytes. */
static void mrkdwn(const char *s, size_t max, char *out, size_t outlen)
{
    size_t o = 0;

    if (max >= outlen)
        max = outlen - 1;
    for (; *s != '\0'; s++) {
        const char *rep = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : NULL;
        size_t rl = rep ? strlen(rep) : 1;
        if (o + rl + 3 > max) {
            while (o > 0 && ((unsigned char)out[o] & 0xC0) == 0x80)
                o--;
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (rep != NULL) {
            memcpy(out + o, rep, rl);
            o += rl;
        } else {
            out[o++] = *s;
        }
    }
    out[o] = '\0';
}

static const char *severity_emoji(const char *sev)
{
    if (strcmp(sev, "critical") == 0)
        return ":rotating_light:";
    if (strcmp(sev, "high") == 0)
        return ":red_circle:";
    if (strcmp(sev, "medium") == 0)
        return ":large_orange_circle:";
    return ":large_blue_circle:";
}

static json_t *mrkdwn_obj(const char *text)
{
    return json_pack("{s:s, s:s}", "type", "mrkdwn", "text", text);
}

/* The counts as "name: n" lines and the functions as a list, as section fields. */
static void add_detail_fields(const struct sink_msg *m, json_t *fieldsarr)
{
    json_t *counts = json_object_get(m->payload, "counts");
    json_t *fns = json_object_get(m->payload, "functions");
    char buf[FIELD_MAX + 1], line[512];
    size_t o;

    if (json_is_object(counts) && json_object_size(counts) > 0) {
        const char *k;
        json_t *v;
        o = (size_t)snprintf(buf, sizeof buf, "*Counts:*");
        json_object_foreach(counts, k, v)
        {
            char esc[256];
            mrkdwn(k, 120, esc, sizeof esc);
            if (json_is_integer(v))
                snprintf(line, sizeof line, "\n%s: %lld", esc, (long long)json_integer_value(v));
            else if (json_is_real(v))
                snprintf(line, sizeof line, "\n%s: %g", esc, json_real_value(v));
            else if (json_is_string(v))
                snprintf(line, sizeof line, "\n%s: %.120s", esc, json_string_value(v));
            else
                continue;
            if (o + strlen(line) + 4 >= FIELD_MAX)
                break;
            memcpy(buf + o, line, strlen(line) + 1);
            o += strlen(line);
        }
        json_array_append_new(fieldsarr, mrkdwn_obj(buf));
    }
    if (json_is_array(fns) && json_array_size(fns) > 0) {
        size_t i, shown = 0;
        json_t *f;
        o = (size_t)snprintf(buf, sizeof buf, "*Affected functions (%zu):*", json_array_size(fns));
        json_array_foreach(fns, i, f)
        {
            const char *name = json_is_string(f) ? json_string_value(f)
                                                  : json_string_value(json_object_get(f, "name"));
            char esc[400];
            if (name == NULL)
                continue;
            if (shown == MAX_FUNCTIONS) {
                snprintf(line, sizeof line, "\n... and %zu more", json_array_size(fns) - shown);
            } else {
                mrkdwn(name, 380, esc, sizeof esc);
                snprintf(line, sizeof line, "\n`%s`", esc);
            }
            if (o + strlen(line) + 4 >= FIELD_MAX)
                break;
            memcpy(buf + o, line, strlen(line) + 1);
            o += strlen(line);
            if (shown++ == MAX_FUNCTIONS)
                break;
        }
        json_array_append_new(fieldsarr, mrkdwn_obj(buf));
    }
}

static enum err_code slack_format(const struct sink_msg *m, const struct sink_state *st,
                                  struct sink_req *out, struct err *err)
{
    char header[HEADER_MAX + 1], title[HEADER_MAX + 1], text[TEXT_MAX + 1], fallback[TEXT_MAX + 1];
    char link[2048], field[256], esc_title[1024], context[512], tmp[512];
    const char *summary = sink_pl(m, "summary");
    json_t *blocks, *section_fields, *msg;
    (void)st;

    clip(sink_title(m), HEADER_MAX - 40, title, sizeof title);
    snprintf(tmp, sizeof tmp, "%s %s: %s", severity_emoji(m->severity),
             sink_severity_label(m->severity), title);
    clip(tmp, HEADER_MAX, header, sizeof header);
    mrkdwn(sink_title(m), 900, esc_title, sizeof esc_title);
    snprintf(fallback, sizeof fallback, "[%s] %s: %s", sink_severity_label(m->severity),
             sink_event_label(m->event), esc_title);
    if (summary[0] != '\0')
        mrkdwn(summary, TEXT_MAX, text, sizeof text);
    else
        snprintf(text, sizeof text, "%s", esc_title);
    sink_link(m, link, sizeof link);

    section_fields = json_array();
    snprintf(field, sizeof field, "*Severity:*\n%s", sink_severity_label(m->severity));
    json_array_append_new(section_fields, mrkdwn_obj(field));
    snprintf(field, sizeof field, "*Event:*\n%s", sink_event_label(m->event));
    json_array_append_new(section_fields, mrkdwn_obj(field));
    add_detail_fields(m, section_fields);

    snprintf(context, sizeof context, "%s `%s` \xc2\xb7 Parapet",
             strncmp(m->event, "finding.", 8) == 0 ? "Finding" : "Incident", m->subject_id);
    blocks = json_pack(
        "[{s:s, s:{s:s, s:s, s:b}}, {s:s, s:o, s:o}, {s:s, s:[o]},"
        " {s:s, s:[{s:s, s:s, s:s, s:{s:s, s:s}, s:s}]}]",
        "type", "header", "text", "type", "plain_text", "text", header, "emoji", 1,
        "type", "section", "text", mrkdwn_obj(text), "fields", section_fields,
        "type", "context", "elements", mrkdwn_obj(context),
        "type", "actions", "elements", "type", "button", "action_id", "view_in_parapet",
        "style", strcmp(m->severity, "critical") == 0 || strcmp(m->severity, "high") == 0
                     ? "danger" : "primary",
        "text", "type", "plain_text", "text",
        strncmp(m->event, "finding.", 8) == 0 ? "View finding" : "View incident", "url", link);
    msg = blocks ? json_pack("{s:s, s:o}", "text", fallback, "blocks", blocks) : NULL;
    out->method = "POST";
    if (snprintf(out->url, sizeof out->url, "%s", sink_cfg(m, "webhook_url")) >=
        (int)sizeof out->url)
        return err_set(err, ERR_INVALID, "the webhook URL is too long");
    if (sink_req_header(out, "Content-Type: application/json; charset=utf-8") != ERR_OK)
        return err_set(err, ERR_INTERNAL, "too many headers");
    return sink_req_json(out, msg, err);
}

static enum sink_result slack_parse(const struct sink_msg *m, struct sink_state *st, long status,
                                    const char *body, size_t len, char *why, size_t whylen)
{
    enum sink_result r = sink_classify(status);
    (void)m;
    (void)st;

    if (r == SINK_DELIVERED && !(len == 2 && memcmp(body, "ok", 2) == 0)) {
        snprintf(why, whylen, "Slack answered %ld without \"ok\"", status);
        return SINK_RETRY;
    }
    if (r != SINK_DELIVERED) {
        char ex[256];
        sink_excerpt(body, len, ex, sizeof ex);
        snprintf(why, whylen, "HTTP %ld: %s", status, ex[0] ? ex : "(no body)");
    }
    return r;
}

const struct sink_ops sink_slack = {
    .name = "slack",
    .fields = fields,
    .batch = false,
    .min_interval_ms = 1000,
    .validate = NULL,
    .format = slack_format,
    .parse = slack_parse,
};
