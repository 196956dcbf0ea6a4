/* Ingest: validation of candidate events, detection (payload inspection, CloudTrail rules,
 * in-function reports) and the one transaction that stores events and signals, the idempotency
 * record and the correlation job together. The caller acknowledges only after this returns. */
#include "observe/observe.h"

#include "db/db.h"
#include "observe/detect.h"
#include "server/sbuf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS (86400LL * 1000)
#define CORR_DELAY_S 0.2 /* lets a burst of batches fold in one correlation run */
#define RECORD_BYTES 256    /* bytes per exposed record, when only a response size is known */

/* ---- the shared detector and per-thread scratch ---- */

static pthread_once_t det_once = PTHREAD_ONCE_INIT;
static struct obs_detector *det;
static pthread_key_t scratch_key;

static void scratch_release(void *p)
{
    obs_scratch_free(p);
}

static void det_init(void)
{
    struct err e;
    if (pthread_key_create(&scratch_key, scratch_release) != 0)
        return;
    if (obs_detector_new(&det, &e) != ERR_OK)
        det = NULL;
}

static struct obs_scratch *scratch_get(struct err *err)
{
    struct obs_scratch *s;

    pthread_once(&det_once, det_init);
    if (det == NULL) {
        err_set(err, ERR_INTERNAL, "payload detection unavailable");
        return NULL;
    }
    s = pthread_getspecific(scratch_key);
    if (s == NULL) {
        if (obs_scratch_new(det, &s, err) != ERR_OK)
            return NULL;
        pthread_setspecific(scratch_key, s);
    }
    return s;
}

/* ---- validation ---- */

enum ev_type { EV_INVOCATION, EV_LOG, EV_CLOUDTRAIL, EV_FSP };

static const struct {
    const char *name;
    const char *payload; /* the member carrying the type's data */
} types[] = {
    [EV_INVOCATION] = {"invocation", "input"},
    [EV_LOG] = {"log", "message"},
    [EV_CLOUDTRAIL] = {"cloudtrail", "record"},
    [EV_FSP] = {"fsp.violation", "violation"},
};

static const char *const fields[] = {"time", "type", "account_id", "region", "function_arn",
                                     "request_id", "trace_id", "source_ip", "input", "message",
                                     "record", "violation", "response", NULL};

struct ev {
    enum ev_type type;
    long long ms;
    const char *time, *account, *region, *fn, *request_id, *trace_id, *source_ip;
    const json_t *payload;
};

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static long long days_from_civil(long long y, unsigned m, unsigned d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

static bool digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* RFC 3339 date-time ("2026-03-01T12:00:00.123Z", "...+02:00") to epoch milliseconds. */
static bool parse_time(const char *s, long long *ms)
{
    int y, mo, d, h, mi, sec, frac = 0, oh = 0, om = 0, sign = 0;
    const char *p;
    static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    if (strlen(s) < 20 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
        s[7] != '-' || !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
        !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
        !digits(s + 17, 2, &sec))
        return false;
    p = s + 19;
    if (*p == '.') {
        int n = 0;
        p++;
        while (isdigit((unsigned char)*p)) {
            if (n < 3)
                frac = frac * 10 + (*p - '0');
            n++;
            p++;
        }
        if (n == 0 || n > 9)
            return false;
        for (; n < 3; n++)
            frac *= 10;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p == '-' ? -1 : 1;
        if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om) || oh > 23 ||
            om > 59)
            return false;
        p += 6;
    } else {
        return false;
    }
    if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || (unsigned)d > mdays[mo - 1] || h > 23 ||
        mi > 59 || sec > 60 || y < 1970)
        return false;
    *ms = ((days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec) -
           sign * (oh * 3600 + om * 60)) * 1000 + frac;
    return true;
}

static bool printable(const char *s, size_t max)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++)
        if ((unsigned char)s[n] < 0x20 || s[n] == 0x7f || n >= max)
            return false;
    return n > 0;
}

static bool is_region(const char *s)
{
    size_t n = strlen(s), dashes = 0;
    if (n < 9 || n > 25 || !isdigit((unsigned char)s[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '-')
            dashes++;
        else if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]))
            return false;
    }
    return dashes >= 2;
}

/* arn:aws[-cn|-us-gov]:lambda:<region>:<12 digits>:function:<name>[:<qualifier>] */
static bool is_function_arn(const char *s, const char *account)
{
    const char *p = s, *q;
    char region[32];
    size_t n;

    if (strncmp(p, "arn:aws", 7) != 0 || strlen(s) > 256)
        return false;
    p = strchr(p + 7, ':');
    if (p == NULL || strncmp(p, ":lambda:", 8) != 0)
        return false;
    p += 8;
    q = strchr(p, ':');
    if (q == NULL || (n = (size_t)(q - p)) >= sizeof region)
        return false;
    memcpy(region, p, n);
    region[n] = '\0';
    if (!is_region(region))
        return false;
    p = q + 1;
    if (strspn(p, "0123456789") != 12 || p[12] != ':' ||
        (account != NULL && strncmp(p, account, 12) != 0))
        return false;
    p += 13;
    if (strncmp(p, "function:", 9) != 0)
        return false;
    p += 9;
    n = strcspn(p, ":");
    if (n == 0 || n > 140)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)p[i]) && p[i] != '-' && p[i] != '_')
            return false;
    if (p[n] == ':')
        return printable(p + n + 1, 129);
    return true;
}

