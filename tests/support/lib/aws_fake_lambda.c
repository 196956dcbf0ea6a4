/* aws_fake_lambda - the Lambda control-plane reads a scanner makes (rest-json, PascalCase),
 * wire-formats.md section 7: ListFunctions, GetFunction, GetPolicy, GetFunctionUrlConfig,
 * ListFunctionUrlConfigs, GetFunctionConcurrency, GetFunctionEventInvokeConfig,
 * ListEventSourceMappings. */
#include "aws_fake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_PAGE 50 /* ListFunctions answers at most this many per page */
#define ESM_PAGE 100 /* ListEventSourceMappings likewise */
#define MAX_ITEMS 10000

struct route {
    const char *prefix; /* path up to the function name ("" when none) */
    const char *suffix; /* after the function name; NULL: no function label */
    const char *op;
    const char *const *params; /* query parameters allowed */
};

static const char *const p_list[] = {"MaxItems", "Marker", "FunctionVersion", "MasterRegion", NULL};
static const char *const p_qual[] = {"Qualifier", NULL};
static const char *const p_none[] = {NULL};
static const char *const p_esm[] = {"FunctionName", "EventSourceArn", "Marker", "MaxItems", NULL};
static const char *const p_page[] = {"Marker", "MaxItems", NULL};

static const struct route routes[] = {
    {"/2015-03-31/functions/", NULL, "ListFunctions", p_list},
    {"/2015-03-31/functions", NULL, "ListFunctions", p_list},
    {"/2015-03-31/event-source-mappings/", NULL, "ListEventSourceMappings", p_esm},
    {"/2015-03-31/event-source-mappings", NULL, "ListEventSourceMappings", p_esm},
    {"/2015-03-31/functions/", "/policy", "GetPolicy", p_qual},
    {"/2021-10-31/functions/", "/url", "GetFunctionUrlConfig", p_qual},
    {"/2021-10-31/functions/", "/urls", "ListFunctionUrlConfigs", p_page},
    {"/2019-09-30/functions/", "/concurrency", "GetFunctionConcurrency", p_none},
    {"/2019-09-25/functions/", "/event-invoke-config", "GetFunctionEventInvokeConfig", p_qual},
    {"/2015-03-31/functions/", "", "GetFunction", p_qual},
};

static const struct route *matched(const struct awsf_call *c)
{
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (strcmp(routes[i].op, c->op) == 0)
            return &routes[i];
    }
    return NULL;
}

bool awsf_lambda_route(struct awsf_call *c)
{
    const char *path = c->path;

    if (strcmp(c->method, "GET") != 0)
        return false;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        const struct route *r = &routes[i];
        size_t pl = strlen(r->prefix), sl, nl;
        const char *name;
        char *dec;

        if (r->suffix == NULL) {
            if (strcmp(path, r->prefix) != 0)
                continue;
            c->op = r->op;
            return true;
        }
        if (strncmp(path, r->prefix, pl) != 0)
            continue;
        name = path + pl;
        sl = strlen(r->suffix);
        nl = strlen(name);
        if (nl <= sl || strcmp(name + nl - sl, r->suffix) != 0)
            continue;
        nl -= sl;
        if (memchr(name, '/', nl) != NULL)
            continue;
        dec = awsf_pct_decode(name, nl);
        if (dec == NULL || strlen(dec) >= sizeof c->label[0]) {
            free(dec);
            continue;
        }
        snprintf(c->label[0], sizeof c->label[0], "%s", dec);
        free(dec);
        c->op = r->op;
        c->resource = c->label[0];
        return true;
    }
    return false;
}

/* 400 for a query parameter the operation does not take (fake: AWS ignores them; a client that
 * misspells MaxItems should find out). */
static bool params_ok(const struct awsf_call *c, const struct route *r, struct awsf_reply *rp)
{
    for (size_t i = 0; i < c->q->n; i++) {
        bool ok = false;
        for (const char *const *p = r->params; *p != NULL; p++)
            ok = ok || strcmp(*p, c->q->name[i]) == 0;
        if (!ok) {
            awsf_fail(rp, 400, "InvalidParameterValueException",
                      "fake_aws: %s takes no query parameter '%.64s'", c->op, c->q->name[i]);
            return false;
        }
    }
    return true;
}

