/* The route table: every route the server answers, with the least role allowed to call it. The
 * OpenAPI document (api/openapi.json) lists exactly these; tests/unit/api/openapi_test.c checks
 * that the two agree. */
#include "api/api.h"

#include "observe/observe.h"

static const struct api_qparam page_query[] = {
    {"limit", API_P_INT},
    {"cursor", API_P_STR},
    {NULL, 0},
};

static const struct api_qparam incident_query[] = {
    {"limit", API_P_INT},
    {"cursor", API_P_STR},
    {"status", API_P_STR},
    {"severity", API_P_STR},
    {"account_id", API_P_STR},
    {NULL, 0},
};

const struct api_route api_routes[] = {
    {"GET", "/healthz", api_healthz, API_ROLE_PUBLIC, API_BODY_NONE, 0, NULL, "Liveness"},
    {"GET", "/readyz", api_readyz, API_ROLE_PUBLIC, API_BODY_NONE, 0, NULL,
     "Readiness: database reachable and migrations current"},
    {"GET", "/metrics", api_metrics, API_ROLE_PUBLIC, API_BODY_NONE, 0, NULL,
     "Prometheus metrics"},
    {"GET", "/v1/openapi.json", api_openapi, API_ROLE_PUBLIC, API_BODY_NONE, 0, NULL,
     "This API's OpenAPI 3.1 document"},
    {"POST", "/v1/signup", api_signup, API_ROLE_PUBLIC, API_BODY_JSON, 0, NULL,
     "Create an organization and its owner"},
    {"POST", "/v1/auth/login", api_login, API_ROLE_PUBLIC, API_BODY_JSON, 0, NULL, "Sign in"},
    {"POST", "/v1/auth/refresh", api_refresh, API_ROLE_PUBLIC, API_BODY_JSON, 0, NULL,
     "Exchange a refresh token for new tokens"},
    {"POST", "/v1/auth/logout", api_logout, API_ROLE_VIEWER, API_BODY_JSON, 0, NULL,
     "Sign out this session, or all of the user's sessions"},
    {"POST", "/v1/auth/password", api_password_change, API_ROLE_VIEWER, API_BODY_JSON, 0, NULL,
     "Change the caller's password (ends every other session)"},
    {"POST", "/v1/auth/accept-invite", api_accept_invite, API_ROLE_PUBLIC, API_BODY_JSON, 0, NULL,
     "Set a password with an invitation and sign in"},
    {"GET", "/v1/me", api_me, API_ROLE_VIEWER, API_BODY_NONE, 0, NULL,
     "The caller: user, tenant and role"},
    {"GET", "/v1/users", api_users_list, API_ROLE_ADMIN, API_BODY_NONE, 0, page_query,
     "List the tenant's users"},
    {"POST", "/v1/users", api_users_create, API_ROLE_ADMIN, API_BODY_JSON, 0, NULL,
     "Invite a user with a role"},
    {"PATCH", "/v1/users/{id:uuid}", api_users_update, API_ROLE_ADMIN, API_BODY_JSON, 0, NULL,
     "Change a user's role or status"},
    {"DELETE", "/v1/users/{id:uuid}", api_users_delete, API_ROLE_ADMIN, API_BODY_NONE, 0, NULL,
     "Remove a user"},
    {"GET", "/v1/api-keys", api_keys_list, API_ROLE_ADMIN, API_BODY_NONE, 0, page_query,
     "List API keys"},
    {"POST", "/v1/api-keys", api_keys_create, API_ROLE_ADMIN, API_BODY_JSON, 0, NULL,
     "Create an API key (shown once)"},
    {"DELETE", "/v1/api-keys/{id:uuid}", api_keys_delete, API_ROLE_ADMIN, API_BODY_NONE, 0, NULL,
     "Revoke an API key"},
    {"POST", "/v1/accounts", api_accounts_create, API_ROLE_ADMIN, API_BODY_JSON, 0, NULL,
     "Add an AWS account (pending until connected)"},
    {"GET", "/v1/accounts", api_accounts_list, API_ROLE_VIEWER, API_BODY_NONE, 0, page_query,
     "List cloud accounts"},
    {"GET", "/v1/accounts/{id:uuid}", api_accounts_get, API_ROLE_VIEWER, API_BODY_NONE, 0, NULL,
     "A cloud account"},
    {"DELETE", "/v1/accounts/{id:uuid}", api_accounts_delete, API_ROLE_ADMIN, API_BODY_NONE, 0,
     NULL, "Remove a cloud account and its data"},
    {"POST", "/v1/accounts/{id:uuid}/connect", api_accounts_connect, API_ROLE_ADMIN, API_BODY_JSON,
     0, NULL, "Verify the account's role (with and without the external ID) and activate it"},
    {"GET", "/v1/accounts/{id:uuid}/template", api_accounts_template, API_ROLE_VIEWER,
     API_BODY_NONE, 0, NULL, "The CloudFormation template for the account's role"},
    {"GET", "/v1/audit-log", api_audit_list, API_ROLE_ADMIN, API_BODY_NONE, 0, page_query,
     "The tenant's audit log, newest first"},
    {"POST", "/v1/events", api_events_ingest, API_ROLE_INGEST, API_BODY_NONE, OBS_MAX_BODY, NULL,
     "Ingest telemetry events (JSON or NDJSON, gzip accepted)"},
    {"POST", "/v1/ingest/firehose", api_firehose_ingest, API_ROLE_INGEST, API_BODY_NONE,
     OBS_FIREHOSE_MAX_BODY, NULL, "Amazon Data Firehose HTTP endpoint delivery"},
    {"GET", "/v1/incidents", api_incidents_list, API_ROLE_VIEWER, API_BODY_NONE, 0,
     incident_query, "List incidents, newest first"},
    {"GET", "/v1/incidents/{id:uuid}", api_incidents_get, API_ROLE_VIEWER, API_BODY_NONE, 0, NULL,
     "An incident with its story"},
    {"PATCH", "/v1/incidents/{id:uuid}", api_incidents_update, API_ROLE_SECOPS, API_BODY_JSON, 0,
     NULL, "Acknowledge or resolve an incident"},
    {"GET", "/v1/incidents/{id:uuid}/events", api_incidents_events, API_ROLE_VIEWER,
     API_BODY_NONE, 0, page_query, "The events folded into an incident"},
};

const size_t api_routes_count = sizeof api_routes / sizeof api_routes[0];

static const struct api_foreign foreign[] = {
    {api_firehose_ingest, "X-Amz-Firehose-Access-Key", api_firehose_error},
};

const struct api_foreign *api_foreign_of(const struct api_route *route)
{
    for (size_t i = 0; route != NULL && i < sizeof foreign / sizeof foreign[0]; i++)
        if (foreign[i].handler == route->handler)
            return &foreign[i];
    return NULL;
}