static bool is_ip(const char *s)
{
    unsigned char b[16];
    return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

/* Bytes of the value's JSON text, about, stopping once past limit. */
static size_t json_weight(const json_t *v, size_t limit)
{
    size_t n = 2, i;
    const char *k;
    json_t *x;

    switch (json_typeof(v)) {
    case JSON_STRING:
        return json_string_length(v) + 2;
    case JSON_OBJECT:
        json_object_foreach((json_t *)(uintptr_t)v, k, x)
        {
            n += strlen(k) + 4 + json_weight(x, limit);
            if (n > limit)
                return n;
        }
        return n;
    case JSON_ARRAY:
        json_array_foreach(v, i, x)
        {
            n += 1 + json_weight(x, limit);
            if (n > limit)
                return n;
        }
        return n;
    default:
        return 8;
    }
}

static const char *check_violation(const json_t *v)
{
    const char *a = jstr(v, "action"), *t = jstr(v, "target"), *d = jstr(v, "decision");
    if (!json_is_object(v) || json_object_size(v) != 3 || a == NULL || t == NULL || d == NULL)
        return "violation must be {action, target, decision}";
    if (strcmp(a, "connect") != 0 && strcmp(a, "exec") != 0 && strcmp(a, "open") != 0)
        return "violation.action must be connect, exec or open";
    if (strcmp(d, "blocked") != 0 && strcmp(d, "alerted") != 0)
        return "violation.decision must be blocked or alerted";
    if (!printable(t, 1024))
        return "violation.target must be 1-1024 printable characters";
    return NULL;
}

static const char *check_response(const json_t *r)
{
    const char *k;
    json_t *x;
    if (!json_is_object(r))
        return "response must be an object {status, bytes, rows}";
    json_object_foreach((json_t *)(uintptr_t)r, k, x)
    {
        if (strcmp(k, "status") != 0 && strcmp(k, "bytes") != 0 && strcmp(k, "rows") != 0)
            return "response has an unknown member";
        if (!json_is_integer(x) || json_integer_value(x) < 0)
            return "response members must be non-negative integers";
    }
    return NULL;
}

static const char *check_event(const json_t *e, long long now_ms, unsigned retention_days,
                               struct ev *out, char *buf, size_t buflen)
{
    const char *k, *type;
    json_t *x;
    size_t t;

    memset(out, 0, sizeof *out);
    json_object_foreach((json_t *)(uintptr_t)e, k, x)
    {
        size_t i = 0;
        while (fields[i] != NULL && strcmp(fields[i], k) != 0)
            i++;
        if (fields[i] == NULL) {
            snprintf(buf, buflen, "unknown field '%.60s'", k);
            return buf;
        }
    }
    if (json_weight(e, OBS_EVENT_MAX_BYTES) > OBS_EVENT_MAX_BYTES)
        return "event larger than 1 MiB";
    type = jstr(e, "type");
    if (type == NULL)
        return "'type' is required";
    for (t = 0; t < sizeof types / sizeof types[0]; t++)
        if (strcmp(types[t].name, type) == 0)
            break;
    if (t == sizeof types / sizeof types[0])
        return "type must be invocation, log, cloudtrail or fsp.violation";
    out->type = (enum ev_type)t;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        if (i != t && json_object_get(e, types[i].payload) != NULL) {
            snprintf(buf, buflen, "'%s' does not belong to a %s event", types[i].payload, type);
            return buf;
        }
    }
    out->time = jstr(e, "time");
    if (out->time == NULL || !parse_time(out->time, &out->ms))
        return "'time' must be an RFC 3339 date-time";
    if (out->ms > now_ms + OBS_FUTURE_SKEW_S * 1000LL)
        return "'time' is too far in the future";
    if (out->ms < now_ms - (long long)retention_days * DAY_MS)
        return "'time' is older than the retention period";
    out->account = jstr(e, "account_id");
    if (out->account == NULL || strlen(out->account) != 12 ||
        strspn(out->account, "0123456789") != 12)
        return "'account_id' must be a 12-digit AWS account id";
    out->region = jstr(e, "region");
    if (json_object_get(e, "region") != NULL && (out->region == NULL || !is_region(out->region)))
        return "'region' is not an AWS region name";
    out->fn = jstr(e, "function_arn");
    if (json_object_get(e, "function_arn") != NULL &&
        (out->fn == NULL || !is_function_arn(out->fn, NULL)))
        return "'function_arn' is not a Lambda function ARN";
    if (out->fn != NULL && !is_function_arn(out->fn, out->account))
        return "'function_arn' names another account than 'account_id'";
    if (out->fn == NULL && out->type != EV_CLOUDTRAIL)
        return "'function_arn' is required";
    out->request_id = jstr(e, "request_id");
    if (json_object_get(e, "request_id") != NULL &&
        (out->request_id == NULL || !printable(out->request_id, 128)))
        return "'request_id' must be 1-128 printable characters";
    out->trace_id = jstr(e, "trace_id");
    if (json_object_get(e, "trace_id") != NULL &&
        (out->trace_id == NULL || !printable(out->trace_id, 256)))
        return "'trace_id' must be 1-256 printable characters";
    out->source_ip = jstr(e, "source_ip");
    if (json_object_get(e, "source_ip") != NULL &&
        (out->source_ip == NULL || !is_ip(out->source_ip)))
        return "'source_ip' must be an IPv4 or IPv6 address";
    out->payload = json_object_get(e, types[t].payload);
    if (out->payload == NULL) {
        snprintf(buf, buflen, "'%s' is required for a %s event", types[t].payload, type);
        return buf;
    }
    if (json_object_get(e, "response") != NULL &&
        (out->type != EV_INVOCATION || check_response(json_object_get(e, "response")) != NULL))
        return out->type != EV_INVOCATION ? "'response' belongs to invocation events"
                                          : check_response(json_object_get(e, "response"));
    switch (out->type) {
    case EV_INVOCATION:
        if (!json_is_object(out->payload) && !json_is_array(out->payload))
            return "'input' must be the function's input event (an object or array)";
        break;
    case EV_LOG:
        if (!json_is_string(out->payload))
            return "'message' must be a string";
        break;
    case EV_CLOUDTRAIL:
        if (!json_is_object(out->payload) || jstr(out->payload, "eventName") == NULL ||
            jstr(out->payload, "eventSource") == NULL)
            return "'record' must be a CloudTrail record with eventSource and eventName";
        break;
    case EV_FSP:
        return check_violation(out->payload);
    }
    return NULL;
}

