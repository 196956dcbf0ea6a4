/* Unit tests for the JIRA sink: one issue per subject (v3 ADF or v2 wiki markup), comments on an
 * existing issue, the resolve transition found by name or category, and credentials. */
#include "fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>

static json_t *cloud(void)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:i}", "base_url", "https://acme.atlassian.net/",
                     "user", "user@example.com", "api_token", "user_api_token", "project_key",
                     "SEC", "issue_type", "Bug", "api_version", 3);
}

static void test_an_incident_opens_an_issue_with_an_adf_description(void **state)
{
    json_t *payload = fx_payload(), *config = cloud(), *b, *fields, *desc;
    struct sink_msg m;
    struct sink_state st = {0};
    struct sink_req r = {0};
    struct err err;
    char why[128];
    const char *created = "{\"id\":\"10042\",\"key\":\"SEC-17\",\"self\":\"https://x/10042\"}";
    (void)state;

    fx_msg(&m, "incident.opened", "critical", payload, config);
    assert_int_equal(sink_jira.format(&m, &st, &r, &err), ERR_OK);
    assert_string_equal(r.method, "POST");
    assert_string_equal(r.url, "https://acme.atlassian.net/rest/api/3/issue");
    /* wire-formats.md's example: user@example.com:user_api_token */
    assert_string_equal(fx_header(&r, "Authorization"),
                        "Basic dXNlckBleGFtcGxlLmNvbTp1c2VyX2FwaV90b2tlbg==");
    assert_string_equal(fx_header(&r, "Accept"), "application/json");
    b = fx_body(&r);
    fields = json_object_get(b, "fields");
    assert_string_equal(json_string_value(json_object_get(json_object_get(fields, "project"),
                                                          "key")),
                        "SEC");
    assert_string_equal(json_string_value(json_object_get(json_object_get(fields, "issuetype"),
                                                          "name")),
                        "Bug");
    assert_string_equal(json_string_value(json_object_get(fields, "summary")),
                        "[Critical] SQL injection against payments-webhook");
    desc = json_object_get(fields, "description");
    assert_int_equal(json_integer_value(json_object_get(desc, "version")), 1);
    assert_string_equal(json_string_value(json_object_get(desc, "type")), "doc");
    assert_true(json_array_size(json_object_get(desc, "content")) >= 4);
    assert_string_equal(json_string_value(json_array_get(json_object_get(fields, "labels"), 1)),
                        "severity-critical");
    json_decref(b);
    sink_req_clear(&r);
    assert_int_equal(sink_jira.parse(&m, &st, 201, created, strlen(created), why, sizeof why),
                     SINK_DELIVERED);
    assert_string_equal(st.issue_key, "SEC-17");
    assert_true(st.remember);
    json_decref(payload);
    json_decref(config);
}

static void test_a_known_issue_gets_comments_never_a_second_issue(void **state)
{
    json_t *payload = fx_payload(), *config = cloud(), *b;
    struct sink_msg m;
    struct sink_state st = {0};
    struct sink_req r = {0};
    struct err err;
    (void)state;

    fx_msg(&m, "incident.opened", "high", payload, config);
    m.issue_key = "SEC-17";
    assert_int_equal(sink_jira.format(&m, &st, &r, &err), ERR_OK);
    assert_string_equal(r.url, "https://acme.atlassian.net/rest/api/3/issue/SEC-17/comment");
    sink_req_clear(&r);
    memset(&r, 0, sizeof r);
    fx_msg(&m, "incident.escalated", "critical", payload, config);
    m.issue_key = "SEC-17";
    assert_int_equal(sink_jira.format(&m, &st, &r, &err), ERR_OK);
    assert_string_equal(r.url, "https://acme.atlassian.net/rest/api/3/issue/SEC-17/comment");
    b = fx_body(&r);
    assert_string_equal(json_string_value(json_object_get(json_object_get(b, "body"), "type")),
                        "doc");
    json_decref(b);
    sink_req_clear(&r);
    json_decref(payload);
    json_decref(config);
}

