/* observe - telemetry ingestion and correlation into incidents.
 *
 * Ingest: a request body (native {"events": [...]}, NDJSON, or a Firehose HTTP endpoint
 * delivery) is decoded into candidate events (JSON objects of the native schema, README
 * "Telemetry"), each validated alone; detectors (payload inspection through observe/detect.h,
 * the CloudTrail rule table, in-function reports) turn valid events into signals; events and
 * signals are written in one transaction of the caller's tenant, and only then does the caller
 * acknowledge. Correlation (obs_correlate_tenant) later folds signals into incidents.
 *
 * Threading: every function may run on any thread; the detector is compiled once and shared,
 * each thread inspects with its own scratch. Memory: functions returning json_t * return new
 * references the caller decrefs; borrowed arguments are never kept. Errors: enum err_code with a
 * client-safe detail. */
#ifndef PARAPET_OBSERVE_H
#define PARAPET_OBSERVE_H

#include "server/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db_pool;
struct db_tx;

#define OBS_MAX_BODY ((size_t)8 << 20)           /* POST /v1/events, sent and inflated */
#define OBS_FIREHOSE_MAX_BODY ((size_t)64 << 20) /* Firehose's largest buffer, inflated */
#define OBS_FIREHOSE_MAX_RECORD ((size_t)1024000) /* decoded bytes of one Firehose record */
#define OBS_RECORD_MAX_INFLATED ((size_t)16 << 20) /* one CloudWatch Logs payload, inflated */
#define OBS_EVENT_MAX_BYTES ((size_t)1 << 20)    /* one event (its JSON text, about) */
#define OBS_MAX_EVENTS 10000                      /* events in one request */
#define OBS_FIREHOSE_MAX_EVENTS 100000            /* events from one Firehose delivery */
#define OBS_FUTURE_SKEW_S 300                     /* event times may lead ours by this much */
#define OBS_IDEM_KEY_MAX 255

/* ---- decoding (observe/decode.c) ---- */

/* Inflates gzip (or zlib) data into a new NUL-terminated buffer of at most max bytes:
 * ERR_TOO_LARGE past max (a bomb stops there), ERR_INVALID when corrupt or truncated. */
enum err_code obs_inflate(const void *in, size_t len, size_t max, char **out, size_t *outlen,
                          struct err *err);

/* A new random (v4) UUID. */
void obs_uuid_new(char out[37]);

/* Epoch milliseconds as RFC 3339 UTC with milliseconds ("2026-03-01T12:00:00.123Z"). */
void obs_time_format(long long ms, char out[32]);

/* Decodes standard base64 (padding required, no whitespace) into a new buffer of at most max
 * bytes; ERR_INVALID on any other character, ERR_TOO_LARGE past max. */
enum err_code obs_base64_strict(const char *in, size_t len, size_t max, unsigned char **out,
                                size_t *outlen, struct err *err);

/* Where a value lies in a text: bytes [off, off + len); len 0 = unknown. */
struct obs_span {
    size_t off, len;
};

/* Splits a POST /v1/events body into candidate events: {"events": [...]} when ndjson is false,
 * else one JSON object per line (blank lines skipped). *events is a new array in request order;
 * an entry that cannot be an event (a line that does not parse, a non-object) is JSON null and
 * its reason is appended to rejected as {index, error}. *spans (spans may be NULL) gets a new
 * array, one per event, of where each event's text lies in body, so that it can be stored as
 * sent without serialising it again. A body that is not a batch at all is ERR_INVALID; more
 * than OBS_MAX_EVENTS events ERR_TOO_LARGE.
 * The events' nodes come from an arena of the calling thread: free them on that thread with
 * obs_batch_free() once nothing refers to them (json_decref alone also works; the arena is then
 * reused at the next parse). Other values never come from it. */
enum err_code obs_batch_parse(const char *body, size_t len, bool ndjson, json_t **events,
                              struct obs_span **spans, json_t *rejected, struct err *err);

/* Parses an object or array as json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL) does, faster:
 * the same values, or NULL for exactly the texts jansson refuses. A new reference. */
json_t *obs_json_loadb(const char *text, size_t len);

/* Length of the valid UTF-8 sequence of 2-4 bytes at s (of avail bytes), or 0 when it is not
 * one (an ASCII byte, overlong, a surrogate, past U+10FFFF, cut short). */
size_t obs_utf8_char(const unsigned char *s, size_t avail);

/* Frees what obs_batch_parse() returned and makes the thread's arena empty (NULL-safe). */
void obs_batch_free(json_t *events, struct obs_span *spans);

/* The value of the top-level member name of the JSON object text[len] (text that a JSON parser
 * accepted), matching the key as written: false when absent or spelt with escapes. */
bool obs_json_member(const char *text, size_t len, const char *name, struct obs_span *out);

/* ---- Firehose HTTP endpoint deliveries (observe/firehose.c) ---- */

/* Decodes a Firehose delivery body ({requestId, timestamp, records: [{data}]}) whose records are
 * base64(gzip(CloudWatch Logs subscription JSON)) or CloudTrail JSON ({"Records": [...]} or one
 * record), gzip or not, into candidate events of the native schema appended to events (a JSON
 * array). source_arn (X-Amz-Firehose-Source-Arn, may be NULL) gives the region of log events.
 * Records that cannot be decoded are skipped, each appended to dropped (a JSON array) as
 * {record: its index, error: why} (never its content). The envelope itself malformed is
 * ERR_INVALID. */
