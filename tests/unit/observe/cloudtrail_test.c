/* Unit tests for the CloudTrail rule table and in-function reports (observe/cloudtrail.c):
 * versioned Lambda event names, each rule on a record shaped like AWS's, and what must not
 * match. */
#include "observe/observe.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

static void test_lambda_event_names_lose_their_version_suffix(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"CreateFunction20150331", "CreateFunction"},
        {"UpdateFunctionCode20150331v2", "UpdateFunctionCode"},
        {"AddPermission20150331v2", "AddPermission"},
        {"AddPermission20150331", "AddPermission"},
        {"CreateFunctionUrlConfig20211031", "CreateFunctionUrlConfig"},
        {"PublishLayerVersion20181031", "PublishLayerVersion"},
        {"TagResource20170331v2", "TagResource"},
        {"GetCallerIdentity", "GetCallerIdentity"},
        {"Foo123v2", "Foo123v2"},
        {"Get2Things20150331", "Get2Things20150331"},
        {"20150331", "20150331"},
    };
    char out[64];
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        obs_ct_event_name(cases[i].in, out, sizeof out);
        assert_string_equal(out, cases[i].out);
    }
}

/* A record of eventSource/eventName with requestParameters params (JSON text). */
static json_t *record(const char *source, const char *name, const char *params,
                      const char *error)
{
    char text[2048];
    snprintf(text, sizeof text,
             "{\"eventVersion\":\"1.09\",\"userIdentity\":{\"type\":\"IAMUser\",\"arn\":"
             "\"arn:aws:iam::444455556666:user/alice\",\"accountId\":\"444455556666\","
             "\"accessKeyId\":\"AKIAKHYV6FI4EXAMPLE\"},\"eventTime\":\"2026-03-01T12:05:41Z\","
             "\"eventSource\":\"%s\",\"eventName\":\"%s\",\"awsRegion\":\"us-east-1\","
             "\"sourceIPAddress\":\"198.51.100.7\",\"userAgent\":\"console.amazonaws.com\","
             "\"requestParameters\":%s,%s%s%s\"recipientAccountId\":\"444455556666\"}",
             source, name, params, error ? "\"errorCode\":\"" : "", error ? error : "",
             error ? "\"," : "");
    json_t *j = json_loads(text, 0, NULL);
    assert_non_null(j);
    return j;
}

static void expect(const char *source, const char *name, const char *params, const char *error,
                   enum obs_key_seen seen, const char *rule, const char *severity, bool weak)
{
    json_t *r = record(source, name, params, error);
    struct obs_signal s;
    struct obs_ct_ctx ctx = {.key_seen = seen};
    bool hit = obs_ct_evaluate(r, &ctx, &s);
    json_decref(r);
    if (rule == NULL) {
        if (hit)
            fail_msg("%s: matched %s, want nothing", name, s.rule_id);
        return;
    }
    if (!hit)
        fail_msg("%s: no match, want %s", name, rule);
    assert_string_equal(s.rule_id, rule);
    assert_string_equal(s.severity, severity);
    assert_int_equal(s.weak, weak);
    assert_string_equal(s.principal, "arn:aws:iam::444455556666:user/alice");
    assert_string_equal(s.access_key_id, "AKIAKHYV6FI4EXAMPLE");
    assert_string_equal(s.source, "cloudtrail");
}

