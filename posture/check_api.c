/* posture/check_api.c: API Gateway checks. Only routes and methods that invoke a Lambda function
 * are judged (the product secures functions); CORS preflight (OPTIONS) routes are skipped, and on
 * a WebSocket API only $connect carries authorisation. */
#include "posture/posture.h"
#include "posture/posture_int.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static void api_arn(const struct posture_eval *ev, const char *kind, const char *id, char *out,
                    size_t size)
{
    snprintf(out, size, "arn:aws:apigateway:%s::/%s/%s", ev->region, kind, id);
}

static const char *integration_uri(const json_t *api, const char *target)
{
    size_t i;
    json_t *g;

    if (target == NULL || strncmp(target, "integrations/", 13) != 0)
        return NULL;
    json_array_foreach(pj_arr(api, "integrations"), i, g)
    {
        const char *id = pj_str(g, "integrationId");
        if (id != NULL && strcmp(id, target + 13) == 0)
            return pj_str(g, "integrationUri");
    }
    return NULL;
}

void posture_check_http_route_auth(struct posture_eval *ev, const struct posture_rule *rule,
                                   const json_t *api)
{
    const char *id = pj_str(api, "apiId"), *proto = pj_str(api, "protocolType");
    bool websocket = proto != NULL && strcmp(proto, "WEBSOCKET") == 0;
    char arn[256], fn[512];
    size_t i;
    json_t *r;

    if (id == NULL)
        return;
    api_arn(ev, "apis", id, arn, sizeof arn);
    json_array_foreach(pj_arr(api, "routes"), i, r)
    {
        const char *key = pj_str(r, "routeKey"), *auth = pj_str(r, "authorizationType");
        const char *target = pj_str(r, "target");
        if (key == NULL || strncmp(key, "OPTIONS ", 8) == 0 ||
            (websocket && strcmp(key, "$connect") != 0))
            continue;
        if (auth != NULL && strcmp(auth, "NONE") != 0)
            continue;
        if (!posture_link_function_arn(integration_uri(api, target), fn, sizeof fn))
            continue;
        char path[48];
        snprintf(path, sizeof path, "routes[%zu]", i);
        posture_report(ev, rule, arn, key,
                       json_pack("{s:{s:s, s:s, s:s?}, s:s, s:s?}", path, "routeKey", key,
                                 "authorizationType", auth != NULL ? auth : "NONE", "target",
                                 target, "function", fn, "apiEndpoint",
                                 pj_str(api, "apiEndpoint")));
    }
}

void posture_check_http_cors(struct posture_eval *ev, const struct posture_rule *rule,
                             const json_t *api)
{
    const json_t *cors = pj_obj(api, "corsConfiguration");
    const bool *creds = rule->arg;
    const char *id = pj_str(api, "apiId");
    char arn[256];

    if (id == NULL || creds == NULL || cors == NULL ||
        !posture_cors_matches(cors, "allowOrigins", "allowCredentials", *creds))
        return;
    api_arn(ev, "apis", id, arn, sizeof arn);
    posture_report(ev, rule, arn, "",
                   json_pack("{s:O, s:O?}", "corsConfiguration.allowOrigins",
                             json_object_get(cors, "allowOrigins"),
                             "corsConfiguration.allowCredentials",
                             json_object_get(cors, "allowCredentials")));
}

void posture_check_rest_method_auth(struct posture_eval *ev, const struct posture_rule *rule,
                                    const json_t *api)
{
    const bool *api_key_variant = rule->arg;
    const char *id = pj_str(api, "id"), *verb;
    char arn[256], fn[512];
    size_t i;
    json_t *res, *m;

    if (id == NULL || api_key_variant == NULL || posture_rest_is_private(api) ||
        !posture_rest_policy_is_open(api))
        return;
    api_arn(ev, "restapis", id, arn, sizeof arn);
    json_array_foreach(pj_arr(api, "resources"), i, res)
    {
        const json_t *methods = pj_obj(res, "resourceMethods");
        const char *path = pj_str(res, "path");
        if (methods == NULL || path == NULL)
            continue;
        json_object_foreach((json_t *)(uintptr_t)methods, verb, m)
        {
            const char *auth = pj_str(m, "authorizationType");
            const char *uri = pj_str(pj_obj(m, "methodIntegration"), "uri");
            bool key = json_is_true(json_object_get(m, "apiKeyRequired"));
            char subject[600], epath[96];
            if (strcmp(verb, "OPTIONS") == 0 || (auth != NULL && strcmp(auth, "NONE") != 0) ||
                key != *api_key_variant || !posture_link_function_arn(uri, fn, sizeof fn))
                continue;
            snprintf(subject, sizeof subject, "%s %s", verb, path);
            snprintf(epath, sizeof epath, "resources[%zu].resourceMethods.%s", i, verb);
            posture_report(ev, rule, arn, subject,
                           json_pack("{s:{s:s, s:b}, s:s, s:O?}", epath, "authorizationType",
                                     auth != NULL ? auth : "NONE", "apiKeyRequired", key,
                                     "function", fn, "endpointConfiguration.types",
                                     pj_path(api, "endpointConfiguration.types")));
        }
    }
}

void posture_check_rest_private_policy(struct posture_eval *ev, const struct posture_rule *rule,
                                       const json_t *api)
{
    const char *id = pj_str(api, "id"), *text = pj_str(api, "policy");
    char arn[256];
    json_t *doc, *sts, *s;
    size_t i;

    if (id == NULL || text == NULL || !posture_rest_is_private(api) ||
        (doc = posture_rest_policy_new(text)) == NULL)
        return;
    api_arn(ev, "restapis", id, arn, sizeof arn);
    sts = posture_iam_statements(doc);
    if (posture_policy_public_index(doc, "execute-api:Invoke", NULL) >= 0) {
        json_array_foreach(sts, i, s)
        {
            char path[48];
            if (!posture_stmt_is_public(s, "execute-api:Invoke", NULL))
                continue;
            snprintf(path, sizeof path, "policy.Statement[%zu]", i);
            json_t *evd = json_pack("{s:O, s:O?}", path, s, "endpointConfiguration.types",
                                    pj_path(api, "endpointConfiguration.types"));
            const char *sid = pj_str(s, "Sid");
            char subject[128];
            snprintf(subject, sizeof subject, "%s", sid != NULL ? sid : path + 7);
            posture_report(ev, rule, arn, subject, evd);
        }
    }
    json_decref(sts);
    json_decref(doc);
}
