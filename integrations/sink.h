/* sink - one notification target (Slack, PagerDuty, JIRA, Splunk) behind one interface. A sink
 * declares its settings (which are secret) and turns a message into HTTP requests and answers
 * into outcomes; the outbox worker (integrations/intg.h) owns sending, retries, back-off,
 * rate limits and dead-lettering. A sink never does I/O, reads the clock or sleeps: format() and
 * parse() are pure, so they are unit-tested against the wire formats (tests/unit/integrations/).
 *
 * A delivery may take several requests (JIRA: look up transitions, then transition); the worker
 * calls format() for step 0, sends, calls parse(), and while parse() answers SINK_NEXT calls
 * format() again with the state parse() left. Sinks with `batch` set may carry several messages
 * in one request: the worker concatenates the bodies format() produced for each (Splunk HEC).
 *
 * Memory: a struct sink_req owns its body (sink_req_clear frees it). Everything else is borrowed
 * from the caller for the duration of the call. Thread-safe: the ops tables are constant. */
#ifndef PARAPET_SINK_H
#define PARAPET_SINK_H

#include "server/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum sink_ftype { SINK_F_STRING = 1, SINK_F_URL, SINK_F_INT };

/* One declared setting of an integration's config. */
struct sink_field {
    const char *name;
    enum sink_ftype type;
    bool required;
    bool secret;    /* write-only: sealed at rest, redacted when shown, never logged */
    size_t max_len; /* strings: bytes */
};

/* What a sink is asked to deliver. */
struct sink_msg {
    const char *event;      /* finding.opened | incident.opened | incident.escalated |
                             * incident.resolved | test */
    const char *subject_id; /* the finding or incident (UUID) */
    const char *severity;   /* critical | high | medium | low | info */
    const json_t *payload;  /* title, summary, counts, functions, link, ... (may be empty) */
    long long event_id;
    double created_at;      /* when the event was recorded, epoch seconds */
    const char *tenant_id;
    const char *integration_id;
    const json_t *config;   /* the integration's settings, secrets included (opened) */
    const char *dashboard;  /* base URL of the dashboard, for links (no trailing slash) */
    const char *issue_key;  /* JIRA: the issue already opened for the subject, or NULL */
};

#define SINK_MAX_HEADERS 6
#define SINK_URL_MAX 2300

struct sink_req {
    const char *method;
    char url[SINK_URL_MAX];
    char headers[SINK_MAX_HEADERS][640];
    unsigned nheaders;
    char *body; /* owned; NULL for none */
    size_t body_len;
};

/* State carried across the steps of one delivery. */
struct sink_state {
    int step;
    char issue_key[64];     /* JIRA: the issue created now (remember it) or known */
    bool remember;          /* issue_key was created by this delivery: record it */
    char transition_id[32]; /* JIRA: the resolve transition found */
};

enum sink_result {
    SINK_DELIVERED = 0, /* done */
    SINK_NEXT,          /* send the next step */
    SINK_RETRY,         /* transient: 429, 5xx, timeouts, unexpected answers */
    SINK_REJECTED,      /* permanent: another 4xx; dead-letter with the reason */
};

struct sink_ops {
    const char *name;                 /* integrations.kind */
    const struct sink_field *fields;  /* terminated by a NULL name */
    bool batch;                       /* several messages per request */
    unsigned min_interval_ms;         /* per destination rate limit (Slack: 1000) */
    /* Checks a complete config beyond the declared types (mutual exclusions, formats). */
    enum err_code (*validate)(const json_t *config, struct err *err);
    /* Builds the request for st->step. ERR_INVALID when the message cannot be sent at all. */
    enum err_code (*format)(const struct sink_msg *m, const struct sink_state *st,
                            struct sink_req *out, struct err *err);
    /* Judges the answer to st->step; may update st. why[] gets a short reason on failure (the
     * destination's own error text, never a secret). */
    enum sink_result (*parse)(const struct sink_msg *m, struct sink_state *st, long status,
                              const char *body, size_t len, char *why, size_t whylen);
};

extern const struct sink_ops sink_slack;
extern const struct sink_ops sink_pagerduty;
extern const struct sink_ops sink_jira;
extern const struct sink_ops sink_splunk;

/* The sink of a kind ("slack"), or NULL. */
const struct sink_ops *sink_find(const char *kind);

/* The declared field of ops named name, or NULL. */
const struct sink_field *sink_field_find(const struct sink_ops *ops, const char *name);

/* ---- helpers shared by the sinks (integrations/sink.c) ---- */

/* Adds a formatted header to r (ERR_INVALID when full or too long). */
enum err_code sink_req_header(struct sink_req *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Dumps obj (compact, stolen) as r's JSON body. */
enum err_code sink_req_json(struct sink_req *r, json_t *obj, struct err *err);

void sink_req_clear(struct sink_req *r); /* NULL-safe; frees the body */

/* The usual HTTP verdict: 2xx delivered, 408, 425, 429 and 5xx retry, other 4xx rejected. */
enum sink_result sink_classify(long status);

/* Copies a short, single-line, printable excerpt of a response body into why[]. */
void sink_excerpt(const char *body, size_t len, char *why, size_t whylen);

/* Settings and payload fields as strings ("" when absent or not a string). */
const char *sink_cfg(const struct sink_msg *m, const char *name);
const char *sink_pl(const struct sink_msg *m, const char *name);

/* A human title for the message: the payload's title, else a generic one. */
const char *sink_title(const struct sink_msg *m);

/* The dashboard link for the subject into out[n]: the payload's absolute http(s) "link" when it
 * has one, else dashboard + "/incidents/<id>" or "/findings/<id>". */
void sink_link(const struct sink_msg *m, char *out, size_t n);

/* "Incident opened", "Finding opened", ..., "Test". */
const char *sink_event_label(const char *event);

/* "Critical", "High", ... */
const char *sink_severity_label(const char *severity);

#endif
