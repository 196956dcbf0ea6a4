/* The route table: every route the server answers, with the least role allowed to call it. The
 * OpenAPI document (api/openapi.json) lists exactly these; tests/unit/api/openapi_test.c checks
 * that the two agree. */
#include "api/api.h"

const struct api_route api_routes[] = {
    {"GET", "/healthz", api_healthz, API_ROLE_PUBLIC, API_BODY_NONE, 0, NULL, "Liveness"},
    {"GET", "/readyz", api_readyz, API_ROLE_PUBLIC, API_BODY_NONE, 0, NULL,
     "Readiness: database reachable and migrations current"},
    {"GET", "/metrics", api_metrics, API_ROLE_PUBLIC, API_BODY_NONE, 0, NULL,
     "Prometheus metrics"},
    {"GET", "/v1/openapi.json", api_openapi, API_ROLE_PUBLIC, API_BODY_NONE, 0, NULL,
     "This API's OpenAPI 3.1 document"},
};

const size_t api_routes_count = sizeof api_routes / sizeof api_routes[0];
