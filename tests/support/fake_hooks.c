/* fake_hooks - strict fakes of the four notification destinations, in one process, for the
 * integration tests and the notification benchmark (wire-formats.md sections 1-4):
 *   Slack incoming webhooks      POST /services/T.../B.../<secret>
 *   PagerDuty Events API v2      POST /v2/enqueue
 *   JIRA REST v2 / v3            /rest/api/{2,3}/issue[...], /rest/api/{2,3}/project/KEY
 *   Splunk HTTP Event Collector  POST /services/collector[/event[/1.0]]
 *
 *   fake_hooks --port N [--log FILE] [--pd-key KEY] [--jira-user EMAIL --jira-token TOKEN]
 *              [--jira-pat PAT] [--jira-project KEY] [--splunk-token TOKEN]
 *              [--splunk-index NAME]... [--quiet-log]
 *
 * Listens on 127.0.0.1:N (0 = a free port) and prints "port=N" as the first line on stdout,
 * flushed, once it accepts connections. SIGTERM or SIGINT stops it; exit 0. Exit 2 on bad usage,
 * 1 when it cannot listen. One thread per connection, so a hanging answer holds only its own.
 *
 * Control: POST /_control {"target": "slack"|"pagerduty"|"jira"|"splunk"|"all", "mode": "ok" |
 * "fail" | "throttle" | "hang" | "huge" | "garbage", "status": N (fail; default 500),
 * "retry_after": S (throttle; default 1), "hang_s": S (hang; default 30), "times": N (how many
 * requests; 0 or absent = until changed)} answers 204. Modes: fail answers status with the
 * target's own error body; throttle 429 with Retry-After; hang waits hang_s before answering;
 * huge answers 200 with a 50 MB body; garbage answers 200 with bytes that are not the target's
 * success body.
 *
 * Strictness (the documented formats; "fake:" marks stricter choices):
 * - Slack: fake: Content-Type application/json; a JSON object with a non-empty "text" (400
 *   no_text); "blocks" at most 50 of header (plain_text <= 150), section (text <= 3000 or fields
 *   <= 10 x 2000), context (<= 10 elements), actions (<= 25; buttons text <= 75, url <= 3000,
 *   action_id <= 255) or divider, else 400 invalid_blocks; unparseable 400 invalid_payload.
 *   200 "ok" (text/html).
 * - PagerDuty: JSON; routing_key of 32 characters (and --pd-key when given), event_action
 *   trigger|acknowledge|resolve, dedup_key <= 255 (required but for trigger), trigger payload
 *   with summary (<= 1024), source and severity critical|error|warning|info; body <= 512 KB.
 *   400 {"status":"invalid event","message":"Event object is invalid","errors":[...]}; 202
 *   {"status":"success","message":"Event processed","dedup_key":...}.
 * - JIRA: Authorization Basic base64(user:token) (Cloud) or Bearer PAT (Data Center: v2 only),
 *   else 401 in plain text; Accept: application/json; Content-Type application/json with a body;
 *   create needs fields.project.key (--jira-project, default SEC), issuetype.name, summary
 *   (<= 255), labels without spaces, and a description that is a string on v2 and an Atlassian
 *   Document Format document on v3 (version 1, type doc, block nodes of known types, text nodes
 *   with non-empty text and known marks); comments the same; transitions 11 To Do, 21 In
 *   Progress, 31 Done (category done); unknown issues 404; errors in ErrorCollection form.
 * - Splunk: Authorization "Splunk <token>" (401 code 2 when missing, 403 code 4 when wrong);
 *   concatenated JSON envelopes, each with a non-empty "event" (codes 12, 13), flat "fields"
 *   (code 15), an allowed "index" (code 7), a numeric "time"; 400 code 6 with
 *   invalid-event-number otherwise; 200 {"text":"Success","code":0}.
 *
 * Log (--log): one JSON object per request, appended with one write():
 *   {"target":..,"method":..,"path":..,"status":N,"mode":..,"body":<the parsed request, secrets
 *    (routing_key) removed>,"events":[Splunk envelopes],"key":"SEC-1" (JIRA create)}
 * A Slack path is logged with its last segment (the secret) replaced by three stars.
 *
 * Threading: a mutex guards the modes, JIRA's issues and the log. */
#define _DEFAULT_SOURCE 1 /* usleep */
#include "tests/support/lib/fake_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MAX_BODY (1024 * 1024)
#define PD_MAX_BODY (512 * 1024)
#define HUGE_BODY ((size_t)50 * 1024 * 1024)
#define MAX_ISSUES 4096
#define MAX_INDEXES 8

enum target { T_SLACK, T_PD, T_JIRA, T_SPLUNK, T_CONTROL, T_NONE, T__COUNT };
static const char *const target_names[] = {"slack", "pagerduty", "jira", "splunk", "control",
                                           "none"};

enum mode { M_OK, M_FAIL, M_THROTTLE, M_HANG, M_HUGE, M_GARBAGE };
static const char *const mode_names[] = {"ok", "fail", "throttle", "hang", "huge", "garbage"};

struct mode_state {
    enum mode mode;
    int status;
    int retry_after;
    int hang_s;
    int times; /* 0 = until changed */
};

struct issue {
    char key[32];
    int status; /* 11, 21, 31 */
    int comments;
};

