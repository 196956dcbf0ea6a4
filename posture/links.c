/* posture/links.c: route -> function -> role. API Gateway integrations name functions by ARN,
 * short or in the long apigateway "lambda:path" form, possibly qualified by an alias or version;
 * every link is made on the unqualified function ARN. */
#include "posture/posture.h"
#include "posture/posture_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool posture_link_function_arn(const char *uri, char *out, size_t size)
{
    const char *arn = uri, *end;
    int colons = 0;
    size_t n;

    if (size > 0)
        out[0] = '\0';
    if (uri == NULL || size == 0 || strstr(uri, "${") != NULL)
        return false;
    if (strncmp(uri, "arn:", 4) == 0 && strstr(uri, ":apigateway:") != NULL) {
        const char *f = strstr(uri, ":lambda:path/");
        if (f == NULL || (f = strstr(f, "/functions/")) == NULL)
            return false;
        arn = f + strlen("/functions/");
        end = strstr(arn, "/invocations");
        if (end == NULL)
            return false;
    } else {
        end = uri + strlen(uri);
    }
    /* arn:partition:lambda:region:account:function:name[:qualifier] */
    if (end - arn < 4 || strncmp(arn, "arn:", 4) != 0)
        return false;
    const char *p = arn, *cut = end;
    for (; p < end; p++) {
        if (*p == ':' && ++colons == 7) {
            cut = p;
            break;
        }
        if (*p == '/')
            return false;
    }
    if (colons < 6)
        return false;
    n = (size_t)(cut - arn);
    if (n >= size)
        return false;
    memcpy(out, arn, n);
    out[n] = '\0';
    /* fields 3 and 6 must be lambda and function */
    const char *f3 = strchr(out + 4, ':');
    if (f3 == NULL || strncmp(f3, ":lambda:", 8) != 0 || strstr(out, ":function:") == NULL ||
        out[n - 1] == ':') {
        out[0] = '\0';
        return false;
    }
    return true;
}

static void add_route(json_t *index, const char *uri, json_t *entry)
{
    char arn[512];
    json_t *list;

    if (!posture_link_function_arn(uri, arn, sizeof arn)) {
        json_decref(entry);
        return;
    }
    list = json_object_get(index, arn);
    if (list == NULL) {
        list = json_array();
        json_object_set_new(index, arn, list);
    }
    json_array_append_new(list, entry);
}

static void index_http_api(json_t *index, const json_t *api)
{
    const json_t *routes = pj_arr(api, "routes"), *integs = pj_arr(api, "integrations");
    const char *proto = pj_str(api, "protocolType");
    bool websocket = proto != NULL && strcmp(proto, "WEBSOCKET") == 0;
    const char *connect_auth = "NONE";
    size_t i, j;
    json_t *r, *g;

    if (routes == NULL || integs == NULL)
        return;
    json_array_foreach(routes, i, r)
    {
        const char *key = pj_str(r, "routeKey"), *auth = pj_str(r, "authorizationType");
        if (key != NULL && strcmp(key, "$connect") == 0 && auth != NULL)
            connect_auth = auth;
    }
    json_array_foreach(routes, i, r)
    {
        const char *target = pj_str(r, "target"), *key = pj_str(r, "routeKey");
        const char *auth = pj_str(r, "authorizationType");
        const char *uri = NULL;
        if (target == NULL || key == NULL || strncmp(target, "integrations/", 13) != 0)
            continue;
        json_array_foreach(integs, j, g)
        {
            const char *id = pj_str(g, "integrationId");
            if (id != NULL && strcmp(id, target + 13) == 0) {
                uri = pj_str(g, "integrationUri");
                break;
            }
        }
        if (uri == NULL)
            continue;
        if (auth == NULL)
            auth = "NONE"; /* AWS's default */
        const char *gate = websocket ? connect_auth : auth;
        json_t *apikey = json_object_get(r, "apiKeyRequired");
        add_route(index, uri,
                  json_pack("{s:s, s:s?, s:s?, s:s, s:s, s:b, s:b}", "api_type", "http", "api_id",
                            pj_str(api, "apiId"), "api_name", pj_str(api, "name"), "route", key,
                            "authorization_type", auth, "api_key_required", json_is_true(apikey),
                            "public",
                            strcmp(gate, "NONE") == 0 && strncmp(key, "OPTIONS ", 8) != 0));
    }
}

bool posture_rest_is_private(const json_t *api)
{
    const json_t *types = pj_arr(pj_obj(api, "endpointConfiguration"), "types");
    size_t i;
    json_t *t;

    json_array_foreach(types, i, t)
    {
        if (json_is_string(t) && strcmp(json_string_value(t), "PRIVATE") == 0)
            return true;
    }
    return false;
}

