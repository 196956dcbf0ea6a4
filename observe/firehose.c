/* Amazon Data Firehose HTTP endpoint deliveries (wire-formats.md 10.2): each record's data is
 * base64 of gzip of a CloudWatch Logs subscription payload (10.1) - Lambda log lines (10.4) or
 * CloudTrail records delivered through CloudWatch Logs - or CloudTrail JSON itself (10.3). The
 * records become candidate events of the native schema, so one pipeline validates and stores
 * them all. */
#include "observe/observe.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static bool id_char(char c)
{
    return isalnum((unsigned char)c) || c == '-';
}

/* Copies the run of id characters at p (36 for a UUID; at most 128) into out. */
static bool take_id(const char *p, char *out, size_t outlen)
{
    size_t n = 0;
    while (id_char(p[n]) && n < 128)
        n++;
    if (n < 8 || n >= outlen || id_char(p[n]))
        return false;
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
}

/* The n-th tab-separated field of line (0-based), or NULL. */
static const char *tab_field(const char *line, int n)
{
    const char *p = line;
    for (int i = 0; i < n && p != NULL; i++) {
        p = strchr(p, '\t');
        if (p != NULL)
            p++;
    }
    return p;
}

bool obs_log_request_id(const char *line, char *out, size_t outlen)
{
    static const char *const platform[] = {"START RequestId: ", "END RequestId: ",
                                           "REPORT RequestId: "};
    const char *f;

    for (size_t i = 0; i < sizeof platform / sizeof platform[0]; i++)
        if (strncmp(line, platform[i], strlen(platform[i])) == 0)
            return take_id(line + strlen(platform[i]), out, outlen);
    if (line[0] == '{') {
        json_t *j = json_loads(line, JSON_DISABLE_EOF_CHECK, NULL);
        const char *id = jstr(j, "requestId");
        bool ok;
        if (id == NULL)
            id = jstr(json_object_get(j, "record"), "requestId");
        ok = id != NULL && take_id(id, out, outlen) && strlen(id) < outlen &&
             strcmp(id, out) == 0;
        json_decref(j);
        return ok;
    }
    /* Python's logging: "[INFO]\t<ts>\t<id>\t<msg>"; Node and others: "<ts>\t<id>\t<LEVEL>\t". */
    f = tab_field(line, line[0] == '[' ? 2 : 1);
    return f != NULL && take_id(f, out, outlen);
}

static bool is_cloudtrail(const json_t *j)
{
    return json_is_object(j) && jstr(j, "eventVersion") != NULL &&
           jstr(j, "eventSource") != NULL && jstr(j, "eventName") != NULL;
}

/* A CloudTrail record as a candidate event; account falls back to owner. */
static int add_trail(json_t *events, json_t *rec, const char *owner)
{
    const char *acct = jstr(rec, "recipientAccountId");
    const char *ip = jstr(rec, "sourceIPAddress");
    json_t *ev;

    if (acct == NULL)
        acct = jstr(json_object_get(rec, "userIdentity"), "accountId");
    if (acct == NULL)
        acct = owner;
    ev = json_pack("{s:s?, s:s, s:s?, s:s?, s:O}", "time", jstr(rec, "eventTime"), "type",
                   "cloudtrail", "account_id", acct, "region", jstr(rec, "awsRegion"), "record",
                   rec);
    if (ev == NULL)
        return -1;
    if (ip != NULL && (isdigit((unsigned char)ip[0]) || strchr(ip, ':') != NULL))
        json_object_set_new(ev, "source_ip", json_string(ip));
    return json_array_append_new(events, ev);
}

struct drops {
    json_t *list; /* {record, error} */
};

static void drop(struct drops *d, size_t index, const char *why)
{
    json_array_append_new(d->list, json_pack("{s:I, s:s}", "record", (json_int_t)index, "error",
                                             why));
}

static void add_log_events(json_t *events, const json_t *cwl, const char *region,
                           struct drops *d, size_t index)
{
    const char *owner = jstr(cwl, "owner"), *group = jstr(cwl, "logGroup");
    const json_t *list = json_object_get(cwl, "logEvents"), *le;
    char fn[300];
    size_t i;

    if (owner == NULL || group == NULL || !json_is_array(list)) {
        drop(d, index, "a DATA_MESSAGE needs owner, logGroup and logEvents");
        return;
    }
    fn[0] = '\0';
    if (strncmp(group, "/aws/lambda/", 12) == 0 && region != NULL)
        snprintf(fn, sizeof fn, "arn:aws:lambda:%s:%s:function:%.140s", region, owner,
                 group + 12);
    json_array_foreach(list, i, le)
    {
        const char *msg = jstr(le, "message");
        const json_t *ts = json_object_get(le, "timestamp");
        char time[32], rid[130], *line;
        json_t *ev, *ct;
        size_t n;

        if (msg == NULL || !json_is_integer(ts)) {
            drop(d, index, "a log event needs a timestamp and a message");
            continue;
        }
        if (msg[0] == '{') {
            ct = json_loads(msg, JSON_REJECT_DUPLICATES, NULL);
            if (is_cloudtrail(ct)) {
                add_trail(events, ct, owner);
                json_decref(ct);
                continue;
            }
            json_decref(ct);
        }
        if (fn[0] == '\0') {
            drop(d, index, region == NULL ? "no region for Lambda logs (X-Amz-Firehose-Source-Arn)"
                                          : "log lines of a log group that is not a function's");
            continue;
        }
        n = strlen(msg);
        while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
            n--;
        line = strndup(msg, n);
        if (line == NULL)
            continue;
        obs_time_format(json_integer_value(ts), time);
        ev = json_pack("{s:s, s:s, s:s, s:s?, s:s, s:s}", "time", time, "type", "log",
                       "account_id", owner, "region", region, "function_arn", fn, "message", line);
        if (ev != NULL && obs_log_request_id(line, rid, sizeof rid))
            json_object_set_new(ev, "request_id", json_string(rid));
        if (ev != NULL)
            json_array_append_new(events, ev);
        free(line);
    }
}

