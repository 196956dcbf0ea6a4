/* Telemetry ingestion: POST /v1/events (native JSON or NDJSON, gzip or not) and the Amazon Data
 * Firehose HTTP endpoint, POST /v1/ingest/firehose (wire-formats.md 10.2). Both answer only
 * after the events are committed (observe/ingest.c). */
#include "api/api.h"

#include "observe/observe.h"
#include "server/config.h"
#include "server/log.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static long long wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *header(const struct api_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

/* The body as sent, or inflated when Content-Encoding is gzip (at most max bytes). *owned is
 * the buffer to free (NULL when the body is the request's own). */
static enum err_code body_decoded(struct api_req *req, size_t max, const char **body, size_t *len,
                                  char **owned, struct err *err)
{
    const char *ce = header(req, MHD_HTTP_HEADER_CONTENT_ENCODING);
    enum err_code rc;

    *owned = NULL;
    *body = req->body;
    *len = req->body_len;
    if (ce == NULL || strcasecmp(ce, "identity") == 0)
        return ERR_OK;
    if (strcasecmp(ce, "gzip") != 0)
        return err_set(err, ERR_MEDIA_TYPE, "Content-Encoding must be gzip or absent");
    if (req->body == NULL || req->body_len == 0)
        return err_set(err, ERR_INVALID, "empty gzip body");
    rc = obs_inflate(req->body, req->body_len, max, owned, len, err);
    if (rc == ERR_OK)
        *body = *owned;
    return rc;
}

/* The media type without parameters equals want (case-insensitive). */
static bool media_is(const char *ct, const char *want)
{
    size_t n = strlen(want);
    if (ct == NULL || strncasecmp(ct, want, n) != 0)
        return false;
    ct += n;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    return *ct == '\0' || *ct == ';';
}

static enum err_code idem_key(const struct api_req *req, const char **out, struct err *err)
{
    const char *k = header(req, "Idempotency-Key");
    *out = NULL;
    if (k == NULL)
        return ERR_OK;
    if (k[0] == '\0' || strlen(k) > OBS_IDEM_KEY_MAX)
        return err_set_field(err, ERR_INVALID, "Idempotency-Key",
                             "Idempotency-Key must be 1-%d characters", OBS_IDEM_KEY_MAX);
    for (const char *p = k; *p; p++)
        if ((unsigned char)*p < 0x21 || *p == 0x7f)
            return err_set_field(err, ERR_INVALID, "Idempotency-Key",
                                 "Idempotency-Key must be printable ASCII without spaces");
    *out = k;
    return ERR_OK;
}

enum err_code api_events_ingest(struct api_req *req, struct err *err)
{
    const char *ct = header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
    struct obs_ingest_opts o = {0};
    json_t *events = NULL, *rejected = NULL, *resp = NULL;
    struct obs_span *spans = NULL;
    const char *body;
    char *owned = NULL;
    size_t len;
    bool ndjson;
    enum err_code rc;

    if (media_is(ct, "application/x-ndjson") || media_is(ct, "application/jsonl"))
        ndjson = true;
    else if (media_is(ct, "application/json"))
        ndjson = false;
    else
        return err_set(err, ERR_MEDIA_TYPE,
                       "the body must be application/json or application/x-ndjson");
    rc = idem_key(req, &o.idem_key, err);
    if (rc != ERR_OK)
        return rc;
    rc = body_decoded(req, OBS_MAX_BODY, &body, &len, &owned, err);
    if (rc != ERR_OK)
        goto out;
    rejected = json_array();
    if (rejected == NULL) {
        rc = err_set(err, ERR_NOMEM, "out of memory");
        goto out;
    }
    rc = obs_batch_parse(body, len, ndjson, &events, &spans, rejected, err);
    if (rc != ERR_OK)
        goto out;
    o.tenant_id = req->who.tenant_id;
    o.retention_days = req->app->cfg->event_retention_days;
    o.now_ms = wall_ms();
    o.text = body;
    o.spans = spans;
    api_sha256(body, len, o.body_hash);
    rc = obs_ingest(req->db, &o, events, rejected, &resp, err);
    rejected = NULL; /* stolen */
    if (rc == ERR_OK)
        rc = api_reply_json(req, 202, resp);
out:
    obs_batch_free(events, spans); /* on this thread: the events' nodes are its arena's */
    free(owned);
    json_decref(rejected);
    return rc;
}

