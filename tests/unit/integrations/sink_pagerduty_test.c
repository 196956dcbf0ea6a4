/* Unit tests for the PagerDuty sink: Events API v2 trigger and resolve with the subject as
 * dedup_key, severity mapping, the summary limit, and the verdict on PagerDuty's answers. */
#include "fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>

#define KEY "e93facc04764012d7bfb002500d5d1a6"

static json_t *fmt(const char *event, const char *severity, const json_t *payload,
                   const json_t *config, int step, struct sink_req *r)
{
    struct sink_msg m;
    struct sink_state st = {.step = step};
    struct err err;

    memset(r, 0, sizeof *r);
    fx_msg(&m, event, severity, payload, config);
    assert_int_equal(sink_pagerduty.format(&m, &st, r, &err), ERR_OK);
    return fx_body(r);
}

static void test_open_and_escalation_trigger_resolution_resolves_one_alert(void **state)
{
    json_t *payload = fx_payload(), *config = json_pack("{s:s}", "routing_key", KEY), *b;
    struct sink_req r;
    (void)state;

    b = fmt("incident.opened", "high", payload, config, 0, &r);
    assert_string_equal(r.url, "https://events.pagerduty.com/v2/enqueue");
    assert_string_equal(json_string_value(json_object_get(b, "routing_key")), KEY);
    assert_string_equal(json_string_value(json_object_get(b, "event_action")), "trigger");
    assert_string_equal(json_string_value(json_object_get(b, "dedup_key")), FX_SUBJECT);
    assert_string_equal(json_string_value(json_object_get(json_object_get(b, "payload"),
                                                          "severity")),
                        "error");
    assert_string_equal(json_string_value(json_object_get(json_object_get(b, "payload"),
                                                          "summary")),
                        "[High] SQL injection against payments-webhook");
    assert_string_equal(json_string_value(json_object_get(json_object_get(b, "payload"),
                                                          "timestamp")),
                        "2026-03-01T12:00:00.500+0000");
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(json_object_get(json_object_get(b, "payload"),
                                                         "custom_details"),
                                         "counts"),
                         "attempts")),
                     1204);
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(b, "links"),
                                                                         0),
                                                          "href")),
                        "https://app.parapet.example/incidents/" FX_SUBJECT);
    json_decref(b);
    sink_req_clear(&r);

    b = fmt("incident.resolved", "critical", payload, config, 0, &r);
    assert_string_equal(json_string_value(json_object_get(b, "event_action")), "resolve");
    assert_string_equal(json_string_value(json_object_get(b, "dedup_key")), FX_SUBJECT);
    assert_null(json_object_get(b, "payload"));
    json_decref(b);
    sink_req_clear(&r);
    json_decref(payload);
    json_decref(config);
}

static void test_severities_map_and_summaries_are_cut_at_1024_bytes(void **state)
{
    static const char *const map[][2] = {{"critical", "critical"}, {"high", "error"},
                                         {"medium", "warning"},    {"low", "info"},
                                         {"info", "info"}};
    char title[3000];
    json_t *config = json_pack("{s:s, s:s}", "routing_key", KEY, "events_url",
                               "https://events.eu.pagerduty.com/v2/enqueue");
    json_t *payload, *b;
    struct sink_req r;
    (void)state;

    memset(title, 'x', sizeof title - 1);
    title[sizeof title - 1] = '\0';
    title[1020] = '\xc3'; /* a 2-byte character across the limit */
    title[1021] = '\xa9';
    payload = json_pack("{s:s}", "title", title);
    for (size_t i = 0; i < 5; i++) {
        b = fmt("incident.escalated", map[i][0], payload, config, 0, &r);
        assert_string_equal(r.url, "https://events.eu.pagerduty.com/v2/enqueue");
        assert_string_equal(json_string_value(json_object_get(json_object_get(b, "payload"),
                                                              "severity")),
                            map[i][1]);
        assert_true(json_string_length(json_object_get(json_object_get(b, "payload"),
                                                       "summary")) <= 1024);
        json_decref(b);
        sink_req_clear(&r);
    }
    json_decref(payload);
    json_decref(config);
}

static void test_a_test_triggers_then_resolves(void **state)
{
    json_t *config = json_pack("{s:s}", "routing_key", KEY), *b;
    struct sink_msg m;
    struct sink_state st = {0};
    struct sink_req r;
    char why[128];
    const char *ok = "{\"status\":\"success\",\"message\":\"Event processed\",\"dedup_key\":\"k\"}";
    (void)state;

    b = fmt("test", "info", NULL, config, 0, &r);
    assert_string_equal(json_string_value(json_object_get(b, "event_action")), "trigger");
    assert_string_equal(json_string_value(json_object_get(b, "dedup_key")),
                        "parapet-test-" FX_INTEGRATION);
    json_decref(b);
    sink_req_clear(&r);
    fx_msg(&m, "test", "info", NULL, config);
    assert_int_equal(sink_pagerduty.parse(&m, &st, 202, ok, strlen(ok), why, sizeof why),
                     SINK_NEXT);
    assert_int_equal(st.step, 1);
    b = fmt("test", "info", NULL, config, 1, &r);
    assert_string_equal(json_string_value(json_object_get(b, "event_action")), "resolve");
    json_decref(b);
    sink_req_clear(&r);
    assert_int_equal(sink_pagerduty.parse(&m, &st, 202, ok, strlen(ok), why, sizeof why),
                     SINK_DELIVERED);
    json_decref(config);
}

static void test_answers_are_judged(void **state)
{
    struct sink_msg m;
    struct sink_state st = {0};
    char why[256];
    const char *bad = "{\"status\":\"invalid event\",\"message\":\"Event object is invalid\","
                      "\"errors\":[\"Length of 'routing_key' is incorrect\"]}";
    (void)state;

    fx_msg(&m, "incident.opened", "high", NULL, NULL);
    assert_int_equal(sink_pagerduty.parse(&m, &st, 400, bad, strlen(bad), why, sizeof why),
                     SINK_REJECTED);
    assert_string_equal(why, "HTTP 400: Event object is invalid: Length of 'routing_key' is "
                             "incorrect");
    assert_int_equal(sink_pagerduty.parse(&m, &st, 429, "", 0, why, sizeof why), SINK_RETRY);
    assert_int_equal(sink_pagerduty.parse(&m, &st, 202, "garbage", 7, why, sizeof why),
                     SINK_RETRY);
    assert_int_equal(sink_pagerduty.parse(&m, &st, 502, "", 0, why, sizeof why), SINK_RETRY);
}

static void test_routing_keys_are_checked(void **state)
{
    json_t *c = json_pack("{s:s}", "routing_key", "short");
    struct err err;
    (void)state;
    assert_int_equal(sink_pagerduty.validate(c, &err), ERR_INVALID);
    json_object_set_new(c, "routing_key", json_string("e93facc04764012d7bfb002500d5d1a!"));
    assert_int_equal(sink_pagerduty.validate(c, &err), ERR_INVALID);
    json_object_set_new(c, "routing_key", json_string(KEY));
    assert_int_equal(sink_pagerduty.validate(c, &err), ERR_OK);
    json_decref(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_and_escalation_trigger_resolution_resolves_one_alert),
        cmocka_unit_test(test_severities_map_and_summaries_are_cut_at_1024_bytes),
        cmocka_unit_test(test_a_test_triggers_then_resolves),
        cmocka_unit_test(test_answers_are_judged),
        cmocka_unit_test(test_routing_keys_are_checked),
    };
    return cmocka_run_group_tests_name("unit/integrations/sink_pagerduty", tests, NULL, NULL);
}
