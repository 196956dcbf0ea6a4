/* outbox - integrations/' private helpers shared by the delivery worker (outbox.c) and the test
 * send (intg.c). Not for use outside integrations/. */
#ifndef PARAPET_OUTBOX_H
#define PARAPET_OUTBOX_H

#include "integrations/sink.h"
#include "net/net.h"
#include "server/config.h"

/* Fills m (every pointer borrowed: they must outlive m). */
void outbox_msg_init(struct sink_msg *m, const struct config *cfg, const char *event,
                     const char *subject_id, const char *severity, const json_t *payload,
                     long long event_id, double created_at, const char *tenant_id,
                     const char *integration_id, const json_t *config, const char *issue_key);

/* The net request for a sink request: guarded, with the notification timeout and a 64 KiB cap
 * on the answer (a destination answering 50 MB is an error, not an allocation). */
void outbox_net_request(const struct config *cfg, const struct sink_req *r,
                        const char *headers[SINK_MAX_HEADERS + 1], struct net_request *out);

/* Sends r now (blocking). */
enum err_code outbox_send_blocking(const struct config *cfg, const struct sink_req *r,
                                   struct net_response *resp, struct err *err);

/* Replaces every occurrence of a secret value (the string members of secrets, 4 characters or
 * more) in text with "[redacted]", in place: a destination that echoes a token leaks nothing. */
void outbox_scrub(char *text, const json_t *secrets);

#endif