const char *obs_event_check(const json_t *ev, long long now_ms, unsigned retention_days,
                            char *buf, size_t buflen)
{
    struct ev e;
    if (!json_is_object(ev))
        return "an event must be a JSON object";
    return check_event(ev, now_ms, retention_days, &e, buf, buflen);
}

/* ---- a small set of strings (account ids, key/address pairs) ---- */

struct strset {
    char **slot;
    size_t cap, n;
};

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static bool strset_has(const struct strset *s, const char *v)
{
    if (s->cap == 0)
        return false;
    for (size_t i = fnv(v) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        if (s->slot[i] == NULL)
            return false;
        if (strcmp(s->slot[i], v) == 0)
            return true;
    }
}

static bool strset_add(struct strset *s, const char *v)
{
    if (strset_has(s, v))
        return true;
    if ((s->n + 1) * 2 > s->cap) {
        struct strset g = {calloc(s->cap ? s->cap * 2 : 64, sizeof(char *)),
                           s->cap ? s->cap * 2 : 64, 0};
        if (g.slot == NULL)
            return false;
        for (size_t i = 0; i < s->cap; i++)
            if (s->slot[i] != NULL) {
                size_t j = fnv(s->slot[i]) & (g.cap - 1);
                while (g.slot[j] != NULL)
                    j = (j + 1) & (g.cap - 1);
                g.slot[j] = s->slot[i];
                g.n++;
            }
        free(s->slot);
        *s = g;
    }
    size_t i = fnv(v) & (s->cap - 1);
    while (s->slot[i] != NULL)
        i = (i + 1) & (s->cap - 1);
    s->slot[i] = strdup(v);
    if (s->slot[i] == NULL)
        return false;
    s->n++;
    return true;
}

static void strset_free(struct strset *s)
{
    for (size_t i = 0; i < s->cap; i++)
        free(s->slot[i]);
    free(s->slot);
    memset(s, 0, sizeof *s);
}

/* ---- signals ---- */

static const struct {
    const char *severity;
} payload_sev[OBS_CLASS_COUNT] = {
    [OBS_SQLI] = {"high"},          [OBS_NOSQLI] = {"high"},
    [OBS_CMDI] = {"high"},          [OBS_PATH_TRAVERSAL] = {"medium"},
    [OBS_SSRF] = {"high"},          [OBS_XXE] = {"high"},
    [OBS_SSTI] = {"high"},          [OBS_DESERIALIZATION] = {"high"},
    [OBS_XSS] = {"medium"},
};

static const char *const payload_rule[OBS_CLASS_COUNT] = {
    [OBS_SQLI] = "payload.sqli",
    [OBS_NOSQLI] = "payload.nosqli",
    [OBS_CMDI] = "payload.cmdi",
    [OBS_PATH_TRAVERSAL] = "payload.path-traversal",
    [OBS_SSRF] = "payload.ssrf",
    [OBS_XXE] = "payload.xxe",
    [OBS_SSTI] = "payload.ssti",
    [OBS_DESERIALIZATION] = "payload.deserialization",
    [OBS_XSS] = "payload.xss",
};

/* ---- rows as JSON text ----
 * Rows travel to PostgreSQL as one JSON array per table. They are written here as text, once:
 * building them as jansson trees and serialising those cost as much as parsing the batch, and an
 * event's body goes in as the bytes it was sent in whenever they can be located. */

