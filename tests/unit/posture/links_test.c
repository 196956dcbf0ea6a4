/* posture/links.c: function ARNs from every integration URI form, routes -> function with
 * aliases stripped, function -> role, and the functions sharing a role. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "posture/posture.h"

#include <stdio.h>
#include <string.h>

#define FN "arn:aws:lambda:us-east-1:444455556666:function:orders-api"

static void test_function_arn_from_every_uri_form(void **state)
{
    static const struct {
        const char *uri, *want;
    } cases[] = {
        {FN, FN},
        {FN ":live", FN},
        {FN ":$LATEST", FN},
        {FN ":17", FN},
        {"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/" FN "/invocations", FN},
        {"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/" FN ":prod/invocations",
         FN},
        {"arn:aws-cn:lambda:cn-north-1:444455556666:function:f",
         "arn:aws-cn:lambda:cn-north-1:444455556666:function:f"},
        {"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:"
         "444455556666:function:${stageVariables.fn}/invocations",
         NULL},
        {"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/" FN, NULL},
        {"arn:aws:apigateway:us-east-1:s3:path/bucket/key", NULL},
        {"https://status.example.com/health", NULL},
        {"arn:aws:sqs:us-east-1:444455556666:queue", NULL},
        {"arn:aws:lambda:us-east-1:444455556666:layer:x:1", NULL},
        {"arn:aws:lambda:us-east-1:444455556666:function:", NULL},
        {"arn:aws:lambda", NULL},
        {"", NULL},
        {NULL, NULL},
    };
    char out[256];
    (void)state;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bool ok = posture_link_function_arn(cases[i].uri, out, sizeof out);
        if (cases[i].want == NULL) {
            if (ok)
                fail_msg("%s: unexpected %s", cases[i].uri, out);
            assert_string_equal(out, "");
        } else {
            if (!ok)
                fail_msg("%s: no function", cases[i].uri);
            assert_string_equal(out, cases[i].want);
        }
    }
    assert_false(posture_link_function_arn(FN, out, 10)); /* too small: refused, not cut */
}

static json_t *load(void)
{
    json_t *snap = json_load_file("tests/data/posture/positive.json", 0, NULL);
    assert_non_null(snap);
    return snap;
}

static const json_t *function_named(const json_t *snap, const char *name)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(snap, "functions"), i, f)
    {
        if (strcmp(json_string_value(json_object_get(f, "FunctionName")), name) == 0)
            return f;
    }
    fail_msg("no function %s", name);
    return NULL;
}

static void test_routes_reach_functions(void **state)
{
    json_t *snap = load();
    json_t *r;
    (void)state;

    /* HTTP API integration with an alias (webhook-http:live), route without auth */
    r = posture_link_routes_new(snap,
                                "arn:aws:lambda:us-east-1:444455556666:function:webhook-http");
    assert_int_equal(json_array_size(r), 1);
    json_t *e = json_array_get(r, 0);
    assert_string_equal(json_string_value(json_object_get(e, "api_type")), "http");
    assert_string_equal(json_string_value(json_object_get(e, "route")), "POST /webhook");
    assert_true(json_is_true(json_object_get(e, "public")));
    json_decref(r);

    /* long-form URI; the JWT route is not public and neither is the OPTIONS preflight */
    r = posture_link_routes_new(snap, "arn:aws:lambda:us-east-1:444455556666:function:orders-a");
    assert_int_equal(json_array_size(r), 2);
    for (size_t i = 0; i < 2; i++)
        assert_true(json_is_false(json_object_get(json_array_get(r, i), "public")));
    json_decref(r);

    /* REST: GET /users is open, OPTIONS is not counted, GET /reports needs an API key */
    r = posture_link_routes_new(snap, "arn:aws:lambda:us-east-1:444455556666:function:api-users");
    assert_int_equal(json_array_size(r), 2);
    json_decref(r);
    r = posture_link_routes_new(snap, "arn:aws:lambda:us-east-1:444455556666:function:reports");
    assert_int_equal(json_array_size(r), 1);
    e = json_array_get(r, 0);
    assert_string_equal(json_string_value(json_object_get(e, "route")), "GET /reports");
    assert_true(json_is_true(json_object_get(e, "api_key_required")));
    assert_true(json_is_false(json_object_get(e, "public")));
    json_decref(r);

    /* WebSocket: every route is as open as $connect */
    r = posture_link_routes_new(snap,
                                "arn:aws:lambda:us-east-1:444455556666:function:chat-connect");
    assert_int_equal(json_array_size(r), 2);
    assert_true(json_is_true(json_object_get(json_array_get(r, 1), "public")));
    json_decref(r);

    /* a private REST API is not internet-facing */
    r = posture_link_routes_new(snap, "arn:aws:lambda:us-east-1:444455556666:function:private-api");
    assert_int_equal(json_array_size(r), 1);
    assert_true(json_is_false(json_object_get(json_array_get(r, 0), "public")));
    json_decref(r);

    r = posture_link_routes_new(snap, "arn:aws:lambda:us-east-1:444455556666:function:nothing");
    assert_int_equal(json_array_size(r), 0);
    json_decref(r);
    r = posture_link_routes_new(NULL, NULL);
    assert_int_equal(json_array_size(r), 0);
    json_decref(r);
    json_decref(snap);
}

static void test_function_role_and_shared_roles(void **state)
{
    json_t *snap = load();
    (void)state;

    const json_t *role = posture_link_role(snap, function_named(snap, "orders-a"));
    assert_non_null(role);
    assert_string_equal(json_string_value(json_object_get(role, "RoleName")), "orders-shared-role");
    json_t *fns =
        posture_link_role_functions_new(snap, "arn:aws:iam::444455556666:role/orders-shared-role");
    assert_int_equal(json_array_size(fns), 2);
    json_decref(fns);
    fns = posture_link_role_functions_new(snap, "arn:aws:iam::444455556666:role/none");
    assert_int_equal(json_array_size(fns), 0);
    json_decref(fns);
    json_t *orphan = json_pack("{s:s}", "Role", "arn:aws:iam::444455556666:role/deleted");
    assert_null(posture_link_role(snap, orphan));
    assert_null(posture_link_role(snap, NULL));
    json_decref(orphan);
    json_decref(snap);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_function_arn_from_every_uri_form),
        cmocka_unit_test(test_routes_reach_functions),
        cmocka_unit_test(test_function_role_and_shared_roles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