/* MaxItems/Marker: the page [*start, *end). */
static bool page(const struct awsf_call *c, const char *kind, size_t total, size_t per_page,
                 size_t *start, size_t *end, struct awsf_reply *rp)
{
    const char *mi = awsf_param(c->q, "MaxItems");
    const char *marker = awsf_param(c->q, "Marker");
    unsigned long max = per_page;

    *start = 0;
    if (mi != NULL && !fake_parse_ulong(mi, 1, MAX_ITEMS, &max)) {
        awsf_fail(rp, 400, "InvalidParameterValueException",
                  "1 validation error detected: Value '%.32s' at 'maxItems' failed to satisfy "
                  "constraint: Member must have value between 1 and 10000",
                  mi);
        return false;
    }
    if (max > per_page)
        max = per_page;
    max = awsf_page_size(c, max);
    if (marker != NULL && (!awsf_token_parse(marker, kind, start) || *start > total)) {
        awsf_fail(rp, 400, "InvalidParameterValueException", "Invalid Marker: %.128s", marker);
        return false;
    }
    *end = *start + max < total ? *start + max : total;
    return true;
}

static bool set_marker(json_t *o, const char *kind, size_t end, size_t total)
{
    char *t;

    if (end >= total)
        return true;
    t = awsf_token_new(kind, end);
    if (t == NULL)
        return false;
    json_object_set_new(o, "NextMarker", json_string(t));
    free(t);
    return true;
}

static void list_functions(const struct awsf_call *c, struct awsf_reply *rp)
{
    size_t total = c->w ? c->w->nfns : 0, start, end;
    json_t *o, *items;

    if (!page(c, "functions", total, LIST_PAGE, &start, &end, rp))
        return;
    o = json_object();
    items = json_array();
    json_object_set_new(o, "Functions", items);
    for (size_t i = start; i < end; i++)
        json_array_append(items, c->w->fns[i].list_item);
    if (!set_marker(o, "functions", end, total)) {
        json_decref(o);
        o = NULL;
    }
    awsf_reply_json(rp, o);
}

static void list_esms(const struct awsf_call *c, struct awsf_reply *rp)
{
    const char *fname = awsf_param(c->q, "FunctionName");
    const char *src = awsf_param(c->q, "EventSourceArn");
    json_t *all = json_array(), *o, *items, *m;
    const char *fn_arn = NULL;
    size_t i, start, end;

    if (fname != NULL) {
        char scratch[256];
        const char *q;
        const struct awsf_fn *fn = awsf_world_fn(c->w, fname, scratch, &q);
        if (fn == NULL) {
            json_decref(all);
            awsf_fail(rp, 404, "ResourceNotFoundException", "Function not found: %.200s", fname);
            return;
        }
        fn_arn = json_string_value(json_object_get(fn->list_item, "FunctionArn"));
    }
    if (c->w != NULL) {
        json_array_foreach(c->w->esms, i, m)
        {
            if (fn_arn != NULL &&
                strcmp(json_string_value(json_object_get(m, "FunctionArn")), fn_arn) != 0)
                continue;
            if (src != NULL &&
                (json_string_value(json_object_get(m, "EventSourceArn")) == NULL ||
                 strcmp(json_string_value(json_object_get(m, "EventSourceArn")), src) != 0))
                continue;
            json_array_append(all, m);
        }
    }
    if (!page(c, "esm", json_array_size(all), ESM_PAGE, &start, &end, rp)) {
        json_decref(all);
        return;
    }
    o = json_object();
    items = json_array();
    json_object_set_new(o, "EventSourceMappings", items);
    for (i = start; i < end; i++)
        json_array_append(items, json_array_get(all, i));
    if (!set_marker(o, "esm", end, json_array_size(all))) {
        json_decref(o);
        o = NULL;
    }
    json_decref(all);
    awsf_reply_json(rp, o);
}

