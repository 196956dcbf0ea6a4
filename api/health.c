/* Operational routes: liveness, readiness, metrics and the OpenAPI document. */
#include "api/api.h"

#include "db/db.h"
#include "server/metrics.h"

#include "server/config.h"

#include <microhttpd.h>
#include <openssl/crypto.h>

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

/* With PARAPET_METRICS_TOKEN set, /metrics answers only "Authorization: Bearer <token>"
 * (compared in constant time); without it, anyone who reaches the port may scrape. */
static bool metrics_allowed(const struct api_req *req)
{
    const char *want = req->app->cfg->metrics_token, *auth;
    size_t n;

    if (want == NULL)
        return true;
    auth = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    n = strlen(want);
    return auth != NULL && strncmp(auth, "Bearer ", 7) == 0 && strlen(auth + 7) == n &&
           CRYPTO_memcmp(auth + 7, want, n) == 0;
}

enum err_code api_metrics(struct api_req *req, struct err *err)
{
    char *text = NULL;
    size_t len = 0;

    if (!metrics_allowed(req))
        return err_set(err, ERR_UNAUTHENTICATED, "metrics need the bearer token configured in "
                                                 "PARAPET_METRICS_TOKEN");
    if (metrics_render(req->db, &text, &len) != 0)
        return err_set(err, ERR_NOMEM, "out of memory");
    return api_reply_buf(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
}

enum err_code api_openapi(struct api_req *req, struct err *err)
{
    (void)err;
    return api_reply_static(req, 200, "application/json", api_openapi_doc, api_openapi_doc_len);
}
