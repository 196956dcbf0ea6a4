/* API Gateway (REST-JSON): v2 HTTP/WebSocket APIs with their routes and integrations, v1 REST
 * APIs with their resources and methods (embed=methods), so routes can be joined to the
 * functions they invoke and their authorisation read. */
#include "cloud/aws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* For each api in apis: list `what` (paginated) into api[member]. */
static void per_api(struct cloud_principal *p, const char *region, json_t *apis,
                    const char *id_key, const char *path_fmt_a, const char *path_fmt_b,
                    const struct cloud_list *shape, const char *member)
{
    size_t i;
    json_t *api;

    json_array_foreach(apis, i, api) {
        const char *id = json_string_value(json_object_get(api, id_key));
        char enc[256], path[512], aws_error[64];
        struct err e = {0};
        json_t *items = json_array();
        struct cloud_list l = *shape;

        if (id == NULL || !cloud_pct_encode(id, enc, sizeof enc)) {
            json_decref(items);
            cloud_record_error(api, member, "MalformedResponse", "an API without an id");
            continue;
        }
        snprintf(path, sizeof path, "%s%s%s", path_fmt_a, enc, path_fmt_b);
        l.region = region;
        l.path = path;
        if (cloud_rest_list(p, &l, items, aws_error, &e) != ERR_OK)
            cloud_record_error(api, member, aws_error[0] ? aws_error : "Unavailable", e.detail);
        json_object_set_new(api, member, items);
    }
}

enum err_code cloud_apigw_http_apis(struct cloud_principal *p, const char *region,
                                    json_t **out, char aws_error[64],
                                    struct err *err)
{
    struct cloud_list apis = {"apigateway", region, "/v2/apis", "maxResults=100", "items",
                              "nextToken", "nextToken"};
    static const struct cloud_list routes = {"apigateway", NULL, NULL, "maxResults=100", "items",
                                             "nextToken", "nextToken"};
    enum err_code rc = cloud_rest_list_new(p, &apis, out, aws_error, err);

    if (rc != ERR_OK)
        return rc;
    per_api(p, region, *out, "apiId", "/v2/apis/", "/routes", &routes, "routes");
    per_api(p, region, *out, "apiId", "/v2/apis/", "/integrations", &routes, "integrations");
    return ERR_OK;
}

enum err_code cloud_apigw_rest_apis(struct cloud_principal *p, const char *region,
                                    json_t **out, char aws_error[64],
                                    struct err *err)
{
    struct cloud_list apis = {"apigateway", region, "/restapis", "limit=500", "item", "position",
                              "position"};
    static const struct cloud_list resources = {"apigateway", NULL, NULL,
                                                "embed=methods&limit=500", "item", "position",
                                                "position"};
    enum err_code rc = cloud_rest_list_new(p, &apis, out, aws_error, err);

    if (rc != ERR_OK)
        return rc;
    per_api(p, region, *out, "id", "/restapis/", "/resources", &resources, "resources");
    return ERR_OK;
}
