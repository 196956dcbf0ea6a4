/* posture/runtime.c: deprecation is decided by date against `now`, with a 90-day warning
 * window, and unknown runtimes are never flagged; the PAR-RT rules follow. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "posture/posture.h"

#include <string.h>

#define DAY ((time_t)86400)

static void test_dates_are_utc_midnight(void **state)
{
    (void)state;
    /* 2025-09-01T00:00:00Z = 1756684800; 2024-01-08T00:00:00Z = 1704672000 */
    assert_int_equal((long long)posture_runtime_deprecation(posture_runtime_get("nodejs18.x")),
                     1756684800LL);
    assert_int_equal((long long)posture_runtime_deprecation(posture_runtime_get("go1.x")),
                     1704672000LL);
    /* leap day arithmetic: 2028-03-31 */
    assert_int_equal((long long)posture_runtime_deprecation(posture_runtime_get("ruby3.4")),
                     1838073600LL);
}

static void test_ninety_day_boundary(void **state)
{
    time_t dep = posture_runtime_deprecation(posture_runtime_get("nodejs22.x"));
    (void)state;

    assert_int_equal(posture_runtime_status("nodejs22.x", dep - 90 * DAY - 1),
                     POSTURE_RUNTIME_SUPPORTED);
    assert_int_equal(posture_runtime_status("nodejs22.x", dep - 90 * DAY),
                     POSTURE_RUNTIME_DEPRECATING);
    assert_int_equal(posture_runtime_status("nodejs22.x", dep - 1), POSTURE_RUNTIME_DEPRECATING);
    assert_int_equal(posture_runtime_status("nodejs22.x", dep), POSTURE_RUNTIME_DEPRECATED);
    assert_int_equal(posture_runtime_status("nodejs22.x", dep + 400 * DAY),
                     POSTURE_RUNTIME_DEPRECATED);
}

static void test_every_family_is_known(void **state)
{
    static const char *const ids[] = {
        "nodejs12.x",   "nodejs14.x",      "nodejs16.x", "nodejs18.x", "nodejs20.x", "nodejs22.x",
        "python3.7",    "python3.8",       "python3.9",  "python3.10", "python3.11", "python3.12",
        "python3.13",   "java8",           "java8.al2",  "java11",     "java17",     "java21",
        "dotnet6",      "dotnet8",         "ruby3.2",    "ruby3.3",    "go1.x",      "provided",
        "provided.al2", "provided.al2023", NULL};
    (void)state;
    for (size_t i = 0; ids[i] != NULL; i++) {
        if (posture_runtime_get(ids[i]) == NULL)
            fail_msg("runtime %s missing", ids[i]);
    }
    assert_null(posture_runtime_get("nodejs26.x"));
    assert_null(posture_runtime_get("NODEJS18.X"));
    assert_null(posture_runtime_get(NULL));
    assert_int_equal(posture_runtime_status("nodejs26.x", 0), POSTURE_RUNTIME_UNKNOWN);
    assert_int_equal(posture_runtime_status("", 0), POSTURE_RUNTIME_UNKNOWN);
}

static void collect(void *ctx, const struct posture_rule *rule, const char *arn,
                    const char *subject, json_t *evidence)
{
    json_array_append_new(ctx, json_pack("{s:s, s:s, s:s, s:o}", "rule", rule->id, "arn", arn,
                                         "subject", subject, "evidence", evidence));
}

static json_t *run(const char *runtime, time_t now)
{
    json_t *snap = json_pack("{s:s, s:s, s:[{s:s, s:s, s:s, s:{s:s}}]}", "account_id",
                             "444455556666", "region", "us-east-1", "functions", "FunctionArn",
                             "arn:aws:lambda:us-east-1:444455556666:function:f", "FunctionName",
                             "f", "Runtime", runtime, "TracingConfig", "Mode", "Active");
    json_t *out = json_array();
    posture_evaluate(snap, now, collect, out);
    json_decref(snap);
    return out;
}

static void test_rules_follow_the_clock(void **state)
{
    time_t dep = posture_runtime_deprecation(posture_runtime_get("python3.12"));
    json_t *f;
    (void)state;

    f = run("python3.12", dep - 91 * DAY);
    assert_int_equal(json_array_size(f), 0);
    json_decref(f);

    f = run("python3.12", dep - 30 * DAY);
    assert_int_equal(json_array_size(f), 1);
    json_t *one = json_array_get(f, 0);
    assert_string_equal(json_string_value(json_object_get(one, "rule")), "PAR-RT-002");
    assert_string_equal(json_string_value(json_object_get(one, "subject")), "python3.12");
    json_t *ev = json_object_get(one, "evidence");
    assert_string_equal(json_string_value(json_object_get(ev, "deprecation_date")), "2028-10-31");
    assert_int_equal(json_integer_value(json_object_get(ev, "days_until_deprecation")), 30);
    json_decref(f);

    f = run("python3.12", dep);
    assert_int_equal(json_array_size(f), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(f, 0), "rule")),
                        "PAR-RT-001");
    json_decref(f);

    f = run("mystery9.x", dep);
    assert_int_equal(json_array_size(f), 0);
    json_decref(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dates_are_utc_midnight),
        cmocka_unit_test(test_ninety_day_boundary),
        cmocka_unit_test(test_every_family_is_known),
        cmocka_unit_test(test_rules_follow_the_clock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
