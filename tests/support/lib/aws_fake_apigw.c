/* aws_fake_apigw - the API Gateway reads a scanner makes, wire-formats.md section 9.
 * v2 (HTTP/WebSocket APIs, camelCase, "items", nextToken/maxResults as strings): GetApis,
 * GetApi, GetRoutes, GetIntegrations. v1 (REST APIs, "item", position/limit default 25 max 500):
 * GetRestApis, GetRestApi, GetResources (embed=methods), GetIntegration. v1 answers HAL
 * (application/hal+json, "_links"/"_embedded") unless the request accepts application/json. */
#include "aws_fake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define V1_DEFAULT_LIMIT 25
#define V1_MAX_LIMIT 500
#define V2_DEFAULT_MAX 100
#define V2_MAX_MAX 500

struct route {
    const char *pattern; /* '*' = one path segment (a label) */
    const char *op;
    const char *const *params;
};

static const char *const p_v2list[] = {"maxResults", "nextToken", NULL};
static const char *const p_v1list[] = {"limit", "position", NULL};
static const char *const p_res[] = {"limit", "position", "embed", NULL};
static const char *const p_none[] = {NULL};

static const struct route routes[] = {
    {"/v2/apis", "GetApis", p_v2list},
    {"/v2/apis/*", "GetApi", p_none},
    {"/v2/apis/*/routes", "GetRoutes", p_v2list},
    {"/v2/apis/*/integrations", "GetIntegrations", p_v2list},
    {"/restapis", "GetRestApis", p_v1list},
    {"/restapis/*", "GetRestApi", p_none},
    {"/restapis/*/resources", "GetResources", p_res},
    {"/restapis/*/resources/*/methods/*/integration", "GetIntegration", p_none},
};

/* Matches path against pattern, filling labels (decoded); false on mismatch. */
static bool match(const char *pattern, const char *path, struct awsf_call *c)
{
    size_t nl = 0;

    while (*pattern != '\0') {
        if (*pattern == '*') {
            size_t len = strcspn(path, "/");
            char *dec;
            if (len == 0 || nl == 3)
                return false;
            dec = awsf_pct_decode(path, len);
            if (dec == NULL || strlen(dec) >= sizeof c->label[0]) {
                free(dec);
                return false;
            }
            snprintf(c->label[nl++], sizeof c->label[0], "%s", dec);
            free(dec);
            path += len;
            pattern++;
        } else if (*pattern++ != *path++) {
            return false;
        }
    }
    return *path == '\0';
}

bool awsf_apigw_route(struct awsf_call *c)
{
    if (strcmp(c->method, "GET") != 0)
        return false;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (match(routes[i].pattern, c->path, c)) {
            c->op = routes[i].op;
            if (c->label[0][0] != '\0')
                c->resource = c->label[0];
            return true;
        }
    }
    return false;
}

static const struct route *matched(const struct awsf_call *c)
{
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (strcmp(routes[i].op, c->op) == 0)
            return &routes[i];
    }
    return NULL;
}

static bool is_v1(const struct awsf_call *c)
{
    return strncmp(c->path, "/restapis", 9) == 0;
}

static bool params_ok(const struct awsf_call *c, struct awsf_reply *rp)
{
    const struct route *r = matched(c);

    for (size_t i = 0; r != NULL && i < c->q->n; i++) {
        bool ok = false;
        for (const char *const *p = r->params; *p != NULL; p++)
            ok = ok || strcmp(*p, c->q->name[i]) == 0;
        if (!ok) {
            awsf_fail(rp, 400, "BadRequestException",
                      "fake_aws: %s takes no query parameter '%.64s'", c->op, c->q->name[i]);
            return false;
        }
    }
    return r != NULL;
}

/* The page [*start, *end) of n items: v2 maxResults/nextToken, v1 limit/position. */
static bool page(const struct awsf_call *c, size_t n, size_t *start, size_t *end,
                 struct awsf_reply *rp)
{
    bool v1 = is_v1(c);
    const char *lim = awsf_param(c->q, v1 ? "limit" : "maxResults");
    const char *tok = awsf_param(c->q, v1 ? "position" : "nextToken");
    unsigned long max = v1 ? V1_DEFAULT_LIMIT : V2_DEFAULT_MAX;