static int sb_dump_cb(const char *s, size_t n, void *data)
{
    sb_put(data, s, n);
    return ((struct sbuf *)data)->failed ? -1 : 0;
}

/* s as a JSON string. Strings of parsed events are valid UTF-8 already; detectors' excerpts
 * (check_utf8) may end inside a character, which becomes U+FFFD. */
static void sb_str(struct sbuf *b, const char *s, bool check_utf8)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    size_t run = 0;

    sb_put(b, "\"", 1);
    for (;;) {
        unsigned char c = u[run];
        size_t q;
        if (c >= 0x20 && c != '"' && c != '\\' && (c < 0x80 || !check_utf8)) {
            run++;
            continue;
        }
        sb_put(b, (const char *)u, run);
        u += run;
        run = 0;
        if (c == '\0')
            break;
        if (c >= 0x80) { /* check_utf8 */
            q = obs_utf8_char(u, strnlen((const char *)u, 4));
            if (q == 0) {
                sb_lit(b, "\\ufffd");
                u++;
            } else {
                sb_put(b, (const char *)u, q);
                u += q;
            }
            continue;
        }
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            sb_put(b, e, 2);
        } else {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf]};
            sb_put(b, e, 6);
        }
        u++;
    }
    sb_put(b, "\"", 1);
}

/* ,"key":"value" - nothing when value is NULL (the column is then NULL). */
static void sb_member(struct sbuf *b, const char *key, const char *value, bool check_utf8)
{
    if (value == NULL)
        return;
    sb_put(b, ",\"", 2);
    sb_lit(b, key);
    sb_put(b, "\":", 2);
    sb_str(b, value, check_utf8);
}

struct sig_row {
    char event_id[37];
    size_t off, len; /* the row's text in batch.signals */
};

struct batch {
    struct sbuf events;  /* "[row,row,..." for db_obs_events_insert */
    size_t nevents;
    struct sbuf signals; /* "row,row,..." for db_obs_signals_insert */
    struct sig_row *sig; /* one per signal row: its event (to drop duplicates' signals) */
    size_t nsig, capsig;
    json_t *key_rows;    /* access key addresses seen */
    struct strset days;
    size_t accepted;
};

/* The route of an API Gateway event ("GET /items/{id}"), or "" for other inputs. */
static void input_route(const json_t *in, char *out, size_t n)
{
    const char *rk = jstr(in, "routeKey");
    const char *m = jstr(in, "httpMethod"), *res = jstr(in, "resource");
    out[0] = '\0';
    if (rk != NULL && strcmp(rk, "$default") != 0)
        snprintf(out, n, "%s", rk);
    else if (m != NULL && res != NULL)
        snprintf(out, n, "%s %s", m, res);
}

static const char *input_source_ip(const json_t *in)
{
    const json_t *rc = json_object_get(in, "requestContext");
    const char *ip = jstr(json_object_get(rc, "identity"), "sourceIp");
    if (ip == NULL)
        ip = jstr(json_object_get(rc, "http"), "sourceIp");
    return ip != NULL && is_ip(ip) ? ip : NULL;
}

static long long exposed_records(const json_t *e)
{
    const json_t *r = json_object_get(e, "response");
    json_int_t status = json_integer_value(json_object_get(r, "status"));
    if (r == NULL || (status != 0 && (status < 200 || status > 299)))
        return 0;
    if (json_object_get(r, "rows") != NULL)
        return json_integer_value(json_object_get(r, "rows"));
    return json_integer_value(json_object_get(r, "bytes")) / RECORD_BYTES;
}

static enum err_code add_signal(struct batch *b, const struct ev *e, const char *event_id,
                                const struct obs_signal *s, const char *route,
                                const char *source_ip, long long records, struct err *err)
{
    struct sbuf *t = &b->signals;
    char num[64];
    size_t off;

    if (b->nsig == b->capsig) {
        size_t cap = b->capsig ? b->capsig * 2 : 64;
        struct sig_row *n = realloc(b->sig, cap * sizeof *n);
        if (n == NULL)
            return err_set(err, ERR_NOMEM, "out of memory");
        b->sig = n;
        b->capsig = cap;
    }
    if (b->nsig > 0)
        sb_put(t, ",", 1);
    off = t->len;
    sb_lit(t, "{\"time\":");
    sb_str(t, e->time, false);
    sb_member(t, "event_id", event_id, false);
    sb_member(t, "source", s->source, true);
    sb_member(t, "rule_id", s->rule_id, true);
    sb_member(t, "class", s->cls, true);
    sb_member(t, "technique", s->technique, true);
    snprintf(num, sizeof num, ",\"confidence\":%.17g,\"weak\":%s",
             s->confidence >= 0 && s->confidence <= 1 ? s->confidence : 0.0,
             s->weak ? "true" : "false");
    sb_lit(t, num);
    sb_member(t, "severity", s->severity, true);
    sb_member(t, "account_id", e->account, false);
    sb_member(t, "function_arn",
              e->fn ? e->fn
                    : (s->resource[0] && strstr(s->resource, ":function:") ? s->resource : NULL),
              true);
    sb_member(t, "route", route && route[0] ? route : NULL, true);
    sb_member(t, "source_ip", source_ip, true);
    sb_member(t, "request_id", e->request_id, false);
    sb_member(t, "trace_id", e->trace_id, false);
    sb_member(t, "principal", s->principal[0] ? s->principal : NULL, true);
    sb_member(t, "access_key_id", s->access_key_id[0] ? s->access_key_id : NULL, true);
    sb_member(t, "shape", s->shape, true);
    sb_member(t, "location", s->location, true);
    sb_member(t, "evidence", s->evidence, true);
    snprintf(num, sizeof num, ",\"records\":%lld}", records);
    sb_lit(t, num);
    if (t->failed)
        return err_set(err, ERR_NOMEM, "out of memory");
    memcpy(b->sig[b->nsig].event_id, event_id, 37);
    b->sig[b->nsig].off = off;
    b->sig[b->nsig].len = t->len - off;
    b->nsig++;
    return ERR_OK;
}

