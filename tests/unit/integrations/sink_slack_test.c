/* Unit tests for the Slack sink: Block Kit within Slack's limits, a text fallback, escaping,
 * and the verdict on Slack's plain-text answers. */
#include "fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>

static void test_an_incident_is_block_kit_with_a_fallback(void **state)
{
    json_t *payload = fx_payload();
    json_t *config = json_pack("{s:s}", "webhook_url", "https://hooks.slack.com/services/T/B/x");
    struct sink_msg m;
    struct sink_state st = {0};
    struct sink_req r = {0};
    struct err err;
    json_t *b, *blocks, *fields;
    char *dump;
    (void)state;

    fx_msg(&m, "incident.opened", "critical", payload, config);
    assert_int_equal(sink_slack.format(&m, &st, &r, &err), ERR_OK);
    assert_string_equal(r.method, "POST");
    assert_string_equal(r.url, "https://hooks.slack.com/services/T/B/x");
    assert_string_equal(fx_header(&r, "Content-Type"), "application/json; charset=utf-8");
    b = fx_body(&r);
    assert_string_equal(json_string_value(json_object_get(b, "text")),
                        "[Critical] Incident opened: SQL injection against payments-webhook");
    blocks = json_object_get(b, "blocks");
    assert_int_equal(json_array_size(blocks), 4);
    assert_string_equal(json_string_value(json_object_get(json_array_get(blocks, 0), "type")),
                        "header");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_array_get(blocks, 0), "text"), "type")),
                        "plain_text");
    fields = json_object_get(json_array_get(blocks, 1), "fields");
    assert_int_equal(json_array_size(fields), 4); /* severity, event, counts, functions */
    dump = json_dumps(b, 0);
    assert_non_null(strstr(dump, "&lt;b&gt;users&lt;/b&gt; &amp; orders"));
    assert_non_null(strstr(dump, "attempts: 1204"));
    assert_non_null(strstr(dump, "`payments-webhook`"));
    assert_non_null(strstr(dump, "https://app.parapet.example/incidents/" FX_SUBJECT));
    assert_non_null(strstr(dump, "\"style\": \"danger\""));
    free(dump);
    json_decref(b);
    sink_req_clear(&r);
    json_decref(payload);
    json_decref(config);
}

static void test_long_titles_stay_within_slacks_limits(void **state)
{
    char title[4000];
    json_t *payload, *config = json_pack("{s:s}", "webhook_url", "https://hooks.slack.com/x/y/z");
    json_t *fns = json_array();
    struct sink_msg m;
    struct sink_state st = {0};
    struct sink_req r = {0};
    struct err err;
    json_t *b, *header, *section;
    (void)state;

    /* 3-byte UTF-8 characters: cutting must not split one. */
    for (size_t i = 0; i + 3 < sizeof title; i += 3)
        memcpy(title + i, "\xe2\x82\xac", 3);
    title[3 * ((sizeof title - 1) / 3)] = '\0';
    for (int i = 0; i < 40; i++) {
        char name[32];
        snprintf(name, sizeof name, "function-%02d", i);
        json_array_append_new(fns, json_string(name));
    }
    payload = json_pack("{s:s, s:s, s:o}", "title", title, "summary", title, "functions", fns);
    fx_msg(&m, "finding.opened", "low", payload, config);
    assert_int_equal(sink_slack.format(&m, &st, &r, &err), ERR_OK);
    b = fx_body(&r);
    assert_non_null(b); /* valid UTF-8, or jansson would refuse it */
    header = json_object_get(json_object_get(json_array_get(json_object_get(b, "blocks"), 0),
                                             "text"),
                             "text");
    assert_true(json_string_length(header) <= 150);
    section = json_object_get(json_object_get(json_array_get(json_object_get(b, "blocks"), 1),
                                              "text"),
                              "text");
    assert_true(json_string_length(section) <= 3000);
    assert_non_null(strstr(json_string_value(json_object_get(
                               json_array_get(json_object_get(json_array_get(
                                                                  json_object_get(b, "blocks"), 1),
                                                              "fields"),
                                              2), /* severity, event, functions */
                               "text")),
                           "and 30 more"));
    json_decref(b);
    sink_req_clear(&r);
    json_decref(payload);
    json_decref(config);
}

static void test_only_ok_is_delivered_and_4xx_is_permanent(void **state)
{
    struct sink_msg m;
    struct sink_state st = {0};
    char why[256];
    (void)state;

    fx_msg(&m, "incident.opened", "high", NULL, NULL);
    assert_int_equal(sink_slack.parse(&m, &st, 200, "ok", 2, why, sizeof why), SINK_DELIVERED);
    assert_int_equal(sink_slack.parse(&m, &st, 200, "<html>", 6, why, sizeof why), SINK_RETRY);
    assert_int_equal(sink_slack.parse(&m, &st, 404, "no_service", 10, why, sizeof why),
                     SINK_REJECTED);
    assert_string_equal(why, "HTTP 404: no_service");
    assert_int_equal(sink_slack.parse(&m, &st, 410, "channel_is_archived", 19, why, sizeof why),
                     SINK_REJECTED);
    assert_int_equal(sink_slack.parse(&m, &st, 429, "", 0, why, sizeof why), SINK_RETRY);
    assert_int_equal(sink_slack.parse(&m, &st, 500, "rollup_error", 12, why, sizeof why),
                     SINK_RETRY);
    assert_int_equal(sink_slack.min_interval_ms, 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_an_incident_is_block_kit_with_a_fallback),
        cmocka_unit_test(test_long_titles_stay_within_slacks_limits),
        cmocka_unit_test(test_only_ok_is_delivered_and_4xx_is_permanent),
    };
    return cmocka_run_group_tests_name("unit/integrations/sink_slack", tests, NULL, NULL);
}