/* Firehose's request id: the header, else the body's requestId (checked when decoding). */
static void firehose_request_id(const struct api_req *req, char out[128])
{
    const char *id = header(req, "X-Amz-Firehose-Request-Id");
    snprintf(out, 128, "%s", id != NULL ? id : "");
    for (char *p = out; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '"')
            *p = '_';
}

json_t *api_firehose_error(const struct api_req *req, const struct err *err)
{
    char id[128];
    firehose_request_id(req, id);
    return json_pack("{s:s, s:I, s:s}", "requestId", id, "timestamp", (json_int_t)wall_ms(),
                     "errorMessage", err->detail[0] ? err->detail : "request failed");
}

enum err_code api_firehose_ingest(struct api_req *req, struct err *err)
{
    struct obs_ingest_opts o = {0};
    json_t *events = NULL, *rejected = NULL, *resp = NULL;
    const char *body, *ct = header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
    char *owned = NULL, id[128], key[160];
    size_t len, dropped = 0;
    enum err_code rc;

    firehose_request_id(req, id);
    if (id[0] == '\0')
        return err_set(err, ERR_INVALID, "X-Amz-Firehose-Request-Id is required");
    if (ct != NULL && !media_is(ct, "application/json"))
        return err_set(err, ERR_MEDIA_TYPE, "Content-Type must be application/json");
    rc = body_decoded(req, OBS_FIREHOSE_MAX_BODY, &body, &len, &owned, err);
    if (rc != ERR_OK)
        goto out;
    events = json_array();
    rejected = json_array();
    if (events == NULL || rejected == NULL) {
        rc = err_set(err, ERR_NOMEM, "out of memory");
        goto out;
    }
    /* Records that cannot be decoded join the answer's rejections ({record, error}), which are
     * stored with it: GET /v1/ingest/rejections shows them to the tenant. */
    rc = obs_firehose_decode(body, len, header(req, "X-Amz-Firehose-Source-Arn"), events,
                             rejected, err);
    if (rc != ERR_OK)
        goto out;
    dropped = json_array_size(rejected);
    if (json_array_size(events) == 0 && dropped > 0) {
        /* Nothing usable: a failure, so Firehose keeps the batch in its error bucket. */
        rc = err_set(err, ERR_INVALID, "no record could be decoded (record %lld: %s)",
                     json_integer_value(json_object_get(json_array_get(rejected, 0), "record")),
                     json_string_value(json_object_get(json_array_get(rejected, 0), "error")));
        goto out;
    }
    snprintf(key, sizeof key, "firehose:%s", id);
    o.idem_key = key;
    o.tenant_id = req->who.tenant_id;
    o.retention_days = req->app->cfg->event_retention_days;
    o.now_ms = wall_ms();
    api_sha256(body, len, o.body_hash);
    rc = obs_ingest(req->db, &o, events, rejected, &resp, err);
    rejected = NULL;
    if (rc == ERR_OK) {
        /* Firehose has no per-record answer: what could not be used is stored with the answer
         * (GET /v1/ingest/rejections) and logged (never the data), the rest acknowledged;
         * retrying would not make it usable. */
        const json_t *rej = json_object_get(resp, "rejected");
        const char *first = json_string_value(json_object_get(json_array_get(rej, 0), "error"));
        if (json_array_size(rej) > 0)
            log_event(LOG_WARN, req->request_id, "ingest.firehose_rejected",
                      "{s:s, s:I, s:I, s:s}", "tenant_id", req->who.tenant_id,
                      "records_dropped", (json_int_t)dropped, "rejected",
                      (json_int_t)json_array_size(rej), "first_reason", first ? first : "");
        json_decref(resp);
        resp = json_pack("{s:s, s:I}", "requestId", id, "timestamp", (json_int_t)wall_ms());
        rc = resp ? api_reply_json(req, 200, resp) : err_set(err, ERR_NOMEM, "out of memory");
    }
out:
    free(owned);
    json_decref(events);
    json_decref(rejected);
    return rc;
}
