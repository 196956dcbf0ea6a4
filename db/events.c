#include "db/db_int.h"

#include <stdlib.h>

static const struct db_stmt record_stmt = {
    "event_record",
    "INSERT INTO events_outbox (tenant_id, kind, subject_id, severity, payload)"
    " VALUES (app_tenant(), $1, $2, $3, $4::jsonb)",
    4};

enum err_code db_event_record(struct db_tx *tx, const char *kind, const char *subject_id,
                              const char *severity, const json_t *payload, struct err *err)
{
    char *text = json_dumps(payload, JSON_COMPACT);
    if (!text)
        return err_set(err, ERR_NOMEM, "event payload");
    const char *p[4] = {kind, subject_id, severity, text};
    enum err_code rc = db_exec_count(tx, &record_stmt, p, NULL, err);
    free(text);
    return rc;
}
