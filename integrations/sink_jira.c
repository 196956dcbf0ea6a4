/* JIRA Cloud (REST v2 and v3) and Data Center (v2 with a personal access token), wire-formats.md
 * section 3. One issue per incident or finding: the open event creates it (v3 description in
 * Atlassian Document Format, v2 in wiki markup), an escalation comments on it, the resolution
 * moves it through the configured transition (by name, else the first one into the "done"
 * category). The issue key is remembered per subject (table jira_issues), so a second issue is
 * never created for the same incident; a test reads the project. */
#include "integrations/sink.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SUMMARY_MAX 255

static const struct sink_field fields[] = {
    {"base_url", SINK_F_URL, true, false, 1024},
    {"user", SINK_F_STRING, false, false, 254},
    {"api_token", SINK_F_STRING, false, true, 512},
    {"pat", SINK_F_STRING, false, true, 512},
    {"project_key", SINK_F_STRING, true, false, 32},
    {"issue_type", SINK_F_STRING, false, false, 64},
    {"api_version", SINK_F_INT, false, false, 0},
    {"resolve_transition", SINK_F_STRING, false, false, 64},
    {NULL, 0, false, false, 0},
};

static long api_version(const json_t *config)
{
    json_t *v = json_object_get(config, "api_version");
    if (json_is_integer(v))
        return (long)json_integer_value(v);
    return json_object_get(config, "pat") != NULL ? 2 : 3;
}

static enum err_code jira_validate(const json_t *config, struct err *err)
{
    bool token = json_object_get(config, "api_token") != NULL;
    bool pat = json_object_get(config, "pat") != NULL;
    const char *key = json_string_value(json_object_get(config, "project_key"));
    const char *user = json_string_value(json_object_get(config, "user"));
    long v = api_version(config);

    if (token == pat)
        return err_set_field(err, ERR_INVALID, "config.api_token",
                             "give either api_token (with user, JIRA Cloud) or pat (Data Center)");
    if (token && (user == NULL || strchr(user, '@') == NULL))
        return err_set_field(err, ERR_INVALID, "config.user",
                             "user must be the Atlassian account email that owns the api_token");
    if (v != 2 && v != 3)
        return err_set_field(err, ERR_INVALID, "config.api_version", "api_version must be 2 or 3");
    if (pat && v != 2)
        return err_set_field(err, ERR_INVALID, "config.api_version",
                             "Data Center (pat) speaks only REST API version 2");
    if (key == NULL || key[0] < 'A' || key[0] > 'Z' ||
        strspn(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != strlen(key))
        return err_set_field(err, ERR_INVALID, "config.project_key",
                             "project_key must be a JIRA project key such as SEC");
    return ERR_OK;
}

static enum err_code auth_header(const struct sink_msg *m, struct sink_req *out, struct err *err)
{
    const char *pat = sink_cfg(m, "pat");
    char cred[800];
    unsigned char b64[1100];
    int n;