struct fake {
    const char *pd_key, *jira_user, *jira_token, *jira_pat, *jira_project, *splunk_token;
    const char *indexes[MAX_INDEXES];
    size_t nindexes;
    struct mode_state modes[T__COUNT];
    struct issue issues[MAX_ISSUES];
    size_t nissues;
    int log_fd;
    pthread_mutex_t mu;
};

static atomic_bool stopping;

/* On SIGTERM: hanging answers give up at once, so the daemon can stop. */
static void stop_hanging(void)
{
    atomic_store(&stopping, true);
}

struct req {
    char *body;
    size_t len;
    bool too_big;
};

/* ---- responses ---- */

static enum MHD_Result send_buf(struct MHD_Connection *conn, unsigned status, const char *type,
                                char *owned, size_t len, const char *retry_after)
{
    struct MHD_Response *r;
    enum MHD_Result ret;

    if (owned == NULL)
        return MHD_NO;
    r = MHD_create_response_from_buffer_with_free_callback(len, owned, free);
    if (r == NULL) {
        free(owned);
        return MHD_NO;
    }
    if (type != NULL)
        MHD_add_response_header(r, "Content-Type", type);
    if (retry_after != NULL)
        MHD_add_response_header(r, "Retry-After", retry_after);
    ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_text(struct MHD_Connection *conn, unsigned status, const char *type,
                                 const char *text)
{
    char *s = strdup(text);
    return send_buf(conn, status, type, s, s ? strlen(s) : 0, NULL);
}

static ssize_t huge_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)cls;
    if (pos >= HUGE_BODY)
        return MHD_CONTENT_READER_END_OF_STREAM;
    size_t n = HUGE_BODY - (size_t)pos < max ? HUGE_BODY - (size_t)pos : max;
    memset(buf, 'x', n);
    return (ssize_t)n;
}

/* ---- the log ---- */

static void log_line(struct fake *f, json_t *o)
{
    char *line;

    if (f->log_fd < 0 || o == NULL) {
        json_decref(o);
        return;
    }
    line = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (line != NULL) {
        size_t n = strlen(line);
        char *buf = malloc(n + 2);
        if (buf != NULL) {
            memcpy(buf, line, n);
            buf[n] = '\n';
            if (write(f->log_fd, buf, n + 1) < 0)
                fprintf(stderr, "fake_hooks: log write failed\n");
            free(buf);
        }
    }
    free(line);
}

/* ---- checks ---- */

static bool header_is(struct MHD_Connection *conn, const char *name, const char *prefix)
{
    const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
    return v != NULL && strncasecmp(v, prefix, strlen(prefix)) == 0;
}

static bool str_ok(const json_t *v, size_t max)
{
    return json_is_string(v) && json_string_length(v) > 0 && json_string_length(v) <= max;
}

static bool text_obj_ok(const json_t *t, size_t max, bool plain_only)
{
    const char *type = json_string_value(json_object_get(t, "type"));
    if (type == NULL || (strcmp(type, "plain_text") != 0 &&
                         (plain_only || strcmp(type, "mrkdwn") != 0)))
        return false;
    return str_ok(json_object_get(t, "text"), max);
}

static bool slack_blocks_ok(const json_t *blocks)
{
    size_t i, j;
    json_t *b, *e;

    if (blocks == NULL)
        return true;
    if (!json_is_array(blocks) || json_array_size(blocks) > 50)
        return false;
    json_array_foreach(blocks, i, b)
    {
        const char *type = json_string_value(json_object_get(b, "type"));
        if (type == NULL)
            return false;
        if (strcmp(type, "header") == 0) {
            if (!text_obj_ok(json_object_get(b, "text"), 150, true))
                return false;
        } else if (strcmp(type, "section") == 0) {
            json_t *text = json_object_get(b, "text"), *fields = json_object_get(b, "fields");
            if (text == NULL && fields == NULL)
                return false;
            if (text != NULL && !text_obj_ok(text, 3000, false))
                return false;
            if (fields != NULL) {
                if (!json_is_array(fields) || json_array_size(fields) > 10)
                    return false;
                json_array_foreach(fields, j, e) if (!text_obj_ok(e, 2000, false)) return false;
            }
        } else if (strcmp(type, "context") == 0) {
            json_t *els = json_object_get(b, "elements");
            if (!json_is_array(els) || json_array_size(els) == 0 || json_array_size(els) > 10)
                return false;
            json_array_foreach(els, j, e) if (!text_obj_ok(e, 3000, false)) return false;
        } else if (strcmp(type, "actions") == 0) {
            json_t *els = json_object_get(b, "elements");
            if (!json_is_array(els) || json_array_size(els) == 0 || json_array_size(els) > 25)
                return false;
            json_array_foreach(els, j, e)
            {
                const char *et = json_string_value(json_object_get(e, "type"));
                json_t *aid = json_object_get(e, "action_id");
                if (et == NULL || strcmp(et, "button") != 0 ||
                    !text_obj_ok(json_object_get(e, "text"), 75, true) ||
                    (json_object_get(e, "url") != NULL &&
                     !str_ok(json_object_get(e, "url"), 3000)) ||
                    (aid != NULL && !str_ok(aid, 255)))
                    return false;
            }
        } else if (strcmp(type, "divider") != 0) {
            return false;
        }
    }
    return true;
}

