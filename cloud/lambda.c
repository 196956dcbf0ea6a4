/* Lambda's control plane (REST-JSON, PascalCase): every function of a region and what each one
 * exposes, in the shapes of posture/inventory.md. Calls for many functions go out in batches
 * (cloud_call_many); a call that fails for one function is recorded in its "Errors" and the
 * rest carry on. */
#include "cloud/aws.h"

#include "net/net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_PAGES_MAX 2000 /* 100,000 functions */

/* Records a failed call on obj's "Errors" ({call, code, message}). */
void cloud_record_error(json_t *obj, const char *call, const char *code, const char *message)
{
    json_t *errs = json_object_get(obj, "Errors");

    if (!json_is_array(errs)) {
        errs = json_array();
        json_object_set_new(obj, "Errors", errs);
    }
    json_array_append_new(errs, json_pack("{s:s, s:s, s:s}", "call", call, "code", code,
                                          "message", message ? message : ""));
}

/* The JSON object of a 2xx answer, or NULL (recording why on obj when obj is given). */
json_t *cloud_reply_json(const struct cloud_reply *r, json_t *obj, const char *call)
{
    json_error_t je;
    json_t *j = json_loadb(r->body ? r->body : "", r->body_len, JSON_REJECT_DUPLICATES, &je);

    if (!json_is_object(j)) {
        json_decref(j);
        if (obj != NULL)
            cloud_record_error(obj, call, "MalformedResponse", "AWS's answer was not a JSON object");
        return NULL;
    }
    return j;
}

enum err_code cloud_rest_list(struct cloud_principal *p, const struct cloud_list *l, json_t *items,
                              char aws_error[64], struct err *err)
{
    char query[4096], token[1024] = "", enc[3 * sizeof token];

    aws_error[0] = '\0';
    for (int page = 0; page < LIST_PAGES_MAX; page++) {
        struct cloud_reply r;
        json_t *j, *arr, *next;
        enum err_code rc;

        if (token[0] != '\0') {
            int qn;
            if (!cloud_pct_encode(token, enc, sizeof enc))
                return err_set(err, ERR_UPSTREAM, "AWS's page token is too long");
            qn = snprintf(query, sizeof query, "%.512s%s%.64s=%s", l->query ? l->query : "",
                          l->query && l->query[0] ? "&" : "", l->token_param, enc);
            if (qn < 0 || (size_t)qn >= sizeof query)
                return err_set(err, ERR_UPSTREAM, "AWS's page token is too long");
        } else {
            snprintf(query, sizeof query, "%s", l->query ? l->query : "");
        }
        struct cloud_call call = {.service = l->service, .region = l->region, .method = "GET",
                                  .path = l->path, .query = query};
        rc = cloud_call(p, &call, &r, err);
        if (rc != ERR_OK)
            return rc;
        if (r.status < 200 || r.status > 299) {
            snprintf(aws_error, 64, "%s", r.aws_error);
            rc = err_set(err, ERR_UPSTREAM, "%s", r.message[0] ? r.message : r.aws_error);
            cloud_reply_free(&r);
            return rc;
        }
        j = cloud_reply_json(&r, NULL, NULL);
        cloud_reply_free(&r);
        arr = json_object_get(j, l->items_key);
        if (j == NULL || (arr != NULL && !json_is_array(arr))) {
            json_decref(j);
            snprintf(aws_error, 64, "MalformedResponse");
            return err_set(err, ERR_UPSTREAM, "AWS's answer had no %s list", l->items_key);
        }
        if (arr != NULL) /* an absent list is an empty one */
            json_array_extend(items, arr);
        next = json_object_get(j, l->token_key);
        if (!json_is_string(next) || json_string_length(next) == 0 ||
            json_string_length(next) >= sizeof token) {
            json_decref(j);
            return ERR_OK;
        }
        snprintf(token, sizeof token, "%s", json_string_value(next));
        json_decref(j);
    }
    return err_set(err, ERR_UPSTREAM, "more than %d pages of %s", LIST_PAGES_MAX, l->items_key);
}