    if (pat[0] != '\0') {
        if (sink_req_header(out, "Authorization: Bearer %s", pat) != ERR_OK)
            return err_set(err, ERR_INVALID, "the personal access token is too long");
        return ERR_OK;
    }
    n = snprintf(cred, sizeof cred, "%s:%s", sink_cfg(m, "user"), sink_cfg(m, "api_token"));
    if (n < 0 || (size_t)n >= sizeof cred)
        return err_set(err, ERR_INVALID, "the JIRA credentials are too long");
    EVP_EncodeBlock(b64, (const unsigned char *)cred, n);
    memset(cred, 0, sizeof cred);
    if (sink_req_header(out, "Authorization: Basic %s", (const char *)b64) != ERR_OK)
        return err_set(err, ERR_INVALID, "the JIRA credentials are too long");
    return ERR_OK;
}

static enum err_code base_request(const struct sink_msg *m, struct sink_req *out,
                                  const char *method, const char *path, struct err *err)
{
    const char *base = sink_cfg(m, "base_url");
    size_t bl = strlen(base);
    enum err_code rc;

    while (bl > 0 && base[bl - 1] == '/')
        bl--;
    out->method = method;
    if (snprintf(out->url, sizeof out->url, "%.*s/rest/api/%ld%s", (int)bl, base,
                 api_version(m->config), path) >= (int)sizeof out->url)
        return err_set(err, ERR_INVALID, "the JIRA URL is too long");
    rc = auth_header(m, out, err);
    if (rc == ERR_OK && sink_req_header(out, "Accept: application/json") != ERR_OK)
        rc = err_set(err, ERR_INTERNAL, "too many headers");
    if (rc == ERR_OK && strcmp(method, "GET") != 0 &&
        sink_req_header(out, "Content-Type: application/json") != ERR_OK)
        rc = err_set(err, ERR_INTERNAL, "too many headers");
    return rc;
}

/* Wiki markup (v2): brackets, braces and pipes in our text would be read as markup. */
static void wiki_escape(const char *s, char *out, size_t n)
{
    size_t o = 0;
    for (; *s != '\0' && o + 3 < n; s++) {
        if (strchr("[]{}|", *s) != NULL)
            out[o++] = '\\';
        out[o++] = *s;
    }
    out[o] = '\0';
}

static json_t *adf_text(const char *text, const char *mark, const char *href)
{
    json_t *t = json_pack("{s:s, s:s}", "type", "text", "text", text[0] ? text : " ");
    if (href != NULL)
        json_object_set_new(t, "marks",
                            json_pack("[{s:s, s:{s:s}}]", "type", "link", "attrs", "href", href));
    else if (mark != NULL)
        json_object_set_new(t, "marks", json_pack("[{s:s}]", "type", mark));
    return t;
}

static json_t *adf_para(json_t *content /* stolen array */)
{
    return json_pack("{s:s, s:o}", "type", "paragraph", "content", content);
}

/* The description (or comment) of the message: v3 ADF document, v2 wiki markup string. */
static json_t *describe(const struct sink_msg *m, const char *lead, bool adf)
{
    const char *summary = sink_pl(m, "summary");
    json_t *counts = json_object_get(m->payload, "counts");
    json_t *fns = json_object_get(m->payload, "functions");
    char link[2048], buf[8192], esc[4096], line[600];
    size_t o = 0, i;
    const char *k;
    json_t *v;

    sink_link(m, link, sizeof link);
    if (adf) {
        json_t *content = json_array();
        json_array_append_new(content, adf_para(json_pack("[o]", adf_text(lead, "strong", NULL))));
        if (summary[0] != '\0')
            json_array_append_new(content, adf_para(json_pack("[o]", adf_text(summary, NULL, NULL))));
        json_array_append_new(content,
                              adf_para(json_pack("[o, o]", adf_text("Severity: ", "strong", NULL),
                                                 adf_text(sink_severity_label(m->severity), NULL,
                                                          NULL))));
        if (json_is_object(counts) && json_object_size(counts) > 0) {
            json_t *items = json_array();
            json_object_foreach(counts, k, v)
            {
                if (json_is_integer(v))
                    snprintf(line, sizeof line, "%.200s: %lld", k,
                             (long long)json_integer_value(v));
                else if (json_is_string(v))
                    snprintf(line, sizeof line, "%.200s: %.200s", k, json_string_value(v));
                else
                    continue;
                json_array_append_new(items, json_pack("{s:s, s:[o]}", "type", "listItem",
                                                       "content",
                                                       adf_para(json_pack("[o]", adf_text(
                                                                              line, NULL, NULL)))));
            }
            if (json_array_size(items) > 0)
                json_array_append_new(content, json_pack("{s:s, s:o}", "type", "bulletList",
                                                         "content", items));
            else
                json_decref(items);
        }
        if (json_is_array(fns) && json_array_size(fns) > 0) {
            json_t *para = json_array();
            json_array_append_new(para, adf_text("Affected functions: ", "strong", NULL));
            json_array_foreach(fns, i, v)
            {
                const char *name = json_is_string(v) ? json_string_value(v)
                                                      : json_string_value(json_object_get(v, "name"));
                if (name == NULL || i >= 20)
                    continue;
                if (json_array_size(para) > 1)
                    json_array_append_new(para, adf_text(", ", NULL, NULL));
                json_array_append_new(para, adf_text(name, "code", NULL));
            }
            json_array_append_new(content, adf_para(para));
        }
        json_array_append_new(content,
                              adf_para(json_pack("[o]", adf_text("View in Parapet", NULL, link))));
        return json_pack("{s:i, s:s, s:o}", "version", 1, "type", "doc", "content", content);
    }
    wiki_escape(lead, esc, sizeof esc);
    o += (size_t)snprintf(buf + o, sizeof buf - o, "*%s*\n", esc);
    if (summary[0] != '\0') {
        wiki_escape(summary, esc, sizeof esc);
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%s\n", esc);
    }
    o += (size_t)snprintf(buf + o, sizeof buf - o, "*Severity:* %s\n",
                          sink_severity_label(m->severity));
    if (json_is_object(counts)) {
        json_object_foreach(counts, k, v)
        {
            if (o + 300 >= sizeof buf)
                break;
            wiki_escape(k, esc, 256);
            if (json_is_integer(v))
                o += (size_t)snprintf(buf + o, sizeof buf - o, "* %s: %lld\n", esc,
                                      (long long)json_integer_value(v));
        }
    }
    if (json_is_array(fns) && json_array_size(fns) > 0 && o + 40 < sizeof buf) {
        o += (size_t)snprintf(buf + o, sizeof buf - o, "*Affected functions:*");
        json_array_foreach(fns, i, v)
        {
            const char *name = json_is_string(v) ? json_string_value(v)
                                                  : json_string_value(json_object_get(v, "name"));
            if (name == NULL || i >= 20 || o + 300 >= sizeof buf)
                continue;
            wiki_escape(name, esc, 256);
            o += (size_t)snprintf(buf + o, sizeof buf - o, "%s {{%s}}", i ? "," : "", esc);
        }
        o += (size_t)snprintf(buf + o, sizeof buf - o, "\n");
    }
    if (o + strlen(link) + 32 < sizeof buf)
        snprintf(buf + o, sizeof buf - o, "[View in Parapet|%s]", link);
    return json_string(buf);
}

static enum err_code jira_format(const struct sink_msg *m, const struct sink_state *st,
                                 struct sink_req *out, struct err *err)
{
    bool adf = api_version(m->config) == 3;
    const char *key = st->issue_key[0] ? st->issue_key : m->issue_key;
    char path[256], summary[SUMMARY_MAX + 1], lead[512];
    enum err_code rc;
    json_t *body;