static enum err_code detect_payload(struct batch *b, const struct ev *e, const json_t *event,
                                    const char *event_id, struct err *err)
{
    struct obs_match m[OBS_CLASS_COUNT];
    struct obs_scratch *sc = scratch_get(err);
    char route[160];
    const char *ip;
    long long records;
    size_t n;

    if (sc == NULL)
        return err->code;
    n = obs_inspect_event(det, sc, e->payload, m, OBS_CLASS_COUNT);
    if (n == 0)
        return ERR_OK;
    input_route(e->payload, route, sizeof route);
    ip = e->source_ip ? e->source_ip : input_source_ip(e->payload);
    records = exposed_records(event);
    for (size_t i = 0; i < n; i++) {
        struct obs_signal s;
        enum err_code rc;
        memset(&s, 0, sizeof s);
        s.source = "payload";
        s.rule_id = payload_rule[m[i].cls];
        s.cls = obs_class_name(m[i].cls);
        snprintf(s.technique, sizeof s.technique, "%s", m[i].technique ? m[i].technique : "");
        s.confidence = m[i].confidence;
        s.severity = payload_sev[m[i].cls].severity;
        s.weak = m[i].confidence < 0.5;
        memcpy(s.shape, m[i].shape, sizeof s.shape);
        s.shape[sizeof s.shape - 1] = '\0';
        snprintf(s.location, sizeof s.location, "%s", m[i].location);
        snprintf(s.evidence, sizeof s.evidence, "%s", m[i].evidence);
        rc = add_signal(b, e, event_id, &s, route, ip, records, err);
        if (rc != ERR_OK)
            return rc;
    }
    return ERR_OK;
}

static bool is_uuid(const char *s)
{
    if (s == NULL || strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return false;
    }
    return true;
}

static void reject(json_t *rejected, size_t index, const char *why)
{
    json_array_append_new(rejected, json_pack("{s:I, s:s}", "index", (json_int_t)index, "error",
                                              why));
}

/* Which (key, address) pairs of the batch's CloudTrail records the database knows. */
static enum err_code load_key_state(struct db_tx *tx, json_t *events, struct strset *keys,
                                    struct strset *pairs, struct err *err)
{
    json_t *list = json_array(), *known = NULL, *e;
    struct strset want = {0};
    enum err_code rc = ERR_OK;
    char *text = NULL;
    size_t i;

    if (list == NULL)
        return err_set(err, ERR_NOMEM, "out of memory");
    json_array_foreach(events, i, e)
    {
        const json_t *rec = json_object_get(e, "record");
        const char *k = jstr(json_object_get(rec, "userIdentity"), "accessKeyId");
        if (k != NULL && k[0] != '\0' && !strset_has(&want, k)) {
            strset_add(&want, k);
            json_array_append_new(list, json_string(k));
        }
    }
    if (json_array_size(list) == 0)
        goto out;
    text = json_dumps(list, JSON_COMPACT);
    if (text == NULL) {
        rc = err_set(err, ERR_NOMEM, "out of memory");
        goto out;
    }
    rc = db_obs_key_addresses(tx, text, &known, err);
    if (rc != ERR_OK)
        goto out;
    json_array_foreach(known, i, e)
    {
        char pair[300];
        const char *k = json_string_value(json_array_get(e, 0));
        const char *ip = json_string_value(json_array_get(e, 1));
        if (k == NULL || ip == NULL)
            continue;
        snprintf(pair, sizeof pair, "%s|%s", k, ip);
        if (!strset_add(keys, k) || !strset_add(pairs, pair)) {
            rc = err_set(err, ERR_NOMEM, "out of memory");
            goto out;
        }
    }
out:
    free(text);
    json_decref(list);
    json_decref(known);
    strset_free(&want);
    return rc;
}

