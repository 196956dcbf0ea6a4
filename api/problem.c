#include "api/api.h"

#include "server/log.h"

#include <microhttpd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct problem_kind {
    unsigned status;
    const char *type; /* appended to the type URI base */
    const char *title;
};

#define PROBLEM_TYPE_BASE "https://parapet.dev/problems/"

/* Complete for every code: tests/unit/api/problem_test.c checks no entry is empty. */
static const struct problem_kind kinds[ERR__COUNT] = {
    [ERR_OK] = {200, "ok", "OK"}, /* never sent: a handler that returns ERR_OK replied */
    [ERR_NOMEM] = {503, "overloaded", "Server is out of memory, retry later"},
    [ERR_INVALID] = {400, "invalid-request", "Request is invalid"},
    [ERR_UNAUTHENTICATED] = {401, "unauthenticated", "Authentication required"},
    [ERR_FORBIDDEN] = {403, "forbidden", "Not allowed"},
    [ERR_NOT_FOUND] = {404, "not-found", "Not found"},
    [ERR_METHOD] = {405, "method-not-allowed", "Method not allowed"},
    [ERR_CONFLICT] = {409, "conflict", "Resource already exists"},
    [ERR_TOO_LARGE] = {413, "payload-too-large", "Request body is too large"},
    [ERR_MEDIA_TYPE] = {415, "unsupported-media-type", "Unsupported content type"},
    [ERR_UNPROCESSABLE] = {422, "unprocessable", "Request cannot be carried out"},
    [ERR_RATE_LIMITED] = {429, "rate-limited", "Too many requests"},
    [ERR_UNAVAILABLE] = {503, "unavailable", "Service temporarily unavailable"},
    [ERR_UPSTREAM] = {502, "upstream-error", "An upstream service failed"},
    [ERR_INTERNAL] = {500, "internal", "Internal error"},
};

unsigned api_problem_status(enum err_code code)
{
    if ((unsigned)code >= ERR__COUNT || kinds[code].status == 0)
        return 500;
    return kinds[code].status;
}

json_t *api_problem_json(const struct err *err, const char *instance, const char *request_id)
{
    enum err_code code = (unsigned)err->code < ERR__COUNT ? err->code : ERR_INTERNAL;
    const struct problem_kind *k = &kinds[code];
    char type[128];
    json_t *doc;

    if (k->status == 0)
        k = &kinds[ERR_INTERNAL];
    snprintf(type, sizeof type, PROBLEM_TYPE_BASE "%s", k->type);
    doc = json_pack("{s:s, s:s, s:i, s:s}", "type", type, "title", k->title, "status",
                    (int)k->status, "detail", err->detail[0] ? err->detail : k->title);
    if (doc == NULL)
        return NULL;
    if (instance != NULL)
        json_object_set_new(doc, "instance", json_string(instance));
    if (request_id != NULL && request_id[0] != '\0')
        json_object_set_new(doc, "request_id", json_string(request_id));
    if (err->field[0] != '\0')
        json_object_set_new(doc, "errors",
                            json_pack("[{s:s, s:s}]", "field", err->field, "message",
                                      err->detail));
    return doc;
}

void api_problem_send(struct api_req *req, const struct err *err, const char *allow)
{
    static const char fallback[] =
        "{\"type\":\"" PROBLEM_TYPE_BASE "internal\",\"title\":\"Internal error\","
        "\"status\":500}";
    unsigned status = api_problem_status(err->code);
    const struct api_foreign *fo = api_foreign_of(req->route);
    bool foreign = fo != NULL && fo->error_body != NULL;
    json_t *doc = foreign ? fo->error_body(req, err)
                          : api_problem_json(err, req->path, req->request_id);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    struct MHD_Response *resp;

    json_decref(doc);
    if (text != NULL)
        resp = MHD_create_response_from_buffer_with_free_callback(strlen(text), text, free);
    else
        resp = MHD_create_response_from_buffer(sizeof fallback - 1, (void *)(uintptr_t)fallback,
                                               MHD_RESPMEM_PERSISTENT);
    if (resp == NULL) {
        free(text);
        return;
    }
    MHD_add_response_header(resp, "Content-Type",
                            foreign ? "application/json" : "application/problem+json");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Request-Id", req->request_id);
    if (allow != NULL)
        MHD_add_response_header(resp, "Allow", allow);
    if (err->code == ERR_UNAVAILABLE || err->code == ERR_NOMEM ||
        err->code == ERR_RATE_LIMITED) {
        char retry[16];
        snprintf(retry, sizeof retry, "%u", req->retry_after ? req->retry_after : 1);
        MHD_add_response_header(resp, "Retry-After", retry);
    }
    if (err->code == ERR_UNAUTHENTICATED)
        MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
    if (req->close_after)
        /* The rest of a bad or oversized body is not read: the connection cannot be reused. */
        MHD_add_response_header(resp, "Connection", "close");
    if (MHD_queue_response(req->conn, status, resp) == MHD_YES) {
        req->status = (int)status;
        req->replied = true;
    } else {
        log_event(LOG_WARN, req->request_id, "http.queue_failed", "{s:i}", "status",
                  (int)status);
    }
    MHD_destroy_response(resp);
}