enum err_code obs_firehose_decode(const char *body, size_t len, const char *source_arn,
                                  json_t *events, json_t *dropped, struct err *err);

/* The request id of a Lambda platform or application log line (START/END/REPORT, the runtime's
 * tab-separated lines, or the JSON log format), copied into out[outlen]; false when none. */
bool obs_log_request_id(const char *line, char *out, size_t outlen);

/* ---- CloudTrail rules (observe/cloudtrail.c) ---- */

/* What the database knows about an access key's source address (rule CT-12). */
enum obs_key_seen {
    OBS_KEY_UNSEEN = 0,  /* never seen: no baseline, nothing to compare */
    OBS_KEY_KNOWN_ADDR,  /* seen from this address before */
    OBS_KEY_NEW_ADDR,    /* seen before, never from this address */
};

/* One detector match, the input of correlation. Strings are copied (bounded). */
struct obs_signal {
    const char *source;    /* "payload" | "cloudtrail" | "fsp" (static) */
    const char *rule_id;   /* "payload.sqli", "CT-06", "fsp.exec" (static) */
    const char *cls;       /* "sqli", "exposure", "egress"... (static) */
    char technique[64];
    double confidence;     /* 0..1 */
    const char *severity;  /* critical | high | medium | low | info (static) */
    bool weak;             /* joins stories, never opens an incident alone */
    char principal[256];
    char access_key_id[32];
    char resource[256];    /* the function or resource acted on, when known */
    char shape[17];
    char location[128];
    char evidence[160];
};

/* Severity names to ranks (info 0 .. critical 4) and back. */
int obs_severity_rank(const char *severity);
const char *obs_severity_name(int rank);

/* Lambda's versioned event names to the API name: "UpdateFunctionCode20150331v2" ->
 * "UpdateFunctionCode". Writes at most outlen bytes. */
void obs_ct_event_name(const char *name, char *out, size_t outlen);

/* What the tenant's inventory says about an IAM role or managed policy (rule CT-08). */
enum obs_role_use {
    OBS_ROLE_UNKNOWN = 0,  /* no inventory yet: every role counts as a function's */
    OBS_ROLE_FUNCTION,     /* a function's execution role, or a policy attached to one */
    OBS_ROLE_OTHER,        /* the inventory knows the account's function roles: not one */
};

/* The database's view of one record, for the rules that need more than the record. */
struct obs_ct_ctx {
    enum obs_key_seen key_seen; /* the record's access key and address (CT-12) */
    /* The role (name, in account) or managed policy (ARN) a record changes; NULL = unknown. */
    enum obs_role_use (*role_use)(void *arg, const char *account, const char *role_name,
                                  const char *policy_arn);
    void *arg;
};

/* Evaluates the rule table on one CloudTrail record (tenant's account: the record's
 * recipientAccountId); writes the most severe match into *out and returns true, or false when
 * nothing matched. ctx: the database's view (may be NULL: nothing known). */
bool obs_ct_evaluate(const json_t *record, const struct obs_ct_ctx *ctx, struct obs_signal *out);

/* In-function reports: the signal for a violation {action, target, decision}, false when the
 * report is not suspicious (a write under /tmp). */
bool obs_fsp_evaluate(const json_t *violation, struct obs_signal *out);

/* ---- ingest (observe/ingest.c) ---- */

struct obs_ingest_opts {
    const char *tenant_id;
    const char *idem_key;         /* Idempotency-Key or "firehose:<request id>"; NULL = none */
    unsigned char body_hash[32];  /* of the request body, for idempotency */
    unsigned retention_days;      /* events older than this are rejected */
    long long now_ms;             /* wall clock, epoch ms */
    const char *text;             /* the body the events were parsed from, or NULL */
    const struct obs_span *spans; /* each event's text in it (obs_batch_parse), or NULL */
};

/* Validates, inspects and stores candidate events (from obs_batch_parse or
 * obs_firehose_decode; null entries are skipped, already rejected), in one transaction of the
 * tenant, then commits. On ERR_OK, *response is {accepted, rejected: [...]} (rejected extends
 * the given array, which is stolen) - either freshly committed, or the stored answer of an
 * earlier request with the same idempotency key. An idempotency key reused with another body
 * is ERR_CONFLICT. The database down is ERR_UNAVAILABLE: nothing was stored. */
enum err_code obs_ingest(struct db_pool *db, const struct obs_ingest_opts *o, json_t *events,
                         json_t *rejected, json_t **response, struct err *err);

/* Validates one candidate event alone (no database: the account check is the caller's);
 * returns NULL when valid, else the reason (static text or written into buf[buflen]). */
const char *obs_event_check(const json_t *ev, long long now_ms, unsigned retention_days,
                            char *buf, size_t buflen);

/* ---- correlation (observe/correlate.c) ---- */

struct obs_corr_stats {
    size_t signals;  /* folded this run */
    size_t opened;   /* incidents opened */
    size_t escalated;
};

/* Folds the tenant's settled, unfolded signals into incidents, in tx (a transaction the caller
 * commits; it need not be scoped: this scopes it to tenant_id). Writes incident.opened and
 * incident.escalated outbox events in tx. *busy: another worker holds the tenant (nothing done;
 * retry later). */
enum err_code obs_correlate_tenant(struct db_tx *tx, const char *tenant_id,
                                   struct obs_corr_stats *st, bool *busy, struct err *err);

#endif