/* ADF: a doc of block nodes whose inline content is text with known marks. */
static bool adf_inline_ok(const json_t *content)
{
    size_t i, j;
    json_t *n, *m;

    if (!json_is_array(content))
        return false;
    json_array_foreach(content, i, n)
    {
        const char *type = json_string_value(json_object_get(n, "type"));
        if (type == NULL)
            return false;
        if (strcmp(type, "hardBreak") == 0)
            continue;
        if (strcmp(type, "text") != 0 || !str_ok(json_object_get(n, "text"), 32767))
            return false;
        json_array_foreach(json_object_get(n, "marks"), j, m)
        {
            const char *mt = json_string_value(json_object_get(m, "type"));
            if (mt == NULL)
                return false;
            if (strcmp(mt, "link") == 0) {
                if (!str_ok(json_object_get(json_object_get(m, "attrs"), "href"), 3000))
                    return false;
            } else if (strcmp(mt, "strong") != 0 && strcmp(mt, "code") != 0 &&
                       strcmp(mt, "em") != 0) {
                return false;
            }
        }
    }
    return true;
}

static bool adf_blocks_ok(const json_t *content, int depth)
{
    size_t i;
    json_t *n;

    if (!json_is_array(content) || depth > 4)
        return false;
    json_array_foreach(content, i, n)
    {
        const char *type = json_string_value(json_object_get(n, "type"));
        json_t *c = json_object_get(n, "content");
        if (type == NULL)
            return false;
        if (strcmp(type, "paragraph") == 0 || strcmp(type, "heading") == 0) {
            if (c != NULL && !adf_inline_ok(c))
                return false;
        } else if (strcmp(type, "bulletList") == 0 || strcmp(type, "orderedList") == 0) {
            size_t j;
            json_t *li;
            if (!json_is_array(c) || json_array_size(c) == 0)
                return false;
            json_array_foreach(c, j, li)
            {
                const char *lt = json_string_value(json_object_get(li, "type"));
                if (lt == NULL || strcmp(lt, "listItem") != 0 ||
                    !adf_blocks_ok(json_object_get(li, "content"), depth + 1))
                    return false;
            }
        } else if (strcmp(type, "rule") != 0) {
            return false;
        }
    }
    return true;
}

static bool adf_doc_ok(const json_t *doc)
{
    return json_is_object(doc) && json_integer_value(json_object_get(doc, "version")) == 1 &&
           json_is_integer(json_object_get(doc, "version")) &&
           strcmp(json_string_value(json_object_get(doc, "type")) ? json_string_value(
                                                                        json_object_get(doc, "type"))
                                                                  : "",
                  "doc") == 0 &&
           adf_blocks_ok(json_object_get(doc, "content"), 0);
}

/* ---- targets ---- */

struct answer {
    unsigned status;
    const char *type;
    char *body; /* owned */
    json_t *log; /* extra log fields (owned) */
};

static void answer_text(struct answer *a, unsigned status, const char *type, const char *text)
{
    a->status = status;
    a->type = type;
    free(a->body);
    a->body = strdup(text);
}

static void answer_json(struct answer *a, unsigned status, json_t *o)
{
    a->status = status;
    a->type = "application/json";
    free(a->body);
    a->body = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
}

static void slack(struct fake *f, struct MHD_Connection *conn, const char *method,
                  const char *url, const struct req *r, struct answer *a)
{
    json_t *body;
    json_error_t je;
    (void)f;

    if (strcmp(method, "POST") != 0) {
        answer_text(a, 405, "text/html", "invalid_method");
        return;
    }
    {
        /* /services/T../B../secret: three non-empty segments. */
        const char *p = url + strlen("/services/");
        const char *s1 = strchr(p, '/'), *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
        if (s1 == NULL || s2 == NULL || s1 == p || s2 == s1 + 1 || s2[1] == '\0' ||
            strchr(s2 + 1, '/') != NULL) {
            answer_text(a, 404, "text/html", "no_service");
            return;
        }
    }
    if (!header_is(conn, "Content-Type", "application/json")) {
        answer_text(a, 400, "text/html", "invalid_payload");
        return;
    }
    body = json_loadb(r->body ? r->body : "", r->len, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(body)) {
        json_decref(body);
        answer_text(a, 400, "text/html", "invalid_payload");
        return;
    }
    a->log = json_pack("{s:O}", "body", body);
    if (!str_ok(json_object_get(body, "text"), 40000))
        answer_text(a, 400, "text/html", "no_text");
    else if (!slack_blocks_ok(json_object_get(body, "blocks")))
        answer_text(a, 400, "text/html", "invalid_blocks");
    else
        answer_text(a, 200, "text/html", "ok");
    json_decref(body);
}

static json_t *pd_invalid(const char *why)
{
    return json_pack("{s:s, s:s, s:[s]}", "status", "invalid event", "message",
                     "Event object is invalid", "errors", why);
}