static void not_found(const struct awsf_call *c, struct awsf_reply *rp)
{
    awsf_fail(rp, 404, "ResourceNotFoundException",
              "Function not found: arn:aws:lambda:%s:%s:function:%.140s", c->region, c->account,
              c->label[0]);
}

static void no_resource(struct awsf_reply *rp)
{
    awsf_fail(rp, 404, "ResourceNotFoundException", "The resource you requested does not exist.");
}

static void get_function(const struct awsf_call *c, const struct awsf_fn *fn, struct awsf_reply *rp)
{
    json_t *o = json_object(), *tags = json_object_get(fn->src, "Tags");
    json_t *rce = json_object_get(fn->src, "ReservedConcurrentExecutions");
    const char *pt = json_string_value(json_object_get(fn->config, "PackageType"));

    json_object_set(o, "Configuration", fn->config);
    if (pt != NULL && strcmp(pt, "Image") == 0) {
        const char *uri = json_string_value(json_object_get(fn->src, "ImageUri"));
        json_object_set_new(
            o, "Code",
            json_pack("{s:s, s:s}", "RepositoryType", "ECR", "ImageUri", uri ? uri : ""));
    } else {
        struct sbuf b = {0};
        if (c->code == NULL || !awsf_code_url(c->code, c->host, fn, &b) || b.failed) {
            free(b.p);
            json_decref(o);
            awsf_fail(rp, 500, "ServiceException", "fake_aws: cannot sign the code location");
            return;
        }
        json_object_set_new(o, "Code",
                            json_pack("{s:s, s:s}", "RepositoryType", "S3", "Location", b.p));
        free(b.p);
    }
    if (json_object_size(tags) > 0)
        json_object_set(o, "Tags", tags);
    if (json_is_integer(rce))
        json_object_set_new(o, "Concurrency",
                            json_pack("{s:O}", "ReservedConcurrentExecutions", rce));
    awsf_reply_json(rp, o);
}

static void get_policy(const struct awsf_fn *fn, struct awsf_reply *rp)
{
    json_t *doc = json_object_get(fn->src, "Policy");
    char *s, rev[64];

    if (doc == NULL || json_is_null(doc)) {
        no_resource(rp);
        return;
    }
    /* The policy is a JSON document serialised into a string. */
    s = json_is_string(doc) ? strdup(json_string_value(doc)) : json_dumps(doc, JSON_COMPACT);
    if (s == NULL) {
        awsf_fail(rp, 500, "ServiceException", "fake_aws: out of memory");
        return;
    }
    awsf_derived_id("", s, 12, rev, sizeof rev);
    awsf_reply_json(rp, json_pack("{s:s, s:s}", "Policy", s, "RevisionId", rev));
    free(s);
}