enum err_code cloud_rest_list_new(struct cloud_principal *p, const struct cloud_list *l,
                                  json_t **out, char aws_error[64], struct err *err)
{
    enum err_code rc;

    *out = json_array();
    if (*out == NULL)
        return err_set(err, ERR_NOMEM, "out of memory");
    rc = cloud_rest_list(p, l, *out, aws_error, err);
    if (rc != ERR_OK) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

enum err_code cloud_lambda_list(struct cloud_principal *p, const char *region, json_t **out,
                                char aws_error[64], struct err *err)
{
    struct cloud_list l = {"lambda", region, "/2015-03-31/functions/", "MaxItems=50", "Functions",
                           "NextMarker", "Marker"};
    return cloud_rest_list_new(p, &l, out, aws_error, err);
}

/* The per-function calls, in the order they are batched. */
enum {
    D_FUNCTION,
    D_POLICY,
    D_URL,
    D_CONCURRENCY,
    D_INVOKE_CONFIG,
    D_MAPPINGS,
    D_COUNT
};

static const struct {
    const char *call;
    const char *prefix; /* path before the encoded name (NULL: the path is prefix only) */
    const char *suffix;
} details[D_COUNT] = {
    {"GetFunction", "/2015-03-31/functions/", ""},
    {"GetPolicy", "/2015-03-31/functions/", "/policy"},
    {"GetFunctionUrlConfig", "/2021-10-31/functions/", "/url"},
    {"GetFunctionConcurrency", "/2019-09-30/functions/", "/concurrency"},
    {"GetFunctionEventInvokeConfig", "/2019-09-25/functions/", "/event-invoke-config"},
    {"ListEventSourceMappings", "/2015-03-31/event-source-mappings/", NULL},
};

/* Folds one detail answer into the function object fn. */
static void detail_apply(int d, json_t *fn, const struct cloud_reply *r, json_t *code)
{
    json_t *j;

    if (r->status == 404 && d != D_FUNCTION && d != D_MAPPINGS)
        return; /* no policy / URL / invoke config: nothing to record */
    if (r->status < 200 || r->status > 299) {
        cloud_record_error(fn, details[d].call, r->aws_error, r->message);
        return;
    }
    j = cloud_reply_json(r, fn, details[d].call);
    if (j == NULL)
        return;
    switch (d) {
    case D_FUNCTION: {
        json_t *tags = json_object_get(j, "Tags");
        json_t *loc = json_object_get(json_object_get(j, "Code"), "Location");
        json_t *conf = json_object_get(j, "Configuration");
        if (json_is_object(tags))
            json_object_set(fn, "Tags", tags);
        /* State members that ListFunctions leaves out. */
        if (json_is_object(conf)) {
            static const char *const keep[] = {"State", "StateReason", "LastUpdateStatus"};
            for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
                json_t *v = json_object_get(conf, keep[i]);
                if (v != NULL)
                    json_object_set(fn, keep[i], v);
            }
        }
        /* The presigned package URL carries a session token: kept aside, never stored. */
        if (json_is_string(loc) && code != NULL)
            json_object_set(code, json_string_value(json_object_get(fn, "FunctionArn")), loc);
        break;
    }
    case D_POLICY: {
        const char *text = json_string_value(json_object_get(j, "Policy"));
        json_t *doc = text ? json_loads(text, JSON_REJECT_DUPLICATES, NULL) : NULL;
        if (json_is_object(doc))
            json_object_set_new(fn, "Policy", doc);
        else {
            json_decref(doc);
            cloud_record_error(fn, "GetPolicy", "MalformedPolicy",
                               "the resource policy is not a JSON object");
        }
        break;
    }
    case D_URL:
        json_object_set(fn, "UrlConfig", j);
        break;
    case D_CONCURRENCY: {
        json_t *v = json_object_get(j, "ReservedConcurrentExecutions");
        if (json_is_integer(v))
            json_object_set(fn, "ReservedConcurrentExecutions", v);
        break;
    }
    case D_INVOKE_CONFIG:
        json_object_set(fn, "EventInvokeConfig", j);
        break;
    case D_MAPPINGS: {
        json_t *v = json_object_get(j, "EventSourceMappings");
        json_object_set(fn, "EventSourceMappings", json_is_array(v) ? v : json_array());
        if (json_is_array(v) && json_is_string(json_object_get(j, "NextMarker")))
            cloud_record_error(fn, "ListEventSourceMappings", "Truncated",
                               "more than 100 event source mappings: the first 100 were read");
        break;
    }
    }
    json_decref(j);
}