static void pagerduty(struct fake *f, struct MHD_Connection *conn, const char *method,
                      const struct req *r, struct answer *a)
{
    json_t *body, *payload, *logged;
    const char *key, *action, *dedup;

    if (strcmp(method, "POST") != 0) {
        answer_json(a, 405, json_pack("{s:s}", "status", "method not allowed"));
        return;
    }
    if (r->len > PD_MAX_BODY) {
        answer_json(a, 413, pd_invalid("Payload too large"));
        return;
    }
    if (!header_is(conn, "Content-Type", "application/json")) {
        answer_json(a, 400, pd_invalid("Content-Type must be application/json"));
        return;
    }
    body = json_loadb(r->body ? r->body : "", r->len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(body)) {
        json_decref(body);
        answer_json(a, 400, pd_invalid("Invalid JSON"));
        return;
    }
    logged = json_deep_copy(body);
    json_object_del(logged, "routing_key");
    a->log = json_pack("{s:o}", "body", logged);
    key = json_string_value(json_object_get(body, "routing_key"));
    action = json_string_value(json_object_get(body, "event_action"));
    dedup = json_string_value(json_object_get(body, "dedup_key"));
    payload = json_object_get(body, "payload");
    if (key == NULL || strlen(key) != 32)
        answer_json(a, 400, pd_invalid("Length of 'routing_key' is incorrect (should be 32 "
                                       "characters)"));
    else if (f->pd_key != NULL && strcmp(key, f->pd_key) != 0)
        answer_json(a, 400, pd_invalid("Invalid routing key"));
    else if (action == NULL || (strcmp(action, "trigger") != 0 &&
                                strcmp(action, "acknowledge") != 0 &&
                                strcmp(action, "resolve") != 0))
        answer_json(a, 400, pd_invalid("'event_action' is invalid"));
    else if (dedup != NULL && (strlen(dedup) == 0 || strlen(dedup) > 255))
        answer_json(a, 400, pd_invalid("'dedup_key' is invalid"));
    else if (strcmp(action, "trigger") != 0 && dedup == NULL)
        answer_json(a, 400, pd_invalid("'dedup_key' is required for acknowledge and resolve"));
    else if (strcmp(action, "trigger") == 0 &&
             (!str_ok(json_object_get(payload, "summary"), 1024) ||
              !str_ok(json_object_get(payload, "source"), 1024) ||
              !json_is_string(json_object_get(payload, "severity")) ||
              strstr(" critical error warning info ",
                     json_string_value(json_object_get(payload, "severity"))) == NULL ||
              json_string_length(json_object_get(payload, "severity")) < 4))
        answer_json(a, 400, pd_invalid("'payload' is invalid: summary, source and severity "
                                       "(critical, error, warning or info) are required"));
    else
        answer_json(a, 202, json_pack("{s:s, s:s, s:s}", "status", "success", "message",
                                      "Event processed", "dedup_key",
                                      dedup ? dedup : "generated-dedup-key"));
    json_decref(body);
}

static json_t *jira_errors(const char *message, const char *field, const char *field_msg)
{
    json_t *o = json_pack("{s:[], s:{}}", "errorMessages", "errors");
    if (message != NULL)
        json_array_append_new(json_object_get(o, "errorMessages"), json_string(message));
    if (field != NULL)
        json_object_set_new(json_object_get(o, "errors"), field, json_string(field_msg));
    return o;
}

static struct issue *find_issue(struct fake *f, const char *key, size_t n)
{
    for (size_t i = 0; i < f->nissues; i++)
        if (strlen(f->issues[i].key) == n && strncmp(f->issues[i].key, key, n) == 0)
            return &f->issues[i];
    return NULL;
}

/* "basic", "pat", or NULL when the credentials are wrong. */
static const char *jira_auth(struct fake *f, struct MHD_Connection *conn, int version)
{
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (h == NULL)
        return NULL;
    if (strncmp(h, "Bearer ", 7) == 0)
        return f->jira_pat != NULL && version == 2 && strcmp(h + 7, f->jira_pat) == 0 ? "pat"
                                                                                      : NULL;
    if (strncmp(h, "Basic ", 6) == 0 && f->jira_user != NULL && f->jira_token != NULL) {
        char cred[600];
        unsigned char b64[900];
        int n = snprintf(cred, sizeof cred, "%s:%s", f->jira_user, f->jira_token);
        if (n < 0 || (size_t)n >= sizeof cred)
            return NULL;
        EVP_EncodeBlock(b64, (const unsigned char *)cred, n);
        return strcmp(h + 6, (const char *)b64) == 0 ? "basic" : NULL;
    }
    return NULL;
}

static bool jira_text_ok(const json_t *v, int version)
{
    return version == 2 ? json_is_string(v) : adf_doc_ok(v);
}