/* One record's decoded data: a CloudWatch Logs payload or CloudTrail JSON. */
static void add_record(json_t *events, const unsigned char *data, size_t len, const char *region,
                       struct drops *d, size_t index)
{
    char *text = NULL;
    size_t tlen = 0;
    json_t *j = NULL, *recs, *r;
    struct err e;
    const char *type;
    size_t i;

    if (len == 0)
        return; /* Firehose allows empty records */
    if (len >= 2 && data[0] == 0x1f && data[1] == 0x8b) {
        enum err_code rc = obs_inflate(data, len, OBS_RECORD_MAX_INFLATED, &text, &tlen, &e);
        if (rc != ERR_OK) {
            drop(d, index, rc == ERR_TOO_LARGE ? "gzip data inflates too far" : "corrupt gzip");
            return;
        }
        data = (const unsigned char *)text;
        len = tlen;
    }
    j = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, NULL);
    free(text);
    if (!json_is_object(j)) {
        drop(d, index, "not a CloudWatch Logs payload or CloudTrail JSON");
        goto out;
    }
    type = jstr(j, "messageType");
    recs = json_object_get(j, "Records");
    if (type != NULL && strcmp(type, "CONTROL_MESSAGE") == 0)
        goto out; /* CloudWatch Logs checking the destination's health */
    if (type != NULL && strcmp(type, "DATA_MESSAGE") == 0) {
        add_log_events(events, j, region, d, index);
    } else if (json_is_array(recs)) {
        json_array_foreach(recs, i, r)
        {
            if (is_cloudtrail(r))
                add_trail(events, r, NULL);
            else
                drop(d, index, "an element of Records is not a CloudTrail record");
        }
    } else if (is_cloudtrail(j)) {
        add_trail(events, j, NULL);
    } else {
        drop(d, index, "not a CloudWatch Logs payload or CloudTrail JSON");
    }
out:
    json_decref(j);
}

/* The region of "arn:aws:firehose:us-east-1:444455556666:deliverystream/x". */
static bool arn_region(const char *arn, char *out, size_t n)
{
    const char *p = arn, *q;
    for (int i = 0; i < 3 && p != NULL; i++) {
        p = strchr(p, ':');
        if (p != NULL)
            p++;
    }
    if (p == NULL || (q = strchr(p, ':')) == NULL || q == p || (size_t)(q - p) >= n)
        return false;
    memcpy(out, p, (size_t)(q - p));
    out[q - p] = '\0';
    return true;
}

enum err_code obs_firehose_decode(const char *body, size_t len, const char *source_arn,
                                  json_t *events, json_t *dropped, struct err *err)
{
    json_t *doc, *records, *rec;
    json_error_t jerr;
    char region[32];
    struct drops d = {dropped};
    size_t i;

    doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL)
        return err_set(err, ERR_INVALID, "malformed JSON at line %d column %d", jerr.line,
                       jerr.column);
    records = json_object_get(doc, "records");
    if (!json_is_object(doc) || jstr(doc, "requestId") == NULL || !json_is_array(records) ||
        !json_is_integer(json_object_get(doc, "timestamp"))) {
        json_decref(doc);
        return err_set(err, ERR_INVALID, "the body must be {requestId, timestamp, records}");
    }
    if (json_array_size(records) > 10000) {
        json_decref(doc);
        return err_set(err, ERR_TOO_LARGE, "more than 10000 records");
    }
    if (source_arn == NULL || !arn_region(source_arn, region, sizeof region))
        region[0] = '\0';
    json_array_foreach(records, i, rec)
    {
        const char *data = jstr(rec, "data");
        unsigned char *raw = NULL;
        size_t rawlen = 0;
        struct err e;
        enum err_code rc;

        if (data == NULL) {
            drop(&d, i, "a record needs data");
            continue;
        }
        rc = obs_base64_strict(data, json_string_length(json_object_get(rec, "data")),
                               OBS_FIREHOSE_MAX_RECORD, &raw, &rawlen, &e);
        if (rc != ERR_OK) {
            drop(&d, i, rc == ERR_TOO_LARGE ? "data larger than 1,024,000 bytes"
                                            : "data is not base64");
            continue;
        }
        add_record(events, raw, rawlen, region[0] ? region : NULL, &d, i);
        free(raw);
        if (json_array_size(events) > OBS_FIREHOSE_MAX_EVENTS) {
            json_decref(doc);
            return err_set(err, ERR_TOO_LARGE, "more than %d events in one delivery",
                           OBS_FIREHOSE_MAX_EVENTS);
        }
    }
    json_decref(doc);
    return ERR_OK;
}