static void index_rest_api(json_t *index, const json_t *api)
{
    const json_t *resources = pj_arr(api, "resources");
    bool private_api = posture_rest_is_private(api) || !posture_rest_policy_is_open(api);
    size_t i;
    json_t *res, *m;
    const char *verb;

    json_array_foreach(resources, i, res)
    {
        const json_t *methods = pj_obj(res, "resourceMethods");
        const char *path = pj_str(res, "path");
        if (methods == NULL || path == NULL)
            continue;
        json_object_foreach((json_t *)(uintptr_t)methods, verb, m)
        {
            const char *uri = pj_str(pj_obj(m, "methodIntegration"), "uri");
            const char *auth = pj_str(m, "authorizationType");
            bool apikey = json_is_true(json_object_get(m, "apiKeyRequired"));
            char route[600];
            if (uri == NULL)
                continue;
            if (auth == NULL)
                auth = "NONE";
            snprintf(route, sizeof route, "%s %s", verb, path);
            add_route(index, uri,
                      json_pack("{s:s, s:s?, s:s?, s:s, s:s, s:b, s:b}", "api_type", "rest",
                                "api_id", pj_str(api, "id"), "api_name", pj_str(api, "name"),
                                "route", route, "authorization_type", auth, "api_key_required",
                                apikey, "public",
                                !private_api && !apikey && strcmp(auth, "NONE") == 0 &&
                                    strcmp(verb, "OPTIONS") != 0));
        }
    }
}

json_t *posture_rest_policy_new(const char *text)
{
    json_t *doc;
    char *buf;
    size_t n, o = 0;

    if (text == NULL)
        return NULL;
    doc = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    if (doc != NULL || strstr(text, "\\\"") == NULL)
        return doc;
    n = strlen(text);
    buf = malloc(n + 1);
    if (buf == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (text[i] == '\\' && i + 1 < n &&
            (text[i + 1] == '"' || text[i + 1] == '\\' || text[i + 1] == '/'))
            i++;
        buf[o++] = text[i];
    }
    buf[o] = '\0';
    doc = json_loads(buf, JSON_REJECT_DUPLICATES, NULL);
    free(buf);
    return doc;
}

bool posture_rest_policy_is_open(const json_t *api)
{
    const char *text = pj_str(api, "policy");
    json_t *doc;
    bool open;

    if (text == NULL || text[0] == '\0')
        return true; /* no resource policy: methods are governed by their authorisation alone */
    doc = posture_rest_policy_new(text);
    if (doc == NULL)
        return true; /* unreadable: judge by the methods (no silent pass) */
    open = posture_policy_public_index(doc, "execute-api:Invoke", NULL) >= 0;
    json_decref(doc);
    return open;
}

json_t *posture_link_routes_index_new(const json_t *snapshot)
{
    json_t *index = json_object();
    size_t i;
    json_t *api;

    json_array_foreach(pj_arr(snapshot, "http_apis"), i, api)
    {
        index_http_api(index, api);
    }
    json_array_foreach(pj_arr(snapshot, "rest_apis"), i, api)
    {
        index_rest_api(index, api);
    }
    return index;
}

json_t *posture_link_routes_new(const json_t *snapshot, const char *function_arn)
{
    json_t *index = posture_link_routes_index_new(snapshot);
    json_t *routes = json_object_get(index, function_arn != NULL ? function_arn : "");
    json_t *out = routes != NULL ? json_incref(routes) : json_array();
    json_decref(index);
    return out;
}

const json_t *posture_link_role(const json_t *snapshot, const json_t *function)
{
    const char *role = pj_str(function, "Role");
    size_t i;
    json_t *r;

    if (role == NULL)
        return NULL;
    json_array_foreach(pj_arr(snapshot, "roles"), i, r)
    {
        const char *arn = pj_str(r, "Arn");
        if (arn != NULL && strcmp(arn, role) == 0)
            return r;
    }
    return NULL;
}

json_t *posture_link_role_functions_new(const json_t *snapshot, const char *role_arn)
{
    json_t *out = json_array();
    size_t i;
    json_t *f;

    json_array_foreach(pj_arr(snapshot, "functions"), i, f)
    {
        const char *role = pj_str(f, "Role"), *arn = pj_str(f, "FunctionArn");
        if (role != NULL && arn != NULL && role_arn != NULL && strcmp(role, role_arn) == 0)
            json_array_append_new(out, json_string(arn));
    }
    return out;
}
