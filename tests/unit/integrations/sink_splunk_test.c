/* Unit tests for the Splunk HEC sink: one envelope per event with sourcetype, index and flat
 * index-time fields, the token and channel headers, and HEC's status codes. */
#include "fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

static void test_an_event_is_one_hec_envelope(void **state)
{
    json_t *payload = fx_payload(), *b, *fields;
    json_t *config = json_pack("{s:s, s:s, s:s}", "hec_url",
                               "https://splunk.acme.example:8088/services/collector/event",
                               "token", "9f2a6c1e-3b7d-4e8f-a1c2-5d6e7f809a1b", "index",
                               "security");
    struct sink_msg m;
    struct sink_state st = {0};
    struct sink_req r = {0};
    struct err err;
    const char *k;
    json_t *v;
    (void)state;

    fx_msg(&m, "incident.escalated", "critical", payload, config);
    assert_int_equal(sink_splunk.format(&m, &st, &r, &err), ERR_OK);
    assert_true(sink_splunk.batch);
    assert_string_equal(r.url, "https://splunk.acme.example:8088/services/collector/event");
    assert_string_equal(fx_header(&r, "Authorization"),
                        "Splunk 9f2a6c1e-3b7d-4e8f-a1c2-5d6e7f809a1b");
    assert_string_equal(fx_header(&r, "X-Splunk-Request-Channel"), FX_INTEGRATION);
    b = fx_body(&r);
    assert_true(fabs(json_number_value(json_object_get(b, "time")) - 1772366400.5) < 1e-6);
    assert_string_equal(json_string_value(json_object_get(b, "sourcetype")), "parapet:event");
    assert_string_equal(json_string_value(json_object_get(b, "index")), "security");
    assert_string_equal(json_string_value(json_object_get(json_object_get(b, "event"), "kind")),
                        "incident.escalated");
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(json_object_get(b, "event"), "counts"), "attempts")),
                     1204);
    fields = json_object_get(b, "fields");
    assert_string_equal(json_string_value(json_object_get(fields, "parapet_severity")),
                        "critical");
    json_object_foreach(fields, k, v) assert_true(json_is_string(v)); /* flat */
    json_decref(b);
    sink_req_clear(&r);
    json_decref(payload);
    json_decref(config);
}

static void test_hec_codes_are_judged(void **state)
{
    struct sink_msg m;
    struct sink_state st = {0};
    char why[256];
    const char *ok = "{\"text\":\"Success\",\"code\":0}";
    const char *bad = "{\"text\":\"Invalid data format\",\"code\":6,\"invalid-event-number\":0}";
    const char *busy = "{\"text\":\"Server is busy\",\"code\":9}";
    const char *tok = "{\"text\":\"Invalid token\",\"code\":4}";
    (void)state;

    fx_msg(&m, "incident.opened", "high", NULL, NULL);
    assert_int_equal(sink_splunk.parse(&m, &st, 200, ok, strlen(ok), why, sizeof why),
                     SINK_DELIVERED);
    assert_int_equal(sink_splunk.parse(&m, &st, 200, "ok", 2, why, sizeof why), SINK_RETRY);
    assert_int_equal(sink_splunk.parse(&m, &st, 400, bad, strlen(bad), why, sizeof why),
                     SINK_REJECTED);
    assert_string_equal(why, "HTTP 400: Invalid data format (code 6)");
    assert_int_equal(sink_splunk.parse(&m, &st, 403, tok, strlen(tok), why, sizeof why),
                     SINK_REJECTED);
    assert_int_equal(sink_splunk.parse(&m, &st, 503, busy, strlen(busy), why, sizeof why),
                     SINK_RETRY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_an_event_is_one_hec_envelope),
        cmocka_unit_test(test_hec_codes_are_judged),
    };
    return cmocka_run_group_tests_name("unit/integrations/sink_splunk", tests, NULL, NULL);
}