    *start = 0;
    if (lim != NULL && !fake_parse_ulong(lim, 1, v1 ? V1_MAX_LIMIT : V2_MAX_MAX, &max)) {
        awsf_fail(rp, 400, "BadRequestException",
                  v1 ? "Invalid limit: %.32s" : "Invalid maxResults: %.32s", lim);
        return false;
    }
    if (tok != NULL && (!awsf_token_parse(tok, c->op, start) || *start > n)) {
        awsf_fail(rp, 400, "BadRequestException",
                  v1 ? "Invalid position parameter" : "Invalid nextToken");
        return false;
    }
    max = awsf_page_size(c, max);
    *end = *start + max < n ? *start + max : n;
    return true;
}

static void api_not_found(const struct awsf_call *c, struct awsf_reply *rp)
{
    awsf_fail(rp, 404, "NotFoundException", "Invalid API identifier specified %s:%.128s",
              c->account, c->label[0]);
}

/* HAL, as v1 answers without Accept: application/json: links to each item and the items under
 * _embedded, a lone item as an object rather than a one-element array. */
static json_t *hal(const struct awsf_call *c, json_t *items, const char *next)
{
    json_t *links = json_array(), *o, *it;
    size_t i;

    json_array_foreach(items, i, it)
    {
        char href[512];
        const char *id = json_string_value(json_object_get(it, "id"));
        snprintf(href, sizeof href, "%s/%s", c->path, id ? id : "");
        json_array_append_new(links, json_pack("{s:s}", "href", href));
    }
    o = json_pack("{s:{s:[{s:s, s:s, s:b}], s:{s:s}, s:o}, s:{s:O}}", "_links", "curies", "name",
                  "item", "href",
                  "https://docs.aws.amazon.com/apigateway/latest/api/"
                  "API_GetRestApi.html",
                  "templated", 1, "self", "href", c->path, "item", links, "_embedded", "item",
                  json_array_size(items) == 1 ? json_array_get(items, 0) : items);
    if (o != NULL && next != NULL)
        json_object_set_new(json_object_get(o, "_links"), "next", json_pack("{s:s}", "href", next));
    return o;
}

/* A list answer over all (borrowed): "items"/"nextToken" (v2) or "item"/"position" (v1). */
static void list(const struct awsf_call *c, const json_t *all, struct awsf_reply *rp)
{
    bool v1 = is_v1(c);
    size_t n = json_array_size(all), start, end;
    json_t *items, *o;
    char *tok = NULL;

    if (!page(c, n, &start, &end, rp))
        return;
    items = json_array();
    for (size_t i = start; i < end; i++)
        json_array_append(items, json_array_get(all, i));
    if (end < n && (tok = awsf_token_new(c->op, end)) == NULL) {
        json_decref(items);
        awsf_fail(rp, 500, "InternalServerErrorException", "fake_aws: out of memory");
        return;
    }
    if (v1 && (c->accept == NULL || strstr(c->accept, "application/json") == NULL)) {
        o = hal(c, items, tok);
        json_decref(items);
        awsf_reply_json(rp, o);
        rp->content_type = "application/hal+json";
        free(tok);
        return;
    }
    o = json_object();
    json_object_set_new(o, v1 ? "item" : "items", items);
    if (tok != NULL)
        json_object_set_new(o, v1 ? "position" : "nextToken", json_string(tok));
    free(tok);
    awsf_reply_json(rp, o);
}

/* items of an array in the world's API, with the default members AWS adds. */
static json_t *sub_items(const json_t *api, const char *key)
{
    json_t *out = json_array(), *it;
    size_t i;

    json_array_foreach(json_object_get(api, key), i, it)
    {
        json_t *x = json_deep_copy(it);
        if (strcmp(key, "routes") == 0) {
            if (json_object_get(x, "apiKeyRequired") == NULL)
                json_object_set_new(x, "apiKeyRequired", json_false());
            if (json_object_get(x, "authorizationType") == NULL)
                json_object_set_new(x, "authorizationType", json_string("NONE"));
        } else if (strcmp(key, "integrations") == 0) {
            if (json_object_get(x, "connectionType") == NULL)
                json_object_set_new(x, "connectionType", json_string("INTERNET"));
            if (json_object_get(x, "timeoutInMillis") == NULL)
                json_object_set_new(x, "timeoutInMillis", json_integer(30000));
        }
        json_array_append_new(out, x);
    }
    return out;
}

