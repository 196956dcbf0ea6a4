/* Cloud accounts: adding an AWS account, its external ID and onboarding template, bad input,
 * listing and removal. (Connecting through STS arrives with the AWS client.) */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct h_server srv;
static char db[64];
static char token[1024];

static long call(const char *method, const char *path, const char *body, json_t **out)
{
    char u[512], auth[1100];
    const char *hdrs[] = {"Content-Type: application/json", auth, NULL};
    struct h_resp r;
    long st;

    snprintf(u, sizeof u, "%s%s", srv.base, path);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    st = h_http(method, u, hdrs, body, body ? strlen(body) : 0, &r);
    if (out != NULL)
        *out = r.len ? json_loads(r.body, 0, NULL) : NULL;
    h_resp_free(&r);
    return st;
}

static const char *str(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

static int setup(void **state)
{
    static const char *const env[] = {
        "PARAPET_AWS_ACCOUNT_ID=111122223333",
        "PARAPET_TEMPLATE_URL=https://parapet-onboarding.s3.us-east-1.amazonaws.com/v1/role.json",
        NULL};
    json_t *r = NULL;
    (void)state;
    h_db_new("accounts", db);
    if (h_server_start(&srv, db, NULL, env) != 0)
        return -1;
    if (call("POST", "/v1/signup",
             "{\"organization\":\"Acct Co\",\"email\":\"a@acct.example\","
             "\"password\":\"accounts test passphrase\"}",
             &r) != 201)
        return -1;
    snprintf(token, sizeof token, "%s", str(r, "access_token"));
    json_decref(r);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return h_server_stop(&srv, 10000) == 0 ? 0 : -1;
}

static void test_adding_an_account_returns_external_id_and_template(void **state)
{
    json_t *a = NULL, *t = NULL, *stmt, *cond;
    char path[128];
    const char *ext, *url;
    (void)state;

    assert_int_equal(call("POST", "/v1/accounts",
                          "{\"provider\":\"aws\",\"aws_account_id\":\"123456789012\","
                          "\"name\":\"prod\",\"regions\":[\"us-east-1\",\"eu-west-1\"],"
                          "\"external_id\":\"chosen-by-the-client-1234567890abcdef\"}",
                          &a),
                     201);
    assert_string_equal(str(a, "status"), "pending");
    ext = str(a, "external_id");
    assert_true(strlen(ext) >= 32);
    assert_null(strstr(ext, "chosen-by-the-client")); /* ours, not the client's */
    assert_true(json_is_null(json_object_get(a, "role_arn")));
    assert_int_equal(json_array_size(json_object_get(a, "regions")), 2);

    /* The template trusts Parapet's account on condition of exactly this external ID. */
    t = json_object_get(json_object_get(a, "onboarding"), "template");
    assert_non_null(t);
    assert_string_equal(str(json_object_get(json_object_get(t, "Parameters"), "ExternalId"),
                            "Default"),
                        ext);
    assert_string_equal(
        str(json_object_get(json_object_get(t, "Parameters"), "VendorAccountId"), "Default"),
        "111122223333");
    stmt = json_array_get(
        json_object_get(
            json_object_get(
                json_object_get(json_object_get(json_object_get(t, "Resources"), "ParapetRole"),
                                "Properties"),
                "AssumeRolePolicyDocument"),
            "Statement"),
        0);
    assert_string_equal(str(stmt, "Action"), "sts:AssumeRole");
    cond = json_object_get(json_object_get(stmt, "Condition"), "StringEquals");
    assert_string_equal(str(json_object_get(cond, "sts:ExternalId"), "Ref"), "ExternalId");
    url = str(json_object_get(a, "onboarding"), "quick_create_url");
    assert_non_null(strstr(url, "#/stacks/quickcreate?templateURL=https%3A%2F%2F"));
    assert_non_null(strstr(url, ext));

    snprintf(path, sizeof path, "/v1/accounts/%s/template", str(a, "id"));
    assert_int_equal(call("GET", path, NULL, &t), 200);
    assert_string_equal(str(json_object_get(json_object_get(t, "Parameters"), "ExternalId"),
                            "Default"),
                        ext);
    json_decref(t);
    json_decref(a);
}

static void test_external_ids_are_unique_and_immutable(void **state)
{
    json_t *a = NULL, *b = NULL;
    char admin[256], q[256];
    (void)state;

    assert_int_equal(call("POST", "/v1/accounts",
                          "{\"provider\":\"aws\",\"aws_account_id\":\"000000000001\","
                          "\"name\":\"a\",\"regions\":[\"us-east-1\"]}",
                          &a),
                     201);
    assert_int_equal(call("POST", "/v1/accounts",
                          "{\"provider\":\"aws\",\"aws_account_id\":\"000000000002\","
                          "\"name\":\"b\",\"regions\":[\"us-east-1\"]}",
                          &b),
                     201);
    assert_string_not_equal(str(a, "external_id"), str(b, "external_id"));
    h_db_admin_url(db, admin, sizeof admin);
    snprintf(q, sizeof q,
             "UPDATE cloud_accounts SET external_id = 'x234567890123456789012345678901234'"
             " WHERE account_id = '%s'",
             str(a, "id"));
    assert_int_equal(h_sql_exec(admin, q, true), -1);
    json_decref(a);
    json_decref(b);
}

static void expect_400(const char *body, const char *field)
{
    json_t *r = NULL;
    assert_int_equal(call("POST", "/v1/accounts", body, &r), 400);
    assert_string_equal(str(json_array_get(json_object_get(r, "errors"), 0), "field"), field);
    json_decref(r);
}

static void test_bad_accounts_are_refused_naming_the_field(void **state)
{
    (void)state;
    expect_400("{\"provider\":\"gcp\",\"aws_account_id\":\"123456789012\",\"name\":\"x\","
               "\"regions\":[\"us-east-1\"]}",
               "provider");
    expect_400("{\"provider\":\"aws\",\"aws_account_id\":\"12345678901\",\"name\":\"x\","
               "\"regions\":[\"us-east-1\"]}",
               "aws_account_id");
    expect_400("{\"provider\":\"aws\",\"aws_account_id\":\"12345678901a\",\"name\":\"x\","
               "\"regions\":[\"us-east-1\"]}",
               "aws_account_id");
    expect_400("{\"provider\":\"aws\",\"aws_account_id\":\"123456789012\",\"name\":\"x\","
               "\"regions\":[\"us-east-1\",\"mars-north-1\"]}",
               "regions[1]");
    expect_400("{\"provider\":\"aws\",\"aws_account_id\":\"123456789012\",\"name\":\"x\","
               "\"regions\":[\"us-east-1\",\"us-east-1\"]}",
               "regions[1]");
    expect_400("{\"provider\":\"aws\",\"aws_account_id\":\"123456789012\",\"name\":\"x\","
               "\"regions\":[]}",
               "regions");
    expect_400("{\"provider\":\"aws\",\"aws_account_id\":\"123456789012\",\"name\":\"x\","
               "\"regions\":[\"us-east-1\"],\"role_arn\":\"arn:aws:iam::1:role/x\"}",
               "role_arn");
    expect_400("{\"provider\":\"aws\",\"aws_account_id\":\"123456789012\",\"name\":\"x\","
               "\"regions\":\"us-east-1\"}",
               "regions");
}

static void test_the_same_aws_account_twice_is_409(void **state)
{
    (void)state;
    assert_int_equal(call("POST", "/v1/accounts",
                          "{\"provider\":\"aws\",\"aws_account_id\":\"123456789012\","
                          "\"name\":\"again\",\"regions\":[\"us-west-2\"]}",
                          NULL),
                     409);
}

static void test_list_get_and_delete(void **state)
{
    json_t *page = NULL, *first;
    char path[128];
    size_t n;
    (void)state;

    assert_int_equal(call("GET", "/v1/accounts?limit=500", NULL, &page), 200);
    n = json_array_size(json_object_get(page, "items"));
    assert_int_equal(n, 3);
    first = json_array_get(json_object_get(page, "items"), 0);
    snprintf(path, sizeof path, "/v1/accounts/%s", str(first, "id"));
    assert_int_equal(call("GET", path, NULL, NULL), 200);
    assert_int_equal(call("DELETE", path, NULL, NULL), 204);
    assert_int_equal(call("GET", path, NULL, NULL), 404);
    assert_int_equal(call("DELETE", path, NULL, NULL), 404);
    json_decref(page);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adding_an_account_returns_external_id_and_template),
        cmocka_unit_test(test_external_ids_are_unique_and_immutable),
        cmocka_unit_test(test_bad_accounts_are_refused_naming_the_field),
        cmocka_unit_test(test_the_same_aws_account_twice_is_409),
        cmocka_unit_test(test_list_get_and_delete),
    };
    return cmocka_run_group_tests_name("integration/accounts", tests, setup, teardown);
}