static void test_each_rule_matches_its_record(void **state)
{
    (void)state;
    expect("lambda.amazonaws.com", "AddPermission20150331v2",
           "{\"functionName\":\"payments-webhook\",\"principal\":\"*\",\"action\":"
           "\"lambda:InvokeFunctionUrl\"}",
           NULL, OBS_KEY_KNOWN_ADDR, "CT-06", "critical", false);
    expect("lambda.amazonaws.com", "AddPermission20150331",
           "{\"functionName\":\"f\",\"principal\":\"999988887777\"}", NULL, OBS_KEY_KNOWN_ADDR,
           "CT-06", "high", false);
    expect("lambda.amazonaws.com", "CreateFunction20150331",
           "{\"functionName\":\"x\",\"role\":\"arn:aws:iam::444455556666:role/AdminRole\"}",
           NULL, OBS_KEY_KNOWN_ADDR, "CT-01", "critical", false);
    expect("lambda.amazonaws.com", "CreateFunction20150331",
           "{\"functionName\":\"x\",\"role\":\"arn:aws:iam::444455556666:role/reader\"}", NULL,
           OBS_KEY_KNOWN_ADDR, "CT-01", "high", false);
    expect("lambda.amazonaws.com", "UpdateFunctionConfiguration20150331v2",
           "{\"functionName\":\"x\",\"role\":\"arn:aws:iam::444455556666:role/other\"}", NULL,
           OBS_KEY_KNOWN_ADDR, "CT-04", "high", false);
    expect("lambda.amazonaws.com", "UpdateFunctionConfiguration20150331v2",
           "{\"functionName\":\"x\",\"layers\":[\"arn:aws:lambda:us-east-1:123456789012:layer:"
           "evil:3\"]}",
           NULL, OBS_KEY_KNOWN_ADDR, "CT-03", "high", false);
    expect("lambda.amazonaws.com", "UpdateFunctionConfiguration20150331v2",
           "{\"functionName\":\"x\",\"layers\":[\"arn:aws:lambda:us-east-1:444455556666:layer:"
           "ours:3\"]}",
           NULL, OBS_KEY_KNOWN_ADDR, NULL, NULL, false);
    expect("lambda.amazonaws.com", "UpdateFunctionCode20150331v2",
           "{\"functionName\":\"payments-webhook\",\"publish\":true}", NULL, OBS_KEY_KNOWN_ADDR,
           "CT-02", "high", false);
    expect("lambda.amazonaws.com", "CreateFunctionUrlConfig20211031",
           "{\"functionName\":\"x\",\"authType\":\"NONE\"}", NULL, OBS_KEY_KNOWN_ADDR, "CT-07",
           "high", false);
    expect("iam.amazonaws.com", "AttachRolePolicy",
           "{\"roleName\":\"fn-role\",\"policyArn\":\"arn:aws:iam::aws:policy/"
           "AdministratorAccess\"}",
           NULL, OBS_KEY_KNOWN_ADDR, "CT-08", "critical", false);
    expect("iam.amazonaws.com", "PutRolePolicy",
           "{\"roleName\":\"fn-role\",\"policyName\":\"p\",\"policyDocument\":\"{}\"}", NULL,
           OBS_KEY_KNOWN_ADDR, "CT-08", "medium", false);
    expect("cloudtrail.amazonaws.com", "StopLogging", "{\"name\":\"main\"}", NULL,
           OBS_KEY_KNOWN_ADDR, "CT-13", "high", false);
    expect("cloudtrail.amazonaws.com", "PutEventSelectors", "{\"trailName\":\"main\"}", NULL,
           OBS_KEY_KNOWN_ADDR, "CT-13", "high", false);
    expect("logs.amazonaws.com", "DeleteLogGroup", "{\"logGroupName\":\"/aws/lambda/x\"}", NULL,
           OBS_KEY_KNOWN_ADDR, "CT-13", "high", false);
    expect("logs.amazonaws.com", "DeleteLogGroup", "{\"logGroupName\":\"/app/other\"}", NULL,
           OBS_KEY_KNOWN_ADDR, NULL, NULL, false);
    expect("lambda.amazonaws.com", "PutFunctionConcurrency20171031",
           "{\"functionName\":\"x\",\"reservedConcurrentExecutions\":0}", NULL,
           OBS_KEY_KNOWN_ADDR, "CT-16", "medium", false);
    expect("sts.amazonaws.com", "GetCallerIdentity", "null", NULL, OBS_KEY_NEW_ADDR, "CT-12",
           "medium", false);
    expect("sts.amazonaws.com", "GetCallerIdentity", "null", NULL, OBS_KEY_KNOWN_ADDR, "CT-10",
           "info", true);
    expect("sts.amazonaws.com", "GetCallerIdentity", "null", NULL, OBS_KEY_UNSEEN, "CT-10",
           "info", true);
    expect("lambda.amazonaws.com", "ListFunctions20150331", "null", NULL, OBS_KEY_KNOWN_ADDR,
           "CT-10", "info", true);
    expect("lambda.amazonaws.com", "CreateFunction20150331",
           "{\"functionName\":\"x\",\"role\":\"arn:aws:iam::444455556666:role/AdminRole\"}",
           "AccessDenied", OBS_KEY_KNOWN_ADDR, "CT-11", "low", true);
    expect("s3.amazonaws.com", "GetObject", "{\"bucketName\":\"b\"}", NULL, OBS_KEY_KNOWN_ADDR,
           NULL, NULL, false);
    expect("lambda.amazonaws.com", "Invoke", "{\"functionName\":\"x\"}", NULL, OBS_KEY_KNOWN_ADDR,
           NULL, NULL, false);
}

static void test_the_most_severe_rule_wins(void **state)
{
    /* From a new address AND exposing a function: the exposure (critical) is the signal. */
    json_t *r = record("lambda.amazonaws.com", "AddPermission20150331v2",
                       "{\"functionName\":\"f\",\"principal\":\"*\"}", NULL);
    struct obs_signal s;
    struct obs_ct_ctx ctx = {.key_seen = OBS_KEY_NEW_ADDR};
    (void)state;
    assert_true(obs_ct_evaluate(r, &ctx, &s));
    assert_string_equal(s.rule_id, "CT-06");
    assert_string_equal(s.resource, "arn:aws:lambda:us-east-1:444455556666:function:f");
    json_decref(r);
}

/* The inventory of the test: account 444455556666 runs one function with role "orders-fn",
 * which has the managed policy "arn:aws:iam::444455556666:policy/orders-data" attached. */