static void jira(struct fake *f, struct MHD_Connection *conn, const char *method, const char *url,
                 const struct req *r, struct answer *a)
{
    int version = url[10] - '0';
    const char *rest = url + 11; /* after /rest/api/N */
    const char *auth;
    json_t *body = NULL;
    bool post = strcmp(method, "POST") == 0, get = strcmp(method, "GET") == 0;

    if ((version != 2 && version != 3) || url[11] != '/') {
        answer_json(a, 404, jira_errors("No such API version", NULL, NULL));
        return;
    }
    auth = jira_auth(f, conn, version);
    if (auth == NULL) {
        answer_text(a, 401, "text/plain", "Client must be authenticated to access this "
                                          "resource.");
        return;
    }
    a->log = json_pack("{s:i, s:s}", "version", version, "auth", auth);
    if (!header_is(conn, "Accept", "application/json")) {
        answer_json(a, 406, jira_errors("Accept must be application/json", NULL, NULL));
        return;
    }
    if (post) {
        if (!header_is(conn, "Content-Type", "application/json")) {
            answer_json(a, 415, jira_errors("Unsupported Media Type", NULL, NULL));
            return;
        }
        body = json_loadb(r->body ? r->body : "", r->len, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(body)) {
            json_decref(body);
            answer_json(a, 400, jira_errors("Unexpected character in the JSON body", NULL, NULL));
            return;
        }
        json_object_set(a->log, "body", body);
    }
    if (strncmp(rest, "/project/", 9) == 0 && get) {
        if (strcmp(rest + 9, f->jira_project) == 0)
            answer_json(a, 200, json_pack("{s:s, s:s, s:s}", "id", "10000", "key",
                                          f->jira_project, "name", "Security"));
        else
            answer_json(a, 404, jira_errors("No project could be found with key.", NULL, NULL));
    } else if (strcmp(rest, "/issue") == 0 && post) {
        json_t *fields = json_object_get(body, "fields"), *labels, *l;
        const char *pk = json_string_value(
            json_object_get(json_object_get(fields, "project"), "key"));
        size_t i;
        bool labels_ok = true;
        labels = json_object_get(fields, "labels");
        json_array_foreach(labels, i, l) if (!json_is_string(l) ||
                                             strchr(json_string_value(l), ' ') != NULL)
            labels_ok = false;
        if (pk == NULL || strcmp(pk, f->jira_project) != 0)
            answer_json(a, 400, jira_errors(NULL, "project", "valid project is required"));
        else if (!str_ok(json_object_get(json_object_get(fields, "issuetype"), "name"), 255))
            answer_json(a, 400, jira_errors(NULL, "issuetype", "valid issue type is required"));
        else if (!str_ok(json_object_get(fields, "summary"), 255))
            answer_json(a, 400, jira_errors(NULL, "summary",
                                            "You must specify a summary of the issue."));
        else if (json_object_get(fields, "description") != NULL &&
                 !jira_text_ok(json_object_get(fields, "description"), version))
            answer_json(a, 400, jira_errors(NULL, "description",
                                            version == 3
                                                ? "Operation value must be an Atlassian "
                                                  "Document (see the Atlassian Document Format)"
                                                : "Operation value must be a string"));
        else if (!labels_ok || (labels != NULL && !json_is_array(labels)))
            answer_json(a, 400, jira_errors(NULL, "labels", "The label can't contain spaces."));
        else if (f->nissues >= MAX_ISSUES)
            answer_json(a, 500, jira_errors("Too many issues", NULL, NULL));
        else {
            struct issue *is = &f->issues[f->nissues++];
            char self[256];
            snprintf(is->key, sizeof is->key, "%s-%zu", f->jira_project, f->nissues);
            is->status = 11;
            snprintf(self, sizeof self, "http://jira.invalid/rest/api/%d/issue/%zu", version,
                     10000 + f->nissues);
            json_object_set_new(a->log, "key", json_string(is->key));
            answer_json(a, 201, json_pack("{s:s, s:s, s:s}", "id", self + strlen(self) - 5,
                                          "key", is->key, "self", self));
        }
    } else if (strncmp(rest, "/issue/", 7) == 0) {
        const char *key = rest + 7, *slash = strchr(key, '/');
        struct issue *is = slash ? find_issue(f, key, (size_t)(slash - key)) : NULL;
        if (slash == NULL || is == NULL) {
            answer_json(a, 404, jira_errors("Issue does not exist or you do not have permission "
                                            "to see it.",
                                            NULL, NULL));
        } else if (strcmp(slash, "/comment") == 0 && post) {
            if (!jira_text_ok(json_object_get(body, "body"), version)) {
                answer_json(a, 400, jira_errors(NULL, "comment", "Comment body is not valid."));
            } else {
                is->comments++;
                json_object_set_new(a->log, "key", json_string(is->key));
                answer_json(a, 201, json_pack("{s:s, s:s}", "id", "10100", "created",
                                              "2026-03-02T09:00:03.512+0000"));
            }
        } else if (strcmp(slash, "/transitions") == 0 && get) {
            answer_json(
                a, 200,
                json_pack("{s:s, s:[{s:s, s:s, s:{s:s, s:s, s:{s:i, s:s, s:s}}},"
                          " {s:s, s:s, s:{s:s, s:s, s:{s:i, s:s, s:s}}},"
                          " {s:s, s:s, s:{s:s, s:s, s:{s:i, s:s, s:s}}}]}",
                          "expand", "transitions", "transitions", "id", "11", "name", "To Do",
                          "to", "id", "10000", "name", "To Do", "statusCategory", "id", 2, "key",
                          "new", "name", "To Do", "id", "21", "name", "In Progress", "to", "id",
                          "10001", "name", "In Progress", "statusCategory", "id", 4, "key",
                          "indeterminate", "name", "In Progress", "id", "31", "name", "Done",
                          "to", "id", "10002", "name", "Done", "statusCategory", "id", 3, "key",
                          "done", "name", "Done"));
        } else if (strcmp(slash, "/transitions") == 0 && post) {
            const char *tid = json_string_value(
                json_object_get(json_object_get(body, "transition"), "id"));
            json_t *comments = json_object_get(json_object_get(body, "update"), "comment");
            size_t i;
            json_t *c;
            bool ok = tid != NULL &&
                      (strcmp(tid, "11") == 0 || strcmp(tid, "21") == 0 || strcmp(tid, "31") == 0);
            json_array_foreach(comments, i, c) if (!jira_text_ok(
                json_object_get(json_object_get(c, "add"), "body"), version)) ok = false;
            if (!ok) {
                answer_json(a, 400, jira_errors("Transition id is not valid for this issue.",
                                                NULL, NULL));
            } else {
                is->status = (int)strtol(tid, NULL, 10);
                json_object_set_new(a->log, "key", json_string(is->key));
                json_object_set_new(a->log, "transition", json_string(tid));
                answer_text(a, 204, NULL, "");
            }
        } else {
            answer_json(a, 405, jira_errors("Method not allowed", NULL, NULL));
        }
    } else {
        answer_json(a, 404, jira_errors("Not found", NULL, NULL));
    }
    json_decref(body);
}