static void test_resolution_finds_the_transition_then_takes_it(void **state)
{
    json_t *config = cloud(), *b;
    struct sink_msg m;
    struct sink_state st = {0};
    struct sink_req r = {0};
    struct err err;
    char why[256];
    const char *transitions =
        "{\"expand\":\"transitions\",\"transitions\":["
        "{\"id\":\"11\",\"name\":\"To Do\",\"to\":{\"statusCategory\":{\"key\":\"new\"}}},"
        "{\"id\":\"41\",\"name\":\"Won't fix\",\"to\":{\"statusCategory\":{\"key\":\"done\"}}},"
        "{\"id\":\"31\",\"name\":\"Done\",\"to\":{\"statusCategory\":{\"key\":\"done\"}}}]}";
    (void)state;

    fx_msg(&m, "incident.resolved", "high", NULL, config);
    /* No issue was ever opened: nothing to send. */
    assert_int_equal(sink_jira.format(&m, &st, &r, &err), ERR_OK);
    assert_null(r.method);
    m.issue_key = "SEC-17";
    assert_int_equal(sink_jira.format(&m, &st, &r, &err), ERR_OK);
    assert_string_equal(r.method, "GET");
    assert_string_equal(r.url, "https://acme.atlassian.net/rest/api/3/issue/SEC-17/transitions");
    assert_null(r.body);
    assert_int_equal(sink_jira.parse(&m, &st, 200, transitions, strlen(transitions), why,
                                     sizeof why),
                     SINK_NEXT);
    assert_string_equal(st.transition_id, "41"); /* the first into "done" */
    assert_int_equal(sink_jira.format(&m, &st, &r, &err), ERR_OK);
    assert_string_equal(r.method, "POST");
    b = fx_body(&r);
    assert_string_equal(json_string_value(json_object_get(json_object_get(b, "transition"), "id")),
                        "41");
    json_decref(b);
    sink_req_clear(&r);
    assert_int_equal(sink_jira.parse(&m, &st, 204, "", 0, why, sizeof why), SINK_DELIVERED);

    /* By name when configured; a name that does not exist is a permanent error. */
    json_object_set_new(config, "resolve_transition", json_string("done"));
    memset(&st, 0, sizeof st);
    assert_int_equal(sink_jira.parse(&m, &st, 200, transitions, strlen(transitions), why,
                                     sizeof why),
                     SINK_NEXT);
    assert_string_equal(st.transition_id, "31");
    json_object_set_new(config, "resolve_transition", json_string("Closed"));
    memset(&st, 0, sizeof st);
    assert_int_equal(sink_jira.parse(&m, &st, 200, transitions, strlen(transitions), why,
                                     sizeof why),
                     SINK_REJECTED);
    assert_non_null(strstr(why, "Closed"));
    json_decref(config);
}

static void test_data_center_speaks_v2_with_a_bearer_token_and_wiki_markup(void **state)
{
    json_t *payload = fx_payload(), *b;
    json_t *config = json_pack("{s:s, s:s, s:s}", "base_url", "https://jira.acme.example/jira",
                               "pat", "NjM0ODcyMzQ1Njc4", "project_key", "SEC");
    struct sink_msg m;
    struct sink_state st = {0};
    struct sink_req r = {0};
    struct err err;
    const char *desc;
    (void)state;

    fx_msg(&m, "finding.opened", "medium", payload, config);
    assert_int_equal(sink_jira.format(&m, &st, &r, &err), ERR_OK);
    assert_string_equal(r.url, "https://jira.acme.example/jira/rest/api/2/issue");
    assert_string_equal(fx_header(&r, "Authorization"), "Bearer NjM0ODcyMzQ1Njc4");
    b = fx_body(&r);
    desc = json_string_value(json_object_get(json_object_get(b, "fields"), "description"));
    assert_non_null(desc);
    assert_non_null(strstr(desc, "[View in Parapet|https://app.parapet.example/findings/"));
    assert_non_null(strstr(desc, "{{payments-webhook}}"));
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(b, "fields"), "issuetype"), "name")),
                        "Task");
    json_decref(b);
    sink_req_clear(&r);
    json_decref(payload);
    json_decref(config);
}

static void test_settings_are_checked(void **state)
{
    struct err err;
    json_t *c = cloud();
    (void)state;

    assert_int_equal(sink_jira.validate(c, &err), ERR_OK);
    json_object_set_new(c, "pat", json_string("p"));
    assert_int_equal(sink_jira.validate(c, &err), ERR_INVALID); /* both */
    json_object_del(c, "api_token");
    assert_int_equal(sink_jira.validate(c, &err), ERR_INVALID); /* pat with v3 */
    json_object_set_new(c, "api_version", json_integer(2));
    assert_int_equal(sink_jira.validate(c, &err), ERR_OK);
    json_object_set_new(c, "project_key", json_string("sec"));
    assert_int_equal(sink_jira.validate(c, &err), ERR_INVALID);
    json_decref(c);
}

static void test_jira_errors_are_reported_in_its_own_words(void **state)
{
    struct sink_msg m;
    struct sink_state st = {0};
    char why[256];
    const char *e = "{\"errorMessages\":[],\"errors\":{\"summary\":\"You must specify a summary "
                    "of the issue.\"}}";
    (void)state;

    fx_msg(&m, "incident.opened", "high", NULL, NULL);
    assert_int_equal(sink_jira.parse(&m, &st, 400, e, strlen(e), why, sizeof why), SINK_REJECTED);
    assert_string_equal(why, "HTTP 400: summary: You must specify a summary of the issue.");
    assert_int_equal(sink_jira.parse(&m, &st, 201, "{}", 2, why, sizeof why), SINK_RETRY);
    assert_int_equal(sink_jira.parse(&m, &st, 429, "", 0, why, sizeof why), SINK_RETRY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_an_incident_opens_an_issue_with_an_adf_description),
        cmocka_unit_test(test_a_known_issue_gets_comments_never_a_second_issue),
        cmocka_unit_test(test_resolution_finds_the_transition_then_takes_it),
        cmocka_unit_test(test_data_center_speaks_v2_with_a_bearer_token_and_wiki_markup),
        cmocka_unit_test(test_settings_are_checked),
        cmocka_unit_test(test_jira_errors_are_reported_in_its_own_words),
    };
    return cmocka_run_group_tests_name("unit/integrations/sink_jira", tests, NULL, NULL);
}
