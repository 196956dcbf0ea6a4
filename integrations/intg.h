/* intg - notification integrations: their settings (validated per kind, secrets sealed at rest
 * and redacted when shown), the blocking test send behind POST /v1/integrations/{id}/test, and
 * the delivery worker that empties the outbox.
 *
 * Delivery (integrations/outbox.c): one thread per process (not in --role api) loops over
 *   1. the tenants with work (notify_tenants_with_work(), a SECURITY DEFINER function), then per
 *      tenant, each in its own transaction:
 *   2. dispatch: pending events_outbox rows -> one deliveries row per matching integration, the
 *      event marked dispatched (same transaction; (integration, event) is unique);
 *   3. claim: due deliveries under a lease (FOR UPDATE SKIP LOCKED, so several instances share
 *      the work), in order within each story (integration and subject), per integration at most
 *      half of the concurrency (a hanging destination cannot take every slot), Slack one per
 *      second per webhook;
 *   4. send with libcurl multi (net_multi), at most PARAPET_NOTIFY_CONCURRENCY requests at once,
 *      each with a timeout and a response cap, through the egress guard;
 *   5. record outcomes in one statement per tenant: delivered; retry after exponential back-off
 *      with jitter (first within PARAPET_NOTIFY_RETRY_BASE_MS, doubling to
 *      PARAPET_NOTIFY_RETRY_CAP_S) or the destination's Retry-After on 429/503; dead (with the
 *      reason) on a permanent 4xx or after PARAPET_NOTIFY_MAX_ATTEMPTS.
 * It polls every PARAPET_NOTIFY_POLL_MS (200 ms) when idle and at once while busy, so a
 * notification leaves within a second of its event's commit. A crash leaves claimed deliveries
 * 'sending' until their lease passes, then they are sent again: delivery is at least once, and
 * exactly once unless the process dies between the destination's answer and the commit that
 * records it (PagerDuty deduplicates that case by dedup_key).
 *
 * Threading: intg_worker_start()/intg_worker_stop() from the main thread; the rest is reentrant.
 * Errors: enum err_code with a client-safe detail naming the field ("config.webhook_url"). */
#ifndef PARAPET_INTG_H
#define PARAPET_INTG_H

#include "db/db.h"
#include "server/config.h"
#include "server/err.h"

#include <jansson.h>
#include <stdbool.h>

/* Checks a kind's config (an object from a request) against its declared fields and rules;
 * base (may be NULL) is the current full config for a PATCH: fields in config replace it, a null
 * removes an optional one, missing secrets are kept. On success *redacted (settings with every
 * secret replaced by a redacted marker, fit to store and show) and *secrets (the secret settings,
 * to seal) are new references. */
enum err_code intg_config_check(const char *kind, const json_t *config, const json_t *base,
                                json_t **redacted, json_t **secrets, struct err *err);

/* Seals secrets for the integration (AAD: tenant and integration id) under cfg's key into *hex
 * (malloc'd hex text, for db_intg). ERR_UNAVAILABLE when PARAPET_SECRET_KEY is not set. */
enum err_code intg_seal(const struct config *cfg, const char *tenant_id, const char *id,
                        const json_t *secrets, char **hex, struct err *err);

/* Opens sealed secrets (hex) into a JSON object (new reference). */
enum err_code intg_open(const struct config *cfg, const char *tenant_id, const char *id,
                        const char *hex, json_t **secrets, struct err *err);

/* The full settings: redacted config with the secrets put back (new reference). */
json_t *intg_config_full(const json_t *redacted, const json_t *secrets);

/* Severity names and event kinds. */
bool intg_severity_is_valid(const char *s);
bool intg_event_is_valid(const char *s);

/* Delay before retry number `attempt` (1 = the first retry) in milliseconds: base_ms doubled per
 * attempt up to cap_s, scaled by jitter in [0.5, 1.0) from r01 in [0, 1); a Retry-After of
 * retry_after_s >= 0 seconds takes precedence (capped at one hour). */
long long intg_backoff_ms(unsigned attempt, unsigned base_ms, unsigned cap_s,
                          long retry_after_s, double r01);

/* Sends a test message through integration id of tenant_id now (blocking), and describes the
 * destination's answer in *out (new reference): {delivered, status, response, error}. */
enum err_code intg_test_send(const struct config *cfg, struct db_pool *db, const char *tenant_id,
                             const char *id, json_t **out, struct err *err);

struct intg_worker;

/* Starts the delivery thread; instance names this process in deliveries.locked_by. */
enum err_code intg_worker_start(const struct config *cfg, struct db_pool *db,
                                const char *instance, struct intg_worker **out, struct err *err);

/* Stops it after the requests in flight end (or time out) and their outcomes are recorded;
 * NULL-safe. */
void intg_worker_stop(struct intg_worker *w);

#endif