static json_t *hec(const char *text, int code)
{
    return json_pack("{s:s, s:i}", "text", text, "code", code);
}

static void splunk(struct fake *f, struct MHD_Connection *conn, const char *method,
                   const struct req *r, struct answer *a)
{
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    json_t *events;
    size_t off = 0, n = 0;

    if (strcmp(method, "POST") != 0) {
        answer_json(a, 405, hec("Method not allowed", 8));
        return;
    }
    if (h == NULL) {
        answer_json(a, 401, hec("Token is required", 2));
        return;
    }
    if (strncmp(h, "Splunk ", 7) != 0) {
        answer_json(a, 401, hec("Invalid authorization", 3));
        return;
    }
    if (f->splunk_token == NULL || strcmp(h + 7, f->splunk_token) != 0) {
        answer_json(a, 403, hec("Invalid token", 4));
        return;
    }
    events = json_array();
    a->log = json_pack("{s:o}", "events", events);
    while (off < r->len) {
        json_error_t je;
        json_t *ev, *fields, *v, *idx;
        const char *k;
        while (off < r->len && strchr(" \t\r\n", r->body[off]) != NULL)
            off++;
        if (off >= r->len)
            break;
        ev = json_loadb(r->body + off, r->len - off, JSON_DISABLE_EOF_CHECK, &je);
        if (!json_is_object(ev)) {
            json_decref(ev);
            answer_json(a, 400, json_pack("{s:s, s:i, s:i}", "text", "Invalid data format",
                                          "code", 6, "invalid-event-number", (int)n));
            return;
        }
        off += (size_t)je.position;
        json_array_append(events, ev);
        v = json_object_get(ev, "event");
        fields = json_object_get(ev, "fields");
        idx = json_object_get(ev, "index");
        if (v == NULL) {
            json_decref(ev);
            answer_json(a, 400, json_pack("{s:s, s:i, s:i}", "text", "Event field is required",
                                          "code", 12, "invalid-event-number", (int)n));
            return;
        }
        if ((json_is_string(v) && json_string_length(v) == 0) ||
            (json_is_object(v) && json_object_size(v) == 0) || json_is_null(v)) {
            json_decref(ev);
            answer_json(a, 400, json_pack("{s:s, s:i, s:i}", "text",
                                          "Event field cannot be blank", "code", 13,
                                          "invalid-event-number", (int)n));
            return;
        }
        if (json_object_get(ev, "time") != NULL && !json_is_number(json_object_get(ev, "time"))) {
            json_decref(ev);
            answer_json(a, 400, json_pack("{s:s, s:i, s:i}", "text", "Invalid data format",
                                          "code", 6, "invalid-event-number", (int)n));
            return;
        }
        json_object_foreach(fields, k, v)
        {
            if (!json_is_string(v) && !json_is_array(v)) {
                json_decref(ev);
                answer_json(a, 400, hec("Error in handling indexed fields", 15));
                return;
            }
        }
        if (idx != NULL) {
            bool allowed = false;
            for (size_t i = 0; i < f->nindexes; i++)
                if (json_is_string(idx) && strcmp(json_string_value(idx), f->indexes[i]) == 0)
                    allowed = true;
            if (!allowed) {
                json_decref(ev);
                answer_json(a, 400, hec("Incorrect index", 7));
                return;
            }
        }
        json_decref(ev);
        n++;
    }
    if (n == 0)
        answer_json(a, 400, hec("No data", 5));
    else
        answer_json(a, 200, hec("Success", 0));
}

/* Error bodies of each target for a forced failure. */
static void forced_failure(enum target t, int status, struct answer *a)
{
    switch (t) {
    case T_SLACK:
        answer_text(a, (unsigned)status, "text/html",
                    status == 404 ? "no_service" : status == 403 ? "invalid_token"
                                 : status == 410 ? "channel_is_archived"
                                 : status == 400 ? "invalid_payload" : "rollup_error");
        break;
    case T_PD:
        answer_json(a, (unsigned)status,
                    status < 500 ? pd_invalid("Event object is invalid")
                                 : json_pack("{s:s, s:s, s:[]}", "status", "error", "message",
                                             "Internal error", "errors"));
        break;
    case T_JIRA:
        answer_json(a, (unsigned)status, jira_errors("Forced failure", NULL, NULL));
        break;
    default:
        answer_json(a, (unsigned)status,
                    status == 503 ? hec("Server is busy", 9) : hec("Internal server error", 8));
        break;
    }
}