enum err_code cloud_lambda_details(struct cloud_principal *p, const char *region,
                                   json_t *functions, unsigned parallel, json_t *code,
                                   struct err *err)
{
    size_t nf = json_array_size(functions), n = nf * D_COUNT;
    struct cloud_call *calls = calloc(n ? n : 1, sizeof *calls);
    struct cloud_reply *replies = calloc(n ? n : 1, sizeof *replies);
    struct err *errs = calloc(n ? n : 1, sizeof *errs);
    char (*paths)[320] = calloc(n ? n : 1, sizeof *paths);
    char (*queries)[300] = calloc(nf ? nf : 1, sizeof *queries);
    enum err_code rc = ERR_OK;

    if (calls == NULL || replies == NULL || errs == NULL || paths == NULL || queries == NULL) {
        rc = err_set(err, ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t f = 0; f < nf; f++) {
        const char *name = json_string_value(json_object_get(json_array_get(functions, f),
                                                             "FunctionName"));
        char enc[256];
        if (name == NULL || !cloud_pct_encode(name, enc, sizeof enc))
            snprintf(enc, sizeof enc, "invalid-name");
        snprintf(queries[f], sizeof queries[f], "FunctionName=%s&MaxItems=100", enc);
        for (int d = 0; d < D_COUNT; d++) {
            size_t i = f * D_COUNT + (size_t)d;
            if (details[d].suffix != NULL)
                snprintf(paths[i], sizeof paths[i], "%s%s%s", details[d].prefix, enc,
                         details[d].suffix);
            else
                snprintf(paths[i], sizeof paths[i], "%s", details[d].prefix);
            calls[i] = (struct cloud_call){.service = "lambda", .region = region,
                                           .method = "GET", .path = paths[i],
                                           .query = d == D_MAPPINGS ? queries[f] : NULL};
        }
    }
    rc = cloud_call_many(p, calls, replies, errs, n, parallel, err);
    if (rc != ERR_OK)
        goto out;
    for (size_t i = 0; i < n; i++) {
        json_t *fn = json_array_get(functions, i / D_COUNT);
        int d = (int)(i % D_COUNT);
        if (errs[i].code != ERR_OK)
            cloud_record_error(fn, details[d].call, "Unavailable", errs[i].detail);
        else
            detail_apply(d, fn, &replies[i], code);
    }
out:
    for (size_t i = 0; replies != NULL && i < n; i++)
        cloud_reply_free(&replies[i]);
    free(calls);
    free(replies);
    free(errs);
    free(paths);
    free(queries);
    return rc;
}

enum err_code cloud_lambda_code(const char *url, size_t max, unsigned char **out, size_t *len,
                                struct err *err)
{
    /* The presigned URL is sent as is: re-encoding or re-signing would break it. */
    struct net_request req = {.method = "GET", .url = url, .timeout_ms = 60000,
                              .max_response = max};
    struct net_response resp;
    enum err_code rc = net_do(&req, &resp, err);

    *out = NULL;
    *len = 0;
    if (rc != ERR_OK) {
        net_response_free(&resp);
        if (strstr(err->detail, "larger than") != NULL)
            return err_set(err, ERR_TOO_LARGE, "the package is larger than %zu bytes", max);
        return rc;
    }
    if (resp.status != 200) {
        long status = resp.status;
        net_response_free(&resp);
        return err_set(err, ERR_UPSTREAM, "the package download answered HTTP %ld", status);
    }
    *out = (unsigned char *)resp.body;
    *len = resp.body_len;
    return ERR_OK;
}