static enum obs_key_seen key_seen(const json_t *rec, const char *time, struct batch *b,
                                  struct strset *keys, struct strset *pairs)
{
    const char *k = jstr(json_object_get(rec, "userIdentity"), "accessKeyId");
    const char *ip = jstr(rec, "sourceIPAddress");
    char pair[300];
    enum obs_key_seen seen;

    if (k == NULL || k[0] == '\0' || ip == NULL || !is_ip(ip))
        return OBS_KEY_UNSEEN; /* calls by AWS services on a principal's behalf */
    snprintf(pair, sizeof pair, "%s|%s", k, ip);
    if (strset_has(pairs, pair))
        return OBS_KEY_KNOWN_ADDR;
    seen = strset_has(keys, k) ? OBS_KEY_NEW_ADDR : OBS_KEY_UNSEEN;
    strset_add(keys, k);
    strset_add(pairs, pair);
    json_array_append_new(b->key_rows, json_pack("{s:s, s:s, s:s}", "k", k, "ip", ip, "t", time));
    return seen;
}

/* The tenant's function execution roles, read from the inventory the first time a record of the
 * batch changes an IAM role or policy (rule CT-08). */
struct fn_roles {
    struct db_tx *tx;
    bool loaded;
    enum err_code rc;    /* of the load; the batch fails with it */
    struct err err;
    struct strset accounts; /* accounts with any role in the inventory */
    struct strset roles;    /* "account:role name" */
    struct strset policies; /* managed policy ARNs attached to them */
};

static void fn_roles_load(struct fn_roles *f)
{
    json_t *rows = NULL, *row, *p;
    size_t i, j;

    f->loaded = true;
    f->rc = db_obs_function_roles(f->tx, &rows, &f->err);
    json_array_foreach(rows, i, row)
    {
        const char *acct = json_string_value(json_array_get(row, 0));
        const char *name = json_string_value(json_array_get(row, 1));
        char key[300];
        if (acct == NULL || name == NULL)
            continue;
        snprintf(key, sizeof key, "%s:%s", acct, name);
        if (!strset_add(&f->accounts, acct) || !strset_add(&f->roles, key))
            f->rc = err_set(&f->err, ERR_NOMEM, "out of memory");
        json_array_foreach(json_array_get(row, 2), j, p)
            if (json_is_string(p) && !strset_add(&f->policies, json_string_value(p)))
                f->rc = err_set(&f->err, ERR_NOMEM, "out of memory");
    }
    json_decref(rows);
}

static enum obs_role_use fn_role_use(void *arg, const char *account, const char *role_name,
                                     const char *policy_arn)
{
    struct fn_roles *f = arg;
    char key[300];

    if (!f->loaded)
        fn_roles_load(f);
    if (f->rc != ERR_OK || !strset_has(&f->accounts, account))
        return OBS_ROLE_UNKNOWN; /* no inventory of this account yet */
    if (role_name != NULL) {
        snprintf(key, sizeof key, "%s:%s", account, role_name);
        return strset_has(&f->roles, key) ? OBS_ROLE_FUNCTION : OBS_ROLE_OTHER;
    }
    if (policy_arn != NULL)
        return strset_has(&f->policies, policy_arn) ? OBS_ROLE_FUNCTION : OBS_ROLE_OTHER;
    return OBS_ROLE_UNKNOWN;
}

static void fn_roles_free(struct fn_roles *f)
{
    strset_free(&f->accounts);
    strset_free(&f->roles);
    strset_free(&f->policies);
}

static void day_of(long long ms, char out[11])
{
    char t[32];
    obs_time_format(ms, t);
    memcpy(out, t, 10);
    out[10] = '\0';
}

/* Partitions known to exist in this process. */
static pthread_mutex_t days_mu = PTHREAD_MUTEX_INITIALIZER;
static struct strset days_known;

static enum err_code ensure_partitions(struct db_pool *db, const struct strset *days,
                                       struct err *err)
{
    for (size_t i = 0; i < days->cap; i++) {
        const char *d = days->slot[i];
        bool known;
        enum err_code rc;
        if (d == NULL)
            continue;
        pthread_mutex_lock(&days_mu);
        known = strset_has(&days_known, d);
        pthread_mutex_unlock(&days_mu);
        if (known)
            continue;
        rc = db_obs_partition_ensure(db, d, err);
        if (rc != ERR_OK)
            return rc;
        pthread_mutex_lock(&days_mu);
        strset_add(&days_known, d);
        pthread_mutex_unlock(&days_mu);
    }
    return ERR_OK;
}

/* The UTC days of the events whose time is acceptable. */
static enum err_code plan_days(const struct obs_ingest_opts *o, json_t *events,
                               struct strset *days, struct err *err)
{
    json_t *e;
    size_t i;

    json_array_foreach(events, i, e)
    {
        const char *t = jstr(e, "time");
        long long ms;
        char day[11];
        if (t == NULL || !parse_time(t, &ms) || ms > o->now_ms + OBS_FUTURE_SKEW_S * 1000LL ||
            ms < o->now_ms - (long long)o->retention_days * DAY_MS)
            continue;
        day_of(ms, day);
        if (!strset_add(days, day))
            return err_set(err, ERR_NOMEM, "out of memory");
    }
    return ERR_OK;
}

