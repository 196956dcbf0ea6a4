/* A message fixture for the sink tests: an incident as observe would record it. */
#ifndef PARAPET_TEST_SINK_FIXTURE_H
#define PARAPET_TEST_SINK_FIXTURE_H

#include "integrations/sink.h"

#include <string.h>

#define FX_SUBJECT "7d7a9a3e-2f5c-4b7e-9a53-1c2d3e4f5a6b"
#define FX_INTEGRATION "0f8c2a5e-6b1d-4c3e-9a7f-2e4d6b8c0a1f"
#define FX_TENANT "11111111-2222-4333-8444-555555555555"

static inline json_t *fx_payload(void)
{
    return json_pack("{s:s, s:s, s:{s:i, s:i}, s:[s, s]}", "title",
                     "SQL injection against payments-webhook", "summary",
                     "1,204 attempts from 37 addresses; <b>users</b> & orders read", "counts",
                     "attempts", 1204, "sources", 37, "functions", "payments-webhook",
                     "orders-api");
}

static inline void fx_msg(struct sink_msg *m, const char *event, const char *severity,
                   const json_t *payload, const json_t *config)
{
    memset(m, 0, sizeof *m);
    m->event = event;
    m->subject_id = FX_SUBJECT;
    m->severity = severity;
    m->payload = payload;
    m->event_id = 42;
    m->created_at = 1772366400.5;
    m->tenant_id = FX_TENANT;
    m->integration_id = FX_INTEGRATION;
    m->config = config;
    m->dashboard = "https://app.parapet.example";
}

/* The request body as JSON (new reference). */
static inline json_t *fx_body(const struct sink_req *r)
{
    return json_loadb(r->body, r->body_len, 0, NULL);
}

/* The value of header name in r, or NULL. */
static inline const char *fx_header(const struct sink_req *r, const char *name)
{
    size_t n = strlen(name);
    for (unsigned i = 0; i < r->nheaders; i++)
        if (strncmp(r->headers[i], name, n) == 0 && r->headers[i][n] == ':')
            return r->headers[i] + n + 2;
    return NULL;
}

#endif