static enum target target_of(const char *url)
{
    if (strcmp(url, "/_control") == 0)
        return T_CONTROL;
    if (strcmp(url, "/services/collector") == 0 || strcmp(url, "/services/collector/event") == 0 ||
        strcmp(url, "/services/collector/event/1.0") == 0)
        return T_SPLUNK;
    if (strncmp(url, "/services/", 10) == 0)
        return T_SLACK;
    if (strcmp(url, "/v2/enqueue") == 0)
        return T_PD;
    if (strncmp(url, "/rest/api/", 10) == 0 && strlen(url) > 11)
        return T_JIRA;
    return T_NONE;
}

static bool parse_target(const char *s, enum target *t)
{
    for (int i = 0; i < T_CONTROL; i++)
        if (strcmp(s, target_names[i]) == 0) {
            *t = (enum target)i;
            return true;
        }
    return false;
}

static enum MHD_Result control(struct fake *f, struct MHD_Connection *conn, const struct req *r)
{
    json_t *o = json_loadb(r->body ? r->body : "", r->len, 0, NULL);
    const char *target = json_string_value(json_object_get(o, "target"));
    const char *mode = json_string_value(json_object_get(o, "mode"));
    struct mode_state ms = {M_OK, 500, 1, 30, 0};
    enum target t = T_SLACK;
    bool all = target != NULL && strcmp(target, "all") == 0;
    int m = -1;

    for (int i = 0; mode != NULL && i < (int)(sizeof mode_names / sizeof mode_names[0]); i++)
        if (strcmp(mode, mode_names[i]) == 0)
            m = i;
    if (o == NULL || target == NULL || m < 0 || (!all && !parse_target(target, &t))) {
        json_decref(o);
        return send_text(conn, 400, "text/plain", "bad control request\n");
    }
    ms.mode = (enum mode)m;
    if (json_is_integer(json_object_get(o, "status")))
        ms.status = (int)json_integer_value(json_object_get(o, "status"));
    if (json_is_integer(json_object_get(o, "retry_after")))
        ms.retry_after = (int)json_integer_value(json_object_get(o, "retry_after"));
    if (json_is_integer(json_object_get(o, "hang_s")))
        ms.hang_s = (int)json_integer_value(json_object_get(o, "hang_s"));
    if (json_is_integer(json_object_get(o, "times")))
        ms.times = (int)json_integer_value(json_object_get(o, "times"));
    json_decref(o);
    pthread_mutex_lock(&f->mu);
    for (int i = 0; i < T_CONTROL; i++)
        if (all || i == (int)t)
            f->modes[i] = ms;
    pthread_mutex_unlock(&f->mu);
    return send_text(conn, 204, NULL, "");
}

/* The URL as logged: a Slack hook's secret segment hidden. */
static void logged_path(enum target t, const char *url, char *out, size_t n)
{
    const char *last = strrchr(url, '/');
    if (t == T_SLACK && last != NULL && last > url + 9)
        snprintf(out, n, "%.*s/***", (int)(last - url), url);
    else
        snprintf(out, n, "%s", url);
}