static void batch_free(struct batch *b)
{
    free(b->events.p);
    free(b->signals.p);
    free(b->sig);
    json_decref(b->key_rows);
    strset_free(&b->days);
}

/* The event's row: its columns and, as body, the payload member's bytes as sent when they can
 * be located in the request (o->text), else the parsed value serialised. */
static enum err_code add_event(struct batch *b, const struct obs_ingest_opts *o, size_t index,
                               const struct ev *v, const char *id, struct err *err)
{
    struct sbuf *t = &b->events;
    struct obs_span body;
    const struct obs_span *sp = o->spans != NULL ? &o->spans[index] : NULL;

    sb_put(t, b->nevents == 0 ? "[" : ",", 1);
    sb_lit(t, "{\"time\":");
    sb_str(t, v->time, false);
    sb_member(t, "event_id", id, false);
    sb_member(t, "type", types[v->type].name, false);
    sb_member(t, "account_id", v->account, false);
    sb_member(t, "region", v->region, false);
    sb_member(t, "function_arn", v->fn, false);
    sb_member(t, "request_id", v->request_id, false);
    sb_member(t, "trace_id", v->trace_id, false);
    sb_member(t, "source_ip", v->source_ip, false);
    sb_lit(t, ",\"body\":");
    if (o->text != NULL && sp != NULL && sp->len > 0 &&
        obs_json_member(o->text + sp->off, sp->len, types[v->type].payload, &body)) {
        sb_put(t, o->text + sp->off + body.off, body.len);
    } else if (json_dump_callback(v->payload, sb_dump_cb, t, JSON_COMPACT | JSON_ENCODE_ANY) !=
               0) {
        t->failed = true;
    }
    sb_put(t, "}", 1);
    if (t->failed)
        return err_set(err, ERR_NOMEM, "out of memory");
    b->nevents++;
    return ERR_OK;
}

/* Validates every candidate and runs detection; valid events become rows in b. */
static enum err_code build(struct db_tx *tx, const struct obs_ingest_opts *o, json_t *events,
                           json_t *rejected, struct batch *b, struct err *err)
{
    json_t *accounts = NULL, *e;
    struct strset acct = {0}, keys = {0}, pairs = {0};
    struct fn_roles roles = {.tx = tx, .rc = ERR_OK};
    struct obs_ct_ctx ctx = {.role_use = fn_role_use, .arg = &roles};
    enum err_code rc;
    size_t i;

    rc = db_obs_accounts(tx, &accounts, err);
    if (rc != ERR_OK)
        goto out;
    json_array_foreach(accounts, i, e)
        strset_add(&acct, json_string_value(e));
    rc = load_key_state(tx, events, &keys, &pairs, err);
    if (rc != ERR_OK)
        goto out;
    json_array_foreach(events, i, e)
    {
        struct ev v;
        char buf[160], id[37];
        const char *why, *ct_id;
        struct obs_signal s;

        if (json_is_null(e))
            continue; /* rejected while parsing */
        why = check_event(e, o->now_ms, o->retention_days, &v, buf, sizeof buf);
        if (why == NULL && !strset_has(&acct, v.account))
            why = "'account_id' is not an AWS account of this tenant";
        if (why != NULL) {
            reject(rejected, i, why);
            continue;
        }
        ct_id = v.type == EV_CLOUDTRAIL ? jstr(v.payload, "eventID") : NULL;
        if (is_uuid(ct_id))
            snprintf(id, sizeof id, "%s", ct_id); /* a record delivered twice is stored once */
        else
            obs_uuid_new(id);
        rc = add_event(b, o, i, &v, id, err);
        if (rc != ERR_OK)
            goto out;
        b->accepted++;
        switch (v.type) {
        case EV_INVOCATION:
            rc = detect_payload(b, &v, e, id, err);
            break;
        case EV_CLOUDTRAIL:
            ctx.key_seen = key_seen(v.payload, v.time, b, &keys, &pairs);
            if (obs_ct_evaluate(v.payload, &ctx, &s) && roles.rc == ERR_OK)
                rc = add_signal(b, &v, id, &s, NULL, jstr(v.payload, "sourceIPAddress") &&
                                is_ip(jstr(v.payload, "sourceIPAddress")) ?
                                jstr(v.payload, "sourceIPAddress") : NULL, 0, err);
            break;
        case EV_FSP:
            if (obs_fsp_evaluate(v.payload, &s))
                rc = add_signal(b, &v, id, &s, NULL, v.source_ip, 0, err);
            break;
        case EV_LOG:
            break;
        }
        if (rc == ERR_OK && roles.rc != ERR_OK) {
            *err = roles.err;
            rc = roles.rc;
        }
        if (rc != ERR_OK)
            goto out;
    }
out:
    json_decref(accounts);
    fn_roles_free(&roles);
    strset_free(&acct);
    strset_free(&keys);
    strset_free(&pairs);
    return rc;
}

/* The signal rows as one JSON array into *text (a new buffer; NULL when no row is left),
 * without those of events that were already stored (ids: the events written now; NULL = all
 * were). */
