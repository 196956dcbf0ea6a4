/* Operational routes: liveness, readiness, metrics and the OpenAPI document. */
#include "api/api.h"

#include "db/db.h"
#include "server/metrics.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum err_code api_healthz(struct api_req *req, struct err *err)
{
    static const char body[] = "{\"status\":\"ok\"}";
    (void)err;
    return api_reply_static(req, 200, "application/json", body, sizeof body - 1);
}

/* Once this binary has seen its migrations applied they stay applied (they are never undone), so
 * later checks only need the database to answer. */
static atomic_bool schema_current;

enum err_code api_readyz(struct api_req *req, struct err *err)
{
    unsigned pending = 0;

    if (atomic_load(&schema_current)) {
        if (!db_is_reachable(req->db))
            return err_set(err, ERR_UNAVAILABLE, "database unreachable");
    } else {
        if (db_migrations_pending(req->db, &pending, err) != ERR_OK)
            return err_set(err, ERR_UNAVAILABLE, "database unreachable");
        if (pending > 0)
            return err_set(err, ERR_UNAVAILABLE, "%u database migration(s) pending", pending);
        atomic_store(&schema_current, true);
    }
    return api_reply_json(req, 200,
                          json_pack("{s:s, s:i}", "status", "ready", "schema_version",
                                    db_migrations_latest()));
}

enum err_code api_metrics(struct api_req *req, struct err *err)
{
    char *text = NULL;
    size_t len = 0;

    if (metrics_render(req->db, &text, &len) != 0)
        return err_set(err, ERR_NOMEM, "out of memory");
    return api_reply_buf(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
}

enum err_code api_openapi(struct api_req *req, struct err *err)
{
    (void)err;
    return api_reply_static(req, 200, "application/json", api_openapi_doc, api_openapi_doc_len);
}