static enum obs_role_use inventory(void *arg, const char *account, const char *role,
                                   const char *policy)
{
    (void)arg;
    if (strcmp(account, "444455556666") != 0)
        return OBS_ROLE_UNKNOWN;
    if (role != NULL)
        return strcmp(role, "orders-fn") == 0 ? OBS_ROLE_FUNCTION : OBS_ROLE_OTHER;
    return policy != NULL && strcmp(policy, "arn:aws:iam::444455556666:policy/orders-data") == 0
               ? OBS_ROLE_FUNCTION
               : OBS_ROLE_OTHER;
}

static void ct08(const char *name, const char *params, bool with_inventory, const char *severity,
                 bool weak, const char *technique)
{
    json_t *r = record("iam.amazonaws.com", name, params, NULL);
    struct obs_ct_ctx ctx = {.key_seen = OBS_KEY_KNOWN_ADDR,
                             .role_use = with_inventory ? inventory : NULL};
    struct obs_signal s;
    if (!obs_ct_evaluate(r, &ctx, &s))
        fail_msg("%s %s: no match", name, params);
    assert_string_equal(s.rule_id, "CT-08");
    assert_string_equal(s.severity, severity);
    assert_int_equal(s.weak, weak);
    assert_string_equal(s.technique, technique);
    json_decref(r);
}

/* CT-08 is about functions' roles: a change to another role is a weak signal (it still joins a
 * principal's story) unless it grants administrator access; without an inventory every role
 * counts. */
static void test_role_changes_matter_for_function_roles(void **state)
{
    static const char admin[] = "{\"roleName\":\"%s\",\"policyArn\":"
                                "\"arn:aws:iam::aws:policy/AdministratorAccess\"}";
    char p[256];
    (void)state;
    ct08("PutRolePolicy", "{\"roleName\":\"orders-fn\",\"policyName\":\"x\","
         "\"policyDocument\":\"{}\"}", true, "medium", false, "function-role-permissions-changed");
    ct08("PutRolePolicy", "{\"roleName\":\"ci-deployer\",\"policyName\":\"x\","
         "\"policyDocument\":\"{}\"}", true, "low", true, "role-permissions-changed");
    snprintf(p, sizeof p, admin, "orders-fn");
    ct08("AttachRolePolicy", p, true, "critical", false, "function-role-granted-admin");
    snprintf(p, sizeof p, admin, "ci-deployer");
    ct08("AttachRolePolicy", p, true, "high", false, "role-granted-admin");
    ct08("CreatePolicyVersion", "{\"policyArn\":\"arn:aws:iam::444455556666:policy/orders-data\","
         "\"policyDocument\":\"{}\"}", true, "medium", false,
         "function-role-permissions-changed");
    ct08("CreatePolicyVersion", "{\"policyArn\":\"arn:aws:iam::444455556666:policy/other\","
         "\"policyDocument\":\"{}\"}", true, "low", true, "role-permissions-changed");
    ct08("PutRolePolicy", "{\"roleName\":\"ci-deployer\",\"policyName\":\"x\","
         "\"policyDocument\":\"{}\"}", false, "medium", false,
         "function-role-permissions-changed");
}

static void test_in_function_reports(void **state)
{
    static const struct {
        const char *json, *rule;
    } cases[] = {
        {"{\"action\":\"connect\",\"target\":\"evil.example:443\",\"decision\":\"blocked\"}",
         "fsp.egress"},
        {"{\"action\":\"exec\",\"target\":\"/bin/sh\",\"decision\":\"alerted\"}", "fsp.exec"},
        {"{\"action\":\"open\",\"target\":\"/var/task/handler.js\",\"decision\":\"blocked\"}",
         "fsp.write"},
        {"{\"action\":\"open\",\"target\":\"/tmp/../var/task/x\",\"decision\":\"blocked\"}",
         "fsp.write"},
        {"{\"action\":\"open\",\"target\":\"/tmp/cache\",\"decision\":\"alerted\"}", NULL},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *v = json_loads(cases[i].json, 0, NULL);
        struct obs_signal s;
        bool hit = obs_fsp_evaluate(v, &s);
        json_decref(v);
        assert_int_equal(hit, cases[i].rule != NULL);
        if (hit)
            assert_string_equal(s.rule_id, cases[i].rule);
    }
}

static void test_severity_names_round_trip(void **state)
{
    (void)state;
    for (int i = 0; i < 5; i++)
        assert_int_equal(obs_severity_rank(obs_severity_name(i)), i);
    assert_int_equal(obs_severity_rank("bogus"), 0);
    assert_string_equal(obs_severity_name(9), "critical");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lambda_event_names_lose_their_version_suffix),
        cmocka_unit_test(test_each_rule_matches_its_record),
        cmocka_unit_test(test_the_most_severe_rule_wins),
        cmocka_unit_test(test_role_changes_matter_for_function_roles),
        cmocka_unit_test(test_in_function_reports),
        cmocka_unit_test(test_severity_names_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