/* The function's URL configuration as AWS answers it; NULL when it has none. */
static json_t *url_config(const struct awsf_fn *fn)
{
    json_t *u = json_object_get(fn->src, "UrlConfig"), *o;
    char url[128], id[40];

    if (!json_is_object(u))
        return NULL;
    o = json_deep_copy(u);
    awsf_derived_id("", fn->name, 32, id, sizeof id);
    for (char *p = id; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
    snprintf(url, sizeof url, "https://%s.lambda-url.us-east-1.on.aws/", id);
    if (json_object_get(o, "FunctionUrl") == NULL)
        json_object_set_new(o, "FunctionUrl", json_string(url));
    json_object_set(o, "FunctionArn", json_object_get(fn->list_item, "FunctionArn"));
    if (json_object_get(o, "AuthType") == NULL)
        json_object_set_new(o, "AuthType", json_string("AWS_IAM"));
    if (json_object_get(o, "InvokeMode") == NULL)
        json_object_set_new(o, "InvokeMode", json_string("BUFFERED"));
    json_object_set_new(o, "CreationTime", json_string("2025-11-03T10:22:31.114Z"));
    json_object_set_new(o, "LastModifiedTime", json_string("2025-11-03T10:22:31.114Z"));
    return o;
}

static void get_url(const struct awsf_fn *fn, struct awsf_reply *rp)
{
    json_t *o = url_config(fn);

    if (o == NULL)
        no_resource(rp);
    else
        awsf_reply_json(rp, o);
}

/* ListFunctionUrlConfigs: the unqualified function has at most one URL. */
static void list_urls(const struct awsf_call *c, const struct awsf_fn *fn, struct awsf_reply *rp)
{
    json_t *u = url_config(fn), *o;
    size_t start, end;

    if (!page(c, "urls", u ? 1 : 0, LIST_PAGE, &start, &end, rp)) {
        json_decref(u);
        return;
    }
    o = json_pack("{s:[]}", "FunctionUrlConfigs");
    if (u != NULL && start < end)
        json_array_append(json_object_get(o, "FunctionUrlConfigs"), u);
    json_decref(u);
    awsf_reply_json(rp, o);
}

static void get_event_invoke(const struct awsf_fn *fn, struct awsf_reply *rp)
{
    json_t *e = json_object_get(fn->src, "EventInvokeConfig"), *o;
    char arn[512];

    if (!json_is_object(e)) {
        no_resource(rp);
        return;
    }
    o = json_deep_copy(e);
    snprintf(arn, sizeof arn, "%s:$LATEST",
             json_string_value(json_object_get(fn->list_item, "FunctionArn")));
    json_object_set_new(o, "FunctionArn", json_string(arn));
    if (json_object_get(o, "LastModified") == NULL)
        json_object_set_new(o, "LastModified", json_real(1573686021.479));
    awsf_reply_json(rp, o);
}

void awsf_lambda_handle(const struct awsf_call *c, struct awsf_reply *rp)
{
    const struct route *r = matched(c);
    const struct awsf_fn *fn;
    const char *qualifier, *q = awsf_param(c->q, "Qualifier");
    char scratch[256];

    if (r == NULL || !params_ok(c, r, rp))
        return;
    if (strcmp(c->op, "ListFunctions") == 0) {
        const char *fv = awsf_param(c->q, "FunctionVersion");
        if (fv != NULL && strcmp(fv, "ALL") != 0) {
            awsf_fail(rp, 400, "InvalidParameterValueException",
                      "1 validation error detected: Value '%.32s' at 'functionVersion' failed to "
                      "satisfy constraint: Member must satisfy enum value set: [ALL]",
                      fv);
            return;
        }
        list_functions(c, rp);
        return;
    }
    if (strcmp(c->op, "ListEventSourceMappings") == 0) {
        list_esms(c, rp);
        return;
    }
    fn = awsf_world_fn(c->w, c->label[0], scratch, &qualifier);
    if (fn == NULL) {
        not_found(c, rp);
        return;
    }
    if (q != NULL && qualifier[0] != '\0' && strcmp(q, qualifier) != 0) {
        awsf_fail(rp, 400, "InvalidParameterValueException",
                  "The derived qualifier from the function name does not match the specified "
                  "qualifier.");
        return;
    }
    if (q == NULL)
        q = qualifier;
    /* Only $LATEST exists here; any other version or alias is not found. */
    if (q[0] != '\0' && strcmp(q, "$LATEST") != 0) {
        not_found(c, rp);
        return;
    }
    if (strcmp(c->op, "GetFunction") == 0)
        get_function(c, fn, rp);
    else if (strcmp(c->op, "GetPolicy") == 0)
        get_policy(fn, rp);
    else if (strcmp(c->op, "GetFunctionUrlConfig") == 0)
        get_url(fn, rp);
    else if (strcmp(c->op, "ListFunctionUrlConfigs") == 0)
        list_urls(c, fn, rp);
    else if (strcmp(c->op, "GetFunctionEventInvokeConfig") == 0)
        get_event_invoke(fn, rp);
    else {
        json_t *rce = json_object_get(fn->src, "ReservedConcurrentExecutions");
        awsf_reply_json(rp, json_is_integer(rce)
                                ? json_pack("{s:O}", "ReservedConcurrentExecutions", rce)
                                : json_object());
    }
}