static enum err_code signal_rows(const struct batch *b, const json_t *ids, char **text,
                                 struct err *err)
{
    struct strset written = {0};
    struct sbuf t = {0};
    size_t i, n = 0;
    json_t *v;

    *text = NULL;
    json_array_foreach(ids, i, v)
        if (!strset_add(&written, json_string_value(v)))
            t.failed = true;
    sb_put(&t, "[", 1);
    for (i = 0; i < b->nsig; i++) {
        if (ids != NULL && !strset_has(&written, b->sig[i].event_id))
            continue;
        if (n++ > 0)
            sb_put(&t, ",", 1);
        sb_put(&t, b->signals.p + b->sig[i].off, b->sig[i].len);
    }
    sb_put(&t, "]", 1);
    strset_free(&written);
    if (t.failed) {
        free(t.p);
        return err_set(err, ERR_NOMEM, "out of memory");
    }
    if (n > 0)
        *text = t.p;
    else
        free(t.p);
    return ERR_OK;
}

static enum err_code store(struct db_tx *tx, const struct obs_ingest_opts *o, struct batch *b,
                           struct err *err)
{
    char *text = NULL;
    json_t *ids = NULL;
    long long inserted = 0;
    enum err_code rc = ERR_OK;

    if (b->nevents > 0) {
        sb_put(&b->events, "]", 1);
        if (b->events.failed)
            return err_set(err, ERR_NOMEM, "out of memory");
        rc = db_obs_events_insert(tx, b->events.p, b->nevents, &inserted, &ids, err);
        if (rc != ERR_OK)
            goto out;
    }
    if (json_array_size(b->key_rows) > 0) {
        text = json_dumps(b->key_rows, JSON_COMPACT);
        rc = text ? db_obs_key_addresses_record(tx, text, err) : err_set(err, ERR_NOMEM, "oom");
        free(text);
        text = NULL;
        if (rc != ERR_OK)
            goto out;
    }
    if (b->nsig > 0) {
        rc = signal_rows(b, ids, &text, err);
        if (rc != ERR_OK || text == NULL) /* NULL: every signal's event was stored before */
            goto out;
        rc = db_obs_signals_insert(tx, text, err);
        if (rc != ERR_OK)
            goto out;
        rc = db_obs_corr_enqueue(tx, o->tenant_id, CORR_DELAY_S, err);
    }
out:
    free(text);
    json_decref(ids);
    return rc;
}

enum err_code obs_ingest(struct db_pool *db, const struct obs_ingest_opts *o, json_t *events,
                         json_t *rejected, json_t **response, struct err *err)
{
    struct batch b = {0};
    struct db_tx *tx = NULL;
    json_t *prior = NULL, *resp = NULL;
    char *resp_text = NULL;
    enum err_code rc;

    *response = NULL;
    b.key_rows = json_array();
    if (b.key_rows == NULL) {
        rc = err_set(err, ERR_NOMEM, "out of memory");
        goto out;
    }
    /* Partitions for the days of the batch exist before the transaction (DDL there would lock
     * other ingests out). */
    rc = plan_days(o, events, &b.days, err);
    if (rc == ERR_OK)
        rc = ensure_partitions(db, &b.days, err);
    if (rc == ERR_OK)
        rc = db_tx_tenant(db, o->tenant_id, &tx, err);
    if (rc != ERR_OK)
        goto out;
    if (o->idem_key != NULL) {
        rc = db_obs_idem_get(tx, o->idem_key, o->body_hash, &prior, err);
        if (rc != ERR_OK)
            goto out;
        if (prior != NULL) {
            if (!json_is_true(json_object_get(prior, "same"))) {
                rc = err_set(err, ERR_CONFLICT,
                             "this idempotency key was used with another body");
                goto out;
            }
            *response = json_incref(json_object_get(prior, "response"));
            goto out; /* the first request's answer; nothing stored twice */
        }
    }
    rc = build(tx, o, events, rejected, &b, err);
    if (rc != ERR_OK)
        goto out;
    rc = store(tx, o, &b, err);
    if (rc != ERR_OK)
        goto out;
    resp = json_pack("{s:I, s:O}", "accepted", (json_int_t)b.accepted, "rejected", rejected);
    if (resp == NULL) {
        rc = err_set(err, ERR_NOMEM, "out of memory");
        goto out;
    }
    if (o->idem_key != NULL) {
        resp_text = json_dumps(resp, JSON_COMPACT);
        rc = resp_text ? db_obs_idem_put(tx, o->idem_key, o->body_hash, 202, resp_text, err)
                       : err_set(err, ERR_NOMEM, "out of memory");
        if (rc != ERR_OK)
            goto out;
    }
    rc = db_tx_commit(tx, err);
    tx = NULL;
    if (rc == ERR_OK) {
        *response = resp;
        resp = NULL;
    }
out:
    db_tx_rollback(tx);
    json_decref(prior);
    json_decref(resp);
    json_decref(rejected);
    free(resp_text);
    batch_free(&b);
    return rc;
}