    if (strcmp(m->event, "test") == 0) {
        snprintf(path, sizeof path, "/project/%s", sink_cfg(m, "project_key"));
        return base_request(m, out, "GET", path, err);
    }
    if (key == NULL || key[0] == '\0') {
        if (strcmp(m->event, "incident.resolved") == 0) {
            out->method = NULL; /* nothing was opened, nothing to resolve */
            return ERR_OK;
        }
        int n = snprintf(summary, sizeof summary, "[%s] %s", sink_severity_label(m->severity),
                         sink_title(m));
        if (n >= (int)sizeof summary) {
            size_t cut = SUMMARY_MAX - 3;
            while (cut > 0 && ((unsigned char)summary[cut] & 0xC0) == 0x80)
                cut--;
            memcpy(summary + cut, "...", 4);
        }
        snprintf(lead, sizeof lead, "%s in Parapet", sink_event_label(m->event));
        rc = base_request(m, out, "POST", "/issue", err);
        if (rc != ERR_OK)
            return rc;
        {
            char sevlabel[32];
            snprintf(sevlabel, sizeof sevlabel, "severity-%s", m->severity);
            body = json_pack("{s:{s:{s:s}, s:{s:s}, s:s, s:o, s:[s, s]}}", "fields", "project",
                             "key", sink_cfg(m, "project_key"), "issuetype", "name",
                             sink_cfg(m, "issue_type")[0] ? sink_cfg(m, "issue_type") : "Task",
                             "summary", summary, "description", describe(m, lead, adf), "labels",
                             "parapet", sevlabel);
        }
        return sink_req_json(out, body, err);
    }
    if (strcmp(m->event, "incident.resolved") != 0) {
        /* An issue exists: escalations (and a repeated open) become a comment. */
        snprintf(lead, sizeof lead, "%s: now %s", sink_event_label(m->event),
                 sink_severity_label(m->severity));
        snprintf(path, sizeof path, "/issue/%s/comment", key);
        rc = base_request(m, out, "POST", path, err);
        if (rc != ERR_OK)
            return rc;
        return sink_req_json(out, json_pack("{s:o}", "body", describe(m, lead, adf)), err);
    }
    snprintf(path, sizeof path, "/issue/%s/transitions", key);
    if (st->step == 0)
        return base_request(m, out, "GET", path, err);
    rc = base_request(m, out, "POST", path, err);
    if (rc != ERR_OK)
        return rc;
    body = json_pack("{s:{s:s}, s:{s:[{s:{s:o}}]}}", "transition", "id", st->transition_id,
                     "update", "comment", "add", "body", describe(m, "Resolved in Parapet", adf));
    return sink_req_json(out, body, err);
}

/* Finds the transition to take: by the configured name, else the first into "done". */
static bool pick_transition(const struct sink_msg *m, const char *body, size_t len, char *id,
                            size_t idlen)
{
    const char *want = sink_cfg(m, "resolve_transition");
    json_t *o = json_loadb(body, len, 0, NULL);
    json_t *list = json_object_get(o, "transitions"), *t;
    size_t i;
    bool found = false;

    json_array_foreach(list, i, t)
    {
        const char *name = json_string_value(json_object_get(t, "name"));
        const char *tid = json_string_value(json_object_get(t, "id"));
        const char *cat = json_string_value(json_object_get(
            json_object_get(json_object_get(t, "to"), "statusCategory"), "key"));
        if (tid == NULL)
            continue;
        if (want[0] != '\0' ? (name != NULL && strcasecmp(name, want) == 0)
                            : (cat != NULL && strcmp(cat, "done") == 0)) {
            snprintf(id, idlen, "%s", tid);
            found = true;
            break;
        }
    }
    json_decref(o);
    return found;
}

static void jira_why(long status, const char *body, size_t len, char *why, size_t whylen)
{
    json_t *o = json_loadb(body, len, 0, NULL);
    const char *first = json_string_value(json_array_get(json_object_get(o, "errorMessages"), 0));
    const char *field = NULL, *msg = NULL;
    char ex[256];

    if (first == NULL && json_is_object(json_object_get(o, "errors"))) {
        json_t *v;
        json_object_foreach(json_object_get(o, "errors"), field, v)
        {
            msg = json_string_value(v);
            break;
        }
    }
    if (first != NULL)
        snprintf(ex, sizeof ex, "%s", first);
    else if (msg != NULL)
        snprintf(ex, sizeof ex, "%s: %s", field, msg);
    else
        sink_excerpt(body, len, ex, sizeof ex);
    snprintf(why, whylen, "HTTP %ld: %.200s", status, ex[0] ? ex : "(no body)");
    json_decref(o);
}

static enum sink_result jira_parse(const struct sink_msg *m, struct sink_state *st, long status,
                                   const char *body, size_t len, char *why, size_t whylen)
{
    enum sink_result r = sink_classify(status);
    const char *key = st->issue_key[0] ? st->issue_key : m->issue_key;

    if (r != SINK_DELIVERED) {
        jira_why(status, body, len, why, whylen);
        return r;
    }
    if (strcmp(m->event, "test") == 0)
        return SINK_DELIVERED;
    if (key == NULL || key[0] == '\0') {
        /* The create answered: remember the key. */
        json_t *o = json_loadb(body, len, 0, NULL);
        const char *k = json_string_value(json_object_get(o, "key"));
        bool ok = status == 201 && k != NULL && strlen(k) < sizeof st->issue_key &&
                  strchr(k, '-') != NULL && strspn(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == strlen(k);
        if (ok) {
            snprintf(st->issue_key, sizeof st->issue_key, "%s", k);
            st->remember = true;
        }
        json_decref(o);
        if (!ok) {
            snprintf(why, whylen, "JIRA answered %ld to the create without an issue key", status);
            return SINK_RETRY;
        }
        return SINK_DELIVERED;
    }
    if (strcmp(m->event, "incident.resolved") == 0 && st->step == 0) {
        if (!pick_transition(m, body, len, st->transition_id, sizeof st->transition_id)) {
            snprintf(why, whylen, "issue %s has no transition %s%s", key,
                     sink_cfg(m, "resolve_transition")[0] ? "named " : "into the done category",
                     sink_cfg(m, "resolve_transition"));
            return SINK_REJECTED;
        }
        st->step = 1;
        return SINK_NEXT;
    }
    return SINK_DELIVERED;
}

const struct sink_ops sink_jira = {
    .name = "jira",
    .fields = fields,
    .batch = false,
    .min_interval_ms = 0,
    .validate = jira_validate,
    .format = jira_format,
    .parse = jira_parse,
};