/* GetResources items; without embed=methods only the method names are listed. */
static json_t *resources(const struct awsf_call *c, const json_t *api)
{
    const char *embed = awsf_param(c->q, "embed");
    bool methods = embed != NULL && strcmp(embed, "methods") == 0;
    json_t *out = json_array(), *it;
    size_t i;

    json_array_foreach(json_object_get(api, "resources"), i, it)
    {
        json_t *x = json_deep_copy(it), *rm = json_object_get(x, "resourceMethods");
        if (!methods && json_is_object(rm)) {
            const char *k;
            json_t *v;
            json_t *names = json_object();
            json_object_foreach(rm, k, v)
            {
                (void)v;
                json_object_set_new(names, k, json_object());
            }
            json_object_set_new(x, "resourceMethods", names);
        }
        json_array_append_new(out, x);
    }
    return out;
}

static void get_integration(const struct awsf_call *c, const json_t *api, struct awsf_reply *rp)
{
    const json_t *it, *m;
    size_t i;

    json_array_foreach(json_object_get(api, "resources"), i, it)
    {
        const char *id = json_string_value(json_object_get(it, "id"));
        if (id == NULL || strcmp(id, c->label[1]) != 0)
            continue;
        m = json_object_get(json_object_get(it, "resourceMethods"), c->label[2]);
        if (m == NULL) {
            awsf_fail(rp, 404, "NotFoundException", "Invalid Method identifier specified");
            return;
        }
        m = json_object_get(m, "methodIntegration");
        if (m == NULL) {
            awsf_fail(rp, 404, "NotFoundException", "No integration defined for method");
            return;
        }
        awsf_reply_json(rp, json_deep_copy(m));
        return;
    }
    awsf_fail(rp, 404, "NotFoundException", "Invalid Resource identifier specified");
}

static json_t *find_item(const json_t *items, const char *key, const char *id)
{
    json_t *it;
    size_t i;

    json_array_foreach(items, i, it)
    {
        const char *v = json_string_value(json_object_get(it, key));
        if (v != NULL && strcmp(v, id) == 0)
            return it;
    }
    return NULL;
}

void awsf_apigw_handle(const struct awsf_call *c, struct awsf_reply *rp)
{
    const json_t *api = NULL;
    json_t *tmp;

    if (!params_ok(c, rp))
        return;
    if (strcmp(c->op, "GetApis") == 0) {
        tmp = c->w ? json_incref(c->w->http_apis) : json_array();
        list(c, tmp, rp);
        json_decref(tmp);
        return;
    }
    if (strcmp(c->op, "GetRestApis") == 0) {
        tmp = c->w ? json_incref(c->w->rest_apis) : json_array();
        list(c, tmp, rp);
        json_decref(tmp);
        return;
    }
    if (c->w != NULL)
        api = json_object_get(is_v1(c) ? c->w->rest_by_id : c->w->http_by_id, c->label[0]);
    if (api == NULL) {
        api_not_found(c, rp);
        return;
    }
    if (strcmp(c->op, "GetApi") == 0) {
        awsf_reply_json(rp, json_deep_copy(find_item(c->w->http_apis, "apiId", c->label[0])));
    } else if (strcmp(c->op, "GetRestApi") == 0) {
        awsf_reply_json(rp, json_deep_copy(find_item(c->w->rest_apis, "id", c->label[0])));
    } else if (strcmp(c->op, "GetIntegration") == 0) {
        get_integration(c, api, rp);
    } else {
        if (strcmp(c->op, "GetResources") == 0)
            tmp = resources(c, api);
        else
            tmp = sub_items(api, strcmp(c->op, "GetRoutes") == 0 ? "routes" : "integrations");
        list(c, tmp, rp);
        json_decref(tmp);
    }
}