static enum MHD_Result respond(struct fake *f, struct MHD_Connection *conn, const char *url,
                               const char *method, struct req *r)
{
    enum target t = target_of(url);
    struct answer a = {0, NULL, NULL, NULL};
    struct mode_state ms = {M_OK, 0, 0, 0, 0};
    enum MHD_Result ret;
    char path[512], ra[16];
    json_t *line;

    if (t == T_CONTROL)
        return control(f, conn, r);
    pthread_mutex_lock(&f->mu);
    if (t != T_NONE) {
        ms = f->modes[t];
        if (f->modes[t].times > 0 && --f->modes[t].times == 0)
            f->modes[t].mode = M_OK;
    }
    pthread_mutex_unlock(&f->mu);

    if (ms.mode == M_HANG) {
        for (int i = 0; i < ms.hang_s * 10 && !atomic_load(&stopping); i++)
            usleep(100000);
        ms.mode = M_OK;
    }
    if (r->too_big) {
        answer_text(&a, 413, "text/plain", "Request Entity Too Large");
    } else if (ms.mode == M_FAIL) {
        forced_failure(t, ms.status, &a);
    } else if (ms.mode == M_THROTTLE) {
        answer_text(&a, 429, "text/plain", "Too Many Requests");
    } else if (ms.mode == M_HUGE || ms.mode == M_GARBAGE) {
        a.status = 200;
    } else {
        /* The target's own checks; JIRA's issue store and the log under the mutex. */
        pthread_mutex_lock(&f->mu);
        switch (t) {
        case T_SLACK:
            slack(f, conn, method, url, r, &a);
            break;
        case T_PD:
            pagerduty(f, conn, method, r, &a);
            break;
        case T_JIRA:
            jira(f, conn, method, url, r, &a);
            break;
        case T_SPLUNK:
            splunk(f, conn, method, r, &a);
            break;
        default:
            answer_text(&a, 404, "text/plain", "Not Found");
            break;
        }
        pthread_mutex_unlock(&f->mu);
    }
    if (a.log == NULL && r->len > 0) {
        /* A forced answer still logs what was sent (a PagerDuty routing key left out). */
        json_t *b = json_loadb(r->body, r->len, 0, NULL);
        if (json_is_object(b)) {
            json_object_del(b, "routing_key");
            a.log = json_pack("{s:o}", "body", b);
        } else {
            json_decref(b);
        }
    }
    logged_path(t, url, path, sizeof path);
    line = json_pack("{s:s, s:s, s:s, s:i, s:s}", "target", target_names[t], "method", method,
                     "path", path, "status", (int)a.status, "mode", mode_names[ms.mode]);
    if (line != NULL && a.log != NULL)
        json_object_update(line, a.log);
    json_decref(a.log);
    pthread_mutex_lock(&f->mu);
    log_line(f, line);
    pthread_mutex_unlock(&f->mu);

    if (ms.mode == M_HUGE) {
        struct MHD_Response *resp =
            MHD_create_response_from_callback(HUGE_BODY, 64 * 1024, huge_reader, NULL, NULL);
        free(a.body);
        if (resp == NULL)
            return MHD_NO;
        MHD_add_response_header(resp, "Content-Type", "application/json");
        ret = MHD_queue_response(conn, 200, resp);
        MHD_destroy_response(resp);
        return ret;
    }
    if (ms.mode == M_GARBAGE) {
        static const char junk[] = "\x1f\x8b garbage <html>not what you expected</html>\xff\xfe";
        free(a.body);
        a.body = malloc(sizeof junk);
        if (a.body == NULL)
            return MHD_NO;
        memcpy(a.body, junk, sizeof junk);
        return send_buf(conn, 200, "text/html", a.body, sizeof junk - 1, NULL);
    }
    snprintf(ra, sizeof ra, "%d", ms.retry_after);
    if (a.body == NULL)
        a.body = strdup("");
    return send_buf(conn, a.status, a.type, a.body, a.body ? strlen(a.body) : 0,
                    ms.mode == M_THROTTLE ? ra : NULL);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct fake *f = cls;
    struct req *r = *con_cls;
    (void)version;

    if (r == NULL) {
        r = calloc(1, sizeof *r);
        if (r == NULL)
            return MHD_NO;
        *con_cls = r;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        if (r->len + n > MAX_BODY) {
            r->too_big = true;
        } else {
            char *nb = realloc(r->body, r->len + n + 1);
            if (nb == NULL)
                return MHD_NO;
            memcpy(nb + r->len, upload_data, n);
            r->body = nb;
            r->len += n;
            r->body[r->len] = '\0';
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    return respond(f, conn, url, method, r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct req *r = *con_cls;
    (void)cls;
    (void)conn;
    (void)toe;
    if (r != NULL)
        free(r->body);
    free(r);
    *con_cls = NULL;
}

static void usage(void)
{
    fprintf(stderr, "usage: fake_hooks --port N [--log FILE] [--pd-key KEY] [--jira-user EMAIL "
                    "--jira-token TOKEN] [--jira-pat PAT] [--jira-project KEY] "
                    "[--splunk-token TOKEN] [--splunk-index NAME]...\n");
}

int main(int argc, char **argv)
{
    static struct fake f;
    const char *log_path = NULL;
    unsigned long port = 0;
    bool have_port = false;

    f.log_fd = -1;
    f.jira_project = "SEC";
    pthread_mutex_init(&f.mu, NULL);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL) {
            usage();
            return 2;
        }
        i++;
        if (strcmp(a, "--port") == 0) {
            if (!fake_parse_ulong(v, 0, 65535, &port)) {
                usage();
                return 2;
            }
            have_port = true;
        } else if (strcmp(a, "--log") == 0) {
            log_path = v;
        } else if (strcmp(a, "--pd-key") == 0) {
            f.pd_key = v;
        } else if (strcmp(a, "--jira-user") == 0) {
            f.jira_user = v;
        } else if (strcmp(a, "--jira-token") == 0) {
            f.jira_token = v;
        } else if (strcmp(a, "--jira-pat") == 0) {
            f.jira_pat = v;
        } else if (strcmp(a, "--jira-project") == 0) {
            f.jira_project = v;
        } else if (strcmp(a, "--splunk-token") == 0) {
            f.splunk_token = v;
        } else if (strcmp(a, "--splunk-index") == 0 && f.nindexes < MAX_INDEXES) {
            f.indexes[f.nindexes++] = v;
        } else {
            usage();
            return 2;
        }
    }
    if (!have_port) {
        usage();
        return 2;
    }
    if (log_path != NULL && (f.log_fd = fake_open_log("fake_hooks", log_path)) < 0)
        return 2;
    struct fake_server srv = {"fake_hooks", port, true, 120, (size_t)256 * 1024, 1024,
                              on_request, &f, on_completed, NULL};
    int rc = fake_run(&srv, stop_hanging);
    if (f.log_fd >= 0)
        close(f.log_fd);
    pthread_mutex_destroy(&f.mu);
    return rc;
}
