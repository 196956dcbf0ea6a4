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

static const struct api_qparam scans_query[] = {
    {"limit", API_P_INT},
    {"cursor", API_P_STR},
    {"account_id", API_P_STR},
    {NULL, 0},
};

static const struct api_qparam resources_query[] = {
    {"limit", API_P_INT},
    {"cursor", API_P_STR},
    {"account_id", API_P_STR},
    {"type", API_P_STR},
    {NULL, 0},
};

static const struct api_qparam findings_query[] = {
    {"limit", API_P_INT},
    {"cursor", API_P_STR},
    {"account_id", API_P_STR},
    {"resource_id", API_P_STR},
    {"severity", API_P_STR},
    {"status", API_P_STR},
    {"rule_id", API_P_STR},
    {NULL, 0},
};

static const struct api_qparam summary_query[] = {
    {"account_id", API_P_STR},
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
    {"POST", "/v1/accounts/{id:uuid}/scans", api_scans_create, API_ROLE_DEVOPS, API_BODY_NONE,
     0, NULL, "Queue a scan of the account now"},
    {"GET", "/v1/scans", api_scans_list, API_ROLE_VIEWER, API_BODY_NONE, 0, scans_query,
     "List scans"},
    {"GET", "/v1/scans/{id:uuid}", api_scans_get, API_ROLE_VIEWER, API_BODY_NONE, 0, NULL,
     "A scan: status, progress, stats and errors"},
    {"GET", "/v1/resources", api_resources_list, API_ROLE_VIEWER, API_BODY_NONE, 0,
     resources_query, "The inventory: functions, roles and APIs"},
    {"GET", "/v1/resources/{id:uuid}", api_resources_get, API_ROLE_VIEWER, API_BODY_NONE, 0, NULL,
     "A resource with its configuration, links and dependencies"},
    {"GET", "/v1/findings", api_findings_list, API_ROLE_VIEWER, API_BODY_NONE, 0, findings_query,
     "List posture findings"},
    {"GET", "/v1/findings/{id:uuid}", api_findings_get, API_ROLE_VIEWER, API_BODY_NONE, 0, NULL,
     "A posture finding with its evidence"},
    {"PATCH", "/v1/findings/{id:uuid}", api_findings_update, API_ROLE_DEVOPS, API_BODY_JSON, 0,
     NULL, "Suppress a finding (with a reason) or reopen it"},
    {"GET", "/v1/rules", api_rules_list, API_ROLE_VIEWER, API_BODY_NONE, 0, NULL,
     "The posture rule catalogue"},
    {"GET", "/v1/posture/summary", api_posture_summary, API_ROLE_VIEWER, API_BODY_NONE, 0,
     summary_query, "Posture score and counts, per tenant or account"},
    {"GET", "/v1/integrations", api_integrations_list, API_ROLE_VIEWER, API_BODY_NONE, 0,
     page_query, "List notification integrations (secrets redacted)"},
    {"POST", "/v1/integrations", api_integrations_create, API_ROLE_SECOPS, API_BODY_JSON, 0, NULL,
     "Add a Slack, PagerDuty, JIRA or Splunk integration"},
    {"GET", "/v1/integrations/{id:uuid}", api_integrations_get, API_ROLE_VIEWER, API_BODY_NONE, 0,
     NULL, "A notification integration (secrets redacted)"},
    {"PATCH", "/v1/integrations/{id:uuid}", api_integrations_update, API_ROLE_SECOPS,
     API_BODY_JSON, 0, NULL, "Change an integration (omitted secrets are kept)"},
    {"DELETE", "/v1/integrations/{id:uuid}", api_integrations_delete, API_ROLE_SECOPS,
     API_BODY_NONE, 0, NULL, "Remove an integration and its delivery history"},
    {"GET", "/v1/integrations/{id:uuid}/deliveries", api_integrations_deliveries, API_ROLE_VIEWER,
     API_BODY_NONE, 0, page_query, "An integration's deliveries, newest first"},
    {"POST", "/v1/integrations/{id:uuid}/retry", api_integrations_retry, API_ROLE_SECOPS,
     API_BODY_JSON, 0, NULL, "Retry dead deliveries (all, or those listed)"},
    {"POST", "/v1/integrations/{id:uuid}/test", api_integrations_test, API_ROLE_SECOPS,
     API_BODY_NONE, 0, NULL, "Send a test notification now and show the destination's answer"},
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
    {"GET", "/v1/ingest/rejections", api_ingest_rejections, API_ROLE_VIEWER, API_BODY_NONE, 0,
     page_query, "Ingest requests of the last day that rejected events or Firehose records"},
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
